/* SPDX-License-Identifier: MIT
 * Unit tests for common/cmn_metrics: publish a snapshot and scrape it over
 * loopback with a raw socket; every line of the body is checked against the
 * Prometheus text format (HELP and TYPE once per family, before its samples,
 * samples `name{labels} value`, labels escaped); 401, 404 and 405; the
 * loopback rule, bad addresses, a port in use, the token file, the config
 * keys; connection limits and the idle timeout; publishing from one thread
 * while another scrapes never shows a torn snapshot.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cmn_config.h"
#include "cmn_log.h"
#include "cmn_metrics.h"
#include "harness.h"

/* ---- a raw HTTP client ---------------------------------------------------- */

static int s_connect(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Everything the server sends until it closes, NUL-terminated (caller frees);
 * NULL when nothing came. */
static char *s_read_all(int fd)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while (buf && (r = recv(fd, buf + len, cap - len - 1, 0)) > 0) {
        len += (size_t)r;
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    if (!buf || len == 0) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* Send `method path` (plus `extra` header lines) and return the response. */
static char *s_http(uint16_t port, const char *method, const char *path, const char *extra)
{
    int fd = s_connect(port);
    if (fd < 0)
        return NULL;
    char req[1024];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n",
                     method, path, extra ? extra : "");
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        close(fd);
        return NULL;
    }
    char *resp = s_read_all(fd);
    close(fd);
    return resp;
}

static int s_status(const char *resp)
{
    int st = 0;
    return resp && sscanf(resp, "HTTP/1.%*d %d", &st) == 1 ? st : -1;
}

static const char *s_body(const char *resp)
{
    const char *b = resp ? strstr(resp, "\r\n\r\n") : NULL;
    return b ? b + 4 : NULL;
}

/* ---- a text-format checker ------------------------------------------------ */

#define FAM_MAX 256

struct s_fam {
    char name[160]; /* family */
    bool help;      /* # HELP seen */
    char type[16];  /* # TYPE value, "" before */
    bool samples;   /* samples seen */
    bool closed;    /* another family's sample came after ours */
};

static struct s_fam *s_fam_get(struct s_fam *f, int *n, const char *name, size_t len)
{
    for (int i = 0; i < *n; i++)
        if (strlen(f[i].name) == len && strncmp(f[i].name, name, len) == 0)
            return &f[i];
    if (*n == FAM_MAX || len >= sizeof(f[0].name))
        return NULL;
    struct s_fam *x = &f[(*n)++];
    memset(x, 0, sizeof(*x));
    memcpy(x->name, name, len);
    return x;
}

static bool s_name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* A label set "{k="v",...}" from *p; advances *p past it. */
static bool s_labels_ok(const char **pp)
{
    const char *p = *pp;
    if (*p != '{')
        return true;
    p++;
    while (*p != '}') {
        if (!s_name_char(*p, true) || *p == ':')
            return false;
        while (s_name_char(*p, false) && *p != ':')
            p++;
        if (*p++ != '=' || *p++ != '"')
            return false;
        while (*p != '"') {
            if (*p == '\0' || *p == '\n')
                return false;
            if (*p == '\\') {
                p++;
                if (*p != '\\' && *p != '"' && *p != 'n')
                    return false;
            }
            p++;
        }
        p++;
        if (*p == ',')
            p++;
        else if (*p != '}')
            return false;
    }
    *pp = p + 1;
    return true;
}

/* Every line valid, families contiguous with one HELP and one TYPE before
 * their samples; *nsamples gets the sample count. Prints the bad line. */
