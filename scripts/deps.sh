#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The one place that lists renkei's Debian 12 packages. Installs them (root or sudo).
# Usage: scripts/deps.sh [--test] [--bench]   (--test: tests; --bench: bench/run peers, profilers)
set -euo pipefail
BUILD_PKGS=(build-essential cmake pkg-config git
    libdpdk-dev dpdk libpcap-dev
    libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
    libsqlite3-dev sqlite3 libmicrohttpd-dev libsodium-dev netbase python3
    nodejs npm)
# clang: libFuzzer (test/fuzz/run)
TEST_PKGS=(tshark tcpreplay clang-format clang iproute2 graphviz chromium curl openssl procps)
BENCH_PKGS=(pmacct argus-server argus-client tshark linux-perf valgrind)
pkgs=("${BUILD_PKGS[@]}")
for a in "$@"; do
    case "$a" in
        --test) pkgs+=("${TEST_PKGS[@]}") ;;
        --bench) pkgs+=("${BENCH_PKGS[@]}") ;;
    esac
done
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
missing=()
for p in "${pkgs[@]}"; do
    # a machine whose nodejs comes from elsewhere (e.g. NodeSource, which
    # bundles npm and conflicts with Debian's npm) already has the commands
    case "$p" in
        nodejs | npm) command -v "${p/nodejs/node}" >/dev/null && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "deps: all ${#pkgs[@]} packages present"
    exit 0
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections || true
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}"
