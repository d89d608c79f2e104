/* SPDX-License-Identifier: MIT
 * cmn_config: the INI-style config every daemon reads. Syntax: `# comment`,
 * `[section]`, `key = value`; a key may repeat (lists). Each entry remembers
 * its file and line, so every error names them ("cluster.conf:12: ...").
 * Command-line options are entered with cmn_config_set (shown as
 * "command line"), so both paths share one validation.
 */
#ifndef CMN_CONFIG_H
#define CMN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cmn_config;

/* An empty config (to fill with cmn_config_set). Aborts on out of memory. */
struct cmn_config *cmn_config_new(void);

#define CMN_CONFIG_FILE_MAX (1u << 20) /* a config file larger than this is refused */

/* Parse `path`. Returns NULL after logging "path:line: what is wrong" for a
 * missing file, a line that is neither section, key = value, comment nor blank.
 * Only a regular file of at most CMN_CONFIG_FILE_MAX bytes is read (cmn_file.h):
 * a FIFO, a device or a directory is refused, naming the file. */
struct cmn_config *cmn_config_load(const char *path);

/* Parse `len` bytes of config text (any bytes; lines of 4095 bytes at most, no
 * NUL), `origin` naming it in messages. NULL after logging, as cmn_config_load. */
struct cmn_config *cmn_config_parse(const char *text, size_t len, const char *origin);

/* Free; accepts NULL and NULLs the caller's pointer. */
void cmn_config_destroy(struct cmn_config **cfg);

/* Append (section, key, value) as if read from the command line. */
void cmn_config_set(struct cmn_config *cfg, const char *section, const char *key,
                    const char *value);

/* Remove every value of (section, key). */
void cmn_config_unset(struct cmn_config *cfg, const char *section, const char *key);

/* Last value of (section, key), or NULL. Borrowed; valid until destroy. */
const char *cmn_config_get(const struct cmn_config *cfg, const char *section, const char *key);

/* Number of values of (section, key), and the n-th (0-based) of them. */
size_t cmn_config_count(const struct cmn_config *cfg, const char *section, const char *key);
const char *cmn_config_get_nth(const struct cmn_config *cfg, const char *section, const char *key,
                               size_t n);

/* "file:line" (or "command line") of the last value of (section, key), for messages. */
const char *cmn_config_where(const struct cmn_config *cfg, const char *section, const char *key,
                             char *buf /* OUT */, size_t len);

/* Integer in [min, max]; `def` when absent. Returns 0, or -EINVAL after logging
 * "where: key: expected an integer in [min, max], got 'text'". */
int cmn_config_u64(const struct cmn_config *cfg, const char *section, const char *key, uint64_t def,
                   uint64_t min, uint64_t max, uint64_t *out /* OUT */);

/* Decimal number (e.g. seconds "0.5") in [min, max]; same error rules. */
int cmn_config_double(const struct cmn_config *cfg, const char *section, const char *key,
                      double def, double min, double max, double *out /* OUT */);

/* true/false/yes/no/on/off/1/0; same error rules. */
int cmn_config_bool(const struct cmn_config *cfg, const char *section, const char *key, bool def,
                    bool *out /* OUT */);

/* Every key of `section` must be in the NULL-terminated `allowed`; also checks
 * that no section other than those in `sections` (NULL-terminated) exists,
 * when `sections` is not NULL. Returns 0 or -EINVAL after logging each offender
 * with its line ("node.conf:7: unknown key 'bach_size' in [collector]"). */
int cmn_config_check(const struct cmn_config *cfg, const char *section, const char *const *allowed,
                     const char *const *sections);

/* Every key of `section` that is in the NULL-terminated `single` may be
 * given once: returns 0 or -EINVAL after logging each repetition with both
 * places ("node.conf:9: key 'db' given twice in [merger] (first at
 * node.conf:4)"). */
int cmn_config_check_single(const struct cmn_config *cfg, const char *section,
                            const char *const *single);

#endif /* CMN_CONFIG_H */
