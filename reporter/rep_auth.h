/* SPDX-License-Identifier: MIT
 * rep_auth: the reporter's users, for HTTP Basic authentication. The file
 * (auth_file) holds one user per line, "NAME HASH", HASH being libsodium's
 * crypto_pwhash_str (Argon2id) of the password or API token, as
 * `renkei passwd` writes it; a line starting with '#' is a comment. The
 * password itself is never stored. A verified credential is remembered as a
 * keyed BLAKE2b digest (a small cache), so a page and its scripts do not
 * each pay the Argon2id cost. Thread-safe after load.
 */
#ifndef REP_AUTH_H
#define REP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct rep_auth;

/* Load FILE. NULL after writing why (FILE:LINE) into err. */
struct rep_auth *rep_auth_load(const char *path, char *err, size_t errlen);

/* True when (user, password) matches a line of the file. */
bool rep_auth_check(struct rep_auth *a, const char *user, const char *password);

/* Free; accepts NULL and NULLs the pointer. */
void rep_auth_destroy(struct rep_auth **a);

/* Set NAME's hash in FILE to crypto_pwhash_str(password), creating the file
 * (mode 0600) or replacing NAME's line. 0, or -1 with err set. */
int rep_auth_set(const char *path, const char *user, const char *password, char *err,
                 size_t errlen);

#endif /* REP_AUTH_H */
