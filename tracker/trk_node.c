/* SPDX-License-Identifier: MIT
 * trk_node: the tracker's loop. Batches go straight into the session table
 * (burst API); an EpochFlush runs two passes over the touched sessions: the
 * first folds them into the owned endpoints' evidence, which fixes how many
 * rows the epoch has and so the chunk count K; the second emits the session
 * deltas and resets them, then the changed endpoints (with roles) and the
 * events follow, packed into chunks of at most result_max_bytes.
 */
#define CMN_LOG_TAG "tracker"
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "cmn_cli.h"
#include "cmn_curve.h"
#include "cmn_log.h"
#include "cmn_shard.h"
#include "cmn_wire.h"
#include "cmn_ckpt.h"
#include "cmn_keepq.h"
#include "trk_endpoint.h"
#include "trk_event.h"
#include "trk_frag.h"
#include "trk_key.h"
#include "trk_node.h"
#include "trk_table.h"

#define NODE_HWM          1000 /* messages queued per socket before PUSH blocks */
#define NODE_POLL_MS      100  /* loop turn when idle: stop flag, stats, expiry */
#define NODE_DRAIN_MAX    64   /* messages handled per loop turn before housekeeping */
#define TRK_COUNTERS_MAX  48   /* counters in the tracker's Stats (s_counters) */
#define NODE_EXPIRE_VISIT 4096 /* session rows examined for expiry per loop turn */
#define NODE_SEND_TIMEO   500  /* ms a blocked send waits before re-checking stop */
#define RESULT_OVERHEAD   1024 /* envelope bytes beside the arrays */

/* Counters reported in Stats{TRACKER} (names are the wire names). */
struct node_counters {
    uint64_t records_received;        /* records in valid batches */
    uint64_t batches_received;        /* valid batches */
    uint64_t batches_lost;            /* sequence gaps */
    uint64_t batches_out_of_order;    /* seq lower than expected (duplicate or reordered) */
    uint64_t batches_malformed;       /* bad record arrays, dropped */
    uint64_t records_expected;        /* records_sent of the splitter's EndOfStream */
    uint64_t records_lost;            /* expected - received, at end of stream */
    uint64_t late_records;            /* records older than the last flushed epoch's end */
    uint64_t icmp_refusals;           /* ICMP refusals applied to their datagram session */
    uint64_t icmp_refusals_unmatched; /* ICMP refusals of a session not in the table */
    uint64_t results_sent;            /* TrackerResult messages */
    uint64_t epochs_flushed;          /* EpochFlush handled (final flush not included) */
    uint64_t envelopes_malformed;     /* undecodable envelopes */
    uint64_t protocol_errors;         /* bad ShardMap, flush before map, ... */
    uint64_t unexpected_messages;     /* message kinds a tracker does not take */
    uint64_t impostor_messages;       /* from a CURVE peer its keyring may not call the splitter */
    uint64_t send_errors;             /* results or stats that could not be sent */
    uint64_t messages_resent;         /* kept messages sent again to a merger that reconnected */
    uint64_t messages_unkept;         /* not kept: past the keep memcap (lost if the merger dies) */
    uint64_t batches_duplicate;       /* sent again in a replay, taken before: dropped */
    uint64_t messages_before_replay;  /* restarted: dropped while waiting for the replay */
    uint64_t checkpoints;             /* checkpoints written */
    uint64_t checkpoint_errors;       /* checkpoints that could not be written */
    uint64_t handovers_sent;          /* exports of moved ranges sent (one per tracker) */
    uint64_t handovers_taken;         /* exports of other trackers imported */
    uint64_t handover_errors;         /* refused, torn or unsendable handovers */
};

/* One export being received (chunks in order, as the splitter forwards them). */
struct ho_in {
    uint32_t from; /* exporting tracker */
    uint8_t *buf;  /* the bytes so far */
    size_t len;    /* received */
    size_t total;  /* announced */
};

/* A message sent to the merger is kept (n->keep) until an Ack covers it;
 * its tags in the queue: */
enum {
    KEPT_SEQ,   /* TrackerResult.seq, 0 for other messages */
    KEPT_EPOCH, /* its epoch (results) */
    KEPT_FINAL  /* 1: end of the run (final results, final stats, EndOfStream) */
};

#define TRK_KEEP_MEM_DEFAULT  (256ull << 20) /* kept for the merger in memory; past it, spilled */
#define TRK_KEEP_DISK_DEFAULT (16ull << 30)  /* and in state_dir at most */
#define TRK_AWAIT_REPLAY_S    30         /* restarted: wait this long for the splitter's replay */
#define TRK_CKPT_MAGIC        "RKTRKCK1" /* checkpoint file: magic and layout */
#define TRK_CKPT_LAYOUT       3u         /* 3: the run's end (ended, run_ns, ended_ns) */
#define TRK_FINAL_ACK_WAIT_S  120        /* exit_on_eos: wait for the merger's final Ack */

/* Packs rows of one flush into chunks. */
struct emitter {
    size_t budget;                /* array bytes per message */
    struct cmn_session_rec *sess; /* chunk buffers, each `budget` bytes */
    struct cmn_endpoint_rec *eps; /* endpoint rows */
    struct cmn_event_rec *evs;    /* event rows */
    size_t ns, ne, nv;            /* rows in the current chunk */
    size_t used;                  /* bytes in the current chunk */
    uint32_t chunk;               /* index of the current chunk, 0-based */
    uint32_t chunks;              /* chunks of this flush */
    uint64_t epoch;               /* epoch being reported */
    uint64_t epoch_ns;            /* its length */
    bool final;                   /* end-of-stream results */
};

struct trk_node {
    uint32_t id;                /* tracker index from the config */
    uint32_t owner;             /* tracker index in the ShardMap (ownership) */
    bool warned_seed;           /* told once: the map's probe seed came too late */
    struct ho_in *ho_in;        /* handovers being received, one per exporting tracker */
    size_t nho_in;              /* entries in ho_in */
    char *listen;               /* bound endpoint */
    char *merger;               /* merger endpoint */
    void *ctx;                  /* ZeroMQ context */
    bool own_ctx;               /* we created ctx */
    void *pull;                 /* from the splitter */
    void *push;                 /* to the merger */
    struct trk_mem mem;         /* memcap shared by the tables */
    struct trk_table *table;    /* sessions */
    struct trk_endpoints *eps;  /* endpoint evidence */
    struct trk_events *evs;     /* flood and scan detection */
    struct trk_frag *frag;      /* later fragments -> ports of their first */
    struct cmn_shard_map *map;  /* ShardMap, NULL until received */
    bool exit_on_eos;           /* leave after one stream */
    double stats_interval;      /* seconds, 0 = off */
    volatile sig_atomic_t stop; /* set by trk_node_stop */
    uint64_t next_seq;          /* expected RecordBatch.seq */
    uint64_t epoch_ns;          /* epoch length from the last EpochFlush */
    uint64_t last_epoch;        /* last flushed epoch */
    bool flushed;               /* last_epoch is valid */
    uint64_t flushed_end_ns;    /* end of the last flushed epoch (late records) */
    bool warned_nomap;          /* logged the missing map once */
    struct cmn_record *scratch; /* aligned copy of an unaligned batch */
    size_t scratch_cap;         /* records in scratch */
    struct emitter em;          /* result packing */
    struct node_counters c;     /* this stream's counters */
    uint64_t stats_next;        /* monotonic ns of the next stats line */
    uint64_t stats_records;     /* records_received at the previous line */
    uint64_t stats_mono;        /* monotonic ns of the previous line */
    int lost_any;               /* some stream ended with loss */
    /* replay to a restarted merger (cfg.merger_ack; docs/OPERATIONS.md "Restarts") */
    char *merger_ack;            /* the merger's Ack endpoint, or NULL */
    void *ack;                   /* SUB to it */
    void *mon;                   /* PAIR reading the push socket's handshakes */
    uint64_t handshakes;         /* connections to the merger completed */
    struct cmn_keepq *keep;      /* sent, not yet acknowledged, in order (memory, then
                                    state_dir past keep_bytes) */
    bool final_acked;            /* the merger committed this run's final results */
    uint64_t result_seq;         /* TrackerResult.seq of the last result sent in this run */
    struct cmn_metrics *metrics; /* borrowed endpoint, or NULL */
    uint64_t heard_ns;           /* monotonic ns of the splitter's last message (0: none yet) */
    bool hold_final;             /* the final snapshot stays until the next stream begins */
    /* checkpoints (cfg.state_dir, cfg.ack_listen) */
    uint64_t seed;        /* the tables' hash seed (a checkpoint keeps it) */
    char *state_dir;      /* checkpoint directory, or NULL */
    char ckpt_name[32];   /* tracker-ID.ckpt */
    char *ack_listen;     /* PUB endpoint for TrackerAck, or NULL */
    void *tack;           /* that PUB socket */
    uint64_t incarnation; /* this process's start, wall ns */
    bool ck_written;      /* this stream has a checkpoint file */
    bool ck_any_epoch;    /* it holds a flushed epoch: */
    uint64_t ck_epoch;    /*   the last one */
    uint64_t ck_seq;      /* and the last batch seq it holds */
    bool awaiting;        /* restarted: dropping what comes until the splitter's replay */
    /* the run's end (docs/OPERATIONS.md "Restarts"): after its end of stream
     * the tracker writes an `ended` checkpoint (what it keeps for the merger)
     * and removes it at the merger's final Ack */
    bool ended;           /* the ended checkpoint is on disk */
    bool end_pending;     /* restored from it: resend once an Ack says the run is the merger's */
    uint64_t run_ns;      /* the merger's run_started_ns for this stream (Acks; 0: not known) */
    uint64_t prev_run_ns; /* the stream before's (its late final Acks are not this one's) */
    uint64_t ended_ns;    /* wall ns of the end of stream */
    uint64_t await_until; /* monotonic ns when awaiting gives up */
    uint64_t dup_upto;    /* in a replay: batches up to this seq were taken before */
    uint64_t next_tack;   /* monotonic ns of the next TrackerAck */
};

