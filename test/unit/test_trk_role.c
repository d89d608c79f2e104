/* SPDX-License-Identifier: MIT
 * test_trk_role: roles decided from evidence built the way the tracker builds
 * it (session table -> endpoint fold at flush), on the small cases of the
 * "map you can trust" list, and the invariance of the evidence under flush
 * cadence and tracker count.
 */
#include <math.h>

#include "cmn_ip.h"
#include "harness.h"
#include "trk_endpoint.h"
#include "trk_role.h"
#include "trk_table.h"
#include "trk_testutil.h"

#define TCP 6
#define UDP 17
#define S   CMN_TCP_SYN
#define A   CMN_TCP_ACK
#define F   CMN_TCP_FIN
#define R   CMN_TCP_RST
#define P   CMN_TCP_PSH

/* A tracker's tables in miniature; owns addresses whose last byte % parts == part. */
struct world {
    struct trk_mem mem;      /* memcap (unlimited) */
    struct trk_table *t;     /* sessions */
    struct trk_endpoints *e; /* evidence */
    unsigned part, parts;    /* ownership split */
    uint64_t ts;             /* next timestamp */
    unsigned flush_every;    /* flush after this many packets offered (0 = never) */
    unsigned offered;        /* packets offered */
};

static void w_init(struct world *w, unsigned part, unsigned parts)
{
    memset(w, 0, sizeof(*w));
    struct trk_table_config tc = {.session_timeout_ns = 120 * SEC, .seed = 1, .mem = &w->mem};
    struct trk_endpoints_config ec = {.mem = &w->mem, .seed = 2};
    w->t = trk_table_new(&tc);
    w->e = trk_endpoints_new(&ec);
    w->part = part;
    w->parts = parts;
    w->ts = SEC;
}

static void w_fini(struct world *w)
{
    trk_table_destroy(&w->t);
    trk_endpoints_destroy(&w->e);
}

static bool w_owns(const struct world *w, const uint8_t ip[16])
{
    return ip[15] % w->parts == w->part;
}

static void w_fold(void *ctx, const struct trk_sess_view *v)
{
    struct world *w = ctx;
    trk_endpoints_fold(w->e, v, w_owns(w, v->rec.a_ip), w_owns(w, v->rec.b_ip));
}

static void w_flush(struct world *w)
{
    trk_table_visit_dirty(w->t, w_fold, w);
    trk_table_flush(w->t, NULL, NULL);
    trk_endpoints_flush(w->e, NULL, NULL);
}

/* One packet s:sp -> d:dp, offered only if this world owns an end (as the splitter does). */
static void w_pkt(struct world *w, uint8_t s, uint16_t sp, uint8_t d, uint16_t dp, uint8_t proto,
                  uint8_t flags, uint32_t len)
{
    struct cmn_record r = tu_rec(w->ts, s, sp, d, dp, proto, flags, len);
    w->ts += 1000000; /* 1 ms */
    if (!w_owns(w, r.src) && !w_owns(w, r.dst))
        return;
    struct trk_key k;
    int dir = trk_key_from_record(&k, &r);
    trk_table_update_with_hash(w->t, &k, trk_table_hash(w->t, &k), dir, &r);
    if (w->flush_every && ++w->offered % w->flush_every == 0)
        w_flush(w);
}

static enum cmn_role w_role(struct world *w, uint8_t host, uint8_t proto, uint16_t port,
                            float *conf)
{
    uint8_t ip[16];
    tu_ip4(ip, 10, 0, 0, host);
    struct cmn_endpoint_rec ev;
    if (!trk_endpoints_get(w->e, ip, proto, port, &ev))
        return (enum cmn_role)99;
    if (conf)
        *conf = ev.confidence;
    return (enum cmn_role)ev.role;
}

static void tcp_conn(struct world *w, uint8_t c, uint16_t cp, uint8_t s, uint16_t sp)
{
    w_pkt(w, c, cp, s, sp, TCP, S, 60);
    w_pkt(w, s, sp, c, cp, TCP, S | A, 60);
    w_pkt(w, c, cp, s, sp, TCP, A, 52);
    w_pkt(w, c, cp, s, sp, TCP, A | P, 300);
    w_pkt(w, s, sp, c, cp, TCP, A | P, 1400);
    w_pkt(w, c, cp, s, sp, TCP, A | F, 52);
    w_pkt(w, s, sp, c, cp, TCP, A | F, 52);
    w_pkt(w, c, cp, s, sp, TCP, A, 52);
}

