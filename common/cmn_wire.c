/* SPDX-License-Identifier: MIT
 * cmn_wire: protobuf-c packing straight into a zmq_msg buffer, so a batch is
 * copied once (records -> message) on send. On receive, cmn_wire_recv_msg
 * reads RecordBatch envelopes in place with a small reader of the protobuf
 * wire format (cmn_wire_peek_batch): the records stay in the zmq_msg, with no
 * protobuf-c allocation and copy of the array. Every other message, and any
 * batch encoded in a way the reader leaves alone, goes through protobuf-c, so
 * both paths accept exactly the same messages.
 */
#define CMN_LOG_TAG "wire"
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cmn_curve.h"
#include "cmn_log.h"
#include "cmn_wire.h"

void *cmn_zmq_open(void *ctx, int type, const char *endpoint, bool bind, int linger_ms, int hwm)
{
    void *s = zmq_socket(ctx, type);
    if (!s) {
        CMN_LOG(ERR, "zmq_socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    zmq_setsockopt(s, ZMQ_LINGER, &linger_ms, sizeof(linger_ms));
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    if (type == ZMQ_PULL) {
        int64_t max = CMN_WIRE_MSG_MAX;
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof(max));
    }
    if (cmn_curve_apply(ctx, s, endpoint, bind) != 0) {
        zmq_close(s);
        return NULL;
    }
    int rc = bind ? zmq_bind(s, endpoint) : zmq_connect(s, endpoint);
    if (rc != 0) {
        CMN_LOG(ERR, "cannot %s %s: %s", bind ? "bind" : "connect to", endpoint,
                zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
}

void *cmn_zmq_monitor(void *ctx, void *sock, const char *addr, int events)
{
    int linger = 0;
    void *m = zmq_socket(ctx, ZMQ_PAIR);
    if (!m || zmq_setsockopt(m, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_connect(m, addr) != 0 || zmq_socket_monitor(sock, addr, events) != 0) {
        CMN_LOG(ERR, "connection monitor %s: %s", addr, zmq_strerror(zmq_errno()));
        if (m)
            zmq_close(m);
        return NULL;
    }
    return m;
}

void cmn_zmq_close(void *sock)
{
    if (!sock)
        return;
    zmq_socket_monitor(sock, NULL, 0);
    zmq_close(sock);
}

uint8_t *cmn_wire_pack(Renkei__Envelope *env, size_t *len)
{
    env->version = CMN_WIRE_VERSION;
    *len = renkei__envelope__get_packed_size(env);
    uint8_t *b = malloc(*len ? *len : 1);
    if (b)
        renkei__envelope__pack(env, b);
    return b;
}

int cmn_wire_send_bytes(void *sock, const uint8_t *data, size_t len, int flags)
{
    for (;;) {
        if (zmq_send(sock, data, len, flags) >= 0)
            return 0;
        int e = zmq_errno();
        if (e == EINTR && !(flags & ZMQ_DONTWAIT))
            continue;
        return -e;
    }
}

int cmn_wire_send(void *sock, Renkei__Envelope *env, int flags)
{
    env->version = CMN_WIRE_VERSION;
    size_t len = renkei__envelope__get_packed_size(env);
    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, len) != 0)
        return -ENOMEM;
    renkei__envelope__pack(env, zmq_msg_data(&msg));
    for (;;) {
        if (zmq_msg_send(&msg, sock, flags) >= 0)
            return 0;
        int e = zmq_errno();
        if (e == EINTR && !(flags & ZMQ_DONTWAIT))
            continue;
        zmq_msg_close(&msg);
        return -e;
    }
}

Renkei__Envelope *cmn_wire_recv(void *sock, int flags, int *err)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, sock, flags) < 0) {
        *err = -zmq_errno();
        zmq_msg_close(&msg);
        return NULL;
    }
    Renkei__Envelope *env = renkei__envelope__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
    zmq_msg_close(&msg);
    if (!env) {
        *err = -EPROTO;
        return NULL;
    }
    if (env->version != CMN_WIRE_VERSION || env->body_case == RENKEI__ENVELOPE__BODY__NOT_SET) {
        renkei__envelope__free_unpacked(env, NULL);
        *err = -EPROTO;
        return NULL;
    }
    *err = 0;
    return env;
}

