/* SPDX-License-Identifier: MIT
 * test_mrg_rollup: retention and roll-ups of the merger database. Sessions
 * idle for retain_minutes (and as many committed epochs) are retired into
 * per-edge rows while edges, services, hosts and meta totals stay the same;
 * per-epoch usage rows roll up per hour and per day and expire; a sparse
 * capture (epochs years apart) retires nothing early. Usage example of
 * mrg_db_set_retention and the usage_edges / usage_services tables.
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
#include "mrg_rollup.h"

#define NS  1000000000ull
#define MIN (60 * NS)

/* Session client:cport -> server:sport seen in epoch `ep` (client is A). */
static struct cmn_session_rec s_sess(const char *c, uint16_t cport, const char *srv, uint16_t sport,
                                     uint64_t ep, uint64_t pkts)
{
    struct cmn_session_rec r;
    memset(&r, 0, sizeof(r));
    tu_ip(r.a_ip, c);
    tu_ip(r.b_ip, srv);
    r.a_port = cport;
    r.b_port = sport;
    r.proto = 6;
    r.flags = CMN_SESS_A_INIT;
    r.pkts[0] = pkts;
    r.pkts[1] = pkts;
    r.bytes[0] = pkts * 100;
    r.bytes[1] = pkts * 1000;
    r.syn[0] = 1;
    r.synack[1] = 1;
    r.first_ns = ep * MIN + NS;
    r.last_ns = ep * MIN + 2 * NS;
    return r;
}

static struct cmn_endpoint_rec s_ep(const char *ip, uint16_t port, uint8_t role, uint64_t ep)
{
    struct cmn_endpoint_rec e;
    memset(&e, 0, sizeof(e));
    tu_ip(e.ip, ip);
    e.proto = 6;
    e.port = port;
    e.role = role;
    e.confidence = 0.9f;
    e.first_ns = NS;
    e.last_ns = ep * MIN + 2 * NS;
    return e;
}

/* Commit epoch `ep`: client 10.0.0.<c> opens one new session (port 40000+ep)
 * to 172.16.0.10:443 for each c in 1..nclients. */
static int s_epoch(struct mrg_db *db, uint64_t ep, int nclients)
{
    struct cmn_session_rec s[8];
    struct cmn_endpoint_rec e[9];
    char ip[32];
    for (int c = 0; c < nclients; c++) {
        snprintf(ip, sizeof(ip), "10.0.0.%d", c + 1);
        s[c] = s_sess(ip, (uint16_t)(40000 + ep), "172.16.0.10", 443, ep, 5);
        e[c] = s_ep(ip, (uint16_t)(40000 + ep), CMN_ROLE_CLIENT, ep);
    }
    e[nclients] = s_ep("172.16.0.10", 443, CMN_ROLE_SERVER, ep);
    struct mrg_part part = {.sessions = s,
                            .n_sessions = (size_t)nclients,
                            .endpoints = e,
                            .n_endpoints = (size_t)nclients + 1};
    return mrg_db_commit_epoch(db, ep, MIN, false, &part, 1, NULL);
}

/* Derived results must not depend on retention: compare with a database
 * that keeps everything. */
TEST(retire_keeps_totals)
{
    char p1[256], p2[256];
    tu_db_path(p1, sizeof(p1), "mrg_rollup", "short");
    tu_db_path(p2, sizeof(p2), "mrg_rollup", "all");
    struct mrg_db *a = mrg_db_open(p1), *b = mrg_db_open(p2);
    FAIL_IF_NOT(a && b);
    const struct mrg_retain shortr = {5, 2, 2}, all = {0, 0, 0};
    mrg_db_set_retention(a, &shortr);
    mrg_db_set_retention(b, &all);
    for (uint64_t ep = 1000; ep < 1000 + 200; ep++) {
        FAIL_IF_NOT(s_epoch(a, ep, 3) == 0);
        FAIL_IF_NOT(s_epoch(b, ep, 3) == 0);
    }
    /* live sessions: only the recent window; the rest is retired per edge */
    FAIL_IF_NOT(tu_q(mrg_db_handle(b), "SELECT COUNT(*) FROM sessions") == 600);
    FAIL_IF_NOT(tu_q(mrg_db_handle(a), "SELECT COUNT(*) FROM sessions") <= 3 * 6);
    FAIL_IF_NOT(tu_q(mrg_db_handle(a), "SELECT COUNT(*) FROM sessions_retired") == 3);
    FAIL_IF_NOT(tu_q(mrg_db_handle(a), "SELECT SUM(retired) FROM sessions_retired") +
                    tu_q(mrg_db_handle(a), "SELECT COUNT(*) FROM sessions") ==
                600);
    /* same derived tables and totals */
    const char *same[] = {
        "SELECT SUM(packets_c2s) * 1000003 + SUM(bytes_s2c) + SUM(sessions) FROM edges",
        "SELECT COUNT(*) FROM edges",
        "SELECT SUM(sessions) FROM edges",
        "SELECT clients * 1000 + packets FROM services",
        "SELECT SUM(packets_out + packets_in) + SUM(bytes_in) FROM hosts",
        "SELECT MIN(first_ns) + MAX(last_ns) FROM hosts",
        "SELECT value FROM meta WHERE key = 'packets'",
        "SELECT value FROM meta WHERE key = 'bytes'",
        "SELECT value FROM meta WHERE key = 'first_seen_ns'",
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        int64_t va = tu_q(mrg_db_handle(a), same[i]), vb = tu_q(mrg_db_handle(b), same[i]);
        if (va != vb)
            fprintf(stderr, "  %s: %lld vs %lld\n", same[i], (long long)va, (long long)vb);
        FAIL_IF_NOT(va == vb && va > 0);
    }
    FAIL_IF_NOT(tu_q(mrg_db_handle(a), "SELECT sessions FROM edges WHERE client_ip = '10.0.0.1'") ==
                200);
    /* client endpoints of retired sessions are gone, the server stays */
    FAIL_IF_NOT(tu_q(mrg_db_handle(a), "SELECT COUNT(*) FROM endpoints WHERE role = 'server'") ==
                1);
    FAIL_IF_NOT(tu_q(mrg_db_handle(a), "SELECT COUNT(*) FROM endpoints") < 3 * 10);
    mrg_db_close(&a);
    mrg_db_close(&b);
    tu_db_rm(p1);
    tu_db_rm(p2);
    PASS;
}

