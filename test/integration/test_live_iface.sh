#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Live capture through DPDK's net_af_packet: two network namespaces made here
# (rk-a, rk-b) joined by a veth pair; the whole pipeline runs inside rk-a on
# its own loopback and captures rk-a's veth while rk-b talks TCP and UDP to
# rk-a. The per-conversation counts in the database must equal what dumpcap
# captured on the same interface at the same time (read with tshark). A
# second collector reads an idle veth all along: with 1 s epochs, epochs must
# still be committed during the run (its heartbeats' promise moves the
# splitter's watermark), not all at the end.
# Needs root and iproute2; exits 77 (skipped) without them.
set -euo pipefail
BIN=${RENKEI_BIN:?RENKEI_BIN not set}
SRC=${RENKEI_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then
    echo "skipped: needs root and iproute2 for network namespaces"
    exit 77
fi
A=rk-a-$$
B=rk-b-$$
TMP=$(mktemp -d /tmp/renkei-live-XXXXXX)
cleanup() {
    ip netns pids "$A" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns pids "$B" 2>/dev/null | xargs -r kill 2>/dev/null || true
    sleep 0.3
    ip netns del "$A" 2>/dev/null || true
    ip netns del "$B" 2>/dev/null || true
    [ -n "${RENKEI_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$A"
ip netns add "$B"
ip link add vcap-$$ netns "$A" type veth peer name vpeer-$$ netns "$B"
ip -n "$A" link set lo up
ip -n "$B" link set lo up
ip -n "$A" addr add 10.99.0.1/24 dev vcap-$$
ip -n "$B" addr add 10.99.0.2/24 dev vpeer-$$
ip -n "$A" link set vcap-$$ up
ip -n "$B" link set vpeer-$$ up
# a second mirror port that stays idle (no address: no traffic of its own)
ip link add vidle-$$ netns "$A" type veth peer name vidlp-$$ netns "$B"
ip -n "$A" link set vidle-$$ up
inA() { ip netns exec "$A" "$@"; }
inB() { ip netns exec "$B" "$@"; }

# The pipeline inside rk-a, over IPC sockets in the test's directory.
M=ipc://$TMP/merger T=ipc://$TMP/tracker S=ipc://$TMP/splitter
inA "$BIN/renkei-merger" --listen "$M" --db "$TMP/live.sqlite" --trackers 1 --exit-on-eos \
    2>"$TMP/merger.log" &
MPID=$!
inA "$BIN/renkei-tracker" --id 0 --listen "$T" --merger "$M" --exit-on-eos 2>"$TMP/tracker.log" &
inA "$BIN/renkei-splitter" --listen "$S" --tracker "$T" --merger "$M" --collectors 2 \
    --epoch-seconds 1 2>"$TMP/splitter.log" &
# Loopback chatter in rk-a while the collector starts: net_af_packet's socket
# sees every interface until it is bound to vcap, and none of that may be
# counted (the pipeline's own ZeroMQ handshakes hit that window by chance).
inA python3 -c '
import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + 2.5
while time.time() < end:
    u.sendto(b"loopback chatter", ("127.0.0.1", 5999)); time.sleep(0.0005)
' &
CHATTER=$!
# `ip netns exec` forks: record the real pids so signals reach the programs.
inA sh -c 'echo $$ >"$0"; exec dumpcap -q -i "$1" -w "$2"' "$TMP/dumpcap.pid" vcap-$$ \
    "$TMP/ref.pcapng" 2>"$TMP/dumpcap.log" &
DJOB=$!
inA sh -c 'echo $$ >"$0"; shift; exec "$@"' "$TMP/collector.pid" x "$BIN/renkei-collector" \
    --id 1 --iface vcap-$$ --splitter "$S" --merger "$M" --file-prefix "rk-live-$$" \
    --batch-delay-ms 10 2>"$TMP/collector.log" &
CJOB=$!
inA sh -c 'echo $$ >"$0"; shift; exec "$@"' "$TMP/collector2.pid" x "$BIN/renkei-collector" \
    --id 2 --iface vidle-$$ --splitter "$S" --merger "$M" --file-prefix "rk-idle-$$" \
    --batch-delay-ms 10 2>"$TMP/collector2.log" &
C2JOB=$!
sleep 3 # EAL start, interface open
# DPDK's af_packet PMD joins a PACKET_FANOUT group numbered from its pid and
# the interface index: two collectors in one namespace whose numbers collide
# (consecutive pids on consecutive indexes do) fail with EINVAL. Start the
# one that lost again (a new pid).
for n in 1 2; do
    pf=$TMP/collector.pid log=$TMP/collector.log
    [ $n = 2 ] && pf=$TMP/collector2.pid log=$TMP/collector2.log
    if ! kill -0 "$(cat "$pf")" 2>/dev/null && grep -q PACKET_FANOUT "$log"; then
        echo "collector $n: PACKET_FANOUT group taken (DPDK af_packet), started again"
        if [ $n = 1 ]; then
            inA sh -c 'echo $$ >"$0"; shift; exec "$@"' "$TMP/collector.pid" x \
                "$BIN/renkei-collector" --id 1 --iface vcap-$$ --splitter "$S" --merger "$M" \
                --file-prefix "rk-live2-$$" --batch-delay-ms 10 2>"$TMP/collector.log" &
            CJOB=$!
        else
            inA sh -c 'echo $$ >"$0"; shift; exec "$@"' "$TMP/collector2.pid" x \
                "$BIN/renkei-collector" --id 2 --iface vidle-$$ --splitter "$S" --merger "$M" \
                --file-prefix "rk-idle2-$$" --batch-delay-ms 10 2>"$TMP/collector2.log" &
            C2JOB=$!
        fi
        sleep 3
    fi
done
wait "$CHATTER" || true

# Traffic from rk-b: a TCP server in rk-a, TCP clients and UDP datagrams from rk-b.
inA python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.99.0.1", 8080)); s.listen(8); s.settimeout(10)
for _ in range(3):
    c, _ = s.accept()
    while True:
        d = c.recv(65536)
        if not d: break
        c.sendall(d.upper())
    c.close()
' &
SPID=$!
sleep 0.5
inB python3 -c '
import socket, time
for i in range(3):
    for _ in range(100):  # the server may still be starting under load
        try:
            c = socket.create_connection(("10.99.0.1", 8080))
            break
        except ConnectionRefusedError:
            time.sleep(0.1)
    for j in range(5):
        c.sendall(b"hello renkei %d %d\n" % (i, j) * 50); c.recv(65536)
    c.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for j in range(20):
    u.sendto(b"syslog line %d" % j, ("10.99.0.1", 514))
time.sleep(0.2)
'
wait "$SPID" || true
sleep 1
# With the idle port's collector up, the epochs of that traffic must still
# be committed while the run goes on (1 s epochs; its heartbeats promise the
# watermark): wait up to 15 s for one, then end the run.
for _ in $(seq 1 150); do
    n=$(sqlite3 "$TMP/live.sqlite" "SELECT COUNT(*) FROM epochs WHERE final = 0" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge 1 ] && break
    sleep 0.1
done
kill -INT "$(cat "$TMP/collector.pid")"
wait "$CJOB" || { echo "FAIL collector exited non-zero"; cat "$TMP/collector.log"; exit 1; }
kill -INT "$(cat "$TMP/collector2.pid")"
wait "$C2JOB" || { echo "FAIL idle collector exited non-zero"; cat "$TMP/collector2.log"; exit 1; }
kill -INT "$(cat "$TMP/dumpcap.pid")" || true
wait "$DJOB" 2>/dev/null || true
rc=0
wait "$MPID" || rc=$?
if [ "$rc" -ne 0 ]; then
    echo "FAIL merger exited $rc"
    cat "$TMP"/*.log
    exit 1
fi
pyrc=0
python3 - "$TMP/ref.pcapng" "$TMP/live.sqlite" "$SRC/test/integration" <<'PY' || pyrc=$?
import sqlite3, sys
sys.path.insert(0, sys.argv[3])
import tshark_conv
want = tshark_conv.conversations(sys.argv[1])
con = sqlite3.connect(sys.argv[2])
got = {r[:5]: list(r[5:]) for r in con.execute(
    "SELECT a_ip, a_port, b_ip, b_port, proto, pkts_ab, bytes_ab, pkts_ba, bytes_ba"
    " FROM sessions WHERE proto IN (6, 17)")}
tcp = [k for k in got if k[4] == 6 and 8080 in (k[1], k[3])]
bad = [(k, want.get(k), got.get(k)) for k in set(want) | set(got) if want.get(k) != got.get(k)]
# 1 s epochs: with the idle port's collector up all along, epochs are still
# committed while the run goes on (its heartbeats promise the watermark),
# not all at its end
flushed = con.execute("SELECT COUNT(*) FROM epochs WHERE final = 0").fetchone()[0]
checks = [("3 TCP sessions to 10.99.0.1:8080 captured", len(tcp) == 3),
          (f"epochs committed during the run beside an idle port ({flushed})", flushed >= 1),
          ("UDP 514 conversation captured", any(k[4] == 17 and 514 in (k[1], k[3]) for k in got)),
          ("counts equal dumpcap's capture of the same interface", not bad)]
for k, w, g in bad[:5]:
    print("  differs", k, "dumpcap", w, "renkei", g)
ok = sum(1 for _, c in checks if c)
for name, c in checks:
    print("ok  " if c else "FAIL", name)
print(f"{ok} passed, {len(checks) - ok} failed")
sys.exit(0 if ok == len(checks) else 1)
PY

# Frames the kernel drops because the collector's af_packet ring is full
# are counted (drop_rx_missed; DPDK's driver does not report them, the
# collector reads PACKET_STATISTICS itself): the collector is stopped while
# a burst arrives, so all but what its ring holds are dropped.
command -v tcpreplay >/dev/null || { echo "skipped: the ring-drop case needs tcpreplay"; exit 77; }
inA sh -c 'echo $$ >"$0"; shift; exec "$@"' "$TMP/collector3.pid" x "$BIN/renkei-collector" \
    --id 3 --iface vidle-$$ --print --file-prefix "rk-drop-$$" >/dev/null 2>"$TMP/collector3.log" &
C3JOB=$!
for _ in $(seq 100); do grep -q "running" "$TMP/collector3.log" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
kill -STOP "$(cat "$TMP/collector3.pid")"
ip -n "$B" link set vidlp-$$ up # the peer end was down so far: the port stayed idle
sent=$(inB tcpreplay -i vidlp-$$ --topspeed "$SRC/sample/enterprise.pcap" 2>&1 |
    sed -n 's/.*Successful packets: *\([0-9]*\).*/\1/p' || true)
sleep 0.3
kill -CONT "$(cat "$TMP/collector3.pid")"
sleep 1
kill -INT "$(cat "$TMP/collector3.pid")"
wait "$C3JOB" || { echo "FAIL ring-drop collector exited non-zero"; cat "$TMP/collector3.log"; exit 1; }
final=$(grep "final" "$TMP/collector3.log" | tail -1)
got=$(echo "$final" | sed -n 's/.* packets=\([0-9]*\) .*/\1/p')
missed=$(echo "$final" | sed -n 's/.*drop_rx_missed=\([0-9]*\).*/\1/p')
if [ -n "$sent" ] && [ "${missed:-0}" -gt 0 ] && [ $((got + missed)) -ge "$sent" ]; then
    echo "ok   a stopped collector's full af_packet ring: $got captured + $missed counted in drop_rx_missed of $sent frames sent"
else
    echo "FAIL ring drops not counted: sent ${sent:-?}, captured ${got:-?}, drop_rx_missed ${missed:-?}"
    pyrc=1
fi
exit "$pyrc"
