/* SPDX-License-Identifier: MIT
 * Unit tests for common/cmn_shard: even split, explicit rules, wire round trip
 * and rejection of malformed ShardMap ranges.
 */
#include <string.h>

#include "cmn_ip.h"
#include "cmn_shard.h"
#include "harness.h"

static uint32_t s_owner(const struct cmn_shard_map *m, const char *ip)
{
    uint8_t a[16];
    cmn_ip_parse(ip, a);
    return cmn_shard_lookup(m, a);
}

TEST(shard_even)
{
    struct cmn_shard_map *m = cmn_shard_map_new_even(4);
    FAIL_IF(!m);
    FAIL_IF(s_owner(m, "0.0.0.1") != 0);
    FAIL_IF(s_owner(m, "63.255.255.255") != 0);
    FAIL_IF(s_owner(m, "64.0.0.0") != 1);
    FAIL_IF(s_owner(m, "128.0.0.0") != 2);
    FAIL_IF(s_owner(m, "255.255.255.255") != 3);
    FAIL_IF(s_owner(m, "2001:db8::1") != 0);
    FAIL_IF(s_owner(m, "fe80::1") != 3);
    FAIL_IF(cmn_shard_trackers(m) != 4);
    cmn_shard_map_destroy(&m);
    FAIL_IF(m != NULL);
    FAIL_IF(cmn_shard_map_new_even(0) != NULL);
    PASS;
}

TEST(shard_rules)
{
    const char *rules[] = {"10.0.0.0/8 1", "10.5.0.0-10.5.255.255 0", "2001:db8::/32 1"};
    char err[256] = "";
    struct cmn_shard_map *m = cmn_shard_map_new_rules(2, rules, 3, err, sizeof(err));
    FAIL_IF(!m);
    FAIL_IF(s_owner(m, "10.1.2.3") != 1);
    FAIL_IF(s_owner(m, "10.5.1.1") != 0);
    FAIL_IF(s_owner(m, "10.6.0.0") != 1);
    FAIL_IF(s_owner(m, "9.255.255.255") != 0); /* even split: lower half */
    FAIL_IF(s_owner(m, "200.0.0.1") != 1);     /* even split: upper half */
    FAIL_IF(s_owner(m, "2001:db8:ffff::1") != 1);
    cmn_shard_map_destroy(&m);
    const char *bad[] = {"10.0.0.0/8 7"};
    FAIL_IF(cmn_shard_map_new_rules(2, bad, 1, err, sizeof(err)) != NULL);
    FAIL_IF(strstr(err, "10.0.0.0/8 7") == NULL);
    const char *bad2[] = {"10.0.0.0/8"};
    FAIL_IF(cmn_shard_map_new_rules(2, bad2, 1, err, sizeof(err)) != NULL);
    PASS;
}

TEST(shard_wire_roundtrip)
{
    struct cmn_shard_map *m = cmn_shard_map_new_even(3);
    size_t n;
    const struct cmn_shard_range *r = cmn_shard_ranges(m, &n);
    FAIL_IF(n < 3);
    struct cmn_shard_map *d = cmn_shard_map_decode(3, r, n * sizeof(*r));
    FAIL_IF(!d);
    FAIL_IF(s_owner(d, "100.1.1.1") != s_owner(m, "100.1.1.1"));
    FAIL_IF(s_owner(d, "2a00::1") != s_owner(m, "2a00::1"));
    /* truncated, wrong tracker count, gap */
    FAIL_IF(cmn_shard_map_decode(3, r, n * sizeof(*r) - 1) != NULL);
    FAIL_IF(cmn_shard_map_decode(2, r, n * sizeof(*r)) != NULL);
    FAIL_IF(cmn_shard_map_decode(3, r + 1, (n - 1) * sizeof(*r)) != NULL);
    cmn_shard_map_destroy(&d);
    cmn_shard_map_destroy(&m);
    PASS;
}

/* A retired tracker (tracker = none) in the middle: the others keep their
 * indexes and share the even split; a rule naming it is refused. */
TEST(shard_vacant)
{
    const uint8_t vac[3] = {0, 1, 0};
    const char *rules[] = {"10.0.0.0/8 2"};
    char err[256] = "";
    struct cmn_shard_map *m = cmn_shard_map_new_vacant(3, vac, rules, 1, err, sizeof(err));
    FAIL_IF(!m);
    FAIL_IF(cmn_shard_trackers(m) != 3);
    FAIL_IF(s_owner(m, "1.2.3.4") != 0);
    FAIL_IF(s_owner(m, "10.1.1.1") != 2);
    FAIL_IF(s_owner(m, "200.0.0.1") != 2);
    size_t n;
    const struct cmn_shard_range *r = cmn_shard_ranges(m, &n);
    for (size_t i = 0; i < n; i++)
        FAIL_IF(r[i].tracker == 1);
    struct cmn_shard_map *d = cmn_shard_map_decode(3, r, n * sizeof(*r));
    FAIL_IF(!d || s_owner(d, "200.0.0.1") != 2);
    cmn_shard_map_destroy(&d);
    cmn_shard_map_destroy(&m);
    const char *bad[] = {"10.0.0.0/8 1"};
    FAIL_IF(cmn_shard_map_new_vacant(3, vac, bad, 1, err, sizeof(err)) != NULL);
    FAIL_IF(strstr(err, "retired") == NULL);
    const uint8_t all[2] = {1, 1};
    FAIL_IF(cmn_shard_map_new_vacant(2, all, NULL, 0, err, sizeof(err)) != NULL);
    PASS;
}

TEST_MAIN(TEST_ENTRY(shard_even) TEST_ENTRY(shard_rules) TEST_ENTRY(shard_wire_roundtrip)
              TEST_ENTRY(shard_vacant))
