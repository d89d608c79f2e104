/* SPDX-License-Identifier: MIT
 * mrg_node: the merger process's loop. Binds a ZeroMQ PULL socket, receives
 * Hello / TrackerResult / Stats / EndOfStream from the splitter, trackers and
 * collectors (docs/ARCHITECTURE.md), holds each epoch's result chunks until
 * all N trackers sent all of theirs (N of the shard map the epoch was cut
 * with: the splitter's Hello{map_change} says from which epoch a new count
 * holds; kept in the database), commits it through mrg_db, and at the end
 * of a run checks the record accounting of every pipe. Liveness
 * (docs/OPERATIONS.md): the splitter and each tracker of a run that sent
 * nothing (no message of any kind, Heartbeats included) for
 * liveness_timeout seconds, checked with the socket drained, is marked down
 * and logged; held epochs no longer wait for a down tracker (they are
 * committed incomplete), a down tracker counts as ended for the end of the
 * run, and with exit_on_eos (one run, `renkei analyze`) any node down ends
 * the run at once. A run that ended
 * with a node down is `partial` and lossy (its pipes are unverifiable). The
 * merger writes meta.merger_heartbeat_ns every second so `renkei analyze`
 * and `renkei status` see a merger that stopped. One thread owns a
 * node; only mrg_node_stop() may be called from elsewhere (signal handlers).
 * Metrics (cfg.metrics): whenever the merger stores its own node_stats rows
 * (every stats_interval, at the end of a run: its counters and the run's
 * accounting rows) it publishes the same names and values to its /metrics,
 * with epoch, lag_seconds, peer_last_heard_seconds{peer="splitter" /
 * "tracker.<i>"} and final.
 */
#ifndef MRG_NODE_H
#define MRG_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cmn_sites;
struct cmn_metrics;

struct mrg_node_config {
    const char *listen;            /* ZeroMQ endpoint to bind, e.g. "tcp://0.0.0.0:5560" */
    const char *db_path;           /* SQLite database, created if missing */
    uint32_t trackers;             /* trackers per epoch; 0: from the splitter's Hello */
    const char *hosts_file;        /* /etc/hosts-format names, or NULL */
    const char *services_file;     /* services names (common/cmn_names.h), or NULL */
    const struct cmn_sites *sites; /* sites_file, loaded (borrowed), or NULL: table untouched */
    bool exit_on_eos;              /* return from mrg_node_run after the first run ends */
    uint32_t stats_interval;       /* seconds between stats log lines / merger node_stats; 0 off */
    void *zmq_ctx;                 /* borrowed ZeroMQ context (tests, inproc); NULL: own one */
    uint32_t retain_minutes;     /* live sessions, per-epoch usage; 0 with all three 0: defaults */
    uint32_t retain_hours;       /* hourly usage rows (mrg_rollup.h) */
    uint32_t retain_days;        /* daily usage rows */
    uint32_t liveness_timeout;   /* seconds; 0: never mark a node down */
    uint64_t memcap;             /* bytes of the live window (mrg_live.h); 0: its default */
    struct cmn_metrics *metrics; /* borrowed /metrics endpoint (cmn_metrics.h); NULL: off */
    const char *ack_listen;      /* PUB endpoint for Acks to trackers and splitter (replay,
                                    docs/OPERATIONS.md "Restarts"); NULL: none, and a run a
                                    killed merger left is marked interrupted, not resumed */
};

/* Result of the accounting at the end of a run. */
struct mrg_accounting {
    bool ended;                 /* a run ended (splitter and all trackers sent EOS) */
    uint64_t records_lost;      /* sum of all losses below */
    uint64_t collectors;        /* collectors accounted for */
    uint64_t trackers;          /* trackers accounted for */
    uint64_t epochs_incomplete; /* epochs committed without every tracker's chunks */
    uint64_t unverifiable;      /* pipes whose counts were missing (treated as lost) */
    uint64_t nodes_down;        /* splitter, trackers and collectors down when it ended */
    char where[512];            /* "collector 1: 10 (sent 100, received 90); ..." or "" */
};

struct mrg_node;

/* Open the database, load hosts_file and services_file, replace the sites
 * table with `sites`, bind the socket. NULL after logging (a services_file
 * with a bad line: every bad line). */
struct mrg_node *mrg_node_new(const struct mrg_node_config *cfg);

/* Receive and process until stopped or (exit_on_eos) the run ended. Returns an
 * exit code: CMN_EXIT_OK, CMN_EXIT_LOST (records lost in the run that ended),
 * CMN_EXIT_ERROR (database or socket failure). */
int mrg_node_run(struct mrg_node *node);

/* Handle one received message, `len` bytes as they came off the socket
 * (borrowed; any bytes): decode, dispatch, commit what is complete, and end
 * the run when the splitter and every tracker sent EndOfStream. mrg_node_run
 * calls it for every message; fuzz_merger feeds it message sequences.
 * Returns 1 when this message ended a run, 0 otherwise, -EIO on a database
 * failure (the daemon stops). */
int mrg_node_handle(struct mrg_node *n, const uint8_t *bytes, size_t len);

/* mrg_node_handle of a message from CURVE peer `peer` (its ZAP User-Id, the
 * keyring name; NULL: not over CURVE): a message speaking for a node the
 * peer's keyring entry does not allow (cmn_curve_may_send; the splitter may
 * forward collectors' Stats and DnsNames) is dropped and counted
 * (messages_impostor). */
int mrg_node_handle_from(struct mrg_node *n, const uint8_t *bytes, size_t len, const char *peer);

/* Mark the nodes of the current run silent since before now_ns -
 * liveness_timeout down (monotonic ns; mrg_node_run calls it with the socket
 * drained), commit what that completes, and end the run when it can. Same
 * return as mrg_node_handle. For tests. */
int mrg_node_check_liveness(struct mrg_node *n, uint64_t now_ns);

/* Ask mrg_node_run to return after the message in hand; async-signal-safe.
 * Complete epochs are committed; incomplete ones are left out and logged. */
void mrg_node_stop(struct mrg_node *node);

/* Accounting of the last run that ended (ended == false if none). */
void mrg_node_accounting(const struct mrg_node *node, struct mrg_accounting *out /* OUT */);

/* Close socket and database, free; accepts NULL and NULLs the pointer. */
void mrg_node_destroy(struct mrg_node **node);

#endif /* MRG_NODE_H */
