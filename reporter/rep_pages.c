/* SPDX-License-Identifier: MIT
 * rep_pages: the HTML pages of the web reporter: / (hosts with the run's
 * summary) and /host/<ip> (services provided with their role evidence,
 * services used, clients: table 1 of the paper). Tables sort by clicking a
 * header (a few lines of inline script). Every database value that reaches
 * HTML goes through s_html().
 */
#define CMN_LOG_TAG "rep_pages"
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include "cmn_ip.h"
#include "rep_db.h"
#include "rep_json.h"
#include "rep_names.h"
#include "rep_pages.h"

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
            default: {
                /* the page says charset=utf-8: bytes that are not valid UTF-8,
                 * and control characters, become U+FFFD (as rep_json_str) */
                unsigned char c = (unsigned char)*s;
                size_t n = c >= 0x80 ? rep_utf8_len((const unsigned char *)s) : 1;
                if (n == 0 || (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
                    fputs("\xef\xbf\xbd", f);
                    break;
                }
                fwrite(s, 1, n, f);
                s += n - 1;
            }
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

int rep_pages_index(struct rep_resp *p, sqlite3 *db, const struct rep_names *names)
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

void rep_pages_not_found(struct rep_resp *p, const char *what, const char *ip)
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

int rep_pages_host(struct rep_resp *p, sqlite3 *db, const char *raw, const struct rep_names *names)
{
    FILE *f = p->f;
    char ip[CMN_IP_STRLEN];
    if (s_canon_ip(raw, ip, sizeof(ip)) != 0) {
        rep_pages_not_found(p, "not an IP address", raw);
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
        rep_pages_not_found(p, "no traffic seen for host", ip);
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
