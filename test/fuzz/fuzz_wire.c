/* SPDX-License-Identifier: MIT
 * Fuzz target for the wire decoder: any bytes as a ZeroMQ message must decode
 * to a validated envelope or be rejected (-EPROTO), never read out of bounds.
 * The in-place batch reader (cmn_wire_peek_batch) must agree with protobuf-c
 * on the same bytes: abort() when it accepts what protobuf-c reads otherwise,
 * or rejects what cmn_wire_recv would accept.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cmn_shard.h"
#include "cmn_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void *s_ctx, *s_rx, *s_tx;

static void s_check_peek(const uint8_t *data, size_t size)
{
    struct cmn_wire_batch b;
    const char *why;
    int rc = cmn_wire_peek_batch(data, size, &b, &why);
    Renkei__Envelope *e = renkei__envelope__unpack(NULL, size, data);
    bool ok =
        e && e->version == CMN_WIRE_VERSION && e->body_case != RENKEI__ENVELOPE__BODY__NOT_SET;
    if (rc == 1) {
        const Renkei__RecordBatch *pb =
            ok && e->body_case == RENKEI__ENVELOPE__BODY_BATCH ? e->batch : NULL;
        if (!pb || pb->collector_id != b.collector_id || pb->seq != b.seq ||
            pb->record_count != b.record_count || pb->record_size != b.record_size ||
            pb->layout != b.layout || pb->first_ts_ns != b.first_ts_ns ||
            pb->last_ts_ns != b.last_ts_ns || pb->records.len != b.records_len ||
            (b.records_len && memcmp(pb->records.data, b.records, b.records_len) != 0))
            abort();
    } else if (rc == -EPROTO ? ok || !why : rc != 0) {
        abort();
    }
    if (e)
        renkei__envelope__free_unpacked(e, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_check_peek(data, size);
    if (!s_ctx) {
        s_ctx = zmq_ctx_new();
        s_rx = cmn_zmq_open(s_ctx, ZMQ_PULL, "inproc://fuzz-wire", true, 0, 10);
        s_tx = cmn_zmq_open(s_ctx, ZMQ_PUSH, "inproc://fuzz-wire", false, 0, 10);
    }
    if (zmq_send(s_tx, data, size, 0) < 0)
        return 0;
    struct cmn_wire_msg msg;
    if (cmn_wire_recv_msg(s_rx, 0, &msg) != 0)
        return 0;
    Renkei__Envelope *env = msg.env;
    volatile uint64_t sink = 0;
    if (msg.is_batch) {
        const struct cmn_record *r;
        long n = cmn_wire_view_records(&msg.batch, &r);
        for (long i = 0; i < n; i++) { /* possibly unaligned: read through memcpy */
            struct cmn_record x;
            memcpy(&x, (const uint8_t *)r + (size_t)i * sizeof(x), sizeof(x));
            sink += x.ip_len;
        }
    } else if (env->body_case == RENKEI__ENVELOPE__BODY_RESULT) {
        const struct cmn_session_rec *s;
        const struct cmn_endpoint_rec *e;
        const struct cmn_event_rec *v;
        long n = cmn_wire_result_sessions(env->result, &s);
        for (long i = 0; i < n; i++)
            sink += s[i].pkts[0];
        n = cmn_wire_result_endpoints(env->result, &e);
        for (long i = 0; i < n; i++)
            sink += e[i].port;
        n = cmn_wire_result_events(env->result, &v);
        for (long i = 0; i < n; i++)
            sink += v[i].packets;
    } else if (env->body_case == RENKEI__ENVELOPE__BODY_SHARD_MAP) {
        struct cmn_shard_map *m = cmn_shard_map_decode(
            env->shard_map->tracker_count, env->shard_map->ranges.data, env->shard_map->ranges.len);
        static const uint8_t ip[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
        if (m)
            sink += cmn_shard_lookup(m, ip);
        cmn_shard_map_destroy(&m);
    } else if (env->body_case == RENKEI__ENVELOPE__BODY_STATS) {
        sink += cmn_wire_stat(env->stats, "records", 0);
    }
    (void)sink;
    cmn_wire_msg_close(&msg);
    return 0;
}
