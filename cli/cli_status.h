/* SPDX-License-Identifier: MIT
 * cli_status: `renkei status`: the whole cluster at a glance from the
 * merger's database (the [merger] db of a cluster config, or --db): the run,
 * then one line per node (collectors, splitter, trackers, merger) with when
 * it last reported, whether it ended, records in and out, drops, losses and
 * refused connections; a node silent for longer than --stale seconds while
 * the run is running is flagged SILENT and the exit code is 1.
 */
#ifndef CLI_STATUS_H
#define CLI_STATUS_H

int cli_status_main(int argc, char **argv);

#endif /* CLI_STATUS_H */
