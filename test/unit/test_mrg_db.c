/* SPDX-License-Identifier: MIT
 * test_mrg_db: the merger's database: epochs add up, a session reported by
 * two trackers is stored once, services and edges follow endpoint roles
 * (one server, both servers, no server), endpoints are replaced, stats and
 * meta round-trip, hosts_file names hosts. Doubles as mrg_db usage example.
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

#define NS 1000000000ull

/* A session a:ap <-> b:bp (a must be the lower address). */
static struct cmn_session_rec s_sess(const char *a, uint16_t ap, const char *b, uint16_t bp,
                                     uint8_t proto, uint64_t pab, uint64_t pba, uint8_t flags)
{
    struct cmn_session_rec r;
    memset(&r, 0, sizeof(r));
    tu_ip(r.a_ip, a);
    tu_ip(r.b_ip, b);
    r.a_port = ap;
    r.b_port = bp;
    r.proto = proto;
    r.flags = flags;
    r.pkts[0] = pab;
    r.pkts[1] = pba;
    r.bytes[0] = pab * 100;
    r.bytes[1] = pba * 1000;
    r.first_ns = 1000 * NS;
    r.last_ns = 1010 * NS;
    return r;
}

static struct cmn_endpoint_rec s_ep(const char *ip, uint8_t proto, uint16_t port, uint8_t role,
                                    float conf)
{
    struct cmn_endpoint_rec e;
    memset(&e, 0, sizeof(e));
    tu_ip(e.ip, ip);
    e.proto = proto;
    e.port = port;
    e.role = role;
    e.confidence = conf;
    e.peers = 1;
    e.first_ns = 1000 * NS;
    e.last_ns = 1010 * NS;
    return e;
}

TEST(open_close_reopen)
{
    char p[256];
    tu_db_path(p, sizeof(p), "mrg_db", "open");
    struct mrg_db *db = mrg_db_open(p);
    FAIL_IF_NOT(db);
    FAIL_IF_NOT(mrg_db_meta_u64(db, "schema_version", 0) == MRG_SCHEMA_VERSION);
    FAIL_IF_NOT(mrg_db_meta_set_u64(db, "x", 42) == 0);
    FAIL_IF_NOT(mrg_db_meta_set_text(db, "y", "hello") == 0);
    mrg_db_close(&db);
    FAIL_IF_NOT(db == NULL);
    mrg_db_close(&db); /* NULL is fine */
    db = mrg_db_open(p);
    FAIL_IF_NOT(db);
    FAIL_IF_NOT(mrg_db_meta_u64(db, "x", 0) == 42);
    FAIL_IF_NOT(mrg_db_meta_u64(db, "absent", 7) == 7);
    mrg_db_close(&db);
    /* not a database */
    FILE *f = fopen(p, "w");
    fputs("this is not sqlite, definitely not, just some text that is long enough\n", f);
    fclose(f);
    tu_db_path(p, sizeof(p), "mrg_db", "open"); /* removes wal/shm too */
    f = fopen(p, "w");
    fputs("this is not sqlite, definitely not, just some text that is long enough\n", f);
    fclose(f);
    FAIL_IF(mrg_db_open(p) != NULL);
    tu_db_rm(p);
    PASS;
}

TEST(epochs_add_up)
{
    char p[256];
    tu_db_path(p, sizeof(p), "mrg_db", "add");
    struct mrg_db *db = mrg_db_open(p);
    FAIL_IF_NOT(db);
    struct cmn_session_rec s1 = s_sess("10.0.0.1", 40000, "10.0.0.2", 80, 6, 3, 2, CMN_SESS_A_INIT);
    struct mrg_part part = {.tracker_id = 0, .sessions = &s1, .n_sessions = 1};
    struct mrg_epoch_stats st;
    FAIL_IF_NOT(mrg_db_commit_epoch(db, 16, 60 * NS, false, &part, 1, &st) == 0);
    FAIL_IF_NOT(st.sessions == 1 && st.packets == 5 && st.duplicates == 0);
    s1.flags = CMN_SESS_B_INIT; /* later epochs do not change the initiator */
    s1.first_ns = 1070 * NS;
    s1.last_ns = 1080 * NS;
    FAIL_IF_NOT(mrg_db_commit_epoch(db, 17, 60 * NS, false, &part, 1, &st) == 0);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT pkts_ab FROM sessions") == 6);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT bytes_ba FROM sessions") == 4000);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT flags & 3 FROM sessions") == CMN_SESS_A_INIT);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT epochs FROM sessions") == 2);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT first_ns FROM sessions") == (int64_t)(1000 * NS));
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT last_ns FROM sessions") == (int64_t)(1080 * NS));
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM epochs") == 2);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT start_ns FROM epochs WHERE epoch = 17") ==
                (int64_t)(17 * 60 * NS));
    FAIL_IF_NOT(mrg_db_meta_u64(db, "packets", 0) == 10);
    FAIL_IF_NOT(mrg_db_meta_u64(db, "bytes", 0) == 2 * (300 + 2000));
    FAIL_IF_NOT(mrg_db_meta_u64(db, "first_seen_ns", 0) == 1000 * NS);
    FAIL_IF_NOT(mrg_db_meta_u64(db, "last_seen_ns", 0) == 1080 * NS);
    /* the same epoch again (a late result) adds to its row */
    FAIL_IF_NOT(mrg_db_commit_epoch(db, 17, 60 * NS, false, &part, 1, &st) == 0);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT packets FROM epochs WHERE epoch = 17") == 10);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT commits FROM epochs WHERE epoch = 17") == 2);
    /* hosts: totals per direction, no roles yet: client, no services */
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT packets_out FROM hosts WHERE ip = '10.0.0.1'") ==
                9);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT packets_in FROM hosts WHERE ip = '10.0.0.1'") == 6);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM services") == 0);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM edges") == 0);
    mrg_db_close(&db);
    tu_db_rm(p);
    PASS;
}

