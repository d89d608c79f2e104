/* SPDX-License-Identifier: MIT
 * test_parse: cmn_parse on crafted frames, one per encapsulation and per
 * malformed reason, plus every packet of the real captures (no crash, no
 * record without a reason, same record count as packets minus drops). Frames
 * are built with a tiny byte builder so each case shows its layers.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cmn_capfile.h"
#include "cmn_ip.h"
#include "cmn_parse.h"
#include "harness.h"

/* A frame under construction. */
struct fb {
    uint8_t b[512]; /* bytes */
    uint32_t n;     /* used */
};

static void s_bytes(struct fb *f, const void *p, uint32_t n)
{
    if (n == 0)
        return;
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void s_u8(struct fb *f, uint8_t v)
{
    f->b[f->n++] = v;
}

static void s_u16(struct fb *f, uint16_t v)
{
    s_u8(f, (uint8_t)(v >> 8));
    s_u8(f, (uint8_t)v);
}

static void s_u32(struct fb *f, uint32_t v)
{
    s_u16(f, (uint16_t)(v >> 16));
    s_u16(f, (uint16_t)v);
}

static void s_eth(struct fb *f, uint16_t type)
{
    static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
    s_bytes(f, macs, 12);
    s_u16(f, type);
}

static void s_vlan(struct fb *f, uint16_t tpid_next, uint16_t vid)
{
    s_u16(f, vid);
    s_u16(f, tpid_next);
}

/* IPv4 header, 20 bytes; total = 20 + payload. */
static void s_ip4(struct fb *f, uint8_t proto, uint16_t payload, uint16_t frag, uint8_t last)
{
    s_u8(f, 0x45);
    s_u8(f, 0);
    s_u16(f, (uint16_t)(20 + payload));
    s_u16(f, 0x1234); /* id */
    s_u16(f, frag);
    s_u8(f, 64); /* ttl */
    s_u8(f, proto);
    s_u16(f, 0);
    s_u32(f, 0x0a000001);
    s_u32(f, 0x0a000000u | last);
}

static void s_ip6(struct fb *f, uint8_t nh, uint16_t plen, uint8_t last)
{
    s_u32(f, 0x60000000);
    s_u16(f, plen);
    s_u8(f, nh);
    s_u8(f, 63);
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
    a[15] = 1;
    s_bytes(f, a, 16);
    a[15] = last;
    s_bytes(f, a, 16);
}

static void s_tcp(struct fb *f, uint16_t sp, uint16_t dp, uint8_t flags)
{
    s_u16(f, sp);
    s_u16(f, dp);
    s_u32(f, 1000);
    s_u32(f, 2000);
    s_u8(f, 0x50);
    s_u8(f, flags);
    s_u16(f, 65535);
    s_u32(f, 0);
}

static void s_udp(struct fb *f, uint16_t sp, uint16_t dp, uint16_t payload)
{
    s_u16(f, sp);
    s_u16(f, dp);
    s_u16(f, (uint16_t)(8 + payload));
    s_u16(f, 0);
}

static bool s_is_v4(const uint8_t ip[16], uint8_t last)
{
    uint8_t want[16];
    const uint8_t v4[4] = {10, 0, 0, last};
    cmn_ip_from_v4(want, v4);
    return memcmp(ip, want, 16) == 0;
}

static int s_same_both_ways(const uint8_t *b, uint32_t n, uint32_t lt, uint64_t ts);

static enum cmn_parse_result s_parse(const struct fb *f, uint32_t lt, struct cmn_record *r)
{
    memset(r, 0xee, sizeof(*r));
    return cmn_parse_packet(f->b, f->n, lt, 42, NULL, r);
}

TEST(ethernet_tcp)
{
    struct fb f = {0};
    struct cmn_record r;
    s_eth(&f, 0x0800);
    s_ip4(&f, 6, 20 + 4, 0, 2);
    s_tcp(&f, 40000, 443, 0x12);
    s_bytes(&f, "DATA", 4);
    s_bytes(&f, "\0\0\0\0\0\0", 6); /* Ethernet padding beyond total length */
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_EN10MB, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(s_is_v4(r.src, 1) && s_is_v4(r.dst, 2));
    FAIL_IF_NOT(r.sport == 40000 && r.dport == 443 && r.proto == 6 && r.tcp_flags == 0x12);
    FAIL_IF_NOT(r.ip_len == 44 && r.ttl == 64 && r.ip_id == 0x1234 && r.flags == 0);
    FAIL_IF_NOT(r.ts_ns == 42 && r.pad == 0);
    /* The signature ignores TTL and L2 but sees the payload. */
    uint32_t sig = r.sig;
    f.b[14 + 8] = 63;
    f.b[0] = 0xff;
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_EN10MB, &r) == CMN_PARSE_OK && r.sig == sig);
    FAIL_IF_NOT(r.ttl == 63);
    f.b[14 + 40] = 'X';
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_EN10MB, &r) == CMN_PARSE_OK && r.sig != sig);
    PASS;
}

TEST(vlan_qinq)
{
    struct fb f = {0};
    struct cmn_record r;
    s_eth(&f, 0x88a8);
    s_vlan(&f, 0x8100, 100);
    s_vlan(&f, 0x9100, 200);
    s_vlan(&f, 0x0800, 0x2000 | 300); /* PCP bits are not the VLAN id */
    s_ip4(&f, 17, 8, 0, 3);
    s_udp(&f, 53, 5353, 0);
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_EN10MB, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags == CMN_REC_VLAN && r.vlan == 300);
    FAIL_IF_NOT(r.sport == 53 && r.dport == 5353 && r.proto == 17);
    /* cut inside the second tag */
    f.n = 14 + 6;
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_EN10MB, &r) == CMN_PARSE_TRUNCATED_L2);
    PASS;
}

TEST(mpls_and_pseudowire)
{
    struct fb f = {0};
    struct cmn_record r;
    s_eth(&f, 0x8847);
    s_u32(&f, (16u << 12) | 0x40);      /* label 16, not bottom */
    s_u32(&f, (17u << 12) | 0x100 | 1); /* bottom of stack */
    s_ip6(&f, 6, 20, 9);
    s_tcp(&f, 1, 2, 0x02);
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_EN10MB, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.proto == 6 && r.ip_len == 60 && r.ttl == 63 && r.dst[15] == 9);

    struct fb g = {0};
    s_eth(&g, 0x8848);
    s_u32(&g, (20u << 12) | 0x100 | 1);
    s_u32(&g, 0); /* control word */
    s_eth(&g, 0x8100);
    s_vlan(&g, 0x0800, 7);
    s_ip4(&g, 1, 8, 0, 4);
    s_u8(&g, 8);
    s_u8(&g, 0);
    s_u16(&g, 0);
    s_u32(&g, 0x00010001);
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_EN10MB, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.proto == 1 && r.sport == (8 << 8) && r.dport == 0 && r.vlan == 7);

    /* a stack without bottom that runs out of bytes */
    struct fb h = {0};
    s_eth(&h, 0x8847);
    s_u32(&h, 16u << 12);
    FAIL_IF_NOT(s_parse(&h, CMN_LINK_EN10MB, &r) == CMN_PARSE_TRUNCATED_L2);
    /* 17 labels: too deep */
    struct fb d = {0};
    s_eth(&d, 0x8847);
    for (int i = 0; i < 17; i++)
        s_u32(&d, 16u << 12);
    FAIL_IF_NOT(s_parse(&d, CMN_LINK_EN10MB, &r) == CMN_PARSE_L2_TOO_DEEP);
    PASS;
}

