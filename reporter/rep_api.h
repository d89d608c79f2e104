/* SPDX-License-Identifier: MIT
 * rep_api: the JSON API of the web reporter, every route under /api/
 * (docs/API.md): paged, sorted and filtered lists of hosts, services, edges,
 * sites and events, one host, the export and the impact analysis. Items use
 * the export contract's field names (rep_json.h), so a consumer reuses its
 * parser. Each request opens its own read-only connection and reads in one
 * transaction (a consistent snapshot while the merger writes).
 *
 * Parameters are checked before anything is read: an unknown parameter, a
 * repeated single-value parameter or a bad value is a 400 whose JSON body
 * names it ({"error": "...", "parameter": "limit", "value": "..."}); an
 * unknown route is a JSON 404. Every text from the request that is echoed
 * goes through rep_json_str (invalid UTF-8 becomes U+FFFD), so the body is
 * always valid JSON. Called from the server's request threads concurrently;
 * the shared state is the borrowed, read-only context and a lock that lets
 * one impact request at a time load its map (rep_graph_load is not
 * reentrant).
 */
#ifndef REP_API_H
#define REP_API_H

#include <stdbool.h>
#include <stddef.h>

#include "rep_http.h"

struct cmn_sites;

#define REP_API_ARGS_MAX  64   /* query parameters per request; more is a 400 */
#define REP_API_LIMIT     100  /* default page size */
#define REP_API_LIMIT_MAX 1000 /* largest page */

/* One query parameter as the server decoded it (percent-decoding done). */
struct rep_qarg {
    const char *key; /* never NULL */
    const char *val; /* NULL for a bare "?key" */
    bool nul;        /* key or value held a %00 (C strings end there): refused */
};

/* What every API request shares (borrowed for the server's lifetime). */
struct rep_api_ctx {
    const char *db_path;           /* database to read */
    const struct cmn_sites *sites; /* sites file's sites, or NULL: the database's table */
    bool resolve;                  /* reverse DNS for hosts without a name (rep_names.h) */
};

/* A request: the path as decoded ("/api/hosts"), its parameters in order. */
struct rep_api_req {
    const char *path;
    const struct rep_qarg *args;
    size_t nargs;
    bool args_overflow; /* the server dropped parameters past REP_API_ARGS_MAX */
};

/* Answer `rq` (path under /api/) into `r`: status, JSON type, body. Always
 * fills a JSON response (200, 400, 404, or 500 after logging a database
 * error); returns 0, or -ENOMEM when the body could not be built. */
int rep_api_handle(const struct rep_api_ctx *ctx, const struct rep_api_req *rq, struct rep_resp *r);

#endif /* REP_API_H */
