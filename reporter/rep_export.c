/* SPDX-License-Identifier: MIT
 * rep_export: the JSON export (EXPORT_SCHEMA.md) straight from the derived
 * tables the merger maintains (hosts, services, edges, events) and meta.
 * Order is fixed (addresses numerically, then proto and port) so identical
 * analyses export identical bytes. One object per line inside each array.
 */
#define CMN_LOG_TAG "rep_export"
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmn_log.h"
#include "rep_db.h"
#include "rep_export.h"
#include "rep_json.h"
#include "rep_names.h"

static const char s_q_hosts[] = "SELECT " REP_HOST_COLS " FROM hosts ORDER BY ip_key, ip";
static const char s_q_services[] =
    "SELECT " REP_SERVICE_COLS " FROM services ORDER BY ip_key, ip, proto, port";
static const char s_q_edges[] = "SELECT " REP_EDGE_COLS " FROM edges"
                                " ORDER BY server_key, server_ip, proto, server_port,"
                                " client_key, client_ip";
static const char s_q_events[] =
    "SELECT " REP_EVENT_COLS " FROM events ORDER BY kind, target_ip, port, proto, actor_ip";

static void s_meta(FILE *f, sqlite3 *db)
{
    char ver[64], state[32], t[40];
    rep_db_meta_text(db, "renkei_version", ver, sizeof(ver));
    fputs("\"meta\": {\"renkei_version\": ", f);
    rep_json_str(f, ver[0] ? ver : RENKEI_VERSION);
    int64_t first = rep_db_meta_i64(db, "first_seen_ns", -1);
    int64_t last = rep_db_meta_i64(db, "last_seen_ns", -1);
    fputs(", \"first_seen\": ", f);
    rep_json_str(f, first >= 0 ? rep_time_text(first, t, sizeof(t)) : NULL);
    fputs(", \"last_seen\": ", f);
    rep_json_str(f, last >= 0 ? rep_time_text(last, t, sizeof(t)) : NULL);
    fprintf(f,
            ", \"packets\": %lld, \"bytes\": %lld, \"duplicates_removed\": %lld,"
            " \"records_lost\": %lld",
            (long long)rep_db_meta_i64(db, "packets", 0),
            (long long)rep_db_meta_i64(db, "bytes", 0),
            (long long)rep_db_meta_i64(db, "duplicates_removed", 0),
            (long long)rep_db_meta_i64(db, "records_lost", 0));
    rep_db_meta_text(db, "run_state", state, sizeof(state));
    fputs(", \"run_state\": ", f);
    rep_json_str(f, state[0] ? state : NULL);
    fputs("}", f);
}

typedef void (*row_fn)(FILE *f, sqlite3_stmt *st, const struct rep_names *names);

static void s_edge(FILE *f, sqlite3_stmt *st, const struct rep_names *names)
{
    (void)names;
    rep_json_edge(f, st);
}

static void s_event(FILE *f, sqlite3_stmt *st, const struct rep_names *names)
{
    (void)names;
    rep_json_event(f, st);
}

/* Write `"name": [rows...]` from query `sql`. Returns 0 or -EIO. */
static int s_array(FILE *f, sqlite3 *db, const char *name, const char *sql, row_fn fn,
                   const struct rep_names *names)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        CMN_LOG(ERR, "export %s: %s", name, sqlite3_errmsg(db));
        return -EIO;
    }
    fprintf(f, "\"%s\": [", name);
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        fputs(n++ ? ",\n  " : "\n  ", f);
        fn(f, st, names);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        CMN_LOG(ERR, "export %s: %s", name, sqlite3_errmsg(db));
        return -EIO;
    }
    fputs(n ? "\n]" : "]", f);
    return 0;
}

int rep_export_json(const char *db_path, FILE *out)
{
    return rep_export_json_opts(db_path, out, false);
}

int rep_export_json_opts(const char *db_path, FILE *out, bool resolve)
{
    sqlite3 *db = rep_db_open(db_path);
    if (!db)
        return -ENOENT;
    int rc = -EIO;
    struct rep_names *names = NULL;
    /* one read transaction: a consistent snapshot while the merger writes */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        goto out;
    names = rep_names_load(db);
    rep_names_resolve(names, resolve);
    fputs("{", out);
    s_meta(out, db);
    fputs(",\n", out);
    if (s_array(out, db, "hosts", s_q_hosts, rep_json_host_named, names) != 0)
        goto out;
    fputs(",\n", out);
    if (s_array(out, db, "services", s_q_services, rep_json_service_named, names) != 0)
        goto out;
    fputs(",\n", out);
    if (s_array(out, db, "edges", s_q_edges, s_edge, names) != 0)
        goto out;
    fputs(",\n", out);
    if (s_array(out, db, "events", s_q_events, s_event, names) != 0)
        goto out;
    fputs("}\n", out);
    if (fflush(out) != 0 || ferror(out)) {
        CMN_LOG(ERR, "export: write error: %s", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    rep_names_destroy(&names);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    rep_db_close(&db);
    return rc;
}