static bool s_valid(const char *body, int *nsamples)
{
    struct s_fam fam[FAM_MAX];
    int nf = 0, ns = 0;
    struct s_fam *cur = NULL;
    for (const char *line = body; *line;) {
        const char *eol = strchr(line, '\n');
        if (!eol) {
            fprintf(stderr, "  last line without newline: %s\n", line);
            return false;
        }
        bool ok = true;
        if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
            const char *nm = line + 7, *sp = nm;
            while (s_name_char(*sp, sp == nm))
                sp++;
            struct s_fam *f = s_fam_get(fam, &nf, nm, (size_t)(sp - nm));
            ok = f && *sp == ' ' && !f->samples;
            if (ok && line[2] == 'H') {
                ok = !f->help;
                f->help = true;
            } else if (ok) {
                ok = !f->type[0] &&
                     (strncmp(sp + 1, "counter\n", 8) == 0 || strncmp(sp + 1, "gauge\n", 6) == 0);
                if (ok)
                    snprintf(f->type, sizeof(f->type), "%.*s", (int)(eol - sp - 1), sp + 1);
            }
        } else if (line[0] == '#' || line == eol) {
            ok = false; /* we write no other comments and no blank lines */
        } else {
            const char *p = line;
            while (s_name_char(*p, p == line))
                p++;
            struct s_fam *f = p > line ? s_fam_get(fam, &nf, line, (size_t)(p - line)) : NULL;
            ok = f && f->help && f->type[0] && !f->closed && s_labels_ok(&p) && *p == ' ';
            if (ok) {
                char *end;
                strtod(p + 1, &end);
                ok = end > p + 1 && end == eol;
            }
            if (ok && cur && cur != f)
                cur->closed = true;
            if (ok) {
                cur = f;
                f->samples = true;
                ns++;
            }
        }
        if (!ok) {
            fprintf(stderr, "  bad exposition line: %.*s\n", (int)(eol - line), line);
            return false;
        }
        line = eol + 1;
    }
    *nsamples = ns;
    return true;
}

/* ---- cases ---------------------------------------------------------------- */

static struct cmn_metrics *s_start(const char *listen, const char *token_file, int *err)
{
    struct cmn_metrics_config mc = {.listen = listen,
                                    .token_file = token_file,
                                    .kind = "splitter",
                                    .node_id = 3,
                                    .name = "tcp://127.0.0.1:5550"};
    return cmn_metrics_new(&mc, err);
}

static const char *const s_gauges[] = {"dedup_held", "collector.*.down", NULL};

