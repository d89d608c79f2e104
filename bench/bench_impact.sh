#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench_impact.sh: how long `renkei impact` takes on a large map (target:
# under a second on a 20,000-host database). Generates an enterprise with
# renkei-gen (19,600 PCs, 400 servers; --quick: 1,960 and 40), analyses it,
# then times whole `renkei impact` processes (load the map + analysis +
# JSON written to a file) for a host, a service, a /16 and two hosts, as the
# median of 5 runs each. Prints RESULT lines for bench/run; asserts nothing.
#   bench/bench_impact.sh [--quick] [--keep DIR]
set -euo pipefail
SRC=${RENKEI_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${RENKEI_BIN:-$SRC/build/bin}
PCS=19600 SERVERS=400 PACKETS=3000000
KEEP=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) PCS=1960 SERVERS=40 PACKETS=300000 ;;
        --keep) KEEP=$2; shift ;;
        --help|-h) sed -n 3,10p "$0"; echo "  supports --quick"; exit 0 ;;
        *) echo "bench_impact.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
for b in renkei renkei-gen; do
    [ -x "$BIN/$b" ] || { echo "bench_impact.sh: $BIN/$b not built" >&2; exit 77; }
done
TMP=${KEEP:-$(mktemp -d)}
mkdir -p "$TMP"
[ -n "$KEEP" ] || trap 'rm -rf "$TMP"' EXIT
"$BIN/renkei-gen" --seed 5 --packets $PACKETS --pcs $PCS --servers $SERVERS \
    --out "$TMP/g.pcap" --truth "$TMP/g.json" >/dev/null 2>&1
"$BIN/renkei" analyze --trackers 2 --db "$TMP/g.sqlite" "$TMP/g.pcap" >/dev/null 2>&1
rm -f "$TMP/g.pcap"
hosts=$(sqlite3 "$TMP/g.sqlite" "SELECT count(*) FROM hosts")
edges=$(sqlite3 "$TMP/g.sqlite" "SELECT count(*) FROM edges")
echo "database: $hosts hosts, $edges edges"
echo "RESULT impact_db_hosts $hosts hosts"
echo "RESULT impact_db_edges $edges edges"

# median wall seconds of 5 runs of renkei impact with the given targets
median() {
    local name=$1
    shift
    local ts=()
    for _ in 1 2 3 4 5; do
        local t0 t1
        t0=$(date +%s%N)
        "$BIN/renkei" impact --db "$TMP/g.sqlite" "$@" --format json --out "$TMP/i.json"
        t1=$(date +%s%N)
        ts+=($(( (t1 - t0) / 1000 )))
    done
    local m
    m=$(printf '%s\n' "${ts[@]}" | sort -n | sed -n 3p)
    echo "RESULT $name $(awk -v u="$m" 'BEGIN { printf "%.3f", u / 1e6 }') s"
}
median impact_host_s --fail 172.16.0.10
median impact_service_s --fail 172.16.0.10:udp/53
median impact_cidr16_s --fail 172.16.0.0/16
median impact_two_hosts_s --fail 172.16.0.10 --fail 172.16.0.11
