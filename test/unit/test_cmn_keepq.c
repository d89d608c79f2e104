/* SPDX-License-Identifier: MIT
 * test_cmn_keepq: a sender's keep queue: order and tags across memory and
 * the spill file, both caps (refused past them), removal from the front and
 * by predicate, the file's space given back (new empty file; compaction past
 * 64 MiB of dead bytes), a volatile queue leaving no file, and a durable one
 * saved into a checkpoint and loaded back (what the file got after the save
 * cut off; generations removed only when neither of the last two saves
 * refers to them; a spill file shorter than its checkpoint refused).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmn_ckpt.h"
#include "cmn_keepq.h"
#include "harness.h"

static char s_dir[64];

static void s_setup(void)
{
    snprintf(s_dir, sizeof(s_dir), "/tmp/renkei-test-keepq-XXXXXX");
    if (!mkdtemp(s_dir))
        abort();
}

/* Files in s_dir whose name starts with `prefix`. */
static int s_files(const char *prefix)
{
    DIR *d = opendir(s_dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
            n++;
    if (d)
        closedir(d);
    return n;
}

static void s_rmdir(void)
{
    DIR *d = opendir(s_dir);
    struct dirent *de;
    char p[400];
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') {
            snprintf(p, sizeof(p), "%s/%s", s_dir, de->d_name);
            unlink(p);
        }
    if (d)
        closedir(d);
    rmdir(s_dir);
}

/* Message i: 8 bytes of i, then len - 8 bytes of (i & 0xff). */
static int s_push(struct cmn_keepq *q, uint64_t i, size_t len)
{
    uint8_t *b = malloc(len);
    memcpy(b, &i, 8);
    memset(b + 8, (int)(i & 0xff), len - 8);
    uint64_t tag[3] = {i, i * 10, len};
    return cmn_keepq_push_owned(q, b, len, tag);
}

static bool s_is(struct cmn_keepq *q, size_t pos, uint64_t i)
{
    const uint8_t *d;
    size_t len;
    const uint64_t *t = cmn_keepq_tag(q, pos);
    if (cmn_keepq_get(q, pos, &d, &len) != 0)
        return false;
    uint64_t v;
    memcpy(&v, d, 8);
    return v == i && t[0] == i && t[1] == i * 10 && t[2] == len &&
           d[len - 1] == (uint8_t)(i & 0xff);
}

static bool s_even(const uint64_t tag[3], void *arg)
{
    (void)arg;
    return tag[0] % 2 == 0;
}

TEST(memory_then_file_in_order)
{
    s_setup();
    struct cmn_keepq *q = cmn_keepq_new(s_dir, "c1.keep", 1000, 3000, false);
    FAIL_IF_NOT(q);
    for (uint64_t i = 0; i < 10; i++) /* 4 fit in memory (4 x 250), 6 go to the file */
        FAIL_IF_NOT(s_push(q, i, 250) == 0);
    struct cmn_keepq_stats st;
    cmn_keepq_stats(q, &st);
    FAIL_IF_NOT(st.messages == 10 && st.mem_bytes == 1000 && st.spilled == 6 && st.bytes == 2500 &&
                st.file_bytes == 1500);
    FAIL_IF_NOT(s_files("c1.keep") == 0); /* volatile: unlinked at once */
    for (size_t i = 0; i < 10; i++)
        FAIL_IF_NOT(s_is(q, i, i));
    /* disk cap 3000: 6 more of 250 fit (3000), the 7th is refused */
    for (uint64_t i = 10; i < 16; i++)
        FAIL_IF_NOT(s_push(q, i, 250) == 0);
    FAIL_IF_NOT(s_push(q, 16, 250) == -ENOSPC);
    /* the front frees memory: the next one lands in memory, still last in order */
    cmn_keepq_pop(q);
    FAIL_IF_NOT(s_push(q, 17, 250) == 0);
    FAIL_IF_NOT(cmn_keepq_count(q) == 16 && s_is(q, 0, 1) && s_is(q, 14, 15) && s_is(q, 15, 17));
    /* by predicate: the even ones go, wherever they are */
    FAIL_IF_NOT(cmn_keepq_remove_if(q, s_even, NULL) == 7);
    FAIL_IF_NOT(cmn_keepq_count(q) == 9);
    for (size_t i = 0; i < 8; i++)
        FAIL_IF_NOT(s_is(q, i, 2 * i + 1));
    FAIL_IF_NOT(s_is(q, 8, 17));
    /* everything in the file gone: the file goes, the next spill makes a new one */
    while (cmn_keepq_count(q))
        cmn_keepq_pop(q);
    cmn_keepq_stats(q, &st);
    FAIL_IF_NOT(st.bytes == 0 && st.file_bytes == 0 && st.refused == 1);
    for (uint64_t i = 20; i < 26; i++)
        FAIL_IF_NOT(s_push(q, i, 250) == 0);
    cmn_keepq_stats(q, &st);
    FAIL_IF_NOT(st.file_bytes == 500 && s_is(q, 5, 25));
    cmn_keepq_destroy(&q);
    FAIL_IF_NOT(q == NULL);
    s_rmdir();
    PASS;
}

