/* SPDX-License-Identifier: MIT
 * trk_key: the canonical session key of the tracker. Both directions of a
 * conversation map to one key: the lower 16-byte address is A (with its port),
 * ties on the address are broken by the lower port. Port-less traffic (ICMP,
 * other protocols, later fragments, truncated records) gets ports 0 on both
 * sides. The key is hashed once per record with a seed fixed at startup and
 * the hash is passed along to every table that needs it.
 *
 * Contract: pure functions, no state, callable from any thread.
 */
#ifndef TRK_KEY_H
#define TRK_KEY_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cmn_hash.h"
#include "cmn_record.h"

/* 40 bytes, five 64-bit words so hashing and comparing are word-wise. */
struct trk_key {
    uint8_t a[16];   /* lower address */
    uint8_t b[16];   /* higher (or equal) address */
    uint16_t a_port; /* A's port, 0 when port-less */
    uint16_t b_port; /* B's port, 0 when port-less */
    uint8_t proto;   /* IP protocol */
    uint8_t pad[3];  /* zero in every key built here (tables may reuse them internally) */
};
_Static_assert(sizeof(struct trk_key) == 40, "trk_key layout");

/* True for the protocols whose ports name a service: TCP, UDP, SCTP. */
static inline bool trk_proto_has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132;
}

/* Build the canonical key of record `r` into *k (fully written, pad zeroed).
 * Later fragments, and truncated records whose ports were not captured, of
 * TCP/UDP/SCTP get ports 0 (see trk_key_is_frag_row). Returns the direction of the record relative
 * to the key: CMN_DIR_AB when r->src is A (for equal addresses: when sport is A's port), else
 * CMN_DIR_BA. */
int trk_key_from_record(struct trk_key *k /* OUT */, const struct cmn_record *r);

/* True when record `r` of a ported protocol carries no ports (a later
 * fragment, or a capture cut before the 4 port bytes): its session row is
 * flagged CMN_SESS_FRAGS. A truncated record whose ports were captured keeps them. */
static inline bool trk_key_is_frag_row(const struct cmn_record *r)
{
    if (!trk_proto_has_ports(r->proto))
        return false;
    if (r->flags & CMN_REC_FRAG_LATER)
        return true;
    return (r->flags & CMN_REC_TRUNCATED) && r->sport == 0 && r->dport == 0;
}

/* Seeded 64-bit hash of a key (wyhash-style multiply-fold over its five
 * words; not meant to resist an attacker who knows the seed). Equal keys hash
 * equal for equal seeds; use a fixed seed for reproducible table layouts. */
static inline uint64_t trk_key_hash(const struct trk_key *k, uint64_t seed)
{
    uint64_t w[5];
    memcpy(w, k, sizeof(w));
    uint64_t h = cmn_hash_mix(w[0] ^ seed ^ CMN_HASH_K0, w[1] ^ CMN_HASH_K1);
    h = cmn_hash_mix(h ^ w[2] ^ CMN_HASH_K2, w[3] ^ CMN_HASH_K3);
    return cmn_hash_mix(h ^ w[4] ^ CMN_HASH_K4, seed ^ CMN_HASH_K1);
}

/* A random seed from the OS (getrandom), or a time-based one if that fails. */
uint64_t trk_key_random_seed(void);

/* Key equality (word-wise). */
static inline bool trk_key_eq(const struct trk_key *x, const struct trk_key *y)
{
    uint64_t wx[5], wy[5];
    memcpy(wx, x, sizeof(wx));
    memcpy(wy, y, sizeof(wy));
    return ((wx[0] ^ wy[0]) | (wx[1] ^ wy[1]) | (wx[2] ^ wy[2]) | (wx[3] ^ wy[3]) |
            (wx[4] ^ wy[4])) == 0;
}

#endif /* TRK_KEY_H */
