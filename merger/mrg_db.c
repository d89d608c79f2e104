/* SPDX-License-Identifier: MIT
 * mrg_db: SQLite storage of the merged analysis. The merger's live window
 * (sessions, endpoints and everything derived from them) is kept in memory
 * by mrg_live; each epoch commit applies the tracker results there (the edge
 * rule in C, mrg_rule.h) and writes, in one transaction with prepared
 * statements, only the rows that changed: session rows, endpoint and event
 * rows, edges, services, hosts, groups, meta totals, the epoch's usage rows,
 * retired folds. A reader never sees an epoch half applied.
 * The schema is documented for users in docs/SCHEMA.md; keep both in step.
 */
#define CMN_LOG_TAG "mrg_db"
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "cmn_ip.h"
#include "cmn_dns.h"
#include "cmn_log.h"
#include "cmn_sites.h"
#include "cmn_file.h"
#include "cmn_hash.h"
#include "mrg_db.h"
#include "mrg_live.h"
#include "mrg_rollup.h"
#include "mrg_rule.h"

/* Schema v1. IPs are export text; *_key columns hold the 16-byte address for
 * numeric ordering. Times are INTEGER ns since the Unix epoch. */
static const char s_schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);"
    "CREATE TABLE IF NOT EXISTS epochs(epoch INTEGER PRIMARY KEY, start_ns INTEGER,"
    " end_ns INTEGER, packets INTEGER, bytes INTEGER, sessions INTEGER, duplicates INTEGER,"
    " trackers INTEGER, final INTEGER, commits INTEGER, committed_at TEXT);"
    "CREATE TABLE IF NOT EXISTS sessions(a_ip TEXT NOT NULL, a_port INTEGER NOT NULL,"
    " b_ip TEXT NOT NULL, b_port INTEGER NOT NULL, proto INTEGER NOT NULL,"
    " pkts_ab INTEGER, bytes_ab INTEGER, pkts_ba INTEGER, bytes_ba INTEGER,"
    " syn_ab INTEGER, syn_ba INTEGER, synack_ab INTEGER, synack_ba INTEGER,"
    " ack_ab INTEGER, ack_ba INTEGER, fin_ab INTEGER, fin_ba INTEGER,"
    " rst_ab INTEGER, rst_ba INTEGER, flags INTEGER, epochs INTEGER,"
    " first_ns INTEGER, last_ns INTEGER,"
    /* key led by the address pair (the SQL merger read one pair's sessions;
     * kept: databases of every version have it) */
    " PRIMARY KEY(a_ip, b_ip, a_port, b_port, proto)) WITHOUT ROWID;"
    /* indexes only the SQL merger's incremental refresh read: the live
     * window (mrg_live.c) finds those rows in memory, and each index costs
     * every session write */
    "DROP INDEX IF EXISTS sessions_b; DROP INDEX IF EXISTS sessions_ba;"
    "DROP INDEX IF EXISTS sessions_a_noinit; DROP INDEX IF EXISTS sessions_b_noinit;"
    "DROP INDEX IF EXISTS sessions_a_byconf; DROP INDEX IF EXISTS sessions_b_byconf;"
    "CREATE TABLE IF NOT EXISTS endpoints(ip TEXT NOT NULL, proto INTEGER NOT NULL,"
    " port INTEGER NOT NULL, role TEXT, confidence REAL, peers INTEGER, peer_ports INTEGER,"
    " sessions INTEGER, synack_sent INTEGER, synack_recv INTEGER, syn_sent INTEGER,"
    " syn_recv INTEGER, rst_sent INTEGER, rst_recv INTEGER, init_sessions INTEGER,"
    " resp_sessions INTEGER, epochs_seen INTEGER, lower_port_sessions INTEGER,"
    " pkts_out INTEGER, pkts_in INTEGER, bytes_out INTEGER, bytes_in INTEGER,"
    " first_ns INTEGER, last_ns INTEGER, PRIMARY KEY(ip, proto, port)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS events(kind TEXT NOT NULL, target_ip TEXT NOT NULL,"
    " port INTEGER NOT NULL, proto INTEGER NOT NULL, actor_ip TEXT NOT NULL,"
    " source_count INTEGER, packets INTEGER, port_count INTEGER, first_ns INTEGER,"
    " last_ns INTEGER, PRIMARY KEY(kind, target_ip, port, proto, actor_ip));"
    "CREATE TABLE IF NOT EXISTS node_stats(kind TEXT NOT NULL, node_id INTEGER NOT NULL,"
    " name TEXT, counter TEXT NOT NULL, value INTEGER, final INTEGER, updated_at TEXT,"
    " PRIMARY KEY(kind, node_id, counter));"
    "CREATE TABLE IF NOT EXISTS host_names(ip TEXT PRIMARY KEY, name TEXT);"
    /* names for reports (reporter/rep_names.h): services_file, passive DNS */
    "CREATE TABLE IF NOT EXISTS service_names(proto INTEGER NOT NULL, port INTEGER NOT NULL,"
    " name TEXT, PRIMARY KEY(proto, port)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS dns_names(ip TEXT NOT NULL, name TEXT NOT NULL, rtype TEXT,"
    " first_ns INTEGER, last_ns INTEGER, seen INTEGER, PRIMARY KEY(ip, name)) WITHOUT ROWID;"
    /* sites_file (cmn_sites.h), replaced at start; rowid keeps the file's order */
    "CREATE TABLE IF NOT EXISTS sites(name TEXT NOT NULL, kind TEXT NOT NULL, cidr TEXT NOT NULL,"
    " PRIMARY KEY(name, cidr));"
    "CREATE TABLE IF NOT EXISTS edges(client_ip TEXT NOT NULL, server_ip TEXT NOT NULL,"
    " proto INTEGER NOT NULL, server_port INTEGER NOT NULL, client_key BLOB, server_key BLOB,"
    " packets_c2s INTEGER, bytes_c2s INTEGER, packets_s2c INTEGER, bytes_s2c INTEGER,"
    " sessions INTEGER, first_ns INTEGER, last_ns INTEGER,"
    " PRIMARY KEY(client_ip, server_ip, proto, server_port)) WITHOUT ROWID;"
    /* a server's edges by service, then volume: the web report pages the
     * clients of a host's services from this index alone (the two byte
     * columns make it covering, any page reads 100 rows) instead of sorting
     * every client. Edges are deleted and re-inserted on refresh, never
     * updated in place, so the volume in the key costs no extra index write */
    "DROP INDEX IF EXISTS edges_server;"
    "CREATE INDEX IF NOT EXISTS edges_server_vol ON edges(server_ip, proto, server_port,"
    " bytes_c2s + bytes_s2c DESC, client_key, bytes_c2s, bytes_s2c);"
    "CREATE TABLE IF NOT EXISTS services(ip TEXT NOT NULL, proto INTEGER NOT NULL,"
    " port INTEGER NOT NULL, ip_key BLOB, clients INTEGER, packets INTEGER, bytes INTEGER,"
    " confidence REAL, first_ns INTEGER, last_ns INTEGER, PRIMARY KEY(ip, proto, port))"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS hosts(ip TEXT PRIMARY KEY, ip_key BLOB, name TEXT,"
    " network TEXT, kind TEXT, services_provided INTEGER, services_used INTEGER,"
    " packets_out INTEGER, bytes_out INTEGER, packets_in INTEGER, bytes_in INTEGER,"
    " first_ns INTEGER, last_ns INTEGER) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS groups(group_ip TEXT NOT NULL, proto INTEGER NOT NULL,"
    " port INTEGER NOT NULL, senders INTEGER, packets INTEGER, bytes INTEGER, first_ns INTEGER,"
    " last_ns INTEGER, PRIMARY KEY(group_ip, proto, port)) WITHOUT ROWID;";

/* ---- the reference: derived tables rebuilt in SQL from all rows ----
 *
 * Derived tables, as docs/SCHEMA.md defines them. A session's server side is
 * the edge rule of mrg_rule.h, called as renkei_srv_side (registered on this
 * connection); neither side a server: no edge (the traffic stays in host
 * totals). Port-less rows never make edges. A TCP edge needs one "real"
 * packet from the client over all its sessions (not a pure SYN, not an RST):
 * spoofed flood sources and SYN scanners complete no handshake, so they
 * become no client (their packets stay in host totals and events). A host
 * that neither provides nor uses a service is of kind 'unknown'.
 * mrg_db_refresh_full runs this; mrg_live maintains the same rows in memory
 * and test_mrg_refresh compares both after every epoch. */

/* renkei_srv_side(...) of a row with columns of sessions_all and the joined
 * endpoint roles / confidences ra, ca, rb, cb: 'A', 'B' or NULL. */
#define SRV_SIDE                                                                                   \
    "renkei_srv_side(a_ip, b_ip, a_port, b_port, proto, flags, ra = 'server', ca,"                 \
    " rb = 'server', cb, pkts_ab, pkts_ba, syn_ab, syn_ba, synack_ab, synack_ba, ack_ab,"          \
    " ack_ba, fin_ab, fin_ba, rst_ab, rst_ba)"

// clang-format off
/* 'A', 'B' or NULL: the broadcast / multicast side of a session row
 * (cmn_ip_is_group of that side seen from the other; A first). */
#define GROUP_SIDE(P)                                                                              \
    "CASE WHEN renkei_group(" P "a_ip, " P "b_ip) THEN 'A'"                                        \
    " WHEN renkei_group(" P "b_ip, " P "a_ip) THEN 'B' END"

#define HOST_KIND(SP, SU)                                                                          \
    "CASE WHEN " SP " > 0 AND " SU " > 0 THEN 'both' WHEN " SP " > 0 THEN 'server'"                \
    " WHEN " SU " > 0 THEN 'client' ELSE 'unknown' END"

static const char s_refresh_full[] =
    "DELETE FROM edges;"
    "INSERT INTO edges(client_ip, server_ip, proto, server_port, client_key, server_key,"
    " packets_c2s, bytes_c2s, packets_s2c, bytes_s2c, sessions, first_ns, last_ns)"
    " WITH j AS (SELECT s.*, ea.role AS ra, ea.confidence AS ca, eb.role AS rb,"
    "   eb.confidence AS cb FROM sessions_all s"
    "   LEFT JOIN endpoints ea ON ea.ip = s.a_ip AND ea.proto = s.proto AND ea.port = s.a_port"
    "   LEFT JOIN endpoints eb ON eb.ip = s.b_ip AND eb.proto = s.proto AND eb.port = s.b_port"
    "   WHERE s.a_port <> 0 AND s.b_port <> 0 AND s.proto NOT IN (1, 58)),"
    " d AS (SELECT *, " SRV_SIDE " AS srv FROM j)"
    " SELECT CASE srv WHEN 'A' THEN b_ip ELSE a_ip END,"
    "  CASE srv WHEN 'A' THEN a_ip ELSE b_ip END, proto,"
    "  CASE srv WHEN 'A' THEN a_port ELSE b_port END,"
    "  renkei_ipkey(CASE srv WHEN 'A' THEN b_ip ELSE a_ip END),"
    "  renkei_ipkey(CASE srv WHEN 'A' THEN a_ip ELSE b_ip END),"
    "  SUM(CASE srv WHEN 'A' THEN pkts_ba ELSE pkts_ab END),"
    "  SUM(CASE srv WHEN 'A' THEN bytes_ba ELSE bytes_ab END),"
    "  SUM(CASE srv WHEN 'A' THEN pkts_ab ELSE pkts_ba END),"
    "  SUM(CASE srv WHEN 'A' THEN bytes_ab ELSE bytes_ba END),"
    "  COUNT(DISTINCT CASE WHEN retired = 0 THEN CASE srv WHEN 'A' THEN b_port ELSE a_port END"
    "   END) + SUM(retired),"
    "  MIN(first_ns), MAX(last_ns)"
    " FROM d WHERE srv IS NOT NULL GROUP BY 1, 2, 3, 4"
    " HAVING proto <> 6 OR SUM(CASE srv WHEN 'A'"
    "  THEN pkts_ba - (syn_ba - synack_ba) - rst_ba"
    "  ELSE pkts_ab - (syn_ab - synack_ab) - rst_ab END) > 0;"
    "DELETE FROM services;"
    "INSERT INTO services(ip, proto, port, ip_key, clients, packets, bytes, confidence,"
    " first_ns, last_ns)"
    " SELECT e.ip, e.proto, e.port, renkei_ipkey(e.ip), COALESCE(g.clients, 0),"
    "  COALESCE(g.packets, 0), COALESCE(g.bytes, 0), e.confidence, e.first_ns, e.last_ns"
    " FROM endpoints e LEFT JOIN (SELECT server_ip, proto, server_port, COUNT(*) AS clients,"
    "   SUM(packets_c2s + packets_s2c) AS packets, SUM(bytes_c2s + bytes_s2c) AS bytes"
    "   FROM edges GROUP BY 1, 2, 3) g"
    "  ON g.server_ip = e.ip AND g.proto = e.proto AND g.server_port = e.port"
    " WHERE e.role = 'server' AND e.port <> 0 AND e.proto NOT IN (1, 58);"
    "DELETE FROM hosts;"
    "INSERT INTO hosts(ip, ip_key, name, network, kind, services_provided,"
    " services_used, packets_out, bytes_out, packets_in, bytes_in, first_ns, last_ns)"
    " SELECT ip, renkei_ipkey(ip), (SELECT n.name FROM host_names n WHERE n.ip = g.ip),"
    "  renkei_network(ip), " HOST_KIND("sp", "su") ", sp, su, po, bo, pi, bi, f, l"
    " FROM (SELECT t.ip AS ip,"
    "   (SELECT COUNT(*) FROM services s WHERE s.ip = t.ip) AS sp,"
    "   (SELECT COUNT(*) FROM edges e WHERE e.client_ip = t.ip) AS su,"
    "   SUM(po) AS po, SUM(bo) AS bo, SUM(pi) AS pi, SUM(bi) AS bi,"
    "   MIN(f) AS f, MAX(l) AS l"
    "  FROM (SELECT a_ip AS ip, pkts_ab AS po, bytes_ab AS bo, pkts_ba AS pi,"
    "   bytes_ba AS bi, first_ns AS f, last_ns AS l FROM sessions_all"
    "   UNION ALL SELECT b_ip, pkts_ba, bytes_ba, pkts_ab, bytes_ab, first_ns, last_ns"
    "   FROM sessions_all) t GROUP BY t.ip) g;"
    "INSERT OR REPLACE INTO meta(key, value)"
    " SELECT 'packets', COALESCE(SUM(pkts_ab + pkts_ba), 0) FROM sessions_all"
    " UNION ALL SELECT 'bytes', COALESCE(SUM(bytes_ab + bytes_ba), 0) FROM sessions_all"
    " UNION ALL SELECT 'first_seen_ns', MIN(first_ns) FROM sessions_all"
    " UNION ALL SELECT 'last_seen_ns', MAX(last_ns) FROM sessions_all;"
    /* groups: per group address, protocol and group-side port, the distinct
     * senders (addresses on the other side) and the traffic both ways */
    "DELETE FROM groups;"
    "INSERT INTO groups(group_ip, proto, port, senders, packets, bytes, first_ns, last_ns)"
    " SELECT group_ip, proto, port, COUNT(DISTINCT sender), SUM(p), SUM(b), MIN(f), MAX(l)"
    " FROM (SELECT CASE g WHEN 'A' THEN a_ip ELSE b_ip END AS group_ip, proto,"
    "   CASE g WHEN 'A' THEN a_port ELSE b_port END AS port,"
    "   CASE g WHEN 'A' THEN b_ip ELSE a_ip END AS sender, pkts_ab + pkts_ba AS p,"
    "   bytes_ab + bytes_ba AS b, first_ns AS f, last_ns AS l"
    "  FROM (SELECT s.*, " GROUP_SIDE("s.") " AS g FROM sessions_all s) WHERE g IS NOT NULL)"
    " GROUP BY 1, 2, 3;";
// clang-format on

/* Statement texts, indexed by enum st_id. */
enum st_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SESSION_PUT,
    ST_SESSION_DEL,
    ST_RETIRED_PUT,
    ST_ENDPOINT_REPLACE,
    ST_ENDPOINT_DEL,
    ST_EVENT_REPLACE,
    ST_EDGE_PUT,
    ST_EDGE_DEL,
    ST_SERVICE_PUT,
    ST_SERVICE_DEL,
    ST_HOST_PUT,
    ST_GROUP_PUT,
    ST_USAGE_ADD,
    ST_EPOCH_UPSERT,
    ST_STATS_UPSERT,
    ST_META_SET,
    ST_META_GET,
    ST_NAME_INSERT,
    ST_NAME_APPLY,
    ST_SVC_CLEAR,
    ST_SVC_INSERT,
    ST_DNS_UPSERT,
    ST_COUNT
};

