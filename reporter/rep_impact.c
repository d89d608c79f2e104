/* SPDX-License-Identifier: MIT
 * rep_impact: failure propagation over the in-memory map. A frontier of
 * services that went down at hop h is expanded into their clients at hop
 * h + 1: a client with no alternative is impaired and all its services go
 * down at h + 1; a client with an alternative (another server of the same
 * proto/port that it used, or a member of a declared group) is degraded.
 * Degraded hosts are looked at again after every hop, since their
 * alternative may have gone down meanwhile. States never improve, so each
 * host is impaired at most once and the walk ends, cycles included.
 */
#define CMN_LOG_TAG "rep_impact"
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "cmn_sites.h"
#include "rep_impact.h"
#include "rep_json.h"

#define CHAIN_MAX 64 /* steps shown; a longer chain is cut at its root end */

/* (service, group) membership of the declared redundancy groups. */
struct member {
    uint32_t svc;   /* index into graph services */
    uint32_t group; /* group number */
};

/* A soft dependency: any server (ip_any) or one, on proto/port. */
struct soft {
    uint8_t ip[16];
    bool ip_any;
    uint8_t proto;
    uint16_t port;
};

struct ctx {
    const struct rep_graph *g;
    struct rep_impact *r;
    struct member *mem; /* sorted by svc */
    size_t nmem;
    struct member *bygrp; /* the same, sorted by group */
    struct soft *soft;
    size_t nsoft;
};

const char *rep_istate_name(enum rep_istate s)
{
    switch (s) {
        case REP_IS_DEGRADED:
            return "degraded";
        case REP_IS_IMPAIRED:
            return "impaired";
        case REP_IS_LOST:
            return "lost";
        case REP_IS_FAILED:
            return "failed";
        default:
            return "whole";
    }
}

static void s_err(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_err(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && len)
        vsnprintf(err, len, fmt, ap);
    va_end(ap);
}

/* "IP:proto/port" / "[v6]:proto/port" / "CIDR:proto/port" / "@site:proto/port":
 * split off the service part. Returns 0 with the left part in `left`. */
static int s_split_service(const char *t, char *left, size_t llen, uint8_t *proto, uint16_t *port)
{
    const char *colon = strrchr(t, ':');
    if (!colon)
        return -EINVAL;
    const char *slash = strchr(colon, '/');
    if (!slash || slash == colon + 1 || !slash[1])
        return -EINVAL;
    char pname[16];
    size_t pl = (size_t)(slash - colon - 1);
    if (pl >= sizeof(pname))
        return -EINVAL;
    memcpy(pname, colon + 1, pl);
    pname[pl] = '\0';
    if (!((pname[0] >= 'a' && pname[0] <= 'z') || (pname[0] >= '0' && pname[0] <= '9')))
        return -EINVAL;
    if (cmn_proto_parse(pname, proto) != 0)
        return -EINVAL;
    char *end;
    errno = 0;
    long v = strtol(slash + 1, &end, 10);
    if (errno || *end || v <= 0 || v > 65535)
        return -EINVAL;
    *port = (uint16_t)v;
    size_t n = (size_t)(colon - t);
    if (n >= 2 && t[0] == '[' && t[n - 1] == ']') { /* [2001:db8::1]:tcp/443 */
        t++;
        n -= 2;
    }
    if (n == 0 || n >= llen)
        return -EINVAL;
    memcpy(left, t, n);
    left[n] = '\0';
    return 0;
}

static bool s_in(const uint8_t ip[16], const uint8_t lo[16], const uint8_t hi[16])
{
    return memcmp(ip, lo, 16) >= 0 && memcmp(ip, hi, 16) <= 0;
}

/* Hosts a host selector names: an address, a CIDR, "@site" or a host name
 * (whole name, or its first label). Sets mark[h] = 1; returns the count or
 * -EINVAL with a reason. */
static long s_select_hosts(const struct rep_graph *g, const char *sel, uint8_t *mark,
                           const char **kind, char *err, size_t errlen)
{
    long n = 0;
    uint8_t lo[16], hi[16];
    if (sel[0] == '@') {
        int site = cmn_sites_find(g->sites, sel + 1);
        if (site < 0) {
            size_t ns = cmn_sites_count(g->sites);
            s_err(err, errlen, "unknown site '%s' (%s%s)", sel + 1,
                  ns ? "known: " : "no sites defined: give --sites FILE",
                  ns ? cmn_sites_name(g->sites, 0) : "");
            return -EINVAL;
        }
        *kind = "site";
        for (size_t h = 0; h < g->nhosts; h++)
            if (g->hosts[h].site == site) {
                n += !mark[h];
                mark[h] = 1;
            }
        return n;
    }
    if (strchr(sel, '/')) {
        if (cmn_prefix_parse(sel, lo, hi) != 0) {
            s_err(err, errlen, "bad CIDR '%s'", sel);
            return -EINVAL;
        }
        *kind = "cidr";
        for (size_t h = 0; h < g->nhosts; h++)
            if (s_in(g->hosts[h].key, lo, hi)) {
                n += !mark[h];
                mark[h] = 1;
            }
        return n;
    }
    if (cmn_ip_parse(sel, lo) == 0) {
        *kind = "host";
        long h = rep_graph_host_find(g, lo);
        if (h < 0) {
            s_err(err, errlen, "no host %s in the database", sel);
            return -EINVAL;
        }
        n = !mark[h];
        mark[h] = 1;
        return n;
    }
    *kind = "name";
    size_t sl = strlen(sel);
    for (size_t h = 0; h < g->nhosts; h++) {
        const char *nm = g->hosts[h].name;
        if (!nm)
            continue;
        if (strcasecmp(nm, sel) == 0 || (strncasecmp(nm, sel, sl) == 0 && nm[sl] == '.')) {
            n += !mark[h];
            mark[h] = 1;
        }
    }
    return n;
}

