/* SPDX-License-Identifier: MIT
 * mrg_live: the live window as C tables (see mrg_live.h). Objects live in
 * chunked pools (stable 32-bit ids, a free list, no per-object malloc) found
 * through open-addressing indexes of (hash << 32 | id + 1) words:
 *
 * - hosts: every address, with its export text and sort key, its traffic
 *   sums and the counts of services it provides and edges it uses;
 * - rows: every row of sessions_all, live sessions and retired folds alike
 *   (a retired bit is part of the key), each with its cumulative counters
 *   laid out as the rule reads them (struct mrg_rule_row), its server side as
 *   last decided, the edge it adds to, and links in the lists of its two
 *   endpoints and (live rows) in a time wheel by last_ns for retirement;
 * - endpoints: every (address, proto, port) a row or a reported endpoint
 *   row names (a side never reported is a stub: not a server, like a missing
 *   row), with what the rule reads (role, confidence), its row list, and the
 *   aggregates of its service over its shown edges;
 * - edges: (client address, server endpoint), with the sums of the rows that
 *   add to it, whether it is shown (a row, and for TCP the handshake rule),
 *   and the commit's usage;
 * - groups: (group address, proto, group port), with the set of senders.
 *
 * Incremental rule, per commit: a delta adds to its row; every row whose
 * server side can have changed is decided again: the rows of the deltas, all
 * rows of an endpoint that became or stopped being a server, the rows of a
 * server whose confidence changed that are decided by confidences (both
 * servers, no initiator: counted per endpoint in nconf). A row that stays on
 * its edge adds its delta to it; a row that moves leaves its old edge, which
 * is then recomputed from the rows of its server endpoint (minimum and
 * maximum times cannot be subtracted), and adds all of itself to the new one.
 * Edges that changed update their service's aggregates and their client's
 * services_used; services that changed update services_provided. Hosts,
 * groups and totals only ever grow. Retirement moves a live row's counters
 * into its fold, which is on the same edge, so no derived row changes.
 */
#define CMN_LOG_TAG "mrg_live"
#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "cmn_hash.h"
#include "mrg_live.h"
#include "mrg_rule.h"

#define NONE UINT32_MAX

#define WHEEL_NS (60ull * 1000000000ull) /* time wheel bucket: one minute of last_ns */

/* ---- small containers ---- */

/* Objects of one size in chunks of 2^shift, found by 32-bit id. */
struct pool {
    uint8_t **chunk;   /* chunks */
    uint32_t nchunk;   /* chunks allocated */
    uint32_t capchunk; /* capacity of `chunk` */
    uint32_t size;     /* object size, >= 4 (a free object links through its first word) */
    uint32_t shift;    /* log2 objects per chunk */
    uint32_t top;      /* ids handed out so far (free ones included) */
    uint32_t free;     /* first free id, NONE when none */
    uint32_t live;     /* objects in use */
};

static void s_pool_init(struct pool *p, uint32_t size, uint32_t shift)
{
    memset(p, 0, sizeof(*p));
    p->size = size;
    p->shift = shift;
    p->free = NONE;
}

static inline void *s_at(const struct pool *p, uint32_t id)
{
    return p->chunk[id >> p->shift] + (size_t)(id & ((1u << p->shift) - 1)) * p->size;
}

static size_t s_pool_bytes(const struct pool *p)
{
    return (size_t)p->nchunk * ((size_t)p->size << p->shift) + p->capchunk * sizeof(void *);
}

/* A zeroed object, or NONE when out of memory. */
static uint32_t s_pool_get(struct pool *p)
{
    uint32_t id;
    if (p->free != NONE) {
        id = p->free;
        memcpy(&p->free, s_at(p, id), sizeof(uint32_t));
    } else {
        if (p->top == NONE - 1)
            return NONE;
        if ((p->top >> p->shift) >= p->nchunk) {
            if (p->nchunk == p->capchunk) {
                uint32_t c = p->capchunk ? 2 * p->capchunk : 16;
                uint8_t **n = realloc(p->chunk, c * sizeof(*n));
                if (!n)
                    return NONE;
                p->chunk = n;
                p->capchunk = c;
            }
            uint8_t *c = malloc((size_t)p->size << p->shift);
            if (!c)
                return NONE;
            p->chunk[p->nchunk++] = c;
        }
        id = p->top++;
    }
    memset(s_at(p, id), 0, p->size);
    p->live++;
    return id;
}

static void s_pool_put(struct pool *p, uint32_t id)
{
    memcpy(s_at(p, id), &p->free, sizeof(uint32_t));
    p->free = id;
    p->live--;
}

static void s_pool_free(struct pool *p)
{
    for (uint32_t i = 0; i < p->nchunk; i++)
        free(p->chunk[i]);
    free(p->chunk);
    memset(p, 0, sizeof(*p));
}

/* Open addressing over words (hash >> 32) << 32 | (id + 1); 0 = free.
 * Linear probing, backward-shift deletion, grown at 3/4. */
struct idx {
    uint64_t *slot; /* 2^k words */
    size_t mask;    /* slots - 1 */
    size_t n;       /* entries */
};

static int s_idx_init(struct idx *x, size_t slots)
{
    x->slot = calloc(slots, sizeof(uint64_t));
    x->mask = slots - 1;
    x->n = 0;
    return x->slot ? 0 : -ENOMEM;
}

static inline uint32_t s_tag(uint64_t h)
{
    return (uint32_t)(h >> 32);
}

static int s_idx_grow(struct idx *x)
{
    size_t ns = (x->mask + 1) * 2;
    uint64_t *n = calloc(ns, sizeof(uint64_t));
    if (!n)
        return -ENOMEM;
    /* only the tag is stored: the home slot is a function of it (s_slot) */
    for (size_t i = 0; i <= x->mask; i++) {
        uint64_t w = x->slot[i];
        if (!w)
            continue;
        size_t j = (size_t)(w >> 32) & (ns - 1);
        while (n[j])
            j = (j + 1) & (ns - 1);
        n[j] = w;
    }
    free(x->slot);
    x->slot = n;
    x->mask = ns - 1;
    return 0;
}

/* The home slot of tag t (the index stores only the tag, the high half of a
 * well-mixed hash: growth reinserts from it; at most 2^32 slots). */
static inline size_t s_slot(const struct idx *x, uint32_t t)
{
    return (size_t)t & x->mask;
}

/* Insert id under tag t (the caller checked it is absent). */
static int s_idx_add(struct idx *x, uint32_t t, uint32_t id)
{
    if ((x->n + 1) * 4 > (x->mask + 1) * 3 && s_idx_grow(x) != 0)
        return -ENOMEM;
    size_t j = s_slot(x, t);
    while (x->slot[j])
        j = (j + 1) & x->mask;
    x->slot[j] = (uint64_t)t << 32 | (uint64_t)(id + 1);
    x->n++;
    return 0;
}

/* Remove the entry of id under tag t. */
static void s_idx_del(struct idx *x, uint32_t t, uint32_t id)
{
    const uint64_t w = (uint64_t)t << 32 | (uint64_t)(id + 1);
    size_t j = s_slot(x, t);
    while (x->slot[j] != w) {
        if (CMN_NEVER(!x->slot[j]))
            return;
        j = (j + 1) & x->mask;
    }
    /* backward shift: move later entries of the run into the hole when their
     * home slot allows */
    size_t hole = j;
    for (size_t k = (j + 1) & x->mask; x->slot[k]; k = (k + 1) & x->mask) {
        size_t home = s_slot(x, (uint32_t)(x->slot[k] >> 32));
        /* k's entry may move to hole when home is not in (hole, k] cyclically */
        bool in = hole <= k ? (home > hole && home <= k) : (home > hole || home <= k);
        if (!in) {
            x->slot[hole] = x->slot[k];
            hole = k;
        }
    }
    x->slot[hole] = 0;
    x->n--;
}

/* Growable array of 32-bit ids. */
struct vec {
    uint32_t *v; /* items */
    size_t n;    /* used */
    size_t cap;  /* capacity */
};

static int s_vec_push(struct vec *a, uint32_t x)
{
    if (a->n == a->cap) {
        size_t c = a->cap ? 2 * a->cap : 256;
        uint32_t *n = realloc(a->v, c * sizeof(*n));
        if (!n)
            return -ENOMEM;
        a->v = n;
        a->cap = c;
    }
    a->v[a->n++] = x;
    return 0;
}

static size_t s_vec_bytes(const struct vec *a)
{
    return a->cap * sizeof(uint32_t);
}

/* Seeded 64-bit mixing of key words (one hash family for the window). */
static inline uint64_t s_mix(uint64_t x)
{
    return cmn_hash_u64(x, 0);
}

static inline uint64_t s_ld64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* ---- objects ---- */

/* host.bits */
#define H_SEEN  0x01 /* in sessions_all: a hosts row */
#define H_DIRTY 0x02 /* in the change list */
#define H_TIME  0x04 /* first_ns / last_ns set */

struct host {
    uint8_t ip[16];          /* the address */
    uint8_t key[16];         /* renkei_ipkey of its text (the address parsed back) */
    uint64_t po, bo, pi, bi; /* packets / bytes out and in over sessions_all */
    uint64_t first_ns;       /* MIN(first_ns) of its rows */
    uint64_t last_ns;        /* MAX(last_ns) */
    uint32_t sp;             /* services rows with this address */
    uint32_t su;             /* shown edges with this address as client */
    char *name;              /* hosts.name (host_names), owned, or NULL */
    uint16_t bits;           /* H_* */
    char txt[CMN_IP_STRLEN]; /* export text */
};

/* row.bits */
#define R_RETIRED 0x001 /* a fold of sessions_retired (part of the key) */
#define R_LINKED  0x002 /* ep[] set: the row can have a server side */
#define R_INDB    0x004 /* written to its table */
#define R_DIRTY   0x008 /* in the change list (put) */
#define R_TOUCH   0x010 /* a delta this commit (in the touched list) */
#define R_REEVAL  0x020 /* queued for a new decision */
#define R_CONF    0x040 /* decided by confidences: counted in both endpoints' nconf */
#define R_WHEEL   0x080 /* in the time wheel (in a bucket at or before its last_ns's) */
#define R_SAMEEP                                                                                   \
    0x100 /* ep[1] == ep[0] (a session of one address and port with                                \
             itself): listed once, as side 0 */

struct row {
    uint32_t a, b;         /* host ids (A the lower address) */
    struct mrg_rule_row k; /* ports, proto, merged flags, group pair, counters */
    uint64_t bytes[2];     /* IP bytes per direction */
    uint64_t first_ns;     /* first packet */
    uint64_t last_ns;      /* last packet */
    uint32_t epochs;       /* epoch deltas merged (sum for a fold) */
    uint32_t retired;      /* sessions folded in; 0 live */
    uint32_t ep[2];        /* endpoints of A and B (R_LINKED; NONE for a -1 port) */
    uint32_t enext[2];     /* next row in ep[i]'s list */
    uint32_t eprev[2];     /* previous row in ep[i]'s list */
    uint32_t edge;         /* the edge it adds to, NONE */
    uint32_t tnext;        /* next in its time wheel bucket (live rows) */
    uint32_t dix;          /* index in lv->drows while R_DIRTY */
    uint16_t bits;         /* R_* */
    uint8_t srv;           /* enum mrg_side as last decided */
    uint8_t grp;           /* enum mrg_side of its group side (MRG_GROUP_SIDE), or NONE */
};

