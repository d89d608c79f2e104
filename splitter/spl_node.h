/* SPDX-License-Identifier: MIT
 * spl_node: the splitter process's state machine. Owns its ZeroMQ sockets
 * (PULL bound for collectors, one PUSH per tracker in index order, PUSH to
 * the merger), the shard map, one spl_shard per collector, per-collector and
 * per-tracker accounting, and the epoch watermark. Single-threaded: one
 * caller drives it with spl_node_poll or spl_node_run.
 *
 * Epochs: the watermark is the minimum, over collectors that have not ended,
 * of the largest record timestamp received from each, or of the bound its
 * Heartbeats promise (records_from_ns: a live port stamping records with its
 * host's wall clock promises that nothing older follows, so an idle mirror
 * port does not hold every epoch open), whichever is later. It is held at 0
 * until `collectors` (when > 0) distinct collectors have been heard from and
 * each live one has sent a record or a promise, so an early collector cannot
 * close epochs a later one still has traffic for. When it passes the end of epoch e, every
 * out-batch is flushed and EpochFlush{e} goes to every tracker, once per
 * epoch, in increasing order. Only epochs in which at least one record was
 * received are flushed: empty epochs are skipped. A record whose epoch was
 * already flushed (a straggler) is still forwarded and counted in
 * `records_late`; it lands in the tracker's next report. End of stream is the
 * final flush (no EpochFlush is sent for the epochs still open then).
 *
 * Merge and dedup (spl_dedup.h): received records wait in a per-collector
 * hold until the watermark passes them, then leave merged in (ts, collector
 * id) order through one set of out-batches (stamped SPL_MERGED_ID); a copy of
 * a packet another collector delivered within dedup_window_us is dropped and
 * counted. So what the trackers receive, and in which order, does not depend
 * on how the collectors' batches interleaved. Epoch marking, records_late and
 * the flushes apply to released records.
 *
 * Liveness (docs/OPERATIONS.md): a collector that sent nothing (no batch,
 * no Heartbeat) for liveness_timeout seconds, checked when the collector
 * socket is drained, is marked down: the watermark no longer waits for it,
 * and with `collectors` expected the run ends once every other collector
 * ended (its records are then unverifiable: the merger counts the run
 * lossy). Expected collectors never heard from by the timeout are given up
 * the same way. A tracker pipe that takes no batch for liveness_timeout
 * seconds is reported (trackers_down, tracker.<i>.down) but still waited
 * for: a slow merger's backpressure looks the same as a stopped tracker, so
 * nothing is dropped; the merger, which hears every tracker, decides.
 * Heartbeats to the merger go on while a send waits. With spill_dir, a pipe
 * that takes nothing for SPL_SPILL_AFTER_MS has its messages appended to its
 * spill file instead (in order: once a pipe spills, everything for it goes
 * there until the file is empty), sent from it as the pipe takes them again;
 * the run's end waits until every spill file is sent (messages_spilled,
 * messages_unspilled, spill_bytes).
 *
 * Checkpoint and shard-map change (cfg.state_dir; docs/OPERATIONS.md "The
 * splitter killed", "A tracker added", "A tracker removed"): after each round
 * of EpochFlush the state goes to DIR/splitter.ckpt, with the shard map and
 * every tracker's endpoints. A node made from a checkpoint whose map is not
 * the configuration's switches at the checkpoint's cut: the old trackers
 * roll back, export what moves (Handover chunks on their TrackerAck sockets,
 * forwarded once on the importers' pipes), drop it; no record is released
 * until each said done (or SPL_HANDOVER_WAIT_S passed); then map v+1 goes
 * out and trackers the new map leaves out get EndOfStream{retired}.
 *
 * Counters (names are a contract; spl_node_counter and the Stats messages use them):
 *   records_received, batches_received  from collectors, all of them
 *   records_forwarded    records sent to at least one tracker; once nothing is held,
 *                        records_received = records_forwarded + duplicates_removed
 *   duplicates_removed   records dropped as another collector's copy (redundant switches)
 *   dedup_window_us, dedup_held (waiting now), dedup_held_max, dedup_late (arrived behind
 *   the release point), dedup_forced (released early: memcap), dedup_evicted_early
 *   (window table full), dedup_untracked (collectors beyond SPL_DEDUP_SOURCES)
 *   dup.<a>.<b>          duplicates removed between collectors a < b (present when > 0)
 *   records_copies       record copies sent (sum of tracker.<i>.records_sent)
 *   batches_forwarded    batches sent to trackers (sum of tracker.<i>.batches_sent)
 *   batches_lost         sequence gaps, or (once a collector ended) the batches its
 *                        EOS says it sent that never arrived, whichever is larger
 *   records_lost         over ended collectors: records_sent - records_received
 *                        when positive, plus records the splitter failed to send
 *   malformed_messages   undecodable envelopes, bad record arrays
 *   unexpected_messages  well-formed but not for a splitter (dropped, counted)
 *   records_late, epochs_flushed, epochs_untracked, batches_reordered, send_errors,
 *   records_send_failed, collectors_seen, collectors_ended, collectors_expected,
 *   trackers, epoch_seconds, next_epoch,
 *   collectors_down (now), collectors_missing (expected, never heard, given up),
 *   trackers_down (now), impostor_messages (dropped: a CURVE peer speaking for a
 *   collector its keyring entry's as= list does not name), shard_maps_resent
 *   (a tracker connected again, restarted or its link back: it got the shard
 *   map again; tcp and ipc pipes, watched by a ZeroMQ socket monitor)
 *   collector.<id>.records_received / records_sent / batches_received /
 *                  batches_sent / batches_lost / down (1 while marked down)
 *   tracker.<i>.down (1 while marked down)
 *   tracker_replays, messages_replayed (restarted trackers sent their pipe again
 *   from the keep log), keep_bytes (held in keep logs now), keep_dropped (past
 *   spill_max_bytes: a tracker restarting then misses them and counts the gap)
 *   tracker.<i>.records_sent / batches_sent (also of a tracker being removed)
 *   handover_chunks, handover_bytes (moved state forwarded), handovers_incomplete
 *
 * Metrics (cfg.metrics): every Stats message's counters are also published
 * to the node's /metrics (at start, every stats_interval, at the end), the
 * gauges among them typed so (s_gauges in spl_node.c), plus lag_seconds
 * (wall clock minus the watermark), peer_last_heard_seconds{peer=
 * "collector.<id>"} and final (1 once the final stats are out).
 */
