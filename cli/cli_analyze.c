/* SPDX-License-Identifier: MIT
 * cli_analyze: plans the loopback cluster (ports, command lines), hands the
 * processes to cli_proc, and turns how they ended into one clear outcome.
 * Children are started downstream first (merger, trackers, splitter, then
 * collectors); ZeroMQ connects retry, so the order only saves reconnects.
 */
#define CMN_LOG_TAG "analyze"
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cli_analyze.h"
#include "cli_proc.h"
#include "cli_report.h"
#include "cmn_capfile.h"
#include "cmn_file.h"
#include "cmn_cli.h"
#include "cmn_config.h"
#include "cmn_log.h"
#include "cmn_names.h"
#include "cmn_sites.h"
#include "cmn_wire.h"

#define CLI_MAX_TRACKERS 64 /* trackers analyze will start on one host */
#define CLI_MAX_ARGS     32 /* arguments per child command line */

static const struct cmn_cli_opt s_opts[] = {
    {"db", "OUT.sqlite", "database to write (required; must not exist unless --force)"},
    {"trackers", "N", "tracker processes to run (default 2)"},
    {"export", "OUT.json", "also write the JSON export here"},
    {"sites", "FILE", "sites file (lines 'NAME KIND CIDR...'): hosts are placed in sites"},
    {"epoch_seconds", "S", "epoch length in capture time (default 60)"},
    {"batch_records", "N", "records per batch, collectors and splitter (default 4096)"},
    {"keep_outer", NULL, "record the outer IP header of tunnels instead of the innermost"},
    {"dedup_window_us", "US",
     "copies of a packet in two captures closer than this count once, 0 off (default 500)"},
    {"start_delay_ms", "MS,...",
     "per-capture start delays in order (tests: arrival order between collectors)"},
    {"force", NULL, "replace an existing --db (it is deleted first)"},
    {"hosts_file", "FILE", "/etc/hosts-format host names (they win over names from DNS)"},
    {"services_file", "FILE",
     "service names, lines 'tcp/50020 order-api' or 'order-api 50020/tcp'"},
    {"memcap_mb", "MB",
     "memory cap of each tracker's tables and of the merger's live window (default: the"
     " daemons' own, 1024 and 4096); refusals are counted and shown"},
    {"liveness_timeout", "S",
     "a process silent this long is down: the run fails instead of waiting (default 30)"},
    {NULL, NULL, NULL},
};

static const struct cmn_cli_spec s_spec = {
    .prog = "renkei analyze",
    .kind = "analyze",
    .summary = "Analyze capture files (pcap/pcapng) on this host: one collector per file,\n"
               "the splitter, N trackers and the merger run as separate processes.\n"
               "Arguments after the options: CAPTURE...",
    .opts = s_opts,
    .positional = true,
};

/* One child's command line, owning its strings. */
struct s_cmd {
    char label[64];               /* "renkei-tracker 1" */
    char *argv[CLI_MAX_ARGS + 1]; /* NULL-terminated; strings malloc'd */
    int argc;                     /* used entries */
    unsigned ok_mask;             /* extra allowed exit statuses */
};

static void s_arg(struct s_cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void s_arg(struct s_cmd *c, const char *fmt, ...)
{
    if (CMN_NEVER(c->argc >= CLI_MAX_ARGS))
        return;
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    c->argv[c->argc++] = s;
    c->argv[c->argc] = NULL;
}

static void s_cmd_free(struct s_cmd *c)
{
    for (int i = 0; i < c->argc; i++)
        free(c->argv[i]);
    c->argc = 0;
}

/* The run's ZeroMQ endpoints: ipc:// sockets in a private directory made
 * here (mode 0700: only this user's processes reach them; no TCP, so no
 * port to find and no CURVE to need), removed at the end (s_ipc_remove). */
static int s_ipc_dir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/renkei-analyze-XXXXXX");
    if (!mkdtemp(dir)) {
        CMN_LOG(ERR, "cannot make a directory for the run's sockets in /tmp: %s", strerror(errno));
        return -errno;
    }
    return 0;
}

