/* SPDX-License-Identifier: MIT
 * mrg_node: epoch assembly and run accounting for renkei-merger. Tracker
 * results are held per epoch ("slot") until every tracker sent every chunk,
 * then committed oldest first (endpoint rows are cumulative, so order
 * matters); the final results form their own slot, committed last. Stats
 * messages are stored as they come; the accounting at the end of a run
 * compares each pipe's sent and received record counts (docs/SCHEMA.md).
 */
#define CMN_LOG_TAG "mrg_node"
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "cmn_cli.h"
#include "cmn_curve.h"
#include "cmn_log.h"
#include "cmn_metrics.h"
#include "cmn_wire.h"
#include "mrg_db.h"
#include "mrg_node.h"

#define MRG_MAX_TRACKERS 4096 /* as cmn_shard_map_new_even */
#define MRG_MAPS_MAX     64   /* shard-map changes (trackers added, removed) in one run */
#define MRG_HWM          1000 /* messages queued per peer before senders block */

/* One tracker's chunks of one slot. */
#define MRG_PENDING_EPOCHS_MAX 1024 /* incomplete epochs held before the oldest is committed */

struct chunk_set {
    Renkei__Envelope **env; /* owned received results */
    uint32_t n;             /* chunks received */
    uint32_t cap;           /* capacity of env */
    uint32_t expected;      /* chunks announced (TrackerResult.chunks, at least 1) */
};

/* One epoch waiting for its chunks. */
struct slot {
    uint64_t epoch;        /* epoch number (max of the results for the final slot) */
    uint64_t epoch_ns;     /* epoch length from the results */
    bool final;            /* the end-of-stream results */
    struct chunk_set *trk; /* per tracker index, n_trk entries */
    uint32_t n_trk;        /* entries in trk */
    struct slot *next;     /* list sorted by epoch, final slot last */
};

/* What is committed of one tracker's results, for a tracker that restarts
 * from its checkpoint and computes epochs again (docs/OPERATIONS.md "A
 * tracker killed"). */
struct trk_redo {
    bool done_any;       /* some epoch was committed with this tracker's complete results */
    uint64_t done_epoch; /* the highest such epoch */
    bool redo;           /* it restarted: results of epochs up to redo_upto come again */
    uint64_t redo_upto;  /* done_epoch when it said so */
};

/* Latest Stats of one node, owned. */
struct node_stats {
    Renkei__NodeKind kind;   /* sender kind */
    uint32_t id;             /* node id */
    Renkei__Envelope *env;   /* envelope holding the Stats (or EOS with final_stats) */
    const Renkei__Stats *st; /* inside env */
    struct node_stats *next; /* list */
};

/* A shard map of the run: from epoch `since` on, `count` trackers. */
#define MRG_VACANT_MAX 64 /* retired tracker indexes per map (tracker = none) */

struct mrg_map {
    uint64_t since;
    uint32_t count;
    uint32_t nvac;                /* entries in vac */
    uint32_t vac[MRG_VACANT_MAX]; /* retired indexes below count: they cut no epoch of it */
};

struct mrg_node {
    struct mrg_node_config cfg; /* copy; strings borrowed from the caller */
    void *ctx;                  /* ZeroMQ context */
    bool own_ctx;               /* ctx created here */
    void *sock;                 /* PULL, bound to cfg.listen */
    struct mrg_db *db;          /* analysis database */
    volatile sig_atomic_t stop; /* set by mrg_node_stop */

    /* current run */
    uint32_t n_trackers; /* trackers per epoch (of the newest map); 0 until known */
    uint32_t n_all;      /* trackers of every map of the run (results, ends, accounting) */
    struct mrg_map maps[MRG_MAPS_MAX]; /* shard maps of the run, oldest first */
    size_t nmaps;                      /* 0: one map (n_trackers) all along */
    bool run_active;                   /* a message of this run arrived */
    bool splitter_hello;               /* splitter said Hello */
    bool splitter_eos;                 /* splitter sent EndOfStream */
    uint8_t *tracker_eos;              /* per tracker index: EOS seen */
    struct slot *slots;                /* pending epochs */
    bool have_committed;               /* last_committed is valid */
    uint64_t last_committed;           /* highest non-final epoch committed */
    struct node_stats *stats;          /* latest stats per node */
    uint64_t *trk_heard;               /* per tracker index: monotonic ns of its last message */
    uint8_t *trk_down;                 /* per tracker index: marked down (liveness) */
    uint32_t trackers_down;            /* entries of trk_down set */
    uint64_t spl_heard;                /* monotonic ns of the splitter's last message */
    bool spl_down;                     /* the splitter is marked down */

    /* counters (merger's own node_stats) */
    uint64_t messages;             /* envelopes received */
    uint64_t undecodable;          /* messages that did not decode (dropped) */
    uint64_t unexpected;           /* decodable but not for the merger (dropped) */
    uint64_t after_run_end;        /* messages of a run already ended (a node restarted after
                                      its end: dropped; only a fresh splitter starts a run) */
    uint64_t impostors;            /* from a CURVE peer speaking for a node it may not (as=) */
    uint64_t results;              /* TrackerResult chunks received */
    uint64_t results_invalid;      /* results whose arrays failed validation */
    uint64_t results_late;         /* results for an epoch already committed */
    uint64_t epochs_committed;     /* commits */
    uint64_t epochs_incomplete;    /* committed without all chunks (end of run) */
    uint64_t sessions_stored;      /* distinct session deltas stored */
    uint64_t shared_dedup;         /* shared sessions stored once */
    uint64_t shared_mismatch;      /* of those, copies that differed */
    uint64_t db_errors;            /* failed commits */
    uint64_t dns_messages;         /* DnsNames messages received */
    uint64_t dns_seq;              /* numbered DnsNames 1..dns_seq all stored (meta dns_seq) */
    uint64_t *dns_above;           /* stored ones above dns_seq (arrived out of order: sent
                                      again after a restart) */
    size_t n_above, cap_above;     /* entries used, allocated */
    uint64_t dns_duplicate;        /* numbered DnsNames already stored: dropped */
    struct mrg_dns_stats dns;      /* their names: stored, capped, invalid */
    uint64_t runs_ended;           /* runs that ended */
    struct mrg_accounting acct;    /* last run's accounting */
    bool handle_error;             /* the run mrg_node_handle just ended failed to close */
    uint64_t committed_end_ns;     /* capture-time end of the last epoch committed (0: none) */
    struct cmn_counter *acct_rows; /* the last run's accounting rows (node_stats), or NULL */
    char (*acct_names)[64];        /* names the rows point into */

    /* replay (cfg.ack_listen) */
    void *ack;                  /* PUB bound to cfg.ack_listen, or NULL */
    bool ack_final;             /* the last run's final results are committed (until a new run) */
    uint64_t run_started_ns;    /* the current (or last) run's start, meta run_started_ns */
    uint64_t *trk_seq;          /* per tracker index: TrackerResult.seq taken in order so far */
    uint8_t *trk_hold;          /* per tracker index: messages dropped until its Hello{replay}
                                   (a seq gap, or a resumed run) */
    bool resumed;               /* this run was resumed from the database */
    uint64_t resume_epoch;      /* highest epoch committed before the resume (resumed_any) */
    bool resumed_any;           /* some epoch was committed before the resume */
    uint64_t results_replayed;  /* results sent again for epochs already committed: dropped */
    uint64_t results_duplicate; /* results that arrived twice (seq, chunk): dropped */
    uint64_t messages_held;     /* a tracker's messages dropped while waiting for its replay */
    uint64_t results_unkept;    /* results a tracker could not send again (its keep memcap) */
    struct trk_redo *trk_re;    /* per tracker index */
    uint64_t results_voided;    /* uncommitted chunks of a tracker process that died after its
                                   checkpoint: dropped, the new process sends them again */
    uint64_t tracker_restarts;  /* Hello{restarted} of trackers resuming from a checkpoint */
    size_t n_acct;              /* rows */
};

static const char *s_kind_name(Renkei__NodeKind k)
{
    switch (k) {
        case RENKEI__NODE_KIND__NODE_COLLECTOR:
            return "collector";
        case RENKEI__NODE_KIND__NODE_SPLITTER:
            return "splitter";
        case RENKEI__NODE_KIND__NODE_TRACKER:
            return "tracker";
        case RENKEI__NODE_KIND__NODE_MERGER:
            return "merger";
        default:
            return "unknown";
    }
}

/* ---- slots ---- */

static void s_slot_free(struct slot *s)
{
    for (uint32_t t = 0; t < s->n_trk; t++) {
        for (uint32_t k = 0; k < s->trk[t].n; k++)
            cmn_wire_free(&s->trk[t].env[k]);
        free(s->trk[t].env);
    }
    free(s->trk);
    free(s);
}

/* Find or create the slot of (epoch, final); the final slot is unique. */
static struct slot *s_slot_get(struct mrg_node *n, uint64_t epoch, bool final)
{
    struct slot **pp = &n->slots;
    for (; *pp; pp = &(*pp)->next) {
        struct slot *s = *pp;
        if (final && s->final)
            return s;
        if (!final && !s->final && s->epoch == epoch)
            return s;
        if (!final && (s->final || s->epoch > epoch))
            break;
    }
    if (final) /* append at the end */
        for (; *pp; pp = &(*pp)->next)
            ;
    struct slot *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    s->epoch = epoch;
    s->final = final;
    s->next = *pp;
    *pp = s;
    return s;
}