/* Every scenario of the test list, in one capture. */
static void scenarios(struct world *w)
{
    /* 1: handshake both ways, 1 -> 2:8080 */
    tcp_conn(w, 1, 40000, 2, 8080);
    /* 2: mid-stream, no handshake, server speaks first */
    for (int i = 0; i < 5; i++) {
        w_pkt(w, 4, 5432, 3, 40500, TCP, A | P, 800);
        w_pkt(w, 3, 40500, 4, 5432, TCP, A, 52);
    }
    /* 3: monitor 5 polls 100 servers: tcp 9100 (new port each), udp 161 from one port */
    for (int i = 0; i < 100; i++) {
        tcp_conn(w, 5, (uint16_t)(41000 + i), (uint8_t)(100 + i), 9100);
        w_pkt(w, 5, 50000, (uint8_t)(100 + i), 161, UDP, 0, 90);
        w_pkt(w, (uint8_t)(100 + i), 161, 5, 50000, UDP, 0, 300);
    }
    /* 4: SYN scan of 7 from 6:60000: closed ports RST, port 22 open */
    for (uint16_t p = 1; p <= 50; p++) {
        w_pkt(w, 6, 60000, 7, p, TCP, S, 44);
        if (p == 22) {
            w_pkt(w, 7, 22, 6, 60000, TCP, S | A, 44);
            w_pkt(w, 6, 60000, 7, 22, TCP, R, 40);
        } else {
            w_pkt(w, 7, p, 6, 60000, TCP, R | A, 40);
        }
    }
    /* 5: UDP request/response 8:33000 -> 9:53 */
    w_pkt(w, 8, 33000, 9, 53, UDP, 0, 70);
    w_pkt(w, 9, 53, 8, 33000, UDP, 0, 200);
    /* 6: one-way syslog 10:40001 -> 11:514, and 12:514 -> 11:514 */
    for (int i = 0; i < 5; i++) {
        w_pkt(w, 10, 40001, 11, 514, UDP, 0, 200);
        w_pkt(w, 12, 514, 11, 514, UDP, 0, 200);
    }
    /* 7: ntp symmetric 13:123 <-> 14:123 */
    w_pkt(w, 13, 123, 14, 123, UDP, 0, 76);
    w_pkt(w, 14, 123, 13, 123, UDP, 0, 76);
    /* 8: active FTP: control 15:40010 -> 16:21, data 16:20 -> 15:50001 */
    tcp_conn(w, 15, 40010, 16, 21);
    tcp_conn(w, 16, 20, 15, 50001);
    /* 9: spoofed SYN flood on 18:80 from 200..249, some answer RST; one real client 17 */
    for (int i = 0; i < 50; i++) {
        uint8_t src = (uint8_t)(200 + i);
        w_pkt(w, src, (uint16_t)(1024 + i), 18, 80, TCP, S, 60);
        w_pkt(w, 18, 80, src, (uint16_t)(1024 + i), TCP, S | A, 60);
        if (i % 3 == 0)
            w_pkt(w, src, (uint16_t)(1024 + i), 18, 80, TCP, R, 40);
    }
    tcp_conn(w, 17, 45000, 18, 80);
    /* 10: FIN / Xmas / Null scan of 20 from 19:61000: closed ports RST, open silent */
    const uint8_t probes[3] = {F, F | P | CMN_TCP_URG, 0};
    for (uint16_t p = 1; p <= 30; p++) {
        w_pkt(w, 19, 61000, 20, p, TCP, probes[p % 3], 40);
        if (p % 5)
            w_pkt(w, 20, p, 19, 61000, TCP, R | A, 40);
    }
}

