"""The Parquet row sample: the rows chosen up front from the row counts (seeded, uniform), the
same rows whatever the files' row groups, a window's rows only, text as str and None, numbers
as numpy; checked against pandas reading every row and taking the chosen ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftmon.sources.file import FileSource, FileSourceConfig
from driftmon.sources.file.parquet_sample import chosen_rows

stats = pytest.importorskip("scipy.stats")

NOW = datetime(2026, 3, 1, 0, 20, tzinfo=UTC)


def _frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    x[rng.random(rows) < 0.1] = np.nan
    city = rng.choice(np.array(["a", "b", "c"], dtype=object), rows)
    city[rng.random(rows) < 0.1] = None
    seconds = rng.uniform(0, 7200, rows)
    return pd.DataFrame(
        {
            "x": x,
            "n": rng.integers(0, 9, rows),
            "city": city,
            "ts": pd.Timestamp(NOW).tz_convert(None) - pd.to_timedelta(seconds, unit="s"),
        }
    )


def _text(values: np.ndarray) -> list[str | None]:
    """The oracle's text as the sample gives it (pandas may hold a missing value as NaN)."""
    return [None if value is None or value != value else value for value in values.tolist()]


def _source(folder: Path, path: str, **extra) -> FileSource:
    return FileSource(FileSourceConfig(type="file", path=path, **extra), folder, NOW)


def _write(folder: Path, frames: list[pd.DataFrame], group: int) -> None:
    for k, frame in enumerate(frames):
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), folder / f"part-{k}.parquet", row_group_size=group)


def test_the_chosen_rows_of_every_file_in_order(tmp_path: Path) -> None:
    """Three files (row groups of 70 rows): the sample is exactly rows `chosen_rows` of the files
    read whole in order, numbers as float64/int64 (NaN missing), text as str (None missing)."""
    frames = [_frame(n, seed) for seed, n in enumerate([300, 45, 520])]
    _write(tmp_path, frames, 70)
    whole = pd.concat(frames, ignore_index=True)
    sample = _source(tmp_path, "part-*.parquet").sample(["x", "n", "city"], 100, seed=5)
    chosen = chosen_rows(len(whole), 100, 5)
    assert len(chosen) == 100 and len(set(chosen.tolist())) == 100
    np.testing.assert_array_equal(sample["x"], whole["x"].to_numpy()[chosen])
    assert sample["n"].dtype == np.int64
    np.testing.assert_array_equal(sample["n"], whole["n"].to_numpy()[chosen])
    assert sample["city"].dtype == object
    assert sample["city"].tolist() == _text(whole["city"].to_numpy()[chosen])
    assert None in sample["city"].tolist()


def test_the_same_rows_whatever_the_row_groups(tmp_path: Path) -> None:
    """One file written with row groups of 13 or of 1,000 rows: the same sample for one seed,
    another for another seed."""
    frame = _frame(900, 1)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _write(tmp_path / "a", [frame], 13)
    _write(tmp_path / "b", [frame], 1_000)
    first = _source(tmp_path, "a/part-0.parquet").sample(["x", "city"], 50, seed=2)
    second = _source(tmp_path, "b/part-0.parquet").sample(["x", "city"], 50, seed=2)
    np.testing.assert_array_equal(first["x"], second["x"])
    assert first["city"].tolist() == second["city"].tolist()
    other = _source(tmp_path, "b/part-0.parquet").sample(["x", "city"], 50, seed=3)
    assert not np.array_equal(np.nan_to_num(other["x"]), np.nan_to_num(first["x"]))


def test_a_window_samples_its_rows_only(tmp_path: Path) -> None:
    """`window: {column: ts, last: 1h}`: the sample is the chosen rows of the rows inside the
    window (start <= ts < now), in file order."""
    frames = [_frame(400, 7), _frame(300, 8)]
    _write(tmp_path, frames, 64)
    whole = pd.concat(frames, ignore_index=True)
    end = pd.Timestamp(NOW).tz_convert(None)
    inside = whole[(whole["ts"] >= end - timedelta(hours=1)) & (whole["ts"] < end)].reset_index(drop=True)
    sample = _source(tmp_path, "part-*.parquet", window={"column": "ts", "last": "1h"}).sample(["x", "city"], 80, 4)
    chosen = chosen_rows(len(inside), 80, 4)
    np.testing.assert_array_equal(sample["x"], inside["x"].to_numpy()[chosen])
    assert sample["city"].tolist() == _text(inside["city"].to_numpy()[chosen])


def test_fewer_rows_than_the_size_keeps_them_all(tmp_path: Path) -> None:
    """A 30-row file sampled at 100: every row, in order."""
    frame = _frame(30, 3)
    _write(tmp_path, [frame], 7)
    sample = _source(tmp_path, "part-0.parquet").sample(["n"], 100, seed=1)
    np.testing.assert_array_equal(sample["n"], frame["n"].to_numpy())


def test_every_row_equally_likely() -> None:
    """Over 400 seeds, how often each of 200 rows is chosen for a 20-row sample fits the uniform
    expectation (chi-square p > 0.001)."""
    kept = np.zeros(200)
    for seed in range(400):
        kept[chosen_rows(200, 20, seed)] += 1
    assert stats.chisquare(kept).pvalue > 0.001