TEST(pppoe)
{
    struct fb f = {0};
    struct cmn_record r;
    s_eth(&f, 0x8864);
    s_u8(&f, 0x11);
    s_u8(&f, 0);
    s_u16(&f, 1);
    s_u16(&f, 30);
    s_u16(&f, 0x0021);
    s_ip4(&f, 17, 8, 0, 5);
    s_udp(&f, 514, 514, 0);
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_EN10MB, &r) == CMN_PARSE_OK && r.dport == 514);
    f.b[14 + 7] = 0x21; /* PPP 0x0021 -> 0x0021? make it LCP 0xc021 */
    f.b[14 + 6] = 0xc0;
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_EN10MB, &r) == CMN_PARSE_NON_IP);
    PASS;
}

TEST(link_types)
{
    struct cmn_record r;
    struct fb ip = {0};
    s_ip4(&ip, 6, 20, 0, 6);
    s_tcp(&ip, 7, 8, 0x10);
    /* SLL: 16-byte header with protocol at 14 */
    struct fb f = {0};
    s_u16(&f, 0);
    s_u16(&f, 1);
    s_u16(&f, 6);
    s_bytes(&f, "\0\0\0\0\0\0\0\0", 8);
    s_u16(&f, 0x0800);
    s_bytes(&f, ip.b, ip.n);
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_SLL, &r) == CMN_PARSE_OK && r.dport == 8);
    /* SLL2: protocol first, 20 bytes */
    struct fb g = {0};
    s_u16(&g, 0x0800);
    s_bytes(&g, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 18);
    s_bytes(&g, ip.b, ip.n);
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_SLL2, &r) == CMN_PARSE_OK && r.sport == 7);
    /* raw variants */
    FAIL_IF_NOT(s_parse(&ip, CMN_LINK_RAW, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(s_parse(&ip, CMN_LINK_RAW_OLD, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(s_parse(&ip, CMN_LINK_RAW_OBSD, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(s_parse(&ip, CMN_LINK_IPV4, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(s_parse(&ip, CMN_LINK_IPV6, &r) == CMN_PARSE_BAD_IP_VERSION);
    /* NULL in both byte orders, LOOP, IPv6 families 24/28/30 */
    const uint8_t fams[][4] = {{2, 0, 0, 0}, {0, 0, 0, 2}};
    for (int i = 0; i < 2; i++) {
        struct fb h = {0};
        s_bytes(&h, fams[i], 4);
        s_bytes(&h, ip.b, ip.n);
        FAIL_IF_NOT(s_parse(&h, CMN_LINK_NULL, &r) == CMN_PARSE_OK);
        FAIL_IF_NOT(s_parse(&h, CMN_LINK_LOOP, &r) == CMN_PARSE_OK);
    }
    struct fb v6 = {0};
    s_ip6(&v6, 17, 8, 7);
    s_udp(&v6, 1, 2, 0);
    const uint8_t af6[] = {24, 28, 30};
    for (int i = 0; i < 3; i++) {
        struct fb h = {0};
        s_u8(&h, af6[i]);
        s_bytes(&h, "\0\0\0", 3);
        s_bytes(&h, v6.b, v6.n);
        FAIL_IF_NOT(s_parse(&h, CMN_LINK_NULL, &r) == CMN_PARSE_OK && r.dst[15] == 7);
    }
    struct fb h = {0};
    s_u32(&h, 7); /* AF 7: not IP */
    FAIL_IF_NOT(s_parse(&h, CMN_LINK_NULL, &r) == CMN_PARSE_NON_IP);
    FAIL_IF_NOT(s_parse(&ip, 192, &r) == CMN_PARSE_UNSUPPORTED_LINKTYPE); /* PPI */
    FAIL_IF_NOT(s_parse(&ip, 6, &r) == CMN_PARSE_UNSUPPORTED_LINKTYPE);   /* token ring */
    /* renkei framing around SLL2 */
    struct fb k = {0};
    uint8_t hdr[CMN_PARSE_RENKEI_HLEN];
    cmn_parse_renkei_header(hdr, CMN_LINK_SLL2);
    s_bytes(&k, hdr, sizeof(hdr));
    s_bytes(&k, g.b, g.n);
    FAIL_IF_NOT(s_parse(&k, CMN_LINK_RENKEI, &r) == CMN_PARSE_OK && r.sport == 7);
    k.b[0] = 'X';
    FAIL_IF_NOT(s_parse(&k, CMN_LINK_RENKEI, &r) == CMN_PARSE_BAD_RENKEI_HEADER);
    PASS;
}

/* `pre` + the IP packet `ip` + `post` as a frame. */
static struct fb s_wrap(const void *pre, uint32_t npre, const struct fb *ip, const void *post,
                        uint32_t npost)
{
    struct fb f = {0};
    s_bytes(&f, pre, npre);
    s_bytes(&f, ip->b, ip->n);
    s_bytes(&f, post, npost);
    return f;
}

/* Parse f as link type lt: OK and the very record the Ethernet frame `ref`
 * gives (fast path included), or `want` when that is not OK. */
static int s_as_ref(const struct fb *f, uint32_t lt, const struct cmn_record *ref,
                    enum cmn_parse_result want)
{
    struct cmn_record r;
    enum cmn_parse_result got = s_parse(f, lt, &r);
    if (got != want) {
        fprintf(stderr, "  link type %u: %s, want %s\n", lt, cmn_parse_result_name(got),
                cmn_parse_result_name(want));
        return 1;
    }
    if (want == CMN_PARSE_OK && memcmp(&r, ref, sizeof(r)) != 0) {
        fprintf(stderr, "  link type %u: record differs from the Ethernet one\n", lt);
        return 1;
    }
    return s_same_both_ways(f->b, f->n, lt, 42);
}

/* PPP, PPP_HDLC, Cisco HDLC, PPPoE, 802.11 bare and with radiotap: an IP
 * packet inside any of them makes the record the same packet makes inside
 * Ethernet (which takes the fast path); what carries no IP is non_ip. */
TEST(link_types_serial_and_wlan)
{
    struct fb ip = {0}, ip6 = {0};
    s_ip4(&ip, 6, 20, 0, 6);
    s_tcp(&ip, 40000, 443, 0x18);
    s_ip6(&ip6, 17, 8, 0xfb);
    s_udp(&ip6, 5353, 5353, 0);
    struct cmn_record ref4, ref6;
    struct fb e = {0};
    s_eth(&e, 0x0800);
    s_bytes(&e, ip.b, ip.n);
    FAIL_IF_NOT(s_parse(&e, CMN_LINK_EN10MB, &ref4) == CMN_PARSE_OK);
    e.n = 0;
    s_eth(&e, 0x86dd);
    s_bytes(&e, ip6.b, ip6.n);
    FAIL_IF_NOT(s_parse(&e, CMN_LINK_EN10MB, &ref6) == CMN_PARSE_OK);
    const uint8_t fcs[4] = {0xde, 0xad, 0xbe, 0xef};
    struct fb f;
    /* PPP: HDLC address/control or not, full or compressed protocol */
    f = s_wrap("\xff\x03\x00\x21", 4, &ip, NULL, 0);
    FAIL_IF(s_as_ref(&f, CMN_LINK_PPP, &ref4, CMN_PARSE_OK));
    FAIL_IF(s_as_ref(&f, CMN_LINK_PPP_HDLC, &ref4, CMN_PARSE_OK));
    f = s_wrap("\x00\x21", 2, &ip, fcs, 2); /* + a 16-bit FCS */
    FAIL_IF(s_as_ref(&f, CMN_LINK_PPP, &ref4, CMN_PARSE_OK));
    f = s_wrap("\x21", 1, &ip, NULL, 0);
    FAIL_IF(s_as_ref(&f, CMN_LINK_PPP, &ref4, CMN_PARSE_OK));
    f = s_wrap("\xff\x03\x00\x57", 4, &ip6, NULL, 0);
    FAIL_IF(s_as_ref(&f, CMN_LINK_PPP, &ref6, CMN_PARSE_OK));
    f = s_wrap("\x57", 1, &ip6, NULL, 0);
    FAIL_IF(s_as_ref(&f, CMN_LINK_PPP, &ref6, CMN_PARSE_OK));
    f = s_wrap("\xff\x03\xc0\x21\x01\x01\x00\x04", 8, &(struct fb){0}, NULL, 0); /* LCP */
    FAIL_IF(s_as_ref(&f, CMN_LINK_PPP, NULL, CMN_PARSE_NON_IP));
    f = s_wrap("\xff\x03\x00", 3, &(struct fb){0}, NULL, 0);
    FAIL_IF(s_as_ref(&f, CMN_LINK_PPP, NULL, CMN_PARSE_TRUNCATED_L2));
    f = s_wrap("", 0, &(struct fb){0}, NULL, 0);
    FAIL_IF(s_as_ref(&f, CMN_LINK_PPP, NULL, CMN_PARSE_TRUNCATED_L2));
    /* Cisco HDLC, and Cisco framing inside PPP_HDLC; SLARP carries no IP */
    f = s_wrap("\x0f\x00\x08\x00", 4, &ip, fcs, 4);
    FAIL_IF(s_as_ref(&f, CMN_LINK_C_HDLC, &ref4, CMN_PARSE_OK));
    FAIL_IF(s_as_ref(&f, CMN_LINK_PPP_HDLC, &ref4, CMN_PARSE_OK));
    f = s_wrap("\x8f\x00\x86\xdd", 4, &ip6, NULL, 0);
    FAIL_IF(s_as_ref(&f, CMN_LINK_C_HDLC, &ref6, CMN_PARSE_OK));
    f = s_wrap("\x8f\x00\x80\x35\x00\x00\x00\x00", 8, &(struct fb){0}, NULL, 0);
    FAIL_IF(s_as_ref(&f, CMN_LINK_C_HDLC, NULL, CMN_PARSE_NON_IP));
    f = s_wrap("\x0f\x00\x08", 3, &(struct fb){0}, NULL, 0);
    FAIL_IF(s_as_ref(&f, CMN_LINK_C_HDLC, NULL, CMN_PARSE_TRUNCATED_L2));
    /* PPPoE (LINKTYPE_PPP_ETHER): session data, discovery (PADI) */
    f = s_wrap("\x11\x00\x00\x01\x00\x2a\x00\x21", 8, &ip, NULL, 0);
    FAIL_IF(s_as_ref(&f, CMN_LINK_PPP_ETHER, &ref4, CMN_PARSE_OK));
    f = s_wrap("\x11\x00\x00\x01\x00\x32\x00\x57", 8, &ip6, NULL, 0);
    FAIL_IF(s_as_ref(&f, CMN_LINK_PPP_ETHER, &ref6, CMN_PARSE_OK));
    f = s_wrap("\x11\x09\x00\x00\x00\x00", 6, &(struct fb){0}, NULL, 0);
    FAIL_IF(s_as_ref(&f, CMN_LINK_PPP_ETHER, NULL, CMN_PARSE_NON_IP));
    f = s_wrap("\x11\x00\x00", 3, &(struct fb){0}, NULL, 0);
    FAIL_IF(s_as_ref(&f, CMN_LINK_PPP_ETHER, NULL, CMN_PARSE_TRUNCATED_L2));
    /* 802.11: MAC header (frame control, duration, 3 addresses, sequence) + LLC/SNAP */
    struct fb w = {0};
    s_bytes(&w, "\x08\x01\x00\x00", 4); /* data, ToDS */
    for (uint8_t i = 0; i < 18; i++)
        s_u8(&w, (uint8_t)(i + 1));
    s_u16(&w, 0x1000);
    uint32_t mac = w.n; /* 24 */
    s_bytes(&w, "\xaa\xaa\x03\x00\x00\x00\x08\x00", 8);
    f = s_wrap(w.b, w.n, &ip, fcs, 4);
    FAIL_IF(s_as_ref(&f, CMN_LINK_IEEE802_11, &ref4, CMN_PARSE_OK));
    struct fb rt = {0}; /* radiotap: version 0, length 12, TSFT-less flags field (FCS) */
    s_bytes(&rt, "\x00\x00\x0c\x00\x02\x00\x00\x00\x10\x00\x00\x00", 12);
    struct fb g = s_wrap(rt.b, rt.n, &f, NULL, 0);
    FAIL_IF(s_as_ref(&g, CMN_LINK_RADIOTAP, &ref4, CMN_PARSE_OK));
    g.b[0] = 1; /* radiotap version 1 does not exist */
    FAIL_IF(s_as_ref(&g, CMN_LINK_RADIOTAP, NULL, CMN_PARSE_NON_IP));
    g.b[0] = 0;
    g.n = 11;
    FAIL_IF(s_as_ref(&g, CMN_LINK_RADIOTAP, NULL, CMN_PARSE_TRUNCATED_L2));
    /* QoS data with four addresses and +HTC, IPv6 */
    struct fb q = {0};
    s_bytes(&q, "\x88\x83\x00\x00", 4); /* QoS data, ToDS+FromDS, order */
    for (uint8_t i = 0; i < 18; i++)
        s_u8(&q, i);
    s_u16(&q, 0);
    s_bytes(&q, "\x02\x00\x00\x00\x00\x00", 6); /* addr4 */
    s_bytes(&q, "\x05\x00", 2);                 /* QoS control: TID 5 */
    s_bytes(&q, "\x00\x00\x00\x00", 4);         /* HT control */
    s_bytes(&q, "\xaa\xaa\x03\x00\x00\x00\x86\xdd", 8);
    f = s_wrap(q.b, q.n, &ip6, NULL, 0);
    FAIL_IF(s_as_ref(&f, CMN_LINK_IEEE802_11, &ref6, CMN_PARSE_OK));
    g = s_wrap(rt.b, rt.n, &f, NULL, 0);
    FAIL_IF(s_as_ref(&g, CMN_LINK_RADIOTAP, &ref6, CMN_PARSE_OK));
    /* A-MSDU: the first subframe (DA, SA, length) then LLC */
    struct fb a = {0};
    s_bytes(&a, "\x88\x02\x00\x00", 4);
    for (uint8_t i = 0; i < 20; i++)
        s_u8(&a, 0);
    s_bytes(&a, "\x80\x00", 2); /* A-MSDU present */
    for (uint8_t i = 0; i < 12; i++)
        s_u8(&a, i);
    s_u16(&a, (uint16_t)(8 + ip.n));
    s_bytes(&a, "\xaa\xaa\x03\x00\x00\x00\x08\x00", 8);
    f = s_wrap(a.b, a.n, &ip, NULL, 0);
    FAIL_IF(s_as_ref(&f, CMN_LINK_IEEE802_11, &ref4, CMN_PARSE_OK));
    /* no IP: protected body, null data, beacon, ACK, non-SNAP LLC; cut headers */
    f = s_wrap(w.b, w.n, &ip, NULL, 0);
    f.b[1] |= 0x40;
    FAIL_IF(s_as_ref(&f, CMN_LINK_IEEE802_11, NULL, CMN_PARSE_NON_IP));
    f.b[1] &= (uint8_t)~0x40;
    f.b[0] = 0x48; /* null data */
    FAIL_IF(s_as_ref(&f, CMN_LINK_IEEE802_11, NULL, CMN_PARSE_NON_IP));
    f.b[0] = 0x80; /* beacon */
    FAIL_IF(s_as_ref(&f, CMN_LINK_IEEE802_11, NULL, CMN_PARSE_NON_IP));
    f.b[0] = 0xd4; /* ACK */
    FAIL_IF(s_as_ref(&f, CMN_LINK_IEEE802_11, NULL, CMN_PARSE_NON_IP));
    f.b[0] = 0x08;
    f.b[mac] = 0x42; /* STP's LLC */
    FAIL_IF(s_as_ref(&f, CMN_LINK_IEEE802_11, NULL, CMN_PARSE_NON_IP));
    f.b[mac] = 0xaa;
    for (uint32_t cut = 0; cut < mac + 8; cut++) {
        struct fb c = f;
        c.n = cut;
        FAIL_IF(s_as_ref(&c, CMN_LINK_IEEE802_11, NULL, CMN_PARSE_TRUNCATED_L2));
    }
    q.n = 25; /* QoS data cut inside the QoS control */
    FAIL_IF(s_as_ref(&q, CMN_LINK_IEEE802_11, NULL, CMN_PARSE_TRUNCATED_L2));
    PASS;
}

TEST(non_ip_and_llc)
{
    struct fb f = {0};
    struct cmn_record r;
    s_eth(&f, 0x0806);
    s_bytes(&f, "arp arp arp arp arp arp arp", 28);
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_EN10MB, &r) == CMN_PARSE_NON_IP);
    struct fb g = {0};
    s_eth(&g, 38); /* 802.3 length: STP LLC */
    s_bytes(&g, "\x42\x42\x03", 3);
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_EN10MB, &r) == CMN_PARSE_NON_IP);
    struct fb h = {0};
    s_eth(&h, 46); /* SNAP with ethertype IPv4 */
    s_bytes(&h, "\xaa\xaa\x03\x00\x00\x00\x08\x00", 8);
    s_ip4(&h, 17, 8, 0, 9);
    s_udp(&h, 9, 9, 0);
    FAIL_IF_NOT(s_parse(&h, CMN_LINK_EN10MB, &r) == CMN_PARSE_OK && r.dport == 9);
    struct fb t = {0};
    s_bytes(&t, "\1\2\3\4\5\6\7\10\11\12", 10);
    FAIL_IF_NOT(s_parse(&t, CMN_LINK_EN10MB, &r) == CMN_PARSE_TRUNCATED_L2);
    PASS;
}

TEST(ipv4_malformed)
{
    struct cmn_record r;
    struct fb f = {0};
    s_ip4(&f, 6, 20, 0, 1);
    s_tcp(&f, 1, 2, 0);
    struct fb g = f;
    g.b[0] = 0x44; /* IHL 4 */
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_IPV4, &r) == CMN_PARSE_BAD_IP_HEADER_LEN);
    g = f;
    g.b[0] = 0x55;
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_IPV4, &r) == CMN_PARSE_BAD_IP_VERSION);
    g = f;
    g.b[2] = 0, g.b[3] = 10; /* total length < IHL*4 */
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_IPV4, &r) == CMN_PARSE_BAD_IP_TOTAL_LEN);
    g = f;
    g.n = 19;
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_IPV4, &r) == CMN_PARSE_TRUNCATED_IP);
    g = f;
    g.b[0] = 0x4f; /* IHL 60 > captured 40 */
    g.b[2] = 0, g.b[3] = 100;
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_IPV4, &r) == CMN_PARSE_TRUNCATED_IP);
    g = f;
    g.b[20 + 12] = 0x40; /* TCP data offset 4: kept for counting, flagged */
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_IPV4, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT((r.flags & CMN_REC_BAD_L4) && r.sport != 0);
    g = f;
    g.b[20 + 12] = 0xf0; /* 60-byte TCP header in a 20-byte IP payload */
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_IPV4, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags & CMN_REC_BAD_L4);
    g.n = 0;
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_IPV4, &r) == CMN_PARSE_TRUNCATED_IP);
    PASS;
}

