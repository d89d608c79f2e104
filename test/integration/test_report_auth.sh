#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The reporter off loopback (docs/OPERATIONS.md): in a network namespace made
# here (only its own loopback), `renkei serve` on every address refuses to
# start without an auth_file; with one (renkei passwd: Argon2id hashes) it
# answers 401 with a Basic challenge without or with wrong credentials and
# 200 with the right ones, as valid HTML or JSON; with tls_cert/tls_key it
# speaks HTTPS; and 100 idle connections from one address do not lock out
# another client (per-address connection limit). Needs root, iproute2, curl
# and openssl; exits 77 (skipped) without them.
set -euo pipefail
BIN=${RENKEI_BIN:?RENKEI_BIN not set}
SRC=${RENKEI_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
for t in ip curl openssl python3; do
    command -v $t >/dev/null || { echo "skipped: $t not installed"; exit 77; }
done
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root for a network namespace"; exit 77; }
NS=rk-auth-$$
TMP=$(mktemp -d /tmp/renkei-auth-XXXXXX)
cleanup() {
    ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null || true
    sleep 0.2
    ip netns del "$NS" 2>/dev/null || true
    [ -n "${RENKEI_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" addr add 127.0.0.2/8 dev lo 2>/dev/null || true
in_ns() { ip netns exec "$NS" "$@"; }
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

DB=$TMP/s.sqlite
"$BIN/renkei" analyze --db "$DB" "$SRC/sample/enterprise.pcap" >/dev/null 2>&1
PW="correct horse battery"
echo "$PW" | "$BIN/renkei" passwd --file "$TMP/users" --user ops >/dev/null
echo "another-secret-token" | "$BIN/renkei" passwd --file "$TMP/users" --user api >/dev/null
[ "$(stat -c %a "$TMP/users")" = 600 ] && ok "passwd: users file is mode 600" ||
    bad "users file mode $(stat -c %a "$TMP/users")"
if grep -q '^ops \$argon2id\$' "$TMP/users" && grep -q '^api ' "$TMP/users" &&
    ! grep -qF "$PW" "$TMP/users"; then
    ok "passwd: Argon2id hashes stored, the password itself is not"
else
    bad "users file content: $(cat "$TMP/users")"
fi

PORT=$((20000 + $$ % 20000))
if in_ns "$BIN/renkei" serve --db "$DB" --listen ":$PORT" >"$TMP/noauth.log" 2>&1; then
    bad "serve on every address without auth_file started"
elif grep -q "not a loopback address" "$TMP/noauth.log"; then
    ok "serve on every address without auth_file refuses to start"
else
    bad "no-auth message: $(cat "$TMP/noauth.log")"
fi

wait_up() { # url [curl args]
    for _ in $(seq 100); do
        in_ns curl -sk -o /dev/null "$@" && return 0
        sleep 0.1
    done
    return 1
}
in_ns "$BIN/renkei" serve --db "$DB" --listen ":$PORT" --auth-file "$TMP/users" \
    --per-ip-connections 8 >"$TMP/serve.log" 2>&1 &
wait_up "http://127.0.0.1:$PORT/" || bad "serve with auth_file did not come up"
code() { in_ns curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }
c=$(code "http://127.0.0.1:$PORT/")
hdr=$(in_ns curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/" | tr -d '\r')
if [ "$c" = 401 ] && grep -qi '^www-authenticate: basic realm="renkei"' <<<"$hdr" &&
    grep -q "authentication required" "$TMP/body"; then
    ok "no credentials: 401 with a Basic challenge and an HTML body"
else
    bad "no credentials: $c / $hdr"
fi
c=$(code "http://127.0.0.1:$PORT/api/hosts")
[ "$c" = 401 ] && python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$TMP/body" &&
    ok "API without credentials: 401 with a JSON body" || bad "API without credentials: $c"
c=$(code -u "ops:wrong password" "http://127.0.0.1:$PORT/")
[ "$c" = 401 ] && ok "wrong password: 401" || bad "wrong password: $c"
grep -q "refused a request from 127.0.0.1" "$TMP/serve.log" && ok "the refusal is logged" ||
    bad "no refusal logged"
c=$(code -u "ops:$PW" "http://127.0.0.1:$PORT/hosts")
[ "$c" = 200 ] && grep -q "<table" "$TMP/body" && ok "right password: the host list (200)" ||
    bad "right password: $c"
c=$(code -u "api:another-secret-token" "http://127.0.0.1:$PORT/api/hosts")
[ "$c" = 200 ] && ok "an API token as a user's password: 200" || bad "API token: $c"

# 100 idle connections from 127.0.0.1 hold at most 8 slots; 127.0.0.2 still gets in.
in_ns python3 - "$PORT" <<'PY' &
import socket, sys, time
conns = []
for _ in range(100):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
        s.send(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
        conns.append(s)
    except OSError:
        pass
time.sleep(6)
PY
SLOW=$!
sleep 1.5
c=$(code --interface 127.0.0.2 -m 5 -u "ops:$PW" "http://127.0.0.1:$PORT/api/hosts" || true)
[ "$c" = 200 ] && ok "100 slow connections from one address do not lock out another (200)" ||
    bad "another client during 100 slow connections: ${c:-no answer}"
kill "$SLOW" 2>/dev/null || true
ip netns pids "$NS" | xargs -r kill 2>/dev/null || true
sleep 0.3

# HTTPS with a self-signed certificate.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=renkei-test \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" >/dev/null 2>&1
PORT2=$((PORT + 1))
in_ns "$BIN/renkei" serve --db "$DB" --listen ":$PORT2" --auth-file "$TMP/users" \
    --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" >"$TMP/tls.log" 2>&1 &
wait_up "https://127.0.0.1:$PORT2/" || bad "HTTPS serve did not come up"
c=$(code -k -u "ops:$PW" "https://127.0.0.1:$PORT2/")
[ "$c" = 200 ] && ok "HTTPS with tls_cert/tls_key: 200" || bad "HTTPS: $c"
c=$(code -m 3 "http://127.0.0.1:$PORT2/" || true)
[ "$c" != 200 ] && ok "plain HTTP to the HTTPS port gets no page" || bad "plain HTTP got 200"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
