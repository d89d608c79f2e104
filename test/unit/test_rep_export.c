/* SPDX-License-Identifier: MIT
 * test_rep_export: builds a small database through mrg_db (a postgres
 * server, its clients, an ntp pair, an IPv6 web server, a flood event, a
 * host name that needs escaping), exports it and checks the JSON against
 * EXPORT_SCHEMA.md with python3, plus determinism and error paths.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmn_ip.h"
#include "harness.h"
#include "mrg_db.h"
#include "rep_export.h"
#include "rep_ports.h"

#define NS 1000000000ull

/* Remove a database and its WAL side files. */
static void s_rm(const char *db)
{
    char x[320];
    unlink(db);
    snprintf(x, sizeof(x), "%s-wal", db);
    unlink(x);
    snprintf(x, sizeof(x), "%s-shm", db);
    unlink(x);
}

static struct cmn_session_rec s_sess(const char *a, uint16_t ap, const char *b, uint16_t bp,
                                     uint8_t proto, uint64_t pab, uint64_t pba)
{
    struct cmn_session_rec r;
    memset(&r, 0, sizeof(r));
    cmn_ip_parse(a, r.a_ip);
    cmn_ip_parse(b, r.b_ip);
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

static struct cmn_endpoint_rec s_ep(const char *ip, uint8_t proto, uint16_t port, uint8_t role,
                                    float conf)
{
    struct cmn_endpoint_rec e;
    memset(&e, 0, sizeof(e));
    cmn_ip_parse(ip, e.ip);
    e.proto = proto;
    e.port = port;
    e.role = role;
    e.confidence = conf;
    e.first_ns = 1767225600ull * NS;
    e.last_ns = 1767229200ull * NS;
    return e;
}

/* Build the test database at `path`. */
static int s_build(const char *path)
{
    char hf[300];
    if (snprintf(hf, sizeof(hf), "%s.hosts", path) >= (int)sizeof(hf))
        return -1;
    FILE *f = fopen(hf, "w");
    if (!f)
        return -1;
    fputs("172.16.0.10 db1.example\n10.3.0.20 pc\"20\\x\n", f);
    fclose(f);
    struct mrg_db *db = mrg_db_open(path);
    if (!db)
        return -1;
    struct cmn_session_rec s[] = {
        s_sess("10.3.0.20", 50000, "172.16.0.10", 5432, 6, 10, 20),
        s_sess("10.3.0.21", 50000, "172.16.0.10", 5432, 6, 5, 5),
        s_sess("10.0.0.7", 123, "10.0.0.8", 123, 17, 1, 1),
        s_sess("2001:db8::1", 443, "2001:db8::20", 61000, 6, 7, 3),
        s_sess("10.3.0.20", 0x0800, "172.16.0.10", 0, 1, 1, 1),
    };
    s[3].flags = CMN_SESS_B_INIT;
    struct cmn_endpoint_rec e[] = {
        s_ep("172.16.0.10", 6, 5432, CMN_ROLE_SERVER, 0.98f),
        s_ep("10.0.0.7", 17, 123, CMN_ROLE_SERVER, 0.5f),
        s_ep("10.0.0.8", 17, 123, CMN_ROLE_SERVER, 0.5f),
        s_ep("2001:db8::1", 6, 443, CMN_ROLE_SERVER, 1.0f),
    };
    struct cmn_event_rec ev;
    memset(&ev, 0, sizeof(ev));
    cmn_ip_parse("172.16.0.10", ev.target_ip);
    ev.port = 5432;
    ev.kind = CMN_EVENT_SYN_FLOOD;
    ev.proto = 6;
    ev.source_count = 300;
    ev.packets = 5000;
    ev.first_ns = 1767225600ull * NS;
    ev.last_ns = 1767225660ull * NS;
    struct mrg_part part = {.sessions = s,
                            .n_sessions = 5,
                            .endpoints = e,
                            .n_endpoints = 4,
                            .events = &ev,
                            .n_events = 1};
    int rc = mrg_db_commit_epoch(db, 0, 60 * NS, true, &part, 1, NULL);
    if (rc == 0 && mrg_db_load_hosts_file(db, hf) != 2)
        rc = -1;
    if (rc == 0)
        rc = mrg_db_meta_set_u64(db, "duplicates_removed", 3);
    mrg_db_close(&db);
    unlink(hf);
    return rc;
}

static const char s_check_py[] =
    "import json,sys\n"
    "d=json.load(open(sys.argv[1]))\n"
    "assert set(d)=={'meta','hosts','services','edges','listening','groups','events'},d.keys()\n"
    "m=d['meta']\n"
    "assert m['first_seen']=='2026-01-01T00:00:00Z',m\n"
    "assert m['last_seen']=='2026-01-01T01:00:00Z',m\n"
    "assert m['packets']==54 and isinstance(m['packets'],int),m\n"
    "assert m['duplicates_removed']==3 and m['records_lost']==0,m\n"
    "assert isinstance(m['renkei_version'],str)\n"
    "h={x['ip']:x for x in d['hosts']}\n"
    "assert list(h)==['10.0.0.7','10.0.0.8','10.3.0.20','10.3.0.21','172.16.0.10',"
    "'2001:db8::1','2001:db8::20'],list(h)\n"
    "assert h['172.16.0.10']['name']=='db1.example' and h['172.16.0.10']['kind']=='server'\n"
    "assert h['172.16.0.10']['network']=='172.16.0.0/24'\n"
    "assert h['10.3.0.20']['name']=='pc\"20\\\\x',h['10.3.0.20']\n"
    "assert h['10.3.0.21']['name'] is None and h['10.3.0.21']['kind']=='client'\n"
    "assert h['10.0.0.7']['kind']=='both' and h['10.0.0.8']['kind']=='server'\n"
    "assert h['2001:db8::1']['network']=='2001:db8::/64',h['2001:db8::1']\n"
    "assert h['10.3.0.20']['packets_out']==11 and h['10.3.0.20']['bytes_in']==21000\n"
    "for x in d['hosts']:\n"
    "  assert set(x)>={'ip','name','network','kind','packets_out','bytes_out','packets_in',"
    "'bytes_in'}\n"
    "s={(x['ip'],x['proto'],x['port']):x for x in d['services']}\n"
    "pg=s[('172.16.0.10','tcp',5432)]\n"
    "assert pg['name']=='postgresql' and pg['clients']==2 and pg['packets']==40,pg\n"
    "assert pg['bytes']==10*100+20*1000+5*100+5*1000 and abs(pg['confidence']-0.98)<1e-6,pg\n"
    "assert pg['first_seen']=='2026-01-01T00:00:00Z'\n"
    "assert s[('10.0.0.8','udp',123)]['name']=='ntp'\n"
    /* the initiator's 123 served nobody: not a service (a service has a client) */
    "assert ('10.0.0.7','udp',123) not in s and all(x['clients']>0 for x in d['services'])\n"
    "assert s[('2001:db8::1','tcp',443)]['name']=='https'\n"
    "assert all(x['proto']!='icmp' for x in d['services'])\n"
    "e={(x['client_ip'],x['server_ip'],x['proto'],x['server_port']):x for x in d['edges']}\n"
    "assert len(e)==4,e\n"
    "x=e[('10.3.0.20','172.16.0.10','tcp',5432)]\n"
    "assert x['packets_c2s']==10 and x['packets_s2c']==20 and x['bytes_c2s']==1000,x\n"
    "assert x['bytes_s2c']==20000 and x['sessions']==1,x\n"
    "assert ('10.0.0.7','10.0.0.8','udp',123) in e\n"
    "x=e[('2001:db8::20','2001:db8::1','tcp',443)]\n"
    "assert x['packets_c2s']==3 and x['packets_s2c']==7,x\n"
    "ev=d['events'][0]\n"
    "assert ev['kind']=='syn_flood' and ev['target_ip']=='172.16.0.10' and ev['port']==5432\n"
    "assert ev['source_count']==300 and ev['packets']==5000\n"
    "assert ev['last_seen']=='2026-01-01T00:01:00Z'\n";

TEST(export_structure)
{
    char db[256], out[300], py[300], cmd[1024];
    snprintf(db, sizeof(db), "/tmp/renkei_test_rep_export_%d.db", (int)getpid());
    s_rm(db);
    FAIL_IF_NOT(s_build(db) == 0);
    snprintf(out, sizeof(out), "%s.json", db);
    FILE *f = fopen(out, "w");
    FAIL_IF_NOT(f);
    FAIL_IF_NOT(rep_export_json(db, f) == 0);
    fclose(f);
    snprintf(py, sizeof(py), "%s.py", db);
    f = fopen(py, "w");
    fputs(s_check_py, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "python3 -m json.tool %s > /dev/null && python3 %s %s", out, py,
             out);
    int rc = system(cmd);
    FAIL_IF_NOT(rc == 0);
    /* deterministic: a second export is byte-identical */
    char out2[300];
    snprintf(out2, sizeof(out2), "%s.2.json", db);
    f = fopen(out2, "w");
    FAIL_IF_NOT(rep_export_json(db, f) == 0);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "cmp -s %s %s", out, out2);
    FAIL_IF_NOT(system(cmd) == 0);
    unlink(out);
    unlink(out2);
    unlink(py);
    s_rm(db);
    PASS;
}