#ifndef SPL_NODE_H
#define SPL_NODE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cmn_metrics.h"

/* The endpoint of a retired tracker index (tracker = none; its tracker_ack
 * too): removed from the map, the others keep their index. */
#define SPL_TRACKER_RETIRED "none"

/* Endpoint e names a retired index. */
static inline bool spl_tracker_retired(const char *e)
{
    return e && strcmp(e, SPL_TRACKER_RETIRED) == 0;
}

struct spl_config {
    void *zmq_ctx;               /* borrowed ZeroMQ context; outlives the node */
    const char *listen;          /* endpoint to bind for collectors */
    const char *const *trackers; /* tracker endpoints, index order */
    uint32_t tracker_count;      /* entries in trackers, >= 1 */
    const uint8_t *vacant;       /* per tracker: nonzero for a retired one (its endpoint "none":
                                    removed, the others keep their index), or NULL */
    const char *merger;          /* merger endpoint */
    const char *const *ranges;   /* shard rules "PREFIX TRACKER" / "LO-HI TRACKER"; NULL: even */
    size_t range_count;          /* entries in ranges */
    uint32_t collectors;         /* collectors to expect; 0 = run forever */
    uint64_t epoch_seconds;      /* epoch length in capture time, >= 1 */
    uint32_t batch_records;      /* records per out-batch, >= 1 */
    uint32_t batch_delay_ms;     /* a partial out-batch leaves after this long */
    uint32_t stats_interval;     /* seconds between stats line + Stats message; 0 = off */
    int hwm;                     /* ZeroMQ high-water mark per socket (messages); 0: default */
    uint64_t dedup_window_us;    /* redundant copies within this are one packet; 0: no dedup */
    uint64_t dedup_memcap_mb;    /* records held for the time-ordered merge; 0: default */
    uint32_t liveness_timeout;   /* seconds; 0: never mark a peer down (see Liveness above) */
    struct cmn_metrics *metrics; /* borrowed /metrics endpoint (cmn_metrics.h); NULL: off */
    const char *merger_ack;      /* the merger's ack_listen: the end of the run (collectors'
                                    final Stats, ours, EndOfStream) is sent again to a merger
                                    that connects again, and spl_node_run returns once the
                                    merger acknowledged it; NULL: none */
    const char *spill_dir;       /* a tracker pipe that takes nothing for SPL_SPILL_AFTER_MS
                                    spills its messages, in order, to DIR/tracker-N.spill
                                    (spl_spill.h) and is sent from it when it takes them again:
                                    one stopped tracker no longer holds the others; NULL: wait */
    uint64_t spill_max_bytes;    /* size of one spill file at most (then wait); 0: 4 GiB */
    const char *const *tracker_acks; /* per tracker, index order: its ack_listen (TrackerAck).
                                    Every message of its pipe is kept (DIR/tracker-N.keep in
                                    spill_dir, spl_keep.h, at most spill_max_bytes) until its
                                    checkpoint holds it; a tracker restarted from its checkpoint
                                    is sent the rest again; NULL: none */
    const char *state_dir;           /* checkpoint DIR/splitter.ckpt after every round of EpochFlush
                                        and resume from it after a crash (needs tracker_acks,
                                        merger_ack); NULL: none */
    const char *ack_listen;          /* PUB bound here: SplitterAck to the collectors (what the
                                        checkpoint holds of each); NULL: none */
};

