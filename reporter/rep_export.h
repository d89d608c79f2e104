/* SPDX-License-Identifier: MIT
 * rep_export: writes the analysis database as the JSON export of
 * ../shared/EXPORT_SCHEMA.md (meta, hosts, services, edges, events), exactly:
 * names, types and meanings are a contract other tools read. Deterministic
 * output (sorted) so two runs over the same traffic compare byte for byte.
 */
#ifndef REP_EXPORT_H
#define REP_EXPORT_H

#include <stdbool.h>
#include <stdio.h>

/* Write the export of database `db_path` to `out`. Returns 0, or a negative
 * errno after logging why (missing or not-a-renkei database, I/O error). */
int rep_export_json(const char *db_path, FILE *out);

/* As rep_export_json; `resolve` turns on reverse DNS for hosts without a
 * name (rep_names_resolve: bounded, off by default). */
int rep_export_json_opts(const char *db_path, FILE *out, bool resolve);

#endif /* REP_EXPORT_H */