TEST(publish_scrape_format)
{
    int err = 1;
    struct cmn_metrics *m = s_start("127.0.0.1:0", NULL, &err);
    FAIL_IF(!m || err != 0 || cmn_metrics_port(m) == 0);
    uint16_t port = cmn_metrics_port(m);
    /* before any publish: up and the snapshot age only */
    char *r = s_http(port, "GET", "/metrics", NULL);
    int ns = 0;
    FAIL_IF(s_status(r) != 200 || !strstr(r, "text/plain; version=0.0.4; charset=utf-8"));
    FAIL_IF(!s_valid(s_body(r), &ns) || ns != 2);
    FAIL_IF(!strstr(r, "renkei_splitter_up{node=\"3\",name=\"tcp://127.0.0.1:5550\"} 1\n"));
    free(r);

    const struct cmn_counter c[] = {
        {"records_received", 1234567890123ull},
        {"dedup_held", 7},
        {"collector.1.records_received", 99},
        {"collector.1.down", 1},
        {"records.received", 5}, /* sanitises onto records_received: left out */
    };
    const struct cmn_metric extra[] = {
        {.name = "epoch", .type = CMN_METRIC_GAUGE, .value = 42, .help = "current epoch"},
        {.name = "peer_last_heard_seconds",
         .type = CMN_METRIC_GAUGE_REAL,
         .real = 1.5,
         .peer = "collector.1 \"odd\\name\"\nline2",
         .help = "seconds since a peer was last heard\nfrom"},
        {.name = "peer_last_heard_seconds",
         .type = CMN_METRIC_GAUGE_REAL,
         .real = 0.25,
         .peer = "collector.2"},
        {.name = "up", .type = CMN_METRIC_GAUGE, .value = 0}, /* reserved: left out */
    };
    cmn_metrics_publish(m, c, sizeof(c) / sizeof(c[0]), s_gauges, extra,
                        sizeof(extra) / sizeof(extra[0]));
    FAIL_IF(cmn_metrics_dropped(m) != 2);
    r = s_http(port, "GET", "/metrics", NULL);
    FAIL_IF(s_status(r) != 200);
    const char *b = s_body(r);
    FAIL_IF(!s_valid(b, &ns) || ns != 9);
    const char *lab = "{node=\"3\",name=\"tcp://127.0.0.1:5550\"}";
    char want[512];
    snprintf(want, sizeof(want), "renkei_splitter_records_received%s 1234567890123\n", lab);
    FAIL_IF(!strstr(b, want));
    FAIL_IF(!strstr(b, "# TYPE renkei_splitter_records_received counter\n"));
    FAIL_IF(!strstr(b, "# TYPE renkei_splitter_dedup_held gauge\n"));
    FAIL_IF(!strstr(b, "# TYPE renkei_splitter_collector_1_down gauge\n"));
    FAIL_IF(!strstr(b, "# TYPE renkei_splitter_collector_1_records_received counter\n"));
    FAIL_IF(!strstr(b, "# TYPE renkei_splitter_epoch gauge\n"));
    FAIL_IF(!strstr(b, "# HELP renkei_splitter_peer_last_heard_seconds seconds since a peer was "
                       "last heard\\nfrom\n"));
    FAIL_IF(!strstr(b, "renkei_splitter_peer_last_heard_seconds{node=\"3\",name=\"tcp://"
                       "127.0.0.1:5550\",peer=\"collector.1 \\\"odd\\\\name\\\"\\nline2\"} "
                       "1.500000\n"));
    FAIL_IF(!strstr(b, ",peer=\"collector.2\"} 0.250000\n"));
    FAIL_IF(strstr(b, "renkei_splitter_records_received{node=\"3\",name=\"tcp://127.0.0.1:5550\"} "
                      "5\n"));
    FAIL_IF(strstr(b, "renkei_splitter_up{node=\"3\",name=\"tcp://127.0.0.1:5550\"} 0"));
    FAIL_IF(!strstr(b, "renkei_splitter_snapshot_age_seconds{"));
    free(r);

    /* the checker itself rejects what it must */
    FAIL_IF(s_valid("renkei_x 1\n", &ns));                                      /* no TYPE */
    FAIL_IF(s_valid("# HELP a h\n# TYPE a gauge\na{l=\"x\"y\"} 1\n", &ns));     /* bad quote */
    FAIL_IF(s_valid("# HELP a h\n# TYPE a gauge\na 1\n# TYPE a gauge\n", &ns)); /* TYPE after */
    FAIL_IF(s_valid("# HELP a h\n# TYPE a gauge\na one\n", &ns));               /* value */
    FAIL_IF(!s_valid("# HELP a h\n# TYPE a counter\na{l=\"\\\\\"} 1\n", &ns));  /* escaped */
    cmn_metrics_destroy(&m);
    FAIL_IF(m);
    cmn_metrics_destroy(&m); /* NULL is fine */
    cmn_metrics_publish(NULL, c, 1, NULL, NULL, 0);
    PASS;
}

TEST(paths_and_methods)
{
    struct cmn_metrics *m = s_start("127.0.0.1:0", NULL, NULL);
    FAIL_IF(!m);
    uint16_t port = cmn_metrics_port(m);
    char *r = s_http(port, "GET", "/", NULL);
    FAIL_IF(s_status(r) != 404);
    free(r);
    r = s_http(port, "GET", "/metrics/x", NULL);
    FAIL_IF(s_status(r) != 404);
    free(r);
    r = s_http(port, "POST", "/metrics", "Content-Length: 5\r\n\r\nhello");
    FAIL_IF(s_status(r) != 405 || !strstr(r, "Allow: GET"));
    free(r);
    r = s_http(port, "DELETE", "/metrics", NULL);
    FAIL_IF(s_status(r) != 405);
    free(r);
    r = s_http(port, "GET", "/metrics", NULL);
    FAIL_IF(s_status(r) != 200);
    free(r);
    cmn_metrics_destroy(&m);
    PASS;
}

