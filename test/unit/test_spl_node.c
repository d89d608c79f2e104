/* SPDX-License-Identifier: MIT
 * test_spl_node: drives a splitter node over inproc ZeroMQ, playing the
 * collectors (PUSH into its listen endpoint), the trackers and the merger
 * (PULL sockets it connects to). Covers forwarding to both owners, sequence
 * gaps, epoch flushes by watermark, end of stream and the accounting counters.
 */
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "cmn_ip.h"
#include "cmn_wire.h"
#include "harness.h"
#include "spl_node.h"

#define NS 1000000000ull

/* One test's sockets and node. */
struct rig {
    void *ctx;             /* ZeroMQ context */
    void *trk[2];          /* tracker PULLs */
    void *mrg;             /* merger PULL */
    void *col;             /* collector PUSH */
    struct spl_node *node; /* the node under test */
};

static const char *const s_trackers[] = {"inproc://t0", "inproc://t1"};
static const char *const s_rules[] = {"10.0.0.0/8 0", "192.168.0.0/16 1"};
static uint64_t s_window_us; /* dedup_window_us of the next rig (0: off) */

static int s_rig_open(struct rig *r, uint32_t collectors, uint64_t epoch_s)
{
    memset(r, 0, sizeof(*r));
    r->ctx = zmq_ctx_new();
    for (int t = 0; t < 2; t++)
        r->trk[t] = cmn_zmq_open(r->ctx, ZMQ_PULL, s_trackers[t], true, 0, 1000);
    r->mrg = cmn_zmq_open(r->ctx, ZMQ_PULL, "inproc://m", true, 0, 1000);
    struct spl_config cfg = {
        .zmq_ctx = r->ctx,
        .listen = "inproc://spl",
        .trackers = s_trackers,
        .tracker_count = 2,
        .merger = "inproc://m",
        .ranges = s_rules,
        .range_count = 2,
        .collectors = collectors,
        .epoch_seconds = epoch_s,
        .batch_records = 64,
        .batch_delay_ms = 100000, /* out-batches leave only when full, flushed or at EOS */
        .stats_interval = 0,
        .dedup_window_us = s_window_us,
    };
    r->node = spl_node_new(&cfg);
    if (!r->node)
        return -1;
    r->col = cmn_zmq_open(r->ctx, ZMQ_PUSH, "inproc://spl", false, 0, 1000);
    return r->trk[0] && r->trk[1] && r->mrg && r->col ? 0 : -1;
}

static void s_rig_close(struct rig *r)
{
    spl_node_destroy(&r->node);
    zmq_close(r->col);
    zmq_close(r->trk[0]);
    zmq_close(r->trk[1]);
    zmq_close(r->mrg);
    zmq_ctx_term(r->ctx);
}

/* Let the node handle everything queued (inproc delivery is immediate). */
static void s_pump(struct rig *r)
{
    for (int i = 0; i < 8; i++)
        spl_node_poll(r->node, 1);
}

/* Receive everything waiting on `sock` into envs (max n). Returns the count. */
static size_t s_drain(void *sock, Renkei__Envelope **envs, size_t n)
{
    size_t k = 0;
    int err;
    while (k < n) {
        Renkei__Envelope *e = cmn_wire_recv(sock, ZMQ_DONTWAIT, &err);
        if (!e)
            break;
        if (e->body_case == RENKEI__ENVELOPE__BODY_HEARTBEAT) { /* timing, not content */
            cmn_wire_free(&e);
            continue;
        }
        envs[k++] = e;
    }
    return k;
}

static void s_free_all(Renkei__Envelope **envs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cmn_wire_free(&envs[i]);
}

static void s_rec(struct cmn_record *r, const char *src, const char *dst, uint64_t ts)
{
    memset(r, 0, sizeof(*r));
    cmn_ip_parse(src, r->src);
    cmn_ip_parse(dst, r->dst);
    r->ts_ns = ts;
    r->proto = 17;
}

