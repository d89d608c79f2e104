/* SPDX-License-Identifier: MIT
 * trk_table: rows of one cache line in 2 MiB chunks (transparent huge pages
 * where the kernel allows) from a free list, found through a bucketed hash
 * index. A row is 64 bytes: a compact key (IPv4 addresses, ports, protocol),
 * per-row state and narrow (16/32-bit) epoch counters; a counter about to wrap
 * moves the row's counters into a wide "spill" record kept until the flush,
 * so narrow rows never lose counts. A session whose addresses are not both
 * IPv4 ("wide") keeps its two 16-byte addresses in a side store of 32-byte
 * entries and the entry's index in the row.
 *
 * Index: buckets of one cache line, 12 entries each (an 8-bit tag per entry
 * side by side, compared 16 bytes at a time, then 32-bit words of 6 more hash
 * bits and the row index), so a lookup reads one index line and, almost
 * always, only the row it wants. A full bucket sends new entries on to the
 * next one and counts them in its `ovf`; a lookup stops at the first bucket
 * whose ovf is 0. Deletion clears the entry and decrements the counts it
 * passed (no tombstones, no shifting). Growth rehashes at once (amortised, it
 * only happens on session creation).
 */
#define CMN_LOG_TAG "table"
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "cmn_log.h"
#include "cmn_ckpt.h"
#include "trk_hset.h"
#include "trk_table.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "trk_table compares keys word-wise assuming little-endian layout"
#endif

#define CHUNK_SHIFT 15 /* 32K rows of 64 B: one 2 MiB huge page */
#define CHUNK_ROWS  (1u << CHUNK_SHIFT)
#define WCHUNK_ROWS 4096u /* wide-address entries per side-store chunk */
#define IDX_BITS    26
#define IDX_MASK    ((1u << IDX_BITS) - 1)
#define MAX_ROWS    (IDX_MASK - 1) /* an entry holds row + 1 */
#define BKT_ENTRIES 12             /* index entries per 64-byte bucket */
#define BKT_FILL    9              /* grow past 9 rows per bucket (3/4 full): few spill over */
#define MIN_BUCKETS 64u            /* 4 KiB of index at least */
#define HUGE_PAGE   (2u << 20)

/* Row state bits. */
#define SS_LIVE  0x01 /* row in use */
#define SS_DIRTY 0x02 /* touched since the last flush */
#define SS_NEW   0x04 /* created or restarted since the last flush */
#define SS_SPILL 0x08 /* has a wide spill record for this epoch */
#define SS_WIDE  0x10 /* addresses in the side store (part of the key) */

/* Second key word (bytes 8..15 of a row): ports, protocol and the SS_WIDE bit
 * are key; the flags, the other state bits and the start counts are not. */
#define W1_KEY_MASK (0x000000ffffffffffull | ((uint64_t)SS_WIDE << 48))
#define W1_WIDE     ((uint64_t)SS_WIDE << 48)

/* One session row: one cache line. */
struct sess {
    uint32_t a4;        /* compact: A's IPv4 address (network order); wide: side-store index */
    uint32_t b4;        /* compact: B's IPv4 address; wide: 0 */
    uint16_t a_port;    /* A's port, 0 when port-less */
    uint16_t b_port;    /* B's port */
    uint8_t proto;      /* IP protocol */
    uint8_t flags;      /* CMN_SESS_* of the current incarnation */
    uint8_t state;      /* SS_* */
    uint8_t starts;     /* openings since flush: A low nibble, B high */
    uint64_t last_ns;   /* newest packet ever (expiry, restart); free list link when free */
    uint64_t first_ns;  /* first packet since the last flush */
    uint32_t bytes[2];  /* IP bytes per direction since flush (spills before wrapping) */
    uint16_t pkts[2];   /* packets per direction since flush (spills before wrapping) */
    uint16_t ack[2];    /* ACK per direction; <= pkts */
    uint16_t syn[2];    /* SYN (incl. SYN+ACK) per direction; <= pkts */
    uint16_t synack[2]; /* SYN+ACK per direction */
    uint16_t fin[2];    /* FIN per direction */
    uint16_t rst[2];    /* RST per direction */
};
_Static_assert(sizeof(struct sess) == 64, "session row is one cache line");

/* One index bucket: one cache line. An entry is free when its tag is 0. */
struct bucket {
    uint8_t tag[BKT_ENTRIES];  /* top 8 hash bits (0 mapped to 1) of each entry, 0 = free */
    uint32_t ovf;              /* entries that passed this bucket because it was full */
    uint32_t ent[BKT_ENTRIES]; /* hash bits 50..55 << IDX_BITS | (row + 1) */
};
_Static_assert(sizeof(struct bucket) == 64, "index bucket is one cache line");
_Static_assert(offsetof(struct bucket, ovf) == BKT_ENTRIES, "tags fill the first 16 bytes");

/* Addresses of a wide session (free entries link through a[0..3]). */
struct wide {
    uint8_t a[16]; /* lower address */
    uint8_t b[16]; /* higher (or equal) address */
};

/* A key in the table's own form, built once per record. */
struct probe {
    uint64_t w0;      /* compact: a4 | b4 << 32; wide: 0 */
    uint64_t w1;      /* ports, protocol, W1_WIDE for wide keys (only W1_KEY_MASK bits) */
    const uint8_t *a; /* wide: A's and B's 16-byte addresses (borrowed); compact: NULL */
    const uint8_t *b;
};

/* Wide counters of a row whose narrow ones were about to wrap this epoch. */
struct spill {
    uint64_t pkts[2];   /* packets per direction */
    uint64_t bytes[2];  /* IP bytes per direction */
    uint32_t syn[2];    /* SYN per direction */
    uint32_t synack[2]; /* SYN+ACK per direction */
    uint32_t ack[2];    /* ACK per direction */
    uint32_t fin[2];    /* FIN per direction */
    uint32_t rst[2];    /* RST per direction */
};

