/* SPDX-License-Identifier: MIT
 * test_trk_table: per-direction counters, epoch deltas and their reset, new
 * incarnations after idle time, memcap drops, expiry, counter spill, bursts,
 * and the bucketed index: keys crowding one bucket (overflow chains, shared
 * tags), deletion inside a chain, growth, and growth refused by the memcap.
 */
#include <errno.h>

#include "harness.h"
#include "trk_table.h"
#include "trk_testutil.h"

static struct trk_table *s_table(struct trk_mem *mem, uint64_t timeout_s)
{
    struct trk_table_config c = {
        .spare_sessions = 0, .session_timeout_ns = timeout_s * SEC, .seed = 42, .mem = mem};
    return trk_table_new(&c);
}

static int s_put(struct trk_table *t, const struct cmn_record *r)
{
    struct trk_key k;
    int dir = trk_key_from_record(&k, r);
    return trk_table_update_with_hash(t, &k, trk_table_hash(t, &k), dir, r);
}

static bool s_get(struct trk_table *t, const struct cmn_record *r, struct trk_sess_view *v)
{
    struct trk_key k;
    trk_key_from_record(&k, r);
    return trk_table_lookup_with_hash(t, &k, trk_table_hash(t, &k), v);
}

struct collect {
    struct trk_sess_view v[16]; /* visited rows */
    size_t n;                   /* count */
};

static void s_collect(void *ctx, const struct trk_sess_view *v)
{
    struct collect *c = ctx;
    if (c->n < 16)
        c->v[c->n] = *v;
    c->n++;
}

TEST(counters_per_direction)
{
    struct trk_mem mem = {0};
    struct trk_table *t = s_table(&mem, 120);
    FAIL_IF_NOT(t);
    struct cmn_record r[] = {
        tu_rec(10, 1, 40000, 2, 80, 6, CMN_TCP_SYN, 60),
        tu_rec(11, 2, 80, 1, 40000, 6, CMN_TCP_SYN | CMN_TCP_ACK, 60),
        tu_rec(12, 1, 40000, 2, 80, 6, CMN_TCP_ACK, 52),
        tu_rec(13, 1, 40000, 2, 80, 6, CMN_TCP_ACK | CMN_TCP_PSH, 500),
        tu_rec(14, 2, 80, 1, 40000, 6, CMN_TCP_ACK | CMN_TCP_FIN, 52),
        tu_rec(15, 1, 40000, 2, 80, 6, CMN_TCP_RST, 40),
    };
    for (size_t i = 0; i < 6; i++)
        FAIL_IF_NOT(s_put(t, &r[i]) == 0);
    struct trk_sess_view v;
    FAIL_IF_NOT(s_get(t, &r[1], &v));
    FAIL_IF_NOT(v.rec.pkts[0] == 4 && v.rec.pkts[1] == 2);
    FAIL_IF_NOT(v.rec.bytes[0] == 652 && v.rec.bytes[1] == 112);
    FAIL_IF_NOT(v.rec.syn[0] == 1 && v.rec.syn[1] == 1 && v.rec.synack[1] == 1 &&
                v.rec.synack[0] == 0);
    FAIL_IF_NOT(v.rec.ack[0] == 2 && v.rec.ack[1] == 2 && v.rec.fin[1] == 1 && v.rec.rst[0] == 1);
    FAIL_IF_NOT(v.rec.flags == CMN_SESS_A_INIT && v.starts[0] == 1 && v.starts[1] == 0);
    FAIL_IF_NOT(v.rec.first_ns == 10 && v.rec.last_ns == 15 && v.created);
    struct trk_table_stats st;
    trk_table_get_stats(t, &st);
    FAIL_IF_NOT(st.live == 1 && st.created == 1 && st.records == 6 && st.dirty == 1);
    trk_table_destroy(&t);
    FAIL_IF_NOT(t == NULL && mem.used == 0);
    PASS;
}

/* An ICMP refusal counts as the refusing side's datagram RST, dirties a
 * flushed row without packets, and needs a live UDP/SCTP row. */