TEST(scenario_roles)
{
    struct world w;
    w_init(&w, 0, 1);
    scenarios(&w);
    w_flush(&w);
    float c = 0;
    /* 1 */
    FAIL_IF_NOT(w_role(&w, 2, TCP, 8080, &c) == CMN_ROLE_SERVER && c > 0.8f && c <= 1.0f);
    FAIL_IF_NOT(w_role(&w, 1, TCP, 40000, &c) == CMN_ROLE_CLIENT && c > 0.8f);
    /* 2 */
    FAIL_IF_NOT(w_role(&w, 4, TCP, 5432, NULL) == CMN_ROLE_SERVER);
    FAIL_IF_NOT(w_role(&w, 3, TCP, 40500, NULL) == CMN_ROLE_CLIENT);
    /* 3 */
    FAIL_IF_NOT(w_role(&w, 5, UDP, 50000, NULL) == CMN_ROLE_CLIENT);
    FAIL_IF_NOT(w_role(&w, 5, TCP, 41007, NULL) == CMN_ROLE_CLIENT);
    for (int i = 0; i < 100; i++) {
        FAIL_IF_NOT(w_role(&w, (uint8_t)(100 + i), UDP, 161, NULL) == CMN_ROLE_SERVER);
        FAIL_IF_NOT(w_role(&w, (uint8_t)(100 + i), TCP, 9100, NULL) == CMN_ROLE_SERVER);
    }
    /* 4 */
    FAIL_IF_NOT(w_role(&w, 6, TCP, 60000, &c) == CMN_ROLE_UNKNOWN && c == 0.0f);
    for (uint16_t p = 1; p <= 50; p++) /* RST ports: no service; 22 answered SYN+ACK: R0 */
        FAIL_IF_NOT(w_role(&w, 7, TCP, p, NULL) == (p == 22 ? CMN_ROLE_SERVER : CMN_ROLE_UNKNOWN));
    /* 5 */
    FAIL_IF_NOT(w_role(&w, 9, UDP, 53, NULL) == CMN_ROLE_SERVER);
    FAIL_IF_NOT(w_role(&w, 8, UDP, 33000, NULL) == CMN_ROLE_CLIENT);
    /* 6 */
    FAIL_IF_NOT(w_role(&w, 11, UDP, 514, NULL) == CMN_ROLE_SERVER);
    FAIL_IF_NOT(w_role(&w, 10, UDP, 40001, NULL) == CMN_ROLE_CLIENT);
    FAIL_IF_NOT(w_role(&w, 12, UDP, 514, NULL) != CMN_ROLE_SERVER);
    /* 7: 13 only asked: no service (issue 8, class 3) */
    FAIL_IF_NOT(w_role(&w, 13, UDP, 123, NULL) == CMN_ROLE_CLIENT);
    FAIL_IF_NOT(w_role(&w, 14, UDP, 123, NULL) == CMN_ROLE_SERVER);
    /* 8 */
    FAIL_IF_NOT(w_role(&w, 16, TCP, 21, NULL) == CMN_ROLE_SERVER);
    FAIL_IF_NOT(w_role(&w, 16, TCP, 20, NULL) == CMN_ROLE_SERVER);
    FAIL_IF_NOT(w_role(&w, 15, TCP, 40010, NULL) == CMN_ROLE_CLIENT);
    FAIL_IF(w_role(&w, 15, TCP, 50001, NULL) == CMN_ROLE_SERVER);
    /* 9 */
    FAIL_IF_NOT(w_role(&w, 18, TCP, 80, NULL) == CMN_ROLE_SERVER);
    FAIL_IF_NOT(w_role(&w, 17, TCP, 45000, NULL) == CMN_ROLE_CLIENT);
    for (int i = 0; i < 50; i++)
        FAIL_IF_NOT(w_role(&w, (uint8_t)(200 + i), TCP, (uint16_t)(1024 + i), NULL) ==
                    CMN_ROLE_UNKNOWN);
    /* 10 */
    FAIL_IF_NOT(w_role(&w, 19, TCP, 61000, NULL) == CMN_ROLE_UNKNOWN);
    for (uint16_t p = 1; p <= 30; p++)
        FAIL_IF_NOT(w_role(&w, 20, TCP, p, NULL) == CMN_ROLE_UNKNOWN);
    w_fini(&w);
    PASS;
}