TEST(truncated_l4)
{
    struct cmn_record r;
    struct fb f = {0};
    s_ip4(&f, 6, 1000, 0, 1); /* snaplen cut: header says 1020 bytes */
    s_tcp(&f, 1, 2, 0);
    f.n = 20 + 10; /* ports captured, flags not */
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_IPV4, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags == CMN_REC_TRUNCATED && r.sport == 1 && r.dport == 2);
    FAIL_IF_NOT(r.tcp_flags == 0);
    f.n = 20 + 3; /* not even the ports */
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_IPV4, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags == CMN_REC_TRUNCATED && r.sport == 0 && r.dport == 0);
    FAIL_IF_NOT(r.ip_len == 1020 && r.proto == 6);
    f.n = 20 + 20;
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_IPV4, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags == 0 && r.sport == 1 && r.ip_len == 1020);
    PASS;
}

TEST(fragments)
{
    struct cmn_record r;
    struct fb f = {0};
    s_ip4(&f, 17, 1480, 0x2000, 1); /* MF, offset 0 */
    s_udp(&f, 2049, 800, 1472);
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_IPV4, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags == CMN_REC_FRAG_FIRST && r.sport == 2049);
    uint32_t first = r.sig;
    struct fb g = {0};
    s_ip4(&g, 17, 1480, 185, 1); /* offset 1480 */
    s_bytes(&g, "payload!", 8);
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_IPV4, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags == CMN_REC_FRAG_LATER && r.sport == 0 && r.proto == 17);
    uint32_t later = r.sig;
    g.b[7] = 186; /* same bytes, another offset: another signature */
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_IPV4, &r) == CMN_PARSE_OK && r.sig != later);
    FAIL_IF(first == later);

    /* IPv6: hop-by-hop, then fragment (offset 0, M), then UDP */
    struct fb h = {0};
    s_ip6(&h, 0, 8 + 8 + 8, 2);
    s_u8(&h, 44), s_u8(&h, 0), s_bytes(&h, "\1\4\0\0\0\0", 6);
    s_u8(&h, 17), s_u8(&h, 0), s_u16(&h, 1), s_u32(&h, 0xabcd1234);
    s_udp(&h, 5353, 5353, 0);
    FAIL_IF_NOT(s_parse(&h, CMN_LINK_IPV6, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags == CMN_REC_FRAG_FIRST && r.sport == 5353 && r.ip_id == 0x1234);
    FAIL_IF_NOT(r.ip_len == 64);
    h.b[40 + 8 + 3] = 0x08; /* offset 1 (8 bytes), no M */
    FAIL_IF_NOT(s_parse(&h, CMN_LINK_IPV6, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags == CMN_REC_FRAG_LATER && r.proto == 17 && r.sport == 0);
    PASS;
}

TEST(ipv6_ext_headers)
{
    struct cmn_record r;
    /* routing + destination options + AH, then TCP */
    struct fb f = {0};
    s_ip6(&f, 43, 8 + 8 + 16 + 20, 3);
    s_u8(&f, 60), s_u8(&f, 0), s_bytes(&f, "\0\0\0\0\0\0", 6);
    s_u8(&f, 51), s_u8(&f, 0), s_bytes(&f, "\1\4\0\0\0\0", 6);
    s_u8(&f, 6), s_u8(&f, 2), s_bytes(&f, "\0\0\0\0\0\1\0\0\0\1\0\0\0\0", 14); /* AH: 16 bytes */
    s_tcp(&f, 22, 50000, 0x18);
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_IPV6, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.proto == 6 && r.sport == 22 && r.tcp_flags == 0x18);
    /* ESP and no-next-header: port-less records */
    struct fb e = {0};
    s_ip6(&e, 50, 16, 3);
    s_bytes(&e, "\0\0\1\0\0\0\0\1spispisp", 16);
    FAIL_IF_NOT(s_parse(&e, CMN_LINK_IPV6, &r) == CMN_PARSE_OK && r.proto == 50 && r.sport == 0);
    /* an extension header longer than the payload length: malformed */
    struct fb b = {0};
    s_ip6(&b, 60, 8, 3);
    s_u8(&b, 6), s_u8(&b, 4), s_bytes(&b, "\0\0\0\0\0\0", 6); /* claims 40 bytes */
    FAIL_IF_NOT(s_parse(&b, CMN_LINK_IPV6, &r) == CMN_PARSE_BAD_IPV6_EXT);
    /* the same chain cut by snaplen but consistent with the payload length: truncated */
    struct fb t = {0};
    s_ip6(&t, 60, 48, 3);
    s_u8(&t, 6), s_u8(&t, 4), s_bytes(&t, "\0\0\0\0\0\0", 6);
    FAIL_IF_NOT(s_parse(&t, CMN_LINK_IPV6, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags == CMN_REC_TRUNCATED && r.ip_len == 88);
    /* 17 chained destination options: over the walk limit */
    struct fb l = {0};
    s_ip6(&l, 60, 17 * 8 + 8, 3);
    for (int i = 0; i < 17; i++)
        s_u8(&l, 60), s_u8(&l, 0), s_bytes(&l, "\0\0\0\0\0\0", 6);
    FAIL_IF_NOT(s_parse(&l, CMN_LINK_IPV6, &r) == CMN_PARSE_BAD_IPV6_EXT);
    struct fb s = {0};
    s_ip6(&s, 6, 0, 3);
    s.n = 39;
    FAIL_IF_NOT(s_parse(&s, CMN_LINK_IPV6, &r) == CMN_PARSE_TRUNCATED_IP);
    PASS;
}

TEST(icmp)
{
    struct cmn_record r;
    struct fb f = {0};
    s_ip6(&f, 58, 8, 1);
    s_u8(&f, 128), s_u8(&f, 0), s_u16(&f, 0), s_u32(&f, 0x00070001);
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_IPV6, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.proto == 58 && r.sport == 128 << 8 && r.dport == 0);
    struct fb g = {0};
    s_ip4(&g, 1, 8, 0, 1);
    s_u8(&g, 3), s_u8(&g, 3);
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_IPV4, &r) == CMN_PARSE_OK && r.sport == 0x0303);
    /* other protocols: proto only */
    struct fb o = {0};
    s_ip4(&o, 89, 4, 0, 1);
    s_u32(&o, 0x02010030);
    FAIL_IF_NOT(s_parse(&o, CMN_LINK_IPV4, &r) == CMN_PARSE_OK && r.proto == 89 && r.sport == 0);
    PASS;
}

