/* SPDX-License-Identifier: MIT
 * rep_graph: loads hosts, services and edges of a renkei database into
 * arrays indexed by position, sorted so that every "services of a host",
 * "clients of a service" and "dependencies of a host" is a contiguous range.
 * Lookups by address are binary searches over the sorted hosts.
 */
#define CMN_LOG_TAG "rep_graph"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_log.h"
#include "cmn_sites.h"
#include "rep_graph.h"
#include "rep_json.h"
#include "rep_names.h"

static const char *s_own(struct rep_graph *g, const char *s)
{
    if (!s || !*s)
        return NULL;
    if (g->nowned == g->capowned) {
        size_t cap = g->capowned ? g->capowned * 2 : 256;
        char **n = realloc(g->owned, cap * sizeof(*n));
        if (!n)
            abort();
        g->owned = n;
        g->capowned = cap;
    }
    char *d = strdup(s);
    if (!d)
        abort();
    g->owned[g->nowned++] = d;
    return d;
}

static bool s_table_exists(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    bool ok = false;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return ok;
}

static enum rep_host_kind s_kind(const char *k)
{
    if (!k)
        return REP_KIND_UNKNOWN;
    if (strcmp(k, "server") == 0)
        return REP_KIND_SERVER;
    if (strcmp(k, "client") == 0)
        return REP_KIND_CLIENT;
    if (strcmp(k, "both") == 0)
        return REP_KIND_BOTH;
    return REP_KIND_UNKNOWN;
}

const char *rep_host_kind_name(enum rep_host_kind k)
{
    switch (k) {
        case REP_KIND_SERVER:
            return "server";
        case REP_KIND_CLIENT:
            return "client";
        case REP_KIND_BOTH:
            return "both";
        default:
            return "unknown";
    }
}

static int s_host_cmp(const void *a, const void *b)
{
    return memcmp(((const struct rep_ghost *)a)->key, ((const struct rep_ghost *)b)->key, 16);
}

static int s_svc_cmp(const void *a, const void *b)
{
    const struct rep_gsvc *x = a, *y = b;
    if (x->host != y->host)
        return x->host < y->host ? -1 : 1;
    if (x->proto != y->proto)
        return x->proto < y->proto ? -1 : 1;
    return (int)x->port - (int)y->port;
}

long rep_graph_host_find(const struct rep_graph *g, const uint8_t ip[16])
{
    size_t lo = 0, hi = g->nhosts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(g->hosts[mid].key, ip, 16);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

long rep_graph_svc_find(const struct rep_graph *g, uint32_t host, uint8_t proto, uint16_t port)
{
    if (host >= g->nhosts)
        return -1;
    for (uint32_t i = g->hosts[host].svc_lo; i < g->hosts[host].svc_hi; i++)
        if (g->svcs[i].proto == proto && g->svcs[i].port == port)
            return (long)i;
    return -1;
}

static long s_host_of_text(const struct rep_graph *g, const char *ip)
{
    uint8_t k[16];
    if (!ip || cmn_ip_parse(ip, k) != 0)
        return -1;
    return rep_graph_host_find(g, k);
}

/* The last address looked up and its host: the edges arrive in key order,
 * a client's dozen edges in a row, many of them to one server. */
struct memo {
    char ip[CMN_IP_STRLEN]; /* text as read */
    long host;              /* its host, or -1 */
};

static long s_host_memo(const struct rep_graph *g, struct memo *m, const char *ip)
{
    if (!ip)
        return -1;
    if (m->ip[0] && strcmp(m->ip, ip) == 0)
        return m->host;
    m->host = s_host_of_text(g, ip);
    size_t n = strnlen(ip, sizeof(m->ip) - 1);
    memcpy(m->ip, ip, n);
    m->ip[n] = '\0';
    return m->host;
}

const char *rep_graph_site_name(const struct rep_graph *g, int site)
{
    return site >= 0 ? cmn_sites_name(g->sites, (size_t)site) : NULL;
}

/* Sites from the database's `sites` table (written by the merger from its
 * sites_file), or an empty set. */
static struct cmn_sites *s_db_sites(sqlite3 *db)
{
    struct cmn_sites *s = cmn_sites_new();
    sqlite3_stmt *st = NULL;
    if (!s_table_exists(db, "sites"))
        return s;
    if (sqlite3_prepare_v2(db, "SELECT name, kind, cidr FROM sites ORDER BY rowid", -1, &st,
                           NULL) != SQLITE_OK)
        return s;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char err[200];
        const char *n = (const char *)sqlite3_column_text(st, 0);
        const char *k = (const char *)sqlite3_column_text(st, 1);
        const char *c = (const char *)sqlite3_column_text(st, 2);
        if (n && k && c && cmn_sites_add(s, n, k, c, err, sizeof(err)) != 0)
            CMN_LOG(WARN, "sites table: %s", err);
    }
    sqlite3_finalize(st);
    return s;
}

