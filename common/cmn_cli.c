/* SPDX-License-Identifier: MIT
 * cmn_cli: maps `--some-key VALUE` onto config key `some_key` in the daemon's
 * section, after loading `--config FILE`; validation is then shared with the
 * file path, so a bad value names either the option or the file:line.
 */
#define CMN_LOG_TAG "cli"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmn_cli.h"
#include "cmn_curve.h"
#include "cmn_log.h"

static const struct cmn_cli_opt *s_find(const struct cmn_cli_spec *spec, const char *name,
                                        size_t len)
{
    for (const struct cmn_cli_opt *o = spec->opts; o && o->key; o++) {
        if (strlen(o->key) != len)
            continue;
        size_t i = 0;
        for (; i < len; i++) {
            char c = name[i] == '-' ? '_' : name[i];
            if (c != o->key[i])
                break;
        }
        if (i == len)
            return o;
    }
    return NULL;
}

void cmn_cli_usage(const struct cmn_cli_spec *spec, void *fp)
{
    FILE *f = fp;
    fprintf(f, "usage: %s [--config FILE [--section NAME]] [OPTIONS]%s\n", spec->prog,
            spec->positional ? " [-- ARGS...]" : "");
    fprintf(f, "%s\n\noptions (each is also a config key in [%s], written with '_'):\n",
            spec->summary, spec->kind);
    fprintf(f, "  %-28s %s\n", "--config FILE", "read options from an INI config file");
    fprintf(f, "  %-28s %s\n", "--section NAME", "config section to read (default: kind)");
    for (const struct cmn_cli_opt *o = spec->opts; o && o->key; o++) {
        char flag[64], *p = flag;
        int n = snprintf(flag, sizeof(flag), "--%s%s%s", o->key, o->arg ? " " : "",
                         o->arg ? o->arg : "");
        (void)n;
        for (; *p && *p != ' '; p++)
            if (*p == '_')
                *p = '-';
        fprintf(f, "  %-28s %s\n", flag, o->help);
    }
    fprintf(f, "  %-28s %s\n", "--log-level LEVEL", "err, warn, notice (default), info, debug");
    fprintf(f, "  %-28s %s\n", "-h, --help", "show this help");
    fprintf(f, "  %-28s %s\n", "--version", "show the version");
}

static const char *const s_builtin[] = {"log_level", NULL};

static bool s_listed(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (strcmp(*list, key) == 0)
            return true;
    return false;
}

