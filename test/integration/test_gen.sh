#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Self-check of the ground-truth generator (test/gen/): output is deterministic
# per seed; tshark finds no malformed packet, bad checksum or other warning
# beyond the expected RST notes; tshark's per-edge / per-host / total packet
# and IP-byte counts equal the truth; the --dup capture is the same packets
# one hop later on another VLAN; score.py scores a perfect export as PASS and
# a damaged one as FAIL; and the write rate is reported.
# Env (from CTest): RENKEI_BIN = build bin dir, RENKEI_SRC = source dir.
set -euo pipefail

SRC=${RENKEI_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${RENKEI_BIN:-$SRC/build/bin}
GEN=$BIN/renkei-gen
GENDIR=$SRC/test/gen
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

[ -x "$GEN" ] || fail "$GEN not built (test/CMakeLists.txt needs add_subdirectory(gen))"
command -v tshark >/dev/null || {
    echo "SKIP: tshark not installed (scripts/deps.sh --test)"
    exit 77
}

ALL=(--vlan --midstream --monitor --scan --flood --ftp-active --fragments)

echo "== determinism"
"$GEN" --seed 7 --packets 3000 "${ALL[@]}" --out "$TMP/d1.pcap" --truth "$TMP/d1.json" 2>/dev/null
"$GEN" --seed 7 --packets 3000 "${ALL[@]}" --out "$TMP/d2.pcap" --truth "$TMP/d2.json" 2>/dev/null
cmp -s "$TMP/d1.pcap" "$TMP/d2.pcap" || fail "same seed, different pcap"
cmp -s "$TMP/d1.json" "$TMP/d2.json" || fail "same seed, different truth"
"$GEN" --seed 8 --packets 3000 "${ALL[@]}" --out "$TMP/d3.pcap" --truth "$TMP/d3.json" 2>/dev/null
cmp -s "$TMP/d1.pcap" "$TMP/d3.pcap" && fail "different seeds, same pcap"
echo "ok"

echo "== generate (all scenarios, IPv4+IPv6, VLAN, dup)"
"$GEN" --seed 42 --packets 15000 --pcs 120 --servers 24 --duration 30 "${ALL[@]}" \
    --dup "$TMP/g_dup.pcap" --out "$TMP/g.pcap" --truth "$TMP/g.json"
"$GEN" --seed 43 --packets 4000 --nsec --start 1767225600.5 --midstream \
    --out "$TMP/n.pcap" --truth "$TMP/n.json" 2>/dev/null
# issue 8: probes of a used service, one-off high-port listeners, passive
# FTP, conversations already running with the client port below the server's
"$GEN" --seed 44 --packets 6000 --pcs 60 --servers 14 --duration 20 --probes --p2p \
    --ftp-passive --ftp-active --midstream-low --out "$TMP/p.pcap" --truth "$TMP/p.json" 2>/dev/null
# traceroute, closed UDP ports, DHCP, multicast: ICMP errors quoting their
# datagrams, broadcasts, groups; all IPv6 where the model allows
"$GEN" --seed 46 --packets 4000 --pcs 60 --servers 14 --duration 20 --traceroute --closed-udp \
    --dhcp --multicast --midstream --ipv6 100 --vlan --out "$TMP/r.pcap" --truth "$TMP/r.json" \
    2>/dev/null
# --cover: one brief session of every pair of the model, hardly more packets
"$GEN" --seed 45 --packets 1 --pcs 100 --servers 12 --duration 20 --cover --ftp-active \
    --out "$TMP/c.pcap" --truth "$TMP/c.json" 2>/dev/null

echo "== tshark expert info (checksums verified)"
for f in g.pcap g_dup.pcap n.pcap p.pcap c.pcap r.pcap; do
    tshark -n -r "$TMP/$f" -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
        -o ip.check_checksum:TRUE -Y "_ws.expert.severity >= warning" \
        -T fields -e _ws.expert.message 2>/dev/null | sort | uniq -c > "$TMP/$f.expert"
    # RSTs (teardowns, closed scanned ports) are warnings by design; nothing else may be.
    if grep -v -E '^ *[0-9]+ Connection reset \(RST\)$' "$TMP/$f.expert" | grep -q .; then
        cat "$TMP/$f.expert"
        fail "$f: unexpected tshark warnings"
    fi
    echo "$f: $(cat "$TMP/$f.expert" | tr -s ' ' || true)"
done

echo "== truth vs tshark counts"
python3 "$GENDIR/truth_tshark.py" "$TMP/g.json" "$TMP/g.pcap" --dup "$TMP/g_dup.pcap" \
    --export "$TMP/g_export.json" || fail "truth disagrees with tshark"
python3 "$GENDIR/truth_tshark.py" "$TMP/n.json" "$TMP/n.pcap" >/dev/null ||
    fail "truth disagrees with tshark (ns capture)"
python3 "$GENDIR/truth_tshark.py" "$TMP/p.json" "$TMP/p.pcap" >/dev/null ||
    fail "truth disagrees with tshark (issue 8 capture)"
python3 "$GENDIR/truth_tshark.py" "$TMP/c.json" "$TMP/c.pcap" >/dev/null ||
    fail "truth disagrees with tshark (--cover capture)"
python3 "$GENDIR/truth_tshark.py" "$TMP/r.json" "$TMP/r.pcap" >/dev/null ||
    fail "truth disagrees with tshark (traceroute, ICMP, DHCP, multicast capture)"

echo "== truth content"
python3 - "$TMP/g.json" <<'EOF' || fail "truth content"
import json, sys
t = json.load(open(sys.argv[1]))
svc = {(s["ip"], s["proto"], s["port"]) for s in t["services"]}
edges = t["edges"]
kinds = sorted(e["kind"] for e in t["events"])
assert kinds == ["port_scan", "syn_flood"], kinds
scan = next(e for e in t["events"] if e["kind"] == "port_scan")
# the scanner is a client of nothing on the target; RST ports are not services
assert not any(e["client_ip"] == scan["source_ip"] and e["server_ip"] == scan["target_ip"]
               for e in edges), "scanner listed as a client of the target"
assert sum(1 for s in svc if s[0] == scan["target_ip"]) < 10, "scanned ports became services"
assert any(":" in s[0] for s in svc), "no IPv6 service"
assert any(s[2] == 20 for s in svc), "no active-FTP data service (port 20)"
assert any(s[2] == 10050 for s in svc), "no monitored port"
assert any(e["server_port"] == 123 and e["proto"] == "udp" for e in edges)
assert sum(e["packets_c2s"] + e["packets_s2c"] for e in edges) < t["meta"]["packets"]
print("ok: %d services, %d edges, %d hosts" % (len(svc), len(edges), len(t["hosts"])))
EOF

echo "== --cover: every PC uses its 11-12 services, 2 packets per udp edge, <= 16 per tcp one (but ftp: 4 ordinary)"
python3 - "$TMP/c.json" <<'EOF' || fail "--cover truth content"
import collections, json, sys
t = json.load(open(sys.argv[1]))
per_pc = collections.Counter(e["client_ip"] for e in t["edges"] if e["client_ip"].startswith("10."))
assert len(per_pc) == 100 and min(per_pc.values()) >= 11, (len(per_pc), min(per_pc.values()))
for e in t["edges"]:
    n = e["packets_c2s"] + e["packets_s2c"]
    assert e["server_port"] in (20, 21) or n <= (2 if e["proto"] == "udp" else 16), e
print("ok: %d edges, %d packets" % (len(t["edges"]), t["meta"]["packets"]))
EOF

echo "== score.py"
python3 "$GENDIR/score.py" "$TMP/g.json" "$TMP/g_export.json" --min-f1 1.0 --exact-counts \
    --require-events > "$TMP/score.txt" || { cat "$TMP/score.txt"; fail "perfect export scored FAIL"; }
grep -E "F1|result" "$TMP/score.txt"
python3 - "$TMP/g_export.json" "$TMP/bad.json" <<'EOF'
import json, sys
x = json.load(open(sys.argv[1]))
x["edges"].pop()                     # one edge missed
x["edges"][0]["bytes_s2c"] += 1      # one count off
x["services"].append({"ip": "10.99.99.99", "proto": "tcp", "port": 1, "clients": 1})
x["events"] = x["events"][:1]
json.dump(x, open(sys.argv[2], "w"))
EOF
if python3 "$GENDIR/score.py" "$TMP/g.json" "$TMP/bad.json" --min-f1 0.999 --exact-counts \
    > "$TMP/bad.txt"; then
    cat "$TMP/bad.txt"
    fail "damaged export scored PASS"
fi
grep -E "count errors total|events matched|result" "$TMP/bad.txt"

echo "== speed (500k packets, snaplen 128, to /dev/null)"
"$GEN" --seed 1 --packets 500000 --snaplen 128 --out /dev/null --truth "$TMP/s.json"
echo "PASS"
