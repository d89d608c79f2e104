/* SPDX-License-Identifier: MIT
 * Unit tests for common/cmn_config and common/cmn_cli: parsing, typed values,
 * errors naming file and line, unknown keys, CLI overriding the file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmn_cli.h"
#include "cmn_config.h"
#include "harness.h"

static const char *s_write(const char *text)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/renkei-test-cfg-%d.conf", (int)getpid());
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

TEST(config_values)
{
    const char *p = s_write("# cluster\n[splitter]\nlisten = tcp://*:5550\n"
                            "tracker = tcp://a:1\ntracker = tcp://b:2\n"
                            "epoch_seconds = 30\n\n[collector]\nkeep_outer = yes\nrate=0.5\n");
    struct cmn_config *c = cmn_config_load(p);
    FAIL_IF(!c);
    FAIL_IF(strcmp(cmn_config_get(c, "splitter", "listen"), "tcp://*:5550") != 0);
    FAIL_IF(cmn_config_count(c, "splitter", "tracker") != 2);
    FAIL_IF(strcmp(cmn_config_get_nth(c, "splitter", "tracker", 1), "tcp://b:2") != 0);
    uint64_t v;
    FAIL_IF(cmn_config_u64(c, "splitter", "epoch_seconds", 60, 1, 3600, &v) != 0 || v != 30);
    FAIL_IF(cmn_config_u64(c, "splitter", "missing", 7, 0, 10, &v) != 0 || v != 7);
    FAIL_IF(cmn_config_u64(c, "splitter", "epoch_seconds", 60, 31, 3600, &v) != -EINVAL);
    bool b;
    FAIL_IF(cmn_config_bool(c, "collector", "keep_outer", false, &b) != 0 || !b);
    double d;
    FAIL_IF(cmn_config_double(c, "collector", "rate", 1, 0, 1, &d) != 0 || d != 0.5);
    char w[256];
    FAIL_IF(strstr(cmn_config_where(c, "splitter", "epoch_seconds", w, sizeof(w)), ":6") == NULL);
    cmn_config_set(c, "splitter", "epoch_seconds", "5");
    FAIL_IF(strcmp(cmn_config_get(c, "splitter", "epoch_seconds"), "5") != 0);
    cmn_config_unset(c, "splitter", "tracker");
    FAIL_IF(cmn_config_count(c, "splitter", "tracker") != 0);
    static const char *const allowed[] = {"listen", "epoch_seconds", NULL};
    FAIL_IF(cmn_config_check(c, "splitter", allowed, NULL) != 0);
    static const char *const narrow[] = {"listen", NULL};
    FAIL_IF(cmn_config_check(c, "splitter", narrow, NULL) != -EINVAL);
    cmn_config_destroy(&c);
    FAIL_IF(c != NULL);
    unlink(p);
    PASS;
}

TEST(config_errors)
{
    FAIL_IF(cmn_config_load("/nonexistent/renkei.conf") != NULL);
    const char *p = s_write("[ok]\na = 1\nthis line is wrong\n");
    FAIL_IF(cmn_config_load(p) != NULL);
    p = s_write("[broken\n");
    FAIL_IF(cmn_config_load(p) != NULL);
    p = s_write("[a]\nx = 1\n[b]\ny = 2\n[a]\nz = 3\n"); /* a section given twice */
    FAIL_IF(cmn_config_load(p) != NULL);
    unlink(p);
    PASS;
}

static const struct cmn_cli_opt s_opts[] = {
    {"listen", "EP", "endpoint"},
    {"tracker", "EP", "tracker endpoint, repeated"},
    {"batch_records", "N", "records per batch"},
    {"keep_outer", NULL, "flag"},
    {NULL, NULL, NULL},
};
static const char *const s_repeat[] = {"tracker", NULL};
static const struct cmn_cli_spec s_spec = {.prog = "renkei-test",
                                           .kind = "splitter",
                                           .summary = "test",
                                           .opts = s_opts,
                                           .positional = true,
                                           .repeat = s_repeat};