#define SESS_COLS                                                                                  \
    "a_ip, a_port, b_ip, b_port, proto, pkts_ab, bytes_ab, pkts_ba, bytes_ba, syn_ab, syn_ba,"     \
    " synack_ab, synack_ba, ack_ab, ack_ba, fin_ab, fin_ba, rst_ab, rst_ba, flags, epochs,"        \
    " first_ns, last_ns"

static const char *const s_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    /* whole rows from the live window (the cumulative counters it holds) */
    [ST_SESSION_PUT] = "INSERT OR REPLACE INTO sessions(" SESS_COLS ")"
                       " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,"
                       "?19,?20,?21,?22,?23)",
    [ST_SESSION_DEL] = "DELETE FROM sessions WHERE a_ip = ?1 AND a_port = ?2 AND b_ip = ?3"
                       " AND b_port = ?4 AND proto = ?5",
    [ST_RETIRED_PUT] = "INSERT OR REPLACE INTO sessions_retired(" SESS_COLS ", retired)"
                       " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,"
                       "?19,?20,?21,?22,?23,?24)",
    [ST_ENDPOINT_REPLACE] =
        "INSERT OR REPLACE INTO endpoints(ip, proto, port, role, confidence, peers, peer_ports,"
        " sessions, synack_sent, synack_recv, syn_sent, syn_recv, rst_sent, rst_recv,"
        " init_sessions, resp_sessions, epochs_seen, lower_port_sessions, pkts_out, pkts_in,"
        " bytes_out, bytes_in, first_ns, last_ns)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,"
        "?23,?24)",
    [ST_ENDPOINT_DEL] = "DELETE FROM endpoints WHERE ip = ?1 AND proto = ?2 AND port = ?3",
    [ST_EVENT_REPLACE] =
        "INSERT OR REPLACE INTO events(kind, target_ip, port, proto, actor_ip, source_count,"
        " packets, port_count, first_ns, last_ns) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    [ST_EDGE_PUT] =
        "INSERT OR REPLACE INTO edges(client_ip, server_ip, proto, server_port, client_key,"
        " server_key, packets_c2s, bytes_c2s, packets_s2c, bytes_s2c, sessions, first_ns, last_ns)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
    [ST_EDGE_DEL] = "DELETE FROM edges WHERE client_ip = ?1 AND server_ip = ?2 AND proto = ?3"
                    " AND server_port = ?4",
    [ST_SERVICE_PUT] = "INSERT OR REPLACE INTO services(ip, proto, port, ip_key, clients, packets,"
                       " bytes, confidence, first_ns, last_ns)"
                       " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
    [ST_SERVICE_DEL] = "DELETE FROM services WHERE ip = ?1 AND proto = ?2 AND port = ?3",
    [ST_HOST_PUT] =
        "INSERT OR REPLACE INTO hosts(ip, ip_key, name, network, kind, services_provided,"
        " services_used, packets_out, bytes_out, packets_in, bytes_in, first_ns, last_ns)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
    [ST_GROUP_PUT] = "INSERT OR REPLACE INTO groups(group_ip, proto, port, senders, packets, bytes,"
                     " first_ns, last_ns) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
    /* the epoch's usage of one edge; a late commit of the same epoch adds */
    [ST_USAGE_ADD] =
        "INSERT INTO usage_edges(res, start_ns, server_ip, proto, server_port, client_ip,"
        " packets_c2s, bytes_c2s, packets_s2c, bytes_s2c, sessions)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"
        " ON CONFLICT(res, start_ns, server_ip, proto, server_port, client_ip) DO UPDATE SET"
        " packets_c2s = packets_c2s + excluded.packets_c2s,"
        " bytes_c2s = bytes_c2s + excluded.bytes_c2s,"
        " packets_s2c = packets_s2c + excluded.packets_s2c,"
        " bytes_s2c = bytes_s2c + excluded.bytes_s2c, sessions = sessions + excluded.sessions",
    [ST_EPOCH_UPSERT] =
        "INSERT INTO epochs(epoch, start_ns, end_ns, packets, bytes, sessions, duplicates,"
        " trackers, final, commits, committed_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,1,?10)"
        " ON CONFLICT(epoch) DO UPDATE SET packets = packets + excluded.packets,"
        " bytes = bytes + excluded.bytes, sessions = sessions + excluded.sessions,"
        " duplicates = duplicates + excluded.duplicates,"
        " trackers = MAX(trackers, excluded.trackers), final = final | excluded.final,"
        " commits = commits + 1, committed_at = excluded.committed_at",
    [ST_STATS_UPSERT] =
        "INSERT INTO node_stats(kind, node_id, name, counter, value, final, updated_at)"
        " VALUES(?1,?2,?3,?4,?5,?6,?7) ON CONFLICT(kind, node_id, counter) DO UPDATE SET"
        " name = excluded.name, value = excluded.value, final = excluded.final,"
        " updated_at = excluded.updated_at",
    [ST_META_SET] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)",
    [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ST_NAME_INSERT] = "INSERT OR IGNORE INTO host_names(ip, name) VALUES(?1, ?2)",
    [ST_NAME_APPLY] =
        "UPDATE hosts SET name = (SELECT n.name FROM host_names n WHERE n.ip = hosts.ip)",
    [ST_SVC_CLEAR] = "DELETE FROM service_names",
    [ST_SVC_INSERT] = "INSERT OR REPLACE INTO service_names(proto, port, name) VALUES(?1,?2,?3)",
    /* a new (ip, name) only while the address has fewer than ?5 names; an A
     * or AAAA record outranks a CNAME or PTR as the row's rtype */
    [ST_DNS_UPSERT] =
        "INSERT INTO dns_names(ip, name, rtype, first_ns, last_ns, seen)"
        " SELECT ?1, ?2, ?3, ?4, ?4, 1"
        " WHERE EXISTS(SELECT 1 FROM dns_names WHERE ip = ?1 AND name = ?2)"
        " OR (SELECT COUNT(*) FROM dns_names WHERE ip = ?1) < ?5"
        " ON CONFLICT(ip, name) DO UPDATE SET first_ns = MIN(first_ns, excluded.first_ns),"
        " last_ns = MAX(last_ns, excluded.last_ns), seen = seen + 1,"
        " rtype = CASE WHEN excluded.rtype IN ('A', 'AAAA') THEN excluded.rtype ELSE rtype END",
};

