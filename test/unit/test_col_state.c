/* SPDX-License-Identifier: MIT
 * Unit tests for collector/col_state: a saved state reads back whole; the
 * newest valid slot wins and a torn (damaged) newest slot falls back to the
 * other; a new file starts at frame 0; a state of another collector id, of
 * another capture or of this capture after it changed, a file with both
 * slots damaged and a FIFO are refused with a message naming the problem.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "col_state.h"
#include "harness.h"

static char s_cap[96], s_cap2[96], s_st[96];

static void s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

static void s_setup(void)
{
    snprintf(s_cap, sizeof(s_cap), "/tmp/renkei-test-colst-cap-%d", (int)getpid());
    snprintf(s_cap2, sizeof(s_cap2), "/tmp/renkei-test-colst-cap2-%d", (int)getpid());
    snprintf(s_st, sizeof(s_st), "/tmp/renkei-test-colst-%d", (int)getpid());
    s_write(s_cap, "not really a capture, only its identity matters here\n");
    s_write(s_cap2, "another file\n");
    unlink(s_st);
}

static void s_teardown(void)
{
    unlink(s_cap);
    unlink(s_cap2);
    unlink(s_st);
}

static struct col_state_rec s_rec(uint64_t frames, uint64_t seq)
{
    struct col_state_rec r;
    memset(&r, 0, sizeof(r));
    r.frames = frames;
    r.seq = seq;
    r.records_sent = seq * 100;
    for (int i = 0; i < COL_STAT_COUNT; i++)
        r.stats[i] = frames * 1000 + (uint64_t)i;
    return r;
}

TEST(state_round_trip)
{
    s_setup();
    char err[1024];
    struct col_state_rec r;
    struct col_state *st = col_state_open(s_st, 7, s_cap, &r, err, sizeof(err));
    FAIL_IF_NOT(st);
    FAIL_IF(r.frames != 0 || r.seq != 0 || r.done); /* new file */
    for (uint64_t k = 1; k <= 5; k++) {
        struct col_state_rec w = s_rec(k * 4096, k);
        w.done = k == 5;
        FAIL_IF(col_state_save(st, &w, k == 5) != 0);
    }
    col_state_close(&st);
    FAIL_IF(st);
    st = col_state_open(s_st, 7, s_cap, &r, err, sizeof(err));
    FAIL_IF_NOT(st);
    struct col_state_rec want = s_rec(5 * 4096, 5);
    FAIL_IF(r.frames != want.frames || r.seq != 5 || r.records_sent != 500 || !r.done);
    FAIL_IF(memcmp(r.stats, want.stats, sizeof(r.stats)) != 0);
    /* saving goes on from the generation read back */
    struct col_state_rec w6 = s_rec(6 * 4096, 6);
    FAIL_IF(col_state_save(st, &w6, false) != 0);
    col_state_close(&st);
    st = col_state_open(s_st, 7, s_cap, &r, err, sizeof(err));
    FAIL_IF_NOT(st && r.seq == 6 && !r.done);
    col_state_close(&st);
    s_teardown();
    PASS;
}

TEST(state_torn_slot_falls_back)
{
    s_setup();
    char err[1024];
    struct col_state_rec r;
    struct col_state *st = col_state_open(s_st, 1, s_cap, &r, err, sizeof(err));
    FAIL_IF_NOT(st);
    struct col_state_rec a = s_rec(100, 1), b = s_rec(200, 2);
    FAIL_IF(col_state_save(st, &a, false) != 0); /* generation 1: slot 1 */
    FAIL_IF(col_state_save(st, &b, false) != 0); /* generation 2: slot 0 */
    col_state_close(&st);
    /* tear the newest slot (0): one byte in its counters */
    int fd = open(s_st, O_WRONLY);
    FAIL_IF(fd < 0);
    FAIL_IF(pwrite(fd, "X", 1, 200) != 1);
    close(fd);
    st = col_state_open(s_st, 1, s_cap, &r, err, sizeof(err));
    FAIL_IF_NOT(st);
    FAIL_IF(r.frames != 100 || r.seq != 1); /* the older, intact slot */
    col_state_close(&st);
    /* both torn: refused */
    fd = open(s_st, O_WRONLY);
    FAIL_IF(fd < 0);
    FAIL_IF(pwrite(fd, "X", 1, 4096 + 200) != 1);
    close(fd);
    st = col_state_open(s_st, 1, s_cap, &r, err, sizeof(err));
    FAIL_IF(st);
    FAIL_IF_NOT(strstr(err, "damaged") && strstr(err, s_st));
    s_teardown();
    PASS;
}

TEST(state_refuses_what_does_not_fit)
{
    s_setup();
    char err[1024];
    struct col_state_rec r;
    struct col_state *st = col_state_open(s_st, 3, s_cap, &r, err, sizeof(err));
    FAIL_IF_NOT(st);
    struct col_state_rec w = s_rec(10, 1);
    FAIL_IF(col_state_save(st, &w, true) != 0);
    col_state_close(&st);
    /* another collector id */
    FAIL_IF(col_state_open(s_st, 4, s_cap, &r, err, sizeof(err)));
    FAIL_IF_NOT(strstr(err, "collector 3"));
    /* another capture */
    FAIL_IF(col_state_open(s_st, 3, s_cap2, &r, err, sizeof(err)));
    FAIL_IF_NOT(strstr(err, "another capture"));
    /* the same capture, changed (appended to) */
    FILE *f = fopen(s_cap, "a");
    FAIL_IF_NOT(f);
    fputs("more\n", f);
    fclose(f);
    FAIL_IF(col_state_open(s_st, 3, s_cap, &r, err, sizeof(err)));
    FAIL_IF_NOT(strstr(err, "changed"));
    /* a capture that is not there */
    FAIL_IF(col_state_open(s_st, 3, "/nonexistent/renkei.pcap", &r, err, sizeof(err)));
    FAIL_IF_NOT(strstr(err, "/nonexistent/renkei.pcap"));
    /* a FIFO as the state file: refused at once, no hang */
    unlink(s_st);
    FAIL_IF(mkfifo(s_st, 0600) != 0);
    FAIL_IF(col_state_open(s_st, 3, s_cap, &r, err, sizeof(err)));
    FAIL_IF_NOT(strstr(err, "not a regular file"));
    s_teardown();
    PASS;
}

TEST_MAIN(TEST_ENTRY(state_round_trip) TEST_ENTRY(state_torn_slot_falls_back)
              TEST_ENTRY(state_refuses_what_does_not_fit))
