/* SPDX-License-Identifier: MIT
 * cmn_parse: link layer -> VLAN/MPLS/PPPoE -> IP (+ extension headers) -> L4,
 * re-entering the IP step for tunnels. One pass, no allocation; each step
 * receives a pointer and the number of bytes it may read and checks before
 * every read. Runs on the collector's RX path for every packet, so it never
 * logs: the result code is the counter.
 */
#include <string.h>

#include "cmn_capfile.h"
#include "cmn_ip.h"
#include "cmn_hash.h"
#include "cmn_parse.h"

/* Fields that feed the signature but have no home in the record. */
struct parse_sigstate {
    uint32_t frag_off; /* fragment offset (8-byte units); later fragments differ only here */
    uint32_t id32;     /* IPv4 id or full 32-bit IPv6 fragment id */
    uint32_t seq;      /* TCP sequence number */
    uint32_t ack;      /* TCP acknowledgement number */
    uint8_t pay[8];    /* first bytes of L4 payload, zero-padded */
};

/* Everything a failed tunnel attempt must be able to undo. */
struct parse_layer {
    struct cmn_record rec;    /* the record as built so far */
    struct parse_sigstate sg; /* its signature inputs */
    const uint8_t *l4pay;     /* TCP/UDP payload of this layer (cmn_parse_packet_payload) */
    uint32_t l4pay_len;       /* its captured bytes inside the IP packet */
};

struct parse_st {
    const struct cmn_parse_opts *opts; /* never NULL inside */
    struct parse_layer cur;            /* record under construction */
    int depth;                         /* IP headers entered so far */
    int tags;                          /* VLAN tags, MPLS labels, inner Ethernets so far */
};

static enum cmn_parse_result s_link(struct parse_st *st, const uint8_t *p, uint32_t len,
                                    uint32_t linktype, bool inner);
static enum cmn_parse_result s_ethertype(struct parse_st *st, uint16_t type, const uint8_t *p,
                                         uint32_t len);
static enum cmn_parse_result s_ipv4(struct parse_st *st, const uint8_t *p, uint32_t len);
static enum cmn_parse_result s_ipv6(struct parse_st *st, const uint8_t *p, uint32_t len);

static inline uint16_t s_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t s_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t s_le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t s_le64(const uint8_t *p)
{
    return (uint64_t)s_le32(p) | (uint64_t)s_le32(p + 4) << 32;
}

/* The record signature: cmn_hash over whole words, folded to 32 bits; the
 * same on every host (inputs are built little-endian). Inline so the fast
 * path hashes its words from registers. */
static inline uint32_t s_hash(const uint64_t *words, size_t n)
{
    uint64_t h = cmn_hash_words64(words, n, CMN_HASH_K3);
    return (uint32_t)(h ^ (h >> 32));
}

uint32_t cmn_parse_hash(const uint64_t *words, size_t n)
{
    return s_hash(words, n);
}

static uint32_t s_sig(const struct parse_layer *l)
{
    const struct cmn_record *r = &l->rec;
    uint64_t w[8];
    w[0] = s_le64(r->src);
    w[1] = s_le64(r->src + 8);
    w[2] = s_le64(r->dst);
    w[3] = s_le64(r->dst + 8);
    w[4] = (uint64_t)r->sport | (uint64_t)r->dport << 16 | (uint64_t)r->ip_len << 32;
    w[5] = (uint64_t)r->proto | (uint64_t)r->tcp_flags << 8 |
           (uint64_t)(l->sg.frag_off & 0xffff) << 16 | (uint64_t)l->sg.id32 << 32;
    w[6] = (uint64_t)l->sg.seq | (uint64_t)l->sg.ack << 32;
    w[7] = s_le64(l->sg.pay);
    return s_hash(w, 8);
}

static void s_payload(struct parse_st *st, const uint8_t *p, uint32_t len)
{
    memcpy(st->cur.sg.pay, p, len < 8 ? len : 8);
}

/* Start a new IP layer: forget what the enclosing one recorded. */
static void s_ip_reset(struct parse_st *st)
{
    struct cmn_record *r = &st->cur.rec;
    r->sport = r->dport = 0;
    r->tcp_flags = 0;
    r->ip_id = 0;
    r->pad = 0;
    r->flags &= CMN_REC_VLAN;
    if (st->depth > 1)
        r->flags |= CMN_REC_TUNNELED;
    memset(&st->cur.sg, 0, sizeof(st->cur.sg));
    st->cur.l4pay = NULL;
    st->cur.l4pay_len = 0;
}

enum tun_kind {
    TUN_ETHER,     /* inner Ethernet frame */
    TUN_IPV4,      /* inner IPv4 */
    TUN_IPV6,      /* inner IPv6 */
    TUN_IP_ANY,    /* IPv4 or IPv6 by version nibble */
    TUN_ETHERTYPE, /* payload of the given ethertype (MPLS over GRE, ...) */
};

/* Try the tunnel payload. If it yields no record, the enclosing packet's
 * record stands (it is a real IP packet on the wire); only an over-deep
 * nesting is an error of the whole frame. */