/* Services a service selector names ("SEL:proto/port"), added to out[]. */
static long s_select_services(const struct rep_graph *g, const char *sel, uint32_t **out,
                              size_t *nout, char *err, size_t errlen)
{
    char left[256];
    uint8_t proto;
    uint16_t port;
    if (s_split_service(sel, left, sizeof(left), &proto, &port) != 0) {
        s_err(err, errlen, "'%s' is not SEL:proto/port (SEL an IP, CIDR or @site)", sel);
        return -EINVAL;
    }
    uint8_t *mark = calloc(g->nhosts + 1, 1);
    const char *kind;
    if (!mark)
        abort();
    long n = s_select_hosts(g, left, mark, &kind, err, errlen), found = 0;
    for (size_t h = 0; n >= 0 && h < g->nhosts; h++) {
        if (!mark[h])
            continue;
        long v = rep_graph_svc_find(g, (uint32_t)h, proto, port);
        if (v < 0)
            continue;
        uint32_t *o = realloc(*out, (*nout + 1) * sizeof(*o));
        if (!o)
            abort();
        *out = o;
        o[(*nout)++] = (uint32_t)v;
        found++;
    }
    free(mark);
    if (n < 0)
        return n;
    if (found == 0) {
        char pb[16];
        s_err(err, errlen, "no service %s/%u on %s in the database",
              cmn_proto_name(proto, pb, sizeof(pb)), port, left);
        return -EINVAL;
    }
    return found;
}

static int s_mem_svc_cmp(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    if (x->svc != y->svc)
        return x->svc < y->svc ? -1 : 1;
    return x->group < y->group ? -1 : x->group > y->group;
}

static int s_mem_grp_cmp(const void *a, const void *b)
{
    const struct member *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    return x->svc < y->svc ? -1 : x->svc > y->svc;
}

static int s_parse_groups(struct ctx *c, const struct rep_impact_opts *o, char *err, size_t el)
{
    size_t cap = 0;
    for (size_t i = 0; i < o->nalt; i++) {
        char *spec = strdup(o->alt[i]), *save = NULL;
        uint32_t *svcs = NULL;
        size_t n = 0;
        if (!spec)
            abort();
        for (char *tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (s_select_services(c->g, tok, &svcs, &n, err, el) < 0) {
                char why[200];
                snprintf(why, sizeof(why), "%s", err);
                s_err(err, el, "redundancy group '%s': %s", o->alt[i], why);
                free(svcs);
                free(spec);
                return -EINVAL;
            }
        }
        free(spec);
        for (size_t k = 0; k < n; k++) {
            if (c->nmem == cap) {
                cap = cap ? cap * 2 : 64;
                struct member *m = realloc(c->mem, cap * sizeof(*m));
                if (!m)
                    abort();
                c->mem = m;
            }
            c->mem[c->nmem++] = (struct member){.svc = svcs[k], .group = (uint32_t)i};
        }
        free(svcs);
    }
    if (c->nmem) {
        qsort(c->mem, c->nmem, sizeof(*c->mem), s_mem_svc_cmp);
        c->bygrp = malloc(c->nmem * sizeof(*c->bygrp));
        if (!c->bygrp)
            abort();
        memcpy(c->bygrp, c->mem, c->nmem * sizeof(*c->bygrp));
        qsort(c->bygrp, c->nmem, sizeof(*c->bygrp), s_mem_grp_cmp);
    }
    return 0;
}

static int s_parse_soft(struct ctx *c, const struct rep_impact_opts *o, char *err, size_t el)
{
    if (!o->nsoft)
        return 0;
    c->soft = calloc(o->nsoft, sizeof(*c->soft));
    if (!c->soft)
        abort();
    for (size_t i = 0; i < o->nsoft; i++) {
        struct soft *s = &c->soft[c->nsoft];
        char left[256], buf[300];
        const char *spec = o->soft[i];
        /* "proto/port" alone means any server: give it an address to split */
        if (!strchr(spec, ':') || (strchr(spec, '/') && strchr(spec, ':') > strchr(spec, '/'))) {
            snprintf(buf, sizeof(buf), "0.0.0.0:%s", spec);
            s->ip_any = true;
        } else {
            snprintf(buf, sizeof(buf), "%s", spec);
        }
        if (s_split_service(buf, left, sizeof(left), &s->proto, &s->port) != 0 ||
            (!s->ip_any && cmn_ip_parse(left, s->ip) != 0)) {
            s_err(err, el, "soft dependency '%s': expected proto/port or IP:proto/port", spec);
            return -EINVAL;
        }
        c->nsoft++;
    }
    return 0;
}