/* Copy of `src` (sites are small). */
static struct cmn_sites *s_copy_sites(const struct cmn_sites *src)
{
    struct cmn_sites *s = cmn_sites_new();
    for (size_t i = 0; i < cmn_sites_count(src); i++)
        for (size_t j = 0; j < cmn_sites_cidr_count(src, i); j++)
            cmn_sites_add(s, cmn_sites_name(src, i), cmn_sites_kind(src, i),
                          cmn_sites_cidr(src, i, j), NULL, 0);
    return s;
}

static int s_load_hosts(struct rep_graph *g, sqlite3 *db, const struct rep_names *names)
{
    const char *sql = "SELECT ip, NULL, kind, packets_out, bytes_out, packets_in, bytes_in,"
                      " first_ns, last_ns FROM hosts";
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        CMN_LOG(ERR, "hosts: %s", sqlite3_errmsg(db));
        return -EIO;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *ip = (const char *)sqlite3_column_text(st, 0);
        uint8_t key[16];
        if (!ip || cmn_ip_parse(ip, key) != 0)
            continue;
        if (g->nhosts == cap) {
            cap = cap ? cap * 2 : 1024;
            struct rep_ghost *n = realloc(g->hosts, cap * sizeof(*n));
            if (!n)
                abort();
            g->hosts = n;
        }
        struct rep_ghost *h = &g->hosts[g->nhosts++];
        memset(h, 0, sizeof(*h));
        memcpy(h->key, key, 16);
        cmn_ip_format(key, h->ip, sizeof(h->ip));
        const char *src = NULL;
        h->name = s_own(g, rep_names_host(names, h->ip, &src));
        h->name_source = h->name ? src : NULL;
        cmn_ip_network(key, h->network, sizeof(h->network));
        h->kind = s_kind((const char *)sqlite3_column_text(st, 2));
        h->packets_out = sqlite3_column_int64(st, 3);
        h->bytes_out = sqlite3_column_int64(st, 4);
        h->packets_in = sqlite3_column_int64(st, 5);
        h->bytes_in = sqlite3_column_int64(st, 6);
        h->first_ns = sqlite3_column_int64(st, 7);
        h->last_ns = sqlite3_column_int64(st, 8);
        h->site = cmn_sites_lookup(g->sites, key);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        CMN_LOG(ERR, "hosts: %s", sqlite3_errmsg(db));
        return -EIO;
    }
    if (g->nhosts > 1)
        qsort(g->hosts, g->nhosts, sizeof(*g->hosts), s_host_cmp);
    return 0;
}

