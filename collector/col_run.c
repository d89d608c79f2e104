/* SPDX-License-Identifier: MIT
 * col_run: the collector's RX loop and its set-up and tear-down. The loop
 * owns its counters (kept in registers for a burst, published every 100 ms
 * and when idle) and its current batch; it never allocates, never logs per
 * packet, prefetches packet data and record lines ahead, and frees mbufs in
 * bulk. Common frames take cmn_parse's fast path. Capture files have a loop
 * of their own over cmn_capfile's packets (borrowed from the mapping, each
 * with its own link type), with the same counters, that closes each batch
 * with the frame count and counters col_state saves.
 */
#define CMN_LOG_TAG "run"
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>

#include "cmn_capfile.h"
#include "cmn_cli.h"
#include "cmn_log.h"
#include "cmn_parse.h"
#include "cmn_wire.h"
#include "col_batch.h"
#include "col_convert.h"
#include "col_dns.h"
#include "col_out.h"
#include "col_port.h"
#include "col_run.h"
#include "col_state.h"
#include "col_stats.h"

#define COL_BURST        64           /* mbufs per rx_burst */
#define COL_PREFETCH     4            /* packets ahead whose first data line is prefetched */
#define COL_PREFETCH_REC 8            /* records ahead whose line is prefetched for writing */
#define COL_SCRATCH      2048         /* header bytes copied out of a multi-segment mbuf */
#define COL_QUEUE_BYTES  (64u << 20)  /* batch memory: ~70 ms of records at 14.88 Mpps */
#define COL_PORT_POLL    100000000ull /* ns between port drop-counter reads */
#define COL_IDLE_SPINS   1000         /* empty polls before the loop starts sleeping */
#define COL_IDLE_NAP_MIN 10000        /* ns of the first sleep; each next one doubles */
#define COL_IDLE_NAP_MAX 100000       /* ns, cap: 1488 frames at 14.88 Mpps, < 4096 descriptors */

/* What the RX loop needs, gathered once. */
struct rx_ctx {
    const struct col_run_config *cfg; /* options */
    uint16_t port;                    /* DPDK port */
    struct col_port *dev;             /* its col_port (NULL: a file read directly) */
    uint32_t linktype;                /* link type of every frame */
    struct cmn_parse_opts popts;      /* parser options */
    struct col_queue *q;              /* batches to the sender */
    struct col_dns *dns;              /* DNS names to the sender (NULL in print mode) */
    struct col_stats *shared;         /* published counters */
    struct col_stats local;           /* RX-owned counters */
    int ts_off;                       /* timestamp dynfield, -1 none */
    uint64_t ts_flag;                 /* its valid flag */
    uint32_t ts_mult;                 /* its units to ns */
    uint64_t expected;                /* files: packets the port will deliver (0: live) */
    bool file;                        /* source is a capture file */
    uint64_t frames;                  /* capture files read directly: frames consumed */
    bool keep_state;                  /* a port with a state file: batches carry counters */
    volatile sig_atomic_t *stop;      /* signals */
};

/* A batch to fill: waits for the sender when lossless, else NULL (drop). */
static struct col_batch *s_batch(struct rx_ctx *x)
{
    for (;;) {
        struct col_batch *b = col_queue_get(x->q);
        if (b || !x->cfg->lossless || *x->stop)
            return b;
        usleep(50);
    }
}