static const char *s_token_path(const char *text, mode_t mode)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/renkei-test-token-%d", (int)getpid());
    unlink(path);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
    return path;
}

TEST(token)
{
    const char *tok = s_token_path("s3cret-token-0123456789\n", 0600);
    struct cmn_metrics *m = s_start("127.0.0.1:0", tok, NULL);
    FAIL_IF(!m);
    uint16_t port = cmn_metrics_port(m);
    char *r = s_http(port, "GET", "/metrics", NULL);
    FAIL_IF(s_status(r) != 401 || !strstr(r, "WWW-Authenticate: Bearer"));
    FAIL_IF(strstr(r, "renkei_"));
    free(r);
    static const char *const bad[] = {
        "Authorization: Bearer s3cret-token-012345678\r\n",   /* one short */
        "Authorization: Bearer s3cret-token-01234567890\r\n", /* one long */
        "Authorization: Bearer s3cret-token-0123456788\r\n",  /* last differs */
        "Authorization: Basic czNjcmV0LXRva2VuCg==\r\n",      "Authorization: Bearer\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = s_http(port, "GET", "/metrics", bad[i]);
        FAIL_IF(s_status(r) != 401);
        free(r);
    }
    /* without the token, other paths and methods say nothing either */
    r = s_http(port, "GET", "/nope", NULL);
    FAIL_IF(s_status(r) != 401);
    free(r);
    r = s_http(port, "POST", "/metrics", NULL);
    FAIL_IF(s_status(r) != 401);
    free(r);
    const char *good = "Authorization: Bearer s3cret-token-0123456789\r\n";
    r = s_http(port, "GET", "/metrics", good);
    FAIL_IF(s_status(r) != 200 || !strstr(r, "renkei_splitter_up{"));
    free(r);
    r = s_http(port, "GET", "/nope", good);
    FAIL_IF(s_status(r) != 404);
    free(r);
    r = s_http(port, "PUT", "/metrics", good);
    FAIL_IF(s_status(r) != 405);
    free(r);
    cmn_metrics_destroy(&m);

    /* a non-loopback address: refused without a token, served with one */
    int err = 0;
    m = s_start("0.0.0.0:0", NULL, &err);
    FAIL_IF(m || err != -EINVAL);
    m = s_start("[::]:0", NULL, &err);
    FAIL_IF(m || err != -EINVAL);
    m = s_start("192.0.2.1:9101", NULL, &err);
    FAIL_IF(m || err != -EINVAL);
    m = s_start("0.0.0.0:0", tok, &err);
    FAIL_IF(!m || err != 0);
    r = s_http(cmn_metrics_port(m), "GET", "/metrics", NULL);
    FAIL_IF(s_status(r) != 401);
    free(r);
    cmn_metrics_destroy(&m);

    /* bad token files */
    FAIL_IF(s_start("127.0.0.1:0", s_token_path("short\n", 0600), &err) || err != -EINVAL);
    FAIL_IF(s_start("127.0.0.1:0", s_token_path("has a space in it, long\n", 0600), &err) ||
            err != -EINVAL);
    FAIL_IF(s_start("127.0.0.1:0", s_token_path("", 0600), &err) || err != -EINVAL);
    FAIL_IF(s_start("127.0.0.1:0", "/nonexistent/renkei-token", &err) || err != -EINVAL);
    FAIL_IF(s_start("127.0.0.1:0", "/tmp", &err) || err != -EINVAL);
    unlink(tok);
    PASS;
}