TEST(memory_only_and_copies)
{
    struct cmn_keepq *q = cmn_keepq_new(NULL, "m.keep", 600, 1u << 30, false);
    FAIL_IF_NOT(q);
    uint8_t b[300];
    memset(b, 7, sizeof(b));
    uint64_t tag[3] = {1, 2, 3};
    FAIL_IF_NOT(cmn_keepq_push(q, b, sizeof(b), tag) == 0);
    b[0] = 9; /* copied: the kept one does not change */
    FAIL_IF_NOT(cmn_keepq_push(q, b, sizeof(b), tag) == 0);
    FAIL_IF_NOT(cmn_keepq_push(q, b, sizeof(b), tag) == -ENOSPC); /* no dir: no file */
    const uint8_t *d;
    size_t len;
    FAIL_IF_NOT(cmn_keepq_get(q, 0, &d, &len) == 0 && len == 300 && d[0] == 7);
    FAIL_IF_NOT(cmn_keepq_get(q, 1, &d, &len) == 0 && d[0] == 9);
    FAIL_IF_NOT(cmn_keepq_push(q, b, 0, tag) == -EINVAL);
    cmn_keepq_destroy(&q);
    FAIL_IF_NOT(cmn_keepq_new("/tmp", "a/b", 1, 1, false) == NULL);
    FAIL_IF_NOT(cmn_keepq_new(NULL, "x", 1, 1, true) == NULL);
    PASS;
}

TEST(compaction_past_64mib)
{
    s_setup();
    struct cmn_keepq *q = cmn_keepq_new(s_dir, "big", 0, 1ull << 30, false);
    FAIL_IF_NOT(q);
    const size_t mb = 1 << 20;
    for (uint64_t i = 0; i < 70; i++)
        FAIL_IF_NOT(s_push(q, i, mb) == 0);
    for (int i = 0; i < 35; i++) /* 35 MiB dead: not yet */
        cmn_keepq_pop(q);
    struct cmn_keepq_stats st;
    cmn_keepq_stats(q, &st);
    FAIL_IF_NOT(st.compactions == 0 && st.file_bytes == 70 * mb);
    for (int i = 0; i < 30; i++) /* 65 MiB dead > 64 and > 5 live: the live 5 move */
        cmn_keepq_pop(q);
    cmn_keepq_stats(q, &st);
    FAIL_IF_NOT(st.compactions == 1 && st.file_bytes == 5 * mb && st.bytes == 5 * mb);
    for (size_t i = 0; i < 5; i++)
        FAIL_IF_NOT(s_is(q, i, 65 + i));
    FAIL_IF_NOT(s_push(q, 99, mb) == 0 && s_is(q, 5, 99));
    cmn_keepq_destroy(&q);
    s_rmdir();
    PASS;
}

/* Save q into checkpoint NAME, then tell it the checkpoint is on disk. */
static int s_save(struct cmn_keepq *q, const char *name)
{
    struct cmn_ckpt c;
    if (cmn_ckpt_open_write(&c, s_dir, name) != 0)
        return -1;
    cmn_ckpt_put_u64(&c, 42);
    cmn_keepq_save(q, &c);
    if (cmn_ckpt_close_write(&c) != 0)
        return -1;
    cmn_keepq_saved(q);
    return 0;
}

static int s_load(struct cmn_keepq *q, const char *name)
{
    struct cmn_ckpt c;
    if (cmn_ckpt_open_read(&c, s_dir, name) != 1)
        return -1;
    uint64_t v = 0;
    (void)cmn_ckpt_get(&c, &v, sizeof(v));
    int rc = cmn_keepq_load(q, &c);
    int rc2 = cmn_ckpt_close_read(&c);
    return v == 42 && rc == 0 && rc2 == 0 ? 0 : -1;
}

