/* SPDX-License-Identifier: MIT
 * test_mrg_node: drives a merger node over inproc ZeroMQ with crafted Hello,
 * TrackerResult (chunked, shared sessions), Stats and EndOfStream messages,
 * then checks the database and the end-of-run accounting: a clean run exits
 * 0, a run where a tracker received fewer records than the splitter sent
 * exits CMN_EXIT_LOST naming the pipe. Garbage messages are counted.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <zmq.h>

#include "cmn_cli.h"
#include "cmn_ip.h"
#include "cmn_wire.h"
#include "db_testutil.h"
#include "harness.h"
#include "mrg_db.h"
#include "mrg_node.h"

#define NS 1000000000ull

struct runner {
    struct mrg_node *node; /* node under test */
    int rc;                /* mrg_node_run's exit code */
    pthread_t th;          /* thread running it */
};

static void *s_run(void *arg)
{
    struct runner *r = arg;
    r->rc = mrg_node_run(r->node);
    return NULL;
}

/* Join within 10 s, else stop the node and report a hang. */
static int s_join(struct runner *r)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    if (pthread_timedjoin_np(r->th, NULL, &ts) != 0) {
        fprintf(stderr, "  merger did not finish: stopping it\n");
        mrg_node_stop(r->node);
        pthread_join(r->th, NULL);
        return -1;
    }
    return 0;
}

static struct cmn_session_rec s_sess(const char *a, uint16_t ap, const char *b, uint16_t bp,
                                     uint64_t pkts)
{
    struct cmn_session_rec r;
    memset(&r, 0, sizeof(r));
    cmn_ip_parse(a, r.a_ip);
    cmn_ip_parse(b, r.b_ip);
    r.a_port = ap;
    r.b_port = bp;
    r.proto = 6;
    r.flags = CMN_SESS_A_INIT;
    r.pkts[0] = pkts;
    r.pkts[1] = pkts;
    r.bytes[0] = pkts * 60;
    r.bytes[1] = pkts * 1500;
    r.first_ns = 300 * NS;
    r.last_ns = 301 * NS;
    return r;
}

static int s_send_result(void *sock, uint32_t tid, uint64_t epoch, bool final, uint32_t chunk,
                         uint32_t chunks, const struct cmn_session_rec *s, size_t ns,
                         const struct cmn_endpoint_rec *e, size_t ne)
{
    Renkei__TrackerResult r = RENKEI__TRACKER_RESULT__INIT;
    r.tracker_id = tid;
    r.epoch = epoch;
    r.final = final;
    r.layout = CMN_LAYOUT_VERSION;
    r.epoch_ns = 60 * NS;
    r.chunk = chunk;
    r.chunks = chunks;
    r.session_count = (uint32_t)ns;
    r.session_size = sizeof(*s);
    r.sessions.len = ns * sizeof(*s);
    r.sessions.data = (uint8_t *)(uintptr_t)s;
    r.endpoint_count = (uint32_t)ne;
    r.endpoint_size = sizeof(*e);
    r.endpoints.len = ne * sizeof(*e);
    r.endpoints.data = (uint8_t *)(uintptr_t)e;
    r.event_size = sizeof(struct cmn_event_rec);
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_RESULT;
    env.result = &r;
    return cmn_wire_send(sock, &env, 0);
}

static int s_send_eos(void *sock, Renkei__NodeKind kind, uint32_t id)
{
    Renkei__EndOfStream e = RENKEI__END_OF_STREAM__INIT;
    e.kind = kind;
    e.node_id = id;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_EOS;
    env.eos = &e;
    return cmn_wire_send(sock, &env, 0);
}

/* One value from the database at `path`, opened read-only (tu_q's codes). */
static int64_t s_q(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
        v = tu_q(db, sql);
    sqlite3_close(db);
    return v;
}

/* Sender sockets of one scenario. */
struct senders {
    void *spl;    /* splitter */
    void *trk[2]; /* trackers 0 and 1 */
};

static int s_open_senders(void *ctx, const char *ep, struct senders *s)
{
    s->spl = cmn_zmq_open(ctx, ZMQ_PUSH, ep, false, -1, 1000);
    s->trk[0] = cmn_zmq_open(ctx, ZMQ_PUSH, ep, false, -1, 1000);
    s->trk[1] = cmn_zmq_open(ctx, ZMQ_PUSH, ep, false, -1, 1000);
    return s->spl && s->trk[0] && s->trk[1] ? 0 : -1;
}

