/* SPDX-License-Identifier: MIT
 * test_spl_shard: the splitter's hot path alone. Records go to the owner of
 * the source and of the destination (once when equal), out-batches leave when
 * full, on flush, and by age; unaligned input arrays are fine.
 */
#include <stdlib.h>
#include <string.h>

#include "cmn_ip.h"
#include "cmn_shard.h"
#include "harness.h"
#include "spl_shard.h"

/* What the emit callback saw. */
struct sink {
    size_t batches[4];            /* batches per tracker */
    size_t records[4];            /* records per tracker */
    uint32_t last_collector;      /* collector id of the last batch */
    size_t last_n;                /* size of the last batch */
    struct cmn_record got[4][64]; /* first 64 records per tracker */
};

static void s_emit(void *arg, uint32_t t, uint32_t cid, const struct cmn_record *recs, size_t n)
{
    struct sink *s = arg;
    for (size_t i = 0; i < n; i++)
        if (s->records[t] + i < 64)
            s->got[t][s->records[t] + i] = recs[i];
    s->batches[t]++;
    s->records[t] += n;
    s->last_collector = cid;
    s->last_n = n;
}

static void s_rec(struct cmn_record *r, const char *src, const char *dst, uint64_t ts)
{
    memset(r, 0, sizeof(*r));
    cmn_ip_parse(src, r->src);
    cmn_ip_parse(dst, r->dst);
    r->ts_ns = ts;
    r->proto = 6;
}

/* 10.0.0.0/8 -> 0, 192.168.0.0/16 -> 1 (explicit rules). */
static struct cmn_shard_map *s_map(void)
{
    static const char *const rules[] = {"10.0.0.0/8 0", "192.168.0.0/16 1"};
    char err[128];
    return cmn_shard_map_new_rules(2, rules, 2, err, sizeof(err));
}

TEST(both_owners)
{
    struct cmn_shard_map *map = s_map();
    FAIL_IF_NOT(map);
    struct sink sink;
    memset(&sink, 0, sizeof(sink));
    struct spl_shard_config cfg = {
        .map = map, .collector_id = 7, .batch_records = 16, .emit = s_emit, .emit_arg = &sink};
    struct spl_shard *sh = spl_shard_new(&cfg);
    FAIL_IF_NOT(sh);
    struct cmn_record r[3];
    s_rec(&r[0], "10.0.0.1", "10.0.0.2", 1);       /* both on 0: once */
    s_rec(&r[1], "10.0.0.1", "192.168.1.1", 2);    /* 0 and 1 */
    s_rec(&r[2], "192.168.1.1", "192.168.1.2", 3); /* both on 1: once */
    FAIL_IF_NOT(spl_shard_burst(sh, r, 3, 100) == 3);
    FAIL_IF_NOT(spl_shard_pending(sh) == 4);
    FAIL_IF_NOT(spl_shard_copies(sh) == 4);
    FAIL_IF_NOT(spl_shard_oldest(sh) == 100);
    FAIL_IF_NOT(sink.batches[0] == 0 && sink.batches[1] == 0);
    FAIL_IF_NOT(spl_shard_flush(sh) == 2);
    FAIL_IF_NOT(sink.records[0] == 2 && sink.records[1] == 2);
    FAIL_IF_NOT(sink.got[0][0].ts_ns == 1 && sink.got[0][1].ts_ns == 2);
    FAIL_IF_NOT(sink.got[1][0].ts_ns == 2 && sink.got[1][1].ts_ns == 3);
    FAIL_IF_NOT(sink.last_collector == 7);
    FAIL_IF_NOT(spl_shard_pending(sh) == 0);
    FAIL_IF_NOT(spl_shard_oldest(sh) == UINT64_MAX);
    FAIL_IF_NOT(spl_shard_flush(sh) == 0);
    spl_shard_destroy(&sh);
    FAIL_IF_NOT(sh == NULL);
    spl_shard_destroy(&sh);
    cmn_shard_map_destroy(&map);
    PASS;
}

TEST(full_batches_and_age)
{
    struct cmn_shard_map *map = s_map();
    struct sink sink;
    memset(&sink, 0, sizeof(sink));
    struct spl_shard_config cfg = {
        .map = map, .collector_id = 1, .batch_records = 4, .emit = s_emit, .emit_arg = &sink};
    struct spl_shard *sh = spl_shard_new(&cfg);
    FAIL_IF_NOT(sh);
    /* 70 records to tracker 0 only: more than two bursts of 32. */
    struct cmn_record r[70];
    for (int i = 0; i < 70; i++)
        s_rec(&r[i], "10.1.0.1", "10.2.0.2", (uint64_t)i);
    spl_shard_burst(sh, r, 70, 10);
    FAIL_IF_NOT(sink.batches[0] == 17 && sink.records[0] == 68 && sink.last_n == 4);
    FAIL_IF_NOT(spl_shard_pending(sh) == 2);
    /* order kept across batches */
    for (int i = 0; i < 64; i++)
        FAIL_IF_NOT(sink.got[0][i].ts_ns == (uint64_t)i);
    /* age: the pending batch started at 10; cutoff 9 keeps it, 10 sends it */
    FAIL_IF_NOT(spl_shard_flush_older(sh, 9) == 0);
    FAIL_IF_NOT(spl_shard_flush_older(sh, 10) == 1);
    FAIL_IF_NOT(sink.records[0] == 70 && sink.last_n == 2);
    spl_shard_destroy(&sh);
    cmn_shard_map_destroy(&map);
    PASS;
}

