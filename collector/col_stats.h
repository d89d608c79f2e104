/* SPDX-License-Identifier: MIT
 * col_stats: the collector's counters. The RX thread is the only writer of
 * the RX counters and the sender thread of the output ones; both publish with
 * relaxed atomic stores once per burst, and anyone may read a snapshot. The
 * names are a contract (stats lines, Stats messages, the merger's node_stats).
 */
#ifndef COL_STATS_H
#define COL_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "cmn_parse.h"
#include "cmn_wire.h"

enum col_stat {
    COL_STAT_PACKETS = 0,     /* frames received from the port */
    COL_STAT_BYTES,           /* their captured bytes (mbuf pkt_len) */
    COL_STAT_RECORDS,         /* records made (handed to the send queue) */
    COL_STAT_IP_BYTES,        /* sum of ip_len over records */
    COL_STAT_BATCHES,         /* batches sent (or printed) */
    COL_STAT_RECORDS_SENT,    /* records in those batches */
    COL_STAT_DROP_RX_MISSED,  /* port: imissed (NIC ring full) */
    COL_STAT_DROP_RX_NOMBUF,  /* port: rx_nombuf */
    COL_STAT_DROP_RX_ERRORS,  /* port: ierrors (e.g. a frame net_pcap could not read) */
    COL_STAT_DROP_QUEUE_FULL, /* records dropped: send queue full and not lossless */
    COL_STAT_NON_IP,          /* frames without IP (ARP, LLDP, ...) */
    COL_STAT_MALFORMED,       /* all malformed/unsupported frames */
    COL_STAT_TRUNCATED,       /* records with CMN_REC_TRUNCATED */
    COL_STAT_FRAGMENTS_LATER, /* records with CMN_REC_FRAG_LATER */
    COL_STAT_TUNNELED,        /* records with CMN_REC_TUNNELED */
    COL_STAT_DNS_RESPONSES,   /* DNS responses read (col_dns) */
    COL_STAT_DNS_NAMES,       /* names taken from them into the ring */
    COL_STAT_DNS_MALFORMED,   /* DNS packets that did not parse (dropped) */
    COL_STAT_DNS_SKIPPED,     /* DNS packets without a whole message (fragments, TCP split) */
    COL_STAT_DNS_DROPPED,     /* names dropped: ring full */
    COL_STAT_DNS_SENT,        /* names sent in DnsNames messages (sender thread) */
    COL_STAT_RESENT,          /* messages sent again to a splitter that restarted (sender) */
    COL_STAT_UNKEPT,          /* records not kept for the splitter (memcap): a splitter crash
                                 then loses them (sender thread) */
    COL_STAT_SPILLED,         /* messages kept in splitter_keep_dir, past the memory (sender) */
    COL_STAT_MALFORMED_BASE,  /* malformed_<reason>, one per cmn_parse_result after NON_IP */
    COL_STAT_COUNT = COL_STAT_MALFORMED_BASE + CMN_PARSE_RESULT_COUNT - CMN_PARSE_NON_IP - 1,
};

struct col_stats {
    uint64_t v[COL_STAT_COUNT]; /* values; see enum col_stat */
};

/* Index of malformed_<reason> for a parse result other than OK and NON_IP. */
static inline enum col_stat col_stat_malformed(enum cmn_parse_result r)
{
    return (enum col_stat)(COL_STAT_MALFORMED_BASE + (int)r - CMN_PARSE_NON_IP - 1);
}

/* Counter name (static, borrowed). */
const char *col_stats_name(enum col_stat s);

/* Publish `local` into `shared` (relaxed atomic stores of the RX-owned
 * counters: all but BATCHES and RECORDS_SENT). */
void col_stats_publish(struct col_stats *shared, const struct col_stats *local);

/* Read one counter / all counters into `out` (COL_STAT_COUNT entries, names borrowed). */
uint64_t col_stats_get(const struct col_stats *s, enum col_stat i);
void col_stats_set(struct col_stats *s, enum col_stat i, uint64_t v);
size_t col_stats_snapshot(const struct col_stats *s, struct cmn_counter *out /* OUT */);

/* Format the one-line summary used by the periodic and final log lines. */
void col_stats_line(const struct col_stats *s, char *buf /* OUT */, size_t len);

#endif /* COL_STATS_H */
