/* SPDX-License-Identifier: MIT
 * test_rep_formats: a small hand-made database (through mrg_db: a postgres
 * server with two clients, an ntp pair, an IPv6 web server and its client,
 * a host name full of characters every format must escape) with two sites,
 * loaded as a map; then the selection rules (rep_select), CSV, GraphML and
 * DOT (checked with python3's csv and xml.etree, and `dot` when installed),
 * and the JSON export's sites and filters. Also mrg_db_set_sites and the
 * rep_graph helpers the exports use.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmn_ip.h"
#include "cmn_sites.h"
#include "db_testutil.h"
#include "harness.h"
#include "mrg_db.h"
#include "rep_db.h"
#include "rep_export.h"
#include "rep_formats.h"
#include "rep_graph.h"
#include "rep_select.h"

#define NS 1000000000ull

static struct cmn_session_rec s_sess(const char *a, uint16_t ap, const char *b, uint16_t bp,
                                     uint8_t proto, uint64_t pab, uint64_t pba)
{
    struct cmn_session_rec r;
    memset(&r, 0, sizeof(r));
    tu_ip(r.a_ip, a);
    tu_ip(r.b_ip, b);
    r.a_port = ap;
    r.b_port = bp;
    r.proto = proto;
    r.flags = CMN_SESS_A_INIT;
    r.pkts[0] = pab;
    r.pkts[1] = pba;
    r.bytes[0] = pab * 100;
    r.bytes[1] = pba * 1000;
    r.first_ns = 1767225600ull * NS; /* 2026-01-01T00:00:00Z */
    r.last_ns = 1767229200ull * NS + 500;
    return r;
}

static struct cmn_endpoint_rec s_ep(const char *ip, uint8_t proto, uint16_t port, float conf)
{
    struct cmn_endpoint_rec e;
    memset(&e, 0, sizeof(e));
    tu_ip(e.ip, ip);
    e.proto = proto;
    e.port = port;
    e.role = CMN_ROLE_SERVER;
    e.confidence = conf;
    e.first_ns = 1767225600ull * NS;
    e.last_ns = 1767229200ull * NS;
    return e;
}

static const char s_sites_text[] = "dc     datacenter 172.16.0.0/16 2001:db8::1/128\n"
                                   "office office     10.3.0.0/16\n";

/* The test database at `path`, with the sites above in its sites table. */
static int s_build(const char *path)
{
    char hf[300];
    snprintf(hf, sizeof(hf), "%s.hosts", path);
    FILE *f = fopen(hf, "w");
    if (!f)
        return -1;
    fputs("172.16.0.10 db1.example\n10.3.0.20 pc,\"20\"<&>\\n'x\n", f);
    fclose(f);
    struct mrg_db *db = mrg_db_open(path);
    if (!db)
        return -1;
    struct cmn_session_rec s[] = {
        s_sess("10.3.0.20", 50000, "172.16.0.10", 5432, 6, 10, 20),
        s_sess("10.3.0.21", 50000, "172.16.0.10", 5432, 6, 5, 5),
        s_sess("10.0.0.7", 123, "10.0.0.8", 123, 17, 1, 1),
        s_sess("2001:db8::1", 443, "2001:db8::20", 61000, 6, 7, 3),
    };
    s[3].flags = CMN_SESS_B_INIT;
    struct cmn_endpoint_rec e[] = {
        s_ep("172.16.0.10", 6, 5432, 0.98f),
        s_ep("10.0.0.7", 17, 123, 0.5f),
        s_ep("10.0.0.8", 17, 123, 0.5f),
        s_ep("2001:db8::1", 6, 443, 1.0f),
    };
    struct cmn_event_rec ev;
    memset(&ev, 0, sizeof(ev));
    tu_ip(ev.target_ip, "172.16.0.10");
    ev.port = 5432;
    ev.kind = CMN_EVENT_SYN_FLOOD;
    ev.proto = 6;
    ev.source_count = 300;
    ev.packets = 5000;
    ev.first_ns = 1767225600ull * NS;
    ev.last_ns = 1767225660ull * NS;
    struct mrg_part part = {.sessions = s,
                            .n_sessions = 4,
                            .endpoints = e,
                            .n_endpoints = 4,
                            .events = &ev,
                            .n_events = 1};
    struct cmn_sites *other = cmn_sites_new(), *sites = cmn_sites_new();
    int rc = mrg_db_commit_epoch(db, 0, 60 * NS, true, &part, 1, NULL);
    if (rc == 0 && mrg_db_load_hosts_file(db, hf) != 2)
        rc = -1;
    /* set twice: the second replaces the first */
    if (cmn_sites_add(other, "gone", "x", "192.168.0.0/16", NULL, 0) != 0 ||
        cmn_sites_parse(sites, s_sites_text, strlen(s_sites_text), "t") != 2)
        rc = -1;
    if (rc == 0)
        rc = mrg_db_set_sites(db, other);
    if (rc == 0)
        rc = mrg_db_set_sites(db, sites);
    cmn_sites_destroy(&other);
    cmn_sites_destroy(&sites);
    mrg_db_close(&db);
    unlink(hf);
    return rc;
}

