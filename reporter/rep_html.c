/* SPDX-License-Identifier: MIT
 * rep_html: the shared layout and helpers of the HTML report (rep_html.h).
 * Sorting and paging are plain links carrying the query string, so every
 * table works without JavaScript; the style sheet is inline (one request
 * per page, nothing from outside).
 */
#define CMN_LOG_TAG "rep_html"
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "cmn_sites.h"
#include "rep_html.h"
#include "rep_json.h"
#include "rep_names.h"
#include "rep_ports.h"

static const char s_css[] =
    "body{font-family:system-ui,sans-serif;margin:0;color:#222;font-size:14px}"
    "main{padding:0 1.5em 2em}"
    "nav{background:#234;padding:6px 1.5em;display:flex;gap:1em;align-items:center;"
    "flex-wrap:wrap}"
    "nav a{color:#dde;text-decoration:none}nav a.on{color:#fff;font-weight:bold;"
    "border-bottom:2px solid #fc6}"
    "nav form{margin-left:auto}nav input{width:22em}"
    "h1{font-size:1.4em;margin:.8em 0 .4em}h2{font-size:1.1em;margin:1.2em 0 .3em}"
    "table{border-collapse:collapse;margin-bottom:.6em}"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}"
    "th{background:#eef}th a{color:#124;text-decoration:none}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".muted{color:#777}.pager{margin:.3em 0 1.2em}.pager a{margin-right:.8em}"
    ".kv th{text-align:right;font-weight:normal;color:#555}"
    ".tot{display:flex;flex-wrap:wrap;gap:.6em}.tot div{border:1px solid #ccc;padding:6px 10px;"
    "border-radius:4px;min-width:7em}.tot b{display:block;font-size:1.3em}"
    ".fold td{background:#fafae8}.cols{display:flex;gap:2em;flex-wrap:wrap}"
    ".lost,.failed{color:#a00;font-weight:bold}.impaired{color:#c50}.degraded{color:#870}"
    "svg.chart{border:1px solid #ddd;background:#fcfcff}"
    "form.f label{margin-right:1em}code{background:#f4f4f4;padding:0 3px}";

struct navitem {
    const char *label;
    const char *href;
};

static const struct navitem s_nav[] = {
    {"Overview", "/"},     {"Hosts", "/hosts"},   {"Services", "/services"}, {"Sites", "/sites"},
    {"Impact", "/impact"}, {"Events", "/events"}, {"Monitor", "/monitor"},   {"Graph", "/graph"},
};

const char *rep_page_arg(const struct rep_page *p, const char *key)
{
    for (size_t i = 0; i < p->nargs; i++)
        if (strcmp(p->args[i].key, key) == 0)
            return p->args[i].val ? p->args[i].val : "";
    return NULL;
}

int64_t rep_page_int(const struct rep_page *p, const char *key, int64_t lo, int64_t hi, int64_t def)
{
    const char *v = rep_page_arg(p, key);
    if (!v || !*v)
        return def;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return def;
    return x;
}

/* One character of text at s to f: valid UTF-8 passes, bytes that are not
 * valid UTF-8 and control characters become U+FFFD (the pages and plain
 * answers say charset=utf-8, as rep_json_str). Returns the bytes consumed. */
static size_t s_text_char(FILE *f, const char *s)
{
    unsigned char c = (unsigned char)*s;
    size_t n = c >= 0x80 ? rep_utf8_len((const unsigned char *)s) : 1;
    if (n == 0 || (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
        fputs("\xef\xbf\xbd", f);
        return 1;
    }
    fwrite(s, 1, n, f);
    return n;
}

void rep_html_esc(FILE *f, const char *s)
{
    if (!s)
        return;
    while (*s) {
        const char *ent = NULL;
        switch (*s) {
            case '&':
                ent = "&amp;";
                break;
            case '<':
                ent = "&lt;";
                break;
            case '>':
                ent = "&gt;";
                break;
            case '"':
                ent = "&quot;";
                break;
            case '\'':
                ent = "&#39;";
                break;
            default:
                break;
        }
        if (ent) {
            fputs(ent, f);
            s++;
        } else {
            s += s_text_char(f, s);
        }
    }
}

void rep_text_esc(FILE *f, const char *s)
{
    while (s && *s)
        s += s_text_char(f, s);
}

void rep_html_q(FILE *f, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    if (!s)
        return;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '.' || *c == '_' || *c == '~' || *c == ':')
            fputc(*c, f);
        else
            fprintf(f, "%%%c%c", hex[*c >> 4], hex[*c & 15]);
    }
}

