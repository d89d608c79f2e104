/* SPDX-License-Identifier: MIT
 * rep_graph: the dependency map of a database loaded into memory once —
 * hosts, services (server IP, proto, port) and edges (client IP → service)
 * with their sites, networks, names and volumes — for the questions that
 * walk it: impact analysis (rep_impact.h), neighbourhoods for exports
 * (--around IP --hops N) and the API. Loaded in one read transaction, so it
 * is a consistent snapshot while the merger writes; read-only after load,
 * so many threads may read one graph.
 *
 * With a period (since/until), edges and their volumes come from the usage
 * history (usage_edges) at the finest resolution the database still holds
 * for the period's start; services and hosts are those the period's edges
 * touch, plus, for hosts, every host the whole-run table knows (a host
 * silent in the period is still a host, just not a dependency then).
 */
#ifndef REP_GRAPH_H
#define REP_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "cmn_ip.h"

struct cmn_sites;

enum rep_host_kind { REP_KIND_UNKNOWN, REP_KIND_CLIENT, REP_KIND_SERVER, REP_KIND_BOTH };

struct rep_ghost {
    char ip[CMN_IP_STRLEN];          /* export text form */
    uint8_t key[16];                 /* address, IPv4 v4-mapped: sort and CIDR tests */
    const char *name;                /* hosts-file or DNS name, or NULL (owned by the graph) */
    const char *name_source;         /* "hosts_file", "dns" or NULL */
    char network[CMN_IP_STRLEN + 4]; /* "a.b.c.0/24" or "x:x:x:x::/64" */
    int site;                        /* index in the graph's sites, -1 when none */
    enum rep_host_kind kind;         /* from the hosts table */
    int64_t packets_out, bytes_out, packets_in, bytes_in; /* whole run */
    int64_t first_ns, last_ns;                            /* whole run */
    uint32_t svc_lo, svc_hi;                              /* its services: svcs[svc_lo .. svc_hi) */
    uint32_t use_lo, use_hi; /* edges it is the client of: uses[use_lo .. use_hi) */
};

struct rep_gsvc {
    uint32_t host;          /* server: index into hosts */
    uint8_t proto;          /* IP protocol number */
    uint16_t port;          /* server port */
    const char *name;       /* services-file or port name, or NULL (owned by the graph) */
    uint32_t clients;       /* distinct client IPs (in the period) */
    int64_t packets, bytes; /* both directions over its edges (in the period) */
    double confidence;      /* that it is a server port */
    int64_t first_ns, last_ns;
    uint32_t edge_lo, edge_hi; /* its edges: edges[edge_lo .. edge_hi) */
};

struct rep_gedge {
    uint32_t client; /* index into hosts */
    uint32_t svc;    /* index into svcs */
    int64_t packets_c2s, bytes_c2s, packets_s2c, bytes_s2c;
    int64_t sessions; /* distinct client ports (whole run) or session deltas (period) */
    int64_t first_ns, last_ns;
};

struct rep_graph {
    struct rep_ghost *hosts; /* sorted by address */
    size_t nhosts;
    struct rep_gsvc *svcs; /* sorted by (host, proto, port) */
    size_t nsvcs;
    struct rep_gedge *edges; /* sorted by (svc, client) */
    size_t nedges;
    uint32_t *uses;             /* edge indices sorted by (client, svc): each host's dependencies */
    uint32_t *use_svc;          /* edges[uses[i]].svc: the walks read a host's dependencies in
                                   one run of memory instead of one edge each */
    struct cmn_sites *sites;    /* the sites hosts were placed in (owned; never NULL) */
    int64_t since_ns, until_ns; /* the period judged; 0, INT64_MAX for the whole run */
    int64_t period_res_s;       /* resolution of the usage rows used (0: whole-run tables) */
    char **owned;               /* names' storage, freed with the graph */
    size_t nowned, capowned;
};

struct rep_graph_opts {
    const struct cmn_sites *sites; /* use these sites (copied); NULL: the database's sites table */
    int64_t since_ns;              /* period start (inclusive); 0: from the beginning */
    int64_t until_ns;              /* period end (exclusive); 0: to the end */
};

/* Load the map of open database `db` (rep_db_open), inside the caller's
 * read transaction when one is open, else in one of its own. NULL after logging why
 * (database error; a period before the oldest usage history the database
 * keeps is an error naming the oldest time it can judge). */
struct rep_graph *rep_graph_load(sqlite3 *db, const struct rep_graph_opts *opts);

/* Free; accepts NULL and NULLs the caller's pointer. */
void rep_graph_destroy(struct rep_graph **g);

/* Index of the host with text address or address `ip`, or -1. */
long rep_graph_host_find(const struct rep_graph *g, const uint8_t ip[16]);

/* Index of service (host, proto, port), or -1. */
long rep_graph_svc_find(const struct rep_graph *g, uint32_t host, uint8_t proto, uint16_t port);

/* Name of site `i` of the graph, or NULL for -1. */
const char *rep_graph_site_name(const struct rep_graph *g, int site);

/* Mark hosts within `hops` edges of host `start` (either direction: its
 * clients, its servers, their clients...) in `mark` (nhosts bytes, set to 1;
 * the caller zeroes it). hops < 0: no limit. Returns the number marked. */
size_t rep_graph_around(const struct rep_graph *g, uint32_t start, int hops, uint8_t *mark);

/* Parse a time for --since/--until: RFC 3339 UTC ("2026-01-01T08:00:00Z",
 * also without the Z or the seconds, or a date "2026-01-01"), or a duration
 * "90m", "24h", "7d", "3600s" meaning that long before `ref_ns` (the last
 * packet of the database). Returns 0 with *ns, or -EINVAL. */
int rep_time_parse(const char *s, int64_t ref_ns, int64_t *ns /* OUT */);

/* Kind as exported ("server", "client", "both", "unknown"). */
const char *rep_host_kind_name(enum rep_host_kind k);

#endif /* REP_GRAPH_H */
