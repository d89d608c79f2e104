/* SPDX-License-Identifier: MIT
 * bench_splitter: records/s on one core through spl_shard_burst sharding to
 * 4 trackers (even IP-range map), received batches of 4096 records in, full
 * out-batches out to a counting sink. A second pass also encodes every
 * out-batch (protobuf-c pack, as cmn_wire_send does) to show the cost of the
 * splitter's sending side. Records mix IPv4 (90%) and IPv6 addresses drawn
 * over the whole space so every tracker gets its share.
 * Usage: bench_splitter [--quick] [trackers] [records]
 * Prints human lines and `RESULT splitter_mrps`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_shard.h"
#include "cmn_wire.h"
#include "spl_shard.h"

#define IN_BATCH 4096

struct sink {
    uint64_t batches; /* out-batches received */
    uint64_t records; /* records in them */
    bool encode;      /* pack each out-batch like cmn_wire_send */
    uint8_t *buf;     /* pack target */
};

static void s_emit(void *arg, uint32_t tracker, uint32_t collector_id,
                   const struct cmn_record *recs, size_t n)
{
    struct sink *s = arg;
    s->batches++;
    s->records += n;
    if (!s->encode)
        return;
    Renkei__RecordBatch b = RENKEI__RECORD_BATCH__INIT;
    b.collector_id = collector_id;
    b.seq = s->batches;
    b.record_count = (uint32_t)n;
    b.record_size = sizeof(struct cmn_record);
    b.layout = CMN_LAYOUT_VERSION;
    b.records.len = n * sizeof(struct cmn_record);
    b.records.data = (uint8_t *)(uintptr_t)recs;
    b.first_ts_ns = recs[0].ts_ns;
    b.last_ts_ns = recs[n - 1].ts_ns + tracker;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.version = CMN_WIRE_VERSION;
    env.body_case = RENKEI__ENVELOPE__BODY_BATCH;
    env.batch = &b;
    renkei__envelope__pack(&env, s->buf);
}

static uint64_t s_rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void s_addr(uint8_t ip[16], uint64_t x, bool v6)
{
    memset(ip, 0, 16);
    if (v6) {
        memcpy(ip, &x, 8);
        ip[0] = (uint8_t)(0x20 | (x & 0x1f));
        memcpy(ip + 8, &x, 8);
    } else {
        ip[10] = ip[11] = 0xff;
        memcpy(ip + 12, &x, 4);
    }
}

static double s_run(struct spl_shard *sh, const struct cmn_record *in, uint64_t nrec)
{
    uint64_t t0 = cmn_mono_ns();
    for (uint64_t done = 0; done < nrec; done += IN_BATCH)
        spl_shard_burst(sh, in + (done / IN_BATCH % 16) * IN_BATCH, IN_BATCH, done);
    spl_shard_flush(sh);
    return (double)(cmn_mono_ns() - t0);
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (quick) {
        argc--;
        argv++;
    }
    uint32_t trackers = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 4;
    uint64_t nrec = argc > 2 ? strtoull(argv[2], NULL, 10) : quick ? 40000000 : 200000000;
    if (trackers < 1 || trackers > 1024) {
        fprintf(stderr, "usage: bench_splitter [--quick] [trackers 1..1024] [records]\n");
        return 2;
    }
    nrec = (nrec + IN_BATCH - 1) / IN_BATCH * IN_BATCH;
    struct cmn_shard_map *map = cmn_shard_map_new_even(trackers);
    struct cmn_record *in = calloc(16 * IN_BATCH, sizeof(*in)); /* 4 MiB of input, cycled */
    struct sink sink = {.buf = malloc(4096 * sizeof(struct cmn_record) + 256)};
    if (!map || !in || !sink.buf)
        return 1;
    uint64_t rng = 88172645463325252ull;
    for (size_t i = 0; i < 16 * IN_BATCH; i++) {
        uint64_t x = s_rng(&rng);
        bool v6 = x % 10 == 0;
        s_addr(in[i].src, s_rng(&rng), v6);
        s_addr(in[i].dst, s_rng(&rng), v6);
        in[i].ts_ns = 1700000000000000000ull + i * 50;
        in[i].sport = (uint16_t)x;
        in[i].dport = 443;
        in[i].proto = 6;
        in[i].ip_len = 60;
    }
    struct spl_shard_config c = {
        .map = map, .collector_id = 1, .batch_records = 4096, .emit = s_emit, .emit_arg = &sink};
    struct spl_shard *sh = spl_shard_new(&c);
    if (!sh)
        return 1;
    double ns = s_run(sh, in, nrec);
    uint64_t copies = sink.records;
    sink.encode = true;
    double ns_enc = s_run(sh, in, nrec);
    double mrps = (double)nrec / (ns / 1e3), mrps_enc = (double)nrec / (ns_enc / 1e3);
    printf("%" PRIu64 " records to %u trackers: %.2f copies/record, %" PRIu64 " out-batches\n",
           nrec, trackers, (double)copies / (double)nrec, sink.batches / 2);
    printf("shard only: %.2f M records/s (%.1f ns/record)\n", mrps, ns / (double)nrec);
    printf("shard + pack out-batches: %.2f M records/s (%.1f ns/record)\n", mrps_enc,
           ns_enc / (double)nrec);
    printf("RESULT splitter_mrps %.2f Mrec/s\n", mrps);
    printf("RESULT splitter_pack_mrps %.2f Mrec/s\n", mrps_enc);
    spl_shard_destroy(&sh);
    cmn_shard_map_destroy(&map);
    free(in);
    free(sink.buf);
    return 0;
}
