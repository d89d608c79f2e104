/* SPDX-License-Identifier: MIT
 * trk_endpoint: endpoints are records in one growable array, found through a
 * trk_hset index; the three distinct sets are global trk_hsets keyed by
 * (endpoint index, peer ...), which costs one entry per distinct pair instead
 * of a small table per endpoint. Evidence counters saturate instead of
 * wrapping.
 */
#define CMN_LOG_TAG "endpoint"
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "cmn_ckpt.h"
#include "trk_endpoint.h"
#include "trk_hset.h"
#include "trk_key.h"
#include "trk_role.h"

/* Index key of an endpoint: 24 bytes (three words). */
struct ep_key {
    uint8_t ip[16]; /* address */
    uint16_t port;  /* port */
    uint8_t proto;  /* protocol */
    uint8_t pad[5]; /* zero */
};

/* Distinct-set keys; every byte is set, so memcmp and hashing are exact. */
struct peer_key {
    uint32_t ep;    /* endpoint index */
    uint32_t pad;   /* zero */
    uint8_t ip[16]; /* peer address */
};
struct port_key {
    uint32_t ep;   /* endpoint index */
    uint16_t port; /* peer port */
    uint16_t pad;  /* zero */
};
struct sess_key {
    uint32_t ep;    /* endpoint index */
    uint16_t port;  /* peer port */
    uint16_t pad;   /* zero */
    uint8_t ip[16]; /* peer address */
};

struct trk_endpoints {
    struct cmn_endpoint_rec *ep; /* evidence, role fields filled at flush */
    uint8_t *changed;            /* per endpoint: 1 when in `dirty` */
    uint32_t *dirty;             /* endpoints changed since the last flush */
    size_t n;                    /* endpoints in use */
    size_t cap;                  /* endpoints allocated (ep, changed, dirty) */
    size_t ndirty;               /* entries in `dirty` */
    struct trk_hset *index;      /* ep_key -> endpoint index */
    struct trk_hset *peers;      /* peer_key set */
    struct trk_hset *ports;      /* port_key set */
    struct trk_hset *sessions;   /* sess_key set */
    struct trk_mem *mem;         /* memcap accountant (borrowed) */
    uint64_t seed;               /* hash seed */
    uint64_t drops;              /* evidence refused for the memcap */
};

#define EP_BYTES (sizeof(struct cmn_endpoint_rec) + sizeof(uint8_t) + sizeof(uint32_t))

struct trk_endpoints *trk_endpoints_new(const struct trk_endpoints_config *cfg)
{
    assert(cfg && cfg->mem);
    _Static_assert(sizeof(struct ep_key) == 24 && sizeof(struct peer_key) == 24 &&
                       sizeof(struct port_key) == 8 && sizeof(struct sess_key) == 24,
                   "set key layouts");
    struct trk_endpoints *t = calloc(1, sizeof(*t));
    if (!t)
        goto err;
    t->mem = cfg->mem;
    t->seed = cfg->seed;
    t->index = trk_hset_new(sizeof(struct ep_key), t->mem);
    t->peers = trk_hset_new(sizeof(struct peer_key), t->mem);
    t->ports = trk_hset_new(sizeof(struct port_key), t->mem);
    t->sessions = trk_hset_new(sizeof(struct sess_key), t->mem);
    if (!t->index || !t->peers || !t->ports || !t->sessions)
        goto err;
    return t;
err:
    CMN_LOG(ERR, "cannot allocate the endpoint tables");
    trk_endpoints_destroy(&t);
    return NULL;
}

void trk_endpoints_destroy(struct trk_endpoints **tp)
{
    if (!tp || !*tp)
        return;
    struct trk_endpoints *t = *tp;
    trk_hset_destroy(&t->sessions);
    trk_hset_destroy(&t->ports);
    trk_hset_destroy(&t->peers);
    trk_hset_destroy(&t->index);
    if (t->cap)
        trk_mem_give(t->mem, t->cap * EP_BYTES);
    free(t->ep);
    free(t->changed);
    free(t->dirty);
    free(t);
    *tp = NULL;
}

