"""Joint drift (issue 21): what it costs on workload (a), and how often it cries wolf.

    .venv/bin/python benchmarks/joint/run.py cost --out benchmarks/results/joint-cost-DATE
    .venv/bin/python benchmarks/joint/run.py false-alarms --pairs 100 --out benchmarks/results/joint-false-alarms-DATE

``cost``: `driftmon check` on workload (a) (1 M reference + 1 M live rows x 20 numeric + 5
categorical, Parquet, benchmarks/datagen.py) without and with ``multivariate: {methods:
[reconstruction, classifier]}`` at the default sample size, runs interleaved, each a fresh
process; the medians' difference is what joint drift adds. Then, in one process, the parts:
each side's sample, the encoding, each method.

``false-alarms``: no-drift pairs (reference and live drawn from one distribution: correlated
normals, a skewed column, a categorical one) at live sizes 500 to 10^6, each side sampled by
the reservoir exactly as a file source does (batches of 65,536 rows), then scored by both
methods; the share of p <= 0.05 must stay at most 0.05 (with its binomial 95 % interval), and
the share at warning or worse (p <= 0.05 and 3 no-drift sd past) lower still.
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import datagen  # noqa: E402

from driftmon import multivariate  # noqa: E402
from driftmon.sources.sample import Reservoir  # noqa: E402

BATCH = 65_536
SAMPLE = 5_000  # the default multivariate.sample


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _config(folder: Path, joint: bool) -> Path:
    numeric, categorical = datagen.numeric_names(20), datagen.categorical_names(5)
    features = ", ".join(numeric + [f"{{name: {c}, kind: categorical}}" for c in categorical])
    path = folder / ("joint.yaml" if joint else "plain.yaml")
    extra = "    multivariate: {methods: [reconstruction, classifier]}\n" if joint else ""
    path.write_text(
        "monitors:\n  - name: a\n"
        f"    reference: {{type: file, path: {folder / 'a-reference.parquet'}}}\n"
        f"    live: {{type: file, path: {folder / 'a-live.parquet'}}}\n"
        f"    features: [{features}]\n{extra}"
    )
    return path


def _check(config: Path) -> tuple[float, float, dict]:
    started = time.perf_counter()
    before = os.times()
    run = subprocess.run(
        [sys.executable, "-m", "driftmon", "check", "-c", str(config), "--format", "json"],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    if run.returncode not in (0, 1, 2):
        raise SystemExit(f"check failed ({run.returncode}): {run.stderr[-2000:]}")
    return wall, cpu, json.loads(run.stdout)


def cost(args: argparse.Namespace) -> dict:
    folder = Path(args.data)
    datagen.table_file(folder / "a-reference.parquet", 1_000_000, 20, 5, False, 1)
    datagen.table_file(folder / "a-live.parquet", 1_000_000, 20, 5, True, 2)
    plain, joint = _config(folder, False), _config(folder, True)
    runs: dict[str, list[tuple[float, float]]] = {"plain": [], "joint": []}
    _check(joint)  # warm the page cache and the .pyc files
    document: dict = {}
    for _ in range(args.runs):
        for name, config in (("plain", plain), ("joint", joint)):
            wall, cpu, document[name] = _check(config)
            runs[name].append((wall, cpu))
    medians = {
        name: {"wall_s": statistics.median(w for w, _ in values), "cpu_s": statistics.median(c for _, c in values)}
        for name, values in runs.items()
    }
    joint_json = document["joint"]["monitors"][0]["multivariate"] if "monitors" in document["joint"] else None
    return {
        "runs": {name: [{"wall_s": w, "cpu_s": c} for w, c in values] for name, values in runs.items()},
        "medians": medians,
        "added_wall_s": medians["joint"]["wall_s"] - medians["plain"]["wall_s"],
        "added_cpu_s": medians["joint"]["cpu_s"] - medians["plain"]["cpu_s"],
        "parts_s": _parts(folder),
        "multivariate": joint_json,
    }


def _parts(folder: Path) -> dict[str, float]:
    """The pieces in one process: each side's sample through the file source, encoding, methods."""
    from driftmon.sources.file import FileSourceConfig
    from driftmon.sources.file.source import FileSource

    columns = datagen.numeric_names(20) + datagen.categorical_names(5)
    timings: dict[str, float] = {}
    samples = {}
    for side, seed in (("reference", 0), ("live", 1)):
        source = FileSource(FileSourceConfig(type="file", path=str(folder / f"a-{side}.parquet")), folder)
        started = time.perf_counter()
        samples[side] = source.sample(columns, SAMPLE, seed)
        timings[f"sample_{side}"] = time.perf_counter() - started
    started = time.perf_counter()
    reference = {name: np.asarray(values) for name, values in samples["reference"].items()}
    live = {name: np.asarray(values) for name, values in samples["live"].items()}
    encoder = multivariate.fit_encoder(reference, datagen.numeric_names(20))
    rows_ref, rows_live = encoder.transform(reference), encoder.transform(live)
    timings["encode"] = time.perf_counter() - started
    for method in ("reconstruction", "classifier"):
        started = time.perf_counter()
        getattr(multivariate, method)(rows_ref, rows_live, encoder.owners)
        timings[method] = time.perf_counter() - started
    return timings


