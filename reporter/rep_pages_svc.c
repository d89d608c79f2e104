/* SPDX-License-Identifier: MIT
 * rep_pages_svc: the service-centred and place-centred pages of the HTML
 * report: the service list, one service (clients by site, usage per period,
 * role evidence, what depends on it transitively), the sites, one site and
 * one network (the BCP planner's view of a data centre: its hosts, the
 * services it offers to other places, what it needs from them).
 */
#define CMN_LOG_TAG "rep_pages"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "cmn_sites.h"
#include "rep_graph.h"
#include "rep_hostset.h"
#include "rep_place.h"
#include "rep_json.h"
#include "rep_names.h"
#include "rep_pages.h"
#include "rep_ports.h"

#define KIND_RANK                                                                                  \
    "CASE kind WHEN 'server' THEN 0 WHEN 'both' THEN 1 WHEN 'client' THEN 2 ELSE 3 END"

static const char *s_col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static void s_site_link(FILE *f, const char *site)
{
    if (!site) {
        fputs("<td class=muted>none</td>", f);
        return;
    }
    fputs("<td><a href=\"/site/", f);
    rep_html_q(f, site);
    fputs("\">", f);
    rep_html_esc(f, site);
    fputs("</a></td>", f);
}

/* ---- services ---- */

static const char *const s_svc_sort_keys[] = {"ip",      "port",       "clients", "volume",
                                              "packets", "confidence", "last",    NULL};
static const char *const s_svc_sort_sql[] = {"ip_key",  "port, proto", "clients", "bytes",
                                             "packets", "confidence",  "last_ns"};
static const bool s_svc_sort_desc[] = {false, false, true, true, true, true, true};

/* "tcp/443" -> proto, port. */
static bool s_service_arg(const char *v, uint8_t *proto, int *port)
{
    const char *slash = v ? strchr(v, '/') : NULL;
    char pb[16];
    if (!slash || slash == v || (size_t)(slash - v) >= sizeof(pb))
        return false;
    memcpy(pb, v, (size_t)(slash - v));
    pb[slash - v] = '\0';
    size_t n = strlen(slash + 1);
    if (n < 1 || n > 5 || strspn(slash + 1, "0123456789") != n)
        return false;
    long x = strtol(slash + 1, NULL, 10);
    if (cmn_proto_parse(pb, proto) != 0 || x < 1 || x > 65535)
        return false;
    *port = (int)x;
    return true;
}