static char s_cmd[2048]; /* shell command of s_sh */

/* Run a printf-formatted shell command; its exit status. */
#define s_sh(...) (snprintf(s_cmd, sizeof(s_cmd), __VA_ARGS__), system(s_cmd))

static char s_db[256]; /* built once, by the first case that needs it; removed at exit */

static void s_cleanup(void)
{
    tu_db_rm(s_db);
}

static int s_need_db(void)
{
    static int built = 1; /* 1: not yet, 0: built, < 0: failed */
    if (built == 1) {
        tu_db_path(s_db, sizeof(s_db), "rep_formats", "db");
        atexit(s_cleanup);
        built = s_build(s_db) == 0 ? 0 : -1;
    }
    return built;
}

/* The map of the test database; NULL on failure. */
static struct rep_graph *s_graph(sqlite3 **h, const struct cmn_sites *sites)
{
    *h = s_need_db() == 0 ? rep_db_open(s_db) : NULL;
    if (!*h)
        return NULL;
    const struct rep_graph_opts o = {.sites = sites};
    return rep_graph_load(*h, &o);
}

TEST(sites_table)
{
    FAIL_IF_NOT(s_need_db() == 0);
    sqlite3 *h = rep_db_open(s_db);
    FAIL_IF_NOT(h);
    FAIL_IF_NOT(tu_q(h, "SELECT count(*) FROM sites") == 3);
    FAIL_IF_NOT(tu_q(h, "SELECT count(*) FROM sites WHERE name = 'gone'") == 0);
    FAIL_IF_NOT(tu_q(h, "SELECT rowid = (SELECT min(rowid) FROM sites) FROM sites"
                        " WHERE cidr = '172.16.0.0/16'") == 1);
    FAIL_IF_NOT(tu_q(h, "SELECT value FROM meta WHERE key = 'schema_version'") == 1 ||
                tu_q(h, "SELECT value FROM meta WHERE key = 'schema_version'") == -1);
    rep_db_close(&h);
    PASS;
}

