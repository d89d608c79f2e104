/* SPDX-License-Identifier: MIT
 * rep_select: which part of a loaded dependency map (rep_graph.h) an export
 * writes. Filters pick hosts (--site NAME, --cidr CIDR, --around IP --hops
 * N; combined they intersect); the export then holds the picked hosts, the
 * services they provide, every edge with at least one picked end, and, so
 * the graph is not cut, the other end of such an edge (host marked
 * REP_SEL_EDGE, "outside the selection") and the service the edge reaches.
 * No filter picks everything. Used by every export format (rep_export.h,
 * rep_formats.h) so they all agree on what a selection holds.
 */
#ifndef REP_SELECT_H
#define REP_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rep_graph;

/* What to pick; NULL / 0 fields do not filter. */
struct rep_filter {
    const char *site;   /* hosts of this site (a name of the graph's sites) */
    const char *cidr;   /* hosts inside this prefix ("10.3.0.0/16", "2001:db8::/48") */
    const char *around; /* hosts within `hops` edges of this host (text address) */
    int hops;           /* for `around`: 1 when 0; < 0 no limit */
};

enum rep_sel_mark {
    REP_SEL_NONE = 0, /* not exported */
    REP_SEL_IN = 1,   /* picked by the filters */
    REP_SEL_EDGE = 2, /* not picked, but the other end of an exported edge */
};

/* The selection: one mark per host, a flag per service and per edge. */
struct rep_selection {
    uint8_t *host;                /* nhosts marks (enum rep_sel_mark) */
    uint8_t *svc;                 /* nsvcs: 1 exported */
    uint8_t *edge;                /* nedges: 1 exported */
    size_t nhosts, nsvcs, nedges; /* exported counts (hosts of both marks) */
    bool filtered; /* a filter was given (graph formats then mark the outside hosts) */
};

/* True when `f` is NULL or filters nothing. */
bool rep_filter_empty(const struct rep_filter *f);

/* Fill `sel` (caller's struct; free with rep_selection_fini) for graph `g`
 * and filter `f` (NULL: everything). Returns 0, or -EINVAL after logging why:
 * an unknown site (the message lists the known ones), a bad CIDR, an
 * --around address that is not a host of the map. */
int rep_select(const struct rep_graph *g, const struct rep_filter *f,
               struct rep_selection *sel /* OUT */);

/* Free the arrays of `sel` (which may be zeroed or already finished). */
void rep_selection_fini(struct rep_selection *sel);

#endif /* REP_SELECT_H */