void cmn_wire_free(Renkei__Envelope **env)
{
    if (!env || !*env)
        return;
    renkei__envelope__free_unpacked(*env, NULL);
    *env = NULL;
}

int cmn_wire_send_batch(void *sock, uint32_t collector_id, uint64_t seq,
                        const struct cmn_record *recs, size_t n, int flags)
{
    Renkei__RecordBatch b = RENKEI__RECORD_BATCH__INIT;
    b.collector_id = collector_id;
    b.seq = seq;
    b.record_count = (uint32_t)n;
    b.record_size = sizeof(struct cmn_record);
    b.layout = CMN_LAYOUT_VERSION;
    b.records.len = n * sizeof(struct cmn_record);
    b.records.data = (uint8_t *)(uintptr_t)recs;
    if (n > 0) {
        uint64_t lo = recs[0].ts_ns, hi = recs[0].ts_ns;
        for (size_t i = 1; i < n; i++) {
            if (recs[i].ts_ns < lo)
                lo = recs[i].ts_ns;
            if (recs[i].ts_ns > hi)
                hi = recs[i].ts_ns;
        }
        b.first_ts_ns = lo;
        b.last_ts_ns = hi;
    }
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_BATCH;
    env.batch = &b;
    return cmn_wire_send(sock, &env, flags);
}

static long s_array(uint32_t layout, uint32_t count, uint32_t size, size_t want_size,
                    ProtobufCBinaryData bytes, const void **out)
{
    if (layout != CMN_LAYOUT_VERSION || (count > 0 && size != want_size) ||
        (uint64_t)count * want_size != bytes.len)
        return -EPROTO;
    *out = count ? bytes.data : NULL;
    return (long)count;
}

long cmn_wire_batch_records(const Renkei__RecordBatch *b, const struct cmn_record **recs)
{
    return s_array(b->layout, b->record_count, b->record_size, sizeof(struct cmn_record),
                   b->records, (const void **)recs);
}

long cmn_wire_result_sessions(const Renkei__TrackerResult *r, const struct cmn_session_rec **out)
{
    return s_array(r->layout, r->session_count, r->session_size, sizeof(**out), r->sessions,
                   (const void **)out);
}

long cmn_wire_result_endpoints(const Renkei__TrackerResult *r, const struct cmn_endpoint_rec **out)
{
    return s_array(r->layout, r->endpoint_count, r->endpoint_size, sizeof(**out), r->endpoints,
                   (const void **)out);
}

long cmn_wire_result_events(const Renkei__TrackerResult *r, const struct cmn_event_rec **out)
{
    return s_array(r->layout, r->event_count, r->event_size, sizeof(**out), r->events,
                   (const void **)out);
}

/* ---- in-place batch reader ------------------------------------------------ */

/* Envelope and RecordBatch field numbers (proto/renkei.proto). */
enum {
    S_ENV_VERSION = 1,
    S_ENV_BATCH = 3,
    S_ENV_LAST_BODY = 14, /* bodies are fields 2..14 (oneof; 14 handover) */
    S_B_COLLECTOR = 1,
    S_B_SEQ = 2,
    S_B_COUNT = 3,
    S_B_SIZE = 4,
    S_B_LAYOUT = 5,
    S_B_RECORDS = 6,
    S_B_FIRST_TS = 7,
    S_B_LAST_TS = 8,
};

enum { S_WT_VARINT = 0, S_WT_I64 = 1, S_WT_LEN = 2, S_WT_I32 = 5 };

/* Outcome of one read step: ok, leave it to protobuf-c, or no decoder can accept it. */
enum s_rd_rc { S_OK = 0, S_DEFER = 1, S_BAD = 2 };

/* A cursor over bytes; reads check the end first. */
struct s_rd {
    const uint8_t *p;   /* next byte */
    const uint8_t *end; /* one past the last byte */
};

/* A varint of at most 10 bytes (what protobuf-c scans); *nb its byte count. */
static enum s_rd_rc s_varint(struct s_rd *r, uint64_t *v /* OUT */, unsigned *nb /* OUT */)
{
    uint64_t x = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (r->p == r->end)
            return S_BAD;
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            *nb = i + 1;
            return S_OK;
        }
    }
    return S_BAD; /* protobuf-c rejects an 11th byte too */
}

