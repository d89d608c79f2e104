/* SPDX-License-Identifier: MIT
 * rep_hostset: the hosts table in memory (rep_hostset.h): one scan of hosts,
 * one of services, sorted by address in C (the table's key is the text
 * form, whose order is not the addresses').
 */
#define CMN_LOG_TAG "rep_hostset"
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_log.h"
#include "cmn_sites.h"
#include "rep_hostset.h"

static const char *const s_kind_names[] = {"server", "both", "client", "unknown"};

struct rep_hostset_orders {
    pthread_mutex_t lock;
    uint32_t *by[REP_HS_COUNT][2]; /* [sort][desc], NULL until asked */
};

const char *rep_hkind_name(enum rep_hkind k)
{
    return k <= REP_HK_UNKNOWN ? s_kind_names[k] : "unknown";
}

static uint8_t s_kind(const char *t)
{
    for (uint8_t k = REP_HK_SERVER; t && k < REP_HK_UNKNOWN; k++)
        if (strcmp(t, s_kind_names[k]) == 0)
            return k;
    return REP_HK_UNKNOWN;
}

static int s_row_cmp(const void *a, const void *b)
{
    return memcmp(((const struct rep_hrow *)a)->key, ((const struct rep_hrow *)b)->key, 16);
}

/* Service row of host h: sort key. */
struct svc_load {
    uint32_t host;
    struct rep_hsvc s;
};

static int s_svc_cmp(const void *a, const void *b)
{
    const struct svc_load *x = a, *y = b;
    if (x->host != y->host)
        return x->host < y->host ? -1 : 1;
    if (x->s.proto != y->s.proto)
        return x->s.proto < y->s.proto ? -1 : 1;
    return x->s.port < y->s.port ? -1 : x->s.port > y->s.port;
}

static long s_find(const struct rep_hostset *s, const uint8_t key[16])
{
    size_t lo = 0, hi = s->nhosts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(s->hosts[mid].key, key, 16);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static int s_load_hosts(struct rep_hostset *s, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT ip, network, kind, services_provided, services_used,"
                           " bytes_in + bytes_out, packets_in + packets_out, last_ns FROM hosts",
                           -1, &st, NULL) != SQLITE_OK) {
        CMN_LOG(ERR, "hosts: %s", sqlite3_errmsg(db));
        return -EIO;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ip = (const char *)sqlite3_column_text(st, 0);
        uint8_t key[16];
        if (!ip || cmn_ip_parse(ip, key) != 0)
            continue;
        if (s->nhosts == cap) {
            cap = cap ? cap * 2 : 1024;
            s->hosts = realloc(s->hosts, cap * sizeof(*s->hosts));
            if (!s->hosts)
                abort();
        }
        struct rep_hrow *h = &s->hosts[s->nhosts++];
        memset(h, 0, sizeof(*h));
        snprintf(h->ip, sizeof(h->ip), "%s", ip);
        memcpy(h->key, key, 16);
        const char *net = (const char *)sqlite3_column_text(st, 1);
        snprintf(h->network, sizeof(h->network), "%s", net ? net : "");
        h->kind = s_kind((const char *)sqlite3_column_text(st, 2));
        h->provided = sqlite3_column_int64(st, 3);
        h->used = sqlite3_column_int64(st, 4);
        h->bytes = sqlite3_column_int64(st, 5);
        h->packets = sqlite3_column_int64(st, 6);
        h->last_ns = sqlite3_column_int64(st, 7);
        h->site = cmn_sites_lookup(s->sites, key);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        CMN_LOG(ERR, "hosts: %s", sqlite3_errmsg(db));
        return -EIO;
    }
    if (s->nhosts > 1)
        qsort(s->hosts, s->nhosts, sizeof(*s->hosts), s_row_cmp);
    return 0;
}