static void s_eos(void *sock, uint32_t id, uint64_t batches, uint64_t records, bool with_stats)
{
    Renkei__Counter c = RENKEI__COUNTER__INIT;
    Renkei__Counter *cp = &c;
    c.name = (char *)(uintptr_t) "packets";
    c.value = records;
    Renkei__Stats st = RENKEI__STATS__INIT;
    st.n_counters = 1;
    st.counters = &cp;
    Renkei__EndOfStream e = RENKEI__END_OF_STREAM__INIT;
    e.kind = RENKEI__NODE_KIND__NODE_COLLECTOR;
    e.node_id = id;
    e.batches_sent = batches;
    e.records_sent = records;
    e.final_stats = with_stats ? &st : NULL;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_EOS;
    env.eos = &e;
    cmn_wire_send(sock, &env, 0);
}

TEST(both_owners_and_eos)
{
    struct rig r;
    FAIL_IF(s_rig_open(&r, 1, 60) != 0);
    cmn_wire_send_hello(r.col, RENKEI__NODE_KIND__NODE_COLLECTOR, 5, "a.pcap", 0);
    struct cmn_record rec[3];
    s_rec(&rec[0], "10.0.0.1", "10.0.0.2", 1 * NS);
    s_rec(&rec[1], "10.0.0.1", "192.168.1.1", 2 * NS);
    s_rec(&rec[2], "192.168.1.1", "192.168.1.2", 3 * NS);
    cmn_wire_send_batch(r.col, 5, 1, rec, 3, 0);
    s_pump(&r);
    FAIL_IF(spl_node_done(r.node));
    s_eos(r.col, 5, 1, 3, true);
    s_pump(&r);
    FAIL_IF_NOT(spl_node_done(r.node));
    FAIL_IF_NOT(spl_node_poll(r.node, 0) == 1);

    for (int t = 0; t < 2; t++) {
        Renkei__Envelope *e[8];
        size_t n = s_drain(r.trk[t], e, 8);
        FAIL_IF_NOT(n == 3);
        FAIL_IF_NOT(e[0]->body_case == RENKEI__ENVELOPE__BODY_SHARD_MAP);
        FAIL_IF_NOT(e[0]->shard_map->tracker_index == (uint32_t)t);
        FAIL_IF_NOT(e[0]->shard_map->tracker_count == 2);
        FAIL_IF_NOT(e[0]->shard_map->ranges.len % 40 == 0 && e[0]->shard_map->ranges.len > 0);
        FAIL_IF_NOT(e[1]->body_case == RENKEI__ENVELOPE__BODY_BATCH);
        FAIL_IF_NOT(e[1]->batch->seq == 1 && e[1]->batch->collector_id == SPL_MERGED_ID);
        const struct cmn_record *got;
        FAIL_IF_NOT(cmn_wire_batch_records(e[1]->batch, &got) == 2);
        FAIL_IF_NOT(e[2]->body_case == RENKEI__ENVELOPE__BODY_EOS);
        FAIL_IF_NOT(e[2]->eos->kind == RENKEI__NODE_KIND__NODE_SPLITTER);
        FAIL_IF_NOT(e[2]->eos->batches_sent == 1 && e[2]->eos->records_sent == 2);
        s_free_all(e, n);
    }
    Renkei__Envelope *m[8];
    size_t n = s_drain(r.mrg, m, 8);
    FAIL_IF_NOT(n == 4);
    FAIL_IF_NOT(m[0]->body_case == RENKEI__ENVELOPE__BODY_HELLO);
    FAIL_IF_NOT(m[0]->hello->kind == RENKEI__NODE_KIND__NODE_SPLITTER);
    FAIL_IF_NOT(m[0]->hello->tracker_count == 2);
    FAIL_IF_NOT(m[1]->body_case == RENKEI__ENVELOPE__BODY_STATS);
    FAIL_IF_NOT(m[1]->stats->kind == RENKEI__NODE_KIND__NODE_COLLECTOR);
    FAIL_IF_NOT(m[1]->stats->node_id == 5 && m[1]->stats->final);
    FAIL_IF_NOT(cmn_wire_stat(m[1]->stats, "packets", 0) == 3);
    FAIL_IF_NOT(m[2]->body_case == RENKEI__ENVELOPE__BODY_STATS);
    const Renkei__Stats *st = m[2]->stats;
    FAIL_IF_NOT(st->kind == RENKEI__NODE_KIND__NODE_SPLITTER && st->final);
    FAIL_IF_NOT(cmn_wire_stat(st, "records_received", 9) == 3);
    FAIL_IF_NOT(cmn_wire_stat(st, "records_forwarded", 9) == 3);
    FAIL_IF_NOT(cmn_wire_stat(st, "records_copies", 9) == 4);
    FAIL_IF_NOT(cmn_wire_stat(st, "batches_received", 9) == 1);
    FAIL_IF_NOT(cmn_wire_stat(st, "batches_lost", 9) == 0);
    FAIL_IF_NOT(cmn_wire_stat(st, "records_lost", 9) == 0);
    FAIL_IF_NOT(cmn_wire_stat(st, "malformed_messages", 9) == 0);
    FAIL_IF_NOT(cmn_wire_stat(st, "collector.5.records_received", 9) == 3);
    FAIL_IF_NOT(cmn_wire_stat(st, "collector.5.records_sent", 9) == 3);
    FAIL_IF_NOT(cmn_wire_stat(st, "collector.5.batches_received", 9) == 1);
    FAIL_IF_NOT(cmn_wire_stat(st, "collector.5.batches_lost", 9) == 0);
    FAIL_IF_NOT(cmn_wire_stat(st, "tracker.0.records_sent", 9) == 2);
    FAIL_IF_NOT(cmn_wire_stat(st, "tracker.1.records_sent", 9) == 2);
    FAIL_IF_NOT(cmn_wire_stat(st, "tracker.0.batches_sent", 9) == 1);
    FAIL_IF_NOT(m[3]->body_case == RENKEI__ENVELOPE__BODY_EOS);
    FAIL_IF_NOT(m[3]->eos->kind == RENKEI__NODE_KIND__NODE_SPLITTER);
    FAIL_IF_NOT(m[3]->eos->records_sent == 4);
    s_free_all(m, n);
    s_rig_close(&r);
    PASS;
}

