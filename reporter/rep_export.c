/* SPDX-License-Identifier: MIT
 * rep_export: the JSON export (EXPORT_SCHEMA.md) straight from the derived
 * tables the merger maintains (hosts, services, edges, events) and meta.
 * Order is fixed (addresses numerically, then proto and port) so identical
 * analyses export identical bytes. One object per line inside each array.
 * Sites and the selection come from the map loaded once (rep_graph.h); the
 * rows themselves still come from the tables, so an export without sites
 * or filters is what it always was, plus "site": null per host.
 */
#define CMN_LOG_TAG "rep_export"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "cmn_sites.h"
#include "rep_db.h"
#include "rep_export.h"
#include "rep_graph.h"
#include "rep_json.h"
#include "rep_names.h"
#include "rep_select.h"

static const char s_q_hosts[] = "SELECT " REP_HOST_COLS " FROM hosts ORDER BY ip_key, ip";
static const char s_q_services[] =
    "SELECT " REP_SERVICE_COLS " FROM services WHERE clients > 0 ORDER BY ip_key, ip, proto, port";
/* Accepted connections (answered a SYN with a SYN+ACK, or judged a server
 * and answered sessions others began), yet served no client: only scanners
 * or spoofed sources reached it. A port that only began sessions (an NTP
 * client on 123) is not listening. */
static const char s_q_listening[] =
    "SELECT e.ip, e.proto, e.port, e.peers, e.first_ns, e.last_ns FROM endpoints e"
    " WHERE e.port > 0 AND ((e.role = 'server' AND e.resp_sessions > 0) OR (e.proto = 6 AND "
    "e.synack_sent > 0"
    "  AND e.syn_recv > 0 AND e.synack_sent > e.synack_recv))"
    " AND NOT EXISTS (SELECT 1 FROM services s WHERE s.ip = e.ip AND s.proto = e.proto"
    "  AND s.port = e.port AND s.clients > 0)"
    " ORDER BY (SELECT h.ip_key FROM hosts h WHERE h.ip = e.ip), e.ip, e.proto, e.port";
static const char s_q_groups[] =
    "SELECT group_ip, proto, port, senders, packets, bytes, first_ns, last_ns FROM groups"
    " ORDER BY group_ip, proto, port";
static const char s_q_edges[] = "SELECT " REP_EDGE_COLS " FROM edges"
                                " ORDER BY server_key, server_ip, proto, server_port,"
                                " client_key, client_ip";
static const char s_q_events[] =
    "SELECT " REP_EVENT_COLS " FROM events ORDER BY kind, target_ip, port, proto, actor_ip";

static void s_meta(FILE *f, sqlite3 *db)
{
    char ver[64], state[32], t[40];
    rep_db_meta_text(db, "renkei_version", ver, sizeof(ver));
    fputs("\"meta\": {\"renkei_version\": ", f);
    rep_json_str(f, ver[0] ? ver : RENKEI_VERSION);
    int64_t first = rep_db_meta_i64(db, "first_seen_ns", -1);
    int64_t last = rep_db_meta_i64(db, "last_seen_ns", -1);
    fputs(", \"first_seen\": ", f);
    rep_json_str(f, first >= 0 ? rep_time_text(first, t, sizeof(t)) : NULL);
    fputs(", \"last_seen\": ", f);
    rep_json_str(f, last >= 0 ? rep_time_text(last, t, sizeof(t)) : NULL);
    fprintf(f,
            ", \"packets\": %lld, \"bytes\": %lld, \"duplicates_removed\": %lld,"
            " \"records_lost\": %lld",
            (long long)rep_db_meta_i64(db, "packets", 0),
            (long long)rep_db_meta_i64(db, "bytes", 0),
            (long long)rep_db_meta_i64(db, "duplicates_removed", 0),
            (long long)rep_db_meta_i64(db, "records_lost", 0));
    rep_db_meta_text(db, "run_state", state, sizeof(state));
    fputs(", \"run_state\": ", f);
    rep_json_str(f, state[0] ? state : NULL);
    fputs("}", f);
}

/* What the rows of one export need: the map and, with a filter, the selection. */
struct s_ctx {
    const struct rep_graph *g;       /* sites and indices */
    const struct rep_selection *sel; /* NULL: everything */
    const struct rep_names *names;   /* host and service names (rep_names.h) */
};

/* Whether to write a row (false: leave it out); with `f` non-NULL, also write it. */
typedef bool (*row_fn)(FILE *f, sqlite3_stmt *st, const struct s_ctx *c);

