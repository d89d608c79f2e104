/* SPDX-License-Identifier: MIT
 * mrg_rollup: retention and roll-ups of the analysis database. The derived
 * tables (edges, services, hosts) and meta totals are cumulative and read
 * the view sessions_all = live sessions + sessions_retired. A session idle
 * for the recent window (retain_minutes, and as many committed epochs) is
 * retired: folded into one row per (pair, proto, server port) whose client
 * port is -1 (no edge side: both ports 0), with `retired` counting the
 * sessions folded in. The attribution is the one of s_refresh in mrg_db.c at
 * the time of retirement, so edges, services, hosts and totals stay the same
 * (which lets mrg_db's incremental refresh ignore retirement: a retired row
 * keeps its server port, whose endpoint still decides; the client side's -1
 * port has no endpoint, like a deleted non-server one); the rule is
 * MRG_SRV_SIDE of mrg_rule.h, shared with mrg_db. A session with a broadcast
 * or multicast side has no server side; it keeps its group port, so the
 * groups table does not change either. Usage history (usage_edges, usage_services)
 * is written per epoch and rolled up per hour and per day.
 */
#define CMN_LOG_TAG "mrg_rollup"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "cmn_log.h"
#include "mrg_rollup.h"
#include "mrg_rule.h"

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
    "CREATE INDEX IF NOT EXISTS sessions_retired_ba ON sessions_retired(b_ip, a_ip);"
    "CREATE INDEX IF NOT EXISTS sessions_last ON sessions(last_ns);"
    "CREATE INDEX IF NOT EXISTS endpoints_idle ON endpoints(last_ns) WHERE role <> 'server';"
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
    "CREATE INDEX IF NOT EXISTS usage_edges_server ON usage_edges(server_ip);"
    "CREATE INDEX IF NOT EXISTS usage_edges_client ON usage_edges(client_ip);"
    "CREATE INDEX IF NOT EXISTS usage_services_ip ON usage_services(ip, proto, port);"
    "CREATE TEMP TABLE IF NOT EXISTS epoch_sessions(a_ip TEXT, a_port INTEGER, b_ip TEXT,"
    " b_port INTEGER, proto INTEGER, pkts_ab INTEGER, bytes_ab INTEGER, pkts_ba INTEGER,"
    " bytes_ba INTEGER, syn_ab INTEGER, syn_ba INTEGER, synack_ab INTEGER,"
    " synack_ba INTEGER, ack_ab INTEGER, ack_ba INTEGER, fin_ab INTEGER, fin_ba INTEGER,"
    " rst_ab INTEGER, rst_ba INTEGER, flags INTEGER, first_ns INTEGER, last_ns INTEGER);"
    "CREATE TEMP TABLE IF NOT EXISTS rollup_buckets(start_ns INTEGER PRIMARY KEY);";

/* The port a retired row keeps on side X (column X_port): the server side's
 * (srv = ME), -1 on the client side (srv = OTHER); without a server side, a
 * session with a broadcast / multicast side keeps that side's port and -1 on
 * a non-zero port of the sender (so the groups table reads the same after
 * retirement); anything else 0. */
#define RETIRED_PORT(X, ME, OTHER)                                                                 \
    "CASE srv WHEN " ME " THEN " X "_port WHEN " OTHER " THEN -1 ELSE CASE grp WHEN " ME           \
    " THEN " X "_port WHEN " OTHER " THEN (CASE WHEN " X "_port = 0 THEN 0 ELSE -1 END)"           \
    " ELSE 0 END END"

// clang-format off
/* Rows of SRC (alias s) filtered by WHERE, with their server side `srv` and
 * their group side `grp`. */
#define ATTR(SRC, WHERE)                                                                           \
    "(SELECT s.*, " MRG_SRV_SIDE("s.") " AS srv, " MRG_GROUP_SIDE("s.") " AS grp"                  \
    " FROM (SELECT s.*, ea.role AS ra, ea.confidence AS ca, eb.role AS rb, eb.confidence AS cb"    \
    " FROM " SRC " s"                                                                              \
    " LEFT JOIN endpoints ea ON ea.ip = s.a_ip AND ea.proto = s.proto AND ea.port = s.a_port"      \
    " LEFT JOIN endpoints eb ON eb.ip = s.b_ip AND eb.proto = s.proto AND eb.port = s.b_port"      \
    " WHERE " WHERE ") s)"

/* Retire sessions idle since before %lld ns; then the client endpoints of
 * retired sessions are not needed any more. */
