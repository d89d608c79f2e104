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

/* ---- in-place batch reader ------------------------------------------------ */

/* Pack an envelope holding `b` (version `ver`) with protobuf-c into buf. */
static size_t s_pack_batch(Renkei__RecordBatch *b, uint32_t ver, uint8_t *buf)
{
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.version = ver;
    env.body_case = RENKEI__ENVELOPE__BODY_BATCH;
    env.batch = b;
    return renkei__envelope__pack(&env, buf);
}

/* The reader's contract against protobuf-c on the same bytes: 1 only for a
 * version-1 batch protobuf-c decodes to the same fields and bytes; -EPROTO
 * only for bytes cmn_wire_recv rejects too. 0 on success. */
static int s_agrees(const uint8_t *d, size_t n)
{
    struct cmn_wire_batch b;
    const char *why = "unset";
    int rc = cmn_wire_peek_batch(d, n, &b, &why);
    Renkei__Envelope *e = renkei__envelope__unpack(NULL, n, d);
    bool ok =
        e && e->version == CMN_WIRE_VERSION && e->body_case != RENKEI__ENVELOPE__BODY__NOT_SET;
    int bad = 0;
    if (rc == 1) {
        const Renkei__RecordBatch *pb = ok ? e->batch : NULL;
        bad = !ok || e->body_case != RENKEI__ENVELOPE__BODY_BATCH ||
              pb->collector_id != b.collector_id || pb->seq != b.seq ||
              pb->record_count != b.record_count || pb->record_size != b.record_size ||
              pb->layout != b.layout || pb->first_ts_ns != b.first_ts_ns ||
              pb->last_ts_ns != b.last_ts_ns || pb->records.len != b.records_len ||
              (b.records_len && memcmp(pb->records.data, b.records, b.records_len) != 0) ||
              (b.records_len && (b.records < d || b.records + b.records_len > d + n)) ||
              why != NULL;
    } else if (rc == -EPROTO) {
        bad = ok || why == NULL || why[0] == '\0';
    } else {
        bad = rc != 0;
    }
    if (e)
        renkei__envelope__free_unpacked(e, NULL);
    return bad;
}

TEST(wire_peek_batch)
{
    struct cmn_record recs[3];
    memset(recs, 0, sizeof(recs));
    recs[1].ip_len = 1500;
    Renkei__RecordBatch b = RENKEI__RECORD_BATCH__INIT;
    b.collector_id = UINT32_MAX;
    b.seq = 1ull << 40;
    b.record_count = 3;
    b.record_size = sizeof(struct cmn_record);
    b.layout = CMN_LAYOUT_VERSION;
    b.records.data = (uint8_t *)recs;
    b.records.len = sizeof(recs);
    b.first_ts_ns = 1700000000000000000ull;
    b.last_ts_ns = UINT64_MAX;
    uint8_t buf[512];
    size_t n = s_pack_batch(&b, CMN_WIRE_VERSION, buf);

    struct cmn_wire_batch w;
    const char *why;
    FAIL_IF(cmn_wire_peek_batch(buf, n, &w, &why) != 1 || why != NULL);
    FAIL_IF(w.collector_id != UINT32_MAX || w.seq != 1ull << 40 || w.record_count != 3);
    FAIL_IF(w.first_ts_ns != b.first_ts_ns || w.last_ts_ns != UINT64_MAX);
    FAIL_IF(w.records <= buf || w.records + w.records_len > buf + n); /* in place */
    FAIL_IF(w.records_len != sizeof(recs) || memcmp(w.records, recs, sizeof(recs)) != 0);
    const struct cmn_record *r;
    FAIL_IF(cmn_wire_view_records(&w, &r) != 3);
    struct cmn_record r1;
    memcpy(&r1, (const uint8_t *)r + sizeof(r1), sizeof(r1));
    FAIL_IF(r1.ip_len != 1500);
    w.record_count = 4; /* count lies */
    FAIL_IF(cmn_wire_view_records(&w, &r) != -EPROTO);
    w.record_count = 3;
    w.record_size = 32;
    FAIL_IF(cmn_wire_view_records(&w, &r) != -EPROTO);
    w.record_size = sizeof(struct cmn_record);
    w.layout = 2;
    FAIL_IF(cmn_wire_view_records(&w, &r) != -EPROTO);

    /* every prefix: truncated messages are rejected, never misread */
    for (size_t k = 0; k < n; k++) {
        FAIL_IF(s_agrees(buf, k));
        FAIL_IF(cmn_wire_peek_batch(buf, k, &w, &why) == 1);
    }
    /* every byte changed to a few values: the reader agrees with protobuf-c */
    static const uint8_t vals[] = {0x00, 0x01, 0x02, 0x05, 0x07, 0x0b, 0x12,
                                   0x1a, 0x3f, 0x7f, 0x80, 0xc0, 0xff};
    for (size_t k = 0; k < n; k++) {
        for (size_t v = 0; v < sizeof(vals); v++) {
            uint8_t m[512];
            memcpy(m, buf, n);
            m[k] = vals[v];
            FAIL_IF(s_agrees(m, n));
        }
    }

    /* empty batch, wrong version */
    Renkei__RecordBatch e0 = RENKEI__RECORD_BATCH__INIT;
    n = s_pack_batch(&e0, CMN_WIRE_VERSION, buf);
    FAIL_IF(cmn_wire_peek_batch(buf, n, &w, &why) != 1 || w.records != NULL || w.seq != 0);
    FAIL_IF(cmn_wire_view_records(&w, &r) != -EPROTO); /* layout 0 */
    w.layout = CMN_LAYOUT_VERSION;
    FAIL_IF(cmn_wire_view_records(&w, &r) != 0 || r != NULL);
    n = s_pack_batch(&b, 2, buf);
    FAIL_IF(cmn_wire_peek_batch(buf, n, &w, &why) != -EPROTO || !why);
    FAIL_IF(s_agrees(buf, n));
    PASS;
}