/* One UDP packet between arbitrary IPv4 addresses. */
static void w_udp4(struct world *w, const uint8_t s4[4], uint16_t sp, const uint8_t d4[4],
                   uint16_t dp)
{
    struct cmn_record r = tu_rec(w->ts, 0, sp, 0, dp, UDP, 0, 300);
    w->ts += 1000000;
    cmn_ip_from_v4(r.src, s4);
    cmn_ip_from_v4(r.dst, d4);
    struct trk_key k;
    int dir = trk_key_from_record(&k, &r);
    trk_table_update_with_hash(w->t, &k, trk_table_hash(w->t, &k), dir, &r);
}

static enum cmn_role w_role4(struct world *w, const uint8_t a4[4], uint16_t port)
{
    uint8_t ip[16];
    cmn_ip_from_v4(ip, a4);
    struct cmn_endpoint_rec ev;
    if (!trk_endpoints_get(w->e, ip, UDP, port, &ev))
        return (enum cmn_role)99; /* no evidence at all */
    return (enum cmn_role)ev.role;
}

/* Broadcast / multicast and DHCP: groups make no evidence, udp/67 serves. */
TEST(groups_and_dhcp)
{
    static const uint8_t any[4] = {0, 0, 0, 0}, bcast[4] = {255, 255, 255, 255},
                         srv[4] = {10, 0, 0, 1}, cli[4] = {10, 0, 0, 50}, h5[4] = {10, 0, 0, 5},
                         h6[4] = {10, 0, 0, 6}, dir[4] = {10, 0, 0, 255},
                         mdns[4] = {224, 0, 0, 251}, ssdp[4] = {239, 255, 255, 250},
                         far[4] = {192, 168, 9, 9};
    struct world w;
    w_init(&w, 0, 1);
    /* DHCP: discover/request from 0.0.0.0, offer/ack broadcast, then a renewal */
    for (int i = 0; i < 2; i++) {
        w_udp4(&w, any, 68, bcast, 67);
        w_udp4(&w, srv, 67, bcast, 68);
    }
    w_udp4(&w, srv, 67, cli, 68); /* a unicast ack to the offered address */
    w_udp4(&w, cli, 68, srv, 67); /* renewal */
    w_udp4(&w, srv, 67, cli, 68);
    /* announcements: NetBIOS datagrams to the /24 broadcast, mDNS, SSDP */
    for (int i = 0; i < 4; i++) {
        w_udp4(&w, h5, 138, dir, 138);
        w_udp4(&w, h6, 138, dir, 138);
        w_udp4(&w, h5, 5353, mdns, 5353);
        w_udp4(&w, h6, 5353, mdns, 5353);
        w_udp4(&w, h6, (uint16_t)(50000 + i), ssdp, 1900);
    }
    /* a .255 reached from another network is an ordinary address */
    w_udp4(&w, far, 40000, dir, 9999);
    w_udp4(&w, dir, 9999, far, 40000);
    w_flush(&w);
    FAIL_IF_NOT(w_role4(&w, srv, 67) == CMN_ROLE_SERVER);
    FAIL_IF_NOT(w_role4(&w, cli, 68) == CMN_ROLE_CLIENT);
    FAIL_IF_NOT(w_role4(&w, any, 68) == (enum cmn_role)99);
    FAIL_IF_NOT(w_role4(&w, bcast, 67) == (enum cmn_role)99);
    FAIL_IF_NOT(w_role4(&w, bcast, 68) == (enum cmn_role)99);
    FAIL_IF_NOT(w_role4(&w, dir, 138) == (enum cmn_role)99);
    FAIL_IF_NOT(w_role4(&w, h5, 138) == (enum cmn_role)99);
    FAIL_IF_NOT(w_role4(&w, mdns, 5353) == (enum cmn_role)99);
    FAIL_IF_NOT(w_role4(&w, h5, 5353) == (enum cmn_role)99);
    FAIL_IF_NOT(w_role4(&w, ssdp, 1900) == (enum cmn_role)99);
    FAIL_IF_NOT(w_role4(&w, dir, 9999) == CMN_ROLE_SERVER);
    /* the pure rule, on evidence alone: a DHCP server that only broadcast */
    struct cmn_endpoint_rec ev = {.proto = UDP, .port = 67, .pkts_out = 4, .peers = 1};
    float c = 0;
    FAIL_IF_NOT(trk_role_decide(&ev, &c) == CMN_ROLE_SERVER && c > 0.8f);
    ev.pkts_out = 0;
    ev.pkts_in = 3;
    FAIL_IF_NOT(trk_role_decide(&ev, &c) == CMN_ROLE_UNKNOWN && c == 0.0f);
    ev.port = 68; /* a client port that only received (an offer) serves nobody */
    FAIL_IF_NOT(trk_role_decide(&ev, NULL) == CMN_ROLE_UNKNOWN);
    ev.pkts_out = 1;
    FAIL_IF_NOT(trk_role_decide(&ev, NULL) == CMN_ROLE_CLIENT);
    w_fini(&w);
    PASS;
}

