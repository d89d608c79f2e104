#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's test command: install every dependency (incl. tshark for the
# cross-checks), build with ASan+UBSan, check formatting, run all CTest tests,
# then a short libFuzzer run of every fuzz target (clang, FUZZ=ON tree) that
# fails on a finding or on a coverage under the target's floor
# (test/fuzz/floors.txt): proof that the code under test is instrumented.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
scripts/deps.sh --test
BUILD=${BUILD:-build-test}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=address,undefined >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
echo "== clang-format check"
git ls-files '*.c' '*.h' | grep -v '^test/fuzz/corpus/' | xargs clang-format --dry-run --Werror
echo "== tests"
cd "$BUILD"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 ctest --output-on-failure -j2 --timeout 900
echo "== fuzz (short run, coverage floors)"
cd "$ROOT"
rc=0
test/fuzz/run "${FUZZ_SECONDS:-20}" --no-merge --check-floors --build "${FUZZ_BUILD:-build-fuzz}" || rc=$?
if [ "$rc" -eq 77 ]; then
    echo "fuzz: skipped (no clang with libFuzzer)"
elif [ "$rc" -ne 0 ]; then
    exit "$rc"
fi
