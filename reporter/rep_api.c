/* SPDX-License-Identifier: MIT
 * rep_api: the JSON routes under /api/ (docs/API.md). A request is checked
 * in two steps: the route's table of parameters first (unknown, repeated,
 * too many: 400 before the database is opened), then each value as it is
 * turned into a WHERE clause with bound values (never pasted into SQL).
 * Sorting uses a per-route whitelist of columns mapped to SQL expressions;
 * every ORDER BY ends in the table's key, so pages never overlap or skip.
 *
 * Sites and names are not (only) in the tables filtered and sorted, so each
 * connection gets three SQL functions over the request's sites (the sites
 * file's, or the database's `sites` table) and names (rep_names: hosts file,
 * passive DNS, optional reverse DNS; services file, port names):
 * rep_site(ip), rep_host_name(ip, hosts.name), rep_service_name(proto, port).
 * Items are written with the same names (rep_json_*_named).
 */
#define CMN_LOG_TAG "rep_api"
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "cmn_sites.h"
#include "rep_api.h"
#include "rep_db.h"
#include "rep_export.h"
#include "rep_graph.h"
#include "rep_impact.h"
#include "rep_json.h"
#include "rep_names.h"

#define QB_SQL_MAX  2048 /* WHERE text; the longest filter set uses about 600 bytes */
#define QB_BIND_MAX 24   /* bound values; hosts with every filter bind 9 */
#define TEXT_MAX    256  /* longest q / name / kind filter value */
#define OFFSET_MAX  1000000000000LL

/* One request being answered. */
struct api {
    const struct rep_api_ctx *ctx;
    const struct rep_api_req *rq;
    FILE *f;                       /* body (own memstream; replaced by an error body on 4xx) */
    int status;                    /* 200 unless an error was set */
    char msg[320];                 /* error message */
    const char *param;             /* parameter the error names, or NULL */
    const char *value;             /* its value as given (echoed through rep_json_str) */
    struct cmn_sites *own_sites;   /* read from the database for this request */
    const struct cmn_sites *sites; /* in use: ctx->sites or own_sites (never NULL after open) */
    struct rep_names *names;       /* host and service names of this request's database */
};

/* Record a 400 naming `param` (and `value`, may be NULL). Returns -EINVAL. */
static int s_bad(struct api *a, const char *param, const char *value, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int s_bad(struct api *a, const char *param, const char *value, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof(a->msg), fmt, ap);
    va_end(ap);
    a->status = 400;
    a->param = param;
    a->value = value;
    return -EINVAL;
}

/* ---- the route table ---- */

struct route {
    const char *path;          /* "/api/hosts"; with prefix, "/api/host/" + rest */
    bool prefix;               /* the path continues (an address) */
    const char *const *params; /* accepted parameters, NULL-terminated */
    const char *const *multi;  /* of those, the repeatable ones (NULL: none) */
    bool db;                   /* open the database (false: the handler does) */
    bool txn;                  /* read in one transaction (false: the handler does) */
    int (*fn)(struct api *a, sqlite3 *db, const char *rest);
};

static bool s_in_list(const char *const *l, const char *k)
{
    for (; l && *l; l++)
        if (strcmp(*l, k) == 0)
            return true;
    return false;
}

/* Value of single-value parameter `key`, or NULL when absent; a bare
 * "?key" reads as "". Repeats were refused by s_check_params. */
static const char *s_arg(const struct api *a, const char *key)
{
    for (size_t i = 0; i < a->rq->nargs; i++)
        if (strcmp(a->rq->args[i].key, key) == 0)
            return a->rq->args[i].val ? a->rq->args[i].val : "";
    return NULL;
}

static int s_check_params(struct api *a, const struct route *rt)
{
    if (a->rq->args_overflow)
        return s_bad(a, NULL, NULL, "too many query parameters (at most %d)", REP_API_ARGS_MAX);
    for (size_t i = 0; i < a->rq->nargs; i++) {
        const struct rep_qarg *q = &a->rq->args[i];
        if (q->nul)
            return s_bad(a, q->key, q->val, "NUL byte (%%00) in the parameter");
        if (!s_in_list(rt->params, q->key))
            return s_bad(a, q->key, q->val, "unknown parameter");
        if (s_in_list(rt->multi, q->key))
            continue;
        for (size_t j = 0; j < i; j++)
            if (strcmp(a->rq->args[j].key, q->key) == 0)
                return s_bad(a, q->key, q->val, "parameter given more than once");
    }
    return 0;
}

/* ---- value parsers: each returns 0 (absent or valid) or s_bad() ---- */

/* Decimal integer in [lo, hi]; absent: *out untouched, returns 1. */
static int s_p_int(struct api *a, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    const char *v = s_arg(a, key);
    if (!v)
        return 1;
    size_t n = strlen(v);
    if (n == 0 || n > 18 || strspn(v, "0123456789") != n)
        return s_bad(a, key, v, "not a non-negative integer");
    int64_t x = strtoll(v, NULL, 10);
    if (x < lo || x > hi)
        return s_bad(a, key, v, "out of range (%" PRId64 "..%" PRId64 ")", lo, hi);
    *out = x;
    return 0;
}

/* An address, canonical text into buf; absent: returns 1. */
static int s_p_ip(struct api *a, const char *key, char *buf, size_t len)
{
    const char *v = s_arg(a, key);
    uint8_t ip[16];
    if (!v)
        return 1;
    if (cmn_ip_parse(v, ip) != 0)
        return s_bad(a, key, v, "not an IP address");
    cmn_ip_format(ip, buf, len);
    return 0;
}

/* A prefix "addr/len" (a bare address is one host); absent: returns 1. */
static int s_p_cidr(struct api *a, const char *key, uint8_t lo[16], uint8_t hi[16])
{
    const char *v = s_arg(a, key);
    if (!v)
        return 1;
    if (strchr(v, '/') ? cmn_prefix_parse(v, lo, hi) != 0 : cmn_ip_parse(v, lo) != 0)
        return s_bad(a, key, v, "not a CIDR prefix (a.b.c.d/n or x::/n)");
    if (!strchr(v, '/'))
        memcpy(hi, lo, 16);
    return 0;
}

