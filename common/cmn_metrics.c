/* SPDX-License-Identifier: MIT
 * cmn_metrics: the per-daemon Prometheus endpoint (contract in cmn_metrics.h).
 * The publisher renders the whole exposition text in its own thread and
 * swaps the buffer in under the lock; the HTTP thread only copies it out, so
 * the daemon's loop never waits on a client and a client never sees a torn
 * snapshot. The listening socket is bound here rather than by libmicrohttpd
 * so that a port in use is reported with its errno, not as a NULL daemon.
 */
#define CMN_LOG_TAG "metrics"
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cmn_file.h"
#include "cmn_log.h"
#include "cmn_metrics.h"

#define S_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct cmn_metrics {
    struct MHD_Daemon *mhd;       /* serving thread; NULL until started */
    int fd;                       /* listening socket (MHD uses it, we close it) */
    uint16_t port;                /* bound port */
    char *kind;                   /* sanitised kind, the prefix after renkei_ */
    char *labels;                 /* node="<id>",name="<escaped>" */
    char *token;                  /* bearer token, or NULL: none required */
    size_t token_len;             /* its length */
    pthread_mutex_t lock;         /* text, text_len, published_ns */
    char *text;                   /* the last snapshot's exposition text (owned) */
    size_t text_len;              /* bytes in text */
    uint64_t published_ns;        /* monotonic time of the last publish (start: creation) */
    atomic_uint_fast64_t dropped; /* samples left out as duplicates */
};

/* ---- text format --------------------------------------------------------- */

