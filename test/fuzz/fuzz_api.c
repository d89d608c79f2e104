/* SPDX-License-Identifier: MIT
 * Fuzz target for the reporter's routing (rep_http_dispatch): the JSON API
 * (reporter/rep_api) and the HTML pages (reporter/rep_pages), the request
 * after the server's percent-decoding. The input is "PATH\nk=v&k=v..." (raw
 * bytes: any byte may appear in the path, keys and values, as after decoding
 * %XX). A path under /api/ must give a JSON response that is valid JSON and
 * valid UTF-8 — every echoed parameter, value and path goes through
 * rep_json_str; the report's JSON routes (/monitor.json) valid JSON too; its
 * CSV downloads (/impact.csv) valid UTF-8 (a refused one: 400, plain text); /static/ files their
 * own type; any other path an HTML page in valid UTF-8 in which no byte of the request appears
 * unescaped (the 404 page echoes it): it holds as many '<', '>', '"' and '\'' as the page for the
 * path with those made '_'. Never a crash, a leak or a status other than 200, 303 (search
 * redirect), 400, 404. The database is a small one built once with the merger.
 */
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
#include "rep_api.h"
#include "rep_http.h"
#include "rep_pages.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise: say which, then abort (libFuzzer keeps the input). */
#define CHECK(cond, what)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_api: %s\n", what);                                               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

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
}

static void s_init(void)
{
    snprintf(s_db, sizeof(s_db), "/tmp/renkei_fuzz_api_%d.db", (int)getpid());
    unlink(s_db);
    fuzz_db_build(s_db);
    if (sqlite3_open(":memory:", &s_mem) != SQLITE_OK)
        abort();
    atexit(s_cleanup);
}

/* Strict UTF-8 and no raw control bytes but newline and tab (and carriage
 * return with `crlf`: CSV lines end in CRLF, RFC 4180). */
static bool s_text_ok(const unsigned char *p, size_t n, bool crlf)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        size_t k = c < 0x80                 ? 1
                   : c >= 0xc2 && c <= 0xdf ? 2
                   : c >= 0xe0 && c <= 0xef ? 3
                   : c >= 0xf0 && c <= 0xf4 ? 4
                                            : 0;
        if (k == 0 || i + k > n || (c < 0x20 && c != '\n' && c != '\t' && !(crlf && c == '\r')))
            return false;
        unsigned cp = k == 1 ? c : k == 2 ? c & 0x1f : k == 3 ? c & 0x0f : c & 0x07;
        for (size_t j = 1; j < k; j++) {
            if ((p[i + j] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + j] & 0x3f);
        }
        if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k;
    }
    return true;
}

/* The page for `path` as a string: status and type in *r. */
static char *s_page(const char *path, struct rep_resp *r, size_t *len)
{
    struct rep_api_ctx ctx = {.db_path = s_db, .sites = NULL};
    struct rep_pages_ctx pages = {.db_path = s_db};
    struct rep_api_req rq = {.path = path};
    char *buf = NULL;
    *len = 0;
    r->status = 200;
    r->type = "text/html; charset=utf-8";
    r->f = open_memstream(&buf, len);
    if (!r->f)
        abort();
    CHECK(rep_http_dispatch(&ctx, &pages, &rq, r) == 0, "dispatch failed (database error)");
    fclose(r->f);
    return buf;
}

static size_t s_count(const char *p, size_t n, char c)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += p[i] == c;
    return k;
}

/* Nothing of the path reaches the page unescaped: the page for the path with
 * every '<', '>', '"' and '\'' made '_' has exactly as many of each (the
 * markup's own), which any one echoed raw would break. */