struct mrg_db {
    sqlite3 *db;                /* read-write connection */
    sqlite3_stmt *st[ST_COUNT]; /* prepared statements, enum st_id */
    char *path;                 /* for messages */
    struct mrg_retain retain;   /* retention of sessions and usage rows (mrg_rollup) */
    bool full_refresh;     /* rebuild derived tables in SQL per epoch (mrg_db_set_full_refresh) */
    struct mrg_live *live; /* the live window, equal to the tables after each commit */
    uint64_t memcap;       /* the live window's memcap (bytes) */
    uint64_t epoch_res;    /* usage rows of the commit in hand: res */
    uint64_t epoch_start;  /* and start_ns */
    uint32_t checkpoint_epochs; /* per-session detail written every this many commits */
    uint32_t since_checkpoint;  /* commits since the last checkpoint */
};

/* ---- SQL functions used by the derived-table queries ---- */

/* renkei_ipkey(text) -> 16-byte blob for numeric ordering (NULL if unparsable). */
static void s_fn_ipkey(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *s = (const char *)sqlite3_value_text(argv[0]);
    uint8_t ip[16];
    if (!s || cmn_ip_parse(s, ip) != 0) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_blob(ctx, ip, 16, SQLITE_TRANSIENT);
}

/* renkei_network(text) -> "a.b.c.0/24" or "x:x:x:x::/64". */
static void s_fn_network(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *s = (const char *)sqlite3_value_text(argv[0]);
    uint8_t ip[16];
    char buf[CMN_IP_STRLEN + 8];
    if (!s || cmn_ip_parse(s, ip) != 0) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_text(ctx, cmn_ip_network(ip, buf, sizeof(buf)), -1, SQLITE_TRANSIENT);
}

/* renkei_group(ip, peer) -> 1 when `ip` is a broadcast / multicast group
 * seen from `peer` (cmn_ip_is_group), else 0 (also for unparsable text). */
static void s_fn_group(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *a = (const char *)sqlite3_value_text(argv[0]);
    const char *b = (const char *)sqlite3_value_text(argv[1]);
    uint8_t x[16], y[16];
    bool g = a && b && cmn_ip_parse(a, x) == 0 && cmn_ip_parse(b, y) == 0 && cmn_ip_is_group(x, y);
    sqlite3_result_int(ctx, g ? 1 : 0);
}

/* renkei_group_pair(a, b) -> 1 when the session names no service and no
 * client (cmn_ip_is_group_pair), else 0. */
static void s_fn_group_pair(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *a = (const char *)sqlite3_value_text(argv[0]);
    const char *b = (const char *)sqlite3_value_text(argv[1]);
    uint8_t x[16], y[16];
    bool g =
        a && b && cmn_ip_parse(a, x) == 0 && cmn_ip_parse(b, y) == 0 && cmn_ip_is_group_pair(x, y);
    sqlite3_result_int(ctx, g ? 1 : 0);
}

/* renkei_srv_side(a_ip, b_ip, a_port, b_port, proto, flags, a_server, ca,
 * b_server, cb, pkts_ab, pkts_ba, syn_ab, syn_ba, synack_ab, synack_ba,
 * ack_ab, ack_ba, fin_ab, fin_ba, rst_ab, rst_ba) -> 'A', 'B' or NULL: the
 * edge rule of mrg_rule.h on one row of sessions_all (a_server / b_server:
 * the endpoint's role is server; NULL reads as false, a NULL confidence as
 * 0). The reference rebuild's only way to the rule. */
static void s_fn_srv_side(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *a = (const char *)sqlite3_value_text(argv[0]);
    const char *b = (const char *)sqlite3_value_text(argv[1]);
    uint8_t x[16], y[16];
    struct mrg_rule_row r;
    memset(&r, 0, sizeof(r));
    r.group_pair =
        a && b && cmn_ip_parse(a, x) == 0 && cmn_ip_parse(b, y) == 0 && cmn_ip_is_group_pair(x, y);
    r.a_port = (int32_t)sqlite3_value_int64(argv[2]);
    r.b_port = (int32_t)sqlite3_value_int64(argv[3]);
    r.proto = (uint8_t)sqlite3_value_int64(argv[4]);
    r.flags = (uint8_t)sqlite3_value_int64(argv[5]);
    struct mrg_rule_ep ea = {sqlite3_value_int64(argv[6]) != 0, sqlite3_value_double(argv[7])};
    struct mrg_rule_ep eb = {sqlite3_value_int64(argv[8]) != 0, sqlite3_value_double(argv[9])};
    uint64_t *cols[] = {r.pkts, r.syn, r.synack, r.ack, r.fin, r.rst};
    for (int c = 0; c < 6; c++)
        for (int d = 0; d < 2; d++)
            cols[c][d] = (uint64_t)sqlite3_value_int64(argv[10 + 2 * c + d]);
    switch (mrg_rule_srv_side(&r, &ea, &eb)) {
        case MRG_SIDE_A:
            sqlite3_result_text(ctx, "A", 1, SQLITE_STATIC);
            break;
        case MRG_SIDE_B:
            sqlite3_result_text(ctx, "B", 1, SQLITE_STATIC);
            break;
        default:
            sqlite3_result_null(ctx);
    }
}

