/* SPDX-License-Identifier: MIT
 * spl_keep: a tracker pipe's keep log (docs/OPERATIONS.md "A tracker
 * killed"): every message sent on the pipe (RecordBatch, EpochFlush,
 * EndOfStream), in order, in a file, until the tracker's TrackerAck says its
 * checkpoint holds the pipe up to the EpochFlush of some epoch; a tracker
 * that restarted from that checkpoint is sent again everything after it.
 * Each message is a 4-byte little-endian length and its bytes; an index in
 * memory says where each one is and what it is (a batch and its seq, a
 * flush and its epoch). Released space at the front is given back by copying
 * the live rest to a new file once the dead part is larger than it (and
 * 64 MiB), and by emptying the file whenever the log is empty.
 * Bounded by max_bytes: an append past it drops the oldest messages
 * (counted, logged once per overflow): a replay then starts later and the
 * tracker counts the gap.
 * The file is created anew (a stale one from a splitter that died is
 * removed: without that splitter's state it is useless) and removed when the
 * log is closed.
 *
 * Contract: single-threaded; messages of 1 byte to 4 GiB - 1.
 */
#ifndef SPL_KEEP_H
#define SPL_KEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum spl_keep_kind {
    SPL_KEEP_BATCH = 1, /* tag: RecordBatch.seq */
    SPL_KEEP_FLUSH = 2, /* tag: EpochFlush.epoch */
    SPL_KEEP_OTHER = 3, /* EndOfStream, Handover, Hello */
    SPL_KEEP_MAP = 4,   /* tag: ShardMap.version (a checkpoint may end on it) */
};

struct spl_keep;

/* A log in DIR/NAME. NULL after logging why. */
struct spl_keep *spl_keep_open(const char *dir, const char *name, uint64_t max_bytes);

/* The log a splitter that died left in DIR/NAME, for its successor resuming
 * from its checkpoint, whose last message in this log was (kind, tag) (last
 * false: none): what follows that message is void (the successor makes it
 * anew) and cut off; so is a torn last message. The message not found (the
 * log was released past it), nothing is kept. The index is rebuilt by
 * decoding each message. NULL after logging why. */
struct spl_keep *spl_keep_resume(const char *dir, const char *name, uint64_t max_bytes, bool last,
                                 enum spl_keep_kind kind, uint64_t tag);

/* The last message appended: true with its kind and tag, false when empty. */
bool spl_keep_last(const struct spl_keep *k, enum spl_keep_kind *kind, uint64_t *tag);

/* Remove the file and free; accepts NULL and NULLs the pointer. */
void spl_keep_close(struct spl_keep **k);

/* Free, removing the file only with `remove`: a splitter that leaves a run
 * it did not end (a restart) leaves it for the next process (spl_keep_resume). */
void spl_keep_leave(struct spl_keep **k, bool remove);

/* Append one message (copied). 0 or -EIO (logged; nothing appended). */
int spl_keep_append(struct spl_keep *k, const uint8_t *data, size_t len, enum spl_keep_kind kind,
                    uint64_t tag);

/* Forget the message appended last (its send failed). */
void spl_keep_unappend(struct spl_keep *k);

/* Drop every message up to and including the EpochFlush of `epoch`, if the
 * log holds it. Returns the messages dropped. */
uint64_t spl_keep_release(struct spl_keep *k, uint64_t epoch);

/* Drop everything (the run ended). */
void spl_keep_clear(struct spl_keep *k);

/* Position of the first message after the EpochFlush of `epoch` (any_epoch
 * false, or that flush not kept: 0, the oldest kept). */
size_t spl_keep_after(const struct spl_keep *k, bool any_epoch, uint64_t epoch);

/* Message at position i (0 = oldest), read into a buffer owned by the log
 * (valid until the next call): 1 with *data, *len, *kind, *tag set; 0 past
 * the end; -EIO (logged). */
int spl_keep_get(struct spl_keep *k, size_t i, const uint8_t **data, size_t *len,
                 enum spl_keep_kind *kind, uint64_t *tag);

/* Messages and bytes held; messages dropped for max_bytes so far. */
size_t spl_keep_count(const struct spl_keep *k);
uint64_t spl_keep_bytes(const struct spl_keep *k);
uint64_t spl_keep_dropped(const struct spl_keep *k);

#endif /* SPL_KEEP_H */
