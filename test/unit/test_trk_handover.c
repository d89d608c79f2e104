/* SPDX-License-Identifier: MIT
 * test_trk_handover: live scale-out at the tracker level. Two trackers run
 * two epochs and the first half of a third under map v (10.0.0.0/24 split
 * in two), then, as at the splitter's checkpoint cut (after an EpochFlush,
 * with records of the next epoch out already), the ranges move to map v+1 (the /24 split in three:
 * tracker 2 is new, both old trackers give it part of their ranges and tracker 0 gives tracker 1
 * some): each old tracker exports what each other tracker now needs (trk_node_handover_export), the
 * owners import it, the old ones drop what they no longer own, and everything goes on under v+1.
 * The results of every epoch, merged as the merger merges them (a shared session once; endpoints
 * and events from their owner), equal those of three trackers that ran under v+1 from the start.
 * The traffic crosses the boundary in every table: TCP sessions that go on, new UDP sessions per
 * half (endpoint sets), IPv6 rows, a SYN scan and a SYN flood whose probes
 * straddle it, a probe that later talks (taken back after the move), a
 * fragmented datagram split across it.
 * Also: a buffer that is not a handover, or one imported twice, is refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>

#include "cmn_shard.h"
#include "cmn_wire.h"
#include "harness.h"
#include "trk_node.h"
#include "trk_testutil.h"

#define EPOCH   (10 * SEC)
#define NREC    4096
#define EPOCHS  4 /* 0, 1 under v (in the moving run), 2, 3 after the move; 3 ends unflushed */
#define MOVE_AT 2 /* first epoch under v+1 */
#define MAXT    3

static const char *const V_RULES[] = {"10.0.0.0-10.0.0.127 0", "10.0.0.128-10.0.0.255 1"};
static const char *const W_RULES[] = {"10.0.0.0-10.0.0.84 0", "10.0.0.85-10.0.0.169 1",
                                      "10.0.0.170-10.0.0.255 2"};

static struct cmn_shard_map *s_rules(uint32_t trackers, const char *const *rules, size_t n)
{
    char err[256];
    struct cmn_shard_map *m = cmn_shard_map_new_rules(trackers, rules, n, err, sizeof(err));
    if (!m)
        fprintf(stderr, "map: %s\n", err);
    return m;
}

/* Feed one packed message to the node, then free it. */
static void s_feed(struct trk_node *n, struct tu_msg m)
{
    trk_node_handle(n, m.data, m.len);
    free(m.data);
}

static void s_map(struct trk_node *n, const struct cmn_shard_map *map, uint32_t idx, uint64_t ver)
{
    s_feed(n, tu_map(map, idx, ver, 0x9e3779b97f4a7c15ull)); /* the splitter's, one per cluster */
}

static struct cmn_record s_syn(uint64_t ts, uint8_t s, uint16_t sport, uint8_t d, uint16_t dport)
{
    return tu_rec(ts, s, sport, d, dport, 6, CMN_TCP_SYN, 44);
}

