/* SPDX-License-Identifier: MIT
 * col_out: sender thread. Polls the full-batch ring and sends each batch
 * without copying it: col_batch_frame writes the Envelope header and trailer
 * around the records in place and zmq_msg_init_data hands the buffer to
 * ZeroMQ, whose I/O thread releases the batch (col_batch_free) once the bytes
 * are in the kernel; the bytes are exactly what cmn_wire_send would pack.
 * Sends use ZMQ_DONTWAIT in a retry loop so that a splitter at its high-water
 * mark applies back pressure (batches stay in flight, the free list empties,
 * then RX waits or counts drop_queue_full) while a second SIGINT can still
 * end a run whose splitter is gone.
 */
#define CMN_LOG_TAG "out"
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "cmn_ip.h"
#include "cmn_keepq.h"
#include "cmn_log.h"
#include "cmn_metrics.h"
#include "cmn_wire.h"
#include "col_out.h"

#define COL_OUT_HWM       1000  /* messages queued per socket before back pressure */
#define COL_OUT_HWM_FILE  16    /* the same for capture files (col_out_config.small_queue) */
#define COL_OUT_LINGER_MS 30000 /* delivery time left for the last messages at exit */
/* An RX loop descheduled this long still keeps a heartbeat's promise
 * (col_out_config.wall_ts); a record stamped earlier than promised reaches
 * the splitter late and is counted there as late. */
#define COL_OUT_PROMISE_SLACK_NS 250000000ull
#define COL_OUT_FINAL_WAIT_S     120 /* splitter_ack: wait this long for the run's end */

/* A message sent to the splitter is kept (o->kept) until a SplitterAck
 * covers it; its tags in the queue: */
enum {
    KEPT_SEQ,    /* a batch: its seq; else 0 */
    KEPT_AFTER,  /* the last batch seq sent before it (or its own) */
    KEPT_RECORDS /* records in it */
};

struct col_out {
    struct col_out_config cfg; /* copy (strings borrowed) */
    struct col_queue *q;       /* borrowed */
    struct col_dns *dns;       /* borrowed DNS name ring, or NULL */
    uint64_t dns_sent;         /* names sent */
    struct col_stats *stats;   /* borrowed; BATCHES and RECORDS_SENT are ours */
    void *ctx;                 /* ZeroMQ context (NULL in print mode) */
    void *spl;                 /* PUSH to the splitter */
    void *mrg;                 /* PUSH to the merger, or NULL */
    pthread_t thread;          /* sender */
    bool running;              /* thread started */
    int done;                  /* RX finished (atomic) */
    uint64_t seq;              /* last batch seq sent */
    uint64_t batches;          /* batches sent */
    uint64_t records;          /* records sent */
    bool failed;               /* a batch could not be delivered */
    FILE *out;                 /* print mode stream */
    uint64_t synced_ns;        /* monotonic time the state file was last synced */
    /* cfg.splitter_ack */
    void *sack;              /* SUB to the splitter's ack_listen, or NULL */
    void *smon;              /* PAIR reading the splitter socket's handshakes */
    uint64_t shandshakes;    /* connections to the splitter completed */
    struct cmn_keepq *kept;  /* in order: memory, then cfg.keep_dir */
    uint64_t resent, unkept; /* messages sent again; records not kept */
    bool final_acked;        /* the splitter said its run ended */
};

/* Keep a sent message (copied) for a splitter that may restart. Past both
 * caps the oldest go (lost if the splitter dies now; counted). */
static void s_keep(struct col_out *o, const uint8_t *data, size_t len, uint64_t seq,
                   uint64_t records)
{
    uint64_t tag[3] = {
        [KEPT_SEQ] = seq, [KEPT_AFTER] = seq ? seq : o->seq, [KEPT_RECORDS] = records};
    int rc;
    while ((rc = cmn_keepq_push(o->kept, data, len, tag)) == -ENOSPC && cmn_keepq_count(o->kept)) {
        o->unkept += cmn_keepq_tag(o->kept, 0)[KEPT_RECORDS];
        cmn_keepq_pop(o->kept);
    }
    if (rc != 0)
        o->unkept += records;
    struct cmn_keepq_stats ks;
    cmn_keepq_stats(o->kept, &ks);
    col_stats_set(o->stats, COL_STAT_UNKEPT, o->unkept);
    col_stats_set(o->stats, COL_STAT_SPILLED, ks.spilled);
}

