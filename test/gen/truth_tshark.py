#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Cross-check renkei-gen's truth against tshark's reading of the capture.

truth_tshark.py TRUTH.json CAPTURE.pcap [--dup DUP.pcap] [--export OUT.json]

tshark (not our code) parses every packet; each is attributed with the truth's
own service list: a packet to (ip, proto, port) of a service from one of its
clients is client->server, the reverse is server->client, anything else is
noise (scans, spoofed floods). Later IPv4 fragments carry no ports and take
them from their first fragment (same src, dst, id). Per-edge packets / IP
bytes per direction, per-host totals and meta totals must equal the truth.
A TCP session (5-tuple) that is only a probe adds nothing to its edge, as
in renkei's edge rule (docs/SCHEMA.md, merger/mrg_rule.h MRG_PROBE_AB): the
client sent only pure SYNs and RSTs; or no SYN and no ACK while the server
sent only RSTs; or the handshake was completed, closed by the client and
nothing but its ACK and the close sent.
--export writes what was counted in the export format, so score.py can be
checked against it (it must score perfectly). --dup checks the redundant copy:
same packets and IP lengths, TTL / hop limit one lower, a different VLAN, a
timestamp a few microseconds later. Exit 0 when all agree.
"""
import argparse
import ipaddress
import json
import subprocess
import sys
from collections import defaultdict

FIELDS = ["frame.time_epoch", "vlan.id", "ip.src", "ip.dst", "ip.len", "ip.proto", "ip.id",
          "ip.frag_offset", "ip.flags.mf", "ip.ttl", "ipv6.src", "ipv6.dst", "ipv6.plen",
          "ipv6.nxt", "ipv6.hlim", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
          "tcp.flags"]
PROTO = {"6": "tcp", "17": "udp"}


def norm(text):
    return str(ipaddress.ip_address(text))


def rows(path):
    cmd = ["tshark", "-n", "-r", path, "-o", "ip.defragment:FALSE", "-o",
           "tcp.desegment_tcp_streams:FALSE", "-T", "fields", "-E", "occurrence=f",
           "-E", "separator=\t"]
    for f in FIELDS:
        cmd += ["-e", f]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        sys.exit(f"truth_tshark: tshark failed on {path}: {res.stderr.strip()}")
    for line in res.stdout.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(FIELDS) - len(cols))
        yield dict(zip(FIELDS, cols))


def packet(r, frag_ports):
    """(src, dst, proto, sport, dport, ip_bytes) with fragment ports resolved."""
    if r["ip.src"]:
        src, dst = r["ip.src"], r["ip.dst"]
        ipb = int(r["ip.len"])
        proto = PROTO.get(r["ip.proto"], r["ip.proto"])
        off = int(r["ip.frag_offset"] or 0)
        mf = r["ip.flags.mf"] in ("1", "True")
        fkey = (src, dst, r["ip.id"], proto)
    else:
        src, dst = norm(r["ipv6.src"]), norm(r["ipv6.dst"])
        ipb = int(r["ipv6.plen"]) + 40
        proto = PROTO.get(r["ipv6.nxt"], r["ipv6.nxt"])
        off, mf, fkey = 0, False, None
    if proto in ("1", "58"):  # an ICMP error: its ports are the quoted datagram's
        return src, dst, "icmp", 0, 0, ipb
    sp = r["tcp.srcport"] or r["udp.srcport"]
    dp = r["tcp.dstport"] or r["udp.dstport"]
    if off:
        sp, dp = frag_ports.get(fkey, ("", ""))
    elif mf:
        frag_ports[fkey] = (sp, dp)
    return src, dst, proto, int(sp or 0), int(dp or 0), ipb


def group_of(src, dst):
    """dst when it is a broadcast / multicast address seen from src (the
    limited broadcast, src's own /24 broadcast, 224.0.0.0/4, ff00::/8)."""
    d = ipaddress.ip_address(dst)
    if d.is_multicast or dst == "255.255.255.255":
        return dst
    if d.version == 4 and dst.endswith(".255") and src.rsplit(".", 1)[0] == dst.rsplit(".", 1)[0]:
        return dst
    return None


def is_probe(c, v):
    """c, v: counters [pkts, syn, synack, ack, fin, rst] of the client and the
    server in one TCP session."""
    pk, syn, sa, ack, fin, rst = c
    if pk - (syn - sa) - rst <= 0:
        return True
    if ack == 0 and syn == 0 and v[0] == v[5]:
        return True
    return (v[2] > 0 and syn > sa and rst + fin > 0
            and pk - syn - rst - fin - min(v[4], 1) <= 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("truth")
    ap.add_argument("pcap")
    ap.add_argument("--dup")
    ap.add_argument("--export")
    a = ap.parse_args()
    with open(a.truth, encoding="utf-8") as f:
        truth = json.load(f)

    services = {(norm(s["ip"]), s["proto"], s["port"]) for s in truth["services"]}
    clients = {(norm(e["client_ip"]), norm(e["server_ip"]), e["proto"], e["server_port"])
               for e in truth["edges"]}
    edges = defaultdict(lambda: [0, 0, 0, 0, set()])
    hosts = defaultdict(lambda: [0, 0, 0, 0])
    meta = [0, 0]
    frag_ports = {}
    prim = []
    cand = []  # (edge key, direction, session key, ip bytes, client port)
    sess = defaultdict(lambda: [[0] * 6, [0] * 6])
    groups = defaultdict(lambda: [set(), 0, 0])
    for r in rows(a.pcap):
        src, dst, proto, sp, dp, ipb = packet(r, frag_ports)
        prim.append((r, ipb))
        grp = group_of(src, dst) if proto == "udp" else None
        if grp:
            gr = groups[(grp, proto, dp)]
            gr[0].add(src)
            gr[1] += 1
            gr[2] += ipb
        meta[0] += 1
        meta[1] += ipb
        hosts[src][0] += 1
        hosts[src][1] += ipb
        hosts[dst][2] += 1
        hosts[dst][3] += ipb
        if (dst, proto, dp) in services and (src, dst, proto, dp) in clients:
            d, key, sk, cp = 0, (src, dst, proto, dp), (src, sp, dst, dp, proto), sp
        elif (src, proto, sp) in services and (dst, src, proto, sp) in clients:
            d, key, sk, cp = 1, (dst, src, proto, sp), (dst, dp, src, sp, proto), dp
        else:
            continue
        cand.append((key, d, sk, ipb, cp))
        if proto == "tcp":
            fl = int(r["tcp.flags"] or "0", 0)
            k = sess[sk][d]
            k[0] += 1
            k[1] += fl & 2 != 0
            k[2] += fl & 0x12 == 0x12
            k[3] += fl & 0x10 != 0
            k[4] += fl & 1 != 0
            k[5] += fl & 4 != 0
    for key, d, sk, ipb, cp in cand:
        if key[2] == "tcp" and is_probe(*sess[sk]):
            continue
        e = edges[key]
        e[2 * d] += 1
        e[2 * d + 1] += ipb
        e[4].add(cp)

    errors = 0
    for t in truth["edges"]:
        k = (norm(t["client_ip"]), norm(t["server_ip"]), t["proto"], t["server_port"])
        got = edges.get(k, [0, 0, 0, 0, set()])
        want = [t["packets_c2s"], t["bytes_c2s"], t["packets_s2c"], t["bytes_s2c"]]
        if got[:4] != want or len(got[4] - {0}) != t["sessions"]:
            errors += 1
            if errors <= 10:
                print(f"edge {k}: tshark {got[:4]} sessions {len(got[4] - {0})}, "
                      f"truth {want} sessions {t['sessions']}")
    herr = 0
    for h in truth["hosts"]:
        want = [h["packets_out"], h["bytes_out"], h["packets_in"], h["bytes_in"]]
        if hosts.get(norm(h["ip"])) != want:
            herr += 1
            if herr <= 10:
                print(f"host {h['ip']}: tshark {hosts.get(norm(h['ip']))}, truth {want}")
    if len(hosts) != len(truth["hosts"]):
        herr += 1
        print(f"hosts: tshark sees {len(hosts)}, truth lists {len(truth['hosts'])}")
    merr = meta != [truth["meta"]["packets"], truth["meta"]["bytes"]]
    print(f"tshark packets: {meta[0]} (truth {truth['meta']['packets']})")
    print(f"tshark IP bytes: {meta[1]} (truth {truth['meta']['bytes']})")
    print(f"edges checked: {len(truth['edges'])}, mismatched: {errors}")
    print(f"hosts checked: {len(truth['hosts'])}, mismatched: {herr}")
    bad = errors + herr + merr
    if "groups" in truth:
        want = {(norm(g["group_ip"]), g["proto"], g["port"]): [g["senders"], g["packets"],
                                                               g["bytes"]]
                for g in truth["groups"]}
        got = {k: [len(v[0]), v[1], v[2]] for k, v in groups.items()}
        if want != got:
            bad += 1
            print(f"groups: tshark {sorted(got.items())}, truth {sorted(want.items())}")
        print(f"groups checked: {len(want)}")

    if a.dup:
        derr = 0
        drows = list(rows(a.dup))
        if len(drows) != len(prim):
            derr += 1
            print(f"dup: {len(drows)} packets, primary {len(prim)}")
        for (p, pb), d in zip(prim, drows):
            dfr = {}
            db = packet(d, dfr)[5]
            pt = int(p["ip.ttl"] or p["ipv6.hlim"])
            dt = int(d["ip.ttl"] or d["ipv6.hlim"])
            shift = float(d["frame.time_epoch"]) - float(p["frame.time_epoch"])
            if db != pb or dt != pt - 1 or d["vlan.id"] == p["vlan.id"] or not -1e-6 < shift < 1e-4:
                derr += 1
                if derr <= 5:
                    print(f"dup mismatch: bytes {pb}/{db} ttl {pt}/{dt} vlan "
                          f"{p['vlan.id']}/{d['vlan.id']} shift {shift:.7f}")
        print(f"dup packets checked: {len(drows)}, mismatched: {derr}")
        bad += derr

    if a.export:
        out = {"meta": {"packets": meta[0], "bytes": meta[1]}, "events": truth["events"],
               "services": [], "edges": [], "hosts": []}
        per_svc = defaultdict(int)
        for (c, s, proto, port), e in edges.items():
            per_svc[(s, proto, port)] += 1
            out["edges"].append({"client_ip": c, "server_ip": s, "proto": proto,
                                 "server_port": port, "packets_c2s": e[0], "bytes_c2s": e[1],
                                 "packets_s2c": e[2], "bytes_s2c": e[3],
                                 "sessions": len(e[4] - {0})})
        for (s, proto, port), n in per_svc.items():
            out["services"].append({"ip": s, "proto": proto, "port": port, "clients": n})
        # services without a client of their own (the well-known client port of a
        # server-to-server edge, ntp 123<->123) come from the truth as they are
        for s in truth["services"]:
            if int(s["clients"]) == 0 and (norm(s["ip"]), s["proto"], s["port"]) not in per_svc:
                out["services"].append(dict(s))
        for ip, h in hosts.items():
            out["hosts"].append({"ip": ip, "packets_out": h[0], "bytes_out": h[1],
                                 "packets_in": h[2], "bytes_in": h[3]})
        with open(a.export, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
    print("result: " + ("PASS" if not bad else "FAIL"))
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