TEST(durable_save_load_cut)
{
    s_setup();
    struct cmn_keepq *q = cmn_keepq_new(s_dir, "t0.keep", 500, 1u << 20, true);
    FAIL_IF_NOT(q);
    for (uint64_t i = 0; i < 6; i++) /* 2 in memory, 4 in the file */
        FAIL_IF_NOT(s_push(q, i, 250) == 0);
    FAIL_IF_NOT(s_files("t0.keep.") == 1);
    FAIL_IF_NOT(s_save(q, "t0.ckpt") == 0);
    for (uint64_t i = 6; i < 9; i++) /* after the save: void on a load */
        FAIL_IF_NOT(s_push(q, i, 250) == 0);
    cmn_keepq_destroy(&q); /* a crash, as far as the files go */
    FAIL_IF_NOT(s_files("t0.keep.") == 1);

    q = cmn_keepq_new(s_dir, "t0.keep", 500, 1u << 20, true);
    FAIL_IF_NOT(s_load(q, "t0.ckpt") == 0);
    FAIL_IF_NOT(cmn_keepq_count(q) == 6);
    for (size_t i = 0; i < 6; i++)
        FAIL_IF_NOT(s_is(q, i, i));
    struct cmn_keepq_stats st;
    cmn_keepq_stats(q, &st);
    FAIL_IF_NOT(st.file_bytes == 1000 && st.mem_bytes == 500); /* cut at the save */
    FAIL_IF_NOT(s_push(q, 6, 250) == 0 && s_is(q, 6, 6));      /* appended after the cut */
    /* all of the file acknowledged: the next spill goes to a new generation,
     * the old one stays while one of the last two saves refers to it */
    while (cmn_keepq_count(q))
        cmn_keepq_pop(q);
    for (uint64_t i = 10; i < 14; i++)
        FAIL_IF_NOT(s_push(q, i, 250) == 0);
    FAIL_IF_NOT(s_files("t0.keep.") == 2);
    FAIL_IF_NOT(s_save(q, "t0.ckpt") == 0); /* saves: old (load), new */
    FAIL_IF_NOT(s_files("t0.keep.") == 2);
    FAIL_IF_NOT(s_save(q, "t0.ckpt") == 0); /* saves: new, new: the old goes */
    FAIL_IF_NOT(s_files("t0.keep.") == 1);
    /* the .prev checkpoint still loads (same generation, shorter) */
    FAIL_IF_NOT(s_push(q, 14, 250) == 0);
    FAIL_IF_NOT(s_save(q, "t0.ckpt") == 0);
    struct cmn_keepq *r = cmn_keepq_new(s_dir, "t0.keep", 500, 1u << 20, true);
    FAIL_IF_NOT(s_load(r, "t0.ckpt.prev") == 0 && cmn_keepq_count(r) == 4 && s_is(r, 3, 13));
    cmn_keepq_destroy(&r);
    cmn_keepq_destroy(&q); /* the files stay */
    /* a spill file shorter than its checkpoint says: refused, the queue empty */
    char p[200];
    snprintf(p, sizeof(p), "%s/t0.keep.2", s_dir);
    FAIL_IF_NOT(truncate(p, 10) == 0);
    r = cmn_keepq_new(s_dir, "t0.keep", 500, 1u << 20, true);
    FAIL_IF_NOT(s_load(r, "t0.ckpt") != 0 && cmn_keepq_count(r) == 0);
    /* the run ended: every file goes, the ones found at the start too */
    cmn_keepq_remove_files(r);
    FAIL_IF_NOT(s_files("t0.keep.") == 0);
    /* what is kept stays readable after its file is unlinked */
    for (uint64_t i = 0; i < 4; i++)
        FAIL_IF_NOT(s_push(r, i, 250) == 0);
    FAIL_IF_NOT(s_files("t0.keep.") == 1);
    cmn_keepq_remove_files(r);
    FAIL_IF_NOT(s_files("t0.keep.") == 0 && s_is(r, 3, 3));
    cmn_keepq_destroy(&r);
    s_rmdir();
    PASS;
}

TEST(durable_memory_only_saves)
{
    s_setup();
    struct cmn_keepq *q = cmn_keepq_new(s_dir, "m", 1u << 20, 1u << 20, true);
    for (uint64_t i = 0; i < 5; i++)
        FAIL_IF_NOT(s_push(q, i, 100) == 0);
    FAIL_IF_NOT(s_save(q, "m.ckpt") == 0 && s_files("m.") == 1); /* the checkpoint only */
    struct cmn_keepq *r = cmn_keepq_new(s_dir, "m", 1u << 20, 1u << 20, true);
    FAIL_IF_NOT(s_load(r, "m.ckpt") == 0 && cmn_keepq_count(r) == 5 && s_is(r, 4, 4));
    cmn_keepq_destroy(&r);
    cmn_keepq_destroy(&q);
    s_rmdir();
    PASS;
}

TEST_MAIN(TEST_ENTRY(memory_then_file_in_order) TEST_ENTRY(memory_only_and_copies)
              TEST_ENTRY(compaction_past_64mib) TEST_ENTRY(durable_save_load_cut)
                  TEST_ENTRY(durable_memory_only_saves))
