/* SPDX-License-Identifier: MIT
 * spl_node: receive envelopes from collectors, keep per-collector accounting
 * (sequence gaps, end-of-stream totals), shard records through each
 * collector's spl_shard into per-tracker pipes with their own sequence
 * numbers, close epochs by watermark, and end the stream downstream once every
 * expected collector has ended. Nothing is dropped without a counter.
 */
#define CMN_LOG_TAG "splitter"
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cmn_curve.h"
#include "cmn_hash.h"
#include "cmn_log.h"
#include "cmn_shard.h"
#include "cmn_wire.h"
#include "spl_dedup.h"
#include "spl_node.h"
#include "spl_shard.h"
#include "cmn_ckpt.h"
#include "spl_keep.h"
#include "spl_spill.h"

#define SPL_MSG_BURST      32    /* envelopes handled per poll turn */
#define SPL_COLLECTORS_MAX 1024  /* memcap on collector states (each owns out-batches) */
#define SPL_EPOCHS_MAX     65536 /* pending epochs remembered; beyond, epochs merge */
#define SPL_HWM_DEFAULT    256   /* messages queued per socket before PUSH blocks */
#define SPL_NAME_MAX       64    /* bytes kept of a collector's label */
#define SPL_COUNTER_NAME   48    /* bytes per generated counter name */
#define SPL_LINGER_STOP_MS 2000  /* linger after an interrupted run */

/* Zero-copy out-batch buffers: bytes at most (past it, out-batches are copied). */
#define SPL_POOL_MEMCAP (256ull << 20)

/* A batch kept back until the ones before it arrive (s_hold_push). */
struct s_stash {
    uint64_t seq;         /* RecordBatch.seq */
    struct cmn_record *r; /* its records to hold (owned) */
    size_t n;             /* how many */
};

/* A batch whose records are not all forwarded yet (the hold has some). */
struct s_pend {
    uint64_t seq;    /* RecordBatch.seq */
    uint64_t max_ts; /* its largest record time */
    uint64_t start;  /* index of its first record in the collector's stream into the hold
                        (s_coll.pushed; UINT64_MAX: not pushed yet) */
};

#define SPL_SEQ_WIN 65536 /* batch seqs above the contiguous ones remembered per collector */

/* What the splitter knows about one collector (keyed by its id). */
struct s_coll {
    uint32_t id;                     /* collector id from Hello / batches / EOS */
    bool ended;                      /* EndOfStream received (until a new Hello) */
    char name[SPL_NAME_MAX];         /* label from Hello */
    uint64_t last_seq;               /* highest batch seq received since its Hello */
    uint64_t max_ts_ns;              /* largest record timestamp received (watermark input) */
    uint64_t from_ns;                /* its heartbeats' promise: later records have ts >= this */
    uint64_t batches_received;       /* valid batches */
    uint64_t records_received;       /* records in them */
    uint64_t gap_batches;            /* batches missing from the seq sequence */
    uint64_t batches_sent;           /* from its EndOfStream(s), cumulative */
    uint64_t records_sent;           /* from its EndOfStream(s), cumulative */
    uint64_t base_batches;           /* batches_sent / records_sent before its current run (a */
    uint64_t base_records;           /* resumed run's EndOfStream counts the whole run) */
    uint64_t contig;                 /* every batch seq up to this one arrived */
    uint64_t given_up;               /* a resumed collector's seqs up to this died with the old
                                        process (unless one still comes from its connection) */
    uint64_t seen[SPL_SEQ_WIN / 64]; /* above contig: bit seq % SPL_SEQ_WIN set when arrived */
    bool ignoring;                   /* resumed after its end of stream: nothing more is taken */
    int src;                         /* its source index in the dedup merge */
    uint64_t heard_ns;               /* monotonic time of its last message */
    bool down;                       /* silent past liveness_timeout (until it speaks again) */
    /* checkpoints (cfg.state_dir): batches not wholly forwarded, oldest first */
    struct s_pend *pend; /* ring of pcap entries; live ones from phead, pn of them */
    size_t phead, pn, pcap;
    uint64_t retake_upto; /* restored: batches up to this seq may have reached the process before */
    uint64_t old_contig;  /* restored: the process before had every batch up to this seq, */
    uint64_t *old_seen;   /*   and those of its `seen` (retake_upto - old_contig < SPL_SEQ_WIN) */
    uint64_t ck_acked;    /* s_coll_acked at the newest checkpoint (SplitterAck) */
    uint64_t pushed;      /* records of it into the dedup hold so far (their stream index) */
    uint64_t ck_out;      /* at the newest checkpoint: the first ck_out records of that stream
                             had left the hold (forwarded, forced out early or dropped as
                             copies); the rest died with a process that crashed */
    bool promise_hold;    /* restored: heartbeat promises wait for its Hello{resume} (what it
                             sends again is older than what it promises) */
    uint64_t hold_upto;   /* restored: its watermark stays at the checkpoint's release point
                             until what it sends again reaches this seq (0: no hold) */
    struct s_stash *stash; /* batches waiting for the holes before them (s_hold_push) */
    size_t nstash, capstash;
};

/* One splitter -> tracker pipe. */
struct s_pipe {
    void *sock;                 /* PUSH, connected */
    uint64_t seq;               /* last RecordBatch seq sent (starts at 1) */
    uint64_t batches_sent;      /* RecordBatch messages sent */
    uint64_t records_sent;      /* records in them */
    bool down;                  /* took nothing for liveness_timeout (see spl_node.h) */
    void *mon;                  /* PAIR reading the socket's handshake events, or NULL */
    uint64_t handshakes;        /* connections to the tracker completed */
    struct spl_spill *spill;    /* cfg.spill_dir: its messages while it takes none, or NULL */
    bool spilling;              /* messages go to spill (until it is empty) */
    struct spl_keep *keep;      /* cfg.tracker_acks: every message until its checkpoint has it */
    void *tack;                 /* SUB to the tracker's ack_listen, or NULL */
    uint64_t replayed_inc;      /* the tracker process (incarnation) last sent its pipe again */
    bool ck_last;               /* restored: the keep log's last message at the checkpoint, */
    enum spl_keep_kind ck_kind; /* its kind */
    uint64_t ck_tag;            /* and tag (what follows it is void) */
    bool ho_asked;              /* handover: the request is on this pipe */
    bool ho_done;               /* handover: this (old) tracker sent all it exports */
};

/* A message to the merger kept to be sent again (merger_ack). */
struct s_kept {
    uint8_t *data; /* packed envelope */
    size_t len;    /* bytes */
};

#define SPL_FINAL_ACK_WAIT_S 120         /* merger_ack: wait this long for the final Ack */
#define SPL_HANDOVER_WAIT_S  120         /* a shard-map change: wait this long for the trackers */
#define SPL_DNS_KEEP_BYTES   (64u << 20) /* merger_ack: DnsNames kept until acknowledged */

/* A DnsNames message forwarded to the merger, numbered, kept until an Ack's
 * dns_seq covers it (merger_ack). */
struct s_dns_kept {
    uint8_t *data; /* packed envelope */
    size_t len;    /* bytes */
    uint64_t seq;  /* its DnsNames.seq */
};

struct spl_node {
    struct spl_config cfg;         /* copy; strings borrowed from the caller */
    uint64_t probe_seed;           /* ShardMap.probe_seed: random per run, kept in the checkpoint */
    uint64_t map_version;          /* ShardMap.version: 1, one more per change (kept) */
    uint32_t ck_trackers;          /* restored: the checkpoint's tracker count */
    uint32_t npipes;               /* pipes: tracker_count, or the checkpoint's trackers while
                                      the ones removed from the map hand their state over */
    char **ck_eps, **ck_acks;      /* restored: the checkpoint's tracker, tracker_ack endpoints */
    uint32_t *vac;                 /* the retired trackers' indexes (cfg.vacant), for the merger */
    size_t nvac;                   /* entries in vac */
    uint32_t nck_eps;              /* entries in ck_eps and ck_acks */
    struct cmn_shard_map *ck_map;  /* restored: the checkpoint's shard map */
    bool handover;                 /* the map changed at the checkpoint: moving state, nothing
                                      released until every old tracker is done */
    uint64_t ho_deadline;          /* monotonic ns: past it the handover ends, incomplete */
    uint64_t *ho_fwd;              /* [from * tracker_count + dest]: export bytes forwarded */
    uint64_t handover_chunks;      /* Handover chunks forwarded */
    uint64_t handover_bytes;       /* their bytes */
    uint64_t handovers_incomplete; /* handovers ended by the deadline */
    void *ack;                     /* SUB to cfg.merger_ack, or NULL */
    void *mmon;                    /* PAIR reading the merger socket's handshakes */
    uint64_t mhandshakes;          /* connections to the merger completed */
    struct s_kept *kept;           /* Hello and the end of the run, in order */
    size_t nkept, capkept;         /* entries used, allocated */
    bool final_acked;              /* the merger committed the run's end */
    uint64_t run_ns;               /* the merger's run_started_ns for this run (its Acks; 0:
                                      none seen yet), kept in the checkpoint */
    bool run_over;                 /* resumed from a checkpoint of a run the merger ended */
    /* the first Ack a resumed splitter read (s_first_ack) */
    bool ack0_heard, ack0_final;
    uint64_t ack0_run_ns, ack0_dns_seq, ack0_dns_seq_max;
    uint64_t messages_resent;  /* kept messages sent again to a merger that reconnected */
    struct s_dns_kept *dkept;  /* DnsNames not yet acknowledged, oldest first from dhead */
    size_t dhead;              /* its first live entry */
    size_t ndkept, capdkept;   /* entries used, allocated */
    size_t dkept_bytes;        /* bytes held in dkept (<= SPL_DNS_KEEP_BYTES) */
    uint64_t dns_seq;          /* last DnsNames.seq given */
    uint64_t dns_unkept;       /* DnsNames not kept (memcap): lost if the merger dies */
    uint64_t spilled;          /* messages to trackers put in spill files */
    uint64_t unspilled;        /* of those, sent from the files since */
    struct cmn_shard_map *map; /* address ranges -> tracker */
    struct spl_dedup *dedup;   /* hold, merge in time order, drop redundant copies */
    struct spl_shard *shard;   /* out-batches of the merged stream, one per tracker */
    void *pull;                /* PULL bound to cfg.listen */
    void *merger;              /* PUSH to the merger */
    struct s_pipe *pipes;      /* [tracker_count] */
    struct s_coll *coll;       /* collectors in order of first contact */
    size_t ncoll;              /* entries used */
    size_t capcoll;            /* entries allocated */
    size_t nended;             /* collectors currently ended */
    size_t ndown;              /* collectors currently marked down (not ended) */
    uint32_t ntrk_down;        /* tracker pipes currently marked down */
    uint64_t start_ns;         /* monotonic time the node started */
    uint64_t next_beat_ns;     /* monotonic time of the next heartbeat to the merger */
    bool missing_given_up;     /* expected collectors never heard: no longer waited for */
    uint64_t epoch_ns;         /* epoch length */
    uint64_t delay_ns;         /* batch_delay_ms in ns */
    uint64_t next_epoch;       /* epochs below this have been flushed */
    uint64_t *pending;         /* sorted epochs with traffic, not yet flushed */
    size_t npending;           /* entries used */
    uint64_t next_stats_ns;    /* monotonic time of the next periodic stats */
    bool done;                 /* end of stream sent */
    bool interrupted;          /* finished by a stop request, not by the collectors */
    /* counters not derived from collectors or pipes */
    uint64_t records_forwarded;   /* records routed to >= 1 tracker */
    uint64_t malformed_messages;  /* undecodable envelopes, bad arrays */
    uint64_t unexpected_messages; /* valid but not for us, duplicate EOS, refused collectors */
    uint64_t impostor_messages;   /* a CURVE peer speaking for a collector it may not (as=) */
    uint64_t shard_maps_resent;   /* ShardMaps sent again to a tracker that reconnected */
    uint64_t records_late;        /* records of already flushed epochs */
    uint64_t epochs_flushed;      /* EpochFlush rounds sent */
    uint64_t epochs_untracked;    /* epochs not remembered because pending was full */
    uint64_t batches_reordered;   /* seq not above the last one (duplicate or restart) */
    uint64_t collector_resumes;   /* Hellos of collectors resuming a run after a crash */
    uint64_t batches_duplicate;   /* batches a resumed collector sent again: dropped */
    uint64_t records_duplicate;   /* records in them */
    uint64_t send_errors;         /* failed sends of any kind */
    uint64_t records_send_failed; /* records in out-batches that could not be sent */
    uint64_t dns_messages;        /* DnsNames messages forwarded to the merger */
    uint64_t dns_names;           /* names in them */
    uint64_t tracker_replays;     /* restarted trackers sent their pipe again (keep log) */
    uint64_t messages_replayed;   /* messages in those replays */

    struct cmn_wire_pool *pool; /* out-batch buffers sent without a copy */

    /* checkpoints (cfg.state_dir, cfg.ack_listen; docs/OPERATIONS.md "The splitter killed") */
    bool rel_any;          /* the hold released something: */
    uint64_t rel;          /*   every record with ts <= rel is forwarded */
    bool flushed_any;      /* some epoch was flushed: */
    uint64_t last_flushed; /*   the last one */
    void *cack;            /* PUB bound to cfg.ack_listen (SplitterAck), or NULL */
    uint64_t next_cack_ns; /* monotonic ns of the next SplitterAck */
    bool restored;         /* resumed from a checkpoint */
    bool ck_due;           /* epochs were flushed: a checkpoint once the release is over */
    bool ck_flushed_any;   /* the newest checkpoint written holds a flushed epoch: */
    uint64_t ck_flushed;   /*   this one (keep logs are released no further) */
    uint64_t retake_ts;    /* restored: its release point; records of batches that reached the
                              process before are taken again only above it */
    bool retake_any;       /* retake_ts is valid */
    uint64_t checkpoints;  /* checkpoints written */
    uint64_t checkpoint_errors;
    uint64_t records_retaken; /* records of batches sent again, held at the checkpoint: taken */
};

/* The counters a checkpoint carries (the node's own; collector and pipe
 * totals travel in their structs). */
// clang-format off
#define SPL_CKPT_COUNTERS(X)                                                                       \
    X(records_forwarded) X(malformed_messages) X(unexpected_messages) X(impostor_messages)      \
    X(shard_maps_resent) X(records_late) X(epochs_flushed) X(epochs_untracked)                  \
    X(batches_reordered) X(collector_resumes) X(batches_duplicate) X(records_duplicate)          \
    X(send_errors) X(records_send_failed) X(dns_messages) X(dns_names) X(tracker_replays)        \
    X(messages_replayed) X(spilled) X(unspilled) X(messages_resent) X(dns_unkept) X(dns_seq)     \
    X(checkpoints) X(checkpoint_errors) X(records_retaken)
// clang-format on

/* ---- sending ---------------------------------------------------------------- */

/* Count a batch of n records sent to pipe p (rc >= 0), or lost (rc < 0): no
 * seq is consumed then, so the tracker sees no gap; the loss is ours to report. */
static void s_account(struct spl_node *node, struct s_pipe *p, int rc, size_t n)
{
    if (rc < 0) {
        node->send_errors++;
        node->records_send_failed += n;
        return;
    }
    p->seq++;
    p->batches_sent++;
    p->records_sent += n;
}

static void s_heartbeat(struct spl_node *node, uint64_t now)
{
    if (now < node->next_beat_ns)
        return;
    (void)cmn_wire_send_heartbeat(node->merger, RENKEI__NODE_KIND__NODE_SPLITTER, 0);
    node->next_beat_ns = now + CMN_HEARTBEAT_MS * 1000000ull;
}

static bool s_writable(void *sock)
{
    int ev = 0;
    size_t sz = sizeof(ev);
    return zmq_getsockopt(sock, ZMQ_EVENTS, &ev, &sz) == 0 && (ev & ZMQ_POLLOUT);
}

/* Wait until pipe t takes a batch (liveness_timeout 0: block in the send).
 * Heartbeats to the merger go on while it waits, and past liveness_timeout
 * the tracker is reported (once) as not taking records: backpressure from a
 * slow merger and a stopped tracker look the same from here, so nothing is
 * dropped; the merger, which hears each tracker, decides it is down. */