TEST(graph)
{
    sqlite3 *h;
    struct rep_graph *g = s_graph(&h, NULL);
    FAIL_IF_NOT(g);
    FAIL_IF_NOT(g->nhosts == 7 && g->nsvcs == 3 && g->nedges == 4);
    FAIL_IF_NOT(cmn_sites_count(g->sites) == 2);
    uint8_t k[16];
    tu_ip(k, "172.16.0.10");
    long db1 = rep_graph_host_find(g, k);
    FAIL_IF_NOT(db1 >= 0 && strcmp(g->hosts[db1].name, "db1.example") == 0);
    FAIL_IF_NOT(strcmp(g->hosts[db1].name_source, "hosts_file") == 0);
    FAIL_IF_NOT(strcmp(rep_graph_site_name(g, g->hosts[db1].site), "dc") == 0);
    FAIL_IF_NOT(rep_graph_site_name(g, -1) == NULL);
    long pg = rep_graph_svc_find(g, (uint32_t)db1, 6, 5432);
    FAIL_IF_NOT(pg >= 0 && g->svcs[pg].edge_hi - g->svcs[pg].edge_lo == 2);
    FAIL_IF_NOT(rep_graph_svc_find(g, (uint32_t)db1, 6, 5433) == -1);
    FAIL_IF_NOT(rep_graph_svc_find(g, 999, 6, 5432) == -1);
    tu_ip(k, "10.3.0.20");
    long pc = rep_graph_host_find(g, k);
    FAIL_IF_NOT(pc >= 0 && g->hosts[pc].use_hi - g->hosts[pc].use_lo == 1);
    FAIL_IF_NOT(g->svcs[g->edges[g->uses[g->hosts[pc].use_lo]].svc].host == (uint32_t)db1);
    /* every host's uses are its own edges, each edge listed once */
    size_t total = 0;
    for (size_t i = 0; i < g->nhosts; i++)
        for (uint32_t u = g->hosts[i].use_lo; u < g->hosts[i].use_hi; u++, total++)
            FAIL_IF_NOT(g->edges[g->uses[u]].client == i);
    FAIL_IF_NOT(total == g->nedges);
    tu_ip(k, "192.0.2.1");
    FAIL_IF_NOT(rep_graph_host_find(g, k) == -1);
    /* neighbourhoods */
    uint8_t mark[8] = {0};
    FAIL_IF_NOT(rep_graph_around(g, (uint32_t)pc, 1, mark) == 2);
    FAIL_IF_NOT(mark[pc] && mark[db1]);
    memset(mark, 0, sizeof(mark));
    FAIL_IF_NOT(rep_graph_around(g, (uint32_t)pc, 2, mark) == 3);
    memset(mark, 0, sizeof(mark));
    FAIL_IF_NOT(rep_graph_around(g, (uint32_t)pc, -1, mark) == 3);
    memset(mark, 0, sizeof(mark));
    FAIL_IF_NOT(rep_graph_around(g, (uint32_t)pc, 0, mark) == 1);
    FAIL_IF_NOT(strcmp(rep_host_kind_name(REP_KIND_BOTH), "both") == 0);
    rep_graph_destroy(&g);
    FAIL_IF_NOT(g == NULL);
    rep_graph_destroy(&g);
    /* sites given to the load win over the table */
    struct cmn_sites *mine = cmn_sites_new();
    FAIL_IF_NOT(cmn_sites_add(mine, "all10", "net", "10.0.0.0/8", NULL, 0) == 0);
    rep_db_close(&h);
    g = s_graph(&h, mine);
    cmn_sites_destroy(&mine); /* the graph copied them */
    FAIL_IF_NOT(g && cmn_sites_count(g->sites) == 1);
    FAIL_IF_NOT(strcmp(rep_graph_site_name(g, g->hosts[pc].site), "all10") == 0);
    FAIL_IF_NOT(g->hosts[db1].site == -1);
    rep_graph_destroy(&g);
    /* a period with only an end ("from the beginning") is judged from the
     * usage history; an empty period is refused */
    const struct rep_graph_opts until = {.until_ns = (int64_t)(1767229200ull * NS) * 2};
    g = rep_graph_load(h, &until);
    FAIL_IF_NOT(g && g->period_res_s > 0 && g->nedges == 4 && g->nhosts == 7);
    rep_graph_destroy(&g);
    const struct rep_graph_opts empty = {.since_ns = 10, .until_ns = 5};
    FAIL_IF_NOT(rep_graph_load(h, &empty) == NULL);
    rep_db_close(&h);
    PASS;
}

/* Exported counts of filter `f` (hosts, services, edges), or -1 on error. */
static int s_counts(const struct rep_filter *f, size_t *nh, size_t *ns, size_t *ne)
{
    sqlite3 *h;
    struct rep_graph *g = s_graph(&h, NULL);
    struct rep_selection sel;
    int rc = g ? rep_select(g, f, &sel) : -1;
    if (rc == 0) {
        *nh = sel.nhosts;
        *ns = sel.nsvcs;
        *ne = sel.nedges;
        rep_selection_fini(&sel);
    }
    rep_graph_destroy(&g);
    rep_db_close(&h);
    return rc;
}