/* ep.bits */
#define E_INDB  0x001 /* an endpoints row */
#define E_SVC   0x002 /* a services row written */
#define E_SDIRT 0x004 /* service in the change list */
#define E_FLIP  0x008 /* queued: server-ness changed */
#define E_CONF  0x010 /* queued: confidence of a server changed */
#define E_WHEEL 0x020 /* in the endpoint wheel (was a non-server row of the table) */
#define E_RECMP 0x040 /* queued: its edges are recomputed */
#define E_PEND  0x080 /* its reported row waits for the next checkpoint */
#define E_BACK  0x100 /* in lv->eback: its last_ns went back before its wheel bucket */

struct ep {
    uint32_t host;       /* host id */
    uint16_t port;       /* port */
    uint8_t proto;       /* IP protocol */
    uint8_t role;        /* enum cmn_role (a stub: unknown) */
    float conf;          /* confidence as stored */
    uint32_t head;       /* first row of its list */
    uint32_t nrows;      /* rows in its list */
    uint32_t nconf;      /* rows of its list decided by confidences */
    uint64_t first_ns;   /* the endpoint row's */
    uint64_t last_ns;    /* the endpoint row's */
    uint64_t sv_pkts;    /* its service: packets over shown edges */
    uint64_t sv_bytes;   /* bytes over shown edges */
    uint32_t sv_clients; /* shown edges */
    uint32_t tnext;      /* next in its endpoint wheel bucket */
    uint32_t pend;       /* its row not written yet (E_PEND): index in lv->pend */
    uint16_t bits;       /* E_* */
};

/* An endpoint row waiting for the next checkpoint. */
struct pend {
    struct cmn_endpoint_rec rec; /* as reported */
    float conf;                  /* clamped */
    uint32_t ep;                 /* endpoint id, NONE once superseded or expired */
};

/* edge.bits */
#define X_SHOWN 0x01 /* its contribution is in the service and the client's su (a row) */
#define X_DIRTY 0x02 /* in the change list */
#define X_RECMP 0x04 /* to recompute from its server endpoint's rows */
#define X_USAGE 0x08 /* has usage this commit */
#define X_INDB  0x10 /* an edges row */

struct edge {
    uint32_t client;   /* client host id */
    uint32_t sep;      /* server endpoint id */
    uint64_t pk[2];    /* packets client -> server [0], server -> client [1] */
    uint64_t by[2];    /* bytes, same order */
    int64_t real;      /* the client's real packets (handshake rule) */
    uint64_t first_ns; /* MIN over its rows */
    uint64_t last_ns;  /* MAX over its rows */
    uint64_t retired;  /* sessions folded in its retired rows */
    uint64_t sessions; /* sessions column as last computed (self edges: distinct ports) */
    uint32_t nrows;    /* rows adding to it */
    uint32_t live;     /* of which live sessions */
    uint64_t sh_pk;    /* packets it adds to its service while shown */
    uint64_t sh_by;    /* bytes it adds to its service while shown */
    uint64_t u_pk[2];  /* the commit's usage: packets c2s, s2c */
    uint64_t u_by[2];  /* bytes c2s, s2c */
    uint32_t u_n;      /* deltas */
    uint16_t bits;     /* X_* */
};

/* group.bits */
#define G_DIRTY 0x01 /* in the change list */

struct group {
    uint32_t host;     /* the group address's host id */
    uint16_t port;     /* group side port */
    uint8_t proto;     /* IP protocol */
    uint8_t bits;      /* G_* */
    uint64_t pk, by;   /* both directions */
    uint64_t first_ns; /* times */
    uint64_t last_ns;
    uint32_t senders; /* distinct addresses on the other side */
};

/* A delta as the derive step needs it (its row holds the sums already). */
struct touch {
    uint32_t row;      /* row id */
    uint8_t flags;     /* the delta's flags (the usage attribution reads them) */
    uint64_t pkts[2];  /* the delta's packets */
    uint64_t bytes[2]; /* bytes */
    int64_t real[2];   /* pkts - (syn - synack) - rst per direction */
};

/* A key of a deleted row (sessions) or endpoint. */
struct delkey {
    uint32_t a, b;          /* host ids (endpoint: a) */
    int32_t a_port, b_port; /* ports (endpoint: a_port) */
    uint8_t proto;          /* IP protocol */
};

/* Time wheel: doubly linked lists of objects by last_ns / WHEEL_NS. */
struct wheel {
    struct wbkt {
        uint64_t no;   /* last_ns / WHEEL_NS */
        uint32_t head; /* first object */
    } * b;             /* buckets by no, from index `start` */
    size_t start, n, cap;
};

struct mrg_live {
    uint64_t seed;       /* hash seed */
    uint64_t memcap;     /* bytes */
    struct pool hosts;   /* struct host */
    struct pool rows;    /* struct row */
    struct pool eps;     /* struct ep */
    struct pool edges;   /* struct edge */
    struct pool groups;  /* struct group */
    struct idx hidx;     /* hosts by address */
    struct idx ridx;     /* rows by key */
    struct idx eidx;     /* endpoints by (host, proto, port) */
    struct idx xidx;     /* edges by (client, server endpoint) */
    struct idx gidx;     /* groups by (host, proto, port) */
    uint64_t *senders;   /* set of (group id + 1) << 32 | sender host id; 0 free */
    size_t smask, sn;    /* its slots - 1, entries */
    struct wheel rwheel; /* live rows by last_ns */
    struct wheel ewheel; /* non-server endpoint rows by last_ns */
    struct vec touched;  /* rows with a delta this commit (R_TOUCH) */
    struct delkey *dels; /* rows deleted from sessions this commit */
    size_t ndels, capdels;
    struct delkey *edels; /* endpoint rows deleted */
    size_t nedels, capedels;
    struct pend *pend; /* endpoint rows waiting for the checkpoint */
    size_t npend, cappend;
    struct vec drows;           /* rows to put (live and retired) */
    struct vec reeval;          /* rows to decide again (not touched) */
    struct vec flips;           /* endpoints whose server-ness changed */
    struct vec confs;           /* server endpoints whose confidence changed */
    struct vec dedges;          /* edges changed */
    struct vec xdel;            /* edges to delete: (client, sep) of edges no longer shown */
    struct vec dsvc;            /* endpoints whose service changed */
    struct vec dhosts;          /* hosts changed */
    struct vec dgroups;         /* groups changed */
    struct vec usage;           /* edges with usage this commit */
    struct vec recomp;          /* server endpoints with edges to recompute */
    struct vec scratch;         /* temporary */
    struct vec eback;           /* endpoints whose last_ns went back (E_BACK) */
    struct mrg_live_totals tot; /* meta totals */
    struct {                    /* names of host_names: address -> name */
        uint8_t (*ip)[16];
        char **name;
        size_t n, cap;
        struct idx idx;
    } names;
    bool nocap;       /* reloading or retiring: the memcap does not refuse */
    uint64_t evicted; /* live sessions retired early for the memcap */
    uint64_t refused; /* deltas and endpoint rows refused for the memcap */
};

#define HOST(lv, id)  ((struct host *)s_at(&(lv)->hosts, id))
#define ROW(lv, id)   ((struct row *)s_at(&(lv)->rows, id))
#define EP(lv, id)    ((struct ep *)s_at(&(lv)->eps, id))
#define EDGE(lv, id)  ((struct edge *)s_at(&(lv)->edges, id))
#define GROUP(lv, id) ((struct group *)s_at(&(lv)->groups, id))

static inline uint32_t s_id_of(uint64_t w)
{
    return (uint32_t)w - 1;
}

static size_t s_used(const struct mrg_live *lv);

/* Memory left for one more object of `size` bytes (and its index word).
 * While lv->nocap (a reload: the database's window must be whole; a
 * retirement: its folds are what bounds memory) everything is taken. */
static bool s_room(const struct mrg_live *lv, size_t size)
{
    return lv->nocap || s_used(lv) + size + 16 <= lv->memcap;
}

/* ---- time wheel ---- */

/* The links of object id of a wheel over pool p: rows or endpoints. */
static inline uint32_t *s_tlinks(struct mrg_live *lv, const struct wheel *w, uint32_t id)
{
    if (w == &lv->rwheel)
        return &ROW(lv, id)->tnext;
    return &EP(lv, id)->tnext;
}

/* Bucket of number no (created when `make`), or NULL. Buckets are kept
 * sorted; new ones nearly always come last. */
static struct wbkt *s_wbkt(struct wheel *w, uint64_t no, bool make)
{
    size_t lo = w->start, hi = w->start + w->n;
    if (w->n && w->b[hi - 1].no == no)
        return &w->b[hi - 1];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (w->b[mid].no < no)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < w->start + w->n && w->b[lo].no == no)
        return &w->b[lo];
    if (!make)
        return NULL;
    if (w->start + w->n == w->cap) {
        if (w->start > 0) { /* reuse the front freed by expiry */
            memmove(w->b, w->b + w->start, w->n * sizeof(*w->b));
            lo -= w->start;
            w->start = 0;
        } else {
            size_t c = w->cap ? 2 * w->cap : 64;
            struct wbkt *n = realloc(w->b, c * sizeof(*n));
            if (!n)
                return NULL;
            w->b = n;
            w->cap = c;
        }
    }
    memmove(&w->b[lo + 1], &w->b[lo], (w->start + w->n - lo) * sizeof(*w->b));
    w->b[lo] = (struct wbkt){no, NONE};
    w->n++;
    return &w->b[lo];
}

/* Put object id at the head of the bucket of last_ns. The wheel is lazy:
 * an object whose last_ns grows stays where it is (no work per delta) and
 * is moved on when its old bucket is examined (s_wheel_take). */
static bool s_wheel_link(struct mrg_live *lv, struct wheel *w, uint32_t id, uint64_t last_ns)
{
    struct wbkt *b = s_wbkt(w, last_ns / WHEEL_NS, true);
    if (!b)
        return false;
    *s_tlinks(lv, w, id) = b->head;
    b->head = id;
    return true;
}

/* Detach the list of the front bucket (which stays, empty, for objects put
 * back in it); NONE when the wheel is empty. */
static uint32_t s_wheel_take(struct wheel *w, uint64_t *no)
{
    if (!w->n)
        return NONE;
    struct wbkt *b = &w->b[w->start];
    uint32_t head = b->head;
    b->head = NONE;
    *no = b->no;
    return head;
}

/* Drop empty buckets from the front. */
static void s_wheel_trim(struct wheel *w)
{
    while (w->n && w->b[w->start].head == NONE) {
        w->start++;
        w->n--;
    }
    if (!w->n)
        w->start = 0;
}

/* ---- hosts ---- */

static inline uint64_t s_hash_ip(const struct mrg_live *lv, const uint8_t ip[16])
{
    return s_mix(s_ld64(ip) ^ lv->seed) ^ s_mix(s_ld64(ip + 8) + 0x9e3779b97f4a7c15ull);
}