TEST(unaligned_input_and_even_map)
{
    struct cmn_shard_map *map = cmn_shard_map_new_even(4);
    FAIL_IF_NOT(map);
    struct sink sink;
    memset(&sink, 0, sizeof(sink));
    struct spl_shard_config cfg = {
        .map = map, .collector_id = 2, .batch_records = 64, .emit = s_emit, .emit_arg = &sink};
    struct spl_shard *sh = spl_shard_new(&cfg);
    FAIL_IF_NOT(sh);
    struct cmn_record r[4];
    s_rec(&r[0], "1.0.0.1", "70.0.0.1", 1);        /* quarter 0 -> quarter 1 */
    s_rec(&r[1], "130.0.0.1", "200.0.0.1", 2);     /* 2 -> 3 */
    s_rec(&r[2], "2001:db8::1", "2001:db8::2", 3); /* IPv6: one owner */
    s_rec(&r[3], "200.0.0.1", "200.0.0.9", 4);     /* 3 only */
    uint8_t *buf = malloc(sizeof(r) + 1);
    FAIL_IF_NOT(buf);
    memcpy(buf + 1, r, sizeof(r));
    spl_shard_burst(sh, (const struct cmn_record *)(const void *)(buf + 1), 4, 1);
    free(buf);
    spl_shard_flush(sh);
    FAIL_IF_NOT(sink.records[0] == 1 + (cmn_shard_lookup(map, r[2].src) == 0));
    FAIL_IF_NOT(sink.records[1] == 1 + (cmn_shard_lookup(map, r[2].src) == 1));
    FAIL_IF_NOT(sink.records[0] + sink.records[1] + sink.records[2] + sink.records[3] == 6);
    FAIL_IF_NOT(sink.records[3] >= 2);
    spl_shard_destroy(&sh);
    cmn_shard_map_destroy(&map);
    PASS;
}

TEST(bad_config)
{
    struct cmn_shard_map *map = s_map();
    struct sink sink;
    struct spl_shard_config cfg = {
        .map = map, .collector_id = 1, .batch_records = 0, .emit = s_emit, .emit_arg = &sink};
    FAIL_IF(spl_shard_new(&cfg) != NULL);
    cfg.batch_records = 1u << 31; /* over the memcap */
    FAIL_IF(spl_shard_new(&cfg) != NULL);
    cmn_shard_map_destroy(&map);
    PASS;
}

/* Every copy lands at the owner cmn_shard_lookup names (the shard keeps its
 * own lookup tables), for maps whose ranges split IPv4 /16 blocks. */
struct check {
    const struct cmn_shard_map *map; /* reference */
    size_t copies;                   /* records seen */
    size_t wrong;                    /* records at a tracker owning neither address */
};

static void s_check(void *arg, uint32_t t, uint32_t cid, const struct cmn_record *recs, size_t n)
{
    struct check *c = arg;
    (void)cid;
    for (size_t i = 0; i < n; i++) {
        c->copies++;
        if (cmn_shard_lookup(c->map, recs[i].src) != t &&
            cmn_shard_lookup(c->map, recs[i].dst) != t)
            c->wrong++;
    }
}

TEST(lookup_matches_map)
{
    static const char *const rules[] = {"10.1.2.0/24 2",           "10.1.2.128/25 1",
                                        "172.16.0.0/12 3",         "2001:db8::/32 2",
                                        "10.200.0.0-10.200.0.9 1", "0.0.0.0/32 3"};
    char err[128];
    static struct cmn_record recs[20000];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int m = 0; m < 2; m++) {
        struct cmn_shard_map *map =
            m ? cmn_shard_map_new_even(3) : cmn_shard_map_new_rules(4, rules, 6, err, sizeof(err));
        FAIL_IF_NOT(map);
        struct check c = {.map = map};
        struct spl_shard_config cfg = {
            .map = map, .collector_id = 1, .batch_records = 100, .emit = s_check, .emit_arg = &c};
        struct spl_shard *sh = spl_shard_new(&cfg);
        FAIL_IF_NOT(sh);
        size_t expect = 0;
        for (size_t i = 0; i < 20000; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            memset(&recs[i], 0, sizeof(recs[i]));
            for (int k = 0; k < 2; k++) {
                uint8_t *ip = k ? recs[i].dst : recs[i].src;
                uint64_t y = x >> (k * 5);
                if (y % 4 == 0) { /* IPv6 */
                    memcpy(ip, &y, 8);
                    ip[0] = 0x20, ip[1] = 0x01, ip[2] = 0x0d, ip[3] = (uint8_t)(0xb0 + y % 16);
                } else { /* IPv4, often near the rule edges */
                    ip[10] = ip[11] = 0xff;
                    uint32_t v = (uint32_t)(y >> 20);
                    if (y % 4 == 1)
                        v = (10u << 24 | 1u << 16 | 2u << 8) + (uint32_t)(y % 300) - 20;
                    if (y % 4 == 2)
                        v = (10u << 24 | 200u << 16) + (uint32_t)(y % 20);
                    ip[12] = (uint8_t)(v >> 24), ip[13] = (uint8_t)(v >> 16);
                    ip[14] = (uint8_t)(v >> 8), ip[15] = (uint8_t)v;
                }
            }
            expect +=
                cmn_shard_lookup(map, recs[i].src) == cmn_shard_lookup(map, recs[i].dst) ? 1 : 2;
        }
        spl_shard_burst(sh, recs, 20000, 1);
        spl_shard_flush(sh);
        FAIL_IF_NOT(c.copies == expect && c.wrong == 0);
        spl_shard_destroy(&sh);
        cmn_shard_map_destroy(&map);
    }
    PASS;
}

TEST_MAIN(TEST_ENTRY(both_owners) TEST_ENTRY(full_batches_and_age)
              TEST_ENTRY(unaligned_input_and_even_map) TEST_ENTRY(bad_config)
                  TEST_ENTRY(lookup_matches_map))
