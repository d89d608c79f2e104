/* SPDX-License-Identifier: MIT
 * test_cmn_ckpt: a tracker that dies after a checkpoint and a new one that
 * resumes from it report exactly what one tracker that never died reports.
 * The message sequence (as the splitter sends it: ShardMap, batches, epoch
 * flushes, end of stream) mixes what every table holds across the
 * checkpoint: IPv4 and IPv6 (wide) sessions that go on in the next epoch, a
 * SYN scan that crosses it (events), a fragmented datagram whose first
 * fragment comes before it and the rest after (fragment table), endpoint
 * evidence and the sets of distinct peers. The resumed tracker drops what
 * arrives before the splitter's Hello{restarted}, then takes the replay.
 * Also: a torn checkpoint is refused and the tracker starts empty, awaiting
 * the whole pipe; a checkpoint of another tracker id is refused.
 * The end of a run: a tracker killed after its end of stream, before the
 * merger's final Ack, keeps an ended checkpoint (its end spilled to disk);
 * started again it waits for the merger's Ack: the run still open, it sends
 * the same end again, then leaves at the final Ack, its files gone; the
 * merger in another run, it drops that end (counted) and leaves.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zmq.h>

#include "cmn_shard.h"
#include "cmn_wire.h"
#include "harness.h"
#include "trk_node.h"
#include "trk_testutil.h"

#define EPOCH (10 * SEC)
#define NREC  2048

/* One splitter -> tracker message, packed (trk_testutil.h). */

static struct tu_msg s_map(void)
{
    struct cmn_shard_map *map = cmn_shard_map_new_even(2);
    struct tu_msg m = tu_map(map, 0, 1, 0);
    cmn_shard_map_destroy(&map);
    return m;
}

static struct tu_msg s_batch(uint64_t seq, const struct cmn_record *r, size_t n)
{
    return tu_batch(seq, r, n);
}

static struct tu_msg s_flush(uint64_t epoch)
{
    return tu_flush(epoch, EPOCH);
}

static struct tu_msg s_eos(uint64_t batches, uint64_t records)
{
    return tu_eos(batches, records);
}

static struct tu_msg s_replay_hello(uint64_t from)
{
    Renkei__Hello h = RENKEI__HELLO__INIT;
    h.kind = RENKEI__NODE_KIND__NODE_SPLITTER;
    h.replay = true;
    h.restarted = true;
    h.resume_seq = from;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    return tu_pack(&env);
}

/* Traffic of epoch `e` (records at e * EPOCH + ...), batch `half` (0, 1) of it. */
static size_t s_traffic(struct cmn_record *r, uint64_t e, int half)
{
    size_t n = 0;
    uint64_t t0 = e * EPOCH + (uint64_t)half * (EPOCH / 2);
    /* 60 TCP sessions of 10.0.0.x to 10.0.0.200:443, each going on in every epoch */
    for (int i = 0; i < 60; i++) {
        uint16_t cport = (uint16_t)(40000 + i);
        struct cmn_record a =
            tu_rec(t0 + (uint64_t)i * 1000, (uint8_t)(1 + i % 30), cport, 200, 443, 6,
                   e == 0 && half == 0 ? CMN_TCP_SYN : CMN_TCP_ACK, 100 + (uint32_t)i);
        struct cmn_record b = a;
        memcpy(b.src, a.dst, 16);
        memcpy(b.dst, a.src, 16);
        b.sport = 443;
        b.dport = cport;
        b.tcp_flags = e == 0 && half == 0 ? CMN_TCP_SYN | CMN_TCP_ACK : CMN_TCP_ACK;
        b.ts_ns += 10;
        r[n++] = a;
        r[n++] = b;
    }
    /* IPv6 UDP sessions (wide rows) 2001:db8::1 -> 2001:db8::2:53, new ones each half */
    for (int i = 0; i < 20; i++) {
        struct cmn_record a =
            tu_rec(t0 + 200000 + (uint64_t)i, 1, (uint16_t)(50000 + i), 2, 53, 17, 0, 80);
        tu_ip6_db8(a.src, 1);
        tu_ip6_db8(a.dst, 2);
        a.sport = (uint16_t)(50000 + i + 100 * (int)(2 * e + (uint64_t)half));
        struct cmn_record b = tu_answer(&a);
        b.ts_ns += 5;
        r[n++] = a;
        r[n++] = b;
    }
    /* a SYN scan of 10.0.0.250 by 10.0.0.66: 10 ports per half (crosses epochs) */
    for (int i = 0; i < 10; i++) {
        uint16_t port = (uint16_t)(1000 + 10 * (2 * e + (uint64_t)half) + (uint64_t)i);
        r[n++] = tu_rec(t0 + 300000 + (uint64_t)i, 66, 33333, 250, port, 6, CMN_TCP_SYN, 44);
    }
    /* a fragmented UDP datagram: first fragment at the end of epoch 0, the rest in epoch 1 */
    if (e == 0 && half == 1) {
        struct cmn_record f = tu_rec(t0 + 400000, 7, 5353, 8, 9999, 17, 0, 1500);
        f.flags = CMN_REC_FRAG_FIRST;
        f.ip_id = 4242;
        r[n++] = f;
    }
    if (e == 1 && half == 0) {
        struct cmn_record f = tu_rec(t0 + 400000, 7, 0, 8, 0, 17, 0, 1500);
        f.flags = CMN_REC_FRAG_LATER;
        f.ip_id = 4242;
        r[n++] = f;
    }
    return n;
}

