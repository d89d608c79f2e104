/* SPDX-License-Identifier: MIT
 * test_spl_dedup: the splitter's hold + time-ordered merge + redundant-copy
 * drop. Covers: copies from two collectors dropped whichever arrives first and
 * the earliest kept; identical packets from one collector kept; the window;
 * TTL/VLAN ignored; arrival-order independence of the output; late records;
 * the memcap (forced release); window 0; per-pair counters; the window
 * saved in a checkpoint and loaded after a restart.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_ip.h"
#include "harness.h"
#include "spl_dedup.h"

#define US 1000ull

/* What out received. */
struct sink {
    struct cmn_record rec[256]; /* released records, in order */
    size_t n;                   /* entries used */
};

static void s_out(void *arg, const struct cmn_record *recs, size_t n)
{
    struct sink *k = arg;
    for (size_t i = 0; i < n && k->n < 256; i++)
        k->rec[k->n++] = recs[i];
}

static struct spl_dedup *s_new(struct sink *k, uint64_t window_us, uint64_t memcap)
{
    memset(k, 0, sizeof(*k));
    struct spl_dedup_config c = {
        .window_ns = window_us * US,
        .memcap = memcap,
        .out = s_out,
        .out_arg = k,
    };
    return spl_dedup_new(&c);
}

/* A packet: id distinguishes packets, ts in microseconds. */
static struct cmn_record s_pkt(unsigned id, uint64_t ts_us, uint8_t ttl, uint16_t vlan)
{
    struct cmn_record r;
    memset(&r, 0, sizeof(r));
    cmn_ip_parse("10.0.0.1", r.src);
    cmn_ip_parse("10.0.0.2", r.dst);
    r.ts_ns = ts_us * US;
    r.proto = 6;
    r.sport = 40000;
    r.dport = 443;
    r.ip_len = 60;
    r.ip_id = (uint16_t)id;
    r.sig = 0xabc00000u + id;
    r.ttl = ttl;
    r.vlan = vlan;
    r.tcp_flags = 0x10;
    return r;
}

TEST(copies_dropped_earliest_kept)
{
    struct sink k;
    struct spl_dedup *d = s_new(&k, 500, 1 << 20);
    FAIL_IF(d == NULL);
    int a = spl_dedup_source(d, 7), b = spl_dedup_source(d, 3);
    FAIL_IF_NOT(a == 0 && b == 1 && spl_dedup_source(d, 7) == 0);
    /* switch B's copies (other TTL, VLAN, +4 us) arrive first */
    struct cmn_record rb[3] = {s_pkt(1, 104, 63, 200), s_pkt(2, 204, 63, 200),
                               s_pkt(3, 2000, 63, 200)};
    struct cmn_record ra[3] = {s_pkt(1, 100, 64, 100), s_pkt(2, 200, 64, 100),
                               s_pkt(3, 1300, 64, 100)}; /* 3: 700 us apart, outside */
    spl_dedup_push(d, b, rb, 3);
    FAIL_IF_NOT(spl_dedup_release(d, 50 * US) == 0);
    FAIL_IF_NOT(k.n == 0);
    spl_dedup_push(d, a, ra, 3);
    spl_dedup_release(d, UINT64_MAX);
    FAIL_IF_NOT(k.n == 4);
    FAIL_IF_NOT(k.rec[0].ts_ns == 100 * US && k.rec[0].ttl == 64); /* the earliest copy */
    FAIL_IF_NOT(k.rec[1].ts_ns == 200 * US && k.rec[1].ttl == 64);
    FAIL_IF_NOT(k.rec[2].ts_ns == 1300 * US && k.rec[3].ts_ns == 2000 * US);
    struct spl_dedup_stats st;
    spl_dedup_stats(d, &st);
    FAIL_IF_NOT(st.duplicates_removed == 2 && st.released == 4 && st.held == 0);
    FAIL_IF_NOT(st.held_max == 6 && st.late == 0 && st.forced == 0);
    struct spl_dedup_pair p[4];
    FAIL_IF_NOT(spl_dedup_pairs(d, p, 4) == 1);
    FAIL_IF_NOT(p[0].a == 3 && p[0].b == 7 && p[0].count == 2);
    spl_dedup_destroy(&d);
    FAIL_IF_NOT(d == NULL);
    spl_dedup_destroy(&d);
    PASS;
}

