/* SPDX-License-Identifier: MIT
 * test_mrg_refresh: the merger's live window (mrg_live: the derived tables
 * maintained in C, delta by delta) gives exactly the rows of a full rebuild
 * in SQL from all sessions (mrg_db_refresh_full). Two databases are fed the
 * same pseudo-random epochs (role flips, both-servers pairs, port-less and
 * ICMP rows, SYN-only and RST-only TCP, sessions shared by two parts,
 * retirement with a short window, a hosts file loaded mid-run): one written
 * from the live window only, one rebuilt in SQL after every epoch
 * (mrg_db_set_full_refresh); after every epoch their derived tables must be
 * equal row for row, value and type, and equal to mrg_db_refresh_full. Also:
 * per-session detail written every few commits (checkpoint_epochs) and a
 * merger restarted from its tables give the same database, and a memcap
 * retires early without changing a derived row.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cmn_ip.h"
#include "db_testutil.h"
#include "harness.h"
#include "mrg_db.h"

#define NS    1000000000ull
#define EPOCH (60 * NS)

static uint64_t s_rng;

static uint32_t s_rand(uint32_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t)(s_rng % n);
}

/* The last five are groups or unspecified (no edge may touch them), and
 * 10.0.0.255 is the directed broadcast of 10.0.0.0/24 only. */
static const char *const s_ips[] = {"10.0.0.1",    "10.0.0.2",        "10.0.0.3",   "10.0.0.4",
                                    "172.16.0.1",  "172.16.0.2",      "172.16.0.3", "192.168.1.9",
                                    "2001:db8::1", "2001:db8::2",     "10.0.0.255", "224.0.0.251",
                                    "0.0.0.0",     "255.255.255.255", "ff02::fb"};
#define N_IPS (sizeof(s_ips) / sizeof(s_ips[0]))
static const uint16_t s_ports[] = {53, 80, 123, 443, 5432, 40000, 40001, 40002, 40003, 50000};
#define N_PORTS (sizeof(s_ports) / sizeof(s_ports[0]))

/* A random session delta inside epoch e. */
static struct cmn_session_rec s_rand_sess(uint64_t e)
{
    struct cmn_session_rec r;
    memset(&r, 0, sizeof(r));
    uint32_t i = s_rand(N_IPS), j = s_rand(N_IPS - 1);
    if (j >= i)
        j++;
    uint8_t x[16], y[16];
    tu_ip(x, s_ips[i]);
    tu_ip(y, s_ips[j]);
    bool swap = memcmp(x, y, 16) > 0;
    memcpy(r.a_ip, swap ? y : x, 16);
    memcpy(r.b_ip, swap ? x : y, 16);
    uint32_t k = s_rand(10);
    r.proto = k < 6 ? 6 : k < 9 ? 17 : 1;
    if (r.proto != 1 && s_rand(12) != 0) {
        r.a_port = s_ports[s_rand(N_PORTS)];
        r.b_port = s_ports[s_rand(N_PORTS)];
    } /* else port-less (ICMP, fragments) */
    static const uint8_t flags[] = {0, CMN_SESS_A_INIT, CMN_SESS_B_INIT,
                                    CMN_SESS_A_INIT | CMN_SESS_MIDSTREAM, CMN_SESS_FRAGS};
    r.flags = flags[s_rand(sizeof(flags))];
    for (int d = 0; d < 2; d++) {
        r.pkts[d] = s_rand(6);
        r.bytes[d] = r.pkts[d] * (40 + s_rand(1400));
        if (r.proto == 6) {
            /* 0 normal, 1 SYN only, 2 RST only, 3 SYN+ACK, 4 FIN / Null / Xmas
             * probes (no ACK), 5 a connect scan's SYN, ACK and FIN */
            uint32_t kind = s_rand(6);
            uint32_t n = (uint32_t)r.pkts[d];
            r.syn[d] = kind == 1 ? n : (kind == 3 || kind == 5) && n ? 1 : 0;
            r.synack[d] = kind == 3 && n ? 1 : 0;
            r.rst[d] = kind == 2 ? n : 0;
            r.ack[d] = kind == 0 ? n : kind == 5 && n ? n - 1 : 0;
            r.fin[d] = kind == 4 ? n : kind == 5 && n > 2 ? 1 : 0;
        }
    }
    if (r.pkts[0] + r.pkts[1] == 0)
        r.pkts[0] = 1;
    r.first_ns = e * EPOCH + s_rand(50) * NS;
    r.last_ns = r.first_ns + s_rand(10) * NS;
    return r;
}

static struct cmn_endpoint_rec s_rand_ep(uint64_t e)
{
    struct cmn_endpoint_rec p;
    memset(&p, 0, sizeof(p));
    tu_ip(p.ip, s_ips[s_rand(N_IPS)]);
    uint32_t k = s_rand(10);
    p.proto = k < 6 ? 6 : k < 9 ? 17 : 1;
    p.port = p.proto == 1 ? 0 : s_ports[s_rand(N_PORTS)];
    uint32_t r = s_rand(10);
    p.role = r < 5 ? CMN_ROLE_SERVER : r < 8 ? CMN_ROLE_CLIENT : CMN_ROLE_UNKNOWN;
    static const float conf[] = {0.5f, 0.7f, 0.9f};
    p.confidence = conf[s_rand(3)];
    p.peers = 1 + s_rand(4);
    p.sessions = 1 + s_rand(9);
    p.first_ns = (e - s_rand(3)) * EPOCH;
    p.last_ns = e * EPOCH + s_rand(60) * NS;
    return p;
}

/* Rows of `sql` as text with a type tag per value ("i:3", "r:0.5", "t:x", "n"). */
static char *s_dump(sqlite3 *db, const char *sql)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sqlite3_stmt *st = NULL;
    if (!f || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        abort();
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(st); c++) {
            switch (sqlite3_column_type(st, c)) {
                case SQLITE_INTEGER:
                    fprintf(f, "i:%lld|", (long long)sqlite3_column_int64(st, c));
                    break;
                case SQLITE_FLOAT:
                    fprintf(f, "r:%.17g|", sqlite3_column_double(st, c));
                    break;
                case SQLITE_NULL:
                    fputs("n|", f);
                    break;
                case SQLITE_BLOB: {
                    fputs("b:", f);
                    const uint8_t *b = sqlite3_column_blob(st, c);
                    for (int k = 0; k < sqlite3_column_bytes(st, c); k++)
                        fprintf(f, "%02x", b[k]);
                    fputc('|', f);
                    break;
                }
                default:
                    fprintf(f, "t:%s|", (const char *)sqlite3_column_text(st, c));
            }
        }
        fputc('\n', f);
    }
    sqlite3_finalize(st);
    fclose(f);
    return buf;
}