/* SplitterAcks: drop what the splitter's checkpoint holds (batches up to
 * the acked seq, and what was sent before the last of them); a splitter
 * that connected again gets Hello{resume_seq} and everything kept. */
static void s_sack_poll(struct col_out *o)
{
    if (!o->sack)
        return;
    int err = 0;
    Renkei__Envelope *env;
    while ((env = cmn_wire_recv(o->sack, ZMQ_DONTWAIT, &err))) {
        const Renkei__SplitterAck *a = env->splitter_ack;
        if (env->body_case == RENKEI__ENVELOPE__BODY_SPLITTER_ACK) {
            if (a->final)
                o->final_acked = true;
            for (size_t i = 0; i < a->n_collector_ids && i < a->n_seqs; i++) {
                if (a->collector_ids[i] != o->cfg.id)
                    continue;
                while (cmn_keepq_count(o->kept)) {
                    const uint64_t *t = cmn_keepq_tag(o->kept, 0);
                    if (t[KEPT_SEQ] ? t[KEPT_SEQ] > a->seqs[i] : t[KEPT_AFTER] >= a->seqs[i])
                        break;
                    cmn_keepq_pop(o->kept);
                }
            }
        }
        cmn_wire_free(&env);
    }
    int ev;
    while ((ev = cmn_wire_monitor_event(o->smon)) != -EAGAIN) {
        if (ev != ZMQ_EVENT_HANDSHAKE_SUCCEEDED || ++o->shandshakes < 2)
            continue;
        uint64_t from = o->seq + 1;
        size_t nk = cmn_keepq_count(o->kept);
        for (size_t i = 0; i < nk; i++)
            if (cmn_keepq_tag(o->kept, i)[KEPT_SEQ]) {
                from = cmn_keepq_tag(o->kept, i)[KEPT_SEQ];
                break;
            }
        struct cmn_keepq_stats ks;
        cmn_keepq_stats(o->kept, &ks);
        CMN_LOG(NOTICE,
                "splitter %s connected again: sending again from batch %" PRIu64
                " (%zu messages, %" PRIu64 " bytes kept)",
                o->cfg.splitter, from, nk, ks.bytes);
        (void)cmn_wire_send_hello_resume(o->spl, RENKEI__NODE_KIND__NODE_COLLECTOR, o->cfg.id,
                                         o->cfg.name, 0, from);
        for (size_t i = 0; i < nk; i++) {
            const uint8_t *d;
            size_t len;
            if (cmn_keepq_get(o->kept, i, &d, &len) != 0)
                continue; /* logged; counted there */
            if (cmn_wire_send_bytes(o->spl, d, len, 0) == 0)
                o->resent++;
        }
        col_stats_set(o->stats, COL_STAT_RESENT, o->resent);
    }
}

/* fdatasync of the state file: at most once a second */
#define COL_OUT_STATE_SYNC_NS 1000000000ull

/* Save the state as it is once batch `seq` (closed at b's frame, with b's
 * counters) is handed over; b NULL: at `frames` with the shared counters. */
static int s_save_state(struct col_out *o, const struct col_batch *b, uint64_t frames, uint64_t seq,
                        uint64_t records, bool done)
{
    struct col_state_rec r;
    memset(&r, 0, sizeof(r));
    r.frames = b ? b->frames_end : frames;
    r.seq = seq;
    r.records_sent = records;
    r.done = done;
    if (b)
        memcpy(r.stats, b->stats, sizeof(r.stats));
    else
        for (int i = 0; i < COL_STAT_COUNT; i++)
            r.stats[i] = col_stats_get(o->stats, (enum col_stat)i);
    r.stats[COL_STAT_BATCHES] = seq;
    r.stats[COL_STAT_RECORDS_SENT] = records;
    r.stats[COL_STAT_DNS_SENT] = o->dns_sent;
    uint64_t now = cmn_mono_ns();
    bool sync = done || now - o->synced_ns >= COL_OUT_STATE_SYNC_NS;
    int rc = col_state_save(o->cfg.state, &r, sync);
    if (rc != 0) {
        CMN_LOG(ERR, "state file %s: %s", col_state_path(o->cfg.state), strerror(-rc));
        return rc;
    }
    if (sync)
        o->synced_ns = now;
    return 0;
}

static bool s_aborting(const struct col_out *o)
{
    return o->cfg.signals && *o->cfg.signals >= 2;
}

