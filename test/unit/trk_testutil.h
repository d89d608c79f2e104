/* SPDX-License-Identifier: MIT
 * trk_testutil.h: record builders and the splitter's messages, packed,
 * shared by the tracker unit tests (IPv4 addresses as a.b.c.d bytes,
 * v4-mapped like the collector does). A packed message is malloc'ed: free it.
 */
#ifndef TRK_TESTUTIL_H
#define TRK_TESTUTIL_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_record.h"
#include "cmn_shard.h"
#include "cmn_wire.h"

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

/* 2001:db8::x */
static inline void tu_ip6_db8(uint8_t out[16], uint8_t x)
{
    memset(out, 0, 16);
    out[0] = 0x20;
    out[1] = 0x01;
    out[2] = 0x0d;
    out[3] = 0xb8;
    out[15] = x;
}

/* The answer to a: addresses and ports swapped. */
static inline struct cmn_record tu_answer(const struct cmn_record *a)
{
    struct cmn_record b = *a;
    memcpy(b.src, a->dst, 16);
    memcpy(b.dst, a->src, 16);
    b.sport = a->dport;
    b.dport = a->sport;
    return b;
}

/* A packed message: bytes and length. */
struct tu_msg {
    uint8_t *data;
    size_t len;
};

static inline struct tu_msg tu_pack(Renkei__Envelope *env)
{
    struct tu_msg m;
    m.data = cmn_wire_pack(env, &m.len);
    return m;
}

/* ShardMap{idx of map's trackers, version, probe_seed}. */
static inline struct tu_msg tu_map(const struct cmn_shard_map *map, uint32_t idx, uint64_t version,
                                   uint64_t probe_seed)
{
    size_t n;
    const struct cmn_shard_range *rg = cmn_shard_ranges(map, &n);
    Renkei__ShardMap sm = RENKEI__SHARD_MAP__INIT;
    sm.tracker_index = idx;
    sm.tracker_count = cmn_shard_trackers(map);
    sm.ranges.data = (uint8_t *)(uintptr_t)rg;
    sm.ranges.len = n * sizeof(*rg);
    sm.version = version;
    sm.probe_seed = probe_seed;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_SHARD_MAP;
    env.shard_map = &sm;
    return tu_pack(&env);
}

/* RecordBatch{seq} of the splitter (collector_id UINT32_MAX) with n >= 1 records. */
static inline struct tu_msg tu_batch(uint64_t seq, const struct cmn_record *r, size_t n)
{
    Renkei__RecordBatch b = RENKEI__RECORD_BATCH__INIT;
    b.collector_id = UINT32_MAX;
    b.seq = seq;
    b.record_count = (uint32_t)n;
    b.record_size = sizeof(*r);
    b.layout = CMN_LAYOUT_VERSION;
    b.records.data = (uint8_t *)(uintptr_t)r;
    b.records.len = n * sizeof(*r);
    b.first_ts_ns = r[0].ts_ns;
    b.last_ts_ns = r[n - 1].ts_ns;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_BATCH;
    env.batch = &b;
    return tu_pack(&env);
}

static inline struct tu_msg tu_flush(uint64_t epoch, uint64_t epoch_ns)
{
    Renkei__EpochFlush f = RENKEI__EPOCH_FLUSH__INIT;
    f.epoch = epoch;
    f.epoch_ns = epoch_ns;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_FLUSH;
    env.flush = &f;
    return tu_pack(&env);
}

/* The splitter's EndOfStream with the pipe's totals. */
static inline struct tu_msg tu_eos(uint64_t batches, uint64_t records)
{
    Renkei__EndOfStream e = RENKEI__END_OF_STREAM__INIT;
    e.kind = RENKEI__NODE_KIND__NODE_SPLITTER;
    e.batches_sent = batches;
    e.records_sent = records;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_EOS;
    env.eos = &e;
    return tu_pack(&env);
}

/* Send m on a socket, then free it: 0 or -errno. */
static inline int tu_send(void *sock, struct tu_msg m)
{
    int rc = m.data ? cmn_wire_send_bytes(sock, m.data, m.len, 0) : -ENOMEM;
    free(m.data);
    return rc;
}

#endif /* TRK_TESTUTIL_H */
