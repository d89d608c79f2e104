/* SPDX-License-Identifier: MIT
 * cmn_wire: one Envelope (proto/renkei.proto) per ZeroMQ message. Packs into a
 * zmq_msg of exactly the packed size (one copy of the bulk bytes), unpacks
 * with protobuf-c, and validates the fixed-layout arrays inside before anyone
 * reads them: bad bytes from the wire never assert, they return -EPROTO.
 * Also opens the ZeroMQ sockets with renkei's settings.
 */
#ifndef CMN_WIRE_H
#define CMN_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "renkei.pb-c.h"
#include "cmn_record.h"

/* One named counter for Stats messages. */
struct cmn_counter {
    const char *name; /* borrowed */
    uint64_t value;   /* value */
};

/* Open a ZeroMQ socket of `type` (ZMQ_PUSH, ZMQ_PULL, ...) and bind or connect
 * it to `endpoint`. Sets linger (ms, -1 forever) and send/receive high-water
 * marks (messages). Returns NULL after logging the endpoint and zmq error. */
void *cmn_zmq_open(void *ctx, int type, const char *endpoint, bool bind, int linger_ms, int hwm);

/* Pack `env` (its version field is set to CMN_WIRE_VERSION) and send it.
 * `flags` as zmq_msg_send (0 blocks). Returns 0 or -errno (-EAGAIN with ZMQ_DONTWAIT). */
int cmn_wire_send(void *sock, Renkei__Envelope *env, int flags);

/* Receive one message and unpack it. Returns the envelope (free with
 * cmn_wire_free), or NULL with *err set: -EAGAIN (nothing with ZMQ_DONTWAIT),
 * -EINTR/-ETERM (interrupted / context ended), -EPROTO (undecodable or wrong
 * version: the message is dropped, the caller counts it). */
Renkei__Envelope *cmn_wire_recv(void *sock, int flags, int *err /* OUT */);

/* Free a received envelope; accepts NULL and NULLs the pointer. */
void cmn_wire_free(Renkei__Envelope **env);

/* Send a RecordBatch of `n` records (borrowed, copied once into the message). */
int cmn_wire_send_batch(void *sock, uint32_t collector_id, uint64_t seq,
                        const struct cmn_record *recs, size_t n, int flags);

/* Point *recs at the records of a received batch after checking layout,
 * record_size and that record_count matches the byte length. Returns the
 * count (>= 0) or -EPROTO. The pointer is valid while the envelope lives;
 * records may be unaligned only if protobuf-c's buffer is, so copy if needed. */
long cmn_wire_batch_records(const Renkei__RecordBatch *b, const struct cmn_record **recs /* OUT */);

/* Same checks for TrackerResult arrays. Return count or -EPROTO. */
long cmn_wire_result_sessions(const Renkei__TrackerResult *r,
                              const struct cmn_session_rec **out /* OUT */);
long cmn_wire_result_endpoints(const Renkei__TrackerResult *r,
                               const struct cmn_endpoint_rec **out /* OUT */);
long cmn_wire_result_events(const Renkei__TrackerResult *r,
                            const struct cmn_event_rec **out /* OUT */);

/* Build and send a Stats envelope from `n` counters. */
int cmn_wire_send_stats(void *sock, Renkei__NodeKind kind, uint32_t node_id, const char *name,
                        bool final, const struct cmn_counter *c, size_t n, int flags);

/* Send a Hello. */
int cmn_wire_send_hello(void *sock, Renkei__NodeKind kind, uint32_t node_id, const char *name,
                        uint32_t tracker_count);

/* Value of counter `name` in a Stats message, or `def` when absent. */
uint64_t cmn_wire_stat(const Renkei__Stats *s, const char *name, uint64_t def);

/* Wall-clock now in ns since the Unix epoch; monotonic now in ns. */
uint64_t cmn_now_ns(void);
uint64_t cmn_mono_ns(void);

#endif /* CMN_WIRE_H */