struct trk_table {
    struct sess **chunks;       /* row chunks of CHUNK_ROWS */
    size_t nchunks;             /* chunks allocated */
    size_t chunks_cap;          /* capacity of `chunks` */
    uint32_t rows;              /* rows allocated (nchunks * CHUNK_ROWS) */
    uint32_t free_head;         /* first free row + 1, 0 = none */
    struct bucket *bkts;        /* the index, 64-byte aligned */
    size_t bmask;               /* buckets - 1 (a power of 2) */
    uint64_t seed;              /* hash seed */
    uint64_t timeout;           /* session timeout, ns; 0 = never */
    uint64_t idle_max;          /* timeout, or UINT64_MAX for never (one compare per record) */
    uint64_t now;               /* newest record time seen */
    uint32_t expire_cursor;     /* next row trk_table_expire examines */
    struct wide **wchunks;      /* side-store chunks of WCHUNK_ROWS */
    size_t nwchunks;            /* side-store chunks allocated */
    size_t wchunks_cap;         /* capacity of `wchunks` */
    uint32_t wfree;             /* first free side-store entry + 1, 0 = none */
    struct trk_hset *spill_idx; /* row -> index in `spill` */
    struct spill *spill;        /* spill records of this epoch */
    size_t nspill;              /* spill records used */
    size_t spill_cap;           /* spill records allocated */
    struct trk_mem *mem;        /* memcap accountant (borrowed) */
    struct trk_table_stats st;  /* counters; bytes kept current */
};

static inline uint64_t s_ld64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint32_t s_ld32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline struct sess *s_row(const struct trk_table *t, uint32_t idx)
{
    return &t->chunks[idx >> CHUNK_SHIFT][idx & (CHUNK_ROWS - 1)];
}

static inline struct wide *s_wide(const struct trk_table *t, uint32_t w)
{
    return &t->wchunks[w / WCHUNK_ROWS][w % WCHUNK_ROWS];
}

/* Zeroed memory, cache-line aligned (index buckets must not straddle lines);
 * blocks of 2 MiB and more are huge-page aligned and advised. */
static void *s_zalloc(size_t bytes)
{
    if (bytes < HUGE_PAGE) {
        void *p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
        if (p)
            memset(p, 0, bytes);
        return p;
    }
    size_t sz = (bytes + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    void *p = aligned_alloc(HUGE_PAGE, sz);
    if (!p)
        return NULL;
    (void)madvise(p, sz, MADV_HUGEPAGE); /* advisory: fine when refused */
    memset(p, 0, bytes);
    return p;
}

/* True when a 16-byte address is v4-mapped (::ffff:a.b.c.d). */
static inline bool s_v4mapped(const uint8_t *ip)
{
    return s_ld64(ip) == 0 && s_ld32(ip + 8) == 0xffff0000u;
}

static inline uint64_t s_w1(uint16_t a_port, uint16_t b_port, uint8_t proto, bool wide)
{
    return (uint64_t)a_port | (uint64_t)b_port << 16 | (uint64_t)proto << 32 | (wide ? W1_WIDE : 0);
}

/* The table's form of a canonical key (borrows k's addresses when wide). */
static inline void s_probe_of_key(struct probe *p, const struct trk_key *k)
{
    bool wide = !s_v4mapped(k->a) || !s_v4mapped(k->b);
    p->w1 = s_w1(k->a_port, k->b_port, k->proto, wide);
    if (wide) {
        p->w0 = 0;
        p->a = k->a;
        p->b = k->b;
    } else {
        p->w0 = (uint64_t)s_ld32(k->a + 12) | (uint64_t)s_ld32(k->b + 12) << 32;
        p->a = p->b = NULL;
    }
}

/* Canonical probe of a record (trk_key_from_record's rules). Returns the
 * direction; `kbuf` holds the key of wide records (the probe points into it). */
static inline int s_probe_of_record(struct probe *p, struct trk_key *kbuf,
                                    const struct cmn_record *r)
{
    if (__builtin_expect(!s_v4mapped(r->src) || !s_v4mapped(r->dst), 0)) {
        int dir = trk_key_from_record(kbuf, r);
        s_probe_of_key(p, kbuf);
        return dir;
    }
    uint16_t sp = r->sport, dp = r->dport;
    if (!trk_proto_has_ports(r->proto) || trk_key_is_frag_row(r))
        sp = dp = 0;
    uint32_t s4 = s_ld32(r->src + 12), d4 = s_ld32(r->dst + 12);
    uint32_t sh = __builtin_bswap32(s4), dh = __builtin_bswap32(d4);
    int dir = (sh < dh || (sh == dh && sp <= dp)) ? CMN_DIR_AB : CMN_DIR_BA;
    if (dir == CMN_DIR_AB) {
        p->w0 = (uint64_t)s4 | (uint64_t)d4 << 32;
        p->w1 = s_w1(sp, dp, r->proto, false);
    } else {
        p->w0 = (uint64_t)d4 | (uint64_t)s4 << 32;
        p->w1 = s_w1(dp, sp, r->proto, false);
    }
    p->a = p->b = NULL;
    return dir;
}

static inline uint64_t s_probe_hash(const struct probe *p, uint64_t seed)
{
    uint64_t h = cmn_hash_mix(p->w0 ^ seed ^ 0xa0761d6478bd642full, p->w1 ^ 0xe7037ed1a0b428dbull);
    if (p->a) {
        h = cmn_hash_mix(h ^ s_ld64(p->a) ^ 0x8ebc6af09c88c6e3ull,
                         s_ld64(p->a + 8) ^ 0x589965cc75374cc3ull);
        h = cmn_hash_mix(h ^ s_ld64(p->b) ^ 0x1d8e4e27c47d124full,
                         s_ld64(p->b + 8) ^ 0xa0761d6478bd642full);
    }
    return cmn_hash_mix(h ^ 0x1d8e4e27c47d124full, seed ^ 0xe7037ed1a0b428dbull);
}

/* Does row `e` hold the probe's key? */
static inline bool s_match(const struct trk_table *t, const struct sess *e, const struct probe *p)
{
    if (((s_ld64(&e->a_port) ^ p->w1) & W1_KEY_MASK) != 0)
        return false;
    if (!p->a)
        return s_ld64(e) == p->w0;
    const struct wide *w = s_wide(t, e->a4);
    return memcmp(w->a, p->a, 16) == 0 && memcmp(w->b, p->b, 16) == 0;
}

static uint64_t s_row_hash(const struct trk_table *t, const struct sess *e)
{
    struct probe p;
    p.w1 = s_ld64(&e->a_port) & W1_KEY_MASK;
    if (e->state & SS_WIDE) {
        const struct wide *w = s_wide(t, e->a4);
        p.w0 = 0;
        p.a = w->a;
        p.b = w->b;
    } else {
        p.w0 = s_ld64(e);
        p.a = p.b = NULL;
    }
    return s_probe_hash(&p, t->seed);
}

/* The canonical key of row `e`. */
static void s_row_key(const struct trk_table *t, const struct sess *e, struct trk_key *k)
{
    memset(k, 0, sizeof(*k));
    if (e->state & SS_WIDE) {
        const struct wide *w = s_wide(t, e->a4);
        memcpy(k->a, w->a, 16);
        memcpy(k->b, w->b, 16);
    } else {
        k->a[10] = k->a[11] = k->b[10] = k->b[11] = 0xff;
        memcpy(k->a + 12, &e->a4, 4);
        memcpy(k->b + 12, &e->b4, 4);
    }
    k->a_port = e->a_port;
    k->b_port = e->b_port;
    k->proto = e->proto;
}

static int s_add_chunk(struct trk_table *t)
{
    if (t->rows + (uint64_t)CHUNK_ROWS > MAX_ROWS)
        return -ENOSPC;
    size_t bytes = (size_t)CHUNK_ROWS * sizeof(struct sess);
    if (!trk_mem_take(t->mem, bytes))
        return -ENOSPC;
    if (t->nchunks == t->chunks_cap) {
        size_t cap = t->chunks_cap ? t->chunks_cap * 2 : 16;
        struct sess **c = realloc(t->chunks, cap * sizeof(*c));
        if (!c)
            goto err;
        t->chunks = c;
        t->chunks_cap = cap;
    }
    struct sess *rows = s_zalloc(bytes);
    if (!rows)
        goto err;
    t->chunks[t->nchunks++] = rows;
    uint32_t base = t->rows;
    t->rows += CHUNK_ROWS;
    for (uint32_t i = CHUNK_ROWS; i-- > 0;) { /* lowest index on top of the list */
        rows[i].last_ns = t->free_head;
        t->free_head = base + i + 1;
    }
    t->st.bytes += bytes;
    return 0;
err:
    trk_mem_give(t->mem, bytes);
    return -ENOSPC;
}

static int s_alloc_row(struct trk_table *t, uint32_t *idx)
{
    if (!t->free_head && s_add_chunk(t) != 0)
        return -ENOSPC;
    *idx = t->free_head - 1;
    t->free_head = (uint32_t)s_row(t, *idx)->last_ns;
    /* The next creation pops that row and must read its link: start the
     * (likely DRAM) load now, sessions apart, instead of stalling then. */
    if (t->free_head)
        __builtin_prefetch(s_row(t, t->free_head - 1), 1);
    return 0;
}

static void s_wide_push(struct trk_table *t, uint32_t w)
{
    uint32_t link = t->wfree;
    memcpy(s_wide(t, w)->a, &link, sizeof(link));
    t->wfree = w + 1;
}

/* A side-store entry for the addresses of a wide session. */
static int s_alloc_wide(struct trk_table *t, const uint8_t *a, const uint8_t *b, uint32_t *w)
{
    if (!t->wfree) {
        size_t bytes = (size_t)WCHUNK_ROWS * sizeof(struct wide);
        if (!trk_mem_take(t->mem, bytes))
            return -ENOSPC;
        if (t->nwchunks == t->wchunks_cap) {
            size_t cap = t->wchunks_cap ? t->wchunks_cap * 2 : 16;
            struct wide **c = realloc(t->wchunks, cap * sizeof(*c));
            if (!c) {
                trk_mem_give(t->mem, bytes);
                return -ENOSPC;
            }
            t->wchunks = c;
            t->wchunks_cap = cap;
        }
        struct wide *c = calloc(WCHUNK_ROWS, sizeof(*c));
        if (!c) {
            trk_mem_give(t->mem, bytes);
            return -ENOSPC;
        }
        uint32_t base = (uint32_t)(t->nwchunks * WCHUNK_ROWS);
        t->wchunks[t->nwchunks++] = c;
        for (uint32_t i = WCHUNK_ROWS; i-- > 0;)
            s_wide_push(t, base + i);
        t->st.bytes += bytes;
    }
    *w = t->wfree - 1;
    struct wide *e = s_wide(t, *w);
    uint32_t link;
    memcpy(&link, e->a, sizeof(link));
    t->wfree = link;
    memcpy(e->a, a, 16);
    memcpy(e->b, b, 16);
    return 0;
}

/* Entry tag: the top 8 hash bits, 0 (free) folded onto 1. */
static inline uint8_t s_tag(uint64_t hash)
{
    uint8_t tag = (uint8_t)(hash >> 56);
    return (uint8_t)(tag | (tag == 0));
}

/* Hash bits 50..55 kept in an entry's top bits: with the tag, a wrong
 * candidate survives 1 in ~16000, so rows of other keys are rarely read. */
static inline uint32_t s_check(uint64_t hash)
{
    return (uint32_t)(hash >> 24) & ~IDX_MASK;
}

/* Bit j set when entry j of `b` has tag `tag` (0: free entries). */
static inline unsigned s_bkt_match(const struct bucket *b, uint8_t tag)
{
#ifdef __SSE2__
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)b->tag);
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)tag)));
    return m & ((1u << BKT_ENTRIES) - 1); /* the 4 bytes of ovf are not tags */
