/* SPDX-License-Identifier: MIT
 * cmn_names: the services file, which names a service (protocol, port) for
 * reports: `tcp/50020 order-api` (proto/port name) or the /etc/services
 * form `order-api 50020/tcp [aliases...]` (aliases ignored), `#` comments,
 * blank lines. Parsed from a buffer (fuzzable) or a file; every bad line is
 * reported as "FILE:LINE: what was wrong", and a file with any bad line is
 * refused whole (names are a contract with the reader, never half applied).
 * Used by renkei analyze (checks the file before starting anything) and the
 * merger (stores the entries in service_names, docs/SCHEMA.md). No state.
 */
#ifndef CMN_NAMES_H
#define CMN_NAMES_H

#include <stddef.h>
#include <stdint.h>

#define CMN_NAMES_SERVICE_MAX 63    /* characters of a service name */
#define CMN_NAMES_LINE_MAX    1024  /* characters of a line */
#define CMN_NAMES_ENTRIES_MAX 65536 /* entries of a file (one per proto/port: 4 protocols) */

/* One service name. */
struct cmn_service_entry {
    uint8_t proto;                        /* IP protocol: 6 tcp, 17 udp, 132 sctp, 33 dccp */
    uint16_t port;                        /* 1..65535 */
    uint32_t line;                        /* line number in its file (messages) */
    char name[CMN_NAMES_SERVICE_MAX + 1]; /* printable ASCII, NUL-terminated */
};

/* Parse `len` bytes of services-file text; `label` names the source in
 * messages (a path). Returns the number of entries with *out a malloc'd
 * array the caller frees (NULL when 0), or -EINVAL when a line is bad: then
 * *out is NULL and err holds one "label:line: what" per bad line, separated
 * by newlines (cut to errlen; the first line always fits if errlen >= 160).
 * Protocols: tcp, udp, sctp, dccp (lower or upper case). Ports 1..65535. A
 * second entry for the same proto/port is an error naming the first line. */
long cmn_names_parse_services(const char *buf, size_t len, const char *label,
                              struct cmn_service_entry **out /* OUT */, char *err /* OUT */,
                              size_t errlen);

/* As cmn_names_parse_services on the contents of file `path`. Also returns
 * -errno (with err "path: reason") when the file cannot be read. */
long cmn_names_load_services(const char *path, struct cmn_service_entry **out /* OUT */,
                             char *err /* OUT */, size_t errlen);

#endif /* CMN_NAMES_H */