static int s_load_services(struct rep_hostset *s, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    struct svc_load *v = NULL;
    size_t n = 0, cap = 0;
    if (sqlite3_prepare_v2(db, "SELECT ip, proto, port FROM services", -1, &st, NULL) !=
        SQLITE_OK) {
        CMN_LOG(ERR, "services: %s", sqlite3_errmsg(db));
        return -EIO;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ip = (const char *)sqlite3_column_text(st, 0);
        uint8_t key[16];
        long h = ip && cmn_ip_parse(ip, key) == 0 ? s_find(s, key) : -1;
        if (h < 0)
            continue; /* a service row always has its host; tolerate a torn read */
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            v = realloc(v, cap * sizeof(*v));
            if (!v)
                abort();
        }
        v[n++] = (struct svc_load){.host = (uint32_t)h,
                                   .s = {.proto = (uint8_t)sqlite3_column_int(st, 1),
                                         .port = (uint32_t)sqlite3_column_int64(st, 2)}};
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        CMN_LOG(ERR, "services: %s", sqlite3_errmsg(db));
        free(v);
        return -EIO;
    }
    if (n > 1)
        qsort(v, n, sizeof(*v), s_svc_cmp);
    s->svcs = malloc((n + 1) * sizeof(*s->svcs));
    if (!s->svcs)
        abort();
    size_t i = 0;
    for (size_t h = 0; h < s->nhosts; h++) {
        s->hosts[h].svc_lo = (uint32_t)i;
        while (i < n && v[i].host == h) {
            s->svcs[i] = v[i].s;
            i++;
        }
        s->hosts[h].svc_hi = (uint32_t)i;
    }
    s->nsvcs = n;
    free(v);
    return 0;
}

static int s_net_name_cmp(const void *a, const void *b, void *arg)
{
    const struct rep_hostset *s = arg;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int c = strcmp(s->hosts[x].network, s->hosts[y].network);
    return c ? c : (x < y ? -1 : x > y);
}

