#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Grade a renkei JSON export against renkei-gen's truth file.

score.py TRUTH.json EXPORT.json [--min-f1 F] [--exact-counts] [--require-events] [-v]

Prints, one figure per line: precision / recall / F1 of services
(ip, proto, port) and of edges (client_ip, server_ip, proto, server_port);
count errors (edges whose packets or bytes differ in either direction, hosts
whose totals differ, meta packets / bytes, groups: broadcast / multicast
traffic with its senders, packets and bytes when the truth lists groups);
sessions mismatches (information only); events matched. Exit status 1 when --min-f1 / --exact-counts /
--require-events are given and not met, 2 on unreadable input.
Python 3 standard library only.
"""
import argparse
import ipaddress
import json
import sys

# Event kinds renkei may use for what the generator calls a port scan.
SCAN_KINDS = {"port_scan", "stealth_scan", "syn_scan", "scan", "tcp_scan"}


def ip_norm(text):
    """RFC 5952 / dotted-quad canonical text, so '2001:DB8::0:1' == '2001:db8::1'."""
    try:
        return str(ipaddress.ip_address(str(text).strip()))
    except ValueError:
        return str(text)


def proto_norm(p):
    p = str(p).lower()
    return {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}.get(p, p)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        print(f"score.py: cannot read {path}: {exc}", file=sys.stderr)
        sys.exit(2)


def svc_key(s):
    return (ip_norm(s["ip"]), proto_norm(s["proto"]), int(s["port"]))


def edge_key(e):
    return (ip_norm(e["client_ip"]), ip_norm(e["server_ip"]), proto_norm(e["proto"]),
            int(e["server_port"]))


def prf(truth, got):
    tp = len(truth & got)
    fp = len(got - truth)
    fn = len(truth - got)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f1, tp, fp, fn


def kind_match(truth_kind, got_kind):
    t, g = str(truth_kind).lower(), str(got_kind).lower()
    if t in SCAN_KINDS:
        return g in SCAN_KINDS
    return t == g


def fmt_key(k):
    return " ".join(str(x) for x in k)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("truth")
    ap.add_argument("export")
    ap.add_argument("--min-f1", type=float, default=None,
                    help="fail unless services F1 and edges F1 are at least this")
    ap.add_argument("--exact-counts", action="store_true",
                    help="fail on any edge, host or meta count error")
    ap.add_argument("--require-events", action="store_true",
                    help="fail unless every truth event is matched")
    ap.add_argument("-v", "--verbose", action="count", default=0,
                    help="list mismatches (up to 20 each; -vv for all)")
    a = ap.parse_args()
    truth, got = load(a.truth), load(a.export)
    limit = None if a.verbose > 1 else 20
    failed = []

    def show(title, items):
        if a.verbose and items:
            print(f"  {title}:")
            for it in sorted(items)[:limit]:
                print(f"    {it}")

    # services
    ts = {svc_key(s): s for s in truth.get("services", [])}
    gs = {svc_key(s): s for s in got.get("services", []) or []}
    p, r, f1, tp, fp, fn = prf(set(ts), set(gs))
    print(f"services truth: {len(ts)}")
    print(f"services exported: {len(gs)}")
    print(f"services precision: {p:.4f}")
    print(f"services recall: {r:.4f}")
    print(f"services F1: {f1:.4f}")
    show("services missing (fn)", [fmt_key(k) for k in set(ts) - set(gs)])
    show("services spurious (fp)", [fmt_key(k) for k in set(gs) - set(ts)])
    svc_f1 = f1
    clients_bad = [k for k in set(ts) & set(gs)
                   if "clients" in gs[k] and int(gs[k]["clients"]) != int(ts[k]["clients"])]
    print(f"services clients mismatches: {len(clients_bad)}")
    show("services clients (truth/export)",
         [f"{fmt_key(k)}: {ts[k]['clients']}/{gs[k]['clients']}" for k in clients_bad])

    # edges
    te = {edge_key(e): e for e in truth.get("edges", [])}
    ge = {edge_key(e): e for e in got.get("edges", []) or []}
    p, r, f1, tp, fp, fn = prf(set(te), set(ge))
    print(f"edges truth: {len(te)}")
    print(f"edges exported: {len(ge)}")
    print(f"edges precision: {p:.4f}")
    print(f"edges recall: {r:.4f}")
    print(f"edges F1: {f1:.4f}")
    show("edges missing (fn)", [fmt_key(k) for k in set(te) - set(ge)])
    show("edges spurious (fp)", [fmt_key(k) for k in set(ge) - set(te)])
    edge_f1 = f1

    fields = ("packets_c2s", "bytes_c2s", "packets_s2c", "bytes_s2c")
    bad_edges, bad_sess = [], []
    for k in set(te) & set(ge):
        t, g = te[k], ge[k]
        diff = [f"{f} {t[f]}/{g.get(f)}" for f in fields if int(t[f]) != int(g.get(f, -1))]
        if diff:
            bad_edges.append(f"{fmt_key(k)}: " + ", ".join(diff))
        if "sessions" in g and int(g["sessions"]) != int(t["sessions"]):
            bad_sess.append(f"{fmt_key(k)}: {t['sessions']}/{g['sessions']}")
    print(f"edge count errors: {len(bad_edges)}")
    show("edge counts (truth/export)", bad_edges)
    print(f"edge sessions mismatches (info): {len(bad_sess)}")
    show("edge sessions (truth/export)", bad_sess)

    # hosts
    th = {ip_norm(h["ip"]): h for h in truth.get("hosts", [])}
    gh = {ip_norm(h["ip"]): h for h in got.get("hosts", []) or []}
    hfields = ("packets_out", "bytes_out", "packets_in", "bytes_in")
    bad_hosts, missing, missing_noise = [], [], 0
    for ip, t in th.items():
        g = gh.get(ip)
        if g is None:
            if t.get("kind") == "noise":
                missing_noise += 1
            else:
                missing.append(ip)
            continue
        diff = [f"{f} {t[f]}/{g.get(f)}" for f in hfields if int(t[f]) != int(g.get(f, -1))]
        if diff:
            bad_hosts.append(f"{ip}: " + ", ".join(diff))
    print(f"hosts truth: {len(th)}")
    print(f"hosts exported: {len(gh)}")
    print(f"host count errors: {len(bad_hosts)}")
    show("host counts (truth/export)", bad_hosts)
    print(f"hosts missing: {len(missing)}")
    show("hosts missing", missing)
    print(f"noise hosts not exported (info): {missing_noise}")

    # groups (broadcast / multicast traffic), when the truth lists them
    group_errors = 0
    if "groups" in truth:
        def gkey(x):
            return (ip_norm(x["group_ip"]), proto_norm(x["proto"]), int(x["port"]))
        tg = {gkey(x): x for x in truth["groups"]}
        gg = {gkey(x): x for x in got.get("groups", []) or []}
        p, r, f1, tp, fp, fn = prf(set(tg), set(gg))
        print(f"groups truth: {len(tg)}")
        print(f"groups exported: {len(gg)}")
        print(f"groups F1: {f1:.4f}")
        show("groups missing (fn)", [fmt_key(k) for k in set(tg) - set(gg)])
        show("groups spurious (fp)", [fmt_key(k) for k in set(gg) - set(tg)])
        bad_groups = []
        for k in set(tg) & set(gg):
            diff = [f"{f} {tg[k][f]}/{gg[k].get(f)}" for f in ("senders", "packets", "bytes")
                    if int(tg[k][f]) != int(gg[k].get(f, -1))]
            if diff:
                bad_groups.append(f"{fmt_key(k)}: " + ", ".join(diff))
        print(f"group count errors: {len(bad_groups)}")
        show("group counts (truth/export)", bad_groups)
        group_errors = len(bad_groups) + len(set(tg) ^ set(gg))

    # meta
    tm, gm = truth.get("meta", {}), got.get("meta", {}) or {}
    meta_bad = 0
    for f in ("packets", "bytes"):
        ok = int(tm.get(f, -1)) == int(gm.get(f, -2))
        meta_bad += not ok
        print(f"meta {f}: {gm.get(f)} of {tm.get(f)}{'' if ok else '  MISMATCH'}")

    # events
    tev, gev = truth.get("events", []), got.get("events", []) or []
    used, matched = set(), 0
    for t in tev:
        for i, g in enumerate(gev):
            if i in used or not kind_match(t["kind"], g.get("kind")):
                continue
            if ip_norm(g.get("target_ip")) != ip_norm(t["target_ip"]):
                continue
            tp_, gp_ = int(t.get("port") or 0), int(g.get("port") or 0)
            if tp_ and gp_ and tp_ != gp_:
                continue
            used.add(i)
            matched += 1
            break
        else:
            if a.verbose:
                print(f"  event missed: {t['kind']} {t['target_ip']} {t.get('port')}")
    print(f"events matched: {matched} of {len(tev)}")
    print(f"events extra (info): {len(gev) - len(used)}")

    count_errors = len(bad_edges) + len(bad_hosts) + len(missing) + meta_bad + group_errors
    print(f"count errors total: {count_errors}")
    if a.min_f1 is not None and (svc_f1 < a.min_f1 or edge_f1 < a.min_f1):
        failed.append(f"F1 below {a.min_f1}")
    if a.exact_counts and count_errors:
        failed.append(f"{count_errors} count errors")
    if a.require_events and matched < len(tev):
        failed.append(f"{len(tev) - matched} events missed")
    print("result: " + ("FAIL (" + "; ".join(failed) + ")" if failed else "PASS"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