TEST(selection)
{
    size_t nh, ns, ne;
    FAIL_IF_NOT(rep_filter_empty(NULL));
    const struct rep_filter none = {0};
    FAIL_IF_NOT(rep_filter_empty(&none));
    FAIL_IF_NOT(s_counts(NULL, &nh, &ns, &ne) == 0 && nh == 7 && ns == 3 && ne == 4);
    /* dc: db1 and the v6 server; their clients come along as outside ends */
    const struct rep_filter dc = {.site = "dc"};
    FAIL_IF_NOT(s_counts(&dc, &nh, &ns, &ne) == 0 && nh == 5 && ns == 2 && ne == 3);
    /* office: two clients; the service they use and its host come along */
    const struct rep_filter office = {.site = "office"};
    FAIL_IF_NOT(s_counts(&office, &nh, &ns, &ne) == 0 && nh == 3 && ns == 1 && ne == 2);
    const struct rep_filter ntp = {.cidr = "10.0.0.0/24"};
    /* the ntp pair: one service (the initiator's 123 served nobody) */
    FAIL_IF_NOT(s_counts(&ntp, &nh, &ns, &ne) == 0 && nh == 2 && ns == 1 && ne == 1);
    const struct rep_filter v6 = {.cidr = "2001:db8::/32"};
    FAIL_IF_NOT(s_counts(&v6, &nh, &ns, &ne) == 0 && nh == 2 && ns == 1 && ne == 1);
    const struct rep_filter around1 = {.around = "10.3.0.20"};
    FAIL_IF_NOT(s_counts(&around1, &nh, &ns, &ne) == 0 && nh == 3 && ns == 1 && ne == 2);
    const struct rep_filter around2 = {.around = "10.3.0.20", .hops = 2};
    FAIL_IF_NOT(s_counts(&around2, &nh, &ns, &ne) == 0 && nh == 3 && ns == 1 && ne == 2);
    /* intersection: dc and a prefix only db1 is in */
    const struct rep_filter both = {.site = "dc", .cidr = "172.16.0.0/12"};
    FAIL_IF_NOT(s_counts(&both, &nh, &ns, &ne) == 0 && nh == 3 && ns == 1 && ne == 2);
    const struct rep_filter empty = {.site = "dc", .cidr = "10.0.0.0/8"};
    FAIL_IF_NOT(s_counts(&empty, &nh, &ns, &ne) == 0 && nh == 0 && ns == 0 && ne == 0);
    /* errors */
    const struct rep_filter bad_site = {.site = "mars"};
    FAIL_IF_NOT(s_counts(&bad_site, &nh, &ns, &ne) == -EINVAL);
    const struct rep_filter bad_cidr = {.cidr = "10.0.0.0/40"};
    FAIL_IF_NOT(s_counts(&bad_cidr, &nh, &ns, &ne) == -EINVAL);
    const struct rep_filter bad_ip = {.around = "10.9.9.9"};
    FAIL_IF_NOT(s_counts(&bad_ip, &nh, &ns, &ne) == -EINVAL);
    const struct rep_filter not_ip = {.around = "db1"};
    FAIL_IF_NOT(s_counts(&not_ip, &nh, &ns, &ne) == -EINVAL);
    struct rep_selection z = {0};
    rep_selection_fini(&z);
    rep_selection_fini(NULL);
    PASS;
}