static void s_now_text(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int s_fail(struct mrg_db *db, const char *what)
{
    CMN_LOG(ERR, "%s: %s: %s", db->path, what, sqlite3_errmsg(db->db));
    return -EIO;
}

/* Run a stepped statement to completion and reset it. */
static int s_step_done(struct mrg_db *db, enum st_id id)
{
    sqlite3_stmt *s = db->st[id];
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return s_fail(db, s_sql[id]);
    return 0;
}

static void s_bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
    /* SQLite integers are signed 64-bit; counters never reach 2^63. */
    sqlite3_bind_int64(s, i, (sqlite3_int64)v);
}

static void s_bind_ip(sqlite3_stmt *s, int i, const uint8_t ip[16])
{
    char buf[CMN_IP_STRLEN];
    sqlite3_bind_text(s, i, cmn_ip_format(ip, buf, sizeof(buf)), -1, SQLITE_TRANSIENT);
}

/* Check meta.schema_version of an existing database; write it to a new one. */
static int s_check_version(struct mrg_db *db)
{
    sqlite3_stmt *s = db->st[ST_META_GET];
    sqlite3_bind_text(s, 1, "schema_version", -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_int64 v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return s_fail(db, "read schema_version");
    if (v == -1) {
        char now[32];
        s_now_text(now, sizeof(now));
        if (mrg_db_meta_set_u64(db, "schema_version", MRG_SCHEMA_VERSION) ||
            mrg_db_meta_set_text(db, "created_at", now) ||
            mrg_db_meta_set_u64(db, "records_lost", 0) ||
            mrg_db_meta_set_u64(db, "duplicates_removed", 0) ||
            mrg_db_meta_set_u64(db, "packets", 0) || mrg_db_meta_set_u64(db, "bytes", 0) ||
            mrg_db_meta_set_text(db, "run_state", "new"))
            return -EIO;
    } else if (v != MRG_SCHEMA_VERSION) {
        CMN_LOG(ERR, "%s: schema version %lld, this renkei writes %d", db->path, (long long)v,
                MRG_SCHEMA_VERSION);
        return -EINVAL;
    }
    return mrg_db_meta_set_text(db, "renkei_version", RENKEI_VERSION);
}

static int s_rollback(struct mrg_db *db);

/* ---- writing the live window's changes ---- */

static int s_w_session(void *ctx, const struct mrg_live_row *r, bool put)
{
    struct mrg_db *db = ctx;
    enum st_id id = put ? ST_SESSION_PUT : ST_SESSION_DEL;
    sqlite3_stmt *s = db->st[id];
    sqlite3_bind_text(s, 1, r->a_ip, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, r->a_port);
    sqlite3_bind_text(s, 3, r->b_ip, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, r->b_port);
    sqlite3_bind_int(s, 5, r->proto);
    if (put) {
        s_bind_u64(s, 6, r->pkts[CMN_DIR_AB]);
        s_bind_u64(s, 7, r->bytes[CMN_DIR_AB]);
        s_bind_u64(s, 8, r->pkts[CMN_DIR_BA]);
        s_bind_u64(s, 9, r->bytes[CMN_DIR_BA]);
        for (int d = 0; d < 2; d++) {
            s_bind_u64(s, 10 + d, r->syn[d]);
            s_bind_u64(s, 12 + d, r->synack[d]);
            s_bind_u64(s, 14 + d, r->ack[d]);
            s_bind_u64(s, 16 + d, r->fin[d]);
            s_bind_u64(s, 18 + d, r->rst[d]);
        }
        sqlite3_bind_int(s, 20, r->flags);
        s_bind_u64(s, 21, r->epochs);
        s_bind_u64(s, 22, r->first_ns);
        s_bind_u64(s, 23, r->last_ns);
    }
    return s_step_done(db, id);
}

static int s_w_retired(void *ctx, const struct mrg_live_row *r, bool put)
{
    struct mrg_db *db = ctx;
    if (CMN_NEVER(!put))
        return 0;
    sqlite3_stmt *s = db->st[ST_RETIRED_PUT];
    sqlite3_bind_text(s, 1, r->a_ip, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, r->a_port);
    sqlite3_bind_text(s, 3, r->b_ip, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, r->b_port);
    sqlite3_bind_int(s, 5, r->proto);
    s_bind_u64(s, 6, r->pkts[CMN_DIR_AB]);
    s_bind_u64(s, 7, r->bytes[CMN_DIR_AB]);
    s_bind_u64(s, 8, r->pkts[CMN_DIR_BA]);
    s_bind_u64(s, 9, r->bytes[CMN_DIR_BA]);
    for (int d = 0; d < 2; d++) {
        s_bind_u64(s, 10 + d, r->syn[d]);
        s_bind_u64(s, 12 + d, r->synack[d]);
        s_bind_u64(s, 14 + d, r->ack[d]);
        s_bind_u64(s, 16 + d, r->fin[d]);
        s_bind_u64(s, 18 + d, r->rst[d]);
    }
    sqlite3_bind_int(s, 20, r->flags);
    s_bind_u64(s, 21, r->epochs);
    s_bind_u64(s, 22, r->first_ns);
    s_bind_u64(s, 23, r->last_ns);
    s_bind_u64(s, 24, r->retired);
    return s_step_done(db, ST_RETIRED_PUT);
}

static int s_w_endpoint_del(void *ctx, const struct mrg_live_ep_key *k)
{
    struct mrg_db *db = ctx;
    sqlite3_stmt *s = db->st[ST_ENDPOINT_DEL];
    sqlite3_bind_text(s, 1, k->ip, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, k->proto);
    sqlite3_bind_int(s, 3, k->port);
    return s_step_done(db, ST_ENDPOINT_DEL);
}

static int s_w_edge(void *ctx, const struct mrg_live_edge *e, bool put)
{
    struct mrg_db *db = ctx;
    enum st_id id = put ? ST_EDGE_PUT : ST_EDGE_DEL;
    sqlite3_stmt *s = db->st[id];
    sqlite3_bind_text(s, 1, e->client_ip, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, e->server_ip, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, e->proto);
    sqlite3_bind_int(s, 4, e->server_port);
    if (put) {
        sqlite3_bind_blob(s, 5, e->client_key, 16, SQLITE_STATIC);
        sqlite3_bind_blob(s, 6, e->server_key, 16, SQLITE_STATIC);
        s_bind_u64(s, 7, e->pkts_c2s);
        s_bind_u64(s, 8, e->bytes_c2s);
        s_bind_u64(s, 9, e->pkts_s2c);
        s_bind_u64(s, 10, e->bytes_s2c);
        s_bind_u64(s, 11, e->sessions);
        s_bind_u64(s, 12, e->first_ns);
        s_bind_u64(s, 13, e->last_ns);
    }
    return s_step_done(db, id);
}

static int s_w_service(void *ctx, const struct mrg_live_service *v, bool put)
{
    struct mrg_db *db = ctx;
    enum st_id id = put ? ST_SERVICE_PUT : ST_SERVICE_DEL;
    sqlite3_stmt *s = db->st[id];
    sqlite3_bind_text(s, 1, v->ip, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, v->proto);
    sqlite3_bind_int(s, 3, v->port);
    if (put) {
        sqlite3_bind_blob(s, 4, v->key, 16, SQLITE_STATIC);
        s_bind_u64(s, 5, v->clients);
        s_bind_u64(s, 6, v->pkts);
        s_bind_u64(s, 7, v->bytes);
        sqlite3_bind_double(s, 8, v->confidence);
        s_bind_u64(s, 9, v->first_ns);
        s_bind_u64(s, 10, v->last_ns);
    }
    return s_step_done(db, id);
}

static const char *s_kind(uint64_t sp, uint64_t su)
{
    return sp && su ? "both" : sp ? "server" : su ? "client" : "unknown";
}

static int s_w_host(void *ctx, const struct mrg_live_host *h)
{
    struct mrg_db *db = ctx;
    sqlite3_stmt *s = db->st[ST_HOST_PUT];
    char net[CMN_IP_STRLEN + 8];
    sqlite3_bind_text(s, 1, h->ip, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, h->key, 16, SQLITE_STATIC);
    if (h->name)
        sqlite3_bind_text(s, 3, h->name, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 3);
    sqlite3_bind_text(s, 4, cmn_ip_network(h->key, net, sizeof(net)), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, s_kind(h->provided, h->used), -1, SQLITE_STATIC);
    s_bind_u64(s, 6, h->provided);
    s_bind_u64(s, 7, h->used);
    s_bind_u64(s, 8, h->po);
    s_bind_u64(s, 9, h->bo);
    s_bind_u64(s, 10, h->pi);
    s_bind_u64(s, 11, h->bi);
    s_bind_u64(s, 12, h->first_ns);
    s_bind_u64(s, 13, h->last_ns);
    return s_step_done(db, ST_HOST_PUT);
}

static int s_w_group(void *ctx, const struct mrg_live_group *g)
{
    struct mrg_db *db = ctx;
    sqlite3_stmt *s = db->st[ST_GROUP_PUT];
    sqlite3_bind_text(s, 1, g->ip, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, g->proto);
    sqlite3_bind_int(s, 3, g->port);
    s_bind_u64(s, 4, g->senders);
    s_bind_u64(s, 5, g->pkts);
    s_bind_u64(s, 6, g->bytes);
    s_bind_u64(s, 7, g->first_ns);
    s_bind_u64(s, 8, g->last_ns);
    return s_step_done(db, ST_GROUP_PUT);
}

static int s_w_usage(void *ctx, const struct mrg_live_usage *u)
{
    struct mrg_db *db = ctx;
    sqlite3_stmt *s = db->st[ST_USAGE_ADD];
    s_bind_u64(s, 1, db->epoch_res);
    s_bind_u64(s, 2, db->epoch_start);
    sqlite3_bind_text(s, 3, u->server_ip, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, u->proto);
    sqlite3_bind_int(s, 5, u->server_port);
    sqlite3_bind_text(s, 6, u->client_ip, -1, SQLITE_STATIC);
    s_bind_u64(s, 7, u->pkts_c2s);
    s_bind_u64(s, 8, u->bytes_c2s);
    s_bind_u64(s, 9, u->pkts_s2c);
    s_bind_u64(s, 10, u->bytes_s2c);
    s_bind_u64(s, 11, u->sessions);
    return s_step_done(db, ST_USAGE_ADD);
}

/* meta totals of the live window. */
static int s_w_totals(struct mrg_db *db)
{
    struct mrg_live_totals t;
    mrg_live_totals(db->live, &t);
    if (mrg_db_meta_set_u64(db, "packets", t.pkts) != 0 ||
        mrg_db_meta_set_u64(db, "bytes", t.bytes) != 0)
        return -EIO;
    const char *k[2] = {"first_seen_ns", "last_seen_ns"};
    uint64_t v[2] = {t.first_ns, t.last_ns};
    for (int i = 0; i < 2; i++) {
        sqlite3_stmt *s = db->st[ST_META_SET];
        sqlite3_bind_text(s, 1, k[i], -1, SQLITE_STATIC);
        if (t.any)
            s_bind_u64(s, 2, v[i]);
        else
            sqlite3_bind_null(s, 2);
        if (s_step_done(db, ST_META_SET) != 0)
            return -EIO;
    }
    return 0;
}

static int s_put_endpoint(struct mrg_db *db, const struct cmn_endpoint_rec *e, float c);

static int s_w_endpoint(void *ctx, const struct cmn_endpoint_rec *e, float conf)
{
    return s_put_endpoint(ctx, e, conf);
}

/* Write the per-session detail the live window changed since the last
 * checkpoint: session rows, retired folds, endpoint rows (the checkpoint
 * set: sessions_all whole in the tables). */
static int s_write_detail(struct mrg_db *db)
{
    struct mrg_live *lv = db->live;
    if (mrg_live_visit_sessions(lv, s_w_session, db) != 0 ||
        mrg_live_visit_retired(lv, s_w_retired, db) != 0 ||
        mrg_live_visit_endpoint_deletes(lv, s_w_endpoint_del, db) != 0 ||
        mrg_live_visit_endpoints(lv, s_w_endpoint, db) != 0)
        return -EIO;
    mrg_live_detail_done(lv);
    db->since_checkpoint = 0;
    return 0;
}

/* Write the aggregates the live window changed (every commit). */
static int s_write_changes(struct mrg_db *db)
{
    struct mrg_live *lv = db->live;
    if (mrg_live_visit_edges(lv, s_w_edge, db) != 0 ||
        mrg_live_visit_services(lv, s_w_service, db) != 0 ||
        mrg_live_visit_hosts(lv, s_w_host, db) != 0 ||
        mrg_live_visit_groups(lv, s_w_group, db) != 0 ||
        mrg_live_visit_usage(lv, s_w_usage, db) != 0)
        return -EIO;
    mrg_live_changes_done(lv);
    return 0;
}

/* ---- the live window from the database (open, after a failed commit) ---- */

static uint8_t s_role_of(const unsigned char *t)
{
    if (t && strcmp((const char *)t, "server") == 0)
        return CMN_ROLE_SERVER;
    if (t && strcmp((const char *)t, "client") == 0)
        return CMN_ROLE_CLIENT;
    return CMN_ROLE_UNKNOWN;
}

static int s_load_names(struct mrg_db *db)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db->db, "SELECT ip, name FROM host_names", -1, &q, NULL) != SQLITE_OK)
        return s_fail(db, "read host_names");
    uint8_t ip[16];
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *a = (const char *)sqlite3_column_text(q, 0);
        const char *n = (const char *)sqlite3_column_text(q, 1);
        if (a && cmn_ip_parse(a, ip) == 0)
            mrg_live_set_name(db->live, ip, n);
    }
    sqlite3_finalize(q);
    return 0;
}