static void s_pipe_wait(struct spl_node *node, uint32_t t)
{
    struct s_pipe *p = &node->pipes[t];
    if (node->cfg.liveness_timeout == 0 || s_writable(p->sock)) {
        if (p->down) {
            p->down = false;
            node->ntrk_down--;
            CMN_LOG(NOTICE, "tracker %" PRIu32 " takes records again", t);
        }
        return;
    }
    uint64_t limit = cmn_mono_ns() + (uint64_t)node->cfg.liveness_timeout * 1000000000ull;
    for (;;) {
        zmq_pollitem_t it = {.socket = p->sock, .events = ZMQ_POLLOUT};
        if (zmq_poll(&it, 1, 200) > 0)
            break;
        uint64_t now = cmn_mono_ns();
        s_heartbeat(node, now);
        if (!p->down && now >= limit) {
            p->down = true;
            node->ntrk_down++;
            CMN_LOG(WARN,
                    "tracker %" PRIu32 " has taken no records for %" PRIu32
                    " s (stopped, or behind): waiting for it",
                    t, node->cfg.liveness_timeout);
        }
    }
    if (p->down) {
        p->down = false;
        node->ntrk_down--;
        CMN_LOG(NOTICE, "tracker %" PRIu32 " takes records again", t);
    }
}

/* ---- spill files (cfg.spill_dir, spl_spill.h) ---- */

static void s_send(struct spl_node *node, void *sock, Renkei__Envelope *env);

/* Tracker t is in the configured map: not retired (tracker = none), not past
 * its end. A retired or removed tracker's pipe (a socket only while it hands
 * its state over) takes no record, epoch flush or map. */
static bool s_member(const struct spl_node *node, uint32_t t)
{
    return t < node->cfg.tracker_count && !(node->cfg.vacant && node->cfg.vacant[t]);
}

static uint64_t s_spill_bytes(const struct spl_node *node)
{
    uint64_t b = 0;
    for (uint32_t t = 0; t < node->npipes; t++)
        if (node->pipes[t].spill)
            b += spl_spill_bytes(node->pipes[t].spill);
    return b;
}

/* Send what pipe t's spill file holds while the pipe takes it (never
 * blocks). */
static void s_spill_drain(struct spl_node *node, uint32_t t)
{
    struct s_pipe *p = &node->pipes[t];
    if (!p->spill)
        return;
    const uint8_t *d;
    size_t len;
    int rc;
    while ((rc = spl_spill_peek(p->spill, &d, &len)) == 1) {
        if (cmn_wire_send_bytes(p->sock, d, len, ZMQ_DONTWAIT) != 0)
            return;
        spl_spill_pop(p->spill);
        node->unspilled++;
    }
    if (rc < 0) { /* unreadable: what it held is lost; the tracker counts the gap */
        CMN_LOG(ERR, "tracker %" PRIu32 ": %" PRIu64 " spilled messages lost", t,
                spl_spill_count(p->spill));
        spl_spill_close(&p->spill);
    }
    if (p->spilling && (!p->spill || spl_spill_count(p->spill) == 0)) {
        p->spilling = false;
        CMN_LOG(NOTICE, "tracker %" PRIu32 " takes messages again: its spill file is sent", t);
    }
}

/* Whether pipe t's next message goes straight to its socket (true) or to its
 * spill file (false, keeping the order). Without a spill file it waits for
 * the pipe (s_pipe_wait) and is always true. */
static bool s_pipe_direct(struct spl_node *node, uint32_t t)
{
    struct s_pipe *p = &node->pipes[t];
    if (!p->spill) {
        s_pipe_wait(node, t);
        return true;
    }
    if (p->spilling) {
        s_spill_drain(node, t);
        if (p->spilling)
            return false;
    }
    if (s_writable(p->sock))
        return true;
    uint64_t limit = cmn_mono_ns() + SPL_SPILL_AFTER_MS * 1000000ull;
    for (;;) {
        zmq_pollitem_t it = {.socket = p->sock, .events = ZMQ_POLLOUT};
        if (zmq_poll(&it, 1, 50) > 0)
            return true;
        uint64_t now = cmn_mono_ns();
        s_heartbeat(node, now);
        if (now >= limit)
            return false;
    }
}

/* Put `len` bytes for pipe t into its spill file; a full (or failing) file
 * makes it wait for the pipe as without one. Returns 0 or the send's -errno. */
static int s_pipe_spill(struct spl_node *node, uint32_t t, const uint8_t *data, size_t len)
{
    struct s_pipe *p = &node->pipes[t];
    if (p->spill && spl_spill_push(p->spill, data, len) == 0) {
        if (!p->spilling)
            CMN_LOG(WARN,
                    "tracker %" PRIu32 " took nothing for %d ms: its messages go to its spill "
                    "file until it takes them again",
                    t, SPL_SPILL_AFTER_MS);
        p->spilling = true;
        node->spilled++;
        return 0;
    }
    CMN_LOG(WARN, "tracker %" PRIu32 ": spill file full or failing: waiting for the tracker", t);
    while (p->spill && spl_spill_count(p->spill) > 0) {
        s_pipe_wait(node, t);
        s_spill_drain(node, t);
    }
    p->spilling = false;
    s_pipe_wait(node, t);
    return cmn_wire_send_bytes(p->sock, data, len, 0);
}

/* An envelope to pipe t: straight, or into its spill file; with a keep log
 * (an EpochFlush or the EndOfStream) kept there too. */
static void s_pipe_send(struct spl_node *node, uint32_t t, Renkei__Envelope *env)
{
    struct spl_keep *k = node->pipes[t].keep;
    bool direct = s_pipe_direct(node, t);
    if (direct && !k) {
        s_send(node, node->pipes[t].sock, env);
        return;
    }
    size_t len;
    uint8_t *data = cmn_wire_pack(env, &len);
    enum spl_keep_kind kind = SPL_KEEP_OTHER;
    uint64_t tag = 0;
    if (env->body_case == RENKEI__ENVELOPE__BODY_FLUSH) {
        kind = SPL_KEEP_FLUSH;
        tag = env->flush->epoch;
    } else if (env->body_case == RENKEI__ENVELOPE__BODY_SHARD_MAP) {
        kind = SPL_KEEP_MAP; /* the checkpoint after a handover ends on it */
        tag = env->shard_map->version;
    }
    int rc = data ? 0 : -ENOMEM;
    bool kept = false;
    if (rc == 0 && k) {
        rc = spl_keep_append(k, data, len, kind, tag);
        kept = rc == 0;
    }
    if (rc == 0)
        rc = direct ? cmn_wire_send_bytes(node->pipes[t].sock, data, len, 0)
                    : s_pipe_spill(node, t, data, len);
    if (rc < 0) {
        node->send_errors++;
        if (kept)
            spl_keep_unappend(k);
    }
    free(data);
}

/* Frame the n records at recs (with CMN_WIRE_BATCH_HEADROOM bytes before
 * them and CMN_WIRE_BATCH_TAILROOM after, writable) in place as pipe t's
 * next RecordBatch; with a keep log, append it there. *start, returns the
 * length; 0 when the keep log refused it (counted as a send error). */
static size_t s_frame(struct spl_node *node, uint32_t t, uint32_t collector_id,
                      struct cmn_record *recs, size_t n, uint8_t **start)
{
    uint64_t first = UINT64_MAX, last = 0;
    for (size_t i = 0; i < n; i++) {
        first = recs[i].ts_ns < first ? recs[i].ts_ns : first;
        last = recs[i].ts_ns > last ? recs[i].ts_ns : last;
    }
    uint64_t seq = node->pipes[t].seq + 1;
    size_t len =
        cmn_wire_frame_batch((uint8_t *)recs, n, collector_id, seq, n ? first : 0, last, start);
    struct spl_keep *k = node->pipes[t].keep;
    return k && spl_keep_append(k, *start, len, SPL_KEEP_BATCH, seq) != 0 ? 0 : len;
}

/* A framed message failed to go out: the keep log forgets it too. */
static int s_unkeep_failed(struct spl_node *node, uint32_t t, int rc)
{
    if (rc < 0 && node->pipes[t].keep)
        spl_keep_unappend(node->pipes[t].keep);
    return rc;
}

/* A RecordBatch of the n records at recs (room around them as for s_frame)
 * into pipe t's spill file. Returns 0 or -errno. */
static int s_spill_batch(struct spl_node *node, uint32_t t, uint32_t collector_id,
                         struct cmn_record *recs, size_t n)
{
    uint8_t *start;
    size_t len = s_frame(node, t, collector_id, recs, n, &start);
    if (!len)
        return -EIO;
    return s_unkeep_failed(node, t, s_pipe_spill(node, t, start, len));
}

/* spl_emit_fn: one out-batch onto a tracker pipe. */
static void s_emit(void *arg, uint32_t t, uint32_t collector_id, const struct cmn_record *recs,
                   size_t n)
{
    struct spl_node *node = arg;
    struct s_pipe *p = &node->pipes[t];
    bool direct = s_pipe_direct(node, t);
    if (direct && !p->keep) {
        s_account(node, p, cmn_wire_send_batch(p->sock, collector_id, p->seq + 1, recs, n, 0), n);
        return;
    }
    size_t bytes = CMN_WIRE_BATCH_HEADROOM + n * sizeof(*recs) + CMN_WIRE_BATCH_TAILROOM;
    uint8_t *buf = malloc(bytes);
    if (!buf)
        abort();
    memcpy(buf + CMN_WIRE_BATCH_HEADROOM, recs, n * sizeof(*recs));
    struct cmn_record *r = (struct cmn_record *)(void *)(buf + CMN_WIRE_BATCH_HEADROOM);
    int rc;
    if (direct) { /* with a keep log: framed once, kept, sent */
        uint8_t *start;
        size_t len = s_frame(node, t, collector_id, r, n, &start);
        rc = !len ? -EIO : s_unkeep_failed(node, t, cmn_wire_send_bytes(p->sock, start, len, 0));
    } else {
        rc = s_spill_batch(node, t, collector_id, r, n);
    }
    s_account(node, p, rc, n);
    free(buf);
}

/* spl_emit_own_fn: an out-batch built in a pool buffer, sent without copying. */
static void s_emit_own(void *arg, uint32_t t, uint32_t collector_id, struct cmn_record *recs,
                       size_t n)
{
    struct spl_node *node = arg;
    struct s_pipe *p = &node->pipes[t];
    if (s_pipe_direct(node, t)) {
        uint8_t *start; /* with a keep log: kept first (the pool send frames it the same way) */
        if (p->keep && !s_frame(node, t, collector_id, recs, n, &start)) {
            cmn_wire_pool_put(node->pool, recs);
            s_account(node, p, -EIO, n);
            return;
        }
        s_account(node, p,
                  s_unkeep_failed(node, t,
                                  cmn_wire_pool_send(p->sock, node->pool, collector_id, p->seq + 1,
                                                     &recs, n, 0)),
                  n);
        return;
    }
    s_account(node, p, s_spill_batch(node, t, collector_id, recs, n), n);
    cmn_wire_pool_put(node->pool, recs);
}

static struct cmn_record *s_take(void *arg)
{
    struct spl_node *node = arg;
    return cmn_wire_pool_get(node->pool);
}

static void s_put(void *arg, struct cmn_record *recs)
{
    struct spl_node *node = arg;
    cmn_wire_pool_put(node->pool, recs);
}

static void s_send(struct spl_node *node, void *sock, Renkei__Envelope *env)
{
    if (cmn_wire_send(sock, env, 0) < 0)
        node->send_errors++;
}

/* Send packed bytes to the merger and, with merger_ack, keep them (taken). */
static void s_send_kept_bytes(struct spl_node *node, uint8_t *data, size_t len)
{
    if (!data) {
        node->send_errors++;
        return;
    }
    if (cmn_wire_send_bytes(node->merger, data, len, 0) < 0)
        node->send_errors++;
    if (!node->ack) {
        free(data);
        return;
    }
    if (node->nkept == node->capkept) {
        node->capkept = node->capkept ? 2 * node->capkept : 16;
        node->kept = realloc(node->kept, node->capkept * sizeof(*node->kept));
        if (!node->kept)
            abort();
    }
    node->kept[node->nkept++] = (struct s_kept){data, len};
}

/* The same for an envelope. */
static void s_send_kept(struct spl_node *node, Renkei__Envelope *env)
{
    size_t len;
    uint8_t *data = cmn_wire_pack(env, &len);
    s_send_kept_bytes(node, data, len);
}

/* Drop the kept DnsNames an Ack covers (seq <= upto), or the oldest one
 * (upto = 0, to make room). */
static void s_dns_release(struct spl_node *node, uint64_t upto)
{
    while (node->dhead < node->ndkept && (upto ? node->dkept[node->dhead].seq <= upto : true)) {
        struct s_dns_kept *k = &node->dkept[node->dhead++];
        node->dkept_bytes -= k->len;
        free(k->data);
        if (!upto)
            break;
    }
    if (node->dhead == node->ndkept)
        node->dhead = node->ndkept = 0;
}

/* Forward passive DNS names to the merger. With merger_ack each message is
 * numbered and kept until acknowledged (memcap SPL_DNS_KEEP_BYTES; past it
 * the oldest goes, counted in dns_messages_unkept), and sent again to a
 * merger that connects again: the merger takes each seq once. */
static void s_forward_dns(struct spl_node *node, Renkei__Envelope *env)
{
    if (!node->ack) {
        env->dns_names->seq = 0; /* numbers are the splitter's to give */
        s_send(node, node->merger, env);
        return;
    }
    env->dns_names->seq = ++node->dns_seq;
    size_t len;
    uint8_t *data = cmn_wire_pack(env, &len);
    if (!data) {
        node->send_errors++;
        return;
    }
    if (cmn_wire_send_bytes(node->merger, data, len, 0) < 0)
        node->send_errors++;
    while (node->dhead < node->ndkept && node->dkept_bytes + len > SPL_DNS_KEEP_BYTES) {
        s_dns_release(node, 0);
        node->dns_unkept++;
    }
    if (len > SPL_DNS_KEEP_BYTES) {
        node->dns_unkept++;
        free(data);
        return;
    }
    if (node->dhead > 0 && node->ndkept == node->capdkept) { /* compact */
        memmove(node->dkept, node->dkept + node->dhead,
                (node->ndkept - node->dhead) * sizeof(*node->dkept));
        node->ndkept -= node->dhead;
        node->dhead = 0;
    }
    if (node->ndkept == node->capdkept) {
        node->capdkept = node->capdkept ? 2 * node->capdkept : 64;
        node->dkept = realloc(node->dkept, node->capdkept * sizeof(*node->dkept));
        if (!node->dkept)
            abort();
    }
    node->dkept[node->ndkept++] = (struct s_dns_kept){data, len, node->dns_seq};
    node->dkept_bytes += len;
}

/* Acks from the merger; a merger that connected again gets Hello{replay},
 * the DnsNames it has not acknowledged and the end of the run as far as it
 * was sent. */
static void s_replay_poll(struct spl_node *node)
{
    if (!node->ack)
        return;
    for (;;) {
        int err = 0;
        Renkei__Envelope *env = cmn_wire_recv(node->ack, ZMQ_DONTWAIT, &err);
        if (!env)
            break;
        /* the latest Ack counts: the merger says final_committed from its
         * final commit (which may come before our own end of stream is out:
         * the trackers' final results complete it) until a new run starts */
        if (env->body_case == RENKEI__ENVELOPE__BODY_ACK) {
            node->final_acked = env->ack->final_committed;
            if (!env->ack->final_committed && env->ack->run_started_ns)
                node->run_ns = env->ack->run_started_ns;
            if (env->ack->dns_seq)
                s_dns_release(node, env->ack->dns_seq);
        }
        cmn_wire_free(&env);
    }
    int ev;
    while ((ev = cmn_wire_monitor_event(node->mmon)) != -EAGAIN) {
        if (ev != ZMQ_EVENT_HANDSHAKE_SUCCEEDED || ++node->mhandshakes < 2)
            continue;
        CMN_LOG(NOTICE,
                "merger %s connected again: sending Hello, %zu DNS name messages and %zu "
                "end-of-run messages again",
                node->cfg.merger, node->ndkept - node->dhead, node->nkept);
        if (cmn_wire_send_hello_splitter(node->merger, node->cfg.listen, node->cfg.tracker_count,
                                         node->vac, node->nvac, true, false, 0) < 0)
            node->send_errors++;
        for (size_t i = node->dhead; i < node->ndkept; i++)
            if (cmn_wire_send_bytes(node->merger, node->dkept[i].data, node->dkept[i].len, 0) == 0)
                node->messages_resent++;
        for (size_t i = 0; i < node->nkept; i++)
            if (cmn_wire_send_bytes(node->merger, node->kept[i].data, node->kept[i].len, 0) == 0)
                node->messages_resent++;
    }
}

static void s_flush_all(struct spl_node *node)
{
    spl_shard_flush(node->shard);
}

/* ---- counters --------------------------------------------------------------- */