static const char s_csv_py[] =
    "import csv,sys,os\n"
    "d=sys.argv[1]\n"
    "def rd(n):\n"
    "  with open(os.path.join(d,n),newline='') as f:\n"
    "    raw=f.read()\n"
    "  assert raw.endswith('\\r\\n'),n\n"
    "  return list(csv.DictReader(raw.splitlines(True)))\n"
    "h=rd('hosts.csv'); s=rd('services.csv'); e=rd('edges.csv')\n"
    "assert list(h[0])==['ip','name','name_source','kind','site','network','packets_out',"
    "'bytes_out','packets_in','bytes_in','first_seen','last_seen'],list(h[0])\n"
    "assert list(s[0])==['ip','proto','port','name','clients','packets','bytes','confidence',"
    "'first_seen','last_seen']\n"
    "assert list(e[0])==['client_ip','server_ip','proto','server_port','service_name',"
    "'packets_c2s','bytes_c2s','packets_s2c','bytes_s2c','sessions','first_seen','last_seen']\n"
    "want=int(sys.argv[2]),int(sys.argv[3]),int(sys.argv[4])\n"
    "assert (len(h),len(s),len(e))==want,(len(h),len(s),len(e))\n"
    "H={x['ip']:x for x in h}\n"
    "if '10.3.0.20' in H:\n"
    "  x=H['10.3.0.20']\n"
    "  assert x['name']=='pc,\"20\"<&>\\\\n\\'x',x\n"
    "  assert x['site']=='office' and x['name_source']=='hosts_file' and x['kind']=='client',x\n"
    "  assert x['packets_out']=='10' and x['first_seen']=='2026-01-01T00:00:00Z',x\n"
    "if '10.0.0.7' in H:\n"
    "  assert H['10.0.0.7']['site']=='' and H['10.0.0.7']['name']=='',H['10.0.0.7']\n"
    "for x in s:\n"
    "  if x['port']=='5432':\n"
    "    assert x['name']=='postgresql' and x['clients']=='2' and x['confidence']=='0.98',x\n"
    "for x in e:\n"
    "  if x['server_port']=='5432' and x['client_ip']=='10.3.0.20':\n"
    "    assert x['packets_c2s']=='10' and x['bytes_s2c']=='20000' and x['proto']=='tcp',x\n"
    "    assert x['service_name']=='postgresql' and x['last_seen']=='2026-01-01T01:00:00Z',x\n";

TEST(csv)
{
    FAIL_IF_NOT(s_need_db() == 0);
    char dir[320], py[320], cmd[1024];
    snprintf(dir, sizeof(dir), "%s.csv/sub", s_db);
    snprintf(py, sizeof(py), "%s.csv.py", s_db);
    FILE *f = fopen(py, "w");
    FAIL_IF_NOT(f);
    fputs(s_csv_py, f);
    fclose(f);
    /* everything, into a directory that does not exist yet (two levels) */
    FAIL_IF_NOT(rep_export_graph(s_db, REP_FORMAT_CSV, NULL, NULL, dir) == 0);
    snprintf(cmd, sizeof(cmd), "python3 %s %s 7 3 4", py, dir);
    FAIL_IF_NOT(system(cmd) == 0);
    /* a filter; the files are replaced */
    const struct rep_filter office = {.site = "office"};
    const struct rep_export_opts o = {.filter = &office};
    FAIL_IF_NOT(rep_export_graph(s_db, REP_FORMAT_CSV, &o, NULL, dir) == 0);
    snprintf(cmd, sizeof(cmd), "python3 %s %s 3 1 2", py, dir);
    FAIL_IF_NOT(system(cmd) == 0);
    /* no temporary files left behind */
    FAIL_IF_NOT(s_sh("test $(ls %s | wc -l) -eq 3", dir) == 0);
    /* a path that cannot be a directory */
    FAIL_IF_NOT(rep_export_graph(s_db, REP_FORMAT_CSV, NULL, NULL, py) != 0);
    const struct rep_filter bad = {.site = "mars"};
    const struct rep_export_opts ob = {.filter = &bad};
    FAIL_IF_NOT(rep_export_graph(s_db, REP_FORMAT_CSV, &ob, NULL, dir) == -EINVAL);
    s_sh("rm -rf %s.csv %s", s_db, py);
    PASS;
}

