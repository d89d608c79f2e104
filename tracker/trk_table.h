/* SPDX-License-Identifier: MIT
 * trk_table: the session table, the tracker's hot path. One row per canonical
 * key (trk_key.h) holds, per direction, packets, IP bytes and SYN, SYN+ACK,
 * ACK, FIN, RST counts since the last flush (epoch deltas), the first/last
 * packet time, and who opened the session. Rows come from a spare pool filled
 * in chunks (no malloc per packet); every allocation is charged to the shared
 * trk_mem first and a refusal drops the record, counted in drop_memcap.
 *
 * Sessions: a row whose last packet is more than session_timeout (capture
 * time) older than a new packet starts a new incarnation (a new session of the
 * same 5-tuple); rows idle that long and already reported are freed by
 * trk_table_expire in bounded steps. Both rules depend only on the session's
 * own packets, so results do not depend on batch sizes or epoch lengths.
 *
 * Contract: single-threaded, owned by the tracker loop. Times in ns.
 */
#ifndef TRK_TABLE_H
#define TRK_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmn_record.h"
#include "trk_key.h"
#include "trk_mem.h"

#define TRK_BURST_MAX 32 /* records keyed, hashed and prefetched ahead of their update */

struct trk_table;

struct trk_table_config {
    size_t spare_sessions;       /* rows preallocated at startup (0: one chunk) */
    uint64_t session_timeout_ns; /* idle time that ends a session; 0 = never */
    uint64_t seed;               /* hash seed (trk_key_random_seed() or fixed) */
    struct trk_mem *mem;         /* memcap accountant, borrowed, shared */
};

/* What a flush sees of one touched session. */
struct trk_sess_view {
    struct cmn_session_rec rec; /* key, CMN_SESS_* flags and deltas since the last flush */
    uint32_t starts[2];         /* openings seen since the last flush, by A [0] / B [1];
                                   TCP mid-stream incarnations count in neither */
    bool created;               /* the session (or a new incarnation) began since last flush */
};

/* Flush visitor; `v` is valid during the call only. */
typedef void (*trk_table_visit_fn)(void *ctx, const struct trk_sess_view *v);

struct trk_table_stats {
    uint64_t records;     /* records offered */
    uint64_t drop_memcap; /* records not tabled: memcap (or row limit) reached */
    uint64_t created;     /* rows created */
    uint64_t restarted;   /* new incarnations of an existing row (idle > timeout) */
    uint64_t freed;       /* rows freed by expiry */
    uint64_t live;        /* rows in use */
    uint64_t dirty;       /* rows touched since the last flush */
    uint64_t spills;      /* narrow counters moved to the wide spill area */
    uint64_t bytes;       /* memory held by the table (rows, index, side store, spill) */
};

/* New table. Returns NULL (logged) if the spare pool cannot be allocated
 * within the memcap. */
struct trk_table *trk_table_new(const struct trk_table_config *cfg);

/* Free; accepts NULL and NULLs the caller's pointer. */
void trk_table_destroy(struct trk_table **t);

/* Hash of `k` with this table's seed (compute once per record, pass along). */
uint64_t trk_table_hash(const struct trk_table *t, const struct trk_key *k);

/* Account record `r` whose canonical key `k`, hash `hash` and direction `dir`
 * (from trk_key_from_record) the caller computed. Returns 0, or -ENOSPC when
 * the row could not be created (counted in drop_memcap). */
int trk_table_update_with_hash(struct trk_table *t, const struct trk_key *k, uint64_t hash, int dir,
                               const struct cmn_record *r);

/* Account `n` records, in order, as n trk_table_update_with_hash calls would:
 * keys, hashes and prefetches index buckets and rows up to TRK_BURST_MAX
 * records ahead. Returns how many were tabled (n minus memcap drops). */
size_t trk_table_update_burst(struct trk_table *t, const struct cmn_record *recs, size_t n);

/* An ICMP refusal (port unreachable, prohibited) of the datagram session
 * `k` by the side that sends in direction `dir`, at capture time `ts_ns`:
 * counts in that direction's rst (cmn_session_rec.rst: the datagram RST) and
 * dirties the row, touching no packet counter. Only for an existing UDP or
 * SCTP row in its current incarnation (idle no longer than the timeout).
 * Returns 0, or -ENOENT when there is no such row. */
int trk_table_refuse(struct trk_table *t, const struct trk_key *k, uint64_t hash, int dir,
                     uint64_t ts_ns);

/* Current deltas of the row for `k` (tests, diagnostics). Returns false if absent. */
bool trk_table_lookup_with_hash(const struct trk_table *t, const struct trk_key *k, uint64_t hash,
                                struct trk_sess_view *out /* OUT */);

/* Call `fn` for every row touched since the last flush, without resetting.
 * Returns the number of rows visited. */
size_t trk_table_visit_dirty(const struct trk_table *t, trk_table_visit_fn fn, void *ctx);

/* Call `fn` (may be NULL) for every touched row, then reset its deltas and
 * mark it reported. Returns the number of rows visited. */
size_t trk_table_flush(struct trk_table *t, trk_table_visit_fn fn, void *ctx);

/* Free reported rows idle for more than session_timeout before the newest
 * record time seen, examining at most `max_visits` rows (resumes where the
 * previous call stopped). Returns rows freed. */
size_t trk_table_expire(struct trk_table *t, size_t max_visits);

/* Drop every row (new stream); keeps the spare pool. */
void trk_table_reset(struct trk_table *t);

/* Newest record timestamp seen (ns), 0 before any. */
uint64_t trk_table_now(const struct trk_table *t);

void trk_table_get_stats(const struct trk_table *t, struct trk_table_stats *out /* OUT */);

struct cmn_ckpt;

/* Checkpoint (cmn_ckpt.h) of every row, right after a trk_table_flush (no
 * deltas pending: rows hold key, flags, opener and times only), with the
 * counters and the newest time. Load into a new, empty table made with the
 * same seed: 0, or -errno / -EPROTO (the table is then to be discarded). */
void trk_table_save(const struct trk_table *t, struct cmn_ckpt *c);
int trk_table_load(struct trk_table *t, struct cmn_ckpt *c);

/* An address test of the handover of moved ranges (scale-out, trk_node.h). */
typedef bool (*trk_ip_fn)(void *arg, const uint8_t ip[16]);

/* Handover (at an epoch boundary; rows may carry deltas of the epoch that
 * began): export writes the rows with an end for which `moves` is true,
 * their deltas too; import adds them to a table that may hold rows already
 * (a row it has, from owning the other end, saw the same records and is
 * skipped); drop frees the rows with no end for which `keep` is true (their
 * deltas gone with them). Import: 0, or -errno / -EPROTO; drop: rows freed. */
void trk_table_export(const struct trk_table *t, trk_ip_fn moves, void *arg, struct cmn_ckpt *c);
int trk_table_import(struct trk_table *t, struct cmn_ckpt *c);
size_t trk_table_drop(struct trk_table *t, trk_ip_fn keep, void *arg);

#endif /* TRK_TABLE_H */
