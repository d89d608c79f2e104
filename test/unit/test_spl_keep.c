/* SPDX-License-Identifier: MIT
 * test_spl_keep: a tracker pipe's keep log: messages in order with their
 * kind and tag, the position after an EpochFlush, release through a flush,
 * unappend, the size cap dropping the oldest (counted), the released front
 * given back (empty file; compaction past 64 MiB), a stale file replaced,
 * the file removed on close, left for the next process by a splitter
 * that leaves a run it did not end, and cut by that process through its
 * checkpoint's last message (an EpochFlush, or the ShardMap that ended a
 * handover).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmn_wire.h"
#include "harness.h"
#include "spl_keep.h"

static char s_dir[64];

static void s_setup(void)
{
    snprintf(s_dir, sizeof(s_dir), "/tmp/renkei-test-keep-XXXXXX");
    if (!mkdtemp(s_dir))
        abort();
}

static long s_size(const char *name)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", s_dir, name);
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}

/* Message i: 8 bytes of i then `len - 8` bytes of (i & 0xff). */
static int s_put(struct spl_keep *k, uint64_t i, size_t len, enum spl_keep_kind kind, uint64_t tag)
{
    static uint8_t buf[1 << 20];
    memcpy(buf, &i, 8);
    memset(buf + 8, (int)(i & 0xff), len - 8);
    return spl_keep_append(k, buf, len, kind, tag);
}

static bool s_is(struct spl_keep *k, size_t pos, uint64_t i, enum spl_keep_kind kind, uint64_t tag)
{
    const uint8_t *d;
    size_t len;
    enum spl_keep_kind kd;
    uint64_t tg;
    uint64_t v;
    if (spl_keep_get(k, pos, &d, &len, &kd, &tg) != 1)
        return false;
    memcpy(&v, d, 8);
    return v == i && kd == kind && tg == tag && d[len - 1] == (uint8_t)(i & 0xff);
}

TEST(keep_order_release_unappend)
{
    s_setup();
    struct spl_keep *k = spl_keep_open(s_dir, "t0.keep", 1 << 20);
    FAIL_IF_NOT(k);
    /* pipe: b1 b2 F0 b3 F1 b4 */
    FAIL_IF(s_put(k, 1, 100, SPL_KEEP_BATCH, 1) || s_put(k, 2, 100, SPL_KEEP_BATCH, 2));
    FAIL_IF(s_put(k, 3, 16, SPL_KEEP_FLUSH, 0) || s_put(k, 4, 100, SPL_KEEP_BATCH, 3));
    FAIL_IF(s_put(k, 5, 16, SPL_KEEP_FLUSH, 1) || s_put(k, 6, 100, SPL_KEEP_BATCH, 4));
    FAIL_IF(s_put(k, 7, 50, SPL_KEEP_OTHER, 0));
    spl_keep_unappend(k); /* its send failed */
    FAIL_IF_NOT(spl_keep_count(k) == 6 && spl_keep_bytes(k) == 6 * 4 + 4 * 100 + 2 * 16);
    FAIL_IF_NOT(spl_keep_after(k, false, 0) == 0);
    FAIL_IF_NOT(spl_keep_after(k, true, 0) == 3);
    FAIL_IF_NOT(spl_keep_after(k, true, 1) == 5);
    FAIL_IF_NOT(spl_keep_after(k, true, 7) == 0); /* not kept: from the oldest */
    FAIL_IF_NOT(s_is(k, 3, 4, SPL_KEEP_BATCH, 3) && s_is(k, 5, 6, SPL_KEEP_BATCH, 4));
    FAIL_IF_NOT(spl_keep_release(k, 0) == 3 && spl_keep_count(k) == 3);
    FAIL_IF_NOT(s_is(k, 0, 4, SPL_KEEP_BATCH, 3) && s_is(k, 1, 5, SPL_KEEP_FLUSH, 1));
    FAIL_IF_NOT(spl_keep_release(k, 0) == 0); /* released already */
    FAIL_IF_NOT(spl_keep_after(k, true, 1) == 2);
    FAIL_IF(s_put(k, 8, 16, SPL_KEEP_FLUSH, 2));
    FAIL_IF_NOT(spl_keep_release(k, 2) == 4 && spl_keep_count(k) == 0);
    FAIL_IF_NOT(s_size("t0.keep") == 0); /* empty: the disk is given back */
    /* the cap: the oldest go, counted */
    for (uint64_t i = 0; i < 30; i++)
        FAIL_IF(s_put(k, 100 + i, 50000, SPL_KEEP_BATCH, 10 + i));
    FAIL_IF_NOT(spl_keep_bytes(k) <= 1 << 20 && spl_keep_dropped(k) == 30 - spl_keep_count(k));
    FAIL_IF_NOT(s_is(k, spl_keep_count(k) - 1, 129, SPL_KEEP_BATCH, 39));
    FAIL_IF_NOT(s_is(k, 0, 100 + spl_keep_dropped(k), SPL_KEEP_BATCH, 10 + spl_keep_dropped(k)));
    spl_keep_close(&k);
    FAIL_IF_NOT(k == NULL && s_size("t0.keep") == -1);
    rmdir(s_dir);
    return 0;
}