TEST(export_errors)
{
    FILE *f = fopen("/dev/null", "w");
    FAIL_IF(rep_export_json("/nonexistent/dir/x.db", f) == 0);
    char p[256];
    snprintf(p, sizeof(p), "/tmp/renkei_test_rep_export_bad_%d.db", (int)getpid());
    FILE *g = fopen(p, "w");
    fputs("not a database at all, just text, long enough to be read as a header....\n", g);
    fclose(g);
    FAIL_IF(rep_export_json(p, f) == 0);
    s_rm(p);
    fclose(f);
    PASS;
}

TEST(empty_export)
{
    char db[256], out[300], cmd[700];
    snprintf(db, sizeof(db), "/tmp/renkei_test_rep_export_empty_%d.db", (int)getpid());
    s_rm(db);
    struct mrg_db *m = mrg_db_open(db);
    FAIL_IF_NOT(m);
    mrg_db_close(&m);
    snprintf(out, sizeof(out), "%s.json", db);
    FILE *f = fopen(out, "w");
    FAIL_IF_NOT(rep_export_json(db, f) == 0);
    fclose(f);
    snprintf(cmd, sizeof(cmd),
             "python3 -c \"import json,sys; d=json.load(open(sys.argv[1]));"
             " assert d['hosts']==[] and d['meta']['first_seen'] is None\" %s",
             out);
    FAIL_IF_NOT(system(cmd) == 0);
    unlink(out);
    s_rm(db);
    PASS;
}

TEST(port_names)
{
    char b[64];
    FAIL_IF_NOT(rep_port_name(6, 5432, b, sizeof(b)) &&
                strcmp(rep_port_name(6, 5432, b, sizeof(b)), "postgresql") == 0);
    FAIL_IF_NOT(rep_port_name(17, 53, b, sizeof(b)) &&
                strcmp(rep_port_name(17, 53, b, sizeof(b)), "domain") == 0);
    FAIL_IF_NOT(rep_port_name(6, 1433, b, sizeof(b)) != NULL);
    FAIL_IF_NOT(rep_port_name(6, 3389, b, sizeof(b)) != NULL);
    FAIL_IF(rep_port_name(1, 8, b, sizeof(b)) != NULL);
    FAIL_IF(rep_port_name(6, 0, b, sizeof(b)) != NULL);
    FAIL_IF(rep_port_name(6, 47123, b, sizeof(b)) != NULL);
    PASS;
}

TEST_MAIN(TEST_ENTRY(export_structure) TEST_ENTRY(export_errors) TEST_ENTRY(empty_export)
              TEST_ENTRY(port_names))
