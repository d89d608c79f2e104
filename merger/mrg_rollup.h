/* SPDX-License-Identifier: MIT
 * mrg_rollup: storage that converges (docs/SCHEMA.md, "Retention and
 * roll-ups"). Called by mrg_db inside each epoch's transaction, after the
 * derived tables were refreshed: writes the epoch's per-edge and per-service
 * usage rows (from temp.epoch_attr, the epoch's deltas attributed to
 * edges, which mrg_db fills before its refresh), rolls old rows up (per
 * epoch -> per hour -> per day), retires sessions idle longer than the
 * recent window into per-edge rows of sessions_retired (so derived tables
 * and totals stay the same while the session table stops growing with every
 * ephemeral port), and prunes old client endpoints and epoch rows.
 * Single-threaded, on mrg_db's connection.
 */
#ifndef MRG_ROLLUP_H
#define MRG_ROLLUP_H

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

/* Empty the per-epoch temp table (start of an epoch's transaction). */
int mrg_rollup_epoch_begin(sqlite3 *db);

/* The epoch's work after the derived refresh (see above), inside the
 * caller's transaction. 0 or -EIO. */
int mrg_rollup_epoch_end(sqlite3 *db, const struct mrg_retain *r, uint64_t epoch,
                         uint64_t epoch_ns);

#endif /* MRG_ROLLUP_H */
