/* SPDX-License-Identifier: MIT
 * col_batch: the hand-off between the RX thread and the sender thread. A
 * fixed set of record batches (allocated once) circulates through two
 * single-producer/single-consumer rings: RX takes a free batch, fills it with
 * up to batch_records records and submits it; the sender takes it, sends it,
 * and releases it. No allocation after col_queue_new. When no free batch is
 * left the RX thread either waits (lossless) or counts drop_queue_full.
 */
#ifndef COL_BATCH_H
#define COL_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "cmn_record.h"

struct col_batch {
    uint32_t n;              /* records used */
    uint32_t cap;            /* records available (batch_records) */
    uint64_t opened_ns;      /* monotonic time of the first record (flush timer) */
    struct cmn_record rec[]; /* the records */
};

struct col_queue;

/* `nbatches` batches of `batch_records` records; `name` must be unique in the
 * process (rte_ring names). Needs EAL initialised. NULL after logging. */
struct col_queue *col_queue_new(const char *name, uint32_t nbatches, uint32_t batch_records);

/* Free everything; accepts NULL and NULLs the pointer. */
void col_queue_destroy(struct col_queue **q);

/* RX side: an empty batch, or NULL when all are in flight. */
struct col_batch *col_queue_get(struct col_queue *q);

/* RX side: hand a filled batch to the sender (always fits: rings hold all batches). */
void col_queue_submit(struct col_queue *q, struct col_batch *b);

/* Sender side: the next filled batch, or NULL if none is waiting. */
struct col_batch *col_queue_take(struct col_queue *q);

/* Sender side: return a sent batch to the free ring. */
void col_queue_release(struct col_queue *q, struct col_batch *b);

#endif /* COL_BATCH_H */