TEST(shared_session_dedup)
{
    char p[256];
    tu_db_path(p, sizeof(p), "mrg_db", "dedup");
    struct mrg_db *db = mrg_db_open(p);
    FAIL_IF_NOT(db);
    /* 10.0.0.1 is owned by tracker 0, 10.200.0.1 by tracker 1: both report */
    struct cmn_session_rec a[2] = {
        s_sess("10.0.0.1", 40000, "10.200.0.1", 443, 6, 10, 8, CMN_SESS_A_INIT),
        s_sess("10.0.0.1", 40001, "10.0.0.9", 22, 6, 1, 1, CMN_SESS_A_INIT),
    };
    struct cmn_session_rec b[1] = {
        s_sess("10.0.0.1", 40000, "10.200.0.1", 443, 6, 10, 8, CMN_SESS_A_INIT),
    };
    struct mrg_part parts[2] = {
        {.tracker_id = 0, .sessions = a, .n_sessions = 2},
        {.tracker_id = 1, .sessions = b, .n_sessions = 1},
    };
    struct mrg_epoch_stats st;
    FAIL_IF_NOT(mrg_db_commit_epoch(db, 1, 60 * NS, false, parts, 2, &st) == 0);
    FAIL_IF_NOT(st.sessions == 2);
    FAIL_IF_NOT(st.duplicates == 1);
    FAIL_IF_NOT(st.mismatched == 0);
    FAIL_IF_NOT(st.packets == 20);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT pkts_ab FROM sessions WHERE b_port = 443") == 10);
    FAIL_IF_NOT(mrg_db_meta_u64(db, "shared_sessions_deduplicated", 0) == 1);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT duplicates FROM epochs WHERE epoch = 1") == 1);
    /* next epoch: the key set starts empty again, deltas add */
    b[0].pkts[0] = 99; /* a differing copy is still dropped, but counted */
    FAIL_IF_NOT(mrg_db_commit_epoch(db, 2, 60 * NS, false, parts, 2, &st) == 0);
    FAIL_IF_NOT(st.duplicates == 1 && st.mismatched == 1);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT pkts_ab FROM sessions WHERE b_port = 443") == 20);
    FAIL_IF_NOT(mrg_db_meta_u64(db, "shared_sessions_deduplicated", 0) == 2);
    mrg_db_close(&db);
    tu_db_rm(p);
    PASS;
}

