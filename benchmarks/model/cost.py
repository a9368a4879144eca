"""What a model adds to `check`: 1 M scored live rows, with and without `model:`.

Writes a reference (100,000 labelled rows) and a live window (1,000,000 rows, half of them
labelled) as Parquet, and times, interleaved, `driftmon check` (a new process each run) and
one warm in-process evaluation of the same monitor:

- ``features``: features x, predicted, p (the model's outputs scored as features), no model;
- ``model``: feature x and the model (its outputs are added as features: the same columns
  binned), labels in the live rows;
- ``late``: the same with the labels in a separate targets file (500,000 rows, shuffled),
  joined on a key;
- ``features_mc`` and ``multiclass``: the same pair for a three-class model (its prediction
  and three probability columns scored as features, or as the model).

Each `check` is timed in wall and CPU seconds (the child's user + system time). The
daemon's steady state is also timed: evaluations in one process with the reference cache
and the live-file cache carried from one evaluation to the next, as a worker does, the live
file unchanged (the cache keeps the counts and the model's columns); and the same without the
live-file cache (every file read at every evaluation).

So ``model - features`` is what the model part itself costs (reading its columns, the
calibration, the estimate, the realized metrics, the band) per 1 M rows.

    nice -n 10 .venv/bin/python benchmarks/model/cost.py /tmp/model-cost --out benchmarks/results/model-cost-DATE
    ... --cases features_mc multiclass   # the three-class pair only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 1_000_000
MONITOR = (
    "monitors:\n  - name: m\n    reference: {{type: file, path: ref.parquet}}\n    live: {{type: file, path: {live}}}\n"
)
MULTICLASS = "{task: multiclass, prediction: cls_pred, score: {a: pa, b: pb, c: pc}, target: cls}"
CONFIGS = {
    "features": ("live.parquet", "    features: [x, predicted, p]\n"),
    "model": (
        "live.parquet",
        "    features: [x]\n    model: {task: binary, prediction: predicted, score: p, target: churned}\n",
    ),
    "late": (
        "live_unlabelled.parquet",
        "    features: [x]\n    model: {task: binary, prediction: predicted, score: p, target: churned,\n"
        "            targets: {type: file, path: targets.parquet}, key: id}\n",
    ),
    "features_mc": ("live.parquet", "    features: [x, cls_pred, pa, pb, pc]\n"),
    "multiclass": ("live.parquet", f"    features: [x]\n    model: {MULTICLASS}\n"),
}
BASELINE = {"model": "features", "late": "features", "multiclass": "features_mc"}


def write(folder: Path, rows: int = ROWS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)

    def side(n: int, centre: float) -> pd.DataFrame:
        x = rng.normal(centre, 1, n)
        p = 1 / (1 + np.exp(-2 * x))
        label = (rng.random(n) < p) * 1.0
        logits = np.column_stack([x, -x, 0.5 * np.sin(3 * x)])  # three classes
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        cls = np.array(["a", "b", "c"])[(rng.random(n)[:, None] > probs.cumsum(axis=1)).sum(axis=1).clip(0, 2)]
        columns = {"id": np.arange(n), "x": x, "p": p, "predicted": (p >= 0.5).astype(int), "churned": label}
        columns |= {"pa": probs[:, 0], "pb": probs[:, 1], "pc": probs[:, 2]}
        columns |= {"cls_pred": np.array(["a", "b", "c"])[probs.argmax(axis=1)], "cls": cls}
        return pd.DataFrame(columns)

    side(100_000, 0.0).to_parquet(folder / "ref.parquet")
    live = side(rows, 0.3)
    live.loc[live.index % 2 == 0, "churned"] = np.nan
    live["cls"] = live["cls"].astype(object)
    live.loc[live.index % 2 == 0, "cls"] = None
    live.to_parquet(folder / "live.parquet")
    live.drop(columns=["churned", "cls"]).to_parquet(folder / "live_unlabelled.parquet")
    targets = live.dropna(subset=["churned"])[["id", "churned"]]
    targets.sample(frac=1.0, random_state=1).to_parquet(folder / "targets.parquet")
    for name, (path, rest) in CONFIGS.items():
        (folder / f"{name}.yaml").write_text(MONITOR.format(live=path) + rest)


def check_seconds(folder: Path, name: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one `driftmon check` process (CPU: its user + system time)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "driftmon", "check", "-c", str(folder / f"{name}.yaml"), "--format", "json"],
        check=False,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1) or '"status": "error"' in done.stdout:
        raise SystemExit(f"check of {name} failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def steady_seconds(folder: Path, name: str, runs: int, files: bool = True) -> list[list[float]]:
    """(wall, CPU) seconds of the daemon's steady state: evaluations with the reference cache
    and the live-file cache carried over (the live file unchanged), after a first one;
    ``files=False``: without the live-file cache (every file read at every evaluation)."""
    code = (
        "import sys, time, json\n"
        "from driftmon import config\nfrom driftmon.evaluate import evaluate\n"
        "from driftmon.reference import ReferenceCache\nfrom driftmon.sources.file_cache import FileCounts\n"
        f"m = config.load({str(folder / (name + '.yaml'))!r}).monitors[0]\n"
        "cache, known = ReferenceCache(), {}\n"
        "def once():\n"
        f"    files = FileCounts(dict(known), settle_s=0.0) if {files} else None\n"
        "    r = evaluate(m, cache, live_files=files); assert r.error is None, r.error\n"
        "    known.update(files.new if files is not None else {})\n"
        "once()\nout = []\n"
        f"for _ in range({runs}):\n"
        "    t, c = time.perf_counter(), time.process_time(); once()\n"
        "    out.append([time.perf_counter() - t, time.process_time() - c])\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def evaluate_seconds(folder: Path, name: str, runs: int) -> list[list[float]]:
    """(wall, CPU) seconds of warm in-process evaluations (the reference's calibration cached),
    and of the model part alone where there is one."""
    code = (
        "import sys, time, json\n"
        "from driftmon import config\nfrom driftmon.evaluate import evaluate\n"
        f"m = config.load({str(folder / (name + '.yaml'))!r}).monitors[0]\n"
        "r = evaluate(m); assert r.error is None, r.error\n"
        "out = []\n"
        f"for _ in range({runs}):\n"
        "    t, c = time.perf_counter(), time.process_time(); evaluate(m)\n"
        "    row = [time.perf_counter() - t, time.process_time() - c]\n"
        "    if m.model is not None:  # the model part alone, on sources opened as evaluate opens them\n"
        "        from driftmon.model import evaluate_model\n"
        "        from driftmon.sources import open_source\n"
        "        ref, live = open_source(m.reference, m.base_dir), open_source(m.live, m.base_dir)\n"
        "        t, c = time.perf_counter(), time.process_time(); evaluate_model(m.name, m.model, ref, live, 50)\n"
        "        row += [time.perf_counter() - t, time.process_time() - c]\n"
        "    out.append(row)\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def _median(rows: list[list[float]], column: int) -> float:
    return statistics.median(row[column] for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--cases", nargs="+", choices=list(CONFIGS), default=list(CONFIGS), help="e.g. features_mc multiclass"
    )
    args = parser.parse_args()
    write(args.folder, args.rows)
    uptime_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    cases = list(args.cases)
    checks: dict[str, list[list[float]]] = {name: [] for name in cases}
    for _ in range(args.runs):  # interleaved, so load changes hit every case alike
        for name in cases:
            checks[name].append(list(check_seconds(args.folder, name)))
    warm = {name: evaluate_seconds(args.folder, name, args.runs) for name in cases}
    steady = {name: steady_seconds(args.folder, name, args.runs) for name in cases}
    uncached = {name: steady_seconds(args.folder, name, args.runs, files=False) for name in cases}
    uptime_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    lines = [f"# What a model adds to check, {args.rows:,} scored rows ({machine})", ""]
    lines += [f"`uptime` before: `{uptime_before}`; after: `{uptime_after}`", ""]
    lines += [
        "| case | check (new process): wall, CPU s | added to check: wall, CPU | warm evaluation: wall, CPU s "
        "| added warm: wall, CPU | daemon steady state (caches): wall, CPU s | added steady: wall, CPU "
        "| steady, no live-file cache: wall, CPU s | added uncached: wall, CPU |"
    ]
    lines += ["| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name in cases:
        cells = []
        for rows in (checks, warm, steady, uncached):
            wall, cpu = _median(rows[name], 0), _median(rows[name], 1)
            added = ""
            if BASELINE.get(name) in rows:
                base = rows[BASELINE[name]]
                added = f"{wall - _median(base, 0):+.3f}, {cpu - _median(base, 1):+.3f}"
            cells += [f"{wall:.3f}, {cpu:.3f}", added]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Added: against `features` (binary, late) or `features_mc` (multiclass), medians."]
    lines += ["", "The model part alone (`evaluate_model`, the reference's calibration cached), median:"]
    lines += [
        f"- {name}: {_median(rows, 2):.3f} s wall, {_median(rows, 3):.3f} s CPU"
        for name, rows in warm.items()
        if len(rows[0]) > 2
    ]
    every = json.dumps({"check": checks, "warm": warm, "steady": steady, "uncached": uncached})
    lines += ["", f"{args.runs} interleaved runs each; every run (wall, CPU): " + every]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
