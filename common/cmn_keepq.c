/* SPDX-License-Identifier: MIT
 * cmn_keepq: see cmn_keepq.h. */
#define CMN_LOG_TAG "keepq"
#include "cmn_keepq.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmn_ckpt.h"
#include "cmn_file.h"
#include "cmn_log.h"

#define KEEPQ_COMPACT_MIN (64ull << 20) /* dead file bytes before a compaction is considered */
#define KEEPQ_MAX_MSG     (1ull << 31)
#define KEEPQ_IN_MEMORY   UINT64_MAX            /* entry.off of a message held in memory */
#define KEEPQ_MAGIC       0x3151504b5045454bull /* "KEEPKPQ1" */

struct entry {
    uint64_t tag[3];
    uint64_t off; /* offset in the current spill file, or KEEPQ_IN_MEMORY */
    uint64_t len; /* bytes */
    uint8_t *mem; /* the bytes, in memory */
};

struct cmn_keepq {
    char dir[PATH_MAX / 2];
    char name[256];
    bool disk, durable;
    uint64_t mem_cap, disk_cap;
    struct entry *e;     /* live entries e[head .. n) */
    size_t head, n, cap; /* first live, end, allocated */
    uint64_t mem_bytes;  /* bytes of live entries in memory */
    uint64_t file_live;  /* bytes of live entries in the file */
    int fd;              /* current spill file, -1: none */
    uint64_t gen;        /* its generation */
    uint64_t wr;         /* its size (next append) */
    uint64_t next_gen;   /* generation of the next file */
    uint64_t *gens;      /* durable: generations on disk */
    size_t ngens, capgens;
    uint64_t hist[2];  /* durable: generation each of the last two saves refers to (0: none) */
    bool histv[2];     /* hist[i] known */
    uint64_t save_gen; /* what the save in progress refers to */
    uint8_t *buf;      /* a message read back from the file */
    size_t bufcap;
    struct cmn_keepq_stats st;
};

static void s_path(const struct cmn_keepq *q, uint64_t gen, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s.%" PRIu64, q->dir, q->name, gen);
}

static void s_gen_add(struct cmn_keepq *q, uint64_t gen)
{
    for (size_t i = 0; i < q->ngens; i++)
        if (q->gens[i] == gen)
            return;
    if (q->ngens == q->capgens) {
        q->capgens = q->capgens ? 2 * q->capgens : 8;
        q->gens = realloc(q->gens, q->capgens * sizeof(*q->gens));
        if (!q->gens)
            abort();
    }
    q->gens[q->ngens++] = gen;
    if (gen >= q->next_gen)
        q->next_gen = gen + 1;
}

/* Durable: note DIR/NAME.<digits> already there. */
static void s_scan(struct cmn_keepq *q)
{
    DIR *d = opendir(q->dir);
    if (!d)
        return;
    size_t nl = strlen(q->name);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *s = de->d_name;
        if (strncmp(s, q->name, nl) != 0 || s[nl] != '.' || !s[nl + 1])
            continue;
        char *end;
        errno = 0;
        unsigned long long g = strtoull(s + nl + 1, &end, 10);
        if (*end || errno || g == 0 || s[nl + 1] < '0' || s[nl + 1] > '9')
            continue;
        s_gen_add(q, g);
    }
    closedir(d);
}

struct cmn_keepq *cmn_keepq_new(const char *dir, const char *name, uint64_t mem_cap,
                                uint64_t disk_cap, bool durable)
{
    if (!name || !*name || strchr(name, '/') || strlen(name) >= 200 ||
        (dir && strlen(dir) >= PATH_MAX / 2 - 1) || (durable && !dir)) {
        CMN_LOG(ERR, "keep queue %s: a bad name or directory", name ? name : "(none)");
        return NULL;
    }
    struct cmn_keepq *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    if (dir)
        snprintf(q->dir, sizeof(q->dir), "%s", dir);
    snprintf(q->name, sizeof(q->name), "%s", name);
    q->disk = dir != NULL;
    q->durable = durable;
    q->mem_cap = mem_cap;
    q->disk_cap = disk_cap;
    q->fd = -1;
    q->next_gen = 1;
    if (durable)
        s_scan(q);
    return q;
}

static void s_free_entries(struct cmn_keepq *q)
{
    for (size_t i = q->head; i < q->n; i++)
        free(q->e[i].mem);
    q->head = q->n = 0;
    q->mem_bytes = q->file_live = 0;
}