static const char *const s_derived[] = {
    "SELECT * FROM edges ORDER BY client_ip, server_ip, proto, server_port",
    "SELECT * FROM services ORDER BY ip, proto, port",
    "SELECT * FROM hosts ORDER BY ip",
    ("SELECT key, value FROM meta WHERE key IN ('packets', 'bytes', 'first_seen_ns',"
     " 'last_seen_ns') ORDER BY key"),
    "SELECT * FROM groups ORDER BY group_ip, proto, port",
};
#define N_DERIVED (sizeof(s_derived) / sizeof(s_derived[0]))

/* Derived tables of a and b equal; prints the first differing table. */
static int s_same(struct mrg_db *a, struct mrg_db *b, uint64_t epoch, const char *what)
{
    for (size_t t = 0; t < N_DERIVED; t++) {
        char *x = s_dump(mrg_db_handle(a), s_derived[t]);
        char *y = s_dump(mrg_db_handle(b), s_derived[t]);
        int diff = strcmp(x, y) != 0;
        if (diff)
            fprintf(stderr, "  epoch %llu, %s: %s differs\n--- incremental\n%s--- full\n%s",
                    (unsigned long long)epoch, what, s_derived[t], x, y);
        free(x);
        free(y);
        if (diff)
            return 1;
    }
    return 0;
}

static int s_run(uint64_t seed, int epochs, uint32_t retain_minutes)
{
    char pi[256], pf[256], hf[256];
    tu_db_path(pi, sizeof(pi), "mrg_refresh", "incr");
    tu_db_path(pf, sizeof(pf), "mrg_refresh", "full");
    snprintf(hf, sizeof(hf), "/tmp/renkei_test_mrg_refresh_%d.hosts", (int)getpid());
    FILE *f = fopen(hf, "w");
    FAIL_IF_NOT(f);
    fputs("10.0.0.1 pc1\n172.16.0.2 db2\n2001:db8::2 six\n", f);
    fclose(f);
    struct mrg_db *inc = mrg_db_open(pi), *full = mrg_db_open(pf);
    FAIL_IF_NOT(inc && full);
    mrg_db_set_full_refresh(full, true);
    struct mrg_retain r = {retain_minutes, 1, 1};
    mrg_db_set_retention(inc, &r);
    mrg_db_set_retention(full, &r);
    s_rng = seed;
    uint64_t e = 1000;
    for (int n = 0; n < epochs; n++) {
        struct cmn_session_rec ss[24];
        struct cmn_endpoint_rec ee[10];
        size_t ns = 8 + s_rand(16), ne = s_rand(10);
        for (size_t i = 0; i < ns; i++)
            ss[i] = s_rand_sess(e);
        if (ns > 2)
            ss[ns - 1] = ss[0]; /* a shared session: both parts report it */
        for (size_t i = 0; i < ne; i++)
            ee[i] = s_rand_ep(e);
        size_t hs = ns / 2, he = ne / 2;
        struct mrg_part parts[2] = {
            {.tracker_id = 0, .sessions = ss, .n_sessions = hs, .endpoints = ee, .n_endpoints = he},
            {.tracker_id = 1,
             .sessions = ss + hs,
             .n_sessions = ns - hs,
             .endpoints = ee + he,
             .n_endpoints = ne - he}};
        FAIL_IF_NOT(mrg_db_commit_epoch(inc, e, EPOCH, false, parts, 2, NULL) == 0);
        FAIL_IF_NOT(mrg_db_commit_epoch(full, e, EPOCH, false, parts, 2, NULL) == 0);
        FAIL_IF(s_same(inc, full, e, "per-epoch"));
        if (n == epochs / 3) {
            FAIL_IF_NOT(mrg_db_load_hosts_file(inc, hf) == 3);
            FAIL_IF_NOT(mrg_db_load_hosts_file(full, hf) == 3);
        }
        e += 1 + (s_rand(8) == 0); /* sometimes an epoch without traffic */
    }
    /* the chained increments also equal a rebuild of the same database */
    FAIL_IF_NOT(mrg_db_refresh_full(full) == 0);
    FAIL_IF(s_same(inc, full, e, "rebuilt"));
    char *x[N_DERIVED], *y[N_DERIVED];
    for (size_t t = 0; t < N_DERIVED; t++)
        x[t] = s_dump(mrg_db_handle(inc), s_derived[t]);
    FAIL_IF_NOT(mrg_db_refresh_full(inc) == 0);
    int diff = 0;
    for (size_t t = 0; t < N_DERIVED; t++) {
        y[t] = s_dump(mrg_db_handle(inc), s_derived[t]);
        diff |= strcmp(x[t], y[t]) != 0;
        free(x[t]);
        free(y[t]);
    }
    FAIL_IF(diff);
    /* the scenario covered what it should */
    FAIL_IF_NOT(tu_q(mrg_db_handle(inc), "SELECT COUNT(*) FROM edges") > 5);
    sqlite3 *h = mrg_db_handle(inc);
    /* hosts that neither provide nor use a service, and only those, are unknown */
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM hosts WHERE (kind = 'unknown') <>"
                        " (services_provided = 0 AND services_used = 0)") == 0);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM hosts WHERE kind = 'both'") > 0);
    /* no edge to or from a group or an unspecified address; their traffic is in groups */
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM edges WHERE renkei_group_pair(client_ip, server_ip)"
                        " OR client_ip IN ('0.0.0.0', '::', '224.0.0.251',"
                        " '255.255.255.255', 'ff02::fb')") == 0);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM groups WHERE port <> 0") > 0);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM groups WHERE group_ip = '10.0.0.255'") > 0);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM groups WHERE group_ip IN ('0.0.0.0',"
                        " '10.0.0.1', '172.16.0.1')") == 0);
    FAIL_IF_NOT(tu_q(mrg_db_handle(inc), "SELECT COUNT(*) FROM services WHERE clients = 0") > 0);
    FAIL_IF_NOT(tu_q(mrg_db_handle(inc), "SELECT COUNT(*) FROM hosts WHERE name IS NOT NULL") == 3);
    if (retain_minutes)
        FAIL_IF_NOT(tu_q(mrg_db_handle(inc), "SELECT COUNT(*) FROM sessions_retired") > 0);
    FAIL_IF_NOT(tu_q(mrg_db_handle(inc),
                     "SELECT COUNT(*) FROM edges e JOIN services a ON a.ip = e.client_ip"
                     " AND a.proto = e.proto") > 0); /* both-servers pairs */
    mrg_db_close(&inc);
    mrg_db_close(&full);
    tu_db_path(pi, sizeof(pi), "mrg_refresh", "incr");
    tu_db_path(pf, sizeof(pf), "mrg_refresh", "full");
    unlink(hf);
    PASS;
}

