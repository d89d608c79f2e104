/* SPDX-License-Identifier: MIT
 * spl_shard: per-collector out-batches, one per tracker. A burst first looks
 * up the owners of up to SPL_BURST records (two binary searches each), then
 * copies each record into one or two out-batches. Records are read through
 * byte offsets because a received protobuf bytes field need not be 8-byte
 * aligned; the out-batches themselves are aligned.
 */
#define CMN_LOG_TAG "shard"
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_log.h"
#include "spl_shard.h"

/* One tracker's pending out-batch. */
struct s_out {
    struct cmn_record *recs; /* batch_records slots, aligned */
    uint32_t n;              /* slots used */
    uint64_t first_ns;       /* arrival (monotonic) of recs[0]; meaningful when n > 0 */
};

struct spl_shard {
    const struct cmn_shard_map *map; /* borrowed owner lookup */
    uint32_t trackers;               /* number of out-batches */
    uint32_t batch_records;          /* capacity of each out-batch */
    uint32_t collector_id;           /* origin stamped on emitted batches */
    spl_emit_fn emit;                /* sink of finished out-batches */
    void *emit_arg;                  /* its argument */
    uint64_t copies;                 /* record copies routed, for accounting */
    struct s_out *out;               /* [trackers] */
    struct cmn_record *slab;         /* one allocation backing every out[i].recs */
};

struct spl_shard *spl_shard_new(const struct spl_shard_config *cfg)
{
    assert(cfg && cfg->map && cfg->emit);
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
    sh->out = calloc(trackers, sizeof(*sh->out));
    if (!sh->out)
        goto err_shard;
    sh->slab = aligned_alloc(64, (size_t)bytes);
    if (!sh->slab)
        goto err_out;
    for (uint32_t t = 0; t < trackers; t++)
        sh->out[t].recs = sh->slab + (size_t)t * cfg->batch_records;
    return sh;

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
    sh->emit(sh->emit_arg, t, sh->collector_id, o->recs, o->n);
    o->n = 0;
}

/* Append one record (raw 64 bytes) to tracker t's out-batch; emit when full. */
static inline void s_append(struct spl_shard *sh, uint32_t t, const uint8_t *raw, uint64_t now_ns)
{
    struct s_out *o = &sh->out[t];
    if (o->n == 0)
        o->first_ns = now_ns;
    memcpy(&o->recs[o->n++], raw, sizeof(struct cmn_record));
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
            own_src[k] = cmn_shard_lookup(sh->map, raw + offsetof(struct cmn_record, src));
            own_dst[k] = cmn_shard_lookup(sh->map, raw + offsetof(struct cmn_record, dst));
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
