/* SPDX-License-Identifier: MIT
 * trk_key: canonicalisation of session keys and the startup seed. The hash
 * itself is inline in trk_key.h (hot path); it does not resist a chosen-key
 * attacker who knows the seed, which is why the daemon draws the seed at
 * startup unless a fixed one is configured.
 */
#include <stdint.h>
#include <string.h>

#include "trk_key.h"

int trk_key_from_record(struct trk_key *k, const struct cmn_record *r)
{
    uint16_t sp = r->sport, dp = r->dport;
    if (!trk_proto_has_ports(r->proto) || trk_key_is_frag_row(r))
        sp = dp = 0; /* ICMP type/code, other protocols, no L4 header: IP pair only */
    int c = memcmp(r->src, r->dst, 16);
    int dir = (c < 0 || (c == 0 && sp <= dp)) ? CMN_DIR_AB : CMN_DIR_BA;
    if (dir == CMN_DIR_AB) {
        memcpy(k->a, r->src, 16);
        memcpy(k->b, r->dst, 16);
        k->a_port = sp;
        k->b_port = dp;
    } else {
        memcpy(k->a, r->dst, 16);
        memcpy(k->b, r->src, 16);
        k->a_port = dp;
        k->b_port = sp;
    }
    k->proto = r->proto;
    k->pad[0] = k->pad[1] = k->pad[2] = 0;
    return dir;
}

uint64_t trk_key_random_seed(void)
{
    return cmn_random_seed();
}
