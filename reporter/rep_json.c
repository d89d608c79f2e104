/* SPDX-License-Identifier: MIT
 * rep_json: JSON output helpers. Numbers come out of SQLite as 64-bit
 * integers and are printed as such (never as floating point), so byte and
 * packet counts keep every digit.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "cmn_ip.h"
#include "rep_json.h"
#include "rep_names.h"
#include "rep_ports.h"

size_t rep_utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void rep_json_str(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
            case '"':
                fputs("\\\"", f);
                break;
            case '\\':
                fputs("\\\\", f);
                break;
            case '\n':
                fputs("\\n", f);
                break;
            case '\r':
                fputs("\\r", f);
                break;
            case '\t':
                fputs("\\t", f);
                break;
            default:
                if (*p < 0x20 || *p == 0x7f) {
                    fprintf(f, "\\u%04x", *p);
                } else if (*p >= 0x80) {
                    /* names and request text are outside bytes: a byte that does not
                     * start valid UTF-8 becomes U+FFFD, so the JSON stays valid */
                    size_t n = rep_utf8_len(p);
                    if (n == 0) {
                        fputs("\\ufffd", f);
                    } else {
                        fwrite(p, 1, n, f);
                        p += n - 1;
                    }
                } else {
                    fputc(*p, f);
                }
        }
    }
    fputc('"', f);
}

const char *rep_time_text(int64_t ns, char *buf, size_t len)
{
    time_t t = (time_t)(ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000));
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

void rep_json_col_time(FILE *f, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        fputs("null", f);
        return;
    }
    char buf[40];
    fprintf(f, "\"%s\"", rep_time_text(sqlite3_column_int64(st, i), buf, sizeof(buf)));
}

void rep_json_col_int(FILE *f, sqlite3_stmt *st, int i)
{
    fprintf(f, "%" PRId64, (int64_t)sqlite3_column_int64(st, i));
}

void rep_json_col_str(FILE *f, sqlite3_stmt *st, int i, int empty_null)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    if (s && empty_null && !*s)
        s = NULL;
    rep_json_str(f, s);
}

void rep_json_col_real(FILE *f, sqlite3_stmt *st, int i)
{
    double v = sqlite3_column_double(st, i);
    if (!(v == v)) /* NaN is not JSON */
        v = 0;
    fprintf(f, "%.4g", v);
}

/* ---- rows of the export, columns as REP_*_COLS ---- */

static void s_proto(FILE *f, sqlite3_stmt *st, int i)
{
    char buf[8];
    rep_json_str(f, cmn_proto_name((uint8_t)sqlite3_column_int(st, i), buf, sizeof(buf)));
}

/* A host row; with `with_site`, the "site" field after "kind" (the export). */
static void s_host(FILE *f, sqlite3_stmt *st, const struct rep_names *names, bool with_site,
                   const char *site)
{
    const char *ip = (const char *)sqlite3_column_text(st, 0);
    const char *src = NULL;
    const char *name = names ? rep_names_host(names, ip, &src) : NULL;
    if (!name) { /* hosts.name: the hosts file's, as the merger applied it */
        name = (const char *)sqlite3_column_text(st, 1);
        src = name && *name ? "hosts_file" : NULL;
        name = src ? name : NULL;
    }
    fputs("{\"ip\": ", f);
    rep_json_str(f, ip);
    fputs(", \"name\": ", f);
    rep_json_str(f, name);
    fputs(", \"name_source\": ", f);
    rep_json_str(f, src);
    fputs(", \"network\": ", f);
    rep_json_col_str(f, st, 2, 1);
    fputs(", \"kind\": ", f);
    rep_json_col_str(f, st, 3, 0);
    if (with_site) {
        fputs(", \"site\": ", f);
        rep_json_str(f, site);
    }
    static const char *const k[] = {"packets_out", "bytes_out",         "packets_in",
                                    "bytes_in",    "services_provided", "services_used"};
    for (int i = 0; i < 6; i++) {
        fprintf(f, ", \"%s\": ", k[i]);
        rep_json_col_int(f, st, 4 + i);
    }
    fputs(", \"first_seen\": ", f);
    rep_json_col_time(f, st, 10);
    fputs(", \"last_seen\": ", f);
    rep_json_col_time(f, st, 11);
    fputs("}", f);
}

