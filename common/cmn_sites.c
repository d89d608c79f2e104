/* SPDX-License-Identifier: MIT
 * cmn_sites: sites file parser and longest-prefix lookup. Sites and
 * prefixes live in two growing arrays; prefixes are kept sorted longest
 * first so the first match of a lookup scan is the longest.
 */
#define CMN_LOG_TAG "cmn_sites"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "cmn_sites.h"

struct site {
    char name[CMN_SITE_NAME_MAX]; /* "dc-east" */
    char kind[CMN_SITE_NAME_MAX]; /* "datacenter" */
    size_t ncidr;                 /* prefixes of this site */
};

struct prefix {
    uint8_t lo[16], hi[16];       /* first and last address (v4-mapped for IPv4) */
    int bits;                     /* prefix length within 128 bits (IPv4 /n: 96 + n) */
    size_t site;                  /* index into sites */
    char text[CMN_IP_STRLEN + 5]; /* as written, normalised: "172.16.0.0/16" */
    size_t order;                 /* insertion order, for listing */
};

struct cmn_sites {
    struct site *sites; /* in order of first appearance */
    size_t nsites, capsites;
    struct prefix *pfx; /* sorted by bits, longest first */
    size_t npfx, cappfx;
};

struct cmn_sites *cmn_sites_new(void)
{
    struct cmn_sites *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    return s;
}

void cmn_sites_destroy(struct cmn_sites **s)
{
    if (!s || !*s)
        return;
    free((*s)->sites);
    free((*s)->pfx);
    free(*s);
    *s = NULL;
}

/* Names and kinds: letters, digits and . _ - only, so they survive every
 * export format (CSV, DOT identifiers, URLs) without quoting surprises. */
static bool s_word_ok(const char *w)
{
    size_t n = strlen(w);
    if (n == 0 || n >= CMN_SITE_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-')
            return false;
    }
    return true;
}

static int s_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int s_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

int cmn_sites_add(struct cmn_sites *s, const char *name, const char *kind, const char *cidr,
                  char *err, size_t errlen)
{
    struct prefix p;
    memset(&p, 0, sizeof(p));
    if (!s_word_ok(name))
        return s_fail(err, errlen, -EINVAL,
                      "bad site name '%.80s' (letters, digits, '.', '_', '-'; at most 63)", name);
    if (!s_word_ok(kind))
        return s_fail(err, errlen, -EINVAL,
                      "bad site kind '%.80s' (letters, digits, '.', '_', '-'; at most 63)", kind);
    if (cmn_prefix_parse(cidr, p.lo, p.hi) != 0)
        return s_fail(err, errlen, -EINVAL, "bad CIDR '%.80s' (expected a.b.c.d/n or x::/n)", cidr);
    /* prefix length from the range: count leading equal bits of lo and hi */
    p.bits = 0;
    for (int i = 0; i < 16 && p.lo[i] == p.hi[i]; i++)
        p.bits += 8;
    if (p.bits < 128) {
        uint8_t x = (uint8_t)(p.lo[p.bits / 8] ^ p.hi[p.bits / 8]);
        while (!(x & 0x80)) {
            p.bits++;
            x = (uint8_t)(x << 1);
        }
    }
    char a[CMN_IP_STRLEN];
    bool v4 = cmn_ip_is_v4(p.lo) && !strchr(cidr, ':');
    if (v4 && p.bits < 96)
        v4 = false; /* ::ffff:0:0/n with n < 96 written in IPv6 form */
    snprintf(p.text, sizeof(p.text), "%s/%d", cmn_ip_format(p.lo, a, sizeof(a)),
             v4 ? p.bits - 96 : p.bits);

    int si = cmn_sites_find(s, name);
    if (si >= 0 && strcmp(s->sites[si].kind, kind) != 0) {
        if (err && errlen)
            snprintf(err, errlen, "site '%s' is of kind '%s', not '%.60s'", name, s->sites[si].kind,
                     kind);
        return -EINVAL;
    }
    for (size_t i = 0; i < s->npfx; i++) {
        if (s->pfx[i].bits == p.bits && memcmp(s->pfx[i].lo, p.lo, 16) == 0) {
            if (si >= 0 && s->pfx[i].site == (size_t)si)
                return 0; /* listed twice for the same site: harmless */
            if (err && errlen)
                snprintf(err, errlen, "prefix %s is already in site '%s'", p.text,
                         s->sites[s->pfx[i].site].name);
            return -EINVAL;
        }
    }
    if ((si < 0 && s->nsites >= CMN_SITES_MAX) || s->npfx >= CMN_SITES_MAX)
        return s_fail(err, errlen, -ENOSPC, "too many sites or prefixes (at most %d)",
                      CMN_SITES_MAX);
    if (si < 0) {
        if (s->nsites == s->capsites) {
            size_t cap = s->capsites ? s->capsites * 2 : 16;
            struct site *n = realloc(s->sites, cap * sizeof(*n));
            if (!n)
                abort();
            s->sites = n;
            s->capsites = cap;
        }
        si = (int)s->nsites++;
        struct site *st = &s->sites[si];
        memset(st, 0, sizeof(*st));
        snprintf(st->name, sizeof(st->name), "%s", name);
        snprintf(st->kind, sizeof(st->kind), "%s", kind);
    }
    if (s->npfx == s->cappfx) {
        size_t cap = s->cappfx ? s->cappfx * 2 : 16;
        struct prefix *n = realloc(s->pfx, cap * sizeof(*n));
        if (!n)
            abort();
        s->pfx = n;
        s->cappfx = cap;
    }
    p.site = (size_t)si;
    p.order = s->sites[si].ncidr++;
    /* insert keeping longest first (stable for equal lengths) */
    size_t at = s->npfx;
    while (at > 0 && s->pfx[at - 1].bits < p.bits) {
        s->pfx[at] = s->pfx[at - 1];
        at--;
    }
    s->pfx[at] = p;
    s->npfx++;
    return 0;
}

