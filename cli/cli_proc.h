/* SPDX-License-Identifier: MIT
 * cli_proc: the child processes `renkei analyze` runs. Starts each with
 * fork/exec in its own process group (so a terminal's Ctrl-C reaches only
 * renkei, which forwards it), its stdout joined to stderr, then waits for all
 * of them: SIGINT/SIGTERM received meanwhile are forwarded to every child,
 * and the first child that fails (an exit status it is not allowed, or a
 * signal) gets the others stopped (SIGTERM, then SIGKILL after a grace
 * period). One set per run, used from the main thread only.
 */
#ifndef CLI_PROC_H
#define CLI_PROC_H

#include <stdbool.h>
#include <sys/types.h>

/* Bit for an allowed exit status in cli_proc_spawn's ok_mask. */
#define CLI_EXIT_BIT(code) (1u << (code))

/* How a child ended. */
struct cli_proc_end {
    const char *why;   /* the watch's message when it failed the run, else NULL */
    const char *label; /* borrowed: "renkei-tracker 1" */
    pid_t pid;         /* its process id */
    bool signaled;     /* killed by a signal (then `code` is the signal number) */
    int code;          /* exit status, or signal number when signaled */
};

struct cli_proc_set;

/* An empty set. Blocks SIGINT, SIGTERM and SIGCHLD in the caller until
 * destroy, so none is lost between fork and wait. Aborts on out of memory. */
struct cli_proc_set *cli_proc_set_new(void);

/* Kill (SIGKILL) and reap any child still running, restore the signal mask,
 * free. Accepts NULL and NULLs the pointer. */
void cli_proc_set_destroy(struct cli_proc_set **set);

/* Start argv[0] (a path) with argv. `label` is copied. Exit statuses whose
 * CLI_EXIT_BIT is in `ok_mask` (bit 0 at least) do not count as failure.
 * Returns the child's index (>= 0), or a negative errno after logging. */
int cli_proc_spawn(struct cli_proc_set *set, const char *label, char *const argv[],
                   unsigned ok_mask);

/* Process id of child idx while it runs, else 0. */
pid_t cli_proc_pid(const struct cli_proc_set *set, int idx);

/* Send `sig` to every running child's process group. */
void cli_proc_signal_all(struct cli_proc_set *set, int sig);

/* Child `idx` ends the run: once it ended with an allowed status, the
 * others get grace_ms to end, then are stopped (SIGTERM, later SIGKILL);
 * their ends then do not count as failures. */
void cli_proc_set_leader(struct cli_proc_set *set, int idx, unsigned grace_ms);

/* Called about once a second while waiting: returns true (with a message
 * in why) to fail the run: the children are stopped and cli_proc_wait_all
 * returns -ECHILD with failed->why set. */
typedef bool (*cli_proc_watch_fn)(void *arg, char *why, size_t len);
void cli_proc_set_watch(struct cli_proc_set *set, cli_proc_watch_fn fn, void *arg);

/* Wait until every child has ended. Returns 0 when all ended with allowed
 * statuses; -ECHILD when one failed (its end in *failed, the others were
 * stopped); -EINTR when SIGINT/SIGTERM arrived (forwarded; *signo set). */
int cli_proc_wait_all(struct cli_proc_set *set, struct cli_proc_end *failed /* OUT */,
                      int *signo /* OUT */);

/* How child `idx` ended (after cli_proc_wait_all). False if still running. */
bool cli_proc_result(const struct cli_proc_set *set, int idx, struct cli_proc_end *out /* OUT */);

#endif /* CLI_PROC_H */
