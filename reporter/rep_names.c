/* SPDX-License-Identifier: MIT
 * rep_names: host and service names for one request. Host names live in one
 * array sorted by address text (binary search), service names in one
 * sorted by proto << 16 | port. Reverse DNS (off by default) runs each
 * lookup in a detached helper thread and waits for it only as long as the
 * request's budget allows, so a slow resolver costs a request at most
 * REP_NAMES_RDNS_BUDGET ms in all; an answer that comes later still lands
 * in the process-wide cache for the next request.
 */
#define CMN_LOG_TAG "rep_names"
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "cmn_hash.h"
#include "rep_names.h"
#include "rep_ports.h"

#define RDNS_INFLIGHT                                                                              \
    8 /* helper threads looking up at once; more lookups wait for a later request */

struct host_ent {
    char *ip;           /* export text (key) */
    char *name;         /* owned */
    const char *source; /* "hosts_file", "dns" (static) */
    size_t seq;         /* load order: ties keep the first */
};

struct svc_ent {
    uint32_t key; /* proto << 16 | port */
    char *name;   /* owned */
};

/* What a const cache may still change: reverse-DNS answers of this request. */
struct dyn {
    bool resolve;   /* reverse DNS on */
    uint64_t spent; /* ns of budget used */
    char **rdns;    /* names handed out (owned, freed with the cache) */
    size_t nrdns;   /* entries */
    size_t caprdns; /* allocated */
};

struct rep_names {
    struct host_ent *h; /* sorted by ip, one per ip */
    size_t nh;          /* entries */
    struct svc_ent *s;  /* sorted by key */
    size_t ns;          /* entries */
    struct dyn *dyn;    /* mutable part */
};

/* ---- process-wide reverse-DNS cache ---- */

struct rdns_ent {
    uint8_t ip[16];        /* address */
    bool used;             /* slot holds an answer */
    bool pending;          /* a helper thread is looking it up */
    char name[NI_MAXHOST]; /* name, "" when the address has none */
};

static pthread_mutex_t s_rd_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_rd_cond = PTHREAD_COND_INITIALIZER;
static struct rdns_ent s_rd[REP_NAMES_RDNS_CACHE]; /* direct-mapped by address hash */
static int s_rd_inflight;                          /* helper threads running */

static uint64_t s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t s_rd_slot(const uint8_t ip[16])
{
    return (size_t)(cmn_hash_bytes(ip, 16, 0) % REP_NAMES_RDNS_CACHE);
}

static void *s_rd_thread(void *arg)
{
    uint8_t *ip = arg;
    char host[NI_MAXHOST] = "";
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof(ss));
    if (cmn_ip_is_v4(ip)) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        memcpy(&a->sin_addr, ip + 12, 4);
        sl = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        memcpy(&a->sin6_addr, ip, 16);
        sl = sizeof(*a);
    }
    if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), NULL, 0, NI_NAMEREQD) != 0)
        host[0] = '\0';
    pthread_mutex_lock(&s_rd_lock);
    struct rdns_ent *e = &s_rd[s_rd_slot(ip)];
    memcpy(e->ip, ip, 16);
    e->used = true;
    e->pending = false;
    snprintf(e->name, sizeof(e->name), "%s", host);
    s_rd_inflight--;
    pthread_cond_broadcast(&s_rd_cond);
    pthread_mutex_unlock(&s_rd_lock);
    free(ip);
    return NULL;
}

/* Reverse name of ip_text within the remaining budget, copied into d->rdns;
 * NULL when none (or not known in time). */
static const char *s_rdns(struct dyn *d, const char *ip_text)
{
    uint8_t ip[16];
    if (cmn_ip_parse(ip_text, ip) != 0)
        return NULL;
    uint64_t budget = (uint64_t)REP_NAMES_RDNS_BUDGET * 1000000ull;
    uint64_t t0 = s_now();
    char name[NI_MAXHOST] = "";
    pthread_mutex_lock(&s_rd_lock);
    struct rdns_ent *e = &s_rd[s_rd_slot(ip)];
    bool mine = e->used || e->pending ? memcmp(e->ip, ip, 16) == 0 : false;
    if (!mine && !e->pending && d->spent < budget && s_rd_inflight < RDNS_INFLIGHT) {
        uint8_t *arg = malloc(16);
        pthread_t th;
        pthread_attr_t at;
        if (!arg)
            abort();
        memcpy(arg, ip, 16);
        memcpy(e->ip, ip, 16);
        e->used = false;
        e->pending = true;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &at, s_rd_thread, arg) == 0) {
            s_rd_inflight++;
            mine = true;
        } else {
            e->pending = false;
            free(arg);
        }
        pthread_attr_destroy(&at);
    }
    /* wait for an answer in flight, within what is left of the budget */
    while (mine && e->pending && memcmp(e->ip, ip, 16) == 0 && d->spent < budget) {
        uint64_t left = budget - d->spent;
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        uint64_t ns = (uint64_t)dl.tv_nsec + left;
        dl.tv_sec += (time_t)(ns / 1000000000ull);
        dl.tv_nsec = (long)(ns % 1000000000ull);
        int w = pthread_cond_timedwait(&s_rd_cond, &s_rd_lock, &dl);
        uint64_t t1 = s_now();
        d->spent += t1 - t0;
        t0 = t1;
        if (w == ETIMEDOUT)
            break;
    }
    if (e->used && memcmp(e->ip, ip, 16) == 0)
        snprintf(name, sizeof(name), "%s", e->name);
    pthread_mutex_unlock(&s_rd_lock);
    if (!name[0])
        return NULL;
    if (d->nrdns == d->caprdns) {
        d->caprdns = d->caprdns ? d->caprdns * 2 : 16;
        char **nv = realloc(d->rdns, d->caprdns * sizeof(*nv));
        if (!nv)
            abort();
        d->rdns = nv;
    }
    char *copy = strdup(name);
    if (!copy)
        abort();
    d->rdns[d->nrdns++] = copy;
    return copy;
}

