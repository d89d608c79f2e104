/* SPDX-License-Identifier: MIT
 * test_trk_key: canonical keys in both directions, port-less rows, seeded hash.
 */
#include "harness.h"
#include "trk_key.h"
#include "trk_testutil.h"

TEST(both_directions_one_key)
{
    struct cmn_record ab = tu_rec(1, 1, 40000, 2, 80, 6, CMN_TCP_SYN, 60);
    struct cmn_record ba = tu_rec(2, 2, 80, 1, 40000, 6, CMN_TCP_SYN | CMN_TCP_ACK, 60);
    struct trk_key k1, k2;
    FAIL_IF_NOT(trk_key_from_record(&k1, &ab) == CMN_DIR_AB);
    FAIL_IF_NOT(trk_key_from_record(&k2, &ba) == CMN_DIR_BA);
    FAIL_IF_NOT(trk_key_eq(&k1, &k2));
    FAIL_IF_NOT(k1.a_port == 40000 && k1.b_port == 80 && k1.proto == 6);
    FAIL_IF_NOT(k1.a[15] == 1 && k1.b[15] == 2);
    FAIL_IF_NOT(trk_key_hash(&k1, 7) == trk_key_hash(&k2, 7));
    FAIL_IF(trk_key_hash(&k1, 7) == trk_key_hash(&k1, 8));
    PASS;
}

TEST(equal_addresses_lower_port_is_a)
{
    struct cmn_record r1 = tu_rec(1, 5, 123, 5, 5000, 17, 0, 76);
    struct cmn_record r2 = tu_rec(1, 5, 5000, 5, 123, 17, 0, 76);
    struct trk_key k1, k2;
    FAIL_IF_NOT(trk_key_from_record(&k1, &r1) == CMN_DIR_AB);
    FAIL_IF_NOT(trk_key_from_record(&k2, &r2) == CMN_DIR_BA);
    FAIL_IF_NOT(trk_key_eq(&k1, &k2) && k1.a_port == 123);
    PASS;
}

TEST(portless_rows)
{
    struct cmn_record icmp = tu_rec(1, 9, 0x0800, 3, 0, 1, 0, 84); /* echo request */
    struct trk_key k;
    FAIL_IF_NOT(trk_key_from_record(&k, &icmp) == CMN_DIR_BA);
    FAIL_IF_NOT(k.a_port == 0 && k.b_port == 0);
    FAIL_IF(trk_key_is_frag_row(&icmp));
    struct cmn_record frag = tu_rec(1, 1, 0, 2, 0, 17, 0, 1500);
    frag.flags = CMN_REC_FRAG_LATER;
    FAIL_IF_NOT(trk_key_is_frag_row(&frag));
    frag.sport = 999; /* garbage in a later fragment is ignored */
    FAIL_IF_NOT(trk_key_from_record(&k, &frag) == CMN_DIR_AB && k.a_port == 0 && k.b_port == 0);
    FAIL_IF_NOT(trk_proto_has_ports(132) && !trk_proto_has_ports(58));
    uint64_t s1 = trk_key_random_seed(), s2 = trk_key_random_seed();
    FAIL_IF(s1 == s2 && s1 == 0);
    PASS;
}

TEST_MAIN(TEST_ENTRY(both_directions_one_key) TEST_ENTRY(equal_addresses_lower_port_is_a)
              TEST_ENTRY(portless_rows))