static int s_load_services(struct rep_graph *g, sqlite3 *db, const struct rep_names *names)
{
    const char *sql = "SELECT ip, proto, port, clients, packets, bytes, confidence,"
                      " first_ns, last_ns FROM services";
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        CMN_LOG(ERR, "services: %s", sqlite3_errmsg(db));
        return -EIO;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        long h = s_host_of_text(g, (const char *)sqlite3_column_text(st, 0));
        int64_t proto = sqlite3_column_int64(st, 1), port = sqlite3_column_int64(st, 2);
        if (h < 0 || proto < 0 || proto > 255 || port <= 0 || port > 65535)
            continue; /* a service row always has its host; tolerate a torn read */
        if (sqlite3_column_int64(st, 3) <= 0)
            continue; /* served nobody: "listening", not a service (EXPORT_SCHEMA.md) */
        if (g->nsvcs == cap) {
            cap = cap ? cap * 2 : 1024;
            struct rep_gsvc *n = realloc(g->svcs, cap * sizeof(*n));
            if (!n)
                abort();
            g->svcs = n;
        }
        struct rep_gsvc *s = &g->svcs[g->nsvcs++];
        memset(s, 0, sizeof(*s));
        s->host = (uint32_t)h;
        s->proto = (uint8_t)proto;
        s->port = (uint16_t)port;
        s->clients = (uint32_t)sqlite3_column_int64(st, 3);
        s->packets = sqlite3_column_int64(st, 4);
        s->bytes = sqlite3_column_int64(st, 5);
        s->confidence = sqlite3_column_double(st, 6);
        s->first_ns = sqlite3_column_int64(st, 7);
        s->last_ns = sqlite3_column_int64(st, 8);
        char buf[64];
        s->name = s_own(g, rep_names_service(names, s->proto, s->port, buf, sizeof(buf)));
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        CMN_LOG(ERR, "services: %s", sqlite3_errmsg(db));
        return -EIO;
    }
    if (g->nsvcs > 1)
        qsort(g->svcs, g->nsvcs, sizeof(*g->svcs), s_svc_cmp);
    uint32_t i = 0;
    for (size_t h = 0; h < g->nhosts; h++) {
        g->hosts[h].svc_lo = i;
        while (i < g->nsvcs && g->svcs[i].host == h)
            i++;
        g->hosts[h].svc_hi = i;
    }
    return 0;
}

/* The finest usage resolution whose history reaches back to `since`, or
 * the coarsest there is (then the period is only partly known: refused). */
