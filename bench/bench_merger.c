/* SPDX-License-Identifier: MIT
 * bench_merger: session deltas per second through the merger's own code
 * (mrg_db_open, mrg_db_commit_epoch with struct mrg_part arrays, as
 * mrg_node calls them), one core, realistic epochs. Simulated: an
 * enterprise of --clients PCs, each with --slots concurrent sessions to a
 * fixed set of --uses services on --servers servers; a TCP session lives a
 * geometric number of epochs (mean --life) with an ephemeral client port and
 * is active in 90% of them (most deltas are for sessions seen before); DNS
 * and Kerberos are one-epoch UDP sessions; servers call each other (app ->
 * database, --s2s sessions per server) and keep one NTP session between
 * two servers (123 <-> 123, both servers); one scanner probes a server's
 * ports. Every epoch each of --trackers trackers sends one part: the
 * session deltas whose A or B address it owns (a session between two owners
 * arrives twice: the merger's dedup), the endpoint rows it owns that changed
 * (every client port of a touched session, every touched service, with a
 * confidence that moves a little each epoch), and its event rows.
 * Prints RESULT lines: merger_deltas_per_s (distinct session deltas stored
 * per CPU-second of mrg_db_commit_epoch), merger_wire_deltas_per_s
 * (including the shared copies), merger_epoch_ms (median wall time of one
 * commit), merger_epoch_ms_max, merger_peak_rss (VmHWM of the process,
 * generator included: see merger_rss_before), merger_db_bytes (database and
 * WAL after the last epoch).
 * usage: bench_merger [--quick] [--clients N] [--servers N] [--slots N]
 *        [--uses N] [--life EPOCHS] [--s2s N] [--trackers N] [--epochs N]
 *        [--retain-minutes M] [--checkpoint-epochs N] [--memcap-mb MB] [--seed N]
 *        [--db FILE] [--verbose]
 * (--verbose: the merger's own log line per epoch, with its time split.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cmn_log.h"
#include "mrg_db.h"
#include "mrg_rollup.h"

#define NS    1000000000ull
#define EPOCH (60 * NS)

static uint64_t s_rng = 88172645463325252ull;

static uint64_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static uint32_t s_below(uint32_t n)
{
    return (uint32_t)(s_rand() % n);
}

/* Client i: 10.a.b.c (v4-mapped); server i: 172.16.x.y. */
static void s_client_ip(uint8_t ip[16], uint32_t i)
{
    memset(ip, 0, 16);
    ip[10] = ip[11] = 0xff;
    ip[12] = 10;
    ip[13] = (uint8_t)(1 + i / 62500);
    ip[14] = (uint8_t)(i / 250 % 250);
    ip[15] = (uint8_t)(i % 250 + 1);
}

static void s_server_ip(uint8_t ip[16], uint32_t i)
{
    memset(ip, 0, 16);
    ip[10] = ip[11] = 0xff;
    ip[12] = 172;
    ip[13] = 16;
    ip[14] = (uint8_t)(i / 250);
    ip[15] = (uint8_t)(i % 250 + 1);
}

struct svc {
    uint32_t server; /* server index */
    uint16_t port;   /* service port */
    uint8_t proto;   /* 6 or 17 */
};

/* A simulated session in one slot. */
struct slot {
    uint32_t svc;   /* index into the services */
    uint16_t cport; /* client's ephemeral port */
    uint16_t left;  /* epochs left, 0 = slot empty */
    uint16_t age;   /* epochs since the start */
};

/* Session and endpoint rows of one epoch, per tracker. */
struct out {
    struct cmn_session_rec *s;  /* session deltas */
    size_t ns, cap_s;           /* used, capacity */
    struct cmn_endpoint_rec *e; /* endpoint rows */
    size_t ne, cap_e;           /* used, capacity */
};

static void *s_grow(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    p = realloc(p, c * size);
    if (!p)
        abort();
    *cap = c;
    return p;
}

static uint32_t s_owner(const uint8_t ip[16], uint32_t trackers)
{
    uint32_t h = 2166136261u;
    for (int i = 12; i < 16; i++)
        h = (h ^ ip[i]) * 16777619u;
    return h % trackers;
}

static void s_add_session(struct out *o, uint32_t trackers, const struct cmn_session_rec *r)
{
    uint32_t ta = s_owner(r->a_ip, trackers), tb = s_owner(r->b_ip, trackers);
    for (uint32_t t = 0; t < trackers; t++) {
        if (t != ta && t != tb)
            continue;
        o[t].s = s_grow(o[t].s, &o[t].cap_s, o[t].ns + 1, sizeof(*r));
        o[t].s[o[t].ns++] = *r;
    }
}