static bool s_is_soft(const struct ctx *c, uint32_t svc)
{
    const struct rep_gsvc *s = &c->g->svcs[svc];
    for (size_t i = 0; i < c->nsoft; i++)
        if (c->soft[i].proto == s->proto && c->soft[i].port == s->port &&
            (c->soft[i].ip_any || memcmp(c->soft[i].ip, c->g->hosts[s->host].key, 16) == 0))
            return true;
    return false;
}

static bool s_down(const struct rep_impact *r, uint32_t svc)
{
    return r->svc_state[svc] >= REP_IS_IMPAIRED;
}

/* An alternative to `svc` for client `h` that is still up, or -1: another
 * server of the same proto/port the client used, or a member of a declared
 * group of `svc` (used or not: the user says they stand in for each other). */
static long s_alternative(const struct ctx *c, uint32_t h, uint32_t svc)
{
    const struct rep_graph *g = c->g;
    const struct rep_gsvc *s = &g->svcs[svc];
    for (uint32_t u = g->hosts[h].use_lo; u < g->hosts[h].use_hi; u++) {
        uint32_t v = g->use_svc[u];
        if (v != svc && g->svcs[v].proto == s->proto && g->svcs[v].port == s->port &&
            !s_down(c->r, v) && g->svcs[v].host != h)
            return v;
    }
    /* declared groups: binary search svc's memberships */
    size_t lo = 0, hi = c->nmem;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->mem[mid].svc < svc)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < c->nmem && c->mem[i].svc == svc; i++) {
        uint32_t grp = c->mem[i].group;
        size_t a = 0, b = c->nmem;
        while (a < b) {
            size_t mid = (a + b) / 2;
            if (c->bygrp[mid].group < grp)
                a = mid + 1;
            else
                b = mid;
        }
        for (size_t k = a; k < c->nmem && c->bygrp[k].group == grp; k++) {
            uint32_t v = c->bygrp[k].svc;
            if (v != svc && !s_down(c->r, v) && g->svcs[v].host != h)
                return v;
        }
    }
    return -1;
}

/* Judge client h's dependency on down service svc (edge e) at `hop`; on
 * impairment its services go down and are appended to next[]. */
static void s_judge(struct ctx *c, uint32_t h, uint32_t e, uint32_t svc, int hop, uint32_t *next,
                    size_t *nnext)
{
    struct rep_impact *r = c->r;
    const struct rep_graph *g = c->g;
    if (r->host_state[h] >= REP_IS_IMPAIRED)
        return;
    bool soft = s_is_soft(c, svc);
    long alt = soft ? -1 : s_alternative(c, h, svc);
    if (soft || alt >= 0) {
        if (r->host_state[h] == REP_IS_WHOLE) {
            r->host_state[h] = REP_IS_DEGRADED;
            r->host_hop[h] = hop;
            r->host_cause[h] = (int32_t)e;
            r->host_alt[h] = (int32_t)alt;
            if (hop > r->hops_reached)
                r->hops_reached = hop;
        }
        return;
    }
    if (hop > r->hops_reached)
        r->hops_reached = hop;
    r->host_state[h] = REP_IS_IMPAIRED;
    r->host_hop[h] = hop;
    r->host_cause[h] = (int32_t)e;
    r->host_alt[h] = -1;
    for (uint32_t v = g->hosts[h].svc_lo; v < g->hosts[h].svc_hi; v++) {
        if (r->svc_state[v] >= REP_IS_IMPAIRED)
            continue;
        r->svc_state[v] = REP_IS_IMPAIRED;
        r->svc_hop[v] = hop;
        next[(*nnext)++] = v;
    }
}