static uint32_t s_host_find(const struct mrg_live *lv, const uint8_t ip[16], uint64_t h)
{
    const struct idx *x = &lv->hidx;
    const uint32_t t = s_tag(h);
    for (size_t j = s_slot(x, t);; j = (j + 1) & x->mask) {
        uint64_t w = x->slot[j];
        if (!w)
            return NONE;
        if ((uint32_t)(w >> 32) == t && memcmp(HOST(lv, s_id_of(w))->ip, ip, 16) == 0)
            return s_id_of(w);
    }
}

static const char *s_name_of(const struct mrg_live *lv, const uint8_t ip[16]);

/* The host of ip, created when new; NONE when the memcap refuses. */
static uint32_t s_host(struct mrg_live *lv, const uint8_t ip[16])
{
    uint64_t h = s_hash_ip(lv, ip);
    uint32_t id = s_host_find(lv, ip, h);
    if (id != NONE)
        return id;
    if (!s_room(lv, sizeof(struct host)))
        return NONE;
    id = s_pool_get(&lv->hosts);
    if (id == NONE)
        return NONE;
    if (s_idx_add(&lv->hidx, s_tag(h), id) != 0) {
        s_pool_put(&lv->hosts, id);
        return NONE;
    }
    struct host *o = HOST(lv, id);
    memcpy(o->ip, ip, 16);
    cmn_ip_format(ip, o->txt, sizeof(o->txt));
    if (cmn_ip_parse(o->txt, o->key) != 0)
        memcpy(o->key, ip, 16);
    const char *n = s_name_of(lv, ip);
    o->name = n ? strdup(n) : NULL;
    return id;
}

static void s_host_dirty(struct mrg_live *lv, uint32_t id)
{
    struct host *o = HOST(lv, id);
    if (!(o->bits & H_DIRTY) && s_vec_push(&lv->dhosts, id) == 0)
        o->bits |= H_DIRTY;
}

/* ---- names ---- */

static const char *s_name_of(const struct mrg_live *lv, const uint8_t ip[16])
{
    if (!lv->names.n)
        return NULL;
    uint64_t h = s_hash_ip(lv, ip);
    const struct idx *x = &lv->names.idx;
    const uint32_t t = s_tag(h);
    for (size_t j = s_slot(x, t);; j = (j + 1) & x->mask) {
        uint64_t w = x->slot[j];
        if (!w)
            return NULL;
        if ((uint32_t)(w >> 32) == t && memcmp(lv->names.ip[s_id_of(w)], ip, 16) == 0)
            return lv->names.name[s_id_of(w)];
    }
}

void mrg_live_set_name(struct mrg_live *lv, const uint8_t ip[16], const char *name)
{
    uint64_t h = s_hash_ip(lv, ip);
    struct idx *x = &lv->names.idx;
    const uint32_t t = s_tag(h);
    size_t found = SIZE_MAX;
    for (size_t j = s_slot(x, t); x->slot[j]; j = (j + 1) & x->mask) {
        uint64_t w = x->slot[j];
        if ((uint32_t)(w >> 32) == t && memcmp(lv->names.ip[s_id_of(w)], ip, 16) == 0) {
            found = s_id_of(w);
            break;
        }
    }
    char *copy = name ? strdup(name) : NULL;
    if (name && !copy)
        abort();
    if (found != SIZE_MAX) {
        free(lv->names.name[found]);
        lv->names.name[found] = copy;
    } else if (copy) {
        if (lv->names.n == lv->names.cap) {
            size_t c = lv->names.cap ? 2 * lv->names.cap : 64;
            lv->names.ip = realloc(lv->names.ip, c * sizeof(*lv->names.ip));
            lv->names.name = realloc(lv->names.name, c * sizeof(*lv->names.name));
            if (!lv->names.ip || !lv->names.name)
                abort();
            lv->names.cap = c;
        }
        memcpy(lv->names.ip[lv->names.n], ip, 16);
        lv->names.name[lv->names.n] = copy;
        if (s_idx_add(x, t, (uint32_t)lv->names.n) != 0)
            abort();
        lv->names.n++;
    }
    uint32_t id = s_host_find(lv, ip, h);
    if (id != NONE) {
        struct host *o = HOST(lv, id);
        free(o->name);
        o->name = name ? strdup(name) : NULL;
    }
}

/* ---- endpoints ---- */

static inline uint64_t s_hash_ep(const struct mrg_live *lv, uint32_t host, uint8_t proto,
                                 uint16_t port)
{
    return s_mix(((uint64_t)host << 24 | (uint64_t)proto << 16 | port) ^ lv->seed ^
                 0x5bd1e9955bd1e995ull);
}

static uint32_t s_ep_find(const struct mrg_live *lv, uint32_t host, uint8_t proto, uint16_t port,
                          uint64_t h)
{
    const struct idx *x = &lv->eidx;
    const uint32_t t = s_tag(h);
    for (size_t j = s_slot(x, t);; j = (j + 1) & x->mask) {
        uint64_t w = x->slot[j];
        if (!w)
            return NONE;
        if ((uint32_t)(w >> 32) != t)
            continue;
        const struct ep *e = EP(lv, s_id_of(w));
        if (e->host == host && e->port == port && e->proto == proto)
            return s_id_of(w);
    }
}

/* The endpoint (host, proto, port), created (a stub) when new; NONE when the
 * memcap refuses. */
static uint32_t s_ep(struct mrg_live *lv, uint32_t host, uint8_t proto, uint16_t port)
{
    uint64_t h = s_hash_ep(lv, host, proto, port);
    uint32_t id = s_ep_find(lv, host, proto, port, h);
    if (id != NONE)
        return id;
    if (!s_room(lv, sizeof(struct ep)))
        return NONE;
    id = s_pool_get(&lv->eps);
    if (id == NONE)
        return NONE;
    if (s_idx_add(&lv->eidx, s_tag(h), id) != 0) {
        s_pool_put(&lv->eps, id);
        return NONE;
    }
    struct ep *e = EP(lv, id);
    e->host = host;
    e->proto = proto;
    e->port = port;
    e->role = CMN_ROLE_UNKNOWN;
    e->head = NONE;
    e->tnext = NONE;
    e->pend = NONE;
    return id;
}

/* Free endpoint id when nothing needs it any more: no row, no endpoints
 * row, nothing queued. */
static void s_ep_maybe_free(struct mrg_live *lv, uint32_t id)
{
    struct ep *e = EP(lv, id);
    if (e->nrows ||
        (e->bits &
         (E_INDB | E_SVC | E_SDIRT | E_FLIP | E_CONF | E_RECMP | E_WHEEL | E_PEND | E_BACK)) ||
        e->sv_clients)
        return;
    s_idx_del(&lv->eidx, s_tag(s_hash_ep(lv, e->host, e->proto, e->port)), id);
    s_pool_put(&lv->eps, id);
}

static inline struct mrg_rule_ep s_f(const struct mrg_live *lv, uint32_t id)
{
    struct mrg_rule_ep f = {false, 0.0};
    if (id != NONE) {
        const struct ep *e = EP(lv, id);
        f.server = e->role == CMN_ROLE_SERVER;
        f.conf = (double)e->conf;
    }
    return f;
}

/* Put row r (side i) at the head of endpoint id's list. */
static void s_ep_link(struct mrg_live *lv, uint32_t rid, int i, uint32_t id)
{
    struct row *r = ROW(lv, rid);
    struct ep *e = EP(lv, id);
    r->ep[i] = id;
    r->eprev[i] = NONE;
    r->enext[i] = e->head;
    if (e->head != NONE) {
        struct row *n = ROW(lv, e->head);
        n->eprev[n->ep[0] == id ? 0 : 1] = rid;
    }
    e->head = rid;
    e->nrows++;
}

static void s_ep_unlink(struct mrg_live *lv, uint32_t rid, int i)
{
    struct row *r = ROW(lv, rid);
    uint32_t id = r->ep[i];
    if (id == NONE)
        return;
    if (i == 1 && (r->bits & R_SAMEEP)) {
        r->ep[1] = NONE;
        r->bits &= (uint16_t)~R_SAMEEP;
        return;
    }
    struct ep *e = EP(lv, id);
    if (r->eprev[i] != NONE) {
        struct row *p = ROW(lv, r->eprev[i]);
        p->enext[p->ep[0] == id ? 0 : 1] = r->enext[i];
    } else {
        e->head = r->enext[i];
    }
    if (r->enext[i] != NONE) {
        struct row *n = ROW(lv, r->enext[i]);
        n->eprev[n->ep[0] == id ? 0 : 1] = r->eprev[i];
    }
    r->ep[i] = NONE;
    e->nrows--;
}

/* Next row after rid in endpoint id's list. */
static inline uint32_t s_ep_next(const struct mrg_live *lv, uint32_t rid, uint32_t id)
{
    const struct row *r = ROW(lv, rid);
    return r->enext[r->ep[0] == id ? 0 : 1];
}

/* ---- rows ---- */

static inline uint64_t s_hash_row(const struct mrg_live *lv, uint32_t a, uint32_t b, int32_t ap,
                                  int32_t bp, uint8_t proto, bool retired)
{
    uint64_t w0 = (uint64_t)a << 32 | b;
    uint64_t w1 = (uint64_t)(uint32_t)ap << 32 | (uint64_t)(uint32_t)bp << 8 | proto |
                  (retired ? 1ull << 63 : 0);
    return s_mix(s_mix(w0 ^ lv->seed) ^ w1);
}

static inline bool s_row_is(const struct row *r, uint32_t a, uint32_t b, int32_t ap, int32_t bp,
                            uint8_t proto, bool retired)
{
    return r->a == a && r->b == b && r->k.a_port == ap && r->k.b_port == bp &&
           r->k.proto == proto && !!(r->bits & R_RETIRED) == retired;
}

static uint32_t s_row_find(const struct mrg_live *lv, uint32_t a, uint32_t b, int32_t ap,
                           int32_t bp, uint8_t proto, bool retired, uint64_t h)
{
    const struct idx *x = &lv->ridx;
    const uint32_t t = s_tag(h);
    for (size_t j = s_slot(x, t);; j = (j + 1) & x->mask) {
        uint64_t w = x->slot[j];
        if (!w)
            return NONE;
        if ((uint32_t)(w >> 32) == t && s_row_is(ROW(lv, s_id_of(w)), a, b, ap, bp, proto, retired))
            return s_id_of(w);
    }
}

/* Group side of a row between addresses a and b (MRG_GROUP_SIDE: A first). */
static uint8_t s_group_side(const uint8_t a[16], const uint8_t b[16])
{
    if (cmn_ip_is_group(a, b))
        return MRG_SIDE_A;
    if (cmn_ip_is_group(b, a))
        return MRG_SIDE_B;
    return MRG_SIDE_NONE;
}

/* A new row of key (a, b, ports, proto, retired), zero counters, linked to
 * its endpoints when it can have a server side. NONE when the memcap (or an
 * allocation) refuses. */