#define SQL_RETIRE                                                                                 \
    "INSERT INTO sessions_retired(a_ip, a_port, b_ip, b_port, proto, pkts_ab, bytes_ab,"           \
    " pkts_ba, bytes_ba, syn_ab, syn_ba, synack_ab, synack_ba, ack_ab, ack_ba, fin_ab, fin_ba,"    \
    " rst_ab, rst_ba, flags, epochs, first_ns, last_ns, retired)"                                  \
    " SELECT a_ip, " RETIRED_PORT("a", "'A'", "'B'") ", b_ip, "                                    \
    RETIRED_PORT("b", "'B'", "'A'") ", proto, SUM(pkts_ab),"                                       \
    "  SUM(bytes_ab), SUM(pkts_ba), SUM(bytes_ba), SUM(syn_ab), SUM(syn_ba), SUM(synack_ab),"      \
    "  SUM(synack_ba), SUM(ack_ab), SUM(ack_ba), SUM(fin_ab), SUM(fin_ba), SUM(rst_ab),"           \
    "  SUM(rst_ba), MAX(flags), SUM(epochs), MIN(first_ns), MAX(last_ns), COUNT(*)"                \
    " FROM " ATTR("sessions", "s.last_ns < %lld") " GROUP BY 1, 2, 3, 4, 5"                        \
    " ON CONFLICT(a_ip, a_port, b_ip, b_port, proto) DO UPDATE SET"                                \
    " pkts_ab = pkts_ab + excluded.pkts_ab, bytes_ab = bytes_ab + excluded.bytes_ab,"              \
    " pkts_ba = pkts_ba + excluded.pkts_ba, bytes_ba = bytes_ba + excluded.bytes_ba,"              \
    " syn_ab = syn_ab + excluded.syn_ab, syn_ba = syn_ba + excluded.syn_ba,"                       \
    " synack_ab = synack_ab + excluded.synack_ab, synack_ba = synack_ba + excluded.synack_ba,"     \
    " ack_ab = ack_ab + excluded.ack_ab, ack_ba = ack_ba + excluded.ack_ba,"                       \
    " fin_ab = fin_ab + excluded.fin_ab, fin_ba = fin_ba + excluded.fin_ba,"                       \
    " rst_ab = rst_ab + excluded.rst_ab, rst_ba = rst_ba + excluded.rst_ba,"                       \
    " flags = MAX(flags, excluded.flags), epochs = epochs + excluded.epochs,"                      \
    " first_ns = MIN(first_ns, excluded.first_ns), last_ns = MAX(last_ns, excluded.last_ns),"      \
    " retired = retired + excluded.retired;"                                                       \
    "DELETE FROM sessions WHERE last_ns < %lld;"                                                   \
    "DELETE FROM endpoints WHERE role <> 'server' AND last_ns < %lld;"
// clang-format on

/* The epoch's usage rows (res %lld s, bucket %lld ns), from its deltas as
 * mrg_db attributed them to edges (temp.epoch_attr, one row per delta with a
 * server side). */
#define SQL_USAGE                                                                                  \
    "INSERT INTO usage_edges(res, start_ns, server_ip, proto, server_port, client_ip,"             \
    " packets_c2s, bytes_c2s, packets_s2c, bytes_s2c, sessions)"                                   \
    " SELECT %lld, %lld, server_ip, proto, server_port, client_ip, SUM(packets_c2s),"              \
    "  SUM(bytes_c2s), SUM(packets_s2c), SUM(bytes_s2c), COUNT(*)"                                 \
    " FROM temp.epoch_attr GROUP BY 3, 4, 5, 6"                                                    \
    " ON CONFLICT(res, start_ns, server_ip, proto, server_port, client_ip) DO UPDATE SET"          \
    " packets_c2s = packets_c2s + excluded.packets_c2s,"                                           \
    " bytes_c2s = bytes_c2s + excluded.bytes_c2s,"                                                 \
    " packets_s2c = packets_s2c + excluded.packets_s2c,"                                           \
    " bytes_s2c = bytes_s2c + excluded.bytes_s2c, sessions = sessions + excluded.sessions;"        \
    "DELETE FROM temp.rollup_buckets;"                                                             \
    "INSERT INTO temp.rollup_buckets VALUES(%lld);"

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

