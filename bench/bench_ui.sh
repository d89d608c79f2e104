#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench_ui.sh: how fast the web report answers on a 20,000-host database.
# Server time per route: the p95 of N curl requests (time_total, keep-alive
# off, one at a time) to `renkei serve`; then, when chromium and the browser
# test's puppeteer-core are there (test/browser, npm ci), the p95 in headless
# Chromium from navigation to content rendered (the load event; for the
# graph, sigma.js having drawn). Generates the enterprise with renkei-gen
# unless --db names one: 19,600 PCs and 400 servers, --cover (one brief
# session of each of the model's ~237,000 client -> service pairs, 1.56 M
# packets) plus ordinary sessions up to 2 M packets, analysed with 2
# trackers: ~22,000 hosts, ~237,000 edges; serves it with a sites file of
# renkei-gen's layout (dc, hq, branch) unless --sites names another. Prints
# RESULT lines; asserts nothing; not a test (docs/PERFORMANCE.md). --shots
# keeps a screenshot of every page timed in Chromium.
#   bench/bench_ui.sh [--db FILE] [--sites FILE] [--runs N] [--shots DIR] [--quick]
set -euo pipefail
SRC=${RENKEI_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${RENKEI_BIN:-$SRC/build/bin}
PCS=19600 SERVERS=400 PACKETS=2000000 RUNS=20 DB="" SITES="" SHOTS=""
while [ $# -gt 0 ]; do
    case "$1" in
        --db) DB=$2; shift ;;
        --runs) RUNS=$2; shift ;;
        --sites) SITES=$2; shift ;;
        --shots) SHOTS=$2; shift ;;
        --quick) PCS=1960 SERVERS=40 PACKETS=200000 RUNS=5 ;;
        --help|-h) sed -n 3,16p "$0"; exit 0 ;;
        *) echo "bench_ui.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
for t in curl sqlite3; do
    command -v $t >/dev/null || { echo "bench_ui.sh: $t not installed" >&2; exit 77; }
done
[ -x "$BIN/renkei" ] || { echo "bench_ui.sh: $BIN/renkei not built" >&2; exit 77; }
TMP=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"' EXIT
if [ -z "$DB" ]; then
    [ -x "$BIN/renkei-gen" ] || { echo "bench_ui.sh: $BIN/renkei-gen not built" >&2; exit 77; }
    "$BIN/renkei-gen" --seed 5 --packets $PACKETS --pcs $PCS --servers $SERVERS --cover \
        --out "$TMP/g.pcap" --truth "$TMP/g.json" >/dev/null 2>&1
    "$BIN/renkei" analyze --trackers 2 --db "$TMP/g.sqlite" "$TMP/g.pcap" >/dev/null 2>&1
    rm -f "$TMP/g.pcap"
    DB=$TMP/g.sqlite
fi
if [ -z "$SITES" ]; then # renkei-gen's layout: servers, then offices 0-255 and 256-
    SITES=$TMP/sites
    printf '%s\n' 'dc datacenter 172.16.0.0/16 2001:db8:0:10::/64' \
        'hq office 10.10.0.0/16 2001:db8:1::/56' 'branch office 10.11.0.0/16 2001:db8:1:100::/56' \
        >"$SITES"
fi
q() { sqlite3 "$DB" "$1"; }
echo "database: $(q 'SELECT count(*) FROM hosts') hosts, $(q 'SELECT count(*) FROM edges') edges"
echo "RESULT ui_db_hosts $(q 'SELECT count(*) FROM hosts') hosts"
echo "RESULT ui_db_edges $(q 'SELECT count(*) FROM edges') edges"
SRV=$(q "SELECT ip FROM services ORDER BY clients DESC, ip LIMIT 1")
SVC=$(q "SELECT ip || '/' || CASE proto WHEN 6 THEN 'tcp' WHEN 17 THEN 'udp' ELSE proto END || '/' || port FROM services ORDER BY clients DESC, ip LIMIT 1")
CLI=$(q "SELECT ip FROM hosts WHERE kind = 'client' ORDER BY ip LIMIT 1")
NET=$(q "SELECT network FROM hosts WHERE ip = '$SRV'")
OFFICE=$(q "SELECT network FROM hosts WHERE ip = '$CLI'")
SITE=$(awk '!/^#/ && NF { print $1; exit }' "$SITES")
SITE2=$(awk '!/^#/ && NF && ++n == 2 { print $1; exit }' "$SITES")
NCLI=$(q "SELECT clients FROM services ORDER BY clients DESC, ip LIMIT 1")
PORT=$((20000 + RANDOM % 20000))
"$BIN/renkei" serve --db "$DB" --sites "$SITES" --listen "127.0.0.1:$PORT" >"$TMP/serve.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/monitor.json" && break; sleep 0.1; done
URL=http://127.0.0.1:$PORT

# p95 of RUNS requests, in ms
p95() {
    local name=$1 path=$2 ts=()
    curl -s -o /dev/null "$URL$path" # warm: page cache, the map (impact, graph, service)
    for _ in $(seq "$RUNS"); do
        ts+=("$(curl -s -o /dev/null -w '%{time_total}' "$URL$path")")
    done
    local n=${#ts[@]} k
    k=$(( (n * 95 + 99) / 100 ))
    echo "RESULT ui_server_${name}_p95 $(printf '%s\n' "${ts[@]}" | sort -g | sed -n ${k}p |
        awk '{ printf "%.1f", $1 * 1000 }') ms"
}
p95 overview /
p95 hosts /hosts
p95 hosts_page_100 "/hosts?offset=10000"
p95 hosts_sort_name "/hosts?sort=name"
p95 hosts_search_prefix "/hosts?q=10.1"
p95 hosts_search_cidr "/hosts?q=10.10.0.0%2F16"
p95 hosts_search_service "/hosts?q=ldap"
p95 hosts_sort_site "/hosts?sort=site&order=desc"
p95 host_server "/host/$SRV"
p95 host_server_last_clients "/host/$SRV?coffset=$((NCLI * 3))"
p95 host_client "/host/$CLI"
p95 services /services
p95 service "/service/$SVC"
p95 service_last_clients "/service/$SVC?offset=$((NCLI - 100))"
p95 sites /sites
p95 site "/site/$SITE"
[ -n "$SITE2" ] && p95 site_2 "/site/$SITE2"
p95 network "/network/$NET"
p95 network_office "/network/$OFFICE"
p95 events /events
p95 monitor /monitor
p95 monitor_json /monitor.json
p95 impact "/impact?fail=$SRV"
p95 impact_csv "/impact.csv?fail=$SRV"
p95 graph_1hop "/graph?around=$CLI&hops=1"
p95 graph_2hops "/graph?around=$CLI&hops=2"

# in Chromium: navigation to content rendered
NPMDIR=${RENKEI_BROWSER_NPM:-$(cd "$BIN/.." && pwd)/test/browser-npm}
CHROMIUM=${CHROMIUM:-$(command -v chromium || true)}
if [ -n "$CHROMIUM" ] && [ -d "$NPMDIR/node_modules/puppeteer-core" ]; then
    cp "$SRC/test/browser/report.js" "$NPMDIR/"
    CHROMIUM=$CHROMIUM node "$NPMDIR/report.js" "$URL" "${SHOTS:-$TMP/shots}" \
        --bench "$(( RUNS < 10 ? RUNS : 10 ))" --host "$SRV" --service "$SVC" --network "$NET" \
        --site "$SITE"
else
    echo "bench_ui.sh: no chromium or puppeteer-core (run ctest -R report_browser once): browser times skipped" >&2
fi