/* Traffic of half `h` (0..2*EPOCHS-1) of the stream. */
static size_t s_traffic(struct cmn_record *r, int h)
{
    static const uint8_t servers[4] = {50, 100, 150, 200};
    size_t n = 0;
    uint64_t t0 = (uint64_t)h * (EPOCH / 2);
    /* 60 TCP sessions to four servers, from clients over the whole /24, all along */
    for (int i = 0; i < 60; i++) {
        uint8_t c = (uint8_t)(10 + i * 4), s = servers[i % 4];
        uint16_t cport = (uint16_t)(40000 + i);
        struct cmn_record a = tu_rec(t0 + (uint64_t)i * 1000, c, cport, s, 443, 6,
                                     h == 0 ? CMN_TCP_SYN : CMN_TCP_ACK, 100 + (uint32_t)i);
        struct cmn_record b = a;
        memcpy(b.src, a.dst, 16);
        memcpy(b.dst, a.src, 16);
        b.sport = 443;
        b.dport = cport;
        b.tcp_flags = h == 0 ? CMN_TCP_SYN | CMN_TCP_ACK : CMN_TCP_ACK;
        b.ts_ns += 10;
        r[n++] = a;
        r[n++] = b;
    }
    /* new DNS queries every half to 10.0.0.100 and 10.0.0.180 (distinct peers and ports) */
    for (int i = 0; i < 40; i++) {
        uint8_t c = (uint8_t)(5 + (i * 7 + h * 3) % 250), s = i % 2 ? 100 : 180;
        uint16_t sp = (uint16_t)(20000 + 100 * h + i);
        struct cmn_record a = tu_rec(t0 + 100000 + (uint64_t)i * 10, c, sp, s, 53, 17, 0, 70);
        struct cmn_record b = a;
        memcpy(b.src, a.dst, 16);
        memcpy(b.dst, a.src, 16);
        b.sport = 53;
        b.dport = sp;
        b.ts_ns += 3;
        r[n++] = a;
        r[n++] = b;
    }
    /* IPv6 UDP (wide rows) 2001:db8::1 -> 2001:db8::2:53, new ones each half */
    for (int i = 0; i < 20; i++) {
        struct cmn_record a = tu_rec(t0 + 200000 + (uint64_t)i, 1, 0, 2, 53, 17, 0, 80);
        tu_ip6_db8(a.src, 1);
        tu_ip6_db8(a.dst, 2);
        a.sport = (uint16_t)(50000 + i + 100 * h);
        struct cmn_record b = tu_answer(&a);
        b.ts_ns += 5;
        r[n++] = a;
        r[n++] = b;
    }
    /* a SYN scan of 10.0.0.200 (moves from tracker 1 to 2) by 10.0.0.66: 6 ports a half */
    for (int i = 0; i < 6; i++)
        r[n++] = s_syn(t0 + 300000 + (uint64_t)i, 66, 33333, 200, (uint16_t)(1000 + 6 * h + i));
    /* a SYN flood of 10.0.0.120:80 (moves from tracker 0 to 1) in halves 2..5: 12
     * sources a half, 2 SYNs each */
    if (h >= 2 && h <= 5)
        for (int i = 0; i < 12; i++) {
            uint8_t src = (uint8_t)(130 + 12 * (h - 2) + i);
            for (int k = 0; k < 2; k++)
                r[n++] =
                    s_syn(t0 + 310000 + (uint64_t)(i * 2 + k), src, (uint16_t)(7000 + i), 120, 80);
        }
    /* a probe of 10.0.0.90:8080 by 10.0.0.77 (moves from 0 to 1) just before the
     * boundary, which then talks: taken back after the move (and one of the scan, below) */
    if (h == 3)
        r[n++] = s_syn(t0 + 320000, 77, 34567, 90, 8080);
    if (h == 4) {
        struct cmn_record a = tu_rec(t0 + 320000, 77, 34567, 90, 8080, 6, CMN_TCP_ACK, 400);
        r[n++] = a;
        a.ts_ns += 1;
        r[n++] = a;
        /* and one port of the scan (probed in half 3) talks: the reported scan row
         * loses that port */
        a = tu_rec(t0 + 330000, 66, 33333, 200, 1000 + 6 * 3, 6, CMN_TCP_ACK, 400);
        r[n++] = a;
        a.ts_ns += 1;
        r[n++] = a;
    }
    /* a fragmented UDP datagram 10.0.0.7 -> 10.0.0.180: first fragment just before
     * the boundary, the rest after it */
    if (h == 3) {
        struct cmn_record f = tu_rec(t0 + 400000, 7, 5353, 180, 9999, 17, 0, 1500);
        f.flags = CMN_REC_FRAG_FIRST;
        f.ip_id = 4242;
        r[n++] = f;
    }
    if (h == 4) {
        struct cmn_record f = tu_rec(t0 + 400000, 7, 0, 180, 0, 17, 0, 1500);
        f.flags = CMN_REC_FRAG_LATER;
        f.ip_id = 4242;
        r[n++] = f;
    }
    return n;
}

/* What the trackers sent, merged per epoch (final as EPOCHS). */
struct merged {
    uint8_t *rows[EPOCHS + 1][3]; /* sessions, endpoints, events */
    size_t len[EPOCHS + 1][3];
    uint64_t records_lost, batches_lost;
};

static void s_append(struct merged *m, int e, int k, const void *p, size_t bytes)
{
    if (!bytes)
        return;
    m->rows[e][k] = realloc(m->rows[e][k], m->len[e][k] + bytes);
    memcpy(m->rows[e][k] + m->len[e][k], p, bytes);
    m->len[e][k] += bytes;
}

