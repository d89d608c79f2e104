/* SPDX-License-Identifier: MIT
 * spl_shard: per-collector out-batches, one per tracker. A burst first looks
 * up the owners of up to SPL_BURST records, then copies each record into one
 * or two out-batches. Lookups use a private copy of the map made at start:
 * IPv4 addresses go through a table of /16 blocks (one load when the block
 * lies in one range, which is almost always), everything else through a
 * binary search over the ranges' upper bounds as pairs of native 64-bit
 * words; both give exactly cmn_shard_lookup's answer. Records are read
 * through byte offsets because a received protobuf bytes field need not be
 * 8-byte aligned; the out-batches themselves are aligned.
 */
#define CMN_LOG_TAG "shard"
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_log.h"
#include "spl_shard.h"

/* One tracker's pending out-batch. */
struct s_out {
    struct cmn_record *recs; /* batch_records slots, aligned */
    uint32_t n;              /* slots used */
    bool lent;               /* recs came from take (emit_own), not from the slab */
    uint64_t first_ns;       /* arrival (monotonic) of recs[0]; meaningful when n > 0 */
};

#define V4_BLOCKS 65536u  /* IPv4 /16 blocks */
#define V4_SPLIT  0xffffu /* block spans ranges: search */

struct spl_shard {
    const struct cmn_shard_map *map; /* borrowed owner lookup */
    size_t nranges;                  /* ranges in the map */
    uint64_t *hi;                    /* [2 * nranges]: each range's hi as (high, low) words */
    uint32_t *owner;                 /* [nranges]: each range's tracker */
    uint16_t *v4;                    /* [V4_BLOCKS]: owner of a whole /16, or V4_SPLIT */
    uint32_t trackers;               /* number of out-batches */
    uint32_t batch_records;          /* capacity of each out-batch */
    uint32_t collector_id;           /* origin stamped on emitted batches */
    spl_emit_fn emit;                /* sink of finished out-batches */
    void *emit_arg;                  /* its argument */
    spl_take_fn take;                /* optional zero-copy storage (see spl_shard.h) */
    spl_emit_own_fn emit_own;        /* sink of out-batches in taken storage */
    spl_put_fn put;                  /* gives taken storage back */
    uint64_t copies;                 /* record copies routed, for accounting */
    struct s_out *out;               /* [trackers] */
    struct cmn_record *slab;         /* one allocation backing every out[i].recs */
};

static inline uint64_t s_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return __builtin_bswap64(v);
}

/* Index of the first range whose hi >= ip (nranges if none), as cmn_shard_lookup. */
static inline size_t s_range(const struct spl_shard *sh, const uint8_t *ip)
{
    uint64_t a = s_be64(ip), b = s_be64(ip + 8);
    size_t lo = 0, hi = sh->nranges;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint64_t ha = sh->hi[2 * mid], hb = sh->hi[2 * mid + 1];
        if (ha < a || (ha == a && hb < b))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static inline uint32_t s_owner(const struct spl_shard *sh, const uint8_t *ip)
{
    uint64_t w0, w1;
    memcpy(&w0, ip, 8);
    memcpy(&w1, ip + 8, 8);
    if (w0 == 0 && (uint32_t)w1 == 0xffff0000u) { /* v4-mapped */
        uint16_t o = sh->v4[(uint32_t)ip[12] << 8 | ip[13]];
        if (o != V4_SPLIT)
            return o;
    }
    size_t r = s_range(sh, ip);
    return r < sh->nranges ? sh->owner[r] : 0;
}

/* The private lookup copy of the map. */
static int s_build_lookup(struct spl_shard *sh)
{
    size_t n = 0;
    const struct cmn_shard_range *r = cmn_shard_ranges(sh->map, &n);
    sh->nranges = n;
    sh->hi = malloc((n ? n : 1) * 2 * sizeof(uint64_t));
    sh->owner = malloc((n ? n : 1) * sizeof(uint32_t));
    sh->v4 = malloc(V4_BLOCKS * sizeof(uint16_t));
    if (!sh->hi || !sh->owner || !sh->v4)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        sh->hi[2 * i] = s_be64(r[i].hi);
        sh->hi[2 * i + 1] = s_be64(r[i].hi + 8);
        sh->owner[i] = r[i].tracker;
    }
    uint8_t first[16] = {0}, last[16] = {0};
    first[10] = first[11] = last[10] = last[11] = 0xff;
    for (uint32_t blk = 0; blk < V4_BLOCKS; blk++) {
        first[12] = last[12] = (uint8_t)(blk >> 8);
        first[13] = last[13] = (uint8_t)blk;
        last[14] = last[15] = 0xff;
        size_t a = s_range(sh, first), b = s_range(sh, last);
        uint32_t o = a < n ? sh->owner[a] : 0;
        sh->v4[blk] = (a == b && o < V4_SPLIT) ? (uint16_t)o : V4_SPLIT;
    }
    return 0;
}

