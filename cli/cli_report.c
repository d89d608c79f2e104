/* SPDX-License-Identifier: MIT
 * cli_report: export / serve subcommands over the reporter library, and a
 * read-only look into the merger's database for analyze's summary. Built
 * without the reporter (RENKEI_HAVE_REPORTER undefined), export and serve say
 * so and fail instead of failing to link.
 */
#define CMN_LOG_TAG "report"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli_report.h"
#include "cmn_cli.h"
#include "cmn_config.h"
#include "cmn_log.h"
#include "cmn_sites.h"
#ifdef RENKEI_HAVE_REPORTER
#include "rep_export.h"
#include "rep_formats.h"
#include "rep_http.h"
#include "rep_select.h"
#endif

static const struct cmn_cli_opt s_export_opts[] = {
    {"db", "DB", "database written by renkei analyze / renkei-merger (required)"},
    {"format", "FORMAT", "json (default), csv, graphml or dot"},
    {"out", "FILE|DIR", "write here instead of stdout (csv: a directory, required)"},
    {"site", "NAME", "only hosts of this site"},
    {"cidr", "CIDR", "only hosts inside this prefix, e.g. 10.3.0.0/16"},
    {"around", "IP", "only hosts within --hops edges of this host"},
    {"hops", "N", "for --around: edges away, either direction (1 or more; default 1)"},
    {"sites", "FILE", "place hosts in the sites of this file (default: the database's)"},
    {NULL, NULL, NULL},
};

static const struct cmn_cli_spec s_export_spec = {
    .prog = "renkei export",
    .kind = "export",
    .summary = "Write a renkei database as JSON (../shared/EXPORT_SCHEMA.md), CSV (hosts.csv,\n"
               "services.csv, edges.csv), GraphML (Gephi, yEd) or DOT (Graphviz). Filters\n"
               "pick hosts and combine; the export holds them, their services and every\n"
               "edge touching them (docs/EXPORT.md).",
    .opts = s_export_opts,
    .positional = false,
};

static const struct cmn_cli_opt s_serve_opts[] = {
    {"db", "DB", "database to serve (required)"},
    {"listen", "ADDR", "HTTP address, e.g. 127.0.0.1:8080 (default), [::1]:8080, :8080"},
    {"resolve", NULL,
     "reverse DNS for hosts without a name (at most 1 s per request; default off)"},
    {"sites", "FILE",
     "sites file (NAME KIND CIDR... per line); default: the sites stored in the database"},
#ifdef RENKEI_HAVE_REPORTER
    REP_SECURITY_CLI_OPTS,
#endif
    {NULL, NULL, NULL},
};

static const struct cmn_cli_spec s_serve_spec = {
    .prog = "renkei serve",
    .kind = "serve",
    .summary = "Serve the web report (hosts, services provided and used) of a renkei database.",
    .opts = s_serve_opts,
    .positional = false,
};

/* A database path must name a readable file: say so before the reporter does. */
static int s_check_db(const char *prog, const char *db)
{
    if (access(db, R_OK) != 0) {
        fprintf(stderr, "%s: cannot read database '%s': %s\n", prog, db, strerror(errno));
        return -errno;
    }
    return 0;
}

#ifdef RENKEI_HAVE_REPORTER
/* What one export writes. */
struct s_export {
    const char *db;              /* database path */
    enum rep_format fmt;         /* not CSV (that writes a directory) */
    struct rep_export_opts opts; /* sites and filter */
};

static int s_export_to(const struct s_export *x, FILE *f)
{
    if (x->fmt == REP_FORMAT_JSON)
        return rep_export_json_opts(x->db, &x->opts, f);
    return rep_export_graph(x->db, x->fmt, &x->opts, f, NULL);
}