/* Send with back pressure: retry EAGAIN until delivered or aborted; with
 * splitter_ack, kept too. */
static int s_send(struct col_out *o, Renkei__Envelope *env)
{
    size_t len;
    uint8_t *data = cmn_wire_pack(env, &len);
    if (!data)
        return -ENOMEM;
    int rc;
    for (;;) {
        rc = cmn_wire_send_bytes(o->spl, data, len, ZMQ_DONTWAIT);
        if (rc != -EAGAIN)
            break;
        if (s_aborting(o)) {
            rc = -ECANCELED;
            break;
        }
        usleep(500);
    }
    if (rc == 0 && o->sack)
        s_keep(o, data, len, 0, 0);
    free(data);
    return rc;
}

/* Send a framed batch without copying: ZeroMQ owns the buffer from a
 * successful zmq_msg_send until col_batch_free, which returns the batch to
 * the free list from its I/O thread once the bytes are in the kernel. On
 * failure the message is closed here, which releases the batch too. */
static int s_send_batch(struct col_out *o, struct col_batch *b, uint64_t seq)
{
    uint8_t *data;
    size_t len = col_batch_frame(b, o->cfg.id, seq, &data);
    if (data && o->sack)
        s_keep(o, data, len, seq, b->n); /* kept before ZeroMQ owns the buffer */
    zmq_msg_t msg;
    if (!data || zmq_msg_init_data(&msg, data, len, col_batch_free, b) != 0) {
        col_queue_release(o->q, b);
        return -ENOMEM;
    }
    for (;;) {
        if (zmq_msg_send(&msg, o->spl, ZMQ_DONTWAIT) >= 0)
            return 0;
        int e = zmq_errno();
        if (e == EAGAIN && !s_aborting(o)) {
            usleep(500);
            continue;
        }
        if (e == EINTR)
            continue;
        zmq_msg_close(&msg);
        return e == EAGAIN ? -ECANCELED : -e;
    }
}

static void s_print(struct col_out *o, const struct col_batch *b)
{
    char s[CMN_IP_STRLEN], d[CMN_IP_STRLEN];
    for (uint32_t i = 0; i < b->n; i++) {
        const struct cmn_record *r = &b->rec[i];
        fprintf(o->out,
                "%" PRIu64 ".%09" PRIu64 " %u %s %u %s %u %" PRIu32 " 0x%02x %u 0x%08" PRIx32 "\n",
                r->ts_ns / UINT64_C(1000000000), r->ts_ns % UINT64_C(1000000000), r->proto,
                cmn_ip_format(r->src, s, sizeof(s)), r->sport, cmn_ip_format(r->dst, d, sizeof(d)),
                r->dport, r->ip_len, r->flags, (r->flags & CMN_REC_VLAN) ? r->vlan : 0, r->sig);
    }
}

/* Send or print b; takes ownership (the batch goes back to the free list). */
static void s_batch(struct col_out *o, struct col_batch *b)
{
    uint32_t n = b->n;
    if (o->cfg.print) {
        s_print(o, b);
        col_queue_release(o->q, b);
    } else {
        /* The state first: a crash between the two loses this batch, counted
         * as lost by the splitter (seq gap, totals), never sends it twice. */
        if (o->cfg.state && s_save_state(o, b, 0, o->seq + 1, o->records + n, false) != 0) {
            o->failed = true;
            col_queue_release(o->q, b);
            return;
        }
        int rc = s_send_batch(o, b, o->seq + 1);
        if (rc != 0) {
            if (!o->failed)
                CMN_LOG(ERR, "batch %" PRIu64 " to %s not sent: %s", o->seq + 1, o->cfg.splitter,
                        strerror(-rc));
            o->failed = true;
            return;
        }
    }
    o->seq++;
    o->batches++;
    o->records += n;
    col_stats_set(o->stats, COL_STAT_BATCHES, o->batches);
    col_stats_set(o->stats, COL_STAT_RECORDS_SENT, o->records);
}

/* Send the DNS names waiting in the ring (all of them, in messages of up
 * to COL_DNS_SEND_MAX). Names are advisory: a failed send is logged once and
 * the names are dropped, the run goes on. */