static void s_close_senders(struct senders *s)
{
    zmq_close(s->spl);
    zmq_close(s->trk[0]);
    zmq_close(s->trk[1]);
}

TEST(clean_run)
{
    char p[256];
    tu_db_path(p, sizeof(p), "mrg_node", "clean");
    void *ctx = zmq_ctx_new();
    struct mrg_node_config cfg = {
        .listen = "inproc://mrg-clean", .db_path = p, .exit_on_eos = true, .zmq_ctx = ctx};
    struct runner r = {.node = mrg_node_new(&cfg)};
    FAIL_IF_NOT(r.node);
    struct senders s;
    FAIL_IF_NOT(s_open_senders(ctx, cfg.listen, &s) == 0);
    FAIL_IF_NOT(pthread_create(&r.th, NULL, s_run, &r) == 0);

    /* garbage first: counted, not fatal */
    FAIL_IF_NOT(zmq_send(s.spl, "\xff\xff\xff garbage", 12, 0) == 12);
    FAIL_IF_NOT(cmn_wire_send_hello(s.spl, RENKEI__NODE_KIND__NODE_SPLITTER, 0, "spl", 2) == 0);
    FAIL_IF_NOT(cmn_wire_send_hello(s.trk[0], RENKEI__NODE_KIND__NODE_TRACKER, 0, "t0", 0) == 0);
    FAIL_IF_NOT(cmn_wire_send_hello(s.trk[1], RENKEI__NODE_KIND__NODE_TRACKER, 1, "t1", 0) == 0);

    /* epoch 5: tracker 0 in two chunks, tracker 1 in one; one session shared */
    struct cmn_session_rec shared = s_sess("10.0.0.1", 40000, "10.128.0.1", 443, 10);
    struct cmn_session_rec own0 = s_sess("10.0.0.1", 40001, "10.0.0.2", 22, 3);
    struct cmn_endpoint_rec ep;
    memset(&ep, 0, sizeof(ep));
    cmn_ip_parse("10.128.0.1", ep.ip);
    ep.proto = 6;
    ep.port = 443;
    ep.role = CMN_ROLE_SERVER;
    ep.confidence = 0.95f;
    FAIL_IF_NOT(s_send_result(s.trk[0], 0, 5, false, 0, 2, &shared, 1, NULL, 0) == 0);
    FAIL_IF_NOT(s_send_result(s.trk[1], 1, 5, false, 0, 1, &shared, 1, &ep, 1) == 0);
    FAIL_IF_NOT(s_send_result(s.trk[0], 0, 5, false, 1, 2, &own0, 1, NULL, 0) == 0);
    /* final results: more traffic on the shared session */
    FAIL_IF_NOT(s_send_result(s.trk[0], 0, 6, true, 0, 1, &shared, 1, NULL, 0) == 0);
    FAIL_IF_NOT(s_send_result(s.trk[1], 1, 6, true, 0, 1, &shared, 1, NULL, 0) == 0);

    /* stats: collector 1 (forwarded by the splitter), the splitter, the trackers */
    const struct cmn_counter col[] = {{"records_sent", 100}, {"packets", 100}};
    const struct cmn_counter spl[] = {
        {"collector.1.records_received", 100}, {"collector.1.records_sent", 100},
        {"collector.1.batches_lost", 0},       {"tracker.0.records_sent", 70},
        {"tracker.1.records_sent", 40},        {"duplicates_removed", 7}};
    const struct cmn_counter t0[] = {{"records_received", 70}, {"records_lost", 0}};
    const struct cmn_counter t1[] = {{"records_received", 40}, {"records_lost", 0}};
    FAIL_IF_NOT(cmn_wire_send_stats(s.spl, RENKEI__NODE_KIND__NODE_COLLECTOR, 1, "a.pcap", true,
                                    col, 2, 0) == 0);
    FAIL_IF_NOT(cmn_wire_send_stats(s.spl, RENKEI__NODE_KIND__NODE_SPLITTER, 0, "spl", true, spl, 6,
                                    0) == 0);
    FAIL_IF_NOT(cmn_wire_send_stats(s.trk[0], RENKEI__NODE_KIND__NODE_TRACKER, 0, "t0", true, t0, 2,
                                    0) == 0);
    FAIL_IF_NOT(cmn_wire_send_stats(s.trk[1], RENKEI__NODE_KIND__NODE_TRACKER, 1, "t1", true, t1, 2,
                                    0) == 0);
    FAIL_IF_NOT(s_send_eos(s.trk[0], RENKEI__NODE_KIND__NODE_TRACKER, 0) == 0);
    FAIL_IF_NOT(s_send_eos(s.trk[1], RENKEI__NODE_KIND__NODE_TRACKER, 1) == 0);
    FAIL_IF_NOT(s_send_eos(s.spl, RENKEI__NODE_KIND__NODE_SPLITTER, 0) == 0);

    FAIL_IF_NOT(s_join(&r) == 0);
    FAIL_IF_NOT(r.rc == CMN_EXIT_OK);
    struct mrg_accounting a;
    mrg_node_accounting(r.node, &a);
    FAIL_IF_NOT(a.ended && a.records_lost == 0 && a.collectors == 1 && a.trackers == 2);
    mrg_node_destroy(&r.node);
    FAIL_IF_NOT(r.node == NULL);
    s_close_senders(&s);
    zmq_ctx_term(ctx);

    FAIL_IF_NOT(s_q(p, "SELECT COUNT(*) FROM sessions") == 2);
    FAIL_IF_NOT(s_q(p, "SELECT pkts_ab FROM sessions WHERE b_port = 443") == 20);
    FAIL_IF_NOT(s_q(p, "SELECT value FROM meta WHERE key = 'shared_sessions_deduplicated'") == 2);
    FAIL_IF_NOT(s_q(p, "SELECT value FROM meta WHERE key = 'records_lost'") == 0);
    FAIL_IF_NOT(s_q(p, "SELECT value FROM meta WHERE key = 'duplicates_removed'") == 7);
    FAIL_IF_NOT(s_q(p, "SELECT value FROM meta WHERE key = 'packets'") == 46);
    FAIL_IF_NOT(s_q(p, "SELECT value = 'complete' FROM meta WHERE key = 'run_state'") == 1);
    FAIL_IF_NOT(s_q(p, "SELECT COUNT(*) FROM epochs") == 2);
    FAIL_IF_NOT(s_q(p, "SELECT final FROM epochs WHERE epoch = 6") == 1);
    FAIL_IF_NOT(s_q(p, "SELECT clients FROM services WHERE ip = '10.128.0.1'") == 1);
    FAIL_IF_NOT(s_q(p, "SELECT value FROM node_stats WHERE kind = 'collector' AND node_id = 1"
                       " AND counter = 'records_sent'") == 100);
    FAIL_IF_NOT(s_q(p, "SELECT value FROM node_stats WHERE kind = 'merger'"
                       " AND counter = 'messages_undecodable'") == 1);
    FAIL_IF_NOT(s_q(p, "SELECT value FROM node_stats WHERE kind = 'merger'"
                       " AND counter = 'tracker.1.records_lost'") == 0);
    tu_db_rm(p);
    PASS;
}

