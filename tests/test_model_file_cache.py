"""The daemon's live-file cache keeps a model's columns: a file unchanged since it was read is
not read again for its predictions, scores, labels, keys or times (nor is a targets file of
late labels), and every result equals a fresh evaluation's (no cache), also as the window
moves over files on its edges and when labels arrive."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import config
from driftmon.evaluate import evaluate, model_json
from driftmon.reference import ReferenceCache
from driftmon.sources import rows
from driftmon.sources.file_cache import FileCounts, FileEntry, FileKey

START = datetime(2026, 1, 1, tzinfo=UTC)
LATE = """
monitors:
  - name: churn
    min_samples: 50
    reference: {type: file, path: ref.parquet}
    live: {type: file, path: "live/*.parquet", window: {column: ts, last: 3h}}
    features: [x]
    model: {task: binary, prediction: predicted, score: p, target: churned,
            targets: {type: file, path: targets.parquet}, key: id, label_window: 2h}
"""
OWN = """
monitors:
  - name: churn
    min_samples: 50
    reference: {type: file, path: ref.parquet}
    live: {type: file, path: "live/*.parquet"}
    features: [x]
    model: {task: multiclass, prediction: cls_pred, score: {a: pa, b: pb, c: pc}, target: cls}
"""


def _frame(seed: int, rows: int, hour: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.2 * hour, 1, rows)
    p = 1 / (1 + np.exp(-2 * x))
    logits = np.column_stack([x, -x, 0.5 * np.sin(3 * x)])
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    classes = np.array(["a", "b", "c"], dtype=object)
    cls = classes[(rng.random(rows)[:, None] > probs.cumsum(axis=1)).sum(axis=1).clip(0, 2)]
    cls[rng.random(rows) < 0.4] = None  # not labelled yet
    return pd.DataFrame(
        {
            "id": np.arange(rows) + 100_000 * hour,
            "ts": [START + timedelta(hours=hour, seconds=float(s)) for s in np.linspace(0, 3599, rows)],
            "x": x,
            "p": p,
            "predicted": (p >= 0.5).astype(int),
            "churned": (rng.random(rows) < p).astype(float),
            "pa": probs[:, 0],
            "pb": probs[:, 1],
            "pc": probs[:, 2],
            "cls_pred": classes[probs.argmax(axis=1)],
            "cls": cls,
        }
    )


def _write(tmp_path: Path, write: Callable[[str, str], Path], text: str, hours: int) -> config.MonitorConfig:
    _frame(0, 5_000, 0).to_parquet(tmp_path / "ref.parquet")
    (tmp_path / "live").mkdir()
    for hour in range(hours):
        _frame(hour + 1, 2_000, hour).drop(columns=["churned"]).to_parquet(tmp_path / f"live/{hour:02}.parquet")
    _targets(tmp_path, hours - 1)
    return config.load(write("driftmon.yaml", text)).monitors[0]


def _targets(tmp_path: Path, hours: int) -> None:
    """The labels of every other prediction of the first ``hours`` hours (they arrive late)."""
    frames = [_frame(hour + 1, 2_000, hour)[["id", "churned"]].iloc[::2] for hour in range(hours)]
    pd.concat(frames).sample(frac=1.0, random_state=3).to_parquet(tmp_path / "targets.parquet")


class _Daemon:
    """Evaluations as the daemon's workers run them: the caches carried from one to the next."""

    def __init__(self, monitor: config.MonitorConfig) -> None:
        self.monitor, self.references = monitor, ReferenceCache()
        self.known: dict[FileKey, FileEntry] = {}

    def evaluate(self, now: float) -> tuple[dict, FileCounts]:
        files = FileCounts(dict(self.known), settle_s=0.0)
        result = evaluate(self.monitor, self.references, lambda: now, live_files=files)
        assert result.error is None, result.error
        self.known = {key: self.known[key] for key in files.used} | files.new  # as FileCache.update keeps them
        return model_json(result.model), files


def _fresh(monitor: config.MonitorConfig, now: float) -> dict:
    result = evaluate(monitor, clock=lambda: now)
    assert result.error is None, result.error
    return model_json(result.model)


def _no_file_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("a model column was read again")

    monkeypatch.setattr(rows, "_whole_file", refuse)
    monkeypatch.setattr(rows, "_parquet_columns", refuse)


def test_unchanged_files_are_not_read_again_for_the_model_columns(tmp_path: Path, write, monkeypatch) -> None:
    monitor = _write(tmp_path, write, OWN, hours=3)
    now = (START + timedelta(hours=5)).timestamp()
    daemon = _Daemon(monitor)
    first, files = daemon.evaluate(now)
    assert files.read == 6  # each of 3 files: its counts, then its model columns
    assert first == _fresh(monitor, now) and first["realized"]["values"]["roc_auc_macro"] > 0.5
    with monkeypatch.context() as patched:
        _no_file_read(patched)
        again, files = daemon.evaluate(now)
    assert files.read == 0 and files.reused == 6
    assert again == first


def test_late_labels_and_a_moving_window_equal_a_fresh_evaluation(tmp_path: Path, write, monkeypatch) -> None:
    """The window (3 h) moves over hourly files: a file on its edge is not read again (its
    whole columns are kept, the window's rows chosen from them), a file left behind is dropped;
    new labels (a rewritten targets file) are read, the live files not; every result is a fresh
    evaluation's, label states (pending, overdue) included."""
    monitor = _write(tmp_path, write, LATE, hours=5)
    daemon = _Daemon(monitor)
    hour = 3600.0
    base = START.timestamp()
    first, files = daemon.evaluate(base + 4.5 * hour)  # files 01 (its second half) to 04 (its first half)
    assert first == _fresh(monitor, base + 4.5 * hour)
    assert first["labels"]["counts"]["labelled"] > 0 and first["labels"]["counts"]["overdue"] > 0
    assert first["labels"]["counts"]["pending"] > 0
    for now in (base + 4.75 * hour, base + 5.25 * hour):  # the window moves within known files
        with monkeypatch.context() as patched:
            _no_file_read(patched)
            moved, files = daemon.evaluate(now)
        assert moved == _fresh(monitor, now)
        assert moved != first
    kept = sorted(Path(key.path).name for key, entry in daemon.known.items() if entry.columns is not None)
    assert kept == ["02.parquet", "03.parquet", "04.parquet", "targets.parquet"]  # 01 left behind: dropped
    _targets(tmp_path, 5)  # the labels of the last hour arrive
    labelled, files = daemon.evaluate(base + 5.25 * hour)
    assert labelled == _fresh(monitor, base + 5.25 * hour)
    assert labelled["labelled_rows"] > moved["labelled_rows"]
    read = [key.path for key in files.new if files.new[key].columns is not None]
    assert [Path(path).name for path in read] == ["targets.parquet"]
