/* SPDX-License-Identifier: MIT
 * cmn_ip: 16-byte address helpers shared by every component. IPv4 lives
 * v4-mapped (::ffff:a.b.c.d) so one comparison orders both families; text
 * forms follow the export contract (dotted IPv4, RFC 5952 IPv6).
 */
#ifndef CMN_IP_H
#define CMN_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CMN_IP_STRLEN 46 /* INET6_ADDRSTRLEN */

/* Store IPv4 address `v4` (network byte order bytes) v4-mapped into out[16]. */
void cmn_ip_from_v4(uint8_t out[16] /* OUT */, const uint8_t v4[4]);

/* True if `ip` is a v4-mapped IPv4 address. */
static inline bool cmn_ip_is_v4(const uint8_t ip[16])
{
    static const uint8_t pfx[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(ip, pfx, 12) == 0;
}

/* memcmp order: all IPv4 (v4-mapped) sort inside ::ffff:0:0/96. */
static inline int cmn_ip_cmp(const uint8_t a[16], const uint8_t b[16])
{
    return memcmp(a, b, 16);
}

/* Format into buf (>= CMN_IP_STRLEN bytes). Returns buf. */
const char *cmn_ip_format(const uint8_t ip[16], char *buf /* OUT */, size_t len);

/* Parse dotted IPv4 or IPv6 text. Returns 0 or -EINVAL. */
int cmn_ip_parse(const char *s, uint8_t out[16] /* OUT */);

/* Parse "addr/len" (IPv4 len 0..32 or IPv6 0..128). Returns 0 or -EINVAL.
 * out_lo/out_hi receive the first and last address of the prefix (v4-mapped for IPv4). */
int cmn_prefix_parse(const char *s, uint8_t lo[16] /* OUT */, uint8_t hi[16] /* OUT */);

/* Text of the host's network for the export: a.b.c.0/24 for IPv4, x:x:x:x::/64 for IPv6. */
const char *cmn_ip_network(const uint8_t ip[16], char *buf /* OUT */, size_t len);

/* Group and unspecified addresses (docs/ARCHITECTURE.md, "Roles"): traffic to
 * them is never evidence of a service or a client.
 * cmn_ip_is_multicast: 224.0.0.0/4 or ff00::/8.
 * cmn_ip_is_unspecified: 0.0.0.0 or :: (a source without an address yet,
 * such as a DHCP client).
 * cmn_ip_is_group: `ip` as the destination seen from `peer`: multicast, the
 * limited broadcast 255.255.255.255, or the directed broadcast a.b.c.255 of
 * the /24 that `peer` is in (the sender proves the network holds hosts; a
 * .255 reached from outside its /24 is taken as an ordinary address). Pure:
 * the same two addresses give the same answer in every process. */
bool cmn_ip_is_multicast(const uint8_t ip[16]);
bool cmn_ip_is_unspecified(const uint8_t ip[16]);
bool cmn_ip_is_group(const uint8_t ip[16], const uint8_t peer[16]);

/* True when a conversation between a and b names no service and no client:
 * either side is a group seen from the other, or unspecified. The tracker
 * (evidence) and the merger (edges, groups table) both use this one rule. */
bool cmn_ip_is_group_pair(const uint8_t a[16], const uint8_t b[16]);

/* Name of an IP protocol for the export: "tcp", "udp", "icmp", "icmpv6", or the number. */
const char *cmn_proto_name(uint8_t proto, char *buf /* OUT */, size_t len);

/* Reverse of cmn_proto_name. Returns 0 or -EINVAL. */
int cmn_proto_parse(const char *s, uint8_t *out /* OUT */);

#endif /* CMN_IP_H */