TEST(icmp_refusal)
{
    struct trk_mem mem = {0};
    struct trk_table *t = s_table(&mem, 120);
    FAIL_IF_NOT(t);
    struct cmn_record q = tu_rec(10, 1, 41000, 2, 161, 17, 0, 60); /* 1:41000 -> 2:161 */
    FAIL_IF_NOT(s_put(t, &q) == 0);
    struct trk_key k;
    int dir = trk_key_from_record(&k, &q);
    uint64_t h = trk_table_hash(t, &k);
    FAIL_IF_NOT(trk_table_flush(t, NULL, NULL) == 1);
    FAIL_IF_NOT(trk_table_refuse(t, &k, h, !dir, 11) == 0); /* 2 refuses */
    struct collect c = {0};
    FAIL_IF_NOT(trk_table_flush(t, s_collect, &c) == 1 && c.n == 1);
    const struct cmn_session_rec *r = &c.v[0].rec;
    FAIL_IF_NOT(r->pkts[0] == 0 && r->pkts[1] == 0 && r->rst[!dir] == 1 && r->rst[dir] == 0);
    FAIL_IF_NOT(r->first_ns == 10 && r->last_ns == 10);
    /* no such session, a TCP row, a row idle past the timeout: nothing */
    struct cmn_record o = tu_rec(12, 1, 41001, 2, 161, 17, 0, 60);
    struct trk_key ko;
    int dko = trk_key_from_record(&ko, &o);
    FAIL_IF_NOT(trk_table_refuse(t, &ko, trk_table_hash(t, &ko), !dko, 12) == -ENOENT);
    struct cmn_record tc = tu_rec(13, 1, 40000, 2, 80, 6, CMN_TCP_SYN, 60);
    FAIL_IF_NOT(s_put(t, &tc) == 0);
    struct trk_key kt;
    int dkt = trk_key_from_record(&kt, &tc);
    FAIL_IF_NOT(trk_table_refuse(t, &kt, trk_table_hash(t, &kt), !dkt, 14) == -ENOENT);
    FAIL_IF_NOT(trk_table_refuse(t, &k, h, !dir, 10 + 121 * SEC) == -ENOENT);
    trk_table_destroy(&t);
    PASS;
}

TEST(midstream_and_synack_first)
{
    struct trk_mem mem = {0};
    struct trk_table *t = s_table(&mem, 120);
    struct cmn_record mid = tu_rec(1, 2, 5432, 1, 40000, 6, CMN_TCP_ACK, 100);
    struct cmn_record sa = tu_rec(1, 3, 80, 4, 50000, 6, CMN_TCP_SYN | CMN_TCP_ACK, 60);
    struct cmn_record udp = tu_rec(1, 9, 53, 8, 33333, 17, 0, 100);
    s_put(t, &mid);
    s_put(t, &sa);
    s_put(t, &udp);
    struct trk_sess_view v;
    FAIL_IF_NOT(s_get(t, &mid, &v));
    FAIL_IF_NOT(v.rec.flags == (CMN_SESS_B_INIT | CMN_SESS_MIDSTREAM));
    FAIL_IF_NOT(v.starts[0] == 0 && v.starts[1] == 0);
    FAIL_IF_NOT(s_get(t, &sa, &v)); /* SYN+ACK from 3 first: 4 opened it */
    FAIL_IF_NOT(v.rec.flags == CMN_SESS_B_INIT && v.starts[1] == 1);
    FAIL_IF_NOT(s_get(t, &udp, &v)); /* 9 -> 8: B (9) initiated */
    FAIL_IF_NOT(v.rec.flags == CMN_SESS_B_INIT && v.starts[1] == 1);
    trk_table_destroy(&t);
    PASS;
}

