"""Peak memory of `driftmon check` on a 20-million-row live Parquet file with 10 features.

    .venv/bin/python benchmarks/memory/run.py [--rows 20000000] [--data DIR]

Makes (once, then reuses) a live Parquet file of ``--rows`` rows x 10 float64 features
(seeded; 2% NaN, a drifted mean) and a 1-million-row reference, then runs, each in a fresh
process under ``/usr/bin/time -v`` (peak RSS of the whole process tree's largest process,
and wall time):

- ``load whole``: ``pyarrow.parquet.read_table(live).to_pandas()``, what loading the data
  whole costs (the baseline driftmon must stay far below);
- ``file``: ``driftmon check`` with ``live: {type: file}`` (streamed in batches);
- ``duckdb``: ``driftmon check`` with ``live: {type: sql, url: duckdb:///:memory:, query:
  SELECT * FROM read_parquet(...)}`` (binned inside DuckDB, only counts return).

Prints a Markdown table (paste it into benchmarks/memory/README.md) and exits 1 if the
file source peaks at 500 MB or more.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
FEATURES = [f"f{i}" for i in range(10)]
LIMIT_MB = 500.0
CHUNK = 1_000_000


def make_parquet(path: Path, rows: int, shift: float, seed: int) -> None:
    """``rows`` x 10 float64 columns, written 1 M rows (one row group) at a time."""
    if path.exists() and pq.ParquetFile(path).metadata.num_rows == rows:
        return
    rng = np.random.default_rng(seed)
    schema = pa.schema([(name, pa.float64()) for name in FEATURES])
    temporary = path.with_name(path.name + ".tmp")
    with pq.ParquetWriter(temporary, schema, compression="snappy") as writer:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            columns = []
            for i, _ in enumerate(FEATURES):
                values = rng.normal(shift * (i % 3), 1.0 + 0.1 * i, n)
                values[rng.random(n) < 0.02] = np.nan
                columns.append(pa.array(values))
            writer.write_table(pa.Table.from_arrays(columns, schema=schema), row_group_size=CHUNK)
    temporary.replace(path)


def config(folder: Path, name: str, live: str, reference: str = "{type: file, path: reference.parquet}") -> Path:
    path = folder / f"driftmon-{name}.yaml"
    path.write_text(
        "defaults:\n  min_samples: 100\n"
        "monitors:\n"
        "  - name: memory\n"
        f"    reference: {reference}\n"
        f"    live: {live}\n"
        f"    features: [{', '.join(FEATURES)}]\n",
        encoding="utf-8",
    )
    return path


def measure(command: list[str]) -> tuple[float, float, int, str]:
    """(peak RSS in MB, wall seconds, exit status, stdout) of ``command`` under /usr/bin/time -v."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        started = time.perf_counter()
        result = subprocess.run(
            ["/usr/bin/time", "-v", "-o", report.name, *command], capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - started
        text = Path(report.name).read_text(encoding="utf-8")
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if not match:
        raise SystemExit(f"no RSS in /usr/bin/time output:\n{text}\n{result.stderr}")
    if result.returncode not in (0, 1):  # 1: some feature critical, which is expected here
        sys.stderr.write(result.stdout + result.stderr)
    return int(match.group(1)) / 1024, wall, result.returncode, result.stdout


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--data", type=Path, default=HERE / "data", help="where the Parquet files go (gitignored)")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    live = args.data / f"live-{args.rows}.parquet"
    started = time.perf_counter()
    make_parquet(live, args.rows, shift=0.1, seed=1)
    make_parquet(args.data / "reference.parquet", CHUNK, shift=0.0, seed=2)
    size_mib = live.stat().st_size / 2**20
    print(f"data ready in {time.perf_counter() - started:.0f} s: {live} ({size_mib:.0f} MiB on disk)")
    whole_mb = args.rows * len(FEATURES) * 8 / 2**20

    python = sys.executable
    duckdb_query = f"query: \"SELECT * FROM read_parquet('{live.name}')\""
    runs = {
        "load whole (pyarrow -> pandas, for scale)": [
            python, "-c", f"import pyarrow.parquet as pq; print(len(pq.read_table({str(live)!r}).to_pandas()))",
        ],
        "driftmon check, `type: file` (streamed)": [
            python, "-m", "driftmon", "check", "--format", "json",
            "-c", str(config(args.data, "file", f"{{type: file, path: {live.name}}}")),
        ],
        "driftmon check, `type: sql` DuckDB pushdown": [
            python, "-m", "driftmon", "check", "--format", "json",
            "-c", str(config(args.data, "duckdb", f"{{type: sql, url: 'duckdb:///:memory:', {duckdb_query}}}")),
        ],
        "driftmon check, `type: sql` DuckDB pushdown, `settings: {threads: 1}`": [
            python, "-m", "driftmon", "check", "--format", "json",
            "-c", str(config(args.data, "duckdb-1", f"{{type: sql, url: 'duckdb:///:memory:', {duckdb_query}, "
                                                   "settings: {threads: 1}}")),
        ],
        # The other way round: the big file as the reference (bins need whole columns).
        "reference of that size, `type: file` (1 M-row live)": [
            python, "-m", "driftmon", "check", "--format", "json",
            "-c", str(config(args.data, "big-reference-file", "{type: file, path: reference.parquet}",
                             reference=f"{{type: file, path: {live.name}}}")),
        ],
        "reference of that size, `type: sql` DuckDB (1 M-row live)": [
            python, "-m", "driftmon", "check", "--format", "json",
            "-c", str(config(args.data, "big-reference-duckdb", "{type: file, path: reference.parquet}",
                             reference=f"{{type: sql, url: 'duckdb:///:memory:', {duckdb_query}}}")),
        ],
    }  # fmt: skip
    results = {name: measure(command) for name, command in runs.items()}

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print()
    print(f"{args.rows:,} rows x {len(FEATURES)} float64 features ({whole_mb:,.0f} MiB as float64 arrays), "
          f"1 M-row reference; {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores ({cpu}), "
          f"{memory_gib:.0f} GiB, Python {platform.python_version()}, pyarrow {pa.__version__}, "
          f"duckdb {_version('duckdb')}")  # fmt: skip
    print()
    print("| run | peak RSS (MB) | wall time (s) | exit |")
    print("| --- | ---: | ---: | ---: |")
    for name, (rss, wall, status, _) in results.items():
        print(f"| {name} | {rss:,.0f} | {wall:.1f} | {status} |")
    # Same data, same bins: every source type must print the same JSON document.
    for kind in ("driftmon check", "reference of that size"):
        documents = {result[3] for name, result in results.items() if name.startswith(kind)}
        if len(documents) != 1:
            print(f"\nFAIL: the {kind!r} runs printed different results")
            return 1
    file_rss = results["driftmon check, `type: file` (streamed)"][0]
    if file_rss >= LIMIT_MB:
        print(f"\nFAIL: the file source peaked at {file_rss:.0f} MB (limit {LIMIT_MB:.0f} MB)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
