/* SPDX-License-Identifier: MIT
 * test_trk_node: drives the tracker loop over inproc ZeroMQ sockets as the
 * splitter would (garbage, ShardMap, batches with a sequence gap, EpochFlush,
 * EndOfStream) and checks what reaches the "merger": Hello, chunked
 * TrackerResults, the final result, final Stats with the accounting, EOS.
 */
#include <pthread.h>
#include <zmq.h>

#include "cmn_cli.h"
#include "cmn_shard.h"
#include "cmn_wire.h"
#include "harness.h"
#include "trk_node.h"
#include "trk_testutil.h"

#define MAX_BYTES 8192 /* small result cap: forces several chunks */

struct runner {
    struct trk_node *node; /* node under test */
    int rc;                /* trk_node_run's return */
};

static void *s_run(void *arg)
{
    struct runner *r = arg;
    r->rc = trk_node_run(r->node);
    return NULL;
}

static int s_send_map(void *push, uint32_t idx, uint32_t count)
{
    struct cmn_shard_map *map = cmn_shard_map_new_even(count);
    int rc = tu_send(push, tu_map(map, idx, 1, 0));
    cmn_shard_map_destroy(&map);
    return rc;
}

/* 100 TCP sessions 10.0.0.1:(40000+i) -> 200.0.0.(i%50+1):443 (SYN, SYN+ACK, ACK) at t0. */
static size_t s_fill(struct cmn_record *r, uint64_t t0)
{
    size_t n = 0;
    for (int i = 0; i < 100; i++) {
        struct cmn_record a =
            tu_rec(t0 + (uint64_t)i, 1, (uint16_t)(40000 + i), 0, 443, 6, CMN_TCP_SYN, 60);
        tu_ip4(a.dst, 200, 0, 0, (uint8_t)(i % 50 + 1));
        struct cmn_record b = a, c = a;
        memcpy(b.src, a.dst, 16);
        memcpy(b.dst, a.src, 16);
        b.sport = 443;
        b.dport = a.sport;
        b.tcp_flags = CMN_TCP_SYN | CMN_TCP_ACK;
        c.tcp_flags = CMN_TCP_ACK;
        r[n++] = a;
        r[n++] = b;
        r[n++] = c;
    }
    return n;
}

/* The next envelope on `sock` that is not a Heartbeat (those come on a
 * timer, wherever the tracker's loop is). */
static Renkei__Envelope *s_recv_no_beat(void *sock, int *err)
{
    for (;;) {
        Renkei__Envelope *e = cmn_wire_recv(sock, 0, err);
        if (!e || e->body_case != RENKEI__ENVELOPE__BODY_HEARTBEAT)
            return e;
        cmn_wire_free(&e);
    }
}