int rep_pages_services(struct rep_page *p)
{
    FILE *f = p->f;
    struct rep_qb q = {.len = 0};
    rep_qb_where(&q, "clients > 0"); /* a service has a client (EXPORT_SCHEMA.md) */
    const char *qs = rep_page_arg(p, "q");
    const char *site = rep_page_arg(p, "site");
    uint8_t proto, lo[16], hi[16];
    int port;
    if (qs && *qs) {
        if (s_service_arg(qs, &proto, &port)) {
            rep_qb_where(&q, "proto = ? AND port = ?");
            rep_qb_int(&q, proto);
            rep_qb_int(&q, port);
        } else if (strchr(qs, '/') && cmn_prefix_parse(qs, lo, hi) == 0) {
            rep_qb_where(&q, "ip_key BETWEEN ? AND ?");
            rep_qb_key(&q, lo);
            rep_qb_key(&q, hi);
        } else {
            rep_qb_where(&q,
                         "(substr(ip, 1, length(?1)) = ?1 OR lower(rep_service_name(proto, port)) ="
                         " lower(?1) OR CAST(port AS TEXT) = ?1)");
            rep_qb_text(&q, qs);
        }
    }
    if (site && *site) {
        rep_qb_where(&q, "rep_site(ip) IS ?");
        rep_qb_text(&q, site);
    }
    int64_t total = rep_qb_count(&q, p->db, " FROM services");
    if (total < 0)
        return -EIO;
    int64_t off = rep_page_int(p, "offset", 0, INT64_MAX / 2, 0);
    bool desc = true;
    int si = rep_page_sort(p, s_svc_sort_keys, &desc);
    if (si >= 0 && !rep_page_arg(p, "order"))
        desc = s_svc_sort_desc[si];
    char tail[300];
    snprintf(tail, sizeof(tail), " ORDER BY %s %s, ip_key, proto, port LIMIT %d OFFSET %lld",
             si >= 0 ? s_svc_sort_sql[si] : "clients", desc ? "DESC" : "ASC", REP_PAGE_LIMIT,
             (long long)off);
    sqlite3_stmt *st = rep_qb_prepare(&q, p->db,
                                      "SELECT ip, proto, port, clients, bytes, packets,"
                                      " confidence, last_ns, rep_site(ip),"
                                      " rep_host_name(ip)"
                                      " FROM services",
                                      tail);
    if (!st)
        return -EIO;
    rep_html_head(p, "Services", "Services", NULL);
    fputs("<form class=f action=\"/services\" method=\"get\"><p><label>search <input name=\"q\" "
          "size=\"24\" placeholder=\"tcp/5432, ldap, 10.1., 10.0.0.0/8\" value=\"",
          f);
    rep_html_esc(f, qs);
    fputs("\"></label> <button>Show</button> <a href=\"/services\">reset</a></p></form>\n", f);
    rep_html_pager(p, "/services", "offset", total, off, REP_PAGE_LIMIT);
    fputs("<table id=services><thead><tr>", f);
    rep_html_th_sort(p, "/services", "service", "port", false);
    rep_html_th_sort(p, "/services", "server", "ip", false);
    fputs("<th>site</th>", f);
    rep_html_th_sort(p, "/services", "clients", "clients", true);
    rep_html_th_sort(p, "/services", "volume", "volume", true);
    rep_html_th_sort(p, "/services", "packets", "packets", true);
    rep_html_th_sort(p, "/services", "confidence", "confidence", true);
    rep_html_th_sort(p, "/services", "last seen", "last", true);
    fputs("</tr></thead><tbody>\n", f);
    while (sqlite3_step(st) == SQLITE_ROW) {
        fputs("<tr>", f);
        rep_html_td_service(f, s_col(st, 0), sqlite3_column_int(st, 1), sqlite3_column_int(st, 2));
        rep_html_td_host(f, s_col(st, 0), s_col(st, 9));
        s_site_link(f, s_col(st, 8));
        rep_html_td_num(f, sqlite3_column_int64(st, 3));
        rep_html_td_bytes(f, sqlite3_column_int64(st, 4));
        rep_html_td_num(f, sqlite3_column_int64(st, 5));
        fprintf(f, "<td class=n>%.2f</td>", sqlite3_column_double(st, 6));
        rep_html_td_time(f, sqlite3_column_int64(st, 7));
        fputs("</tr>\n", f);
    }
    sqlite3_finalize(st);
    fputs("</tbody></table>\n", f);
    rep_html_pager(p, "/services", "offset", total, off, REP_PAGE_LIMIT);
    rep_html_tail(p);
    return 0;
}

/* Chart of one usage_services column per period. */
static void s_svc_chart(FILE *f, sqlite3 *db, const char *ip, int proto, int port, int col,
                        const char *label)
{
    static const char *const cols[] = {"clients", "bytes"};
    char sql[300];
    snprintf(sql, sizeof(sql),
             "SELECT start_ns, res, %s FROM usage_services WHERE ip = ?1 AND proto = ?2 AND"
             " port = ?3 ORDER BY start_ns, res LIMIT 5000",
             cols[col]);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fputs("<p class=muted>no usage history in this database</p>\n", f);
        return;
    }
    sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, proto);
    sqlite3_bind_int(st, 3, port);
    size_t n = 0, cap = 0;
    int64_t *t = NULL, *w = NULL;
    double *v = NULL;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            t = realloc(t, cap * sizeof(*t));
            w = realloc(w, cap * sizeof(*w));
            v = realloc(v, cap * sizeof(*v));
            if (!t || !w || !v)
                abort();
        }
        t[n] = sqlite3_column_int64(st, 0);
        w[n] = sqlite3_column_int64(st, 1) * 1000000000LL;
        v[n] = sqlite3_column_double(st, 2);
        n++;
    }
    sqlite3_finalize(st);
    fprintf(f, "<div><h3>%s per period</h3>", label);
    rep_html_chart(f, t, w, v, n, label, col == 1);
    fputs("</div>", f);
    free(t);
    free(w);
    free(v);
}

/* A service's clients in one site (-1: none) and their volume. */
struct site_count {
    int site;
    int64_t clients, bytes;
};

/* What the service page's sorts compare with. */
struct by_site {
    const struct rep_graph *g;
    int *rank; /* per site + 1: rank of its name among the names and "~" (no site) */
};

static const char *s_rank_name(const struct rep_graph *g, int site)
{
    return site >= 0 ? rep_graph_site_name(g, site) : "~";
}

static int s_name_cmp(const void *a, const void *b, void *arg)
{
    const struct rep_graph *g = arg;
    return strcmp(s_rank_name(g, *(const int *)a), s_rank_name(g, *(const int *)b));
}

/* Rank of every site's name (and of "~", the clients of no site, at [0]) in
 * byte order, as SQL's ORDER BY coalesce(site, '~') sorted them. */
