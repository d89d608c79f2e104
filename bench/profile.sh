#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/profile.sh: the profiles quoted in docs/PERFORMANCE.md, repeatable.
#
#   bench/profile.sh e2e    CAPTURE [BUILD]   perf: CPU share per process and
#                                             top symbols of `renkei analyze`
#   bench/profile.sh merger CAPTURE [BUILD]   callgrind: instructions of the
#                                             merger alone in the same run
#                                             (repeatable on a noisy machine)
#
# BUILD defaults to build-bench. Needs perf / valgrind (scripts/deps.sh --bench).
# Work files go to a temporary directory, removed at the end.
set -eu

usage() {
    echo "usage: bench/profile.sh e2e|merger CAPTURE [BUILD]" >&2
    exit 2
}
[ $# -ge 2 ] || usage
what=$1
cap=$2
build=${3:-build-bench}
[ -r "$cap" ] || { echo "profile: cannot read capture $cap" >&2; exit 1; }
bin=$(cd "$build/bin" 2>/dev/null && pwd) || { echo "profile: no $build/bin (build first)" >&2; exit 1; }
work=$(mktemp -d /tmp/renkei-profile-XXXXXX)
trap 'rm -rf "$work"' EXIT

case $what in
e2e)
    command -v perf >/dev/null || { echo "profile: perf not installed" >&2; exit 1; }
    echo "perf record -F 499 -g -- $bin/renkei analyze --trackers 2 --db DB $cap"
    perf record -q -F 499 -g -o "$work/perf.data" -- \
        "$bin/renkei" analyze --trackers 2 --db "$work/p.sqlite" "$cap" >/dev/null 2>&1
    echo "== CPU share per process (perf report --no-children --sort comm)"
    perf report -i "$work/perf.data" --no-children --sort comm --stdio -g none 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -12
    echo "== top symbols (--sort comm,dso,symbol)"
    perf report -i "$work/perf.data" --no-children --sort comm,dso,symbol --stdio -g none \
        2>/dev/null | grep -v '^#' | grep -v '^$' | head -30
    ;;
merger)
    command -v valgrind >/dev/null || { echo "profile: valgrind not installed" >&2; exit 1; }
    # `renkei analyze` runs the daemons found beside its own executable: a
    # copy of it with a renkei-merger that runs the real one under callgrind.
    mkdir "$work/bin"
    cp "$bin/renkei" "$work/bin/renkei"
    for d in renkei-collector renkei-splitter renkei-tracker renkei-reporter; do
        ln -s "$bin/$d" "$work/bin/$d"
    done
    cat >"$work/bin/renkei-merger" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file=$work/cg.out $bin/renkei-merger "\$@"
EOF
    chmod +x "$work/bin/renkei-merger"
    echo "renkei analyze --trackers 2 $cap   (merger under valgrind --tool=callgrind)"
    "$work/bin/renkei" analyze --trackers 2 --db "$work/p.sqlite" "$cap" 2>&1 |
        grep -E 'records lost|run complete' || true
    echo "== merger instructions"
    grep '^totals:' "$work/cg.out"
    echo "== inclusive, by function (callgrind_annotate --inclusive=yes)"
    callgrind_annotate --inclusive=yes "$work/cg.out" 2>/dev/null |
        grep -E 'mrg_|sqlite3_exec|sqlite3_step|zmq|protobuf' | head -15
    ;;
*)
    usage
    ;;
esac