static void s_dns_flush(struct col_out *o)
{
    if (!o->dns || o->cfg.print)
        return;
    static struct col_dns_entry buf[COL_DNS_SEND_MAX]; /* sender thread only */
    Renkei__DnsName dn[COL_DNS_SEND_MAX];
    Renkei__DnsName *dp[COL_DNS_SEND_MAX];
    size_t n;
    while ((n = col_dns_pop(o->dns, buf, COL_DNS_SEND_MAX)) > 0) {
        for (size_t i = 0; i < n; i++) {
            renkei__dns_name__init(&dn[i]);
            dn[i].ip.data = buf[i].n.ip;
            dn[i].ip.len = 16;
            dn[i].name = buf[i].n.name;
            dn[i].rtype = buf[i].n.rtype;
            dn[i].ts_ns = buf[i].ts_ns;
            dp[i] = &dn[i];
        }
        Renkei__DnsNames m = RENKEI__DNS_NAMES__INIT;
        m.kind = RENKEI__NODE_KIND__NODE_COLLECTOR;
        m.node_id = o->cfg.id;
        m.n_names = n;
        m.names = dp;
        Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
        env.body_case = RENKEI__ENVELOPE__BODY_DNS_NAMES;
        env.dns_names = &m;
        int rc = s_send(o, &env);
        if (rc != 0) {
            CMN_LOG(WARN, "DNS names to %s not sent: %s", o->cfg.splitter, strerror(-rc));
            return;
        }
        o->dns_sent += n;
        col_stats_set(o->stats, COL_STAT_DNS_SENT, o->dns_sent);
    }
}

/* The collector's /metrics: its Stats counters (all of them only go up),
 * `final` once the run ended. */
static void s_publish(struct col_out *o, bool final)
{
    if (!o->cfg.metrics)
        return;
    struct cmn_counter c[COL_STAT_COUNT];
    size_t n = col_stats_snapshot(o->stats, c);
    const struct cmn_metric x[] = {
        {.name = "final", .type = CMN_METRIC_GAUGE, .value = final, .help = "1 once the run ended"},
        {.name = "batch_seq",
         .type = CMN_METRIC_GAUGE,
         .value = o->seq,
         .help = "seq of the last batch sent"},
    };
    cmn_metrics_publish(o->cfg.metrics, c, n, NULL, x, sizeof(x) / sizeof(x[0]));
}

static void s_stats(struct col_out *o, bool final)
{
    char line[2048];
    col_stats_line(o->stats, line, sizeof(line));
    CMN_LOG(NOTICE, "%s%s: %s", final ? "final " : "", o->cfg.name, line);
    s_publish(o, final);
    if (o->mrg && !final) {
        struct cmn_counter c[COL_STAT_COUNT];
        size_t n = col_stats_snapshot(o->stats, c);
        cmn_wire_send_stats(o->mrg, RENKEI__NODE_KIND__NODE_COLLECTOR, o->cfg.id, o->cfg.name,
                            false, c, n, ZMQ_DONTWAIT); /* stats are advisory: never block */
    }
}

static int s_eos(struct col_out *o)
{
    struct cmn_counter c[COL_STAT_COUNT];
    size_t n = col_stats_snapshot(o->stats, c);
    Renkei__Counter cs[COL_STAT_COUNT];
    Renkei__Counter *cp[COL_STAT_COUNT];
    for (size_t i = 0; i < n; i++) {
        renkei__counter__init(&cs[i]);
        cs[i].name = (char *)(uintptr_t)c[i].name;
        cs[i].value = c[i].value;
        cp[i] = &cs[i];
    }
    Renkei__Stats st = RENKEI__STATS__INIT;
    st.kind = RENKEI__NODE_KIND__NODE_COLLECTOR;
    st.node_id = o->cfg.id;
    st.ts_ns = cmn_now_ns();
    st.final = true;
    st.n_counters = n;
    st.counters = cp;
    st.name = (char *)(uintptr_t)o->cfg.name;
    Renkei__EndOfStream eos = RENKEI__END_OF_STREAM__INIT;
    eos.kind = RENKEI__NODE_KIND__NODE_COLLECTOR;
    eos.node_id = o->cfg.id;
    eos.batches_sent = o->batches;
    eos.records_sent = o->records;
    eos.final_stats = &st;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_EOS;
    env.eos = &eos;
    return s_send(o, &env);
}