const char *rep_html_human(int64_t v, char *buf, size_t len)
{
    static const char *const unit[] = {"B", "kB", "MB", "GB", "TB", "PB"};
    double d = (double)v;
    int u = 0;
    while (d >= 1000.0 && u < 5) {
        d /= 1000.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%lld B", (long long)v);
    else
        snprintf(buf, len, "%.1f %s", d, unit[u]);
    return buf;
}

void rep_html_head(struct rep_page *p, const char *title, const char *nav, const char *extra_head)
{
    FILE *f = p->f;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width\"><title>",
          f);
    rep_html_esc(f, title);
    fprintf(f, " · renkei</title><style>%s</style>%s</head><body>\n<nav>", s_css,
            extra_head ? extra_head : "");
    for (size_t i = 0; i < sizeof(s_nav) / sizeof(s_nav[0]); i++)
        fprintf(f, "<a href=\"%s\"%s>%s</a>", s_nav[i].href,
                nav && strcmp(nav, s_nav[i].label) == 0 ? " class=on" : "", s_nav[i].label);
    fputs("<form action=\"/hosts\" method=\"get\" role=\"search\"><input type=\"search\" "
          "name=\"q\" placeholder=\"IP, CIDR, name or service (tcp/5432, ldap)\" "
          "aria-label=\"search hosts\"",
          f);
    const char *q = nav && strcmp(nav, "Hosts") == 0 ? rep_page_arg(p, "q") : NULL;
    if (q) {
        fputs(" value=\"", f);
        rep_html_esc(f, q);
        fputs("\"", f);
    }
    fputs("> <button>Find</button></form></nav>\n<main>\n<h1>", f);
    rep_html_esc(f, title);
    fputs("</h1>\n", f);
}

void rep_html_tail(struct rep_page *p)
{
    fputs("</main>\n</body></html>\n", p->f);
}

void rep_html_href(const struct rep_page *p, const char *base, const char *const *keys,
                   const char *const *vals, size_t n)
{
    FILE *f = p->f;
    rep_html_esc(f, base);
    const char *sep = "?";
    for (size_t i = 0; i < p->nargs; i++) {
        bool replaced = false;
        for (size_t j = 0; j < n && !replaced; j++)
            replaced = strcmp(p->args[i].key, keys[j]) == 0;
        if (replaced || !p->args[i].val || !*p->args[i].val)
            continue; /* empty form fields are dropped: shorter links */
        fputs(sep, f);
        rep_html_q(f, p->args[i].key);
        fputc('=', f);
        rep_html_q(f, p->args[i].val);
        sep = "&amp;";
    }
    for (size_t j = 0; j < n; j++) {
        if (!vals[j])
            continue;
        fputs(sep, f);
        rep_html_q(f, keys[j]);
        fputc('=', f);
        rep_html_q(f, vals[j]);
        sep = "&amp;";
    }
}

int rep_page_sort(const struct rep_page *p, const char *const *keys, bool *desc)
{
    const char *s = rep_page_arg(p, "sort");
    const char *o = rep_page_arg(p, "order");
    int idx = -1;
    for (int i = 0; s && keys[i]; i++)
        if (strcmp(keys[i], s) == 0)
            idx = i;
    if (o && strcmp(o, "asc") == 0)
        *desc = false;
    else if (o && strcmp(o, "desc") == 0)
        *desc = true;
    return idx;
}

