/* SPDX-License-Identifier: MIT
 * spl_keep: see spl_keep.h. */
#define CMN_LOG_TAG "keep"
#include "spl_keep.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmn_file.h"
#include "cmn_log.h"
#include "cmn_wire.h"

#define KEEP_COMPACT_MIN (64ull << 20) /* dead front bytes before a compaction is considered */

struct entry {
    uint64_t off; /* file offset of its length prefix */
    uint32_t len; /* message bytes */
    uint8_t kind; /* enum spl_keep_kind */
    uint64_t tag; /* seq or epoch */
};

struct spl_keep {
    int fd;
    char path[PATH_MAX];
    uint64_t max_bytes;
    uint64_t wr;         /* file offset of the next append */
    struct entry *e;     /* live entries are e[head .. n) */
    size_t head, n, cap; /* first live, end, allocated */
    uint64_t dropped;    /* dropped for max_bytes */
    bool warned;         /* the current overflow is logged */
    uint8_t *buf;        /* the message spl_keep_get read */
    size_t bufcap;       /* bytes allocated at buf */
};

struct spl_keep *spl_keep_open(const char *dir, const char *name, uint64_t max_bytes)
{
    struct spl_keep *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    int n = snprintf(k->path, sizeof(k->path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(k->path)) {
        CMN_LOG(ERR, "keep log %s/%s: path too long", dir, name);
        free(k);
        return NULL;
    }
    struct stat st;
    if (lstat(k->path, &st) == 0) {
        CMN_LOG(WARN, "keep log %s (%lld bytes) left by a splitter that stopped: removed", k->path,
                (long long)st.st_size);
        unlink(k->path);
    }
    k->fd = open(k->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (k->fd < 0) {
        CMN_LOG(ERR, "keep log %s: %s", k->path, strerror(errno));
        free(k);
        return NULL;
    }
    k->max_bytes = max_bytes;
    return k;
}

struct spl_keep *spl_keep_resume(const char *dir, const char *name, uint64_t max_bytes, bool last,
                                 enum spl_keep_kind want_kind, uint64_t want_tag)
{
    struct spl_keep *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    snprintf(k->path, sizeof(k->path), "%s/%s", dir, name);
    k->fd = open(k->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (k->fd < 0) {
        CMN_LOG(ERR, "keep log %s: %s", k->path, strerror(errno));
        free(k);
        return NULL;
    }
    k->max_bytes = max_bytes;
    struct stat st;
    uint64_t size = fstat(k->fd, &st) == 0 ? (uint64_t)st.st_size : 0, off = 0;
    size_t cut = SIZE_MAX; /* entries kept: through the last (want_kind, want_tag) */
    while (off + 4 <= size) {
        uint8_t hdr[4];
        if (cmn_file_pread_all(k->fd, hdr, 4, off) != 0)
            break;
        size_t len =
            (size_t)hdr[0] | (size_t)hdr[1] << 8 | (size_t)hdr[2] << 16 | (size_t)hdr[3] << 24;
        if (len == 0 || off + 4 + len > size)
            break; /* torn */
        if (len > k->bufcap) {
            uint8_t *b = realloc(k->buf, len);
            if (!b)
                break;
            k->buf = b;
            k->bufcap = len;
        }
        if (cmn_file_pread_all(k->fd, k->buf, len, off + 4) != 0)
            break;
        struct cmn_wire_msg m;
        if (cmn_wire_decode_msg(k->buf, len, &m) != 0)
            break;
        enum spl_keep_kind kind = SPL_KEEP_OTHER;
        uint64_t tag = 0;
        if (m.is_batch) {
            kind = SPL_KEEP_BATCH;
            tag = m.batch.seq;
        } else if (m.env->body_case == RENKEI__ENVELOPE__BODY_FLUSH) {
            kind = SPL_KEEP_FLUSH;
            tag = m.env->flush->epoch;
        } else if (m.env->body_case == RENKEI__ENVELOPE__BODY_SHARD_MAP) {
            kind = SPL_KEEP_MAP;
            tag = m.env->shard_map->version;
        }
        cmn_wire_msg_close(&m);
        if (k->n == k->cap) {
            size_t cap = k->cap ? 2 * k->cap : 1024;
            struct entry *e = realloc(k->e, cap * sizeof(*e));
            if (!e)
                break;
            k->e = e;
            k->cap = cap;
        }
        k->e[k->n++] = (struct entry){off, (uint32_t)len, (uint8_t)kind, tag};
        off += 4 + len;
        if (last && kind == want_kind && tag == want_tag)
            cut = k->n;
    }
    /* not found: released past it (or the run's start: nothing was kept) */
    k->n = cut == SIZE_MAX ? 0 : cut;
    k->wr = k->n ? k->e[k->n - 1].off + 4 + k->e[k->n - 1].len : 0;
    if (ftruncate(k->fd, (off_t)k->wr) != 0)
        CMN_LOG(WARN, "keep log %s: truncate: %s", k->path, strerror(errno));
    CMN_LOG(NOTICE,
            "keep log %s: %zu messages kept from the splitter before (%" PRIu64
            " bytes cut: made anew)",
            k->path, k->n, size - k->wr);
    return k;
}

void spl_keep_close(struct spl_keep **kp)
{
    spl_keep_leave(kp, true);
}

void spl_keep_leave(struct spl_keep **kp, bool remove)
{
    if (!kp || !*kp)
        return;
    struct spl_keep *k = *kp;
    close(k->fd);
    if (remove)
        unlink(k->path);
    free(k->e);
    free(k->buf);
    free(k);
    *kp = NULL;
}

bool spl_keep_last(const struct spl_keep *k, enum spl_keep_kind *kind, uint64_t *tag)
{
    if (k->n == k->head)
        return false;
    *kind = (enum spl_keep_kind)k->e[k->n - 1].kind;
    *tag = k->e[k->n - 1].tag;
    return true;
}

uint64_t spl_keep_bytes(const struct spl_keep *k)
{
    return k->head < k->n ? k->wr - k->e[k->head].off : 0;
}

size_t spl_keep_count(const struct spl_keep *k)
{
    return k->n - k->head;
}

uint64_t spl_keep_dropped(const struct spl_keep *k)
{
    return k->dropped;
}

void spl_keep_clear(struct spl_keep *k)
{
    k->head = k->n = 0;
    k->wr = 0;
    if (ftruncate(k->fd, 0) != 0)
        CMN_LOG(WARN, "keep log %s: truncate: %s", k->path, strerror(errno));
}

/* Give back the released front: empty file, or the live rest copied to a
 * new file once the dead front outweighs it. */
static void s_compact(struct spl_keep *k)
{
    if (k->head == k->n) {
        spl_keep_clear(k);
        return;
    }
    uint64_t dead = k->e[k->head].off, live = k->wr - dead;
    if (dead < KEEP_COMPACT_MIN || dead < live)
        return;
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.new", k->path);
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    uint8_t *b = malloc(1 << 20);
    uint64_t done = 0;
    while (fd >= 0 && b && done < live) {
        size_t step = live - done < (1u << 20) ? (size_t)(live - done) : (1u << 20);
        if (cmn_file_pread_all(k->fd, b, step, dead + done) ||
            cmn_file_pwrite_all(fd, b, step, done))
            break;
        done += step;
    }
    free(b);
    if (done < live || rename(tmp, k->path) != 0) { /* keep the old file: nothing lost */
        CMN_LOG(WARN, "keep log %s: compaction failed: %s", k->path, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
        return;
    }
    close(k->fd);
    k->fd = fd;
    memmove(k->e, k->e + k->head, (k->n - k->head) * sizeof(*k->e));
    k->n -= k->head;
    k->head = 0;
    for (size_t i = 0; i < k->n; i++)
        k->e[i].off -= dead;
    k->wr = live;
}

int spl_keep_append(struct spl_keep *k, const uint8_t *data, size_t len, enum spl_keep_kind kind,
                    uint64_t tag)
{
    if (len == 0 || len > UINT32_MAX - 1)
        return -EINVAL;
    while (k->head < k->n && spl_keep_bytes(k) + 4 + len > k->max_bytes) {
        if (!k->warned)
            CMN_LOG(WARN,
                    "keep log %s full (%" PRIu64 " bytes): dropping its oldest messages (a "
                    "tracker restarting now misses them; it counts the gap)",
                    k->path, k->max_bytes);
        k->warned = true;
        k->head++;
        k->dropped++;
    }
    if (k->head == k->n)
        s_compact(k);
    if (k->n == k->cap) {
        if (k->head > 0) { /* slide the live entries down before growing */
            memmove(k->e, k->e + k->head, (k->n - k->head) * sizeof(*k->e));
            k->n -= k->head;
            k->head = 0;
        }
        if (k->n == k->cap) {
            size_t cap = k->cap ? 2 * k->cap : 1024;
            struct entry *e = realloc(k->e, cap * sizeof(*e));
            if (!e)
                return -ENOMEM;
            k->e = e;
            k->cap = cap;
        }
    }
    uint8_t hdr[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                      (uint8_t)(len >> 24)};
    if (cmn_file_pwrite_all(k->fd, hdr, 4, k->wr) != 0 ||
        cmn_file_pwrite_all(k->fd, data, len, k->wr + 4) != 0) {
        CMN_LOG(ERR, "keep log %s: write: %s", k->path, strerror(errno));
        return -EIO;
    }
    k->e[k->n++] = (struct entry){k->wr, (uint32_t)len, (uint8_t)kind, tag};
    k->wr += 4 + len;
    return 0;
}

void spl_keep_unappend(struct spl_keep *k)
{
    if (k->n == k->head)
        return;
    k->n--;
    k->wr = k->e[k->n].off;
}

uint64_t spl_keep_release(struct spl_keep *k, uint64_t epoch)
{
    size_t at = spl_keep_after(k, true, epoch);
    if (at == 0)
        return 0;
    k->head += at;
    k->warned = false;
    s_compact(k);
    return at;
}

size_t spl_keep_after(const struct spl_keep *k, bool any_epoch, uint64_t epoch)
{
    if (!any_epoch)
        return 0;
    for (size_t i = k->n; i-- > k->head;) /* the flush is usually near the front */
        if (k->e[i].kind == SPL_KEEP_FLUSH && k->e[i].tag == epoch)
            return i + 1 - k->head;
    return 0;
}

int spl_keep_get(struct spl_keep *k, size_t i, const uint8_t **data, size_t *len,
                 enum spl_keep_kind *kind, uint64_t *tag)
{
    if (i >= k->n - k->head)
        return 0;
    const struct entry *e = &k->e[k->head + i];
    if (e->len > k->bufcap) {
        uint8_t *b = realloc(k->buf, e->len);
        if (!b)
            return -ENOMEM;
        k->buf = b;
        k->bufcap = e->len;
    }
    if (cmn_file_pread_all(k->fd, k->buf, e->len, e->off + 4) != 0) {
        CMN_LOG(ERR, "keep log %s: read at offset %llu failed", k->path,
                (unsigned long long)e->off);
        return -EIO;
    }
    *data = k->buf;
    *len = e->len;
    *kind = (enum spl_keep_kind)e->kind;
    *tag = e->tag;
    return 1;
}