static uint32_t s_row_new(struct mrg_live *lv, uint32_t a, uint32_t b, int32_t ap, int32_t bp,
                          uint8_t proto, bool retired, uint64_t h)
{
    if (!s_room(lv, sizeof(struct row) + 2 * sizeof(struct ep)))
        return NONE;
    const struct host *ha = HOST(lv, a), *hb = HOST(lv, b);
    bool gpair = cmn_ip_is_group_pair(ha->ip, hb->ip);
    bool linked = ap != 0 && bp != 0 && proto != 1 && proto != 58 && !gpair;
    uint32_t ea = NONE, eb = NONE;
    if (linked && ap > 0 && (ea = s_ep(lv, a, proto, (uint16_t)ap)) == NONE)
        return NONE;
    if (linked && bp > 0 && (eb = s_ep(lv, b, proto, (uint16_t)bp)) == NONE)
        return NONE;
    uint32_t id = s_pool_get(&lv->rows);
    if (id == NONE)
        return NONE;
    if (s_idx_add(&lv->ridx, s_tag(h), id) != 0) {
        s_pool_put(&lv->rows, id);
        return NONE;
    }
    struct row *r = ROW(lv, id);
    r->a = a;
    r->b = b;
    r->k.a_port = ap;
    r->k.b_port = bp;
    r->k.proto = proto;
    r->k.group_pair = gpair;
    r->ep[0] = r->ep[1] = NONE;
    r->enext[0] = r->enext[1] = r->eprev[0] = r->eprev[1] = NONE;
    r->edge = NONE;
    r->tnext = NONE;
    r->dix = NONE;
    r->bits = retired ? R_RETIRED : 0;
    r->grp = s_group_side(ha->ip, hb->ip);
    if (linked) {
        r->bits |= R_LINKED;
        if (ea != NONE)
            s_ep_link(lv, id, 0, ea);
        if (eb != NONE && eb == ea) {
            r->ep[1] = eb;
            r->bits |= R_SAMEEP;
        } else if (eb != NONE) {
            s_ep_link(lv, id, 1, eb);
        }
    }
    return id;
}

static void s_row_dirty(struct mrg_live *lv, uint32_t id)
{
    struct row *r = ROW(lv, id);
    if (r->bits & R_DIRTY)
        return;
    r->dix = (uint32_t)lv->drows.n;
    if (s_vec_push(&lv->drows, id) != 0)
        abort();
    r->bits |= R_DIRTY;
}

/* ---- edges ---- */

static inline uint64_t s_hash_edge(const struct mrg_live *lv, uint32_t client, uint32_t sep)
{
    return s_mix(((uint64_t)client << 32 | sep) ^ lv->seed ^ 0x2545f4914f6cdd1dull);
}

/* The edge (client, sep), created when new; NONE when refused. */
static uint32_t s_edge(struct mrg_live *lv, uint32_t client, uint32_t sep)
{
    uint64_t h = s_hash_edge(lv, client, sep);
    const struct idx *x = &lv->xidx;
    const uint32_t t = s_tag(h);
    for (size_t j = s_slot(x, t);; j = (j + 1) & x->mask) {
        uint64_t w = x->slot[j];
        if (!w)
            break;
        if ((uint32_t)(w >> 32) != t)
            continue;
        const struct edge *e = EDGE(lv, s_id_of(w));
        if (e->client == client && e->sep == sep)
            return s_id_of(w);
    }
    /* edges are few (the topology): an edge is never refused once its row
     * was admitted, or the derived tables would be wrong */
    uint32_t id = s_pool_get(&lv->edges);
    if (id == NONE)
        abort();
    if (s_idx_add(&lv->xidx, t, id) != 0)
        abort();
    struct edge *e = EDGE(lv, id);
    e->client = client;
    e->sep = sep;
    return id;
}

static void s_edge_dirty(struct mrg_live *lv, uint32_t id)
{
    struct edge *e = EDGE(lv, id);
    if (!(e->bits & X_DIRTY)) {
        if (s_vec_push(&lv->dedges, id) != 0)
            abort();
        e->bits |= X_DIRTY;
    }
}

/* Client direction of a row whose server side is s. */
static inline int s_cdir(enum mrg_side s)
{
    return s == MRG_SIDE_A ? CMN_DIR_BA : CMN_DIR_AB;
}

/* Edge key of row r with server side s: client host, server endpoint. */
static inline void s_edge_key(const struct row *r, enum mrg_side s, uint32_t *client, uint32_t *sep)
{
    *client = s == MRG_SIDE_A ? r->b : r->a;
    *sep = r->ep[s == MRG_SIDE_A ? 0 : 1];
}

/* Add all of row r (server side s) to edge e. */
static void s_edge_add_row(struct edge *e, const struct row *r, enum mrg_side s)
{
    const int c = s_cdir(s);
    e->pk[0] += r->k.pkts[c];
    e->by[0] += r->bytes[c];
    e->pk[1] += r->k.pkts[1 - c];
    e->by[1] += r->bytes[1 - c];
    e->real += mrg_rule_real(&r->k, s);
    if (e->nrows == 0 || r->first_ns < e->first_ns)
        e->first_ns = r->first_ns;
    if (e->nrows == 0 || r->last_ns > e->last_ns)
        e->last_ns = r->last_ns;
    e->nrows++;
    if (r->bits & R_RETIRED)
        e->retired += r->retired;
    else
        e->live++;
}

/* ---- groups ---- */

static inline uint64_t s_hash_group(const struct mrg_live *lv, uint32_t host, uint8_t proto,
                                    uint16_t port)
{
    return s_mix(((uint64_t)host << 24 | (uint64_t)proto << 16 | port) ^ lv->seed ^
                 0x7f4a7c159e3779b9ull);
}

static uint32_t s_group(struct mrg_live *lv, uint32_t host, uint8_t proto, uint16_t port)
{
    uint64_t h = s_hash_group(lv, host, proto, port);
    const struct idx *x = &lv->gidx;
    const uint32_t t = s_tag(h);
    for (size_t j = s_slot(x, t);; j = (j + 1) & x->mask) {
        uint64_t w = x->slot[j];
        if (!w)
            break;
        if ((uint32_t)(w >> 32) != t)
            continue;
        const struct group *g = GROUP(lv, s_id_of(w));
        if (g->host == host && g->proto == proto && g->port == port)
            return s_id_of(w);
    }
    uint32_t id = s_pool_get(&lv->groups);
    if (id == NONE || s_idx_add(&lv->gidx, t, id) != 0)
        abort();
    struct group *g = GROUP(lv, id);
    g->host = host;
    g->proto = proto;
    g->port = port;
    return id;
}

/* Add sender to group gid's set; true when it was new. */
static bool s_sender_add(struct mrg_live *lv, uint32_t gid, uint32_t sender)
{
    if ((lv->sn + 1) * 4 > (lv->smask + 1) * 3) {
        size_t ns = (lv->smask + 1) * 2;
        uint64_t *n = calloc(ns, sizeof(*n));
        if (!n)
            abort();
        for (size_t i = 0; i <= lv->smask; i++) {
            uint64_t w = lv->senders[i];
            if (!w)
                continue;
            size_t j = (size_t)s_mix(w) & (ns - 1);
            while (n[j])
                j = (j + 1) & (ns - 1);
            n[j] = w;
        }
        free(lv->senders);
        lv->senders = n;
        lv->smask = ns - 1;
    }
    uint64_t w = (uint64_t)(gid + 1) << 32 | sender;
    size_t j = (size_t)s_mix(w) & lv->smask;
    for (; lv->senders[j]; j = (j + 1) & lv->smask)
        if (lv->senders[j] == w)
            return false;
    lv->senders[j] = w;
    lv->sn++;
    return true;
}

/* Add the counters of a row delta (or a whole row) to its group, if any. */
static void s_group_add(struct mrg_live *lv, const struct row *r, const uint64_t pkts[2],
                        const uint64_t bytes[2], uint64_t first_ns, uint64_t last_ns)
{
    if (r->grp == MRG_SIDE_NONE)
        return;
    bool ga = r->grp == MRG_SIDE_A;
    int32_t port = ga ? r->k.a_port : r->k.b_port;
    uint32_t gid = s_group(lv, ga ? r->a : r->b, r->k.proto, (uint16_t)(port < 0 ? 0 : port));
    struct group *g = GROUP(lv, gid);
    bool first = g->senders == 0; /* every add brings a sender: a new group has none */
    if (s_sender_add(lv, gid, ga ? r->b : r->a))
        g->senders++;
    g->pk += pkts[0] + pkts[1];
    g->by += bytes[0] + bytes[1];
    if (first || first_ns < g->first_ns)
        g->first_ns = first_ns;
    if (first || last_ns > g->last_ns)
        g->last_ns = last_ns;
    if (!(g->bits & G_DIRTY)) {
        if (s_vec_push(&lv->dgroups, gid) != 0)
            abort();
        g->bits |= G_DIRTY;
    }
}

/* ---- construction ---- */

struct mrg_live *mrg_live_new(const struct mrg_live_config *cfg)
{
    struct mrg_live *lv = calloc(1, sizeof(*lv));
    if (!lv)
        abort();
    lv->seed = cfg && cfg->seed ? cfg->seed : 0x6a09e667f3bcc909ull;
    lv->memcap = cfg && cfg->memcap ? cfg->memcap : MRG_LIVE_MEMCAP_DEFAULT;
    s_pool_init(&lv->hosts, sizeof(struct host), 12);
    s_pool_init(&lv->rows, sizeof(struct row), 14);
    s_pool_init(&lv->eps, sizeof(struct ep), 14);
    s_pool_init(&lv->edges, sizeof(struct edge), 12);
    s_pool_init(&lv->groups, sizeof(struct group), 8);
    lv->smask = 255;
    lv->senders = calloc(lv->smask + 1, sizeof(uint64_t));
    if (s_idx_init(&lv->hidx, 1024) || s_idx_init(&lv->ridx, 4096) || s_idx_init(&lv->eidx, 4096) ||
        s_idx_init(&lv->xidx, 1024) || s_idx_init(&lv->gidx, 64) ||
        s_idx_init(&lv->names.idx, 64) || !lv->senders)
        abort();
    return lv;
}

void mrg_live_destroy(struct mrg_live **lvp)
{
    if (!lvp || !*lvp)
        return;
    struct mrg_live *lv = *lvp;
    for (uint32_t i = 0; i < lv->hosts.top; i++) {
        /* a free host's first word is a link, its name pointer is stale:
         * free hosts never exist (hosts are never freed) */
        free(HOST(lv, i)->name);
    }
    for (size_t i = 0; i < lv->names.n; i++)
        free(lv->names.name[i]);
    free(lv->names.ip);
    free(lv->names.name);
    free(lv->names.idx.slot);
    s_pool_free(&lv->hosts);
    s_pool_free(&lv->rows);
    s_pool_free(&lv->eps);
    s_pool_free(&lv->edges);
    s_pool_free(&lv->groups);
    free(lv->hidx.slot);
    free(lv->ridx.slot);
    free(lv->eidx.slot);
    free(lv->xidx.slot);
    free(lv->gidx.slot);
    free(lv->senders);
    free(lv->rwheel.b);
    free(lv->ewheel.b);
    free(lv->dels);
    free(lv->edels);
    free(lv->pend);
    struct vec *v[] = {&lv->drows,  &lv->reeval,  &lv->flips,  &lv->confs,   &lv->dedges,
                       &lv->xdel,   &lv->dsvc,    &lv->dhosts, &lv->dgroups, &lv->usage,
                       &lv->recomp, &lv->scratch, &lv->eback,  &lv->touched};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        free(v[i]->v);
    free(lv);
    *lvp = NULL;
}

static size_t s_idx_bytes(const struct idx *x)
{
    return (x->mask + 1) * sizeof(uint64_t);
}

/* Bytes the memcap counts: objects in use and the indexes (a pool keeps its
 * freed objects for reuse; RSS follows the high-water mark of this). */
