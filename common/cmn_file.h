/* SPDX-License-Identifier: MIT
 * cmn_file: opening the files a user names (configs, captures, hosts,
 * services, sites). Only regular files are accepted: a FIFO would block the
 * open or the read forever, a device such as /dev/zero never ends, and a
 * directory reads as empty. Each is refused with a message naming the file.
 * The open itself never blocks (O_NONBLOCK, cleared once the file is known
 * to be regular).
 */
#ifndef CMN_FILE_H
#define CMN_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Open `path` for reading if it is a regular file. Returns the stream, or
 * NULL with errno set (EISDIR for a directory, EINVAL for a FIFO, socket or
 * device, else open's errno) and "WHAT PATH: why" in err (may be NULL). */
FILE *cmn_file_open(const char *path, const char *what, char *err /* OUT */, size_t errlen);

/* As cmn_file_open, without opening: 0 when `path` is a readable regular
 * file, else a negative errno and the message in err. */
int cmn_file_check(const char *path, const char *what, char *err /* OUT */, size_t errlen);

/* Read all of a regular file of at most `max` bytes into a NUL-terminated
 * buffer (the caller frees it), its length in *len. NULL with errno and err
 * set when cmn_file_open refuses it, when it is larger (EFBIG) or unreadable. */
char *cmn_file_read(const char *path, const char *what, size_t max, size_t *len /* OUT */,
                    char *err /* OUT */, size_t errlen);

/* pread / pwrite of exactly n bytes at `off`, retrying short and
 * interrupted calls: 0, or -1 with errno set (0 at the end of the file for
 * a read: EIO). */
int cmn_file_pread_all(int fd, void *buf, size_t n, uint64_t off);
int cmn_file_pwrite_all(int fd, const void *buf, size_t n, uint64_t off);

#endif /* CMN_FILE_H */
