#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End to end over every capture in ../shared/pcaps.

For each capture: `renkei analyze` must exit 0 (nothing lost) and, for TCP and
UDP, the per-conversation packet and IP-byte counts in the database must equal
those computed independently from tshark's field output (tshark_conv.py).
Unreadable captures (bad magic, invalid version) must be refused with exit 2
and a message naming the file. Crafted captures of every link type renkei
added for real-world traffic (PPP, PPP_HDLC, Cisco HDLC, PPPoE, 802.11 bare
and radiotap) must equal tshark too, and captures of link types renkei does not
read (PPI, token ring) must run to exit 0 with a warning naming the link type
and the count of packets skipped.
Then all captures at once (one collector each, read concurrently) must add
up to the per-file runs, and the export must be identical with 1 and 3
trackers. Environment: RENKEI_BIN, RENKEI_PCAPS (set by CTest).
"""
import json
import os
import shutil
import sqlite3
import struct
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


def write_pcap(path, linktype, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, linktype))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)))
            f.write(fr)


def ipv4(src, dst, proto, l4):
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0x1234, 0, 64, proto, 0,
                       bytes(src), bytes(dst)) + l4


def tcp(sp, dp, flags, payload=b""):
    return struct.pack(">HHIIBBHHH", sp, dp, 1000, 2000, 0x50, flags, 512, 0, 0) + payload


def udp(sp, dp, payload=b""):
    return struct.pack(">HHHH", sp, dp, 8 + len(payload), 0) + payload


def crafted_ip_packets():
    """A TCP exchange and a UDP request/answer, as raw IPv4 packets."""
    c, s = (10, 1, 0, 5), (10, 1, 0, 9)
    return [ipv4(c, s, 6, tcp(40000, 80, 0x02)), ipv4(s, c, 6, tcp(80, 40000, 0x12)),
            ipv4(c, s, 6, tcp(40000, 80, 0x10)), ipv4(c, s, 6, tcp(40000, 80, 0x18, b"GET /")),
            ipv4(s, c, 6, tcp(80, 40000, 0x18, b"200 OK")),
            ipv4(c, s, 17, udp(50000, 53, b"q")), ipv4(s, c, 17, udp(53, 50000, b"answer"))]


LLC_IP = bytes([0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00])
WLAN_DATA = bytes([0x08, 0x01, 0, 0]) + bytes(range(1, 19)) + bytes([0x10, 0])
WLAN_BEACON = bytes([0x80, 0, 0, 0]) + bytes(20) + bytes(12)
RADIOTAP = bytes([0, 0, 8, 0, 0, 0, 0, 0])
# link type -> (name, frame of an IP packet, frames without IP)
CRAFTED = {
    9: ("ppp", lambda ip: b"\xff\x03\x00\x21" + ip, [b"\xff\x03\xc0\x21\x01\x01\x00\x04"]),
    50: ("ppp_hdlc", lambda ip: b"\xff\x03\x00\x21" + ip, []),
    104: ("c_hdlc", lambda ip: b"\x0f\x00\x08\x00" + ip, [b"\x8f\x00\x80\x35" + bytes(16)]),
    51: ("pppoe", lambda ip: struct.pack(">BBHH", 0x11, 0, 1, len(ip) + 2) + b"\x00\x21" + ip,
         [bytes([0x11, 0x09, 0, 0, 0, 0])]),
    105: ("wlan", lambda ip: WLAN_DATA + LLC_IP + ip, [WLAN_BEACON]),
    127: ("radiotap", lambda ip: RADIOTAP + WLAN_DATA + LLC_IP + ip, [RADIOTAP + WLAN_BEACON]),
}
UNSUPPORTED = {192: "PPI", 6: "IEEE802_5"}


def crafted_link_types(tmp):
    """Captures of the added link types against tshark; unread link types skipped."""
    for lt, (name, wrap, extra) in sorted(CRAFTED.items()):
        path = os.path.join(tmp, f"crafted_{name}.pcap")
        write_pcap(path, lt, [wrap(ip) for ip in crafted_ip_packets()] + extra)
        db = os.path.join(tmp, f"crafted_{name}.sqlite")
        r = analyze([path], db)
        if r.returncode != 0:
            fail(f"{name} (link type {lt}): analyze exited {r.returncode}: "
                 f"{r.stderr.strip()[-500:]}", name)
            continue
        want = tshark_conv.conversations(path, join_fragments=True)
        got = db_conversations(db)
        if len(want) != 2:
            fail(f"{name}: tshark sees {len(want)} conversations, the capture holds 2", name)
        elif compare(name, want, got):
            ok(f"{name} (link type {lt}): {len(want)} conversations equal to tshark")
    for lt, name in sorted(UNSUPPORTED.items()):
        path = os.path.join(tmp, f"unsupported_{lt}.pcap")
        write_pcap(path, lt, [bytes(8) + ip for ip in crafted_ip_packets()])
        r = analyze([path], os.path.join(tmp, f"unsupported_{lt}.sqlite"))
        want = f"link type {lt} ({name}) is not parsed; its 7 packets are skipped"
        if r.returncode != 0 or want not in r.stderr or "skipped        7" not in r.stdout:
            fail(f"link type {lt}: want exit 0 and '{want}'; got {r.returncode}: "
                 f"{r.stderr.strip()[-300:]} {r.stdout.strip()[-300:]}", f"unsupported {lt}")
        else:
            ok(f"link type {lt} ({name}): exit 0, {want}")
    # mixed: an unread interface next to an Ethernet one in one run
    eth = os.path.join(PCAPS, "zeek_icmp_5_pings.pcap")
    unk = os.path.join(tmp, "unsupported_192.pcap")
    if os.path.exists(eth):
        r = analyze([eth, unk], os.path.join(tmp, "mixed_unsupported.sqlite"))
        if r.returncode != 0 or "link type 192 (PPI)" not in r.stderr:
            fail(f"Ethernet + PPI captures: exit {r.returncode}: {r.stderr.strip()[-300:]}",
                 "mixed unsupported")
        else:
            ok("Ethernet + PPI captures in one run: exit 0, PPI named")
    # not a capture at all: exit 2 naming the file
    bad = os.path.join(tmp, "not_a_capture.pcap")
    with open(bad, "wb") as f:
        f.write(b"this is not a capture file, only text\n" * 4)
    r = analyze([bad], os.path.join(tmp, "bad.sqlite"))
    if r.returncode != 2 or bad not in r.stderr:
        fail(f"bad magic: want exit 2 naming the file, got {r.returncode}: {r.stderr[-300:]}",
             "bad magic")
    else:
        ok(f"bad magic refused: {r.stderr.strip().splitlines()[-1]}")


def main():
    if not os.path.isdir(PCAPS) or not os.path.exists(os.path.join(PCAPS, "MANIFEST.tsv")):
        print(f"SKIP: no captures in {PCAPS}")
        return 77
    if not shutil.which("tshark"):
        print("SKIP: tshark not found (the reference counts come from it)")
        return 77
    if not os.access(RENKEI, os.X_OK):
        print(f"FAIL: {RENKEI} not built")
        return 1
    caps = sorted(f for f in os.listdir(PCAPS) if f != "MANIFEST.tsv")
    tmp = tempfile.mkdtemp(prefix="renkei-it-")
    crafted_link_types(tmp)
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
