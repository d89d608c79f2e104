#!/bin/sh
# SPDX-License-Identifier: MIT
# bench_collector.sh: collector packets/s on one RX core, DPDK's net_pcap vdev
# looping a capture from memory (infinite_rx=1, tx_pcap=/dev/null), for mixed
# generated traffic (renkei-gen, full snaplen) and for 64-byte frames. The
# collector sends its batches to a discarding PULL sink (bench_wire --sink)
# and stops after --duration seconds, logging its rate, its drops and its CPU
# time.
#
# Transport: ipc:// by default. Over TCP loopback the sink's kernel receive
# path costs ~40 ns per record (the collector's whole send path ~25), so on 2
# cores the sink, not the collector, capped the run at ~12 Mpps with
# queue_full drops; a Unix socket costs the sink ~12 ns per record. The
# collector's code path is the same ZeroMQ PUSH either way.
# RENKEI_BENCH_TRANSPORT=tcp measures over TCP loopback instead.
#
# Layout, as a DPDK deployment would have it: the RX lcore is pinned to the
# last allowed CPU; the collector keeps its sender and ZeroMQ threads on the
# other CPUs (col_port_helper_cpus) and the sink is pinned there too, so
# neither the send path nor the sink takes time from the RX core. With one
# CPU, or RENKEI_BENCH_FLOAT=1, everything floats over all CPUs.
#
# Drops, by kind: rx_missed = rte_eth_stats imissed (the port's ring was full:
# RX too slow; the looping pcap vdev only makes packets when polled, so it
# never misses and RX speed shows as the rate instead), rx_nombuf, and
# queue_full = records dropped because the send path (sender thread, ZeroMQ,
# kernel, sink) fell behind and no free batch was left; lossless is off as
# for a live port. On a shared host the rate says how much CPU the RX thread
# got; rx_ns_per_pkt (RX thread CPU time per packet) says what it needs:
# below 67 ns it sustains 14.88 Mpps on a core of its own.
# Captures are written to a temporary directory and removed at exit.
#
# Usage: bench/bench_collector.sh [--quick] [BUILD_DIR]
# Binaries from BUILD_DIR/bin, else $RENKEI_BIN (bench/run sets it), else build-perf/bin.
# Prints human lines and RESULT collector_mpps_{mixed,64b},
# collector_rx_ns_per_pkt_{mixed,64b}, collector_rx_drops_{mixed,64b} (all
# kinds), collector_queue_drops_{mixed,64b} and collector_rx_drops (total).
set -eu

DUR=10
if [ "${1:-}" = "--quick" ]; then
    DUR=3
    shift
fi
HERE=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${1:-}" ]; then
    BIN=$1/bin
else
    BIN=${RENKEI_BIN:-$HERE/build-perf/bin}
fi
for b in renkei-collector renkei-gen bench_wire; do
    [ -x "$BIN/$b" ] || { echo "bench_collector: $BIN/$b missing (build first)" >&2; exit 2; }
