/* SPDX-License-Identifier: MIT
 * rep_export: writes the analysis database as the JSON export of
 * ../shared/EXPORT_SCHEMA.md (meta, hosts, services, edges, sites, events),
 * exactly: names, types and meanings are a contract other tools read.
 * Deterministic output (sorted) so two runs over the same traffic compare
 * byte for byte. Each host carries its "site" (or null); the top-level
 * "sites" array is written only when there are sites (a sites file given
 * here or loaded by the merger into the database's sites table). With a
 * filter (rep_select.h) the export holds only what concerns the selection.
 */
#ifndef REP_EXPORT_H
#define REP_EXPORT_H

#include <stdbool.h>
#include <stdio.h>

struct cmn_sites;
struct rep_filter;

/* How to export; a NULL pointer anywhere means the default. */
struct rep_export_opts {
    const struct cmn_sites *sites;   /* sites to place hosts in; NULL: the database's table */
    const struct rep_filter *filter; /* hosts to export (rep_select.h); NULL: everything */
    bool resolve;                    /* reverse DNS for hosts without a name (rep_names.h) */
};

/* Write the export of database `db_path` to `out`. Returns 0, or a negative
 * errno after logging why (missing or not-a-renkei database, I/O error). */
int rep_export_json(const char *db_path, FILE *out);

/* The same with options `o` (NULL: as rep_export_json). Also -EINVAL when
 * the filter does not apply (unknown site, bad CIDR, unknown host). */
int rep_export_json_opts(const char *db_path, const struct rep_export_opts *o, FILE *out);

#endif /* REP_EXPORT_H */
