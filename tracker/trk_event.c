/* SPDX-License-Identifier: MIT
 * trk_event: candidate events are cmn_event_rec rows in one growable array
 * (like trk_endpoint), found through three trk_hset indexes (flood rows by
 * target port, SYN-scan and stealth-scan rows by (target, actor)); the
 * distinct sets (flood sources, probed ports) are global trk_hsets keyed by
 * (row index, member). A row is reported only once it crosses its threshold,
 * then again whenever it changes; counters saturate instead of wrapping.
 */
#define CMN_LOG_TAG "event"
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_log.h"
#include "cmn_ckpt.h"
#include "trk_event.h"
#include "trk_hset.h"
#include "trk_key.h"

/* Index keys; every byte is set, so memcmp and hashing are exact. */
struct flood_key {
    uint8_t ip[16]; /* target */
    uint16_t port;  /* target port */
    uint8_t pad[6]; /* zero */
};
struct pair_key {
    uint8_t target[16]; /* target */
    uint8_t actor[16];  /* prober */
};
struct src_key {
    uint32_t row;   /* flood row */
    uint32_t pad;   /* zero */
    uint8_t ip[16]; /* source address */
};
struct port_key {
    uint32_t row;  /* scan row */
    uint16_t port; /* probed port */
    uint16_t pad;  /* zero */
};
struct sess_key {
    uint64_t h[2]; /* two independent seeded hashes of the session key */
};

/* A session counted as a probe: what it added, so that it can be taken back
 * when its initiator later completes the conversation (a handshake split by
 * an epoch flush), keeping events independent of the epoch length. */
struct probe {
    uint64_t packets; /* packets added to its rows */
    uint32_t syns;    /* probe SYNs added to the flood row */
    uint32_t flood;   /* flood row, UINT32_MAX when none */
    uint32_t scan;    /* scan row (SYN or stealth) */
    uint32_t src;     /* counter slot of (flood row, source) */
    uint32_t port;    /* counter slot of (scan row, port) */
    uint8_t dead;     /* taken back: the session is a conversation */
    uint8_t pad[7];   /* zero */
};

struct trk_events {
    struct cmn_event_rec *ev; /* candidate events */
    uint32_t *syns;           /* per row: probe SYNs (floods) */
    uint8_t *changed;         /* per row: 1 when in `dirty` */
    uint32_t *dirty;          /* rows changed since the last flush */
    size_t n;                 /* rows in use */
    size_t cap;               /* rows allocated */
    size_t ndirty;            /* entries in `dirty` */
    struct trk_hset *floods;  /* flood_key -> row */
    struct trk_hset *scans;   /* pair_key -> SYN-scan row */
    struct trk_hset *stealth; /* pair_key -> stealth-scan row */
    struct trk_hset *sources; /* src_key set */
    struct trk_hset *ports;   /* port_key -> counter slot */
    struct trk_hset *sess;    /* sess_key -> probe index */
    uint32_t *slot;           /* probe sessions per (row, source) / (row, port) */
    size_t nslot, cap_slot;   /* slots in use / allocated */
    struct probe *probe;      /* probe sessions */
    size_t nprobe, cap_probe; /* in use / allocated */
    struct trk_mem *mem;      /* memcap accountant (borrowed) */
    uint64_t seed;            /* hash seed */
    uint64_t probe_seed;      /* seed of the probe sessions' key hashes (sess_key) */
    uint64_t drops;           /* folds with state refused for the memcap */
};

#define ROW_BYTES                                                                                  \
    (sizeof(struct cmn_event_rec) + sizeof(uint32_t) + sizeof(uint8_t) + sizeof(uint32_t))

