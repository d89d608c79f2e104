/* SPDX-License-Identifier: MIT
 * cli_proc: fork/exec and supervision of analyze's children. Signals are
 * taken synchronously with sigtimedwait (they stay blocked in renkei), so no
 * handler races with waitpid; children get the original mask back before exec.
 */
#define CMN_LOG_TAG "proc"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_proc.h"
#include "cmn_log.h"

#define CLI_PROC_LABEL    64    /* bytes kept of a label */
#define CLI_PROC_TICK_MS  200   /* wake-up period while waiting */
#define CLI_PROC_GRACE_MS 5000  /* SIGTERM -> SIGKILL after a child failed */
#define CLI_PROC_INTR_MS  15000 /* forwarded SIGINT/SIGTERM -> SIGKILL */

struct s_child {
    char label[CLI_PROC_LABEL]; /* program and role, for messages */
    pid_t pid;                  /* process id, also its process group id */
    unsigned ok_mask;           /* CLI_EXIT_BIT of each allowed exit status */
    bool running;               /* not reaped yet */
    bool signaled;              /* ended by a signal */
    int code;                   /* exit status or signal number */
};

struct cli_proc_set {
    struct s_child *c;        /* children in spawn order */
    size_t n;                 /* children started */
    size_t cap;               /* entries allocated */
    sigset_t waitset;         /* SIGINT, SIGTERM, SIGCHLD */
    sigset_t oldmask;         /* the caller's mask, restored on destroy and in children */
    int leader;               /* child whose end ends the run (-1: none) */
    uint64_t leader_grace_ms; /* the others' time to end after it */
    cli_proc_watch_fn watch;  /* called about once a second, or NULL */
    void *watch_arg;          /* its argument */
    char why[256];            /* what the watch said */
};

static uint64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct cli_proc_set *cli_proc_set_new(void)
{
    struct cli_proc_set *set = calloc(1, sizeof(*set));
    if (!set)
        abort();
    sigemptyset(&set->waitset);
    sigaddset(&set->waitset, SIGINT);
    sigaddset(&set->waitset, SIGTERM);
    sigaddset(&set->waitset, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set->waitset, &set->oldmask);
    set->leader = -1;
    return set;
}

static void s_reaped(struct s_child *c, int status)
{
    c->running = false;
    c->signaled = WIFSIGNALED(status);
    c->code = c->signaled ? WTERMSIG(status) : WEXITSTATUS(status);
}

void cli_proc_set_destroy(struct cli_proc_set **setp)
{
    if (!setp || !*setp)
        return;
    struct cli_proc_set *set = *setp;
    for (size_t i = 0; i < set->n; i++) {
        struct s_child *c = &set->c[i];
        if (!c->running)
            continue;
        kill(-c->pid, SIGKILL);
        int status;
        if (waitpid(c->pid, &status, 0) == c->pid)
            s_reaped(c, status);
    }
    sigprocmask(SIG_SETMASK, &set->oldmask, NULL);
    free(set->c);
    free(set);
    *setp = NULL;
}

int cli_proc_spawn(struct cli_proc_set *set, const char *label, char *const argv[],
                   unsigned ok_mask)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 8;
        struct s_child *nc = realloc(set->c, cap * sizeof(*nc));
        if (!nc)
            abort();
        set->c = nc;
        set->cap = cap;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        CMN_LOG(ERR, "cannot start %s: fork: %s", label, strerror(e));
        return -e;
    }
    if (pid == 0) {
        /* Child: own process group, default signals, stdout to stderr, no stdin. */
        setpgid(0, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        sigprocmask(SIG_SETMASK, &set->oldmask, NULL);
        dup2(STDERR_FILENO, STDOUT_FILENO);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            dup2(devnull, STDIN_FILENO);
            if (devnull != STDIN_FILENO)
                close(devnull);
        }
        execv(argv[0], argv);
        dprintf(STDERR_FILENO, "renkei: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also from the parent: no window where a signal misses it */
    struct s_child *c = &set->c[set->n];
    memset(c, 0, sizeof(*c));
    snprintf(c->label, sizeof(c->label), "%s", label);
    c->pid = pid;
    c->ok_mask = ok_mask | CLI_EXIT_BIT(0);
    c->running = true;
    CMN_LOG(INFO, "started %s (pid %d)", c->label, (int)pid);
    return (int)set->n++;
}

pid_t cli_proc_pid(const struct cli_proc_set *set, int idx)
{
    if (idx < 0 || (size_t)idx >= set->n || !set->c[idx].running)
        return 0;
    return set->c[idx].pid;
}

void cli_proc_signal_all(struct cli_proc_set *set, int sig)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->c[i].running)
            kill(-set->c[i].pid, sig);
}

