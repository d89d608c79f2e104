/* SPDX-License-Identifier: MIT
 * test_spl_spill: the splitter's spill file: order, the size cap, the file
 * emptied when the queue is, a stale file replaced, the file removed on close.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "spl_spill.h"

static char s_dir[64];

static void s_setup(void)
{
    snprintf(s_dir, sizeof(s_dir), "/tmp/renkei-test-spill-XXXXXX");
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

TEST(spill_fifo_order_and_truncate)
{
    s_setup();
    struct spl_spill *s = spl_spill_open(s_dir, "t0.spill", 1 << 20);
    FAIL_IF_NOT(s);
    uint8_t big[5000];
    memset(big, 0xab, sizeof(big));
    FAIL_IF_NOT(spl_spill_push(s, (const uint8_t *)"one", 3) == 0);
    FAIL_IF_NOT(spl_spill_push(s, big, sizeof(big)) == 0);
    FAIL_IF_NOT(spl_spill_push(s, (const uint8_t *)"three", 5) == 0);
    FAIL_IF_NOT(spl_spill_count(s) == 3);
    FAIL_IF_NOT(spl_spill_bytes(s) == 3 * 4 + 3 + sizeof(big) + 5);
    const uint8_t *d;
    size_t n;
    FAIL_IF_NOT(spl_spill_peek(s, &d, &n) == 1 && n == 3 && memcmp(d, "one", 3) == 0);
    FAIL_IF_NOT(spl_spill_peek(s, &d, &n) == 1 && n == 3); /* peek again: the same one */
    spl_spill_pop(s);
    FAIL_IF_NOT(spl_spill_peek(s, &d, &n) == 1 && n == sizeof(big) && d[4999] == 0xab);
    spl_spill_pop(s);
    FAIL_IF_NOT(spl_spill_push(s, (const uint8_t *)"four", 4) == 0); /* while draining */
    FAIL_IF_NOT(spl_spill_peek(s, &d, &n) == 1 && n == 5 && memcmp(d, "three", 5) == 0);
    spl_spill_pop(s);
    FAIL_IF_NOT(spl_spill_peek(s, &d, &n) == 1 && n == 4 && memcmp(d, "four", 4) == 0);
    spl_spill_pop(s);
    FAIL_IF_NOT(spl_spill_count(s) == 0 && spl_spill_peek(s, &d, &n) == 0);
    FAIL_IF_NOT(s_size("t0.spill") == 0); /* empty queue: the disk is given back */
    spl_spill_close(&s);
    FAIL_IF_NOT(s == NULL && s_size("t0.spill") == -1);
    rmdir(s_dir);
    PASS;
}

TEST(spill_cap_refuses)
{
    s_setup();
    struct spl_spill *s = spl_spill_open(s_dir, "t1.spill", 100);
    FAIL_IF_NOT(s);
    uint8_t b[40] = {1};
    FAIL_IF_NOT(spl_spill_push(s, b, sizeof(b)) == 0);
    FAIL_IF_NOT(spl_spill_push(s, b, sizeof(b)) == 0);
    FAIL_IF_NOT(spl_spill_push(s, b, sizeof(b)) == -ENOSPC); /* 3 * 44 > 100 */
    FAIL_IF_NOT(spl_spill_push(s, b, 0) == -ENOSPC);         /* empty messages are not kept */
    FAIL_IF_NOT(spl_spill_count(s) == 2);
    spl_spill_close(&s);
    rmdir(s_dir);
    PASS;
}

TEST(spill_stale_file_replaced)
{
    s_setup();
    char p[128];
    snprintf(p, sizeof(p), "%s/t2.spill", s_dir);
    FILE *f = fopen(p, "w");
    FAIL_IF_NOT(f);
    fputs("left by a splitter that died", f);
    fclose(f);
    struct spl_spill *s = spl_spill_open(s_dir, "t2.spill", 1 << 20);
    FAIL_IF_NOT(s);
    FAIL_IF_NOT(spl_spill_count(s) == 0 && s_size("t2.spill") == 0);
    spl_spill_close(&s);
    FAIL_IF_NOT(spl_spill_open("/nonexistent-renkei-dir", "x.spill", 100) == NULL);
    rmdir(s_dir);
    PASS;
}

TEST_MAIN(TEST_ENTRY(spill_fifo_order_and_truncate) TEST_ENTRY(spill_cap_refuses)
              TEST_ENTRY(spill_stale_file_replaced))