static void s_close_file(struct cmn_keepq *q)
{
    if (q->fd >= 0)
        close(q->fd);
    q->fd = -1;
    q->wr = 0;
}

void cmn_keepq_destroy(struct cmn_keepq **qp)
{
    struct cmn_keepq *q = qp ? *qp : NULL;
    if (!q)
        return;
    s_free_entries(q);
    s_close_file(q);
    free(q->e);
    free(q->gens);
    free(q->buf);
    free(q);
    *qp = NULL;
}

/* A new, empty spill file as the current one. 0 or -EIO (logged). */
static int s_open_new(struct cmn_keepq *q, int *fd_out, uint64_t *gen_out)
{
    char p[PATH_MAX];
    uint64_t gen = q->next_gen++;
    s_path(q, gen, p, sizeof(p));
    int fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        q->st.spill_errors++;
        CMN_LOG(ERR, "spill file %s: %s", p, strerror(errno));
        return -EIO;
    }
    if (q->durable)
        s_gen_add(q, gen);
    else
        (void)unlink(p); /* lives as long as the descriptor */
    *fd_out = fd;
    *gen_out = gen;
    return 0;
}

/* Copy the live file entries into a new file (their offsets move). */
static void s_compact(struct cmn_keepq *q)
{
    int fd;
    uint64_t gen, wr = 0;
    if (s_open_new(q, &fd, &gen) != 0)
        return;
    uint64_t *off = malloc((q->n - q->head + 1) * sizeof(*off));
    bool ok = off != NULL;
    for (size_t i = q->head; ok && i < q->n; i++) {
        struct entry *e = &q->e[i];
        if (e->off == KEEPQ_IN_MEMORY)
            continue;
        const uint8_t *d;
        size_t len;
        ok = cmn_keepq_get(q, i - q->head, &d, &len) == 0 &&
             cmn_file_pwrite_all(fd, d, len, wr) == 0;
        off[i - q->head] = wr;
        wr += len;
    }
    if (!ok) {
        q->st.spill_errors++;
        CMN_LOG(ERR, "spill file %s/%s.%" PRIu64 ": copy failed: %s", q->dir, q->name, gen,
                strerror(errno));
        close(fd);
        free(off);
        return; /* the old file stays current */
    }
    for (size_t i = q->head; i < q->n; i++)
        if (q->e[i].off != KEEPQ_IN_MEMORY)
            q->e[i].off = off[i - q->head];
    free(off);
    s_close_file(q);
    q->fd = fd;
    q->gen = gen;
    q->wr = wr;
    q->st.compactions++;
}

/* Give the file's dead space back when worth it. */
static void s_reclaim(struct cmn_keepq *q)
{
    if (q->fd < 0)
        return;
    if (q->file_live == 0) {
        s_close_file(q); /* the next spill starts a new file */
        return;
    }
    uint64_t dead = q->wr - q->file_live;
    if (dead > KEEPQ_COMPACT_MIN && dead > q->file_live)
        s_compact(q);
}

static void s_drop(struct cmn_keepq *q, struct entry *e)
{
    if (e->off == KEEPQ_IN_MEMORY) {
        q->mem_bytes -= e->len;
        free(e->mem);
    } else {
        q->file_live -= e->len;
    }
    e->mem = NULL;
}

static void s_append_entry(struct cmn_keepq *q, const struct entry *e)
{
    if (q->n == q->cap) {
        if (q->head > 0) { /* slide the live ones down first */
            memmove(q->e, q->e + q->head, (q->n - q->head) * sizeof(*q->e));
            q->n -= q->head;
            q->head = 0;
        }
        if (q->n == q->cap) {
            q->cap = q->cap ? 2 * q->cap : 64;
            q->e = realloc(q->e, q->cap * sizeof(*q->e));
            if (!q->e)
                abort();
        }
    }
    q->e[q->n++] = *e;
}

/* Keep the bytes: in memory (`mem`: malloc'ed bytes to take; NULL: copy
 * `data` when they go to memory) or in the file. */
