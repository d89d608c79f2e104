/* SPDX-License-Identifier: MIT
 * col_state: where a capture-file collector stands, kept in a small file so a
 * collector killed mid-file resumes where it stopped instead of replaying the
 * capture from the start (docs/OPERATIONS.md "Restarts"). The sender thread
 * saves it just before it hands each batch to ZeroMQ: frames of the capture
 * consumed up to the last one of that batch, the batch's seq, the totals sent
 * so far and every counter. So after a kill -9 the restarted collector skips
 * those frames, sends seq + 1 next (its Hello says so: the splitter counts the
 * batches that died in the old process's ZeroMQ queue as lost, by seq and
 * totals, and never sees a frame twice) and its counters go on from there.
 *
 * The file holds two slots written in turn (pwrite), each with a checksum:
 * a torn write leaves the other intact. The state names the capture by
 * device, inode, size and modification time; another file (or the same one
 * changed) is refused. `done` is set once the end of stream was delivered.
 */
#ifndef COL_STATE_H
#define COL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "col_stats.h"

struct col_state_rec {
    uint64_t frames;                /* capture frames consumed (read, parsed or skipped) */
    uint64_t seq;                   /* last batch seq handed to ZeroMQ (0: none yet) */
    uint64_t records_sent;          /* records in batches 1..seq */
    uint64_t stats[COL_STAT_COUNT]; /* every counter as of `frames` and `seq` */
    bool done;                      /* EndOfStream delivered: nothing is left to send */
};

struct col_state;

/* Open (create) the state file `path` for collector `id` reading capture
 * `pcap` (NULL: a port, whose state has no capture and no frame position). *rec is the saved state
 * (all zero for a new file or a new run). NULL with the reason in err (names both files) when the
 * file cannot be used: unreadable, of another collector id, or written for another capture or for
 * this capture before it changed. */
struct col_state *col_state_open(const char *path, uint32_t id, const char *pcap,
                                 struct col_state_rec *rec /* OUT */, char *err /* OUT */,
                                 size_t errlen);

/* Save *rec (either slot in turn). 0 or -errno. `sync`: fdatasync too. */
int col_state_save(struct col_state *st, const struct col_state_rec *rec, bool sync);

/* Path of the state file (messages). Borrowed. */
const char *col_state_path(const struct col_state *st);

/* Close. Accepts NULL; NULLs *st. */
void col_state_close(struct col_state **st);

#endif /* COL_STATE_H */
