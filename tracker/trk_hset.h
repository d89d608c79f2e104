/* SPDX-License-Identifier: MIT
 * trk_hset: an insert-only hash map from fixed-size keys (up to 32 bytes) to a
 * 32-bit value, with open addressing and linear probing. The endpoint module
 * uses it for its (ip, proto, port) index and for the exact distinct sets of
 * the paper's per-IP tables (peer IPs, peer ports, peer sessions). Growth is
 * charged to a trk_mem before it happens; a refused growth is -ENOSPC.
 *
 * Contract: single-threaded; the caller computes the key's hash once (any
 * well-mixed 64-bit hash, e.g. cmn_hash_mix-based) and passes it in.
 */
#ifndef TRK_HSET_H
#define TRK_HSET_H

#include <stddef.h>
#include <stdint.h>

#include "trk_mem.h"

#define TRK_HSET_KEY_MAX 32

struct trk_hset;

/* A map for keys of `key_len` bytes (1..TRK_HSET_KEY_MAX), charging `mem`
 * (borrowed, must outlive the map). Returns NULL if key_len is out of range or
 * the first allocation is refused. */
struct trk_hset *trk_hset_new(size_t key_len, struct trk_mem *mem);

/* Free; accepts NULL and NULLs the caller's pointer. */
void trk_hset_destroy(struct trk_hset **s);

/* Find `key` (with its precomputed `hash`). If present: writes its value into
 * *val and returns 0. If absent: inserts it with value *val and returns 1.
 * Returns -ENOSPC when growing would exceed the memcap (nothing inserted). */
int trk_hset_insert(struct trk_hset *s, const void *key, uint64_t hash, uint32_t *val /* IN/OUT */);

/* Look `key` up without inserting. Returns 0 and *val, or -ENOENT. */
int trk_hset_find(const struct trk_hset *s, const void *key, uint64_t hash,
                  uint32_t *val /* OUT */);

/* Number of keys. */
size_t trk_hset_count(const struct trk_hset *s);

/* Call fn for every key and its value, in slot order. */
typedef void (*trk_hset_visit_fn)(void *arg, const void *key, uint32_t val);
void trk_hset_visit(const struct trk_hset *s, trk_hset_visit_fn fn, void *arg);

/* Remove everything, keep the smallest allocation. */
void trk_hset_clear(struct trk_hset *s);

struct cmn_ckpt;

/* Write every (key, hash, value) to a checkpoint; read them back into an
 * empty map of the same key length (cmn_ckpt.h). 0 or -errno / -EPROTO. */
void trk_hset_save(const struct trk_hset *s, struct cmn_ckpt *c);
int trk_hset_load(struct trk_hset *s, struct cmn_ckpt *c);

#endif /* TRK_HSET_H */
