/* SPDX-License-Identifier: MIT
 * mrg_rollup: retention and roll-ups of the analysis database, in SQL. The
 * derived tables (edges, services, hosts) and meta totals are cumulative and
 * read the view sessions_all = live sessions + sessions_retired. A session
 * idle for the recent window (retain_minutes, and as many committed epochs:
 * mrg_rollup_cut) is retired by the live window (mrg_live.c): folded into one
 * row per (pair, proto, server port) whose client port is -1 (no edge side:
 * both ports 0), with `retired` counting the sessions folded in, so edges,
 * services, hosts, groups and totals stay the same. Usage history
 * (usage_edges, written per epoch by mrg_db from the live window's
 * attribution; usage_services, recomputed here from it) is rolled up per
 * hour and per day; old epoch rows are pruned.
 */
#define CMN_LOG_TAG "mrg_rollup"
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>

#include "cmn_log.h"
#include "mrg_rollup.h"

#define NS_PER_S 1000000000ull

static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS sessions_retired(a_ip TEXT NOT NULL, a_port INTEGER NOT NULL,"
    " b_ip TEXT NOT NULL, b_port INTEGER NOT NULL, proto INTEGER NOT NULL,"
    " pkts_ab INTEGER, bytes_ab INTEGER, pkts_ba INTEGER, bytes_ba INTEGER,"
    " syn_ab INTEGER, syn_ba INTEGER, synack_ab INTEGER, synack_ba INTEGER,"
    " ack_ab INTEGER, ack_ba INTEGER, fin_ab INTEGER, fin_ba INTEGER,"
    " rst_ab INTEGER, rst_ba INTEGER, flags INTEGER, epochs INTEGER,"
    " first_ns INTEGER, last_ns INTEGER, retired INTEGER,"
    " PRIMARY KEY(a_ip, b_ip, a_port, b_port, proto)) WITHOUT ROWID;"
    /* indexes only the SQL merger read (retirement, its incremental
     * refresh): the live window finds those rows in memory, and every index
     * costs each write */
    "DROP INDEX IF EXISTS sessions_retired_ba; DROP INDEX IF EXISTS sessions_last;"
    "DROP INDEX IF EXISTS endpoints_idle;"
    "CREATE VIEW IF NOT EXISTS sessions_all AS SELECT a_ip, a_port, b_ip, b_port, proto,"
    " pkts_ab, bytes_ab, pkts_ba, bytes_ba, syn_ab, syn_ba, synack_ab, synack_ba, ack_ab,"
    " ack_ba, fin_ab, fin_ba, rst_ab, rst_ba, flags, epochs, first_ns, last_ns, 0 AS retired"
    " FROM sessions UNION ALL SELECT * FROM sessions_retired;"
    "CREATE TABLE IF NOT EXISTS usage_edges(res INTEGER NOT NULL, start_ns INTEGER NOT NULL,"
    " server_ip TEXT NOT NULL, proto INTEGER NOT NULL, server_port INTEGER NOT NULL,"
    " client_ip TEXT NOT NULL, packets_c2s INTEGER, bytes_c2s INTEGER, packets_s2c INTEGER,"
    " bytes_s2c INTEGER, sessions INTEGER,"
    " PRIMARY KEY(res, start_ns, server_ip, proto, server_port, client_ip)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS usage_services(res INTEGER NOT NULL, start_ns INTEGER NOT NULL,"
    " ip TEXT NOT NULL, proto INTEGER NOT NULL, port INTEGER NOT NULL, clients INTEGER,"
    " packets INTEGER, bytes INTEGER, PRIMARY KEY(res, start_ns, ip, proto, port))"
    " WITHOUT ROWID;"
    /* the report's charts per host and per service (reporter/rep_pages*.c): a
     * point lookup instead of a scan of the whole history */
    "DROP INDEX IF EXISTS usage_edges_server;"
    "CREATE INDEX IF NOT EXISTS usage_edges_client ON usage_edges(client_ip);"
    "CREATE INDEX IF NOT EXISTS usage_services_ip ON usage_services(ip, proto, port);"
    "CREATE TEMP TABLE IF NOT EXISTS rollup_buckets(start_ns INTEGER PRIMARY KEY);";

/* Services of the buckets in temp.rollup_buckets at res %lld, from the
 * edge rows of the same resolution (clients = distinct client IPs). */
#define SQL_SERVICES                                                                               \
    "DELETE FROM usage_services WHERE res = %lld"                                                  \
    " AND start_ns IN (SELECT start_ns FROM temp.rollup_buckets);"                                 \
    "INSERT INTO usage_services(res, start_ns, ip, proto, port, clients, packets, bytes)"          \
    " SELECT res, start_ns, server_ip, proto, server_port, COUNT(*),"                              \
    "  SUM(packets_c2s + packets_s2c), SUM(bytes_c2s + bytes_s2c) FROM usage_edges"                \
    " WHERE res = %lld AND start_ns IN (SELECT start_ns FROM temp.rollup_buckets)"                 \
    " GROUP BY start_ns, server_ip, proto, server_port;"

/* Roll the rows of one period (res ?1, start ?2) into the period ?4 of res
 * ?3: the rows of one period have distinct keys and come in key order, so
 * no GROUP BY (its sorter cost more than the writes) and the target rows
 * are visited in order. */
#define SQL_ROLL_ONE                                                                               \
    "INSERT INTO usage_edges(res, start_ns, server_ip, proto, server_port, client_ip,"             \
    " packets_c2s, bytes_c2s, packets_s2c, bytes_s2c, sessions)"                                   \
    " SELECT ?3, ?4, server_ip, proto, server_port, client_ip, packets_c2s, bytes_c2s,"            \
    "  packets_s2c, bytes_s2c, sessions FROM usage_edges WHERE res = ?1 AND start_ns = ?2"         \
    " ON CONFLICT(res, start_ns, server_ip, proto, server_port, client_ip) DO UPDATE SET"          \
    " packets_c2s = packets_c2s + excluded.packets_c2s,"                                           \
    " bytes_c2s = bytes_c2s + excluded.bytes_c2s,"                                                 \
    " packets_s2c = packets_s2c + excluded.packets_s2c,"                                           \
    " bytes_s2c = bytes_s2c + excluded.bytes_s2c, sessions = sessions + excluded.sessions"

static int s_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        CMN_LOG(ERR, "roll-up: %s: %.80s", err ? err : "?", sql);
        sqlite3_free(err);
        return -EIO;
    }
    return 0;
}