TEST(wire_peek_encodings)
{
    /* Hand-made envelopes: unknown fields of every wire type (skipped), a
     * repeated scalar and bytes field (last wins), other bodies, groups. */
    static const uint8_t unknown[] = {
        0x08, 0x01,                                     /* version 1 */
        0x78, 0x96, 0x01,                               /* env field 15 varint */
        0x1a, 0x28,                                     /* batch, 40 bytes */
        0x08, 0x07,                                     /* collector 7 */
        0x10, 0x05,                                     /* seq 5 */
        0x10, 0x06,                                     /* seq again: 6 wins */
        0x49, 1,    2,    3,    4,    5,    6,    7, 8, /* field 9 fixed64 */
        0x55, 1,    2,    3,    4,                      /* field 10 fixed32 */
        0x5a, 0x02, 0xaa, 0xbb,                         /* field 11 bytes */
        0x32, 0x01, 0xee,                               /* records: 1 byte, replaced below */
        0x32, 0x00,                                     /* records again, empty: wins */
        0x38, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,       /* first_ts 2^35 */
        0x60, 0x01,                                     /* field 12 varint */
        0x62, 0x00,                                     /* field 12 as bytes */
    };
    struct cmn_wire_batch w;
    const char *why;
    FAIL_IF(cmn_wire_peek_batch(unknown, sizeof(unknown), &w, &why) != 1);
    FAIL_IF(w.collector_id != 7 || w.seq != 6 || w.records_len != 0 || w.records != NULL);
    FAIL_IF(w.first_ts_ns != 1ull << 35);
    FAIL_IF(s_agrees(unknown, sizeof(unknown)));

    static const uint8_t hello[] = {0x08, 0x01, 0x12, 0x02, 0x08, 0x01};
    FAIL_IF(cmn_wire_peek_batch(hello, sizeof(hello), &w, &why) != 0); /* not a batch */
    static const uint8_t two_batches[] = {0x08, 0x01, 0x1a, 0x02, 0x08,
                                          0x01, 0x1a, 0x02, 0x10, 0x02};
    FAIL_IF(cmn_wire_peek_batch(two_batches, sizeof(two_batches), &w, &why) != 0); /* merged */
    FAIL_IF(s_agrees(two_batches, sizeof(two_batches)));
    static const uint8_t group[] = {0x08, 0x01, 0x1a, 0x02, 0x0b, 0x0c};
    FAIL_IF(cmn_wire_peek_batch(group, sizeof(group), &w, &why) != 0); /* protobuf-c's call */
    FAIL_IF(s_agrees(group, sizeof(group)));
    static const uint8_t wrong_type[] = {0x08, 0x01, 0x1a, 0x02, 0x0d, 0x00};
    FAIL_IF(cmn_wire_peek_batch(wrong_type, sizeof(wrong_type), &w, &why) != 0);
    static const uint8_t long_len[] = {0x08, 0x01, 0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f};
    FAIL_IF(cmn_wire_peek_batch(long_len, sizeof(long_len), &w, &why) != 0); /* > INT_MAX */
    FAIL_IF(s_agrees(long_len, sizeof(long_len)));
    static const uint8_t past_end[] = {0x08, 0x01, 0x1a, 0x10, 0x08};
    FAIL_IF(cmn_wire_peek_batch(past_end, sizeof(past_end), &w, &why) != -EPROTO || !why);
    FAIL_IF(s_agrees(past_end, sizeof(past_end)));
    static const uint8_t long_varint[] = {0x08, 0x81, 0x80, 0x80, 0x80, 0x80,
                                          0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    FAIL_IF(cmn_wire_peek_batch(long_varint, sizeof(long_varint), &w, &why) != -EPROTO);
    FAIL_IF(s_agrees(long_varint, sizeof(long_varint)));
    FAIL_IF(cmn_wire_peek_batch(NULL, 0, &w, &why) != 0); /* empty: no body */
    PASS;
}

TEST(wire_recv_msg)
{
    cmn_wire_keep_buffers();
    void *ctx = zmq_ctx_new();
    void *rx = cmn_zmq_open(ctx, ZMQ_PULL, "inproc://wire2", true, 0, 100);
    void *tx = cmn_zmq_open(ctx, ZMQ_PUSH, "inproc://wire2", false, 0, 100);
    FAIL_IF(!rx || !tx);
    struct cmn_record recs[4096];
    memset(recs, 0, sizeof(recs));
    for (int i = 0; i < 4096; i++)
        recs[i].ts_ns = 5000 + (uint64_t)i;
    FAIL_IF(cmn_wire_send_batch(tx, 3, 9, recs, 4096, 0) != 0);
    struct cmn_wire_msg m;
    FAIL_IF(cmn_wire_recv_msg(rx, 0, &m) != 0);
    FAIL_IF(!m.is_batch || m.env != NULL || m.batch.collector_id != 3 || m.batch.seq != 9);
    FAIL_IF(m.batch.first_ts_ns != 5000 || m.batch.last_ts_ns != 5000 + 4095);
    const struct cmn_record *r;
    FAIL_IF(cmn_wire_view_records(&m.batch, &r) != 4096);
    FAIL_IF(memcmp(r, recs, sizeof(recs)) != 0);
    cmn_wire_msg_close(&m);

    /* other bodies go through protobuf-c */
    FAIL_IF(cmn_wire_send_hello(tx, RENKEI__NODE_KIND__NODE_COLLECTOR, 4, "c", 0) != 0);
    FAIL_IF(cmn_wire_recv_msg(rx, 0, &m) != 0);
    FAIL_IF(m.is_batch || !m.env || m.env->body_case != RENKEI__ENVELOPE__BODY_HELLO);
    FAIL_IF(m.env->hello->node_id != 4);
    cmn_wire_msg_close(&m);

    /* a batch the reader leaves to protobuf-c is still a batch (protobuf-c
     * keeps the second oneof occurrence, it does not merge) */
    static const uint8_t two_batches[] = {0x08, 0x01, 0x1a, 0x02, 0x08,
                                          0x01, 0x1a, 0x02, 0x10, 0x02};
    FAIL_IF(zmq_send(tx, two_batches, sizeof(two_batches), 0) != (int)sizeof(two_batches));
    FAIL_IF(cmn_wire_recv_msg(rx, 0, &m) != 0);
    FAIL_IF(!m.is_batch || !m.env || m.batch.collector_id != 0 || m.batch.seq != 2);
    FAIL_IF(cmn_wire_view_records(&m.batch, &r) != -EPROTO); /* layout 0 */
    cmn_wire_msg_close(&m);

    /* garbage, wrong version, no body, truncated batch: -EPROTO with a reason */
    static const uint8_t *bad[] = {(const uint8_t *)"\xff\xff\xff",
                                   (const uint8_t *)"\x08\x02\x12\x00", (const uint8_t *)"\x08\x01",
                                   (const uint8_t *)"\x08\x01\x1a\x05\x08"};
    static const size_t badlen[] = {3, 4, 2, 5};
    for (size_t i = 0; i < 4; i++) {
        FAIL_IF(zmq_send(tx, bad[i], badlen[i], 0) != (int)badlen[i]);
        FAIL_IF(cmn_wire_recv_msg(rx, 0, &m) != -EPROTO || !m.why);
    }
    FAIL_IF(cmn_wire_recv_msg(rx, ZMQ_DONTWAIT, &m) != -EAGAIN);
    zmq_close(tx);
    zmq_close(rx);
    zmq_ctx_term(ctx);
    PASS;
}

/* Receive the raw bytes of one message into buf; returns its length. */
static size_t s_raw(void *rx, uint8_t *buf, size_t cap)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    int n = zmq_msg_recv(&m, rx, 0);
    size_t len = n < 0 || (size_t)n > cap ? 0 : (size_t)n;
    memcpy(buf, zmq_msg_data(&m), len);
    zmq_msg_close(&m);
    return len;
}