TEST(usage_rolls_up)
{
    char p[256];
    tu_db_path(p, sizeof(p), "mrg_rollup", "usage");
    struct mrg_db *db = mrg_db_open(p);
    FAIL_IF_NOT(db);
    const struct mrg_retain r = {10, 3, 2};
    mrg_db_set_retention(db, &r);
    /* 3 days of one epoch per minute would be slow: every 5th minute */
    const uint64_t day0 = 20000 * 1440; /* epoch number at a day boundary */
    uint64_t pkts = 0;
    for (uint64_t ep = day0; ep < day0 + 3 * 1440; ep += 5) {
        FAIL_IF_NOT(s_epoch(db, ep, 2) == 0);
        pkts += 2 * 2 * 5;
    }
    const uint64_t last = day0 + 3 * 1440 - 5;
    /* per-epoch rows only in the last 10 minutes, hourly in the last 3 h */
    FAIL_IF_NOT(tu_q(mrg_db_handle(db),
                     "SELECT COUNT(DISTINCT start_ns) FROM usage_edges WHERE res = 60") == 2);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db),
                     "SELECT COUNT(DISTINCT start_ns) FROM usage_edges WHERE res = 3600") <= 3);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db),
                     "SELECT COUNT(DISTINCT start_ns) FROM usage_edges WHERE res = 86400") == 2);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT MIN(start_ns) % 86400000000000 FROM usage_edges"
                                        " WHERE res = 86400") == 0);
    /* a full day row: 288 epochs x 2 clients x 10 packets */
    char q[256];
    snprintf(q, sizeof(q),
             "SELECT SUM(packets_c2s + packets_s2c) FROM usage_edges WHERE res = 86400"
             " AND start_ns = %llu",
             (unsigned long long)((day0 + 1440) * MIN));
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), q) == 288 * 2 * 10);
    snprintf(q, sizeof(q),
             "SELECT clients * 1000000 + packets FROM usage_services WHERE res = 86400"
             " AND start_ns = %llu AND ip = '172.16.0.10' AND port = 443",
             (unsigned long long)((day0 + 1440) * MIN));
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), q) == 2 * 1000000 + 288 * 2 * 10);
    /* nothing is lost between levels: rows of all levels add up to the day
     * rows kept plus what is still hourly or per epoch */
    int64_t kept =
        tu_q(mrg_db_handle(db), "SELECT SUM(packets_c2s + packets_s2c) FROM usage_edges");
    FAIL_IF_NOT(kept > 0 && (uint64_t)kept <= pkts);
    FAIL_IF_NOT((uint64_t)kept == pkts - 288 * 2 * 10); /* day 0 expired (2 days kept) */
    /* epochs rows follow retain_hours */
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM epochs") <= 3 * 12 + 1);
    snprintf(q, sizeof(q), "SELECT MAX(epoch) = %llu FROM epochs", (unsigned long long)last);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), q) == 1);
    mrg_db_close(&db);
    tu_db_rm(p);
    PASS;
}

/* Epochs years apart (merged old captures): the committed-epoch count keeps
 * their sessions live, so the per-5-tuple table still holds all of them. */
TEST(sparse_epochs_retire_nothing)
{
    char p[256];
    tu_db_path(p, sizeof(p), "mrg_rollup", "sparse");
    struct mrg_db *db = mrg_db_open(p);
    FAIL_IF_NOT(db);
    const struct mrg_retain r = {5, 1, 1};
    mrg_db_set_retention(db, &r);
    for (uint64_t i = 0; i < 5; i++)
        FAIL_IF_NOT(s_epoch(db, 1000 + i * 525600, 2) == 0); /* a year apart */
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM sessions") == 10);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM sessions_retired") == 0);
    for (uint64_t i = 0; i < 6; i++) /* now 6 more epochs: the first ones go */
        FAIL_IF_NOT(s_epoch(db, 1000 + 5 * 525600 + i, 2) == 0);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM sessions_retired") > 0);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT SUM(retired) FROM sessions_retired") +
                    tu_q(mrg_db_handle(db), "SELECT COUNT(*) FROM sessions") ==
                22);
    FAIL_IF_NOT(tu_q(mrg_db_handle(db), "SELECT value FROM meta WHERE key = 'packets'") == 22 * 10);
    mrg_db_close(&db);
    tu_db_rm(p);
    PASS;
}

TEST_MAIN(TEST_ENTRY(retire_keeps_totals) TEST_ENTRY(usage_rolls_up)
              TEST_ENTRY(sparse_epochs_retire_nothing))
