/* SPDX-License-Identifier: MIT
 * test_rep_api: the JSON API over HTTP. A small database built through
 * mrg_db (three servers, four clients, one IPv6 client, two events), a
 * sites file, the reporter on 127.0.0.1 port 0; every route, paging edge
 * cases, sorting, each filter, every kind of 400 (unknown, repeated or bad
 * parameter, bad CIDR / proto / port, invalid UTF-8 and control bytes in
 * the URL: the body must still be valid JSON), the JSON 404 and the impact
 * analysis. Bodies are checked with SQLite's json_valid / json_extract plus
 * a strict UTF-8 check (json_valid does not look at encodings).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmn_ip.h"
#include "db_testutil.h"
#include "harness.h"
#include "mrg_db.h"
#include "rep_http.h"

#define NS 1000000000ull
#define T0 1767225600ull /* 2026-01-01T00:00:00Z */

static char s_db[256];
static char s_sites[300];
static struct rep_server *s_srv;
static sqlite3 *s_mem; /* in-memory SQLite for json_valid / json_extract */

/* ---- the database ---- */

struct sess {
    const char *a, *b; /* A = the lower address (memcmp of the 16-byte form) */
    uint16_t a_port, b_port;
    uint8_t proto, flags;
    uint64_t bytes_ab, bytes_ba;
};

static void s_sess(struct cmn_session_rec *s, const struct sess *d, int i)
{
    memset(s, 0, sizeof(*s));
    tu_ip(s->a_ip, d->a);
    tu_ip(s->b_ip, d->b);
    s->a_port = d->a_port;
    s->b_port = d->b_port;
    s->proto = d->proto;
    s->flags = d->flags;
    s->pkts[0] = 10 + (uint64_t)i;
    s->pkts[1] = 20 + (uint64_t)i;
    s->bytes[0] = d->bytes_ab;
    s->bytes[1] = d->bytes_ba;
    s->first_ns = (T0 + (uint64_t)i) * NS;
    s->last_ns = (T0 + 100 + (uint64_t)i) * NS;
}

static void s_server(struct cmn_endpoint_rec *e, const char *ip, uint8_t proto, uint16_t port,
                     float conf)
{
    memset(e, 0, sizeof(*e));
    tu_ip(e->ip, ip);
    e->proto = proto;
    e->port = port;
    e->role = CMN_ROLE_SERVER;
    e->confidence = conf;
}

static int s_build(const char *path)
{
    char hf[300];
    snprintf(hf, sizeof(hf), "%s.hosts", path);
    FILE *f = fopen(hf, "w");
    if (!f)
        return -1;
    fputs("172.16.0.10 db1\n172.16.0.11 web1\n10.3.0.20 pc-\xff\x01name\n", f);
    fclose(f);
    struct mrg_db *db = mrg_db_open(path);
    if (!db)
        return -1;
    /* clang-format off */
    static const struct sess d[] = {
        {"10.3.0.20", "172.16.0.10", 50000, 5432, 6, CMN_SESS_A_INIT, 1000, 2500000},
        {"10.3.0.20", "172.16.0.11", 50001, 443, 6, CMN_SESS_A_INIT, 2000, 30000},
        {"10.3.0.21", "172.16.0.11", 50002, 443, 6, CMN_SESS_A_INIT, 3000, 40000},
        {"10.10.0.5", "172.16.0.11", 50003, 443, 6, CMN_SESS_A_INIT, 4000, 50000},
        {"10.10.0.5", "172.16.1.5", 50004, 53, 17, CMN_SESS_A_INIT, 100, 200},
        {"172.16.0.10", "172.16.0.11", 5432, 40000, 6, CMN_SESS_B_INIT, 900000, 5000},
        {"172.16.0.11", "2001:db8::7", 443, 40001, 6, CMN_SESS_B_INIT, 600, 60},
    };
    /* clang-format on */
    struct cmn_session_rec s[7];
    for (int i = 0; i < 7; i++)
        s_sess(&s[i], &d[i], i);
    struct cmn_endpoint_rec e[3];
    s_server(&e[0], "172.16.0.10", 6, 5432, 0.9f);
    s_server(&e[1], "172.16.0.11", 6, 443, 0.8f);
    s_server(&e[2], "172.16.1.5", 17, 53, 0.7f);
    struct cmn_event_rec ev[2];
    memset(ev, 0, sizeof(ev));
    tu_ip(ev[0].target_ip, "172.16.0.10");
    tu_ip(ev[0].actor_ip, "10.9.9.9");
    ev[0].kind = CMN_EVENT_PORT_SCAN;
    ev[0].proto = 6;
    ev[0].source_count = 1;
    ev[0].packets = 500;
    ev[0].port_count = 400;
    ev[0].first_ns = (T0 + 10) * NS;
    ev[0].last_ns = (T0 + 20) * NS;
    tu_ip(ev[1].target_ip, "172.16.0.11");
    ev[1].kind = CMN_EVENT_SYN_FLOOD;
    ev[1].proto = 6;
    ev[1].port = 443;
    ev[1].source_count = 1000;
    ev[1].packets = 90000;
    ev[1].first_ns = (T0 + 30) * NS;
    ev[1].last_ns = (T0 + 40) * NS;
    struct mrg_part part = {.sessions = s,
                            .n_sessions = 7,
                            .endpoints = e,
                            .n_endpoints = 3,
                            .events = ev,
                            .n_events = 2};
    int rc = mrg_db_commit_epoch(db, T0 / 60, 60 * NS, true, &part, 1, NULL);
    if (rc == 0 && mrg_db_load_hosts_file(db, hf) != 3)
        rc = -1;
    mrg_db_close(&db);
    unlink(hf);
    return rc;
}