static int s_push(struct cmn_keepq *q, const uint8_t *data, uint8_t *mem, size_t len,
                  const uint64_t tag[3])
{
    struct entry e = {.tag = {tag[0], tag[1], tag[2]}, .len = len};
    if (len == 0 || len > KEEPQ_MAX_MSG) {
        q->st.refused++;
        return -EINVAL;
    }
    if (q->mem_bytes + len <= q->mem_cap) {
        e.off = KEEPQ_IN_MEMORY;
        e.mem = mem;
        if (!e.mem) {
            if (!(e.mem = malloc(len)))
                abort();
            memcpy(e.mem, data, len);
        }
        q->mem_bytes += len;
        s_append_entry(q, &e);
        return 1; /* taken */
    }
    int rc = -ENOSPC;
    if (q->disk && q->fd >= 0 && q->wr + len > q->disk_cap && q->file_live + len <= q->disk_cap)
        s_compact(q);
    if (q->disk && (q->fd >= 0 ? q->wr : 0) + len <= q->disk_cap) {
        rc = 0;
        if (q->fd < 0)
            rc = s_open_new(q, &q->fd, &q->gen);
        if (rc == 0 && cmn_file_pwrite_all(q->fd, data, len, q->wr) != 0) {
            q->st.spill_errors++;
            CMN_LOG(ERR, "spill file %s/%s.%" PRIu64 ": %s", q->dir, q->name, q->gen,
                    strerror(errno));
            (void)!ftruncate(q->fd, (off_t)q->wr); /* a torn tail is no message */
            rc = -EIO;
        }
        if (rc == 0) {
            e.off = q->wr;
            q->wr += len;
            q->file_live += len;
            q->st.spilled++;
            q->st.spilled_bytes += len;
            s_append_entry(q, &e);
        }
    }
    if (rc != 0)
        q->st.refused++;
    return rc;
}

int cmn_keepq_push(struct cmn_keepq *q, const uint8_t *data, size_t len, const uint64_t tag[3])
{
    int rc = s_push(q, data, NULL, len, tag);
    return rc > 0 ? 0 : rc;
}

int cmn_keepq_push_owned(struct cmn_keepq *q, uint8_t *data, size_t len, const uint64_t tag[3])
{
    int rc = s_push(q, data, data, len, tag);
    if (rc == 1)
        return 0;
    free(data); /* written to the file, or refused */
    return rc;
}

size_t cmn_keepq_count(const struct cmn_keepq *q)
{
    return q->n - q->head;
}

const uint64_t *cmn_keepq_tag(const struct cmn_keepq *q, size_t i)
{
    return q->e[q->head + i].tag;
}

int cmn_keepq_get(struct cmn_keepq *q, size_t i, const uint8_t **data, size_t *len)
{
    const struct entry *e = &q->e[q->head + i];
    *len = e->len;
    if (e->off == KEEPQ_IN_MEMORY) {
        *data = e->mem;
        return 0;
    }
    if (e->len > q->bufcap) {
        free(q->buf);
        q->bufcap = e->len;
        if (!(q->buf = malloc(q->bufcap)))
            abort();
    }
    if (cmn_file_pread_all(q->fd, q->buf, e->len, e->off) != 0) {
        q->st.spill_errors++;
        CMN_LOG(ERR, "spill file %s/%s.%" PRIu64 ": read at %" PRIu64 ": %s", q->dir, q->name,
                q->gen, e->off, strerror(errno));
        return -EIO;
    }
    *data = q->buf;
    return 0;
}

void cmn_keepq_pop(struct cmn_keepq *q)
{
    if (q->head == q->n)
        return;
    s_drop(q, &q->e[q->head++]);
    if (q->head == q->n)
        q->head = q->n = 0;
    s_reclaim(q);
}

size_t cmn_keepq_remove_if(struct cmn_keepq *q, bool (*done)(const uint64_t tag[3], void *arg),
                           void *arg)
{
    size_t k = q->head, dropped = 0;
    for (size_t i = q->head; i < q->n; i++) {
        if (done(q->e[i].tag, arg)) {
            s_drop(q, &q->e[i]);
            dropped++;
        } else {
            q->e[k++] = q->e[i];
        }
    }
    q->n = k;
    if (q->head == q->n)
        q->head = q->n = 0;
    if (dropped)
        s_reclaim(q);
    return dropped;
}

void cmn_keepq_clear(struct cmn_keepq *q)
{
    s_free_entries(q);
    s_close_file(q);
}