static void s_add_endpoint(struct out *o, uint32_t trackers, const struct cmn_endpoint_rec *e)
{
    uint32_t t = s_owner(e->ip, trackers);
    o[t].e = s_grow(o[t].e, &o[t].cap_e, o[t].ne + 1, sizeof(*e));
    o[t].e[o[t].ne++] = *e;
}

/* One delta of session client c:cport -> server s:sport in epoch ep, `age`
 * epochs after its start, ending this epoch when `last`. */
static void s_delta(struct cmn_session_rec *r, const uint8_t c[16], uint16_t cport,
                    const uint8_t s[16], uint16_t sport, uint8_t proto, uint64_t ep, uint16_t age,
                    bool last)
{
    memset(r, 0, sizeof(*r));
    int d = memcmp(c, s, 16) > 0; /* the client's direction: 0 when the client is A */
    memcpy(r->a_ip, d ? s : c, 16);
    memcpy(r->b_ip, d ? c : s, 16);
    r->a_port = d ? sport : cport;
    r->b_port = d ? cport : sport;
    r->proto = proto;
    r->flags = d ? CMN_SESS_B_INIT : CMN_SESS_A_INIT;
    uint32_t pc = 2 + s_below(proto == 6 ? 40 : 2), ps = 1 + s_below(proto == 6 ? 60 : 2);
    r->pkts[d] = pc;
    r->pkts[!d] = ps;
    r->bytes[d] = pc * (60 + s_below(300));
    r->bytes[!d] = ps * (200 + s_below(1200));
    if (proto == 6) {
        r->ack[d] = pc - (age == 0);
        r->ack[!d] = ps;
        if (age == 0) {
            r->syn[d] = 1;
            r->syn[!d] = r->synack[!d] = 1;
        }
        if (last) {
            r->fin[d] = 1;
            r->fin[!d] = 1;
        }
    }
    uint64_t t0 = ep * EPOCH + s_below(30) * NS;
    r->first_ns = t0;
    r->last_ns = t0 + (1 + s_below(29)) * NS;
}

static void s_endpoint(struct cmn_endpoint_rec *e, const uint8_t ip[16], uint16_t port,
                       uint8_t proto, uint8_t role, float conf, uint64_t ep, uint32_t seen)
{
    memset(e, 0, sizeof(*e));
    memcpy(e->ip, ip, 16);
    e->port = port;
    e->proto = proto;
    e->role = role;
    e->confidence = conf;
    e->peers = 1 + seen % 50;
    e->peer_ports = 1 + seen % 7;
    e->sessions = seen;
    e->epochs_seen = 1 + seen % 60;
    e->pkts_out = 10ull * seen;
    e->pkts_in = 12ull * seen;
    e->bytes_out = 1000ull * seen;
    e->bytes_in = 9000ull * seen;
    e->first_ns = (ep > seen ? ep - seen : 0) * EPOCH;
    e->last_ns = ep * EPOCH + 59 * NS;
}

static double s_cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double s_wall_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long long s_hwm_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long kb = 0;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = atoll(line + 6);
    if (f)
        fclose(f);
    return kb * 1024;
}

static long long s_file_bytes(const char *path)
{
    struct stat st;
    char wal[600];
    long long n = stat(path, &st) == 0 ? (long long)st.st_size : 0;
    snprintf(wal, sizeof(wal), "%s-wal", path);
    if (stat(wal, &st) == 0)
        n += (long long)st.st_size;
    return n;
}