static uint64_t s_coll_batches_lost(const struct s_coll *c)
{
    uint64_t tail =
        c->batches_sent > c->batches_received ? c->batches_sent - c->batches_received : 0;
    /* Gaps see losses in the middle, EOS totals see a lost tail too; never add both. */
    return c->ended && tail > c->gap_batches ? tail : c->gap_batches;
}

static uint64_t s_coll_records_lost(const struct s_coll *c)
{
    return c->records_sent > c->records_received ? c->records_sent - c->records_received : 0;
}

/* Every counter, into an allocated array whose names live in an arena after
 * it. Caller frees the returned pointer (one allocation). */
static struct cmn_counter *s_counters(const struct spl_node *node, size_t *n /* OUT */)
{
    enum { FIXED = 56 };
    struct spl_dedup_stats ds;
    spl_dedup_stats(node->dedup, &ds);
    size_t npairs = spl_dedup_pairs(node->dedup, NULL, 0);
    size_t cap = FIXED + node->ncoll * 6 + node->npipes * 3 + npairs;
    struct cmn_counter *c = malloc(cap * sizeof(*c) + cap * SPL_COUNTER_NAME);
    if (!c)
        abort();
    char *arena = (char *)(c + cap);
    size_t k = 0;
    uint64_t rec_recv = 0, bat_recv = 0, bat_lost = 0, rec_lost = 0, copies = 0, bat_fwd = 0;
    for (size_t i = 0; i < node->ncoll; i++) {
        const struct s_coll *cl = &node->coll[i];
        rec_recv += cl->records_received;
        bat_recv += cl->batches_received;
        bat_lost += s_coll_batches_lost(cl);
        if (cl->ended)
            rec_lost += s_coll_records_lost(cl);
    }
    for (uint32_t t = 0; t < node->npipes; t++) {
        copies += node->pipes[t].records_sent;
        bat_fwd += node->pipes[t].batches_sent;
    }
    rec_lost += node->records_send_failed;

#define S_FIXED(nm, v) c[k++] = (struct cmn_counter){.name = (nm), .value = (v)}
    S_FIXED("records_received", rec_recv);
    S_FIXED("records_forwarded", node->records_forwarded);
    S_FIXED("records_copies", copies);
    S_FIXED("batches_received", bat_recv);
    S_FIXED("batches_forwarded", bat_fwd);
    S_FIXED("batches_lost", bat_lost);
    S_FIXED("records_lost", rec_lost);
    S_FIXED("malformed_messages", node->malformed_messages);
    S_FIXED("unexpected_messages", node->unexpected_messages);
    S_FIXED("records_late", node->records_late);
    S_FIXED("epochs_flushed", node->epochs_flushed);
    S_FIXED("epochs_untracked", node->epochs_untracked);
    S_FIXED("batches_reordered", node->batches_reordered);
    S_FIXED("collector_resumes", node->collector_resumes);
    S_FIXED("batches_duplicate", node->batches_duplicate);
    S_FIXED("records_duplicate", node->records_duplicate);
    S_FIXED("messages_resent", node->messages_resent);
    S_FIXED("dns_messages_unkept", node->dns_unkept);
    S_FIXED("messages_spilled", node->spilled);
    S_FIXED("messages_unspilled", node->unspilled);
    S_FIXED("spill_bytes", s_spill_bytes(node));
    S_FIXED("send_errors", node->send_errors);
    S_FIXED("records_send_failed", node->records_send_failed);
    S_FIXED("collectors_seen", node->ncoll);
    S_FIXED("collectors_ended", node->nended);
    S_FIXED("collectors_expected", node->cfg.collectors);
    S_FIXED("trackers", node->cfg.tracker_count);
    S_FIXED("epoch_seconds", node->cfg.epoch_seconds);
    S_FIXED("next_epoch", node->next_epoch);
    S_FIXED("duplicates_removed", ds.duplicates_removed);
    S_FIXED("dedup_window_us", node->cfg.dedup_window_us);
    S_FIXED("dedup_held", ds.held);
    S_FIXED("dedup_held_max", ds.held_max);
    S_FIXED("dedup_late", ds.late);
    S_FIXED("dedup_forced", ds.forced);
    S_FIXED("dedup_evicted_early", ds.evicted_early);
    S_FIXED("dedup_untracked", ds.untracked);
    S_FIXED("dns_messages_forwarded", node->dns_messages);
    S_FIXED("dns_names_forwarded", node->dns_names);
    S_FIXED("connections_refused", cmn_curve_refused());
    S_FIXED("connections_closed", cmn_curve_closed());
    S_FIXED("collectors_down", node->ndown);
    S_FIXED("collectors_missing", node->missing_given_up && node->cfg.collectors > node->ncoll
                                      ? node->cfg.collectors - node->ncoll
                                      : 0);
    S_FIXED("trackers_down", node->ntrk_down);
    S_FIXED("impostor_messages", node->impostor_messages);
    S_FIXED("shard_maps_resent", node->shard_maps_resent);
    uint64_t kb = 0, kd = 0;
    for (uint32_t t = 0; t < node->npipes; t++)
        if (node->pipes[t].keep) {
            kb += spl_keep_bytes(node->pipes[t].keep);
            kd += spl_keep_dropped(node->pipes[t].keep);
        }
    S_FIXED("tracker_replays", node->tracker_replays);
    S_FIXED("handover_chunks", node->handover_chunks);
    S_FIXED("handover_bytes", node->handover_bytes);
    S_FIXED("handovers_incomplete", node->handovers_incomplete);
    S_FIXED("messages_replayed", node->messages_replayed);
    S_FIXED("keep_bytes", kb);
    S_FIXED("keep_dropped", kd);
    S_FIXED("checkpoints", node->checkpoints);
    S_FIXED("checkpoint_errors", node->checkpoint_errors);
    S_FIXED("records_retaken", node->records_retaken);
#undef S_FIXED
    assert(k == FIXED);

#define S_NAMED(v, ...)                                                                            \
    do {                                                                                           \
        char *nm_ = arena + k * SPL_COUNTER_NAME;                                                  \
        snprintf(nm_, SPL_COUNTER_NAME, __VA_ARGS__);                                              \
        c[k++] = (struct cmn_counter){.name = nm_, .value = (v)};                                  \
    } while (0)
    for (size_t i = 0; i < node->ncoll; i++) {
        const struct s_coll *cl = &node->coll[i];
        S_NAMED(cl->records_received, "collector.%" PRIu32 ".records_received", cl->id);
        S_NAMED(cl->records_sent, "collector.%" PRIu32 ".records_sent", cl->id);
        S_NAMED(cl->batches_received, "collector.%" PRIu32 ".batches_received", cl->id);
        S_NAMED(cl->batches_sent, "collector.%" PRIu32 ".batches_sent", cl->id);
        S_NAMED(s_coll_batches_lost(cl), "collector.%" PRIu32 ".batches_lost", cl->id);
        if (cl->down)
            S_NAMED(1, "collector.%" PRIu32 ".down", cl->id);
    }
    for (uint32_t t = 0; t < node->npipes; t++) {
        S_NAMED(node->pipes[t].records_sent, "tracker.%" PRIu32 ".records_sent", t);
        S_NAMED(node->pipes[t].batches_sent, "tracker.%" PRIu32 ".batches_sent", t);
        if (node->pipes[t].down)
            S_NAMED(1, "tracker.%" PRIu32 ".down", t);
    }
    if (npairs > 0) {
        struct spl_dedup_pair *pr = malloc(npairs * sizeof(*pr));
        if (!pr)
            abort();
        spl_dedup_pairs(node->dedup, pr, npairs);
        for (size_t i = 0; i < npairs; i++)
            S_NAMED(pr[i].count, "dup.%" PRIu32 ".%" PRIu32, pr[i].a, pr[i].b);
        free(pr);
    }
#undef S_NAMED
    *n = k;
    return c;
}

uint64_t spl_node_counter(const struct spl_node *node, const char *name)
{
    size_t n;
    struct cmn_counter *c = s_counters(node, &n);
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(c[i].name, name) == 0)
            v = c[i].value;
    free(c);
    return v;
}

/* Counters of s_counters that go up and down (cmn_metrics types the rest
 * as counters). */
static const char *const s_gauges[] = {
    "dedup_window_us",  "dedup_held",         "dedup_held_max",
    "collectors_seen",  "collectors_ended",   "collectors_expected",
    "trackers",         "epoch_seconds",      "next_epoch",
    "collectors_down",  "collectors_missing", "trackers_down",
    "collector.*.down", "tracker.*.down",     NULL,
};

static bool s_watermark(const struct spl_node *node, uint64_t *w, bool *inf);

/* The same counters as the Stats message, plus what only the endpoint shows. */
static void s_publish(const struct spl_node *node, const struct cmn_counter *c, size_t n,
                      bool final)
{
    if (!node->cfg.metrics)
        return;
    struct cmn_metric *x = calloc(node->ncoll + 2, sizeof(*x));
    char(*peer)[24] = calloc(node->ncoll + 1, sizeof(*peer));
    if (!x || !peer)
        abort();
    size_t k = 0;
    x[k++] = (struct cmn_metric){.name = "final",
                                 .type = CMN_METRIC_GAUGE,
                                 .value = final,
                                 .help = "1 once the run ended and the final stats were sent"};
    uint64_t w = 0, now = cmn_now_ns(), mono = cmn_mono_ns();
    bool inf = false;
    if (s_watermark(node, &w, &inf) && !inf && w > 0)
        x[k++] = (struct cmn_metric){
            .name = "lag_seconds",
            .type = CMN_METRIC_GAUGE_REAL,
            .real = ((double)now - (double)w) / 1e9,
            .help = "wall clock minus the epoch watermark (capture time): how far behind live "
                    "traffic the epochs close (large for a replayed capture)"};
    for (size_t i = 0; i < node->ncoll; i++) {
        snprintf(peer[i], sizeof(peer[i]), "collector.%" PRIu32, node->coll[i].id);
        x[k++] = (struct cmn_metric){
            .name = "peer_last_heard_seconds",
            .type = CMN_METRIC_GAUGE_REAL,
            .real = (double)(mono - node->coll[i].heard_ns) / 1e9,
            .peer = peer[i],
            .help = "seconds since the peer's last message (liveness_timeout marks it down)"};
    }
    cmn_metrics_publish(node->cfg.metrics, c, n, s_gauges, x, k);
    free(x);
    free(peer);
}

static void s_stats(struct spl_node *node, bool final)
{
    size_t n;
    struct cmn_counter *c = s_counters(node, &n);
    s_publish(node, c, n, final);
    if (final) {
        size_t len;
        uint8_t *d = cmn_wire_pack_stats(RENKEI__NODE_KIND__NODE_SPLITTER, 0, node->cfg.listen,
                                         true, c, n, &len);
        s_send_kept_bytes(node, d, len);
    } else if (cmn_wire_send_stats(node->merger, RENKEI__NODE_KIND__NODE_SPLITTER, 0,
                                   node->cfg.listen, false, c, n, 0) < 0) {
        node->send_errors++;
    }
    /* c[0..] order is fixed above: received, forwarded, copies, batches... */
    CMN_LOG(NOTICE,
            "%s%" PRIu64 " records in %" PRIu64 " batches from %zu/%" PRIu32
            " collectors (%zu ended); %" PRIu64 " copies in %" PRIu64 " batches to %" PRIu32
            " trackers; lost %" PRIu64 " batches, %" PRIu64 " records; %" PRIu64
            " malformed; %" PRIu64 " epochs flushed; %" PRIu64 " duplicates removed",
            final ? "final: " : "", c[0].value, c[3].value, node->ncoll, node->cfg.collectors,
            node->nended, c[2].value, c[4].value, node->cfg.tracker_count, c[5].value, c[6].value,
            c[7].value, node->epochs_flushed, c[21].value);
    free(c);
}

/* ---- epochs ----------------------------------------------------------------- */

/* Remember that epoch e had traffic. */
static void s_epoch_mark(struct spl_node *node, uint64_t e)
{
    size_t lo = 0, hi = node->npending;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (node->pending[mid] < e)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < node->npending && node->pending[lo] == e)
        return;
    if (node->npending == SPL_EPOCHS_MAX) {
        /* Its records still go out; they are reported with the next flushed epoch. */
        node->epochs_untracked++;
        return;
    }
    memmove(&node->pending[lo + 1], &node->pending[lo],
            (node->npending - lo) * sizeof(node->pending[0]));
    node->pending[lo] = e;
    node->npending++;
}

/* The watermark, or false while it must hold (see spl_node.h). *inf: no live
 * collector in daemon mode, so everything received is complete. */
static bool s_watermark(const struct spl_node *node, uint64_t *w /* OUT */, bool *inf /* OUT */)
{
    if (node->cfg.collectors > 0 && node->ncoll < node->cfg.collectors && !node->missing_given_up)
        return false;
    uint64_t min = UINT64_MAX;
    size_t live = 0;
    for (size_t i = 0; i < node->ncoll; i++) {
        const struct s_coll *c = &node->coll[i];
        if (c->ended || c->down)
            continue;
        live++;
        /* what it sent, or what its heartbeats promise it will not send
         * below (a live port that is idle) */
        uint64_t at = c->max_ts_ns > c->from_ns ? c->max_ts_ns : c->from_ns;
        if (at == 0)
            return false;
        if ((c->promise_hold || c->hold_upto) && node->retake_any && at > node->retake_ts + 1)
            at = node->retake_ts + 1; /* what it sends again is older: not released yet */
        if (at < min)
            min = at;
    }
    if (live == 0) {
        /* With expected collectors, end of stream is the final flush. */
        if (node->cfg.collectors > 0)
            return false;
        *inf = true;
        *w = UINT64_MAX;
        return true;
    }
    *inf = false;
    *w = min;
    return true;
}

static void s_ckpt_write(struct spl_node *node);

/* Flush every pending epoch below `closed` (UINT64_MAX: all): records
 * already routed go out first, so on every pipe an epoch's records precede
 * its EpochFlush. Records of those epochs that arrive later are late. */
static void s_epoch_flush_below(struct spl_node *node, uint64_t closed)
{
    if (node->npending == 0 || node->pending[0] >= closed)
        return;
    s_flush_all(node);
    size_t k = 0;
    uint64_t last = 0;
    for (; k < node->npending && node->pending[k] < closed; k++) {
        Renkei__EpochFlush f = RENKEI__EPOCH_FLUSH__INIT;
        f.epoch = node->pending[k];
        f.epoch_ns = node->epoch_ns;
        Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
        env.body_case = RENKEI__ENVELOPE__BODY_FLUSH;
        env.flush = &f;
        for (uint32_t t = 0; t < node->cfg.tracker_count; t++)
            if (s_member(node, t))
                s_pipe_send(node, t, &env);
        node->epochs_flushed++;
        last = node->pending[k];
        CMN_DEBUG("epoch %" PRIu64 " flushed", last);
    }
    memmove(node->pending, node->pending + k, (node->npending - k) * sizeof(node->pending[0]));
    node->npending -= k;
    uint64_t next = closed == UINT64_MAX ? last + 1 : closed;
    if (next > node->next_epoch)
        node->next_epoch = next;
    node->flushed_any = true;
    node->last_flushed = last;
    node->ck_due = true; /* written once the release that flushed is over (s_release) */
}

/* Epochs below the returned one are complete by the watermark (UINT64_MAX
 * when every stream ended, 0 when nothing is known yet). */
static uint64_t s_epochs_closed(struct spl_node *node)
{
    uint64_t w;
    bool inf;
    if (!s_watermark(node, &w, &inf))
        return 0;
    return inf ? UINT64_MAX : w / node->epoch_ns;
}

/* Flush every pending epoch the watermark has passed. */
static void s_epoch_advance(struct spl_node *node)
{
    if (node->npending > 0)
        s_epoch_flush_below(node, s_epochs_closed(node));
}

/* spl_dedup_out_fn: records leaving the hold, in merged time order, duplicates
 * already dropped. Marks the epochs that have traffic and routes them. A
 * record of a later epoch than a pending one first closes the pending epochs
 * the watermark has completed, so a tracker counts each record in the epoch of
 * its timestamp whatever the batching and timing (a record released by the
 * watermark proves every epoch before its own complete; one forced out of a
 * full hold does not, hence the watermark bound). */