done
PKTS=4000 # the whole capture is held in mbufs of the collector's RX pool (8191)
TMP=$(mktemp -d /tmp/renkei-bench-col.XXXXXX)
SINK_PID=
cleanup() {
    [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# mixed: the generator's enterprise traffic, first $PKTS packets
"$BIN/renkei-gen" --seed 7 --packets $((PKTS * 2)) --out "$TMP/gen.pcap" \
    --truth "$TMP/gen.truth.json" >/dev/null
python3 - "$TMP" "$PKTS" <<'EOF'
import random, struct, sys
tmp, n = sys.argv[1], int(sys.argv[2])
data = open(tmp + "/gen.pcap", "rb").read()
out, off, sizes = [data[:24]], 24, []
while off + 16 <= len(data) and len(sizes) < n:
    incl = struct.unpack_from("<I", data, off + 8)[0]
    out.append(data[off:off + 16 + incl])
    sizes.append(incl)
    off += 16 + incl
open(tmp + "/mixed.pcap", "wb").write(b"".join(out))
# 64-byte packets on the wire = 60-byte frames without FCS: Ethernet, IPv4, TCP ACK, 6 pad bytes
r = random.Random(1)
hdr = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
recs = [hdr]
for i in range(n):
    src = bytes([10, r.randrange(256), r.randrange(256), r.randrange(1, 255)])
    dst = bytes([172, 16, r.randrange(16), r.randrange(1, 255)])
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i & 0xffff, 0, 64, 6, 0, src, dst)
    tcp = struct.pack("!HHIIBBHHH", r.randrange(1024, 65535), 443, i, 1, 0x50, 0x10, 512, 0, 0)
    frame = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00" + ip + tcp + b"\0" * 6
    recs.append(struct.pack("<IIII", 1767225600 + i // 1000000, i % 1000000, 60, 60) + frame)
open(tmp + "/64b.pcap", "wb").write(b"".join(recs))
print("captures: mixed %d packets (mean %.0f B), 64b %d packets" % (len(sizes), sum(sizes) / len(sizes), n))
EOF

if [ "${RENKEI_BENCH_TRANSPORT:-ipc}" = tcp ]; then
    ENDPOINT="tcp://127.0.0.1:$((20000 + $$ % 20000))"
    INSECURE=--insecure-lab # a plaintext sink on this host
else
    ENDPOINT="ipc://$TMP/sink.ipc"
    INSECURE=
fi
NCPU=$(nproc)
LCORES='0@(0-'$((NCPU - 1))')'
SINK_CPUS=
if [ "$NCPU" -ge 2 ] && [ "${RENKEI_BENCH_FLOAT:-0}" != 1 ] && command -v taskset >/dev/null; then
    LCORES="0@$((NCPU - 1))"
    SINK_CPUS="0-$((NCPU - 2))"
fi
if [ -n "$SINK_CPUS" ]; then
    taskset -c "$SINK_CPUS" "$BIN/bench_wire" --sink "$ENDPOINT" $((2 * DUR + 30)) \
        >"$TMP/sink.log" 2>&1 &
else
    "$BIN/bench_wire" --sink "$ENDPOINT" $((2 * DUR + 30)) >"$TMP/sink.log" 2>&1 &
fi
SINK_PID=$!
echo "layout: RX lcore $LCORES, sink CPUs ${SINK_CPUS:-any}, sink at $ENDPOINT"

sink_cpu() { # utime + stime of the sink in clock ticks
    awk '{print $14 + $15}' "/proc/$SINK_PID/stat" 2>/dev/null || echo 0
}

DROPS=0
run() { # name capture
    log=$TMP/$1.log
    s0=$(sink_cpu)
    "$BIN/renkei-collector" --id 1 --splitter "$ENDPOINT" $INSECURE --stats-interval 0 \
        --duration "$DUR" --file-prefix "renkei-bench-$$-$1" \
        --eal "--lcores $LCORES --no-huge --no-pci -m 512 --no-telemetry --no-shconf --log-level=*:warning --vdev net_pcap0,rx_pcap=$2,infinite_rx=1,tx_pcap=/dev/null" \
        >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
    s1=$(sink_cpu)
    line=$(grep 'rx rate:' "$log" | tail -1)
    echo "$1: ${line#*rx rate: }"
    echo "$1: sink cpu $(awk -v t=$((s1 - s0)) -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.2f", t / hz}') s"
    mpps=$(echo "$line" | sed -n 's/.*s: \([0-9.]*\) Mpps.*/\1/p')
    ns=$(echo "$line" | sed -n 's/.*cpu rx [0-9.]* s (\([0-9.]*\) ns\/packet).*/\1/p')
    d=$(echo "$line" | sed -n 's/.*rx_missed \([0-9]*\) rx_nombuf \([0-9]*\) queue_full \([0-9]*\).*/\1 \2 \3/p')
    set -- "$1" $d
    echo "RESULT collector_mpps_$1 $mpps Mpps"
    [ -n "$ns" ] && echo "RESULT collector_rx_ns_per_pkt_$1 $ns ns"
    echo "RESULT collector_rx_drops_$1 $(($2 + $3 + $4)) packets"
    echo "RESULT collector_queue_drops_$1 $4 packets"
    DROPS=$((DROPS + $2 + $3 + $4))
}
run mixed "$TMP/mixed.pcap"
run 64b "$TMP/64b.pcap"
echo "RESULT collector_rx_drops $DROPS packets"