TEST(retained_short)
{
    return s_run(0x9e3779b97f4a7c15ull, 80, 3);
}

TEST(retained_never)
{
    return s_run(0x2545f4914f6cdd1dull, 40, 0);
}

TEST(many_seeds)
{
    for (uint64_t seed = 1; seed <= 12; seed++)
        if (s_run(seed * 0x9e3779b97f4a7c15ull, 30, 2) != 0)
            return 1;
    PASS;
}

/* Directed: an epoch that only replaces endpoints (no session of the pair)
 * still moves the edges: a server's confidence decides a both-servers pair
 * without initiator, and a role flip turns a session around. */
TEST(endpoint_only_epochs)
{
    char pi[256], pf[256];
    tu_db_path(pi, sizeof(pi), "mrg_refresh", "ep_incr");
    tu_db_path(pf, sizeof(pf), "mrg_refresh", "ep_full");
    struct mrg_db *inc = mrg_db_open(pi), *full = mrg_db_open(pf);
    FAIL_IF_NOT(inc && full);
    mrg_db_set_full_refresh(full, true);
    struct cmn_session_rec ss[2];
    memset(ss, 0, sizeof(ss));
    tu_ip(ss[0].a_ip, "10.0.0.1");
    tu_ip(ss[0].b_ip, "10.0.0.2");
    ss[0].a_port = ss[0].b_port = 123;
    ss[0].proto = 17;
    ss[0].pkts[0] = ss[0].pkts[1] = 2;
    ss[0].bytes[0] = ss[0].bytes[1] = 200;
    ss[0].first_ns = 1000 * EPOCH;
    ss[0].last_ns = 1000 * EPOCH + NS;
    ss[1] = ss[0];
    ss[1].a_port = 40000;
    ss[1].b_port = 80;
    ss[1].proto = 6;
    ss[1].flags = CMN_SESS_A_INIT;
    struct cmn_endpoint_rec ee[4];
    memset(ee, 0, sizeof(ee));
    const char *eip[] = {"10.0.0.1", "10.0.0.2", "10.0.0.2", "10.0.0.1"};
    const uint16_t eport[] = {123, 123, 80, 40000};
    const uint8_t eproto[] = {17, 17, 6, 6};
    for (int i = 0; i < 4; i++) {
        tu_ip(ee[i].ip, eip[i]);
        ee[i].port = eport[i];
        ee[i].proto = eproto[i];
        ee[i].role = i < 3 ? CMN_ROLE_SERVER : CMN_ROLE_CLIENT;
        ee[i].confidence = i == 0 ? 0.9f : 0.5f;
        ee[i].first_ns = ss[0].first_ns;
        ee[i].last_ns = ss[0].last_ns;
    }
    struct mrg_part p = {.sessions = ss, .n_sessions = 2, .endpoints = ee, .n_endpoints = 4};
    uint64_t e = 1000;
    FAIL_IF_NOT(mrg_db_commit_epoch(inc, e, EPOCH, false, &p, 1, NULL) == 0);
    FAIL_IF_NOT(mrg_db_commit_epoch(full, e, EPOCH, false, &p, 1, NULL) == 0);
    FAIL_IF(s_same(inc, full, e, "initial"));
    FAIL_IF_NOT(
        tu_q(mrg_db_handle(inc), "SELECT COUNT(*) FROM edges WHERE server_ip = '10.0.0.1'") == 1);
    /* 1: only the confidence of 10.0.0.2:123 rises above 10.0.0.1's */
    ee[1].confidence = 0.95f;
    p = (struct mrg_part){.endpoints = &ee[1], .n_endpoints = 1};
    e++;
    FAIL_IF_NOT(mrg_db_commit_epoch(inc, e, EPOCH, false, &p, 1, NULL) == 0);
    FAIL_IF_NOT(mrg_db_commit_epoch(full, e, EPOCH, false, &p, 1, NULL) == 0);
    FAIL_IF(s_same(inc, full, e, "confidence"));
    FAIL_IF_NOT(tu_q(mrg_db_handle(inc), "SELECT COUNT(*) FROM edges WHERE server_ip = '10.0.0.2'"
                                         " AND proto = 17") == 1);
    /* 1b: and the A side's (10.0.0.1:123) rises above it again */
    ee[0].confidence = 0.99f;
    p = (struct mrg_part){.endpoints = &ee[0], .n_endpoints = 1};
    e++;
    FAIL_IF_NOT(mrg_db_commit_epoch(inc, e, EPOCH, false, &p, 1, NULL) == 0);
    FAIL_IF_NOT(mrg_db_commit_epoch(full, e, EPOCH, false, &p, 1, NULL) == 0);
    FAIL_IF(s_same(inc, full, e, "confidence A"));
    FAIL_IF_NOT(tu_q(mrg_db_handle(inc), "SELECT COUNT(*) FROM edges WHERE server_ip = '10.0.0.1'"
                                         " AND proto = 17") == 1);
    /* 2: 10.0.0.2:80 is no server any more, 10.0.0.1:40000 becomes one */
    ee[2].role = CMN_ROLE_CLIENT;
    ee[3].role = CMN_ROLE_SERVER;
    p = (struct mrg_part){.endpoints = &ee[2], .n_endpoints = 2};
    e++;
    FAIL_IF_NOT(mrg_db_commit_epoch(inc, e, EPOCH, false, &p, 1, NULL) == 0);
    FAIL_IF_NOT(mrg_db_commit_epoch(full, e, EPOCH, false, &p, 1, NULL) == 0);
    FAIL_IF(s_same(inc, full, e, "role flip"));
    FAIL_IF_NOT(tu_q(mrg_db_handle(inc), "SELECT COUNT(*) FROM edges WHERE server_ip = '10.0.0.1'"
                                         " AND server_port = 40000") == 1);
    FAIL_IF_NOT(tu_q(mrg_db_handle(inc), "SELECT kind = 'both' FROM hosts WHERE ip = '10.0.0.2'") ==
                1);
    mrg_db_close(&inc);
    mrg_db_close(&full);
    tu_db_path(pi, sizeof(pi), "mrg_refresh", "ep_incr");
    tu_db_path(pf, sizeof(pf), "mrg_refresh", "ep_full");
    PASS;
}

