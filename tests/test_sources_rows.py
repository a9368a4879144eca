"""A model's columns from every source of rows: files, DuckDB (over Parquet and over its own
table), with the window pushed into the query; the model's results equal the file path's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import config
from driftmon.errors import DataError
from driftmon.evaluate import evaluate
from driftmon.sources.rows import read_columns

duckdb = pytest.importorskip("duckdb")
pytest.importorskip("sklearn")

NOW = pd.Timestamp("2026-12-03 12:00", tz="UTC")
MONITOR = """
monitors:
  - name: churn
    min_samples: 50
    reference: {reference}
    live: {live}
    features: [x]
    model:
      task: binary
      prediction: predicted
      score: p
      target: churned
      targets: {targets}
      key: id
      label_window: 2d
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_model_data(tmp_path)


def write_model_data(tmp_path: Path) -> Path:
    """ref.parquet (labelled), live.parquet (ten days of predictions, unlabelled), targets.parquet
    (40 % of them labelled, some twice, two conflicting), and the same as DuckDB tables."""
    rng = np.random.default_rng(4)

    def side(n: int, width: float) -> pd.DataFrame:
        x = rng.normal(0, width, n)
        p = 1 / (1 + np.exp(-2 * x))
        return pd.DataFrame({"x": x, "p": p, "predicted": (p >= 0.5).astype(int), "churned": (rng.random(n) < p) * 1.0})

    side(10_000, 1.0).to_parquet(tmp_path / "ref.parquet")
    live = side(4_000, 0.4)
    live["id"] = np.arange(len(live))
    live["ts"] = (NOW - pd.to_timedelta(rng.uniform(0, 10, len(live)), unit="D")).tz_localize(None)
    labelled = live.sample(frac=0.4, random_state=1)
    recent = labelled[labelled.ts > (NOW - pd.Timedelta(days=6)).tz_localize(None)]  # inside the live window
    targets = pd.concat([labelled, recent.iloc[:3], recent.iloc[3:5].assign(churned=lambda f: 1 - f.churned)])
    targets = targets[["id", "churned", "ts"]].assign(arrived=lambda f: f.ts + pd.Timedelta(hours=6))
    microseconds = {"coerce_timestamps": "us", "allow_truncated_timestamps": True}  # Spark reads no ns
    live.drop(columns="churned").to_parquet(tmp_path / "live.parquet", **microseconds)
    targets.to_parquet(tmp_path / "targets.parquet", **microseconds)
    with duckdb.connect(str(tmp_path / "d.db")) as connection:
        for name in ("ref", "live", "targets"):
            connection.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{tmp_path / name}.parquet')")
    return tmp_path


def model_of(folder: Path, reference: str, live: str, targets: str):  # type: ignore[no-untyped-def]
    """The model part of the monitor with these sources (YAML flow mappings), evaluated at NOW."""
    path = folder / "driftmon.yaml"
    path.write_text(MONITOR.format(reference=reference, live=live, targets=targets))
    monitor = config.load(path).monitors[0]
    result = evaluate(monitor, clock=lambda: NOW.timestamp())
    assert result.error is None, result.error
    return result.model


FILES = (
    "{type: file, path: ref.parquet}",
    "{type: file, path: live.parquet, window: {column: ts, last: 7d}}",
    "{type: file, path: targets.parquet}\n      label_time: arrived",
)


@pytest.mark.parametrize(
    "sources",
    [
        (
            "{type: sql, url: 'duckdb:///:memory:', query: \"SELECT * FROM read_parquet('ref.parquet')\"}",
            "{type: sql, url: 'duckdb:///:memory:', query: \"SELECT * FROM read_parquet('live.parquet')\", "
            "window: {column: ts, last: 7d}}",
            "{type: sql, url: 'duckdb:///:memory:', query: \"SELECT * FROM read_parquet('targets.parquet')\"}\n"
            "      label_time: arrived",
        ),
        (
            "{type: sql, url: 'duckdb:///d.db', table: ref}",
            "{type: sql, url: 'duckdb:///d.db', table: live, window: {column: ts, last: 7d}}",
            "{type: sql, url: 'duckdb:///d.db', table: targets}\n      label_time: arrived",
        ),
        (FILES[0], FILES[1], "{type: sql, url: 'duckdb:///d.db', table: targets}\n      label_time: arrived"),
    ],
    ids=["duckdb-over-parquet", "duckdb-tables", "file-live-sql-targets"],
)
def test_a_model_from_duckdb_equals_the_file_path(folder: Path, sources: tuple[str, str, str]) -> None:
    """Realized, estimated, the label counts and the delay are the file path's, to the last bit
    for the counts and to 1e-12 for the metrics (the rows arrive in another order)."""
    expected = model_of(folder, *FILES)
    found = model_of(folder, *sources)
    assert_same_model(found, expected)