TEST(seq_gap_and_loss)
{
    struct rig r;
    FAIL_IF(s_rig_open(&r, 1, 60) != 0);
    cmn_wire_send_hello(r.col, RENKEI__NODE_KIND__NODE_COLLECTOR, 2, "b.pcap", 0);
    struct cmn_record rec[2];
    s_rec(&rec[0], "10.0.0.1", "10.0.0.2", 1 * NS);
    s_rec(&rec[1], "10.0.0.3", "10.0.0.4", 2 * NS);
    cmn_wire_send_batch(r.col, 2, 1, rec, 2, 0);
    cmn_wire_send_batch(r.col, 2, 3, rec, 2, 0); /* seq 2 never arrives */
    s_pump(&r);
    FAIL_IF_NOT(spl_node_counter(r.node, "batches_lost") == 1);
    FAIL_IF_NOT(spl_node_counter(r.node, "collector.2.batches_lost") == 1);
    FAIL_IF_NOT(spl_node_counter(r.node, "records_lost") == 0); /* not known before EOS */
    /* The collector says it sent 4 batches / 8 records: seq 2 and 4 are lost. */
    s_eos(r.col, 2, 4, 8, false);
    s_pump(&r);
    FAIL_IF_NOT(spl_node_done(r.node));
    FAIL_IF_NOT(spl_node_counter(r.node, "collector.2.batches_lost") == 2);
    FAIL_IF_NOT(spl_node_counter(r.node, "batches_lost") == 2);
    FAIL_IF_NOT(spl_node_counter(r.node, "records_lost") == 4);
    FAIL_IF_NOT(spl_node_counter(r.node, "collector.2.records_sent") == 8);
    FAIL_IF_NOT(spl_node_counter(r.node, "collector.2.records_received") == 4);
    /* Forwarded records still add up on the tracker pipe. */
    Renkei__Envelope *e[8];
    size_t n = s_drain(r.trk[0], e, 8);
    FAIL_IF_NOT(n == 3); /* shard map, one batch of 4, EOS */
    FAIL_IF_NOT(e[1]->batch->record_count == 4 && e[1]->batch->seq == 1);
    FAIL_IF_NOT(e[2]->eos->records_sent == 4);
    s_free_all(e, n);
    /* Without final_stats in the EOS, the splitter makes one from the totals. */
    Renkei__Envelope *m[8];
    n = s_drain(r.mrg, m, 8);
    FAIL_IF_NOT(n == 4);
    FAIL_IF_NOT(m[1]->stats->kind == RENKEI__NODE_KIND__NODE_COLLECTOR);
    FAIL_IF_NOT(cmn_wire_stat(m[1]->stats, "records_sent", 0) == 8);
    s_free_all(m, n);
    s_rig_close(&r);
    PASS;
}

