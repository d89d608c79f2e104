// SPDX-License-Identifier: MIT
// renkei-gen packet layer: builds Ethernet/802.1Q + IPv4/IPv6 + TCP/UDP frames
// with valid lengths and checksums, and writes classic pcap files through a
// large buffer. Used only by the ground-truth generator in test/gen/.
//
// Contract: payload bytes come from one fixed pseudo-random buffer (offset 0
// for TCP segments, offset into the datagram for UDP fragments), so checksums
// are a header sum plus a precomputed prefix sum: O(header) per packet, not
// O(payload). Call gen_pkt_init() once before building anything.
#ifndef GEN_PKT_H
#define GEN_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GEN_PAYLOAD_MAX 16384 /* largest UDP datagram payload or TCP segment */
#define GEN_FRAME_MAX   1600  /* largest frame built (1500 MTU + L2 + slack) */

/* Payload contents, chosen so that tshark's dissectors find nothing wrong. */
enum gen_payload {
    GEN_PL_BINARY,    /* pseudo-random bytes */
    GEN_PL_DNS_QUERY, /* DNS header (query, no records) then bytes */
    GEN_PL_DNS_REPLY, /* DNS header (response, no records) then bytes */
    GEN_PL_TEXT,      /* printable syslog-style lines */
    GEN_PL_BOOTP,     /* a DHCP message: BOOTP header, magic cookie, options */
    GEN_PL_SSDP,      /* an SSDP M-SEARCH request (GEN_SSDP_LEN bytes) */
    GEN_PL_COUNT
};

#define GEN_BOOTP_LEN 244 /* GEN_PL_BOOTP's message */
#define GEN_SSDP_LEN  94  /* GEN_PL_SSDP's request */

#define GEN_TH_FIN 0x01
#define GEN_TH_SYN 0x02
#define GEN_TH_RST 0x04
#define GEN_TH_PSH 0x08
#define GEN_TH_ACK 0x10

/* One packet to build; all numbers in host order. */
struct gen_pkt {
    const uint8_t *src;   /* 4 or 16 source address bytes */
    const uint8_t *dst;   /* 4 or 16 destination address bytes */
    const uint8_t *smac;  /* 6 bytes */
    const uint8_t *dmac;  /* 6 bytes */
    uint8_t v6;           /* 1 = IPv6, 0 = IPv4 */
    uint8_t proto;        /* 6 (TCP), 17 (UDP), 1 (ICMP) or 58 (ICMPv6) */
    uint8_t ttl;          /* IPv4 TTL / IPv6 hop limit */
    uint8_t tcp_flags;    /* GEN_TH_* */
    uint8_t payload;      /* enum gen_payload */
    uint16_t sport;       /* transport source port */
    uint16_t dport;       /* transport destination port */
    uint16_t vlan;        /* 802.1Q VLAN id, 0 = untagged */
    uint16_t ipid;        /* IPv4 identification */
    uint16_t win;         /* TCP window */
    uint32_t seq;         /* TCP sequence number */
    uint32_t ack;         /* TCP acknowledgement number */
    uint32_t flow;        /* IPv6 flow label (20 bits) */
    uint32_t len;         /* TCP segment payload, or whole UDP datagram payload */
    uint32_t frag_off;    /* IPv4 fragment: offset into UDP header+payload */
    uint32_t frag_len;    /* IPv4 fragment: bytes carried here; 0 = unfragmented */
    uint8_t icmp_type;    /* ICMP / ICMPv6 error type */
    uint8_t icmp_code;    /* its code */
    const uint8_t *quote; /* ICMP error body: the quoted IP packet's first bytes */
    uint32_t quote_len;   /* its length (len is ignored for ICMP) */
};

/* Fill the payload buffers and their checksum prefix sums from seed. */
void gen_pkt_init(uint64_t seed);

/* Build p into out, materialising at most limit bytes (headers are always
 * written whole; limit must be >= 96). Returns the full frame length (the pcap
 * orig_len); *ip_len gets the IP bytes (IPv4 total length / IPv6 payload + 40). */
size_t gen_pkt_build(const struct gen_pkt *p, uint8_t *out, size_t limit,
                     uint32_t *ip_len /* OUT */);

/* Copy frame in (caplen bytes materialised) to out as the redundant switch
 * would mirror it: 802.1Q tag set to vid (added if absent), TTL / hop limit
 * decremented with an incremental (RFC 1624) IPv4 checksum update. Returns
 * the bytes written to out; *grow gets 4 if a tag was added, else 0. */
size_t gen_pkt_redirect(const uint8_t *in, size_t caplen, uint8_t *out, uint16_t vid,
                        size_t *grow /* OUT */);

struct gen_pcap;

/* Create path and write a classic pcap header (Ethernet link type).
 * nsec selects nanosecond timestamps. Returns NULL and prints why on error. */
struct gen_pcap *gen_pcap_open(const char *path, uint32_t snaplen, bool nsec);

/* Append one record; ts_ns is absolute (ns since the Unix epoch). The frame
 * is truncated to the snap length. Returns 0 or -errno. */
int gen_pcap_write(struct gen_pcap *w, uint64_t ts_ns, const uint8_t *frame, size_t have,
                   size_t orig_len);

/* Snap length of w. */
uint32_t gen_pcap_snaplen(const struct gen_pcap *w);

/* Flush, close, free; accepts NULL and nulls *w. Returns 0 or -errno. */
int gen_pcap_close(struct gen_pcap **w);

#endif
