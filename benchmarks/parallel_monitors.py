"""The daemon's speedup from evaluating monitors in parallel worker processes.

Starts the real daemon (``python -m driftmon run``, 127.0.0.1, a free port) with
``--monitors`` monitors, each the end-to-end job of workload (a) (1 M reference + 1 M live
rows x 20 numeric + 5 categorical, Parquet: 1-2 s of work each), schedule 1h so every
monitor is evaluated exactly once, and measures the wall time until every monitor has
been evaluated, once per ``--evaluation.workers`` setting, interleaved and repeated.

- **ready**: from the start of the process to the first ``/-/healthy`` answer.
- **all evaluated**: from the start to the first ``/metrics`` in which every monitor has
  ``driftmon_monitor_up 1`` (polled every 0.1 s).
- **evaluating**: all evaluated - ready, the figure the speedup is taken from.

    .venv/bin/python benchmarks/parallel_monitors.py                 # 8 monitors, workers 1 and 2, 3 times
    .venv/bin/python benchmarks/parallel_monitors.py --tiny          # seconds: the harness itself

Results (JSON and Markdown) go to benchmarks/results/parallel-monitors-<date>.
Each daemon is stopped by its pid (SIGTERM, then SIGKILL after 15 s).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import busy_scrape  # noqa: E402
import datagen  # noqa: E402
import run as harness  # noqa: E402


def write_config(folder: Path, reference: Path, live: Path, monitors: int, features: list[str]) -> Path:
    """``monitors`` monitors over the same files (each bins its own reference), due once an hour."""
    lines = ["defaults:", "  schedule: 1h", "  timeout: 10m", "monitors:"]
    for index in range(monitors):
        lines += [
            f"  - name: m{index:02d}",
            f"    reference: {{type: file, path: {json.dumps(str(reference))}}}",
            f"    live: {{type: file, path: {json.dumps(str(live))}}}",
            f"    features: [{', '.join(features)}]",
        ]
    config = folder / f"parallel-{monitors}.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except OSError:
        return 0, ""


def one_run(config: Path, monitors: int, workers: int, log: Path, timeout: float) -> dict[str, Any]:
    """Start a daemon, wait until every monitor was evaluated once; its timings in seconds."""
    port = busy_scrape.free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    flags = ["--evaluation.workers", str(workers), "--log.level", "warn"]
    with busy_scrape.daemon(config, port, log, flags) as process:
        ready = None
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the daemon exited with status {process.returncode}: {log.read_text()[-600:]}")
            if ready is None:
                if _get(base + "/-/healthy")[0] == 200:
                    ready = time.perf_counter() - started
            else:
                status, body = _get(base + "/metrics")
                up = sum(
                    1 for line in body.splitlines() if line.startswith("driftmon_monitor_up{") and line.endswith(" 1.0")
                )
                if status == 200 and up >= monitors:
                    done = time.perf_counter() - started
                    peak = harness._vm_hwm_mb(process.pid)
                    return {"workers": workers, "ready_s": ready, "all_s": done, "evaluating_s": done - ready,
                            "daemon_peak_rss_mb": peak}  # fmt: skip
            time.sleep(0.1)
    raise TimeoutError(f"not every monitor evaluated within {timeout:.0f} s (workers {workers})")


def markdown(document: dict[str, Any]) -> str:
    m = document["machine"]
    lines = [
        f"# Parallel monitors, {document['date']}",
        "",
        f"Machine: {m.get('cpu', '?')}, {m.get('cores')} cores; load average before/after "
        f"{document['load_before'][0]:.2f} / {document['load_after'][0]:.2f}.",
        f"Command: `{document['command']}`. driftmon sources sha256 {document['driftmon_code']['sources_sha256']}.",
        f"{document['monitors']} monitors, each {document['rows']:,} reference + {document['rows']:,} live rows "
        f"x {document['features']} features (Parquet), schedule 1h: each evaluated once.",
        "",
        "| workers | runs | evaluating median | min-max | speedup vs 1 worker | ready median | all evaluated median |"
        " daemon peak RSS |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in document["summary"]:
        lines.append(
            f"| {row['workers']} | {row['runs']} | {row['evaluating_median_s']:.2f} s | "
            f"{row['evaluating_min_s']:.2f} - {row['evaluating_max_s']:.2f} s | {row['speedup']:.2f}x | "
            f"{row['ready_median_s']:.2f} s | {row['all_median_s']:.2f} s | {row['daemon_peak_rss_mb']:.0f} MB |"
        )
    lines += [
        "",
        "evaluating = from the first /-/healthy answer to the first /metrics in which every monitor",
        "is up (polled every 0.1 s); speedup = the 1-worker median over this median. Settings run",
        "interleaved (1, 2, 1, 2, ...) so that load from other work hits both alike. Daemon peak RSS",
        "is the daemon's own (its workers are separate processes).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--monitors", type=int, default=8, help="monitors in the config (default 8)")
    parser.add_argument("--workers", default="1,2", help="--evaluation.workers settings to compare (default 1,2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per setting (default 3)")
    parser.add_argument("--timeout", type=float, default=150.0, help="seconds before one run is abandoned")
    parser.add_argument("--tiny", action="store_true", help="20,000 rows: a smoke test of the harness")
    parser.add_argument("--data", default=str(HERE / "data"), help="where generated data goes")
    parser.add_argument("--output", default="", help="results file stem (default results/parallel-monitors-<date>)")
    args = parser.parse_args(argv)
    rows = 20_000 if args.tiny else 1_000_000
    settings = [int(w) for w in args.workers.split(",") if w.strip()]
    data = Path(args.data).resolve()
    n_numeric, n_categorical = 20, 5
    suffix = "-tiny" if args.tiny else ""
    reference = datagen.table_file(data / f"a-reference{suffix}.parquet", rows, n_numeric, n_categorical, False, 1)
    live = datagen.table_file(data / f"a-live{suffix}.parquet", rows, n_numeric, n_categorical, True, 2)
    features = datagen.numeric_names(n_numeric) + datagen.categorical_names(n_categorical)
    started = dt.datetime.now(dt.UTC)
    code = harness.source_state()
    load_before = harness.os.getloadavg()
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="parallel-monitors-") as scratch:
        config = write_config(Path(scratch), reference, live, args.monitors, features)
        for repetition in range(args.repeat):
            for workers in settings:
                result = one_run(config, args.monitors, workers, Path(scratch) / f"daemon-{workers}.log", args.timeout)
                runs.append(result)
                print(
                    f"workers {workers} run {repetition + 1}: ready {result['ready_s']:.2f} s, all evaluated "
                    f"{result['all_s']:.2f} s, evaluating {result['evaluating_s']:.2f} s",
                    flush=True,
                )
    summary = []
    for workers in settings:
        mine = [r for r in runs if r["workers"] == workers]
        evaluating = [r["evaluating_s"] for r in mine]
        summary.append(
            {
                "workers": workers,
                "runs": len(mine),
                "evaluating_median_s": statistics.median(evaluating),
                "evaluating_min_s": min(evaluating),
                "evaluating_max_s": max(evaluating),
                "ready_median_s": statistics.median(r["ready_s"] for r in mine),
                "all_median_s": statistics.median(r["all_s"] for r in mine),
                "daemon_peak_rss_mb": max(r["daemon_peak_rss_mb"] for r in mine),
            }
        )
    base = summary[0]["evaluating_median_s"]
    for row in summary:
        row["speedup"] = base / row["evaluating_median_s"]
    document = {
        "date": started.isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "machine": harness.machine(),
        "driftmon_code": code,
        "load_before": load_before,
        "load_after": harness.os.getloadavg(),
        "monitors": args.monitors,
        "rows": rows,
        "features": len(features),
        "tiny": args.tiny,
        "runs": runs,
        "summary": summary,
    }
    text = markdown(document)
    print()
    print(text)
    stem = (
        Path(args.output)
        if args.output
        else HERE / "results" / ("parallel-monitors-" + ("tiny" if args.tiny else started.strftime("%Y-%m-%dT%H%M")))
    )
    harness.write_results(stem, text, document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