static void s_on_release(void *arg, const struct cmn_record *recs, size_t n)
{
    struct spl_node *node = arg;
    uint64_t prev_e = UINT64_MAX;
    size_t from = 0; /* records [from, i) not yet routed */
    for (size_t i = 0; i < n; i++) {
        uint64_t e = recs[i].ts_ns / node->epoch_ns;
        if (e < node->next_epoch) {
            node->records_late++;
            continue;
        }
        if (e == prev_e)
            continue;
        prev_e = e;
        if (node->npending > 0 && node->pending[0] < e) {
            uint64_t closed = s_epochs_closed(node);
            if (closed > e)
                closed = e;
            if (node->pending[0] < closed) {
                spl_shard_burst(node->shard, recs + from, i - from, cmn_mono_ns());
                node->records_forwarded += i - from;
                from = i;
                s_epoch_flush_below(node, closed);
            }
        }
        s_epoch_mark(node, e);
    }
    spl_shard_burst(node->shard, recs + from, n - from, cmn_mono_ns());
    node->records_forwarded += n - from;
}

/* Release what the watermark has made final, then close the epochs it passed.
 * Every live collector has sent a record at or after the watermark w, so no
 * record before w can still arrive (streams are time-ordered per collector):
 * the hold releases ts <= w - 1, and epochs below w / L are then complete. */
static void s_release(struct spl_node *node)
{
    if (node->handover)
        return; /* records wait for the new map (spl_dedup holds them) */
    uint64_t w;
    bool inf;
    if (s_watermark(node, &w, &inf)) {
        uint64_t upto = inf ? UINT64_MAX : w - 1;
        spl_dedup_release(node->dedup, upto);
        if (!node->rel_any || upto > node->rel) {
            node->rel = upto;
            node->rel_any = true;
        }
        for (size_t i = 0; node->cfg.state_dir && i < node->ncoll; i++) {
            struct s_coll *c = &node->coll[i]; /* batches now wholly forwarded */
            while (c->pn && c->pend[c->phead].max_ts <= node->rel) {
                c->phead = (c->phead + 1) % c->pcap;
                c->pn--;
            }
        }
    }
    s_epoch_advance(node);
    if (node->ck_due) {
        /* epochs were flushed (perhaps in the middle of the release): once
         * every record up to rel is on its pipe, the state is whole */
        node->ck_due = false;
        s_flush_all(node);
        s_ckpt_write(node);
    }
}

/* Remember batch (seq, max_ts) of collector c until it is wholly forwarded. */
static void s_pend_push(struct s_coll *c, uint64_t seq, uint64_t max_ts)
{
    if (c->pn == c->pcap) {
        size_t cap = c->pcap ? 2 * c->pcap : 64;
        struct s_pend *p = malloc(cap * sizeof(*p));
        if (!p)
            abort();
        for (size_t i = 0; i < c->pn; i++)
            p[i] = c->pend[(c->phead + i) % c->pcap];
        free(c->pend);
        c->pend = p;
        c->pcap = cap;
        c->phead = 0;
    }
    size_t i = c->pn++; /* sorted by seq: a batch sent again may come after later ones */
    while (i > 0 && c->pend[(c->phead + i - 1) % c->pcap].seq > seq) {
        c->pend[(c->phead + i) % c->pcap] = c->pend[(c->phead + i - 1) % c->pcap];
        i--;
    }
    c->pend[(c->phead + i) % c->pcap] = (struct s_pend){seq, max_ts, UINT64_MAX};
}

/* The pending entry of batch `seq` (searched from the newest), or NULL. */
static struct s_pend *s_pend_find(struct s_coll *c, uint64_t seq)
{
    for (size_t i = c->pn; i-- > 0;) {
        struct s_pend *p = &c->pend[(c->phead + i) % c->pcap];
        if (p->seq == seq)
            return p;
        if (p->seq < seq)
            break;
    }
    return NULL;
}

/* Batch `seq`'s records (n, possibly fewer than it had: a retake) into the
 * hold; their place in the collector's stream is noted for a checkpoint. */
static void s_dedup_push(struct spl_node *node, struct s_coll *c, uint64_t seq,
                         const struct cmn_record *recs, size_t n)
{
    struct s_pend *p = node->cfg.state_dir ? s_pend_find(c, seq) : NULL;
    if (p && p->start == UINT64_MAX) /* a retake keeps its place: the skipped part was out */
        p->start = c->pushed;
    c->pushed += n;
    if (n)
        spl_dedup_push(node->dedup, c->src, recs, n);
}

/* The last batch seq of collector c whose records are all forwarded. */
static uint64_t s_coll_acked(const struct s_coll *c)
{
    return c->pn ? c->pend[c->phead].seq - 1 : c->last_seq;
}

/* ---- collectors ------------------------------------------------------------- */

static struct s_coll *s_coll_find(struct spl_node *node, uint32_t id)
{
    for (size_t i = 0; i < node->ncoll; i++)
        if (node->coll[i].id == id)
            return &node->coll[i];
    return NULL;
}

/* Find or create. NULL (counted) when over SPL_COLLECTORS_MAX or out-batches fail. */
static struct s_coll *s_coll_get(struct spl_node *node, uint32_t id)
{
    struct s_coll *c = s_coll_find(node, id);
    if (c)
        return c;
    if (node->ncoll == SPL_COLLECTORS_MAX) {
        node->unexpected_messages++;
        return NULL;
    }
    if (node->ncoll == node->capcoll) {
        size_t cap = node->capcoll ? node->capcoll * 2 : 8;
        struct s_coll *nc = realloc(node->coll, cap * sizeof(*nc));
        if (!nc)
            abort();
        node->coll = nc;
        node->capcoll = cap;
    }
    int src = spl_dedup_source(node->dedup, id);
    if (src < 0) {
        node->unexpected_messages++;
        return NULL;
    }
    c = &node->coll[node->ncoll++];
    memset(c, 0, sizeof(*c));
    c->id = id;
    c->src = src;
    c->heard_ns = cmn_mono_ns();
    snprintf(c->name, sizeof(c->name), "collector %" PRIu32, id);
    CMN_LOG(INFO, "collector %" PRIu32 " joined (%zu seen)", id, node->ncoll);
    return c;
}

static bool s_bit(const uint64_t *w, uint64_t seq)
{
    return (w[(seq % SPL_SEQ_WIN) / 64] >> (seq % 64)) & 1;
}

/* Whether batch `seq` of collector c arrived already. */
static bool s_seq_have(const struct s_coll *c, uint64_t seq)
{
    return seq <= c->contig || (seq - c->contig <= SPL_SEQ_WIN && s_bit(c->seen, seq));
}

/* Whether the process before a restart had batch `seq` (restored collectors). */
static bool s_seq_had(const struct s_coll *c, uint64_t seq)
{
    return seq <= c->old_contig ||
           (c->old_seen && seq - c->old_contig <= SPL_SEQ_WIN && s_bit(c->old_seen, seq));
}

/* Batch `seq` arrived. Past the window, the oldest unarrived seqs are
 * given up (they were counted in the gap when passed). */
static void s_seq_mark(struct s_coll *c, uint64_t seq)
{
    while (seq - c->contig > SPL_SEQ_WIN) {
        c->contig++;
        c->seen[(c->contig % SPL_SEQ_WIN) / 64] &= ~(1ull << (c->contig % 64));
    }
    c->seen[(seq % SPL_SEQ_WIN) / 64] |= 1ull << (seq % 64);
    while (s_bit(c->seen, c->contig + 1)) {
        c->contig++;
        c->seen[(c->contig % SPL_SEQ_WIN) / 64] &= ~(1ull << (c->contig % 64));
    }
}

/* contig, with the seqs a resumed collector gave up counted as had: what
 * the holds wait for (a late one of them is still taken, s_seq_have). */
static uint64_t s_seq_done(const struct s_coll *c)
{
    uint64_t k = c->contig;
    if (c->given_up > k) {
        k = c->given_up;
        while (k - c->contig < SPL_SEQ_WIN && s_bit(c->seen, k + 1))
            k++;
    }
    return k;
}

/* A new sequence (a collector started again without a state file). */
static void s_seq_reset(struct s_coll *c)
{
    c->contig = 0;
    c->given_up = 0;
    memset(c->seen, 0, sizeof(c->seen));
}

/* A batch a collector sends again to a splitter restarted from its
 * checkpoint, one that reached the process before: it was counted then,
 * and the records of it that had left the hold by the checkpoint (the
 * first ck_out of the collector's stream: released, forced out early or
 * dropped as copies) were dealt with; the rest were held and died with that
 * process: those are taken again (copied to out, returns how many). A batch
 * the checkpoint does not list as pending had left the hold whole. */
static size_t s_retake(struct spl_node *node, struct s_coll *c, uint64_t seq,
                       const struct cmn_record *recs, size_t n, struct cmn_record *out)
{
    const struct s_pend *p = s_pend_find(c, seq);
    if (!p)
        return 0;
    size_t skip = p->start == UINT64_MAX || c->ck_out <= p->start ? 0
                  : c->ck_out - p->start >= n                     ? n
                                                                  : (size_t)(c->ck_out - p->start);
    if (n > skip)
        memcpy(out, (const uint8_t *)recs + skip * sizeof(*out), (n - skip) * sizeof(*out));
    node->records_retaken += n - skip;
    return n - skip;
}

/* Into the hold, in batch order: while a restored collector sends again
 * what the checkpoint held, its newer batches (queued before it knew)
 * wait here until the holes before them are filled, so its records enter
 * the hold in time order. */
static void s_hold_push(struct spl_node *node, struct s_coll *c, uint64_t seq,
                        const struct cmn_record *recs, size_t n)
{
    if (c->hold_upto && seq > s_seq_done(c)) {
        if (c->nstash == c->capstash) {
            c->capstash = c->capstash ? 2 * c->capstash : 64;
            c->stash = realloc(c->stash, c->capstash * sizeof(*c->stash));
            if (!c->stash)
                abort();
        }
        struct cmn_record *r = malloc(n ? n * sizeof(*r) : 1);
        if (!r)
            abort();
        if (n)
            memcpy(r, recs, n * sizeof(*r));
        size_t i = c->nstash++; /* sorted by seq */
        while (i > 0 && c->stash[i - 1].seq > seq) {
            c->stash[i] = c->stash[i - 1];
            i--;
        }
        c->stash[i] = (struct s_stash){seq, r, n};
        return;
    }
    s_dedup_push(node, c, seq, recs, n);
    size_t k = 0;
    uint64_t done = c->hold_upto ? s_seq_done(c) : UINT64_MAX; /* the loop changes no seq */
    while (k < c->nstash && c->stash[k].seq <= done) {
        s_dedup_push(node, c, c->stash[k].seq, c->stash[k].r, c->stash[k].n);
        free(c->stash[k].r);
        k++;
    }
    if (k) {
        memmove(c->stash, c->stash + k, (c->nstash - k) * sizeof(*c->stash));
        c->nstash -= k;
    }
}

static void s_on_hello(struct spl_node *node, const Renkei__Hello *h)
{
    if (h->kind != RENKEI__NODE_KIND__NODE_COLLECTOR) {
        node->unexpected_messages++;
        return;
    }
    struct s_coll *c = s_coll_get(node, h->node_id);
    if (!c)
        return;
    if (h->name && h->name[0])
        snprintf(c->name, sizeof(c->name), "%s", h->name);
    if (h->resume_seq > 0) {
        /* A collector resuming its run after a crash (collector/col_state.h):
         * its sequence and totals go on; what died with the old process
         * shows as a seq gap and in the totals of its end of stream. */
        node->collector_resumes++;
        c->promise_hold = false; /* it sends again what it kept, then its promises hold */
        /* it kept nothing before resume_seq: those are lost, but the old
         * process's last batches may still be queued on its connection
         * (ZeroMQ takes connections in turn): they are taken if they come */
        if (h->resume_seq > c->contig + 1 && h->resume_seq - 1 > c->given_up)
            c->given_up = h->resume_seq - 1;
        if (c->hold_upto && s_seq_done(c) >= c->last_seq) {
            c->hold_upto = 0; /* nothing to wait for */
            s_hold_push(node, c, 0, NULL, 0);
        }
        if (c->ended) {
            /* Its end of stream had arrived: everything it sent did. */
            c->ignoring = true;
            CMN_LOG(NOTICE,
                    "collector %" PRIu32 " (%s) resumed after its end of stream had arrived: "
                    "its messages are ignored",
                    c->id, c->name);
            return;
        }
        /* what it sends again that arrived already is dropped (s_seq_have) */
        CMN_LOG(NOTICE,
                "collector %" PRIu32 " (%s, pid %" PRIu32 ") resumed at batch %" PRIu64
                " (last one received %" PRIu64 ")",
                c->id, c->name, h->pid, h->resume_seq, c->last_seq);
        return;
    }
    c->ignoring = false;
    if (c->ended) {
        /* A new run of an ended collector (daemon mode): it counts as live again. */
        c->ended = false;
        node->nended--;
        c->last_seq = 0;
        s_seq_reset(c);
    } else if (c->last_seq > 0) {
        CMN_LOG(WARN,
                "collector %" PRIu32 " restarted without end of stream and without a state "
                "file: what it sends again is counted again",
                c->id);
        c->last_seq = 0;
        s_seq_reset(c);
    }
    c->base_batches = c->batches_sent;
    c->base_records = c->records_sent;
    CMN_LOG(INFO, "hello from collector %" PRIu32 " (%s, pid %" PRIu32 ")", c->id, c->name, h->pid);
}

/* Count a malformed message; log the first and then every power of two. */
static void s_malformed(struct spl_node *node, const char *why)
{
    uint64_t n = ++node->malformed_messages;
    if ((n & (n - 1)) == 0)
        CMN_LOG(WARN, "malformed message dropped (%" PRIu64 " so far): %s", n, why);
}

static void s_on_batch(struct spl_node *node, const struct cmn_wire_batch *b)
{
    const struct cmn_record *recs;
    long n = cmn_wire_view_records(b, &recs);
    if (n < 0) {
        s_malformed(node, "record array does not match its count, size or layout");
        return;
    }
    struct s_coll *c = s_coll_get(node, b->collector_id);
    if (!c)
        return;
    if (c->ignoring) {
        node->unexpected_messages++;
        return;
    }
    if (s_seq_have(c, b->seq)) { /* sent again (a collector resuming, a splitter restarted) */
        node->batches_duplicate++;
        node->records_duplicate += (uint64_t)n;
        return;
    }
    s_seq_mark(c, b->seq);
    if (c->hold_upto && !c->promise_hold && s_seq_done(c) >= c->last_seq && b->seq >= c->hold_upto)
        c->hold_upto = 0; /* what it sent again filled every hole: its watermark goes on */
    if (b->seq <= c->retake_upto && s_seq_had(c, b->seq)) {
        struct cmn_record *keep = malloc(n ? (size_t)n * sizeof(*keep) : 1);
        if (!keep)
            abort();
        s_hold_push(node, c, b->seq, keep, s_retake(node, c, b->seq, recs, (size_t)n, keep));
        free(keep);
        s_release(node);
        return;
    }
    if (b->seq > c->last_seq) {
        uint64_t gap = b->seq - c->last_seq - 1;
        if (gap > 0)
            CMN_LOG(WARN, "collector %" PRIu32 ": %" PRIu64 " batches missing before seq %" PRIu64,
                    c->id, gap, b->seq);
        c->gap_batches += gap;
        c->last_seq = b->seq;
    } else {
        /* Only across a restart: the old connection's last batches read
         * after the new one's first. It fills a hole counted as a gap. */
        node->batches_reordered++;
        if (c->gap_batches > 0)
            c->gap_batches--;
    }
    c->batches_received++;
    c->records_received += (uint64_t)n;

    /* Watermark input. Read through memcpy: the bytes field need not be
     * 8-byte aligned. */
    const uint8_t *raw = (const uint8_t *)recs;
    uint64_t bmax = 0;
    for (long i = 0; i < n; i++) {
        uint64_t ts;
        memcpy(&ts,
               raw + (size_t)i * sizeof(struct cmn_record) + offsetof(struct cmn_record, ts_ns),
               sizeof(ts));
        if (ts > bmax)
            bmax = ts;
    }
    if (bmax > c->max_ts_ns)
        c->max_ts_ns = bmax;
    if (node->cfg.state_dir && n > 0 && (!node->rel_any || bmax > node->rel))
        s_pend_push(c, b->seq, bmax);
    if (c->hold_upto || c->nstash) {
        struct cmn_record *copy = malloc(n ? (size_t)n * sizeof(*copy) : 1); /* aligned */
        if (!copy)
            abort();
        if (n)
            memcpy(copy, recs, (size_t)n * sizeof(*copy));
        s_hold_push(node, c, b->seq, copy, (size_t)n);
        free(copy);
    } else {
        s_dedup_push(node, c, b->seq, recs, (size_t)n);
    }
    s_release(node);
}

