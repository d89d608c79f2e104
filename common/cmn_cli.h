/* SPDX-License-Identifier: MIT
 * cmn_cli: one command-line convention for every renkei daemon. Each config
 * key `batch_records` is also the option `--batch-records VALUE` (or
 * `--batch-records=VALUE`); boolean keys are plain flags. `--config FILE`
 * reads a config file, `--section NAME` picks its section (default: the
 * daemon's kind), options override the file, and unknown options or keys are
 * errors that name the option or the file:line. Exit codes shared by all
 * daemons: CMN_EXIT_*.
 */
#ifndef CMN_CLI_H
#define CMN_CLI_H

#include <stdbool.h>

#include "cmn_config.h"

enum {
    CMN_EXIT_OK = 0,      /* finished, everything accounted for */
    CMN_EXIT_ERROR = 1,   /* runtime failure (I/O, socket, database) */
    CMN_EXIT_USAGE = 2,   /* bad option, config or input file */
    CMN_EXIT_LOST = 3,    /* finished, but records were lost (merger, analyze) */
    CMN_EXIT_RESTART = 4, /* left the run to be started again (splitter SIGHUP): its
                             checkpoint stays; a supervisor's Restart=on-failure does it */
};

/* One option / config key. */
struct cmn_cli_opt {
    const char *key;  /* config key, e.g. "batch_records"; CLI form --batch-records */
    const char *arg;  /* value placeholder for --help ("N", "FILE"); NULL: boolean flag */
    const char *help; /* one line */
};

struct cmn_cli_spec {
    const char *prog;               /* "renkei-tracker" */
    const char *kind;               /* default config section, "tracker" */
    const char *summary;            /* one line shown by --help */
    const struct cmn_cli_opt *opts; /* array ended by an entry with key NULL */
    bool positional;                /* accepts arguments after the options (or after --) */
    const char *const *repeat;      /* NULL-terminated keys that form lists (given several
                                       times); every other key may be given once */
};

/* Parse argv. --help prints usage to stdout and exits 0; --version prints the
 * version and exits 0. On success returns 0 with *cfg (owned by the caller),
 * *section (the section to read, borrowed from argv or spec) and *first_pos
 * (index of the first positional argument, argc if none; arguments after a
 * bare `--` are always positional). On error prints "prog: what was wrong"
 * to stderr and returns -EINVAL (exit with CMN_EXIT_USAGE). */
int cmn_cli_parse(const struct cmn_cli_spec *spec, int argc, char **argv,
                  struct cmn_config **cfg /* OUT */, const char **section /* OUT */,
                  int *first_pos /* OUT */);

/* Print usage of `spec` to `f` (stdout for --help). */
void cmn_cli_usage(const struct cmn_cli_spec *spec, void *f /* FILE * */);

/* A required key: returns its value, or NULL after logging
 * "prog: missing required option --key (or 'key =' in [section])". */
const char *cmn_cli_require(const struct cmn_cli_spec *spec, const struct cmn_config *cfg,
                            const char *section, const char *key);

#endif /* CMN_CLI_H */