TEST(keep_compaction_and_stale_file)
{
    s_setup();
    char p[128];
    snprintf(p, sizeof(p), "%s/t1.keep", s_dir);
    FILE *f = fopen(p, "w"); /* left by a splitter that died */
    FAIL_IF_NOT(f);
    fputs("stale", f);
    fclose(f);
    struct spl_keep *k = spl_keep_open(s_dir, "t1.keep", 1ull << 30);
    FAIL_IF_NOT(k && s_size("t1.keep") == 0);
    /* 100 messages of 1 MiB, a flush after each tenth */
    for (uint64_t i = 0; i < 100; i++) {
        FAIL_IF(s_put(k, i, 1 << 20, SPL_KEEP_BATCH, i + 1));
        if (i % 10 == 9)
            FAIL_IF(s_put(k, 1000 + i / 10, 16, SPL_KEEP_FLUSH, i / 10));
    }
    long before = s_size("t1.keep");
    /* release through flush 6 (70 MiB): dead front > live rest and >= 64 MiB */
    FAIL_IF_NOT(spl_keep_release(k, 6) == 77);
    long after = s_size("t1.keep");
    FAIL_IF_NOT(after > 0 && after < before / 2 && (uint64_t)after == spl_keep_bytes(k));
    FAIL_IF_NOT(s_is(k, 0, 70, SPL_KEEP_BATCH, 71));
    FAIL_IF_NOT(spl_keep_after(k, true, 8) == 22);
    FAIL_IF_NOT(s_is(k, 22, 90, SPL_KEEP_BATCH, 91));
    FAIL_IF(s_put(k, 500, 64, SPL_KEEP_OTHER, 0)); /* appends go on after the compaction */
    FAIL_IF_NOT(s_is(k, spl_keep_count(k) - 1, 500, SPL_KEEP_OTHER, 0));
    spl_keep_clear(k);
    FAIL_IF_NOT(spl_keep_count(k) == 0 && s_size("t1.keep") == 0);
    spl_keep_close(&k);
    FAIL_IF_NOT(s_size("t1.keep") == -1);
    rmdir(s_dir);
    return 0;
}

/* A splitter leaving a run it did not end (a restart) leaves the file for
 * the next process; one that ended it removes it. */
TEST(keep_left_for_a_restart)
{
    s_setup();
    struct spl_keep *k = spl_keep_open(s_dir, "t2.keep", 1 << 20);
    FAIL_IF_NOT(k);
    FAIL_IF(s_put(k, 1, 100, SPL_KEEP_BATCH, 1) || s_put(k, 2, 16, SPL_KEEP_FLUSH, 0));
    spl_keep_leave(&k, false);
    FAIL_IF_NOT(k == NULL && s_size("t2.keep") == 2 * 4 + 100 + 16);
    k = spl_keep_open(s_dir, "t2.keep", 1 << 20);
    FAIL_IF_NOT(k);
    spl_keep_leave(&k, true);
    FAIL_IF_NOT(k == NULL && s_size("t2.keep") == -1);
    rmdir(s_dir);
    return 0;
}

/* Real envelopes: a ShardMap of `version`, or an EpochFlush of `epoch`. */
static int s_put_env(struct spl_keep *k, bool map, uint64_t n)
{
    Renkei__ShardMap sm = RENKEI__SHARD_MAP__INIT;
    Renkei__EpochFlush f = RENKEI__EPOCH_FLUSH__INIT;
    Renkei__Envelope env = RENKEI__ENVELOPE__INIT;
    if (map) {
        sm.version = n;
        sm.tracker_count = 2;
        env.body_case = RENKEI__ENVELOPE__BODY_SHARD_MAP;
        env.shard_map = &sm;
    } else {
        f.epoch = n;
        env.body_case = RENKEI__ENVELOPE__BODY_FLUSH;
        env.flush = &f;
    }
    size_t len;
    uint8_t *d = cmn_wire_pack(&env, &len);
    int rc = d ? spl_keep_append(k, d, len, map ? SPL_KEEP_MAP : SPL_KEEP_FLUSH, n) : -1;
    free(d);
    return rc;
}

/* The successor cuts through the checkpoint's last message, found by kind
 * and tag from the decoded messages: a map's version tells the map that
 * ended a handover from the maps before it. */
TEST(keep_resume_cuts_at_the_checkpoint)
{
    s_setup();
    struct spl_keep *k = spl_keep_open(s_dir, "t3.keep", 1 << 20);
    FAIL_IF_NOT(k);
    FAIL_IF(s_put_env(k, true, 1) || s_put_env(k, false, 0) || s_put_env(k, true, 2) ||
            s_put_env(k, false, 1) || s_put_env(k, false, 2));
    spl_keep_leave(&k, false);
    k = spl_keep_resume(s_dir, "t3.keep", 1 << 20, true, SPL_KEEP_MAP, 2);
    FAIL_IF_NOT(k && spl_keep_count(k) == 3);
    enum spl_keep_kind kind;
    uint64_t tag;
    FAIL_IF_NOT(spl_keep_last(k, &kind, &tag) && kind == SPL_KEEP_MAP && tag == 2);
    FAIL_IF(s_put_env(k, false, 1));
    spl_keep_leave(&k, false);
    k = spl_keep_resume(s_dir, "t3.keep", 1 << 20, true, SPL_KEEP_FLUSH, 0);
    FAIL_IF_NOT(k && spl_keep_count(k) == 2);
    spl_keep_leave(&k, false);
    k = spl_keep_resume(s_dir, "t3.keep", 1 << 20, true, SPL_KEEP_MAP, 7); /* released past */
    FAIL_IF_NOT(k && spl_keep_count(k) == 0);
    spl_keep_leave(&k, true);
    rmdir(s_dir);
    return 0;
}

TEST_MAIN(TEST_ENTRY(keep_order_release_unappend) TEST_ENTRY(keep_compaction_and_stale_file)
              TEST_ENTRY(keep_left_for_a_restart) TEST_ENTRY(keep_resume_cuts_at_the_checkpoint))
