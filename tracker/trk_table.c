/* SPDX-License-Identifier: MIT
 * trk_table: open addressing with linear probing over 32-bit slots (6 tag bits
 * from the top of the hash, 26 bits of row index), rows in 16K-row chunks from
 * a free list. A row is 88 bytes: the key plus narrow (16/32-bit) epoch
 * counters; a counter about to wrap moves the row's counters into a wide
 * "spill" record kept until the flush, so narrow rows never lose counts.
 * Deletion is backward-shift (no tombstones); slot growth rehashes at once
 * (amortised, it only happens on session creation).
 */
#define CMN_LOG_TAG "table"
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_log.h"
#include "trk_hset.h"
#include "trk_table.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "trk_table compares keys word-wise assuming little-endian layout"
#endif

#define CHUNK_SHIFT 14
#define CHUNK_ROWS  (1u << CHUNK_SHIFT)
#define IDX_BITS    26
#define IDX_MASK    ((1u << IDX_BITS) - 1)
#define MAX_ROWS    (IDX_MASK - 1) /* slot holds idx + 1, 0 is empty */
#define MIN_SLOTS   1024u
#define SLOT_TAG(h) ((uint32_t)((h) >> (64 - (32 - IDX_BITS))) << IDX_BITS)

/* Row state bits (kept in key.pad[1]). */
#define SS_LIVE  0x01 /* row in use */
#define SS_DIRTY 0x02 /* touched since the last flush */
#define SS_NEW   0x04 /* created or restarted since the last flush */
#define SS_SPILL 0x08 /* has a wide spill record for this epoch */

/* The key's three pad bytes carry per-row data; key compares mask them. */
#define S_FLAGS(e)  ((e)->key.pad[0]) /* CMN_SESS_* of the current incarnation */
#define S_STATE(e)  ((e)->key.pad[1]) /* SS_* */
#define S_STARTS(e) ((e)->key.pad[2]) /* openings since flush: A low nibble, B high */

/* One session row, 88 bytes. */
struct sess {
    struct trk_key key; /* canonical key; pad bytes hold flags/state/starts */
    uint64_t last_ns;   /* newest packet ever (expiry, restart); free list link when free */
    uint64_t first_ns;  /* first packet since the last flush */
    uint32_t bytes[2];  /* IP bytes per direction since flush (spills before wrapping) */
    uint16_t pkts[2];   /* packets per direction since flush (spills before wrapping) */
    uint16_t syn[2];    /* SYN (incl. SYN+ACK) per direction; <= pkts */
    uint16_t synack[2]; /* SYN+ACK per direction */
    uint16_t ack[2];    /* ACK per direction */
    uint16_t fin[2];    /* FIN per direction */
    uint16_t rst[2];    /* RST per direction */
};
_Static_assert(sizeof(struct sess) == 88, "session row size");

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
    struct trk_hset *spill_idx; /* row -> index in `spill` */
    struct spill *spill;        /* spill records of this epoch */
    size_t nspill;              /* spill records used */
    size_t spill_cap;           /* spill records allocated */
    struct trk_mem *mem;        /* memcap accountant (borrowed) */
    struct trk_table_stats st;  /* counters; bytes kept current */
};

static inline struct sess *s_row(const struct trk_table *t, uint32_t idx)
{
    return &t->chunks[idx >> CHUNK_SHIFT][idx & (CHUNK_ROWS - 1)];
}

/* Compare a row's key with a probe key, ignoring the pad bytes. */
static inline bool s_key_eq(const struct trk_key *row, const struct trk_key *k)
{
    uint64_t a[5], b[5];
    memcpy(a, row, sizeof(a));
    memcpy(b, k, sizeof(b));
    return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) |
            ((a[4] ^ b[4]) & 0x000000ffffffffffull)) == 0;
}

static uint64_t s_row_hash(const struct trk_table *t, const struct sess *e)
{
    struct trk_key k = e->key;
    k.pad[0] = k.pad[1] = k.pad[2] = 0;
    return trk_key_hash(&k, t->seed);
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
    struct sess *rows = calloc(CHUNK_ROWS, sizeof(*rows));
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
    uint32_t *s = calloc(n, sizeof(*s));
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
        if (S_STATE(e) & SS_LIVE)
            s_place(t, s_row_hash(t, e), i);
    }
    return 0;
}

