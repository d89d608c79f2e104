/* SPDX-License-Identifier: MIT
 * Fuzz target for common/cmn_shard: the first byte picks the tracker count
 * (1-16); the rest is shard rules, one per line ("PREFIX TRACKER" or
 * "LO-HI TRACKER", as `range =` lines of the splitter's config), through
 * cmn_shard_map_new_rules; and the same bytes as a ShardMap message's ranges
 * through cmn_shard_map_decode. A map that builds must answer every lookup
 * with a tracker below the count, and its ranges must decode back to a map.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_log.h"
#include "cmn_shard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RULES_MAX 64

static void s_check(const struct cmn_shard_map *m, uint32_t trackers, const uint8_t *data,
                    size_t size)
{
    uint8_t ip[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1};
    if (cmn_shard_lookup(m, ip) >= trackers)
        abort();
    for (size_t i = 0; i + 16 <= size && i < 256; i += 16)
        if (cmn_shard_lookup(m, data + i) >= trackers)
            abort();
    memset(ip, 0xff, sizeof(ip));
    if (cmn_shard_lookup(m, ip) >= trackers || cmn_shard_trackers(m) != trackers)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        cmn_log_init("fuzz_shard", CMN_LOG_OFF);
        init = true;
    }
    if (size < 1 || size > 8192)
        return 0;
    uint32_t trackers = 1 + data[0] % 16;
    char *text = malloc(size);
    if (!text)
        abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    const char *rules[RULES_MAX];
    size_t n = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && n < RULES_MAX;
         l = strtok_r(NULL, "\n", &save))
        rules[n++] = l;
    char err[256];
    struct cmn_shard_map *m = cmn_shard_map_new_rules(trackers, rules, n, err, sizeof(err));
    if (m) {
        s_check(m, trackers, data, size);
        cmn_shard_map_destroy(&m);
    }
    free(text);
    m = cmn_shard_map_decode(trackers, data + 1, size - 1);
    if (m) {
        s_check(m, trackers, data, size);
        cmn_shard_map_destroy(&m);
    }
    return 0;
}
