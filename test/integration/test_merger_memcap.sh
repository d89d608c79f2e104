#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The merger's memcap_mb (docs/ARCHITECTURE.md, merger/mrg_live.h), run as
# an operator would: the daemons on 127.0.0.1 (one tracker, the splitter,
# a capture collector) with the merger's live window capped.
# - A cap the window outgrows retires the oldest live sessions early
#   (node_stats live_sessions_evicted > 0, a WARN naming memcap_mb) and
#   refuses nothing: hosts, services, groups, and every edge's packets,
#   bytes and times equal the uncapped `renkei analyze` of the same capture;
#   only an edge's `sessions` may be higher (a session with traffic after
#   its early retirement counts again, as after an idle retirement).
# - A cap too small even for one epoch refuses rows, and says so
#   (live_rows_refused > 0 and a WARN per epoch).
# - memcap_mb 0 is refused at start, naming the key.
# - `renkei analyze --memcap-mb` caps trackers and merger alike; what they
#   refused is shown in its summary ("memcap drops") and warned about, and
#   nothing is shown when nothing was refused.
set -euo pipefail
BIN=${RENKEI_BIN:?RENKEI_BIN not set}
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "skipped: sqlite3 not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 not installed"; exit 77; }
test_setup mmemcap

"$BIN/renkei-gen" --seed 7 --packets 1000000 --snaplen 128 --duration 600 \
    --out "$TMP/g.pcap" --truth "$TMP/g.json" 2>/dev/null
"$BIN/renkei" analyze --trackers 1 --epoch-seconds 10 --db "$TMP/ref.sqlite" \
    --export "$TMP/ref.json" "$TMP/g.pcap" >"$TMP/ref.log" 2>&1 ||
    { cat "$TMP/ref.log"; echo "FAIL reference analyze"; exit 1; }

# run MB: the cluster with the merger's memcap_mb = MB into $TMP/mMB.*
run() {
    local mb=$1 db=$TMP/m$1.sqlite rc=0
    read -r PM PT PS < <(free_ports 3)
    local M=tcp://127.0.0.1:$PM T=tcp://127.0.0.1:$PT S=tcp://127.0.0.1:$PS
    "$BIN/renkei-merger" --insecure-lab --listen "$M" --db "$db" --trackers 1 --exit-on-eos \
        --memcap-mb "$mb" 2>"$TMP/m$mb.log" &
    local mp=$!
    "$BIN/renkei-tracker" --insecure-lab --id 0 --listen "$T" --merger "$M" --exit-on-eos \
        2>"$TMP/t$mb.log" &
    local tp=$!
    "$BIN/renkei-splitter" --insecure-lab --listen "$S" --tracker "$T" --merger "$M" \
        --collectors 1 --epoch-seconds 10 2>"$TMP/s$mb.log" &
    local sp=$!
    "$BIN/renkei-collector" --insecure-lab --id 1 --pcap "$TMP/g.pcap" --splitter "$S" \
        --merger "$M" 2>"$TMP/c$mb.log" &
    local cp=$!
    for _ in $(seq 1 1200); do kill -0 "$mp" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$mp" 2>/dev/null; then
        kill "$mp" "$tp" "$sp" "$cp" 2>/dev/null || true
        echo "merger still running after 120 s" >"$TMP/m$mb.rc"
    fi
    wait "$mp" || rc=$?
    for p in $tp $sp $cp; do wait "$p" 2>/dev/null || true; done
    echo "$rc" >"$TMP/m$mb.rc"
    "$BIN/renkei" export --db "$db" --out "$TMP/m$mb.json" 2>"$TMP/x$mb.log" || true
}
stat_of() { # MB COUNTER
    sqlite3 "$TMP/m$1.sqlite" \
        "SELECT value FROM node_stats WHERE kind = 'merger' AND counter = '$2'"
}

# the largest cap (of a few) that the window outgrows on this capture
capped=
for mb in 8 6 4 3; do
    run "$mb"
    if [ "$(stat_of "$mb" live_sessions_evicted)" -gt 0 ] 2>/dev/null; then
        capped=$mb
        break
    fi
done
if [ -z "$capped" ]; then
    bad "no memcap_mb of 8, 6, 4, 3 retired a session early (live_sessions_evicted 0)"
