/* SPDX-License-Identifier: MIT
 * spl_shard: the splitter's hot path for one collector. Owns one out-batch per
 * tracker; routes every record of a burst to the tracker owning its source
 * and to the tracker owning its destination (once when both are the same),
 * and hands full out-batches to an emit callback. Called only from the
 * splitter's single thread; never allocates after spl_shard_new. Times are
 * monotonic nanoseconds (cmn_mono_ns), supplied by the caller.
 */
#ifndef SPL_SHARD_H
#define SPL_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "cmn_record.h"
#include "cmn_shard.h"

/* Records examined per inner loop turn (lookups first, then copies). */
#define SPL_BURST 32

/* Upper bound on the memory of one shard's out-batches (bytes). */
#define SPL_SHARD_MEMCAP (1ull << 30)

/* Receives a finished out-batch for `tracker`: `n` records (borrowed; valid
 * during the call only) all from collector `collector_id`. The callback sends
 * and accounts; its return value is ignored by spl_shard (the node counts). */
typedef void (*spl_emit_fn)(void *arg, uint32_t tracker, uint32_t collector_id,
                            const struct cmn_record *recs, size_t n);

/* Zero-copy out-batches (optional, all three or none): `take` lends storage
 * for batch_records records (aligned) or NULL when none is free; a full or
 * flushed out-batch in such storage goes to `emit_own`, which owns it from
 * then on; `put` gives unused storage back at destroy. Without storage from
 * take, a tracker's out-batch lives in the shard and goes out through emit. */
typedef struct cmn_record *(*spl_take_fn)(void *arg);
typedef void (*spl_emit_own_fn)(void *arg, uint32_t tracker, uint32_t collector_id,
                                struct cmn_record *recs, size_t n);
typedef void (*spl_put_fn)(void *arg, struct cmn_record *recs);

struct spl_shard_config {
    const struct cmn_shard_map *map; /* borrowed; must outlive the shard */
    uint32_t collector_id;           /* origin stamped on every out-batch */
    uint32_t batch_records;          /* records per out-batch, >= 1 */
    spl_emit_fn emit;                /* where full or flushed out-batches go */
    void *emit_arg;                  /* passed to emit, take, emit_own and put */
    spl_take_fn take;                /* optional: out-batch storage from outside */
    spl_emit_own_fn emit_own;        /* with take: out-batches in that storage go here */
    spl_put_fn put;                  /* with take: storage given back unused */
};

struct spl_shard;

/* Allocate the out-batches (trackers x batch_records records). Returns NULL
 * after logging why (zero sizes, over SPL_SHARD_MEMCAP). Owned by the caller. */
struct spl_shard *spl_shard_new(const struct spl_shard_config *cfg);

/* Free; accepts NULL and NULLs the caller's pointer. Pending records are
 * discarded: flush first. */
void spl_shard_destroy(struct spl_shard **sh);

/* Route `n` records (any alignment of the array is fine). `now_ns` stamps
 * out-batches that were empty, for spl_shard_flush_older. Full out-batches
 * are emitted on the way. Returns the number of records handled (always n). */
size_t spl_shard_burst(struct spl_shard *sh, const struct cmn_record *recs, size_t n,
                       uint64_t now_ns);

/* Emit every non-empty out-batch whose first record arrived at or before
 * `cutoff_ns` (UINT64_MAX: all). Returns the number of batches emitted. */
size_t spl_shard_flush_older(struct spl_shard *sh, uint64_t cutoff_ns);

/* Emit every non-empty out-batch. Returns the number emitted. */
size_t spl_shard_flush(struct spl_shard *sh);

/* Arrival time of the oldest pending record, UINT64_MAX when nothing waits. */
uint64_t spl_shard_oldest(const struct spl_shard *sh);

/* Records waiting in out-batches (copies: a record pending for two trackers counts twice). */
size_t spl_shard_pending(const struct spl_shard *sh);

/* Record copies routed so far (one per destination tracker). */
uint64_t spl_shard_copies(const struct spl_shard *sh);

#endif /* SPL_SHARD_H */