/* Storage for tracker t's next out-batch: lent by take when it can, else
 * the tracker's own slot of the slab. */
static void s_refill(struct spl_shard *sh, uint32_t t)
{
    struct s_out *o = &sh->out[t];
    o->recs = sh->take ? sh->take(sh->emit_arg) : NULL;
    o->lent = o->recs != NULL;
    if (!o->lent)
        o->recs = sh->slab + (size_t)t * sh->batch_records;
}

struct spl_shard *spl_shard_new(const struct spl_shard_config *cfg)
{
    assert(cfg && cfg->map && cfg->emit);
    assert(!cfg->take == !cfg->emit_own && !cfg->take == !cfg->put);
    struct spl_shard *sh = NULL;
    uint32_t trackers = cmn_shard_trackers(cfg->map);
    if (trackers == 0 || cfg->batch_records == 0) {
        CMN_LOG(ERR, "need at least one tracker and batch_records >= 1");
        return NULL;
    }
    uint64_t bytes = (uint64_t)trackers * cfg->batch_records * sizeof(struct cmn_record);
    if (bytes > SPL_SHARD_MEMCAP) {
        CMN_LOG(ERR, "%u trackers x %u batch_records needs %llu MiB, over the %llu MiB cap",
                trackers, cfg->batch_records, (unsigned long long)(bytes >> 20),
                (unsigned long long)(SPL_SHARD_MEMCAP >> 20));
        return NULL;
    }
    sh = calloc(1, sizeof(*sh));
    if (!sh)
        goto err;
    sh->map = cfg->map;
    sh->trackers = trackers;
    sh->batch_records = cfg->batch_records;
    sh->collector_id = cfg->collector_id;
    sh->emit = cfg->emit;
    sh->emit_arg = cfg->emit_arg;
    sh->take = cfg->take;
    sh->emit_own = cfg->emit_own;
    sh->put = cfg->put;
    sh->out = calloc(trackers, sizeof(*sh->out));
    if (!sh->out)
        goto err_shard;
    sh->slab = aligned_alloc(64, (size_t)bytes);
    if (!sh->slab)
        goto err_out;
    for (uint32_t t = 0; t < trackers; t++)
        s_refill(sh, t);
    if (s_build_lookup(sh) != 0)
        goto err_lookup;
    return sh;

err_lookup:
    for (uint32_t t = 0; t < trackers; t++)
        if (sh->out[t].lent)
            sh->put(sh->emit_arg, sh->out[t].recs);
    free(sh->hi);
    free(sh->owner);
    free(sh->v4);
    free(sh->slab);
err_out:
    free(sh->out);
err_shard:
    free(sh);
err:
    CMN_LOG(ERR, "out of memory for %llu bytes of out-batches", (unsigned long long)bytes);
    return NULL;
}

