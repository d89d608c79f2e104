#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Per-daemon /metrics (docs/OPERATIONS.md "Watch") end to end: a merger,
two trackers and a splitter expecting two collectors run on loopback with
metrics_listen on loopback ports, and a reporter on their database.

1. Collector 1 replays a capture from ../shared/pcaps and ends; the
   splitter now waits for collector 2, its counters frozen. Its /metrics must
   hold exactly the counters the merger stored for it in node_stats (same
   names, same values, counter/gauge typed), and the reporter's /metrics
   must agree on its records counts.
2. Collector 2 replays another capture; the run ends. Each tracker's and the
   merger's /metrics (they stay up: no exit_on_eos) must equal their final
   node_stats rows, name for name, and agree with the reporter's /metrics.
Every body is checked against the text format. Also: a second daemon on a
metrics port in use fails at start naming the port, and a non-loopback
metrics_listen without a token is refused naming the config line.
Exits 77 when sqlite3 (Python module) or a capture is missing.
Environment: RENKEI_BIN, RENKEI_PCAPS (set by CTest).
"""
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BIN = os.environ.get("RENKEI_BIN", "build/bin")
PCAPS = os.environ.get("RENKEI_PCAPS", "../shared/pcaps")
CAP1 = os.path.join(PCAPS, "mercury_emix_enterprise_mix.pcap")
CAP2 = os.path.join(PCAPS, "ndpi_smtp.pcap")
# gauges the endpoint adds beside the Stats counters (cmn_metrics.h, the nodes)
EXTRAS = {"up", "snapshot_age_seconds", "final", "epoch", "lag_seconds",
          "peer_last_heard_seconds"}

fails = []
passes = 0


def ok(cond, what):
    global passes
    if cond:
        passes += 1
        print("ok   " + what)
    else:
        fails.append(what)
        print("FAIL " + what)
    return cond


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def sanitize(name):
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def parse(body, strict=True):
    """Text format: {(family, frozenset(labels)): value}, {family: type}; raises on bad lines.
    strict: every family has HELP and is typed counter or gauge (the daemons);
    the reporter writes TYPE untyped without HELP."""
    samples, types, helps, done, cur = {}, {}, set(), set(), None
    kinds = ("counter", "gauge") if strict else ("counter", "gauge", "untyped")
    for line in body.split("\n")[:-1]:
        if line.startswith("# HELP "):
            fam = line.split(" ")[2]
            assert fam not in helps and fam not in done, "HELP twice or late: " + line
            helps.add(fam)
            continue
        if line.startswith("# TYPE "):
            _, _, fam, typ = line.split(" ")
            assert (fam in helps or not strict) and fam not in types and typ in kinds, line
            types[fam] = typ
            continue
        m = SAMPLE.match(line)
        assert m, "bad sample line: " + line
        fam, lab, val = m.group(1), m.group(3) or "", m.group(4)
        assert fam in types, "sample before its TYPE: " + line
        assert fam == cur or fam not in done, "family not contiguous: " + fam
        if cur and cur != fam:
            done.add(cur)
        cur = fam
        labels = LABEL.findall(lab)
        assert ",".join('%s="%s"' % kv for kv in labels) == lab, "bad labels: " + line
        key = (fam, frozenset((k, unescape(v)) for k, v in labels))
        assert key not in samples, "duplicate sample: " + line
        samples[key] = float(val)
    assert body.endswith("\n")
    return samples, types


def scrape(port, path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as r:
        ctype = r.headers.get("Content-Type")
        body = r.read().decode()
    assert ctype == "text/plain; version=0.0.4; charset=utf-8", ctype
    return body


def node_view(port, kind):
    """A daemon's own samples: {counter family tail: value} without the extras, and types."""
    samples, types = parse(scrape(port))
    pre = "renkei_%s_" % kind
    vals = {}
    for (fam, labels), v in samples.items():
        assert fam.startswith(pre), fam
        tail = fam[len(pre):]
        if tail not in EXTRAS:
            vals[tail] = v
    return vals, types, samples


def db_rows(db, kind, node):
    con = sqlite3.connect(db, timeout=10)
    try:
        rows = con.execute("SELECT counter, value, final, name FROM node_stats"
                           " WHERE kind = ? AND node_id = ?", (kind, node)).fetchall()
    finally:
        con.close()
    return {sanitize(c): float(v) for c, v, _, _ in rows}, rows


def wait_for(pred, timeout, step=0.2):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            r = pred()
            if r:
                return r
        except (OSError, sqlite3.Error, urllib.error.URLError, AssertionError):
            pass
        time.sleep(step)
    return None


def agree(port, db, kind, node, want_final):
    """The node's /metrics equals its node_stats rows; returns (vals, rows) or None."""
    vals, _, _ = node_view(port, kind)
    rows, raw = db_rows(db, kind, node)
    if not raw or (want_final and not all(f for _, _, f, _ in raw)):
        return None
    return (vals, rows) if vals == rows else None