/* Commit the same part to both databases and compare their derived tables. */
static int s_both(struct mrg_db *inc, struct mrg_db *full, uint64_t e, const struct mrg_part *p,
                  const char *what)
{
    if (mrg_db_commit_epoch(inc, e, EPOCH, false, p, 1, NULL) != 0 ||
        mrg_db_commit_epoch(full, e, EPOCH, false, p, 1, NULL) != 0)
        return 1;
    return s_same(inc, full, e, what);
}

/* Directed: deltas the incremental refresh cannot simply add to their edge.
 * A session between two servers whose initiator becomes known in a later
 * epoch turns around without any endpoint change; a TCP delta whose client
 * sends more SYN and RST than packets takes the edge below the handshake
 * rule; a SYN-only edge that completes later appears with all its packets. */
TEST(deltas_that_move_edges)
{
    char pi[256], pf[256];
    tu_db_path(pi, sizeof(pi), "mrg_refresh", "mv_incr");
    tu_db_path(pf, sizeof(pf), "mrg_refresh", "mv_full");
    struct mrg_db *inc = mrg_db_open(pi), *full = mrg_db_open(pf);
    FAIL_IF_NOT(inc && full);
    mrg_db_set_full_refresh(full, true);
    struct cmn_endpoint_rec ee[3];
    memset(ee, 0, sizeof(ee));
    const char *eip[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};
    const uint16_t eport[] = {123, 123, 80};
    const uint8_t eproto[] = {17, 17, 6};
    for (int i = 0; i < 3; i++) {
        tu_ip(ee[i].ip, eip[i]);
        ee[i].port = eport[i];
        ee[i].proto = eproto[i];
        ee[i].role = CMN_ROLE_SERVER;
        ee[i].confidence = i == 0 ? 0.9f : 0.5f;
        ee[i].first_ns = 1000 * EPOCH;
        ee[i].last_ns = 1000 * EPOCH + NS;
    }
    struct cmn_session_rec s[2];
    memset(s, 0, sizeof(s));
    tu_ip(s[0].a_ip, "10.0.0.1"); /* ntp between two servers, initiator unknown */
    tu_ip(s[0].b_ip, "10.0.0.2");
    s[0].a_port = s[0].b_port = 123;
    s[0].proto = 17;
    s[0].pkts[0] = s[0].pkts[1] = 1;
    s[0].bytes[0] = s[0].bytes[1] = 76;
    s[0].first_ns = 1000 * EPOCH;
    s[0].last_ns = 1000 * EPOCH + NS;
    tu_ip(s[1].a_ip, "10.0.0.3"); /* a web client 10.0.0.9 of 10.0.0.3:80, SYN only */
    tu_ip(s[1].b_ip, "10.0.0.9");
    s[1].a_port = 80;
    s[1].b_port = 50000;
    s[1].proto = 6;
    s[1].flags = CMN_SESS_B_INIT;
    s[1].pkts[1] = s[1].syn[1] = 1;
    s[1].bytes[1] = 60;
    s[1].first_ns = s[0].first_ns;
    s[1].last_ns = s[0].last_ns;
    struct mrg_part p = {.sessions = s, .n_sessions = 2, .endpoints = ee, .n_endpoints = 3};
    uint64_t e = 1000;
    FAIL_IF(s_both(inc, full, e, &p, "initial"));
    FAIL_IF_NOT(
        tu_q(mrg_db_handle(inc), "SELECT COUNT(*) FROM edges WHERE server_ip = '10.0.0.1'") == 1);
    FAIL_IF_NOT(
        tu_q(mrg_db_handle(inc), "SELECT COUNT(*) FROM edges WHERE server_ip = '10.0.0.3'") == 0);
    /* 1: 10.0.0.1 turns out to have opened the ntp session; the web client
     *    completes its handshake and sends data */
    s[0].flags = CMN_SESS_A_INIT;
    s[1].pkts[0] = s[1].syn[0] = s[1].synack[0] = 1;
    s[1].pkts[1] = 3;
    s[1].syn[1] = 0;
    s[1].ack[0] = 0;
    s[1].ack[1] = 3;
    s[1].bytes[0] = 60;
    s[1].bytes[1] = 1500;
    p = (struct mrg_part){.sessions = s, .n_sessions = 2};
    FAIL_IF(s_both(inc, full, ++e, &p, "late initiator, completed handshake"));
    FAIL_IF_NOT(
        tu_q(mrg_db_handle(inc), "SELECT COUNT(*) FROM edges WHERE server_ip = '10.0.0.2'") == 1);
    FAIL_IF_NOT(tu_q(mrg_db_handle(inc),
                     "SELECT packets_c2s FROM edges WHERE server_ip = '10.0.0.3'") == 4);
    /* 2: the client sends SYN+RST packets only: its "real" count (3 so far)
     *    goes to 0 */
    memset(s[1].pkts, 0, sizeof(s[1].pkts));
    memset(s[1].syn, 0, sizeof(s[1].syn));
    memset(s[1].synack, 0, sizeof(s[1].synack));
    memset(s[1].ack, 0, sizeof(s[1].ack));
    s[1].pkts[1] = 3;
    s[1].syn[1] = 3;
    s[1].rst[1] = 3;
    s[1].bytes[0] = 0;
    s[1].bytes[1] = 180;
    p = (struct mrg_part){.sessions = &s[1], .n_sessions = 1};
    FAIL_IF(s_both(inc, full, ++e, &p, "negative real packets"));
    FAIL_IF_NOT(
        tu_q(mrg_db_handle(inc), "SELECT COUNT(*) FROM edges WHERE server_ip = '10.0.0.3'") == 0);
    mrg_db_close(&inc);
    mrg_db_close(&full);
    tu_db_path(pi, sizeof(pi), "mrg_refresh", "mv_incr");
    tu_db_path(pf, sizeof(pf), "mrg_refresh", "mv_full");
    PASS;
}

/* One UDP (or port-less) session delta a:ap -> b:bp with `n` packets. */
static struct cmn_session_rec s_sess(const char *a, uint16_t ap, const char *b, uint16_t bp,
                                     uint8_t proto, uint64_t n, uint64_t e)
{
    struct cmn_session_rec r;
    memset(&r, 0, sizeof(r));
    uint8_t x[16], y[16];
    tu_ip(x, a);
    tu_ip(y, b);
    int d = memcmp(x, y, 16) > 0; /* a sent: direction A->B unless a is the B side */
    memcpy(r.a_ip, d ? y : x, 16);
    memcpy(r.b_ip, d ? x : y, 16);
    r.a_port = d ? bp : ap;
    r.b_port = d ? ap : bp;
    r.proto = proto;
    r.flags = d ? CMN_SESS_B_INIT : CMN_SESS_A_INIT;
    r.pkts[d] = n;
    r.bytes[d] = n * 300;
    r.first_ns = e * EPOCH + NS;
    r.last_ns = e * EPOCH + 2 * NS;
    return r;
}

