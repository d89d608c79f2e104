/* SPDX-License-Identifier: MIT
 * col_run: one collector run from start to end of stream. A capture file is
 * read by the collector itself (cmn_capfile, memory-mapped, each packet with
 * its own link type; no DPDK, no EAL), optionally resuming where a killed run
 * stopped (col_state.h). A port (live interface, NIC, any vdev) goes through
 * DPDK: the port and the sender thread start, then the RX loop runs on the
 * calling thread: bursts of 64 from the port, parse, append to the current
 * batch, submit full or aged batches; after 1000 empty polls in a row it
 * sleeps between polls until traffic returns (an idle port costs no core).
 * `pcap_dpdk` reads a capture file through DPDK's net_pcap vdev instead, as
 * before (the file is scanned first: link types, packet count; mixed link
 * types are converted, see col_convert.h): the differential test compares
 * both paths. Ends when a capture file has been read, on *stop, after
 * max_packets or duration (benchmarks: a looping vdev never ends; the run
 * then logs its packet rate, drops and CPU time), or (net_pcap only) after
 * an idle timeout with a warning.
 */
#ifndef COL_RUN_H
#define COL_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "col_port.h"

struct cmn_metrics;

struct col_run_config {
    const char *prog;                  /* argv[0] */
    uint32_t id;                       /* collector id */
    const char *name;                  /* label (default: capture file or interface) */
    const char *splitter;              /* splitter endpoint (required unless print) */
    const char *merger;                /* optional stats endpoint */
    const char *splitter_ack;          /* the splitter's ack_listen (col_out.h), or NULL */
    uint64_t splitter_keep_bytes;      /* with it: bytes kept in memory at most */
    const char *splitter_keep_dir;     /* and past them in a file here, or NULL: none */
    uint64_t splitter_keep_disk_bytes; /* that file's bytes at most */
    enum col_source source;            /* pcap / iface / eal */
    const char *pcap;                  /* capture file */
    const char *iface;                 /* interface */
    const char *eal;                   /* raw EAL arguments */
    char *const *extra_eal;            /* EAL arguments after `--` */
    int n_extra_eal;                   /* entries in extra_eal */
    const char *file_prefix;           /* EAL --file-prefix */
    uint32_t batch_records;            /* records per batch */
    uint32_t batch_delay_ms;           /* age at which a partial batch leaves */
    uint32_t stats_interval;           /* seconds between stats lines/messages */
    bool keep_outer;                   /* record outer headers of tunnels */
    bool lossless;                     /* wait instead of dropping when the queue is full */
    bool print;                        /* text lines on stdout instead of ZeroMQ */
    double idle_timeout;               /* files: seconds without packets before giving up */
    uint64_t max_packets;              /* stop after this many packets (0: no limit; benchmarks) */
    double duration;             /* stop this many seconds after the first packet (0: no limit) */
    bool pcap_dpdk;              /* read the capture file through net_pcap (not by the collector) */
    const char *state;           /* capture files: state file to resume from (NULL: none) */
    struct cmn_metrics *metrics; /* this collector's own /metrics (borrowed), or NULL */
    volatile sig_atomic_t *pause; /* set by SIGTERM: with a state file, a stop is a pause
                                     (no end of stream; started again, the run goes on);
                                     NULL or 0 (SIGINT): a stop ends the stream */
};

/* Run to the end. Returns a CMN_EXIT_* code: 0 done, 1 runtime failure,
 * 2 unreadable input (a link type the parser does not read is not an
 * error: its frames are counted and skipped). `stop` counts SIGINT/SIGTERM
 * (1: finish cleanly, 2: abandon blocked sends); cfg->pause says whether
 * the stop ends the stream. */
int col_run(const struct col_run_config *cfg, volatile sig_atomic_t *stop);

#endif /* COL_RUN_H */
