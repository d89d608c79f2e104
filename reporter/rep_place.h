/* SPDX-License-Identifier: MIT
 * rep_place: the BCP planner's view of a place — a site or a network, any
 * set of hosts of a loaded map (rep_graph.h) — against the rest: the
 * services it offers to clients outside, the services outside it depends
 * on, and those dependencies by the other place. Computed from the map's
 * edges in memory (the site and network pages, docs/REPORT.md): at 20,000
 * hosts and 240,000 edges a data centre's network aggregates nearly every
 * edge, which took SQLite about a second; here it is the edges that touch
 * the place, once each.
 *
 * Places are numbered by the caller: `group[h]` is host h's place (its
 * network's or its site's number, -1 for none), `inside[h]` says whether h
 * is in the place shown. Rows are sorted as the pages show them, ties by
 * the map's order (addresses, then proto and port; places by number).
 */
#ifndef REP_PLACE_H
#define REP_PLACE_H

#include <stddef.h>
#include <stdint.h>

#include "rep_graph.h"

/* A service inside with clients outside. */
struct rep_place_offer {
    uint32_t svc;     /* index into g->svcs */
    uint32_t clients; /* outside clients */
    uint32_t places;  /* their distinct places (group >= 0) */
    int64_t bytes;    /* over those clients' edges, both ways */
};

/* A service outside used by clients inside. */
struct rep_place_need {
    uint32_t svc;     /* index into g->svcs */
    uint32_t clients; /* clients inside */
    int64_t bytes;    /* over their edges */
};

/* The services of one other place used from inside. */
struct rep_place_dep {
    int32_t group;     /* the other place's number, -1: hosts of no place */
    uint32_t services; /* its services used from inside */
    uint32_t clients;  /* distinct clients inside using them */
    int64_t bytes;     /* over those edges */
};

struct rep_place_sum {
    struct rep_place_offer *offers; /* by clients, then bytes, descending */
    size_t noffers;
    struct rep_place_need *needs; /* by clients, then bytes, descending */
    size_t nneeds;
    struct rep_place_dep *deps; /* by clients, then services, descending */
    size_t ndeps;
};

/* Summarise the place `inside` (nhosts flags) of g, whose hosts' places are
 * `group` (nhosts numbers below ngroups, or -1), into out (the caller's;
 * free with rep_place_sum_free). Cost: the edges of the place's services
 * and of its hosts' dependencies. Aborts on out of memory. */
void rep_place_summarise(const struct rep_graph *g, const uint8_t *inside, const int32_t *group,
                         size_t ngroups, struct rep_place_sum *out /* OUT */);

/* Free the arrays of s and zero it; accepts a zeroed sum. */
void rep_place_sum_free(struct rep_place_sum *s);

/* Number every host of g by its network (g->hosts[h].network) into
 * group (nhosts entries); returns how many networks there are. A network's
 * hosts are contiguous in the map's address order. */
size_t rep_place_networks(const struct rep_graph *g, int32_t *group /* OUT */);

#endif /* REP_PLACE_H */