/* One TCP session delta from client c:cp to server v:vp: the client sent
 * cn = {packets, pure SYNs, FINs, RSTs}, all but the SYNs with ACK (a
 * session of FINs only is a FIN probe: no ACK); the server sent vn =
 * {packets, SYN+ACKs, FINs, RSTs}. */
static struct cmn_session_rec s_tcp(const char *c, uint16_t cp, const char *v, uint16_t vp,
                                    const uint32_t cn[4], const uint32_t vn[4], uint64_t e)
{
    struct cmn_session_rec r;
    memset(&r, 0, sizeof(r));
    uint8_t x[16], y[16];
    tu_ip(x, c);
    tu_ip(y, v);
    int d = memcmp(x, y, 16) > 0; /* the client's direction */
    memcpy(r.a_ip, d ? y : x, 16);
    memcpy(r.b_ip, d ? x : y, 16);
    r.a_port = d ? vp : cp;
    r.b_port = d ? cp : vp;
    r.proto = 6;
    r.flags = d ? CMN_SESS_B_INIT : CMN_SESS_A_INIT;
    r.pkts[d] = cn[0];
    r.syn[d] = cn[1];
    r.fin[d] = cn[2];
    r.rst[d] = cn[3];
    r.ack[d] = cn[1] == 0 && cn[2] == cn[0] ? 0 : cn[0] - cn[1]; /* FIN probes: no ACK */
    r.pkts[!d] = vn[0];
    r.syn[!d] = r.synack[!d] = vn[1];
    r.fin[!d] = vn[2];
    r.rst[!d] = vn[3];
    r.ack[!d] = vn[0] - vn[3];
    r.bytes[d] = cn[0] * 100;
    r.bytes[!d] = vn[0] * 100;
    r.first_ns = e * EPOCH + NS;
    r.last_ns = e * EPOCH + 2 * NS;
    return r;
}

/* Directed (issue 8, classes 1 and 2): probe sessions to a service make no
 * edge and add nothing to a real edge, decided per session, also when a
 * session turns from a probe into a conversation, or back, in a later epoch. */