bool trk_endpoints_applies(uint8_t proto, uint8_t flags)
{
    return trk_proto_has_ports(proto) && !(flags & CMN_SESS_FRAGS);
}

/* Double the arrays (charged to the memcap first). */
static int s_grow_arrays(struct trk_endpoints *t)
{
    size_t cap = t->cap ? t->cap * 2 : 256;
    if (!trk_mem_take(t->mem, (cap - t->cap) * EP_BYTES))
        return -ENOSPC;
    struct cmn_endpoint_rec *ep = realloc(t->ep, cap * sizeof(*ep));
    if (ep)
        t->ep = ep;
    uint8_t *ch = realloc(t->changed, cap);
    if (ch)
        t->changed = ch;
    uint32_t *d = realloc(t->dirty, cap * sizeof(*d));
    if (d)
        t->dirty = d;
    if (!ep || !ch || !d) {
        trk_mem_give(t->mem, (cap - t->cap) * EP_BYTES);
        return -ENOSPC; /* arrays that did grow keep their old contents; cap unchanged */
    }
    t->cap = cap;
    return 0;
}

/* Room for one more endpoint. */
static int s_reserve(struct trk_endpoints *t)
{
    return t->n < t->cap ? 0 : s_grow_arrays(t);
}

static long s_get(struct trk_endpoints *t, const uint8_t ip[16], uint8_t proto, uint16_t port)
{
    struct ep_key k;
    memset(&k, 0, sizeof(k));
    memcpy(k.ip, ip, 16);
    k.port = port;
    k.proto = proto;
    if (s_reserve(t) != 0)
        return -ENOSPC;
    uint32_t idx = (uint32_t)t->n;
    int rc = trk_hset_insert(t->index, &k, cmn_hash_bytes(&k, sizeof(k), t->seed), &idx);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        struct cmn_endpoint_rec *e = &t->ep[idx];
        memset(e, 0, sizeof(*e));
        memcpy(e->ip, ip, 16);
        e->port = port;
        e->proto = proto;
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

/* Insert into a distinct set; 1 new, 0 known, <0 refused (counted by caller). */
static int s_set_add(struct trk_endpoints *t, struct trk_hset *set, const void *key, size_t len)
{
    uint32_t v = 0;
    uint64_t hash = cmn_hash_bytes(key, len, t->seed);
    return trk_hset_insert(set, key, hash, &v);
}

static int s_fold_side(struct trk_endpoints *t, const struct trk_sess_view *v, int side)
{
    const struct cmn_session_rec *r = &v->rec;
    const uint8_t *ip = side == 0 ? r->a_ip : r->b_ip;
    const uint8_t *peer_ip = side == 0 ? r->b_ip : r->a_ip;
    uint16_t port = side == 0 ? r->a_port : r->b_port;
    uint16_t peer_port = side == 0 ? r->b_port : r->a_port;
    int out = side == 0 ? CMN_DIR_AB : CMN_DIR_BA, in = !out;
    if (port == 0)
        return 0; /* port 0 names no service */
    long idx = s_get(t, ip, r->proto, port);
    if (idx < 0)
        return (int)idx;
    struct cmn_endpoint_rec *e = &t->ep[idx];
    int rc = 0;
    e->pkts_out += r->pkts[out];
    e->pkts_in += r->pkts[in];
    e->bytes_out += r->bytes[out];
    e->bytes_in += r->bytes[in];
    s_add32(&e->synack_sent, r->synack[out]);
    s_add32(&e->synack_recv, r->synack[in]);
    s_add32(&e->syn_sent, r->syn[out] - r->synack[out]);
    s_add32(&e->syn_recv, r->syn[in] - r->synack[in]);
    s_add32(&e->rst_sent, r->rst[out]);
    s_add32(&e->rst_recv, r->rst[in]);
    s_add32(&e->init_sessions, v->starts[side]);
    s_add32(&e->resp_sessions, v->starts[!side]);
    if (r->pkts[0] + r->pkts[1] > 0) {
        if (e->first_ns == 0 || r->first_ns < e->first_ns)
            e->first_ns = r->first_ns;
        if (r->last_ns > e->last_ns)
            e->last_ns = r->last_ns;
    }
    if (v->created) {
        struct peer_key pk = {.ep = (uint32_t)idx};
        memcpy(pk.ip, peer_ip, 16);
        int n1 = s_set_add(t, t->peers, &pk, sizeof(pk));
        struct port_key qk = {.ep = (uint32_t)idx, .port = peer_port};
        int n2 = s_set_add(t, t->ports, &qk, sizeof(qk));
        struct sess_key sk = {.ep = (uint32_t)idx, .port = peer_port};
        memcpy(sk.ip, peer_ip, 16);
        int n3 = s_set_add(t, t->sessions, &sk, sizeof(sk));
        if (n1 == 1)
            e->peers++;
        if (n2 == 1)
            e->peer_ports++;
        if (n3 == 1) {
            e->sessions++;
            if (port < peer_port)
                e->lower_port_sessions++;
            if (r->proto == 6 && peer_port == 20)
                e->ftp_data_sessions++;
        }
        if (n1 < 0 || n2 < 0 || n3 < 0)
            rc = -ENOSPC;
    }
    if (!t->changed[idx]) {
        t->changed[idx] = 1;
        t->dirty[t->ndirty++] = (uint32_t)idx;
        s_add32(&e->epochs_seen, 1);
    }
    return rc;
}

bool trk_endpoints_group_session(const struct cmn_session_rec *r)
{
    return cmn_ip_is_group_pair(r->a_ip, r->b_ip);
}

int trk_endpoints_fold(struct trk_endpoints *t, const struct trk_sess_view *v, bool own_a,
                       bool own_b)
{
    if (!trk_endpoints_applies(v->rec.proto, v->rec.flags))
        return 0;
    /* Traffic to a broadcast or multicast group, or from an address not yet
     * configured, is evidence of no role on either side: the group is
     * nobody's server, 0.0.0.0 nobody's client, and the sender's one-way
     * announcements (mDNS, SSDP, NetBIOS datagrams, DHCP discovers) would
     * otherwise read as a client or a one-way UDP server. Decided per session
     * from its two addresses only, so every tracker owning a side agrees.
     * The merger lists this traffic in its groups table. */
    if (trk_endpoints_group_session(&v->rec))
        return 0;
    int rc = 0;
    bool same = memcmp(v->rec.a_ip, v->rec.b_ip, 16) == 0 && v->rec.a_port == v->rec.b_port;
    if (own_a && s_fold_side(t, v, 0) != 0)
        rc = -ENOSPC;
    if (own_b && !same && s_fold_side(t, v, 1) != 0)
        rc = -ENOSPC;
    if (rc)
        t->drops++;
    return rc;
}

size_t trk_endpoints_changed(const struct trk_endpoints *t)
{
    return t->ndirty;
}

size_t trk_endpoints_flush(struct trk_endpoints *t, trk_endpoints_visit_fn fn, void *ctx)
{
    for (size_t i = 0; i < t->ndirty; i++) {
        struct cmn_endpoint_rec *e = &t->ep[t->dirty[i]];
        float conf = 0;
        e->role = (uint8_t)trk_role_decide(e, &conf);
        e->confidence = conf;
        if (fn)
            fn(ctx, e);
        t->changed[t->dirty[i]] = 0;
    }
    size_t n = t->ndirty;
    t->ndirty = 0;
    return n;
}

bool trk_endpoints_get(const struct trk_endpoints *t, const uint8_t ip[16], uint8_t proto,
                       uint16_t port, struct cmn_endpoint_rec *out)
{
    struct ep_key k;
    memset(&k, 0, sizeof(k));
    memcpy(k.ip, ip, 16);
    k.port = port;
    k.proto = proto;
    uint32_t idx;
    if (trk_hset_find(t->index, &k, cmn_hash_bytes(&k, sizeof(k), t->seed), &idx) != 0)
        return false;
    *out = t->ep[idx];
    float conf = 0;
    out->role = (uint8_t)trk_role_decide(out, &conf);
    out->confidence = conf;
    return true;
}

size_t trk_endpoints_count(const struct trk_endpoints *t)
{
    return t->n;
}

uint64_t trk_endpoints_drops(const struct trk_endpoints *t)
{
    return t->drops;
}

void trk_endpoints_reset(struct trk_endpoints *t)
{
    trk_hset_clear(t->index);
    trk_hset_clear(t->peers);
    trk_hset_clear(t->ports);
    trk_hset_clear(t->sessions);
    t->n = 0;
    t->ndirty = 0;
    t->drops = 0;
}

/* Export of one distinct set: keys of moving endpoints, the endpoint index
 * (the key's first word) replaced by its place in the export. */
struct s_exp {
    const uint32_t *ord; /* per endpoint: place in the export, UINT32_MAX = stays */
    size_t key_len;      /* bytes per key */
    uint64_t n;          /* keys counted / written */
    struct cmn_ckpt *c;  /* NULL: count only */
};

static void s_exp_key(void *arg, const void *key, uint32_t val)
{
    (void)val;
    struct s_exp *x = arg;
    uint32_t ep;
    memcpy(&ep, key, sizeof(ep));
    if (x->ord[ep] == UINT32_MAX)
        return;
    x->n++;
    if (!x->c)
        return;
    uint8_t k[TRK_HSET_KEY_MAX];
    memcpy(k, key, x->key_len);
    memcpy(k, &x->ord[ep], sizeof(uint32_t));
    cmn_ckpt_put(x->c, k, x->key_len);
}

void trk_endpoints_export(const struct trk_endpoints *t, trk_ip_fn moves, void *arg,
                          struct cmn_ckpt *c)
{
    (void)CMN_NEVER(t->ndirty != 0); /* only right after a flush */
    uint32_t *ord = malloc((t->n ? t->n : 1) * sizeof(*ord));
    if (!ord) {
        c->err = c->err ? c->err : -ENOMEM;
        return;
    }
    uint64_t m = 0;
    for (size_t i = 0; i < t->n; i++)
        ord[i] = moves(arg, t->ep[i].ip) ? (uint32_t)m++ : UINT32_MAX;
    cmn_ckpt_put_u64(c, m);
    for (size_t i = 0; i < t->n; i++)
        if (ord[i] != UINT32_MAX)
            cmn_ckpt_put(c, &t->ep[i], sizeof(t->ep[i]));
    const struct trk_hset *sets[] = {t->peers, t->ports, t->sessions};
    const size_t lens[] = {sizeof(struct peer_key), sizeof(struct port_key),
                           sizeof(struct sess_key)};
    for (size_t s = 0; s < 3; s++) {
        struct s_exp x = {.ord = ord, .key_len = lens[s]};
        trk_hset_visit(sets[s], s_exp_key, &x);
        cmn_ckpt_put_u64(c, x.n);
        x.c = c;
        trk_hset_visit(sets[s], s_exp_key, &x);
    }
    free(ord);
}

int trk_endpoints_import(struct trk_endpoints *t, struct cmn_ckpt *c)
{
    uint64_t m = cmn_ckpt_get_count(c, UINT32_MAX);
    if (c->err)
        return c->err;
    uint32_t *idx = malloc((m ? m : 1) * sizeof(*idx));
    if (!idx)
        return c->err = -ENOMEM;
    for (uint64_t i = 0; i < m && !c->err; i++) {
        struct cmn_endpoint_rec e;
        if (cmn_ckpt_get(c, &e, sizeof(e)))
            break;
        size_t before = t->n;
        long k = s_get(t, e.ip, e.proto, e.port);
        if (k < 0)
            c->err = (int)k;
        else if (t->n == before)
            c->err = -EPROTO; /* here already: two owners */
        else
            t->ep[k] = e;
        idx[i] = (uint32_t)k;
    }
    struct trk_hset *sets[] = {t->peers, t->ports, t->sessions};
    const size_t lens[] = {sizeof(struct peer_key), sizeof(struct port_key),
                           sizeof(struct sess_key)};
    for (size_t s = 0; s < 3 && !c->err; s++) {
        uint64_t n = cmn_ckpt_get_count(c, UINT32_MAX);
        uint8_t k[TRK_HSET_KEY_MAX];
        for (uint64_t i = 0; i < n && !c->err; i++) {
            uint32_t ep;
            if (cmn_ckpt_get(c, k, lens[s]))
                break;
            memcpy(&ep, k, sizeof(ep));
            if (ep >= m) {
                c->err = -EPROTO;
                break;
            }
            memcpy(k, &idx[ep], sizeof(ep));
            if (s_set_add(t, sets[s], k, lens[s]) < 0)
                c->err = -ENOSPC;
        }
    }
    free(idx);
    return c->err;
}

/* trk_endpoints_drop through cmn_ckpt_rewrite: the kept part out, back in. */
struct s_keep {
    struct trk_endpoints *t;
    trk_ip_fn keep;
    void *arg;
};

static void s_keep_out(void *x, struct cmn_ckpt *c)
{
    const struct s_keep *k = x;
    trk_endpoints_export(k->t, k->keep, k->arg, c);
}

static void s_keep_clear(void *x)
{
    struct trk_endpoints *t = ((struct s_keep *)x)->t;
    uint64_t drops = t->drops;
    trk_endpoints_reset(t);
    t->drops = drops;
}

static int s_keep_in(void *x, struct cmn_ckpt *c)
{
    return trk_endpoints_import(((struct s_keep *)x)->t, c);
}

int trk_endpoints_drop(struct trk_endpoints *t, trk_ip_fn keep, void *arg)
{
    struct s_keep k = {t, keep, arg};
    return cmn_ckpt_rewrite(&k, s_keep_out, s_keep_clear, s_keep_in);
}

void trk_endpoints_save(const struct trk_endpoints *t, struct cmn_ckpt *c)
{
    (void)CMN_NEVER(t->ndirty != 0); /* only right after a flush */
    cmn_ckpt_put_u64(c, t->n);
    cmn_ckpt_put_u64(c, t->drops);
    cmn_ckpt_put(c, t->ep, t->n * sizeof(*t->ep));
    trk_hset_save(t->index, c);
    trk_hset_save(t->peers, c);
    trk_hset_save(t->ports, c);
    trk_hset_save(t->sessions, c);
}

int trk_endpoints_load(struct trk_endpoints *t, struct cmn_ckpt *c)
{
    uint64_t n = cmn_ckpt_get_count(c, UINT32_MAX);
    uint64_t drops = 0;
    if (cmn_ckpt_get(c, &drops, sizeof(drops)) || t->n)
        return c->err ? c->err : (c->err = -EPROTO);
    while (t->cap < n)
        if (s_grow_arrays(t) != 0)
            return c->err = -ENOSPC;
    if (cmn_ckpt_get(c, t->ep, n * sizeof(*t->ep)))
        return c->err;
    if (n)
        memset(t->changed, 0, n);
    t->n = n;
    t->drops = drops;
    if (trk_hset_load(t->index, c) || trk_hset_load(t->peers, c) || trk_hset_load(t->ports, c) ||
        trk_hset_load(t->sessions, c))
        return c->err;
    return trk_hset_count(t->index) == n ? 0 : (c->err = -EPROTO);
}
