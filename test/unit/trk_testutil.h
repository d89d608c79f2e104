/* SPDX-License-Identifier: MIT
 * trk_testutil.h: record builders shared by the tracker unit tests
 * (IPv4 addresses as a.b.c.d bytes, v4-mapped like the collector does).
 */
#ifndef TRK_TESTUTIL_H
#define TRK_TESTUTIL_H

#include <string.h>

#include "cmn_record.h"

#define SEC 1000000000ull

static inline void tu_ip4(uint8_t out[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    memset(out, 0, 16);
    out[10] = out[11] = 0xff;
    out[12] = a;
    out[13] = b;
    out[14] = c;
    out[15] = d;
}

/* A record from 10.0.0.s:sport to 10.0.0.d:dport (host bytes s, d). */
static inline struct cmn_record tu_rec(uint64_t ts, uint8_t s, uint16_t sport, uint8_t d,
                                       uint16_t dport, uint8_t proto, uint8_t tcp_flags,
                                       uint32_t len)
{
    struct cmn_record r;
    memset(&r, 0, sizeof(r));
    r.ts_ns = ts;
    tu_ip4(r.src, 10, 0, 0, s);
    tu_ip4(r.dst, 10, 0, 0, d);
    r.sport = sport;
    r.dport = dport;
    r.proto = proto;
    r.tcp_flags = tcp_flags;
    r.ip_len = len;
    return r;
}

#endif /* TRK_TESTUTIL_H */
