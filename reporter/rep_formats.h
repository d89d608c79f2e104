/* SPDX-License-Identifier: MIT
 * rep_formats: the dependency map (rep_graph.h) written for other tools, as
 * a selection (rep_select.h) of it:
 *   CSV      three files hosts.csv, services.csv, edges.csv in a directory,
 *            a header row, RFC 4180 quoting; columns named as the JSON
 *            contract's fields (../shared/EXPORT_SCHEMA.md), times RFC 3339.
 *   GraphML  plain GraphML (Gephi, yEd, networkx): a directed graph, nodes
 *            are hosts (id = IP), edges client -> server, one typed <key>
 *            per attribute.
 *   DOT      a Graphviz digraph: sites, then networks, as nested clusters;
 *            nodes labelled name + IP, edges proto/port (service name).
 * The writers only read the graph; output is deterministic (graph order).
 * docs/EXPORT.md describes each format for users.
 */
#ifndef REP_FORMATS_H
#define REP_FORMATS_H

#include <stdio.h>

#include "rep_export.h"

struct rep_graph;
struct rep_selection;

enum rep_format { REP_FORMAT_JSON, REP_FORMAT_CSV, REP_FORMAT_GRAPHML, REP_FORMAT_DOT };

/* "json", "csv", "graphml", "dot" to *out. Returns 0 or -EINVAL. */
int rep_format_parse(const char *name, enum rep_format *out /* OUT */);

/* Write hosts.csv, services.csv and edges.csv of selection `sel` into
 * directory `dir` (created, with its parents, if missing), each through a
 * temporary file renamed into place. Returns 0 or -errno after logging. */
int rep_csv_write(const struct rep_graph *g, const struct rep_selection *sel, const char *dir);

/* Write selection `sel` as GraphML / DOT to `out`. Returns 0 or -EIO. */
int rep_graphml_write(const struct rep_graph *g, const struct rep_selection *sel, FILE *out);
int rep_dot_write(const struct rep_graph *g, const struct rep_selection *sel, FILE *out);

/* Open database `db_path`, load its map with `o`'s sites, select `o`'s
 * filter and write format `fmt` (GRAPHML or DOT) to `out`, or (CSV) into
 * directory `dir`. Returns 0, or a negative errno after logging why. */
int rep_export_graph(const char *db_path, enum rep_format fmt, const struct rep_export_opts *o,
                     FILE *out, const char *dir);

#endif /* REP_FORMATS_H */
