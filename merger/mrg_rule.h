/* SPDX-License-Identifier: MIT
 * mrg_rule: the edge rule (docs/SCHEMA.md "Edge rule"), written once, in C,
 * for everything that needs a session's server side: the live window's
 * edges, the epoch's usage attribution and retirement (mrg_live.c), and the
 * SQL reference rebuild mrg_db_refresh_full, which calls it through the SQL
 * function renkei_srv_side that mrg_db registers on its own connection (never
 * stored in the schema: the sqlite3 shell still reads every table and view).
 * Internal to the merger; pure functions of one session row and what its two
 * endpoints say.
 *
 * Rule: no server side for port-less rows, ICMP, or a session with a
 * broadcast / multicast side or a 0.0.0.0 / :: side (cmn_ip_is_group_pair);
 * else the endpoint whose role is server; both servers: the initiator is the
 * client (not for a mid-stream session: its first packet seen names no
 * initiator), then the higher confidence, then the lower port is the server.
 * Decided per session, on its cumulative counters: a TCP session that is only
 * a probe (mrg_rule_probe) has no server side, so it adds nothing to an edge,
 * whatever the other sessions of its pair; so has a datagram session whose
 * server side sent nothing but ICMP refusals (mrg_rule_refused). Counters are
 * compared as signed 64-bit integers, as SQLite did when the rule was SQL.
 */
#ifndef MRG_RULE_H
#define MRG_RULE_H

#include <stdbool.h>
#include <stdint.h>

#include "cmn_record.h"

/* Server side of a session row. */
enum mrg_side {
    MRG_SIDE_NONE = 0, /* no edge: the traffic stays in host totals */
    MRG_SIDE_A = 1,    /* A (the lower address) is the server */
    MRG_SIDE_B = 2,    /* B is the server */
};

/* What the rule reads of a session row of sessions_all (a live session or a
 * retired fold). Counters are cumulative, indexed by direction (CMN_DIR_AB:
 * sent by A). A retired row's client port is -1. */
struct mrg_rule_row {
    int32_t a_port;     /* A's port, -1 on a retired row's client side */
    int32_t b_port;     /* B's port */
    uint8_t proto;      /* IP protocol */
    uint8_t flags;      /* CMN_SESS_* (merged) */
    bool group_pair;    /* cmn_ip_is_group_pair(a_ip, b_ip) */
    uint64_t pkts[2];   /* packets per direction */
    uint64_t syn[2];    /* SYN (incl. SYN+ACK) per direction */
    uint64_t synack[2]; /* SYN+ACK per direction */
    uint64_t ack[2];    /* ACK per direction */
    uint64_t fin[2];    /* FIN per direction */
    uint64_t rst[2];    /* RST (datagrams: ICMP refusals) per direction */
};

/* What the rule reads of an endpoint: f(endpoint) = (role is server,
 * confidence). A missing endpoint and a non-server one are alike. */
struct mrg_rule_ep {
    bool server; /* role = 'server' */
    double conf; /* its confidence, only read when server */
};

/* TCP probe test (docs/SCHEMA.md "Edge rule"): true when the session, whose
 * server sends in direction s (CMN_DIR_AB when A is the server side) and
 * whose client sends in 1 - s, is only a probe and no conversation: the
 * client sent nothing but pure SYNs and RSTs (half-open, SYN scans, spoofed
 * floods); or it sent neither SYN nor ACK and the server nothing but RSTs
 * (FIN, Null, Xmas probes, unanswered by an open port); or it completed a
 * handshake, closed it (RST or FIN) and sent nothing but the ACK and that
 * close (connect scans; a handshake not closed yet may be an idle connection,
 * so it counts). A retired row (client port -1) was a conversation when it
 * retired. */
