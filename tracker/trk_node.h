/* SPDX-License-Identifier: MIT
 * trk_node: the renkei-tracker process without main(): binds a PULL socket
 * for the splitter, connects a PUSH socket to the merger and runs the message
 * sequence of docs/ARCHITECTURE.md: Hello; then ShardMap, RecordBatch,
 * EpochFlush and EndOfStream from the splitter; TrackerResult chunks per
 * epoch, a final TrackerResult, final Stats and EndOfStream to the merger.
 *
 * Robustness choices: records that arrive before the ShardMap are tabled
 * normally (the session table needs no map); only an EpochFlush before any
 * ShardMap loses endpoint evidence (counted in protocol_errors). Malformed
 * envelopes and batches are counted and dropped. Sequence gaps count
 * batches_lost; EndOfStream totals give records_lost.
 *
 * Checkpoints (cfg.state_dir, cfg.ack_listen; docs/OPERATIONS.md "A tracker
 * killed"): right after each epoch's results are sent, the tables, counters,
 * sequence numbers, shard map and what is kept for the merger go to the
 * checkpoint file (cmn_ckpt.h), and a TrackerAck says so to the splitter,
 * which keeps the pipe from there on. A tracker that starts and finds a
 * checkpoint loads it, tells the merger (Hello restarted: results from the
 * checkpoint's next seq on are void and come again), and drops what the
 * splitter sends until the splitter's Hello{restarted} begins the replay of
 * everything after the checkpoint (awaiting; past TRK_AWAIT_REPLAY_S it
 * gives up waiting and counts the gap). The file is removed at the end of
 * the stream.
 *
 * Metrics (cfg.metrics): the counters of the final Stats are also published
 * to the node's /metrics, at start, at every stats line and at end of
 * stream, with epoch, lag_seconds, peer_last_heard_seconds{peer="splitter"}
 * and final. After an end of stream the final snapshot stays until the next
 * stream's first message (the counters restart from 0 there).
 *
 * Contract: one node per thread; trk_node_stop may be called from a signal
 * handler or another thread.
 */
#ifndef TRK_NODE_H
#define TRK_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmn_metrics.h"

#define TRK_RESULT_MAX_BYTES (4u << 20) /* default cap of one TrackerResult message */

struct trk_node;

struct trk_node_config {
    uint32_t id;                 /* tracker index */
    const char *listen;          /* endpoint to bind for the splitter (copied) */
    const char *merger;          /* merger endpoint to connect (copied) */
    uint64_t memcap_bytes;       /* session + endpoint tables; 0 = unlimited */
    uint64_t session_timeout_ns; /* idle capture time that ends a session; 0 = never */
    bool exit_on_eos;            /* return from trk_node_run after one stream */
    double stats_interval_s;     /* seconds between NOTICE stats lines; 0 = off */
    uint64_t seed;               /* hash seed; 0 = random */
    size_t result_max_bytes;     /* cap per TrackerResult; 0 = TRK_RESULT_MAX_BYTES */
    size_t spare_sessions;       /* session rows preallocated; 0 = default */
    void *zmq_ctx;               /* shared ZeroMQ context (inproc tests), NULL = own */
    struct cmn_metrics *metrics; /* borrowed /metrics endpoint (cmn_metrics.h); NULL: off */
    const char *merger_ack;      /* the merger's ack_listen (SUB): keep what the merger has not
                                    acknowledged and send it again when it connects again;
                                    NULL: none (copied) */
    uint64_t keep_bytes;         /* memory for what is kept for the merger (past it: spilled
                                    into state_dir); 0: default, 256 MiB */
    uint64_t keep_disk_bytes;    /* and on disk past it (with state_dir); 0: default, 16 GiB */
    const char *state_dir;       /* checkpoint at every epoch flush into DIR/tracker-ID.ckpt and
                                    resume from it after a crash; NULL: none (copied) */
    const char *ack_listen;      /* PUB bound here for the splitter's tracker_ack: where the
                                    newest checkpoint stands (TrackerAck); with state_dir
                                    (copied) */
};

/* Open sockets and tables. Returns NULL after logging why. */
struct trk_node *trk_node_new(const struct trk_node_config *cfg);

/* Close sockets, free tables; accepts NULL and NULLs the caller's pointer. */
void trk_node_destroy(struct trk_node **n);

/* Run until stopped, or until the end of a stream with exit_on_eos. Returns
 * CMN_EXIT_OK, CMN_EXIT_LOST (a stream ended with records or batches lost)
 * or CMN_EXIT_ERROR (socket failure). */
int trk_node_run(struct trk_node *n);

/* Handle one message from the splitter, `len` bytes as received (borrowed;
 * any bytes): decode, act, send what it causes to the merger. trk_node_run
 * calls it for every message; fuzz_tracker feeds it message sequences. Returns
 * 1 when the stream ended and exit_on_eos is set (trk_node_run returns), else 0. */
int trk_node_handle(struct trk_node *n, const uint8_t *bytes, size_t len);

/* Live scale-out and scale-in (docs/OPERATIONS.md "A tracker added or
 * removed"): at an epoch boundary, right after an EpochFlush (tables
 * clean), the ranges whose owner changes from map v (this tracker's) to
 * map `next` move with their state. Export writes into a malloc'ed buffer
 * (*buf, *len; the caller frees it) everything tracker `dest` of `next`
 * needs from this one: the sessions with an end moving to it, those
 * endpoints with their distinct sets, the events of those targets with
 * their counter slots and probe sessions, first fragments. Import adds such
 * a buffer (from this build; the importer may hold state already: sessions
 * it shares are skipped). Drop then frees what this tracker no longer owns
 * under `next`, as tracker `self` of it. Export, import: 0, or -errno /
 * -EPROTO (logged); drop: the sessions freed, or -errno. */
struct cmn_shard_map;
int trk_node_handover_export(struct trk_node *n, const struct cmn_shard_map *next, uint32_t dest,
                             char **buf /* OUT */, size_t *len /* OUT */);
int trk_node_handover_import(struct trk_node *n, const void *buf, size_t len);
int trk_node_handover_drop(struct trk_node *n, const struct cmn_shard_map *next, uint32_t self);

/* Ask trk_node_run to return at its next loop turn. Async-signal-safe. */
void trk_node_stop(struct trk_node *n);

#endif /* TRK_NODE_H */