TEST(probe_sessions)
{
    char pi[256], pf[256];
    tu_db_path(pi, sizeof(pi), "mrg_refresh", "pr_incr");
    tu_db_path(pf, sizeof(pf), "mrg_refresh", "pr_full");
    struct mrg_db *inc = mrg_db_open(pi), *full = mrg_db_open(pf);
    FAIL_IF_NOT(inc && full);
    mrg_db_set_full_refresh(full, true);
    uint64_t e = 1000;
    struct cmn_endpoint_rec ee;
    memset(&ee, 0, sizeof(ee));
    tu_ip(ee.ip, "10.0.0.3");
    ee.port = 80;
    ee.proto = 6;
    ee.role = CMN_ROLE_SERVER;
    ee.confidence = 0.9f;
    ee.first_ns = e * EPOCH;
    ee.last_ns = e * EPOCH + 2 * NS;
    /* client counts {pkts, pure SYN, FIN, RST}, server {pkts, SYN+ACK, FIN, RST} */
    static const uint32_t conv_c[4] = {6, 1, 1, 0}, conv_s[4] = {5, 1, 1, 0};
    static const uint32_t half_c[4] = {2, 1, 0, 1}, half_s[4] = {1, 1, 0, 0};
    static const uint32_t fin_c[4] = {1, 0, 1, 0}, none[4] = {0, 0, 0, 0};
    static const uint32_t conn_c[4] = {3, 1, 0, 1}, conn_s[4] = {1, 1, 0, 0};
    static const uint32_t connf_c[4] = {4, 1, 1, 0}, connf_s[4] = {2, 1, 1, 0};
    static const uint32_t hs_c[4] = {2, 1, 0, 0}, hs_s[4] = {1, 1, 0, 0};
    static const uint32_t syn_c[4] = {1, 1, 0, 0}, rst_c[4] = {1, 0, 0, 1};
    static const uint32_t data_c[4] = {3, 0, 0, 0}, data_s[4] = {2, 0, 0, 0};
    struct cmn_session_rec ss[] = {
        s_tcp("10.0.0.9", 50000, "10.0.0.3", 80, conv_c, conv_s, e),  /* the real client */
        s_tcp("10.0.0.9", 50001, "10.0.0.3", 80, half_c, half_s, e),  /* its half-open probe */
        s_tcp("10.0.0.9", 50002, "10.0.0.3", 80, fin_c, none, e),     /* its FIN probe */
        s_tcp("10.0.0.20", 40000, "10.0.0.3", 80, fin_c, none, e),    /* a stealth scanner */
        s_tcp("10.0.0.21", 40001, "10.0.0.3", 80, conn_c, conn_s, e), /* connect scans */
        s_tcp("10.0.0.21", 40002, "10.0.0.3", 80, connf_c, connf_s, e),
        s_tcp("10.0.0.22", 40003, "10.0.0.3", 80, syn_c, hs_s, e), /* its ACK next epoch */
    };
    struct mrg_part p = {.sessions = ss,
                         .n_sessions = sizeof(ss) / sizeof(ss[0]),
                         .endpoints = &ee,
                         .n_endpoints = 1};
    FAIL_IF(s_both(inc, full, e, &p, "probes"));
    sqlite3 *h = mrg_db_handle(inc);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM edges") == 1);
    FAIL_IF_NOT(tu_q(h, "SELECT packets_c2s * 1000 + packets_s2c * 10 + sessions FROM edges"
                        " WHERE client_ip = '10.0.0.9'") == 6051);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM hosts WHERE kind = 'unknown' AND ip IN"
                        " ('10.0.0.20', '10.0.0.21', '10.0.0.22')") == 3);
    FAIL_IF_NOT(tu_q(h, "SELECT packets_out FROM hosts WHERE ip = '10.0.0.20'") == 1);
    /* 1: 10.0.0.22 completes the handshake and sends its request: the
     *    session's SYN joins its edge; 10.0.0.23 connects (not closed yet:
     *    a conversation), 10.0.0.9 probes again */
    struct cmn_session_rec s2[] = {
        s_tcp("10.0.0.22", 40003, "10.0.0.3", 80, data_c, data_s, e + 1),
        s_tcp("10.0.0.9", 50003, "10.0.0.3", 80, half_c, half_s, e + 1),
        s_tcp("10.0.0.23", 40004, "10.0.0.3", 80, hs_c, hs_s, e + 1),
    };
    p = (struct mrg_part){.sessions = s2, .n_sessions = 3};
    FAIL_IF(s_both(inc, full, ++e, &p, "probe turns conversation"));
    FAIL_IF_NOT(tu_q(h, "SELECT packets_c2s * 1000 + packets_s2c * 10 + sessions FROM edges"
                        " WHERE client_ip = '10.0.0.22'") == 4031);
    FAIL_IF_NOT(tu_q(h, "SELECT packets_c2s FROM edges WHERE client_ip = '10.0.0.9'") == 6);
    FAIL_IF_NOT(tu_q(h, "SELECT packets_c2s FROM edges WHERE client_ip = '10.0.0.23'") == 2);
    /* 2: the server closes 10.0.0.9's probe; 10.0.0.22's conversation goes
     *    on; 10.0.0.23 resets its connection unused: a connect scan */
    static const uint32_t close_s[4] = {1, 0, 1, 0}, ack_c[4] = {1, 0, 0, 0};
    struct cmn_session_rec s3[] = {
        s_tcp("10.0.0.9", 50003, "10.0.0.3", 80, none, close_s, e + 1),
        s_tcp("10.0.0.22", 40003, "10.0.0.3", 80, ack_c, close_s, e + 1),
        s_tcp("10.0.0.23", 40004, "10.0.0.3", 80, rst_c, none, e + 1),
    };
    p = (struct mrg_part){.sessions = s3, .n_sessions = 3};
    FAIL_IF(s_both(inc, full, ++e, &p, "server closes"));
    FAIL_IF_NOT(tu_q(h, "SELECT packets_c2s * 1000 + packets_s2c * 10 + sessions FROM edges"
                        " WHERE client_ip = '10.0.0.22'") == 5041);
    FAIL_IF_NOT(tu_q(h, "SELECT packets_c2s FROM edges WHERE client_ip = '10.0.0.9'") == 6);
    /* 10.0.0.23's session turned back into a probe */
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM edges WHERE client_ip = '10.0.0.23'") == 0);
    /* 3 (class 5): a conversation already running, both ends judged servers,
     *    the server's answer seen first: the first packet names no initiator,
     *    the higher confidence (50020, with fan-in) is the server */
    struct cmn_endpoint_rec e2[2];
    memset(e2, 0, sizeof(e2));
    tu_ip(e2[0].ip, "10.0.0.30");
    e2[0].port = 20000;
    e2[0].confidence = 0.3f;
    tu_ip(e2[1].ip, "10.0.0.31");
    e2[1].port = 50020;
    e2[1].confidence = 0.6f;
    for (int i = 0; i < 2; i++) {
        e2[i].proto = 6;
        e2[i].role = CMN_ROLE_SERVER;
        e2[i].first_ns = (e + 1) * EPOCH;
        e2[i].last_ns = (e + 1) * EPOCH + 2 * NS;
    }
    static const uint32_t mid_c[4] = {5, 0, 0, 0}, mid_s[4] = {5, 0, 0, 0};
    struct cmn_session_rec s4 = s_tcp("10.0.0.30", 20000, "10.0.0.31", 50020, mid_c, mid_s, e + 1);
    s4.flags = CMN_SESS_B_INIT | CMN_SESS_MIDSTREAM;
    p = (struct mrg_part){.sessions = &s4, .n_sessions = 1, .endpoints = e2, .n_endpoints = 2};
    FAIL_IF(s_both(inc, full, ++e, &p, "mid-stream, both servers"));
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM edges WHERE client_ip = '10.0.0.30'"
                        " AND server_ip = '10.0.0.31' AND server_port = 50020") == 1);
    e2[0].confidence = 0.7f; /* the confidences swap: the edge follows */
    e2[1].confidence = 0.2f;
    s4.pkts[0] = s4.pkts[1] = 1;
    p = (struct mrg_part){.sessions = &s4, .n_sessions = 1, .endpoints = e2, .n_endpoints = 2};
    FAIL_IF(s_both(inc, full, ++e, &p, "mid-stream, confidences swapped"));
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM edges WHERE client_ip = '10.0.0.31'"
                        " AND server_port = 20000") == 1);
    mrg_db_close(&inc);
    mrg_db_close(&full);
    tu_db_path(pi, sizeof(pi), "mrg_refresh", "pr_incr");
    tu_db_path(pf, sizeof(pf), "mrg_refresh", "pr_full");
    PASS;
}

/* Directed: DHCP, mDNS, NetBIOS datagrams, IGMP and IPv6 multicast make
 * group rows and no edge but the DHCP one; retirement changes neither. */
