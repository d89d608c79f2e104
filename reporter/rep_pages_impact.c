/* SPDX-License-Identifier: MIT
 * rep_pages_impact: the pages that walk the in-memory map (rep_graph.h):
 * the impact view (a GET form: targets, hops, soft dependencies; lost /
 * impaired / degraded / whole with the chains; CSV download), the
 * "what depends on it" table of the service page, and the dependency graph
 * of a neighbourhood (a table always; a WebGL drawing by sigma.js when the
 * vendored scripts are installed, rep_static.h). The map is loaded per
 * in its own read transaction, one load at a time (s_load_lock), and kept
 * for the next request until the merger commits again (struct rep_pages_map).
 */
#define CMN_LOG_TAG "rep_pages"
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <microhttpd.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "cmn_sites.h"
#include "rep_graph.h"
#include "rep_impact.h"
#include "rep_json.h"
#include "rep_pages.h"
#include "rep_ports.h"

#define TARGETS_MAX  64    /* fail targets per request */
#define GRAPH_NODES  2000  /* past this many hosts, the drawing groups them by network */
#define GRAPH_GROUPS 300   /* past this many networks, hosts in sites are drawn as their site */
#define GRAPH_EDGES  20000 /* node pairs drawn at most (the most volume first) */

/* The last map loaded, shared by the requests that read it: loading 20,000
 * hosts costs a few hundred ms, and the map only changes when the merger
 * commits. Keyed by the database path and what every commit changes. */
struct rep_pages_map {
    char key[512];       /* path + meta totals + epochs (s_key) */
    struct rep_graph *g; /* read-only once loaded */
    int refs;            /* requests using g */
};

static pthread_mutex_t s_load_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rep_pages_map *s_cur; /* the newest map, or NULL */

