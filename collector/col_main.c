/* SPDX-License-Identifier: MIT
 * renkei-collector: options and config (common/cmn_cli.h) into a
 * col_run_config, signals into a counter, and col_run. Arguments after `--`
 * are extra EAL arguments. Everything else lives in the renkei_collector
 * library so tests link what the daemon runs.
 */
#define CMN_LOG_TAG "main"
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmn_cli.h"
#include "cmn_curve.h"
#include "cmn_config.h"
#include "cmn_file.h"
#include "cmn_log.h"
#include "cmn_metrics.h"
#include "col_out.h"
#include "col_run.h"

static volatile sig_atomic_t s_signals;
static volatile sig_atomic_t s_pause; /* SIGTERM: a pause when there is a state file */

static void s_on_signal(int sig)
{
    if (sig == SIGTERM)
        s_pause = 1;
    if (s_signals < 2)
        s_signals++;
}

static const struct cmn_cli_opt s_opts[] = {
    {"id", "N", "collector id, unique per splitter (required)"},
    {"name", "TEXT", "label shown in stats (default: capture file or interface)"},
    {"splitter", "ENDPOINT",
     "splitter endpoint, e.g. tcp://10.0.0.5:5550 (required unless --print)"},
    {"merger", "ENDPOINT", "endpoint for periodic stats (optional)"},
    {"splitter_ack", "ENDPOINT",
     "the splitter's ack_listen: keep what the splitter's checkpoint does not hold yet and send "
     "it again to a restarted splitter (optional)"},
    {"splitter_keep_mb", "MB",
     "with splitter_ack: memory for what is kept (about an epoch of records; default 256; 0: "
     "all of it goes to splitter_keep_dir)"},
    {"splitter_keep_dir", "DIR",
     "with splitter_ack: what is kept past splitter_keep_mb goes to a file in DIR (unlinked at "
     "once: it ends with the process); without it the oldest are dropped"},
    {"splitter_keep_disk_mb", "MB", "with splitter_keep_dir: file bytes at most (default 4096)"},
    {"pcap", "FILE", "capture file to read (pcap or pcapng, memory-mapped)"},
    {"pcap_dpdk", NULL,
     "read --pcap through DPDK's net_pcap vdev instead of the collector's own reader"},
    {"state", "FILE",
     "keep the batch sequence and counters in FILE and resume them after a crash or a stop "
     "by SIGTERM (SIGINT ends the stream); with --pcap also the position in the capture "
     "(delete FILE to start over)"},
    {"iface", "IF", "live interface (net_af_packet vdev)"},
    {"eal", "'ARGS'", "raw EAL arguments for a real NIC, e.g. '-l 2-3 -a 0000:3b:00.0'"},
    {"file_prefix", "P", "DPDK --file-prefix (default renkei-col-<id>-<pid>)"},
    {"batch_records", "N", "records per batch (default 4096)"},
    {"batch_delay_ms", "MS", "a partial batch leaves after this long (default 50)"},
    {"stats_interval", "S", "seconds between stats lines/messages, 0 off (default 5)"},
    {"keep_outer", NULL, "record the outer IP header of tunnels instead of the innermost"},
    {"lossless", "BOOL",
     "wait instead of dropping when the send queue is full (default: true "
     "for pcap, false otherwise)"},
    {"print", NULL, "write one text line per record to stdout instead of sending (debugging)"},
    {"max_packets", "N",
     "stop after N packets and log the packet rate (benchmarks; default 0: off)"},
    {"duration", "S",
     "stop S seconds after the first packet and log the packet rate (benchmarks; default 0: off)"},
    {"start_delay_ms", "MS",
     "wait this long before starting (tests: makes this collector's batches arrive late)"},
    CMN_CURVE_CLI_OPTS,
    CMN_METRICS_CLI_OPTS,
    {NULL, NULL, NULL},
};

static const struct cmn_cli_spec s_spec = {
    .prog = "renkei-collector",
    .kind = "collector",
    .summary = "Capture packets with DPDK, keep one header record per packet, push batches to "
               "the splitter.",
    .opts = s_opts,
    .positional = true,
};

