/* SPDX-License-Identifier: MIT
 * trk_event: SYN floods and port scans against owned addresses, decided by
 * the tracker that owns the target from the target's complete evidence (it
 * sees every packet to and from it), so events do not depend on the number
 * of trackers. Fed at flush time with the same session deltas as the
 * endpoint evidence (trk_table_visit_dirty); legitimate traffic creates no
 * state here, only probe sessions do.
 *
 * A session is judged from its initiator's packets in the delta:
 *  - SYN probe: at least one pure SYN and nothing "real" (every packet a pure
 *    SYN or an RST): a spoofed flood source, a SYN scanner, a dead port;
 *  - stealth probe: packets with none of SYN, ACK, RST (FIN, Xmas, Null
 *    scans); no legitimate TCP stack opens a conversation that way.
 * Per target (ip, tcp, port): distinct sources, SYNs and packets of SYN
 * probes. Per (target ip, actor ip) and probe kind: distinct ports probed.
 *
 * Events (struct cmn_event_rec, cumulative, replaced by the merger):
 *  syn_flood     (target, port, actor 0): >= TRK_EVENT_FLOOD_SOURCES distinct
 *                sources and >= TRK_EVENT_FLOOD_SYNS probe SYNs;
 *  port_scan     (target, port 0, actor): >= TRK_EVENT_SCAN_PORTS ports SYN-probed;
 *  stealth_scan  (target, port 0, actor): >= TRK_EVENT_STEALTH_PORTS ports
 *                probed by FIN/Xmas/Null.
 * `packets` counts both directions of the probe sessions (answers included).
 *
 * A probe session is remembered (two 64-bit hashes of its key): later deltas
 * of it (retransmitted SYN+ACKs, late RSTs) add to the same rows, and if its
 * initiator later talks (a handshake split by an epoch flush) everything it
 * added is taken back, so events do not depend on the epoch length (only
 * first/last times may keep such a session's instants). A row reported and
 * later taken back under its threshold stays as last reported. Memory grows
 * with probe sessions, charged to the shared memcap; refused state is a
 * counted drop (the event then under-counts).
 *
 * Contract: single-threaded, owned by the tracker loop; the caller says which
 * sides of a session it owns.
 */
#ifndef TRK_EVENT_H
#define TRK_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmn_record.h"
#include "trk_mem.h"
#include "trk_table.h"

#define TRK_EVENT_FLOOD_SOURCES 32 /* distinct SYN-probe sources of one target port */
#define TRK_EVENT_FLOOD_SYNS    64 /* probe SYNs to one target port */
#define TRK_EVENT_SCAN_PORTS    16 /* ports of one target SYN-probed by one source */
#define TRK_EVENT_STEALTH_PORTS 3  /* ports of one target FIN/Xmas/Null-probed by one source */

struct trk_events;

struct trk_events_config {
    struct trk_mem *mem; /* memcap accountant, borrowed, shared with the other tables */
    uint64_t seed;       /* hash seed */
};

/* Visitor for events to report; `ev` is valid during the call only. */
typedef void (*trk_events_visit_fn)(void *ctx, const struct cmn_event_rec *ev);

/* New, empty detector. NULL (logged) when the first allocations are refused. */
struct trk_events *trk_events_new(const struct trk_events_config *cfg);

/* Free; accepts NULL and NULLs the caller's pointer. */
void trk_events_destroy(struct trk_events **t);

/* Fold one touched session (deltas since the last flush). Only TCP sessions
 * whose responder side is owned (own_a / own_b) are considered. Returns 0, or
 * -ENOSPC when some state was refused by the memcap (counted). */
int trk_events_fold(struct trk_events *t, const struct trk_sess_view *v, bool own_a, bool own_b);

/* Events that trk_events_flush will report (changed and over threshold). */
size_t trk_events_pending(const struct trk_events *t);

/* Call `fn` (may be NULL) for every pending event and clear the changed
 * marks. Returns the number reported. */
size_t trk_events_flush(struct trk_events *t, trk_events_visit_fn fn, void *ctx);

/* Rows held (candidates, reported or not); state refused for the memcap. */
size_t trk_events_count(const struct trk_events *t);
uint64_t trk_events_drops(const struct trk_events *t);

/* Forget everything (new stream). */
void trk_events_reset(struct trk_events *t);

struct cmn_ckpt;

/* Checkpoint (cmn_ckpt.h) of every row, counter slot, probe session and set,
 * right after a trk_events_flush; load into a new, empty detector made with
 * the same seed. 0, or -errno / -EPROTO (then to be discarded). */
void trk_events_save(const struct trk_events *t, struct cmn_ckpt *c);
int trk_events_load(struct trk_events *t, struct cmn_ckpt *c);

/* Probe sessions are known by two hashes of the session's key under the
 * probe seed (the hash seed until set): every tracker of a cluster needs the
 * same one for probes to move between them (the splitter's ShardMap carries
 * it). Set only while no probe is held: 0, or -EBUSY. */
int trk_events_set_probe_seed(struct trk_events *t, uint64_t seed);

/* Handover (trk_table.h), right after a flush: export writes the rows whose
 * target `moves`, their counter slots and probe sessions; import adds them
 * (-EXDEV when the probe seeds differ and this side holds probes; a row
 * here already is -EPROTO: a target has one owner); drop keeps only the
 * rows whose target `keep` accepts. 0, or -errno / -EPROTO. */
void trk_events_export(const struct trk_events *t, trk_ip_fn moves, void *arg, struct cmn_ckpt *c);
int trk_events_import(struct trk_events *t, struct cmn_ckpt *c);
int trk_events_drop(struct trk_events *t, trk_ip_fn keep, void *arg);

#endif /* TRK_EVENT_H */