TEST(lost_records)
{
    char p[256];
    tu_db_path(p, sizeof(p), "mrg_node", "lost");
    void *ctx = zmq_ctx_new();
    struct mrg_node_config cfg = {.listen = "inproc://mrg-lost",
                                  .db_path = p,
                                  .trackers = 2, /* configured: no Hello needed */
                                  .exit_on_eos = true,
                                  .stats_interval = 1,
                                  .zmq_ctx = ctx};
    struct runner r = {.node = mrg_node_new(&cfg)};
    FAIL_IF_NOT(r.node);
    struct senders s;
    FAIL_IF_NOT(s_open_senders(ctx, cfg.listen, &s) == 0);
    FAIL_IF_NOT(pthread_create(&r.th, NULL, s_run, &r) == 0);

    struct cmn_session_rec x = s_sess("10.0.0.1", 40000, "10.0.0.2", 80, 1);
    FAIL_IF_NOT(s_send_result(s.trk[0], 0, 1, false, 0, 1, &x, 1, NULL, 0) == 0);
    FAIL_IF_NOT(s_send_result(s.trk[1], 1, 1, false, 0, 1, NULL, 0, NULL, 0) == 0);
    /* epoch 2: tracker 1's result never comes */
    FAIL_IF_NOT(s_send_result(s.trk[0], 0, 2, false, 0, 1, &x, 1, NULL, 0) == 0);
    FAIL_IF_NOT(s_send_result(s.trk[0], 0, 2, true, 0, 1, NULL, 0, NULL, 0) == 0);
    FAIL_IF_NOT(s_send_result(s.trk[1], 1, 2, true, 0, 1, NULL, 0, NULL, 0) == 0);
    const struct cmn_counter spl[] = {{"collector.3.records_received", 50},
                                      {"collector.3.records_sent", 50},
                                      {"tracker.0.records_sent", 30},
                                      {"tracker.1.records_sent", 20}};
    const struct cmn_counter t0[] = {{"records_received", 30}};
    const struct cmn_counter t1[] = {{"records_received", 12}};
    FAIL_IF_NOT(cmn_wire_send_stats(s.spl, RENKEI__NODE_KIND__NODE_SPLITTER, 0, "spl", true, spl, 4,
                                    0) == 0);
    FAIL_IF_NOT(cmn_wire_send_stats(s.trk[0], RENKEI__NODE_KIND__NODE_TRACKER, 0, "t0", true, t0, 1,
                                    0) == 0);
    FAIL_IF_NOT(cmn_wire_send_stats(s.trk[1], RENKEI__NODE_KIND__NODE_TRACKER, 1, "t1", true, t1, 1,
                                    0) == 0);
    FAIL_IF_NOT(s_send_eos(s.spl, RENKEI__NODE_KIND__NODE_SPLITTER, 0) == 0);
    FAIL_IF_NOT(s_send_eos(s.trk[0], RENKEI__NODE_KIND__NODE_TRACKER, 0) == 0);
    FAIL_IF_NOT(s_send_eos(s.trk[1], RENKEI__NODE_KIND__NODE_TRACKER, 1) == 0);

    FAIL_IF_NOT(s_join(&r) == 0);
    FAIL_IF_NOT(r.rc == CMN_EXIT_LOST);
    struct mrg_accounting a;
    mrg_node_accounting(r.node, &a);
    FAIL_IF_NOT(a.records_lost == 8);
    FAIL_IF_NOT(a.epochs_incomplete == 1);
    FAIL_IF_NOT(strstr(a.where, "tracker 1") != NULL);
    mrg_node_destroy(&r.node);
    s_close_senders(&s);
    zmq_ctx_term(ctx);

    FAIL_IF_NOT(s_q(p, "SELECT value FROM meta WHERE key = 'records_lost'") == 8);
    FAIL_IF_NOT(s_q(p, "SELECT value FROM node_stats WHERE kind = 'merger'"
                       " AND counter = 'tracker.1.records_lost'") == 8);
    FAIL_IF_NOT(s_q(p, "SELECT value FROM node_stats WHERE kind = 'merger'"
                       " AND counter = 'collector.3.records_lost'") == 0);
    /* the incomplete epoch was still committed */
    FAIL_IF_NOT(s_q(p, "SELECT pkts_ab FROM sessions") == 2);
    tu_db_rm(p);
    PASS;
}

