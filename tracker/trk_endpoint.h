/* SPDX-License-Identifier: MIT
 * trk_endpoint: the cumulative evidence of every owned endpoint (ip, proto,
 * port) -- TCP, UDP and SCTP with a non-zero port only -- and the paper's
 * per-IP tables: exact sets of distinct peer IPs, peer ports and (peer ip,
 * peer port) sessions. Evidence is folded in at flush time from the session
 * table's deltas (trk_table_visit_dirty), so the hot path touches only the
 * session row; the sets change only for sessions created since the last
 * flush. Endpoints live for the whole stream (results converge), under the
 * shared memcap: a refused endpoint or set entry is a counted drop.
 *
 * Contract: single-threaded, owned by the tracker loop. The caller decides
 * ownership (cmn_shard_lookup(map, ip) == tracker index) and says which sides
 * of a session it owns.
 */
#ifndef TRK_ENDPOINT_H
#define TRK_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmn_record.h"
#include "trk_mem.h"
#include "trk_table.h"

struct trk_endpoints;

struct trk_endpoints_config {
    struct trk_mem *mem; /* memcap accountant, borrowed, shared with the session table */
    uint64_t seed;       /* hash seed */
};

/* Visitor for changed endpoints; `ev` holds evidence, role and confidence. */
typedef void (*trk_endpoints_visit_fn)(void *ctx, const struct cmn_endpoint_rec *ev);

/* New, empty table. NULL (logged) when the first allocations are refused. */
struct trk_endpoints *trk_endpoints_new(const struct trk_endpoints_config *cfg);

/* Free; accepts NULL and NULLs the caller's pointer. */
void trk_endpoints_destroy(struct trk_endpoints **t);

/* True when a session row of protocol `proto` with flags `flags` names
 * service endpoints (TCP/UDP/SCTP, not a port-less fragment row). */
bool trk_endpoints_applies(uint8_t proto, uint8_t flags);

/* True when session `r` has a group side (cmn_ip_is_group: multicast, limited
 * broadcast, the directed broadcast of the other side's /24) or an
 * unspecified side (0.0.0.0, ::). Such sessions are not folded: they make no
 * endpoint evidence on either side. */
bool trk_endpoints_group_session(const struct cmn_session_rec *r);

/* Fold one touched session (deltas since the last flush) into the sides this
 * tracker owns: A when own_a, B when own_b; sides with port 0 are skipped,
 * and so are group sessions (trk_endpoints_group_session).
 * Returns 0, or -ENOSPC if some evidence was dropped for the memcap. */
int trk_endpoints_fold(struct trk_endpoints *t, const struct trk_sess_view *v, bool own_a,
                       bool own_b);

/* Endpoints changed since the last trk_endpoints_flush. */
size_t trk_endpoints_changed(const struct trk_endpoints *t);

/* Decide the role of every changed endpoint (trk_role_decide), call `fn`
 * (may be NULL) with its record, and clear the changed marks. Returns the
 * number visited. */
size_t trk_endpoints_flush(struct trk_endpoints *t, trk_endpoints_visit_fn fn, void *ctx);

/* Copy the current evidence of (ip, proto, port) with its role decided.
 * Returns false if unknown to the table. */
bool trk_endpoints_get(const struct trk_endpoints *t, const uint8_t ip[16], uint8_t proto,
                       uint16_t port, struct cmn_endpoint_rec *out /* OUT */);

/* Number of endpoints; evidence dropped for the memcap (folds refused). */
size_t trk_endpoints_count(const struct trk_endpoints *t);
uint64_t trk_endpoints_drops(const struct trk_endpoints *t);

/* Forget everything (new stream). */
void trk_endpoints_reset(struct trk_endpoints *t);

struct cmn_ckpt;

/* Checkpoint (cmn_ckpt.h) of every endpoint and set, right after a
 * trk_endpoints_flush; load into a new, empty table made with the same seed.
 * 0, or -errno / -EPROTO (the table is then to be discarded). */
void trk_endpoints_save(const struct trk_endpoints *t, struct cmn_ckpt *c);
int trk_endpoints_load(struct trk_endpoints *t, struct cmn_ckpt *c);

/* Handover (trk_table.h), right after a flush: export writes the endpoints
 * whose address `moves`, with their distinct sets; import adds them (an
 * endpoint has one owner: one already here is -EPROTO); drop keeps only the
 * endpoints whose address `keep` accepts (the index and sets rebuilt).
 * 0, or -errno / -EPROTO. */
void trk_endpoints_export(const struct trk_endpoints *t, trk_ip_fn moves, void *arg,
                          struct cmn_ckpt *c);
int trk_endpoints_import(struct trk_endpoints *t, struct cmn_ckpt *c);
int trk_endpoints_drop(struct trk_endpoints *t, trk_ip_fn keep, void *arg);

#endif /* TRK_ENDPOINT_H */
