/* SPDX-License-Identifier: MIT
 * Unit tests for common/cmn_dns: crafted responses (A, AAAA, PTR for IPv4
 * and IPv6, a CNAME chain, mDNS cache-flush class), and bad bytes that must
 * come back as -EPROTO (compression loop, truncation at every length, bad
 * label types and lengths, wrong rdata sizes), queries (-ENODATA), TCP
 * framing (whole, two messages, split: -EAGAIN). Also checks that
 * cmn_parse_packet_payload finds the UDP payload and agrees with
 * cmn_parse_packet. Doubles as the usage example.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "cmn_dns.h"
#include "cmn_ip.h"
#include "cmn_parse.h"
#include "harness.h"

/* A message under construction. */
struct msg {
    uint8_t b[2048]; /* bytes */
    size_t n;        /* used */
};

static void s_u8(struct msg *m, uint8_t v)
{
    m->b[m->n++] = v;
}

static void s_u16(struct msg *m, uint16_t v)
{
    s_u8(m, (uint8_t)(v >> 8));
    s_u8(m, (uint8_t)v);
}

static void s_hdr(struct msg *m, uint16_t flags, uint16_t qd, uint16_t an)
{
    m->n = 0;
    s_u16(m, 0x1234);
    s_u16(m, flags);
    s_u16(m, qd);
    s_u16(m, an);
    s_u16(m, 0);
    s_u16(m, 0);
}

/* "a.b.c" as labels and a root byte. Returns the name's offset. */
static size_t s_name(struct msg *m, const char *dotted)
{
    size_t at = m->n;
    const char *p = dotted;
    while (*p) {
        const char *d = strchr(p, '.');
        size_t l = d ? (size_t)(d - p) : strlen(p);
        s_u8(m, (uint8_t)l);
        memcpy(m->b + m->n, p, l);
        m->n += l;
        p += l + (d ? 1 : 0);
    }
    s_u8(m, 0);
    return at;
}

static void s_ptr(struct msg *m, size_t off)
{
    s_u16(m, (uint16_t)(0xc000 | off));
}

static void s_question(struct msg *m, const char *name, uint16_t type)
{
    s_name(m, name);
    s_u16(m, type);
    s_u16(m, 1);
}

/* Record header after an owner name already written. */
static void s_rr(struct msg *m, uint16_t type, uint16_t cls, uint16_t rdlen)
{
    s_u16(m, type);
    s_u16(m, cls);
    s_u16(m, 0);
    s_u16(m, 60); /* ttl */
    s_u16(m, rdlen);
}

static int s_has(const struct cmn_dns_name *v, long n, const char *ip, const char *name,
                 uint8_t rtype)
{
    uint8_t a[16];
    if (cmn_ip_parse(ip, a) != 0)
        return 0;
    for (long i = 0; i < n; i++)
        if (memcmp(v[i].ip, a, 16) == 0 && strcmp(v[i].name, name) == 0 && v[i].rtype == rtype)
            return 1;
    return 0;
}

TEST(a_and_aaaa)
{
    struct msg m;
    struct cmn_dns_name out[8];
    s_hdr(&m, 0x8180, 1, 2);
    s_question(&m, "WWW.Example.COM", 1);
    s_ptr(&m, 12);
    s_rr(&m, 1, 1, 4);
    s_u8(&m, 192), s_u8(&m, 0), s_u8(&m, 2), s_u8(&m, 7);
    s_ptr(&m, 12);
    s_rr(&m, 28, 1, 16);
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    memcpy(m.b + m.n, v6, 16);
    m.n += 16;
    long n = cmn_dns_parse(m.b, m.n, out, 8);
    FAIL_IF_NOT(n == 2);
    FAIL_IF_NOT(s_has(out, n, "192.0.2.7", "www.example.com", CMN_DNS_A));
    FAIL_IF_NOT(s_has(out, n, "2001:db8::1", "www.example.com", CMN_DNS_AAAA));
    /* room for one: the second is dropped, not an error */
    FAIL_IF_NOT(cmn_dns_parse(m.b, m.n, out, 1) == 1);
    /* every shorter prefix is malformed, never a crash */
    for (size_t l = 0; l < m.n; l++)
        FAIL_IF_NOT(cmn_dns_parse(m.b, l, out, 8) == -EPROTO);
    /* the same bytes as a query */
    m.b[2] = 0x01;
    FAIL_IF_NOT(cmn_dns_parse(m.b, m.n, out, 8) == -ENODATA);
    PASS;
}

