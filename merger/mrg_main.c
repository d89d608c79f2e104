/* SPDX-License-Identifier: MIT
 * renkei-merger: reads its options (docs/ARCHITECTURE.md, merger table) and
 * runs one mrg_node until the run ends (exit_on_eos) or SIGINT/SIGTERM.
 * Exit codes: 0 ok, 1 runtime error, 2 usage, 3 records were lost.
 */
#define CMN_LOG_TAG "merger"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_cli.h"
#include "cmn_curve.h"
#include "cmn_log.h"
#include "cmn_metrics.h"
#include "cmn_names.h"
#include "cmn_sites.h"
#include "cmn_wire.h"
#include "mrg_live.h"
#include "mrg_node.h"
#include "mrg_rollup.h"

static struct mrg_node *s_node; /* for the signal handler */

static void s_on_signal(int sig)
{
    (void)sig;
    mrg_node_stop(s_node);
}

static const struct cmn_cli_opt s_opts[] = {
    {"listen", "ENDPOINT", "ZeroMQ endpoint to bind, e.g. tcp://*:5560 (required)"},
    {"ack_listen", "ENDPOINT",
     "endpoint to bind for Acks to the trackers and the splitter (their merger_ack): they "
     "keep what no Ack covers and send it again to a restarted merger, which resumes its "
     "run (default: none)"},
    {"db", "FILE", "SQLite database to write (required)"},
    {"trackers", "N", "trackers to wait for per epoch (default: from the splitter's Hello)"},
    {"hosts_file", "FILE", "/etc/hosts-format host names"},
    {"services_file", "FILE", "service names: 'tcp/50020 order-api' or 'order-api 50020/tcp'"},
    {"sites_file", "FILE", "sites: lines 'NAME KIND CIDR...' (replaces the sites table)"},
    {"exit_on_eos", NULL, "exit after the run ends (3 if records were lost)"},
    {"stats_interval", "SECONDS", "seconds between stats lines (default 5, 0 off)"},
    {"retain_minutes", "N",
     "minutes of live sessions and per-epoch usage rows (default 60, 0 all)"},
    {"retain_hours", "N", "hours of hourly usage rows (default 48, 0 forever)"},
    {"retain_days", "N", "days of daily usage rows (default 7, 0 forever)"},
    {"liveness_timeout", "SECONDS",
     "the splitter or a tracker silent this long is marked down, 0 never (default 30)"},
    {"memcap_mb", "MB",
     "memory of the live window (sessions, endpoints, edges); past 90% the oldest sessions"
     " retire early (default 4096)"},
    CMN_CURVE_CLI_OPTS,
    CMN_METRICS_CLI_OPTS,
    {NULL, NULL, NULL},
};

static const struct cmn_cli_spec s_spec = {
    .prog = "renkei-merger",
    .kind = "merger",
    .summary = "combine tracker results into the renkei SQLite database",
    .opts = s_opts,
    .positional = false,
};

int main(int argc, char **argv)
{
    struct cmn_config *cfg = NULL;
    const char *section = NULL;
    int first_pos = argc;
    cmn_log_init("renkei-merger", CMN_LOG_NOTICE);
    if (cmn_cli_parse(&s_spec, argc, argv, &cfg, &section, &first_pos) != 0)
        return CMN_EXIT_USAGE;
    int rc = CMN_EXIT_USAGE;
    /* cmn_cli_parse applied log_level (a built-in key) */
    struct mrg_node_config nc = {0};
    struct cmn_sites *sites = NULL;
    struct cmn_metrics *metrics = NULL;
    uint64_t trackers = 0, ival = 5, rmin = 0, rhour = 0, rday = 0, live = 0, memcap = 0;
    nc.listen = cmn_cli_require(&s_spec, cfg, section, "listen");
    nc.db_path = cmn_cli_require(&s_spec, cfg, section, "db");
    nc.hosts_file = cmn_config_get(cfg, section, "hosts_file");
    nc.services_file = cmn_config_get(cfg, section, "services_file");
    nc.ack_listen = cmn_config_get(cfg, section, "ack_listen");
    if (!nc.listen || !nc.db_path ||
        cmn_config_u64(cfg, section, "trackers", 0, 0, 4096, &trackers) != 0 ||
        cmn_config_u64(cfg, section, "stats_interval", 5, 0, 86400, &ival) != 0 ||
        cmn_config_bool(cfg, section, "exit_on_eos", false, &nc.exit_on_eos) != 0 ||
        cmn_config_u64(cfg, section, "retain_minutes", MRG_RETAIN_MINUTES_DEFAULT, 0, 52560000,
                       &rmin) != 0 ||
        cmn_config_u64(cfg, section, "retain_hours", MRG_RETAIN_HOURS_DEFAULT, 0, 876000, &rhour) !=
            0 ||
        cmn_config_u64(cfg, section, "retain_days", MRG_RETAIN_DAYS_DEFAULT, 0, 36500, &rday) !=
            0 ||
        cmn_config_u64(cfg, section, "liveness_timeout", CMN_LIVENESS_TIMEOUT_DEF, 0, 86400,
                       &live) != 0 ||
        cmn_config_u64(cfg, section, "memcap_mb", MRG_LIVE_MEMCAP_DEFAULT >> 20, 1, 1u << 24,
                       &memcap) != 0)
        goto out;
    /* a bad sites file is a bad input file: exit 2, after file:line messages */
    const char *sites_file = cmn_config_get(cfg, section, "sites_file");
    if (sites_file && !(sites = cmn_sites_load(sites_file)))
        goto out;
    nc.sites = sites;
    nc.retain_minutes = (uint32_t)rmin;
    nc.retain_hours = (uint32_t)rhour;
    nc.retain_days = (uint32_t)rday;
    nc.trackers = (uint32_t)trackers;
    nc.stats_interval = (uint32_t)ival;
    nc.liveness_timeout = (uint32_t)live;
    nc.memcap = memcap << 20;
    if (nc.services_file) {
        /* a bad services file is a usage error (exit 2), found before anything starts */
        struct cmn_service_entry *se = NULL;
        char err[4096];
        if (cmn_names_load_services(nc.services_file, &se, err, sizeof(err)) < 0) {
            fprintf(stderr, "renkei-merger: services_file: %s\n", err);
            goto out;
        }
        free(se);
    }

    /* before the socket: a bad address or a port in use stops the start */
    int mrc = cmn_metrics_from_config(cfg, section, "merger", 0, nc.listen, &metrics);
    if (mrc != 0) {
        rc = mrc == -EINVAL ? CMN_EXIT_USAGE : CMN_EXIT_ERROR;
        goto out;
    }
    nc.metrics = metrics;
    s_node = mrg_node_new(&nc);
    if (!s_node) {
        rc = CMN_EXIT_ERROR;
        goto out;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = mrg_node_run(s_node);
    if (rc == CMN_EXIT_LOST) {
        struct mrg_accounting a;
        mrg_node_accounting(s_node, &a);
        CMN_LOG(ERR, "records lost: %llu, pipes unverifiable: %llu (%s)",
                (unsigned long long)a.records_lost, (unsigned long long)a.unverifiable, a.where);
    }
    mrg_node_destroy(&s_node);
out:
    cmn_metrics_destroy(&metrics);
    cmn_sites_destroy(&sites);
    cmn_config_destroy(&cfg);
    return rc;
}