else
    ok "memcap_mb $capped: $(stat_of "$capped" live_sessions_evicted) live sessions retired early"
    [ "$(cat "$TMP/m$capped.rc")" = 0 ] && ok "merger exit 0" ||
        bad "merger exit $(cat "$TMP/m$capped.rc")"
    [ "$(stat_of "$capped" live_rows_refused)" = 0 ] && ok "no row refused" ||
        bad "$(stat_of "$capped" live_rows_refused) rows refused"
    grep -q "retired early .*raise memcap_mb" "$TMP/m$capped.log" &&
        ok "the merger's log names memcap_mb" || bad "no memcap warning in the merger's log"
    if python3 - "$TMP/ref.json" "$TMP/m$capped.json" <<'EOF'; then
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
bad = [k for k in a if k not in ("meta", "edges") and a[k] != b.get(k)]
K = ("client_ip", "server_ip", "proto", "server_port")
ea = {tuple(e[k] for k in K): e for e in a["edges"]}
eb = {tuple(e[k] for k in K): e for e in b["edges"]}
if set(ea) != set(eb):
    bad.append("edges (set)")
more = 0
for k, e in ea.items():
    f = eb.get(k)
    if f is None:
        continue
    if {x: v for x, v in e.items() if x != "sessions"} != \
            {x: v for x, v in f.items() if x != "sessions"} or f["sessions"] < e["sessions"]:
        bad.append("edge %s" % (k,))
    more += f["sessions"] > e["sessions"]
print("     %d of %d edges count more sessions" % (more, len(ea)))
if bad:
    print("     differs:", bad[:5])
sys.exit(1 if bad else 0)
EOF
        ok "the export equals the uncapped run's (edges' sessions aside)"
    else
        bad "the export differs from the uncapped run's"
    fi
fi

run 1
refused=$(stat_of 1 live_rows_refused)
[ "${refused:-0}" -gt 0 ] && grep -q "rows refused by the memcap" "$TMP/m1.log" &&
    ok "memcap_mb 1: $refused rows refused, counted and logged" ||
    bad "memcap_mb 1: refusals not counted (${refused:-none}) or not logged"

rc=0
"$BIN/renkei-merger" --insecure-lab --listen tcp://127.0.0.1:1 --db "$TMP/z.sqlite" \
    --memcap-mb 0 >/dev/null 2>"$TMP/z.err" || rc=$?
[ "$rc" = 2 ] && grep -q "memcap_mb" "$TMP/z.err" && ok "memcap_mb 0 refused at start (exit 2)" ||
    bad "memcap_mb 0: exit $rc, $(head -c 200 "$TMP/z.err")"

# renkei analyze --memcap-mb: the summary says what the caps refused
"$BIN/renkei" analyze --trackers 2 --memcap-mb 4 --db "$TMP/a4.sqlite" "$TMP/g.pcap" \
    >"$TMP/a4.out" 2>"$TMP/a4.err" || bad "analyze --memcap-mb 4 failed"
line=$(grep "memcap drops" "$TMP/a4.out" || true)
if [[ $line =~ ([0-9]+)\ by\ the\ trackers.*\ ([0-9]+)\ by\ the\ merger ]] &&
    [ "${BASH_REMATCH[1]}" -gt 0 ] && grep -q "refused for memory" "$TMP/a4.err"; then
    ok "analyze --memcap-mb 4: '$line' in the summary, and a warning"
else
    bad "analyze --memcap-mb 4: no memcap drops in the summary ('$line')"
fi
trk=$(sqlite3 "$TMP/a4.sqlite" "SELECT sum(value) FROM node_stats WHERE kind = 'tracker'
    AND counter IN ('drop_memcap', 'endpoint_drop_memcap')")
[ "${BASH_REMATCH[1]:-x}" = "$trk" ] && ok "the summary's tracker figure is the trackers' counters ($trk)" ||
    bad "summary ${BASH_REMATCH[1]:-none}, trackers' counters $trk"
"$BIN/renkei" analyze --trackers 2 --memcap-mb 64 --db "$TMP/a64.sqlite" "$TMP/g.pcap" \
    >"$TMP/a64.out" 2>"$TMP/a64.err" || bad "analyze --memcap-mb 64 failed"
grep -q "memcap drops" "$TMP/a64.out" || grep -q "refused for memory" "$TMP/a64.err" && bad "analyze --memcap-mb 64 shows memcap drops" ||
    ok "analyze --memcap-mb 64: no memcap drops shown"
test_summary
