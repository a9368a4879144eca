"""Scrape latency of a busy daemon: /metrics while evaluations keep every core busy.

Starts the real daemon (``python -m driftmon run``) on 127.0.0.1 with ``--monitors``
monitors of ``--features`` numeric features each, every one due every second (so
evaluations run back to back on all workers), waits until every monitor has been
evaluated once, then scrapes /metrics every ``--interval`` seconds for ``--duration``
seconds (gzip accepted, as Prometheus asks) and prints latency percentiles, the series
count and how many evaluations ran meanwhile. Data is generated with a fixed seed.

    .venv/bin/python benchmarks/busy_scrape.py                      # 100 x 50, 60 s
    .venv/bin/python benchmarks/busy_scrape.py --duration 20 --json out.json

The daemon is stopped by its pid at the end (SIGTERM, then SIGKILL after 15 s).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def write_data(folder: Path, monitors: int, features: int, rows: int, seed: int = 20261125) -> Path:
    """A reference and a drifted live Parquet file, and a config of ``monitors`` monitors over them."""
    rng = np.random.default_rng(seed)
    names = [f"f{index:02d}" for index in range(features)]
    reference = {name: rng.normal(0.0, 1.0, rows) for name in names}
    live = {name: rng.normal(0.1 * (index % 5), 1.0, rows) for index, name in enumerate(names)}
    pq.write_table(pa.table(reference), folder / "reference.parquet")
    pq.write_table(pa.table(live), folder / "live.parquet")
    lines = ["defaults:", "  schedule: 1s", "  timeout: 5m", "monitors:"]
    for index in range(monitors):
        lines += [
            f"  - name: m{index:03d}",
            "    reference: {type: file, path: reference.parquet}",
            "    live: {type: file, path: live.parquet}",
            f"    features: [{', '.join(names)}]",
        ]
    config = folder / "driftmon.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def daemon(config: Path, port: int, log: Path, flags: Sequence[str] = ()) -> Iterator[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "driftmon", "run", "-c", str(config), "--web.listen-address", f"127.0.0.1:{port}"]
    with open(log, "wb") as output:
        process = subprocess.Popen([*command, *flags], stdout=output, stderr=subprocess.STDOUT, cwd=config.parent)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(15)


def scrape(port: int, *, gzip: bool = True, timeout: float = 60.0) -> tuple[float, bytes]:
    """One GET /metrics: (seconds until the whole body arrived, body)."""
    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"} if gzip else {})
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"/metrics answered {response.status}")
    finally:
        connection.close()
    return time.perf_counter() - began, body


def metrics_text(port: int) -> str:
    return scrape(port, gzip=False)[1].decode()


def _sum(text: str, name: str) -> float:
    return sum(float(m.group(1)) for m in re.finditer(rf"^{name}{{[^}}]*}} (\S+)$", text, re.MULTILINE))


def percentile(values: Sequence[float], share: float) -> float:
    return float(np.quantile(np.asarray(values), share))


def measure(
    folder: Path,
    *,
    monitors: int = 100,
    features: int = 50,
    rows: int = 100_000,
    duration: float = 60.0,
    interval: float = 0.1,
    warmup_timeout: float = 600.0,
    flags: Sequence[str] = (),
) -> dict[str, Any]:
    """Run the experiment; return the figures (latencies in milliseconds)."""
    config = write_data(folder, monitors, features, rows)
    port = free_port()
    with daemon(config, port, folder / "daemon.log", flags) as process:
        deadline = time.monotonic() + warmup_timeout
        while True:  # every monitor evaluated once: the full series count
            if process.poll() is not None:
                raise RuntimeError(f"the daemon exited with {process.returncode}; see {folder / 'daemon.log'}")
            with contextlib.suppress(OSError, RuntimeError, http.client.HTTPException):
                text = metrics_text(port)
                if _sum(text, "driftmon_monitor_up") >= monitors:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the daemon did not evaluate every monitor in time")
            time.sleep(0.5)
        evaluations_before = _sum(text, "driftmon_evaluations_total")
        cpu_before = _cpu_seconds()
        latencies: list[float] = []
        sizes: list[int] = []
        began = time.monotonic()
        while time.monotonic() - began < duration:
            seconds, body = scrape(port)
            latencies.append(seconds * 1000)
            sizes.append(len(body))
            time.sleep(max(0.0, interval - seconds))
        elapsed = time.monotonic() - began
        cpu = (_cpu_seconds() - cpu_before) / elapsed
        text = metrics_text(port)
        series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        evaluations = _sum(text, "driftmon_evaluations_total") - evaluations_before
    return {
        "monitors": monitors,
        "features": features,
        "live_rows": rows,
        "series": series,
        "scrapes": len(latencies),
        "gzip_body_bytes": int(np.median(sizes)),
        "body_bytes": len(text.encode()),
        "p50_ms": round(percentile(latencies, 0.5), 2),
        "p90_ms": round(percentile(latencies, 0.9), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
        "evaluations_during": int(evaluations),
        "evaluations_per_s": round(evaluations / elapsed, 2),
        "machine_cpu_busy_cores": round(cpu, 2),
        "cores": os.cpu_count(),
    }


def _cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine so far (from /proc/stat)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [float(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--monitors", type=int, default=100)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the live and reference files")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of scraping")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between scrape starts")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("flags", nargs="*", help="extra flags for driftmon run (after --)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="driftmon-busy-") as folder:
        figures = measure(
            Path(folder),
            monitors=args.monitors,
            features=args.features,
            rows=args.rows,
            duration=args.duration,
            interval=args.interval,
            flags=args.flags,
        )
    print(json.dumps(figures, indent=1))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