#else
    unsigned m = 0;
    for (unsigned j = 0; j < BKT_ENTRIES; j++)
        m |= (unsigned)(b->tag[j] == tag) << j;
    return m;
#endif
}

/* Index row `idx` under `hash`: first free entry from its home bucket on,
 * counting the overflow in every full bucket passed. The fill limit
 * (BKT_FILL of BKT_ENTRIES) guarantees a free entry exists. */
static void s_index_add(struct trk_table *t, uint64_t hash, uint32_t idx)
{
    size_t b = (size_t)hash & t->bmask;
    for (;;) {
        struct bucket *bk = &t->bkts[b];
        unsigned m = s_bkt_match(bk, 0);
        if (m) {
            unsigned j = (unsigned)__builtin_ctz(m);
            bk->tag[j] = s_tag(hash);
            bk->ent[j] = s_check(hash) | (idx + 1);
            return;
        }
        bk->ovf++;
        b = (b + 1) & t->bmask;
    }
}

/* Unindex row `idx` stored under `hash`, undoing the overflow counts its
 * insertion left on the way. */
static void s_index_del(struct trk_table *t, uint64_t hash, uint32_t idx)
{
    uint8_t tag = s_tag(hash);
    uint32_t want = s_check(hash) | (idx + 1);
    size_t home = (size_t)hash & t->bmask, b = home;
    for (;;) {
        struct bucket *bk = &t->bkts[b];
        for (unsigned m = s_bkt_match(bk, tag); m; m &= m - 1) {
            unsigned j = (unsigned)__builtin_ctz(m);
            if (bk->ent[j] != want)
                continue;
            bk->tag[j] = 0;
            bk->ent[j] = 0;
            for (size_t i = home; i != b; i = (i + 1) & t->bmask)
                t->bkts[i].ovf--;
            return;
        }
        if (CMN_NEVER(bk->ovf == 0))
            return; /* not indexed: nothing to undo */
        b = (b + 1) & t->bmask;
    }
}