/* "a.b.c.0/24" as the hosts table writes networks; absent: returns 1. */
static int s_p_network(struct api *a, const char *key, char *buf, size_t len)
{
    const char *v = s_arg(a, key);
    uint8_t lo[16], hi[16];
    if (!v)
        return 1;
    const char *slash = strchr(v, '/');
    if (!slash || cmn_prefix_parse(v, lo, hi) != 0)
        return s_bad(a, key, v, "not a network prefix (a.b.c.0/24 or x:x:x:x::/64)");
    char ip[CMN_IP_STRLEN];
    snprintf(buf, len, "%s/%s", cmn_ip_format(lo, ip, sizeof(ip)), slash + 1);
    return 0;
}

static int s_p_proto(struct api *a, const char *key, uint8_t *out)
{
    const char *v = s_arg(a, key);
    if (!v)
        return 1;
    if (cmn_proto_parse(v, out) != 0)
        return s_bad(a, key, v, "not a protocol (tcp, udp, icmp, icmpv6 or 0..255)");
    return 0;
}

static int s_p_port(struct api *a, const char *key, int64_t *out)
{
    return s_p_int(a, key, 1, 65535, out);
}

/* "tcp/443"; absent: returns 1. */
static int s_p_service(struct api *a, const char *key, uint8_t *proto, int64_t *port)
{
    const char *v = s_arg(a, key);
    if (!v)
        return 1;
    const char *slash = strchr(v, '/');
    char pb[16];
    if (!slash || (size_t)(slash - v) >= sizeof(pb))
        return s_bad(a, key, v, "not a service (proto/port, e.g. tcp/443)");
    memcpy(pb, v, (size_t)(slash - v));
    pb[slash - v] = '\0';
    size_t n = strlen(slash + 1);
    int64_t p = n >= 1 && n <= 5 && strspn(slash + 1, "0123456789") == n
                    ? strtoll(slash + 1, NULL, 10)
                    : -1;
    if (cmn_proto_parse(pb, proto) != 0 || p < 1 || p > 65535)
        return s_bad(a, key, v, "not a service (proto/port, e.g. tcp/443)");
    *port = p;
    return 0;
}

/* A site name the request's sites know; absent: returns 1. */
static int s_p_site(struct api *a, const char *key, const char **out)
{
    const char *v = s_arg(a, key);
    if (!v)
        return 1;
    if (cmn_sites_find(a->sites, v) < 0)
        return s_bad(a, key, v, "no such site");
    *out = v;
    return 0;
}

/* Free text (q, name): 1..TEXT_MAX bytes; absent: returns 1. */
static int s_p_text(struct api *a, const char *key, const char **out)
{
    const char *v = s_arg(a, key);
    if (!v)
        return 1;
    if (!*v || strlen(v) > TEXT_MAX)
        return s_bad(a, key, v, "empty or longer than %d bytes", TEXT_MAX);
    *out = v;
    return 0;
}

/* One of `allowed`; absent: returns 1. */
static int s_p_enum(struct api *a, const char *key, const char *const *allowed, const char **out)
{
    const char *v = s_arg(a, key);
    if (!v)
        return 1;
    if (!s_in_list(allowed, v)) {
        char list[160] = "";
        size_t n = 0;
        for (const char *const *p = allowed; *p && n < sizeof(list); p++)
            n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", *p);
        return s_bad(a, key, v, "must be one of: %s", list);
    }
    *out = v;
    return 0;
}

/* ---- WHERE clauses with bound values ---- */

enum qb_kind { QB_TEXT, QB_INT, QB_KEY };

struct qb {
    char where[QB_SQL_MAX]; /* " WHERE a AND b" or "" */
    size_t len;
    struct {
        enum qb_kind kind;
        const char *s;   /* QB_TEXT: borrowed from the request or the caller's buffer */
        int64_t i;       /* QB_INT */
        uint8_t key[16]; /* QB_KEY: address blob as the *_key columns hold it */
    } b[QB_BIND_MAX];
    int nb;
};

static void s_qb_where(struct qb *q, const char *clause)
{
    int n = snprintf(q->where + q->len, sizeof(q->where) - q->len, "%s%s",
                     q->len ? " AND " : " WHERE ", clause);
    if (CMN_NEVER(n < 0 || (size_t)n >= sizeof(q->where) - q->len))
        abort(); /* the clauses are this file's constants: a bug */
    q->len += (size_t)n;
}

static void s_qb_text(struct qb *q, const char *s)
{
    if (CMN_NEVER(q->nb == QB_BIND_MAX))
        abort();
    q->b[q->nb].kind = QB_TEXT;
    q->b[q->nb++].s = s;
}

static void s_qb_int(struct qb *q, int64_t i)
{
    if (CMN_NEVER(q->nb == QB_BIND_MAX))
        abort();
    q->b[q->nb].kind = QB_INT;
    q->b[q->nb++].i = i;
}

static void s_qb_key(struct qb *q, const uint8_t key[16])
{
    if (CMN_NEVER(q->nb == QB_BIND_MAX))
        abort();
    q->b[q->nb].kind = QB_KEY;
    memcpy(q->b[q->nb++].key, key, 16);
}

static void s_qb_bind(const struct qb *q, sqlite3_stmt *st)
{
    for (int i = 0; i < q->nb; i++) {
        if (q->b[i].kind == QB_TEXT)
            sqlite3_bind_text(st, i + 1, q->b[i].s, -1, SQLITE_STATIC);
        else if (q->b[i].kind == QB_INT)
            sqlite3_bind_int64(st, i + 1, q->b[i].i);
        else
            sqlite3_bind_blob(st, i + 1, q->b[i].key, 16, SQLITE_STATIC);
    }
}