void rep_html_th_sort(const struct rep_page *p, const char *base, const char *label,
                      const char *key, bool desc_first)
{
    const char *s = rep_page_arg(p, "sort");
    const char *o = rep_page_arg(p, "order");
    bool on = s && strcmp(s, key) == 0;
    bool cur_desc = on ? (o ? strcmp(o, "desc") == 0 : desc_first) : false;
    const char *next = on ? (cur_desc ? "asc" : "desc") : (desc_first ? "desc" : "asc");
    const char *keys[] = {"sort", "order", "offset"};
    const char *vals[] = {key, next, NULL};
    fputs("<th><a href=\"", p->f);
    rep_html_href(p, base, keys, vals, 3);
    fprintf(p->f, "\" title=\"sort by %s\">", label);
    rep_html_esc(p->f, label);
    if (on)
        fputs(cur_desc ? " ▼" : " ▲", p->f);
    fputs("</a></th>", p->f);
}

static void s_pager_link(const struct rep_page *p, const char *base, const char *off_key,
                         int64_t off, const char *label)
{
    char b[24];
    snprintf(b, sizeof(b), "%lld", (long long)off);
    const char *keys[] = {off_key};
    const char *vals[] = {off > 0 ? b : NULL};
    fputs("<a href=\"", p->f);
    rep_html_href(p, base, keys, vals, 1);
    fprintf(p->f, "\">%s</a>", label);
}

void rep_html_pager(const struct rep_page *p, const char *base, const char *off_key, int64_t total,
                    int64_t offset, int64_t limit)
{
    FILE *f = p->f;
    if (total <= 0) {
        fputs("<p class=\"pager muted\">none</p>\n", f);
        return;
    }
    int64_t last = offset + limit < total ? offset + limit : total;
    fprintf(f, "<p class=pager>rows %lld–%lld of %lld ",
            (long long)(offset < total ? offset + 1 : 0), (long long)last, (long long)total);
    if (offset > 0) {
        s_pager_link(p, base, off_key, 0, "« first");
        s_pager_link(p, base, off_key, offset - limit > 0 ? offset - limit : 0, "‹ previous");
    }
    if (last < total) {
        s_pager_link(p, base, off_key, offset + limit, "next ›");
        s_pager_link(p, base, off_key, (total - 1) / limit * limit, "last »");
    }
    fputs("</p>\n", f);
}

void rep_html_td_num(FILE *f, int64_t v)
{
    fprintf(f, "<td class=n>%lld</td>", (long long)v);
}

void rep_html_td_bytes(FILE *f, int64_t v)
{
    char b[32];
    fprintf(f, "<td class=n title=\"%lld bytes\">%s</td>", (long long)v,
            rep_html_human(v, b, sizeof(b)));
}

void rep_html_td_text(FILE *f, const char *s)
{
    fputs("<td>", f);
    rep_html_esc(f, s);
    fputs("</td>", f);
}

void rep_html_td_time(FILE *f, int64_t ns)
{
    char b[40];
    fprintf(f, "<td>%s</td>", ns > 0 ? rep_time_text(ns, b, sizeof(b)) : "");
}

void rep_html_td_host(FILE *f, const char *ip, const char *name)
{
    fputs("<td><a href=\"/host/", f);
    rep_html_q(f, ip);
    fputs("\">", f);
    rep_html_esc(f, ip);
    fputs("</a>", f);
    if (name && *name) {
        fputs(" <span class=muted>", f);
        rep_html_esc(f, name);
        fputs("</span>", f);
    }
    fputs("</td>", f);
}

/* The names of the request this thread answers (one request per thread at
 * a time: libmicrohttpd's thread pool), set by rep_html_sql_functions. */
static _Thread_local const struct rep_names *s_names;

void rep_html_service(FILE *f, const char *ip, int proto, int port)
{
    char pb[8], nb[64];
    const char *pn = cmn_proto_name((uint8_t)proto, pb, sizeof(pb));
    const char *name = rep_names_service(s_names, (uint8_t)proto, (uint16_t)port, nb, sizeof(nb));
    if (ip) {
        fputs("<a href=\"/service/", f);
        rep_html_q(f, ip);
        fprintf(f, "/%s/%d\">", pn, port);
    }
    fprintf(f, "%s/%d", pn, port);
    if (name) {
        fputs(" (", f);
        rep_html_esc(f, name);
        fputs(")", f);
    }
    if (ip)
        fputs("</a>", f);
}

