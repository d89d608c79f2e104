/* SPDX-License-Identifier: MIT
 * cmn_file: regular files only (see cmn_file.h). The checks are on the open
 * descriptor (fstat), so a file swapped between check and read changes
 * nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmn_file.h"

/* What a non-regular file is, for the message. */
static const char *s_kind(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a regular file";
}

/* 0 when `st` is a regular file, else -errno with the message in err. */
static int s_regular(const struct stat *st, const char *path, const char *what, char *err,
                     size_t errlen)
{
    if (S_ISREG(st->st_mode))
        return 0;
    if (err && errlen)
        snprintf(err, errlen, "%s %s: is %s, not a regular file", what, path, s_kind(st->st_mode));
    return S_ISDIR(st->st_mode) ? -EISDIR : -EINVAL;
}

FILE *cmn_file_open(const char *path, const char *what, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        if (err && errlen)
            snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
        errno = e;
        return NULL;
    }
    struct stat st;
    int rc = fstat(fd, &st) != 0 ? -errno : s_regular(&st, path, what, err, errlen);
    if (rc == 0) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
            rc = -errno;
    }
    FILE *f = rc == 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        if (rc == 0)
            rc = -errno;
        if (rc != -EISDIR && rc != -EINVAL && err && errlen)
            snprintf(err, errlen, "%s %s: %s", what, path, strerror(-rc));
        close(fd);
        errno = -rc;
        return NULL;
    }
    return f;
}

int cmn_file_check(const char *path, const char *what, char *err, size_t errlen)
{
    FILE *f = cmn_file_open(path, what, err, errlen);
    if (!f)
        return -errno;
    fclose(f);
    return 0;
}

char *cmn_file_read(const char *path, const char *what, size_t max, size_t *len, char *err,
                    size_t errlen)
{
    *len = 0;
    FILE *f = cmn_file_open(path, what, err, errlen);
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf)
        abort();
    for (;;) {
        if (n == cap) {
            if (cap > max)
                break;
            cap *= 2;
            buf = realloc(buf, cap + 1);
            if (!buf)
                abort();
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    int e = ferror(f) ? errno : n > max ? EFBIG : 0;
    fclose(f);
    if (e) {
        free(buf);
        if (err && errlen)
            snprintf(err, errlen, "%s %s: %s", what, path,
                     e == EFBIG ? "file too large" : strerror(e));
        errno = e;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

int cmn_file_pread_all(int fd, void *buf, size_t n, uint64_t off)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EIO;
            return -1;
        }
        p += r, n -= (size_t)r, off += (uint64_t)r;
    }
    return 0;
}

int cmn_file_pwrite_all(int fd, const void *buf, size_t n, uint64_t off)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w, n -= (size_t)w, off += (uint64_t)w;
    }
    return 0;
}
