/* SPDX-License-Identifier: MIT
 * rep_ports: port names for reports ("postgresql" for tcp/5432). Asks the
 * system services database (getservbyport_r, thread-safe) and falls back to a
 * built-in table of common data-centre services, so names appear even on
 * hosts with a sparse /etc/services. Answers are cached for the process
 * (emptied when /etc/services changes).
 */
#ifndef REP_PORTS_H
#define REP_PORTS_H

#include <stddef.h>
#include <stdint.h>

/* Name of (proto, port) written into buf, or NULL when unknown (and for
 * protocols other than tcp, udp and sctp). Thread-safe. */
const char *rep_port_name(uint8_t proto, uint16_t port, char *buf /* OUT */, size_t len);

#endif /* REP_PORTS_H */
