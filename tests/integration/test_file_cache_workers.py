"""The live-file cache through real worker processes: the daemon keeps it, any worker uses it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from driftmon import config
from driftmon.cli import main
from driftmon.config import MonitorConfig
from driftmon.daemon import Daemon
from driftmon.evaluate import MonitorResult, evaluate
from driftmon.sources.file_cache import FileCache
from driftmon.workers import WorkerPool

pytestmark = pytest.mark.integration


def monitor_config(folder: Path, edges: str, name: str = "driftmon.yaml") -> Path:
    path = folder / name
    path.write_text(
        f"""\
monitors:
  - name: files
    reference: {{type: file, path: ref.csv}}
    live: {{type: file, path: 'live/*.csv'}}
    features: [{{name: x, binning: {{edges: {edges}}}}}]
    min_samples: 10
""",
        encoding="utf-8",
    )
    return path


def csv_text(values: np.ndarray) -> str:
    """Fixed-width values: another version of a file can have the very same size."""
    return "x\n" + "".join(f"{v:05.2f}\n" for v in values)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    (tmp_path / "ref.csv").write_text(csv_text(rng.uniform(10, 30, 500)), encoding="utf-8")
    (tmp_path / "live").mkdir()
    for index in range(3):
        (tmp_path / "live" / f"part{index}.csv").write_text(csv_text(rng.uniform(10, 30, 300)), encoding="utf-8")
    return tmp_path


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool(2, memory_limit=0, files=FileCache(settle_s=0.0))
    workers.start()
    yield workers
    workers.close()


def in_daemon(pool: WorkerPool, monitor: MonitorConfig) -> MonitorResult:
    result = pool.evaluate(monitor, 60.0)
    assert result is not None and result.error is None, result
    return result


def test_workers_reuse_the_daemons_entries_and_never_serve_a_replaced_file(folder: Path, pool: WorkerPool) -> None:
    """Evaluations in new worker processes reuse the entries the daemon holds (the same
    objects stay); a file replaced by rename with the same size and mtime, and a reload with new
    edges, give the from-scratch result."""
    assert pool.files is not None
    monitor = config.load(monitor_config(folder, "[15, 20, 25]")).monitors[0]
    first = in_daemon(pool, monitor)
    assert first.to_json() == evaluate(monitor).to_json()
    entries = pool.files.entries("files")
    assert entries is not None and len(entries) == 3
    for _ in range(2):  # each time a new worker process, which has no memory of its own
        for worker in list(pool._idle):
            worker.kill()
        assert in_daemon(pool, monitor).to_json() == first.to_json()
    assert pool.started == 3
    again = pool.files.entries("files") or {}
    assert all(again[key] is entry for key, entry in entries.items())  # reused, never recounted

    target = folder / "live" / "part1.csv"
    before = target.stat()
    replacement = folder / "live" / "part1.csv.tmp"
    replacement.write_text(csv_text(np.full(300, 29.5)), encoding="utf-8")
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(replacement, target)
    assert target.stat().st_size == before.st_size and target.stat().st_mtime_ns == before.st_mtime_ns
    replaced = in_daemon(pool, monitor)
    assert replaced.to_json() == evaluate(monitor).to_json() != first.to_json()
    assert len(pool.files.entries("files") or {}) == 3  # the old version's entry is gone

    reloaded = config.load(monitor_config(folder, "[12, 18, 24, 28]", "reloaded.yaml")).monitors[0]
    assert in_daemon(pool, reloaded).to_json() == evaluate(reloaded).to_json()
    assert len(pool.files.entries("files") or {}) == 3  # the old bins' entries are gone


def test_cache_size_flag_sets_the_bound_and_zero_turns_it_off(folder: Path) -> None:
    """--evaluation.cache-size reaches the daemon's cache; 0 hands workers no cache at all."""
    path = monitor_config(folder, "[15, 20, 25]")
    initial = config.load(path)
    on = Daemon(path, initial, cache_size=1 << 20)
    assert on.pool.files is on.files and on.files.max_bytes == 1 << 20
    off = Daemon(path, initial, cache_size=0)
    assert off.pool.files is None and not off.files.enabled


def test_a_bad_cache_size_is_a_usage_error_naming_the_flag(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A size that does not parse exits 2 before anything starts, naming the flag."""
    code = main(["run", "-c", str(monitor_config(folder, "[15, 20, 25]")), "--evaluation.cache-size", "lots"])
    assert code == 2
    assert "--evaluation.cache-size" in capsys.readouterr().err


def test_json_lines_through_duckdb_in_a_worker_process(tmp_path: Path, pool: WorkerPool) -> None:
    """A worker process reads JSON Lines through DuckDB (the extra is installed here) and gets
    the scores pyarrow's reader gives in this process."""
    pytest.importorskip("duckdb")
    import json

    rng = np.random.default_rng(11)
    for name, shift in (("ref", 0.0), ("live", 0.4)):
        rows = [
            {"x": float(v), "c": str(c)}
            for v, c in zip(rng.normal(shift, 1, 3000), rng.choice(list("abc"), 3000), strict=True)
        ]
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    text = """\
monitors:
  - name: events
    reference: {{type: file, path: ref.jsonl{option}}}
    live: {{type: file, path: live.jsonl{option}}}
    features: [x, c]
"""
    (tmp_path / "duckdb.yaml").write_text(text.format(option=", json_reader: duckdb"), encoding="utf-8")
    (tmp_path / "pyarrow.yaml").write_text(text.format(option=", json_reader: pyarrow"), encoding="utf-8")
    in_worker = in_daemon(pool, config.load(tmp_path / "duckdb.yaml").monitors[0]).to_json()
    here = evaluate(config.load(tmp_path / "pyarrow.yaml").monitors[0]).to_json()
    scores = {f["feature"]: f["scores"] for f in in_worker["features"]}
    assert scores == {f["feature"]: f["scores"] for f in here["features"]}
    assert scores["x"]["js"] > 0.01  # the shift is seen
