/* SPDX-License-Identifier: MIT
 * test_rep_impact: the impact analysis on hand-made maps — a chain of tiers,
 * a diamond, cycles, a shared dependency, a redundant pair and a declared
 * group, soft dependencies, a site failure, hop limits, periods, bad
 * targets — and its three writers. The maps are written straight into the
 * derived tables of a database the merger created, then loaded with
 * rep_graph_load as the CLI does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_sites.h"
#include "db_testutil.h"
#include "harness.h"
#include "mrg_db.h"
#include "rep_db.h"
#include "rep_graph.h"
#include "rep_impact.h"

static char s_path[256];
static sqlite3 *s_db;

static void s_exec(const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(s_db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sql: %s: %s\n", sql, err);
        abort();
    }
}

/* A fresh database with the merger's schema, open read-write in s_db. */
static void s_fresh(const char *tag)
{
    tu_db_path(s_path, sizeof(s_path), "rep_impact", tag);
    struct mrg_db *m = mrg_db_open(s_path);
    if (!m)
        abort();
    mrg_db_close(&m);
    if (sqlite3_open(s_path, &s_db) != SQLITE_OK)
        abort();
}

static void s_host(const char *ip)
{
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT OR IGNORE INTO hosts(ip, kind, packets_out, bytes_out, packets_in, bytes_in,"
             " first_ns, last_ns) VALUES('%s', 'unknown', 0, 0, 0, 0, 1, 2)",
             ip);
    s_exec(sql);
}

static void s_svc(const char *ip, int proto, int port)
{
    char sql[512];
    s_host(ip);
    snprintf(sql, sizeof(sql),
             "INSERT INTO services(ip, proto, port, clients, packets, bytes, confidence,"
             " first_ns, last_ns) VALUES('%s', %d, %d, 0, 0, 0, 0.9, 1, 2)",
             ip, proto, port);
    s_exec(sql);
}

/* client → ip:proto/port with 10 packets and 1000 bytes each way. */
static void s_edge(const char *client, const char *ip, int proto, int port)
{
    char sql[600];
    s_host(client);
    snprintf(sql, sizeof(sql),
             "INSERT INTO edges(client_ip, server_ip, proto, server_port, packets_c2s, bytes_c2s,"
             " packets_s2c, bytes_s2c, sessions, first_ns, last_ns)"
             " VALUES('%s', '%s', %d, %d, 10, 1000, 10, 1000, 1, 1, 2);"
             "UPDATE services SET clients = clients + 1, packets = packets + 20,"
             " bytes = bytes + 2000 WHERE ip = '%s' AND proto = %d AND port = %d",
             client, ip, proto, port, ip, proto, port);
    s_exec(sql);
}

/* Kinds from what the rows say, then the graph. */
static struct rep_graph *s_load(const struct cmn_sites *sites)
{
    s_exec("UPDATE hosts SET kind = CASE"
           " WHEN ip IN (SELECT ip FROM services) AND ip IN (SELECT client_ip FROM edges)"
           "  THEN 'both' WHEN ip IN (SELECT ip FROM services) THEN 'server'"
           " WHEN ip IN (SELECT client_ip FROM edges) THEN 'client' ELSE 'unknown' END");
    sqlite3 *ro = rep_db_open(s_path);
    if (!ro)
        abort();
    struct rep_graph_opts o = {.sites = sites};
    struct rep_graph *g = rep_graph_load(ro, &o);
    rep_db_close(&ro);
    return g;
}

static void s_done(struct rep_graph **g)
{
    rep_graph_destroy(g);
    sqlite3_close(s_db);
    s_db = NULL;
    tu_db_rm(s_path);
}

static struct rep_impact *s_run(const struct rep_graph *g, const char *const *fail, size_t n,
                                int hops)
{
    char err[256];
    struct rep_impact_opts o = {.fail = fail, .nfail = n, .hops = hops};
    struct rep_impact *r = rep_impact_run(g, &o, err, sizeof(err));
    if (!r)
        fprintf(stderr, "  impact: %s\n", err);
    return r;
}

