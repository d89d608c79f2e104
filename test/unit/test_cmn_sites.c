/* SPDX-License-Identifier: MIT
 * test_cmn_sites: the sites file parser (good files, every bad line named
 * by its line number with nothing added, duplicates), longest-prefix
 * lookup over IPv4 and IPv6, and cmn_sites_load refusing what is not a
 * regular file. Log lines are caught by pointing stderr at a file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmn_ip.h"
#include "cmn_sites.h"
#include "harness.h"

static char s_log[8192]; /* what the last s_parse_logged logged */

/* cmn_sites_parse with stderr captured into s_log. */
static int s_parse_logged(struct cmn_sites *s, const char *text)
{
    char path[128];
    snprintf(path, sizeof(path), "/tmp/renkei_test_cmn_sites_log_%d", (int)getpid());
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (saved < 0 || fd < 0)
        abort();
    dup2(fd, 2);
    int rc = cmn_sites_parse(s, text, strlen(text), "t.sites");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    ssize_t n = pread(fd, s_log, sizeof(s_log) - 1, 0);
    s_log[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return rc;
}

static int s_site_of(const struct cmn_sites *s, const char *ip)
{
    uint8_t k[16];
    if (cmn_ip_parse(ip, k) != 0)
        abort();
    return cmn_sites_lookup(s, k);
}

static const char s_good[] = "# name     kind        CIDR...\n"
                             "dc-east    datacenter  172.16.0.0/16 2001:db8::/48\n"
                             "\n"
                             "office-1   office      10.10.0.0/16   # the main office\n"
                             "office-1\toffice\t10.11.0.0/16\r\n"
                             "lab        lab         10.10.2.0/24 10.10.2.7\n"
                             "   # indented comment\n"
                             "v6lab      lab         2001:db8:0:10::/64";

TEST(parse_good)
{
    struct cmn_sites *s = cmn_sites_new();
    FAIL_IF_NOT(cmn_sites_parse(s, s_good, strlen(s_good), "good") == 5);
    FAIL_IF_NOT(cmn_sites_count(s) == 4);
    FAIL_IF_NOT(strcmp(cmn_sites_name(s, 0), "dc-east") == 0);
    FAIL_IF_NOT(strcmp(cmn_sites_kind(s, 0), "datacenter") == 0);
    FAIL_IF_NOT(strcmp(cmn_sites_name(s, 1), "office-1") == 0);
    FAIL_IF_NOT(strcmp(cmn_sites_kind(s, 2), "lab") == 0);
    FAIL_IF_NOT(cmn_sites_cidr_count(s, 0) == 2);
    FAIL_IF_NOT(strcmp(cmn_sites_cidr(s, 0, 0), "172.16.0.0/16") == 0);
    FAIL_IF_NOT(strcmp(cmn_sites_cidr(s, 0, 1), "2001:db8::/48") == 0);
    /* office-1's prefixes from two lines, in the order added */
    FAIL_IF_NOT(cmn_sites_cidr_count(s, 1) == 2);
    FAIL_IF_NOT(strcmp(cmn_sites_cidr(s, 1, 0), "10.10.0.0/16") == 0);
    FAIL_IF_NOT(strcmp(cmn_sites_cidr(s, 1, 1), "10.11.0.0/16") == 0);
    /* a bare address is a /32 */
    FAIL_IF_NOT(strcmp(cmn_sites_cidr(s, 2, 1), "10.10.2.7/32") == 0);
    FAIL_IF_NOT(cmn_sites_cidr(s, 2, 2) == NULL);
    FAIL_IF_NOT(cmn_sites_name(s, 4) == NULL && cmn_sites_kind(s, 4) == NULL);
    FAIL_IF_NOT(cmn_sites_cidr_count(s, 4) == 0);
    FAIL_IF_NOT(cmn_sites_find(s, "lab") == 2);
    FAIL_IF_NOT(cmn_sites_find(s, "nope") == -1);
    cmn_sites_destroy(&s);
    FAIL_IF_NOT(s == NULL);
    cmn_sites_destroy(&s); /* NULL is fine */
    cmn_sites_destroy(NULL);
    PASS;
}

TEST(longest_prefix)
{
    struct cmn_sites *s = cmn_sites_new();
    FAIL_IF_NOT(cmn_sites_parse(s, s_good, strlen(s_good), "good") == 5);
    FAIL_IF_NOT(s_site_of(s, "172.16.5.5") == 0);
    FAIL_IF_NOT(s_site_of(s, "10.10.0.20") == 1);
    FAIL_IF_NOT(s_site_of(s, "10.11.255.255") == 1);
    FAIL_IF_NOT(s_site_of(s, "10.10.2.9") == 2);   /* /24 inside office-1's /16 */
    FAIL_IF_NOT(s_site_of(s, "10.10.2.7") == 2);   /* /32 */
    FAIL_IF_NOT(s_site_of(s, "10.10.3.0") == 1);   /* just past the /24 */
    FAIL_IF_NOT(s_site_of(s, "10.10.1.255") == 1); /* just before it */
    /* IPv6: the /64 inside the /48 */
    FAIL_IF_NOT(s_site_of(s, "2001:db8::1") == 0);
    FAIL_IF_NOT(s_site_of(s, "2001:db8:0:10::99") == 3);
    FAIL_IF_NOT(s_site_of(s, "2001:db8:0:11::1") == 0);
    /* outside every site */
    FAIL_IF_NOT(s_site_of(s, "192.168.1.1") == -1);
    FAIL_IF_NOT(s_site_of(s, "10.12.0.0") == -1);
    FAIL_IF_NOT(s_site_of(s, "2001:db9::1") == -1);
    FAIL_IF_NOT(s_site_of(s, "::ffff:172.15.255.255") == -1);
    /* an empty set has no sites */
    struct cmn_sites *e = cmn_sites_new();
    FAIL_IF_NOT(cmn_sites_count(e) == 0 && s_site_of(e, "10.10.0.1") == -1);
    cmn_sites_destroy(&e);
    /* the added order does not matter: the longest still wins */
    e = cmn_sites_new();
    FAIL_IF_NOT(cmn_sites_add(e, "small", "x", "10.0.0.0/24", NULL, 0) == 0);
    FAIL_IF_NOT(cmn_sites_add(e, "big", "x", "10.0.0.0/8", NULL, 0) == 0);
    FAIL_IF_NOT(cmn_sites_add(e, "all", "x", "0.0.0.0/0", NULL, 0) == 0);
    FAIL_IF_NOT(s_site_of(e, "10.0.0.5") == 0 && s_site_of(e, "10.9.0.5") == 1);
    FAIL_IF_NOT(s_site_of(e, "8.8.8.8") == 2);
    FAIL_IF_NOT(s_site_of(e, "2001:db8::1") == -1); /* IPv4 /0 is not all of IPv6 */
    FAIL_IF_NOT(strcmp(cmn_sites_cidr(e, 2, 0), "0.0.0.0/0") == 0);
    cmn_sites_destroy(&e);
    cmn_sites_destroy(&s);
    PASS;
}

TEST(bad_lines)
{
    struct cmn_sites *s = cmn_sites_new();
    FAIL_IF_NOT(cmn_sites_add(s, "keep", "office", "192.168.0.0/16", NULL, 0) == 0);
    static const char bad[] = "ok       office  10.0.0.0/8\n"      /* 1 fine */
                              "lonely\n"                           /* 2 one word */
                              "two words\n"                        /* 3 two words */
                              "x        office  10.0.0.0/33\n"     /* 4 bad prefix */
                              "b@d      office  10.1.0.0/16\n"     /* 5 bad name */
                              "ok       lab     10.2.0.0/16\n"     /* 6 other kind */
                              "y        office  10.0.0.0/8\n"      /* 7 prefix in 'ok' */
                              "z        k       2001:db8::/129\n"  /* 8 bad IPv6 prefix */
                              "# fine\n"                           /* 9 */
                              "w        k       not-an-address\n"; /* 10 */
    FAIL_IF_NOT(s_parse_logged(s, bad) == -EINVAL);
    static const char *const want[] = {"t.sites:2:", "t.sites:3:", "t.sites:4:", "t.sites:5:",
                                       "t.sites:6:", "t.sites:7:", "t.sites:8:", "t.sites:10:"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (!strstr(s_log, want[i]))
            fprintf(stderr, "  missing %s in:\n%s", want[i], s_log);
        FAIL_IF_NOT(strstr(s_log, want[i]));
    }
    FAIL_IF(strstr(s_log, "t.sites:1:") || strstr(s_log, "t.sites:9:"));
    FAIL_IF_NOT(strstr(s_log, "'ok' is of kind 'office'"));
    FAIL_IF_NOT(strstr(s_log, "already in site 'ok'"));
    /* nothing added, what was there is intact */
    FAIL_IF_NOT(cmn_sites_count(s) == 1 && cmn_sites_find(s, "ok") == -1);
    FAIL_IF_NOT(s_site_of(s, "10.0.0.1") == -1 && s_site_of(s, "192.168.3.3") == 0);
    /* a NUL byte inside the text */
    static const char nul[] = "a k 10.0.0.0/8\nb k 10.1.0.0\0/16\n";
    FAIL_IF_NOT(cmn_sites_parse(s, nul, sizeof(nul) - 1, "nul") == -EINVAL);
    FAIL_IF_NOT(cmn_sites_count(s) == 1);
    /* a good text after a bad one is added to what was there */
    FAIL_IF_NOT(cmn_sites_parse(s, "ok office 10.0.0.0/8\n", 21, "ok") == 1);
    FAIL_IF_NOT(cmn_sites_count(s) == 2 && s_site_of(s, "10.0.0.1") == cmn_sites_find(s, "ok"));
    cmn_sites_destroy(&s);
    PASS;
}

TEST(duplicates_and_add)
{
    struct cmn_sites *s = cmn_sites_new();
    char err[200] = "";
    FAIL_IF_NOT(cmn_sites_add(s, "a", "dc", "10.0.0.0/8", err, sizeof(err)) == 0);
    /* the same prefix for the same site again: harmless, not listed twice */
    FAIL_IF_NOT(cmn_sites_add(s, "a", "dc", "10.0.0.0/8", err, sizeof(err)) == 0);
    /* written differently (host bits set) is still the same prefix */
    FAIL_IF_NOT(cmn_sites_add(s, "a", "dc", "10.1.2.3/8", err, sizeof(err)) == 0);
    FAIL_IF_NOT(cmn_sites_cidr_count(s, 0) == 1);
    /* the same prefix in another site: refused with a reason */
    FAIL_IF_NOT(cmn_sites_add(s, "b", "dc", "10.0.0.0/8", err, sizeof(err)) == -EINVAL);
    FAIL_IF_NOT(strstr(err, "10.0.0.0/8") && strstr(err, "'a'"));
    FAIL_IF_NOT(cmn_sites_count(s) == 1); /* b was not created */
    FAIL_IF_NOT(cmn_sites_add(s, "a", "office", "11.0.0.0/8", err, sizeof(err)) == -EINVAL);
    FAIL_IF_NOT(cmn_sites_add(s, "", "dc", "11.0.0.0/8", err, sizeof(err)) == -EINVAL);
    FAIL_IF_NOT(cmn_sites_add(s, "c", "d c", "11.0.0.0/8", NULL, 0) == -EINVAL);
    char longname[80];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    FAIL_IF_NOT(cmn_sites_add(s, longname, "dc", "11.0.0.0/8", err, sizeof(err)) == -EINVAL);
    /* a duplicate line in a file is fine too */
    FAIL_IF_NOT(cmn_sites_parse(s, "a dc 10.0.0.0/8\na dc 10.0.0.0/8 12.0.0.0/8\n", 42, "d") == 2);
    FAIL_IF_NOT(cmn_sites_count(s) == 1 && cmn_sites_cidr_count(s, 0) == 2);
    /* IPv6 prefixes normalised (RFC 5952) */
    FAIL_IF_NOT(cmn_sites_add(s, "v6", "dc", "2001:0DB8:0000::/32", err, sizeof(err)) == 0);
    FAIL_IF_NOT(strcmp(cmn_sites_cidr(s, 1, 0), "2001:db8::/32") == 0);
    FAIL_IF_NOT(cmn_sites_add(s, "v6", "dc", "2001:db8::1", err, sizeof(err)) == 0);
    FAIL_IF_NOT(strcmp(cmn_sites_cidr(s, 1, 1), "2001:db8::1/128") == 0);
    FAIL_IF_NOT(s_site_of(s, "2001:db8::1") == 1);
    cmn_sites_destroy(&s);
    /* parsing more text keeps the sites' numbers and their prefixes' order */
    s = cmn_sites_new();
    FAIL_IF_NOT(cmn_sites_add(s, "first", "dc", "10.0.0.0/8", NULL, 0) == 0);
    FAIL_IF_NOT(cmn_sites_add(s, "second", "dc", "10.1.0.0/16", NULL, 0) == 0);
    FAIL_IF_NOT(cmn_sites_add(s, "first", "dc", "11.0.0.0/24", NULL, 0) == 0);
    FAIL_IF_NOT(cmn_sites_parse(s, "third dc 12.0.0.0/8\n", 20, "more") == 1);
    FAIL_IF_NOT(cmn_sites_find(s, "first") == 0 && cmn_sites_find(s, "second") == 1);
    FAIL_IF_NOT(cmn_sites_find(s, "third") == 2);
    FAIL_IF_NOT(strcmp(cmn_sites_cidr(s, 0, 0), "10.0.0.0/8") == 0);
    FAIL_IF_NOT(strcmp(cmn_sites_cidr(s, 0, 1), "11.0.0.0/24") == 0);
    FAIL_IF_NOT(s_site_of(s, "10.1.2.3") == 1 && s_site_of(s, "10.2.0.0") == 0);
    cmn_sites_destroy(&s);
    PASS;
}

TEST(load_files)
{
    char dir[128], path[192], fifo[192];
    snprintf(dir, sizeof(dir), "/tmp/renkei_test_cmn_sites_%d", (int)getpid());
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/sites", dir);
    FILE *f = fopen(path, "w");
    FAIL_IF_NOT(f);
    fputs(s_good, f);
    fclose(f);
    struct cmn_sites *s = cmn_sites_load(path);
    FAIL_IF_NOT(s && cmn_sites_count(s) == 4);
    cmn_sites_destroy(&s);
    /* a bad line: NULL */
    f = fopen(path, "w");
    fputs("a dc 10.0.0.0/8\nbroken\n", f);
    fclose(f);
    FAIL_IF_NOT(cmn_sites_load(path) == NULL);
    /* an empty file is an empty set */
    f = fopen(path, "w");
    fclose(f);
    s = cmn_sites_load(path);
    FAIL_IF_NOT(s && cmn_sites_count(s) == 0);
    cmn_sites_destroy(&s);
    /* missing, a directory, a FIFO (must not block), a device */
    FAIL_IF_NOT(cmn_sites_load("/nonexistent/sites") == NULL);
    FAIL_IF_NOT(cmn_sites_load(dir) == NULL);
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    FAIL_IF_NOT(mkfifo(fifo, 0600) == 0);
    FAIL_IF_NOT(cmn_sites_load(fifo) == NULL);
    FAIL_IF_NOT(cmn_sites_load("/dev/null") == NULL);
    unlink(fifo);
    unlink(path);
    rmdir(dir);
    PASS;
}

TEST_MAIN(TEST_ENTRY(parse_good) TEST_ENTRY(longest_prefix) TEST_ENTRY(bad_lines)
              TEST_ENTRY(duplicates_and_add) TEST_ENTRY(load_files))