static uint64_t s_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A metric-name piece: anything outside [a-zA-Z0-9_] becomes '_' (the
 * reporter's rule, so both endpoints name a counter alike). */
static void s_name(FILE *f, const char *s)
{
    for (; s && *s; s++)
        fputc((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
                  ? *s
                  : '_',
              f);
}

/* A label value: backslash, double quote and newline escaped; other control
 * bytes dropped (the format has no escape for them). */
static void s_label(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"')
            fprintf(f, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", f);
        else if ((unsigned char)*s >= 0x20 && *s != 0x7f)
            fputc(*s, f);
    }
}

/* HELP text: backslash and newline escaped. */
static void s_help(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\')
            fputs("\\\\", f);
        else if (*s == '\n')
            fputs("\\n", f);
        else if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
}

static char *s_memstream_done(FILE *f, char **buf, size_t *len)
{
    if (fclose(f) != 0)
        abort(); /* open_memstream only fails on out of memory */
    (void)len;
    return *buf;
}

bool cmn_metrics_match(const char *pattern, const char *name)
{
    const char *star = strchr(pattern, '*');
    if (!star)
        return strcmp(pattern, name) == 0;
    size_t pre = (size_t)(star - pattern), post = strlen(star + 1), n = strlen(name);
    return n >= pre + post && strncmp(name, pattern, pre) == 0 &&
           strcmp(name + n - post, star + 1) == 0;
}

/* One sample while a snapshot is rendered. */
struct s_sample {
    char *family;              /* renkei_<kind>_<sanitised name> (owned) */
    const char *orig;          /* the name as published (borrowed) */
    const char *peer;          /* peer label value or NULL (borrowed) */
    const char *help;          /* HELP text or NULL (borrowed) */
    enum cmn_metric_type type; /* counter or gauge */
    uint64_t value;            /* integer value */
    double real;               /* GAUGE_REAL value */
    size_t idx;                /* publish order: the first of duplicates wins */
};

static int s_sample_cmp(const void *a, const void *b)
{
    const struct s_sample *x = a, *y = b;
    int c = strcmp(x->family, y->family);
    if (c)
        return c;
    if (!x->peer != !y->peer)
        return x->peer ? 1 : -1;
    if (x->peer && (c = strcmp(x->peer, y->peer)) != 0)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static char *s_family(const struct cmn_metrics *m, const char *name)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    fprintf(f, "renkei_%s_", m->kind);
    s_name(f, name);
    return s_memstream_done(f, &buf, &len);
}

static bool s_reserved(const char *family_tail)
{
    return strcmp(family_tail, "up") == 0 || strcmp(family_tail, "snapshot_age_seconds") == 0;
}

static const char *s_type_name(enum cmn_metric_type t)
{
    return t == CMN_METRIC_COUNTER ? "counter" : "gauge";
}

void cmn_metrics_publish(struct cmn_metrics *m, const struct cmn_counter *c, size_t n,
                         const char *const *gauges, const struct cmn_metric *extra, size_t nextra)
{
    if (!m)
        return;
    assert((c || n == 0) && (extra || nextra == 0));
    size_t total = n + nextra, prefix = strlen("renkei_") + strlen(m->kind) + 1;
    struct s_sample *s = calloc(total ? total : 1, sizeof(*s));
    if (!s)
        abort();
    for (size_t i = 0; i < n; i++) {
        bool gauge = false;
        for (const char *const *g = gauges; g && *g && !gauge; g++)
            gauge = cmn_metrics_match(*g, c[i].name);
        s[i] = (struct s_sample){.family = s_family(m, c[i].name),
                                 .orig = c[i].name,
                                 .type = gauge ? CMN_METRIC_GAUGE : CMN_METRIC_COUNTER,
                                 .value = c[i].value,
                                 .idx = i};
    }
    for (size_t i = 0; i < nextra; i++) {
        const struct cmn_metric *e = &extra[i];
        s[n + i] = (struct s_sample){.family = s_family(m, e->name),
                                     .orig = e->name,
                                     .peer = e->peer,
                                     .help = e->help,
                                     .type = e->type,
                                     .value = e->value,
                                     .real = e->real,
                                     .idx = n + i};
    }
    qsort(s, total, sizeof(*s), s_sample_cmp);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    uint64_t dropped = 0;
    const struct s_sample *head = NULL; /* first sample of the current family */
    const struct s_sample *prev = NULL; /* last sample written */
    for (size_t i = 0; i < total; i++) {
        const struct s_sample *x = &s[i];
        bool same_family = head && strcmp(head->family, x->family) == 0;
        bool same_peer =
            prev && !prev->peer == !x->peer && (!x->peer || !strcmp(prev->peer, x->peer));
        if (s_reserved(x->family + prefix) || (same_family && x->type != head->type) ||
            (same_family && same_peer && strcmp(prev->family, x->family) == 0)) {
            dropped++; /* a duplicate, a type clash within a family, or a reserved name */
            continue;
        }
        prev = x;
        if (!same_family) {
            head = x;
            fprintf(f, "# HELP %s ", x->family);
            if (x->help)
                s_help(f, x->help);
            else {
                fprintf(f, "%s ", m->kind);
                s_help(f, x->orig);
                fputs(" (as in its Stats messages)", f);
            }
            fprintf(f, "\n# TYPE %s %s\n", x->family, s_type_name(x->type));
        }
        fprintf(f, "%s{%s", x->family, m->labels);
        if (x->peer) {
            fputs(",peer=\"", f);
            s_label(f, x->peer);
            fputc('"', f);
        }
        if (x->type == CMN_METRIC_GAUGE_REAL)
            fprintf(f, "} %.6f\n", x->real);
        else
            fprintf(f, "} %" PRIu64 "\n", x->value);
    }
    s_memstream_done(f, &buf, &len);
    for (size_t i = 0; i < total; i++)
        free(s[i].family);
    free(s);

    pthread_mutex_lock(&m->lock);
    char *old = m->text;
    m->text = buf;
    m->text_len = len;
    m->published_ns = s_mono_ns();
    pthread_mutex_unlock(&m->lock);
    atomic_fetch_add(&m->dropped, dropped);
    free(old);
    if (dropped)
        CMN_LOG(INFO, "%" PRIu64 " duplicate or reserved samples left out of the snapshot",
                dropped);
}

uint64_t cmn_metrics_dropped(const struct cmn_metrics *m)
{
    return atomic_load(&m->dropped);
}

/* The response body: the snapshot, then the module's own gauges. Owned by
 * the caller. */
static char *s_scrape(struct cmn_metrics *m, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        abort();
    pthread_mutex_lock(&m->lock);
    if (m->text_len)
        fwrite(m->text, 1, m->text_len, f);
    double age = (double)(s_mono_ns() - m->published_ns) / 1e9;
    pthread_mutex_unlock(&m->lock);
    fprintf(f,
            "# HELP renkei_%s_up 1 while the daemon serves its metrics.\n"
            "# TYPE renkei_%s_up gauge\nrenkei_%s_up{%s} 1\n"
            "# HELP renkei_%s_snapshot_age_seconds Seconds since the daemon last published its "
            "counters.\n# TYPE renkei_%s_snapshot_age_seconds gauge\n"
            "renkei_%s_snapshot_age_seconds{%s} %.3f\n",
            m->kind, m->kind, m->kind, m->labels, m->kind, m->kind, m->kind, m->labels, age);
    return s_memstream_done(f, &buf, len);
}

/* ---- HTTP ------------------------------------------------------------------ */

static enum MHD_Result s_reply(struct MHD_Connection *conn, unsigned status, const char *type,
                               char *body, size_t len, const char *hname, const char *hval)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (hname)
        MHD_add_response_header(r, hname, hval);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result s_error(struct MHD_Connection *conn, unsigned status, const char *msg,
                               const char *hname, const char *hval)
{
    char *body = strdup(msg);
    if (!body)
        abort();
    return s_reply(conn, status, "text/plain; charset=utf-8", body, strlen(body), hname, hval);
}

/* Constant time in the bytes compared: every byte of the expected token is
 * looked at whatever the first difference, and a length mismatch is folded
 * into the same accumulator (the length of the configured token is not
 * the secret). */
static bool s_token_ok(const struct cmn_metrics *m, const char *hdr)
{
    static const char bearer[] = "Bearer ";
    if (!hdr || strncasecmp(hdr, bearer, sizeof(bearer) - 1) != 0)
        return false;
    const char *got = hdr + sizeof(bearer) - 1;
    size_t glen = strnlen(got, CMN_METRICS_TOKEN_MAX + 1);
    volatile unsigned char diff = glen != m->token_len;
    for (size_t i = 0; i < m->token_len; i++)
        diff |= (unsigned char)m->token[i] ^ (unsigned char)(i < glen ? got[i] : 0);
    return diff == 0;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    struct cmn_metrics *m = cls;
    if (*con_cls == NULL) { /* first call: headers only */
        *con_cls = m;
        return MHD_YES;
    }
    if (*upload_size) { /* no request bodies here: discard */
        *upload_size = 0;
        return MHD_YES;
    }
    /* a client without the token learns nothing, not even which paths exist */
    if (m->token && !s_token_ok(m, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                               MHD_HTTP_HEADER_AUTHORIZATION)))
        return s_error(conn, MHD_HTTP_UNAUTHORIZED, "401 unauthorized: Authorization: Bearer\n",
                       MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"renkei metrics\"");
    if (strcmp(method, "GET") != 0)
        return s_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "405 method not allowed: GET only\n",
                       MHD_HTTP_HEADER_ALLOW, "GET");
    if (strcmp(url, "/metrics") != 0)
        return s_error(conn, MHD_HTTP_NOT_FOUND, "404 not found: try /metrics\n", NULL, NULL);
    size_t len = 0;
    char *body = s_scrape(m, &len);
    return s_reply(conn, MHD_HTTP_OK, S_CONTENT_TYPE, body, len, NULL, NULL);
}

