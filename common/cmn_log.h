/* SPDX-License-Identifier: MIT
 * cmn_log: one logging path for every renkei process. Lines go to stderr as
 * "<prog>[pid] LEVEL tag: message". Never log per packet: bump a counter.
 * Each .c file defines CMN_LOG_TAG before including this header.
 */
#ifndef CMN_LOG_H
#define CMN_LOG_H

#include <stdbool.h>

enum cmn_log_level {
    CMN_LOG_OFF = -1, /* as max_level only: print nothing (fuzz targets) */
    CMN_LOG_ERR = 0,
    CMN_LOG_WARN = 1,
    CMN_LOG_NOTICE = 2,
    CMN_LOG_INFO = 3,
    CMN_LOG_DEBUG = 4,
};

#ifndef CMN_LOG_TAG
#define CMN_LOG_TAG "renkei"
#endif

/* Set the program name shown on each line and the most verbose level printed
 * (default NOTICE). Call once from main(); not thread-safe against cmn_log_emit. */
void cmn_log_init(const char *prog, enum cmn_log_level max_level);

/* Parse "err|warn|notice|info|debug"; returns -EINVAL for anything else. */
int cmn_log_level_parse(const char *s, enum cmn_log_level *out /* OUT */);

/* Emit one line if `level` is enabled. Thread-safe (one write per line). */
void cmn_log_emit(enum cmn_log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CMN_LOG(level, ...) cmn_log_emit(CMN_LOG_##level, CMN_LOG_TAG, __VA_ARGS__)

#ifdef NDEBUG_LOG
#define CMN_DEBUG(...) ((void)0)
#else
#define CMN_DEBUG(...) cmn_log_emit(CMN_LOG_DEBUG, CMN_LOG_TAG, __VA_ARGS__)
#endif

/* Impossible-but-survivable states: assert in debug builds, tolerated in release. */
#ifdef NDEBUG
#define CMN_NEVER(x) (x)
#else
#include <assert.h>
#define CMN_NEVER(x) ((x) ? (assert(!#x), true) : false)
#endif

#endif /* CMN_LOG_H */