static void s_ipc_remove(const char *dir, uint64_t trackers)
{
    if (!dir[0])
        return;
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/merger", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/splitter", dir);
    unlink(p);
    for (uint64_t t = 0; t < trackers; t++) {
        snprintf(p, sizeof(p), "%s/tracker-%" PRIu64, dir, t);
        unlink(p);
    }
    rmdir(dir);
}

/* Directory of this executable (where the daemons are installed too). */
static int s_bindir(char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n < 0)
        return -errno;
    exe[n] = '\0';
    snprintf(out, len, "%s", dirname(exe));
    return 0;
}

static bool s_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Remove the database and SQLite's companion files. */
static int s_remove_db(const char *db)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s%s", db, suffix[i]);
        if (unlink(p) != 0 && errno != ENOENT) {
            fprintf(stderr, "renkei analyze: cannot remove '%s': %s\n", p, strerror(errno));
            return -errno;
        }
    }
    return 0;
}

/* The merger's liveness, seen from here (cli_proc_watch_fn): it is silent
 * when its meta.merger_heartbeat_ns (written every second from its loop;
 * before the first one, the run's start counts) is older than the timeout
 * and the process is stopped (state T) or used no CPU over that time, so a
 * merger busy in a long commit is not mistaken for a hung one. */
struct s_watch {
    const char *db;             /* the run's database */
    struct cli_proc_set *procs; /* the run's children */
    int merger;                 /* the merger's index */
    uint64_t start_ns;          /* wall clock at start */
    uint64_t timeout_ns;        /* liveness_timeout */
    unsigned long long cpu;     /* the merger's utime + stime (ticks) last seen */
    uint64_t cpu_ns;            /* wall clock when it last changed */
};

static bool s_proc_stat(pid_t pid, char *state, unsigned long long *cpu)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the name may hold spaces */
    unsigned long long ut, st;
    if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", state, &ut,
                     &st) != 3)
        return false;
    *cpu = ut + st;
    return true;
}

static bool s_watch_merger(void *arg, char *why, size_t len)
{
    struct s_watch *w = arg;
    uint64_t now = cmn_now_ns();
    pid_t pid = cli_proc_pid(w->procs, w->merger);
    char state = '?';
    unsigned long long cpu = 0;
    if (pid == 0 || !s_proc_stat(pid, &state, &cpu))
        return false; /* ended: the leader rule takes it from here */
    if (cpu != w->cpu || w->cpu_ns == 0) {
        w->cpu = cpu;
        w->cpu_ns = now;
    }
    uint64_t beat = w->start_ns;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(w->db, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 200);
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'merger_heartbeat_ns'", -1,
                               &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW) {
            uint64_t v = (uint64_t)sqlite3_column_int64(st, 0);
            if (v > beat)
                beat = v;
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    bool stopped = state == 'T' || state == 't';
    if (now < beat + w->timeout_ns || (!stopped && now < w->cpu_ns + w->timeout_ns))
        return false;
    snprintf(why, len, "renkei-merger (pid %d) silent for %" PRIu64 " s (%s)", (int)pid,
             (uint64_t)((now - beat) / 1000000000u), stopped ? "stopped" : "hung: no CPU used");
    return true;
}

/* After a failed run: a merger that was killed cannot say its run ended,
 * so the database would read `running` for good (or `new`, stopped before it
 * began the run); say `interrupted`. */
static void s_mark_interrupted(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(db, 2000);
        sqlite3_exec(db,
                     "UPDATE meta SET value = 'interrupted' WHERE key = 'run_state'"
                     " AND value IN ('running', 'new');"
                     /* stopped between creating meta and writing its first rows */
                     "INSERT INTO meta(key, value) SELECT 'run_state', 'interrupted'"
                     " WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'run_state')",
                     NULL, NULL, NULL);
    }
    sqlite3_close(db);
}

