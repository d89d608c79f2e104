/* SPDX-License-Identifier: MIT
 * Fuzz target for common/cmn_config: any bytes as a config file
 * (cmn_config_parse, what cmn_config_load runs on the file's text), then the
 * typed getters and the key check every daemon runs on what parsed. Never a
 * crash, a leak or an unterminated value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_config.h"
#include "cmn_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        cmn_log_init("fuzz_config", CMN_LOG_OFF);
        init = true;
    }
    if (size > 65536)
        return 0;
    struct cmn_config *cfg = cmn_config_parse((const char *)data, size, "fuzz.conf");
    if (!cfg)
        return 0;
    static const char *const sections[] = {"",       "collector", "splitter", "tracker",
                                           "merger", "reporter",  NULL};
    static const char *const keys[] = {"listen",      "epoch_seconds",  "batch_records", "range",
                                       "exit_on_eos", "stats_interval", "memcap_mb",     NULL};
    volatile size_t sink = 0;
    for (const char *const *sec = sections; *sec; sec++) {
        for (const char *const *k = keys; *k; k++) {
            const char *v = cmn_config_get(cfg, *sec, *k);
            if (v)
                sink += strlen(v);
            size_t n = cmn_config_count(cfg, *sec, *k);
            for (size_t i = 0; i < n; i++)
                sink += strlen(cmn_config_get_nth(cfg, *sec, *k, i));
            uint64_t u;
            double d;
            bool b;
            char where[128];
            (void)cmn_config_u64(cfg, *sec, *k, 1, 1, 1u << 30, &u);
            (void)cmn_config_double(cfg, *sec, *k, 0.5, 0, 1e9, &d);
            (void)cmn_config_bool(cfg, *sec, *k, false, &b);
            sink += strlen(cmn_config_where(cfg, *sec, *k, where, sizeof(where)));
        }
        (void)cmn_config_check(cfg, *sec, keys, sections);
    }
    (void)sink;
    cmn_config_destroy(&cfg);
    return 0;
}
