/* SPDX-License-Identifier: MIT
 * Unit tests for common/cmn_file and the readers built on it: a FIFO, a
 * device (/dev/zero) and a directory are refused at once with a message
 * naming the file, by cmn_file_open, the config reader, the capture reader,
 * the services file and the merger's hosts file; nothing blocks or spins.
 * A regular file reads whole; one over the cap is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmn_capfile.h"
#include "cmn_config.h"
#include "cmn_file.h"
#include "cmn_names.h"
#include "harness.h"
#include "mrg_db.h"

static char s_fifo[64], s_dir[64], s_reg[64];

static void s_setup(void)
{
    snprintf(s_fifo, sizeof(s_fifo), "/tmp/renkei-test-fifo-%d", (int)getpid());
    snprintf(s_dir, sizeof(s_dir), "/tmp/renkei-test-dir-%d", (int)getpid());
    snprintf(s_reg, sizeof(s_reg), "/tmp/renkei-test-reg-%d", (int)getpid());
    unlink(s_fifo);
    rmdir(s_dir);
    if (mkfifo(s_fifo, 0600) != 0 || mkdir(s_dir, 0700) != 0)
        abort();
    FILE *f = fopen(s_reg, "w");
    fputs("[x]\nkey = value\n", f);
    fclose(f);
}

static void s_teardown(void)
{
    unlink(s_fifo);
    rmdir(s_dir);
    unlink(s_reg);
}

TEST(file_open_regular_only)
{
    s_setup();
    char err[256];
    FILE *f =
        cmn_file_open(s_fifo, "config", err, sizeof(err)); /* would block without O_NONBLOCK */
    FAIL_IF(f || errno != EINVAL || !strstr(err, s_fifo) || !strstr(err, "FIFO"));
    f = cmn_file_open("/dev/zero", "config", err, sizeof(err));
    FAIL_IF(f || errno != EINVAL || !strstr(err, "/dev/zero") || !strstr(err, "device"));
    f = cmn_file_open(s_dir, "config", err, sizeof(err));
    FAIL_IF(f || errno != EISDIR || !strstr(err, s_dir) || !strstr(err, "directory"));
    f = cmn_file_open("/nonexistent/renkei", "config", err, sizeof(err));
    FAIL_IF(f || errno != ENOENT || !strstr(err, "/nonexistent/renkei"));
    FAIL_IF(cmn_file_check(s_fifo, "hosts file", err, sizeof(err)) != -EINVAL);
    FAIL_IF(cmn_file_check(s_reg, "hosts file", err, sizeof(err)) != 0);
    size_t len;
    char *t = cmn_file_read(s_reg, "config", 1024, &len, err, sizeof(err));
    FAIL_IF(!t || len != 16 || strcmp(t, "[x]\nkey = value\n") != 0);
    free(t);
    t = cmn_file_read(s_reg, "config", 8, &len, err, sizeof(err));
    FAIL_IF(t || errno != EFBIG || !strstr(err, "too large"));
    s_teardown();
    PASS;
}

TEST(readers_refuse_special_files)
{
    s_setup();
    const char *bad[] = {s_fifo, "/dev/zero", s_dir};
    for (size_t i = 0; i < 3; i++) {
        FAIL_IF(cmn_config_load(bad[i]) != NULL); /* /dev/zero used to hang */
        char err[512] = "";
        struct cmn_capfile *cf = cmn_capfile_open(bad[i], err, sizeof(err));
        FAIL_IF(cf || !strstr(err, bad[i])); /* a FIFO used to block forever */
        struct cmn_capfile_info info;
        FAIL_IF(cmn_capfile_scan(bad[i], &info, err, sizeof(err)) == 0);
        struct cmn_service_entry *se = NULL;
        FAIL_IF(cmn_names_load_services(bad[i], &se, err, sizeof(err)) >= 0 || se);
        FAIL_IF(!strstr(err, bad[i]));
        struct mrg_db *db = mrg_db_open(":memory:");
        FAIL_IF(!db);
        FAIL_IF(mrg_db_load_hosts_file(db, bad[i]) >= 0); /* a directory used to read as empty */
        mrg_db_close(&db);
    }
    struct cmn_config *c = cmn_config_load(s_reg);
    FAIL_IF(!c || strcmp(cmn_config_get(c, "x", "key"), "value") != 0);
    cmn_config_destroy(&c);
    s_teardown();
    PASS;
}

TEST(config_parse_buffer)
{
    static const char text[] = "[a]\nk = 1\n[b]\nk=2";
    struct cmn_config *c = cmn_config_parse(text, sizeof(text) - 1, "buf");
    FAIL_IF(!c || strcmp(cmn_config_get(c, "b", "k"), "2") != 0);
    cmn_config_destroy(&c);
    static const char nul[] = "[a]\nk = 1\0x\n";
    FAIL_IF(cmn_config_parse(nul, sizeof(nul) - 1, "buf") != NULL); /* a NUL: not text */
    char big[5000];
    memset(big, 'a', sizeof(big));
    FAIL_IF(cmn_config_parse(big, sizeof(big), "buf") != NULL); /* line too long */
    c = cmn_config_parse("", 0, "buf");
    FAIL_IF(!c || cmn_config_count(c, "", "k") != 0);
    cmn_config_destroy(&c);
    PASS;
}

/* A hosts-file line longer than the reader's buffer is skipped whole: its
 * tail (here " 10.0.0.8 evil") is not read as a line of its own. */
TEST(hosts_long_line)
{
    s_setup();
    FILE *f = fopen(s_reg, "w");
    fprintf(f, "10.0.0.9 ");
    for (int i = 0; i < 1014; i++)
        fputc('a', f);
    fprintf(f, " 10.0.0.8 evil\n10.0.0.7 ok\n");
    fclose(f);
    struct mrg_db *db = mrg_db_open(":memory:");
    FAIL_IF(!db);
    FAIL_IF(mrg_db_load_hosts_file(db, s_reg) != 1); /* only 10.0.0.7 */
    mrg_db_close(&db);
    s_teardown();
    PASS;
}

TEST_MAIN(TEST_ENTRY(file_open_regular_only) TEST_ENTRY(readers_refuse_special_files)
              TEST_ENTRY(config_parse_buffer) TEST_ENTRY(hosts_long_line))
