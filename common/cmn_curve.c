/* SPDX-License-Identifier: MIT
 * cmn_curve: the process's CURVE settings (one key pair, one keyring) and a
 * ZAP handler thread per ZeroMQ context (RFC 27: ZAP 1.0). The settings are
 * written once at start-up, before any socket exists, and only read after.
 */
#define CMN_LOG_TAG "curve"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "cmn_curve.h"
#include "cmn_file.h"
#include "cmn_log.h"
#include "cmn_wire.h"

#define PEERS_MAX  4096 /* keyring entries */
#define EPS_MAX    16   /* endpoints per entry */
#define CTX_MAX    8    /* contexts with a ZAP handler */
#define NAME_MAX_L 64   /* peer name bytes */
#define AS_MAX     16   /* as= identities per entry */

/* One node identity a key may send as (kind CMN_CURVE_KIND_*, id or any). */
struct ident {
    int kind;    /* 1 collector, 2 splitter, 3 tracker, 4 merger (the wire's NodeKind) */
    bool any_id; /* "tracker:*" */
    uint32_t id; /* else this id */
};

struct peer {
    char name[NAME_MAX_L];              /* as in the keyring */
    uint8_t key[32];                    /* public key */
    char key_z85[CMN_CURVE_KEYLEN + 1]; /* its text */
    char *eps[EPS_MAX];                 /* endpoints served with this key (owned) */
    int neps;                           /* entries used in eps */
    struct ident as[AS_MAX];            /* identities it may send as (as=...) */
    int nas;                            /* 0: any (no as= given) */
};

static struct {
    bool configured;                /* cmn_curve_configure succeeded */
    bool curve;                     /* CURVE on TCP sockets */
    bool insecure;                  /* insecure_lab: plaintext TCP allowed */
    char pub[CMN_CURVE_KEYLEN + 1]; /* own public key, Z85 */
    char sec[CMN_CURVE_KEYLEN + 1]; /* own secret key, Z85 */
    struct peer *peers;             /* keyring */
    size_t npeers;                  /* entries */
    void *ctx_started[CTX_MAX];     /* contexts whose handler runs */
    pthread_mutex_t lock;           /* ctx_started */
    bool warned;                    /* insecure warning logged */
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

static atomic_uint_fast64_t g_refused;

static atomic_uint_fast64_t g_impostors;

uint64_t cmn_curve_impostors(void)
{
    return atomic_load(&g_impostors);
}

bool cmn_curve_allowed(const char *user, int kind, uint32_t id)
{
    if (!user || !user[0])
        return true; /* not over CURVE (ipc, inproc, insecure_lab) */
    const struct peer *p = NULL;
    for (size_t i = 0; i < g.npeers && !p; i++)
        if (strcmp(g.peers[i].name, user) == 0)
            p = &g.peers[i];
    bool ok = p && p->nas == 0;
    for (int i = 0; p && !ok && i < p->nas; i++)
        ok = p->as[i].kind == kind && (p->as[i].any_id || p->as[i].id == id);
    return ok;
}

bool cmn_curve_may_send(const char *user, int kind, uint32_t id)
{
    bool ok = cmn_curve_allowed(user, kind, id);
    if (!ok) {
        uint64_t n = atomic_fetch_add(&g_impostors, 1) + 1;
        if ((n & (n - 1)) == 0) /* 1, 2, 4, ...: a flood does not flood the log */
            CMN_LOG(WARN,
                    "peer %s may not send as kind %d id %" PRIu32
                    " (its curve_peers as= list): message dropped (%" PRIu64 " so far)",
                    user, kind, id, n);
    }
    return ok;
}

uint64_t cmn_curve_refused(void)
{
    return atomic_load(&g_refused);
}

void cmn_curve_reset(void)
{
    for (size_t i = 0; i < g.npeers; i++)
        for (int k = 0; k < g.peers[i].neps; k++)
            free(g.peers[i].eps[k]);
    free(g.peers);
    g.peers = NULL;
    g.npeers = 0;
    g.configured = g.curve = g.insecure = g.warned = false;
    memset(g.sec, 0, sizeof(g.sec));
}

static bool s_is_tcp(const char *endpoint)
{
    return strncmp(endpoint, "tcp://", 6) == 0;
}

static bool s_z85_key(const char *text, uint8_t out[32])
{
    return strlen(text) == CMN_CURVE_KEYLEN && zmq_z85_decode(out, text) != NULL;
}

/* The key file: "public Z85" and "secret Z85" lines, any order. */
static int s_load_key(const char *path, char *err, size_t errlen)
{
    char why[256];
    FILE *f = cmn_file_open(path, "curve_key", why, sizeof(why));
    if (!f) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
        CMN_LOG(WARN, "curve_key %s is readable by others (mode %03o): chmod 600 it", path,
                (unsigned)(st.st_mode & 0777));
    char line[256];
    int lineno = 0, rc = 0;
    uint8_t raw[32];
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        char what[16], z[64];
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%15s %63s", what, z) != 2 || !s_z85_key(z, raw) ||
            (strcmp(what, "public") != 0 && strcmp(what, "secret") != 0)) {
            snprintf(err, errlen, "%s:%d: expected \"public KEY\" or \"secret KEY\" (40 Z85 chars)",
                     path, lineno);
            rc = -1;
            break;
        }
        memcpy(strcmp(what, "public") == 0 ? g.pub : g.sec, z, CMN_CURVE_KEYLEN + 1); /* 40 + NUL */
    }
    fclose(f);
    if (rc == 0 && (!g.pub[0] || !g.sec[0])) {
        snprintf(err, errlen, "%s: needs both a public and a secret line (renkei keygen)", path);
        rc = -1;
    }
    if (rc == 0) {
        char derived[CMN_CURVE_KEYLEN + 1];
        if (zmq_curve_public(derived, g.sec) != 0 || strcmp(derived, g.pub) != 0) {
            snprintf(err, errlen, "%s: the public key is not the secret key's", path);
            rc = -1;
        }
    }
    return rc;
}

