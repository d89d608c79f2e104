/* SPDX-License-Identifier: MIT
 * spl_dedup: hold each collector's records in a FIFO, release them merged in
 * capture-time order up to the splitter's release point, and drop the copies
 * a redundant collector saw of a packet already released (contract in
 * spl_dedup.h; design in docs/ARCHITECTURE.md, "Redundant collectors").
 *
 * The window table is a FIFO of entries in release order (a ring indexed by
 * an ever-growing sequence number) plus a bucket array of chain heads. Chains
 * link newest to oldest by sequence number, so an entry is alive while its
 * sequence number is at or above the ring's tail: eviction is moving the
 * tail, no unlinking, and a chain walk stops at the first dead link.
 *
 * Lazy linking: a lookup can only match an entry remembered from another
 * source. While every live entry came from the source now releasing (one
 * collector, or one at a time), entries are appended to the ring without
 * touching the bucket array, whose random access is the cost of the window
 * (a cache miss per record). The first record from another source links the
 * pending entries in sequence order, which builds exactly the chains eager
 * insertion would have built (entries that died meanwhile are left out, and a
 * chain walk never visits dead entries), so results do not change.
 *
 * The ring uses only its first S_ENT_MIN slots until that many entries are
 * alive at once, then doubles in place (s_grow) up to SPL_DEDUP_ENTRIES: a
 * window of a few hundred microseconds holds few records, and a ring swept
 * over its full 8 MiB would miss the cache on every other record.
 */
#define CMN_LOG_TAG "dedup"
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_log.h"
#include "cmn_hash.h"
#include "spl_dedup.h"

#define S_RING_MIN  4096          /* first FIFO allocation, records */
#define S_OUT       256           /* released records handed to out per call */
#define S_CHAIN_MAX 256           /* entries examined per lookup (bounds a flood of equal keys) */
#define S_NONE      UINT64_MAX    /* no entry */
#define S_SEED      0x5eedde0dull /* fixed: false matches need a 64-bit collision either way */
#define S_ENT_MIN   4096          /* window ring slots in use at start (128 KiB, stays in cache) */
#define S_BMASK     (SPL_DEDUP_ENTRIES - 1) /* bucket index mask */

/* One collector's held records: a ring of cap (power of two) records. */
struct s_src {
    uint32_t id;             /* collector id */
    struct cmn_record *ring; /* NULL until the first record */
    size_t cap;              /* slots in ring (0 or a power of two) */
    size_t head;             /* index of the oldest held record */
    size_t count;            /* records held */
};

/* One released record remembered for the window. */
struct s_ent {
    uint64_t hash; /* 64-bit key hash; equal hashes are taken as equal keys */
    uint64_t ts;   /* capture time of the kept copy */
    uint64_t next; /* sequence number of the next older entry of the bucket, or S_NONE */
    uint64_t seen; /* bit per source index that has delivered a copy */
};

struct spl_dedup {
    struct spl_dedup_config cfg;  /* copy */
    struct s_src *src;            /* [SPL_DEDUP_SOURCES_MAX] */
    size_t nsrc;                  /* sources registered */
    uint64_t ring_bytes;          /* bytes allocated to FIFOs */
    uint64_t released_to;         /* records with ts <= this have been released */
    struct s_ent *ent;            /* [SPL_DEDUP_ENTRIES], the first emask + 1 in use */
    uint64_t emask;               /* ring slots in use - 1: grows to SPL_DEDUP_ENTRIES - 1 */
    uint64_t tail;                /* sequence number of the oldest live entry */
    uint64_t head;                /* sequence number of the next entry */
    uint64_t linked;              /* entries from here to head are not in the buckets yet */
    size_t lazy_src;              /* source index of every entry not linked yet */
    uint64_t *bucket;             /* [SPL_DEDUP_ENTRIES] chain heads */
    uint8_t *first;               /* [SPL_DEDUP_ENTRIES] source index of the kept copy (ring) */
    struct cmn_record out[S_OUT]; /* released, not yet handed to out */
    size_t nout;                  /* entries used in out */
    struct spl_dedup_stats st;    /* counters (held is derived) */
    uint64_t held;                /* records in all FIFOs */
    uint64_t pair[SPL_DEDUP_SOURCES][SPL_DEDUP_SOURCES]; /* [lower index][higher index] */
};

/* ---- key ---------------------------------------------------------------------- */

static inline uint64_t s_mix(uint64_t h, uint64_t v)
{
    return cmn_hash_mix(h ^ v, CMN_HASH_K1);
}

