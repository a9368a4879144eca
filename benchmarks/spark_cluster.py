"""`driftmon check` through a Spark standalone cluster on 127.0.0.1: wall time and who holds the memory.

    .venv/bin/python benchmarks/spark_cluster.py --rows 10000000 [--rows 30000000 ...]
        [--mode driver|connect] [--data /tmp/driftmon-spark-bench] [--out benchmarks/results/NAME]

For each size it writes (once; reused while the manifest matches) a live Parquet dataset of
ROWS rows x 25 features (20 normal float64 numerics, some drifting; 5 Zipf text columns of 60
values, 1 % nulls) in files of 1 M rows, written chunk by chunk so the generator's memory is
bounded, and a 1 M-row reference of the same shape. A master and two workers (1 core each,
the machine's two cores) are started from PySpark's `spark-class` and stopped by pid at the
end (tests/spark_cluster.py). Then `python -m driftmon check --format json` runs a monitor
whose reference and live side are both `type: spark` on that cluster: with `--mode driver`
driftmon's process is the Spark driver (`master: spark://...`); with `--mode connect` a
Spark Connect server is the driver and driftmon is only its client (`remote: sc://...`).

Measured, sampling /proc every 0.5 s: the wall time of the check; driftmon's own peak RSS
(VmHWM of the Python process); the peak RSS of the driver JVM (driftmon's child in driver
mode, the Connect server otherwise) and of each executor JVM. The result (JSON and a
Markdown table, with `uptime` before and after) goes to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.spark_cluster import connect_server, standalone_cluster

FILE_ROWS = 1_000_000
CHUNK_ROWS = 250_000  # rows generated at once: ~60 MB of numbers
NUMERICS = [f"n{i:02d}" for i in range(20)]
TEXTS = [f"t{i}" for i in range(5)]
VALUES_ARRAY = pa.array([f"value-{i:02d}" for i in range(60)], type=pa.string())
GENERATOR_VERSION = 2
EXECUTOR_MEMORY = "2g"


def _chunk(rng: np.random.Generator, rows: int, live: bool) -> pa.Table:
    columns: dict[str, pa.Array] = {}
    for i, name in enumerate(NUMERICS):
        shift = 0.1 * (i % 3) if live else 0.0
        columns[name] = pa.array(rng.normal(shift, 1.0 + 0.05 * (i % 2) * live, rows))
    weights = 1.0 / np.arange(1, 61) ** 1.1
    for i, name in enumerate(TEXTS):
        probabilities = weights if not (live and i % 2) else weights[::-1]
        cumulative = np.cumsum(probabilities / probabilities.sum())
        codes = np.minimum(np.searchsorted(cumulative, rng.random(rows)), 59).astype(np.int32)
        nulls = rng.random(rows) < 0.01
        # Dictionary-encoded in Parquet (as writers of low-cardinality text do); Spark reads strings.
        columns[name] = pa.DictionaryArray.from_arrays(pa.array(codes, mask=nulls), VALUES_ARRAY)
    return pa.table(columns)


def write_dataset(folder: Path, rows: int, seed: int, live: bool) -> Path:
    """ROWS rows in files of FILE_ROWS, written CHUNK_ROWS at a time; kept while the manifest matches."""
    manifest = {"rows": rows, "seed": seed, "live": live, "version": GENERATOR_VERSION}
    stamp = folder / "manifest.json"
    if stamp.exists() and json.loads(stamp.read_text()) == manifest:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    stamp.unlink(missing_ok=True)
    rng = np.random.default_rng(seed)
    for number, start in enumerate(range(0, rows, FILE_ROWS)):
        size = min(FILE_ROWS, rows - start)
        with pq.ParquetWriter(folder / f"part-{number:05d}.parquet", _chunk(rng, 1, live).schema) as writer:
            for offset in range(0, size, CHUNK_ROWS):
                writer.write_table(_chunk(rng, min(CHUNK_ROWS, size - offset), live), row_group_size=CHUNK_ROWS)
    stamp.write_text(json.dumps(manifest))
    return folder


def _rss_kb(pid: int, key: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _descendants(tree: dict[int, list[int]], pid: int) -> list[int]:
    found, todo = [], list(tree.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(tree.get(child, []))
    return found


def run_check(config: Path, driver_pid: int | None, worker_pids: list[int], timeout: float) -> dict[str, object]:
    """`driftmon check` as a process; wall time, its VmHWM, the driver's and executors' peak RSS."""
    started = time.monotonic()
    # Files, not pipes: the driver JVM logs to this stderr, and a full pipe would stall it.
    out, err = open(config.with_suffix(".out"), "w+"), open(config.with_suffix(".err"), "w+")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "driftmon", "check", "-c", str(config), "--format", "json"],
        stdout=out, stderr=err, text=True,
        env={k: v for k, v in os.environ.items() if k not in {"SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED"}},
    )  # fmt: skip
    own_peak, driver_peak, executors, own_samples = 0, 0, {}, []
    while process.poll() is None:
        if time.monotonic() - started > timeout:
            process.kill()
            raise SystemExit(f"check ran over {timeout:g} s; killed (pid {process.pid})")
        tree = _children()
        own_peak = max(own_peak, _rss_kb(process.pid, "VmHWM"))
        own_samples.append(_rss_kb(process.pid))
        drivers = [driver_pid] if driver_pid else _descendants(tree, process.pid)
        driver_peak = max([driver_peak, *(_rss_kb(pid) for pid in drivers)])
        for worker in worker_pids:
            for pid in _descendants(tree, worker):
                executors[pid] = max(executors.get(pid, 0), _rss_kb(pid))
        time.sleep(0.5)
    process.wait()
    wall = time.monotonic() - started
    out.seek(0)
    err.seek(0)
    stdout, stderr = out.read(), err.read()
    if process.returncode not in (0, 1, 2):
        raise SystemExit(f"check failed ({process.returncode}):\n{stderr[-3000:]}")
    result = json.loads(stdout)
    monitor = result["monitors"][0]
    if monitor.get("status") == "error":
        raise SystemExit(f"monitor error: {monitor}")
    samples = [s for s in own_samples if s]
    return {
        "wall_s": round(wall, 1),
        "driftmon_peak_rss_mb": round(own_peak / 1024, 1),
        "driftmon_rss_mb_last_half": [round(min(samples[len(samples) // 2 :]) / 1024, 1),
                                      round(max(samples[len(samples) // 2 :]) / 1024, 1)] if samples else None,
        "driver_jvm_peak_rss_mb": round(driver_peak / 1024, 1),
        "executor_peak_rss_mb": sorted(round(v / 1024, 1) for v in executors.values() if v),
        "live_rows": [f["live_count"] for f in monitor["features"]][:1],
        "reference_rows": [f.get("reference_count") for f in monitor["features"]][:1],
        "severities": sorted({str(f.get("severity")) for f in monitor["features"]}),
        "features": len(monitor["features"]),
    }  # fmt: skip


def write_config(path: Path, side: str, reference: Path, live: Path) -> Path:
    conf = json.dumps({"spark.executor.memory": EXECUTOR_MEMORY, "spark.executor.cores": "1"})
    features = ", ".join(NUMERICS + TEXTS)
    path.write_text(
        f"""monitors:
  - name: cluster
    reference: {{type: spark, {side}, conf: {conf}, path: "{reference}/*.parquet", timeout: 2h}}
    live: {{type: spark, {side}, conf: {conf}, path: "{live}/*.parquet", timeout: 2h}}
    features: [{features}]
