/* SPDX-License-Identifier: MIT
 * cmn_record: the fixed-layout structures that cross process boundaries inside
 * protobuf bytes fields (see proto/README.md): the per-packet header record a
 * collector emits, the session and endpoint rows a tracker reports, and the
 * event rows (floods, scans). Layouts are little-endian, packed by design
 * (every field naturally aligned, sizes asserted), version CMN_LAYOUT_VERSION.
 * Addresses are always 16 bytes: IPv4 is stored v4-mapped (::ffff:a.b.c.d).
 */
#ifndef CMN_RECORD_H
#define CMN_RECORD_H

#include <stdint.h>

#define CMN_LAYOUT_VERSION 1
#define CMN_WIRE_VERSION   1

/* cmn_record.flags */
#define CMN_REC_FRAG_LATER 0x01 /* non-first IP fragment: no ports, counts for the IP pair */
#define CMN_REC_TUNNELED   0x02 /* addresses come from an inner (tunnelled) IP header */
#define CMN_REC_VLAN       0x04 /* vlan field is valid */
#define CMN_REC_TRUNCATED  0x08 /* capture ended inside the L4 header: ports only if >= 4 bytes */
#define CMN_REC_FRAG_FIRST 0x10 /* first fragment of a fragmented datagram */
#define CMN_REC_BAD_L4     0x20 /* L4 header inconsistent (e.g. TCP data offset): kept, flagged */
#define CMN_REC_ICMP_QUOTE 0x40 /* ICMP(v6) error quoting the reverse transport packet (below) */

/* TCP flag bits as on the wire (byte 13 of the TCP header). */
#define CMN_TCP_FIN 0x01
#define CMN_TCP_SYN 0x02
#define CMN_TCP_RST 0x04
#define CMN_TCP_PSH 0x08
#define CMN_TCP_ACK 0x10
#define CMN_TCP_URG 0x20
#define CMN_TCP_ECE 0x40
#define CMN_TCP_CWR 0x80

/* One packet, as the collector keeps it. 64 bytes, one cache line. For ICMP
 * and ICMPv6, sport holds type<<8|code and dport 0; an error (unreachable,
 * packet too big, time exceeded, parameter problem) that quotes a TCP, UDP
 * or SCTP packet sent from this record's dst to its src (the error comes
 * from that packet's destination) has CMN_REC_ICMP_QUOTE, the quoted
 * protocol in tcp_flags, the quoted destination port (the port on this
 * record's src side) in dport and the quoted source port in pad. */
struct cmn_record {
    uint64_t ts_ns;    /* capture time, ns since the Unix epoch */
    uint8_t src[16];   /* source address (v4-mapped for IPv4) */
    uint8_t dst[16];   /* destination address */
    uint16_t sport;    /* source port (host order); 0 when none */
    uint16_t dport;    /* destination port (host order); 0 when none */
    uint32_t ip_len;   /* IP bytes: IPv4 total length, IPv6 payload length + 40 */
    uint32_t sig;      /* dedup signature: hash of fields equal on both mirror copies */
    uint16_t vlan;     /* innermost 802.1Q VLAN id when CMN_REC_VLAN */
    uint8_t proto;     /* IP protocol number (6 tcp, 17 udp, 1 icmp, 58 icmpv6, ...) */
    uint8_t tcp_flags; /* TCP flags byte, 0 for other protocols */
    uint8_t flags;     /* CMN_REC_* */
    uint8_t ttl;       /* IPv4 TTL / IPv6 hop limit (differs between mirror copies) */
    uint16_t ip_id;    /* IPv4 identification (low 16 bits of IPv6 fragment id) */
    uint32_t pad;      /* zero; ICMP errors with CMN_REC_ICMP_QUOTE: quoted source port */
};
_Static_assert(sizeof(struct cmn_record) == 64, "cmn_record must be 64 bytes");

/* Session direction index: 0 = A->B, 1 = B->A (A is the lower address, see cmn_key). */
enum { CMN_DIR_AB = 0, CMN_DIR_BA = 1 };

/* cmn_session_rec.flags */
#define CMN_SESS_A_INIT    0x01 /* first packet seen went A->B */
#define CMN_SESS_B_INIT    0x02 /* first packet seen went B->A */
#define CMN_SESS_FRAGS     0x04 /* port-less row holding later fragments of the IP pair */
#define CMN_SESS_MIDSTREAM 0x08 /* TCP: first packet seen was not a SYN */

