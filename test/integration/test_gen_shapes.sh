#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Roles on generated enterprises of several seeds and shapes (issue 8's
# "done when"): renkei-gen with every hard case (scans, floods, stealth and
# connect probes, active and passive FTP, P2P listeners, conversations
# running at capture start with the client port below the server's,
# fragments, traceroute, UDP to closed ports answered by ICMP, DHCP, SSDP /
# mDNS / LLMNR / NetBIOS), IPv4 only, 50 % and 100 % IPv6, with and without
# VLAN tags, the redundant switch's copy, snap lengths 96-65535, 1-5
# trackers. Each export is scored against the generator's truth by score.py:
# service and edge F1 >= 0.999, every per-edge, per-host, group and meta count
# exact, every event found; then directed checks of what must never be a
# service (traceroute's ports, closed UDP ports, groups) and an export that
# does not depend on the number of trackers.
# Env (from CTest): RENKEI_BIN = build bin dir, RENKEI_SRC = source dir.
set -euo pipefail

SRC=${RENKEI_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${RENKEI_BIN:-$SRC/build/bin}
SCORE=$SRC/test/gen/score.py
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

[ -x "$BIN/renkei-gen" ] && [ -x "$BIN/renkei" ] || fail "renkei / renkei-gen not built in $BIN"

HARD=(--midstream --monitor --scan --flood --ftp-active --fragments --probes --p2p --ftp-passive
    --midstream-low --traceroute --closed-udp --dhcp --multicast)

# shape NAME TRACKERS DUP(0/1) GEN-OPTIONS... : generate, analyze, score
shape() {
    local name=$1 trackers=$2 dup=$3
    shift 3
    local caps=("$TMP/$name.pcap") gdup=()
    if [ "$dup" = 1 ]; then
        gdup=(--dup "$TMP/$name.dup.pcap")
        caps+=("$TMP/$name.dup.pcap")
    fi
    "$BIN/renkei-gen" "$@" "${gdup[@]}" --out "$TMP/$name.pcap" --truth "$TMP/$name.truth.json" \
        2>/dev/null || fail "$name: renkei-gen $*"
    "$BIN/renkei" analyze --trackers "$trackers" --db "$TMP/$name.sqlite" \
        --export "$TMP/$name.json" "${caps[@]}" >"$TMP/$name.log" 2>&1 ||
        { tail -20 "$TMP/$name.log"; fail "$name: renkei analyze failed"; }
    python3 "$SCORE" "$TMP/$name.truth.json" "$TMP/$name.json" --min-f1 0.999 --exact-counts \
        --require-events -v >"$TMP/$name.score" ||
        { cat "$TMP/$name.score"; fail "$name: score"; }
    echo "ok   $name ($trackers trackers$([ "$dup" = 1 ] && echo ", redundant copy")): $(grep -E \
        '^(services truth|edges truth|groups truth|events matched)' "$TMP/$name.score" |
        tr '\n' ' ')"
}

echo "== shapes"
shape v4_vlan 2 0 --seed 21 --packets 20000 --pcs 150 --servers 30 --duration 60 --vlan \
    --ipv6 0 "${HARD[@]}"
shape v6_all 3 1 --seed 22 --packets 20000 --pcs 150 --servers 30 --duration 60 --ipv6 100 \
    "${HARD[@]}"
shape v6_half_snap128 5 1 --seed 23 --packets 25000 --pcs 200 --servers 40 --duration 90 \
    --ipv6 50 --snaplen 128 --vlan "${HARD[@]}"
shape cover_nsec 1 0 --seed 24 --packets 15000 --pcs 100 --servers 20 --duration 30 --cover \
    --nsec "${HARD[@]}"
shape v6_all_snap96 2 0 --seed 25 --packets 15000 --pcs 100 --servers 20 --duration 30 \
    --ipv6 100 --snaplen 96 "${HARD[@]}"
# the same capture as v6_all with one tracker: the same export
"$BIN/renkei" analyze --trackers 1 --db "$TMP/v6_all_1.sqlite" --export "$TMP/v6_all_1.json" \
    "$TMP/v6_all.pcap" "$TMP/v6_all.dup.pcap" >"$TMP/v6_all_1.log" 2>&1 ||
    fail "v6_all with 1 tracker: renkei analyze failed"

echo "== directed checks"
python3 - "$TMP" <<'EOF' || fail "directed checks"
import ipaddress, json, os, sys
tmp = sys.argv[1]
bad = 0


def check(what, ok, detail=""):
    global bad
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else f": {detail}"))
    bad += not ok


for name in ("v4_vlan", "v6_all", "v6_half_snap128", "cover_nsec", "v6_all_snap96"):
    x = json.load(open(os.path.join(tmp, name + ".json")))
    t = json.load(open(os.path.join(tmp, name + ".truth.json")))
    svc = {(str(ipaddress.ip_address(s["ip"])), s["proto"], s["port"]) for s in x["services"]}
    trace = [s for s in svc if s[1] == "udp" and 33434 <= s[2] <= 33442]
    check(f"{name}: no traceroute port is a service", not trace, trace)
    closed = [s for s in svc if s[1] == "udp" and s[2] in (161, 5060)]
    check(f"{name}: no UDP port answered by ICMP port unreachable is a service", not closed,
          closed)
    grp = [s for s in svc if ipaddress.ip_address(s[0]).is_multicast
           or s[0] == "255.255.255.255" or s[0].endswith(".255")]
    check(f"{name}: no broadcast or multicast address is a service", not grp, grp)
    ghosts = {str(ipaddress.ip_address(h["ip"])): h["kind"] for h in x["hosts"]}
    gk = {ip: k for ip, k in ghosts.items()
          if (ipaddress.ip_address(ip).is_multicast or ip in ("0.0.0.0", "255.255.255.255")
              or ip.endswith(".255")) and k != "unknown"}
    check(f"{name}: group and unspecified addresses are no server or client host", not gk, gk)
    dhcp = [s for s in x["services"] if s["proto"] == "udp" and s["port"] == 67]
    check(f"{name}: the DHCP server's udp/67 is a service with its 4 clients",
          len(dhcp) == 1 and dhcp[0]["clients"] == 4, dhcp)
    tg = {(g["group_ip"], g["port"]) for g in t["groups"]}
    xg = {(str(ipaddress.ip_address(g["group_ip"])), g["port"]) for g in x.get("groups", [])}
    check(f"{name}: every group is exported ({len(tg)})", tg == xg, tg ^ xg)

a = json.load(open(os.path.join(tmp, "v6_all.json")))
b = json.load(open(os.path.join(tmp, "v6_all_1.json")))
for k in ("services", "edges", "hosts", "groups", "events"):
    check(f"v6_all: {k} identical with 1 and 3 trackers", a.get(k) == b.get(k))
sys.exit(1 if bad else 0)
EOF
echo "PASS"
