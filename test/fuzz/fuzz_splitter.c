/* SPDX-License-Identifier: MIT
 * Fuzz target for the splitter's message state machine (splitter/spl_node):
 * a sequence of messages from collectors (seq.h: Hello, RecordBatch,
 * DnsNames, EndOfStream, and anything else) handed to spl_node_handle in
 * order, as spl_node_poll does, then spl_node_finish. The first byte picks
 * the configuration: collectors expected (1-2), trackers (1-3), dedup on or
 * off, shard rules or the even split. Any sequence must end without a crash,
 * a hang, a leak or unbounded growth; what the node sends is drained.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmn_log.h"
#include "seq.h"
#include "spl_node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void *s_ctx, *s_sink[4];
static const char *const s_trk[] = {"inproc://fz-spl-t0", "inproc://fz-spl-t1",
                                    "inproc://fz-spl-t2"};

static void s_drain(void)
{
    for (int i = 0; i < 4; i++)
        seq_drain(s_sink[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_ctx) {
        cmn_log_init("fuzz_splitter", CMN_LOG_OFF);
        s_ctx = zmq_ctx_new();
        for (int i = 0; i < 3; i++)
            s_sink[i] = seq_sink(s_ctx, s_trk[i]);
        s_sink[3] = seq_sink(s_ctx, "inproc://fz-spl-m");
    }
    if (size < 1)
        return 0;
    uint8_t c = data[0];
    /* a fresh endpoint per input: a closed socket's inproc name is freed
     * asynchronously (ZeroMQ's reaper), so binding it again may fail */
    static unsigned runs;
    char listen[64];
    snprintf(listen, sizeof(listen), "inproc://%s-%u", "fz-spl-in", runs++);
    static const char *const rules[] = {"10.0.0.0/8 0", "0.0.0.0-9.255.255.255 1", "::/0 0"};
    struct spl_config cfg = {
        .zmq_ctx = s_ctx,
        .listen = listen,
        .trackers = s_trk,
        .tracker_count = 1 + (c >> 1 & 3) % 3,
        .merger = "inproc://fz-spl-m",
        .ranges = (c & 0x40) ? rules : NULL,
        .range_count = (c & 0x40) ? 3 : 0,
        .collectors = 1 + (c & 1),
        .epoch_seconds = 1,
        .batch_records = 4,
        .batch_delay_ms = 0,
        .stats_interval = 0,
        .hwm = 16,
        .dedup_window_us = (c & 8) ? 500 : 0,
        .dedup_memcap_mb = 1,
    };
    if (cfg.ranges && cfg.tracker_count < 2)
        cfg.tracker_count = 2;
    struct spl_node *node = spl_node_new(&cfg);
    if (!node)
        abort(); /* the configurations above are all valid */
    s_drain();
    size_t off = 1, len;
    const uint8_t *frame;
    for (int k = 0; k < SEQ_FRAMES_MAX && seq_next(data, size, &off, &frame, &len); k++) {
        int rc = spl_node_handle(node, frame, len);
        s_drain();
        if (rc == 1)
            break;
    }
    spl_node_finish(node);
    s_drain();
    volatile uint64_t sink = spl_node_counter(node, "records_forwarded");
    (void)sink;
    spl_node_destroy(&node);
    s_drain();
    return 0;
}