void rep_html_td_service(FILE *f, const char *ip, int proto, int port)
{
    fputs("<td>", f);
    rep_html_service(f, ip, proto, port);
    fputs("</td>", f);
}

void rep_html_chart(FILE *f, const int64_t *t, const int64_t *w, const double *v, size_t n,
                    const char *label, bool bytes)
{
    if (n == 0) {
        fputs("<p class=muted>no usage history in the database</p>\n", f);
        return;
    }
    const double W = 720, H = 140, L = 60, B = 20;
    int64_t t0 = t[0], t1 = t[0] + w[0];
    double vmax = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < t0)
            t0 = t[i];
        if (t[i] + w[i] > t1)
            t1 = t[i] + w[i];
        if (v[i] > vmax)
            vmax = v[i];
    }
    double span = (double)(t1 - t0 > 0 ? t1 - t0 : 1), ymax = vmax > 0 ? vmax : 1;
    char a[40], b[40], m[32];
    fprintf(f,
            "<svg class=chart width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "role=\"img\" aria-label=\"",
            W, H + B, W, H + B);
    rep_html_esc(f, label);
    fputs(" over time\">", f);
    for (size_t i = 0; i < n; i++) {
        double x = L + (double)(t[i] - t0) / span * (W - L - 4);
        double bw = (double)w[i] / span * (W - L - 4);
        double bh = v[i] / ymax * (H - 10);
        if (bw < 1)
            bw = 1;
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#47a\">"
                "<title>%s: %.0f</title></rect>",
                x, H - bh, bw > 2 ? bw - 0.5 : bw, bh, rep_time_text(t[i], a, sizeof(a)), v[i]);
    }
    if (bytes)
        rep_html_human((int64_t)vmax, m, sizeof(m));
    else
        snprintf(m, sizeof(m), "%.0f", vmax);
    fprintf(f,
            "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#888\"/>"
            "<text x=\"2\" y=\"14\" font-size=\"11\">%s</text>"
            "<text x=\"2\" y=\"%.0f\" font-size=\"11\">0</text>"
            "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">%s</text>"
            "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%s</text></svg>\n",
            L, H, W, H, m, H, L, H + 15, rep_time_text(t0, a, sizeof(a)), W - 2, H + 15,
            rep_time_text(t1, b, sizeof(b)));
}

const struct cmn_sites *rep_html_sites(sqlite3 *db, const struct cmn_sites *ctx_sites,
                                       struct cmn_sites **own)
{
    *own = NULL;
    if (ctx_sites)
        return ctx_sites;
    struct cmn_sites *s = cmn_sites_new();
    sqlite3_stmt *st = NULL;
    /* the layout rep_graph and rep_api read; no table: no sites */
    if (sqlite3_prepare_v2(db, "SELECT name, kind, cidr FROM sites ORDER BY rowid", -1, &st,
                           NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            char err[200];
            const char *n = (const char *)sqlite3_column_text(st, 0);
            const char *k = (const char *)sqlite3_column_text(st, 1);
            const char *c = (const char *)sqlite3_column_text(st, 2);
            if (n && k && c && cmn_sites_add(s, n, k, c, err, sizeof(err)) != 0)
                CMN_LOG(WARN, "sites table: %s", err);
        }
    }
    sqlite3_finalize(st);
    *own = s;
    return s;
}

