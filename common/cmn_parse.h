/* SPDX-License-Identifier: MIT
 * cmn_parse: the packet header parser. Turns one captured frame (link type,
 * bytes, timestamp) into one struct cmn_record, or names why it cannot.
 * Pure function: no allocation, no logging, no global state, thread-safe;
 * the caller counts results by cmn_parse_result_name(). Bytes are untrusted:
 * every read is bounds-checked, nothing asserts on packet contents.
 *
 * What it understands:
 *  - link types: CMN_LINK_* of cmn_capfile.h (Ethernet, Linux SLL/SLL2, raw IP
 *    variants, BSD NULL/LOOP with the address family in either byte order)
 *    and CMN_LINK_RENKEI (below);
 *  - L2: Ethernet II and 802.3 LLC/SNAP, 802.1Q/802.1ad/QinQ (0x8100, 0x88a8,
 *    0x9100; the innermost VLAN id is recorded), MPLS stacks (0x8847/0x8848;
 *    IPv4/IPv6 by first nibble after the bottom label, 0 = pseudowire control
 *    word + Ethernet), PPPoE session (0x8864, PPP IPv4/IPv6);
 *  - L3: IPv4 (fragments: the first carries ports, later ones are records
 *    with CMN_REC_FRAG_LATER and no ports), IPv6 with extension headers
 *    (hop-by-hop, routing, fragment, destination options, AH; ESP and
 *    no-next-header give port-less records);
 *  - L4: TCP, UDP, UDP-Lite, SCTP, DCCP (ports), ICMP/ICMPv6 (sport =
 *    type<<8|code), anything else: protocol only;
 *  - tunnels, opened up to CMN_PARSE_MAX_DEPTH levels: GRE (checksum, key,
 *    sequence; IPv4, IPv6, MPLS, transparent Ethernet bridging, ERSPAN I/II/III),
 *    VXLAN (UDP dst 4789), Geneve (UDP dst 6081), IP-in-IP, IPv6-in-IPv4/IPv6.
 *    The innermost IP header makes the record (CMN_REC_TUNNELED) unless
 *    opts->keep_outer. A tunnel payload that is not a parsable IP packet
 *    (ARP inside VXLAN, unknown GRE protocol, truncated inner header) leaves
 *    the record of the enclosing IP packet, which is a real packet on the wire.
 *
 * Record fields: ip_len is the IP length from the header (IPv4 total length,
 * IPv6 payload length + 40) even when the capture is cut short by snaplen; a
 * capture that ends inside the L4 header still makes a record (IP pair,
 * CMN_REC_TRUNCATED; ports when their 4 bytes were captured, flags when
 * byte 13 was); a TCP header with an impossible data offset is kept with
 * CMN_REC_BAD_L4 (it is a real packet of that conversation, as tshark counts it). `sig` hashes only
 * what two mirror copies of a packet share: addresses, protocol, ports, ip_id (32-bit IPv6 fragment
 * id), fragment offset, ip_len, TCP flags, sequence and acknowledgement numbers, and up to 8 bytes
 * of L4 payload when captured; never TTL, VLAN or L2.
 *
 * CMN_LINK_RENKEI (LINKTYPE_USER0, 147) framing: each frame starts with an
 * 8-byte header {'R', 'K', version 1, header length 8, original link type as
 * a big-endian uint32}, followed by the original frame. The collector writes
 * it when it turns a pcapng with several link types into a classic pcap that
 * DPDK's net_pcap can replay (see collector/col_convert.h).
 */
#ifndef CMN_PARSE_H
#define CMN_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmn_record.h"

#define CMN_PARSE_MAX_DEPTH   8  /* nested IP headers (tunnel levels) before tunnel_too_deep */
#define CMN_PARSE_MAX_L2_TAGS 16 /* VLAN tags + MPLS labels + inner Ethernets per frame */
#define CMN_PARSE_RENKEI_HLEN 8  /* bytes of the CMN_LINK_RENKEI frame header */

