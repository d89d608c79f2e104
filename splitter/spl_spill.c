/* SPDX-License-Identifier: MIT
 * spl_spill: see spl_spill.h. */
#include "spl_spill.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmn_file.h"
#include "cmn_log.h"

struct spl_spill {
    int fd;
    char path[PATH_MAX];
    uint64_t max_bytes;
    uint64_t wr;    /* file offset of the next append */
    uint64_t rd;    /* file offset of the oldest message */
    uint64_t count; /* messages between rd and wr */
    uint8_t *buf;   /* the peeked message */
    size_t cap;     /* bytes allocated at buf */
    size_t peeked;  /* bytes of the peeked message incl. its prefix; 0: none */
};

struct spl_spill *spl_spill_open(const char *dir, const char *name, uint64_t max_bytes)
{
    struct spl_spill *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    int n = snprintf(s->path, sizeof(s->path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(s->path)) {
        CMN_LOG(ERR, "spill file %s/%s: path too long", dir, name);
        free(s);
        return NULL;
    }
    struct stat st;
    if (lstat(s->path, &st) == 0) {
        CMN_LOG(WARN,
                "spill file %s (%lld bytes) left by a splitter that stopped: removed, what it "
                "held is lost (the trackers count the gap)",
                s->path, (long long)st.st_size);
        unlink(s->path);
    }
    s->fd = open(s->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (s->fd < 0) {
        CMN_LOG(ERR, "spill file %s: %s", s->path, strerror(errno));
        free(s);
        return NULL;
    }
    s->max_bytes = max_bytes;
    return s;
}

void spl_spill_close(struct spl_spill **sp)
{
    if (!sp || !*sp)
        return;
    struct spl_spill *s = *sp;
    close(s->fd);
    unlink(s->path);
    free(s->buf);
    free(s);
    *sp = NULL;
}

int spl_spill_push(struct spl_spill *s, const uint8_t *data, size_t len)
{
    if (len == 0 || len > UINT32_MAX - 1 || s->wr + 4 + len > s->max_bytes)
        return -ENOSPC;
    uint8_t hdr[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                      (uint8_t)(len >> 24)};
    if (cmn_file_pwrite_all(s->fd, hdr, 4, s->wr) != 0 ||
        cmn_file_pwrite_all(s->fd, data, len, s->wr + 4) != 0) {
        CMN_LOG(ERR, "spill file %s: write: %s", s->path, strerror(errno));
        return -EIO;
    }
    s->wr += 4 + len;
    s->count++;
    return 0;
}

int spl_spill_peek(struct spl_spill *s, const uint8_t **data, size_t *len)
{
    if (s->count == 0)
        return 0;
    if (!s->peeked) {
        uint8_t hdr[4];
        if (cmn_file_pread_all(s->fd, hdr, 4, s->rd) != 0)
            goto fail;
        size_t n =
            (size_t)hdr[0] | (size_t)hdr[1] << 8 | (size_t)hdr[2] << 16 | (size_t)hdr[3] << 24;
        if (n == 0 || s->rd + 4 + n > s->wr)
            goto fail;
        if (n > s->cap) {
            uint8_t *b = realloc(s->buf, n);
            if (!b)
                goto fail;
            s->buf = b;
            s->cap = n;
        }
        if (cmn_file_pread_all(s->fd, s->buf, n, s->rd + 4) != 0)
            goto fail;
        s->peeked = 4 + n;
    }
    *data = s->buf;
    *len = s->peeked - 4;
    return 1;
fail:
    CMN_LOG(ERR, "spill file %s: read at offset %llu failed", s->path, (unsigned long long)s->rd);
    return -EIO;
}

void spl_spill_pop(struct spl_spill *s)
{
    if (!s->peeked)
        return;
    s->rd += s->peeked;
    s->peeked = 0;
    s->count--;
    if (s->count == 0) { /* empty: give the disk back */
        s->rd = s->wr = 0;
        if (ftruncate(s->fd, 0) != 0)
            CMN_LOG(WARN, "spill file %s: truncate: %s", s->path, strerror(errno));
    }
}

void spl_spill_clear(struct spl_spill *s)
{
    s->rd = s->wr = 0;
    s->count = 0;
    s->peeked = 0;
    if (ftruncate(s->fd, 0) != 0)
        CMN_LOG(WARN, "spill file %s: truncate: %s", s->path, strerror(errno));
}

uint64_t spl_spill_count(const struct spl_spill *s)
{
    return s->count;
}

uint64_t spl_spill_bytes(const struct spl_spill *s)
{
    return s->wr - s->rd;
}