static void s_fn_site(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const struct cmn_sites *s = sqlite3_user_data(cx);
    const char *t = (const char *)sqlite3_value_text(argv[0]);
    uint8_t ip[16];
    int i = t && cmn_ip_parse(t, ip) == 0 ? cmn_sites_lookup(s, ip) : -1;
    if (i >= 0)
        sqlite3_result_text(cx, cmn_sites_name(s, (size_t)i), -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(cx);
}

static void s_fn_port_name(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    char b[64];
    const char *n = rep_port_name((uint8_t)sqlite3_value_int(argv[0]),
                                  (uint16_t)sqlite3_value_int(argv[1]), b, sizeof(b));
    if (n)
        sqlite3_result_text(cx, n, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(cx);
}

static void s_fn_host_name(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const struct rep_names *n = sqlite3_user_data(cx);
    const char *t = (const char *)sqlite3_value_text(argv[0]);
    const char *name = t ? rep_names_host(n, t, NULL) : NULL;
    if (name)
        sqlite3_result_text(cx, name, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(cx);
}

static void s_fn_service_name(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    char b[128];
    const char *name = rep_names_service(sqlite3_user_data(cx), (uint8_t)sqlite3_value_int(argv[0]),
                                         (uint16_t)sqlite3_value_int(argv[1]), b, sizeof(b));
    if (name)
        sqlite3_result_text(cx, name, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(cx);
}

int rep_html_sql_functions(sqlite3 *db, const struct cmn_sites *sites,
                           const struct rep_names *names)
{
    int fl = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
    void *nu = (void *)(uintptr_t)names;
    s_names = names;
    if (sqlite3_create_function(db, "rep_host_name", 1, fl, nu, s_fn_host_name, NULL, NULL) !=
            SQLITE_OK ||
        sqlite3_create_function(db, "rep_service_name", 2, fl, nu, s_fn_service_name, NULL, NULL) !=
            SQLITE_OK) {
        CMN_LOG(ERR, "cannot register SQL functions: %s", sqlite3_errmsg(db));
        return -EIO;
    }
    if (sqlite3_create_function(db, "rep_site", 1, fl, (void *)(uintptr_t)sites, s_fn_site, NULL,
                                NULL) != SQLITE_OK ||
        sqlite3_create_function(db, "rep_port_name", 2, fl, NULL, s_fn_port_name, NULL, NULL) !=
            SQLITE_OK) {
        CMN_LOG(ERR, "cannot register SQL functions: %s", sqlite3_errmsg(db));
        return -EIO;
    }
    return 0;
}

void rep_qb_where(struct rep_qb *q, const char *cond)
{
    int n = snprintf(q->sql + q->len, sizeof(q->sql) - q->len, "%s%s", q->len ? " AND " : " WHERE ",
                     cond);
    if (CMN_NEVER(n < 0 || (size_t)n >= sizeof(q->sql) - q->len))
        return; /* the fragments are static and short: cannot happen */
    q->len += (size_t)n;
}

void rep_qb_text(struct rep_qb *q, const char *s)
{
    assert(q->n < REP_QB_BIND);
    q->bind[q->n].type = SQLITE_TEXT;
    q->bind[q->n++].s = s;
}

void rep_qb_int(struct rep_qb *q, int64_t v)
{
    assert(q->n < REP_QB_BIND);
    q->bind[q->n].type = SQLITE_INTEGER;
    q->bind[q->n++].i = v;
}

void rep_qb_key(struct rep_qb *q, const uint8_t key[16])
{
    assert(q->n < REP_QB_BIND);
    q->bind[q->n].type = SQLITE_BLOB;
    memcpy(q->bind[q->n++].b, key, 16);
}

sqlite3_stmt *rep_qb_prepare(const struct rep_qb *q, sqlite3 *db, const char *head,
                             const char *tail)
{
    char sql[REP_QB_SQL + 1024];
    snprintf(sql, sizeof(sql), "%s%s%s", head, q->sql, tail ? tail : "");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        CMN_LOG(ERR, "query failed: %s (%s)", sqlite3_errmsg(db), sql);
        sqlite3_finalize(st);
        return NULL;
    }
    for (int i = 0; i < q->n; i++) {
        if (q->bind[i].type == SQLITE_TEXT)
            sqlite3_bind_text(st, i + 1, q->bind[i].s, -1, SQLITE_STATIC);
        else if (q->bind[i].type == SQLITE_INTEGER)
            sqlite3_bind_int64(st, i + 1, q->bind[i].i);
        else
            sqlite3_bind_blob(st, i + 1, q->bind[i].b, 16, SQLITE_STATIC);
    }
    return st;
}

int64_t rep_qb_count(const struct rep_qb *q, sqlite3 *db, const char *from)
{
    char head[256];
    snprintf(head, sizeof(head), "SELECT COUNT(*)%s", from);
    sqlite3_stmt *st = rep_qb_prepare(q, db, head, NULL);
    if (!st)
        return -1;
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
}
