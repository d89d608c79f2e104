#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A run that starts with a retired tracker index (docs/OPERATIONS.md "A
# tracker removed"): the splitter is given trackers 0, none and 2, as after
# tracker 1 was removed from a cluster of three. The others keep their
# indexes; the even split goes to them; the merger awaits nothing from
# index 1 (no results, no end of stream, no liveness). The export must be
# byte-identical to `renkei analyze --trackers 2` of the same capture, the
# run complete with 0 records lost. Then the configuration errors: a range
# rule naming the retired tracker, a tracker_ack that is not 'none' at its
# index, and every tracker retired are refused at start (exit 2) naming the
# line.
set -euo pipefail
BIN=${RENKEI_BIN:?RENKEI_BIN not set}
SRC=${RENKEI_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "skipped: sqlite3 not installed"; exit 77; }
test_setup retired

CAP=$SRC/sample/enterprise.pcap
M=ipc://$TMP/m T0=ipc://$TMP/t0 T2=ipc://$TMP/t2 S=ipc://$TMP/s
"$BIN/renkei-merger" --insecure-lab --listen "$M" --db "$TMP/run.sqlite" --trackers 3 \
    --exit-on-eos 2>"$TMP/m.log" &
MPID=$!
"$BIN/renkei-tracker" --insecure-lab --id 0 --listen "$T0" --merger "$M" --exit-on-eos \
    2>"$TMP/t0.log" &
"$BIN/renkei-tracker" --insecure-lab --id 2 --listen "$T2" --merger "$M" --exit-on-eos \
    2>"$TMP/t2.log" &
"$BIN/renkei-splitter" --insecure-lab --listen "$S" --tracker "$T0" --tracker none \
    --tracker "$T2" --merger "$M" --collectors 1 --epoch-seconds 10 2>"$TMP/s.log" &
"$BIN/renkei-collector" --insecure-lab --id 1 --pcap "$CAP" --splitter "$S" --merger "$M" \
    2>"$TMP/c.log" &
for _ in $(seq 1200); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$MPID" 2>/dev/null; then
    bad "the run did not end within 120 s (the merger waits for the retired index?)"
    tail -5 "$TMP"/*.log
    exit 1
fi
rc=0
wait "$MPID" || rc=$?
meta() { sqlite3 "$TMP/run.sqlite" "SELECT value FROM meta WHERE key = '$1'"; }
[ "$rc" -eq 0 ] && [ "$(meta run_state)" = complete ] && [ "$(meta records_lost)" = 0 ] &&
    ok "trackers 0, none, 2: the run is complete, 0 records lost (merger exit 0)" ||
    bad "merger exit $rc, run_state $(meta run_state), records_lost $(meta records_lost) ($(meta records_lost_where))"
grep -q "cut by 2 trackers (retired: 1)" "$TMP/m.log" &&
    ok "the merger knows index 1 is retired" || bad "merger log: $(grep "shard map" "$TMP/m.log")"
"$BIN/renkei" analyze --trackers 2 --db "$TMP/ref.sqlite" "$CAP" >"$TMP/ref.log" 2>&1 ||
    bad "renkei analyze failed: $(tail -2 "$TMP/ref.log")"
"$BIN/renkei" export --db "$TMP/run.sqlite" --format json --out "$TMP/run.json"
"$BIN/renkei" export --db "$TMP/ref.sqlite" --format json --out "$TMP/ref.json"
cmp -s "$TMP/run.json" "$TMP/ref.json" &&
    ok "its export is byte-identical to renkei analyze --trackers 2 of the same capture" ||
    bad "export differs: $(diff <(python3 -m json.tool "$TMP/run.json") \
        <(python3 -m json.tool "$TMP/ref.json") | head -5)"

# configuration errors, each refused at start naming its line
conf() { # NAME: the splitter section with the lines on stdin
    { echo "[splitter]"; echo "listen = ipc://$TMP/x"; echo "merger = ipc://$TMP/y"
      echo "insecure_lab = true"; cat; } >"$TMP/$1.conf"
}
refused() { # NAME PATTERN WHAT
    local rc=0
    timeout 20 "$BIN/renkei-splitter" --config "$TMP/$1.conf" --section splitter \
        >/dev/null 2>"$TMP/$1.err" || rc=$?
    [ "$rc" -eq 2 ] && grep -q "$2" "$TMP/$1.err" && ok "refused at start: $3" ||
        bad "$3: exit $rc, $(head -2 "$TMP/$1.err")"
}
printf 'tracker = ipc://%s/a\ntracker = none\nrange = 10.0.0.0/8 1\n' "$TMP" | conf rule
refused rule "$TMP/rule.conf:7: range: .*tracker 1 is retired" "a range rule naming the retired tracker"
printf 'spill_dir = %s\ntracker = ipc://%s/a\ntracker = none\ntracker_ack = ipc://%s/b\ntracker_ack = ipc://%s/c\n' \
    "$TMP" "$TMP" "$TMP" "$TMP" | conf ack
refused ack "$TMP/ack.conf:.*a retired tracker is 'none' in both" "a tracker_ack that is not 'none' for the retired tracker"
printf 'tracker = none\ntracker = none\n' | conf all
refused all "every one of the 2 trackers is retired" "every tracker retired"

test_summary