/* Rebuild the live window from sessions, sessions_retired, endpoints and
 * host_names; with `rewrite`, write the derived tables again from it (a
 * database some other writer left with derived rows that disagree is
 * repaired). Returns 0 or -EIO. */
static int s_load(struct mrg_db *db)
{
    mrg_live_destroy(&db->live);
    struct mrg_live_config lc = {.memcap = db->memcap};
    db->live = mrg_live_new(&lc);
    if (s_load_names(db) != 0)
        return -EIO;
    static const char *const q[2] = {
        "SELECT " SESS_COLS ", 0 FROM sessions",
        "SELECT " SESS_COLS ", retired FROM sessions_retired",
    };
    uint64_t rows = 0, bad = 0;
    for (int t = 0; t < 2; t++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db->db, q[t], -1, &st, NULL) != SQLITE_OK)
            return s_fail(db, q[t]);
        while (sqlite3_step(st) == SQLITE_ROW) {
            uint8_t a[16], b[16];
            const char *at = (const char *)sqlite3_column_text(st, 0);
            const char *bt = (const char *)sqlite3_column_text(st, 2);
            struct mrg_live_row r;
            memset(&r, 0, sizeof(r));
            r.proto = (uint8_t)sqlite3_column_int(st, 4);
            for (int d = 0; d < 2; d++) {
                r.pkts[d] = (uint64_t)sqlite3_column_int64(st, 5 + 2 * d);
                r.bytes[d] = (uint64_t)sqlite3_column_int64(st, 6 + 2 * d);
                r.syn[d] = (uint64_t)sqlite3_column_int64(st, 9 + d);
                r.synack[d] = (uint64_t)sqlite3_column_int64(st, 11 + d);
                r.ack[d] = (uint64_t)sqlite3_column_int64(st, 13 + d);
                r.fin[d] = (uint64_t)sqlite3_column_int64(st, 15 + d);
                r.rst[d] = (uint64_t)sqlite3_column_int64(st, 17 + d);
            }
            r.flags = (uint8_t)sqlite3_column_int(st, 19);
            r.epochs = (uint32_t)sqlite3_column_int64(st, 20);
            r.first_ns = (uint64_t)sqlite3_column_int64(st, 21);
            r.last_ns = (uint64_t)sqlite3_column_int64(st, 22);
            r.retired = (uint32_t)sqlite3_column_int64(st, 23);
            if (t == 1 && r.retired == 0)
                r.retired = 1; /* a fold counts at least its own session */
            if (!at || !bt || cmn_ip_parse(at, a) != 0 || cmn_ip_parse(bt, b) != 0 ||
                mrg_live_load_row(db->live, a, b, sqlite3_column_int(st, 1),
                                  sqlite3_column_int(st, 3), &r) != 0) {
                bad++;
                continue;
            }
            rows++;
        }
        sqlite3_finalize(st);
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db,
                           "SELECT ip, proto, port, role, confidence, first_ns, last_ns"
                           " FROM endpoints",
                           -1, &st, NULL) != SQLITE_OK)
        return s_fail(db, "read endpoints");
    uint64_t eps = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        uint8_t ip[16];
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (!t || cmn_ip_parse(t, ip) != 0 ||
            mrg_live_load_endpoint(
                db->live, ip, (uint8_t)sqlite3_column_int(st, 1),
                (uint16_t)sqlite3_column_int(st, 2), s_role_of(sqlite3_column_text(st, 3)),
                sqlite3_column_double(st, 4), (uint64_t)sqlite3_column_int64(st, 5),
                (uint64_t)sqlite3_column_int64(st, 6)) != 0) {
            bad++;
            continue;
        }
        eps++;
    }
    sqlite3_finalize(st);
    mrg_live_load_done(db->live);
    if (bad)
        CMN_LOG(WARN, "%s: %" PRIu64 " session or endpoint rows unreadable, left out", db->path,
                bad);
    mrg_live_detail_done(db->live);
    if (rows == 0 && eps == 0) {
        mrg_live_changes_done(db->live);
        return 0;
    }
    /* derived rows written again from the window: the same rows when the
     * database was consistent (one pass per merger start) */
    if (s_step_done(db, ST_BEGIN) != 0)
        return -EIO;
    if (sqlite3_exec(db->db,
                     "DELETE FROM edges; DELETE FROM services; DELETE FROM hosts;"
                     " DELETE FROM groups;",
                     NULL, NULL, NULL) != SQLITE_OK ||
        s_write_changes(db) != 0 || s_w_totals(db) != 0 || s_step_done(db, ST_COMMIT) != 0) {
        s_fail(db, "rewrite derived tables");
        s_step_done(db, ST_ROLLBACK);
        return -EIO;
    }
    CMN_LOG(INFO, "%s: live window reloaded: %" PRIu64 " session rows, %" PRIu64 " endpoints",
            db->path, rows, eps);
    return 0;
}

