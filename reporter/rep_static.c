/* SPDX-License-Identifier: MIT
 * rep_static: /static/ files from the directory beside the binary
 * (rep_static.h). Names are checked character by character, so a request
 * cannot leave the directory; files are read whole per request (they are a
 * few hundred kB and cached by the browser for a day).
 */
#define CMN_LOG_TAG "rep_static"
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include "cmn_log.h"
#include "rep_static.h"

#define STATIC_FILE_MAX (8u << 20) /* bytes: the largest bundle is under 1 MB */

char *rep_static_find(void)
{
    const char *env = getenv("RENKEI_STATIC_DIR");
    struct stat sb;
    if (env && *env)
        return strdup(env);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof(dir), "%s/../share/renkei/static", exe);
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return NULL;
    return strdup(dir);
}

static const char *s_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot && strcmp(dot, ".js") == 0)
        return "text/javascript; charset=utf-8";
    if (dot && strcmp(dot, ".css") == 0)
        return "text/css; charset=utf-8";
    if (dot && strcmp(dot, ".png") == 0)
        return "image/png";
    if (dot && strcmp(dot, ".json") == 0)
        return "application/json";
    return "text/plain; charset=utf-8"; /* LICENSE files and notes */
}

int rep_static_serve(const char *dir, const char *name, struct rep_resp *r)
{
    size_t len = strlen(name);
    bool ok =
        dir && len > 0 && len < 128 && name[0] != '.' &&
        strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
    char path[PATH_MAX + 160];
    FILE *in = NULL;
    struct stat sb;
    if (ok) {
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        ok = stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size <= STATIC_FILE_MAX &&
             (in = fopen(path, "rb")) != NULL;
    }
    if (!ok) {
        r->status = MHD_HTTP_NOT_FOUND;
        r->type = "text/plain; charset=utf-8";
        fputs("no such static file\n", r->f);
        return 0;
    }
    char buf[16384];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        fwrite(buf, 1, n, r->f);
    int rc = ferror(in) ? -EIO : 0;
    fclose(in);
    if (rc)
        CMN_LOG(ERR, "cannot read %s", path);
    r->type = s_type(name);
    r->cacheable = true;
    return rc;
}