/* IPv4 header from 10.0.0.`from` to 10.0.0.`to`; total = 20 + payload. */
static void s_ip4_ft(struct fb *f, uint8_t proto, uint16_t payload, uint8_t from, uint8_t to)
{
    s_u8(f, 0x45), s_u8(f, 0), s_u16(f, (uint16_t)(20 + payload)), s_u16(f, 7), s_u16(f, 0);
    s_u8(f, 64), s_u8(f, proto), s_u16(f, 0);
    s_u32(f, 0x0a000000u | from), s_u32(f, 0x0a000000u | to);
}

/* ICMP errors keep the quoted transport endpoints only when they come from
 * the quoted packet's destination (port unreachable, a host's prohibited). */
TEST(icmp_quote)
{
    struct cmn_record r;
    struct fb f = {0}; /* 10.0.0.9 -> 10.0.0.5: port unreachable for 5:41000 -> 9:161 */
    s_ip4_ft(&f, 1, 8 + 28, 9, 5);
    s_u8(&f, 3), s_u8(&f, 3), s_u16(&f, 0), s_u32(&f, 0);
    s_ip4_ft(&f, 17, 8 + 10, 5, 9);
    s_udp(&f, 41000, 161, 10);
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_IPV4, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.proto == 1 && r.sport == 0x0303 && (r.flags & CMN_REC_ICMP_QUOTE));
    FAIL_IF_NOT(r.tcp_flags == 17 && r.dport == 161 && r.pad == 41000);
    struct fb g = {0}; /* the same from a router 10.0.0.1 (time exceeded): nothing kept */
    s_ip4_ft(&g, 1, 8 + 28, 1, 5);
    s_u8(&g, 11), s_u8(&g, 0), s_u16(&g, 0), s_u32(&g, 0);
    s_ip4_ft(&g, 17, 8 + 10, 5, 9);
    s_udp(&g, 41000, 33434, 10);
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_IPV4, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(!(r.flags & CMN_REC_ICMP_QUOTE) && r.dport == 0 && r.pad == 0 && r.tcp_flags == 0);
    struct fb h = {0}; /* an echo reply carries no quote whatever its bytes */
    s_ip4_ft(&h, 1, 8 + 28, 9, 5);
    s_u8(&h, 0), s_u8(&h, 0), s_u16(&h, 0), s_u32(&h, 0);
    s_ip4_ft(&h, 17, 8 + 10, 5, 9);
    s_udp(&h, 41000, 161, 10);
    FAIL_IF_NOT(s_parse(&h, CMN_LINK_IPV4, &r) == CMN_PARSE_OK && r.flags == 0 && r.pad == 0);
    struct fb t = {0}; /* quote cut before the ports: nothing kept */
    s_ip4_ft(&t, 1, 8 + 22, 9, 5);
    s_u8(&t, 3), s_u8(&t, 3), s_u16(&t, 0), s_u32(&t, 0);
    s_ip4_ft(&t, 17, 8 + 10, 5, 9);
    s_u16(&t, 41000);
    FAIL_IF_NOT(s_parse(&t, CMN_LINK_IPV4, &r) == CMN_PARSE_OK && !(r.flags & CMN_REC_ICMP_QUOTE));
    struct fb v = {0}; /* ICMPv6 port unreachable from 2001:db8::9 to ::1, quoting ::1 -> ::9 */
    s_u32(&v, 0x60000000), s_u16(&v, 8 + 48), s_u8(&v, 58), s_u8(&v, 64);
    uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
    a[15] = 9;
    s_bytes(&v, a, 16);
    a[15] = 1;
    s_bytes(&v, a, 16);
    s_u8(&v, 1), s_u8(&v, 4), s_u16(&v, 0), s_u32(&v, 0);
    s_ip6(&v, 17, 18, 9);
    s_udp(&v, 43000, 514, 10);
    FAIL_IF_NOT(s_parse(&v, CMN_LINK_IPV6, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.proto == 58 && (r.flags & CMN_REC_ICMP_QUOTE) && r.tcp_flags == 17);
    FAIL_IF_NOT(r.dport == 514 && r.pad == 43000);
    PASS;
}

