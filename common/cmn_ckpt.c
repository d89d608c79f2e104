/* SPDX-License-Identifier: MIT
 * cmn_ckpt: see cmn_ckpt.h. The checksum chains cmn_hash_bytes over each
 * piece as written, so reader and writer agree however the pieces are cut
 * as long as they are cut the same way (each module reads what it wrote). */
#define CMN_LOG_TAG "checkpoint"
#include "cmn_ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmn_hash.h"
#include "cmn_log.h"

#define CKPT_SEED 0x72656e6b6569636bull /* "renkeick" */

static int s_paths(struct cmn_ckpt *c, const char *dir, const char *name)
{
    memset(c, 0, sizeof(*c));
    c->sum = CKPT_SEED;
    int n = snprintf(c->path, sizeof(c->path), "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof(c->path)) {
        CMN_LOG(ERR, "checkpoint %s/%s: path too long", dir, name);
        return -ENAMETOOLONG;
    }
    snprintf(c->tmp, sizeof(c->tmp), "%s.tmp", c->path);
    return 0;
}

int cmn_ckpt_open_write(struct cmn_ckpt *c, const char *dir, const char *name)
{
    int rc = s_paths(c, dir, name);
    if (rc)
        return rc;
    int fd = open(c->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || !(c->f = fdopen(fd, "wb"))) {
        rc = -errno;
        CMN_LOG(ERR, "checkpoint %s: %s", c->tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    setvbuf(c->f, NULL, _IOFBF, 1 << 20);
    return 0;
}

int cmn_ckpt_open_mem_write(struct cmn_ckpt *c, char **buf, size_t *len)
{
    memset(c, 0, sizeof(*c));
    c->sum = CKPT_SEED;
    c->mem = true;
    *buf = NULL;
    *len = 0;
    if (!(c->f = open_memstream(buf, len)))
        return c->err = -errno;
    return 0;
}

int cmn_ckpt_open_mem_read(struct cmn_ckpt *c, const void *buf, size_t len)
{
    memset(c, 0, sizeof(*c));
    c->sum = CKPT_SEED;
    c->mem = true;
    if (len == 0 || !(c->f = fmemopen((void *)(uintptr_t)buf, len, "rb")))
        return c->err = len == 0 ? -EPROTO : -errno;
    return 0;
}

int cmn_ckpt_rewrite(void *obj, void (*out)(void *obj, struct cmn_ckpt *c),
                     void (*clear)(void *obj), int (*in)(void *obj, struct cmn_ckpt *c))
{
    char *buf = NULL;
    size_t len = 0;
    struct cmn_ckpt c;
    int rc = cmn_ckpt_open_mem_write(&c, &buf, &len);
    if (rc == 0) {
        out(obj, &c);
        rc = cmn_ckpt_close_write(&c);
    }
    if (rc == 0) {
        clear(obj);
        rc = cmn_ckpt_open_mem_read(&c, buf, len);
        if (rc == 0) {
            (void)in(obj, &c);
            rc = cmn_ckpt_close_read(&c);
        }
    }
    free(buf);
    return rc;
}

static void s_sum(struct cmn_ckpt *c, const void *p, size_t n)
{
    c->sum = cmn_hash_mix(c->sum ^ cmn_hash_bytes(p, n, c->sum), CMN_HASH_K1) ^ n;
}

void cmn_ckpt_put(struct cmn_ckpt *c, const void *p, size_t n)
{
    if (c->err || n == 0)
        return;
    s_sum(c, p, n);
    if (fwrite(p, 1, n, c->f) != n)
        c->err = -(errno ? errno : EIO);
}

int cmn_ckpt_get(struct cmn_ckpt *c, void *p, size_t n)
{
    if (c->err)
        return c->err;
    if (n == 0)
        return 0;
    if (fread(p, 1, n, c->f) != n) {
        c->err = ferror(c->f) ? -EIO : -EPROTO;
        return c->err;
    }
    s_sum(c, p, n);
    return 0;
}

int cmn_ckpt_close_write(struct cmn_ckpt *c)
{
    if (!c->f)
        return c->err ? c->err : -EBADF;
    uint64_t sum = c->sum;
    if (!c->err && fwrite(&sum, 1, sizeof(sum), c->f) != sizeof(sum))
        c->err = -EIO;
    if (!c->err && fflush(c->f) != 0)
        c->err = -errno;
    if (c->mem) { /* the buffer is the caller's */
        if (fclose(c->f) != 0 && !c->err)
            c->err = -errno;
        c->f = NULL;
        return c->err;
    }
    if (!c->err && fsync(fileno(c->f)) != 0)
        c->err = -errno;
    if (fclose(c->f) != 0 && !c->err)
        c->err = -errno;
    c->f = NULL;
    char prev[sizeof(c->path) + 8];
    snprintf(prev, sizeof(prev), "%s.prev", c->path);
    if (!c->err && rename(c->path, prev) != 0 && errno != ENOENT)
        c->err = -errno;
    if (!c->err && rename(c->tmp, c->path) != 0)
        c->err = -errno;
    if (c->err) {
        CMN_LOG(ERR, "checkpoint %s not written: %s (the previous one stays)", c->path,
                strerror(-c->err));
        unlink(c->tmp);
        return c->err;
    }
    char dir[sizeof(c->path)];
    snprintf(dir, sizeof(dir), "%s", c->path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        int dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    return 0;
}

int cmn_ckpt_open_read(struct cmn_ckpt *c, const char *dir, const char *name)
{
    int rc = s_paths(c, dir, name);
    if (rc)
        return rc;
    c->f = fopen(c->path, "rbe");
    if (!c->f) {
        if (errno == ENOENT)
            return 0;
        rc = -errno;
        CMN_LOG(ERR, "checkpoint %s: %s", c->path, strerror(errno));
        return rc;
    }
    setvbuf(c->f, NULL, _IOFBF, 1 << 20);
    return 1;
}

int cmn_ckpt_close_read(struct cmn_ckpt *c)
{
    if (!c->f)
        return c->err ? c->err : -EBADF;
    uint64_t want = c->sum, got = 0;
    if (!c->err && fread(&got, 1, sizeof(got), c->f) != sizeof(got))
        c->err = -EPROTO;
    if (!c->err && (got != want || fgetc(c->f) != EOF))
        c->err = -EPROTO;
    fclose(c->f);
    c->f = NULL;
    return c->err;
}

void cmn_ckpt_remove(const char *dir, const char *name)
{
    char path[600];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof(path), "%s/%s%s", dir, name, i ? ".prev" : "");
        if (unlink(path) != 0 && errno != ENOENT)
            CMN_LOG(WARN, "checkpoint %s: remove: %s", path, strerror(errno));
    }
}
