/* SPDX-License-Identifier: MIT
 * rep_formats: CSV, GraphML and DOT writers over a loaded map and a
 * selection. Text from outside (host names from hosts files and DNS,
 * service names) passes through one escaper per format; bytes that are not
 * valid UTF-8 become '?' first, so a stray Latin-1 name in a hosts file
 * cannot make the XML or the DOT file unreadable.
 */
#define CMN_LOG_TAG "rep_formats"
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmn_ip.h"
#include "cmn_log.h"
#include "cmn_sites.h"
#include "rep_db.h"
#include "rep_formats.h"
#include "rep_graph.h"
#include "rep_json.h"
#include "rep_select.h"

int rep_format_parse(const char *name, enum rep_format *out)
{
    static const struct {
        const char *name;
        enum rep_format fmt;
    } k[] = {{"json", REP_FORMAT_JSON},
             {"csv", REP_FORMAT_CSV},
             {"graphml", REP_FORMAT_GRAPHML},
             {"dot", REP_FORMAT_DOT}};
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        if (strcmp(name, k[i].name) == 0) {
            *out = k[i].fmt;
            return 0;
        }
    }
    return -EINVAL;
}

/* Length of the valid UTF-8 sequence at `p`, or 0 when it is not one. */
static size_t s_utf8_len(const unsigned char *p)
{
    size_t n;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4;
    else
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0; /* also stops at the NUL */
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
        return 0; /* overlong, surrogate, past U+10FFFF */
    return n;
}

/* ---- CSV (RFC 4180) ---- */

/* A field: quoted when it holds a comma, quote, CR or LF; NULL is empty. */
static void s_csv_str(FILE *f, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

static void s_csv_time(FILE *f, int64_t ns)
{
    char t[40];
    if (ns > 0)
        fputs(rep_time_text(ns, t, sizeof(t)), f);
}

static void s_csv_hosts(FILE *f, const struct rep_graph *g, const struct rep_selection *sel)
{
    fputs("ip,name,name_source,kind,site,network,packets_out,bytes_out,packets_in,bytes_in,"
          "first_seen,last_seen\r\n",
          f);
    for (size_t i = 0; i < g->nhosts; i++) {
        const struct rep_ghost *h = &g->hosts[i];
        if (sel->host[i] == REP_SEL_NONE)
            continue;
        fprintf(f, "%s,", h->ip);
        s_csv_str(f, h->name);
        fputc(',', f);
        s_csv_str(f, h->name_source);
        fprintf(f, ",%s,", rep_host_kind_name(h->kind));
        s_csv_str(f, rep_graph_site_name(g, h->site));
        fprintf(f, ",%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",", h->network,
                h->packets_out, h->bytes_out, h->packets_in, h->bytes_in);
        s_csv_time(f, h->first_ns);
        fputc(',', f);
        s_csv_time(f, h->last_ns);
        fputs("\r\n", f);
    }
}

static void s_csv_services(FILE *f, const struct rep_graph *g, const struct rep_selection *sel)
{
    char pb[8];
    fputs("ip,proto,port,name,clients,packets,bytes,confidence,first_seen,last_seen\r\n", f);
    for (size_t i = 0; i < g->nsvcs; i++) {
        const struct rep_gsvc *s = &g->svcs[i];
        if (!sel->svc[i])
            continue;
        fprintf(f, "%s,%s,%u,", g->hosts[s->host].ip, cmn_proto_name(s->proto, pb, sizeof(pb)),
                s->port);
        s_csv_str(f, s->name);
        double conf = s->confidence == s->confidence ? s->confidence : 0;
        fprintf(f, ",%" PRIu32 ",%" PRId64 ",%" PRId64 ",%.4g,", s->clients, s->packets, s->bytes,
                conf);
        s_csv_time(f, s->first_ns);
        fputc(',', f);
        s_csv_time(f, s->last_ns);
        fputs("\r\n", f);
    }
}

static void s_csv_edges(FILE *f, const struct rep_graph *g, const struct rep_selection *sel)
{
    char pb[8];
    fputs("client_ip,server_ip,proto,server_port,service_name,packets_c2s,bytes_c2s,"
          "packets_s2c,bytes_s2c,sessions,first_seen,last_seen\r\n",
          f);
    for (size_t i = 0; i < g->nedges; i++) {
        const struct rep_gedge *e = &g->edges[i];
        const struct rep_gsvc *s = &g->svcs[e->svc];
        if (!sel->edge[i])
            continue;
        fprintf(f, "%s,%s,%s,%u,", g->hosts[e->client].ip, g->hosts[s->host].ip,
                cmn_proto_name(s->proto, pb, sizeof(pb)), s->port);
        s_csv_str(f, s->name);
        fprintf(f, ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",", e->packets_c2s,
                e->bytes_c2s, e->packets_s2c, e->bytes_s2c, e->sessions);
        s_csv_time(f, e->first_ns);
        fputc(',', f);
        s_csv_time(f, e->last_ns);
        fputs("\r\n", f);
    }
}

/* mkdir -p `dir`. Returns 0 or -errno after logging. */
static int s_mkdirs(const char *dir)
{
    char p[4096];
    if (snprintf(p, sizeof(p), "%s", dir) >= (int)sizeof(p)) {
        CMN_LOG(ERR, "directory name too long: %.80s...", dir);
        return -ENAMETOOLONG;
    }
    for (char *s = p + 1;; s++) {
        bool end = *s == '\0';
        if (*s != '/' && !end)
            continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            CMN_LOG(ERR, "cannot create directory %s: %s", p, strerror(e));
            return -e;
        }
        if (end)
            break;
        *s = '/';
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        CMN_LOG(ERR, "%s is not a directory", dir);
        return -ENOTDIR;
    }
    return 0;
}

