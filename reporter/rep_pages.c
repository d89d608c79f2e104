/* SPDX-License-Identifier: MIT
 * rep_pages: dispatch of the HTML report and its host-centred pages: the
 * overview "/", the host list (paged, searched, filtered, sorted, kind
 * unknown folded into one line), one host (table 1 of the paper: services
 * provided and used, clients, events, volume over time), events, and the
 * monitor (node_stats and meta, refreshed live while the run is running).
 * Every query is bounded: LIMIT/OFFSET on the big tables, point lookups on
 * their keys; see docs/PERFORMANCE.md for the time per route at 20,000
 * hosts.
 */
#define CMN_LOG_TAG "rep_pages"
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "cmn_sites.h"
#include "rep_db.h"
#include "rep_hostset.h"
#include "rep_json.h"
#include "rep_names.h"
#include "rep_pages.h"
#include "rep_ports.h"

/* Servers first: the order an operator reads a data centre in. */
#define KIND_RANK                                                                                  \
    "CASE kind WHEN 'server' THEN 0 WHEN 'both' THEN 1 WHEN 'client' THEN 2 ELSE 3 END"
#define PAGE_LIMIT_S "100" /* REP_PAGE_LIMIT as SQL text */

static const char *s_col(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

void rep_pages_not_found(struct rep_page *p, const char *what, const char *detail)
{
    p->resp->status = MHD_HTTP_NOT_FOUND;
    rep_html_head(p, "not found", NULL, NULL);
    fputs("<p>", p->f);
    rep_html_esc(p->f, what);
    if (detail) {
        fputs(": <code>", p->f);
        rep_html_esc(p->f, detail);
        fputs("</code>", p->f);
    }
    fputs(". <a href=\"/\">Overview</a> &middot; <a href=\"/hosts\">Hosts</a></p>\n", p->f);
    rep_html_tail(p);
}

/* ---- overview ---- */

static int64_t s_scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The one value of `head` with q's WHERE, or -1. */
static int64_t s_qb_scalar(const struct rep_qb *q, sqlite3 *db, const char *head)
{
    sqlite3_stmt *st = rep_qb_prepare(q, db, head, NULL);
    int64_t v = st && sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return v;
}

static void s_tot(FILE *f, const char *label, int64_t v, const char *href)
{
    if (href)
        fprintf(f, "<div><a href=\"%s\">%s</a><b>%lld</b></div>", href, label, (long long)v);
    else
        fprintf(f, "<div>%s<b>%lld</b></div>", label, (long long)v);
}

/* Events table rows from a statement selecting REP_EVENT_COLS. */
static void s_event_rows(FILE *f, sqlite3_stmt *st)
{
    int n = 0;
    for (; sqlite3_step(st) == SQLITE_ROW; n++) {
        fputs("<tr>", f);
        rep_html_td_text(f, s_col(st, 0));
        rep_html_td_host(f, s_col(st, 1), NULL);
        int port = sqlite3_column_int(st, 2), proto = sqlite3_column_int(st, 7);
        if (port > 0)
            rep_html_td_service(f, s_col(st, 1), proto, port);
        else
            rep_html_td_text(f, "");
        const char *actor = s_col(st, 8);
        if (actor && *actor)
            rep_html_td_host(f, actor, NULL);
        else
            fprintf(f, "<td class=muted>%lld sources</td>", (long long)sqlite3_column_int64(st, 3));
        rep_html_td_num(f, sqlite3_column_int64(st, 3));
        rep_html_td_num(f, sqlite3_column_int64(st, 4));
        rep_html_td_num(f, sqlite3_column_int64(st, 9));
        fprintf(f, "<td class=n>%.1f/s</td>", sqlite3_column_double(st, 10));
        rep_html_td_time(f, sqlite3_column_int64(st, 5));
        rep_html_td_time(f, sqlite3_column_int64(st, 6));
        fputs("</tr>\n", f);
    }
    if (n == 0)
        fputs("<tr><td colspan=10 class=muted>no floods or scans detected</td></tr>\n", f);
}

static void s_event_head(FILE *f)
{
    fputs("<table><thead><tr><th>kind</th><th>target</th><th>port</th><th>source</th>"
          "<th>sources</th><th>packets</th><th>ports</th><th>rate</th><th>from</th><th>to</th>"
          "</tr></thead><tbody>\n",
          f);
}

int rep_pages_overview(struct rep_page *p)
{
    FILE *f = p->f;
    sqlite3 *db = p->db;
    char a[40], b[40], state[32], vol[32];
    rep_html_head(p, "renkei report", "Overview", NULL);
    int64_t first = rep_db_meta_i64(db, "first_seen_ns", -1);
    int64_t last = rep_db_meta_i64(db, "last_seen_ns", -1);
    rep_db_meta_text(db, "run_state", state, sizeof(state));
    fprintf(f, "<p>Traffic from <b>%s</b> to <b>%s</b>; run <b>",
            first >= 0 ? rep_time_text(first, a, sizeof(a)) : "-",
            last >= 0 ? rep_time_text(last, b, sizeof(b)) : "-");
    rep_html_esc(f, state[0] ? state : "unknown");
    fprintf(f,
            "</b>; records lost %lld; duplicates removed %lld. "
            "<a href=\"/monitor\">Monitor</a> &middot; <a href=\"/api/export\">JSON "
            "export</a></p>\n",
            (long long)rep_db_meta_i64(db, "records_lost", 0),
            (long long)rep_db_meta_i64(db, "duplicates_removed", 0));

    /* the hosts' totals from the hosts in memory (one scan per merger commit) */
    struct rep_pages_hosts *ref = NULL;
    const struct rep_hostset *hs = rep_pages_hostset_acquire(p, &ref);
    if (!hs)
        return -EIO;
    int64_t kinds[4] = {0, 0, 0, 0}; /* server, both, client, unknown */
    for (size_t i = 0; i < hs->nhosts; i++)
        kinds[hs->hosts[i].kind]++;
    sqlite3_stmt *st = NULL;
    fputs("<div class=tot>", f);
    fprintf(f, "<div>packets<b>%lld</b></div>", (long long)rep_db_meta_i64(db, "packets", 0));
    fprintf(f, "<div>volume<b>%s</b></div>",
            rep_html_human(rep_db_meta_i64(db, "bytes", 0), vol, sizeof(vol)));
    s_tot(f, "hosts", kinds[0] + kinds[1] + kinds[2] + kinds[3], "/hosts");
    s_tot(f, "servers", kinds[0] + kinds[1], "/hosts?kind=server");
    s_tot(f, "both", kinds[1], "/hosts?kind=both");
    s_tot(f, "clients only", kinds[2], "/hosts?kind=client");
    s_tot(f, "unknown", kinds[3], "/hosts?kind=unknown");
    s_tot(f, "networks", (int64_t)hs->nnets, NULL);
    s_tot(f, "sites", (int64_t)cmn_sites_count(p->sites), "/sites");
    s_tot(f, "services", s_scalar(db, "SELECT COUNT(*) FROM services WHERE clients > 0"),
          "/services");
    /* a service's clients are its edges */
    s_tot(f, "edges", s_scalar(db, "SELECT coalesce(SUM(clients), 0) FROM services"), NULL);
    s_tot(f, "events", s_scalar(db, "SELECT COUNT(*) FROM events"), "/events");
    fputs("</div>\n", f);

    fputs("<form action=\"/hosts\" method=\"get\"><p><input type=\"search\" name=\"q\" size=\"40\" "
          "autofocus placeholder=\"find a host: IP, CIDR, name or service\"> "
          "<button>Find</button></p></form>\n<div class=cols>",
          f);
    static const char *const tops[2][2] = {
        {"Top services by clients", "clients DESC"},
        {"Top services by volume", "bytes DESC"},
    };
    for (int t = 0; t < 2; t++) {
        char sql[512];
        snprintf(
            sql, sizeof(sql),
            "SELECT s.ip, s.proto, s.port, s.clients, s.bytes, rep_host_name(s.ip) FROM services s"
            " WHERE s.clients > 0 ORDER BY s.%s, s.ip_key LIMIT 10",
            tops[t][1]);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
            rep_pages_hostset_release(&ref);
            return -EIO;
        }
        fprintf(f,
                "<div><h2>%s</h2><table><thead><tr><th>service</th><th>server</th>"
                "<th>clients</th><th>volume</th></tr></thead><tbody>\n",
                tops[t][0]);
        while (sqlite3_step(st) == SQLITE_ROW) {
            fputs("<tr>", f);
            rep_html_td_service(f, s_col(st, 0), sqlite3_column_int(st, 1),
                                sqlite3_column_int(st, 2));
            rep_html_td_host(f, s_col(st, 0), s_col(st, 5));
            rep_html_td_num(f, sqlite3_column_int64(st, 3));
            rep_html_td_bytes(f, sqlite3_column_int64(st, 4));
            fputs("</tr>\n", f);
        }
        sqlite3_finalize(st);
        fputs("</tbody></table></div>", f);
    }
    /* top talkers: the host list's volume order, descending */
    const uint32_t *byvol = rep_hostset_order(hs, REP_HS_VOLUME, true);
    fputs("<div><h2>Top talkers</h2><table><thead><tr><th>host</th><th>kind</th><th>volume</th>"
          "<th>packets</th></tr></thead><tbody>\n",
          f);
    for (size_t i = 0; i < hs->nhosts && i < 10; i++) {
        const struct rep_hrow *h = &hs->hosts[byvol[i]];
        fputs("<tr>", f);
        rep_html_td_host(f, h->ip, rep_names_host(p->names, h->ip, NULL));
        rep_html_td_text(f, rep_hkind_name(h->kind));
        rep_html_td_bytes(f, h->bytes);
        rep_html_td_num(f, h->packets);
        fputs("</tr>\n", f);
    }
    rep_pages_hostset_release(&ref);
    fputs("</tbody></table></div></div>\n<h2>Recent events</h2>\n", f);
    if (sqlite3_prepare_v2(db,
                           "SELECT " REP_EVENT_COLS " FROM events ORDER BY last_ns DESC,"
                           " packets DESC LIMIT 10",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    s_event_head(f);
    s_event_rows(f, st);
    sqlite3_finalize(st);
    fputs("</tbody></table><p><a href=\"/events\">All events</a></p>\n", f);
    rep_html_tail(p);
    return 0;
}

/* ---- host list ---- */

static const char *const s_host_sort_keys[] = {
    "ip", "name", "kind", "site", "network", "provides", "uses", "volume", "packets", "last", NULL};
static const bool s_host_sort_desc[] = {false, false, false, false, false,
                                        true,  true,  true,  true,  true};

/* Parse "tcp/443" or "udp/53". */
static bool s_parse_service(const char *v, uint8_t *proto, int *port)
{
    const char *slash = v ? strchr(v, '/') : NULL;
    char pb[16];
    if (!slash || (size_t)(slash - v) >= sizeof(pb) || slash == v)
        return false;
    memcpy(pb, v, (size_t)(slash - v));
    pb[slash - v] = '\0';
    size_t n = strlen(slash + 1);
    if (n < 1 || n > 5 || strspn(slash + 1, "0123456789") != n)
        return false;
    long x = strtol(slash + 1, NULL, 10);
    if (cmn_proto_parse(pb, proto) != 0 || x < 1 || x > 65535)
        return false;
    *port = (int)x;
    return true;
}

static const char *const s_kinds[] = {"server", "both", "client", "unknown", NULL};

static const char *s_pick(const char *v, const char *const *allowed)
{
    for (; v && *allowed; allowed++)
        if (strcmp(v, *allowed) == 0)
            return *allowed;
    return NULL;
}

/* A <select> of `opts` for parameter `key` (first option: any). */
static void s_select(struct rep_page *p, const char *key, const char *label,
                     const char *const *opts)
{
    const char *cur = rep_page_arg(p, key);
    fprintf(p->f, "<label>%s <select name=\"%s\"><option value=\"\">any</option>", label, key);
    for (; *opts; opts++) {
        fputs("<option", p->f);
        if (cur && strcmp(cur, *opts) == 0)
            fputs(" selected", p->f);
        fputs(">", p->f);
        rep_html_esc(p->f, *opts);
        fputs("</option>", p->f);
    }
    fputs("</select></label>", p->f);
}

static void s_input(struct rep_page *p, const char *key, const char *label, const char *ph,
                    int size)
{
    const char *cur = rep_page_arg(p, key);
    fprintf(p->f, "<label>%s <input name=\"%s\" size=\"%d\" placeholder=\"%s\" value=\"", label,
            key, size, ph);
    rep_html_esc(p->f, cur);
    fputs("\"></label>", p->f);
}

/* The hosts in memory, shared by the requests of one database state (the
 * map's key, rep_pages_state_key): loading them is one scan of hosts and one
 * of services, paid by the first request after each merger commit. */
struct rep_pages_hosts {
    char key[512];          /* rep_pages_state_key */
    struct rep_hostset *hs; /* read-only once loaded */
    int refs;               /* requests using hs */
};

static pthread_mutex_t s_hosts_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rep_pages_hosts *s_hosts; /* the newest set, or NULL */

const struct rep_hostset *rep_pages_hostset_acquire(struct rep_page *p,
                                                    struct rep_pages_hosts **ref)
{
    char key[512];
    rep_pages_state_key(p, key, sizeof(key));
    pthread_mutex_lock(&s_hosts_lock);
    if (!s_hosts || strcmp(s_hosts->key, key) != 0) {
        struct rep_hostset *hs = rep_hostset_load(p->db, p->sites);
        if (!hs) {
            pthread_mutex_unlock(&s_hosts_lock);
            *ref = NULL;
            return NULL;
        }
        struct rep_pages_hosts *c = calloc(1, sizeof(*c));
        if (!c)
            abort();
        snprintf(c->key, sizeof(c->key), "%s", key);
        c->hs = hs;
        if (s_hosts && s_hosts->refs == 0) { /* else its last user frees it */
            rep_hostset_destroy(&s_hosts->hs);
            free(s_hosts);
        }
        s_hosts = c;
    }
    s_hosts->refs++;
    *ref = s_hosts;
    pthread_mutex_unlock(&s_hosts_lock);
    return (*ref)->hs;
}

void rep_pages_hostset_release(struct rep_pages_hosts **ref)
{
    struct rep_pages_hosts *c = *ref;
    if (!c)
        return;
    pthread_mutex_lock(&s_hosts_lock);
    if (--c->refs == 0 && c != s_hosts) {
        rep_hostset_destroy(&c->hs);
        free(c);
    }
    pthread_mutex_unlock(&s_hosts_lock);
    *ref = NULL;
}

void rep_pages_hostset_clear(void)
{
    pthread_mutex_lock(&s_hosts_lock);
    if (s_hosts && s_hosts->refs == 0) {
        rep_hostset_destroy(&s_hosts->hs);
        free(s_hosts);
        s_hosts = NULL;
    }
    pthread_mutex_unlock(&s_hosts_lock);
}

/* One host of the list and what its sort reads. */
struct hl_row {
    uint32_t h;       /* index in the host set */
    const char *name; /* its name (sorting by name only), borrowed from the request's names */
};

/* Sort by name: coalesce(name, '~') (BINARY), then address; desc reverses
 * the name only. */
static int s_name_cmp(const void *a, const void *b, void *arg)
{
    const struct hl_row *x = a, *y = b;
    int c = strcmp(x->name ? x->name : "~", y->name ? y->name : "~");
    if (*(const bool *)arg)
        c = -c;
    return c ? c : (x->h < y->h ? -1 : x->h > y->h);
}

/* s_host_sort_keys (index + 1; 0: none given) as the host set's sorts. */
static const enum rep_hsort s_hsort[] = {
    REP_HS_DEFAULT,  REP_HS_IP,   REP_HS_DEFAULT, REP_HS_KIND,    REP_HS_SITE, REP_HS_NETWORK,
    REP_HS_PROVIDES, REP_HS_USES, REP_HS_VOLUME,  REP_HS_PACKETS, REP_HS_LAST};

#define HL_CMP(x, y) ((x) < (y) ? -1 : (x) > (y))

static char s_low(char c)
{
    return (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

/* a and b equal but for ASCII case (SQLite's lower() = lower()). */
static bool s_ieq(const char *a, const char *b)
{
    for (; *a && s_low(*a) == s_low(*b); a++, b++)
        ;
    return *a == *b;
}

/* needle (non-empty) in hay, ASCII case aside (instr(lower(hay), lower(needle))). */
static bool s_icontains(const char *hay, const char *needle)
{
    for (; *hay; hay++) {
        size_t i = 0;
        while (needle[i] && s_low(hay[i]) == s_low(needle[i]))
            i++;
        if (!needle[i])
            return true;
    }
    return false;
}

static int s_u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return HL_CMP(x, y);
}

/* The (proto << 16 | port) of every service whose name is `q`, ASCII case
 * aside, sorted; *n gets the count. */
static uint32_t *s_svc_named(const struct rep_page *p, const struct rep_hostset *hs, const char *q,
                             size_t *n)
{
    uint32_t *all = malloc((hs->nsvcs + 1) * sizeof(*all));
    if (!all)
        abort();
    for (size_t i = 0; i < hs->nsvcs; i++)
        all[i] = (uint32_t)hs->svcs[i].proto << 16 | (hs->svcs[i].port & 0xffff);
    qsort(all, hs->nsvcs, sizeof(*all), s_u32_cmp);
    char nb[64];
    *n = 0;
    for (size_t i = 0; i < hs->nsvcs; i++) {
        if (i > 0 && all[i] == all[i - 1])
            continue;
        const char *name =
            rep_names_service(p->names, (uint8_t)(all[i] >> 16), (uint16_t)all[i], nb, sizeof(nb));
        if (name && s_ieq(name, q))
            all[(*n)++] = all[i];
    }
    return all;
}

/* Host h provides a service of `named` (sorted keys). */
static bool s_has_named(const struct rep_hostset *hs, size_t h, const uint32_t *named, size_t n)
{
    for (uint32_t i = hs->hosts[h].svc_lo; i < hs->hosts[h].svc_hi && n; i++) {
        uint32_t k = (uint32_t)hs->svcs[i].proto << 16 | (hs->svcs[i].port & 0xffff);
        if (bsearch(&k, named, n, sizeof(*named), s_u32_cmp))
            return true;
    }
    return false;
}

/* The host list over the hosts in memory (rep_hostset.h): filter, count and
 * sort in C, one pass over the hosts; the same rows and order as the SQL
 * it replaced (20-60 ms a page at 20,000 hosts, 120 under load). */
int rep_pages_hosts(struct rep_page *p)
{
    FILE *f = p->f;
    const char *qs = rep_page_arg(p, "q");
    const char *kind = s_pick(rep_page_arg(p, "kind"), s_kinds);
    const char *site = rep_page_arg(p, "site");
    const char *net = rep_page_arg(p, "network");
    const char *svc = rep_page_arg(p, "service");
    char canon[CMN_IP_STRLEN];
    uint8_t ip[16], lo[16], hi[16], proto = 0, sproto = 0;
    int port = 0, sport = 0;
    enum { Q_NONE, Q_ADDR, Q_CIDR, Q_SVC, Q_TEXT } qk = Q_NONE;
    if (qs && !*qs)
        qs = NULL;
    struct rep_pages_hosts *ref = NULL;
    const struct rep_hostset *hs = rep_pages_hostset_acquire(p, &ref);
    if (!hs)
        return -EIO;
    if (qs && cmn_ip_parse(qs, ip) == 0) {
        /* an exact address: straight to its page when the host is known */
        cmn_ip_format(ip, canon, sizeof(canon));
        qk = Q_ADDR;
        for (size_t lo_i = 0, hi_i = hs->nhosts; lo_i < hi_i;) {
            size_t mid = lo_i + (hi_i - lo_i) / 2;
            int c = memcmp(hs->hosts[mid].key, ip, 16);
            if (c == 0) {
                p->resp->status = MHD_HTTP_SEE_OTHER;
                snprintf(p->resp->location, sizeof(p->resp->location), "/host/%s", canon);
                fprintf(f, "<a href=\"/host/%s\">/host/%s</a>\n", canon, canon);
                rep_pages_hostset_release(&ref);
                return 0;
            }
            if (c < 0)
                lo_i = mid + 1;
            else
                hi_i = mid;
        }
    } else if (qs && strchr(qs, '/') && cmn_prefix_parse(qs, lo, hi) == 0) {
        qk = Q_CIDR;
    } else if (qs && s_parse_service(qs, &proto, &port)) {
        qk = Q_SVC;
    } else if (qs) { /* address prefix, name substring, or a service name */
        qk = Q_TEXT;
    }
    bool by_svc = svc && *svc && s_parse_service(svc, &sproto, &sport);
    bool by_site = site && *site, by_net = net && *net;
    /* kind unknown (flood sources, scanned addresses) folds into one line
     * unless asked for or searched */
    bool filtered = qk != Q_NONE || kind || by_site || by_net || by_svc;
    size_t nnamed = 0, qlen = qs ? strlen(qs) : 0;
    uint32_t *svc_named = qk == Q_TEXT ? s_svc_named(p, hs, qs, &nnamed) : NULL;
    bool desc = false;
    int si = rep_page_sort(p, s_host_sort_keys, &desc);
    if (si < 0)
        desc = rep_page_arg(p, "order") && strcmp(rep_page_arg(p, "order"), "desc") == 0;
    else if (!rep_page_arg(p, "order"))
        desc = s_host_sort_desc[si];
    /* the hosts in the page's order (kept with the set), so the rows are
     * the matches from the offset on; only names sort here */
    bool by_name = si == 1;
    const uint32_t *order = by_name ? NULL : rep_hostset_order(hs, s_hsort[si + 1], desc);
    int64_t off = rep_page_int(p, "offset", 0, INT64_MAX / 2, 0);
    struct hl_row *rows = malloc((by_name ? hs->nhosts : REP_PAGE_LIMIT) * sizeof(*rows) + 1);
    if (!rows)
        abort();
    int64_t total = 0, unknown = 0;
    for (size_t k = 0; k < hs->nhosts; k++) {
        size_t i = order ? order[k] : k;
        const struct rep_hrow *h = &hs->hosts[i];
        const char *name = NULL;
        if (!filtered && h->kind == REP_HK_UNKNOWN) {
            unknown++;
            continue;
        }
        switch (qk) {
            case Q_ADDR:
                continue; /* not a known host */
            case Q_CIDR:
                if (memcmp(h->key, lo, 16) < 0 || memcmp(h->key, hi, 16) > 0)
                    continue;
                break;
            case Q_SVC:
                if (!rep_hostset_has_service(hs, i, proto, (uint32_t)port))
                    continue;
                break;
            case Q_TEXT:
                if (strncmp(h->ip, qs, qlen) != 0 &&
                    !((name = rep_names_host(p->names, h->ip, NULL)) && s_icontains(name, qs)) &&
                    !s_has_named(hs, i, svc_named, nnamed))
                    continue;
                break;
            default:
                break;
        }
        if (kind && strcmp(rep_hkind_name(h->kind), kind) != 0)
            continue;
        if (by_site && (h->site < 0 || strcmp(cmn_sites_name(hs->sites, (size_t)h->site), site)))
            continue;
        if (by_net && strcmp(h->network, net) != 0)
            continue;
        if (by_svc && !rep_hostset_has_service(hs, i, sproto, (uint32_t)sport))
            continue;
        if (by_name)
            rows[total] = (struct hl_row){(uint32_t)i, rep_names_host(p->names, h->ip, NULL)};
        else if (total >= off && total < off + REP_PAGE_LIMIT)
            rows[total - off] = (struct hl_row){(uint32_t)i, NULL};
        total++;
    }
    if (by_name)
        qsort_r(rows, (size_t)total, sizeof(*rows), s_name_cmp, &desc);
    rep_html_head(p, "Hosts", "Hosts", NULL);
    fputs("<form class=f action=\"/hosts\" method=\"get\"><p>", f);
    s_input(p, "q", "search", "IP, CIDR, name, tcp/5432 or ldap", 28);
    s_select(p, "kind", "kind", s_kinds);
    size_t ns = cmn_sites_count(p->sites);
    if (ns > 0) {
        fputs("<label>site <select name=\"site\"><option value=\"\">any</option>", f);
        for (size_t i = 0; i < ns; i++) {
            const char *n = cmn_sites_name(p->sites, i);
            fputs("<option", f);
            if (site && strcmp(site, n) == 0)
                fputs(" selected", f);
            fputs(">", f);
            rep_html_esc(f, n);
            fputs("</option>", f);
        }
        fputs("</select></label>", f);
    }
    s_input(p, "network", "network", "10.1.2.0/24", 14);
    s_input(p, "service", "has service", "tcp/443", 9);
    fputs(" <button>Show</button> <a href=\"/hosts\">reset</a></p></form>\n", f);
    rep_html_pager(p, "/hosts", "offset", total, off, REP_PAGE_LIMIT);
    fputs("<table id=hosts><thead><tr>", f);
    rep_html_th_sort(p, "/hosts", "IP", "ip", false);
    rep_html_th_sort(p, "/hosts", "name", "name", false);
    rep_html_th_sort(p, "/hosts", "kind", "kind", false);
    bool sites = ns > 0; /* no site column without sites */
    if (sites)
        rep_html_th_sort(p, "/hosts", "site", "site", false);
    rep_html_th_sort(p, "/hosts", "network", "network", false);
    rep_html_th_sort(p, "/hosts", "services provided", "provides", true);
    rep_html_th_sort(p, "/hosts", "services used", "uses", true);
    rep_html_th_sort(p, "/hosts", "volume", "volume", true);
    rep_html_th_sort(p, "/hosts", "packets", "packets", true);
    rep_html_th_sort(p, "/hosts", "last seen", "last", true);
    fputs("</tr></thead><tbody>\n", f);
    for (int64_t i = off; i < total && i < off + REP_PAGE_LIMIT; i++) {
        const struct rep_hrow *h = &hs->hosts[rows[by_name ? i : i - off].h];
        fputs("<tr>", f);
        rep_html_td_host(f, h->ip, NULL);
        rep_html_td_text(f, rep_names_host(p->names, h->ip, NULL));
        rep_html_td_text(f, rep_hkind_name(h->kind));
        const char *sn = h->site >= 0 ? cmn_sites_name(hs->sites, (size_t)h->site) : NULL;
        if (!sites) {
            /* no column */
        } else if (sn) {
            fputs("<td><a href=\"/site/", f);
            rep_html_q(f, sn);
            fputs("\">", f);
            rep_html_esc(f, sn);
            fputs("</a></td>", f);
        } else {
            fputs("<td></td>", f);
        }
        fputs("<td><a href=\"/network/", f);
        rep_html_q(f, h->network);
        fputs("\">", f);
        rep_html_esc(f, h->network);
        fputs("</a></td>", f);
        rep_html_td_num(f, h->provided);
        rep_html_td_num(f, h->used);
        rep_html_td_bytes(f, h->bytes);
        rep_html_td_num(f, h->packets);
        rep_html_td_time(f, h->last_ns);
        fputs("</tr>\n", f);
    }
    if (unknown > 0 && off + REP_PAGE_LIMIT >= total)
        fprintf(f,
                "<tr class=fold><td colspan=%d><a href=\"/hosts?kind=unknown\">+ %lld hosts of "
                "kind unknown</a> <span class=muted>(neither provide nor use a service: spoofed "
                "flood sources, scanners and their targets, ICMP-only hosts)</span></td></tr>\n",
                sites ? 10 : 9, (long long)unknown);
    fputs("</tbody></table>\n", f);
    rep_html_pager(p, "/hosts", "offset", total, off, REP_PAGE_LIMIT);
    if (unknown > 0)
        fprintf(f,
                "<p class=muted>%lld hosts of kind unknown are not listed: "
                "<a href=\"/hosts?kind=unknown\">show them</a>.</p>\n",
                (long long)unknown);
    rep_html_tail(p);
    free(rows);
    free(svc_named);
    rep_pages_hostset_release(&ref);
    return 0;
}

/* ---- one host ---- */

/* Canonical text of `raw`, or -EINVAL. */
static int s_canon_ip(const char *raw, char *buf, size_t len)
{
    uint8_t ip[16];
    if (!raw || cmn_ip_parse(raw, ip) != 0)
        return -EINVAL;
    cmn_ip_format(ip, buf, len);
    return 0;
}

/* Volume over time of edges with `col` = ip, all resolutions (each row's
 * width is its resolution). */
static int s_usage_chart(FILE *f, sqlite3 *db, const char *sql, const char *ip, int proto, int port,
                         const char *label, int vcol)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fputs("<p class=muted>no usage history in this database</p>\n", f);
        return 0; /* databases before usage history: not an error */
    }
    sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
    if (proto >= 0) {
        sqlite3_bind_int(st, 2, proto);
        sqlite3_bind_int(st, 3, port);
    }
    size_t n = 0, cap = 0;
    int64_t *t = NULL, *w = NULL;
    double *v = NULL;
    while (sqlite3_step(st) == SQLITE_ROW && n < 5000) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            t = realloc(t, cap * sizeof(*t));
            w = realloc(w, cap * sizeof(*w));
            v = realloc(v, cap * sizeof(*v));
            if (!t || !w || !v)
                abort();
        }
        t[n] = sqlite3_column_int64(st, 0);
        w[n] = sqlite3_column_int64(st, 1) * 1000000000LL;
        v[n] = sqlite3_column_double(st, vcol);
        n++;
    }
    sqlite3_finalize(st);
    rep_html_chart(f, t, w, v, n, label, vcol == 2);
    free(t);
    free(w);
    free(v);
    return 0;
}