TEST(stop_and_bad_config)
{
    char p[256];
    tu_db_path(p, sizeof(p), "mrg_node", "stop");
    void *ctx = zmq_ctx_new();
    struct mrg_node_config cfg = {.listen = "inproc://mrg-stop", .db_path = p, .zmq_ctx = ctx};
    struct runner r = {.node = mrg_node_new(&cfg)};
    FAIL_IF_NOT(r.node);
    /* the same endpoint cannot be bound twice */
    struct mrg_node *dup = mrg_node_new(&cfg);
    FAIL_IF(dup != NULL);
    FAIL_IF_NOT(pthread_create(&r.th, NULL, s_run, &r) == 0);
    usleep(50000);
    mrg_node_stop(r.node);
    FAIL_IF_NOT(s_join(&r) == 0);
    FAIL_IF_NOT(r.rc == CMN_EXIT_OK);
    struct mrg_accounting a;
    mrg_node_accounting(r.node, &a);
    FAIL_IF(a.ended);
    mrg_node_destroy(&r.node);
    mrg_node_destroy(&r.node); /* NULL is fine */
    zmq_ctx_term(ctx);
    tu_db_rm(p);
    PASS;
}

/* mrg_node_handle bytes of a numbered TrackerResult chunk with sessions. */
static uint8_t *s_pack_seq(uint32_t tid, uint64_t epoch, uint64_t seq, uint32_t chunk,
                           uint32_t chunks, const struct cmn_session_rec *ss, size_t ns,
                           size_t *len)
{
    Renkei__TrackerResult r = RENKEI__TRACKER_RESULT__INIT;
    r.tracker_id = tid;
    r.epoch = epoch;
    r.seq = seq;
    r.layout = CMN_LAYOUT_VERSION;
    r.epoch_ns = 60 * NS;
    r.chunk = chunk;
    r.chunks = chunks;
    r.session_count = (uint32_t)ns;
    r.session_size = sizeof(*ss);
    r.sessions.len = ns * sizeof(*ss);
    r.sessions.data = (uint8_t *)(uintptr_t)ss;
    r.endpoint_size = sizeof(struct cmn_endpoint_rec);
    r.event_size = sizeof(struct cmn_event_rec);
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.version = CMN_WIRE_VERSION;
    env.body_case = RENKEI__ENVELOPE__BODY_RESULT;
    env.result = &r;
    *len = renkei__envelope__get_packed_size(&env);
    uint8_t *b = malloc(*len);
    renkei__envelope__pack(&env, b);
    return b;
}

