#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_collector: renkei-collector --print over real captures of every link
# type and encapsulation, checked against tshark: the number of records equals
# the number of frames with an IP layer, and per conversation (TCP/UDP, lower
# address first) packets and IP bytes match tshark_conv.py's innermost-IP view.
# Env (set by CTest): RENKEI_BIN, RENKEI_PCAPS, RENKEI_SRC. Exit 0 on pass,
# 1 on failure, 77 (skipped, never PASS) when tshark or a capture is missing.
set -u
BIN=${RENKEI_BIN:?RENKEI_BIN not set}/renkei-collector
PCAPS=${RENKEI_PCAPS:?RENKEI_PCAPS not set}
SRC=${RENKEI_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
[ -x "$BIN" ] || { echo "FAIL: $BIN not built"; exit 1; }
TMP=$(mktemp -d /tmp/renkei-test-collector.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

FILES=(
  zeek_http_bro_org.pcap                  # Ethernet
  pcapplusplus_sll_linux_cooked.pcap      # Linux SLL
  tcpdump_tcp_handshake_nano.pcap         # SLL, nanosecond pcap
  zeek_linux_dlt_sll2.pcap                # Linux SLL2 (ICMP only)
  pcapplusplus_raw_ip.pcap                # raw IPv4+IPv6 (101)
  pcapplusplus_four_ipv6_http_streams.pcap # raw (12)
  gopacket_null_loopback_ipv6.pcap        # BSD NULL, large TSO frames (mbuf chains)
  pcapplusplus_pcapng_eth_and_sll.pcapng  # pcapng, Ethernet + SLL
  pcapplusplus_many_interfaces.pcapng     # pcapng, 11 interfaces
  ndpi_snmp_vlan.pcap                     # 802.1Q
  zeek_http_qinq.pcap                     # QinQ
  zeek_pppoe_over_qinq.pcap               # PPPoE over QinQ
  zeek_mixed_vlan_mpls.pcap               # MPLS + VLAN
  arkime_mpls_basic.pcap                  # MPLS
  zeek_mpls_in_vlan.pcap                  # MPLS in VLAN
  tcpdump_various_gre.pcap                # GRE variants
  ndpi_vxlan.pcap                         # VXLAN
  mercury_geneve.pcap                     # Geneve
  ndpi_6in4_tunnel.pcap                   # IPv6 in IPv4
  pcapplusplus_ip4_fragments.pcap         # IPv4 fragments
  pcapplusplus_ip6_fragments.pcap         # IPv6 fragments
  zeek_tcp_truncated_header_snap68.pcap   # snaplen 68
  pcapplusplus_nanosecs_big_endian.pcap   # big-endian ns pcap
)

missing=()
for f in "${FILES[@]}" libpcap_pcap_invalid_version.pcap libpcap_shb_option_too_long.pcapng \
    suricata_tls_der_bogus_record_header.pcap zeek_ip_bogus_header_len.pcap; do
  [ -r "$PCAPS/$f" ] || missing+=("$f")
done
if [ ${#missing[@]} -ne 0 ]; then
  echo "SKIP: ${#missing[@]} captures missing in $PCAPS: ${missing[*]}"
  exit 77
fi

fail=0
for f in "${FILES[@]}"; do
  in="$PCAPS/$f"
  "$BIN" --id 7 --print --pcap "$in" >"$TMP/out" 2>"$TMP/err"
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "FAIL $f: exit $rc"; sed 's/^/    /' "$TMP/err"; fail=1; continue
  fi
  python3 - "$in" "$TMP/out" "$SRC/test/integration" <<'PY' || fail=1
import sys, subprocess, collections
path, out, libdir = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path.insert(0, libdir)
import tshark_conv as tc
name = path.rsplit("/", 1)[-1]

recs = [l.split() for l in open(out) if l.strip()]
# frames with an IP layer according to tshark
protos = subprocess.run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.protocols"],
                        capture_output=True, text=True).stdout.splitlines()
ipframes = sum(1 for p in protos if ":ip:" in p + ":" or ":ipv6:" in p + ":"
               or p.startswith("ip:") or p.startswith("ipv6:") or p in ("ip", "ipv6"))
ok = True
if len(recs) != ipframes:
    print(f"FAIL {name}: {len(recs)} records, tshark sees {ipframes} IP frames")
    ok = False

mine = {}
for ts, proto, src, sport, dst, dport, iplen, flags, vlan, sig in recs:
    proto = int(proto)
    if proto not in (6, 17):
        continue
    sport, dport = int(sport), int(dport)
    a, ap, b, bp, swapped = tc.canonical(src, sport, dst, dport)
    c = mine.setdefault((a, ap, b, bp, proto), [0, 0, 0, 0])
    d = 2 if swapped else 0
    c[d] += 1
    c[d + 1] += int(iplen)
theirs = tc.conversations(path)
if mine != theirs:
    ok = False
    keys = sorted(set(mine) | set(theirs))
    bad = [k for k in keys if mine.get(k) != theirs.get(k)]
    print(f"FAIL {name}: {len(bad)} of {len(keys)} conversations differ")
    for k in bad[:8]:
        print(f"    {k}: renkei {mine.get(k)} tshark {theirs.get(k)}")
if ok:
    print(f"ok   {name}: {len(recs)} records, {len(mine)} conversations")
sys.exit(0 if ok else 1)
PY
done

# Damaged and unreadable inputs.
"$BIN" --id 7 --print --pcap "$PCAPS/libpcap_pcap_invalid_version.pcap" >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc -ne 2 ] || ! grep -q "pcap major version 1 unsupported" "$TMP/err"; then
  echo "FAIL invalid version: exit $rc"; cat "$TMP/err"; fail=1
else echo "ok   libpcap_pcap_invalid_version.pcap: exit 2 with the reason"; fi
"$BIN" --id 7 --print --pcap "$PCAPS/libpcap_shb_option_too_long.pcapng" >/dev/null 2>"$TMP/err"
rc=$?
if [ $rc -ne 2 ] || ! grep -q "option code 12336" "$TMP/err"; then
  echo "FAIL shb option: exit $rc"; cat "$TMP/err"; fail=1
else echo "ok   libpcap_shb_option_too_long.pcapng: exit 2 with the reason"; fi
n=$("$BIN" --id 7 --print --pcap "$PCAPS/suricata_tls_der_bogus_record_header.pcap" 2>"$TMP/err" | wc -l)
if [ "$n" -ne 6 ] || ! grep -q "4325376-byte packet" "$TMP/err"; then
  echo "FAIL damaged tail: $n records"; cat "$TMP/err"; fail=1
else echo "ok   suricata_tls_der_bogus_record_header.pcap: 6 records, damage reported"; fi
# Malformed frames are counted by reason in the final stats line.
"$BIN" --id 7 --print --pcap "$PCAPS/zeek_ip_bogus_header_len.pcap" >/dev/null 2>"$TMP/err"
if ! grep -q "malformed_bad_ip_total_len=1" "$TMP/err"; then
  echo "FAIL bogus header: no malformed_bad_ip_total_len=1"; cat "$TMP/err"; fail=1
else echo "ok   zeek_ip_bogus_header_len.pcap: malformed_bad_ip_total_len=1"; fi

[ $fail -eq 0 ] && echo "PASS" || echo "FAILED"
exit $fail
