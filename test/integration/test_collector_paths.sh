#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The collector's own capture reader (memory-mapped cmn_capfile, the default
# for --pcap) against DPDK's net_pcap vdev (--pcap-dpdk), on every capture of
# RENKEI_PCAPS: the same records (every field of --print), in the same order,
# with timestamps equal to the microsecond (net_pcap hands out µs; the own
# reader keeps a nanosecond file's nanoseconds, checked against tshark's
# frame times), and the same counters, except where net_pcap is known to be
# wrong: the frames of mixed-link-type pcapng, which it cannot read, are
# converted for it into renkei's framing (8 more bytes each, and the
# conversion misreads timestamps past 2038), and frames it counts as
# rx errors (drop_rx_errors) although it delivers them.
# Exit 0 pass, 1 fail, 77 (skipped) when the captures or tshark are missing.
set -u
BIN=${RENKEI_BIN:?RENKEI_BIN not set}/renkei-collector
PCAPS=${RENKEI_PCAPS:?RENKEI_PCAPS not set}
command -v tshark >/dev/null || { echo "SKIP: tshark not installed"; exit 77; }
[ -x "$BIN" ] || { echo "FAIL: $BIN not built"; exit 1; }
shopt -s nullglob
files=("$PCAPS"/*.pcap "$PCAPS"/*.pcapng)
[ ${#files[@]} -ge 20 ] || { echo "SKIP: fewer than 20 captures in $PCAPS"; exit 77; }
TMP=$(mktemp -d /tmp/renkei-test-paths.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail=0 n=0 nsfiles=0
# counters of a run's final line, without the ones net_pcap gets wrong
counters() {
    sed -n 's/.*NOTICE out: final [^:]*: //p' "$1" | tr ' ' '\n' |
        grep -v -E "^(bytes|drop_rx_errors)=" | sort
}
# record timestamps cut to the microsecond
usec() { awk '{ split($1, t, "."); print t[1] "." substr(t[2], 1, 6) }' "$1"; }
for f in "${files[@]}"; do
    b=$(basename "$f")
    timeout 60 "$BIN" --id 1 --print --pcap "$f" >"$TMP/own" 2>"$TMP/own.err"
    r1=$?
    timeout 60 "$BIN" --id 1 --print --pcap-dpdk --pcap "$f" \
        --file-prefix "rk-paths-$$" >"$TMP/dpdk" 2>"$TMP/dpdk.err"
    r2=$?
    if [ $r1 -ne $r2 ]; then
        echo "FAIL $b: exit $r1 (own reader) vs $r2 (net_pcap)"; fail=1; continue
    fi
    [ $r1 -ne 0 ] && continue # unreadable for both (bad header): same refusal
    n=$((n + 1))
    mixed=0
    grep -q "mixed link types: converted" "$TMP/dpdk.err" && mixed=1
    # records without the timestamp, and timestamps cut to the microsecond
    if ! cmp -s <(cut -d' ' -f2- "$TMP/own") <(cut -d' ' -f2- "$TMP/dpdk"); then
        echo "FAIL $b: records differ"; diff "$TMP/own" "$TMP/dpdk" | head -5; fail=1; continue
    fi
    if [ $mixed -eq 0 ] && ! cmp -s <(usec "$TMP/own") <(usec "$TMP/dpdk"); then
        echo "FAIL $b: timestamps differ at microseconds"; fail=1; continue
    fi
    if ! cmp -s <(counters "$TMP/own.err") <(counters "$TMP/dpdk.err"); then
        echo "FAIL $b: counters differ"
        diff <(counters "$TMP/own.err") <(counters "$TMP/dpdk.err") | head -6; fail=1; continue
    fi
    # nanoseconds kept: every record's time is one of tshark's frame times
    if cut -d' ' -f1 "$TMP/own" | grep -q -v '000$'; then
        nsfiles=$((nsfiles + 1))
        tshark -r "$f" -T fields -e frame.time_epoch 2>/dev/null | sort -u >"$TMP/ts"
        # (times past year 2286 come of negative pcapng if_tsoffset sums,
        # nonsense that both tools wrap differently)
        cut -d' ' -f1 "$TMP/own" | awk -F. 'length($1) <= 10' | sort -u >"$TMP/rts"
        if [ -n "$(comm -23 "$TMP/rts" "$TMP/ts" | head -1)" ]; then
            echo "FAIL $b: record times not among tshark's frame times"
            comm -23 "$TMP/rts" "$TMP/ts" | head -3; fail=1; continue
        fi
    fi
    # the own reader needs no EAL, no scan of the file first
    if grep -q "EAL" "$TMP/own.err"; then
        echo "FAIL $b: the own reader started DPDK's EAL"; fail=1; continue
    fi
done
echo "$n captures compared ($nsfiles with nanosecond times checked against tshark)"
[ $n -ge 20 ] || { echo "FAIL: only $n captures were readable"; fail=1; }
[ $fail -eq 0 ] && echo "PASS" || echo "FAIL"
exit $fail