/* mrg_node_handle without sockets: bytes of a TrackerResult{tid, epoch}. */
static uint8_t *s_pack_result(uint32_t tid, uint64_t epoch, size_t *len)
{
    return s_pack_seq(tid, epoch, 0, 0, 1, NULL, 0, len);
}

/* One tracker of two sends results for ever new epochs, the other nothing:
 * the merger holds at most MRG_PENDING_EPOCHS_MAX (1024) of them and commits
 * the oldest incomplete (memory stays bounded); undecodable bytes are counted,
 * not fatal. */
TEST(pending_epochs_bounded)
{
    char db[64];
    snprintf(db, sizeof(db), "/tmp/renkei-test-mrg-pending-%d.sqlite", (int)getpid());
    unlink(db);
    struct mrg_node_config cfg = {.listen = "inproc://mrg-pending", .db_path = db, .trackers = 2};
    struct mrg_node *n = mrg_node_new(&cfg);
    FAIL_IF(!n);
    for (uint64_t e = 1; e <= 1100; e++) {
        size_t len;
        uint8_t *b = s_pack_result(0, e, &len);
        FAIL_IF(mrg_node_handle(n, b, len) != 0);
        free(b);
    }
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01, 0x02};
    FAIL_IF(mrg_node_handle(n, junk, sizeof(junk)) != 0);
    FAIL_IF(s_q(db, "SELECT COUNT(*) FROM epochs") != 1100 - 1024);
    mrg_node_destroy(&n);
    unlink(db);
    PASS;
}

/* An envelope (hello / heartbeat / EOS of kind, id) packed for mrg_node_handle. */
static uint8_t *s_pack_ctl(Renkei__Envelope__BodyCase body, Renkei__NodeKind kind, uint32_t id,
                           uint32_t trackers, size_t *len)
{
    Renkei__Hello h = RENKEI__HELLO__INIT;
    Renkei__Heartbeat hb = RENKEI__HEARTBEAT__INIT;
    Renkei__EndOfStream e = RENKEI__END_OF_STREAM__INIT;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.version = CMN_WIRE_VERSION;
    env.body_case = body;
    h.kind = hb.kind = e.kind = kind;
    h.node_id = hb.node_id = e.node_id = id;
    h.tracker_count = trackers;
    if (body == RENKEI__ENVELOPE__BODY_HELLO)
        env.hello = &h;
    else if (body == RENKEI__ENVELOPE__BODY_HEARTBEAT)
        env.heartbeat = &hb;
    else
        env.eos = &e;
    *len = renkei__envelope__get_packed_size(&env);
    uint8_t *b = malloc(*len);
    renkei__envelope__pack(&env, b);
    return b;
}

static int s_ctl(struct mrg_node *n, Renkei__Envelope__BodyCase body, Renkei__NodeKind kind,
                 uint32_t id, uint32_t trackers)
{
    size_t len;
    uint8_t *b = s_pack_ctl(body, kind, id, trackers, &len);
    int rc = mrg_node_handle(n, b, len);
    free(b);
    return rc;
}

/* Liveness (timeout 1 s): of two trackers, 1 never speaks. Within the
 * timeout epoch 1 waits for it; past it (heartbeats of tracker 0 and the splitter keep them
 * up) tracker 1 is down, epoch 1 is committed incomplete, and the run ends
 * at the splitter's and tracker 0's end of stream: partial, tracker 1 named,
 * lossy. A heartbeat alone between runs starts no run. With exit_on_eos a
 * silent splitter ends the run by itself. */