static const char s_graphml_py[] =
    "import sys,xml.etree.ElementTree as ET\n"
    "N='{http://graphml.graphdrawing.org/xmlns}'\n"
    "r=ET.parse(sys.argv[1]).getroot()\n"
    "assert r.tag==N+'graphml',r.tag\n"
    "keys={k.get('id'):k for k in r.findall(N+'key')}\n"
    "for k in keys.values():\n"
    "  assert k.get('attr.type') in ('string','int','long','double','boolean'),k.attrib\n"
    "  assert k.get('for') in ('node','edge') and k.get('attr.name'),k.attrib\n"
    "g=r.find(N+'graph')\n"
    "assert g.get('edgedefault')=='directed'\n"
    "nodes={n.get('id'):{d.get('key'):d.text for d in n.findall(N+'data')}"
    " for n in g.findall(N+'node')}\n"
    "edges=g.findall(N+'edge')\n"
    "for n in g.findall(N+'node'):\n"
    "  for d in n.findall(N+'data'):\n"
    "    assert d.get('key') in keys and keys[d.get('key')].get('for')=='node',d.attrib\n"
    "for e in edges:\n"
    "  assert e.get('source') in nodes and e.get('target') in nodes,e.attrib\n"
    "  for d in e.findall(N+'data'):\n"
    "    assert d.get('key') in keys and keys[d.get('key')].get('for')=='edge',d.attrib\n"
    "want=int(sys.argv[2]),int(sys.argv[3])\n"
    "assert (len(nodes),len(edges))==want,(len(nodes),len(edges))\n"
    "if '10.3.0.20' in nodes:\n"
    "  x=nodes['10.3.0.20']\n"
    "  assert x['name']=='pc,\"20\"<&>\\\\n\\'x' and x['site']=='office',x\n"
    "  assert x['label']==x['name']+'\\n10.3.0.20',x\n"
    "  assert x['kind']=='client' and x['clients']=='0',x\n"
    "if '172.16.0.10' in nodes:\n"
    "  x=nodes['172.16.0.10']\n"
    "  assert x['clients']=='2' and x['site']=='dc' and x['network']=='172.16.0.0/24',x\n"
    "  assert x.get('outside','false')==sys.argv[4],x\n"
    "for e in edges:\n"
    "  d={x.get('key'):x.text for x in e.findall(N+'data')}\n"
    "  if e.get('source')=='10.3.0.20':\n"
    "    assert e.get('target')=='172.16.0.10' and d['e_port']=='5432',d\n"
    "    assert d['e_proto']=='tcp' and d['e_service']=='postgresql',d\n"
    "    assert d['e_bytes']=='21000' and d['e_packets']=='30' and d['e_sessions']=='1',d\n"
    "    assert d['e_label']=='tcp/5432 (postgresql)',d\n";

TEST(graphml)
{
    FAIL_IF_NOT(s_need_db() == 0);
    char out[320], py[320], cmd[1024];
    snprintf(out, sizeof(out), "%s.graphml", s_db);
    snprintf(py, sizeof(py), "%s.graphml.py", s_db);
    FILE *f = fopen(py, "w");
    FAIL_IF_NOT(f);
    fputs(s_graphml_py, f);
    fclose(f);
    f = fopen(out, "w");
    FAIL_IF_NOT(rep_export_graph(s_db, REP_FORMAT_GRAPHML, NULL, f, NULL) == 0);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "python3 %s %s 7 4 false", py, out);
    FAIL_IF_NOT(system(cmd) == 0);
    /* office: db1 is outside the selection, marked so */
    const struct rep_filter office = {.site = "office"};
    const struct rep_export_opts o = {.filter = &office};
    f = fopen(out, "w");
    FAIL_IF_NOT(rep_export_graph(s_db, REP_FORMAT_GRAPHML, &o, f, NULL) == 0);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "python3 %s %s 3 2 true", py, out);
    FAIL_IF_NOT(system(cmd) == 0);
    unlink(out);
    unlink(py);
    PASS;
}

