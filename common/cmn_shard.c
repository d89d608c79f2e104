/* SPDX-License-Identifier: MIT
 * cmn_shard: ranges are kept as a sorted array covering ::/0 exactly. Rules
 * are applied by painting: each rule splits the ranges it overlaps and sets
 * the owner of the covered part; neighbours with equal owner then merge.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_ip.h"
#include "cmn_shard.h"

#define SHARD_MAX_TRACKERS 4096

struct cmn_shard_map {
    uint32_t trackers;         /* number of trackers */
    size_t n;                  /* ranges used */
    size_t cap;                /* ranges allocated */
    struct cmn_shard_range *r; /* sorted, covering, non-overlapping */
};

/* 128-bit big-endian arithmetic on address bytes. */
static void s_add_one(uint8_t a[16])
{
    for (int i = 15; i >= 0; i--)
        if (++a[i] != 0)
            break;
}

static void s_sub_one(uint8_t a[16])
{
    for (int i = 15; i >= 0; i--)
        if (a[i]-- != 0)
            break;
}

static void s_push(struct cmn_shard_map *m, const uint8_t lo[16], const uint8_t hi[16], uint32_t t)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->r = realloc(m->r, m->cap * sizeof(*m->r));
        if (!m->r)
            abort();
    }
    struct cmn_shard_range *r = &m->r[m->n++];
    memcpy(r->lo, lo, 16);
    memcpy(r->hi, hi, 16);
    r->tracker = t;
    r->pad = 0;
}

/* Split [lo, hi] into `parts` near-equal ranges, owners 0..parts-1, using the
 * 64 bits starting at byte `off` as the position (enough resolution). */
static void s_split(struct cmn_shard_map *m, const uint8_t lo[16], const uint8_t hi[16],
                    uint32_t parts)
{
    uint8_t cur[16];
    memcpy(cur, lo, 16);
    int off = cmn_ip_is_v4(lo) ? 8 : 0; /* v4: the low 64 bits hold ffff:a.b.c.d */
    uint64_t base = 0, top = 0;
    for (int i = 0; i < 8; i++) {
        base = base << 8 | lo[off + i];
        top = top << 8 | hi[off + i];
    }
    unsigned __int128 span = (unsigned __int128)(top - base) + 1;
    for (uint32_t t = 0; t < parts; t++) {
        uint8_t end[16];
        if (t == parts - 1) {
            memcpy(end, hi, 16);
        } else {
            uint64_t e = base + (uint64_t)(span * (t + 1) / parts) - 1;
            memcpy(end, lo, 16);
            for (int i = 7; i >= 0; i--) {
                end[off + i] = (uint8_t)e;
                e >>= 8;
            }
            for (int i = off + 8; i < 16; i++)
                end[i] = 0xff;
        }
        s_push(m, cur, end, t);
        memcpy(cur, end, 16);
        s_add_one(cur);
    }
}