TEST(addresses)
{
    static const char *const bad[] = {
        "localhost:9101",
        "127.0.0.1",
        "127.0.0.1:70000",
        "127.0.0.1:-1",
        "[::1:9101",
        "[::1]9101",
        "::1:9101",
        "127.0.0.1:",
        "127.0.0.1:9x",
        ":9101",
        "*:9101",
        "127.0.0.1:+80",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int err = 0;
        struct cmn_metrics *m = s_start(bad[i], NULL, &err);
        if (m || err != -EINVAL)
            fprintf(stderr, "  accepted '%s'\n", bad[i]);
        FAIL_IF(m || err != -EINVAL);
    }
    /* other loopback forms */
    struct cmn_metrics *m = s_start("127.0.0.2:0", NULL, NULL);
    FAIL_IF(!m);
    cmn_metrics_destroy(&m);
    m = s_start("[::1]:0", NULL, NULL);
    if (m) /* a host without IPv6 cannot bind ::1; the rule was still passed */
        cmn_metrics_destroy(&m);
    /* a port in use is a clear error with its errno */
    struct cmn_metrics *a = s_start("127.0.0.1:0", NULL, NULL);
    FAIL_IF(!a);
    char listen[64];
    snprintf(listen, sizeof(listen), "127.0.0.1:%u", cmn_metrics_port(a));
    int err = 0;
    m = s_start(listen, NULL, &err);
    FAIL_IF(m || err != -EADDRINUSE);
    cmn_metrics_destroy(&a);
    m = s_start(listen, NULL, &err); /* free again */
    FAIL_IF(!m || err != 0);
    cmn_metrics_destroy(&m);
    FAIL_IF(!cmn_metrics_match("a", "a") || cmn_metrics_match("a", "ab"));
    FAIL_IF(!cmn_metrics_match("c.*.down", "c.12.down") || cmn_metrics_match("c.*.down", "c.down"));
    FAIL_IF(!cmn_metrics_match("*_bytes", "memory_bytes") || cmn_metrics_match("*_bytes", "x"));
    PASS;
}

TEST(config_keys)
{
    struct cmn_metrics *m = (struct cmn_metrics *)1;
    const char ok[] = "[tracker]\nmetrics_listen = 127.0.0.1:0\n";
    struct cmn_config *cfg = cmn_config_parse(ok, sizeof(ok) - 1, "t.conf");
    FAIL_IF(!cfg);
    FAIL_IF(cmn_metrics_from_config(cfg, "tracker", "tracker", 1, "x", &m) != 0 || !m);
    char *r = s_http(cmn_metrics_port(m), "GET", "/metrics", NULL);
    FAIL_IF(!strstr(r, "renkei_tracker_up{node=\"1\",name=\"x\"} 1"));
    free(r);
    cmn_metrics_destroy(&m);
    cmn_config_destroy(&cfg);
    const char off[] = "[tracker]\nid = 1\n";
    cfg = cmn_config_parse(off, sizeof(off) - 1, "t.conf");
    m = (struct cmn_metrics *)1;
    FAIL_IF(cmn_metrics_from_config(cfg, "tracker", "tracker", 1, "x", &m) != 0 || m);
    cmn_config_destroy(&cfg);
    const char tok_only[] = "[tracker]\nmetrics_token_file = /tmp/x\n";
    cfg = cmn_config_parse(tok_only, sizeof(tok_only) - 1, "t.conf");
    FAIL_IF(cmn_metrics_from_config(cfg, "tracker", "tracker", 1, "x", &m) != -EINVAL || m);
    cmn_config_destroy(&cfg);
    const char open_[] = "[tracker]\n\nmetrics_listen = 0.0.0.0:0\n";
    cfg = cmn_config_parse(open_, sizeof(open_) - 1, "t.conf");
    FAIL_IF(cmn_metrics_from_config(cfg, "tracker", "tracker", 1, "x", &m) != -EINVAL || m);
    char where[64];
    FAIL_IF(strcmp(cmn_config_where(cfg, "tracker", "metrics_listen", where, sizeof(where)),
                   "t.conf:3") != 0);
    cmn_config_destroy(&cfg);
    PASS;
}