int mrg_rollup_init(sqlite3 *db)
{
    return s_exec(db, s_schema);
}

/* Recompute usage_services for temp.rollup_buckets at resolution res. */
static int s_services_at(sqlite3 *db, long long res)
{
    char sql[sizeof(SQL_SERVICES) + 64];
    snprintf(sql, sizeof(sql), SQL_SERVICES, res, res);
    return s_exec(db, sql);
}

/* Step statement q (bound) to its end and reset it; 0 or -EIO. */
static int s_run(sqlite3 *db, sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        CMN_LOG(ERR, "roll-up: %s: %.80s", sqlite3_errmsg(db), sqlite3_sql(q));
        return -EIO;
    }
    return 0;
}

/* Roll rows of resolution `from` older than `cut` into resolution `to`
 * (bucket length to s), or only delete them when to == 0. Period by period
 * (usually one per epoch), oldest first: each one's rows are gone once
 * rolled, so the primary key's smallest start below the cut is the next. */
static int s_roll(sqlite3 *db, long long from, long long to, long long cut)
{
    char sql[256];
    if (to == 0 || to == from) {
        snprintf(sql, sizeof(sql),
                 "DELETE FROM usage_edges WHERE res = %lld AND start_ns < %lld;"
                 "DELETE FROM usage_services WHERE res = %lld AND start_ns < %lld;",
                 from, cut, from, cut);
        return s_exec(db, sql);
    }
    const long long len = to * (long long)NS_PER_S;
    /* ?1 from, ?2 the period's start, ?3 to, ?4 its bucket at `to`, ?5 cut */
    static const char *const q_sql[] = {
        "SELECT MIN(start_ns) FROM usage_edges WHERE res = ?1 AND start_ns < ?5",
        SQL_ROLL_ONE,
        "DELETE FROM usage_edges WHERE res = ?1 AND start_ns = ?2",
        "DELETE FROM usage_services WHERE res = ?1 AND start_ns = ?2",
        "INSERT OR IGNORE INTO temp.rollup_buckets VALUES(?4)",
    };
    enum { Q_NEXT, Q_N = sizeof(q_sql) / sizeof(q_sql[0]) };
    sqlite3_stmt *q[Q_N] = {NULL};
    int rc = s_exec(db, "DELETE FROM temp.rollup_buckets");
    for (int i = 0; i < Q_N && rc == 0; i++)
        if (sqlite3_prepare_v2(db, q_sql[i], -1, &q[i], NULL) != SQLITE_OK) {
            CMN_LOG(ERR, "roll-up: prepare: %s", sqlite3_errmsg(db));
            rc = -EIO;
        }
    while (rc == 0) {
        sqlite3_bind_int64(q[Q_NEXT], 1, from);
        sqlite3_bind_int64(q[Q_NEXT], 5, cut);
        bool more = sqlite3_step(q[Q_NEXT]) == SQLITE_ROW &&
                    sqlite3_column_type(q[Q_NEXT], 0) != SQLITE_NULL;
        const long long start = more ? sqlite3_column_int64(q[Q_NEXT], 0) : 0;
        sqlite3_reset(q[Q_NEXT]);
        if (!more)
            break;
        for (int i = Q_NEXT + 1; i < Q_N && rc == 0; i++) {
            /* a number a statement does not name is refused (SQLITE_RANGE): no harm */
            sqlite3_bind_int64(q[i], 1, from);
            sqlite3_bind_int64(q[i], 2, start);
            sqlite3_bind_int64(q[i], 3, to);
            sqlite3_bind_int64(q[i], 4, start - start % len);
            rc = s_run(db, q[i]);
        }
    }
    for (int i = 0; i < Q_N; i++)
        sqlite3_finalize(q[i]);
    return rc == 0 ? s_services_at(db, to) : rc;
}