TEST(same_collector_never_merged)
{
    struct sink k;
    struct spl_dedup *d = s_new(&k, 500, 1 << 20);
    int a = spl_dedup_source(d, 0), b = spl_dedup_source(d, 1);
    /* Two identical pure ACKs 2 us apart on switch A; B's copies 3 us later each. */
    struct cmn_record ra[2] = {s_pkt(9, 100, 64, 1), s_pkt(9, 102, 64, 1)};
    struct cmn_record rb[2] = {s_pkt(9, 103, 63, 2), s_pkt(9, 105, 63, 2)};
    spl_dedup_push(d, a, ra, 2);
    spl_dedup_push(d, b, rb, 2);
    spl_dedup_release(d, UINT64_MAX);
    FAIL_IF_NOT(k.n == 2);
    FAIL_IF_NOT(k.rec[0].ts_ns == 100 * US && k.rec[1].ts_ns == 102 * US);
    /* A third copy from B has nothing left to pair with: kept. */
    struct cmn_record r3 = s_pkt(9, 300, 63, 2);
    spl_dedup_push(d, b, &r3, 1);
    spl_dedup_release(d, UINT64_MAX);
    FAIL_IF_NOT(k.n == 3);
    spl_dedup_destroy(&d);
    PASS;
}

/* Feed the same two streams in two arrival patterns; outputs must match. */
TEST(arrival_order_independent)
{
    struct cmn_record ra[40], rb[40];
    for (unsigned i = 0; i < 40; i++) {
        ra[i] = s_pkt(i, 1000 + 50 * i, 64, 1);
        rb[i] = s_pkt(i % 3 ? i : 100 + i, 1003 + 50 * i, 63, 2); /* 1/3 only on B */
    }
    struct sink k1, k2;
    struct spl_dedup *d1 = s_new(&k1, 500, 1 << 20), *d2 = s_new(&k2, 500, 1 << 20);
    /* d1: A all first, then B; release at the end. */
    int a = spl_dedup_source(d1, 0), b = spl_dedup_source(d1, 1);
    spl_dedup_push(d1, a, ra, 40);
    spl_dedup_push(d1, b, rb, 40);
    spl_dedup_release(d1, UINT64_MAX);
    /* d2: B first, interleaved in batches of 3, releasing at the watermark. */
    b = spl_dedup_source(d2, 1);
    a = spl_dedup_source(d2, 0);
    uint64_t ma = 0, mb = 0;
    for (unsigned i = 0; i < 40; i += 3) {
        size_t n = 40 - i < 3 ? 40 - i : 3;
        spl_dedup_push(d2, b, rb + i, n);
        mb = rb[i + n - 1].ts_ns;
        if (ma)
            spl_dedup_release(d2, (ma < mb ? ma : mb) - 1);
        spl_dedup_push(d2, a, ra + i, n);
        ma = ra[i + n - 1].ts_ns;
        spl_dedup_release(d2, (ma < mb ? ma : mb) - 1);
    }
    spl_dedup_release(d2, UINT64_MAX);
    FAIL_IF_NOT(k1.n == k2.n);
    FAIL_IF_NOT(k1.n == 40 + 14); /* 26 of B's 40 are copies */
    FAIL_IF_NOT(memcmp(k1.rec, k2.rec, k1.n * sizeof(k1.rec[0])) == 0);
    for (size_t i = 1; i < k1.n; i++)
        FAIL_IF(k1.rec[i].ts_ns < k1.rec[i - 1].ts_ns);
    struct spl_dedup_stats s1, s2;
    spl_dedup_stats(d1, &s1);
    spl_dedup_stats(d2, &s2);
    FAIL_IF_NOT(s1.duplicates_removed == 26 && s2.duplicates_removed == 26);
    FAIL_IF_NOT(s2.late == 0);
    spl_dedup_destroy(&d1);
    spl_dedup_destroy(&d2);
    PASS;
}