typedef void (*csv_fn)(FILE *f, const struct rep_graph *g, const struct rep_selection *sel);

/* Write `dir/name` through a temporary file renamed into place. */
static int s_csv_file(const char *dir, const char *name, csv_fn fn, const struct rep_graph *g,
                      const struct rep_selection *sel)
{
    char path[4200], tmp[4300];
    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
        snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    FILE *f = fopen(tmp, "w");
    if (!f) {
        int e = errno;
        CMN_LOG(ERR, "cannot write %s: %s", tmp, strerror(e));
        return -e;
    }
    fn(f, g, sel);
    int rc = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc != 0) {
        CMN_LOG(ERR, "cannot write %s: %s", path, strerror(-rc));
        unlink(tmp);
    }
    return rc;
}

int rep_csv_write(const struct rep_graph *g, const struct rep_selection *sel, const char *dir)
{
    int rc = s_mkdirs(dir);
    if (rc == 0)
        rc = s_csv_file(dir, "hosts.csv", s_csv_hosts, g, sel);
    if (rc == 0)
        rc = s_csv_file(dir, "services.csv", s_csv_services, g, sel);
    if (rc == 0)
        rc = s_csv_file(dir, "edges.csv", s_csv_edges, g, sel);
    return rc;
}

/* ---- GraphML ---- */

/* XML 1.0 character data / attribute value: the five entities; control
 * characters other than TAB, LF, CR are not allowed in XML 1.0: a space. */
static void s_xml(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = s_utf8_len(p);
        if (n == 0) {
            fputc('?', f);
            p++;
            continue;
        }
        switch (*p) {
            case '&':
                fputs("&amp;", f);
                break;
            case '<':
                fputs("&lt;", f);
                break;
            case '>':
                fputs("&gt;", f);
                break;
            case '"':
                fputs("&quot;", f);
                break;
            case '\'':
                fputs("&apos;", f);
                break;
            case '\t':
            case '\n':
            case '\r':
                fprintf(f, "&#%d;", *p);
                break;
            default:
                if (*p < 0x20)
                    fputc(' ', f);
                else
                    fwrite(p, 1, n, f);
        }
        p += n;
    }
}

static void s_xml_data(FILE *f, const char *key, const char *v)
{
    if (!v)
        return;
    fprintf(f, "<data key=\"%s\">", key);
    s_xml(f, v);
    fputs("</data>", f);
}