TEST(services_and_edges)
{
    char p[256];
    tu_db_path(p, sizeof(p), "mrg_db", "edges");
    struct mrg_db *db = mrg_db_open(p);
    FAIL_IF_NOT(db);
    struct cmn_session_rec s[] = {
        /* two clients of postgres on 172.16.0.10 (B side) */
        s_sess("10.3.0.20", 50000, "172.16.0.10", 5432, 6, 10, 20, CMN_SESS_A_INIT),
        s_sess("10.3.0.20", 50001, "172.16.0.10", 5432, 6, 1, 2, CMN_SESS_A_INIT),
        s_sess("10.3.0.21", 50000, "172.16.0.10", 5432, 6, 5, 5, CMN_SESS_A_INIT),
        /* server on the A side: 10.0.0.5:53 answers 10.9.0.1 */
        s_sess("10.0.0.5", 53, "10.9.0.1", 33333, 17, 1, 1, CMN_SESS_B_INIT),
        /* both servers: ntp 123 <-> 123, B initiated: B is the client */
        s_sess("10.0.0.7", 123, "10.0.0.8", 123, 17, 4, 4, CMN_SESS_B_INIT),
        /* neither side a server: no edge, only totals */
        s_sess("10.0.0.30", 6000, "10.0.0.31", 7000, 6, 3, 0, CMN_SESS_A_INIT),
        /* ICMP: totals only */
        s_sess("10.3.0.20", 0x0800, "172.16.0.10", 0, 1, 2, 2, CMN_SESS_A_INIT),
    };
    struct cmn_endpoint_rec e[] = {
        s_ep("172.16.0.10", 6, 5432, CMN_ROLE_SERVER, 0.98f),
        s_ep("10.3.0.20", 6, 50000, CMN_ROLE_CLIENT, 0.9f),
        s_ep("10.0.0.5", 17, 53, CMN_ROLE_SERVER, 0.7f),
        s_ep("10.0.0.7", 17, 123, CMN_ROLE_SERVER, 0.6f),
        s_ep("10.0.0.8", 17, 123, CMN_ROLE_SERVER, 0.6f),
        s_ep("10.0.0.30", 6, 6000, CMN_ROLE_UNKNOWN, 0.1f),
    };
    struct mrg_part part = {.sessions = s, .n_sessions = 7, .endpoints = e, .n_endpoints = 6};
    struct mrg_epoch_stats st;
    FAIL_IF_NOT(mrg_db_commit_epoch(db, 1, 60 * NS, false, &part, 1, &st) == 0);
    FAIL_IF_NOT(st.endpoints == 6);
    /* edges */
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM edges") == 4);
    FAIL_IF_NOT(
        tu_q(mrg_db_handle(db), "SELECT sessions FROM edges WHERE client_ip = '10.3.0.20'") == 2);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db),
                     "SELECT packets_c2s FROM edges WHERE client_ip = '10.3.0.20'") == 11);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db),
                     "SELECT bytes_s2c FROM edges WHERE client_ip = '10.3.0.20'") == 22000);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT packets_c2s FROM edges WHERE server_ip = '10.0.0.5'"
                                        " AND client_ip = '10.9.0.1' AND server_port = 53") == 1);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM edges WHERE client_ip = '10.0.0.8'"
                                        " AND server_ip = '10.0.0.7' AND server_port = 123") == 1);
    FAIL_IF_NOT(
        tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM edges WHERE client_ip = '10.0.0.7'") == 0);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db),
                     "SELECT COUNT(*) FROM edges WHERE client_ip LIKE '10.0.0.3%'"
                     " OR server_ip LIKE '10.0.0.3%'") == 0);
    /* services */
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM services") == 4);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT clients FROM services WHERE ip = '172.16.0.10'") ==
                2);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT packets FROM services WHERE ip = '172.16.0.10'") ==
                43);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT CAST(confidence * 100 + 0.5 AS INT) FROM services"
                                        " WHERE ip = '172.16.0.10'") == 98);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT clients FROM services WHERE ip = '10.0.0.8'") == 0);
    /* hosts: kinds and totals including ICMP and the no-server pair */
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM hosts") == 9);
    FAIL_IF_NOT(
        tu_q(mrg_db_handle(db), "SELECT kind = 'server' FROM hosts WHERE ip = '172.16.0.10'") == 1);
    FAIL_IF_NOT(
        tu_q(mrg_db_handle(db), "SELECT kind = 'client' FROM hosts WHERE ip = '10.3.0.20'") == 1);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT kind = 'both' FROM hosts WHERE ip = '10.0.0.8'") ==
                1);
    /* neither provides nor uses a service (scanner, spoofed source): unknown */
    FAIL_IF_NOT(
        tu_q(mrg_db_handle(db), "SELECT kind = 'unknown' FROM hosts WHERE ip = '10.0.0.30'") == 1);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT packets_out FROM hosts WHERE ip = '10.3.0.20'") ==
                13);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT network = '172.16.0.0/24' FROM hosts"
                                        " WHERE ip = '172.16.0.10'") == 1);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT services_used FROM hosts WHERE ip = '10.0.0.8'") ==
                1);
    FAIL_IF_NOT(
        tu_q(mrg_db_handle(db), "SELECT services_provided FROM hosts WHERE ip = '10.0.0.8'") == 1);
    mrg_db_close(&db);
    tu_db_rm(p);
    PASS;
}