/* Add a result chunk (taken); false when the tracker's chunk of that index
 * is there already (sent again: freed). */
static bool s_slot_add(struct slot *s, uint32_t tid, Renkei__Envelope **envp)
{
    if (tid >= s->n_trk) {
        uint32_t m = tid + 1;
        s->trk = realloc(s->trk, m * sizeof(*s->trk));
        if (!s->trk)
            abort();
        memset(s->trk + s->n_trk, 0, (m - s->n_trk) * sizeof(*s->trk));
        s->n_trk = m;
    }
    struct chunk_set *c = &s->trk[tid];
    for (uint32_t k = 0; k < c->n; k++) {
        if (c->env[k]->result->chunk == (*envp)->result->chunk) {
            cmn_wire_free(envp);
            return false;
        }
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 4;
        c->env = realloc(c->env, c->cap * sizeof(*c->env));
        if (!c->env)
            abort();
    }
    const Renkei__TrackerResult *r = (*envp)->result;
    uint32_t want = r->chunks ? r->chunks : 1;
    if (want > c->expected)
        c->expected = want;
    if (r->epoch > s->epoch && s->final)
        s->epoch = r->epoch;
    if (r->epoch_ns)
        s->epoch_ns = r->epoch_ns;
    c->env[c->n++] = *envp;
    *envp = NULL;
    return true;
}

static bool s_slot_has(const struct slot *s, uint32_t t)
{
    return t < s->n_trk && s->trk[t].n > 0 && s->trk[t].n >= s->trk[t].expected;
}

/* Trackers of every map of the run: results, ends of stream, accounting. */
static uint32_t s_all(const struct mrg_node *n)
{
    return n->n_all > n->n_trackers ? n->n_all : n->n_trackers;
}

/* Tracker t cuts the epochs of map m: below its count, not retired. */
static bool s_map_member(const struct mrg_map *m, uint32_t t)
{
    if (t >= m->count)
        return false;
    for (uint32_t i = 0; i < m->nvac; i++)
        if (m->vac[i] == t)
            return false;
    return true;
}

/* The map in force at slot s's epoch (the final results: the newest), or
 * NULL with one map all along (n_trackers, none retired). */
static const struct mrg_map *s_slot_map(const struct mrg_node *n, const struct slot *s)
{
    const struct mrg_map *m = n->nmaps ? &n->maps[n->nmaps - 1] : NULL;
    for (size_t i = 0; !s->final && i < n->nmaps; i++)
        if (n->maps[i].since <= s->epoch)
            m = &n->maps[i];
    return m;
}

/* Tracker t is of the newest map (it cuts the next epochs). */
static bool s_newest_member(const struct mrg_node *n, uint32_t t)
{
    return n->nmaps ? s_map_member(&n->maps[n->nmaps - 1], t) : t < n->n_trackers;
}

/* Tracker t was of some map of the run: its results, end and accounting
 * count (a retired index never was: nothing is awaited from it). */
static bool s_ever_member(const struct mrg_node *n, uint32_t t)
{
    if (!n->nmaps)
        return t < n->n_trackers;
    for (size_t i = 0; i < n->nmaps; i++)
        if (s_map_member(&n->maps[i], t))
            return true;
    return false;
}

/* Every tracker's chunks are there, or the tracker is down (not waited for). */
static bool s_slot_complete(const struct mrg_node *n, const struct slot *s)
{
    const struct mrg_map *m = s_slot_map(n, s);
    uint32_t c = m ? m->count : n->n_trackers;
    if (c == 0)
        return false;
    for (uint32_t t = 0; t < c; t++)
        if ((!m || s_map_member(m, t)) && !s_slot_has(s, t) && !n->trk_down[t])
            return false;
    return true;
}

/* Some tracker's chunks are missing (its tracker down). */
static bool s_slot_partial(const struct mrg_node *n, const struct slot *s)
{
    const struct mrg_map *m = s_slot_map(n, s);
    uint32_t c = m ? m->count : n->n_trackers;
    for (uint32_t t = 0; t < c; t++)
        if ((!m || s_map_member(m, t)) && !s_slot_has(s, t))
            return true;
    return false;
}

/* Keep the run's shard maps in the database (a resumed merger reads them). */
static void s_maps_store(struct mrg_node *n)
{
    char key[80];
    for (size_t i = 0; i < n->nmaps; i++) {
        snprintf(key, sizeof(key), "tracker_map.%zu.since", i);
        mrg_db_meta_set_u64(n->db, key, n->maps[i].since);
        snprintf(key, sizeof(key), "tracker_map.%zu.count", i);
        mrg_db_meta_set_u64(n->db, key, n->maps[i].count);
        snprintf(key, sizeof(key), "tracker_map.%zu.vacant", i);
        mrg_db_meta_set_u64(n->db, key, n->maps[i].nvac);
        for (uint32_t k = 0; k < n->maps[i].nvac; k++) {
            snprintf(key, sizeof(key), "tracker_map.%zu.vacant.%" PRIu32, i, k);
            mrg_db_meta_set_u64(n->db, key, n->maps[i].vac[k]);
        }
    }
    mrg_db_meta_set_u64(n->db, "tracker_maps", n->nmaps);
    mrg_db_meta_set_u64(n->db, "trackers", n->n_trackers);
    mrg_db_meta_set_u64(n->db, "trackers_all", n->n_all);
}

static void s_maps_load(struct mrg_node *n)
{
    char key[80];
    uint64_t k = mrg_db_meta_u64(n->db, "tracker_maps", 0);
    n->nmaps = 0;
    for (uint64_t i = 0; i < k && i < MRG_MAPS_MAX; i++) {
        snprintf(key, sizeof(key), "tracker_map.%" PRIu64 ".since", i);
        n->maps[i].since = mrg_db_meta_u64(n->db, key, 0);
        snprintf(key, sizeof(key), "tracker_map.%" PRIu64 ".count", i);
        uint64_t c = mrg_db_meta_u64(n->db, key, 0);
        n->maps[i].count = c > MRG_MAX_TRACKERS ? MRG_MAX_TRACKERS : (uint32_t)c;
        snprintf(key, sizeof(key), "tracker_map.%" PRIu64 ".vacant", i);
        uint64_t nv = mrg_db_meta_u64(n->db, key, 0);
        n->maps[i].nvac = nv > MRG_VACANT_MAX ? MRG_VACANT_MAX : (uint32_t)nv;
        for (uint32_t v = 0; v < n->maps[i].nvac; v++) {
            snprintf(key, sizeof(key), "tracker_map.%" PRIu64 ".vacant.%" PRIu32, i, v);
            n->maps[i].vac[v] = (uint32_t)mrg_db_meta_u64(n->db, key, UINT32_MAX);
        }
        n->nmaps++;
    }
    uint64_t all = mrg_db_meta_u64(n->db, "trackers_all", 0);
    n->n_all = all > MRG_MAX_TRACKERS ? MRG_MAX_TRACKERS : (uint32_t)all;
}

/* The splitter's Hello{map_change}: from epoch `since` on, `count` trackers,
 * of which the `nvac` indexes in `vac` are retired. */
static void s_map_change(struct mrg_node *n, uint32_t count, uint64_t since, const uint32_t *vac,
                         size_t nvac)
{
    if (n->nmaps == 0 && n->n_trackers) /* the map before, from the start */
        n->maps[n->nmaps++] = (struct mrg_map){.since = 0, .count = n->n_trackers};
    while (n->nmaps && n->maps[n->nmaps - 1].since >= since)
        n->nmaps--; /* the same change announced again (a splitter restarted again) */
    if (n->nmaps == MRG_MAPS_MAX) {
        CMN_LOG(ERR, "more than %d shard-map changes in one run: the oldest counts are merged",
                MRG_MAPS_MAX);
        memmove(n->maps, n->maps + 1, (MRG_MAPS_MAX - 1) * sizeof(n->maps[0]));
        n->nmaps--;
    }
    struct mrg_map *m = &n->maps[n->nmaps++];
    *m = (struct mrg_map){.since = since, .count = count};
    char list[256] = "";
    for (size_t i = 0; i < nvac; i++) {
        if (vac[i] >= count)
            continue;
        if (m->nvac == MRG_VACANT_MAX) {
            CMN_LOG(ERR, "more than %d retired trackers: the others are waited for",
                    MRG_VACANT_MAX);
            break;
        }
        m->vac[m->nvac++] = vac[i];
        size_t l = strlen(list);
        snprintf(list + l, sizeof(list) - l, "%s%" PRIu32, l ? "," : "", vac[i]);
    }
    n->n_trackers = count;
    if (count > n->n_all)
        n->n_all = count;
    CMN_LOG(NOTICE, "shard map changed: epochs from %" PRIu64 " on are cut by %u trackers%s%s%s",
            since, count - m->nvac, m->nvac ? " (retired: " : "", list, m->nvac ? ")" : "");
    s_maps_store(n);
}

/* Tell trackers and the splitter what is committed for good (cfg.ack_listen):
 * what an Ack covers they need not keep to send again. Never blocks. */
static void s_ack(struct mrg_node *n)
{
    if (!n->ack)
        return;
    Renkei__Ack a = RENKEI__ACK__INIT;
    a.any_committed = n->have_committed;
    a.committed_epoch = n->have_committed ? n->last_committed : 0;
    a.final_committed = n->ack_final;
    a.run_started_ns = n->run_started_ns;
    a.dns_seq = n->dns_seq;
    a.dns_seq_max = n->dns_seq;
    for (size_t i = 0; i < n->n_above; i++)
        if (n->dns_above[i] > a.dns_seq_max)
            a.dns_seq_max = n->dns_above[i];
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_ACK;
    env.ack = &a;
    (void)cmn_wire_send(n->ack, &env, ZMQ_DONTWAIT);
}

