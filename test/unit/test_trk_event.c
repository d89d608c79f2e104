/* SPDX-License-Identifier: MIT
 * test_trk_event: the flood / scan detector (tracker/trk_event.h) and the
 * fragment port joiner (tracker/trk_frag.h), one case per rule: a spoofed
 * SYN flood, a SYN port scan, a FIN/Xmas/Null scan, legitimate sessions that
 * must make no event, ownership (only the target's tracker decides), memcap,
 * and later fragments taking their first fragment's ports.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "trk_event.h"
#include "trk_frag.h"

#define F_SYN 0x02

/* A session delta: host `a` (A side, initiator) -> host `b` port `bp`. */
static struct trk_sess_view s_view(uint8_t a, uint16_t ap, uint8_t b, uint16_t bp)
{
    struct trk_sess_view v;
    memset(&v, 0, sizeof(v));
    v.rec.a_ip[10] = v.rec.a_ip[11] = 0xff;
    v.rec.a_ip[15] = a;
    v.rec.b_ip[10] = v.rec.b_ip[11] = 0xff;
    v.rec.b_ip[15] = b;
    v.rec.a_port = ap;
    v.rec.b_port = bp;
    v.rec.proto = 6;
    v.rec.flags = CMN_SESS_A_INIT;
    v.rec.first_ns = 1000000000ull * a;
    v.rec.last_ns = v.rec.first_ns + 1000;
    v.created = true;
    v.starts[0] = 1;
    return v;
}

/* Pure SYN from A, answered by B with SYN+ACK (open) or RST (closed). */
static struct trk_sess_view s_probe(uint8_t a, uint16_t ap, uint8_t b, uint16_t bp, bool open)
{
    struct trk_sess_view v = s_view(a, ap, b, bp);
    v.rec.pkts[0] = v.rec.syn[0] = 1;
    v.rec.pkts[1] = 1;
    if (open)
        v.rec.syn[1] = v.rec.synack[1] = v.rec.ack[1] = 1;
    else
        v.rec.rst[1] = v.rec.ack[1] = 1;
    return v;
}

static size_t s_seen;
static struct cmn_event_rec s_last;
static void s_collect(void *ctx, const struct cmn_event_rec *ev)
{
    (void)ctx;
    s_seen++;
    s_last = *ev;
}

TEST(syn_flood_many_sources)
{
    struct trk_mem mem = {0};
    struct trk_events_config cfg = {.mem = &mem, .seed = 1};
    struct trk_events *t = trk_events_new(&cfg);
    FAIL_IF_NOT(t);
    for (int i = 0; i < 40; i++) { /* 40 sources (ips 200..239 wrap is fine) */
        struct trk_sess_view v = s_probe((uint8_t)(100 + i), 40000, 9, 443, true);
        v.rec.syn[0] = 2; /* a retransmission */
        v.rec.pkts[0] = 2;
        FAIL_IF_NOT(trk_events_fold(t, &v, false, true) == 0);
    }
    FAIL_IF_NOT(trk_events_pending(t) == 1);
    s_seen = 0;
    FAIL_IF_NOT(trk_events_flush(t, s_collect, NULL) == 1 && s_seen == 1);
    FAIL_IF_NOT(s_last.kind == CMN_EVENT_SYN_FLOOD && s_last.port == 443);
    FAIL_IF_NOT(s_last.source_count == 40 && s_last.packets == 120 && s_last.target_ip[15] == 9);
    FAIL_IF_NOT(trk_events_pending(t) == 0 && trk_events_count(t) >= 1);
    /* the target's owner decides: the tracker owning only the sources sees nothing */
    struct trk_sess_view v = s_probe(1, 40000, 9, 443, true);
    FAIL_IF_NOT(trk_events_fold(t, &v, true, false) == 0 && trk_events_pending(t) == 0);
    FAIL_IF_NOT(trk_events_drops(t) == 0);
    trk_events_reset(t);
    FAIL_IF_NOT(trk_events_count(t) == 0);
    trk_events_destroy(&t);
    FAIL_IF_NOT(t == NULL);
    trk_events_destroy(&t);
    FAIL_IF_NOT(mem.used == 0);
    PASS;
}

TEST(port_scans)
{
    struct trk_mem mem = {0};
    struct trk_events_config cfg = {.mem = &mem, .seed = 2};
    struct trk_events *t = trk_events_new(&cfg);
    FAIL_IF_NOT(t);
    for (uint16_t p = 1; p <= 20; p++) {
        struct trk_sess_view v = s_probe(7, 50000, 8, p, p == 22);
        FAIL_IF_NOT(trk_events_fold(t, &v, true, true) == 0);
    }
    s_seen = 0;
    trk_events_flush(t, s_collect, NULL);
    FAIL_IF_NOT(s_seen == 1 && s_last.kind == CMN_EVENT_PORT_SCAN && s_last.port_count == 20);
    FAIL_IF_NOT(s_last.actor_ip[15] == 7 && s_last.target_ip[15] == 8 && s_last.port == 0);
    /* stealth: FIN, Null, Xmas to three ports, answered RST */
    static const uint8_t fl[3] = {0x01, 0x00, 0x29};
    for (int i = 0; i < 3; i++) {
        struct trk_sess_view v = s_view(5, 60000, 6, (uint16_t)(3390 + i));
        v.rec.flags |= CMN_SESS_MIDSTREAM;
        v.rec.pkts[0] = v.rec.pkts[1] = 1;
        v.rec.fin[0] = fl[i] & 1;
        v.rec.rst[1] = v.rec.ack[1] = 1;
        FAIL_IF_NOT(trk_events_fold(t, &v, false, true) == 0);
    }
    s_seen = 0;
    trk_events_flush(t, s_collect, NULL);
    FAIL_IF_NOT(s_seen == 1 && s_last.kind == CMN_EVENT_STEALTH_SCAN && s_last.port_count == 3);
    trk_events_destroy(&t);
    PASS;
}

