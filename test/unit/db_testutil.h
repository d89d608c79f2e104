/* SPDX-License-Identifier: MIT
 * db_testutil.h: database fixtures shared by the merger and reporter unit
 * tests: per-test database paths (removed with their WAL side files),
 * addresses from text, one-value queries.
 */
#ifndef DB_TESTUTIL_H
#define DB_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cmn_ip.h"

/* Remove database `db` and its -wal / -shm files. */
static inline void tu_db_rm(const char *db)
{
    char x[320];
    unlink(db);
    snprintf(x, sizeof(x), "%s-wal", db);
    unlink(x);
    snprintf(x, sizeof(x), "%s-shm", db);
    unlink(x);
}

/* /tmp/renkei_test_<test>_<tag>_<pid>.db into buf, removed if it exists. */
static inline void tu_db_path(char *buf, size_t len, const char *test, const char *tag)
{
    snprintf(buf, len, "/tmp/renkei_test_%s_%s_%d.db", test, tag, (int)getpid());
    tu_db_rm(buf);
}

/* Text address to 16 bytes; aborts on a typo in the test. */
static inline void tu_ip(uint8_t out[16], const char *s)
{
    if (cmn_ip_parse(s, out) != 0)
        abort();
}

/* First column of the first row of `sql` as integer: -1 when no row, -2
 * (after printing why) when the statement does not prepare. */
static inline int64_t tu_q(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "  sql error: %s: %s\n", sql, sqlite3_errmsg(h));
        return -2;
    }
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

#endif /* DB_TESTUTIL_H */