/* Attributes of the export: id, domain, name, type. */
static const char *const s_keys[][4] = {
    {"label", "node", "label", "string"},       {"name", "node", "name", "string"},
    {"kind", "node", "kind", "string"},         {"site", "node", "site", "string"},
    {"network", "node", "network", "string"},   {"bytes", "node", "bytes", "long"},
    {"packets", "node", "packets", "long"},     {"clients", "node", "clients", "int"},
    {"outside", "node", "outside", "boolean"},  {"e_label", "edge", "label", "string"},
    {"e_proto", "edge", "proto", "string"},     {"e_port", "edge", "port", "int"},
    {"e_service", "edge", "service", "string"}, {"e_bytes", "edge", "bytes", "long"},
    {"e_packets", "edge", "packets", "long"},   {"e_sessions", "edge", "sessions", "long"},
};

/* Distinct clients of host `h`'s services; `stamp` (nhosts, owned by the
 * caller) remembers who was counted for which host. */
static uint32_t s_distinct_clients(const struct rep_graph *g, uint32_t h, uint32_t *stamp)
{
    uint32_t n = 0;
    for (uint32_t v = g->hosts[h].svc_lo; v < g->hosts[h].svc_hi; v++)
        for (uint32_t e = g->svcs[v].edge_lo; e < g->svcs[v].edge_hi; e++) {
            uint32_t c = g->edges[e].client;
            if (stamp[c] != h + 1) {
                stamp[c] = h + 1;
                n++;
            }
        }
    return n;
}

/* "tcp/5432 (postgresql)" or "tcp/5432". */
static const char *s_svc_label(const struct rep_graph *g, const struct rep_gsvc *s, char *buf,
                               size_t len)
{
    char pb[8];
    const char *p = cmn_proto_name(s->proto, pb, sizeof(pb));
    if (s->name)
        snprintf(buf, len, "%s/%u (%s)", p, s->port, s->name);
    else
        snprintf(buf, len, "%s/%u", p, s->port);
    (void)g;
    return buf;
}

int rep_graphml_write(const struct rep_graph *g, const struct rep_selection *sel, FILE *out)
{
    uint32_t *stamp = calloc(g->nhosts + 1, sizeof(*stamp));
    if (!stamp)
        abort();
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\"\n"
          "    xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n"
          "    xsi:schemaLocation=\"http://graphml.graphdrawing.org/xmlns"
          " http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd\">\n",
          out);
    for (size_t i = 0; i < sizeof(s_keys) / sizeof(s_keys[0]); i++) {
        fprintf(out, "  <key id=\"%s\" for=\"%s\" attr.name=\"%s\" attr.type=\"%s\"", s_keys[i][0],
                s_keys[i][1], s_keys[i][2], s_keys[i][3]);
        if (strcmp(s_keys[i][0], "outside") == 0)
            fputs("><default>false</default></key>\n", out);
        else
            fputs("/>\n", out);
    }
    fputs("  <graph id=\"renkei\" edgedefault=\"directed\">\n", out);
    for (size_t i = 0; i < g->nhosts; i++) {
        const struct rep_ghost *h = &g->hosts[i];
        char label[300];
        if (sel->host[i] == REP_SEL_NONE)
            continue;
        snprintf(label, sizeof(label), "%s%s%s", h->name ? h->name : "", h->name ? "\n" : "",
                 h->ip);
        fprintf(out, "    <node id=\"%s\">", h->ip);
        s_xml_data(out, "label", label);
        s_xml_data(out, "name", h->name);
        s_xml_data(out, "kind", rep_host_kind_name(h->kind));
        s_xml_data(out, "site", rep_graph_site_name(g, h->site));
        s_xml_data(out, "network", h->network);
        fprintf(out,
                "<data key=\"bytes\">%" PRId64 "</data><data key=\"packets\">%" PRId64 "</data>"
                "<data key=\"clients\">%" PRIu32 "</data>",
                h->bytes_out + h->bytes_in, h->packets_out + h->packets_in,
                s_distinct_clients(g, (uint32_t)i, stamp));
        if (sel->host[i] == REP_SEL_EDGE)
            fputs("<data key=\"outside\">true</data>", out);
        fputs("</node>\n", out);
    }
    for (size_t i = 0; i < g->nedges; i++) {
        const struct rep_gedge *e = &g->edges[i];
        const struct rep_gsvc *s = &g->svcs[e->svc];
        char label[128], pb[8];
        if (!sel->edge[i])
            continue;
        fprintf(out, "    <edge id=\"e%zu\" source=\"%s\" target=\"%s\">", i,
                g->hosts[e->client].ip, g->hosts[s->host].ip);
        s_xml_data(out, "e_label", s_svc_label(g, s, label, sizeof(label)));
        s_xml_data(out, "e_proto", cmn_proto_name(s->proto, pb, sizeof(pb)));
        fprintf(out, "<data key=\"e_port\">%u</data>", s->port);
        s_xml_data(out, "e_service", s->name);
        fprintf(out,
                "<data key=\"e_bytes\">%" PRId64 "</data><data key=\"e_packets\">%" PRId64
                "</data><data key=\"e_sessions\">%" PRId64 "</data></edge>\n",
                e->bytes_c2s + e->bytes_s2c, e->packets_c2s + e->packets_s2c, e->sessions);
    }
    fputs("  </graph>\n</graphml>\n", out);
    free(stamp);
    return ferror(out) ? -EIO : 0;
}

