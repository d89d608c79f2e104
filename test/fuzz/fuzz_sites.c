/* SPDX-License-Identifier: MIT
 * Fuzz target for common/cmn_sites: any bytes as a sites file
 * (cmn_sites_parse, what cmn_sites_load runs on the file's text), then every
 * accessor and lookups of addresses taken from the input. A site index
 * returned must be in range; nothing may crash or leak.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_log.h"
#include "cmn_sites.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        cmn_log_init("fuzz_sites", CMN_LOG_OFF);
        init = true;
    }
    if (size > 65536)
        return 0;
    struct cmn_sites *s = cmn_sites_new();
    int lines = cmn_sites_parse(s, (const char *)data, size, "fuzz.sites");
    size_t n = cmn_sites_count(s);
    if (lines < 0 && n != 0)
        abort(); /* nothing is added from a text with a bad line */
    volatile size_t sink = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = cmn_sites_name(s, i);
        sink += strlen(name) + strlen(cmn_sites_kind(s, i));
        if (cmn_sites_find(s, name) != (int)i)
            abort();
        for (size_t j = 0; j < cmn_sites_cidr_count(s, i); j++)
            sink += strlen(cmn_sites_cidr(s, i, j));
    }
    for (size_t i = 0; i + 16 <= size && i < 1024; i += 16) {
        int k = cmn_sites_lookup(s, data + i);
        if (k < -1 || k >= (int)n)
            abort();
    }
    (void)sink;
    cmn_sites_destroy(&s);
    return 0;
}