TEST(epoch_deltas_and_reset)
{
    struct trk_mem mem = {0};
    struct trk_table *t = s_table(&mem, 120);
    struct cmn_record a = tu_rec(1 * SEC, 1, 1000, 2, 53, 17, 0, 80);
    struct cmn_record b = tu_rec(2 * SEC, 2, 53, 1, 1000, 17, 0, 120);
    struct cmn_record c = tu_rec(2 * SEC, 5, 1, 6, 0, 1, 0, 84);
    s_put(t, &a);
    s_put(t, &b);
    s_put(t, &c);
    struct collect col = {.n = 0};
    FAIL_IF_NOT(trk_table_visit_dirty(t, s_collect, &col) == 2 && col.n == 2);
    col.n = 0;
    FAIL_IF_NOT(trk_table_flush(t, s_collect, &col) == 2 && col.n == 2);
    FAIL_IF_NOT(col.v[0].rec.pkts[0] + col.v[0].rec.pkts[1] + col.v[1].rec.pkts[0] +
                    col.v[1].rec.pkts[1] ==
                3);
    col.n = 0;
    FAIL_IF_NOT(trk_table_flush(t, s_collect, &col) == 0 && col.n == 0); /* nothing touched */
    s_put(t, &b);
    FAIL_IF_NOT(trk_table_flush(t, s_collect, &col) == 1);
    FAIL_IF_NOT(col.v[0].rec.pkts[0] == 0 && col.v[0].rec.pkts[1] == 1);
    FAIL_IF_NOT(col.v[0].rec.bytes[1] == 120 && !col.v[0].created);
    FAIL_IF_NOT(col.v[0].rec.first_ns == 2 * SEC && col.v[0].starts[0] + col.v[0].starts[1] == 0);
    trk_table_reset(t);
    struct trk_table_stats st;
    trk_table_get_stats(t, &st);
    FAIL_IF_NOT(st.live == 0 && st.dirty == 0);
    struct trk_sess_view v;
    FAIL_IF(s_get(t, &a, &v));
    trk_table_destroy(&t);
    PASS;
}

TEST(restart_after_idle_and_expiry)
{
    struct trk_mem mem = {0};
    struct trk_table *t = s_table(&mem, 10);
    struct cmn_record a = tu_rec(1 * SEC, 1, 1000, 2, 53, 17, 0, 80);
    s_put(t, &a);
    trk_table_flush(t, NULL, NULL);
    struct cmn_record late = tu_rec(30 * SEC, 1, 1000, 2, 53, 17, 0, 80);
    s_put(t, &late); /* row still there (not expired yet): a new incarnation */
    struct trk_sess_view v;
    FAIL_IF_NOT(s_get(t, &a, &v) && v.created && v.starts[0] == 1 && v.starts[1] == 0);
    struct trk_table_stats st;
    trk_table_get_stats(t, &st);
    FAIL_IF_NOT(st.restarted == 1 && st.created == 1);
    /* another session goes idle; dirty rows are never expired */
    struct cmn_record o = tu_rec(31 * SEC, 3, 1, 4, 2, 17, 0, 80);
    s_put(t, &o);
    FAIL_IF_NOT(trk_table_expire(t, 1000000) == 0);
    trk_table_flush(t, NULL, NULL);
    struct cmn_record now = tu_rec(45 * SEC, 7, 1, 8, 2, 17, 0, 80);
    s_put(t, &now); /* clock moves to 45 s: both older rows are > 10 s idle */
    FAIL_IF_NOT(trk_table_expire(t, 1000000) == 2);
    trk_table_get_stats(t, &st);
    FAIL_IF_NOT(st.live == 1 && st.freed == 2);
    FAIL_IF(s_get(t, &a, &v));
    FAIL_IF_NOT(s_get(t, &now, &v));
    trk_table_destroy(&t);
    PASS;
}

TEST(memcap_drop)
{
    struct trk_mem mem = {.cap = 3u << 20}; /* room for the spare chunk and index only */
    struct trk_table *t = s_table(&mem, 0);
    FAIL_IF_NOT(t);
    size_t ok = 0, drop = 0;
    for (uint32_t i = 0; i < 40000; i++) {
        struct cmn_record r =
            tu_rec(1, 1, (uint16_t)(i & 0xffff), 2, (uint16_t)(1 + (i >> 16)), 17, 0, 60);
        if (s_put(t, &r) == 0)
            ok++;
        else
            drop++;
    }
    struct trk_table_stats st;
    trk_table_get_stats(t, &st);
    FAIL_IF_NOT(drop > 0 && st.drop_memcap == drop && st.records == 40000);
    FAIL_IF_NOT(st.live == ok && mem.used <= mem.cap);
    trk_table_destroy(&t);
    FAIL_IF_NOT(mem.used == 0);
    /* a pool that cannot fit at all: constructor refuses */
    struct trk_mem tiny = {.cap = 4096};
    FAIL_IF(s_table(&tiny, 0) != NULL);
    PASS;
}