static void s_propagate(struct ctx *c, uint32_t *front, size_t nfront, int hops)
{
    const struct rep_graph *g = c->g;
    struct rep_impact *r = c->r;
    uint32_t *next = malloc((g->nsvcs + 1) * sizeof(*next));
    uint32_t *degr = malloc((g->nhosts + 1) * sizeof(*degr));
    size_t ndegr = 0;
    if (!next || !degr)
        abort();
    for (int hop = 1; nfront && (hops < 0 || hop <= hops); hop++) {
        size_t nnext = 0;
        for (size_t i = 0; i < nfront; i++) {
            const struct rep_gsvc *s = &g->svcs[front[i]];
            for (uint32_t e = s->edge_lo; e < s->edge_hi; e++) {
                uint32_t h = g->edges[e].client;
                bool was_whole = r->host_state[h] == REP_IS_WHOLE;
                s_judge(c, h, e, front[i], hop, next, &nnext);
                if (was_whole && r->host_state[h] == REP_IS_DEGRADED)
                    degr[ndegr++] = h;
            }
        }
        /* degraded hosts whose alternatives went down this hop */
        for (size_t i = 0; i < ndegr; i++) {
            uint32_t h = degr[i];
            if (r->host_state[h] != REP_IS_DEGRADED)
                continue;
            for (uint32_t u = g->hosts[h].use_lo; u < g->hosts[h].use_hi; u++) {
                uint32_t e = g->uses[u], v = g->use_svc[u];
                if (s_down(r, v) && r->svc_hop[v] < hop)
                    s_judge(c, h, e, v, hop, next, &nnext);
            }
        }
        memcpy(front, next, nnext * sizeof(*next));
        nfront = nnext;
    }
    free(next);
    free(degr);
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void s_summarise(struct ctx *c)
{
    const struct rep_graph *g = c->g;
    struct rep_impact *r = c->r;
    const char **nets = malloc((g->nhosts + 1) * sizeof(*nets));
    uint8_t *sites = calloc(cmn_sites_count(g->sites) + 1, 1);
    size_t nn = 0, cap = 0;
    if (!nets || !sites)
        abort();
    for (size_t h = 0; h < g->nhosts; h++) {
        uint8_t st = r->host_state[h];
        bool server = g->hosts[h].svc_hi > g->hosts[h].svc_lo;
        if (st == REP_IS_WHOLE) {
            r->sum.hosts_whole++;
            continue;
        }
        if (st == REP_IS_FAILED)
            r->sum.hosts_failed++;
        else if (st == REP_IS_IMPAIRED)
            *(server ? &r->sum.servers_impaired : &r->sum.clients_impaired) += 1;
        else
            *(server ? &r->sum.servers_degraded : &r->sum.clients_degraded) += 1;
        nets[nn++] = g->hosts[h].network;
        if (g->hosts[h].site >= 0 && !sites[g->hosts[h].site]) {
            sites[g->hosts[h].site] = 1;
            r->sum.sites++;
        }
    }
    qsort(nets, nn, sizeof(*nets), s_cmp_str);
    for (size_t i = 0; i < nn; i++)
        r->sum.networks += i == 0 || strcmp(nets[i], nets[i - 1]) != 0;
    free(nets);
    free(sites);
    for (size_t v = 0; v < g->nsvcs; v++) {
        uint8_t st = r->svc_state[v];
        if (st == REP_IS_WHOLE) {
            r->sum.services_whole++;
            continue;
        }
        if (st == REP_IS_LOST)
            r->sum.services_lost++;
        else
            r->sum.services_impaired++;
        for (uint32_t e = g->svcs[v].edge_lo; e < g->svcs[v].edge_hi; e++) {
            const struct rep_gedge *ed = &g->edges[e];
            r->sum.packets += ed->packets_c2s + ed->packets_s2c;
            r->sum.bytes += ed->bytes_c2s + ed->bytes_s2c;
            r->sum.sessions += ed->sessions;
        }
    }
    /* affected dependencies of every affected host */
    for (size_t h = 0; h < g->nhosts; h++) {
        uint8_t st = r->host_state[h];
        if (st != REP_IS_IMPAIRED && st != REP_IS_DEGRADED)
            continue;
        for (uint32_t u = g->hosts[h].use_lo; u < g->hosts[h].use_hi; u++) {
            uint32_t e = g->uses[u], v = g->use_svc[u];
            /* only what the walk reached: a service down at hop k hits at k + 1 */
            if (!s_down(r, v) || (r->hops >= 0 && r->svc_hop[v] >= r->hops))
                continue;
            if (r->ndeps == cap) {
                cap = cap ? cap * 2 : 256;
                struct rep_impact_dep *d = realloc(r->deps, cap * sizeof(*d));
                if (!d)
                    abort();
                r->deps = d;
            }
            struct rep_impact_dep *d = &r->deps[r->ndeps++];
            d->edge = e;
            d->soft = s_is_soft(c, v);
            long alt = d->soft ? -1 : s_alternative(c, (uint32_t)h, v);
            d->alt_svc = (int32_t)alt;
            d->state = d->soft || alt >= 0 ? REP_IS_DEGRADED : REP_IS_IMPAIRED;
        }
    }
}

struct rep_impact *rep_impact_run(const struct rep_graph *g, const struct rep_impact_opts *o,
                                  char *err, size_t errlen)
{
    struct rep_impact *r = calloc(1, sizeof(*r));
    struct ctx c = {.g = g, .r = r};
    uint8_t *mark = calloc(g->nhosts + 1, 1);
    uint32_t *front = malloc((g->nsvcs + 1) * sizeof(*front));
    size_t nfront = 0;
    if (!r || !mark || !front)
        abort();
    r->g = g;
    r->hops = o->hops < 0 ? -1 : o->hops;
    r->host_state = calloc(g->nhosts + 1, 1);
    r->svc_state = calloc(g->nsvcs + 1, 1);
    r->host_hop = malloc((g->nhosts + 1) * sizeof(int32_t));
    r->svc_hop = malloc((g->nsvcs + 1) * sizeof(int32_t));
    r->host_cause = malloc((g->nhosts + 1) * sizeof(int32_t));
    r->host_alt = malloc((g->nhosts + 1) * sizeof(int32_t));
    r->targets = calloc(o->nfail + 1, sizeof(*r->targets));
    if (!r->host_state || !r->svc_state || !r->host_hop || !r->svc_hop || !r->host_cause ||
        !r->host_alt || !r->targets)
        abort();
    for (size_t h = 0; h < g->nhosts; h++)
        r->host_hop[h] = r->host_cause[h] = r->host_alt[h] = -1;
    for (size_t v = 0; v < g->nsvcs; v++)
        r->svc_hop[v] = -1;
    if (o->nfail == 0) {
        s_err(err, errlen, "nothing to fail: give at least one target");
        goto fail;
    }
    if (s_parse_groups(&c, o, err, errlen) != 0 || s_parse_soft(&c, o, err, errlen) != 0)
        goto fail;
    for (size_t i = 0; i < o->nfail; i++) {
        const char *t = o->fail[i];
        struct rep_impact_target *tg = &r->targets[r->ntargets++];
        char left[256];
        uint8_t proto;
        uint16_t port;
        tg->text = t;
        if (!t || !*t) {
            s_err(err, errlen, "empty target");
            goto fail;
        }
        if (s_split_service(t, left, sizeof(left), &proto, &port) == 0) {
            uint32_t *svcs = NULL;
            size_t n = 0;
            if (s_select_services(g, t, &svcs, &n, err, errlen) < 0)
                goto fail;
            tg->kind = "service";
            for (size_t k = 0; k < n; k++) {
                if (r->svc_state[svcs[k]] == REP_IS_WHOLE) {
                    r->svc_state[svcs[k]] = REP_IS_LOST;
                    r->svc_hop[svcs[k]] = 0;
                    front[nfront++] = svcs[k];
                }
                tg->matched++;
            }
            free(svcs);
            continue;
        }
        memset(mark, 0, g->nhosts);
        long n = s_select_hosts(g, t, mark, &tg->kind, err, errlen);
        if (n < 0)
            goto fail;
        for (size_t h = 0; h < g->nhosts; h++) {
            if (!mark[h])
                continue;
            tg->matched++;
            r->host_state[h] = REP_IS_FAILED;
            r->host_hop[h] = 0;
            for (uint32_t v = g->hosts[h].svc_hi; v-- > g->hosts[h].svc_lo;) {
                if (r->svc_state[v] == REP_IS_LOST)
                    continue;
                r->svc_state[v] = REP_IS_LOST;
                r->svc_hop[v] = 0;
                front[nfront++] = v;
            }
        }
        if (tg->matched == 0) {
            s_err(err, errlen, "target '%s' matches no host in the database", t);
            goto fail;
        }
    }
    s_propagate(&c, front, nfront, r->hops);
    s_summarise(&c);
    free(mark);
    free(front);
    free(c.mem);
    free(c.bygrp);
    free(c.soft);
    return r;
fail:
    free(mark);
    free(front);
    free(c.mem);
    free(c.bygrp);
    free(c.soft);
    rep_impact_destroy(&r);
    return NULL;
}

void rep_impact_destroy(struct rep_impact **rp)
{
    if (!rp || !*rp)
        return;
    struct rep_impact *r = *rp;
    free(r->host_state);
    free(r->svc_state);
    free(r->host_hop);
    free(r->svc_hop);
    free(r->host_cause);
    free(r->host_alt);
    free(r->deps);
    free(r->targets);
    free(r);
    *rp = NULL;
}

/* ---- chains ---- */

struct step {
    bool svc;      /* a service step (else a host step) */
    uint32_t idx;  /* host or service index */
    uint8_t state; /* its state */
};

/* Steps from the root (a failed host or service) to the host or service
 * asked for; returns the count (at most CHAIN_MAX, root end cut). */
static size_t s_chain(const struct rep_impact *r, long host, long svc, struct step *out)
{
    const struct rep_graph *g = r->g;
    struct step rev[CHAIN_MAX];
    size_t n = 0;
    while (n < CHAIN_MAX) {
        if (host >= 0) {
            rev[n++] = (struct step){false, (uint32_t)host, r->host_state[host]};
            if (r->host_state[host] == REP_IS_FAILED || r->host_cause[host] < 0)
                break;
            svc = g->edges[r->host_cause[host]].svc;
            host = -1;
        } else if (svc >= 0) {
            rev[n++] = (struct step){true, (uint32_t)svc, r->svc_state[svc]};
            uint32_t sh = g->svcs[svc].host;
            if (r->svc_state[svc] == REP_IS_LOST && r->host_state[sh] != REP_IS_FAILED)
                break; /* the service itself was the target */
            host = (long)sh;
            svc = -1;
        } else {
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    return n;
}

static void s_svc_label(const struct rep_graph *g, uint32_t v, FILE *f)
{
    const struct rep_gsvc *s = &g->svcs[v];
    char pb[16];
    fprintf(f, "%s %s/%u", g->hosts[s->host].ip, cmn_proto_name(s->proto, pb, sizeof(pb)), s->port);
    if (s->name)
        fprintf(f, " (%s)", s->name);
}

static void s_host_label(const struct rep_graph *g, uint32_t h, FILE *f)
{
    fputs(g->hosts[h].ip, f);
    if (g->hosts[h].name)
        fprintf(f, " (%s)", g->hosts[h].name);
}

void rep_impact_chain_text(const struct rep_impact *r, long host, long svc, FILE *f)
{
    struct step st[CHAIN_MAX];
    size_t n = s_chain(r, host, svc, st);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(" -> ", f);
        fprintf(f, "%s ", rep_istate_name(st[i].state));
        if (st[i].svc)
            s_svc_label(r->g, st[i].idx, f);
        else
            s_host_label(r->g, st[i].idx, f);
    }
}

/* ---- JSON ---- */

static void s_json_svc_ref(const struct rep_graph *g, uint32_t v, FILE *f)
{
    const struct rep_gsvc *s = &g->svcs[v];
    char pb[16];
    fputs("{\"ip\": ", f);
    rep_json_str(f, g->hosts[s->host].ip);
    fputs(", \"proto\": ", f);
    rep_json_str(f, cmn_proto_name(s->proto, pb, sizeof(pb)));
    fprintf(f, ", \"port\": %u, \"name\": ", s->port);
    rep_json_str(f, s->name);
}

static void s_json_chain(const struct rep_impact *r, long host, long svc, FILE *f)
{
    struct step st[CHAIN_MAX];
    size_t n = s_chain(r, host, svc, st);
    fputs("[", f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        if (st[i].svc) {
            s_json_svc_ref(r->g, st[i].idx, f);
        } else {
            fputs("{\"ip\": ", f);
            rep_json_str(f, r->g->hosts[st[i].idx].ip);
            fputs(", \"name\": ", f);
            rep_json_str(f, r->g->hosts[st[i].idx].name);
        }
        fputs(", \"state\": ", f);
        rep_json_str(f, rep_istate_name(st[i].state));
        fputs("}", f);
    }
    fputs("]", f);
}

static void s_json_time(FILE *f, int64_t ns)
{
    char t[40];
    rep_json_str(f, ns > 0 && ns != INT64_MAX ? rep_time_text(ns, t, sizeof(t)) : NULL);
}

int rep_impact_write_json(const struct rep_impact *r, FILE *f)
{
    const struct rep_graph *g = r->g;
    fputs("{\"targets\": [", f);
    for (size_t i = 0; i < r->ntargets; i++) {
        fputs(i ? ", {\"target\": " : "{\"target\": ", f);
        rep_json_str(f, r->targets[i].text);
        fputs(", \"kind\": ", f);
        rep_json_str(f, r->targets[i].kind);
        fprintf(f, ", \"matched\": %zu}", r->targets[i].matched);
    }
    fputs("],\n\"hops\": ", f);
    if (r->hops < 0)
        fputs("null", f);
    else
        fprintf(f, "%d", r->hops);
    fprintf(f, ", \"hops_reached\": %d,\n\"period\": {\"since\": ", r->hops_reached);
    s_json_time(f, g->since_ns);
    fputs(", \"until\": ", f);
    s_json_time(f, g->until_ns);
    fprintf(f, ", \"resolution_s\": %lld},\n", (long long)g->period_res_s);
    fprintf(f,
            "\"summary\": {\"hosts_failed\": %zu, \"services_lost\": %zu,"
            " \"services_impaired\": %zu, \"servers_impaired\": %zu, \"servers_degraded\": %zu,"
            " \"clients_impaired\": %zu, \"clients_degraded\": %zu, \"networks\": %zu,"
            " \"sites\": %zu, \"packets\": %lld, \"bytes\": %lld, \"sessions\": %lld,"
            " \"services_whole\": %zu, \"hosts_whole\": %zu},\n",
            r->sum.hosts_failed, r->sum.services_lost, r->sum.services_impaired,
            r->sum.servers_impaired, r->sum.servers_degraded, r->sum.clients_impaired,
            r->sum.clients_degraded, r->sum.networks, r->sum.sites, (long long)r->sum.packets,
            (long long)r->sum.bytes, (long long)r->sum.sessions, r->sum.services_whole,
            r->sum.hosts_whole);
    fputs("\"services\": [", f);
    size_t n = 0;
    for (size_t v = 0; v < g->nsvcs; v++) {
        if (r->svc_state[v] == REP_IS_WHOLE)
            continue;
        const struct rep_gsvc *s = &g->svcs[v];
        fputs(n++ ? ",\n  " : "\n  ", f);
        s_json_svc_ref(g, (uint32_t)v, f);
        fputs(", \"site\": ", f);
        rep_json_str(f, rep_graph_site_name(g, g->hosts[s->host].site));
        fputs(", \"state\": ", f);
        rep_json_str(f, rep_istate_name(r->svc_state[v]));
        fprintf(f,
                ", \"hop\": %d, \"clients\": %u, \"packets\": %lld, \"bytes\": %lld,"
                " \"chain\": ",
                r->svc_hop[v], s->clients, (long long)s->packets, (long long)s->bytes);
        s_json_chain(r, -1, (long)v, f);
        fputs("}", f);
    }
    fputs(n ? "\n],\n\"hosts\": [" : "],\n\"hosts\": [", f);
    n = 0;
    size_t d = 0;
    for (size_t h = 0; h < g->nhosts; h++) {
        if (r->host_state[h] == REP_IS_WHOLE)
            continue;
        const struct rep_ghost *hh = &g->hosts[h];
        fputs(n++ ? ",\n  " : "\n  ", f);
        fputs("{\"ip\": ", f);
        rep_json_str(f, hh->ip);
        fputs(", \"name\": ", f);
        rep_json_str(f, hh->name);
        fputs(", \"kind\": ", f);
        rep_json_str(f, rep_host_kind_name(hh->kind));
        fputs(", \"site\": ", f);
        rep_json_str(f, rep_graph_site_name(g, hh->site));
        fputs(", \"network\": ", f);
        rep_json_str(f, hh->network);
        fputs(", \"state\": ", f);
        rep_json_str(f, rep_istate_name(r->host_state[h]));
        fprintf(f, ", \"hop\": %d, \"chain\": ", r->host_hop[h]);
        s_json_chain(r, (long)h, -1, f);
        fputs(", \"dependencies\": [", f);
        while (d < r->ndeps && g->edges[r->deps[d].edge].client < h)
            d++;
        for (size_t k = 0; d < r->ndeps && g->edges[r->deps[d].edge].client == h; d++, k++) {
            const struct rep_impact_dep *dp = &r->deps[d];
            const struct rep_gedge *e = &g->edges[dp->edge];
            fputs(k ? ", " : "", f);
            s_json_svc_ref(g, e->svc, f);
            fputs(", \"service_state\": ", f);
            rep_json_str(f, rep_istate_name(r->svc_state[e->svc]));
            fputs(", \"state\": ", f);
            rep_json_str(f, dp->state == REP_IS_DEGRADED ? "degraded" : "lost");
            fprintf(f, ", \"soft\": %s, \"alternative\": ", dp->soft ? "true" : "false");
            if (dp->alt_svc >= 0) {
                s_json_svc_ref(g, (uint32_t)dp->alt_svc, f);
                fputs("}", f);
            } else {
                fputs("null", f);
            }
            fprintf(f, ", \"packets\": %lld, \"bytes\": %lld, \"sessions\": %lld}",
                    (long long)(e->packets_c2s + e->packets_s2c),
                    (long long)(e->bytes_c2s + e->bytes_s2c), (long long)e->sessions);
        }
        fputs("]}", f);
    }
    fputs(n ? "\n],\n\"whole_services\": [" : "],\n\"whole_services\": [", f);
    n = 0;
    for (size_t v = 0; v < g->nsvcs; v++) {
        if (r->svc_state[v] != REP_IS_WHOLE)
            continue;
        fputs(n++ ? ",\n  " : "\n  ", f);
        s_json_svc_ref(g, (uint32_t)v, f);
        fprintf(f, ", \"clients\": %u}", g->svcs[v].clients);
    }
    fputs(n ? "\n]}\n" : "]}\n", f);
    return ferror(f) ? -EIO : 0;
}

/* ---- CSV (RFC 4180) ---- */

static void s_csv(FILE *f, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void s_csv_svc_cols(const struct rep_graph *g, long v, FILE *f)
{
    char pb[16];
    if (v < 0) {
        fputs(",,", f);
        return;
    }
    fprintf(f, "%s,%u,", cmn_proto_name(g->svcs[v].proto, pb, sizeof(pb)), g->svcs[v].port);
}

int rep_impact_write_csv(const struct rep_impact *r, FILE *f)
{
    const struct rep_graph *g = r->g;
    char *chain = NULL, alt[200];
    size_t clen = 0;
    /* one stream for every row's chain, rewound (opening one per row was a
     * tenth of a 20,000-row CSV) */
    FILE *m = open_memstream(&chain, &clen);
    if (!m)
        return -ENOMEM;
    fputs("record,ip,proto,port,name,kind,site,network,state,hop,alternative,chain\r\n", f);
    for (size_t v = 0; v < g->nsvcs; v++) {
        if (r->svc_state[v] == REP_IS_WHOLE)
            continue;
        const struct rep_ghost *hh = &g->hosts[g->svcs[v].host];
        fprintf(f, "service,%s,", hh->ip);
        s_csv_svc_cols(g, (long)v, f);
        s_csv(f, g->svcs[v].name);
        fputs(",,", f);
        s_csv(f, rep_graph_site_name(g, hh->site));
        fprintf(f, ",%s,%s,%d,,", hh->network, rep_istate_name(r->svc_state[v]), r->svc_hop[v]);
        rewind(m);
        rep_impact_chain_text(r, -1, (long)v, m);
        fputc('\0', m);
        fflush(m);
        s_csv(f, chain);
        fputs("\r\n", f);
    }
    for (size_t h = 0; h < g->nhosts; h++) {
        if (r->host_state[h] == REP_IS_WHOLE)
            continue;
        const struct rep_ghost *hh = &g->hosts[h];
        fprintf(f, "host,%s,,,", hh->ip);
        s_csv(f, hh->name);
        fprintf(f, ",%s,", rep_host_kind_name(hh->kind));
        s_csv(f, rep_graph_site_name(g, hh->site));
        fprintf(f, ",%s,%s,%d,", hh->network, rep_istate_name(r->host_state[h]), r->host_hop[h]);
        alt[0] = '\0';
        if (r->host_alt[h] >= 0) {
            const struct rep_gsvc *a = &g->svcs[r->host_alt[h]];
            char pb[16];
            snprintf(alt, sizeof(alt), "%s %s/%u", g->hosts[a->host].ip,
                     cmn_proto_name(a->proto, pb, sizeof(pb)), a->port);
        }
        s_csv(f, alt);
        fputc(',', f);
        rewind(m);
        rep_impact_chain_text(r, (long)h, -1, m);
        fputc('\0', m);
        fflush(m);
        s_csv(f, chain);
        fputs("\r\n", f);
    }
    for (size_t v = 0; v < g->nsvcs; v++) {
        if (r->svc_state[v] != REP_IS_WHOLE)
            continue;
        const struct rep_ghost *hh = &g->hosts[g->svcs[v].host];
        fprintf(f, "whole_service,%s,", hh->ip);
        s_csv_svc_cols(g, (long)v, f);
        s_csv(f, g->svcs[v].name);
        fputs(",,", f);
        s_csv(f, rep_graph_site_name(g, hh->site));
        fprintf(f, ",%s,whole,,,\r\n", hh->network);
    }
    fclose(m);
    free(chain);
    return ferror(f) ? -EIO : 0;
}

/* ---- text ---- */

static void s_text_hosts(const struct rep_impact *r, FILE *f, uint8_t state, bool servers,
                         const char *title)
{
    const struct rep_graph *g = r->g;
    size_t n = 0;
    for (size_t h = 0; h < g->nhosts; h++) {
        bool srv = g->hosts[h].svc_hi > g->hosts[h].svc_lo;
        if (r->host_state[h] != state || srv != servers)
            continue;
        if (n++ == 0)
            fprintf(f, "\n%s:\n", title);
        fputs("  ", f);
        s_host_label(g, (uint32_t)h, f);
        if (g->hosts[h].site >= 0)
            fprintf(f, " [%s]", rep_graph_site_name(g, g->hosts[h].site));
        if (state == REP_IS_DEGRADED && r->host_alt[h] >= 0) {
            fputs(" still has ", f);
            s_svc_label(g, (uint32_t)r->host_alt[h], f);
        } else if (state == REP_IS_DEGRADED) {
            fputs(" (soft dependency)", f);
        }
        fputs("\n      ", f);
        rep_impact_chain_text(r, (long)h, -1, f);
        fputc('\n', f);
    }
}

int rep_impact_write_text(const struct rep_impact *r, FILE *f)
{
    const struct rep_graph *g = r->g;
    fputs("Failing:", f);
    for (size_t i = 0; i < r->ntargets; i++)
        fprintf(f, " %s (%s, %zu matched)", r->targets[i].text, r->targets[i].kind,
                r->targets[i].matched);
    fputc('\n', f);
    if (g->since_ns > 0 || g->until_ns != INT64_MAX) {
        char a[40] = "start", b[40] = "end";
        if (g->since_ns > 0)
            rep_time_text(g->since_ns, a, sizeof(a));
        if (g->until_ns != INT64_MAX)
            rep_time_text(g->until_ns, b, sizeof(b));
        fprintf(f, "Judged on traffic from %s to %s\n", a, b);
    }
    fprintf(f,
            "Hops: %s%d reached\n"
            "Services: %zu lost, %zu impaired, %zu whole\n"
            "Servers:  %zu failed, %zu impaired, %zu degraded\n"
            "Clients:  %zu impaired, %zu degraded (have an alternative)\n"
            "Networks: %zu, sites: %zu affected; %zu hosts whole\n"
            "Traffic into lost or impaired services: %lld packets, %lld bytes, %lld sessions\n",
            r->hops < 0 ? "" : "limit set, ", r->hops_reached, r->sum.services_lost,
            r->sum.services_impaired, r->sum.services_whole, r->sum.hosts_failed,
            r->sum.servers_impaired, r->sum.servers_degraded, r->sum.clients_impaired,
            r->sum.clients_degraded, r->sum.networks, r->sum.sites, r->sum.hosts_whole,
            (long long)r->sum.packets, (long long)r->sum.bytes, (long long)r->sum.sessions);
    for (int pass = 0; pass < 2; pass++) {
        size_t n = 0;
        uint8_t want = pass == 0 ? REP_IS_LOST : REP_IS_IMPAIRED;
        for (size_t v = 0; v < g->nsvcs; v++) {
            if (r->svc_state[v] != want)
                continue;
            if (n++ == 0)
                fprintf(f, "\nServices %s:\n", pass == 0 ? "lost" : "impaired");
            fputs("  ", f);
            s_svc_label(g, (uint32_t)v, f);
            fprintf(f, ", %u client%s\n", g->svcs[v].clients, g->svcs[v].clients == 1 ? "" : "s");
            if (pass == 1) {
                fputs("      ", f);
                rep_impact_chain_text(r, -1, (long)v, f);
                fputc('\n', f);
            }
        }
    }
    s_text_hosts(r, f, REP_IS_IMPAIRED, true, "Servers impaired");
    s_text_hosts(r, f, REP_IS_DEGRADED, true, "Servers degraded");
    s_text_hosts(r, f, REP_IS_IMPAIRED, false, "Clients impaired");
    s_text_hosts(r, f, REP_IS_DEGRADED, false, "Clients degraded");
    size_t n = 0;
    for (size_t v = 0; v < g->nsvcs; v++) {
        if (r->svc_state[v] != REP_IS_WHOLE)
            continue;
        if (n++ == 0)
            fputs("\nServices that stay whole:\n", f);
        fputs("  ", f);
        s_svc_label(g, (uint32_t)v, f);
        fputc('\n', f);
    }
    return ferror(f) ? -EIO : 0;
}
