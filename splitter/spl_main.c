/* SPDX-License-Identifier: MIT
 * renkei-splitter: options and config (common/cmn_cli.h) into a spl_config,
 * signals into a stop flag, and spl_node_run. Everything else lives in
 * spl_node.c, so the unit tests drive what the daemon runs.
 */
#define CMN_LOG_TAG "main"
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "cmn_cli.h"
#include "cmn_curve.h"
#include "cmn_config.h"
#include "cmn_log.h"
#include "cmn_metrics.h"
#include "cmn_shard.h"
#include "cmn_wire.h"
#include "spl_node.h"

static volatile sig_atomic_t s_stop;

/* SIGINT, SIGTERM: end the stream; SIGHUP: leave the run for a restart. */
static void s_on_signal(int sig)
{
    s_stop = sig == SIGHUP ? 2 : 1;
}

static const struct cmn_cli_opt s_opts[] = {
    {"listen", "ENDPOINT", "bind for collectors, e.g. tcp://*:5550 (required)"},
    {"tracker", "ENDPOINT",
     "tracker endpoint; repeat, in tracker-index order (required); 'none' for a tracker "
     "removed from the map (the others keep their index)"},
    {"merger", "ENDPOINT", "merger endpoint (required)"},
    {"merger_ack", "ENDPOINT",
     "the merger's ack_listen: send the end of the run again to a restarted merger, and "
     "wait for its Ack before leaving (default: none)"},
    {"spill_dir", "DIR",
     "a tracker that takes nothing for 1 s gets its messages spilled to a file here, in order, "
     "and sent from it once it takes them again; the others go on (default: none, wait)"},
    {"tracker_ack", "ENDPOINT",
     "a tracker's ack_listen; repeat, in tracker order, one per tracker: its pipe is kept "
     "(in spill_dir) until its checkpoint has it, and sent again if it restarts"},
    {"state_dir", "DIR",
     "checkpoint here after every epoch and resume from it after a crash: trackers go back to "
     "it, collectors send again what came after (needs tracker_ack, merger_ack, ack_listen)"},
    {"ack_listen", "ENDPOINT",
     "bind a PUB socket here telling the collectors (their splitter_ack) what the checkpoint "
     "holds of each (with state_dir)"},
    {"spill_max_mb", "MB", "size of one tracker's spill file at most; then wait (default 4096)"},
    {"collectors", "N", "collectors to expect; end of stream after all ended (0: run forever)"},
    {"range", "'PREFIX TRACKER'", "shard rule, repeatable (default: even split)"},
    {"epoch_seconds", "S", "epoch length in capture time (default 60)"},
    {"batch_records", "N", "records per batch sent to a tracker (default 4096)"},
    {"batch_delay_ms", "MS", "a partial batch leaves after this long (default 50)"},
    {"stats_interval", "S", "seconds between stats lines/messages, 0 off (default 5)"},
    {"dedup_window_us", "US",
     "copies of a packet from two collectors closer than this are one packet, 0 off "
     "(default 500)"},
    {"dedup_memcap_mb", "MB", "memory for records held for the time-ordered merge (default 256)"},
    {"liveness_timeout", "S",
     "a collector silent or a tracker not taking records this long is marked down, 0 never "
     "(default 30)"},
    CMN_CURVE_CLI_OPTS,
    CMN_METRICS_CLI_OPTS,
    {NULL, NULL, NULL},
};

static const char *const s_repeat[] = {"tracker", "range", "tracker_ack", NULL};

static const struct cmn_cli_spec s_spec = {
    .prog = "renkei-splitter",
    .kind = "splitter",
    .summary = "Receive records from collectors, shard them by IP range over trackers.",
    .repeat = s_repeat,
    .opts = s_opts,
    .positional = false,
};