/* G4: a datagram port that refused with ICMP and sent nothing is closed;
 * G5: a few unanswered datagrams of one session to an ephemeral port are no
 * listener. Neither touches a port that answered, nor TCP. */
TEST(icmp_closed_and_one_off)
{
    struct cmn_endpoint_rec ev = {.proto = UDP,
                                  .port = 514,
                                  .pkts_in = 40,
                                  .peers = 3,
                                  .peer_ports = 3,
                                  .sessions = 3,
                                  .resp_sessions = 3};
    FAIL_IF_NOT(trk_role_decide(&ev, NULL) == CMN_ROLE_SERVER); /* one-way syslog */
    ev.rst_sent = 1;
    FAIL_IF_NOT(trk_role_decide(&ev, NULL) == CMN_ROLE_UNKNOWN); /* refused: closed */
    ev.pkts_out = 2; /* it did answer someone: the refusal does not gate it */
    FAIL_IF_NOT(trk_role_decide(&ev, NULL) == CMN_ROLE_SERVER);
    struct cmn_endpoint_rec hi = {.proto = UDP,
                                  .port = 33440,
                                  .pkts_in = 1,
                                  .peers = 1,
                                  .peer_ports = 1,
                                  .sessions = 1,
                                  .resp_sessions = 1};
    FAIL_IF_NOT(trk_role_decide(&hi, NULL) == CMN_ROLE_UNKNOWN); /* an expired probe */
    hi.pkts_in = 4;
    FAIL_IF_NOT(trk_role_decide(&hi, NULL) == CMN_ROLE_SERVER); /* a one-way stream */
    hi.pkts_in = 1;
    hi.port = 30000; /* below the ephemeral range: the score decides */
    FAIL_IF_NOT(trk_role_decide(&hi, NULL) == CMN_ROLE_SERVER);
    PASS;
}

/* Issue 8, class 3: an endpoint that began every one of its sessions is no
 * server, whatever its port prior and fan-in: an NTP client on 123 asking one
 * or two servers, a DNS forwarder's 53 -> 53 queries, an NTP 123 -> 123
 * initiator; a peer asked in both directions stays a server. */
