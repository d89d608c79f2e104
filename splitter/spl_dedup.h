/* SPDX-License-Identifier: MIT
 * spl_dedup: the splitter's merge of all collectors' record streams into one
 * stream in capture-time order, dropping the second copy of a packet seen by
 * two redundant collectors (core switches mirroring the same traffic).
 *
 * Hold: records of each collector wait in that collector's FIFO until the
 * caller releases every record with ts <= a release point (the splitter
 * passes its watermark minus 1 ns: no collector can still send an earlier
 * record). Released records leave in (ts, collector id) order, a k-way merge
 * of the FIFOs, so the output sequence depends only on the collectors'
 * streams, never on how their batches interleaved on arrival.
 *
 * Dedup: a released record whose key (sig, addresses, proto, ports, ip_len,
 * ip id, TCP flags: fields equal on both mirror copies; never TTL, VLAN or L2)
 * equals that of an earlier released record from ANOTHER collector within
 * `window_ns` is a duplicate: dropped and counted per collector pair. The
 * earliest copy is the one kept (ties: lower collector id), so times sent on
 * are the earliest copy's. Identical packets from the SAME collector are
 * never merged; each copy from another collector cancels at most one of them.
 *
 * Memory: FIFOs grow by doubling up to `memcap` bytes in all (each
 * collector's first FIFO of 4096 records is given even past it); past it the
 * oldest held records are released early (`forced`, order then depends on
 * arrival). The window table has a fixed number of entries allocated at
 * start; when full the oldest is forgotten early (`evicted_early`). Dedup
 * covers the first SPL_DEDUP_SOURCES collectors; records of later ones are
 * merged but never deduplicated (`untracked`). Single-threaded, no
 * allocation per record.
 */
#ifndef SPL_DEDUP_H
#define SPL_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include "cmn_record.h"

#define SPL_DEDUP_SOURCES     64         /* collectors that take part in dedup */
#define SPL_DEDUP_SOURCES_MAX 1024       /* collectors merged (as SPL_COLLECTORS_MAX) */
#define SPL_DEDUP_ENTRIES     (1u << 18) /* window table entries (32 bytes each) */

/* Receives released records, in order: `n` records (borrowed, aligned, valid
 * during the call only). */
typedef void (*spl_dedup_out_fn)(void *arg, const struct cmn_record *recs, size_t n);

struct spl_dedup_config {
    uint64_t window_ns;   /* copies closer than this in capture time are one packet; 0: no dedup */
    uint64_t memcap;      /* bytes of held records, all collectors, >= 64 KiB */
    spl_dedup_out_fn out; /* where released records go */
    void *out_arg;        /* passed to out */
};

struct spl_dedup_stats {
    uint64_t duplicates_removed; /* records dropped as another collector's copy */
    uint64_t released;           /* records handed to out */
    uint64_t held;               /* records waiting now */
    uint64_t held_max;           /* most records ever waiting */
    uint64_t late;               /* arrived behind the release point: no order guarantee */
    uint64_t forced;             /* released early because the memcap was reached */
    uint64_t evicted_early;      /* window entries forgotten early (table full) */
    uint64_t untracked;          /* records of collectors beyond SPL_DEDUP_SOURCES */
};

/* Duplicates removed between two collectors, a < b (collector ids). */
struct spl_dedup_pair {
    uint32_t a;     /* lower collector id */
    uint32_t b;     /* higher collector id */
    uint64_t count; /* copies dropped (kept from either side) */
};

struct spl_dedup;

/* Allocate the window table and FIFO slots. Returns NULL after logging why
 * (memcap too small). Owned by the caller. */
struct spl_dedup *spl_dedup_new(const struct spl_dedup_config *cfg);

/* Free; accepts NULL and NULLs the caller's pointer. Held records are
 * discarded: release them first. */
void spl_dedup_destroy(struct spl_dedup **d);

/* Index of the source for `collector_id`, registering it on first use.
 * Returns the index, or -ENOSPC beyond SPL_DEDUP_SOURCES_MAX collectors. */
int spl_dedup_source(struct spl_dedup *d, uint32_t collector_id);

/* Hold `n` records of source `src` (any alignment). A record at or behind the
 * release point while its FIFO is empty goes straight out (counted late). */
void spl_dedup_push(struct spl_dedup *d, int src, const struct cmn_record *recs, size_t n);

/* Release every held record with ts <= upto (UINT64_MAX: all) through the
 * window check, in (ts, collector id) order. Returns the records released. */
size_t spl_dedup_release(struct spl_dedup *d, uint64_t upto);

/* Records of source `src` held now. A source's records leave the hold (out,
 * or dropped as another collector's copy) in the order they were pushed, so
 * those pushed minus those held are the first ones of its stream. */
size_t spl_dedup_held_of(const struct spl_dedup *d, int src);

/* Current counters. */
void spl_dedup_stats(const struct spl_dedup *d, struct spl_dedup_stats *out /* OUT */);

/* Up to `max` collector pairs with duplicates, ordered by (a, b). Returns the
 * number of pairs that have duplicates (may exceed max). */
size_t spl_dedup_pairs(const struct spl_dedup *d, struct spl_dedup_pair *out /* OUT */, size_t max);

/* A splitter restarted from its checkpoint: the counters and pair counts
 * its predecessor had (held is not restored: those records come again). */
void spl_dedup_restore_counts(struct spl_dedup *d, const struct spl_dedup_stats *st,
                              const struct spl_dedup_pair *pairs, size_t n);

/* The window (released records a later copy may still match) and the
 * release point as a flat image for a checkpoint: spl_dedup_window_size
 * bytes, written by spl_dedup_window_save. Loaded into a new dedup (nothing
 * pushed yet; sources are matched by collector id, registered as needed), a
 * copy that arrives after a restart still cancels against its first copy
 * released before the checkpoint. Load returns 0, or -EINVAL (logged) for
 * an image that is not one: the dedup is left empty. */
size_t spl_dedup_window_size(const struct spl_dedup *d);
void spl_dedup_window_save(const struct spl_dedup *d, void *buf /* OUT */);
int spl_dedup_window_load(struct spl_dedup *d, const void *buf, size_t len);

#endif /* SPL_DEDUP_H */
