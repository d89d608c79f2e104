/* SPDX-License-Identifier: MIT
 * test_col_batch: the collector's batch queue (free LIFO, RX -> sender ring)
 * and in-place framing: col_batch_frame must produce byte for byte what
 * cmn_wire_send packs for the same batch, and a zero-copy ZeroMQ send must
 * hand the batch back through col_batch_free once the receiver is done.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cmn_wire.h"
#include "col_batch.h"
#include "harness.h"

static void s_fill(struct col_batch *b, uint32_t n, uint64_t seed)
{
    b->n = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct cmn_record *r = &b->rec[i];
        memset(r, 0, sizeof(*r));
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        r->ts_ns = 1700000000000000000ull + (seed >> 40);
        r->src[10] = r->src[11] = 0xff;
        memcpy(r->src + 12, &seed, 4);
        r->sport = (uint16_t)(seed >> 20);
        r->dport = 443;
        r->proto = 6;
        r->ip_len = 40 + (uint32_t)(seed % 1400);
        r->sig = (uint32_t)(seed >> 7);
        if (b->n++ == 0)
            b->first_ts = b->last_ts = r->ts_ns;
        b->first_ts = r->ts_ns < b->first_ts ? r->ts_ns : b->first_ts;
        b->last_ts = r->ts_ns > b->last_ts ? r->ts_ns : b->last_ts;
    }
}

/* What cmn_wire_send would put on the wire for this batch (the code the
 * sender used before framing in place). */
static uint8_t *s_reference(const struct col_batch *b, uint32_t id, uint64_t seq, size_t *len)
{
    Renkei__RecordBatch rb = RENKEI__RECORD_BATCH__INIT;
    rb.collector_id = id;
    rb.seq = seq;
    rb.record_count = b->n;
    rb.record_size = sizeof(struct cmn_record);
    rb.layout = CMN_LAYOUT_VERSION;
    rb.records.len = (size_t)b->n * sizeof(struct cmn_record);
    rb.records.data = (uint8_t *)(uintptr_t)b->rec;
    rb.first_ts_ns = rb.last_ts_ns = b->n ? b->rec[0].ts_ns : 0;
    for (uint32_t i = 1; i < b->n; i++) {
        if (b->rec[i].ts_ns < rb.first_ts_ns)
            rb.first_ts_ns = b->rec[i].ts_ns;
        if (b->rec[i].ts_ns > rb.last_ts_ns)
            rb.last_ts_ns = b->rec[i].ts_ns;
    }
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.version = CMN_WIRE_VERSION;
    env.body_case = RENKEI__ENVELOPE__BODY_BATCH;
    env.batch = &rb;
    *len = renkei__envelope__get_packed_size(&env);
    uint8_t *buf = malloc(*len);
    renkei__envelope__pack(&env, buf);
    return buf;
}

TEST(queue_lifo_and_ring)
{
    struct col_queue *q = col_queue_new(5, 16);
    FAIL_IF_NOT(q);
    FAIL_IF_NOT(col_queue_free_count(q) == 5);
    struct col_batch *b[5];
    for (int i = 0; i < 5; i++) {
        b[i] = col_queue_get(q);
        FAIL_IF_NOT(b[i]);
        FAIL_IF_NOT(b[i]->n == 0 && b[i]->cap == 16);
        FAIL_IF_NOT(((uintptr_t)b[i]->rec & 63) == 0);
    }
    FAIL_IF(col_queue_get(q)); /* all in flight */
    FAIL_IF(col_queue_take(q));
    for (int i = 0; i < 5; i++) {
        b[i]->n = (uint32_t)i + 1;
        col_queue_submit(q, b[i]);
    }
    for (int i = 0; i < 5; i++) { /* the ring keeps submit order */
        struct col_batch *t = col_queue_take(q);
        FAIL_IF_NOT(t == b[i] && t->n == (uint32_t)i + 1);
    }
    FAIL_IF(col_queue_take(q));
    col_queue_release(q, b[2]);
    col_queue_release(q, b[4]);
    FAIL_IF_NOT(col_queue_free_count(q) == 2);
    FAIL_IF_NOT(col_queue_get(q) == b[4]); /* most recently released first */
    col_batch_free(NULL, b[4]);            /* ZeroMQ's callback releases too */
    FAIL_IF_NOT(col_queue_get(q) == b[4]);
    FAIL_IF_NOT(col_queue_get(q) == b[2]);
    for (int i = 0; i < 5; i++)
        col_queue_release(q, b[i]);
    FAIL_IF_NOT(col_queue_free_count(q) == 5);
    col_queue_destroy(&q);
    FAIL_IF(q);
    col_queue_destroy(&q); /* NULL is fine */
    PASS;
}