# ---------------------------------------------------------------------------
# no-drift false alarms


def _batches(rng: np.random.Generator, rows: int):
    """No-drift rows: a and b correlated 0.6, c lognormal, d three categories (20/30/50 %)."""
    for start in range(0, rows, BATCH):
        n = min(BATCH, rows - start)
        a = rng.normal(size=n)
        yield {
            "a": a,
            "b": 0.6 * a + 0.8 * rng.normal(size=n),
            "c": rng.lognormal(size=n),
            "d": rng.choice(np.array(["x", "y", "z"], dtype=object), n, p=[0.2, 0.3, 0.5]),
        }


def _sampled(seed: int, rows: int) -> dict[str, np.ndarray]:
    reservoir = Reservoir(SAMPLE, seed=seed)
    for batch in _batches(np.random.default_rng([seed, rows]), rows):
        reservoir.add(batch)
    return reservoir.sample()


def _interval(hits: int, trials: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    found = binomtest(hits, trials).proportion_ci(0.95, method="exact")
    return found.low, found.high


def false_alarms(args: argparse.Namespace) -> dict:
    sizes = [int(size) for size in args.sizes.split(",")]
    reference_rows = 20_000  # sampled to 5,000, as a file reference is
    out: dict = {"sizes": {}}
    for size in sizes:
        counts = {method: {"p<=0.05": 0, "warning_or_worse": 0, "pvalues": []} for method in multivariate.METHODS}
        started = time.perf_counter()
        for pair in range(args.pairs):
            reference = _sampled(10_000 + pair, reference_rows)
            live = _sampled(20_000 + pair, size)
            encoder = multivariate.fit_encoder(reference, ["a", "b", "c"])
            rows_ref, rows_live = encoder.transform(reference), encoder.transform(live)
            for method in multivariate.METHODS:
                drift = getattr(multivariate, method)(rows_ref, rows_live, encoder.owners, seed=pair)
                alarm = drift.pvalue <= 0.05
                counts[method]["p<=0.05"] += alarm
                counts[method]["warning_or_worse"] += alarm and drift.score >= drift.expected + 3 * drift.spread
                counts[method]["pvalues"].append(drift.pvalue)
        for found in counts.values():
            hits = found["p<=0.05"]
            found["rate"] = hits / args.pairs
            found["interval95"] = _interval(hits, args.pairs)
            found["warning_rate"] = found["warning_or_worse"] / args.pairs
            found["mean_pvalue"] = float(np.mean(found.pop("pvalues")))
        out["sizes"][str(size)] = {"pairs": args.pairs, "seconds": time.perf_counter() - started, "methods": counts}
        print(size, json.dumps(counts), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("cost")
    one.add_argument("--runs", type=int, default=5)
    one.add_argument("--data", default=str(ROOT / "benchmarks" / "data"))
    two = commands.add_parser("false-alarms")
    two.add_argument("--pairs", type=int, default=100)
    two.add_argument("--sizes", default="500,5000,100000,1000000")
    for command in (one, two):
        command.add_argument("--out", required=True, help="result path without suffix (.json and .md are written)")
    args = parser.parse_args()
    load_before = _load()
    started = time.perf_counter()
    result = cost(args) if args.command == "cost" else false_alarms(args)
    result["meta"] = {
        "command": args.command,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": time.perf_counter() - started,
        "load_average_before": load_before,
        "load_average_after": _load(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    Path(args.out + ".json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result.get("medians") or result["meta"], indent=2))


if __name__ == "__main__":
    main()
