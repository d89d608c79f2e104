// SPDX-License-Identifier: MIT
// renkei-gen packet layer: frame building with checksums from prefix sums,
// the dedup copy of a frame (re-tagged, TTL - 1, RFC 1624 checksum update),
// and a buffered classic pcap writer. See gen_pkt.h for the contract.
#include "gen_pkt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCAP_BUF (8u << 20) /* one fwrite per 8 MiB keeps 10 M packets I/O bound */
#define ETH_MIN  60         /* frames shorter than this are zero-padded, as on the wire */
#define MSS_V4   1460
#define MSS_V6   1440

static uint8_t s_payload[GEN_PL_COUNT][GEN_PAYLOAD_MAX + 8];     /* what payloads copy */
static uint32_t s_prefix[GEN_PL_COUNT][GEN_PAYLOAD_MAX / 2 + 1]; /* sums of i first words */

struct gen_pcap {
    FILE *f;          /* output stream */
    uint8_t *buf;     /* pending bytes */
    size_t len;       /* bytes pending in buf */
    uint32_t snaplen; /* records are cut to this many bytes */
    bool nsec;        /* nanosecond timestamp magic */
    int err;          /* first write error, as -errno */
};

static void s_w16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void s_w32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Ones'-complement partial sum of n bytes as big-endian words; an odd last
 * byte is padded with zero, as in RFC 1071. */
