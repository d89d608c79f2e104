/* SPDX-License-Identifier: MIT
 * cmn_config: a flat array of (section, key, value, line) entries. Configs are
 * tens of lines, read once at start, so linear lookups are the simple answer.
 */
#define CMN_LOG_TAG "config"
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmn_config.h"
#include "cmn_file.h"
#include "cmn_log.h"

struct entry {
    char *section; /* section name, "" before the first [section] */
    char *key;     /* key */
    char *value;   /* value, trimmed */
    unsigned line; /* 1-based line in file, 0 for command line */
};

struct cmn_config {
    char *path;         /* file read, or NULL */
    struct entry *ents; /* entries in file order */
    size_t n;           /* used */
    size_t cap;         /* allocated */
};

static char *s_xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static char *s_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static void s_add(struct cmn_config *cfg, const char *section, const char *key, const char *value,
                  unsigned line)
{
    if (cfg->n == cfg->cap) {
        cfg->cap = cfg->cap ? cfg->cap * 2 : 16;
        cfg->ents = realloc(cfg->ents, cfg->cap * sizeof(*cfg->ents));
        if (!cfg->ents)
            abort();
    }
    struct entry *e = &cfg->ents[cfg->n++];
    e->section = s_xstrdup(section);
    e->key = s_xstrdup(key);
    e->value = s_xstrdup(value);
    e->line = line;
}

struct cmn_config *cmn_config_new(void)
{
    struct cmn_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        abort();
    return cfg;
}

struct cmn_config *cmn_config_parse(const char *text, size_t len, const char *origin)
{
    struct cmn_config *cfg = cmn_config_new();
    cfg->path = s_xstrdup(origin);
    const char *path = origin;
    char section[128] = "";
    char buf[4096];
    unsigned line = 0;
    bool bad = false;
    char seen[64][128]; /* section headers so far (a repeated one is an error) */
    unsigned seen_line[64];
    size_t nseen = 0;
    for (size_t off = 0; off < len;) {
        const char *p = text + off;
        const char *nl = memchr(p, '\n', len - off);
        size_t n = nl ? (size_t)(nl - p) : len - off;
        off += n + (nl ? 1 : 0);
        line++;
        if (n >= sizeof(buf)) {
            CMN_LOG(ERR, "%s:%u: line longer than %zu bytes", path, line, sizeof(buf) - 1);
            bad = true;
            continue;
        }
        if (memchr(p, '\0', n)) {
            CMN_LOG(ERR, "%s:%u: NUL byte in line (not a text file?)", path, line);
            bad = true;
            continue;
        }
        memcpy(buf, p, n);
        buf[n] = '\0';
        char *s = s_trim(buf);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *end = strchr(s, ']');
            if (!end || end[1] != '\0' || end == s + 1 ||
                (size_t)(end - s - 1) >= sizeof(section)) {
                CMN_LOG(ERR, "%s:%u: malformed section header '%s' (expected [name])", path, line,
                        s);
                bad = true;
                continue;
            }
            *end = '\0';
            snprintf(section, sizeof(section), "%s", s_trim(s + 1));
            for (size_t k = 0; k < nseen; k++)
                if (strcmp(seen[k], section) == 0) {
                    CMN_LOG(ERR, "%s:%u: section [%s] repeated (first at line %u)", path, line,
                            section, seen_line[k]);
                    bad = true;
                }
            if (nseen < sizeof(seen) / sizeof(seen[0])) {
                memcpy(seen[nseen], section, sizeof(section));
                seen_line[nseen++] = line;
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            CMN_LOG(ERR, "%s:%u: expected 'key = value', got '%s'", path, line, s);
            bad = true;
            continue;
        }
        *eq = '\0';
        char *key = s_trim(s);
        char *value = s_trim(eq + 1);
        if (*key == '\0') {
            CMN_LOG(ERR, "%s:%u: missing key before '='", path, line);
            bad = true;
            continue;
        }
        s_add(cfg, section, key, value, line);
    }
    if (bad) {
        cmn_config_destroy(&cfg);
        return NULL;
    }
    return cfg;
}

struct cmn_config *cmn_config_load(const char *path)
{
    char err[512];
    size_t len;
    char *text = cmn_file_read(path, "config", CMN_CONFIG_FILE_MAX, &len, err, sizeof(err));
    if (!text) {
        CMN_LOG(ERR, "%s", err);
        return NULL;
    }
    struct cmn_config *cfg = cmn_config_parse(text, len, path);
    free(text);
    return cfg;
}

void cmn_config_destroy(struct cmn_config **cfgp)
{
    if (!cfgp || !*cfgp)
        return;
    struct cmn_config *cfg = *cfgp;
    for (size_t i = 0; i < cfg->n; i++) {
        free(cfg->ents[i].section);
        free(cfg->ents[i].key);
        free(cfg->ents[i].value);
    }
    free(cfg->ents);
    free(cfg->path);
    free(cfg);
    *cfgp = NULL;
}

void cmn_config_set(struct cmn_config *cfg, const char *section, const char *key, const char *value)
{
    s_add(cfg, section, key, value, 0);
}

void cmn_config_unset(struct cmn_config *cfg, const char *section, const char *key)
{
    size_t j = 0;
    for (size_t i = 0; i < cfg->n; i++) {
        struct entry *e = &cfg->ents[i];
        if (strcmp(e->section, section) == 0 && strcmp(e->key, key) == 0) {
            free(e->section);
            free(e->key);
            free(e->value);
            continue;
        }
        cfg->ents[j++] = *e;
    }
    cfg->n = j;
}

