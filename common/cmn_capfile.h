/* SPDX-License-Identifier: MIT
 * cmn_capfile: reads capture files without libpcap: classic pcap (µs and ns,
 * either byte order) and pcapng (several sections and interfaces, each with
 * its own link type), told apart by magic number, never by file name. The
 * collector reads capture files with it (memory-mapped: packets are borrowed
 * in place); `renkei analyze` checks file headers with it before starting
 * the pipeline. Every error names the file and what is wrong. A regular file
 * that shrinks while mapped raises SIGBUS on the next read of the lost part
 * (the collector turns it into a message).
 */
#ifndef CMN_CAPFILE_H
#define CMN_CAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Link types renkei parses (LINKTYPE_* values as stored in files). */
#define CMN_LINK_NULL       0   /* BSD loopback: 4-byte address family, capturer's byte order */
#define CMN_LINK_EN10MB     1   /* Ethernet */
#define CMN_LINK_RAW_OLD    12  /* raw IP (DLT_RAW on most systems) */
#define CMN_LINK_RAW_OBSD   14  /* raw IP (OpenBSD DLT_RAW) */
#define CMN_LINK_RAW        101 /* raw IPv4 or IPv6 */
#define CMN_LINK_LOOP       108 /* OpenBSD loopback: 4-byte AF in network order */
#define CMN_LINK_SLL        113 /* Linux cooked v1 */
#define CMN_LINK_IPV4       228 /* raw IPv4 */
#define CMN_LINK_IPV6       229 /* raw IPv6 */
#define CMN_LINK_SLL2       276 /* Linux cooked v2 */
#define CMN_LINK_RENKEI     147 /* LINKTYPE_USER0: renkei's own framing, see cmn_parse.h */
#define CMN_LINK_PPP        9   /* PPP (RFC 1661), optionally with ff 03 HDLC address/control */
#define CMN_LINK_PPP_HDLC   50  /* PPP in HDLC-like framing (RFC 1662), or Cisco HDLC framing */
#define CMN_LINK_PPP_ETHER  51  /* PPPoE header (RFC 2516), then PPP */
#define CMN_LINK_C_HDLC     104 /* Cisco HDLC: address, control, ethertype */
#define CMN_LINK_IEEE802_11 105 /* IEEE 802.11 MAC frames */
#define CMN_LINK_RADIOTAP   127 /* radiotap header, then an IEEE 802.11 frame */

enum cmn_cap_format {
    CMN_CAP_PCAP = 1,   /* classic libpcap format */
    CMN_CAP_PCAPNG = 2, /* pcapng */
};

/* One packet, borrowed from the reader until the next call. */
struct cmn_cap_pkt {
    const uint8_t *data; /* captured bytes */
    uint32_t caplen;     /* bytes captured */
    uint32_t origlen;    /* bytes on the wire */
    uint64_t ts_ns;      /* timestamp, ns since the Unix epoch */
    uint32_t linktype;   /* link type of the packet's interface */
    uint32_t ifindex;    /* pcapng interface index within its section (0 for pcap) */
};

/* What a full scan found. */
struct cmn_capfile_info {
    enum cmn_cap_format format;   /* pcap or pcapng */
    uint64_t packets;             /* readable packets */
    uint64_t bytes;               /* sum of origlen */
    uint32_t linktypes[8];        /* distinct link types, in order of first use */
    uint32_t n_linktypes;         /* entries used in linktypes */
    uint64_t linktype_packets[8]; /* packets of each entry of linktypes */
    bool mixed_linktypes;         /* more than one link type among packets */
    bool nanosecond;              /* timestamps have ns resolution */
    uint64_t first_ts_ns;         /* first / last packet timestamps */
    uint64_t last_ts_ns;
    char trailing_error[256]; /* non-empty: file damaged after `packets` packets */
};

struct cmn_capfile;

/* Open and read the file header. NULL with the reason in err (names the file). */
struct cmn_capfile *cmn_capfile_open(const char *path, char *err /* OUT */, size_t errlen);

/* Next packet: 1 and *pkt filled, 0 at a clean end of file, -EBADMSG when the
 * rest of the file is damaged (reason via cmn_capfile_error). Non-packet
 * pcapng blocks are skipped. */
int cmn_capfile_next(struct cmn_capfile *cf, struct cmn_cap_pkt *pkt /* OUT */);

/* File offset of the next unread byte; packets returned so far. */
uint64_t cmn_capfile_offset(const struct cmn_capfile *cf);
uint64_t cmn_capfile_packets(const struct cmn_capfile *cf);

/* Reason of the last failure ("" if none). Borrowed. */
const char *cmn_capfile_error(const struct cmn_capfile *cf);

enum cmn_cap_format cmn_capfile_format(const struct cmn_capfile *cf);

/* Link type of the file (pcap) or of the first interface (pcapng). */
uint32_t cmn_capfile_linktype(const struct cmn_capfile *cf);

void cmn_capfile_close(struct cmn_capfile **cf);

/* Read the whole file. 0 and *info filled when at least the header is valid
 * (a damaged tail is reported in info->trailing_error, not as failure);
 * -EINVAL/-EIO with the reason in err when the file cannot be read at all. */
int cmn_capfile_scan(const char *path, struct cmn_capfile_info *info /* OUT */, char *err /* OUT */,
                     size_t errlen);

/* True when cmn_parse understands `linktype`. */
bool cmn_capfile_linktype_supported(uint32_t linktype);

/* Short name of a link type for messages ("EN10MB", "IEEE802_11_RADIO", ...),
 * or "LINKTYPE_<n>" written into buf (>= 24 bytes) for others. Borrowed. */
const char *cmn_capfile_linktype_name(uint32_t linktype, char *buf /* OUT */, size_t len);

#endif /* CMN_CAPFILE_H */
