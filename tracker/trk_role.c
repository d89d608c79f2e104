/* SPDX-License-Identifier: MIT
 * trk_role: the rules documented in trk_role.h. Each sign is a bounded term so
 * no single counter can grow without limit and drown the others; the weights
 * were chosen on the small cases of test_trk_role.c (handshake both ways,
 * mid-stream, fan-in/fan-out, scans, floods, UDP one-way and request/response,
 * well-known to well-known).
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "trk_role.h"

#define W_HANDSHAKE  4.0
#define W_OPEN_TCP   1.0
#define W_OPEN_DGRAM 2.0
#define W_WELLKNOWN  2.5
#define W_EPHEMERAL  1.0
#define W_LOWER      1.0
#define W_FANIN      2.0
#define W_PEERPORTS  1.0
#define W_ONESVC     2.0
#define W_SINGLE     0.25
#define DECIDE_MIN   0.1
#define W_ANSWERED   1.0 /* least score of an endpoint that answered SYN with SYN+ACK */

#define PORT_FTP_DATA    20
#define PORT_DHCP_SERVER 67
#define PORT_DHCP_CLIENT 68

static uint64_t s_sub(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* G2/G3 gates; true when the endpoint must stay unknown. */
static bool s_gated(const struct cmn_endpoint_rec *ev)
{
    if (ev->pkts_out + ev->pkts_in == 0)
        return true;
    if (ev->proto == 6) {
        uint64_t out_real = s_sub(ev->pkts_out, (uint64_t)ev->syn_sent + ev->rst_sent);
        uint64_t in_real = s_sub(ev->pkts_in, (uint64_t)ev->syn_recv + ev->rst_recv);
        if (out_real == 0 || in_real == 0)
            return true;
    }
    if (ev->proto != 6 && ev->pkts_out == 0) {
        /* G4: a datagram port that answered with an ICMP refusal (port
         * unreachable, prohibited) and never sent anything is closed. */
        if (ev->rst_sent > 0)
            return true;
        /* G5: a few unanswered datagrams of one session to an ephemeral port
         * (traceroute probes expiring on the path, strays) show no listener. */
        if (ev->port >= TRK_ROLE_EPHEMERAL && ev->sessions <= 1 && ev->pkts_in <= 3)
            return true;
    }
    /* active FTP data (port 20) opens connections to many client ports by
     * design; a scanner using source port 20 is still caught by G2 */
    uint32_t peers = ev->peers ? ev->peers : 1;
    if (ev->port != PORT_FTP_DATA && ev->peer_ports >= 4 && ev->peer_ports > 2ull * peers &&
        ev->init_sessions > 2ull * ev->resp_sessions)
        return true;
    return false;
}

double trk_role_score(const struct cmn_endpoint_rec *ev)
{
    double s = 0;
    bool tcp = ev->proto == 6;
    bool reversed = ev->port == PORT_FTP_DATA;
    if (tcp && !reversed) {
        double pos = ev->synack_sent + 0.5 * ev->syn_recv;
        double neg = ev->synack_recv + 0.5 * ev->syn_sent;
        if (pos + neg > 0)
            s += W_HANDSHAKE * (pos - neg) / (pos + neg);
    }
    if (!reversed && ev->init_sessions + ev->resp_sessions > 0) {
        double d = (double)ev->resp_sessions - (double)ev->init_sessions;
        s += (tcp ? W_OPEN_TCP : W_OPEN_DGRAM) * d /
             ((double)ev->resp_sessions + (double)ev->init_sessions);
    }
    /* Several peers, or one peer from several ports, reached this port while
     * it stayed fixed: what a listener sees over a capture, never an
     * ephemeral client port, whatever its number. */
    bool fanin = ev->peers >= 2 && ev->peer_ports >= ev->peers;
    bool fixed = fanin || (ev->peers >= 1 && ev->peer_ports > ev->peers);
    /* Not when it began as many of the sessions whose start was seen as it
     * accepted: a reused client port (an active-FTP data port later used to
     * connect out) meets several peers too. */
    bool accepted = ev->init_sessions == 0 || ev->resp_sessions > ev->init_sessions;
    if (ev->port < 1024)
        s += W_WELLKNOWN;
    if (ev->port >= TRK_ROLE_EPHEMERAL && !(fixed && accepted))
        s -= W_EPHEMERAL;
    if (ev->sessions > 0)
        s += W_LOWER * (double)ev->lower_port_sessions / (double)ev->sessions;
    if (fanin) {
        double f = (accepted ? 0.5 : 0.0) + log2((double)ev->peers) / 4.0;
        s += W_FANIN * (f > 1 ? 1 : f);
    }
    if (ev->peers >= 1 && ev->peer_ports > ev->peers) {
        double f = log2((double)ev->peer_ports / (double)ev->peers);
        s += W_PEERPORTS * (f > 1 ? 1 : f);
    }
    if (ev->peers >= 2 && ev->peer_ports == 1)
        s -= W_ONESVC;
    if (ev->peers == 1 && ev->peer_ports == 1)
        s -= W_SINGLE;
    return s;
}

/* R0: the endpoint answered a SYN with a SYN+ACK, so something listens on
 * it; true also when the prober never completed (scans, floods). A port
 * answered as often as it answered (reused: once a listener, once a
 * connecting client) is left to the score. */
static bool s_answered(const struct cmn_endpoint_rec *ev)
{
    return ev->proto == 6 && ev->synack_sent > ev->synack_recv && ev->syn_recv > 0;
}

/* The endpoint began every session whose start was seen and accepted none:
 * whatever its port and fan-out, it serves nobody (an NTP client on 123, DNS
 * 53 -> 53 and NTP 123 -> 123 initiators). Sessions seen mid-stream have no
 * start and do not count either way. Not port 20: active FTP data opens its
 * connections from the server side. */
static bool s_never_accepted(const struct cmn_endpoint_rec *ev)
{
    return ev->resp_sessions == 0 && ev->init_sessions > 0 && ev->port != PORT_FTP_DATA;
}

/* Active FTP (RFC 959 PORT / EPRT): the server connects from its port 20 to
 * the port the client named, so the client's end answers a SYN. An endpoint
 * all of whose sessions are with a peer's port 20 is that client end, not a
 * listener, whatever its port number. A listener that served anyone else
 * (P2P, passive FTP, dynamic RPC on a high port) has other sessions. */
static bool s_ftp_data_client(const struct cmn_endpoint_rec *ev)
{
    return ev->proto == 6 && ev->port != PORT_FTP_DATA && ev->ftp_data_sessions > 0 &&
           ev->ftp_data_sessions >= ev->sessions;
}

/* DHCP (RFC 2131) fixes both ports: udp/67 answers, udp/68 asks. The server
 * often only sends (its offers and acks go to 255.255.255.255:68 or to the
 * offered address, the requests come from 0.0.0.0 to a broadcast), which the
 * score would read as a client and the offered address as a one-way UDP
 * server. Returns true with *role set when the rule applies. */
static bool s_dhcp(const struct cmn_endpoint_rec *ev, enum cmn_role *role, double *s)
{
    if (ev->proto != 17 || (ev->port != PORT_DHCP_SERVER && ev->port != PORT_DHCP_CLIENT))
        return false;
    *s = W_ANSWERED + W_WELLKNOWN;
    if (ev->port == PORT_DHCP_SERVER)
        *role = ev->pkts_out > 0 ? CMN_ROLE_SERVER : CMN_ROLE_UNKNOWN;
    else
        *role = ev->pkts_out > 0 ? CMN_ROLE_CLIENT : CMN_ROLE_UNKNOWN;
    return true;
}

enum cmn_role trk_role_decide(const struct cmn_endpoint_rec *ev, float *confidence)
{
    enum cmn_role role = CMN_ROLE_UNKNOWN;
    double s = 0;
    if (s_dhcp(ev, &role, &s)) {
        /* decided by the protocol */
    } else if (s_answered(ev)) {
        s = trk_role_score(ev);
        if (s < W_ANSWERED)
            s = W_ANSWERED;
        role = CMN_ROLE_SERVER;
    } else if (!s_gated(ev)) {
        s = trk_role_score(ev);
        if (s > DECIDE_MIN && ev->pkts_in > 0)
            role = CMN_ROLE_SERVER;
        else if (s < -DECIDE_MIN && ev->pkts_out > 0)
            role = CMN_ROLE_CLIENT;
        if (role == CMN_ROLE_SERVER && s_never_accepted(ev)) {
            s = -W_ANSWERED;
            role = ev->pkts_out > 0 ? CMN_ROLE_CLIENT : CMN_ROLE_UNKNOWN;
        }
    }
    if (role == CMN_ROLE_SERVER && s_ftp_data_client(ev)) {
        s = -W_ANSWERED;
        role = ev->pkts_out > 0 ? CMN_ROLE_CLIENT : CMN_ROLE_UNKNOWN;
    }
    if (confidence)
        *confidence = role == CMN_ROLE_UNKNOWN ? 0.0f : (float)(1.0 - exp(-fabs(s) / 2.0));
    return role;
}