TEST(node_stream)
{
    void *ctx = zmq_ctx_new();
    FAIL_IF_NOT(ctx);
    void *out = cmn_zmq_open(ctx, ZMQ_PULL, "inproc://trk-test-out", true, 0, 1000);
    FAIL_IF_NOT(out);
    int timeo = 5000;
    zmq_setsockopt(out, ZMQ_RCVTIMEO, &timeo, sizeof(timeo));
    struct trk_node_config cfg = {
        .id = 0,
        .listen = "inproc://trk-test-in",
        .merger = "inproc://trk-test-out",
        .memcap_bytes = 64u << 20,
        .session_timeout_ns = 120 * SEC,
        .exit_on_eos = true,
        .stats_interval_s = 0,
        .seed = 99,
        .result_max_bytes = MAX_BYTES,
        .zmq_ctx = ctx,
    };
    struct runner run = {.node = trk_node_new(&cfg)};
    FAIL_IF_NOT(run.node);
    void *in = cmn_zmq_open(ctx, ZMQ_PUSH, "inproc://trk-test-in", false, -1, 1000);
    FAIL_IF_NOT(in);
    pthread_t th;
    FAIL_IF(pthread_create(&th, NULL, s_run, &run) != 0);

    static struct cmn_record recs[300];
    size_t n = s_fill(recs, 10 * SEC);
    FAIL_IF(zmq_send(in, "garbage", 7, 0) != 7); /* malformed envelope */
    FAIL_IF(s_send_map(in, 0, 2) != 0);
    FAIL_IF(cmn_wire_send_batch(in, 1, 1, recs, n, 0) != 0);
    /* seq 2 is "lost"; seq 3 repeats the first 30 records (same sessions) */
    FAIL_IF(cmn_wire_send_batch(in, 1, 3, recs, 30, 0) != 0);
    FAIL_IF(tu_send(in, tu_flush(0, 60 * SEC)) != 0);
    struct cmn_record late = recs[0]; /* a straggler of epoch 0 and a new session */
    struct cmn_record fresh = tu_rec(70 * SEC, 2, 5000, 3, 53, 17, 0, 80);
    struct cmn_record two[2] = {late, fresh};
    FAIL_IF(cmn_wire_send_batch(in, 1, 4, two, 2, 0) != 0);
    FAIL_IF(tu_send(in, tu_eos(4, n + 30 + 2 + 17)) != 0); /* 17 records were in batch 2 */

    /* merger side */
    int err = 0;
    Renkei__Envelope *env = cmn_wire_recv(out, 0, &err);
    FAIL_IF_NOT(env && env->body_case == RENKEI__ENVELOPE__BODY_HELLO);
    FAIL_IF_NOT(env->hello->kind == RENKEI__NODE_KIND__NODE_TRACKER && env->hello->node_id == 0);
    cmn_wire_free(&env);
    size_t sessions0 = 0, endpoints0 = 0, sessions_f = 0, endpoints_f = 0;
    uint32_t chunks0 = 0, seen0 = 0, seen_f = 0;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        FAIL_IF(zmq_msg_recv(&m, out, 0) < 0);
        FAIL_IF(zmq_msg_size(&m) > MAX_BYTES);
        env = renkei__envelope__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        zmq_msg_close(&m);
        FAIL_IF_NOT(env);
        if (env->body_case == RENKEI__ENVELOPE__BODY_HEARTBEAT) { /* timing, not content */
            cmn_wire_free(&env);
            continue;
        }
        if (env->body_case != RENKEI__ENVELOPE__BODY_RESULT)
            break;
        const Renkei__TrackerResult *r = env->result;
        const struct cmn_session_rec *s;
        const struct cmn_endpoint_rec *e;
        const struct cmn_event_rec *v;
        long ns = cmn_wire_result_sessions(r, &s);
        long ne = cmn_wire_result_endpoints(r, &e);
        FAIL_IF(ns < 0 || ne < 0 || cmn_wire_result_events(r, &v) != 0);
        FAIL_IF_NOT(r->tracker_id == 0 && r->chunk < r->chunks);
        for (long i = 0; i < ne; i++) /* only owned endpoints: 10.0.0.x (lower half) */
            FAIL_IF_NOT(e[i].ip[12] == 10);
        if (!r->final) {
            FAIL_IF_NOT(r->epoch == 0 && r->epoch_ns == 60 * SEC && r->chunk == seen0);
            chunks0 = r->chunks;
            seen0++;
            sessions0 += (size_t)ns;
            endpoints0 += (size_t)ne;
            for (long i = 0; i < ne; i++)
                FAIL_IF_NOT(e[i].role == CMN_ROLE_CLIENT && e[i].synack_recv >= 1);
            for (long i = 0; i < ns; i++) {
                uint64_t pk = s[i].pkts[0] + s[i].pkts[1];
                FAIL_IF_NOT(pk == 3 || pk == 6); /* first 10 sessions were repeated */
            }
        } else {
            FAIL_IF_NOT(r->chunk == seen_f && r->epoch >= 1);
            seen_f++;
            sessions_f += (size_t)ns;
            endpoints_f += (size_t)ne;
        }
        cmn_wire_free(&env);
    }
    FAIL_IF_NOT(seen0 == chunks0 && chunks0 > 3);
    FAIL_IF_NOT(sessions0 == 100 && endpoints0 == 100);
    FAIL_IF_NOT(seen_f >= 1 && sessions_f == 2 &&
                endpoints_f == 3); /* late; fresh: both ends owned */
    FAIL_IF_NOT(env->body_case == RENKEI__ENVELOPE__BODY_STATS);
    const Renkei__Stats *st = env->stats;
    FAIL_IF_NOT(st->final && st->kind == RENKEI__NODE_KIND__NODE_TRACKER);
    FAIL_IF_NOT(cmn_wire_stat(st, "records_received", 0) == n + 32);
    FAIL_IF_NOT(cmn_wire_stat(st, "batches_received", 0) == 3);
    FAIL_IF_NOT(cmn_wire_stat(st, "batches_lost", 0) == 1);
    FAIL_IF_NOT(cmn_wire_stat(st, "records_expected", 0) == n + 49);
    FAIL_IF_NOT(cmn_wire_stat(st, "records_lost", 0) == 17);
    FAIL_IF_NOT(cmn_wire_stat(st, "late_records", 0) == 1);
    FAIL_IF_NOT(cmn_wire_stat(st, "envelopes_malformed", 0) == 1);
    FAIL_IF_NOT(cmn_wire_stat(st, "sessions_created", 0) == 101);
    FAIL_IF_NOT(cmn_wire_stat(st, "endpoints", 0) == 102); /* 10.0.0.1 x100, .2:5000, .3:53 */
    FAIL_IF_NOT(cmn_wire_stat(st, "drop_memcap", 1) == 0);
    FAIL_IF_NOT(cmn_wire_stat(st, "results_sent", 0) == chunks0 + seen_f);
    cmn_wire_free(&env);
    env = s_recv_no_beat(out, &err);
    FAIL_IF_NOT(env && env->body_case == RENKEI__ENVELOPE__BODY_EOS);
    FAIL_IF_NOT(env->eos->kind == RENKEI__NODE_KIND__NODE_TRACKER);
    cmn_wire_free(&env);

    pthread_join(th, NULL);
    FAIL_IF_NOT(run.rc == CMN_EXIT_LOST);
    trk_node_destroy(&run.node);
    zmq_close(in);
    zmq_close(out);
    zmq_ctx_term(ctx);
    PASS;
}