static size_t s_used(const struct mrg_live *lv)
{
    return (size_t)lv->hosts.live * sizeof(struct host) +
           (size_t)lv->rows.live * sizeof(struct row) + (size_t)lv->eps.live * sizeof(struct ep) +
           (size_t)lv->edges.live * sizeof(struct edge) +
           (size_t)lv->groups.live * sizeof(struct group) + s_idx_bytes(&lv->hidx) +
           s_idx_bytes(&lv->ridx) + s_idx_bytes(&lv->eidx) + s_idx_bytes(&lv->xidx) +
           s_idx_bytes(&lv->gidx) + (lv->smask + 1) * sizeof(uint64_t);
}

void mrg_live_get_stats(const struct mrg_live *lv, struct mrg_live_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->bytes = s_pool_bytes(&lv->hosts) + s_pool_bytes(&lv->rows) + s_pool_bytes(&lv->eps) +
                 s_pool_bytes(&lv->edges) + s_pool_bytes(&lv->groups) + s_idx_bytes(&lv->hidx) +
                 s_idx_bytes(&lv->ridx) + s_idx_bytes(&lv->eidx) + s_idx_bytes(&lv->xidx) +
                 s_idx_bytes(&lv->gidx) + (lv->smask + 1) * sizeof(uint64_t) +
                 s_vec_bytes(&lv->touched) + s_vec_bytes(&lv->drows) + s_vec_bytes(&lv->dedges) +
                 s_vec_bytes(&lv->dhosts);
    out->hosts = lv->hosts.live;
    out->sessions = lv->ridx.n; /* live and retired */
    out->endpoints = lv->eps.live;
    out->edges = lv->edges.live;
    out->groups = lv->groups.live;
    out->sessions_evicted = lv->evicted;
    out->refused = lv->refused;
}

/* ---- applying a commit ---- */

void mrg_live_epoch_begin(struct mrg_live *lv)
{
    lv->touched.n = 0;
}

/* Add traffic sent (po, bo) and received (pi, bi) to host id. */
static void s_host_add(struct mrg_live *lv, uint32_t id, uint64_t po, uint64_t bo, uint64_t pi,
                       uint64_t bi, uint64_t first_ns, uint64_t last_ns)
{
    struct host *o = HOST(lv, id);
    o->po += po;
    o->bo += bo;
    o->pi += pi;
    o->bi += bi;
    if (!(o->bits & H_TIME) || first_ns < o->first_ns)
        o->first_ns = first_ns;
    if (!(o->bits & H_TIME) || last_ns > o->last_ns)
        o->last_ns = last_ns;
    o->bits |= H_SEEN | H_TIME;
    s_host_dirty(lv, id);
}

static void s_totals_add(struct mrg_live *lv, const uint64_t pkts[2], const uint64_t bytes[2],
                         uint64_t first_ns, uint64_t last_ns)
{
    struct mrg_live_totals *t = &lv->tot;
    t->pkts += pkts[0] + pkts[1];
    t->bytes += bytes[0] + bytes[1];
    if (!t->any || first_ns < t->first_ns)
        t->first_ns = first_ns;
    if (!t->any || last_ns > t->last_ns)
        t->last_ns = last_ns;
    t->any = true;
}

static void s_decide(struct mrg_live *lv, uint32_t id, const struct touch *t);

int mrg_live_add_session(struct mrg_live *lv, const struct cmn_session_rec *d)
{
    uint32_t a = s_host(lv, d->a_ip);
    uint32_t b = a == NONE ? NONE : s_host(lv, d->b_ip);
    uint64_t h = b == NONE ? 0 : s_hash_row(lv, a, b, d->a_port, d->b_port, d->proto, false);
    uint32_t id = b == NONE ? NONE : s_row_find(lv, a, b, d->a_port, d->b_port, d->proto, false, h);
    if (id == NONE && b != NONE)
        id = s_row_new(lv, a, b, d->a_port, d->b_port, d->proto, false, h);
    if (id == NONE) {
        lv->refused++;
        return -ENOSPC;
    }
    struct row *r = ROW(lv, id);
    struct touch t;
    t.row = id;
    t.flags = d->flags;
    for (int i = 0; i < 2; i++) {
        t.pkts[i] = d->pkts[i];
        t.bytes[i] = d->bytes[i];
        t.real[i] =
            (int64_t)d->pkts[i] - ((int64_t)d->syn[i] - (int64_t)d->synack[i]) - (int64_t)d->rst[i];
    }
    if (!(r->bits & R_TOUCH)) {
        if (s_vec_push(&lv->touched, id) != 0)
            abort();
        r->bits |= R_TOUCH;
    }
    s_host_add(lv, a, d->pkts[0], d->bytes[0], d->pkts[1], d->bytes[1], d->first_ns, d->last_ns);
    s_host_add(lv, b, d->pkts[1], d->bytes[1], d->pkts[0], d->bytes[0], d->first_ns, d->last_ns);
    s_totals_add(lv, d->pkts, d->bytes, d->first_ns, d->last_ns);
    s_group_add(lv, r, d->pkts, d->bytes, d->first_ns, d->last_ns);
    for (int i = 0; i < 2; i++) {
        r->k.pkts[i] += d->pkts[i];
        r->bytes[i] += d->bytes[i];
        r->k.syn[i] += d->syn[i];
        r->k.synack[i] += d->synack[i];
        r->k.ack[i] += d->ack[i];
        r->k.fin[i] += d->fin[i];
        r->k.rst[i] += d->rst[i];
    }
    /* the initiator is decided by the first epoch that saw the session */
    if (r->k.flags & (CMN_SESS_A_INIT | CMN_SESS_B_INIT))
        r->k.flags |= (uint8_t)(d->flags & ~(CMN_SESS_A_INIT | CMN_SESS_B_INIT));
    else
        r->k.flags |= d->flags;
    if (r->epochs == 0 || d->first_ns < r->first_ns)
        r->first_ns = d->first_ns;
    if (r->epochs == 0 || d->last_ns > r->last_ns)
        r->last_ns = d->last_ns;
    r->epochs++;
    if (!(r->bits & R_WHEEL)) { /* a new row; later deltas only move last_ns on */
        if (!s_wheel_link(lv, &lv->rwheel, id, r->last_ns))
            abort();
        r->bits |= R_WHEEL;
    }
    s_row_dirty(lv, id);
    /* decided at once, the row at hand: the commit's endpoint rows came
     * first, so the rule sees them as the epoch leaves them */
    s_decide(lv, id, &t);
    return 0;
}

static void s_queue_ep(struct mrg_live *lv, struct vec *v, uint32_t id, uint16_t bit)
{
    struct ep *e = EP(lv, id);
    if (!(e->bits & bit)) {
        if (s_vec_push(v, id) != 0)
            abort();
        e->bits |= bit;
    }
}

int mrg_live_put_endpoint(struct mrg_live *lv, const struct cmn_endpoint_rec *rec, float conf,
                          bool defer)
{
    uint32_t h = s_host(lv, rec->ip);
    uint32_t id = h == NONE ? NONE : s_ep(lv, h, rec->proto, rec->port);
    if (id == NONE) {
        lv->refused++;
        return -ENOSPC;
    }
    struct ep *e = EP(lv, id);
    bool old_srv = e->role == CMN_ROLE_SERVER, srv = rec->role == CMN_ROLE_SERVER;
    float old_conf = e->conf;
    if ((e->bits & E_WHEEL) && !(e->bits & E_BACK) &&
        rec->last_ns / WHEEL_NS < e->last_ns / WHEEL_NS) {
        /* the lazy wheel holds it too late: examined on its own until due */
        if (s_vec_push(&lv->eback, id) != 0)
            abort();
        e->bits |= E_BACK;
    }
    e->role = rec->role;
    e->conf = conf;
    e->first_ns = rec->first_ns;
    e->last_ns = rec->last_ns;
    e->bits |= E_INDB;
    if (!srv && !(e->bits & E_WHEEL)) {
        if (!s_wheel_link(lv, &lv->ewheel, id, e->last_ns))
            abort();
        e->bits |= E_WHEEL;
    }
    if (old_srv != srv)
        s_queue_ep(lv, &lv->flips, id, E_FLIP);
    else if (srv && old_conf != conf)
        s_queue_ep(lv, &lv->confs, id, E_CONF);
    if (old_srv || srv)
        s_queue_ep(lv, &lv->dsvc, id, E_SDIRT);
    if (!defer || old_srv || srv) {
        if (e->bits & E_PEND) { /* superseded by this row */
            lv->pend[e->pend].ep = NONE;
            e->bits &= (uint16_t)~E_PEND;
        }
        return 1; /* services read it: the caller writes it now */
    }
    if (e->bits & E_PEND) { /* the newer row replaces the waiting one */
        lv->pend[e->pend].rec = *rec;
        lv->pend[e->pend].conf = conf;
        return 0;
    }
    if (lv->npend == lv->cappend) {
        size_t c = lv->cappend ? 2 * lv->cappend : 1024;
        struct pend *n = realloc(lv->pend, c * sizeof(*n));
        if (!n)
            abort();
        lv->pend = n;
        lv->cappend = c;
    }
    e->pend = (uint32_t)lv->npend;
    lv->pend[lv->npend++] = (struct pend){*rec, conf, id};
    e->bits |= E_PEND;
    return 0;
}

/* ---- deciding ---- */

static void s_queue_row(struct mrg_live *lv, uint32_t id)
{
    struct row *r = ROW(lv, id);
    if (r->bits & (R_TOUCH | R_REEVAL))
        return;
    if (s_vec_push(&lv->reeval, id) != 0)
        abort();
    r->bits |= R_REEVAL;
}

/* Edge e lost a row: recompute it from its server endpoint's rows. */
static void s_edge_recompute_later(struct mrg_live *lv, uint32_t eid)
{
    struct edge *e = EDGE(lv, eid);
    e->bits |= X_RECMP;
    s_edge_dirty(lv, eid);
    s_queue_ep(lv, &lv->recomp, e->sep, E_RECMP);
}

/* Decide row id's server side again (the endpoints as they are now), move
 * it between edges, and, for a delta t of this commit, add the delta to its
 * edge and attribute it for the usage rows (with the delta's own flags, as
 * the per-epoch attribution always did). */