/* One session's counters for one epoch (deltas; epochs add up). 128 bytes. */
struct cmn_session_rec {
    uint8_t a_ip[16];   /* lower address */
    uint8_t b_ip[16];   /* higher address */
    uint16_t a_port;    /* port on A's side (0 for port-less) */
    uint16_t b_port;    /* port on B's side */
    uint8_t proto;      /* IP protocol */
    uint8_t flags;      /* CMN_SESS_* */
    uint16_t pad0;      /* zero */
    uint64_t pkts[2];   /* packets per direction, [CMN_DIR_AB], [CMN_DIR_BA] */
    uint64_t bytes[2];  /* IP bytes per direction */
    uint32_t syn[2];    /* packets with SYN set (including SYN+ACK) per direction */
    uint32_t synack[2]; /* packets with SYN and ACK set per direction */
    uint32_t ack[2];    /* packets with ACK set per direction */
    uint32_t fin[2];    /* packets with FIN set per direction */
    uint32_t rst[2];    /* TCP: packets with RST set per direction; UDP and SCTP: ICMP
                           refusals (port unreachable, prohibited) sent by that
                           direction's sender about its own port (the datagram RST) */
    uint64_t first_ns;  /* first packet of the session in this epoch */
    uint64_t last_ns;   /* last packet of the session in this epoch */
};
_Static_assert(sizeof(struct cmn_session_rec) == 128, "cmn_session_rec layout");

/* Endpoint roles. */
enum cmn_role {
    CMN_ROLE_UNKNOWN = 0, /* not enough evidence, or traffic that is neither (scan target) */
    CMN_ROLE_SERVER = 1,
    CMN_ROLE_CLIENT = 2,
};

/* Cumulative evidence and decision for one (ip, proto, port), sent by the
 * tracker that owns ip. Cumulative since the start of the run, so the merger
 * replaces its row. 128 bytes. */
struct cmn_endpoint_rec {
    uint8_t ip[16];               /* the endpoint's address */
    uint16_t port;                /* its port */
    uint8_t proto;                /* IP protocol */
    uint8_t role;                 /* enum cmn_role */
    float confidence;             /* in [0,1]: confidence that `role` is right */
    uint32_t peers;               /* distinct peer IPs */
    uint32_t peer_ports;          /* distinct peer ports */
    uint32_t sessions;            /* distinct sessions (peer ip, peer port) */
    uint32_t synack_sent;         /* SYN+ACK packets sent from this endpoint */
    uint32_t synack_recv;         /* SYN+ACK packets received */
    uint32_t syn_sent;            /* pure SYN (no ACK) sent */
    uint32_t syn_recv;            /* pure SYN received */
    uint32_t rst_sent;            /* RST sent (UDP, SCTP: ICMP refusals sent about the port) */
    uint32_t rst_recv;            /* RST received */
    uint32_t init_sessions;       /* sessions whose first seen packet came from this endpoint */
    uint32_t resp_sessions;       /* sessions whose first seen packet came from the peer */
    uint32_t epochs_seen;         /* epochs in which the endpoint had traffic */
    uint32_t lower_port_sessions; /* sessions where this port < peer port */
    uint32_t ftp_data_sessions;   /* TCP sessions whose peer port is 20 (active FTP data) */
    uint64_t pkts_out;            /* packets sent from the endpoint */
    uint64_t pkts_in;             /* packets received */
    uint64_t bytes_out;           /* IP bytes sent */
    uint64_t bytes_in;            /* IP bytes received */
    uint64_t first_ns;            /* first packet */
    uint64_t last_ns;             /* last packet */
};
_Static_assert(sizeof(struct cmn_endpoint_rec) == 128, "cmn_endpoint_rec layout");

/* Event kinds for cmn_event_rec.kind. */
enum cmn_event_kind {
    CMN_EVENT_SYN_FLOOD = 1,
    CMN_EVENT_PORT_SCAN = 2,
    CMN_EVENT_STEALTH_SCAN = 3,
};

/* An event (flood, scan) seen by a tracker; cumulative, keyed by
 * (kind, target ip, port, actor ip or zero). 72 bytes. */
struct cmn_event_rec {
    uint8_t target_ip[16]; /* attacked / scanned address */
    uint8_t actor_ip[16];  /* scanner (zero for a flood from many sources) */
    uint16_t port;         /* target port (0: many ports) */
    uint8_t kind;          /* enum cmn_event_kind */
    uint8_t proto;         /* IP protocol */
    uint32_t source_count; /* distinct source IPs */
    uint64_t packets;      /* packets attributed to the event */
    uint64_t first_ns;     /* first packet */
    uint64_t last_ns;      /* last packet */
    uint32_t port_count;   /* distinct ports probed (scans) */
    uint32_t pad0;         /* zero */
};
_Static_assert(sizeof(struct cmn_event_rec) == 72, "cmn_event_rec layout");

#endif /* CMN_RECORD_H */
