#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A capture collector stopped mid-file resumes where it stopped, never from
# the start (docs/OPERATIONS.md "Restarts"; collector/col_state.h). The
# daemons run as a cluster would (merger, 2 trackers, splitter, one capture
# collector with --state, TCP on 127.0.0.1), against `renkei analyze` of the
# same capture:
#  1. SIGTERM mid-file, then the collector started again: it resumes after
#     the frame it had reached, nothing is lost and the export equals the
#     uninterrupted run's (the run is clean: merger exit 0, records_lost 0);
#  2. kill -9 mid-file, then started again: it resumes after the last batch
#     it handed over; the batches that died in its queue are counted lost,
#     exactly: records received + records_lost = the uninterrupted run's
#     records, no record arrives twice, and the run is not reported clean;
#  3. a port collector with --state killed and started again: its batch
#     sequence goes on and the loss is counted exactly;
#  4. a state file of another capture, and a damaged one, are refused.
set -euo pipefail
BIN=${RENKEI_BIN:?RENKEI_BIN not set}
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "skipped: sqlite3 not installed"; exit 77; }
test_setup resume

"$BIN/renkei-gen" --seed 5 --packets 3000000 --snaplen 128 --duration 600 \
    --out "$TMP/g.pcap" --truth "$TMP/g.json" 2>/dev/null
"$BIN/renkei" analyze --trackers 2 --epoch-seconds 10 --db "$TMP/ref.sqlite" \
    --export "$TMP/ref.json" "$TMP/g.pcap" >"$TMP/ref.log" 2>&1 ||
    { cat "$TMP/ref.log"; echo "FAIL reference analyze"; exit 1; }
REF_RECORDS=$(sqlite3 "$TMP/ref.sqlite" \
    "SELECT value FROM node_stats WHERE kind = 'splitter' AND counter = 'records_received'")
echo "reference: $REF_RECORDS records"

# cluster NAME SIGNAL: run the cluster, stop the collector with SIGNAL once
# the merger committed an epoch, start it again; sets DB, MRC (merger status).
# A collector that read the whole capture first (a fast machine, a slow
# merger) was not stopped mid-file: the run is made again, at most 3 times.
cluster() {
    local try
    for try in 1 2 3; do
        cluster_once "$@" && return 0
        echo "     $1: the collector had read the whole capture before SIG$2: again"
    done
    bad "$1: the collector could not be stopped mid-file in 3 runs"
    exit 1
}
cluster_once() {
    local name=$1 sig=$2
    read -r PM PT0 PT1 PS < <(free_ports 4)
    local M=tcp://127.0.0.1:$PM T0=tcp://127.0.0.1:$PT0 T1=tcp://127.0.0.1:$PT1
    local S=tcp://127.0.0.1:$PS
    DB=$TMP/$name.sqlite
    "$BIN/renkei-merger" --insecure-lab --listen "$M" --db "$DB" --trackers 2 --exit-on-eos \
        2>"$TMP/$name.m.log" &
    local mpid=$!
    "$BIN/renkei-tracker" --insecure-lab --id 0 --listen "$T0" --merger "$M" --exit-on-eos \
        2>"$TMP/$name.t0.log" &
    "$BIN/renkei-tracker" --insecure-lab --id 1 --listen "$T1" --merger "$M" --exit-on-eos \
        2>"$TMP/$name.t1.log" &
    "$BIN/renkei-splitter" --insecure-lab --listen "$S" --tracker "$T0" --tracker "$T1" \
        --merger "$M" --collectors 1 --epoch-seconds 10 2>"$TMP/$name.s.log" &
    local col=("$BIN/renkei-collector" --insecure-lab --id 1 --pcap "$TMP/g.pcap"
        --splitter "$S" --merger "$M" --state "$TMP/$name.state")
    "${col[@]}" 2>"$TMP/$name.c1.log" &
    local cpid=$! n=0
    for _ in $(seq 1 600); do
        n=$(sqlite3 "$DB" "SELECT COUNT(*) FROM epochs" 2>/dev/null || echo 0)
        [ "${n:-0}" -ge 1 ] && break
        sleep 0.1
    done
    [ "${n:-0}" -ge 1 ] || { bad "$name: no epoch committed within 60 s"; exit 1; }
    kill "-$sig" "$cpid" 2>/dev/null || true
    wait "$cpid" 2>/dev/null || true
    "${col[@]}" 2>"$TMP/$name.c2.log" &
    MRC=0
    for _ in $(seq 1 3000); do kill -0 "$mpid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$mpid" 2>/dev/null && { bad "$name: merger still running after 300 s"; exit 1; }
    wait "$mpid" || MRC=$?
    wait
    # read to its end before the signal: not the case under test
    if grep -q "the run was complete" "$TMP/$name.c2.log" ||
        grep -q "resuming after frame $REF_RECORDS " "$TMP/$name.c2.log"; then
        rm -f "$TMP/$name.state" "$DB"*
        return 1
    fi
}
q() { sqlite3 "$DB" "$1"; }
spl() { q "SELECT value FROM node_stats WHERE kind = 'splitter' AND counter = '$1'"; }