static enum cmn_parse_result s_tunnel(struct parse_st *st, enum tun_kind kind, uint16_t type,
                                      const uint8_t *p, uint32_t len)
{
    struct parse_layer saved = st->cur;
    enum cmn_parse_result r;
    switch (kind) {
        case TUN_ETHER:
            r = s_link(st, p, len, CMN_LINK_EN10MB, true);
            break;
        case TUN_IPV4:
            r = s_ipv4(st, p, len);
            break;
        case TUN_IPV6:
            r = s_ipv6(st, p, len);
            break;
        case TUN_IP_ANY:
            r = s_link(st, p, len, CMN_LINK_RAW, true);
            break;
        default:
            r = s_ethertype(st, type, p, len);
            break;
    }
    if (r == CMN_PARSE_OK || r == CMN_PARSE_TUNNEL_TOO_DEEP)
        return r;
    st->cur = saved;
    return CMN_PARSE_OK;
}

/* GRE (RFC 2784/2890, and the PPTP version 1 header). `len` = bytes of the
 * GRE packet available. Unknown payloads keep the outer record. */
static enum cmn_parse_result s_gre(struct parse_st *st, const uint8_t *p, uint32_t len)
{
    if (len < 4)
        return CMN_PARSE_OK;
    uint16_t fl = s_be16(p), proto = s_be16(p + 2);
    uint32_t hlen = 4;
    if ((fl & 7) == 0) {
        if (fl & 0x4000) /* RFC 1701 source routing: obsolete, not followed */
            return CMN_PARSE_OK;
        hlen += (fl & 0x8000) ? 4 : 0; /* checksum + reserved */
        hlen += (fl & 0x2000) ? 4 : 0; /* key */
        hlen += (fl & 0x1000) ? 4 : 0; /* sequence */
    } else if ((fl & 7) == 1) {        /* PPTP: key always, then seq, ack */
        hlen = 8 + ((fl & 0x1000) ? 4 : 0) + ((fl & 0x0080) ? 4 : 0);
    } else {
        return CMN_PARSE_OK;
    }
    if (len < hlen)
        return CMN_PARSE_OK;
    p += hlen;
    len -= hlen;
    switch (proto) {
        case 0x0800:
            return s_tunnel(st, TUN_IPV4, 0, p, len);
        case 0x86dd:
            return s_tunnel(st, TUN_IPV6, 0, p, len);
        case 0x6558: /* transparent Ethernet bridging */
            return s_tunnel(st, TUN_ETHER, 0, p, len);
        case 0x8847:
        case 0x8848:
            return s_tunnel(st, TUN_ETHERTYPE, proto, p, len);
        case 0x88be: /* ERSPAN type II has an 8-byte header and sets S; type I has none */
            if (fl & 0x1000) {
                if (len < 8)
                    return CMN_PARSE_OK;
                p += 8;
                len -= 8;
            }
            return s_tunnel(st, TUN_ETHER, 0, p, len);
        case 0x22eb: { /* ERSPAN type III: 12 bytes, + 8 with the O (platform) flag */
            if (len < 12)
                return CMN_PARSE_OK;
            uint32_t eh = 12 + ((p[11] & 0x01) ? 8 : 0);
            if (len < eh)
                return CMN_PARSE_OK;
            return s_tunnel(st, TUN_ETHER, 0, p + eh, len - eh);
        }
        case 0x883e: /* Cisco WCCP v2 redirect: 4-byte header, then IP */
            if (len < 4)
                return CMN_PARSE_OK;
            return s_tunnel(st, TUN_IP_ANY, 0, p + 4, len - 4);
        case 0x880b: { /* PPP (PPTP): optional ff 03, 1- or 2-byte protocol */
            if (len >= 2 && p[0] == 0xff && p[1] == 0x03) {
                p += 2;
                len -= 2;
            }
            if (len >= 1 && p[0] == 0x21)
                return s_tunnel(st, TUN_IPV4, 0, p + 1, len - 1);
            if (len >= 1 && p[0] == 0x57)
                return s_tunnel(st, TUN_IPV6, 0, p + 1, len - 1);
            if (len >= 2 && s_be16(p) == 0x0021)
                return s_tunnel(st, TUN_IPV4, 0, p + 2, len - 2);
            if (len >= 2 && s_be16(p) == 0x0057)
                return s_tunnel(st, TUN_IPV6, 0, p + 2, len - 2);
            return CMN_PARSE_OK;
        }
        default:
            return CMN_PARSE_OK;
    }
}

/* UDP overlays by destination port: VXLAN 4789, Geneve 6081. */
static enum cmn_parse_result s_udp_tunnel(struct parse_st *st, uint16_t dport, const uint8_t *p,
                                          uint32_t len)
{
    if (dport == 4789) {
        if (len < 8 || !(p[0] & 0x08)) /* I flag: VNI valid */
            return CMN_PARSE_OK;
        return s_tunnel(st, TUN_ETHER, 0, p + 8, len - 8);
    }
    if (dport == 6081) {
        if (len < 8 || (p[0] >> 6) != 0) /* version 0 only */
            return CMN_PARSE_OK;
        uint32_t hlen = 8 + (uint32_t)(p[0] & 0x3f) * 4;
        uint16_t proto = s_be16(p + 2);
        if (len < hlen)
            return CMN_PARSE_OK;
        if (proto == 0x6558)
            return s_tunnel(st, TUN_ETHER, 0, p + hlen, len - hlen);
        if (proto == 0x0800)
            return s_tunnel(st, TUN_IPV4, 0, p + hlen, len - hlen);
        if (proto == 0x86dd)
            return s_tunnel(st, TUN_IPV6, 0, p + hlen, len - hlen);
    }
    return CMN_PARSE_OK;
}

/* L4 of the current IP layer. `len`: bytes captured inside the IP packet;
 * `iplen`: bytes the IP header says follow. */