struct trk_events *trk_events_new(const struct trk_events_config *cfg)
{
    assert(cfg && cfg->mem);
    _Static_assert(sizeof(struct flood_key) == 24 && sizeof(struct pair_key) == 32 &&
                       sizeof(struct src_key) == 24 && sizeof(struct port_key) == 8,
                   "event key layouts");
    struct trk_events *t = calloc(1, sizeof(*t));
    if (!t)
        goto err;
    t->mem = cfg->mem;
    t->seed = cfg->seed;
    t->probe_seed = cfg->seed;
    t->floods = trk_hset_new(sizeof(struct flood_key), t->mem);
    t->scans = trk_hset_new(sizeof(struct pair_key), t->mem);
    t->stealth = trk_hset_new(sizeof(struct pair_key), t->mem);
    t->sources = trk_hset_new(sizeof(struct src_key), t->mem);
    t->ports = trk_hset_new(sizeof(struct port_key), t->mem);
    t->sess = trk_hset_new(sizeof(struct sess_key), t->mem);
    if (!t->floods || !t->scans || !t->stealth || !t->sources || !t->ports || !t->sess)
        goto err;
    return t;
err:
    CMN_LOG(ERR, "cannot allocate the event tables");
    trk_events_destroy(&t);
    return NULL;
}

void trk_events_destroy(struct trk_events **tp)
{
    if (!tp || !*tp)
        return;
    struct trk_events *t = *tp;
    trk_hset_destroy(&t->sess);
    trk_hset_destroy(&t->ports);
    trk_hset_destroy(&t->sources);
    trk_hset_destroy(&t->stealth);
    trk_hset_destroy(&t->scans);
    trk_hset_destroy(&t->floods);
    if (t->cap)
        trk_mem_give(t->mem, t->cap * ROW_BYTES);
    trk_mem_give(t->mem, t->cap_slot * sizeof(*t->slot) + t->cap_probe * sizeof(*t->probe));
    free(t->slot);
    free(t->probe);
    free(t->ev);
    free(t->syns);
    free(t->changed);
    free(t->dirty);
    free(t);
    *tp = NULL;
}

/* Double the row arrays (charged to the memcap first). */
static int s_grow_rows(struct trk_events *t)
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    if (!trk_mem_take(t->mem, (cap - t->cap) * ROW_BYTES))
        return -ENOSPC;
    struct cmn_event_rec *ev = realloc(t->ev, cap * sizeof(*ev));
    if (ev)
        t->ev = ev;
    uint32_t *sy = realloc(t->syns, cap * sizeof(*sy));
    if (sy)
        t->syns = sy;
    uint8_t *ch = realloc(t->changed, cap);
    if (ch)
        t->changed = ch;
    uint32_t *d = realloc(t->dirty, cap * sizeof(*d));
    if (d)
        t->dirty = d;
    if (!ev || !sy || !ch || !d) {
        trk_mem_give(t->mem, (cap - t->cap) * ROW_BYTES);
        return -ENOSPC; /* arrays that did grow keep their old contents; cap unchanged */
    }
    t->cap = cap;
    return 0;
}

/* Room for one more row. */
static int s_reserve(struct trk_events *t)
{
    return t->n < t->cap ? 0 : s_grow_rows(t);
}

/* Make room for one more element in a growable array; 0 or -ENOSPC. */
static int s_grow(struct trk_events *t, void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 256;
    if (!trk_mem_take(t->mem, (nc - *cap) * size))
        return -ENOSPC;
    void *p = realloc(*arr, nc * size);
    if (!p) {
        trk_mem_give(t->mem, (nc - *cap) * size);
        return -ENOSPC;
    }
    *arr = p;
    *cap = nc;
    return 0;
}

/* Counter slot of `key` in `set` (a new key gets a new slot at 0). Returns
 * the slot or -ENOSPC. */
static long s_slot(struct trk_events *t, struct trk_hset *set, const void *key, size_t klen)
{
    if (s_grow(t, (void **)&t->slot, &t->cap_slot, t->nslot, sizeof(*t->slot)) != 0)
        return -ENOSPC;
    uint32_t v = (uint32_t)t->nslot;
    int rc = trk_hset_insert(set, key, cmn_hash_bytes(key, klen, t->seed), &v);
    if (rc < 0)
        return rc;
    if (rc == 1)
        t->slot[t->nslot++] = 0;
    return v;
}

/* Row for `key` in `index`, created (kind, target, actor, port) if new.
 * Returns the row index or -ENOSPC. */
