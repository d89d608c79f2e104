/* SPDX-License-Identifier: MIT
 * rep_select: marks the hosts the filters pick, then the services and
 * edges an export of them holds. Filters are applied one after another to
 * one mark array (intersection), so adding a filter is one more pass.
 */
#define CMN_LOG_TAG "rep_select"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "cmn_sites.h"
#include "rep_graph.h"
#include "rep_select.h"

bool rep_filter_empty(const struct rep_filter *f)
{
    return !f || (!f->site && !f->cidr && !f->around);
}

void rep_selection_fini(struct rep_selection *sel)
{
    if (!sel)
        return;
    free(sel->host);
    free(sel->svc);
    free(sel->edge);
    memset(sel, 0, sizeof(*sel));
}

/* Keep only hosts of site `name`. */
static int s_by_site(const struct rep_graph *g, const char *name, uint8_t *pick)
{
    int site = cmn_sites_find(g->sites, name);
    if (site < 0) {
        char known[1024] = "";
        size_t n = cmn_sites_count(g->sites), used = 0;
        for (size_t i = 0; i < n && used < sizeof(known); i++) {
            int w = snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "",
                             cmn_sites_name(g->sites, i));
            if (w < 0)
                break;
            used += (size_t)w;
        }
        if (n == 0)
            CMN_LOG(ERR,
                    "unknown site '%s': this database has no sites (load a sites file:"
                    " --sites FILE, or the merger's sites_file)",
                    name);
        else
            CMN_LOG(ERR, "unknown site '%s'; known sites: %s", name, known);
        return -EINVAL;
    }
    for (size_t i = 0; i < g->nhosts; i++)
        if (g->hosts[i].site != site)
            pick[i] = 0;
    return 0;
}

/* Keep only hosts inside `cidr`. */
static int s_by_cidr(const struct rep_graph *g, const char *cidr, uint8_t *pick)
{
    uint8_t lo[16], hi[16];
    if (cmn_prefix_parse(cidr, lo, hi) != 0) {
        CMN_LOG(ERR, "bad CIDR '%s' (expected a.b.c.d/n or x::/n)", cidr);
        return -EINVAL;
    }
    for (size_t i = 0; i < g->nhosts; i++)
        if (memcmp(g->hosts[i].key, lo, 16) < 0 || memcmp(g->hosts[i].key, hi, 16) > 0)
            pick[i] = 0;
    return 0;
}

/* Keep only hosts within `hops` of host `ip`. */
static int s_by_around(const struct rep_graph *g, const char *ip, int hops, uint8_t *pick)
{
    uint8_t key[16];
    if (cmn_ip_parse(ip, key) != 0) {
        CMN_LOG(ERR, "--around '%s' is not an IP address", ip);
        return -EINVAL;
    }
    long start = rep_graph_host_find(g, key);
    if (start < 0) {
        CMN_LOG(ERR, "--around %s: no such host in this database", ip);
        return -EINVAL;
    }
    uint8_t *near = calloc(g->nhosts + 1, 1);
    if (!near)
        abort();
    rep_graph_around(g, (uint32_t)start, hops == 0 ? 1 : hops, near);
    for (size_t i = 0; i < g->nhosts; i++)
        if (!near[i])
            pick[i] = 0;
    free(near);
    return 0;
}

int rep_select(const struct rep_graph *g, const struct rep_filter *f, struct rep_selection *sel)
{
    memset(sel, 0, sizeof(*sel));
    sel->host = malloc(g->nhosts + 1);
    sel->svc = calloc(g->nsvcs + 1, 1);
    sel->edge = calloc(g->nedges + 1, 1);
    if (!sel->host || !sel->svc || !sel->edge)
        abort();
    memset(sel->host, REP_SEL_IN, g->nhosts + 1);
    sel->filtered = !rep_filter_empty(f);
    int rc = 0;
    if (f && f->site)
        rc = s_by_site(g, f->site, sel->host);
    if (rc == 0 && f && f->cidr)
        rc = s_by_cidr(g, f->cidr, sel->host);
    if (rc == 0 && f && f->around)
        rc = s_by_around(g, f->around, f->hops, sel->host);
    if (rc != 0) {
        rep_selection_fini(sel);
        return rc;
    }
    /* edges with a picked end, and the services they reach */
    for (size_t e = 0; e < g->nedges; e++) {
        const struct rep_gedge *ed = &g->edges[e];
        uint32_t server = g->svcs[ed->svc].host;
        if (sel->host[ed->client] == REP_SEL_IN || sel->host[server] == REP_SEL_IN) {
            sel->edge[e] = 1;
            sel->svc[ed->svc] = 1;
        }
    }
    /* services of picked hosts (a service always has an edge; whole-run
     * tables may still hold one without, after a torn read) */
    for (size_t s = 0; s < g->nsvcs; s++)
        if (sel->host[g->svcs[s].host] == REP_SEL_IN)
            sel->svc[s] = 1;
    /* the other ends: outside the selection, kept so the graph is not cut */
    for (size_t e = 0; e < g->nedges; e++) {
        if (!sel->edge[e])
            continue;
        uint32_t c = g->edges[e].client, s = g->svcs[g->edges[e].svc].host;
        if (sel->host[c] == REP_SEL_NONE)
            sel->host[c] = REP_SEL_EDGE;
        if (sel->host[s] == REP_SEL_NONE)
            sel->host[s] = REP_SEL_EDGE;
        sel->nedges++;
    }
    for (size_t h = 0; h < g->nhosts; h++)
        sel->nhosts += sel->host[h] != REP_SEL_NONE;
    for (size_t s = 0; s < g->nsvcs; s++)
        sel->nsvcs += sel->svc[s];
    return 0;
}