/* ICMP and ICMPv6 errors (unreachable, packet too big, time exceeded,
 * parameter problem) quote the offending packet's IP header and its first L4
 * bytes. When that packet went the other way between the same two addresses
 * (this error comes from its destination: a closed port, a host firewall)
 * and carried TCP, UDP or SCTP ports, keep the quoted transport endpoints in
 * the record (cmn_record.h: CMN_REC_ICMP_QUOTE). Errors from a router on the
 * path quote a third address and keep nothing. */
static void s_icmp_quote(struct cmn_record *r, const uint8_t *q, uint32_t len)
{
    bool v4 = r->proto == 1;
    uint8_t type = (uint8_t)(r->sport >> 8);
    if (v4 ? (type != 3 && type != 11 && type != 12) : (type < 1 || type > 4))
        return;
    uint8_t src[16], dst[16], qproto;
    uint32_t hl;
    if (v4) {
        if (len < 20 || (q[0] >> 4) != 4 || (q[0] & 0x0f) < 5)
            return;
        hl = (uint32_t)(q[0] & 0x0f) * 4;
        if ((s_be16(q + 6) & 0x1fff) != 0) /* a later fragment: no ports */
            return;
        cmn_ip_from_v4(src, q + 12);
        cmn_ip_from_v4(dst, q + 16);
        qproto = q[9];
    } else {
        if (len < 40 || (q[0] >> 4) != 6)
            return;
        hl = 40;
        memcpy(src, q + 8, 16);
        memcpy(dst, q + 24, 16);
        qproto = q[6]; /* extension headers: not followed, no quote */
    }
    if (len < hl + 4 || (qproto != 6 && qproto != 17 && qproto != 132))
        return;
    if (memcmp(src, r->dst, 16) != 0 || memcmp(dst, r->src, 16) != 0)
        return;
    r->flags |= CMN_REC_ICMP_QUOTE;
    r->tcp_flags = qproto;
    r->pad = s_be16(q + hl);
    r->dport = s_be16(q + hl + 2);
}

static enum cmn_parse_result s_l4(struct parse_st *st, uint8_t proto, const uint8_t *p,
                                  uint32_t len, uint32_t iplen)
{
    struct cmn_record *r = &st->cur.rec;
    bool open = !st->opts->keep_outer && !(r->flags & CMN_REC_FRAG_FIRST);
    r->proto = proto;
    switch (proto) {
        case 6: { /* TCP */
            /* Ports are the first 4 bytes: keep them even when the capture
             * stops inside the header, as tshark does, so counts agree. */
            if (len < 4)
                goto truncated;
            r->sport = s_be16(p);
            r->dport = s_be16(p + 2);
            if (len < 14)
                goto truncated;
            st->cur.sg.seq = s_be32(p + 4);
            st->cur.sg.ack = s_be32(p + 8);
            r->tcp_flags = p[13];
            if (len < 20)
                goto truncated;
            uint32_t doff = (uint32_t)(p[12] >> 4) * 4;
            if (doff < 20 || (doff > iplen && !(r->flags & CMN_REC_FRAG_FIRST))) {
                /* a real packet on the wire with a bogus data offset: it
                 * counts for its conversation, flagged, payload unread */
                r->flags |= CMN_REC_BAD_L4;
                return CMN_PARSE_OK;
            }
            if (len > doff) {
                s_payload(st, p + doff, len - doff);
                st->cur.l4pay = p + doff;
                st->cur.l4pay_len = len - doff;
            }
            return CMN_PARSE_OK;
        }
        case 17:  /* UDP */
        case 136: /* UDP-Lite */
            if (len < 4)
                goto truncated;
            r->sport = s_be16(p);
            r->dport = s_be16(p + 2);
            if (len < 8)
                goto truncated;
            s_payload(st, p + 8, len - 8);
            st->cur.l4pay = p + 8;
            st->cur.l4pay_len = len - 8;
            if (open && proto == 17 && (r->dport == 4789 || r->dport == 6081))
                return s_udp_tunnel(st, r->dport, p + 8, len - 8);
            return CMN_PARSE_OK;
        case 132: /* SCTP */
        case 33:  /* DCCP */
            if (len < 4)
                goto truncated;
            r->sport = s_be16(p);
            r->dport = s_be16(p + 2);
            s_payload(st, p + 4, len - 4);
            return CMN_PARSE_OK;
        case 1:  /* ICMP */
        case 58: /* ICMPv6 */
            if (len < 2)
                goto truncated;
            r->sport = (uint16_t)(p[0] << 8 | p[1]);
            if (len > 4)
                s_payload(st, p + 4, len - 4);
            if (len > 8)
                s_icmp_quote(r, p + 8, len - 8);
            return CMN_PARSE_OK;
        case 4: /* IPv4 in IP */
            s_payload(st, p, len);
            return open ? s_tunnel(st, TUN_IPV4, 0, p, len) : CMN_PARSE_OK;
        case 41: /* IPv6 in IP */
            s_payload(st, p, len);
            return open ? s_tunnel(st, TUN_IPV6, 0, p, len) : CMN_PARSE_OK;
        case 47: /* GRE */
            s_payload(st, p, len);
            return open ? s_gre(st, p, len) : CMN_PARSE_OK;
        default:
            s_payload(st, p, len);
            return CMN_PARSE_OK;
    }
truncated:
    r->flags |= CMN_REC_TRUNCATED;
    return CMN_PARSE_OK;
}