TEST(liveness)
{
    char db[64];
    snprintf(db, sizeof(db), "/tmp/renkei-test-mrg-live-%d.sqlite", (int)getpid());
    unlink(db);
    struct mrg_node_config cfg = {
        .listen = "inproc://mrg-live", .db_path = db, .liveness_timeout = 1};
    struct mrg_node *n = mrg_node_new(&cfg);
    FAIL_IF(!n);
    const Renkei__Envelope__BodyCase HELLO = RENKEI__ENVELOPE__BODY_HELLO,
                                     BEAT = RENKEI__ENVELOPE__BODY_HEARTBEAT,
                                     EOS = RENKEI__ENVELOPE__BODY_EOS;
    const Renkei__NodeKind SPL = RENKEI__NODE_KIND__NODE_SPLITTER,
                           TRK = RENKEI__NODE_KIND__NODE_TRACKER;
    FAIL_IF(s_ctl(n, BEAT, TRK, 0, 0) != 0);
    FAIL_IF(s_q(db, "SELECT value = 'new' FROM meta WHERE key = 'run_state'") != 1);
    FAIL_IF(s_ctl(n, HELLO, SPL, 0, 2) != 0);
    size_t len;
    uint8_t *b = s_pack_result(0, 1, &len);
    FAIL_IF(mrg_node_handle(n, b, len) != 0);
    free(b);
    FAIL_IF(mrg_node_check_liveness(n, cmn_mono_ns()) != 0);
    FAIL_IF(s_q(db, "SELECT COUNT(*) FROM epochs") != 0); /* waits for tracker 1 */
    usleep(1100 * 1000); /* past the 1 s timeout for tracker 1, silent since the hello */
    FAIL_IF(s_ctl(n, BEAT, SPL, 0, 0) != 0);
    FAIL_IF(s_ctl(n, BEAT, TRK, 0, 0) != 0);
    FAIL_IF(mrg_node_check_liveness(n, cmn_mono_ns()) != 0);
    FAIL_IF(s_q(db, "SELECT COUNT(*) FROM epochs") != 1);
    FAIL_IF(s_q(db, "SELECT value = 'running' FROM meta WHERE key = 'run_state'") != 1);
    FAIL_IF(s_q(db, "SELECT value FROM node_stats WHERE kind = 'tracker' AND node_id = 1"
                    " AND counter = 'down'") != 1);
    FAIL_IF(s_ctl(n, EOS, SPL, 0, 0) != 0);
    FAIL_IF(s_ctl(n, EOS, TRK, 0, 0) != 1); /* tracker 1 is down: the run ends */
    struct mrg_accounting a;
    mrg_node_accounting(n, &a);
    FAIL_IF_NOT(a.ended && a.nodes_down == 1 && a.unverifiable >= 1);
    FAIL_IF_NOT(strstr(a.where, "tracker 1: down") != NULL);
    FAIL_IF(s_q(db, "SELECT value = 'partial' FROM meta WHERE key = 'run_state'") != 1);
    mrg_node_destroy(&n);
    unlink(db);

    /* exit_on_eos: the splitter falls silent mid-run */
    cfg.exit_on_eos = true;
    cfg.listen = "inproc://mrg-live2";
    n = mrg_node_new(&cfg);
    FAIL_IF(!n);
    FAIL_IF(s_ctl(n, HELLO, SPL, 0, 1) != 0);
    FAIL_IF(mrg_node_check_liveness(n, cmn_mono_ns()) != 0);
    FAIL_IF(mrg_node_check_liveness(n, cmn_mono_ns() + 2 * NS) != 1);
    mrg_node_accounting(n, &a);
    FAIL_IF_NOT(a.ended && strstr(a.where, "splitter: down") != NULL);
    mrg_node_destroy(&n);
    /* a merger that finds its last run still `running` says it was interrupted */
    sqlite3 *h = NULL;
    FAIL_IF(sqlite3_open(db, &h) != SQLITE_OK);
    FAIL_IF(sqlite3_exec(h, "UPDATE meta SET value = 'running' WHERE key = 'run_state'", NULL, NULL,
                         NULL) != SQLITE_OK);
    sqlite3_close(h);
    n = mrg_node_new(&cfg);
    FAIL_IF(!n);
    FAIL_IF(s_q(db, "SELECT value = 'interrupted' FROM meta WHERE key = 'run_state'") != 1);
    mrg_node_destroy(&n);
    unlink(db);
    PASS;
}