TEST(limits_and_timeout)
{
    struct cmn_metrics *m = s_start("127.0.0.1:0", NULL, NULL);
    FAIL_IF(!m);
    uint16_t port = cmn_metrics_port(m);
    /* CMN_METRICS_PER_IP idle connections from one address: the next one
     * gets no answer, the thread still serves once they are gone */
    int idle[CMN_METRICS_PER_IP];
    for (int i = 0; i < CMN_METRICS_PER_IP; i++) {
        idle[i] = s_connect(port);
        FAIL_IF(idle[i] < 0);
        FAIL_IF(send(idle[i], "GET /met", 8, MSG_NOSIGNAL) != 8); /* a slow client */
    }
    usleep(200 * 1000);
    char *r = s_http(port, "GET", "/metrics", NULL);
    FAIL_IF(r && s_status(r) == 200);
    free(r);
    for (int i = 0; i < CMN_METRICS_PER_IP; i++)
        close(idle[i]);
    usleep(200 * 1000);
    r = s_http(port, "GET", "/metrics", NULL);
    FAIL_IF(s_status(r) != 200);
    free(r);
    /* an idle connection is closed by the server after the timeout */
    int fd = s_connect(port);
    FAIL_IF(fd < 0);
    struct timeval tv = {.tv_sec = CMN_METRICS_TIMEOUT_S + 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct timeval t0, t1;
    gettimeofday(&t0, NULL);
    char c;
    ssize_t n = recv(fd, &c, 1, 0);
    gettimeofday(&t1, NULL);
    close(fd);
    double dt = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_usec - t0.tv_usec) / 1e6;
    FAIL_IF(n != 0 || dt < CMN_METRICS_TIMEOUT_S - 1 || dt > CMN_METRICS_TIMEOUT_S + 4);
    cmn_metrics_destroy(&m);
    PASS;
}

struct s_pub {
    struct cmn_metrics *m; /* target */
    volatile int stop;     /* set by the scraper */
    unsigned rounds;       /* publishes done */
};

static void *s_publisher(void *arg)
{
    struct s_pub *p = arg;
    char names[64][32];
    struct cmn_counter c[64];
    for (int i = 0; i < 64; i++) {
        snprintf(names[i], sizeof(names[i]), "c%02d", i);
        c[i].name = names[i];
    }
    while (!p->stop) {
        p->rounds++;
        for (int i = 0; i < 64; i++)
            c[i].value = p->rounds; /* every counter of one snapshot holds the same value */
        cmn_metrics_publish(p->m, c, 64, NULL, NULL, 0);
    }
    return NULL;
}

TEST(publish_while_scraping)
{
    struct s_pub p = {.m = s_start("127.0.0.1:0", NULL, NULL)};
    FAIL_IF(!p.m);
    pthread_t th;
    FAIL_IF(pthread_create(&th, NULL, s_publisher, &p) != 0);
    int seen = 0;
    bool ok = true;
    for (int k = 0; k < 40 && ok; k++) {
        char *r = s_http(cmn_metrics_port(p.m), "GET", "/metrics", NULL);
        const char *b = s_body(r);
        int ns = 0;
        ok = s_status(r) == 200 && s_valid(b, &ns);
        unsigned long first = 0;
        int count = 0;
        for (const char *q = b; ok && (q = strstr(q, "renkei_splitter_c")) != NULL; q++) {
            const char *v = strstr(q, "} ");
            if (!v)
                break;
            unsigned long x = strtoul(v + 2, NULL, 10);
            if (count++ == 0)
                first = x;
            ok = x == first;
            q = v;
        }
        if (count == 64)
            seen++;
        ok = ok && (count == 0 || count == 64);
        free(r);
    }
    p.stop = 1;
    pthread_join(th, NULL);
    cmn_metrics_destroy(&p.m);
    FAIL_IF(!ok || seen == 0 || p.rounds < 2);
    PASS;
}

TEST_MAIN(TEST_ENTRY(publish_scrape_format) TEST_ENTRY(paths_and_methods) TEST_ENTRY(token)
              TEST_ENTRY(addresses) TEST_ENTRY(config_keys) TEST_ENTRY(limits_and_timeout)
                  TEST_ENTRY(publish_while_scraping))
