/* SPDX-License-Identifier: MIT
 * cli_analyze: `renkei analyze`, the whole pipeline on loopback for a set of
 * capture files. Checks every capture first (nothing starts if one is
 * unreadable), picks free 127.0.0.1 ports, runs renkei-merger, N
 * renkei-tracker, renkei-splitter and one renkei-collector per capture (found
 * next to this executable) as separate processes, waits for all of them and
 * reports. Exit status: 0 all accounted for, 1 a process failed, 2 usage or
 * unreadable input, 3 finished but records were lost, 128+signal if stopped.
 */
#ifndef CLI_ANALYZE_H
#define CLI_ANALYZE_H

/* Run `renkei analyze`; argv[0] is "analyze". Returns the exit status. */
int cli_analyze_main(int argc, char **argv);

#endif /* CLI_ANALYZE_H */