static void s_decide(struct mrg_live *lv, uint32_t id, const struct touch *t)
{
    struct row *r = ROW(lv, id);
    enum mrg_side s = MRG_SIDE_NONE;
    bool by_conf = false;
    struct mrg_rule_ep fa = {false, 0.0}, fb = {false, 0.0};
    if (r->bits & R_LINKED) {
        fa = s_f(lv, r->ep[0]);
        fb = s_f(lv, r->ep[1]);
        s = mrg_rule_named_side(&r->k, &fa, &fb, &by_conf);
        if (s != MRG_SIDE_NONE) {
            int d = s == MRG_SIDE_A ? CMN_DIR_AB : CMN_DIR_BA;
            if (mrg_rule_probe(&r->k, d) || mrg_rule_refused(&r->k, d))
                s = MRG_SIDE_NONE;
        }
    }
    if (by_conf != !!(r->bits & R_CONF)) {
        /* decided by confidences: a confidence change of either end must
         * bring the row back here */
        int inc = by_conf ? 1 : -1;
        EP(lv, r->ep[0])->nconf += (uint32_t)inc;
        if (!(r->bits & R_SAMEEP))
            EP(lv, r->ep[1])->nconf += (uint32_t)inc;
        r->bits ^= R_CONF;
    }
    uint32_t old = r->edge, ne = NONE;
    if (s != MRG_SIDE_NONE && s == r->srv && old != NONE) {
        ne = old; /* the same side: the same edge (its endpoints never change) */
    } else if (s != MRG_SIDE_NONE) {
        uint32_t client, sep;
        s_edge_key(r, s, &client, &sep);
        ne = s_edge(lv, client, sep);
    }
    if (ne != NONE && ne == old) {
        if (t) {
            struct edge *e = EDGE(lv, ne);
            const int c = s_cdir(s);
            e->pk[0] += t->pkts[c];
            e->by[0] += t->bytes[c];
            e->pk[1] += t->pkts[1 - c];
            e->by[1] += t->bytes[1 - c];
            e->real += t->real[c];
            if (r->first_ns < e->first_ns)
                e->first_ns = r->first_ns;
            if (r->last_ns > e->last_ns)
                e->last_ns = r->last_ns;
            s_edge_dirty(lv, ne);
        }
    } else if (ne != old) {
        if (old != NONE)
            s_edge_recompute_later(lv, old);
        if (ne != NONE) {
            s_edge_add_row(EDGE(lv, ne), r, s);
            s_edge_dirty(lv, ne);
        }
        r->edge = ne;
    }
    r->srv = (uint8_t)s;
    if (!t)
        return;
    enum mrg_side su = s;
    if (t->flags != r->k.flags && (r->bits & R_LINKED)) {
        struct mrg_rule_row k = r->k;
        k.flags = t->flags;
        su = mrg_rule_srv_side(&k, &fa, &fb);
    }
    if (su == MRG_SIDE_NONE)
        return;
    uint32_t ue = ne;
    if (su != s) {
        uint32_t client, sep;
        s_edge_key(r, su, &client, &sep);
        ue = s_edge(lv, client, sep);
    }
    struct edge *u = EDGE(lv, ue);
    const int c = s_cdir(su);
    u->u_pk[0] += t->pkts[c];
    u->u_by[0] += t->bytes[c];
    u->u_pk[1] += t->pkts[1 - c];
    u->u_by[1] += t->bytes[1 - c];
    u->u_n++;
    if (!(u->bits & X_USAGE)) {
        if (s_vec_push(&lv->usage, ue) != 0)
            abort();
        u->bits |= X_USAGE;
    }
}

/* Recompute the edges marked X_RECMP from the rows of their server
 * endpoints (queued in lv->recomp). */
static void s_recompute(struct mrg_live *lv)
{
    if (!lv->recomp.n)
        return;
    for (size_t i = 0; i < lv->dedges.n; i++) {
        struct edge *e = EDGE(lv, lv->dedges.v[i]);
        if (!(e->bits & X_RECMP))
            continue;
        e->pk[0] = e->pk[1] = e->by[0] = e->by[1] = 0;
        e->real = 0;
        e->first_ns = e->last_ns = 0;
        e->retired = 0;
        e->nrows = e->live = 0;
    }
    for (size_t i = 0; i < lv->recomp.n; i++) {
        uint32_t sep = lv->recomp.v[i];
        for (uint32_t rid = EP(lv, sep)->head; rid != NONE; rid = s_ep_next(lv, rid, sep)) {
            const struct row *r = ROW(lv, rid);
            if (r->edge == NONE)
                continue;
            struct edge *e = EDGE(lv, r->edge);
            if ((e->bits & X_RECMP) && e->sep == sep)
                s_edge_add_row(e, r, (enum mrg_side)r->srv);
        }
    }
    for (size_t i = 0; i < lv->dedges.n; i++)
        EDGE(lv, lv->dedges.v[i])->bits &= (uint16_t)~X_RECMP;
    for (size_t i = 0; i < lv->recomp.n; i++)
        EP(lv, lv->recomp.v[i])->bits &= (uint16_t)~E_RECMP;
    lv->recomp.n = 0;
}

static int s_cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

/* sessions column of a self edge (client address = server address): the
 * distinct client ports of its live rows plus the retired ones. */
static uint64_t s_self_sessions(struct mrg_live *lv, uint32_t eid)
{
    const struct edge *e = EDGE(lv, eid);
    lv->scratch.n = 0;
    uint64_t retired = 0;
    for (uint32_t rid = EP(lv, e->sep)->head; rid != NONE; rid = s_ep_next(lv, rid, e->sep)) {
        const struct row *r = ROW(lv, rid);
        if (r->edge != eid)
            continue;
        if (r->bits & R_RETIRED) {
            retired += r->retired;
            continue;
        }
        int32_t cp = r->srv == MRG_SIDE_A ? r->k.b_port : r->k.a_port;
        if (s_vec_push(&lv->scratch, (uint32_t)cp) != 0)
            abort();
    }
    if (lv->scratch.n > 1) /* an empty array may have no buffer yet */
        qsort(lv->scratch.v, lv->scratch.n, sizeof(uint32_t), s_cmp_u32);
    uint64_t n = 0;
    for (size_t i = 0; i < lv->scratch.n; i++)
        n += i == 0 || lv->scratch.v[i] != lv->scratch.v[i - 1];
    return n + retired;
}

/* Changed edges: shown or not, their service's aggregates, their client's
 * services_used; then changed services: services_provided. From `from` on
 * in lv->dedges and lv->dsvc. */
static void s_settle(struct mrg_live *lv, size_t edges_from, size_t svc_from)
{
    for (size_t i = edges_from; i < lv->dedges.n; i++) {
        uint32_t eid = lv->dedges.v[i];
        struct edge *e = EDGE(lv, eid);
        struct ep *sv = EP(lv, e->sep);
        bool shown = e->nrows > 0 && (sv->proto != 6 || e->real > 0);
        bool was = e->bits & X_SHOWN;
        if (was) {
            sv->sv_clients--;
            sv->sv_pkts -= e->sh_pk;
            sv->sv_bytes -= e->sh_by;
        }
        if (shown) {
            e->sh_pk = e->pk[0] + e->pk[1];
            e->sh_by = e->by[0] + e->by[1];
            sv->sv_clients++;
            sv->sv_pkts += e->sh_pk;
            sv->sv_bytes += e->sh_by;
            e->sessions = e->client == sv->host ? s_self_sessions(lv, eid) : e->live + e->retired;
        }
        if (was != shown) {
            struct host *c = HOST(lv, e->client);
            c->su += shown ? 1u : (uint32_t)-1;
            s_host_dirty(lv, e->client);
            e->bits ^= X_SHOWN;
        }
        if (was || shown)
            s_queue_ep(lv, &lv->dsvc, e->sep, E_SDIRT);
    }
    for (size_t i = svc_from; i < lv->dsvc.n; i++) {
        uint32_t id = lv->dsvc.v[i];
        struct ep *e = EP(lv, id);
        bool exists = (e->bits & E_INDB) && e->role == CMN_ROLE_SERVER && e->port != 0 &&
                      e->proto != 1 && e->proto != 58;
        if (exists != !!(e->bits & E_SVC)) {
            HOST(lv, e->host)->sp += exists ? 1u : (uint32_t)-1;
            s_host_dirty(lv, e->host);
            e->bits ^= E_SVC;
        }
    }
}

void mrg_live_derive(struct mrg_live *lv)
{
    /* rows whose endpoints changed what the rule reads of them */
    for (size_t i = 0; i < lv->flips.n; i++) {
        uint32_t id = lv->flips.v[i];
        for (uint32_t rid = EP(lv, id)->head; rid != NONE; rid = s_ep_next(lv, rid, id))
            s_queue_row(lv, rid);
    }
    for (size_t i = 0; i < lv->confs.n; i++) {
        uint32_t id = lv->confs.v[i];
        if (EP(lv, id)->nconf == 0)
            continue;
        for (uint32_t rid = EP(lv, id)->head; rid != NONE; rid = s_ep_next(lv, rid, id))
            if (ROW(lv, rid)->bits & R_CONF)
                s_queue_row(lv, rid);
    }
    for (size_t i = 0; i < lv->reeval.n; i++)
        s_decide(lv, lv->reeval.v[i], NULL);
    for (size_t i = 0; i < lv->touched.n; i++)
        ROW(lv, lv->touched.v[i])->bits &= (uint16_t)~R_TOUCH;
    for (size_t i = 0; i < lv->reeval.n; i++)
        ROW(lv, lv->reeval.v[i])->bits &= (uint16_t)~R_REEVAL;
    lv->touched.n = 0;
    lv->reeval.n = 0;
    for (size_t i = 0; i < lv->flips.n; i++)
        EP(lv, lv->flips.v[i])->bits &= (uint16_t)~E_FLIP;
    for (size_t i = 0; i < lv->confs.n; i++)
        EP(lv, lv->confs.v[i])->bits &= (uint16_t)~E_CONF;
    lv->flips.n = lv->confs.n = 0;
    s_recompute(lv);
    s_settle(lv, 0, 0);
}

/* ---- retirement ---- */

/* The port a fold keeps on side X (RETIRED_PORT in docs/SCHEMA.md terms):
 * the server side's own, -1 on the client side; without a server side, a
 * session with a group side keeps that side's port and -1 on a non-zero
 * port of the sender; anything else 0. */
static int32_t s_fold_port(const struct row *r, enum mrg_side me)
{
    int32_t port = me == MRG_SIDE_A ? r->k.a_port : r->k.b_port;
    if (r->srv != MRG_SIDE_NONE)
        return r->srv == me ? port : -1;
    if (r->grp != MRG_SIDE_NONE)
        return r->grp == me ? port : port == 0 ? 0 : -1;
    return 0;
}

static void s_push_del(struct delkey **v, size_t *n, size_t *cap, const struct delkey *k)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 256;
        struct delkey *x = realloc(*v, c * sizeof(*x));
        if (!x)
            abort();
        *v = x;
        *cap = c;
    }
    (*v)[(*n)++] = *k;
}

