/* SPDX-License-Identifier: MIT
 * rep_http: the web reporter (libmicrohttpd) over a renkei database: the
 * server, its threads and the dispatch of each GET to the HTML report
 * (rep_pages.h, docs/REPORT.md), the JSON API under /api/ (rep_api.h,
 * docs/API.md) or the vendored scripts under /static/ (rep_static.h).
 * Read-only; the merger may keep writing (WAL).
 */
#ifndef REP_HTTP_H
#define REP_HTTP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct rep_config {
    const char *db_path;    /* database written by renkei-merger */
    const char *listen;     /* "127.0.0.1:8080", "[::1]:8080" or ":8080" (all addresses) */
    bool resolve;           /* reverse DNS for hosts without a name (rep_names.h); default off */
    const char *sites_path; /* sites file (cmn_sites.h), read once at start; NULL: the
                               database's sites table, read per request (may be absent) */
    const char *static_dir; /* /static/ files (rep_static.h); NULL: rep_static_find() */
    const char *auth_path;  /* users file (rep_auth.h): HTTP Basic required; NULL: none,
                               allowed on a loopback address only */
    const char *tls_cert;   /* PEM certificate (chain): HTTPS; NULL: plain HTTP */
    const char *tls_key;    /* PEM private key of tls_cert */
    unsigned max_conns;     /* connections at once (0: 256) */
    unsigned per_ip_conns;  /* connections at once per client address (0: 32) */
    unsigned timeout_s;     /* idle seconds before a connection is closed (0: 15) */
};

/* The options renkei-reporter and `renkei serve` share (cmn_cli_opt table). */
#define REP_SECURITY_CLI_OPTS                                                                      \
    {"auth_file", "FILE", "users (renkei passwd): HTTP Basic auth; required off loopback"},        \
        {"tls_cert", "FILE", "PEM certificate: serve HTTPS (with tls_key)"},                       \
        {"tls_key", "FILE", "PEM private key of tls_cert"},                                        \
        {"max_connections", "N", "connections at once (default 256)"},                             \
        {"per_ip_connections", "N", "connections at once per client address (default 32)"},        \
    {                                                                                              \
        "connection_timeout", "SECONDS", "idle time before a connection is closed (default 15)"    \
    }

struct cmn_config;
/* Read the REP_SECURITY_CLI_OPTS keys of `section` into cfg. 0, or -1 after
 * printing which key was wrong. */
int rep_config_security(struct rep_config *cfg, const struct cmn_config *c, const char *section);

/* A response under construction, filled by the route handlers (rep_pages,
 * rep_api); the server owns the stream and sends what was written. */
struct rep_resp {
    FILE *f;              /* body (a memstream) */
    int status;           /* HTTP status, 200 unless set */
    const char *type;     /* Content-Type (static string) */
    char location[512];   /* Location of a 3xx (set by the page), else empty */
    const char *filename; /* Content-Disposition attachment name (static), or NULL */
    bool cacheable;       /* static file: may be cached a day (else no-store) */
};

struct rep_server;

/* Start serving in background threads. NULL after logging why (bad listen
 * address, port in use, database unreadable). */
struct rep_server *rep_server_start(const struct rep_config *cfg);

/* The port actually bound (useful with port 0). */
uint16_t rep_server_port(const struct rep_server *srv);

struct rep_api_ctx;
struct rep_api_req;
struct rep_pages_ctx;

/* Answer one GET as the server does once MHD has decoded it: "/api/..." to
 * the JSON API (rep_api.h), "/static/..." to the vendored scripts
 * (rep_static.h), everything else to the HTML report (rep_pages.h: a page or
 * a 404 page). Fills p (status, type, body); 0, or -EIO when the database is
 * unreadable (the server answers 500). fuzz_api calls it with any bytes as
 * path and parameters. */
int rep_http_dispatch(const struct rep_api_ctx *api, const struct rep_pages_ctx *pages,
                      const struct rep_api_req *rq, struct rep_resp *p);

/* Stop and free; accepts NULL and NULLs the pointer. */
void rep_server_stop(struct rep_server **srv);

/* Start, then block until SIGINT or SIGTERM, then stop. 0 or negative errno. */
int rep_serve(const struct rep_config *cfg);

#endif /* REP_HTTP_H */
