/* SPDX-License-Identifier: MIT
 * cmn_ip: address text conversion through inet_ntop/inet_pton, which already
 * produce RFC 5952 compressed IPv6; v4-mapped addresses are printed dotted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_ip.h"

void cmn_ip_from_v4(uint8_t out[16], const uint8_t v4[4])
{
    memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    memcpy(out + 12, v4, 4);
}

const char *cmn_ip_format(const uint8_t ip[16], char *buf, size_t len)
{
    if (cmn_ip_is_v4(ip)) {
        if (!inet_ntop(AF_INET, ip + 12, buf, (socklen_t)len))
            snprintf(buf, len, "?");
    } else if (!inet_ntop(AF_INET6, ip, buf, (socklen_t)len)) {
        snprintf(buf, len, "?");
    }
    return buf;
}

int cmn_ip_parse(const char *s, uint8_t out[16])
{
    uint8_t v4[4];
    if (inet_pton(AF_INET, s, v4) == 1) {
        cmn_ip_from_v4(out, v4);
        return 0;
    }
    if (inet_pton(AF_INET6, s, out) == 1)
        return 0;
    return -EINVAL;
}

int cmn_prefix_parse(const char *s, uint8_t lo[16], uint8_t hi[16])
{
    char addr[CMN_IP_STRLEN + 1];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof(addr))
        return -EINVAL;
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (cmn_ip_parse(addr, lo) != 0)
        return -EINVAL;
    int maxlen = cmn_ip_is_v4(lo) && !strchr(addr, ':') ? 32 : 128;
    long plen = maxlen;
    if (slash) {
        char *end;
        errno = 0;
        plen = strtol(slash + 1, &end, 10);
        if (errno || *end || end == slash + 1 || plen < 0 || plen > maxlen)
            return -EINVAL;
    }
    int bits = (maxlen == 32 ? 96 : 0) + (int)plen; /* prefix bits within 128 */
    for (int i = 0; i < 16; i++) {
        int keep = bits - i * 8; /* bits of this byte inside the prefix */
        uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
        lo[i] &= mask;
        hi[i] = lo[i] | (uint8_t)~mask;
    }
    return 0;
}

const char *cmn_ip_network(const uint8_t ip[16], char *buf, size_t len)
{
    uint8_t net[16];
    memcpy(net, ip, 16);
    char a[CMN_IP_STRLEN];
    if (cmn_ip_is_v4(ip)) {
        net[15] = 0;
        snprintf(buf, len, "%s/24", cmn_ip_format(net, a, sizeof(a)));
    } else {
        memset(net + 8, 0, 8);
        snprintf(buf, len, "%s/64", cmn_ip_format(net, a, sizeof(a)));
    }
    return buf;
}

const char *cmn_proto_name(uint8_t proto, char *buf, size_t len)
{
    switch (proto) {
        case 6:
            return "tcp";
        case 17:
            return "udp";
        case 1:
            return "icmp";
        case 58:
            return "icmpv6";
        default:
            snprintf(buf, len, "%u", proto);
            return buf;
    }
}

int cmn_proto_parse(const char *s, uint8_t *out)
{
    static const struct {
        const char *name;
        uint8_t num;
    } names[] = {{"tcp", 6}, {"udp", 17}, {"icmp", 1}, {"icmpv6", 58}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].num;
            return 0;
        }
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < 0 || v > 255)
        return -EINVAL;
    *out = (uint8_t)v;
    return 0;
}

bool cmn_ip_is_multicast(const uint8_t ip[16])
{
    if (cmn_ip_is_v4(ip))
        return (ip[12] & 0xf0) == 0xe0;
    return ip[0] == 0xff;
}

bool cmn_ip_is_unspecified(const uint8_t ip[16])
{
    static const uint8_t zero[16];
    if (cmn_ip_is_v4(ip))
        return memcmp(ip + 12, zero, 4) == 0;
    return memcmp(ip, zero, 16) == 0;
}

bool cmn_ip_is_group(const uint8_t ip[16], const uint8_t peer[16])
{
    if (cmn_ip_is_multicast(ip))
        return true;
    if (!cmn_ip_is_v4(ip))
        return false;
    if (ip[12] == 255 && ip[13] == 255 && ip[14] == 255 && ip[15] == 255)
        return true;
    /* directed broadcast of the sender's own /24 */
    return ip[15] == 255 && cmn_ip_is_v4(peer) && memcmp(ip + 12, peer + 12, 3) == 0;
}

bool cmn_ip_is_group_pair(const uint8_t a[16], const uint8_t b[16])
{
    return cmn_ip_is_group(a, b) || cmn_ip_is_group(b, a) || cmn_ip_is_unspecified(a) ||
           cmn_ip_is_unspecified(b);
}
