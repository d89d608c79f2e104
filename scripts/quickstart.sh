#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The README's first command: install dependencies, build, and run the main
# job (`renkei analyze`) on the bundled sample capture, then say where the
# database, the JSON export and the web report are.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
mkdir -p out
rm -f out/sample.sqlite out/sample.sqlite-wal out/sample.sqlite-shm
./build/bin/renkei analyze --trackers 2 --db out/sample.sqlite --export out/sample.json \
    sample/enterprise.pcap
echo
echo "database:    $(pwd)/out/sample.sqlite"
echo "JSON export: $(pwd)/out/sample.json"
echo "web report:  ./build/bin/renkei serve --db out/sample.sqlite --listen 127.0.0.1:8080"
echo "             then open http://127.0.0.1:8080/"