/* Kinds of the messages on a tracker pipe, as a string: S shard map, B batch,
 * F<e> flush of epoch e, E end of stream. */
static void s_sequence(void *sock, char *out, size_t len)
{
    Renkei__Envelope *e[64];
    size_t n = s_drain(sock, e, 64), k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && k + 4 < len; i++) {
        switch (e[i]->body_case) {
            case RENKEI__ENVELOPE__BODY_SHARD_MAP:
                out[k++] = 'S';
                break;
            case RENKEI__ENVELOPE__BODY_BATCH:
                out[k++] = 'B';
                break;
            case RENKEI__ENVELOPE__BODY_FLUSH:
                out[k++] = 'F';
                out[k++] = (char)('0' + e[i]->flush->epoch % 10);
                break;
            case RENKEI__ENVELOPE__BODY_EOS:
                out[k++] = 'E';
                break;
            default:
                out[k++] = '?';
        }
    }
    out[k] = '\0';
    s_free_all(e, n);
}

TEST(watermark_epochs)
{
    struct rig r;
    FAIL_IF(s_rig_open(&r, 2, 1) != 0);
    struct cmn_record rec[3];
    char seq[64];
    cmn_wire_send_hello(r.col, RENKEI__NODE_KIND__NODE_COLLECTOR, 1, "a", 0);
    s_rec(&rec[0], "10.0.0.1", "10.0.0.2", NS / 2);
    s_rec(&rec[1], "10.0.0.1", "10.0.0.2", NS + NS / 2);
    s_rec(&rec[2], "10.0.0.1", "10.0.0.2", 2 * NS + NS / 2);
    cmn_wire_send_batch(r.col, 1, 1, rec, 3, 0);
    s_pump(&r);
    /* The second expected collector has not spoken: no epoch may close. */
    s_sequence(r.trk[0], seq, sizeof(seq));
    FAIL_IF_NOT(strcmp(seq, "S") == 0);
    FAIL_IF_NOT(spl_node_counter(r.node, "epochs_flushed") == 0);

    cmn_wire_send_hello(r.col, RENKEI__NODE_KIND__NODE_COLLECTOR, 2, "b", 0);
    s_pump(&r);
    s_sequence(r.trk[0], seq, sizeof(seq));
    FAIL_IF_NOT(strcmp(seq, "") == 0); /* collector 2 has no records yet */

    s_rec(&rec[0], "10.0.0.7", "10.0.0.8", NS + NS / 5); /* 1.2 s: watermark 1.2 s */
    cmn_wire_send_batch(r.col, 2, 1, rec, 1, 0);
    s_pump(&r);
    s_sequence(r.trk[0], seq, sizeof(seq));
    /* collector 1's record of epoch 0 (held ones wait for the watermark), then epoch 0 */
    FAIL_IF_NOT(strcmp(seq, "BF0") == 0);
    s_sequence(r.trk[1], seq, sizeof(seq));
    FAIL_IF_NOT(strcmp(seq, "SF0") == 0); /* every tracker gets every flush */

    /* A straggler of epoch 0, then collector 2 at 3.1 s: watermark 2.5 s. */
    s_rec(&rec[0], "10.0.0.7", "10.0.0.8", NS / 3);
    s_rec(&rec[1], "10.0.0.7", "10.0.0.8", 3 * NS + NS / 10);
    cmn_wire_send_batch(r.col, 2, 2, rec, 2, 0);
    s_pump(&r);
    FAIL_IF_NOT(spl_node_counter(r.node, "records_late") == 1);
    s_sequence(r.trk[0], seq, sizeof(seq));
    FAIL_IF_NOT(strcmp(seq, "BF1") == 0);

    /* Collector 1 ends: only collector 2 (3.1 s) counts, epoch 2 closes. */
    s_eos(r.col, 1, 1, 3, true);
    s_pump(&r);
    s_sequence(r.trk[0], seq, sizeof(seq));
    FAIL_IF_NOT(strcmp(seq, "BF2") == 0); /* collector 1's 2.5 s record was held until now */

    /* Epochs 4..8 have no traffic and are skipped; 9 stays open (EOS is the final flush). */
    s_rec(&rec[0], "10.0.0.7", "10.0.0.8", 9 * NS + 1);
    cmn_wire_send_batch(r.col, 2, 3, rec, 1, 0);
    s_pump(&r);
    s_sequence(r.trk[0], seq, sizeof(seq));
    FAIL_IF_NOT(strcmp(seq, "BF3") == 0);
    s_eos(r.col, 2, 3, 4, true);
    s_pump(&r);
    FAIL_IF_NOT(spl_node_done(r.node));
    s_sequence(r.trk[0], seq, sizeof(seq));
    FAIL_IF_NOT(strcmp(seq, "BE") == 0); /* the 9 s record, released at the end */
    s_sequence(r.trk[1], seq, sizeof(seq));
    FAIL_IF_NOT(strcmp(seq, "F1F2F3E") == 0);
    FAIL_IF_NOT(spl_node_counter(r.node, "epochs_flushed") == 4);
    FAIL_IF_NOT(spl_node_counter(r.node, "records_lost") == 0);
    FAIL_IF_NOT(spl_node_counter(r.node, "records_received") == 7);
    s_rig_close(&r);
    PASS;
}