TEST(ptr_v4_v6)
{
    struct msg m;
    struct cmn_dns_name out[8];
    s_hdr(&m, 0x8180, 1, 1);
    s_question(&m, "10.2.0.192.in-addr.arpa", 12);
    s_ptr(&m, 12);
    s_rr(&m, 12, 1, 0);
    size_t rd = m.n;
    s_name(&m, "db1.Example.net");
    m.b[rd - 1] = (uint8_t)(m.n - rd);
    long n = cmn_dns_parse(m.b, m.n, out, 8);
    FAIL_IF_NOT(n == 1);
    FAIL_IF_NOT(s_has(out, n, "192.0.2.10", "db1.example.net", CMN_DNS_PTR));

    const char *rev = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa";
    s_hdr(&m, 0x8180, 1, 1);
    s_question(&m, rev, 12);
    s_ptr(&m, 12);
    s_rr(&m, 12, 1, 0);
    rd = m.n;
    s_name(&m, "v6host.example.net");
    m.b[rd - 1] = (uint8_t)(m.n - rd);
    n = cmn_dns_parse(m.b, m.n, out, 8);
    FAIL_IF_NOT(n == 1);
    FAIL_IF_NOT(s_has(out, n, "2001:db8::1", "v6host.example.net", CMN_DNS_PTR));

    /* a partial reverse name (a /24 zone) names no address */
    s_hdr(&m, 0x8180, 1, 1);
    s_question(&m, "2.0.192.in-addr.arpa", 12);
    s_ptr(&m, 12);
    s_rr(&m, 12, 1, 0);
    rd = m.n;
    s_name(&m, "zone.example.net");
    m.b[rd - 1] = (uint8_t)(m.n - rd);
    FAIL_IF_NOT(cmn_dns_parse(m.b, m.n, out, 8) == 0);
    PASS;
}

TEST(cname_chain)
{
    /* www.shop.example CNAME edge.cdn.example CNAME e1.cdn.example A 198.51.100.5 */
    struct msg m;
    struct cmn_dns_name out[8];
    s_hdr(&m, 0x8180, 1, 3);
    s_question(&m, "www.shop.example", 1);
    s_ptr(&m, 12);
    s_rr(&m, 5, 1, 0);
    size_t rd = m.n, edge = s_name(&m, "edge.cdn.example");
    m.b[rd - 1] = (uint8_t)(m.n - rd);
    s_ptr(&m, edge);
    s_rr(&m, 5, 1, 0);
    rd = m.n;
    size_t e1 = s_name(&m, "e1.cdn.example");
    m.b[rd - 1] = (uint8_t)(m.n - rd);
    s_ptr(&m, e1);
    s_rr(&m, 1, 0x8001, 4); /* mDNS cache-flush bit in the class */
    s_u8(&m, 198), s_u8(&m, 51), s_u8(&m, 100), s_u8(&m, 5);
    long n = cmn_dns_parse(m.b, m.n, out, 8);
    FAIL_IF_NOT(n == 3);
    FAIL_IF_NOT(s_has(out, n, "198.51.100.5", "e1.cdn.example", CMN_DNS_A));
    FAIL_IF_NOT(s_has(out, n, "198.51.100.5", "edge.cdn.example", CMN_DNS_CNAME));
    FAIL_IF_NOT(s_has(out, n, "198.51.100.5", "www.shop.example", CMN_DNS_CNAME));
    PASS;
}