static bool s_failed(const struct s_child *c)
{
    return c->signaled || c->code >= 32 || !(c->ok_mask & CLI_EXIT_BIT(c->code));
}

void cli_proc_set_leader(struct cli_proc_set *set, int idx, unsigned grace_ms)
{
    set->leader = idx;
    set->leader_grace_ms = grace_ms;
}

void cli_proc_set_watch(struct cli_proc_set *set, cli_proc_watch_fn fn, void *arg)
{
    set->watch = fn;
    set->watch_arg = arg;
}

static void s_end(const struct s_child *c, struct cli_proc_end *out)
{
    out->why = NULL;
    out->label = c->label;
    out->pid = c->pid;
    out->signaled = c->signaled;
    out->code = c->code;
}

int cli_proc_wait_all(struct cli_proc_set *set, struct cli_proc_end *failed, int *signo)
{
    int rc = 0;
    bool stopping = false, killed = false;
    uint64_t deadline = 0, next_watch = s_now_ms() + 1000, leader_deadline = 0;
    for (;;) {
        /* Reap whatever has ended. */
        size_t running = 0;
        for (size_t i = 0; i < set->n; i++) {
            struct s_child *c = &set->c[i];
            if (!c->running)
                continue;
            int status;
            pid_t r = waitpid(c->pid, &status, WNOHANG);
            if (r == c->pid) {
                s_reaped(c, status);
                CMN_LOG(INFO, "%s (pid %d) %s %d", c->label, (int)c->pid,
                        c->signaled ? "killed by signal" : "exited with status", c->code);
                if (!stopping && s_failed(c)) {
                    s_end(c, failed);
                    rc = -ECHILD;
                    stopping = true;
                    deadline = s_now_ms() + CLI_PROC_GRACE_MS;
                    cli_proc_signal_all(set, SIGTERM);
                }
            } else if (r < 0 && errno == ECHILD) {
                c->running = false; /* reaped elsewhere: nothing to wait for */
                c->code = 0;
            } else {
                running++;
            }
        }
        if (running == 0)
            return rc;
        uint64_t now = s_now_ms();
        if (!stopping && set->leader >= 0 && !set->c[set->leader].running) {
            /* the leader ended well: the others have a while to end too */
            if (!leader_deadline) {
                leader_deadline = now + set->leader_grace_ms;
            } else if (now >= leader_deadline) {
                for (size_t i = 0; i < set->n; i++)
                    if (set->c[i].running)
                        CMN_LOG(WARN, "%s still running %llu ms after %s ended: stopping it",
                                set->c[i].label, (unsigned long long)set->leader_grace_ms,
                                set->c[set->leader].label);
                stopping = true;
                deadline = now + CLI_PROC_GRACE_MS;
                cli_proc_signal_all(set, SIGTERM);
            }
        }
        if (!stopping && set->watch && now >= next_watch) {
            next_watch = now + 1000;
            if (set->watch(set->watch_arg, set->why, sizeof(set->why))) {
                failed->why = set->why;
                failed->label = "";
                failed->pid = 0;
                failed->signaled = false;
                failed->code = 0;
                rc = -ECHILD;
                stopping = true;
                deadline = now + CLI_PROC_GRACE_MS;
                cli_proc_signal_all(set, SIGTERM);
            }
        }
        if (stopping && !killed && s_now_ms() >= deadline) {
            CMN_LOG(WARN, "children still running after %s: killing them",
                    rc == -EINTR ? "the stop request" : "a failure");
            cli_proc_signal_all(set, SIGKILL);
            killed = true;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = CLI_PROC_TICK_MS * 1000000L};
        siginfo_t info;
        int sig = sigtimedwait(&set->waitset, &info, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            if (!stopping) {
                /* Forward: the daemons flush, end their streams and exit. */
                *signo = sig;
                rc = -EINTR;
                stopping = true;
                deadline = s_now_ms() + CLI_PROC_INTR_MS;
                cli_proc_signal_all(set, sig);
            } else if (!killed) {
                cli_proc_signal_all(set, SIGKILL); /* asked twice: stop now */
                killed = true;
            }
        }
    }
}

bool cli_proc_result(const struct cli_proc_set *set, int idx, struct cli_proc_end *out)
{
    if (idx < 0 || (size_t)idx >= set->n || set->c[idx].running)
        return false;
    s_end(&set->c[idx], out);
    return true;
}
