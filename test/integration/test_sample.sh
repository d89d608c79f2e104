#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's main job on the bundled sample capture: `renkei analyze` must
# finish with nothing lost, and its export must match the generator's truth
# (service and edge F1 >= 0.99, counts exact), and `renkei export` must
# reproduce the export byte for byte from the database.
set -euo pipefail
BIN=${RENKEI_BIN:?RENKEI_BIN not set}
SRC=${RENKEI_SRC:?RENKEI_SRC not set}
TMP=$(mktemp -d /tmp/renkei-sample-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
"$BIN/renkei" analyze --trackers 2 --db "$TMP/s.sqlite" --export "$TMP/a.json" \
    "$SRC/sample/enterprise.pcap" 2>"$TMP/log" || { cat "$TMP/log"; exit 1; }
"$BIN/renkei" export --db "$TMP/s.sqlite" --format json --out "$TMP/b.json"
pass=0 fail=0
if cmp -s "$TMP/a.json" "$TMP/b.json"; then
    echo "ok   renkei export reproduces analyze --export"; pass=$((pass + 1))
else
    echo "FAIL renkei export differs from analyze --export"; fail=$((fail + 1))
fi
if python3 "$SRC/test/gen/score.py" "$SRC/sample/enterprise.truth.json" "$TMP/a.json" \
    --min-f1 0.99 --exact-counts >"$TMP/score"; then
    echo "ok   sample scores against its truth: $(grep -E '^(services|edges) F1' "$TMP/score" | tr '\n' ' ')"
    pass=$((pass + 1))
else
    cat "$TMP/score"; echo "FAIL sample does not match its truth"; fail=$((fail + 1))
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