static enum cmn_parse_result s_ipv4(struct parse_st *st, const uint8_t *p, uint32_t len)
{
    if (++st->depth > CMN_PARSE_MAX_DEPTH)
        return CMN_PARSE_TUNNEL_TOO_DEEP;
    if (len < 1)
        return CMN_PARSE_TRUNCATED_IP;
    if ((p[0] >> 4) != 4)
        return CMN_PARSE_BAD_IP_VERSION;
    if (len < 20)
        return CMN_PARSE_TRUNCATED_IP;
    uint32_t ihl = (uint32_t)(p[0] & 0x0f) * 4;
    if (ihl < 20)
        return CMN_PARSE_BAD_IP_HEADER_LEN;
    uint32_t total = s_be16(p + 2);
    if (total < ihl)
        return CMN_PARSE_BAD_IP_TOTAL_LEN;
    if (len < ihl)
        return CMN_PARSE_TRUNCATED_IP;
    s_ip_reset(st);
    struct cmn_record *r = &st->cur.rec;
    cmn_ip_from_v4(r->src, p + 12);
    cmn_ip_from_v4(r->dst, p + 16);
    r->ip_len = total;
    r->ttl = p[8];
    r->ip_id = s_be16(p + 4);
    r->proto = p[9];
    st->cur.sg.id32 = r->ip_id;
    /* Bytes past total length are L2 padding; bytes short of it were cut by snaplen. */
    uint32_t end = total < len ? total : len;
    uint16_t fo = s_be16(p + 6);
    st->cur.sg.frag_off = fo & 0x1fff;
    if (fo & 0x1fff) {
        r->flags |= CMN_REC_FRAG_LATER;
        s_payload(st, p + ihl, end - ihl);
        return CMN_PARSE_OK;
    }
    if (fo & 0x2000)
        r->flags |= CMN_REC_FRAG_FIRST;
    return s_l4(st, p[9], p + ihl, end - ihl, total - ihl);
}

static enum cmn_parse_result s_ipv6(struct parse_st *st, const uint8_t *p, uint32_t len)
{
    if (++st->depth > CMN_PARSE_MAX_DEPTH)
        return CMN_PARSE_TUNNEL_TOO_DEEP;
    if (len < 1)
        return CMN_PARSE_TRUNCATED_IP;
    if ((p[0] >> 4) != 6)
        return CMN_PARSE_BAD_IP_VERSION;
    if (len < 40)
        return CMN_PARSE_TRUNCATED_IP;
    s_ip_reset(st);
    struct cmn_record *r = &st->cur.rec;
    memcpy(r->src, p + 8, 16);
    memcpy(r->dst, p + 24, 16);
    uint32_t total = (uint32_t)s_be16(p + 4) + 40;
    r->ip_len = total;
    r->ttl = p[7];
    uint32_t end = total < len ? total : len;
    uint8_t nh = p[6];
    uint32_t off = 40;
    /* RFC 8200 allows each extension once (destination options twice); 16
     * bounds the walk for hostile chains without refusing odd legal ones. */
    for (int n = 0; n < 16; n++) {
        uint32_t hlen;
        switch (nh) {
            case 0:  /* hop-by-hop */
            case 43: /* routing */
            case 60: /* destination options */
            case 51: /* AH (length in 4-byte units, minus 2) */
                if (off + 2 > total)
                    return CMN_PARSE_BAD_IPV6_EXT;
                if (off + 2 > end)
                    goto truncated;
                hlen = nh == 51 ? ((uint32_t)p[off + 1] + 2) * 4 : ((uint32_t)p[off + 1] + 1) * 8;
                if (off + hlen > total)
                    return CMN_PARSE_BAD_IPV6_EXT;
                if (off + hlen > end)
                    goto truncated;
                nh = p[off];
                off += hlen;
                break;
            case 44: { /* fragment */
                if (off + 8 > total)
                    return CMN_PARSE_BAD_IPV6_EXT;
                if (off + 8 > end)
                    goto truncated;
                uint16_t fo = s_be16(p + off + 2);
                st->cur.sg.id32 = s_be32(p + off + 4);
                st->cur.sg.frag_off = fo >> 3;
                r->ip_id = (uint16_t)st->cur.sg.id32;
                nh = p[off];
                off += 8;
                if (fo >> 3) {
                    r->flags |= CMN_REC_FRAG_LATER;
                    r->proto = nh;
                    s_payload(st, p + off, end - off);
                    return CMN_PARSE_OK;
                }
                if (fo & 1)
                    r->flags |= CMN_REC_FRAG_FIRST;
                break;
            }
            default: /* upper layer, or ESP (50) / no next header (59): port-less */
                return s_l4(st, nh, p + off, end - off, total - off);
        }
    }
    return CMN_PARSE_BAD_IPV6_EXT;
truncated:
    r->proto = nh;
    r->flags |= CMN_REC_TRUNCATED;
    return CMN_PARSE_OK;
}

/* 802.2 LLC after an 802.3 length field: only SNAP with an ethertype carries IP. */
static enum cmn_parse_result s_llc(struct parse_st *st, const uint8_t *p, uint32_t len)
{
    if (len < 3)
        return CMN_PARSE_TRUNCATED_L2;
    if (p[0] != 0xaa || p[1] != 0xaa || p[2] != 0x03)
        return CMN_PARSE_NON_IP; /* STP, CDP via SNAP OUI, NetBEUI, ... */
    if (len < 8)
        return CMN_PARSE_TRUNCATED_L2;
    if (p[3] != 0 || p[4] != 0 || p[5] != 0)
        return CMN_PARSE_NON_IP; /* vendor OUI (Cisco CDP/VTP) */
    return s_ethertype(st, s_be16(p + 6), p + 8, len - 8);
}