TEST(malformed)
{
    struct msg m;
    struct cmn_dns_name out[8];
    /* compression loop: the answer's owner points at itself */
    s_hdr(&m, 0x8180, 0, 1);
    s_ptr(&m, 12);
    s_rr(&m, 1, 1, 4);
    s_u16(&m, 0), s_u16(&m, 0);
    FAIL_IF_NOT(cmn_dns_parse(m.b, m.n, out, 8) == -EPROTO);
    /* two pointers pointing at each other */
    s_hdr(&m, 0x8180, 0, 1);
    s_ptr(&m, 14);
    s_ptr(&m, 12);
    FAIL_IF_NOT(cmn_dns_parse(m.b, m.n, out, 8) == -EPROTO);
    /* pointer past the end */
    s_hdr(&m, 0x8180, 0, 1);
    s_ptr(&m, 900);
    s_rr(&m, 1, 1, 4);
    s_u16(&m, 0), s_u16(&m, 0);
    FAIL_IF_NOT(cmn_dns_parse(m.b, m.n, out, 8) == -EPROTO);
    /* label length past the end, reserved label types 0x40 and 0x80 */
    static const uint8_t bad_len[] = {0x40, 0x80, 0x3f};
    for (size_t i = 0; i < sizeof(bad_len); i++) {
        s_hdr(&m, 0x8180, 1, 0);
        s_u8(&m, bad_len[i]);
        s_u8(&m, 'a');
        s_u8(&m, 0);
        s_u16(&m, 1), s_u16(&m, 1);
        FAIL_IF_NOT(cmn_dns_parse(m.b, m.n, out, 8) == -EPROTO);
    }
    /* an A record with 5 bytes of rdata, an AAAA with 4 */
    s_hdr(&m, 0x8180, 0, 1);
    s_name(&m, "x.example");
    s_rr(&m, 1, 1, 5);
    for (int i = 0; i < 5; i++)
        s_u8(&m, 1);
    FAIL_IF_NOT(cmn_dns_parse(m.b, m.n, out, 8) == -EPROTO);
    s_hdr(&m, 0x8180, 0, 1);
    s_name(&m, "x.example");
    s_rr(&m, 28, 1, 4);
    s_u16(&m, 0), s_u16(&m, 0);
    FAIL_IF_NOT(cmn_dns_parse(m.b, m.n, out, 8) == -EPROTO);
    /* rdlength past the end */
    s_hdr(&m, 0x8180, 0, 1);
    s_name(&m, "x.example");
    s_rr(&m, 1, 1, 400);
    s_u16(&m, 0), s_u16(&m, 0);
    FAIL_IF_NOT(cmn_dns_parse(m.b, m.n, out, 8) == -EPROTO);
    /* a name over 253 characters: 5 labels of 63 */
    s_hdr(&m, 0x8180, 1, 0);
    for (int k = 0; k < 5; k++) {
        s_u8(&m, 63);
        memset(m.b + m.n, 'a', 63);
        m.n += 63;
    }
    s_u8(&m, 0);
    s_u16(&m, 1), s_u16(&m, 1);
    FAIL_IF_NOT(cmn_dns_parse(m.b, m.n, out, 8) == -EPROTO);
    /* a short header */
    FAIL_IF_NOT(cmn_dns_parse(m.b, 11, out, 8) == -EPROTO);
    /* an owner with an unprintable byte: record skipped, message fine */
    s_hdr(&m, 0x8180, 0, 1);
    s_name(&m, "bad\x01name.example");
    s_rr(&m, 1, 1, 4);
    s_u16(&m, 0), s_u16(&m, 0);
    FAIL_IF_NOT(cmn_dns_parse(m.b, m.n, out, 8) == 0);
    PASS;
}