"""
    )
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, action="append", required=True, help="live rows (repeatable)")
    parser.add_argument("--mode", choices=["driver", "connect"], default="driver")
    parser.add_argument("--data", type=Path, default=Path("/tmp/driftmon-spark-bench"))
    parser.add_argument("--out", type=Path, required=True, help="result path without extension")
    parser.add_argument("--timeout", type=float, default=3 * 3600)
    args = parser.parse_args()

    uptime_before = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    generated = time.monotonic()
    reference = write_dataset(args.data / "reference", FILE_ROWS, 1, live=False)
    lives = {rows: write_dataset(args.data / f"live-{rows}", rows, 2, live=True) for rows in args.rows}
    generated = time.monotonic() - generated
    runs = []
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    with standalone_cluster(args.data / "cluster", workers=2, cores=1, memory="3g") as cluster:
        worker_pids = list(cluster.pids[1:])
        if args.mode == "connect":
            server_conf = {"spark.executor.memory": EXECUTOR_MEMORY, "spark.executor.cores": "1"}
            with connect_server(args.data / "connect", cluster.master_url, server_conf) as server:
                for rows, live in lives.items():
                    config = write_config(args.data / "connect.yaml", f'remote: "{server.url}"', reference, live)
                    runs.append({"rows": rows, **run_check(config, server.pid, worker_pids, args.timeout)})
                    print(json.dumps(runs[-1]), flush=True)
        else:
            for rows, live in lives.items():
                config = write_config(args.data / "driver.yaml", f'master: "{cluster.master_url}"', reference, live)
                runs.append({"rows": rows, **run_check(config, None, worker_pids, args.timeout)})
                print(json.dumps(runs[-1]), flush=True)
    uptime_after = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    import pyspark

    result = {
        "mode": args.mode,
        "cluster": "standalone on 127.0.0.1: 1 master, 2 workers x 1 core, executors 2 GB heap each",
        "shape": "live ROWS x 25 (20 float64 normal, 5 text of 60 Zipf values, 1 % null); reference 1 M rows",
        "pyspark": pyspark.__version__,
        "uptime_before": uptime_before,
        "uptime_after": uptime_after,
        "data_generation_s": round(generated, 1),
        "data_bytes": {rows: sum(p.stat().st_size for p in live.glob("*.parquet")) for rows, live in lives.items()},
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# `driftmon check` through a Spark standalone cluster ({args.mode} mode)",
        "",
        f"`benchmarks/spark_cluster.py --mode {args.mode}`; {result['cluster']}; PySpark {result['pyspark']}.",
        f"Data: {result['shape']}. Load: before `{uptime_before}`, after `{uptime_after}`.",
        "",
        "| live rows | wall s | driftmon peak RSS MB | driver JVM peak MB | executors peak MB | Parquet GB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        size = result["data_bytes"][run["rows"]] / 1e9  # type: ignore[index]
        lines.append(
            f"| {run['rows']:,} | {run['wall_s']} | {run['driftmon_peak_rss_mb']} | {run['driver_jvm_peak_rss_mb']} "
            f"| {', '.join(map(str, run['executor_peak_rss_mb']))} | {size:.2f} |"
        )
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
