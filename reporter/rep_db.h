/* SPDX-License-Identifier: MIT
 * rep_db: read-only access to a database written by renkei-merger, shared by
 * the JSON export and the web reporter. A connection is opened per export or
 * per HTTP request, so readers never hold the merger's write lock for long.
 */
#ifndef REP_DB_H
#define REP_DB_H

#include <stdint.h>

#include <sqlite3.h>

/* Open `path` read-only and check it is a renkei database of a schema this
 * reporter reads. NULL after logging why (missing file, not a renkei
 * database, other schema version); the handle is closed on every failure.
 * The handle is for one thread at a time (SQLITE_OPEN_NOMUTEX: no lock per
 * sqlite3_column_* call, a tenth of loading a large map). */
sqlite3 *rep_db_open(const char *path);

/* Close; accepts NULL and NULLs the caller's pointer. */
void rep_db_close(sqlite3 **db);

/* Integer meta value `key`, or `def` when absent or NULL. */
int64_t rep_db_meta_i64(sqlite3 *db, const char *key, int64_t def);

/* Text meta value `key` copied into buf (empty when absent). Returns buf. */
const char *rep_db_meta_text(sqlite3 *db, const char *key, char *buf /* OUT */, size_t len);

#endif /* REP_DB_H */
