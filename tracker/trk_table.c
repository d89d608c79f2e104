/* SPDX-License-Identifier: MIT
 * trk_table: open addressing with linear probing over 32-bit slots (6 tag bits
 * from the top of the hash, 26 bits of row index), rows of one cache line in
 * 2 MiB chunks (transparent huge pages where the kernel allows) from a free
 * list. A row is 64 bytes: a compact key (IPv4 addresses, ports, protocol),
 * per-row state and narrow (16/32-bit) epoch counters; a counter about to wrap
 * moves the row's counters into a wide "spill" record kept until the flush,
 * so narrow rows never lose counts. A session whose addresses are not both
 * IPv4 ("wide") keeps its two 16-byte addresses in a side store of 32-byte
 * entries and the entry's index in the row. Deletion is backward-shift (no
 * tombstones); slot growth rehashes at once (amortised, it only happens on
 * session creation).
 */
#define CMN_LOG_TAG "table"
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cmn_log.h"
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
#define MAX_ROWS    (IDX_MASK - 1) /* slot holds idx + 1, 0 is empty */
#define MIN_SLOTS   1024u
#define SLOT_TAG(h) ((uint32_t)((h) >> (64 - (32 - IDX_BITS))) << IDX_BITS)
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
    uint32_t *slots;            /* tag | (row + 1), 0 = empty */
    size_t mask;                /* slots - 1 */
    uint64_t seed;              /* hash seed */
    uint64_t timeout;           /* session timeout, ns; 0 = never */
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