TEST(wire_pool_send)
{
    void *ctx = zmq_ctx_new();
    void *rx = cmn_zmq_open(ctx, ZMQ_PULL, "inproc://wire3", true, 0, 100);
    void *tx = cmn_zmq_open(ctx, ZMQ_PUSH, "inproc://wire3", false, 0, 100);
    FAIL_IF(!rx || !tx);
    FAIL_IF(cmn_wire_pool_new(0, 1) != NULL);
    struct cmn_wire_pool *pool = cmn_wire_pool_new(4096, 3);
    FAIL_IF(!pool);
    static struct cmn_record src[4096];
    static uint8_t a[4096 * 64 + 128], b[4096 * 64 + 128];
    /* The bytes equal cmn_wire_send_batch's (protobuf-c's) for edge values:
     * zero fields omitted, varints of every length. */
    static const struct {
        uint32_t coll;
        uint64_t seq;
        size_t n;
        uint64_t ts0;
    } cases[] = {{0, 0, 1, 0},
                 {1, 1, 1, 1},
                 {UINT32_MAX, 1ull << 35, 3, 1700000000000000000ull},
                 {127, 128, 2, UINT64_MAX - 10},
                 {128, UINT64_MAX, 4096, 12345},
                 {16384, 2, 2047, 0}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (size_t i = 0; i < cases[c].n; i++) {
            memset(&src[i], (int)(i & 0xff), sizeof(src[i]));
            src[i].ts_ns = cases[c].ts0 + (i * 7919) % 13; /* first is not the smallest */
        }
        FAIL_IF(cmn_wire_send_batch(tx, cases[c].coll, cases[c].seq, src, cases[c].n, 0) != 0);
        size_t la = s_raw(rx, a, sizeof(a));
        struct cmn_record *r = cmn_wire_pool_get(pool);
        FAIL_IF(!r || (uintptr_t)r % 64 != 0);
        memcpy(r, src, cases[c].n * sizeof(*r));
        FAIL_IF(cmn_wire_pool_send(tx, pool, cases[c].coll, cases[c].seq, &r, cases[c].n, 0) != 0);
        FAIL_IF(r != NULL);
        size_t lb = s_raw(rx, b, sizeof(b));
        FAIL_IF(la == 0 || la != lb || memcmp(a, b, la) != 0);
    }
    /* The limit: three buffers; a sent one comes back once ZeroMQ lets go. */
    struct cmn_record *x = cmn_wire_pool_get(pool), *y = cmn_wire_pool_get(pool);
    struct cmn_record *z = cmn_wire_pool_get(pool);
    FAIL_IF(!x || !y || !z || cmn_wire_pool_get(pool) != NULL);
    cmn_wire_pool_put(pool, y);
    cmn_wire_pool_put(pool, NULL);
    FAIL_IF(cmn_wire_pool_get(pool) != y);
    memset(x, 0, sizeof(*x));
    FAIL_IF(cmn_wire_pool_send(tx, pool, 1, 1, &x, 1, 0) != 0);
    /* Destroyed while a buffer is still queued: the pool lives until it is received. */
    cmn_wire_pool_put(pool, y);
    cmn_wire_pool_put(pool, z);
    cmn_wire_pool_destroy(&pool);
    FAIL_IF(pool != NULL);
    struct cmn_wire_msg m;
    FAIL_IF(cmn_wire_recv_msg(rx, 0, &m) != 0 || !m.is_batch || m.batch.record_count != 1);
    cmn_wire_msg_close(&m); /* frees the last buffer and the pool */
    zmq_close(tx);
    zmq_close(rx);
    zmq_ctx_term(ctx);
    PASS;
}

TEST_MAIN(TEST_ENTRY(wire_batch_roundtrip) TEST_ENTRY(wire_result_arrays)
              TEST_ENTRY(wire_bad_endpoint) TEST_ENTRY(wire_peek_batch)
                  TEST_ENTRY(wire_peek_encodings) TEST_ENTRY(wire_recv_msg)
                      TEST_ENTRY(wire_pool_send))