TEST(dot)
{
    FAIL_IF_NOT(s_need_db() == 0);
    char out[320];
    snprintf(out, sizeof(out), "%s.dot", s_db);
    FILE *f = fopen(out, "w");
    FAIL_IF_NOT(rep_export_graph(s_db, REP_FORMAT_DOT, NULL, f, NULL) == 0);
    fclose(f);
    FAIL_IF_NOT(s_sh("grep -q '^digraph \"renkei\" {' %s", out) == 0);
    FAIL_IF_NOT(s_sh("grep -q 'subgraph \"cluster_site_dc\"' %s", out) == 0);
    FAIL_IF_NOT(s_sh("grep -q 'subgraph \"cluster_net_dc_172.16.0.0/24\"' %s", out) == 0);
    FAIL_IF_NOT(s_sh("grep -q 'subgraph \"cluster_net_10.0.0.0/24\"' %s", out) == 0);
    /* the name escaped for DOT: \" and \\ (written to a file: no shell quoting) */
    char pat[340];
    snprintf(pat, sizeof(pat), "%s.pat", out);
    f = fopen(pat, "w");
    FAIL_IF_NOT(f);
    fputs("\"10.3.0.20\" [label=\"pc,\\\"20\\\"<&>\\\\n'x\\n10.3.0.20\", shape=ellipse];\n", f);
    fclose(f);
    FAIL_IF_NOT(s_sh("grep -qF -f %s %s", pat, out) == 0);
    unlink(pat);
    FAIL_IF_NOT(s_sh("grep -qF '\"10.3.0.20\" -> \"172.16.0.10\" [label=\"tcp/5432 (postgresql)\"]'"
                     " %s",
                     out) == 0);
    FAIL_IF_NOT(s_sh("test $(grep -c -- ' -> ' %s) -eq 4", out) == 0);
    /* around db1: its clients picked, the rest not there; nothing outside */
    const struct rep_filter around = {.around = "172.16.0.10"};
    const struct rep_export_opts o = {.filter = &around};
    f = fopen(out, "w");
    FAIL_IF_NOT(rep_export_graph(s_db, REP_FORMAT_DOT, &o, f, NULL) == 0);
    fclose(f);
    FAIL_IF_NOT(s_sh("test $(grep -c -- ' -> ' %s) -eq 2", out) == 0);
    FAIL_IF(s_sh("grep -q 10.0.0.7 %s", out) == 0);
    FAIL_IF(s_sh("grep -q dashed, %s", out) == 0);
    if (system("command -v dot > /dev/null 2>&1") == 0) {
        f = fopen(out, "w");
        FAIL_IF_NOT(rep_export_graph(s_db, REP_FORMAT_DOT, NULL, f, NULL) == 0);
        fclose(f);
        FAIL_IF_NOT(s_sh("dot -Tsvg %s > %s.svg", out, out) == 0);
        FAIL_IF_NOT(s_sh("grep -q '<svg' %s.svg && rm -f %s.svg", out, out) == 0);
    } else {
        printf("  (dot not installed: rendering not checked)\n");
    }
    unlink(out);
    PASS;
}

static const char s_json_py[] =
    "import json,sys\n"
    "d=json.load(open(sys.argv[1]))\n"
    "assert list(d)==['meta','hosts','services','edges','listening','groups','sites',"
    "'events'],list(d)\n"
    "assert d['sites']==[{'name':'dc','kind':'datacenter','cidrs':['172.16.0.0/16',"
    "'2001:db8::1/128']},{'name':'office','kind':'office','cidrs':['10.3.0.0/16']}],d['sites']\n"
    "h={x['ip']:x for x in d['hosts']}\n"
    "assert list(d['hosts'][0])[:6]==['ip','name','name_source','network','kind','site']\n"
    "want=[int(x) for x in sys.argv[2:6]]\n"
    "got=[len(d['hosts']),len(d['services']),len(d['edges']),len(d['events'])]\n"
    "assert got==want,(got,want)\n"
    "if '172.16.0.10' in h: assert h['172.16.0.10']['site']=='dc'\n"
    "if '2001:db8::1' in h: assert h['2001:db8::1']['site']=='dc'\n"
    "if '2001:db8::20' in h: assert h['2001:db8::20']['site'] is None\n"
    "if '10.3.0.21' in h: assert h['10.3.0.21']['site']=='office'\n";

