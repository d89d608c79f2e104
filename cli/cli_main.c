/* SPDX-License-Identifier: MIT
 * renkei: the command users type. Dispatches to analyze (whole pipeline on
 * loopback, cli_analyze.c), export and serve (cli_report.c); each subcommand
 * parses its own options with common/cmn_cli.h and has its own --help.
 */
#define CMN_LOG_TAG "renkei"
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_analyze.h"
#include "cli_impact.h"
#include "cli_status.h"
#include "cmn_curve.h"
#ifdef RENKEI_HAVE_REPORTER
#include "rep_auth.h"
#endif
#include "cli_report.h"
#include "cmn_cli.h"
#include "cmn_log.h"

static void s_usage(FILE *f)
{
    fprintf(
        f, "usage: renkei COMMAND [OPTIONS] [ARGS]\n"
           "Map which servers provide which services to whom, from mirrored traffic.\n"
           "\n"
           "commands:\n"
           "  analyze [--trackers N] --db OUT.sqlite [--export OUT.json] [--sites FILE]\n"
           "          [--hosts-file FILE] [--services-file FILE] CAPTURE...\n"
           "            run collectors (one per capture), splitter, trackers and merger\n"
           "            on this host and write the database\n"
           "  export --db DB --format json|csv|graphml|dot [--out FILE|DIR]\n"
           "         [--site NAME] [--cidr CIDR] [--around IP [--hops N]] [--sites FILE]\n"
           "            write a database (or the part the filters pick) as JSON\n"
           "            (../shared/EXPORT_SCHEMA.md), CSV files, GraphML or DOT\n"
           "  impact --db DB --fail TARGET [--fail TARGET]... [--hops N] [--format text|json|csv]\n"
           "            what breaks if TARGET fails (IP, CIDR, IP:proto/port, @site, host\n"
           "            name): lost, impaired and degraded services and hosts, with chains\n"
           "  serve --db DB [--listen 127.0.0.1:8080] [--sites FILE]\n"
           "            serve the web report and the JSON API (docs/API.md) of a database\n"
           "  status --config FILE | --db DB\n"
           "            the cluster at a glance: run, and every node's last report, records,\n"
           "            drops, losses, refused connections (SILENT nodes: exit 1)\n"
           "  passwd --file FILE --user NAME\n"
           "            set NAME's password (read from stdin) in the reporter's auth_file\n"
           "  keygen --out PREFIX\n"
           "            write a CURVE key pair for a daemon: PREFIX.key (secret, 0600) and\n"
           "            PREFIX.pub (for the other nodes' curve_peers; docs/OPERATIONS.md)\n"
           "\n"
           "  renkei COMMAND --help   options of a command\n"
           "  renkei --version        show the version\n"
           "\n"
           "The daemons (renkei-collector, -splitter, -tracker, -merger, -reporter) also run\n"
           "alone from a config file; see deploy/cluster.conf.\n");
}

/* renkei keygen --out PREFIX */
static int s_keygen(int argc, char **argv)
{
    const char *prefix = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            prefix = argv[++i];
        else if (strncmp(argv[i], "--out=", 6) == 0)
            prefix = argv[i] + 6;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: renkei keygen --out PREFIX\n"
                   "Write a CURVE key pair: PREFIX.key (public and secret, mode 0600; the\n"
                   "node's curve_key) and PREFIX.pub (its public key, for the other nodes'\n"
                   "curve_peers lines: NAME KEY [ENDPOINT...]).\n");
            return CMN_EXIT_OK;
        } else {
            fprintf(stderr, "renkei keygen: unknown argument '%s' (renkei keygen --out PREFIX)\n",
                    argv[i]);
            return CMN_EXIT_USAGE;
        }
    }
    if (!prefix || !*prefix) {
        fprintf(stderr, "renkei keygen: --out PREFIX is required\n");
        return CMN_EXIT_USAGE;
    }
    char err[512];
    if (cmn_curve_keygen(prefix, err, sizeof(err)) != 0) {
        fprintf(stderr, "renkei keygen: %s\n", err);
        return CMN_EXIT_ERROR;
    }
    printf("wrote %s.key (secret) and %s.pub\n", prefix, prefix);
    return CMN_EXIT_OK;
}

/* renkei passwd --file FILE --user NAME: the password is the first line of stdin. */
static int s_passwd(int argc, char **argv)
{
    const char *file = NULL, *user = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
            file = argv[++i];
        else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
            user = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: renkei passwd --file FILE --user NAME  (password on stdin)\n"
                   "Set NAME's password or API token in the reporter's auth_file: stored as\n"
                   "an Argon2id hash (libsodium), file mode 0600, other users kept.\n");
            return CMN_EXIT_OK;
        } else {
            fprintf(stderr, "renkei passwd: unknown argument '%s'\n", argv[i]);
            return CMN_EXIT_USAGE;
        }
    }
    if (!file || !user) {
        fprintf(stderr, "renkei passwd: --file FILE and --user NAME are required\n");
        return CMN_EXIT_USAGE;
    }
#ifdef RENKEI_HAVE_REPORTER
    char pw[256];
    if (isatty(0))
        fprintf(stderr, "password for %s: ", user);
    if (!fgets(pw, sizeof(pw), stdin)) {
        fprintf(stderr, "renkei passwd: no password on stdin\n");
        return CMN_EXIT_USAGE;
    }
    pw[strcspn(pw, "\r\n")] = '\0';
    if (strlen(pw) < 8) {
        fprintf(stderr, "renkei passwd: a password of at least 8 characters, please\n");
        return CMN_EXIT_USAGE;
    }
    char err[512];
    int rc = rep_auth_set(file, user, pw, err, sizeof(err));
    memset(pw, 0, sizeof(pw));
    if (rc != 0) {
        fprintf(stderr, "renkei passwd: %s\n", err);
        return CMN_EXIT_ERROR;
    }
    printf("%s: password of %s set\n", file, user);
    return CMN_EXIT_OK;
#else
    fprintf(stderr, "renkei passwd: this renkei was built without the reporter\n");
    return CMN_EXIT_ERROR;
#endif
}

int main(int argc, char **argv)
{
    cmn_log_init("renkei", CMN_LOG_NOTICE);
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        s_usage(stderr);
        return CMN_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        s_usage(stdout);
        return CMN_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("renkei %s\n", RENKEI_VERSION);
        return CMN_EXIT_OK;
    }
    if (strcmp(cmd, "analyze") == 0)
        return cli_analyze_main(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return cli_export_main(argc - 1, argv + 1);
    if (strcmp(cmd, "impact") == 0)
        return cli_impact_main(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0)
        return cli_serve_main(argc - 1, argv + 1);
    if (strcmp(cmd, "keygen") == 0)
        return s_keygen(argc - 1, argv + 1);
    if (strcmp(cmd, "passwd") == 0)
        return s_passwd(argc - 1, argv + 1);
    if (strcmp(cmd, "status") == 0)
        return cli_status_main(argc - 1, argv + 1);
    fprintf(stderr,
            "renkei: unknown command '%s' (analyze, export, impact, serve, status, keygen, passwd; "
            "see renkei --help)\n",
            cmd);
    return CMN_EXIT_USAGE;
}
