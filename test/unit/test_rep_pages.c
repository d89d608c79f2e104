/* SPDX-License-Identifier: MIT
 * test_rep_pages: the HTML report over HTTP on a hand-made database (151
 * hosts with a server, 150 clients in two sites, one host of kind unknown,
 * a SYN flood, node statistics of a running pipeline): every page's status
 * and content, paging, sorting, search (exact address, CIDR, name, service),
 * filters, the unknown fold, escaping of names and of request values,
 * redirects, CSV, the monitor's JSON and live script, /static/ names.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmn_ip.h"
#include "db_testutil.h"
#include "harness.h"
#include "mrg_db.h"
#include "rep_http.h"

#define NS       1000000000ull
#define NCLIENTS 150

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
    static struct cmn_session_rec s[NCLIENTS + 1];
    memset(s, 0, sizeof(s));
    for (int i = 0; i < NCLIENTS; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "10.3.0.%d", i + 1);
        cmn_ip_parse(ip, s[i].a_ip);
        cmn_ip_parse("172.16.0.10", s[i].b_ip);
        s[i].a_port = 50000;
        s[i].b_port = 5432;
        s[i].proto = 6;
        s[i].flags = CMN_SESS_A_INIT;
        s[i].pkts[0] = 10;
        s[i].pkts[1] = 20;
        s[i].bytes[0] = 1000 + (uint64_t)i;
        s[i].bytes[1] = 25000 * (uint64_t)(i + 1);
        s[i].first_ns = 1767225600ull * NS;
        s[i].last_ns = 1767225700ull * NS;
    }
    /* a probe of a closed port: no edge, its source is of kind unknown */
    struct cmn_session_rec *u = &s[NCLIENTS];
    cmn_ip_parse("172.16.0.10", u->a_ip);
    cmn_ip_parse("203.0.113.9", u->b_ip);
    u->a_port = 9999;
    u->b_port = 40000;
    u->proto = 6;
    u->flags = CMN_SESS_B_INIT;
    u->pkts[1] = 1;
    u->bytes[1] = 40;
    u->first_ns = u->last_ns = 1767225650ull * NS;
    struct cmn_endpoint_rec e;
    memset(&e, 0, sizeof(e));
    cmn_ip_parse("172.16.0.10", e.ip);
    e.proto = 6;
    e.port = 5432;
    e.role = CMN_ROLE_SERVER;
    e.confidence = 0.9f;
    e.peers = NCLIENTS;
    struct cmn_event_rec ev;
    memset(&ev, 0, sizeof(ev));
    cmn_ip_parse("172.16.0.10", ev.target_ip);
    ev.port = 5432;
    ev.proto = 6;
    ev.kind = CMN_EVENT_SYN_FLOOD;
    ev.source_count = 5000;
    ev.packets = 90000;
    ev.first_ns = 1767225600ull * NS;
    ev.last_ns = 1767225630ull * NS;
    struct mrg_part part = {.sessions = s,
                            .n_sessions = NCLIENTS + 1,
                            .endpoints = &e,
                            .n_endpoints = 1,
                            .events = &ev,
                            .n_events = 1};
    int rc = mrg_db_commit_epoch(db, 0, 60 * NS, true, &part, 1, NULL);
    if (rc == 0 && mrg_db_load_hosts_file(db, hf) != 1)
        rc = -1;
    mrg_db_close(&db);
    unlink(hf);
    if (rc != 0)
        return rc;
    /* a running pipeline's statistics */
    sqlite3 *w = NULL;
    if (sqlite3_open(path, &w) != SQLITE_OK)
        rc = -1;
    if (rc == 0 &&
        sqlite3_exec(w,
                     "UPDATE meta SET value = 'running' WHERE key = 'run_state';"
                     "INSERT OR REPLACE INTO meta(key, value) VALUES('run_state', 'running');"
                     "INSERT INTO node_stats VALUES('tracker', 0, 'tcp://t0', 'records_received',"
                     " 4242, 0, '2026-01-01T00:01:00Z'), ('tracker', 0, 'tcp://t0',"
                     " 'drop_memcap', 7, 0, '2026-01-01T00:01:00Z'), ('collector', 1, 'eth0',"
                     " 'records_sent', 4300, 0, '2026-01-01T00:01:00Z');",
                     NULL, NULL, NULL) != SQLITE_OK)
        rc = -1;
    sqlite3_close(w);
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