void rep_pages_state_key(struct rep_page *p, char *key, size_t len)
{
    sqlite3_stmt *st = NULL;
    const char *v = NULL;
    if (sqlite3_prepare_v2(p->db,
                           "SELECT (SELECT group_concat(key || '=' || coalesce(value, ''), ';')"
                           " FROM meta WHERE key IN ('packets', 'last_seen_ns', 'last_epoch',"
                           " 'run_state', 'run_started_ns')) || ';' || (SELECT COUNT(*) ||"
                           " ',' || coalesce(SUM(commits), 0) FROM epochs)",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = (const char *)sqlite3_column_text(st, 0);
    snprintf(key, len, "%s|%p|%s", p->db_path, (const void *)p->ctx_sites, v ? v : "");
    sqlite3_finalize(st);
}

/* The map of p's database, loaded or shared; release with s_release. A
 * database's own sites table is read on load (so it is part of the map). */
static struct rep_pages_map *s_acquire(struct rep_page *p)
{
    char key[512];
    rep_pages_state_key(p, key, sizeof(key));
    pthread_mutex_lock(&s_load_lock);
    if (!s_cur || strcmp(s_cur->key, key) != 0) {
        struct rep_graph_opts go = {.sites = p->ctx_sites};
        struct rep_graph *g = rep_graph_load(p->db, &go);
        if (!g) {
            pthread_mutex_unlock(&s_load_lock);
            return NULL;
        }
        struct rep_pages_map *c = calloc(1, sizeof(*c));
        if (!c)
            abort();
        snprintf(c->key, sizeof(c->key), "%s", key);
        c->g = g;
        if (s_cur && s_cur->refs == 0) { /* else its last user frees it */
            rep_graph_destroy(&s_cur->g);
            free(s_cur);
        }
        s_cur = c;
    }
    struct rep_pages_map *c = s_cur;
    c->refs++;
    pthread_mutex_unlock(&s_load_lock);
    return c;
}

static void s_release(struct rep_pages_map **cp)
{
    struct rep_pages_map *c = *cp;
    if (!c)
        return;
    pthread_mutex_lock(&s_load_lock);
    if (--c->refs == 0 && c != s_cur) {
        rep_graph_destroy(&c->g);
        free(c);
    }
    pthread_mutex_unlock(&s_load_lock);
    *cp = NULL;
}

const struct rep_graph *rep_pages_map_acquire(struct rep_page *p, struct rep_pages_map **ref)
{
    *ref = s_acquire(p);
    return *ref ? (*ref)->g : NULL;
}

void rep_pages_map_release(struct rep_pages_map **ref)
{
    s_release(ref);
}

void rep_pages_cache_clear(void)
{
    rep_pages_hostset_clear();
    pthread_mutex_lock(&s_load_lock);
    if (s_cur && s_cur->refs == 0) {
        rep_graph_destroy(&s_cur->g);
        free(s_cur);
        s_cur = NULL;
    }
    pthread_mutex_unlock(&s_load_lock);
}

/* Split every value of parameter `key` on commas, spaces and newlines into
 * v (pointers into buf). Returns the count. */
static size_t s_split_on(const struct rep_page *p, const char *key, char *buf, size_t len,
                         const char **v, size_t max, const char *seps)
{
    size_t n = 0, used = 0;
    for (size_t i = 0; i < p->nargs; i++) {
        if (strcmp(p->args[i].key, key) != 0 || !p->args[i].val)
            continue;
        size_t l = strlen(p->args[i].val);
        if (used + l + 1 > len)
            break;
        char *s = buf + used;
        memcpy(s, p->args[i].val, l + 1);
        used += l + 1;
        for (char *tok = s; *tok && n < max;) {
            size_t sp = strspn(tok, seps);
            tok += sp;
            if (!*tok)
                break;
            size_t w = strcspn(tok, seps);
            v[n++] = tok;
            if (!tok[w])
                break;
            tok[w] = '\0';
            tok += w + 1;
        }
    }
    return n;
}

static size_t s_split(const struct rep_page *p, const char *key, char *buf, size_t len,
                      const char **v, size_t max)
{
    return s_split_on(p, key, buf, len, v, max, ", \t\r\n");
}

static void s_svc_cell(FILE *f, const struct rep_graph *g, uint32_t v)
{
    const struct rep_gsvc *s = &g->svcs[v];
    rep_html_td_service(f, g->hosts[s->host].ip, s->proto, s->port);
}

static void s_chain(FILE *f, const struct rep_impact *r, long host, long svc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        abort();
    rep_impact_chain_text(r, host, svc, m);
    fclose(m);
    fputs("<td class=chain>", f);
    rep_html_esc(f, buf);
    fputs("</td>", f);
    free(buf);
}

static void s_state_td(FILE *f, int state)
{
    const char *n = rep_istate_name((enum rep_istate)state);
    fprintf(f, "<td class=%s>%s</td>", n, n);
}

/* Affected hosts, sorted by hop then state, paged with `off_key`. */
struct hrow {
    uint32_t h;
    int32_t hop;
    uint8_t state;
};

static int s_hrow_cmp(const void *a, const void *b)
{
    const struct hrow *x = a, *y = b;
    if (x->hop != y->hop)
        return x->hop < y->hop ? -1 : 1;
    if (x->state != y->state)
        return x->state > y->state ? -1 : 1;
    return x->h < y->h ? -1 : x->h > y->h;
}

static void s_hosts_table(struct rep_page *p, const struct rep_impact *r, const char *base,
                          const char *off_key, bool chains)
{
    FILE *f = p->f;
    const struct rep_graph *g = r->g;
    struct hrow *rows = malloc((g->nhosts + 1) * sizeof(*rows));
    if (!rows)
        abort();
    size_t n = 0;
    for (size_t h = 0; h < g->nhosts; h++)
        if (r->host_state[h] != REP_IS_WHOLE)
            rows[n++] = (struct hrow){(uint32_t)h, r->host_hop[h], r->host_state[h]};
    qsort(rows, n, sizeof(*rows), s_hrow_cmp);
    int64_t off = rep_page_int(p, off_key, 0, INT64_MAX / 2, 0);
    rep_html_pager(p, base, off_key, (int64_t)n, off, REP_PAGE_LIMIT);
    fputs("<table id=affected><thead><tr><th>host</th><th>kind</th><th>site</th><th>state</th>"
          "<th>hop</th><th>alternative</th>",
          f);
    if (chains)
        fputs("<th>why</th>", f);
    fputs("</tr></thead><tbody>\n", f);
    for (size_t i = (size_t)off; i < n && i < (size_t)off + REP_PAGE_LIMIT; i++) {
        const struct rep_ghost *hh = &g->hosts[rows[i].h];
        fputs("<tr>", f);
        rep_html_td_host(f, hh->ip, hh->name);
        rep_html_td_text(f, rep_host_kind_name(hh->kind));
        rep_html_td_text(f, rep_graph_site_name(g, hh->site));
        s_state_td(f, rows[i].state);
        rep_html_td_num(f, rows[i].hop);
        if (r->host_alt[rows[i].h] >= 0)
            s_svc_cell(f, g, (uint32_t)r->host_alt[rows[i].h]);
        else
            fputs("<td></td>", f);
        if (chains)
            s_chain(f, r, (long)rows[i].h, -1);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    rep_html_pager(p, base, off_key, (int64_t)n, off, REP_PAGE_LIMIT);
    free(rows);
}

static void s_svcs_table(struct rep_page *p, const struct rep_impact *r, size_t cap)
{
    FILE *f = p->f;
    const struct rep_graph *g = r->g;
    size_t shown = 0, total = 0;
    fputs("<table id=down><thead><tr><th>service</th><th>server</th><th>state</th><th>hop</th>"
          "<th>clients</th><th>why</th></tr></thead><tbody>\n",
          f);
    for (int hop = 0; hop <= r->hops_reached; hop++) {
        for (size_t v = 0; v < g->nsvcs; v++) {
            if (r->svc_state[v] == REP_IS_WHOLE || r->svc_hop[v] != hop)
                continue;
            total++;
            if (shown >= cap)
                continue;
            const struct rep_gsvc *s = &g->svcs[v];
            fputs("<tr>", f);
            s_svc_cell(f, g, (uint32_t)v);
            rep_html_td_host(f, g->hosts[s->host].ip, g->hosts[s->host].name);
            s_state_td(f, r->svc_state[v]);
            rep_html_td_num(f, hop);
            rep_html_td_num(f, s->clients);
            s_chain(f, r, -1, (long)v);
            fputs("</tr>\n", f);
            shown++;
        }
    }
    fputs("</tbody></table>\n", f);
    if (total > shown)
        fprintf(f, "<p class=muted>%zu of %zu services shown; the CSV has them all.</p>\n", shown,
                total);
}

int rep_pages_impact(struct rep_page *p, bool csv)
{
    FILE *f = p->f;
    char fbuf[8192], sbuf[2048], abuf[4096];
    const char *fail[TARGETS_MAX], *soft[TARGETS_MAX], *alt[TARGETS_MAX];
    /* a redundancy group is "SEL,SEL,...": groups split on lines and spaces only */
    size_t nalt = s_split_on(p, "alt", abuf, sizeof(abuf), alt, TARGETS_MAX, " \t\r\n");
    size_t nfail = s_split(p, "fail", fbuf, sizeof(fbuf), fail, TARGETS_MAX);
    size_t nsoft = s_split(p, "soft", sbuf, sizeof(sbuf), soft, TARGETS_MAX);
    int64_t hops = rep_page_int(p, "hops", -1, 1000, -1);
    if (!csv) {
        rep_html_head(p, "Impact: what if it fails?", "Impact", NULL);
        fputs("<form class=f action=\"/impact\" method=\"get\"><p><label>fail (one or more: IP, "
              "CIDR, IP:proto/port, @site or host name)<br><textarea name=\"fail\" rows=\"3\" "
              "cols=\"50\" placeholder=\"172.16.0.10&#10;@dc-east&#10;10.20.0.0/16\">",
              f);
        for (size_t i = 0; i < nfail; i++) {
            rep_html_esc(f, fail[i]);
            fputs("\n", f);
        }
        fputs("</textarea></label></p><p><label>hops <input name=\"hops\" size=\"4\" "
              "placeholder=\"all\" value=\"",
              f);
        if (hops >= 0)
            fprintf(f, "%lld", (long long)hops);
        fputs("\"></label> <label>soft dependencies <input name=\"soft\" size=\"30\" "
              "placeholder=\"udp/514, tcp/123\" value=\"",
              f);
        for (size_t i = 0; i < nsoft; i++) {
            fputs(i ? ", " : "", f);
            rep_html_esc(f, soft[i]);
        }
        fputs("\"></label></p><p><label>redundancy groups (one per line: servers that stand in "
              "for each other, e.g. <code>172.16.0.10:udp/53,172.16.0.11:udp/53</code>)<br>"
              "<textarea name=\"alt\" rows=\"2\" cols=\"60\">",
              f);
        for (size_t i = 0; i < nalt; i++) {
            rep_html_esc(f, alt[i]);
            fputs("\n", f);
        }
        fputs("</textarea></label> <button>Analyse</button></p></form>\n", f);
        if (nfail == 0) {
            fputs("<p class=muted>Targets fail: their services are <b>lost</b>. A host that used "
                  "a lost service with no other server of it is <b>impaired</b> (its services go "
                  "down in turn, hop after hop); with an alternative, or a soft dependency, it "
                  "is <b>degraded</b>. Everything else is <b>whole</b>.</p>\n",
                  f);
            rep_html_tail(p);
            return 0;
        }
    } else if (nfail == 0) {
        p->resp->status = MHD_HTTP_BAD_REQUEST;
        p->resp->type = "text/plain; charset=utf-8";
        fputs("give at least one fail=TARGET\n", f);
        return 0;
    }
    struct rep_pages_map *gc = s_acquire(p);
    if (!gc)
        return -EIO;
    const struct rep_graph *g = gc->g;
    struct rep_impact_opts io = {.fail = fail,
                                 .nfail = nfail,
                                 .hops = (int)hops,
                                 .alt = alt,
                                 .nalt = nalt,
                                 .soft = soft,
                                 .nsoft = nsoft};
    char err[300];
    struct rep_impact *r = rep_impact_run(g, &io, err, sizeof(err));
    int rc = 0;
    if (!r) {
        p->resp->status = MHD_HTTP_BAD_REQUEST;
        if (csv) {
            p->resp->type = "text/plain; charset=utf-8";
            rep_text_esc(f, err);
            fputc('\n', f);
        } else {
            fputs("<p class=failed>", f);
            rep_html_esc(f, err);
            fputs("</p>\n", f);
            rep_html_tail(p);
        }
        s_release(&gc);
        return 0;
    }
    if (csv) {
        p->resp->type = "text/csv; charset=utf-8";
        p->resp->filename = "renkei-impact.csv";
        rc = rep_impact_write_csv(r, f) == 0 ? 0 : -EIO;
        rep_impact_destroy(&r);
        s_release(&gc);
        return rc;
    }
    fputs("<table id=targets><thead><tr><th>target</th><th>kind</th><th>matched</th></tr></thead>"
          "<tbody>",
          f);
    for (size_t i = 0; i < r->ntargets; i++) {
        fputs("<tr>", f);
        rep_html_td_text(f, r->targets[i].text);
        rep_html_td_text(f, r->targets[i].kind);
        rep_html_td_num(f, (int64_t)r->targets[i].matched);
        fputs("</tr>", f);
    }
    fputs("</tbody></table>\n<div class=tot id=summary>", f);
    char vol[32];
    fprintf(f,
            "<div>hosts failed<b class=failed>%zu</b></div><div>services lost<b class=lost>%zu"
            "</b></div><div>services impaired<b class=impaired>%zu</b></div>"
            "<div>servers impaired<b class=impaired>%zu</b></div><div>servers degraded<b "
            "class=degraded>%zu</b></div><div>clients impaired<b class=impaired>%zu</b></div>"
            "<div>clients degraded<b class=degraded>%zu</b></div><div>networks<b>%zu</b></div>"
            "<div>sites<b>%zu</b></div><div>traffic affected<b>%s</b></div>"
            "<div>services whole<b>%zu</b></div><div>hosts whole<b>%zu</b></div></div>\n",
            r->sum.hosts_failed, r->sum.services_lost, r->sum.services_impaired,
            r->sum.servers_impaired, r->sum.servers_degraded, r->sum.clients_impaired,
            r->sum.clients_degraded, r->sum.networks, r->sum.sites,
            rep_html_human(r->sum.bytes, vol, sizeof(vol)), r->sum.services_whole,
            r->sum.hosts_whole);
    fprintf(f, "<p>Propagation reached hop %d%s. <a id=csv href=\"", r->hops_reached,
            r->hops >= 0 ? " (limit asked)" : "");
    rep_html_href(p, "/impact.csv", NULL, NULL, 0);
    fputs("\">Download CSV</a> (every affected host and service, then the whole services)</p>\n",
          f);
    fputs("<h2>Services down</h2>\n", f);
    s_svcs_table(p, r, 200);
    fputs("<h2>Hosts affected</h2>\n", f);
    s_hosts_table(p, r, "/impact", "offset", true);
    rep_impact_destroy(&r);
    s_release(&gc);
    rep_html_tail(p);
    return rc;
}

int rep_pages_dependents(struct rep_page *p, const struct rep_graph *g, const char *ip, int proto,
                         int port)
{
    FILE *f = p->f;
    char target[CMN_IP_STRLEN + 16], pb[8], base[CMN_IP_STRLEN + 32];
    /* the name returned: cmn_proto_name writes pb only for unnamed protocols
     * (the pagers' links had pb's stack garbage for tcp and udp) */
    const char *pn = cmn_proto_name((uint8_t)proto, pb, sizeof(pb));
    snprintf(target, sizeof(target), "%s:%s/%d", ip, pn, port);
    snprintf(base, sizeof(base), "/service/%s/%s/%d", ip, pn, port);
    const char *fail[1] = {target};
    struct rep_impact_opts io = {.fail = fail, .nfail = 1, .hops = -1};
    char err[300];
    struct rep_impact *r = rep_impact_run(g, &io, err, sizeof(err));
    if (!r) {
        fputs("<p class=muted>", f);
        rep_html_esc(f, err);
        fputs("</p>\n", f);
        return 0;
    }
    fprintf(f,
            "<p>If it fails: <b class=impaired>%zu</b> servers and <b class=impaired>%zu</b> "
            "clients impaired, %zu servers and %zu clients degraded, %zu more services down, "
            "over %d hops. <a href=\"/impact?fail=",
            r->sum.servers_impaired, r->sum.clients_impaired, r->sum.servers_degraded,
            r->sum.clients_degraded, r->sum.services_impaired, r->hops_reached);
    rep_html_q(f, target);
    fputs("\">Full impact analysis</a></p>\n", f);
    s_hosts_table(p, r, base, "doffset", false);
    rep_impact_destroy(&r);
    return 0;
}

/* ---- graph ---- */

/* JSON string safe inside <script>: every byte outside printable ASCII
 * letters, digits and .:/-_@ becomes \u00XX (names are UTF-8: bytes
 * >= 0x80 pass through, they cannot close a script). */
static void s_js_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)(s ? s : ""); *c; c++) {
        if (*c >= 0x80 || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
            (*c >= '0' && *c <= '9') || strchr(".:/-_@ ", *c))
            fputc(*c, f);
        else
            fprintf(f, "\\u%04x", *c);
    }
    fputc('"', f);
}