static void s_drain(void *sock, struct merged *m)
{
    int err;
    Renkei__Envelope *env;
    while ((env = cmn_wire_recv(sock, ZMQ_DONTWAIT, &err))) {
        if (env->body_case == RENKEI__ENVELOPE__BODY_RESULT) {
            const Renkei__TrackerResult *r = env->result;
            int e = r->final ? EPOCHS : (int)(r->epoch < EPOCHS ? r->epoch : EPOCHS - 1);
            s_append(m, e, 0, r->sessions.data, r->sessions.len);
            s_append(m, e, 1, r->endpoints.data, r->endpoints.len);
            s_append(m, e, 2, r->events.data, r->events.len);
        } else if (env->body_case == RENKEI__ENVELOPE__BODY_STATS && env->stats->final) {
            m->records_lost += cmn_wire_stat(env->stats, "records_lost", 9);
            m->batches_lost += cmn_wire_stat(env->stats, "batches_lost", 9);
        }
        cmn_wire_free(&env);
    }
}

static int s_cmp(const void *a, const void *b, void *size)
{
    return memcmp(a, b, *(size_t *)size);
}

/* Sort every epoch's rows; sessions shared by two trackers once (as the merger). */
static void s_canon(struct merged *m)
{
    const size_t unit[3] = {sizeof(struct cmn_session_rec), sizeof(struct cmn_endpoint_rec),
                            sizeof(struct cmn_event_rec)};
    for (int e = 0; e <= EPOCHS; e++)
        for (int k = 0; k < 3; k++) {
            size_t u = unit[k], n = m->len[e][k] / u;
            if (!n)
                continue;
            qsort_r(m->rows[e][k], n, u, s_cmp, &u);
            if (k != 0)
                continue;
            size_t w = 1;
            for (size_t i = 1; i < n; i++)
                if (memcmp(m->rows[e][k] + (w - 1) * u, m->rows[e][k] + i * u, u) != 0)
                    memmove(m->rows[e][k] + w++ * u, m->rows[e][k] + i * u, u);
            m->len[e][k] = w * u;
        }
}

static void s_free(struct merged *m)
{
    for (int e = 0; e <= EPOCHS; e++)
        for (int k = 0; k < 3; k++)
            free(m->rows[e][k]);
}

static struct trk_node *s_node(void *ctx, uint32_t id)
{
    static int k;
    char in[32];
    snprintf(in, sizeof(in), "inproc://ho-in-%d", k++);
    struct trk_node_config cfg = {
        .id = id,
        .listen = in,
        .merger = "inproc://ho-out",
        .memcap_bytes = 256u << 20,
        .session_timeout_ns = 120 * SEC,
        .seed = 0x1234 + id, /* each its own table seed; one probe seed (the map's) */
        .result_max_bytes = 4096,
        .zmq_ctx = ctx,
    };
    return trk_node_new(&cfg);
}

/* Route the stream: halves [from, to) to the trackers of `map` (the
 * splitter's rule: to the owner of each end, once when both are one). */
static void s_route(struct trk_node **t, const struct cmn_shard_map *map, int from, int to,
                    uint64_t *seq, uint64_t *recs)
{
    static struct cmn_record in[NREC], out[MAXT][NREC];
    for (int h = from; h < to; h++) {
        size_t n = s_traffic(in, h), k[MAXT] = {0};
        for (size_t i = 0; i < n; i++) {
            uint32_t a = cmn_shard_lookup(map, in[i].src), b = cmn_shard_lookup(map, in[i].dst);
            out[a][k[a]++] = in[i];
            if (b != a)
                out[b][k[b]++] = in[i];
        }
        for (uint32_t x = 0; x < cmn_shard_trackers(map); x++)
            if (k[x]) {
                s_feed(t[x], tu_batch(++seq[x], out[x], k[x]));
                recs[x] += k[x];
            }
        if (h % 2 == 1 && h / 2 < EPOCHS - 1)
            for (uint32_t x = 0; x < cmn_shard_trackers(map); x++)
                s_feed(t[x], tu_flush((uint64_t)h / 2, EPOCH));
    }
}

/* Move from a map of `old` trackers to w: exports, imports, drops (a
 * tracker w leaves out exports everything). */
static int s_move(struct trk_node **t, uint32_t old, const struct cmn_shard_map *w, size_t *moved)
{
    *moved = 0;
    uint32_t now = cmn_shard_trackers(w);
    for (uint32_t from = 0; from < old; from++)
        for (uint32_t dest = 0; dest < now; dest++) {
            if (dest == from)
                continue;
            char *buf;
            size_t len;
            if (trk_node_handover_export(t[from], w, dest, &buf, &len) != 0)
                return -1;
            int rc = trk_node_handover_import(t[dest], buf, len);
            free(buf);
            if (rc != 0)
                return -1;
            *moved += len;
        }
    int freed = 0;
    for (uint32_t x = 0; x < old; x++) {
        int k = trk_node_handover_drop(t[x], w, x);
        if (k < 0)
            return -1;
        freed += k;
    }
    return freed > 0 ? 0 : -1; /* some sessions moved away */
}

