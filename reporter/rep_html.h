/* SPDX-License-Identifier: MIT
 * rep_html: what every HTML page of the web report shares: the request a
 * page answers (struct rep_page: its stream, connection, query parameters,
 * sites), the one layout (head, navigation, search box, tail), escaping,
 * links that keep the other query parameters (sort headers, pagers), table
 * cells and a server-drawn inline SVG chart. No page writes a database value
 * or a request value to HTML except through rep_html_esc (text and
 * attributes) or rep_html_q (query values, percent-encoded).
 * Called from the server's request threads: no shared state.
 */
#ifndef REP_HTML_H
#define REP_HTML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "rep_api.h"
#include "rep_http.h"

struct cmn_sites;
struct rep_names;

#define REP_PAGE_LIMIT 100 /* rows per page of every long table */

/* One page request. The page owns nothing here; the dispatcher does. */
struct rep_page {
    FILE *f;                           /* body (the response's memstream) */
    struct rep_resp *resp;             /* status, type, location */
    sqlite3 *db;                       /* read-only connection inside a read transaction */
    const char *db_path;               /* for pages that load the map themselves (rep_graph) */
    const char *path;                  /* the decoded URL path */
    const struct rep_qarg *args;       /* query parameters, in order */
    size_t nargs;                      /* how many */
    const struct cmn_sites *sites;     /* sites file or the database's table (never NULL) */
    const struct cmn_sites *ctx_sites; /* the sites file's, or NULL (sites from the database) */
    const struct rep_names *names;     /* host and service names of this request (rep_names.h) */
};

/* Value of parameter `key` (the first when repeated), "" for a bare "?key",
 * NULL when absent. Borrowed from the request. */
const char *rep_page_arg(const struct rep_page *p, const char *key);

/* Integer parameter `key` in [lo, hi], else `def` (pages never 400: a bad
 * page number shows the first page). */
int64_t rep_page_int(const struct rep_page *p, const char *key, int64_t lo, int64_t hi,
                     int64_t def);

/* HTML-escape `s` (& < > " ') into f; NULL writes nothing. */
void rep_html_esc(FILE *f, const char *s);

/* `s` as plain UTF-8 text into f (a text/plain answer that echoes a request
 * value): invalid UTF-8 and control characters but tab and newline become
 * U+FFFD; NULL writes nothing. */
void rep_text_esc(FILE *f, const char *s);

/* Percent-encode `s` for a URL query value or path segment (everything but
 * unreserved characters), which is also safe inside an HTML attribute. */
void rep_html_q(FILE *f, const char *s);

/* Human volume: "12.3 MB" (1000-based), "512 B". Returns buf. */
const char *rep_html_human(int64_t v, char *buf /* OUT */, size_t len);

/* The shared layout: doctype, title, style, navigation (`nav` is the
 * active entry's label, may be NULL), the search box, then <h1>title</h1>.
 * `extra_head` (trusted static text, may be NULL) goes inside <head>. */
void rep_html_head(struct rep_page *p, const char *title, const char *nav, const char *extra_head);

/* Close the page. */
void rep_html_tail(struct rep_page *p);

/* Write `base` followed by the request's query parameters with those named
 * in `keys` replaced by `vals` (a NULL value drops the parameter), escaped
 * for an href attribute. n pairs. */
void rep_html_href(const struct rep_page *p, const char *base, const char *const *keys,
                   const char *const *vals, size_t n);

/* A sortable column header: a link to the same page sorted by `key`
 * (toggling order when it already is); `desc_first` for numeric columns. */
void rep_html_th_sort(const struct rep_page *p, const char *base, const char *label,
                      const char *key, bool desc_first);

/* The sort the request asks for among `keys` (NULL-terminated), or `def`;
 * *desc from order=asc|desc, else `def_desc`. Returns the index in keys of
 * the chosen key, or -1 for the default. */
int rep_page_sort(const struct rep_page *p, const char *const *keys, bool *desc /* OUT */);

/* "rows a–b of total" and previous/next/first/last links changing the
 * parameter `off_key` ("offset" for the page's main table). */
void rep_html_pager(const struct rep_page *p, const char *base, const char *off_key, int64_t total,
                    int64_t offset, int64_t limit);

/* Cells. Numbers right-aligned; volumes human with the exact count in title. */
void rep_html_td_num(FILE *f, int64_t v);
void rep_html_td_bytes(FILE *f, int64_t v);
void rep_html_td_text(FILE *f, const char *s);
void rep_html_td_time(FILE *f, int64_t ns);
/* A link to /host/IP showing the address (and the name after it, when given). */
void rep_html_td_host(FILE *f, const char *ip, const char *name);
/* "tcp/5432 (postgresql)", a link to /service/IP/tcp/5432 when ip is given. */
void rep_html_td_service(FILE *f, const char *ip, int proto, int port);
/* The same text without the cell. */
void rep_html_service(FILE *f, const char *ip, int proto, int port);

/* A bar chart of `n` points (t[i] start in ns, w[i] width in ns, v[i] value)
 * as inline SVG, `label` naming the value, volumes when `bytes`. Nothing
 * (a "no history" line) when n == 0. */
void rep_html_chart(FILE *f, const int64_t *t, const int64_t *w, const double *v, size_t n,
                    const char *label, bool bytes);

/* A WHERE clause built from trusted SQL fragments and bound values. */
#define REP_QB_SQL  1024
#define REP_QB_BIND 16
struct rep_qb {
    char sql[REP_QB_SQL]; /* " WHERE a AND b ..." */
    size_t len;
    struct {
        int type;      /* SQLITE_TEXT, SQLITE_INTEGER or SQLITE_BLOB (16 bytes) */
        int64_t i;     /* integer */
        const char *s; /* text (borrowed) */
        uint8_t b[16]; /* address key */
    } bind[REP_QB_BIND];
    int n;
};

/* Add condition `cond` (trusted SQL with ? placeholders). */
void rep_qb_where(struct rep_qb *q, const char *cond);
void rep_qb_text(struct rep_qb *q, const char *s);
void rep_qb_int(struct rep_qb *q, int64_t v);
void rep_qb_key(struct rep_qb *q, const uint8_t key[16]);

/* Prepare `head` + WHERE + `tail` on db and bind. NULL after logging. */
sqlite3_stmt *rep_qb_prepare(const struct rep_qb *q, sqlite3 *db, const char *head,
                             const char *tail);

/* COUNT(*) of `from` (" FROM hosts") under q, or -1 on error. */
int64_t rep_qb_count(const struct rep_qb *q, sqlite3 *db, const char *from);

/* Sites for this request: `ctx_sites` when given, else the database's sites
 * table (an empty set when absent). *own receives what the caller frees. */
const struct cmn_sites *rep_html_sites(sqlite3 *db, const struct cmn_sites *ctx_sites,
                                       struct cmn_sites **own /* OUT */);

/* Register on `db` for this request: rep_site(ip) -> site name or NULL,
 * rep_host_name(ip) and rep_service_name(proto, port) -> the name
 * rep_names gives, or NULL. And make `names` the ones the cells of this
 * thread show (rep_html_service), until the next call. 0 or -EIO. */
int rep_html_sql_functions(sqlite3 *db, const struct cmn_sites *sites,
                           const struct rep_names *names);

#endif /* REP_HTML_H */