/* ---- SQL functions over the request's sites and port names ---- */

static void s_fn_site(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const struct cmn_sites *sites = ((const struct api *)sqlite3_user_data(cx))->sites;
    const char *ip = (const char *)sqlite3_value_text(argv[0]);
    uint8_t key[16];
    int s = ip && cmn_ip_parse(ip, key) == 0 ? cmn_sites_lookup(sites, key) : -1;
    if (s < 0)
        sqlite3_result_null(cx);
    else
        sqlite3_result_text(cx, cmn_sites_name(sites, (size_t)s), -1, SQLITE_TRANSIENT);
}

static void s_fn_service_name(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const struct rep_names *names = ((const struct api *)sqlite3_user_data(cx))->names;
    char nb[64];
    int64_t proto = sqlite3_value_int64(argv[0]), port = sqlite3_value_int64(argv[1]);
    const char *n = proto >= 0 && proto <= 255 && port >= 0 && port <= 65535
                        ? rep_names_service(names, (uint8_t)proto, (uint16_t)port, nb, sizeof(nb))
                        : NULL;
    if (n)
        sqlite3_result_text(cx, n, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(cx);
}

/* The name a host item shows (rep_json_host_named): rep_names, else the row's. */
static void s_fn_host_name(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const struct rep_names *names = ((const struct api *)sqlite3_user_data(cx))->names;
    const char *ip = (const char *)sqlite3_value_text(argv[0]);
    const char *n = ip ? rep_names_host(names, ip, NULL) : NULL;
    if (!n)
        n = (const char *)sqlite3_value_text(argv[1]);
    if (n && *n)
        sqlite3_result_text(cx, n, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(cx);
}

/* Sites of the database's `sites` table (name, kind, cidr per row, as
 * rep_graph reads it), or an empty set when there is no such table. */
static struct cmn_sites *s_db_sites(sqlite3 *db)
{
    struct cmn_sites *s = cmn_sites_new();
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT name, kind, cidr FROM sites ORDER BY rowid", -1, &st,
                           NULL) != SQLITE_OK)
        return s; /* no table (or another layout): no sites */
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

static int s_prepare_db(struct api *a, sqlite3 *db)
{
    if (a->ctx->sites) {
        a->sites = a->ctx->sites;
    } else {
        a->own_sites = s_db_sites(db);
        a->sites = a->own_sites;
    }
    a->names = rep_names_load(db);
    rep_names_resolve(a->names, a->ctx->resolve);
    int f = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
    if (sqlite3_create_function(db, "rep_site", 1, f, a, s_fn_site, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(db, "rep_host_name", 2, f, a, s_fn_host_name, NULL, NULL) !=
            SQLITE_OK ||
        sqlite3_create_function(db, "rep_service_name", 2, f, a, s_fn_service_name, NULL, NULL) !=
            SQLITE_OK) {
        CMN_LOG(ERR, "cannot register SQL functions: %s", sqlite3_errmsg(db));
        return -EIO;
    }
    return 0;
}

/* ---- rows ---- */

typedef void rep_api_row_fn(FILE *f, sqlite3_stmt *st, const struct rep_names *names);

/* Write row `fn` without its closing brace, so fields can be added. */
static void s_row_open(FILE *f, rep_api_row_fn *fn, sqlite3_stmt *st, const struct rep_names *names)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        abort();
    fn(m, st, names);
    fclose(m);
    if (len > 0)
        fwrite(buf, 1, len - 1, f);
    free(buf);
}

static void s_row_host(FILE *f, sqlite3_stmt *st, const struct rep_names *names)
{
    s_row_open(f, rep_json_host_named, st, names);
    fputs(", \"site\": ", f);
    rep_json_col_str(f, st, 12, 1);
    fputc('}', f);
}

static void s_row_service(FILE *f, sqlite3_stmt *st, const struct rep_names *names)
{
    s_row_open(f, rep_json_service_named, st, names);
    fputs(", \"site\": ", f);
    rep_json_col_str(f, st, 9, 1);
    fputc('}', f);
}

static void s_json_edge(FILE *f, sqlite3_stmt *st, const struct rep_names *names)
{
    (void)names; /* edges carry addresses only */
    rep_json_edge(f, st);
}

static void s_row_event(FILE *f, sqlite3_stmt *st, const struct rep_names *names)
{
    (void)names;
    rep_json_event(f, st);
}

static void s_row_edge(FILE *f, sqlite3_stmt *st, const struct rep_names *names)
{
    s_row_open(f, s_json_edge, st, names);
    fputs(", \"client_site\": ", f);
    rep_json_col_str(f, st, 11, 1);
    fputs(", \"server_site\": ", f);
    rep_json_col_str(f, st, 12, 1);
    fputc('}', f);
}

/* ---- paged lists ---- */

struct sortcol {
    const char *name; /* as in sort=NAME */
    const char *expr; /* SQL expression */
    bool desc;        /* direction without order= */
};

struct list {
    const char *select;          /* "SELECT cols" */
    const char *from;            /* " FROM table" */
    const struct sortcol *sorts; /* whitelist, ended by name NULL */
    const char *def_order;       /* ORDER BY without sort= */
    const char *tiebreak;        /* the table's key: appended to every ORDER BY */
    rep_api_row_fn *row;         /* item writer */
};

static const char *const s_orders[] = {"asc", "desc", NULL};

/* Read limit, offset, sort, order; write {"total", "offset", "limit", "items"}. */
static int s_list(struct api *a, sqlite3 *db, const struct list *l, const struct qb *q)
{
    int64_t limit = REP_API_LIMIT, offset = 0;
    const char *sort = NULL, *order = NULL;
    const struct sortcol *sc = NULL;
    if (s_p_int(a, "limit", 0, REP_API_LIMIT_MAX, &limit) < 0 ||
        s_p_int(a, "offset", 0, OFFSET_MAX, &offset) < 0 ||
        s_p_enum(a, "order", s_orders, &order) < 0)
        return -EINVAL;
    if ((sort = s_arg(a, "sort")) != NULL) {
        for (const struct sortcol *c = l->sorts; c->name && !sc; c++)
            if (strcmp(c->name, sort) == 0)
                sc = c;
        if (!sc) {
            char list[400] = "";
            size_t n = 0;
            for (const struct sortcol *c = l->sorts; c->name && n < sizeof(list); c++)
                n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", n ? ", " : "", c->name);
            return s_bad(a, "sort", sort, "not a sortable column; one of: %s", list);
        }
    }
    char order_by[512];
    if (sc) {
        bool desc = order ? strcmp(order, "desc") == 0 : sc->desc;
        snprintf(order_by, sizeof(order_by), "%s %s, %s", sc->expr, desc ? "DESC" : "ASC",
                 l->tiebreak);
    } else if (order) {
        return s_bad(a, "order", order, "order needs sort (the default order is fixed)");
    } else {
        snprintf(order_by, sizeof(order_by), "%s, %s", l->def_order, l->tiebreak);
    }

    char sql[QB_SQL_MAX + 1024];
    sqlite3_stmt *st = NULL;
    snprintf(sql, sizeof(sql), "SELECT count(*)%s%s", l->from, q->where);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    s_qb_bind(q, st);
    int64_t total = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    snprintf(sql, sizeof(sql), "%s%s%s ORDER BY %s LIMIT %" PRId64 " OFFSET %" PRId64, l->select,
             l->from, q->where, order_by, limit, offset);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        goto dberr;
    s_qb_bind(q, st);
    fprintf(a->f,
            "{\"total\": %" PRId64 ", \"offset\": %" PRId64 ", \"limit\": %" PRId64
            ", \"items\": [",
            total, offset, limit);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fputs(n++ ? ",\n " : "\n ", a->f);
        l->row(a->f, st, a->names);
    }
    sqlite3_finalize(st);
    fputs(n ? "\n]}\n" : "]}\n", a->f);
    if (rc != SQLITE_DONE)
        goto dberr;
    return 0;
dberr:
    CMN_LOG(ERR, "api: %s", sqlite3_errmsg(db));
    return -EIO;
}