/* Host index of text column `i`, or -1. */
static long s_host_col(const struct s_ctx *c, sqlite3_stmt *st, int i)
{
    uint8_t k[16];
    const char *ip = (const char *)sqlite3_column_text(st, i);
    if (!ip || cmn_ip_parse(ip, k) != 0)
        return -1;
    return rep_graph_host_find(c->g, k);
}

/* True if text column `i` is a host the filters picked. */
static bool s_picked(const struct s_ctx *c, sqlite3_stmt *st, int i)
{
    long h = s_host_col(c, st, i);
    return h >= 0 && c->sel->host[h] == REP_SEL_IN;
}

static bool s_row_host(FILE *f, sqlite3_stmt *st, const struct s_ctx *c)
{
    uint8_t k[16];
    const char *ip = (const char *)sqlite3_column_text(st, 0);
    if (c->sel) {
        long h = s_host_col(c, st, 0);
        if (h < 0 || c->sel->host[h] == REP_SEL_NONE)
            return false;
    }
    int site = ip && cmn_ip_parse(ip, k) == 0 ? cmn_sites_lookup(c->g->sites, k) : -1;
    if (f)
        rep_json_host_named_site(f, st, c->names, rep_graph_site_name(c->g, site));
    return true;
}

static bool s_row_service(FILE *f, sqlite3_stmt *st, const struct s_ctx *c)
{
    if (c->sel) {
        long h = s_host_col(c, st, 0);
        long v = h < 0 ? -1
                       : rep_graph_svc_find(c->g, (uint32_t)h, (uint8_t)sqlite3_column_int(st, 1),
                                            (uint16_t)sqlite3_column_int(st, 2));
        if (v < 0 || !c->sel->svc[v])
            return false;
    }
    if (f)
        rep_json_service_named(f, st, c->names);
    return true;
}

static bool s_row_edge(FILE *f, sqlite3_stmt *st, const struct s_ctx *c)
{
    /* rep_select's rule: an edge with a picked end */
    if (c->sel && !s_picked(c, st, 0) && !s_picked(c, st, 1))
        return false;
    if (f)
        rep_json_edge(f, st);
    return true;
}

static bool s_row_event(FILE *f, sqlite3_stmt *st, const struct s_ctx *c)
{
    /* an event concerns the selection when its target or actor is picked */
    if (c->sel && !s_picked(c, st, 1) && !s_picked(c, st, 8))
        return false;
    if (f)
        rep_json_event(f, st);
    return true;
}

static bool s_row_listening(FILE *f, sqlite3_stmt *st, const struct s_ctx *c)
{
    if (c->sel && !s_picked(c, st, 0))
        return false;
    if (!f)
        return true;
    char pb[16];
    fputs("{\"ip\": ", f);
    rep_json_col_str(f, st, 0, 0);
    fputs(", \"proto\": ", f);
    rep_json_str(f, cmn_proto_name((uint8_t)sqlite3_column_int(st, 1), pb, sizeof(pb)));
    fputs(", \"port\": ", f);
    rep_json_col_int(f, st, 2);
    fputs(", \"reached_by\": ", f);
    rep_json_col_int(f, st, 3);
    fputs(", \"first_seen\": ", f);
    rep_json_col_time(f, st, 4);
    fputs(", \"last_seen\": ", f);
    rep_json_col_time(f, st, 5);
    fputs("}", f);
    return true;
}

/* A group concerns a selection only through its senders, which the table
 * does not list: a filtered export leaves groups out. */
static bool s_row_group(FILE *f, sqlite3_stmt *st, const struct s_ctx *c)
{
    if (c->sel)
        return false;
    if (!f)
        return true;
    char pb[16], nb[64];
    uint8_t proto = (uint8_t)sqlite3_column_int(st, 1);
    uint16_t port = (uint16_t)sqlite3_column_int(st, 2);
    fputs("{\"group_ip\": ", f);
    rep_json_col_str(f, st, 0, 0);
    fputs(", \"proto\": ", f);
    rep_json_str(f, cmn_proto_name(proto, pb, sizeof(pb)));
    fputs(", \"port\": ", f);
    rep_json_col_int(f, st, 2);
    fputs(", \"name\": ", f);
    rep_json_str(f, port ? rep_names_service(c->names, proto, port, nb, sizeof(nb)) : NULL);
    static const char *const k[] = {"senders", "packets", "bytes"};
    for (int i = 0; i < 3; i++) {
        fprintf(f, ", \"%s\": ", k[i]);
        rep_json_col_int(f, st, 3 + i);
    }
    fputs(", \"first_seen\": ", f);
    rep_json_col_time(f, st, 6);
    fputs(", \"last_seen\": ", f);
    rep_json_col_time(f, st, 7);
    fputs("}", f);
    return true;
}