/* What names a drawn node (the graph page). */
struct gview {
    const struct rep_graph *g;
    const int32_t *dist; /* hop per host, -1 not drawn */
    bool grouped;        /* hosts past hop 0 drawn as their network or site */
    bool site_groups;    /* those in a site as the site */
    bool group0;         /* hosts at hop 0 too, as their network (a large site's own) */
};

/* Drawn node `r` stands for a group of hosts (network or site). */
static bool s_node_is_group(const struct gview *v, uint32_t r)
{
    return v->grouped && (v->dist[r] > 0 || v->group0);
}

/* Drawn node `r` (a group's first host) stands for its site. */
static bool s_node_is_site(const struct gview *v, uint32_t r)
{
    return v->site_groups && v->dist[r] > 0 && v->g->hosts[r].site >= 0;
}

/* The node id of representative host r: its address, its network, or
 * "@site" (the script opens /host/, /network/ or /site/ from it). */
static void s_node_id(FILE *f, const struct gview *v, uint32_t r)
{
    const struct rep_ghost *h = &v->g->hosts[r];
    if (s_node_is_site(v, r)) {
        char id[CMN_SITE_NAME_MAX + 2];
        snprintf(id, sizeof(id), "@%s", rep_graph_site_name(v->g, h->site));
        s_js_str(f, id);
    } else {
        s_js_str(f, s_node_is_group(v, r) ? h->network : h->ip);
    }
}