/* ---- HTTP and JSON helpers ---- */

struct resp {
    char *raw;  /* whole response (owned) */
    int status; /* HTTP status, -1 when none */
    const char *body;
};

/* GET `path` (sent as is: the test chooses the escapes). */
static struct resp s_get(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct resp s_get(const char *fmt, ...)
{
    struct resp r = {.raw = NULL, .status = -1, .body = ""};
    char path[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof(path), fmt, ap);
    va_end(ap);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return r;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(rep_server_port(s_srv))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return r;
    }
    char req[1200];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return r;
    }
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 4096 > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t k = read(fd, buf + len, cap - len - 1);
        if (k <= 0)
            break;
        len += (size_t)k;
    }
    buf[len] = '\0';
    close(fd);
    r.raw = buf;
    if (sscanf(buf, "HTTP/1.%*d %d", &r.status) != 1)
        r.status = -1;
    const char *b = strstr(buf, "\r\n\r\n");
    r.body = b ? b + 4 : "";
    return r;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static bool s_utf8_ok(const unsigned char *p)
{
    while (*p) {
        unsigned c = *p;
        size_t n = c < 0x80                 ? 1
                   : c >= 0xc2 && c <= 0xdf ? 2
                   : c >= 0xe0 && c <= 0xef ? 3
                   : c >= 0xf0 && c <= 0xf4 ? 4
                                            : 0;
        if (n == 0)
            return false;
        unsigned cp = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
        for (size_t i = 1; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n;
    }
    return true;
}

/* Valid JSON: SQLite's parser for the syntax, s_utf8_ok for the bytes, and no
 * raw control byte anywhere (json_valid would let some through). */
static bool s_json_ok(const char *body)
{
    for (const unsigned char *p = (const unsigned char *)body; *p; p++)
        if (*p < 0x20 && *p != '\n' && *p != '\r' && *p != '\t')
            return false;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s_mem, "SELECT json_valid(?1)", -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(st, 1, body, -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
    sqlite3_finalize(st);
    return ok && s_utf8_ok((const unsigned char *)body);
}

/* json_extract(body, path) as text into buf ("" for null or missing). */
static const char *s_jx(const struct resp *r, const char *path, char *buf, size_t len)
{
    sqlite3_stmt *st = NULL;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(s_mem, "SELECT json_extract(?1, ?2)", -1, &st, NULL) != SQLITE_OK)
        return buf;
    sqlite3_bind_text(st, 1, r->body, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}

static bool s_is(const struct resp *r, const char *path, const char *want)
{
    char buf[512];
    s_jx(r, path, buf, sizeof(buf));
    if (strcmp(buf, want) != 0) {
        fprintf(stderr, "  %s = '%s', want '%s'\n", path, buf, want);
        return false;
    }
    return true;
}

static long long s_num(const struct resp *r, const char *path)
{
    char buf[64];
    s_jx(r, path, buf, sizeof(buf));
    return buf[0] ? atoll(buf) : -1;
}

/* A 400 whose JSON names `param`. */
static bool s_bad(const struct resp *r, const char *param)
{
    bool ok = r->status == 400 && strstr(r->raw, "Content-Type: application/json") &&
              s_json_ok(r->body) && s_is(r, "$.parameter", param);
    char err[300];
    if (!ok || !*s_jx(r, "$.error", err, sizeof(err))) {
        fprintf(stderr, "  want 400 naming '%s', got %d: %s\n", param, r->status, r->body);
        return false;
    }
    return true;
}

static void s_free(struct resp *r)
{
    free(r->raw);
    r->raw = NULL;
}

/* ---- fixture ---- */

static int s_setup(bool with_sites_file)
{
    tu_db_path(s_db, sizeof(s_db), "rep_api", "db");
    if (s_build(s_db) != 0)
        return -1;
    snprintf(s_sites, sizeof(s_sites), "%s.sites", s_db);
    FILE *f = fopen(s_sites, "w");
    if (!f)
        return -1;
    fputs("# name kind cidr\ndc-east datacenter 172.16.0.0/16\noffice-1 office 10.10.0.0/16\n"
          "lab lab 192.168.99.0/24\n",
          f);
    fclose(f);
    struct rep_config cfg = {
        .db_path = s_db, .listen = "127.0.0.1:0", .sites_path = with_sites_file ? s_sites : NULL};
    s_srv = rep_server_start(&cfg);
    if (!s_srv || sqlite3_open(":memory:", &s_mem) != SQLITE_OK)
        return -1;
    return 0;
}

static void s_teardown(void)
{
    rep_server_stop(&s_srv);
    sqlite3_close(s_mem);
    s_mem = NULL;
    unlink(s_sites);
    tu_db_rm(s_db);
}

/* ---- cases ---- */

TEST(hosts)
{
    FAIL_IF_NOT(s_setup(true) == 0);
    struct resp r = s_get("/api/hosts");
    FAIL_IF_NOT(r.status == 200);
    FAIL_IF_NOT(strstr(r.raw, "Content-Type: application/json"));
    FAIL_IF_NOT(s_json_ok(r.body));
    FAIL_IF_NOT(s_num(&r, "$.total") == 7);
    FAIL_IF_NOT(s_num(&r, "$.offset") == 0);
    FAIL_IF_NOT(s_num(&r, "$.limit") == 100);
    /* hosts providing a service (server, both) first, then clients, each by address */
    FAIL_IF_NOT(s_is(&r, "$.items[0].ip", "172.16.0.10"));
    FAIL_IF_NOT(s_is(&r, "$.items[0].kind", "server"));
    FAIL_IF_NOT(s_is(&r, "$.items[0].name", "db1"));
    FAIL_IF_NOT(s_is(&r, "$.items[0].site", "dc-east"));
    FAIL_IF_NOT(s_is(&r, "$.items[0].network", "172.16.0.0/24"));
    FAIL_IF_NOT(s_is(&r, "$.items[1].ip", "172.16.0.11"));
    FAIL_IF_NOT(s_is(&r, "$.items[1].kind", "both"));
    FAIL_IF_NOT(s_is(&r, "$.items[2].ip", "172.16.1.5"));
    FAIL_IF_NOT(s_is(&r, "$.items[3].ip", "10.3.0.20"));
    FAIL_IF_NOT(s_is(&r, "$.items[3].site", ""));
    FAIL_IF_NOT(s_is(&r, "$.items[4].ip", "10.3.0.21"));
    FAIL_IF_NOT(s_is(&r, "$.items[5].ip", "10.10.0.5"));
    FAIL_IF_NOT(s_is(&r, "$.items[5].site", "office-1"));
    FAIL_IF_NOT(s_is(&r, "$.items[6].ip", "2001:db8::7"));
    /* the hosts-file name with an invalid byte and a control byte: valid JSON */
    FAIL_IF_NOT(s_is(&r, "$.items[3].name", "pc-\xef\xbf\xbd\x01name"));
    FAIL_IF_NOT(strstr(r.body, "pc-\\ufffd\\u0001name"));
    s_free(&r);

    /* filters */
    r = s_get("/api/hosts?kind=server");
    FAIL_IF_NOT(r.status == 200 && s_num(&r, "$.total") == 2);
    s_free(&r);
    r = s_get("/api/hosts?site=dc-east");
    FAIL_IF_NOT(s_num(&r, "$.total") == 3);
    s_free(&r);
    r = s_get("/api/hosts?site=office-1&kind=client");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1 && s_is(&r, "$.items[0].ip", "10.10.0.5"));
    s_free(&r);
    r = s_get("/api/hosts?network=10.3.0.0/24");
    FAIL_IF_NOT(s_num(&r, "$.total") == 2);
    s_free(&r);
    r = s_get("/api/hosts?network=10.3.0.9/24"); /* canonicalised to the network */
    FAIL_IF_NOT(s_num(&r, "$.total") == 2);
    s_free(&r);
    r = s_get("/api/hosts?cidr=172.16.0.0/23");
    FAIL_IF_NOT(s_num(&r, "$.total") == 3);
    s_free(&r);
    r = s_get("/api/hosts?cidr=2001:db8::/32");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1 && s_is(&r, "$.items[0].ip", "2001:db8::7"));
    s_free(&r);
    r = s_get("/api/hosts?cidr=10.3.0.21");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1);
    s_free(&r);
    r = s_get("/api/hosts?q=172.16.0.");
    FAIL_IF_NOT(s_num(&r, "$.total") == 2);
    s_free(&r);
    r = s_get("/api/hosts?q=WEB");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1 && s_is(&r, "$.items[0].ip", "172.16.0.11"));
    s_free(&r);
    r = s_get("/api/hosts?has_service=tcp/443");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1 && s_is(&r, "$.items[0].ip", "172.16.0.11"));
    s_free(&r);
    r = s_get("/api/hosts?has_service=udp/53&site=dc-east");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1 && s_is(&r, "$.items[0].ip", "172.16.1.5"));
    s_free(&r);
    r = s_get("/api/hosts?has_service=udp/5432");
    FAIL_IF_NOT(r.status == 200 && s_num(&r, "$.total") == 0 && s_is(&r, "$.items", "[]"));
    s_free(&r);

    /* sorting */
    r = s_get("/api/hosts?sort=ip");
    FAIL_IF_NOT(s_is(&r, "$.items[0].ip", "10.3.0.20") && s_is(&r, "$.items[6].ip", "2001:db8::7"));
    s_free(&r);
    r = s_get("/api/hosts?sort=ip&order=desc");
    FAIL_IF_NOT(s_is(&r, "$.items[0].ip", "2001:db8::7"));
    s_free(&r);
    r = s_get("/api/hosts?sort=bytes&limit=1"); /* counts default to descending */
    FAIL_IF_NOT(s_is(&r, "$.items[0].ip", "172.16.0.10") && s_num(&r, "$.total") == 7);
    s_free(&r);
    r = s_get("/api/hosts?sort=services_used&order=asc&limit=1");
    FAIL_IF_NOT(s_num(&r, "$.items[0].services_used") == 0);
    s_free(&r);
    r = s_get("/api/hosts?sort=kind");
    FAIL_IF_NOT(s_is(&r, "$.items[1].ip", "172.16.1.5") && s_is(&r, "$.items[2].kind", "both"));
    s_free(&r);
    r = s_get("/api/hosts?sort=site");
    FAIL_IF_NOT(r.status == 200 && s_is(&r, "$.items[6].site", "office-1"));
    s_free(&r);
    s_teardown();
    PASS;
}