/* Forward a collector's final counters to the merger as a Stats message. */
static void s_forward_final_stats(struct spl_node *node, const struct s_coll *c, Renkei__Stats *st)
{
    if (!st) {
        struct cmn_counter cs[] = {
            {.name = "records_sent", .value = c->records_sent},
            {.name = "batches_sent", .value = c->batches_sent},
        };
        size_t len;
        uint8_t *d = cmn_wire_pack_stats(RENKEI__NODE_KIND__NODE_COLLECTOR, c->id, c->name, true,
                                         cs, 2, &len);
        s_send_kept_bytes(node, d, len);
        return;
    }
    st->kind = RENKEI__NODE_KIND__NODE_COLLECTOR;
    st->node_id = c->id;
    st->final = true;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_STATS;
    env.stats = st;
    s_send_kept(node, &env);
}

static void s_on_eos(struct spl_node *node, Renkei__EndOfStream *e)
{
    if (e->kind != RENKEI__NODE_KIND__NODE_COLLECTOR) {
        node->unexpected_messages++;
        return;
    }
    struct s_coll *c = s_coll_get(node, e->node_id);
    if (!c)
        return;
    if (c->ended || c->ignoring) {
        node->unexpected_messages++;
        return;
    }
    c->ended = true;
    node->nended++;
    /* this run's totals (a resumed run's count from its start) */
    c->batches_sent = c->base_batches + e->batches_sent;
    c->records_sent = c->base_records + e->records_sent;
    if (c->records_sent != c->records_received)
        CMN_LOG(WARN, "collector %" PRIu32 " (%s) sent %" PRIu64 " records, %" PRIu64 " arrived",
                c->id, c->name, c->records_sent, c->records_received);
    else
        CMN_LOG(INFO, "collector %" PRIu32 " (%s) ended: %" PRIu64 " records", c->id, c->name,
                c->records_received);
    s_forward_final_stats(node, c, e->final_stats);
    s_release(node);
}

/* A message from collector id: it is alive (back, if it was marked down). */
static void s_heard(struct spl_node *node, uint32_t id)
{
    struct s_coll *c = s_coll_find(node, id);
    if (!c)
        return;
    c->heard_ns = cmn_mono_ns();
    if (c->down) {
        c->down = false;
        node->ndown--;
        CMN_LOG(NOTICE, "collector %" PRIu32 " (%s) is back", c->id, c->name);
    }
}

/* A collector's heartbeat promise: no record below from_ns will follow. It
 * only ever moves forward (a heartbeat overtaken by another is no news);
 * the epochs it completes are flushed now, not at the next batch. */
static void s_on_promise(struct spl_node *node, uint32_t id, uint64_t from_ns)
{
    struct s_coll *c = s_coll_find(node, id);
    if (!c || from_ns <= c->from_ns || c->promise_hold)
        return;
    c->from_ns = from_ns;
    s_release(node);
}

static void s_handle(struct spl_node *node, const struct cmn_wire_msg *m)
{
    if (m->is_batch) {
        s_on_batch(node, &m->batch);
        s_heard(node, m->batch.collector_id);
        return;
    }
    Renkei__Envelope *env = m->env;
    switch (env->body_case) {
        case RENKEI__ENVELOPE__BODY_HEARTBEAT:
            if (env->heartbeat->kind == RENKEI__NODE_KIND__NODE_COLLECTOR &&
                s_coll_get(node, env->heartbeat->node_id)) {
                s_heard(node, env->heartbeat->node_id);
                s_on_promise(node, env->heartbeat->node_id, env->heartbeat->records_from_ns);
            } else
                node->unexpected_messages++;
            break;
        case RENKEI__ENVELOPE__BODY_HELLO:
            s_on_hello(node, env->hello);
            if (env->hello->kind == RENKEI__NODE_KIND__NODE_COLLECTOR)
                s_heard(node, env->hello->node_id);
            break;
        case RENKEI__ENVELOPE__BODY_EOS:
            s_on_eos(node, env->eos);
            if (env->eos->kind == RENKEI__NODE_KIND__NODE_COLLECTOR)
                s_heard(node, env->eos->node_id);
            break;
        case RENKEI__ENVELOPE__BODY_DNS_NAMES:
            /* passive DNS: on to the merger, as decoded (the merger upserts,
             * so the copies of redundant collectors do no harm) */
            node->dns_messages++;
            node->dns_names += env->dns_names->n_names;
            s_forward_dns(node, env);
            break;
        default:
            node->unexpected_messages++;
            break;
    }
}

static void s_check_done(struct spl_node *node)
{
    if (node->cfg.collectors == 0 || node->nended + node->ndown != node->ncoll ||
        (node->ncoll == 0 && !node->missing_given_up))
        return;
    if (node->ncoll >= node->cfg.collectors || node->missing_given_up) {
        if (node->ndown || node->ncoll < node->cfg.collectors)
            CMN_LOG(WARN,
                    "ending the stream without %zu collector(s) down and %zu never heard from: "
                    "their records are unverifiable",
                    node->ndown,
                    node->ncoll < node->cfg.collectors ? node->cfg.collectors - node->ncoll : 0);
        spl_node_finish(node);
    }
}

/* Mark collectors silent past liveness_timeout down; give up expected
 * collectors never heard from by then (spl_node.h, Liveness). Called with
 * the collector socket drained. */
static void s_liveness(struct spl_node *node, uint64_t now)
{
    if (node->cfg.liveness_timeout == 0 || node->done)
        return;
    uint64_t to = (uint64_t)node->cfg.liveness_timeout * 1000000000ull;
    bool changed = false;
    for (size_t i = 0; i < node->ncoll; i++) {
        struct s_coll *c = &node->coll[i];
        if (c->ended || c->down || now < c->heard_ns + to)
            continue;
        c->down = true;
        node->ndown++;
        changed = true;
        CMN_LOG(WARN,
                "collector %" PRIu32 " (%s) silent for %" PRIu32
                " s: marked down; the epoch watermark no longer waits for it",
                c->id, c->name, node->cfg.liveness_timeout);
    }
    if (!node->missing_given_up && node->cfg.collectors > node->ncoll &&
        now >= node->start_ns + to) {
        node->missing_given_up = true;
        changed = true;
        CMN_LOG(WARN,
                "%zu of %" PRIu32 " expected collectors heard from in %" PRIu32
                " s: going on without the others",
                node->ncoll, node->cfg.collectors, node->cfg.liveness_timeout);
    }
    if (changed) {
        s_release(node);
        s_check_done(node);
    }
}

/* ---- checkpoints (cfg.state_dir; docs/OPERATIONS.md "The splitter killed") ---- */

#define SPL_CKPT_NAME  "splitter.ckpt"
#define SPL_CKPT_MAGIC "RKSPLCK1"
#define SPL_CKPT_LAYOUT                                                                            \
    6u /* 4: run_ns; 5: pending batches' stream index, ck_out; 6: dedup window */
#define SPL_DNS_FILL_WAIT_MS 5000  /* restored: wait this long for the merger's Ack */
#define SPL_DNS_FILL_BLIND   65536 /* no Ack: numbers the process before may have used */

struct spl_ck_head {
    char magic[8];        /* SPL_CKPT_MAGIC */
    uint32_t layout;      /* SPL_CKPT_LAYOUT */
    uint32_t trackers;    /* tracker_count: another map is another run */
    uint64_t sizes;       /* struct sizes of this build, folded */
    uint64_t probe_seed;  /* the run's ShardMap.probe_seed (the trackers' probes use it) */
    uint64_t map_version; /* ShardMap.version */
    uint64_t nranges;     /* the shard map's ranges follow the state */
    uint64_t run_ns;      /* the merger's run_started_ns (0: not known) */
};

struct spl_ck_state {
    uint64_t rel, last_flushed, next_epoch, nended, ncoll, npending, nkept, ndkept, npairs;
    uint8_t rel_any, flushed_any, missing_given_up, pad[5];
};

static uint64_t s_ck_sizes(void)
{
    return sizeof(struct s_coll) | (uint64_t)sizeof(struct spl_ck_state) << 16 |
           (uint64_t)sizeof(struct spl_dedup_stats) << 32;
}

/* SplitterAck: per collector, what the newest checkpoint holds (never blocks). */
static void s_cack(struct spl_node *node)
{
    if (!node->cack)
        return;
    uint32_t *ids = malloc((node->ncoll + 1) * sizeof(*ids));
    uint64_t *seqs = malloc((node->ncoll + 1) * sizeof(*seqs));
    if (!ids || !seqs)
        abort();
    for (size_t i = 0; i < node->ncoll; i++) {
        ids[i] = node->coll[i].id;
        seqs[i] = node->coll[i].ck_acked;
    }
    Renkei__SplitterAck a = RENKEI__SPLITTER_ACK__INIT;
    a.final = node->done && (node->final_acked || !node->ack);
    a.n_collector_ids = a.n_seqs = node->ncoll;
    a.collector_ids = ids;
    a.seqs = seqs;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_SPLITTER_ACK;
    env.splitter_ack = &a;
    (void)cmn_wire_send(node->cack, &env, ZMQ_DONTWAIT);
    free(ids);
    free(seqs);
    node->next_cack_ns = cmn_mono_ns() + CMN_HEARTBEAT_MS * 1000000ull;
}

/* Write the checkpoint (right after a round of EpochFlush, or at the start
 * of a run): collectors, epochs, pipes, counters, what is kept for the
 * merger; the hold is not in it: its records come again from the
 * collectors, which keep every batch after s_coll_acked. */
static void s_ckpt_write(struct spl_node *node)
{
    if (!node->cfg.state_dir)
        return;
    struct cmn_ckpt c;
    if (cmn_ckpt_open_write(&c, node->cfg.state_dir, SPL_CKPT_NAME) != 0) {
        node->checkpoint_errors++;
        return;
    }
    size_t nranges;
    const struct cmn_shard_range *ranges = cmn_shard_ranges(node->map, &nranges);
    struct spl_ck_head hd = {.layout = SPL_CKPT_LAYOUT,
                             .trackers = node->cfg.tracker_count,
                             .probe_seed = node->probe_seed,
                             .map_version = node->map_version,
                             .nranges = nranges,
                             .run_ns = node->run_ns};
    memcpy(hd.magic, SPL_CKPT_MAGIC, 8);
    hd.sizes = s_ck_sizes();
    struct spl_dedup_stats ds;
    spl_dedup_stats(node->dedup, &ds);
    size_t npairs = spl_dedup_pairs(node->dedup, NULL, 0);
    struct spl_dedup_pair *pairs = calloc(npairs + 1, sizeof(*pairs));
    if (!pairs)
        abort();
    npairs = spl_dedup_pairs(node->dedup, pairs, npairs);
    struct spl_ck_state st = {
        .rel = node->rel,
        .last_flushed = node->last_flushed,
        .next_epoch = node->next_epoch,
        .nended = node->nended,
        .ncoll = node->ncoll,
        .npending = node->npending,
        .nkept = node->nkept,
        .ndkept = node->ndkept - node->dhead,
        .npairs = npairs,
        .rel_any = node->rel_any,
        .flushed_any = node->flushed_any,
        .missing_given_up = node->missing_given_up,
    };
    node->checkpoints++;
    cmn_ckpt_put(&c, &hd, sizeof(hd));
    cmn_ckpt_put(&c, &st, sizeof(st));
    cmn_ckpt_put(&c, ranges, nranges * sizeof(*ranges));
    for (uint32_t t = 0; t < node->cfg.tracker_count; t++) { /* a scale-in needs them */
        const char *ep[2] = {node->cfg.trackers[t],
                             node->cfg.tracker_acks ? node->cfg.tracker_acks[t] : ""};
        for (int k = 0; k < 2; k++) {
            cmn_ckpt_put_u64(&c, strlen(ep[k]));
            cmn_ckpt_put(&c, ep[k], strlen(ep[k]));
        }
    }
#define X(f) cmn_ckpt_put_u64(&c, node->f);
    SPL_CKPT_COUNTERS(X)
#undef X
    cmn_ckpt_put(&c, &ds, sizeof(ds));
    cmn_ckpt_put(&c, pairs, npairs * sizeof(*pairs));
    free(pairs);
    cmn_ckpt_put(&c, node->pending, node->npending * sizeof(*node->pending));
    for (size_t i = 0; i < node->ncoll; i++) {
        struct s_coll *cl = &node->coll[i];
        cl->ck_acked = s_coll_acked(cl);
        cl->ck_out = cl->pushed - spl_dedup_held_of(node->dedup, cl->src);
        cmn_ckpt_put(&c, cl, sizeof(*cl));
        for (size_t k = 0; k < cl->pn; k++)
            cmn_ckpt_put(&c, &cl->pend[(cl->phead + k) % cl->pcap], sizeof(struct s_pend));
    }
    for (uint32_t t = 0; t < node->cfg.tracker_count; t++) {
        const struct s_pipe *pp = &node->pipes[t];
        enum spl_keep_kind kind = 0;
        uint64_t tag = 0;
        bool last = pp->keep && spl_keep_last(pp->keep, &kind, &tag);
        uint64_t w[6] = {pp->seq, pp->batches_sent, pp->records_sent, last, kind, tag};
        cmn_ckpt_put(&c, w, sizeof(w));
    }
    for (size_t i = 0; i < node->nkept; i++) {
        cmn_ckpt_put_u64(&c, node->kept[i].len);
        cmn_ckpt_put(&c, node->kept[i].data, node->kept[i].len);
    }
    for (size_t i = node->dhead; i < node->ndkept; i++) {
        uint64_t w[2] = {node->dkept[i].seq, node->dkept[i].len};
        cmn_ckpt_put(&c, w, sizeof(w));
        cmn_ckpt_put(&c, node->dkept[i].data, node->dkept[i].len);
    }
    /* the dedup window: a copy arriving after a restart still meets its
     * first copy released before this checkpoint */
    size_t wlen = spl_dedup_window_size(node->dedup);
    uint8_t *wimg = malloc(wlen);
    if (!wimg)
        abort();
    spl_dedup_window_save(node->dedup, wimg);
    cmn_ckpt_put_u64(&c, wlen);
    cmn_ckpt_put(&c, wimg, wlen);
    free(wimg);
    if (cmn_ckpt_close_write(&c) != 0) {
        node->checkpoints--;
        node->checkpoint_errors++;
        return;
    }
    node->ck_flushed_any = node->flushed_any;
    node->ck_flushed = node->last_flushed;
    s_cack(node);
}

/* Read bytes of a kept message: a fresh allocation, or NULL (c->err set). */
static uint8_t *s_ck_blob(struct cmn_ckpt *c, uint64_t len)
{
    if (len == 0 || len > (1ull << 31)) {
        c->err = -EPROTO;
        return NULL;
    }
    uint8_t *d = malloc(len);
    if (!d || cmn_ckpt_get(c, d, len) != 0) {
        free(d);
        c->err = c->err ? c->err : -ENOMEM;
        return NULL;
    }
    return d;
}

/* Load DIR/splitter.ckpt (cfg.state_dir) into a node being made (before its
 * sockets). 1: restored; 0: none (a fresh run); -1: unusable (logged: the
 * run starts afresh, trackers are told to go back to its start). */
