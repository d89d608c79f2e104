#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Liveness (docs/OPERATIONS.md "Liveness"): `renkei analyze` with a short
# --liveness-timeout, and one of its processes stopped (SIGSTOP) as soon as
# it runs: a tracker, the splitter, the collector, the merger. Each time the
# run must fail within bounded time (never wait forever), exit non-zero,
# name the stopped process, and leave the database saying so (run_state
# `partial` naming the node, or `interrupted` for the merger, unless it was
# stopped before it created the database); a run left
# alone completes with nothing unverifiable.
set -euo pipefail
BIN=${RENKEI_BIN:?RENKEI_BIN not set}
command -v sqlite3 >/dev/null || { echo "skipped: sqlite3 not installed"; exit 77; }
command -v pgrep >/dev/null || { echo "skipped: pgrep not installed"; exit 77; }
TMP=$(mktemp -d /tmp/renkei-live-XXXXXX)
cleanup() {
    [ -n "${RENKEI_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
fail=0 pass=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# Large enough that no run is over before its process is stopped.
"$BIN/renkei-gen" --seed 7 --packets 400000 --duration 300 --snaplen 128 \
    --out "$TMP/g.pcap" --truth "$TMP/g.truth.json" >/dev/null
TO=2

# case NAME PATTERN WANT_STATE WANT_TEXT: stop the first child of this
# analyze whose command line starts with $BIN/PATTERN, as soon as it exists.
case_stop() {
    local name=$1 pat=$2 want_state=$3 want_text=$4 db=$TMP/$1.sqlite
    local t0=$SECONDS rc=0
    "$BIN/renkei" analyze --db "$db" --trackers 2 --liveness-timeout $TO "$TMP/g.pcap" \
        >"$TMP/$name.out" 2>"$TMP/$name.err" &
    local an=$! pid=""
    for _ in $(seq 1 400); do
        pid=$(pgrep -P $an -f "^$BIN/$pat" | head -1 || true) # ours, not another test's
        [ -n "$pid" ] && break
        sleep 0.02
    done
    if [ -z "$pid" ]; then
        bad "$name: $pat never started"
        wait $an || true
        return
    fi
    kill -STOP "$pid"
    # bounded: analyze must give up by itself; 90 s is far past 2 timeouts
    for _ in $(seq 1 900); do kill -0 $an 2>/dev/null || break; sleep 0.1; done
    if kill -0 $an 2>/dev/null; then
        bad "$name: analyze still waiting after 90 s with $pat stopped"
        kill -CONT "$pid" 2>/dev/null || true
        kill $an 2>/dev/null || true
        wait $an || true
        return
    fi
    wait $an || rc=$?
    kill -CONT "$pid" 2>/dev/null || true
    [ "$rc" -ne 0 ] && ok "$name: analyze failed (exit $rc) after $((SECONDS - t0)) s" ||
        bad "$name: analyze exited 0 with $pat stopped"
    grep -q -- "$want_text" "$TMP/$name.err" && ok "$name: the message names it ('$want_text')" || {
        bad "$name: no '$want_text' in analyze's output"
        tail -5 "$TMP/$name.err"
    }
    local st
    st=$(sqlite3 "$db" "SELECT value FROM meta WHERE key = 'run_state'" 2>/dev/null || echo none)
    # a merger stopped before it created the database (or its meta table)
    # leaves none: nothing to mislead
    local schema
    schema=$(sqlite3 "$db" "SELECT count(*) FROM sqlite_master WHERE name = 'meta'" 2>/dev/null || echo 0)
    case "$st" in
        "$want_state") ok "$name: run_state $st" ;;
        none | "") [ "$name" = merger ] && { [ ! -s "$db" ] || [ "$schema" = 0 ]; } &&
            ok "$name: stopped before it made a database" ||
            bad "$name: no run_state in $db" ;;
        *) bad "$name: run_state '$st', want $want_state" ;;
    esac
}

case_stop tracker "renkei-tracker .*--id=1" partial "tracker 1: down"
case_stop splitter "renkei-splitter" partial "splitter: down"
case_stop collector "renkei-collector" partial "collector"
case_stop merger "renkei-merger" interrupted "renkei-merger (pid [0-9]*) silent"

# Left alone, the same run completes, nothing unverifiable. With a 10 s
# timeout: under an ASan build on a loaded CI machine a WAL commit of the
# merger waiting on the disk (no CPU used) has passed 2 s once.
rc=0
"$BIN/renkei" analyze --db "$TMP/whole.sqlite" --trackers 2 --liveness-timeout 10 "$TMP/g.pcap" \
    >"$TMP/whole.out" 2>"$TMP/whole.err" || rc=$?
[ $rc -eq 0 ] && ok "undisturbed run exits 0" || {
    bad "undisturbed run exit $rc"
    grep -E "analyze|down|silent" "$TMP/whole.err" | tail -5
}
st=$(sqlite3 "$TMP/whole.sqlite" "SELECT value FROM meta WHERE key = 'run_state'")
[ "$st" = complete ] && ok "undisturbed run_state complete" || bad "undisturbed run_state $st"
uv=$(sqlite3 "$TMP/whole.sqlite" "SELECT value FROM node_stats WHERE kind = 'merger'
    AND counter = 'pipes_unverifiable'")
[ "$uv" = 0 ] && ok "undisturbed: 0 pipes unverifiable" || bad "undisturbed: $uv pipes unverifiable"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
