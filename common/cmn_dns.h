/* SPDX-License-Identifier: MIT
 * cmn_dns: passive DNS. Reads one DNS response (a UDP payload, or a TCP
 * payload with its 2-byte length prefix) and returns the (address, name)
 * pairs its answer section proves: A and AAAA records (owner name -> address),
 * PTR records of in-addr.arpa / ip6.arpa (and legacy ip6.int) names (the
 * address comes from the owner name, the name is the PTR target), and the
 * aliases of a CNAME chain ending at an A/AAAA owner in the same message.
 * Authority and additional sections are not read.
 *
 * Pure function: no allocation, no logging, thread-safe. Bytes are untrusted:
 * every length is checked before each read, compression pointers are
 * followed at most CMN_DNS_MAX_JUMPS times (loops end as malformed), and a
 * bad message returns -EPROTO for the caller to count, never asserts.
 * Names are lower-cased, without the trailing dot, at most CMN_DNS_NAME_MAX
 * characters; a record whose name holds bytes outside printable ASCII (or a
 * '.' inside a label) is skipped, the rest of the message still counts.
 * Called by the collector only for packets from ports 53, 5353 and 5355.
 */
#ifndef CMN_DNS_H
#define CMN_DNS_H

#include <stddef.h>
#include <stdint.h>

#define CMN_DNS_NAME_MAX  253 /* characters of a name in text form (RFC 1035 255 wire bytes) */
#define CMN_DNS_MAX_JUMPS 32  /* compression pointers followed per name */
#define CMN_DNS_MAX_CNAME 16  /* CNAME records of one message kept for alias resolution */
#define CMN_DNS_MAX_CHAIN 8   /* CNAME steps followed back from an A/AAAA owner */

/* How a pair was learnt (the DNS record type numbers). */
enum cmn_dns_rtype {
    CMN_DNS_A = 1,     /* A record: owner name -> IPv4 */
    CMN_DNS_CNAME = 5, /* alias of an A/AAAA owner through a CNAME chain */
    CMN_DNS_PTR = 12,  /* PTR record: reverse name -> target */
    CMN_DNS_AAAA = 28, /* AAAA record: owner name -> IPv6 */
};

/* One learnt pair. */
struct cmn_dns_name {
    uint8_t ip[16];                  /* address, IPv4 v4-mapped */
    uint8_t rtype;                   /* enum cmn_dns_rtype */
    char name[CMN_DNS_NAME_MAX + 1]; /* lower-case, NUL-terminated, no trailing dot */
};

/* Parse one DNS message of `len` bytes (a UDP payload). Writes up to `max`
 * pairs to out (pairs past max are dropped). Returns the number written
 * (0: a response without usable answers), -ENODATA for a query (QR bit clear)
 * or an opcode other than 0, or -EPROTO for a malformed message (nothing
 * usable: count it and drop it). */
long cmn_dns_parse(const uint8_t *msg, size_t len, struct cmn_dns_name *out /* OUT */, size_t max);

/* As cmn_dns_parse for a TCP segment's payload: 2-byte big-endian length,
 * message, possibly several whole messages in a row. Returns the pairs of all
 * whole messages, 0 for an empty payload, -EAGAIN when the segment holds no
 * whole message (a message spread over segments: skipped, count it), or the
 * error of the first message when it fails. */
long cmn_dns_parse_tcp(const uint8_t *seg, size_t len, struct cmn_dns_name *out /* OUT */,
                       size_t max);

/* Name of an rtype: "A", "AAAA", "PTR", "CNAME", or "?" (static). */
const char *cmn_dns_rtype_name(unsigned rtype);

#endif /* CMN_DNS_H */