TEST(paging)
{
    FAIL_IF_NOT(s_setup(true) == 0);
    struct resp r = s_get("/api/hosts?limit=3&offset=2&sort=ip");
    FAIL_IF_NOT(r.status == 200 && s_json_ok(r.body));
    FAIL_IF_NOT(s_num(&r, "$.total") == 7 && s_num(&r, "$.offset") == 2 &&
                s_num(&r, "$.limit") == 3);
    FAIL_IF_NOT(s_is(&r, "$.items[0].ip", "10.10.0.5"));
    FAIL_IF_NOT(s_is(&r, "$.items[2].ip", "172.16.0.11"));
    FAIL_IF_NOT(s_is(&r, "$.items[3].ip", ""));
    s_free(&r);
    r = s_get("/api/hosts?offset=7");
    FAIL_IF_NOT(r.status == 200 && s_num(&r, "$.total") == 7 && s_is(&r, "$.items", "[]"));
    s_free(&r);
    r = s_get("/api/hosts?offset=999999999");
    FAIL_IF_NOT(r.status == 200 && s_is(&r, "$.items", "[]"));
    s_free(&r);
    r = s_get("/api/edges?limit=0");
    FAIL_IF_NOT(r.status == 200 && s_num(&r, "$.total") == 7 && s_is(&r, "$.items", "[]"));
    FAIL_IF_NOT(s_json_ok(r.body));
    s_free(&r);
    r = s_get("/api/hosts?limit=1000");
    FAIL_IF_NOT(r.status == 200 && s_num(&r, "$.limit") == 1000);
    s_free(&r);
    r = s_get("/api/hosts?limit=1001");
    FAIL_IF_NOT(s_bad(&r, "limit"));
    s_free(&r);
    r = s_get("/api/hosts?limit=-1");
    FAIL_IF_NOT(s_bad(&r, "limit") && s_is(&r, "$.value", "-1"));
    s_free(&r);
    r = s_get("/api/hosts?limit=ten");
    FAIL_IF_NOT(s_bad(&r, "limit"));
    s_free(&r);
    r = s_get("/api/hosts?limit=");
    FAIL_IF_NOT(s_bad(&r, "limit"));
    s_free(&r);
    r = s_get("/api/hosts?limit");
    FAIL_IF_NOT(s_bad(&r, "limit"));
    s_free(&r);
    r = s_get("/api/hosts?limit=99999999999999999999999");
    FAIL_IF_NOT(s_bad(&r, "limit"));
    s_free(&r);
    r = s_get("/api/hosts?offset=-5");
    FAIL_IF_NOT(s_bad(&r, "offset"));
    s_free(&r);
    r = s_get("/api/hosts?offset=1e3");
    FAIL_IF_NOT(s_bad(&r, "offset"));
    s_free(&r);
    r = s_get("/api/sites?offset=2&limit=5");
    FAIL_IF_NOT(r.status == 200 && s_num(&r, "$.total") == 3 &&
                s_is(&r, "$.items[0].name", "office-1"));
    s_free(&r);
    r = s_get("/api/sites?offset=3");
    FAIL_IF_NOT(r.status == 200 && s_is(&r, "$.items", "[]"));
    s_free(&r);
    s_teardown();
    PASS;
}

