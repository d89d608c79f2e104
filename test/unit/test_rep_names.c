/* SPDX-License-Identifier: MIT
 * test_rep_names: names from the merger's tables to the reports. Through
 * mrg_db: DnsNames upserts (first/last/seen, rtype precedence, the per-IP
 * cap, invalid entries), service_names from a services file; through
 * rep_names: hosts file beats DNS, the latest DNS name wins, services file
 * beats rep_port_name, a database without the new tables (older version)
 * still gives rep_port_name and no host names; the JSON export carries
 * name and name_source. Doubles as the rep_names usage example.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmn_dns.h"
#include "cmn_names.h"
#include "db_testutil.h"
#include "harness.h"
#include "mrg_db.h"
#include "rep_export.h"
#include "rep_names.h"
#include "rep_ports.h"

/* One DnsNames message of n entries (ips/names/rtypes/ts parallel arrays). */
static int s_put(struct mrg_db *db, size_t n, const char *const *ips, const char *const *names,
                 const uint32_t *rtypes, const uint64_t *ts, struct mrg_dns_stats *st)
{
    Renkei__DnsName dn[32];
    Renkei__DnsName *dp[32];
    uint8_t ip[32][16];
    for (size_t i = 0; i < n; i++) {
        renkei__dns_name__init(&dn[i]);
        tu_ip(ip[i], ips[i]);
        dn[i].ip.data = ip[i];
        dn[i].ip.len = 16;
        dn[i].name = (char *)(uintptr_t)names[i];
        dn[i].rtype = rtypes[i];
        dn[i].ts_ns = ts[i];
        dp[i] = &dn[i];
    }
    Renkei__DnsNames m = RENKEI__DNS_NAMES__INIT;
    m.n_names = n;
    m.names = dp;
    return mrg_db_put_dns_names(db, &m, MRG_DNS_NAMES_PER_IP, 0, st);
}

