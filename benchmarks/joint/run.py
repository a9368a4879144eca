"""Joint drift (issue 21): what it costs on workload (a), and how often it cries wolf.

    .venv/bin/python benchmarks/joint/run.py cost --out benchmarks/results/joint-cost-DATE
    .venv/bin/python benchmarks/joint/run.py false-alarms --pairs 100 --out benchmarks/results/joint-false-alarms-DATE

``cost``: `driftmon check` on workload (a) (1 M reference + 1 M live rows x 20 numeric + 5
categorical, Parquet, benchmarks/datagen.py) without ``multivariate:``, with ``methods:
[reconstruction]`` and with ``[reconstruction, classifier]`` at the default sample size, runs
interleaved, each a fresh process; the medians' difference is what joint drift adds. Then, in one process, the parts:
each side's sample, the encoding, each method (medians of 5), and their sum without the
reference's sample: what the daemon adds per evaluation, its reference sample kept.

``false-alarms``: no-drift windows (reference and live drawn from one distribution: correlated
normals, a skewed column, a categorical one; a new reference of 20,000 rows for every window)
at live sizes 500 to 10^6, all the window's rows generated, each side sampled as a Parquet file
source samples (`chosen_rows`: 5,000 row numbers drawn up front), then scored by both methods;
the share of p <= 0.05 (with its exact binomial 95 % interval and one-sided 95 % upper bound)
must stay at most 0.05, and the share at warning or worse (p <= 0.05 and 3 no-drift sd past)
lower still. ``uptime`` goes into the JSON before and after.
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
from driftmon.sources.file.parquet_sample import chosen_rows  # noqa: E402

BATCH = 65_536
SAMPLE = 5_000  # the default multivariate.sample


def _load() -> str:
    uptime = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    return uptime or " ".join(f"{value:.2f}" for value in os.getloadavg())


def _config(folder: Path, methods: str | None) -> Path:
    numeric, categorical = datagen.numeric_names(20), datagen.categorical_names(5)
    features = ", ".join(numeric + [f"{{name: {c}, kind: categorical}}" for c in categorical])
    path = folder / f"{methods.replace(', ', '-') if methods else 'plain'}.yaml"
    extra = f"    multivariate: {{methods: [{methods}]}}\n" if methods else ""
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
    configs = {
        "plain": _config(folder, None),
        "reconstruction": _config(folder, "reconstruction"),
        "joint": _config(folder, "reconstruction, classifier"),
    }
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in configs}
    _check(configs["joint"])  # warm the page cache and the .pyc files
    document: dict = {}
    for _ in range(args.runs):
        for name, config in configs.items():  # interleaved
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
        "added_reconstruction_only_wall_s": medians["reconstruction"]["wall_s"] - medians["plain"]["wall_s"],
        "added_reconstruction_only_cpu_s": medians["reconstruction"]["cpu_s"] - medians["plain"]["cpu_s"],
        "parts_s": _parts(folder),
        "multivariate": joint_json,
    }


def _cpu() -> float:
    now = os.times()
    return now.user + now.system


def _parts(folder: Path, repeats: int = 5) -> dict[str, dict[str, float]]:
    """The pieces in one process, each the median of ``repeats`` (wall and CPU seconds): each
    side's sample through the file source, encoding, each method. The daemon's cost per
    evaluation is ``per_evaluation``: the live sample, the encoding and both methods (its
    reference sample is kept in the reference cache; nothing is imported: the methods are numpy)."""
    from driftmon.sources.file import FileSourceConfig
    from driftmon.sources.file.source import FileSource

    columns = datagen.numeric_names(20) + datagen.categorical_names(5)
    runs: dict[str, list[tuple[float, float]]] = {}

    def timed(name: str, work):
        wall, cpu = time.perf_counter(), _cpu()
        found = work()
        runs.setdefault(name, []).append((time.perf_counter() - wall, _cpu() - cpu))
        return found

    for _ in range(repeats):
        samples = {}
        for side, seed in (("reference", 0), ("live", 1)):
            source = FileSource(FileSourceConfig(type="file", path=str(folder / f"a-{side}.parquet")), folder)
            samples[side] = timed(f"sample_{side}", lambda s=source, n=seed: s.sample(columns, SAMPLE, n))

        def encode(samples=samples):
            reference = {name: np.asarray(values) for name, values in samples["reference"].items()}
            live = {name: np.asarray(values) for name, values in samples["live"].items()}
            encoder = multivariate.fit_encoder(reference, datagen.numeric_names(20))
            return encoder, encoder.transform(reference), encoder.transform(live)

        encoder, rows_ref, rows_live = timed("encode", encode)
        for method in ("reconstruction", "classifier"):
            score = getattr(multivariate, method)
            timed(method, lambda m=score, r=rows_ref, v=rows_live, o=encoder.owners: m(r, v, o))
    medians = {
        name: {"wall_s": statistics.median(w for w, _ in values), "cpu_s": statistics.median(c for _, c in values)}
        for name, values in runs.items()
    }
    parts = ("sample_live", "encode", "reconstruction", "classifier")
    medians["per_evaluation"] = {
        unit: sum(medians[part][unit] for part in parts) for unit in ("wall_s", "cpu_s")
    }  # fmt: skip
    return medians


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
    """All ``rows`` rows of a window generated, then the rows a Parquet source would sample."""
    batches = list(_batches(np.random.default_rng([seed, rows]), rows))
    whole = {name: np.concatenate([batch[name] for batch in batches]) for name in batches[0]}
    chosen = chosen_rows(rows, SAMPLE, seed)
    return {name: values[chosen] for name, values in whole.items()}


def _interval(hits: int, trials: int) -> tuple[float, float]:
    from scipy.stats import binomtest

    found = binomtest(hits, trials).proportion_ci(0.95, method="exact")
    return found.low, found.high


def _upper(hits: int, trials: int) -> float:
    """The one-sided 95 % (Clopper-Pearson) upper bound of the rate."""
    from scipy.stats import beta

    return 1.0 if hits >= trials else float(beta.ppf(0.95, hits + 1, trials - hits))


def false_alarms(args: argparse.Namespace) -> dict:
    from scipy.stats import kstest

    sizes = [int(size) for size in args.sizes.split(",")]
    reference_rows = 20_000  # sampled to 5,000, as a file reference is
    out: dict = {"sizes": {}}
    for size in sizes:
        counts = {
            method: {"p<=0.05": 0, "p<=0.01": 0, "warning_or_worse": 0, "pvalues": []}
            for method in multivariate.METHODS
        }
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
                counts[method]["p<=0.01"] += drift.pvalue <= 0.01
                counts[method]["warning_or_worse"] += alarm and drift.score >= drift.expected + 3 * drift.spread
                counts[method]["pvalues"].append(drift.pvalue)
        for found in counts.values():
            hits = found["p<=0.05"]
            found["rate"] = hits / args.pairs
            found["interval95"] = _interval(hits, args.pairs)
            found["upper95"] = _upper(hits, args.pairs)
            found["rate_p<=0.01"] = found["p<=0.01"] / args.pairs
            pvalues = np.array(found["pvalues"])
            found["ks_uniform_pvalue"] = float(kstest(pvalues, "uniform").pvalue)
            found["warning_rate"] = found["warning_or_worse"] / args.pairs
            found["mean_pvalue"] = float(np.mean(found.pop("pvalues")))
        out["sizes"][str(size)] = {"pairs": args.pairs, "seconds": time.perf_counter() - started, "methods": counts}
        print(size, json.dumps(counts), flush=True)
        Path(args.out + ".partial.json").write_text(json.dumps(out, indent=2) + "\n")  # a size at a time
    Path(args.out + ".partial.json").unlink(missing_ok=True)
    return out


# ---------------------------------------------------------------------------
# power on the generated cases at smaller samples


def _correlated(seed: int, rows: int, correlation: float) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=rows)
    return {
        "a": a,
        "b": correlation * a + np.sqrt(1 - correlation**2) * rng.normal(size=rows),
        "noise1": rng.normal(size=rows),
        "noise2": rng.exponential(size=rows),
        "tier": rng.choice(np.array(["gold", "silver", "bronze"], dtype=object), rows, p=[0.2, 0.3, 0.5]),
    }


def _mixture(seed: int, rows: int, diagonal: float) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    sign = rng.choice([-1.0, 1.0], rows)
    other = np.where(rng.random(rows) < diagonal, sign, -sign)
    return {"a": 2 * sign + rng.normal(size=rows), "b": 2 * other + rng.normal(size=rows)}


def power(args: argparse.Namespace) -> dict:
    """The issue's two cases (corr +0.8 -> -0.8; diagonal clusters 80 % -> 20 %) at samples of
    5,000, 2,000 and 1,000 rows a side: each method's z (score past no drift in no-drift sd;
    critical at 5), p-value, top two contributions and CPU seconds."""
    out: dict = {}
    for rows in (5_000, 2_000, 1_000):
        cases = {
            "correlation +0.8 -> -0.8": (
                _correlated(1, rows, 0.8), _correlated(2, rows, -0.8), ["a", "b", "noise1", "noise2"]
            ),
            "mixture 80 % -> 20 % diagonal": (_mixture(1, rows, 0.8), _mixture(2, rows, 0.2), ["a", "b"]),
        }  # fmt: skip
        for name, (reference, live, numeric) in cases.items():
            encoder = multivariate.fit_encoder(reference, numeric)
            rows_ref, rows_live = encoder.transform(reference), encoder.transform(live)
            for method in multivariate.METHODS:
                started = time.process_time()
                drift = getattr(multivariate, method)(rows_ref, rows_live, encoder.owners)
                out[f"{rows} {name} {method}"] = {
                    "z": (drift.score - drift.expected) / drift.spread,
                    "pvalue": drift.pvalue,
                    "top": list(drift.contributions)[:2],
                    "cpu_s": time.process_time() - started,
                }
    for key, found in out.items():
        print(key, json.dumps(found), flush=True)
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
    three = commands.add_parser("power")
    for command in (one, two, three):
        command.add_argument("--out", required=True, help="result path without suffix (.json and .md are written)")
    args = parser.parse_args()
    load_before = _load()
    started = time.perf_counter()
    result = {"cost": cost, "false-alarms": false_alarms, "power": power}[args.command](args)
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