/* Hash of the fields both mirror copies share (never ts, ttl, vlan, flags). */
static uint64_t s_hash(const struct cmn_record *r)
{
    uint64_t w[4];
    memcpy(w, r->src, 16);
    memcpy(w + 2, r->dst, 16);
    uint64_t h = S_SEED;
    for (int i = 0; i < 4; i++)
        h = s_mix(h, w[i]);
    h = s_mix(h, (uint64_t)r->sport | (uint64_t)r->dport << 16 | (uint64_t)r->proto << 32 |
                     (uint64_t)r->tcp_flags << 40);
    h = s_mix(h, (uint64_t)r->ip_len | (uint64_t)r->sig << 32);
    h = s_mix(h, r->ip_id);
    return h;
}

/* ---- output ------------------------------------------------------------------- */

static void s_out_flush(struct spl_dedup *d)
{
    if (d->nout == 0)
        return;
    d->st.released += d->nout;
    d->cfg.out(d->cfg.out_arg, d->out, d->nout);
    d->nout = 0;
}

static void s_out(struct spl_dedup *d, const struct cmn_record *r)
{
    d->out[d->nout++] = *r;
    if (d->nout == S_OUT)
        s_out_flush(d);
}

/* ---- window table ------------------------------------------------------------- */

static inline bool s_within(uint64_t a, uint64_t b, uint64_t w)
{
    return a > b ? a - b <= w : b - a <= w;
}

/* Forget entries that no record at ts or later can match. */
static void s_evict(struct spl_dedup *d, uint64_t ts)
{
    while (d->tail < d->head) {
        const struct s_ent *e = &d->ent[d->tail & d->emask];
        if (e->ts >= ts || ts - e->ts <= d->cfg.window_ns)
            break;
        d->tail++;
    }
}

/* Put the pending entries [linked, head) into their buckets, oldest first. */
static void s_link(struct spl_dedup *d)
{
    for (uint64_t q = d->linked > d->tail ? d->linked : d->tail; q < d->head; q++) {
        struct s_ent *e = &d->ent[q & d->emask];
        uint64_t *b = &d->bucket[e->hash & S_BMASK];
        e->next = *b;
        *b = q;
    }
    d->linked = d->head;
}

/* Double the ring slots in use. Slot of q is q & emask, so the live entries
 * whose sequence number has the new bit set move up by the old size, into the
 * unused half; the others stay. Chains hold sequence numbers: untouched. */
static void s_grow(struct spl_dedup *d)
{
    const uint64_t old = d->emask + 1;
    for (uint64_t q = d->tail; q < d->head; q++) {
        if (q & old) {
            d->ent[(q & d->emask) + old] = d->ent[q & d->emask];
            d->first[(q & d->emask) + old] = d->first[q & d->emask];
        }
    }
    d->emask = 2 * old - 1;
}

/* Remember r from source s at the head of the ring. The ring starts small
 * (few records fall within a window) and grows when full; only at
 * SPL_DEDUP_ENTRIES is the oldest entry forgotten early. */
static struct s_ent *s_append(struct spl_dedup *d, size_t s, const struct cmn_record *r, uint64_t h)
{
    if (d->head - d->tail == d->emask + 1) {
        if (d->emask + 1 < SPL_DEDUP_ENTRIES) {
            s_grow(d);
        } else {
            d->tail++;
            d->st.evicted_early++;
        }
    }
    struct s_ent *e = &d->ent[d->head & d->emask];
    e->hash = h;
    e->ts = r->ts_ns;
    e->seen = 1ull << s;
    d->first[d->head & d->emask] = (uint8_t)s;
    d->head++;
    return e;
}

/* True when r (from source index s < SPL_DEDUP_SOURCES) is another source's
 * copy of a remembered packet; otherwise remembers it. */
static bool s_is_dup(struct spl_dedup *d, size_t s, const struct cmn_record *r)
{
    const uint64_t mask = d->emask, bit = 1ull << s;
    s_evict(d, r->ts_ns);
    uint64_t h = s_hash(r);
    if (d->linked <= d->tail && (d->linked == d->head || d->lazy_src == s)) {
        /* Every live entry is pending and from s (or there is none): no match
         * is possible. Remember r without touching the buckets. */
        d->lazy_src = s;
        s_append(d, s, r, h);
        return false;
    }
    s_link(d);
    uint64_t *b = &d->bucket[h & S_BMASK];
    uint64_t best = S_NONE;
    unsigned walked = 0;
    /* Oldest matching entry this source has not matched yet: with identical
     * packets from one switch, copies pair up in order. */
    for (uint64_t q = *b; q != S_NONE && q >= d->tail && walked < S_CHAIN_MAX; walked++) {
        const struct s_ent *e = &d->ent[q & mask];
        if (e->hash == h && !(e->seen & bit) && s_within(e->ts, r->ts_ns, d->cfg.window_ns))
            best = q;
        q = e->next;
    }
    if (best != S_NONE) {
        struct s_ent *e = &d->ent[best & mask];
        e->seen |= bit;
        size_t k = d->first[best & mask];
        d->pair[k < s ? k : s][k < s ? s : k]++;
        d->st.duplicates_removed++;
        return true;
    }
    struct s_ent *e = s_append(d, s, r, h);
    e->next = *b;
    *b = d->head - 1;
    d->linked = d->head;
    return false;
}

