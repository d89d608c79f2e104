/* SPDX-License-Identifier: MIT
 * mrg_db: the renkei analysis database (SQLite, WAL), schema in docs/SCHEMA.md.
 * Owns one read-write connection, its prepared statements and the merger's
 * live window (mrg_live.h: sessions, endpoints and what is derived from them,
 * in memory, reloaded from the tables when the database is opened). The
 * merger node is the only writer: it calls mrg_db_commit_epoch() once per
 * complete epoch (one transaction: sessions deduplicated and applied to the
 * live window, endpoints and events replaced, then only the rows that
 * changed written: sessions, edges, services, hosts, groups, meta totals,
 * usage rows, retired folds, the epoch row). Single-threaded; readers
 * (reporter, sqlite3 CLI) may read while it writes. Times are ns since the
 * Unix epoch; IPs are stored as export text.
 */
#ifndef MRG_DB_H
#define MRG_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmn_names.h"
#include "cmn_record.h"
#include "cmn_wire.h"
#include "mrg_live.h"
#include "mrg_rollup.h"

#define MRG_SCHEMA_VERSION 1

struct mrg_db;
struct cmn_sites;

/* One tracker's share of an epoch (all its chunks concatenated or one chunk;
 * arrays borrowed for the duration of the call, need not be aligned). */
struct mrg_part {
    uint32_t tracker_id;                      /* sender, for logs */
    const struct cmn_session_rec *sessions;   /* session epoch deltas */
    size_t n_sessions;                        /* count */
    const struct cmn_endpoint_rec *endpoints; /* cumulative endpoint rows (replace) */
    size_t n_endpoints;                       /* count */
    const struct cmn_event_rec *events;       /* cumulative event rows (replace) */
    size_t n_events;                          /* count */
};

/* What one commit did. */
struct mrg_epoch_stats {
    uint64_t sessions;   /* distinct sessions stored (after dedup) */
    uint64_t duplicates; /* second copies of a shared session dropped */
    uint64_t mismatched; /* of those, copies whose counters differed from the first */
    uint64_t packets;    /* packets of the stored sessions */
    uint64_t bytes;      /* IP bytes of the stored sessions */
    uint64_t endpoints;  /* endpoint rows replaced */
    uint64_t events;     /* event rows replaced */
    uint64_t refused;    /* session deltas and endpoint rows the memcap refused */
    uint64_t live_ns;    /* wall time in the live window (C: dedup, deltas, rule, retirement) */
    uint64_t sql_ns;     /* wall time in SQLite (writes, roll-ups, commit) */
};

/* Open (creating if needed) the database at `path`: WAL, schema, statements.
 * Fails (NULL, after logging why) if the file is not a renkei database or
 * has another schema version. */
struct mrg_db *mrg_db_open(const char *path);

/* Close; accepts NULL and NULLs the caller's pointer. */
void mrg_db_close(struct mrg_db **db);

/* Commit epoch `epoch` (length `epoch_ns`) from `n_parts` tracker parts in one
 * transaction. `final` marks the end-of-stream flush. Returns 0 or -EIO (the
 * transaction is rolled back). st may be NULL. */
int mrg_db_commit_epoch(struct mrg_db *db, uint64_t epoch, uint64_t epoch_ns, bool final,
                        const struct mrg_part *parts, size_t n_parts,
                        struct mrg_epoch_stats *st /* OUT */);

/* Rebuild edges, services, hosts, groups and meta totals in SQL from all of
 * sessions_all, endpoints and host names (the edge rule through the SQL
 * function renkei_srv_side). mrg_db_commit_epoch instead writes the rows the
 * live window changed (the same rows); this is the reference. It leaves the
 * live window as it is. 0 or -EIO. mrg_db_refresh is the same function
 * (older name). */
int mrg_db_refresh_full(struct mrg_db *db);
int mrg_db_refresh(struct mrg_db *db);

/* Make mrg_db_commit_epoch rebuild the derived tables in SQL after every
 * epoch (mrg_db_refresh_full, after writing the live window's rows: for
 * comparisons). Default off. */
void mrg_db_set_full_refresh(struct mrg_db *db, bool on);

/* Memory cap of the live window in bytes (merger key memcap_mb; 0: the
 * default MRG_LIVE_MEMCAP_DEFAULT). Past it, new sessions are refused; past
 * MRG_LIVE_EVICT_AT of it, the oldest live sessions retire early (mrg_live.h). */
void mrg_db_set_memcap(struct mrg_db *db, uint64_t bytes);