static void *s_thread(void *arg)
{
    struct col_out *o = arg;
    uint64_t period = (uint64_t)o->cfg.stats_interval * 1000000000ull;
    uint64_t next = cmn_mono_ns() + period;
    uint32_t idle = 0; /* empty looks in a row */
    uint64_t beat = 0; /* monotonic time of the next heartbeat to the splitter */
    /* Wall time just before a look that found the queue empty: every batch
     * submitted before it has been sent, so with wall-clock stamps every
     * record older than it minus the RX side's batch hold (and a slack for
     * an RX loop descheduled for a while) is out: what a heartbeat promises
     * (the splitter's watermark then passes an idle port). */
    uint64_t empty_at = 0;
    uint64_t acks = 0; /* monotonic time of the next look at SplitterAcks */
    for (;;) {
        if (o->spl) {
            uint64_t now = cmn_mono_ns();
            if (o->sack && now >= acks) {
                s_sack_poll(o);
                acks = now + 10000000ull;
            }
            if (now >= beat) {
                uint64_t hold = o->cfg.batch_delay_ns + COL_OUT_PROMISE_SLACK_NS;
                uint64_t from = o->cfg.wall_ts && empty_at > hold ? empty_at - hold : 0;
                (void)cmn_wire_send_heartbeat_from(o->spl, RENKEI__NODE_KIND__NODE_COLLECTOR,
                                                   o->cfg.id, from);
                beat = now + CMN_HEARTBEAT_MS * 1000000ull;
            }
        }
        uint64_t look = o->cfg.wall_ts ? cmn_now_ns() : 0;
        struct col_batch *b = col_queue_take(o->q);
        if (!b)
            empty_at = look;
        if (b) {
            idle = 0;
            s_batch(o, b);
            s_dns_flush(o);
            continue;
        }
        s_dns_flush(o);
        if (__atomic_load_n(&o->done, __ATOMIC_ACQUIRE)) {
            /* RX submitted its last batch before setting done: one more look. */
            b = col_queue_take(o->q);
            if (!b)
                break;
            s_batch(o, b);
            continue;
        }
        if (period && cmn_mono_ns() >= next) {
            s_stats(o, false);
            next += period;
        }
        /* 200 us between looks while batches flow (one per ~0.3 ms at
         * 14.88 Mpps), 1 ms once idle for ~10 ms: the free list holds far
         * more than a millisecond of records. */
        usleep(++idle > 50 ? 1000 : 200);
    }
    return NULL;
}