TEST(services_edges_events_sites)
{
    FAIL_IF_NOT(s_setup(true) == 0);
    struct resp r = s_get("/api/services");
    FAIL_IF_NOT(r.status == 200 && s_json_ok(r.body));
    FAIL_IF_NOT(s_num(&r, "$.total") == 3);
    /* by clients, most first */
    FAIL_IF_NOT(s_is(&r, "$.items[0].ip", "172.16.0.11"));
    FAIL_IF_NOT(s_is(&r, "$.items[0].proto", "tcp"));
    FAIL_IF_NOT(s_num(&r, "$.items[0].port") == 443);
    FAIL_IF_NOT(s_num(&r, "$.items[0].clients") == 4);
    FAIL_IF_NOT(s_is(&r, "$.items[0].name", "https"));
    FAIL_IF_NOT(s_is(&r, "$.items[0].site", "dc-east"));
    FAIL_IF_NOT(s_is(&r, "$.items[1].ip", "172.16.0.10"));
    FAIL_IF_NOT(s_is(&r, "$.items[2].ip", "172.16.1.5"));
    s_free(&r);
    r = s_get("/api/services?proto=udp");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1 && s_num(&r, "$.items[0].port") == 53);
    s_free(&r);
    r = s_get("/api/services?port=5432&proto=6");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1 && s_is(&r, "$.items[0].name", "postgresql"));
    s_free(&r);
    r = s_get("/api/services?name=POSTGRES");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1);
    s_free(&r);
    r = s_get("/api/services?ip=172.16.0.11");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1);
    s_free(&r);
    r = s_get("/api/services?cidr=172.16.0.0/24&site=dc-east");
    FAIL_IF_NOT(s_num(&r, "$.total") == 2);
    s_free(&r);
    r = s_get("/api/services?site=office-1");
    FAIL_IF_NOT(r.status == 200 && s_num(&r, "$.total") == 0);
    s_free(&r);
    r = s_get("/api/services?sort=port");
    FAIL_IF_NOT(s_num(&r, "$.items[0].port") == 53 && s_num(&r, "$.items[2].port") == 5432);
    s_free(&r);
    r = s_get("/api/services?sort=bytes&order=asc");
    FAIL_IF_NOT(s_is(&r, "$.items[0].ip", "172.16.1.5"));
    s_free(&r);

    r = s_get("/api/edges");
    FAIL_IF_NOT(r.status == 200 && s_json_ok(r.body) && s_num(&r, "$.total") == 7);
    /* by volume, most first */
    FAIL_IF_NOT(s_is(&r, "$.items[0].client_ip", "10.3.0.20"));
    FAIL_IF_NOT(s_is(&r, "$.items[0].server_ip", "172.16.0.10"));
    FAIL_IF_NOT(s_num(&r, "$.items[0].server_port") == 5432);
    FAIL_IF_NOT(s_is(&r, "$.items[0].server_site", "dc-east"));
    FAIL_IF_NOT(s_is(&r, "$.items[0].client_site", ""));
    FAIL_IF_NOT(s_is(&r, "$.items[1].client_ip", "172.16.0.11"));
    FAIL_IF_NOT(s_num(&r, "$.items[0].bytes_s2c") == 2500000);
    s_free(&r);
    r = s_get("/api/edges?server=172.16.0.11&sort=client");
    FAIL_IF_NOT(s_num(&r, "$.total") == 4 && s_is(&r, "$.items[0].client_ip", "10.3.0.20") &&
                s_is(&r, "$.items[3].client_ip", "2001:db8::7"));
    s_free(&r);
    r = s_get("/api/edges?client=10.10.0.5");
    FAIL_IF_NOT(s_num(&r, "$.total") == 2);
    s_free(&r);
    r = s_get("/api/edges?proto=udp&port=53");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1);
    s_free(&r);
    r = s_get("/api/edges?cidr=10.10.0.0/16");
    FAIL_IF_NOT(s_num(&r, "$.total") == 2);
    s_free(&r);
    r = s_get("/api/edges?site=office-1");
    FAIL_IF_NOT(s_num(&r, "$.total") == 2);
    s_free(&r);
    r = s_get("/api/edges?port=443&sort=bytes&order=asc");
    FAIL_IF_NOT(s_num(&r, "$.total") == 4 && s_is(&r, "$.items[0].client_ip", "2001:db8::7"));
    s_free(&r);

    r = s_get("/api/events");
    FAIL_IF_NOT(r.status == 200 && s_json_ok(r.body) && s_num(&r, "$.total") == 2);
    FAIL_IF_NOT(s_is(&r, "$.items[0].kind", "syn_flood")); /* latest first */
    FAIL_IF_NOT(s_is(&r, "$.items[1].kind", "port_scan"));
    FAIL_IF_NOT(s_is(&r, "$.items[1].actor_ip", "10.9.9.9"));
    s_free(&r);
    r = s_get("/api/events?kind=port_scan");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1);
    s_free(&r);
    r = s_get("/api/events?target=172.16.0.11");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1 && s_is(&r, "$.items[0].kind", "syn_flood"));
    s_free(&r);
    r = s_get("/api/events?ip=10.9.9.9");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1 && s_is(&r, "$.items[0].kind", "port_scan"));
    s_free(&r);
    r = s_get("/api/events?sort=packets&order=asc");
    FAIL_IF_NOT(s_is(&r, "$.items[0].kind", "port_scan"));
    s_free(&r);

    r = s_get("/api/sites");
    FAIL_IF_NOT(r.status == 200 && s_json_ok(r.body) && s_num(&r, "$.total") == 3);
    FAIL_IF_NOT(s_is(&r, "$.items[0].name", "dc-east"));
    FAIL_IF_NOT(s_is(&r, "$.items[0].kind", "datacenter"));
    FAIL_IF_NOT(s_is(&r, "$.items[0].cidrs[0]", "172.16.0.0/16"));
    FAIL_IF_NOT(s_num(&r, "$.items[0].hosts") == 3);
    FAIL_IF_NOT(s_is(&r, "$.items[1].name", "lab"));
    FAIL_IF_NOT(s_num(&r, "$.items[1].hosts") == 0);
    s_free(&r);
    r = s_get("/api/sites?sort=hosts");
    FAIL_IF_NOT(s_is(&r, "$.items[0].name", "dc-east") && s_is(&r, "$.items[2].name", "lab"));
    s_free(&r);
    r = s_get("/api/sites?kind=office");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1 && s_is(&r, "$.items[0].name", "office-1"));
    s_free(&r);

    /* the existing routes keep working */
    r = s_get("/api/host/172.16.0.11");
    FAIL_IF_NOT(r.status == 200 && s_json_ok(r.body));
    FAIL_IF_NOT(s_is(&r, "$.host.site", "dc-east"));
    FAIL_IF_NOT(s_is(&r, "$.provides[0].name", "https"));
    FAIL_IF_NOT(s_is(&r, "$.uses[0].server_ip", "172.16.0.10"));
    s_free(&r);
    r = s_get("/api/export");
    FAIL_IF_NOT(r.status == 200 && s_json_ok(r.body));
    FAIL_IF_NOT(s_is(&r, "$.edges[0].client_ip", "10.3.0.20"));
    s_free(&r);
    s_teardown();
    PASS;
}