TEST(initiators_only)
{
    struct world w;
    w_init(&w, 0, 1);
    for (int i = 0; i < 3; i++) { /* 30:123 asks 31:123, 32:123 asks 33:123 and 34:123 */
        w_pkt(&w, 30, 123, 31, 123, UDP, 0, 76);
        w_pkt(&w, 31, 123, 30, 123, UDP, 0, 76);
        w_pkt(&w, 32, 123, (uint8_t)(33 + i % 2), 123, UDP, 0, 76);
        w_pkt(&w, (uint8_t)(33 + i % 2), 123, 32, 123, UDP, 0, 76);
    }
    w_pkt(&w, 35, 53, 36, 53, UDP, 0, 70); /* a forwarder's query 53 -> 53 */
    w_pkt(&w, 36, 53, 35, 53, UDP, 0, 200);
    w_pkt(&w, 37, 123, 38, 123, UDP, 0, 76); /* 37 and 38 ask each other */
    w_pkt(&w, 38, 123, 37, 123, UDP, 0, 76);
    w_pkt(&w, 39, 5000, 38, 123, UDP, 0, 76); /* and 38 serves 39 too */
    w_pkt(&w, 38, 123, 39, 5000, UDP, 0, 76);
    w_flush(&w);
    struct cmn_endpoint_rec ev;
    uint8_t ip[16];
    tu_ip4(ip, 10, 0, 0, 30);
    FAIL_IF_NOT(trk_endpoints_get(w.e, ip, UDP, 123, &ev) && ev.init_sessions == 1 &&
                ev.resp_sessions == 0);
    FAIL_IF_NOT(trk_role_score(&ev) > 0.1); /* the port prior alone says server */
    FAIL_IF_NOT(w_role(&w, 30, UDP, 123, NULL) == CMN_ROLE_CLIENT);
    FAIL_IF_NOT(w_role(&w, 31, UDP, 123, NULL) == CMN_ROLE_SERVER);
    FAIL_IF_NOT(w_role(&w, 32, UDP, 123, NULL) == CMN_ROLE_CLIENT);
    FAIL_IF_NOT(w_role(&w, 33, UDP, 123, NULL) == CMN_ROLE_SERVER);
    FAIL_IF_NOT(w_role(&w, 35, UDP, 53, NULL) == CMN_ROLE_CLIENT);
    FAIL_IF_NOT(w_role(&w, 36, UDP, 53, NULL) == CMN_ROLE_SERVER);
    FAIL_IF_NOT(w_role(&w, 38, UDP, 123, NULL) == CMN_ROLE_SERVER);
    /* the pure rule: only began sessions, fan-out to 20 peers on 123 */
    struct cmn_endpoint_rec x = {.proto = UDP,
                                 .port = 123,
                                 .peers = 20,
                                 .peer_ports = 20,
                                 .sessions = 20,
                                 .init_sessions = 20,
                                 .pkts_out = 40,
                                 .pkts_in = 40};
    FAIL_IF_NOT(trk_role_decide(&x, NULL) == CMN_ROLE_CLIENT);
    x.resp_sessions = 1; /* one accepted conversation: the score decides */
    FAIL_IF_NOT(trk_role_decide(&x, NULL) == CMN_ROLE_SERVER);
    x.resp_sessions = 0;
    x.init_sessions = 0; /* mid-stream only: no opening seen either way */
    FAIL_IF_NOT(trk_role_decide(&x, NULL) == CMN_ROLE_SERVER);
    w_fini(&w);
    PASS;
}

/* Issue 8, class 4: a listener on a high port with one session (a P2P node,
 * a passive FTP data port) is a server; the client end of active FTP data is
 * not, whatever its port number (it is told by the peer's port 20). */
TEST(high_port_listeners)
{
    struct world w;
    w_init(&w, 0, 1);
    tcp_conn(&w, 41, 50500, 40, 45000); /* a P2P peer reaches 40's listener once */
    tcp_conn(&w, 42, 40010, 43, 21);    /* passive FTP: control, then data to 43:55000 */
    tcp_conn(&w, 42, 40011, 43, 55000);
    tcp_conn(&w, 44, 40020, 45, 21); /* active FTP: 45:20 opens 44:2000 and 44:50002 */
    tcp_conn(&w, 45, 20, 44, 2000);
    tcp_conn(&w, 45, 20, 44, 50002);
    tcp_conn(&w, 46, 20, 47, 50003); /* 47:50003 is reused to connect out */
    tcp_conn(&w, 47, 50003, 48, 80);
    w_flush(&w);
    FAIL_IF_NOT(w_role(&w, 40, TCP, 45000, NULL) == CMN_ROLE_SERVER);
    FAIL_IF_NOT(w_role(&w, 41, TCP, 50500, NULL) == CMN_ROLE_CLIENT);
    FAIL_IF_NOT(w_role(&w, 43, TCP, 55000, NULL) == CMN_ROLE_SERVER);
    FAIL_IF_NOT(w_role(&w, 42, TCP, 40011, NULL) == CMN_ROLE_CLIENT);
    FAIL_IF_NOT(w_role(&w, 45, TCP, 20, NULL) == CMN_ROLE_SERVER);
    FAIL_IF_NOT(w_role(&w, 44, TCP, 2000, NULL) == CMN_ROLE_CLIENT);
    FAIL_IF_NOT(w_role(&w, 44, TCP, 50002, NULL) == CMN_ROLE_CLIENT);
    FAIL_IF(w_role(&w, 47, TCP, 50003, NULL) == CMN_ROLE_SERVER);
    struct cmn_endpoint_rec ev;
    uint8_t ip[16];
    tu_ip4(ip, 10, 0, 0, 44);
    FAIL_IF_NOT(trk_endpoints_get(w.e, ip, TCP, 2000, &ev) && ev.ftp_data_sessions == 1);
    w_fini(&w);
    PASS;
}

