/* SPDX-License-Identifier: MIT
 * Fuzz target for reporter/rep_pages: the HTML report's routes after the
 * server's percent-decoding. The input is "PATH\nk=v&k=v..." (raw bytes, as
 * after decoding %XX). Any input must answer 200, 303, 400 or 404 (never
 * fail, crash or leak), and every tag in the HTML must be one the report
 * writes itself: a request value or a database value that reached the page
 * unescaped would show up as another tag.
 * The database is a small one built once with the merger.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "fuzz_db.h"
#include "mrg_db.h"
#include "rep_pages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_INPUT_MAX 4096

static char s_db[128];
static sqlite3 *s_mem;

static void s_cleanup(void)
{
    char x[160];
    unlink(s_db);
    snprintf(x, sizeof(x), "%s-wal", s_db);
    unlink(x);
    snprintf(x, sizeof(x), "%s-shm", s_db);
    unlink(x);
    sqlite3_close(s_mem);
    rep_pages_cache_clear();
}

static void s_init(void)
{
    snprintf(s_db, sizeof(s_db), "/tmp/renkei_fuzz_pages_%d.db", (int)getpid());
    unlink(s_db);
    fuzz_db_build(s_db);
    if (sqlite3_open(":memory:", &s_mem) != SQLITE_OK)
        abort();
    atexit(s_cleanup);
}

static const char *const s_tags[] = {
    "!DOCTYPE", "html",   "head",    "meta",     "title",   "style", "body", "nav",  "a",
    "form",     "input",  "button",  "main",     "h1",      "h2",    "h3",   "p",    "table",
    "thead",    "tbody",  "tr",      "th",       "td",      "span",  "div",  "b",    "code",
    "select",   "option", "label",   "textarea", "br",      "svg",   "rect", "line", "text",
    "noscript", "script", "details", "summary",  "caption", NULL};

/* Every "<name" and "</name" in the body is a tag of s_tags. */
static bool s_tags_ok(const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (b[i] != '<')
            continue;
        size_t j = i + 1 + (i + 1 < n && b[i + 1] == '/');
        size_t k = j;
        while (k < n && (isalnum((unsigned char)b[k]) || b[k] == '!'))
            k++;
        if (k == j)
            return false; /* a bare '<' is always written as &lt; */
        bool known = false;
        for (size_t t = 0; s_tags[t] && !known; t++)
            known = strlen(s_tags[t]) == k - j && strncmp(b + j, s_tags[t], k - j) == 0;
        if (!known)
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_mem) {
        cmn_log_init("fuzz_pages", CMN_LOG_ERR);
        s_init();
    }
    if (size > FUZZ_INPUT_MAX)
        return 0;
    char *in = malloc(size + 1);
    if (!in)
        abort();
    memcpy(in, data, size);
    in[size] = '\0';
    char *nl = strchr(in, '\n');
    char *query = nl ? nl + 1 : NULL;
    if (nl)
        *nl = '\0';
    struct rep_qarg args[REP_API_ARGS_MAX];
    size_t nargs = 0;
    for (char *save = NULL, *kv = query ? strtok_r(query, "&", &save) : NULL;
         kv && nargs < REP_API_ARGS_MAX; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (eq)
            *eq = '\0';
        args[nargs].key = kv;
        args[nargs].val = eq ? eq + 1 : NULL;
        args[nargs++].nul = false;
    }
    struct rep_pages_ctx ctx = {.db_path = s_db};
    char *buf = NULL;
    size_t len = 0;
    struct rep_resp r = {.status = 200, .type = "text/html; charset=utf-8"};
    r.f = open_memstream(&buf, &len);
    if (!r.f)
        abort();
    if (rep_pages_handle(&ctx, in, args, nargs, &r) != 0)
        abort();
    fclose(r.f);
    if (r.status != 200 && r.status != 303 && r.status != 400 && r.status != 404)
        abort();
    if (strncmp(r.type, "text/html", 9) == 0 && !s_tags_ok(buf, len))
        abort();
    free(buf);
    free(in);
    return 0;
}