/* A field key. Tags longer than 5 bytes and field number 0 are protobuf-c's call. */
static enum s_rd_rc s_key(struct s_rd *r, uint32_t *field /* OUT */, unsigned *wt /* OUT */)
{
    uint64_t k;
    unsigned nb;
    enum s_rd_rc rc = s_varint(r, &k, &nb);
    if (rc != S_OK)
        return rc;
    if (nb > 5 || k > UINT32_MAX || (k >> 3) == 0)
        return S_DEFER;
    *field = (uint32_t)(k >> 3);
    *wt = (unsigned)(k & 7);
    return S_OK;
}

/* The payload of a length-delimited field: *sub covers it, r moves past it. */
static enum s_rd_rc s_len(struct s_rd *r, struct s_rd *sub /* OUT */)
{
    uint64_t n;
    unsigned nb;
    enum s_rd_rc rc = s_varint(r, &n, &nb);
    if (rc != S_OK)
        return rc;
    if (nb > 5 || n > INT_MAX) /* protobuf-c's limits on a length prefix */
        return S_DEFER;
    if (n > (uint64_t)(r->end - r->p))
        return S_BAD;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return S_OK;
}

/* Skip the value of an unknown field per its wire type; groups are protobuf-c's call. */
static enum s_rd_rc s_skip(struct s_rd *r, unsigned wt)
{
    uint64_t v;
    unsigned nb;
    struct s_rd sub;
    size_t left = (size_t)(r->end - r->p);
    switch (wt) {
        case S_WT_VARINT:
            return s_varint(r, &v, &nb);
        case S_WT_I64:
            if (left < 8)
                return S_BAD;
            r->p += 8;
            return S_OK;
        case S_WT_LEN:
            return s_len(r, &sub);
        case S_WT_I32:
            if (left < 4)
                return S_BAD;
            r->p += 4;
            return S_OK;
        default:
            return S_DEFER;
    }
}

/* The RecordBatch body. Scalars and bytes: the last occurrence wins, as in protobuf-c. */
static enum s_rd_rc s_batch(struct s_rd r, struct cmn_wire_batch *b, const char **why)
{
    memset(b, 0, sizeof(*b));
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt;
        uint64_t v;
        unsigned nb;
        enum s_rd_rc rc = s_key(&r, &f, &wt);
        if (rc != S_OK) {
            *why = "truncated field key in the record batch";
            return rc;
        }
        if (f < S_B_COLLECTOR || f > S_B_LAST_TS) {
            rc = s_skip(&r, wt);
            if (rc != S_OK) {
                *why = "truncated unknown field in the record batch";
                return rc;
            }
            continue;
        }
        if (f == S_B_RECORDS) {
            struct s_rd sub;
            if (wt != S_WT_LEN)
                return S_DEFER;
            rc = s_len(&r, &sub);
            if (rc != S_OK) {
                *why = "records field runs past the end of the message";
                return rc;
            }
            b->records = sub.p < sub.end ? sub.p : NULL;
            b->records_len = (size_t)(sub.end - sub.p);
            continue;
        }
        if (wt != S_WT_VARINT)
            return S_DEFER;
        rc = s_varint(&r, &v, &nb);
        if (rc != S_OK) {
            *why = "truncated varint in the record batch";
            return rc;
        }
        switch (f) {
            case S_B_COLLECTOR:
                b->collector_id = (uint32_t)v;
                break;
            case S_B_SEQ:
                b->seq = v;
                break;
            case S_B_COUNT:
                b->record_count = (uint32_t)v;
                break;
            case S_B_SIZE:
                b->record_size = (uint32_t)v;
                break;
            case S_B_LAYOUT:
                b->layout = (uint32_t)v;
                break;
            case S_B_FIRST_TS:
                b->first_ts_ns = v;
                break;
            default: /* S_B_LAST_TS */
                b->last_ts_ns = v;
                break;
        }
    }
    return S_OK;
}

