/* SPDX-License-Identifier: MIT
 * trk_role: decides whether an (ip, proto, port) endpoint is a server port, a
 * client port, or neither, from its own cumulative evidence only (struct
 * cmn_endpoint_rec, which the owning tracker sees completely). It is a pure
 * function: same evidence, same answer, whatever the number of trackers, the
 * batch size or the epoch length. Never looks at the peer's evidence.
 *
 * R0 (checked first): a TCP endpoint that received a pure SYN and sent more
 *    SYN+ACKs than it received answered connection attempts: it listens
 *    (a port both answering and answered as often, a reused port, is left
 *    to the score), so it is a server, with
 *    score max(s, 1.0), whatever the gates say (a port open to a scanner, a
 *    flooded port that still answers). Except the active FTP case below
 *    (the client end of an active FTP data connection answers the server's
 *    SYN from port 20).
 *
 * Gates (then; any hit gives UNKNOWN, confidence 0):
 *  G1 no packets at all.
 *  G2 TCP: nothing "real" went out (every packet sent was a pure SYN or an
 *     RST) or nothing real came in (every packet received was a pure SYN or
 *     an RST). Catches ports that only answered a scan with RST, silent
 *     ports, spoofed SYN-flood sources (no phantom clients), SYN scanners and
 *     FIN/Xmas/Null scanners (they get only RSTs back).
 *  G3 probe pattern: sessions to >= 4 peer ports and more than 2 per peer,
 *     mostly initiated by this endpoint (init > 2*resp): a scanner, no client.
 *     Not for port 20: active FTP data is opened by the server to a new
 *     client port each time (a port-20 scanner still meets G2: it sends
 *     nothing but SYNs and RSTs).
 *  G4 UDP/SCTP closed port: the endpoint sent nothing and refused datagrams
 *     with ICMP (rst_sent counts its port-unreachable / prohibited errors
 *     quoting them): a UDP port answered only by ICMP is no service, even if
 *     it was closed for part of the capture only (one-way receivers that were
 *     down for a while are lost: nothing shows they were up).
 *  G5 UDP/SCTP one-off: at most 3 datagrams of a single session reached an
 *     ephemeral port (>= 32768) that sent nothing: traceroute probes that
 *     expire on the path, strays. Not enough to call it a listener.
 *
 * Score s (positive = server, negative = client), weights:
 *  handshake (TCP)  4.0 * (SA_s - SA_r + (S_r - S_s)/2) / (SA_s + SA_r + (S_r + S_s)/2)
 *                   SA = SYN+ACK, S = pure SYN, _s sent, _r received
 *  opening          (resp - init)/(resp + init) * 1.0 (TCP) or 2.0 (UDP, SCTP);
 *                   openings count only sessions whose start was seen
 *  well-known port  +2.5 when port < 1024 (ntp 123<->123: both ends servers)
 *  ephemeral port   -1.0 when port >= 32768, unless the port stayed fixed for
 *                   several peers or one peer's several ports (fan-in, or
 *                   peer_ports > peers) and it accepted (A below): a
 *                   listener on a high port
 *  lower port       +1.0 * lower_port_sessions / sessions
 *  fan-in           +2.0 * min(1, 0.5 A + log2(peers)/4) when peers >= 2 and
 *                   peer_ports >= peers (two clients: +1.5, beating one
 *                   peer's lower-port bonus, 1.0 - 0.25). A: 0.5 when the
 *                   endpoint began no seen session or accepted more than it
 *                   began, else 0 (a reused client port meets several peers)
 *  peer ports       +1.0 * min(1, log2(peer_ports/peers)) when peer_ports > peers
 *  one service      -2.0 when peers >= 2 and peer_ports == 1 (a monitor polling
 *                   the same port on many hosts is their client)
 *  single peer      -0.25 when peers == 1 and peer_ports == 1
 *  Port 20 (ftp-data) ignores handshake and opening: active FTP opens data
 *  connections from the server side.
 *
 * Decision: s > 0.1 server, s < -0.1 client, else unknown. A server must have
 * received something (one-way UDP receivers such as syslog are servers), a
 * client must have sent something (one-way UDP senders are clients). A server
 * must have accepted a conversation: an endpoint that began every session
 * whose start was seen (init_sessions > 0, resp_sessions == 0) is a client
 * (unknown if it sent nothing), score -1.0, whatever its port and fan-in (an
 * NTP client on 123, DNS 53 -> 53 and NTP 123 -> 123 initiators); sessions
 * seen mid-stream count neither way; not port 20 (active FTP).
 * Active FTP (also after R0): a TCP endpoint all of whose sessions are with a
 * peer's port 20 (ftp_data_sessions == sessions) is the client end of FTP
 * data connections, a client (score -1.0), whatever its port number. There
 * is no rule on high ports as such: a listener on port >= 32768 with a single
 * session (a P2P node, a passive FTP data port, dynamic RPC) is a server.
 * Confidence = 1 - exp(-|s|/2), in [0,1), 0 for unknown.
 *
 * DHCP (checked before R0): UDP port 67 that sent something is a server, UDP
 * port 68 that sent something a client, else unknown; score 3.5 (confidence
 * 0.83). The protocol fixes the ports, and the server's answers mostly go to
 * a broadcast or to an address that has not asked from it yet.
 *
 * Not decided here: traffic to broadcast / multicast groups and from 0.0.0.0
 * or :: is not folded into any endpoint (trk_endpoint.h), so it never makes
 * a server or a client; the merger's groups table summarises it.
 */
#ifndef TRK_ROLE_H
#define TRK_ROLE_H

#include "cmn_record.h"

#define TRK_ROLE_EPHEMERAL 32768 /* first port of the usual ephemeral range (Linux) */

/* Decide the role of the endpoint described by `ev`. Writes the confidence
 * in [0,1] to *confidence when not NULL. Pure, thread-safe. */
enum cmn_role trk_role_decide(const struct cmn_endpoint_rec *ev, float *confidence /* OUT */);

/* The score behind the decision (positive = server), for tests and tuning. */
double trk_role_score(const struct cmn_endpoint_rec *ev);

#endif /* TRK_ROLE_H */
