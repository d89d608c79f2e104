/* SPDX-License-Identifier: MIT
 * rep_http: libmicrohttpd server for the renkei report: listen address
 * parsing, request threads, and the dispatch of each GET: "/api/..." to the
 * JSON API (rep_api.c), "/static/..." to the vendored files (rep_static.c),
 * everything else to the HTML report (rep_pages.c).
 * Responses are rendered into a memstream per request from a read-only
 * connection opened for that request (WAL: the merger keeps writing).
 */
#define CMN_LOG_TAG "rep_http"
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cmn_config.h"
#include "cmn_file.h"
#include "cmn_log.h"
#include "cmn_metrics.h"
#include "cmn_sites.h"
#include "rep_api.h"
#include "rep_auth.h"
#include "rep_db.h"
#include "rep_http.h"
#include "rep_names.h"
#include "rep_pages.h"
#include "rep_static.h"

#define REP_THREADS 4 /* request threads; each request opens its own connection */

struct rep_server {
    char *db_path;              /* owned copy */
    bool resolve;               /* reverse DNS for hosts without a name (rep_names) */
    struct cmn_sites *sites;    /* from cfg->sites_path, or NULL: the database's table */
    char *static_dir;           /* owned, or NULL: no /static/ files */
    struct rep_api_ctx api;     /* borrows db_path and sites */
    struct rep_pages_ctx pages; /* borrows db_path, sites and static_dir */
    struct MHD_Daemon *mhd;     /* running daemon */
    uint16_t port;              /* bound port */
    struct rep_auth *auth;      /* users, or NULL: no authentication */
    char *tls_cert;             /* PEM text (MHD keeps pointers), or NULL */
    char *tls_key;              /* PEM text, or NULL */
};

/* Query parameters of one request, in order (MHD decoded them). */
struct qargs {
    struct rep_qarg v[REP_API_ARGS_MAX]; /* borrowed from the connection */
    size_t n;
    bool overflow; /* more than REP_API_ARGS_MAX */
};

static enum MHD_Result s_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                             const char *value, size_t value_size)
{
    (void)kind;
    struct qargs *q = cls;
    if (!key)
        return MHD_YES;
    if (q->n == REP_API_ARGS_MAX) {
        q->overflow = true;
        return MHD_NO;
    }
    q->v[q->n].key = key;
    q->v[q->n].val = value;
    q->v[q->n].nul = strlen(key) != key_size || (value && strlen(value) != value_size);
    q->n++;
    return MHD_YES;
}

int rep_http_dispatch(const struct rep_api_ctx *api, const struct rep_pages_ctx *pages,
                      const struct rep_api_req *rq, struct rep_resp *p)
{
    const char *url = rq->path;
    if (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0)
        return rep_api_handle(api, rq, p) == 0 ? 0 : -EIO;
    if (strncmp(url, "/static/", 8) == 0)
        return rep_static_serve(pages->static_dir, url + 8, p);
    return rep_pages_handle(pages, url, rq->args, rq->nargs, p);
}

/* Route one GET: collect its parameters, then rep_http_dispatch. */
static int s_route(struct rep_server *srv, struct MHD_Connection *conn, const char *url,
                   struct rep_resp *p)
{
    struct qargs q = {.n = 0};
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, s_arg, &q);
    struct rep_api_req rq = {.path = url, .args = q.v, .nargs = q.n, .args_overflow = q.overflow};
    return rep_http_dispatch(&srv->api, &srv->pages, &rq, p);
}

