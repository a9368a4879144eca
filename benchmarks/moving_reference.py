#!/usr/bin/env python3
"""Workload (f) with a moving reference: what a rolling reference costs once the caches are warm.

    nice -n 10 .venv/bin/python benchmarks/moving_reference.py          # about 5 min on 2 quiet cores
    .venv/bin/python benchmarks/moving_reference.py --tiny              # seconds: the harness itself

The hourly Parquet files of workload (f) (benchmarks/incremental.py: 1 M rows x 20 float64
features and a timestamp each; the same files, made by its ``make_hour``), a live window of
the last hour and a rolling reference of the 23 hours before it, ``reference: {from: live,
window: 23h}``: 24 files in the two windows, evaluated every 5 minutes while a new file
arrives every hour (after a warm-up hour, not measured), through the daemon's code path
(``workers.task_for`` / ``_run`` / ``absorb``, as incremental.py does). Contenders, interleaved:

- ``reread``: no live-file cache: every evaluation reads the reference window's files again
  (and the live window's) and counts them in the frozen bins: the cost without this feature's cache;
- ``cached``: the live-file cache on, the reference moving with every evaluation: files already
  counted are reused, the files the windows' edges cut are counted from their row codes
  (driftmon.sources.file_slices; read once more, in full, the first time an edge cuts them);
- ``cached, refresh 1h``: also ``reference_refresh: 1h``: the reference moves in whole hours
  (its new hour is the file that just left the live window, already counted);
- ``live only``: a static reference binned once (a histogram file), the cache on: the live
  side's own cost, which every contender pays; a contender's cost minus this is its reference's.

``reread`` runs at ``--repeat`` steady steps and at the steps where a file arrived; its
results must equal ``cached``'s (the same windows, the same frozen bins). Per evaluation:
wall and CPU time, bytes read (``rchar``), files read and reused, the pickled task's size (the
cache entries, codes included, go to the worker with it) and the bytes the cache holds.

Results go to benchmarks/results/moving-reference-<date>.md and .json (--tiny: to the data folder).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import incremental  # noqa: E402  (workload (f)'s files and one daemon-path evaluation)

from driftmon import config  # noqa: E402
from driftmon.evaluate import ReferenceCache  # noqa: E402
from driftmon.histogram_file import to_document  # noqa: E402
from driftmon.reference import profile_reference  # noqa: E402
from driftmon.sources.file_cache import DEFAULT_SIZE, FileCache  # noqa: E402

HOUR = dt.timedelta(hours=1)
STEP = dt.timedelta(minutes=5)
CONTENDERS = ("reread", "cached", "refresh", "live_only")
NAMES = {
    "reread": "reread (no cache)",
    "cached": "cached",
    "refresh": "cached, refresh 1h",
    "live_only": "live only (static reference)",
}


def monitors(folder: Path) -> dict[str, config.MonitorConfig]:
    features = ", ".join(f"f{i}" for i in range(incremental.FEATURES))
    live = "{type: file, path: 'live/*.parquet', window: {column: ts, last: 1h}}"
    text = "monitors:\n"
    for name, reference, extra in (
        ("moving", "{from: live, window: 23h}", ""),
        ("moving-refresh", "{from: live, window: 23h}", "    reference_refresh: 1h\n"),
        ("static", "{type: histogram, path: reference.json}", ""),
    ):
        text += f"  - name: {name}\n    reference: {reference}\n    live: {live}\n    features: [{features}]\n{extra}"
    (folder / "moving.yaml").write_text(text, encoding="utf-8")
    loaded = config.load(folder / "moving.yaml").monitors
    return {"cached": loaded[0], "reread": loaded[0], "refresh": loaded[1], "live_only": loaded[2]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per hourly file (default 1 M)")
    parser.add_argument("--hours", type=int, default=1, help="simulated hours after the warm-up (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="reread runs at steady steps (default 3)")
    parser.add_argument("--data", type=Path, default=HERE / "data" / "incremental")
    parser.add_argument("--tiny", action="store_true", help="10 k rows, 1 simulated hour: a smoke test")
    args = parser.parse_args()
    if args.tiny:
        args.rows, args.hours, args.repeat, args.data = 10_000, 1, 1, args.data.with_name("incremental-tiny")
    began = time.time()
    store, live = args.data / "store", args.data / "live"
    store.mkdir(parents=True, exist_ok=True)
    live.mkdir(exist_ok=True)
    for link in live.iterdir():
        link.unlink()
    hours = 25 + args.hours  # a day before the start, the warm-up hour, then the measured hours
    for hour in range(hours):
        incremental.make_hour(store / f"h{hour:03d}.parquet", hour, args.rows)

    def arrive(now: dt.datetime) -> bool:
        """Link the files whose hour has ended; True if one arrived."""
        arrived = False
        for hour in range(hours):
            link = live / f"h{hour:03d}.parquet"
            if incremental.T0 + (hour + 1) * HOUR <= now and not link.exists():
                link.symlink_to(store / link.name)
                arrived = True
        return arrived

    start = incremental.T0 + 24 * HOUR
    arrive(start)
    (args.data / "reference.json").write_text("{}", encoding="utf-8")  # replaced below, once the monitors load
    by_contender = monitors(args.data)
    profile = profile_reference(by_contender["cached"], start.timestamp())  # the first reference window's bins
    (args.data / "reference.json").write_text(json.dumps(to_document(profile)), encoding="utf-8")
    references = {contender: ReferenceCache() for contender in CONTENDERS}
    caches = {contender: FileCache(DEFAULT_SIZE, settle_s=0.0) for contender in CONTENDERS if contender != "reread"}
    load_before = os.getloadavg()
    uptime_before = uptime()
    warm = {}
    # Warm-up, one hour: the first reference is profiled (binned from its rows, not from the cache), so a
    # contender's first re-count reads the reference's files once; after that hour every file is counted.
    for moment in [start + k * STEP for k in range(13)]:
        arrive(moment)
        for contender in CONTENDERS if moment == start else [c for c in CONTENDERS if c != "reread"]:
            _, warm[contender] = incremental.evaluate_once(
                by_contender[contender], references[contender], caches.get(contender), moment
            )
    start += HOUR
    steps = []
    steady_seen = 0
    for k in range(1, args.hours * 12 + 1):
        now = start + k * STEP
        new_file = arrive(now)
        reread_now = new_file or (k % 4 == 2 and steady_seen < args.repeat)
        steady_seen += reread_now and not new_file
        row: dict[str, Any] = {"step": k, "now": now.isoformat(), "new_file": new_file}
        order = list(CONTENDERS) if k % 2 else list(reversed(CONTENDERS))  # neither always runs first
        results = {}
        for contender in order:
            if contender == "reread" and not reread_now:
                continue
            result, cost = incremental.evaluate_once(
                by_contender[contender], references[contender], caches.get(contender), now
            )
            assert result.error is None, result.error
            results[contender] = result
            row[contender] = cost
        if "reread" in results:
            row["identical"] = results["reread"].to_json()["features"] == results["cached"].to_json()["features"]
            assert row["identical"], f"step {k}: the cached moving reference differs from the reread one"
        steps.append(row)
        print(
            f"step {k:2d} {'new file' if new_file else '        '} "
            + "  ".join(
                f"{c}: {row[c]['cpu_s']:.2f} s cpu {row[c]['bytes_read'] / 1e6:.0f} MB" for c in order if c in row
            ),
            flush=True,
        )
    load_after = os.getloadavg()
    report = summarise(args, steps, warm, load_before, load_after, time.time() - began, hours)
    report["uptime_before_after"] = [uptime_before, uptime()]
    write(report, args.data / "moving-report" if args.tiny else None)
    return 0


def uptime() -> str:
    """What ``uptime`` says now (the load average as the session's rules ask for it)."""
    import subprocess

    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def summarise(
    args: argparse.Namespace,
    steps: list[dict[str, Any]],
    warm: dict[str, Any],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
    took_s: float,
    hours: int,
) -> dict[str, Any]:
    keys = ("wall_s", "cpu_s", "bytes_read", "files_read", "files_reused", "task_bytes", "cache_bytes")
    table = incremental.medians(steps, CONTENDERS, keys)
    import platform

    return {
        "workload": "f, moving reference",
        "title": f"24 hourly Parquet files x {args.rows:,} rows x {incremental.FEATURES} features: live window 1h, "
        "reference {from: live, window: 23h}, every 5 min, a new file every hour",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "benchmarks/moving_reference.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {platform.platform()}",
        **incremental.run_facts(args, hours, load_before, load_after, took_s),
        "warm_up": warm,
        "summary": table,
        "steps": steps,
    }


def write(report: dict[str, Any], out: Path | None = None) -> None:
    """The report as JSON and Markdown (``out`` without suffix; default: named by the date)."""
    lines = [
        f"# Moving reference on workload (f), {report['date']}",
        "",
        f"{report['title']} (docs/references.md).",
        f"Machine: {report['machine']}. " + incremental.run_line(report, "a shared machine: read the ratios"),
        f"`uptime` before/after: {report.get('uptime_before_after', ['-', '-'])[0]} / "
        f"{report.get('uptime_before_after', ['-', '-'])[1]}.",
        f"One file: {report['file_bytes'] / 1e6:.0f} MB on disk.",
        "",
        "| evaluation | contender | runs | wall median | CPU median | read median | files read / reused "
        "| x less CPU than reread | x less read than reread | reference's CPU (minus live only) | task to the worker "
        "| cache held |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, row in report["summary"].items():
        reread, base = row["reread"], row["live_only"]
        for contender in CONTENDERS:
            cell = row[contender]
            if not cell["runs"]:
                continue
            own = cell["cpu_s"] - base["cpu_s"] if contender != "live_only" and base["cpu_s"] is not None else None
            lines.append(
                f"| {kind} | {NAMES[contender]} | {incremental.cost_cells(cell)} | "
                f"{incremental.ratio(reread, cell, 'cpu_s')} | "
                + ("no file read" if cell["files_read"] == 0 else incremental.ratio(reread, cell, "bytes_read"))
                + " | "
                + ("-" if own is None else f"{own:+.3f} s")
                + f" | {megabytes(cell.get('task_bytes'))} | {megabytes(cell.get('cache_bytes'))} |"
            )
    lines += ["", hour_means(report)]
    print(f"wrote {incremental.write_report(report, [*lines, ''], 'moving-reference', out)}")


def hour_means(report: dict[str, Any]) -> str:
    """The mean CPU per evaluation over the measured steps (the steps that code new edge files
    included), each contender against reread's mean at the steps it ran."""
    steps = report["steps"]

    def mean(contender: str) -> float:
        values = [step[contender]["cpu_s"] for step in steps if contender in step]
        return sum(values) / len(values)

    parts = [f"{NAMES[c]} {mean(c):.3f} s ({mean('reread') / mean(c):.1f}x)" for c in CONTENDERS if c != "reread"]
    return (
        f"Mean CPU per evaluation over all {len(steps)} measured steps (the steps after a file arrived, which "
        f"code the files the edges now cut, included): reread {mean('reread'):.3f} s at its "
        f"{sum('reread' in s for s in steps)} steps; " + ", ".join(parts) + "."
    )


def megabytes(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:.1f} MB"


if __name__ == "__main__":
    raise SystemExit(main())