def assert_same_model(found, expected) -> None:  # type: ignore[no-untyped-def]
    """The same label counts, delay and metrics (to 1e-12: rows may come in another order)."""
    assert found.live_rows == expected.live_rows < 4_000  # the window applied
    assert dict(found.label_counts) == dict(expected.label_counts)
    assert found.label_counts["conflicting_labels"] == 2 and found.label_counts["repeated_labels"] == 3
    assert found.label_delay_seconds == pytest.approx(expected.label_delay_seconds)
    for kind in ("realized", "estimated", "reference"):
        mine, theirs = getattr(found, kind), getattr(expected, kind)
        assert mine.values.keys() == theirs.values.keys()
        for metric, value in theirs.values.items():
            assert mine.values[metric] == pytest.approx(value, abs=1e-12), (kind, metric)


def test_sources_without_rows_and_missing_columns_are_named(folder: Path) -> None:
    """A missing column of a SQL source names the column and the source; a histogram file holds
    counts, not rows, and says so; numbers come back as numbers."""
    from driftmon.sources.histogram_file import HistogramSource
    from driftmon.sources.sql import SqlSource

    sql = SqlSource(SqlSource.Config(type="sql", url="duckdb:///d.db", table="live"), folder)
    with pytest.raises(DataError, match="column 'score' not found"):
        read_columns(sql, ["id", "score"])
    columns = read_columns(sql, ["id", "p", "predicted"])
    assert columns["id"].dtype.kind == "i" and columns["p"].dtype.kind == "f" and len(columns["p"]) == 4_000
    histogram = HistogramSource(HistogramSource.Config(type="histogram", path="profile.json"), folder)
    with pytest.raises(DataError, match="holds counts, not rows"):
        read_columns(histogram, ["p"])


def test_labels_in_the_live_database_are_semi_joined_there(folder: Path) -> None:
    """Live and targets on one DuckDB file: only the label rows whose key is in the live window
    leave the engine, with the unmatched and unkeyed counts the full read gives; a key typed
    differently on the two sides is read in full instead (None)."""
    from driftmon.sources.label_rows import matching_labels
    from driftmon.sources.sql import SqlSource

    def sql(table: str, **fields: object) -> SqlSource:
        return SqlSource(SqlSource.Config(type="sql", url="duckdb:///d.db", table=table, **fields), folder, NOW)

    live = sql("live", window={"column": "ts", "last": "7d"})
    found = matching_labels(live, sql("targets"), ["id"], "churned", ["id", "churned"])
    assert found is not None
    targets = pd.read_parquet(folder / "targets.parquet")
    in_window = read_columns(live, ["id"])["id"]
    assert sorted(found.columns["id"]) == sorted(targets.id[targets.id.isin(in_window)])
    assert found.unmatched_labels == targets.id[~targets.id.isin(in_window)].nunique() > 0
    assert found.unkeyed_labels == 0
    with duckdb.connect(str(folder / "d.db")) as connection:
        connection.execute("CREATE TABLE text_targets AS SELECT CAST(id AS VARCHAR) AS id, churned FROM targets")
    assert matching_labels(live, sql("text_targets"), ["id"], "churned", ["id", "churned"]) is None


def test_parquet_columns_from_arrow_equal_the_batch_path(tmp_path: Path) -> None:
    """Parquet files' model columns read straight from Arrow (several files, nulls, text and a
    window) equal what the pandas batches give, and a missing column is named."""
    from driftmon.sources import open_source
    from driftmon.sources.file.source import FileSource

    rng = np.random.default_rng(3)
    now = pd.Timestamp("2024-05-02", tz="UTC")
    for index in range(3):
        rows = 1_000
        frame = pd.DataFrame(
            {
                "ts": now - pd.to_timedelta(rng.integers(0, 48 * 3600, rows), unit="s"),
                "p": rng.random(rows),
                "label": pd.array(rng.integers(0, 2, rows), dtype="Int64"),
                "kind": rng.choice(["a", "b", None], rows),
            }
        )
        frame.loc[::7, "label"] = pd.NA
        frame.to_parquet(tmp_path / f"live-{index}.parquet", index=False)
    (tmp_path / "c.yaml").write_text(
        "monitors:\n  - name: m\n    reference: {type: file, path: 'live-*.parquet'}\n"
        "    live: {type: file, path: 'live-*.parquet', window: {column: ts, last: 1d}}\n    features: [p]\n"
    )
    monitor = config.load(str(tmp_path / "c.yaml")).monitors[0]
    live = open_source(monitor.live, monitor.base_dir, now=now.timestamp())
    assert isinstance(live, FileSource)
    names = ["p", "label", "kind"]
    fast = read_columns(live, names)
    slow: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for batch in live.batches(names):
        for name in names:
            slow[name].append(np.asarray(batch[name].to_numpy()))
    for name in names:
        expected = np.concatenate(slow[name])
        assert len(fast[name]) == len(expected) < 3_000  # the window kept about half
        assert pd.Series(fast[name]).equals(pd.Series(expected).astype(pd.Series(fast[name]).dtype)), name
    with pytest.raises(DataError, match="nothere"):
        read_columns(live, ["p", "nothere"])
