#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench_keep.sh: what crash safety costs. The same loopback cluster (merger,
# 2 trackers, splitter, one capture collector, TCP on 127.0.0.1, no CURVE)
# runs a generated capture twice: plain, and with everything a cluster that
# survives any crash needs (docs/OPERATIONS.md "Deploy": merger ack_listen
# and merger_ack everywhere, tracker state_dir + ack_listen, splitter
# state_dir + ack_listen + tracker_ack + spill_dir, collector state +
# splitter_ack). Prints, for each, the wall seconds and the CPU seconds of
# all five processes, and the ratios. Asserts nothing.
#   bench/bench_keep.sh [--quick] [--keep DIR]
set -euo pipefail
SRC=${RENKEI_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${RENKEI_BIN:-$SRC/build/bin}
PACKETS=2000000
KEEP=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) PACKETS=300000 ;;
        --keep) KEEP=$2; shift ;;
        --help|-h) sed -n 3,11p "$0"; echo "  supports --quick"; exit 0 ;;
        *) echo "bench_keep.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
for b in renkei-gen renkei-merger renkei-tracker renkei-splitter renkei-collector; do
    [ -x "$BIN/$b" ] || { echo "bench_keep.sh: $BIN/$b not built" >&2; exit 77; }
done
command -v sqlite3 >/dev/null || { echo "bench_keep.sh: sqlite3 not installed" >&2; exit 77; }
. "$SRC/test/integration/lib.sh"
TMP=${KEEP:-$(mktemp -d)}
mkdir -p "$TMP"
[ -n "$KEEP" ] || trap 'rm -rf "$TMP"' EXIT
"$BIN/renkei-gen" --seed 11 --packets $PACKETS --snaplen 128 --duration 300 \
    --out "$TMP/g.pcap" --truth "$TMP/g.json" >/dev/null 2>&1

# run NAME SAFE: the cluster on the capture; prints "WALL CPU" (seconds)
run() {
    local name=$1 safe=$2 d=$TMP/$1
    rm -rf "$d"
    mkdir -p "$d/t0" "$d/t1" "$d/s" "$d/spill"
    read -r PM PA PT0 PT1 PK0 PK1 PS PSA < <(free_ports 8)
    local L=tcp://127.0.0.1
    local mer=() trk0=() trk1=() spl=() col=()
    if [ "$safe" = 1 ]; then
        mer=(--ack-listen "$L:$PA")
        trk0=(--merger-ack "$L:$PA" --state-dir "$d/t0" --ack-listen "$L:$PK0")
        trk1=(--merger-ack "$L:$PA" --state-dir "$d/t1" --ack-listen "$L:$PK1")
        spl=(--merger-ack "$L:$PA" --state-dir "$d/s" --ack-listen "$L:$PSA" --spill-dir "$d/spill"
            --tracker-ack "$L:$PK0" --tracker-ack "$L:$PK1")
        col=(--state "$d/c.state" --splitter-ack "$L:$PSA")
    fi
    local t0 t1
    t0=$(date +%s.%N)
    (
        "$BIN/renkei-merger" --insecure-lab --listen "$L:$PM" --db "$d/db.sqlite" --trackers 2 \
            --exit-on-eos "${mer[@]}" 2>"$d/m.log" &
        "$BIN/renkei-tracker" --insecure-lab --id 0 --listen "$L:$PT0" --merger "$L:$PM" \
            --exit-on-eos "${trk0[@]}" 2>"$d/t0.log" &
        "$BIN/renkei-tracker" --insecure-lab --id 1 --listen "$L:$PT1" --merger "$L:$PM" \
            --exit-on-eos "${trk1[@]}" 2>"$d/t1.log" &
        "$BIN/renkei-splitter" --insecure-lab --listen "$L:$PS" --tracker "$L:$PT0" \
            --tracker "$L:$PT1" --merger "$L:$PM" --collectors 1 --epoch-seconds 10 \
            "${spl[@]}" 2>"$d/s.log" &
        "$BIN/renkei-collector" --insecure-lab --id 1 --pcap "$TMP/g.pcap" --splitter "$L:$PS" \
            --merger "$L:$PM" "${col[@]}" 2>"$d/c.log" &
        wait
        times >"$d/times"
    )
    t1=$(date +%s.%N)
    local lost
    lost=$(sqlite3 "$d/db.sqlite" "SELECT value FROM meta WHERE key = 'records_lost'")
    [ "$lost" = 0 ] || echo "bench_keep.sh: $name: records_lost ${lost:-missing}" >&2
    # `times`: the shell's own line, then its children's user and system time
    python3 - "$d/times" "$t0" "$t1" <<'EOF'
import re, sys
lines = open(sys.argv[1]).read().split("\n")
def secs(tok):
    m = re.match(r"(\d+)m([\d.]+)s", tok)
    return int(m.group(1)) * 60 + float(m.group(2))
user, sysc = (secs(t) for t in lines[1].split())
print(f"{float(sys.argv[3]) - float(sys.argv[2]):.2f} {user + sysc:.2f}")
EOF
}

read -r pw pc < <(run plain 0)
read -r sw sc < <(run safe 1)
echo "capture: $PACKETS packets; plain: wall $pw s, cpu $pc s; crash-safe: wall $sw s, cpu $sc s"
echo "RESULT keep_plain_wall $pw s"
echo "RESULT keep_plain_cpu $pc s"
echo "RESULT keep_safe_wall $sw s"
echo "RESULT keep_safe_cpu $sc s"
python3 -c "import sys; print('RESULT keep_cpu_ratio %.2f x' % (float(sys.argv[2]) / float(sys.argv[1])))" "$pc" "$sc"
python3 -c "import sys; print('RESULT keep_wall_ratio %.2f x' % (float(sys.argv[2]) / float(sys.argv[1])))" "$pw" "$sw"
