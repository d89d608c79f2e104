/* SPDX-License-Identifier: MIT
 * mrg_rollup: storage that converges (docs/SCHEMA.md, "Retention and
 * roll-ups"). Called by mrg_db inside each epoch's transaction: after the
 * epoch's usage_edges rows are written (from the live window's attribution,
 * mrg_live.h), recomputes the epoch's usage_services rows, rolls old rows up
 * (per epoch -> per hour -> per day), tells the cut before which live
 * sessions retire (the live window folds them into per-edge rows of
 * sessions_retired, so derived tables and totals stay the same while the
 * session table stops growing with every ephemeral port), and prunes old
 * epoch rows. Single-threaded, on mrg_db's connection.
 */
#ifndef MRG_ROLLUP_H
#define MRG_ROLLUP_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#define MRG_RETAIN_MINUTES_DEFAULT 60 /* per-epoch detail and live sessions */
#define MRG_RETAIN_HOURS_DEFAULT   48 /* hourly usage rows */
#define MRG_RETAIN_DAYS_DEFAULT    7  /* daily usage rows */

/* Retention (merger keys retain_minutes, retain_hours, retain_days). 0 keeps
 * that level forever (retain_minutes = 0: sessions are never retired). */
struct mrg_retain {
    uint32_t minutes; /* live sessions and per-epoch usage rows */
    uint32_t hours;   /* hourly usage rows */
    uint32_t days;    /* daily usage rows */
};

/* Create the roll-up tables, views and temp tables. 0 or -EIO. */
int mrg_rollup_init(sqlite3 *db);

/* usage_* resolution of epochs of epoch_ns: the epoch length in seconds
 * (60 when epoch_ns is 0). */
long long mrg_rollup_res(uint64_t epoch_ns);

/* After the epoch's usage_edges rows (res mrg_rollup_res, start_ns epoch *
 * epoch_ns) were written: recompute that bucket's usage_services. 0 or
 * -EIO. */
int mrg_rollup_usage_done(sqlite3 *db, uint64_t epoch, uint64_t epoch_ns);

/* Roll usage rows older than their retention up (epoch -> hour -> day ->
 * gone). 0 or -EIO. */
int mrg_rollup_roll(sqlite3 *db, const struct mrg_retain *r, uint64_t epoch, uint64_t epoch_ns);

/* The retirement cut after epoch `epoch` (its row already in `epochs`):
 * live sessions with last_ns < *cut have been idle for retain_minutes and as
 * many committed epochs. false when nothing retires (retain_minutes 0, too
 * few epochs). */
bool mrg_rollup_cut(sqlite3 *db, const struct mrg_retain *r, uint64_t epoch, uint64_t epoch_ns,
                    uint64_t *cut /* OUT */);

/* Delete epoch rows past the hourly retention. 0 or -EIO. */
int mrg_rollup_prune(sqlite3 *db, const struct mrg_retain *r, uint64_t epoch, uint64_t epoch_ns);

#endif /* MRG_ROLLUP_H */
