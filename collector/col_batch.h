/* SPDX-License-Identifier: MIT
 * col_batch: the hand-off between the RX thread and the sender thread, and
 * the batch buffers ZeroMQ sends without copying. A fixed set of record
 * batches (allocated once) circulates: RX takes a free batch, fills it with
 * up to batch_records records and submits it to a single-producer/single-
 * consumer ring; the sender takes it, frames it in place as one Envelope
 * (col_batch_frame: header in the headroom before rec[], trailer after the
 * last record) and hands the buffer to ZeroMQ, whose free callback (from its
 * I/O thread) releases the batch once the bytes are in the kernel. So the
 * free list has several producers (sender, ZeroMQ) and one consumer (RX); it
 * is a LIFO so the batch reused next is the one most recently in cache. No
 * allocation after col_queue_new. When no free batch is left the RX thread
 * either waits (lossless) or counts drop_queue_full.
 */
#ifndef COL_BATCH_H
#define COL_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmn_record.h"
#include "cmn_wire.h"
#include "col_stats.h"

/* Room before rec[] for the Envelope + RecordBatch header, and after the last
 * record for first/last_ts_ns (cmn_wire_frame_batch writes both). */
#define COL_BATCH_HEADROOM CMN_WIRE_BATCH_HEADROOM
#define COL_BATCH_TAILROOM CMN_WIRE_BATCH_TAILROOM

struct col_queue;

struct col_batch {
    uint32_t n;                                    /* records used */
    uint32_t cap;                                  /* records available (batch_records) */
    uint64_t opened_ns;                            /* monotonic time of the first record (flush) */
    uint64_t first_ts;                             /* smallest rec[].ts_ns (valid when n > 0) */
    uint64_t last_ts;                              /* largest rec[].ts_ns (valid when n > 0) */
    struct col_queue *q;                           /* owner: where col_batch_free returns it */
    uint64_t frames_end;                           /* capture files: frames consumed when the
                                                      batch was closed (col_state) */
    uint64_t stats[COL_STAT_COUNT];                /* capture files: RX counters at that frame */
    _Alignas(64) uint8_t head[COL_BATCH_HEADROOM]; /* message header space, ends at rec[] */
    struct cmn_record rec[]; /* the records (64-byte aligned), then tailroom */
};
_Static_assert(offsetof(struct col_batch, rec) ==
                   offsetof(struct col_batch, head) + COL_BATCH_HEADROOM,
               "the header room must end where the records start");
_Static_assert(offsetof(struct col_batch, rec) % 64 == 0, "records are cache-line aligned");

/* `nbatches` batches of `batch_records` records. Needs nothing but memory
 * (no EAL). NULL after logging. */
struct col_queue *col_queue_new(uint32_t nbatches, uint32_t batch_records);

/* Free everything; accepts NULL and NULLs the pointer. Every batch must be
 * back (in the free list or the ring), ZeroMQ's included. */
void col_queue_destroy(struct col_queue **q);

/* RX side: an empty batch, or NULL when all are in flight. */
struct col_batch *col_queue_get(struct col_queue *q);

/* RX side: hand a filled batch to the sender (always fits: the ring holds all batches). */
void col_queue_submit(struct col_queue *q, struct col_batch *b);

/* Sender side: the next filled batch, or NULL if none is waiting. */
struct col_batch *col_queue_take(struct col_queue *q);

/* Any thread: return a batch to the free list (thread-safe). */
void col_queue_release(struct col_queue *q, struct col_batch *b);

/* Batches currently in the free list (a snapshot, for tests and stats). */
uint32_t col_queue_free_count(struct col_queue *q);

/* Frame b in place as the Envelope{version CMN_WIRE_VERSION, batch:
 * RecordBatch{collector_id, seq, b->n records, first/last_ts_ns}} that
 * cmn_wire_send would pack, byte for byte (cmn_wire_frame_batch writes the
 * header and trailer; the records are not copied). *start points into b->head; the
 * message is `return value` bytes long and valid until b is reused. */
size_t col_batch_frame(struct col_batch *b, uint32_t collector_id, uint64_t seq,
                       uint8_t **start /* OUT */);

/* ZeroMQ free callback (zmq_free_fn) for a framed batch: `hint` is the batch,
 * released to its queue. */
void col_batch_free(void *data, void *hint);

#endif /* COL_BATCH_H */
