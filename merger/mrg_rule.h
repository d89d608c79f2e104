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
 * servers: the initiator is the client (not for a mid-stream session: its
 * first packet seen names no initiator), then the higher confidence, then
 * the lower port is the server. Decided per session: a TCP session that is only
 * a probe (MRG_PROBE_AB) has no server side, so it adds nothing to an edge,
 * whatever the other sessions of its pair; so has a datagram session whose
 * server side sent nothing but ICMP refusals (MRG_REFUSED).
 */
#ifndef MRG_RULE_H
#define MRG_RULE_H

/* Column X of a session row read through prefix P (MRG_SRV_SIDE_C's C). */
#define MRG_COL(P, X) P #X

/* TCP probe test: true when the session, by its counters read through
 * C(P, column), S the suffix of the server's direction (ab when A is the
 * server side) and K the client's, is only a probe and no conversation
 * (docs/SCHEMA.md "Edge rule"): the client sent nothing but pure SYNs and
 * RSTs (half-open, SYN scans, spoofed floods); or it sent neither SYN nor ACK
 * and the server nothing but RSTs (FIN, Null, Xmas probes, unanswered by an
 * open port); or it completed a handshake, closed it (RST or FIN) and sent
 * nothing but the ACK and that close (connect scans; a handshake not closed
 * yet may be an idle connection, so it counts). A retired row (client port -1) was a
 * conversation when it retired. */
// clang-format off
#define MRG_PROBE_AB(P, C, S, K)                                                                   \
    "(" P "proto = 6 AND " P "a_port <> -1 AND " P "b_port <> -1 AND ("                            \
    /* half-open: only pure SYNs and RSTs from the client */                                       \
    " " C(P, pkts_##K) " - (" C(P, syn_##K) " - " C(P, synack_##K) ") - " C(P, rst_##K) " <= 0"   \
    /* FIN / Null / Xmas: neither SYN nor ACK; the server silent or RST */                         \
    " OR (" C(P, ack_##K) " = 0 AND " C(P, syn_##K) " = 0"                                         \
    "  AND " C(P, pkts_##S) " = " C(P, rst_##S) ")"                                                \
    /* connect scan: handshake, then only the ACK and the client's close */                        \
    " OR (" C(P, synack_##S) " > 0 AND " C(P, syn_##K) " > " C(P, synack_##K)                      \
    "  AND " C(P, rst_##K) " + " C(P, fin_##K) " > 0"                                              \
    "  AND " C(P, pkts_##K) " - " C(P, syn_##K) " - " C(P, rst_##K) " - " C(P, fin_##K)            \
    "   - MIN(" C(P, fin_##S) ", 1) <= 1)))"
// clang-format on

/* Datagram refusal test: true when the server side (suffix S) of a UDP or
 * SCTP session sent nothing but ICMP refusals of it (rst_S counts them,
 * cmn_session_rec.rst): the port was closed to that client, no dependency. */
#define MRG_REFUSED(P, C, S)                                                                       \
    "(" P "proto <> 6 AND " C(P, rst_##S) " > 0 AND " C(P, pkts_##S) " = 0)"

/* 'A', 'B' or NULL: the server side of a session row whose counters are
 * read through C(P, column); the keys, ports and flags through P. */
#define MRG_SRV_SIDE_C(P, C)                                                                       \
    "CASE (CASE WHEN " P "a_port = 0 OR " P "b_port = 0 OR " P "proto IN (1, 58) THEN NULL"        \
    " WHEN renkei_group_pair(" P "a_ip, " P "b_ip) THEN NULL"                                      \
    " WHEN ra = 'server' AND rb = 'server' THEN CASE"                                              \
    "  WHEN " P "flags & 9 = 1 THEN 'B' WHEN " P "flags & 10 = 2 THEN 'A'"                         \
    "  WHEN ca > cb THEN 'A' WHEN cb > ca THEN 'B'"                                                \
    "  WHEN " P "a_port <= " P "b_port THEN 'A' ELSE 'B' END"                                      \
    " WHEN ra = 'server' THEN 'A' WHEN rb = 'server' THEN 'B' END)"                                \
    " WHEN 'A' THEN CASE WHEN " MRG_PROBE_AB(P, C, ab, ba) " OR " MRG_REFUSED(                     \
        P, C, ab) " THEN NULL ELSE 'A' END"                                                        \
                  " WHEN 'B' THEN CASE WHEN " MRG_PROBE_AB(P, C, ba, ab) " OR " MRG_REFUSED(       \
                      P, C, ba) " THEN NULL ELSE 'B' END END"

/* 'A', 'B' or NULL: the server side of a session row. */
#define MRG_SRV_SIDE(P) MRG_SRV_SIDE_C(P, MRG_COL)

/* 'A', 'B' or NULL: the broadcast / multicast side of a session row
 * (cmn_ip_is_group of that side seen from the other; A first). */
#define MRG_GROUP_SIDE(P)                                                                          \
    "CASE WHEN renkei_group(" P "a_ip, " P "b_ip) THEN 'A'"                                        \
    " WHEN renkei_group(" P "b_ip, " P "a_ip) THEN 'B' END"

#endif /* MRG_RULE_H */
