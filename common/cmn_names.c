/* SPDX-License-Identifier: MIT
 * cmn_names: services-file parser. Splits the buffer into lines itself
 * (embedded NUL bytes and over-long lines are errors, not truncations), then
 * each line into whitespace-separated tokens; which of the two forms a line
 * uses is decided by where the '/' is: first token "proto/port" or second
 * token "port/proto".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmn_file.h"
#include "cmn_names.h"

#define NAMES_TOKENS 4 /* tokens looked at per line (aliases beyond are ignored) */

/* Error text accumulator. */
struct errbuf {
    char *buf;   /* caller's buffer, may be NULL */
    size_t len;  /* its size */
    size_t used; /* characters written */
    long count;  /* bad lines */
};

static void s_err(struct errbuf *e, const char *label, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void s_err(struct errbuf *e, const char *label, size_t line, const char *fmt, ...)
{
    e->count++;
    if (!e->buf || e->used + 1 >= e->len)
        return;
    int w = snprintf(e->buf + e->used, e->len - e->used, "%s%s:%zu: ", e->used ? "\n" : "", label,
                     line);
    if (w < 0 || (size_t)w >= e->len - e->used) {
        e->used = e->len - 1;
        return;
    }
    e->used += (size_t)w;
    va_list ap;
    va_start(ap, fmt);
    w = vsnprintf(e->buf + e->used, e->len - e->used, fmt, ap);
    va_end(ap);
    e->used = (w < 0 || (size_t)w >= e->len - e->used) ? e->len - 1 : e->used + (size_t)w;
}

static int s_proto(const char *s, uint8_t *out)
{
    static const struct {
        const char *name;
        uint8_t num;
    } t[] = {{"tcp", 6}, {"udp", 17}, {"sctp", 132}, {"dccp", 33}};
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (strcasecmp(s, t[i].name) == 0) {
            *out = t[i].num;
            return 0;
        }
    }
    return -EINVAL;
}

/* Decimal 1..65535, nothing else. */
static int s_port(const char *s, uint16_t *out)
{
    unsigned long v = 0;
    if (!*s)
        return -EINVAL;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || p - s >= 6)
            return -EINVAL;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (v < 1 || v > 65535)
        return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

/* "proto/port" or "port/proto" (port_first) into proto, port. Returns 0 or
 * an error message (static). */
static const char *s_pair(char *tok, bool port_first, uint8_t *proto, uint16_t *port)
{
    char *slash = strchr(tok, '/');
    if (!slash || strchr(slash + 1, '/'))
        return "expected one '/'";
    *slash = '\0';
    const char *ps = port_first ? slash + 1 : tok, *ns = port_first ? tok : slash + 1;
    if (s_proto(ps, proto) != 0)
        return "unknown protocol (tcp, udp, sctp or dccp)";
    if (s_port(ns, port) != 0)
        return "port must be a number from 1 to 65535";
    return NULL;
}

static bool s_name_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return false;
    return true;
}

/* One line (NUL-terminated, comment stripped) into *e. Returns 1 with an
 * entry, 0 for a blank line, -1 after reporting an error. */
static int s_line(char *line, const char *label, size_t lineno, struct cmn_service_entry *e,
                  struct errbuf *eb)
{
    char *tok[NAMES_TOKENS];
    int nt = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t\r\v\f", &save); t && nt < NAMES_TOKENS;
         t = strtok_r(NULL, " \t\r\v\f", &save))
        tok[nt++] = t;
    if (nt == 0)
        return 0;
    if (nt < 2) {
        s_err(eb, label, lineno, "expected 'proto/port name' or 'name port/proto'");
        return -1;
    }
    const char *name, *why;
    if (strchr(tok[0], '/')) {
        if (nt > 2) {
            s_err(eb, label, lineno, "'proto/port name' takes one name, got more words");
            return -1;
        }
        why = s_pair(tok[0], false, &e->proto, &e->port);
        name = tok[1];
    } else {
        why = s_pair(tok[1], true, &e->proto, &e->port);
        name = tok[0];
    }
    if (why) {
        s_err(eb, label, lineno, "%s", why);
        return -1;
    }
    if (strlen(name) > CMN_NAMES_SERVICE_MAX) {
        s_err(eb, label, lineno, "service name longer than %d characters", CMN_NAMES_SERVICE_MAX);
        return -1;
    }
    if (!s_name_ok(name)) {
        s_err(eb, label, lineno, "service name must be printable ASCII");
        return -1;
    }
    snprintf(e->name, sizeof(e->name), "%s", name);
    e->line = (uint32_t)lineno;
    return 1;
}

long cmn_names_parse_services(const char *buf, size_t len, const char *label,
                              struct cmn_service_entry **out, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!label)
        label = "services";
    struct errbuf eb = {.buf = errlen ? err : NULL, .len = errlen};
    struct cmn_service_entry *v = NULL;
    size_t n = 0, cap = 0, lineno = 0;
    char line[CMN_NAMES_LINE_MAX + 1];
    for (size_t pos = 0; pos < len;) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        const char *start = buf + pos;
        pos += ll + (nl ? 1 : 0);
        lineno++;
        if (ll > CMN_NAMES_LINE_MAX) {
            s_err(&eb, label, lineno, "line longer than %d characters", CMN_NAMES_LINE_MAX);
            continue;
        }
        if (memchr(start, '\0', ll)) {
            s_err(&eb, label, lineno, "NUL byte in line");
            continue;
        }
        memcpy(line, start, ll);
        line[ll] = '\0';
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        struct cmn_service_entry e;
        memset(&e, 0, sizeof(e));
        if (s_line(line, label, lineno, &e, &eb) != 1)
            continue;
        size_t k = 0;
        while (k < n && (v[k].proto != e.proto || v[k].port != e.port))
            k++;
        if (k < n) {
            s_err(&eb, label, lineno, "%s/%u is named already on line %u",
                  e.proto == 6     ? "tcp"
                  : e.proto == 17  ? "udp"
                  : e.proto == 132 ? "sctp"
                                   : "dccp",
                  e.port, v[k].line);
            continue;
        }
        if (n >= CMN_NAMES_ENTRIES_MAX) {
            s_err(&eb, label, lineno, "more than %d entries", CMN_NAMES_ENTRIES_MAX);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct cmn_service_entry *nv = realloc(v, cap * sizeof(*v));
            if (!nv)
                abort();
            v = nv;
        }
        v[n++] = e;
    }
    if (eb.count) {
        free(v);
        return -EINVAL;
    }
    if (n == 0) {
        free(v);
        v = NULL;
    }
    *out = v;
    return (long)n;
}

long cmn_names_load_services(const char *path, struct cmn_service_entry **out, char *err,
                             size_t errlen)
{
    *out = NULL;
    size_t len;
    char *buf = cmn_file_read(path, "services file", 64u << 20, &len, err, errlen);
    if (!buf)
        return errno ? -errno : -EIO;
    long n = cmn_names_parse_services(buf, len, path, out, err, errlen);
    free(buf);
    return n;
}