/* ---- /api/hosts ---- */

/* sort=kind: server, both, client, unknown. The default order puts every
 * host that provides a service (server or both) first, then by address. */
#define KIND_RANK                                                                                  \
    "CASE kind WHEN 'server' THEN 0 WHEN 'both' THEN 1 WHEN 'client' THEN 2 ELSE 3 END"
#define SERVES_RANK                                                                                \
    "CASE WHEN kind IN ('server', 'both') THEN 0 WHEN kind = 'client' THEN 1 ELSE 2 END"

// clang-format off
static const struct sortcol s_host_sorts[] = {
    {"ip", "ip_key", false},
    {"name", "rep_host_name(ip, name)", false},
    {"kind", KIND_RANK, false},
    {"site", "rep_site(ip)", false},
    {"services_provided", "services_provided", true},
    {"services_used", "services_used", true},
    {"packets", "packets_in + packets_out", true},
    {"bytes", "bytes_in + bytes_out", true},
    {"packets_in", "packets_in", true},
    {"packets_out", "packets_out", true},
    {"bytes_in", "bytes_in", true},
    {"bytes_out", "bytes_out", true},
    {"first_seen", "first_ns", false},
    {"last_seen", "last_ns", false},
    {NULL, NULL, false},
};
// clang-format on

static const char *const s_kinds[] = {"server", "client", "both", "unknown", NULL};

static int s_hosts(struct api *a, sqlite3 *db, const char *rest)
{
    (void)rest;
    static const struct list l = {
        .select = "SELECT " REP_HOST_COLS ", rep_site(ip)",
        .from = " FROM hosts",
        .sorts = s_host_sorts,
        .def_order = SERVES_RANK,
        .tiebreak = "ip_key, ip",
        .row = s_row_host,
    };
    struct qb q = {.len = 0};
    const char *kind, *site, *text;
    char net[CMN_IP_STRLEN + 8];
    uint8_t lo[16], hi[16], proto;
    int64_t port;
    int rc;
    if ((rc = s_p_enum(a, "kind", s_kinds, &kind)) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "kind = ?");
        s_qb_text(&q, kind);
    }
    if ((rc = s_p_site(a, "site", &site)) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "rep_site(ip) = ?");
        s_qb_text(&q, site);
    }
    if ((rc = s_p_network(a, "network", net, sizeof(net))) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "network = ?");
        s_qb_text(&q, net);
    }
    if ((rc = s_p_cidr(a, "cidr", lo, hi)) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "ip_key BETWEEN ? AND ?");
        s_qb_key(&q, lo);
        s_qb_key(&q, hi);
    }
    if ((rc = s_p_text(a, "q", &text)) < 0)
        return rc;
    if (rc == 0) { /* address prefix, or name substring (ASCII case-insensitive) */
        s_qb_where(&q, "(substr(ip, 1, length(?)) = ? OR"
                       " instr(lower(coalesce(rep_host_name(ip, name), '')), lower(?)) > 0)");
        s_qb_text(&q, text);
        s_qb_text(&q, text);
        s_qb_text(&q, text);
    }
    if ((rc = s_p_service(a, "has_service", &proto, &port)) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "EXISTS (SELECT 1 FROM services s WHERE s.ip = hosts.ip AND s.proto = ?"
                       " AND s.port = ?)");
        s_qb_int(&q, proto);
        s_qb_int(&q, port);
    }
    return s_list(a, db, &l, &q);
}

/* ---- /api/services ---- */