/* Find `k`: returns row + 1, or 0 with *empty set to the free slot ending the probe. */
static inline uint32_t s_find(const struct trk_table *t, const struct trk_key *k, uint64_t hash,
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
        if ((s & ~IDX_MASK) == tag && s_key_eq(&s_row(t, (s & IDX_MASK) - 1)->key, k))
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
    t->slots = calloc(slots, sizeof(uint32_t));
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
    free(t->chunks);
    free(t);
    *tp = NULL;
}

uint64_t trk_table_hash(const struct trk_table *t, const struct trk_key *k)
{
    return trk_key_hash(k, t->seed);
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
    S_STATE(e) |= SS_SPILL;
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
    bool frag = (S_FLAGS(e) & CMN_SESS_FRAGS) != 0;
    if (e->key.proto == 6 && !frag) {
        uint8_t sa = r->tcp_flags & (CMN_TCP_SYN | CMN_TCP_ACK);
        if (sa == (CMN_TCP_SYN | CMN_TCP_ACK))
            init = !dir;
        else if (sa != CMN_TCP_SYN)
            mid = true;
    }
    S_FLAGS(e) = (uint8_t)((frag ? CMN_SESS_FRAGS : 0) |
                           (init == CMN_DIR_AB ? CMN_SESS_A_INIT : CMN_SESS_B_INIT) |
                           (mid ? CMN_SESS_MIDSTREAM : 0));
    S_STATE(e) |= SS_NEW;
    if (!mid) {
        unsigned shift = init == CMN_DIR_AB ? 0 : 4;
        if (((S_STARTS(e) >> shift) & 0xf) != 0xf)
            S_STARTS(e) = (uint8_t)(S_STARTS(e) + (1u << shift));
    }
}