/* "collector:1,tracker:*" into p->as. 0 or -1. */
static int s_parse_as(struct peer *p, char *list)
{
    static const char *const kinds[] = {NULL, "collector", "splitter", "tracker", "merger"};
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(t, ':');
        if (!colon || p->nas == AS_MAX)
            return -1;
        *colon = '\0';
        struct ident *id = &p->as[p->nas];
        id->kind = 0;
        for (int k = 1; k <= 4; k++)
            if (strcmp(t, kinds[k]) == 0)
                id->kind = k;
        const char *v = colon + 1;
        char *end = NULL;
        if (strcmp(v, "*") == 0) {
            id->any_id = true;
        } else {
            errno = 0;
            unsigned long n = strtoul(v, &end, 10);
            if (!*v || *end || errno || n > UINT32_MAX)
                return -1;
            id->id = (uint32_t)n;
        }
        if (id->kind == 0)
            return -1;
        p->nas++;
    }
    return p->nas > 0 ? 0 : -1;
}

static int s_load_peers(const char *path, char *err, size_t errlen)
{
    char why[256];
    FILE *f = cmn_file_open(path, "curve_peers", why, sizeof(why));
    if (!f) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    g.peers = calloc(PEERS_MAX, sizeof(*g.peers));
    if (!g.peers)
        abort();
    char line[2048];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s:%d: line longer than %zu bytes", path, lineno,
                     sizeof(line) - 2);
            rc = -1;
            break;
        }
        char *save = NULL, *name = strtok_r(line, " \t\r\n", &save);
        if (!name || name[0] == '#') /* Z85 keys hold '#': comments are whole lines */
            continue;
        char *key = strtok_r(NULL, " \t\r\n", &save);
        if (g.npeers == PEERS_MAX) {
            snprintf(err, errlen, "%s:%d: more than %d peers", path, lineno, PEERS_MAX);
            rc = -1;
            break;
        }
        struct peer *p = &g.peers[g.npeers];
        if (strlen(name) >= NAME_MAX_L || !key || !s_z85_key(key, p->key)) {
            snprintf(err, errlen,
                     "%s:%d: expected NAME PUBLIC_KEY [ENDPOINT...] (a name of at "
                     "most %d bytes, a 40-character Z85 key)",
                     path, lineno, NAME_MAX_L - 1);
            rc = -1;
            break;
        }
        for (size_t i = 0; i < g.npeers; i++)
            if (memcmp(g.peers[i].key, p->key, 32) == 0 || strcmp(g.peers[i].name, name) == 0) {
                snprintf(err, errlen, "%s:%d: peer %s or its key is listed twice", path, lineno,
                         name);
                rc = -1;
            }
        if (rc)
            break;
        memcpy(p->name, name, strlen(name) + 1);       /* < NAME_MAX_L, checked */
        memcpy(p->key_z85, key, CMN_CURVE_KEYLEN + 1); /* 40 + NUL, checked */
        for (char *ep; (ep = strtok_r(NULL, " \t\r\n", &save)) != NULL;) {
            if (strncmp(ep, "as=", 3) == 0) {
                if (s_parse_as(p, ep + 3) != 0) {
                    snprintf(err, errlen,
                             "%s:%d: %s: expected as=KIND:ID[,KIND:ID...] (KIND collector, "
                             "splitter, tracker or merger; ID a number or *; at most %d)",
                             path, lineno, ep, AS_MAX);
                    rc = -1;
                    break;
                }
                continue;
            }
            if (p->neps == EPS_MAX || !s_is_tcp(ep)) {
                snprintf(err, errlen, "%s:%d: %s: at most %d tcp:// endpoints per peer", path,
                         lineno, ep, EPS_MAX);
                rc = -1;
                break;
            }
            p->eps[p->neps] = strdup(ep);
            if (!p->eps[p->neps++])
                abort();
        }
        g.npeers++;
    }
    fclose(f);
    if (rc == 0 && g.npeers == 0) {
        snprintf(err, errlen, "%s: no peers", path);
        rc = -1;
    }
    return rc;
}

