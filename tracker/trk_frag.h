/* SPDX-License-Identifier: MIT
 * trk_frag: gives later IP fragments the ports of their first fragment, so a
 * fragmented UDP (or TCP) datagram counts whole in its session and edge
 * instead of in a port-less row of the IP pair. A first fragment (offset 0,
 * more fragments) leaves (src, dst, proto, IP id) -> ports in a fixed,
 * direct-mapped table; a later fragment with the same key, within
 * TRK_FRAG_TIMEOUT_NS, takes those ports and loses CMN_REC_FRAG_LATER. A
 * later fragment whose first was not seen before it (lost, reordered, or
 * evicted by a colliding datagram) stays port-less, as before.
 *
 * Both trackers of a session see its records in the same order, so both
 * make the same choice and their session counters stay identical.
 *
 * Contract: single-threaded, owned by the tracker loop. Memory is fixed at
 * creation and charged to the memcap.
 */
#ifndef TRK_FRAG_H
#define TRK_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmn_record.h"
#include "trk_mem.h"

#define TRK_FRAG_SLOTS      8192           /* datagrams remembered (power of two) */
#define TRK_FRAG_TIMEOUT_NS 30000000000ull /* IP reassembly timeout (Linux: 30 s) */

struct trk_frag;

/* New table charging `mem` (borrowed). NULL (logged) when refused. */
struct trk_frag *trk_frag_new(struct trk_mem *mem, uint64_t seed);

/* Free; accepts NULL and NULLs the caller's pointer. */
void trk_frag_destroy(struct trk_frag **f);

/* True when some record of recs[0..n) is a fragment (first or later). */
bool trk_frag_any(const struct cmn_record *recs, size_t n);

/* Remember first fragments and give ports to later ones, in order, in place.
 * Returns the number of later fragments that got ports. */
size_t trk_frag_apply(struct trk_frag *f, struct cmn_record *recs, size_t n);

/* Forget everything (new stream). */
void trk_frag_reset(struct trk_frag *f);

struct cmn_ckpt;

/* Checkpoint (cmn_ckpt.h) of the table; load into one made with the same
 * seed. 0, or -errno / -EPROTO. */
void trk_frag_save(const struct trk_frag *f, struct cmn_ckpt *c);
int trk_frag_load(struct trk_frag *f, struct cmn_ckpt *c);

/* Handover (trk_table.h): export the first fragments with an end for which
 * `moves(arg, ip)` is true; import places them by this table's own hash (a
 * colliding newer one here stays, as in trk_frag_apply). 0 or -EPROTO. */
void trk_frag_export(const struct trk_frag *f, bool (*moves)(void *arg, const uint8_t ip[16]),
                     void *arg, struct cmn_ckpt *c);
int trk_frag_import(struct trk_frag *f, struct cmn_ckpt *c);

#endif /* TRK_FRAG_H */