TEST(dns_upsert_and_names)
{
    char path[256], hf[300];
    tu_db_path(path, sizeof(path), "rep_names", "main");
    snprintf(hf, sizeof(hf), "%s.hosts", path);
    FILE *f = fopen(hf, "w");
    FAIL_IF_NOT(f);
    fputs("10.0.0.1 db-primary.corp\n", f);
    fclose(f);
    struct mrg_db *db = mrg_db_open(path);
    FAIL_IF_NOT(db);
    sqlite3 *h = mrg_db_handle(db);
    FAIL_IF_NOT(mrg_db_load_hosts_file(db, hf) == 1);

    struct mrg_dns_stats st = {0};
    static const char *const ip1[] = {"10.0.0.1", "10.0.0.2", "10.0.0.2", "2001:db8::5",
                                      "10.0.0.2"};
    static const char *const nm1[] = {"db1.example", "web.example", "www.example", "v6.example",
                                      "web.example"};
    static const uint32_t rt1[] = {CMN_DNS_A, CMN_DNS_CNAME, CMN_DNS_A, CMN_DNS_AAAA, CMN_DNS_A};
    static const uint64_t ts1[] = {100, 200, 300, 400, 150};
    FAIL_IF_NOT(s_put(db, 5, ip1, nm1, rt1, ts1, &st) == 0);
    FAIL_IF_NOT(st.stored == 5 && st.capped == 0 && st.invalid == 0);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM dns_names") == 4);
    /* the repeat: min first, max last, seen 2, and A outranks the CNAME it was */
    FAIL_IF_NOT(tu_q(h, "SELECT first_ns * 1000 + last_ns FROM dns_names"
                        " WHERE ip = '10.0.0.2' AND name = 'web.example'") == 150 * 1000 + 200);
    FAIL_IF_NOT(tu_q(h, "SELECT seen FROM dns_names WHERE name = 'web.example'") == 2);
    FAIL_IF_NOT(tu_q(h, "SELECT rtype = 'A' FROM dns_names WHERE name = 'web.example'") == 1);
    FAIL_IF_NOT(tu_q(h, "SELECT rtype = 'AAAA' FROM dns_names WHERE ip = '2001:db8::5'") == 1);

    /* cap: 16 names for one address, the 17th refused; invalid entries counted */
    const char *ips[20];
    const char *nms[20];
    uint32_t rts[20];
    uint64_t tss[20];
    char nbuf[20][32];
    for (int i = 0; i < 18; i++) {
        ips[i] = "10.9.9.9";
        snprintf(nbuf[i], sizeof(nbuf[i]), "n%02d.example", i);
        nms[i] = nbuf[i];
        rts[i] = CMN_DNS_PTR;
        tss[i] = 1000 + (uint64_t)i;
    }
    nms[17] = "bad name"; /* a space: not what cmn_dns produces */
    memset(&st, 0, sizeof(st));
    FAIL_IF_NOT(s_put(db, 18, ips, nms, rts, tss, &st) == 0);
    FAIL_IF_NOT(st.stored == 16 && st.capped == 1 && st.invalid == 1);
    /* an existing name of a full address is still refreshed */
    memset(&st, 0, sizeof(st));
    FAIL_IF_NOT(s_put(db, 1, ips, nms, rts, tss, &st) == 0 && st.stored == 1);

    /* services file */
    struct cmn_service_entry *se = NULL;
    char err[256];
    static const char svc[] = "tcp/50020 order-api\nmy-dns 53/udp\n";
    long ns = cmn_names_parse_services(svc, sizeof(svc) - 1, "t", &se, err, sizeof(err));
    FAIL_IF_NOT(ns == 2);
    FAIL_IF_NOT(mrg_db_load_services(db, se, (size_t)ns) == 0);
    free(se);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM service_names") == 2);

    /* the reporter's view */
    struct rep_names *n = rep_names_load(h);
    const char *src = "x";
    FAIL_IF_NOT(strcmp(rep_names_host(n, "10.0.0.1", &src), "db-primary.corp") == 0);
    FAIL_IF_NOT(strcmp(src, "hosts_file") == 0);
    FAIL_IF_NOT(strcmp(rep_names_host(n, "10.0.0.2", &src), "www.example") == 0); /* latest */
    FAIL_IF_NOT(strcmp(src, "dns") == 0);
    FAIL_IF_NOT(strcmp(rep_names_host(n, "2001:db8::5", NULL), "v6.example") == 0);
    FAIL_IF_NOT(rep_names_host(n, "10.0.0.77", &src) == NULL && src == NULL);
    char b[64], b2[64];
    FAIL_IF_NOT(strcmp(rep_names_service(n, 6, 50020, b, sizeof(b)), "order-api") == 0);
    FAIL_IF_NOT(strcmp(rep_names_service(n, 17, 53, b, sizeof(b)), "my-dns") == 0);
    const char *pg = rep_port_name(6, 5432, b2, sizeof(b2));
    const char *got = rep_names_service(n, 6, 5432, b, sizeof(b));
    FAIL_IF_NOT((pg == NULL && got == NULL) || (pg && got && strcmp(pg, got) == 0));
    FAIL_IF_NOT(rep_names_service(NULL, 6, 50020, b, sizeof(b)) == NULL ||
                strcmp(b, "order-api") != 0);
    rep_names_destroy(&n);
    FAIL_IF_NOT(n == NULL);
    rep_names_destroy(&n); /* NULL is fine */
    mrg_db_close(&db);
    unlink(hf);
    tu_db_rm(path);
    PASS;
}

TEST(older_database)
{
    /* a database without host_names, service_names or dns_names */
    sqlite3 *h = NULL;
    FAIL_IF_NOT(sqlite3_open(":memory:", &h) == SQLITE_OK);
    struct rep_names *n = rep_names_load(h);
    const char *src = "x";
    FAIL_IF_NOT(rep_names_host(n, "10.0.0.1", &src) == NULL && src == NULL);
    char b[64], b2[64];
    const char *want = rep_port_name(6, 22, b2, sizeof(b2));
    const char *got = rep_names_service(n, 6, 22, b, sizeof(b));
    FAIL_IF_NOT((!want && !got) || (want && got && strcmp(want, got) == 0));
    rep_names_destroy(&n);
    sqlite3_close(h);
    PASS;
}

