"""What a model adds to `check`: 1 M scored live rows, with and without `model:`.

Writes a reference (100,000 labelled rows) and a live window (1,000,000 rows, half of them
labelled) as Parquet, and times, interleaved, `driftmon check` (a new process each run) and
one warm in-process evaluation of the same monitor:

- ``features``: features x, predicted, p (the model's outputs scored as features), no model;
- ``model``: feature x and the model (its outputs are added as features: the same columns
  binned), labels in the live rows;
- ``late``: the same with the labels in a separate targets file (500,000 rows, shuffled),
  joined on a key.

So ``model - features`` is what the model part itself costs (reading its columns, the
calibration, the estimate, the realized metrics, the band) per 1 M rows.

    nice -n 10 .venv/bin/python benchmarks/model/cost.py /tmp/model-cost --out benchmarks/results/model-cost-DATE
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
}


def write(folder: Path, rows: int = ROWS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)

    def side(n: int, centre: float) -> pd.DataFrame:
        x = rng.normal(centre, 1, n)
        p = 1 / (1 + np.exp(-2 * x))
        label = (rng.random(n) < p) * 1.0
        return pd.DataFrame({"id": np.arange(n), "x": x, "p": p, "predicted": (p >= 0.5).astype(int), "churned": label})

    side(100_000, 0.0).to_parquet(folder / "ref.parquet")
    live = side(rows, 0.3)
    live.loc[live.index % 2 == 0, "churned"] = np.nan
    live.to_parquet(folder / "live.parquet")
    live.drop(columns="churned").to_parquet(folder / "live_unlabelled.parquet")
    targets = live.dropna(subset=["churned"])[["id", "churned"]]
    targets.sample(frac=1.0, random_state=1).to_parquet(folder / "targets.parquet")
    for name, (path, rest) in CONFIGS.items():
        (folder / f"{name}.yaml").write_text(MONITOR.format(live=path) + rest)


def check_seconds(folder: Path, name: str) -> float:
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "driftmon", "check", "-c", str(folder / f"{name}.yaml"), "--format", "json"],
        check=False,
        capture_output=True,
    )
    return time.perf_counter() - began


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    write(args.folder)
    load_before = os.getloadavg()
    checks: dict[str, list[float]] = {name: [] for name in CONFIGS}
    for _ in range(args.runs):  # interleaved, so load changes hit every case alike
        for name in CONFIGS:
            checks[name].append(check_seconds(args.folder, name))
    warm = {name: evaluate_seconds(args.folder, name, args.runs) for name in CONFIGS}
    load_after = os.getloadavg()
    median = {name: statistics.median(values) for name, values in checks.items()}
    warm_median = {name: statistics.median(row[0] for row in values) for name, values in warm.items()}
    cpu_median = {name: statistics.median(row[1] for row in values) for name, values in warm.items()}
    part = {
        name: (statistics.median(r[2] for r in v), statistics.median(r[3] for r in v))
        for name, v in warm.items()
        if len(v[0]) > 2
    }
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    lines = [f"# What a model adds to check, 1,000,000 scored rows ({machine})", ""]
    lines += ["| case | check (new process), median s | warm evaluation: wall, CPU s | added by the model: wall, CPU |"]
    lines += ["| --- | ---: | ---: | ---: |"]
    for name in CONFIGS:
        added = ""
        if name != "features":
            wall, cpu = warm_median[name] - warm_median["features"], cpu_median[name] - cpu_median["features"]
            added = f"{wall:+.3f}, {cpu:+.3f}"
        lines.append(f"| {name} | {median[name]:.3f} | {warm_median[name]:.3f}, {cpu_median[name]:.3f} | {added} |")
    lines += ["", "The model part alone (`evaluate_model`, the reference's calibration cached), median:"]
    lines += [f"- {name}: {wall:.3f} s wall, {cpu:.3f} s CPU" for name, (wall, cpu) in part.items()]
    lines += ["", f"{args.runs} interleaved runs each; every run: " + json.dumps({"check": checks, "warm": warm})]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