static inline bool mrg_rule_probe(const struct mrg_rule_row *r, int s)
{
    if (r->proto != 6 || r->a_port == -1 || r->b_port == -1)
        return false;
    const int k = 1 - s;
    const int64_t pk = (int64_t)r->pkts[k], sk = (int64_t)r->syn[k], sak = (int64_t)r->synack[k];
    const int64_t rk = (int64_t)r->rst[k], ak = (int64_t)r->ack[k], fk = (int64_t)r->fin[k];
    const int64_t ps = (int64_t)r->pkts[s], rs = (int64_t)r->rst[s];
    const int64_t sas = (int64_t)r->synack[s], fs = (int64_t)r->fin[s];
    if (pk - (sk - sak) - rk <= 0) /* half-open: only pure SYNs and RSTs from the client */
        return true;
    if (ak == 0 && sk == 0 && ps == rs) /* FIN / Null / Xmas: the server silent or RST */
        return true;
    /* connect scan: handshake, then only the ACK and the client's close */
    return sas > 0 && sk > sak && rk + fk > 0 && pk - sk - rk - fk - (fs < 1 ? fs : 1) <= 1;
}

/* Datagram refusal test: true when the server side (sending in direction s)
 * of a UDP or SCTP session sent nothing but ICMP refusals of it (rst counts
 * them, cmn_session_rec.rst): the port was closed to that client. */
static inline bool mrg_rule_refused(const struct mrg_rule_row *r, int s)
{
    return r->proto != 6 && (int64_t)r->rst[s] > 0 && r->pkts[s] == 0;
}

/* The side the endpoints name server, before the per-session probe and
 * refusal tests (also tells whether confidences decide: *by_conf). */
static inline enum mrg_side mrg_rule_named_side(const struct mrg_rule_row *r,
                                                const struct mrg_rule_ep *ea,
                                                const struct mrg_rule_ep *eb,
                                                bool *by_conf /* OUT, may be NULL */)
{
    if (by_conf)
        *by_conf = false;
    if (r->a_port == 0 || r->b_port == 0 || r->proto == 1 || r->proto == 58 || r->group_pair)
        return MRG_SIDE_NONE;
    if (ea->server && eb->server) {
        if ((r->flags & (CMN_SESS_A_INIT | CMN_SESS_MIDSTREAM)) == CMN_SESS_A_INIT)
            return MRG_SIDE_B;
        if ((r->flags & (CMN_SESS_B_INIT | CMN_SESS_MIDSTREAM)) == CMN_SESS_B_INIT)
            return MRG_SIDE_A;
        if (by_conf)
            *by_conf = true;
        if (ea->conf > eb->conf)
            return MRG_SIDE_A;
        if (eb->conf > ea->conf)
            return MRG_SIDE_B;
        return r->a_port <= r->b_port ? MRG_SIDE_A : MRG_SIDE_B;
    }
    return ea->server ? MRG_SIDE_A : eb->server ? MRG_SIDE_B : MRG_SIDE_NONE;
}

/* The server side of a session row (the rule above). */
static inline enum mrg_side mrg_rule_srv_side(const struct mrg_rule_row *r,
                                              const struct mrg_rule_ep *ea,
                                              const struct mrg_rule_ep *eb)
{
    enum mrg_side s = mrg_rule_named_side(r, ea, eb, NULL);
    if (s == MRG_SIDE_NONE)
        return s;
    const int d = s == MRG_SIDE_A ? CMN_DIR_AB : CMN_DIR_BA; /* the server's direction */
    return mrg_rule_probe(r, d) || mrg_rule_refused(r, d) ? MRG_SIDE_NONE : s;
}

/* The client's "real" packets of a session row with server side s (not a
 * pure SYN, not an RST): a TCP edge is shown only when they add up to more
 * than 0 over its sessions (the handshake rule). */
static inline int64_t mrg_rule_real(const struct mrg_rule_row *r, enum mrg_side s)
{
    const int k = s == MRG_SIDE_A ? CMN_DIR_BA : CMN_DIR_AB; /* the client's direction */
    return (int64_t)r->pkts[k] - ((int64_t)r->syn[k] - (int64_t)r->synack[k]) - (int64_t)r->rst[k];
}

#endif /* MRG_RULE_H */