void spl_shard_destroy(struct spl_shard **shp)
{
    if (!shp || !*shp)
        return;
    struct spl_shard *sh = *shp;
    for (uint32_t t = 0; t < sh->trackers; t++)
        if (sh->out[t].lent)
            sh->put(sh->emit_arg, sh->out[t].recs);
    free(sh->hi);
    free(sh->owner);
    free(sh->v4);
    free(sh->slab);
    free(sh->out);
    free(sh);
    *shp = NULL;
}

static void s_emit(struct spl_shard *sh, uint32_t t)
{
    struct s_out *o = &sh->out[t];
    if (o->n == 0)
        return;
    if (o->lent) {
        struct cmn_record *r = o->recs;
        o->recs = NULL;
        o->lent = false;
        sh->emit_own(sh->emit_arg, t, sh->collector_id, r, o->n);
    } else {
        sh->emit(sh->emit_arg, t, sh->collector_id, o->recs, o->n);
    }
    o->n = 0;
    s_refill(sh, t);
}

/* Append one record (raw 64 bytes) to tracker t's out-batch; emit when full. */
static inline void s_append(struct spl_shard *sh, uint32_t t, const uint8_t *raw, uint64_t now_ns)
{
    struct s_out *o = &sh->out[t];
    if (o->n == 0)
        o->first_ns = now_ns;
    uint64_t w[8]; /* 64 bytes through registers: no memcpy call per record */
    memcpy(w, raw, sizeof(w));
    memcpy(&o->recs[o->n++], w, sizeof(w));
    sh->copies++;
    if (o->n == sh->batch_records)
        s_emit(sh, t);
}

size_t spl_shard_burst(struct spl_shard *sh, const struct cmn_record *recs, size_t n,
                       uint64_t now_ns)
{
    const uint8_t *base = (const uint8_t *)recs;
    const size_t rs = sizeof(struct cmn_record);
    uint32_t own_src[SPL_BURST], own_dst[SPL_BURST];

    for (size_t i = 0; i < n; i += SPL_BURST) {
        size_t m = n - i < SPL_BURST ? n - i : SPL_BURST;
        /* Lookups for the whole burst first: the map's ranges stay hot in cache. */
        for (size_t k = 0; k < m; k++) {
            const uint8_t *raw = base + (i + k) * rs;
            own_src[k] = s_owner(sh, raw + offsetof(struct cmn_record, src));
            own_dst[k] = s_owner(sh, raw + offsetof(struct cmn_record, dst));
        }
        for (size_t k = 0; k < m; k++) {
            const uint8_t *raw = base + (i + k) * rs;
            uint32_t a = own_src[k], b = own_dst[k];
            if (CMN_NEVER(a >= sh->trackers))
                a = 0;
            if (CMN_NEVER(b >= sh->trackers))
                b = 0;
            s_append(sh, a, raw, now_ns);
            if (b != a)
                s_append(sh, b, raw, now_ns);
        }
    }
    return n;
}

size_t spl_shard_flush_older(struct spl_shard *sh, uint64_t cutoff_ns)
{
    size_t emitted = 0;
    for (uint32_t t = 0; t < sh->trackers; t++) {
        if (sh->out[t].n > 0 && sh->out[t].first_ns <= cutoff_ns) {
            s_emit(sh, t);
            emitted++;
        }
    }
    return emitted;
}

size_t spl_shard_flush(struct spl_shard *sh)
{
    return spl_shard_flush_older(sh, UINT64_MAX);
}

uint64_t spl_shard_oldest(const struct spl_shard *sh)
{
    uint64_t oldest = UINT64_MAX;
    for (uint32_t t = 0; t < sh->trackers; t++)
        if (sh->out[t].n > 0 && sh->out[t].first_ns < oldest)
            oldest = sh->out[t].first_ns;
    return oldest;
}

size_t spl_shard_pending(const struct spl_shard *sh)
{
    size_t n = 0;
    for (uint32_t t = 0; t < sh->trackers; t++)
        n += sh->out[t].n;
    return n;
}

uint64_t spl_shard_copies(const struct spl_shard *sh)
{
    return sh->copies;
}
