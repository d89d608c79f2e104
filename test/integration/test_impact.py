#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# renkei impact against the generator's truth: a multi-tier enterprise from
# renkei-gen is analysed, then failures of database servers, DNS servers and
# services, a CIDR and a site are judged by `renkei impact` on the database
# and, independently, by a fixpoint over the truth's edges written here (the
# rule of reporter/rep_impact.h in its plainest form). Host and service states
# must agree exactly; the explicit tiers (app servers of a database, their web
# servers, the PCs behind them) are checked by name. Also: hop limits, CSV
# and text formats, and clear errors for bad targets.
# Env (from CTest): RENKEI_BIN = build bin dir.
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

BIN = os.environ.get("RENKEI_BIN") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "../../build/bin")
RENKEI = os.path.join(BIN, "renkei")
GEN = os.path.join(BIN, "renkei-gen")
DB_PORTS = {5432, 3306, 1433}


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


for exe in (RENKEI, GEN):
    if not os.access(exe, os.X_OK):
        print(f"SKIP: {exe} not built")
        sys.exit(77)


def run(*args, expect=0):
    p = subprocess.run(list(args), capture_output=True, text=True)
    if p.returncode != expect:
        fail(f"{' '.join(args)}: exit {p.returncode} (expected {expect})\n{p.stderr}")
    return p


class Truth:
    def __init__(self, path):
        t = json.load(open(path))
        self.hosts = {h["ip"] for h in t["hosts"]}
        self.svcs = {(s["ip"], s["proto"], s["port"]) for s in t["services"]}
        self.edges = [(e["client_ip"], (e["server_ip"], e["proto"], e["server_port"]))
                      for e in t["edges"]]
        self.edges = [e for e in self.edges if e[1] in self.svcs]
        self.uses = {}
        self.clients = {}
        for c, s in self.edges:
            self.uses.setdefault(c, set()).add(s)
            self.clients.setdefault(s, set()).add(c)
        self.by_host = {}
        for s in self.svcs:
            self.by_host.setdefault(s[0], set()).add(s)

    def impact(self, failed_hosts=(), failed_svcs=(), groups=()):
        """Fixpoint: a host is impaired when one of its dependencies is down
        and no other server of the same proto/port it used (or of a declared
        group) is up; the services of impaired hosts are down."""
        failed = set(failed_hosts)
        lost = {s for s in self.svcs if s[0] in failed} | set(failed_svcs)
        impaired = set()
        while True:
            down = lost | {s for h in impaired for s in self.by_host.get(h, ())}

            def alt(h, s):
                for o in self.uses.get(h, ()):
                    if o != s and o[1:] == s[1:] and o[0] != h and o not in down:
                        return True
                for g in groups:
                    if s in g and any(o != s and o not in down and o[0] != h for o in g):
                        return True
                return False

            new = {h for h, uses in self.uses.items() if h not in failed and
                   any(s in down and not alt(h, s) for s in uses)}
            if new == impaired:
                break
            impaired = new
        degraded = {h for h, uses in self.uses.items() if h not in failed and
                    h not in impaired and any(s in down for s in uses)}
        states = {h: "failed" for h in failed}
        states.update({h: "impaired" for h in impaired})
        states.update({h: "degraded" for h in degraded})
        svc_states = {s: "lost" for s in lost}
        for s in down - lost:
            svc_states[s] = "impaired"
        return states, svc_states


def renkei_impact(db, targets, *extra, fmt="json"):
    args = [RENKEI, "impact", "--db", db, "--format", fmt]
    for t in targets:
        args += ["--fail", t]
    p = run(*args, *extra)
    return json.loads(p.stdout) if fmt == "json" else p.stdout


def states_of(res):
    hosts = {h["ip"]: h["state"] for h in res["hosts"]}
    svcs = {(s["ip"], s["proto"], s["port"]): s["state"] for s in res["services"]}
    return hosts, svcs