/* Zeroed index of `n` buckets charged to the memcap, or NULL. */
static struct bucket *s_index_alloc(struct trk_table *t, size_t n)
{
    if (!trk_mem_take(t->mem, n * sizeof(struct bucket)))
        return NULL;
    struct bucket *b = s_zalloc(n * sizeof(struct bucket));
    if (!b)
        trk_mem_give(t->mem, n * sizeof(struct bucket));
    return b;
}

static int s_grow_index(struct trk_table *t)
{
    size_t old = t->bmask + 1, n = old * 2;
    struct bucket *b = s_index_alloc(t, n);
    if (!b)
        return -ENOSPC;
    free(t->bkts);
    trk_mem_give(t->mem, old * sizeof(struct bucket));
    t->bkts = b;
    t->bmask = n - 1;
    t->st.bytes += (n - old) * sizeof(struct bucket);
    for (uint32_t i = 0; i < t->rows; i++) {
        struct sess *e = s_row(t, i);
        if (e->state & SS_LIVE)
            s_index_add(t, s_row_hash(t, e), i);
    }
    return 0;
}

/* Find the probe's key: returns row + 1, or 0 when absent. */
static inline uint32_t s_find(const struct trk_table *t, const struct probe *p, uint64_t hash)
{
    uint8_t tag = s_tag(hash);
    uint32_t check = s_check(hash);
    size_t b = (size_t)hash & t->bmask;
    for (;;) {
        const struct bucket *bk = &t->bkts[b];
        for (unsigned m = s_bkt_match(bk, tag); m; m &= m - 1) {
            uint32_t e = bk->ent[__builtin_ctz(m)];
            if ((e & ~IDX_MASK) == check && s_match(t, s_row(t, (e & IDX_MASK) - 1), p))
                return e & IDX_MASK;
        }
        if (__builtin_expect(bk->ovf == 0, 1))
            return 0;
        b = (b + 1) & t->bmask;
    }
}

struct trk_table *trk_table_new(const struct trk_table_config *cfg)
{
    assert(cfg && cfg->mem);
    struct trk_table *t = calloc(1, sizeof(*t));
    if (!t) {
        CMN_LOG(ERR, "out of memory for the session table");
        return NULL;
    }
    t->seed = cfg->seed;
    t->timeout = cfg->session_timeout_ns;
    t->idle_max = t->timeout ? t->timeout : UINT64_MAX;
    t->mem = cfg->mem;
    size_t spare = cfg->spare_sessions ? cfg->spare_sessions : CHUNK_ROWS;
    do {
        if (s_add_chunk(t) != 0) {
            CMN_LOG(ERR, "session spare pool of %zu rows does not fit in the memcap", spare);
            goto err;
        }
    } while (t->rows < spare);
    size_t nb = MIN_BUCKETS;
    while (nb * BKT_FILL < spare)
        nb *= 2;
    t->bkts = s_index_alloc(t, nb);
    if (!t->bkts) {
        CMN_LOG(ERR, "session index of %zu buckets: over the memcap or out of memory", nb);
        goto err;
    }
    t->bmask = nb - 1;
    t->st.bytes += nb * sizeof(struct bucket);
    t->spill_idx = trk_hset_new(sizeof(uint32_t), t->mem);
    if (!t->spill_idx) {
        CMN_LOG(ERR, "cannot allocate the spill index");
        goto err;
    }
    return t;
err:
    trk_table_destroy(&t);
    return NULL;
}

void trk_table_destroy(struct trk_table **tp)
{
    if (!tp || !*tp)
        return;
    struct trk_table *t = *tp;
    trk_hset_destroy(&t->spill_idx);
    if (t->spill) {
        free(t->spill);
        trk_mem_give(t->mem, t->spill_cap * sizeof(struct spill));
    }
    if (t->bkts) {
        free(t->bkts);
        trk_mem_give(t->mem, (t->bmask + 1) * sizeof(struct bucket));
    }
    for (size_t i = 0; i < t->nchunks; i++) {
        free(t->chunks[i]);
        trk_mem_give(t->mem, (size_t)CHUNK_ROWS * sizeof(struct sess));
    }
    for (size_t i = 0; i < t->nwchunks; i++) {
        free(t->wchunks[i]);
        trk_mem_give(t->mem, (size_t)WCHUNK_ROWS * sizeof(struct wide));
    }
    free(t->wchunks);
    free(t->chunks);
    free(t);
    *tp = NULL;
}

uint64_t trk_table_hash(const struct trk_table *t, const struct trk_key *k)
{
    struct probe p;
    s_probe_of_key(&p, k);
    return s_probe_hash(&p, t->seed);
}

/* Move a row's narrow counters into its spill record (created on first use). */
static int s_spill(struct trk_table *t, struct sess *e, uint32_t idx)
{
    if (t->nspill == t->spill_cap) { /* room first, so the index never points past the array */
        size_t cap = t->spill_cap ? t->spill_cap * 2 : 64;
        size_t add = (cap - t->spill_cap) * sizeof(struct spill);
        if (!trk_mem_take(t->mem, add))
            return -ENOSPC;
        struct spill *p = realloc(t->spill, cap * sizeof(*p));
        if (!p) {
            trk_mem_give(t->mem, add);
            return -ENOSPC;
        }
        t->st.bytes += add;
        t->spill = p;
        t->spill_cap = cap;
    }
    uint32_t si = (uint32_t)t->nspill;
    int rc = trk_hset_insert(t->spill_idx, &idx, cmn_hash_mix(idx, t->seed | 1), &si);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        memset(&t->spill[si], 0, sizeof(t->spill[si]));
        t->nspill++;
    } else if (CMN_NEVER(si >= t->nspill)) {
        return -ENOSPC;
    }
    struct spill *p = &t->spill[si];
    for (int d = 0; d < 2; d++) {
        p->pkts[d] += e->pkts[d];
        p->bytes[d] += e->bytes[d];
        p->syn[d] += e->syn[d];
        p->synack[d] += e->synack[d];
        p->ack[d] += e->ack[d];
        p->fin[d] += e->fin[d];
        p->rst[d] += e->rst[d];
        e->pkts[d] = e->syn[d] = e->synack[d] = e->ack[d] = e->fin[d] = e->rst[d] = 0;
        e->bytes[d] = 0;
    }
    e->state |= SS_SPILL;
    t->st.spills++;
    return 0;
}

