"""What the data-quality checks cost `driftmon check` on workload (a) (benchmarks/README.md).

Workload (a) from benchmarks/datagen.py (1 M reference + 1 M live rows x 20 numeric + 5
categorical features, Parquet): `driftmon check --format json` with the default data-quality
checks (per-feature shares, the schema check) and with `quality: null`, interleaved, N rounds
each, in fresh processes. Prints and writes the medians of wall and CPU time (user + sys).

    nice -n 10 python benchmarks/quality/budget.py --rounds 8 --out benchmarks/results/quality-budget-DATE.md
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import datagen  # noqa: E402

FEATURES = datagen.numeric_names(20) + datagen.categorical_names(5)


def config(folder: Path, reference: Path, live: Path, quality: bool) -> Path:
    monitor = {
        "name": "a",
        "reference": {"type": "file", "path": str(reference)},
        "live": {"type": "file", "path": str(live)},
        "features": FEATURES,
    }
    document = {"defaults": {"measures": ["kl", "js", "psi"]}, "monitors": [monitor]}
    if not quality:
        document["defaults"]["quality"] = None
    path = folder / f"driftmon-a-quality-{'on' if quality else 'off'}.yaml"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def one_run(path: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "driftmon", "check", "-c", str(path), "--format", "json"],
        capture_output=True,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise SystemExit(done.stderr.decode())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def in_process(path: Path, repeats: int = 5) -> dict[str, float]:
    """The data-quality work alone, timed in this process (CPU time, median of ``repeats``):
    the schema check (its first call reads the files' metadata; later calls hit the per-file
    cache, as the daemon's do) and the per-feature share checks, against one whole evaluation."""
    from driftmon import config as driftmon_config
    from driftmon import schema, sources
    from driftmon.evaluate import evaluate
    from driftmon.quality import feature_quality

    monitor = driftmon_config.load(path).monitors[0]
    reference_source = sources.open_source(monitor.reference, monitor.base_dir)
    live_source = sources.open_source(monitor.live, monitor.base_dir)

    def cpu(work) -> float:
        started = time.process_time()
        work()
        return time.process_time() - started

    schema_cold = cpu(lambda: schema.check(monitor, reference_source, live_source))
    schema_warm = statistics.median(
        cpu(lambda: schema.check(monitor, reference_source, live_source)) for _ in range(repeats)
    )
    reference = reference_source.profile([f.rule for f in monitor.features])
    live = live_source.count({name: hist.spec for name, hist in reference.items()})
    assert monitor.quality is not None
    limits = monitor.quality.limits

    def shares() -> None:
        for name in reference:
            feature_quality(name, reference[name], live[name], limits, monitor.significance)

    share_time = statistics.median(cpu(shares) for _ in range(repeats))
    whole = statistics.median(cpu(lambda: evaluate(monitor)) for _ in range(3))
    return {"schema_cold_s": schema_cold, "schema_warm_s": schema_warm, "shares_s": share_time, "evaluate_s": whole}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--data", type=Path, default=HERE.parent / "data")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    reference = datagen.table_file(args.data / "a-reference.parquet", 1_000_000, 20, 5, False, 1)
    live = datagen.table_file(args.data / "a-live.parquet", 1_000_000, 20, 5, True, 2)
    paths = {"on": config(args.data, reference, live, True), "off": config(args.data, reference, live, False)}
    times: dict[str, list[tuple[float, float]]] = {"on": [], "off": []}
    for side in ("on", "off"):  # warm the page cache and imports
        one_run(paths[side])
    for _ in range(args.rounds):
        for side in ("off", "on"):
            times[side].append(one_run(paths[side]))
    load = os.getloadavg()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        "# Data-quality checks: their cost in `driftmon check` on workload (a)",
        "",
        f"`python benchmarks/quality/budget.py --rounds {args.rounds}` (nice -n 10), {stamp}, "
        f"load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (2 cores, shared).",
        "",
        "| quality | runs | wall median (s) | wall min (s) | CPU median (s) | CPU min (s) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for side in ("off", "on"):
        wall = [w for w, _ in times[side]]
        cpu = [c for _, c in times[side]]
        lines.append(
            f"| {side} | {len(wall)} | {statistics.median(wall):.2f} | {min(wall):.2f} | "
            f"{statistics.median(cpu):.2f} | {min(cpu):.2f} |"
        )
    on_cpu = statistics.median(c for _, c in times["on"])
    off_cpu = statistics.median(c for _, c in times["off"])
    on_min = min(c for _, c in times["on"])
    off_min = min(c for _, c in times["off"])
    lines += [
        "",
        f"CPU added by the data-quality checks: median {100 * (on_cpu / off_cpu - 1):+.1f} %, "
        f"best of each {100 * (on_min / off_min - 1):+.1f} % (budget: at most +5 %).",
    ]
    parts = in_process(paths["on"])
    added = parts["schema_cold_s"] + parts["shares_s"]
    lines += [
        "",
        "In one process (CPU time, `time.process_time`, medians of 5): the schema check "
        f"{1000 * parts['schema_cold_s']:.1f} ms on its first call (each file's metadata read), "
        f"{1000 * parts['schema_warm_s']:.1f} ms later (per-file cache); the share checks of the 25 features "
        f"{1000 * parts['shares_s']:.1f} ms; one whole evaluation {parts['evaluate_s']:.2f} s. "
        f"So the data-quality work is {100 * added / parts['evaluate_s']:.2f} % of an evaluation (cold schema check).",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
