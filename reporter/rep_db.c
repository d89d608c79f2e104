/* SPDX-License-Identifier: MIT
 * rep_db: opens merger databases read-only (WAL readers do not block the
 * writer) and reads meta values. Schema: docs/SCHEMA.md.
 */
#define CMN_LOG_TAG "rep_db"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_log.h"
#include "rep_db.h"

#define REP_SCHEMA_VERSION 1 /* schema this reporter reads (MRG_SCHEMA_VERSION) */

/* $RENKEI_SQL_PROFILE=MS: log every statement that ran MS ms or longer (how
 * the report's routes were profiled, docs/PERFORMANCE.md). */
static int s_profile(unsigned type, void *ctx, void *stmt, void *ns)
{
    int64_t ms = (int64_t)(intptr_t)ctx, t = *(const int64_t *)ns;
    if (type == SQLITE_TRACE_PROFILE && t >= ms * 1000000)
        CMN_LOG(NOTICE, "%.1f ms: %s", (double)t / 1e6, sqlite3_sql(stmt));
    return 0;
}

sqlite3 *rep_db_open(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        CMN_LOG(ERR, "cannot open database %s: %s", path, db ? sqlite3_errmsg(db) : "no memory");
        goto err;
    }
    sqlite3_busy_timeout(db, 5000);
    const char *prof = getenv("RENKEI_SQL_PROFILE");
    if (prof && *prof)
        sqlite3_trace_v2(db, SQLITE_TRACE_PROFILE, s_profile, (void *)(intptr_t)atoi(prof));
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st,
                           NULL) != SQLITE_OK) {
        CMN_LOG(ERR, "%s: not a renkei database (%s)", path, sqlite3_errmsg(db));
        goto err;
    }
    int rc = sqlite3_step(st);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    if (v != REP_SCHEMA_VERSION) {
        CMN_LOG(ERR, "%s: not a renkei database of schema version %d (found %lld)", path,
                REP_SCHEMA_VERSION, (long long)v);
        goto err;
    }
    return db;
err:
    sqlite3_close(db); /* closed even after a failed open */
    return NULL;
}

void rep_db_close(sqlite3 **db)
{
    if (!db || !*db)
        return;
    sqlite3_close(*db);
    *db = NULL;
}

int64_t rep_db_meta_i64(sqlite3 *db, const char *key, int64_t def)
{
    sqlite3_stmt *st = NULL;
    int64_t v = def;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) != SQLITE_OK)
        return def;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

const char *rep_db_meta_text(sqlite3 *db, const char *key, char *buf, size_t len)
{
    sqlite3_stmt *st = NULL;
    buf[0] = '\0';
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) != SQLITE_OK)
        return buf;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return buf;
}