/* A new session (or incarnation) opens with record `r` going in `dir`.
 * TCP: a pure SYN names its sender, a SYN+ACK its receiver; anything else is
 * mid-stream (first seen sender noted, no opening counted). */
static void s_begin(struct sess *e, int dir, const struct cmn_record *r)
{
    int init = dir;
    bool mid = false;
    bool frag = (e->flags & CMN_SESS_FRAGS) != 0;
    if (e->proto == 6 && !frag) {
        uint8_t sa = r->tcp_flags & (CMN_TCP_SYN | CMN_TCP_ACK);
        if (sa == (CMN_TCP_SYN | CMN_TCP_ACK))
            init = !dir;
        else if (sa != CMN_TCP_SYN)
            mid = true;
    }
    e->flags = (uint8_t)((frag ? CMN_SESS_FRAGS : 0) |
                         (init == CMN_DIR_AB ? CMN_SESS_A_INIT : CMN_SESS_B_INIT) |
                         (mid ? CMN_SESS_MIDSTREAM : 0));
    e->state |= SS_NEW;
    if (!mid) {
        unsigned shift = init == CMN_DIR_AB ? 0 : 4;
        if (((e->starts >> shift) & 0xf) != 0xf)
            e->starts = (uint8_t)(e->starts + (1u << shift));
    }
}

/* A new row for the probe's key (s_find found none). */
static int s_create(struct trk_table *t, const struct probe *p, uint64_t hash,
                    const struct cmn_record *r, uint32_t *idx_out)
{
    if (t->st.live + 1 > (uint64_t)(t->bmask + 1) * BKT_FILL && s_grow_index(t) != 0)
        return -ENOSPC;
    uint32_t idx, w = 0;
    if (p->a && s_alloc_wide(t, p->a, p->b, &w) != 0)
        return -ENOSPC;
    if (s_alloc_row(t, &idx) != 0) {
        if (p->a)
            s_wide_push(t, w);
        return -ENOSPC;
    }
    struct sess *e = s_row(t, idx);
    memset(e, 0, sizeof(*e));
    memcpy(&e->a_port, &p->w1, 5); /* ports and protocol */
    if (p->a) {
        e->a4 = w;
        e->state = SS_LIVE | SS_WIDE;
    } else {
        memcpy(e, &p->w0, 8);
        e->state = SS_LIVE;
    }
    if (trk_key_is_frag_row(r))
        e->flags = CMN_SESS_FRAGS;
    e->last_ns = r->ts_ns;
    s_index_add(t, hash, idx);
    t->st.created++;
    t->st.live++;
    *idx_out = idx;
    return 0;
}

/* Account record `r` (direction `dir`, time `ts`) to row `e`. Runs once per
 * record: the common case is straight-line; what is rare (a new incarnation,
 * a counter about to wrap) branches out, and the first touch of the epoch,
 * which is not rare (most rows are touched a few times per epoch), is
 * branch-free. Returns 0, or -ENOSPC when the spill record could not be
 * allocated (the record is then not accounted). */
static inline int s_account(struct trk_table *t, struct sess *e, uint32_t idx, int dir,
                            const struct cmn_record *r)
{
    uint64_t ts = r->ts_ns;
    if (__builtin_expect(ts > e->last_ns && ts - e->last_ns > t->idle_max, 0)) {
        s_begin(e, dir, r); /* idle too long: the 5-tuple was reused */
        t->st.restarted++;
    }
    if (__builtin_expect(e->pkts[dir] == UINT16_MAX || e->bytes[dir] > UINT32_MAX - r->ip_len, 0))
        if (s_spill(t, e, idx) != 0)
            return -ENOSPC;
    uint8_t state = e->state;
    bool fresh = !(state & SS_DIRTY);
    e->state = state | SS_DIRTY;
    t->st.dirty += fresh;
    uint64_t first = fresh ? ts : e->first_ns;
    e->first_ns = ts < first ? ts : first;
    e->last_ns = ts > e->last_ns ? ts : e->last_ns;
    e->pkts[dir]++;
    e->bytes[dir] += r->ip_len;
    /* TCP flags count only on TCP rows (other records carry 0 anyway) */
    unsigned f = r->tcp_flags & (e->proto == 6 ? 0xffu : 0u);
    e->syn[dir] += (f & CMN_TCP_SYN) != 0;
    e->synack[dir] += (f & (CMN_TCP_SYN | CMN_TCP_ACK)) == (CMN_TCP_SYN | CMN_TCP_ACK);
    e->ack[dir] += (f & CMN_TCP_ACK) != 0;
    e->fin[dir] += (f & CMN_TCP_FIN) != 0;
    e->rst[dir] += (f & CMN_TCP_RST) != 0;
    return 0;
}

/* Account record `r` to the row of the probe's key, creating it if absent.
 * Out of line: the burst calls it only when its index hint failed (a new
 * session, or one created earlier in the same burst). */
static __attribute__((noinline)) int s_update(struct trk_table *t, const struct probe *p,
                                              uint64_t hash, int dir, const struct cmn_record *r)
{
    uint32_t idx, found = s_find(t, p, hash);
    if (found) {
        idx = found - 1;
    } else {
        if (s_create(t, p, hash, r, &idx) != 0)
            goto drop;
        s_begin(s_row(t, idx), dir, r);
    }
    if (s_account(t, s_row(t, idx), idx, dir, r) != 0)
        goto drop;
    return 0;
drop:
    t->st.drop_memcap++;
    return -ENOSPC;
}

int trk_table_update_with_hash(struct trk_table *t, const struct trk_key *k, uint64_t hash, int dir,
                               const struct cmn_record *r)
{
    struct probe p;
    s_probe_of_key(&p, k);
    t->st.records++;
    if (r->ts_ns > t->now)
        t->now = r->ts_ns;
    return s_update(t, &p, hash, dir, r);
}