TEST(spill_keeps_exact_counts)
{
    struct trk_mem mem = {0};
    struct trk_table *t = s_table(&mem, 0);
    struct cmn_record r = tu_rec(1, 1, 5000, 2, 5001, 6, CMN_TCP_ACK, 1400000); /* absurd len */
    for (uint32_t i = 0; i < 70000; i++)
        FAIL_IF_NOT(s_put(t, &r) == 0);
    struct trk_sess_view v;
    FAIL_IF_NOT(s_get(t, &r, &v));
    FAIL_IF_NOT(v.rec.pkts[0] == 70000 && v.rec.ack[0] == 70000);
    FAIL_IF_NOT(v.rec.bytes[0] == 70000ull * 1400000);
    struct collect col = {.n = 0};
    trk_table_flush(t, s_collect, &col);
    FAIL_IF_NOT(col.n == 1 && col.v[0].rec.pkts[0] == 70000);
    s_put(t, &r);
    FAIL_IF_NOT(s_get(t, &r, &v) && v.rec.pkts[0] == 1); /* spill was per epoch */
    trk_table_destroy(&t);
    PASS;
}

TEST(burst_matches_single)
{
    struct trk_mem m1 = {0}, m2 = {0};
    struct trk_table *t1 = s_table(&m1, 120), *t2 = s_table(&m2, 120);
    static struct cmn_record recs[1000];
    for (uint32_t i = 0; i < 1000; i++)
        recs[i] = tu_rec(i, (uint8_t)(i % 7), (uint16_t)(1000 + i % 13), (uint8_t)(i % 5), 80, 6,
                         (uint8_t)(i % 3 ? CMN_TCP_ACK : CMN_TCP_SYN), 100 + i);
    FAIL_IF_NOT(trk_table_update_burst(t1, recs, 1000) == 1000);
    for (uint32_t i = 0; i < 1000; i++)
        s_put(t2, &recs[i]);
    for (uint32_t i = 0; i < 1000; i++) {
        struct trk_sess_view a, b;
        FAIL_IF_NOT(s_get(t1, &recs[i], &a) && s_get(t2, &recs[i], &b));
        FAIL_IF(memcmp(&a, &b, sizeof(a)) != 0);
    }
    trk_table_destroy(&t1);
    trk_table_destroy(&t2);
    trk_table_destroy(&t2); /* NULL-safe */
    PASS;
}

TEST(many_sessions_grow_and_expire)
{
    struct trk_mem mem = {0};
    struct trk_table *t = s_table(&mem, 5);
    for (uint32_t i = 0; i < 100000; i++) {
        struct cmn_record r =
            tu_rec(SEC, (uint8_t)(i & 0xff), (uint16_t)(i >> 8), 200, 443, 6, CMN_TCP_SYN, 60);
        FAIL_IF_NOT(s_put(t, &r) == 0);
    }
    struct trk_table_stats st;
    trk_table_get_stats(t, &st);
    FAIL_IF_NOT(st.live == 100000);
    trk_table_flush(t, NULL, NULL);
    struct cmn_record tick = tu_rec(100 * SEC, 1, 1, 2, 2, 17, 0, 60);
    s_put(t, &tick);
    size_t freed = 0;
    for (int i = 0; i < 100; i++)
        freed += trk_table_expire(t, 4096); /* bounded steps */
    FAIL_IF_NOT(freed == 100000);
    for (uint32_t i = 0; i < 250; i++) { /* rows come back from the free list */
        struct cmn_record r = tu_rec(101 * SEC, (uint8_t)i, 7, 201, 443, 6, CMN_TCP_SYN, 60);
        FAIL_IF_NOT(s_put(t, &r) == 0);
    }
    trk_table_get_stats(t, &st);
    FAIL_IF_NOT(st.live == 251);
    trk_table_destroy(&t);
    PASS;
}

