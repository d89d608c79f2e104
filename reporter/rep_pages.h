/* SPDX-License-Identifier: MIT
 * rep_pages: the HTML report (docs/REPORT.md), every GET outside /api/ and
 * /static/: overview "/", hosts, one host, services, one service, sites,
 * one site, one network, events, monitor (+ /monitor.json), impact
 * (+ /impact.csv) and the dependency graph. rep_pages_handle opens a
 * read-only connection for the request and reads inside one transaction;
 * the pages never write the database. Every value that reaches HTML is
 * escaped (rep_html.h). Long tables are paged server-side (LIMIT/OFFSET,
 * REP_PAGE_LIMIT rows) and sorted by links, so they work without
 * JavaScript. Called from the server's request threads concurrently.
 *
 * The page functions below the dispatcher are the report's own: each fills
 * p (rep_html.h) and returns 0, or -EIO after a database error (answered
 * 500 by the server).
 */
#ifndef REP_PAGES_H
#define REP_PAGES_H

#include <stddef.h>

#include "rep_api.h"
#include "rep_html.h"
#include "rep_http.h"

struct cmn_sites;
struct rep_graph;
struct rep_hostset;

/* What every page request shares (borrowed for the server's lifetime). */
struct rep_pages_ctx {
    const char *db_path;           /* database to read */
    const struct cmn_sites *sites; /* sites file's sites, or NULL: the database's table */
    const char *static_dir;        /* vendored scripts (rep_static.h), or NULL: none */
    bool resolve;                  /* reverse DNS for hosts without a name (rep_names.h) */
};

/* Answer GET `path` with its query parameters into r: 200 page, 303 redirect
 * (r->location), 404 page. 0, or -EIO (database unreadable: the caller
 * answers 500). */
int rep_pages_handle(const struct rep_pages_ctx *ctx, const char *path, const struct rep_qarg *args,
                     size_t nargs, struct rep_resp *r);

/* A 404 page saying `what`, with `detail` (may be NULL) escaped in code. */
void rep_pages_not_found(struct rep_page *p, const char *what, const char *detail);

/* rep_pages.c */
int rep_pages_overview(struct rep_page *p);
int rep_pages_hosts(struct rep_page *p);
int rep_pages_host(struct rep_page *p, const char *raw);
int rep_pages_events(struct rep_page *p);
int rep_pages_monitor(struct rep_page *p, bool json);
/* /metrics: the run's totals and every node_stats counter in Prometheus text
 * format (renkei_<kind>_<counter>{node, name}), plus when each node last
 * reported and whether it ended. */
int rep_pages_metrics(struct rep_page *p);

/* rep_pages_svc.c */
int rep_pages_services(struct rep_page *p);
int rep_pages_service(struct rep_page *p, const char *rest); /* "IP/proto/port" */
int rep_pages_sites(struct rep_page *p);
int rep_pages_site(struct rep_page *p, const char *name);
int rep_pages_network(struct rep_page *p, const char *cidr);

/* rep_pages_impact.c: these load the map (rep_graph) themselves. */
int rep_pages_impact(struct rep_page *p, bool csv);
int rep_pages_graph(struct rep_page *p, const char *static_dir);
/* Hosts and services that depend, transitively, on service (ip, proto,
 * port) of map g: a table written into the service page. */
int rep_pages_dependents(struct rep_page *p, const struct rep_graph *g, const char *ip, int proto,
                         int port);

/* The map of p's database (rep_graph.h): loaded inside p's transaction, or
 * the one loaded before when the merger has not committed since (the key:
 * meta totals and epochs), shared by the requests that read it. NULL after
 * logging a load failure. The map stays valid until the page gives it back
 * with rep_pages_map_release(ref), which NULLs *ref. */
struct rep_pages_map;
const struct rep_graph *rep_pages_map_acquire(struct rep_page *p,
                                              struct rep_pages_map **ref /* OUT */);
void rep_pages_map_release(struct rep_pages_map **ref);

/* What identifies the state of p's database for the caches above and below
 * (path, sites, meta totals, epochs and their commits), read in p's
 * transaction, into key. */
void rep_pages_state_key(struct rep_page *p, char *key /* OUT */, size_t len);

/* The hosts in memory (rep_hostset.h), cached like the map: loaded in p's
 * transaction when the state key changed, else shared. NULL after logging a
 * load failure; give it back with rep_pages_hostset_release. */
struct rep_pages_hosts;
const struct rep_hostset *rep_pages_hostset_acquire(struct rep_page *p,
                                                    struct rep_pages_hosts **ref /* OUT */);
void rep_pages_hostset_release(struct rep_pages_hosts **ref);
void rep_pages_hostset_clear(void); /* by rep_pages_cache_clear */

/* Free the map kept between requests (when no request uses it); the server
 * calls it on stop. */
void rep_pages_cache_clear(void);

#endif /* REP_PAGES_H */