static uint64_t s_cpu_ns(clockid_t clock)
{
    struct timespec ts;
    if (clock_gettime(clock, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void s_port_drops(struct rx_ctx *x)
{
    uint64_t missed, nombuf, errors;
    if (!x->dev)
        return;
    col_port_drops(x->dev, &missed, &nombuf, &errors);
    x->local.v[COL_STAT_DROP_RX_MISSED] = missed;
    x->local.v[COL_STAT_DROP_RX_NOMBUF] = nombuf;
    x->local.v[COL_STAT_DROP_RX_ERRORS] = errors;
}

/* Prefetch a line for writing. GCC emits prefetchw only with -mprfchw (DPDK's
 * flags say corei7), and a read prefetch leaves the store a second miss. */
static inline void s_prefetch_w(const void *p)
{
#if defined(__x86_64__)
    __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1, 3);
#endif
}

/* Hand a batch of a port to the sender; with a state file it carries the
 * counters (as of the last whole burst) a resumed run starts from. */
static inline void s_port_submit(struct rx_ctx *x, struct col_batch *b)
{
    if (unlikely(x->keep_state)) {
        b->frames_end = x->local.v[COL_STAT_PACKETS];
        memcpy(b->stats, x->local.v, sizeof(b->stats));
    }
    col_queue_submit(x->q, b);
}

/* Count a frame that made no record. */
static void s_count_drop(struct rx_ctx *x, enum cmn_parse_result r)
{
    uint64_t *v = x->local.v;
    if (r == CMN_PARSE_NON_IP) {
        v[COL_STAT_NON_IP]++;
    } else {
        v[COL_STAT_MALFORMED]++;
        v[col_stat_malformed(r)]++;
    }
}

/* Parse one burst into the current batch (taking a new one when it fills:
 * at most one attempt per fill, so a full queue costs one look per burst,
 * not one per packet). Counters live in registers for the burst and are
 * added to x->local at its end. */
static void s_burst(struct rx_ctx *x, struct rte_mbuf **m, uint16_t n, uint64_t now, uint64_t wall,
                    struct col_batch **curp, uint8_t *scratch)
{
    struct col_batch *cur = *curp;
    struct cmn_record spare; /* parse target when no batch is free (record dropped) */
    uint64_t bytes = 0, records = 0, ip_bytes = 0, trunc = 0, later = 0, tunneled = 0, full = 0;
    const int ts_off = x->ts_off;
    const uint64_t ts_flag = x->ts_flag, ts_mult = x->ts_mult;
    /* The current batch's fill and timestamp bounds in registers (the parser
     * is an external call: through `cur` they would be reloaded per packet). */
    uint32_t used = 0, cap = 0;
    uint64_t lo = UINT64_MAX, hi = 0;
    if (!cur)
        cur = s_batch(x);
    if (cur) {
        used = cur->n;
        cap = cur->cap;
        lo = used ? cur->first_ts : UINT64_MAX;
        hi = used ? cur->last_ts : 0;
    }
    for (uint16_t i = 0; i < COL_PREFETCH && i < n; i++)
        rte_prefetch0(rte_pktmbuf_mtod(m[i], void *));
    for (uint16_t i = 0; i < n; i++) {
        struct rte_mbuf *mb = m[i];
        if (i + COL_PREFETCH < n)
            rte_prefetch0(rte_pktmbuf_mtod(m[i + COL_PREFETCH], void *));
        /* The record line is written whole, but a store still fetches it:
         * ask for ownership a few records ahead. */
        if (used + COL_PREFETCH_REC < cap)
            s_prefetch_w(&cur->rec[used + COL_PREFETCH_REC]);
        const uint8_t *data = rte_pktmbuf_mtod(mb, const uint8_t *);
        uint32_t len = mb->data_len;
        if (unlikely(mb->nb_segs > 1)) {
            len = mb->pkt_len < COL_SCRATCH ? mb->pkt_len : COL_SCRATCH;
            data = rte_pktmbuf_read(mb, 0, len, scratch);
        }
        uint64_t ts = wall;
        if (ts_off >= 0 && (mb->ol_flags & ts_flag))
            ts = *RTE_MBUF_DYNFIELD(mb, ts_off, rte_mbuf_timestamp_t *) * ts_mult;
        bytes += mb->pkt_len;
        struct cmn_record *rec = likely(cur != NULL) ? &cur->rec[used] : &spare;
        enum cmn_parse_result r = likely(data != NULL)
                                      ? cmn_parse_packet(data, len, x->linktype, ts, &x->popts, rec)
                                      : CMN_PARSE_TRUNCATED_L2;
        if (unlikely(r != CMN_PARSE_OK)) {
            s_count_drop(x, r);
            continue;
        }
        /* DNS responses only: one compare chain per record on the fast path */
        if (unlikely(col_dns_wanted(rec->proto, rec->sport)))
            col_dns_extract(x->dns, data, len, x->linktype, &x->popts, rec, x->local.v);
        if (unlikely(!cur)) {
            full++;
            continue;
        }
        uint8_t fl = rec->flags;
        records++;
        ip_bytes += rec->ip_len;
        trunc += (fl & CMN_REC_TRUNCATED) != 0;
        later += (fl & CMN_REC_FRAG_LATER) != 0;
        tunneled += (fl & CMN_REC_TUNNELED) != 0;
        if (unlikely(used++ == 0))
            cur->opened_ns = now;
        lo = ts < lo ? ts : lo;
        hi = ts > hi ? ts : hi;
        if (unlikely(used == cap)) {
            cur->n = used;
            cur->first_ts = lo;
            cur->last_ts = hi;
            s_port_submit(x, cur);
            cur = s_batch(x);
            used = 0;
            cap = cur ? cur->cap : 0;
            lo = UINT64_MAX;
            hi = 0;
        }
    }
    if (cur) {
        cur->n = used;
        cur->first_ts = lo;
        cur->last_ts = hi;
    }
    uint64_t *v = x->local.v;
    v[COL_STAT_PACKETS] += n;
    v[COL_STAT_BYTES] += bytes;
    v[COL_STAT_RECORDS] += records;
    v[COL_STAT_IP_BYTES] += ip_bytes;
    v[COL_STAT_TRUNCATED] += trunc;
    v[COL_STAT_FRAGMENTS_LATER] += later;
    v[COL_STAT_TUNNELED] += tunneled;
    v[COL_STAT_DROP_QUEUE_FULL] += full;
    *curp = cur;
}

static void s_rx_loop(struct rx_ctx *x)
{
    struct rte_mbuf *m[COL_BURST];
    uint8_t scratch[COL_SCRATCH];
    struct col_batch *cur = NULL;
    uint64_t delay = (uint64_t)x->cfg->batch_delay_ms * 1000000ull;
    uint64_t idle = (uint64_t)(x->cfg->idle_timeout * 1e9);
    uint64_t now = cmn_mono_ns(), last_rx = now, next_poll = now, first_rx = 0;
    /* packets of this process (a resumed run's counters start where the
     * stopped one's were) */
    const uint64_t pk0 = x->local.v[COL_STAT_PACKETS];
    uint64_t max_pkts = x->cfg->max_packets ? pk0 + x->cfg->max_packets : UINT64_MAX;
    uint64_t max_ns = x->cfg->duration > 0 ? (uint64_t)(x->cfg->duration * 1e9) : UINT64_MAX;
    uint32_t empty = 0;          /* consecutive empty polls */
    long nap = COL_IDLE_NAP_MIN; /* next idle sleep, ns */
    /* Sleeps as asked, not 50 us of default timer slack on top. */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
    uint64_t cpu0 = s_cpu_ns(CLOCK_THREAD_CPUTIME_ID), pcpu0 = s_cpu_ns(CLOCK_PROCESS_CPUTIME_ID);

    while (!*x->stop) {
        uint16_t n = rte_eth_rx_burst(x->port, 0, m, COL_BURST);
        now = cmn_mono_ns();
        if (likely(n > 0)) {
            empty = 0;
            nap = COL_IDLE_NAP_MIN;
            if (!first_rx)
                first_rx = now;
            last_rx = now;
            /* Wall clock for frames without a PMD timestamp (all of them on
             * most PMDs; net_pcap's infinite_rx loop sets none). */
            s_burst(x, m, n, now, cmn_now_ns(), &cur, scratch);
            rte_pktmbuf_free_bulk(m, n);
            if (x->local.v[COL_STAT_PACKETS] >= max_pkts || now - first_rx >= max_ns)
                break;
        }
        if (cur && cur->n && now - cur->opened_ns >= delay) {
            s_port_submit(x, cur);
            cur = NULL;
        }
        if (now >= next_poll || n == 0) {
            if (now >= next_poll) {
                s_port_drops(x);
                next_poll = now + COL_PORT_POLL;
            }
            col_stats_publish(x->shared, &x->local);
        }
        if (n > 0)
            continue;
        if (x->file) {
            uint64_t *v = x->local.v;
            s_port_drops(x);
            uint64_t seen =
                v[COL_STAT_PACKETS] + v[COL_STAT_DROP_RX_ERRORS] + v[COL_STAT_DROP_RX_NOMBUF];
            if (seen >= x->expected)
                break;
            if (now - last_rx >= idle) {
                CMN_LOG(WARN,
                        "input idle for %.1f s after %" PRIu64 " of %" PRIu64
                        " packets; ending (the PMD read fewer packets than cmn_capfile)",
                        x->cfg->idle_timeout, seen, x->expected);
                break;
            }
        }
        /* Idle back-off: busy-polling an idle port burns a core that the
         * sender, ZeroMQ and the other renkei processes could use (and the
         * end-to-end figures count). Traffic resets it, so a loaded port
         * never sleeps; sleeps grow from 10 to 100 us, which the port's
         * descriptor ring (col_port.c) covers even at line rate. */
        if (++empty > COL_IDLE_SPINS) {
            struct timespec ts = {0, nap};
            nanosleep(&ts, NULL);
            nap = nap * 2 > COL_IDLE_NAP_MAX ? COL_IDLE_NAP_MAX : nap * 2;
        }
    }
    if (cur && cur->n)
        s_port_submit(x, cur);
    else if (cur)
        col_queue_release(x->q, cur); /* empty: straight back to the free list */
    s_port_drops(x);
    col_stats_publish(x->shared, &x->local);
    x->frames = x->local.v[COL_STAT_PACKETS];
    if (x->cfg->max_packets || x->cfg->duration > 0) {
        /* CPU time beside the rate: on a shared host the rate says how much
         * CPU the loop got, ns per packet what it needs (the RX thread's
         * must stay under 67 ns for 14.88 Mpps on a core of its own). */
        const uint64_t *v = x->local.v;
        double secs = first_rx ? (double)(last_rx - first_rx) / 1e9 : 0;
        uint64_t np = v[COL_STAT_PACKETS] - pk0;
        double pk = np ? (double)np : 1.0;
        double rx_cpu = (double)(s_cpu_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0);
        double all_cpu = (double)(s_cpu_ns(CLOCK_PROCESS_CPUTIME_ID) - pcpu0);
        CMN_LOG(NOTICE,
                "rx rate: %" PRIu64 " packets in %.3f s: %.3f Mpps; drops rx_missed %" PRIu64
                " rx_nombuf %" PRIu64 " queue_full %" PRIu64
                "; cpu rx %.2f s (%.1f ns/packet), process %.2f s (%.1f ns/packet)",
                np, secs, secs > 0 ? (double)np / secs / 1e6 : 0.0, v[COL_STAT_DROP_RX_MISSED],
                v[COL_STAT_DROP_RX_NOMBUF], v[COL_STAT_DROP_QUEUE_FULL], rx_cpu / 1e9, rx_cpu / pk,
                all_cpu / 1e9, all_cpu / pk);
    }
}

/* Link types the parser does not read, as met in a capture (for the warning). */
struct s_unsupported {
    uint32_t lt[8]; /* link types */
    uint64_t n[8];  /* frames of each */
    uint32_t count; /* entries used */
};

static void s_note_unsupported(struct s_unsupported *u, uint32_t lt)
{
    for (uint32_t i = 0; i < u->count; i++)
        if (u->lt[i] == lt) {
            u->n[i]++;
            return;
        }
    if (u->count < 8) {
        u->lt[u->count] = lt;
        u->n[u->count++] = 1;
    }
}

/* Hand a batch of a capture file to the sender with the position and
 * counters a resumed run starts from. */
static void s_file_submit(struct rx_ctx *x, struct col_batch *b, uint64_t frames)
{
    b->frames_end = frames;
    memcpy(b->stats, x->local.v, sizeof(b->stats));
    col_queue_submit(x->q, b);
}

/* Read a capture file to its end (or *stop, or max_packets). Batches are
 * cut only when full and at the end, so the same frames always make the
 * same batches (a resumed run sends what the killed one would have). */
static void s_file_loop(struct rx_ctx *x, struct cmn_capfile *cf)
{
    uint64_t *v = x->local.v;
    uint64_t frames = x->frames, max_pkts = x->cfg->max_packets ? x->cfg->max_packets : UINT64_MAX;
    uint64_t next_pub = cmn_mono_ns() + COL_PORT_POLL;
    struct s_unsupported unsup = {.count = 0};
    struct col_batch *cur = NULL;
    struct cmn_record spare; /* parse target when no batch is free (record dropped) */
    struct cmn_cap_pkt pk;
    int r = 0;
    if (x->cfg->max_packets) /* of this process */
        max_pkts = v[COL_STAT_PACKETS] + x->cfg->max_packets;
    while (!*x->stop && v[COL_STAT_PACKETS] < max_pkts) {
        /* a batch before the frame: a stop while waiting for one must not
         * consume a frame no batch holds (the state would skip it) */
        if (!cur && !(cur = s_batch(x)) && *x->stop)
            break;
        if ((r = cmn_capfile_next(cf, &pk)) != 1)
            break;
        frames++;
        struct cmn_record *rec = cur ? &cur->rec[cur->n] : &spare;
        v[COL_STAT_PACKETS]++;
        v[COL_STAT_BYTES] += pk.caplen;
        enum cmn_parse_result pr =
            cmn_parse_packet(pk.data, pk.caplen, pk.linktype, pk.ts_ns, &x->popts, rec);
        if (unlikely(pr != CMN_PARSE_OK)) {
            s_count_drop(x, pr);
            if (pr == CMN_PARSE_UNSUPPORTED_LINKTYPE)
                s_note_unsupported(&unsup, pk.linktype);
        } else {
            if (unlikely(col_dns_wanted(rec->proto, rec->sport)))
                col_dns_extract(x->dns, pk.data, pk.caplen, pk.linktype, &x->popts, rec, v);
            if (unlikely(!cur)) {
                v[COL_STAT_DROP_QUEUE_FULL]++;
            } else {
                uint8_t fl = rec->flags;
                v[COL_STAT_RECORDS]++;
                v[COL_STAT_IP_BYTES] += rec->ip_len;
                v[COL_STAT_TRUNCATED] += (fl & CMN_REC_TRUNCATED) != 0;
                v[COL_STAT_FRAGMENTS_LATER] += (fl & CMN_REC_FRAG_LATER) != 0;
                v[COL_STAT_TUNNELED] += (fl & CMN_REC_TUNNELED) != 0;
                if (cur->n == 0 || pk.ts_ns < cur->first_ts)
                    cur->first_ts = pk.ts_ns;
                if (cur->n == 0 || pk.ts_ns > cur->last_ts)
                    cur->last_ts = pk.ts_ns;
                if (++cur->n == cur->cap) {
                    s_file_submit(x, cur, frames);
                    cur = NULL;
                }
            }
        }
        if (unlikely((frames & 4095) == 0)) {
            uint64_t now = cmn_mono_ns();
            if (now >= next_pub) {
                col_stats_publish(x->shared, &x->local);
                next_pub = now + COL_PORT_POLL;
            }
        }
    }
    if (r < 0)
        CMN_LOG(WARN, "%s; the %" PRIu64 " packets before it are used", cmn_capfile_error(cf),
                frames);
    if (cur && cur->n)
        s_file_submit(x, cur, frames);
    else if (cur)
        col_queue_release(x->q, cur);
    for (uint32_t i = 0; i < unsup.count; i++) {
        char nb[24];
        CMN_LOG(WARN,
                "%s: link type %" PRIu32 " (%s) is not parsed; its %" PRIu64
                " packets are skipped and count as malformed_unsupported_linktype",
                x->cfg->pcap, unsup.lt[i], cmn_capfile_linktype_name(unsup.lt[i], nb, sizeof(nb)),
                unsup.n[i]);
    }
    x->frames = frames;
    col_stats_publish(x->shared, &x->local);
    CMN_LOG(INFO, "%s: %s, %" PRIu64 " frames read%s", x->cfg->pcap,
            cmn_capfile_format(cf) == CMN_CAP_PCAPNG ? "pcapng" : "pcap", frames,
            *x->stop ? " (stopped by a signal)" : "");
}

/* A mapped capture file that shrank under us: say so instead of dying
 * silently of SIGBUS. */
static void s_on_sigbus(int sig)
{
    static const char msg[] = "renkei-collector: SIGBUS reading the capture file: it was "
                              "truncated or changed while being read\n";
    (void)sig;
    ssize_t w = write(2, msg, sizeof(msg) - 1);
    (void)w;
    _exit(CMN_EXIT_ERROR);
}

/* Open a capture file for the collector's own reader, and its state file:
 * skip the frames a killed run had consumed and take its counters back.
 * Returns CMN_EXIT_*. */
static int s_open_file(struct rx_ctx *x, struct cmn_capfile **cf, struct col_state **st,
                       struct col_state_rec *rec, bool *resumed)
{
    const struct col_run_config *c = x->cfg;
    char err[768];
    *cf = cmn_capfile_open(c->pcap, err, sizeof(err));
    if (!*cf) {
        CMN_LOG(ERR, "%s", err);
        return CMN_EXIT_USAGE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = s_on_sigbus;
    sigaction(SIGBUS, &sa, NULL);
    memset(rec, 0, sizeof(*rec));
    *resumed = false;
    if (!c->state)
        return CMN_EXIT_OK;
    *st = col_state_open(c->state, c->id, c->pcap, rec, err, sizeof(err));
    if (!*st) {
        CMN_LOG(ERR, "%s", err);
        return CMN_EXIT_USAGE;
    }
    *resumed = rec->frames > 0 || rec->seq > 0;
    if (!*resumed)
        return CMN_EXIT_OK;
    struct cmn_cap_pkt pk;
    for (uint64_t i = 0; i < rec->frames; i++) {
        if (cmn_capfile_next(*cf, &pk) != 1) {
            CMN_LOG(ERR,
                    "state file %s: %s was read to frame %" PRIu64 ", but it has only %" PRIu64
                    " readable frames; delete the state file to start over",
                    c->state, c->pcap, rec->frames, i);
            return CMN_EXIT_USAGE;
        }
    }
    x->frames = rec->frames;
    memcpy(x->local.v, rec->stats, sizeof(x->local.v));
    memcpy(x->shared->v, rec->stats, sizeof(x->shared->v));
    CMN_LOG(NOTICE, "%s: resuming after frame %" PRIu64 " (state file %s%s)", c->pcap, rec->frames,
            c->state, rec->done ? ": the run was complete, its end of stream is sent again" : "");
    return CMN_EXIT_OK;
}

/* Files through net_pcap: scan, choose link type, convert mixed pcapng. Returns CMN_EXIT_*. */
static int s_prepare_file(const struct col_run_config *c, char *tmp, size_t tmplen,
                          uint32_t *linktype, uint64_t *expected)
{
    struct cmn_capfile_info info;
    char err[512];
    if (cmn_capfile_scan(c->pcap, &info, err, sizeof(err)) != 0) {
        CMN_LOG(ERR, "%s", err);
        return CMN_EXIT_USAGE;
    }
    if (info.trailing_error[0])
        CMN_LOG(WARN, "%s; the %" PRIu64 " packets before it are used", info.trailing_error,
                info.packets);
    /* A link type the parser does not read never stops the run: its frames
     * are read, counted (malformed_unsupported_linktype) and skipped, even
     * when the whole file is of that type. */
    for (uint32_t i = 0; i < info.n_linktypes; i++) {
        if (cmn_capfile_linktype_supported(info.linktypes[i]))
            continue;
        char nb[24];
        CMN_LOG(WARN,
                "%s: link type %" PRIu32 " (%s) is not parsed; its %" PRIu64
                " packets are skipped and count as malformed_unsupported_linktype",
                c->pcap, info.linktypes[i],
                cmn_capfile_linktype_name(info.linktypes[i], nb, sizeof(nb)),
                info.linktype_packets[i]);
    }
    *expected = info.packets;
    *linktype = info.n_linktypes ? info.linktypes[0] : CMN_LINK_EN10MB;
    if (info.mixed_linktypes) {
        /* libpcap (under net_pcap) refuses pcapng interfaces of different link
         * types, and could not tell us each packet's anyway. */
        uint64_t n = 0;
        if (col_convert_renkei(c->pcap, tmp, tmplen, &n, err, sizeof(err)) != 0) {
            CMN_LOG(ERR, "%s: %s", c->pcap, err);
            return CMN_EXIT_ERROR;
        }
        *linktype = CMN_LINK_RENKEI;
        *expected = n;
        CMN_LOG(NOTICE, "%s: mixed link types: converted to renkei's framing for net_pcap",
                c->pcap);
    }
    CMN_LOG(INFO, "%s: %s, %" PRIu64 " packets, link type %" PRIu32 "%s", c->pcap,
            info.format == CMN_CAP_PCAPNG ? "pcapng" : "pcap", info.packets, *linktype,
            info.mixed_linktypes ? " (converted from mixed link types)" : "");
    return CMN_EXIT_OK;
}

int col_run(const struct col_run_config *c, volatile sig_atomic_t *stop)
{
    int rc = CMN_EXIT_ERROR;
    char tmp[512] = "";
    struct col_port *port = NULL;
    struct col_queue *q = NULL;
    struct col_out *out = NULL;
    struct col_dns *dns = NULL;
    struct cmn_capfile *cf = NULL;
    struct col_state *st = NULL;
    struct col_state_rec srec;
    bool resumed = false;
    static struct col_stats shared; /* outlives the sender thread */
    struct rx_ctx x;
    memset(&x, 0, sizeof(x));
    memset(&shared, 0, sizeof(shared));
    x.cfg = c;
    x.stop = stop;
    x.shared = &shared;
    x.linktype = CMN_LINK_EN10MB;
    x.popts.keep_outer = c->keep_outer;
    x.file = c->source == COL_SRC_PCAP;
    bool direct = x.file && !c->pcap_dpdk; /* read by us, not by a DPDK port */
    memset(&srec, 0, sizeof(srec));

    if (direct) {
        rc = s_open_file(&x, &cf, &st, &srec, &resumed);
        if (rc != CMN_EXIT_OK)
            goto out;
        rc = CMN_EXIT_ERROR;
    } else if (x.file) {
        rc = s_prepare_file(c, tmp, sizeof(tmp), &x.linktype, &x.expected);
        if (rc != CMN_EXIT_OK)
            goto out;
        rc = CMN_EXIT_ERROR;
    } else if (c->state) {
        /* a port: its batch sequence and counters go on after a restart
         * (what it had captured and not yet handed over is gone) */
        char err[768];
        st = col_state_open(c->state, c->id, NULL, &srec, err, sizeof(err));
        if (!st) {
            CMN_LOG(ERR, "%s", err);
            rc = CMN_EXIT_USAGE;
            goto out;
        }
        resumed = srec.frames > 0 || srec.seq > 0;
        x.keep_state = true;
        if (resumed) {
            memcpy(x.local.v, srec.stats, sizeof(x.local.v));
            memcpy(shared.v, srec.stats, sizeof(shared.v));
            CMN_LOG(NOTICE,
                    "resuming the batch sequence after batch %" PRIu64 " (state file %s): what "
                    "the stopped collector had not handed over is lost and counted",
                    srec.seq, c->state);
        }
    }
    x.ts_off = -1;
    if (!direct) {
        struct col_port_config pc = {
            .prog = c->prog,
            .source = c->source,
            .pcap = tmp[0] ? tmp : c->pcap,
            .iface = c->iface,
            .eal = c->eal,
            .extra = c->extra_eal,
            .n_extra = c->n_extra_eal,
            .file_prefix = c->file_prefix,
        };
        port = col_port_new(&pc);
        if (!port)
            goto out;
        x.port = col_port_id(port);
        x.dev = port;
        col_port_ts_field(port, &x.ts_off, &x.ts_flag, &x.ts_mult);
    }

    uint32_t nb = COL_QUEUE_BYTES / (c->batch_records * (uint32_t)sizeof(struct cmn_record));
    nb = nb < 8 ? 8 : nb > 4096 ? 4096 : nb;
    q = col_queue_new(nb, c->batch_records);
    if (!q)
        goto out;
    x.q = q;
    if (!c->print) {
        dns = col_dns_new(COL_DNS_RING);
        if (!dns)
            goto out;
    }
    x.dns = dns;
    struct col_out_config oc = {
        .id = c->id,
        .name = c->name,
        .splitter = c->splitter,
        .merger = c->merger,
        .splitter_ack = c->splitter_ack,
        .keep_bytes = c->splitter_keep_bytes,
        .keep_dir = c->splitter_keep_dir,
        .keep_disk_bytes = c->splitter_keep_disk_bytes,
        .print = c->print,
        .stats_interval = c->stats_interval,
        .signals = stop,
        .wall_ts = !x.file && x.ts_off < 0,
        .batch_delay_ns = (uint64_t)c->batch_delay_ms * 1000000ull,
        .state = st,
        .resume = &srec,
        .resumed = resumed,
        .small_queue = x.file,
        .metrics = c->metrics,
    };
    /* ZeroMQ starts its I/O thread with the first socket and the sender
     * thread is started here: both inherit the creating thread's CPUs, so
     * give it the helper CPUs meanwhile and keep RX's core to RX. */
    cpu_set_t helpers, rx_cpus;
    bool pin = port && col_port_helper_cpus(port, &helpers) &&
               pthread_getaffinity_np(pthread_self(), sizeof(rx_cpus), &rx_cpus) == 0 &&
               pthread_setaffinity_np(pthread_self(), sizeof(helpers), &helpers) == 0;
    out = col_out_new(&oc, q, dns, &shared);
    int started = out ? col_out_start(out) : -1;
    if (pin)
        pthread_setaffinity_np(pthread_self(), sizeof(rx_cpus), &rx_cpus);
    if (!out || started != 0)
        goto out;
    if (pin)
        CMN_LOG(INFO, "sender and ZeroMQ threads kept off the RX lcore's CPUs");
    CMN_LOG(NOTICE, "collector %" PRIu32 " (%s) running: %s%s", c->id, c->name,
            c->print ? "printing records" : "sending to ", c->print ? "" : c->splitter);
    if (direct)
        s_file_loop(&x, cf);
    else
        s_rx_loop(&x);
    /* Stopped by SIGTERM with a state file: no end of stream, the run is
     * resumed later (col_out.h); SIGINT ends the stream. */
    bool eos = !(st && *stop && c->pause && *c->pause);
    rc = col_out_finish(out, x.frames, eos) == 0 ? CMN_EXIT_OK : CMN_EXIT_ERROR;
out:
    col_out_destroy(&out);
    col_state_close(&st);
    cmn_capfile_close(&cf);
    col_dns_destroy(&dns);
    col_queue_destroy(&q);
    col_port_destroy(&port);
    if (tmp[0])
        unlink(tmp);
    return rc;
}
