/* SPDX-License-Identifier: MIT
 * seq.h: the input format of the message-sequence fuzz targets (fuzz_splitter,
 * fuzz_tracker, fuzz_merger). After a first byte that picks the node's
 * configuration, the input is a sequence of frames, each a 4-byte
 * little-endian length and that many bytes (a length past the end takes what
 * is left): exactly what RENKEI_WIRE_RECORD writes (cmn_wire.h), so a real
 * run's messages are seeds as they are. Each frame is handed to the node's
 * *_node_handle, in order, as the daemon loop would. Header-only: each
 * target is one .c file plus replay.c.
 */
#ifndef FUZZ_SEQ_H
#define FUZZ_SEQ_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#define SEQ_FRAMES_MAX 256 /* frames handled per input: bounds the work per run */

/* Next frame of data[*off..size); false at the end. */
static inline bool seq_next(const uint8_t *data, size_t size, size_t *off,
                            const uint8_t **frame /* OUT */, size_t *len /* OUT */)
{
    if (*off + 4 > size)
        return false;
    const uint8_t *p = data + *off;
    size_t n = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
    *off += 4;
    if (n > size - *off)
        n = size - *off;
    *frame = data + *off;
    *len = n;
    *off += n;
    return true;
}

/* Receive and drop everything waiting on `sock` (the node's peers' side), so
 * no send ever blocks at the high-water mark. Returns the messages dropped. */
static inline size_t seq_drain(void *sock)
{
    size_t k = 0;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return k;
        }
        zmq_msg_close(&m);
        k++;
    }
}

/* A PULL socket bound at `ep` with an unbounded queue. Aborts on failure. */
static inline void *seq_sink(void *ctx, const char *ep)
{
    void *s = zmq_socket(ctx, ZMQ_PULL);
    int zero = 0;
    zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof(zero));
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
    if (!s || zmq_bind(s, ep) != 0)
        abort();
    return s;
}

#endif /* FUZZ_SEQ_H */