/* argv with writable strings (string literals are const under -Wwrite-strings). */
static char **s_argv(const char *const *in, int n)
{
    static char store[16][256];
    static char *out[17];
    for (int i = 0; i < n; i++) {
        snprintf(store[i], sizeof(store[i]), "%s", in[i]);
        out[i] = store[i];
    }
    out[n] = NULL;
    return out;
}

TEST(cli_overrides)
{
    const char *p = s_write("[splitter]\nlisten = tcp://*:1\ntracker = tcp://a:1\n"
                            "tracker = tcp://b:1\nbatch_records = 10\n");
    const char *in[] = {
        "x",  "--config", p, "--batch-records=20", "--tracker", "tcp://c:1", "--keep-outer",
        "--", "pos1"};
    char **argv = s_argv(in, 9);
    struct cmn_config *c = NULL;
    const char *sect;
    int pos;
    FAIL_IF(cmn_cli_parse(&s_spec, 9, argv, &c, &sect, &pos) != 0);
    FAIL_IF(strcmp(sect, "splitter") != 0 || pos != 8);
    FAIL_IF(strcmp(cmn_config_get(c, sect, "batch_records"), "20") != 0);
    FAIL_IF(cmn_config_count(c, sect, "tracker") != 1);
    FAIL_IF(strcmp(cmn_config_get(c, sect, "keep_outer"), "true") != 0);
    FAIL_IF(strcmp(cmn_config_get(c, sect, "listen"), "tcp://*:1") != 0);
    FAIL_IF(cmn_cli_require(&s_spec, c, sect, "listen") == NULL);
    FAIL_IF(cmn_cli_require(&s_spec, c, sect, "nothing") != NULL);
    cmn_config_destroy(&c);
    unlink(p);
    PASS;
}

TEST(cli_errors)
{
    struct cmn_config *c = NULL;
    const char *sect;
    int pos;
    const char *a1[] = {"x", "--bogus", "1"};
    FAIL_IF(cmn_cli_parse(&s_spec, 3, s_argv(a1, 3), &c, &sect, &pos) != -EINVAL);
    const char *a2[] = {"x", "--listen"};
    FAIL_IF(cmn_cli_parse(&s_spec, 2, s_argv(a2, 2), &c, &sect, &pos) != -EINVAL);
    const char *p = s_write("[splitter]\nlisten = a\nbach_records = 5\n");
    const char *a3[] = {"x", "--config", p};
    FAIL_IF(cmn_cli_parse(&s_spec, 3, s_argv(a3, 3), &c, &sect, &pos) != -EINVAL);
    const char *a4[] = {"x", "--log-level", "loud"};
    FAIL_IF(cmn_cli_parse(&s_spec, 3, s_argv(a4, 3), &c, &sect, &pos) != -EINVAL);
    FAIL_IF(c != NULL);
    unlink(p);
    /* a single-valued key twice (file, or command line) is an error; a list key is not */
    p = s_write("[splitter]\nlisten = a\nbatch_records = 5\nbatch_records = 6\n");
    const char *a5[] = {"x", "--config", p};
    FAIL_IF(cmn_cli_parse(&s_spec, 3, s_argv(a5, 3), &c, &sect, &pos) != -EINVAL);
    const char *a6[] = {"x", "--listen", "a", "--listen", "b"};
    FAIL_IF(cmn_cli_parse(&s_spec, 5, s_argv(a6, 5), &c, &sect, &pos) != -EINVAL);
    const char *a7[] = {"x", "--tracker", "a", "--tracker", "b"};
    FAIL_IF(cmn_cli_parse(&s_spec, 5, s_argv(a7, 5), &c, &sect, &pos) != 0);
    cmn_config_destroy(&c);
    unlink(p);
    PASS;
}

TEST_MAIN(TEST_ENTRY(config_values) TEST_ENTRY(config_errors) TEST_ENTRY(cli_overrides)
              TEST_ENTRY(cli_errors))
