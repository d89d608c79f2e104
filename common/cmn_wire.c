/* SPDX-License-Identifier: MIT
 * cmn_wire: protobuf-c packing straight into a zmq_msg buffer, so a batch is
 * copied once (records -> message) on send and not at all on receive (the
 * unpacked bytes field points into protobuf-c's own allocation).
 */
#define CMN_LOG_TAG "wire"
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

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
    int rc = bind ? zmq_bind(s, endpoint) : zmq_connect(s, endpoint);
    if (rc != 0) {
        CMN_LOG(ERR, "cannot %s %s: %s", bind ? "bind" : "connect to", endpoint,
                zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
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

int cmn_wire_send_stats(void *sock, Renkei__NodeKind kind, uint32_t node_id, const char *name,
                        bool final, const struct cmn_counter *c, size_t n, int flags)
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
    return cmn_wire_send(sock, &env, flags);
}

int cmn_wire_send_hello(void *sock, Renkei__NodeKind kind, uint32_t node_id, const char *name,
                        uint32_t tracker_count)
{
    Renkei__Hello h = RENKEI__HELLO__INIT;
    h.kind = kind;
    h.node_id = node_id;
    h.version = (char *)(uintptr_t)RENKEI_VERSION;
    h.pid = (uint32_t)getpid();
    h.name = (char *)(uintptr_t)(name ? name : "");
    h.tracker_count = tracker_count;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_HELLO;
    env.hello = &h;
    return cmn_wire_send(sock, &env, 0);
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