TEST(wide_keys_ipv6_and_mixed)
{
    struct trk_mem mem = {0};
    struct trk_table *t = s_table(&mem, 5);
    static struct cmn_record recs[3000];
    for (uint32_t i = 0; i < 3000; i++) {
        recs[i] = tu_rec(SEC + i, 0, (uint16_t)(1000 + i % 1000), 0, 443, 6, CMN_TCP_ACK, 100);
        memset(recs[i].src, 0, 16);
        recs[i].src[0] = 0x20, recs[i].src[1] = 0x01, recs[i].src[15] = (uint8_t)(i % 1000);
        recs[i].src[14] = (uint8_t)((i % 1000) >> 8);
        if (i % 1000 % 3 == 2) /* v4-mapped peer of an IPv6 address: still a wide key */
            tu_ip4(recs[i].dst, 10, 0, 0, 9);
        else
            memset(recs[i].dst, 0, 16), recs[i].dst[0] = 0x20, recs[i].dst[15] = 1;
        if (i >= 1000) { /* replies */
            uint8_t tmp[16];
            memcpy(tmp, recs[i].src, 16);
            memcpy(recs[i].src, recs[i].dst, 16);
            memcpy(recs[i].dst, tmp, 16);
            recs[i].sport = 443;
            recs[i].dport = (uint16_t)(1000 + i % 1000);
        }
    }
    FAIL_IF_NOT(trk_table_update_burst(t, recs, 3000) == 3000);
    struct trk_table_stats st;
    trk_table_get_stats(t, &st);
    FAIL_IF_NOT(st.live == 1000);
    struct trk_sess_view v;
    FAIL_IF_NOT(s_get(t, &recs[4], &v));
    FAIL_IF_NOT(v.rec.pkts[0] + v.rec.pkts[1] == 3 && v.rec.a_ip[0] == 0x20);
    struct trk_key k;
    trk_key_from_record(&k, &recs[5]);
    FAIL_IF_NOT(s_get(t, &recs[5], &v) && v.rec.pkts[0] + v.rec.pkts[1] == 3);
    FAIL_IF(memcmp(v.rec.a_ip, k.a, 16) != 0 || memcmp(v.rec.b_ip, k.b, 16) != 0);
    FAIL_IF_NOT(v.rec.a_port == k.a_port && v.rec.b_port == k.b_port);
    trk_table_flush(t, NULL, NULL);
    struct cmn_record tick = tu_rec(100 * SEC, 1, 1, 2, 2, 17, 0, 60);
    s_put(t, &tick);
    size_t freed = 0;
    for (int i = 0; i < 10; i++)
        freed += trk_table_expire(t, 4096);
    FAIL_IF_NOT(freed == 1000);
    for (uint32_t i = 0; i < 3000; i++)
        recs[i].ts_ns += 100 * SEC;
    FAIL_IF_NOT(trk_table_update_burst(t, recs, 3000) == 3000); /* side store reused */
    trk_table_get_stats(t, &st);
    FAIL_IF_NOT(st.live == 1001);
    FAIL_IF_NOT(s_get(t, &recs[2999], &v) && v.rec.pkts[0] + v.rec.pkts[1] == 3);
    trk_table_destroy(&t);
    FAIL_IF_NOT(mem.used == 0);
    PASS;
}

/* UDP record number `i` from 10.0.0.1 to 10.0.0.2: distinct keys for distinct i < 2^30. */
static struct cmn_record s_rec_n(uint64_t ts, uint32_t i)
{
    return tu_rec(ts, 1, (uint16_t)(1024 + (i & 0x7fff)), 2, (uint16_t)(1 + (i >> 15)), 17, 0, 100);
}

static uint64_t s_hash_of(struct trk_table *t, const struct cmn_record *r)
{
    struct trk_key k;
    trk_key_from_record(&k, r);
    return trk_table_hash(t, &k);
}