struct mrg_db *mrg_db_open(const char *path)
{
    struct mrg_db *db = calloc(1, sizeof(*db));
    if (!db)
        abort();
    db->path = strdup(path);
    if (!db->path)
        abort();
    char *err = NULL;
    /* one connection used by one thread: no SQLite mutexes */
    if (sqlite3_open_v2(path, &db->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        CMN_LOG(ERR, "cannot open database %s: %s", path,
                db->db ? sqlite3_errmsg(db->db) : "out of memory");
        goto err;
    }
    sqlite3_busy_timeout(db->db, 5000);
    /* A 64 MiB page cache (default 2 MiB): the per-epoch session and
     * endpoint rows otherwise re-read pages from the file. 16 KiB pages for
     * a new database (an existing one keeps its own): each epoch rewrites
     * rows spread over the whole of sessions, endpoints, edges and usage, so
     * fewer, fuller pages cost less per row (bench_merger: 52 k -> 58-62 k
     * deltas/s, 8-64 KiB alike; the database 20 % smaller). */
    if (sqlite3_exec(db->db,
                     "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                     " PRAGMA cache_size=-65536;",
                     NULL, NULL, &err) != SQLITE_OK) {
        CMN_LOG(ERR, "%s: not a database or not writable: %s", path, err ? err : "?");
        goto err;
    }
    if (sqlite3_create_function(db->db, "renkei_ipkey", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                s_fn_ipkey, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(db->db, "renkei_network", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                NULL, s_fn_network, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(db->db, "renkei_group", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                s_fn_group, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(db->db, "renkei_group_pair", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                NULL, s_fn_group_pair, NULL, NULL) != SQLITE_OK ||
        sqlite3_create_function(db->db, "renkei_srv_side", 22, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                NULL, s_fn_srv_side, NULL, NULL) != SQLITE_OK) {
        s_fail(db, "create functions");
        goto err;
    }
    if (sqlite3_exec(db->db, s_schema, NULL, NULL, &err) != SQLITE_OK) {
        CMN_LOG(ERR, "%s: cannot create schema: %s", path, err ? err : "?");
        goto err;
    }
    if (mrg_rollup_init(db->db) != 0)
        goto err;
    db->retain = (struct mrg_retain){MRG_RETAIN_MINUTES_DEFAULT, MRG_RETAIN_HOURS_DEFAULT,
                                     MRG_RETAIN_DAYS_DEFAULT};
    for (int i = 0; i < ST_COUNT; i++) {
        if (sqlite3_prepare_v2(db->db, s_sql[i], -1, &db->st[i], NULL) != SQLITE_OK) {
            CMN_LOG(ERR, "%s: prepare '%.60s': %s", path, s_sql[i], sqlite3_errmsg(db->db));
            goto err;
        }
    }
    if (s_check_version(db) != 0)
        goto err;
    db->memcap = MRG_LIVE_MEMCAP_DEFAULT;
    db->checkpoint_epochs = 1;
    if (s_load(db) != 0)
        goto err;
    return db;
err:
    sqlite3_free(err);
    mrg_db_close(&db);
    return NULL;
}

void mrg_db_close(struct mrg_db **dbp)
{
    if (!dbp || !*dbp)
        return;
    struct mrg_db *db = *dbp;
    if (db->live && mrg_live_detail_pending(db->live) && mrg_db_checkpoint(db) != 0)
        CMN_LOG(ERR,
                "%s: closed without the last checkpoint: per-session rows of the last"
                " epochs are missing",
                db->path);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(db->st[i]);
    /* closed even after a failed open: sqlite3_open_v2 allocates the handle */
    sqlite3_close(db->db);
    mrg_live_destroy(&db->live);
    free(db->path);
    free(db);
    *dbp = NULL;
}

void mrg_db_set_retention(struct mrg_db *db, const struct mrg_retain *r)
{
    assert(db && r);
    db->retain = *r;
}

void mrg_db_set_full_refresh(struct mrg_db *db, bool on)
{
    assert(db);
    db->full_refresh = on;
}

void mrg_db_set_checkpoint_epochs(struct mrg_db *db, uint32_t n)
{
    assert(db);
    db->checkpoint_epochs = n ? n : 1;
}

int mrg_db_checkpoint(struct mrg_db *db)
{
    assert(db);
    if (!mrg_live_detail_pending(db->live))
        return 0;
    if (s_step_done(db, ST_BEGIN) != 0)
        return -EIO;
    if (s_write_detail(db) != 0 || s_step_done(db, ST_COMMIT) != 0)
        return s_rollback(db);
    return 0;
}

void mrg_db_set_memcap(struct mrg_db *db, uint64_t bytes)
{
    assert(db);
    db->memcap = bytes ? bytes : MRG_LIVE_MEMCAP_DEFAULT;
    mrg_live_set_memcap(db->live, db->memcap);
}

void mrg_db_live_stats(struct mrg_db *db, struct mrg_live_stats *out)
{
    assert(db && out);
    mrg_live_get_stats(db->live, out);
}

void *mrg_db_handle(struct mrg_db *db)
{
    return db->db;
}

/* Roll back the transaction in hand; the live window, which had applied
 * the epoch, is rebuilt from the database (the epoch is lost, as it is in
 * the tables). */
static int s_rollback(struct mrg_db *db)
{
    s_step_done(db, ST_ROLLBACK);
    if (s_load(db) != 0)
        CMN_LOG(ERR, "%s: live window not reloaded after a failed commit", db->path);
    return -EIO;
}

/* The epoch's session keys seen so far: a session between IPs of two trackers
 * arrives from both, and only the first copy is stored. Open addressing over
 * pointers to the borrowed rows (unaligned: compared with memcmp), sized for
 * the whole epoch at its start. */
struct s_seen {
    const uint8_t **slot; /* row bytes or NULL */
    size_t mask;          /* slots - 1 */
};

/* Bytes 0..36 of a session row are its key (a_ip, b_ip, ports, proto); the
 * rest are counters and times. */
#define SESS_KEY_LEN 37

static int s_seen_init(struct s_seen *t, size_t n)
{
    size_t cap = 64;
    while (cap < 2 * n)
        cap <<= 1;
    t->slot = calloc(cap, sizeof(*t->slot));
    t->mask = cap - 1;
    return t->slot ? 0 : -ENOMEM;
}

/* NULL if the key of `row` is new (then remembered), else the first row. */
static const uint8_t *s_seen_add(struct s_seen *t, const uint8_t *row)
{
    uint64_t h = cmn_hash_bytes(row, SESS_KEY_LEN, 0);
    for (size_t i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
        if (!t->slot[i]) {
            t->slot[i] = row;
            return NULL;
        }
        if (memcmp(t->slot[i], row, SESS_KEY_LEN) == 0)
            return t->slot[i];
    }
}

static const char *s_role_name(uint8_t role)
{
    switch (role) {
        case CMN_ROLE_SERVER:
            return "server";
        case CMN_ROLE_CLIENT:
            return "client";
        default:
            return "unknown";
    }
}

/* Replace endpoint row e (confidence `c`, clamped) in the endpoints table. */
static int s_put_endpoint(struct mrg_db *db, const struct cmn_endpoint_rec *e, float c)
{
    char ip[CMN_IP_STRLEN];
    cmn_ip_format(e->ip, ip, sizeof(ip));
    sqlite3_stmt *s = db->st[ST_ENDPOINT_REPLACE];
    sqlite3_bind_text(s, 1, ip, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, e->proto);
    sqlite3_bind_int(s, 3, e->port);
    sqlite3_bind_text(s, 4, s_role_name(e->role), -1, SQLITE_STATIC);
    sqlite3_bind_double(s, 5, (double)c);
    const uint32_t u32[] = {
        e->peers,         e->peer_ports,  e->sessions,           e->synack_sent, e->synack_recv,
        e->syn_sent,      e->syn_recv,    e->rst_sent,           e->rst_recv,    e->init_sessions,
        e->resp_sessions, e->epochs_seen, e->lower_port_sessions};
    for (int i = 0; i < 13; i++)
        s_bind_u64(s, 6 + i, u32[i]);
    s_bind_u64(s, 19, e->pkts_out);
    s_bind_u64(s, 20, e->pkts_in);
    s_bind_u64(s, 21, e->bytes_out);
    s_bind_u64(s, 22, e->bytes_in);
    s_bind_u64(s, 23, e->first_ns);
    s_bind_u64(s, 24, e->last_ns);
    return s_step_done(db, ST_ENDPOINT_REPLACE);
}

static const char *s_event_name(uint8_t kind, char *buf, size_t len)
{
    switch (kind) {
        case CMN_EVENT_SYN_FLOOD:
            return "syn_flood";
        case CMN_EVENT_PORT_SCAN:
            return "port_scan";
        case CMN_EVENT_STEALTH_SCAN:
            return "stealth_scan";
        default:
            snprintf(buf, len, "event_%u", kind);
            return buf;
    }
}

static int s_put_event(struct mrg_db *db, const struct cmn_event_rec *ev)
{
    static const uint8_t zero[16];
    char kb[16];
    sqlite3_stmt *s = db->st[ST_EVENT_REPLACE];
    sqlite3_bind_text(s, 1, s_event_name(ev->kind, kb, sizeof(kb)), -1, SQLITE_TRANSIENT);
    s_bind_ip(s, 2, ev->target_ip);
    sqlite3_bind_int(s, 3, ev->port);
    sqlite3_bind_int(s, 4, ev->proto);
    if (memcmp(ev->actor_ip, zero, 16) == 0)
        sqlite3_bind_text(s, 5, "", -1, SQLITE_STATIC); /* many sources */
    else
        s_bind_ip(s, 5, ev->actor_ip);
    s_bind_u64(s, 6, ev->source_count);
    s_bind_u64(s, 7, ev->packets);
    s_bind_u64(s, 8, ev->port_count);
    s_bind_u64(s, 9, ev->first_ns);
    s_bind_u64(s, 10, ev->last_ns);
    return s_step_done(db, ST_EVENT_REPLACE);
}

static int s_refresh(struct mrg_db *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        CMN_LOG(ERR, "%s: refresh derived tables: %s", db->path, err ? err : "?");
        sqlite3_free(err);
        return -EIO;
    }
    return 0;
}

int mrg_db_refresh_full(struct mrg_db *db)
{
    assert(db);
    return s_refresh(db, s_refresh_full);
}

int mrg_db_refresh(struct mrg_db *db)
{
    return mrg_db_refresh_full(db);
}

int mrg_db_commit_epoch(struct mrg_db *db, uint64_t epoch, uint64_t epoch_ns, bool final,
                        const struct mrg_part *parts, size_t n_parts, struct mrg_epoch_stats *out)
{
    assert(db && (parts || n_parts == 0));
    struct mrg_epoch_stats st = {0};
    struct mrg_live *lv = db->live;
    uint64_t t[8], live = 0, l0;
    t[0] = cmn_mono_ns();
    if (s_step_done(db, ST_BEGIN) != 0)
        return -EIO;
    _Static_assert(offsetof(struct cmn_session_rec, a_ip) == 0 &&
                       offsetof(struct cmn_session_rec, b_ip) == 16 &&
                       offsetof(struct cmn_session_rec, a_port) == 32 &&
                       offsetof(struct cmn_session_rec, b_port) == 34 &&
                       offsetof(struct cmn_session_rec, proto) == 36,
                   "session key layout");
    mrg_live_epoch_begin(lv);
    /* endpoint rows first: each delta is then decided at once, with the
     * endpoints as this epoch leaves them */
    for (size_t p = 0; p < n_parts; p++) {
        const struct mrg_part *pt = &parts[p];
        for (size_t i = 0; i < pt->n_endpoints; i++) {
            struct cmn_endpoint_rec e;
            memcpy(&e, (const uint8_t *)pt->endpoints + i * sizeof(e), sizeof(e));
            float c = e.confidence;
            /* wire floats may be NaN or out of range; clamp rather than store garbage */
            if (!(c >= 0.0f))
                c = 0.0f;
            if (c > 1.0f)
                c = 1.0f;
            l0 = cmn_mono_ns();
            int now = mrg_live_put_endpoint(lv, &e, c, db->checkpoint_epochs > 1);
            live += cmn_mono_ns() - l0;
            if (now < 0) {
                st.refused++;
                continue;
            }
            if (now && s_put_endpoint(db, &e, c) != 0)
                return s_rollback(db);
            st.endpoints++;
        }
        for (size_t i = 0; i < pt->n_events; i++) {
            struct cmn_event_rec ev;
            memcpy(&ev, (const uint8_t *)pt->events + i * sizeof(ev), sizeof(ev));
            if (s_put_event(db, &ev) != 0)
                return s_rollback(db);
            st.events++;
        }
    }
    t[1] = cmn_mono_ns();
    l0 = t[1];
    size_t n_sess = 0;
    for (size_t p = 0; p < n_parts; p++)
        n_sess += parts[p].n_sessions;
    struct s_seen seen;
    if (s_seen_init(&seen, n_sess) != 0) {
        CMN_LOG(ERR, "%s: out of memory for %zu session keys", db->path, n_sess);
        return s_rollback(db);
    }
    for (size_t p = 0; p < n_parts; p++) {
        const struct mrg_part *pt = &parts[p];
        /* arrays may sit unaligned inside protobuf buffers: copy each row */
        for (size_t i = 0; i < pt->n_sessions; i++) {
            const uint8_t *raw = (const uint8_t *)pt->sessions + i * sizeof(struct cmn_session_rec);
            const uint8_t *first = s_seen_add(&seen, raw);
            if (first) {
                /* a second copy of a shared session; mismatched when its
                 * counters differ from the first */
                st.duplicates++;
                if (memcmp(first + SESS_KEY_LEN, raw + SESS_KEY_LEN,
                           sizeof(struct cmn_session_rec) - SESS_KEY_LEN) != 0)
                    st.mismatched++;
                continue;
            }
            struct cmn_session_rec r;
            memcpy(&r, raw, sizeof(r));
            if (mrg_live_add_session(lv, &r) != 0) {
                st.refused++;
                continue;
            }
            st.sessions++;
            st.packets += r.pkts[0] + r.pkts[1];
            st.bytes += r.bytes[0] + r.bytes[1];
        }
    }
    free(seen.slot);
    t[2] = cmn_mono_ns();
    live += t[2] - l0;
    /* the derived rows this commit changed, and the epoch's usage rows */
    l0 = cmn_mono_ns();
    mrg_live_derive(lv);
    live += cmn_mono_ns() - l0;
    db->epoch_res = (uint64_t)mrg_rollup_res(epoch_ns);
    db->epoch_start = epoch * epoch_ns;
    if (s_write_changes(db) != 0 || s_w_totals(db) != 0)
        return s_rollback(db);
    t[3] = cmn_mono_ns();

    char now[32];
    s_now_text(now, sizeof(now));
    sqlite3_stmt *s = db->st[ST_EPOCH_UPSERT];
    s_bind_u64(s, 1, epoch);
    s_bind_u64(s, 2, epoch * epoch_ns);
    s_bind_u64(s, 3, (epoch + 1) * epoch_ns);
    s_bind_u64(s, 4, st.packets);
    s_bind_u64(s, 5, st.bytes);
    s_bind_u64(s, 6, st.sessions);
    s_bind_u64(s, 7, st.duplicates);
    s_bind_u64(s, 8, n_parts);
    sqlite3_bind_int(s, 9, final ? 1 : 0);
    sqlite3_bind_text(s, 10, now, -1, SQLITE_TRANSIENT);
    if (s_step_done(db, ST_EPOCH_UPSERT) != 0 ||
        mrg_rollup_usage_done(db->db, epoch, epoch_ns) != 0 ||
        mrg_rollup_roll(db->db, &db->retain, epoch, epoch_ns) != 0)
        return s_rollback(db);
    t[6] = cmn_mono_ns();
    /* retirement: the sessions idle for the recent window folded per edge,
     * idle client endpoints deleted; memory past the memcap's mark retired
     * oldest first */
    uint64_t cut = 0;
    bool retire = mrg_rollup_cut(db->db, &db->retain, epoch, epoch_ns, &cut);
    l0 = cmn_mono_ns();
    mrg_live_retire(lv, retire, cut);
    live += cmn_mono_ns() - l0;
    if (s_write_changes(db) != 0 || mrg_rollup_prune(db->db, &db->retain, epoch, epoch_ns) != 0)
        return s_rollback(db);
    t[7] = cmn_mono_ns();
    /* the checkpoint set every checkpoint_epochs commits and with the final
     * results */
    if ((final || ++db->since_checkpoint >= db->checkpoint_epochs) && s_write_detail(db) != 0)
        return s_rollback(db);
    t[4] = cmn_mono_ns();
    uint64_t dedup = mrg_db_meta_u64(db, "shared_sessions_deduplicated", 0) + st.duplicates;
    if (mrg_db_meta_set_u64(db, "shared_sessions_deduplicated", dedup) != 0 ||
        mrg_db_meta_set_u64(db, "last_epoch", epoch) != 0 ||
        mrg_db_meta_set_u64(db, "epoch_ns", epoch_ns) != 0)
        return s_rollback(db);
    if (db->full_refresh && s_refresh(db, s_refresh_full) != 0)
        return s_rollback(db);
    if (s_step_done(db, ST_COMMIT) != 0)
        return s_rollback(db);
    t[5] = cmn_mono_ns();
    CMN_LOG(INFO,
            "epoch %" PRIu64 ": %" PRIu64 " endpoints + %" PRIu64 " events %.1f ms, %" PRIu64
            " sessions %.1f ms, derive and write %.1f ms, roll-up %.1f ms, retire %.1f ms,"
            " session detail %.1f ms, commit %.1f ms",
            epoch, st.endpoints, st.events, (double)(t[1] - t[0]) / 1e6, st.sessions,
            (double)(t[2] - t[1]) / 1e6, (double)(t[3] - t[2]) / 1e6, (double)(t[6] - t[3]) / 1e6,
            (double)(t[7] - t[6]) / 1e6, (double)(t[4] - t[7]) / 1e6, (double)(t[5] - t[4]) / 1e6);
    if (st.refused)
        CMN_LOG(WARN, "epoch %" PRIu64 ": %" PRIu64 " rows refused by the memcap", epoch,
                st.refused);
    st.live_ns = live;
    st.sql_ns = t[5] - t[0] - live;
    if (out)
        *out = st;
    return 0;
}

int mrg_db_put_stats(struct mrg_db *db, const char *kind, uint32_t node_id, const char *name,
                     bool final, const struct cmn_counter *c, size_t n)
{
    char now[32];
    s_now_text(now, sizeof(now));
    if (s_step_done(db, ST_BEGIN) != 0)
        return -EIO;
    for (size_t i = 0; i < n; i++) {
        if (!c[i].name)
            continue;
        sqlite3_stmt *s = db->st[ST_STATS_UPSERT];
        sqlite3_bind_text(s, 1, kind, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 2, node_id);
        sqlite3_bind_text(s, 3, name ? name : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 4, c[i].name, -1, SQLITE_TRANSIENT);
        s_bind_u64(s, 5, c[i].value);
        sqlite3_bind_int(s, 6, final ? 1 : 0);
        sqlite3_bind_text(s, 7, now, -1, SQLITE_TRANSIENT);
        if (s_step_done(db, ST_STATS_UPSERT) != 0)
            return s_rollback(db);
    }
    if (s_step_done(db, ST_COMMIT) != 0)
        return s_rollback(db);
    return 0;
}

int mrg_db_meta_set_u64(struct mrg_db *db, const char *key, uint64_t value)
{
    sqlite3_stmt *s = db->st[ST_META_SET];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    s_bind_u64(s, 2, value);
    return s_step_done(db, ST_META_SET);
}

int mrg_db_meta_set_text(struct mrg_db *db, const char *key, const char *value)
{
    sqlite3_stmt *s = db->st[ST_META_SET];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, value, -1, SQLITE_TRANSIENT);
    return s_step_done(db, ST_META_SET);
}

uint64_t mrg_db_meta_u64(struct mrg_db *db, const char *key, uint64_t def)
{
    sqlite3_stmt *s = db->st[ST_META_GET];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    uint64_t v = def;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        v = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return v;
}

int mrg_db_last_epoch(struct mrg_db *db, uint64_t since_ns, uint64_t *epoch)
{
    sqlite3_stmt *s = NULL;
    /* committed_at is RFC 3339 UTC text, whole seconds: compares as text */
    if (sqlite3_prepare_v2(db->db,
                           "SELECT MAX(epoch) FROM epochs WHERE final = 0 AND committed_at >= "
                           "strftime('%Y-%m-%dT%H:%M:%SZ', ?1 / 1000000000, 'unixepoch')",
                           -1, &s, NULL) != SQLITE_OK) {
        CMN_LOG(ERR, "%s", sqlite3_errmsg(db->db));
        return -EIO;
    }
    sqlite3_bind_int64(s, 1, (sqlite3_int64)since_ns);
    int rc = sqlite3_step(s);
    int found = rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL;
    if (found)
        *epoch = (uint64_t)sqlite3_column_int64(s, 0);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        CMN_LOG(ERR, "%s", sqlite3_errmsg(db->db));
        found = -EIO;
    }
    sqlite3_finalize(s);
    return found;
}

bool mrg_db_meta_text_is(struct mrg_db *db, const char *key, const char *value)
{
    sqlite3_stmt *s = db->st[ST_META_GET];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    bool is = false;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_TEXT)
        is = strcmp((const char *)sqlite3_column_text(s, 0), value) == 0;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return is;
}