int trk_table_update_with_hash(struct trk_table *t, const struct trk_key *k, uint64_t hash, int dir,
                               const struct cmn_record *r)
{
    t->st.records++;
    uint64_t ts = r->ts_ns;
    if (ts > t->now)
        t->now = ts;
    size_t empty = 0;
    uint32_t idx;
    struct sess *e;
    uint32_t found = s_find(t, k, hash, &empty);
    if (found) {
        idx = found - 1;
        e = s_row(t, idx);
        if (t->timeout && ts > e->last_ns && ts - e->last_ns > t->timeout) {
            s_begin(e, dir, r); /* idle too long: the 5-tuple was reused */
            t->st.restarted++;
        }
    } else {
        if ((t->st.live + 1) * 4 > (uint64_t)(t->mask + 1) * 3) {
            if (s_grow_slots(t) != 0)
                goto drop;
            (void)s_find(t, k, hash, &empty);
        }
        if (s_alloc_row(t, &idx) != 0)
            goto drop;
        e = s_row(t, idx);
        memset(e, 0, sizeof(*e));
        e->key = *k;
        S_STATE(e) = SS_LIVE;
        if (trk_key_is_frag_row(r))
            S_FLAGS(e) = CMN_SESS_FRAGS;
        e->last_ns = ts;
        t->slots[empty] = SLOT_TAG(hash) | (idx + 1);
        s_begin(e, dir, r);
        t->st.created++;
        t->st.live++;
    }
    if (__builtin_expect(e->pkts[dir] == UINT16_MAX || e->bytes[dir] > UINT32_MAX - r->ip_len, 0))
        if (s_spill(t, e, idx) != 0)
            goto drop;
    if (!(S_STATE(e) & SS_DIRTY)) {
        S_STATE(e) |= SS_DIRTY;
        e->first_ns = ts;
        t->st.dirty++;
    } else if (ts < e->first_ns) {
        e->first_ns = ts;
    }
    if (ts > e->last_ns)
        e->last_ns = ts;
    e->pkts[dir]++;
    e->bytes[dir] += r->ip_len;
    if (e->key.proto == 6) {
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

/* Burst pipeline: group g is keyed, hashed and its slots prefetched while
 * group g-1 has its rows prefetched and group g-2 is applied, so each memory
 * access has a group's worth of work to hide behind. */
#define PIPE_GROUP 16

struct pipe_group {
    struct trk_key key[PIPE_GROUP]; /* canonical keys */
    uint64_t hash[PIPE_GROUP];      /* their hashes */
    int dir[PIPE_GROUP];            /* record directions */
    const struct cmn_record *rec;   /* first record of the group */
    size_t n;                       /* records in the group (0 = empty stage) */
};

static void s_stage_hash(const struct trk_table *t, struct pipe_group *g,
                         const struct cmn_record *rec, size_t n)
{
    g->rec = rec;
    g->n = n;
    for (size_t i = 0; i < n; i++) {
        g->dir[i] = trk_key_from_record(&g->key[i], &rec[i]);
        g->hash[i] = trk_key_hash(&g->key[i], t->seed);
        __builtin_prefetch(&t->slots[g->hash[i] & t->mask]);
    }
}

static void s_stage_rows(const struct trk_table *t, const struct pipe_group *g)
{
    for (size_t i = 0; i < g->n; i++) {
        uint32_t s = t->slots[g->hash[i] & t->mask];
        if (s) {
            const char *p = (const char *)s_row(t, (s & IDX_MASK) - 1);
            __builtin_prefetch(p, 1);
            __builtin_prefetch(p + 64, 1);
        }
    }
}

static size_t s_stage_apply(struct trk_table *t, const struct pipe_group *g)
{
    size_t ok = 0;
    for (size_t i = 0; i < g->n; i++)
        ok += trk_table_update_with_hash(t, &g->key[i], g->hash[i], g->dir[i], &g->rec[i]) == 0;
    return ok;
}

size_t trk_table_update_burst(struct trk_table *t, const struct cmn_record *recs, size_t n)
{
    struct pipe_group g[3];
    g[0].n = g[1].n = g[2].n = 0;
    size_t ok = 0, off = 0;
    for (unsigned turn = 0;; turn++) {
        struct pipe_group *in = &g[turn % 3], *mid = &g[(turn + 2) % 3], *out = &g[(turn + 1) % 3];
        ok += s_stage_apply(t, out); /* group of turn-2 */
        size_t m = n - off < PIPE_GROUP ? n - off : PIPE_GROUP;
        s_stage_hash(t, in, recs + off, m);
        off += m;
        s_stage_rows(t, mid); /* group of turn-1 */
        if (m == 0 && mid->n == 0)
            break;
        out->n = 0;
    }
    return ok;
}

static void s_view(const struct trk_table *t, const struct sess *e, uint32_t idx,
                   struct trk_sess_view *v)
{
    memset(v, 0, sizeof(*v));
    struct cmn_session_rec *r = &v->rec;
    memcpy(r->a_ip, e->key.a, 16);
    memcpy(r->b_ip, e->key.b, 16);
    r->a_port = e->key.a_port;
    r->b_port = e->key.b_port;
    r->proto = e->key.proto;
    r->flags = S_FLAGS(e);
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
    if ((S_STATE(e) & SS_SPILL) &&
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
    v->starts[0] = S_STARTS(e) & 0xf;
    v->starts[1] = S_STARTS(e) >> 4;
    v->created = (S_STATE(e) & SS_NEW) != 0;
}

bool trk_table_lookup_with_hash(const struct trk_table *t, const struct trk_key *k, uint64_t hash,
                                struct trk_sess_view *out)
{
    size_t empty = 0;
    uint32_t found = s_find(t, k, hash, &empty);
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
        if ((S_STATE(e) & (SS_LIVE | SS_DIRTY)) != (SS_LIVE | SS_DIRTY))
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
        if ((S_STATE(e) & (SS_LIVE | SS_DIRTY)) != (SS_LIVE | SS_DIRTY))
            continue;
        if (fn) {
            s_view(t, e, i, &v);
            fn(ctx, &v);
        }
        memset(e->bytes, 0, sizeof(*e) - offsetof(struct sess, bytes));
        e->first_ns = 0;
        S_STATE(e) = SS_LIVE;
        S_STARTS(e) = 0;
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
        if ((S_STATE(e) & (SS_LIVE | SS_DIRTY)) != SS_LIVE)
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