/* Issue 8, class 5: conversations running before the capture (no
 * handshake), the client's port below the server's. Fan-in and a port that
 * stays fixed while the peer's changes outweigh the lower-port bonus and the
 * ephemeral prior: the server's score is higher than each client's, so the
 * merger's both-servers rule (confidence) picks it. */
TEST(midstream_low_client_port)
{
    struct world w;
    w_init(&w, 0, 1);
    for (int r = 0; r < 6; r++) {
        for (int i = 0; i < 3; i++) { /* 51..53:2000x <-> 50:50020, server's answer first */
            w_pkt(&w, 50, 50020, (uint8_t)(51 + i), (uint16_t)(20000 + i), TCP, A | P, 900);
            w_pkt(&w, (uint8_t)(51 + i), (uint16_t)(20000 + i), 50, 50020, TCP, A | P, 300);
        }
        /* one client reconnecting from a new port each time: 55 -> 54:40000 */
        w_pkt(&w, 55, (uint16_t)(30000 + r / 3), 54, 40000, TCP, A | P, 300);
        w_pkt(&w, 54, 40000, 55, (uint16_t)(30000 + r / 3), TCP, A | P, 900);
    }
    w_flush(&w);
    float cs = 0, cc = 0;
    FAIL_IF_NOT(w_role(&w, 50, TCP, 50020, &cs) == CMN_ROLE_SERVER);
    for (int i = 0; i < 3; i++) {
        enum cmn_role r = w_role(&w, (uint8_t)(51 + i), TCP, (uint16_t)(20000 + i), &cc);
        FAIL_IF_NOT(r != CMN_ROLE_SERVER || cc < cs);
    }
    FAIL_IF_NOT(w_role(&w, 54, TCP, 40000, &cs) == CMN_ROLE_SERVER);
    FAIL_IF(w_role(&w, 55, TCP, 30000, &cc) == CMN_ROLE_SERVER && cc >= cs);
    w_fini(&w);
    PASS;
}

TEST(evidence_fields)
{
    struct world w;
    w_init(&w, 0, 1);
    tcp_conn(&w, 1, 40000, 2, 8080);
    tcp_conn(&w, 1, 40001, 2, 8080);
    tcp_conn(&w, 3, 40000, 2, 8080);
    w_flush(&w);
    uint8_t ip[16];
    tu_ip4(ip, 10, 0, 0, 2);
    struct cmn_endpoint_rec ev;
    FAIL_IF_NOT(trk_endpoints_get(w.e, ip, TCP, 8080, &ev));
    FAIL_IF_NOT(ev.peers == 2 && ev.peer_ports == 2 && ev.sessions == 3);
    FAIL_IF_NOT(ev.synack_sent == 3 && ev.syn_recv == 3 && ev.syn_sent == 0);
    FAIL_IF_NOT(ev.resp_sessions == 3 && ev.init_sessions == 0 && ev.lower_port_sessions == 3);
    FAIL_IF_NOT(ev.pkts_in == 15 && ev.pkts_out == 9 && ev.epochs_seen == 1);
    FAIL_IF_NOT(ev.bytes_out == 3 * (60 + 1400 + 52) && ev.first_ns > 0 &&
                ev.last_ns > ev.first_ns);
    FAIL_IF_NOT(trk_endpoints_count(w.e) == 4 && trk_endpoints_changed(w.e) == 0);
    /* a second epoch: nothing new in the sets, epochs_seen grows */
    tcp_conn(&w, 1, 40000, 2, 8080); /* same 5-tuple within the timeout: same session */
    w_flush(&w);
    FAIL_IF_NOT(trk_endpoints_get(w.e, ip, TCP, 8080, &ev));
    FAIL_IF_NOT(ev.sessions == 3 && ev.epochs_seen == 2 && ev.resp_sessions == 3);
    FAIL_IF_NOT(ev.synack_sent == 4);
    trk_endpoints_reset(w.e);
    FAIL_IF_NOT(trk_endpoints_count(w.e) == 0);
    w_fini(&w);
    PASS;
}