void cmn_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static time_t last;
    static unsigned long held;
    char msg[256];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\r\n")] = '\0';
    time_t now = time(NULL);
    pthread_mutex_lock(&lock);
    bool show = now - last >= 10;
    unsigned long before = held;
    if (show) {
        last = now;
        held = 0;
    } else {
        held++;
    }
    pthread_mutex_unlock(&lock);
    if (show)
        CMN_LOG(WARN, "libmicrohttpd: %s (%lu similar messages held back)", msg, before);
}

/* ---- start ----------------------------------------------------------------- */

/* "A.B.C.D:PORT" or "[v6]:PORT", numeric only: a name would resolve to
 * whatever the resolver says today, and the loopback rule must be exact. */
static int s_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *colon;
    bool v6 = listen[0] == '[';
    if (v6) {
        const char *rb = strchr(listen, ']');
        if (!rb || rb[1] != ':' || (size_t)(rb - listen - 1) >= sizeof(host))
            return -EINVAL;
        memcpy(host, listen + 1, (size_t)(rb - listen - 1));
        host[rb - listen - 1] = '\0';
        colon = rb + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof(host))
            return -EINVAL;
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || colon[1] == '-' || colon[1] == '+' || port < 0 ||
        port > 65535)
        return -EINVAL;
    memset(ss, 0, sizeof(*ss));
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return -EINVAL;
        *sslen = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return -EINVAL;
        *sslen = sizeof(*a);
    }
    return 0;
}

