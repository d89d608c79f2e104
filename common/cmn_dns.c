/* SPDX-License-Identifier: MIT
 * cmn_dns: DNS response reader for passive DNS (RFC 1035 wire format,
 * RFC 3596 AAAA, RFC 6762 mDNS cache-flush bit, RFC 4795 LLMNR, which share
 * the format). One pass over header, questions and answers; names are
 * expanded into a caller's buffer with every offset checked against the
 * message length before it is read. Runs on the collector's RX thread for
 * DNS packets only, so it never allocates or logs.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "cmn_dns.h"
#include "cmn_ip.h"

#define DNS_HDR      12 /* header bytes */
#define DNS_RR_FIXED 10 /* type, class, ttl, rdlength after an owner name */

static inline uint16_t s_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* Expand the name at *off into out[CMN_DNS_NAME_MAX + 1], lower-cased.
 * Moves *off past the name in the record (after the first pointer, if any).
 * Returns 0, or -EPROTO (runs past the end, bad label type, pointer loop,
 * too long). *odd is set when a label holds a byte we will not store
 * (not printable ASCII, or '.'): the name is then unusable, the message is
 * still fine. */
static int s_name(const uint8_t *m, size_t len, size_t *off, char *out, bool *odd)
{
    size_t p = *off, n = 0;
    int jumps = 0;
    bool jumped = false;
    *odd = false;
    for (;;) {
        if (p >= len)
            return -EPROTO;
        uint8_t l = m[p];
        if ((l & 0xc0) == 0xc0) {
            if (p + 1 >= len || ++jumps > CMN_DNS_MAX_JUMPS)
                return -EPROTO;
            if (!jumped)
                *off = p + 2;
            jumped = true;
            p = (size_t)(l & 0x3f) << 8 | m[p + 1];
            continue;
        }
        if (l & 0xc0) /* 0x40, 0x80: extended / reserved label types */
            return -EPROTO;
        if (l == 0) {
            if (!jumped)
                *off = p + 1;
            break;
        }
        if (p + 1 + l > len)
            return -EPROTO;
        /* label plus the dot before it (none before the first) */
        if (n + (n ? 1u : 0u) + l > CMN_DNS_NAME_MAX)
            return -EPROTO;
        if (n)
            out[n++] = '.';
        for (uint8_t i = 0; i < l; i++) {
            uint8_t c = m[p + 1 + i];
            if (c < 0x21 || c > 0x7e || c == '.')
                *odd = true;
            out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
        }
        p += 1 + (size_t)l;
    }
    out[n] = '\0';
    return 0;
}