/* Fold live row id into its retired row and free it. */
static void s_retire_row(struct mrg_live *lv, uint32_t id)
{
    struct row *r = ROW(lv, id);
    int32_t ap = s_fold_port(r, MRG_SIDE_A), bp = s_fold_port(r, MRG_SIDE_B);
    uint64_t h = s_hash_row(lv, r->a, r->b, ap, bp, r->k.proto, true);
    uint32_t fid = s_row_find(lv, r->a, r->b, ap, bp, r->k.proto, true, h);
    bool fresh = fid == NONE;
    if (fresh) {
        fid = s_row_new(lv, r->a, r->b, ap, bp, r->k.proto, true, h); /* lv->nocap */
        if (fid == NONE)
            abort();
        r = ROW(lv, id); /* the pool may have grown: ids stay, chunks too */
    }
    struct row *f = ROW(lv, fid);
    for (int i = 0; i < 2; i++) {
        f->k.pkts[i] += r->k.pkts[i];
        f->bytes[i] += r->bytes[i];
        f->k.syn[i] += r->k.syn[i];
        f->k.synack[i] += r->k.synack[i];
        f->k.ack[i] += r->k.ack[i];
        f->k.fin[i] += r->k.fin[i];
        f->k.rst[i] += r->k.rst[i];
    }
    if (r->k.flags > f->k.flags)
        f->k.flags = r->k.flags;
    f->epochs += r->epochs;
    if (fresh || r->first_ns < f->first_ns)
        f->first_ns = r->first_ns;
    if (fresh || r->last_ns > f->last_ns)
        f->last_ns = r->last_ns;
    f->retired++;
    s_row_dirty(lv, fid);
    /* its edge: the fold has the same server side (its client side has no
     * endpoint, its server endpoint is a server, a fold is never a probe),
     * so the sums stay and one live session becomes a retired one */
    if (r->edge != NONE) {
        struct edge *e = EDGE(lv, r->edge);
        if (fresh && f->srv == MRG_SIDE_NONE && f->edge == NONE) {
            f->srv = r->srv;
            f->edge = r->edge;
            e->live--;
            e->retired++;
        } else if (f->edge == r->edge) {
            e->nrows--;
            e->live--;
            e->retired++;
        } else if (CMN_NEVER(true)) {
            s_edge_recompute_later(lv, r->edge);
            r->edge = NONE;
        }
        if (e->client == EP(lv, e->sep)->host) /* distinct client ports change */
            s_edge_dirty(lv, f->edge != NONE ? f->edge : r->edge);
    }
    if (CMN_NEVER(fresh && f->edge == NONE && r->srv != MRG_SIDE_NONE))
        s_decide(lv, fid, NULL);
    if (r->bits & R_CONF) {
        EP(lv, r->ep[0])->nconf--;
        if (!(r->bits & R_SAMEEP))
            EP(lv, r->ep[1])->nconf--;
    }
    if (r->bits & R_DIRTY)
        lv->drows.v[r->dix] = NONE; /* never written: nothing to write */
    uint32_t ea = r->ep[0], eb = r->ep[1];
    s_ep_unlink(lv, id, 1);
    s_ep_unlink(lv, id, 0);
    if (r->bits & R_INDB) {
        struct delkey k = {r->a, r->b, r->k.a_port, r->k.b_port, r->k.proto};
        s_push_del(&lv->dels, &lv->ndels, &lv->capdels, &k);
    }
    s_idx_del(&lv->ridx,
              s_tag(s_hash_row(lv, r->a, r->b, r->k.a_port, r->k.b_port, r->k.proto, false)), id);
    s_pool_put(&lv->rows, id);
    if (ea != NONE)
        s_ep_maybe_free(lv, ea);
    if (eb != NONE && eb != ea)
        s_ep_maybe_free(lv, eb);
}

/* Retire live rows from the wheel's front: all with last_ns < cut, or
 * (evict) the oldest while memory is above `goal`. A row whose last_ns moved
 * on since it was put in its bucket goes to its bucket now. */
static void s_retire_front(struct mrg_live *lv, bool evict, uint64_t cut, size_t goal)
{
    struct wheel *w = &lv->rwheel;
    for (;;) {
        s_wheel_trim(w);
        if (!w->n || (!evict && w->b[w->start].no * WHEEL_NS >= cut))
            return;
        uint64_t no;
        uint32_t rid = s_wheel_take(w, &no);
        while (rid != NONE) {
            struct row *r = ROW(lv, rid);
            uint32_t next = r->tnext;
            bool go = evict ? r->last_ns / WHEEL_NS <= no && s_used(lv) > goal : r->last_ns < cut;
            if (go) {
                s_retire_row(lv, rid);
                if (evict)
                    lv->evicted++;
            } else if (!s_wheel_link(lv, w, rid, r->last_ns)) {
                abort();
            }
            rid = next;
        }
        if (evict ? s_used(lv) <= goal : (no + 1) * WHEEL_NS > cut)
            return; /* what stays in that bucket is not due yet */
    }
}

/* Endpoint id is due (a non-server row idle since before the cut): its row
 * is deleted. */
static void s_expire_ep(struct mrg_live *lv, uint32_t id)
{
    struct ep *e = EP(lv, id);
    if (e->bits & E_PEND) /* reported, not written: no row to write */
        lv->pend[e->pend].ep = NONE;
    e->bits &= (uint16_t) ~(E_INDB | E_PEND);
    struct delkey k = {e->host, 0, e->port, 0, e->proto};
    s_push_del(&lv->edels, &lv->nedels, &lv->capedels, &k);
}

/* Delete the non-server endpoint rows idle since before cut: no fold needs
 * them (a fold's client side has no endpoint). */
static void s_expire_endpoints(struct mrg_live *lv, uint64_t cut)
{
    size_t keep = 0;
    for (size_t i = 0; i < lv->eback.n; i++) {
        uint32_t id = lv->eback.v[i];
        struct ep *e = EP(lv, id);
        bool live = (e->bits & E_INDB) && e->role != CMN_ROLE_SERVER;
        if (live && e->last_ns < cut)
            s_expire_ep(lv, id);
        else if (live) {
            lv->eback.v[keep++] = id;
            continue;
        }
        e->bits &= (uint16_t)~E_BACK;
        s_ep_maybe_free(lv, id);
    }
    lv->eback.n = keep;
    struct wheel *w = &lv->ewheel;
    for (;;) {
        s_wheel_trim(w);
        if (!w->n || w->b[w->start].no * WHEEL_NS >= cut)
            return;
        uint64_t no;
        uint32_t id = s_wheel_take(w, &no);
        while (id != NONE) {
            struct ep *e = EP(lv, id);
            uint32_t next = e->tnext;
            if (!(e->bits & E_INDB) || e->role == CMN_ROLE_SERVER) {
                e->bits &= (uint16_t)~E_WHEEL; /* a server now, or deleted: not due */
                s_ep_maybe_free(lv, id);
            } else if (e->last_ns < cut) {
                s_expire_ep(lv, id);
                e->bits &= (uint16_t)~E_WHEEL;
                s_ep_maybe_free(lv, id);
            } else if (!s_wheel_link(lv, w, id, e->last_ns)) {
                abort();
            }
            id = next;
        }
        if ((no + 1) * WHEEL_NS > cut)
            return;
    }
}

void mrg_live_retire(struct mrg_live *lv, bool cut_valid, uint64_t cut)
{
    size_t e0 = lv->dedges.n, s0 = lv->dsvc.n;
    lv->nocap = true;
    if (cut_valid) {
        s_retire_front(lv, false, cut, 0);
        s_expire_endpoints(lv, cut);
    }
    const double cap = (double)lv->memcap;
    if ((double)s_used(lv) > MRG_LIVE_EVICT_AT * cap) {
        size_t goal = (size_t)(MRG_LIVE_EVICT_TO * cap);
        uint64_t before = lv->evicted;
        s_retire_front(lv, true, 0, goal);
        if (lv->evicted > before)
            CMN_LOG(WARN,
                    "memcap: %llu live sessions retired early (%zu of %llu bytes in use); raise"
                    " memcap_mb to keep them live",
                    (unsigned long long)(lv->evicted - before), s_used(lv),
                    (unsigned long long)lv->memcap);
    }
    lv->nocap = false;
    s_recompute(lv);
    s_settle(lv, e0, s0);
}

/* ---- visitors ---- */

static void s_row_view(const struct mrg_live *lv, const struct row *r, struct mrg_live_row *v)
{
    v->a_ip = HOST(lv, r->a)->txt;
    v->b_ip = HOST(lv, r->b)->txt;
    v->a_port = r->k.a_port;
    v->b_port = r->k.b_port;
    v->proto = r->k.proto;
    v->flags = r->k.flags;
    v->epochs = r->epochs;
    v->retired = r->retired;
    for (int i = 0; i < 2; i++) {
        v->pkts[i] = r->k.pkts[i];
        v->bytes[i] = r->bytes[i];
        v->syn[i] = r->k.syn[i];
        v->synack[i] = r->k.synack[i];
        v->ack[i] = r->k.ack[i];
        v->fin[i] = r->k.fin[i];
        v->rst[i] = r->k.rst[i];
    }
    v->first_ns = r->first_ns;
    v->last_ns = r->last_ns;
}

static int s_visit_rows(struct mrg_live *lv, bool retired, mrg_live_row_fn fn, void *ctx)
{
    struct mrg_live_row v;
    for (size_t i = 0; i < lv->drows.n; i++) {
        if (lv->drows.v[i] == NONE)
            continue;
        struct row *r = ROW(lv, lv->drows.v[i]);
        if (!!(r->bits & R_RETIRED) != retired)
            continue;
        s_row_view(lv, r, &v);
        if (fn(ctx, &v, true) != 0)
            return -EIO;
        r->bits |= R_INDB;
    }
    if (retired)
        return 0;
    memset(&v, 0, sizeof(v));
    for (size_t i = 0; i < lv->ndels; i++) {
        const struct delkey *k = &lv->dels[i];
        /* a session of that key again since: its put replaces the row */
        if (s_row_find(lv, k->a, k->b, k->a_port, k->b_port, k->proto, false,
                       s_hash_row(lv, k->a, k->b, k->a_port, k->b_port, k->proto, false)) != NONE)
            continue;
        v.a_ip = HOST(lv, k->a)->txt;
        v.b_ip = HOST(lv, k->b)->txt;
        v.a_port = k->a_port;
        v.b_port = k->b_port;
        v.proto = k->proto;
        if (fn(ctx, &v, false) != 0)
            return -EIO;
    }
    return 0;
}

int mrg_live_visit_sessions(struct mrg_live *lv, mrg_live_row_fn fn, void *ctx)
{
    return s_visit_rows(lv, false, fn, ctx);
}

int mrg_live_visit_retired(struct mrg_live *lv, mrg_live_row_fn fn, void *ctx)
{
    return s_visit_rows(lv, true, fn, ctx);
}

int mrg_live_visit_endpoint_deletes(struct mrg_live *lv, mrg_live_ep_fn fn, void *ctx)
{
    for (size_t i = 0; i < lv->nedels; i++) {
        const struct delkey *k = &lv->edels[i];
        /* reported again since: its row is (or is about to be) written */
        uint16_t port = (uint16_t)k->a_port;
        uint32_t id = s_ep_find(lv, k->a, k->proto, port, s_hash_ep(lv, k->a, k->proto, port));
        if (id != NONE && (EP(lv, id)->bits & E_INDB))
            continue;
        struct mrg_live_ep_key v = {HOST(lv, k->a)->txt, k->proto, (uint16_t)k->a_port};
        if (fn(ctx, &v) != 0)
            return -EIO;
    }
    return 0;
}

int mrg_live_visit_endpoints(struct mrg_live *lv, mrg_live_epw_fn fn, void *ctx)
{
    for (size_t i = 0; i < lv->npend; i++) {
        const struct pend *p = &lv->pend[i];
        if (p->ep == NONE)
            continue;
        if (fn(ctx, &p->rec, p->conf) != 0)
            return -EIO;
    }
    return 0;
}

/* Edge ids in the order of the edges table's key (client text, server
 * text, proto, port): SQLite then walks its B-tree forwards, page after
 * page, instead of jumping. */