TEST(groups_and_retirement)
{
    char pi[256], pf[256];
    tu_db_path(pi, sizeof(pi), "mrg_refresh", "gr_incr");
    tu_db_path(pf, sizeof(pf), "mrg_refresh", "gr_full");
    struct mrg_db *inc = mrg_db_open(pi), *full = mrg_db_open(pf);
    FAIL_IF_NOT(inc && full);
    mrg_db_set_full_refresh(full, true);
    struct mrg_retain keep = {1, 1, 1};
    mrg_db_set_retention(inc, &keep);
    uint64_t e = 1000;
    struct cmn_session_rec ss[] = {
        s_sess("0.0.0.0", 68, "255.255.255.255", 67, 17, 2, e),
        s_sess("10.0.0.1", 67, "255.255.255.255", 68, 17, 2, e),
        s_sess("10.0.0.1", 67, "10.0.0.50", 68, 17, 1, e),
        s_sess("10.0.0.5", 5353, "224.0.0.251", 5353, 17, 3, e),
        s_sess("10.0.0.6", 5353, "224.0.0.251", 5353, 17, 1, e),
        s_sess("10.0.0.5", 138, "10.0.0.255", 138, 17, 2, e),
        s_sess("10.0.0.5", 0, "224.0.0.22", 0, 2, 1, e),
        s_sess("fe80::1", 5353, "ff02::fb", 5353, 17, 4, e),
    };
    ss[2].pkts[0] = ss[2].pkts[1] = 1; /* the ack and the renewal */
    ss[2].bytes[0] = ss[2].bytes[1] = 300;
    /* the tracker's roles: the DHCP server and its (renewing) client */
    struct cmn_endpoint_rec ee[2];
    memset(ee, 0, sizeof(ee));
    tu_ip(ee[0].ip, "10.0.0.1");
    ee[0].port = 67;
    ee[0].role = CMN_ROLE_SERVER;
    ee[0].confidence = 0.8f;
    tu_ip(ee[1].ip, "10.0.0.50");
    ee[1].port = 68;
    ee[1].role = CMN_ROLE_CLIENT;
    ee[1].confidence = 0.8f;
    for (int i = 0; i < 2; i++) {
        ee[i].proto = 17;
        ee[i].first_ns = e * EPOCH;
        ee[i].last_ns = e * EPOCH + 2 * NS;
    }
    struct mrg_part p = {.sessions = ss,
                         .n_sessions = sizeof(ss) / sizeof(ss[0]),
                         .endpoints = ee,
                         .n_endpoints = 2};
    FAIL_IF(s_both(inc, full, e, &p, "groups"));
    sqlite3 *h = mrg_db_handle(inc);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM edges") == 1);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM edges WHERE client_ip = '10.0.0.50' AND"
                        " server_ip = '10.0.0.1' AND server_port = 67 AND packets_c2s = 1 AND"
                        " packets_s2c = 1") == 1);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM services") == 1);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM groups") == 6);
    FAIL_IF_NOT(tu_q(h, "SELECT senders * 100 + packets FROM groups WHERE"
                        " group_ip = '224.0.0.251' AND proto = 17 AND port = 5353") == 204);
    FAIL_IF_NOT(tu_q(h, "SELECT packets FROM groups WHERE group_ip = '255.255.255.255'"
                        " AND port = 67") == 2);
    FAIL_IF_NOT(tu_q(h, "SELECT packets FROM groups WHERE group_ip = '255.255.255.255'"
                        " AND port = 68") == 2);
    FAIL_IF_NOT(tu_q(h, "SELECT bytes FROM groups WHERE group_ip = '10.0.0.255'"
                        " AND port = 138") == 600);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM groups WHERE group_ip = '224.0.0.22' AND proto = 2"
                        " AND port = 0") == 1);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM groups WHERE group_ip = 'ff02::fb'") == 1);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM hosts WHERE ip = '10.0.0.1' AND kind = 'server'"
                        " AND services_used = 0") == 1);
    char *before = s_dump(h, "SELECT * FROM groups ORDER BY group_ip, proto, port");
    char *edges = s_dump(h, "SELECT * FROM edges");
    /* quiet epochs with other traffic, until everything above is retired */
    for (int n = 0; n < 4; n++) {
        e++;
        struct cmn_session_rec q = s_sess("10.0.0.7", 40000, "10.0.0.8", 9, 17, 1, e);
        p = (struct mrg_part){.sessions = &q, .n_sessions = 1};
        FAIL_IF(s_both(inc, full, e, &p, "quiet"));
    }
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM sessions WHERE first_ns < 1001 * 60000000000") == 0);
    FAIL_IF_NOT(tu_q(h, "SELECT COUNT(*) FROM sessions_retired") >= 6);
    char *after = s_dump(h, "SELECT * FROM groups ORDER BY group_ip, proto, port");
    char *edges2 = s_dump(h, "SELECT * FROM edges WHERE server_port = 67");
    int diff = strcmp(before, after) != 0 || strcmp(edges, edges2) != 0;
    if (diff)
        fprintf(stderr, "  before retirement:\n%s%s  after:\n%s%s", before, edges, after, edges2);
    free(before);
    free(after);
    free(edges);
    free(edges2);
    FAIL_IF(diff);
    mrg_db_close(&inc);
    mrg_db_close(&full);
    tu_db_path(pi, sizeof(pi), "mrg_refresh", "gr_incr");
    tu_db_path(pf, sizeof(pf), "mrg_refresh", "gr_full");
    PASS;
}

/* Every table a reader sees, in a fixed order (timestamps of the wall clock
 * left out). */
static const char *const s_all[] = {
    "SELECT * FROM sessions ORDER BY a_ip, b_ip, a_port, b_port, proto",
    "SELECT * FROM sessions_retired ORDER BY a_ip, b_ip, a_port, b_port, proto",
    "SELECT * FROM endpoints ORDER BY ip, proto, port",
    "SELECT * FROM events ORDER BY kind, target_ip, port, proto, actor_ip",
    ("SELECT epoch, start_ns, end_ns, packets, bytes, sessions, duplicates, trackers, final,"
     " commits FROM epochs ORDER BY epoch"),
    "SELECT * FROM usage_edges ORDER BY res, start_ns, server_ip, proto, server_port, client_ip",
    "SELECT * FROM usage_services ORDER BY res, start_ns, ip, proto, port",
    ("SELECT key, value FROM meta WHERE key NOT IN ('created_at', 'renkei_version')"
     " ORDER BY key"),
};
#define N_ALL (sizeof(s_all) / sizeof(s_all[0]))

/* Tables `sql[0..n)` of a and b equal; prints the first that differs. */
static int s_same_tables(struct mrg_db *a, struct mrg_db *b, const char *const *sql, size_t n,
                         uint64_t epoch, const char *what)
{
    for (size_t t = 0; t < n; t++) {
        char *x = s_dump(mrg_db_handle(a), sql[t]);
        char *y = s_dump(mrg_db_handle(b), sql[t]);
        int diff = strcmp(x, y) != 0;
        if (diff)
            fprintf(stderr, "  epoch %llu, %s: %s differs\n--- a\n%s--- b\n%s",
                    (unsigned long long)epoch, what, sql[t], x, y);
        free(x);
        free(y);
        if (diff)
            return 1;
    }
    return 0;
}

/* The live window's two ways through time: per-session detail written every
 * 4 commits (checkpoint_epochs) and a merger restarted every 5 epochs (the
 * window reloaded from the tables) give the same database as one merger
 * writing every commit: derived tables, services' endpoints, usage and meta
 * after every epoch, every table after a checkpoint and at the end. */