/* Burst pipeline, one turn: group g is keyed, hashed and its buckets
 * prefetched; group g-1 reads its buckets, prefetches the rows whose tags
 * match and keeps the first as a hint; group g-2 is applied. So the 2 groups
 * (TRK_BURST_MAX records) after the one being applied have lines in flight,
 * and each line has a whole turn of other work to arrive in. Measured: a
 * random DRAM access costs ~240 ns on the benchmark VM; prefetching per
 * record only 8 ahead, or in groups of 8, left the loop stalled, groups of 24
 * or 32 gained nothing. The hint saves the second bucket scan: rows are not
 * freed during a burst and keep their index across index growth, so a hinted
 * row holding the key is the key's row; otherwise (no hint, or a tag false
 * positive) s_update looks up again, which also finds rows created by the
 * records in between. */
#define PIPE_GROUP (TRK_BURST_MAX / 2)

struct pipe_group {
    struct probe key[PIPE_GROUP];    /* canonical keys in table form */
    uint64_t hash[PIPE_GROUP];       /* their hashes */
    uint32_t hint[PIPE_GROUP];       /* row + 1 whose tag matched at prefetch time, 0 = none */
    uint8_t dir[PIPE_GROUP];         /* record directions */
    struct trk_key wkey[PIPE_GROUP]; /* full keys of wide records (key[i].a/b point here) */
    const struct cmn_record *rec;    /* first record of the group */
    size_t n;                        /* records in the group (0 = empty stage) */
};

/* The stages copy the table fields they use into locals: stores of bytes
 * (directions, row state) may alias anything, and would otherwise make the
 * compiler reload them after every such store. */
static inline void s_stage_hash(const struct trk_table *t, struct pipe_group *g,
                                const struct cmn_record *rec, size_t n)
{
    const struct bucket *bkts = t->bkts;
    size_t bmask = t->bmask;
    uint64_t seed = t->seed;
    g->rec = rec;
    g->n = n;
    for (size_t i = 0; i < n; i++) {
        int dir = s_probe_of_record(&g->key[i], &g->wkey[i], &rec[i]);
        uint64_t hash = s_probe_hash(&g->key[i], seed);
        __builtin_prefetch(&bkts[hash & bmask]);
        g->hash[i] = hash;
        g->dir[i] = (uint8_t)dir;
    }
}

static inline void s_stage_rows(const struct trk_table *t, struct pipe_group *g)
{
    const struct bucket *bkts = t->bkts;
    struct sess *const *chunks = t->chunks;
    size_t bmask = t->bmask, n = g->n;
    for (size_t i = 0; i < n; i++) {
        uint64_t hash = g->hash[i];
        const struct bucket *bk = &bkts[hash & bmask];
        uint32_t check = s_check(hash), hint = 0;
        for (unsigned m = s_bkt_match(bk, s_tag(hash)); m; m &= m - 1) {
            uint32_t e = bk->ent[__builtin_ctz(m)];
            if ((e & ~IDX_MASK) == check) {
                uint32_t idx = (e & IDX_MASK) - 1;
                __builtin_prefetch(&chunks[idx >> CHUNK_SHIFT][idx & (CHUNK_ROWS - 1)], 1);
                hint = hint ? hint : e & IDX_MASK;
            }
        }
        g->hint[i] = hint;
    }
}

static inline size_t s_stage_apply(struct trk_table *t, const struct pipe_group *g)
{
    size_t ok = 0, n = g->n;
    const struct cmn_record *rec = g->rec;
    struct sess *const *chunks = t->chunks; /* reloaded after s_update, which may add chunks */
    for (size_t i = 0; i < n; i++) {
        const struct cmn_record *r = &rec[i];
        uint32_t hint = g->hint[i];
        if (__builtin_expect(hint != 0, 1)) {
            uint32_t idx = hint - 1;
            struct sess *e = &chunks[idx >> CHUNK_SHIFT][idx & (CHUNK_ROWS - 1)];
            if (__builtin_expect(s_match(t, e, &g->key[i]), 1)) {
                if (__builtin_expect(s_account(t, e, idx, g->dir[i], r) == 0, 1)) {
                    ok++;
                } else {
                    t->st.drop_memcap++;
                }
                continue;
            }
        }
        ok += s_update(t, &g->key[i], g->hash[i], g->dir[i], r) == 0;
        chunks = t->chunks;
    }
    return ok;
}

size_t trk_table_update_burst(struct trk_table *t, const struct cmn_record *recs, size_t n)
{
    /* t->now is only read outside the burst (expiry): one update suffices */
    uint64_t now = t->now;
    for (size_t i = 0; i < n; i++)
        now = recs[i].ts_ns > now ? recs[i].ts_ns : now;
    t->now = now;
    t->st.records += n;
    struct pipe_group g[3];
    g[0].n = g[1].n = g[2].n = 0;
    size_t ok = 0, off = 0;
    for (unsigned turn = 0;; turn++) {
        struct pipe_group *in = &g[turn % 3], *mid = &g[(turn + 2) % 3], *out = &g[(turn + 1) % 3];
        s_stage_rows(t, mid); /* group of turn-1 */
        size_t m = n - off < PIPE_GROUP ? n - off : PIPE_GROUP;
        s_stage_hash(t, in, recs + off, m);
        off += m;
        ok += s_stage_apply(t, out); /* group of turn-2 */
        out->n = 0;
        if (m == 0 && mid->n == 0)
            break;
    }
    return ok;
}

static void s_view(const struct trk_table *t, const struct sess *e, uint32_t idx,
                   struct trk_sess_view *v)
{
    memset(v, 0, sizeof(*v));
    struct cmn_session_rec *r = &v->rec;
    struct trk_key k;
    s_row_key(t, e, &k);
    memcpy(r->a_ip, k.a, 16);
    memcpy(r->b_ip, k.b, 16);
    r->a_port = e->a_port;
    r->b_port = e->b_port;
    r->proto = e->proto;
    r->flags = e->flags;
    for (int d = 0; d < 2; d++) {
        r->pkts[d] = e->pkts[d];
        r->bytes[d] = e->bytes[d];
        r->syn[d] = e->syn[d];
        r->synack[d] = e->synack[d];
        r->ack[d] = e->ack[d];
        r->fin[d] = e->fin[d];
        r->rst[d] = e->rst[d];
    }
    uint32_t si;
    if ((e->state & SS_SPILL) &&
        trk_hset_find(t->spill_idx, &idx, cmn_hash_mix(idx, t->seed | 1), &si) == 0 &&
        si < t->nspill) {
        const struct spill *p = &t->spill[si];
        for (int d = 0; d < 2; d++) {
            r->pkts[d] += p->pkts[d];
            r->bytes[d] += p->bytes[d];
            r->syn[d] += p->syn[d];
            r->synack[d] += p->synack[d];
            r->ack[d] += p->ack[d];
            r->fin[d] += p->fin[d];
            r->rst[d] += p->rst[d];
        }
    }
    r->first_ns = e->first_ns;
    r->last_ns = e->last_ns;
    v->starts[0] = e->starts & 0xf;
    v->starts[1] = e->starts >> 4;
    v->created = (e->state & SS_NEW) != 0;
}