/* The splitter's whole pipe: map, 2 epochs of 2 batches each, flushes, a
 * third epoch's batch, end of stream. Returns the count; *records the total. */
static size_t s_pipe(struct tu_msg *out, uint64_t *records)
{
    static struct cmn_record r[NREC];
    size_t k = 0;
    uint64_t seq = 0, total = 0;
    out[k++] = s_map();
    for (uint64_t e = 0; e < 3; e++) {
        for (int h = 0; h < (e < 2 ? 2 : 1); h++) {
            size_t n = s_traffic(r, e, h);
            out[k++] = s_batch(++seq, r, n);
            total += n;
        }
        if (e < 2)
            out[k++] = s_flush(e);
    }
    out[k++] = s_eos(seq, total);
    *records = total;
    return k;
}

/* What reached the merger: result rows per epoch (final as epoch 99), sorted. */
struct seen {
    uint8_t *rows[100];
    size_t len[100];
    uint64_t records_received, records_lost, batches_lost, before_replay, duplicate;
    size_t results;
};

static int s_cmp64(const void *a, const void *b, void *size)
{
    return memcmp(a, b, *(size_t *)size);
}

static void s_append(struct seen *s, int e, const void *p, size_t bytes)
{
    if (!bytes)
        return;
    s->rows[e] = realloc(s->rows[e], s->len[e] + bytes);
    memcpy(s->rows[e] + s->len[e], p, bytes);
    s->len[e] += bytes;
}

static void s_drain(void *sock, struct seen *s)
{
    int err;
    Renkei__Envelope *env;
    while ((env = cmn_wire_recv(sock, ZMQ_DONTWAIT, &err))) {
        if (env->body_case == RENKEI__ENVELOPE__BODY_RESULT) {
            const Renkei__TrackerResult *r = env->result;
            int e = r->final ? 99 : (int)(r->epoch < 98 ? r->epoch : 98);
            s_append(s, e, r->sessions.data, r->sessions.len);
            s_append(s, e, r->endpoints.data, r->endpoints.len);
            s_append(s, e, r->events.data, r->events.len);
            s->results++;
        } else if (env->body_case == RENKEI__ENVELOPE__BODY_STATS && env->stats->final) {
            s->records_received = cmn_wire_stat(env->stats, "records_received", 0);
            s->records_lost = cmn_wire_stat(env->stats, "records_lost", 9);
            s->batches_lost = cmn_wire_stat(env->stats, "batches_lost", 9);
            s->before_replay = cmn_wire_stat(env->stats, "messages_before_replay", 9);
            s->duplicate = cmn_wire_stat(env->stats, "batches_duplicate", 9);
        }
        cmn_wire_free(&env);
    }
}

/* An epoch's bytes in a canonical order, whatever the chunking and the
 * order of rows: sorted as 8-byte words (a multiset of words; the row types
 * are multiples of 8 bytes). */