/* A live collector on an idle port sends no records, only Heartbeats with
 * records_from_ns: the watermark follows its promise, so the busy
 * collector's epochs close; a record older than the promise is late. */
TEST(idle_collector_promise)
{
    struct rig r;
    FAIL_IF(s_rig_open(&r, 2, 1) != 0);
    struct cmn_record rec[3];
    char seq[64];
    cmn_wire_send_hello(r.col, RENKEI__NODE_KIND__NODE_COLLECTOR, 1, "busy", 0);
    cmn_wire_send_hello(r.col, RENKEI__NODE_KIND__NODE_COLLECTOR, 2, "idle", 0);
    s_rec(&rec[0], "10.0.0.1", "10.0.0.2", NS / 2);
    s_rec(&rec[1], "10.0.0.1", "10.0.0.2", NS + NS / 2);
    s_rec(&rec[2], "10.0.0.1", "10.0.0.2", 2 * NS + NS / 2);
    cmn_wire_send_batch(r.col, 1, 1, rec, 3, 0);
    /* a heartbeat without a promise (a capture file) holds as before */
    cmn_wire_send_heartbeat(r.col, RENKEI__NODE_KIND__NODE_COLLECTOR, 2);
    s_pump(&r);
    s_sequence(r.trk[0], seq, sizeof(seq));
    FAIL_IF_NOT(strcmp(seq, "S") == 0);
    FAIL_IF_NOT(spl_node_counter(r.node, "epochs_flushed") == 0);
    /* the idle one promises nothing before 2.1 s: epochs 0 and 1 close */
    cmn_wire_send_heartbeat_from(r.col, RENKEI__NODE_KIND__NODE_COLLECTOR, 2, 2 * NS + NS / 10);
    s_pump(&r);
    s_sequence(r.trk[0], seq, sizeof(seq));
    FAIL_IF_NOT(strcmp(seq, "BF0BF1") == 0); /* each epoch's records, then its flush */
    FAIL_IF_NOT(spl_node_counter(r.node, "epochs_flushed") == 2);
    /* an older promise is no news */
    cmn_wire_send_heartbeat_from(r.col, RENKEI__NODE_KIND__NODE_COLLECTOR, 2, NS);
    s_pump(&r);
    s_sequence(r.trk[0], seq, sizeof(seq));
    FAIL_IF_NOT(strcmp(seq, "") == 0);
    /* a record the idle port stamped before its promise arrives late, counted */
    s_rec(&rec[0], "10.0.0.7", "10.0.0.8", NS + NS / 3);
    cmn_wire_send_batch(r.col, 2, 1, rec, 1, 0);
    s_pump(&r);
    FAIL_IF_NOT(spl_node_counter(r.node, "records_late") == 1);
    s_eos(r.col, 1, 1, 3, true);
    s_eos(r.col, 2, 1, 1, true);
    s_pump(&r);
    FAIL_IF_NOT(spl_node_done(r.node));
    FAIL_IF_NOT(spl_node_counter(r.node, "records_lost") == 0);
    FAIL_IF_NOT(spl_node_counter(r.node, "records_received") == 4);
    s_rig_close(&r);
    PASS;
}

