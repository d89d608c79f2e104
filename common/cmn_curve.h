/* SPDX-License-Identifier: MIT
 * cmn_curve: ZeroMQ CURVE security for every TCP socket a daemon opens
 * (cmn_zmq_open), configured once per process from three keys:
 *   curve_key    = FILE  this node's key pair, written by `renkei keygen`
 *                        (two lines, "public Z85" and "secret Z85", mode 0600)
 *   curve_peers  = FILE  the keyring: one peer per line, "NAME PUBLIC_KEY_Z85
 *                        [ENDPOINT...] [as=KIND:ID,...]"; a line starting with '#' is a
 *                        comment (Z85 keys hold '#'). Its keys are the
 *                        allow-list of this node's bound sockets; the
 *                        ENDPOINTs name the server key of each socket this
 *                        node connects (its entry must list that endpoint)
 *   insecure_lab = true  plaintext TCP, logged as a warning (a lab only)
 * A TCP socket with neither CURVE nor insecure_lab is refused: cmn_zmq_open
 * fails naming the endpoint. ipc:// and inproc:// sockets need no CURVE
 * (file permissions and the process keep strangers out).
 *
 * A bound socket is a CURVE server; each context gets one ZAP handler thread
 * (inproc://zeromq.zap.01) that accepts a client key only if the keyring
 * lists it, logs every refusal with the peer's address and key, and counts
 * it (cmn_curve_refused). The handler ends when its context is terminated.
 * It gives each accepted connection the peer's keyring NAME as its ZAP
 * user id (zmq_msg_gets "User-Id"); receivers pass it with the identity a
 * message claims (Hello, batch, result... of kind K and id N) to
 * cmn_curve_may_send: a peer whose entry has an as= list may send only as
 * those identities ("as=collector:1", "as=tracker:*"), so a trusted key
 * cannot speak for another node; an entry without as= may send as any.
 */
#ifndef CMN_CURVE_H
#define CMN_CURVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmn_config.h"

#define CMN_CURVE_KEYLEN 40 /* Z85 text of a 32-byte key */

/* The options every daemon accepts (in its cmn_cli_opt table). */
#define CMN_CURVE_CLI_OPTS                                                                         \
    {"curve_key", "FILE", "this node's CURVE key pair (renkei keygen)"},                           \
        {"curve_peers", "FILE", "keyring: NAME PUBLIC_KEY [ENDPOINT...] per line"},                \
    {                                                                                              \
        "insecure_lab", NULL, "allow plaintext TCP (a lab only)"                                   \
    }

/* Read curve_key / curve_peers / insecure_lab of section `sec` and make them
 * the process's security for later cmn_zmq_open calls. Returns 0, or -1
 * after writing why (file and line) into err. */
int cmn_curve_configure(const struct cmn_config *cfg, const char *sec, char *err, size_t errlen);

/* Write a new key pair: PREFIX.key (public and secret, mode 0600, refused if
 * it exists) and PREFIX.pub (the public key). Returns 0 or -1 with err set. */
int cmn_curve_keygen(const char *prefix, char *err, size_t errlen);

/* Apply the process's security to socket `sock` before its bind or connect
 * to `endpoint`, starting the context's ZAP handler for a bind. Returns 0,
 * or -1 after logging why (no CURVE and no insecure_lab, no keyring entry
 * for the endpoint). */
int cmn_curve_apply(void *ctx, void *sock, const char *endpoint, bool bind);

/* Whether the peer named `user` (the message's ZAP User-Id; NULL or "" when
 * not over CURVE: always true) may send as node (kind, id), kind the wire's
 * NodeKind (1 collector, 2 splitter, 3 tracker, 4 merger). A refusal is
 * counted (cmn_curve_impostors) and logged (1st, 2nd, 4th...). */
bool cmn_curve_may_send(const char *user, int kind, uint32_t id);

/* The same check without counting or logging. */
bool cmn_curve_allowed(const char *user, int kind, uint32_t id);

/* Messages refused by cmn_curve_may_send so far. */
uint64_t cmn_curve_impostors(void);

/* Connections refused by this process's ZAP handlers so far. */
uint64_t cmn_curve_refused(void);

/* Connections to this process's bound CURVE sockets that closed after their
 * handshake: a peer that left, or one ZeroMQ dropped for a message over
 * CMN_WIRE_MSG_MAX or a broken frame (ZeroMQ tells no reason). Logged 1st,
 * 2nd, 4th... time. */
uint64_t cmn_curve_closed(void);

/* Forget the configuration (tests). */
void cmn_curve_reset(void);

#endif /* CMN_CURVE_H */