static const struct entry *s_find(const struct cmn_config *cfg, const char *section,
                                  const char *key, size_t nth, bool last)
{
    const struct entry *found = NULL;
    size_t k = 0;
    for (size_t i = 0; i < cfg->n; i++) {
        const struct entry *e = &cfg->ents[i];
        if (strcmp(e->section, section) != 0 || strcmp(e->key, key) != 0)
            continue;
        if (last)
            found = e;
        else if (k++ == nth)
            return e;
    }
    return found;
}

const char *cmn_config_get(const struct cmn_config *cfg, const char *section, const char *key)
{
    const struct entry *e = s_find(cfg, section, key, 0, true);
    return e ? e->value : NULL;
}

size_t cmn_config_count(const struct cmn_config *cfg, const char *section, const char *key)
{
    size_t k = 0;
    for (size_t i = 0; i < cfg->n; i++)
        if (strcmp(cfg->ents[i].section, section) == 0 && strcmp(cfg->ents[i].key, key) == 0)
            k++;
    return k;
}

const char *cmn_config_get_nth(const struct cmn_config *cfg, const char *section, const char *key,
                               size_t n)
{
    const struct entry *e = s_find(cfg, section, key, n, false);
    return e ? e->value : NULL;
}

static const char *s_where(const struct cmn_config *cfg, const struct entry *e, char *buf,
                           size_t len)
{
    if (!e || e->line == 0 || !cfg->path)
        snprintf(buf, len, "command line");
    else
        snprintf(buf, len, "%s:%u", cfg->path, e->line);
    return buf;
}

const char *cmn_config_where(const struct cmn_config *cfg, const char *section, const char *key,
                             char *buf, size_t len)
{
    return s_where(cfg, s_find(cfg, section, key, 0, true), buf, len);
}

int cmn_config_u64(const struct cmn_config *cfg, const char *section, const char *key, uint64_t def,
                   uint64_t min, uint64_t max, uint64_t *out)
{
    const struct entry *e = s_find(cfg, section, key, 0, true);
    if (!e) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(e->value, &end, 0);
    if (errno || end == e->value || *end || e->value[0] == '-' || v < min || v > max) {
        char w[512];
        CMN_LOG(ERR, "%s: %s: expected an integer in [%" PRIu64 ", %" PRIu64 "], got '%s'",
                s_where(cfg, e, w, sizeof(w)), key, min, max, e->value);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

int cmn_config_double(const struct cmn_config *cfg, const char *section, const char *key,
                      double def, double min, double max, double *out)
{
    const struct entry *e = s_find(cfg, section, key, 0, true);
    if (!e) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(e->value, &end);
    if (errno || end == e->value || *end || !(v >= min && v <= max)) {
        char w[512];
        CMN_LOG(ERR, "%s: %s: expected a number in [%g, %g], got '%s'",
                s_where(cfg, e, w, sizeof(w)), key, min, max, e->value);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

int cmn_config_bool(const struct cmn_config *cfg, const char *section, const char *key, bool def,
                    bool *out)
{
    const struct entry *e = s_find(cfg, section, key, 0, true);
    if (!e) {
        *out = def;
        return 0;
    }
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(e->value, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(e->value, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    char w[512];
    CMN_LOG(ERR, "%s: %s: expected true or false, got '%s'", s_where(cfg, e, w, sizeof(w)), key,
            e->value);
    return -EINVAL;
}

static bool s_in(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

int cmn_config_check_single(const struct cmn_config *cfg, const char *section,
                            const char *const *single)
{
    int rc = 0;
    char w[512], w0[512];
    for (size_t i = 0; i < cfg->n; i++) {
        const struct entry *e = &cfg->ents[i];
        if (strcmp(e->section, section) != 0 || !s_in(e->key, single))
            continue;
        for (size_t j = 0; j < i; j++) {
            const struct entry *f = &cfg->ents[j];
            if (strcmp(f->section, section) == 0 && strcmp(f->key, e->key) == 0) {
                CMN_LOG(ERR, "%s: key '%s' given twice in [%s] (first at %s)",
                        s_where(cfg, e, w, sizeof(w)), e->key, section,
                        s_where(cfg, f, w0, sizeof(w0)));
                rc = -EINVAL;
                break;
            }
        }
    }
    return rc;
}

int cmn_config_check(const struct cmn_config *cfg, const char *section, const char *const *allowed,
                     const char *const *sections)
{
    int rc = 0;
    char w[512];
    for (size_t i = 0; i < cfg->n; i++) {
        const struct entry *e = &cfg->ents[i];
        if (sections && !s_in(e->section, sections)) {
            CMN_LOG(ERR, "%s: key '%s' in unknown section [%s]", s_where(cfg, e, w, sizeof(w)),
                    e->key, e->section);
            rc = -EINVAL;
            continue;
        }
        if (strcmp(e->section, section) == 0 && !s_in(e->key, allowed)) {
            CMN_LOG(ERR, "%s: unknown key '%s' in [%s]", s_where(cfg, e, w, sizeof(w)), e->key,
                    section);
            rc = -EINVAL;
        }
    }
    return rc;
}