static void s_sort(struct seen *s)
{
    for (int e = 0; e < 100; e++) {
        size_t unit = 8;
        if (s->len[e])
            qsort_r(s->rows[e], s->len[e] / unit, unit, s_cmp64, &unit);
    }
}

static void s_free(struct seen *s)
{
    for (int e = 0; e < 100; e++)
        free(s->rows[e]);
}

static struct trk_node *s_node_ack(void *ctx, const char *dir, uint32_t id, const char *mack)
{
    /* each node its own inproc names: a closed socket's endpoint is freed
     * by ZeroMQ's reaper thread, later */
    static int k;
    char in[32], ack[32];
    snprintf(in, sizeof(in), "inproc://ck-in-%d", k);
    snprintf(ack, sizeof(ack), "inproc://ck-ack-%d", k++);
    struct trk_node_config cfg = {
        .id = id,
        .listen = in,
        .merger = "inproc://ck-out",
        .memcap_bytes = 256u << 20,
        .session_timeout_ns = 120 * SEC,
        .seed = 0, /* random: the checkpoint's seed must win */
        .result_max_bytes = 4096,
        .zmq_ctx = ctx,
        .state_dir = dir,
        .ack_listen = dir ? ack : NULL,
        .merger_ack = mack,
        .exit_on_eos = mack != NULL,
        .keep_bytes = 1, /* all of it through the spill file */
    };
    return trk_node_new(&cfg);
}

static struct trk_node *s_node(void *ctx, const char *dir, uint32_t id)
{
    return s_node_ack(ctx, dir, id, NULL);
}

static void s_feed(struct trk_node *n, const struct tu_msg *m, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        trk_node_handle(n, m[i].data, m[i].len);
}

TEST(ckpt_resume_equals_uninterrupted)
{
    char dir[] = "/tmp/renkei-ckpt-XXXXXX";
    FAIL_IF_NOT(mkdtemp(dir));
    void *ctx = zmq_ctx_new();
    void *out = cmn_zmq_open(ctx, ZMQ_PULL, "inproc://ck-out", true, 0, 100000);
    FAIL_IF_NOT(out);
    struct tu_msg m[32];
    uint64_t total;
    size_t nm = s_pipe(m, &total);
    const size_t flush1 = 3; /* m: map, batch 1, batch 2, flush 0, batch 3, ... */

    /* A: never dies */
    struct seen a = {0};
    struct trk_node *na = s_node(ctx, NULL, 0);
    FAIL_IF_NOT(na);
    s_feed(na, m, 0, nm);
    s_drain(out, &a);
    trk_node_destroy(&na);

    /* B dies right after the checkpoint of epoch 0 and part of epoch 1;
     * C resumes: what B sent after the checkpoint is void (the merger's
     * business), so only C's results of epoch 1 and after are compared */
    struct seen b = {0}, c = {0};
    struct trk_node *nb = s_node(ctx, dir, 0);
    FAIL_IF_NOT(nb);
    s_feed(nb, m, 0, flush1 + 2); /* up to flush 0, then batch 3 (after the checkpoint) */
    s_drain(out, &b);
    trk_node_destroy(&nb); /* no end of stream: the checkpoint stays */
    char path[128];
    snprintf(path, sizeof(path), "%s/tracker-0.ckpt", dir);
    FAIL_IF(access(path, F_OK) != 0);

    struct trk_node *nc = s_node(ctx, dir, 0);
    FAIL_IF_NOT(nc);
    s_feed(nc, m, flush1 + 1, flush1 + 3); /* live messages before the replay: dropped */
    struct tu_msg h = s_replay_hello(3);
    s_feed(nc, &h, 0, 1);
    s_feed(nc, m, flush1 + 1, nm); /* the replay: everything after flush 0 */
    free(h.data);
    s_drain(out, &c);
    trk_node_destroy(&nc);
    FAIL_IF(access(path, F_OK) == 0); /* removed at the end of stream */

    FAIL_IF_NOT(c.before_replay == 2 && c.duplicate == 0);
    s_sort(&a);
    s_sort(&b);
    s_sort(&c);
    FAIL_IF_NOT(a.len[0] > 0 && a.len[0] == b.len[0] &&
                memcmp(a.rows[0], b.rows[0], a.len[0]) == 0);
    for (int e = 1; e < 100; e++) {
        if (a.len[e] != c.len[e] || (a.len[e] && memcmp(a.rows[e], c.rows[e], a.len[e]) != 0)) {
            fprintf(stderr, "epoch %d: %zu bytes uninterrupted, %zu resumed\n", e, a.len[e],
                    c.len[e]);
            FAIL_IF(1);
        }
    }
    FAIL_IF_NOT(a.len[1] > 0 && a.len[99] > 0);
    FAIL_IF_NOT(a.records_received == total && c.records_received == total);
    FAIL_IF_NOT(c.records_lost == 0 && c.batches_lost == 0);
    s_free(&a);
    s_free(&b);
    s_free(&c);
    for (size_t i = 0; i < nm; i++)
        free(m[i].data);
    zmq_close(out);
    zmq_ctx_term(ctx);
    rmdir(dir);
    return 0;
}

