/* SPDX-License-Identifier: MIT
 * Fuzz target for the tracker's message state machine (tracker/trk_node):
 * a sequence of messages from the splitter (seq.h: ShardMap, RecordBatch,
 * EpochFlush, EndOfStream, and anything else) handed to trk_node_handle in
 * order, as trk_node_run does. The first byte picks the configuration:
 * tracker index (0-1), a small memory cap or none, a session timeout or none,
 * a tiny TrackerResult cap (many chunks) or the default. Any sequence must
 * end without a crash, a hang, a leak or unbounded growth; what the node
 * sends to the merger is drained.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmn_log.h"
#include "seq.h"
#include "trk_node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void *s_ctx, *s_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_ctx) {
        cmn_log_init("fuzz_tracker", CMN_LOG_OFF);
        s_ctx = zmq_ctx_new();
        s_sink = seq_sink(s_ctx, "inproc://fz-trk-m");
    }
    if (size < 1)
        return 0;
    uint8_t c = data[0];
    /* a fresh endpoint per input: a closed socket's inproc name is freed
     * asynchronously (ZeroMQ's reaper), so binding it again may fail */
    static unsigned runs;
    char listen[64];
    snprintf(listen, sizeof(listen), "inproc://%s-%u", "fz-trk-in", runs++);
    struct trk_node_config cfg = {
        .id = c & 1,
        .listen = listen,
        .merger = "inproc://fz-trk-m",
        .memcap_bytes = (c & 2) ? 8u << 20 : 64u << 20,
        .session_timeout_ns = (c & 4) ? 1000000000ull : 0,
        .exit_on_eos = (c & 8) != 0,
        .stats_interval_s = 0,
        .seed = 1,
        .result_max_bytes = (c & 16) ? 1024 : 0,
        .spare_sessions = 64,
        .zmq_ctx = s_ctx,
    };
    struct trk_node *n = trk_node_new(&cfg);
    if (!n)
        abort();
    size_t off = 1, len;
    const uint8_t *frame;
    for (int k = 0; k < SEQ_FRAMES_MAX && seq_next(data, size, &off, &frame, &len); k++) {
        int rc = trk_node_handle(n, frame, len);
        seq_drain(s_sink);
        if (rc == 1)
            break;
    }
    trk_node_destroy(&n);
    seq_drain(s_sink);
    return 0;
}
