#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""renkei export in every format, on the bundled sample with a sites file.

`renkei analyze --sites FILE` on sample/enterprise.pcap, then: the JSON
export carries the sites and each host's site; GraphML parses with
xml.etree in the GraphML namespace with every attribute used declared as a
<key>; `dot -Tsvg` renders the DOT; the CSV files round-trip through the
csv module with as many rows as the JSON arrays; --site, --cidr and
--around select what docs/EXPORT.md says (checked against the full JSON
export by an independent implementation of the rule here), the same in
every format; errors (unknown site, unknown host, bad sites file) exit 2
and say why. Exit 77 when the sample or `dot` is missing (after the rest).
Environment: RENKEI_BIN, RENKEI_SRC (set by CTest).
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

BIN = os.environ.get("RENKEI_BIN", "build/bin")
SRC = os.environ.get("RENKEI_SRC", ".")
RENKEI = os.path.join(BIN, "renkei")
SAMPLE = os.path.join(SRC, "sample", "enterprise.pcap")
G = "{http://graphml.graphdrawing.org/xmlns}"
SITES = """# name     kind        CIDR...
dc-east    datacenter  172.16.0.0/16 2001:db8::/48
office-1   office      10.10.0.0/16
office-1   office      2001:db8:1::/48
lab        lab         10.10.2.0/24
"""

failed = []
passed = [0]


def check(cond, msg):
    if cond:
        passed[0] += 1
        print("ok  ", msg, flush=True)
    else:
        failed.append(msg)
        print("FAIL", msg, flush=True)
    return cond


def run(*args):
    return subprocess.run([RENKEI] + list(args), capture_output=True, text=True, timeout=600)


def export(db, fmt, out, *filters):
    r = run("export", "--db", db, "--format", fmt, "--out", out, *filters)
    if r.returncode != 0:
        print(r.stderr)
    return r.returncode


def ip_key(ip):
    import ipaddress
    a = ipaddress.ip_address(ip)
    return a.packed if a.version == 6 else b"\0" * 10 + b"\xff\xff" + a.packed


def expected(full, picked):
    """The selection rule of docs/EXPORT.md over the full JSON export."""
    edges = [e for e in full["edges"] if e["client_ip"] in picked or e["server_ip"] in picked]
    ends = {e["client_ip"] for e in edges} | {e["server_ip"] for e in edges}
    reached = {(e["server_ip"], e["proto"], e["server_port"]) for e in edges}
    hosts = [h["ip"] for h in full["hosts"] if h["ip"] in picked or h["ip"] in ends]
    svcs = [(s["ip"], s["proto"], s["port"]) for s in full["services"]
            if s["ip"] in picked or (s["ip"], s["proto"], s["port"]) in reached]
    ekeys = [(e["client_ip"], e["server_ip"], e["proto"], e["server_port"]) for e in edges]
    events = [v for v in full["events"] if v["target_ip"] in picked or v.get("actor_ip") in picked]
    return hosts, svcs, ekeys, len(events)


def keys_of(d):
    return ([h["ip"] for h in d["hosts"]],
            [(s["ip"], s["proto"], s["port"]) for s in d["services"]],
            [(e["client_ip"], e["server_ip"], e["proto"], e["server_port"]) for e in d["edges"]],
            len(d["events"]))


def read_csv(d, name):
    with open(os.path.join(d, name), newline="") as f:
        return list(csv.DictReader(f))


def graphml(path):
    """Nodes {id: data}, edges [(source, target, data)]; checks the keys."""
    root = ET.parse(path).getroot()
    assert root.tag == G + "graphml", root.tag
    keys = {k.get("id"): k for k in root.findall(G + "key")}
    graph = root.find(G + "graph")
    assert graph.get("edgedefault") == "directed"
    nodes, edges, undeclared = {}, [], set()
    for n in graph.findall(G + "node"):
        d = {}
        for x in n.findall(G + "data"):
            k = keys.get(x.get("key"))
            if k is None or k.get("for") != "node" or not k.get("attr.type"):
                undeclared.add(x.get("key"))
            d[x.get("key")] = x.text
        nodes[n.get("id")] = d
    for e in graph.findall(G + "edge"):
        d = {}
        for x in e.findall(G + "data"):
            k = keys.get(x.get("key"))
            if k is None or k.get("for") != "edge" or not k.get("attr.type"):
                undeclared.add(x.get("key"))
            d[x.get("key")] = x.text
        edges.append((e.get("source"), e.get("target"), d))
    return nodes, edges, undeclared