/* JSON export with options to `out`, then s_json_py with expected counts. */
static int s_json(const struct rep_export_opts *o, const char *out, const char *py,
                  const char *counts)
{
    FILE *f = fopen(out, "w");
    if (!f)
        return -1;
    int rc = rep_export_json_opts(s_db, o, f);
    fclose(f);
    if (rc != 0)
        return rc;
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "python3 %s %s %s", py, out, counts);
    return system(cmd) == 0 ? 0 : -1;
}

TEST(json_sites_and_filters)
{
    FAIL_IF_NOT(s_need_db() == 0);
    char out[320], py[320];
    snprintf(out, sizeof(out), "%s.json", s_db);
    snprintf(py, sizeof(py), "%s.json.py", s_db);
    FILE *f = fopen(py, "w");
    FAIL_IF_NOT(f);
    fputs(s_json_py, f);
    fclose(f);
    FAIL_IF_NOT(s_json(NULL, out, py, "7 3 4 1") == 0);
    const struct rep_filter dc = {.site = "dc"};
    struct rep_export_opts o = {.filter = &dc};
    FAIL_IF_NOT(s_json(&o, out, py, "5 2 3 1") == 0);
    const struct rep_filter ntp = {.cidr = "10.0.0.0/24"};
    o.filter = &ntp;
    FAIL_IF_NOT(s_json(&o, out, py, "2 1 1 0") == 0);
    const struct rep_filter bad = {.site = "mars"};
    o.filter = &bad;
    FAIL_IF_NOT(s_json(&o, out, py, "0 0 0 0") == -EINVAL);
    /* sites given override the table; none: no "sites" array, "site" null */
    struct cmn_sites *empty = cmn_sites_new();
    const struct rep_export_opts oe = {.sites = empty};
    f = fopen(out, "w");
    FAIL_IF_NOT(rep_export_json_opts(s_db, &oe, f) == 0);
    fclose(f);
    cmn_sites_destroy(&empty);
    FAIL_IF_NOT(s_sh("python3 -c \"import json,sys; d=json.load(open(sys.argv[1]));"
                     " assert 'sites' not in d and all(h['site'] is None for h in d['hosts'])\""
                     " %s",
                     out) == 0);
    unlink(out);
    unlink(py);
    PASS;
}

TEST(formats_misc)
{
    enum rep_format fmt;
    FAIL_IF_NOT(rep_format_parse("json", &fmt) == 0 && fmt == REP_FORMAT_JSON);
    FAIL_IF_NOT(rep_format_parse("csv", &fmt) == 0 && fmt == REP_FORMAT_CSV);
    FAIL_IF_NOT(rep_format_parse("graphml", &fmt) == 0 && fmt == REP_FORMAT_GRAPHML);
    FAIL_IF_NOT(rep_format_parse("dot", &fmt) == 0 && fmt == REP_FORMAT_DOT);
    FAIL_IF_NOT(rep_format_parse("xml", &fmt) == -EINVAL);
    FILE *f = fopen("/dev/null", "w");
    FAIL_IF(rep_export_graph("/nonexistent/x.db", REP_FORMAT_DOT, NULL, f, NULL) == 0);
    /* the writers on a graph loaded directly */
    sqlite3 *h;
    struct rep_graph *g = s_graph(&h, NULL);
    struct rep_selection sel;
    FAIL_IF_NOT(g && rep_select(g, NULL, &sel) == 0);
    FAIL_IF_NOT(!sel.filtered && sel.nhosts == 7);
    FAIL_IF_NOT(rep_graphml_write(g, &sel, f) == 0);
    FAIL_IF_NOT(rep_dot_write(g, &sel, f) == 0);
    rep_selection_fini(&sel);
    rep_graph_destroy(&g);
    rep_db_close(&h);
    fclose(f);
    PASS;
}

TEST_MAIN(TEST_ENTRY(sites_table) TEST_ENTRY(graph) TEST_ENTRY(selection) TEST_ENTRY(csv)
              TEST_ENTRY(graphml) TEST_ENTRY(dot) TEST_ENTRY(json_sites_and_filters)
                  TEST_ENTRY(formats_misc))