/* The response body after the headers. */
static const char *s_body(const char *resp)
{
    const char *b = resp ? strstr(resp, "\r\n\r\n") : NULL;
    return b ? b + 4 : "";
}

/* `a` appears before `b` in the body. */
static bool s_before(const char *resp, const char *a, const char *b)
{
    const char *x = strstr(s_body(resp), a), *y = strstr(s_body(resp), b);
    return x && y && x < y;
}

static struct rep_server *s_start(const char *db, const char *dir, const char *sites)
{
    struct rep_config cfg = {
        .db_path = db, .listen = "127.0.0.1:0", .sites_path = sites, .static_dir = dir};
    return rep_server_start(&cfg);
}

#define GET(path)                                                                                  \
    do {                                                                                           \
        free(r);                                                                                   \
        r = s_http(port, "GET", path);                                                             \
    } while (0)

TEST(pages)
{
    char db[256], sites[300], dir[300], js[340];
    snprintf(db, sizeof(db), "/tmp/renkei_test_rep_pages_%d.db", (int)getpid());
    snprintf(sites, sizeof(sites), "%s.sites", db);
    snprintf(dir, sizeof(dir), "%s.static", db);
    snprintf(js, sizeof(js), "%s/x.js", dir);
    tu_db_rm(db);
    FAIL_IF_NOT(s_build(db) == 0);
    FILE *f = fopen(sites, "w");
    FAIL_IF_NOT(f);
    fputs("dc-east datacenter 172.16.0.0/16\noffice office 10.3.0.0/16\n", f);
    fclose(f);
    mkdir(dir, 0700);
    f = fopen(js, "w");
    FAIL_IF_NOT(f);
    fputs("var x = 1;\n", f);
    fclose(f);
    struct rep_server *srv = s_start(db, dir, sites);
    FAIL_IF_NOT(srv);
    uint16_t port = rep_server_port(srv);
    char *r = NULL;

    /* overview */
    GET("/");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "Top services by clients"));
    FAIL_IF_NOT(s_has(r, "href=\"/service/172.16.0.10/tcp/5432\">tcp/5432 (postgresql)"));
    FAIL_IF_NOT(s_has(r, "<a href=\"/impact\">Impact</a>")); /* the shared navigation */
    FAIL_IF_NOT(s_has(r, "Content-Security-Policy: default-src 'self'"));
    FAIL_IF_NOT(s_has(r, "syn_flood"));
    FAIL_IF(s_has(r, "<b>db1</b>"));

    /* host list: paged, servers first, unknown folded, names escaped */
    GET("/hosts");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "rows 1–100 of 151"));
    FAIL_IF_NOT(s_before(r, "/host/172.16.0.10\"", "/host/10.3.0."));
    FAIL_IF_NOT(s_has(r, "&lt;b&gt;db1&lt;/b&gt;"));
    FAIL_IF(s_has(r, "<b>db1</b>"));
    FAIL_IF(s_has(r, "/host/203.0.113.9\""));
    FAIL_IF_NOT(s_has(r, "href=\"/hosts?kind=unknown\""));
    FAIL_IF_NOT(s_has(r, "href=\"/hosts?offset=100\">next"));
    FAIL_IF_NOT(s_has(r, "href=\"/site/dc-east\""));
    GET("/hosts?offset=100");
    FAIL_IF_NOT(s_has(r, "rows 101–151 of 151"));
    FAIL_IF_NOT(s_has(r, "+ 1 hosts of kind unknown"));
    GET("/hosts?kind=unknown");
    FAIL_IF_NOT(s_has(r, "rows 1–1 of 1"));
    FAIL_IF_NOT(s_has(r, "/host/203.0.113.9\""));
    /* sort links, both ways; the sort link drops the offset */
    GET("/hosts?sort=ip&order=asc");
    FAIL_IF_NOT(s_before(r, "/host/10.3.0.1\"", "/host/10.3.0.2\""));
    FAIL_IF_NOT(s_has(r, "href=\"/hosts?sort=ip&amp;order=desc\""));
    GET("/hosts?sort=volume&offset=100");
    FAIL_IF_NOT(s_has(r, "href=\"/hosts?sort=volume&amp;order=asc\""));
    GET("/hosts?sort=volume");
    FAIL_IF_NOT(s_before(r, "/host/172.16.0.10\"", "/host/10.3.0.150\""));
    FAIL_IF_NOT(s_before(r, "/host/10.3.0.150\"", "/host/10.3.0.149\""));
    GET("/hosts?sort=volume&order=asc");
    FAIL_IF_NOT(s_before(r, "/host/10.3.0.1\"", "/host/10.3.0.2\""));
    GET("/hosts?sort=nonsense&order=sideways"); /* the default order, no error */
    FAIL_IF_NOT(s_status(r) == 200);
    /* search: exact address, CIDR, name, service by number and by name */
    GET("/hosts?q=172.16.0.10");
    FAIL_IF_NOT(s_status(r) == 303);
    FAIL_IF_NOT(s_has(r, "Location: /host/172.16.0.10"));
    GET("/hosts?q=10.3.0.0%2F25");
    FAIL_IF_NOT(s_has(r, "rows 1–100 of 127"));
    GET("/hosts?q=db1");
    FAIL_IF_NOT(s_has(r, "rows 1–1 of 1"));
    GET("/hosts?q=postgresql");
    FAIL_IF_NOT(s_has(r, "rows 1–1 of 1"));
    GET("/hosts?q=tcp%2F5432");
    FAIL_IF_NOT(s_has(r, "rows 1–1 of 1"));
    GET("/hosts?q=10.3.");
    FAIL_IF_NOT(s_has(r, "rows 1–100 of 150")); /* an address prefix */
    GET("/hosts?site=office&kind=client");
    FAIL_IF_NOT(s_has(r, "rows 1–100 of 150"));
    GET("/hosts?service=tcp%2F5432&network=172.16.0.0%2F24");
    FAIL_IF_NOT(s_has(r, "rows 1–1 of 1"));
    GET("/hosts?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF(s_has(r, "<script>alert"));
    FAIL_IF_NOT(s_has(r, "&lt;script&gt;alert(1)"));

    /* one host: table 1 of the paper, paged clients, events, chart */
    GET("/host/172.16.0.10");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "from hosts file"));
    FAIL_IF_NOT(s_has(r, "Services provided"));
    FAIL_IF_NOT(s_has(r, "peers 150"));
    FAIL_IF_NOT(s_has(r, "Clients of its services"));
    FAIL_IF_NOT(s_has(r, "rows 1–100 of 150"));
    FAIL_IF_NOT(s_has(r, "href=\"/host/172.16.0.10?coffset=100\""));
    FAIL_IF_NOT(s_has(r, "syn_flood"));
    FAIL_IF_NOT(s_has(r, "5000 sources"));
    FAIL_IF_NOT(s_has(r, "<svg class=chart"));
    FAIL_IF_NOT(s_has(r, "href=\"/site/dc-east\""));
    FAIL_IF(s_has(r, "<b>db1</b>"));
    GET("/host/172.16.0.10?coffset=100");
    FAIL_IF_NOT(s_has(r, "rows 101–150 of 150"));
    GET("/host/10.3.0.7");
    FAIL_IF_NOT(s_has(r, "Services used"));
    FAIL_IF_NOT(s_has(r, "href=\"/host/172.16.0.10\""));
    GET("/host/::ffff:10.3.0.7"); /* one URL per host */
    FAIL_IF_NOT(s_status(r) == 303);
    FAIL_IF_NOT(s_has(r, "Location: /host/10.3.0.7"));
    GET("/host/10.9.9.9");
    FAIL_IF_NOT(s_status(r) == 404);
    FAIL_IF_NOT(s_has(r, "no traffic seen for host"));
    GET("/host/%3Cscript%3E");
    FAIL_IF_NOT(s_status(r) == 404);
    FAIL_IF(s_has(r, "<script>"));

    /* services and one service */
    GET("/services");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "rows 1–1 of 1"));
    GET("/services?q=postgresql");
    FAIL_IF_NOT(s_has(r, "rows 1–1 of 1"));
    GET("/service/172.16.0.10/tcp/5432");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "Role evidence"));
    FAIL_IF_NOT(s_has(r, "Clients by site"));
    FAIL_IF_NOT(s_has(r, "href=\"/site/office\""));
    FAIL_IF_NOT(s_has(r, "rows 1–100 of 150"));
    FAIL_IF_NOT(s_has(r, "What depends on it"));
    FAIL_IF_NOT(s_has(r, "<b class=impaired>150</b> clients impaired"));
    GET("/service/172.16.0.10/6/5432"); /* protocol by number */
    FAIL_IF_NOT(s_status(r) == 200);
    GET("/service/172.16.0.10/tcp/1");
    FAIL_IF_NOT(s_status(r) == 404);
    GET("/service/nonsense");
    FAIL_IF_NOT(s_status(r) == 404);

    /* sites, a site, a network */
    GET("/sites");
    FAIL_IF_NOT(s_has(r, "href=\"/site/dc-east\""));
    FAIL_IF_NOT(s_has(r, "172.16.0.0/16"));
    FAIL_IF_NOT(s_has(r, "href=\"/network/10.3.0.0%2F24\""));
    GET("/site/dc-east");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "Services it offers to other sites"));
    FAIL_IF_NOT(s_has(r, "href=\"/service/172.16.0.10/tcp/5432\""));
    GET("/site/office");
    FAIL_IF_NOT(s_has(r, "Dependencies on other sites"));
    FAIL_IF_NOT(s_has(r, "Sites it depends on"));
    FAIL_IF_NOT(s_has(r, "class=muted>none</td>")); /* it offers nothing */
    FAIL_IF_NOT(s_has(r, "href=\"/site/dc-east\""));
    GET("/site/nowhere");
    FAIL_IF_NOT(s_status(r) == 404);
    GET("/network/172.16.0.0/24");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "Network 172.16.0.0/24"));
    FAIL_IF_NOT(s_has(r, "/host/172.16.0.10\""));
    /* from the map (rep_place): 150 outside clients in 1 network; the
     * office network depends on it through 1 service used by its 150 */
    FAIL_IF_NOT(s_has(r, "Services it offers to other networks (1)"));
    FAIL_IF_NOT(s_has(r, "<td class=n>150</td><td class=n>1</td>"));
    GET("/network/10.3.0.0/24");
    FAIL_IF_NOT(s_has(r, "<td><a href=\"/network/172.16.0.0%2F24\">172.16.0.0/24</a></td>"
                         "<td class=n>1</td><td class=n>150</td>"));
    FAIL_IF_NOT(s_has(r, "Dependencies on other networks (1)"));
    FAIL_IF_NOT(s_has(r, "rows 1–100 of 150"));
    GET("/network/banana");
    FAIL_IF_NOT(s_status(r) == 404);

    /* events, monitor */
    GET("/events");
    FAIL_IF_NOT(s_has(r, "syn_flood"));
    FAIL_IF_NOT(s_has(r, "rows 1–1 of 1"));
    GET("/events?kind=port_scan");
    FAIL_IF_NOT(s_has(r, "no floods or scans detected"));
    GET("/monitor");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "Pipeline"));
    FAIL_IF_NOT(s_has(r, "tcp://t0"));
    FAIL_IF_NOT(s_has(r, ">4242<"));
    FAIL_IF_NOT(s_has(r, "fetch('/monitor.json')")); /* running: live */
    FAIL_IF_NOT(s_has(r, "http-equiv=\"refresh\""));
    GET("/metrics"); /* Prometheus text format of the same counters */
    FAIL_IF_NOT(s_status(r) == 200 && s_has(r, "text/plain; version=0.0.4"));
    FAIL_IF_NOT(s_has(r, "renkei_tracker_records_received{node=\"0\",name=\"tcp://t0\"} 4242\n"));
    FAIL_IF_NOT(s_has(r, "renkei_run_running 1\n"));
    FAIL_IF_NOT(s_has(r, "renkei_node_last_report_seconds{kind=\"tracker\",node=\"0\""));
    GET("/monitor.json");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "Content-Type: application/json"));
    FAIL_IF_NOT(s_has(r, "\"run_state\": \"running\""));
    FAIL_IF_NOT(s_has(r, "[\"tracker\", 0, \"drop_memcap\", 7]"));

    /* impact: form, result, CSV, a bad target */
    GET("/impact");
    FAIL_IF_NOT(s_has(r, "<textarea name=\"fail\""));
    GET("/impact?fail=172.16.0.10&hops=");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "services lost<b class=lost>1</b>"));
    FAIL_IF_NOT(s_has(r, "clients impaired<b class=impaired>150</b>"));
    FAIL_IF_NOT(s_has(r, "href=\"/impact.csv?fail=172.16.0.10\""));
    FAIL_IF_NOT(s_has(r, "-&gt; lost 172.16.0.10 tcp/5432 (postgresql)"));
    GET("/impact?fail=%40dc-east%0A10.3.0.0%2F30");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "<td>@dc-east</td><td>site</td>"));
    GET("/impact?fail=172.16.0.10&alt=172.16.0.10:tcp%2F5432,10.3.0.1:tcp%2F5432");
    FAIL_IF_NOT(s_status(r) == 400); /* no such service 10.3.0.1 tcp/5432: named */
    FAIL_IF_NOT(s_has(r, "10.3.0.1"));
    GET("/impact?fail=172.16.0.10&soft=tcp%2F5432");
    FAIL_IF_NOT(s_has(r, "clients degraded<b class=degraded>150</b>"));
    GET("/impact.csv?fail=172.16.0.10");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "Content-Type: text/csv"));
    FAIL_IF_NOT(s_has(r, "attachment; filename=\"renkei-impact.csv\""));
    GET("/impact?fail=9.9.9.9");
    FAIL_IF_NOT(s_status(r) == 400);
    FAIL_IF_NOT(s_has(r, "9.9.9.9"));
    GET("/impact?fail=%3Cscript%3E");
    FAIL_IF(s_has(r, "<script>"));

    /* graph: data and table; names escaped inside the script data */
    GET("/graph");
    FAIL_IF_NOT(s_status(r) == 200);
    GET("/graph?around=172.16.0.10&hops=1");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "151 hosts"));
    FAIL_IF_NOT(s_has(r, "id=norenderer")); /* this static dir has no sigma.js */
    FAIL_IF_NOT(s_has(r, "rows 1–100 of 150"));
    FAIL_IF(s_has(r, "<b>db1</b>"));
    GET("/graph?service=172.16.0.10%2Ftcp%2F5432&hops=1");
    FAIL_IF_NOT(s_has(r, "151 hosts"));
    GET("/graph?service=172.16.0.10%2Ftcp%2F1");
    FAIL_IF_NOT(s_has(r, "no such host, service or site"));
    GET("/graph?site=office&hops=1");
    FAIL_IF_NOT(s_has(r, "151 hosts"));
    GET("/graph?site=office&hops=0");
    FAIL_IF_NOT(s_has(r, "150 hosts"));

    /* static files: plain names only */
    GET("/static/x.js");
    FAIL_IF_NOT(s_status(r) == 200);
    FAIL_IF_NOT(s_has(r, "text/javascript"));
    FAIL_IF_NOT(s_has(r, "max-age="));
    GET("/static/..%2F..%2Fetc%2Fpasswd");
    FAIL_IF_NOT(s_status(r) == 404);
    GET("/static/.hidden");
    FAIL_IF_NOT(s_status(r) == 404);
    GET("/nope");
    FAIL_IF_NOT(s_status(r) == 404);
    FAIL_IF_NOT(s_has(r, "no such page"));
    free(r);
    rep_server_stop(&srv);
    unlink(js);
    rmdir(dir);
    unlink(sites);
    tu_db_rm(db);
    PASS;
}

TEST_MAIN(TEST_ENTRY(pages))
