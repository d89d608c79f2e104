/* SPDX-License-Identifier: MIT
 * cmn_hash: the one hash family of the tree — the parser's record signature,
 * the splitter's dedup window, the tracker's session, endpoint, fragment and
 * event tables, the merger's live window and the collector's state check.
 * One mixing step, a 64x64->128-bit multiply folded to 64 bits (wyhash's
 * "mum"), with fixed odd constants; callers give a seed where a table layout
 * must not be predictable (random per process unless fixed for tests).
 * Not meant to resist an attacker who knows the seed; identical on every host
 * for the same inputs and seed (the parser's signature must be: both mirror
 * copies of a packet, seen by two collectors, get the same one).
 */
#ifndef CMN_HASH_H
#define CMN_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define CMN_HASH_K0 0xa0761d6478bd642full
#define CMN_HASH_K1 0xe7037ed1a0b428dbull
#define CMN_HASH_K2 0x8ebc6af09c88c6e3ull
#define CMN_HASH_K3 0x589965cc75374cc3ull
#define CMN_HASH_K4 0x1d8e4e27c47d124full

/* The mixing step: a * b as 128 bits, the halves xor-folded. */
static inline uint64_t cmn_hash_mix(uint64_t a, uint64_t b)
{
    unsigned __int128 r = (unsigned __int128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* One 64-bit word under a seed (two steps: every input bit reaches every
 * output bit). */
static inline uint64_t cmn_hash_u64(uint64_t x, uint64_t seed)
{
    return cmn_hash_mix(cmn_hash_mix(x ^ seed ^ CMN_HASH_K0, CMN_HASH_K1) ^ CMN_HASH_K2,
                        seed ^ CMN_HASH_K3);
}

/* n 64-bit words under a seed. */
static inline uint64_t cmn_hash_words64(const uint64_t *w, size_t n, uint64_t seed)
{
    uint64_t h = seed ^ CMN_HASH_K0;
    for (size_t i = 0; i < n; i++)
        h = cmn_hash_mix(h ^ w[i], CMN_HASH_K1);
    return cmn_hash_mix(h ^ CMN_HASH_K2, (uint64_t)n ^ CMN_HASH_K4);
}

/* A key of `len` bytes under a seed: the hash of fixed-size table keys. */
static inline uint64_t cmn_hash_bytes(const void *k, size_t len, uint64_t seed)
{
    uint64_t h = seed ^ CMN_HASH_K0;
    const uint8_t *p = k;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = cmn_hash_mix(h ^ w, CMN_HASH_K1);
    }
    if (i < len) { /* the tail, zero-padded */
        uint64_t w = 0;
        memcpy(&w, p + i, len - i);
        h = cmn_hash_mix(h ^ w, CMN_HASH_K3);
    }
    return cmn_hash_mix(h, CMN_HASH_K2 ^ len);
}

/* A random seed from the OS (getrandom), or a time-based one if that fails. */
static inline uint64_t cmn_random_seed(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
        return s;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return cmn_hash_mix((uint64_t)ts.tv_nsec ^ 0x8ebc6af09c88c6e3ull,
                        (uint64_t)ts.tv_sec ^ (uint64_t)getpid() ^ 0x589965cc75374cc3ull);
}

#endif /* CMN_HASH_H */