static int *s_site_ranks(const struct rep_graph *g)
{
    size_t n = cmn_sites_count(g->sites) + 1;
    int *order = malloc(n * sizeof(*order)), *rank = malloc(n * sizeof(*rank));
    if (!order || !rank)
        abort();
    for (size_t i = 0; i < n; i++)
        order[i] = (int)i - 1;
    qsort_r(order, n, sizeof(*order), s_name_cmp, (void *)(uintptr_t)g);
    for (size_t i = 0; i < n; i++)
        rank[order[i] + 1] = (int)i;
    free(order);
    return rank;
}

/* Clients by site: most clients first, then the sites' names' order. */
static int s_site_count_cmp(const void *a, const void *b, void *arg)
{
    const struct site_count *x = a, *y = b;
    const struct by_site *cx = arg;
    if (x->clients != y->clients)
        return x->clients > y->clients ? -1 : 1;
    return cx->rank[x->site + 1] - cx->rank[y->site + 1];
}

/* One client of the service, as its list sorts it. */
struct client_row {
    int rank;      /* of its site's name (s_site_ranks) */
    int64_t bytes; /* volume of its edge */
    uint32_t host; /* the client (hosts are in address order) */
    uint32_t edge; /* its edge */
};

/* The clients: by site name (no site sorts as "~"), volume descending, address. */
static int s_client_cmp(const void *a, const void *b)
{
    const struct client_row *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->host < y->host ? -1 : x->host > y->host;
}

