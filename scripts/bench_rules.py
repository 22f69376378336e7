#!/usr/bin/env python3
"""Rule evaluation cost of one service with a full 30 days of data behind it.

A Prometheus that just started evaluates the rules over almost nothing; the
long windows (1d, 3d, 30d) only cost what they cost once the data is there.
This backfills 30 days of the series the rules of `rules/hanbai.yml` read, at
the 15 s probe interval, for TRANSACTIONS transactions of three steps from two
locations (`promtool tsdb create-blocks-from openmetrics`), starts Debian's
Prometheus 2.42 on it with that one rules file, and reports each rule group's
`prometheus_rule_group_last_duration_seconds` (median and max over the
window) and Prometheus' CPU over the window.

    scripts/bench_rules.py [TRANSACTIONS] [WINDOW_SECONDS]   (defaults 1, 180)

Called by `scripts/bench.sh rules`. A benchmark, not a test. Work files go to
$BENCH_DIR/rules (default /tmp/mimamori-bench/rules) and are removed at the end.
"""

import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
W = os.path.join(os.environ.get("BENCH_DIR", "/tmp/mimamori-bench"), "rules")
PORT = 19091
STEP = 15
DAYS = 30
SERVICE = "hanbai"
LOCATIONS = ["tokyo-a", "osaka-b"]
STEPS = ["login", "search-orders", "open-order"]


def series(transactions):
    """(name{labels}, kind) for every series the service's rules read."""
    out = []
    for loc in LOCATIONS:
        out.append((f'mimamori_maintenance_active{{service="{SERVICE}",location="{loc}"}}', "zero"))
        for t in range(transactions):
            tl = f'service="{SERVICE}",transaction="tx{t}",location="{loc}"'
            out.append((f"mimamori_probe_success{{{tl}}}", "one"))
            for s in STEPS:
                sl = f'{tl},step="{s}",result="success"'
                out.append((f"mimamori_step_duration_seconds_count{{{sl}}}", "counter"))
                out.append((f'mimamori_step_duration_seconds_bucket{{{sl},le="3"}}', "counter"))
    # What the short group records and the long group reads back.
    out.append((f'mimamori:slo_availability_errors{{service="{SERVICE}"}}', "zero"))
    out.append((f'mimamori:service_operating{{service="{SERVICE}"}}', "one"))
    return out


def backfill(transactions, end):
    start = end - DAYS * 86400
    db = os.path.join(W, "data")
    os.makedirs(db)
    all_series = series(transactions)
    files = []
    day = start
    while day < end:
        path = os.path.join(W, f"day-{day}.om")
        with open(path, "w") as f:
            for t in range(day, min(day + 86400, end), STEP):
                n = (t - start) // STEP
                for name, kind in all_series:
                    v = n if kind == "counter" else (1 if kind == "one" else 0)
                    f.write(f"{name} {v} {t}\n")
            f.write("# EOF\n")
        files.append(path)
        day += 86400
    procs = []
    for part in (files[0::2], files[1::2]):
        procs.append(subprocess.Popen(
            ["sh", "-c", " && ".join(
                f"promtool tsdb create-blocks-from openmetrics -q {p} {db} >/dev/null && rm {p}"
                for p in part)]))
    for p in procs:
        assert p.wait() == 0, "promtool failed"
    return db, len(all_series)


def metrics():
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=10) as r:
        return r.read().decode()


def main():
    transactions = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    window = int(sys.argv[2]) if len(sys.argv) > 2 else 180
    shutil.rmtree(W, ignore_errors=True)
    os.makedirs(W)
    end = int(time.time()) // STEP * STEP
    t0 = time.time()
    db, n = backfill(transactions, end)
    print(f"backfilled {n} series × {DAYS} days at {STEP} s in {time.time() - t0:.0f} s")
    rules = os.path.join(W, f"{SERVICE}.yml")
    shutil.copy(os.path.join(ROOT, "rules", f"{SERVICE}.yml"), rules)
    config = os.path.join(W, "prometheus.yml")
    with open(config, "w") as f:
        f.write(f"global: {{evaluation_interval: 15s}}\nrule_files: ['{rules}']\n")
    prom = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={db}",
         "--storage.tsdb.retention.time=100y",
         "--storage.tsdb.min-block-duration=2h", "--storage.tsdb.max-block-duration=2h",
         f"--web.listen-address=127.0.0.1:{PORT}"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(W, "prometheus.log"), "w"))
    try:
        for _ in range(120):
            try:
                metrics()
                break
            except OSError:
                time.sleep(0.5)
        time.sleep(70)  # the long group (1 min) has evaluated at least once
        load0 = open("/proc/loadavg").read().split()[:3]

        def cpu():
            for line in metrics().splitlines():
                if line.startswith("process_cpu_seconds_total "):
                    return float(line.split()[1])

        c0, w0 = cpu(), time.time()
        samples = {}
        while time.time() - w0 < window:
            for line in metrics().splitlines():
                if line.startswith("prometheus_rule_group_last_duration_seconds{"):
                    group = line.split(";")[1].split('"')[0]
                    samples.setdefault(group, []).append(float(line.split()[-1]))
            time.sleep(15)
        c1, w1 = cpu(), time.time()
        load1 = open("/proc/loadavg").read().split()[:3]
        print(f"{transactions} transaction(s) × {len(STEPS)} steps × {len(LOCATIONS)} locations, "
              f"{window} s window (load average {', '.join(load0)} → {', '.join(load1)})")
        for group, v in sorted(samples.items()):
            print(f"  {group}: last evaluation median {statistics.median(v) * 1000:.1f} ms, "
                  f"max {max(v) * 1000:.1f} ms ({len(v)} samples)")
        print(f"  Prometheus CPU: {(c1 - c0) / (w1 - w0) * 100:.2f} % of a core "
              "(rule evaluation, nothing scraped)")
    finally:
        prom.kill()
        prom.wait()
        shutil.rmtree(W, ignore_errors=True)


if __name__ == "__main__":
    main()
