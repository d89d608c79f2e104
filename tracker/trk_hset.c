/* SPDX-License-Identifier: MIT
 * trk_hset: slots hold a 32-bit tag (high hash bits, never 0) and the value;
 * keys live in a parallel array so a probe compares tags first and touches a
 * key only on a tag match. The table doubles at 3/4 load with a full rehash:
 * it only grows on session creation at flush time, never per packet.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_ckpt.h"
#include "trk_hset.h"

#define HSET_MIN_SLOTS 16u

struct slot {
    uint32_t tag; /* (hash >> 32) | 1; 0 = empty */
    uint32_t val; /* caller's value */
};

struct trk_hset {
    size_t key_len;      /* bytes per key */
    size_t mask;         /* slots - 1 (slots is a power of two) */
    size_t count;        /* keys stored */
    struct slot *slots;  /* slot array */
    uint8_t *keys;       /* key of slot i at keys + i * key_len */
    uint64_t *hashes;    /* hash of slot i, for rehashing without the caller */
    struct trk_mem *mem; /* memcap accountant (borrowed) */
};

static size_t s_bytes(size_t slots, size_t key_len)
{
    return slots * (sizeof(struct slot) + key_len + sizeof(uint64_t));
}

static int s_alloc(struct trk_hset *s, size_t slots)
{
    if (!trk_mem_take(s->mem, s_bytes(slots, s->key_len)))
        return -ENOSPC;
    struct slot *sl = calloc(slots, sizeof(*sl));
    uint8_t *k = malloc(slots * s->key_len);
    uint64_t *h = malloc(slots * sizeof(*h));
    if (!sl || !k || !h) {
        free(sl);
        free(k);
        free(h);
        trk_mem_give(s->mem, s_bytes(slots, s->key_len));
        return -ENOMEM;
    }
    s->slots = sl;
    s->keys = k;
    s->hashes = h;
    s->mask = slots - 1;
    return 0;
}

static void s_free_arrays(struct trk_hset *s)
{
    if (!s->slots)
        return;
    trk_mem_give(s->mem, s_bytes(s->mask + 1, s->key_len));
    free(s->slots);
    free(s->keys);
    free(s->hashes);
    s->slots = NULL;
    s->keys = NULL;
    s->hashes = NULL;
}

struct trk_hset *trk_hset_new(size_t key_len, struct trk_mem *mem)
{
    if (key_len == 0 || key_len > TRK_HSET_KEY_MAX || !mem)
        return NULL;
    struct trk_hset *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->key_len = key_len;
    s->mem = mem;
    if (s_alloc(s, HSET_MIN_SLOTS) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void trk_hset_destroy(struct trk_hset **sp)
{
    if (!sp || !*sp)
        return;
    s_free_arrays(*sp);
    free(*sp);
    *sp = NULL;
}

/* Place a key known to be absent; no growth check. */
static void s_place(struct trk_hset *s, const void *key, uint64_t hash, uint32_t val)
{
    uint32_t tag = (uint32_t)(hash >> 32) | 1u;
    size_t i = (size_t)hash & s->mask;
    while (s->slots[i].tag)
        i = (i + 1) & s->mask;
    s->slots[i].tag = tag;
    s->slots[i].val = val;
    memcpy(s->keys + i * s->key_len, key, s->key_len);
    s->hashes[i] = hash;
}

static int s_grow(struct trk_hset *s)
{
    struct trk_hset old = *s;
    int rc = s_alloc(s, (old.mask + 1) * 2);
    if (rc != 0) {
        *s = old;
        return rc;
    }
    for (size_t i = 0; i <= old.mask; i++)
        if (old.slots[i].tag)
            s_place(s, old.keys + i * old.key_len, old.hashes[i], old.slots[i].val);
    s_free_arrays(&old);
    return 0;
}

static long s_probe(const struct trk_hset *s, const void *key, uint64_t hash)
{
    uint32_t tag = (uint32_t)(hash >> 32) | 1u;
    size_t i = (size_t)hash & s->mask;
    while (s->slots[i].tag) {
        if (s->slots[i].tag == tag && memcmp(s->keys + i * s->key_len, key, s->key_len) == 0)
            return (long)i;
        i = (i + 1) & s->mask;
    }
    return -1;
}

int trk_hset_insert(struct trk_hset *s, const void *key, uint64_t hash, uint32_t *val)
{
    long i = s_probe(s, key, hash);
    if (i >= 0) {
        *val = s->slots[i].val;
        return 0;
    }
    if ((s->count + 1) * 4 > (s->mask + 1) * 3) {
        int rc = s_grow(s);
        if (rc != 0)
            return rc == -ENOMEM ? -ENOSPC : rc;
    }
    s_place(s, key, hash, *val);
    s->count++;
    return 1;
}

int trk_hset_find(const struct trk_hset *s, const void *key, uint64_t hash, uint32_t *val)
{
    long i = s_probe(s, key, hash);
    if (i < 0)
        return -ENOENT;
    *val = s->slots[i].val;
    return 0;
}

size_t trk_hset_count(const struct trk_hset *s)
{
    return s->count;
}

void trk_hset_clear(struct trk_hset *s)
{
    s_free_arrays(s);
    s->count = 0;
    if (s_alloc(s, HSET_MIN_SLOTS) != 0)
        abort(); /* we just gave back more than this: only out of memory gets here */
}

void trk_hset_visit(const struct trk_hset *s, trk_hset_visit_fn fn, void *arg)
{
    for (size_t i = 0; i <= s->mask; i++)
        if (s->slots[i].tag)
            fn(arg, s->keys + i * s->key_len, s->slots[i].val);
}

void trk_hset_save(const struct trk_hset *s, struct cmn_ckpt *c)
{
    cmn_ckpt_put_u64(c, s->key_len);
    cmn_ckpt_put_u64(c, s->count);
    for (size_t i = 0; i <= s->mask; i++) {
        if (!s->slots[i].tag)
            continue;
        cmn_ckpt_put(c, s->keys + i * s->key_len, s->key_len);
        cmn_ckpt_put(c, &s->hashes[i], sizeof(s->hashes[i]));
        cmn_ckpt_put(c, &s->slots[i].val, sizeof(s->slots[i].val));
    }
}

int trk_hset_load(struct trk_hset *s, struct cmn_ckpt *c)
{
    if (cmn_ckpt_get_count(c, TRK_HSET_KEY_MAX) != s->key_len || s->count)
        return c->err ? c->err : (c->err = -EPROTO);
    uint64_t n = cmn_ckpt_get_count(c, UINT32_MAX);
    uint8_t key[TRK_HSET_KEY_MAX];
    for (uint64_t i = 0; i < n && !c->err; i++) {
        uint64_t h;
        uint32_t v;
        if (cmn_ckpt_get(c, key, s->key_len) || cmn_ckpt_get(c, &h, sizeof(h)) ||
            cmn_ckpt_get(c, &v, sizeof(v)))
            break;
        int rc = trk_hset_insert(s, key, h, &v);
        if (rc != 1)
            c->err = rc < 0 ? rc : -EPROTO; /* over the memcap, or a key twice */
    }
    return c->err;
}