TEST(bad_requests)
{
    FAIL_IF_NOT(s_setup(true) == 0);
    struct resp r = s_get("/api/hosts?color=blue");
    FAIL_IF_NOT(s_bad(&r, "color"));
    s_free(&r);
    r = s_get("/api/hosts?limit=5&limit=6");
    FAIL_IF_NOT(s_bad(&r, "limit"));
    s_free(&r);
    r = s_get("/api/hosts?kind=server&kind=client");
    FAIL_IF_NOT(s_bad(&r, "kind"));
    s_free(&r);
    r = s_get("/api/hosts?kind=router");
    FAIL_IF_NOT(s_bad(&r, "kind") && s_is(&r, "$.value", "router"));
    s_free(&r);
    r = s_get("/api/hosts?site=mars");
    FAIL_IF_NOT(s_bad(&r, "site"));
    s_free(&r);
    r = s_get("/api/hosts?cidr=10.0.0.0/33");
    FAIL_IF_NOT(s_bad(&r, "cidr"));
    s_free(&r);
    r = s_get("/api/edges?cidr=banana");
    FAIL_IF_NOT(s_bad(&r, "cidr"));
    s_free(&r);
    r = s_get("/api/hosts?network=10.3.0.0");
    FAIL_IF_NOT(s_bad(&r, "network"));
    s_free(&r);
    r = s_get("/api/hosts?has_service=tcp");
    FAIL_IF_NOT(s_bad(&r, "has_service"));
    s_free(&r);
    r = s_get("/api/hosts?has_service=tcp/0");
    FAIL_IF_NOT(s_bad(&r, "has_service"));
    s_free(&r);
    r = s_get("/api/hosts?has_service=sctpx/80");
    FAIL_IF_NOT(s_bad(&r, "has_service"));
    s_free(&r);
    r = s_get("/api/hosts?q=");
    FAIL_IF_NOT(s_bad(&r, "q"));
    s_free(&r);
    r = s_get("/api/services?proto=tcpp");
    FAIL_IF_NOT(s_bad(&r, "proto"));
    s_free(&r);
    r = s_get("/api/services?proto=256");
    FAIL_IF_NOT(s_bad(&r, "proto"));
    s_free(&r);
    r = s_get("/api/services?port=65536");
    FAIL_IF_NOT(s_bad(&r, "port"));
    s_free(&r);
    r = s_get("/api/edges?port=0");
    FAIL_IF_NOT(s_bad(&r, "port"));
    s_free(&r);
    r = s_get("/api/edges?port=http");
    FAIL_IF_NOT(s_bad(&r, "port"));
    s_free(&r);
    r = s_get("/api/services?ip=172.16.0.300");
    FAIL_IF_NOT(s_bad(&r, "ip"));
    s_free(&r);
    r = s_get("/api/edges?client=x");
    FAIL_IF_NOT(s_bad(&r, "client"));
    s_free(&r);
    r = s_get("/api/events?kind=DROP%%20TABLE");
    FAIL_IF_NOT(s_bad(&r, "kind"));
    s_free(&r);
    r = s_get("/api/hosts?sort=password");
    FAIL_IF_NOT(s_bad(&r, "sort"));
    s_free(&r);
    r = s_get("/api/hosts?sort=ip%%3B%%20DROP%%20TABLE%%20hosts");
    FAIL_IF_NOT(s_bad(&r, "sort"));
    s_free(&r);
    r = s_get("/api/hosts?sort=ip&order=up");
    FAIL_IF_NOT(s_bad(&r, "order"));
    s_free(&r);
    r = s_get("/api/hosts?order=asc");
    FAIL_IF_NOT(s_bad(&r, "order"));
    s_free(&r);
    r = s_get("/api/sites?sort=cidr");
    FAIL_IF_NOT(s_bad(&r, "sort"));
    s_free(&r);
    r = s_get("/api/host/172.16.0.10?verbose=1");
    FAIL_IF_NOT(s_bad(&r, "verbose"));
    s_free(&r);
    r = s_get("/api/export?format=xml");
    FAIL_IF_NOT(s_bad(&r, "format"));
    s_free(&r);

    /* invalid UTF-8 and control bytes: replaced or escaped, never raw */
    r = s_get("/api/hosts?%%FF%%FE=1");
    FAIL_IF_NOT(r.status == 400 && s_json_ok(r.body));
    FAIL_IF_NOT(s_is(&r, "$.parameter", "\xef\xbf\xbd\xef\xbf\xbd"));
    s_free(&r);
    r = s_get("/api/hosts?q=%%C0%%AF%%01%%1B");
    FAIL_IF_NOT(r.status == 200 && s_json_ok(r.body) && s_num(&r, "$.total") == 0);
    s_free(&r);
    r = s_get("/api/hosts?kind=%%ED%%A0%%80%%0A%%22");
    FAIL_IF_NOT(s_bad(&r, "kind"));
    FAIL_IF_NOT(s_is(&r, "$.value", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\n\""));
    s_free(&r);
    r = s_get("/api/hosts?q=a%%00b");
    FAIL_IF_NOT(s_bad(&r, "q") && s_is(&r, "$.value", "a"));
    s_free(&r);
    r = s_get("/api/hosts?li%%00mit=1");
    FAIL_IF_NOT(s_bad(&r, "li"));
    s_free(&r);
    r = s_get("/api/host/%%FF%%01");
    FAIL_IF_NOT(r.status == 404 && s_json_ok(r.body));
    s_free(&r);
    r = s_get("/api/n%%FFpe%%7F");
    FAIL_IF_NOT(r.status == 404 && s_json_ok(r.body));
    FAIL_IF_NOT(strstr(r.raw, "Content-Type: application/json"));
    s_free(&r);
    r = s_get("/api/hosts?limit=%%F0%%9F%%98%%80"); /* valid UTF-8 (an emoji) echoed as is */
    FAIL_IF_NOT(s_bad(&r, "limit") && s_is(&r, "$.value", "\xf0\x9f\x98\x80"));
    s_free(&r);

    /* unknown routes under /api/ are JSON 404s */
    r = s_get("/api/nope");
    FAIL_IF_NOT(r.status == 404 && s_json_ok(r.body) && s_is(&r, "$.path", "/api/nope"));
    s_free(&r);
    r = s_get("/api/hosts/extra");
    FAIL_IF_NOT(r.status == 404 && s_json_ok(r.body));
    s_free(&r);
    r = s_get("/api");
    FAIL_IF_NOT(r.status == 404 && s_json_ok(r.body));
    s_free(&r);
    /* the HTML pages ignore parameters, as before */
    r = s_get("/?x=1");
    FAIL_IF_NOT(r.status == 200 && strstr(r.raw, "text/html"));
    s_free(&r);
    s_teardown();
    PASS;
}