#define SPL_SPILL_AFTER_MS 1000 /* spill_dir: a pipe this long unwritable starts spilling */

#define SPL_DEDUP_WINDOW_US 500        /* default dedup_window_us */
#define SPL_DEDUP_MEMCAP_MB 256ull     /* default dedup_memcap_mb */
#define SPL_MERGED_ID       UINT32_MAX /* collector_id of out-batches: the merged stream */

struct spl_node;

/* Build the shard map, open the sockets, and send Hello{SPLITTER,
 * tracker_count} to the merger and ShardMap{i, N, ranges} to each tracker.
 * Returns NULL after logging why (bad rule, bind failure). */
struct spl_node *spl_node_new(const struct spl_config *cfg);

/* Close sockets (pending messages get `linger` time: forever after a normal
 * end, 2 s after an interrupted one) and free. Accepts NULL, NULLs the pointer. */
void spl_node_destroy(struct spl_node **node);

/* One turn: wait up to `max_wait_ms` (-1: until the next timer) for messages,
 * handle a burst of them, flush aged out-batches, emit periodic stats.
 * Returns 1 once the run has ended (all expected collectors ended and end of
 * stream has been sent), 0 to continue, or a negative errno on fatal socket
 * errors. A signal interrupting the wait returns 0. */
int spl_node_poll(struct spl_node *node, int max_wait_ms);

/* Handle one received message, `len` bytes as they came off the collector
 * socket (borrowed; any bytes): decode, act, send what it causes. spl_node_poll
 * calls it for every message; fuzz_splitter feeds it sequences of messages
 * without a collector. Returns 1 once the run has ended, else 0. */
int spl_node_handle(struct spl_node *node, const uint8_t *bytes, size_t len);

/* spl_node_handle of a message from CURVE peer `peer` (its ZAP User-Id, the
 * keyring name; NULL: not over CURVE): a message speaking for a collector
 * the peer's keyring entry does not allow (cmn_curve_may_send) is dropped
 * and counted in impostor_messages. */
int spl_node_handle_from(struct spl_node *node, const uint8_t *bytes, size_t len, const char *peer);

/* Loop spl_node_poll until the run ends or *stop becomes non-zero: 1 ends
 * the stream (spl_node_finish), 2 leaves the run for a restart (no end of
 * stream; the checkpoint stays and a new process resumes from it, e.g. with
 * more trackers). Returns 0, 2 (left for a restart), or a negative errno on
 * a fatal error. */
int spl_node_run(struct spl_node *node, const volatile sig_atomic_t *stop);

/* End the run now: flush every out-batch, send EndOfStream{SPLITTER} with the
 * per-pipe totals to each tracker, final Stats and EndOfStream{SPLITTER} to
 * the merger. Idempotent. */
void spl_node_finish(struct spl_node *node);

/* True once end of stream has been sent. */
bool spl_node_done(const struct spl_node *node);

/* Current value of the counter `name` (see the list above); 0 when unknown. */
uint64_t spl_node_counter(const struct spl_node *node, const char *name);

#endif /* SPL_NODE_H */
