/* SPDX-License-Identifier: MIT
 * rep_auth: users file, Argon2id verification (libsodium), and a cache of
 * verified credentials keyed by a per-process random key.
 */
#define CMN_LOG_TAG "auth"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmn_file.h"
#include "cmn_log.h"
#include "rep_auth.h"

#define USERS_MAX 1024
#define NAME_LEN  64
#define CACHE_N   32

struct user {
    char name[NAME_LEN];               /* login */
    char hash[crypto_pwhash_STRBYTES]; /* crypto_pwhash_str output */
};

struct rep_auth {
    struct user *u;                                         /* users */
    size_t n;                                               /* entries */
    unsigned char key[crypto_generichash_KEYBYTES];         /* cache digest key */
    unsigned char cache[CACHE_N][crypto_generichash_BYTES]; /* verified credentials */
    size_t next;                                            /* cache slot to overwrite */
    pthread_mutex_t lock;                                   /* cache */
};

static bool s_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= NAME_LEN)
        return false;
    for (; *s; s++)
        if (*s <= ' ' || *s == ':' || *s == 0x7f)
            return false;
    return true;
}

struct rep_auth *rep_auth_load(const char *path, char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to start");
        return NULL;
    }
    char why[256];
    FILE *f = cmn_file_open(path, "auth_file", why, sizeof(why));
    if (!f) {
        snprintf(err, errlen, "%s", why);
        return NULL;
    }
    struct rep_auth *a = calloc(1, sizeof(*a));
    if (!a || !(a->u = calloc(USERS_MAX, sizeof(*a->u))))
        abort();
    pthread_mutex_init(&a->lock, NULL);
    randombytes_buf(a->key, sizeof(a->key));
    char line[512];
    int lineno = 0;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        char *save = NULL, *name = strtok_r(line, " \t\r\n", &save);
        if (!name || name[0] == '#')
            continue;
        char *hash = strtok_r(NULL, " \t\r\n", &save);
        if (!s_name_ok(name) || !hash || strncmp(hash, "$argon2", 7) != 0 ||
            strlen(hash) >= crypto_pwhash_STRBYTES || strtok_r(NULL, " \t\r\n", &save)) {
            snprintf(err, errlen,
                     "%s:%d: expected NAME HASH (a name without spaces or ':', the hash "
                     "renkei passwd writes)",
                     path, lineno);
            goto fail;
        }
        if (a->n == USERS_MAX) {
            snprintf(err, errlen, "%s:%d: more than %d users", path, lineno, USERS_MAX);
            goto fail;
        }
        for (size_t i = 0; i < a->n; i++)
            if (strcmp(a->u[i].name, name) == 0) {
                snprintf(err, errlen, "%s:%d: user %s listed twice", path, lineno, name);
                goto fail;
            }
        memcpy(a->u[a->n].name, name, strlen(name) + 1); /* < NAME_LEN, checked */
        memcpy(a->u[a->n].hash, hash, strlen(hash) + 1); /* < STRBYTES, checked */
        a->n++;
    }
    fclose(f);
    if (a->n == 0) {
        snprintf(err, errlen, "%s: no users (add one with renkei passwd)", path);
        rep_auth_destroy(&a);
        return NULL;
    }
    return a;
fail:
    fclose(f);
    rep_auth_destroy(&a);
    return NULL;
}

static void s_digest(const struct rep_auth *a, const char *user, const char *pw,
                     unsigned char out[crypto_generichash_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, a->key, sizeof(a->key), crypto_generichash_BYTES);
    crypto_generichash_update(&st, (const unsigned char *)user, strlen(user) + 1);
    crypto_generichash_update(&st, (const unsigned char *)pw, strlen(pw));
    crypto_generichash_final(&st, out, crypto_generichash_BYTES);
}

bool rep_auth_check(struct rep_auth *a, const char *user, const char *password)
{
    if (!a || !user || !password)
        return false;
    unsigned char d[crypto_generichash_BYTES];
    s_digest(a, user, password, d);
    pthread_mutex_lock(&a->lock);
    bool hit = false;
    for (size_t i = 0; i < CACHE_N && !hit; i++)
        hit = sodium_memcmp(a->cache[i], d, sizeof(d)) == 0;
    pthread_mutex_unlock(&a->lock);
    if (hit)
        return true;
    const struct user *u = NULL;
    for (size_t i = 0; i < a->n && !u; i++)
        if (strcmp(a->u[i].name, user) == 0)
            u = &a->u[i];
    if (!u || crypto_pwhash_str_verify(u->hash, password, strlen(password)) != 0)
        return false;
    pthread_mutex_lock(&a->lock);
    memcpy(a->cache[a->next], d, sizeof(d));
    a->next = (a->next + 1) % CACHE_N;
    pthread_mutex_unlock(&a->lock);
    return true;
}

void rep_auth_destroy(struct rep_auth **ap)
{
    if (!ap || !*ap)
        return;
    struct rep_auth *a = *ap;
    pthread_mutex_destroy(&a->lock);
    free(a->u);
    sodium_memzero(a, sizeof(*a));
    free(a);
    *ap = NULL;
}

int rep_auth_set(const char *path, const char *user, const char *password, char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to start");
        return -1;
    }
    if (!s_name_ok(user)) {
        snprintf(err, errlen, "user name '%s': 1 to %d bytes, no spaces or ':'", user,
                 NAME_LEN - 1);
        return -1;
    }
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        snprintf(err, errlen, "out of memory hashing the password");
        return -1;
    }
    /* Copy every other line to PATH.new, add ours, rename over. */
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *out = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!out) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    FILE *in = fopen(path, "r");
    char line[512];
    size_t ulen = strlen(user);
    while (in && fgets(line, sizeof(line), in))
        if (!(strncmp(line, user, ulen) == 0 && (line[ulen] == ' ' || line[ulen] == '\t')))
            fputs(line, out);
    if (in)
        fclose(in);
    fprintf(out, "%s %s\n", user, hash);
    if (fclose(out) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