/* 127.0.0.0/8, ::1, ::ffff:127.x.y.z. */
static bool s_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
}

/* The token: the file's first line without trailing blanks; printable
 * ASCII without spaces, CMN_METRICS_TOKEN_MIN characters at least. */
static char *s_load_token(const char *path, size_t *len)
{
    char err[512];
    size_t n = 0;
    char *buf =
        cmn_file_read(path, "metrics_token_file", CMN_METRICS_TOKEN_MAX, &n, err, sizeof(err));
    if (!buf) {
        CMN_LOG(ERR, "%s", err);
        return NULL;
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    n = strlen(buf);
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        buf[--n] = '\0';
    bool ok = n >= CMN_METRICS_TOKEN_MIN;
    for (size_t i = 0; i < n && ok; i++)
        ok = buf[i] > 0x20 && buf[i] < 0x7f;
    if (!ok) {
        CMN_LOG(ERR,
                "metrics_token_file %s: the first line must be a token of at least %d printable "
                "characters without spaces",
                path, CMN_METRICS_TOKEN_MIN);
        memset(buf, 0, n);
        free(buf);
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        CMN_LOG(WARN, "metrics_token_file %s is readable by group or others (chmod 600)", path);
    *len = n;
    return buf;
}

static char *s_labels(uint32_t node_id, const char *name)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    fprintf(f, "node=\"%" PRIu32 "\",name=\"", node_id);
    s_label(f, name);
    fputc('"', f);
    return s_memstream_done(f, &buf, &len);
}

struct cmn_metrics *cmn_metrics_new(const struct cmn_metrics_config *cfg, int *errp)
{
    assert(cfg && cfg->listen && cfg->kind);
    int dummy;
    int *err = errp ? errp : &dummy;
    *err = -EINVAL;
    struct cmn_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    m->fd = -1;
    pthread_mutex_init(&m->lock, NULL);
    char *kind = NULL;
    size_t klen = 0;
    FILE *f = open_memstream(&kind, &klen);
    if (!f)
        abort();
    s_name(f, cfg->kind);
    m->kind = s_memstream_done(f, &kind, &klen);
    m->labels = s_labels(cfg->node_id, cfg->name ? cfg->name : "");
    m->published_ns = s_mono_ns();

    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    if (s_parse_listen(cfg->listen, &ss, &sslen) != 0) {
        CMN_LOG(ERR,
                "metrics_listen '%s': expected ADDR:PORT with a numeric address "
                "(127.0.0.1:9101, [::1]:9101)",
                cfg->listen);
        goto err;
    }
    if (cfg->token_file) {
        m->token = s_load_token(cfg->token_file, &m->token_len);
        if (!m->token)
            goto err;
    } else if (!s_loopback(&ss)) {
        CMN_LOG(ERR,
                "metrics_listen %s is not a loopback address: set metrics_token_file (a bearer "
                "token) so that only your scraper reads the counters, or bind 127.0.0.1",
                cfg->listen);
        goto err;
    }
    m->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        (ss.ss_family == AF_INET6 &&
         setsockopt(m->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
        bind(m->fd, (struct sockaddr *)&ss, sslen) != 0 || listen(m->fd, 64) != 0) {
        *err = -errno;
        CMN_LOG(ERR, "metrics_listen %s: cannot listen: %s", cfg->listen, strerror(errno));
        goto err;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    if (getsockname(m->fd, (struct sockaddr *)&bound, &blen) == 0)
        m->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                    : ((struct sockaddr_in *)&bound)->sin_port);
    /* The serving thread must not take the daemon's SIGINT/SIGTERM: its main
     * loop waits for them. Threads inherit the mask they start with. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    m->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, s_handler, m,
        MHD_OPTION_EXTERNAL_LOGGER, cmn_mhd_log, NULL, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)m->fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)CMN_METRICS_CONNS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)CMN_METRICS_PER_IP,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CMN_METRICS_TIMEOUT_S, MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!m->mhd) {
        *err = -EIO;
        CMN_LOG(ERR, "metrics_listen %s: libmicrohttpd did not start", cfg->listen);
        goto err;
    }
    m->fd = -1; /* libmicrohttpd owns and closes it now */
    *err = 0;
    CMN_LOG(NOTICE, "metrics on http://%s/metrics (port %u)%s", cfg->listen, m->port,
            m->token ? ", bearer token required" : "");
    return m;
err:
    cmn_metrics_destroy(&m);
    return NULL;
}

int cmn_metrics_from_config(const struct cmn_config *cfg, const char *section, const char *kind,
                            uint32_t node_id, const char *name, struct cmn_metrics **out)
{
    *out = NULL;
    const char *listen = cmn_config_get(cfg, section, "metrics_listen");
    const char *token = cmn_config_get(cfg, section, "metrics_token_file");
    char where[512];
    if (!listen || !*listen) {
        if (token) {
            CMN_LOG(ERR, "%s: metrics_token_file without metrics_listen",
                    cmn_config_where(cfg, section, "metrics_token_file", where, sizeof(where)));
            return -EINVAL;
        }
        return 0;
    }
    struct cmn_metrics_config mc = {
        .listen = listen,
        .token_file = token && *token ? token : NULL,
        .kind = kind,
        .node_id = node_id,
        .name = name,
    };
    int err = 0;
    *out = cmn_metrics_new(&mc, &err);
    if (!*out) {
        CMN_LOG(ERR, "%s: metrics_listen = %s: see above",
                cmn_config_where(cfg, section, "metrics_listen", where, sizeof(where)), listen);
        return err ? err : -EINVAL;
    }
    return 0;
}

uint16_t cmn_metrics_port(const struct cmn_metrics *m)
{
    return m->port;
}

void cmn_metrics_destroy(struct cmn_metrics **mp)
{
    if (!mp || !*mp)
        return;
    struct cmn_metrics *m = *mp;
    if (m->mhd)
        MHD_stop_daemon(m->mhd);
    if (m->fd >= 0)
        close(m->fd);
    if (m->token) {
        memset(m->token, 0, m->token_len);
        free(m->token);
    }
    free(m->kind);
    free(m->labels);
    free(m->text);
    pthread_mutex_destroy(&m->lock);
    free(m);
    *mp = NULL;
}
