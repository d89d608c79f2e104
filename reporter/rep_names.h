/* SPDX-License-Identifier: MIT
 * rep_names: the names a report shows, loaded once per request or export
 * from a database written by renkei-merger. A host's name comes from the
 * hosts file (host_names) first, else from passive DNS (dns_names: the name
 * seen last, ties by name), else, when resolving is on, from a reverse DNS
 * lookup of the reporter (bounded, cached, see rep_names_resolve); a
 * service's name from the services file (service_names) first, else
 * rep_port_name. Databases of earlier versions lack these tables: their
 * names are simply absent. One cache belongs to one thread (the request's);
 * the reverse-DNS cache behind it is shared and locked.
 */
#ifndef REP_NAMES_H
#define REP_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define REP_NAMES_RDNS_CACHE  4096 /* addresses remembered by the reverse-DNS cache */
#define REP_NAMES_RDNS_BUDGET 1000 /* ms of lookups one cache may spend (one request) */

struct rep_names;

/* Load host and service names from db (read inside the caller's read
 * transaction, if any). Never NULL (out of memory aborts); tables that are
 * missing or unreadable leave their names out. */
struct rep_names *rep_names_load(sqlite3 *db);

/* Free; accepts NULL and NULLs the pointer. */
void rep_names_destroy(struct rep_names **n);

/* Turn reverse DNS lookups on for hosts without a name (getnameinfo with
 * NI_NAMEREQD), within REP_NAMES_RDNS_BUDGET ms for this cache; results
 * (names and failures) are kept in a process-wide cache of
 * REP_NAMES_RDNS_CACHE addresses. Off by default. */
void rep_names_resolve(struct rep_names *n, bool on);

/* Name of host `ip_text` (export text form), or NULL. *source (may be NULL)
 * is set to "hosts_file", "dns", "rdns" or NULL. Borrowed from n. */
const char *rep_names_host(const struct rep_names *n, const char *ip_text,
                           const char **source /* OUT */);

/* Name of service (proto, port): the services file's, else rep_port_name
 * written into buf; NULL when unknown. n may be NULL (rep_port_name only). */
const char *rep_names_service(const struct rep_names *n, uint8_t proto, uint16_t port,
                              char *buf /* OUT */, size_t len);

#endif /* REP_NAMES_H */
