/* SPDX-License-Identifier: MIT
 * col_dns: the DNS name ring between the RX and the sender thread. Head and
 * tail are free-running 32-bit counters on their own cache lines; the
 * producer publishes an entry with a release store of head, the consumer
 * frees it with a release store of tail. Extraction is off the fast path:
 * only records col_dns_wanted() selects reach it, and it re-parses the frame
 * with the layered parser to find the payload.
 */
#define CMN_LOG_TAG "col_dns"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_log.h"
#include "cmn_parse.h"
#include "col_dns.h"

struct col_dns {
    _Alignas(64) uint32_t head; /* next slot to write (producer) */
    _Alignas(64) uint32_t tail; /* next slot to read (consumer) */
    _Alignas(64) uint32_t mask; /* capacity - 1 */
    struct col_dns_entry *e;    /* capacity entries */
};

struct col_dns *col_dns_new(uint32_t capacity)
{
    if (capacity == 0 || capacity > (1u << 24)) {
        CMN_LOG(ERR, "dns ring: capacity %u out of range 1..16777216", capacity);
        return NULL;
    }
    uint32_t c = 2;
    while (c < capacity)
        c <<= 1;
    struct col_dns *d = aligned_alloc(64, sizeof(*d));
    if (!d)
        abort();
    memset(d, 0, sizeof(*d));
    d->mask = c - 1;
    d->e = calloc(c, sizeof(*d->e));
    if (!d->e)
        abort();
    return d;
}

void col_dns_destroy(struct col_dns **dp)
{
    if (!dp || !*dp)
        return;
    free((*dp)->e);
    free(*dp);
    *dp = NULL;
}

bool col_dns_push(struct col_dns *d, const struct col_dns_entry *e)
{
    uint32_t h = d->head, t = __atomic_load_n(&d->tail, __ATOMIC_ACQUIRE);
    if (h - t > d->mask)
        return false;
    d->e[h & d->mask] = *e;
    __atomic_store_n(&d->head, h + 1, __ATOMIC_RELEASE);
    return true;
}

size_t col_dns_pop(struct col_dns *d, struct col_dns_entry *out, size_t max)
{
    uint32_t t = d->tail, h = __atomic_load_n(&d->head, __ATOMIC_ACQUIRE);
    size_t n = 0;
    while (t != h && n < max)
        out[n++] = d->e[t++ & d->mask];
    __atomic_store_n(&d->tail, t, __ATOMIC_RELEASE);
    return n;
}

void col_dns_extract(struct col_dns *d, const uint8_t *frame, uint32_t caplen, uint32_t linktype,
                     const struct cmn_parse_opts *opts, const struct cmn_record *rec, uint64_t *v)
{
    /* later fragments and first fragments hold no whole message */
    if (rec->flags & (CMN_REC_FRAG_LATER | CMN_REC_FRAG_FIRST | CMN_REC_TRUNCATED)) {
        v[COL_STAT_DNS_SKIPPED]++;
        return;
    }
    struct cmn_record r2;
    const uint8_t *pay;
    uint32_t plen;
    if (cmn_parse_packet_payload(frame, caplen, linktype, rec->ts_ns, opts, &r2, &pay, &plen) !=
            CMN_PARSE_OK ||
        !pay) {
        if (rec->proto == 17)
            v[COL_STAT_DNS_MALFORMED]++; /* UDP without payload */
        return;                          /* TCP without payload: handshake, ACKs */
    }
    struct cmn_dns_name names[COL_DNS_PER_MSG];
    long n = rec->proto == 6 ? cmn_dns_parse_tcp(pay, plen, names, COL_DNS_PER_MSG)
                             : cmn_dns_parse(pay, plen, names, COL_DNS_PER_MSG);
    if (n == -EAGAIN) {
        v[COL_STAT_DNS_SKIPPED]++;
        return;
    }
    if (n == -ENODATA)
        return; /* a query from port 53 (resolver to resolver), or another opcode */
    if (n < 0) {
        v[COL_STAT_DNS_MALFORMED]++;
        return;
    }
    v[COL_STAT_DNS_RESPONSES]++;
    for (long i = 0; i < n; i++) {
        struct col_dns_entry e;
        e.ts_ns = rec->ts_ns;
        e.n = names[i];
        if (d && !col_dns_push(d, &e))
            v[COL_STAT_DNS_DROPPED]++;
        else
            v[COL_STAT_DNS_NAMES]++;
    }
}
