/* SPDX-License-Identifier: MIT
 * rep_hostset: the hosts table (and which services each host provides) held
 * in memory between requests, for the pages that filter, sort and count
 * every host: the host list, the overview's totals, the sites page. At
 * 20,000 hosts each of those was a scan and a sort of the table in SQL,
 * 20-60 ms a page; here it is a pass over an array. Loaded in one read
 * transaction (~20 ms at that size, a few per cent of the map, rep_graph.h)
 * and kept until the merger commits again; read-only once loaded, so many
 * request threads share one.
 *
 * Names are not kept: a request's names (rep_names.h, with its reverse-DNS
 * lookups) name the hosts it shows, filters and sorts on.
 */
#ifndef REP_HOSTSET_H
#define REP_HOSTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "cmn_ip.h"

struct cmn_sites;

/* Kinds in the host list's order (servers first). */
enum rep_hkind { REP_HK_SERVER, REP_HK_BOTH, REP_HK_CLIENT, REP_HK_UNKNOWN };

struct rep_hrow {
    char ip[CMN_IP_STRLEN];          /* export text form, as the table holds it */
    uint8_t key[16];                 /* address (ip_key): the set is sorted by it */
    char network[CMN_IP_STRLEN + 4]; /* hosts.network */
    uint8_t kind;                    /* enum rep_hkind (a kind the table does not know: unknown) */
    int site;                        /* index in the set's sites, -1 for none */
    int64_t provided, used;          /* services_provided, services_used */
    int64_t bytes, packets;          /* in + out */
    int64_t last_ns;                 /* last seen */
    uint32_t svc_lo, svc_hi;         /* its service rows: svcs[svc_lo .. svc_hi) */
};

/* One row of the services table (any, with clients or not: "has service"). */
struct rep_hsvc {
    uint32_t port; /* server port */
    uint8_t proto; /* IP protocol */
};

/* One network (hosts.network) and its hosts. */
struct rep_hnet {
    const char *network;    /* its text (a host's, borrowed from the set) */
    int64_t hosts, servers; /* hosts; of kind server or both */
    int64_t bytes;          /* their volume */
    uint32_t first;         /* its lowest address's host */
};

struct rep_hostset_orders;

struct rep_hostset {
    struct rep_hostset_orders *orders; /* the sorts computed so far (rep_hostset_order) */
    struct rep_hrow *hosts;            /* by address */
    size_t nhosts;
    struct rep_hnet *nets; /* by servers, hosts (descending), lowest address: the sites page */
    size_t nnets;
    struct rep_hsvc *svcs; /* by host, then proto and port */
    size_t nsvcs;
    struct cmn_sites *sites; /* the sites hosts were placed in (a copy, owned; never NULL) */
};

/* Load the hosts of open database db inside the caller's read transaction
 * (or one of its own), placing them in a copy of `sites` (NULL: none). NULL
 * after logging a database error. */
struct rep_hostset *rep_hostset_load(sqlite3 *db, const struct cmn_sites *sites);

/* Free; accepts NULL and NULLs the caller's pointer. */
void rep_hostset_destroy(struct rep_hostset **s);

/* The host list's sorts that do not need names: each orders by its column,
 * then by address (ascending whatever the direction); REP_HS_DEFAULT is
 * kind (servers first; `desc` reverses it), then volume descending. */
enum rep_hsort {
    REP_HS_DEFAULT,
    REP_HS_IP,
    REP_HS_KIND,
    REP_HS_SITE, /* by site name, hosts of no site as "~" */
    REP_HS_NETWORK,
    REP_HS_PROVIDES,
    REP_HS_USES,
    REP_HS_VOLUME,
    REP_HS_PACKETS,
    REP_HS_LAST,
    REP_HS_COUNT
};

/* The host indices of s in the order of sort `by`: computed on the first
 * call for (by, desc) and kept with the set (thread-safe), so a page of any
 * sort and filter is one pass over it, no sort. nhosts entries. */
const uint32_t *rep_hostset_order(const struct rep_hostset *s, enum rep_hsort by, bool desc);

/* Kind as the table writes it ("server", "both", "client", "unknown"). */
const char *rep_hkind_name(enum rep_hkind k);

/* True when host `h` of s provides (proto, port). */
bool rep_hostset_has_service(const struct rep_hostset *s, size_t h, uint8_t proto, uint32_t port);

#endif /* REP_HOSTSET_H */