TEST(frame_matches_cmn_wire)
{
    const uint32_t cap = 4096;
    struct col_queue *q = col_queue_new(1, cap);
    FAIL_IF_NOT(q);
    struct col_batch *b = col_queue_get(q);
    FAIL_IF_NOT(b);
    static const uint32_t counts[] = {1, 2, 3, 100, 2047, 2048, 4095, 4096};
    static const uint32_t ids[] = {0, 1, 127, 128, 70000, UINT32_MAX};
    static const uint64_t seqs[] = {1, 2, 300, 1ull << 35, UINT64_MAX};
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
            uint64_t seq = seqs[(c + i) % (sizeof(seqs) / sizeof(seqs[0]))];
            s_fill(b, counts[c], c * 31 + i);
            size_t want_len;
            uint8_t *want = s_reference(b, ids[i], seq, &want_len);
            uint8_t *start = NULL;
            size_t len = col_batch_frame(b, ids[i], seq, &start);
            FAIL_IF_NOT(start);
            FAIL_IF_NOT(start >= b->head && start < (uint8_t *)b->rec);
            FAIL_IF_NOT(len == want_len);
            FAIL_IF_NOT(memcmp(start, want, len) == 0);
            free(want);
            /* and it decodes to the records in place */
            Renkei__Envelope *env = renkei__envelope__unpack(NULL, len, start);
            FAIL_IF_NOT(env && env->body_case == RENKEI__ENVELOPE__BODY_BATCH);
            const struct cmn_record *recs = NULL;
            FAIL_IF_NOT(cmn_wire_batch_records(env->batch, &recs) == (long)counts[c]);
            FAIL_IF_NOT(memcmp(recs, b->rec, counts[c] * sizeof(*recs)) == 0);
            FAIL_IF_NOT(env->batch->seq == seq && env->batch->collector_id == ids[i]);
            FAIL_IF_NOT(env->batch->first_ts_ns == b->first_ts);
            FAIL_IF_NOT(env->batch->last_ts_ns == b->last_ts);
            renkei__envelope__free_unpacked(env, NULL);
        }
    }
    col_queue_release(q, b);
    col_queue_destroy(&q);
    PASS;
}

TEST(zero_copy_send_returns_batch)
{
    struct col_queue *q = col_queue_new(2, 64);
    FAIL_IF_NOT(q);
    void *ctx = zmq_ctx_new();
    void *pull = cmn_zmq_open(ctx, ZMQ_PULL, "inproc://test_col_batch", true, 0, 10);
    void *push = cmn_zmq_open(ctx, ZMQ_PUSH, "inproc://test_col_batch", false, 0, 10);
    FAIL_IF_NOT(pull && push);
    struct col_batch *b = col_queue_get(q);
    s_fill(b, 64, 99);
    size_t want_len;
    uint8_t *want = s_reference(b, 9, 1, &want_len);
    uint8_t *start;
    size_t len = col_batch_frame(b, 9, 1, &start);
    zmq_msg_t msg;
    FAIL_IF_NOT(zmq_msg_init_data(&msg, start, len, col_batch_free, b) == 0);
    FAIL_IF_NOT(zmq_msg_send(&msg, push, 0) == (int)len);
    FAIL_IF_NOT(col_queue_free_count(q) == 1); /* ZeroMQ holds it */
    int err = 0;
    Renkei__Envelope *env = cmn_wire_recv(pull, 0, &err); /* closes the message */
    FAIL_IF_NOT(env && err == 0);
    const struct cmn_record *recs = NULL;
    FAIL_IF_NOT(cmn_wire_batch_records(env->batch, &recs) == 64);
    cmn_wire_free(&env);
    FAIL_IF_NOT(col_queue_free_count(q) == 2); /* back through col_batch_free */
    /* the bytes received were the reference bytes */
    b = col_queue_get(q);
    s_fill(b, 64, 99);
    len = col_batch_frame(b, 9, 1, &start);
    FAIL_IF_NOT(zmq_msg_init_data(&msg, start, len, col_batch_free, b) == 0);
    FAIL_IF_NOT(zmq_msg_send(&msg, push, 0) == (int)len);
    zmq_msg_t in;
    zmq_msg_init(&in);
    FAIL_IF_NOT(zmq_msg_recv(&in, pull, 0) == (int)want_len);
    FAIL_IF_NOT(memcmp(zmq_msg_data(&in), want, want_len) == 0);
    zmq_msg_close(&in);
    free(want);
    FAIL_IF_NOT(col_queue_free_count(q) == 2);
    zmq_close(push);
    zmq_close(pull);
    zmq_ctx_term(ctx);
    col_queue_destroy(&q);
    PASS;
}

TEST_MAIN(TEST_ENTRY(queue_lifo_and_ring) TEST_ENTRY(frame_matches_cmn_wire)
              TEST_ENTRY(zero_copy_send_returns_batch))