static enum MHD_Result s_queue(struct MHD_Connection *conn, int status, const char *type,
                               char *body, size_t len, const struct rep_resp *p)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                            p && p->cacheable ? "max-age=86400" : "no-store");
    if (strncmp(type, "text/html", 9) == 0) /* everything from renkei itself, nothing framed */
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; script-src 'self' 'unsafe-inline'; "
                                "style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                "frame-ancestors 'none'");
    if (p && p->location[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, p->location);
    if (p && p->filename) {
        char cd[160];
        snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"", p->filename);
        MHD_add_response_header(r, "Content-Disposition", cd);
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

/* An error the routes did not answer themselves: JSON under /api/, else a
 * small HTML page, so every response is valid JSON or HTML. `msg` is a
 * static string without characters to escape. */
static enum MHD_Result s_error(struct MHD_Connection *conn, int status, bool api, const char *msg)
{
    char *b = NULL;
    int n = api ? asprintf(&b, "{\"error\": \"%s\"}\n", msg)
                : asprintf(&b,
                           "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
                           "<title>renkei: error</title></head>\n<body><p>%s</p></body></html>\n",
                           msg);
    if (n < 0)
        return MHD_NO;
    return s_queue(conn, status, api ? "application/json" : "text/html; charset=utf-8", b,
                   strlen(b), NULL);
}

/* HTTP Basic credentials of the request match a user of the auth file. */
static bool s_authorized(struct rep_server *srv, struct MHD_Connection *conn)
{
    char *pass = NULL;
    char *user = MHD_basic_auth_get_username_password(conn, &pass);
    bool ok = user && pass && rep_auth_check(srv->auth, user, pass);
    if (!ok && user) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char host[64] = "?";
        if (ci && ci->client_addr)
            getnameinfo(ci->client_addr,
                        ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                               : sizeof(struct sockaddr_in),
                        host, sizeof(host), NULL, 0, NI_NUMERICHOST);
        CMN_LOG(WARN, "refused a request from %s: wrong password for a user",
                strncmp(host, "::ffff:", 7) == 0 ? host + 7 : host);
    }
    if (pass) {
        memset(pass, 0, strlen(pass));
        MHD_free(pass);
    }
    if (user)
        MHD_free(user);
    return ok;
}

/* 401 with a Basic challenge; the body is valid JSON or HTML like every error. */
static enum MHD_Result s_unauthorized(struct MHD_Connection *conn, bool api)
{
    const char *b = api ? "{\"error\": \"authentication required\"}\n"
                        : "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>renkei: "
                          "log in</title></head>\n<body><p>authentication required</p></body>"
                          "</html>\n";
    char *copy = strdup(b);
    if (!copy)
        abort();
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(copy), copy, MHD_RESPMEM_MUST_FREE);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            api ? "application/json" : "text/html; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ret = MHD_queue_basic_auth_fail_response(conn, "renkei", r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    struct rep_server *srv = cls;
    if (*con_cls == NULL) { /* first call: headers only */
        *con_cls = srv;
        return MHD_YES;
    }
    if (*upload_size) { /* no request bodies here: discard */
        *upload_size = 0;
        return MHD_YES;
    }
    bool api = strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0;
    if (srv->auth && !s_authorized(srv, conn))
        return s_unauthorized(conn, api);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return s_error(conn, MHD_HTTP_METHOD_NOT_ALLOWED, api, "only GET and HEAD");
    struct rep_resp p = {.status = MHD_HTTP_OK, .type = "text/html; charset=utf-8"};
    char *buf = NULL;
    size_t len = 0;
    p.f = open_memstream(&buf, &len);
    if (!p.f)
        return MHD_NO;
    int rc = s_route(srv, conn, url, &p);
    fclose(p.f);
    if (rc != 0) {
        free(buf);
        return s_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, api,
                       "internal error: database unreadable (see reporter log)");
    }
    return s_queue(conn, p.status, p.type, buf, len, &p);
}