/* Epoch number of the n-th newest committed epoch, or -1 when fewer. */
static long long s_nth_epoch(sqlite3 *db, uint64_t n)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, "SELECT epoch FROM epochs ORDER BY epoch DESC LIMIT 1 OFFSET ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(n ? n - 1 : 0));
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

long long mrg_rollup_res(uint64_t epoch_ns)
{
    if (epoch_ns == 0)
        epoch_ns = 60 * NS_PER_S;
    return (long long)(epoch_ns / NS_PER_S ? epoch_ns / NS_PER_S : 1);
}

int mrg_rollup_usage_done(sqlite3 *db, uint64_t epoch, uint64_t epoch_ns)
{
    char sql[128];
    snprintf(sql, sizeof(sql),
             "DELETE FROM temp.rollup_buckets; INSERT INTO temp.rollup_buckets VALUES(%lld);",
             (long long)(epoch * epoch_ns));
    if (s_exec(db, sql) != 0)
        return -EIO;
    return s_services_at(db, mrg_rollup_res(epoch_ns));
}

int mrg_rollup_roll(sqlite3 *db, const struct mrg_retain *r, uint64_t epoch, uint64_t epoch_ns)
{
    if (epoch_ns == 0)
        epoch_ns = 60 * NS_PER_S;
    const long long res = mrg_rollup_res(epoch_ns);
    const long long end = (long long)(epoch * epoch_ns) + (long long)epoch_ns;
    /* epoch -> hour -> day -> gone, each after its retention */
    const long long min_ns = 60 * (long long)NS_PER_S, hour_ns = 3600 * (long long)NS_PER_S;
    if (r->minutes && end > (long long)r->minutes * min_ns &&
        s_roll(db, res, r->hours ? 3600 : 86400, end - (long long)r->minutes * min_ns) != 0)
        return -EIO;
    if (r->hours && end > (long long)r->hours * hour_ns &&
        s_roll(db, 3600, 86400, end - (long long)r->hours * hour_ns) != 0)
        return -EIO;
    if (r->days && end > (long long)r->days * 24 * hour_ns &&
        s_roll(db, 86400, 0, end - (long long)r->days * 24 * hour_ns) != 0)
        return -EIO;
    return 0;
}

bool mrg_rollup_cut(sqlite3 *db, const struct mrg_retain *r, uint64_t epoch, uint64_t epoch_ns,
                    uint64_t *cut_out)
{
    if (epoch_ns == 0)
        epoch_ns = 60 * NS_PER_S;
    const long long end = (long long)(epoch * epoch_ns) + (long long)epoch_ns;
    const long long min_ns = 60 * (long long)NS_PER_S;
    /* idle for the window in time and in committed epochs (sparse captures:
     * years between epochs retire nothing early) */
    if (!r->minutes || end <= (long long)r->minutes * min_ns)
        return false;
    long long cut = end - (long long)r->minutes * min_ns;
    uint64_t n = ((uint64_t)r->minutes * (uint64_t)min_ns + epoch_ns - 1) / epoch_ns;
    long long nth = s_nth_epoch(db, n + 1);
    if (nth < 0)
        return false;
    long long by_count; /* saturated: a forged epoch length must not overflow */
    if (__builtin_mul_overflow(nth, (long long)epoch_ns, &by_count) ||
        __builtin_add_overflow(by_count, (long long)epoch_ns, &by_count))
        by_count = LLONG_MAX;
    if (by_count < cut)
        cut = by_count;
    *cut_out = cut < 0 ? 0 : (uint64_t)cut;
    return true;
}

int mrg_rollup_prune(sqlite3 *db, const struct mrg_retain *r, uint64_t epoch, uint64_t epoch_ns)
{
    if (epoch_ns == 0)
        epoch_ns = 60 * NS_PER_S;
    const long long end = (long long)(epoch * epoch_ns) + (long long)epoch_ns;
    const long long min_ns = 60 * (long long)NS_PER_S, hour_ns = 3600 * (long long)NS_PER_S;
    /* epoch rows follow the hourly retention (they are one per minute) */
    long long keep = (long long)(r->hours ? r->hours : 0) * hour_ns;
    if (keep && keep < (long long)r->minutes * min_ns)
        keep = (long long)r->minutes * min_ns;
    if (keep && end > keep) {
        char sql[96];
        snprintf(sql, sizeof(sql), "DELETE FROM epochs WHERE end_ns <= %lld", end - keep);
        if (s_exec(db, sql) != 0)
            return -EIO;
    }
    return 0;
}
