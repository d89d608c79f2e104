/* SPDX-License-Identifier: MIT
 * cli_report: the `renkei export` and `renkei serve` subcommands, and the
 * pieces `renkei analyze` shares with them (write the JSON export to a file,
 * summarise a finished database). Reads the merger's database; the JSON and
 * HTTP work itself is the reporter's (reporter/rep_export.h, rep_http.h).
 */
#ifndef CLI_REPORT_H
#define CLI_REPORT_H

#include <stdint.h>
#include <stdio.h>

/* `renkei export --db DB --format json [--out FILE]`; argv[0] is "export".
 * Returns the process exit status (CMN_EXIT_*). */
int cli_export_main(int argc, char **argv);

/* `renkei serve --db DB [--listen ADDR]`; argv[0] is "serve". Blocks until
 * SIGINT/SIGTERM. Returns the process exit status. */
int cli_serve_main(int argc, char **argv);

/* Write the JSON export of `db` to `path` ("-": stdout) through a temporary
 * file renamed into place. Returns 0 or a negative errno after logging. */
int cli_report_export(const char *db, const char *path);

/* What a finished database holds, for analyze's summary. A field the
 * database cannot answer is UINT64_MAX. */
struct cli_db_summary {
    uint64_t hosts;        /* rows of hosts */
    uint64_t services;     /* rows of services */
    uint64_t edges;        /* rows of edges */
    uint64_t records;      /* records the splitter received (final stats) */
    uint64_t captured;     /* packets the collectors read (their final stats) */
    uint64_t skipped;      /* of those, of link types not parsed */
    uint64_t packets;      /* packets after dedup (meta) */
    uint64_t records_lost; /* meta.records_lost */
    uint64_t duplicates;   /* meta.duplicates_removed (redundant collectors' copies) */
    uint64_t unverifiable; /* the merger's pipes_unverifiable (counts never received) */
    uint64_t trk_memcap;   /* records and endpoint evidence the trackers' memcap refused */
    uint64_t mrg_memcap;   /* session deltas and endpoint rows the merger's memcap refused */
    char run_state[32];    /* meta.run_state */
    char where[512];       /* meta.records_lost_where */
};

/* Fill *out from `db` (read-only). Returns 0 or -EIO when it cannot be opened. */
int cli_report_summary(const char *db, struct cli_db_summary *out /* OUT */);

#endif /* CLI_REPORT_H */