TEST(node_stop_without_stream)
{
    void *ctx = zmq_ctx_new();
    void *out = cmn_zmq_open(ctx, ZMQ_PULL, "inproc://trk-test-out2", true, 0, 1000);
    struct trk_node_config cfg = {
        .id = 1,
        .listen = "inproc://trk-test-in2",
        .merger = "inproc://trk-test-out2",
        .stats_interval_s = 0.05,
        .zmq_ctx = ctx,
    };
    struct runner run = {.node = trk_node_new(&cfg)};
    FAIL_IF_NOT(run.node);
    pthread_t th;
    FAIL_IF(pthread_create(&th, NULL, s_run, &run) != 0);
    int err = 0;
    Renkei__Envelope *env = cmn_wire_recv(out, 0, &err);
    FAIL_IF_NOT(env && env->body_case == RENKEI__ENVELOPE__BODY_HELLO);
    cmn_wire_free(&env);
    trk_node_stop(run.node);
    pthread_join(th, NULL);
    FAIL_IF_NOT(run.rc == CMN_EXIT_OK);
    trk_node_destroy(&run.node);
    trk_node_destroy(&run.node);
    /* a bad endpoint: constructor fails cleanly */
    cfg.listen = "nonsense://x";
    FAIL_IF(trk_node_new(&cfg) != NULL);
    zmq_close(out);
    zmq_ctx_term(ctx);
    PASS;
}

TEST_MAIN(TEST_ENTRY(node_stream) TEST_ENTRY(node_stop_without_stream))