long mrg_db_load_hosts_file(struct mrg_db *db, const char *path)
{
    char err[512];
    FILE *f = cmn_file_open(path, "hosts_file", err, sizeof(err)); /* no FIFO, device, dir */
    if (!f) {
        int e = errno;
        CMN_LOG(ERR, "%s", err);
        return -e;
    }
    long n = 0, lineno = 0;
    char line[1024];
    if (s_step_done(db, ST_BEGIN) != 0) {
        fclose(f);
        return -EIO;
    }
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) { /* its tail must not read as a line */
            CMN_LOG(WARN, "%s:%ld: longer than %zu bytes, skipped", path, lineno, sizeof(line) - 2);
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n')
                ;
            continue;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *save = NULL;
        char *addr = strtok_r(line, " \t\r\n", &save);
        char *name = addr ? strtok_r(NULL, " \t\r\n", &save) : NULL;
        if (!addr)
            continue;
        uint8_t ip[16];
        if (!name || cmn_ip_parse(addr, ip) != 0) {
            CMN_LOG(WARN, "%s:%ld: expected 'address name [aliases]', skipped", path, lineno);
            continue;
        }
        sqlite3_stmt *s = db->st[ST_NAME_INSERT];
        s_bind_ip(s, 1, ip);
        sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
        if (s_step_done(db, ST_NAME_INSERT) != 0) {
            fclose(f);
            return s_rollback(db);
        }
        n += sqlite3_changes(db->db); /* 0 when the address already has a name */
    }
    fclose(f);
    if (s_step_done(db, ST_NAME_APPLY) != 0)
        return s_rollback(db);
    if (s_step_done(db, ST_COMMIT) != 0)
        return s_rollback(db);
    /* hosts rows written later take their names from the live window */
    if (s_load_names(db) != 0)
        return -EIO;
    return n;
}