// clang-format off
static const struct sortcol s_svc_sorts[] = {
    {"ip", "ip_key", false},
    {"proto", "proto", false},
    {"port", "port", false},
    {"name", "rep_service_name(proto, port)", false},
    {"site", "rep_site(ip)", false},
    {"clients", "clients", true},
    {"bytes", "bytes", true},
    {"packets", "packets", true},
    {"confidence", "confidence", true},
    {"first_seen", "first_ns", false},
    {"last_seen", "last_ns", false},
    {NULL, NULL, false},
};
// clang-format on

static int s_services(struct api *a, sqlite3 *db, const char *rest)
{
    (void)rest;
    static const struct list l = {
        .select = "SELECT " REP_SERVICE_COLS ", rep_site(ip)",
        .from = " FROM services",
        .sorts = s_svc_sorts,
        .def_order = "clients DESC",
        .tiebreak = "ip_key, ip, proto, port",
        .row = s_row_service,
    };
    struct qb q = {.len = 0};
    char ip[CMN_IP_STRLEN];
    const char *site, *name;
    uint8_t lo[16], hi[16], proto;
    int64_t port;
    int rc;
    if ((rc = s_p_ip(a, "ip", ip, sizeof(ip))) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "ip = ?");
        s_qb_text(&q, ip);
    }
    if ((rc = s_p_cidr(a, "cidr", lo, hi)) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "ip_key BETWEEN ? AND ?");
        s_qb_key(&q, lo);
        s_qb_key(&q, hi);
    }
    if ((rc = s_p_site(a, "site", &site)) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "rep_site(ip) = ?");
        s_qb_text(&q, site);
    }
    if ((rc = s_p_proto(a, "proto", &proto)) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "proto = ?");
        s_qb_int(&q, proto);
    }
    if ((rc = s_p_port(a, "port", &port)) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "port = ?");
        s_qb_int(&q, port);
    }
    if ((rc = s_p_text(a, "name", &name)) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "instr(lower(coalesce(rep_service_name(proto, port), '')), lower(?)) > 0");
        s_qb_text(&q, name);
    }
    return s_list(a, db, &l, &q);
}

/* ---- /api/edges ---- */

// clang-format off
static const struct sortcol s_edge_sorts[] = {
    {"client", "client_key", false},
    {"server", "server_key", false},
    {"proto", "proto", false},
    {"port", "server_port", false},
    {"bytes", "bytes_c2s + bytes_s2c", true},
    {"packets", "packets_c2s + packets_s2c", true},
    {"bytes_c2s", "bytes_c2s", true},
    {"bytes_s2c", "bytes_s2c", true},
    {"packets_c2s", "packets_c2s", true},
    {"packets_s2c", "packets_s2c", true},
    {"sessions", "sessions", true},
    {"first_seen", "first_ns", false},
    {"last_seen", "last_ns", false},
    {NULL, NULL, false},
};
// clang-format on

static int s_edges(struct api *a, sqlite3 *db, const char *rest)
{
    (void)rest;
    static const struct list l = {
        .select = "SELECT " REP_EDGE_COLS ", rep_site(client_ip), rep_site(server_ip)",
        .from = " FROM edges",
        .sorts = s_edge_sorts,
        .def_order = "bytes_c2s + bytes_s2c DESC",
        .tiebreak = "server_key, server_ip, proto, server_port, client_key, client_ip",
        .row = s_row_edge,
    };
    struct qb q = {.len = 0};
    char client[CMN_IP_STRLEN], server[CMN_IP_STRLEN];
    const char *site;
    uint8_t lo[16], hi[16], proto;
    int64_t port;
    int rc;
    if ((rc = s_p_ip(a, "client", client, sizeof(client))) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "client_ip = ?");
        s_qb_text(&q, client);
    }
    if ((rc = s_p_ip(a, "server", server, sizeof(server))) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "server_ip = ?");
        s_qb_text(&q, server);
    }
    if ((rc = s_p_cidr(a, "cidr", lo, hi)) < 0)
        return rc;
    if (rc == 0) { /* either end inside */
        s_qb_where(&q, "(client_key BETWEEN ? AND ? OR server_key BETWEEN ? AND ?)");
        s_qb_key(&q, lo);
        s_qb_key(&q, hi);
        s_qb_key(&q, lo);
        s_qb_key(&q, hi);
    }
    if ((rc = s_p_proto(a, "proto", &proto)) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "proto = ?");
        s_qb_int(&q, proto);
    }
    if ((rc = s_p_port(a, "port", &port)) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "server_port = ?");
        s_qb_int(&q, port);
    }
    if ((rc = s_p_site(a, "site", &site)) < 0)
        return rc;
    if (rc == 0) { /* either end in the site */
        s_qb_where(&q, "(rep_site(client_ip) = ? OR rep_site(server_ip) = ?)");
        s_qb_text(&q, site);
        s_qb_text(&q, site);
    }
    return s_list(a, db, &l, &q);
}

/* ---- /api/events ---- */

// clang-format off
static const struct sortcol s_event_sorts[] = {
    {"kind", "kind", false},
    {"target", "target_ip", false},
    {"port", "port", false},
    {"packets", "packets", true},
    {"source_count", "source_count", true},
    {"port_count", "port_count", true},
    {"rate", "packets * 1e9 / MAX(last_ns - first_ns, 1000000)", true},
    {"first_seen", "first_ns", false},
    {"last_seen", "last_ns", false},
    {NULL, NULL, false},
};
// clang-format on

