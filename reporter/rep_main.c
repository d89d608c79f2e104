/* SPDX-License-Identifier: MIT
 * renkei-reporter: serves the web report of a renkei database (rep_http)
 * until SIGINT or SIGTERM. Options: db (required), listen, sites_file,
 * log_level.
 */
#define CMN_LOG_TAG "reporter"
#include <stdio.h>

#include "cmn_cli.h"
#include "cmn_log.h"
#include "rep_http.h"

static const struct cmn_cli_opt s_opts[] = {
    {"db", "FILE", "database written by renkei-merger (required)"},
    {"listen", "ADDR", "HTTP address: HOST:PORT, [IPv6]:PORT or :PORT (default 127.0.0.1:8080)"},
    {"resolve", NULL,
     "reverse DNS for hosts without a name (at most 1 s per request; default off)"},
    {"sites_file", "FILE",
     "sites (NAME KIND CIDR... per line) for the API; default: the database's sites table"},
    REP_SECURITY_CLI_OPTS,
    {NULL, NULL, NULL},
};

static const struct cmn_cli_spec s_spec = {
    .prog = "renkei-reporter",
    .kind = "reporter",
    .summary = "web report of a renkei database: hosts, services provided and used",
    .opts = s_opts,
    .positional = false,
};

int main(int argc, char **argv)
{
    struct cmn_config *cfg = NULL;
    const char *section = NULL;
    int first_pos = argc;
    cmn_log_init("renkei-reporter", CMN_LOG_NOTICE);
    if (cmn_cli_parse(&s_spec, argc, argv, &cfg, &section, &first_pos) != 0)
        return CMN_EXIT_USAGE;
    int rc = CMN_EXIT_USAGE;
    /* cmn_cli_parse applied log_level (a built-in key) */
    struct rep_config rc_cfg = {
        .db_path = cmn_cli_require(&s_spec, cfg, section, "db"),
        .listen = cmn_config_get(cfg, section, "listen"),
        .sites_path = cmn_config_get(cfg, section, "sites_file"),
    };
    if (!rc_cfg.db_path || cmn_config_bool(cfg, section, "resolve", false, &rc_cfg.resolve) != 0 ||
        rep_config_security(&rc_cfg, cfg, section) != 0)
        goto out;
    if (!rc_cfg.listen)
        rc_cfg.listen = "127.0.0.1:8080";
    rc = rep_serve(&rc_cfg) == 0 ? CMN_EXIT_OK : CMN_EXIT_ERROR;
out:
    cmn_config_destroy(&cfg);
    return rc;
}