static int s_period_res(struct rep_graph *g, sqlite3 *db, int64_t since, int64_t *res)
{
    sqlite3_stmt *st = NULL;
    int rc = -ENOENT;
    int64_t oldest = INT64_MAX;
    if (!s_table_exists(db, "usage_edges")) {
        CMN_LOG(ERR, "this database keeps no usage history (usage_edges): no --since/--until");
        return -ENOENT;
    }
    if (sqlite3_prepare_v2(db,
                           "SELECT res, min(start_ns) FROM usage_edges GROUP BY res"
                           " ORDER BY res",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    int64_t rs[8], los[8]; /* resolutions (few: epoch, hour, day) and their oldest rows */
    size_t n = 0;
    while (n < 8 && sqlite3_step(st) == SQLITE_ROW) {
        rs[n] = sqlite3_column_int64(st, 0);
        los[n] = sqlite3_column_int64(st, 1);
        if (rs[n] > 0 && los[n] < oldest)
            oldest = los[n];
        n += rs[n] > 0;
    }
    sqlite3_finalize(st);
    /* since 0 is "from the beginning": the oldest history of any resolution
     * (it compared 0 with the oldest row and refused every --until alone) */
    if (since <= 0)
        since = oldest;
    for (size_t i = 0; i < n && rc != 0; i++) {
        if (los[i] <= since - since % (rs[i] * 1000000000LL)) {
            *res = rs[i];
            rc = 0;
        }
    }
    (void)g;
    if (rc != 0) {
        char t[40] = "nothing";
        if (oldest != INT64_MAX)
            rep_time_text(oldest, t, sizeof(t));
        CMN_LOG(ERR,
                "the period starts before the oldest usage history kept (%s);"
                " choose a later --since",
                t);
    }
    return rc;
}

static int s_load_edges(struct rep_graph *g, sqlite3 *db, int64_t res)
{
    sqlite3_stmt *st = NULL;
    const char *sql =
        res ? "SELECT client_ip, server_ip, proto, server_port, sum(packets_c2s), sum(bytes_c2s),"
              " sum(packets_s2c), sum(bytes_s2c), sum(sessions), min(start_ns),"
              " max(start_ns) + ?1 * 1000000000 FROM usage_edges WHERE res = ?1"
              " AND start_ns >= ?2 AND start_ns < ?3"
              " GROUP BY server_ip, proto, server_port, client_ip"
            : "SELECT client_ip, server_ip, proto, server_port, packets_c2s, bytes_c2s,"
              " packets_s2c, bytes_s2c, sessions, first_ns, last_ns FROM edges";
    size_t cap = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        CMN_LOG(ERR, "edges: %s", sqlite3_errmsg(db));
        return -EIO;
    }
    if (res) {
        int64_t step = res * 1000000000LL;
        sqlite3_bind_int64(st, 1, res);
        sqlite3_bind_int64(st, 2, g->since_ns - g->since_ns % step);
        sqlite3_bind_int64(st, 3, g->until_ns);
    }
    int rc;
    struct memo mc = {.host = -1}, ms = {.host = -1};
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        long c = s_host_memo(g, &mc, (const char *)sqlite3_column_text(st, 0));
        long s = s_host_memo(g, &ms, (const char *)sqlite3_column_text(st, 1));
        int64_t proto = sqlite3_column_int64(st, 2), port = sqlite3_column_int64(st, 3);
        long v = (c < 0 || s < 0 || proto < 0 || proto > 255 || port <= 0 || port > 65535)
                     ? -1
                     : rep_graph_svc_find(g, (uint32_t)s, (uint8_t)proto, (uint16_t)port);
        if (v < 0)
            continue; /* the service was not a service for the whole run: not an edge */
        if (g->nedges == cap) {
            cap = cap ? cap * 2 : 4096;
            struct rep_gedge *n = realloc(g->edges, cap * sizeof(*n));
            if (!n)
                abort();
            g->edges = n;
        }
        struct rep_gedge *e = &g->edges[g->nedges++];
        e->client = (uint32_t)c;
        e->svc = (uint32_t)v;
        e->packets_c2s = sqlite3_column_int64(st, 4);
        e->bytes_c2s = sqlite3_column_int64(st, 5);
        e->packets_s2c = sqlite3_column_int64(st, 6);
        e->bytes_s2c = sqlite3_column_int64(st, 7);
        e->sessions = sqlite3_column_int64(st, 8);
        e->first_ns = sqlite3_column_int64(st, 9);
        e->last_ns = sqlite3_column_int64(st, 10);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        CMN_LOG(ERR, "edges: %s", sqlite3_errmsg(db));
        return -EIO;
    }
    return 0;
}

/* Services of a period: only those with an edge in it, their volumes the
 * period's. Rebuilds svcs and the edges' indices. */
static void s_period_services(struct rep_graph *g)
{
    uint32_t *map = malloc((g->nsvcs + 1) * sizeof(*map));
    if (!map)
        abort();
    for (size_t i = 0; i < g->nsvcs; i++) {
        g->svcs[i].clients = 0;
        g->svcs[i].packets = g->svcs[i].bytes = 0;
        g->svcs[i].first_ns = INT64_MAX;
        g->svcs[i].last_ns = 0;
    }
    for (size_t i = 0; i < g->nedges; i++) {
        struct rep_gedge *e = &g->edges[i];
        struct rep_gsvc *s = &g->svcs[e->svc];
        s->clients++;
        s->packets += e->packets_c2s + e->packets_s2c;
        s->bytes += e->bytes_c2s + e->bytes_s2c;
        if (e->first_ns < s->first_ns)
            s->first_ns = e->first_ns;
        if (e->last_ns > s->last_ns)
            s->last_ns = e->last_ns;
    }
    size_t n = 0;
    for (size_t i = 0; i < g->nsvcs; i++) {
        if (g->svcs[i].clients == 0) {
            map[i] = UINT32_MAX;
            continue;
        }
        map[i] = (uint32_t)n;
        g->svcs[n++] = g->svcs[i];
    }
    g->nsvcs = n;
    for (size_t i = 0; i < g->nedges; i++)
        g->edges[i].svc = map[g->edges[i].svc];
    free(map);
    uint32_t i = 0;
    for (size_t h = 0; h < g->nhosts; h++) {
        g->hosts[h].svc_lo = i;
        while (i < g->nsvcs && g->svcs[i].host == h)
            i++;
        g->hosts[h].svc_hi = i;
    }
}

