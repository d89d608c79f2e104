# SPDX-License-Identifier: MIT
# Helpers sourced by the integration scripts: . "$(dirname "$0")/lib.sh"

# free_ports N: N free TCP ports on 127.0.0.1, space-separated, from the OS
# (bound to port 0 together, so none is handed out twice; pid-derived ports
# collided with other tests' ephemeral ports under ctest -j).
free_ports() {
    python3 -c '
import socket, sys
s = [socket.socket() for _ in range(int(sys.argv[1]))]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])' "$1"
}
