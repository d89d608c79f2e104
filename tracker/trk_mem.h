/* SPDX-License-Identifier: MIT
 * trk_mem: the tracker's memory cap (memcap_mb). One accountant is shared by
 * the session table and the endpoint tables; each of them asks before it
 * allocates (trk_mem_take) and gives back what it frees. A refused request is
 * the caller's counted drop, never a crash.
 *
 * Contract: single-threaded (owned by the tracker's loop thread); sizes in bytes.
 */
#ifndef TRK_MEM_H
#define TRK_MEM_H

#include <stdbool.h>
#include <stddef.h>

struct trk_mem {
    size_t cap;  /* bytes allowed, 0 = unlimited */
    size_t used; /* bytes currently accounted */
    size_t peak; /* highest `used` seen */
};

/* Account `n` more bytes if that stays within the cap. Returns false (and
 * accounts nothing) when it would not. */
static inline bool trk_mem_take(struct trk_mem *m, size_t n)
{
    if (m->cap && (n > m->cap || m->used > m->cap - n))
        return false;
    m->used += n;
    if (m->used > m->peak)
        m->peak = m->used;
    return true;
}

/* Give back `n` bytes accounted earlier. */
static inline void trk_mem_give(struct trk_mem *m, size_t n)
{
    m->used = n > m->used ? 0 : m->used - n;
}

#endif /* TRK_MEM_H */