/* Stable counting sort of the nedges edges of src into dst on their
 * client (or svc), which is below n. */
static void s_count_sort(const struct rep_gedge *src, struct rep_gedge *dst, size_t nedges,
                         size_t n, bool by_svc)
{
    uint32_t *at = calloc(n + 1, sizeof(*at));
    if (!at)
        abort();
    for (size_t k = 0; k < nedges; k++)
        at[(by_svc ? src[k].svc : src[k].client) + 1]++;
    for (size_t i = 0; i < n; i++)
        at[i + 1] += at[i];
    for (size_t k = 0; k < nedges; k++)
        dst[at[by_svc ? src[k].svc : src[k].client]++] = src[k];
    free(at);
}

static void s_index_edges(struct rep_graph *g)
{
    /* by (svc, client): by client, then stably by svc (two linear passes;
     * qsort was a seventh of loading 240,000 edges) */
    if (g->nedges > 1) {
        struct rep_gedge *tmp = malloc(g->nedges * sizeof(*tmp));
        if (!tmp)
            abort();
        s_count_sort(g->edges, tmp, g->nedges, g->nhosts, false);
        s_count_sort(tmp, g->edges, g->nedges, g->nsvcs, true);
        free(tmp);
    }
    uint32_t i = 0;
    for (size_t s = 0; s < g->nsvcs; s++) {
        g->svcs[s].edge_lo = i;
        while (i < g->nedges && g->edges[i].svc == s)
            i++;
        g->svcs[s].edge_hi = i;
    }
    /* uses by (client, svc): a counting sort on the client over the edges,
     * which are in svc order already. (It was a qsort through a file-static
     * graph pointer, a race between two threads loading graphs.) */
    g->uses = malloc((g->nedges + 1) * sizeof(*g->uses));
    g->use_svc = malloc((g->nedges + 1) * sizeof(*g->use_svc));
    uint32_t *at = calloc(g->nhosts + 1, sizeof(*at));
    if (!g->uses || !g->use_svc || !at)
        abort();
    for (size_t k = 0; k < g->nedges; k++)
        at[g->edges[k].client + 1]++;
    for (size_t h = 0; h < g->nhosts; h++)
        at[h + 1] += at[h];
    for (size_t k = 0; k < g->nedges; k++) {
        g->use_svc[at[g->edges[k].client]] = g->edges[k].svc;
        g->uses[at[g->edges[k].client]++] = (uint32_t)k;
    }
    free(at);
    i = 0;
    for (size_t h = 0; h < g->nhosts; h++) {
        g->hosts[h].use_lo = i;
        while (i < g->nedges && g->edges[g->uses[i]].client == h)
            i++;
        g->hosts[h].use_hi = i;
    }
}

struct rep_graph *rep_graph_load(sqlite3 *db, const struct rep_graph_opts *opts)
{
    struct rep_graph *g = calloc(1, sizeof(*g));
    int64_t res = 0;
    if (!g)
        abort();
    g->since_ns = opts ? opts->since_ns : 0;
    g->until_ns = opts && opts->until_ns > 0 ? opts->until_ns : INT64_MAX;
    if (g->until_ns <= g->since_ns) {
        CMN_LOG(ERR, "empty period: --until must be later than --since");
        goto err;
    }
    /* one snapshot: the caller's read transaction (a page's), else its own */
    bool own = sqlite3_get_autocommit(db) != 0;
    if (own && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        CMN_LOG(ERR, "cannot read: %s", sqlite3_errmsg(db));
        goto err;
    }
    /* inside the transaction: the sites table is part of the snapshot */
    g->sites = opts && opts->sites ? s_copy_sites(opts->sites) : s_db_sites(db);
    bool period = g->since_ns > 0 || g->until_ns != INT64_MAX;
    struct rep_names *names = rep_names_load(db);
    int rc = s_load_hosts(g, db, names);
    if (rc == 0)
        rc = s_load_services(g, db, names);
    rep_names_destroy(&names);
    if (rc == 0 && period)
        rc = s_period_res(g, db, g->since_ns, &res);
    if (rc == 0)
        rc = s_load_edges(g, db, res);
    if (own)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != 0)
        goto err;
    g->period_res_s = res;
    if (period)
        s_period_services(g);
    s_index_edges(g);
    return g;