int cmn_wire_peek_batch(const uint8_t *buf, size_t len, struct cmn_wire_batch *out,
                        const char **why)
{
    assert(out && why);
    struct s_rd r = {.p = buf, .end = buf + len}, body = {0};
    uint64_t version = 0;
    bool have_body = false;
    *why = NULL;
    while (r.p < r.end) {
        uint32_t f;
        unsigned wt, nb;
        uint64_t v;
        const char *w = "truncated field key in the envelope";
        enum s_rd_rc rc = s_key(&r, &f, &wt);
        if (rc == S_OK && f == S_ENV_VERSION) {
            if (wt != S_WT_VARINT)
                return 0;
            w = "truncated envelope version";
            rc = s_varint(&r, &v, &nb);
            version = (uint32_t)v;
        } else if (rc == S_OK && f == S_ENV_BATCH) {
            /* A second batch would be merged into the first: protobuf-c's job. */
            if (wt != S_WT_LEN || have_body)
                return 0;
            w = "record batch runs past the end of the message";
            rc = s_len(&r, &body);
            have_body = true;
        } else if (rc == S_OK && f <= S_ENV_LAST_BODY) {
            return 0; /* another body: not a batch */
        } else if (rc == S_OK) {
            w = "truncated unknown field in the envelope";
            rc = s_skip(&r, wt);
        }
        if (rc == S_DEFER)
            return 0;
        if (rc == S_BAD) {
            *why = w;
            return -EPROTO;
        }
    }
    if (!have_body)
        return 0; /* empty or body-less: protobuf-c decodes, the version check rejects */
    const char *w = NULL;
    enum s_rd_rc rc = s_batch(body, out, &w);
    if (rc == S_DEFER)
        return 0;
    if (rc == S_BAD) {
        *why = w;
        return -EPROTO;
    }
    if (version != CMN_WIRE_VERSION) {
        *why = "unsupported wire version";
        return -EPROTO;
    }
    return 1;
}

long cmn_wire_view_records(const struct cmn_wire_batch *b, const struct cmn_record **recs)
{
    ProtobufCBinaryData bytes = {.len = b->records_len, .data = (uint8_t *)(uintptr_t)b->records};
    return s_array(b->layout, b->record_count, b->record_size, sizeof(struct cmn_record), bytes,
                   (const void **)recs);
}

static void s_batch_from_pb(const Renkei__RecordBatch *pb, struct cmn_wire_batch *b)
{
    b->collector_id = pb->collector_id;
    b->seq = pb->seq;
    b->record_count = pb->record_count;
    b->record_size = pb->record_size;
    b->layout = pb->layout;
    b->records = pb->records.len ? pb->records.data : NULL;
    b->records_len = pb->records.len;
    b->first_ts_ns = pb->first_ts_ns;
    b->last_ts_ns = pb->last_ts_ns;
}

/* Decode `len` bytes into *m (m->zmsg already holds them, or is empty when
 * the caller owns them): a batch read in place keeps pointing into `data`;
 * anything else is copied by protobuf-c and m->zmsg released early. */
static int s_decode(struct cmn_wire_msg *m, const uint8_t *data, size_t len)
{
    int rc = cmn_wire_peek_batch(data, len, &m->batch, &m->why);
    if (rc == 1) {
        m->is_batch = true;
        return 0;
    }
    if (rc == 0) {
        m->env = renkei__envelope__unpack(NULL, len, data);
        if (!m->env)
            m->why = "not a protobuf envelope (protobuf-c rejected it)";
        else if (m->env->version != CMN_WIRE_VERSION)
            m->why = "unsupported wire version";
        else if (m->env->body_case == RENKEI__ENVELOPE__BODY__NOT_SET)
            m->why = "envelope without a body";
        else
            rc = 1;
    }
    zmq_msg_close(&m->zmsg); /* protobuf-c copied what it kept */
    zmq_msg_init(&m->zmsg);
    if (rc != 1) {
        cmn_wire_free(&m->env);
        zmq_msg_close(&m->zmsg);
        return -EPROTO;
    }
    if (m->env->body_case == RENKEI__ENVELOPE__BODY_BATCH) {
        m->is_batch = true;
        s_batch_from_pb(m->env->batch, &m->batch);
    }
    return 0;
}

int cmn_wire_recv_msg(void *sock, int flags, struct cmn_wire_msg *m)
{
    m->env = NULL;
    m->is_batch = false;
    m->why = NULL;
    zmq_msg_init(&m->zmsg);
    if (zmq_msg_recv(&m->zmsg, sock, flags) < 0) {
        int e = zmq_errno();
        zmq_msg_close(&m->zmsg);
        return -e;
    }
    return s_decode(m, zmq_msg_data(&m->zmsg), zmq_msg_size(&m->zmsg));
}

