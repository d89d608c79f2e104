/* SPDX-License-Identifier: MIT
 * harness.h: renkei's in-tree unit test harness. A test file defines cases with
 * TEST(name) { ... PASS; }, lists them in TEST_MAIN(case, ...), and gets a
 * main() that runs all (or `--test NAME`), prints one line per failure and
 * closes with "N passed, N failed". FAIL_IF/FAIL_IF_NOT end the case.
 */
#ifndef RENKEI_TEST_HARNESS_H
#define RENKEI_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*test_fn)(void);

struct test_case {
    const char *name; /* case name for --test */
    test_fn fn;       /* returns 0 on pass */
};

#define TEST(name) static int name(void)

#define FAIL_IF(cond)                                                                              \
    do {                                                                                           \
        if (cond) {                                                                                \
            fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                      \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

#define FAIL_IF_NOT(cond) FAIL_IF(!(cond))

#define PASS return 0

/* Path of the shared captures (../shared/pcaps beside the source tree). */
#ifndef RENKEI_PCAP_DIR
#define RENKEI_PCAP_DIR "../shared/pcaps"
#endif

#define TEST_ENTRY(fn) {#fn, fn},

static inline int test_run_all(const struct test_case *cases, size_t n, int argc, char **argv)
{
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--test") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--list") == 0) {
            for (size_t k = 0; k < n; k++)
                printf("%s\n", cases[k].name);
            return 0;
        }
    }
    int passed = 0, failed = 0;
    for (size_t k = 0; k < n; k++) {
        if (only && strcmp(only, cases[k].name) != 0)
            continue;
        int rc = cases[k].fn();
        printf("%s %s\n", rc == 0 ? "ok  " : "FAIL", cases[k].name);
        if (rc == 0)
            passed++;
        else
            failed++;
    }
    if (only && passed + failed == 0) {
        fprintf(stderr, "no test named '%s'\n", only);
        return 2;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#define TEST_MAIN(...)                                                                             \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        static const struct test_case cases[] = {__VA_ARGS__};                                     \
        return test_run_all(cases, sizeof(cases) / sizeof(cases[0]), argc, argv);                  \
    }

#endif /* RENKEI_TEST_HARNESS_H */