/* Build outer IPv4 + GRE(flags, proto) + inner IPv4/TCP. */
static void s_gre_frame(struct fb *f, uint16_t flags, uint16_t proto, uint32_t extra_words)
{
    struct fb in = {0};
    s_ip4(&in, 6, 20, 0, 77);
    s_tcp(&in, 1234, 80, 0x02);
    s_eth(f, 0x0800);
    s_ip4(f, 47, (uint16_t)(4 + 4 * extra_words + in.n), 0, 1);
    s_u16(f, flags);
    s_u16(f, proto);
    for (uint32_t i = 0; i < extra_words; i++)
        s_u32(f, 0x11111111);
    s_bytes(f, in.b, in.n);
}

TEST(tunnels_gre)
{
    struct cmn_record r;
    struct fb f = {0};
    s_gre_frame(&f, 0xb000, 0x0800, 3); /* checksum + key + sequence */
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_EN10MB, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags == CMN_REC_TUNNELED && s_is_v4(r.dst, 77) && r.dport == 80);
    FAIL_IF_NOT(r.ip_len == 40);
    struct cmn_parse_opts keep = {.keep_outer = true};
    FAIL_IF_NOT(cmn_parse_packet(f.b, f.n, CMN_LINK_EN10MB, 0, &keep, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags == 0 && r.proto == 47 && s_is_v4(r.dst, 1));
    /* unknown GRE payload: the outer record stands */
    struct fb g = {0};
    s_gre_frame(&g, 0, 0x1234, 0);
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_EN10MB, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.proto == 47 && !(r.flags & CMN_REC_TUNNELED));
    /* inner header cut short: the outer record stands */
    struct fb t = {0};
    s_gre_frame(&t, 0, 0x0800, 0);
    t.n = 14 + 20 + 4 + 10;
    FAIL_IF_NOT(s_parse(&t, CMN_LINK_EN10MB, &r) == CMN_PARSE_OK && r.proto == 47);
    /* transparent Ethernet bridging and ERSPAN II */
    struct fb e = {0};
    s_eth(&e, 0x0800);
    s_ip4(&e, 47, 8 + 8 + 18 + 40, 0, 1);
    s_u16(&e, 0x1000), s_u16(&e, 0x88be), s_u32(&e, 1); /* S + sequence */
    s_bytes(&e, "\x10\0\0\0\0\0\0\0", 8);               /* ERSPAN II header */
    s_eth(&e, 0x8100);
    e.n -= 2; /* replace: inner eth type written by s_vlan below */
    s_u16(&e, 0x8100);
    s_vlan(&e, 0x0800, 55);
    s_ip4(&e, 6, 20, 0, 88);
    s_tcp(&e, 5, 6, 0);
    FAIL_IF_NOT(s_parse(&e, CMN_LINK_EN10MB, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags == (CMN_REC_TUNNELED | CMN_REC_VLAN) && r.vlan == 55 && r.dport == 6);
    PASS;
}