int trk_table_refuse(struct trk_table *t, const struct trk_key *k, uint64_t hash, int dir,
                     uint64_t ts_ns)
{
    struct probe p;
    s_probe_of_key(&p, k);
    uint32_t found = s_find(t, &p, hash);
    if (!found)
        return -ENOENT;
    struct sess *e = s_row(t, found - 1);
    if ((e->proto != 17 && e->proto != 132) || !(e->state & SS_LIVE) ||
        (ts_ns > e->last_ns && ts_ns - e->last_ns > t->idle_max))
        return -ENOENT;
    if (!(e->state & SS_DIRTY)) {
        e->state |= SS_DIRTY;
        t->st.dirty++;
        e->first_ns = e->last_ns; /* a delta without packets spans the last one */
    }
    if (e->rst[dir] < UINT16_MAX)
        e->rst[dir]++;
    return 0;
}

bool trk_table_lookup_with_hash(const struct trk_table *t, const struct trk_key *k, uint64_t hash,
                                struct trk_sess_view *out)
{
    struct probe p;
    s_probe_of_key(&p, k);
    uint32_t found = s_find(t, &p, hash);
    if (!found)
        return false;
    s_view(t, s_row(t, found - 1), found - 1, out);
    return true;
}

size_t trk_table_visit_dirty(const struct trk_table *t, trk_table_visit_fn fn, void *ctx)
{
    struct trk_sess_view v;
    size_t n = 0;
    for (uint32_t i = 0; i < t->rows && n < t->st.dirty; i++) {
        const struct sess *e = s_row(t, i);
        if ((e->state & (SS_LIVE | SS_DIRTY)) != (SS_LIVE | SS_DIRTY))
            continue;
        s_view(t, e, i, &v);
        fn(ctx, &v);
        n++;
    }
    return n;
}

size_t trk_table_flush(struct trk_table *t, trk_table_visit_fn fn, void *ctx)
{
    struct trk_sess_view v;
    size_t n = 0;
    for (uint32_t i = 0; i < t->rows && n < t->st.dirty; i++) {
        struct sess *e = s_row(t, i);
        if ((e->state & (SS_LIVE | SS_DIRTY)) != (SS_LIVE | SS_DIRTY))
            continue;
        if (fn) {
            s_view(t, e, i, &v);
            fn(ctx, &v);
        }
        memset(e->bytes, 0, sizeof(*e) - offsetof(struct sess, bytes));
        e->first_ns = 0;
        e->state &= SS_LIVE | SS_WIDE;
        e->starts = 0;
        n++;
    }
    (void)CMN_NEVER(n != t->st.dirty);
    t->st.dirty = 0;
    trk_hset_clear(t->spill_idx);
    t->nspill = 0;
    return n;
}

/* Unlink row `idx` from the index and free it. */
static void s_remove(struct trk_table *t, uint32_t idx)
{
    struct sess *e = s_row(t, idx);
    s_index_del(t, s_row_hash(t, e), idx);
    if (e->state & SS_WIDE)
        s_wide_push(t, e->a4);
    memset(e, 0, sizeof(*e));
    e->last_ns = t->free_head;
    t->free_head = idx + 1;
    t->st.live--;
    t->st.freed++;
}

size_t trk_table_expire(struct trk_table *t, size_t max_visits)
{
    if (!t->timeout || t->rows == 0)
        return 0;
    size_t freed = 0;
    for (size_t v = 0; v < max_visits && t->st.live > 0; v++) {
        uint32_t idx = t->expire_cursor;
        t->expire_cursor = idx + 1 < t->rows ? idx + 1 : 0;
        struct sess *e = s_row(t, idx);
        if ((e->state & (SS_LIVE | SS_DIRTY)) != SS_LIVE)
            continue;
        if (t->now > e->last_ns && t->now - e->last_ns > t->timeout) {
            s_remove(t, idx);
            freed++;
        }
    }
    return freed;
}

void trk_table_reset(struct trk_table *t)
{
    memset(t->bkts, 0, (t->bmask + 1) * sizeof(struct bucket));
    t->free_head = 0;
    for (uint32_t i = t->rows; i-- > 0;) {
        struct sess *e = s_row(t, i);
        memset(e, 0, sizeof(*e));
        e->last_ns = t->free_head;
        t->free_head = i + 1;
    }
    t->wfree = 0;
    for (size_t w = t->nwchunks * WCHUNK_ROWS; w-- > 0;)
        s_wide_push(t, (uint32_t)w);
    trk_hset_clear(t->spill_idx);
    t->nspill = 0;
    t->now = 0;
    t->expire_cursor = 0;
    uint64_t bytes = t->st.bytes;
    memset(&t->st, 0, sizeof(t->st));
    t->st.bytes = bytes;
}

uint64_t trk_table_now(const struct trk_table *t)
{
    return t->now;
}

void trk_table_get_stats(const struct trk_table *t, struct trk_table_stats *out)
{
    *out = t->st;
}

void trk_table_save(const struct trk_table *t, struct cmn_ckpt *c)
{
    (void)CMN_NEVER(t->st.dirty != 0 || t->nspill != 0); /* only right after a flush */
    cmn_ckpt_put(c, &t->st, sizeof(t->st));
    cmn_ckpt_put_u64(c, t->now);
    for (uint32_t i = 0; i < t->rows; i++) {
        const struct sess *e = s_row(t, i);
        if (!(e->state & SS_LIVE))
            continue;
        cmn_ckpt_put(c, e, sizeof(*e));
        if (e->state & SS_WIDE)
            cmn_ckpt_put(c, s_wide(t, e->a4), sizeof(struct wide));
    }
}

/* Does `moves` take row e (either end)? */
static bool s_row_moves(const struct trk_table *t, const struct sess *e, trk_ip_fn moves, void *arg)
{
    struct trk_key k;
    s_row_key(t, e, &k);
    return moves(arg, k.a) || moves(arg, k.b);
}