int cmn_cli_parse(const struct cmn_cli_spec *spec, int argc, char **argv, struct cmn_config **cfgp,
                  const char **section, int *first_pos)
{
    const char *config_path = NULL;
    const char *sect = spec->kind;
    int pos = argc;
    /* First pass: --help, --version, --config, --section, and where positionals start. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            pos = i + 1;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cmn_cli_usage(spec, stdout);
            exit(0);
        }
        if (strcmp(a, "--version") == 0) {
            printf("%s %s\n", spec->prog, RENKEI_VERSION);
            exit(0);
        }
        if (a[0] != '-' || a[1] != '-') {
            if (!spec->positional) {
                fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", spec->prog, a);
                return -EINVAL;
            }
            pos = i;
            break;
        }
        const char *eq = strchr(a, '=');
        bool inline_val = eq != NULL;
        if (strncmp(a, "--config", 8) == 0 && (a[8] == '\0' || a[8] == '=')) {
            if (!inline_val && i + 1 >= argc) {
                fprintf(stderr, "%s: --config needs a FILE\n", spec->prog);
                return -EINVAL;
            }
            config_path = inline_val ? eq + 1 : argv[++i];
            continue;
        }
        if (strncmp(a, "--section", 9) == 0 && (a[9] == '\0' || a[9] == '=')) {
            if (!inline_val && i + 1 >= argc) {
                fprintf(stderr, "%s: --section needs a NAME\n", spec->prog);
                return -EINVAL;
            }
            sect = inline_val ? eq + 1 : argv[++i];
            continue;
        }
        size_t nlen = inline_val ? (size_t)(eq - a - 2) : strlen(a + 2);
        const struct cmn_cli_opt *o = s_find(spec, a + 2, nlen);
        bool is_log = nlen == 9 && strncmp(a + 2, "log-level", 9) == 0;
        if (!o && !is_log) {
            fprintf(stderr, "%s: unknown option '%.*s' (see --help)\n", spec->prog, (int)(nlen + 2),
                    a);
            return -EINVAL;
        }
        if (!inline_val && (is_log || o->arg)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: option '%s' needs a value (%s)\n", spec->prog, a,
                        is_log ? "LEVEL" : o->arg);
                return -EINVAL;
            }
            i++;
        }
    }
    struct cmn_config *cfg = config_path ? cmn_config_load(config_path) : cmn_config_new();
    if (!cfg) {
        fprintf(stderr, "%s: cannot use config file '%s' (see messages above)\n", spec->prog,
                config_path);
        return -EINVAL;
    }
    if (config_path && sect != spec->kind) {
        /* an explicit section must exist in the file */
        bool found = false;
        for (const struct cmn_cli_opt *o = spec->opts; o && o->key && !found; o++)
            found = cmn_config_count(cfg, sect, o->key) > 0;
        if (!found && cmn_config_count(cfg, sect, "log_level") == 0) {
            fprintf(stderr, "%s: section [%s] not found or empty in %s\n", spec->prog, sect,
                    config_path);
            cmn_config_destroy(&cfg);
            return -EINVAL;
        }
    }
    /* Second pass: options into the config, overriding the file. */
    const char *seen_keys[128];
    int nseen = 0;
    for (int i = 1; i < pos && i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if ((strncmp(a, "--config", 8) == 0 && (a[8] == '\0' || a[8] == '=')) ||
            (strncmp(a, "--section", 9) == 0 && (a[9] == '\0' || a[9] == '='))) {
            if (!eq)
                i++;
            continue;
        }
        bool is_log = nlen == 9 && strncmp(a + 2, "log-level", 9) == 0;
        const struct cmn_cli_opt *o = is_log ? NULL : s_find(spec, a + 2, nlen);
        const char *key = is_log ? "log_level" : o->key;
        const char *val;
        if (eq)
            val = eq + 1;
        else if (is_log || o->arg)
            val = argv[++i];
        else
            val = "true";
        /* The first CLI value of a key replaces the file's values; repeated
         * options (--tracker A --tracker B) then append to form a list. */
        bool seen = false;
        for (int k = 0; k < nseen; k++)
            seen = seen || strcmp(seen_keys[k], key) == 0;
        if (!seen) {
            cmn_config_unset(cfg, sect, key);
            if (nseen < (int)(sizeof(seen_keys) / sizeof(seen_keys[0])))
                seen_keys[nseen++] = key;
        }
        cmn_config_set(cfg, sect, key, val);
    }
    /* Validate keys of the chosen section. */
    size_t nopts = 0;
    for (const struct cmn_cli_opt *o = spec->opts; o && o->key; o++)
        nopts++;
    const char **allowed = calloc(nopts + 2, sizeof(*allowed));
    if (!allowed)
        abort();
    for (size_t k = 0; k < nopts; k++)
        allowed[k] = spec->opts[k].key;
    allowed[nopts] = s_builtin[0];
    int rc = cmn_config_check(cfg, sect, allowed, NULL);
    size_t ns = 0;
    for (size_t k = 0; k < nopts; k++)
        if (!spec->repeat || !s_listed(spec->repeat, spec->opts[k].key))
            allowed[ns++] = spec->opts[k].key;
    allowed[ns++] = s_builtin[0];
    allowed[ns] = NULL;
    if (cmn_config_check_single(cfg, sect, allowed) != 0)
        rc = -EINVAL;
    free(allowed);
    if (rc != 0) {
        fprintf(stderr, "%s: invalid configuration (see messages above)\n", spec->prog);
        cmn_config_destroy(&cfg);
        return -EINVAL;
    }
    const char *lvl = cmn_config_get(cfg, sect, "log_level");
    enum cmn_log_level level = CMN_LOG_NOTICE;
    if (lvl && cmn_log_level_parse(lvl, &level) != 0) {
        char w[512];
        fprintf(stderr, "%s: %s: log_level must be err, warn, notice, info or debug, got '%s'\n",
                spec->prog, cmn_config_where(cfg, sect, "log_level", w, sizeof(w)), lvl);
        cmn_config_destroy(&cfg);
        return -EINVAL;
    }
    cmn_log_init(spec->prog, level);
    /* Network daemons list CMN_CURVE_CLI_OPTS: their sockets' security. */
    bool network = false;
    for (const struct cmn_cli_opt *o = spec->opts; o && o->key; o++)
        network = network || strcmp(o->key, "curve_key") == 0;
    char why[512];
    if (network && cmn_curve_configure(cfg, sect, why, sizeof(why)) != 0) {
        fprintf(stderr, "%s: %s\n", spec->prog, why);
        cmn_config_destroy(&cfg);
        return -EINVAL;
    }
    *cfgp = cfg;
    *section = sect;
    *first_pos = pos;
    return 0;
}

const char *cmn_cli_require(const struct cmn_cli_spec *spec, const struct cmn_config *cfg,
                            const char *section, const char *key)
{
    const char *v = cmn_config_get(cfg, section, key);
    if (v && *v)
        return v;
    char opt[64];
    snprintf(opt, sizeof(opt), "%s", key);
    for (char *p = opt; *p; p++)
        if (*p == '_')
            *p = '-';
    CMN_LOG(ERR, "%s: missing required option --%s (or '%s =' in [%s])", spec->prog, opt, key,
            section);
    return NULL;
}