static int s_cmp_edge(const void *x, const void *y, void *ctx)
{
    const struct mrg_live *lv = ctx;
    const struct edge *a = EDGE(lv, *(const uint32_t *)x), *b = EDGE(lv, *(const uint32_t *)y);
    int c = a->client == b->client ? 0 : strcmp(HOST(lv, a->client)->txt, HOST(lv, b->client)->txt);
    if (c)
        return c;
    const struct ep *sa = EP(lv, a->sep), *sb = EP(lv, b->sep);
    c = sa->host == sb->host ? 0 : strcmp(HOST(lv, sa->host)->txt, HOST(lv, sb->host)->txt);
    if (c)
        return c;
    if (sa->proto != sb->proto)
        return sa->proto < sb->proto ? -1 : 1;
    return sa->port < sb->port ? -1 : sa->port > sb->port;
}

/* The same for usage_edges (server text, proto, port, client text). */
static int s_cmp_usage(const void *x, const void *y, void *ctx)
{
    const struct mrg_live *lv = ctx;
    const struct edge *a = EDGE(lv, *(const uint32_t *)x), *b = EDGE(lv, *(const uint32_t *)y);
    const struct ep *sa = EP(lv, a->sep), *sb = EP(lv, b->sep);
    int c = sa->host == sb->host ? 0 : strcmp(HOST(lv, sa->host)->txt, HOST(lv, sb->host)->txt);
    if (c)
        return c;
    if (sa->proto != sb->proto)
        return sa->proto < sb->proto ? -1 : 1;
    if (sa->port != sb->port)
        return sa->port < sb->port ? -1 : 1;
    return a->client == b->client ? 0 : strcmp(HOST(lv, a->client)->txt, HOST(lv, b->client)->txt);
}

int mrg_live_visit_edges(struct mrg_live *lv, mrg_live_edge_fn fn, void *ctx)
{
    if (lv->dedges.n > 1) /* an empty array may have no buffer yet */
        qsort_r(lv->dedges.v, lv->dedges.n, sizeof(uint32_t), s_cmp_edge, lv);
    for (size_t i = 0; i < lv->dedges.n; i++) {
        struct edge *e = EDGE(lv, lv->dedges.v[i]);
        bool shown = e->bits & X_SHOWN;
        if (!shown && !(e->bits & X_INDB))
            continue;
        const struct ep *sv = EP(lv, e->sep);
        const struct host *c = HOST(lv, e->client), *s = HOST(lv, sv->host);
        struct mrg_live_edge v = {c->txt,      s->txt,      c->key,    s->key,   sv->proto,
                                  sv->port,    e->pk[0],    e->by[0],  e->pk[1], e->by[1],
                                  e->sessions, e->first_ns, e->last_ns};
        if (fn(ctx, &v, shown) != 0)
            return -EIO;
        e->bits = (uint16_t)(shown ? e->bits | X_INDB : e->bits & ~X_INDB);
    }
    return 0;
}

int mrg_live_visit_services(struct mrg_live *lv, mrg_live_service_fn fn, void *ctx)
{
    for (size_t i = 0; i < lv->dsvc.n; i++) {
        const struct ep *e = EP(lv, lv->dsvc.v[i]);
        const struct host *h = HOST(lv, e->host);
        struct mrg_live_service v = {h->txt,        h->key,     e->proto,    e->port,
                                     e->sv_clients, e->sv_pkts, e->sv_bytes, (double)e->conf,
                                     e->first_ns,   e->last_ns};
        if (fn(ctx, &v, e->bits & E_SVC) != 0)
            return -EIO;
    }
    return 0;
}

int mrg_live_visit_hosts(struct mrg_live *lv, mrg_live_host_fn fn, void *ctx)
{
    for (size_t i = 0; i < lv->dhosts.n; i++) {
        const struct host *h = HOST(lv, lv->dhosts.v[i]);
        if (!(h->bits & H_SEEN))
            continue;
        struct mrg_live_host v = {h->txt, h->key, h->name, h->ip, h->sp,       h->su,
                                  h->po,  h->bo,  h->pi,   h->bi, h->first_ns, h->last_ns};
        if (fn(ctx, &v) != 0)
            return -EIO;
    }
    return 0;
}

int mrg_live_visit_groups(struct mrg_live *lv, mrg_live_group_fn fn, void *ctx)
{
    for (size_t i = 0; i < lv->dgroups.n; i++) {
        const struct group *g = GROUP(lv, lv->dgroups.v[i]);
        struct mrg_live_group v = {HOST(lv, g->host)->txt,
                                   g->proto,
                                   g->port,
                                   g->senders,
                                   g->pk,
                                   g->by,
                                   g->first_ns,
                                   g->last_ns};
        if (fn(ctx, &v) != 0)
            return -EIO;
    }
    return 0;
}

int mrg_live_visit_usage(struct mrg_live *lv, mrg_live_usage_fn fn, void *ctx)
{
    if (lv->usage.n > 1)
        qsort_r(lv->usage.v, lv->usage.n, sizeof(uint32_t), s_cmp_usage, lv);
    for (size_t i = 0; i < lv->usage.n; i++) {
        const struct edge *e = EDGE(lv, lv->usage.v[i]);
        const struct ep *sv = EP(lv, e->sep);
        struct mrg_live_usage v = {HOST(lv, sv->host)->txt,
                                   HOST(lv, e->client)->txt,
                                   sv->proto,
                                   sv->port,
                                   e->u_pk[0],
                                   e->u_by[0],
                                   e->u_pk[1],
                                   e->u_by[1],
                                   e->u_n};
        if (fn(ctx, &v) != 0)
            return -EIO;
    }
    return 0;
}

void mrg_live_detail_done(struct mrg_live *lv)
{
    for (size_t i = 0; i < lv->drows.n; i++)
        if (lv->drows.v[i] != NONE)
            ROW(lv, lv->drows.v[i])->bits &= (uint16_t)~R_DIRTY;
    lv->drows.n = 0;
    lv->ndels = lv->nedels = 0;
    for (size_t i = 0; i < lv->npend; i++) {
        uint32_t id = lv->pend[i].ep;
        if (id == NONE)
            continue;
        EP(lv, id)->bits &= (uint16_t)~E_PEND;
        s_ep_maybe_free(lv, id);
    }
    lv->npend = 0;
}

bool mrg_live_detail_pending(const struct mrg_live *lv)
{
    return lv->drows.n || lv->ndels || lv->nedels || lv->npend;
}

void mrg_live_changes_done(struct mrg_live *lv)
{
    for (size_t i = 0; i < lv->dedges.n; i++)
        EDGE(lv, lv->dedges.v[i])->bits &= (uint16_t)~X_DIRTY;
    lv->dedges.n = 0;
    for (size_t i = 0; i < lv->usage.n; i++) {
        struct edge *e = EDGE(lv, lv->usage.v[i]);
        e->bits &= (uint16_t)~X_USAGE;
        e->u_pk[0] = e->u_pk[1] = e->u_by[0] = e->u_by[1] = 0;
        e->u_n = 0;
    }
    lv->usage.n = 0;
    for (size_t i = 0; i < lv->dsvc.n; i++) {
        uint32_t id = lv->dsvc.v[i];
        EP(lv, id)->bits &= (uint16_t)~E_SDIRT;
        s_ep_maybe_free(lv, id);
    }
    lv->dsvc.n = 0;
    for (size_t i = 0; i < lv->dhosts.n; i++)
        HOST(lv, lv->dhosts.v[i])->bits &= (uint16_t)~H_DIRTY;
    lv->dhosts.n = 0;
    for (size_t i = 0; i < lv->dgroups.n; i++)
        GROUP(lv, lv->dgroups.v[i])->bits &= (uint8_t)~G_DIRTY;
    lv->dgroups.n = 0;
}

void mrg_live_totals(const struct mrg_live *lv, struct mrg_live_totals *out)
{
    *out = lv->tot;
}

/* ---- reload ---- */

int mrg_live_load_row(struct mrg_live *lv, const uint8_t a_ip[16], const uint8_t b_ip[16],
                      int32_t a_port, int32_t b_port, const struct mrg_live_row *v)
{
    lv->nocap = true;
    bool retired = v->retired > 0;
    uint32_t a = s_host(lv, a_ip), b = s_host(lv, b_ip);
    uint64_t h = s_hash_row(lv, a, b, a_port, b_port, v->proto, retired);
    if (s_row_find(lv, a, b, a_port, b_port, v->proto, retired, h) != NONE) {
        lv->nocap = false;
        return -EINVAL;
    }
    uint32_t id = s_row_new(lv, a, b, a_port, b_port, v->proto, retired, h);
    lv->nocap = false;
    if (id == NONE)
        abort();
    struct row *r = ROW(lv, id);
    for (int i = 0; i < 2; i++) {
        r->k.pkts[i] = v->pkts[i];
        r->bytes[i] = v->bytes[i];
        r->k.syn[i] = v->syn[i];
        r->k.synack[i] = v->synack[i];
        r->k.ack[i] = v->ack[i];
        r->k.fin[i] = v->fin[i];
        r->k.rst[i] = v->rst[i];
    }
    r->k.flags = v->flags;
    r->epochs = v->epochs;
    r->retired = v->retired;
    r->first_ns = v->first_ns;
    r->last_ns = v->last_ns;
    r->bits |= R_INDB;
    s_host_add(lv, a, v->pkts[0], v->bytes[0], v->pkts[1], v->bytes[1], v->first_ns, v->last_ns);
    s_host_add(lv, b, v->pkts[1], v->bytes[1], v->pkts[0], v->bytes[0], v->first_ns, v->last_ns);
    s_totals_add(lv, v->pkts, v->bytes, v->first_ns, v->last_ns);
    s_group_add(lv, r, v->pkts, v->bytes, v->first_ns, v->last_ns);
    if (!retired) {
        if (!s_wheel_link(lv, &lv->rwheel, id, r->last_ns))
            abort();
        r->bits |= R_WHEEL;
    }
    return 0;
}

int mrg_live_load_endpoint(struct mrg_live *lv, const uint8_t ip[16], uint8_t proto, uint16_t port,
                           uint8_t role, double conf, uint64_t first_ns, uint64_t last_ns)
{
    lv->nocap = true;
    uint32_t h = s_host(lv, ip);
    uint32_t id = s_ep(lv, h, proto, port);
    lv->nocap = false;
    if (id == NONE)
        abort();
    struct ep *e = EP(lv, id);
    if (e->bits & E_INDB)
        return -EINVAL;
    e->role = role;
    e->conf = (float)conf;
    e->first_ns = first_ns;
    e->last_ns = last_ns;
    e->bits |= E_INDB;
    if (role != CMN_ROLE_SERVER) {
        if (!s_wheel_link(lv, &lv->ewheel, id, last_ns))
            abort();
        e->bits |= E_WHEEL;
    }
    if (role == CMN_ROLE_SERVER)
        s_queue_ep(lv, &lv->dsvc, id, E_SDIRT);
    return 0;
}

void mrg_live_load_done(struct mrg_live *lv)
{
    /* every row decided, every edge, service, host and group in the change
     * lists (written again by the caller) */
    for (uint32_t i = 0; i < lv->rows.top; i++) {
        /* ids below top are in use unless on the free list: a reload starts
         * from an empty window, so none is */
        s_decide(lv, i, NULL);
    }
    s_settle(lv, 0, 0);
}

void mrg_live_set_memcap(struct mrg_live *lv, uint64_t memcap)
{
    lv->memcap = memcap ? memcap : MRG_LIVE_MEMCAP_DEFAULT;
}
