/* SPDX-License-Identifier: MIT
 * Unit tests for common/cmn_wire: envelopes over inproc ZeroMQ, batch and
 * result array validation, rejection of garbage and wrong versions.
 */
#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "cmn_wire.h"
#include "harness.h"

TEST(wire_batch_roundtrip)
{
    void *ctx = zmq_ctx_new();
    void *rx = cmn_zmq_open(ctx, ZMQ_PULL, "inproc://wire1", true, 0, 100);
    void *tx = cmn_zmq_open(ctx, ZMQ_PUSH, "inproc://wire1", false, 0, 100);
    FAIL_IF(!rx || !tx);
    struct cmn_record recs[3];
    memset(recs, 0, sizeof(recs));
    for (int i = 0; i < 3; i++) {
        recs[i].ts_ns = 1000 + (uint64_t)(3 - i);
        recs[i].ip_len = 60 + (uint32_t)i;
    }
    FAIL_IF(cmn_wire_send_batch(tx, 7, 42, recs, 3, 0) != 0);
    int err = 1;
    Renkei__Envelope *env = cmn_wire_recv(rx, 0, &err);
    FAIL_IF(!env || err != 0);
    FAIL_IF(env->body_case != RENKEI__ENVELOPE__BODY_BATCH);
    FAIL_IF(env->batch->collector_id != 7 || env->batch->seq != 42);
    FAIL_IF(env->batch->first_ts_ns != 1001 || env->batch->last_ts_ns != 1003);
    const struct cmn_record *r;
    FAIL_IF(cmn_wire_batch_records(env->batch, &r) != 3);
    FAIL_IF(r[2].ip_len != 62);
    env->batch->record_count = 4; /* lie about the count */
    FAIL_IF(cmn_wire_batch_records(env->batch, &r) != -EPROTO);
    env->batch->record_count = 3;
    env->batch->layout = 9;
    FAIL_IF(cmn_wire_batch_records(env->batch, &r) != -EPROTO);
    cmn_wire_free(&env);
    FAIL_IF(env != NULL);

    /* stats and hello */
    struct cmn_counter c[2] = {{"packets", 10}, {"records", 9}};
    FAIL_IF(cmn_wire_send_stats(tx, RENKEI__NODE_KIND__NODE_COLLECTOR, 3, "cap", true, c, 2, 0));
    env = cmn_wire_recv(rx, 0, &err);
    FAIL_IF(!env || env->body_case != RENKEI__ENVELOPE__BODY_STATS);
    FAIL_IF(cmn_wire_stat(env->stats, "records", 0) != 9);
    FAIL_IF(cmn_wire_stat(env->stats, "absent", 77) != 77);
    FAIL_IF(!env->stats->final || env->stats->node_id != 3);
    cmn_wire_free(&env);
    FAIL_IF(cmn_wire_send_hello(tx, RENKEI__NODE_KIND__NODE_SPLITTER, 0, "s", 4) != 0);
    env = cmn_wire_recv(rx, 0, &err);
    FAIL_IF(!env || env->hello->tracker_count != 4);
    cmn_wire_free(&env);

    /* garbage and nothing-to-read */
    FAIL_IF(zmq_send(tx, "\xff\xff\xff", 3, 0) != 3);
    env = cmn_wire_recv(rx, 0, &err);
    FAIL_IF(env != NULL || err != -EPROTO);
    env = cmn_wire_recv(rx, ZMQ_DONTWAIT, &err);
    FAIL_IF(env != NULL || err != -EAGAIN);
    zmq_close(tx);
    zmq_close(rx);
    zmq_ctx_term(ctx);
    PASS;
}

TEST(wire_result_arrays)
{
    Renkei__TrackerResult r = RENKEI__TRACKER_RESULT__INIT;
    struct cmn_session_rec s[2];
    memset(s, 0, sizeof(s));
    r.layout = CMN_LAYOUT_VERSION;
    r.session_count = 2;
    r.session_size = sizeof(s[0]);
    r.sessions.data = (uint8_t *)s;
    r.sessions.len = sizeof(s);
    const struct cmn_session_rec *out;
    FAIL_IF(cmn_wire_result_sessions(&r, &out) != 2);
    r.session_size = 100;
    FAIL_IF(cmn_wire_result_sessions(&r, &out) != -EPROTO);
    const struct cmn_endpoint_rec *ep;
    FAIL_IF(cmn_wire_result_endpoints(&r, &ep) != 0); /* empty is fine */
    const struct cmn_event_rec *ev;
    FAIL_IF(cmn_wire_result_events(&r, &ev) != 0);
    FAIL_IF(cmn_now_ns() < 1600000000ull * 1000000000ull);
    FAIL_IF(cmn_mono_ns() == 0);
    PASS;
}

TEST(wire_bad_endpoint)
{
    void *ctx = zmq_ctx_new();
    FAIL_IF(cmn_zmq_open(ctx, ZMQ_PULL, "bogus://x", true, 0, 10) != NULL);
    zmq_ctx_term(ctx);
    PASS;
}

TEST_MAIN(TEST_ENTRY(wire_batch_roundtrip) TEST_ENTRY(wire_result_arrays)
              TEST_ENTRY(wire_bad_endpoint))