int mrg_db_load_services(struct mrg_db *db, const struct cmn_service_entry *e, size_t n)
{
    if (s_step_done(db, ST_BEGIN) != 0)
        return -EIO;
    if (s_step_done(db, ST_SVC_CLEAR) != 0)
        return s_rollback(db);
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *s = db->st[ST_SVC_INSERT];
        sqlite3_bind_int(s, 1, e[i].proto);
        sqlite3_bind_int(s, 2, e[i].port);
        sqlite3_bind_text(s, 3, e[i].name, -1, SQLITE_TRANSIENT);
        if (s_step_done(db, ST_SVC_INSERT) != 0)
            return s_rollback(db);
    }
    if (s_step_done(db, ST_COMMIT) != 0)
        return s_rollback(db);
    return 0;
}

/* A name from the wire we are willing to store: what cmn_dns produces. */
static bool s_dns_name_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e || n >= CMN_DNS_NAME_MAX)
            return false;
    return n > 0;
}

int mrg_db_put_dns_names(struct mrg_db *db, const Renkei__DnsNames *m, uint32_t max_per_ip,
                         uint64_t seq_done, struct mrg_dns_stats *st)
{
    struct mrg_dns_stats z = {0};
    if (!st)
        st = &z;
    if (m->n_names == 0 && seq_done == 0)
        return 0;
    if (s_step_done(db, ST_BEGIN) != 0)
        return -EIO;
    if (seq_done != 0 && mrg_db_meta_set_u64(db, "dns_seq", seq_done) != 0)
        return s_rollback(db);
    for (size_t i = 0; i < m->n_names; i++) {
        const Renkei__DnsName *d = m->names[i];
        const char *rt = cmn_dns_rtype_name(d->rtype);
        if (d->ip.len != 16 || !d->name || !s_dns_name_ok(d->name) || rt[0] == '?' ||
            d->ts_ns > (uint64_t)INT64_MAX) {
            st->invalid++;
            continue;
        }
        sqlite3_stmt *s = db->st[ST_DNS_UPSERT];
        s_bind_ip(s, 1, d->ip.data);
        sqlite3_bind_text(s, 2, d->name, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 3, rt, -1, SQLITE_STATIC);
        s_bind_u64(s, 4, d->ts_ns);
        sqlite3_bind_int64(s, 5, max_per_ip);
        if (s_step_done(db, ST_DNS_UPSERT) != 0)
            return s_rollback(db);
        if (sqlite3_changes(db->db) > 0)
            st->stored++;
        else
            st->capped++;
    }
    if (s_step_done(db, ST_COMMIT) != 0)
        return s_rollback(db);
    return 0;
}

int mrg_db_set_sites(struct mrg_db *db, const struct cmn_sites *sites)
{
    assert(db && sites);
    sqlite3_stmt *ins = NULL;
    if (sqlite3_prepare_v2(db->db, "INSERT INTO sites(name, kind, cidr) VALUES (?1, ?2, ?3)", -1,
                           &ins, NULL) != SQLITE_OK)
        return s_fail(db, "INSERT INTO sites");
    if (s_step_done(db, ST_BEGIN) != 0) {
        sqlite3_finalize(ins);
        return -EIO;
    }
    int rc = sqlite3_exec(db->db, "DELETE FROM sites", NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
    for (size_t i = 0; rc == 0 && i < cmn_sites_count(sites); i++) {
        for (size_t j = 0; rc == 0 && j < cmn_sites_cidr_count(sites, i); j++) {
            sqlite3_bind_text(ins, 1, cmn_sites_name(sites, i), -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 2, cmn_sites_kind(sites, i), -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 3, cmn_sites_cidr(sites, i, j), -1, SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE)
                rc = -EIO;
            sqlite3_reset(ins);
        }
    }
    sqlite3_finalize(ins);
    if (rc != 0) {
        CMN_LOG(ERR, "%s: sites: %s", db->path, sqlite3_errmsg(db->db));
        return s_rollback(db);
    }
    if (s_step_done(db, ST_COMMIT) != 0)
        return s_rollback(db);
    return 0;
}
