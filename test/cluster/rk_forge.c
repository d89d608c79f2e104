/* SPDX-License-Identifier: MIT
 * rk_forge: an intruder for test/cluster. Connects a PUSH socket to one
 * renkei endpoint, with a CURVE key of its choice (or none), and sends what a
 * stranger would forge:
 *   collector ID SEQ   Hello as collector ID, one RecordBatch numbered SEQ
 *                      of 64 records of a service 10.66.66.66:4444 that does
 *                      not exist, then an EndOfStream claiming that batch
 *   eos ID             an EndOfStream as collector ID (ends nothing it may not)
 *   oversize BYTES     one message of BYTES bytes (ZMQ_MAXMSGSIZE test)
 * It reports what it queued; whether the receiver took it is for the test
 * to find out in the receiver's counters and the database.
 *
 * usage: rk_forge [--curve-key F --curve-peers F | --insecure-lab] ENDPOINT WHAT ARGS
 * Exit 0 (sent within 3 s) or 1 (usage, socket error, not sent in time).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "cmn_config.h"
#include "cmn_curve.h"
#include "cmn_log.h"
#include "cmn_record.h"
#include "cmn_wire.h"

static int s_usage(void)
{
    fprintf(stderr, "usage: rk_forge [--curve-key F --curve-peers F | --insecure-lab] ENDPOINT "
                    "collector ID SEQ | eos ID | oversize BYTES\n");
    return 1;
}

static void s_v4(uint8_t ip[16], uint32_t a)
{
    memset(ip, 0, 16);
    ip[10] = ip[11] = 0xff;
    ip[12] = (uint8_t)(a >> 24);
    ip[13] = (uint8_t)(a >> 16);
    ip[14] = (uint8_t)(a >> 8);
    ip[15] = (uint8_t)a;
}

static int s_send(void *sock, Renkei__Envelope *env, const char *what)
{
    int rc = cmn_wire_send(sock, env, 0);
    if (rc != 0)
        fprintf(stderr, "rk_forge: sending %s: %s\n", what, strerror(-rc));
    return rc;
}

static int s_eos(void *sock, uint32_t id, uint64_t batches, uint64_t records)
{
    Renkei__EndOfStream e = RENKEI__END_OF_STREAM__INIT;
    e.kind = RENKEI__NODE_KIND__NODE_COLLECTOR;
    e.node_id = id;
    e.batches_sent = batches;
    e.records_sent = records;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    env.body_case = RENKEI__ENVELOPE__BODY_EOS;
    env.eos = &e;
    return s_send(sock, &env, "EndOfStream");
}

static int s_collector(void *sock, uint32_t id, uint64_t seq)
{
    if (cmn_wire_send_hello_resume(sock, RENKEI__NODE_KIND__NODE_COLLECTOR, id, "intruder", 0,
                                   seq) != 0) {
        fprintf(stderr, "rk_forge: sending Hello failed\n");
        return -1;
    }
    struct cmn_record r[64];
    memset(r, 0, sizeof(r));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    for (int i = 0; i < 64; i++) {
        bool back = i & 1; /* SYN, SYN+ACK, ...: a server the role rules would believe */
        s_v4(back ? r[i].src : r[i].dst, 0x0a424242u); /* 10.66.66.66 */
        s_v4(back ? r[i].dst : r[i].src, 0x0a424201u + (uint32_t)(i / 2));
        r[i].sport = back ? 4444 : (uint16_t)(40000 + i / 2);
        r[i].dport = back ? (uint16_t)(40000 + i / 2) : 4444;
        r[i].ts_ns = now + (uint64_t)i * 1000;
        r[i].ip_len = 60;
        r[i].proto = 6;
        r[i].tcp_flags = back ? (CMN_TCP_SYN | CMN_TCP_ACK) : CMN_TCP_SYN;
        r[i].ttl = 64;
        r[i].sig = 0x5eed0000u + (uint32_t)i;
    }
    int rc = cmn_wire_send_batch(sock, id, seq, r, 64, 0);
    if (rc != 0) {
        fprintf(stderr, "rk_forge: sending the batch: %s\n", strerror(-rc));
        return -1;
    }
    return s_eos(sock, id, 1, 64);
}

static int s_oversize(void *sock, size_t bytes)
{
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, bytes) != 0) {
        fprintf(stderr, "rk_forge: %zu bytes: %s\n", bytes, zmq_strerror(zmq_errno()));
        return -1;
    }
    memset(zmq_msg_data(&m), 0x5a, bytes);
    if (zmq_msg_send(&m, sock, 0) < 0) {
        fprintf(stderr, "rk_forge: sending %zu bytes: %s\n", bytes, zmq_strerror(zmq_errno()));
        zmq_msg_close(&m);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    cmn_log_init("rk_forge", CMN_LOG_NOTICE);
    char text[4096] = "[forge]\n";
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        size_t used = strlen(text);
        if (strcmp(argv[i], "--insecure-lab") == 0)
            snprintf(text + used, sizeof(text) - used, "insecure_lab = true\n");
        else if ((strcmp(argv[i], "--curve-key") == 0 || strcmp(argv[i], "--curve-peers") == 0) &&
                 i + 1 < argc) {
            snprintf(text + used, sizeof(text) - used, "%s = %s\n",
                     argv[i][8] == 'k' ? "curve_key" : "curve_peers", argv[i + 1]);
            i++;
        } else
            return s_usage();
    }
    if (argc - i < 3)
        return s_usage();
    const char *endpoint = argv[i], *what = argv[i + 1];
    struct cmn_config *cfg = cmn_config_parse(text, strlen(text), "rk_forge options");
    char err[512];
    if (!cfg || cmn_curve_configure(cfg, "forge", err, sizeof(err)) != 0) {
        fprintf(stderr, "rk_forge: %s\n", cfg ? err : "bad options");
        cmn_config_destroy(&cfg);
        return 1;
    }
    cmn_config_destroy(&cfg);
    void *ctx = zmq_ctx_new();
    void *sock = cmn_zmq_open(ctx, ZMQ_PUSH, endpoint, false, 3000, 16);
    if (!sock) {
        zmq_ctx_term(ctx);
        return 1;
    }
    int timeout = 3000;
    zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout, sizeof(timeout));
    int rc = -1;
    if (strcmp(what, "collector") == 0 && argc - i == 4)
        rc = s_collector(sock, (uint32_t)strtoul(argv[i + 2], NULL, 10),
                         strtoull(argv[i + 3], NULL, 10));
    else if (strcmp(what, "eos") == 0)
        rc = s_eos(sock, (uint32_t)strtoul(argv[i + 2], NULL, 10), 0, 0);
    else if (strcmp(what, "oversize") == 0)
        rc = s_oversize(sock, (size_t)strtoull(argv[i + 2], NULL, 10));
    else {
        zmq_close(sock);
        zmq_ctx_term(ctx);
        return s_usage();
    }
    zmq_close(sock); /* linger 3 s: what was queued goes out, or is dropped */
    zmq_ctx_term(ctx);
    printf("rk_forge: %s to %s %s\n", what, endpoint, rc == 0 ? "queued" : "failed");
    return rc == 0 ? 0 : 1;
}
