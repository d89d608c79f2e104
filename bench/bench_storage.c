/* SPDX-License-Identifier: MIT
 * bench_storage: does the database converge? Feeds a simulated stable
 * enterprise (PCs using a fixed set of services on servers, new ephemeral
 * client ports every epoch, day/night swing) through mrg_db_commit_epoch
 * with the merger's retention, and prints the database size after day 1, 7
 * and the last day, bytes of database per byte of traffic represented, and
 * the growth after day 7 (RESULT lines, docs/PERFORMANCE.md).
 * What is simulated, exactly: one 60 s epoch every --step minutes (each
 * standing for the traffic of its step), every active PC opens --sessions
 * new sessions per epoch to services it always uses; active PCs follow the
 * hour of day (10% at night, 100% 9-17 h); volume per session is set so a
 * day carries --gb-per-day GB (the paper: 4.7 TB over 36 days = 130 GB).
 * usage: bench_storage [--quick] [--pcs N] [--servers N] [--days N]
 *        [--step MIN] [--sessions N] [--gb-per-day G] [--db FILE]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "mrg_db.h"
#include "mrg_rollup.h"

#define NS 1000000000ull

static uint64_t s_rng = 88172645463325252ull;

static uint64_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static void s_pc_ip(uint8_t ip[16], uint32_t i)
{
    memset(ip, 0, 16);
    ip[10] = ip[11] = 0xff;
    ip[12] = 10;
    ip[13] = (uint8_t)(1 + i / 250);
    ip[14] = (uint8_t)(i % 250 + 1);
    ip[15] = 0;
    ip[14] = (uint8_t)(i / 250 % 250);
    ip[15] = (uint8_t)(i % 250 + 1);
    ip[13] = (uint8_t)(1 + i / 62500);
}

static void s_srv_ip(uint8_t ip[16], uint32_t i)
{
    memset(ip, 0, 16);
    ip[10] = ip[11] = 0xff;
    ip[12] = 172;
    ip[13] = 16;
    ip[14] = (uint8_t)(i / 250);
    ip[15] = (uint8_t)(i % 250 + 1);
}

static const uint16_t s_ports[] = {53, 88, 389, 445, 443, 80, 8080, 25, 3389, 1433, 5432, 135};

/* Fraction of PCs active at hour h (day/night swing). */
static double s_active(unsigned h)
{
    if (h >= 9 && h < 17)
        return 1.0;
    if (h >= 7 && h < 20)
        return 0.5;
    return 0.1;
}