static enum cmn_parse_result s_ethertype(struct parse_st *st, uint16_t type, const uint8_t *p,
                                         uint32_t len)
{
    struct cmn_record *r = &st->cur.rec;
    for (;;) {
        switch (type) {
            case 0x0800:
                return s_ipv4(st, p, len);
            case 0x86dd:
                return s_ipv6(st, p, len);
            case 0x8100:
            case 0x88a8:
            case 0x9100:
            case 0x9200:
                if (++st->tags > CMN_PARSE_MAX_L2_TAGS)
                    return CMN_PARSE_L2_TOO_DEEP;
                if (len < 4)
                    return CMN_PARSE_TRUNCATED_L2;
                r->vlan = s_be16(p) & 0x0fff;
                r->flags |= CMN_REC_VLAN;
                type = s_be16(p + 2);
                p += 4;
                len -= 4;
                if (type < 0x0600)
                    return s_llc(st, p, len);
                break;
            case 0x8847:
            case 0x8848: {
                bool bos = false;
                while (!bos) {
                    if (++st->tags > CMN_PARSE_MAX_L2_TAGS)
                        return CMN_PARSE_L2_TOO_DEEP;
                    if (len < 4)
                        return CMN_PARSE_TRUNCATED_L2;
                    bos = p[2] & 0x01;
                    p += 4;
                    len -= 4;
                }
                if (len < 1)
                    return CMN_PARSE_TRUNCATED_L2;
                switch (p[0] >> 4) {
                    case 4:
                        return s_ipv4(st, p, len);
                    case 6:
                        return s_ipv6(st, p, len);
                    case 0: /* pseudowire control word, then an Ethernet frame */
                        if (++st->tags > CMN_PARSE_MAX_L2_TAGS)
                            return CMN_PARSE_L2_TOO_DEEP;
                        if (len < 4 + 14)
                            return CMN_PARSE_TRUNCATED_L2;
                        type = s_be16(p + 4 + 12);
                        p += 4 + 14;
                        len -= 4 + 14;
                        if (type < 0x0600)
                            return s_llc(st, p, len);
                        break;
                    default:
                        return CMN_PARSE_NON_IP;
                }
                break;
            }
            case 0x8864: { /* PPPoE session: 6-byte header, then the PPP protocol */
                if (len < 8)
                    return CMN_PARSE_TRUNCATED_L2;
                uint16_t ppp = s_be16(p + 6);
                if (ppp == 0x0021)
                    return s_ipv4(st, p + 8, len - 8);
                if (ppp == 0x0057)
                    return s_ipv6(st, p + 8, len - 8);
                return CMN_PARSE_NON_IP; /* LCP, IPCP, ... */
            }
            default:
                return CMN_PARSE_NON_IP;
        }
    }
}

/* A PPP frame without HDLC framing: the protocol field (2 bytes, or 1 when
 * compressed: RFC 1661 section 6.5, an odd first byte), then the payload. */
static enum cmn_parse_result s_ppp(struct parse_st *st, const uint8_t *p, uint32_t len)
{
    if (len < 1)
        return CMN_PARSE_TRUNCATED_L2;
    uint16_t proto;
    if (p[0] & 0x01) {
        proto = p[0];
        p += 1;
        len -= 1;
    } else {
        if (len < 2)
            return CMN_PARSE_TRUNCATED_L2;
        proto = s_be16(p);
        p += 2;
        len -= 2;
    }
    switch (proto) {
        case 0x0021:
            return s_ipv4(st, p, len);
        case 0x0057:
            return s_ipv6(st, p, len);
        case 0x0281: /* MPLS unicast */
        case 0x0283: /* MPLS multicast */
            return s_ethertype(st, proto == 0x0281 ? 0x8847 : 0x8848, p, len);
        default:
            return CMN_PARSE_NON_IP; /* LCP, IPCP, CHAP, compressed data, ... */
    }
}

/* PPP with the HDLC-like ff 03 address and control (RFC 1662) when present;
 * `cisco` also takes Cisco HDLC framing (address 0x0f / 0x8f, control 0,
 * ethertype), which LINKTYPE_PPP_HDLC may carry. */
static enum cmn_parse_result s_ppp_hdlc(struct parse_st *st, const uint8_t *p, uint32_t len,
                                        bool cisco)
{
    if (len >= 2 && p[0] == 0xff && p[1] == 0x03)
        return s_ppp(st, p + 2, len - 2);
    if (cisco && len >= 1 && (p[0] == 0x0f || p[0] == 0x8f)) {
        if (len < 4)
            return CMN_PARSE_TRUNCATED_L2;
        return s_ethertype(st, s_be16(p + 2), p + 4, len - 4);
    }
    return s_ppp(st, p, len);
}

/* An IEEE 802.11 MAC frame. Only data frames carry IP, after an LLC/SNAP
 * header; management and control frames, null data (no body) and protected
 * (encrypted) bodies are non_ip. The FCS, when captured, trails the frame
 * and is cut by the IP length like Ethernet padding. */