void cmn_wire_record(const char *node, const uint8_t *data, size_t len)
{
    static int fd = -2; /* -2: not looked at yet; -1: off */
    if (fd == -2) {
        const char *dir = getenv("RENKEI_WIRE_RECORD");
        fd = -1;
        if (dir && *dir) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s.%d.seq", dir, node, (int)getpid());
            fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (fd < 0)
                CMN_LOG(WARN, "RENKEI_WIRE_RECORD: cannot create %s: %s", path, strerror(errno));
        }
    }
    if (fd < 0 || len > UINT32_MAX)
        return;
    uint8_t h[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
    if (write(fd, h, 4) != 4 || write(fd, data, len) != (ssize_t)len)
        CMN_LOG(WARN, "RENKEI_WIRE_RECORD: short write");
}

int cmn_wire_decode_msg(const uint8_t *data, size_t len, struct cmn_wire_msg *m)
{
    m->env = NULL;
    m->is_batch = false;
    m->why = NULL;
    zmq_msg_init(&m->zmsg);
    return s_decode(m, data, len);
}

void cmn_wire_msg_close(struct cmn_wire_msg *m)
{
    cmn_wire_free(&m->env);
    zmq_msg_close(&m->zmsg);
    m->is_batch = false;
}

int cmn_wire_monitor_event(void *mon)
{
    zmq_msg_t ev;
    zmq_msg_init(&ev);
    if (zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&ev);
        return -EAGAIN;
    }
    uint16_t id = 0;
    if (zmq_msg_size(&ev) >= 2)
        memcpy(&id, zmq_msg_data(&ev), 2);
    bool more = zmq_msg_more(&ev);
    zmq_msg_close(&ev);
    while (more) { /* the event's endpoint frame */
        zmq_msg_init(&ev);
        more = zmq_msg_recv(&ev, mon, ZMQ_DONTWAIT) >= 0 && zmq_msg_more(&ev);
        zmq_msg_close(&ev);
    }
    return id;
}

/* ---- zero-copy batch sending ------------------------------------------------ */

#define S_POOL_HDR  64 /* struct s_pbuf, padded: keeps the records 64-byte aligned */
#define S_BATCH_PRE CMN_WIRE_BATCH_HEADROOM
#define S_BATCH_TL  CMN_WIRE_BATCH_TAILROOM

/* Head of every pool buffer; the records follow S_POOL_HDR + S_BATCH_PRE bytes in. */
struct s_pbuf {
    struct s_pbuf *next;        /* free list link */
    struct cmn_wire_pool *pool; /* owner, for the ZeroMQ free callback */
};
_Static_assert(sizeof(struct s_pbuf) <= S_POOL_HDR, "pool buffer header");

struct cmn_wire_pool {
    _Atomic(struct s_pbuf *) free; /* free list: pushed from any thread, popped by the owner */
    atomic_size_t refs;            /* 1 for the owner + buffers inside ZeroMQ */
    size_t records;                /* capacity of each buffer in records */
    size_t bytes;                  /* allocation size of each buffer */
    size_t nbufs;                  /* buffers allocated (owner thread only) */
    size_t max_bufs;               /* allocation limit */
};

static struct cmn_record *s_pbuf_recs(struct s_pbuf *b)
{
    return (struct cmn_record *)((uint8_t *)b + S_POOL_HDR + S_BATCH_PRE);
}

static struct s_pbuf *s_pbuf_of(struct cmn_record *recs)
{
    return (struct s_pbuf *)((uint8_t *)recs - S_POOL_HDR - S_BATCH_PRE);
}

static void s_pool_push(struct cmn_wire_pool *p, struct s_pbuf *b)
{
    struct s_pbuf *head = atomic_load_explicit(&p->free, memory_order_relaxed);
    do {
        b->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&p->free, &head, b, memory_order_release,
                                                    memory_order_relaxed));
}

/* The last reference gone: free every buffer (all are on the free list now). */
static void s_pool_unref(struct cmn_wire_pool *p)
{
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    struct s_pbuf *b = atomic_load_explicit(&p->free, memory_order_acquire);
    while (b) {
        struct s_pbuf *next = b->next;
        free(b);
        b = next;
    }
    free(p);
}

