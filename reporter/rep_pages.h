/* SPDX-License-Identifier: MIT
 * rep_pages: the HTML pages of the web reporter (rep_http.c routes "/" and
 * "/host/<ip>" here). Each page is written into the response's stream from
 * an open read-only connection inside the caller's read transaction; the
 * pages never write the database. Every database value is HTML-escaped.
 * Called from the server's request threads: no shared state.
 */
#ifndef REP_PAGES_H
#define REP_PAGES_H

#include <sqlite3.h>

#include "rep_http.h"

struct rep_names;

/* "/": the run's summary and every host. `names` (rep_names.h, may be NULL)
 * gives host and service names. 0, or -EIO (database error: the caller
 * answers 500). */
int rep_pages_index(struct rep_resp *p, sqlite3 *db, const struct rep_names *names);

/* "/host/<raw>": one host's services provided (with role evidence), used and
 * their clients. A bad address or an unknown host is a 404 page. 0 or -EIO. */
int rep_pages_host(struct rep_resp *p, sqlite3 *db, const char *raw, const struct rep_names *names);

/* A 404 page saying `what`, with `detail` (may be NULL) escaped in code. */
void rep_pages_not_found(struct rep_resp *p, const char *what, const char *detail);

#endif /* REP_PAGES_H */
