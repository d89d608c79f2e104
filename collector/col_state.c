/* SPDX-License-Identifier: MIT
 * col_state: two fixed 4 KiB slots of 64-bit words in this host's byte order
 * (the file never leaves the host): magic, version and collector id, a write
 * generation, the capture's identity, the position and totals, the counters,
 * and a check word (cmn_hash of the others). The valid slot with the
 * highest generation wins.
 */
#define CMN_LOG_TAG "state"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmn_hash.h"
#include "col_state.h"

#define ST_SLOT    4096u
#define ST_MAGIC   0x3154534c4f434b52ull /* "RKCOLST1" */
#define ST_VERSION 1u

enum {
    W_MAGIC = 0,
    W_VERSION_ID, /* version << 32 | collector id */
    W_GEN,
    W_DEV,
    W_INO,
    W_SIZE,
    W_MTIME_NS,
    W_FRAMES,
    W_SEQ,
    W_RECORDS_SENT,
    W_DONE,
    W_NSTATS,
    W_STATS,
    W_CHECK = W_STATS + COL_STAT_COUNT,
    W_COUNT,
};
_Static_assert(W_COUNT * sizeof(uint64_t) <= ST_SLOT, "a state slot holds every counter");

struct col_state {
    int fd;            /* the state file */
    uint32_t id;       /* collector id */
    uint64_t ident[4]; /* capture dev, ino, size, mtime ns */
    uint64_t gen;      /* generation of the last slot written */
    char path[512];    /* for messages */
};

static uint64_t s_check(const uint64_t *w)
{
    return cmn_hash_words64(w, W_CHECK, ST_MAGIC);
}

/* One slot: 1 valid (w filled), 0 empty or never written, -1 damaged. */
static int s_read_slot(int fd, unsigned slot, uint64_t *w)
{
    ssize_t n = pread(fd, w, W_COUNT * sizeof(uint64_t), (off_t)slot * ST_SLOT);
    if (n <= 0)
        return 0;
    if ((size_t)n < W_COUNT * sizeof(uint64_t) || w[W_MAGIC] != ST_MAGIC ||
        w[W_CHECK] != s_check(w))
        return -1;
    return 1;
}

struct col_state *col_state_open(const char *path, uint32_t id, const char *pcap,
                                 struct col_state_rec *rec, char *err, size_t errlen)
{
    memset(rec, 0, sizeof(*rec));
    struct stat cs;
    memset(&cs, 0, sizeof(cs)); /* a port: no capture identity */
    if (pcap && stat(pcap, &cs) != 0) {
        snprintf(err, errlen, "capture %s: %s", pcap, strerror(errno));
        return NULL;
    }
    struct col_state *st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(err, errlen, "state file %s: out of memory", path);
        return NULL;
    }
    st->fd = -1;
    snprintf(st->path, sizeof(st->path), "%s", path);
    st->id = id;
    st->ident[0] = (uint64_t)cs.st_dev;
    st->ident[1] = (uint64_t)cs.st_ino;
    st->ident[2] = (uint64_t)cs.st_size;
    st->ident[3] = (uint64_t)cs.st_mtim.tv_sec * 1000000000ull + (uint64_t)cs.st_mtim.tv_nsec;
    /* O_NONBLOCK: a FIFO named as the state file must not hang the open */
    st->fd = open(path, O_RDWR | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0640);
    struct stat ss;
    if (st->fd < 0 || fstat(st->fd, &ss) != 0) {
        snprintf(err, errlen, "state file %s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(ss.st_mode)) {
        snprintf(err, errlen, "state file %s: not a regular file", path);
        goto fail;
    }
    uint64_t w[2][W_COUNT];
    int ok[2] = {s_read_slot(st->fd, 0, w[0]), s_read_slot(st->fd, 1, w[1])};
    if (ok[0] < 0 && ok[1] < 0) {
        snprintf(err, errlen,
                 "state file %s: both slots damaged (not a renkei collector state?); delete it "
                 "to start the capture from the beginning",
                 path);
        goto fail;
    }
    int best = ok[0] == 1 && (ok[1] != 1 || w[0][W_GEN] > w[1][W_GEN]) ? 0 : ok[1] == 1 ? 1 : -1;
    if (best < 0)
        return st; /* new state file: start at frame 0 */
    const uint64_t *b = w[best];
    if (b[W_VERSION_ID] >> 32 != ST_VERSION || b[W_NSTATS] != COL_STAT_COUNT) {
        snprintf(err, errlen,
                 "state file %s: written by another renkei version (format %" PRIu64 ", %" PRIu64
                 " counters); delete it to start the capture from the beginning",
                 path, b[W_VERSION_ID] >> 32, b[W_NSTATS]);
        goto fail;
    }
    if ((uint32_t)b[W_VERSION_ID] != id) {
        snprintf(err, errlen, "state file %s: belongs to collector %" PRIu32 ", not %" PRIu32, path,
                 (uint32_t)b[W_VERSION_ID], id);
        goto fail;
    }
    if (memcmp(&b[W_DEV], st->ident, sizeof(st->ident)) != 0) {
        snprintf(err, errlen,
                 "state file %s: written for another capture than %s, or for it before it "
                 "changed (device, inode, size or modification time differ); delete the state "
                 "file to read the capture from the beginning",
                 path, pcap ? pcap : "this port");
        goto fail;
    }
    st->gen = b[W_GEN];
    rec->frames = b[W_FRAMES];
    rec->seq = b[W_SEQ];
    rec->records_sent = b[W_RECORDS_SENT];
    rec->done = b[W_DONE] != 0;
    memcpy(rec->stats, &b[W_STATS], sizeof(rec->stats));
    return st;
fail:
    col_state_close(&st);
    return NULL;
}

int col_state_save(struct col_state *st, const struct col_state_rec *rec, bool sync)
{
    uint64_t w[W_COUNT];
    memset(w, 0, sizeof(w));
    w[W_MAGIC] = ST_MAGIC;
    w[W_VERSION_ID] = (uint64_t)ST_VERSION << 32 | st->id;
    w[W_GEN] = ++st->gen;
    memcpy(&w[W_DEV], st->ident, sizeof(st->ident));
    w[W_FRAMES] = rec->frames;
    w[W_SEQ] = rec->seq;
    w[W_RECORDS_SENT] = rec->records_sent;
    w[W_DONE] = rec->done;
    w[W_NSTATS] = COL_STAT_COUNT;
    memcpy(&w[W_STATS], rec->stats, sizeof(rec->stats));
    w[W_CHECK] = s_check(w);
    ssize_t n = pwrite(st->fd, w, sizeof(w), (off_t)(st->gen & 1) * ST_SLOT);
    if (n != (ssize_t)sizeof(w))
        return n < 0 ? -errno : -EIO;
    if (sync && fdatasync(st->fd) != 0)
        return -errno;
    return 0;
}

const char *col_state_path(const struct col_state *st)
{
    return st->path;
}

void col_state_close(struct col_state **st)
{
    if (!st || !*st)
        return;
    if ((*st)->fd >= 0)
        close((*st)->fd);
    free(*st);
    *st = NULL;
}
