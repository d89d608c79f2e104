#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End to end over every capture in ../shared/pcaps.

For each capture: `renkei analyze` must exit 0 (nothing lost) and, for TCP and
UDP, the per-conversation packet and IP-byte counts in the database must equal
those computed independently from tshark's field output (tshark_conv.py).
Unreadable captures must be refused with exit 2 and a message naming the file.
Then all captures at once (one collector each, read concurrently) must add
up to the per-file runs, and the export must be identical with 1 and 3
trackers. Environment: RENKEI_BIN, RENKEI_PCAPS (set by CTest).
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_conv  # noqa: E402

BIN = os.environ.get("RENKEI_BIN", "build/bin")
PCAPS = os.environ.get("RENKEI_PCAPS", "../shared/pcaps")
RENKEI = os.path.join(BIN, "renkei")
UNREADABLE = {"libpcap_pcap_invalid_version.pcap", "libpcap_shb_option_too_long.pcapng"}

failures = []
failed_checks = set()
passed = [0]


def fail(msg, check=None):
    """Record a failure; `check` names the check (a capture, or a global check)."""
    failures.append(msg)
    failed_checks.add(check or msg)
    print("FAIL", msg, flush=True)


def ok(msg):
    passed[0] += 1
    print("ok  ", msg, flush=True)


def analyze(caps, db, trackers=2, export=None, extra=()):
    cmd = [RENKEI, "analyze", "--trackers", str(trackers), "--db", db] + list(extra)
    if export:
        cmd += ["--export", export]
    cmd += caps
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def db_conversations(db):
    con = sqlite3.connect(db)
    rows = con.execute("SELECT a_ip, a_port, b_ip, b_port, proto, pkts_ab, bytes_ab, pkts_ba,"
                       " bytes_ba FROM sessions WHERE proto IN (6, 17)").fetchall()
    con.close()
    return {r[:5]: list(r[5:]) for r in rows}


def db_totals(db):
    con = sqlite3.connect(db)
    # sessions_all = live sessions + sessions retired after retain_minutes
    # (docs/SCHEMA.md): totals survive retirement, the 5-tuple rows do not
    p, b = con.execute("SELECT COALESCE(SUM(pkts_ab + pkts_ba), 0),"
                       " COALESCE(SUM(bytes_ab + bytes_ba), 0) FROM sessions_all").fetchone()
    con.close()
    return p, b


def compare(name, want, got):
    bad = 0
    for k in sorted(set(want) | set(got), key=str):
        w, g = want.get(k), got.get(k)
        if w != g:
            if bad < 5:
                fail(f"{name}: conversation {k}: tshark {w} renkei {g}", name)
            bad += 1
    if bad > 5:
        fail(f"{name}: ... {bad} conversations differ in all", name)
    return bad == 0


def main():
    caps = sorted(f for f in os.listdir(PCAPS) if f != "MANIFEST.tsv")
    tmp = tempfile.mkdtemp(prefix="renkei-it-")
    readable, totals = [], [0, 0]
    for f in caps:
        path = os.path.join(PCAPS, f)
        db = os.path.join(tmp, f + ".sqlite")
        r = analyze([path], db)
        if f in UNREADABLE:
            if r.returncode != 2 or f not in r.stderr:
                fail(f"{f}: unreadable capture should exit 2 naming the file; "
                     f"got {r.returncode}: {r.stderr.strip()[-300:]}", f)
            else:
                ok(f"{f}: refused: {r.stderr.strip().splitlines()[-1]}")
            continue
        if r.returncode != 0:
            fail(f"{f}: analyze exited {r.returncode}: {r.stderr.strip()[-800:]}", f)
            continue
        readable.append(path)
        want = tshark_conv.conversations(path, join_fragments=True)
        got = db_conversations(db)
        if compare(f, want, got):
            ok(f"{f}: {len(want)} TCP/UDP conversations equal to tshark")
        p, b = db_totals(db)
        totals[0] += p
        totals[1] += b

    # All captures at once: one collector per file, read concurrently. Some
    # public samples are cut from the same trace (mercury_emix_enterprise_mix
    # and mercury_smb_windows_lan share 3320 packets): as redundant collectors
    # the splitter would count those once, so compare with dedup off.
    db = os.path.join(tmp, "all.sqlite")
    r = analyze(readable, db, trackers=3, extra=["--dedup-window-us", "0"])
    if r.returncode != 0:
        fail(f"all captures at once: exit {r.returncode}: {r.stderr.strip()[-800:]}", "all")
    else:
        p, b = db_totals(db)
        if [p, b] != totals:
            fail(f"all at once: {p} packets {b} bytes, per-file runs sum to {totals}", "all")
        else:
            ok(f"all {len(readable)} captures at once: {p} packets, {b} bytes")

    # Same export with 1 and 3 trackers.
    sample = [os.path.join(PCAPS, f) for f in (
        "mercury_emix_enterprise_mix.pcap", "zeek_http_bro_org.pcap", "ndpi_vxlan.pcap",
        "arkime_v6_ssh_dns_icmpv6.pcap", "ndpi_nmap_synscan.pcap") if f in caps]
    exports = []
    for n in (1, 3):
        out = os.path.join(tmp, f"export{n}.json")
        r = analyze(sample, os.path.join(tmp, f"inv{n}.sqlite"), trackers=n, export=out)
        if r.returncode != 0:
            fail(f"invariance run with {n} trackers: exit {r.returncode}: {r.stderr[-500:]}",
                 "invariance")
            exports.append(None)
            continue
        with open(out) as fh:
            text = fh.read()
        json.loads(text)
        exports.append(text)
    if exports[0] is not None and exports[0] != exports[1]:
        fail("export differs between 1 and 3 trackers", "invariance")
    elif exports[0] is not None:
        ok(f"export identical with 1 and 3 trackers ({len(exports[0])} bytes)")

    print(f"{passed[0]} passed, {len(failed_checks)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