void trk_node_stop(struct trk_node *n)
{
    n->stop = 1;
}

/* ---- checkpoint layout ---- */

struct ck_head {
    char magic[8];   /* TRK_CKPT_MAGIC */
    uint32_t layout; /* TRK_CKPT_LAYOUT */
    uint32_t id;     /* tracker index */
    uint64_t seed;   /* the tables' hash seed */
    uint64_t sizes;  /* struct sizes of this build, folded (another build is refused) */
};

struct ck_state {
    uint64_t owner, next_seq, epoch_ns, last_epoch, flushed_end_ns, result_seq;
    uint64_t ck_epoch, ck_seq;
    uint64_t run_ns;   /* the merger's run_started_ns for this stream (0: not known) */
    uint64_t ended_ns; /* ended: wall ns of the end of stream */
    uint8_t flushed, warned_nomap, ck_any_epoch;
    uint8_t ended; /* written after the end of stream: only what is kept for the merger counts */
    uint8_t pad[4];
};

static uint64_t s_ck_sizes(void)
{
    return sizeof(struct node_counters) | (uint64_t)sizeof(struct cmn_session_rec) << 16 |
           (uint64_t)sizeof(struct cmn_endpoint_rec) << 32 |
           (uint64_t)sizeof(struct cmn_event_rec) << 48;
}

static int s_ckpt_restore(struct trk_node *n, struct cmn_ckpt *c);

/* Open checkpoint `name` and read its header: 1 (open, header valid), 0
 * (none), -1 (not this tracker's or this build's, or torn: logged, closed). */
static int s_ckpt_open(struct trk_node *n, const char *name, struct cmn_ckpt *ck,
                       struct ck_head *hd)
{
    int have = cmn_ckpt_open_read(ck, n->state_dir, name);
    if (have == 1 &&
        (cmn_ckpt_get(ck, hd, sizeof(*hd)) != 0 || memcmp(hd->magic, TRK_CKPT_MAGIC, 8) != 0 ||
         hd->layout != TRK_CKPT_LAYOUT || hd->id != n->id || hd->sizes != s_ck_sizes())) {
        CMN_LOG(ERR,
                "checkpoint %s/%s is not this tracker's or this build's (or torn): starting "
                "empty, asking the splitter for its whole pipe",
                n->state_dir, name);
        (void)cmn_ckpt_close_read(ck);
        have = -1;
    }
    return have;
}

/* Messages kept for the merger. */
static size_t s_nkept(const struct trk_node *n)
{
    return n->keep ? cmn_keepq_count(n->keep) : 0;
}

