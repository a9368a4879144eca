"""Segments on the daemon's live-file cache: each file's counts per segment are kept while the
file is unchanged, and a cached evaluation equals a fresh one and an independent computation
on each segment's rows.

Evaluations run the daemon's code path in this process, as tests/test_sources_file_cache.py
does (task and outcome through pickle, as over the worker's pipe). The oracles: a from-scratch
:func:`driftmon.evaluate.evaluate` of the same files at the same time, and, per segment, an
unsegmented evaluation of that segment's rows alone (filtered with pandas) in the bins of the
whole reference.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from driftmon.config import load as load_config
from driftmon.evaluate import MonitorResult, evaluate, profile_reference
from driftmon.histogram_file import to_document
from driftmon.sources import open_source
from driftmon.sources.file import segmented
from tests.test_sources_file_cache import Daemon

T0 = datetime(2026, 3, 1, tzinfo=UTC)
COUNTRIES = ["DE", "FR", "US", "IT", "ES"]


def _frame(rows: int, seed: int, hour: int | None = None, shift: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    country = rng.choice([*COUNTRIES, None], rows, p=[0.3, 0.25, 0.2, 0.1, 0.1, 0.05])
    income = rng.lognormal(3.0, 0.6, rows)
    income[country == "FR"] *= shift  # one market moves
    income[rng.random(rows) < 0.03] = np.nan
    plan = rng.choice(["free", "pro", "team", "edu"] + (["trial"] if hour is not None else []), rows)
    frame = pd.DataFrame({"country": country, "income": income, "plan": np.where(rng.random(rows) < 0.02, None, plan)})
    if hour is not None:
        frame["ts"] = T0 + timedelta(hours=hour) + pd.to_timedelta(rng.uniform(0, 3600, rows), unit="s")
    return frame


def _write(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)


MONITOR = """
monitors:
  - name: m
    reference: {{type: file, path: {reference}}}
    live: {{type: file, path: {live}{window}}}
    features: [income, {{name: plan, max_categories: 3}}]
    min_samples: 10
{extra}"""


def _config(folder: Path, live: str, window: str = "", extra: str = "    segments: {by: [country], top: 3}\n") -> Any:
    path = folder / ("m.yaml" if extra else "oracle.yaml")
    text = MONITOR.format(reference="reference.parquet", live=live, window=window, extra=extra)
    path.write_text(text)
    return load_config(path).monitors[0]


def _same(cached: MonitorResult, fresh: MonitorResult) -> None:
    assert cached.error is None and fresh.error is None, (cached.error, fresh.error)
    one, other = cached.to_json(), fresh.to_json()
    for document in (one, other):
        document.pop("duration_s", None)
    assert one == other
    assert cached.segments is not None and cached.segments.to_json() == fresh.segments.to_json()  # type: ignore[union-attr]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The files a segmented count reads, by name (each call reads one file whole)."""
    counted: Counter[str] = Counter()
    original = segmented._count_file

    def spy(source: Any, path: str, *args: Any) -> Any:
        counted[Path(path).name] += 1
        return original(source, path, *args)

    monkeypatch.setattr(segmented, "_count_file", spy)
    return counted


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_unchanged_files_are_not_read_again_and_results_equal_fresh_ones(
    tmp_path: Path, suffix: str, reads: Counter[str]
) -> None:
    _frame(1200, 1).to_parquet(tmp_path / "reference.parquet")
    (tmp_path / "live").mkdir()
    for hour in range(3):
        _write(_frame(400, 10 + hour, hour, shift=1.5), tmp_path / "live" / f"h{hour}.{suffix}")
    monitor = _config(tmp_path, f"'live/*.{suffix}'")
    daemon = Daemon()

    def step(expected_reads: Counter[str]) -> MonitorResult:
        reads.clear()
        cached = daemon.evaluate(monitor, T0)
        assert daemon.last is not None
        assert reads == expected_reads
        assert daemon.last.read == sum(expected_reads.values())
        _same(cached, evaluate(monitor, clock=T0.timestamp))
        return cached

    step(Counter({f"h{hour}.{suffix}": 1 for hour in range(3)}))  # first: every file read
    result = step(Counter())  # nothing changed: nothing read
    assert daemon.last is not None and daemon.last.reused == 3
    assert result.segments is not None and result.segments.segments[0].segment == "FR"  # the moved market first
    _write(_frame(400, 20, 3, shift=1.5), tmp_path / "live" / f"h3.{suffix}")
    step(Counter({f"h3.{suffix}": 1}))  # a new file: only it
    path = tmp_path / "live" / f"h1.{suffix}"
    stat = path.stat()
    _write(_frame(400, 30, 1), path)  # rewritten in place (same name), mtime set back: the key still changes
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    step(Counter({f"h1.{suffix}": 1}))
    (tmp_path / "live" / f"h0.{suffix}").unlink()  # gone: the others are counted from the cache
    step(Counter())