TEST(ckpt_torn_or_foreign_refused)
{
    char dir[] = "/tmp/renkei-ckpt-XXXXXX";
    FAIL_IF_NOT(mkdtemp(dir));
    void *ctx = zmq_ctx_new();
    void *out = cmn_zmq_open(ctx, ZMQ_PULL, "inproc://ck-out", true, 0, 100000);
    struct tu_msg m[32];
    uint64_t total;
    size_t nm = s_pipe(m, &total);
    struct trk_node *n = s_node(ctx, dir, 0);
    FAIL_IF_NOT(n);
    s_feed(n, m, 0, 4);
    trk_node_destroy(&n);
    char path[128];
    snprintf(path, sizeof(path), "%s/tracker-0.ckpt", dir);
    /* tracker 0's checkpoint as tracker 1's: refused, tracker 1 starts empty
     * and awaits the whole pipe (without the Hello everything is dropped) */
    char path1[128];
    snprintf(path1, sizeof(path1), "%s/tracker-1.ckpt", dir);
    FAIL_IF(link(path, path1) != 0);
    struct seen s = {0};
    s_drain(out, &s); /* what tracker 0 sent: not looked at */
    s_free(&s);
    memset(&s, 0, sizeof(s));
    n = s_node(ctx, dir, 1);
    FAIL_IF_NOT(n);
    s_feed(n, m, 0, nm);
    s_drain(out, &s);
    FAIL_IF(s.results != 0);
    struct tu_msg h = s_replay_hello(1);
    s_feed(n, &h, 0, 1);
    s_feed(n, m, 0, nm);
    s_drain(out, &s);
    trk_node_destroy(&n);
    FAIL_IF_NOT(s.results > 0 && s.records_received == total && s.before_replay == nm);
    FAIL_IF(access(path1, F_OK) == 0);
    s_free(&s);
    memset(&s, 0, sizeof(s));
    /* torn: cut the file short; the tracker starts empty and awaits the
     * whole pipe (everything from seq 1 counts once) */
    FILE *f = fopen(path, "r+");
    FAIL_IF_NOT(f);
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fclose(f);
    FAIL_IF(truncate(path, sz / 2) != 0);
    memset(&s, 0, sizeof(s));
    n = s_node(ctx, dir, 0);
    FAIL_IF_NOT(n);
    s_feed(n, m, 0, 2); /* dropped: awaiting */
    s_feed(n, &h, 0, 1);
    s_feed(n, m, 0, nm);
    free(h.data);
    s_drain(out, &s);
    trk_node_destroy(&n);
    FAIL_IF_NOT(s.before_replay == 2);
    FAIL_IF_NOT(s.records_received == total && s.records_lost == 0 && s.batches_lost == 0);
    s_free(&s);
    for (size_t i = 0; i < nm; i++)
        free(m[i].data);
    zmq_close(out);
    zmq_ctx_term(ctx);
    unlink(path);
    rmdir(dir);
    return 0;
}

/* ---- the end of a run ---- */

static int s_run_rc;
static void *s_run(void *arg)
{
    s_run_rc = trk_node_run(arg);
    return NULL;
}