/* Write the per-session detail (sessions, sessions_retired, endpoint rows
 * of non-servers) every n commits instead of every commit (default 1: the
 * tables after each commit are exactly as docs/SCHEMA.md defines them). With
 * n > 1 those three tables lag by up to n - 1 epochs (the derived tables,
 * services' endpoint rows and usage never do); the final results, an
 * mrg_db_checkpoint and mrg_db_close write them whole. Not a merger key: a
 * merger restarted after a crash resumes from its tables, so the daemon
 * writes them whole at every commit (docs/OPERATIONS.md "Restarts");
 * bench_merger --checkpoint-epochs and test_mrg_refresh use it. */
void mrg_db_set_checkpoint_epochs(struct mrg_db *db, uint32_t n);

/* Write the per-session detail waiting for a checkpoint now, in its own
 * transaction. 0 or -EIO. */
int mrg_db_checkpoint(struct mrg_db *db);

/* The live window's counters (memory, rows, evicted, refused). */
void mrg_db_live_stats(struct mrg_db *db, struct mrg_live_stats *out /* OUT */);

/* Store counters of one node into node_stats (upsert by kind, id, counter),
 * in one transaction. kind: "collector", "splitter", "tracker", "merger". */
int mrg_db_put_stats(struct mrg_db *db, const char *kind, uint32_t node_id, const char *name,
                     bool final, const struct cmn_counter *c, size_t n);

/* meta key/value (value stored as integer or text). */
int mrg_db_meta_set_u64(struct mrg_db *db, const char *key, uint64_t value);
int mrg_db_meta_set_text(struct mrg_db *db, const char *key, const char *value);

/* Integer meta value, or `def` when absent. */
uint64_t mrg_db_meta_u64(struct mrg_db *db, const char *key, uint64_t def);

/* Whether meta `key` holds the text `value`. */
bool mrg_db_meta_text_is(struct mrg_db *db, const char *key, const char *value);

/* The highest non-final epoch committed since `since_ns` (wall clock, ns:
 * the run's start), for a merger resuming a run. 1 with *epoch set, 0 when
 * none, -EIO on a database error. Each epoch's commit is one transaction, so
 * what this returns is in the database whole. */
int mrg_db_last_epoch(struct mrg_db *db, uint64_t since_ns, uint64_t *epoch /* OUT */);

/* Read /etc/hosts-format `path` (address, canonical name, aliases; # comments)
 * into host_names (first name per address wins) and apply to hosts.name.
 * Returns the number of names or -errno after logging. */
long mrg_db_load_hosts_file(struct mrg_db *db, const char *path);

/* Replace service_names with the n entries of a services file (cmn_names.h),
 * in one transaction. 0 or -EIO. */
int mrg_db_load_services(struct mrg_db *db, const struct cmn_service_entry *e, size_t n);

#define MRG_DNS_NAMES_PER_IP 16 /* names kept per address in dns_names */

/* What one mrg_db_put_dns_names did (added to the caller's counters). */
struct mrg_dns_stats {
    uint64_t stored;  /* names inserted or refreshed */
    uint64_t capped;  /* new names refused: the address has max_per_ip already */
    uint64_t invalid; /* entries with a bad address length, name or rtype */
};

/* Upsert the names of one DnsNames message into dns_names (min first_ns,
 * max last_ns, seen + 1), at most max_per_ip names per address, in one
 * transaction, which also sets meta dns_seq to seq_done when that is not 0
 * (the splitter's numbered messages stored so far, mrg_node). Adds to *st
 * (may be NULL). 0 or -EIO. */
int mrg_db_put_dns_names(struct mrg_db *db, const Renkei__DnsNames *m, uint32_t max_per_ip,
                         uint64_t seq_done, struct mrg_dns_stats *st);
/* Replace the contents of table `sites` with `sites` (cmn_sites.h: the
 * merger's sites_file), one row per (site, prefix) in the file's order, in
 * one transaction. Returns 0 or -EIO after logging. */
int mrg_db_set_sites(struct mrg_db *db, const struct cmn_sites *sites);

/* Retention of live sessions and usage rows (default MRG_RETAIN_*_DEFAULT),
 * applied from the next epoch commit on (mrg_rollup.h). */
void mrg_db_set_retention(struct mrg_db *db, const struct mrg_retain *r);

/* The underlying connection, for tests and read-only queries. Borrowed. */
void *mrg_db_handle(struct mrg_db *db);

#endif /* MRG_DB_H */