/* Zeroed memory; blocks of 2 MiB and more are huge-page aligned and advised. */
static void *s_zalloc(size_t bytes)
{
    if (bytes < HUGE_PAGE)
        return calloc(1, bytes);
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
    uint64_t h = trk_mix64(p->w0 ^ seed ^ 0xa0761d6478bd642full, p->w1 ^ 0xe7037ed1a0b428dbull);
    if (p->a) {
        h = trk_mix64(h ^ s_ld64(p->a) ^ 0x8ebc6af09c88c6e3ull,
                      s_ld64(p->a + 8) ^ 0x589965cc75374cc3ull);
        h = trk_mix64(h ^ s_ld64(p->b) ^ 0x1d8e4e27c47d124full,
                      s_ld64(p->b + 8) ^ 0xa0761d6478bd642full);
    }
    return trk_mix64(h ^ 0x1d8e4e27c47d124full, seed ^ 0xe7037ed1a0b428dbull);
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

static void s_place(struct trk_table *t, uint64_t hash, uint32_t idx)
{
    size_t i = (size_t)hash & t->mask;
    while (t->slots[i])
        i = (i + 1) & t->mask;
    t->slots[i] = SLOT_TAG(hash) | (idx + 1);
}

static int s_grow_slots(struct trk_table *t)
{
    size_t n = (t->mask + 1) * 2;
    if (!trk_mem_take(t->mem, n * sizeof(uint32_t)))
        return -ENOSPC;
    uint32_t *s = s_zalloc(n * sizeof(*s));
    if (!s) {
        trk_mem_give(t->mem, n * sizeof(uint32_t));
        return -ENOSPC;
    }
    size_t old = t->mask + 1;
    free(t->slots);
    trk_mem_give(t->mem, old * sizeof(uint32_t));
    t->slots = s;
    t->mask = n - 1;
    t->st.bytes += (n - old) * sizeof(uint32_t);
    for (uint32_t i = 0; i < t->rows; i++) {
        struct sess *e = s_row(t, i);
        if (e->state & SS_LIVE)
            s_place(t, s_row_hash(t, e), i);
    }
    return 0;
}

/* Find the probe's key: returns row + 1, or 0 with *empty set to the free slot ending the probe. */
static inline uint32_t s_find(const struct trk_table *t, const struct probe *p, uint64_t hash,
                              size_t *empty)
{
    uint32_t tag = SLOT_TAG(hash);
    size_t i = (size_t)hash & t->mask;
    for (;;) {
        uint32_t s = t->slots[i];
        if (!s) {
            *empty = i;
            return 0;
        }
        if ((s & ~IDX_MASK) == tag && s_match(t, s_row(t, (s & IDX_MASK) - 1), p))
            return s & IDX_MASK;
        i = (i + 1) & t->mask;
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
    t->mem = cfg->mem;
    size_t spare = cfg->spare_sessions ? cfg->spare_sessions : CHUNK_ROWS;
    do {
        if (s_add_chunk(t) != 0) {
            CMN_LOG(ERR, "session spare pool of %zu rows does not fit in the memcap", spare);
            goto err;
        }
    } while (t->rows < spare);
    size_t slots = MIN_SLOTS;
    while (slots * 3 / 4 < spare)
        slots *= 2;
    if (!trk_mem_take(t->mem, slots * sizeof(uint32_t))) {
        CMN_LOG(ERR, "session index of %zu slots does not fit in the memcap", slots);
        goto err;
    }
    t->slots = s_zalloc(slots * sizeof(uint32_t));
    if (!t->slots) {
        trk_mem_give(t->mem, slots * sizeof(uint32_t));
        CMN_LOG(ERR, "out of memory for the session index");
        goto err;
    }
    t->mask = slots - 1;
    t->st.bytes += slots * sizeof(uint32_t);
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
    if (t->slots) {
        free(t->slots);
        trk_mem_give(t->mem, (t->mask + 1) * sizeof(uint32_t));
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
    int rc = trk_hset_insert(t->spill_idx, &idx, trk_mix64(idx, t->seed | 1), &si);
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

/* A new row for the probe's key at index slot `empty` (found by s_find). */
static int s_create(struct trk_table *t, const struct probe *p, uint64_t hash, size_t empty,
                    const struct cmn_record *r, uint32_t *idx_out)
{
    if ((t->st.live + 1) * 4 > (uint64_t)(t->mask + 1) * 3) {
        if (s_grow_slots(t) != 0)
            return -ENOSPC;
        (void)s_find(t, p, hash, &empty);
    }
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
    t->slots[empty] = SLOT_TAG(hash) | (idx + 1);
    t->st.created++;
    t->st.live++;
    *idx_out = idx;
    return 0;
}

/* Account record `r` (direction `dir`) to the row of the probe's key. */
static inline int s_update(struct trk_table *t, const struct probe *p, uint64_t hash, int dir,
                           const struct cmn_record *r)
{
    t->st.records++;
    uint64_t ts = r->ts_ns;
    if (ts > t->now)
        t->now = ts;
    size_t empty = 0;
    uint32_t idx;
    struct sess *e;
    uint32_t found = s_find(t, p, hash, &empty);
    if (__builtin_expect(found != 0, 1)) {
        idx = found - 1;
        e = s_row(t, idx);
        if (t->timeout && ts > e->last_ns && ts - e->last_ns > t->timeout) {
            s_begin(e, dir, r); /* idle too long: the 5-tuple was reused */
            t->st.restarted++;
        }
    } else {
        if (s_create(t, p, hash, empty, r, &idx) != 0)
            goto drop;
        e = s_row(t, idx);
        s_begin(e, dir, r);
    }
    if (__builtin_expect(e->pkts[dir] == UINT16_MAX || e->bytes[dir] > UINT32_MAX - r->ip_len, 0))
        if (s_spill(t, e, idx) != 0)
            goto drop;
    if (!(e->state & SS_DIRTY)) {
        e->state |= SS_DIRTY;
        e->first_ns = ts;
        t->st.dirty++;
    } else if (ts < e->first_ns) {
        e->first_ns = ts;
    }
    if (ts > e->last_ns)
        e->last_ns = ts;
    e->pkts[dir]++;
    e->bytes[dir] += r->ip_len;
    if (e->proto == 6) {
        uint8_t f = r->tcp_flags;
        e->syn[dir] += (f & CMN_TCP_SYN) != 0;
        e->synack[dir] += (f & (CMN_TCP_SYN | CMN_TCP_ACK)) == (CMN_TCP_SYN | CMN_TCP_ACK);
        e->ack[dir] += (f & CMN_TCP_ACK) != 0;
        e->fin[dir] += (f & CMN_TCP_FIN) != 0;
        e->rst[dir] += (f & CMN_TCP_RST) != 0;
    }
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
    return s_update(t, &p, hash, dir, r);
}

/* Burst pipeline, one turn: group g-1 reads its slots and prefetches its
 * rows, group g is keyed, hashed and its slots prefetched, group g-2 is
 * applied. A slot load has group g-2's updates to hide behind, a row load a
 * whole turn (hashing g+1, applying g-1 comes after the next slot stage). */
#define PIPE_GROUP 16

struct pipe_group {
    struct probe key[PIPE_GROUP];    /* canonical keys in table form */
    uint64_t hash[PIPE_GROUP];       /* their hashes */
    int dir[PIPE_GROUP];             /* record directions */
    struct trk_key wkey[PIPE_GROUP]; /* full keys of wide records (key[i].a/b point here) */
    const struct cmn_record *rec;    /* first record of the group */
    size_t n;                        /* records in the group (0 = empty stage) */
};

static void s_stage_hash(const struct trk_table *t, struct pipe_group *g,
                         const struct cmn_record *rec, size_t n)
{
    g->rec = rec;
    g->n = n;
    for (size_t i = 0; i < n; i++) {
        g->dir[i] = s_probe_of_record(&g->key[i], &g->wkey[i], &rec[i]);
        g->hash[i] = s_probe_hash(&g->key[i], t->seed);
        __builtin_prefetch(&t->slots[g->hash[i] & t->mask]);
    }
}

static void s_stage_rows(const struct trk_table *t, const struct pipe_group *g)
{
    for (size_t i = 0; i < g->n; i++) {
        uint32_t s = t->slots[g->hash[i] & t->mask];
        if ((s & ~IDX_MASK) == SLOT_TAG(g->hash[i]) && s)
            __builtin_prefetch(s_row(t, (s & IDX_MASK) - 1), 1);
    }
}

static size_t s_stage_apply(struct trk_table *t, const struct pipe_group *g)
{
    size_t ok = 0;
    for (size_t i = 0; i < g->n; i++)
        ok += s_update(t, &g->key[i], g->hash[i], g->dir[i], &g->rec[i]) == 0;
    return ok;
}

size_t trk_table_update_burst(struct trk_table *t, const struct cmn_record *recs, size_t n)
{
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
        trk_hset_find(t->spill_idx, &idx, trk_mix64(idx, t->seed | 1), &si) == 0 &&
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

bool trk_table_lookup_with_hash(const struct trk_table *t, const struct trk_key *k, uint64_t hash,
                                struct trk_sess_view *out)
{
    struct probe p;
    s_probe_of_key(&p, k);
    size_t empty = 0;
    uint32_t found = s_find(t, &p, hash, &empty);
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

/* Unlink row `idx` from the index (backward-shift delete) and free it. */
static void s_remove(struct trk_table *t, uint32_t idx)
{
    struct sess *e = s_row(t, idx);
    size_t i = (size_t)s_row_hash(t, e) & t->mask;
    while ((t->slots[i] & IDX_MASK) != idx + 1) {
        if (CMN_NEVER(t->slots[i] == 0))
            return;
        i = (i + 1) & t->mask;
    }
    size_t j = i;
    for (;;) {
        j = (j + 1) & t->mask;
        uint32_t s = t->slots[j];
        if (!s)
            break;
        size_t home = (size_t)s_row_hash(t, s_row(t, (s & IDX_MASK) - 1)) & t->mask;
        bool move = i <= j ? (home <= i || home > j) : (home <= i && home > j);
        if (move) {
            t->slots[i] = s;
            i = j;
        }
    }
    t->slots[i] = 0;
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
    memset(t->slots, 0, (t->mask + 1) * sizeof(uint32_t));
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