static int s_hstate(const struct rep_impact *r, const char *ip)
{
    uint8_t k[16];
    tu_ip(k, ip);
    long h = rep_graph_host_find(r->g, k);
    return h < 0 ? -1 : r->host_state[h];
}

static int s_sstate(const struct rep_impact *r, const char *ip, int proto, int port)
{
    uint8_t k[16];
    tu_ip(k, ip);
    long h = rep_graph_host_find(r->g, k);
    long v = h < 0 ? -1 : rep_graph_svc_find(r->g, (uint32_t)h, (uint8_t)proto, (uint16_t)port);
    return v < 0 ? -1 : r->svc_state[v];
}

static char *s_chain(const struct rep_impact *r, const char *ip)
{
    uint8_t k[16];
    char *buf = NULL;
    size_t len = 0;
    tu_ip(k, ip);
    FILE *f = open_memstream(&buf, &len);
    rep_impact_chain_text(r, rep_graph_host_find(r->g, k), -1, f);
    fclose(f);
    return buf;
}

/* db ← app ← web ← two PCs. */
static void s_tiers(void)
{
    s_svc("172.16.0.30", 6, 5432);
    s_svc("172.16.0.20", 6, 8080);
    s_svc("172.16.0.10", 6, 443);
    s_edge("172.16.0.20", "172.16.0.30", 6, 5432);
    s_edge("172.16.0.10", "172.16.0.20", 6, 8080);
    s_edge("10.0.0.1", "172.16.0.10", 6, 443);
    s_edge("10.0.0.2", "172.16.0.10", 6, 443);
}