/* ---- DOT ---- */

/* Inside a quoted DOT string: `"` and `\` escaped, control characters a
 * space (a label's line breaks are written by the caller as \n). */
static void s_dot_esc(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = s_utf8_len(p);
        if (n == 0) {
            fputc('?', f);
            p++;
            continue;
        }
        if (*p == '"' || *p == '\\')
            fputc('\\', f);
        if (*p < 0x20 || *p == 0x7f)
            fputc(' ', f);
        else
            fwrite(p, 1, n, f);
        p += n;
    }
}

/* A quoted DOT string (every ID we write is quoted). */
static void s_dot_str(FILE *f, const char *s)
{
    fputc('"', f);
    s_dot_esc(f, s);
    fputc('"', f);
}

/* Cluster order of hosts: by site (hosts without one last), then address. */
static int s_dot_cmp(const void *a, const void *b, void *arg)
{
    const struct rep_graph *g = arg;
    const struct rep_ghost *x = &g->hosts[*(const uint32_t *)a];
    const struct rep_ghost *y = &g->hosts[*(const uint32_t *)b];
    unsigned sx = (unsigned)x->site, sy = (unsigned)y->site; /* -1 sorts last */
    if (sx != sy)
        return sx < sy ? -1 : 1;
    return memcmp(x->key, y->key, 16);
}

static void s_dot_node(FILE *f, const struct rep_graph *g, const struct rep_selection *sel,
                       uint32_t i, const char *indent)
{
    const struct rep_ghost *h = &g->hosts[i];
    fputs(indent, f);
    s_dot_str(f, h->ip);
    fputs(" [label=\"", f);
    if (h->name) {
        s_dot_esc(f, h->name);
        fputs("\\n", f);
    }
    fprintf(f, "%s\"", h->ip);
    if (h->kind == REP_KIND_CLIENT)
        fputs(", shape=ellipse", f);
    if (sel->host[i] == REP_SEL_EDGE)
        fputs(", style=\"rounded,dashed\", color=gray50, fontcolor=gray40", f);
    fputs("];\n", f);
}