/* The whole stream through the trackers of `map` from the start, into m. */
static int s_static(void *ctx, void *out, const struct cmn_shard_map *map, struct merged *m)
{
    struct trk_node *t[MAXT];
    uint64_t seq[MAXT] = {0}, recs[MAXT] = {0};
    uint32_t n = cmn_shard_trackers(map);
    for (uint32_t x = 0; x < n; x++) {
        if (!(t[x] = s_node(ctx, x)))
            return -1;
        s_map(t[x], map, x, 1);
    }
    s_route(t, map, 0, 2 * EPOCHS, seq, recs);
    for (uint32_t x = 0; x < n; x++) {
        s_feed(t[x], tu_eos(seq[x], recs[x]));
        s_drain(out, m);
        trk_node_destroy(&t[x]);
    }
    return 0;
}

/* Canonical forms of a and b differ (each difference printed). */
static int s_differ(struct merged *a, struct merged *b)
{
    s_canon(a);
    s_canon(b);
    static const char *const kind[3] = {"sessions", "endpoints", "events"};
    int bad = 0;
    for (int e = 0; e <= EPOCHS; e++)
        for (int k = 0; k < 3; k++)
            if (a->len[e][k] != b->len[e][k] ||
                (a->len[e][k] && memcmp(a->rows[e][k], b->rows[e][k], a->len[e][k]) != 0)) {
                fprintf(stderr, "epoch %d %s: %zu bytes static, %zu after the move\n", e, kind[k],
                        a->len[e][k], b->len[e][k]);
                bad = 1;
            }
    return bad;
}

TEST(handover_equals_static)
{
    void *ctx = zmq_ctx_new();
    void *out = cmn_zmq_open(ctx, ZMQ_PULL, "inproc://ho-out", true, 0, 100000);
    FAIL_IF_NOT(out);
    struct cmn_shard_map *v = s_rules(2, V_RULES, 2), *w = s_rules(3, W_RULES, 3);
    FAIL_IF_NOT(v && w);

    /* three trackers under w from the start */
    struct merged a = {0};
    FAIL_IF(s_static(ctx, out, w, &a) != 0);

    /* two under v, then tracker 2 joins and the ranges move at the boundary */
    struct merged b = {0};
    struct trk_node *t[MAXT];
    uint64_t seq[MAXT] = {0}, recs[MAXT] = {0};
    for (uint32_t x = 0; x < 2; x++) {
        FAIL_IF_NOT(t[x] = s_node(ctx, x));
        s_map(t[x], v, x, 1);
    }
    /* as at the splitter's checkpoint cut: the first half of epoch MOVE_AT
     * went out under v already (its deltas move with the sessions) */
    s_route(t, v, 0, 2 * MOVE_AT + 1, seq, recs);
    FAIL_IF_NOT(t[2] = s_node(ctx, 2));
    size_t moved;
    FAIL_IF(s_move(t, 2, w, &moved) != 0);
    FAIL_IF_NOT(moved > 0);
    for (uint32_t x = 0; x < MAXT; x++)
        s_map(t[x], w, x, 2);
    s_route(t, w, 2 * MOVE_AT + 1, 2 * EPOCHS, seq, recs);
    for (uint32_t x = 0; x < MAXT; x++) {
        s_feed(t[x], tu_eos(seq[x], recs[x]));
        s_drain(out, &b);
        trk_node_destroy(&t[x]);
    }

    FAIL_IF(s_differ(&a, &b));
    /* every table had something to compare */
    FAIL_IF_NOT(a.len[MOVE_AT][0] && a.len[MOVE_AT][1] && a.len[EPOCHS][0]);
    size_t events = 0;
    for (int e = MOVE_AT; e <= EPOCHS; e++)
        events += a.len[e][2] / sizeof(struct cmn_event_rec);
    FAIL_IF_NOT(events >= 2); /* the scan and the flood, reported after the move */
    FAIL_IF_NOT(a.records_lost == 0 && b.records_lost == 0 && b.batches_lost == 0);
    s_free(&a);
    s_free(&b);
    cmn_shard_map_destroy(&v);
    cmn_shard_map_destroy(&w);
    zmq_close(out);
    zmq_ctx_term(ctx);
    return 0;
}