def check_agree(port, db, kind, node, want_final, what):
    got = wait_for(lambda: agree(port, db, kind, node, want_final), 20)
    if not got:
        vals, _, _ = node_view(port, kind)
        rows, _ = db_rows(db, kind, node)
        diff = sorted(set(vals.items()) ^ set(rows.items()))[:12]
        ok(False, "%s: /metrics equals node_stats (differences: %s)" % (what, diff))
        return None
    vals, rows = got
    ok(len(vals) > 10, "%s: /metrics equals node_stats, %d counters, names and values" %
       (what, len(vals)))
    return vals


def reporter_value(port, kind, node, counter):
    samples, _ = parse(scrape(port), strict=False)
    fam = "renkei_%s_%s" % (kind, sanitize(counter))
    for (f, labels), v in samples.items():
        if f == fam and ("node", str(node)) in labels:
            return v
    return None


def start(tmp, name, args):
    log = open(os.path.join(tmp, name + ".log"), "w")
    return subprocess.Popen([os.path.join(BIN, args[0])] + args[1:], stdout=log,
                            stderr=subprocess.STDOUT)


def main():
    for p in (CAP1, CAP2):
        if not os.access(p, os.R_OK):
            print("SKIP: capture %s missing" % p)
            return 77
    tmp = tempfile.mkdtemp(prefix="renkei-metrics-")
    procs = []
    try:
        return run(tmp, procs)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if not os.environ.get("RENKEI_KEEP_TMP"):
            shutil.rmtree(tmp, ignore_errors=True)