static void s_rm_db(const char *path)
{
    char x[600];
    unlink(path);
    snprintf(x, sizeof(x), "%s-wal", path);
    unlink(x);
    snprintf(x, sizeof(x), "%s-shm", path);
    unlink(x);
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    uint32_t clients = 16000, servers = 400, slots = 6, uses = 8, life = 4, s2s = 20;
    uint32_t trackers = 2, epochs = 30, retain = 10, ckpt = 1, memcap_mb = 0;
    char defpath[64];
    snprintf(defpath, sizeof(defpath), "/tmp/renkei_bench_merger_%d.sqlite", (int)getpid());
    const char *path = defpath;
    bool keep = false, verbose = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "0";
        if (!strcmp(a, "--verbose")) {
            verbose = true;
            continue;
        }
        if (!strcmp(a, "--quick")) {
            clients = 1000;
            servers = 40;
            epochs = 12;
            retain = 4;
            continue;
        }
        uint32_t *dst = !strcmp(a, "--clients")             ? &clients
                        : !strcmp(a, "--servers")           ? &servers
                        : !strcmp(a, "--slots")             ? &slots
                        : !strcmp(a, "--uses")              ? &uses
                        : !strcmp(a, "--life")              ? &life
                        : !strcmp(a, "--s2s")               ? &s2s
                        : !strcmp(a, "--trackers")          ? &trackers
                        : !strcmp(a, "--epochs")            ? &epochs
                        : !strcmp(a, "--retain-minutes")    ? &retain
                        : !strcmp(a, "--checkpoint-epochs") ? &ckpt
                        : !strcmp(a, "--memcap-mb")         ? &memcap_mb
                                                            : NULL;
        if (dst) {
            *dst = (uint32_t)strtoul(v, NULL, 10);
            i++;
        } else if (!strcmp(a, "--seed")) {
            s_rng = strtoull(v, NULL, 10) | 1;
            i++;
        } else if (!strcmp(a, "--db")) {
            path = v;
            keep = true;
            i++;
        } else {
            fprintf(stderr,
                    "usage: bench_merger [--quick] [--clients N] [--servers N] [--slots N]"
                    " [--uses N] [--life EPOCHS] [--s2s N] [--trackers N] [--epochs N]"
                    " [--retain-minutes M] [--checkpoint-epochs N] [--memcap-mb MB] [--seed N]"
                    " [--db FILE] [--verbose]\n");
            return 2;
        }
    }
    if (clients < 1 || servers < 4 || slots < 1 || uses < 1 || life < 1 || trackers < 1 ||
        epochs < 1 || clients > 1000000 || servers > 60000) {
        fprintf(stderr, "bench_merger: sizes out of range\n");
        return 2;
    }
    cmn_log_init("bench_merger", verbose ? CMN_LOG_INFO : CMN_LOG_WARN);

    /* services: every server offers one, every 4th a second one; the first
     * two tenths are DNS and Kerberos (UDP, one-epoch sessions) */
    static const uint16_t tcp_ports[] = {443, 80, 445, 389, 8080, 25, 3389, 1433, 5432, 135};
    struct svc *sv = calloc(servers * 2, sizeof(*sv));
    uint32_t nsv = 0;
    for (uint32_t s = 0; s < servers; s++) {
        for (uint32_t k = 0; k < (s % 4 == 0 ? 2u : 1u); k++) {
            struct svc *x = &sv[nsv++];
            x->server = s;
            if (s < servers / 10 && k == 0) {
                x->port = s % 2 ? 88 : 53;
                x->proto = 17;
            } else {
                x->port = tcp_ports[(s + k) % 10];
                x->proto = 6;
            }
        }
    }
    /* each client's services: uses of them, the same every epoch */
    uint32_t *use = calloc((size_t)clients * uses, sizeof(*use));
    for (uint32_t c = 0; c < clients; c++)
        for (uint32_t u = 0; u < uses; u++)
            use[(size_t)c * uses + u] = (c * 2654435761u + u * 40503u) % nsv;
    struct slot *sl = calloc((size_t)clients * slots + (size_t)servers * s2s, sizeof(*sl));
    uint16_t *nextport = calloc(clients + servers, sizeof(*nextport));
    uint32_t *seen_svc = calloc(nsv, sizeof(*seen_svc));
    uint8_t *touched = calloc(nsv, 1);
    if (!sv || !use || !sl || !nextport || !seen_svc || !touched)
        abort();
    for (uint32_t i = 0; i < clients + servers; i++)
        nextport[i] = (uint16_t)(32768 + s_below(28000));

    s_rm_db(path);
    struct mrg_db *db = mrg_db_open(path);
    if (!db)
        return 1;
    const struct mrg_retain r = {retain, MRG_RETAIN_HOURS_DEFAULT, MRG_RETAIN_DAYS_DEFAULT};
    mrg_db_set_retention(db, &r);
    mrg_db_set_checkpoint_epochs(db, ckpt);
    if (memcap_mb)
        mrg_db_set_memcap(db, (uint64_t)memcap_mb << 20);
    struct out *o = calloc(trackers, sizeof(*o));
    struct mrg_part *parts = calloc(trackers, sizeof(*parts));
    double *ms = calloc(epochs, sizeof(*ms));
    if (!o || !parts || !ms)
        abort();
    const uint64_t ep0 = 29000ull * 1440;
    uint64_t stored = 0, wire = 0, n_ep = 0, dups = 0;
    double cpu = 0, wall = 0, live_s = 0, sql_s = 0;
    long long rss_before = 0;
    struct cmn_event_rec ev;
    memset(&ev, 0, sizeof(ev));
    for (uint32_t k = 0; k < epochs; k++) {
        uint64_t ep = ep0 + k;
        for (uint32_t t = 0; t < trackers; t++)
            o[t].ns = o[t].ne = 0;
        memset(touched, 0, nsv);
        struct cmn_session_rec d;
        struct cmn_endpoint_rec e;
        uint8_t cip[16], sip[16];
        /* client sessions, then server-to-server ones (the slots past the
         * clients' belong to servers as callers) */
        size_t nslots = (size_t)clients * slots + (size_t)servers * s2s;
        for (size_t i = 0; i < nslots; i++) {
            struct slot *x = &sl[i];
            bool from_server = i >= (size_t)clients * slots;
            uint32_t who = from_server ? (uint32_t)((i - (size_t)clients * slots) / s2s)
                                       : (uint32_t)(i / slots);
            if (x->left == 0) { /* a new session in this slot */
                x->svc = from_server ? (who * 7u + s_below(5) * 13u + 1) % nsv
                                     : use[(size_t)who * uses + s_below(uses)];
                if (from_server && sv[x->svc].server == who)
                    x->svc = (x->svc + 1) % nsv;
                uint16_t *np = &nextport[from_server ? clients + who : who];
                *np = (uint16_t)(*np >= 60999 ? 32768 : *np + 1);
                x->cport = *np;
                x->age = 0;
                /* geometric life, mean `life` epochs; UDP: one epoch */
                uint16_t l = 1;
                while (sv[x->svc].proto == 6 && l < 1000 && s_below(life) != 0)
                    l++;
                x->left = l;
            } else if (s_below(10) == 0) { /* idle this epoch */
                x->age++;
                x->left--; /* a session may end idle, without FIN */
                continue;
            }
            const struct svc *v = &sv[x->svc];
            if (from_server)
                s_server_ip(cip, who);
            else
                s_client_ip(cip, who);
            s_server_ip(sip, v->server);
            s_delta(&d, cip, x->cport, sip, v->port, v->proto, ep, x->age, x->left == 1);
            s_add_session(o, trackers, &d);
            s_endpoint(&e, cip, x->cport, v->proto, CMN_ROLE_CLIENT, 0.8f, ep, x->age + 1u);
            s_add_endpoint(o, trackers, &e);
            touched[x->svc] = 1;
            x->age++;
            x->left--;
        }
        /* NTP between servers: server s asks server s ^ 1, both ends servers */
        for (uint32_t s = 0; s + 1 < servers; s += 2) {
            s_server_ip(cip, s);
            s_server_ip(sip, s + 1);
            s_delta(&d, cip, 123, sip, 123, 17, ep, (uint16_t)k, false);
            s_add_session(o, trackers, &d);
            for (int side = 0; side < 2; side++) {
                s_endpoint(&e, side ? sip : cip, 123, 17, CMN_ROLE_SERVER, 0.7f + 0.1f * side, ep,
                           k + 1);
                s_add_endpoint(o, trackers, &e);
            }
        }
        /* the scanner: 200 SYNs to server 0's closed ports, RSTs back */
        s_client_ip(cip, clients - 1);
        s_server_ip(sip, 0);
        for (uint32_t p = 0; p < 200; p++) {
            memset(&d, 0, sizeof(d));
            memcpy(d.a_ip, cip, 16);
            memcpy(d.b_ip, sip, 16);
            d.a_port = 40000;
            d.b_port = (uint16_t)(1000 + (k * 200 + p) % 60000);
            d.proto = 6;
            d.flags = CMN_SESS_A_INIT;
            d.pkts[0] = d.syn[0] = 1;
            d.pkts[1] = d.rst[1] = 1;
            d.bytes[0] = d.bytes[1] = 40;
            d.first_ns = d.last_ns = ep * EPOCH + p * 1000000ull;
            s_add_session(o, trackers, &d);
        }
        /* every touched service's endpoint, its confidence moving a little */
        for (uint32_t i = 0; i < nsv; i++) {
            if (!touched[i])
                continue;
            seen_svc[i]++;
            s_server_ip(sip, sv[i].server);
            float conf = 0.99f - 0.4f / (float)(seen_svc[i] + 1);
            s_endpoint(&e, sip, sv[i].port, sv[i].proto, CMN_ROLE_SERVER, conf, ep, seen_svc[i]);
            s_add_endpoint(o, trackers, &e);
        }
        memcpy(ev.target_ip, sip, 16);
        memcpy(ev.actor_ip, cip, 16);
        ev.kind = CMN_EVENT_PORT_SCAN;
        ev.proto = 6;
        ev.packets = 200ull * (k + 1);
        ev.port_count = 200 * (k + 1);
        ev.source_count = 1;
        ev.first_ns = ep0 * EPOCH;
        ev.last_ns = ep * EPOCH + 59 * NS;
        uint32_t tev = s_owner(sip, trackers);
        size_t offered = 0;
        for (uint32_t t = 0; t < trackers; t++) {
            parts[t] = (struct mrg_part){.tracker_id = t,
                                         .sessions = o[t].s,
                                         .n_sessions = o[t].ns,
                                         .endpoints = o[t].e,
                                         .n_endpoints = o[t].ne,
                                         .events = t == tev ? &ev : NULL,
                                         .n_events = t == tev ? 1 : 0};
            offered += o[t].ns;
            n_ep += o[t].ne;
        }
        if (k == 0)
            rss_before = s_hwm_bytes();
        struct mrg_epoch_stats st;
        double c0 = s_cpu_now(), w0 = s_wall_now();
        if (mrg_db_commit_epoch(db, ep, EPOCH, k + 1 == epochs, parts, trackers, &st) != 0) {
            fprintf(stderr, "bench_merger: commit of epoch %u failed\n", k);
            return 1;
        }
        double c1 = s_cpu_now(), w1 = s_wall_now();
        cpu += c1 - c0;
        wall += w1 - w0;
        ms[k] = (w1 - w0) * 1e3;
        stored += st.sessions;
        live_s += (double)st.live_ns / 1e9;
        sql_s += (double)st.sql_ns / 1e9;
        dups += st.duplicates;
        wire += offered;
        fprintf(stderr, "epoch %u: %llu deltas (%zu on the wire), %.1f ms\n", k,
                (unsigned long long)st.sessions, offered, ms[k]);
    }
    long long dbb = s_file_bytes(path);
    qsort(ms, epochs, sizeof(*ms), s_cmp_double);
    printf("# %u clients x %u slots (%u services each), %u servers (%u services, %u s2s slots"
           " each), mean life %u epochs, %u trackers, %u epochs, retain_minutes %u\n",
           clients, slots, uses, servers, nsv, s2s, life, trackers, epochs, retain);
    printf("# %llu distinct session deltas (%llu on the wire, %llu shared copies), %llu endpoint"
           " rows; %.2f CPU-s, %.2f s wall in mrg_db_commit_epoch\n",
           (unsigned long long)stored, (unsigned long long)wire, (unsigned long long)dups,
           (unsigned long long)n_ep, cpu, wall);
    printf("RESULT merger_deltas_per_s %.0f deltas/s\n", (double)stored / cpu);
    printf("RESULT merger_wire_deltas_per_s %.0f deltas/s\n", (double)wire / cpu);
    printf("RESULT merger_endpoint_rows_per_s %.0f rows/s\n", (double)n_ep / cpu);
    /* the split of the commits' wall time: the live window alone (what a
     * merger without SQLite would do per delta), and SQLite */
    printf("RESULT merger_live_deltas_per_s %.0f deltas/s\n", (double)stored / live_s);
    printf("RESULT merger_sqlite_share %.3f ratio\n", sql_s / (live_s + sql_s));
    printf("RESULT merger_epoch_ms %.1f ms\n", ms[epochs / 2]);
    printf("RESULT merger_epoch_ms_max %.1f ms\n", ms[epochs - 1]);
    printf("RESULT merger_rss_before %lld B\n", rss_before);
    printf("RESULT merger_peak_rss %lld B\n", s_hwm_bytes());
    printf("RESULT merger_db_bytes %lld B\n", dbb);
    mrg_db_close(&db);
    for (uint32_t t = 0; t < trackers; t++) {
        free(o[t].s);
        free(o[t].e);
    }
    free(o);
    free(parts);
    free(ms);
    free(sv);
    free(use);
    free(sl);
    free(nextport);
    free(seen_svc);
    free(touched);
    if (!keep)
        s_rm_db(path);
    return 0;
}