static int s_events(struct api *a, sqlite3 *db, const char *rest)
{
    (void)rest;
    static const struct list l = {
        .select = "SELECT " REP_EVENT_COLS,
        .from = " FROM events",
        .sorts = s_event_sorts,
        .def_order = "last_ns DESC",
        .tiebreak = "kind, target_ip, port, proto, actor_ip",
        .row = s_row_event,
    };
    struct qb q = {.len = 0};
    char target[CMN_IP_STRLEN], ip[CMN_IP_STRLEN];
    const char *kind;
    int rc;
    if ((rc = s_p_text(a, "kind", &kind)) < 0)
        return rc;
    if (rc == 0) {
        size_t n = strlen(kind);
        if (strspn(kind, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
            return s_bad(a, "kind", kind, "not an event kind (syn_flood, port_scan, ...)");
        s_qb_where(&q, "kind = ?");
        s_qb_text(&q, kind);
    }
    if ((rc = s_p_ip(a, "target", target, sizeof(target))) < 0)
        return rc;
    if (rc == 0) {
        s_qb_where(&q, "target_ip = ?");
        s_qb_text(&q, target);
    }
    if ((rc = s_p_ip(a, "ip", ip, sizeof(ip))) < 0)
        return rc;
    if (rc == 0) { /* the target or the single actor */
        s_qb_where(&q, "(target_ip = ? OR actor_ip = ?)");
        s_qb_text(&q, ip);
        s_qb_text(&q, ip);
    }
    return s_list(a, db, &l, &q);
}

/* ---- /api/sites ---- */

struct site_row {
    size_t idx;       /* in the request's sites */
    const char *name; /* borrowed */
    const char *kind; /* borrowed */
    int64_t hosts;    /* hosts of the database in it */
};

static int s_site_by_name(const void *x, const void *y)
{
    return strcmp(((const struct site_row *)x)->name, ((const struct site_row *)y)->name);
}

static int s_site_by_kind(const void *x, const void *y)
{
    const struct site_row *a = x, *b = y;
    int c = strcmp(a->kind, b->kind);
    return c ? c : strcmp(a->name, b->name);
}

static int s_site_by_hosts(const void *x, const void *y)
{
    const struct site_row *a = x, *b = y;
    if (a->hosts != b->hosts)
        return a->hosts < b->hosts ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int s_sites(struct api *a, sqlite3 *db, const char *rest)
{
    (void)rest;
    static const char *const sorts[] = {"name", "kind", "hosts", NULL};
    int64_t limit = REP_API_LIMIT, offset = 0;
    const char *sort = "name", *order = NULL, *kind = NULL;
    if (s_p_int(a, "limit", 0, REP_API_LIMIT_MAX, &limit) < 0 ||
        s_p_int(a, "offset", 0, OFFSET_MAX, &offset) < 0 || s_p_enum(a, "sort", sorts, &sort) < 0 ||
        s_p_enum(a, "order", s_orders, &order) < 0 || s_p_text(a, "kind", &kind) < 0)
        return -EINVAL;
    size_t ns = cmn_sites_count(a->sites), n = 0;
    struct site_row *rows = calloc(ns + 1, sizeof(*rows));
    if (!rows)
        abort();
    for (size_t i = 0; i < ns; i++) {
        if (kind && strcmp(kind, cmn_sites_kind(a->sites, i)) != 0)
            continue;
        rows[n].idx = i;
        rows[n].name = cmn_sites_name(a->sites, i);
        rows[n++].kind = cmn_sites_kind(a->sites, i);
    }
    /* hosts per site: one pass over the hosts table */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT s, count(*) FROM (SELECT rep_site(ip) AS s FROM hosts)"
                           " WHERE s IS NOT NULL GROUP BY s",
                           -1, &st, NULL) != SQLITE_OK) {
        CMN_LOG(ERR, "api: %s", sqlite3_errmsg(db));
        free(rows);
        return -EIO;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        for (size_t i = 0; s && i < n; i++)
            if (strcmp(rows[i].name, s) == 0)
                rows[i].hosts = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    bool desc = order ? strcmp(order, "desc") == 0 : strcmp(sort, "hosts") == 0;
    qsort(rows, n, sizeof(*rows),
          strcmp(sort, "kind") == 0    ? s_site_by_kind
          : strcmp(sort, "hosts") == 0 ? s_site_by_hosts
                                       : s_site_by_name);
    fprintf(a->f, "{\"total\": %zu, \"offset\": %" PRId64 ", \"limit\": %" PRId64 ", \"items\": [",
            n, offset, limit);
    int64_t written = 0;
    for (int64_t k = offset; k < (int64_t)n && written < limit; k++, written++) {
        const struct site_row *r = &rows[desc ? (int64_t)n - 1 - k : k];
        fputs(written ? ",\n " : "\n ", a->f);
        fputs("{\"name\": ", a->f);
        rep_json_str(a->f, r->name);
        fputs(", \"kind\": ", a->f);
        rep_json_str(a->f, r->kind);
        fputs(", \"cidrs\": [", a->f);
        for (size_t j = 0; j < cmn_sites_cidr_count(a->sites, r->idx); j++) {
            fputs(j ? ", " : "", a->f);
            rep_json_str(a->f, cmn_sites_cidr(a->sites, r->idx, j));
        }
        fprintf(a->f, "], \"hosts\": %" PRId64 "}", r->hosts);
    }
    fputs(written ? "\n]}\n" : "]}\n", a->f);
    free(rows);
    return 0;
}

/* ---- /api/host/<ip> ---- */

/* Rows of `sql` (one optional text parameter) as a JSON array. */
static int s_json_rows(FILE *f, sqlite3 *db, const char *sql, const char *param, rep_api_row_fn *fn,
                       const struct rep_names *names)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    if (param)
        sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
    fputc('[', f);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fputs(n++ ? ",\n " : "\n ", f);
        fn(f, st, names);
    }
    sqlite3_finalize(st);
    fputs(n ? "\n]" : "]", f);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

/* A service row (REP_SERVICE_COLS, then REP_EVIDENCE_COLS from column 9)
 * with an "evidence" object: why the endpoint was judged a server. */
static void s_json_service_evidence(FILE *f, sqlite3_stmt *st, const struct rep_names *names)
{
    static const char *const ev[] = {"synack_sent", "synack_recv", "syn_recv", "rst_sent",
                                     "peers",       "peer_ports",  "sessions", "epochs_seen"};
    s_row_open(f, rep_json_service_named, st, names);
    fputs(", \"evidence\": {", f);
    for (int i = 0; i < 8; i++) {
        fprintf(f, "%s\"%s\": ", i ? ", " : "", ev[i]);
        rep_json_col_int(f, st, 9 + i);
    }
    fputs("}}", f);
}

static int s_host(struct api *a, sqlite3 *db, const char *raw)
{
    char ip[CMN_IP_STRLEN];
    uint8_t key[16];
    sqlite3_stmt *st = NULL;
    bool valid = cmn_ip_parse(raw, key) == 0, found = false;
    if (valid) {
        cmn_ip_format(key, ip, sizeof(ip));
        if (sqlite3_prepare_v2(db,
                               "SELECT " REP_HOST_COLS ", rep_site(ip) FROM hosts WHERE ip = ?1",
                               -1, &st, NULL) != SQLITE_OK)
            return -EIO;
        sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            found = true;
            fputs("{\"host\": ", a->f);
            s_row_host(a->f, st, a->names);
        }
        sqlite3_finalize(st);
    }
    if (!found) {
        a->status = 404;
        fputs("{\"error\": ", a->f);
        rep_json_str(a->f, valid ? "no traffic seen for host" : "not an IP address");
        fputs(", \"ip\": ", a->f);
        rep_json_str(a->f, raw);
        fputs("}\n", a->f);
        return 0;
    }
    fputs(",\n\"provides\": ", a->f);
    int rc = s_json_rows(a->f, db,
                         "SELECT s.ip, s.proto, s.port, s.clients, s.bytes, s.packets,"
                         " s.confidence, s.first_ns, s.last_ns, " REP_EVIDENCE_COLS
                         " FROM services s LEFT JOIN endpoints e ON e.ip = s.ip"
                         " AND e.proto = s.proto AND e.port = s.port WHERE s.ip = ?1"
                         " ORDER BY s.proto, s.port",
                         ip, s_json_service_evidence, a->names);
    fputs(",\n\"uses\": ", a->f);
    if (rc == 0)
        rc = s_json_rows(a->f, db,
                         "SELECT " REP_EDGE_COLS " FROM edges WHERE client_ip = ?1"
                         " ORDER BY server_key, proto, server_port",
                         ip, s_json_edge, a->names);
    fputs(",\n\"clients\": ", a->f);
    if (rc == 0)
        rc = s_json_rows(a->f, db,
                         "SELECT " REP_EDGE_COLS " FROM edges WHERE server_ip = ?1"
                         " ORDER BY proto, server_port, client_key",
                         ip, s_json_edge, a->names);
    fputs("}\n", a->f);
    if (rc != 0)
        CMN_LOG(ERR, "api host: %s", sqlite3_errmsg(db));
    return rc;
}

