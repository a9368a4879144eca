"""CSV and JSON Lines: pandas against pyarrow readers, and `driftmon check` against a quick floor.

Every run is its own process (peak RSS is the child's ``ru_maxrss`` from ``os.wait4``);
contenders run interleaved, ``--repeat`` times; the table shows medians, min-max and the
ratio to the first contender of each group.

    .venv/bin/python benchmarks/csv_read.py                     # 1 M rows x 25 columns, 3 repeats
    .venv/bin/python benchmarks/csv_read.py --old-tree /work/main   # also driftmon of another checkout
    .venv/bin/python benchmarks/csv_read.py --rows 20000 --repeat 1 # seconds (a smoke run)

Groups:
- read: the 25 columns of one file, whole: pandas ``read_csv`` in 256 k-row chunks (driftmon's
  old path) against ``pyarrow.csv.open_csv`` streaming (the new one); JSON Lines likewise with
  ``read_json(lines=True, chunksize)`` against ``pyarrow.json.open_json``.
- check: ``driftmon check`` on a reference and a live file (20 numeric, 5 text features, default
  bins and measures) against ``floor``: pyarrow reads the needed columns (threads), numpy bins
  (quantile edges from a sorted copy, searchsorted + bincount; text by dictionary codes).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NUMERIC, TEXT = 20, 5


def generate(folder: Path, rows: int, jsonl_rows: int) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / f"manifest-{rows}-{jsonl_rows}"
    if stamp.exists():
        return
    for side, shift in (("ref", 0.0), ("live", 0.1)):
        rng = np.random.default_rng(1 if side == "ref" else 2)
        columns: dict[str, pa.Array] = {}
        for i in range(NUMERIC):
            values = rng.normal(shift, 1 + i / 10, rows).round(4)
            columns[f"n{i}"] = pa.array(values)
        for j in range(TEXT):
            levels = np.array([f"c{j}_{k}" for k in range(30)])
            columns[f"t{j}"] = pa.array(levels[rng.integers(0, 30, rows)])
        table = pa.table(columns)
        pacsv.write_csv(table, folder / f"{side}.csv")
        small = table.slice(0, jsonl_rows).to_pylist()
        with open(folder / f"{side}.jsonl", "w") as out:
            out.writelines(json.dumps(row) + "\n" for row in small)
    for fmt in ("csv", "jsonl"):
        features = ", ".join([f"n{i}" for i in range(NUMERIC)] + [f"t{j}" for j in range(TEXT)])
        (folder / f"check-{fmt}.yaml").write_text(
            "monitors:\n  - name: bench\n"
            f"    reference: {{type: file, path: ref.{fmt}}}\n    live: {{type: file, path: live.{fmt}}}\n"
            f"    features: [{features}]\n    significance: null\n"
        )
    stamp.write_text("ok")


READ_PANDAS = """
import sys, pandas as pd
n = 0
with pd.read_csv(sys.argv[1], chunksize=262144) as reader:
    for chunk in reader: n += len(chunk)
print(n)
"""
READ_ARROW = """
import sys, pyarrow.csv as c
n = 0
for batch in c.open_csv(sys.argv[1]): n += batch.num_rows
print(n)
"""
READ_PANDAS_JSON = """
import sys, pandas as pd
n = 0
with pd.read_json(sys.argv[1], lines=True, chunksize=262144, dtype=False) as reader:
    for chunk in reader: n += len(chunk)
print(n)
"""
READ_ARROW_JSON = """
import sys, pyarrow.json as j
n = 0
for batch in j.open_json(sys.argv[1]): n += batch.num_rows
print(n)
"""
FLOOR = """
import sys, numpy as np, pyarrow as pa, pyarrow.compute as pc, pyarrow.csv as c, pyarrow.json as j
from concurrent.futures import ThreadPoolExecutor
ref_path, live_path, fmt = sys.argv[1:4]
numeric = [f"n{i}" for i in range(20)]; text = [f"t{k}" for k in range(5)]
def read(path):
    if fmt == "csv":
        return c.read_csv(path, convert_options=c.ConvertOptions(include_columns=numeric + text))
    return j.read_json(path)
def blocks(path):
    if fmt == "csv":
        return c.open_csv(path, convert_options=c.ConvertOptions(include_columns=numeric + text))
    return j.open_json(path)
def floats(column):
    return pc.fill_null(column.combine_chunks().cast(pa.float64()), np.nan).to_numpy()
