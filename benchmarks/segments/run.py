"""Segments cost (issue 22): K = 20 segments against one unsegmented evaluation on workload (a).

Workload (a) of benchmarks/datagen.py (1 M reference + 1 M live rows x 20 numeric + 5
categorical, Parquet), segmented by its categorical column ``c2`` (40 Zipf-like values):
``segments: {by: [c2], top: 20}`` gives 20 segments plus ``__other__`` (``__missing__`` is
empty, so 21 are scored, 21 x 25 = 525 segment x feature tests in one correction).

Each run is ``driftmon.evaluate.evaluate`` of one monitor in this process, interleaved
(unsegmented, segmented, unsegmented, ...), after one warm-up of each:

- **cold**: no reference cache, as ``driftmon check`` does: both sides read, binned, scored;
- **cached reference**: the reference binned once and cached, the live side read and
  counted at every evaluation (the daemon when the live file is new at every evaluation);
- **daemon**: both of the daemon's caches, the reference's and the live-file cache
  (:mod:`driftmon.sources.file_cache`), the live file unchanged: nothing is read, the
  counts (per segment) come from the cache and are scored (the steady state of a window
  whose files do not change);
- **check**: a whole ``driftmon check --format json`` process each (imports, and the
  no-drift simulation of every segment x feature, which a warm process has cached).

Wall time and CPU time (user + system of the process) are the medians of ``--repeat`` runs.
The load average before and after is recorded.

    nice -n 10 .venv/bin/python benchmarks/segments/run.py --out benchmarks/results/segments-DATE
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

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import datagen  # noqa: E402

from driftmon.config import load  # noqa: E402
from driftmon.evaluate import ReferenceCache, evaluate  # noqa: E402
from driftmon.sources.file_cache import FileCounts  # noqa: E402

CONFIG = """
defaults:
  measures: [kl, js, psi]
  smoothing: {{method: unseen, alpha: 0.5}}
monitors:
  - name: a
    reference: {{type: file, path: {reference}}}
    live: {{type: file, path: {live}}}
    features: [{features}]
{segments}
"""


def _load(directory: Path, reference: Path, live: Path, segments: str, name: str) -> object:
    features = ", ".join([*datagen.numeric_names(20), *datagen.categorical_names(5)])
    path = directory / name
    path.write_text(CONFIG.format(reference=reference, live=live, features=features, segments=segments))
    return load(path).monitors[0]


def _timed(
    monitor: object, cache: ReferenceCache | None, files: dict[object, object] | None = None
) -> tuple[float, float, object]:
    """One evaluation; ``files``: the live-file cache's entries (updated as the daemon does)."""
    counts = FileCounts(files) if files is not None else None  # type: ignore[arg-type]
    begun, cpu = time.perf_counter(), time.process_time()
    result = evaluate(monitor, cache=cache, live_files=counts)  # type: ignore[arg-type]
    wall, cpu = time.perf_counter() - begun, time.process_time() - cpu
    if files is not None and counts is not None:
        kept = {key: files[key] for key in counts.used}
        files.clear()
        files.update({**kept, **counts.new})
    return wall, cpu, result


