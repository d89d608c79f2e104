/* SPDX-License-Identifier: MIT
 * col_dns: passive DNS in the collector. The RX thread hands the payload of
 * every DNS response (UDP or TCP from port 53, 5353 mDNS or 5355 LLMNR) to
 * col_dns_extract, which parses it (common/cmn_dns.h) and pushes the names
 * into a fixed single-producer/single-consumer ring; the sender thread pops
 * them and sends DnsNames messages beside the record batches. The ring is
 * allocated once (capacity entries, its memcap); a name that finds it full
 * is a counted drop (COL_STAT_DNS_DROPPED), never a wait: names are advisory,
 * records are not. Only the DNS counters below are touched, by RX.
 */
#ifndef COL_DNS_H
#define COL_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmn_dns.h"
#include "cmn_record.h"
#include "col_stats.h"

#define COL_DNS_RING     4096 /* entries (~1.1 MiB): some seconds of a busy resolver's answers */
#define COL_DNS_PER_MSG  64   /* names kept from one DNS message */
#define COL_DNS_SEND_MAX 512  /* names per DnsNames message */

/* One name with its capture time. */
struct col_dns_entry {
    uint64_t ts_ns;        /* capture time of the response */
    struct cmn_dns_name n; /* address, rtype, name */
};

struct col_dns;

/* A ring of `capacity` entries (rounded up to a power of two, >= 2). NULL
 * after logging (0). */
struct col_dns *col_dns_new(uint32_t capacity);

/* Free; accepts NULL and NULLs the pointer. */
void col_dns_destroy(struct col_dns **d);

/* Is a record of this (proto, source port) a DNS response to look at? Cheap:
 * the RX loop asks for every record. */
static inline bool col_dns_wanted(uint8_t proto, uint16_t sport)
{
    return (proto == 17 || proto == 6) && (sport == 53 || sport == 5353 || sport == 5355);
}

/* RX thread: `rec` is the parsed record of `frame`; re-parse for the L4
 * payload, read the DNS message(s) and push the names. Counts into v[]
 * (COL_STAT_DNS_*). d may be NULL (print mode: names are counted, not kept). */
void col_dns_extract(struct col_dns *d, const uint8_t *frame, uint32_t caplen, uint32_t linktype,
                     const struct cmn_parse_opts *opts, const struct cmn_record *rec,
                     uint64_t *v /* COL_STAT_COUNT counters */);

/* Sender thread: pop up to max entries into out. Returns how many. */
size_t col_dns_pop(struct col_dns *d, struct col_dns_entry *out /* OUT */, size_t max);

/* Push one entry (RX thread; tests). false when full. */
bool col_dns_push(struct col_dns *d, const struct col_dns_entry *e);

#endif /* COL_DNS_H */