/* One hexadecimal nibble label ("a", "F"), or -1. */
static int s_nibble(const char *s, size_t l)
{
    if (l != 1)
        return -1;
    char c = s[0];
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Address of a reverse name: d.c.b.a.in-addr.arpa (exactly 4 labels) or 32
 * nibbles + ip6.arpa / ip6.int. Returns 0 or -1 (not a full reverse name). */
static int s_reverse(const char *name, uint8_t ip[16])
{
    size_t nl = strlen(name);
    static const char v4[] = ".in-addr.arpa", v6a[] = ".ip6.arpa", v6i[] = ".ip6.int";
    if (nl > sizeof(v4) - 1 && strcmp(name + nl - (sizeof(v4) - 1), v4) == 0) {
        uint8_t b[4];
        const char *p = name;
        for (int i = 0; i < 4; i++) {
            unsigned v = 0, digits = 0;
            while (*p >= '0' && *p <= '9' && digits < 4) {
                v = v * 10 + (unsigned)(*p++ - '0');
                digits++;
            }
            if (digits == 0 || digits > 3 || v > 255 || *p != '.')
                return -1;
            p++;
            b[3 - i] = (uint8_t)v;
        }
        if (strcmp(p - 1, v4) != 0)
            return -1;
        cmn_ip_from_v4(ip, b);
        return 0;
    }
    size_t sl = 0;
    if (nl > sizeof(v6a) - 1 && strcmp(name + nl - (sizeof(v6a) - 1), v6a) == 0)
        sl = sizeof(v6a) - 1;
    else if (nl > sizeof(v6i) - 1 && strcmp(name + nl - (sizeof(v6i) - 1), v6i) == 0)
        sl = sizeof(v6i) - 1;
    if (!sl || nl - sl != 63) /* 32 one-character labels and 31 dots */
        return -1;
    for (int i = 0; i < 32; i++) {
        const char *s = name + 2 * i;
        int v = s_nibble(s, 1);
        if (v < 0 || (i < 31 && s[1] != '.'))
            return -1;
        /* the first label is the lowest nibble of the last byte */
        int byte = 15 - i / 2;
        if (i % 2 == 0)
            ip[byte] = (uint8_t)v;
        else
            ip[byte] |= (uint8_t)(v << 4);
    }
    return 0;
}

/* Room left in out: append (ip, name, rtype) unless full. */
static void s_put(struct cmn_dns_name *out, size_t max, size_t *n, const uint8_t ip[16],
                  const char *name, uint8_t rtype)
{
    if (*n >= max)
        return;
    struct cmn_dns_name *e = &out[(*n)++];
    memcpy(e->ip, ip, 16);
    e->rtype = rtype;
    size_t l = strlen(name);
    memcpy(e->name, name, l + 1);
}

long cmn_dns_parse(const uint8_t *m, size_t len, struct cmn_dns_name *out, size_t max)
{
    if (len < DNS_HDR)
        return -EPROTO;
    uint16_t flags = s_be16(m + 2);
    if (!(flags & 0x8000) || ((flags >> 11) & 0xf) != 0)
        return -ENODATA; /* a query, or not a standard query's answer */
    uint16_t qd = s_be16(m + 4), an = s_be16(m + 6);
    size_t off = DNS_HDR;
    char name[CMN_DNS_NAME_MAX + 1];
    bool odd;
    for (uint16_t i = 0; i < qd; i++) {
        if (s_name(m, len, &off, name, &odd) != 0 || off + 4 > len)
            return -EPROTO;
        off += 4;
    }
    /* CNAME owner -> target pairs of this message, for the aliases */
    struct {
        char alias[CMN_DNS_NAME_MAX + 1];
        char target[CMN_DNS_NAME_MAX + 1];
    } cn[CMN_DNS_MAX_CNAME];
    size_t ncn = 0, n = 0;
    for (uint16_t i = 0; i < an; i++) {
        if (s_name(m, len, &off, name, &odd) != 0 || off + DNS_RR_FIXED > len)
            return -EPROTO;
        uint16_t type = s_be16(m + off), cls = s_be16(m + off + 2) & 0x7fff; /* mDNS flush bit */
        uint16_t rdlen = s_be16(m + off + 8);
        size_t rd = off + DNS_RR_FIXED;
        if (rd + rdlen > len)
            return -EPROTO;
        off = rd + rdlen;
        if (cls != 1 || odd || !name[0]) /* IN only; unusable owner */
            continue;
        uint8_t ip[16];
        char target[CMN_DNS_NAME_MAX + 1];
        bool todd;
        switch (type) {
            case CMN_DNS_A:
                if (rdlen != 4)
                    return -EPROTO;
                cmn_ip_from_v4(ip, m + rd);
                s_put(out, max, &n, ip, name, CMN_DNS_A);
                break;
            case CMN_DNS_AAAA:
                if (rdlen != 16)
                    return -EPROTO;
                memcpy(ip, m + rd, 16);
                s_put(out, max, &n, ip, name, CMN_DNS_AAAA);
                break;
            case CMN_DNS_PTR:
            case CMN_DNS_CNAME: {
                /* the target must lie inside rdata (pointers may leave it) */
                size_t t = rd;
                if (s_name(m, len, &t, target, &todd) != 0 || t > rd + rdlen)
                    return -EPROTO;
                if (todd || !target[0])
                    break;
                if (type == CMN_DNS_PTR) {
                    if (s_reverse(name, ip) == 0)
                        s_put(out, max, &n, ip, target, CMN_DNS_PTR);
                } else if (ncn < CMN_DNS_MAX_CNAME) {
                    memcpy(cn[ncn].alias, name, sizeof(name));
                    memcpy(cn[ncn].target, target, sizeof(target));
                    ncn++;
                }
                break;
            }
            default:
                break;
        }
    }
    /* aliases: walk each A/AAAA owner back through the CNAMEs naming it */
    size_t direct = n;
    for (size_t i = 0; i < direct && ncn; i++) {
        if (out[i].rtype != CMN_DNS_A && out[i].rtype != CMN_DNS_AAAA)
            continue;
        const char *cur = out[i].name;
        for (int step = 0; step < CMN_DNS_MAX_CHAIN; step++) {
            size_t k = 0;
            while (k < ncn && strcmp(cn[k].target, cur) != 0)
                k++;
            if (k == ncn || strcmp(cn[k].alias, out[i].name) == 0)
                break; /* chain start, or a loop back to the owner */
            s_put(out, max, &n, out[i].ip, cn[k].alias, CMN_DNS_CNAME);
            cur = cn[k].alias;
        }
    }
    return (long)n;
}

long cmn_dns_parse_tcp(const uint8_t *seg, size_t len, struct cmn_dns_name *out, size_t max)
{
    size_t off = 0, n = 0;
    int whole = 0;
    while (off + 2 <= len) {
        size_t ml = s_be16(seg + off);
        if (off + 2 + ml > len)
            break;
        long r = cmn_dns_parse(seg + off + 2, ml, out + n, max - n);
        if (r < 0)
            return whole ? (long)n : r;
        n += (size_t)r;
        whole++;
        off += 2 + ml;
    }
    if (len == 0)
        return 0;
    return whole ? (long)n : -EAGAIN;
}

const char *cmn_dns_rtype_name(unsigned rtype)
{
    switch (rtype) {
        case CMN_DNS_A:
            return "A";
        case CMN_DNS_AAAA:
            return "AAAA";
        case CMN_DNS_PTR:
            return "PTR";
        case CMN_DNS_CNAME:
            return "CNAME";
        default:
            return "?";
    }
}
