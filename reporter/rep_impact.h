/* SPDX-License-Identifier: MIT
 * rep_impact: "what breaks if this fails?" over a loaded map (rep_graph.h).
 *
 * Targets fail: hosts (an IP, a CIDR, a host name, "@site") or single
 * services ("IP:proto/port"). Their services are LOST. A host that used a
 * lost service is IMPAIRED unless, in the period, it also used another
 * server of the same service (same proto/port on another host, or a member
 * of a redundancy group the user declared) that is still up: then it is
 * DEGRADED and the alternative is named. Every service of an impaired host
 * is IMPAIRED in turn, and its clients are judged the same way, hop after
 * hop, until nothing changes or `hops` is reached. States only get worse,
 * so the walk ends on cycles (a → b → a). A dependency on a service the
 * user declared soft (e.g. syslog) degrades its client but never impairs it.
 * Every affected host and service keeps the chain that explains it (failed
 * X → lost db tcp/5432 → impaired app tcp/8080 → ...).
 *
 * Cost: O(edges touched) per hop over the in-memory graph; the result holds
 * per-host and per-service arrays of the graph's size.
 */
#ifndef REP_IMPACT_H
#define REP_IMPACT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rep_graph.h"

enum rep_istate {
    REP_IS_WHOLE = 0,    /* not affected */
    REP_IS_DEGRADED = 1, /* host: lost a dependency but has an alternative (or it was soft) */
    REP_IS_IMPAIRED = 2, /* host: lost a dependency with no alternative; service: its host is */
    REP_IS_LOST = 3,     /* service: its host failed, or it was a target */
    REP_IS_FAILED = 4,   /* host: a target */
};

struct rep_impact_opts {
    const char *const *fail; /* targets (IP, CIDR, IP:proto/port, @site, host name) */
    size_t nfail;
    int hops;               /* hops of propagation past the failed targets; < 0: no limit */
    const char *const *alt; /* redundancy groups: "SEL,SEL,..." with SEL = IP:proto/port,
                               CIDR:proto/port or @site:proto/port */
    size_t nalt;
    const char *const *soft; /* soft dependencies: "proto/port" or "IP:proto/port" */
    size_t nsoft;
};

/* One affected dependency of a host: the edge to a down service. */
struct rep_impact_dep {
    uint32_t edge;   /* index into graph edges (client = the host) */
    uint8_t state;   /* REP_IS_IMPAIRED (lost, no alternative) or REP_IS_DEGRADED */
    uint8_t soft;    /* 1: degraded because the service was declared soft */
    int32_t alt_svc; /* alternative service still up, or -1 */
};

struct rep_impact_target {
    const char *text; /* as given (borrowed from opts) */
    const char *kind; /* "host", "cidr", "service", "site", "name" */
    size_t matched;   /* hosts or services it matched */
};

struct rep_impact {
    const struct rep_graph *g;   /* borrowed: must outlive the result */
    uint8_t *host_state;         /* per host: enum rep_istate */
    uint8_t *svc_state;          /* per service */
    int32_t *host_hop, *svc_hop; /* hop at which it went down (0: target), -1 whole */
    int32_t *host_cause;         /* impaired/degraded host: edge that first hit it, else -1 */
    int32_t *host_alt;           /* degraded host: an alternative service, else -1 */
    struct rep_impact_dep *deps; /* affected dependencies, sorted by (client, svc) */
    size_t ndeps;
    struct rep_impact_target *targets;
    size_t ntargets;
    int hops;         /* as asked (-1: until nothing changes) */
    int hops_reached; /* deepest hop with a change */
    struct {
        size_t hosts_failed, services_lost, services_impaired;
        size_t servers_impaired, servers_degraded; /* hosts providing services */
        size_t clients_impaired, clients_degraded; /* hosts providing none (PCs) */
        size_t networks, sites; /* distinct networks / sites of failed or affected hosts */
        int64_t packets, bytes, sessions; /* over edges into lost or impaired services */
        size_t services_whole, hosts_whole;
    } sum;
};

/* Compute the impact of opts->fail over `g`. NULL with a one-line reason in
 * `err` (an unknown target, a bad group or soft spec, nothing to fail); the
 * reason names the target or spec that was wrong. */
struct rep_impact *rep_impact_run(const struct rep_graph *g, const struct rep_impact_opts *opts,
                                  char *err /* OUT */, size_t errlen);

/* Free; accepts NULL and NULLs the caller's pointer. */
void rep_impact_destroy(struct rep_impact **r);

/* The explanation chain of host `h` (or, with host < 0, of service `svc`),
 * e.g. "failed 172.16.0.12 → lost 172.16.0.12 tcp/5432 (postgresql) →
 * impaired 172.16.0.11 tcp/8080 → 10.10.0.20", written to f. */
void rep_impact_chain_text(const struct rep_impact *r, long host, long svc, FILE *f);

/* Writers: the whole result as a JSON object (docs/API.md "impact"), as CSV
 * (one row per affected host and service, then the whole services; RFC
 * 4180) or as text for a terminal. 0 or -EIO. */
int rep_impact_write_json(const struct rep_impact *r, FILE *f);
int rep_impact_write_csv(const struct rep_impact *r, FILE *f);
int rep_impact_write_text(const struct rep_impact *r, FILE *f);

/* Name of a state as written in every output: "whole", "degraded", "impaired", "lost",
 * "failed". */
const char *rep_istate_name(enum rep_istate s);

#endif /* REP_IMPACT_H */