# 1. SIGTERM: stop cleanly (no end of stream), resume, nothing lost.
cluster term TERM
resumed=$(sed -n 's/.*resuming after frame \([0-9]*\).*/\1/p' "$TMP/term.c2.log")
[ -n "$resumed" ] && ok "SIGTERM: the collector resumed after frame $resumed" ||
    bad "SIGTERM: no resume in the second collector's log"
[ "$MRC" -eq 0 ] && ok "SIGTERM: merger exit 0 (a clean run)" || bad "SIGTERM: merger exit $MRC"
[ "$(spl records_received)" = "$REF_RECORDS" ] &&
    ok "SIGTERM: splitter received exactly the $REF_RECORDS records" ||
    bad "SIGTERM: splitter received $(spl records_received), not $REF_RECORDS"
[ "$(q "SELECT value FROM meta WHERE key = 'records_lost'")" = 0 ] &&
    ok "SIGTERM: records_lost = 0" || bad "SIGTERM: records_lost is not 0"
"$BIN/renkei" export --db "$DB" --out "$TMP/term.json" 2>"$TMP/term.export.log" ||
    bad "SIGTERM: export failed"
if python3 - "$TMP/ref.json" "$TMP/term.json" <<'EOF'; then
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    d.pop("meta", None)
sys.exit(0 if a == b else 1)
EOF
    ok "SIGTERM: the export equals the uninterrupted run's (meta aside)"
else
    bad "SIGTERM: the export differs from the uninterrupted run's"
fi

# 2. kill -9: the batches in its queue die with it, counted exactly.
cluster kill KILL
resumed=$(sed -n 's/.*resuming after frame \([0-9]*\).*/\1/p' "$TMP/kill.c2.log")
[ -n "$resumed" ] && ok "kill -9: the collector resumed after frame $resumed" ||
    bad "kill -9: no resume in the second collector's log"
recv=$(spl records_received)
lost=$(q "SELECT value FROM meta WHERE key = 'records_lost'")
dup=$(spl records_duplicate)
echo "     received $recv, lost $lost, reference $REF_RECORDS"
[ $((recv + lost)) -eq "$REF_RECORDS" ] &&
    ok "kill -9: received + records_lost = the uninterrupted run's records" ||
    bad "kill -9: received $recv + lost $lost != $REF_RECORDS"
[ "$recv" -le "$REF_RECORDS" ] && [ "${dup:-0}" -eq 0 ] &&
    ok "kill -9: no record arrived twice" || bad "kill -9: $recv received, $dup duplicates"
[ "$(spl collector_resumes)" = 1 ] && ok "kill -9: the splitter saw the resume" ||
    bad "kill -9: collector_resumes is $(spl collector_resumes)"
if [ "${lost:-0}" -gt 0 ]; then
    [ "$MRC" -ne 0 ] && ok "kill -9: $lost records lost, the merger exits $MRC (not clean)" ||
        bad "kill -9: $lost records lost but the merger exited 0"
else
    ok "kill -9: nothing was in the collector's queue (run clean)"
fi