def run(tmp, procs):
    db = os.path.join(tmp, "m.sqlite")
    z_m, z_s, z_t = free_port(), free_port(), [free_port(), free_port()]
    m_m, m_s, m_t, m_r = free_port(), free_port(), [free_port(), free_port()], free_port()
    common = ["--insecure-lab", "--log-level=info"]
    # merger: its last publish and its last node_stats rows are the same call
    # (run end); a long stats_interval keeps both still afterwards
    merger = start(tmp, "merger", ["renkei-merger", "--listen=tcp://127.0.0.1:%d" % z_m,
                                   "--db=" + db, "--trackers=2", "--stats-interval=3600",
                                   "--liveness-timeout=0",
                                   "--metrics-listen=127.0.0.1:%d" % m_m] + common)
    procs.append(merger)
    for t in range(2):
        procs.append(start(tmp, "tracker%d" % t, [
            "renkei-tracker", "--id=%d" % t, "--listen=tcp://127.0.0.1:%d" % z_t[t],
            "--merger=tcp://127.0.0.1:%d" % z_m, "--stats-interval=1",
            "--metrics-listen=127.0.0.1:%d" % m_t[t]] + common))
    splitter = start(tmp, "splitter", [
        "renkei-splitter", "--listen=tcp://127.0.0.1:%d" % z_s,
        "--tracker=tcp://127.0.0.1:%d" % z_t[0], "--tracker=tcp://127.0.0.1:%d" % z_t[1],
        "--merger=tcp://127.0.0.1:%d" % z_m, "--collectors=2", "--stats-interval=1",
        "--liveness-timeout=0", "--metrics-listen=127.0.0.1:%d" % m_s] + common)
    procs.append(splitter)
    # ready once each node published its first snapshot (its final gauge)
    up = wait_for(lambda: all("renkei_%s_final" % k in node_view(p, k)[1] for p, k in
                              ((m_m, "merger"), (m_s, "splitter"), (m_t[0], "tracker"),
                               (m_t[1], "tracker"))), 20)
    if not ok(up, "every daemon serves /metrics at start"):
        return 1
    vals, types, samples = node_view(m_s, "splitter")
    ok(types.get("renkei_splitter_records_received") == "counter" and
       types.get("renkei_splitter_dedup_held") == "gauge" and
       types.get("renkei_splitter_up") == "gauge",
       "splitter: counters typed counter, gauges gauge")
    ok(("renkei_splitter_up", frozenset({("node", "0"),
                                         ("name", "tcp://127.0.0.1:%d" % z_s)})) in samples,
       "splitter: up{node, name} labels as its Stats")

    # a second merger on the same metrics port: a start-up error naming it
    r = subprocess.run([os.path.join(BIN, "renkei-merger"), "--listen=tcp://127.0.0.1:%d" %
                        free_port(), "--db=" + os.path.join(tmp, "x.sqlite"),
                        "--metrics-listen=127.0.0.1:%d" % m_m] + common,
                       capture_output=True, text=True, timeout=30)
    ok(r.returncode == 1 and "Address already in use" in r.stderr and str(m_m) in r.stderr,
       "metrics port in use: exit 1 naming the address (%d)" % r.returncode)
    conf = os.path.join(tmp, "t.conf")
    with open(conf, "w") as f:
        f.write("[tracker]\nid = 0\nlisten = tcp://127.0.0.1:1\nmerger = tcp://127.0.0.1:2\n"
                "insecure_lab = true\nmetrics_listen = 0.0.0.0:%d\n" % free_port())
    r = subprocess.run([os.path.join(BIN, "renkei-tracker"), "--config", conf],
                       capture_output=True, text=True, timeout=30)
    ok(r.returncode == 2 and "not a loopback address" in r.stderr and "t.conf:6" in r.stderr,
       "non-loopback metrics_listen without a token: exit 2 naming t.conf:6")

    reporter = start(tmp, "reporter", ["renkei-reporter", "--db=" + db,
                                       "--listen=127.0.0.1:%d" % m_r])
    procs.append(reporter)
    c1 = start(tmp, "collector1", ["renkei-collector", "--id=1", "--pcap=" + CAP1,
                                   "--file-prefix=renkei-met-%d-1" % os.getpid(),
                                   "--splitter=tcp://127.0.0.1:%d" % z_s,
                                   "--merger=tcp://127.0.0.1:%d" % z_m] + common)
    rc1 = c1.wait(timeout=300)
    ok(rc1 == 0, "collector 1 replayed %s (exit %d)" % (os.path.basename(CAP1), rc1))

    # phase 1: the splitter holds collector 1's records, waiting for collector 2
    got = wait_for(lambda: node_view(m_s, "splitter")[0].get("collector_1_records_sent", 0) > 0,
                   30)
    ok(got, "splitter: collector 1's end of stream counted")
    svals = check_agree(m_s, db, "splitter", 0, False, "splitter mid-run (waiting)")
    if svals:
        rv = wait_for(lambda: reporter_value(m_r, "splitter", 0, "records_received") ==
                      svals["records_received"], 20)
        ok(rv and svals["records_received"] > 0,
           "reporter and splitter agree: records_received %d" % svals["records_received"])
        ok(svals.get("collector_1_records_received") == svals.get("collector_1_records_sent"),
           "splitter: collector 1's records all received")

    c2 = start(tmp, "collector2", ["renkei-collector", "--id=2", "--pcap=" + CAP2,
                                   "--file-prefix=renkei-met-%d-2" % os.getpid(),
                                   "--splitter=tcp://127.0.0.1:%d" % z_s,
                                   "--merger=tcp://127.0.0.1:%d" % z_m] + common)
    rc2 = c2.wait(timeout=300)
    ok(rc2 == 0, "collector 2 replayed %s (exit %d)" % (os.path.basename(CAP2), rc2))
    try:
        rcs = splitter.wait(timeout=120)
    except subprocess.TimeoutExpired:
        rcs = -1
    ok(rcs == 0, "splitter ended the run (exit %d)" % rcs)

    # phase 2: the run ended; trackers and merger hold their final snapshots
    fin = wait_for(lambda: node_view(m_m, "merger")[2].get(
        ("renkei_merger_final", frozenset({("node", "0"),
                                           ("name", "tcp://127.0.0.1:%d" % z_m)}))) == 1, 60)
    ok(fin, "merger: final 1 once the run ended")
    total = 0
    for t in range(2):
        tv = check_agree(m_t[t], db, "tracker", t, True, "tracker %d at the end" % t)
        if tv:
            total += tv["records_received"]
            ok(tv["records_lost"] == 0 and tv["records_expected"] == tv["records_received"],
               "tracker %d: %d records, none lost" % (t, tv["records_received"]))
            ok(reporter_value(m_r, "tracker", t, "records_received") == tv["records_received"],
               "reporter and tracker %d agree on records_received" % t)
            _, types, _ = node_view(m_t[t], "tracker")
            ok(types.get("renkei_tracker_sessions_live") == "gauge" and
               types.get("renkei_tracker_records_received") == "counter",
               "tracker %d: sessions_live gauge, records_received counter" % t)
    mv = check_agree(m_m, db, "merger", 0, True, "merger at the end")
    if mv:
        ok(mv.get("records_lost") == 0 and mv.get("pipes_unverifiable") == 0,
           "merger: its accounting rows, no loss")
        ok(reporter_value(m_r, "merger", 0, "results_received") == mv["results_received"],
           "reporter and merger agree on results_received")
    con = sqlite3.connect(db)
    fwd = con.execute("SELECT value FROM node_stats WHERE kind = 'splitter'"
                      " AND counter = 'records_copies'").fetchone()
    con.close()
    ok(fwd and total == fwd[0] and total > 0,
       "trackers' records_received (%d) = the splitter's records_copies" % total)
    # stopped by SIGTERM, each daemon ends cleanly: the endpoint's thread and
    # snapshot freed (under -DSANITIZE a leak or error would show in its log)
    for name, p in (("merger", merger), ("tracker0", procs[1]), ("tracker1", procs[2]),
                    ("splitter", splitter)):
        p.terminate()
        try:
            rc = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            rc = -1
        with open(os.path.join(tmp, name + ".log")) as f:
            log = f.read()
        ok(rc == 0 and "Sanitizer" not in log and "runtime error" not in log,
           "%s: exit %d (SIGTERM or run end), nothing reported by sanitizers" % (name, rc))
    print("%d passed, %d failed" % (passes, len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
