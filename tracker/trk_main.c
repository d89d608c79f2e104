/* SPDX-License-Identifier: MIT
 * renkei-tracker: options (common/cmn_cli.h, keys of docs/ARCHITECTURE.md),
 * signals, and trk_node_run. Everything else lives in the renkei_tracker
 * library so tests run what the daemon runs.
 */
#define CMN_LOG_TAG "tracker"
#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmn_cli.h"
#include "cmn_curve.h"
#include "cmn_log.h"
#include "cmn_metrics.h"
#include "trk_node.h"

static struct trk_node *g_node; /* for the signal handler */

static void s_on_signal(int sig)
{
    (void)sig;
    if (g_node)
        trk_node_stop(g_node);
}

static const struct cmn_cli_opt s_opts[] = {
    {"id", "N", "tracker index (0-based, the splitter's order)"},
    {"listen", "ENDPOINT", "ZeroMQ endpoint to bind for the splitter, e.g. tcp://*:5560"},
    {"merger", "ENDPOINT", "ZeroMQ endpoint of the merger"},
    {"merger_ack", "ENDPOINT",
     "the merger's ack_listen: keep results until the merger has them for good, send them "
     "again to a restarted merger (default: none)"},
    {"state_dir", "DIR",
     "write a checkpoint here at every epoch and resume from it after a crash, the splitter "
     "sending again what came after it (needs ack_listen; default: none)"},
    {"ack_listen", "ENDPOINT",
     "bind a PUB socket here telling the splitter (its tracker_ack) where the checkpoint "
     "stands (with state_dir)"},
    {"memcap_mb", "MB", "memory cap of session and endpoint tables (default 1024)"},
    {"merger_keep_mb", "MB",
     "with merger_ack: memory for what the merger has not acknowledged; past it, spilled into "
     "state_dir (default 256; 0: all of it)"},
    {"merger_keep_disk_mb", "MB",
     "with state_dir: spill file bytes at most past merger_keep_mb (default 16384)"},
    {"session_timeout", "SECONDS", "idle capture time before a session ends (default 120)"},
    {"exit_on_eos", NULL, "exit after end of stream instead of waiting for the next"},
    {"stats_interval", "SECONDS", "seconds between stats lines, 0 = off (default 5)"},
    {"hash_seed", "N", "fixed hash seed for reproducible table layouts (default random)"},
    {"log_level", "LEVEL", "err|warn|notice|info|debug (default notice)"},
    CMN_CURVE_CLI_OPTS,
    CMN_METRICS_CLI_OPTS,
    {NULL, NULL, NULL},
};

static const struct cmn_cli_spec s_spec = {
    .prog = "renkei-tracker",
    .kind = "tracker",
    .summary = "session table, endpoint evidence and roles for one shard of addresses",
    .opts = s_opts,
    .positional = false,
};

int main(int argc, char **argv)
{
    struct cmn_config *cfg = NULL;
    const char *sec = NULL;
    int first = 0;
    cmn_log_init("renkei-tracker", CMN_LOG_NOTICE);
    if (cmn_cli_parse(&s_spec, argc, argv, &cfg, &sec, &first) != 0)
        return CMN_EXIT_USAGE;
    int rc = CMN_EXIT_USAGE;
    struct cmn_metrics *metrics = NULL;
    const char *lvl = cmn_config_get(cfg, sec, "log_level");
    enum cmn_log_level level = CMN_LOG_NOTICE;
    if (lvl && cmn_log_level_parse(lvl, &level) != 0) {
        fprintf(stderr, "renkei-tracker: --log-level: expected err|warn|notice|info|debug\n");
        goto out;
    }
    cmn_log_init("renkei-tracker", level);
    uint64_t id, memcap_mb, timeout, seed, keep_mb, keep_disk_mb;
    double interval;
    bool exit_on_eos;
    const char *listen = cmn_cli_require(&s_spec, cfg, sec, "listen");
    const char *merger = cmn_cli_require(&s_spec, cfg, sec, "merger");
    if (!cmn_cli_require(&s_spec, cfg, sec, "id") || !listen || !merger)
        goto out;
    if (cmn_config_u64(cfg, sec, "id", 0, 0, 4095, &id) != 0 ||
        cmn_config_u64(cfg, sec, "memcap_mb", 1024, 1, 1u << 20, &memcap_mb) != 0 ||
        cmn_config_u64(cfg, sec, "merger_keep_mb", 256, 0, 1u << 20, &keep_mb) != 0 ||
        cmn_config_u64(cfg, sec, "merger_keep_disk_mb", 16384, 1, 1u << 30, &keep_disk_mb) != 0 ||
        cmn_config_u64(cfg, sec, "session_timeout", 120, 0, 365ull * 86400, &timeout) != 0 ||
        cmn_config_u64(cfg, sec, "hash_seed", 0, 0, UINT64_MAX, &seed) != 0 ||
        cmn_config_double(cfg, sec, "stats_interval", 5, 0, 86400, &interval) != 0 ||
        cmn_config_bool(cfg, sec, "exit_on_eos", false, &exit_on_eos) != 0)
        goto out;
    const char *state_dir = cmn_config_get(cfg, sec, "state_dir");
    const char *ack_listen = cmn_config_get(cfg, sec, "ack_listen");
    if (state_dir && !cmn_config_get(cfg, sec, "merger_ack")) {
        fprintf(stderr, "renkei-tracker: state_dir needs merger_ack (a checkpoint keeps what the "
                        "merger has not acknowledged)\n");
        goto out;
    }
    if (state_dir && access(state_dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "renkei-tracker: state_dir %s: %s\n", state_dir, strerror(errno));
        goto out;
    }
    if (!state_dir != !ack_listen) {
        fprintf(stderr,
                "renkei-tracker: %s needs %s too (checkpoints are acknowledged to the "
                "splitter)\n",
                state_dir ? "state_dir" : "ack_listen", state_dir ? "ack_listen" : "state_dir");
        goto out;
    }
    /* before any socket: a bad address or a port in use stops the start */
    int mrc = cmn_metrics_from_config(cfg, sec, "tracker", (uint32_t)id, listen, &metrics);
    if (mrc != 0) {
        rc = mrc == -EINVAL ? CMN_EXIT_USAGE : CMN_EXIT_ERROR;
        goto out;
    }
    struct trk_node_config nc = {
        .id = (uint32_t)id,
        .listen = listen,
        .merger = merger,
        .merger_ack = cmn_config_get(cfg, sec, "merger_ack"),
        .state_dir = state_dir,
        .ack_listen = ack_listen,
        .memcap_bytes = memcap_mb << 20,
        .keep_bytes = keep_mb ? keep_mb << 20 : 1, /* 0: all of it spills */
        .keep_disk_bytes = keep_disk_mb << 20,
        .session_timeout_ns = timeout * 1000000000ull,
        .exit_on_eos = exit_on_eos,
        .stats_interval_s = interval,
        .seed = seed,
        .metrics = metrics,
    };
    g_node = trk_node_new(&nc);
    if (!g_node) {
        rc = CMN_EXIT_ERROR;
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    CMN_LOG(NOTICE, "tracker %u listening on %s, results to %s, memcap %" PRIu64 " MB", nc.id,
            listen, merger, memcap_mb);
    rc = trk_node_run(g_node);
    trk_node_destroy(&g_node);
out:
    cmn_metrics_destroy(&metrics);
    cmn_config_destroy(&cfg);
    return rc;
}
