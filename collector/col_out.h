/* SPDX-License-Identifier: MIT
 * col_out: the collector's sender thread, the only user of its ZeroMQ
 * sockets. Sends Hello, then every batch the RX thread submits as a
 * RecordBatch with seq 1, 2, ... to the splitter, periodic Stats to the
 * merger (optional), a stats log line every stats_interval seconds, and at
 * the end EndOfStream with the totals and final counters. Names from DNS
 * answers (col_dns) leave as DnsNames messages on the splitter socket after
 * each batch, when idle, and all of them before EndOfStream. In print mode it
 * writes one text line per record to stdout instead (debugging, tests).
 * With a state file (capture files, col_state.h) it saves the state just
 * before it hands each batch to ZeroMQ, and a resumed run goes on from the
 * saved seq, totals and counters (its Hello carries resume_seq).
 * With splitter_ack (docs/OPERATIONS.md "The splitter killed") every message
 * sent to the splitter is also kept (copied) until a SplitterAck says the
 * splitter's checkpoint holds it; when the splitter connects again (a new
 * process resumed from its checkpoint) Hello{resume_seq} and everything
 * kept go again, in order. What is kept lives in memory up to keep_bytes and
 * past them in a file in keep_dir (cmn_keepq.h, up to keep_disk_bytes; the
 * file is unlinked at once: a collector's own crash loses its memory
 * anyway); past both the oldest are dropped and their records counted in
 * records_unkept.
 */
#ifndef COL_OUT_H
#define COL_OUT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "col_batch.h"
#include "col_dns.h"
#include "col_state.h"
#include "col_stats.h"

struct cmn_metrics;

struct col_out_config {
    uint32_t id;                    /* collector id */
    const char *name;               /* label in Hello/Stats */
    const char *splitter;           /* PUSH endpoint; ignored when print */
    const char *merger;             /* optional Stats endpoint (NULL: none) */
    bool print;                     /* text lines on stdout instead of ZeroMQ */
    uint32_t stats_interval;        /* seconds; 0: no periodic stats */
    volatile sig_atomic_t *signals; /* signal count: >= 2 abandons blocked sends */
    bool wall_ts;                   /* records stamped with this host's wall clock (a live
                                       port without PMD timestamps): heartbeats promise
                                       a lower bound of what comes next */
    uint64_t batch_delay_ns;        /* the RX side's longest hold of a partial batch */
    struct col_state *state;        /* capture files: saved before each batch (borrowed), or NULL */
    const struct col_state_rec *resume; /* with state: where the saved run stood (borrowed) */
    bool resumed;                       /* resume holds a run that had started: Hello says so */
    bool small_queue;                   /* capture files: few batches queued in ZeroMQ (what a
                                           kill -9 loses; RX waits anyway) */
    struct cmn_metrics *metrics;        /* own /metrics: published with each stats line, or NULL */
    const char *splitter_ack;           /* the splitter's ack_listen (SplitterAck): keep what it
                                           sent after what the splitter's checkpoint holds, send
                                           it again when the splitter connects again, and at the
                                           end wait until the splitter's run ended; NULL: none */
    uint64_t keep_bytes;                /* memcap of what is kept; 0: COL_OUT_KEEP_DEFAULT */
    const char *keep_dir;               /* past it, spilled into a file here; NULL: none */
    uint64_t keep_disk_bytes; /* that file's bytes at most; 0: COL_OUT_KEEP_DISK_DEFAULT */
};

#define COL_OUT_KEEP_DEFAULT      (256ull << 20) /* bytes kept for a splitter that may restart */
#define COL_OUT_KEEP_DISK_DEFAULT (4ull << 30)   /* and spilled past them, with keep_dir */

struct col_out;

/* Open sockets and send Hello (blocking connect is asynchronous in ZeroMQ).
 * Borrows q, dns (may be NULL: no names) and stats, which must outlive the
 * object. NULL after logging. */
struct col_out *col_out_new(const struct col_out_config *cfg, struct col_queue *q,
                            struct col_dns *dns, struct col_stats *stats);

/* Start the sender thread. 0 or -errno. */
int col_out_start(struct col_out *o);

/* The RX side is done: drain the queue, join the thread, send EndOfStream
 * when `eos` (a run stopped by a signal with a state file sends none: it is
 * resumed later). With a state file, records `frames` consumed and, after
 * EndOfStream, that the run is done. Returns 0, or -EIO when batches could
 * not be delivered. */
int col_out_finish(struct col_out *o, uint64_t frames, bool eos);

/* Close sockets and free. Accepts NULL; NULLs *o. */
void col_out_destroy(struct col_out **o);

#endif /* COL_OUT_H */