/* Write export `x` to `path` ("-": stdout) through a temporary file. */
static int s_export_file(const struct s_export *x, const char *path)
{
    if (strcmp(path, "-") == 0) {
        int rc = s_export_to(x, stdout);
        return rc != 0 ? rc : (fflush(stdout) == 0 ? 0 : -EIO);
    }
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    FILE *f = fopen(tmp, "w");
    if (!f) {
        int e = errno;
        CMN_LOG(ERR, "cannot write %s: %s", tmp, strerror(e));
        return -e;
    }
    int rc = s_export_to(x, f);
    if (fclose(f) != 0 && rc == 0) {
        rc = -errno;
        CMN_LOG(ERR, "cannot write %s: %s", tmp, strerror(-rc));
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -errno;
        CMN_LOG(ERR, "cannot rename %s to %s: %s", tmp, path, strerror(-rc));
    }
    if (rc != 0)
        unlink(tmp);
    return rc;
}
#endif

int cli_report_export(const char *db, const char *path)
{
#ifdef RENKEI_HAVE_REPORTER
    const struct s_export x = {.db = db, .fmt = REP_FORMAT_JSON};
    return s_export_file(&x, path);
#else
    (void)db;
    (void)path;
    CMN_LOG(ERR, "this renkei was built without the reporter: no export");
    return -ENOSYS;
#endif
}

int cli_export_main(int argc, char **argv)
{
    struct cmn_config *cfg = NULL;
    struct cmn_sites *sites = NULL;
    const char *sect;
    int pos;
    if (cmn_cli_parse(&s_export_spec, argc, argv, &cfg, &sect, &pos) != 0)
        return CMN_EXIT_USAGE;
    int rc = CMN_EXIT_USAGE;
    const char *db = cmn_cli_require(&s_export_spec, cfg, sect, "db");
    const char *format = cmn_config_get(cfg, sect, "format");
    const char *out = cmn_config_get(cfg, sect, "out");
    const char *sites_file = cmn_config_get(cfg, sect, "sites");
    const char *around = cmn_config_get(cfg, sect, "around");
    uint64_t hops = 1;
    if (!db)
        goto done;
    if (cmn_config_u64(cfg, sect, "hops", 1, 1, 1000000, &hops) != 0)
        goto done;
    if (cmn_config_get(cfg, sect, "hops") && !around) {
        fprintf(stderr, "renkei export: --hops needs --around IP\n");
        goto done;
    }
#ifdef RENKEI_HAVE_REPORTER
    struct s_export x = {.db = db, .fmt = REP_FORMAT_JSON};
    if (format && rep_format_parse(format, &x.fmt) != 0) {
        fprintf(stderr, "renkei export: unknown --format '%s' (json, csv, graphml, dot)\n", format);
        goto done;
    }
    if (x.fmt == REP_FORMAT_CSV && (!out || strcmp(out, "-") == 0)) {
        fprintf(stderr, "renkei export: --format csv writes three files: give --out DIR\n");
        goto done;
    }
    if (sites_file && !(sites = cmn_sites_load(sites_file)))
        goto done; /* cmn_sites_load said what is wrong, with file:line */
    if (s_check_db("renkei export", db) != 0)
        goto done;
    const struct rep_filter flt = {
        .site = cmn_config_get(cfg, sect, "site"),
        .cidr = cmn_config_get(cfg, sect, "cidr"),
        .around = around,
        .hops = (int)hops,
    };
    x.opts.sites = sites;
    x.opts.filter = &flt;
    int r = x.fmt == REP_FORMAT_CSV ? rep_export_graph(db, x.fmt, &x.opts, NULL, out)
                                    : s_export_file(&x, out ? out : "-");
    rc = r == 0 ? CMN_EXIT_OK : (r == -EINVAL ? CMN_EXIT_USAGE : CMN_EXIT_ERROR);
#else
    (void)format;
    (void)out;
    (void)sites_file;
    CMN_LOG(ERR, "this renkei was built without the reporter: no export");
    rc = CMN_EXIT_ERROR;
#endif
done:
    cmn_sites_destroy(&sites);
    cmn_config_destroy(&cfg);
    return rc;
}