static enum cmn_parse_result s_wlan(struct parse_st *st, const uint8_t *p, uint32_t len)
{
    if (len < 2)
        return CMN_PARSE_TRUNCATED_L2;
    uint8_t fc0 = p[0], fc1 = p[1];
    uint8_t type = (fc0 >> 2) & 3, subtype = fc0 >> 4;
    if ((fc0 & 3) != 0 || type != 2)
        return CMN_PARSE_NON_IP; /* version != 0, management, control, extension */
    if (subtype & 0x4)
        return CMN_PARSE_NON_IP; /* null data, QoS null, CF-ack/poll without body */
    uint32_t hlen = 24;
    if ((fc1 & 0x03) == 0x03)
        hlen += 6; /* ToDS and FromDS: the fourth address (mesh, WDS) */
    bool qos = subtype & 0x8, amsdu = false;
    if (qos) {
        if (len < hlen + 2)
            return CMN_PARSE_TRUNCATED_L2;
        amsdu = p[hlen] & 0x80;
        hlen += 2;
        if (fc1 & 0x80)
            hlen += 4; /* +HTC: the order bit of a QoS data frame */
    }
    if (len < hlen)
        return CMN_PARSE_TRUNCATED_L2;
    if (fc1 & 0x40)
        return CMN_PARSE_NON_IP; /* protected: WEP/TKIP/CCMP body */
    p += hlen;
    len -= hlen;
    if (amsdu) { /* first A-MSDU subframe: DA, SA, length, then LLC */
        if (len < 14)
            return CMN_PARSE_TRUNCATED_L2;
        p += 14;
        len -= 14;
    }
    return s_llc(st, p, len);
}

/* Radiotap (radiotap.org): version 0, pad, little-endian total length, then
 * present flags and fields we do not need. */
static enum cmn_parse_result s_radiotap(struct parse_st *st, const uint8_t *p, uint32_t len)
{
    if (len < 8)
        return CMN_PARSE_TRUNCATED_L2;
    uint32_t rlen = (uint32_t)p[2] | (uint32_t)p[3] << 8;
    if (p[0] != 0 || rlen < 8)
        return CMN_PARSE_NON_IP; /* not a radiotap header we know */
    if (len < rlen)
        return CMN_PARSE_TRUNCATED_L2;
    return s_wlan(st, p + rlen, len - rlen);
}

static bool s_af_ip(uint32_t af, uint32_t *fam)
{
    if (af == 2) {
        *fam = 4;
        return true;
    }
    if (af == 24 || af == 28 || af == 30) { /* AF_INET6 on NetBSD/OpenBSD, FreeBSD, Darwin */
        *fam = 6;
        return true;
    }
    return false;
}

