/* SPDX-License-Identifier: MIT
 * cmn_log: formats a log line into one buffer and writes it with a single
 * write(2), so lines from threads and processes sharing stderr do not interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cmn_log.h"

static char s_prog[32] = "renkei";
static enum cmn_log_level s_max = CMN_LOG_NOTICE;
static const char *const s_names[] = {"ERR", "WARN", "NOTICE", "INFO", "DEBUG"};

void cmn_log_init(const char *prog, enum cmn_log_level max_level)
{
    if (prog)
        snprintf(s_prog, sizeof(s_prog), "%s", prog);
    s_max = max_level;
}

int cmn_log_level_parse(const char *s, enum cmn_log_level *out)
{
    static const char *const lower[] = {"err", "warn", "notice", "info", "debug"};
    for (unsigned i = 0; i < sizeof(lower) / sizeof(lower[0]); i++) {
        if (strcasecmp(s, lower[i]) == 0) {
            *out = (enum cmn_log_level)i;
            return 0;
        }
    }
    return -EINVAL;
}

void cmn_log_emit(enum cmn_log_level level, const char *tag, const char *fmt, ...)
{
    if (level > s_max)
        return;
    char line[1024];
    int n =
        snprintf(line, sizeof(line), "%s[%d] %s %s: ", s_prog, (int)getpid(), s_names[level], tag);
    if (n < 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m > 0 ? (size_t)m : 0);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
