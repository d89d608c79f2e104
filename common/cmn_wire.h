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

#include <zmq.h>

#include "renkei.pb-c.h"
#include "cmn_record.h"

/* One named counter for Stats messages. */
struct cmn_counter {
    const char *name; /* borrowed */
    uint64_t value;   /* value */
};

#define CMN_WIRE_MSG_MAX (256ll << 20) /* a received message larger than this drops its peer */

/* Open a ZeroMQ socket of `type` (ZMQ_PUSH, ZMQ_PULL, ...) and bind or connect
 * it to `endpoint`. Sets linger (ms, -1 forever) and send/receive high-water
 * marks (messages); receiving sockets (PULL) refuse messages over
 * CMN_WIRE_MSG_MAX (ZMQ_MAXMSGSIZE: ZeroMQ closes that peer's connection), so
 * a peer cannot make a node allocate without bound. Returns NULL after
 * logging the endpoint and zmq error. */
void *cmn_zmq_open(void *ctx, int type, const char *endpoint, bool bind, int linger_ms, int hwm);

/* Watch `sock` for `events` (ZMQ_EVENT_*): a PAIR socket (linger 0) is
 * connected to inproc endpoint `addr` before the monitor starts, so no event
 * finds the PAIR absent. Returns the PAIR (read it with
 * cmn_wire_monitor_event) or NULL after logging why. */
void *cmn_zmq_monitor(void *ctx, void *sock, const char *addr, int events);

/* Close a socket (NULL accepted), stopping its monitor first. ZeroMQ keeps
 * monitoring a closed socket while it lingers and does not free an event it
 * could not deliver (libzmq 4.3 socket_base_t::monitor_event): stop, then
 * close the monitored socket before its PAIR. */
void cmn_zmq_close(void *sock);

/* Pack `env` (its version field is set to CMN_WIRE_VERSION) and send it.
 * `flags` as zmq_msg_send (0 blocks). Returns 0 or -errno (-EAGAIN with ZMQ_DONTWAIT). */
int cmn_wire_send(void *sock, Renkei__Envelope *env, int flags);

/* Pack `env` (version set) into a malloc'ed buffer of *len bytes (the caller
 * frees it), or NULL when out of memory: a message kept to be sent again. */
uint8_t *cmn_wire_pack(Renkei__Envelope *env, size_t *len /* OUT */);

/* Send bytes packed by cmn_wire_pack (copied). 0 or -errno, as cmn_wire_send. */
int cmn_wire_send_bytes(void *sock, const uint8_t *data, size_t len, int flags);

/* Receive one message and unpack it. Returns the envelope (free with
 * cmn_wire_free), or NULL with *err set: -EAGAIN (nothing with ZMQ_DONTWAIT),
 * -EINTR/-ETERM (interrupted / context ended), -EPROTO (undecodable or wrong
 * version: the message is dropped, the caller counts it). */
Renkei__Envelope *cmn_wire_recv(void *sock, int flags, int *err /* OUT */);

/* Free a received envelope; accepts NULL and NULLs the pointer. */
void cmn_wire_free(Renkei__Envelope **env);

/* A RecordBatch read in place: the fields of Renkei__RecordBatch, with the
 * records borrowed from the message they came in (any alignment). */
struct cmn_wire_batch {
    uint32_t collector_id;  /* origin collector (SPL_MERGED_ID from the splitter) */
    uint64_t seq;           /* per-pipe sequence number */
    uint32_t record_count;  /* claimed records; checked by cmn_wire_view_records */
    uint32_t record_size;   /* claimed bytes per record */
    uint32_t layout;        /* record layout version */
    const uint8_t *records; /* borrowed bytes field; NULL when empty */
    size_t records_len;     /* its length in bytes */
    uint64_t first_ts_ns;   /* smallest record timestamp */
    uint64_t last_ts_ns;    /* largest record timestamp */
};

/* Read `len` bytes as an Envelope{version, batch} without copying anything:
 * the protobuf wire format walked by hand (varints of up to 10 bytes, unknown
 * fields of wire types 0, 1, 2 and 5 skipped, a repeated scalar or bytes field:
 * the last one wins). Returns 1 with *out filled (pointers into buf); 0 when
 * the bytes are another body or an encoding left to protobuf-c (other oneof
 * members, a repeated batch, groups, over-long tags or lengths, wire-type
 * mismatches): decode them with renkei__envelope__unpack, which decides; or
 * -EPROTO when no decoder could accept them (truncated, length past the end,
 * wrong wire version), with *why saying what (static string). */
int cmn_wire_peek_batch(const uint8_t *buf, size_t len, struct cmn_wire_batch *out /* OUT */,
                        const char **why /* OUT */);

/* As cmn_wire_batch_records for a batch read in place: checks layout,
 * record_size and count * size == length. Returns the count or -EPROTO. The
 * pointer lives as long as the message; it may be unaligned. */
