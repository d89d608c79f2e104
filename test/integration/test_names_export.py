#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Names in the JSON export: `renkei analyze --hosts-file --services-file` on
a capture with DNS answers. A hosts-file name beats the DNS name of the same
address (name_source "hosts_file"); other addresses show their most recently
seen DNS name (name_source "dns"); services take the services file's names
in both line forms; a bad services file stops analyze with exit 2 naming
every bad line as FILE:LINE; a missing hosts file is exit 2 too; `renkei
export` writes the same names. Exits 77 when the capture is missing.
Environment: RENKEI_BIN, RENKEI_PCAPS (set by CTest).
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

BIN = os.environ.get("RENKEI_BIN", "build/bin")
PCAPS = os.environ.get("RENKEI_PCAPS", "../shared/pcaps")
RENKEI = os.path.join(BIN, "renkei")
CAP = os.path.join(PCAPS, "pcapplusplus_example2_many_protocols.pcap")
NAMED = "173.194.78.104"  # answered as www.google.com in the capture

results = {"pass": 0, "fail": 0}


def check(what, cond, detail=""):
    results["pass" if cond else "fail"] += 1
    print(("ok   " if cond else "FAIL ") + what + ("" if cond else f" ({detail})"), flush=True)


def main():
    if not os.path.exists(CAP):
        print(f"SKIP: {CAP} missing")
        return 77
    with tempfile.TemporaryDirectory(prefix="renkei-names-") as tmp:
        hosts = os.path.join(tmp, "hosts")
        svc = os.path.join(tmp, "services")
        with open(hosts, "w") as f:
            f.write(f"# lab names\n{NAMED} google-frontend.corp gfe\n")
        with open(svc, "w") as f:
            f.write("# our services\ntcp/80 web-frontend\n\nsecure-web 443/tcp https-alias\n")
        db = os.path.join(tmp, "n.sqlite")
        exp = os.path.join(tmp, "n.json")
        r = subprocess.run([RENKEI, "analyze", "--db", db, "--export", exp, "--hosts-file", hosts,
                            "--services-file", svc, CAP], capture_output=True, text=True,
                           timeout=600)
        check("analyze with --hosts-file and --services-file exits 0", r.returncode == 0,
              r.stderr[-1500:])
        if r.returncode != 0:
            return 1
        x = json.load(open(exp))
        hosts_by_ip = {h["ip"]: h for h in x["hosts"]}
        h = hosts_by_ip.get(NAMED, {})
        check("hosts-file name beats the DNS name",
              h.get("name") == "google-frontend.corp" and h.get("name_source") == "hosts_file", h)
        con = sqlite3.connect(db)
        dns_named = con.execute("SELECT COUNT(*) FROM dns_names WHERE ip = ?",
                                (NAMED,)).fetchone()[0]
        check("the hosts-file address has DNS names too", dns_named > 0)
        latest = {}
        for ip, name in con.execute("SELECT ip, name FROM dns_names"
                                    " ORDER BY ip, last_ns DESC, name"):
            latest.setdefault(ip, name)
        con.close()
        wrong = [(hh["ip"], hh["name"], hh["name_source"]) for hh in x["hosts"]
                 if hh["ip"] != NAMED and
                 (hh["name"], hh["name_source"]) != ((latest[hh["ip"]], "dns") if hh["ip"] in latest
                                                     else (None, None))]
        n_dns = sum(1 for hh in x["hosts"] if hh["name_source"] == "dns")
        check(f"other hosts: the latest DNS name or null ({n_dns} named by DNS)",
              not wrong and n_dns > 10, wrong[:5])
        s80 = {s["name"] for s in x["services"] if s["proto"] == "tcp" and s["port"] == 80}
        s443 = {s["name"] for s in x["services"] if s["proto"] == "tcp" and s["port"] == 443}
        check("services file: 'tcp/80 web-frontend'", s80 == {"web-frontend"}, s80)
        check("services file: 'secure-web 443/tcp'", s443 == {"secure-web"}, s443)
        out = subprocess.run([RENKEI, "export", "--db", db, "--format", "json"],
                             capture_output=True, text=True, timeout=120)
        check("renkei export writes the same names", out.returncode == 0 and
              json.loads(out.stdout) == x)

        bad = os.path.join(tmp, "bad")
        with open(bad, "w") as f:
            f.write("tcp/80 web\ntcp/99999 big\nfoo\nweb2 80/tcp\n")
        r = subprocess.run([RENKEI, "analyze", "--db", os.path.join(tmp, "b.sqlite"),
                            "--services-file", bad, CAP], capture_output=True, text=True,
                           timeout=120)
        check("bad services file: exit 2, each bad line as FILE:LINE",
              r.returncode == 2 and f"{bad}:2:" in r.stderr and f"{bad}:3:" in r.stderr and
              f"{bad}:4:" in r.stderr and f"{bad}:1:" not in r.stderr and
              not os.path.exists(os.path.join(tmp, "b.sqlite")), (r.returncode, r.stderr))
        r = subprocess.run([RENKEI, "analyze", "--db", os.path.join(tmp, "c.sqlite"),
                            "--hosts-file", os.path.join(tmp, "none"), CAP],
                           capture_output=True, text=True, timeout=120)
        check("missing hosts file: exit 2", r.returncode == 2 and "none" in r.stderr,
              (r.returncode, r.stderr))
        r = subprocess.run([os.path.join(BIN, "renkei-merger"), "--insecure-lab", "--listen",
                            "tcp://127.0.0.1:0",
                            "--db", os.path.join(tmp, "m.sqlite"), "--services-file", bad],
                           capture_output=True, text=True, timeout=60)
        check("renkei-merger with a bad services_file: exit 2 at start",
              r.returncode == 2 and f"{bad}:2:" in r.stderr, (r.returncode, r.stderr))
    print(f"{results['pass']} passed, {results['fail']} failed")
    return 1 if results["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
