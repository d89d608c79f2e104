/* SPDX-License-Identifier: MIT
 * cmn_shard: the map from address ranges to tracker index. The splitter owns
 * the authoritative map and sends it to each tracker (ShardMap message); a
 * tracker uses it to know which endpoints it owns and must judge. Ranges are
 * inclusive [lo, hi] over the 16-byte (v4-mapped) address space, sorted,
 * non-overlapping and covering everything, so every address has one owner.
 */
#ifndef CMN_SHARD_H
#define CMN_SHARD_H

#include <stddef.h>
#include <stdint.h>

/* One range on the wire (ShardMap.ranges), 40 bytes. */
struct cmn_shard_range {
    uint8_t lo[16];   /* first address, inclusive */
    uint8_t hi[16];   /* last address, inclusive */
    uint32_t tracker; /* owner, 0-based tracker index */
    uint32_t pad;     /* zero */
};
_Static_assert(sizeof(struct cmn_shard_range) == 40, "cmn_shard_range layout");

struct cmn_shard_map;

/* Even split: IPv4 space into `trackers` equal ranges, and likewise the rest of
 * the IPv6 space. Returns NULL if trackers is 0 or > 4096. */
struct cmn_shard_map *cmn_shard_map_new_even(uint32_t trackers);

/* From explicit rules "PREFIX-or-LO-HI tracker_index" (e.g. "10.0.0.0/8 1",
 * "10.0.0.0-10.127.255.255 0"); addresses no rule covers follow the even split.
 * Later rules win over earlier ones where they overlap. On error returns NULL
 * and writes the reason naming the bad rule into err. */
struct cmn_shard_map *cmn_shard_map_new_rules(uint32_t trackers, const char *const *rules,
                                              size_t nrules, char *err /* OUT */, size_t errlen);

/* As cmn_shard_map_new_rules with retired indexes: `vacant[t]` nonzero (an
 * array of `trackers`, or NULL) marks tracker t as retired ("tracker = none":
 * removed, the others keep their indexes). The even split goes to the
 * others in index order; a rule naming a retired tracker is an error. */
struct cmn_shard_map *cmn_shard_map_new_vacant(uint32_t trackers, const uint8_t *vacant,
                                               const char *const *rules, size_t nrules,
                                               char *err /* OUT */, size_t errlen);

/* From a ShardMap message's ranges bytes. NULL if malformed (length, order, gaps). */
struct cmn_shard_map *cmn_shard_map_decode(uint32_t trackers, const void *bytes, size_t len);

void cmn_shard_map_destroy(struct cmn_shard_map **map);

/* Owner of `ip` (binary search, O(log ranges)). */
uint32_t cmn_shard_lookup(const struct cmn_shard_map *map, const uint8_t ip[16]);

uint32_t cmn_shard_trackers(const struct cmn_shard_map *map);

/* The ranges, for encoding into ShardMap.ranges (borrowed). */
const struct cmn_shard_range *cmn_shard_ranges(const struct cmn_shard_map *map,
                                               size_t *n /* OUT */);

#endif /* CMN_SHARD_H */