/* One record leaves the hold: window check, then out. */
static void s_release_one(struct spl_dedup *d, size_t s, const struct cmn_record *r)
{
    if (d->cfg.window_ns > 0) {
        if (s < SPL_DEDUP_SOURCES) {
            if (s_is_dup(d, s, r))
                return;
        } else {
            d->st.untracked++;
        }
    }
    s_out(d, r);
}

/* ---- hold --------------------------------------------------------------------- */

/* Source whose oldest held record comes first in (ts, collector id) order, or
 * -1 when nothing is held. */
static long s_next_src(const struct spl_dedup *d)
{
    long best = -1;
    uint64_t bts = 0;
    for (size_t i = 0; i < d->nsrc; i++) {
        const struct s_src *q = &d->src[i];
        if (q->count == 0)
            continue;
        uint64_t ts = q->ring[q->head].ts_ns;
        if (best < 0 || ts < bts || (ts == bts && q->id < d->src[best].id)) {
            best = (long)i;
            bts = ts;
        }
    }
    return best;
}

static void s_pop(struct spl_dedup *d, size_t s)
{
    struct s_src *q = &d->src[s];
    const struct cmn_record *r = &q->ring[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->count--;
    d->held--;
    s_release_one(d, s, r);
}

/* Make room for one more record in source s: grow its FIFO within the
 * memcap, or release the oldest held records early. */
static void s_room(struct spl_dedup *d, size_t s)
{
    struct s_src *q = &d->src[s];
    if (q->count < q->cap)
        return;
    size_t ncap = q->cap ? q->cap * 2 : S_RING_MIN;
    uint64_t add = (uint64_t)(ncap - q->cap) * sizeof(struct cmn_record);
    /* A source's first FIFO is given even past the memcap: FIFOs never
     * shrink, so a collector that starts late (or again, after a restart)
     * while the others hold the whole memcap would otherwise have no slot
     * at all and nothing to release into. */
    if (q->cap == 0 || d->ring_bytes + add <= d->cfg.memcap) {
        struct cmn_record *nr = malloc(ncap * sizeof(*nr));
        if (!nr && q->cap == 0)
            abort(); /* cannot hold a single record: nothing sensible left */
        if (!nr)
            goto release; /* out of memory below the memcap: treat as over it */
        /* unwrap: oldest first */
        size_t first = q->cap - q->head < q->count ? q->cap - q->head : q->count;
        if (q->count) {
            memcpy(nr, q->ring + q->head, first * sizeof(*nr));
            memcpy(nr + first, q->ring, (q->count - first) * sizeof(*nr));
        }
        free(q->ring);
        q->ring = nr;
        q->cap = ncap;
        q->head = 0;
        d->ring_bytes += add;
        return;
    }
release:
    /* Over the memcap: release in merged order until s has a free slot. */
    while (q->count == q->cap) {
        long k = s_next_src(d);
        assert(k >= 0);
        uint64_t ts = d->src[k].ring[d->src[k].head].ts_ns;
        if (ts > d->released_to)
            d->released_to = ts;
        s_pop(d, (size_t)k);
        d->st.forced++;
    }
}

/* ---- API ---------------------------------------------------------------------- */

struct spl_dedup *spl_dedup_new(const struct spl_dedup_config *cfg)
{
    assert(cfg && cfg->out);
    if (cfg->memcap < (uint64_t)S_RING_MIN * sizeof(struct cmn_record)) {
        CMN_LOG(ERR, "dedup memcap %" PRIu64 " bytes is below the minimum %zu", cfg->memcap,
                (size_t)S_RING_MIN * sizeof(struct cmn_record));
        return NULL;
    }
    struct spl_dedup *d = calloc(1, sizeof(*d));
    if (!d)
        abort();
    d->cfg = *cfg;
    d->src = calloc(SPL_DEDUP_SOURCES_MAX, sizeof(*d->src));
    if (!d->src)
        abort();
    if (cfg->window_ns > 0) {
        d->ent = malloc(SPL_DEDUP_ENTRIES * sizeof(*d->ent));
        d->bucket = malloc(SPL_DEDUP_ENTRIES * sizeof(*d->bucket));
        d->first = malloc(SPL_DEDUP_ENTRIES);
        if (!d->ent || !d->bucket || !d->first)
            abort();
        d->emask = S_ENT_MIN - 1;
        for (size_t i = 0; i < SPL_DEDUP_ENTRIES; i++)
            d->bucket[i] = S_NONE;
    }
    return d;
}

void spl_dedup_destroy(struct spl_dedup **dp)
{
    if (!dp || !*dp)
        return;
    struct spl_dedup *d = *dp;
    for (size_t i = 0; i < d->nsrc; i++)
        free(d->src[i].ring);
    free(d->src);
    free(d->ent);
    free(d->bucket);
    free(d->first);
    free(d);
    *dp = NULL;
}

int spl_dedup_source(struct spl_dedup *d, uint32_t collector_id)
{
    for (size_t i = 0; i < d->nsrc; i++)
        if (d->src[i].id == collector_id)
            return (int)i;
    if (d->nsrc == SPL_DEDUP_SOURCES_MAX)
        return -ENOSPC;
    d->src[d->nsrc].id = collector_id;
    return (int)d->nsrc++;
}

void spl_dedup_push(struct spl_dedup *d, int src, const struct cmn_record *recs, size_t n)
{
    assert(src >= 0 && (size_t)src < d->nsrc);
    struct s_src *q = &d->src[src];
    const uint8_t *raw = (const uint8_t *)recs;
    for (size_t i = 0; i < n; i++) {
        struct cmn_record r;
        memcpy(&r, raw + i * sizeof(r), sizeof(r));
        if (q->count == 0 && r.ts_ns <= d->released_to && d->st.released + d->nout > 0) {
            /* Behind the release point: an earlier record of another collector
             * may already be out, so merged order cannot be kept. */
            d->st.late++;
            s_release_one(d, (size_t)src, &r);
            continue;
        }
        s_room(d, (size_t)src);
        q->ring[(q->head + q->count) & (q->cap - 1)] = r;
        q->count++;
        if (++d->held > d->st.held_max)
            d->st.held_max = d->held;
    }
    s_out_flush(d);
}

size_t spl_dedup_release(struct spl_dedup *d, uint64_t upto)
{
    size_t n = 0;
    uint64_t top = 0;
    for (;;) {
        long k = s_next_src(d);
        if (k < 0)
            break;
        const struct s_src *q = &d->src[k];
        uint64_t ts = q->ring[q->head].ts_ns;
        if (ts > upto)
            break;
        if (ts > top)
            top = ts;
        s_pop(d, (size_t)k);
        n++;
    }
    s_out_flush(d);
    /* After "all", only what really went out is behind us: a collector that
     * starts again later is merged normally. */
    uint64_t to = upto == UINT64_MAX ? top : upto;
    if (to > d->released_to)
        d->released_to = to;
    return n;
}

size_t spl_dedup_held_of(const struct spl_dedup *d, int src)
{
    assert(src >= 0 && (size_t)src < d->nsrc);
    return d->src[src].count;
}

void spl_dedup_stats(const struct spl_dedup *d, struct spl_dedup_stats *out)
{
    *out = d->st;
    out->held = d->held;
}

static int s_pair_cmp(const void *a, const void *b)
{
    const struct spl_dedup_pair *x = a, *y = b;
    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    return x->b < y->b ? -1 : x->b > y->b;
}

size_t spl_dedup_pairs(const struct spl_dedup *d, struct spl_dedup_pair *out, size_t max)
{
    size_t n = 0, lim = d->nsrc < SPL_DEDUP_SOURCES ? d->nsrc : SPL_DEDUP_SOURCES;
    for (size_t i = 0; i < lim; i++)
        for (size_t j = i; j < lim; j++) {
            if (d->pair[i][j] == 0)
                continue;
            if (n < max) {
                uint32_t x = d->src[i].id, y = d->src[j].id;
                out[n] = (struct spl_dedup_pair){
                    .a = x < y ? x : y, .b = x < y ? y : x, .count = d->pair[i][j]};
            }
            n++;
        }
    if (n > 1 && max > 1)
        qsort(out, n < max ? n : max, sizeof(*out), s_pair_cmp);
    return n;
}

void spl_dedup_restore_counts(struct spl_dedup *d, const struct spl_dedup_stats *st,
                              const struct spl_dedup_pair *pairs, size_t n)
{
    uint64_t held = d->st.held, held_max = d->st.held_max;
    d->st = *st;
    d->st.held = held;
    d->st.held_max = held_max > st->held_max ? held_max : st->held_max;
    for (size_t k = 0; k < n; k++) {
        int a = spl_dedup_source(d, pairs[k].a), b = spl_dedup_source(d, pairs[k].b);
        if (a < 0 || b < 0 || a >= SPL_DEDUP_SOURCES || b >= SPL_DEDUP_SOURCES)
            continue;
        d->pair[a < b ? a : b][a < b ? b : a] = pairs[k].count;
    }
}

/* ---- window image (checkpoints) ------------------------------------------------ */

/* Image: this header, the collector id of each source index (nids), then n
 * entries, oldest first. */
struct s_img_head {
    uint64_t released_to;
    uint64_t n;
    uint32_t nids;
    uint32_t entry_size;
};

struct s_img_ent {
    uint64_t hash;
    uint64_t ts;
    uint64_t seen;  /* bits by source index of the image */
    uint64_t first; /* source index of the image of the kept copy */
};

size_t spl_dedup_window_size(const struct spl_dedup *d)
{
    size_t nids = d->nsrc < SPL_DEDUP_SOURCES ? d->nsrc : SPL_DEDUP_SOURCES;
    uint64_t n = d->ent ? d->head - d->tail : 0;
    return sizeof(struct s_img_head) + nids * sizeof(uint32_t) + n * sizeof(struct s_img_ent);
}

void spl_dedup_window_save(const struct spl_dedup *d, void *buf)
{
    struct s_img_head h = {
        .released_to = d->released_to,
        .n = d->ent ? d->head - d->tail : 0,
        .nids = (uint32_t)(d->nsrc < SPL_DEDUP_SOURCES ? d->nsrc : SPL_DEDUP_SOURCES),
        .entry_size = (uint32_t)sizeof(struct s_img_ent),
    };
    uint8_t *o = buf;
    memcpy(o, &h, sizeof(h));
    o += sizeof(h);
    for (uint32_t i = 0; i < h.nids; i++, o += sizeof(uint32_t))
        memcpy(o, &d->src[i].id, sizeof(uint32_t));
    for (uint64_t q = d->tail; q < d->tail + h.n; q++, o += sizeof(struct s_img_ent)) {
        const struct s_ent *e = &d->ent[q & d->emask];
        struct s_img_ent w = {e->hash, e->ts, e->seen, d->first[q & d->emask]};
        memcpy(o, &w, sizeof(w));
    }
}

int spl_dedup_window_load(struct spl_dedup *d, const void *buf, size_t len)
{
    struct s_img_head h;
    const uint8_t *p = buf;
    if (len < sizeof(h))
        goto bad;
    memcpy(&h, p, sizeof(h));
    p += sizeof(h);
    if (h.entry_size != sizeof(struct s_img_ent) || h.nids > SPL_DEDUP_SOURCES ||
        h.n > SPL_DEDUP_ENTRIES ||
        len != sizeof(h) + h.nids * sizeof(uint32_t) + h.n * sizeof(struct s_img_ent) ||
        (h.n && !d->ent) || d->head != 0 || d->held != 0)
        goto bad;
    int map[SPL_DEDUP_SOURCES];
    for (uint32_t i = 0; i < h.nids; i++, p += sizeof(uint32_t)) {
        uint32_t id;
        memcpy(&id, p, sizeof(id));
        map[i] = spl_dedup_source(d, id);
    }
    while (d->emask + 1 < h.n)
        s_grow(d);
    for (uint64_t k = 0; k < h.n; k++, p += sizeof(struct s_img_ent)) {
        struct s_img_ent w;
        memcpy(&w, p, sizeof(w));
        uint64_t seen = 0;
        for (uint32_t i = 0; i < h.nids; i++)
            if ((w.seen >> i & 1) && map[i] >= 0 && map[i] < SPL_DEDUP_SOURCES)
                seen |= 1ull << map[i];
        int first = w.first < h.nids ? map[w.first] : -1;
        if (first < 0 || first >= SPL_DEDUP_SOURCES || !seen)
            continue; /* a source no longer tracked: nothing of it to match */
        struct s_ent *e = &d->ent[d->head & d->emask];
        e->hash = w.hash;
        e->ts = w.ts;
        e->seen = seen;
        d->first[d->head & d->emask] = (uint8_t)first;
        d->head++;
    }
    s_link(d);
    d->released_to = h.released_to;
    return 0;
bad:
    CMN_LOG(ERR,
            "dedup window image of %zu bytes is not one of this build: the window starts empty",
            len);
    return -EINVAL;
}