/* Scale-in: three trackers under w, tracker 2 removed at the cut (map v);
 * it hands everything over, ends its stream, and the run equals two
 * trackers under v from the start. */
TEST(removal_equals_static)
{
    void *ctx = zmq_ctx_new();
    void *out = cmn_zmq_open(ctx, ZMQ_PULL, "inproc://ho-out", true, 0, 100000);
    FAIL_IF_NOT(out);
    struct cmn_shard_map *v = s_rules(2, V_RULES, 2), *w = s_rules(3, W_RULES, 3);
    FAIL_IF_NOT(v && w);
    struct merged a = {0}, b = {0};
    FAIL_IF(s_static(ctx, out, v, &a) != 0);
    struct trk_node *t[MAXT];
    uint64_t seq[MAXT] = {0}, recs[MAXT] = {0};
    for (uint32_t x = 0; x < MAXT; x++) {
        FAIL_IF_NOT(t[x] = s_node(ctx, x));
        s_map(t[x], w, x, 1);
    }
    s_route(t, w, 0, 2 * MOVE_AT + 1, seq, recs);
    size_t moved;
    FAIL_IF(s_move(t, 3, v, &moved) != 0);
    FAIL_IF_NOT(moved > 0);
    s_feed(t[2], tu_eos(seq[2], recs[2])); /* removed: its stream ends (nothing left to report) */
    s_drain(out, &b);
    trk_node_destroy(&t[2]);
    for (uint32_t x = 0; x < 2; x++)
        s_map(t[x], v, x, 2);
    s_route(t, v, 2 * MOVE_AT + 1, 2 * EPOCHS, seq, recs);
    for (uint32_t x = 0; x < 2; x++) {
        s_feed(t[x], tu_eos(seq[x], recs[x]));
        s_drain(out, &b);
        trk_node_destroy(&t[x]);
    }
    FAIL_IF(s_differ(&a, &b));
    FAIL_IF_NOT(a.len[MOVE_AT][0] && a.len[EPOCHS][0]);
    FAIL_IF_NOT(a.records_lost == 0 && b.records_lost == 0 && b.batches_lost == 0);
    s_free(&a);
    s_free(&b);
    cmn_shard_map_destroy(&v);
    cmn_shard_map_destroy(&w);
    zmq_close(out);
    zmq_ctx_term(ctx);
    return 0;
}

TEST(handover_refuses_garbage_and_twice)
{
    void *ctx = zmq_ctx_new();
    void *out = cmn_zmq_open(ctx, ZMQ_PULL, "inproc://ho-out", true, 0, 100000);
    struct cmn_shard_map *v = s_rules(2, V_RULES, 2), *w = s_rules(3, W_RULES, 3);
    struct trk_node *t[MAXT];
    uint64_t seq[MAXT] = {0}, recs[MAXT] = {0};
    for (uint32_t x = 0; x < 2; x++) {
        FAIL_IF_NOT(t[x] = s_node(ctx, x));
        s_map(t[x], v, x, 1);
    }
    s_route(t, v, 0, 2 * MOVE_AT, seq, recs);
    FAIL_IF_NOT(t[2] = s_node(ctx, 2));
    FAIL_IF(trk_node_handover_import(t[2], "not a handover at all", 21) == 0);
    FAIL_IF(trk_node_handover_import(t[2], "", 0) == 0);
    char *buf;
    size_t len;
    FAIL_IF(trk_node_handover_export(t[1], w, 2, &buf, &len) != 0);
    FAIL_IF(trk_node_handover_import(t[2], buf, len - 1) == 0); /* torn */
    buf[len / 2] ^= 1;
    FAIL_IF(trk_node_handover_import(t[2], buf, len) == 0); /* altered */
    buf[len / 2] ^= 1;
    FAIL_IF(trk_node_handover_import(t[2], buf, len) != 0);
    FAIL_IF(trk_node_handover_import(t[2], buf, len) == 0); /* its endpoints twice */
    free(buf);
    for (uint32_t x = 0; x < MAXT; x++)
        trk_node_destroy(&t[x]);
    struct merged m = {0};
    s_drain(out, &m);
    s_free(&m);
    cmn_shard_map_destroy(&v);
    cmn_shard_map_destroy(&w);
    zmq_close(out);
    zmq_ctx_term(ctx);
    return 0;
}

TEST_MAIN(TEST_ENTRY(handover_equals_static) TEST_ENTRY(removal_equals_static)
              TEST_ENTRY(handover_refuses_garbage_and_twice))