void cmn_keepq_save(struct cmn_keepq *q, struct cmn_ckpt *c)
{
    bool in_file = q->file_live > 0 && q->fd >= 0;
    if (in_file && fdatasync(q->fd) != 0) {
        q->st.spill_errors++;
        CMN_LOG(ERR, "spill file %s/%s.%" PRIu64 ": sync: %s", q->dir, q->name, q->gen,
                strerror(errno));
        if (!c->err)
            c->err = -EIO;
    }
    q->save_gen = in_file ? q->gen : 0;
    uint64_t hd[4] = {KEEPQ_MAGIC, q->save_gen, in_file ? q->wr : 0, cmn_keepq_count(q)};
    cmn_ckpt_put(c, hd, sizeof(hd));
    for (size_t i = q->head; i < q->n; i++) {
        const struct entry *e = &q->e[i];
        uint64_t w[5] = {e->tag[0], e->tag[1], e->tag[2], e->off, e->len};
        cmn_ckpt_put(c, w, sizeof(w));
        if (e->off == KEEPQ_IN_MEMORY)
            cmn_ckpt_put(c, e->mem, e->len);
    }
}

void cmn_keepq_saved(struct cmn_keepq *q)
{
    q->hist[1] = q->hist[0];
    q->histv[1] = q->histv[0];
    q->hist[0] = q->save_gen;
    q->histv[0] = true;
    if (!q->histv[1])
        return;
    size_t k = 0;
    for (size_t i = 0; i < q->ngens; i++) {
        uint64_t g = q->gens[i];
        if (g == q->hist[0] || g == q->hist[1] || (q->fd >= 0 && g == q->gen)) {
            q->gens[k++] = g;
            continue;
        }
        char p[PATH_MAX];
        s_path(q, g, p, sizeof(p));
        if (unlink(p) != 0 && errno != ENOENT)
            CMN_LOG(WARN, "spill file %s: unlink: %s", p, strerror(errno));
    }
    q->ngens = k;
}

int cmn_keepq_load(struct cmn_keepq *q, struct cmn_ckpt *c)
{
    cmn_keepq_clear(q);
    uint64_t hd[4];
    if (cmn_ckpt_get(c, hd, sizeof(hd)) != 0 || hd[0] != KEEPQ_MAGIC || hd[3] > UINT32_MAX ||
        (hd[1] == 0) != (hd[2] == 0))
        goto bad;
    for (uint64_t i = 0; i < hd[3]; i++) {
        uint64_t w[5];
        if (cmn_ckpt_get(c, w, sizeof(w)) != 0 || w[4] == 0 || w[4] > KEEPQ_MAX_MSG)
            goto bad;
        struct entry e = {.tag = {w[0], w[1], w[2]}, .off = w[3], .len = w[4]};
        if (e.off == KEEPQ_IN_MEMORY) {
            if (!(e.mem = malloc(e.len)))
                abort();
            if (cmn_ckpt_get(c, e.mem, e.len) != 0) {
                free(e.mem);
                goto bad;
            }
            q->mem_bytes += e.len;
        } else {
            if (hd[1] == 0 || e.off > hd[2] || e.len > hd[2] - e.off)
                goto bad;
            q->file_live += e.len;
        }
        s_append_entry(q, &e);
    }
    if (hd[1]) {
        char p[PATH_MAX];
        s_path(q, hd[1], p, sizeof(p));
        int fd = open(p, O_RDWR | O_CLOEXEC);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) != 0 || (uint64_t)sb.st_size < hd[2] ||
            ftruncate(fd, (off_t)hd[2]) != 0) {
            CMN_LOG(ERR, "spill file %s: %s", p,
                    fd < 0 ? strerror(errno) : "shorter than its checkpoint says");
            if (fd >= 0)
                close(fd);
            if (!c->err)
                c->err = -EPROTO;
            goto bad;
        }
        q->fd = fd;
        q->gen = hd[1];
        q->wr = hd[2];
        s_gen_add(q, hd[1]);
    }
    q->hist[0] = hd[1];
    q->histv[0] = true;
    q->histv[1] = false; /* what the checkpoint before it refers to is not known */
    return 0;
bad:
    if (!c->err)
        c->err = -EPROTO;
    cmn_keepq_clear(q);
    return c->err;
}

void cmn_keepq_remove_files(struct cmn_keepq *q)
{
    for (size_t i = 0; i < q->ngens; i++) {
        char p[PATH_MAX];
        s_path(q, q->gens[i], p, sizeof(p));
        (void)unlink(p);
    }
    q->ngens = 0;
    q->histv[0] = q->histv[1] = false;
}

void cmn_keepq_stats(const struct cmn_keepq *q, struct cmn_keepq_stats *st)
{
    *st = q->st;
    st->messages = cmn_keepq_count(q);
    st->bytes = q->mem_bytes + q->file_live;
    st->mem_bytes = q->mem_bytes;
    st->file_bytes = q->fd >= 0 ? q->wr : 0;
}