TEST(malformed_counted)
{
    struct rig r;
    FAIL_IF(s_rig_open(&r, 1, 60) != 0);
    zmq_send(r.col, "\xff\xff\xff garbage", 11, 0);
    /* A batch whose byte length does not match its record count. */
    uint8_t junk[100] = {0};
    Renkei__RecordBatch b = RENKEI__RECORD_BATCH__INIT;
    b.collector_id = 1;
    b.seq = 1;
    b.record_count = 2;
    b.record_size = 64;
    b.layout = 1;
    b.records.data = junk;
    b.records.len = sizeof(junk);
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_BATCH;
    env.batch = &b;
    cmn_wire_send(r.col, &env, 0);
    /* Valid, but not for a splitter. */
    Renkei__EpochFlush f = RENKEI__EPOCH_FLUSH__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_FLUSH;
    env.flush = &f;
    cmn_wire_send(r.col, &env, 0);
    cmn_wire_send_hello(r.col, RENKEI__NODE_KIND__NODE_TRACKER, 0, "x", 0);
    s_pump(&r);
    FAIL_IF_NOT(spl_node_counter(r.node, "malformed_messages") == 2);
    FAIL_IF_NOT(spl_node_counter(r.node, "unexpected_messages") == 2);
    FAIL_IF_NOT(spl_node_counter(r.node, "records_received") == 0);
    FAIL_IF(spl_node_done(r.node));
    /* Still working: a real collector completes the run. */
    cmn_wire_send_hello(r.col, RENKEI__NODE_KIND__NODE_COLLECTOR, 1, "a", 0);
    s_eos(r.col, 1, 0, 0, true);
    s_eos(r.col, 1, 0, 0, true); /* duplicate: ignored, counted */
    s_pump(&r);
    FAIL_IF_NOT(spl_node_done(r.node));
    s_rig_close(&r);
    PASS;
}

TEST(daemon_mode_and_stop)
{
    struct rig r;
    FAIL_IF(s_rig_open(&r, 0, 60) != 0);
    cmn_wire_send_hello(r.col, RENKEI__NODE_KIND__NODE_COLLECTOR, 3, "live", 0);
    struct cmn_record rec[1];
    s_rec(&rec[0], "192.168.0.1", "192.168.0.2", 30 * NS);
    cmn_wire_send_batch(r.col, 3, 1, rec, 1, 0);
    s_eos(r.col, 3, 1, 1, true);
    s_pump(&r);
    /* collectors = 0: runs on; with no live collector, open epochs close. */
    FAIL_IF(spl_node_done(r.node));
    FAIL_IF_NOT(spl_node_counter(r.node, "epochs_flushed") == 1);
    char seq[64];
    s_sequence(r.trk[1], seq, sizeof(seq));
    FAIL_IF_NOT(strcmp(seq, "SBF0") == 0);
    /* The same collector comes back: live again, its counters accumulate. */
    cmn_wire_send_hello(r.col, RENKEI__NODE_KIND__NODE_COLLECTOR, 3, "live", 0);
    s_rec(&rec[0], "192.168.0.1", "192.168.0.2", 90 * NS);
    cmn_wire_send_batch(r.col, 3, 1, rec, 1, 0);
    s_pump(&r);
    FAIL_IF_NOT(spl_node_counter(r.node, "collector.3.records_received") == 2);
    FAIL_IF_NOT(spl_node_counter(r.node, "batches_lost") == 0);
    FAIL_IF_NOT(spl_node_counter(r.node, "collectors_ended") == 0);
    volatile sig_atomic_t stop = 1;
    FAIL_IF_NOT(spl_node_run(r.node, &stop) == 0);
    FAIL_IF_NOT(spl_node_done(r.node));
    spl_node_finish(r.node); /* idempotent */
    s_sequence(r.trk[1], seq, sizeof(seq));
    FAIL_IF_NOT(strcmp(seq, "BE") == 0);
    s_rig_close(&r);
    PASS;
}

/* Two redundant collectors: B's copies (TTL-1, other VLAN, +4 us) arrive
 * first; A's copies are the ones forwarded, B's are counted per pair. */