void rep_json_host(FILE *f, sqlite3_stmt *st)
{
    s_host(f, st, NULL, false, NULL);
}

void rep_json_host_site(FILE *f, sqlite3_stmt *st, const char *site)
{
    s_host(f, st, NULL, true, site);
}

void rep_json_host_named(FILE *f, sqlite3_stmt *st, const struct rep_names *names)
{
    s_host(f, st, names, false, NULL);
}

void rep_json_host_named_site(FILE *f, sqlite3_stmt *st, const struct rep_names *names,
                              const char *site)
{
    s_host(f, st, names, true, site);
}

void rep_json_service(FILE *f, sqlite3_stmt *st)
{
    rep_json_service_named(f, st, NULL);
}

void rep_json_service_named(FILE *f, sqlite3_stmt *st, const struct rep_names *names)
{
    char nb[64];
    fputs("{\"ip\": ", f);
    rep_json_col_str(f, st, 0, 0);
    fputs(", \"proto\": ", f);
    s_proto(f, st, 1);
    fputs(", \"port\": ", f);
    rep_json_col_int(f, st, 2);
    fputs(", \"name\": ", f);
    rep_json_str(f, rep_names_service(names, (uint8_t)sqlite3_column_int(st, 1),
                                      (uint16_t)sqlite3_column_int(st, 2), nb, sizeof(nb)));
    fputs(", \"clients\": ", f);
    rep_json_col_int(f, st, 3);
    fputs(", \"bytes\": ", f);
    rep_json_col_int(f, st, 4);
    fputs(", \"packets\": ", f);
    rep_json_col_int(f, st, 5);
    fputs(", \"confidence\": ", f);
    rep_json_col_real(f, st, 6);
    fputs(", \"first_seen\": ", f);
    rep_json_col_time(f, st, 7);
    fputs(", \"last_seen\": ", f);
    rep_json_col_time(f, st, 8);
    fputs("}", f);
}

void rep_json_edge(FILE *f, sqlite3_stmt *st)
{
    fputs("{\"client_ip\": ", f);
    rep_json_col_str(f, st, 0, 0);
    fputs(", \"server_ip\": ", f);
    rep_json_col_str(f, st, 1, 0);
    fputs(", \"proto\": ", f);
    s_proto(f, st, 2);
    static const char *const k[] = {"server_port", "packets_c2s", "bytes_c2s",
                                    "packets_s2c", "bytes_s2c",   "sessions"};
    for (int i = 0; i < 6; i++) {
        fprintf(f, ", \"%s\": ", k[i]);
        rep_json_col_int(f, st, 3 + i);
    }
    fputs(", \"first_seen\": ", f);
    rep_json_col_time(f, st, 9);
    fputs(", \"last_seen\": ", f);
    rep_json_col_time(f, st, 10);
    fputs("}", f);
}

void rep_json_event(FILE *f, sqlite3_stmt *st)
{
    fputs("{\"kind\": ", f);
    rep_json_col_str(f, st, 0, 0);
    fputs(", \"target_ip\": ", f);
    rep_json_col_str(f, st, 1, 0);
    fputs(", \"port\": ", f);
    rep_json_col_int(f, st, 2);
    fputs(", \"source_count\": ", f);
    rep_json_col_int(f, st, 3);
    fputs(", \"packets\": ", f);
    rep_json_col_int(f, st, 4);
    fputs(", \"first_seen\": ", f);
    rep_json_col_time(f, st, 5);
    fputs(", \"last_seen\": ", f);
    rep_json_col_time(f, st, 6);
    fputs(", \"proto\": ", f);
    s_proto(f, st, 7);
    fputs(", \"actor_ip\": ", f);
    rep_json_col_str(f, st, 8, 1);
    fputs(", \"port_count\": ", f);
    rep_json_col_int(f, st, 9);
    /* packets per second over [first, last], the window at least 1 ms */
    fputs(", \"rate\": ", f);
    rep_json_col_real(f, st, 10);
    fputs("}", f);
}
