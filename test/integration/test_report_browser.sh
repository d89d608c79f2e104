#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# test_report_browser: the web report in headless Chromium (test/browser/report.js,
# puppeteer-core from test/browser/package-lock.json, installed here with npm ci):
# each page opens with its content, search, peer link, paging, sorting, impact form.
# Screenshots: <build>/test/browser-shots/*.png. Exit 77 (skip) without chromium, npm
# or the npm registry. Env (set by CTest): RENKEI_BIN, RENKEI_SRC.
set -u
BIN=${RENKEI_BIN:?RENKEI_BIN not set}
SRC=${RENKEI_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=$(cd "$BIN/.." && pwd)
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
[ -n "$CHROMIUM" ] || { echo "SKIP: chromium not installed (scripts/deps.sh --test)"; exit 77; }
for t in npm node curl sqlite3; do
    command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
NPMDIR=$BUILD/test/browser-npm
mkdir -p "$NPMDIR"
cp "$SRC/test/browser/package.json" "$SRC/test/browser/package-lock.json" "$SRC/test/browser/report.js" "$NPMDIR/"
if [ ! -d "$NPMDIR/node_modules/puppeteer-core" ] || [ "$SRC/test/browser/package-lock.json" -nt "$NPMDIR/node_modules" ]; then
    (cd "$NPMDIR" && PUPPETEER_SKIP_DOWNLOAD=1 timeout 300 npm ci --omit=dev --no-audit --no-fund --loglevel=error) ||
        { echo "SKIP: npm ci failed (registry unreachable?)"; exit 77; }
fi
TMP=$(mktemp -d /tmp/renkei-test-browser.XXXXXX)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"' EXIT
"$BIN/renkei" analyze --db "$TMP/s.sqlite" "$SRC/sample/enterprise.pcap" >"$TMP/analyze.log" 2>&1 ||
    { echo "FAIL: analyze"; cat "$TMP/analyze.log"; exit 1; }
PORT=$((20000 + RANDOM % 20000))
"$BIN/renkei" serve --db "$TMP/s.sqlite" --listen "127.0.0.1:$PORT" >"$TMP/serve.log" 2>&1 &
PID=$!
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/monitor.json" && break
    sleep 0.1
done
CHROMIUM=$CHROMIUM node "$NPMDIR/report.js" "http://127.0.0.1:$PORT" "$BUILD/test/browser-shots" --db "$TMP/s.sqlite"
rc=$?
[ $rc -eq 0 ] || tail -20 "$TMP/serve.log"
exit $rc
