/* SPDX-License-Identifier: MIT
 * cmn_metrics: a daemon's own Prometheus endpoint. One small HTTP server
 * (libmicrohttpd, one internal thread) answers GET /metrics with the text
 * exposition format (version 0.0.4) of the last snapshot the daemon
 * published; any other path is 404, any other method 405.
 *
 * Who calls what: the daemon's main thread creates it at start
 * (cmn_metrics_new, or cmn_metrics_from_config for the two config keys below)
 * and destroys it at exit; any thread may call cmn_metrics_publish, which
 * renders the text off the lock and swaps it in under a mutex, so a scrape
 * never waits for the daemon's loop nor sees half a snapshot. Daemons publish
 * whenever they build their Stats counters, with exactly those names, so the
 * endpoint and the merger's node_stats (the reporter's /metrics) agree.
 *
 * Names: every sample is renkei_<kind>_<name>{node="<id>",name="<label>"},
 * <name> sanitised to [a-zA-Z0-9_] (as the reporter does), label values
 * escaped (\\, \", \n), plus an optional peer="..." label. Each family gets
 * one # HELP and one # TYPE line before its samples. The module adds
 * renkei_<kind>_up (1 while serving) and renkei_<kind>_snapshot_age_seconds
 * (seconds since the last publish: a wedged main loop shows here, since
 * this thread keeps answering).
 *
 * Security: metrics_listen = ADDR:PORT (numeric IPv4, or [IPv6]:PORT) binds
 * any loopback address freely; anything else is refused at start unless
 * metrics_token_file names a file holding a bearer token (>= 16 printable
 * characters): every request must then carry "Authorization: Bearer
 * <token>" (compared in constant time) or gets 401. Slow clients hold a
 * connection slot, never the thread: CMN_METRICS_CONNS connections,
 * CMN_METRICS_PER_IP per address, CMN_METRICS_TIMEOUT_S idle timeout.
 */
#ifndef CMN_METRICS_H
#define CMN_METRICS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cmn_config.h"
#include "cmn_wire.h"

#define CMN_METRICS_CONNS     16 /* connections served at once */
#define CMN_METRICS_PER_IP    4  /* of them, from one client address */
#define CMN_METRICS_TIMEOUT_S 5  /* an idle connection is closed after this */
#define CMN_METRICS_TOKEN_MIN 16 /* shortest bearer token accepted */
#define CMN_METRICS_TOKEN_MAX 4096

/* The options of every daemon that serves metrics (in its cmn_cli_opt table). */
#define CMN_METRICS_CLI_OPTS                                                                       \
    {"metrics_listen", "ADDR:PORT", "serve Prometheus /metrics here (default off)"},               \
    {                                                                                              \
        "metrics_token_file", "FILE", "bearer token required by /metrics (needed off loopback)"    \
    }

struct cmn_metrics_config {
    const char *listen;     /* "127.0.0.1:9101", "[::1]:9101"; port 0: any free port */
    const char *token_file; /* bearer token file, or NULL */
    const char *kind;       /* metric prefix and daemon kind: "splitter", "tracker", ... */
    uint32_t node_id;       /* label node="<id>" */
    const char *name;       /* label name="<label>" (the name its Stats carry) */
};

enum cmn_metric_type {
    CMN_METRIC_COUNTER = 0, /* only goes up (until the daemon restarts) */
    CMN_METRIC_GAUGE,       /* integer that goes up and down: .value */
    CMN_METRIC_GAUGE_REAL,  /* fractional gauge (seconds): .real */
};

/* One sample beside the Stats counters. */
struct cmn_metric {
    const char *name;          /* "lag_seconds"; borrowed during the publish call */
    enum cmn_metric_type type; /* counter or gauge */
    uint64_t value;            /* COUNTER, GAUGE */
    double real;               /* GAUGE_REAL */
    const char *peer;          /* NULL, or the value of an extra label peer="..." */
    const char *help;          /* HELP text of the family, or NULL */
};

struct cmn_metrics;

/* Check the address and the token file, bind and start serving (an empty
 * snapshot: up and snapshot_age_seconds only). Returns NULL after logging
 * why: bad address, non-loopback without a token, unreadable or short
 * token, bind failure (the address and errno, e.g. "Address already in use");
 * *err (may be NULL) is then -EINVAL for the first three, else the negative
 * errno of the socket call. */
struct cmn_metrics *cmn_metrics_new(const struct cmn_metrics_config *cfg, int *err /* OUT */);

/* metrics_listen / metrics_token_file of `section`: 0 with *out NULL when
 * metrics_listen is absent (off), 0 with a running endpoint, or -EINVAL
 * (bad configuration, messages name the file:line) / another negative
 * errno (bind failure) after logging. */
int cmn_metrics_from_config(const struct cmn_config *cfg, const char *section, const char *kind,
                            uint32_t node_id, const char *name, struct cmn_metrics **out /* OUT */);

/* Stop serving and free. Accepts NULL and NULLs the caller's pointer. */
void cmn_metrics_destroy(struct cmn_metrics **m);

/* Bound TCP port (the one picked when listen asked for port 0). */
uint16_t cmn_metrics_port(const struct cmn_metrics *m);

/* Replace the snapshot: the daemon's Stats counters c[0..n) (names as sent
 * to the merger), typed COUNTER unless they match one of the NULL-terminated
 * `gauges` patterns (an exact name, or one '*' standing for any run of
 * characters: "collector.*.down"), then `extra[0..nextra)`. Two samples with
 * the same sanitised name and peer keep the first (and are counted: see
 * cmn_metrics_dropped). Thread-safe; `m` NULL (metrics off) does nothing. */
void cmn_metrics_publish(struct cmn_metrics *m, const struct cmn_counter *c, size_t n,
                         const char *const *gauges, const struct cmn_metric *extra, size_t nextra);

/* Samples left out of snapshots as duplicates so far. */
uint64_t cmn_metrics_dropped(const struct cmn_metrics *m);

/* Whether `name` matches `pattern` (exact, or one '*' as above). */
bool cmn_metrics_match(const char *pattern, const char *name);

/* libmicrohttpd's own messages (MHD_OPTION_EXTERNAL_LOGGER: a connection
 * refused over a limit, a TLS handshake failure), for /metrics and the
 * reporter: at most one line per 10 s per process, with how many were held
 * back, so a flood of connections cannot flood the log. */
__attribute__((format(printf, 2, 0))) void cmn_mhd_log(void *cls, const char *fmt, va_list ap);

#endif /* CMN_METRICS_H */
