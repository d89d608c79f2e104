/* SPDX-License-Identifier: MIT
 * spl_spill: a first-in first-out queue of messages in a file, for a tracker
 * pipe that takes nothing (stopped, or far behind): the splitter appends
 * what the pipe would have been sent, in order, and sends it from here once
 * the pipe takes messages again, so one silent tracker no longer holds the
 * others. Each message is stored as a 4-byte little-endian length and its
 * bytes; the file is emptied (truncated) whenever the queue is. The file
 * grows to at most max_bytes (sent messages stay in it until the queue is
 * empty): a push past that is refused (the caller waits).
 * The file is created anew (one left by a process that died is removed,
 * with a warning: what it held is lost, the tracker counts the gap in the
 * pipe's sequence) and removed when the queue is closed.
 *
 * Contract: single-threaded; messages of 1 byte to 4 GiB - 1.
 */
#ifndef SPL_SPILL_H
#define SPL_SPILL_H

#include <stddef.h>
#include <stdint.h>

struct spl_spill;

/* A queue in DIR/NAME. NULL after logging why (DIR missing or not writable,
 * the file exists). */
struct spl_spill *spl_spill_open(const char *dir, const char *name, uint64_t max_bytes);

/* Remove the file and free; accepts NULL and NULLs the pointer. */
void spl_spill_close(struct spl_spill **s);

/* Append `len` bytes (copied to the file). 0, -ENOSPC (max_bytes reached:
 * nothing written) or -EIO (logged). */
int spl_spill_push(struct spl_spill *s, const uint8_t *data, size_t len);

/* The oldest message, read into a buffer owned by the queue (valid until the
 * next call): 1 with *data and *len set, 0 when empty, -EIO (logged). */
int spl_spill_peek(struct spl_spill *s, const uint8_t **data, size_t *len);

/* Drop the message spl_spill_peek returned. */
void spl_spill_pop(struct spl_spill *s);

/* Drop every message (they are sent another way: spl_keep). */
void spl_spill_clear(struct spl_spill *s);

/* Messages and bytes (length prefixes included) held. */
uint64_t spl_spill_count(const struct spl_spill *s);
uint64_t spl_spill_bytes(const struct spl_spill *s);

#endif /* SPL_SPILL_H */