int main(int argc, char **argv)
{
    struct cmn_config *cfg = NULL;
    const char *sect;
    int pos;
    if (cmn_cli_parse(&s_spec, argc, argv, &cfg, &sect, &pos) != 0)
        return CMN_EXIT_USAGE;

    int rc = CMN_EXIT_USAGE;
    const char **trackers = NULL, **ranges = NULL, **tacks = NULL;
    uint8_t *vacant = NULL;
    void *ctx = NULL;
    struct spl_node *node = NULL;
    struct cmn_metrics *metrics = NULL;
    uint64_t collectors, epoch_s, batch, delay, stats, dwin, dmem, live, spill_mb;
    const char *listen = cmn_cli_require(&s_spec, cfg, sect, "listen");
    const char *merger = cmn_cli_require(&s_spec, cfg, sect, "merger");
    size_t ntr = cmn_config_count(cfg, sect, "tracker");
    if (ntr == 0)
        cmn_cli_require(&s_spec, cfg, sect, "tracker");
    if (!listen || !merger || ntr == 0)
        goto out;
    if (cmn_config_u64(cfg, sect, "collectors", 0, 0, 1024, &collectors) ||
        cmn_config_u64(cfg, sect, "epoch_seconds", 60, 1, 86400 * 365, &epoch_s) ||
        cmn_config_u64(cfg, sect, "batch_records", 4096, 1, 1 << 20, &batch) ||
        cmn_config_u64(cfg, sect, "batch_delay_ms", 50, 0, 3600 * 1000, &delay) ||
        cmn_config_u64(cfg, sect, "stats_interval", 5, 0, 86400, &stats) ||
        cmn_config_u64(cfg, sect, "dedup_window_us", SPL_DEDUP_WINDOW_US, 0, 10000000, &dwin) ||
        cmn_config_u64(cfg, sect, "dedup_memcap_mb", SPL_DEDUP_MEMCAP_MB, 1, 1 << 20, &dmem) ||
        cmn_config_u64(cfg, sect, "liveness_timeout", CMN_LIVENESS_TIMEOUT_DEF, 0, 86400, &live) ||
        cmn_config_u64(cfg, sect, "spill_max_mb", 4096, 1, 1 << 24, &spill_mb))
        goto out;
    if (ntr > 4096) {
        CMN_LOG(ERR, "at most 4096 trackers, got %zu", ntr);
        goto out;
    }
    trackers = calloc(ntr, sizeof(*trackers));
    size_t nr = cmn_config_count(cfg, sect, "range");
    ranges = calloc(nr ? nr : 1, sizeof(*ranges));
    if (!trackers || !ranges)
        abort();
    vacant = calloc(ntr, 1);
    if (!vacant)
        abort();
    size_t nvac = 0;
    for (size_t i = 0; i < ntr; i++) {
        trackers[i] = cmn_config_get_nth(cfg, sect, "tracker", i);
        vacant[i] = spl_tracker_retired(trackers[i]); /* retired: the others keep their index */
        nvac += vacant[i];
    }
    size_t nta = cmn_config_count(cfg, sect, "tracker_ack");
    if (nta) {
        char where[512];
        if (nta != ntr || !cmn_config_get(cfg, sect, "spill_dir")) {
            CMN_LOG(ERR, "%s: tracker_ack: %s",
                    cmn_config_where(cfg, sect, "tracker_ack", where, sizeof(where)),
                    nta != ntr ? "one per tracker, in tracker order (their counts differ)"
                               : "needs spill_dir (the keep logs are written there)");
            goto out;
        }
        if (!(tacks = calloc(nta, sizeof(*tacks))))
            abort();
        for (size_t i = 0; i < nta; i++) {
            tacks[i] = cmn_config_get_nth(cfg, sect, "tracker_ack", i);
            if (vacant[i] != spl_tracker_retired(tacks[i])) {
                CMN_LOG(ERR,
                        "%s: tracker_ack %zu is %s but tracker %zu is %s: a retired tracker "
                        "is 'none' in both",
                        cmn_config_where(cfg, sect, "tracker_ack", where, sizeof(where)), i,
                        tacks[i], i, trackers[i]);
                goto out;
            }
        }
    }
    for (size_t i = 0; i < nr; i++)
        ranges[i] = cmn_config_get_nth(cfg, sect, "range", i);
    if (nr > 0 || nvac > 0) {
        /* Validate the rules here so a bad one is a usage error (exit 2) naming its line. */
        char err[256] = "", where[512];
        struct cmn_shard_map *m =
            cmn_shard_map_new_vacant((uint32_t)ntr, vacant, ranges, nr, err, sizeof(err));
        if (!m) {
            CMN_LOG(ERR, "%s: %s: %s",
                    cmn_config_where(cfg, sect, nr ? "range" : "tracker", where, sizeof(where)),
                    nr ? "range" : "tracker", err);
            goto out;
        }
        cmn_shard_map_destroy(&m);
    }

    const char *state_dir = cmn_config_get(cfg, sect, "state_dir");
    if (state_dir) {
        const char *need = !nta                                       ? "tracker_ack"
                           : !cmn_config_get(cfg, sect, "merger_ack") ? "merger_ack"
                           : !cmn_config_get(cfg, sect, "ack_listen") ? "ack_listen"
                                                                      : NULL;
        char where[512];
        cmn_config_where(cfg, sect, "state_dir", where, sizeof(where));
        if (need) {
            CMN_LOG(ERR,
                    "%s: state_dir needs %s too (trackers go back to the checkpoint, "
                    "collectors send again what came after it)",
                    where, need);
            goto out;
        }
        if (access(state_dir, W_OK | X_OK) != 0) {
            CMN_LOG(ERR, "%s: state_dir %s: %s", where, state_dir, strerror(errno));
            goto out;
        }
    }
    /* before any socket: a bad address or a port in use stops the start */
    int mrc = cmn_metrics_from_config(cfg, sect, "splitter", 0, listen, &metrics);
    if (mrc != 0) {
        rc = mrc == -EINVAL ? CMN_EXIT_USAGE : CMN_EXIT_ERROR;
        goto out;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = s_on_signal; /* no SA_RESTART: the poll wakes up */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    cmn_wire_keep_buffers(); /* batch messages reuse heap pages instead of faulting them in */
    ctx = zmq_ctx_new();
    if (!ctx) {
        CMN_LOG(ERR, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
        rc = CMN_EXIT_ERROR;
        goto out;
    }
    struct spl_config sc = {
        .zmq_ctx = ctx,
        .listen = listen,
        .trackers = trackers,
        .tracker_count = (uint32_t)ntr,
        .vacant = nvac ? vacant : NULL,
        .merger = merger,
        .ranges = ranges,
        .range_count = nr,
        .collectors = (uint32_t)collectors,
        .epoch_seconds = epoch_s,
        .batch_records = (uint32_t)batch,
        .batch_delay_ms = (uint32_t)delay,
        .stats_interval = (uint32_t)stats,
        .dedup_window_us = dwin,
        .dedup_memcap_mb = dmem,
        .liveness_timeout = (uint32_t)live,
        .metrics = metrics,
        .merger_ack = cmn_config_get(cfg, sect, "merger_ack"),
        .spill_dir = cmn_config_get(cfg, sect, "spill_dir"),
        .spill_max_bytes = spill_mb << 20,
        .tracker_acks = tacks,
        .state_dir = state_dir,
        .ack_listen = cmn_config_get(cfg, sect, "ack_listen"),
    };
    node = spl_node_new(&sc);
    if (!node) {
        /* Bad rules are configuration errors; a failed bind is a runtime one. */
        rc = CMN_EXIT_ERROR;
        goto out;
    }
    int run = spl_node_run(node, &s_stop);
    rc = run == 0 ? CMN_EXIT_OK : run == 2 ? CMN_EXIT_RESTART : CMN_EXIT_ERROR;

out:
    spl_node_destroy(&node);
    cmn_metrics_destroy(&metrics);
    if (ctx)
        zmq_ctx_term(ctx);
    free(trackers);
    free(vacant);
    free(ranges);
    free(tacks);
    cmn_config_destroy(&cfg);
    return rc;
}