static void s_pub_ack(void *pub, bool final, uint64_t run_ns)
{
    Renkei__Ack a = RENKEI__ACK__INIT;
    a.any_committed = true;
    a.committed_epoch = 0;
    a.final_committed = final;
    a.run_started_ns = run_ns;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_ACK;
    env.ack = &a;
    (void)cmn_wire_send(pub, &env, ZMQ_DONTWAIT);
}

/* Files in dir whose name begins with `prefix`. */
static int s_count(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    int k = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        k += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    if (d)
        closedir(d);
    return k;
}

static void s_rm_all(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[300];
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') {
            snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

TEST(ckpt_end_of_run_resent_or_dropped)
{
    char dir[] = "/tmp/renkei-ckpt-XXXXXX";
    FAIL_IF_NOT(mkdtemp(dir));
    void *ctx = zmq_ctx_new();
    void *out = cmn_zmq_open(ctx, ZMQ_PULL, "inproc://ck-out", true, 0, 100000);
    void *pub = cmn_zmq_open(ctx, ZMQ_PUB, "inproc://ck-mack", true, 0, 1000);
    FAIL_IF_NOT(out && pub);
    struct tu_msg m[32];
    uint64_t total;
    size_t nm = s_pipe(m, &total);
    char path[128];
    snprintf(path, sizeof(path), "%s/tracker-0.ckpt", dir);
    for (int round = 0; round < 2; round++) {
        /* A: the whole stream, its end sent, no Ack ever: killed */
        struct seen a = {0}, b = {0};
        struct trk_node *na = s_node_ack(ctx, dir, 0, "inproc://ck-mack");
        FAIL_IF_NOT(na);
        s_feed(na, m, 0, nm);
        s_drain(out, &a);
        trk_node_destroy(&na);
        FAIL_IF(access(path, F_OK) != 0);             /* the ended checkpoint */
        FAIL_IF(s_count(dir, "tracker-0.keep.") < 1); /* its end, spilled */
        /* B: restarted; round 0 the merger's run is still this one (started
         * before the end), round 1 it is another (started after it) */
        struct trk_node *nb = s_node_ack(ctx, dir, 0, "inproc://ck-mack");
        FAIL_IF_NOT(nb);
        pthread_t th;
        FAIL_IF(pthread_create(&th, NULL, s_run, nb) != 0);
        uint64_t run = round == 0 ? 1 : cmn_now_ns() + 3600 * SEC;
        for (int i = 0; i < 100 && b.results < a.results; i++) {
            s_pub_ack(pub, false, run);
            usleep(20000);
            s_drain(out, &b);
        }
        if (round == 0) {
            FAIL_IF_NOT(b.results == a.results && a.results > 0);
            for (int e = 0; e < 100; e++) /* the same end, byte for byte */
                FAIL_IF(a.len[e] != b.len[e] ||
                        (a.len[e] && memcmp(a.rows[e], b.rows[e], a.len[e]) != 0));
            FAIL_IF_NOT(b.records_received == total);
            FAIL_IF(access(path, F_OK) != 0); /* until the final Ack */
            for (int i = 0; i < 200 && access(path, F_OK) == 0; i++) {
                s_pub_ack(pub, true, run);
                usleep(20000);
            }
        } else {
            FAIL_IF(b.results != 0); /* another run's: nothing sent */
        }
        pthread_join(th, NULL);
        FAIL_IF(s_run_rc != 0);
        FAIL_IF(access(path, F_OK) == 0); /* gone: acknowledged, or dropped */
        FAIL_IF(s_count(dir, "tracker-0.keep.") != 0);
        trk_node_destroy(&nb);
        s_drain(out, &b);
        s_free(&a);
        s_free(&b);
    }
    for (size_t i = 0; i < nm; i++)
        free(m[i].data);
    zmq_close(pub);
    zmq_close(out);
    zmq_ctx_term(ctx);
    s_rm_all(dir);
    return 0;
}

TEST_MAIN(TEST_ENTRY(ckpt_resume_equals_uninterrupted) TEST_ENTRY(ckpt_torn_or_foreign_refused)
              TEST_ENTRY(ckpt_end_of_run_resent_or_dropped))