TEST(tcp_framing)
{
    struct msg m, t;
    struct cmn_dns_name out[8];
    s_hdr(&m, 0x8400, 0, 1); /* authoritative answer */
    s_name(&m, "ns.example");
    s_rr(&m, 1, 1, 4);
    s_u8(&m, 203), s_u8(&m, 0), s_u8(&m, 113), s_u8(&m, 9);
    t.n = 0;
    for (int k = 0; k < 2; k++) {
        s_u16(&t, (uint16_t)m.n);
        memcpy(t.b + t.n, m.b, m.n);
        t.n += m.n;
    }
    FAIL_IF_NOT(cmn_dns_parse_tcp(t.b, t.n, out, 8) == 2);
    FAIL_IF_NOT(s_has(out, 2, "203.0.113.9", "ns.example", CMN_DNS_A));
    FAIL_IF_NOT(cmn_dns_parse_tcp(t.b, m.n + 2, out, 8) == 1);
    FAIL_IF_NOT(cmn_dns_parse_tcp(t.b, m.n + 1, out, 8) == -EAGAIN); /* split message */
    FAIL_IF_NOT(cmn_dns_parse_tcp(t.b, 1, out, 8) == -EAGAIN);
    FAIL_IF_NOT(cmn_dns_parse_tcp(t.b, 0, out, 8) == 0);
    FAIL_IF_NOT(strcmp(cmn_dns_rtype_name(CMN_DNS_AAAA), "AAAA") == 0);
    FAIL_IF_NOT(strcmp(cmn_dns_rtype_name(99), "?") == 0);
    PASS;
}

TEST(payload_from_frame)
{
    /* Ethernet + IPv4 + UDP 53 -> 40000 carrying one A answer */
    struct msg d;
    s_hdr(&d, 0x8180, 0, 1);
    s_name(&d, "h.example");
    s_rr(&d, 1, 1, 4);
    s_u8(&d, 10), s_u8(&d, 1), s_u8(&d, 2), s_u8(&d, 3);
    uint8_t f[256];
    memset(f, 0, sizeof(f));
    f[12] = 0x08;
    uint8_t *ip = f + 14;
    uint16_t tot = (uint16_t)(20 + 8 + d.n);
    ip[0] = 0x45;
    ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
    ip[8] = 64, ip[9] = 17;
    ip[12] = 10, ip[15] = 53;
    ip[16] = 10, ip[19] = 7;
    uint8_t *u = ip + 20;
    u[0] = 0, u[1] = 53, u[2] = 0x9c, u[3] = 0x40;
    u[4] = (uint8_t)((8 + d.n) >> 8), u[5] = (uint8_t)(8 + d.n);
    memcpy(u + 8, d.b, d.n);
    uint32_t flen = (uint32_t)(14 + tot + 6); /* Ethernet padding after the IP packet */
    struct cmn_record r1, r2;
    const uint8_t *pay;
    uint32_t plen;
    FAIL_IF_NOT(cmn_parse_packet(f, flen, 1, 5, NULL, &r1) == CMN_PARSE_OK);
    FAIL_IF_NOT(cmn_parse_packet_payload(f, flen, 1, 5, NULL, &r2, &pay, &plen) == CMN_PARSE_OK);
    FAIL_IF_NOT(memcmp(&r1, &r2, sizeof(r1)) == 0);
    FAIL_IF_NOT(pay == u + 8 && plen == d.n);
    struct cmn_dns_name out[4];
    FAIL_IF_NOT(cmn_dns_parse(pay, plen, out, 4) == 1);
    FAIL_IF_NOT(s_has(out, 1, "10.1.2.3", "h.example", CMN_DNS_A));
    PASS;
}

TEST_MAIN(TEST_ENTRY(a_and_aaaa) TEST_ENTRY(ptr_v4_v6) TEST_ENTRY(cname_chain) TEST_ENTRY(malformed)
              TEST_ENTRY(tcp_framing) TEST_ENTRY(payload_from_frame))