/* Roll rows of res %1 older than %2 into buckets of %3 ns at res %4. */
#define SQL_ROLL                                                                                   \
    "DELETE FROM temp.rollup_buckets;"                                                             \
    "INSERT OR IGNORE INTO temp.rollup_buckets SELECT DISTINCT start_ns - start_ns %% %lld"        \
    " FROM usage_edges WHERE res = %lld AND start_ns < %lld;"                                      \
    "INSERT INTO usage_edges(res, start_ns, server_ip, proto, server_port, client_ip,"             \
    " packets_c2s, bytes_c2s, packets_s2c, bytes_s2c, sessions)"                                   \
    " SELECT %lld, start_ns - start_ns %% %lld, server_ip, proto, server_port, client_ip,"         \
    "  SUM(packets_c2s), SUM(bytes_c2s), SUM(packets_s2c), SUM(bytes_s2c), SUM(sessions)"          \
    " FROM usage_edges WHERE res = %lld AND start_ns < %lld GROUP BY 2, 3, 4, 5, 6"                \
    " ON CONFLICT(res, start_ns, server_ip, proto, server_port, client_ip) DO UPDATE SET"          \
    " packets_c2s = packets_c2s + excluded.packets_c2s,"                                           \
    " bytes_c2s = bytes_c2s + excluded.bytes_c2s,"                                                 \
    " packets_s2c = packets_s2c + excluded.packets_s2c,"                                           \
    " bytes_s2c = bytes_s2c + excluded.bytes_s2c, sessions = sessions + excluded.sessions;"        \
    "DELETE FROM usage_edges WHERE res = %lld AND start_ns < %lld;"                                \
    "DELETE FROM usage_services WHERE res = %lld AND start_ns < %lld;"

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

int mrg_rollup_epoch_begin(sqlite3 *db)
{
    return s_exec(db, "DELETE FROM temp.epoch_sessions");
}

/* Recompute usage_services for temp.rollup_buckets at resolution res. */
static int s_services_at(sqlite3 *db, long long res)
{
    char sql[sizeof(SQL_SERVICES) + 64];
    snprintf(sql, sizeof(sql), SQL_SERVICES, res, res);
    return s_exec(db, sql);
}

/* Roll rows of resolution `from` older than `cut` into resolution `to`
 * (bucket length to s), or only delete them when to == 0. */
static int s_roll(sqlite3 *db, long long from, long long to, long long cut)
{
    char sql[sizeof(SQL_ROLL) + 256];
    if (to == 0 || to == from) {
        snprintf(sql, sizeof(sql),
                 "DELETE FROM usage_edges WHERE res = %lld AND start_ns < %lld;"
                 "DELETE FROM usage_services WHERE res = %lld AND start_ns < %lld;",
                 from, cut, from, cut);
        return s_exec(db, sql);
    }
    long long len = to * (long long)NS_PER_S;
    snprintf(sql, sizeof(sql), SQL_ROLL, len, from, cut, to, len, from, cut, from, cut, from, cut);
    if (s_exec(db, sql) != 0)
        return -EIO;
    return s_services_at(db, to);
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

int mrg_rollup_epoch_end(sqlite3 *db, const struct mrg_retain *r, uint64_t epoch, uint64_t epoch_ns)
{
    if (epoch_ns == 0)
        epoch_ns = 60 * NS_PER_S;
    const long long res = (long long)(epoch_ns / NS_PER_S ? epoch_ns / NS_PER_S : 1);
    const long long start = (long long)(epoch * epoch_ns);
    const long long end = start + (long long)epoch_ns;
    char sql[sizeof(SQL_RETIRE) + sizeof(SQL_USAGE) + 256];

    /* 1. this epoch's usage rows, and its services */
    snprintf(sql, sizeof(sql), SQL_USAGE, res, start, start);
    if (s_exec(db, sql) != 0 || s_services_at(db, res) != 0)
        return -EIO;

    /* 2. roll-ups: epoch -> hour -> day -> gone, each after its retention */
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

    /* 3. retire sessions idle for the window in time and in committed
     * epochs (sparse captures: years between epochs retire nothing early) */
    if (r->minutes && end > (long long)r->minutes * min_ns) {
        long long cut = end - (long long)r->minutes * min_ns;
        uint64_t n = ((uint64_t)r->minutes * (uint64_t)min_ns + epoch_ns - 1) / epoch_ns;
        long long nth = s_nth_epoch(db, n + 1);
        if (nth >= 0) {
            long long by_count = nth * (long long)epoch_ns + (long long)epoch_ns;
            if (by_count < cut)
                cut = by_count;
            snprintf(sql, sizeof(sql), SQL_RETIRE, cut, cut, cut);
            if (s_exec(db, sql) != 0)
                return -EIO;
        }
    }

    /* 4. epoch rows follow the hourly retention (they are one per minute) */
    long long keep = (long long)(r->hours ? r->hours : 0) * hour_ns;
    if (keep && keep < (long long)r->minutes * min_ns)
        keep = (long long)r->minutes * min_ns;
    if (keep && end > keep) {
        snprintf(sql, sizeof(sql), "DELETE FROM epochs WHERE end_ns <= %lld", end - keep);
        if (s_exec(db, sql) != 0)
            return -EIO;
    }
    return 0;
}