long cmn_wire_view_records(const struct cmn_wire_batch *b,
                           const struct cmn_record **recs /* OUT */);

/* One received message. Batches are read in place (no protobuf-c, no copy of
 * the records); everything else is decoded by protobuf-c into env. */
struct cmn_wire_msg {
    zmq_msg_t zmsg;              /* the received bytes; open until cmn_wire_msg_close */
    Renkei__Envelope *env;       /* protobuf-c decode of a non-batch body, else NULL */
    bool is_batch;               /* the body is a RecordBatch: read `batch`, not env */
    struct cmn_wire_batch batch; /* when is_batch; records point into zmsg (or env) */
    const char *why;             /* after -EPROTO: what was wrong (static string) */
};

/* Receive one message into *m. Returns 0 (close m with cmn_wire_msg_close
 * when done), -EAGAIN / -EINTR / -ETERM as cmn_wire_recv, or -EPROTO for a
 * message that is not a valid version-1 envelope (dropped, m->why says why,
 * nothing to close; the caller counts it). */
int cmn_wire_recv_msg(void *sock, int flags, struct cmn_wire_msg *m /* OUT */);

/* As cmn_wire_recv_msg for `len` bytes already received (borrowed: a batch
 * read in place points into `data`, which must outlive *m). Returns 0 (close
 * m with cmn_wire_msg_close) or -EPROTO with m->why set. The nodes' *_handle
 * entry points decode through this, so fuzzers run what the daemons run. */
int cmn_wire_decode_msg(const uint8_t *data, size_t len, struct cmn_wire_msg *m /* OUT */);

/* Test hook: when the environment names a directory in RENKEI_WIRE_RECORD,
 * append each received message to DIR/<node>.<pid>.seq as a 4-byte
 * little-endian length and the bytes: the message sequences of a real run,
 * the seeds of fuzz_splitter, fuzz_tracker and fuzz_merger (test/fuzz/seq.h).
 * Otherwise one cached getenv, then nothing. */
void cmn_wire_record(const char *node, const uint8_t *data, size_t len);

/* Release a message received with cmn_wire_recv_msg or cmn_wire_decode_msg. */
void cmn_wire_msg_close(struct cmn_wire_msg *m);

/* One event from the PAIR socket connected to a zmq_socket_monitor endpoint,
 * without blocking: both frames are read (the event's id and value, then its
 * endpoint). Returns the event id (ZMQ_EVENT_*; 0 for a malformed event) or
 * -EAGAIN when none is waiting. */
int cmn_wire_monitor_event(void *mon);

/* ---- zero-copy batch sending ------------------------------------------------ */

#define CMN_WIRE_BATCH_HEADROOM 64 /* bytes before the records: envelope header, <= 41 used */
#define CMN_WIRE_BATCH_TAILROOM 32 /* bytes after them: first/last_ts_ns, <= 22 used */

/* Frame the n records at `recs` in place as the Envelope{version, batch:
 * RecordBatch{collector_id, seq, n records, first_ts, last_ts}} that
 * cmn_wire_send packs, byte for byte: the header goes into the
 * CMN_WIRE_BATCH_HEADROOM bytes before recs, the timestamps into the
 * CMN_WIRE_BATCH_TAILROOM bytes after the last record; the records are not
 * copied. *start: the message's first byte; returns its length. */
size_t cmn_wire_frame_batch(uint8_t *recs, size_t n, uint32_t collector_id, uint64_t seq,
                            uint64_t first_ts, uint64_t last_ts, uint8_t **start /* OUT */);

/*
 * A pool hands out record areas with room for the envelope around them; the
 * owner fills one and cmn_wire_pool_send writes the RecordBatch header and
 * trailer in place (bytes identical to cmn_wire_send_batch's) and gives the
 * buffer to ZeroMQ without copying. ZeroMQ returns it to the pool when sent,
 * from its I/O thread: get, put and send belong to one thread, the return is
 * lock-free. Buffers are allocated on demand up to max_bufs, then kept. */
struct cmn_wire_pool;

/* A pool of buffers for batches of up to `records` records, at most
 * `max_bufs` of them. NULL after logging why (zero sizes). */
struct cmn_wire_pool *cmn_wire_pool_new(size_t records, size_t max_bufs);

/* Drop the owner's hold (after putting back every buffer it holds). Buffers
 * still inside ZeroMQ keep the pool alive until they are released; the last
 * one frees it. Accepts NULL and NULLs the pointer. */
void cmn_wire_pool_destroy(struct cmn_wire_pool **pool);

/* Room for `records` records, 64-byte aligned, or NULL when max_bufs buffers
 * are out (send with cmn_wire_send_batch meanwhile). Owned by the caller until
 * cmn_wire_pool_send or cmn_wire_pool_put. */
