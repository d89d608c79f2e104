/* SPDX-License-Identifier: MIT
 * Fuzz target for the merger's message state machine (merger/mrg_node): a
 * sequence of messages from the splitter, trackers and collectors (seq.h:
 * Hello, TrackerResult chunks, Stats, DnsNames, EndOfStream, and anything
 * else) handed to mrg_node_handle in order, as mrg_node_run does, against an
 * in-memory database. The first byte picks the configuration: trackers
 * fixed (1-2) or learnt from the splitter's Hello (bits 0-1), liveness on
 * (bit 2: an empty frame then means "2 s pass": every silent node goes
 * down, mrg_node_check_liveness) and exit_on_eos (bit 3). Any sequence must end
 * without a crash, a hang, a leak, a database error or unbounded growth.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmn_log.h"
#include "cmn_wire.h"
#include "mrg_node.h"
#include "seq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void *s_ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_ctx) {
        cmn_log_init("fuzz_merger", CMN_LOG_OFF);
        s_ctx = zmq_ctx_new();
    }
    if (size < 1)
        return 0;
    uint8_t c = data[0];
    /* a fresh endpoint per input: a closed socket's inproc name is freed
     * asynchronously (ZeroMQ's reaper), so binding it again may fail */
    static unsigned runs;
    char listen[64];
    snprintf(listen, sizeof(listen), "inproc://%s-%u", "fz-mrg-in", runs++);
    struct mrg_node_config cfg = {
        .listen = listen,
        .db_path = ":memory:",
        .trackers = c & 3,
        .exit_on_eos = (c & 8) != 0,
        .liveness_timeout = (c & 4) ? 1 : 0,
        .stats_interval = 0,
        .zmq_ctx = s_ctx,
    };
    if (cfg.trackers == 3)
        cfg.trackers = 0;
    struct mrg_node *n = mrg_node_new(&cfg);
    if (!n)
        abort();
    size_t off = 1, len;
    const uint8_t *frame;
    for (int k = 0; k < SEQ_FRAMES_MAX && seq_next(data, size, &off, &frame, &len); k++) {
        int rc = len == 0 && cfg.liveness_timeout
                     ? mrg_node_check_liveness(n, cmn_mono_ns() + 2000000000ull)
                     : mrg_node_handle(n, frame, len);
        if (rc < 0)
            abort(); /* an in-memory database must not fail */
    }
    struct mrg_accounting a;
    mrg_node_accounting(n, &a);
    volatile uint64_t sink = a.records_lost;
    (void)sink;
    mrg_node_destroy(&n);
    return 0;
}