/* Row idx's spill record (SS_SPILL), or NULL. */
static struct spill *s_spill_of(const struct trk_table *t, uint32_t idx)
{
    uint32_t si;
    if (trk_hset_find(t->spill_idx, &idx, cmn_hash_mix(idx, t->seed | 1), &si) != 0 ||
        si >= t->nspill)
        return NULL;
    return &t->spill[si];
}

void trk_table_export(const struct trk_table *t, trk_ip_fn moves, void *arg, struct cmn_ckpt *c)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < t->rows; i++) {
        const struct sess *e = s_row(t, i);
        n += (e->state & SS_LIVE) && s_row_moves(t, e, moves, arg);
    }
    cmn_ckpt_put_u64(c, n);
    cmn_ckpt_put_u64(c, t->now);
    for (uint32_t i = 0; i < t->rows; i++) {
        const struct sess *e = s_row(t, i);
        if (!(e->state & SS_LIVE) || !s_row_moves(t, e, moves, arg))
            continue;
        cmn_ckpt_put(c, e, sizeof(*e));
        if (e->state & SS_WIDE)
            cmn_ckpt_put(c, s_wide(t, e->a4), sizeof(struct wide));
        if (e->state & SS_SPILL) {
            const struct spill *p = s_spill_of(t, i);
            struct spill zero = {0};
            cmn_ckpt_put(c, p ? p : &zero, sizeof(zero));
        }
    }
}

/* Read one row written by save or export and add it; with `merge` (an
 * export: rows may carry this epoch's deltas), a row held already is
 * skipped (the same records made it). 0 or the sticky error. */
static int s_read_row(struct trk_table *t, struct cmn_ckpt *c, bool merge)
{
    struct sess row;
    struct wide w;
    struct spill sp;
    uint8_t allowed = merge ? SS_LIVE | SS_WIDE | SS_DIRTY | SS_NEW | SS_SPILL : SS_LIVE | SS_WIDE;
    if (cmn_ckpt_get(c, &row, sizeof(row)))
        return c->err;
    if ((row.state & ~allowed) || !(row.state & SS_LIVE))
        return c->err = -EPROTO;
    if ((row.state & SS_WIDE) && cmn_ckpt_get(c, &w, sizeof(w)))
        return c->err;
    if ((row.state & SS_SPILL) && cmn_ckpt_get(c, &sp, sizeof(sp)))
        return c->err;
    struct probe p = {.w1 = s_ld64(&row.a_port) & W1_KEY_MASK};
    if (row.state & SS_WIDE) {
        p.a = w.a;
        p.b = w.b;
    } else {
        p.w0 = s_ld64(&row);
    }
    uint64_t hash = s_probe_hash(&p, t->seed);
    if (merge && s_find(t, &p, hash))
        return 0;
    if (t->st.live + 1 > (uint64_t)(t->bmask + 1) * BKT_FILL && s_grow_index(t) != 0)
        return c->err = -ENOSPC;
    uint32_t idx, wi = 0;
    if ((row.state & SS_WIDE) && s_alloc_wide(t, w.a, w.b, &wi) != 0)
        return c->err = -ENOSPC;
    if (s_alloc_row(t, &idx) != 0)
        return c->err = -ENOSPC;
    struct sess *e = s_row(t, idx);
    *e = row;
    if (row.state & SS_WIDE)
        e->a4 = wi;
    s_index_add(t, hash, idx);
    t->st.live++;
    if (row.state & SS_DIRTY)
        t->st.dirty++;
    if (row.state & SS_SPILL) { /* its wide counters, as s_spill keeps them */
        e->state &= (uint8_t)~SS_SPILL;
        struct sess narrow = *e;
        memset(e->bytes, 0, sizeof(e->bytes));
        memset(e->pkts, 0, sizeof(e->pkts));
        memset(e->ack, 0, sizeof(e->ack));
        memset(e->syn, 0, sizeof(e->syn));
        memset(e->synack, 0, sizeof(e->synack));
        memset(e->fin, 0, sizeof(e->fin));
        memset(e->rst, 0, sizeof(e->rst));
        if (s_spill(t, e, idx) != 0)
            return c->err = -ENOSPC;
        t->st.spills--; /* not a spill of this table's */
        struct spill *rec = s_spill_of(t, idx);
        if (!rec)
            return c->err = -ENOSPC;
        *rec = sp;
        for (int d = 0; d < 2; d++) { /* the row's narrow counters stay its own */
            e->pkts[d] = narrow.pkts[d];
            e->bytes[d] = narrow.bytes[d];
            e->ack[d] = narrow.ack[d];
            e->syn[d] = narrow.syn[d];
            e->synack[d] = narrow.synack[d];
            e->fin[d] = narrow.fin[d];
            e->rst[d] = narrow.rst[d];
        }
    }
    return 0;
}

int trk_table_import(struct trk_table *t, struct cmn_ckpt *c)
{
    uint64_t n = cmn_ckpt_get_count(c, MAX_ROWS), now = 0;
    if (cmn_ckpt_get(c, &now, sizeof(now)))
        return c->err;
    for (uint64_t k = 0; k < n; k++)
        if (s_read_row(t, c, true) != 0)
            return c->err;
    if (now > t->now)
        t->now = now;
    return 0;
}

size_t trk_table_drop(struct trk_table *t, trk_ip_fn keep, void *arg)
{
    size_t freed = 0;
    for (uint32_t i = 0; i < t->rows; i++) {
        const struct sess *e = s_row(t, i);
        if ((e->state & SS_LIVE) && !s_row_moves(t, e, keep, arg)) {
            if (e->state & SS_DIRTY)
                t->st.dirty--; /* its deltas went with it */
            struct spill *p = (e->state & SS_SPILL) ? s_spill_of(t, i) : NULL;
            if (p) /* the row's number may come back: its spill record starts at 0 */
                memset(p, 0, sizeof(*p));
            s_remove(t, i);
            t->st.freed--; /* not an expiry */
            freed++;
        }
    }
    return freed;
}

int trk_table_load(struct trk_table *t, struct cmn_ckpt *c)
{
    struct trk_table_stats st;
    if (t->st.live || cmn_ckpt_get(c, &st, sizeof(st)) || cmn_ckpt_get(c, &t->now, sizeof(t->now)))
        return c->err ? c->err : (c->err = -EPROTO);
    if (st.live > MAX_ROWS || st.dirty)
        return c->err = -EPROTO;
    for (uint64_t k = 0; k < st.live; k++)
        if (s_read_row(t, c, false) != 0)
            return c->err;
    uint64_t bytes = t->st.bytes;
    t->st = st;
    t->st.bytes = bytes;
    return 0;
}