with ThreadPoolExecutor(2) as pool:
    reference = read(ref_path)  # whole: quantile edges need every value
    def numeric_reference(name):
        r = np.sort(floats(reference[name])); finite = r[np.isfinite(r)]
        edges = np.unique(np.quantile(finite, np.linspace(0, 1, 11)))
        return edges, np.bincount(np.searchsorted(edges, r), minlength=edges.size + 1)
    def text_reference(name):
        r = reference[name].combine_chunks().dictionary_encode()
        return r.dictionary, np.bincount(r.indices.to_numpy(), minlength=len(r.dictionary))
    bins = dict(zip(numeric, pool.map(numeric_reference, numeric))) | dict(zip(text, pool.map(text_reference, text)))
    del reference
    live = {name: 0 for name in numeric + text}
    for batch in blocks(live_path):  # live: streamed, bounded memory
        def count(name, batch=batch):
            values = pa.chunked_array([batch.column(name)])
            if name in numeric:
                edges = bins[name][0]
                return np.bincount(np.searchsorted(edges, floats(values)), minlength=edges.size + 1)
            k = len(bins[name][0])
            codes = pc.fill_null(pc.index_in(values, value_set=bins[name][0]), k).to_numpy()
            return np.bincount(codes, minlength=k + 1)
        for name, counts in zip(numeric + text, pool.map(count, numeric + text)):
            live[name] = live[name] + counts
print(len(live))
"""


def run_one(command: list[str], env: dict[str, str] | None, cwd: Path) -> tuple[float, float, float, int]:
    """Wall seconds, CPU seconds (user + system), peak RSS in MB, exit status of one child process."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    error = child.stderr.read().decode() if child.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.stderr.write(f"{command[:4]} exited {code}: {error[-500:]}\n")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--jsonl-rows", type=int, default=250_000, help="JSON Lines files are smaller (default 250 k)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--old-tree", help="a driftmon checkout whose `check` runs as driftmon-old (e.g. /work/main)")
    parser.add_argument("--data", default=str(HERE / "data" / "csv"))
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    folder = Path(args.data)
    python = sys.executable
    if args.generate_only:
        generate(folder, args.rows, args.jsonl_rows)
        return 0
    # In a child: this process stays small, since a child's peak RSS starts from its parent's.
    subprocess.run([python, __file__, "--generate-only", *sys.argv[1:]], check=True)
    groups: dict[str, list[tuple[str, list[str], dict[str, str] | None]]] = {
        "read csv (one file, 25 columns)": [
            ("pandas read_csv", [python, "-c", READ_PANDAS, str(folder / "ref.csv")], None),
            ("pyarrow open_csv", [python, "-c", READ_ARROW, str(folder / "ref.csv")], None),
        ],
        "read jsonl (one file, 25 columns)": [
            ("pandas read_json", [python, "-c", READ_PANDAS_JSON, str(folder / "ref.jsonl")], None),
            ("pyarrow open_json", [python, "-c", READ_ARROW_JSON, str(folder / "ref.jsonl")], None),
        ],
    }
    for fmt in ("csv", "jsonl"):
        check = [python, "-m", "driftmon", "check", "-c", str(folder / f"check-{fmt}.yaml"), "--format", "json"]
        floor = [python, "-c", FLOOR, str(folder / f"ref.{fmt}"), str(folder / f"live.{fmt}"), fmt]
        entries = [("floor (quick)", floor, None), ("driftmon check", check, None)]
        if args.old_tree:
            env = {**os.environ, "PYTHONPATH": args.old_tree}
            entries.append(("driftmon check (old tree)", check, env))
        groups[f"check {fmt} (reference + live)"] = entries
    trees = [("driftmon check", None)]
    if args.old_tree:
        trees.append(("driftmon check (old tree)", {**os.environ, "PYTHONPATH": args.old_tree}))
    for name, env in trees:
        command = [python, "-c", "import driftmon; print(driftmon.__file__)"]
        where = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True).stdout.strip()
        print(f"{name}: {where}")
    load = os.getloadavg()
    print(f"rows: csv {args.rows}, jsonl {args.jsonl_rows}; repeats {args.repeat}; load before {load[0]:.1f}")
    for title, entries in groups.items():
        times: dict[str, list[float]] = {name: [] for name, _, _ in entries}
        cpu: dict[str, list[float]] = {name: [] for name, _, _ in entries}
        rss: dict[str, list[float]] = {name: [] for name, _, _ in entries}
        for _ in range(args.repeat):  # interleaved: every contender once per round
            for name, command, env in entries:
                # cwd: the data folder, so `python -m driftmon` imports the tree PYTHONPATH names (or the venv's)
                seconds, cpu_seconds, megabytes, _ = run_one(command, env, folder)
                times[name].append(seconds)
                cpu[name].append(cpu_seconds)
                rss[name].append(megabytes)
        base = statistics.median(times[entries[0][0]])
        base_cpu = statistics.median(cpu[entries[0][0]])
        print(
            f"\n{title}\n| contender | wall s (median) | min-max | ratio | CPU s (median) | CPU ratio "
            "| peak RSS MB |\n|---|---|---|---|---|---|---|"
        )
        for name, _, _ in entries:
            median, median_cpu = statistics.median(times[name]), statistics.median(cpu[name])
            print(
                f"| {name} | {median:.2f} | {min(times[name]):.2f}-{max(times[name]):.2f} | {median / base:.2f} "
                f"| {median_cpu:.2f} | {median_cpu / base_cpu:.2f} | {statistics.median(rss[name]):.0f} |"
            )
    print(f"\nload after {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
