/* SPDX-License-Identifier: MIT
 * trk_frag: a direct-mapped table, one slot per hash of (src, dst, proto,
 * IP id); a newer first fragment overwrites a colliding older one (bounded
 * memory; the loser's later fragments stay port-less, counted nowhere else).
 */
#define CMN_LOG_TAG "frag"
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_log.h"
#include "cmn_ckpt.h"
#include "trk_frag.h"
#include "trk_key.h"

struct slot {
    uint8_t src[16]; /* source address */
    uint8_t dst[16]; /* destination address */
    uint64_t ts_ns;  /* first fragment's time, 0 = empty */
    uint16_t sport;  /* its ports */
    uint16_t dport;  /* " */
    uint16_t ip_id;  /* IP id (low 16 bits of the IPv6 fragment id) */
    uint8_t proto;   /* IP protocol */
    uint8_t pad;     /* zero */
};

struct trk_frag {
    struct slot *slot;   /* TRK_FRAG_SLOTS entries */
    struct trk_mem *mem; /* memcap accountant (borrowed) */
    uint64_t seed;       /* hash seed */
};

struct trk_frag *trk_frag_new(struct trk_mem *mem, uint64_t seed)
{
    assert(mem);
    struct trk_frag *f = calloc(1, sizeof(*f));
    if (!f || !trk_mem_take(mem, TRK_FRAG_SLOTS * sizeof(struct slot))) {
        CMN_LOG(ERR, "cannot allocate the fragment table");
        free(f);
        return NULL;
    }
    f->mem = mem;
    f->seed = seed;
    f->slot = calloc(TRK_FRAG_SLOTS, sizeof(struct slot));
    if (!f->slot) {
        CMN_LOG(ERR, "cannot allocate the fragment table");
        trk_frag_destroy(&f);
        return NULL;
    }
    return f;
}

void trk_frag_destroy(struct trk_frag **fp)
{
    if (!fp || !*fp)
        return;
    trk_mem_give((*fp)->mem, TRK_FRAG_SLOTS * sizeof(struct slot));
    free((*fp)->slot);
    free(*fp);
    *fp = NULL;
}

bool trk_frag_any(const struct cmn_record *recs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (recs[i].flags & (CMN_REC_FRAG_FIRST | CMN_REC_FRAG_LATER))
            return true;
    return false;
}

static struct slot *s_slot(struct trk_frag *f, const struct cmn_record *r)
{
    uint64_t w[4];
    memcpy(w, r->src, 16);
    memcpy(w + 2, r->dst, 16);
    uint64_t h = cmn_hash_mix(w[0] ^ f->seed ^ ((uint64_t)r->ip_id << 8 | r->proto),
                              w[1] ^ 0xe7037ed1a0b428dbull);
    h = cmn_hash_mix(h ^ w[2], w[3] ^ 0x8ebc6af09c88c6e3ull);
    return &f->slot[h & (TRK_FRAG_SLOTS - 1)];
}

static struct slot *s_slot_of(struct trk_frag *f, const struct slot *x)
{
    struct cmn_record r;
    memset(&r, 0, sizeof(r));
    memcpy(r.src, x->src, 16);
    memcpy(r.dst, x->dst, 16);
    r.ip_id = x->ip_id;
    r.proto = x->proto;
    return s_slot(f, &r);
}

static bool s_same(const struct slot *s, const struct cmn_record *r)
{
    return s->ts_ns && s->ip_id == r->ip_id && s->proto == r->proto &&
           memcmp(s->src, r->src, 16) == 0 && memcmp(s->dst, r->dst, 16) == 0;
}

size_t trk_frag_apply(struct trk_frag *f, struct cmn_record *recs, size_t n)
{
    size_t given = 0;
    for (size_t i = 0; i < n; i++) {
        struct cmn_record *r = &recs[i];
        if (!trk_proto_has_ports(r->proto))
            continue;
        if (r->flags & CMN_REC_FRAG_FIRST) {
            if (r->sport == 0 && r->dport == 0)
                continue; /* cut before the ports: nothing to hand on */
            struct slot *s = s_slot(f, r);
            memcpy(s->src, r->src, 16);
            memcpy(s->dst, r->dst, 16);
            s->ts_ns = r->ts_ns ? r->ts_ns : 1;
            s->sport = r->sport;
            s->dport = r->dport;
            s->ip_id = r->ip_id;
            s->proto = r->proto;
        } else if (r->flags & CMN_REC_FRAG_LATER) {
            const struct slot *s = s_slot(f, r);
            uint64_t age = r->ts_ns > s->ts_ns ? r->ts_ns - s->ts_ns : s->ts_ns - r->ts_ns;
            if (!s_same(s, r) || age > TRK_FRAG_TIMEOUT_NS)
                continue;
            r->sport = s->sport;
            r->dport = s->dport;
            r->flags &= (uint8_t)~CMN_REC_FRAG_LATER;
            given++;
        }
    }
    return given;
}

void trk_frag_reset(struct trk_frag *f)
{
    memset(f->slot, 0, TRK_FRAG_SLOTS * sizeof(struct slot));
}

void trk_frag_save(const struct trk_frag *f, struct cmn_ckpt *c)
{
    cmn_ckpt_put(c, f->slot, TRK_FRAG_SLOTS * sizeof(struct slot));
}

int trk_frag_load(struct trk_frag *f, struct cmn_ckpt *c)
{
    return cmn_ckpt_get(c, f->slot, TRK_FRAG_SLOTS * sizeof(struct slot));
}

void trk_frag_export(const struct trk_frag *f, bool (*moves)(void *arg, const uint8_t ip[16]),
                     void *arg, struct cmn_ckpt *c)
{
    uint64_t n = 0;
    for (size_t i = 0; i < TRK_FRAG_SLOTS; i++) {
        const struct slot *s = &f->slot[i];
        n += s->ts_ns && (moves(arg, s->src) || moves(arg, s->dst));
    }
    cmn_ckpt_put_u64(c, n);
    for (size_t i = 0; i < TRK_FRAG_SLOTS; i++) {
        const struct slot *s = &f->slot[i];
        if (s->ts_ns && (moves(arg, s->src) || moves(arg, s->dst)))
            cmn_ckpt_put(c, s, sizeof(*s));
    }
}

int trk_frag_import(struct trk_frag *f, struct cmn_ckpt *c)
{
    uint64_t n = cmn_ckpt_get_count(c, TRK_FRAG_SLOTS);
    for (uint64_t i = 0; i < n && !c->err; i++) {
        struct slot x;
        if (cmn_ckpt_get(c, &x, sizeof(x)))
            break;
        if (!x.ts_ns)
            return c->err = -EPROTO;
        struct slot *s = s_slot_of(f, &x);
        if (!s->ts_ns || s->ts_ns < x.ts_ns)
            *s = x;
    }
    return c->err;
}