/* One DnsNames message from the splitter: `name` for 10.0.0.<host>, numbered `seq`. */
static int s_send_dns(void *sock, uint64_t seq, int host, const char *name)
{
    char ip[32];
    snprintf(ip, sizeof(ip), "10.0.0.%d", host);
    uint8_t a[16];
    cmn_ip_parse(ip, a);
    Renkei__DnsName d = RENKEI__DNS_NAME__INIT, *dp = &d;
    d.ip.data = a;
    d.ip.len = 16;
    d.name = (char *)(uintptr_t)name;
    d.rtype = 1;
    d.ts_ns = 300 * NS;
    Renkei__DnsNames m = RENKEI__DNS_NAMES__INIT;
    m.kind = RENKEI__NODE_KIND__NODE_COLLECTOR;
    m.node_id = 1;
    m.n_names = 1;
    m.names = &dp;
    m.seq = seq;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_DNS_NAMES;
    env.dns_names = &m;
    return cmn_wire_send(sock, &env, 0);
}

/* Numbered DnsNames (a splitter with merger_ack) are stored once each in any
 * order: after a merger restart, messages queued during the outage can come
 * before the older ones the splitter sends again. */
TEST(dns_names_once_in_any_order)
{
    char p[256];
    tu_db_path(p, sizeof(p), "mrg_node", "dns");
    void *ctx = zmq_ctx_new();
    struct mrg_node_config cfg = {
        .listen = "inproc://mrg-dns", .db_path = p, .exit_on_eos = true, .zmq_ctx = ctx};
    struct runner r = {.node = mrg_node_new(&cfg)};
    FAIL_IF_NOT(r.node);
    struct senders s;
    FAIL_IF_NOT(s_open_senders(ctx, cfg.listen, &s) == 0);
    FAIL_IF_NOT(pthread_create(&r.th, NULL, s_run, &r) == 0);
    FAIL_IF_NOT(cmn_wire_send_hello(s.spl, RENKEI__NODE_KIND__NODE_SPLITTER, 0, "spl", 1) == 0);
    FAIL_IF_NOT(cmn_wire_send_hello(s.trk[0], RENKEI__NODE_KIND__NODE_TRACKER, 0, "t0", 0) == 0);
    FAIL_IF_NOT(s_send_dns(s.spl, 3, 3, "c.example") == 0); /* queued during an outage */
    FAIL_IF_NOT(s_send_dns(s.spl, 1, 1, "a.example") == 0); /* sent again, older */
    FAIL_IF_NOT(s_send_dns(s.spl, 3, 3, "c.example") == 0); /* sent again: a duplicate */
    FAIL_IF_NOT(s_send_dns(s.spl, 2, 2, "b.example") == 0);
    FAIL_IF_NOT(s_send_dns(s.spl, 1, 1, "a.example") == 0); /* a duplicate */
    FAIL_IF_NOT(s_send_dns(s.spl, 0, 4, "d.example") == 0); /* unnumbered: always taken */
    struct cmn_session_rec own = s_sess("10.0.0.1", 40001, "10.0.0.2", 22, 3);
    FAIL_IF_NOT(s_send_result(s.trk[0], 0, 6, true, 0, 1, &own, 1, NULL, 0) == 0);
    FAIL_IF_NOT(s_send_eos(s.trk[0], RENKEI__NODE_KIND__NODE_TRACKER, 0) == 0);
    FAIL_IF_NOT(s_send_eos(s.spl, RENKEI__NODE_KIND__NODE_SPLITTER, 0) == 0);
    FAIL_IF_NOT(s_join(&r) == 0);
    mrg_node_destroy(&r.node);
    s_close_senders(&s);
    zmq_ctx_term(ctx);
    FAIL_IF_NOT(s_q(p, "SELECT COUNT(*) FROM dns_names") == 4);
    FAIL_IF_NOT(s_q(p, "SELECT MAX(seen) FROM dns_names") == 1);
    FAIL_IF_NOT(s_q(p, "SELECT value FROM meta WHERE key = 'dns_seq'") == 3);
    FAIL_IF_NOT(s_q(p, "SELECT value FROM node_stats WHERE kind = 'merger'"
                       " AND counter = 'dns_messages_duplicate'") == 2);
    tu_db_rm(p);
    PASS;
}

static int s_res(struct mrg_node *n, uint32_t tid, uint64_t epoch, uint64_t seq, uint32_t chunk,
                 uint32_t chunks, const struct cmn_session_rec *ss, size_t ns)
{
    size_t len;
    uint8_t *b = s_pack_seq(tid, epoch, seq, chunk, chunks, ss, ns, &len);
    int rc = mrg_node_handle(n, b, len);
    free(b);
    return rc;
}