/* ---- /api/export ---- */

static int s_export(struct api *a, sqlite3 *db, const char *rest)
{
    (void)db;
    (void)rest;
    return rep_export_json_opts(a->ctx->db_path, a->f, a->ctx->resolve) == 0 ? 0 : -EIO;
}

/* ---- /api/impact ---- */

/* rep_graph_load sorts with a file-static comparator context, so two
 * loads must not run at once; loads are rare (one per impact request). */
static pthread_mutex_t s_graph_lock = PTHREAD_MUTEX_INITIALIZER;

/* The values of repeatable parameter `key`, borrowed from the request. */
static const char **s_multi(const struct api *a, const char *key, size_t *n)
{
    const char **v = calloc(a->rq->nargs + 1, sizeof(*v));
    if (!v)
        abort();
    *n = 0;
    for (size_t i = 0; i < a->rq->nargs; i++)
        if (strcmp(a->rq->args[i].key, key) == 0)
            v[(*n)++] = a->rq->args[i].val ? a->rq->args[i].val : "";
    return v;
}

static int s_p_time(struct api *a, const char *key, int64_t ref, int64_t *out)
{
    const char *v = s_arg(a, key);
    *out = 0;
    if (!v)
        return 1;
    if (rep_time_parse(v, ref, out) != 0)
        return s_bad(a, key, v,
                     "not a time: RFC 3339 (2026-01-01T08:00:00Z), a date (2026-01-01) or a"
                     " duration before the last packet (90m, 24h, 7d)");
    return 0;
}

/* Which parameter an impact error is about: the first value it quotes
 * (a site "@x" is quoted as "x"); "fail" when none is quoted. */
static void s_impact_param(struct api *a, const char *const *keys, const char **const *vals,
                           const size_t *nvals, size_t nkeys)
{
    for (size_t k = 0; k < nkeys; k++)
        for (size_t i = 0; i < nvals[k]; i++)
            if (*vals[k][i] &&
                (strstr(a->msg, vals[k][i]) ||
                 (vals[k][i][0] == '@' && vals[k][i][1] && strstr(a->msg, vals[k][i] + 1)))) {
                a->param = keys[k];
                a->value = vals[k][i];
                return;
            }
    a->param = "fail";
}