def _check_process(config: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``driftmon check`` process (imports, null simulation and all)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begun = time.perf_counter()
    command = [sys.executable, "-m", "driftmon", "check", "-c", str(config), "--format", "json"]
    subprocess.run(command, check=False, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - begun
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write OUT.md and OUT.json")
    args = parser.parse_args()
    suffix = "" if args.rows == 1_000_000 else f"-{args.rows}"
    reference = datagen.table_file(args.data / f"a-reference{suffix}.parquet", args.rows, 20, 5, False, 1)
    live = datagen.table_file(args.data / f"a-live{suffix}.parquet", args.rows, 20, 5, True, 2)
    plain = _load(args.data, reference, live, "", "segments-plain.yaml")
    segmented = _load(args.data, reference, live, f"    segments: {{by: [c2], top: {args.top}}}", "segments-k.yaml")
    load_before = os.getloadavg()
    names = ("plain", "segmented", "plain-cached", "segmented-cached", "plain-daemon", "segmented-daemon")
    names += ("check-plain", "check-segmented")
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in names}
    caches = {name: ReferenceCache() for name in names if name.endswith(("-cached", "-daemon"))}
    files: dict[str, dict[object, object]] = {"plain-daemon": {}, "segmented-daemon": {}}
    monitors = {name: segmented if "segmented" in name else plain for name in names if not name.startswith("check")}
    results = {}
    for name, monitor in monitors.items():  # warm-up (and the caches' first binning and counting)
        *_, results[name] = _timed(monitor, caches.get(name), files.get(name))
        assert results[name].error is None, results[name].error  # type: ignore[attr-defined]
    configs = {"check-plain": args.data / "segments-plain.yaml", "check-segmented": args.data / "segments-k.yaml"}
    for _ in range(args.repeat):
        for name, monitor in monitors.items():
            wall, cpu, result = _timed(monitor, caches.get(name), files.get(name))
            assert (
                result.to_json()["segments" if "segmented" in name else "features"]
                == results[name].to_json()["segments" if "segmented" in name else "features"]
            )  # type: ignore[attr-defined]
            runs[name].append((wall, cpu))
        for name, path in configs.items():
            runs[name].append(_check_process(path))
    load_after = os.getloadavg()
    summary = {
        name: {
            "wall_median_s": statistics.median(w for w, _ in values),
            "wall_min_s": min(w for w, _ in values),
            "wall_max_s": max(w for w, _ in values),
            "cpu_median_s": statistics.median(c for _, c in values),
        }
        for name, values in runs.items()
    }
    ratio = summary["segmented"]["wall_median_s"] / summary["plain"]["wall_median_s"]
    ratio_cpu = summary["segmented"]["cpu_median_s"] / summary["plain"]["cpu_median_s"]
    ratio_cached = summary["segmented-cached"]["wall_median_s"] / summary["plain-cached"]["wall_median_s"]
    ratio_cached_cpu = summary["segmented-cached"]["cpu_median_s"] / summary["plain-cached"]["cpu_median_s"]
    ratio_daemon_cpu = summary["segmented-daemon"]["cpu_median_s"] / summary["plain-daemon"]["cpu_median_s"]
    ratio_check = summary["check-segmented"]["wall_median_s"] / summary["check-plain"]["wall_median_s"]
    ratio_check_cpu = summary["check-segmented"]["cpu_median_s"] / summary["check-plain"]["cpu_median_s"]
    segments = results["segmented"].segments  # type: ignore[attr-defined]
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit.stdout.strip(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "python": platform.python_version(),
        "rows": args.rows,
        "top": args.top,
        "segments_scored": len(segments.segments),
        "tests_corrected": segments.tested,
        "repeat": args.repeat,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "runs": summary,
        "ratio_wall": ratio,
        "ratio_cpu": ratio_cpu,
        "ratio_wall_cached_reference": ratio_cached,
        "ratio_cpu_cached_reference": ratio_cached_cpu,
        "ratio_cpu_daemon": ratio_daemon_cpu,
        "ratio_wall_check_process": ratio_check,
        "ratio_cpu_check_process": ratio_check_cpu,
    }
    lines = [
        f"# Segments: K = {args.top} against unsegmented, workload (a), {document['date']}",
        "",
        f"Commit {document['commit']}; {document['machine']}; Python {document['python']}.",
        f"{args.rows:,} + {args.rows:,} rows x 25 features, `segments: {{by: [c2], top: {args.top}}}`: "
        f"{document['segments_scored']} segments scored, {document['tests_corrected']} tests in one correction.",
        f"Load average before {load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f}, "
        f"after {load_after[0]:.2f} / {load_after[1]:.2f} / {load_after[2]:.2f}. "
        f"{args.repeat} interleaved runs each after a warm-up (`benchmarks/segments/run.py`).",
        "",
        "| run | wall median (min-max) | CPU median |",
        "| --- | --- | --- |",
    ]
    for name, item in summary.items():
        lines.append(
            f"| {name} | {item['wall_median_s']:.2f} s ({item['wall_min_s']:.2f}-{item['wall_max_s']:.2f}) "
            f"| {item['cpu_median_s']:.2f} s |"
        )
    lines += [
        "",
        f"Segmented / unsegmented, one evaluation in a warm process (reference binned, null draws cached): "
        f"**{ratio:.2f}x** wall, {ratio_cpu:.2f}x CPU. With the reference cached and the live file read: "
        f"{ratio_cached:.2f}x wall, {ratio_cached_cpu:.2f}x CPU. With both of the daemon's caches, the live "
        f"file unchanged (nothing read, the cached counts scored): {ratio_daemon_cpu:.2f}x CPU "
        f"({summary['plain-daemon']['cpu_median_s']:.3f} s against "
        f"{summary['segmented-daemon']['cpu_median_s']:.3f} s). As whole `driftmon check` processes "
        "(imports and the no-drift simulations of every segment x feature included): "
        f"{ratio_check:.2f}x wall, {ratio_check_cpu:.2f}x CPU. "
        "Target: at most 1.5x.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".md").write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