struct cmn_record *cmn_wire_pool_get(struct cmn_wire_pool *pool);

/* Give back an area from cmn_wire_pool_get unsent. Accepts NULL. */
void cmn_wire_pool_put(struct cmn_wire_pool *pool, struct cmn_record *recs);

/* Send the first `n` (>= 1) records of *recs (from cmn_wire_pool_get) as a
 * RecordBatch without copying them. Takes the area whatever the outcome and
 * NULLs *recs. Returns 0 or -errno as cmn_wire_send. */
int cmn_wire_pool_send(void *sock, struct cmn_wire_pool *pool, uint32_t collector_id, uint64_t seq,
                       struct cmn_record **recs, size_t n, int flags);

/* Keep freed message buffers mapped: ZeroMQ and protobuf-c allocate every
 * batch message (256 KiB at 4096 records) and glibc would otherwise return
 * the pages to the kernel on free and fault them in again on the next batch.
 * Sets malloc's mmap and trim thresholds for the whole process; call once at
 * start of a daemon that moves batches. */
void cmn_wire_keep_buffers(void);

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

/* The same Stats, packed (cmn_wire_pack) instead of sent. */
uint8_t *cmn_wire_pack_stats(Renkei__NodeKind kind, uint32_t node_id, const char *name, bool final,
                             const struct cmn_counter *c, size_t n, size_t *len /* OUT */);

/* Liveness (docs/OPERATIONS.md "Liveness"): nodes send a Heartbeat every
 * CMN_HEARTBEAT_MS on their upstream socket; a receiver marks a sender down
 * once it heard nothing from it (no message of any kind) for its
 * liveness_timeout, checked only when its own socket is drained, so a
 * receiver that was busy never blames its senders. */
#define CMN_HEARTBEAT_MS         1000
#define CMN_LIVENESS_TIMEOUT_DEF 30 /* seconds, the daemons' liveness_timeout default */

/* Send a Heartbeat without blocking (a full queue drops it: the receiver
 * has our earlier messages to read). 0 or -errno. */
int cmn_wire_send_heartbeat(void *sock, Renkei__NodeKind kind, uint32_t node_id);

/* The same with a collector's promise: every record it sends from now on
 * has ts >= records_from_ns (0: none; see Heartbeat in proto/renkei.proto). */
int cmn_wire_send_heartbeat_from(void *sock, Renkei__NodeKind kind, uint32_t node_id,
                                 uint64_t records_from_ns);

/* Send a Hello. */
int cmn_wire_send_hello(void *sock, Renkei__NodeKind kind, uint32_t node_id, const char *name,
                        uint32_t tracker_count);

/* The same with Hello.resume_seq: a collector resuming after a crash names the
 * first batch seq it sends now (0: fresh start). */
int cmn_wire_send_hello_resume(void *sock, Renkei__NodeKind kind, uint32_t node_id,
                               const char *name, uint32_t tracker_count, uint64_t resume_seq);

/* The same with Hello.replay: the messages that follow are sent again to a
 * merger that connected again, the first result with seq resume_seq. */
int cmn_wire_send_hello_replay(void *sock, Renkei__NodeKind kind, uint32_t node_id,
                               const char *name, uint32_t tracker_count, uint64_t resume_seq);

/* Hello.replay with Hello.restarted: a tracker resuming from its checkpoint
 * (to the merger: results from resume_seq on are sent again, what the dead
 * process sent from there is void), or the splitter sending a restarted
 * tracker its pipe again from batch seq resume_seq (to the tracker). */
int cmn_wire_send_hello_restarted(void *sock, Renkei__NodeKind kind, uint32_t node_id,
                                  const char *name, uint64_t resume_seq);

/* Splitter -> tracker: Hello{replay, rollback}: the splitter restarted from
 * its checkpoint taken after the EpochFlush of `epoch` (any: some epoch;
 * else the run's start). */
int cmn_wire_send_hello_rollback(void *sock, const char *name, bool any, uint64_t epoch);
/* Splitter -> merger: its `tracker_count` trackers, of which the indexes in
 * `vacant` are retired (tracker = none); `replay`: a splitter resumed from
 * its checkpoint or a merger connected again; `map_change`: the map changed
 * (a tracker added or removed), from epoch `since` on. */
int cmn_wire_send_hello_splitter(void *sock, const char *name, uint32_t tracker_count,
                                 const uint32_t *vacant, size_t nvacant, bool replay,
                                 bool map_change, uint64_t since);

/* Value of counter `name` in a Stats message, or `def` when absent. */
uint64_t cmn_wire_stat(const Renkei__Stats *s, const char *name, uint64_t def);

/* Wall-clock now in ns since the Unix epoch; monotonic now in ns. */
uint64_t cmn_now_ns(void);
uint64_t cmn_mono_ns(void);

#endif /* CMN_WIRE_H */