int cli_serve_main(int argc, char **argv)
{
    struct cmn_config *cfg = NULL;
    const char *sect;
    int pos;
    if (cmn_cli_parse(&s_serve_spec, argc, argv, &cfg, &sect, &pos) != 0)
        return CMN_EXIT_USAGE;
    int rc = CMN_EXIT_USAGE;
    const char *db = cmn_cli_require(&s_serve_spec, cfg, sect, "db");
    const char *listen = cmn_config_get(cfg, sect, "listen");
    const char *sites = cmn_config_get(cfg, sect, "sites");
    bool resolve = false;
    if (!db || s_check_db("renkei serve", db) != 0 ||
        cmn_config_bool(cfg, sect, "resolve", false, &resolve) != 0)
        goto done;
#ifdef RENKEI_HAVE_REPORTER
    struct rep_config rc_cfg = {.db_path = db,
                                .listen = listen ? listen : "127.0.0.1:8080",
                                .resolve = resolve,
                                .sites_path = sites};
    if (rep_config_security(&rc_cfg, cfg, sect) != 0)
        goto done;
    fprintf(stderr, "renkei serve: %s://%s/ (Ctrl-C to stop)\n", rc_cfg.tls_cert ? "https" : "http",
            rc_cfg.listen);
    rc = rep_serve(&rc_cfg) == 0 ? CMN_EXIT_OK : CMN_EXIT_ERROR;
#else
    (void)listen;
    (void)resolve;
    (void)sites;
    CMN_LOG(ERR, "this renkei was built without the reporter: no serve");
    rc = CMN_EXIT_ERROR;
#endif
done:
    cmn_config_destroy(&cfg);
    return rc;
}

/* One number from a query, or UINT64_MAX when the database cannot answer. */
static void s_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
    sqlite3_stmt *st = NULL;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) == SQLITE_TEXT)
        snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

static uint64_t s_scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    uint64_t v = UINT64_MAX;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int cli_report_summary(const char *path, struct cli_db_summary *out)
{
    sqlite3 *db = NULL;
    memset(out, 0xff, sizeof(*out));
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        CMN_LOG(ERR, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db); /* closed even after a failed open */
        return -EIO;
    }
    sqlite3_busy_timeout(db, 2000);
    out->hosts = s_scalar(db, "SELECT count(*) FROM hosts");
    out->services = s_scalar(db, "SELECT count(*) FROM services");
    out->edges = s_scalar(db, "SELECT count(*) FROM edges");
    out->records = s_scalar(db, "SELECT sum(value) FROM node_stats WHERE kind = 'splitter'"
                                " AND counter = 'records_received'");
    out->captured = s_scalar(db, "SELECT sum(value) FROM node_stats WHERE kind = 'collector'"
                                 " AND counter = 'packets'");
    out->skipped = s_scalar(db, "SELECT sum(value) FROM node_stats WHERE kind = 'collector'"
                                " AND counter = 'malformed_unsupported_linktype'");
    out->packets = s_scalar(db, "SELECT value FROM meta WHERE key = 'packets'");
    out->records_lost = s_scalar(db, "SELECT value FROM meta WHERE key = 'records_lost'");
    out->duplicates = s_scalar(db, "SELECT value FROM meta WHERE key = 'duplicates_removed'");
    out->unverifiable = s_scalar(db, "SELECT value FROM node_stats WHERE kind = 'merger'"
                                     " AND counter = 'pipes_unverifiable'");
    out->trk_memcap = s_scalar(db, "SELECT sum(value) FROM node_stats WHERE kind = 'tracker'"
                                   " AND counter IN ('drop_memcap', 'endpoint_drop_memcap')");
    out->mrg_memcap = s_scalar(db, "SELECT value FROM node_stats WHERE kind = 'merger'"
                                   " AND counter = 'live_rows_refused'");
    s_text(db, "SELECT value FROM meta WHERE key = 'run_state'", out->run_state,
           sizeof(out->run_state));
    s_text(db, "SELECT value FROM meta WHERE key = 'records_lost_where'", out->where,
           sizeof(out->where));
    sqlite3_close(db);
    return 0;
}
