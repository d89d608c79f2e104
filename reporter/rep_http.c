/* SPDX-License-Identifier: MIT
 * rep_http: libmicrohttpd server for the renkei report. Pages are rendered
 * into a memstream per request from a read-only connection opened for that
 * request (WAL: the merger keeps writing meanwhile). Routes: / (hosts),
 * /host/<ip> (table 1 of the paper), /api/hosts, /api/host/<ip>, /api/export.
 * Every database value that reaches HTML goes through s_html().
 */
#define CMN_LOG_TAG "rep_http"
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "rep_db.h"
#include "rep_export.h"
#include "rep_http.h"
#include "rep_json.h"
#include "rep_names.h"

#define REP_THREADS 4 /* request threads; each request opens its own connection */

struct rep_server {
    char *db_path;          /* owned copy */
    bool resolve;           /* reverse DNS for hosts without a name (rep_names) */
    struct MHD_Daemon *mhd; /* running daemon */
    uint16_t port;          /* bound port */
};

/* A response under construction. */
struct page {
    FILE *f;          /* memstream */
    char *buf;        /* its buffer (owned after fclose) */
    size_t len;       /* its length */
    int status;       /* HTTP status */
    const char *type; /* Content-Type */
};

static const char s_css[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "th,td{border:1px solid #ccc;padding:3px 8px;text-align:left}"
    "th{background:#eef;cursor:pointer}td.n{text-align:right}"
    "caption{text-align:left;font-weight:bold;padding:4px 0}.muted{color:#777}";

/* Click a header to sort its table (numeric when both cells carry data-v). */
static const char s_js[] =
    "document.querySelectorAll('th').forEach(function(th){th.onclick=function(){"
    "var t=th.closest('table'),b=t.tBodies[0],i=th.cellIndex,"
    "d=th.dataset.d=th.dataset.d==='1'?'-1':'1',r=Array.prototype.slice.call(b.rows);"
    "r.sort(function(x,y){var a=x.cells[i],c=y.cells[i];"
    "if(a.dataset.v!==undefined&&c.dataset.v!==undefined)return(a.dataset.v-c.dataset.v)*d;"
    "return a.textContent.localeCompare(c.textContent)*d;});"
    "r.forEach(function(x){b.appendChild(x);});};});";

/* ---- output helpers ---- */

static void s_html(FILE *f, const char *s)
{
    if (!s)
        return;
    for (; *s; s++) {
        switch (*s) {
            case '&':
                fputs("&amp;", f);
                break;
            case '<':
                fputs("&lt;", f);
                break;
            case '>':
                fputs("&gt;", f);
                break;
            case '"':
                fputs("&quot;", f);
                break;
            case '\'':
                fputs("&#39;", f);
                break;
            default:
                fputc(*s, f);
        }
    }
}

/* Human volume ("12.3 MB") for display; the raw count goes into data-v. */
static const char *s_human(int64_t v, char *buf, size_t len)
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

static void s_td_num(FILE *f, int64_t v)
{
    fprintf(f, "<td class=n data-v=\"%lld\">%lld</td>", (long long)v, (long long)v);
}

static void s_td_bytes(FILE *f, int64_t v)
{
    char b[32];
    fprintf(f, "<td class=n data-v=\"%lld\" title=\"%lld bytes\">%s</td>", (long long)v,
            (long long)v, s_human(v, b, sizeof(b)));
}

static void s_td_text(FILE *f, const char *s)
{
    fputs("<td>", f);
    s_html(f, s);
    fputs("</td>", f);
}

static void s_td_host(FILE *f, const char *ip)
{
    fputs("<td><a href=\"/host/", f);
    s_html(f, ip);
    fputs("\">", f);
    s_html(f, ip);
    fputs("</a></td>", f);
}

/* "tcp/5432 (postgresql)", the name from the services file first */
static void s_td_service(FILE *f, const struct rep_names *names, int proto, int port)
{
    char pb[8], nb[64];
    const char *pn = cmn_proto_name((uint8_t)proto, pb, sizeof(pb));
    const char *name = rep_names_service(names, (uint8_t)proto, (uint16_t)port, nb, sizeof(nb));
    fprintf(f, "<td data-v=\"%d\">%s/%d", port, pn, port);
    if (name) {
        fputs(" (", f);
        s_html(f, name);
        fputs(")", f);
    }
    fputs("</td>", f);
}

static const char *s_col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

static void s_head(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>", f);
    s_html(f, title);
    fprintf(f, "</title><style>%s</style></head><body>\n<h1>", s_css);
    s_html(f, title);
    fputs("</h1>\n", f);
}

static void s_tail(FILE *f)
{
    fprintf(f, "<script>%s</script>\n</body></html>\n", s_js);
}

/* ---- pages ---- */

static int s_summary(FILE *f, sqlite3 *db)
{
    char a[40], b[40], state[32], vol[32];
    int64_t first = rep_db_meta_i64(db, "first_seen_ns", -1);
    int64_t last = rep_db_meta_i64(db, "last_seen_ns", -1);
    fprintf(f, "<p>Traffic from %s to %s: %lld packets, ",
            first >= 0 ? rep_time_text(first, a, sizeof(a)) : "-",
            last >= 0 ? rep_time_text(last, b, sizeof(b)) : "-",
            (long long)rep_db_meta_i64(db, "packets", 0));
    s_html(f, s_human(rep_db_meta_i64(db, "bytes", 0), vol, sizeof(vol)));
    fprintf(f, "; duplicates removed %lld",
            (long long)rep_db_meta_i64(db, "duplicates_removed", 0));
    /* per redundant collector pair, from the splitter's dup.<a>.<b> counters */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT counter, value FROM node_stats WHERE kind = 'splitter'"
                           " AND counter LIKE 'dup.%' ORDER BY counter",
                           -1, &st, NULL) == SQLITE_OK) {
        const char *sep = " (collectors ";
        while (sqlite3_step(st) == SQLITE_ROW) {
            unsigned ca, cb;
            const char *c = (const char *)sqlite3_column_text(st, 0);
            if (!c || sscanf(c, "dup.%u.%u", &ca, &cb) != 2)
                continue;
            fprintf(f, "%s%u/%u: %lld", sep, ca, cb, (long long)sqlite3_column_int64(st, 1));
            sep = ", ";
        }
        if (sep[0] == ',')
            fputs(")", f);
    }
    sqlite3_finalize(st);
    fprintf(f, "; records lost %lld; run ", (long long)rep_db_meta_i64(db, "records_lost", 0));
    s_html(f, rep_db_meta_text(db, "run_state", state, sizeof(state)));
    fputs(". <a href=\"/api/export\">JSON export</a></p>\n", f);
    return 0;
}