TEST(checkpoints_and_restarts)
{
    char pa[256], pb[256], pc[256];
    tu_db_path(pa, sizeof(pa), "mrg_refresh", "ck_every");
    tu_db_path(pb, sizeof(pb), "mrg_refresh", "ck_four");
    tu_db_path(pc, sizeof(pc), "mrg_refresh", "ck_restart");
    struct mrg_db *a = mrg_db_open(pa), *b = mrg_db_open(pb), *c = mrg_db_open(pc);
    FAIL_IF_NOT(a && b && c);
    struct mrg_retain r = {3, 1, 1};
    mrg_db_set_retention(a, &r);
    mrg_db_set_retention(b, &r);
    mrg_db_set_retention(c, &r);
    mrg_db_set_checkpoint_epochs(b, 4);
    static const char *const svc_eps =
        "SELECT * FROM endpoints WHERE role = 'server' ORDER BY ip, proto, port";
    s_rng = 0x853c49e6748fea9bull;
    uint64_t e = 5000;
    const int epochs = 60;
    for (int n = 0; n < epochs; n++) {
        struct cmn_session_rec ss[40];
        struct cmn_endpoint_rec ee[16];
        size_t ns = 8 + s_rand(32), ne = s_rand(16);
        for (size_t i = 0; i < ns; i++)
            ss[i] = s_rand_sess(e);
        for (size_t i = 0; i < ne; i++)
            ee[i] = s_rand_ep(e);
        struct mrg_part p = {.sessions = ss, .n_sessions = ns, .endpoints = ee, .n_endpoints = ne};
        bool final = n == epochs - 1;
        FAIL_IF_NOT(mrg_db_commit_epoch(a, e, EPOCH, final, &p, 1, NULL) == 0);
        FAIL_IF_NOT(mrg_db_commit_epoch(b, e, EPOCH, final, &p, 1, NULL) == 0);
        FAIL_IF_NOT(mrg_db_commit_epoch(c, e, EPOCH, final, &p, 1, NULL) == 0);
        FAIL_IF(s_same(a, b, e, "checkpoint_epochs 4"));
        FAIL_IF(s_same_tables(a, b, &svc_eps, 1, e, "checkpoint_epochs 4"));
        FAIL_IF(s_same_tables(a, b, s_all + 3, N_ALL - 3, e, "checkpoint_epochs 4"));
        if (n % 4 == 3 || final)
            FAIL_IF(s_same_tables(a, b, s_all, N_ALL, e, "checkpoint_epochs 4, checkpoint"));
        FAIL_IF(s_same(a, c, e, "restarted"));
        FAIL_IF(s_same_tables(a, c, s_all, N_ALL, e, "restarted"));
        if (n % 5 == 4) {
            mrg_db_close(&c);
            c = mrg_db_open(pc);
            FAIL_IF_NOT(c);
            mrg_db_set_retention(c, &r);
            FAIL_IF(s_same(a, c, e, "reloaded"));
            FAIL_IF(s_same_tables(a, c, s_all, N_ALL, e, "reloaded"));
        }
        e += 1 + (s_rand(6) == 0);
    }
    /* closing writes what waits; reopening reloads the same window */
    mrg_db_close(&b);
    b = mrg_db_open(pb);
    FAIL_IF_NOT(b);
    FAIL_IF(s_same(a, b, e, "checkpoint_epochs 4, reopened"));
    FAIL_IF(s_same_tables(a, b, s_all, N_ALL, e, "checkpoint_epochs 4, reopened"));
    FAIL_IF_NOT(tu_q(mrg_db_handle(a), "SELECT COUNT(*) FROM sessions_retired") > 0);
    struct mrg_live_stats ls;
    mrg_db_live_stats(a, &ls);
    FAIL_IF_NOT(ls.sessions > 0 && ls.bytes > 0 && ls.refused == 0 && ls.sessions_evicted == 0);
    mrg_db_close(&a);
    mrg_db_close(&b);
    mrg_db_close(&c);
    tu_db_path(pa, sizeof(pa), "mrg_refresh", "ck_every");
    tu_db_path(pb, sizeof(pb), "mrg_refresh", "ck_four");
    tu_db_path(pc, sizeof(pc), "mrg_refresh", "ck_restart");
    PASS;
}

/* A memcap far below the window: the oldest live sessions retire early
 * (counted), which changes no derived row; new rows past the cap are
 * refused and counted. */
TEST(memcap_evicts)
{
    char pa[256], pb[256];
    tu_db_path(pa, sizeof(pa), "mrg_refresh", "cap_none");
    tu_db_path(pb, sizeof(pb), "mrg_refresh", "cap_small");
    struct mrg_db *a = mrg_db_open(pa), *b = mrg_db_open(pb);
    FAIL_IF_NOT(a && b);
    struct mrg_retain keep = {0, 0, 0}; /* nothing retires by age */
    mrg_db_set_retention(a, &keep);
    mrg_db_set_retention(b, &keep);
    struct mrg_live_stats ls;
    mrg_db_live_stats(b, &ls);
    mrg_db_set_memcap(b, ls.bytes + 64 * 1024); /* room for a few hundred sessions */
    s_rng = 0x2545f4914f6cdd1dull;
    uint64_t e = 7000;
    for (int n = 0; n < 40; n++) {
        struct cmn_session_rec ss[64];
        for (size_t i = 0; i < 64; i++) {
            ss[i] = s_rand_sess(e);
            ss[i].a_port = (uint16_t)(1024 + n * 64 + i); /* new sessions every epoch */
        }
        struct mrg_part p = {.sessions = ss, .n_sessions = 64};
        FAIL_IF_NOT(mrg_db_commit_epoch(a, e, EPOCH, false, &p, 1, NULL) == 0);
        FAIL_IF_NOT(mrg_db_commit_epoch(b, e, EPOCH, false, &p, 1, NULL) == 0);
        mrg_db_live_stats(b, &ls);
        if (ls.refused == 0) /* the same derived rows while nothing was refused */
            FAIL_IF(s_same(a, b, e, "memcap"));
        e++;
    }
    mrg_db_live_stats(b, &ls);
    FAIL_IF_NOT(ls.sessions_evicted > 0);
    FAIL_IF_NOT(tu_q(mrg_db_handle(b), "SELECT COUNT(*) FROM sessions") <
                tu_q(mrg_db_handle(a), "SELECT COUNT(*) FROM sessions"));
    FAIL_IF_NOT(tu_q(mrg_db_handle(b), "SELECT COUNT(*) FROM sessions_retired") > 0);
    mrg_db_close(&a);
    mrg_db_close(&b);
    tu_db_path(pa, sizeof(pa), "mrg_refresh", "cap_none");
    tu_db_path(pb, sizeof(pb), "mrg_refresh", "cap_small");
    PASS;
}

TEST_MAIN(TEST_ENTRY(endpoint_only_epochs) TEST_ENTRY(groups_and_retirement)
              TEST_ENTRY(probe_sessions) TEST_ENTRY(deltas_that_move_edges)
                  TEST_ENTRY(retained_short) TEST_ENTRY(retained_never) TEST_ENTRY(many_seeds)
                      TEST_ENTRY(checkpoints_and_restarts) TEST_ENTRY(memcap_evicts))