struct trk_node *trk_node_new(const struct trk_node_config *cfg)
{
    assert(cfg && cfg->listen && cfg->merger);
    struct trk_node *n = calloc(1, sizeof(*n));
    if (!n) {
        CMN_LOG(ERR, "out of memory");
        return NULL;
    }
    n->id = cfg->id;
    n->owner = cfg->id;
    n->exit_on_eos = cfg->exit_on_eos;
    n->stats_interval = cfg->stats_interval_s;
    n->metrics = cfg->metrics;
    n->mem.cap = cfg->memcap_bytes;
    n->next_seq = 1;
    n->listen = strdup(cfg->listen);
    n->merger = strdup(cfg->merger);
    if (!n->listen || !n->merger)
        goto err;
    if (cfg->merger_ack && !(n->merger_ack = strdup(cfg->merger_ack)))
        goto err;
    if (cfg->state_dir && !(n->state_dir = strdup(cfg->state_dir)))
        goto err;
    if (cfg->ack_listen && !(n->ack_listen = strdup(cfg->ack_listen)))
        goto err;
    snprintf(n->ckpt_name, sizeof(n->ckpt_name), "tracker-%u.ckpt", n->id);
    if (n->merger_ack) { /* spilled into state_dir beside the checkpoints that refer to it */
        char kn[64];
        snprintf(kn, sizeof(kn), "tracker-%u.keep", n->id);
        n->keep = cmn_keepq_new(n->state_dir, kn,
                                cfg->keep_bytes ? cfg->keep_bytes : TRK_KEEP_MEM_DEFAULT,
                                cfg->keep_disk_bytes ? cfg->keep_disk_bytes : TRK_KEEP_DISK_DEFAULT,
                                n->state_dir != NULL);
        if (!n->keep)
            goto err;
    }
    n->incarnation = cmn_now_ns();
    /* a checkpoint left by a process that died: its seed makes the tables */
    struct cmn_ckpt ck;
    struct ck_head hd;
    int have = n->state_dir ? s_ckpt_open(n, n->ckpt_name, &ck, &hd) : 0;
    uint64_t seed = have == 1 ? hd.seed : cfg->seed ? cfg->seed : trk_key_random_seed();
    n->seed = seed;
    struct trk_table_config tc = {
        .spare_sessions = cfg->spare_sessions,
        .session_timeout_ns = cfg->session_timeout_ns,
        .seed = seed,
        .mem = &n->mem,
    };
    n->table = trk_table_new(&tc);
    if (!n->table)
        goto err;
    struct trk_endpoints_config ec = {.mem = &n->mem, .seed = seed ^ 0x5bd1e995u};
    n->eps = trk_endpoints_new(&ec);
    if (!n->eps)
        goto err;
    struct trk_events_config vc = {.mem = &n->mem, .seed = seed ^ 0x27d4eb2fu};
    n->evs = trk_events_new(&vc);
    n->frag = trk_frag_new(&n->mem, seed ^ 0x165667b1u);
    if (!n->evs || !n->frag)
        goto err;
    size_t max = cfg->result_max_bytes ? cfg->result_max_bytes : TRK_RESULT_MAX_BYTES;
    n->em.budget = max > RESULT_OVERHEAD + 2 * sizeof(struct cmn_session_rec)
                       ? max - RESULT_OVERHEAD
                       : 2 * sizeof(struct cmn_session_rec);
    n->em.sess = malloc(n->em.budget);
    n->em.eps = malloc(n->em.budget);
    n->em.evs = malloc(n->em.budget);
    if (!n->em.sess || !n->em.eps || !n->em.evs) {
        CMN_LOG(ERR, "out of memory for result buffers");
        goto err;
    }
    n->ctx = cfg->zmq_ctx;
    if (!n->ctx) {
        n->ctx = zmq_ctx_new();
        n->own_ctx = true;
        if (!n->ctx) {
            CMN_LOG(ERR, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
            goto err;
        }
    }
    n->pull = cmn_zmq_open(n->ctx, ZMQ_PULL, n->listen, true, 0, NODE_HWM);
    if (!n->pull)
        goto err;
    n->push = cmn_zmq_open(n->ctx, ZMQ_PUSH, n->merger, false, -1, NODE_HWM);
    if (!n->push)
        goto err;
    int timeo = NODE_SEND_TIMEO;
    zmq_setsockopt(n->push, ZMQ_SNDTIMEO, &timeo, sizeof(timeo));
    if (n->merger_ack) {
        n->ack = cmn_zmq_open(n->ctx, ZMQ_SUB, n->merger_ack, false, 0, 100);
        if (!n->ack || zmq_setsockopt(n->ack, ZMQ_SUBSCRIBE, "", 0) != 0)
            goto err;
        /* a merger that connects again is a new handshake on the push socket */
        char addr[64];
        snprintf(addr, sizeof(addr), "inproc://trk-mon-%p", (void *)n);
        if (!(n->mon = cmn_zmq_monitor(n->ctx, n->push, addr, ZMQ_EVENT_HANDSHAKE_SUCCEEDED)))
            goto err;
    }
    if (n->ack_listen && !(n->tack = cmn_zmq_open(n->ctx, ZMQ_PUB, n->ack_listen, true, 0, 100)))
        goto err;
    int nodrop = 1; /* a handover's chunks wait for the splitter rather than vanish */
    if (n->tack)
        zmq_setsockopt(n->tack, ZMQ_XPUB_NODROP, &nodrop, sizeof(nodrop));
    int restored = have == 1 ? s_ckpt_restore(n, &ck) : -1;
    if (restored == 0 && n->end_pending)
        CMN_LOG(NOTICE,
                "restarted after the end of stream (checkpoint %s/%s): %zu messages of the run's "
                "end kept for the merger; waiting for its Ack to say where the run stands",
                n->state_dir, n->ckpt_name, s_nkept(n));
    else if (restored == 0)
        CMN_LOG(NOTICE,
                "resuming from checkpoint %s/%s: epoch %s%" PRIu64 ", batch seq %" PRIu64
                ", %zu messages kept for the merger; waiting for the splitter to send the rest "
                "again",
                n->state_dir, n->ckpt_name, n->ck_any_epoch ? "" : "(none) ",
                n->ck_any_epoch ? n->ck_epoch : 0, n->ck_seq, s_nkept(n));
    if (n->end_pending) { /* the stream had ended: nothing comes again from the splitter */
        n->ck_written = true;
    } else if (have != 0) { /* a stream was under way when the old process died */
        n->awaiting = true;
        n->ck_written = true;
        n->await_until = cmn_mono_ns() + TRK_AWAIT_REPLAY_S * 1000000000ull;
    }
    return n;
err:
    trk_node_destroy(&n);
    return NULL;
}

void trk_node_destroy(struct trk_node **np)
{
    if (!np || !*np)
        return;
    struct trk_node *n = *np;
    if (n->push) {
        /* interrupted: do not hang on an absent merger; with merger_ack what
         * matters was acknowledged (or waited for): the rest are copies the
         * merger had, and one that left never takes them */
        if (n->stop || n->final_acked || n->ack) {
            int linger = 1000;
            zmq_setsockopt(n->push, ZMQ_LINGER, &linger, sizeof(linger));
        }
        cmn_zmq_close(n->push); /* before its monitor's PAIR */
    }
    cmn_zmq_close(n->mon);
    cmn_zmq_close(n->ack);
    if (n->keep && n->state_dir && !n->ck_written)
        cmn_keepq_remove_files(n->keep); /* no checkpoint refers to them */
    cmn_keepq_destroy(&n->keep);
    for (size_t i = 0; i < n->nho_in; i++)
        free(n->ho_in[i].buf);
    free(n->ho_in);
    free(n->merger_ack);
    cmn_zmq_close(n->tack);
    free(n->state_dir);
    free(n->ack_listen);
    cmn_zmq_close(n->pull);
    if (n->own_ctx && n->ctx)
        zmq_ctx_term(n->ctx);
    free(n->em.sess);
    free(n->em.eps);
    free(n->em.evs);
    free(n->scratch);
    cmn_shard_map_destroy(&n->map);
    trk_frag_destroy(&n->frag);
    trk_events_destroy(&n->evs);
    trk_endpoints_destroy(&n->eps);
    trk_table_destroy(&n->table);
    free(n->listen);
    free(n->merger);
    free(n);
    *np = NULL;
}

/* Keep a packed message for a merger that may connect again (taken). */
static void s_keep(struct trk_node *n, uint8_t *data, size_t len, uint64_t seq, uint64_t epoch,
                   bool final)
{
    uint64_t tag[3] = {[KEPT_SEQ] = seq, [KEPT_EPOCH] = epoch, [KEPT_FINAL] = final};
    int rc = cmn_keepq_push_owned(n->keep, data, len, tag);
    if (rc != 0) {
        n->c.messages_unkept++;
        if ((n->c.messages_unkept & (n->c.messages_unkept - 1)) == 0)
            CMN_LOG(WARN,
                    "%" PRIu64 " messages for the merger not kept (%s): a merger restart now "
                    "loses them",
                    n->c.messages_unkept,
                    rc == -ENOSPC ? (n->state_dir ? "keep_mb and keep_disk_mb full"
                                                  : "keep_mb full; spilling needs state_dir")
                                  : "spill file error");
    }
}

static int s_send_bytes(struct trk_node *n, const uint8_t *data, size_t len);

/* Send kept message i again. */
static int s_resend(struct trk_node *n, size_t i)
{
    const uint8_t *d;
    size_t len;
    int rc = cmn_keepq_get(n->keep, i, &d, &len);
    if (rc == 0 && (rc = s_send_bytes(n, d, len)) == 0)
        n->c.messages_resent++;
    return rc;
}

/* Blocking send of packed bytes that still honours trk_node_stop. */
static int s_send_bytes(struct trk_node *n, const uint8_t *data, size_t len)
{
    for (;;) {
        int rc = cmn_wire_send_bytes(n->push, data, len, 0);
        if (rc == 0)
            return 0;
        if (rc != -EAGAIN || n->stop) {
            n->c.send_errors++;
            return rc;
        }
    }
}

/* Send a message the merger must not lose: with merger_ack it is kept until
 * an Ack covers `epoch` (or, `final`, the run's end). */
static int s_send_kept(struct trk_node *n, Renkei__Envelope *env, uint64_t seq, uint64_t epoch,
                       bool final)
{
    size_t len;
    uint8_t *data = cmn_wire_pack(env, &len);
    if (!data)
        return -ENOMEM;
    int rc = s_send_bytes(n, data, len);
    if (n->ack)
        s_keep(n, data, len, seq, epoch, final);
    else
        free(data);
    return rc;
}

struct acked {
    bool final, any;
    uint64_t epoch;
};

static bool s_acked(const uint64_t tag[3], void *arg)
{
    const struct acked *a = arg;
    return a->final || (!tag[KEPT_FINAL] && a->any && tag[KEPT_EPOCH] <= a->epoch);
}

static bool s_final_tag(const uint64_t tag[3], void *arg)
{
    (void)arg;
    return tag[KEPT_FINAL] != 0;
}

static void s_ckpt_forget(struct trk_node *n);

/* Restored from an ended checkpoint: the first Ack says whether the run is
 * still the merger's (send its end again), ended there (nothing to do) or
 * gone (another run: what is kept of it goes, counted). */
static void s_end_resolve(struct trk_node *n, const Renkei__Ack *a)
{
    size_t kept = cmn_keepq_count(n->keep);
    bool ours = n->run_ns ? a->run_started_ns == n->run_ns
                          : a->run_started_ns && a->run_started_ns <= n->ended_ns;
    n->end_pending = false;
    if (ours && !a->final_committed) {
        CMN_LOG(NOTICE,
                "restarted after the end of stream: sending the merger again the %zu "
                "messages of the run's end it has not acknowledged",
                kept);
        if (cmn_wire_send_hello_restarted(n->push, RENKEI__NODE_KIND__NODE_TRACKER, n->id,
                                          n->listen, n->result_seq + 1) != 0)
            n->c.send_errors++;
        for (size_t i = 0; i < kept && !n->stop; i++)
            (void)s_resend(n, i);
        return;
    }
    if (ours)
        CMN_LOG(NOTICE, "restarted after the end of stream: the merger has committed the run's "
                        "end, nothing to send again");
    else {
        n->c.messages_unkept += kept;
        CMN_LOG(WARN,
                "restarted after the end of stream of a run the merger no longer has (it is in "
                "another): the %zu messages kept of that run's end are dropped",
                kept);
    }
    cmn_keepq_clear(n->keep);
    s_ckpt_forget(n);
    n->final_acked = true;
}

/* Drop what an Ack covers. */
static void s_on_ack(struct trk_node *n, const Renkei__Ack *a)
{
    if (n->end_pending) {
        s_end_resolve(n, a);
        return;
    }
    if (a->final_committed && n->prev_run_ns && a->run_started_ns == n->prev_run_ns) {
        /* the end of the stream before this one: its messages go, not this one's */
        (void)cmn_keepq_remove_if(n->keep, s_final_tag, NULL);
        return;
    }
    if (!a->final_committed && a->run_started_ns)
        n->run_ns = a->run_started_ns;
    struct acked ak = {a->final_committed, a->any_committed, a->committed_epoch};
    (void)cmn_keepq_remove_if(n->keep, s_acked, &ak);
    if (a->final_committed) {
        n->final_acked = true;
        if (n->ended) /* the end is the merger's for good */
            s_ckpt_forget(n);
    }
}

/* Acks waiting on the SUB socket; a merger that connected again gets Hello
 * and everything kept, in order. */
static void s_replay_poll(struct trk_node *n)
{
    if (!n->ack)
        return;
    for (;;) {
        int err = 0;
        Renkei__Envelope *env = cmn_wire_recv(n->ack, ZMQ_DONTWAIT, &err);
        if (!env)
            break;
        if (env->body_case == RENKEI__ENVELOPE__BODY_ACK)
            s_on_ack(n, env->ack);
        cmn_wire_free(&env);
    }
    int ev;
    while ((ev = cmn_wire_monitor_event(n->mon)) != -EAGAIN) {
        if (ev != ZMQ_EVENT_HANDSHAKE_SUCCEEDED || ++n->handshakes < 2)
            continue;
        struct cmn_keepq_stats ks;
        cmn_keepq_stats(n->keep, &ks);
        CMN_LOG(NOTICE,
                "merger %s connected again: sending again %zu messages (%" PRIu64 " bytes, %" PRIu64
                " of them from the spill file) it has not acknowledged",
                n->merger, s_nkept(n), ks.bytes, ks.bytes - ks.mem_bytes);
        uint64_t from = n->result_seq + 1; /* the first result sent again */
        for (size_t i = 0; i < s_nkept(n); i++)
            if (cmn_keepq_tag(n->keep, i)[KEPT_SEQ]) {
                from = cmn_keepq_tag(n->keep, i)[KEPT_SEQ];
                break;
            }
        (void)cmn_wire_send_hello_replay(n->push, RENKEI__NODE_KIND__NODE_TRACKER, n->id, n->listen,
                                         0, from);
        for (size_t i = 0; i < s_nkept(n) && !n->stop; i++)
            (void)s_resend(n, i);
    }
}

/* ---- checkpoints (cfg.state_dir) ---- */

static void s_reset(struct trk_node *n);

/* Where the newest checkpoint stands, to the splitter (never blocks). */
static void s_tack(struct trk_node *n)
{
    if (!n->tack)
        return;
    Renkei__TrackerAck a = RENKEI__TRACKER_ACK__INIT;
    a.tracker_id = n->id;
    a.incarnation = n->incarnation;
    a.any_epoch = n->ck_any_epoch;
    a.epoch = n->ck_epoch;
    a.pipe_seq = n->ck_seq;
    a.awaiting = n->awaiting;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_TRACKER_ACK;
    env.tracker_ack = &a;
    (void)cmn_wire_send(n->tack, &env, ZMQ_DONTWAIT);
    n->next_tack = cmn_mono_ns() + CMN_HEARTBEAT_MS * 1000000ull;
}

/* No checkpoint any more: the run's end is acknowledged, or nothing is kept
 * for the merger. */
static void s_ckpt_forget(struct trk_node *n)
{
    cmn_ckpt_remove(n->state_dir, n->ckpt_name);
    if (n->keep)
        cmn_keepq_remove_files(n->keep);
    n->ck_written = n->ck_any_epoch = false;
    n->ck_seq = n->ck_epoch = 0;
    n->ended = n->end_pending = false;
}

/* Write the checkpoint: everything taken so far (right after a flush, or
 * before a stream's first message), then tell the splitter. */
static void s_ckpt_write(struct trk_node *n)
{
    if (!n->state_dir)
        return;
    struct cmn_ckpt c;
    if (cmn_ckpt_open_write(&c, n->state_dir, n->ckpt_name) != 0) {
        n->c.checkpoint_errors++;
        return;
    }
    bool any = n->flushed;
    struct ck_head hd = {.layout = TRK_CKPT_LAYOUT, .id = n->id, .seed = n->seed};
    memcpy(hd.magic, TRK_CKPT_MAGIC, 8);
    hd.sizes = s_ck_sizes();
    struct ck_state st = {
        .owner = n->owner,
        .next_seq = n->next_seq,
        .epoch_ns = n->epoch_ns,
        .last_epoch = n->last_epoch,
        .flushed_end_ns = n->flushed_end_ns,
        .result_seq = n->result_seq,
        .ck_epoch = any ? n->last_epoch : 0,
        .ck_seq = n->next_seq - 1,
        .run_ns = n->run_ns,
        .ended_ns = n->ended_ns,
        .flushed = n->flushed,
        .warned_nomap = n->warned_nomap,
        .ck_any_epoch = any,
        .ended = n->ended,
    };
    cmn_ckpt_put(&c, &hd, sizeof(hd));
    cmn_ckpt_put(&c, &st, sizeof(st));
    n->c.checkpoints++; /* counted in the file as written */
    cmn_ckpt_put(&c, &n->c, sizeof(n->c));
    size_t nr = 0;
    const struct cmn_shard_range *r = n->map ? cmn_shard_ranges(n->map, &nr) : NULL;
    cmn_ckpt_put_u64(&c, n->map ? cmn_shard_trackers(n->map) : 0);
    cmn_ckpt_put_u64(&c, nr);
    cmn_ckpt_put(&c, r, nr * sizeof(*r));
    trk_table_save(n->table, &c);
    trk_endpoints_save(n->eps, &c);
    trk_events_save(n->evs, &c);
    trk_frag_save(n->frag, &c);
    cmn_ckpt_put_u64(&c, n->keep != NULL);
    if (n->keep)
        cmn_keepq_save(n->keep, &c);
    if (cmn_ckpt_close_write(&c) != 0) {
        n->c.checkpoints--;
        n->c.checkpoint_errors++;
        return;
    }
    if (n->keep)
        cmn_keepq_saved(n->keep);
    n->ck_written = true;
    n->ck_any_epoch = any;
    n->ck_epoch = st.ck_epoch;
    n->ck_seq = st.ck_seq;
    s_tack(n);
}

/* The rest of a checkpoint whose header was read: 0, or the tables are
 * emptied again (logged) and -EPROTO / -errno. */
static int s_ckpt_restore(struct trk_node *n, struct cmn_ckpt *c)
{
    struct ck_state st;
    struct node_counters cnt;
    uint64_t trackers = 0, nr = 0;
    void *ranges = NULL;
    if (cmn_ckpt_get(c, &st, sizeof(st)) == 0 && cmn_ckpt_get(c, &cnt, sizeof(cnt)) == 0) {
        trackers = cmn_ckpt_get_count(c, 4096);
        nr = cmn_ckpt_get_count(c, 1u << 20);
    }
    if (!c->err && nr && !(ranges = malloc(nr * sizeof(struct cmn_shard_range))))
        c->err = -ENOMEM;
    if (!c->err && cmn_ckpt_get(c, ranges, nr * sizeof(struct cmn_shard_range)) == 0 && trackers &&
        !(n->map = cmn_shard_map_decode((uint32_t)trackers, ranges,
                                        nr * sizeof(struct cmn_shard_range))))
        c->err = -EPROTO;
    free(ranges);
    if (!c->err && trk_table_load(n->table, c) == 0 && trk_endpoints_load(n->eps, c) == 0 &&
        trk_events_load(n->evs, c) == 0 && trk_frag_load(n->frag, c) == 0) {
        uint64_t kept = cmn_ckpt_get_count(c, 1);
        if (!c->err && kept != (n->keep != NULL)) {
            CMN_LOG(ERR, "checkpoint %s/%s was written %s merger_ack", n->state_dir, n->ckpt_name,
                    kept ? "with" : "without");
            c->err = -EPROTO;
        }
        if (!c->err && n->keep)
            (void)cmn_keepq_load(n->keep, c);
    }
    int rc = cmn_ckpt_close_read(c);
    if (rc != 0) {
        CMN_LOG(ERR,
                "checkpoint %s/%s unusable (%s): starting empty, asking the splitter for its "
                "whole pipe",
                n->state_dir, n->ckpt_name, rc == -EPROTO ? "torn or altered" : strerror(-rc));
        s_reset(n);
        if (n->keep)
            cmn_keepq_clear(n->keep);
        return rc;
    }
    n->c = cnt;
    n->owner = (uint32_t)st.owner;
    n->next_seq = st.next_seq;
    n->epoch_ns = st.epoch_ns;
    n->last_epoch = st.last_epoch;
    n->flushed = st.flushed;
    n->flushed_end_ns = st.flushed_end_ns;
    n->result_seq = st.result_seq;
    n->warned_nomap = st.warned_nomap;
    n->ck_any_epoch = st.ck_any_epoch;
    n->ck_epoch = st.ck_epoch;
    n->ck_seq = st.ck_seq;
    n->run_ns = st.run_ns;
    n->ended_ns = st.ended_ns;
    n->ended = n->end_pending = st.ended;
    return 0;
}

/* ---- result chunks ---- */

/* Chunks needed to pack ns sessions, ne endpoints, nv events in order, with
 * the same rule s_em_add applies (a row never straddles two chunks). */
static uint32_t s_plan(size_t budget, size_t ns, size_t ne, size_t nv)
{
    const size_t size[3] = {sizeof(struct cmn_session_rec), sizeof(struct cmn_endpoint_rec),
                            sizeof(struct cmn_event_rec)};
    size_t count[3] = {ns, ne, nv};
    uint32_t k = 1;
    size_t used = 0;
    for (int t = 0; t < 3; t++) {
        while (count[t] > 0) {
            size_t fit = (budget - used) / size[t];
            if (fit == 0) {
                k++;
                used = 0;
                continue;
            }
            size_t take = fit < count[t] ? fit : count[t];
            used += take * size[t];
            count[t] -= take;
        }
    }
    return k;
}

static void s_em_send(struct trk_node *n)
{
    struct emitter *em = &n->em;
    Renkei__TrackerResult r = RENKEI__TRACKER_RESULT__INIT;
    r.tracker_id = n->id;
    r.epoch = em->epoch;
    r.final = em->final;
    r.layout = CMN_LAYOUT_VERSION;
    r.epoch_ns = em->epoch_ns;
    r.chunk = em->chunk;
    r.chunks = em->chunks;
    r.seq = n->ack ? ++n->result_seq : 0; /* numbered when they can be sent again */
    r.session_count = (uint32_t)em->ns;
    r.session_size = sizeof(struct cmn_session_rec);
    r.sessions.len = em->ns * sizeof(struct cmn_session_rec);
    r.sessions.data = (uint8_t *)em->sess;
    r.endpoint_count = (uint32_t)em->ne;
    r.endpoint_size = sizeof(struct cmn_endpoint_rec);
    r.endpoints.len = em->ne * sizeof(struct cmn_endpoint_rec);
    r.endpoints.data = (uint8_t *)em->eps;
    r.event_count = (uint32_t)em->nv;
    r.event_size = sizeof(struct cmn_event_rec);
    r.events.len = em->nv * sizeof(struct cmn_event_rec);
    r.events.data = (uint8_t *)em->evs;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_RESULT;
    env.result = &r;
    if (s_send_kept(n, &env, r.seq, em->epoch, em->final) == 0)
        n->c.results_sent++;
    (void)CMN_NEVER(em->chunk >= em->chunks);
    em->chunk++;
    em->ns = em->ne = em->nv = 0;
    em->used = 0;
}

/* Make room for one row of `size` bytes, sending the current chunk if full. */
static void s_em_room(struct trk_node *n, size_t size)
{
    if (n->em.used + size > n->em.budget)
        s_em_send(n);
    n->em.used += size;
}

static void s_emit_session(void *ctx, const struct trk_sess_view *v)
{
    struct trk_node *n = ctx;
    s_em_room(n, sizeof(v->rec));
    n->em.sess[n->em.ns++] = v->rec;
}

static void s_emit_endpoint(void *ctx, const struct cmn_endpoint_rec *ev)
{
    struct trk_node *n = ctx;
    s_em_room(n, sizeof(*ev));
    n->em.eps[n->em.ne++] = *ev;
}

static void s_emit_event(void *ctx, const struct cmn_event_rec *ev)
{
    struct trk_node *n = ctx;
    s_em_room(n, sizeof(*ev));
    n->em.evs[n->em.nv++] = *ev;
}

static void s_fold(void *ctx, const struct trk_sess_view *v)
{
    struct trk_node *n = ctx;
    if (!trk_endpoints_applies(v->rec.proto, v->rec.flags))
        return;
    bool own_a = cmn_shard_lookup(n->map, v->rec.a_ip) == n->owner;
    bool own_b = cmn_shard_lookup(n->map, v->rec.b_ip) == n->owner;
    if (own_a || own_b) {
        (void)trk_endpoints_fold(n->eps, v, own_a, own_b); /* drops counted inside */
        (void)trk_events_fold(n->evs, v, own_a, own_b);
    }
}

/* Report everything touched since the previous flush as epoch `epoch`. */
static void s_flush(struct trk_node *n, uint64_t epoch, uint64_t epoch_ns, bool final)
{
    if (n->map) {
        trk_table_visit_dirty(n->table, s_fold, n);
    } else {
        n->c.protocol_errors++;
        if (!n->warned_nomap)
            CMN_LOG(WARN,
                    "epoch %" PRIu64 " flushed before any ShardMap: endpoint evidence "
                    "of its sessions is lost",
                    epoch);
        n->warned_nomap = true;
    }
    struct trk_table_stats ts;
    trk_table_get_stats(n->table, &ts);
    struct emitter *em = &n->em;
    size_t nv = trk_events_pending(n->evs);
    em->chunks = s_plan(em->budget, ts.dirty, trk_endpoints_changed(n->eps), nv);
    em->chunk = 0;
    em->ns = em->ne = em->nv = 0;
    em->used = 0;
    em->epoch = epoch;
    em->epoch_ns = epoch_ns;
    em->final = final;
    trk_table_flush(n->table, s_emit_session, n);
    trk_endpoints_flush(n->eps, s_emit_endpoint, n);
    trk_events_flush(n->evs, s_emit_event, n);
    s_em_send(n); /* the last (or only, possibly empty) chunk */
    (void)CMN_NEVER(em->chunk != em->chunks);
}

/* ---- messages ---- */

static void s_on_shard_map(struct trk_node *n, const Renkei__ShardMap *m)
{
    struct cmn_shard_map *map =
        cmn_shard_map_decode(m->tracker_count, m->ranges.data, m->ranges.len);
    if (!map || m->tracker_index >= m->tracker_count) {
        n->c.protocol_errors++;
        CMN_LOG(WARN, "malformed ShardMap (%u trackers, %zu bytes), ignored", m->tracker_count,
                m->ranges.len);
        cmn_shard_map_destroy(&map);
        return;
    }
    if (m->tracker_index != n->id)
        CMN_LOG(WARN,
                "ShardMap names this tracker %u, configured id is %u: owning the ranges "
                "of %u",
                m->tracker_index, n->id, m->tracker_index);
    if (m->probe_seed && trk_events_set_probe_seed(n->evs, m->probe_seed) != 0 && !n->warned_seed) {
        n->warned_seed = true;
        CMN_LOG(WARN, "ShardMap probe seed differs from the one this tracker's probe sessions "
                      "use: they cannot move to another tracker (a scale-out loses them)");
    }
    cmn_shard_map_destroy(&n->map);
    n->map = map;
    n->owner = m->tracker_index;
    CMN_LOG(INFO, "shard map v%" PRIu64 ": tracker %u of %u", m->version, m->tracker_index,
            m->tracker_count);
}

/* True for the ICMP(v6) errors that say the quoted port is closed to its
 * sender: port unreachable, administratively prohibited (ICMP 3/3, 3/9,
 * 3/10, 3/13; ICMPv6 1/1, 1/4). */
static bool s_is_refusal(const struct cmn_record *r)
{
    uint8_t type = (uint8_t)(r->sport >> 8), code = (uint8_t)r->sport;
    if (r->proto == 1)
        return type == 3 && (code == 3 || code == 9 || code == 10 || code == 13);
    return r->proto == 58 && type == 1 && (code == 1 || code == 4);
}

/* Apply an ICMP error quoting the reverse datagram packet (CMN_REC_ICMP_QUOTE)
 * to that packet's session, after the batch (the quoted packet came first).
 * Both trackers that own one of the two addresses see the error and the
 * session, so their copies of the session stay equal. TCP is left to its
 * own RSTs. */
static void s_icmp_refusal(struct trk_node *n, const struct cmn_record *r)
{
    if (r->tcp_flags == 6 || !s_is_refusal(r))
        return;
    struct cmn_record q;
    memset(&q, 0, sizeof(q));
    memcpy(q.src, r->dst, 16);
    memcpy(q.dst, r->src, 16);
    q.sport = (uint16_t)r->pad;
    q.dport = r->dport;
    q.proto = r->tcp_flags;
    struct trk_key k;
    int dir = trk_key_from_record(&k, &q); /* the quoted packet's direction */
    uint64_t h = trk_table_hash(n->table, &k);
    if (trk_table_refuse(n->table, &k, h, !dir, r->ts_ns) == 0)
        n->c.icmp_refusals++;
    else
        n->c.icmp_refusals_unmatched++;
}

static void s_on_batch(struct trk_node *n, const struct cmn_wire_batch *b)
{
    const struct cmn_record *recs;
    long cnt = cmn_wire_view_records(b, &recs);
    if (cnt < 0) {
        n->c.batches_malformed++;
        return;
    }
    if (n->dup_upto && b->seq <= n->dup_upto) { /* a replay from before our checkpoint */
        n->c.batches_duplicate++;
        return;
    }
    n->dup_upto = 0;
    if (b->seq > n->next_seq) {
        n->c.batches_lost += b->seq - n->next_seq;
        n->next_seq = b->seq + 1;
    } else if (b->seq < n->next_seq) {
        n->c.batches_out_of_order++;
    } else {
        n->next_seq++;
    }
    n->c.batches_received++;
    n->c.records_received += (uint64_t)cnt;
    if (cnt == 0)
        return;
    bool unaligned = (uintptr_t)recs % _Alignof(struct cmn_record) != 0;
    bool frags = !unaligned && trk_frag_any(recs, (size_t)cnt); /* rewritten: needs a copy */
    if (unaligned || frags) {
        if ((size_t)cnt > n->scratch_cap) {
            struct cmn_record *p = realloc(n->scratch, (size_t)cnt * sizeof(*p));
            if (!p) {
                n->c.batches_malformed++; /* cannot align: counted as lost records */
                n->c.records_received -= (uint64_t)cnt;
                return;
            }
            n->scratch = p;
            n->scratch_cap = (size_t)cnt;
        }
        memcpy(n->scratch, recs, (size_t)cnt * sizeof(*recs));
        if (frags || trk_frag_any(n->scratch, (size_t)cnt))
            trk_frag_apply(n->frag, n->scratch, (size_t)cnt);
        recs = n->scratch;
    }
    if (n->flushed_end_ns && b->first_ts_ns < n->flushed_end_ns)
        for (long i = 0; i < cnt; i++)
            n->c.late_records += recs[i].ts_ns < n->flushed_end_ns;
    trk_table_update_burst(n->table, recs, (size_t)cnt);
    for (long i = 0; i < cnt; i++)
        if (recs[i].flags & CMN_REC_ICMP_QUOTE)
            s_icmp_refusal(n, &recs[i]);
}

static void s_on_flush(struct trk_node *n, const Renkei__EpochFlush *f)
{
    if (n->dup_upto && n->flushed && f->epoch <= n->last_epoch)
        return; /* a replay from before our checkpoint: reported already */
    if (n->flushed && f->epoch <= n->last_epoch) {
        n->c.protocol_errors++; /* repeated or backwards flush: report it anyway */
        CMN_LOG(WARN, "EpochFlush %" PRIu64 " after %" PRIu64, f->epoch, n->last_epoch);
    }
    s_flush(n, f->epoch, f->epoch_ns, false);
    n->c.epochs_flushed++;
    n->flushed = true;
    n->last_epoch = f->epoch;
    if (f->epoch_ns) {
        n->epoch_ns = f->epoch_ns;
        n->flushed_end_ns = (f->epoch + 1) * f->epoch_ns;
    }
    s_ckpt_write(n); /* the epoch's results are sent: the pipe up to here is in it */
}

/* Hello to the merger. Restarted from a checkpoint (awaiting): what the
 * process before sent after the checkpoint is void, and what the checkpoint
 * kept for the merger goes again. 0 or -errno. */
static int s_hello_merger(struct trk_node *n)
{
    int rc = n->awaiting ? cmn_wire_send_hello_restarted(n->push, RENKEI__NODE_KIND__NODE_TRACKER,
                                                         n->id, n->listen, n->result_seq + 1)
                         : cmn_wire_send_hello(n->push, RENKEI__NODE_KIND__NODE_TRACKER, n->id,
                                               n->listen, 0);
    for (size_t i = 0; rc == 0 && n->awaiting && i < s_nkept(n) && !n->stop; i++)
        (void)s_resend(n, i);
    s_tack(n);
    return rc;
}

/* The epoch a checkpoint file holds (0 when readable). */
static int s_ckpt_epoch(struct trk_node *n, const char *name, bool *any, uint64_t *epoch)
{
    struct cmn_ckpt ck;
    struct ck_head hd;
    struct ck_state st = {0};
    if (s_ckpt_open(n, name, &ck, &hd) != 1)
        return -1;
    int rc = hd.seed == n->seed && cmn_ckpt_get(&ck, &st, sizeof(st)) == 0 && !st.ended ? 0 : -1;
    (void)cmn_ckpt_close_read(&ck); /* not read to its end: its checksum is not checked here */
    *any = st.ck_any_epoch;
    *epoch = st.ck_epoch;
    return rc;
}

/* The splitter restarted from its checkpoint of epoch `epoch` (any: some
 * epoch): go back to the newest checkpoint at or before it (the one before
 * the newest is kept for this), then await the replay as a restarted
 * tracker does. */
static void s_rollback(struct trk_node *n, bool want_any, uint64_t want)
{
    if (!n->state_dir) {
        n->c.protocol_errors++;
        CMN_LOG(WARN, "the splitter restarted and asks this tracker to go back to its checkpoint, "
                      "but it keeps none (state_dir): what it sends again counts twice");
        return;
    }
    char prev[sizeof(n->ckpt_name) + 8];
    snprintf(prev, sizeof(prev), "%s.prev", n->ckpt_name);
    const char *names[2] = {n->ckpt_name, prev}, *pick = NULL;
    for (int i = 0; i < 2 && !pick; i++) {
        bool any;
        uint64_t ep;
        if (s_ckpt_epoch(n, names[i], &any, &ep) == 0 && (!any || (want_any && ep <= want)))
            pick = names[i];
    }
    s_reset(n);
    if (n->keep)
        cmn_keepq_clear(n->keep);
    n->ended = n->end_pending = false; /* the stream's end comes again */
    struct cmn_ckpt ck;
    struct ck_head hd;
    if (pick && s_ckpt_open(n, pick, &ck, &hd) == 1 && s_ckpt_restore(n, &ck) == 0) {
        CMN_LOG(NOTICE,
                "the splitter restarted: back to checkpoint %s (epoch %s%" PRIu64
                ", batch seq %" PRIu64 "), waiting for it to send the rest again",
                pick, n->ck_any_epoch ? "" : "none, ", n->ck_epoch, n->ck_seq);
        char a[600], b[600]; /* the newer one is void now: the older takes its place */
        snprintf(a, sizeof(a), "%s/%s", n->state_dir, prev);
        snprintf(b, sizeof(b), "%s/%s", n->state_dir, n->ckpt_name);
        if (pick == names[1] && rename(a, b) != 0)
            CMN_LOG(WARN, "checkpoint %s: rename: %s", a, strerror(errno));
    } else {
        CMN_LOG(WARN,
                "the splitter restarted: no checkpoint of this tracker at or before its epoch: "
                "starting empty, asking for its whole pipe");
        cmn_ckpt_remove(n->state_dir, n->ckpt_name);
        /* its TrackerAcks say so (not the epoch of the checkpoint gone) */
        n->ck_any_epoch = false;
        n->ck_epoch = n->ck_seq = 0;
    }
    n->awaiting = true;
    n->ck_written = true;
    n->incarnation = cmn_now_ns();
    n->await_until = cmn_mono_ns() + TRK_AWAIT_REPLAY_S * 1000000000ull;
    if (s_hello_merger(n) != 0)
        n->c.send_errors++;
}

/* The splitter's Hello{restarted}: its keep log follows, from batch seq
 * resume_seq; Hello{rollback}: it restarted itself. Anything else from the
 * splitter in a Hello is unexpected. */
static void s_on_splitter_hello(struct trk_node *n, const Renkei__Hello *h)
{
    if (h->kind == RENKEI__NODE_KIND__NODE_SPLITTER && h->rollback) {
        s_rollback(n, h->rollback_any, h->rollback_epoch);
        return;
    }
    if (h->kind != RENKEI__NODE_KIND__NODE_SPLITTER || !h->restarted) {
        n->c.unexpected_messages++;
        return;
    }
    uint64_t from = h->resume_seq ? h->resume_seq : 1;
    CMN_LOG(NOTICE,
            "the splitter sends this pipe again from batch seq %" PRIu64 " (expected %" PRIu64
            "; %" PRIu64 " messages dropped while waiting)",
            from, n->next_seq, n->c.messages_before_replay);
    n->awaiting = false;
    if (from > n->next_seq) {
        n->c.batches_lost += from - n->next_seq;
        CMN_LOG(WARN, "batches %" PRIu64 "..%" PRIu64 " are not in the splitter's keep log: lost",
                n->next_seq, from - 1);
        n->next_seq = from;
    } else if (from < n->next_seq) {
        n->dup_upto = n->next_seq - 1;
    }
    s_tack(n);
}

static size_t s_counters(const struct trk_node *n, struct cmn_counter *c)
{
    struct trk_table_stats ts;
    trk_table_get_stats(n->table, &ts);
    size_t k = 0;
#define C(name, v) c[k++] = (struct cmn_counter){name, (uint64_t)(v)}
    C("records_received", n->c.records_received);
    C("batches_received", n->c.batches_received);
    C("batches_lost", n->c.batches_lost);
    C("batches_out_of_order", n->c.batches_out_of_order);
    C("batches_malformed", n->c.batches_malformed);
    C("records_expected", n->c.records_expected);
    C("records_lost", n->c.records_lost);
    C("records_tabled", ts.records - ts.drop_memcap);
    C("drop_memcap", ts.drop_memcap);
    C("endpoint_drop_memcap", trk_endpoints_drops(n->eps));
    C("late_records", n->c.late_records);
    C("icmp_refusals", n->c.icmp_refusals);
    C("icmp_refusals_unmatched", n->c.icmp_refusals_unmatched);
    C("connections_refused", cmn_curve_refused());
    C("connections_closed", cmn_curve_closed());
    C("sessions_live", ts.live);
    C("sessions_created", ts.created);
    C("sessions_restarted", ts.restarted);
    C("sessions_freed", ts.freed);
    C("counter_spills", ts.spills);
    C("endpoints", trk_endpoints_count(n->eps));
    C("event_rows", trk_events_count(n->evs));
    C("event_drop_memcap", trk_events_drops(n->evs));
    C("results_sent", n->c.results_sent);
    C("epochs_flushed", n->c.epochs_flushed);
    C("envelopes_malformed", n->c.envelopes_malformed);
    C("protocol_errors", n->c.protocol_errors);
    C("unexpected_messages", n->c.unexpected_messages);
    C("impostor_messages", n->c.impostor_messages);
    C("send_errors", n->c.send_errors);
    C("messages_resent", n->c.messages_resent);
    C("messages_unkept", n->c.messages_unkept);
    struct cmn_keepq_stats ks = {0};
    if (n->keep)
        cmn_keepq_stats(n->keep, &ks);
    C("messages_kept", ks.messages);
    C("kept_bytes", ks.bytes);
    C("kept_spilled_messages", ks.spilled);
    C("kept_spilled_bytes", ks.spilled_bytes);
    C("kept_spill_errors", ks.spill_errors);
    C("batches_duplicate", n->c.batches_duplicate);
    C("messages_before_replay", n->c.messages_before_replay);
    C("checkpoints", n->c.checkpoints);
    C("checkpoint_errors", n->c.checkpoint_errors);
    C("handovers_sent", n->c.handovers_sent);
    C("handovers_taken", n->c.handovers_taken);
    C("handover_errors", n->c.handover_errors);
    C("memory_bytes", n->mem.used);
    C("memory_peak_bytes", n->mem.peak);
    C("memcap_bytes", n->mem.cap);
#undef C
    assert(k <= TRK_COUNTERS_MAX);
    return k;
}

/* Counters of s_counters that go up and down. */
static const char *const s_gauges[] = {
    "records_expected", "records_lost", "sessions_live",     "endpoints", "event_rows",
    "memory_bytes",     "memcap_bytes", "memory_peak_bytes", NULL,
};

/* The Stats counters and the endpoint's own gauges to /metrics. */
static void s_publish(const struct trk_node *n, bool final)
{
    if (!n->metrics)
        return;
    struct cmn_counter c[TRK_COUNTERS_MAX];
    size_t k = s_counters(n, c);
    struct cmn_metric x[4];
    size_t nx = 0;
    x[nx++] = (struct cmn_metric){.name = "final",
                                  .type = CMN_METRIC_GAUGE,
                                  .value = final,
                                  .help = "1 once the stream ended and the final stats were sent"};
    if (n->flushed) {
        x[nx++] = (struct cmn_metric){.name = "epoch",
                                      .type = CMN_METRIC_GAUGE,
                                      .value = n->last_epoch,
                                      .help = "the last epoch flushed"};
        if (n->flushed_end_ns)
            x[nx++] = (struct cmn_metric){
                .name = "lag_seconds",
                .type = CMN_METRIC_GAUGE_REAL,
                .real = ((double)cmn_now_ns() - (double)n->flushed_end_ns) / 1e9,
                .help = "wall clock minus the end of the last epoch flushed (capture time; large "
                        "for a replayed capture)"};
    }
    if (n->heard_ns)
        x[nx++] = (struct cmn_metric){.name = "peer_last_heard_seconds",
                                      .type = CMN_METRIC_GAUGE_REAL,
                                      .real = (double)(cmn_mono_ns() - n->heard_ns) / 1e9,
                                      .peer = "splitter",
                                      .help = "seconds since the splitter's last message"};
    cmn_metrics_publish(n->metrics, c, k, s_gauges, x, nx);
}

/* New stream: forget sessions, endpoints, sequence and counters. */
static void s_reset(struct trk_node *n)
{
    trk_table_reset(n->table);
    trk_endpoints_reset(n->eps);
    trk_events_reset(n->evs);
    trk_frag_reset(n->frag);
    cmn_shard_map_destroy(&n->map);
    n->owner = n->id;
    n->next_seq = 1;
    n->epoch_ns = 0;
    n->last_epoch = 0;
    n->flushed = false;
    n->flushed_end_ns = 0;
    n->warned_nomap = false;
    n->final_acked = false;
    n->result_seq = 0;
    n->dup_upto = 0;
    memset(&n->c, 0, sizeof(n->c));
    n->stats_records = 0;
    /* a handover half received comes again whole from the replay (its
     * chunks start at offset 0 again) */
    for (size_t i = 0; i < n->nho_in; i++)
        free(n->ho_in[i].buf);
    n->nho_in = 0;
}

/* Returns true when the loop should end (exit_on_eos). */
static bool s_on_eos(struct trk_node *n, const Renkei__EndOfStream *e)
{
    if (e->kind != RENKEI__NODE_KIND__NODE_SPLITTER) {
        n->c.unexpected_messages++;
        return false;
    }
    if (e->retired)
        CMN_LOG(NOTICE, "removed from the shard map: this tracker's part of the run ends here");
    n->c.records_expected = e->records_sent;
    n->c.records_lost =
        e->records_sent > n->c.records_received ? e->records_sent - n->c.records_received : 0;
    if (e->batches_sent >= n->next_seq)
        n->c.batches_lost += e->batches_sent - (n->next_seq - 1); /* missing tail */
    uint64_t epoch = n->flushed ? n->last_epoch + 1 : 0;
    uint64_t now = trk_table_now(n->table);
    if (n->epoch_ns && now / n->epoch_ns > epoch)
        epoch = now / n->epoch_ns;
    s_flush(n, epoch, n->epoch_ns, true);
    struct cmn_counter c[TRK_COUNTERS_MAX];
    size_t k = s_counters(n, c);
    size_t slen;
    uint8_t *sb =
        cmn_wire_pack_stats(RENKEI__NODE_KIND__NODE_TRACKER, n->id, n->listen, true, c, k, &slen);
    if (!sb || s_send_bytes(n, sb, slen) != 0)
        n->c.send_errors++;
    if (sb && n->ack)
        s_keep(n, sb, slen, 0, 0, true);
    else
        free(sb);
    s_publish(n, true); /* what the merger stores in node_stats for us */
    n->hold_final = true;
    Renkei__EndOfStream out = RENKEI__END_OF_STREAM__INIT;
    out.kind = RENKEI__NODE_KIND__NODE_TRACKER;
    out.node_id = n->id;
    out.batches_sent = n->c.results_sent;
    out.records_sent = n->c.records_received;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_EOS;
    env.eos = &out;
    (void)s_send_kept(n, &env, 0, 0, true);
    if (n->state_dir && n->keep && !e->retired && !n->final_acked) {
        /* the stream is whole; what the merger has not acknowledged of its
         * end stays in an ended checkpoint until the final Ack */
        n->ended = true;
        n->ended_ns = cmn_now_ns();
        s_ckpt_write(n);
    } else if (n->state_dir && !e->retired) {
        s_ckpt_forget(n);
    }
    bool lost = n->c.records_lost || n->c.batches_lost;
    struct trk_table_stats ts;
    trk_table_get_stats(n->table, &ts);
    if (lost)
        n->lost_any = 1;
    CMN_LOG(NOTICE,
            "end of stream: %" PRIu64 " records received of %" PRIu64 " sent (%" PRIu64
            " lost, %" PRIu64 " batch gaps), %" PRIu64 " memcap drops, %" PRIu64 " results",
            n->c.records_received, n->c.records_expected, n->c.records_lost, n->c.batches_lost,
            ts.drop_memcap + trk_endpoints_drops(n->eps), n->c.results_sent);
    if (n->exit_on_eos)
        return true;
    s_reset(n);
    n->prev_run_ns = n->run_ns;
    n->run_ns = 0;
    return false;
}

static void s_on_handover(struct trk_node *n, const Renkei__Handover *h);

static bool s_handle(struct trk_node *n, const struct cmn_wire_msg *m)
{
    bool hello = !m->is_batch && m->env->body_case == RENKEI__ENVELOPE__BODY_HELLO;
    if (hello) {
        s_on_splitter_hello(n, m->env->hello);
        return false;
    }
    if (n->awaiting) { /* restarted: it all comes again after the splitter's Hello */
        n->c.messages_before_replay++;
        return false;
    }
    if (n->state_dir && (!n->ck_written || n->ended)) {
        n->ended = n->end_pending = false; /* the run before's end is only in what is kept */
        s_ckpt_write(n); /* a stream begins: a crash from here on resumes from its start */
    }
    if (!m->is_batch && m->env->body_case == RENKEI__ENVELOPE__BODY_EOS)
        return s_on_eos(n, m->env->eos);
    n->hold_final = false; /* a new stream (or more of this one) */
    if (m->is_batch) {
        s_on_batch(n, &m->batch); /* read in place: records point into the message */
        return false;
    }
    Renkei__Envelope *env = m->env;
    switch (env->body_case) {
        case RENKEI__ENVELOPE__BODY_SHARD_MAP:
            s_on_shard_map(n, env->shard_map);
            return false;
        case RENKEI__ENVELOPE__BODY_FLUSH:
            s_on_flush(n, env->flush);
            return false;
        case RENKEI__ENVELOPE__BODY_HANDOVER:
            s_on_handover(n, env->handover);
            return false;
        default:
            n->c.unexpected_messages++;
            return false;
    }
}

int trk_node_handle(struct trk_node *n, const uint8_t *bytes, size_t len)
{
    cmn_wire_record("tracker", bytes, len);
    struct cmn_wire_msg m;
    if (cmn_wire_decode_msg(bytes, len, &m) != 0) {
        uint64_t k = ++n->c.envelopes_malformed;
        if ((k & (k - 1)) == 0) /* the first, then every power of two */
            CMN_LOG(WARN, "malformed message dropped (%" PRIu64 " so far): %s", k, m.why);
        return 0;
    }
    bool done = s_handle(n, &m);
    cmn_wire_msg_close(&m);
    return done ? 1 : 0;
}

static void s_stats_line(struct trk_node *n, uint64_t mono)
{
    struct trk_table_stats ts;
    trk_table_get_stats(n->table, &ts);
    double dt = (double)(mono - n->stats_mono) / 1e9;
    double rate = dt > 0 ? (double)(n->c.records_received - n->stats_records) / dt : 0;
    CMN_LOG(NOTICE,
            "records %" PRIu64 " (%.0f/s), sessions live %" PRIu64 ", endpoints %zu, "
            "memcap drops %" PRIu64 ", batch gaps %" PRIu64 ", memory %zu MB",
            n->c.records_received, rate, ts.live, trk_endpoints_count(n->eps), ts.drop_memcap,
            n->c.batches_lost, n->mem.used >> 20);
    n->stats_records = n->c.records_received;
    n->stats_mono = mono;
    if (!n->hold_final)
        s_publish(n, false);
}

int trk_node_run(struct trk_node *n)
{
    if (s_hello_merger(n) != 0) {
        CMN_LOG(ERR, "cannot send Hello to %s", n->merger);
        return CMN_EXIT_ERROR;
    }
    /* Received batches are fresh 256 KiB allocations (ZeroMQ's I/O thread):
     * keep freed ones mapped so each batch does not fault its pages in again. */
    cmn_wire_keep_buffers();
    s_publish(n, false); /* the counters' names show from the start */
    uint64_t step = (uint64_t)(n->stats_interval * 1e9);
    n->stats_mono = cmn_mono_ns();
    n->stats_next = n->stats_mono + step;
    bool done = n->end_pending && n->exit_on_eos; /* restarted after its end: the end only */
    int rc = CMN_EXIT_OK;
    uint64_t beat = 0; /* monotonic time of the next heartbeat */
    while (!done && !n->stop) {
        zmq_pollitem_t pi = {.socket = n->pull, .events = ZMQ_POLLIN};
        int pr = zmq_poll(&pi, 1, NODE_POLL_MS);
        if (pr < 0 && zmq_errno() != EINTR) {
            CMN_LOG(ERR, "zmq_poll: %s", zmq_strerror(zmq_errno()));
            rc = CMN_EXIT_ERROR;
            break;
        }
        for (int i = 0; pr > 0 && i < NODE_DRAIN_MAX && !done && !n->stop; i++) {
            zmq_msg_t zm;
            zmq_msg_init(&zm);
            if (zmq_msg_recv(&zm, n->pull, ZMQ_DONTWAIT) < 0) {
                int err = zmq_errno();
                zmq_msg_close(&zm);
                if (err == EAGAIN || err == EINTR)
                    break;
                CMN_LOG(ERR, "receive: %s", zmq_strerror(err));
                rc = CMN_EXIT_ERROR;
                done = true;
                break;
            }
            /* only the splitter feeds a tracker: with CURVE, its keyring entry
             * (as=) must allow the sender to speak as the splitter */
            if (!cmn_curve_may_send(zmq_msg_gets(&zm, "User-Id"), RENKEI__NODE_KIND__NODE_SPLITTER,
                                    0))
                n->c.impostor_messages++;
            else
                done = trk_node_handle(n, zmq_msg_data(&zm), zmq_msg_size(&zm)) == 1;
            n->heard_ns = cmn_mono_ns();
            zmq_msg_close(&zm);
        }
        trk_table_expire(n->table, NODE_EXPIRE_VISIT);
        s_replay_poll(n);
        uint64_t mono = cmn_mono_ns();
        if (n->awaiting && mono >= n->await_until) {
            CMN_LOG(WARN,
                    "no replay from the splitter within %d s (is this tracker's ack_listen its "
                    "tracker_ack?): taking its messages as they come; what came after the "
                    "checkpoint is lost and counted as a gap",
                    TRK_AWAIT_REPLAY_S);
            n->awaiting = false;
        }
        if (n->tack && mono >= n->next_tack)
            s_tack(n);
        if (mono >= beat) { /* liveness, to the merger (docs/OPERATIONS.md) */
            (void)cmn_wire_send_heartbeat(n->push, RENKEI__NODE_KIND__NODE_TRACKER, n->id);
            beat = mono + CMN_HEARTBEAT_MS * 1000000ull;
        }
        if (step && mono >= n->stats_next) {
            s_stats_line(n, mono);
            n->stats_next = mono + step;
        }
    }
    /* exit_on_eos with replay: the end of the run is sent; leave once the
     * merger has it for good, sending it again should the merger restart
     * meanwhile */
    uint64_t until = cmn_mono_ns() + TRK_FINAL_ACK_WAIT_S * 1000000000ull;
    while (done && n->ack && !n->final_acked && !n->stop) {
        s_replay_poll(n);
        uint64_t mono = cmn_mono_ns();
        if (mono >= until) {
            CMN_LOG(WARN,
                    "the merger did not acknowledge the end of the run within %d s; leaving "
                    "(%zu messages unacknowledged)",
                    TRK_FINAL_ACK_WAIT_S, s_nkept(n));
            break;
        }
        if (mono >= beat) {
            (void)cmn_wire_send_heartbeat(n->push, RENKEI__NODE_KIND__NODE_TRACKER, n->id);
            beat = mono + CMN_HEARTBEAT_MS * 1000000ull;
        }
        zmq_poll(NULL, 0, 50);
    }
    if (rc == CMN_EXIT_OK && n->lost_any)
        rc = CMN_EXIT_LOST;
    return rc;
}

/* ---- handover of moved ranges (scale-out, scale-in) ---- */

#define TRK_HANDOVER_MAGIC "RKTRKHO1"
#define TRK_HANDOVER_SEED  0x72656e6b65696830ull /* "renkeih0" */

struct ho_head {
    char magic[8];  /* TRK_HANDOVER_MAGIC */
    uint32_t from;  /* exporting tracker (index in map v) */
    uint32_t dest;  /* importing tracker (index in the next map) */
    uint64_t sizes; /* s_ck_sizes of the exporting build */
};

/* Which addresses an export or drop takes. */
struct ho_sel {
    const struct cmn_shard_map *map;  /* map v (this tracker's), NULL: none */
    const struct cmn_shard_map *next; /* the next map */
    uint32_t owner;                   /* this tracker in map v */
    uint32_t dest;                    /* export: the importer; drop: this tracker in next */
};

/* Export: owned here under v, owned by dest under next. */
static bool s_ho_moves(void *arg, const uint8_t ip[16])
{
    const struct ho_sel *s = arg;
    return s->map && cmn_shard_lookup(s->map, ip) == s->owner &&
           cmn_shard_lookup(s->next, ip) == s->dest;
}

/* Drop: what this tracker owns under next. */
static bool s_ho_keeps(void *arg, const uint8_t ip[16])
{
    const struct ho_sel *s = arg;
    return cmn_shard_lookup(s->next, ip) == s->dest;
}

int trk_node_handover_export(struct trk_node *n, const struct cmn_shard_map *next, uint32_t dest,
                             char **buf, size_t *len)
{
    struct ho_sel sel = {.map = n->map, .next = next, .owner = n->owner, .dest = dest};
    struct ho_head hd = {.from = n->owner, .dest = dest, .sizes = s_ck_sizes()};
    memcpy(hd.magic, TRK_HANDOVER_MAGIC, 8);
    struct cmn_ckpt c;
    int rc = cmn_ckpt_open_mem_write(&c, buf, len);
    if (rc == 0) {
        cmn_ckpt_put(&c, &hd, sizeof(hd));
        trk_table_export(n->table, s_ho_moves, &sel, &c);
        trk_endpoints_export(n->eps, s_ho_moves, &sel, &c);
        trk_events_export(n->evs, s_ho_moves, &sel, &c);
        trk_frag_export(n->frag, s_ho_moves, &sel, &c);
        rc = cmn_ckpt_close_write(&c);
    }
    /* a sum over the whole buffer, checked before anything is taken */
    char *b = rc == 0 ? realloc(*buf, *len + 8) : NULL;
    if (rc == 0 && !b)
        rc = -ENOMEM;
    if (b) {
        uint64_t sum = cmn_hash_bytes(b, *len, TRK_HANDOVER_SEED);
        memcpy(b + *len, &sum, 8);
        *buf = b;
        *len += 8;
    }
    if (rc != 0)
        CMN_LOG(ERR, "handover to tracker %u: %s", dest, strerror(-rc));
    return rc;
}

int trk_node_handover_import(struct trk_node *n, const void *buf, size_t len)
{
    struct cmn_ckpt c;
    struct ho_head hd;
    uint64_t sum = 0;
    if (len > 8)
        memcpy(&sum, (const char *)buf + len - 8, 8);
    if (len <= 8 || sum != cmn_hash_bytes(buf, len - 8, TRK_HANDOVER_SEED)) {
        CMN_LOG(ERR, "handover of %zu bytes refused: torn or altered (its sum does not match)",
                len);
        return -EPROTO;
    }
    int rc = cmn_ckpt_open_mem_read(&c, buf, len - 8);
    if (rc != 0)
        return rc;
    if (cmn_ckpt_get(&c, &hd, sizeof(hd)) == 0 &&
        (memcmp(hd.magic, TRK_HANDOVER_MAGIC, 8) != 0 || hd.sizes != s_ck_sizes()))
        c.err = -EPROTO;
    if (!c.err && trk_table_import(n->table, &c) == 0 && trk_endpoints_import(n->eps, &c) == 0 &&
        trk_events_import(n->evs, &c) == 0)
        (void)trk_frag_import(n->frag, &c);
    rc = cmn_ckpt_close_read(&c);
    if (rc != 0)
        CMN_LOG(ERR,
                "handover of %zu bytes refused: %s (not a handover of this build, or "
                "state this tracker owns already): its tables are to be dropped",
                len, rc == -EPROTO ? "malformed" : strerror(-rc));
    else
        CMN_LOG(NOTICE, "handover from tracker %u: %zu bytes taken", hd.from, len);
    return rc;
}

int trk_node_handover_drop(struct trk_node *n, const struct cmn_shard_map *next, uint32_t self)
{
    struct ho_sel sel = {.map = n->map, .next = next, .owner = n->owner, .dest = self};
    size_t freed = trk_table_drop(n->table, s_ho_keeps, &sel);
    int rc = trk_endpoints_drop(n->eps, s_ho_keeps, &sel);
    if (rc == 0)
        rc = trk_events_drop(n->evs, s_ho_keeps, &sel);
    if (rc != 0) {
        CMN_LOG(ERR, "handover: dropping the ranges that moved away failed: %s", strerror(-rc));
        return rc;
    }
    CMN_LOG(NOTICE, "handover: %zu sessions no longer owned freed", freed);
    return freed > INT_MAX ? INT_MAX : (int)freed;
}

#define TRK_HO_CHUNK   (1u << 20) /* bytes of export per Handover message */
#define TRK_HO_WAIT_MS 60000      /* a chunk the splitter does not take for this long: given up */

/* Publish one message on the TrackerAck socket without dropping it (the
 * socket is ZMQ_XPUB_NODROP): wait while the splitter is slow. */
static int s_tack_send_wait(struct trk_node *n, Renkei__Envelope *env)
{
    uint64_t until = cmn_mono_ns() + TRK_HO_WAIT_MS * 1000000ull;
    for (;;) {
        int rc = cmn_wire_send(n->tack, env, ZMQ_DONTWAIT);
        if (rc != -EAGAIN || cmn_mono_ns() > until || n->stop)
            return rc;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

/* The splitter's request: export for every other tracker of the next map,
 * publish the chunks, drop what moved away, say done. A tracker the next
 * map leaves out (tracker_index >= tracker_count: removed) exports
 * everything and keeps nothing; its end of stream comes later. */
static void s_handover_request(struct trk_node *n, const Renkei__Handover *h)
{
    struct cmn_shard_map *next =
        cmn_shard_map_decode(h->tracker_count, h->ranges.data, h->ranges.len);
    if (!next || h->tracker_index != n->owner || !n->tack) {
        n->c.handover_errors++;
        CMN_LOG(ERR, "handover request (map v%" PRIu64 ", %u trackers) %s", h->version,
                h->tracker_count,
                n->tack ? "malformed: ignored" : "cannot be answered: no ack_listen");
        cmn_shard_map_destroy(&next);
        return;
    }
    uint64_t bytes = 0;
    for (uint32_t dest = 0; dest < h->tracker_count; dest++) {
        if (dest == n->owner)
            continue;
        char *buf = NULL;
        size_t len = 0;
        if (trk_node_handover_export(n, next, dest, &buf, &len) != 0) {
            n->c.handover_errors++;
            free(buf);
            continue;
        }
        for (size_t off = 0; off < len;) {
            size_t k = len - off < TRK_HO_CHUNK ? len - off : TRK_HO_CHUNK;
            Renkei__Handover c = RENKEI__HANDOVER__INIT;
            c.from = n->owner;
            c.dest = dest;
            c.version = h->version;
            c.data.data = (uint8_t *)buf + off;
            c.data.len = k;
            c.offset = off;
            c.total = len;
            Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
            env.body_case = RENKEI__ENVELOPE__BODY_HANDOVER;
            env.handover = &c;
            if (s_tack_send_wait(n, &env) != 0) {
                n->c.handover_errors++;
                CMN_LOG(ERR, "handover to tracker %u: the splitter did not take it", dest);
                break;
            }
            off += k;
        }
        bytes += len;
        n->c.handovers_sent++;
        free(buf);
    }
    int freed = trk_node_handover_drop(n, next, h->tracker_index);
    if (freed < 0)
        n->c.handover_errors++;
    Renkei__Handover d = RENKEI__HANDOVER__INIT;
    d.from = n->owner;
    d.version = h->version;
    d.done = true;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_HANDOVER;
    env.handover = &d;
    if (s_tack_send_wait(n, &env) != 0)
        n->c.handover_errors++;
    CMN_LOG(NOTICE, "handover for map v%" PRIu64 " (%u trackers): %" PRIu64 " bytes sent%s",
            h->version, h->tracker_count, bytes,
            h->tracker_index >= h->tracker_count ? "; removed from the map, this tracker keeps "
                                                   "nothing and awaits its end of stream"
                                                 : "");
    cmn_shard_map_destroy(&next);
}

static void s_on_handover(struct trk_node *n, const Renkei__Handover *h)
{
    if (h->request) {
        s_handover_request(n, h);
        return;
    }
    if (h->done || h->dest != n->owner || h->offset + h->data.len > h->total ||
        h->total > SIZE_MAX / 2) {
        n->c.protocol_errors++;
        return;
    }
    struct ho_in *in = NULL;
    for (size_t i = 0; i < n->nho_in && !in; i++)
        if (n->ho_in[i].from == h->from)
            in = &n->ho_in[i];
    if (!in) {
        struct ho_in *a = realloc(n->ho_in, (n->nho_in + 1) * sizeof(*a));
        if (!a)
            abort();
        n->ho_in = a;
        in = &a[n->nho_in++];
        memset(in, 0, sizeof(*in));
        in->from = h->from;
    }
    if (h->offset != in->len || (in->len && h->total != in->total)) {
        n->c.handover_errors++;
        CMN_LOG(ERR, "handover from tracker %u: chunk at %" PRIu64 ", %zu bytes expected: dropped",
                h->from, h->offset, in->len);
        free(in->buf);
        *in = n->ho_in[--n->nho_in];
        return;
    }
    if (in->len == 0) {
        in->total = h->total;
        in->buf = malloc(h->total ? h->total : 1);
        if (!in->buf)
            abort();
    }
    if (h->data.len)
        memcpy(in->buf + in->len, h->data.data, h->data.len);
    in->len += h->data.len;
    if (in->len < in->total)
        return;
    if (trk_node_handover_import(n, in->buf, in->len) == 0)
        n->c.handovers_taken++;
    else
        n->c.handover_errors++;
    free(in->buf);
    *in = n->ho_in[--n->nho_in];
}