int cmn_curve_configure(const struct cmn_config *cfg, const char *sec, char *err, size_t errlen)
{
    cmn_curve_reset();
    const char *key = cmn_config_get(cfg, sec, "curve_key");
    const char *peers = cmn_config_get(cfg, sec, "curve_peers");
    bool insecure = false;
    if (cmn_config_bool(cfg, sec, "insecure_lab", false, &insecure) != 0) {
        snprintf(err, errlen, "insecure_lab: expected true or false");
        return -1;
    }
    if (!key != !peers) {
        snprintf(err, errlen, "curve_key and curve_peers go together (%s is missing)",
                 key ? "curve_peers" : "curve_key");
        return -1;
    }
    if (key && insecure) {
        snprintf(err, errlen, "curve_key and insecure_lab exclude each other");
        return -1;
    }
    if (key) {
        if (!zmq_has("curve")) {
            snprintf(err, errlen, "this libzmq has no CURVE support");
            return -1;
        }
        if (s_load_key(key, err, errlen) != 0 || s_load_peers(peers, err, errlen) != 0) {
            cmn_curve_reset();
            return -1;
        }
        g.curve = true;
        CMN_LOG(INFO, "CURVE on TCP sockets: key %s, %zu peers in %s", g.pub, g.npeers, peers);
    }
    g.insecure = insecure;
    g.configured = true;
    return 0;
}

int cmn_curve_keygen(const char *prefix, char *err, size_t errlen)
{
    char pub[CMN_CURVE_KEYLEN + 1], secret[CMN_CURVE_KEYLEN + 1];
    if (!zmq_has("curve") || zmq_curve_keypair(pub, secret) != 0) {
        snprintf(err, errlen, "this libzmq cannot make CURVE keys");
        return -1;
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s.key", prefix);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char text[256];
    int n = snprintf(text, sizeof(text),
                     "# renkei CURVE key pair: keep secret (mode 0600)\npublic %s\nsecret %s\n",
                     pub, secret);
    bool ok = write(fd, text, (size_t)n) == n;
    ok = close(fd) == 0 && ok;
    memset(secret, 0, sizeof(secret));
    memset(text, 0, sizeof(text));
    if (!ok) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    snprintf(path, sizeof(path), "%s.pub", prefix);
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%s\n", pub) < 0 || fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- ZAP handler ---- */

static const struct peer *s_find_key(const uint8_t *key)
{
    for (size_t i = 0; i < g.npeers; i++)
        if (memcmp(g.peers[i].key, key, 32) == 0)
            return &g.peers[i];
    return NULL;
}

/* Receive one frame into buf (cut at cap); -1 on error (ETERM ends the handler). */
static int s_frame(void *sock, char *buf, size_t cap, size_t *len, int *more)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock, 0) < 0) {
        zmq_msg_close(&m);
        return -1;
    }
    size_t n = zmq_msg_size(&m);
    memcpy(buf, zmq_msg_data(&m), n < cap ? n : cap);
    *len = n < cap ? n : cap;
    *more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    return 0;
}