int rep_dot_write(const struct rep_graph *g, const struct rep_selection *sel, FILE *out)
{
    uint32_t *order = malloc((g->nhosts + 1) * sizeof(*order));
    size_t n = 0;
    if (!order)
        abort();
    for (size_t i = 0; i < g->nhosts; i++)
        if (sel->host[i] != REP_SEL_NONE)
            order[n++] = (uint32_t)i;
    qsort_r(order, n, sizeof(*order), s_dot_cmp, (void *)(uintptr_t)g);
    fputs("digraph \"renkei\" {\n"
          "  graph [rankdir=LR, fontname=\"Helvetica\", label=\"renkei dependency map\","
          " labelloc=t];\n"
          "  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n"
          "  edge [fontname=\"Helvetica\", fontsize=8];\n",
          out);
    for (size_t i = 0; i < n;) {
        int site = g->hosts[order[i]].site;
        const char *sname = rep_graph_site_name(g, site);
        const char *ind = "    ";
        if (site >= 0) {
            char id[CMN_SITE_NAME_MAX + 16], label[2 * CMN_SITE_NAME_MAX + 8];
            snprintf(id, sizeof(id), "cluster_site_%s", sname);
            snprintf(label, sizeof(label), "%s (%s)", sname,
                     cmn_sites_kind(g->sites, (size_t)site));
            fputs("  subgraph ", out);
            s_dot_str(out, id);
            fputs(" {\n    label=", out);
            s_dot_str(out, label);
            fputs(";\n    style=bold;\n", out);
            ind = "      ";
        }
        /* networks of this site (contiguous: same site, sorted by address) */
        while (i < n && g->hosts[order[i]].site == site) {
            const char *net = g->hosts[order[i]].network;
            char id[CMN_SITE_NAME_MAX + CMN_IP_STRLEN + 32];
            snprintf(id, sizeof(id), "cluster_net_%s%s%s", sname ? sname : "", sname ? "_" : "",
                     net);
            fprintf(out, "%.*ssubgraph ", (int)strlen(ind) - 2, ind);
            s_dot_str(out, id);
            fprintf(out, " {\n%slabel=", ind);
            s_dot_str(out, net);
            fprintf(out, ";\n%sstyle=dashed;\n", ind);
            while (i < n && g->hosts[order[i]].site == site &&
                   strcmp(g->hosts[order[i]].network, net) == 0)
                s_dot_node(out, g, sel, order[i++], ind);
            fprintf(out, "%.*s}\n", (int)strlen(ind) - 2, ind);
        }
        if (site >= 0)
            fputs("  }\n", out);
    }
    for (size_t i = 0; i < g->nedges; i++) {
        const struct rep_gedge *e = &g->edges[i];
        const struct rep_gsvc *s = &g->svcs[e->svc];
        char label[128];
        if (!sel->edge[i])
            continue;
        fputs("  ", out);
        s_dot_str(out, g->hosts[e->client].ip);
        fputs(" -> ", out);
        s_dot_str(out, g->hosts[s->host].ip);
        fputs(" [label=", out);
        s_dot_str(out, s_svc_label(g, s, label, sizeof(label)));
        fputs("];\n", out);
    }
    fputs("}\n", out);
    free(order);
    return ferror(out) ? -EIO : 0;
}

/* ---- from a database ---- */

int rep_export_graph(const char *db_path, enum rep_format fmt, const struct rep_export_opts *o,
                     FILE *out, const char *dir)
{
    assert(fmt != REP_FORMAT_JSON);
    sqlite3 *db = rep_db_open(db_path);
    if (!db)
        return -ENOENT;
    struct rep_selection sel = {0};
    const struct rep_graph_opts go = {.sites = o ? o->sites : NULL};
    struct rep_graph *g = rep_graph_load(db, &go);
    int rc = g ? rep_select(g, o ? o->filter : NULL, &sel) : -EIO;
    if (rc == 0) {
        if (fmt == REP_FORMAT_CSV)
            rc = rep_csv_write(g, &sel, dir);
        else if (fmt == REP_FORMAT_GRAPHML)
            rc = rep_graphml_write(g, &sel, out);
        else
            rc = rep_dot_write(g, &sel, out);
        if (rc == 0 && out && fflush(out) != 0) {
            CMN_LOG(ERR, "export: write error: %s", strerror(errno));
            rc = -EIO;
        }
    }
    rep_selection_fini(&sel);
    rep_graph_destroy(&g);
    rep_db_close(&db);
    return rc;
}