static int s_impact(struct api *a, sqlite3 *db, const char *rest)
{
    (void)rest; /* rep_graph_load reads in its own transaction */
    size_t n[3];
    const char **v[3] = {s_multi(a, "fail", &n[0]), s_multi(a, "alt", &n[1]),
                         s_multi(a, "soft", &n[2])};
    static const char *const keys[3] = {"fail", "alt", "soft"};
    struct rep_graph *g = NULL;
    struct rep_impact *r = NULL;
    int64_t hops = -1;
    struct rep_graph_opts go = {.sites = a->sites};
    int64_t last = rep_db_meta_i64(db, "last_seen_ns", 0);
    int rc = -EINVAL;
    if (n[0] == 0) {
        s_bad(a, "fail", NULL,
              "give at least one fail=TARGET (IP, CIDR, IP:proto/port, @site"
              " or host name)");
        goto out;
    }
    if (s_p_int(a, "hops", 0, 1000000, &hops) < 0 || s_p_time(a, "since", last, &go.since_ns) < 0 ||
        s_p_time(a, "until", last, &go.until_ns) < 0)
        goto out;
    if (go.until_ns && go.until_ns <= go.since_ns) {
        s_bad(a, "until", s_arg(a, "until"), "must be later than since");
        goto out;
    }
    pthread_mutex_lock(&s_graph_lock);
    g = rep_graph_load(db, &go);
    pthread_mutex_unlock(&s_graph_lock);
    if (!g) {
        if (go.since_ns || go.until_ns)
            s_bad(a, go.since_ns ? "since" : "until", s_arg(a, go.since_ns ? "since" : "until"),
                  "the period starts before the oldest usage history the database keeps"
                  " (or it keeps none)");
        else
            rc = -EIO;
        goto out;
    }
    struct rep_impact_opts io = {.fail = v[0],
                                 .nfail = n[0],
                                 .hops = (int)hops,
                                 .alt = v[1],
                                 .nalt = n[1],
                                 .soft = v[2],
                                 .nsoft = n[2]};
    r = rep_impact_run(g, &io, a->msg, sizeof(a->msg));
    if (!r) {
        a->status = 400;
        s_impact_param(a, keys, (const char **const *)v, n, 3);
        goto out;
    }
    rc = rep_impact_write_json(r, a->f) == 0 ? 0 : -EIO;
out:
    rep_impact_destroy(&r);
    rep_graph_destroy(&g);
    for (int i = 0; i < 3; i++)
        free(v[i]);
    return rc;
}

/* ---- dispatch ---- */

#define PAGING "limit", "offset", "sort", "order"

static const char *const s_p_hosts[] = {PAGING, "kind", "site",        "network",
                                        "cidr", "q",    "has_service", NULL};
static const char *const s_p_services[] = {PAGING,  "ip",   "cidr", "site",
                                           "proto", "port", "name", NULL};
static const char *const s_p_edges[] = {PAGING,  "client", "server", "cidr",
                                        "proto", "port",   "site",   NULL};
static const char *const s_p_events[] = {PAGING, "kind", "target", "ip", NULL};
static const char *const s_p_sites[] = {PAGING, "kind", NULL};
static const char *const s_p_impact[] = {"fail", "alt", "soft", "hops", "since", "until", NULL};
static const char *const s_m_impact[] = {"fail", "alt", "soft", NULL};
static const char *const s_p_none[] = {NULL};

// clang-format off
static const struct route s_routes[] = {
    {"/api/hosts", false, s_p_hosts, NULL, true, true, s_hosts},
    {"/api/services", false, s_p_services, NULL, true, true, s_services},
    {"/api/edges", false, s_p_edges, NULL, true, true, s_edges},
    {"/api/events", false, s_p_events, NULL, true, true, s_events},
    {"/api/sites", false, s_p_sites, NULL, true, true, s_sites},
    {"/api/host/", true, s_p_none, NULL, true, true, s_host},
    {"/api/impact", false, s_p_impact, s_m_impact, true, false, s_impact},
    {"/api/export", false, s_p_none, NULL, false, false, s_export},
};
// clang-format on

static void s_error_body(struct api *a, FILE *f)
{
    fputs("{\"error\": ", f);
    rep_json_str(f, a->msg);
    if (a->param) {
        fputs(", \"parameter\": ", f);
        rep_json_str(f, a->param);
    }
    if (a->value) {
        fputs(", \"value\": ", f);
        rep_json_str(f, a->value);
    }
    fputs("}\n", f);
}

static int s_run(struct api *a, const struct route *rt, const char *rest)
{
    if (s_check_params(a, rt) != 0)
        return 0;
    if (!rt->db)
        return rt->fn(a, NULL, rest);
    sqlite3 *db = rep_db_open(a->ctx->db_path);
    if (!db)
        return -EIO;
    int rc = s_prepare_db(a, db);
    if (rc == 0 && rt->txn && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        rc = -EIO;
    if (rc == 0) { /* one snapshot per request */
        rc = rt->fn(a, db, rest);
        if (rt->txn)
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    }
    rep_db_close(&db);
    cmn_sites_destroy(&a->own_sites);
    rep_names_destroy(&a->names);
    return rc == -EINVAL ? 0 : rc; /* -EINVAL: a 400 was recorded */
}

int rep_api_handle(const struct rep_api_ctx *ctx, const struct rep_api_req *rq, struct rep_resp *r)
{
    struct api a = {.ctx = ctx, .rq = rq, .status = 200};
    char *buf = NULL;
    size_t len = 0;
    const struct route *rt = NULL;
    const char *rest = "";
    r->type = "application/json";
    for (size_t i = 0; i < sizeof(s_routes) / sizeof(s_routes[0]) && !rt; i++) {
        size_t n = strlen(s_routes[i].path);
        if (s_routes[i].prefix ? strncmp(rq->path, s_routes[i].path, n) == 0
                               : strcmp(rq->path, s_routes[i].path) == 0) {
            rt = &s_routes[i];
            rest = rq->path + n;
        }
    }
    if (!rt) {
        r->status = 404;
        fputs("{\"error\": \"no such API route\", \"path\": ", r->f);
        rep_json_str(r->f, rq->path);
        fputs("}\n", r->f);
        return 0;
    }
    a.f = open_memstream(&buf, &len);
    if (!a.f)
        return -ENOMEM;
    int rc = s_run(&a, rt, rest);
    fclose(a.f);
    if (rc != 0) {
        r->status = 500;
        fputs("{\"error\": \"internal error: database unreadable (see reporter log)\"}\n", r->f);
    } else if (a.status == 400) {
        r->status = 400;
        s_error_body(&a, r->f);
    } else {
        r->status = a.status;
        fwrite(buf, 1, len, r->f);
    }
    free(buf);
    return 0;
}
