/* SPDX-License-Identifier: MIT
 * rep_ports: (proto, port) -> service name. The system database comes first
 * (operators may name their own ports there); the table below covers the
 * services the paper's reports are about when /etc/services lacks them.
 * Answers are cached for the process (each getservbyport_r reads the whole
 * of /etc/services: ~0.1 ms, and a map of a thousand services or a search
 * by service name asked it a thousand times per request); the cache is
 * emptied when /etc/services changes.
 */
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <arpa/inet.h>

#include "rep_ports.h"

struct port_name {
    uint16_t port;    /* port number */
    uint8_t proto;    /* 6 tcp, 17 udp, 0 both */
    const char *name; /* IANA service name */
};

static const struct port_name s_table[] = {
    {20, 6, "ftp-data"},
    {21, 6, "ftp"},
    {22, 6, "ssh"},
    {23, 6, "telnet"},
    {25, 6, "smtp"},
    {53, 0, "domain"},
    {67, 17, "bootps"},
    {68, 17, "bootpc"},
    {69, 17, "tftp"},
    {80, 6, "http"},
    {88, 0, "kerberos"},
    {110, 6, "pop3"},
    {111, 0, "sunrpc"},
    {119, 6, "nntp"},
    {123, 17, "ntp"},
    {135, 6, "epmap"},
    {137, 17, "netbios-ns"},
    {138, 17, "netbios-dgm"},
    {139, 6, "netbios-ssn"},
    {143, 6, "imap"},
    {161, 17, "snmp"},
    {162, 17, "snmptrap"},
    {389, 0, "ldap"},
    {443, 6, "https"},
    {443, 17, "https"},
    {445, 6, "microsoft-ds"},
    {464, 0, "kpasswd"},
    {465, 6, "submissions"},
    {514, 17, "syslog"},
    {515, 6, "printer"},
    {587, 6, "submission"},
    {631, 6, "ipp"},
    {636, 6, "ldaps"},
    {873, 6, "rsync"},
    {993, 6, "imaps"},
    {995, 6, "pop3s"},
    {1433, 6, "ms-sql-s"},
    {1434, 17, "ms-sql-m"},
    {1521, 6, "oracle"},
    {1812, 17, "radius"},
    {1813, 17, "radius-acct"},
    {2049, 0, "nfs"},
    {3268, 6, "globalcat-ldap"},
    {3306, 6, "mysql"},
    {3389, 6, "rdp"},
    {5060, 0, "sip"},
    {5432, 6, "postgresql"},
    {5672, 6, "amqp"},
    {5900, 6, "vnc"},
    {5985, 6, "wsman"},
    {6379, 6, "redis"},
    {8080, 6, "http-alt"},
    {8443, 6, "https-alt"},
    {9092, 6, "kafka"},
    {9200, 6, "elasticsearch"},
    {11211, 0, "memcache"},
    {27017, 6, "mongodb"},
};

static const char *s_proto_text(uint8_t proto)
{
    switch (proto) {
        case 6:
            return "tcp";
        case 17:
            return "udp";
        case 132:
            return "sctp";
        default:
            return NULL;
    }
}

#define CACHE_SLOTS 4096 /* (proto, port) pairs remembered; past that, asked each time */
#define CACHE_NAME  32   /* longest name cached (longer ones are asked each time) */

struct cache_slot {
    uint32_t key;          /* proto << 16 | port, 0 = empty (port 0 is never asked) */
    bool known;            /* a name was found */
    char name[CACHE_NAME]; /* the name when known */
};

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cache_slot s_cache[CACHE_SLOTS];
static size_t s_used;           /* slots filled */
static time_t s_checked;        /* monotonic second /etc/services was last checked */
static struct timespec s_mtime; /* its modification time then */

/* The slot of key (found or free), or NULL when the cache is full. Locked. */
static struct cache_slot *s_slot(uint32_t key)
{
    uint32_t h = (key * 2654435761u) >> 20; /* 12 bits */
    for (uint32_t i = 0; i < CACHE_SLOTS; i++) {
        struct cache_slot *c = &s_cache[(h + i) % CACHE_SLOTS];
        if (c->key == key || c->key == 0)
            return c->key == 0 && s_used >= CACHE_SLOTS * 3 / 4 ? NULL : c;
    }
    return NULL;
}

/* Empty the cache when /etc/services changed (checked once a second). Locked. */
static void s_check_file(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (s_checked == now.tv_sec)
        return;
    s_checked = now.tv_sec;
    struct stat st;
    struct timespec m = {0, 0};
    if (stat("/etc/services", &st) == 0)
        m = st.st_mtim;
    if (m.tv_sec != s_mtime.tv_sec || m.tv_nsec != s_mtime.tv_nsec) {
        memset(s_cache, 0, sizeof(s_cache));
        s_used = 0;
        s_mtime = m;
    }
}

/* Ask the system database, then the table. */
static const char *s_lookup(uint8_t proto, uint16_t port, const char *ptext, char *buf, size_t len)
{
    struct servent se, *res = NULL;
    char tmp[1024];
    if (getservbyport_r(htons(port), ptext, &se, tmp, sizeof(tmp), &res) == 0 && res &&
        res->s_name) {
        snprintf(buf, len, "%s", res->s_name);
        return buf;
    }
    for (size_t i = 0; i < sizeof(s_table) / sizeof(s_table[0]); i++) {
        if (s_table[i].port == port &&
            (s_table[i].proto == 0 || s_table[i].proto == proto || proto == 132)) {
            snprintf(buf, len, "%s", s_table[i].name);
            return buf;
        }
    }
    return NULL;
}

const char *rep_port_name(uint8_t proto, uint16_t port, char *buf, size_t len)
{
    const char *ptext = s_proto_text(proto);
    if (!ptext || port == 0)
        return NULL;
    uint32_t key = (uint32_t)proto << 16 | port;
    pthread_mutex_lock(&s_lock);
    s_check_file();
    struct cache_slot *c = s_slot(key);
    if (c && c->key == key) {
        const char *r = NULL;
        if (c->known) {
            snprintf(buf, len, "%s", c->name);
            r = buf;
        }
        pthread_mutex_unlock(&s_lock);
        return r;
    }
    pthread_mutex_unlock(&s_lock);
    char name[CACHE_NAME + 1];
    const char *r = s_lookup(proto, port, ptext, name, sizeof(name));
    if (r && strlen(r) >= CACHE_NAME) /* too long for a slot: not cached */
        return s_lookup(proto, port, ptext, buf, len);
    pthread_mutex_lock(&s_lock);
    c = s_slot(key);
    if (c && c->key == 0) {
        c->key = key;
        c->known = r != NULL;
        if (r)
            snprintf(c->name, sizeof(c->name), "%s", r);
        s_used++;
    }
    pthread_mutex_unlock(&s_lock);
    if (!r)
        return NULL;
    snprintf(buf, len, "%s", r);
    return buf;
}