static long long s_db_bytes(struct mrg_db *db, const char *path)
{
    sqlite3 *h = mrg_db_handle(db);
    sqlite3_exec(h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    char wal[600];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    struct stat a, b;
    long long n = stat(path, &a) == 0 ? (long long)a.st_size : 0;
    if (stat(wal, &b) == 0)
        n += (long long)b.st_size;
    return n;
}

int main(int argc, char **argv)
{
    uint32_t pcs = 16000, servers = 400, days = 36, step = 60, sess = 4, svc_per_pc = 10;
    double gb_day = 4.7e3 / 36;
    char defpath[64];
    snprintf(defpath, sizeof(defpath), "/tmp/renkei_bench_storage_%d.sqlite", (int)getpid());
    const char *path = defpath;
    int keep = 0; /* --db: keep the database for inspection */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "0";
        if (!strcmp(a, "--quick")) {
            pcs = 500;
            servers = 20;
            days = 8;
            step = 480;
        } else if (!strcmp(a, "--pcs"))
            pcs = (uint32_t)atoi(v), i++;
        else if (!strcmp(a, "--servers"))
            servers = (uint32_t)atoi(v), i++;
        else if (!strcmp(a, "--days"))
            days = (uint32_t)atoi(v), i++;
        else if (!strcmp(a, "--step"))
            step = (uint32_t)atoi(v), i++;
        else if (!strcmp(a, "--sessions"))
            sess = (uint32_t)atoi(v), i++;
        else if (!strcmp(a, "--gb-per-day"))
            gb_day = atof(v), i++;
        else if (!strcmp(a, "--db"))
            path = v, keep = 1, i++;
        else {
            fprintf(stderr, "usage: bench_storage [--quick] [--pcs N] [--servers N] [--days N]"
                            " [--step MIN] [--sessions N] [--gb-per-day G] [--db FILE]\n");
            return 2;
        }
    }
    if (servers < 12 || step == 0 || 1440 % step != 0 || days < 1) {
        fprintf(stderr, "bench_storage: servers >= 12, step divides 1440, days >= 1\n");
        return 2;
    }
    cmn_log_init("bench_storage", CMN_LOG_WARN);
    char x[600];
    unlink(path);
    snprintf(x, sizeof(x), "%s-wal", path);
    unlink(x);
    snprintf(x, sizeof(x), "%s-shm", path);
    unlink(x);
    struct mrg_db *db = mrg_db_open(path);
    if (!db)
        return 1;
    /* epochs are --step minutes apart, so the recent window of live sessions
     * is one simulated epoch: retain_minutes = 1 (a session is retired when
     * it was idle for one minute and one committed epoch) */
    const struct mrg_retain r = {1, MRG_RETAIN_HOURS_DEFAULT, MRG_RETAIN_DAYS_DEFAULT};
    mrg_db_set_retention(db, &r);

    /* sessions per day at the swing, for the volume per session */
    double act_day = 0;
    for (uint32_t m = 0; m < 1440; m += step)
        act_day += s_active(m / 60) * pcs * sess;
    const double bytes_per_sess = gb_day * 1e9 / act_day;

    struct cmn_session_rec *s = calloc((size_t)pcs * sess, sizeof(*s));
    struct cmn_endpoint_rec *e = calloc((size_t)pcs * sess + servers * 12, sizeof(*e));
    if (!s || !e)
        abort();
    const uint64_t epochs_per_day = 1440 / step, ep0 = 29000ull * 1440; /* a day boundary */
    double traffic = 0, traffic_d7 = 0;
    long long size_d1 = 0, size_d7 = 0, size_last = 0;
    uint16_t port_ctr = 1024;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t stored = 0;
    for (uint32_t d = 0; d < days; d++) {
        for (uint64_t k = 0; k < epochs_per_day; k++) {
            uint64_t ep = ep0 + d * 1440 + k * step;
            unsigned hour = (unsigned)(k * step / 60);
            uint32_t active = (uint32_t)(s_active(hour) * pcs);
            size_t ns = 0, ne = 0;
            for (uint32_t p = 0; p < active; p++) {
                uint32_t pc = (uint32_t)((p * 7919ull + d * 104729ull) % pcs);
                for (uint32_t q = 0; q < sess; q++) {
                    /* a PC always uses the same svc_per_pc services */
                    uint32_t svc = (uint32_t)((pc * 31u + (s_rand() % svc_per_pc) * 17u) % servers);
                    uint32_t srv = svc % servers;
                    uint16_t sport = s_ports[(pc + svc) % 12];
                    struct cmn_session_rec *sr = &s[ns++];
                    memset(sr, 0, sizeof(*sr));
                    s_pc_ip(sr->b_ip, pc);
                    s_srv_ip(sr->a_ip, srv);
                    if (memcmp(sr->b_ip, sr->a_ip, 16) < 0) {
                        uint8_t t[16];
                        memcpy(t, sr->a_ip, 16);
                        memcpy(sr->a_ip, sr->b_ip, 16);
                        memcpy(sr->b_ip, t, 16);
                    }
                    /* PCs are 10.x, lower than 172.16: A = client */
                    port_ctr = (uint16_t)(port_ctr >= 65000 ? 1024 : port_ctr + 1);
                    sr->a_port = port_ctr;
                    sr->b_port = sport;
                    sr->proto = sport == 53 || sport == 88 ? 17 : 6;
                    sr->flags = CMN_SESS_A_INIT;
                    uint64_t by =
                        (uint64_t)(bytes_per_sess * (0.5 + (double)(s_rand() % 1000) / 1000.0));
                    sr->bytes[0] = by / 10;
                    sr->bytes[1] = by - by / 10;
                    sr->pkts[0] = by / 10 / 200 + 1;
                    sr->pkts[1] = (by - by / 10) / 1200 + 1;
                    sr->syn[0] = sr->synack[1] = sr->proto == 6;
                    sr->first_ns = ep * 60 * NS + NS;
                    sr->last_ns = ep * 60 * NS + 50 * NS;
                    traffic += (double)by;
                    struct cmn_endpoint_rec *c = &e[ne++];
                    memset(c, 0, sizeof(*c));
                    memcpy(c->ip, sr->a_ip, 16);
                    c->proto = sr->proto;
                    c->port = sr->a_port;
                    c->role = CMN_ROLE_CLIENT;
                    c->confidence = 0.9f;
                    c->first_ns = sr->first_ns;
                    c->last_ns = sr->last_ns;
                }
            }
            /* servers' endpoints, changed every epoch */
            for (uint32_t v = 0; v < servers; v++) {
                for (uint32_t pi = 0; pi < 12; pi++) {
                    if ((v + pi) % 4)
                        continue;
                    struct cmn_endpoint_rec *c = &e[ne++];
                    memset(c, 0, sizeof(*c));
                    s_srv_ip(c->ip, v);
                    c->port = s_ports[pi];
                    c->proto = c->port == 53 || c->port == 88 ? 17 : 6;
                    c->role = CMN_ROLE_SERVER;
                    c->confidence = 0.95f;
                    c->first_ns = ep0 * 60 * NS;
                    c->last_ns = ep * 60 * NS + 50 * NS;
                }
            }
            struct mrg_part part = {
                .sessions = s, .n_sessions = ns, .endpoints = e, .n_endpoints = ne};
            if (mrg_db_commit_epoch(db, ep, 60 * NS, false, &part, 1, NULL) != 0) {
                fprintf(stderr, "bench_storage: commit failed\n");
                return 1;
            }
            stored += ns;
        }
        long long sz = s_db_bytes(db, path);
        if (d == 0)
            size_d1 = sz;
        if (d == 6) {
            size_d7 = sz;
            traffic_d7 = traffic;
        }
        size_last = sz;
        fprintf(stderr, "day %u: db %.1f MB, traffic %.1f GB\n", d + 1, sz / 1e6, traffic / 1e9);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    (void)traffic_d7;
    printf("# %u PCs, %u servers, %u days, one 60 s epoch every %u min, %u sessions/PC/epoch,"
           " %.0f GB/day; retain_minutes=%u hours=%u days=%u\n",
           pcs, servers, days, step, sess, gb_day, r.minutes, r.hours, r.days);
    printf("RESULT storage_db_bytes_day1 %lld B\n", size_d1);
    if (days >= 7)
        printf("RESULT storage_db_bytes_day7 %lld B\n", size_d7);
    printf("RESULT storage_db_bytes_day%u %lld B\n", days, size_last);
    printf("RESULT storage_traffic_bytes %.0f B\n", traffic);
    printf("RESULT storage_db_over_traffic %.3g ratio\n", (double)size_last / traffic);
    if (days > 7)
        printf("RESULT storage_growth_after_day7 %.4f ratio\n",
               (double)(size_last - size_d7) / (double)size_d7);
    printf("RESULT storage_session_deltas_per_s %.0f sessions/s\n", (double)stored / secs);
    mrg_db_close(&db);
    free(s);
    free(e);
    if (keep)
        return 0;
    unlink(path);
    snprintf(x, sizeof(x), "%s-wal", path);
    unlink(x);
    snprintf(x, sizeof(x), "%s-shm", path);
    unlink(x);
    return 0;
}