struct cmn_shard_map *cmn_shard_map_new_even(uint32_t trackers)
{
    if (trackers == 0 || trackers > SHARD_MAX_TRACKERS)
        return NULL;
    struct cmn_shard_map *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    m->trackers = trackers;
    static const uint8_t zero[16] = {0};
    static const uint8_t v4lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
    static const uint8_t v4hi[16] = {0, 0, 0,    0,    0,    0,    0,    0,
                                     0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    uint8_t below[16], above[16];
    memcpy(below, v4lo, 16);
    s_sub_one(below);
    memcpy(above, v4hi, 16);
    s_add_one(above);
    static const uint8_t ones[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    /* IPv6 below the v4-mapped block is almost empty (::, ::1): one owner. */
    s_push(m, zero, below, 0);
    s_split(m, v4lo, v4hi, trackers);
    s_split(m, above, ones, trackers);
    return m;
}

/* Paint [lo, hi] with owner t. */
static void s_paint(struct cmn_shard_map *m, const uint8_t lo[16], const uint8_t hi[16], uint32_t t)
{
    struct cmn_shard_map out = {.trackers = m->trackers};
    for (size_t i = 0; i < m->n; i++) {
        const struct cmn_shard_range *r = &m->r[i];
        if (memcmp(r->hi, lo, 16) < 0 || memcmp(r->lo, hi, 16) > 0) {
            s_push(&out, r->lo, r->hi, r->tracker);
            continue;
        }
        if (memcmp(r->lo, lo, 16) < 0) { /* part before */
            uint8_t e[16];
            memcpy(e, lo, 16);
            s_sub_one(e);
            s_push(&out, r->lo, e, r->tracker);
        }
        const uint8_t *a = memcmp(r->lo, lo, 16) < 0 ? lo : r->lo;
        const uint8_t *b = memcmp(r->hi, hi, 16) > 0 ? hi : r->hi;
        s_push(&out, a, b, t);
        if (memcmp(r->hi, hi, 16) > 0) { /* part after */
            uint8_t s[16];
            memcpy(s, hi, 16);
            s_add_one(s);
            s_push(&out, s, r->hi, r->tracker);
        }
    }
    /* merge neighbours with equal owner */
    size_t j = 0;
    for (size_t i = 0; i < out.n; i++) {
        if (j > 0 && out.r[j - 1].tracker == out.r[i].tracker)
            memcpy(out.r[j - 1].hi, out.r[i].hi, 16);
        else
            out.r[j++] = out.r[i];
    }
    out.n = j;
    free(m->r);
    m->r = out.r;
    m->n = out.n;
    m->cap = out.cap;
}

struct cmn_shard_map *cmn_shard_map_new_rules(uint32_t trackers, const char *const *rules,
                                              size_t nrules, char *err, size_t errlen)
{
    return cmn_shard_map_new_vacant(trackers, NULL, rules, nrules, err, errlen);
}

struct cmn_shard_map *cmn_shard_map_new_vacant(uint32_t trackers, const uint8_t *vacant,
                                               const char *const *rules, size_t nrules, char *err,
                                               size_t errlen)
{
    uint32_t nact = 0;
    for (uint32_t t = 0; t < trackers && trackers <= SHARD_MAX_TRACKERS; t++)
        nact += !(vacant && vacant[t]);
    struct cmn_shard_map *m = cmn_shard_map_new_even(nact);
    if (!m) {
        if (trackers >= 1 && trackers <= SHARD_MAX_TRACKERS)
            snprintf(err, errlen, "every one of the %u trackers is retired (none)", trackers);
        else
            snprintf(err, errlen, "tracker count %u out of range 1..%d", trackers,
                     SHARD_MAX_TRACKERS);
        return NULL;
    }
    if (nact < trackers) { /* the even split over the members, numbered as configured */
        uint32_t *act = malloc(nact * sizeof(*act));
        if (!act)
            abort();
        for (uint32_t t = 0, k = 0; t < trackers; t++)
            if (!vacant[t])
                act[k++] = t;
        for (size_t i = 0; i < m->n; i++)
            m->r[i].tracker = act[m->r[i].tracker];
        free(act);
        m->trackers = trackers;
    }
    for (size_t i = 0; i < nrules; i++) {
        char text[256], *sp;
        snprintf(text, sizeof(text), "%s", rules[i]);
        sp = strpbrk(text, " \t");
        if (!sp) {
            snprintf(err, errlen, "range rule '%s': expected 'PREFIX TRACKER' or 'LO-HI TRACKER'",
                     rules[i]);
            goto fail;
        }
        *sp++ = '\0';
        while (*sp == ' ' || *sp == '\t')
            sp++;
        char *end;
        errno = 0;
        unsigned long t = strtoul(sp, &end, 10);
        if (errno || end == sp || *end || t >= trackers) {
            snprintf(err, errlen, "range rule '%s': tracker index must be 0..%u", rules[i],
                     trackers - 1);
            goto fail;
        }
        if (vacant && vacant[t]) {
            snprintf(err, errlen,
                     "range rule '%s': tracker %lu is retired (none): give its ranges to another",
                     rules[i], t);
            goto fail;
        }
        uint8_t lo[16], hi[16];
        char *dash = strchr(text, '-');
        if (dash) {
            *dash = '\0';
            if (cmn_ip_parse(text, lo) || cmn_ip_parse(dash + 1, hi) ||
                cmn_ip_is_v4(lo) != cmn_ip_is_v4(hi) || memcmp(lo, hi, 16) > 0) {
                snprintf(err, errlen, "range rule '%s': bad address range", rules[i]);
                goto fail;
            }
        } else if (cmn_prefix_parse(text, lo, hi)) {
            snprintf(err, errlen, "range rule '%s': bad prefix", rules[i]);
            goto fail;
        }
        s_paint(m, lo, hi, (uint32_t)t);
    }
    return m;
fail:
    cmn_shard_map_destroy(&m);
    return NULL;
}

struct cmn_shard_map *cmn_shard_map_decode(uint32_t trackers, const void *bytes, size_t len)
{
    if (trackers == 0 || trackers > SHARD_MAX_TRACKERS || len == 0 ||
        len % sizeof(struct cmn_shard_range))
        return NULL;
    size_t n = len / sizeof(struct cmn_shard_range);
    struct cmn_shard_map *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    m->trackers = trackers;
    m->r = malloc(len);
    if (!m->r)
        abort();
    memcpy(m->r, bytes, len);
    m->n = m->cap = n;
    static const uint8_t zero[16] = {0};
    uint8_t expect[16];
    memcpy(expect, zero, 16);
    for (size_t i = 0; i < n; i++) {
        const struct cmn_shard_range *r = &m->r[i];
        if (memcmp(r->lo, expect, 16) != 0 || memcmp(r->lo, r->hi, 16) > 0 ||
            r->tracker >= trackers)
            goto bad;
        memcpy(expect, r->hi, 16);
        s_add_one(expect);
    }
    if (memcmp(expect, zero, 16) != 0) /* must end at ffff...ff (wraps to zero) */
        goto bad;
    return m;
bad:
    cmn_shard_map_destroy(&m);
    return NULL;
}

void cmn_shard_map_destroy(struct cmn_shard_map **mp)
{
    if (!mp || !*mp)
        return;
    free((*mp)->r);
    free(*mp);
    *mp = NULL;
}

uint32_t cmn_shard_lookup(const struct cmn_shard_map *m, const uint8_t ip[16])
{
    size_t lo = 0, hi = m->n; /* first range whose hi >= ip */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (memcmp(m->r[mid].hi, ip, 16) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n ? m->r[lo].tracker : 0;
}

uint32_t cmn_shard_trackers(const struct cmn_shard_map *m)
{
    return m->trackers;
}

const struct cmn_shard_range *cmn_shard_ranges(const struct cmn_shard_map *m, size_t *n)
{
    *n = m->n;
    return m->r;
}