/* ---- loading ---- */

static char *s_dup(const unsigned char *s)
{
    char *d = strdup(s ? (const char *)s : "");
    if (!d)
        abort();
    return d;
}

static int s_host_cmp(const void *a, const void *b)
{
    const struct host_ent *x = a, *y = b;
    int c = strcmp(x->ip, y->ip);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int s_svc_cmp(const void *a, const void *b)
{
    const struct svc_ent *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* Append the (ip, name) rows of sql with `source`; a missing table adds none. */
static void s_load_hosts(struct rep_names *n, size_t *cap, sqlite3 *db, const char *sql,
                         const char *source)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return; /* older database: no such table */
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *ip = sqlite3_column_text(st, 0), *nm = sqlite3_column_text(st, 1);
        if (!ip || !nm || !nm[0])
            continue;
        if (n->nh == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            struct host_ent *nv = realloc(n->h, *cap * sizeof(*nv));
            if (!nv)
                abort();
            n->h = nv;
        }
        n->h[n->nh] = (struct host_ent){s_dup(ip), s_dup(nm), source, n->nh};
        n->nh++;
    }
    sqlite3_finalize(st);
}

struct rep_names *rep_names_load(sqlite3 *db)
{
    struct rep_names *n = calloc(1, sizeof(*n));
    struct dyn *d = calloc(1, sizeof(*d));
    if (!n || !d)
        abort();
    n->dyn = d;
    size_t cap = 0;
    /* hosts file first: on equal addresses the first loaded wins */
    s_load_hosts(n, &cap, db, "SELECT ip, name FROM host_names", "hosts_file");
    s_load_hosts(n, &cap, db, "SELECT ip, name FROM dns_names ORDER BY ip, last_ns DESC, name",
                 "dns");
    if (n->nh) {
        qsort(n->h, n->nh, sizeof(*n->h), s_host_cmp);
        size_t k = 0;
        for (size_t i = 0; i < n->nh; i++) {
            if (k && strcmp(n->h[k - 1].ip, n->h[i].ip) == 0) {
                free(n->h[i].ip);
                free(n->h[i].name);
                continue;
            }
            n->h[k++] = n->h[i];
        }
        n->nh = k;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT proto, port, name FROM service_names", -1, &st, NULL) ==
        SQLITE_OK) {
        size_t scap = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            const unsigned char *nm = sqlite3_column_text(st, 2);
            int proto = sqlite3_column_int(st, 0), port = sqlite3_column_int(st, 1);
            if (!nm || !nm[0] || proto < 0 || proto > 255 || port < 0 || port > 65535)
                continue;
            if (n->ns == scap) {
                scap = scap ? scap * 2 : 64;
                struct svc_ent *nv = realloc(n->s, scap * sizeof(*nv));
                if (!nv)
                    abort();
                n->s = nv;
            }
            n->s[n->ns++] = (struct svc_ent){(uint32_t)proto << 16 | (uint32_t)port, s_dup(nm)};
        }
        if (n->ns)
            qsort(n->s, n->ns, sizeof(*n->s), s_svc_cmp);
    }
    sqlite3_finalize(st);
    return n;
}

void rep_names_destroy(struct rep_names **np)
{
    if (!np || !*np)
        return;
    struct rep_names *n = *np;
    for (size_t i = 0; i < n->nh; i++) {
        free(n->h[i].ip);
        free(n->h[i].name);
    }
    for (size_t i = 0; i < n->ns; i++)
        free(n->s[i].name);
    for (size_t i = 0; i < n->dyn->nrdns; i++)
        free(n->dyn->rdns[i]);
    free(n->dyn->rdns);
    free(n->dyn);
    free(n->h);
    free(n->s);
    free(n);
    *np = NULL;
}

void rep_names_resolve(struct rep_names *n, bool on)
{
    n->dyn->resolve = on;
}

const char *rep_names_host(const struct rep_names *n, const char *ip_text, const char **source)
{
    if (source)
        *source = NULL;
    if (!n || !ip_text)
        return NULL;
    size_t lo = 0, hi = n->nh;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(n->h[mid].ip, ip_text);
        if (c == 0) {
            if (source)
                *source = n->h[mid].source;
            return n->h[mid].name;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!n->dyn->resolve)
        return NULL;
    const char *r = s_rdns(n->dyn, ip_text);
    if (r && source)
        *source = "rdns";
    return r;
}

const char *rep_names_service(const struct rep_names *n, uint8_t proto, uint16_t port, char *buf,
                              size_t len)
{
    if (n && n->ns) {
        struct svc_ent key = {(uint32_t)proto << 16 | port, NULL};
        const struct svc_ent *e = bsearch(&key, n->s, n->ns, sizeof(*n->s), s_svc_cmp);
        if (e) {
            snprintf(buf, len, "%s", e->name);
            return buf;
        }
    }
    return rep_port_name(proto, port, buf, len);
}