/* Tracker `tid`'s Hello{replay, restarted, resume_seq}: resumed from its checkpoint. */
static int s_restarted(struct mrg_node *n, uint32_t tid, uint64_t resume_seq)
{
    Renkei__Hello h = RENKEI__HELLO__INIT;
    h.kind = RENKEI__NODE_KIND__NODE_TRACKER;
    h.node_id = tid;
    h.replay = h.restarted = true;
    h.resume_seq = resume_seq;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.version = CMN_WIRE_VERSION;
    env.body_case = RENKEI__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    size_t len = renkei__envelope__get_packed_size(&env);
    uint8_t *b = malloc(len);
    renkei__envelope__pack(&env, b);
    int rc = mrg_node_handle(n, b, len);
    free(b);
    return rc;
}

/* A tracker restarted from its checkpoint (docs/OPERATIONS.md "A tracker
 * killed"): the chunk of epoch 2 its dead process sent (1 of 2) is void and
 * the new process's epoch 2, chunked otherwise, counts once; when the dead
 * process had sent a whole epoch that was committed, the new one's results
 * of that epoch are dropped as replayed, not stored again. */
TEST(tracker_restart_voids_and_redoes)
{
    char db[64];
    snprintf(db, sizeof(db), "/tmp/renkei-test-mrg-restart-%d.sqlite", (int)getpid());
    unlink(db);
    struct mrg_node_config cfg = {.listen = "inproc://mrg-restart", .db_path = db, .trackers = 2};
    struct mrg_node *n = mrg_node_new(&cfg);
    FAIL_IF(!n);
    FAIL_IF(s_ctl(n, RENKEI__ENVELOPE__BODY_HELLO, RENKEI__NODE_KIND__NODE_SPLITTER, 0, 2) != 0);
    struct cmn_session_rec a = s_sess("10.0.0.1", 40000, "10.0.0.9", 80, 1);
    struct cmn_session_rec b = s_sess("10.200.0.1", 40000, "10.200.0.9", 80, 10);
    struct cmn_session_rec c = s_sess("10.200.0.2", 40000, "10.200.0.9", 80, 100);
    struct cmn_session_rec both[2] = {b, c};
    FAIL_IF(s_res(n, 0, 1, 1, 0, 1, &a, 1) || s_res(n, 1, 1, 1, 0, 1, &b, 1));
    FAIL_IF(s_q(db, "SELECT packets FROM epochs WHERE epoch = 1") != 22);
    /* epoch 2: tracker 1's dead process sent chunk 0 of 2, then it restarted
     * from its checkpoint of epoch 1 (results from seq 2 come again) */
    FAIL_IF(s_res(n, 0, 2, 2, 0, 1, &a, 1) || s_res(n, 1, 2, 2, 0, 2, &c, 1));
    FAIL_IF(s_restarted(n, 1, 2) != 0);
    FAIL_IF(s_res(n, 1, 2, 2, 0, 1, both, 2) != 0);
    FAIL_IF(s_q(db, "SELECT packets FROM epochs WHERE epoch = 2") != 2 + 20 + 200);
    /* it dies again after epoch 2 was committed, its checkpoint still at
     * epoch 1: epoch 2 comes again (dropped), epoch 3 is new */
    FAIL_IF(s_restarted(n, 1, 2) != 0);
    FAIL_IF(s_res(n, 1, 2, 2, 0, 1, both, 2) != 0);
    FAIL_IF(s_res(n, 0, 3, 3, 0, 1, &a, 1) || s_res(n, 1, 3, 3, 0, 1, &b, 1));
    FAIL_IF(s_q(db, "SELECT packets FROM epochs WHERE epoch = 2") != 222);
    FAIL_IF(s_q(db, "SELECT packets FROM epochs WHERE epoch = 3") != 22);
    FAIL_IF(s_q(db, "SELECT COUNT(*) FROM epochs") != 3);
    mrg_node_destroy(&n);
    unlink(db);
    PASS;
}

TEST_MAIN(TEST_ENTRY(clean_run) TEST_ENTRY(lost_records) TEST_ENTRY(stop_and_bad_config)
              TEST_ENTRY(pending_epochs_bounded) TEST_ENTRY(liveness)
                  TEST_ENTRY(dns_names_once_in_any_order)
                      TEST_ENTRY(tracker_restart_voids_and_redoes))
