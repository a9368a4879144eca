#!/usr/bin/env python3
"""driftmon against its peers, side by side in one session: ``python benchmarks/run.py``.

Generates its data with fixed seeds (benchmarks/data/, reused while unchanged), runs every
contender several times as its own process (peak RSS and CPU from rusage), prints a table
of medians, min-max, ratios against driftmon and peak RSS, and writes it as Markdown and
JSON into benchmarks/results/ together with the machine, the versions and the date.

    python benchmarks/run.py                       # everything (about 15-20 min on 2 cores)
    python benchmarks/run.py --only a,c --repeat 3 # a quick look
    python benchmarks/run.py --tiny                # seconds: smoke test of the harness

Run it with the project's interpreter (.venv/bin/python). Evidently and NannyML run in
their own environment (--peers-python, default benchmarks/.venv-peers/bin/python; see
benchmarks/README.md); without it they are reported as "not installed".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import datagen  # noqa: E402

WORKLOADS = {
    "a": "end-to-end check, 1 M reference + 1 M live rows x 20 numeric + 5 categorical, Parquet",
    "a-csv": "end-to-end check, workload (a) as CSV (numbers rounded to 6 decimals)",
    "a-jsonl": "end-to-end check, workload (a) as JSON Lines (numbers rounded to 6 decimals)",
    "b": "end-to-end check, 1 M reference + 10 M live rows x 20 numeric + 5 categorical, Parquet",
    "c": "divergence kernel: all 6 measures on 10,000 histograms x 50 bins",
    "d": "wide: 100 k reference + 100 k live rows x 500 features (450 numeric + 50 categorical)",
    "e": "/metrics scrape latency, 100 monitors x 50 features x 3 measures",
    "m": "memory bandwidth: sum of a 1 GB float64 array",
    "rg4": "1 M + 1 M rows x 20 normal numerics + 5 Zipf text columns of 60 values, 4 row groups of 256 k rows",
    "rg1": "the same rows, one row group per file",
    "points": "point bins: 1 M + 1 M rows x 20 heavy-tailed, discrete, integer and zero-inflated numerics + 5 text",
    "text10": "text of 10 values: 1 M + 1 M rows x 20 text columns + 5 numerics, 4 row groups",
    "text60": "text of 60 values: 1 M + 1 M rows x 20 text columns + 5 numerics, 4 row groups",
    "text5000": "text of 5,000 values: 1 M + 1 M rows x 20 text columns + 5 numerics, 4 row groups",
    "nulls": "nulls: 1 M + 1 M rows x 20 numerics with 5-50 % nulls + 5 text columns with 30 % nulls",
    "files": "many small files: the issue's shape in 200 + 200 files of 5,000 rows",
}
# The shapes users have (datagen.shape_files): workload -> (shape, files per side, rows per row group).
SHAPES = {
    "rg4": ("issue", 1, 262_144),
    "rg1": ("issue", 1, None),
    "points": ("points", 1, 262_144),
    "text10": ("text10", 1, 262_144),
    "text60": ("text60", 1, 262_144),
    "text5000": ("text5000", 1, 262_144),
    "nulls": ("nulls", 1, 262_144),
    "files": ("issue", 200, None),
}
DEFAULT_CONTENDERS = {
    "a": ["driftmon", "floor", "floor-bins", "floor-single", "scipy-loop", "evidently", "nannyml"],
    "a-csv": ["driftmon", "floor", "floor-single", "scipy-loop"],
    "a-jsonl": ["driftmon", "driftmon-pyarrow", "floor", "floor-single", "scipy-loop"],
    "b": ["driftmon", "floor", "scipy-loop"],
    "c": ["driftmon", "numpy-floor", "scipy-axis", "scipy-loop"],
    "d": ["driftmon", "floor", "scipy-loop", "evidently", "nannyml"],
    **{key: ["driftmon", "floor", "floor-bins"] for key in SHAPES},
}
PEERS = {"evidently", "nannyml"}
# Contenders doing driftmon's very job (same bins and measures): their scores must equal
# driftmon's to SAME_SCORES (absolute), or the table says they differ.
SAME_JOB = ("driftmon-pyarrow", "floor", "floor-bins", "floor-single", "scipy-loop")
SAME_SCORES = 1e-11
DESCRIPTIONS = {
    "driftmon": "driftmon check --format json (its CLI main(), own process)",
    "driftmon-pyarrow": "the same with `json_reader: pyarrow` (JSON Lines without DuckDB)",
    "floor": "hand-written pyarrow + numpy, threads over columns, with the noise floors (driftmon's whole default job)",
    "floor-bins": "the same floor without the noise floors (histograms and scores only)",
    "floor-single": "the same floor, one thread",
    "scipy-loop": "pandas + np.histogram + scipy per column",
    "evidently": "Evidently Report, ValueDrift jensenshannon + kl_div per column",
    "nannyml": "NannyML UnivariateDriftCalculator, jensen_shannon",
    "numpy-floor": "hand-written numpy over the 2-D array",
    "scipy-axis": "scipy entropy / jensenshannon with axis=1",
}
PROMETHEUS_ACCEPT = (  # what Prometheus 2.42 sends when it scrapes
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)
PEER_ENV = {  # keep the peers from phoning home (there is no internet here anyway)
    "DO_NOT_TRACK": "1",
    "EVIDENTLY_DISABLE_TELEMETRY": "1",
    "NML_DISABLE_USAGE_LOGGING": "1",
}


@dataclass
class Run:
    ok: bool
    wall_s: float
    work_s: float | None = None
    import_s: float | None = None
    times: list[float] | None = None
    maxrss_mb: float = 0.0
    cpu_s: float = 0.0
    scores: Any = None
    error: str | None = None


@dataclass
class Row:
    contender: str
    runs: list[Run] = field(default_factory=list)
    note: str = ""

    @property
    def good(self) -> list[Run]:
        return [r for r in self.runs if r.ok]

    def samples(self) -> list[float]:
        good = self.good
        if good and good[0].times is not None:
            return [t for r in good for t in (r.times or [])]
        return [r.work_s for r in good if r.work_s is not None]


# ---------------------------------------------------------------------------
# running one contender in its own process


def run_process(command: list[str], env: dict[str, str], timeout: float, log: Path) -> tuple[int, float, Any, str, str]:
    """Run, wait with os.wait4 (so rusage is this child's own), kill by pid on timeout."""
    out_path, err_path = log.with_suffix(".out"), log.with_suffix(".err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=HERE)
        result: dict[str, Any] = {}

        def reap() -> None:
            _, status, usage = os.wait4(process.pid, 0)
            result["wall"] = time.perf_counter() - started
            result["status"], result["usage"] = status, usage

        waiter = threading.Thread(target=reap, daemon=True)
        waiter.start()
        waiter.join(timeout)
        timed_out = waiter.is_alive()
        if timed_out:
            os.kill(process.pid, signal.SIGKILL)
            waiter.join()
        process.returncode = os.waitstatus_to_exitcode(result["status"])  # reaped by us
    stdout = out_path.read_text(errors="replace")
    stderr = err_path.read_text(errors="replace")
    code = -999 if timed_out else process.returncode
    return code, result["wall"], result["usage"], stdout, stderr


def run_contender(
    python: str, spec: dict[str, Any], timeout: float, scratch: Path, env_extra: dict[str, str] | None = None
) -> Run:
    scratch.mkdir(parents=True, exist_ok=True)
    spec_path = scratch / f"spec-{spec['contender']}-{os.getpid()}.json"
    spec_path.write_text(json.dumps(spec))
    env = dict(os.environ, **(env_extra or {}))
    env.setdefault("PYTHONHASHSEED", "0")
    code, wall, usage, stdout, stderr = run_process(
        [python, str(HERE / "contenders.py"), str(spec_path)], env, timeout, spec_path
    )
    maxrss_mb = usage.ru_maxrss / 1024.0  # KiB on Linux
    cpu = usage.ru_utime + usage.ru_stime
    if code == -999:
        return Run(False, wall, maxrss_mb=maxrss_mb, cpu_s=cpu, error=f"timed out after {timeout:.0f} s")
    lines = [line for line in stdout.strip().splitlines() if line.startswith("{")]
    if code != 0 or not lines:
        tail = (stderr.strip().splitlines() or ["(no output)"])[-1]
        return Run(False, wall, maxrss_mb=maxrss_mb, cpu_s=cpu, error=f"exit {code}: {tail[:300]}")
    payload = json.loads(lines[-1])
    if payload.get("peak_rss_mb"):  # the child's own VmHWM; ru_maxrss includes the harness (see contenders.py)
        maxrss_mb = float(payload["peak_rss_mb"])
    return Run(
        True,
        wall,
        work_s=payload.get("work_s"),
        import_s=payload.get("import_s"),
        times=payload.get("times"),
        maxrss_mb=maxrss_mb,
        cpu_s=cpu,
        scores=payload.get("scores"),
    )


# ---------------------------------------------------------------------------
# environment, machine, versions


def source_state() -> dict[str, Any]:
    """Which driftmon code was measured: a hash of its sources (there may be no commit yet)."""
    import hashlib

    digest = hashlib.sha256()
    newest = 0.0
    for path in sorted((ROOT / "driftmon").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
        newest = max(newest, path.stat().st_mtime)
    state: dict[str, Any] = {
        "sources_sha256": digest.hexdigest()[:16],
        "newest_source_change": dt.datetime.fromtimestamp(newest, dt.UTC).isoformat(timespec="seconds"),
    }
    try:
        state["git_head"] = (
            subprocess.run(
                ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        state["git_head"] = None
    return state


def compile_bytecode(python: str) -> str:
    """Compile the measured driftmon's modules to bytecode, as installing a wheel does.

    With PYTHONDONTWRITEBYTECODE set (or a read-only checkout) every contender process would
    otherwise compile driftmon's ~100 modules from source at each start (0.1-0.2 s measured),
    a cost no installed driftmon pays; the floor is one script and pays it alike.
    """
    where = subprocess.run(
        [python, "-c", "import os, driftmon; print(os.path.dirname(driftmon.__file__))"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.strip()
    if not where:
        return "driftmon not importable: bytecode not compiled"
    done = subprocess.run([python, "-m", "compileall", "-q", where], capture_output=True, text=True, timeout=300)
    return f"driftmon's bytecode compiled in {where} (compileall, exit {done.returncode})"


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return info


VERSION_SNIPPET = """
import json, importlib.metadata as m, platform
names = %r
out = {"python": platform.python_version()}
for name in names:
    try:
        out[name] = m.version(name)
    except m.PackageNotFoundError:
        pass
print(json.dumps(out))
"""


def versions(python: str, names: list[str]) -> dict[str, str]:
    try:
        text = subprocess.run(
            [python, "-c", VERSION_SNIPPET % (names,)], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        return dict(json.loads(text))
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}


# ---------------------------------------------------------------------------
# workloads


@dataclass
class Sizes:
    a_rows: int = 1_000_000
    b_live_rows: int = 10_000_000
    c_features: int = 10_000
    c_bins: int = 50
    d_rows: int = 100_000
    d_numeric: int = 450
    d_categorical: int = 50
    e_monitors: int = 100
    e_features: int = 50
    e_scrapes: int = 200
    bandwidth_bytes: int = 1 << 30
    shape_rows: int = 1_000_000


TINY = Sizes(2_000, 5_000, 100, 50, 1_000, 45, 5, 5, 50, 20, 1 << 24, 4_000)


def driftmon_config(path: Path, name: str, reference: Path, live: Path, features: list[str]) -> Path:
    """A driftmon config (JSON is YAML) with the defaults every contender reproduces."""
    document = {
        "defaults": {
            "schedule": "1h",
            "measures": ["kl", "js", "psi"],
            "log_base": 2,
            "smoothing": {"method": "unseen", "alpha": 0.5},
            "binning": {"strategy": "quantile", "bins": 10},
            "min_samples": 100,
            "thresholds": {"js": {"warning": 0.004, "critical": 0.02}, "psi": {"warning": 0.02, "critical": 0.1}},
        },
        "monitors": [
            {
                "name": name,
                "reference": {"type": "file", "path": str(reference)},
                "live": {"type": "file", "path": str(live)},
                "features": features,
            }
        ],
    }
    path.write_text(json.dumps(document, indent=1))
    return path


class Harness:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sizes = TINY if args.tiny else Sizes()
        self.data = Path(args.data).resolve()
        self.scratch = self.data / "scratch"
        self.main_python = args.python
        self.peers_python = args.peers_python if Path(args.peers_python).exists() else None
        self.results: dict[str, Any] = {}
        self.only_contenders = set(args.contenders.split(",")) if args.contenders else None

    def log(self, message: str) -> None:
        print(message, flush=True)

    def contenders(self, workload: str, extra: list[str] | None = None) -> list[str]:
        names = DEFAULT_CONTENDERS.get(workload, []) + (extra or [])
        if self.only_contenders:
            names = [n for n in names if n in self.only_contenders or n == "driftmon"]
        return names

    def python_for(self, contender: str) -> str | None:
        return self.peers_python if contender in PEERS else self.main_python

    # tabular workloads -----------------------------------------------------

    def tabular(
        self,
        key: str,
        reference: Path,
        live: Path,
        numeric: list[str],
        categorical: list[str],
        contenders: list[str],
        files: dict[str, list[str]] | None = None,
    ) -> None:
        config = driftmon_config(
            self.data / f"driftmon-{key}.yaml", f"bench-{key}", reference, live, numeric + categorical
        )
        spec_base = {
            "reference": str(reference),
            "live": str(live),
            **(files or {}),
            "numeric": numeric,
            "categorical": categorical,
            "config": str(config),
            "bins": 10,
            "max_categories": 50,
        }
        rows = {name: Row(name) for name in contenders}
        for name in contenders:
            if self.python_for(name) is None:
                rows[name].note = "not installed (no peers environment)"
        load_before = os.getloadavg()
        for repetition in range(self.args.repeat):
            for name in contenders:
                row = rows[name]
                python = self.python_for(name)
                if python is None or row.note:
                    continue
                run = run_contender(
                    python,
                    dict(spec_base, contender=name),
                    self.args.timeout,
                    self.scratch,
                    PEER_ENV if name in PEERS else None,
                )
                row.runs.append(run)
                shown = f"{run.work_s:.2f} s work, {run.wall_s:.2f} s process" if run.ok else run.error
                self.log(f"  ({key}) {name:14s} run {repetition + 1}: {shown}, peak RSS {run.maxrss_mb:.0f} MB")
                if not run.ok:
                    row.note = f"failed: {run.error}"
                elif run.wall_s > self.args.slow and repetition + 1 < self.args.repeat:
                    row.note = f"ran once: {run.wall_s:.0f} s is over --slow {self.args.slow:.0f} s"
        self.results[key] = {
            "title": WORKLOADS[key],
            "kind": "tabular",
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "rows": [self._tabular_row(row, rows.get("driftmon")) for row in rows.values()],
        }

    def _tabular_row(self, row: Row, baseline: Row | None) -> dict[str, Any]:
        good = row.good
        out: dict[str, Any] = {
            "contender": row.contender,
            "description": DESCRIPTIONS.get(row.contender, ""),
            "note": row.note,
            "runs": len(good),
        }
        if not good:
            return out
        work = [r.work_s for r in good if r.work_s is not None]
        wall = [r.wall_s for r in good]
        out.update(
            work_median_s=statistics.median(work),
            work_min_s=min(work),
            work_max_s=max(work),
            wall_median_s=statistics.median(wall),
            wall_min_s=min(wall),
            wall_max_s=max(wall),
            import_median_s=statistics.median([r.import_s or 0.0 for r in good]),
            peak_rss_mb=max(r.maxrss_mb for r in good),
            cpu_median_s=statistics.median([r.cpu_s for r in good]),
            scores=good[0].scores,
        )
        if baseline and baseline.good:
            base_work = statistics.median([r.work_s for r in baseline.good if r.work_s is not None])
            base_wall = statistics.median([r.wall_s for r in baseline.good])
            out["ratio_work"] = out["work_median_s"] / base_work
            out["ratio_wall"] = out["wall_median_s"] / base_wall
            if row.contender in SAME_JOB and baseline.good[0].scores:
                diff = _max_diff(good[0].scores, baseline.good[0].scores)
                out["max_abs_diff_vs_driftmon"] = diff
                if diff is None or diff > SAME_SCORES:
                    out["note"] = (out["note"] + "; " if out["note"] else "") + (
                        f"SCORES DIFFER from driftmon's (max abs diff {diff})"
                    )
        return out

    def workload_a(self) -> None:
        n_numeric, n_categorical = 20, 5
        self.log("generating (a) data ...")
        reference = datagen.table_file(
            self.data / "a-reference.parquet", self.sizes.a_rows, n_numeric, n_categorical, False, 1
        )
        live = datagen.table_file(self.data / "a-live.parquet", self.sizes.a_rows, n_numeric, n_categorical, True, 2)
        self.tabular(
            "a",
            reference,
            live,
            datagen.numeric_names(n_numeric),
            datagen.categorical_names(n_categorical),
            self.contenders("a"),
        )

    def workload_a_csv(self) -> None:
        self._workload_a_text(".csv")

    def workload_a_jsonl(self) -> None:
        self._workload_a_text(".jsonl")

    def _workload_a_text(self, suffix: str) -> None:
        """Workload (a)'s rows written as text once (datagen.text_file), then the same race."""
        n_numeric, n_categorical = 20, 5
        key = "a-" + suffix.lstrip(".")
        self.log(f"generating ({key}) data ...")
        files = []
        for side, live, seed in (("reference", False, 1), ("live", True, 2)):
            parquet = datagen.table_file(
                self.data / f"a-{side}.parquet", self.sizes.a_rows, n_numeric, n_categorical, live, seed
            )
            files.append(datagen.text_file(parquet, parquet.with_suffix(suffix)))
        self.tabular(
            key,
            files[0],
            files[1],
            datagen.numeric_names(n_numeric),
            datagen.categorical_names(n_categorical),
            self.contenders(key),
        )

    def workload_b(self) -> None:
        n_numeric, n_categorical = 20, 5
        self.log("generating (b) data (10 M rows: about a minute the first time) ...")
        reference = datagen.table_file(
            self.data / "a-reference.parquet", self.sizes.a_rows, n_numeric, n_categorical, False, 1
        )
        live = datagen.table_file(
            self.data / "b-live.parquet", self.sizes.b_live_rows, n_numeric, n_categorical, True, 3
        )
        extra = ["evidently", "nannyml"] if self.args.peers_on_b else []
        self.tabular(
            "b",
            reference,
            live,
            datagen.numeric_names(n_numeric),
            datagen.categorical_names(n_categorical),
            self.contenders("b", extra),
        )

    def workload_d(self) -> None:
        s = self.sizes
        self.log("generating (d) data ...")
        reference = datagen.table_file(
            self.data / "d-reference.parquet", s.d_rows, s.d_numeric, s.d_categorical, False, 4
        )
        live = datagen.table_file(self.data / "d-live.parquet", s.d_rows, s.d_numeric, s.d_categorical, True, 5)
        self.tabular(
            "d",
            reference,
            live,
            datagen.numeric_names(s.d_numeric),
            datagen.categorical_names(s.d_categorical),
            self.contenders("d"),
        )

    def workload_shape(self, key: str) -> None:
        """One of SHAPES: its files written once, a glob for driftmon, the file list for the floor."""
        shape, count, group_rows = SHAPES[key]
        rows = self.sizes.shape_rows
        if self.args.tiny:  # the same shape in miniature: 4 row groups, or 20 files
            group_rows = max(rows // 4, 1) if group_rows else None
            count = min(count, 20)
        self.log(f"generating ({key}) data ...")
        sides = {}
        for side, live, seed in (("reference", False, 11), ("live", True, 12)):
            directory = self.data / f"{key}-{side}"
            sides[side] = datagen.shape_files(
                directory, shape, rows, live, seed, files=count, row_group_rows=group_rows
            )
        columns = datagen.shape_columns(shape)
        numeric = [name for name, kind in columns if not kind.startswith("text")]
        categorical = [name for name, kind in columns if kind.startswith("text")]

        def path(side: str) -> Path:
            return sides[side][0] if count == 1 else sides[side][0].parent / "*.parquet"

        files = {f"{side}_files": [str(p) for p in paths] for side, paths in sides.items()}
        self.tabular(key, path("reference"), path("live"), numeric, categorical, self.contenders(key), files)

    # kernel --------------------------------------------------------------------

    def workload_c(self) -> None:
        import numpy as np

        live, reference = datagen.kernel_counts(self.sizes.c_features, self.sizes.c_bins, 6)
        self.data.mkdir(parents=True, exist_ok=True)
        live_path, reference_path = self.data / "c-live.npy", self.data / "c-reference.npy"
        np.save(live_path, live)
        np.save(reference_path, reference)
        rows: dict[str, dict[str, Any]] = {}
        arrays: dict[str, Any] = {}
        load_before = os.getloadavg()
        for name in self.contenders("c"):
            # a slow kernel gets fewer in-process repetitions; fast ones get more samples
            repeat = self.args.repeat if name == "scipy-loop" else max(self.args.repeat * 10, 20)
            scores_out = self.scratch / f"c-{name}.npy"
            spec = {
                "contender": "kernel",
                "kernel": name,
                "live": str(live_path),
                "reference": str(reference_path),
                "repeat": repeat,
                "scores_out": str(scores_out),
            }
            run = run_contender(self.main_python, spec, self.args.timeout, self.scratch)
            if not run.ok:
                self.log(f"  (c) {name}: {run.error}")
                rows[name] = {
                    "contender": name,
                    "description": DESCRIPTIONS.get(name, ""),
                    "note": f"failed: {run.error}",
                    "runs": 0,
                }
                continue
            times = run.times or []
            arrays[name] = np.load(scores_out)
            rows[name] = {
                "contender": name,
                "description": DESCRIPTIONS.get(name, ""),
                "note": "",
                "runs": len(times),
                "work_median_s": statistics.median(times),
                "work_min_s": min(times),
                "work_max_s": max(times),
                "peak_rss_mb": run.maxrss_mb,
            }
            self.log(f"  (c) {name:12s} median {statistics.median(times) * 1e3:9.2f} ms over {len(times)} calls")
        base = rows.get("driftmon", {}).get("work_median_s")
        for name, row in rows.items():
            if base and "work_median_s" in row:
                row["ratio_work"] = row["work_median_s"] / base
            if name != "driftmon" and name in arrays and "driftmon" in arrays:
                row["max_abs_diff_vs_driftmon"] = float(np.nanmax(np.abs(arrays[name] - arrays["driftmon"])))
        self.results["c"] = {
            "title": WORKLOADS["c"],
            "kind": "kernel",
            "load_before": load_before,
            "load_after": os.getloadavg(),
            "rows": list(rows.values()),
        }

    # memory bandwidth ------------------------------------------------------------

    def workload_m(self) -> None:
        spec = {"contender": "bandwidth", "bytes": self.sizes.bandwidth_bytes, "repeat": max(self.args.repeat, 5)}
        run = run_contender(self.main_python, spec, self.args.timeout, self.scratch)
        if not run.ok:
            self.results["m"] = {"title": WORKLOADS["m"], "kind": "bandwidth", "error": run.error}
            return
        times = run.times or []
        median = statistics.median(times)
        gbs = self.sizes.bandwidth_bytes / median / 1e9
        self.log(f"  (m) sum of {self.sizes.bandwidth_bytes / 2**30:.2f} GiB: {median * 1e3:.1f} ms = {gbs:.1f} GB/s")
        self.results["m"] = {
            "title": WORKLOADS["m"],
            "kind": "bandwidth",
            "median_s": median,
            "min_s": min(times),
            "max_s": max(times),
            "gb_per_s": gbs,
        }

    # scrape latency -------------------------------------------------------------

    def workload_e(self) -> None:
        """Two daemons in turn: "idle" (schedule 1h: the snapshot never changes while we
        scrape) and "busy" (schedule 10s: about ten monitors finish per second, so nearly
        every scrape sees a new snapshot, as in production)."""
        title = WORKLOADS["e"]
        if not (ROOT / "driftmon" / "daemon.py").exists():
            self.log("  (e) not run: driftmon/daemon.py does not exist yet")
            self.results["e"] = {
                "title": title,
                "kind": "scrape",
                "error": "not run: driftmon/daemon.py does not exist yet",
            }
            return
        result: dict[str, Any] = {"title": title, "kind": "scrape", "variants": {}}
        for phase, schedule, pause in (("idle", "1h", 0.0), ("busy", "10s", 0.05)):
            error = self._scrape_phase(result, phase, schedule, pause)
            if error:
                result["error"] = error
                self.log(f"  (e) {phase} failed: {error}")
                break
        self.results["e"] = result

    def _scrape_phase(self, result: dict[str, Any], phase: str, schedule: str, pause: float) -> str | None:
        s = self.sizes
        directory = self.data / "e"
        reference, live = datagen.histogram_files(directory, s.e_features, 7)
        features = [f"f{f:02d}" for f in range(s.e_features)]
        config = {
            "defaults": {
                "schedule": schedule,
                "measures": ["kl", "js", "psi"],
                "thresholds": {"js": {"warning": 0.004, "critical": 0.02}, "psi": {"warning": 0.02, "critical": 0.1}},
            },
            "monitors": [
                {
                    "name": f"monitor-{m:03d}",
                    "labels": {"team": f"team-{m % 7}"},
                    "reference": {"type": "histogram", "path": str(reference)},
                    "live": {"type": "histogram", "path": str(live)},
                    "features": features,
                }
                for m in range(s.e_monitors)
            ],
        }
        config_path = directory / f"driftmon-e-{phase}.yaml"
        config_path.write_text(json.dumps(config, indent=1))
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log_path = directory / f"daemon-{phase}.log"
        command = [self.main_python, "-m", "driftmon", "run", "-c", str(config_path)]
        command += ["--web.listen-address", f"127.0.0.1:{port}", "--log.level", "warn"]
        with open(log_path, "wb") as daemon_log:
            daemon = subprocess.Popen(command, stdout=daemon_log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            started = time.perf_counter()
            body = self._wait_for_results(base, daemon, s.e_monitors, 180.0)
            if phase == "idle":
                result["first_full_scrape_after_start_s"] = time.perf_counter() - started
                result["series"] = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
                result["body_bytes"] = len(body.encode())
            variants = {
                "text (Accept: */*)": {"Accept": "*/*"},
                "Prometheus 2.42 (OpenMetrics + gzip)": {"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"},
            }
            for label, headers in variants.items():
                times = []
                deadline = time.monotonic() + (90.0 if pause else 1e9)  # busy: a bounded phase
                for _ in range(s.e_scrapes):
                    if time.monotonic() > deadline:
                        break
                    request = urllib.request.Request(base + "/metrics", headers=headers)
                    begun = time.perf_counter()
                    with urllib.request.urlopen(request, timeout=30) as response:
                        response.read()
                    times.append(time.perf_counter() - begun)
                    time.sleep(pause)
                first = times[0]
                times.sort()
                p99 = times[min(len(times) - 1, math.ceil(0.99 * len(times)) - 1)]
                result["variants"][f"{phase}, {label}"] = {
                    "scrapes": len(times),
                    "median_s": statistics.median(times),
                    "p99_s": p99,
                    "min_s": times[0],
                    "max_s": times[-1],
                    "first_s": first,
                }
                self.log(
                    f"  (e) {phase}, {label}: median {statistics.median(times) * 1e3:.1f} ms, "
                    f"p99 {p99 * 1e3:.1f} ms, first {first * 1e3:.1f} ms over {len(times)} scrapes"
                )
            if log_path.exists():
                text = log_path.read_text(errors="replace")
                result[f"evaluations_skipped_{phase}"] = text.count("evaluation skipped")
            result[f"daemon_peak_rss_mb_{phase}"] = _vm_hwm_mb(daemon.pid)
            result["daemon_peak_rss_mb"] = max(result.get("daemon_peak_rss_mb", 0.0), _vm_hwm_mb(daemon.pid))
            self.log(
                f"  (e) {phase}: {result.get('series')} series, {result.get('body_bytes', 0) / 1e6:.1f} MB "
                f"per text scrape, daemon peak RSS {result[f'daemon_peak_rss_mb_{phase}']:.0f} MB, "
                f"{result.get(f'evaluations_skipped_{phase}', 0)} evaluations skipped"
            )
            return None
        except (OSError, RuntimeError, TimeoutError) as error:
            tail = log_path.read_text(errors="replace")[-600:] if log_path.exists() else ""
            return f"{type(error).__name__}: {error}; daemon log: {tail}"
        finally:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
                try:
                    daemon.wait(15)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    daemon.wait()

    def _wait_for_results(self, base: str, daemon: subprocess.Popen[bytes], monitors: int, timeout: float) -> str:
        """The first /metrics body in which every monitor has been evaluated."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if daemon.poll() is not None:
                raise RuntimeError(f"the daemon exited with status {daemon.returncode}")
            try:
                with urllib.request.urlopen(base + "/metrics", timeout=30) as response:
                    body = response.read().decode()
                up = sum(
                    1 for line in body.splitlines() if line.startswith("driftmon_monitor_up{") and line.endswith(" 1.0")
                )
                if up >= monitors:
                    return body
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"not every monitor evaluated within {timeout:.0f} s")

    # ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = dt.datetime.now(dt.UTC)
        code_before = source_state()
        code_before["bytecode"] = compile_bytecode(self.main_python)
        self.log(code_before["bytecode"])
        only = [w.strip() for w in self.args.only.split(",") if w.strip()]
        self.log(
            f"driftmon benchmarks: workloads {','.join(only)}, {self.args.repeat} repetitions"
            + (" (tiny sizes)" if self.args.tiny else "")
        )
        for key in only:
            self.log(f"[{key}] {WORKLOADS[key]}")
            if key in SHAPES:
                self.workload_shape(key)
            else:
                getattr(self, f"workload_{key.replace('-', '_')}")()
        names = ["numpy", "pandas", "pyarrow", "scipy", "pydantic", "prometheus-client", "driftmon"]
        document = {
            "date": started.isoformat(timespec="seconds"),
            "duration_s": (dt.datetime.now(dt.UTC) - started).total_seconds(),
            "machine": machine(),
            "driftmon_code": code_before,
            "driftmon_code_changed_during_run": source_state()["sources_sha256"] != code_before["sources_sha256"],
            "command": " ".join(sys.argv),
            "repeat": self.args.repeat,
            "tiny": self.args.tiny,
            "versions": {
                "project environment": versions(self.main_python, names),
                "peers environment": versions(
                    self.peers_python, ["numpy", "pandas", "pyarrow", "scipy", "evidently", "nannyml"]
                )
                if self.peers_python
                else {},
            },
            "workloads": self.results,
        }
        return document


# ---------------------------------------------------------------------------
# output


def _max_diff(scores: dict[str, dict[str, float]], baseline: dict[str, dict[str, float]]) -> float | None:
    """The largest |score - driftmon's| over every feature and measure driftmon reports; inf
    if the contender lacks one, or one side is finite where the other is not."""
    diffs = []
    for feature, measures in baseline.items():
        for measure, expected in measures.items():
            value = scores.get(feature, {}).get(measure)
            if value is None or math.isfinite(value) != math.isfinite(expected):
                diffs.append(math.inf)
            elif math.isfinite(value):
                diffs.append(abs(value - expected))
            elif value != expected:  # +inf against -inf or NaN
                diffs.append(math.inf)
    return max(diffs) if diffs else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _vm_hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return math.nan


def _seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 0.01:
        return f"{value * 1e3:.2f} ms"
    if value < 1:
        return f"{value * 1e3:.0f} ms"
    return f"{value:.2f} s"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _table(header: list[str], rows: list[list[str]], right_from: int = 1) -> list[str]:
    """A Markdown table; columns from ``right_from`` on are right-aligned (numbers)."""
    rule = ["---" if i < right_from or name == "note" else "---:" for i, name in enumerate(header)]
    return ["| " + " | ".join(cells) + " |" for cells in [header, rule, *rows]]


def _diff(value: float | None) -> str:
    return "-" if value is None else f"{value:.1e}"


TABULAR_HEADER = [
    "contender", "work median", "work min-max", "x driftmon (work)", "process median",
    "x driftmon (process)", "imports", "peak RSS", "CPU", "runs", "max abs diff vs driftmon", "note",
]  # fmt: skip
KERNEL_HEADER = ["contender", "median", "min-max", "x driftmon", "calls", "max abs diff vs driftmon", "note"]


def _tabular_cells(row: dict[str, Any]) -> list[str]:
    if not row.get("runs"):
        return [row["contender"], *["-"] * 8, "0", "-", row.get("note", "")]
    return [
        row["contender"],
        _seconds(row["work_median_s"]),
        f"{_seconds(row['work_min_s'])} - {_seconds(row['work_max_s'])}",
        _ratio(row.get("ratio_work")),
        _seconds(row["wall_median_s"]),
        _ratio(row.get("ratio_wall")),
        _seconds(row["import_median_s"]),
        f"{row['peak_rss_mb']:.0f} MB",
        _seconds(row["cpu_median_s"]),
        str(row["runs"]),
        _diff(row.get("max_abs_diff_vs_driftmon")),
        row.get("note", ""),
    ]


def _kernel_cells(row: dict[str, Any]) -> list[str]:
    if not row.get("runs"):
        return [row["contender"], "-", "-", "-", "0", "-", row.get("note", "")]
    return [
        row["contender"],
        _seconds(row["work_median_s"]),
        f"{_seconds(row['work_min_s'])} - {_seconds(row['work_max_s'])}",
        _ratio(row.get("ratio_work")),
        str(row["runs"]),
        _diff(row.get("max_abs_diff_vs_driftmon")),
        row.get("note", ""),
    ]


def markdown(document: dict[str, Any]) -> str:
    m = document["machine"]
    code = document.get("driftmon_code", {})
    changed = document.get("driftmon_code_changed_during_run")
    minutes = document["duration_s"] / 60
    lines = [
        f"# driftmon benchmarks, {document['date']}",
        "",
        f"Machine: {m.get('cpu', '?')}, {m.get('cores')} cores, {m.get('memory_gib')} GiB; {m.get('platform')}.",
        f"Command: `{document['command']}` ({document['repeat']} repetitions; took {minutes:.1f} min).",
        f"driftmon code: sources sha256 {code.get('sources_sha256')} "
        f"(newest change {code.get('newest_source_change')}, git HEAD {code.get('git_head') or 'none'})"
        + ("; **the sources changed during the run**." if changed else ".")
        + (f" {code['bytecode'][:1].upper()}{code['bytecode'][1:]}." if code.get("bytecode") else ""),
        "",
    ]
    for env, names in document["versions"].items():
        if names:
            lines.append(f"- {env}: " + ", ".join(f"{k} {v}" for k, v in names.items()))
    lines.append("")
    for key, result in document["workloads"].items():
        lines += [f"## ({key}) {result['title']}", ""]
        if "load_before" in result:
            before, after = result["load_before"][0], result["load_after"][0]
            lines += [f"Load average before/after: {before:.2f} / {after:.2f}.", ""]
        if result.get("error"):
            lines += [f"{result['error']}", ""]
            continue
        if result["kind"] == "tabular":
            lines += _table(TABULAR_HEADER, [_tabular_cells(row) for row in result["rows"]])
        elif result["kind"] == "kernel":
            lines += _table(KERNEL_HEADER, [_kernel_cells(row) for row in result["rows"]])
        elif result["kind"] == "bandwidth":
            lines.append(
                f"median {_seconds(result['median_s'])} (min {_seconds(result['min_s'])}, "
                f"max {_seconds(result['max_s'])}): {result['gb_per_s']:.1f} GB/s"
            )
        elif result["kind"] == "scrape":
            lines.append(
                f"{result.get('series')} series, {result.get('body_bytes', 0) / 1e6:.1f} MB per text scrape; "
                f"every monitor in /metrics {result.get('first_full_scrape_after_start_s', math.nan):.1f} s "
                f"after start; daemon peak RSS {result.get('daemon_peak_rss_mb', math.nan):.0f} MB."
            )
            lines.append("")
            keys = ("median_s", "p99_s", "min_s", "max_s", "first_s")
            lines += _table(
                ["daemon, request", "scrapes", "median", "p99", "min", "max", "first"],
                [
                    [label, str(v["scrapes"]), *(_seconds(v.get(k)) for k in keys)]
                    for label, v in result.get("variants", {}).items()
                ],
            )
            lines += [
                "",
                "idle: schedule 1h, the snapshot does not change while scraping; busy: schedule 10s,",
                "about ten monitors finish per second, 50 ms between scrapes, at most 90 s per request kind.",
                "Evaluations the busy daemon skipped (it could not keep up): "
                f"{result.get('evaluations_skipped_busy', '-')}.",
            ]
        lines.append("")
    lines += [
        "Work = the job inside the process after its imports (read, bin, score); process = the",
        "whole process as started from the shell, imports included. Peak RSS: the process's",
        "own VmHWM (max over its runs; not ru_maxrss, which includes the harness's memory).",
        "CPU: user + system seconds of the process (> work when threads overlap). Ratios are",
        "medians over the driftmon median of the same run.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    default_python = ROOT / ".venv" / "bin" / "python"
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only",
        default="m,c,a,d,b,e," + ",".join(SHAPES),
        help="workloads, comma-separated, from: " + ", ".join(WORKLOADS) + " (default: all)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender and workload (default 3)")
    parser.add_argument(
        "--contenders", default="", help="only these contenders (driftmon always runs), e.g. driftmon,floor"
    )
    parser.add_argument(
        "--python",
        default=str(default_python if default_python.exists() else sys.executable),
        help="interpreter with driftmon, scipy, pyarrow",
    )
    parser.add_argument(
        "--peers-python",
        default=str(HERE / ".venv-peers" / "bin" / "python"),
        help="interpreter with evidently and nannyml",
    )
    parser.add_argument(
        "--peers-on-b", action="store_true", help="also run Evidently and NannyML on the 10 M-row workload (slow)"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before one run is killed (default 900)")
    parser.add_argument(
        "--slow",
        type=float,
        default=150.0,
        help="a contender whose first run takes longer is not repeated (default 150 s)",
    )
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: a smoke test of the harness itself")
    parser.add_argument(
        "--data", default=str(HERE / "data"), help="where generated data goes (default benchmarks/data)"
    )
    parser.add_argument("--output", default="", help="results file stem (default results/<date>, or results/tiny)")
    args = parser.parse_args(argv)
    unknown = [w for w in args.only.split(",") if w.strip() and w.strip() not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; known: {', '.join(WORKLOADS)}")
    document = Harness(args).run()
    text = markdown(document)
    print()
    print(text)
    stem = (
        Path(args.output)
        if args.output
        else HERE / "results" / ("tiny" if args.tiny else document["date"][:16].replace(":", ""))
    )
    write_results(stem, text, document)
    return 0


def write_results(stem: Path, text: str, document: dict[str, Any]) -> None:
    """``stem``.md and ``stem``.json, and say so."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".md").write_text(text)
    stem.with_suffix(".json").write_text(json.dumps(document, indent=1, default=str))
    print(f"written: {stem.with_suffix('.md')}, {stem.with_suffix('.json')}")


if __name__ == "__main__":
    sys.exit(main())
