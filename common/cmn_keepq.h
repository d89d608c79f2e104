/* SPDX-License-Identifier: MIT
 * cmn_keepq: what a sender keeps for a receiver that may restart (a
 * collector's copies for the splitter, a tracker's results for the merger;
 * docs/OPERATIONS.md "Restarts"): messages in send order, each with three
 * tags of the caller's, until the receiver acknowledges them. They live in
 * memory up to mem_cap bytes and past it in a spill file in `dir` (up to
 * disk_cap bytes more); beyond both a push is refused (-ENOSPC) and the
 * caller decides what goes (the oldest: cmn_keepq_pop, or the new one).
 * Removal is from the front or by the caller's predicate anywhere; the
 * spill file's space comes back when nothing in it is live (a new, empty
 * file) or when its dead bytes exceed both 64 MiB and its live bytes (the
 * live rest copied to a new file).
 *
 * Volatile queue (a collector: its own crash loses its memory anyway): each
 * spill file is unlinked as soon as it is created, so none outlives the
 * process.
 * Durable queue (a tracker that checkpoints): cmn_keepq_save puts the index
 * and the messages held in memory into a checkpoint stream after syncing the
 * spill file, which holds the rest. Spill files are DIR/NAME.<generation>,
 * only ever appended to; a generation is removed (cmn_keepq_saved) once
 * neither of the last two saves (a checkpoint and its .prev) refers to it.
 * cmn_keepq_load takes the queue back from a checkpoint stream: what the
 * spill file got after that save is cut off.
 *
 * Contract: single-threaded; messages of 1 byte to 2 GiB. Write errors of
 * the spill file are logged and counted; the message is then not kept
 * (-EIO) and the caller counts it as for -ENOSPC.
 */
#ifndef CMN_KEEPQ_H
#define CMN_KEEPQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cmn_ckpt;
struct cmn_keepq;

struct cmn_keepq_stats {
    uint64_t messages;      /* kept now */
    uint64_t bytes;         /* bytes kept now, memory and file */
    uint64_t mem_bytes;     /* of which in memory */
    uint64_t spilled;       /* messages written to a spill file, ever */
    uint64_t spilled_bytes; /* their bytes */
    uint64_t spill_errors;  /* writes or reads of a spill file that failed */
    uint64_t refused;       /* pushes refused: both caps full, or a write error */
    uint64_t compactions;   /* live rests copied to a new spill file */
    uint64_t file_bytes;    /* size of the current spill file */
};

/* A queue; dir NULL: memory only (disk_cap ignored). NULL on a bad argument
 * (logged). Durable queues note the spill files DIR/NAME.<n> already there
 * (a previous process's, for cmn_keepq_load; removed by later saves when no
 * checkpoint refers to them). */
struct cmn_keepq *cmn_keepq_new(const char *dir, const char *name, uint64_t mem_cap,
                                uint64_t disk_cap, bool durable);

/* Free (spill files of a durable queue stay for its checkpoints). Accepts
 * NULL; NULLs the pointer. */
void cmn_keepq_destroy(struct cmn_keepq **q);

/* Keep a copy of `len` bytes at `data` with tags `tag[3]`. 0, -ENOSPC (over
 * both caps), -EIO (the spill file failed: logged), -EINVAL (len 0 or over
 * 2 GiB). */
int cmn_keepq_push(struct cmn_keepq *q, const uint8_t *data, size_t len, const uint64_t tag[3]);

/* The same for malloc'ed bytes the queue takes (freed here when they go to
 * the file or are refused). */
int cmn_keepq_push_owned(struct cmn_keepq *q, uint8_t *data, size_t len, const uint64_t tag[3]);

size_t cmn_keepq_count(const struct cmn_keepq *q);

/* Tags of message i (0 = oldest; i < count). */
const uint64_t *cmn_keepq_tag(const struct cmn_keepq *q, size_t i);

/* Message i: 0 with *data (valid until the next call on q) and *len, or
 * -EIO (a spill file read failed: logged, counted). */
int cmn_keepq_get(struct cmn_keepq *q, size_t i, const uint8_t **data, size_t *len);

/* Drop the oldest message (none: nothing). */
void cmn_keepq_pop(struct cmn_keepq *q);

/* Drop every message whose tags `done` says are acknowledged; returns how
 * many. */
size_t cmn_keepq_remove_if(struct cmn_keepq *q, bool (*done)(const uint64_t tag[3], void *arg),
                           void *arg);

/* Drop everything (files of a durable queue stay for the checkpoints). */
void cmn_keepq_clear(struct cmn_keepq *q);

/* Durable queues: the queue into a checkpoint stream (the spill file synced
 * first; a failure makes the stream's error -EIO). */
void cmn_keepq_save(struct cmn_keepq *q, struct cmn_ckpt *c);

/* Durable queues: the checkpoint the last save went into is on disk;
 * generations no save of the last two refers to are removed. */
void cmn_keepq_saved(struct cmn_keepq *q);

/* Durable queues: replace the contents with a save read back from `c`. 0,
 * or -EPROTO / -errno (also set as c's error; the queue is then empty). */
int cmn_keepq_load(struct cmn_keepq *q, struct cmn_ckpt *c);

/* Durable queues: the run the files belonged to ended: every spill file is
 * unlinked (what is kept stays readable until the queue lets it go). */
void cmn_keepq_remove_files(struct cmn_keepq *q);

void cmn_keepq_stats(const struct cmn_keepq *q, struct cmn_keepq_stats *st /* OUT */);

#endif /* CMN_KEEPQ_H */