static bool s_has_table(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    bool ok =
        sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1,
                           &st, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    return ok;
}

/* Write `"name": [rows...]` from query `sql`. Returns 0 or -EIO. */
static int s_array(FILE *f, sqlite3 *db, const char *name, const char *sql, row_fn fn,
                   const struct s_ctx *c)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        CMN_LOG(ERR, "export %s: %s", name, sqlite3_errmsg(db));
        return -EIO;
    }
    fprintf(f, "\"%s\": [", name);
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (c->sel && !fn(NULL, st, c))
            continue;
        fputs(n++ ? ",\n  " : "\n  ", f);
        fn(f, st, c);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        CMN_LOG(ERR, "export %s: %s", name, sqlite3_errmsg(db));
        return -EIO;
    }
    fputs(n ? "\n]" : "]", f);
    return 0;
}

/* `"sites": [{name, kind, cidrs}...]` and the comma after it, if there are sites. */
static void s_sites(FILE *f, const struct cmn_sites *s)
{
    size_t n = cmn_sites_count(s);
    if (n == 0)
        return;
    fputs("\"sites\": [", f);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",\n  {\"name\": " : "\n  {\"name\": ", f);
        rep_json_str(f, cmn_sites_name(s, i));
        fputs(", \"kind\": ", f);
        rep_json_str(f, cmn_sites_kind(s, i));
        fputs(", \"cidrs\": [", f);
        for (size_t j = 0; j < cmn_sites_cidr_count(s, i); j++) {
            if (j)
                fputs(", ", f);
            rep_json_str(f, cmn_sites_cidr(s, i, j));
        }
        fputs("]}", f);
    }
    fputs("\n],\n", f);
}

int rep_export_json(const char *db_path, FILE *out)
{
    return rep_export_json_opts(db_path, NULL, out);
}

int rep_export_json_opts(const char *db_path, const struct rep_export_opts *o, FILE *out)
{
    sqlite3 *db = rep_db_open(db_path);
    if (!db)
        return -ENOENT;
    int rc = -EIO;
    bool begun = false;
    struct rep_names *names = NULL;
    struct rep_selection sel = {0};
    const struct rep_graph_opts go = {.sites = o ? o->sites : NULL};
    struct rep_graph *g = rep_graph_load(db, &go);
    if (!g)
        goto out;
    const struct rep_filter *flt = o ? o->filter : NULL;
    if (!rep_filter_empty(flt) && (rc = rep_select(g, flt, &sel)) != 0)
        goto out;
    rc = -EIO;
    /* one read transaction: a consistent snapshot while the merger writes
     * (the map above is its own snapshot: with a filter, a row newer than
     * the map is left out) */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    begun = true;
    names = rep_names_load(db);
    rep_names_resolve(names, o && o->resolve);
    const struct s_ctx c = {.g = g, .sel = rep_filter_empty(flt) ? NULL : &sel, .names = names};
    fputs("{", out);
    s_meta(out, db);
    fputs(",\n", out);
    if (s_array(out, db, "hosts", s_q_hosts, s_row_host, &c) != 0)
        goto out;
    fputs(",\n", out);
    if (s_array(out, db, "services", s_q_services, s_row_service, &c) != 0)
        goto out;
    fputs(",\n", out);
    if (s_array(out, db, "edges", s_q_edges, s_row_edge, &c) != 0)
        goto out;
    fputs(",\n", out);
    if (s_array(out, db, "listening", s_q_listening, s_row_listening, &c) != 0)
        goto out;
    fputs(",\n", out);
    if (!s_has_table(db, "groups"))
        fputs("\"groups\": []", out); /* a database of an earlier version */
    else if (s_array(out, db, "groups", s_q_groups, s_row_group, &c) != 0)
        goto out;
    fputs(",\n", out);
    s_sites(out, g->sites);
    if (s_array(out, db, "events", s_q_events, s_row_event, &c) != 0)
        goto out;
    fputs("}\n", out);
    if (fflush(out) != 0 || ferror(out)) {
        CMN_LOG(ERR, "export: write error: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (begun)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    rep_names_destroy(&names);
    rep_selection_fini(&sel);
    rep_graph_destroy(&g);
    rep_db_close(&db);
    return rc;
}
