/* SPDX-License-Identifier: MIT
 * Fuzz target for common/cmn_cli: an argv built from the input (arguments
 * separated by NUL bytes, at most 64) through cmn_cli_parse with a daemon's
 * option table, then the required-key check. --help and --version (which
 * print and exit by contract) are left out; --config may name any file, so
 * the regular-file rule of cmn_config_load is exercised too. Never a crash,
 * a leak or a read past an argument.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_cli.h"
#include "cmn_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARGS_MAX 64

static const struct cmn_cli_opt s_opts[] = {
    {"id", "N", "tracker index"},
    {"listen", "ENDPOINT", "endpoint to bind"},
    {"memcap_mb", "MB", "memory cap"},
    {"exit_on_eos", NULL, "exit after end of stream"},
    {"range", "RULE", "shard rule (repeatable)"},
    {NULL, NULL, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        cmn_log_init("fuzz_cli", CMN_LOG_OFF);
        if (!freopen("/dev/null", "w", stderr)) /* usage errors go to stderr */
            abort();
        init = true;
    }
    if (size < 1 || size > 4096)
        return 0;
    struct cmn_cli_spec spec = {.prog = "renkei-fuzz",
                                .kind = "tracker",
                                .summary = "fuzz",
                                .opts = s_opts,
                                .positional = (data[0] & 1) != 0};
    char *argv[ARGS_MAX + 2];
    int argc = 0;
    argv[argc++] = strdup("renkei-fuzz");
    for (size_t off = 1; off < size && argc <= ARGS_MAX;) {
        const uint8_t *p = data + off;
        const uint8_t *z = memchr(p, 0, size - off);
        size_t n = z ? (size_t)(z - p) : size - off;
        off += n + 1;
        char *a = malloc(n + 1); /* exactly sized: ASan sees any over-read */
        if (!a)
            abort();
        memcpy(a, p, n);
        a[n] = '\0';
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "--version") == 0) {
            free(a);
            continue;
        }
        argv[argc++] = a;
    }
    argv[argc] = NULL;
    struct cmn_config *cfg = NULL;
    const char *section = NULL;
    int first = 0;
    if (cmn_cli_parse(&spec, argc, argv, &cfg, &section, &first) == 0) {
        if (first < 0 || first > argc || !section)
            abort();
        (void)cmn_cli_require(&spec, cfg, section, "listen");
        cmn_config_destroy(&cfg);
    }
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    return 0;
}
