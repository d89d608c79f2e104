# SPDX-License-Identifier: MIT
# Helpers sourced by the integration scripts: . "$(dirname "$0")/lib.sh"

# free_ports N: N free TCP ports on 127.0.0.1, space-separated: random ports
# below the kernel's ephemeral range (ip_local_port_range), each checked by
# binding it. Ports from the ephemeral range (port 0) were taken in between
# by the local end of some outgoing connection (a daemon's connect) before
# the daemon meant to bind them could (EADDRINUSE, seen in CI); pid-derived
# ports collided with other tests' under ctest -j.
free_ports() {
    python3 -c '
import random, socket, sys
try:
    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    lo = 32768
lo = max(lo, 12000)
held, out = [], []
while len(out) < int(sys.argv[1]):
    port = random.randrange(10000, lo)
    if port in out:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        s.close()
        continue
    held.append(s)
    out.append(port)
print(*out)' "$1"
}

# test_setup NAME: $TMP, a fresh directory /tmp/renkei-NAME-*, removed at
# exit (kept with RENKEI_KEEP_TMP=1) after the script's background jobs are
# killed; ok/bad count checks for test_summary.
test_setup() {
    TMP=$(mktemp -d "/tmp/renkei-$1-XXXXXX")
    trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${RENKEI_KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT
    fail=0 pass=0
}
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
# test_summary: the counts; fails the script if a check failed
test_summary() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