static int s_ckpt_restore(struct spl_node *node)
{
    struct cmn_ckpt c;
    int r = cmn_ckpt_open_read(&c, node->cfg.state_dir, SPL_CKPT_NAME);
    if (r != 1)
        return r;
    struct spl_ck_head hd;
    struct spl_ck_state st;
    if (cmn_ckpt_get(&c, &hd, sizeof(hd)) || memcmp(hd.magic, SPL_CKPT_MAGIC, 8) != 0 ||
        hd.layout != SPL_CKPT_LAYOUT || hd.sizes != s_ck_sizes() || hd.trackers == 0 ||
        hd.nranges > 1u << 20 || cmn_ckpt_get(&c, &st, sizeof(st)) ||
        st.ncoll > SPL_COLLECTORS_MAX || st.npending > SPL_EPOCHS_MAX || st.npairs > 1u << 20)
        c.err = c.err ? c.err : -EPROTO;
    struct cmn_shard_range *ranges = NULL;
    if (!c.err && (ranges = calloc(hd.nranges + 1, sizeof(*ranges))) &&
        cmn_ckpt_get(&c, ranges, hd.nranges * sizeof(*ranges)) == 0 &&
        !(node->ck_map = cmn_shard_map_decode(hd.trackers, ranges, hd.nranges * sizeof(*ranges))))
        c.err = -EPROTO;
    free(ranges);
    if (!c.err) { /* the endpoints of the checkpoint's trackers */
        node->ck_eps = calloc(hd.trackers, sizeof(char *));
        node->ck_acks = calloc(hd.trackers, sizeof(char *));
        if (!node->ck_eps || !node->ck_acks)
            abort();
        node->nck_eps = hd.trackers;
        for (uint32_t t = 0; t < hd.trackers && !c.err; t++)
            for (int k = 0; k < 2 && !c.err; k++) {
                uint64_t len = cmn_ckpt_get_count(&c, 4096);
                char *str = calloc(len + 1, 1);
                if (!str)
                    abort();
                (void)cmn_ckpt_get(&c, str, len);
                (k ? node->ck_acks : node->ck_eps)[t] = str;
            }
    }
    for (uint32_t t = 0; !c.err && t < hd.trackers && t < node->cfg.tracker_count; t++)
        if (strcmp(node->ck_eps[t], node->cfg.trackers[t]) != 0 &&
            (!spl_tracker_retired(node->cfg.trackers[t]) || !node->cfg.tracker_acks)) {
            /* an index is a position: another endpoint there is another tracker
             * ("none" there: that tracker is removed, its state handed over) */
            CMN_LOG(ERR,
                    "checkpoint %s/%s: tracker %u was %s, the configuration says %s: trackers "
                    "keep their index (add one at the end; to remove one, write 'none' for its "
                    "tracker and tracker_ack); put it back",
                    node->cfg.state_dir, SPL_CKPT_NAME, t, node->ck_eps[t], node->cfg.trackers[t]);
            cmn_ckpt_close_read(&c);
            return -2;
        }
    if (!c.err && hd.trackers > node->cfg.tracker_count) {
        /* trackers removed: their pipes stay while they hand their state over */
        if (!node->cfg.tracker_acks) {
            CMN_LOG(ERR,
                    "checkpoint %s/%s: %u trackers, the configuration %u: removing trackers "
                    "needs tracker_ack",
                    node->cfg.state_dir, SPL_CKPT_NAME, hd.trackers, node->cfg.tracker_count);
            c.err = -EPROTO;
        } else {
            struct s_pipe *pp = realloc(node->pipes, hd.trackers * sizeof(*pp));
            if (!pp)
                abort();
            memset(pp + node->npipes, 0, (hd.trackers - node->npipes) * sizeof(*pp));
            node->pipes = pp;
            node->npipes = hd.trackers;
        }
    }
    if (!c.err) {
        node->probe_seed = hd.probe_seed; /* the trackers' checkpoints hold probes keyed by it */
        node->run_ns = hd.run_ns;
        node->map_version = hd.map_version;
        node->ck_trackers = hd.trackers;
    }
#define X(f)                                                                                       \
    if (!c.err)                                                                                    \
        (void)cmn_ckpt_get(&c, &node->f, sizeof(node->f));
    SPL_CKPT_COUNTERS(X)
#undef X
    struct spl_dedup_stats ds;
    struct spl_dedup_pair *pairs = NULL;
    if (!c.err && cmn_ckpt_get(&c, &ds, sizeof(ds)) == 0 &&
        (pairs = calloc(st.npairs + 1, sizeof(*pairs))) &&
        cmn_ckpt_get(&c, pairs, st.npairs * sizeof(*pairs)) == 0 &&
        cmn_ckpt_get(&c, node->pending, st.npending * sizeof(*node->pending)) == 0) {
        node->npending = st.npending;
        node->coll = calloc(st.ncoll + 1, sizeof(*node->coll));
        node->capcoll = st.ncoll + 1;
        if (!node->coll)
            abort();
        for (size_t i = 0; i < st.ncoll && !c.err; i++) {
            struct s_coll *cl = &node->coll[i];
            if (cmn_ckpt_get(&c, cl, sizeof(*cl)) != 0)
                break;
            size_t pn = cl->pn;
            cl->pend = NULL;
            cl->phead = cl->pn = cl->pcap = 0;
            cl->src = spl_dedup_source(node->dedup, cl->id);
            cl->heard_ns = cmn_mono_ns();
            cl->down = false;
            cl->retake_upto = cl->last_seq;
            cl->pushed = cl->ck_out; /* what was still held comes again */
            cl->promise_hold = true;
            cl->stash = NULL;
            cl->nstash = cl->capstash = 0;
            cl->hold_upto = cl->last_seq;
            cl->old_contig = cl->contig;
            cl->old_seen = malloc(sizeof(cl->seen));
            if (!cl->old_seen)
                abort();
            memcpy(cl->old_seen, cl->seen, sizeof(cl->seen));
            /* what the checkpoint holds is had for good; the rest comes again */
            cl->contig = cl->ck_acked;
            memset(cl->seen, 0, sizeof(cl->seen));
            node->ncoll = i + 1;
            for (size_t k = 0; k < pn && !c.err; k++) {
                struct s_pend e;
                if (cmn_ckpt_get(&c, &e, sizeof(e)) == 0) {
                    s_pend_push(cl, e.seq, e.max_ts);
                    s_pend_find(cl, e.seq)->start = e.start;
                }
            }
        }
        for (uint32_t t = 0; t < hd.trackers && !c.err; t++) {
            uint64_t w[6];
            if (cmn_ckpt_get(&c, w, sizeof(w)) == 0) {
                node->pipes[t].seq = w[0];
                node->pipes[t].batches_sent = w[1];
                node->pipes[t].records_sent = w[2];
                node->pipes[t].ck_last = w[3] != 0;
                node->pipes[t].ck_kind = (enum spl_keep_kind)w[4];
                node->pipes[t].ck_tag = w[5];
            }
        }
        for (uint64_t i = 0; i < st.nkept && !c.err; i++) {
            uint64_t len = 0;
            uint8_t *d = cmn_ckpt_get(&c, &len, sizeof(len)) == 0 ? s_ck_blob(&c, len) : NULL;
            if (!d)
                break;
            if (node->nkept == node->capkept) {
                node->capkept = node->capkept ? 2 * node->capkept : 16;
                node->kept = realloc(node->kept, node->capkept * sizeof(*node->kept));
                if (!node->kept)
                    abort();
            }
            node->kept[node->nkept++] = (struct s_kept){d, len};
        }
        for (uint64_t i = 0; i < st.ndkept && !c.err; i++) {
            uint64_t w[2] = {0, 0};
            uint8_t *d = cmn_ckpt_get(&c, w, sizeof(w)) == 0 ? s_ck_blob(&c, w[1]) : NULL;
            if (!d)
                break;
            if (node->ndkept == node->capdkept) {
                node->capdkept = node->capdkept ? 2 * node->capdkept : 64;
                node->dkept = realloc(node->dkept, node->capdkept * sizeof(*node->dkept));
                if (!node->dkept)
                    abort();
            }
            node->dkept[node->ndkept++] = (struct s_dns_kept){d, w[1], w[0]};
            node->dkept_bytes += w[1];
        }
    }
    uint64_t wlen = 0;
    uint8_t *wimg =
        !c.err && cmn_ckpt_get(&c, &wlen, sizeof(wlen)) == 0 ? s_ck_blob(&c, wlen) : NULL;
    int rc = cmn_ckpt_close_read(&c);
    if (rc == 0 && pairs)
        spl_dedup_restore_counts(node->dedup, &ds, pairs, st.npairs);
    if (rc == 0 && wimg)
        (void)spl_dedup_window_load(node->dedup, wimg, wlen); /* logged if unusable */
    free(wimg);
    free(pairs);
    if (rc != 0) {
        CMN_LOG(ERR,
                "checkpoint %s/%s unusable (%s): starting the run afresh; the trackers go back "
                "to its start",
                node->cfg.state_dir, SPL_CKPT_NAME,
                rc == -EPROTO ? "torn, altered, or of another build" : strerror(-rc));
        return -1;
    }
    node->rel = st.rel;
    node->rel_any = st.rel_any;
    node->retake_ts = st.rel;
    node->retake_any = st.rel_any;
    node->last_flushed = node->ck_flushed = st.last_flushed;
    node->flushed_any = node->ck_flushed_any = st.flushed_any;
    node->next_epoch = st.next_epoch;
    node->nended = st.nended;
    node->missing_given_up = st.missing_given_up;
    size_t na, nb;
    const struct cmn_shard_range *a = cmn_shard_ranges(node->ck_map, &na);
    const struct cmn_shard_range *b = cmn_shard_ranges(node->map, &nb);
    bool same_members = node->ck_trackers == node->cfg.tracker_count;
    for (uint32_t t = 0; same_members && t < node->ck_trackers && t < node->nck_eps; t++)
        same_members = spl_tracker_retired(node->ck_eps[t]) == !s_member(node, t);
    if (same_members && na == nb && memcmp(a, b, na * sizeof(*a)) == 0) {
        cmn_shard_map_destroy(&node->ck_map); /* the same map: a plain restart */
        return 1;
    }
    /* the configuration's map is another: switch at the checkpoint's cut */
    node->handover = true;
    node->map_version++;
    node->ho_fwd = calloc((size_t)node->ck_trackers * node->cfg.tracker_count, sizeof(uint64_t));
    if (!node->ho_fwd)
        abort();
    uint32_t was = 0;
    for (uint32_t t = 0; t < node->ck_trackers; t++)
        was += t >= node->nck_eps || !spl_tracker_retired(node->ck_eps[t]);
    CMN_LOG(NOTICE,
            "shard map v%" PRIu64 " (%u trackers) replaces v%" PRIu64 " (%u) from epoch %" PRIu64
            " on: the trackers hand the moved ranges over first",
            node->map_version, node->cfg.tracker_count - (uint32_t)node->nvac,
            node->map_version - 1, was, node->flushed_any ? node->last_flushed + 1 : 0);
    return 1;
}

/* ---- lifecycle -------------------------------------------------------------- */

/* What a restore kept for a shard-map change. */
static void s_handover_free(struct spl_node *node)
{
    free(node->ho_fwd);
    node->ho_fwd = NULL;
    cmn_shard_map_destroy(&node->ck_map);
    for (uint32_t t = 0; t < node->nck_eps; t++) {
        free(node->ck_eps[t]);
        free(node->ck_acks[t]);
    }
    free(node->ck_eps);
    free(node->ck_acks);
    node->ck_eps = node->ck_acks = NULL;
    node->nck_eps = 0;
}

/* EndOfStream on pipe t with its totals; `retired`: the tracker was
 * removed from the map while the run goes on. */
static void s_pipe_eos(struct spl_node *node, uint32_t t, bool retired)
{
    struct s_pipe *p = &node->pipes[t];
    Renkei__EndOfStream e = RENKEI__END_OF_STREAM__INIT;
    e.kind = RENKEI__NODE_KIND__NODE_SPLITTER;
    e.node_id = 0;
    e.batches_sent = p->batches_sent;
    e.records_sent = p->records_sent;
    e.retired = retired;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_EOS;
    env.eos = &e;
    s_pipe_send(node, t, &env);
}

/* The shard map to tracker t: during a handover an old tracker's replay
 * still goes by the checkpoint's map (its records were cut by it). With
 * `keep` it goes through the pipe's keep log (the map switch). */
static int s_send_map_ex(struct spl_node *node, uint32_t t, bool keep)
{
    bool old = node->handover && node->ck_map && !keep;
    const struct cmn_shard_map *map = old ? node->ck_map : node->map;
    size_t nr;
    const struct cmn_shard_range *r = cmn_shard_ranges(map, &nr);
    Renkei__ShardMap sm = RENKEI__SHARD_MAP__INIT;
    sm.tracker_index = t;
    sm.tracker_count = cmn_shard_trackers(map);
    sm.ranges.data = (uint8_t *)(uintptr_t)r;
    sm.ranges.len = nr * sizeof(*r);
    sm.version = old ? node->map_version - 1 : node->map_version;
    sm.probe_seed = node->probe_seed;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_SHARD_MAP;
    env.shard_map = &sm;
    if (keep) {
        s_pipe_send(node, t, &env);
        return 0;
    }
    return cmn_wire_send(node->pipes[t].sock, &env, 0);
}

static int s_send_map(struct spl_node *node, uint32_t t)
{
    return s_send_map_ex(node, t, false);
}

/* Handover: ask old tracker t (after its replay) to export what the new
 * map moves, through its keep log (a tracker restarted in the middle of
 * the handover gets the request again). */
static void s_handover_ask(struct spl_node *node, uint32_t t)
{
    struct s_pipe *p = &node->pipes[t];
    if (p->ho_asked)
        return;
    size_t nr;
    const struct cmn_shard_range *r = cmn_shard_ranges(node->map, &nr);
    Renkei__Handover h = RENKEI__HANDOVER__INIT;
    h.request = true;
    h.version = node->map_version;
    h.ranges.data = (uint8_t *)(uintptr_t)r;
    h.ranges.len = nr * sizeof(*r);
    h.tracker_count = node->cfg.tracker_count;
    h.tracker_index = t;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_HANDOVER;
    env.handover = &h;
    s_pipe_send(node, t, &env);
    p->ho_asked = true;
}

/* Every old tracker is done (or the deadline passed): the new map to every
 * tracker, then records again. */
static void s_handover_finish(struct spl_node *node, bool complete)
{
    for (uint32_t t = 0; t < node->cfg.tracker_count; t++)
        if (s_member(node, t))
            (void)s_send_map_ex(node, t, true);
    node->handover = false;
    cmn_shard_map_destroy(&node->ck_map);
    for (uint32_t t = 0; t < node->npipes; t++) {
        /* removed from the map, its state handed over: its stream ends (the
         * run goes on); its pipe stays for the accounting */
        const struct s_pipe *p = &node->pipes[t];
        if (s_member(node, t) || !p->sock)
            continue;
        s_pipe_eos(node, t, true);
        CMN_LOG(NOTICE,
                "tracker %" PRIu32 " removed from the map: its end of stream sent (%" PRIu64
                " records in %" PRIu64 " batches)",
                t, p->records_sent, p->batches_sent);
    }
    /* the new map is the checkpoint's at once: a splitter killed before the
     * next epoch's checkpoint must not hand the moved ranges over again (the
     * trackers' replay of their keep logs brings the handover back). Logged
     * once written: a kill between the EndOfStream of a removed tracker and
     * this write still hands over again, without it (docs/OPERATIONS.md) */
    s_ckpt_write(node);
    if (!complete) {
        node->handovers_incomplete++;
        CMN_LOG(ERR,
                "handover incomplete after %d s: the state of the ranges of the trackers that "
                "did not answer is lost; going on with shard map v%" PRIu64,
                SPL_HANDOVER_WAIT_S, node->map_version);
    } else {
        CMN_LOG(NOTICE,
                "handover done: %" PRIu64 " chunks (%" PRIu64 " bytes) moved; shard map v%" PRIu64
                " (%u trackers) in force",
                node->handover_chunks, node->handover_bytes, node->map_version,
                node->cfg.tracker_count - (uint32_t)node->nvac);
    }
}

/* A Handover message on old tracker t's ack socket: a chunk for another
 * tracker (forwarded on its pipe, once), or t's done. */
static void s_on_tracker_handover(struct spl_node *node, uint32_t t, const Renkei__Handover *h,
                                  Renkei__Envelope *env)
{
    if (!node->handover || t >= node->ck_trackers || h->from != t || h->request) {
        if (node->handover || h->from != t)
            node->unexpected_messages++;
        return; /* a tracker that did its part again after a restart: had already */
    }
    struct s_pipe *p = &node->pipes[t];
    if (h->done) {
        p->ho_done = true;
        bool all = true;
        for (uint32_t k = 0; k < node->ck_trackers; k++)
            all = all && node->pipes[k].ho_done;
        if (all)
            s_handover_finish(node, true);
        return;
    }
    if (!s_member(node, h->dest) || h->dest == t) {
        node->unexpected_messages++;
        return;
    }
    uint64_t *fwd = &node->ho_fwd[(size_t)t * node->cfg.tracker_count + h->dest];
    if (h->offset != *fwd)
        return; /* sent again (the tracker restarted): forwarded before */
    s_pipe_send(node, h->dest, env);
    *fwd += h->data.len;
    node->handover_chunks++;
    node->handover_bytes += h->data.len;
}

/* Watch pipe t's socket for completed handshakes (tcp, ipc: inproc has
 * none). Best effort: without a monitor a restarted tracker gets no map. */