TEST(pure_function)
{
    struct cmn_endpoint_rec ev;
    memset(&ev, 0, sizeof(ev));
    float c = 1;
    FAIL_IF_NOT(trk_role_decide(&ev, &c) == CMN_ROLE_UNKNOWN && c == 0.0f);
    ev.proto = TCP;
    ev.port = 443;
    ev.synack_sent = 10;
    ev.syn_recv = 10;
    ev.pkts_out = 100;
    ev.pkts_in = 120;
    ev.peers = 5;
    ev.peer_ports = 10;
    ev.sessions = 10;
    ev.resp_sessions = 10;
    ev.lower_port_sessions = 10;
    FAIL_IF_NOT(trk_role_decide(&ev, &c) == CMN_ROLE_SERVER && c > 0.9f && c < 1.0f);
    FAIL_IF_NOT(trk_role_decide(&ev, NULL) == CMN_ROLE_SERVER);
    FAIL_IF_NOT(trk_role_score(&ev) > 5);
    ev.rst_sent = 100; /* everything it sent was RST: not a server */
    ev.synack_sent = 0;
    FAIL_IF_NOT(trk_role_decide(&ev, &c) == CMN_ROLE_UNKNOWN);
    PASS;
}

/* Evidence without the epoch-dependent epochs_seen, for comparisons. */
static bool same_evidence(const struct cmn_endpoint_rec *x, const struct cmn_endpoint_rec *y)
{
    struct cmn_endpoint_rec a = *x, b = *y;
    a.epochs_seen = b.epochs_seen = 0;
    return memcmp(&a, &b, sizeof(a)) == 0;
}

TEST(invariant_to_flushes_and_trackers)
{
    struct world one, often, split[3];
    w_init(&one, 0, 1);
    w_init(&often, 0, 1);
    for (unsigned i = 0; i < 3; i++)
        w_init(&split[i], i, 3);
    often.flush_every = 7; /* many small epochs instead of one */
    scenarios(&one);
    w_flush(&one);
    scenarios(&often);
    w_flush(&often);
    for (unsigned i = 0; i < 3; i++) {
        split[i].flush_every = 5 + i;
        scenarios(&split[i]);
        w_flush(&split[i]);
    }
    int checked = 0;
    for (unsigned host = 1; host < 250; host++) {
        uint8_t ip[16];
        tu_ip4(ip, 10, 0, 0, (uint8_t)host);
        static const uint16_t ports[] = {8080, 40000, 5432,  40500, 50000, 9100, 161,  60000, 22,
                                         53,   33000, 514,   40001, 123,   21,   20,   40010, 50001,
                                         80,   45000, 61000, 1,     2,     3,    41007};
        for (size_t p = 0; p < sizeof(ports) / sizeof(ports[0]); p++) {
            for (uint8_t proto = 6; proto <= 17; proto += 11) {
                struct cmn_endpoint_rec a, b, c;
                bool ha = trk_endpoints_get(one.e, ip, proto, ports[p], &a);
                bool hb = trk_endpoints_get(often.e, ip, proto, ports[p], &b);
                bool hc = trk_endpoints_get(split[host % 3].e, ip, proto, ports[p], &c);
                FAIL_IF_NOT(ha == hb && ha == hc);
                if (!ha)
                    continue;
                FAIL_IF_NOT(same_evidence(&a, &b) && same_evidence(&a, &c));
                FAIL_IF_NOT(a.role == b.role && a.role == c.role);
                FAIL_IF_NOT(a.epochs_seen <= b.epochs_seen);
                checked++;
            }
        }
    }
    FAIL_IF_NOT(checked > 50);
    w_fini(&one);
    w_fini(&often);
    for (unsigned i = 0; i < 3; i++)
        w_fini(&split[i]);
    PASS;
}

TEST_MAIN(TEST_ENTRY(scenario_roles) TEST_ENTRY(groups_and_dhcp) TEST_ENTRY(icmp_closed_and_one_off)
              TEST_ENTRY(initiators_only) TEST_ENTRY(high_port_listeners)
                  TEST_ENTRY(midstream_low_client_port) TEST_ENTRY(evidence_fields)
                      TEST_ENTRY(pure_function) TEST_ENTRY(invariant_to_flushes_and_trackers))