TEST(late_forced_and_off)
{
    struct sink k;
    /* memcap of exactly one minimum FIFO: 4096 records held, then forced */
    struct spl_dedup *d = s_new(&k, 500, 4096 * 64);
    FAIL_IF(d == NULL);
    int a = spl_dedup_source(d, 0), b = spl_dedup_source(d, 1);
    static struct cmn_record many[4100];
    for (unsigned i = 0; i < 4100; i++)
        many[i] = s_pkt(i, 10 + i, 64, 1);
    spl_dedup_push(d, a, many, 4100);
    struct spl_dedup_stats st;
    spl_dedup_stats(d, &st);
    FAIL_IF_NOT(st.forced == 4 && st.held == 4096 && k.n == 4);
    /* B's copy of a forced record is still recognised (late, then dropped). */
    struct cmn_record c0 = s_pkt(0, 13, 63, 2);
    spl_dedup_push(d, b, &c0, 1);
    spl_dedup_stats(d, &st);
    FAIL_IF_NOT(st.late == 1 && st.duplicates_removed == 1 && k.n == 4);
    /* A holds the whole memcap; B's first record still gets a FIFO (a
     * collector starting late, or again after a splitter restart). */
    struct cmn_record c1 = s_pkt(9000, 9000, 63, 2);
    spl_dedup_push(d, b, &c1, 1);
    spl_dedup_stats(d, &st);
    FAIL_IF_NOT(st.held == 4097 && st.forced == 4 && k.n == 4);
    spl_dedup_release(d, UINT64_MAX);
    spl_dedup_stats(d, &st);
    FAIL_IF_NOT(st.released == 4101 && st.held == 0);
    spl_dedup_destroy(&d);

    /* window 0: merged, nothing dropped */
    d = s_new(&k, 0, 1 << 20);
    a = spl_dedup_source(d, 0);
    b = spl_dedup_source(d, 1);
    struct cmn_record x = s_pkt(1, 100, 64, 1), y = s_pkt(1, 100, 63, 2);
    spl_dedup_push(d, b, &y, 1);
    spl_dedup_push(d, a, &x, 1);
    spl_dedup_release(d, UINT64_MAX);
    FAIL_IF_NOT(k.n == 2 && k.rec[0].ttl == 64); /* tie: lower collector id first */
    FAIL_IF_NOT(spl_dedup_pairs(d, NULL, 0) == 0);
    spl_dedup_destroy(&d);

    FAIL_IF(s_new(&k, 500, 1000) != NULL); /* memcap below one FIFO */
    PASS;
}

/* One collector alone fills the window table (its entries are remembered
 * without bucket links and the ring grows from its small start up to
 * SPL_DEDUP_ENTRIES, then forgets early); a collector joining later still
 * finds the copies that are remembered, and only those. */
TEST(window_grows_then_late_collector)
{
    struct sink k;
    struct spl_dedup *d = s_new(&k, 10000000, 256ull << 20); /* 10 s window */
    FAIL_IF(!d);
    const unsigned total = SPL_DEDUP_ENTRIES + 5000;
    struct cmn_record *a = malloc(total * sizeof(*a));
    FAIL_IF(!a);
    for (unsigned i = 0; i < total; i++) {
        a[i] = s_pkt(i, 1000 + i / 64, 64, 0); /* 64 packets per us: all within the window */
        a[i].sig = 0x10000000u + i;
    }
    int sa = spl_dedup_source(d, 1);
    for (unsigned i = 0; i < total; i += 1000)
        spl_dedup_push(d, sa, a + i, total - i < 1000 ? total - i : 1000);
    FAIL_IF(spl_dedup_release(d, UINT64_MAX) != total);
    struct spl_dedup_stats st;
    spl_dedup_stats(d, &st);
    FAIL_IF(st.evicted_early != 5000 || st.duplicates_removed != 0 || st.released != total);

    /* Collector 2 arrives late with copies of the first and the last 3000. */
    int sb = spl_dedup_source(d, 2);
    spl_dedup_push(d, sb, a, 3000);                /* forgotten early: kept */
    spl_dedup_push(d, sb, a + total - 3000, 3000); /* remembered: dropped */
    spl_dedup_release(d, UINT64_MAX);
    spl_dedup_stats(d, &st);
    FAIL_IF(st.duplicates_removed != 3000 || st.released != total + 3000 || st.late != 6000);
    struct spl_dedup_pair pr;
    FAIL_IF(spl_dedup_pairs(d, &pr, 1) != 1 || pr.a != 1 || pr.b != 2 || pr.count != 3000);

    /* Collector 1 again (switching back and forth): its own packets never match. */
    spl_dedup_push(d, sa, a + total - 10, 10);
    spl_dedup_release(d, UINT64_MAX);
    spl_dedup_stats(d, &st);
    FAIL_IF(st.duplicates_removed != 3000);
    free(a);
    spl_dedup_destroy(&d);
    FAIL_IF(d != NULL);
    PASS;
}

