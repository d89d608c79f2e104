/* SPDX-License-Identifier: MIT
 * cli_status: reads meta and node_stats (docs/SCHEMA.md) read-only and
 * prints them; the same summary the report's monitor page shows.
 */
#define CMN_LOG_TAG "status"
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_status.h"
#include "cmn_cli.h"
#include "cmn_config.h"
#include "cmn_file.h"
#include "cmn_log.h"

static const struct cmn_cli_opt s_opts[] = {
    {"db", "DB", "the merger's database (default: db of [merger] in --config)"},
    {"stale", "SECONDS", "a running node silent this long is SILENT (default 30)"},
    {NULL, NULL, NULL},
};

static const struct cmn_cli_spec s_spec = {
    .prog = "renkei status",
    .kind = "status",
    .summary = "The cluster at a glance: the run and every node's last report, records, drops\n"
               "and losses, from the merger's database (renkei status --config cluster.conf).",
    .opts = s_opts,
    .positional = false,
};

static const char *s_meta(sqlite3 *db, const char *key, char *buf, size_t len)
{
    buf[0] = '\0';
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return buf;
}

#define STATUS_SQL                                                                                 \
    "SELECT kind, node_id, MAX(name), MAX(CAST(strftime('%s', updated_at) AS INTEGER)),"           \
    " MIN(final),"                                                                                 \
    " SUM(CASE WHEN counter IN ('records_received', 'results_received') OR (kind = 'collector'"    \
    "  AND counter = 'records') THEN value END),"                                                  \
    " SUM(CASE WHEN counter IN ('records_sent', 'records_forwarded', 'results_sent',"              \
    "  'epochs_committed') THEN value END),"                                                       \
    " SUM(CASE WHEN counter LIKE 'drop%' OR counter LIKE '%drop_memcap' THEN value END),"          \
    " SUM(CASE WHEN counter IN ('records_lost', 'batches_lost') THEN value END),"                  \
    " SUM(CASE WHEN counter = 'connections_refused' THEN value END)"                               \
    " FROM node_stats GROUP BY kind, node_id ORDER BY CASE kind WHEN 'collector' THEN 0 WHEN"      \
    " 'splitter' THEN 1 WHEN 'tracker' THEN 2 ELSE 3 END, node_id"

int cli_status_main(int argc, char **argv)
{
    struct cmn_config *cfg = NULL;
    const char *sect;
    int pos;
    if (cmn_cli_parse(&s_spec, argc, argv, &cfg, &sect, &pos) != 0)
        return CMN_EXIT_USAGE;
    int rc = CMN_EXIT_USAGE;
    sqlite3 *db = NULL;
    const char *path = cmn_config_get(cfg, sect, "db");
    if (!path)
        path = cmn_config_get(cfg, "merger", "db");
    uint64_t stale;
    if (cmn_config_u64(cfg, sect, "stale", 30, 1, 86400, &stale) != 0)
        goto out;
    if (!path) {
        fprintf(stderr,
                "renkei status: no database: --db DB, or --config FILE with a [merger] db\n");
        goto out;
    }
    char err[512];
    if (cmn_file_check(path, "database", err, sizeof(err)) != 0) {
        fprintf(stderr, "renkei status: %s\n", err);
        goto out;
    }
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "renkei status: %s: %s\n", path, sqlite3_errmsg(db));
        rc = CMN_EXIT_ERROR;
        goto out;
    }
    sqlite3_busy_timeout(db, 2000);
    char state[32], lost[32], epoch[32], dup[32];
    s_meta(db, "run_state", state, sizeof(state));
    printf("database       %s\nrun            %s\nlast epoch     %s\nrecords lost   %s\n"
           "duplicates     %s\n\n",
           path, state[0] ? state : "(no run yet)", s_meta(db, "last_epoch", epoch, sizeof(epoch)),
           s_meta(db, "records_lost", lost, sizeof(lost))[0] ? lost : "0",
           s_meta(db, "duplicates_removed", dup, sizeof(dup))[0] ? dup : "0");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, STATUS_SQL, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "renkei status: %s: not a renkei database (%s)\n", path,
                sqlite3_errmsg(db));
        rc = CMN_EXIT_ERROR;
        goto out;
    }
    printf("%-10s %3s  %-28s %-10s %12s %12s %8s %8s %8s\n", "node", "id", "name", "state",
           "records in", "records out", "drops", "lost", "refused");
    bool running = strcmp(state, "running") == 0;
    int silent = 0, nodes = 0;
    time_t now = time(NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
        nodes++;
        const unsigned char *name = sqlite3_column_text(st, 2);
        int64_t last = sqlite3_column_int64(st, 3);
        bool ended = sqlite3_column_int(st, 4) != 0;
        char when[40];
        long age = (long)(now - (time_t)last);
        if (ended)
            snprintf(when, sizeof(when), "ended");
        else if (running && age > (long)stale) {
            snprintf(when, sizeof(when), "SILENT %lds", age);
            silent++;
        } else
            snprintf(when, sizeof(when), "up %lds", age < 0 ? 0 : age);
        printf("%-10s %3d  %-28.28s %-10s %12lld %12lld %8lld %8lld %8lld\n",
               (const char *)sqlite3_column_text(st, 0), sqlite3_column_int(st, 1),
               name ? (const char *)name : "", when, (long long)sqlite3_column_int64(st, 5),
               (long long)sqlite3_column_int64(st, 6), (long long)sqlite3_column_int64(st, 7),
               (long long)sqlite3_column_int64(st, 8), (long long)sqlite3_column_int64(st, 9));
    }
    sqlite3_finalize(st);
    if (nodes == 0)
        printf("(no node has reported yet)\n");
    if (silent)
        printf("\n%d node(s) silent for more than %" PRIu64 " s while the run is running\n", silent,
               stale);
    rc = silent ? CMN_EXIT_ERROR : CMN_EXIT_OK;
out:
    sqlite3_close(db);
    cmn_config_destroy(&cfg);
    return rc;
}