TEST(endpoints_replaced)
{
    char p[256];
    tu_db_path(p, sizeof(p), "mrg_db", "repl");
    struct mrg_db *db = mrg_db_open(p);
    FAIL_IF_NOT(db);
    struct cmn_session_rec s =
        s_sess("10.0.0.1", 40000, "10.0.0.2", 8080, 6, 1, 1, CMN_SESS_A_INIT);
    struct cmn_endpoint_rec e = s_ep("10.0.0.2", 6, 8080, CMN_ROLE_UNKNOWN, 0.2f);
    e.peers = 1;
    struct mrg_part part = {.sessions = &s, .n_sessions = 1, .endpoints = &e, .n_endpoints = 1};
    FAIL_IF_NOT(mrg_db_commit_epoch(db, 1, 60 * NS, false, &part, 1, NULL) == 0);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM services") == 0);
    e.role = CMN_ROLE_SERVER;
    e.confidence = 0.9f;
    e.peers = 5;
    part.n_sessions = 0;
    FAIL_IF_NOT(mrg_db_commit_epoch(db, 2, 60 * NS, true, &part, 1, NULL) == 0);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM endpoints") == 1);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT peers FROM endpoints") == 5);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT role = 'server' FROM endpoints") == 1);
    /* the earlier session now makes an edge */
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM services") == 1);
    FAIL_IF_NOT(
        tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM edges WHERE client_ip = '10.0.0.1'") == 1);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT final FROM epochs WHERE epoch = 2") == 1);
    /* events: replaced by key */
    struct cmn_event_rec ev;
    memset(&ev, 0, sizeof(ev));
    tu_ip(ev.target_ip, "10.0.0.2");
    ev.port = 8080;
    ev.kind = CMN_EVENT_SYN_FLOOD;
    ev.proto = 6;
    ev.source_count = 100;
    ev.packets = 1000;
    struct mrg_part ep = {.events = &ev, .n_events = 1};
    FAIL_IF_NOT(mrg_db_commit_epoch(db, 3, 60 * NS, false, &ep, 1, NULL) == 0);
    ev.packets = 2000;
    FAIL_IF_NOT(mrg_db_commit_epoch(db, 4, 60 * NS, false, &ep, 1, NULL) == 0);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM events") == 1);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT packets FROM events WHERE kind = 'syn_flood'") ==
                2000);
    mrg_db_close(&db);
    tu_db_rm(p);
    PASS;
}

TEST(stats_and_hosts_file)
{
    char p[256], hf[256];
    tu_db_path(p, sizeof(p), "mrg_db", "stats");
    snprintf(hf, sizeof(hf), "/tmp/renkei_test_hosts_%d", (int)getpid());
    FILE *f = fopen(hf, "w");
    fputs("# comment\n172.16.0.10 db1.example db1\n\nbogus-line\n::1 localhost6\n"
          "172.16.0.10 other.example\n",
          f);
    fclose(f);
    struct mrg_db *db = mrg_db_open(p);
    FAIL_IF_NOT(db);
    struct cmn_counter c[] = {{"records_received", 10}, {"records_lost", 0}};
    FAIL_IF_NOT(mrg_db_put_stats(db, "tracker", 1, "t1", false, c, 2) == 0);
    c[0].value = 20;
    FAIL_IF_NOT(mrg_db_put_stats(db, "tracker", 1, "t1", true, c, 2) == 0);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db),
                     "SELECT value FROM node_stats WHERE kind = 'tracker' AND node_id = 1"
                     " AND counter = 'records_received'") == 20);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM node_stats WHERE final = 1") == 2);
    struct cmn_session_rec s =
        s_sess("10.3.0.20", 50000, "172.16.0.10", 5432, 6, 1, 1, CMN_SESS_A_INIT);
    struct mrg_part part = {.sessions = &s, .n_sessions = 1};
    FAIL_IF_NOT(mrg_db_commit_epoch(db, 1, 60 * NS, false, &part, 1, NULL) == 0);
    FAIL_IF_NOT(mrg_db_load_hosts_file(db, hf) == 2);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db),
                     "SELECT name = 'db1.example' FROM hosts WHERE ip = '172.16.0.10'") == 1);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT name IS NULL FROM hosts WHERE ip = '10.3.0.20'") ==
                1);
    FAIL_IF_NOT(mrg_db_load_hosts_file(db, "/nonexistent/hosts") < 0);
    /* names survive the next refresh */
    FAIL_IF_NOT(mrg_db_refresh(db) == 0);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db),
                     "SELECT name = 'db1.example' FROM hosts WHERE ip = '172.16.0.10'") == 1);
    mrg_db_close(&db);
    tu_db_rm(p);
    unlink(hf);
    PASS;
}

TEST_MAIN(TEST_ENTRY(open_close_reopen) TEST_ENTRY(epochs_add_up) TEST_ENTRY(shared_session_dedup)
              TEST_ENTRY(services_and_edges) TEST_ENTRY(endpoints_replaced)
                  TEST_ENTRY(stats_and_hosts_file))