/* Host name to show: hosts file, then DNS (rep_names), then the row's own. */
static const char *s_host_name(const struct rep_names *names, const char *ip, const char *row)
{
    const char *n = rep_names_host(names, ip, NULL);
    return n ? n : row;
}

static int s_page_index(struct page *p, sqlite3 *db, const struct rep_names *names)
{
    FILE *f = p->f;
    sqlite3_stmt *st = NULL;
    s_head(f, "renkei: hosts");
    s_summary(f, db);
    if (sqlite3_prepare_v2(db,
                           "SELECT ip, name, kind, network, services_provided, services_used,"
                           " bytes_in + bytes_out, packets_in + packets_out FROM hosts"
                           " ORDER BY ip_key, ip",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    fputs("<table><thead><tr><th>IP</th><th>name</th><th>kind</th><th>network</th>"
          "<th>services provided</th><th>services used</th><th>volume</th><th>packets</th>"
          "</tr></thead><tbody>\n",
          f);
    int n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        fputs("<tr>", f);
        s_td_host(f, s_col(st, 0));
        s_td_text(f, s_host_name(names, s_col(st, 0), s_col(st, 1)));
        s_td_text(f, s_col(st, 2));
        s_td_text(f, s_col(st, 3));
        s_td_num(f, sqlite3_column_int64(st, 4));
        s_td_num(f, sqlite3_column_int64(st, 5));
        s_td_bytes(f, sqlite3_column_int64(st, 6));
        s_td_num(f, sqlite3_column_int64(st, 7));
        fputs("</tr>\n", f);
        n++;
    }
    sqlite3_finalize(st);
    fprintf(f, "</tbody></table>\n<p class=muted>%d hosts</p>\n", n);
    s_tail(f);
    return 0;
}

/* Canonical text of `raw` (an address in any accepted form), or -EINVAL. */
static int s_canon_ip(const char *raw, char *buf, size_t len)
{
    uint8_t ip[16];
    if (!raw || cmn_ip_parse(raw, ip) != 0)
        return -EINVAL;
    cmn_ip_format(ip, buf, len);
    return 0;
}

static void s_not_found(struct page *p, const char *what, const char *ip)
{
    p->status = MHD_HTTP_NOT_FOUND;
    s_head(p->f, "renkei: not found");
    fputs("<p>", p->f);
    s_html(p->f, what);
    if (ip) {
        fputs(": <code>", p->f);
        s_html(p->f, ip);
        fputs("</code>", p->f);
    }
    fputs(". <a href=\"/\">All hosts</a></p>\n</body></html>\n", p->f);
}

static int s_page_host(struct page *p, sqlite3 *db, const char *raw, const struct rep_names *names)
{
    FILE *f = p->f;
    char ip[CMN_IP_STRLEN];
    if (s_canon_ip(raw, ip, sizeof(ip)) != 0) {
        s_not_found(p, "not an IP address", raw);
        return 0;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT name, kind, network, packets_out, bytes_out, packets_in,"
                           " bytes_in, first_ns, last_ns FROM hosts WHERE ip = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        s_not_found(p, "no traffic seen for host", ip);
        return 0;
    }
    char title[CMN_IP_STRLEN + 300], t1[40], t2[40], v1[32], v2[32];
    const char *name = s_host_name(names, ip, s_col(st, 0));
    snprintf(title, sizeof(title), "%s%s%s%s", ip, name ? " (" : "", name ? name : "",
             name ? ")" : "");
    s_head(f, title);
    fputs("<p><a href=\"/\">All hosts</a> &middot; <a href=\"/api/host/", f);
    s_html(f, ip);
    fputs("\">JSON</a></p>\n<table><tbody><tr><th>kind</th>", f);
    s_td_text(f, s_col(st, 1));
    fputs("</tr><tr><th>network</th>", f);
    s_td_text(f, s_col(st, 2));
    fprintf(f,
            "</tr><tr><th>sent</th><td>%lld packets, %s</td></tr>"
            "<tr><th>received</th><td>%lld packets, %s</td></tr>"
            "<tr><th>seen</th><td>%s to %s</td></tr></tbody></table>\n",
            (long long)sqlite3_column_int64(st, 3),
            s_human(sqlite3_column_int64(st, 4), v1, sizeof(v1)),
            (long long)sqlite3_column_int64(st, 5),
            s_human(sqlite3_column_int64(st, 6), v2, sizeof(v2)),
            rep_time_text(sqlite3_column_int64(st, 7), t1, sizeof(t1)),
            rep_time_text(sqlite3_column_int64(st, 8), t2, sizeof(t2)));
    sqlite3_finalize(st);

    /* services provided, with the role evidence behind each (endpoints) */
    if (sqlite3_prepare_v2(db,
                           "SELECT s.proto, s.port, s.clients, s.bytes, s.packets, s.confidence,"
                           " " REP_EVIDENCE_COLS " FROM services s LEFT JOIN endpoints e"
                           " ON e.ip = s.ip AND e.proto = s.proto AND e.port = s.port"
                           " WHERE s.ip = ?1 ORDER BY s.bytes DESC, s.proto, s.port",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
    fputs("<table><caption>Services provided</caption><thead><tr><th>service</th>"
          "<th>clients</th><th>volume</th><th>packets</th><th>confidence</th>"
          "<th>evidence</th></tr></thead><tbody>\n",
          f);
    while (sqlite3_step(st) == SQLITE_ROW) {
        fputs("<tr>", f);
        s_td_service(f, names, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
        s_td_num(f, sqlite3_column_int64(st, 2));
        s_td_bytes(f, sqlite3_column_int64(st, 3));
        s_td_num(f, sqlite3_column_int64(st, 4));
        double c = sqlite3_column_double(st, 5);
        fprintf(f, "<td class=n data-v=\"%.4f\">%.2f</td>", c, c);
        /* why it is judged a server: handshakes answered, fan-in, persistence */
        fprintf(f,
                "<td>SYN+ACK sent %lld, received %lld; SYN received %lld; RST sent %lld; "
                "peers %lld, peer ports %lld; epochs %lld</td></tr>\n",
                (long long)sqlite3_column_int64(st, 6), (long long)sqlite3_column_int64(st, 7),
                (long long)sqlite3_column_int64(st, 8), (long long)sqlite3_column_int64(st, 9),
                (long long)sqlite3_column_int64(st, 10), (long long)sqlite3_column_int64(st, 11),
                (long long)sqlite3_column_int64(st, 13));
    }
    sqlite3_finalize(st);
    fputs("</tbody></table>\n", f);

    /* services used */
    if (sqlite3_prepare_v2(db,
                           "SELECT e.proto, e.server_port, e.server_ip, h.name,"
                           " e.bytes_c2s + e.bytes_s2c, e.packets_c2s + e.packets_s2c, e.sessions"
                           " FROM edges e LEFT JOIN hosts h ON h.ip = e.server_ip"
                           " WHERE e.client_ip = ?1"
                           " ORDER BY e.bytes_c2s + e.bytes_s2c DESC, e.server_key, e.proto,"
                           " e.server_port",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
    fputs("<table><caption>Services used</caption><thead><tr><th>service</th>"
          "<th>server IP</th><th>server name</th><th>volume</th><th>packets</th>"
          "<th>sessions</th></tr></thead><tbody>\n",
          f);
    while (sqlite3_step(st) == SQLITE_ROW) {
        fputs("<tr>", f);
        s_td_service(f, names, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
        s_td_host(f, s_col(st, 2));
        s_td_text(f, s_host_name(names, s_col(st, 2), s_col(st, 3)));
        s_td_bytes(f, sqlite3_column_int64(st, 4));
        s_td_num(f, sqlite3_column_int64(st, 5));
        s_td_num(f, sqlite3_column_int64(st, 6));
        fputs("</tr>\n", f);
    }
    sqlite3_finalize(st);
    fputs("</tbody></table>\n", f);

    /* who depends on it: the impact of this host failing */
    if (sqlite3_prepare_v2(db,
                           "SELECT e.proto, e.server_port, e.client_ip, h.name,"
                           " e.bytes_c2s + e.bytes_s2c, e.sessions"
                           " FROM edges e LEFT JOIN hosts h ON h.ip = e.client_ip"
                           " WHERE e.server_ip = ?1 ORDER BY e.proto, e.server_port,"
                           " e.client_key",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
    fputs("<table><caption>Clients of its services</caption><thead><tr><th>service</th>"
          "<th>client IP</th><th>client name</th><th>volume</th><th>sessions</th></tr>"
          "</thead><tbody>\n",
          f);
    while (sqlite3_step(st) == SQLITE_ROW) {
        fputs("<tr>", f);
        s_td_service(f, names, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
        s_td_host(f, s_col(st, 2));
        s_td_text(f, s_host_name(names, s_col(st, 2), s_col(st, 3)));
        s_td_bytes(f, sqlite3_column_int64(st, 4));
        s_td_num(f, sqlite3_column_int64(st, 5));
        fputs("</tr>\n", f);
    }
    sqlite3_finalize(st);
    fputs("</tbody></table>\n", f);
    s_tail(f);
    return 0;
}

/* Rows of `sql` (one optional text parameter) as a JSON array. */
/* A service row (REP_SERVICE_COLS, then REP_EVIDENCE_COLS from column 9)
 * with an "evidence" object: why the endpoint was judged a server. */
static void s_json_service_evidence(FILE *f, sqlite3_stmt *st)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        return;
    rep_json_service(m, st);
    fclose(m);
    if (len > 0)
        fwrite(buf, 1, len - 1, f); /* without the closing brace */
    free(buf);
    static const char *const names[] = {"synack_sent", "synack_recv", "syn_recv", "rst_sent",
                                        "peers",       "peer_ports",  "sessions", "epochs_seen"};
    fputs(", \"evidence\": {", f);
    for (int i = 0; i < 8; i++) {
        fprintf(f, "%s\"%s\": ", i ? ", " : "", names[i]);
        rep_json_col_int(f, st, 9 + i);
    }
    fputs("}}", f);
}

static int s_json_rows(FILE *f, sqlite3 *db, const char *sql, const char *param,
                       void (*fn)(FILE *, sqlite3_stmt *))
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
        fn(f, st);
    }
    sqlite3_finalize(st);
    fputs(n ? "\n]" : "]", f);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

static int s_api_hosts(struct page *p, sqlite3 *db)
{
    p->type = "application/json";
    fputs("{\"hosts\": ", p->f);
    int rc = s_json_rows(p->f, db, "SELECT " REP_HOST_COLS " FROM hosts ORDER BY ip_key, ip", NULL,
                         rep_json_host);
    fputs("}\n", p->f);
    return rc;
}

static int s_api_host(struct page *p, sqlite3 *db, const char *raw)
{
    char ip[CMN_IP_STRLEN];
    p->type = "application/json";
    sqlite3_stmt *st = NULL;
    bool found = false;
    if (s_canon_ip(raw, ip, sizeof(ip)) == 0) {
        if (sqlite3_prepare_v2(db, "SELECT " REP_HOST_COLS " FROM hosts WHERE ip = ?1", -1, &st,
                               NULL) != SQLITE_OK)
            return -EIO;
        sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            found = true;
            fputs("{\"host\": ", p->f);
            rep_json_host(p->f, st);
        }
        sqlite3_finalize(st);
    }
    if (!found) {
        p->status = MHD_HTTP_NOT_FOUND;
        fputs("{\"error\": ", p->f);
        rep_json_str(p->f, s_canon_ip(raw, ip, sizeof(ip)) == 0 ? "no traffic seen for host"
                                                                : "not an IP address");
        fputs(", \"ip\": ", p->f);
        rep_json_str(p->f, raw);
        fputs("}\n", p->f);
        return 0;
    }
    fputs(",\n\"provides\": ", p->f);
    int rc = s_json_rows(p->f, db,
                         "SELECT s.ip, s.proto, s.port, s.clients, s.bytes, s.packets,"
                         " s.confidence, s.first_ns, s.last_ns, " REP_EVIDENCE_COLS
                         " FROM services s LEFT JOIN endpoints e ON e.ip = s.ip"
                         " AND e.proto = s.proto AND e.port = s.port WHERE s.ip = ?1"
                         " ORDER BY s.proto, s.port",
                         ip, s_json_service_evidence);
    fputs(",\n\"uses\": ", p->f);
    if (rc == 0)
        rc = s_json_rows(p->f, db,
                         "SELECT " REP_EDGE_COLS " FROM edges WHERE client_ip = ?1"
                         " ORDER BY server_key, proto, server_port",
                         ip, rep_json_edge);
    fputs(",\n\"clients\": ", p->f);
    if (rc == 0)
        rc = s_json_rows(p->f, db,
                         "SELECT " REP_EDGE_COLS " FROM edges WHERE server_ip = ?1"
                         " ORDER BY proto, server_port, client_key",
                         ip, rep_json_edge);
    fputs("}\n", p->f);
    return rc;
}

/* Route one GET. Fills p (status, type, body); returns 0 or -EIO (500). */
static int s_route(struct rep_server *srv, const char *url, struct page *p)
{
    if (strcmp(url, "/api/export") == 0) {
        p->type = "application/json";
        return rep_export_json_opts(srv->db_path, p->f, srv->resolve) == 0 ? 0 : -EIO;
    }
    bool known = strcmp(url, "/") == 0 || strcmp(url, "/api/hosts") == 0 ||
                 strncmp(url, "/host/", 6) == 0 || strncmp(url, "/api/host/", 10) == 0;
    if (!known) {
        s_not_found(p, "no such page", url);
        return 0;
    }
    sqlite3 *db = rep_db_open(srv->db_path);
    if (!db)
        return -EIO;
    int rc;
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL); /* one snapshot per page */
    struct rep_names *names = NULL;
    if (strcmp(url, "/") == 0 || strncmp(url, "/host/", 6) == 0) {
        names = rep_names_load(db);
        rep_names_resolve(names, srv->resolve);
    }
    if (strcmp(url, "/") == 0)
        rc = s_page_index(p, db, names);
    else if (strcmp(url, "/api/hosts") == 0)
        rc = s_api_hosts(p, db);
    else if (strncmp(url, "/host/", 6) == 0)
        rc = s_page_host(p, db, url + 6, names);
    else
        rc = s_api_host(p, db, url + 10);
    rep_names_destroy(&names);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    rep_db_close(&db);
    return rc;
}

static enum MHD_Result s_queue(struct MHD_Connection *conn, int status, const char *type,
                               char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    struct rep_server *srv = cls;
    if (*con_cls == NULL) { /* first call: headers only */
        *con_cls = srv;
        return MHD_YES;
    }
    if (*upload_size) { /* no request bodies here: discard */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        static const char msg[] = "only GET and HEAD\n";
        char *b = strdup(msg);
        if (!b)
            return MHD_NO;
        return s_queue(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", b,
                       strlen(b));
    }
    struct page p = {.status = MHD_HTTP_OK, .type = "text/html; charset=utf-8"};
    p.f = open_memstream(&p.buf, &p.len);
    if (!p.f)
        return MHD_NO;
    int rc = s_route(srv, url, &p);
    fclose(p.f);
    if (rc != 0) {
        free(p.buf);
        static const char msg[] = "internal error: database unreadable (see reporter log)\n";
        char *b = strdup(msg);
        if (!b)
            return MHD_NO;
        return s_queue(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", b,
                       strlen(b));
    }
    if (p.status == MHD_HTTP_NOT_FOUND && strcmp(p.type, "application/json") != 0)
        p.type = "text/html; charset=utf-8";
    return s_queue(conn, p.status, p.type, p.buf, p.len);
}

/* Parse "host:port", "[v6]:port" or ":port" into *ss. Returns 0 or -EINVAL. */
static int s_parse_listen(const char *listen, struct sockaddr_storage *ss, bool *any,
                          uint16_t *port)
{
    char host[256];
    const char *colon;
    if (listen[0] == '[') {
        const char *rb = strchr(listen, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - listen - 1) >= sizeof(host))
            return -EINVAL;
        memcpy(host, listen + 1, (size_t)(rb - listen - 1));
        host[rb - listen - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof(host))
            return -EINVAL;
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
    }
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p < 0 || p > 65535)
        return -EINVAL;
    *port = (uint16_t)p;
    *any = host[0] == '\0' || strcmp(host, "*") == 0;
    if (*any)
        return 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char ps[8];
    snprintf(ps, sizeof(ps), "%ld", p);
    if (getaddrinfo(host, ps, &hints, &res) != 0 || !res)
        return -EINVAL;
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

struct rep_server *rep_server_start(const struct rep_config *cfg)
{
    assert(cfg && cfg->db_path);
    const char *listen = cfg->listen ? cfg->listen : "127.0.0.1:8080";
    struct rep_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        abort();
    srv->db_path = strdup(cfg->db_path);
    srv->resolve = cfg->resolve;
    if (!srv->db_path)
        abort();
    sqlite3 *db = rep_db_open(cfg->db_path); /* fail now rather than on every page */
    if (!db)
        goto err;
    rep_db_close(&db);
    struct sockaddr_storage ss;
    bool any = false;
    uint16_t port = 0;
    if (s_parse_listen(listen, &ss, &any, &port) != 0) {
        CMN_LOG(ERR, "listen '%s': expected HOST:PORT, [IPv6]:PORT or :PORT", listen);
        goto err;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (any)
        flags |= MHD_USE_DUAL_STACK;
    else if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (any)
        srv->mhd = MHD_start_daemon(flags, port, NULL, NULL, s_handler, srv,
                                    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)REP_THREADS,
                                    MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    else
        srv->mhd = MHD_start_daemon(flags, port, NULL, NULL, s_handler, srv, MHD_OPTION_SOCK_ADDR,
                                    (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE,
                                    (unsigned)REP_THREADS, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                                    MHD_OPTION_END);
    if (!srv->mhd) {
        CMN_LOG(ERR, "cannot listen on %s (address in use or not local?)", listen);
        goto err;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : port;
    CMN_LOG(NOTICE, "serving %s on %s (port %u)", cfg->db_path, listen, srv->port);
    return srv;
err:
    rep_server_stop(&srv);
    return NULL;
}

uint16_t rep_server_port(const struct rep_server *srv)
{
    return srv->port;
}

void rep_server_stop(struct rep_server **srvp)
{
    if (!srvp || !*srvp)
        return;
    struct rep_server *srv = *srvp;
    if (srv->mhd)
        MHD_stop_daemon(srv->mhd);
    free(srv->db_path);
    free(srv);
    *srvp = NULL;
}

int rep_serve(const struct rep_config *cfg)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    /* block before the server threads start, so they inherit the mask and
     * the signal reaches sigwait below */
    pthread_sigmask(SIG_BLOCK, &set, &old);
    struct rep_server *srv = rep_server_start(cfg);
    if (!srv) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return -EINVAL;
    }
    int sig = 0;
    sigwait(&set, &sig);
    CMN_LOG(NOTICE, "signal %d: stopping", sig);
    rep_server_stop(&srv);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}