static int s_net_cmp(const void *a, const void *b)
{
    const struct rep_hnet *x = a, *y = b;
    if (x->servers != y->servers)
        return x->servers > y->servers ? -1 : 1;
    if (x->hosts != y->hosts)
        return x->hosts > y->hosts ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* The networks and their counts (GROUP BY network, whatever the order of
 * the addresses in them). */
static void s_networks(struct rep_hostset *s)
{
    uint32_t *by = malloc((s->nhosts + 1) * sizeof(*by));
    s->nets = malloc((s->nhosts + 1) * sizeof(*s->nets));
    if (!by || !s->nets)
        abort();
    for (size_t i = 0; i < s->nhosts; i++)
        by[i] = (uint32_t)i;
    qsort_r(by, s->nhosts, sizeof(*by), s_net_name_cmp, s);
    for (size_t i = 0; i < s->nhosts; i++) {
        const struct rep_hrow *h = &s->hosts[by[i]];
        if (i == 0 || strcmp(h->network, s->hosts[by[i - 1]].network) != 0)
            s->nets[s->nnets++] = (struct rep_hnet){.network = h->network, .first = by[i]};
        struct rep_hnet *n = &s->nets[s->nnets - 1];
        n->hosts++;
        n->servers += h->kind == REP_HK_SERVER || h->kind == REP_HK_BOTH;
        n->bytes += h->bytes;
    }
    free(by);
    if (s->nnets > 1)
        qsort(s->nets, s->nnets, sizeof(*s->nets), s_net_cmp);
}

struct sort_ctx {
    const struct rep_hostset *s;
    enum rep_hsort by;
    bool desc;
};

#define CMP(x, y) ((x) < (y) ? -1 : (x) > (y))

static const char *s_site_of(const struct rep_hostset *s, const struct rep_hrow *h)
{
    return h->site >= 0 ? cmn_sites_name(s->sites, (size_t)h->site) : "~";
}

/* The SQL order the host list had: ORDER BY <column> [DESC], ip_key. */
static int s_order_cmp(const void *a, const void *b, void *arg)
{
    const struct sort_ctx *o = arg;
    uint32_t ia = *(const uint32_t *)a, ib = *(const uint32_t *)b;
    const struct rep_hrow *x = &o->s->hosts[ia], *y = &o->s->hosts[ib];
    int c = 0;
    switch (o->by) {
        case REP_HS_DEFAULT:
            c = o->desc ? CMP(y->kind, x->kind) : CMP(x->kind, y->kind);
            if (c == 0)
                c = CMP(y->bytes, x->bytes);
            return c ? c : CMP(ia, ib);
        case REP_HS_IP:
            c = CMP(ia, ib); /* the set is in address order */
            break;
        case REP_HS_KIND:
            c = CMP(x->kind, y->kind);
            break;
        case REP_HS_SITE:
            c = strcmp(s_site_of(o->s, x), s_site_of(o->s, y));
            break;
        case REP_HS_NETWORK:
            c = strcmp(x->network, y->network);
            break;
        case REP_HS_PROVIDES:
            c = CMP(x->provided, y->provided);
            break;
        case REP_HS_USES:
            c = CMP(x->used, y->used);
            break;
        case REP_HS_VOLUME:
            c = CMP(x->bytes, y->bytes);
            break;
        case REP_HS_PACKETS:
            c = CMP(x->packets, y->packets);
            break;
        default:
            c = CMP(x->last_ns, y->last_ns);
            break;
    }
    if (o->desc)
        c = -c;
    return c ? c : CMP(ia, ib);
}

const uint32_t *rep_hostset_order(const struct rep_hostset *s, enum rep_hsort by, bool desc)
{
    if (by >= REP_HS_COUNT)
        by = REP_HS_DEFAULT;
    struct rep_hostset_orders *o = s->orders;
    pthread_mutex_lock(&o->lock);
    uint32_t *v = o->by[by][desc];
    if (!v) {
        v = malloc((s->nhosts + 1) * sizeof(*v));
        if (!v)
            abort();
        for (size_t i = 0; i < s->nhosts; i++)
            v[i] = (uint32_t)i;
        struct sort_ctx cx = {.s = s, .by = by, .desc = desc};
        qsort_r(v, s->nhosts, sizeof(*v), s_order_cmp, &cx);
        o->by[by][desc] = v;
    }
    pthread_mutex_unlock(&o->lock);
    return v;
}

struct rep_hostset *rep_hostset_load(sqlite3 *db, const struct cmn_sites *sites)
{
    struct rep_hostset *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->orders = calloc(1, sizeof(*s->orders));
    if (!s->orders)
        abort();
    pthread_mutex_init(&s->orders->lock, NULL);
    s->sites = cmn_sites_new();
    for (size_t i = 0; i < cmn_sites_count(sites); i++)
        for (size_t j = 0; j < cmn_sites_cidr_count(sites, i); j++)
            cmn_sites_add(s->sites, cmn_sites_name(sites, i), cmn_sites_kind(sites, i),
                          cmn_sites_cidr(sites, i, j), NULL, 0);
    bool own = sqlite3_get_autocommit(db) != 0; /* else the caller's snapshot */
    if (own && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        CMN_LOG(ERR, "cannot read: %s", sqlite3_errmsg(db));
        rep_hostset_destroy(&s);
        return NULL;
    }
    int rc = s_load_hosts(s, db);
    if (rc == 0)
        rc = s_load_services(s, db);
    if (own)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != 0)
        rep_hostset_destroy(&s);
    else
        s_networks(s);
    return s;
}

void rep_hostset_destroy(struct rep_hostset **sp)
{
    if (!sp || !*sp)
        return;
    struct rep_hostset_orders *o = (*sp)->orders;
    if (o) {
        for (int i = 0; i < REP_HS_COUNT; i++) {
            free(o->by[i][0]);
            free(o->by[i][1]);
        }
        pthread_mutex_destroy(&o->lock);
        free(o);
    }
    free((*sp)->hosts);
    free((*sp)->svcs);
    free((*sp)->nets);
    cmn_sites_destroy(&(*sp)->sites);
    free(*sp);
    *sp = NULL;
}

bool rep_hostset_has_service(const struct rep_hostset *s, size_t h, uint8_t proto, uint32_t port)
{
    for (uint32_t i = s->hosts[h].svc_lo; i < s->hosts[h].svc_hi; i++)
        if (s->svcs[i].proto == proto && s->svcs[i].port == port)
            return true;
    return false;
}