TEST(redundant_collectors)
{
    struct rig r;
    s_window_us = 500;
    FAIL_IF(s_rig_open(&r, 2, 60) != 0);
    s_window_us = 0;
    struct cmn_record a[3], b[3];
    for (int i = 0; i < 3; i++) {
        s_rec(&a[i], "10.0.0.1", "192.168.0.9", NS + (uint64_t)i * 1000000);
        a[i].sig = 100u + (uint32_t)i;
        a[i].ip_len = 80;
        a[i].ttl = 64;
        b[i] = a[i];
        b[i].ts_ns += 4000;
        b[i].ttl = 63;
        b[i].vlan = 7;
    }
    b[2].sig = 999; /* a packet only switch B saw */
    cmn_wire_send_hello(r.col, RENKEI__NODE_KIND__NODE_COLLECTOR, 9, "b", 0);
    cmn_wire_send_batch(r.col, 9, 1, b, 3, 0);
    s_pump(&r);
    FAIL_IF_NOT(spl_node_counter(r.node, "dedup_held") == 3); /* collector 4 not heard yet */
    cmn_wire_send_hello(r.col, RENKEI__NODE_KIND__NODE_COLLECTOR, 4, "a", 0);
    cmn_wire_send_batch(r.col, 4, 1, a, 3, 0);
    s_eos(r.col, 9, 1, 3, true);
    s_eos(r.col, 4, 1, 3, true);
    s_pump(&r);
    FAIL_IF_NOT(spl_node_done(r.node));
    FAIL_IF_NOT(spl_node_counter(r.node, "records_received") == 6);
    FAIL_IF_NOT(spl_node_counter(r.node, "records_forwarded") == 4);
    FAIL_IF_NOT(spl_node_counter(r.node, "duplicates_removed") == 2);
    FAIL_IF_NOT(spl_node_counter(r.node, "dup.4.9") == 2);
    FAIL_IF_NOT(spl_node_counter(r.node, "dedup_window_us") == 500);
    FAIL_IF_NOT(spl_node_counter(r.node, "dedup_held") == 0);
    FAIL_IF_NOT(spl_node_counter(r.node, "records_lost") == 0);
    Renkei__Envelope *e[8];
    size_t n = s_drain(r.trk[0], e, 8);
    FAIL_IF_NOT(n == 3 && e[1]->body_case == RENKEI__ENVELOPE__BODY_BATCH);
    const struct cmn_record *got;
    FAIL_IF_NOT(cmn_wire_batch_records(e[1]->batch, &got) == 4);
    struct cmn_record g[4];
    memcpy(g, got, sizeof(g));
    /* time order; the kept copies are A's (the earliest), B's own packet last */
    FAIL_IF_NOT(g[0].ttl == 64 && g[1].ttl == 64 && g[2].ttl == 64 && g[3].sig == 999);
    FAIL_IF_NOT(g[0].ts_ns < g[1].ts_ns && g[1].ts_ns < g[2].ts_ns && g[2].ts_ns < g[3].ts_ns);
    s_free_all(e, n);
    s_rig_close(&r);
    PASS;
}

TEST(bad_rules)
{
    void *ctx = zmq_ctx_new();
    static const char *const bad[] = {"10.0.0.0/8 7"};
    struct spl_config cfg = {
        .zmq_ctx = ctx,
        .listen = "inproc://x",
        .trackers = s_trackers,
        .tracker_count = 2,
        .merger = "inproc://m",
        .ranges = bad,
        .range_count = 1,
        .epoch_seconds = 60,
        .batch_records = 64,
    };
    struct spl_node *node = spl_node_new(&cfg);
    FAIL_IF(node != NULL);
    cfg.range_count = 0;
    cfg.epoch_seconds = 0;
    FAIL_IF(spl_node_new(&cfg) != NULL);
    spl_node_destroy(&node);
    zmq_ctx_term(ctx);
    PASS;
}

TEST_MAIN(TEST_ENTRY(both_owners_and_eos) TEST_ENTRY(seq_gap_and_loss) TEST_ENTRY(watermark_epochs)
              TEST_ENTRY(idle_collector_promise) TEST_ENTRY(malformed_counted)
                  TEST_ENTRY(daemon_mode_and_stop) TEST_ENTRY(redundant_collectors)
                      TEST_ENTRY(bad_rules))
