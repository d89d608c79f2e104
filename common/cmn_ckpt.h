/* SPDX-License-Identifier: MIT
 * cmn_ckpt: the checkpoint files of the tracker and the splitter
 * (docs/OPERATIONS.md "A tracker killed", "The splitter killed"): a stream
 * of fixed-layout sections that each module writes and reads itself
 * (trk_table_save/_load, trk_endpoints_, trk_events_, trk_frag_, trk_hset_,
 * the splitter's state), a running checksum over every byte, and the file
 * replaced atomically: written to NAME.tmp, fsync'ed, renamed over NAME.
 * The checkpoint it replaces is kept as NAME.prev (a tracker told to go
 * back to an earlier epoch may need it). A reader that finds a short file,
 * a bad magic, another layout or a checksum that does not match says so and
 * the caller starts empty.
 *
 * The layout is this build's structs byte for byte (same version, same
 * host): a checkpoint is for the process that restarts in its place, not an
 * exchange format.
 *
 * Contract: single-threaded; errors are sticky (every call after the first
 * failure does nothing and cmn_ckpt_close_* reports it).
 */
#ifndef CMN_CKPT_H
#define CMN_CKPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cmn_ckpt {
    FILE *f;        /* the open file */
    uint64_t sum;   /* running checksum of the bytes so far */
    int err;        /* first error (-errno, -EPROTO for a bad file), 0: none */
    char path[512]; /* final path */
    char tmp[520];  /* writer: the temporary it writes first */
    bool mem;       /* a stream in memory (cmn_ckpt_open_mem_*): no file, no rename */
};

/* Begin writing DIR/NAME (as DIR/NAME.tmp). 0 or -errno (logged). */
int cmn_ckpt_open_write(struct cmn_ckpt *c, const char *dir, const char *name);

/* Checksum, flush, fsync, rename DIR/NAME to DIR/NAME.prev and the new one
 * over DIR/NAME, fsync the directory. 0 or the first error (the old
 * checkpoint then stays). */
int cmn_ckpt_close_write(struct cmn_ckpt *c);

/* Open DIR/NAME for reading: 1 when open, 0 when there is none, -errno. */
int cmn_ckpt_open_read(struct cmn_ckpt *c, const char *dir, const char *name);

/* Check the checksum at the end and close. 0, or -EPROTO (a torn or
 * altered file) or the first read error. */
int cmn_ckpt_close_read(struct cmn_ckpt *c);

/* The same stream in memory (a tracker's handover of moved ranges,
 * trk_node.h): written into a malloc'ed buffer that cmn_ckpt_close_write
 * completes (checksum appended) and leaves in *buf / *len for the caller to
 * free; read back from len bytes at buf (borrowed until close). 0 or -errno. */
int cmn_ckpt_open_mem_write(struct cmn_ckpt *c, char **buf /* OUT */, size_t *len /* OUT */);
int cmn_ckpt_open_mem_read(struct cmn_ckpt *c, const void *buf, size_t len);

/* Rebuild an object through its own stream in memory: `out` writes it,
 * `clear` empties it, `in` reads it back (a module keeping only part of
 * itself: its export of that part, then its import). 0 or -errno / -EPROTO
 * (the object is then empty or partly read). */
int cmn_ckpt_rewrite(void *obj, void (*out)(void *obj, struct cmn_ckpt *c),
                     void (*clear)(void *obj), int (*in)(void *obj, struct cmn_ckpt *c));

/* Remove DIR/NAME and DIR/NAME.prev (the run they belonged to ended). */
void cmn_ckpt_remove(const char *dir, const char *name);

/* Bytes out / in; a reader fails (-EPROTO) on a short file. */
void cmn_ckpt_put(struct cmn_ckpt *c, const void *p, size_t n);
int cmn_ckpt_get(struct cmn_ckpt *c, void *p, size_t n);

static inline void cmn_ckpt_put_u64(struct cmn_ckpt *c, uint64_t v)
{
    cmn_ckpt_put(c, &v, sizeof(v));
}

/* A count read back, refused (-EPROTO, sticky) above `max`. */
static inline uint64_t cmn_ckpt_get_count(struct cmn_ckpt *c, uint64_t max)
{
    uint64_t v = 0;
    if (cmn_ckpt_get(c, &v, sizeof(v)) == 0 && v > max) {
        c->err = -71; /* EPROTO */
        v = 0;
    }
    return v;
}

#endif /* CMN_CKPT_H */