/* Commit one slot (complete or not) and unlink it. */
static int s_slot_commit(struct mrg_node *n, struct slot *s)
{
    size_t nparts = 0;
    for (uint32_t t = 0; t < s->n_trk; t++)
        nparts += s->trk[t].n;
    struct mrg_part *parts = calloc(nparts ? nparts : 1, sizeof(*parts));
    if (!parts)
        abort();
    size_t p = 0;
    for (uint32_t t = 0; t < s->n_trk; t++) {
        for (uint32_t k = 0; k < s->trk[t].n; k++) {
            const Renkei__TrackerResult *r = s->trk[t].env[k]->result;
            struct mrg_part *pt = &parts[p];
            pt->tracker_id = t;
            long a = cmn_wire_result_sessions(r, &pt->sessions);
            long b = cmn_wire_result_endpoints(r, &pt->endpoints);
            long c = cmn_wire_result_events(r, &pt->events);
            if (a < 0 || b < 0 || c < 0) {
                /* counted, and the chunk still completes its epoch */
                n->results_invalid++;
                CMN_LOG(WARN, "tracker %u epoch %" PRIu64 ": invalid result arrays, dropped", t,
                        r->epoch);
                memset(pt, 0, sizeof(*pt));
                continue;
            }
            pt->n_sessions = (size_t)a;
            pt->n_endpoints = (size_t)b;
            pt->n_events = (size_t)c;
            p++;
        }
    }
    struct mrg_epoch_stats st;
    uint64_t ens = s->epoch_ns ? s->epoch_ns : 60ull * 1000000000ull;
    uint64_t epoch = s->epoch;
    if (s->final && !s->epoch_ns) {
        /* no epoch was ever flushed (the run fits in one epoch): the trackers
         * sent epoch 0; date the results by their packets, so the usage
         * history and the epochs row carry the real period, not 1970 */
        uint64_t last = 0;
        for (size_t i = 0; i < p; i++)
            for (size_t k = 0; k < parts[i].n_sessions; k++)
                if (parts[i].sessions[k].last_ns > last)
                    last = parts[i].sessions[k].last_ns;
        if (last / ens > epoch)
            epoch = last / ens;
    }
    int rc = mrg_db_commit_epoch(n->db, epoch, ens, s->final, parts, p, &st);
    free(parts);
    for (uint32_t t = 0; rc == 0 && !s->final && t < s->n_trk && t < MRG_MAX_TRACKERS; t++)
        if (s_slot_has(s, t) && (!n->trk_re[t].done_any || s->epoch > n->trk_re[t].done_epoch)) {
            n->trk_re[t].done_any = true;
            n->trk_re[t].done_epoch = s->epoch;
        }
    /* unlink */
    for (struct slot **pp = &n->slots; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    if (!s->final && (!n->have_committed || s->epoch > n->last_committed)) {
        n->last_committed = s->epoch;
        n->have_committed = true;
        n->committed_end_ns = (epoch + 1) * ens;
    }
    bool final = s->final;
    s_slot_free(s);
    if (rc != 0) {
        n->db_errors++;
        return rc;
    }
    n->epochs_committed++;
    if (final)
        n->ack_final = true;
    s_ack(n);
    n->sessions_stored += st.sessions;
    n->shared_dedup += st.duplicates;
    n->shared_mismatch += st.mismatched;
    if (st.mismatched)
        CMN_LOG(WARN, "epoch %" PRIu64 ": %" PRIu64 " shared sessions differed between trackers",
                epoch, st.mismatched);
    CMN_LOG(INFO,
            "epoch %" PRIu64 "%s committed: %" PRIu64 " sessions (%" PRIu64
            " shared deduplicated), %" PRIu64 " packets, %" PRIu64 " endpoints, %" PRIu64 " events",
            epoch, final ? " (final)" : "", st.sessions, st.duplicates, st.packets, st.endpoints,
            st.events);
    return 0;
}

/* Commit complete slots oldest first; stop at the first incomplete one so
 * endpoint rows (cumulative) are never applied out of order. */
static int s_commit_ready(struct mrg_node *n)
{
    while (n->slots && s_slot_complete(n, n->slots)) {
        if (s_slot_partial(n, n->slots)) {
            n->epochs_incomplete++;
            CMN_LOG(WARN, "epoch %" PRIu64 "%s committed without the results of %u tracker(s) down",
                    n->slots->epoch, n->slots->final ? " (final)" : "", n->trackers_down);
        }
        int rc = s_slot_commit(n, n->slots);
        if (rc != 0)
            return rc;
    }
    /* Bounded memory: past MRG_PENDING_EPOCHS_MAX held epochs (a tracker
     * silent for that long, or a peer sending results for ever new epochs),
     * the oldest is committed with what arrived, as at the end of a run. */
    size_t held = 0;
    for (struct slot *s = n->slots; s; s = s->next)
        held++;
    while (held > MRG_PENDING_EPOCHS_MAX && n->slots && !n->slots->final) {
        n->epochs_incomplete++;
        CMN_LOG(WARN, "%zu epochs held: committing epoch %" PRIu64 " incomplete", held,
                n->slots->epoch);
        int rc = s_slot_commit(n, n->slots);
        if (rc != 0)
            return rc;
        held--;
    }
    return 0;
}

/* ---- stats ---- */

static struct node_stats *s_stats_find(struct mrg_node *n, Renkei__NodeKind kind, uint32_t id)
{
    for (struct node_stats *s = n->stats; s; s = s->next)
        if (s->kind == kind && s->id == id)
            return s;
    return NULL;
}

/* Keep `st` (inside *envp, taken) as the latest stats of its node and store it. */
static int s_stats_keep(struct mrg_node *n, Renkei__Envelope **envp, const Renkei__Stats *st)
{
    size_t cnt = st->n_counters;
    struct cmn_counter *c = calloc(cnt ? cnt : 1, sizeof(*c));
    if (!c)
        abort();
    for (size_t i = 0; i < cnt; i++) {
        c[i].name = st->counters[i]->name;
        c[i].value = st->counters[i]->value;
    }
    int rc =
        mrg_db_put_stats(n->db, s_kind_name(st->kind), st->node_id, st->name, st->final, c, cnt);
    free(c);
    struct node_stats *s = s_stats_find(n, st->kind, st->node_id);
    if (s && s->st->final && !st->final) {
        cmn_wire_free(envp); /* a late periodic line never hides the final one */
        return rc;
    }
    if (!s) {
        s = calloc(1, sizeof(*s));
        if (!s)
            abort();
        s->kind = st->kind;
        s->id = st->node_id;
        s->next = n->stats;
        n->stats = s;
    }
    cmn_wire_free(&s->env);
    s->env = *envp;
    s->st = st;
    *envp = NULL;
    return rc;
}

/* Counter of node (kind, id); *found tells whether the node and counter exist. */
static uint64_t s_stat(struct mrg_node *n, Renkei__NodeKind kind, uint32_t id, const char *name,
                       bool *found)
{
    struct node_stats *s = s_stats_find(n, kind, id);
    const uint64_t missing = UINT64_MAX;
    uint64_t v = s ? cmn_wire_stat(s->st, name, missing) : missing;
    if (found)
        *found = v != missing;
    return v == missing ? 0 : v;
}

/* Counters of the merger's node_stats rows that go up and down: the
 * accounting of the last run. */
static const char *const s_gauges[] = {"records_lost", "*.records_lost", "pipes_unverifiable",
                                       NULL};

/* The node_stats rows just stored (own counters c[0..nc), the accounting
 * rows of the last run) to /metrics, with the endpoint's own gauges. */
static void s_publish(struct mrg_node *n, const struct cmn_counter *c, size_t nc, bool final)
{
    if (!n->cfg.metrics)
        return;
    struct cmn_counter *all = calloc(nc + n->n_acct + 1, sizeof(*all));
    struct cmn_metric *x = calloc(s_all(n) + 4, sizeof(*x));
    char(*peer)[24] = calloc(s_all(n) + 1, sizeof(*peer));
    if (!all || !x || !peer)
        abort();
    memcpy(all, c, nc * sizeof(*c));
    if (n->n_acct)
        memcpy(all + nc, n->acct_rows, n->n_acct * sizeof(*all));
    size_t k = 0;
    uint64_t mono = cmn_mono_ns();
    /* node_stats' final flag drops back to 0 at the next periodic row; the
     * gauge stays 1 until another run begins */
    x[k++] = (struct cmn_metric){
        .name = "final",
        .type = CMN_METRIC_GAUGE,
        .value = final || (n->acct.ended && !n->run_active),
        .help = "1 from the end of a run (its accounting stored) until the next begins"};
    if (n->have_committed) {
        x[k++] = (struct cmn_metric){.name = "epoch",
                                     .type = CMN_METRIC_GAUGE,
                                     .value = n->last_committed,
                                     .help = "the last epoch committed"};
        x[k++] = (struct cmn_metric){
            .name = "lag_seconds",
            .type = CMN_METRIC_GAUGE_REAL,
            .real = ((double)cmn_now_ns() - (double)n->committed_end_ns) / 1e9,
            .help = "wall clock minus the end of the last epoch committed (capture time; "
                    "large for a replayed capture)"};
    }
    static const char help[] = "seconds since the peer's last message in this run";
    if (n->run_active && n->spl_heard)
        x[k++] = (struct cmn_metric){.name = "peer_last_heard_seconds",
                                     .type = CMN_METRIC_GAUGE_REAL,
                                     .real = (double)(mono - n->spl_heard) / 1e9,
                                     .peer = "splitter",
                                     .help = help};
    for (uint32_t t = 0; n->run_active && t < s_all(n) && t < MRG_MAX_TRACKERS; t++) {
        if (!n->trk_heard[t])
            continue;
        snprintf(peer[t], sizeof(peer[t]), "tracker.%" PRIu32, t);
        x[k++] = (struct cmn_metric){.name = "peer_last_heard_seconds",
                                     .type = CMN_METRIC_GAUGE_REAL,
                                     .real = (double)(mono - n->trk_heard[t]) / 1e9,
                                     .peer = peer[t],
                                     .help = help};
    }
    cmn_metrics_publish(n->cfg.metrics, all, nc + n->n_acct, s_gauges, x, k);
    free(all);
    free(x);
    free(peer);
}

#define MRG_OWN_COUNTERS 29 /* entries of s_own_counters */

/* The merger's own counters into c[MRG_OWN_COUNTERS]. */
static void s_own_counters(const struct mrg_node *n, struct cmn_counter *c)
{
    struct mrg_live_stats ls = {0};
    if (n->db)
        mrg_db_live_stats(n->db, &ls);
    const struct cmn_counter own[MRG_OWN_COUNTERS] = {
        {"messages_received", n->messages},
        {"messages_undecodable", n->undecodable},
        {"messages_unexpected", n->unexpected},
        {"messages_after_run_end", n->after_run_end},
        {"messages_impostor", n->impostors},
        {"results_received", n->results},
        {"results_invalid", n->results_invalid},
        {"results_late", n->results_late},
        {"results_replayed", n->results_replayed},
        {"results_duplicate", n->results_duplicate},
        {"messages_held_for_replay", n->messages_held},
        {"results_voided", n->results_voided},
        {"tracker_restarts", n->tracker_restarts},
        {"results_unkept", n->results_unkept},
        {"epochs_committed", n->epochs_committed},
        {"epochs_incomplete", n->epochs_incomplete},
        {"sessions_stored", n->sessions_stored},
        {"shared_sessions_deduplicated", n->shared_dedup},
        {"shared_sessions_mismatched", n->shared_mismatch},
        {"db_errors", n->db_errors},
        {"dns_messages", n->dns_messages},
        {"dns_messages_duplicate", n->dns_duplicate},
        {"dns_names_stored", n->dns.stored},
        {"dns_names_capped", n->dns.capped},
        {"dns_names_invalid", n->dns.invalid},
        {"connections_refused", cmn_curve_refused()},
        {"connections_closed", cmn_curve_closed()},
        /* memcap_mb: live sessions retired early, rows refused */
        {"live_sessions_evicted", ls.sessions_evicted},
        {"live_rows_refused", ls.refused},
    };
    memcpy(c, own, sizeof(own));
}

/* The merger's own counters, as node_stats rows (kind "merger", id 0). */
static void s_put_own_stats(struct mrg_node *n, bool final)
{
    struct cmn_counter c[MRG_OWN_COUNTERS];
    s_own_counters(n, c);
    mrg_db_put_stats(n->db, "merger", 0, n->cfg.listen, final, c, MRG_OWN_COUNTERS);
    s_publish(n, c, MRG_OWN_COUNTERS, final);
}

/* ---- accounting ---- */

static void s_where_add(struct mrg_accounting *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_where_add(struct mrg_accounting *a, const char *fmt, ...)
{
    size_t len = strlen(a->where);
    if (len + 3 >= sizeof(a->where))
        return;
    if (len) {
        memcpy(a->where + len, "; ", 3);
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->where + len, sizeof(a->where) - len, fmt, ap);
    va_end(ap);
}

/* Compare sent and received counts of every pipe of the run (docs/SCHEMA.md,
 * "Accounting"), store per-pipe losses in node_stats and meta.records_lost. */
static void s_account(struct mrg_node *n)
{
    struct mrg_accounting *a = &n->acct;
    memset(a, 0, sizeof(*a));
    a->ended = true;
    a->epochs_incomplete = n->epochs_incomplete;
    const Renkei__NodeKind SPL = RENKEI__NODE_KIND__NODE_SPLITTER;
    const Renkei__NodeKind COL = RENKEI__NODE_KIND__NODE_COLLECTOR;
    const Renkei__NodeKind TRK = RENKEI__NODE_KIND__NODE_TRACKER;
    struct node_stats *spl = s_stats_find(n, SPL, 0);
    if (!spl) { /* the splitter id is not part of the contract: take any */
        for (struct node_stats *s = n->stats; s; s = s->next)
            if (s->kind == SPL)
                spl = s;
    }
    struct cmn_counter *rows = calloc(2 * (MRG_MAX_TRACKERS + 64) + 8, sizeof(*rows));
    char(*names)[64] = calloc(2 * (MRG_MAX_TRACKERS + 64) + 8, 64);
    if (!rows || !names)
        abort();
    size_t nr = 0;
    uint64_t dup = 0;

    /* collectors: those the splitter counted, plus those whose stats arrived */
    if (n->spl_down) {
        a->unverifiable++;
        a->nodes_down++;
        s_where_add(a, "splitter: down (silent for %u s)", n->cfg.liveness_timeout);
    }
    if (spl) {
        uint64_t cmiss = cmn_wire_stat(spl->st, "collectors_missing", 0);
        if (cmiss) {
            a->unverifiable += cmiss;
            a->nodes_down += cmiss;
            s_where_add(a, "splitter: %" PRIu64 " expected collector(s) never heard from", cmiss);
        }
        dup += cmn_wire_stat(spl->st, "duplicates_removed", 0);
        for (size_t i = 0; i < spl->st->n_counters; i++) {
            const char *nm = spl->st->counters[i]->name;
            unsigned id;
            int end = 0;
            if (!nm || sscanf(nm, "collector.%u.records_received%n", &id, &end) != 1 ||
                nm[end] != '\0')
                continue;
            uint64_t recv = spl->st->counters[i]->value;
            char key[64];
            bool found;
            uint64_t sent = s_stat(n, COL, id, "records_sent", &found);
            if (!found) {
                snprintf(key, sizeof(key), "collector.%u.records_sent", id);
                sent = cmn_wire_stat(spl->st, key, UINT64_MAX);
                found = sent != UINT64_MAX;
            }
            snprintf(key, sizeof(key), "collector.%u.batches_lost", id);
            uint64_t blost = cmn_wire_stat(spl->st, key, 0);
            a->collectors++;
            uint64_t lost = 0;
            snprintf(key, sizeof(key), "collector.%u.down", id);
            if (cmn_wire_stat(spl->st, key, 0)) {
                a->unverifiable++;
                a->nodes_down++;
                s_where_add(a,
                            "collector %u: down (silent past the splitter's liveness_timeout), "
                            "records sent unknown",
                            id);
            } else if (!found) {
                a->unverifiable++;
                s_where_add(a, "collector %u: records sent unknown (no final stats)", id);
            } else if (sent > recv) {
                lost = sent - recv;
                s_where_add(a,
                            "collector %u -> splitter: %" PRIu64 " (sent %" PRIu64
                            ", received %" PRIu64 ", %" PRIu64 " batches)",
                            id, lost, sent, recv, blost);
            } else if (blost) {
                s_where_add(a, "collector %u -> splitter: %" PRIu64 " batch sequence gaps", id,
                            blost);
            }
            a->records_lost += lost;
            if (nr < MRG_MAX_TRACKERS + 64) {
                snprintf(names[nr], 64, "collector.%u.records_lost", id);
                rows[nr].name = names[nr];
                rows[nr++].value = lost;
            }
        }
    } else {
        a->unverifiable++;
        s_where_add(a, "splitter: no stats received, collector pipes unverifiable");
    }

    /* trackers: the splitter's per-pipe sent count against the tracker's received */
    for (uint32_t t = 0; t < s_all(n); t++) {
        if (!s_ever_member(n, t))
            continue; /* retired before the run: it had no pipe */
        char key[64];
        snprintf(key, sizeof(key), "tracker.%u.records_sent", t);
        uint64_t sent = spl ? cmn_wire_stat(spl->st, key, UINT64_MAX) : UINT64_MAX;
        bool found, told;
        uint64_t recv = s_stat(n, TRK, t, "records_received", &found);
        uint64_t expected = s_stat(n, TRK, t, "records_expected", &told);
        if (sent == UINT64_MAX && !s_newest_member(n, t) && told)
            sent = expected; /* a tracker removed from the map: its end of stream said it */
        uint64_t dropped = s_stat(n, TRK, t, "records_lost", NULL);
        dup += s_stat(n, TRK, t, "duplicates_removed", NULL);
        a->trackers++;
        /* the tracker's own records_lost compares the same two totals (its
         * EOS from the splitter): take the larger, never the sum */
        uint64_t lost = 0;
        if (n->trk_down[t]) {
            a->unverifiable++;
            a->nodes_down++;
            s_where_add(a,
                        "tracker %u: down (silent for %u s), its results and records unverifiable",
                        t, n->cfg.liveness_timeout);
        } else if (sent == UINT64_MAX || !found) {
            a->unverifiable++;
            s_where_add(a, "tracker %u: %s unknown", t,
                        !found ? "records received (no final stats)" : "records sent");
        } else if (sent > recv) {
            lost = sent - recv;
        }
        if (dropped > lost)
            lost = dropped;
        if (lost)
            s_where_add(
                a, "splitter -> tracker %u: %" PRIu64 " (sent %" PRIu64 ", received %" PRIu64 ")",
                t, lost, sent == UINT64_MAX ? 0 : sent, recv);
        a->records_lost += lost;
        snprintf(names[nr], 64, "tracker.%u.records_lost", t);
        rows[nr].name = names[nr];
        rows[nr++].value = lost;
    }
    uint64_t send_failed = spl ? cmn_wire_stat(spl->st, "records_send_failed", 0) : 0;
    if (send_failed) {
        a->records_lost += send_failed;
        s_where_add(a, "splitter: %" PRIu64 " records failed to send", send_failed);
    }
    if (n->epochs_incomplete)
        s_where_add(a, "merger: %" PRIu64 " epochs committed without all tracker results",
                    n->epochs_incomplete);
    if (n->results_invalid)
        s_where_add(a, "merger: %" PRIu64 " invalid tracker results dropped", n->results_invalid);

    rows[nr].name = "records_lost";
    rows[nr++].value = a->records_lost;
    rows[nr].name = "pipes_unverifiable";
    rows[nr++].value = a->unverifiable;
    mrg_db_put_stats(n->db, "merger", 0, n->cfg.listen, true, rows, nr);
    mrg_db_meta_set_u64(n->db, "records_lost", a->records_lost);
    mrg_db_meta_set_u64(n->db, "duplicates_removed", dup);
    mrg_db_meta_set_text(n->db, "records_lost_where", a->where);
    /* kept for /metrics: the accounting rows stay in node_stats too */
    free(n->acct_rows);
    free(n->acct_names);
    n->acct_rows = rows;
    n->acct_names = names;
    n->n_acct = nr;
}

static bool s_run_lossy(const struct mrg_accounting *a)
{
    return a->records_lost > 0 || a->unverifiable > 0 || a->epochs_incomplete > 0;
}

/* End of a run: commit what is pending (in order, complete or not), account,
 * log the summary and reset the run state. */
static int s_run_end(struct mrg_node *n)
{
    int rc = 0;
    while (n->slots) {
        if (!s_slot_complete(n, n->slots)) {
            n->epochs_incomplete++;
            CMN_LOG(WARN, "epoch %" PRIu64 "%s incomplete at end of run, committing what arrived",
                    n->slots->epoch, n->slots->final ? " (final)" : "");
        }
        if (s_slot_commit(n, n->slots) != 0)
            rc = -EIO;
    }
    s_account(n);
    s_put_own_stats(n, true);
    /* partial: a node is down, or was while epochs were committed without
     * its results (a tracker back later cannot fill them: results_late) */
    bool partial = n->acct.nodes_down || n->epochs_incomplete;
    mrg_db_meta_set_text(n->db, "run_state", partial ? "partial" : "complete");
    mrg_db_meta_set_u64(n->db, "run_ended_ns", cmn_now_ns());
    const struct mrg_accounting *a = &n->acct;
    uint64_t pk = mrg_db_meta_u64(n->db, "packets", 0);
    uint64_t by = mrg_db_meta_u64(n->db, "bytes", 0);
    if (s_run_lossy(a))
        CMN_LOG(WARN,
                "run %s: %" PRIu64 " collectors, %" PRIu64 " trackers, %" PRIu64
                " packets, %" PRIu64 " bytes, %" PRIu64
                " shared sessions deduplicated, RECORDS LOST %" PRIu64 ", %" PRIu64
                " pipes unverifiable: %s",
                a->nodes_down          ? "ended PARTIAL (nodes down)"
                : n->epochs_incomplete ? "ended PARTIAL (epochs committed incomplete)"
                                       : "complete",
                a->collectors, a->trackers, pk, by, n->shared_dedup, a->records_lost,
                a->unverifiable, a->where);
    else
        CMN_LOG(NOTICE,
                "run complete: %" PRIu64 " collectors, %" PRIu64 " trackers, %" PRIu64
                " packets, %" PRIu64 " bytes, %" PRIu64
                " shared sessions deduplicated, no records lost",
                a->collectors, a->trackers, pk, by, n->shared_dedup);
    n->runs_ended++;
    /* reset for the next run */
    for (struct node_stats *s = n->stats; s;) {
        struct node_stats *nx = s->next;
        cmn_wire_free(&s->env);
        free(s);
        s = nx;
    }
    n->stats = NULL;
    n->run_active = false;
    n->splitter_hello = false;
    n->splitter_eos = false;
    memset(n->tracker_eos, 0, MRG_MAX_TRACKERS);
    memset(n->trk_down, 0, MRG_MAX_TRACKERS);
    n->trackers_down = 0;
    n->spl_down = false;
    n->n_trackers = n->cfg.trackers;
    n->n_all = n->n_trackers;
    n->nmaps = 0;
    n->have_committed = false;
    n->epochs_incomplete = 0;
    n->results_invalid = 0;
    return rc;
}

static bool s_run_done(const struct mrg_node *n)
{
    if (n->cfg.exit_on_eos && (n->spl_down || n->trackers_down))
        return true; /* one run, a node gone: end it now, partial, rather than wait */
    if (!n->splitter_eos || n->n_trackers == 0)
        return false;
    for (uint32_t t = 0; t < s_all(n); t++) /* a removed tracker ended when it left */
        if (s_ever_member(n, t) && !n->tracker_eos[t] && !n->trk_down[t])
            return false;
    return true;
}

static void s_run_start(struct mrg_node *n)
{
    if (n->run_active)
        return;
    n->run_active = true;
    n->ack_final = false;
    n->resumed = false;
    n->dns_seq = 0; /* the splitter numbers its names from 1 per run */
    n->n_above = 0;
    (void)mrg_db_meta_set_u64(n->db, "dns_seq", 0);
    memset(n->trk_hold, 0, MRG_MAX_TRACKERS);
    memset(n->trk_seq, 0, MRG_MAX_TRACKERS * sizeof(*n->trk_seq));
    memset(n->trk_re, 0, MRG_MAX_TRACKERS * sizeof(*n->trk_re));
    uint64_t now = cmn_mono_ns();
    n->spl_heard = now;
    for (uint32_t t = 0; t < MRG_MAX_TRACKERS; t++)
        n->trk_heard[t] = now;
    n->run_started_ns = cmn_now_ns();
    mrg_db_meta_set_text(n->db, "run_state", "running");
    mrg_db_meta_set_u64(n->db, "run_started_ns", n->run_started_ns);
}

/* ---- messages ---- */

/* Tracker t restarted from its checkpoint: the chunks its dead process sent
 * from result seq `from` on and that are not committed are void (it may
 * have sent part of an epoch); the new process sends them again, and its
 * results of epochs committed with the dead one's are dropped as replayed. */
static void s_tracker_restarted(struct mrg_node *n, uint32_t t, uint64_t from)
{
    uint64_t voided = 0;
    for (struct slot *s = n->slots; s; s = s->next) {
        if (t >= s->n_trk)
            continue;
        struct chunk_set *c = &s->trk[t];
        uint32_t k = 0;
        c->expected = 0;
        for (uint32_t i = 0; i < c->n; i++) {
            const Renkei__TrackerResult *r = c->env[i]->result;
            if (r->seq >= from || r->seq == 0) {
                cmn_wire_free(&c->env[i]);
                voided++;
                continue;
            }
            if (r->chunks > c->expected)
                c->expected = r->chunks;
            c->env[k++] = c->env[i];
        }
        c->n = k;
    }
    n->tracker_restarts++;
    n->results_voided += voided;
    if (n->trk_seq[t] >= from)
        n->trk_seq[t] = from - 1;
    n->trk_hold[t] = 0;
    n->tracker_eos[t] = 0;
    n->trk_re[t].redo = n->trk_re[t].done_any;
    n->trk_re[t].redo_upto = n->trk_re[t].done_epoch;
    CMN_LOG(NOTICE,
            "tracker %u restarted from its checkpoint: results from seq %" PRIu64
            " come again (%" PRIu64 " uncommitted chunks of the old process dropped)",
            t, from, voided);
}

static void s_on_hello(struct mrg_node *n, const Renkei__Hello *h)
{
    if (h->replay)
        CMN_LOG(NOTICE, "hello again from %s %u (%s, pid %u): it sends again what no Ack covered",
                s_kind_name(h->kind), h->node_id, h->name ? h->name : "", h->pid);
    else
        CMN_LOG(INFO, "hello from %s %u (%s, pid %u, version %s)", s_kind_name(h->kind), h->node_id,
                h->name ? h->name : "", h->pid, h->version ? h->version : "?");
    if (h->kind == RENKEI__NODE_KIND__NODE_TRACKER && !h->replay && h->node_id < MRG_MAX_TRACKERS) {
        /* a tracker process (re)started: its results are numbered from 1 */
        n->trk_seq[h->node_id] = 0;
        n->trk_hold[h->node_id] = 0;
    }
    if (h->kind == RENKEI__NODE_KIND__NODE_TRACKER && h->restarted &&
        h->node_id < MRG_MAX_TRACKERS) {
        s_tracker_restarted(n, h->node_id, h->resume_seq ? h->resume_seq : 1);
        return;
    }
    if (h->kind == RENKEI__NODE_KIND__NODE_TRACKER && h->replay && h->node_id < MRG_MAX_TRACKERS) {
        uint32_t t = h->node_id;
        n->trk_hold[t] = 0;
        if (h->resume_seq > n->trk_seq[t] + 1 && !(n->resumed && n->trk_seq[t] == 0)) {
            n->results_unkept += h->resume_seq - 1 - n->trk_seq[t];
            CMN_LOG(WARN,
                    "tracker %u cannot send results %" PRIu64 "..%" PRIu64 " again (not kept)", t,
                    n->trk_seq[t] + 1, h->resume_seq - 1);
        }
        /* a resumed merger knows no seq yet: the replay starts it */
        if (h->resume_seq > 0 && (h->resume_seq - 1 > n->trk_seq[t] || n->resumed))
            n->trk_seq[t] = h->resume_seq - 1;
    }
    if (h->kind != RENKEI__NODE_KIND__NODE_SPLITTER)
        return;
    n->splitter_hello = true;
    if (h->tracker_count == 0 || h->tracker_count > MRG_MAX_TRACKERS) {
        CMN_LOG(WARN, "splitter hello: tracker_count %u out of range, ignored", h->tracker_count);
        return;
    }
    if (h->map_change) { /* a tracker added or removed: the splitter's count wins */
        s_map_change(n, h->tracker_count, h->map_since, h->vacant, h->n_vacant);
        return;
    }
    if (h->n_vacant && !n->nmaps) { /* retired trackers from the run's start */
        s_map_change(n, h->tracker_count, 0, h->vacant, h->n_vacant);
        return;
    }
    if (n->cfg.trackers && n->cfg.trackers != h->tracker_count && !n->nmaps)
        CMN_LOG(WARN, "splitter feeds %u trackers but trackers = %u is configured; using %u",
                h->tracker_count, n->cfg.trackers, n->cfg.trackers);
    else if (!n->nmaps) /* after a change, a plain Hello is a restart: the maps stand */
        n->n_trackers = h->tracker_count;
    if (n->n_trackers > n->n_all)
        n->n_all = n->n_trackers;
    mrg_db_meta_set_u64(n->db, "trackers", n->n_trackers);
}

static int s_on_result(struct mrg_node *n, Renkei__Envelope **envp)
{
    const Renkei__TrackerResult *r = (*envp)->result;
    n->results++;
    if (r->tracker_id >= MRG_MAX_TRACKERS || (n->n_trackers && r->tracker_id >= s_all(n))) {
        n->results_invalid++;
        CMN_LOG(WARN, "result from tracker %u, but %u trackers: dropped", r->tracker_id, s_all(n));
        cmn_wire_free(envp);
        return 0;
    }
    uint32_t tid = r->tracker_id;
    if (r->seq) { /* numbered: taken in order, each once */
        if (r->seq <= n->trk_seq[tid]) {
            n->results_duplicate++;
            cmn_wire_free(envp);
            return 0;
        }
        if (r->seq > n->trk_seq[tid] + 1) {
            /* lost on the way (a merger that restarted or reconnected):
             * everything from this tracker waits until it sends again */
            n->trk_hold[tid] = 1;
            n->messages_held++;
            CMN_LOG(WARN,
                    "tracker %u: result %" PRIu64 " after %" PRIu64
                    ": waiting for it to send the missing ones again",
                    tid, r->seq, n->trk_seq[tid]);
            cmn_wire_free(envp);
            return 0;
        }
        n->trk_seq[tid] = r->seq;
    }
    if (!r->final && n->trk_re[tid].redo && r->epoch <= n->trk_re[tid].redo_upto) {
        /* a tracker restarted from its checkpoint computed this epoch again:
         * it is committed with the old process's results */
        n->results_replayed++;
        cmn_wire_free(envp);
        return 0;
    }
    if (!r->final && n->resumed && n->resumed_any && r->epoch <= n->resume_epoch) {
        /* sent again to a resumed merger: that epoch is in the database
         * already (its commit had this tracker's result, or was made
         * without it, incomplete and counted) */
        n->results_replayed++;
        cmn_wire_free(envp);
        return 0;
    }
    if (!r->final && n->have_committed && r->epoch <= n->last_committed) {
        /* its epoch is gone: store it alone rather than lose it */
        n->results_late++;
        CMN_LOG(WARN, "late result of tracker %u for committed epoch %" PRIu64, r->tracker_id,
                r->epoch);
        struct slot *s = calloc(1, sizeof(*s));
        if (!s)
            abort();
        s->epoch = r->epoch;
        (void)s_slot_add(s, tid, envp);
        s->next = n->slots;
        n->slots = s;
        return s_slot_commit(n, s);
    }
    struct slot *s = s_slot_get(n, r->epoch, r->final);
    if (!s_slot_add(s, r->tracker_id, envp)) {
        n->results_duplicate++;
        return 0;
    }
    return s_commit_ready(n);
}

static int s_on_eos(struct mrg_node *n, Renkei__Envelope **envp)
{
    const Renkei__EndOfStream *e = (*envp)->eos;
    CMN_LOG(INFO, "end of stream from %s %u", s_kind_name(e->kind), e->node_id);
    if (e->kind == RENKEI__NODE_KIND__NODE_SPLITTER) {
        n->splitter_eos = true;
    } else if (e->kind == RENKEI__NODE_KIND__NODE_TRACKER) {
        if (e->node_id < MRG_MAX_TRACKERS)
            n->tracker_eos[e->node_id] = 1;
    }
    if (e->final_stats) /* a collector EOS sent here directly carries its counters */
        return s_stats_keep(n, envp, e->final_stats);
    return 0;
}

/* node_stats counter `down` of (kind, id): 1 while marked down (the
 * monitor page shows it), 0 once heard again. */
static void s_put_down(struct mrg_node *n, const char *kind, uint32_t id, bool down)
{
    const struct cmn_counter c = {"down", down};
    mrg_db_put_stats(n->db, kind, id, NULL, false, &c, 1);
}

/* A message from (kind, id): alive, back if it was marked down. */
static void s_heard(struct mrg_node *n, Renkei__NodeKind kind, uint32_t id)
{
    uint64_t now = cmn_mono_ns();
    if (kind == RENKEI__NODE_KIND__NODE_SPLITTER) {
        n->spl_heard = now;
        if (n->spl_down) {
            n->spl_down = false;
            s_put_down(n, "splitter", 0, false);
            CMN_LOG(NOTICE, "splitter is back");
        }
    } else if (kind == RENKEI__NODE_KIND__NODE_TRACKER && id < MRG_MAX_TRACKERS) {
        n->trk_heard[id] = now;
        if (n->trk_down[id]) {
            n->trk_down[id] = 0;
            n->trackers_down--;
            s_put_down(n, "tracker", id, false);
            CMN_LOG(NOTICE, "tracker %u is back", id);
        }
    }
}

#define MRG_DNS_ABOVE_MAX 65536 /* numbered DnsNames remembered above the contiguous count */

/* Whether numbered DnsNames `seq` is stored already: at or below the
 * contiguous dns_seq, or among those above it. */
static bool s_dns_have(const struct mrg_node *n, uint64_t seq)
{
    if (seq <= n->dns_seq)
        return true;
    for (size_t i = 0; i < n->n_above; i++)
        if (n->dns_above[i] == seq)
            return true;
    return false;
}

/* Passive DNS names from the splitter. Numbered ones (merger_ack) are
 * taken once each whatever their order: after a restart the splitter's
 * queued messages can arrive before the older ones it sends again. The
 * database keeps the contiguous count (meta dns_seq, the Acks' dns_seq); a
 * merger killed with stored ones above it stores those again (seen + 1). */
static void s_on_dns_names(struct mrg_node *n, const Renkei__DnsNames *m)
{
    uint64_t seq = m->seq;
    if (seq != 0 && s_dns_have(n, seq)) {
        n->dns_duplicate++;
        return;
    }
    uint64_t done = n->dns_seq; /* the contiguous count once this one is stored */
    if (seq == done + 1)
        while (s_dns_have(n, ++done + 1))
            ;
    if (mrg_db_put_dns_names(n->db, m, MRG_DNS_NAMES_PER_IP, seq ? done : 0, &n->dns) != 0) {
        n->db_errors++; /* names are advisory: the run goes on */
        return;
    }
    if (seq == 0)
        return;
    if (done > n->dns_seq) { /* in order: the count moves, past those above it */
        n->dns_seq = done;
        size_t k = 0;
        for (size_t i = 0; i < n->n_above; i++)
            if (n->dns_above[i] > done)
                n->dns_above[k++] = n->dns_above[i];
        n->n_above = k;
        return;
    }
    if (n->n_above == MRG_DNS_ABOVE_MAX)
        return; /* a splitter skipping numbers for ever: stored, not remembered */
    if (n->n_above == n->cap_above) {
        n->cap_above = n->cap_above ? 2 * n->cap_above : 64;
        n->dns_above = realloc(n->dns_above, n->cap_above * sizeof(*n->dns_above));
        if (!n->dns_above)
            abort();
    }
    n->dns_above[n->n_above++] = seq;
}

/* After a run ended, what starts the next: a splitter's Hello that is not
 * sent again (replay: a splitter resuming or reconnecting) nor a map change. */
static bool s_starts_run(const Renkei__Envelope *env)
{
    const Renkei__Hello *h = env->hello;
    return env->body_case == RENKEI__ENVELOPE__BODY_HELLO &&
           h->kind == RENKEI__NODE_KIND__NODE_SPLITTER && !h->replay && !h->map_change;
}

static const char *s_body_name(const Renkei__Envelope *env)
{
    switch (env->body_case) {
        case RENKEI__ENVELOPE__BODY_HELLO:
            return "Hello";
        case RENKEI__ENVELOPE__BODY_RESULT:
            return "TrackerResult";
        case RENKEI__ENVELOPE__BODY_STATS:
            return "Stats";
        case RENKEI__ENVELOPE__BODY_EOS:
            return "EndOfStream";
        case RENKEI__ENVELOPE__BODY_DNS_NAMES:
            return "DnsNames";
        default:
            return "other";
    }
}

/* Handle one envelope (taken). Returns 0 or -EIO (database failure). */
static int s_dispatch(struct mrg_node *n, Renkei__Envelope **envp)
{
    Renkei__Envelope *env = *envp;
    int rc = 0;
    if (env->body_case != RENKEI__ENVELOPE__BODY_HEARTBEAT && !n->run_active && n->ack_final &&
        !s_starts_run(env)) {
        /* the last run ended: a node that restarted after its end (from a
         * checkpoint of that run) or a late copy must not open a new one */
        if ((n->after_run_end++ & 1023) == 0)
            CMN_LOG(NOTICE,
                    "a %s message after the end of the run, before a splitter starts the "
                    "next: dropped (%" PRIu64 " so far)",
                    s_body_name(env), n->after_run_end);
        cmn_wire_free(envp);
        return 0;
    }
    if (env->body_case != RENKEI__ENVELOPE__BODY_HEARTBEAT) /* nodes beat between runs too */
        s_run_start(n);
    switch (env->body_case) {
        case RENKEI__ENVELOPE__BODY_HELLO:
            s_heard(n, env->hello->kind, env->hello->node_id);
            break;
        case RENKEI__ENVELOPE__BODY_RESULT:
            s_heard(n, RENKEI__NODE_KIND__NODE_TRACKER, env->result->tracker_id);
            break;
        case RENKEI__ENVELOPE__BODY_STATS:
            s_heard(n, env->stats->kind, env->stats->node_id);
            break;
        case RENKEI__ENVELOPE__BODY_EOS:
            s_heard(n, env->eos->kind, env->eos->node_id);
            break;
        case RENKEI__ENVELOPE__BODY_HEARTBEAT:
            s_heard(n, env->heartbeat->kind, env->heartbeat->node_id);
            break;
        default:
            break;
    }
    /* A tracker whose results came with a gap, or any tracker of a resumed
     * run, sends everything again after its Hello{replay}: until then its
     * results, stats and end of stream are dropped (they come again). */
    int64_t from_trk = env->body_case == RENKEI__ENVELOPE__BODY_RESULT
                           ? (int64_t)env->result->tracker_id
                       : env->body_case == RENKEI__ENVELOPE__BODY_STATS &&
                               env->stats->kind == RENKEI__NODE_KIND__NODE_TRACKER
                           ? (int64_t)env->stats->node_id
                       : env->body_case == RENKEI__ENVELOPE__BODY_EOS &&
                               env->eos->kind == RENKEI__NODE_KIND__NODE_TRACKER
                           ? (int64_t)env->eos->node_id
                           : -1;
    if (from_trk >= 0 && from_trk < MRG_MAX_TRACKERS && n->trk_hold[from_trk]) {
        n->messages_held++;
        cmn_wire_free(envp);
        return 0;
    }
    switch (env->body_case) {
        case RENKEI__ENVELOPE__BODY_HEARTBEAT:
            break;
        case RENKEI__ENVELOPE__BODY_HELLO:
            s_on_hello(n, env->hello);
            break;
        case RENKEI__ENVELOPE__BODY_RESULT:
            rc = s_on_result(n, envp);
            break;
        case RENKEI__ENVELOPE__BODY_STATS:
            rc = s_stats_keep(n, envp, env->stats);
            break;
        case RENKEI__ENVELOPE__BODY_EOS:
            rc = s_on_eos(n, envp);
            break;
        case RENKEI__ENVELOPE__BODY_DNS_NAMES:
            n->dns_messages++;
            s_on_dns_names(n, env->dns_names);
            break;
        default:
            n->unexpected++;
            break;
    }
    cmn_wire_free(envp);
    /* a tracker count learnt late can complete held epochs */
    if (rc == 0)
        rc = s_commit_ready(n);
    return rc;
}

/* Whether CURVE peer `peer` may send `env` (cmn_curve_may_send on the
 * identity it claims). Collectors' Stats and DnsNames also come forwarded
 * by the splitter, so the splitter's key may carry them. */
static bool s_sender_ok(const char *peer, const Renkei__Envelope *env)
{
    const int COL = RENKEI__NODE_KIND__NODE_COLLECTOR, SPL = RENKEI__NODE_KIND__NODE_SPLITTER;
    int kind;
    uint32_t id;
    switch (env->body_case) {
        case RENKEI__ENVELOPE__BODY_HELLO:
            kind = (int)env->hello->kind, id = env->hello->node_id;
            break;
        case RENKEI__ENVELOPE__BODY_RESULT:
            kind = RENKEI__NODE_KIND__NODE_TRACKER, id = env->result->tracker_id;
            break;
        case RENKEI__ENVELOPE__BODY_STATS:
            kind = (int)env->stats->kind, id = env->stats->node_id;
            break;
        case RENKEI__ENVELOPE__BODY_EOS:
            kind = (int)env->eos->kind, id = env->eos->node_id;
            break;
        case RENKEI__ENVELOPE__BODY_HEARTBEAT:
            kind = (int)env->heartbeat->kind, id = env->heartbeat->node_id;
            break;
        case RENKEI__ENVELOPE__BODY_DNS_NAMES:
            kind = COL, id = env->dns_names->node_id;
            break;
        default:
            return true; /* names no node: counted unexpected by the dispatch */
    }
    if (kind == COL && cmn_curve_allowed(peer, SPL, 0))
        return true;
    return cmn_curve_may_send(peer, kind, id);
}

int mrg_node_handle(struct mrg_node *n, const uint8_t *bytes, size_t len)
{
    return mrg_node_handle_from(n, bytes, len, NULL);
}

int mrg_node_handle_from(struct mrg_node *n, const uint8_t *bytes, size_t len, const char *peer)
{
    cmn_wire_record("merger", bytes, len);
    n->messages++;
    Renkei__Envelope *env = renkei__envelope__unpack(NULL, len, bytes);
    if (!env || env->version != CMN_WIRE_VERSION ||
        env->body_case == RENKEI__ENVELOPE__BODY__NOT_SET) {
        cmn_wire_free(&env);
        n->undecodable++;
        return 0;
    }
    if (peer && !s_sender_ok(peer, env)) {
        cmn_wire_free(&env);
        n->impostors++;
        return 0;
    }
    if (s_dispatch(n, &env) != 0)
        return -EIO;
    if (!s_run_done(n))
        return 0;
    if (s_run_end(n) != 0)
        n->handle_error = true;
    return 1;
}

int mrg_node_check_liveness(struct mrg_node *n, uint64_t now)
{
    if (n->cfg.liveness_timeout == 0 || !n->run_active)
        return 0;
    uint64_t to = (uint64_t)n->cfg.liveness_timeout * 1000000000ull;
    bool changed = false;
    if (!n->splitter_eos && !n->spl_down && now >= n->spl_heard + to) {
        n->spl_down = true;
        changed = true;
        s_put_down(n, "splitter", 0, true);
        CMN_LOG(WARN, "splitter silent for %u s: marked down%s", n->cfg.liveness_timeout,
                n->cfg.exit_on_eos ? "; ending the run" : "");
    }
    for (uint32_t t = 0; t < s_all(n); t++) {
        if (n->tracker_eos[t] || n->trk_down[t] || now < n->trk_heard[t] + to ||
            !s_ever_member(n, t))
            continue;
        n->trk_down[t] = 1;
        n->trackers_down++;
        changed = true;
        s_put_down(n, "tracker", t, true);
        CMN_LOG(WARN, "tracker %u silent for %u s: marked down; epochs no longer wait for it", t,
                n->cfg.liveness_timeout);
    }
    if (!changed)
        return 0;
    if (s_commit_ready(n) != 0)
        return -EIO;
    if (!s_run_done(n))
        return 0;
    if (s_run_end(n) != 0)
        n->handle_error = true;
    return 1;
}

static void s_log_stats(struct mrg_node *n)
{
    uint32_t pending = 0;
    for (struct slot *s = n->slots; s; s = s->next)
        pending++;
    CMN_LOG(NOTICE,
            "stats: messages %" PRIu64 " (undecodable %" PRIu64 "), results %" PRIu64
            ", epochs committed %" PRIu64 ", pending %u, sessions %" PRIu64
            ", shared deduplicated %" PRIu64,
            n->messages, n->undecodable, n->results, n->epochs_committed, pending,
            n->sessions_stored, n->shared_dedup);
    s_put_own_stats(n, false);
}

struct mrg_node *mrg_node_new(const struct mrg_node_config *cfg)
{
    assert(cfg && cfg->listen && cfg->db_path);
    struct mrg_node *n = calloc(1, sizeof(*n));
    if (!n)
        abort();
    n->cfg = *cfg;
    n->n_trackers = cfg->trackers;
    n->n_all = cfg->trackers;
    n->tracker_eos = calloc(MRG_MAX_TRACKERS, 1);
    n->trk_down = calloc(MRG_MAX_TRACKERS, 1);
    n->trk_heard = calloc(MRG_MAX_TRACKERS, sizeof(*n->trk_heard));
    n->trk_hold = calloc(MRG_MAX_TRACKERS, 1);
    n->trk_seq = calloc(MRG_MAX_TRACKERS, sizeof(*n->trk_seq));
    n->trk_re = calloc(MRG_MAX_TRACKERS, sizeof(*n->trk_re));
    if (!n->tracker_eos || !n->trk_down || !n->trk_heard || !n->trk_hold || !n->trk_seq ||
        !n->trk_re)
        abort();
    if (cfg->trackers > MRG_MAX_TRACKERS) {
        CMN_LOG(ERR, "trackers = %u: at most %u", cfg->trackers, MRG_MAX_TRACKERS);
        goto err;
    }
    n->db = mrg_db_open(cfg->db_path);
    if (!n->db)
        goto err;
    n->run_started_ns = mrg_db_meta_u64(n->db, "run_started_ns", 0);
    if (mrg_db_meta_text_is(n->db, "run_state", "running") && cfg->ack_listen) {
        /* Resume: what this run committed is in the database whole (one
         * transaction per epoch); the trackers and the splitter send again
         * what no Ack covered. */
        uint64_t e = 0;
        int f = mrg_db_last_epoch(n->db, n->run_started_ns, &e);
        if (f < 0)
            goto err;
        n->have_committed = f == 1;
        n->last_committed = e;
        n->resumed = true;
        n->resumed_any = f == 1;
        n->resume_epoch = e;
        n->dns_seq = mrg_db_meta_u64(n->db, "dns_seq", 0);
        memset(n->trk_hold, 1, MRG_MAX_TRACKERS); /* until each tracker sends again */
        n->run_active = true;
        if (!n->n_trackers || mrg_db_meta_u64(n->db, "tracker_maps", 0))
            n->n_trackers = (uint32_t)mrg_db_meta_u64(n->db, "trackers", 0);
        s_maps_load(n);
        uint64_t now = cmn_mono_ns();
        n->spl_heard = now;
        for (uint32_t t = 0; t < MRG_MAX_TRACKERS; t++)
            n->trk_heard[t] = now;
        if (f == 1)
            CMN_LOG(NOTICE,
                    "resuming the run a stopped merger left: epochs through %" PRIu64
                    " are committed; the trackers and the splitter send the rest again",
                    e);
        else
            CMN_LOG(NOTICE, "resuming the run a stopped merger left (no epoch committed yet)");
    } else if (mrg_db_meta_text_is(n->db, "run_state", "running")) {
        CMN_LOG(WARN, "the database's last run never ended (its merger stopped or crashed "
                      "mid-run): marked interrupted");
        mrg_db_meta_set_text(n->db, "run_state", "interrupted");
    } else {
        n->ack_final = n->run_started_ns != 0; /* its last run ended */
    }
    if (cfg->memcap)
        mrg_db_set_memcap(n->db, cfg->memcap);
    if (cfg->retain_minutes || cfg->retain_hours || cfg->retain_days) {
        const struct mrg_retain r = {cfg->retain_minutes, cfg->retain_hours, cfg->retain_days};
        mrg_db_set_retention(n->db, &r);
    }
    if (cfg->hosts_file && mrg_db_load_hosts_file(n->db, cfg->hosts_file) < 0)
        goto err;
    if (cfg->services_file) {
        struct cmn_service_entry *se = NULL;
        char err[4096];
        long ns = cmn_names_load_services(cfg->services_file, &se, err, sizeof(err));
        if (ns < 0) {
            CMN_LOG(ERR, "services_file: %s", err);
            goto err;
        }
        int lr = mrg_db_load_services(n->db, se, (size_t)ns);
        free(se);
        if (lr != 0)
            goto err;
        CMN_LOG(INFO, "services_file %s: %ld names", cfg->services_file, ns);
    }
    if (cfg->sites && mrg_db_set_sites(n->db, cfg->sites) != 0)
        goto err;
    n->ctx = cfg->zmq_ctx;
    if (!n->ctx) {
        n->ctx = zmq_ctx_new();
        n->own_ctx = true;
        if (!n->ctx) {
            CMN_LOG(ERR, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
            goto err;
        }
    }
    n->sock = cmn_zmq_open(n->ctx, ZMQ_PULL, cfg->listen, true, 0, MRG_HWM);
    if (!n->sock)
        goto err;
    if (cfg->ack_listen) {
        n->ack = cmn_zmq_open(n->ctx, ZMQ_PUB, cfg->ack_listen, true, 1000, 1000);
        if (!n->ack)
            goto err;
    }
    return n;
err:
    mrg_node_destroy(&n);
    return NULL;
}

int mrg_node_run(struct mrg_node *n)
{
    assert(n);
    int exit_code = CMN_EXIT_OK;
    uint64_t ival = (uint64_t)n->cfg.stats_interval * 1000000000ull;
    uint64_t next_stats = cmn_mono_ns() + ival;
    uint64_t next_beat = 0;
    struct cmn_counter own[MRG_OWN_COUNTERS]; /* the counters' names show from the start */
    s_own_counters(n, own);
    s_publish(n, own, MRG_OWN_COUNTERS, false);
    /* results arrive as large messages: keep freed buffers mapped */
    cmn_wire_keep_buffers();
    while (!n->stop) {
        zmq_pollitem_t it = {.socket = n->sock, .events = ZMQ_POLLIN};
        int pr = zmq_poll(&it, 1, 200);
        if (pr < 0) {
            if (zmq_errno() == EINTR)
                continue;
            CMN_LOG(ERR, "zmq_poll: %s", zmq_strerror(zmq_errno()));
            exit_code = CMN_EXIT_ERROR;
            break;
        }
        /* drain what is there, bounded so stop and stats stay responsive */
        bool drained = pr == 0;
        for (int k = 0; pr > 0 && k < 256 && !n->stop; k++) {
            zmq_msg_t zm;
            zmq_msg_init(&zm);
            int rc;
            if (zmq_msg_recv(&zm, n->sock, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&zm);
                drained = true; /* EAGAIN, EINTR */
                rc = mrg_node_check_liveness(n, cmn_mono_ns());
                if (rc == 0)
                    break;
            } else {
                rc = mrg_node_handle_from(n, zmq_msg_data(&zm), zmq_msg_size(&zm),
                                          zmq_msg_gets(&zm, "User-Id"));
                zmq_msg_close(&zm);
            }
            if (rc < 0) {
                exit_code = CMN_EXIT_ERROR;
                n->stop = 1;
                break;
            }
            if (rc == 1) {
                if (n->handle_error)
                    exit_code = CMN_EXIT_ERROR;
                n->handle_error = false;
                if (n->cfg.exit_on_eos) {
                    if (exit_code == CMN_EXIT_OK && s_run_lossy(&n->acct))
                        exit_code = CMN_EXIT_LOST;
                    return exit_code;
                }
            }
        }
        uint64_t now = cmn_mono_ns();
        if (now >= next_beat) { /* renkei analyze and renkei status watch it */
            mrg_db_meta_set_u64(n->db, "merger_heartbeat_ns", cmn_now_ns());
            s_ack(n);
            next_beat = now + CMN_HEARTBEAT_MS * 1000000ull;
        }
        if (drained && pr == 0) {
            int rc = mrg_node_check_liveness(n, now);
            if (rc < 0) {
                exit_code = CMN_EXIT_ERROR;
                break;
            }
            if (rc == 1) {
                if (n->handle_error)
                    exit_code = CMN_EXIT_ERROR;
                n->handle_error = false;
                if (n->cfg.exit_on_eos) {
                    if (exit_code == CMN_EXIT_OK && s_run_lossy(&n->acct))
                        exit_code = CMN_EXIT_LOST;
                    return exit_code;
                }
            }
        }
        if (ival && cmn_mono_ns() >= next_stats) {
            s_log_stats(n);
            next_stats = cmn_mono_ns() + ival;
        }
    }
    /* interrupted: complete epochs are already committed */
    uint32_t pending = 0;
    for (struct slot *s = n->slots; s; s = s->next)
        pending++;
    if (pending)
        CMN_LOG(WARN, "stopping with %u incomplete epochs not committed", pending);
    s_put_own_stats(n, false);
    if (n->run_active)
        mrg_db_meta_set_text(n->db, "run_state", "interrupted");
    return exit_code;
}

void mrg_node_stop(struct mrg_node *n)
{
    if (n)
        n->stop = 1;
}

void mrg_node_accounting(const struct mrg_node *n, struct mrg_accounting *out)
{
    *out = n->acct;
}

void mrg_node_destroy(struct mrg_node **np)
{
    if (!np || !*np)
        return;
    struct mrg_node *n = *np;
    while (n->slots) {
        struct slot *s = n->slots;
        n->slots = s->next;
        s_slot_free(s);
    }
    for (struct node_stats *s = n->stats; s;) {
        struct node_stats *nx = s->next;
        cmn_wire_free(&s->env);
        free(s);
        s = nx;
    }
    cmn_zmq_close(n->sock);
    if (n->ack) {
        s_ack(n); /* the last word (a final Ack with exit_on_eos) */
        cmn_zmq_close(n->ack);
    }
    if (n->own_ctx && n->ctx)
        zmq_ctx_term(n->ctx);
    mrg_db_close(&n->db);
    free(n->tracker_eos);
    free(n->trk_down);
    free(n->trk_heard);
    free(n->trk_hold);
    free(n->dns_above);
    free(n->trk_seq);
    free(n->trk_re);
    free(n->acct_rows);
    free(n->acct_names);
    free(n);
    *np = NULL;
}