static void s_describe(const struct cli_proc_end *e, char *buf, size_t len)
{
    if (e->why)
        snprintf(buf, len, "%s", e->why);
    else if (e->signaled)
        snprintf(buf, len, "%s (pid %d) was killed by signal %d (%s)", e->label, (int)e->pid,
                 e->code, strsignal(e->code));
    else
        snprintf(buf, len, "%s (pid %d) exited with status %d", e->label, (int)e->pid, e->code);
}

static void s_print_n(const char *what, uint64_t v)
{
    if (v == UINT64_MAX)
        printf("  %-14s ?\n", what);
    else
        printf("  %-14s %" PRIu64 "\n", what, v);
}

int cli_analyze_main(int argc, char **argv)
{
    struct cmn_config *cfg = NULL;
    const char *sect;
    int pos;
    if (cmn_cli_parse(&s_spec, argc, argv, &cfg, &sect, &pos) != 0)
        return CMN_EXIT_USAGE;

    int rc = CMN_EXIT_USAGE;
    struct s_cmd *cmds = NULL;
    size_t ncmd = 0;
    struct cli_proc_set *procs = NULL;
    char ipc[64] = ""; /* directory of the run's ipc:// sockets */
    uint64_t trackers = 0, live;
    bool keep_outer, force;
    const char *db = cmn_cli_require(&s_spec, cfg, sect, "db");
    const char *export = cmn_config_get(cfg, sect, "export");
    const char *epoch_s = cmn_config_get(cfg, sect, "epoch_seconds");
    const char *batch = cmn_config_get(cfg, sect, "batch_records");
    const char *dwin = cmn_config_get(cfg, sect, "dedup_window_us");
    const char *delays = cmn_config_get(cfg, sect, "start_delay_ms");
    const char *level = cmn_config_get(cfg, sect, "log_level");
    const char *hosts_file = cmn_config_get(cfg, sect, "hosts_file");
    const char *services_file = cmn_config_get(cfg, sect, "services_file");
    const char *sites = cmn_config_get(cfg, sect, "sites");
    const char *memcap = cmn_config_get(cfg, sect, "memcap_mb");
    uint64_t dummy;
    if (!db)
        goto out;
    if (sites) {
        /* checked here, before any process starts (the merger loads it again) */
        struct cmn_sites *chk = cmn_sites_load(sites);
        if (!chk)
            goto out;
        cmn_sites_destroy(&chk);
    }
    if (cmn_config_u64(cfg, sect, "trackers", 2, 1, CLI_MAX_TRACKERS, &trackers) ||
        cmn_config_u64(cfg, sect, "epoch_seconds", 60, 1, 86400 * 365, &dummy) ||
        cmn_config_u64(cfg, sect, "batch_records", 4096, 1, 1 << 20, &dummy) ||
        cmn_config_u64(cfg, sect, "dedup_window_us", 500, 0, 10000000, &dummy) ||
        cmn_config_u64(cfg, sect, "liveness_timeout", CMN_LIVENESS_TIMEOUT_DEF, 0, 86400, &live) ||
        cmn_config_u64(cfg, sect, "memcap_mb", 1024, 1, 1 << 20, &dummy) ||
        cmn_config_bool(cfg, sect, "keep_outer", false, &keep_outer) ||
        cmn_config_bool(cfg, sect, "force", false, &force))
        goto out;
    int ncap = argc - pos;
    if (ncap <= 0) {
        fprintf(stderr, "renkei analyze: no capture files given (see --help)\n");
        goto out;
    }
    if (ncap > 1024) {
        fprintf(stderr, "renkei analyze: at most 1024 capture files, got %d\n", ncap);
        goto out;
    }

    /* 1. Every capture must be readable before anything starts: its header
     * (regular file, magic, version, first block). The collectors read the
     * rest once, warn about damage and link types they skip, and count the
     * packets the summary shows (their final stats). */
    for (int i = 0; i < ncap; i++) {
        const char *cap = argv[pos + i];
        char err[512] = "";
        struct cmn_capfile *cf = cmn_capfile_open(cap, err, sizeof(err));
        if (!cf) {
            if (strstr(err, cap))
                fprintf(stderr, "renkei analyze: %s\n", err);
            else
                fprintf(stderr, "renkei analyze: %s: %s\n", cap, err[0] ? err : "unreadable");
            goto out;
        }
        cmn_capfile_close(&cf);
    }

    /* 1b. Name files: readable, and every line of the services file good. */
    char ferr[512];
    if (hosts_file && cmn_file_check(hosts_file, "hosts file", ferr, sizeof(ferr)) != 0) {
        fprintf(stderr, "renkei analyze: %s\n", ferr);
        goto out;
    }
    if (services_file) {
        struct cmn_service_entry *se = NULL;
        char err[4096];
        if (cmn_names_load_services(services_file, &se, err, sizeof(err)) < 0) {
            fprintf(stderr, "renkei analyze: %s\n", err);
            goto out;
        }
        free(se);
    }

    /* 2. The database: a new file, or --force to replace. */
    if (s_exists(db)) {
        if (!force) {
            fprintf(stderr,
                    "renkei analyze: database '%s' already exists (use --force to "
                    "replace it)\n",
                    db);
            goto out;
        }
        if (s_remove_db(db) != 0)
            goto out;
    }

    /* 3. The daemons next to this executable. */
    char bindir[PATH_MAX];
    rc = CMN_EXIT_ERROR;
    if (s_bindir(bindir, sizeof(bindir)) != 0) {
        fprintf(stderr, "renkei analyze: cannot find my own executable: %s\n", strerror(errno));
        goto out;
    }
    static const char *const daemons[] = {"renkei-merger", "renkei-tracker", "renkei-splitter",
                                          "renkei-collector"};
    char path[4][PATH_MAX + 32];
    for (int i = 0; i < 4; i++) {
        snprintf(path[i], sizeof(path[i]), "%s/%s", bindir, daemons[i]);
        if (access(path[i], X_OK) != 0) {
            fprintf(stderr, "renkei analyze: %s not found next to renkei (%s: %s)\n", daemons[i],
                    path[i], strerror(errno));
            goto out;
        }
    }

    /* 4. Endpoints: ipc:// sockets in a private directory (one host). */
    if (s_ipc_dir(ipc, sizeof(ipc)) != 0)
        goto out;

    /* 5. Command lines. */
    ncmd = 2 + (size_t)trackers + (size_t)ncap;
    cmds = calloc(ncmd, sizeof(*cmds));
    if (!cmds)
        abort();
    size_t k = 0;
    struct s_cmd *c = &cmds[k++];
    snprintf(c->label, sizeof(c->label), "renkei-merger");
    s_arg(c, "%s", path[0]);
    s_arg(c, "--listen=ipc://%s/merger", ipc);
    s_arg(c, "--db=%s", db);
    s_arg(c, "--trackers=%" PRIu64, trackers);
    s_arg(c, "--exit-on-eos");
    s_arg(c, "--liveness-timeout=%" PRIu64, live);
    if (hosts_file)
        s_arg(c, "--hosts-file=%s", hosts_file);
    if (services_file)
        s_arg(c, "--services-file=%s", services_file);
    if (sites)
        s_arg(c, "--sites-file=%s", sites);
    if (memcap)
        s_arg(c, "--memcap-mb=%s", memcap);
    c->ok_mask = CLI_EXIT_BIT(CMN_EXIT_LOST);
    for (uint64_t t = 0; t < trackers; t++) {
        c = &cmds[k++];
        snprintf(c->label, sizeof(c->label), "renkei-tracker %" PRIu64, t);
        s_arg(c, "%s", path[1]);
        s_arg(c, "--id=%" PRIu64, t);
        s_arg(c, "--listen=ipc://%s/tracker-%" PRIu64, ipc, t);
        s_arg(c, "--merger=ipc://%s/merger", ipc);
        s_arg(c, "--exit-on-eos");
        if (memcap)
            s_arg(c, "--memcap-mb=%s", memcap);
    }
    c = &cmds[k++];
    snprintf(c->label, sizeof(c->label), "renkei-splitter");
    s_arg(c, "%s", path[2]);
    s_arg(c, "--listen=ipc://%s/splitter", ipc);
    for (uint64_t t = 0; t < trackers; t++)
        s_arg(c, "--tracker=ipc://%s/tracker-%" PRIu64, ipc, t);
    s_arg(c, "--merger=ipc://%s/merger", ipc);
    s_arg(c, "--collectors=%d", ncap);
    s_arg(c, "--liveness-timeout=%" PRIu64, live);
    if (epoch_s)
        s_arg(c, "--epoch-seconds=%s", epoch_s);
    if (batch)
        s_arg(c, "--batch-records=%s", batch);
    if (dwin)
        s_arg(c, "--dedup-window-us=%s", dwin);
    const char *dnext = delays;
    for (int i = 0; i < ncap; i++) {
        c = &cmds[k++];
        snprintf(c->label, sizeof(c->label), "renkei-collector %d", i);
        s_arg(c, "%s", path[3]);
        s_arg(c, "--id=%d", i);
        s_arg(c, "--pcap=%s", argv[pos + i]);
        s_arg(c, "--file-prefix=renkei-%d-col-%d", (int)getpid(), i);
        s_arg(c, "--splitter=ipc://%s/splitter", ipc);
        s_arg(c, "--merger=ipc://%s/merger", ipc);
        if (batch)
            s_arg(c, "--batch-records=%s", batch);
        if (keep_outer)
            s_arg(c, "--keep-outer");
        if (dnext && *dnext) {
            char *end;
            unsigned long ms = strtoul(dnext, &end, 10);
            if (end != dnext && ms > 0)
                s_arg(c, "--start-delay-ms=%lu", ms);
            dnext = *end == ',' ? end + 1 : end;
        }
    }
    for (size_t i = 0; i < ncmd; i++) {
        if (level)
            s_arg(&cmds[i], "--log-level=%s", level);
        char line[2048];
        size_t off = 0;
        for (int a = 0; a < cmds[i].argc && off < sizeof(line); a++)
            off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s", a ? " " : "",
                                    cmds[i].argv[a]);
        CMN_LOG(INFO, "%s: %s", cmds[i].label, line);
    }

    /* 6. Run and wait. */
    procs = cli_proc_set_new();
    int merger_idx = -1;
    for (size_t i = 0; i < ncmd; i++) {
        int idx = cli_proc_spawn(procs, cmds[i].label, cmds[i].argv, cmds[i].ok_mask);
        if (idx < 0) {
            fprintf(stderr, "renkei analyze: cannot start %s: %s\n", cmds[i].label, strerror(-idx));
            cli_proc_signal_all(procs, SIGTERM);
            goto out;
        }
        if (i == 0)
            merger_idx = idx;
    }
    /* the merger ends the run; the others follow it (a stopped tracker the
     * merger gave up on would not), and a silent merger fails the run */
    cli_proc_set_leader(procs, merger_idx, 3000);
    struct s_watch watch = {.db = db,
                            .procs = procs,
                            .merger = merger_idx,
                            .start_ns = cmn_now_ns(),
                            .timeout_ns = live * 1000000000ull};
    if (live)
        cli_proc_set_watch(procs, s_watch_merger, &watch);
    struct cli_proc_end failed;
    int signo = 0;
    int w = cli_proc_wait_all(procs, &failed, &signo);
    if (w == -EINTR) {
        fprintf(stderr, "renkei analyze: stopped by %s; the database may be incomplete: %s\n",
                strsignal(signo), db);
        rc = 128 + signo;
        goto out;
    }
    if (w == -ECHILD) {
        char what[256];
        s_describe(&failed, what, sizeof(what));
        fprintf(stderr, "renkei analyze: %s; stopped the other processes\n", what);
        s_mark_interrupted(db);
        rc = CMN_EXIT_ERROR;
        goto out;
    }
    struct cli_proc_end m;
    bool lost = cli_proc_result(procs, merger_idx, &m) && !m.signaled && m.code == CMN_EXIT_LOST;

    /* 7. Export and summary. */
    rc = lost ? CMN_EXIT_LOST : CMN_EXIT_OK;
    if (export && cli_report_export(db, export) != 0) {
        fprintf(stderr, "renkei analyze: could not write the export '%s'\n", export);
        rc = lost ? CMN_EXIT_LOST : CMN_EXIT_ERROR;
    }
    struct cli_db_summary s;
    if (cli_report_summary(db, &s) != 0) {
        fprintf(stderr, "renkei analyze: the merger finished but '%s' cannot be read\n", db);
        rc = CMN_EXIT_ERROR;
        goto out;
    }
    bool partial = strcmp(s.run_state, "partial") == 0;
    if (partial)
        fprintf(stderr,
                "renkei analyze: the run is partial, a process stopped answering: %s; "
                "database kept: %s\n",
                s.where, db);
    else if (lost)
        fprintf(stderr,
                "renkei analyze: records were lost: not every record sent was received "
                "(see the merger's accounting above); database kept: %s\n",
                db);
    printf("renkei analyze: %s\n", partial ? "PARTIAL: a process stopped answering"
                                   : lost  ? "finished, but records were lost"
                                           : "done");
    if (s.captured == UINT64_MAX)
        printf("  %-14s %d\n", "captures", ncap);
    else
        printf("  %-14s %d (%" PRIu64 " packets)\n", "captures", ncap, s.captured);
    s_print_n("records", s.records);
    if (s.skipped != UINT64_MAX && s.skipped > 0)
        printf("  %-14s %" PRIu64 " packets of link types not parsed (the collectors' warnings "
               "name them)\n",
               "skipped", s.skipped);
    if (ncap > 1)
        s_print_n("duplicates", s.duplicates);
    s_print_n("hosts", s.hosts);
    s_print_n("services", s.services);
    s_print_n("edges", s.edges);
    if (s.unverifiable && s.unverifiable != UINT64_MAX)
        printf("  %-14s %" PRIu64 " counted, %" PRIu64 " pipes unverifiable (%s)\n", "records lost",
               s.records_lost == UINT64_MAX ? 0 : s.records_lost, s.unverifiable, s.where);
    else
        s_print_n("records lost", s.records_lost);
    uint64_t tm = s.trk_memcap == UINT64_MAX ? 0 : s.trk_memcap;
    uint64_t mm = s.mrg_memcap == UINT64_MAX ? 0 : s.mrg_memcap;
    if (tm || mm) {
        /* received, then refused for memory: the map lacks them */
        printf("  %-14s %" PRIu64 " by the trackers' memcap_mb, %" PRIu64
               " by the merger's (raise memcap_mb)\n",
               "memcap drops", tm, mm);
        fprintf(stderr,
                "renkei analyze: %" PRIu64 " records or endpoint rows were refused for memory"
                " (memcap_mb): the map lacks them\n",
                tm + mm);
    }
    printf("  %-14s %s\n", "database", db);
    if (export && rc != CMN_EXIT_ERROR)
        printf("  %-14s %s\n", "export", export);
    printf("view it with:  renkei serve --db %s\n", db);

out:
    cli_proc_set_destroy(&procs);
    s_ipc_remove(ipc, trackers);
    for (size_t i = 0; i < ncmd; i++)
        s_cmd_free(&cmds[i]);
    free(cmds);
    cmn_config_destroy(&cfg);
    return rc;
}