/* zmq_free_fn: ZeroMQ is done with a sent buffer (any thread). */
static void s_pool_release(void *data, void *hint)
{
    (void)data;
    struct s_pbuf *b = hint;
    struct cmn_wire_pool *p = b->pool;
    s_pool_push(p, b);
    s_pool_unref(p);
}

struct cmn_wire_pool *cmn_wire_pool_new(size_t records, size_t max_bufs)
{
    if (records == 0 || max_bufs == 0 || records > (SIZE_MAX >> 8)) {
        CMN_LOG(ERR, "batch pool needs records >= 1 and max_bufs >= 1");
        return NULL;
    }
    struct cmn_wire_pool *p = calloc(1, sizeof(*p));
    if (!p)
        abort();
    atomic_init(&p->free, NULL);
    atomic_init(&p->refs, 1);
    p->records = records;
    p->bytes = S_POOL_HDR + S_BATCH_PRE + records * sizeof(struct cmn_record) + S_BATCH_TL;
    p->bytes = (p->bytes + 63) & ~(size_t)63; /* aligned_alloc wants a multiple */
    p->max_bufs = max_bufs;
    return p;
}

void cmn_wire_pool_destroy(struct cmn_wire_pool **pool)
{
    if (!pool || !*pool)
        return;
    s_pool_unref(*pool);
    *pool = NULL;
}

struct cmn_record *cmn_wire_pool_get(struct cmn_wire_pool *p)
{
    /* Single consumer: no other thread pops, so head->next is stable (no ABA). */
    struct s_pbuf *b = atomic_load_explicit(&p->free, memory_order_acquire);
    while (b && !atomic_compare_exchange_weak_explicit(&p->free, &b, b->next, memory_order_acquire,
                                                       memory_order_acquire))
        ;
    if (!b) {
        if (p->nbufs == p->max_bufs)
            return NULL;
        b = aligned_alloc(64, p->bytes);
        if (!b)
            return NULL;
        p->nbufs++;
        b->pool = p;
    }
    return s_pbuf_recs(b);
}

void cmn_wire_pool_put(struct cmn_wire_pool *p, struct cmn_record *recs)
{
    if (recs)
        s_pool_push(p, s_pbuf_of(recs));
}