/* Split one line into words (in place); returns the count, at most `max`,
 * or max + 1 when there are more. A '#' starts a comment. */
static size_t s_words(char *line, char **w, size_t max)
{
    size_t n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        if (*p == '\0' || *p == '#')
            return n;
        if (n == max)
            return max + 1;
        w[n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '#')
            p++;
        if (*p == '#') {
            *p = '\0';
            return n;
        }
        if (*p)
            *p++ = '\0';
    }
}

#define WORDS_MAX 258 /* name, kind, up to 256 prefixes on one line */

int cmn_sites_parse(struct cmn_sites *s, const char *text, size_t len, const char *origin)
{
    struct cmn_sites *tmp = cmn_sites_new();
    char *buf = malloc(len + 1);
    char **w = malloc(WORDS_MAX * sizeof(*w) + sizeof(*w));
    int bad = 0, lines = 0;
    if (!buf || !w)
        abort();
    memcpy(buf, text, len);
    buf[len] = '\0';
    /* copy what `s` holds so a failing text leaves it untouched; site by
     * site and in each site's order (copying in prefix order, longest
     * first, renumbered the sites and reordered their prefixes) */
    for (size_t i = 0; i < s->nsites; i++)
        for (size_t j = 0; j < s->sites[i].ncidr; j++)
            cmn_sites_add(tmp, s->sites[i].name, s->sites[i].kind, cmn_sites_cidr(s, i, j), NULL,
                          0);
    char *line = buf;
    for (unsigned no = 1; line; no++) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        if (nl)
            *nl = '\0';
        if (strlen(line) != (size_t)((nl ? nl : buf + len) - line)) {
            CMN_LOG(ERR, "%s:%u: NUL byte in a sites file", origin, no);
            bad++;
        } else {
            size_t n = s_words(line, w, WORDS_MAX);
            char err[200];
            if (n == 0) {
                /* blank or comment */
            } else if (n > WORDS_MAX) {
                CMN_LOG(ERR, "%s:%u: more than %d prefixes on one line", origin, no, WORDS_MAX - 2);
                bad++;
            } else if (n < 3) {
                CMN_LOG(ERR,
                        "%s:%u: expected 'NAME KIND CIDR...' (e.g. 'dc-east datacenter"
                        " 172.16.0.0/16'), got %zu word%s",
                        origin, no, n, n == 1 ? "" : "s");
                bad++;
            } else {
                lines++;
                for (size_t i = 2; i < n; i++) {
                    if (cmn_sites_add(tmp, w[0], w[1], w[i], err, sizeof(err)) != 0) {
                        CMN_LOG(ERR, "%s:%u: %s", origin, no, err);
                        bad++;
                        break;
                    }
                }
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    free(buf);
    free(w);
    if (bad) {
        cmn_sites_destroy(&tmp);
        return -EINVAL;
    }
    /* swap the new contents in */
    struct cmn_sites old = *s;
    *s = *tmp;
    *tmp = old;
    cmn_sites_destroy(&tmp);
    return lines;
}

struct cmn_sites *cmn_sites_load(const char *path)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        CMN_LOG(ERR, "sites file %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        CMN_LOG(ERR, "sites file %s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if ((uint64_t)sb.st_size > CMN_SITES_FILE_MAX) {
        CMN_LOG(ERR, "sites file %s: %lld bytes, more than %u", path, (long long)sb.st_size,
                CMN_SITES_FILE_MAX);
        close(fd);
        return NULL;
    }
    char *buf = malloc((size_t)sb.st_size + 1);
    size_t got = 0;
    if (!buf)
        abort();
    while (got < (size_t)sb.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    struct cmn_sites *s = cmn_sites_new();
    if (cmn_sites_parse(s, buf, got, path) < 0)
        cmn_sites_destroy(&s);
    free(buf);
    return s;
}

size_t cmn_sites_count(const struct cmn_sites *s)
{
    return s ? s->nsites : 0;
}

const char *cmn_sites_name(const struct cmn_sites *s, size_t i)
{
    return i < s->nsites ? s->sites[i].name : NULL;
}

const char *cmn_sites_kind(const struct cmn_sites *s, size_t i)
{
    return i < s->nsites ? s->sites[i].kind : NULL;
}

size_t cmn_sites_cidr_count(const struct cmn_sites *s, size_t i)
{
    return i < s->nsites ? s->sites[i].ncidr : 0;
}

const char *cmn_sites_cidr(const struct cmn_sites *s, size_t i, size_t j)
{
    for (size_t k = 0; k < s->npfx; k++)
        if (s->pfx[k].site == i && s->pfx[k].order == j)
            return s->pfx[k].text;
    return NULL;
}

int cmn_sites_find(const struct cmn_sites *s, const char *name)
{
    for (size_t i = 0; s && i < s->nsites; i++)
        if (strcmp(s->sites[i].name, name) == 0)
            return (int)i;
    return -1;
}

int cmn_sites_lookup(const struct cmn_sites *s, const uint8_t ip[16])
{
    for (size_t i = 0; s && i < s->npfx; i++)
        if (memcmp(ip, s->pfx[i].lo, 16) >= 0 && memcmp(ip, s->pfx[i].hi, 16) <= 0)
            return (int)s->pfx[i].site;
    return -1;
}
