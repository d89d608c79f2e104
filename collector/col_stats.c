/* SPDX-License-Identifier: MIT
 * col_stats: counter names and snapshots. Names of the malformed_<reason>
 * counters come from cmn_parse_result_name, so a new parse result gets its
 * counter without touching this file.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "col_stats.h"

static const char *const s_names[COL_STAT_MALFORMED_BASE] = {
    [COL_STAT_PACKETS] = "packets",
    [COL_STAT_BYTES] = "bytes",
    [COL_STAT_RECORDS] = "records",
    [COL_STAT_IP_BYTES] = "ip_bytes",
    [COL_STAT_BATCHES] = "batches",
    [COL_STAT_RECORDS_SENT] = "records_sent",
    [COL_STAT_DROP_RX_MISSED] = "drop_rx_missed",
    [COL_STAT_DROP_RX_NOMBUF] = "drop_rx_nombuf",
    [COL_STAT_DROP_RX_ERRORS] = "drop_rx_errors",
    [COL_STAT_DROP_QUEUE_FULL] = "drop_queue_full",
    [COL_STAT_NON_IP] = "non_ip",
    [COL_STAT_MALFORMED] = "malformed",
    [COL_STAT_TRUNCATED] = "truncated",
    [COL_STAT_FRAGMENTS_LATER] = "fragments_later",
    [COL_STAT_TUNNELED] = "tunneled",
    [COL_STAT_DNS_RESPONSES] = "dns_responses",
    [COL_STAT_DNS_NAMES] = "dns_names",
    [COL_STAT_DNS_MALFORMED] = "dns_malformed",
    [COL_STAT_DNS_SKIPPED] = "dns_skipped",
    [COL_STAT_DNS_DROPPED] = "dns_dropped",
    [COL_STAT_DNS_SENT] = "dns_sent",
    [COL_STAT_RESENT] = "messages_resent",
    [COL_STAT_UNKEPT] = "records_unkept",
    [COL_STAT_SPILLED] = "messages_spilled",
};

/* "malformed_" + reason, built once (names must outlive every snapshot). */
static char s_malformed[CMN_PARSE_RESULT_COUNT][48];
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

static void s_build_names(void)
{
    for (int r = CMN_PARSE_NON_IP + 1; r < CMN_PARSE_RESULT_COUNT; r++)
        snprintf(s_malformed[r], sizeof(s_malformed[r]), "malformed_%s",
                 cmn_parse_result_name((enum cmn_parse_result)r));
}

const char *col_stats_name(enum col_stat s)
{
    if ((int)s < 0 || s >= COL_STAT_COUNT)
        return "unknown";
    if (s < COL_STAT_MALFORMED_BASE)
        return s_names[s];
    int r = (int)s - COL_STAT_MALFORMED_BASE + CMN_PARSE_NON_IP + 1;
    pthread_once(&s_once, s_build_names);
    return s_malformed[r];
}

void col_stats_publish(struct col_stats *shared, const struct col_stats *local)
{
    for (int i = 0; i < COL_STAT_COUNT; i++) {
        if (i == COL_STAT_BATCHES || i == COL_STAT_RECORDS_SENT || i == COL_STAT_DNS_SENT ||
            i == COL_STAT_RESENT || i == COL_STAT_UNKEPT || i == COL_STAT_SPILLED)
            continue;
        __atomic_store_n(&shared->v[i], local->v[i], __ATOMIC_RELAXED);
    }
}

uint64_t col_stats_get(const struct col_stats *s, enum col_stat i)
{
    return __atomic_load_n(&s->v[i], __ATOMIC_RELAXED);
}

void col_stats_set(struct col_stats *s, enum col_stat i, uint64_t v)
{
    __atomic_store_n(&s->v[i], v, __ATOMIC_RELAXED);
}

size_t col_stats_snapshot(const struct col_stats *s, struct cmn_counter *out)
{
    for (int i = 0; i < COL_STAT_COUNT; i++) {
        out[i].name = col_stats_name((enum col_stat)i);
        out[i].value = col_stats_get(s, (enum col_stat)i);
    }
    return COL_STAT_COUNT;
}

void col_stats_line(const struct col_stats *s, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < COL_STAT_COUNT && n < len; i++) {
        uint64_t v = col_stats_get(s, (enum col_stat)i);
        /* dns_* and malformed_<reason> only when non-zero: the line stays readable */
        if (i >= COL_STAT_DNS_RESPONSES && v == 0)
            continue;
        int w = snprintf(buf + n, len - n, "%s%s=%llu", n ? " " : "",
                         col_stats_name((enum col_stat)i), (unsigned long long)v);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}