/* Outcome of parsing one frame. CMN_PARSE_OK fills the record; every other
 * value is a counted drop: NON_IP is ordinary traffic renkei does not map
 * (ARP, STP, LLDP, ...), the rest are malformed or unsupported frames.
 * Values are stable within a build only; use the names across processes. */
enum cmn_parse_result {
    CMN_PARSE_OK = 0,               /* record filled */
    CMN_PARSE_NON_IP,               /* valid frame without IP (ARP, LLDP, PPPoE discovery...) */
    CMN_PARSE_UNSUPPORTED_LINKTYPE, /* link type not in CMN_LINK_* */
    CMN_PARSE_TRUNCATED_L2,         /* frame ends inside the link or VLAN/MPLS/PPPoE headers */
    CMN_PARSE_L2_TOO_DEEP,          /* more than CMN_PARSE_MAX_L2_TAGS tags/labels */
    CMN_PARSE_BAD_IP_VERSION,       /* IP version nibble is not the one announced */
    CMN_PARSE_BAD_IP_HEADER_LEN,    /* IPv4 IHL < 5 */
    CMN_PARSE_BAD_IP_TOTAL_LEN,     /* IPv4 total length < IHL*4 */
    CMN_PARSE_TRUNCATED_IP,         /* capture ends inside the (outermost) IP header */
    CMN_PARSE_BAD_IPV6_EXT,         /* extension header chain overruns the payload length */
    CMN_PARSE_TUNNEL_TOO_DEEP,      /* more than CMN_PARSE_MAX_DEPTH nested IP headers */
    CMN_PARSE_BAD_RENKEI_HEADER,    /* CMN_LINK_RENKEI frame without a valid renkei header */
    CMN_PARSE_RESULT_COUNT          /* number of results (array size for counters) */
};

/* Per-run options (shared, read-only). */
struct cmn_parse_opts {
    bool keep_outer;   /* record the outermost IP header of tunnels instead of the innermost */
    bool no_fast_path; /* tests: always take the layered parser (results are identical) */
};

/* Parse `frame` (caplen captured bytes of link type `linktype`, captured at
 * ts_ns) into *out. `opts` may be NULL (defaults). On CMN_PARSE_OK *out is fully
 * written (pad zero); on any other result *out is unspecified. */
enum cmn_parse_result cmn_parse_packet(const uint8_t *frame, uint32_t caplen, uint32_t linktype,
                                       uint64_t ts_ns, const struct cmn_parse_opts *opts,
                                       struct cmn_record *out /* OUT */);

/* As cmn_parse_packet (always the layered parser, so a little slower: for
 * the few packets whose payload is read, such as DNS answers), and points
 * *payload at the L4 payload of the recorded layer: TCP after its options,
 * UDP after its header, bounded by the IP length and the capture
 * (*payload_len bytes, borrowed from frame). NULL and 0 for other
 * protocols, for TCP with a bad data offset and for results other than OK. */
enum cmn_parse_result
cmn_parse_packet_payload(const uint8_t *frame, uint32_t caplen, uint32_t linktype, uint64_t ts_ns,
                         const struct cmn_parse_opts *opts, struct cmn_record *out /* OUT */,
                         const uint8_t **payload /* OUT */, uint32_t *payload_len /* OUT */);

/* snake_case name of a result for counters ("ok", "non_ip", "truncated_l2",
 * ...); "unknown" for out-of-range values. Borrowed, static. */
const char *cmn_parse_result_name(enum cmn_parse_result r);

/* Write the CMN_LINK_RENKEI header for a frame of `linktype` into
 * hdr[CMN_PARSE_RENKEI_HLEN]. */
void cmn_parse_renkei_header(uint8_t hdr[CMN_PARSE_RENKEI_HLEN] /* OUT */, uint32_t linktype);

/* The record signature hash of a 64-bit word stream (exposed for tests and
 * tools that rebuild signatures). */
uint32_t cmn_parse_hash(const uint64_t *words, size_t n);

#endif /* CMN_PARSE_H */