/* A pair of drawn nodes (client's << 32 | server's) and the volume between. */
struct gpair {
    uint64_t key;
    int64_t bytes;
};

static int s_pair_key_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct gpair *)a)->key, y = ((const struct gpair *)b)->key;
    return x < y ? -1 : x > y;
}

static int s_pair_vol_cmp(const void *a, const void *b)
{
    const struct gpair *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* The pairs of drawn nodes with edges between them (self-pairs left out),
 * by volume, most first; *n gets the count. */
static struct gpair *s_pairs(const struct rep_graph *g, const int32_t *dist, const uint32_t *rep,
                             size_t *n)
{
    struct gpair *v = malloc((g->nedges + 1) * sizeof(*v));
    if (!v)
        abort();
    size_t m = 0;
    for (size_t e = 0; e < g->nedges; e++) {
        const struct rep_gedge *ed = &g->edges[e];
        uint32_t srv = g->svcs[ed->svc].host;
        if (dist[ed->client] < 0 || dist[srv] < 0 || rep[ed->client] == rep[srv])
            continue;
        v[m++] = (struct gpair){(uint64_t)rep[ed->client] << 32 | rep[srv],
                                ed->bytes_c2s + ed->bytes_s2c};
    }
    qsort(v, m, sizeof(*v), s_pair_key_cmp);
    size_t u = 0;
    for (size_t i = 0; i < m; i++) {
        if (u > 0 && v[u - 1].key == v[i].key)
            v[u - 1].bytes += v[i].bytes;
        else
            v[u++] = v[i];
    }
    qsort(v, u, sizeof(*v), s_pair_vol_cmp);
    *n = u;
    return v;
}

static bool s_file_exists(const char *dir, const char *name)
{
    char path[1024];
    struct stat sb;
    if (!dir)
        return false;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Hop distances, either way (a host's clients and its servers), from the
 * hosts at distance `from` onwards, up to `hops`: O(hops x hosts + edges). */
static void s_bfs(const struct rep_graph *g, int32_t *dist, int from, int hops)
{
    for (int h = from; h < hops; h++) {
        for (size_t i = 0; i < g->nhosts; i++) {
            if (dist[i] != h)
                continue;
            const struct rep_ghost *x = &g->hosts[i];
            for (uint32_t v = x->svc_lo; v < x->svc_hi; v++)
                for (uint32_t e = g->svcs[v].edge_lo; e < g->svcs[v].edge_hi; e++)
                    if (dist[g->edges[e].client] < 0)
                        dist[g->edges[e].client] = h + 1;
            for (uint32_t u = x->use_lo; u < x->use_hi; u++) {
                uint32_t srv = g->svcs[g->use_svc[u]].host;
                if (dist[srv] < 0)
                    dist[srv] = h + 1;
            }
        }
    }
}

/* "IP/proto/port" into its parts. */
static bool s_parse_svc(const char *v, uint8_t ip[16], uint8_t *proto, uint16_t *port)
{
    char buf[CMN_IP_STRLEN + 32];
    if (!v || strlen(v) >= sizeof(buf))
        return false;
    snprintf(buf, sizeof(buf), "%s", v);
    char *s2 = strrchr(buf, '/');
    if (!s2)
        return false;
    *s2 = '\0';
    char *s1 = strrchr(buf, '/');
    if (!s1)
        return false;
    *s1 = '\0';
    char *end;
    long pt = strtol(s2 + 1, &end, 10);
    if (*end || pt < 1 || pt > 65535 || cmn_ip_parse(buf, ip) != 0 ||
        cmn_proto_parse(s1 + 1, proto) != 0)
        return false;
    *port = (uint16_t)pt;
    return true;
}

int rep_pages_graph(struct rep_page *p, const char *static_dir)
{
    FILE *f = p->f;
    const char *around = rep_page_arg(p, "around");
    const char *site = rep_page_arg(p, "site");
    const char *svc = rep_page_arg(p, "service");
    int64_t hops = rep_page_int(p, "hops", 0, 6, 1);
    rep_html_head(p, "Dependency graph", "Graph", NULL);
    fputs("<form class=f action=\"/graph\" method=\"get\"><p><label>around <input name=\"around\" "
          "size=\"18\" placeholder=\"IP\" value=\"",
          f);
    rep_html_esc(f, around);
    fputs("\"></label> <label>or service <input name=\"service\" size=\"22\" "
          "placeholder=\"IP/tcp/5432\" value=\"",
          f);
    rep_html_esc(f, svc);
    fputs("\"></label> <label>or site <input name=\"site\" size=\"12\" value=\"", f);
    rep_html_esc(f, site);
    fprintf(f,
            "\"></label> <label>hops <input name=\"hops\" size=\"3\" value=\"%lld\"></label> "
            "<button>Draw</button></p></form>\n",
            (long long)hops);
    uint8_t ip[16];
    bool by_site = site && *site;
    uint8_t sproto = 0;
    uint16_t sport = 0;
    bool by_svc = !by_site && svc && *svc && s_parse_svc(svc, ip, &sproto, &sport);
    if (!by_site && !by_svc && (!around || cmn_ip_parse(around, ip) != 0)) {
        fputs("<p class=muted>Give a host (around=IP, e.g. from a host page's \"Graph around this "
              "host\") or a site, and how many hops of dependencies to follow either way.</p>\n",
              f);
        rep_html_tail(p);
        return 0;
    }
    struct rep_pages_map *gc = s_acquire(p);
    if (!gc)
        return -EIO;
    const struct rep_graph *g = gc->g;
    int32_t *dist = malloc((g->nhosts + 1) * sizeof(*dist));
    if (!dist)
        abort();
    for (size_t i = 0; i < g->nhosts; i++)
        dist[i] = -1;
    long start = -1;
    int site_idx = -1;
    if (by_site) {
        site_idx = cmn_sites_find(g->sites, site);
        for (size_t i = 0; i < g->nhosts && site_idx >= 0; i++)
            if (g->hosts[i].site == site_idx)
                dist[i] = 0;
        s_bfs(g, dist, 0, (int)hops);
    } else if ((start = rep_graph_host_find(g, ip)) >= 0) {
        dist[start] = 0;
        long v = by_svc ? rep_graph_svc_find(g, (uint32_t)start, sproto, sport) : -1;
        if (by_svc && v < 0) {
            dist[start] = -1; /* no such service */
        } else if (by_svc) {
            /* the service's clients first, then their own dependencies */
            for (uint32_t e = g->svcs[v].edge_lo; e < g->svcs[v].edge_hi && hops > 0; e++)
                if (dist[g->edges[e].client] < 0)
                    dist[g->edges[e].client] = 1;
            s_bfs(g, dist, 1, (int)hops);
        } else {
            s_bfs(g, dist, 0, (int)hops);
        }
    }
    size_t nn = 0;
    for (size_t i = 0; i < g->nhosts; i++)
        nn += dist[i] >= 0;
    if (nn == 0) {
        fputs("<p class=failed>no such host, service or site in the map</p>\n", f);
        goto out;
    }
    bool grouped = nn > GRAPH_NODES;
    /* networks among the drawn hosts (a network's hosts are adjacent in
     * address order); past GRAPH_GROUPS of them, hosts in a site are drawn
     * as their site, the others still as their network */
    size_t nnets = 0;
    long prev = -1;
    for (size_t i = 0; i < g->nhosts && grouped; i++) {
        if (dist[i] <= 0)
            continue;
        if (prev < 0 || strcmp(g->hosts[prev].network, g->hosts[i].network) != 0)
            nnets++;
        prev = (long)i;
    }
    size_t nsites = cmn_sites_count(g->sites);
    bool site_groups = grouped && nnets > GRAPH_GROUPS && nsites > 0;
    /* a site's own hosts stay themselves unless they are many too */
    size_t n0 = 0;
    for (size_t i = 0; i < g->nhosts && grouped; i++)
        n0 += dist[i] == 0;
    bool group0 = grouped && n0 > GRAPH_GROUPS;
    bool have = s_file_exists(static_dir, "graphology.umd.min.js") &&
                s_file_exists(static_dir, "sigma.min.js") &&
                s_file_exists(static_dir, "renkei-graph.js");
    fprintf(f, "<p>%zu hosts%s. ", nn,
            !grouped      ? ""
            : site_groups ? ", grouped by site (or by network, outside the sites) in the drawing "
                            "(too many to draw one by one)"
                          : ", grouped by network in the drawing (too many to draw one by one)");
    if (!have)
        fputs("<span class=muted id=norenderer>The graph renderer (sigma.js) is not installed "
              "(npm was unreachable when renkei was built): the table below shows the same "
              "edges.</span>",
              f);
    fputs("</p>\n", f);
    if (have) {
        /* one node per host, or past GRAPH_NODES one per network or site
         * (the hosts at hop 0 stay themselves, unless a site has more than
         * GRAPH_GROUPS of its own); rep[i] is the host standing
         * for i, the first of its group */
        uint32_t *rep = malloc((g->nhosts + 1) * sizeof(*rep));
        uint32_t *members = calloc(g->nhosts + 1, sizeof(*members));
        int32_t *ring_n = calloc(8, sizeof(*ring_n)), *ring_i = calloc(8, sizeof(*ring_i));
        int32_t *nd =
            malloc((g->nhosts + 1) * sizeof(*nd)); /* a node's hop: its nearest member's */
        int32_t *site_rep = malloc((nsites + 1) * sizeof(*site_rep));
        if (!rep || !members || !ring_n || !ring_i || !nd || !site_rep)
            abort();
        for (size_t i = 0; i < nsites; i++)
            site_rep[i] = -1;
        memcpy(nd, dist, g->nhosts * sizeof(*nd));
        long last = -1; /* the last host grouped by network */
        for (size_t i = 0; i < g->nhosts; i++) {
            if (dist[i] < 0)
                continue;
            rep[i] = (uint32_t)i;
            if (grouped && (dist[i] > 0 || group0)) {
                int st = g->hosts[i].site;
                if (site_groups && st >= 0 && dist[i] > 0) {
                    if (site_rep[st] < 0)
                        site_rep[st] = (int32_t)i;
                    rep[i] = (uint32_t)site_rep[st];
                } else if (last >= 0 && strcmp(g->hosts[last].network, g->hosts[i].network) == 0) {
                    rep[i] = (uint32_t)last;
                } else {
                    last = (long)i;
                }
                if (dist[i] < nd[rep[i]])
                    nd[rep[i]] = dist[i];
            }
            members[rep[i]]++;
        }
        for (size_t i = 0; i < g->nhosts; i++)
            if (dist[i] >= 0 && rep[i] == i)
                ring_n[nd[i] < 7 ? nd[i] : 7]++;
        struct gview v = {
            .g = g, .dist = dist, .grouped = grouped, .site_groups = site_groups, .group0 = group0};
        /* nodes: hosts, networks or sites, placed on rings by distance */
        fputs("<div id=graph style=\"width:100%;height:620px;border:1px solid #ccc\"></div>\n"
              "<script type=\"application/json\" id=gdata>{\"nodes\": [",
              f);
        const char *sep = "";
        size_t k = 0;
        for (size_t i = 0; i < g->nhosts; i++) {
            if (dist[i] < 0 || rep[i] != i)
                continue;
            const struct rep_ghost *h = &g->hosts[i];
            int d = nd[i] < 7 ? nd[i] : 7;
            /* each ring starts a golden angle further: a few nodes per ring
             * (grouped graphs) are not all on one line through the centre */
            double ang = 6.2831853 * (double)ring_i[d]++ / (double)(ring_n[d] ? ring_n[d] : 1) +
                         2.3999632 * d;
            /* a site's own hosts (hop 0) on a band, the others on rings
             * outside it */
            double rad = !by_site ? (double)d : d == 0 ? 1.0 + (double)(k % 7) * 0.1 : 1.6 + d;
            char lb[CMN_IP_STRLEN + 256];
            const char *site_name = rep_graph_site_name(g, h->site);
            if (s_node_is_site(&v, i))
                snprintf(lb, sizeof(lb), "site %s (%u hosts)", site_name, members[i]);
            else if (s_node_is_group(&v, (uint32_t)i))
                snprintf(lb, sizeof(lb), "%s (%u hosts)", h->network, members[i]);
            else
                snprintf(lb, sizeof(lb), "%s%s%s", h->ip, h->name ? " " : "",
                         h->name ? h->name : "");
            fprintf(f, "%s{\"id\": ", sep);
            s_node_id(f, &v, (uint32_t)i);
            fputs(", \"label\": ", f);
            s_js_str(f, lb);
            fprintf(f, ", \"x\": %.3f, \"y\": %.3f, \"kind\": \"%s\", \"d\": %d, \"n\": %u}",
                    rad * cos(ang), rad * sin(ang), rep_host_kind_name(h->kind), nd[i], members[i]);
            sep = ", ";
            k++;
        }
        /* edges: one per pair of drawn nodes, the volume of its edges summed
         * (grouped, 100,000 host edges were a few thousand pairs; sending
         * them one by one cut the drawing at GRAPH_EDGES); the largest
         * GRAPH_EDGES pairs when there are more */
        size_t npairs = 0;
        struct gpair *pairs = s_pairs(g, dist, rep, &npairs);
        size_t shown = npairs < GRAPH_EDGES ? npairs : GRAPH_EDGES;
        fputs("], \"edges\": [", f);
        sep = "";
        for (size_t e = 0; e < shown; e++) {
            fprintf(f, "%s[", sep);
            s_node_id(f, &v, (uint32_t)(pairs[e].key >> 32));
            fputs(", ", f);
            s_node_id(f, &v, (uint32_t)pairs[e].key);
            fprintf(f, ", %lld]", (long long)pairs[e].bytes);
            sep = ", ";
        }
        free(pairs);
        free(rep);
        free(members);
        free(nd);
        free(site_rep);
        fputs("]}</script>\n<script src=\"/static/graphology.umd.min.js\"></script>"
              "<script src=\"/static/sigma.min.js\"></script>"
              "<script src=\"/static/renkei-graph.js\"></script>\n",
              f);
        if (npairs > shown)
            fprintf(f,
                    "<p class=muted>The drawing shows the %zu connections with the most volume "
                    "of %zu.</p>\n",
                    shown, npairs);
        free(ring_n);
        free(ring_i);
    }
    /* the table view: every edge between drawn hosts, paged */
    int64_t off = rep_page_int(p, "offset", 0, INT64_MAX / 2, 0), total = 0;
    for (size_t e = 0; e < g->nedges; e++)
        total += dist[g->edges[e].client] >= 0 && dist[g->svcs[g->edges[e].svc].host] >= 0;
    fputs("<h2>Edges</h2>\n", f);
    rep_html_pager(p, "/graph", "offset", total, off, REP_PAGE_LIMIT);
    fputs("<table id=edges><thead><tr><th>client</th><th>hop</th><th>service</th><th>server</th>"
          "<th>hop</th><th>volume</th></tr></thead><tbody>\n",
          f);
    int64_t idx = 0;
    for (size_t e = 0; e < g->nedges && idx < off + REP_PAGE_LIMIT; e++) {
        const struct rep_gedge *ed = &g->edges[e];
        uint32_t srv = g->svcs[ed->svc].host;
        if (dist[ed->client] < 0 || dist[srv] < 0)
            continue;
        if (idx++ < off)
            continue;
        fputs("<tr>", f);
        rep_html_td_host(f, g->hosts[ed->client].ip, g->hosts[ed->client].name);
        rep_html_td_num(f, dist[ed->client]);
        s_svc_cell(f, g, ed->svc);
        rep_html_td_host(f, g->hosts[srv].ip, g->hosts[srv].name);
        rep_html_td_num(f, dist[srv]);
        rep_html_td_bytes(f, ed->bytes_c2s + ed->bytes_s2c);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    rep_html_pager(p, "/graph", "offset", total, off, REP_PAGE_LIMIT);
out:
    free(dist);
    s_release(&gc);
    rep_html_tail(p);
    return 0;
}