def compare(name, res, want_hosts, want_svcs):
    got_hosts, got_svcs = states_of(res)
    if got_hosts != want_hosts:
        diff = sorted(set(got_hosts.items()) ^ set(want_hosts.items()))[:10]
        fail(f"{name}: host states differ from the truth's (first differences: {diff})")
    if got_svcs != want_svcs:
        diff = sorted(set(got_svcs.items()) ^ set(want_svcs.items()))[:10]
        fail(f"{name}: service states differ from the truth's (first differences: {diff})")
    # every affected host explains itself with a chain that starts at a failure
    for h in res["hosts"]:
        ch = h["chain"]
        if not ch or ch[-1]["ip"] != h["ip"] or ch[0]["state"] not in ("failed", "lost"):
            fail(f"{name}: bad chain for {h['ip']}: {ch}")
    n = len([s for s in want_hosts.values() if s != "failed"])
    print(f"ok {name}: {len(want_svcs)} services down, {n} hosts affected")


def main():
    tmp = tempfile.mkdtemp(prefix="renkei_impact_")
    pcap, truth, db = (os.path.join(tmp, n) for n in ("g.pcap", "g.json", "g.sqlite"))
    run(GEN, "--seed", "21", "--packets", "60000", "--pcs", "150", "--servers", "30",
        "--out", pcap, "--truth", truth)
    run(RENKEI, "analyze", "--trackers", "2", "--db", db, pcap)
    T = Truth(truth)

    # 1. every database server: its apps, their web tier, the PCs behind them
    dbs = sorted({s for s in T.svcs if s[1] == "tcp" and s[2] in DB_PORTS})
    if len(dbs) < 2:
        fail(f"generator made {len(dbs)} database services, expected several")
    for s in dbs:
        res = renkei_impact(db, [s[0]])
        want_h, want_s = T.impact(failed_hosts=[s[0]])
        compare(f"fail database {s[0]}", res, want_h, want_s)
        apps = T.clients[s]
        got, _ = states_of(res)
        if not apps or any(got.get(a) != "impaired" for a in apps):
            fail(f"database {s[0]}: its app servers {sorted(apps)} are not all impaired")
        webs = {c for a in apps for sv in T.by_host.get(a, ()) for c in T.clients.get(sv, ())
                if c in T.by_host}
        for w in webs:
            if got.get(w) != "impaired":
                fail(f"database {s[0]}: web server {w} using its app is {got.get(w)}")
        pcs = {c for w in webs for sv in T.by_host[w] for c in T.clients.get(sv, ())
               if c not in T.by_host}
        if not pcs or any(got.get(p) not in ("impaired", "degraded") for p in pcs):
            fail(f"database {s[0]}: PCs behind its web tier not all affected")
        print(f"   {len(apps)} app, {len(webs)} web servers, {len(pcs)} PCs named")

    # 2. DNS: one server's service degrades the PCs that used both; both lose
    dns = sorted(s for s in T.svcs if s[1:] == ("udp", 53))
    if len(dns) != 2:
        fail(f"expected two DNS servers, found {dns}")
    one = f"{dns[0][0]}:udp/53"
    res = renkei_impact(db, [one])
    want_h, want_s = T.impact(failed_svcs=[dns[0]])
    compare(f"fail {one}", res, want_h, want_s)
    deg = [h for h in res["hosts"] if h["state"] == "degraded"]
    if not deg:
        fail("failing one DNS server degraded nobody")
    for h in deg:
        alts = [d["alternative"] for d in h["dependencies"] if d["alternative"]]
        if not alts or alts[0]["ip"] != dns[1][0]:
            fail(f"{h['ip']}: alternative should be {dns[1][0]}, got {alts}")
    res = renkei_impact(db, [f"{dns[0][0]}:udp/53", f"{dns[1][0]}:udp/53"])
    want_h, want_s = T.impact(failed_svcs=dns)
    compare("fail both DNS services", res, want_h, want_s)
    users = T.clients[dns[0]] | T.clients[dns[1]]
    got, _ = states_of(res)
    if any(got.get(u) != "impaired" for u in users):
        fail("failing both DNS servers left a DNS client with an alternative")
    # declared group: the second DNS stands in for every client of the first
    res = renkei_impact(db, [one], "--alt", f"{dns[0][0]}:udp/53,{dns[1][0]}:udp/53")
    want_h, want_s = T.impact(failed_svcs=[dns[0]], groups=[set(dns)])
    compare(f"fail {one} with a declared DNS group", res, want_h, want_s)

    # 3. a CIDR, and a site from a sites file
    sites = os.path.join(tmp, "sites")
    with open(sites, "w") as f:
        f.write("dc-east datacenter 172.16.0.0/16 2001:db8::/48\n"
                "offices office 10.0.0.0/8 2001:db8:1::/48\n")
    res = renkei_impact(db, ["172.16.0.16/29"])
    fh = {h for h in T.hosts if h.startswith("172.16.0.") and 16 <= int(h.split(".")[3]) < 24}
    want_h, want_s = T.impact(failed_hosts=fh)
    compare("fail 172.16.0.16/29", res, want_h, want_s)
    res = renkei_impact(db, ["@dc-east"], "--sites", sites)
    fh = {h for h in T.hosts if h.startswith("172.16.") or h.startswith("2001:db8::")
          or h.startswith("2001:db8:0:")}
    want_h, want_s = T.impact(failed_hosts=fh)
    compare("fail @dc-east", res, want_h, want_s)
    if res["summary"]["sites"] != 2 or res["targets"][0]["kind"] != "site":
        fail(f"site failure summary: {res['summary']}, {res['targets']}")

    # 4. one hop: only the direct clients of what failed
    res = renkei_impact(db, [dbs[0][0]], "--hops", "1")
    got, _ = states_of(res)
    direct = {c for c in T.clients[dbs[0]]}
    if {h for h, s in got.items() if s != "failed"} != direct:
        fail(f"--hops 1: affected {sorted(got)} != direct clients {sorted(direct)}")
    print("ok --hops 1")

    # 5. formats
    out = renkei_impact(db, [dbs[0][0]], fmt="csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    full = renkei_impact(db, [dbs[0][0]])
    if len([r for r in rows if r["record"] == "host"]) != len(full["hosts"]) or \
       len([r for r in rows if r["record"] == "whole_service"]) != len(full["whole_services"]):
        fail("CSV rows do not match the JSON result")
    text = renkei_impact(db, [dbs[0][0]], fmt="text")
    if "Services lost:" not in text or "->" not in text:
        fail("text output lacks its sections")
    outf = os.path.join(tmp, "impact.json")
    run(RENKEI, "impact", "--db", db, "--fail", dbs[0][0], "--format", "json", "--out", outf)
    json.load(open(outf))
    print("ok formats")

    # 6. errors name what was wrong
    for bad, msg in (("172.31.9.9", "no host 172.31.9.9"), ("@mars", "unknown site 'mars'"),
                     (f"{dbs[0][0]}:tcp/1", "no service tcp/1"), ("10.0.0.0/99", "bad CIDR")):
        p = run(RENKEI, "impact", "--db", db, "--fail", bad, expect=2)
        if msg not in p.stderr:
            fail(f"--fail {bad}: message '{p.stderr.strip()}' lacks '{msg}'")
    p = run(RENKEI, "impact", "--db", db, expect=2)
    p = run(RENKEI, "impact", "--db", db, "--fail", dbs[0][0], "--format", "xml", expect=2)
    p = run(RENKEI, "impact", "--db", db, "--fail", dbs[0][0], "--since", "yesterday",
            expect=2)
    if "--since 'yesterday'" not in p.stderr:
        fail(f"bad --since message: {p.stderr}")
    print("ok errors")

    # 7. a period: the last 30 s of the 60 s capture (one epoch: the usage
    # history of a run that never crossed an epoch boundary must still be
    # dated by its packets) judge from the usage rows, with the same result
    res = renkei_impact(db, [dns[0][0]], "--since", "30s")
    if res["period"]["since"] is None or res["period"]["resolution_s"] <= 0:
        fail(f"period not applied: {res['period']}")
    whole = renkei_impact(db, [dns[0][0]])
    used = {(s["ip"], s["proto"], s["port"]): s["state"] for s in whole["services"]
            if s["clients"] > 0}
    if states_of(res)[0] != states_of(whole)[0] or states_of(res)[1] != used or \
       res["summary"]["services_lost"] == 0:
        fail(f"period result differs from the whole run's: {res['summary']}")
    p = run(RENKEI, "impact", "--db", db, "--fail", dns[0][0], "--since", "2025-01-01",
            expect=2)
    if "oldest usage history" not in p.stderr:
        fail(f"a period before the history: {p.stderr}")
    print("ok period")
    shutil.rmtree(tmp)
    print("PASS")


main()