/* Parse "host:port", "[v6]:port" or ":port" into *ss. Returns 0 or -EINVAL. */
static int s_parse_listen(const char *listen, struct sockaddr_storage *ss, bool *any,
                          uint16_t *port)
{
    char host[256];
    const char *colon;
    if (listen[0] == '[') {
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
    long p = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p < 0 || p > 65535)
        return -EINVAL;
    *port = (uint16_t)p;
    *any = host[0] == '\0' || strcmp(host, "*") == 0;
    if (*any)
        return 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char ps[8];
    snprintf(ps, sizeof(ps), "%ld", p);
    if (getaddrinfo(host, ps, &hints, &res) != 0 || !res)
        return -EINVAL;
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

/* A loopback address: 127.0.0.0/8, ::1, or ::ffff:127.x. */
static bool s_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

static char *s_read_pem(const char *path, const char *what)
{
    char err[256];
    FILE *f = cmn_file_open(path, what, err, sizeof(err));
    if (!f) {
        CMN_LOG(ERR, "%s", err);
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0 && len < (1u << 20))
        fwrite(chunk, 1, n, m);
    fclose(f);
    if (!m || fclose(m) != 0 || len == 0 || len >= (1u << 20) || !strstr(buf, "-----BEGIN")) {
        CMN_LOG(ERR, "%s %s: not a PEM file (or over 1 MiB)", what, path);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Authentication and TLS: a non-loopback address needs an auth file. */
static int s_security(struct rep_server *srv, const struct rep_config *cfg, const char *listen,
                      bool any, const struct sockaddr_storage *ss)
{
    bool local = !any && s_loopback(ss);
    if (!cfg->auth_path && !local) {
        CMN_LOG(ERR,
                "listen %s is not a loopback address: set auth_file (users from renkei passwd) "
                "so that only they can read the map",
                listen);
        return -1;
    }
    if (cfg->auth_path) {
        char err[512];
        srv->auth = rep_auth_load(cfg->auth_path, err, sizeof(err));
        if (!srv->auth) {
            CMN_LOG(ERR, "%s", err);
            return -1;
        }
    }
    if (!cfg->tls_cert != !cfg->tls_key) {
        CMN_LOG(ERR, "tls_cert and tls_key go together (%s is missing)",
                cfg->tls_cert ? "tls_key" : "tls_cert");
        return -1;
    }
    if (cfg->tls_cert) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            CMN_LOG(ERR, "this libmicrohttpd has no TLS support");
            return -1;
        }
        srv->tls_cert = s_read_pem(cfg->tls_cert, "tls_cert");
        srv->tls_key = srv->tls_cert ? s_read_pem(cfg->tls_key, "tls_key") : NULL;
        if (!srv->tls_key)
            return -1;
    } else if (!local) {
        CMN_LOG(WARN, "listen %s without tls_cert: passwords cross the network in clear", listen);
    }
    return 0;
}

struct rep_server *rep_server_start(const struct rep_config *cfg)
{
    assert(cfg && cfg->db_path);
    const char *listen = cfg->listen ? cfg->listen : "127.0.0.1:8080";
    struct rep_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        abort();
    srv->db_path = strdup(cfg->db_path);
    if (!srv->db_path)
        abort();
    if (cfg->sites_path && !(srv->sites = cmn_sites_load(cfg->sites_path)))
        goto err; /* reason logged */
    srv->static_dir = cfg->static_dir ? strdup(cfg->static_dir) : rep_static_find();
    srv->api.db_path = srv->db_path;
    srv->api.sites = srv->sites;
    srv->pages.db_path = srv->db_path;
    srv->pages.sites = srv->sites;
    srv->pages.static_dir = srv->static_dir;
    srv->resolve = cfg->resolve;
    srv->api.resolve = cfg->resolve;
    srv->pages.resolve = cfg->resolve;
    sqlite3 *db = rep_db_open(cfg->db_path); /* fail now rather than on every page */
    if (!db)
        goto err;
    rep_db_close(&db);
    struct sockaddr_storage ss;
    bool any = false;
    uint16_t port = 0;
    if (s_parse_listen(listen, &ss, &any, &port) != 0) {
        CMN_LOG(ERR, "listen '%s': expected HOST:PORT, [IPv6]:PORT or :PORT", listen);
        goto err;
    }
    if (s_security(srv, cfg, listen, any, &ss) != 0)
        goto err;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (any)
        flags |= MHD_USE_DUAL_STACK;
    else if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (srv->tls_cert)
        flags |= MHD_USE_TLS;
    unsigned conns = cfg->max_conns ? cfg->max_conns : 256;
    unsigned per_ip = cfg->per_ip_conns ? cfg->per_ip_conns : 32;
    unsigned timeout = cfg->timeout_s ? cfg->timeout_s : 15;
    /* Slow or idle clients hold a connection slot, never a thread (one
     * polling thread per pool worker); the per-address cap keeps one client
     * from taking every slot, the timeout frees the slots of silent ones. */
    struct MHD_OptionItem ops[] = {
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)cmn_mhd_log, NULL},
        {MHD_OPTION_THREAD_POOL_SIZE, REP_THREADS, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)timeout, NULL},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)conns, NULL},
        {MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t)per_ip, NULL},
        {srv->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, srv->tls_cert},
        {srv->tls_cert ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, srv->tls_key},
        {MHD_OPTION_END, 0, NULL},
    };
    if (any)
        srv->mhd = MHD_start_daemon(flags, port, NULL, NULL, s_handler, srv, MHD_OPTION_ARRAY, ops,
                                    MHD_OPTION_END);
    else
        srv->mhd = MHD_start_daemon(flags, port, NULL, NULL, s_handler, srv, MHD_OPTION_SOCK_ADDR,
                                    (struct sockaddr *)&ss, MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
    if (!srv->mhd) {
        CMN_LOG(ERR, "cannot listen on %s (address in use or not local?)", listen);
        goto err;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : port;
    CMN_LOG(NOTICE, "serving %s on %s (port %u)", cfg->db_path, listen, srv->port);
    return srv;
err:
    rep_server_stop(&srv);
    return NULL;
}

uint16_t rep_server_port(const struct rep_server *srv)
{
    return srv->port;
}

void rep_server_stop(struct rep_server **srvp)
{
    if (!srvp || !*srvp)
        return;
    struct rep_server *srv = *srvp;
    if (srv->mhd)
        MHD_stop_daemon(srv->mhd);
    rep_pages_cache_clear();
    cmn_sites_destroy(&srv->sites);
    rep_auth_destroy(&srv->auth);
    if (srv->tls_key)
        memset(srv->tls_key, 0, strlen(srv->tls_key));
    free(srv->tls_key);
    free(srv->tls_cert);
    free(srv->db_path);
    free(srv->static_dir);
    free(srv);
    *srvp = NULL;
}

int rep_serve(const struct rep_config *cfg)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    /* block before the server threads start, so they inherit the mask and
     * the signal reaches sigwait below */
    pthread_sigmask(SIG_BLOCK, &set, &old);
    struct rep_server *srv = rep_server_start(cfg);
    if (!srv) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return -EINVAL;
    }
    int sig = 0;
    sigwait(&set, &sig);
    CMN_LOG(NOTICE, "signal %d: stopping", sig);
    rep_server_stop(&srv);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}

int rep_config_security(struct rep_config *cfg, const struct cmn_config *c, const char *section)
{
    uint64_t conns, per_ip, timeout;
    if (cmn_config_u64(c, section, "max_connections", 256, 1, 65536, &conns) != 0 ||
        cmn_config_u64(c, section, "per_ip_connections", 32, 1, 65536, &per_ip) != 0 ||
        cmn_config_u64(c, section, "connection_timeout", 15, 1, 3600, &timeout) != 0)
        return -1;
    cfg->auth_path = cmn_config_get(c, section, "auth_file");
    cfg->tls_cert = cmn_config_get(c, section, "tls_cert");
    cfg->tls_key = cmn_config_get(c, section, "tls_key");
    cfg->max_conns = (unsigned)conns;
    cfg->per_ip_conns = (unsigned)per_ip;
    cfg->timeout_s = (unsigned)timeout;
    return 0;
}
