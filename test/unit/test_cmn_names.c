/* SPDX-License-Identifier: MIT
 * Unit tests for common/cmn_names: the services file in both forms with
 * comments and blank lines; each kind of bad line reported with its line
 * number; a file on disk and a missing one. Doubles as the usage example.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmn_names.h"
#include "harness.h"

TEST(good_lines)
{
    static const char txt[] = "# services of the shop\n"
                              "\n"
                              "tcp/50020 order-api\n"
                              "  order-db   5432/tcp  postgres pg  # aliases ignored\n"
                              "UDP/9999 metrics\r\n"
                              "sctp/2905 m3ua";
    struct cmn_service_entry *e = NULL;
    char err[256];
    long n = cmn_names_parse_services(txt, sizeof(txt) - 1, "svc", &e, err, sizeof(err));
    FAIL_IF_NOT(n == 4);
    FAIL_IF_NOT(e[0].proto == 6 && e[0].port == 50020 && strcmp(e[0].name, "order-api") == 0);
    FAIL_IF_NOT(e[0].line == 3);
    FAIL_IF_NOT(e[1].proto == 6 && e[1].port == 5432 && strcmp(e[1].name, "order-db") == 0);
    FAIL_IF_NOT(e[2].proto == 17 && e[2].port == 9999 && strcmp(e[2].name, "metrics") == 0);
    FAIL_IF_NOT(e[3].proto == 132 && e[3].port == 2905 && e[3].line == 6);
    free(e);
    /* nothing but comments: zero entries, no array */
    FAIL_IF_NOT(cmn_names_parse_services("# x\n\n", 5, "svc", &e, err, sizeof(err)) == 0);
    FAIL_IF_NOT(e == NULL);
    PASS;
}

TEST(bad_lines)
{
    static const struct {
        const char *line; /* one bad line, after a good first line */
        const char *what; /* part of the message */
    } bad[] = {
        {"lonely", "expected"},
        {"tcp/80 web extra", "one name"},
        {"xyz/80 web", "unknown protocol"},
        {"tcp/0 zero", "port must be"},
        {"tcp/65536 big", "port must be"},
        {"tcp/8o web", "port must be"},
        {"web 80/tcp/x", "one '/'"},
        {"web 80", "one '/'"},
        {"tcp/8080 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "longer"},
        {"tcp/22 ssh-again", "named already on line 1"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char txt[256], err[512];
        int l = snprintf(txt, sizeof(txt), "tcp/22 ssh\n%s\n", bad[i].line);
        struct cmn_service_entry *e = (struct cmn_service_entry *)1;
        long n = cmn_names_parse_services(txt, (size_t)l, "f.svc", &e, err, sizeof(err));
        if (n != -EINVAL || e != NULL || strncmp(err, "f.svc:2: ", 9) != 0 ||
            !strstr(err, bad[i].what)) {
            fprintf(stderr, "  line '%s': n=%ld err='%s'\n", bad[i].line, n, err);
            FAIL_IF(1);
        }
        FAIL_IF(strstr(err, "\n")); /* one bad line, one message */
    }
    /* several bad lines: one message each, in order */
    static const char many[] = "bad\ntcp/1 ok\nudp/99999 x\n\0bytes\n";
    char err[512];
    struct cmn_service_entry *e = NULL;
    FAIL_IF_NOT(cmn_names_parse_services(many, sizeof(many) - 1, "m", &e, err, sizeof(err)) ==
                -EINVAL);
    FAIL_IF_NOT(strstr(err, "m:1: ") == err);
    FAIL_IF_NOT(strstr(err, "\nm:3: "));
    FAIL_IF_NOT(strstr(err, "\nm:4: NUL byte"));
    /* a tiny error buffer still gets a terminated prefix */
    char tiny[8];
    FAIL_IF_NOT(cmn_names_parse_services(many, sizeof(many) - 1, "m", &e, tiny, sizeof(tiny)) ==
                -EINVAL);
    FAIL_IF_NOT(strlen(tiny) < sizeof(tiny));
    PASS;
}

TEST(files)
{
    char path[128], err[512];
    snprintf(path, sizeof(path), "/tmp/renkei_test_cmn_names_%d.svc", (int)getpid());
    FILE *f = fopen(path, "w");
    FAIL_IF_NOT(f);
    fputs("tcp/50020 order-api\norder-cache 6379/tcp\n", f);
    fclose(f);
    struct cmn_service_entry *e = NULL;
    long n = cmn_names_load_services(path, &e, err, sizeof(err));
    unlink(path);
    FAIL_IF_NOT(n == 2);
    FAIL_IF_NOT(strcmp(e[1].name, "order-cache") == 0 && e[1].port == 6379);
    free(e);
    FAIL_IF_NOT(cmn_names_load_services("/nonexistent/x.svc", &e, err, sizeof(err)) == -ENOENT);
    FAIL_IF_NOT(strstr(err, "/nonexistent/x.svc: "));
    PASS;
}

TEST_MAIN(TEST_ENTRY(good_lines) TEST_ENTRY(bad_lines) TEST_ENTRY(files))