static void *s_zap_thread(void *arg)
{
    void *sock = arg;
    for (;;) {
        /* version, request id, domain, address, identity, mechanism, key */
        char f[8][64];
        size_t len[8] = {0};
        int more = 1, nf = 0;
        while (more) {
            char sink[64];
            size_t l;
            if (s_frame(sock, nf < 8 ? f[nf] : sink, 63, &l, &more) != 0)
                goto done;
            if (nf < 8) {
                f[nf][l] = '\0';
                len[nf] = l;
            }
            nf++;
        }
        const struct peer *p = NULL;
        bool ok = nf == 7 && len[5] == 5 && memcmp(f[5], "CURVE", 5) == 0 && len[6] == 32 &&
                  (p = s_find_key((const uint8_t *)f[6])) != NULL;
        if (!ok) {
            atomic_fetch_add(&g_refused, 1);
            char z[CMN_CURVE_KEYLEN + 1] = "none";
            if (nf == 7 && len[6] == 32)
                zmq_z85_encode(z, (const uint8_t *)f[6], 32);
            CMN_LOG(WARN, "refused a connection from %s: key %s is not in curve_peers",
                    nf > 3 ? f[3] : "?", z);
        }
        const char *code = ok ? "200" : "400";
        const char *text = ok ? "OK" : "unknown key";
        const char *user = ok ? p->name : "";
        zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
        zmq_send(sock, nf > 1 ? f[1] : "", nf > 1 ? len[1] : 0, ZMQ_SNDMORE);
        zmq_send(sock, code, 3, ZMQ_SNDMORE);
        zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
        zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
        zmq_send(sock, "", 0, 0);
    }
done:
    zmq_close(sock);
    return NULL;
}

/* ---- handshake monitor ---- */

/* A bound CURVE socket's failed handshakes that never reach the ZAP handler
 * (a plaintext or NULL-mechanism client, a broken greeting): logged (1st,
 * 2nd, 4th... time) and counted in cmn_curve_refused. A refused key fails
 * with ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, which the ZAP handler already
 * counted, so that event is not asked for. Closed connections are counted
 * in cmn_curve_closed (ZeroMQ names no reason: a peer that left and one
 * dropped for a message over CMN_WIRE_MSG_MAX look alike). */
struct s_mon {
    void *pair;        /* PAIR connected to the monitor's inproc endpoint */
    char endpoint[96]; /* the bound endpoint, for the log */
};

static atomic_uint_fast64_t g_handshake_failed;
static atomic_uint_fast64_t g_closed; /* connections of bound CURVE sockets that closed */

uint64_t cmn_curve_closed(void)
{
    return atomic_load(&g_closed);
}

static void *s_monitor_thread(void *arg)
{
    struct s_mon *m = arg;
    for (;;) {
        zmq_msg_t ev;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, m->pair, 0) < 0) { /* ETERM: the context ends */
            zmq_msg_close(&ev);
            break;
        }
        uint16_t id = 0;
        if (zmq_msg_size(&ev) >= 2)
            memcpy(&id, zmq_msg_data(&ev), 2);
        bool more = zmq_msg_more(&ev);
        zmq_msg_close(&ev);
        char addr[128] = "";
        if (more) {
            zmq_msg_t a;
            zmq_msg_init(&a);
            if (zmq_msg_recv(&a, m->pair, 0) >= 0) {
                size_t n =
                    zmq_msg_size(&a) < sizeof(addr) - 1 ? zmq_msg_size(&a) : sizeof(addr) - 1;
                memcpy(addr, zmq_msg_data(&a), n);
                addr[n] = '\0';
            }
            zmq_msg_close(&a);
        }
        if (id == ZMQ_EVENT_DISCONNECTED) {
            uint64_t c = atomic_fetch_add(&g_closed, 1) + 1;
            if ((c & (c - 1)) == 0)
                CMN_LOG(NOTICE,
                        "%s: a peer's connection closed (it left, or ZeroMQ dropped it: a "
                        "message over %lld bytes or a broken frame) (%" PRIu64 " so far)",
                        m->endpoint, (long long)CMN_WIRE_MSG_MAX, c);
            continue;
        }
        atomic_fetch_add(&g_refused, 1);
        uint64_t n = atomic_fetch_add(&g_handshake_failed, 1) + 1;
        if ((n & (n - 1)) == 0)
            CMN_LOG(WARN,
                    "%s: a client failed the CURVE handshake (%s; plaintext or no CURVE?): "
                    "refused (%" PRIu64 " so far)",
                    m->endpoint,
                    id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "protocol error" : "no detail", n);
    }
    zmq_close(m->pair);
    free(m);
    return NULL;
}