static size_t s_put_varint(uint8_t *o, uint64_t v)
{
    size_t k = 0;
    while (v >= 0x80) {
        o[k++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    o[k++] = (uint8_t)v;
    return k;
}

/* A proto3 varint field: omitted when zero, as protobuf-c packs it. */
static size_t s_put_field(uint8_t *o, uint32_t field, uint64_t v)
{
    if (v == 0)
        return 0;
    size_t k = s_put_varint(o, (uint64_t)field << 3);
    return k + s_put_varint(o + k, v);
}

size_t cmn_wire_frame_batch(uint8_t *recs, size_t n, uint32_t collector_id, uint64_t seq,
                            uint64_t first_ts, uint64_t last_ts, uint8_t **start)
{
    size_t len = n * sizeof(struct cmn_record);
    /* Fields in number order, as protobuf-c packs them: 1-5, records, 7-8;
     * proto3 leaves out zeros and an empty bytes field. */
    uint8_t pre[CMN_WIRE_BATCH_HEADROOM], *tail = recs + len;
    size_t k = 0;
    k += s_put_field(pre + k, S_B_COLLECTOR, collector_id);
    k += s_put_field(pre + k, S_B_SEQ, seq);
    k += s_put_field(pre + k, S_B_COUNT, (uint32_t)n);
    k += s_put_field(pre + k, S_B_SIZE, sizeof(struct cmn_record));
    k += s_put_field(pre + k, S_B_LAYOUT, CMN_LAYOUT_VERSION);
    if (len > 0) {
        k += s_put_varint(pre + k, (uint64_t)S_B_RECORDS << 3 | S_WT_LEN);
        k += s_put_varint(pre + k, len);
    }
    size_t t = s_put_field(tail, S_B_FIRST_TS, first_ts);
    t += s_put_field(tail + t, S_B_LAST_TS, last_ts);
    uint8_t env[16];
    size_t e = s_put_field(env, S_ENV_VERSION, CMN_WIRE_VERSION);
    e += s_put_varint(env + e, (uint64_t)S_ENV_BATCH << 3 | S_WT_LEN);
    e += s_put_varint(env + e, k + len + t);
    *start = recs - k - e;
    memcpy(*start, env, e);
    memcpy(*start + e, pre, k);
    return e + k + len + t;
}

int cmn_wire_pool_send(void *sock, struct cmn_wire_pool *p, uint32_t collector_id, uint64_t seq,
                       struct cmn_record **recsp, size_t n, int flags)
{
    struct cmn_record *recs = *recsp;
    *recsp = NULL;
    assert(recs && n >= 1 && n <= p->records);
    uint64_t lo = recs[0].ts_ns, hi = recs[0].ts_ns;
    for (size_t i = 1; i < n; i++) {
        lo = recs[i].ts_ns < lo ? recs[i].ts_ns : lo;
        hi = recs[i].ts_ns > hi ? recs[i].ts_ns : hi;
    }
    uint8_t *start;
    size_t total = cmn_wire_frame_batch((uint8_t *)recs, n, collector_id, seq, lo, hi, &start);

    struct s_pbuf *b = s_pbuf_of(recs);
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
    zmq_msg_t msg;
    zmq_msg_init_data(&msg, start, total, s_pool_release, b);
    for (;;) {
        if (zmq_msg_send(&msg, sock, flags) >= 0)
            return 0;
        int err = zmq_errno();
        if (err == EINTR && !(flags & ZMQ_DONTWAIT))
            continue;
        zmq_msg_close(&msg); /* returns the buffer */
        return -err;
    }
}

void cmn_wire_keep_buffers(void)
{
    /* Fixed thresholds (no dynamic adjustment): messages up to 32 MiB come
     * from the heap, and up to 256 MiB of free heap stays mapped for reuse. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

/* Build a Stats envelope on the stack and hand it to fn. */
static int s_with_stats(Renkei__NodeKind kind, uint32_t node_id, const char *name, bool final,
                        const struct cmn_counter *c, size_t n,
                        int (*fn)(Renkei__Envelope *env, void *arg), void *arg)
{
    Renkei__Counter cs[n ? n : 1];
    Renkei__Counter *cp[n ? n : 1];
    for (size_t i = 0; i < n; i++) {
        renkei__counter__init(&cs[i]);
        cs[i].name = (char *)(uintptr_t)c[i].name;
        cs[i].value = c[i].value;
        cp[i] = &cs[i];
    }
    Renkei__Stats st = RENKEI__STATS__INIT;
    st.kind = kind;
    st.node_id = node_id;
    st.ts_ns = cmn_now_ns();
    st.final = final;
    st.n_counters = n;
    st.counters = cp;
    st.name = (char *)(uintptr_t)(name ? name : "");
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_STATS;
    env.stats = &st;
    return fn(&env, arg);
}

struct s_send_arg {
    void *sock;
    int flags;
};

static int s_stats_send(Renkei__Envelope *env, void *arg)
{
    const struct s_send_arg *a = arg;
    return cmn_wire_send(a->sock, env, a->flags);
}

int cmn_wire_send_stats(void *sock, Renkei__NodeKind kind, uint32_t node_id, const char *name,
                        bool final, const struct cmn_counter *c, size_t n, int flags)
{
    struct s_send_arg a = {sock, flags};
    return s_with_stats(kind, node_id, name, final, c, n, s_stats_send, &a);
}

struct s_pack_arg {
    uint8_t *data;
    size_t len;
};

static int s_stats_pack(Renkei__Envelope *env, void *arg)
{
    struct s_pack_arg *a = arg;
    a->data = cmn_wire_pack(env, &a->len);
    return a->data ? 0 : -ENOMEM;
}

uint8_t *cmn_wire_pack_stats(Renkei__NodeKind kind, uint32_t node_id, const char *name, bool final,
                             const struct cmn_counter *c, size_t n, size_t *len)
{
    struct s_pack_arg a = {NULL, 0};
    (void)s_with_stats(kind, node_id, name, final, c, n, s_stats_pack, &a);
    *len = a.len;
    return a.data;
}

int cmn_wire_send_heartbeat(void *sock, Renkei__NodeKind kind, uint32_t node_id)
{
    return cmn_wire_send_heartbeat_from(sock, kind, node_id, 0);
}

int cmn_wire_send_heartbeat_from(void *sock, Renkei__NodeKind kind, uint32_t node_id,
                                 uint64_t records_from_ns)
{
    Renkei__Heartbeat h = RENKEI__HEARTBEAT__INIT;
    h.kind = kind;
    h.node_id = node_id;
    h.ts_ns = cmn_now_ns();
    h.interval_ms = CMN_HEARTBEAT_MS;
    h.records_from_ns = records_from_ns;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_HEARTBEAT;
    env.heartbeat = &h;
    return cmn_wire_send(sock, &env, ZMQ_DONTWAIT);
}

int cmn_wire_send_hello(void *sock, Renkei__NodeKind kind, uint32_t node_id, const char *name,
                        uint32_t tracker_count)
{
    return cmn_wire_send_hello_resume(sock, kind, node_id, name, tracker_count, 0);
}

/* A Hello of (kind, node_id, name) with this process's version and pid;
 * the caller sets the rest. */
static void s_hello_init(Renkei__Hello *h, Renkei__NodeKind kind, uint32_t node_id,
                         const char *name)
{
    renkei__hello__init(h);
    h->kind = kind;
    h->node_id = node_id;
    h->version = (char *)(uintptr_t)RENKEI_VERSION;
    h->pid = (uint32_t)getpid();
    h->name = (char *)(uintptr_t)(name ? name : "");
}

static int s_hello_send(void *sock, Renkei__Hello *h)
{
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_HELLO;
    env.hello = h;
    return cmn_wire_send(sock, &env, 0);
}

int cmn_wire_send_hello_restarted(void *sock, Renkei__NodeKind kind, uint32_t node_id,
                                  const char *name, uint64_t resume_seq)
{
    Renkei__Hello h;
    s_hello_init(&h, kind, node_id, name);
    h.resume_seq = resume_seq;
    h.replay = h.restarted = true;
    return s_hello_send(sock, &h);
}

int cmn_wire_send_hello_replay(void *sock, Renkei__NodeKind kind, uint32_t node_id,
                               const char *name, uint32_t tracker_count, uint64_t resume_seq)
{
    Renkei__Hello h;
    s_hello_init(&h, kind, node_id, name);
    h.tracker_count = tracker_count;
    h.resume_seq = resume_seq;
    h.replay = true;
    return s_hello_send(sock, &h);
}

int cmn_wire_send_hello_resume(void *sock, Renkei__NodeKind kind, uint32_t node_id,
                               const char *name, uint32_t tracker_count, uint64_t resume_seq)
{
    Renkei__Hello h;
    s_hello_init(&h, kind, node_id, name);
    h.tracker_count = tracker_count;
    h.resume_seq = resume_seq;
    return s_hello_send(sock, &h);
}

int cmn_wire_send_hello_splitter(void *sock, const char *name, uint32_t tracker_count,
                                 const uint32_t *vacant, size_t nvacant, bool replay,
                                 bool map_change, uint64_t since)
{
    Renkei__Hello h;
    s_hello_init(&h, RENKEI__NODE_KIND__NODE_SPLITTER, 0, name);
    h.tracker_count = tracker_count;
    h.replay = replay;
    h.map_change = map_change;
    h.map_since = map_change ? since : 0;
    h.vacant = (uint32_t *)(uintptr_t)vacant;
    h.n_vacant = nvacant;
    return s_hello_send(sock, &h);
}

int cmn_wire_send_hello_rollback(void *sock, const char *name, bool any, uint64_t epoch)
{
    Renkei__Hello h;
    s_hello_init(&h, RENKEI__NODE_KIND__NODE_SPLITTER, 0, name);
    h.replay = h.rollback = true;
    h.rollback_any = any;
    h.rollback_epoch = epoch;
    return s_hello_send(sock, &h);
}

uint64_t cmn_wire_stat(const Renkei__Stats *s, const char *name, uint64_t def)
{
    for (size_t i = 0; i < s->n_counters; i++)
        if (s->counters[i]->name && strcmp(s->counters[i]->name, name) == 0)
            return s->counters[i]->value;
    return def;
}

uint64_t cmn_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t cmn_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