static enum cmn_parse_result s_link(struct parse_st *st, const uint8_t *p, uint32_t len,
                                    uint32_t linktype, bool inner)
{
    switch (linktype) {
        case CMN_LINK_EN10MB: {
            if (inner && ++st->tags > CMN_PARSE_MAX_L2_TAGS)
                return CMN_PARSE_L2_TOO_DEEP;
            if (len < 14)
                return CMN_PARSE_TRUNCATED_L2;
            uint16_t type = s_be16(p + 12);
            if (type < 0x0600)
                return s_llc(st, p + 14, len - 14);
            return s_ethertype(st, type, p + 14, len - 14);
        }
        case CMN_LINK_SLL: {
            if (len < 16)
                return CMN_PARSE_TRUNCATED_L2;
            uint16_t type = s_be16(p + 14);
            if (type < 0x0600)
                return CMN_PARSE_NON_IP; /* 802.3 / 802.2 / CAN pseudo protocols */
            return s_ethertype(st, type, p + 16, len - 16);
        }
        case CMN_LINK_SLL2: {
            if (len < 20)
                return CMN_PARSE_TRUNCATED_L2;
            uint16_t type = s_be16(p);
            if (type < 0x0600)
                return CMN_PARSE_NON_IP;
            return s_ethertype(st, type, p + 20, len - 20);
        }
        case CMN_LINK_RAW_OLD:
        case CMN_LINK_RAW_OBSD:
        case CMN_LINK_RAW:
            if (len < 1)
                return CMN_PARSE_TRUNCATED_IP;
            if ((p[0] >> 4) == 4)
                return s_ipv4(st, p, len);
            if ((p[0] >> 4) == 6)
                return s_ipv6(st, p, len);
            return CMN_PARSE_BAD_IP_VERSION;
        case CMN_LINK_IPV4:
            return s_ipv4(st, p, len);
        case CMN_LINK_IPV6:
            return s_ipv6(st, p, len);
        case CMN_LINK_NULL:
        case CMN_LINK_LOOP: {
            /* The family is in the capturing host's byte order (NULL) or network
             * order (LOOP); small values are unambiguous, so try both. */
            if (len < 4)
                return CMN_PARSE_TRUNCATED_L2;
            uint32_t fam;
            if (!s_af_ip(s_le32(p), &fam) && !s_af_ip(s_be32(p), &fam))
                return CMN_PARSE_NON_IP;
            return fam == 4 ? s_ipv4(st, p + 4, len - 4) : s_ipv6(st, p + 4, len - 4);
        }
        case CMN_LINK_PPP:
            return s_ppp_hdlc(st, p, len, false);
        case CMN_LINK_PPP_HDLC:
            return s_ppp_hdlc(st, p, len, true);
        case CMN_LINK_C_HDLC:
            if (len < 4)
                return CMN_PARSE_TRUNCATED_L2;
            return s_ethertype(st, s_be16(p + 2), p + 4, len - 4);
        case CMN_LINK_PPP_ETHER:
            /* PPPoE header: ver/type 0x11, code 0 for session data (others
             * are discovery: PADI, PADO, ...), session id, length */
            if (len < 6)
                return CMN_PARSE_TRUNCATED_L2;
            if (p[1] != 0)
                return CMN_PARSE_NON_IP;
            return s_ethertype(st, 0x8864, p, len);
        case CMN_LINK_IEEE802_11:
            return s_wlan(st, p, len);
        case CMN_LINK_RADIOTAP:
            return s_radiotap(st, p, len);
        case CMN_LINK_RENKEI: {
            if (inner || len < CMN_PARSE_RENKEI_HLEN || p[0] != 'R' || p[1] != 'K' || p[2] != 1 ||
                p[3] < CMN_PARSE_RENKEI_HLEN || p[3] > len)
                return CMN_PARSE_BAD_RENKEI_HEADER;
            uint32_t lt = s_be32(p + 4);
            if (lt == CMN_LINK_RENKEI)
                return CMN_PARSE_BAD_RENKEI_HEADER;
            return s_link(st, p + p[3], len - p[3], lt, true);
        }
        default:
            return CMN_PARSE_UNSUPPORTED_LINKTYPE;
    }
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PARSE_FAST 1
/* Host-order loads; on a little-endian host they equal s_le32/s_le64. */
static inline uint32_t s_ld32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t s_ld64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* The common frame in one straight pass, with no parser state: Ethernet II,
 * at most one 802.1Q tag, IPv4 (any IHL) or IPv6 without extension headers,
 * not a fragment, TCP with a sane data offset or UDP to a port that is not a
 * tunnel, the L4 header captured in full. Fills *out exactly as the layered
 * parser below would (test_parse compares both on every frame of the shared
 * captures, their prefixes, mutations and crafted frames) and returns true;
 * anything else returns false before writing *out, and the layered parser
 * takes the frame. The signature words are built from registers instead of
 * being read back from a record just written byte by byte (store-forwarding
 * stalls). */
static inline bool s_fast(const uint8_t *f, uint32_t caplen, uint64_t ts_ns, struct cmn_record *out)
{
    if (caplen < 14 + 20 + 8)
        return false;
    const uint8_t *p = f + 14;
    uint32_t len = caplen - 14;
    uint16_t type = s_be16(f + 12);
    uint16_t vlan = 0;
    uint8_t flags = 0;
    if (type == 0x8100) { /* len >= 28 here */
        vlan = s_be16(p) & 0x0fff;
        flags = CMN_REC_VLAN;
        type = s_be16(p + 2);
        p += 4;
        len -= 4;
    }
    uint64_t w0, w1, w2, w3;
    uint32_t total, l3;
    uint16_t ip_id;
    uint8_t proto, ttl;
    if (type == 0x0800) {
        l3 = (uint32_t)(p[0] & 0x0f) * 4;
        if ((p[0] >> 4) != 4 || l3 < 20 || len < l3)
            return false;
        total = s_be16(p + 2);
        if (total < l3 || (s_be16(p + 6) & 0x3fff) != 0) /* short, or a fragment */
            return false;
        w0 = w2 = 0; /* v4-mapped: ::ffff:a.b.c.d */
        w1 = 0xffff0000ull | (uint64_t)s_ld32(p + 12) << 32;
        w3 = 0xffff0000ull | (uint64_t)s_ld32(p + 16) << 32;
        ip_id = s_be16(p + 4);
        ttl = p[8];
        proto = p[9];
    } else if (type == 0x86dd) {
        if (len < 40 || (p[0] >> 4) != 6)
            return false;
        l3 = 40;
        total = (uint32_t)s_be16(p + 4) + 40;
        w0 = s_ld64(p + 8);
        w1 = s_ld64(p + 16);
        w2 = s_ld64(p + 24);
        w3 = s_ld64(p + 32);
        ip_id = 0;
        ttl = p[7];
        proto = p[6]; /* an extension header is neither 6 nor 17 */
    } else {
        return false;
    }
    /* Bytes past total length are L2 padding; bytes short of it were cut by snaplen. */
    uint32_t end = total < len ? total : len;
    const uint8_t *q = p + l3;
    uint32_t l4 = end - l3; /* >= 0: end >= l3 was checked */
    uint32_t hlen;
    uint64_t seqack = 0;
    uint8_t tcp_flags = 0;
    if (proto == 6) {
        if (l4 < 20)
            return false;
        hlen = (uint32_t)(q[12] >> 4) * 4;
        if (hlen < 20 || hlen > total - l3) /* CMN_REC_BAD_L4: the layered path */
            return false;
        seqack = (uint64_t)s_be32(q + 4) | (uint64_t)s_be32(q + 8) << 32;
        tcp_flags = q[13];
    } else if (proto == 17) {
        if (l4 < 8)
            return false;
        uint16_t dp = s_be16(q + 2);
        if (dp == 4789 || dp == 6081) /* VXLAN, Geneve */
            return false;
        hlen = 8;
    } else {
        return false;
    }
    uint64_t pay = 0; /* first L4 payload bytes, zero-padded */
    if (l4 >= hlen + 8)
        pay = s_ld64(q + hlen);
    else if (l4 > hlen)
        memcpy(&pay, q + hlen, l4 - hlen);
    uint16_t sport = s_be16(q), dport = s_be16(q + 2);
    uint64_t w[8] = {
        w0,
        w1,
        w2,
        w3,
        (uint64_t)sport | (uint64_t)dport << 16 | (uint64_t)total << 32,
        (uint64_t)proto | (uint64_t)tcp_flags << 8 | (uint64_t)ip_id << 32, /* frag_off 0 */
        seqack,
        pay,
    };
    struct cmn_record r;
    r.ts_ns = ts_ns;
    memcpy(r.src, &w0, 8);
    memcpy(r.src + 8, &w1, 8);
    memcpy(r.dst, &w2, 8);
    memcpy(r.dst + 8, &w3, 8);
    r.sport = sport;
    r.dport = dport;
    r.ip_len = total;
    r.sig = s_hash(w, 8);
    r.vlan = vlan;
    r.proto = proto;
    r.tcp_flags = tcp_flags;
    r.flags = flags;
    r.ttl = ttl;
    r.ip_id = ip_id;
    r.pad = 0;
    *out = r;
    return true;
}
#endif

/* The layered parser, from the link layer down. */
static enum cmn_parse_result s_layered(struct parse_st *st, const uint8_t *frame, uint32_t caplen,
                                       uint32_t linktype, uint64_t ts_ns,
                                       const struct cmn_parse_opts *opts)
{
    /* Only what the layered parser reads before writing: the record, the
     * signature inputs (zero until set) and the two depth counters. */
    memset(&st->cur, 0, sizeof(st->cur));
    st->opts = opts;
    st->depth = 0;
    st->tags = 0;
    st->cur.rec.ts_ns = ts_ns;
    enum cmn_parse_result r = s_link(st, frame, caplen, linktype, false);
    if (r == CMN_PARSE_OK)
        st->cur.rec.sig = s_sig(&st->cur);
    return r;
}

enum cmn_parse_result cmn_parse_packet(const uint8_t *frame, uint32_t caplen, uint32_t linktype,
                                       uint64_t ts_ns, const struct cmn_parse_opts *opts,
                                       struct cmn_record *out)
{
    static const struct cmn_parse_opts defaults = {.keep_outer = false};
    if (!opts)
        opts = &defaults;
#ifdef PARSE_FAST
    if (linktype == CMN_LINK_EN10MB && !opts->no_fast_path && s_fast(frame, caplen, ts_ns, out))
        return CMN_PARSE_OK;
#endif
    struct parse_st st;
    enum cmn_parse_result r = s_layered(&st, frame, caplen, linktype, ts_ns, opts);
    if (r != CMN_PARSE_OK)
        return r;
    *out = st.cur.rec;
    return CMN_PARSE_OK;
}

enum cmn_parse_result cmn_parse_packet_payload(const uint8_t *frame, uint32_t caplen,
                                               uint32_t linktype, uint64_t ts_ns,
                                               const struct cmn_parse_opts *opts,
                                               struct cmn_record *out, const uint8_t **payload,
                                               uint32_t *payload_len)
{
    static const struct cmn_parse_opts defaults = {.keep_outer = false};
    struct parse_st st;
    enum cmn_parse_result r =
        s_layered(&st, frame, caplen, linktype, ts_ns, opts ? opts : &defaults);
    *payload = NULL;
    *payload_len = 0;
    if (r != CMN_PARSE_OK)
        return r;
    *out = st.cur.rec;
    if (st.cur.rec.proto == 6 || st.cur.rec.proto == 17) {
        *payload = st.cur.l4pay;
        *payload_len = st.cur.l4pay ? st.cur.l4pay_len : 0;
    }
    return CMN_PARSE_OK;
}

const char *cmn_parse_result_name(enum cmn_parse_result r)
{
    static const char *const names[CMN_PARSE_RESULT_COUNT] = {
        [CMN_PARSE_OK] = "ok",
        [CMN_PARSE_NON_IP] = "non_ip",
        [CMN_PARSE_UNSUPPORTED_LINKTYPE] = "unsupported_linktype",
        [CMN_PARSE_TRUNCATED_L2] = "truncated_l2",
        [CMN_PARSE_L2_TOO_DEEP] = "l2_too_deep",
        [CMN_PARSE_BAD_IP_VERSION] = "bad_ip_version",
        [CMN_PARSE_BAD_IP_HEADER_LEN] = "bad_ip_header_len",
        [CMN_PARSE_BAD_IP_TOTAL_LEN] = "bad_ip_total_len",
        [CMN_PARSE_TRUNCATED_IP] = "truncated_ip",
        [CMN_PARSE_BAD_IPV6_EXT] = "bad_ipv6_ext",
        [CMN_PARSE_TUNNEL_TOO_DEEP] = "tunnel_too_deep",
        [CMN_PARSE_BAD_RENKEI_HEADER] = "bad_renkei_header",
    };
    if ((unsigned)r >= CMN_PARSE_RESULT_COUNT)
        return "unknown";
    return names[r];
}

void cmn_parse_renkei_header(uint8_t hdr[CMN_PARSE_RENKEI_HLEN], uint32_t linktype)
{
    hdr[0] = 'R';
    hdr[1] = 'K';
    hdr[2] = 1;
    hdr[3] = CMN_PARSE_RENKEI_HLEN;
    hdr[4] = (uint8_t)(linktype >> 24);
    hdr[5] = (uint8_t)(linktype >> 16);
    hdr[6] = (uint8_t)(linktype >> 8);
    hdr[7] = (uint8_t)linktype;
}
