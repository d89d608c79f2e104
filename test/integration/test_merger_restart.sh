#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The merger killed (-9) mid-run and started again loses nothing
# (docs/OPERATIONS.md "Restarts"): the daemons run as a cluster would
# (merger with ack_listen, 2 trackers and the splitter with merger_ack, one
# capture collector, TCP on 127.0.0.1). Once the merger has committed 3
# epochs it is killed and, 1 s later, started again on the same database:
# it resumes the run (log "resuming the run"), the trackers and the splitter
# see it connect again and send what it had not acknowledged, and the run
# ends complete: merger exit 0, records_lost 0, run_state complete, and the
# export equals `renkei analyze` of the same capture (meta aside). What the
# killed merger had committed is not counted twice (results_replayed drops
# the copies), and nothing the trackers sent is missing.
set -euo pipefail
BIN=${RENKEI_BIN:?RENKEI_BIN not set}
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "skipped: sqlite3 not installed"; exit 77; }
test_setup mrestart

"$BIN/renkei-gen" --seed 7 --packets 2000000 --snaplen 128 --duration 600 \
    --out "$TMP/g.pcap" --truth "$TMP/g.json" 2>/dev/null
"$BIN/renkei" analyze --trackers 2 --epoch-seconds 10 --db "$TMP/ref.sqlite" \
    --export "$TMP/ref.json" "$TMP/g.pcap" >"$TMP/ref.log" 2>&1 ||
    { cat "$TMP/ref.log"; echo "FAIL reference analyze"; exit 1; }

read -r PM PA PT0 PT1 PS < <(free_ports 5)
M=tcp://127.0.0.1:$PM A=tcp://127.0.0.1:$PA T0=tcp://127.0.0.1:$PT0 T1=tcp://127.0.0.1:$PT1
S=tcp://127.0.0.1:$PS
DB=$TMP/run.sqlite
merger=("$BIN/renkei-merger" --insecure-lab --listen "$M" --ack-listen "$A" --db "$DB"
    --trackers 2 --exit-on-eos)
"${merger[@]}" 2>"$TMP/m1.log" &
MPID=$!
"$BIN/renkei-tracker" --insecure-lab --id 0 --listen "$T0" --merger "$M" --merger-ack "$A" \
    --exit-on-eos 2>"$TMP/t0.log" &
T0PID=$!
"$BIN/renkei-tracker" --insecure-lab --id 1 --listen "$T1" --merger "$M" --merger-ack "$A" \
    --exit-on-eos 2>"$TMP/t1.log" &
T1PID=$!
"$BIN/renkei-splitter" --insecure-lab --listen "$S" --tracker "$T0" --tracker "$T1" \
    --merger "$M" --merger-ack "$A" --collectors 1 --epoch-seconds 10 2>"$TMP/s.log" &
SPID=$!
"$BIN/renkei-collector" --insecure-lab --id 1 --pcap "$TMP/g.pcap" --splitter "$S" \
    --merger "$M" 2>"$TMP/c.log" &

n=0
for _ in $(seq 1 600); do
    n=$(sqlite3 "$DB" "SELECT COUNT(*) FROM epochs" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 3 ] && break
    sleep 0.1
done
[ "${n:-0}" -ge 3 ] || { bad "no 3 epochs committed within 60 s"; cat "$TMP"/*.log; exit 1; }
kill -9 "$MPID"
wait "$MPID" 2>/dev/null || true
before=$(sqlite3 "$DB" "SELECT COUNT(*) FROM epochs")
echo "     merger killed after $before committed epochs"
sleep 1
"${merger[@]}" 2>"$TMP/m2.log" &
MPID=$!
rc=0
for _ in $(seq 1 3000); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$MPID" 2>/dev/null && { bad "merger still running 300 s after the restart"; exit 1; }
wait "$MPID" || rc=$?
q() { sqlite3 "$DB" "$1"; }
grep -q "resuming the run" "$TMP/m2.log" && ok "the restarted merger resumed the run" ||
    bad "no 'resuming the run' in the restarted merger's log"
grep -q "connected again" "$TMP/t0.log" && grep -q "connected again" "$TMP/t1.log" &&
    ok "both trackers saw the merger connect again and sent again what it had not acknowledged" ||
    bad "a tracker did not see the merger connect again"
[ "$rc" -eq 0 ] && ok "merger exit 0 (a clean run)" || bad "merger exit $rc"
[ "$(q "SELECT value FROM meta WHERE key = 'run_state'")" = complete ] &&
    ok "run_state = complete" || bad "run_state is $(q "SELECT value FROM meta WHERE key = 'run_state'")"
[ "$(q "SELECT value FROM meta WHERE key = 'records_lost'")" = 0 ] &&
    ok "records_lost = 0" || bad "records_lost is $(q "SELECT value FROM meta WHERE key = 'records_lost'")"
for p in $T0PID $T1PID $SPID; do wait "$p" 2>/dev/null || true; done
"$BIN/renkei" export --db "$DB" --out "$TMP/run.json" 2>"$TMP/export.log" || bad "export failed"
if python3 - "$TMP/ref.json" "$TMP/run.json" <<'EOF'; then
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    d.pop("meta", None)
if a != b:
    for k in a:
        if a.get(k) != b.get(k):
            print("     differs:", k, len(a.get(k) or []), len(b.get(k) or []))
sys.exit(0 if a == b else 1)
EOF
    ok "the export equals the uninterrupted run's (meta aside)"
else
    bad "the export differs from the uninterrupted run's"
fi
pk_ref=$(sqlite3 "$TMP/ref.sqlite" "SELECT value FROM meta WHERE key = 'packets'")
pk=$(q "SELECT value FROM meta WHERE key = 'packets'")
[ "$pk" = "$pk_ref" ] && ok "packets = $pk, as the uninterrupted run (none twice, none lost)" ||
    bad "packets $pk, uninterrupted run $pk_ref"
test_summary