struct col_out *col_out_new(const struct col_out_config *cfg, struct col_queue *q,
                            struct col_dns *dns, struct col_stats *stats)
{
    struct col_out *o = calloc(1, sizeof(*o));
    if (!o)
        abort();
    o->cfg = *cfg;
    if (!o->cfg.name)
        o->cfg.name = "collector";
    o->q = q;
    o->dns = dns;
    o->stats = stats;
    if (cfg->state && cfg->resume) {
        const struct col_state_rec *r = cfg->resume;
        o->seq = o->batches = r->seq;
        o->records = r->records_sent;
        o->dns_sent = r->stats[COL_STAT_DNS_SENT];
    }
    if (cfg->print) {
        o->out = stdout;
        return o;
    }
    o->ctx = zmq_ctx_new();
    if (!o->ctx) {
        CMN_LOG(ERR, "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
        goto err;
    }
    o->spl = cmn_zmq_open(o->ctx, ZMQ_PUSH, cfg->splitter, false, COL_OUT_LINGER_MS,
                          cfg->small_queue ? COL_OUT_HWM_FILE : COL_OUT_HWM);
    if (!o->spl)
        goto err;
    if (cfg->merger) {
        o->mrg = cmn_zmq_open(o->ctx, ZMQ_PUSH, cfg->merger, false, 1000, 100);
        if (!o->mrg)
            goto err;
    }
    if (cfg->splitter_ack) {
        char addr[64];
        snprintf(addr, sizeof(addr), "inproc://col-smon-%p", (void *)o);
        o->sack = cmn_zmq_open(o->ctx, ZMQ_SUB, cfg->splitter_ack, false, 0, 100);
        if (!o->sack || zmq_setsockopt(o->sack, ZMQ_SUBSCRIBE, "", 0) != 0 ||
            !(o->smon = cmn_zmq_monitor(o->ctx, o->spl, addr, ZMQ_EVENT_HANDSHAKE_SUCCEEDED))) {
            CMN_LOG(ERR, "splitter_ack %s: %s", cfg->splitter_ack, zmq_strerror(zmq_errno()));
            goto err;
        }
        char kn[64];
        snprintf(kn, sizeof(kn), "collector-%u-%d.keep", cfg->id, (int)getpid());
        o->kept = cmn_keepq_new(
            cfg->keep_dir, kn, cfg->keep_bytes ? cfg->keep_bytes : COL_OUT_KEEP_DEFAULT,
            cfg->keep_disk_bytes ? cfg->keep_disk_bytes : COL_OUT_KEEP_DISK_DEFAULT, false);
        if (!o->kept)
            goto err;
    }
    uint64_t resume_seq = cfg->state && cfg->resumed ? o->seq + 1 : 0;
    if (resume_seq)
        CMN_LOG(NOTICE, "resuming after batch %" PRIu64 " (%" PRIu64 " records sent before)",
                o->seq, o->records);
    if (cmn_wire_send_hello_resume(o->spl, RENKEI__NODE_KIND__NODE_COLLECTOR, cfg->id, o->cfg.name,
                                   0, resume_seq) != 0) {
        CMN_LOG(ERR, "Hello to %s failed", cfg->splitter);
        goto err;
    }
    return o;
err:
    col_out_destroy(&o);
    return NULL;
}

int col_out_start(struct col_out *o)
{
    s_publish(o, false); /* the counters' names show from the start */
    int rc = pthread_create(&o->thread, NULL, s_thread, o);
    if (rc != 0) {
        CMN_LOG(ERR, "sender thread: %s", strerror(rc));
        return -rc;
    }
    pthread_setname_np(o->thread, "col-send");
    o->running = true;
    return 0;
}

int col_out_finish(struct col_out *o, uint64_t frames, bool eos)
{
    __atomic_store_n(&o->done, 1, __ATOMIC_RELEASE);
    if (o->running) {
        pthread_join(o->thread, NULL);
        o->running = false;
    }
    s_dns_flush(o); /* RX is done: the last names, before EndOfStream */
    s_stats(o, true);
    if (o->cfg.print) {
        fflush(o->out);
    } else if (eos) {
        int rc = s_eos(o);
        if (rc != 0) {
            CMN_LOG(ERR, "EndOfStream to %s not sent: %s", o->cfg.splitter, strerror(-rc));
            o->failed = true;
        }
    }
    /* splitter_ack: a splitter that dies before its run ends needs all of
     * it again; stay until it says the run ended */
    uint64_t until = cmn_mono_ns() + COL_OUT_FINAL_WAIT_S * 1000000000ull;
    while (eos && o->sack && !o->final_acked && !o->failed && !s_aborting(o)) {
        s_sack_poll(o);
        if (cmn_mono_ns() >= until) {
            CMN_LOG(WARN, "the splitter did not say its run ended within %d s; leaving",
                    COL_OUT_FINAL_WAIT_S);
            break;
        }
        usleep(20000);
    }
    if (o->cfg.state && !o->failed) {
        /* frames past the last batch (no record made) are consumed too; a
         * crash before this save resumes at the last batch and sends the
         * end of stream again */
        if (s_save_state(o, NULL, frames, o->seq, o->records, eos) != 0)
            o->failed = true;
        else if (!eos)
            CMN_LOG(NOTICE,
                    "stopped after frame %" PRIu64 " and batch %" PRIu64
                    " without end of stream: start again with state file %s to resume",
                    frames, o->seq, col_state_path(o->cfg.state));
    }
    CMN_LOG(INFO, "sent %" PRIu64 " batches, %" PRIu64 " records", o->batches, o->records);
    return o->failed ? -EIO : 0;
}

void col_out_destroy(struct col_out **op)
{
    if (!op || !*op)
        return;
    struct col_out *o = *op;
    if (o->running) {
        __atomic_store_n(&o->done, 1, __ATOMIC_RELEASE);
        pthread_join(o->thread, NULL);
    }
    if (o->spl && s_aborting(o)) {
        int zero = 0; /* aborted: do not wait for an absent splitter */
        zmq_setsockopt(o->spl, ZMQ_LINGER, &zero, sizeof(zero));
    }
    cmn_zmq_close(o->mrg);
    cmn_zmq_close(o->sack);
    cmn_keepq_destroy(&o->kept);
    cmn_zmq_close(o->spl); /* before its monitor's PAIR */
    cmn_zmq_close(o->smon);
    if (o->ctx)
        zmq_ctx_term(o->ctx);
    free(o);
    *op = NULL;
}
