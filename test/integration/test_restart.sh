#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A tracker killed (-9) mid-run and started again (docs/OPERATIONS.md
# "Restarts"): the daemons run as a cluster would (merger, 2 trackers,
# splitter, one capture collector, over TCP on 127.0.0.1); once
# the merger has committed an epoch, tracker 1 is killed and restarted. The
# splitter must see it connect again and send it the shard map again
# (shard_maps_resent = 1, logged), the new tracker must own its ranges
# (endpoint rows), and the records the dead one took with it must be counted
# lost and placed ("splitter -> tracker 1"), never reported as a clean run.
set -euo pipefail
BIN=${RENKEI_BIN:?RENKEI_BIN not set}
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "skipped: sqlite3 not installed"; exit 77; }
test_setup restart

"$BIN/renkei-gen" --seed 9 --packets 4000000 --snaplen 128 --duration 600 \
    --out "$TMP/g.pcap" --truth "$TMP/g.json" 2>/dev/null
# four free ports on 127.0.0.1
read -r PM PT0 PT1 PS < <(free_ports 4)
M=tcp://127.0.0.1:$PM T0=tcp://127.0.0.1:$PT0 T1E=tcp://127.0.0.1:$PT1 S=tcp://127.0.0.1:$PS
DB=$TMP/rt.sqlite
"$BIN/renkei-merger" --insecure-lab --listen "$M" --db "$DB" --trackers 2 --exit-on-eos \
    2>"$TMP/m.log" &
MPID=$!
"$BIN/renkei-tracker" --insecure-lab --id 0 --listen "$T0" --merger "$M" --exit-on-eos \
    2>"$TMP/t0.log" &
"$BIN/renkei-tracker" --insecure-lab --id 1 --listen "$T1E" --merger "$M" --exit-on-eos \
    2>"$TMP/t1.log" &
T1=$!
"$BIN/renkei-splitter" --insecure-lab --listen "$S" --tracker "$T0" --tracker "$T1E" \
    --merger "$M" --collectors 1 --epoch-seconds 10 2>"$TMP/s.log" &
"$BIN/renkei-collector" --insecure-lab --id 1 --pcap "$TMP/g.pcap" --splitter "$S" \
    --merger "$M" --file-prefix "rk-restart-$$" 2>"$TMP/c.log" &

# mid-run: once the merger has committed an epoch
for _ in $(seq 1 600); do
    n=$(sqlite3 "$DB" "SELECT COUNT(*) FROM epochs" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 1 ] && break
    sleep 0.1
done
[ "${n:-0}" -ge 1 ] || { bad "no epoch committed within 60 s"; cat "$TMP"/*.log; exit 1; }
kill -9 "$T1"
wait "$T1" 2>/dev/null || true
sleep 0.3
"$BIN/renkei-tracker" --insecure-lab --id 1 --listen "$T1E" --merger "$M" --exit-on-eos \
    2>"$TMP/t1b.log" &
rc=0
for _ in $(seq 1 3000); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$MPID" 2>/dev/null; then
    bad "merger still running 300 s after the restart"
    exit 1
fi
wait "$MPID" || rc=$?
q() { sqlite3 "$DB" "$1"; }
[ "$rc" -ne 0 ] && ok "merger exits non-zero (status $rc): the run lost records" ||
    bad "merger exited 0 although a tracker died with records"
[ "$(q "SELECT value FROM node_stats WHERE kind = 'splitter' AND counter = 'shard_maps_resent'")" = 1 ] &&
    ok "splitter sent the shard map again to the restarted tracker" ||
    bad "shard_maps_resent is not 1"
grep -q "tracker 1 connected again" "$TMP/s.log" && ok "splitter logs the reconnection" ||
    bad "no reconnection in the splitter's log"
ep=$(q "SELECT value FROM node_stats WHERE kind = 'tracker' AND node_id = 1 AND counter = 'endpoints'")
[ "${ep:-0}" -gt 0 ] && ok "restarted tracker owns its ranges ($ep endpoints)" ||
    bad "restarted tracker kept no endpoint evidence"
lost=$(q "SELECT value FROM meta WHERE key = 'records_lost'")
where=$(q "SELECT value FROM meta WHERE key = 'records_lost_where'")
[ "${lost:-0}" -gt 0 ] && ok "records_lost = $lost (what died with tracker 1)" ||
    bad "records_lost is ${lost:-none}"
case "$where" in
*"tracker 1"*) ok "records_lost_where names it: $where" ;;
*) bad "records_lost_where does not name tracker 1: $where" ;;
esac
test_summary