TEST(tunnels_udp_ipip)
{
    struct cmn_record r;
    struct fb in = {0};
    s_eth(&in, 0x0800);
    s_ip4(&in, 17, 8, 0, 99);
    s_udp(&in, 53, 53, 0);
    /* VXLAN */
    struct fb f = {0};
    s_eth(&f, 0x0800);
    s_ip4(&f, 17, (uint16_t)(8 + 8 + in.n), 0, 1);
    s_udp(&f, 40000, 4789, (uint16_t)(8 + in.n));
    s_u32(&f, 0x08000000), s_u32(&f, 0x00001000);
    s_bytes(&f, in.b, in.n);
    FAIL_IF_NOT(s_parse(&f, CMN_LINK_EN10MB, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags == CMN_REC_TUNNELED && s_is_v4(r.dst, 99) && r.dport == 53);
    /* Geneve with 8 bytes of options, inner Ethernet */
    struct fb g = {0};
    s_eth(&g, 0x0800);
    s_ip4(&g, 17, (uint16_t)(8 + 16 + in.n), 0, 1);
    s_udp(&g, 40000, 6081, (uint16_t)(16 + in.n));
    s_u8(&g, 2), s_u8(&g, 0), s_u16(&g, 0x6558), s_u32(&g, 0x00000100);
    s_u32(&g, 0), s_u32(&g, 0);
    s_bytes(&g, in.b, in.n);
    FAIL_IF_NOT(s_parse(&g, CMN_LINK_EN10MB, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags == CMN_REC_TUNNELED && s_is_v4(r.dst, 99));
    /* 6in4 */
    struct fb s = {0};
    s_ip4(&s, 41, 40 + 20, 0, 1);
    s_ip6(&s, 6, 20, 66);
    s_tcp(&s, 9, 10, 0x11);
    FAIL_IF_NOT(s_parse(&s, CMN_LINK_IPV4, &r) == CMN_PARSE_OK);
    FAIL_IF_NOT(r.flags == CMN_REC_TUNNELED && r.dst[15] == 66 && r.ip_len == 60);
    /* IP-in-IP nested nine deep: tunnel_too_deep */
    struct fb d = {0};
    for (int i = 0; i < 9; i++)
        s_ip4(&d, 4, (uint16_t)(20 * (8 - i) + 20), 0, (uint8_t)i);
    s_tcp(&d, 1, 2, 0);
    FAIL_IF_NOT(s_parse(&d, CMN_LINK_IPV4, &r) == CMN_PARSE_TUNNEL_TOO_DEEP);
    d.n = 0;
    for (int i = 0; i < 8; i++) /* eight is allowed */
        s_ip4(&d, i < 7 ? 4 : 6, (uint16_t)(20 * (7 - i) + 20), 0, (uint8_t)i);
    s_tcp(&d, 1, 2, 0);
    FAIL_IF_NOT(s_parse(&d, CMN_LINK_IPV4, &r) == CMN_PARSE_OK && s_is_v4(r.dst, 7));
    PASS;
}

TEST(result_names)
{
    FAIL_IF_NOT(strcmp(cmn_parse_result_name(CMN_PARSE_OK), "ok") == 0);
    FAIL_IF_NOT(strcmp(cmn_parse_result_name(CMN_PARSE_BAD_IPV6_EXT), "bad_ipv6_ext") == 0);
    for (int i = 0; i < CMN_PARSE_RESULT_COUNT; i++)
        FAIL_IF(cmn_parse_result_name((enum cmn_parse_result)i) == NULL ||
                strcmp(cmn_parse_result_name((enum cmn_parse_result)i), "unknown") == 0);
    FAIL_IF_NOT(strcmp(cmn_parse_result_name(CMN_PARSE_RESULT_COUNT), "unknown") == 0);
    uint64_t w[2] = {1, 2};
    FAIL_IF(cmn_parse_hash(w, 2) == cmn_parse_hash(w, 1));
    PASS;
}

/* Every packet of every readable capture: parse never fails silently, and
 * every byte prefix of a few frames parses without reading out of bounds
 * (run under ASan in CI). */
TEST(real_captures)
{
    FILE *m = fopen(RENKEI_PCAP_DIR "/MANIFEST.tsv", "r");
    FAIL_IF_NOT(m);
    char line[4096];
    uint64_t total = 0, ok = 0, quoted = 0, results[CMN_PARSE_RESULT_COUNT] = {0};
    FAIL_IF_NOT(fgets(line, sizeof(line), m));
    while (fgets(line, sizeof(line), m)) {
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        char path[4200], err[256];
        snprintf(path, sizeof(path), "%s/%s", RENKEI_PCAP_DIR, line);
        struct cmn_capfile *cf = cmn_capfile_open(path, err, sizeof(err));
        if (!cf)
            continue;
        struct cmn_cap_pkt p;
        while (cmn_capfile_next(cf, &p) == 1) {
            struct cmn_record r;
            enum cmn_parse_result res =
                cmn_parse_packet(p.data, p.caplen, p.linktype, p.ts_ns, NULL, &r);
            FAIL_IF((unsigned)res >= CMN_PARSE_RESULT_COUNT);
            results[res]++;
            total++;
            if (res == CMN_PARSE_OK) {
                ok++;
                FAIL_IF(r.ts_ns != p.ts_ns || (r.pad != 0 && !(r.flags & CMN_REC_ICMP_QUOTE)));
                quoted += (r.flags & CMN_REC_ICMP_QUOTE) != 0;
            }
            if (total % 97 == 0) /* prefixes of some frames */
                for (uint32_t n = 0; n < p.caplen && n < 200; n++)
                    (void)cmn_parse_packet(p.data, n, p.linktype, 0, NULL, &r);
        }
        cmn_capfile_close(&cf);
    }
    fclose(m);
    for (int i = 0; i < CMN_PARSE_RESULT_COUNT; i++)
        if (results[i])
            printf("  %-22s %llu\n", cmn_parse_result_name((enum cmn_parse_result)i),
                   (unsigned long long)results[i]);
    printf("  ICMP errors quoting their reverse packet: %llu\n", (unsigned long long)quoted);
    FAIL_IF(total < 60000);
    FAIL_IF(ok < total * 9 / 10);
    FAIL_IF(quoted == 0); /* the shared captures hold port unreachables */
    PASS;
}

TEST(corpus_specifics)
{
    struct {
        const char *file;           /* capture */
        enum cmn_parse_result want; /* result of its first packet */
    } cases[] = {
        {"zeek_ip_bogus_header_len.pcap", CMN_PARSE_BAD_IP_TOTAL_LEN},
        /* its chain runs past the 48 captured bytes but stays inside the
         * payload length (12336): indistinguishable from a snaplen cut, so a
         * truncated record (checked below), not a drop */
        {"tcpdump_ipv6_next_header_oobr.pcap", CMN_PARSE_OK},
        {"tcpdump_tcp_header_heapoverflow.pcap", CMN_PARSE_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[512], err[256];
        snprintf(path, sizeof(path), "%s/%s", RENKEI_PCAP_DIR, cases[i].file);
        struct cmn_capfile *cf = cmn_capfile_open(path, err, sizeof(err));
        FAIL_IF_NOT(cf);
        struct cmn_cap_pkt p;
        FAIL_IF_NOT(cmn_capfile_next(cf, &p) == 1);
        struct cmn_record r;
        enum cmn_parse_result res =
            cmn_parse_packet(p.data, p.caplen, p.linktype, p.ts_ns, NULL, &r);
        cmn_capfile_close(&cf);
        if (res == CMN_PARSE_OK && i == 1)
            FAIL_IF_NOT(r.flags & CMN_REC_TRUNCATED);
        if (res != cases[i].want)
            fprintf(stderr, "  %s: got %s\n", cases[i].file, cmn_parse_result_name(res));
        FAIL_IF_NOT(res == cases[i].want);
    }
    PASS;
}

/* The fast path for common frames must write exactly what the layered
 * parser writes. Compares both on one frame; counts the frames compared. */
static uint64_t s_diff_frames;

static int s_same_both_ways(const uint8_t *b, uint32_t n, uint32_t lt, uint64_t ts)
{
    struct cmn_parse_opts fast = {.keep_outer = false};
    struct cmn_parse_opts slow = {.keep_outer = false, .no_fast_path = true};
    struct cmn_record a, z;
    memset(&a, 0xa5, sizeof(a));
    memset(&z, 0x5a, sizeof(z));
    enum cmn_parse_result ra = cmn_parse_packet(b, n, lt, ts, &fast, &a);
    enum cmn_parse_result rz = cmn_parse_packet(b, n, lt, ts, &slow, &z);
    s_diff_frames++;
    if (ra != rz) {
        fprintf(stderr, "  fast %s, layered %s (caplen %u)\n", cmn_parse_result_name(ra),
                cmn_parse_result_name(rz), n);
        return 1;
    }
    if (ra == CMN_PARSE_OK && memcmp(&a, &z, sizeof(a)) != 0) {
        fprintf(stderr, "  records differ (caplen %u, proto %u)\n", n, z.proto);
        return 1;
    }
    return 0;
}

static uint64_t s_xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Every Ethernet frame of the real captures, each prefix of its first 96
 * bytes, and mutations of the header bytes the fast path decides on (type,
 * VLAN, version/IHL, lengths, fragment bits, protocol, ports, data offset):
 * fast and layered parser agree on the result and every record byte. */
TEST(fast_path_identical)
{
    FILE *m = fopen(RENKEI_PCAP_DIR "/MANIFEST.tsv", "r");
    FAIL_IF_NOT(m);
    char line[4096];
    uint64_t rng = 0x9e3779b97f4a7c15ull, frames = 0;
    static const uint8_t hot[] = {0x08, 0x00, 0x81, 0x86, 0xdd, 0x45, 0x46, 0x4f,
                                  0x60, 0x06, 0x11, 0x12, 0xb5, 0x17, 0xc1, 0x20,
                                  0x3f, 0x50, 0xf0, 0x00, 0xff, 0x01, 0x28, 0x14};
    FAIL_IF_NOT(fgets(line, sizeof(line), m));
    while (fgets(line, sizeof(line), m)) {
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        char path[4200], err[256];
        snprintf(path, sizeof(path), "%s/%s", RENKEI_PCAP_DIR, line);
        struct cmn_capfile *cf = cmn_capfile_open(path, err, sizeof(err));
        if (!cf)
            continue;
        struct cmn_cap_pkt p;
        while (cmn_capfile_next(cf, &p) == 1) {
            FAIL_IF(s_same_both_ways(p.data, p.caplen, p.linktype, p.ts_ns));
            if (p.linktype != CMN_LINK_EN10MB)
                continue;
            frames++;
            uint8_t b[256];
            uint32_t n = p.caplen < sizeof(b) ? p.caplen : (uint32_t)sizeof(b);
            if (frames % 7 == 0)
                for (uint32_t k = 0; k <= n && k <= 96; k++)
                    FAIL_IF(s_same_both_ways(p.data, k, CMN_LINK_EN10MB, 1));
            for (int t = 0; t < 6; t++) {
                memcpy(b, p.data, n);
                uint64_t r = s_xorshift(&rng);
                uint32_t at = 12 + (uint32_t)(r % 60);
                if (at < n)
                    b[at] = (r >> 8) & 1 ? hot[(r >> 16) % sizeof(hot)] : (uint8_t)(r >> 24);
                uint32_t cut = (r >> 40) % 3 == 0 ? (uint32_t)((r >> 44) % (n + 1)) : n;
                FAIL_IF(s_same_both_ways(b, cut, CMN_LINK_EN10MB, r));
            }
        }
        cmn_capfile_close(&cf);
    }
    fclose(m);
    printf("  %llu Ethernet frames, %llu comparisons\n", (unsigned long long)frames,
           (unsigned long long)s_diff_frames);
    FAIL_IF(frames < 20000);
    PASS;
}

/* Crafted frames on both paths: the branches real captures rarely take. */
TEST(fast_path_crafted)
{
    struct fb f;
    uint8_t pay[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    for (uint16_t plen = 0; plen <= 16; plen++) {
        for (int v = 0; v < 4; v++) { /* IPv4, VLAN + IPv4, IPv6, VLAN + IPv6 */
            for (int proto = 0; proto < 2; proto++) {
                f.n = 0;
                uint16_t et = v < 2 ? 0x0800 : 0x86dd;
                if (v & 1) {
                    s_eth(&f, 0x8100);
                    s_vlan(&f, et, 0x1234);
                } else {
                    s_eth(&f, et);
                }
                uint16_t l4 = proto ? 8 : 20;
                if (v < 2)
                    s_ip4(&f, proto ? 17 : 6, (uint16_t)(l4 + plen), 0, 0);
                else
                    s_ip6(&f, proto ? 17 : 6, (uint16_t)(l4 + plen), 2);
                if (proto) {
                    s_u16(&f, 5353);
                    s_u16(&f, 53);
                    s_u16(&f, (uint16_t)(8 + plen));
                    s_u16(&f, 0);
                } else {
                    s_u16(&f, 40000);
                    s_u16(&f, 443);
                    s_u32(&f, 0x01020304);
                    s_u32(&f, 0x05060708);
                    s_u8(&f, 0x50);
                    s_u8(&f, 0x18);
                    s_u16(&f, 512);
                    s_u32(&f, 0);
                }
                s_bytes(&f, pay, plen);
                for (int pad = 0; pad < 3; pad++) {
                    FAIL_IF(s_same_both_ways(f.b, f.n, CMN_LINK_EN10MB, 7));
                    s_u8(&f, 0xee); /* L2 padding past the IP total length */
                }
            }
        }
    }
    PASS;
}

TEST_MAIN(TEST_ENTRY(ethernet_tcp) TEST_ENTRY(vlan_qinq) TEST_ENTRY(mpls_and_pseudowire)
              TEST_ENTRY(pppoe) TEST_ENTRY(link_types) TEST_ENTRY(link_types_serial_and_wlan)
                  TEST_ENTRY(non_ip_and_llc) TEST_ENTRY(ipv4_malformed) TEST_ENTRY(truncated_l4)
                      TEST_ENTRY(fragments) TEST_ENTRY(ipv6_ext_headers) TEST_ENTRY(icmp)
                          TEST_ENTRY(icmp_quote) TEST_ENTRY(tunnels_gre)
                              TEST_ENTRY(tunnels_udp_ipip) TEST_ENTRY(result_names)
                                  TEST_ENTRY(real_captures) TEST_ENTRY(corpus_specifics)
                                      TEST_ENTRY(fast_path_identical) TEST_ENTRY(fast_path_crafted))
