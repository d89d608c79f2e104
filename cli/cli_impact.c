/* SPDX-License-Identifier: MIT
 * cli_impact: parses the options of `renkei impact`, loads the map of the
 * database for the period asked (rep_graph), runs the impact analysis
 * (rep_impact) and writes it as text, JSON or CSV.
 */
#define CMN_LOG_TAG "impact"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_impact.h"
#include "cmn_cli.h"
#include "cmn_config.h"
#include "cmn_log.h"
#ifdef RENKEI_HAVE_REPORTER
#include "cmn_sites.h"
#include "rep_db.h"
#include "rep_graph.h"
#include "rep_impact.h"
#endif

static const struct cmn_cli_opt s_opts[] = {
    {"db", "DB", "database written by renkei analyze / renkei-merger (required)"},
    {"fail", "TARGET",
     "what fails (repeatable): IP, CIDR, IP:proto/port (one service), @site or a host name"},
    {"hops", "N", "hops of propagation past the failure (default: until nothing changes)"},
    {"since", "TIME",
     "judge from traffic since TIME (RFC 3339, a date, or 24h / 7d before the"
     " last packet)"},
    {"until", "TIME", "judge from traffic until TIME (same forms)"},
    {"alt", "SEL,SEL...",
     "redundancy group (repeatable): members stand in for each other; SEL is IP:proto/port,"
     " CIDR:proto/port or @site:proto/port"},
    {"soft", "SERVICE",
     "soft dependency (repeatable): proto/port or IP:proto/port whose loss degrades its"
     " clients but never impairs them (e.g. udp/514 syslog)"},
    {"sites", "FILE", "sites file (NAME KIND CIDR...); default: the sites stored in the database"},
    {"format", "FORMAT", "text (default), json or csv"},
    {"out", "FILE", "write here instead of stdout"},
    {NULL, NULL, NULL},
};

static const char *const s_repeat[] = {"fail", "alt", "soft", NULL};

static const struct cmn_cli_spec s_spec = {
    .prog = "renkei impact",
    .kind = "impact",
    .summary = "What breaks if this fails: lost, impaired and degraded services and hosts,"
               " with the chain that explains each.",
    .repeat = s_repeat,
    .opts = s_opts,
    .positional = false,
};

#ifdef RENKEI_HAVE_REPORTER
/* The values of a repeatable key, borrowed from cfg. */
static const char **s_list(const struct cmn_config *cfg, const char *sect, const char *key,
                           size_t *n)
{
    *n = cmn_config_count(cfg, sect, key);
    const char **v = calloc(*n + 1, sizeof(*v));
    if (!v)
        abort();
    for (size_t i = 0; i < *n; i++)
        v[i] = cmn_config_get_nth(cfg, sect, key, i);
    return v;
}

static int s_time_opt(const struct cmn_config *cfg, const char *sect, const char *key, int64_t ref,
                      int64_t *out)
{
    const char *v = cmn_config_get(cfg, sect, key);
    *out = 0;
    if (!v)
        return 0;
    if (rep_time_parse(v, ref, out) != 0) {
        fprintf(stderr,
                "renkei impact: --%s '%s': expected RFC 3339 (2026-01-01T08:00:00Z), a date"
                " (2026-01-01) or a duration before the last packet (90m, 24h, 7d)\n",
                key, v);
        return -EINVAL;
    }
    return 0;
}
#endif

int cli_impact_main(int argc, char **argv)
{
    struct cmn_config *cfg = NULL;
    const char *sect;
    int pos;
    if (cmn_cli_parse(&s_spec, argc, argv, &cfg, &sect, &pos) != 0)
        return CMN_EXIT_USAGE;
    int rc = CMN_EXIT_USAGE;
#ifdef RENKEI_HAVE_REPORTER
    struct cmn_sites *sites = NULL;
    struct rep_graph *g = NULL;
    struct rep_impact *r = NULL;
    sqlite3 *db = NULL;
    FILE *out = stdout;
    size_t nfail, nalt, nsoft;
    const char **fail = s_list(cfg, sect, "fail", &nfail);
    const char **alt = s_list(cfg, sect, "alt", &nalt);
    const char **soft = s_list(cfg, sect, "soft", &nsoft);
    const char *dbp = cmn_cli_require(&s_spec, cfg, sect, "db");
    const char *format = cmn_config_get(cfg, sect, "format");
    const char *outp = cmn_config_get(cfg, sect, "out");
    const char *sitesp = cmn_config_get(cfg, sect, "sites");
    uint64_t hops = UINT64_MAX;
    char err[512];
    if (!dbp)
        goto done;
    if (nfail == 0) {
        fprintf(stderr, "renkei impact: give at least one --fail TARGET (IP, CIDR,"
                        " IP:proto/port, @site or host name)\n");
        goto done;
    }
    if (!format)
        format = "text";
    if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0) {
        fprintf(stderr, "renkei impact: unknown --format '%s' (text, json, csv)\n", format);
        goto done;
    }
    if (cmn_config_get(cfg, sect, "hops") &&
        cmn_config_u64(cfg, sect, "hops", 0, 1, 1000000, &hops) != 0)
        goto done;
    if (access(dbp, R_OK) != 0) {
        fprintf(stderr, "renkei impact: cannot read database '%s': %s\n", dbp, strerror(errno));
        goto done;
    }
    if (sitesp && !(sites = cmn_sites_load(sitesp)))
        goto done;
    db = rep_db_open(dbp);
    if (!db) {
        rc = CMN_EXIT_ERROR;
        goto done;
    }
    struct rep_graph_opts go = {.sites = sites};
    int64_t last = rep_db_meta_i64(db, "last_seen_ns", 0);
    if (s_time_opt(cfg, sect, "since", last, &go.since_ns) != 0 ||
        s_time_opt(cfg, sect, "until", last, &go.until_ns) != 0)
        goto done;
    g = rep_graph_load(db, &go);
    if (!g)
        goto done; /* reason logged: a bad period is a usage error */
    struct rep_impact_opts io = {.fail = fail,
                                 .nfail = nfail,
                                 .hops = hops == UINT64_MAX ? -1 : (int)hops,
                                 .alt = alt,
                                 .nalt = nalt,
                                 .soft = soft,
                                 .nsoft = nsoft};
    r = rep_impact_run(g, &io, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "renkei impact: %s\n", err);
        goto done;
    }
    if (outp && !(out = fopen(outp, "w"))) {
        fprintf(stderr, "renkei impact: cannot write %s: %s\n", outp, strerror(errno));
        out = stdout;
        rc = CMN_EXIT_ERROR;
        goto done;
    }
    int wr = strcmp(format, "json") == 0  ? rep_impact_write_json(r, out)
             : strcmp(format, "csv") == 0 ? rep_impact_write_csv(r, out)
                                          : rep_impact_write_text(r, out);
    if (fflush(out) != 0)
        wr = -EIO;
    rc = wr == 0 ? CMN_EXIT_OK : CMN_EXIT_ERROR;
    if (wr != 0)
        fprintf(stderr, "renkei impact: write error: %s\n", strerror(errno));
done:
    if (out != stdout && fclose(out) != 0 && rc == CMN_EXIT_OK)
        rc = CMN_EXIT_ERROR;
    rep_impact_destroy(&r);
    rep_graph_destroy(&g);
    rep_db_close(&db);
    cmn_sites_destroy(&sites);
    free(fail);
    free(alt);
    free(soft);
#else
    CMN_LOG(ERR, "this renkei was built without the reporter: no impact analysis");
    rc = CMN_EXIT_ERROR;
#endif
    cmn_config_destroy(&cfg);
    return rc;
}