static bool s_pkts_are(struct trk_table *t, const struct cmn_record *r, uint64_t ab, uint64_t ba)
{
    struct trk_sess_view v;
    return s_get(t, r, &v) && v.rec.pkts[0] == ab && v.rec.pkts[1] == ba;
}

#define MATES 200

/* 200 keys whose hashes share the low 12 bits (one home bucket of the
 * default 4096-bucket index): 12 fit, the rest chain through the following
 * buckets. Some share the tag byte too, so rows are compared. Expiring every
 * other one empties entries inside the chain; the rest must stay reachable. */
TEST(index_overflow_chain_and_delete)
{
    struct trk_mem mem = {0};
    struct trk_table *t = s_table(&mem, 10);
    FAIL_IF_NOT(t);
    static struct cmn_record mate[MATES];
    uint64_t home = s_hash_of(t, &(struct cmn_record){0}) & 0xfff;
    size_t n = 0, same_tag = 0;
    for (uint32_t i = 0; n < MATES && i < (1u << 24); i++) {
        struct cmn_record r = s_rec_n(SEC, i);
        uint64_t h = s_hash_of(t, &r);
        if ((h & 0xfff) != home)
            continue;
        for (size_t j = 0; j < n; j++)
            same_tag += (s_hash_of(t, &mate[j]) >> 56) == (h >> 56);
        mate[n++] = r;
    }
    FAIL_IF_NOT(n == MATES && same_tag > 0);
    for (size_t j = 0; j < MATES; j++) { /* even ones idle from 1 s, odd ones from 20 s */
        mate[j].ts_ns = j % 2 ? 20 * SEC : SEC;
        FAIL_IF_NOT(s_put(t, &mate[j]) == 0);
    }
    struct trk_table_stats st;
    trk_table_get_stats(t, &st);
    FAIL_IF_NOT(st.live == MATES && st.created == MATES);
    static struct cmn_record rev[MATES]; /* replies, newest first, through the burst path */
    for (size_t j = 0; j < MATES; j++) {
        rev[j] = mate[MATES - 1 - j];
        memcpy(rev[j].src, mate[MATES - 1 - j].dst, 16);
        memcpy(rev[j].dst, mate[MATES - 1 - j].src, 16);
        rev[j].sport = mate[MATES - 1 - j].dport;
        rev[j].dport = mate[MATES - 1 - j].sport;
    }
    FAIL_IF_NOT(trk_table_update_burst(t, rev, MATES) == MATES);
    for (size_t j = 0; j < MATES; j++)
        FAIL_IF_NOT(s_pkts_are(t, &mate[j], 1, 1));
    trk_table_flush(t, NULL, NULL);
    struct cmn_record tick = tu_rec(25 * SEC, 7, 1, 8, 2, 17, 0, 60);
    s_put(t, &tick); /* now 25 s: the even mates are 24 s idle, the odd ones 5 s */
    FAIL_IF_NOT(trk_table_expire(t, 1000000) == MATES / 2);
    for (size_t j = 0; j < MATES; j++) {
        struct trk_sess_view v;
        FAIL_IF_NOT(s_get(t, &mate[j], &v) == (j % 2 == 1));
    }
    for (size_t j = 0; j < MATES; j += 2) /* back, into the freed entries */
        mate[j].ts_ns = 26 * SEC;
    FAIL_IF_NOT(trk_table_update_burst(t, mate, MATES) == MATES);
    for (size_t j = 0; j < MATES; j++)
        FAIL_IF_NOT(s_pkts_are(t, &mate[j], 1, 0));
    trk_table_get_stats(t, &st);
    FAIL_IF_NOT(st.live == MATES + 1 && st.created == MATES + 1 + MATES / 2);
    FAIL_IF_NOT(st.freed == MATES / 2 && st.restarted == 0);
    trk_table_destroy(&t);
    FAIL_IF_NOT(mem.used == 0);
    PASS;
}

/* The index doubles several times while rows stay put: every session keeps
 * its counters, bursts and single updates agree, and the index is charged. */
