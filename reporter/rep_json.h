/* SPDX-License-Identifier: MIT
 * rep_json: the few JSON writing helpers the export and the HTTP API share:
 * strings escaped per RFC 8259, RFC 3339 UTC times from ns, SQLite columns
 * as JSON integers / numbers / strings / null. Output goes to a FILE (a
 * memstream for HTTP responses).
 */
#ifndef REP_JSON_H
#define REP_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

/* Write `s` as a JSON string (quotes included); NULL writes null. Control
 * characters become \u00XX; valid UTF-8 passes through, every byte that does
 * not start a valid UTF-8 sequence becomes \ufffd (so the output is valid
 * JSON whatever the bytes). */
void rep_json_str(FILE *f, const char *s);

/* Length of the valid multi-byte UTF-8 sequence at p (RFC 3629: no overlongs,
 * no surrogates, nothing past U+10FFFF; stops at a NUL), or 0 when it is not
 * one (ASCII included). The HTML pages use it too. */
size_t rep_utf8_len(const unsigned char *p);

/* Format ns since the Unix epoch as "YYYY-MM-DDTHH:MM:SSZ" (whole seconds,
 * floored). buf >= 32 bytes. Returns buf. */
const char *rep_time_text(int64_t ns, char *buf /* OUT */, size_t len);

/* Column `i` of `st`: time (ns) as a quoted RFC 3339 string, or null. */
void rep_json_col_time(FILE *f, sqlite3_stmt *st, int i);

/* Column `i` as a JSON integer (0 when NULL). */
void rep_json_col_int(FILE *f, sqlite3_stmt *st, int i);

/* Column `i` as a JSON string, or null when NULL (or empty if empty_null). */
void rep_json_col_str(FILE *f, sqlite3_stmt *st, int i, int empty_null);

/* Column `i` as a JSON number with up to 4 significant digits (0 when NULL). */
void rep_json_col_real(FILE *f, sqlite3_stmt *st, int i);

/* Rows of the export (EXPORT_SCHEMA.md), written as one JSON object from a
 * statement selecting exactly the columns below, in order. */
#define REP_HOST_COLS                                                                              \
    "ip, name, network, kind, packets_out, bytes_out, packets_in, bytes_in,"                       \
    " services_provided, services_used, first_ns, last_ns"
#define REP_SERVICE_COLS "ip, proto, port, clients, bytes, packets, confidence, first_ns, last_ns"
/* Role evidence of a service's endpoint row `e` (joined on ip, proto, port). */
#define REP_EVIDENCE_COLS                                                                          \
    "e.synack_sent, e.synack_recv, e.syn_recv, e.rst_sent, e.peers, e.peer_ports, e.sessions,"     \
    " e.epochs_seen"
#define REP_EDGE_COLS                                                                              \
    "client_ip, server_ip, proto, server_port, packets_c2s, bytes_c2s, packets_s2c,"               \
    " bytes_s2c, sessions, first_ns, last_ns"
#define REP_EVENT_COLS                                                                             \
    "kind, target_ip, port, source_count, packets, first_ns, last_ns, proto, actor_ip,"            \
    " port_count, ROUND(packets * 1e9 / MAX(last_ns - first_ns, 1000000), 1)"

struct rep_names;

void rep_json_host(FILE *f, sqlite3_stmt *st);
/* A host row with its "site" (NULL: null) after "kind", as the export has it. */
void rep_json_host_site(FILE *f, sqlite3_stmt *st, const char *site);
void rep_json_service(FILE *f, sqlite3_stmt *st);

/* As rep_json_host / rep_json_service with names from `names` (rep_names.h;
 * NULL: the row's own name, from the hosts file, and rep_port_name): host
 * "name" and "name_source" ("hosts_file", "dns", "rdns" or null), service
 * "name" from the services file first. */
void rep_json_host_named(FILE *f, sqlite3_stmt *st, const struct rep_names *names);
void rep_json_service_named(FILE *f, sqlite3_stmt *st, const struct rep_names *names);
/* Both: names and the host's "site" (the export's host rows). */
void rep_json_host_named_site(FILE *f, sqlite3_stmt *st, const struct rep_names *names,
                              const char *site);
void rep_json_edge(FILE *f, sqlite3_stmt *st);
void rep_json_event(FILE *f, sqlite3_stmt *st);

#endif /* REP_JSON_H */
