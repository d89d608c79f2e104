/* SPDX-License-Identifier: MIT
 * mrg_rule: the edge rule as SQL text, written once for every statement that
 * needs a session's server side (mrg_db: edges, the epoch's attribution;
 * mrg_rollup: retirement). Internal to the merger. The expressions read the
 * columns a_ip, b_ip, a_port, b_port, proto, flags of a session row through
 * the prefix P ("" or "s.") and the joined endpoint roles / confidences ra,
 * ca, rb, cb, and call the SQL functions mrg_db registers on its connection
 * (renkei_group_pair, renkei_group); they are never stored in the schema, so
 * the sqlite3 shell can still read every table and view.
 *
 * Rule (docs/SCHEMA.md "Edge rule"): no server side for port-less rows, ICMP,
 * or a session with a broadcast / multicast side or a 0.0.0.0 / :: side
 * (cmn_ip_is_group_pair); else the endpoint whose role is server; both
 * servers: the initiator is the client, then the higher confidence, then the
 * lower port is the server.
 */
#ifndef MRG_RULE_H
#define MRG_RULE_H

/* 'A', 'B' or NULL: the server side of a session row. */
#define MRG_SRV_SIDE(P)                                                                            \
    "CASE WHEN " P "a_port = 0 OR " P "b_port = 0 OR " P "proto IN (1, 58) THEN NULL"              \
    " WHEN renkei_group_pair(" P "a_ip, " P "b_ip) THEN NULL"                                      \
    " WHEN ra = 'server' AND rb = 'server' THEN CASE"                                              \
    "  WHEN " P "flags & 1 THEN 'B' WHEN " P "flags & 2 THEN 'A'"                                  \
    "  WHEN ca > cb THEN 'A' WHEN cb > ca THEN 'B'"                                                \
    "  WHEN " P "a_port <= " P "b_port THEN 'A' ELSE 'B' END"                                      \
    " WHEN ra = 'server' THEN 'A' WHEN rb = 'server' THEN 'B' END"

/* 'A', 'B' or NULL: the broadcast / multicast side of a session row
 * (cmn_ip_is_group of that side seen from the other; A first). */
#define MRG_GROUP_SIDE(P)                                                                          \
    "CASE WHEN renkei_group(" P "a_ip, " P "b_ip) THEN 'A'"                                        \
    " WHEN renkei_group(" P "b_ip, " P "a_ip) THEN 'B' END"

#endif /* MRG_RULE_H */
