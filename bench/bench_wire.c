/* SPDX-License-Identifier: MIT
 * bench_wire: RecordBatch encode + decode on one core. Each turn sends one
 * batch with cmn_wire_send_batch over an inproc PUSH/PULL pair and receives
 * it with cmn_wire_recv + cmn_wire_batch_records (the path every hop takes),
 * touching every received record once. Also times protobuf-c pack/unpack
 * alone, without ZeroMQ, to split the cost, and the path the splitter and
 * trackers take now: pooled zero-copy send (cmn_wire_pool_send) and in-place
 * receive (cmn_wire_recv_msg + cmn_wire_view_records).
 * Usage: bench_wire [--quick] [batch_records] [records]
 *        bench_wire --sink ENDPOINT SECONDS  (a PULL sink for bench_collector.sh:
 *        binds, receives and discards messages for SECONDS, prints the count)
 * Prints human lines and `RESULT wire_mrps`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cmn_config.h"
#include "cmn_curve.h"
#include "cmn_wire.h"

static uint64_t s_rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void s_fill(struct cmn_record *r, size_t n)
{
    uint64_t rng = 88172645463325252ull;
    memset(r, 0, n * sizeof(*r));
    for (size_t i = 0; i < n; i++) {
        uint64_t x = s_rng(&rng);
        r[i].ts_ns = 1700000000000000000ull + i * 67;
        r[i].src[10] = r[i].src[11] = r[i].dst[10] = r[i].dst[11] = 0xff;
        memcpy(r[i].src + 12, &x, 4);
        memcpy(r[i].dst + 12, (const uint8_t *)&x + 4, 4);
        r[i].sport = (uint16_t)(x >> 13);
        r[i].dport = 443;
        r[i].proto = 6;
        r[i].ip_len = 40 + (uint32_t)(x % 1460);
    }
}

static int s_sink(const char *endpoint, double seconds)
{
    void *ctx = zmq_ctx_new();
    /* a benchmark sink on the same host: plaintext (the collector under test
     * gets --insecure-lab too when the transport is TCP) */
    struct cmn_config *cfg = cmn_config_new();
    cmn_config_set(cfg, "sink", "insecure_lab", "true");
    char err[256];
    if (cmn_curve_configure(cfg, "sink", err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_wire: %s\n", err);
        return 1;
    }
    cmn_config_destroy(&cfg);
    void *pull = cmn_zmq_open(ctx, ZMQ_PULL, endpoint, true, 0, 1000);
    if (!pull)
        return 1;
    int tmo = 200;
    zmq_setsockopt(pull, ZMQ_RCVTIMEO, &tmo, sizeof(tmo));
    uint64_t end = cmn_mono_ns() + (uint64_t)(seconds * 1e9), msgs = 0, bytes = 0;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (cmn_mono_ns() < end) {
        int n = zmq_msg_recv(&m, pull, 0);
        if (n >= 0) {
            msgs++;
            bytes += (uint64_t)n;
        }
    }
    zmq_msg_close(&m);
    printf("sink: %" PRIu64 " messages, %" PRIu64 " bytes\n", msgs, bytes);
    zmq_close(pull);
    zmq_ctx_term(ctx);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--sink") == 0)
        return s_sink(argv[2], strtod(argv[3], NULL));
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (quick) {
        argc--;
        argv++;
    }
    uint64_t batch = argc > 1 ? strtoull(argv[1], NULL, 10) : 4096;
    uint64_t nrec = argc > 2 ? strtoull(argv[2], NULL, 10) : quick ? 50000000 : 300000000;
    if (batch < 1 || batch > (1u << 20)) {
        fprintf(stderr, "usage: bench_wire [--quick] [batch_records 1..1048576] [records]\n");
        return 2;
    }
    struct cmn_record *recs = malloc(batch * sizeof(*recs));
    if (!recs)
        return 1;
    s_fill(recs, batch);
    uint64_t turns = (nrec + batch - 1) / batch;

    /* protobuf-c alone: pack into one buffer, unpack, validate */
    Renkei__RecordBatch b = RENKEI__RECORD_BATCH__INIT;
    b.collector_id = 1;
    b.record_count = (uint32_t)batch;
    b.record_size = sizeof(struct cmn_record);
    b.layout = CMN_LAYOUT_VERSION;
    b.records.len = batch * sizeof(struct cmn_record);
    b.records.data = (uint8_t *)recs;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.version = CMN_WIRE_VERSION;
    env.body_case = RENKEI__ENVELOPE__BODY_BATCH;
    env.batch = &b;
    uint8_t *buf = malloc(renkei__envelope__get_packed_size(&env) + 64);
    uint64_t sum = 0, t0 = cmn_mono_ns();
    for (uint64_t i = 0; i < turns; i++) {
        b.seq = i + 1;
        size_t len = renkei__envelope__pack(&env, buf);
        Renkei__Envelope *e = renkei__envelope__unpack(NULL, len, buf);
        const struct cmn_record *r = NULL;
        long n = e ? cmn_wire_batch_records(e->batch, &r) : -1;
        sum += n > 0 ? r[n - 1].ip_len : 0;
        renkei__envelope__free_unpacked(e, NULL);
    }
    uint64_t pb_ns = cmn_mono_ns() - t0;

    /* the real path: cmn_wire over inproc ZeroMQ */
    void *ctx = zmq_ctx_new();
    void *pull = cmn_zmq_open(ctx, ZMQ_PULL, "inproc://bench", true, 0, 16);
    void *push = cmn_zmq_open(ctx, ZMQ_PUSH, "inproc://bench", false, 0, 16);
    if (!pull || !push)
        return 1;
    uint64_t bad = 0;
    t0 = cmn_mono_ns();
    for (uint64_t i = 0; i < turns; i++) {
        if (cmn_wire_send_batch(push, 1, i + 1, recs, batch, 0) != 0) {
            bad++;
            continue;
        }
        int err = 0;
        Renkei__Envelope *e = cmn_wire_recv(pull, 0, &err);
        const struct cmn_record *r = NULL;
        long n = e && e->body_case == RENKEI__ENVELOPE__BODY_BATCH
                     ? cmn_wire_batch_records(e->batch, &r)
                     : -1;
        if (n != (long)batch || e->batch->seq != i + 1)
            bad++;
        for (long k = 0; k < n; k++) /* the receiver reads every record once */
            sum += r[k].ip_len;
        cmn_wire_free(&e);
    }
    uint64_t zmq_ns = cmn_mono_ns() - t0;

    /* what the splitter and trackers run now: pooled zero-copy send, in-place receive */
    struct cmn_wire_pool *pool = cmn_wire_pool_new(batch, 64);
    if (!pool)
        return 1;
    t0 = cmn_mono_ns();
    for (uint64_t i = 0; i < turns; i++) {
        struct cmn_record *out = cmn_wire_pool_get(pool);
        if (!out || (memcpy(out, recs, batch * sizeof(*recs)),
                     cmn_wire_pool_send(push, pool, 1, i + 1, &out, batch, 0) != 0)) {
            cmn_wire_pool_put(pool, out);
            bad++;
            continue;
        }
        struct cmn_wire_msg m;
        if (cmn_wire_recv_msg(pull, 0, &m) != 0) {
            bad++;
            continue;
        }
        const struct cmn_record *r = NULL;
        long n = m.is_batch ? cmn_wire_view_records(&m.batch, &r) : -1;
        if (n != (long)batch || m.batch.seq != i + 1)
            bad++;
        for (long k = 0; k < n; k++) { /* unaligned in place: read through memcpy */
            uint32_t ip_len;
            memcpy(&ip_len, (const uint8_t *)r + (size_t)k * sizeof(*r) + 44, sizeof(ip_len));
            sum += ip_len;
        }
        cmn_wire_msg_close(&m);
    }
    uint64_t zc_ns = cmn_mono_ns() - t0;
    cmn_wire_pool_destroy(&pool);
    zmq_close(push);
    zmq_close(pull);
    zmq_ctx_term(ctx);

    double recs_total = (double)(turns * batch);
    double pb = recs_total / ((double)pb_ns / 1e3), wire = recs_total / ((double)zmq_ns / 1e3);
    printf("batch %" PRIu64 " records (%" PRIu64 " KiB), %" PRIu64 " batches (checksum %" PRIu64
           ")\n",
           batch, batch * 64 / 1024, turns, sum);
    printf("protobuf-c pack + unpack: %.2f M records/s (%.1f ns/batch)\n", pb,
           (double)pb_ns / (double)turns);
    printf("cmn_wire send + recv over inproc: %.2f M records/s (%.1f ns/batch)%s\n", wire,
           (double)zmq_ns / (double)turns, bad ? ", ERRORS" : "");
    double zc = recs_total / ((double)zc_ns / 1e3);
    printf("pooled send + in-place recv over inproc: %.2f M records/s (%.1f ns/batch)%s\n", zc,
           (double)zc_ns / (double)turns, bad ? ", ERRORS" : "");
    printf("RESULT wire_mrps %.2f Mrec/s\n", wire);
    printf("RESULT wire_zc_mrps %.2f Mrec/s\n", zc);
    printf("RESULT wire_pb_mrps %.2f Mrec/s\n", pb);
    free(buf);
    free(recs);
    return bad ? 1 : 0;
}