def test_a_moving_window_over_cached_files_equals_fresh_evaluations(tmp_path: Path, reads: Counter[str]) -> None:
    _frame(1200, 1).to_parquet(tmp_path / "reference.parquet")
    (tmp_path / "live").mkdir()
    for hour in range(6):
        _write(_frame(300, 40 + hour, hour, shift=1.3), tmp_path / "live" / f"h{hour}.parquet")
    monitor = _config(tmp_path, "'live/*.parquet'", ", window: {column: ts, last: 2h}")
    daemon = Daemon()
    known: set[str] = set()  # files counted whole (wholly inside a window) so far
    for minutes in (150, 150, 180, 210, 240, 330):  # files enter, straddle an edge, then fall behind
        now = T0 + timedelta(minutes=minutes)
        reads.clear()
        cached = daemon.evaluate(monitor, now)
        _same(cached, evaluate(monitor, clock=now.timestamp))
        start = minutes - 120
        inside = {f"h{hour}.parquet" for hour in range(6) if start <= hour * 60 and (hour + 1) * 60 <= minutes}
        # Read: a file not counted whole before, or one an edge cuts (counts per segment never subtract).
        assert not set(reads) & inside & known, (minutes, reads)
        known |= inside
    assert known == {f"h{hour}.parquet" for hour in range(1, 5)}


def test_each_cached_segment_equals_an_evaluation_of_its_rows_alone(tmp_path: Path) -> None:
    reference = _frame(1500, 2)
    reference.to_parquet(tmp_path / "reference.parquet")
    (tmp_path / "live").mkdir()
    parts = [_frame(500, 50 + hour, hour, shift=1.4) for hour in range(3)]
    for hour, part in enumerate(parts):
        part.to_parquet(tmp_path / "live" / f"h{hour}.parquet")
    monitor = _config(tmp_path, "'live/*.parquet'")
    daemon = Daemon()
    daemon.evaluate(monitor, T0)
    result = daemon.evaluate(monitor, T0)  # every file from the cache
    assert daemon.last is not None and daemon.last.read == 0 and daemon.last.reused == 3
    assert result.segments is not None
    live = pd.concat(parts, ignore_index=True)
    top = ["DE", "FR", "US"]  # by the reference's counts (checked below)
    assert reference["country"].value_counts().index[:3].tolist() == top

    def segment_of(frame: pd.DataFrame) -> pd.Series:
        return (
            frame["country"]
            .where(frame["country"].isin(top), "__other__")
            .where(frame["country"].notna(), "__missing__")
        )

    specs = {name: histogram.spec for name, histogram in profile_reference(monitor).items()}
    got = {item.segment: item.result for item in result.segments.segments}
    assert set(got) == {*top, "__other__", "__missing__"}
    for name, segment_result in got.items():
        folder = tmp_path / f"oracle-{name.strip('_')}"
        folder.mkdir()
        reference[segment_of(reference) == name].to_parquet(folder / "rows.parquet")
        live[segment_of(live) == name].drop(columns="ts").to_parquet(folder / "live.parquet")
        counted = open_source(monitor.reference.model_copy(update={"path": str(folder / "rows.parquet")}), folder)
        (folder / "reference.json").write_text(json.dumps(to_document(counted.count(specs))))
        oracle = load_config(_histogram_config(folder)).monitors[0]
        expected = evaluate(oracle)
        assert expected.error is None, expected.error
        for mine, theirs in zip(segment_result.features, expected.features, strict=True):
            assert mine.feature == theirs.feature
            assert (mine.reference_count, mine.live_count) == (theirs.reference_count, theirs.live_count)
            assert mine.scores == theirs.scores  # exactly
            assert mine.pvalue == theirs.pvalue  # before the correction (it spans segments x features)
            assert mine.quality == theirs.quality
    assert got["FR"].status != "ok"  # the moved market drifted


def _histogram_config(folder: Path) -> Path:
    path = folder / "histogram.yaml"
    path.write_text(
        MONITOR.format(reference="reference.json", live="live.parquet", window="", extra="").replace(
            "{type: file, path: reference.json}", "{type: histogram, path: reference.json}"
        )
    )
    return path