/* Watch `sock` (bound to endpoint) for failed handshakes. Best effort: a
 * monitor that cannot start is logged, the socket works without it. */
static void s_monitor_start(void *ctx, void *sock, const char *endpoint)
{
    static atomic_uint next;
    char addr[64];
    snprintf(addr, sizeof(addr), "inproc://renkei-curve-mon-%u", atomic_fetch_add(&next, 1));
    struct s_mon *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    snprintf(m->endpoint, sizeof(m->endpoint), "%s", endpoint);
    int linger = 0;
    /* the PAIR is connected first: an event ZeroMQ cannot deliver leaks */
    if (!(m->pair = zmq_socket(ctx, ZMQ_PAIR)) ||
        zmq_setsockopt(m->pair, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_connect(m->pair, addr) != 0 ||
        zmq_socket_monitor(sock, addr,
                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_DISCONNECTED) != 0) {
        CMN_LOG(WARN, "%s: no handshake monitor: %s", endpoint, zmq_strerror(zmq_errno()));
        if (m->pair)
            zmq_close(m->pair);
        free(m);
        return;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, s_monitor_thread, m) != 0) {
        zmq_close(m->pair);
        free(m);
        return;
    }
    pthread_detach(t);
}

/* Start the ZAP handler of `ctx` once. */
static int s_zap_start(void *ctx)
{
    pthread_mutex_lock(&g.lock);
    int rc = 0, free_slot = -1;
    for (int i = 0; i < CTX_MAX; i++) {
        if (g.ctx_started[i] == ctx)
            goto out;
        if (!g.ctx_started[i] && free_slot < 0)
            free_slot = i;
    }
    void *s = zmq_socket(ctx, ZMQ_REP);
    int linger = 0;
    if (!s || free_slot < 0 || zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
        zmq_bind(s, "inproc://zeromq.zap.01") != 0) {
        CMN_LOG(ERR, "cannot start the ZAP handler: %s", zmq_strerror(zmq_errno()));
        if (s)
            zmq_close(s);
        rc = -1;
        goto out;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, s_zap_thread, s) != 0) {
        zmq_close(s);
        rc = -1;
        goto out;
    }
    pthread_detach(t);
    g.ctx_started[free_slot] = ctx;
out:
    pthread_mutex_unlock(&g.lock);
    return rc;
}

int cmn_curve_apply(void *ctx, void *sock, const char *endpoint, bool bind)
{
    if (!s_is_tcp(endpoint))
        return 0;
    if (!g.curve) {
        if (g.insecure) {
            if (!g.warned)
                CMN_LOG(WARN,
                        "insecure_lab: plaintext TCP, anyone who reaches %s can talk to "
                        "this node",
                        endpoint);
            g.warned = true;
            return 0;
        }
        CMN_LOG(ERR,
                "%s: TCP needs CURVE (curve_key and curve_peers, made with renkei keygen) "
                "or insecure_lab = true",
                endpoint);
        return -1;
    }
    int one = 1;
    if (bind) {
        if (s_zap_start(ctx) != 0)
            return -1;
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, g.sec, CMN_CURVE_KEYLEN) != 0 ||
            zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "renkei", 6) != 0) {
            CMN_LOG(ERR, "%s: CURVE server options: %s", endpoint, zmq_strerror(zmq_errno()));
            return -1;
        }
        s_monitor_start(ctx, sock, endpoint);
        return 0;
    }
    const struct peer *srv = NULL;
    for (size_t i = 0; i < g.npeers && !srv; i++)
        for (int k = 0; k < g.peers[i].neps; k++)
            if (strcmp(g.peers[i].eps[k], endpoint) == 0)
                srv = &g.peers[i];
    if (!srv) {
        CMN_LOG(ERR, "%s: no peer in curve_peers lists this endpoint (NAME KEY %s)", endpoint,
                endpoint);
        return -1;
    }
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, srv->key_z85, CMN_CURVE_KEYLEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, g.pub, CMN_CURVE_KEYLEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, g.sec, CMN_CURVE_KEYLEN) != 0) {
        CMN_LOG(ERR, "%s: CURVE client options: %s", endpoint, zmq_strerror(zmq_errno()));
        return -1;
    }
    CMN_LOG(INFO, "%s: CURVE, server %s", endpoint, srv->name);
    return 0;
}
