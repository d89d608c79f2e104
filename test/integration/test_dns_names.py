#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Passive DNS end to end: `renkei analyze` on captures with DNS answers
(UDP and TCP port 53, LLMNR 5355) must store in dns_names exactly the
(address, name) pairs that tshark finds in the answer sections of the same
responses: A, AAAA, PTR of in-addr.arpa / ip6.arpa / ip6.int names, and the
aliases of CNAME chains ending at an A/AAAA owner. Responses renkei does not
read whole (IP fragments, TCP messages reassembled from several segments)
are left out of the comparison. An address holding MRG_DNS_NAMES_PER_IP (16)
names may have been refused more: its names must be a subset of tshark's.
Exits 77 when tshark or a capture is missing.
Environment: RENKEI_BIN, RENKEI_PCAPS (set by CTest).
"""
import ipaddress
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

BIN = os.environ.get("RENKEI_BIN", "build/bin")
PCAPS = os.environ.get("RENKEI_PCAPS", "../shared/pcaps")
RENKEI = os.path.join(BIN, "renkei")
CAPTURES = ["arkime_v6_ssh_dns_icmpv6.pcap", "ndpi_dns_qinq_pppoe.pcap",
            "pcapplusplus_example2_many_protocols.pcap",
            "suricata_smb2_windows_lan_llmnr_nbns.pcap", "mercury_emix_enterprise_mix.pcap"]
PORTS = {"53", "5353", "5355"}
PER_IP = 16  # MRG_DNS_NAMES_PER_IP


def reverse_ip(name):
    """Address of a full reverse name, or None."""
    labels = name.split(".")
    if name.endswith(".in-addr.arpa") and len(labels) == 6:
        try:
            if all(x.isdigit() and len(x) <= 3 for x in labels[:4]):
                return str(ipaddress.ip_address(".".join(reversed(labels[:4]))))
        except ValueError:
            return None
    if (name.endswith(".ip6.arpa") or name.endswith(".ip6.int")) and len(labels) == 34:
        nib = labels[:32]
        if all(len(x) == 1 and x in "0123456789abcdef" for x in nib):
            h = "".join(reversed(nib))
            return str(ipaddress.ip_address(":".join(h[i:i + 4] for i in range(0, 32, 4))))
    return None


def first(v):
    return v[0] if isinstance(v, list) else v


def tshark_pairs(cap):
    """{(ip, name)} from the answer sections tshark decodes."""
    out = subprocess.run(["tshark", "-r", cap, "-Y", "dns.flags.response == 1", "-T", "json",
                          "--no-duplicate-keys"],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    pairs = set()
    for pkt in json.loads(out.stdout or "[]"):
        lay = pkt["_source"]["layers"]
        l4 = lay.get("udp") or lay.get("tcp") or {}
        sport = first(l4.get("udp.srcport") or l4.get("tcp.srcport") or "")
        if sport not in PORTS or "tcp.segments" in lay:
            continue
        ip = lay.get("ip", {})
        if first(ip.get("ip.flags_tree", {}).get("ip.flags.mf", "0")) == "1" or \
                first(ip.get("ip.frag_offset", "0")) != "0" or "ipv6.fraghdr" in str(lay.get("ipv6", "")):
            continue
        for proto in ("dns", "mdns", "llmnr"):
            d = lay.get(proto)
            if isinstance(d, list):
                d = d[0]
            if not d or first(d.get("dns.flags_tree", {}).get("dns.flags.opcode", "0")) != "0":
                continue
            answers = d.get("Answers", {})
            addrs, cnames = [], {}
            for rr in answers.values():
                for r in (rr if isinstance(rr, list) else [rr]):
                    name = first(r.get("dns.resp.name", "")).lower().rstrip(".")
                    t = first(r.get("dns.resp.type", ""))
                    if int(first(r.get("dns.resp.class", "0x0")), 16) & 0x7fff != 1:
                        continue
                    if t == "1" and "dns.a" in r:
                        addrs.append((first(r["dns.a"]), name))
                    elif t == "28" and "dns.aaaa" in r:
                        addrs.append((first(r["dns.aaaa"]), name))
                    elif t == "12" and "dns.ptr.domain_name" in r:
                        a = reverse_ip(name)
                        if a:
                            pairs.add((a, first(r["dns.ptr.domain_name"]).lower().rstrip(".")))
                    elif t == "5" and "dns.cname" in r:
                        cnames.setdefault(first(r["dns.cname"]).lower().rstrip("."), name)
            for a, n in addrs:
                pairs.add((str(ipaddress.ip_address(a)), n))
                cur = n
                for _ in range(8):  # CMN_DNS_MAX_CHAIN
                    alias = cnames.get(cur)
                    if alias is None or alias == n:
                        break
                    pairs.add((str(ipaddress.ip_address(a)), alias))
                    cur = alias
    return pairs


def main():
    if not shutil.which("tshark"):
        print("SKIP: tshark not installed")
        return 77
    caps = [os.path.join(PCAPS, c) for c in CAPTURES]
    missing = [c for c in caps if not os.path.exists(c)]
    if missing:
        print("SKIP: captures missing: " + ", ".join(missing))
        return 77
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="renkei-dns-") as tmp:
        for cap in caps:
            base = os.path.basename(cap)
            db = os.path.join(tmp, base + ".sqlite")
            r = subprocess.run([RENKEI, "analyze", "--db", db, cap], capture_output=True,
                               text=True, timeout=600)
            if r.returncode != 0:
                print(f"FAIL {base}: analyze exited {r.returncode}\n{r.stderr[-2000:]}")
                failed += 1
                continue
            con = sqlite3.connect(db)
            got = {(str(ipaddress.ip_address(ip)), n)
                   for ip, n in con.execute("SELECT ip, name FROM dns_names")}
            bad = con.execute("SELECT COUNT(*) FROM dns_names WHERE first_ns > last_ns"
                              " OR seen < 1 OR rtype NOT IN ('A', 'AAAA', 'PTR', 'CNAME')"
                              ).fetchone()[0]
            stats = dict(con.execute("SELECT counter, value FROM node_stats"
                                     " WHERE kind = 'collector' AND counter LIKE 'dns_%'"))
            con.close()
            want = tshark_pairs(cap)
            per_ip = {}
            for ip, _ in got:
                per_ip[ip] = per_ip.get(ip, 0) + 1
            full = {ip for ip, k in per_ip.items() if k == PER_IP}
            capped_ok = all(p in want for p in got if p[0] in full)
            got_cmp = {p for p in got if p[0] not in full}
            want_cmp = {p for p in want if p[0] not in full}
            if got_cmp == want_cmp and capped_ok and bad == 0 and want:
                print(f"ok   {base}: {len(got)} names as tshark "
                      f"(responses {stats.get('dns_responses')}, "
                      f"malformed {stats.get('dns_malformed')}, skipped {stats.get('dns_skipped')}"
                      f"; {len(full)} addresses at the cap of {PER_IP})")
                passed += 1
            else:
                print(f"FAIL {base}: renkei {len(got)} names, tshark {len(want)}, bad rows {bad}")
                for p in sorted(want_cmp - got_cmp)[:20]:
                    print("   only tshark:", p)
                for p in sorted(got_cmp - want_cmp)[:20]:
                    print("   only renkei:", p)
                failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