TEST(chain_of_tiers)
{
    s_fresh("chain");
    s_tiers();
    struct rep_graph *g = s_load(NULL);
    FAIL_IF_NOT(g && g->nhosts == 5 && g->nsvcs == 3 && g->nedges == 4);
    const char *t[] = {"172.16.0.30"};
    struct rep_impact *r = s_run(g, t, 1, -1);
    FAIL_IF_NOT(r);
    FAIL_IF_NOT(s_hstate(r, "172.16.0.30") == REP_IS_FAILED);
    FAIL_IF_NOT(s_sstate(r, "172.16.0.30", 6, 5432) == REP_IS_LOST);
    FAIL_IF_NOT(s_hstate(r, "172.16.0.20") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_sstate(r, "172.16.0.20", 6, 8080) == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_hstate(r, "172.16.0.10") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_hstate(r, "10.0.0.1") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_hstate(r, "10.0.0.2") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(r->hops_reached == 3);
    FAIL_IF_NOT(r->sum.hosts_failed == 1 && r->sum.services_lost == 1);
    FAIL_IF_NOT(r->sum.services_impaired == 2 && r->sum.servers_impaired == 2);
    FAIL_IF_NOT(r->sum.clients_impaired == 2 && r->sum.clients_degraded == 0);
    FAIL_IF_NOT(r->sum.packets == 80 && r->sum.bytes == 8000 && r->sum.sessions == 4);
    FAIL_IF_NOT(r->sum.networks == 2 && r->sum.services_whole == 0 && r->sum.hosts_whole == 0);
    char *c = s_chain(r, "10.0.0.1");
    FAIL_IF_NOT(strcmp(c, "failed 172.16.0.30 -> lost 172.16.0.30 tcp/5432 (postgresql) ->"
                          " impaired 172.16.0.20 -> impaired 172.16.0.20 tcp/8080 (http-alt) ->"
                          " impaired 172.16.0.10 -> impaired 172.16.0.10 tcp/443 (https) ->"
                          " impaired 10.0.0.1") == 0);
    free(c);
    rep_impact_destroy(&r);
    FAIL_IF_NOT(r == NULL);
    /* one hop: only the direct client */
    r = s_run(g, t, 1, 1);
    FAIL_IF_NOT(r && s_hstate(r, "172.16.0.20") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_sstate(r, "172.16.0.20", 6, 8080) == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_hstate(r, "172.16.0.10") == REP_IS_WHOLE);
    FAIL_IF_NOT(s_hstate(r, "10.0.0.1") == REP_IS_WHOLE && r->hops_reached == 1);
    rep_impact_destroy(&r);
    /* a PC failing breaks nothing */
    const char *pc[] = {"10.0.0.1"};
    r = s_run(g, pc, 1, -1);
    FAIL_IF_NOT(r && r->sum.hosts_failed == 1 && r->sum.services_lost == 0);
    FAIL_IF_NOT(r->sum.services_whole == 3 && r->sum.hosts_whole == 4);
    rep_impact_destroy(&r);
    rep_impact_destroy(&r); /* NULL is fine */
    s_done(&g);
    PASS;
}

/* pc uses two web servers for https; both use one app. */
TEST(diamond_and_alternative)
{
    s_fresh("diamond");
    s_svc("172.16.0.20", 6, 8080);
    s_svc("172.16.0.10", 6, 443);
    s_svc("172.16.0.11", 6, 443);
    s_edge("172.16.0.10", "172.16.0.20", 6, 8080);
    s_edge("172.16.0.11", "172.16.0.20", 6, 8080);
    s_edge("10.0.0.1", "172.16.0.10", 6, 443);
    s_edge("10.0.0.1", "172.16.0.11", 6, 443);
    s_edge("10.0.0.2", "172.16.0.10", 6, 443);
    struct rep_graph *g = s_load(NULL);
    FAIL_IF_NOT(g);
    const char *web1[] = {"172.16.0.10"};
    struct rep_impact *r = s_run(g, web1, 1, -1);
    FAIL_IF_NOT(r);
    FAIL_IF_NOT(s_hstate(r, "10.0.0.1") == REP_IS_DEGRADED);
    FAIL_IF_NOT(s_hstate(r, "10.0.0.2") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_hstate(r, "172.16.0.11") == REP_IS_WHOLE);
    uint8_t k[16];
    tu_ip(k, "10.0.0.1");
    long h = rep_graph_host_find(g, k);
    FAIL_IF_NOT(h >= 0 && r->host_alt[h] >= 0);
    FAIL_IF_NOT(strcmp(g->hosts[g->svcs[r->host_alt[h]].host].ip, "172.16.0.11") == 0);
    FAIL_IF_NOT(r->sum.clients_degraded == 1 && r->sum.clients_impaired == 1);
    /* the degraded PC lists its dependency with the alternative */
    bool found = false;
    for (size_t i = 0; i < r->ndeps; i++)
        if (g->edges[r->deps[i].edge].client == (uint32_t)h)
            found = r->deps[i].state == REP_IS_DEGRADED && r->deps[i].alt_svc == r->host_alt[h];
    FAIL_IF_NOT(found);
    rep_impact_destroy(&r);
    /* the app below both: every path is down, the PC is impaired */
    const char *app[] = {"172.16.0.20"};
    r = s_run(g, app, 1, -1);
    FAIL_IF_NOT(r && s_hstate(r, "172.16.0.10") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_hstate(r, "172.16.0.11") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_hstate(r, "10.0.0.1") == REP_IS_IMPAIRED);
    rep_impact_destroy(&r);
    s_done(&g);
    PASS;
}

TEST(cycle_ends)
{
    s_fresh("cycle");
    s_svc("172.16.0.1", 6, 1000);
    s_svc("172.16.0.1", 6, 1001);
    s_svc("172.16.0.2", 6, 2000);
    s_edge("172.16.0.1", "172.16.0.2", 6, 2000);
    s_edge("172.16.0.2", "172.16.0.1", 6, 1000);
    s_edge("10.0.0.9", "172.16.0.1", 6, 1001);
    struct rep_graph *g = s_load(NULL);
    FAIL_IF_NOT(g);
    const char *a[] = {"172.16.0.1"};
    struct rep_impact *r = s_run(g, a, 1, -1);
    FAIL_IF_NOT(r && s_hstate(r, "172.16.0.2") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_sstate(r, "172.16.0.1", 6, 1000) == REP_IS_LOST);
    FAIL_IF_NOT(s_sstate(r, "172.16.0.2", 6, 2000) == REP_IS_IMPAIRED);
    rep_impact_destroy(&r);
    /* one service of a fails: b goes, then a itself, then a's other service */
    const char *svc[] = {"172.16.0.1:tcp/1000"};
    r = s_run(g, svc, 1, -1);
    FAIL_IF_NOT(r && r->targets[0].matched == 1 && strcmp(r->targets[0].kind, "service") == 0);
    FAIL_IF_NOT(s_hstate(r, "172.16.0.2") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_hstate(r, "172.16.0.1") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_sstate(r, "172.16.0.1", 6, 1000) == REP_IS_LOST);
    FAIL_IF_NOT(s_sstate(r, "172.16.0.1", 6, 1001) == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_hstate(r, "10.0.0.9") == REP_IS_IMPAIRED);
    char *c = s_chain(r, "10.0.0.9");
    FAIL_IF_NOT(strncmp(c, "lost 172.16.0.1 tcp/1000", 24) == 0);
    free(c);
    rep_impact_destroy(&r);
    s_done(&g);
    PASS;
}

TEST(shared_dependency)
{
    s_fresh("shared");
    s_svc("172.16.0.30", 6, 5432);
    s_svc("172.16.0.20", 6, 8080);
    s_svc("172.16.0.21", 6, 8081);
    s_edge("172.16.0.20", "172.16.0.30", 6, 5432);
    s_edge("172.16.0.21", "172.16.0.30", 6, 5432);
    s_edge("10.0.0.1", "172.16.0.20", 6, 8080);
    s_edge("10.0.0.2", "172.16.0.21", 6, 8081);
    struct rep_graph *g = s_load(NULL);
    const char *t[] = {"172.16.0.30"};
    struct rep_impact *r = s_run(g, t, 1, -1);
    FAIL_IF_NOT(r && s_hstate(r, "172.16.0.20") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_hstate(r, "172.16.0.21") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_hstate(r, "10.0.0.1") == REP_IS_IMPAIRED && r->sum.clients_impaired == 2);
    rep_impact_destroy(&r);
    s_done(&g);
    PASS;
}

/* pc1 uses both DNS servers, pc2 only the first. */
TEST(redundant_pair_and_group)
{
    s_fresh("pair");
    s_svc("172.16.0.53", 17, 53);
    s_svc("172.16.0.54", 17, 53);
    s_edge("10.0.0.1", "172.16.0.53", 17, 53);
    s_edge("10.0.0.1", "172.16.0.54", 17, 53);
    s_edge("10.0.0.2", "172.16.0.53", 17, 53);
    struct rep_graph *g = s_load(NULL);
    const char *one[] = {"172.16.0.53"};
    struct rep_impact *r = s_run(g, one, 1, -1);
    FAIL_IF_NOT(r && s_hstate(r, "10.0.0.1") == REP_IS_DEGRADED);
    FAIL_IF_NOT(s_hstate(r, "10.0.0.2") == REP_IS_IMPAIRED);
    rep_impact_destroy(&r);
    const char *both[] = {"172.16.0.53", "172.16.0.54"};
    r = s_run(g, both, 2, -1);
    FAIL_IF_NOT(r && s_hstate(r, "10.0.0.1") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_hstate(r, "10.0.0.2") == REP_IS_IMPAIRED && r->sum.services_lost == 2);
    rep_impact_destroy(&r);
    /* a declared group: pc2 never used .54 but it stands in */
    const char *grp[] = {"172.16.0.53:udp/53,172.16.0.54:udp/53"};
    char err[256];
    struct rep_impact_opts o = {.fail = one, .nfail = 1, .hops = -1, .alt = grp, .nalt = 1};
    r = rep_impact_run(g, &o, err, sizeof(err));
    FAIL_IF_NOT(r && s_hstate(r, "10.0.0.2") == REP_IS_DEGRADED);
    rep_impact_destroy(&r);
    /* the same group as a CIDR */
    const char *grp2[] = {"172.16.0.52/30:udp/53"};
    o.alt = grp2;
    r = rep_impact_run(g, &o, err, sizeof(err));
    FAIL_IF_NOT(r && s_hstate(r, "10.0.0.2") == REP_IS_DEGRADED);
    rep_impact_destroy(&r);
    /* a group naming a service that does not exist */
    const char *bad[] = {"172.16.0.53:udp/53,172.16.0.99:udp/53"};
    o.alt = bad;
    r = rep_impact_run(g, &o, err, sizeof(err));
    FAIL_IF(r);
    FAIL_IF_NOT(strstr(err, "172.16.0.99") != NULL);
    s_done(&g);
    PASS;
}

TEST(soft_dependency)
{
    s_fresh("soft");
    s_svc("172.16.0.5", 17, 514);
    s_svc("172.16.0.10", 6, 443);
    s_edge("172.16.0.10", "172.16.0.5", 17, 514);
    s_edge("10.0.0.1", "172.16.0.10", 6, 443);
    struct rep_graph *g = s_load(NULL);
    const char *t[] = {"172.16.0.5"};
    struct rep_impact *r = s_run(g, t, 1, -1);
    FAIL_IF_NOT(r && s_hstate(r, "172.16.0.10") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_hstate(r, "10.0.0.1") == REP_IS_IMPAIRED);
    rep_impact_destroy(&r);
    const char *soft[] = {"udp/514"};
    char err[256];
    struct rep_impact_opts o = {.fail = t, .nfail = 1, .hops = -1, .soft = soft, .nsoft = 1};
    r = rep_impact_run(g, &o, err, sizeof(err));
    FAIL_IF_NOT(r && s_hstate(r, "172.16.0.10") == REP_IS_DEGRADED);
    FAIL_IF_NOT(s_hstate(r, "10.0.0.1") == REP_IS_WHOLE && r->ndeps == 1 && r->deps[0].soft);
    rep_impact_destroy(&r);
    const char *soft2[] = {"172.16.0.5:udp/514"};
    o.soft = soft2;
    r = rep_impact_run(g, &o, err, sizeof(err));
    FAIL_IF_NOT(r && s_hstate(r, "172.16.0.10") == REP_IS_DEGRADED);
    rep_impact_destroy(&r);
    const char *soft3[] = {"udp"};
    o.soft = soft3;
    FAIL_IF(rep_impact_run(g, &o, err, sizeof(err)));
    FAIL_IF_NOT(strstr(err, "'udp'") != NULL);
    s_done(&g);
    PASS;
}

TEST(site_failure)
{
    static const char text[] = "# sites\n"
                               "dc-a datacenter 172.16.0.0/24\n"
                               "dc-b datacenter 172.16.1.0/24 2001:db8:1::/48\n"
                               "office office 10.0.0.0/8\n";
    struct cmn_sites *sites = cmn_sites_new();
    FAIL_IF_NOT(cmn_sites_parse(sites, text, sizeof(text) - 1, "test") == 3);
    s_fresh("site");
    s_svc("172.16.0.30", 6, 5432);
    s_svc("172.16.1.30", 6, 5432);
    s_svc("172.16.1.20", 6, 8080);
    s_svc("2001:db8:1::20", 6, 8443);
    s_edge("172.16.1.20", "172.16.0.30", 6, 5432);
    s_edge("10.0.0.1", "172.16.1.20", 6, 8080);
    s_edge("10.0.0.2", "2001:db8:1::20", 6, 8443);
    s_edge("10.0.0.2", "172.16.1.30", 6, 5432);
    struct rep_graph *g = s_load(sites);
    FAIL_IF_NOT(g);
    const char *t[] = {"@dc-a"};
    struct rep_impact *r = s_run(g, t, 1, -1);
    FAIL_IF_NOT(r && r->targets[0].matched == 1 && strcmp(r->targets[0].kind, "site") == 0);
    FAIL_IF_NOT(s_hstate(r, "172.16.1.20") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_hstate(r, "10.0.0.1") == REP_IS_IMPAIRED);
    FAIL_IF_NOT(s_hstate(r, "10.0.0.2") == REP_IS_WHOLE);
    FAIL_IF_NOT(r->sum.sites == 3); /* dc-a failed, dc-b and office hit */
    rep_impact_destroy(&r);
    const char *b[] = {"@dc-b"};
    r = s_run(g, b, 1, -1);
    FAIL_IF_NOT(r && r->targets[0].matched == 3); /* IPv4 and IPv6 hosts of dc-b */
    FAIL_IF_NOT(s_hstate(r, "10.0.0.2") == REP_IS_IMPAIRED);
    /* the JSON writer names the sites */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    FAIL_IF_NOT(rep_impact_write_json(r, f) == 0);
    fclose(f);
    FAIL_IF_NOT(strstr(buf, "\"site\": \"office\"") && strstr(buf, "\"state\": \"failed\""));
    free(buf);
    rep_impact_destroy(&r);
    const char *cidr[] = {"172.16.0.0/23"};
    r = s_run(g, cidr, 1, -1);
    FAIL_IF_NOT(r && r->targets[0].matched == 3 && r->sum.hosts_failed == 3);
    rep_impact_destroy(&r);
    cmn_sites_destroy(&sites);
    s_done(&g);
    PASS;
}

TEST(bad_targets)
{
    s_fresh("bad");
    s_tiers();
    s_exec("INSERT INTO host_names(ip, name) VALUES('172.16.0.30', 'db1.example');"
           "UPDATE hosts SET name = 'db1.example' WHERE ip = '172.16.0.30'");
    struct rep_graph *g = s_load(NULL);
    char err[256];
    static const struct {
        const char *target, *expect;
    } bad[] = {
        {"172.16.9.9", "no host 172.16.9.9"},
        {"@nowhere", "unknown site 'nowhere'"},
        {"172.16.0.30:tcp/80", "no service tcp/80 on 172.16.0.30"},
        {"192.168.0.0/16", "matches no host"},
        {"nosuchname", "matches no host"},
        {"1.2.3.4/99", "bad CIDR"},
        {"", "empty target"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *t[] = {bad[i].target};
        struct rep_impact_opts o = {.fail = t, .nfail = 1, .hops = -1};
        struct rep_impact *r = rep_impact_run(g, &o, err, sizeof(err));
        if (r || !strstr(err, bad[i].expect)) {
            fprintf(stderr, "  target '%s': got '%s'\n", bad[i].target, r ? "a result" : err);
            rep_impact_destroy(&r);
            FAIL_IF(1);
        }
    }
    struct rep_impact_opts none = {.hops = -1};
    FAIL_IF(rep_impact_run(g, &none, err, sizeof(err)));
    /* a host name, whole or its first label */
    const char *n1[] = {"db1.example"}, *n2[] = {"DB1"};
    struct rep_impact *r = s_run(g, n1, 1, -1);
    FAIL_IF_NOT(r && strcmp(r->targets[0].kind, "name") == 0 && r->sum.hosts_failed == 1);
    rep_impact_destroy(&r);
    r = s_run(g, n2, 1, -1);
    FAIL_IF_NOT(r && r->sum.hosts_failed == 1);
    rep_impact_destroy(&r);
    s_done(&g);
    PASS;
}

TEST(writers)
{
    s_fresh("writers");
    s_tiers();
    s_svc("172.16.0.40", 6, 22);
    s_edge("10.0.0.1", "172.16.0.40", 6, 22);
    struct rep_graph *g = s_load(NULL);
    const char *t[] = {"172.16.0.30"};
    struct rep_impact *r = s_run(g, t, 1, -1);
    FAIL_IF_NOT(r);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    FAIL_IF_NOT(rep_impact_write_csv(r, f) == 0);
    fclose(f);
    FAIL_IF_NOT(strncmp(buf,
                        "record,ip,proto,port,name,kind,site,network,state,hop,"
                        "alternative,chain\r\n",
                        68) == 0);
    FAIL_IF_NOT(strstr(buf, "service,172.16.0.30,tcp,5432,postgresql,,,172.16.0.0/24,lost,0,,"));
    FAIL_IF_NOT(strstr(buf, "host,10.0.0.1,,,,client,,10.0.0.0/24,impaired,3,,failed"));
    FAIL_IF_NOT(strstr(buf, "whole_service,172.16.0.40,tcp,22,ssh,"));
    free(buf);
    f = open_memstream(&buf, &len);
    FAIL_IF_NOT(rep_impact_write_text(r, f) == 0);
    fclose(f);
    FAIL_IF_NOT(strstr(buf, "Services: 1 lost, 2 impaired, 1 whole"));
    FAIL_IF_NOT(strstr(buf, "Services that stay whole:\n  172.16.0.40 tcp/22 (ssh)"));
    free(buf);
    f = open_memstream(&buf, &len);
    FAIL_IF_NOT(rep_impact_write_json(r, f) == 0);
    fclose(f);
    FAIL_IF_NOT(strstr(buf, "\"hops\": null, \"hops_reached\": 3"));
    FAIL_IF_NOT(strstr(buf, "\"whole_services\": [\n  {\"ip\": \"172.16.0.40\""));
    free(buf);
    rep_impact_destroy(&r);
    s_done(&g);
    PASS;
}

TEST(time_parse)
{
    int64_t ns = 0, ref = 1767229200LL * 1000000000LL; /* 2026-01-01T01:00:00Z */
    FAIL_IF_NOT(rep_time_parse("2026-01-01T00:00:00Z", ref, &ns) == 0 &&
                ns == 1767225600LL * 1000000000LL);
    FAIL_IF_NOT(rep_time_parse("2026-01-01", ref, &ns) == 0 && ns == 1767225600LL * 1000000000LL);
    FAIL_IF_NOT(rep_time_parse("2026-01-01T00:30", ref, &ns) == 0 &&
                ns == 1767227400LL * 1000000000LL);
    FAIL_IF_NOT(rep_time_parse("30m", ref, &ns) == 0 && ns == 1767227400LL * 1000000000LL);
    FAIL_IF_NOT(rep_time_parse("1h", ref, &ns) == 0 && ns == 1767225600LL * 1000000000LL);
    FAIL_IF_NOT(rep_time_parse("2000-02-29T12:00:00Z", 0, &ns) == 0 &&
                ns == 951825600LL * 1000000000LL);
    const char *bad[] = {"",    "x",   "2026-13-01", "2026-01-01T25:00",
                         "10y", "-1h", "2026-1-1",   "2026-01-01T00:00:00+09"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        FAIL_IF_NOT(rep_time_parse(bad[i], ref, &ns) == -EINVAL);
    PASS;
}

TEST_MAIN(TEST_ENTRY(chain_of_tiers) TEST_ENTRY(diamond_and_alternative) TEST_ENTRY(cycle_ends)
              TEST_ENTRY(shared_dependency) TEST_ENTRY(redundant_pair_and_group)
                  TEST_ENTRY(soft_dependency) TEST_ENTRY(site_failure) TEST_ENTRY(bad_targets)
                      TEST_ENTRY(writers) TEST_ENTRY(time_parse))