TEST(reverse_dns)
{
    /* 127.0.0.1 is in /etc/hosts on most systems: compare with getnameinfo */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char want[NI_MAXHOST];
    bool has = getnameinfo((struct sockaddr *)&a, sizeof(a), want, sizeof(want), NULL, 0,
                           NI_NAMEREQD) == 0;
    sqlite3 *h = NULL;
    FAIL_IF_NOT(sqlite3_open(":memory:", &h) == SQLITE_OK);
    struct rep_names *n = rep_names_load(h);
    const char *src = NULL;
    FAIL_IF_NOT(rep_names_host(n, "127.0.0.1", &src) == NULL); /* off by default */
    rep_names_resolve(n, true);
    const char *got = rep_names_host(n, "127.0.0.1", &src);
    if (has)
        FAIL_IF_NOT(got && strcmp(got, want) == 0 && strcmp(src, "rdns") == 0);
    else
        FAIL_IF_NOT(got == NULL && src == NULL);
    /* the second time from the cache, same answer */
    const char *again = rep_names_host(n, "127.0.0.1", NULL);
    FAIL_IF_NOT((!got && !again) || (got && again && strcmp(got, again) == 0));
    FAIL_IF_NOT(rep_names_host(n, "not-an-ip", &src) == NULL);
    rep_names_destroy(&n);
    sqlite3_close(h);
    PASS;
}

TEST(export_fields)
{
    /* hosts exist only after an epoch; a session makes 10.0.0.1 and 10.0.0.2 */
    char path[256];
    tu_db_path(path, sizeof(path), "rep_names", "export");
    struct mrg_db *db = mrg_db_open(path);
    FAIL_IF_NOT(db);
    struct cmn_session_rec s;
    memset(&s, 0, sizeof(s));
    tu_ip(s.a_ip, "10.0.0.1");
    tu_ip(s.b_ip, "10.0.0.2");
    s.a_port = 40000;
    s.b_port = 50020;
    s.proto = 6;
    s.flags = CMN_SESS_A_INIT;
    s.pkts[0] = s.pkts[1] = 3;
    s.bytes[0] = s.bytes[1] = 300;
    s.first_ns = 1;
    s.last_ns = 2;
    struct cmn_endpoint_rec e;
    memset(&e, 0, sizeof(e));
    tu_ip(e.ip, "10.0.0.2");
    e.proto = 6;
    e.port = 50020;
    e.role = 1;
    e.confidence = 0.9f;
    struct mrg_part part = {.sessions = &s, .n_sessions = 1, .endpoints = &e, .n_endpoints = 1};
    FAIL_IF_NOT(mrg_db_commit_epoch(db, 0, 60000000000ull, true, &part, 1, NULL) == 0);
    static const char *const ips[] = {"10.0.0.2"};
    static const char *const nms[] = {"order.example"};
    static const uint32_t rts[] = {CMN_DNS_A};
    static const uint64_t ts[] = {5};
    FAIL_IF_NOT(s_put(db, 1, ips, nms, rts, ts, NULL) == 0);
    struct cmn_service_entry se = {.proto = 6, .port = 50020, .line = 1, .name = "order-api"};
    FAIL_IF_NOT(mrg_db_load_services(db, &se, 1) == 0);
    mrg_db_close(&db);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    FAIL_IF_NOT(f);
    FAIL_IF_NOT(rep_export_json(path, f) == 0);
    fclose(f);
    int ok = strstr(buf, "\"ip\": \"10.0.0.2\", \"name\": \"order.example\","
                         " \"name_source\": \"dns\"") != NULL &&
             strstr(buf, "\"ip\": \"10.0.0.1\", \"name\": null, \"name_source\": null") != NULL &&
             strstr(buf, "\"port\": 50020, \"name\": \"order-api\"") != NULL;
    if (!ok)
        fprintf(stderr, "%s\n", buf);
    free(buf);
    tu_db_rm(path);
    FAIL_IF_NOT(ok);
    PASS;
}

TEST_MAIN(TEST_ENTRY(dns_upsert_and_names) TEST_ENTRY(older_database) TEST_ENTRY(reverse_dns)
              TEST_ENTRY(export_fields))