int rep_pages_host(struct rep_page *p, const char *raw)
{
    FILE *f = p->f;
    sqlite3 *db = p->db;
    char ip[CMN_IP_STRLEN];
    if (s_canon_ip(raw, ip, sizeof(ip)) != 0) {
        rep_pages_not_found(p, "not an IP address", raw);
        return 0;
    }
    if (strcmp(ip, raw) != 0) { /* one URL per host */
        p->resp->status = MHD_HTTP_SEE_OTHER;
        snprintf(p->resp->location, sizeof(p->resp->location), "/host/%s", ip);
        return 0;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT name, kind, network, packets_out, bytes_out, packets_in,"
                           " bytes_in, first_ns, last_ns, services_provided, services_used,"
                           " rep_site(ip) FROM hosts WHERE ip = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        rep_pages_not_found(p, "no traffic seen for host", ip);
        return 0;
    }
    char title[CMN_IP_STRLEN + 300], t1[40], t2[40], v1[32], v2[32];
    const char *src = NULL;
    const char *name = rep_names_host(p->names, ip, &src);
    snprintf(title, sizeof(title), "%s%s%s%s", ip, name ? " (" : "", name ? name : "",
             name ? ")" : "");
    rep_html_head(p, title, "Hosts", NULL);
    fputs("<table class=kv><tbody><tr><th>name</th><td>", f);
    if (name) {
        static const char *const srcs[][2] = {
            {"hosts_file", "hosts file"}, {"dns", "passive DNS"}, {"rdns", "reverse DNS"}};
        const char *how = src ? src : "unknown";
        for (size_t i = 0; i < 3 && src; i++)
            if (strcmp(src, srcs[i][0]) == 0)
                how = srcs[i][1];
        rep_html_esc(f, name);
        fputs(" <span class=muted>(from ", f);
        rep_html_esc(f, how);
        fputs(")</span>", f);
    } else {
        fputs("<span class=muted>none known (no hosts-file entry, no DNS answer seen)</span>", f);
    }
    fputs("</td></tr><tr><th>kind</th>", f);
    rep_html_td_text(f, s_col(st, 1));
    fputs("</tr><tr><th>site</th><td>", f);
    const char *site = s_col(st, 11);
    if (site) {
        fputs("<a href=\"/site/", f);
        rep_html_q(f, site);
        fputs("\">", f);
        rep_html_esc(f, site);
        fputs("</a>", f);
    } else {
        fputs("<span class=muted>none</span>", f);
    }
    fputs("</td></tr><tr><th>network</th><td><a href=\"/network/", f);
    rep_html_q(f, s_col(st, 2));
    fputs("\">", f);
    rep_html_esc(f, s_col(st, 2));
    fprintf(f,
            "</a></td></tr><tr><th>sent</th><td>%lld packets, %s</td></tr>"
            "<tr><th>received</th><td>%lld packets, %s</td></tr>"
            "<tr><th>seen</th><td>%s to %s</td></tr>"
            "<tr><th>services</th><td>provides %lld, uses %lld</td></tr></tbody></table>\n",
            (long long)sqlite3_column_int64(st, 3),
            rep_html_human(sqlite3_column_int64(st, 4), v1, sizeof(v1)),
            (long long)sqlite3_column_int64(st, 5),
            rep_html_human(sqlite3_column_int64(st, 6), v2, sizeof(v2)),
            rep_time_text(sqlite3_column_int64(st, 7), t1, sizeof(t1)),
            rep_time_text(sqlite3_column_int64(st, 8), t2, sizeof(t2)),
            (long long)sqlite3_column_int64(st, 9), (long long)sqlite3_column_int64(st, 10));
    sqlite3_finalize(st);
    fputs("<p><a href=\"/graph?around=", f);
    rep_html_q(f, ip);
    fputs("&amp;hops=1\">Graph around this host</a> &middot; <a href=\"/impact?fail=", f);
    rep_html_q(f, ip);
    fputs("\">What if it fails?</a> &middot; <a href=\"/api/host/", f);
    rep_html_q(f, ip);
    fputs("\">JSON</a></p>\n", f);

    /* services provided, with the role evidence behind each (endpoints) */
    if (sqlite3_prepare_v2(db,
                           "SELECT s.proto, s.port, s.clients, s.bytes, s.packets, s.confidence,"
                           " " REP_EVIDENCE_COLS " FROM services s LEFT JOIN endpoints e"
                           " ON e.ip = s.ip AND e.proto = s.proto AND e.port = s.port"
                           " WHERE s.ip = ?1 AND s.clients > 0"
                           " ORDER BY s.clients DESC, s.bytes DESC, s.proto,"
                           " s.port LIMIT 1000",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
    fputs("<h2>Services provided</h2><table id=provided><thead><tr><th>service</th>"
          "<th>clients</th><th>volume</th><th>packets</th><th>confidence</th>"
          "<th>evidence</th></tr></thead><tbody>\n",
          f);
    int shown_provided = 0;
    for (; sqlite3_step(st) == SQLITE_ROW; shown_provided++) {
        fputs("<tr>", f);
        rep_html_td_service(f, ip, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
        rep_html_td_num(f, sqlite3_column_int64(st, 2));
        rep_html_td_bytes(f, sqlite3_column_int64(st, 3));
        rep_html_td_num(f, sqlite3_column_int64(st, 4));
        fprintf(f, "<td class=n>%.2f</td>", sqlite3_column_double(st, 5));
        /* why it is judged a server: handshakes answered, fan-in, persistence */
        fprintf(f,
                "<td>SYN+ACK sent %lld, received %lld; SYN received %lld; RST sent %lld; "
                "peers %lld, peer ports %lld; epochs %lld</td></tr>\n",
                (long long)sqlite3_column_int64(st, 6), (long long)sqlite3_column_int64(st, 7),
                (long long)sqlite3_column_int64(st, 8), (long long)sqlite3_column_int64(st, 9),
                (long long)sqlite3_column_int64(st, 10), (long long)sqlite3_column_int64(st, 11),
                (long long)sqlite3_column_int64(st, 13));
    }
    sqlite3_finalize(st);
    if (shown_provided == 0)
        fputs("<tr><td colspan=6 class=muted>none</td></tr>", f);
    fputs("</tbody></table>\n", f);

    /* services used (paged: a proxy or a scanner uses thousands) */
    int64_t uoff = rep_page_int(p, "uoffset", 0, INT64_MAX / 2, 0);
    struct rep_qb q = {.len = 0};
    rep_qb_where(&q, "e.client_ip = ?");
    rep_qb_text(&q, ip);
    int64_t nused = rep_qb_count(&q, db, " FROM edges e");
    char tail[512];
    snprintf(tail, sizeof(tail),
             " ORDER BY e.bytes_c2s + e.bytes_s2c DESC, e.server_key, e.proto, e.server_port"
             " LIMIT %d OFFSET %lld",
             REP_PAGE_LIMIT, (long long)uoff);
    st = rep_qb_prepare(&q, db,
                        "SELECT e.proto, e.server_port, e.server_ip, rep_host_name(e.server_ip),"
                        " e.bytes_c2s + e.bytes_s2c, e.packets_c2s + e.packets_s2c, e.sessions,"
                        " e.last_ns FROM edges e",
                        tail);
    if (!st || nused < 0)
        return -EIO;
    fputs("<h2>Services used</h2>\n", f);
    char base[CMN_IP_STRLEN + 8];
    snprintf(base, sizeof(base), "/host/%s", ip);
    if (nused > REP_PAGE_LIMIT)
        rep_html_pager(p, base, "uoffset", nused, uoff, REP_PAGE_LIMIT);
    fputs("<table id=used><thead><tr><th>service</th><th>server</th><th>volume</th>"
          "<th>packets</th><th>sessions</th><th>last seen</th></tr></thead><tbody>\n",
          f);
    int shown_used = 0;
    for (; sqlite3_step(st) == SQLITE_ROW; shown_used++) {
        fputs("<tr>", f);
        rep_html_td_service(f, s_col(st, 2), sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
        rep_html_td_host(f, s_col(st, 2), s_col(st, 3));
        rep_html_td_bytes(f, sqlite3_column_int64(st, 4));
        rep_html_td_num(f, sqlite3_column_int64(st, 5));
        rep_html_td_num(f, sqlite3_column_int64(st, 6));
        rep_html_td_time(f, sqlite3_column_int64(st, 7));
        fputs("</tr>\n", f);
    }
    sqlite3_finalize(st);
    if (shown_used == 0)
        fputs("<tr><td colspan=6 class=muted>none</td></tr>", f);
    fputs("</tbody></table>\n", f);
    if (nused > REP_PAGE_LIMIT)
        rep_html_pager(p, base, "uoffset", nused, uoff, REP_PAGE_LIMIT);

    /* who depends on it: clients of each of its services (paged) */
    int64_t coff = rep_page_int(p, "coffset", 0, INT64_MAX / 2, 0);
    q = (struct rep_qb){.len = 0};
    rep_qb_where(&q, "ip = ?");
    rep_qb_text(&q, ip);
    /* a service's clients are its edges (services.clients counts them) */
    int64_t nclients = s_qb_scalar(&q, db, "SELECT coalesce(SUM(clients), 0) FROM services");
    q = (struct rep_qb){.len = 0};
    rep_qb_where(&q, "e.server_ip = ?");
    rep_qb_text(&q, ip);
    /* the page's keys from the index edges_server_vol alone (covering: a
     * deep page skips index entries, not rows), then their rows, names and
     * sites */
    snprintf(tail, sizeof(tail),
             " ORDER BY e.proto, e.server_port, e.bytes_c2s + e.bytes_s2c DESC, e.client_key"
             " LIMIT %d OFFSET %lld) k JOIN edges x ON x.client_ip = k.c AND x.server_ip = ?1"
             " AND x.proto = k.pr AND x.server_port = k.po ORDER BY x.proto, x.server_port,"
             " x.bytes_c2s + x.bytes_s2c DESC, x.client_key",
             REP_PAGE_LIMIT, (long long)coff);
    st = rep_qb_prepare(&q, db,
                        "SELECT x.proto, x.server_port, x.client_ip, rep_host_name(x.client_ip),"
                        " x.bytes_c2s + x.bytes_s2c, x.sessions, rep_site(x.client_ip), x.last_ns"
                        " FROM (SELECT e.client_ip AS c, e.proto AS pr, e.server_port AS po"
                        " FROM edges e",
                        tail);
    if (!st || nclients < 0)
        return -EIO;
    fputs("<h2>Clients of its services</h2>\n", f);
    if (nclients > REP_PAGE_LIMIT)
        rep_html_pager(p, base, "coffset", nclients, coff, REP_PAGE_LIMIT);
    fputs("<table id=clients><thead><tr><th>service</th><th>client</th><th>site</th>"
          "<th>volume</th><th>sessions</th><th>last seen</th></tr></thead><tbody>\n",
          f);
    int shown_clients = 0;
    for (; sqlite3_step(st) == SQLITE_ROW; shown_clients++) {
        fputs("<tr>", f);
        rep_html_td_service(f, ip, sqlite3_column_int(st, 0), sqlite3_column_int(st, 1));
        rep_html_td_host(f, s_col(st, 2), s_col(st, 3));
        if (s_col(st, 6)) { /* the site, linked as everywhere else */
            fputs("<td><a href=\"/site/", f);
            rep_html_q(f, s_col(st, 6));
            fputs("\">", f);
            rep_html_esc(f, s_col(st, 6));
            fputs("</a></td>", f);
        } else {
            fputs("<td></td>", f);
        }
        rep_html_td_bytes(f, sqlite3_column_int64(st, 4));
        rep_html_td_num(f, sqlite3_column_int64(st, 5));
        rep_html_td_time(f, sqlite3_column_int64(st, 7));
        fputs("</tr>\n", f);
    }
    sqlite3_finalize(st);
    if (shown_clients == 0)
        fputs("<tr><td colspan=6 class=muted>none</td></tr>", f);
    fputs("</tbody></table>\n", f);
    if (nclients > REP_PAGE_LIMIT)
        rep_html_pager(p, base, "coffset", nclients, coff, REP_PAGE_LIMIT);

    /* events concerning the host, as target or as the single source */
    if (sqlite3_prepare_v2(db,
                           "SELECT " REP_EVENT_COLS " FROM events WHERE target_ip = ?1"
                           " UNION ALL SELECT " REP_EVENT_COLS " FROM events WHERE actor_ip = ?1"
                           " AND target_ip != ?1 ORDER BY 7 DESC LIMIT 100",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_text(st, 1, ip, -1, SQLITE_STATIC);
    fputs("<h2 id=events>Events</h2>\n<p><a href=\"/events?target=", f);
    rep_html_q(f, ip);
    fputs("\">All events of this host</a></p>\n", f);
    s_event_head(f);
    s_event_rows(f, st);
    sqlite3_finalize(st);
    fputs("</tbody></table>\n", f);

    /* volume over time, both directions, as server and as client; as a
     * server from its services' rows (usage_services: the sums of their
     * usage_edges rows per period), not from one row per client and period */
    fputs("<h2>Volume over time</h2>\n", f);
    s_usage_chart(f, db,
                  "SELECT start_ns, res, SUM(b) FROM ("
                  " SELECT start_ns, res, bytes AS b FROM usage_services"
                  " WHERE ip = ?1 UNION ALL"
                  " SELECT start_ns, res, bytes_c2s + bytes_s2c FROM usage_edges"
                  " WHERE client_ip = ?1) GROUP BY res, start_ns ORDER BY start_ns",
                  ip, -1, 0, "bytes", 2);
    rep_html_tail(p);
    return 0;
}

/* ---- events ---- */

static const char *const s_ev_sort_keys[] = {"kind", "target", "sources", "packets", "ports",
                                             "rate", "first",  "last",    NULL};
static const char *const s_ev_sort_sql[] = {
    "kind",     "target_ip",  "source_count",
    "packets",  "port_count", "packets * 1e9 / MAX(last_ns - first_ns, 1000000)",
    "first_ns", "last_ns"};
static const bool s_ev_sort_desc[] = {false, false, true, true, true, true, true, true};
static const char *const s_ev_kinds[] = {"syn_flood", "port_scan", "stealth_scan", NULL};

int rep_pages_events(struct rep_page *p)
{
    FILE *f = p->f;
    struct rep_qb q = {.len = 0};
    const char *kind = s_pick(rep_page_arg(p, "kind"), s_ev_kinds);
    const char *target = rep_page_arg(p, "target");
    char canon[CMN_IP_STRLEN];
    if (kind) {
        rep_qb_where(&q, "kind = ?");
        rep_qb_text(&q, kind);
    }
    if (target && s_canon_ip(target, canon, sizeof(canon)) == 0) {
        rep_qb_where(&q, "(target_ip = ?1 OR actor_ip = ?1)");
        rep_qb_text(&q, canon);
    }
    int64_t total = rep_qb_count(&q, p->db, " FROM events");
    if (total < 0)
        return -EIO;
    int64_t off = rep_page_int(p, "offset", 0, INT64_MAX / 2, 0);
    bool desc = true;
    int si = rep_page_sort(p, s_ev_sort_keys, &desc);
    char tail[300];
    if (si >= 0 && !rep_page_arg(p, "order"))
        desc = s_ev_sort_desc[si];
    snprintf(tail, sizeof(tail),
             " ORDER BY %s %s, kind, target_ip, port, actor_ip LIMIT %d OFFSET %lld",
             si >= 0 ? s_ev_sort_sql[si] : "last_ns", desc ? "DESC" : "ASC", REP_PAGE_LIMIT,
             (long long)off);
    sqlite3_stmt *st = rep_qb_prepare(&q, p->db, "SELECT " REP_EVENT_COLS " FROM events", tail);
    if (!st)
        return -EIO;
    rep_html_head(p, "Events: floods and scans", "Events", NULL);
    fputs("<form class=f action=\"/events\" method=\"get\"><p>", f);
    s_select(p, "kind", "kind", s_ev_kinds);
    s_input(p, "target", "host", "IP (target or source)", 16);
    fputs(" <button>Show</button></p></form>\n", f);
    rep_html_pager(p, "/events", "offset", total, off, REP_PAGE_LIMIT);
    fputs("<table id=events><thead><tr>", f);
    rep_html_th_sort(p, "/events", "kind", "kind", false);
    rep_html_th_sort(p, "/events", "target", "target", false);
    fputs("<th>port</th><th>source</th>", f);
    rep_html_th_sort(p, "/events", "sources", "sources", true);
    rep_html_th_sort(p, "/events", "packets", "packets", true);
    rep_html_th_sort(p, "/events", "ports", "ports", true);
    rep_html_th_sort(p, "/events", "rate", "rate", true);
    rep_html_th_sort(p, "/events", "from", "first", true);
    rep_html_th_sort(p, "/events", "to", "last", true);
    fputs("</tr></thead><tbody>\n", f);
    s_event_rows(f, st);
    sqlite3_finalize(st);
    fputs("</tbody></table>\n", f);
    rep_html_pager(p, "/events", "offset", total, off, REP_PAGE_LIMIT);
    fputs("<p class=muted>syn_flood: many SYNs to one port without handshakes completed; "
          "port_scan / stealth_scan: one source probing many ports. Rate = packets over the "
          "event's period.</p>\n",
          f);
    rep_html_tail(p);
    return 0;
}

/* ---- monitor ---- */

/* One row per node: what an operator watches (seed 000's monitor page).
 * Counter names are the nodes' own (docs/SCHEMA.md); "in" and "out" pick
 * the counter that means records (or results) received and sent for each
 * kind, "drops" adds every drop_* counter (each listed by reason below). */
// clang-format off
#define MON_SUMMARY_SQL                                                                            \
    "SELECT kind, node_id, MAX(name), MAX(updated_at), MIN(CASE WHEN counter <> 'down' THEN"      \
    "  final END),"                                                                                \
    " SUM(CASE WHEN counter IN ('records_received', 'results_received') OR (kind = 'collector'"    \
    "  AND counter = 'records') OR counter LIKE 'collector.%.records_received' THEN value END),"    \
    " SUM(CASE WHEN counter IN ('records_sent', 'results_sent', 'epochs_committed') OR"            \
    "  counter LIKE 'tracker.%.records_sent' THEN value END),"                                     \
    " SUM(CASE WHEN counter IN ('batches', 'batches_received') THEN value END),"                   \
    " SUM(CASE WHEN counter LIKE 'drop%' OR counter LIKE '%drop_memcap' THEN value END),"          \
    " SUM(CASE WHEN counter = 'duplicates_removed' THEN value END),"                               \
    " SUM(CASE WHEN counter IN ('records_lost', 'batches_lost') THEN value END),"                  \
    " MAX(CASE WHEN counter = 'down' THEN value END)"                                              \
    " FROM node_stats GROUP BY kind, node_id ORDER BY CASE kind WHEN 'collector' THEN 0 WHEN"      \
    " 'splitter' THEN 1 WHEN 'tracker' THEN 2 ELSE 3 END, node_id"
// clang-format on

static const char *const s_mon_names[] = {"records in", "records out",        "batches",
                                          "drops",      "duplicates removed", "lost"};

static void s_json_text(FILE *f, const char *s)
{
    rep_json_str(f, s);
}

static int s_monitor_json(struct rep_page *p, const char *state, const char *now, int64_t epoch)
{
    FILE *f = p->f;
    sqlite3_stmt *st = NULL;
    p->resp->type = "application/json";
    fputs("{\"run_state\": ", f);
    s_json_text(f, state);
    fputs(", \"now\": ", f);
    s_json_text(f, now);
    fprintf(f,
            ", \"last_epoch\": %lld, \"records_lost\": %lld, \"duplicates_removed\": %lld,"
            " \"nodes\": [",
            (long long)epoch, (long long)rep_db_meta_i64(p->db, "records_lost", 0),
            (long long)rep_db_meta_i64(p->db, "duplicates_removed", 0));
    if (sqlite3_prepare_v2(p->db, MON_SUMMARY_SQL, -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    const char *sep = "";
    while (sqlite3_step(st) == SQLITE_ROW) {
        fprintf(f, "%s{\"kind\": ", sep);
        s_json_text(f, s_col(st, 0));
        fprintf(f, ", \"id\": %d, \"name\": ", sqlite3_column_int(st, 1));
        s_json_text(f, s_col(st, 2));
        fputs(", \"updated_at\": ", f);
        s_json_text(f, s_col(st, 3));
        fprintf(f, ", \"final\": %s, \"down\": %s, \"values\": [",
                sqlite3_column_int(st, 4) ? "true" : "false",
                sqlite3_column_int(st, 11) ? "true" : "false");
        for (int i = 0; i < 6; i++)
            fprintf(f, "%s%lld", i ? ", " : "", (long long)sqlite3_column_int64(st, 5 + i));
        fputs("]}", f);
        sep = ", ";
    }
    sqlite3_finalize(st);
    fputs("], \"counters\": [", f);
    if (sqlite3_prepare_v2(p->db, "SELECT kind, node_id, counter, value FROM node_stats", -1, &st,
                           NULL) != SQLITE_OK)
        return -EIO;
    sep = "";
    while (sqlite3_step(st) == SQLITE_ROW) {
        fputs(sep, f);
        fputc('[', f);
        s_json_text(f, s_col(st, 0));
        fprintf(f, ", %d, ", sqlite3_column_int(st, 1));
        s_json_text(f, s_col(st, 2));
        fprintf(f, ", %lld]", (long long)sqlite3_column_int64(st, 3));
        sep = ", ";
    }
    sqlite3_finalize(st);
    fputs("]}\n", f);
    return 0;
}

/* A Prometheus metric name part: [a-zA-Z0-9_], everything else '_'. */
static void s_prom_name(FILE *f, const char *s)
{
    for (; s && *s; s++)
        fputc((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
                  ? *s
                  : '_',
              f);
}

/* A label value: backslash, quote and newline escaped (exposition format). */
static void s_prom_label(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        if (*s == '\n')
            fputs("\\n", f);
        else if ((unsigned char)*s >= 0x20)
            fputc(*s, f);
    }
}

int rep_pages_metrics(struct rep_page *p)
{
    FILE *f = p->f;
    p->resp->type = "text/plain; version=0.0.4; charset=utf-8";
    char state[32];
    rep_db_meta_text(p->db, "run_state", state, sizeof(state));
    fputs("# HELP renkei_run_running 1 while the merger's run is running.\n"
          "# TYPE renkei_run_running gauge\n",
          f);
    fprintf(f, "renkei_run_running %d\n", strcmp(state, "running") == 0);
    static const char *const meta[] = {"records_lost", "duplicates_removed", "last_epoch",
                                       "packets", "bytes"};
    for (size_t i = 0; i < sizeof(meta) / sizeof(meta[0]); i++)
        fprintf(f, "# TYPE renkei_%s gauge\nrenkei_%s %lld\n", meta[i], meta[i],
                (long long)rep_db_meta_i64(p->db, meta[i], 0));
    /* One family per (kind, counter); rows of a family together. */
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(p->db,
                           "SELECT kind, counter, node_id, name, value, final,"
                           " CAST(strftime('%s', updated_at) AS INTEGER) FROM node_stats"
                           " ORDER BY kind, counter, node_id",
                           -1, &st, NULL) != SQLITE_OK)
        return 0; /* no node_stats yet: the run's totals only */
    char fam[160] = "";
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *kind = s_col(st, 0), *counter = s_col(st, 1), *name = s_col(st, 3);
        char cur[160];
        snprintf(cur, sizeof(cur), "%s\t%s", kind, counter);
        if (strcmp(cur, fam) != 0) {
            snprintf(fam, sizeof(fam), "%s", cur);
            fputs("# TYPE renkei_", f);
            s_prom_name(f, kind);
            fputc('_', f);
            s_prom_name(f, counter);
            fputs(" untyped\n", f);
        }
        fputs("renkei_", f);
        s_prom_name(f, kind);
        fputc('_', f);
        s_prom_name(f, counter);
        fprintf(f, "{node=\"%d\",name=\"", sqlite3_column_int(st, 2));
        s_prom_label(f, name);
        fprintf(f, "\"} %lld\n", (long long)sqlite3_column_int64(st, 4));
    }
    sqlite3_finalize(st);
    /* When each node last reported, and whether it reported its end. */
    if (sqlite3_prepare_v2(p->db,
                           "SELECT kind, node_id, MAX(name),"
                           " MAX(CAST(strftime('%s', updated_at) AS INTEGER)), MIN(final)"
                           " FROM node_stats GROUP BY kind, node_id ORDER BY kind, node_id",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    fputs("# HELP renkei_node_last_report_seconds When the node last sent its counters (Unix "
          "time).\n# TYPE renkei_node_last_report_seconds gauge\n",
          f);
    char *ended = NULL;
    size_t ended_len = 0;
    FILE *e = open_memstream(&ended, &ended_len);
    if (!e)
        abort();
    fputs("# HELP renkei_node_ended 1 when the node sent its final counters.\n"
          "# TYPE renkei_node_ended gauge\n",
          e);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int k = 0; k < 2; k++) {
            FILE *o = k ? e : f;
            fputs(k ? "renkei_node_ended{kind=\"" : "renkei_node_last_report_seconds{kind=\"", o);
            s_prom_label(o, s_col(st, 0));
            fprintf(o, "\",node=\"%d\",name=\"", sqlite3_column_int(st, 1));
            s_prom_label(o, s_col(st, 2));
            fprintf(o, "\"} %lld\n",
                    k ? (long long)sqlite3_column_int(st, 4)
                      : (long long)sqlite3_column_int64(st, 3));
        }
    }
    sqlite3_finalize(st);
    fclose(e);
    fwrite(ended, 1, ended_len, f);
    free(ended);
    return 0;
}

int rep_pages_monitor(struct rep_page *p, bool json)
{
    FILE *f = p->f;
    sqlite3 *db = p->db;
    char state[32], now[40], t[40];
    rep_db_meta_text(db, "run_state", state, sizeof(state));
    int64_t started = rep_db_meta_i64(db, "run_started_ns", 0);
    int64_t ended = rep_db_meta_i64(db, "run_ended_ns", 0);
    int64_t epoch = rep_db_meta_i64(db, "last_epoch", -1);
    int64_t epoch_ns = rep_db_meta_i64(db, "epoch_ns", 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    rep_time_text((int64_t)ts.tv_sec * 1000000000LL, now, sizeof(now));
    if (json)
        return s_monitor_json(p, state, now, epoch);
    bool running = strcmp(state, "running") == 0;
    /* live: a 2 s poll of /monitor.json while running; without script, a
     * meta refresh does the same every 5 s */
    rep_html_head(p, "Monitor", "Monitor",
                  running ? "<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>"
                          : NULL);
    fputs("<table class=kv id=run><tbody><tr><th>run state</th><td id=state>", f);
    rep_html_esc(f, state[0] ? state : "unknown");
    fprintf(f, "</td></tr><tr><th>run started</th><td>%s</td></tr>",
            started ? rep_time_text(started, t, sizeof(t)) : "-");
    if (ended)
        fprintf(f, "<tr><th>run ended</th><td>%s</td></tr>", rep_time_text(ended, t, sizeof(t)));
    fprintf(f, "<tr><th>now</th><td id=now>%s</td></tr>", now);
    if (epoch >= 0 && epoch_ns > 0)
        fprintf(f, "<tr><th>current epoch</th><td id=epoch>%lld (starts %s, %llds long)</td></tr>",
                (long long)epoch, rep_time_text(epoch * epoch_ns, t, sizeof(t)),
                (long long)(epoch_ns / 1000000000LL));
    char where[512];
    rep_db_meta_text(db, "records_lost_where", where, sizeof(where));
    fprintf(f, "<tr><th>records lost</th><td id=lost>%lld ",
            (long long)rep_db_meta_i64(db, "records_lost", 0));
    rep_html_esc(f, where);
    fprintf(f,
            "</td></tr><tr><th>duplicates removed</th><td>%lld</td></tr>"
            "<tr><th>shared sessions deduplicated</th><td>%lld</td></tr>"
            "<tr><th>trackers</th><td>%lld</td></tr></tbody></table>\n",
            (long long)rep_db_meta_i64(db, "duplicates_removed", 0),
            (long long)rep_db_meta_i64(db, "shared_sessions_deduplicated", 0),
            (long long)rep_db_meta_i64(db, "trackers", 0));

    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, MON_SUMMARY_SQL, -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    fputs("<h2>Pipeline</h2><table id=nodes><thead><tr><th>node</th><th>name</th>"
          "<th>last update</th>",
          f);
    for (int i = 0; i < 6; i++)
        fprintf(f, "<th>%s</th>", s_mon_names[i]);
    fputs("</tr></thead><tbody>\n", f);
    int nodes = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        char id[64];
        snprintf(id, sizeof(id), "%s.%d", s_col(st, 0) ? s_col(st, 0) : "",
                 sqlite3_column_int(st, 1));
        fputs("<tr><td>", f);
        rep_html_esc(f, s_col(st, 0));
        fprintf(f, " %d</td>", sqlite3_column_int(st, 1));
        rep_html_td_text(f, s_col(st, 2));
        fputs("<td data-s=\"", f);
        rep_html_esc(f, id);
        fputs(".u\">", f);
        rep_html_esc(f, s_col(st, 3));
        fputs(sqlite3_column_int(st, 4) ? " (final)" : "", f);
        if (sqlite3_column_int(st, 11)) /* the merger's liveness: silent past its timeout */
            fputs(" <b style=\"color:#a00\">DOWN</b>", f);
        fputs("</td>", f);
        for (int i = 0; i < 6; i++) {
            int64_t v = sqlite3_column_int64(st, 5 + i);
            bool bad = (i == 3 || i == 5) && v > 0;
            fputs("<td class=n data-s=\"", f);
            rep_html_esc(f, id);
            fprintf(f, ".%d\"%s>", i, bad ? " style=\"color:#a00;font-weight:bold\"" : "");
            if (sqlite3_column_type(st, 5 + i) != SQLITE_NULL)
                fprintf(f, "%lld", (long long)v);
            fputs("</td>", f);
        }
        fputs("</tr>\n", f);
        nodes++;
    }
    sqlite3_finalize(st);
    fputs("</tbody></table>\n", f);
    if (nodes == 0)
        fputs("<p class=muted>no node has reported statistics yet</p>\n", f);

    /* every counter of every node, drops by reason among them */
    if (sqlite3_prepare_v2(db,
                           "SELECT kind, node_id, counter, value FROM node_stats ORDER BY CASE"
                           " kind WHEN 'collector' THEN 0 WHEN 'splitter' THEN 1 WHEN 'tracker'"
                           " THEN 2 ELSE 3 END, node_id, counter",
                           -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    char cur[64] = "";
    bool open = false;
    fputs("<details><summary>All counters per node</summary><div class=cols>\n", f);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char id[64];
        snprintf(id, sizeof(id), "%s.%d", s_col(st, 0) ? s_col(st, 0) : "",
                 sqlite3_column_int(st, 1));
        if (strcmp(id, cur) != 0) {
            fputs(open ? "</tbody></table></div>\n" : "", f);
            snprintf(cur, sizeof(cur), "%s", id);
            open = true;
            fputs("<div><h3>", f);
            rep_html_esc(f, id);
            fputs("</h3><table><thead><tr><th>counter</th><th>value</th></tr></thead><tbody>", f);
        }
        const char *c = s_col(st, 2);
        int64_t v = sqlite3_column_int64(st, 3);
        bool drop = c && (strstr(c, "drop") || strstr(c, "lost") || strstr(c, "fail") ||
                          strstr(c, "malformed"));
        fputs("<tr><td>", f);
        rep_html_esc(f, c);
        fputs("</td><td class=n data-c=\"", f);
        rep_html_esc(f, id);
        fputc('.', f);
        rep_html_esc(f, c);
        fprintf(f, "\"%s>%lld</td></tr>", drop && v > 0 ? " style=\"color:#a00\"" : "",
                (long long)v);
    }
    sqlite3_finalize(st);
    fputs(open ? "</tbody></table></div>\n" : "", f);
    fputs("</div></details>\n", f);
    if (running)
        fputs("<script>(function(){function set(k,v){var e=document.querySelector('[data-'+k+"
              "']');if(e)e.textContent=v;}function tick(){fetch('/monitor.json').then(function(r)"
              "{return r.json();}).then(function(d){document.getElementById('state').textContent="
              "d.run_state;document.getElementById('now').textContent=d.now;"
              "d.nodes.forEach(function(n){var id=n.kind+'.'+n.id;set('s=\"'+id+'.u\"',"
              "n.updated_at+(n.final?' (final)':'')+(n.down?' "
              "DOWN':''));n.values.forEach(function(v,i){"
              "set('s=\"'+id+'.'+i+'\"',v);});});d.counters.forEach(function(c){"
              "set('c=\"'+c[0]+'.'+c[1]+'.'+c[2]+'\"',c[3]);});"
              "if(d.run_state==='running')setTimeout(tick,2000);else location.reload();})"
              ".catch(function(){setTimeout(tick,2000);});}setTimeout(tick,2000);})();"
              "</script>\n",
              f);
    rep_html_tail(p);
    return 0;
}

/* ---- dispatch ---- */

struct page_route {
    const char *path; /* exact, or a prefix when it ends with '/' */
    bool txn;         /* read in one transaction here (false: the page does) */
    int id;
};

enum {
    R_OVERVIEW,
    R_HOSTS,
    R_HOST,
    R_SERVICES,
    R_SERVICE,
    R_SITES,
    R_SITE,
    R_NETWORK,
    R_EVENTS,
    R_MONITOR,
    R_MONITOR_JSON,
    R_METRICS,
    R_IMPACT,
    R_IMPACT_CSV,
    R_GRAPH
};

static const struct page_route s_routes[] = {
    {"/", true, R_OVERVIEW},
    {"/hosts", true, R_HOSTS},
    {"/host/", true, R_HOST},
    {"/services", true, R_SERVICES},
    {"/service/", false, R_SERVICE},
    {"/sites", true, R_SITES},
    {"/site/", true, R_SITE},
    {"/network/", true, R_NETWORK},
    {"/events", true, R_EVENTS},
    {"/monitor", true, R_MONITOR},
    {"/monitor.json", true, R_MONITOR_JSON},
    {"/metrics", true, R_METRICS},
    {"/impact", false, R_IMPACT},
    {"/impact.csv", false, R_IMPACT_CSV},
    {"/graph", false, R_GRAPH},
};

int rep_pages_handle(const struct rep_pages_ctx *ctx, const char *path, const struct rep_qarg *args,
                     size_t nargs, struct rep_resp *r)
{
    const struct page_route *rt = NULL;
    const char *rest = NULL;
    for (size_t i = 0; i < sizeof(s_routes) / sizeof(s_routes[0]) && !rt; i++) {
        size_t n = strlen(s_routes[i].path);
        if (n > 1 && s_routes[i].path[n - 1] == '/') {
            if (strncmp(path, s_routes[i].path, n) == 0 && path[n]) {
                rt = &s_routes[i];
                rest = path + n;
            }
        } else if (strcmp(path, s_routes[i].path) == 0) {
            rt = &s_routes[i];
        }
    }
    struct rep_page p = {
        .f = r->f, .resp = r, .db_path = ctx->db_path, .path = path, .args = args, .nargs = nargs};
    if (!rt) {
        struct cmn_sites *none = cmn_sites_new();
        p.sites = none;
        rep_pages_not_found(&p, "no such page", path);
        cmn_sites_destroy(&none);
        return 0;
    }
    sqlite3 *db = rep_db_open(ctx->db_path);
    if (!db)
        return -EIO;
    struct cmn_sites *own = NULL;
    p.db = db;
    p.sites = rep_html_sites(db, ctx->sites, &own);
    p.ctx_sites = ctx->sites;
    int rc = 0;
    if (rt->txn && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        rc = -EIO;
    struct rep_names *names = rep_names_load(db); /* inside the snapshot when there is one */
    rep_names_resolve(names, ctx->resolve);
    p.names = names;
    if (rc == 0)
        rc = rep_html_sql_functions(db, p.sites, names);
    if (rc == 0) {
        switch (rt->id) {
            case R_OVERVIEW:
                rc = rep_pages_overview(&p);
                break;
            case R_HOSTS:
                rc = rep_pages_hosts(&p);
                break;
            case R_HOST:
                rc = rep_pages_host(&p, rest);
                break;
            case R_SERVICES:
                rc = rep_pages_services(&p);
                break;
            case R_SERVICE:
                rc = rep_pages_service(&p, rest);
                break;
            case R_SITES:
                rc = rep_pages_sites(&p);
                break;
            case R_SITE:
                rc = rep_pages_site(&p, rest);
                break;
            case R_NETWORK:
                rc = rep_pages_network(&p, rest);
                break;
            case R_EVENTS:
                rc = rep_pages_events(&p);
                break;
            case R_MONITOR:
            case R_MONITOR_JSON:
                rc = rep_pages_monitor(&p, rt->id == R_MONITOR_JSON);
                break;
            case R_METRICS:
                rc = rep_pages_metrics(&p);
                break;
            case R_IMPACT:
            case R_IMPACT_CSV:
                rc = rep_pages_impact(&p, rt->id == R_IMPACT_CSV);
                break;
            case R_GRAPH:
                rc = rep_pages_graph(&p, ctx->static_dir);
                break;
            default:
                rc = -EIO;
        }
    }
    if (rt->txn)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    rep_html_sql_functions(db, p.sites, NULL); /* the names are freed next */
    rep_names_destroy(&names);
    rep_db_close(&db);
    cmn_sites_destroy(&own);
    return rc;
}
