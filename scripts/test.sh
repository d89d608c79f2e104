#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's test command: install every dependency (incl. tshark for the
# cross-checks), build with ASan+UBSan, check formatting, run all CTest tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
BUILD=${BUILD:-build-test}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=address,undefined >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
echo "== clang-format check"
git ls-files '*.c' '*.h' | grep -v '^test/fuzz/corpus/' | xargs clang-format --dry-run --Werror
echo "== tests"
cd "$BUILD"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 ctest --output-on-failure -j2 --timeout 900
