/* SPDX-License-Identifier: MIT
 * test_rep_http: starts the web reporter on 127.0.0.1 port 0 over a small
 * database built through mrg_db, fetches every route with a raw socket
 * client and checks status codes, Content-Type, content and HTML escaping.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
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

static int s_build(const char *path)
{
    char hf[300];
    snprintf(hf, sizeof(hf), "%s.hosts", path);
    FILE *f = fopen(hf, "w");
    if (!f)
        return -1;
    fputs("172.16.0.10 <b>db1</b>\n", f);
    fclose(f);
    struct mrg_db *db = mrg_db_open(path);
    if (!db)
        return -1;
    struct cmn_session_rec s;
    memset(&s, 0, sizeof(s));
    cmn_ip_parse("10.3.0.20", s.a_ip);
    cmn_ip_parse("172.16.0.10", s.b_ip);
    s.a_port = 50000;
    s.b_port = 5432;
    s.proto = 6;
    s.flags = CMN_SESS_A_INIT;
    s.pkts[0] = 10;
    s.pkts[1] = 20;
    s.bytes[0] = 1000;
    s.bytes[1] = 2500000;
    s.first_ns = 1767225600ull * NS;
    s.last_ns = 1767225700ull * NS;
    struct cmn_endpoint_rec e;
    memset(&e, 0, sizeof(e));
    cmn_ip_parse("172.16.0.10", e.ip);
    e.proto = 6;
    e.port = 5432;
    e.role = CMN_ROLE_SERVER;
    e.confidence = 0.9f;
    struct mrg_part part = {.sessions = &s, .n_sessions = 1, .endpoints = &e, .n_endpoints = 1};
    int rc = mrg_db_commit_epoch(db, 0, 60 * NS, true, &part, 1, NULL);
    if (rc == 0 && mrg_db_load_hosts_file(db, hf) != 1)
        rc = -1;
    mrg_db_close(&db);
    unlink(hf);
    return rc;
}

/* GET `path` (or another method); returns the malloc'd raw response or NULL. */
static char *s_http(uint16_t port, const char *method, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return NULL;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return NULL;
    }
    char req[512];
    int n =
        snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                 method, path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1024 > cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    close(fd);
    return buf;
}

static int s_status(const char *resp)
{
    int code = 0;
    if (!resp || sscanf(resp, "HTTP/1.%*d %d", &code) != 1)
        return -1;
    return code;
}

static bool s_has(const char *resp, const char *needle)
{
    return resp && strstr(resp, needle) != NULL;
}

TEST(routes)
{
    char db[256];
    snprintf(db, sizeof(db), "/tmp/renkei_test_rep_http_%d.db", (int)getpid());
    tu_db_rm(db);
    FAIL_IF_NOT(s_build(db) == 0);
    struct rep_config cfg = {.db_path = db, .listen = "127.0.0.1:0"};
    struct rep_server *srv = rep_server_start(&cfg);
    FAIL_IF_NOT(srv);
    uint16_t port = rep_server_port(srv);
    FAIL_IF(port == 0);

    char *r = s_http(port, "GET", "/");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "Content-Type: text/html"));
    FAIL_IF_NOT(s_has(r, "href=\"/host/172.16.0.10\""));
    FAIL_IF_NOT(s_has(r, "&lt;b&gt;db1&lt;/b&gt;"));
    FAIL_IF(s_has(r, "<b>db1</b>"));
    free(r);

    r = s_http(port, "GET", "/host/172.16.0.10");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "Services provided"));
    FAIL_IF_NOT(s_has(r, "tcp/5432 (postgresql)"));
    FAIL_IF_NOT(s_has(r, "href=\"/host/10.3.0.20\"")); /* its client, linked */
    free(r);

    r = s_http(port, "GET", "/host/10.3.0.20");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "Services used"));
    FAIL_IF_NOT(s_has(r, "href=\"/host/172.16.0.10\""));
    FAIL_IF_NOT(s_has(r, "2.5 MB"));
    free(r);

    r = s_http(port, "GET", "/host/10.9.9.9");
    FAIL_IF_NOT(s_status(r) == 404);
    FAIL_IF_NOT(s_has(r, "no traffic seen for host"));
    free(r);

    r = s_http(port, "GET", "/host/%3Cscript%3E");
    FAIL_IF_NOT(s_status(r) == 404);
    FAIL_IF(s_has(r, "<script>a"));
    FAIL_IF_NOT(s_has(r, "not an IP address"));
    free(r);

    r = s_http(port, "GET", "/api/hosts");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "Content-Type: application/json"));
    FAIL_IF_NOT(s_has(r, "\"ip\": \"172.16.0.10\""));
    free(r);

    r = s_http(port, "GET", "/api/host/172.16.0.10");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "\"provides\": ["));
    FAIL_IF_NOT(s_has(r, "\"name\": \"postgresql\""));
    free(r);

    r = s_http(port, "GET", "/api/host/10.9.9.9");
    FAIL_IF_NOT(s_status(r) == 404);
    FAIL_IF_NOT(s_has(r, "application/json"));
    free(r);

    r = s_http(port, "GET", "/api/export");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "\"edges\": ["));
    FAIL_IF_NOT(s_has(r, "\"client_ip\": \"10.3.0.20\""));
    free(r);

    r = s_http(port, "GET", "/nope");
    FAIL_IF_NOT(s_status(r) == 404);
    free(r);

    r = s_http(port, "POST", "/"); /* errors are HTML pages outside /api/ */
    FAIL_IF_NOT(s_status(r) == 405);
    FAIL_IF_NOT(s_has(r, "Content-Type: text/html; charset=utf-8"));
    FAIL_IF_NOT(s_has(r, "<!DOCTYPE html>"));
    free(r);

    r = s_http(port, "POST", "/api/hosts"); /* and JSON under it */
    FAIL_IF_NOT(s_status(r) == 405);
    FAIL_IF_NOT(s_has(r, "Content-Type: application/json"));
    FAIL_IF_NOT(s_has(r, "{\"error\": \"only GET and HEAD\"}"));
    free(r);

    rep_server_stop(&srv);
    FAIL_IF_NOT(srv == NULL);
    rep_server_stop(&srv);
    tu_db_rm(db);
    PASS;
}

TEST(start_errors)
{
    struct rep_config cfg = {.db_path = "/nonexistent/x.db", .listen = "127.0.0.1:0"};
    FAIL_IF(rep_server_start(&cfg) != NULL);
    char db[256];
    snprintf(db, sizeof(db), "/tmp/renkei_test_rep_http_e_%d.db", (int)getpid());
    tu_db_rm(db);
    FAIL_IF_NOT(s_build(db) == 0);
    cfg.db_path = db;
    cfg.listen = "no-port-here";
    FAIL_IF(rep_server_start(&cfg) != NULL);
    cfg.listen = "127.0.0.1:99999";
    FAIL_IF(rep_server_start(&cfg) != NULL);
    /* port in use */
    cfg.listen = "127.0.0.1:0";
    struct rep_server *a = rep_server_start(&cfg);
    FAIL_IF_NOT(a);
    char l[64];
    snprintf(l, sizeof(l), "127.0.0.1:%u", rep_server_port(a));
    cfg.listen = l;
    FAIL_IF(rep_server_start(&cfg) != NULL);
    rep_server_stop(&a);
    tu_db_rm(db);
    PASS;
}

TEST_MAIN(TEST_ENTRY(routes) TEST_ENTRY(start_errors))