/* A splitter restarted from its checkpoint: the window saved with it still
 * cancels a copy whose first copy was released before the checkpoint. */
TEST(window_survives_a_restart)
{
    struct sink k;
    struct spl_dedup *d = s_new(&k, 500, 1 << 20);
    int a = spl_dedup_source(d, 7), b = spl_dedup_source(d, 3);
    struct cmn_record ra[2] = {s_pkt(1, 100, 64, 100), s_pkt(2, 300, 64, 100)};
    struct cmn_record rb = s_pkt(1, 104, 63, 200);
    spl_dedup_push(d, a, ra, 2);
    spl_dedup_push(d, b, &rb, 1);
    spl_dedup_release(d, 400 * US); /* A's 1 and 2 out, B's copy of 1 dropped */
    FAIL_IF_NOT(k.n == 2);
    size_t len = spl_dedup_window_size(d);
    unsigned char *img = malloc(len);
    FAIL_IF(img == NULL);
    spl_dedup_window_save(d, img);
    struct spl_dedup_stats st;
    spl_dedup_stats(d, &st);
    struct spl_dedup_pair pr[2];
    size_t np = spl_dedup_pairs(d, pr, 2);
    spl_dedup_destroy(&d);

    /* without the window: B's copy of 2 (arriving after the restart) goes out */
    struct cmn_record rb2 = s_pkt(2, 303, 63, 200);
    d = s_new(&k, 500, 1 << 20);
    b = spl_dedup_source(d, 3);
    spl_dedup_push(d, b, &rb2, 1);
    spl_dedup_release(d, UINT64_MAX);
    FAIL_IF_NOT(k.n == 1);
    spl_dedup_destroy(&d);

    /* with it (sources registered in another order): dropped, counted for (3, 7) */
    d = s_new(&k, 500, 1 << 20);
    b = spl_dedup_source(d, 3);
    a = spl_dedup_source(d, 7);
    FAIL_IF_NOT(b == 0 && a == 1);
    spl_dedup_restore_counts(d, &st, pr, np);
    FAIL_IF_NOT(spl_dedup_window_load(d, img, len) == 0);
    spl_dedup_push(d, b, &rb2, 1);
    struct cmn_record ra3 = s_pkt(3, 900, 64, 100);
    spl_dedup_push(d, a, &ra3, 1);
    spl_dedup_release(d, UINT64_MAX);
    FAIL_IF_NOT(k.n == 1 && k.rec[0].ip_id == 3);
    spl_dedup_stats(d, &st);
    FAIL_IF_NOT(st.duplicates_removed == 2 && st.released == 3);
    FAIL_IF_NOT(spl_dedup_pairs(d, pr, 2) == 1 && pr[0].a == 3 && pr[0].b == 7 && pr[0].count == 2);
    /* A's copy of 1 again (same source as the kept one): not a copy, goes out */
    struct cmn_record ra1 = s_pkt(1, 100, 64, 100);
    spl_dedup_push(d, a, &ra1, 1);
    spl_dedup_release(d, UINT64_MAX);
    FAIL_IF_NOT(k.n == 2);
    spl_dedup_destroy(&d);

    /* an image that is not one is refused; the dedup works on, empty */
    d = s_new(&k, 500, 1 << 20);
    FAIL_IF_NOT(spl_dedup_window_load(d, img, len - 1) == -EINVAL);
    img[16] ^= 0xff; /* nids */
    FAIL_IF_NOT(spl_dedup_window_load(d, img, len) == -EINVAL);
    spl_dedup_destroy(&d);
    free(img);
    PASS;
}

TEST_MAIN(TEST_ENTRY(copies_dropped_earliest_kept) TEST_ENTRY(same_collector_never_merged)
              TEST_ENTRY(arrival_order_independent) TEST_ENTRY(late_forced_and_off)
                  TEST_ENTRY(window_grows_then_late_collector)
                      TEST_ENTRY(window_survives_a_restart))
