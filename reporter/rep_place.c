/* SPDX-License-Identifier: MIT
 * rep_place: what a site or a network offers to and needs from the other
 * places, over the in-memory map (rep_place.h). One walk over the place's
 * services' edges (offers) and one over its hosts' dependencies (needs,
 * deps); distinct counts use stamp arrays instead of sets, since the map
 * lists a service's edges together and a host's dependencies together.
 */
#include <stdlib.h>
#include <string.h>

#include "rep_place.h"

static void *s_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

static int s_offer_cmp(const void *a, const void *b)
{
    const struct rep_place_offer *x = a, *y = b;
    if (x->clients != y->clients)
        return x->clients > y->clients ? -1 : 1;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->svc < y->svc ? -1 : x->svc > y->svc;
}

static int s_need_cmp(const void *a, const void *b)
{
    const struct rep_place_need *x = a, *y = b;
    if (x->clients != y->clients)
        return x->clients > y->clients ? -1 : 1;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->svc < y->svc ? -1 : x->svc > y->svc;
}

static int s_dep_cmp(const void *a, const void *b)
{
    const struct rep_place_dep *x = a, *y = b;
    if (x->clients != y->clients)
        return x->clients > y->clients ? -1 : 1;
    if (x->services != y->services)
        return x->services > y->services ? -1 : 1;
    return x->group < y->group ? -1 : x->group > y->group;
}

/* Services inside with clients outside. */
static void s_offers(const struct rep_graph *g, const uint8_t *inside, const int32_t *group,
                     size_t ngroups, struct rep_place_sum *out)
{
    uint32_t *stamp = s_calloc(ngroups, sizeof(*stamp)); /* service + 1 that counted a place */
    size_t cap = 0;
    for (size_t h = 0; h < g->nhosts; h++) {
        if (!inside[h])
            continue;
        for (uint32_t s = g->hosts[h].svc_lo; s < g->hosts[h].svc_hi; s++) {
            struct rep_place_offer o = {.svc = s};
            for (uint32_t k = g->svcs[s].edge_lo; k < g->svcs[s].edge_hi; k++) {
                const struct rep_gedge *e = &g->edges[k];
                if (inside[e->client])
                    continue;
                o.clients++;
                o.bytes += e->bytes_c2s + e->bytes_s2c;
                int32_t gr = group[e->client];
                if (gr >= 0 && (size_t)gr < ngroups && stamp[gr] != s + 1) {
                    stamp[gr] = s + 1;
                    o.places++;
                }
            }
            if (o.clients == 0)
                continue;
            if (out->noffers == cap) {
                cap = cap ? cap * 2 : 64;
                out->offers = realloc(out->offers, cap * sizeof(*out->offers));
                if (!out->offers)
                    abort();
            }
            out->offers[out->noffers++] = o;
        }
    }
    free(stamp);
    if (out->noffers > 1)
        qsort(out->offers, out->noffers, sizeof(*out->offers), s_offer_cmp);
}

/* Services outside used from inside, and the same by the server's place. */
static void s_needs(const struct rep_graph *g, const uint8_t *inside, const int32_t *group,
                    size_t ngroups, struct rep_place_sum *out)
{
    int32_t *need_of = s_calloc(g->nsvcs, sizeof(*need_of));   /* need index + 1 per service */
    int32_t *dep_of = s_calloc(ngroups + 1, sizeof(*dep_of));  /* dep index + 1, [0]: no place */
    uint32_t *cstamp = s_calloc(ngroups + 1, sizeof(*cstamp)); /* client + 1 counted per dep */
    size_t ncap = 0, dcap = 0;
    for (size_t h = 0; h < g->nhosts; h++) {
        if (!inside[h])
            continue;
        for (uint32_t u = g->hosts[h].use_lo; u < g->hosts[h].use_hi; u++) {
            const struct rep_gedge *e = &g->edges[g->uses[u]];
            uint32_t srv = g->svcs[e->svc].host;
            if (inside[srv])
                continue;
            int32_t gr = group[srv];
            size_t gi = gr >= 0 && (size_t)gr < ngroups ? (size_t)gr + 1 : 0;
            if (dep_of[gi] == 0) {
                if (out->ndeps == dcap) {
                    dcap = dcap ? dcap * 2 : 16;
                    out->deps = realloc(out->deps, dcap * sizeof(*out->deps));
                    if (!out->deps)
                        abort();
                }
                out->deps[out->ndeps] = (struct rep_place_dep){.group = gi ? gr : -1};
                dep_of[gi] = (int32_t)++out->ndeps;
            }
            struct rep_place_dep *d = &out->deps[dep_of[gi] - 1];
            if (need_of[e->svc] == 0) {
                if (out->nneeds == ncap) {
                    ncap = ncap ? ncap * 2 : 64;
                    out->needs = realloc(out->needs, ncap * sizeof(*out->needs));
                    if (!out->needs)
                        abort();
                }
                out->needs[out->nneeds] = (struct rep_place_need){.svc = e->svc};
                need_of[e->svc] = (int32_t)++out->nneeds;
                d->services++;
            }
            struct rep_place_need *n = &out->needs[need_of[e->svc] - 1];
            int64_t b = e->bytes_c2s + e->bytes_s2c;
            n->clients++; /* one edge per (client, service) */
            n->bytes += b;
            if (cstamp[gi] != h + 1) {
                cstamp[gi] = (uint32_t)h + 1;
                d->clients++;
            }
            d->bytes += b;
        }
    }
    free(need_of);
    free(dep_of);
    free(cstamp);
    if (out->nneeds > 1)
        qsort(out->needs, out->nneeds, sizeof(*out->needs), s_need_cmp);
    if (out->ndeps > 1)
        qsort(out->deps, out->ndeps, sizeof(*out->deps), s_dep_cmp);
}

void rep_place_summarise(const struct rep_graph *g, const uint8_t *inside, const int32_t *group,
                         size_t ngroups, struct rep_place_sum *out)
{
    memset(out, 0, sizeof(*out));
    s_offers(g, inside, group, ngroups, out);
    s_needs(g, inside, group, ngroups, out);
}

void rep_place_sum_free(struct rep_place_sum *s)
{
    free(s->offers);
    free(s->needs);
    free(s->deps);
    memset(s, 0, sizeof(*s));
}

size_t rep_place_networks(const struct rep_graph *g, int32_t *group)
{
    size_t n = 0;
    for (size_t h = 0; h < g->nhosts; h++) {
        /* the network is the address's /24 or /64 (cmn_ip_network): sorted
         * addresses keep each network's hosts together */
        if (h == 0 || strcmp(g->hosts[h].network, g->hosts[h - 1].network) != 0)
            n++;
        group[h] = (int32_t)n - 1;
    }
    return n;
}