static long s_row(struct trk_events *t, struct trk_hset *index, const void *key, size_t klen,
                  uint8_t kind, const uint8_t target[16], const uint8_t *actor, uint16_t port)
{
    if (s_reserve(t) != 0)
        return -ENOSPC;
    uint32_t idx = (uint32_t)t->n;
    int rc = trk_hset_insert(index, key, cmn_hash_bytes(key, klen, t->seed), &idx);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        struct cmn_event_rec *e = &t->ev[idx];
        memset(e, 0, sizeof(*e));
        memcpy(e->target_ip, target, 16);
        if (actor) {
            memcpy(e->actor_ip, actor, 16);
            e->source_count = 1;
        }
        e->port_count = 0;
        e->port = port;
        e->kind = kind;
        e->proto = 6;
        t->syns[idx] = 0;
        t->changed[idx] = 0;
        t->n++;
    }
    return idx;
}

static void s_add32(uint32_t *c, uint64_t v)
{
    uint64_t s = (uint64_t)*c + v;
    *c = s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

static uint64_t s_sub(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* Add (sign +1) or take back (-1) probe `p`'s packets and SYNs to its rows,
 * and its membership (a source of the flood row, a port of the scan row)
 * when `members`. */
static void s_apply(struct trk_events *t, const struct probe *p, int sign, bool members)
{
    uint32_t rows[2] = {p->flood, p->scan}, slots[2] = {p->src, p->port};
    for (int i = 0; i < 2; i++) {
        if (rows[i] == UINT32_MAX)
            continue;
        struct cmn_event_rec *e = &t->ev[rows[i]];
        uint32_t *cnt = &t->slot[slots[i]];
        uint32_t *count = e->kind == CMN_EVENT_SYN_FLOOD ? &e->source_count : &e->port_count;
        if (sign > 0) {
            e->packets += p->packets;
            if (members && (*cnt)++ == 0)
                (*count)++;
        } else {
            e->packets -= p->packets < e->packets ? p->packets : e->packets;
            if (members && *cnt && --(*cnt) == 0 && *count)
                (*count)--;
        }
        if (e->kind == CMN_EVENT_SYN_FLOOD) {
            if (sign > 0)
                s_add32(&t->syns[rows[i]], p->syns);
            else
                t->syns[rows[i]] -= p->syns < t->syns[rows[i]] ? p->syns : t->syns[rows[i]];
        }
        if (!t->changed[rows[i]]) {
            t->changed[rows[i]] = 1;
            t->dirty[t->ndirty++] = rows[i];
        }
    }
}

static void s_times(struct trk_events *t, const struct probe *p, const struct cmn_session_rec *r)
{
    uint32_t rows[2] = {p->flood, p->scan};
    for (int i = 0; i < 2; i++) {
        if (rows[i] == UINT32_MAX)
            continue;
        struct cmn_event_rec *e = &t->ev[rows[i]];
        if (e->first_ns == 0 || r->first_ns < e->first_ns)
            e->first_ns = r->first_ns;
        if (r->last_ns > e->last_ns)
            e->last_ns = r->last_ns;
    }
}

/* Rows and counter slots of a new probe session; 0 or -ENOSPC. */
static int s_probe_rows(struct trk_events *t, struct probe *p, bool stealth, const uint8_t *tip,
                        const uint8_t *aip, uint16_t tport)
{
    p->flood = UINT32_MAX;
    p->scan = UINT32_MAX; /* until it has one: a probe moves with its scan row */
    if (!stealth) {
        struct flood_key fk;
        memset(&fk, 0, sizeof(fk));
        memcpy(fk.ip, tip, 16);
        fk.port = tport;
        long f = s_row(t, t->floods, &fk, sizeof(fk), CMN_EVENT_SYN_FLOOD, tip, NULL, tport);
        if (f < 0)
            return -ENOSPC;
        t->ev[f].port_count = 1;
        struct src_key sk = {.row = (uint32_t)f};
        memcpy(sk.ip, aip, 16);
        long sl = s_slot(t, t->sources, &sk, sizeof(sk));
        if (sl < 0)
            return -ENOSPC;
        p->flood = (uint32_t)f;
        p->src = (uint32_t)sl;
    }
    struct pair_key pk;
    memcpy(pk.target, tip, 16);
    memcpy(pk.actor, aip, 16);
    uint8_t kind = stealth ? CMN_EVENT_STEALTH_SCAN : CMN_EVENT_PORT_SCAN;
    long sc = s_row(t, stealth ? t->stealth : t->scans, &pk, sizeof(pk), kind, tip, aip, 0);
    if (sc < 0)
        return -ENOSPC;
    struct port_key qk = {.row = (uint32_t)sc, .port = tport};
    long sl = s_slot(t, t->ports, &qk, sizeof(qk));
    if (sl < 0)
        return -ENOSPC;
    p->scan = (uint32_t)sc;
    p->port = (uint32_t)sl;
    return 0;
}

int trk_events_fold(struct trk_events *t, const struct trk_sess_view *v, bool own_a, bool own_b)
{
    const struct cmn_session_rec *r = &v->rec;
    if (r->proto != 6 || (r->flags & CMN_SESS_FRAGS))
        return 0;
    int actor; /* side that opened the session: the prober */
    if (r->flags & CMN_SESS_A_INIT)
        actor = 0;
    else if (r->flags & CMN_SESS_B_INIT)
        actor = 1;
    else
        return 0;
    if (!(actor == 0 ? own_b : own_a))
        return 0; /* the target's owner decides */
    int a2t = actor == 0 ? CMN_DIR_AB : CMN_DIR_BA;
    const uint8_t *aip = actor == 0 ? r->a_ip : r->b_ip;
    const uint8_t *tip = actor == 0 ? r->b_ip : r->a_ip;
    uint16_t tport = actor == 0 ? r->b_port : r->a_port;
    uint64_t pure = s_sub(r->syn[a2t], r->synack[a2t]);
    uint64_t real = s_sub(r->pkts[a2t], pure + r->rst[a2t]);
    uint64_t bare = s_sub(r->pkts[a2t], (uint64_t)r->ack[a2t] + r->syn[a2t] + r->rst[a2t]);
    bool stealth = (r->flags & CMN_SESS_MIDSTREAM) != 0;
    /* the initiator did something a probe never does: the session is a conversation */
    bool talks = stealth ? r->syn[a2t] + r->ack[a2t] > 0 : real > 0;

    struct sess_key k;
    uint8_t raw[40];
    memcpy(raw, r->a_ip, 16);
    memcpy(raw + 16, r->b_ip, 16);
    memcpy(raw + 32, &r->a_port, 2);
    memcpy(raw + 34, &r->b_port, 2);
    memset(raw + 36, 0, 4);
    k.h[0] = cmn_hash_bytes(raw, sizeof(raw), t->probe_seed);
    k.h[1] = cmn_hash_bytes(raw, sizeof(raw), ~t->probe_seed * 0x9e3779b97f4a7c15ull);
    uint64_t kh = cmn_hash_bytes(&k, sizeof(k), t->seed);
    uint32_t pi;
    bool known = trk_hset_find(t->sess, &k, kh, &pi) == 0;
    if (known && v->created && !t->probe[pi].dead)
        t->probe[pi].dead = 1; /* a new incarnation: the old probe stays counted */
    if (known && !t->probe[pi].dead) {
        struct probe *p = &t->probe[pi];
        if (talks) {
            s_apply(t, p, -1, true);
            p->dead = 1;
        } else { /* more of the same probe (retransmissions, late answers) */
            struct probe d = *p;
            d.packets = r->pkts[0] + r->pkts[1];
            d.syns = (uint32_t)pure;
            p->packets += d.packets;
            p->syns += d.syns;
            s_apply(t, &d, +1, false);
            s_times(t, p, r);
        }
        return 0;
    }
    if (talks || (known && !v->created))
        return 0;
    if (!(stealth ? bare > 0 : pure > 0))
        return 0;
    /* a new probe session */
    if (!known) {
        if (s_grow(t, (void **)&t->probe, &t->cap_probe, t->nprobe, sizeof(*t->probe)) != 0)
            goto drop;
        pi = (uint32_t)t->nprobe;
        int rc = trk_hset_insert(t->sess, &k, kh, &pi);
        if (rc < 0)
            goto drop;
        t->nprobe++;
    }
    struct probe *p = &t->probe[pi];
    memset(p, 0, sizeof(*p));
    if (s_probe_rows(t, p, stealth, tip, aip, tport) != 0) {
        p->dead = 1;
        goto drop;
    }
    p->packets = r->pkts[0] + r->pkts[1];
    p->syns = (uint32_t)pure;
    s_apply(t, p, +1, true);
    s_times(t, p, r);
    return 0;
drop:
    t->drops++;
    return -ENOSPC;
}

/* True when row `i` is over its kind's threshold. */
static bool s_qualifies(const struct trk_events *t, size_t i)
{
    const struct cmn_event_rec *e = &t->ev[i];
    switch (e->kind) {
        case CMN_EVENT_SYN_FLOOD:
            return e->source_count >= TRK_EVENT_FLOOD_SOURCES && t->syns[i] >= TRK_EVENT_FLOOD_SYNS;
        case CMN_EVENT_PORT_SCAN:
            return e->port_count >= TRK_EVENT_SCAN_PORTS;
        case CMN_EVENT_STEALTH_SCAN:
            return e->port_count >= TRK_EVENT_STEALTH_PORTS;
        default:
            return false;
    }
}

size_t trk_events_pending(const struct trk_events *t)
{
    size_t k = 0;
    for (size_t i = 0; i < t->ndirty; i++)
        k += s_qualifies(t, t->dirty[i]);
    return k;
}

size_t trk_events_flush(struct trk_events *t, trk_events_visit_fn fn, void *ctx)
{
    size_t k = 0;
    for (size_t i = 0; i < t->ndirty; i++) {
        uint32_t idx = t->dirty[i];
        if (s_qualifies(t, idx)) {
            if (fn)
                fn(ctx, &t->ev[idx]);
            k++;
        }
        t->changed[idx] = 0;
    }
    t->ndirty = 0;
    return k;
}

size_t trk_events_count(const struct trk_events *t)
{
    return t->n;
}

uint64_t trk_events_drops(const struct trk_events *t)
{
    return t->drops;
}

void trk_events_reset(struct trk_events *t)
{
    trk_hset_clear(t->floods);
    trk_hset_clear(t->scans);
    trk_hset_clear(t->stealth);
    trk_hset_clear(t->sources);
    trk_hset_clear(t->ports);
    trk_hset_clear(t->sess);
    t->nslot = 0;
    t->nprobe = 0;
    t->n = 0;
    t->ndirty = 0;
    t->drops = 0;
}

void trk_events_save(const struct trk_events *t, struct cmn_ckpt *c)
{
    (void)CMN_NEVER(t->ndirty != 0); /* only right after a flush */
    cmn_ckpt_put_u64(c, t->probe_seed);
    cmn_ckpt_put_u64(c, t->n);
    cmn_ckpt_put_u64(c, t->nslot);
    cmn_ckpt_put_u64(c, t->nprobe);
    cmn_ckpt_put_u64(c, t->drops);
    cmn_ckpt_put(c, t->ev, t->n * sizeof(*t->ev));
    cmn_ckpt_put(c, t->syns, t->n * sizeof(*t->syns));
    cmn_ckpt_put(c, t->slot, t->nslot * sizeof(*t->slot));
    cmn_ckpt_put(c, t->probe, t->nprobe * sizeof(*t->probe));
    const struct trk_hset *sets[] = {t->floods,  t->scans, t->stealth,
                                     t->sources, t->ports, t->sess};
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
        trk_hset_save(sets[i], c);
}

int trk_events_load(struct trk_events *t, struct cmn_ckpt *c)
{
    if (cmn_ckpt_get(c, &t->probe_seed, sizeof(t->probe_seed)))
        return c->err;
    uint64_t n = cmn_ckpt_get_count(c, UINT32_MAX);
    uint64_t nslot = cmn_ckpt_get_count(c, UINT32_MAX);
    uint64_t nprobe = cmn_ckpt_get_count(c, UINT32_MAX);
    uint64_t drops = 0;
    if (cmn_ckpt_get(c, &drops, sizeof(drops)) || t->n || t->nslot || t->nprobe)
        return c->err ? c->err : (c->err = -EPROTO);
    while (t->cap < n)
        if (s_grow_rows(t) != 0)
            return c->err = -ENOSPC;
    while (t->cap_slot < nslot)
        if (s_grow(t, (void **)&t->slot, &t->cap_slot, t->cap_slot, sizeof(*t->slot)) != 0)
            return c->err = -ENOSPC;
    while (t->cap_probe < nprobe)
        if (s_grow(t, (void **)&t->probe, &t->cap_probe, t->cap_probe, sizeof(*t->probe)) != 0)
            return c->err = -ENOSPC;
    if (cmn_ckpt_get(c, t->ev, n * sizeof(*t->ev)) ||
        cmn_ckpt_get(c, t->syns, n * sizeof(*t->syns)) ||
        cmn_ckpt_get(c, t->slot, nslot * sizeof(*t->slot)) ||
        cmn_ckpt_get(c, t->probe, nprobe * sizeof(*t->probe)))
        return c->err;
    if (n)
        memset(t->changed, 0, n);
    t->n = n;
    t->nslot = nslot;
    t->nprobe = nprobe;
    t->drops = drops;
    struct trk_hset *sets[] = {t->floods, t->scans, t->stealth, t->sources, t->ports, t->sess};
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
        if (trk_hset_load(sets[i], c))
            return c->err;
    return 0;
}

int trk_events_set_probe_seed(struct trk_events *t, uint64_t seed)
{
    if (t->nprobe && seed != t->probe_seed)
        return -EBUSY;
    t->probe_seed = seed;
    return 0;
}

/* ---- handover ---- */

/* Export state: places in the export of rows and counter slots that move. */
struct s_exp {
    const struct trk_events *t;
    uint32_t *row;      /* per row: place in the export, UINT32_MAX = stays */
    uint32_t *slot;     /* per slot: place in the export, UINT32_MAX = stays */
    uint64_t nslot;     /* slots placed */
    uint64_t n;         /* entries counted / written by the visitor */
    size_t key_len;     /* bytes per key of the set visited */
    struct cmn_ckpt *c; /* NULL: count (and place) only */
};

/* A (row, member) -> slot entry of the sources or ports set. */
static void s_exp_slot(void *arg, const void *key, uint32_t val)
{
    struct s_exp *x = arg;
    uint32_t row;
    memcpy(&row, key, sizeof(row));
    if (x->row[row] == UINT32_MAX)
        return;
    x->n++;
    if (!x->c) {
        x->slot[val] = (uint32_t)x->nslot++;
        return;
    }
    uint8_t k[TRK_HSET_KEY_MAX];
    memcpy(k, key, x->key_len);
    memcpy(k, &x->row[row], sizeof(row));
    cmn_ckpt_put(x->c, k, x->key_len);
    cmn_ckpt_put(x->c, &x->t->slot[val], sizeof(uint32_t));
}

static bool s_probe_moves(const struct s_exp *x, const struct probe *p)
{
    return p->scan < x->t->n && x->row[p->scan] != UINT32_MAX;
}

/* A probe session (key -> probe index), its rows and slots renumbered. */
static void s_exp_probe(void *arg, const void *key, uint32_t val)
{
    struct s_exp *x = arg;
    if (val >= x->t->nprobe || !s_probe_moves(x, &x->t->probe[val]))
        return;
    x->n++;
    if (!x->c)
        return;
    struct probe p = x->t->probe[val];
    if (p.flood != UINT32_MAX) {
        p.flood = x->row[p.flood];
        p.src = x->slot[p.src];
    }
    p.scan = x->row[p.scan];
    p.port = x->slot[p.port];
    cmn_ckpt_put(x->c, key, sizeof(struct sess_key));
    cmn_ckpt_put(x->c, &p, sizeof(p));
}

void trk_events_export(const struct trk_events *t, trk_ip_fn moves, void *arg, struct cmn_ckpt *c)
{
    (void)CMN_NEVER(t->ndirty != 0); /* only right after a flush */
    struct s_exp x = {.t = t};
    x.row = malloc((t->n ? t->n : 1) * sizeof(*x.row));
    x.slot = malloc((t->nslot ? t->nslot : 1) * sizeof(*x.slot));
    if (!x.row || !x.slot) {
        c->err = c->err ? c->err : -ENOMEM;
        goto out;
    }
    uint64_t m = 0;
    for (size_t i = 0; i < t->n; i++)
        x.row[i] = moves(arg, t->ev[i].target_ip) ? (uint32_t)m++ : UINT32_MAX;
    for (size_t i = 0; i < t->nslot; i++)
        x.slot[i] = UINT32_MAX;
    cmn_ckpt_put_u64(c, t->probe_seed);
    cmn_ckpt_put_u64(c, m);
    for (size_t i = 0; i < t->n; i++)
        if (x.row[i] != UINT32_MAX) {
            cmn_ckpt_put(c, &t->ev[i], sizeof(t->ev[i]));
            cmn_ckpt_put(c, &t->syns[i], sizeof(t->syns[i]));
        }
    /* slots are placed in the order the sets are visited: sources, ports */
    const struct trk_hset *sets[] = {t->sources, t->ports};
    const size_t lens[] = {sizeof(struct src_key), sizeof(struct port_key)};
    for (size_t s = 0; s < 2; s++) {
        x.c = NULL;
        x.n = 0;
        x.key_len = lens[s];
        trk_hset_visit(sets[s], s_exp_slot, &x);
        cmn_ckpt_put_u64(c, x.n);
        x.c = c;
        trk_hset_visit(sets[s], s_exp_slot, &x);
    }
    x.c = NULL;
    x.n = 0;
    trk_hset_visit(t->sess, s_exp_probe, &x);
    cmn_ckpt_put_u64(c, x.n);
    x.c = c;
    trk_hset_visit(t->sess, s_exp_probe, &x);
out:
    free(x.row);
    free(x.slot);
}

/* The index of a row's kind, and its key, from the row itself. */
static struct trk_hset *s_row_index(struct trk_events *t, const struct cmn_event_rec *e,
                                    uint8_t *key, size_t *klen)
{
    if (e->kind == CMN_EVENT_SYN_FLOOD) {
        struct flood_key fk;
        memset(&fk, 0, sizeof(fk));
        memcpy(fk.ip, e->target_ip, 16);
        fk.port = e->port;
        memcpy(key, &fk, sizeof(fk));
        *klen = sizeof(fk);
        return t->floods;
    }
    struct pair_key pk;
    memcpy(pk.target, e->target_ip, 16);
    memcpy(pk.actor, e->actor_ip, 16);
    memcpy(key, &pk, sizeof(pk));
    *klen = sizeof(pk);
    return e->kind == CMN_EVENT_STEALTH_SCAN ? t->stealth
           : e->kind == CMN_EVENT_PORT_SCAN  ? t->scans
                                             : NULL;
}

int trk_events_import(struct trk_events *t, struct cmn_ckpt *c)
{
    uint64_t seed = 0;
    if (cmn_ckpt_get(c, &seed, sizeof(seed)))
        return c->err;
    if (seed != t->probe_seed && trk_events_set_probe_seed(t, seed) != 0) {
        CMN_LOG(ERR, "handover: probe sessions keyed with another seed (trackers of one "
                     "cluster need the splitter's)");
        return c->err = -EXDEV;
    }
    uint64_t m = cmn_ckpt_get_count(c, UINT32_MAX);
    uint32_t *row = malloc((m ? m : 1) * sizeof(*row));
    uint32_t *slot = NULL;
    uint64_t nslot = 0, cap_slot = 0;
    if (!row)
        return c->err = -ENOMEM;
    for (uint64_t i = 0; i < m && !c->err; i++) {
        struct cmn_event_rec e;
        uint32_t syns;
        if (cmn_ckpt_get(c, &e, sizeof(e)) || cmn_ckpt_get(c, &syns, sizeof(syns)))
            break;
        uint8_t key[TRK_HSET_KEY_MAX];
        size_t klen = 0;
        struct trk_hset *index = s_row_index(t, &e, key, &klen);
        if (!index || s_reserve(t) != 0) {
            c->err = index ? -ENOSPC : -EPROTO;
            break;
        }
        uint32_t idx = (uint32_t)t->n;
        int rc = trk_hset_insert(index, key, cmn_hash_bytes(key, klen, t->seed), &idx);
        if (rc != 1) {
            c->err = rc < 0 ? rc : -EPROTO; /* here already: two owners */
            break;
        }
        t->ev[idx] = e;
        t->syns[idx] = syns;
        t->changed[idx] = 0;
        t->n++;
        row[i] = idx;
    }
    struct trk_hset *sets[] = {t->sources, t->ports};
    const size_t lens[] = {sizeof(struct src_key), sizeof(struct port_key)};
    for (size_t s = 0; s < 2 && !c->err; s++) {
        uint64_t n = cmn_ckpt_get_count(c, UINT32_MAX);
        for (uint64_t i = 0; i < n && !c->err; i++) {
            uint8_t k[TRK_HSET_KEY_MAX];
            uint32_t r, cnt;
            if (cmn_ckpt_get(c, k, lens[s]) || cmn_ckpt_get(c, &cnt, sizeof(cnt)))
                break;
            memcpy(&r, k, sizeof(r));
            if (r >= m) {
                c->err = -EPROTO;
                break;
            }
            memcpy(k, &row[r], sizeof(r));
            long sl = s_slot(t, sets[s], k, lens[s]);
            if (sl < 0) {
                c->err = -ENOSPC;
                break;
            }
            t->slot[sl] = cnt;
            if (nslot == cap_slot) { /* export place -> slot here */
                cap_slot = cap_slot ? cap_slot * 2 : 256;
                uint32_t *ns = realloc(slot, cap_slot * sizeof(*ns));
                if (!ns) {
                    c->err = -ENOMEM;
                    break;
                }
                slot = ns;
            }
            slot[nslot++] = (uint32_t)sl;
        }
    }
    uint64_t np = c->err ? 0 : cmn_ckpt_get_count(c, UINT32_MAX);
    for (uint64_t i = 0; i < np && !c->err; i++) {
        struct sess_key k;
        struct probe p;
        if (cmn_ckpt_get(c, &k, sizeof(k)) || cmn_ckpt_get(c, &p, sizeof(p)))
            break;
        if (p.scan >= m || p.port >= nslot ||
            (p.flood != UINT32_MAX && (p.flood >= m || p.src >= nslot))) {
            c->err = -EPROTO;
            break;
        }
        p.scan = row[p.scan];
        p.port = slot[p.port];
        if (p.flood != UINT32_MAX) {
            p.flood = row[p.flood];
            p.src = slot[p.src];
        }
        if (s_grow(t, (void **)&t->probe, &t->cap_probe, t->nprobe, sizeof(*t->probe)) != 0) {
            c->err = -ENOSPC;
            break;
        }
        uint32_t pi = (uint32_t)t->nprobe;
        int rc = trk_hset_insert(t->sess, &k, cmn_hash_bytes(&k, sizeof(k), t->seed), &pi);
        if (rc != 1) {
            c->err = rc < 0 ? rc : -EPROTO;
            break;
        }
        t->probe[t->nprobe++] = p;
    }
    free(row);
    free(slot);
    return c->err;
}

/* trk_events_drop through cmn_ckpt_rewrite: the kept part out, back in. */
struct s_keep {
    struct trk_events *t;
    trk_ip_fn keep;
    void *arg;
};

static void s_keep_out(void *x, struct cmn_ckpt *c)
{
    const struct s_keep *k = x;
    trk_events_export(k->t, k->keep, k->arg, c);
}

static void s_keep_clear(void *x)
{
    struct trk_events *t = ((struct s_keep *)x)->t;
    uint64_t drops = t->drops, seed = t->probe_seed;
    trk_events_reset(t);
    t->drops = drops;
    t->probe_seed = seed;
}

static int s_keep_in(void *x, struct cmn_ckpt *c)
{
    return trk_events_import(((struct s_keep *)x)->t, c);
}

int trk_events_drop(struct trk_events *t, trk_ip_fn keep, void *arg)
{
    struct s_keep k = {t, keep, arg};
    return cmn_ckpt_rewrite(&k, s_keep_out, s_keep_clear, s_keep_in);
}