/* The part of the service page read in one transaction (with g, its map). */
static int s_service_body(struct rep_page *p, const struct rep_graph *g, const char *ip, int proto,
                          int port, bool *found)
{
    FILE *f = p->f;
    sqlite3 *db = p->db;
    sqlite3_stmt *st = NULL;
    *found = false;
    if (sqlite3_prepare_v2(
            db,
            "SELECT s.clients, s.bytes, s.packets, s.confidence, s.first_ns,"
            " s.last_ns, rep_host_name(s.ip), rep_site(s.ip), e.role, e.peers, e.peer_ports,"
            " e.sessions, e.synack_sent, e.synack_recv, e.syn_sent, e.syn_recv,"
            " e.rst_sent, e.rst_recv, e.init_sessions, e.resp_sessions,"
            " e.epochs_seen, e.lower_port_sessions, e.pkts_out, e.pkts_in,"
            " e.bytes_out, e.bytes_in FROM services s"
            " LEFT JOIN hosts h ON h.ip = s.ip LEFT JOIN endpoints e ON"
            " e.ip = s.ip AND e.proto = s.proto AND e.port = s.port"
            " WHERE s.ip = ?1 AND s.proto = ?2 AND s.port = ?3",
            -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, proto);
    sqlite3_bind_int(st, 3, port);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return 0;
    }
    *found = true;
    char title[CMN_IP_STRLEN + 100], pb[8], nb[64], t1[40], t2[40], v1[32];
    const char *pn = cmn_proto_name((uint8_t)proto, pb, sizeof(pb));
    const char *name = rep_names_service(p->names, (uint8_t)proto, (uint16_t)port, nb, sizeof(nb));
    snprintf(title, sizeof(title), "%s %s/%d%s%s%s", ip, pn, port, name ? " (" : "",
             name ? name : "", name ? ")" : "");
    rep_html_head(p, title, "Services", NULL);
    fputs("<table class=kv><tbody><tr><th>server</th>", f);
    rep_html_td_host(f, ip, s_col(st, 6));
    fputs("</tr><tr><th>site</th>", f);
    s_site_link(f, s_col(st, 7));
    fprintf(f,
            "</tr><tr><th>clients</th><td>%lld</td></tr><tr><th>volume</th><td>%s, %lld "
            "packets</td></tr><tr><th>confidence</th><td>%.2f</td></tr>"
            "<tr><th>first seen</th><td>%s</td></tr><tr><th>last seen</th><td>%s</td></tr>"
            "</tbody></table>\n",
            (long long)sqlite3_column_int64(st, 0),
            rep_html_human(sqlite3_column_int64(st, 1), v1, sizeof(v1)),
            (long long)sqlite3_column_int64(st, 2), sqlite3_column_double(st, 3),
            rep_time_text(sqlite3_column_int64(st, 4), t1, sizeof(t1)),
            rep_time_text(sqlite3_column_int64(st, 5), t2, sizeof(t2)));
    fputs("<p><a href=\"/impact?fail=", f);
    rep_html_q(f, ip);
    fprintf(f, "%%3A%s%%2F%d\">What if it fails?</a> &middot; <a href=\"/graph?service=", pn, port);
    rep_html_q(f, ip);
    fprintf(f, "%%2F%s%%2F%d&amp;hops=1\">Graph of its clients</a></p>\n", pn, port);
    /* role evidence: the endpoint row the tracker decided on */
    static const char *const ev[] = {"role",
                                     "peers",
                                     "peer ports",
                                     "sessions",
                                     "SYN+ACK sent",
                                     "SYN+ACK received",
                                     "SYN sent",
                                     "SYN received",
                                     "RST sent",
                                     "RST received",
                                     "sessions it initiated",
                                     "sessions it answered",
                                     "epochs seen",
                                     "sessions on the lower port",
                                     "packets out",
                                     "packets in",
                                     "bytes out",
                                     "bytes in"};
    fputs("<h2>Role evidence</h2><table class=kv id=evidence><tbody>", f);
    for (int i = 0; i < 18; i++) {
        fprintf(f, "<tr><th>%s</th>", ev[i]);
        if (i == 0)
            rep_html_td_text(f, s_col(st, 8));
        else
            rep_html_td_num(f, sqlite3_column_int64(st, 8 + i));
    }
    fputs("</tbody></table>\n", f);
    sqlite3_finalize(st);

    fputs("<h2>Usage over time</h2><div class=cols>", f);
    s_svc_chart(f, db, ip, proto, port, 0, "clients");
    s_svc_chart(f, db, ip, proto, port, 1, "volume");
    fputs("</div>\n", f);

    /* clients by site, then the clients, paged, by site: from the map (a
     * directory's 20,000 clients each needed their site computed and their
     * edge row looked up in SQL) */
    uint8_t key[16];
    long h = cmn_ip_parse(ip, key) == 0 ? rep_graph_host_find(g, key) : -1;
    long v = h >= 0 ? rep_graph_svc_find(g, (uint32_t)h, (uint8_t)proto, (uint16_t)port) : -1;
    uint32_t lo = v >= 0 ? g->svcs[v].edge_lo : 0, hi = v >= 0 ? g->svcs[v].edge_hi : 0;
    size_t nsites = cmn_sites_count(g->sites);
    struct site_count *by = calloc(nsites + 1, sizeof(*by)); /* [0]: no site */
    struct client_row *rows = malloc((hi - lo + 1) * sizeof(*rows));
    if (!by || !rows)
        abort();
    struct by_site cx = {.g = g, .rank = s_site_ranks(g)};
    for (size_t i = 0; i <= nsites; i++)
        by[i].site = (int)i - 1;
    for (uint32_t k = lo; k < hi; k++) {
        const struct rep_gedge *e = &g->edges[k];
        int site = g->hosts[e->client].site;
        struct site_count *c = &by[site + 1];
        c->clients++;
        c->bytes += e->bytes_c2s + e->bytes_s2c;
        rows[k - lo] = (struct client_row){.rank = cx.rank[site + 1],
                                           .bytes = e->bytes_c2s + e->bytes_s2c,
                                           .host = e->client,
                                           .edge = k};
    }
    qsort_r(by, nsites + 1, sizeof(*by), s_site_count_cmp, &cx);
    fputs("<h2>Clients by site</h2><table id=bysite><thead><tr><th>site</th><th>clients</th>"
          "<th>volume</th></tr></thead><tbody>",
          f);
    for (size_t i = 0; i <= nsites && i < 50 && by[i].clients > 0; i++) {
        fputs("<tr>", f);
        s_site_link(f, rep_graph_site_name(g, by[i].site));
        rep_html_td_num(f, by[i].clients);
        rep_html_td_bytes(f, by[i].bytes);
        fputs("</tr>", f);
    }
    fputs("</tbody></table>\n", f);
    int64_t total = hi - lo;
    int64_t off = rep_page_int(p, "offset", 0, INT64_MAX / 2, 0);
    char base[CMN_IP_STRLEN + 40];
    snprintf(base, sizeof(base), "/service/%s/%s/%d", ip, pn, port);
    qsort(rows, hi - lo, sizeof(*rows), s_client_cmp);
    fputs("<h2>Clients</h2>\n", f);
    rep_html_pager(p, base, "offset", total, off, REP_PAGE_LIMIT);
    fputs("<table id=clients><thead><tr><th>client</th><th>site</th><th>volume</th>"
          "<th>packets</th><th>sessions</th><th>first seen</th><th>last seen</th></tr></thead>"
          "<tbody>\n",
          f);
    for (int64_t i = off; i < total && i < off + REP_PAGE_LIMIT; i++) {
        const struct rep_gedge *e = &g->edges[rows[i].edge];
        const struct rep_ghost *c = &g->hosts[e->client];
        fputs("<tr>", f);
        rep_html_td_host(f, c->ip, rep_names_host(p->names, c->ip, NULL));
        s_site_link(f, rep_graph_site_name(g, c->site));
        rep_html_td_bytes(f, e->bytes_c2s + e->bytes_s2c);
        rep_html_td_num(f, e->packets_c2s + e->packets_s2c);
        rep_html_td_num(f, e->sessions);
        rep_html_td_time(f, e->first_ns);
        rep_html_td_time(f, e->last_ns);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    rep_html_pager(p, base, "offset", total, off, REP_PAGE_LIMIT);
    free(by);
    free(rows);
    free(cx.rank);
    return 0;
}

int rep_pages_service(struct rep_page *p, const char *rest)
{
    /* "IP/proto/port"; IPv6 addresses hold no '/', so split from the right */
    char buf[CMN_IP_STRLEN + 32], ip[CMN_IP_STRLEN];
    snprintf(buf, sizeof(buf), "%s", rest);
    char *s2 = strrchr(buf, '/');
    char *s1 = NULL;
    for (char *c = buf; s2 && c < s2; c++)
        if (*c == '/')
            s1 = c;
    uint8_t addr[16], proto = 0;
    int port = 0;
    if (!s1 || !s2) {
        rep_pages_not_found(p, "not a service (/service/IP/proto/port)", rest);
        return 0;
    }
    *s1 = '\0';
    if (cmn_ip_parse(buf, addr) != 0 || !s_service_arg(s1 + 1, &proto, &port)) {
        rep_pages_not_found(p, "not a service (/service/IP/proto/port)", rest);
        return 0;
    }
    cmn_ip_format(addr, ip, sizeof(ip));
    if (sqlite3_exec(p->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return -EIO;
    /* the map inside the same snapshot: it lists the clients and walks the
     * dependents */
    struct rep_pages_map *ref = NULL;
    const struct rep_graph *g = rep_pages_map_acquire(p, &ref);
    bool found = false;
    int rc = g ? s_service_body(p, g, ip, proto, port, &found) : -EIO;
    sqlite3_exec(p->db, "COMMIT", NULL, NULL, NULL);
    if (rc == 0 && !found)
        rep_pages_not_found(p, "no such service", rest);
    if (rc == 0 && found) {
        fputs("<h2>What depends on it</h2>\n", p->f);
        rc = rep_pages_dependents(p, g, ip, proto, port);
        rep_html_tail(p);
    }
    rep_pages_map_release(&ref);
    return rc;
}

/* ---- sites, one site, one network ---- */

int rep_pages_sites(struct rep_page *p)
{
    FILE *f = p->f;
    size_t ns = cmn_sites_count(p->sites);
    /* counts per site and per network from the hosts in memory */
    struct rep_pages_hosts *ref = NULL;
    const struct rep_hostset *hs = rep_pages_hostset_acquire(p, &ref);
    if (!hs)
        return -EIO;
    rep_html_head(p, "Sites and networks", "Sites", NULL);
    if (ns > 0) {
        int64_t *hosts = calloc(ns + 1, sizeof(*hosts)),
                *servers = calloc(ns + 1, sizeof(*servers));
        if (!hosts || !servers)
            abort();
        for (size_t i = 0; i < hs->nhosts; i++) {
            const struct rep_hrow *h = &hs->hosts[i];
            size_t k = h->site >= 0 ? (size_t)h->site : ns; /* the set's sites are p's */
            hosts[k]++;
            servers[k] += h->kind == REP_HK_SERVER || h->kind == REP_HK_BOTH;
        }
        fputs("<table id=sites><thead><tr><th>site</th><th>kind</th><th>prefixes</th>"
              "<th>hosts</th><th>servers</th><th></th></tr></thead><tbody>\n",
              f);
        for (size_t i = 0; i <= ns; i++) {
            fputs("<tr>", f);
            if (i < ns) {
                s_site_link(f, cmn_sites_name(p->sites, i));
                rep_html_td_text(f, cmn_sites_kind(p->sites, i));
                fputs("<td>", f);
                for (size_t j = 0; j < cmn_sites_cidr_count(p->sites, i); j++) {
                    fputs(j ? ", " : "", f);
                    rep_html_esc(f, cmn_sites_cidr(p->sites, i, j));
                }
                fputs("</td>", f);
            } else {
                fputs("<td class=muted>(no site)</td><td></td><td></td>", f);
            }
            rep_html_td_num(f, hosts[i]);
            rep_html_td_num(f, servers[i]);
            if (i < ns) {
                fputs("<td><a href=\"/impact?fail=%40", f);
                rep_html_q(f, cmn_sites_name(p->sites, i));
                fputs("\">what if it fails?</a></td>", f);
            } else {
                fputs("<td></td>", f);
            }
            fputs("</tr>\n", f);
        }
        fputs("</tbody></table>\n", f);
        free(hosts);
        free(servers);
    } else {
        fputs("<p class=muted>No sites defined: give <code>renkei serve --sites FILE</code> "
              "(lines <code>name kind CIDR...</code>) to group hosts by data centre and "
              "office. Networks (/24, /64) below.</p>\n",
              f);
    }
    /* networks, paged: most servers, then most hosts, then lowest address */
    int64_t total = (int64_t)hs->nnets;
    int64_t off = rep_page_int(p, "offset", 0, INT64_MAX / 2, 0);
    fputs("<h2>Networks</h2>\n", f);
    rep_html_pager(p, "/sites", "offset", total, off, REP_PAGE_LIMIT);
    fputs("<table id=networks><thead><tr><th>network</th><th>hosts</th><th>servers</th>"
          "<th>volume</th></tr></thead><tbody>\n",
          f);
    for (int64_t i = off; i < total && i < off + REP_PAGE_LIMIT; i++) {
        const struct rep_hnet *n = &hs->nets[i];
        fputs("<tr><td><a href=\"/network/", f);
        rep_html_q(f, n->network);
        fputs("\">", f);
        rep_html_esc(f, n->network);
        fputs("</a></td>", f);
        rep_html_td_num(f, n->hosts);
        rep_html_td_num(f, n->servers);
        rep_html_td_bytes(f, n->bytes);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    rep_html_pager(p, "/sites", "offset", total, off, REP_PAGE_LIMIT);
    rep_pages_hostset_release(&ref);
    rep_html_tail(p);
    return 0;
}

/* A place: a site (by name) or a network (addresses lo..hi). */
struct place {
    const char *title, *what; /* "site dc-east", "site" */
    const char *site;         /* the site's name, or NULL: */
    uint8_t lo[16], hi[16];   /* the network's addresses */
    const char *fail;         /* impact target */
    const char *base;         /* this page's path */
};

/* Link to place `gr` of the map (a site's number, or a network's with its
 * first host in `first`), "(no site)" for -1. */
static void s_place_link(FILE *f, const struct rep_graph *g, const struct place *pl, int32_t gr,
                         const uint32_t *first)
{
    if (pl->site) {
        s_site_link(f, gr >= 0 ? rep_graph_site_name(g, gr) : NULL);
        return;
    }
    const char *net = gr >= 0 ? g->hosts[first[gr]].network : NULL;
    fputs("<td><a href=\"/network/", f);
    rep_html_q(f, net);
    fputs("\">", f);
    rep_html_esc(f, net);
    fputs("</a></td>", f);
}

/* The tables of what the place offers and needs, from the map (rep_place.h):
 * aggregating the edges in SQL took about a second for a data centre's
 * network at 240,000 edges. */
static int s_place_edges(struct rep_page *p, const struct place *pl)
{
    FILE *f = p->f;
    struct rep_pages_map *ref = NULL;
    const struct rep_graph *g = rep_pages_map_acquire(p, &ref);
    if (!g)
        return -EIO;
    uint8_t *inside = calloc(g->nhosts + 1, 1);
    int32_t *group = malloc((g->nhosts + 1) * sizeof(*group));
    uint32_t *first = NULL; /* networks: a host of each */
    if (!inside || !group)
        abort();
    size_t ngroups;
    int site = pl->site ? cmn_sites_find(g->sites, pl->site) : -1;
    if (pl->site) {
        ngroups = cmn_sites_count(g->sites);
        for (size_t h = 0; h < g->nhosts; h++) {
            group[h] = g->hosts[h].site;
            inside[h] = site >= 0 && g->hosts[h].site == site;
        }
    } else {
        ngroups = rep_place_networks(g, group);
        first = malloc((ngroups + 1) * sizeof(*first));
        if (!first)
            abort();
        for (size_t h = g->nhosts; h-- > 0;)
            first[group[h]] = (uint32_t)h;
        for (size_t h = 0; h < g->nhosts; h++)
            inside[h] = memcmp(g->hosts[h].key, pl->lo, 16) >= 0 &&
                        memcmp(g->hosts[h].key, pl->hi, 16) <= 0;
    }
    struct rep_place_sum sum;
    rep_place_summarise(g, inside, group, ngroups, &sum);
    /* each table paged (a data centre offers and a site needs hundreds) */
    int64_t ooff = rep_page_int(p, "ooffset", 0, INT64_MAX / 2, 0);
    int64_t poff = rep_page_int(p, "poffset", 0, INT64_MAX / 2, 0);
    int64_t noff = rep_page_int(p, "noffset", 0, INT64_MAX / 2, 0);

    /* services offered to other places */
    fprintf(f,
            "<h2>Services it offers to other %ss (%zu)</h2><table id=offers><thead><tr>"
            "<th>service</th><th>server</th><th>outside clients</th><th>their %ss</th>"
            "<th>volume</th></tr></thead><tbody>\n",
            pl->what, sum.noffers, pl->what);
    for (int64_t i = ooff; i < (int64_t)sum.noffers && i < ooff + REP_PAGE_LIMIT; i++) {
        const struct rep_place_offer *o = &sum.offers[i];
        const struct rep_gsvc *v = &g->svcs[o->svc];
        const char *ip = g->hosts[v->host].ip;
        fputs("<tr>", f);
        rep_html_td_service(f, ip, v->proto, v->port);
        rep_html_td_host(f, ip, NULL);
        rep_html_td_num(f, o->clients);
        rep_html_td_num(f, o->places);
        rep_html_td_bytes(f, o->bytes);
        fputs("</tr>\n", f);
    }
    if (sum.noffers == 0)
        fputs("<tr><td colspan=5 class=muted>none</td></tr>", f);
    fputs("</tbody></table>\n", f);
    if (sum.noffers > REP_PAGE_LIMIT)
        rep_html_pager(p, pl->base, "ooffset", (int64_t)sum.noffers, ooff, REP_PAGE_LIMIT);

    /* the places it depends on, in one line each */
    fprintf(f,
            "<h2>%ss it depends on</h2><table id=needplaces><thead><tr><th>%s</th>"
            "<th>services used</th><th>clients here</th><th>volume</th></tr></thead><tbody>\n",
            pl->site ? "Site" : "Network", pl->what);
    for (int64_t i = poff; i < (int64_t)sum.ndeps && i < poff + REP_PAGE_LIMIT; i++) {
        const struct rep_place_dep *d = &sum.deps[i];
        fputs("<tr>", f);
        s_place_link(f, g, pl, d->group, first);
        rep_html_td_num(f, d->services);
        rep_html_td_num(f, d->clients);
        rep_html_td_bytes(f, d->bytes);
        fputs("</tr>\n", f);
    }
    if (sum.ndeps == 0)
        fputs("<tr><td colspan=4 class=muted>none</td></tr>", f);
    fputs("</tbody></table>\n", f);
    if (sum.ndeps > REP_PAGE_LIMIT)
        rep_html_pager(p, pl->base, "poffset", (int64_t)sum.ndeps, poff, REP_PAGE_LIMIT);

    /* what it needs from other places */
    fprintf(f,
            "<h2>Dependencies on other %ss (%zu)</h2><table id=needs><thead><tr><th>service</th>"
            "<th>server</th><th>its %s</th><th>clients here</th><th>volume</th></tr></thead>"
            "<tbody>\n",
            pl->what, sum.nneeds, pl->what);
    for (int64_t i = noff; i < (int64_t)sum.nneeds && i < noff + REP_PAGE_LIMIT; i++) {
        const struct rep_place_need *n = &sum.needs[i];
        const struct rep_gsvc *v = &g->svcs[n->svc];
        const char *ip = g->hosts[v->host].ip;
        fputs("<tr>", f);
        rep_html_td_service(f, ip, v->proto, v->port);
        rep_html_td_host(f, ip, NULL);
        s_place_link(f, g, pl, group[v->host], first);
        rep_html_td_num(f, n->clients);
        rep_html_td_bytes(f, n->bytes);
        fputs("</tr>\n", f);
    }
    if (sum.nneeds == 0)
        fputs("<tr><td colspan=5 class=muted>none</td></tr>", f);
    fputs("</tbody></table>\n", f);
    if (sum.nneeds > REP_PAGE_LIMIT)
        rep_html_pager(p, pl->base, "noffset", (int64_t)sum.nneeds, noff, REP_PAGE_LIMIT);
    rep_place_sum_free(&sum);
    free(inside);
    free(group);
    free(first);
    rep_pages_map_release(&ref);
    return 0;
}

static int s_place(struct rep_page *p, const struct place *pl)
{
    FILE *f = p->f;
    /* its hosts from the hosts in memory, in the host list's default order */
    struct rep_pages_hosts *ref = NULL;
    const struct rep_hostset *hs = rep_pages_hostset_acquire(p, &ref);
    if (!hs)
        return -EIO;
    int site = pl->site ? cmn_sites_find(hs->sites, pl->site) : -1;
    const uint32_t *order = rep_hostset_order(hs, REP_HS_DEFAULT, false);
    int64_t off = rep_page_int(p, "offset", 0, INT64_MAX / 2, 0), total = 0;
    int64_t kinds[REP_HK_UNKNOWN + 1] = {0};
    uint32_t *rows = malloc(REP_PAGE_LIMIT * sizeof(*rows));
    if (!rows)
        abort();
    for (size_t k = 0; k < hs->nhosts; k++) {
        const struct rep_hrow *h = &hs->hosts[order[k]];
        if (pl->site ? site < 0 || h->site != site
                     : memcmp(h->key, pl->lo, 16) < 0 || memcmp(h->key, pl->hi, 16) > 0)
            continue;
        kinds[h->kind]++;
        if (total >= off && total < off + REP_PAGE_LIMIT)
            rows[total - off] = order[k];
        total++;
    }
    rep_html_head(p, pl->title, "Sites", NULL);
    fputs("<p><a href=\"/impact?fail=", f);
    rep_html_q(f, pl->fail);
    fprintf(f, "\">What if this %s fails?</a> &middot; <a href=\"/hosts?", pl->what);
    fputs(pl->site ? "site=" : "q=", f);
    rep_html_q(f, pl->site ? pl->site : pl->fail);
    fputs("\">its hosts in the host list</a></p>\n", f);
    /* hosts by kind */
    fputs("<div class=tot>", f);
    for (int k = REP_HK_SERVER; k <= REP_HK_UNKNOWN; k++)
        if (kinds[k] > 0)
            fprintf(f, "<div>%s<b>%lld</b></div>", rep_hkind_name((enum rep_hkind)k),
                    (long long)kinds[k]);
    fputs("</div>\n", f);
    int rc = s_place_edges(p, pl);
    if (rc != 0) {
        free(rows);
        rep_pages_hostset_release(&ref);
        return rc;
    }

    /* its hosts, paged, servers first */
    fputs("<h2>Hosts</h2>\n", f);
    rep_html_pager(p, pl->base, "offset", total, off, REP_PAGE_LIMIT);
    fputs("<table id=hosts><thead><tr><th>host</th><th>kind</th><th>network</th>"
          "<th>services provided</th><th>services used</th><th>volume</th></tr></thead><tbody>\n",
          f);
    for (int64_t i = off; i < total && i < off + REP_PAGE_LIMIT; i++) {
        const struct rep_hrow *h = &hs->hosts[rows[i - off]];
        fputs("<tr>", f);
        rep_html_td_host(f, h->ip, rep_names_host(p->names, h->ip, NULL));
        rep_html_td_text(f, rep_hkind_name(h->kind));
        fputs("<td><a href=\"/network/", f);
        rep_html_q(f, h->network);
        fputs("\">", f);
        rep_html_esc(f, h->network);
        fputs("</a></td>", f);
        rep_html_td_num(f, h->provided);
        rep_html_td_num(f, h->used);
        rep_html_td_bytes(f, h->bytes);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    rep_html_pager(p, pl->base, "offset", total, off, REP_PAGE_LIMIT);
    rep_html_tail(p);
    free(rows);
    rep_pages_hostset_release(&ref);
    return 0;
}

int rep_pages_site(struct rep_page *p, const char *name)
{
    if (cmn_sites_find(p->sites, name) < 0) {
        rep_pages_not_found(p, "no such site", name);
        return 0;
    }
    char title[CMN_SITE_NAME_MAX + 16], fail[CMN_SITE_NAME_MAX + 2], base[CMN_SITE_NAME_MAX + 8];
    snprintf(title, sizeof(title), "Site %s", name);
    snprintf(fail, sizeof(fail), "@%s", name);
    snprintf(base, sizeof(base), "/site/%s", name);
    struct place pl = {.title = title, .what = "site", .site = name, .fail = fail, .base = base};
    return s_place(p, &pl);
}

int rep_pages_network(struct rep_page *p, const char *cidr)
{
    struct place pl = {.what = "network"};
    if (!strchr(cidr, '/') || cmn_prefix_parse(cidr, pl.lo, pl.hi) != 0) {
        rep_pages_not_found(p, "not a network (a.b.c.0/24 or x::/64)", cidr);
        return 0;
    }
    char title[CMN_IP_STRLEN + 32], base[CMN_IP_STRLEN + 16];
    snprintf(title, sizeof(title), "Network %s", cidr);
    snprintf(base, sizeof(base), "/network/%s", cidr);
    pl.title = title;
    pl.fail = cidr;
    pl.base = base;
    return s_place(p, &pl);
}