static uint32_t s_sum(const uint8_t *p, size_t n, uint32_t acc)
{
    size_t i;
    for (i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

static uint16_t s_fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

/* Sum of the first len bytes of payload kind k, O(1) from the prefix table. */
static uint32_t s_payload_sum(unsigned k, uint32_t len)
{
    uint32_t acc = s_prefix[k][len / 2];
    if (len & 1)
        acc += (uint32_t)s_payload[k][len - 1] << 8;
    return acc;
}

void gen_pkt_init(uint64_t seed)
{
    static const char line[] = "<134>Jan  1 00:00:00 app01 renkei-gen[4242]: synthetic "
                               "event id=000042 status=ok user=svc-batch latency_ms=17\n";
    uint64_t x = seed ^ 0x9e3779b97f4a7c15ull;
    size_t i, k;

    for (i = 0; i < sizeof(s_payload[0]); i++) {
        /* splitmix64 step; one byte per step is plenty for 16 KiB */
        uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        s_payload[GEN_PL_BINARY][i] = (uint8_t)(z ^ (z >> 31));
        s_payload[GEN_PL_TEXT][i] = (uint8_t)line[i % (sizeof(line) - 1)];
    }
    /* Fixed first bytes, whatever the seed: 0xc9 is no BER / TLS / NBSS / Kerberos
     * record start, so tshark's application dissectors leave payloads alone. */
    {
        static const uint8_t lead[8] = {0xc9, 0xe9, 0xd2, 0xae, 0x33, 0xa5, 0x64, 0x84};
        memcpy(s_payload[GEN_PL_BINARY], lead, sizeof(lead));
    }
    /* DNS: id, flags, zero counts; what follows is trailing data to tshark */
    memcpy(s_payload[GEN_PL_DNS_QUERY], s_payload[GEN_PL_BINARY], sizeof(s_payload[0]));
    memcpy(s_payload[GEN_PL_DNS_REPLY], s_payload[GEN_PL_BINARY], sizeof(s_payload[0]));
    memset(s_payload[GEN_PL_DNS_QUERY], 0, 12);
    memset(s_payload[GEN_PL_DNS_REPLY], 0, 12);
    s_payload[GEN_PL_DNS_QUERY][0] = s_payload[GEN_PL_DNS_REPLY][0] = 0x4e;
    s_payload[GEN_PL_DNS_QUERY][1] = s_payload[GEN_PL_DNS_REPLY][1] = 0x6b;
    s_payload[GEN_PL_DNS_QUERY][2] = 0x01; /* RD */
    s_payload[GEN_PL_DNS_REPLY][2] = 0x81; /* QR RD */
    s_payload[GEN_PL_DNS_REPLY][3] = 0x80; /* RA */
    /* DHCP: BOOTREQUEST, Ethernet, xid, magic cookie, option 53 = request, end */
    memset(s_payload[GEN_PL_BOOTP], 0, GEN_BOOTP_LEN);
    s_payload[GEN_PL_BOOTP][0] = 1;
    s_payload[GEN_PL_BOOTP][1] = 1;
    s_payload[GEN_PL_BOOTP][2] = 6;
    s_w32(s_payload[GEN_PL_BOOTP] + 4, 0x3903f326);
    s_w32(s_payload[GEN_PL_BOOTP] + 236, 0x63825363);
    memcpy(s_payload[GEN_PL_BOOTP] + 240, (const uint8_t[]){53, 1, 3, 255}, 4);
    {
        static const char ms[] = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
                                 "MAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";
        _Static_assert(sizeof(ms) - 1 == GEN_SSDP_LEN, "GEN_SSDP_LEN");
        memset(s_payload[GEN_PL_SSDP], 0, sizeof(s_payload[0]));
        memcpy(s_payload[GEN_PL_SSDP], ms, sizeof(ms) - 1);
    }
    for (k = 0; k < GEN_PL_COUNT; k++) {
        s_prefix[k][0] = 0;
        for (i = 1; i <= GEN_PAYLOAD_MAX / 2; i++)
            s_prefix[k][i] = s_prefix[k][i - 1] +
                             ((uint32_t)s_payload[k][2 * i - 2] << 8 | s_payload[k][2 * i - 1]);
    }
}

static size_t s_min(size_t a, size_t b)
{
    return a < b ? a : b;
}

size_t gen_pkt_build(const struct gen_pkt *p, uint8_t *out, size_t limit, uint32_t *ip_len)
{
    uint8_t *q = out;
    size_t alen = p->v6 ? 16 : 4;
    uint32_t thl, l4len, carried, iplen, acc;
    size_t hdr_end, frame_len, room;
    uint8_t *l4;

    memcpy(q, p->dmac, 6);
    memcpy(q + 6, p->smac, 6);
    q += 12;
    if (p->vlan) {
        s_w16(q, 0x8100);
        s_w16(q + 2, p->vlan & 0x0fffu);
        q += 4;
    }
    s_w16(q, p->v6 ? 0x86dd : 0x0800);
    q += 2;

    bool icmp = p->proto == 1 || p->proto == 58;
    if (p->proto == 6)
        thl = (p->tcp_flags & GEN_TH_SYN) ? 24 : 20;
    else
        thl = 8;
    l4len = thl + (icmp ? p->quote_len : p->len);
    carried = p->frag_len ? p->frag_len : l4len;

    if (p->v6) {
        iplen = 40 + carried;
        s_w32(q, 6u << 28 | (p->flow & 0xfffffu));
        s_w16(q + 4, carried);
        q[6] = p->proto;
        q[7] = p->ttl;
        memcpy(q + 8, p->src, 16);
        memcpy(q + 24, p->dst, 16);
        q += 40;
    } else {
        uint32_t frag;
        iplen = 20 + carried;
        if (p->frag_len)
            frag = p->frag_off / 8 | (p->frag_off + p->frag_len < l4len ? 0x2000u : 0);
        else
            frag = p->proto == 6 ? 0x4000u : 0; /* DF on TCP, as stacks doing PMTUD do */
        q[0] = 0x45;
        q[1] = 0;
        s_w16(q + 2, iplen);
        s_w16(q + 4, p->ipid);
        s_w16(q + 6, frag);
        q[8] = p->ttl;
        q[9] = p->proto;
        q[10] = q[11] = 0;
        memcpy(q + 12, p->src, 4);
        memcpy(q + 16, p->dst, 4);
        s_w16(q + 10, s_fold(s_sum(q, 20, 0)));
        q += 20;
    }
    *ip_len = iplen;

    /* Transport header (always whole; a later fragment carries none). */
    acc = s_sum(p->src, alen, 0) + s_sum(p->dst, alen, 0) + p->proto + l4len;
    l4 = q;
    if (p->proto == 6) {
        s_w16(l4, p->sport);
        s_w16(l4 + 2, p->dport);
        s_w32(l4 + 4, p->seq);
        s_w32(l4 + 8, p->ack);
        l4[12] = (uint8_t)(thl / 4 << 4);
        l4[13] = p->tcp_flags;
        s_w16(l4 + 14, p->win);
        s_w32(l4 + 16, 0);
        if (thl == 24) {
            l4[20] = 2; /* MSS option */
            l4[21] = 4;
            s_w16(l4 + 22, p->v6 ? MSS_V6 : MSS_V4);
        }
        acc = s_sum(l4, thl, acc) + s_payload_sum(p->payload, p->len);
        s_w16(l4 + 16, s_fold(acc));
    } else if (icmp) {
        /* error message: type, code, checksum, 4 unused bytes, the quote;
         * ICMPv6's checksum covers the pseudo-header, ICMP's does not */
        l4[0] = p->icmp_type;
        l4[1] = p->icmp_code;
        s_w16(l4 + 2, 0);
        s_w32(l4 + 4, 0);
        memcpy(l4 + 8, p->quote, p->quote_len);
        acc = s_sum(l4, l4len, p->proto == 58 ? acc : 0);
        s_w16(l4 + 2, s_fold(acc));
    } else {
        uint16_t c;
        s_w16(l4, p->sport);
        s_w16(l4 + 2, p->dport);
        s_w16(l4 + 4, l4len);
        s_w16(l4 + 6, 0);
        c = s_fold(s_sum(l4, 8, acc) + s_payload_sum(p->payload, p->len));
        s_w16(l4 + 6, c ? c : 0xffff);
    }

    frame_len = (size_t)(l4 - out) + carried;
    if (p->frag_len) {
        /* Fragment: the carried bytes are datagram[frag_off, +frag_len). */
        uint8_t hdr[8];
        size_t off = p->frag_off, n, i = 0;
        memcpy(hdr, l4, 8);
        room = limit > (size_t)(l4 - out) ? limit - (size_t)(l4 - out) : 0;
        n = s_min(p->frag_len, room);
        while (i < n && off + i < 8) {
            l4[i] = hdr[off + i];
            i++;
        }
        if (i < n)
            memcpy(l4 + i, s_payload[p->payload] + (off + i - 8), n - i);
        hdr_end = (size_t)(l4 - out) + n;
    } else if (icmp) {
        hdr_end = (size_t)(l4 - out) + l4len; /* the quote is header: always whole */
    } else {
        hdr_end = (size_t)(l4 - out) + thl;
        room = limit > hdr_end ? limit - hdr_end : 0;
        memcpy(out + hdr_end, s_payload[p->payload], s_min(p->len, room));
        hdr_end += s_min(p->len, room);
    }
    if (frame_len < ETH_MIN) {
        size_t pad = s_min(ETH_MIN, limit) > hdr_end ? s_min(ETH_MIN, limit) - hdr_end : 0;
        memset(out + hdr_end, 0, pad);
        frame_len = ETH_MIN;
    }
    return frame_len;
}

size_t gen_pkt_redirect(const uint8_t *in, size_t caplen, uint8_t *out, uint16_t vid, size_t *grow)
{
    size_t rest_off = 12;
    size_t n;
    uint8_t *ip;
    uint32_t et;

    *grow = 0;
    if (caplen < 14)
        return 0;
    memcpy(out, in, 12);
    if (in[12] == 0x81 && in[13] == 0x00)
        rest_off = 16;
    else
        *grow = 4;
    s_w16(out + 12, 0x8100);
    s_w16(out + 14, vid & 0x0fffu);
    n = caplen - rest_off;
    memcpy(out + 16, in + rest_off, n);
    et = (uint32_t)out[16] << 8 | out[17];
    ip = out + 18;
    if (et == 0x0800 && 18 + 20 <= 16 + n) {
        /* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), m = TTL|proto word */
        uint32_t m = (uint32_t)ip[8] << 8 | ip[9];
        uint32_t hc = (uint32_t)ip[10] << 8 | ip[11];
        uint32_t acc;
        ip[8]--;
        acc = (~hc & 0xffff) + (~m & 0xffff) + ((uint32_t)ip[8] << 8 | ip[9]);
        s_w16(ip + 10, s_fold(acc));
    } else if (et == 0x86dd && 18 + 40 <= 16 + n) {
        ip[7]--;
    }
    return 16 + n;
}

struct gen_pcap *gen_pcap_open(const char *path, uint32_t snaplen, bool nsec)
{
    struct gen_pcap *w = calloc(1, sizeof(*w));
    uint8_t hdr[24];

    if (!w)
        abort();
    w->buf = malloc(PCAP_BUF);
    if (!w->buf)
        abort();
    w->f = fopen(path, "wb");
    if (!w->f) {
        fprintf(stderr, "renkei-gen: cannot create %s: %s\n", path, strerror(errno));
        free(w->buf);
        free(w);
        return NULL;
    }
    w->snaplen = snaplen;
    w->nsec = nsec;
    /* little-endian header, version 2.4, link type 1 (Ethernet) */
    {
        uint32_t magic = nsec ? 0xa1b23c4du : 0xa1b2c3d4u;
        uint32_t v[6] = {magic, 2u | 4u << 16, 0, 0, snaplen, 1};
        size_t i;
        for (i = 0; i < 6; i++) {
            hdr[4 * i] = (uint8_t)v[i];
            hdr[4 * i + 1] = (uint8_t)(v[i] >> 8);
            hdr[4 * i + 2] = (uint8_t)(v[i] >> 16);
            hdr[4 * i + 3] = (uint8_t)(v[i] >> 24);
        }
    }
    memcpy(w->buf, hdr, sizeof(hdr));
    w->len = sizeof(hdr);
    return w;
}

static void s_flush(struct gen_pcap *w)
{
    if (w->len && fwrite(w->buf, 1, w->len, w->f) != w->len && !w->err)
        w->err = -EIO;
    w->len = 0;
}

static void s_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int gen_pcap_write(struct gen_pcap *w, uint64_t ts_ns, const uint8_t *frame, size_t have,
                   size_t orig_len)
{
    size_t cap = s_min(s_min(have, orig_len), w->snaplen);
    uint8_t *r;

    if (w->len + 16 + cap > PCAP_BUF)
        s_flush(w);
    r = w->buf + w->len;
    s_le32(r, (uint32_t)(ts_ns / 1000000000u));
    s_le32(r + 4, (uint32_t)(w->nsec ? ts_ns % 1000000000u : ts_ns % 1000000000u / 1000u));
    s_le32(r + 8, (uint32_t)cap);
    s_le32(r + 12, (uint32_t)orig_len);
    memcpy(r + 16, frame, cap);
    w->len += 16 + cap;
    return w->err;
}

uint32_t gen_pcap_snaplen(const struct gen_pcap *w)
{
    return w->snaplen;
}

int gen_pcap_close(struct gen_pcap **wp)
{
    struct gen_pcap *w;
    int rc;

    if (!wp || !*wp)
        return 0;
    w = *wp;
    s_flush(w);
    if (fclose(w->f) != 0 && !w->err)
        w->err = -errno;
    rc = w->err;
    free(w->buf);
    free(w);
    *wp = NULL;
    return rc;
}