static bool s_html_escaped(const char *path, const char *page, size_t len)
{
    char *tame = strdup(path);
    if (!tame)
        abort();
    for (char *p = tame; *p; p++)
        if (strchr("<>\"'", *p))
            *p = '_';
    struct rep_resp r;
    size_t tlen;
    char *t = s_page(tame, &r, &tlen);
    bool ok = true;
    for (const char *c = "<>\"'"; *c; c++)
        ok = ok && s_count(page, len, *c) == s_count(t, tlen, *c);
    free(t);
    free(tame);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!s_mem) {
        cmn_log_init("fuzz_api", CMN_LOG_ERR);
        s_init();
    }
    if (size > FUZZ_INPUT_MAX)
        return 0;
    /* C strings: the server hands over NUL-terminated text, so a NUL ends a field */
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
    struct rep_api_req rq = {.path = in, .args = args};
    for (char *save = NULL, *kv = query ? strtok_r(query, "&", &save) : NULL; kv;
         kv = strtok_r(NULL, "&", &save)) {
        if (rq.nargs == REP_API_ARGS_MAX) {
            rq.args_overflow = true;
            break;
        }
        char *eq = strchr(kv, '=');
        if (eq)
            *eq = '\0';
        args[rq.nargs].key = kv;
        args[rq.nargs].val = eq ? eq + 1 : NULL;
        args[rq.nargs++].nul = kv[0] == '!'; /* as if the server had cut a %00 */
    }
    struct rep_api_ctx ctx = {.db_path = s_db, .sites = NULL};
    struct rep_pages_ctx pages = {.db_path = s_db};
    char *buf = NULL;
    size_t len = 0;
    struct rep_resp r = {.status = 200, .type = "text/html; charset=utf-8"};
    r.f = open_memstream(&buf, &len);
    if (!r.f)
        abort();
    CHECK(rep_http_dispatch(&ctx, &pages, &rq, &r) == 0, "dispatch failed (database error)");
    fclose(r.f);
    /* 303: the report's search redirects to the host it found */
    CHECK(r.status == 200 || r.status == 303 || r.status == 400 || r.status == 404,
          "status not 200, 303, 400, 404");
    CHECK(r.type, "no content type");
    CHECK(s_text_ok((const unsigned char *)buf, len, strncmp(r.type, "text/csv", 8) == 0),
          "body not UTF-8 text");
    bool api = strncmp(in, "/api/", 5) == 0 || strcmp(in, "/api") == 0;
    bool json = strcmp(r.type, "application/json") == 0;
    if (api)
        CHECK(json, "API answer not application/json");
    if (strncmp(in, "/static/", 8) == 0) {
        /* vendored scripts: their own types; none here (no static dir) */
        CHECK(r.status == 200 || r.status == 404, "static file status not 200, 404");
        free(buf);
        free(in);
        return 0;
    }
    if (!json) {
        /* the report: HTML pages, or a download (/impact.csv), whose refusal
         * (400) is a line of plain text */
        bool html = strcmp(r.type, "text/html; charset=utf-8") == 0;
        bool plain = r.status == 400 && strcmp(r.type, "text/plain; charset=utf-8") == 0;
        /* /metrics: the Prometheus text format (its UTF-8 checked above) */
        bool prom = strcmp(in, "/metrics") == 0 && r.status == 200 &&
                    strcmp(r.type, "text/plain; version=0.0.4; charset=utf-8") == 0;
        CHECK(html || plain || prom || strncmp(r.type, "text/csv", 8) == 0,
              "page neither HTML nor CSV nor a plain-text refusal nor /metrics");
        /* the comparison page is fetched without parameters, so the check
         * holds for parameterless requests; fuzz_pages checks the tags of
         * pages with parameters */
        if (html && rq.nargs == 0)
            CHECK(s_html_escaped(in, buf, len), "request bytes unescaped in the page");
        free(buf);
        free(in);
        return 0;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s_mem, "SELECT json_valid(?1)", -1, &st, NULL) != SQLITE_OK)
        abort();
    sqlite3_bind_text(st, 1, buf, (int)len, SQLITE_STATIC);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1, "invalid JSON");
    sqlite3_finalize(st);
    free(buf);
    free(in);
    return 0;
}