err:
    rep_graph_destroy(&g);
    return NULL;
}

void rep_graph_destroy(struct rep_graph **gp)
{
    if (!gp || !*gp)
        return;
    struct rep_graph *g = *gp;
    for (size_t i = 0; i < g->nowned; i++)
        free(g->owned[i]);
    free(g->owned);
    free(g->hosts);
    free(g->svcs);
    free(g->edges);
    free(g->uses);
    free(g->use_svc);
    cmn_sites_destroy(&g->sites);
    free(g);
    *gp = NULL;
}

size_t rep_graph_around(const struct rep_graph *g, uint32_t start, int hops, uint8_t *mark)
{
    uint32_t *q = malloc((g->nhosts + 1) * sizeof(*q));
    int32_t *depth = malloc((g->nhosts + 1) * sizeof(*depth));
    size_t head = 0, tail = 0, n = 0;
    if (!q || !depth)
        abort();
    if (start >= g->nhosts)
        goto out;
    for (size_t i = 0; i < g->nhosts; i++)
        depth[i] = -1;
    depth[start] = 0;
    q[tail++] = start;
    while (head < tail) {
        uint32_t h = q[head++];
        if (!mark[h]) {
            mark[h] = 1;
            n++;
        }
        if (hops >= 0 && depth[h] >= hops)
            continue;
        const struct rep_ghost *hh = &g->hosts[h];
        /* its servers */
        for (uint32_t u = hh->use_lo; u < hh->use_hi; u++) {
            uint32_t s = g->svcs[g->use_svc[u]].host;
            if (depth[s] < 0) {
                depth[s] = depth[h] + 1;
                q[tail++] = s;
            }
        }
        /* its clients */
        for (uint32_t v = hh->svc_lo; v < hh->svc_hi; v++)
            for (uint32_t e = g->svcs[v].edge_lo; e < g->svcs[v].edge_hi; e++) {
                uint32_t c = g->edges[e].client;
                if (depth[c] < 0) {
                    depth[c] = depth[h] + 1;
                    q[tail++] = c;
                }
            }
    }
out:
    free(q);
    free(depth);
    return n;
}

int rep_time_parse(const char *s, int64_t ref_ns, int64_t *ns)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 40)
        return -EINVAL;
    char unit = s[n - 1];
    if (unit == 's' || unit == 'm' || unit == 'h' || unit == 'd') {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || end != s + n - 1 || end == s || v < 0 || v > 100000000LL)
            return -EINVAL;
        int64_t mul = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 86400;
        *ns = ref_ns - (int64_t)v * mul * 1000000000LL;
        if (*ns < 0)
            *ns = 0;
        return 0;
    }
    int y, mo, d, h = 0, mi = 0, se = 0, used = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &used) != 3 || used != 10)
        return -EINVAL;
    const char *p = s + used;
    if (*p == 'T' || *p == ' ') {
        int k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &k) != 2 || k != 5)
            return -EINVAL;
        p += 1 + k;
        if (*p == ':') {
            if (sscanf(p + 1, "%2d%n", &se, &k) != 1 || k != 2)
                return -EINVAL;
            p += 1 + k;
        }
        if (*p == 'Z')
            p++;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 || y < 1970)
        return -EINVAL;
    /* days from civil (proleptic Gregorian), no timezone involved */
    int yy = y - (mo <= 2);
    int era = yy / 400, yoe = yy - era * 400;
    int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + doe - 719468;
    *ns = ((days * 86400) + h * 3600 + mi * 60 + se) * 1000000000LL;
    return 0;
}