static void s_pipe_monitor(struct spl_node *node, uint32_t t)
{
    char addr[64];
    snprintf(addr, sizeof(addr), "inproc://renkei-spl-pipe-%p-%u", (void *)node, t);
    node->pipes[t].mon = cmn_zmq_monitor(node->cfg.zmq_ctx, node->pipes[t].sock, addr,
                                         ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    if (!node->pipes[t].mon)
        CMN_LOG(WARN, "tracker %u: no connection monitor (a restarted tracker gets no map)", t);
}

/* A tracker that connects again (restarted, or its link came back) gets the
 * shard map again: ZeroMQ delivers what was queued for it, not what the
 * process it replaced had received. Its batch sequence then shows what was
 * lost in between (the tracker counts the gap). */
static void s_pipe_events(struct spl_node *node)
{
    for (uint32_t t = 0; t < node->cfg.tracker_count; t++) {
        struct s_pipe *p = &node->pipes[t];
        if (!p->mon || !s_member(node, t))
            continue;
        int id;
        while ((id = cmn_wire_monitor_event(p->mon)) != -EAGAIN) {
            if (id != ZMQ_EVENT_HANDSHAKE_SUCCEEDED || ++p->handshakes == 1)
                continue;
            node->shard_maps_resent++;
            CMN_LOG(NOTICE,
                    "tracker %u connected again (connection %" PRIu64 "): shard map sent again", t,
                    p->handshakes);
            if (s_send_map(node, t) < 0)
                node->send_errors++;
        }
    }
}

/* Send tracker t its pipe again from its keep log: Hello{restarted} with the
 * first batch seq that follows, the shard map, then every message kept
 * after the EpochFlush its checkpoint holds. What its spill file held is in
 * the keep log too: the spill is dropped. */
static void s_replay(struct spl_node *node, uint32_t t, const Renkei__TrackerAck *a)
{
    struct s_pipe *p = &node->pipes[t];
    size_t from = spl_keep_after(p->keep, a->any_epoch, a->epoch);
    uint64_t first = p->seq + 1;
    const uint8_t *d;
    size_t len;
    enum spl_keep_kind kind;
    uint64_t tag;
    for (size_t i = from; spl_keep_get(p->keep, i, &d, &len, &kind, &tag) == 1; i++)
        if (kind == SPL_KEEP_BATCH) {
            first = tag;
            break;
        }
    if (p->spill)
        spl_spill_clear(p->spill);
    p->spilling = false;
    CMN_LOG(NOTICE,
            "tracker %" PRIu32 " restarted from its checkpoint (epoch %s%" PRIu64
            ", batch seq %" PRIu64 "): sending its pipe again from batch seq %" PRIu64
            " (%zu messages kept)",
            t, a->any_epoch ? "" : "none, ", a->any_epoch ? a->epoch : 0, a->pipe_seq, first,
            spl_keep_count(p->keep) - from);
    node->tracker_replays++;
    /* A map switch among the kept messages (a handover since the tracker's
     * checkpoint): the messages before it were cut by the map of the
     * tracker's checkpoint, which it restored, and the kept ShardMap
     * switches it where it did the first time; the current map sent first
     * would have it take them by the new map. A tracker with no epoch in its
     * checkpoint may hold no map: it gets the current one. */
    bool kept_map = false;
    for (size_t i = from; !kept_map && spl_keep_get(p->keep, i, &d, &len, &kind, &tag) == 1; i++)
        kept_map = kind == SPL_KEEP_MAP;
    s_pipe_wait(node, t);
    if (cmn_wire_send_hello_restarted(p->sock, RENKEI__NODE_KIND__NODE_SPLITTER, 0,
                                      node->cfg.listen, first) < 0 ||
        (!(kept_map && a->any_epoch) && s_send_map(node, t) < 0))
        node->send_errors++;
    for (size_t i = from; spl_keep_get(p->keep, i, &d, &len, &kind, &tag) == 1; i++) {
        s_pipe_wait(node, t);
        if (cmn_wire_send_bytes(p->sock, d, len, 0) != 0)
            node->send_errors++;
        else
            node->messages_replayed++;
    }
    if (node->handover && t < node->ck_trackers)
        s_handover_ask(node, t); /* it is at the checkpoint's cut now */
}

/* TrackerAcks (cfg.tracker_acks): release what a checkpoint holds; a
 * restarted tracker (awaiting, a new incarnation) gets its pipe again. */
static void s_tracker_acks(struct spl_node *node)
{
    for (uint32_t t = 0; t < node->npipes; t++) {
        struct s_pipe *p = &node->pipes[t];
        int err = 0;
        Renkei__Envelope *env;
        while (p->tack && (env = cmn_wire_recv(p->tack, ZMQ_DONTWAIT, &err))) {
            const Renkei__TrackerAck *a = env->tracker_ack;
            if (env->body_case == RENKEI__ENVELOPE__BODY_HANDOVER) {
                s_on_tracker_handover(node, t, env->handover, env);
            } else if (env->body_case != RENKEI__ENVELOPE__BODY_TRACKER_ACK || a->tracker_id != t) {
                node->unexpected_messages++;
            } else if (a->awaiting) {
                if (a->incarnation != p->replayed_inc) {
                    p->replayed_inc = a->incarnation;
                    s_replay(node, t, a);
                }
            } else if (a->any_epoch && node->ck_flushed_any) {
                /* never past the newest checkpoint: a splitter restarting
                 * from it replays from there */
                spl_keep_release(p->keep,
                                 a->epoch < node->ck_flushed ? a->epoch : node->ck_flushed);
            } else if (a->any_epoch && !node->cfg.state_dir) {
                spl_keep_release(p->keep, a->epoch);
            }
            cmn_wire_free(&env);
        }
    }
}

/* An unusable checkpoint: what s_ckpt_restore put in the node goes. */
static void s_ckpt_forget(struct spl_node *node)
{
#define X(f) node->f = 0;
    SPL_CKPT_COUNTERS(X)
#undef X
    for (size_t i = 0; i < node->ncoll; i++) {
        free(node->coll[i].pend);
        free(node->coll[i].old_seen);
    }
    node->ncoll = 0;
    node->npending = 0;
    for (size_t i = 0; i < node->nkept; i++)
        free(node->kept[i].data);
    node->nkept = 0;
    for (size_t i = node->dhead; i < node->ndkept; i++)
        free(node->dkept[i].data);
    node->dhead = node->ndkept = node->dkept_bytes = 0;
    for (uint32_t t = 0; t < node->npipes; t++)
        node->pipes[t].seq = node->pipes[t].batches_sent = node->pipes[t].records_sent = 0;
    node->npipes = node->cfg.tracker_count; /* a fresh run: the configuration's trackers */
    node->handover = false;
    cmn_shard_map_destroy(&node->ck_map);
}

/* DnsNames numbers the process before may have given after its checkpoint
 * (up to the merger's dns_seq_max, or SPL_DNS_FILL_BLIND more without an
 * Ack) get empty messages, so the merger's count of contiguous numbers goes
 * on; names come again from the collectors. */
static void s_dns_fill(struct spl_node *node)
{
    uint64_t upto = node->dns_seq + SPL_DNS_FILL_BLIND;
    bool heard = node->ack0_heard;
    if (heard) {
        upto = node->ack0_dns_seq_max;
        if (node->ack0_dns_seq)
            s_dns_release(node, node->ack0_dns_seq);
    }
    if (!heard)
        CMN_LOG(WARN,
                "no Ack from the merger within %d ms: %d DNS name numbers skipped with "
                "empty messages",
                SPL_DNS_FILL_WAIT_MS, SPL_DNS_FILL_BLIND);
    Renkei__DnsNames d = RENKEI__DNS_NAMES__INIT;
    d.kind = RENKEI__NODE_KIND__NODE_SPLITTER;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_DNS_NAMES;
    env.dns_names = &d;
    while (node->dns_seq < upto)
        s_forward_dns(node, &env);
}

/* Resume a run from the checkpoint (or, unusable, from its start): Hello to
 * the merger, every tracker told to go back to the checkpoint's epoch (it
 * then asks for the rest of its pipe: s_tracker_acks), what is kept for the
 * merger sent again, the collectors told what the checkpoint holds (they
 * send the rest again on their own, their connection being new). */
/* A resumed splitter: the merger's first Ack (within SPL_DNS_FILL_WAIT_MS)
 * says where the run stands. */
static void s_first_ack(struct spl_node *node)
{
    uint64_t until = cmn_mono_ns() + SPL_DNS_FILL_WAIT_MS * 1000000ull;
    while (node->ack && !node->ack0_heard && cmn_mono_ns() < until) {
        zmq_pollitem_t it = {.socket = node->ack, .events = ZMQ_POLLIN};
        if (zmq_poll(&it, 1, 100) <= 0)
            continue;
        int err = 0;
        Renkei__Envelope *env = cmn_wire_recv(node->ack, ZMQ_DONTWAIT, &err);
        if (env && env->body_case == RENKEI__ENVELOPE__BODY_ACK) {
            const Renkei__Ack *a = env->ack;
            node->ack0_heard = true;
            node->ack0_final = a->final_committed;
            node->ack0_run_ns = a->run_started_ns;
            node->ack0_dns_seq = a->dns_seq;
            node->ack0_dns_seq_max = a->dns_seq_max;
        }
        cmn_wire_free(&env);
    }
}

static int s_restart(struct spl_node *node)
{
    s_first_ack(node);
    if (node->restored && node->run_ns && node->ack0_heard && node->ack0_final &&
        node->ack0_run_ns == node->run_ns) {
        /* killed after its end of stream, before the merger's final Ack
         * reached it: the run is whole in the merger; nothing to send again */
        CMN_LOG(NOTICE,
                "checkpoint %s/%s belongs to a run the merger has ended and committed: nothing "
                "to resume; the collectors are told the run ended",
                node->cfg.state_dir, SPL_CKPT_NAME);
        node->run_over = node->done = node->final_acked = true;
        return 0;
    }
    CMN_LOG(NOTICE,
            "resuming the run %s checkpoint %s/%s (last epoch flushed: %s%" PRIu64
            ", %zu collectors): trackers go back to it, collectors send again what came after",
            node->restored ? "from" : "from the start: no usable", node->cfg.state_dir,
            SPL_CKPT_NAME, node->flushed_any ? "" : "none, ", node->last_flushed, node->ncoll);
    int rc = cmn_wire_send_hello_splitter(node->merger, node->cfg.listen, node->cfg.tracker_count,
                                          node->vac, node->nvac, !node->handover, node->handover,
                                          node->flushed_any ? node->last_flushed + 1 : 0);
    if (rc < 0)
        return -EIO;
    node->ho_deadline = cmn_mono_ns() + SPL_HANDOVER_WAIT_S * 1000000000ull;
    /* trackers new to the run get their share once the old ones handed it over */
    for (uint32_t t = 0; t < node->ck_trackers; t++)
        if (node->pipes[t].sock &&
            cmn_wire_send_hello_rollback(node->pipes[t].sock, node->cfg.listen, node->flushed_any,
                                         node->last_flushed) < 0)
            return -EIO;
    for (size_t i = node->dhead; i < node->ndkept; i++)
        if (cmn_wire_send_bytes(node->merger, node->dkept[i].data, node->dkept[i].len, 0) == 0)
            node->messages_resent++;
    if (node->ack)
        s_dns_fill(node);
    s_cack(node);
    return 0;
}

static int s_start(struct spl_node *node)
{
    if (cmn_wire_send_hello_splitter(node->merger, node->cfg.listen, node->cfg.tracker_count,
                                     node->vac, node->nvac, false, false, 0) < 0)
        return -EIO;
    for (uint32_t t = 0; t < node->cfg.tracker_count; t++)
        if (s_member(node, t) && s_send_map(node, t) < 0)
            return -EIO;
    return 0;
}

struct spl_node *spl_node_new(const struct spl_config *cfg)
{
    assert(cfg && cfg->zmq_ctx && cfg->listen && cfg->merger && cfg->trackers);
    if (cfg->tracker_count == 0 || cfg->epoch_seconds == 0 || cfg->batch_records == 0 ||
        cfg->epoch_seconds > UINT64_MAX / 1000000000ull) {
        CMN_LOG(ERR, "need >= 1 tracker, epoch_seconds >= 1 and batch_records >= 1");
        return NULL;
    }
    struct spl_node *node = calloc(1, sizeof(*node));
    if (!node)
        abort();
    node->cfg = *cfg;
    node->vac = calloc(cfg->tracker_count, sizeof(*node->vac));
    if (!node->vac)
        abort();
    for (uint32_t t = 0; t < cfg->tracker_count; t++)
        if (cfg->vacant && cfg->vacant[t])
            node->vac[node->nvac++] = t;
    node->probe_seed = cmn_random_seed();
    node->epoch_ns = cfg->epoch_seconds * 1000000000ull;
    node->delay_ns = (uint64_t)cfg->batch_delay_ms * 1000000ull;
    int hwm = cfg->hwm > 0 ? cfg->hwm : SPL_HWM_DEFAULT;

    if (cfg->range_count > 0 || cfg->vacant) {
        char err[256] = "";
        node->map = cmn_shard_map_new_vacant(cfg->tracker_count, cfg->vacant, cfg->ranges,
                                             cfg->range_count, err, sizeof(err));
        if (!node->map) {
            CMN_LOG(ERR, "range: %s", err);
            goto err_node;
        }
    } else {
        node->map = cmn_shard_map_new_even(cfg->tracker_count);
        if (!node->map) {
            CMN_LOG(ERR, "cannot split the address space over %" PRIu32 " trackers",
                    cfg->tracker_count);
            goto err_node;
        }
    }
    struct spl_dedup_config dc = {
        .window_ns = cfg->dedup_window_us * 1000ull,
        .memcap = (cfg->dedup_memcap_mb ? cfg->dedup_memcap_mb : SPL_DEDUP_MEMCAP_MB) << 20,
        .out = s_on_release,
        .out_arg = node,
    };
    node->dedup = spl_dedup_new(&dc);
    if (!node->dedup)
        goto err_map;
    /* Buffers out at once: each pipe's queue (hwm) and one being filled per
     * tracker, within SPL_POOL_MEMCAP; past that, out-batches are copied. */
    size_t bufbytes = (size_t)cfg->batch_records * sizeof(struct cmn_record) + 256;
    size_t maxbufs = ((size_t)hwm + 2) * cfg->tracker_count;
    if (maxbufs * bufbytes > SPL_POOL_MEMCAP)
        maxbufs = SPL_POOL_MEMCAP / bufbytes > cfg->tracker_count ? SPL_POOL_MEMCAP / bufbytes
                                                                  : cfg->tracker_count;
    node->pool = cmn_wire_pool_new(cfg->batch_records, maxbufs);
    if (!node->pool)
        goto err_map;
    struct spl_shard_config sc = {
        .map = node->map,
        .collector_id = SPL_MERGED_ID,
        .batch_records = cfg->batch_records,
        .emit = s_emit,
        .emit_arg = node,
        .take = s_take,
        .emit_own = s_emit_own,
        .put = s_put,
    };
    node->shard = spl_shard_new(&sc);
    if (!node->shard)
        goto err_map;
    node->pending = malloc(SPL_EPOCHS_MAX * sizeof(*node->pending));
    node->pipes = calloc(cfg->tracker_count, sizeof(*node->pipes));
    if (!node->pending || !node->pipes)
        abort();
    /* a checkpoint left by a splitter that died mid-run (cfg.state_dir) */
    node->map_version = 1;
    node->npipes = cfg->tracker_count;
    int resume = cfg->state_dir ? s_ckpt_restore(node) : 0;
    if (resume == -2) /* a configuration that would lose the run: refused */
        goto err_map;
    if (resume < 0)
        s_ckpt_forget(node);
    if (resume != 1)
        node->ck_trackers = cfg->tracker_count;
    node->restored = resume == 1;
    node->pull = cmn_zmq_open(cfg->zmq_ctx, ZMQ_PULL, cfg->listen, true, 0, hwm);
    if (!node->pull)
        goto err_map;
    node->merger = cmn_zmq_open(cfg->zmq_ctx, ZMQ_PUSH, cfg->merger, false, -1, hwm);
    if (!node->merger)
        goto err_pull;
    if (cfg->merger_ack) {
        char addr[64];
        snprintf(addr, sizeof(addr), "inproc://spl-mmon-%p", (void *)node);
        node->ack = cmn_zmq_open(cfg->zmq_ctx, ZMQ_SUB, cfg->merger_ack, false, 0, 100);
        if (!node->ack || zmq_setsockopt(node->ack, ZMQ_SUBSCRIBE, "", 0) != 0 ||
            !(node->mmon = cmn_zmq_monitor(cfg->zmq_ctx, node->merger, addr,
                                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED))) {
            CMN_LOG(ERR, "merger_ack %s: %s", cfg->merger_ack, zmq_strerror(zmq_errno()));
            cmn_zmq_close(node->ack);
            node->ack = NULL;
            cmn_zmq_close(node->merger);
            goto err_pull;
        }
    }
    for (uint32_t t = 0; t < node->npipes; t++) {
        /* not a member (past tracker_count, or none): a tracker removed from
         * the map, still to hand over if the checkpoint has it; else no pipe */
        bool removed = !s_member(node, t);
        if (removed && (resume != 1 || t >= node->nck_eps || spl_tracker_retired(node->ck_eps[t])))
            continue; /* retired before this run or this checkpoint: nothing to send it */
        node->pipes[t].sock = cmn_zmq_open(
            cfg->zmq_ctx, ZMQ_PUSH, removed ? node->ck_eps[t] : cfg->trackers[t], false, -1, hwm);
        if (!node->pipes[t].sock)
            goto err_pipes;
        s_pipe_monitor(node, t);
        if (cfg->spill_dir) {
            char name[48];
            snprintf(name, sizeof(name), "tracker-%" PRIu32 ".spill", t);
            node->pipes[t].spill = spl_spill_open(
                cfg->spill_dir, name, cfg->spill_max_bytes ? cfg->spill_max_bytes : 4ull << 30);
            if (!node->pipes[t].spill)
                goto err_pipes;
        }
        if (cfg->tracker_acks) { /* spl_main requires spill_dir with them */
            char name[48];
            snprintf(name, sizeof(name), "tracker-%" PRIu32 ".keep", t);
            struct s_pipe *p = &node->pipes[t];
            const char *dir = cfg->spill_dir ? cfg->spill_dir : ".";
            uint64_t max = cfg->spill_max_bytes ? cfg->spill_max_bytes : 4ull << 30;
            p->keep = resume && t < node->ck_trackers /* not a tracker new to the run */
                          ? spl_keep_resume(dir, name, max, node->restored && p->ck_last,
                                            p->ck_kind, p->ck_tag)
                          : spl_keep_open(dir, name, max);
            p->tack =
                cmn_zmq_open(cfg->zmq_ctx, ZMQ_SUB,
                             removed ? node->ck_acks[t] : cfg->tracker_acks[t], false, 0, 100);
            if (!p->keep || !p->tack || zmq_setsockopt(p->tack, ZMQ_SUBSCRIBE, "", 0) != 0)
                goto err_pipes;
        }
    }
    if (cfg->ack_listen &&
        !(node->cack = cmn_zmq_open(cfg->zmq_ctx, ZMQ_PUB, cfg->ack_listen, true, 0, 100)))
        goto err_pipes;
    if (resume ? s_restart(node) < 0 : s_start(node) < 0) {
        CMN_LOG(ERR, "cannot send hello / shard maps");
        goto err_pipes;
    }
    if (!resume)
        s_ckpt_write(node); /* the run's start: a crash from here on resumes from it */
    node->next_stats_ns =
        cfg->stats_interval ? cmn_mono_ns() + cfg->stats_interval * 1000000000ull : UINT64_MAX;
    node->start_ns = cmn_mono_ns();
    if (cfg->metrics) { /* the counters' names show from the start */
        size_t n;
        struct cmn_counter *c = s_counters(node, &n);
        s_publish(node, c, n, false);
        free(c);
    }
    CMN_LOG(NOTICE,
            "listening on %s; %" PRIu32 " trackers; expecting %" PRIu32
            " collectors%s; epoch %" PRIu64 " s; dedup window %" PRIu64 " us",
            cfg->listen, cfg->tracker_count, cfg->collectors,
            cfg->collectors ? "" : " (run forever)", cfg->epoch_seconds, cfg->dedup_window_us);
    return node;

err_pipes:
    cmn_zmq_close(node->cack);
    for (uint32_t t = 0; t < node->npipes; t++) {
        spl_spill_close(&node->pipes[t].spill);
        spl_keep_leave(&node->pipes[t].keep, false); /* a restart may need it */
        cmn_zmq_close(node->pipes[t].tack);
        if (node->pipes[t].sock) {
            int zero = 0;
            zmq_setsockopt(node->pipes[t].sock, ZMQ_LINGER, &zero, sizeof(zero));
            cmn_zmq_close(node->pipes[t].sock); /* before its monitor's PAIR */
        }
        cmn_zmq_close(node->pipes[t].mon);
    }
    if (node->merger) {
        int zero = 0;
        zmq_setsockopt(node->merger, ZMQ_LINGER, &zero, sizeof(zero));
        cmn_zmq_close(node->merger);
    }
    cmn_zmq_close(node->mmon);
    cmn_zmq_close(node->ack);
err_pull:
    cmn_zmq_close(node->pull);
err_map:
    free(node->pipes);
    free(node->pending);
    s_handover_free(node);
    spl_shard_destroy(&node->shard);
    cmn_wire_pool_destroy(&node->pool);
    spl_dedup_destroy(&node->dedup);
    cmn_shard_map_destroy(&node->map);
err_node:
    free(node->vac);
    free(node);
    return NULL;
}

void spl_node_destroy(struct spl_node **nodep)
{
    if (!nodep || !*nodep)
        return;
    struct spl_node *node = *nodep;
    /* After a normal end every message must reach its peer: linger forever.
     * After a stop request the peers may be gone: give them a little while. */
    int linger = node->interrupted ? SPL_LINGER_STOP_MS : -1;
    for (uint32_t t = 0; t < node->npipes; t++) {
        if (node->pipes[t].spill && spl_spill_count(node->pipes[t].spill) > 0)
            CMN_LOG(WARN, "tracker %" PRIu32 ": %" PRIu64 " spilled messages never sent", t,
                    spl_spill_count(node->pipes[t].spill));
        spl_spill_close(&node->pipes[t].spill);
        spl_keep_leave(&node->pipes[t].keep, node->done); /* a run left for a restart goes on */
        cmn_zmq_close(node->pipes[t].tack);
        if (node->pipes[t].sock)
            zmq_setsockopt(node->pipes[t].sock, ZMQ_LINGER, &linger, sizeof(linger));
        cmn_zmq_close(node->pipes[t].sock); /* before its monitor's PAIR */
        cmn_zmq_close(node->pipes[t].mon);
    }
    cmn_zmq_close(node->ack);
    cmn_zmq_close(node->cack);
    if (node->done && node->cfg.state_dir) /* the run ended: nothing to resume */
        cmn_ckpt_remove(node->cfg.state_dir, SPL_CKPT_NAME);
    for (size_t i = 0; i < node->ncoll; i++) {
        free(node->coll[i].pend);
        free(node->coll[i].old_seen);
        for (size_t k = 0; k < node->coll[i].nstash; k++)
            free(node->coll[i].stash[k].r);
        free(node->coll[i].stash);
    }
    for (size_t i = 0; i < node->nkept; i++)
        free(node->kept[i].data);
    free(node->kept);
    for (size_t i = node->dhead; i < node->ndkept; i++)
        free(node->dkept[i].data);
    free(node->dkept);
    /* with merger_ack the end of the run was acknowledged (or waited for):
     * what is still queued are copies, and a merger that left never takes
     * them (zmq_ctx_term would wait for ever) */
    int mlinger = node->cfg.merger_ack ? SPL_LINGER_STOP_MS : linger;
    zmq_setsockopt(node->merger, ZMQ_LINGER, &mlinger, sizeof(mlinger));
    cmn_zmq_close(node->merger);
    cmn_zmq_close(node->mmon);
    cmn_zmq_close(node->pull);
    spl_shard_destroy(&node->shard);
    cmn_wire_pool_destroy(&node->pool); /* buffers still in ZeroMQ free it when released */
    spl_dedup_destroy(&node->dedup);
    free(node->coll);
    free(node->vac);
    free(node->pipes);
    free(node->pending);
    s_handover_free(node);
    cmn_shard_map_destroy(&node->map);
    free(node);
    *nodep = NULL;
}

void spl_node_finish(struct spl_node *node)
{
    if (node->done)
        return;
    spl_dedup_release(node->dedup, UINT64_MAX);
    s_flush_all(node);
    uint64_t batches = 0, records = 0;
    for (uint32_t t = 0; t < node->cfg.tracker_count; t++) {
        if (s_member(node, t))
            s_pipe_eos(node, t, false);
        batches += node->pipes[t].batches_sent;
        records += node->pipes[t].records_sent;
    }
    s_stats(node, true);
    Renkei__EndOfStream e = RENKEI__END_OF_STREAM__INIT;
    e.kind = RENKEI__NODE_KIND__NODE_SPLITTER;
    e.node_id = 0;
    e.batches_sent = batches;
    e.records_sent = records;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_EOS;
    env.eos = &e;
    s_send_kept(node, &env);
    node->done = true;
    uint64_t lost = spl_node_counter(node, "records_lost");
    if (lost > 0 || node->interrupted)
        CMN_LOG(WARN, "end of stream sent%s; %" PRIu64 " records lost",
                node->interrupted ? " after a stop request" : "", lost);
    else
        CMN_LOG(NOTICE, "end of stream sent; every record accounted for");
}

bool spl_node_done(const struct spl_node *node)
{
    return node->done;
}

/* Milliseconds until the next timer (aged out-batch or stats), capped by max_wait_ms. */
static int s_wait_ms(const struct spl_node *node, uint64_t now, int max_wait_ms)
{
    uint64_t next = node->next_stats_ns;
    if (node->next_beat_ns < next)
        next = node->next_beat_ns;
    uint64_t o = spl_shard_oldest(node->shard);
    if (o != UINT64_MAX && o + node->delay_ns < next)
        next = o + node->delay_ns;
    int64_t ms = next == UINT64_MAX ? -1
                 : next <= now      ? 0
                                    : (int64_t)((next - now + 999999) / 1000000);
    if (ms > INT32_MAX)
        ms = INT32_MAX;
    if (max_wait_ms >= 0 && (ms < 0 || ms > max_wait_ms))
        ms = max_wait_ms;
    return (int)ms;
}

/* The collector a message speaks for: true with its id, false when it
 * names none (then it is handled, or refused, as it is). */
static bool s_claim(const struct cmn_wire_msg *m, uint32_t *id)
{
    if (m->is_batch) {
        *id = m->batch.collector_id;
        return true;
    }
    const Renkei__Envelope *e = m->env;
    switch (e->body_case) {
        case RENKEI__ENVELOPE__BODY_HELLO:
            *id = e->hello->node_id;
            return true;
        case RENKEI__ENVELOPE__BODY_EOS:
            *id = e->eos->node_id;
            return true;
        case RENKEI__ENVELOPE__BODY_HEARTBEAT:
            *id = e->heartbeat->node_id;
            return true;
        case RENKEI__ENVELOPE__BODY_DNS_NAMES:
            *id = e->dns_names->node_id;
            return true;
        default:
            return false;
    }
}

int spl_node_handle(struct spl_node *node, const uint8_t *bytes, size_t len)
{
    return spl_node_handle_from(node, bytes, len, NULL);
}

int spl_node_handle_from(struct spl_node *node, const uint8_t *bytes, size_t len, const char *peer)
{
    cmn_wire_record("splitter", bytes, len);
    if (node->done)
        return 1;
    struct cmn_wire_msg m;
    if (cmn_wire_decode_msg(bytes, len, &m) != 0) {
        s_malformed(node, m.why);
        return 0;
    }
    uint32_t id;
    if (peer && s_claim(&m, &id) &&
        !cmn_curve_may_send(peer, RENKEI__NODE_KIND__NODE_COLLECTOR, id)) {
        node->impostor_messages++;
        cmn_wire_msg_close(&m);
        return 0;
    }
    s_handle(node, &m);
    cmn_wire_msg_close(&m);
    s_check_done(node);
    return node->done ? 1 : 0;
}

int spl_node_poll(struct spl_node *node, int max_wait_ms)
{
    if (node->done)
        return 1;
    zmq_pollitem_t it = {.socket = node->pull, .events = ZMQ_POLLIN};
    int rc = zmq_poll(&it, 1, s_wait_ms(node, cmn_mono_ns(), max_wait_ms));
    if (rc < 0) {
        int e = zmq_errno();
        return e == EINTR ? 0 : -e;
    }
    bool drained = rc == 0;
    for (int k = 0; rc > 0 && k < SPL_MSG_BURST && !node->done; k++) {
        zmq_msg_t zm;
        zmq_msg_init(&zm);
        if (zmq_msg_recv(&zm, node->pull, ZMQ_DONTWAIT) < 0) {
            int err = zmq_errno();
            zmq_msg_close(&zm);
            if (err == EAGAIN || err == EINTR) {
                drained = true;
                break;
            }
            return -err;
        }
        spl_node_handle_from(node, zmq_msg_data(&zm), zmq_msg_size(&zm),
                             zmq_msg_gets(&zm, "User-Id"));
        zmq_msg_close(&zm);
    }
    if (node->done)
        return 1;
    uint64_t now = cmn_mono_ns();
    s_heartbeat(node, now);
    s_pipe_events(node);
    s_tracker_acks(node);
    if (node->handover && now > node->ho_deadline)
        s_handover_finish(node, false);
    if (node->cack && now >= node->next_cack_ns)
        s_cack(node);
    for (uint32_t t = 0; t < node->npipes; t++)
        if (node->pipes[t].spilling)
            s_spill_drain(node, t);
    if (drained)
        s_liveness(node, now);
    if (node->done)
        return 1;
    if (now > node->delay_ns)
        spl_shard_flush_older(node->shard, now - node->delay_ns);
    if (now >= node->next_stats_ns) {
        s_stats(node, false);
        node->next_stats_ns = now + node->cfg.stats_interval * 1000000000ull;
    }
    return 0;
}

/* spill_dir: the end of the run is in the spill files of trackers that were
 * behind; send it all (waiting for them, heartbeats going on) before leaving. */
static void s_spill_finish(struct spl_node *node, const volatile sig_atomic_t *stop)
{
    for (uint32_t t = 0; t < node->npipes; t++) {
        struct s_pipe *p = &node->pipes[t];
        if (p->spilling)
            CMN_LOG(NOTICE,
                    "tracker %" PRIu32 ": sending the %" PRIu64 " messages of its spill "
                    "file before leaving",
                    t, spl_spill_count(p->spill));
        while (p->spilling && !(stop && *stop)) {
            s_spill_drain(node, t);
            if (!p->spilling)
                break;
            zmq_pollitem_t it = {.socket = p->sock, .events = ZMQ_POLLOUT};
            zmq_poll(&it, 1, 200);
            s_heartbeat(node, cmn_mono_ns());
            s_replay_poll(node);
            s_tracker_acks(node);
        }
    }
}

/* merger_ack: the end of the run is sent; wait until the merger has it for
 * good, sending it again should the merger restart meanwhile. */
static void s_wait_final_ack(struct spl_node *node, const volatile sig_atomic_t *stop)
{
    uint64_t until = cmn_mono_ns() + SPL_FINAL_ACK_WAIT_S * 1000000000ull;
    while (node->ack && !node->final_acked && !(stop && *stop)) {
        s_replay_poll(node);
        s_tracker_acks(node); /* a tracker that restarts now still gets its pipe again */
        uint64_t now = cmn_mono_ns();
        if (now >= until) {
            CMN_LOG(WARN, "the merger did not acknowledge the end of the run within %d s",
                    SPL_FINAL_ACK_WAIT_S);
            return;
        }
        if (now >= node->next_beat_ns) {
            (void)cmn_wire_send_heartbeat(node->merger, RENKEI__NODE_KIND__NODE_SPLITTER, 0);
            node->next_beat_ns = now + CMN_HEARTBEAT_MS * 1000000ull;
        }
        zmq_poll(NULL, 0, 50);
    }
}

int spl_node_run(struct spl_node *node, const volatile sig_atomic_t *stop)
{
    if (node->run_over) { /* s_restart: only the collectors waiting for the end to tell */
        for (int i = 0; node->cack && i < 5; i++) {
            s_cack(node);
            zmq_poll(NULL, 0, 100);
        }
        return 0;
    }
    while (!(stop && *stop)) {
        int rc = spl_node_poll(node, 500);
        s_replay_poll(node);
        if (rc == 1) {
            s_spill_finish(node, stop);
            s_wait_final_ack(node, stop);
            for (int i = 0; node->cack && i < 5; i++) { /* the collectors may leave now */
                s_cack(node);
                zmq_poll(NULL, 0, 100);
            }
            return 0;
        }
        if (rc < 0) {
            CMN_LOG(ERR, "receive failed: %s", zmq_strerror(-rc));
            node->interrupted = true;
            spl_node_finish(node);
            return rc;
        }
    }
    node->interrupted = true;
    if (*stop == 2) {
        CMN_LOG(NOTICE, "leaving the run for a restart: no end of stream; the checkpoint %s",
                node->cfg.state_dir ? "stays, the next process resumes from it"
                                    : "is missing (no state_dir): the run is lost");
        return 2;
    }
    CMN_LOG(NOTICE, "stop requested: flushing and ending the stream");
    spl_node_finish(node);
    return 0;
}
