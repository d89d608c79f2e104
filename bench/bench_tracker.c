/* SPDX-License-Identifier: MIT
 * bench_tracker: records/s into the session table (trk_table_update_burst)
 * with about 1M live sessions and key churn (a share of records open new
 * sessions while old ones expire), and the memory held per live session.
 * Records pick a session uniformly from a sliding window; sessions that slide
 * out expire after the timeout, so the table holds the window plus one
 * timeout's worth of new sessions (about `live_sessions` in all).
 * Usage: bench_tracker [--quick] [live_sessions] [records] [churn_percent]
 * Prints human lines and `RESULT tracker_mrps`, `RESULT tracker_bytes_per_session`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_wire.h"
#include "trk_table.h"

static uint64_t s_rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void s_session(struct cmn_record *r, uint64_t id, uint64_t ts, int reply)
{
    uint8_t c[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 0};
    uint8_t s[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 172, 16, 0, 0};
    c[13] = (uint8_t)(id >> 16);
    c[14] = (uint8_t)(id >> 8);
    c[15] = (uint8_t)id;
    s[15] = (uint8_t)(id % 200);
    memset(r, 0, sizeof(*r));
    r->ts_ns = ts;
    memcpy(reply ? r->src : r->dst, s, 16);
    memcpy(reply ? r->dst : r->src, c, 16);
    uint16_t cp = (uint16_t)(32768 + (id >> 24) % 28000), sp = 443;
    r->sport = reply ? sp : cp;
    r->dport = reply ? cp : sp;
    r->proto = 6;
    r->tcp_flags = 0x10;
    r->ip_len = reply ? 1500 : 52;
}

int main(int argc, char **argv)
{
    bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (quick) {
        argc--;
        argv++;
    }
    uint64_t live = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    uint64_t nrec = argc > 2 ? strtoull(argv[2], NULL, 10) : quick ? 4000000 : 20000000;
    uint64_t churn = argc > 3 ? strtoull(argv[3], NULL, 10) : 5;
    if (live < 1000 || churn > 100) {
        fprintf(stderr, "usage: bench_tracker [--quick] [live>=1000] [records] [churn%%<=100]\n");
        return 2;
    }
    const uint64_t step = 50;                         /* ns of capture time per record (20 M/s) */
    uint64_t timeout_recs = 5000000;                  /* session timeout: 0.25 s of capture */
    uint64_t window = live - live / 4;                /* sessions records pick from */
    if (churn * timeout_recs / 100 < live - live / 4) /* plus the idle ones not expired yet */
        window = live - churn * timeout_recs / 100;
    else
        timeout_recs = (live / 4) * 100 / (churn ? churn : 1);
    struct trk_mem mem = {.cap = 4ull << 30};
    struct trk_table_config cfg = {
        .spare_sessions = live, .session_timeout_ns = timeout_recs * step, .seed = 1, .mem = &mem};
    struct trk_table *t = trk_table_new(&cfg);
    if (!t)
        return 1;
    const size_t chunk = 1 << 16;
    struct cmn_record *recs = malloc(chunk * sizeof(*recs));
    uint64_t rng = 88172645463325252ull, ts = 1000000000ull;
    uint64_t next_id = window;
    /* warm up: every session of the window once, then one timeout of churn (not timed) */
    for (uint64_t i = 0; i < window; i += chunk) {
        size_t m = window - i < chunk ? window - i : chunk;
        for (size_t k = 0; k < m; k++)
            s_session(&recs[k], i + k, ts, 0);
        trk_table_update_burst(t, recs, m);
    }
    trk_table_flush(t, NULL, NULL);
    uint64_t ns = 0, done = 0, base = 0, flush_ns = 0, flushes = 0, total = nrec + timeout_recs;
    while (done < total) {
        if (done == timeout_recs)
            ns = flush_ns = flushes = 0; /* warm-up over: measure from here */
        uint64_t until = done < timeout_recs ? timeout_recs : total;
        size_t m = until - done < chunk ? until - done : chunk;
        for (size_t k = 0; k < m; k++) {
            uint64_t r = s_rng(&rng);
            uint64_t id;
            if (r % 100 < churn) {
                id = next_id++; /* a new session; the oldest slide out of the window */
                base++;
            } else {
                id = base + (r >> 8) % window;
            }
            ts += step;
            s_session(&recs[k], id, ts, (int)(r >> 40) & 1);
        }
        uint64_t t0 = cmn_mono_ns();
        trk_table_update_burst(t, recs, m);
        uint64_t t1 = cmn_mono_ns();
        ns += t1 - t0;
        if ((done / chunk) % 16 == 15) { /* an epoch: flush, then bounded expiry */
            trk_table_flush(t, NULL, NULL);
            for (size_t v = 0; v < 64; v++)
                trk_table_expire(t, 1 << 16);
            flush_ns += cmn_mono_ns() - t1;
            flushes++;
        }
        done += m;
    }
    struct trk_table_stats st;
    trk_table_get_stats(t, &st);
    double mrps = (double)nrec / ((double)ns / 1e3);
    printf("records %" PRIu64 " in %.3f s: %.2f M records/s (window %" PRIu64
           " sessions, churn %" PRIu64 "%%, timeout %" PRIu64 " records)\n",
           nrec, (double)ns / 1e9, mrps, window, churn, timeout_recs);
    printf("flush + expiry: %" PRIu64 " epochs, %.1f ms each\n", flushes,
           flushes ? (double)flush_ns / 1e6 / (double)flushes : 0.0);
    printf("live sessions %" PRIu64 ", created %" PRIu64 ", freed %" PRIu64 ", drops %" PRIu64 "\n",
           st.live, st.created, st.freed, st.drop_memcap);
    double bps = (double)st.bytes / (double)(st.live ? st.live : 1);
    printf("table bytes %" PRIu64 " (%.1f B/session: rows, index slots, side stores)\n", st.bytes,
           bps);
    printf("RESULT tracker_mrps %.2f Mrec/s\n", mrps);
    printf("RESULT tracker_bytes_per_session %.1f B\n", bps);
    free(recs);
    trk_table_destroy(&t);
    return 0;
}