TEST(legitimate_traffic_no_event)
{
    struct trk_mem mem = {0};
    struct trk_events_config cfg = {.mem = &mem, .seed = 3};
    struct trk_events *t = trk_events_new(&cfg);
    FAIL_IF_NOT(t);
    for (int i = 0; i < 100; i++) { /* 100 clients complete handshakes to 9:443 */
        struct trk_sess_view v = s_probe((uint8_t)(i + 1), 40000, 9, 443, true);
        v.rec.pkts[0] = 5;
        v.rec.ack[0] = 4;
        FAIL_IF_NOT(trk_events_fold(t, &v, true, true) == 0);
    }
    FAIL_IF_NOT(trk_events_pending(t) == 0 && trk_events_count(t) == 0);
    /* a client retrying one closed port: one port, one source */
    for (int i = 0; i < 10; i++) {
        struct trk_sess_view v = s_probe(3, (uint16_t)(40000 + i), 9, 8080, false);
        FAIL_IF_NOT(trk_events_fold(t, &v, true, true) == 0);
    }
    FAIL_IF_NOT(trk_events_pending(t) == 0);
    FAIL_IF_NOT(trk_events_flush(t, NULL, NULL) == 0);
    trk_events_destroy(&t);
    PASS;
}

TEST(memcap_counts_drops)
{
    struct trk_mem mem = {.cap = 1};
    struct trk_events_config cfg = {.mem = &mem, .seed = 4};
    FAIL_IF(trk_events_new(&cfg)); /* the first tables do not fit */
    mem.cap = 0;
    struct trk_events *t = trk_events_new(&cfg);
    FAIL_IF_NOT(t);
    mem.cap = mem.used; /* no room for any row */
    struct trk_sess_view v = s_probe(1, 40000, 9, 443, false);
    FAIL_IF_NOT(trk_events_fold(t, &v, true, true) == -ENOSPC && trk_events_drops(t) == 1);
    trk_events_destroy(&t);
    PASS;
}

TEST(fragments_take_first_ports)
{
    struct trk_mem mem = {0};
    struct trk_frag *f = trk_frag_new(&mem, 5);
    FAIL_IF_NOT(f && mem.used > 0);
    struct cmn_record r[4];
    memset(r, 0, sizeof(r));
    for (int i = 0; i < 4; i++) {
        r[i].src[15] = 1;
        r[i].dst[15] = 2;
        r[i].proto = 17;
        r[i].ip_id = 77;
        r[i].ts_ns = 1000 + (uint64_t)i;
    }
    r[0].flags = CMN_REC_FRAG_FIRST;
    r[0].sport = 53;
    r[0].dport = 40000;
    r[1].flags = r[2].flags = CMN_REC_FRAG_LATER;
    r[2].ip_id = 78; /* another datagram, first not seen */
    r[3].flags = CMN_REC_FRAG_LATER;
    r[3].ts_ns = 1000 + 31000000000ull; /* too late */
    FAIL_IF_NOT(trk_frag_any(r, 4) && !trk_frag_any(r, 0));
    FAIL_IF_NOT(trk_frag_apply(f, r, 4) == 1);
    FAIL_IF_NOT(r[1].sport == 53 && r[1].dport == 40000 && !(r[1].flags & CMN_REC_FRAG_LATER));
    FAIL_IF_NOT(r[2].sport == 0 && (r[2].flags & CMN_REC_FRAG_LATER));
    FAIL_IF_NOT(r[3].sport == 0 && (r[3].flags & CMN_REC_FRAG_LATER));
    trk_frag_reset(f);
    r[1].flags = CMN_REC_FRAG_LATER;
    r[1].sport = r[1].dport = 0;
    FAIL_IF_NOT(trk_frag_apply(f, &r[1], 1) == 0);
    trk_frag_destroy(&f);
    FAIL_IF_NOT(f == NULL && mem.used == 0);
    PASS;
}

TEST_MAIN(TEST_ENTRY(syn_flood_many_sources) TEST_ENTRY(port_scans)
              TEST_ENTRY(legitimate_traffic_no_event) TEST_ENTRY(memcap_counts_drops)
                  TEST_ENTRY(fragments_take_first_ports))