def same_everywhere(tmp, db, tag, filters, want):
    """JSON, CSV, GraphML and DOT of one filter hold the same selection `want`."""
    hosts, svcs, ekeys, nev = want
    j = os.path.join(tmp, tag + ".json")
    if not check(export(db, "json", j, *filters) == 0, f"{tag}: json export"):
        return
    got = keys_of(json.load(open(j)))
    check(got == want, f"{tag}: json holds {len(hosts)} hosts, {len(svcs)} services,"
          f" {len(ekeys)} edges, {nev} events as the rule says")
    c = os.path.join(tmp, tag + ".csv")
    if check(export(db, "csv", c, *filters) == 0, f"{tag}: csv export"):
        h, s, e = (read_csv(c, n) for n in ("hosts.csv", "services.csv", "edges.csv"))
        check([x["ip"] for x in h] == hosts and len(s) == len(svcs) and
              [(x["client_ip"], x["server_ip"], x["proto"], int(x["server_port"])) for x in e]
              == ekeys, f"{tag}: csv rows are the json's")
    x = os.path.join(tmp, tag + ".graphml")
    if check(export(db, "graphml", x, *filters) == 0, f"{tag}: graphml export"):
        nodes, edges, und = graphml(x)
        check(sorted(nodes) == sorted(hosts) and len(edges) == len(ekeys) and not und,
              f"{tag}: graphml nodes and edges are the json's")
        picked = {ip for ip in hosts if nodes[ip].get("outside", "false") == "false"}
        outside = {ip for ip in hosts if nodes[ip].get("outside") == "true"}
        want_out = set() if not filters else set(hosts) - set(want_picked[tag])
        check(outside == want_out and picked | outside == set(hosts),
              f"{tag}: graphml marks {len(want_out)} hosts outside the selection")
    d = os.path.join(tmp, tag + ".dot")
    if check(export(db, "dot", d, *filters) == 0, f"{tag}: dot export"):
        text = open(d).read()
        check(text.count(" -> ") == len(ekeys), f"{tag}: dot has {len(ekeys)} edges")
        if shutil.which("dot"):
            r = subprocess.run(["dot", "-Tsvg", d], capture_output=True, text=True)
            check(r.returncode == 0 and "<svg" in r.stdout and not r.stderr.strip(),
                  f"{tag}: dot -Tsvg renders it {r.stderr.strip()[:200]}")


want_picked = {}