TEST(db_sites)
{
    /* no sites file: the database's sites table; absent table: no sites */
    FAIL_IF_NOT(s_setup(false) == 0);
    struct resp r = s_get("/api/sites");
    FAIL_IF_NOT(r.status == 200 && s_num(&r, "$.total") == 0);
    s_free(&r);
    r = s_get("/api/hosts?limit=1");
    FAIL_IF_NOT(r.status == 200 && s_is(&r, "$.items[0].site", ""));
    s_free(&r);
    r = s_get("/api/hosts?site=dc-east");
    FAIL_IF_NOT(s_bad(&r, "site"));
    s_free(&r);
    sqlite3 *h = NULL;
    FAIL_IF_NOT(sqlite3_open(s_db, &h) == SQLITE_OK);
    FAIL_IF_NOT(sqlite3_exec(h,
                             "CREATE TABLE sites(name TEXT, kind TEXT, cidr TEXT);"
                             "INSERT INTO sites VALUES('dc-west', 'datacenter', '172.16.1.0/24');",
                             NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    r = s_get("/api/sites");
    FAIL_IF_NOT(r.status == 200 && s_num(&r, "$.total") == 1 &&
                s_is(&r, "$.items[0].name", "dc-west") && s_num(&r, "$.items[0].hosts") == 1);
    s_free(&r);
    r = s_get("/api/hosts?site=dc-west");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1 && s_is(&r, "$.items[0].ip", "172.16.1.5"));
    s_free(&r);
    s_teardown();
    /* a sites file that does not load stops the start */
    tu_db_path(s_db, sizeof(s_db), "rep_api", "db2");
    FAIL_IF_NOT(s_build(s_db) == 0);
    struct rep_config cfg = {
        .db_path = s_db, .listen = "127.0.0.1:0", .sites_path = "/nonexistent/sites"};
    struct rep_server *srv = rep_server_start(&cfg);
    FAIL_IF(srv != NULL);
    tu_db_rm(s_db);
    PASS;
}

TEST(impact)
{
    FAIL_IF_NOT(s_setup(true) == 0);
    struct resp r = s_get("/api/impact?fail=172.16.0.10");
    FAIL_IF_NOT(r.status == 200 && s_json_ok(r.body));
    FAIL_IF_NOT(s_is(&r, "$.targets[0].target", "172.16.0.10"));
    FAIL_IF_NOT(s_num(&r, "$.summary.hosts_failed") == 1);
    FAIL_IF_NOT(s_num(&r, "$.summary.services_lost") == 1);
    /* web1 used the database: impaired, so its service too, and its clients */
    FAIL_IF_NOT(s_num(&r, "$.summary.services_impaired") == 1);
    FAIL_IF(strstr(r.body, "\"state\": \"impaired\"") == NULL);
    s_free(&r);
    r = s_get("/api/impact?fail=172.16.0.10&hops=0");
    FAIL_IF_NOT(r.status == 200 && s_num(&r, "$.hops") == 0);
    s_free(&r);
    r = s_get("/api/impact?fail=@office-1&fail=172.16.1.5:udp/53&soft=udp/53");
    FAIL_IF_NOT(r.status == 200 && s_json_ok(r.body) && s_num(&r, "$.summary.hosts_failed") == 1);
    s_free(&r);
    r = s_get("/api/impact?fail=10.99.99.99");
    FAIL_IF_NOT(s_bad(&r, "fail") && s_is(&r, "$.value", "10.99.99.99"));
    s_free(&r);
    r = s_get("/api/impact?fail=172.16.0.10&fail=@atlantis");
    FAIL_IF_NOT(s_bad(&r, "fail") && s_is(&r, "$.value", "@atlantis"));
    s_free(&r);
    r = s_get("/api/impact?fail=%%FF%%01");
    FAIL_IF_NOT(r.status == 400 && s_json_ok(r.body));
    s_free(&r);
    r = s_get("/api/impact");
    FAIL_IF_NOT(s_bad(&r, "fail"));
    s_free(&r);
    r = s_get("/api/impact?fail=172.16.0.10&hops=x");
    FAIL_IF_NOT(s_bad(&r, "hops"));
    s_free(&r);
    r = s_get("/api/impact?fail=172.16.0.10&hops=1&hops=2");
    FAIL_IF_NOT(s_bad(&r, "hops"));
    s_free(&r);
    r = s_get("/api/impact?fail=172.16.0.10&since=yesterday");
    FAIL_IF_NOT(s_bad(&r, "since"));
    s_free(&r);
    r = s_get("/api/impact?fail=172.16.0.10&since=2026-01-02&until=2026-01-01");
    FAIL_IF_NOT(s_bad(&r, "until"));
    s_free(&r);
    r = s_get("/api/impact?fail=172.16.0.10&since=2020-01-01");
    FAIL_IF_NOT(s_bad(&r, "since")); /* before the oldest usage history */
    s_free(&r);
    r = s_get("/api/impact?fail=172.16.0.10&since=2026-01-01T00:00:00Z&until=2026-01-02");
    FAIL_IF_NOT(r.status == 200 && s_is(&r, "$.period.since", "2026-01-01T00:00:00Z"));
    FAIL_IF_NOT(s_num(&r, "$.summary.services_impaired") == 1);
    s_free(&r);
    r = s_get("/api/impact?fail=172.16.0.10&since=2026-06-01"); /* a period without traffic */
    FAIL_IF_NOT(r.status == 200 && s_json_ok(r.body) && s_num(&r, "$.summary.hosts_failed") == 1);
    FAIL_IF_NOT(s_num(&r, "$.summary.services_lost") == 0);
    s_free(&r);
    r = s_get("/api/impact?fail=172.16.0.10&since=1m"); /* a minute before the last packet */
    FAIL_IF_NOT(r.status == 200 && s_json_ok(r.body));
    s_free(&r);
    r = s_get("/api/impact?fail=172.16.0.10&soft=nonsense");
    FAIL_IF_NOT(s_bad(&r, "soft"));
    s_free(&r);
    r = s_get("/api/impact?fail=172.16.0.10&alt=bogus");
    FAIL_IF_NOT(s_bad(&r, "alt"));
    s_free(&r);
    r = s_get("/api/impact?fail=172.16.0.10&extra=1");
    FAIL_IF_NOT(s_bad(&r, "extra"));
    s_free(&r);
    s_teardown();
    PASS;
}

TEST(names)
{
    /* names as the export gives them: hosts file, then passive DNS; services
     * file, then port names; filters and sort keys use the same names */
    FAIL_IF_NOT(s_setup(true) == 0);
    sqlite3 *h = NULL;
    FAIL_IF_NOT(sqlite3_open(s_db, &h) == SQLITE_OK);
    FAIL_IF_NOT(sqlite3_exec(h,
                             "INSERT INTO service_names VALUES(6, 443, 'shop-frontend');"
                             "INSERT INTO dns_names VALUES('10.3.0.21', 'laptop7.corp', 'A', 1,"
                             " 2, 1);"
                             "INSERT INTO dns_names VALUES('172.16.0.10', 'pg.corp', 'A', 1, 2,"
                             " 1);",
                             NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(h);
    struct resp r = s_get("/api/services?name=shop");
    FAIL_IF_NOT(r.status == 200 && s_num(&r, "$.total") == 1);
    FAIL_IF_NOT(s_is(&r, "$.items[0].name", "shop-frontend"));
    s_free(&r);
    r = s_get("/api/services?name=https");
    FAIL_IF_NOT(s_num(&r, "$.total") == 0);
    s_free(&r);
    r = s_get("/api/hosts?q=laptop");
    FAIL_IF_NOT(s_num(&r, "$.total") == 1 && s_is(&r, "$.items[0].ip", "10.3.0.21"));
    FAIL_IF_NOT(s_is(&r, "$.items[0].name", "laptop7.corp"));
    FAIL_IF_NOT(s_is(&r, "$.items[0].name_source", "dns"));
    s_free(&r);
    r = s_get("/api/host/172.16.0.10"); /* the hosts file wins over DNS */
    FAIL_IF_NOT(s_is(&r, "$.host.name", "db1") && s_is(&r, "$.host.name_source", "hosts_file"));
    s_free(&r);
    r = s_get("/api/host/172.16.0.11");
    FAIL_IF_NOT(s_is(&r, "$.provides[0].name", "shop-frontend"));
    s_free(&r);
    r = s_get("/api/hosts?sort=name&order=desc&limit=1");
    FAIL_IF_NOT(s_is(&r, "$.items[0].name", "web1"));
    s_free(&r);
    s_teardown();
    PASS;
}

TEST_MAIN(TEST_ENTRY(hosts) TEST_ENTRY(paging) TEST_ENTRY(services_edges_events_sites)
              TEST_ENTRY(bad_requests) TEST_ENTRY(db_sites) TEST_ENTRY(names) TEST_ENTRY(impact))