int main(int argc, char **argv)
{
    struct cmn_config *cfg = NULL;
    const char *sect;
    int pos;
    if (cmn_cli_parse(&s_spec, argc, argv, &cfg, &sect, &pos) != 0)
        return CMN_EXIT_USAGE;

    int rc = CMN_EXIT_USAGE;
    struct cmn_metrics *metrics = NULL;
    char prefix[128], name[256];
    struct col_run_config c;
    memset(&c, 0, sizeof(c));
    c.prog = argv[0];
    uint64_t id, batch, delay, stats, start_delay, keep_mb, keep_disk_mb;
    bool def_lossless;
    const char *idtext = cmn_cli_require(&s_spec, cfg, sect, "id");
    if (!idtext)
        goto out;
    if (cmn_config_u64(cfg, sect, "id", 0, 0, UINT32_MAX, &id) ||
        cmn_config_u64(cfg, sect, "batch_records", 4096, 1, 1 << 20, &batch) ||
        cmn_config_u64(cfg, sect, "batch_delay_ms", 50, 0, 3600 * 1000, &delay) ||
        cmn_config_u64(cfg, sect, "stats_interval", 5, 0, 86400, &stats) ||
        cmn_config_u64(cfg, sect, "start_delay_ms", 0, 0, 3600 * 1000, &start_delay) ||
        cmn_config_u64(cfg, sect, "splitter_keep_mb", COL_OUT_KEEP_DEFAULT >> 20, 0, 1 << 20,
                       &keep_mb) ||
        cmn_config_u64(cfg, sect, "splitter_keep_disk_mb", COL_OUT_KEEP_DISK_DEFAULT >> 20, 1,
                       1 << 30, &keep_disk_mb) ||
        cmn_config_bool(cfg, sect, "keep_outer", false, &c.keep_outer) ||
        cmn_config_bool(cfg, sect, "print", false, &c.print) ||
        cmn_config_bool(cfg, sect, "pcap_dpdk", false, &c.pcap_dpdk) ||
        cmn_config_u64(cfg, sect, "max_packets", 0, 0, UINT64_MAX, &c.max_packets) ||
        cmn_config_double(cfg, sect, "duration", 0, 0, 1e6, &c.duration))
        goto out;
    c.id = (uint32_t)id;
    c.splitter_keep_bytes = keep_mb ? keep_mb << 20 : 1; /* 0: all of it to the file */
    c.splitter_keep_disk_bytes = keep_disk_mb << 20;
    c.splitter_keep_dir = cmn_config_get(cfg, sect, "splitter_keep_dir");
    if (c.splitter_keep_dir && access(c.splitter_keep_dir, W_OK | X_OK) != 0) {
        fprintf(stderr, "%s: splitter_keep_dir %s: %s\n", s_spec.prog, c.splitter_keep_dir,
                strerror(errno));
        goto out;
    }
    c.batch_records = (uint32_t)batch;
    c.batch_delay_ms = (uint32_t)delay;
    c.stats_interval = (uint32_t)stats;
    c.idle_timeout = 10.0;
    c.pcap = cmn_config_get(cfg, sect, "pcap");
    c.iface = cmn_config_get(cfg, sect, "iface");
    c.eal = cmn_config_get(cfg, sect, "eal");
    int nsrc = !!c.pcap + !!c.iface + !!c.eal;
    if (nsrc != 1) {
        fprintf(stderr, "%s: exactly one of --pcap, --iface or --eal is required (got %d)\n",
                s_spec.prog, nsrc);
        goto out;
    }
    c.source = c.pcap ? COL_SRC_PCAP : c.iface ? COL_SRC_IFACE : COL_SRC_EAL;
    c.state = cmn_config_get(cfg, sect, "state");
    if (c.pcap_dpdk && !c.pcap) {
        fprintf(stderr, "%s: --pcap-dpdk needs --pcap\n", s_spec.prog);
        goto out;
    }
    if (c.state && (c.pcap_dpdk || c.print)) {
        fprintf(stderr,
                "%s: --state needs a capture read by the collector (not --pcap-dpdk) or a "
                "port, sent to a splitter (not --print)\n",
                s_spec.prog);
        goto out;
    }
    def_lossless = c.source == COL_SRC_PCAP;
    if (cmn_config_bool(cfg, sect, "lossless", def_lossless, &c.lossless))
        goto out;
    char ferr[512];
    if (c.pcap && cmn_file_check(c.pcap, "capture", ferr, sizeof(ferr)) != 0) {
        fprintf(stderr, "%s: %s\n", s_spec.prog, ferr); /* a FIFO would block the PMD */
        goto out;
    }
    c.splitter = cmn_config_get(cfg, sect, "splitter");
    if (!c.print && !cmn_cli_require(&s_spec, cfg, sect, "splitter"))
        goto out;
    c.merger = c.print ? NULL : cmn_config_get(cfg, sect, "merger");
    c.splitter_ack = c.print ? NULL : cmn_config_get(cfg, sect, "splitter_ack");
    c.file_prefix = cmn_config_get(cfg, sect, "file_prefix");
    if (!c.file_prefix) {
        snprintf(prefix, sizeof(prefix), "renkei-col-%" PRIu32 "-%d", c.id, (int)getpid());
        c.file_prefix = prefix;
    }
    c.name = cmn_config_get(cfg, sect, "name");
    if (!c.name) {
        const char *src = c.pcap ? c.pcap : c.iface ? c.iface : "eal";
        const char *slash = strrchr(src, '/');
        snprintf(name, sizeof(name), "%s", slash ? slash + 1 : src);
        c.name = name;
    }
    c.extra_eal = argv + pos;
    c.n_extra_eal = argc - pos;
    /* before any socket: a bad address or a port in use stops the start */
    int mrc = cmn_metrics_from_config(cfg, sect, "collector", c.id, c.name, &metrics);
    if (mrc != 0) {
        rc = mrc == -EINVAL ? CMN_EXIT_USAGE : CMN_EXIT_ERROR;
        goto out;
    }
    c.metrics = metrics;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* A late start, in slices so a signal still stops us promptly. */
    for (uint64_t waited = 0; waited < start_delay && !s_signals; waited += 10)
        usleep(10000);
    if (s_signals) {
        rc = CMN_EXIT_OK;
        goto out;
    }
    c.pause = &s_pause;
    rc = col_run(&c, &s_signals);
out:
    cmn_metrics_destroy(&metrics);
    cmn_config_destroy(&cfg);
    return rc;
}