# 3. a port (here DPDK's net_pcap vdev through --eal, as a NIC would be)
#    with --state, killed (-9) and started again: its batch sequence goes on
#    (the splitter sees a resume, not "restarted without end of stream"), so
#    what died in its queue is a gap, counted exactly by the end of stream
#    that covers both processes: received + records_lost = records sent.
read -r PM PT PS < <(free_ports 3)
M=tcp://127.0.0.1:$PM T=tcp://127.0.0.1:$PT S=tcp://127.0.0.1:$PS
DB=$TMP/port.sqlite
"$BIN/renkei-merger" --insecure-lab --listen "$M" --db "$DB" --trackers 1 --exit-on-eos \
    2>"$TMP/port.m.log" &
MPID=$!
"$BIN/renkei-tracker" --insecure-lab --id 0 --listen "$T" --merger "$M" --exit-on-eos \
    2>"$TMP/port.t.log" &
"$BIN/renkei-splitter" --insecure-lab --listen "$S" --tracker "$T" --merger "$M" \
    --collectors 1 --epoch-seconds 10 2>"$TMP/port.s.log" &
# net_pcap's infinite_rx holds the whole capture in mbufs (8191 of them)
"$BIN/renkei-gen" --seed 8 --packets 4000 --snaplen 128 --out "$TMP/small.pcap" 2>/dev/null
port() { # log max_packets
    "$BIN/renkei-collector" --insecure-lab --id 1 --splitter "$S" --state "$TMP/port.state" \
        --file-prefix "rk-resume-port-$$" --max-packets "$2" \
        --eal "--no-huge --no-pci -m 512 --no-telemetry --vdev net_pcap0,rx_pcap=$TMP/small.pcap,infinite_rx=1,tx_pcap=/dev/null" \
        2>"$TMP/$1" &
}
port port.c1.log 100000000 # a port never ends: killed mid-stream
CP=$!
for _ in $(seq 1 300); do
    grep -q "running: sending" "$TMP/port.c1.log" 2>/dev/null && break
    sleep 0.1
done
sleep 1.5
kill -9 "$CP"
wait "$CP" 2>/dev/null || true
port port.c2.log 200000
wait $!
for _ in $(seq 1 600); do kill -0 "$MPID" 2>/dev/null || break; sleep 0.1; done
wait "$MPID" 2>/dev/null || true
DB0=$DB
DB=$TMP/port.sqlite
grep -q "resuming the batch sequence after batch" "$TMP/port.c2.log" &&
    ok "port: the restarted collector resumed its batch sequence" ||
    bad "port: no resume in the second collector's log"
[ "$(spl collector_resumes)" = 1 ] && ! grep -q "restarted without end of stream" "$TMP/port.s.log" &&
    ok "port: the splitter saw a resume, not a restart" || bad "port: the splitter did not see a resume"
recv=$(spl records_received)
lost=$(q "SELECT value FROM meta WHERE key = 'records_lost'")
sent=$(q "SELECT SUM(value) FROM node_stats WHERE kind = 'collector' AND counter = 'records_sent'")
echo "     port: sent $sent (both processes), received $recv, lost $lost"
[ -n "$sent" ] && [ $((recv + lost)) -eq "$sent" ] &&
    ok "port: received + records_lost = records sent by both processes" ||
    bad "port: received $recv + lost $lost != sent $sent"

# 4. a state file that does not fit is refused, with a message.
"$BIN/renkei-gen" --seed 6 --packets 1000 --out "$TMP/other.pcap" 2>/dev/null
if "$BIN/renkei-collector" --insecure-lab --id 1 --pcap "$TMP/other.pcap" \
    --splitter tcp://127.0.0.1:1 --state "$TMP/kill.state" 2>"$TMP/other.log"; then
    bad "a state file of another capture was accepted"
else
    grep -q "another capture" "$TMP/other.log" && ok "a state file of another capture: refused" ||
        { bad "no clear message for another capture's state"; cat "$TMP/other.log"; }
fi
head -c 9000 /dev/urandom >"$TMP/junk.state"
if "$BIN/renkei-collector" --insecure-lab --id 1 --pcap "$TMP/other.pcap" \
    --splitter tcp://127.0.0.1:1 --state "$TMP/junk.state" 2>"$TMP/junk.log"; then
    bad "a damaged state file was accepted"
else
    grep -q "damaged" "$TMP/junk.log" && ok "a damaged state file: refused" ||
        { bad "no clear message for a damaged state"; cat "$TMP/junk.log"; }
fi
test_summary
