/* SPDX-License-Identifier: MIT
 * Fuzz target for the wire decoder: any bytes as a ZeroMQ message must decode
 * to a validated envelope or be rejected (-EPROTO), never read out of bounds.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <zmq.h>

#include "cmn_shard.h"
#include "cmn_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void *s_ctx, *s_rx, *s_tx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_ctx) {
        s_ctx = zmq_ctx_new();
        s_rx = cmn_zmq_open(s_ctx, ZMQ_PULL, "inproc://fuzz-wire", true, 0, 10);
        s_tx = cmn_zmq_open(s_ctx, ZMQ_PUSH, "inproc://fuzz-wire", false, 0, 10);
    }
    if (zmq_send(s_tx, data, size, 0) < 0)
        return 0;
    int err;
    Renkei__Envelope *env = cmn_wire_recv(s_rx, 0, &err);
    if (!env)
        return 0;
    volatile uint64_t sink = 0;
    if (env->body_case == RENKEI__ENVELOPE__BODY_BATCH) {
        const struct cmn_record *r;
        long n = cmn_wire_batch_records(env->batch, &r);
        for (long i = 0; i < n; i++)
            sink += r[i].ip_len;
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
    cmn_wire_free(&env);
    return 0;
}