TEST(index_growth_keeps_rows)
{
    struct trk_mem mem = {0};
    struct trk_table *t = s_table(&mem, 0);
    struct trk_table_stats st0, st;
    trk_table_get_stats(t, &st0);
    static struct cmn_record recs[4096];
    const uint32_t total = 150000;
    for (uint32_t base = 0; base < total; base += 4096) {
        size_t m = total - base < 4096 ? total - base : 4096;
        for (size_t i = 0; i < m; i++)
            recs[i] = s_rec_n(SEC + base + i, (uint32_t)(base + i));
        FAIL_IF_NOT(trk_table_update_burst(t, recs, m) == m);
    }
    for (uint32_t i = 0; i < total; i += 3) { /* a second packet for a third of them */
        struct cmn_record r = s_rec_n(2 * SEC, i);
        FAIL_IF_NOT(s_put(t, &r) == 0);
    }
    trk_table_get_stats(t, &st);
    FAIL_IF_NOT(st.live == total && st.created == total && st.records == total + total / 3);
    FAIL_IF_NOT(st.bytes > st0.bytes && mem.used >= st.bytes);
    for (uint32_t i = 0; i < total; i++) {
        struct cmn_record r = s_rec_n(0, i);
        FAIL_IF_NOT(s_pkts_are(t, &r, i % 3 ? 1 : 2, 0));
    }
    struct cmn_record absent = s_rec_n(0, total);
    struct trk_sess_view v;
    FAIL_IF(s_get(t, &absent, &v));
    trk_table_destroy(&t);
    FAIL_IF_NOT(mem.used == 0);
    PASS;
}

/* Room for a second row chunk but not for the doubled index: sessions past
 * the index's fill limit are memcap drops; the tabled ones stay intact. */
TEST(index_growth_refused_by_memcap)
{
    struct trk_mem probe = {0};
    struct trk_table *t = s_table(&probe, 0);
    struct trk_table_stats st;
    trk_table_get_stats(t, &st);
    size_t base = probe.used, index_now = (size_t)st.bytes - (32768u * 64u);
    trk_table_destroy(&t);
    /* + one 2 MiB row chunk, + less than the doubled index would add */
    struct trk_mem mem = {.cap = base + (2u << 20) + index_now / 2};
    t = s_table(&mem, 0);
    FAIL_IF_NOT(t);
    const uint32_t total = 50000;
    size_t ok = 0;
    for (uint32_t i = 0; i < total; i++) {
        struct cmn_record r = s_rec_n(SEC, i);
        ok += s_put(t, &r) == 0;
    }
    trk_table_get_stats(t, &st);
    FAIL_IF_NOT(ok > 32768 && ok < total); /* second chunk used, growth refused */
    FAIL_IF_NOT(st.live == ok && st.drop_memcap == total - ok && mem.used <= mem.cap);
    for (uint32_t i = 0; i < total; i++) {
        struct cmn_record r = s_rec_n(SEC, i);
        struct trk_sess_view v;
        FAIL_IF_NOT(s_get(t, &r, &v) == (i < ok));
        FAIL_IF(i < ok && v.rec.pkts[0] + v.rec.pkts[1] != 1);
    }
    trk_table_destroy(&t);
    FAIL_IF_NOT(mem.used == 0);
    PASS;
}

TEST_MAIN(TEST_ENTRY(counters_per_direction) TEST_ENTRY(icmp_refusal)
              TEST_ENTRY(midstream_and_synack_first) TEST_ENTRY(epoch_deltas_and_reset)
                  TEST_ENTRY(restart_after_idle_and_expiry) TEST_ENTRY(memcap_drop)
                      TEST_ENTRY(spill_keeps_exact_counts) TEST_ENTRY(wide_keys_ipv6_and_mixed)
                          TEST_ENTRY(burst_matches_single) TEST_ENTRY(many_sessions_grow_and_expire)
                              TEST_ENTRY(index_overflow_chain_and_delete)
                                  TEST_ENTRY(index_growth_keeps_rows)
                                      TEST_ENTRY(index_growth_refused_by_memcap))