def main():
    if not os.path.exists(SAMPLE):
        print("SKIP: no sample capture", SAMPLE)
        return 77
    tmp = tempfile.mkdtemp(prefix="renkei-export-")
    try:
        return body(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def body(tmp):
    sites = os.path.join(tmp, "sites.txt")
    with open(sites, "w") as f:
        f.write(SITES)
    db = os.path.join(tmp, "s.sqlite")
    a = os.path.join(tmp, "a.json")
    r = run("analyze", "--trackers", "2", "--db", db, "--export", a, "--sites", sites, SAMPLE)
    if not check(r.returncode == 0, "renkei analyze --sites on the sample"):
        print(r.stderr[-3000:])
        return 1
    full = json.load(open(a))
    check([s["name"] for s in full.get("sites", [])] == ["dc-east", "office-1", "lab"] and
          full["sites"][1] == {"name": "office-1", "kind": "office",
                               "cidrs": ["10.10.0.0/16", "2001:db8:1::/48"]},
          "json export lists the sites of the file, in order")
    by = {h["ip"]: h for h in full["hosts"]}
    check(all(h["site"] == "lab" for ip, h in by.items() if ip.startswith("10.10.2.")) and
          all(h["site"] == "office-1" for ip, h in by.items() if ip.startswith("10.10.0.")) and
          all(h["site"] == "dc-east" for ip, h in by.items() if ip.startswith("172.16.")) and
          all(h["site"] is None for ip, h in by.items()
              if not ip.startswith(("10.10.", "172.16.", "2001:db8:"))),
          "every host has its longest-prefix site (lab inside office-1) or null")
    b = os.path.join(tmp, "b.json")
    check(export(db, "json", b) == 0 and open(a).read() == open(b).read(),
          "renkei export (sites from the database) reproduces analyze --export")
    # the sites file given to export overrides the database's table
    other = os.path.join(tmp, "other.txt")
    with open(other, "w") as f:
        f.write("everything net 0.0.0.0/0 ::/0\n")
    o = os.path.join(tmp, "o.json")
    check(export(db, "json", o, "--sites", other) == 0 and
          all(h["site"] == "everything" for h in json.load(open(o))["hosts"]),
          "export --sites FILE places hosts in that file's sites")

    # everything, every format
    want_picked["all"] = [h["ip"] for h in full["hosts"]]
    same_everywhere(tmp, db, "all", [], keys_of(full))

    # filters
    office = {ip for ip, h in by.items() if h["site"] == "office-1"}
    want_picked["site"] = sorted(office)
    same_everywhere(tmp, db, "site", ["--site", "office-1"], expected(full, office))
    import ipaddress
    net = ipaddress.ip_network("172.16.0.0/24")
    inside = {ip for ip in by if ipaddress.ip_address(ip) in net}
    want_picked["cidr"] = sorted(inside)
    same_everywhere(tmp, db, "cidr", ["--cidr", "172.16.0.0/24"], expected(full, inside))
    both = inside & {ip for ip, h in by.items() if h["site"] == "dc-east"}
    want_picked["both"] = sorted(both)
    same_everywhere(tmp, db, "both", ["--site", "dc-east", "--cidr", "172.16.0.0/24"],
                    expected(full, both))
    # --around: a breadth-first walk over the full export's edges, either direction
    server = max(full["services"], key=lambda s: s["clients"])["ip"]
    adj = {}
    for e in full["edges"]:
        adj.setdefault(e["client_ip"], set()).add(e["server_ip"])
        adj.setdefault(e["server_ip"], set()).add(e["client_ip"])
    for hops in (1, 2):
        seen, front = {server}, {server}
        for _ in range(hops):
            front = {n for x in front for n in adj.get(x, ())} - seen
            seen |= front
        tag = f"around{hops}"
        want_picked[tag] = sorted(seen)
        same_everywhere(tmp, db, tag, ["--around", server, "--hops", str(hops)],
                        expected(full, seen))
    check(len(want_picked["around1"]) < len(want_picked["around2"]) <= len(by),
          "--hops 2 reaches further than --hops 1")

    # errors
    r = run("export", "--db", db, "--site", "mars")
    check(r.returncode == 2 and "mars" in r.stderr and "dc-east" in r.stderr and
          "office-1" in r.stderr and "lab" in r.stderr,
          "unknown --site: exit 2 naming it and the known sites")
    r = run("export", "--db", db, "--around", "192.0.2.99")
    check(r.returncode == 2 and "192.0.2.99" in r.stderr, "--around a non-host: exit 2")
    r = run("export", "--db", db, "--format", "csv")
    check(r.returncode == 2 and "--out" in r.stderr, "csv without --out DIR: exit 2")
    r = run("export", "--db", db, "--format", "xml")
    check(r.returncode == 2 and "xml" in r.stderr, "unknown --format: exit 2")
    bad = os.path.join(tmp, "bad.txt")
    with open(bad, "w") as f:
        f.write("good datacenter 10.0.0.0/8\n\nbroken-line\n")
    r = run("analyze", "--db", os.path.join(tmp, "bad.sqlite"), "--sites", bad, SAMPLE)
    check(r.returncode == 2 and bad + ":3:" in r.stderr and
          not os.path.exists(os.path.join(tmp, "bad.sqlite")),
          "analyze --sites with a bad line: exit 2 naming file:line, before anything runs")
    r = subprocess.run([os.path.join(BIN, "renkei-merger"), "--insecure-lab", "--listen", "tcp://127.0.0.1:1",
                        "--db", os.path.join(tmp, "m.sqlite"), "--sites-file", bad],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 2 and bad + ":3:" in r.stderr, "renkei-merger sites_file with a bad"
          " line: exit 2 naming file:line")
    r = run("export", "--db", db, "--sites", bad)
    check(r.returncode == 2 and bad + ":3:" in r.stderr, "export --sites with a bad line: exit 2")

    print(f"{passed[0]} passed, {len(failed)} failed")
    if failed:
        return 1
    if not shutil.which("dot"):
        print("SKIP: dot (graphviz) not installed: the DOT files were not rendered")
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
