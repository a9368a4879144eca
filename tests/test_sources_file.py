"""The file source: bounded batches, column projection, live windows and path templates."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftmon import config
from driftmon.errors import ConfigError, DataError, SourceError
from driftmon.evaluate import evaluate
from driftmon.histogram import BinningRule, NumericBins, bin_values, merge_all
from driftmon.sources.base import Window
from driftmon.sources.file import FileSource, FileSourceConfig, columns, jsonl, parquet
from driftmon.sources.file import csv as csv_format

NOW = datetime(2026, 3, 1, 0, 20, tzinfo=UTC)  # 20 minutes past midnight: a window of 1 h spans two days
EDGES = NumericBins((-1.0, 0.0, 1.0))


def source(folder: Path, path: str | list[str], now: datetime = NOW, **extra: Any) -> FileSource:
    return FileSource(FileSourceConfig(type="file", path=path, **extra), folder, now)


def rows(n: int, seed: int = 0) -> pd.DataFrame:
    """Numeric x (with NaN), a category, and a timestamp spread over the 2 h before NOW."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    x[rng.random(n) < 0.1] = np.nan
    seconds = rng.uniform(0, 7200, n)
    return pd.DataFrame(
        {
            "x": x,
            "city": rng.choice(["a", "b", "c"], n),
            "other": rng.normal(0, 1, n),
            "ts": pd.Timestamp(NOW).tz_convert(None) - pd.to_timedelta(seconds, unit="s"),
        }
    )


def oracle(frame: pd.DataFrame, last: timedelta | None = None) -> np.ndarray:
    """Counts of x over EDGES by the documented rule, after an optional window filter."""
    if last is not None:
        end = pd.Timestamp(NOW).tz_convert(None)
        frame = frame[(frame["ts"] >= end - last) & (frame["ts"] < end)]
    x = frame["x"].to_numpy()
    x = x[~np.isnan(x)]
    e = EDGES.edges
    return np.array(
        [(x < e[0]).sum(), ((x >= e[0]) & (x < e[1])).sum(), ((x >= e[1]) & (x <= e[2])).sum(), (x > e[2]).sum()],
        dtype=np.float64,
    )


# ---------------------------------------------------------------------------
# bounded memory: batches and projection


def test_parquet_is_read_in_bounded_batches_that_merge_to_the_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No batch exceeds BATCH_ROWS, and the merged counts equal binning the whole column."""
    frame = rows(10_000)
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "live.parquet", row_group_size=3000)
    monkeypatch.setattr(parquet, "BATCH_ROWS", 1000)
    batches = list(source(tmp_path, "live.parquet").batches(["x"]))
    assert len(batches) >= 10 and max(len(b) for b in batches) <= 1000
    assert sum(len(b) for b in batches) == 10_000
    counts = source(tmp_path, "live.parquet").count({"x": EDGES})["x"]
    np.testing.assert_array_equal(counts.counts, oracle(frame))
    assert counts.missing == frame["x"].isna().sum()


def test_many_small_parquet_files_count_as_each_file_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small files counted together (a read per file, a task per group) and a large file among
    them (a task per column) give, in a window, the oracle's counts and the same histograms as
    counting each file alone (the cache's path), text and integer columns included."""
    monkeypatch.setattr(parquet, "SMALL_FILE_ROWS", 300)
    monkeypatch.setattr(parquet, "SMALL_GROUP_ROWS", 700)
    frames = [rows(n, seed=k) for k, n in enumerate([120, 250, 2000, 90, 300, 40, 260])]
    for k, frame in enumerate(frames):
        if k % 3 == 1:  # some files hold the numbers as integers
            frame["x"] = (frame["x"].fillna(0) * 3).round().astype("int64")
        pq.write_table(pa.Table.from_pandas(frame), tmp_path / f"part-{k}.parquet")
    window = {"column": "ts", "last": "1h"}
    city = source(tmp_path, "part-*.parquet").profile([BinningRule("city", max_categories=2)])["city"].spec
    specs = {"x": EDGES, "city": city}
    together = source(tmp_path, "part-*.parquet", window=window).count(specs)
    alone = {name: merge_all(spec, []) for name, spec in specs.items()}
    for k in range(len(frames)):
        path = str(tmp_path / f"part-{k}.parquet")
        counted, _, _ = source(tmp_path, f"part-{k}.parquet", window=window).count_file(path, specs, None)
        alone = {name: alone[name].merge(counted[name]) for name in specs}
    for name in specs:
        assert together[name] == alone[name], name
        assert together[name].unseen_values == alone[name].unseen_values
    both = pd.concat([f.assign(x=f["x"].astype(float)) for f in frames], ignore_index=True)
    np.testing.assert_array_equal(together["x"].counts, oracle(both, timedelta(hours=1)))
    end = pd.Timestamp(NOW).tz_convert(None)
    inside = both[(both["ts"] >= end - timedelta(hours=1)) & (both["ts"] < end)]
    assert together["x"].missing == inside["x"].isna().sum()
    assert together["city"].total == len(inside)


def test_a_reference_of_many_small_files_is_read_a_group_of_columns_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reference of small Parquet files is read once per file and group of columns (here 2
    columns per group: 2 reads per file for 3 features, not 3) and gives the same histograms,
    edges, point bins and categories, as reading a column per file, in a window too."""
    frames = [rows(n, seed=k) for k, n in enumerate([120, 250, 90, 300, 40])]
    for k, frame in enumerate(frames):
        if k % 2:
            frame["other"] = (frame["other"] * 2).round()  # repeated values: point bins
        pq.write_table(pa.Table.from_pandas(frame), tmp_path / f"part-{k}.parquet")
    rules = [BinningRule("x"), BinningRule("other"), BinningRule("city", max_categories=2)]
    reads: list[tuple[str, ...]] = []
    original = pq.ParquetFile.read_row_group

    def read_row_group(self: Any, index: int, columns: Any = None, **options: Any) -> Any:
        reads.append(tuple(columns))
        return original(self, index, columns=columns, **options)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", read_row_group)
    both = pd.concat(frames, ignore_index=True)
    end = pd.Timestamp(NOW).tz_convert(None)
    for window, held in (
        (None, len(both)),
        ({"column": "ts", "last": "1h"}, int((both["ts"] >= end - timedelta(hours=1)).sum())),
    ):
        monkeypatch.setattr(parquet, "REFERENCE_GROUP_VALUES", 2 * held)  # 2 columns of the window's rows
        reads.clear()
        grouped = source(tmp_path, "part-*.parquet", window=window).profile(rules)
        assert sorted(reads) == sorted([("x", "other")] * 5 + [("city",)] * 5)
        monkeypatch.setattr(parquet, "SMALL_FILE_ROWS", 0)  # every file large: a read per column
        reads.clear()
        per_column = source(tmp_path, "part-*.parquet", window=window).profile(rules)
        assert len(reads) == 15
        monkeypatch.setattr(parquet, "SMALL_FILE_ROWS", 131_072)
        for rule in rules:
            assert grouped[rule.name] == per_column[rule.name], rule.name
            assert grouped[rule.name].spec == per_column[rule.name].spec, rule.name
        assert grouped["x"].total == held


def _stream_monitor(tmp_path: Path) -> config.MonitorConfig:
    """A monitor over a reference and a live Parquet file with two numeric and one text feature."""
    for side, seed in (("reference", 1), ("live", 2)):
        pq.write_table(pa.Table.from_pandas(rows(3000, seed)), tmp_path / f"{side}.parquet", row_group_size=1000)
    (tmp_path / "driftmon.yaml").write_text(
        "monitors:\n  - name: m\n    reference: {type: file, path: reference.parquet}\n"
        "    live: {type: file, path: live.parquet}\n    features: [x, other, city]\n"
    )
    return config.load(tmp_path / "driftmon.yaml").monitors[0]


def test_reference_and_live_are_one_stream_of_column_tasks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without caches, each feature's live column is counted right after its reference column is
    profiled (on one thread: profile x, count x, profile other, ...), not after every reference
    column; the result equals profile-then-count's, and small live files keep that order."""
    monitor = _stream_monitor(tmp_path)
    before = evaluate(monitor)  # the live file is small: profile every column, then count
    events: list[tuple[str, str]] = []
    original_profile, original_bin = parquet.Reading.profile_column, parquet.Reading.bin

    def profile_column(self: Any, rule: BinningRule, values: Any) -> Any:
        events.append(("profile", rule.name))
        return original_profile(self, rule, values)

    def bin_column(self: Any, spec: Any, values: Any, name: str) -> Any:
        events.append(("count", name))
        return original_bin(self, spec, values, name)

    monkeypatch.setattr(parquet.Reading, "profile_column", profile_column)
    monkeypatch.setattr(parquet.Reading, "bin", bin_column)
    monkeypatch.setattr(parquet, "TASK_THREADS", 1)
    evaluate(monitor)
    names = ("x", "other", "city")
    assert list(dict.fromkeys(events)) == [("profile", n) for n in names] + [("count", n) for n in names]
    events.clear()
    monkeypatch.setattr(parquet, "SMALL_FILE_ROWS", 100)  # now the live file is large: one stream
    after = evaluate(monitor)
    assert list(dict.fromkeys(events)) == [(k, n) for n in names for k in ("profile", "count")]
    assert [f.to_json() for f in after.features] == [f.to_json() for f in before.features]


def test_small_live_files_open_each_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small live files are counted a file at a time, not as one stream: the stream gives up at
    the first small live file it opens, before any reference file (each file then opened once
    by profile-then-count, not twice); the histograms are the same."""
    for side, seed in (("reference", 1), ("live", 2)):
        (tmp_path / side).mkdir()
        for k in range(3):
            pq.write_table(pa.Table.from_pandas(rows(400, seed * 10 + k)), tmp_path / side / f"part-{k}.parquet")
    (tmp_path / "driftmon.yaml").write_text(
        "monitors:\n  - name: m\n    reference: {type: file, path: 'reference/*.parquet'}\n"
        "    live: {type: file, path: 'live/*.parquet'}\n    features: [x, other, city]\n"
    )
    monitor = config.load(tmp_path / "driftmon.yaml").monitors[0]
    opened: list[str] = []
    original = pq.ParquetFile.__init__

    def init(self: Any, source: Any, *args: Any, **options: Any) -> None:
        opened.append(Path(str(source)).parent.name + "/" + Path(str(source)).name)
        original(self, source, *args, **options)

    before = evaluate(monitor)
    monkeypatch.setattr(pq.ParquetFile, "__init__", init)
    after = evaluate(monitor)
    # each file: its schema (the schema check), then its data; the stream opened only the first live file
    expected = {f"{side}/part-{k}.parquet": 2 for side in ("live", "reference") for k in range(3)}
    assert Counter(opened) == {**expected, "live/part-0.parquet": 3}  # was 3 for every file
    assert [f.to_json() for f in after.features] == [f.to_json() for f in before.features]


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_csv_and_json_lines_are_read_in_chunks_that_merge_to_the_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    """CSV and JSON Lines are chunked too, with the same counts as the whole file."""
    frame = rows(3000, seed=1).drop(columns=["ts"])
    path = tmp_path / f"live.{suffix}"
    if suffix == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
    monkeypatch.setattr(csv_format if suffix == "csv" else jsonl, "BATCH_ROWS", 500)
    batches = list(source(tmp_path, path.name).batches(["x", "city"]))
    assert len(batches) == 6 and all(list(b.columns) == ["x", "city"] for b in batches)
    np.testing.assert_array_equal(source(tmp_path, path.name).count({"x": EDGES})["x"].counts, oracle(frame))


def test_only_the_configured_columns_are_read_from_parquet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parquet reads only the features' columns (and the window's), never the whole table."""
    pq.write_table(pa.Table.from_pandas(rows(100)), tmp_path / "live.parquet")
    asked: list[list[str]] = []
    original = pq.ParquetFile.iter_batches

    def spy(self: pq.ParquetFile, *args: Any, **kwargs: Any) -> Iterator[pa.RecordBatch]:
        asked.append(list(kwargs["columns"]))
        return original(self, *args, **kwargs)

    original_group = pq.ParquetFile.read_row_group

    def spy_group(self: pq.ParquetFile, index: int, *args: Any, **kwargs: Any) -> pa.Table:
        asked.append(list(kwargs["columns"]))
        return original_group(self, index, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    monkeypatch.setattr(pq.ParquetFile, "read_row_group", spy_group)
    list(source(tmp_path, "live.parquet").batches(["x"]))
    out = list(source(tmp_path, "live.parquet", window={"column": "ts", "last": "1h"}).batches(["x"]))
    assert asked == [["x"], ["x", "ts"]]
    assert all(list(batch.columns) == ["x"] for batch in out)
    asked.clear()
    live = source(tmp_path, "live.parquet", window={"column": "ts", "last": "1h"})
    live.count({"x": EDGES, "city": live.profile([BinningRule("city")])["city"].spec})
    # profile: the window column, then the feature; count: the window column, then (a small file) the features
    # in one read
    assert sorted(map(tuple, asked)) == sorted([("ts",), ("city",), ("ts",), ("x", "city")])


def test_parquet_is_binned_in_bounded_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """count() and profile() on Parquet read one column of at most COLUMN_BATCH_ROWS rows at a time."""
    frame = rows(10_000)
    pq.write_table(pa.Table.from_pandas(frame), tmp_path / "live.parquet", row_group_size=4000)
    monkeypatch.setattr(parquet, "COLUMN_BATCH_ROWS", 1500)
    seen: list[tuple[tuple[str, ...], int]] = []
    original = pq.ParquetFile.iter_batches

    def spy(self: pq.ParquetFile, *args: Any, **kwargs: Any) -> Iterator[pa.RecordBatch]:
        for batch in original(self, *args, **kwargs):
            seen.append((tuple(kwargs["columns"]), batch.num_rows))
            yield batch

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    live = source(tmp_path, "live.parquet")
    histogram = live.count({"x": EDGES})["x"]
    np.testing.assert_array_equal(histogram.counts, oracle(frame))
    assert {columns for columns, _ in seen} == {("x",)} and max(n for _, n in seen) <= 1500
    assert sum(n for _, n in seen) == 10_000
    reference = live.profile([BinningRule("x"), BinningRule("city")])
    whole = pd.read_parquet(tmp_path / "live.parquet")
    np.testing.assert_array_equal(
        reference["x"].spec.edges, np.unique(np.quantile(whole["x"].dropna(), np.linspace(0, 1, 11)))
    )
    assert reference["city"].counts[:3].tolist() == whole["city"].value_counts().tolist()  # most frequent first


# ---------------------------------------------------------------------------
# windows


@pytest.mark.parametrize("layout", ["parquet-naive", "parquet-utc", "csv-iso", "jsonl-epoch"])
def test_window_keeps_the_rows_of_the_last_hour(tmp_path: Path, layout: str) -> None:
    """`window: {column: ts, last: 1h}` keeps start <= ts < now whatever the timestamp encoding."""
    frame = rows(5000, seed=2)
    written = frame.copy()
    if layout == "parquet-utc":
        written["ts"] = written["ts"].dt.tz_localize("UTC").dt.tz_convert("Europe/Berlin")
    elif layout == "csv-iso":
        written["ts"] = written["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    elif layout == "jsonl-epoch":
        written["ts"] = (written["ts"] - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1)
    name = {"parquet-naive": "l.parquet", "parquet-utc": "l.parquet", "csv-iso": "l.csv", "jsonl-epoch": "l.jsonl"}[
        layout
    ]
    if name.endswith(".parquet"):
        written.to_parquet(tmp_path / name, index=False)
    elif name.endswith(".csv"):
        written.to_csv(tmp_path / name, index=False)
    else:
        written.to_json(tmp_path / name, orient="records", lines=True, double_precision=15)
    histogram = source(tmp_path, name, window={"column": "ts", "last": "1h"}).count({"x": EDGES})["x"]
    expected = oracle(frame, timedelta(hours=1))
    assert 0 < expected.sum() < oracle(frame).sum()
    np.testing.assert_array_equal(histogram.counts, expected)


def test_window_skips_parquet_row_groups_outside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Row groups whose timestamp statistics lie outside the window are never read."""
    frame = rows(4000, seed=3)
    end = pd.Timestamp(NOW).tz_convert(None)
    frame["ts"] = end - pd.Timedelta(hours=2) + pd.to_timedelta(np.arange(4000) * 1.8, unit="s")  # in order
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "live.parquet", row_group_size=1000)
    read: list[list[int]] = []
    original = pq.ParquetFile.iter_batches

    def spy(self: pq.ParquetFile, *args: Any, **kwargs: Any) -> Iterator[pa.RecordBatch]:
        read.append(list(kwargs["row_groups"]))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy)
    histogram = source(tmp_path, "live.parquet", window={"column": "ts", "last": "30m"}).count({"x": EDGES})["x"]
    assert {g for groups in read for g in groups} == {3}  # in time order: only the last quarter can hold them
    np.testing.assert_array_equal(histogram.counts, oracle(frame, timedelta(minutes=30)))


def test_window_that_selects_no_rows_is_an_error_naming_file_and_window(tmp_path: Path) -> None:
    """An empty window is a DataError with the path and the window's bounds, not a silent zero."""
    rows(100).to_parquet(tmp_path / "live.parquet", index=False)
    later = NOW + timedelta(days=2)
    with pytest.raises(
        DataError,
        match=r"live\.parquet: the window ts in \[2026-03-02T23:20:00Z, 2026-03-03T00:20:00Z\) selected no rows",
    ):
        source(tmp_path, "live.parquet", later, window={"column": "ts", "last": "1h"}).count({"x": EDGES})
    with pytest.raises(DataError, match="selected no rows"):
        source(tmp_path, "live.parquet", later, window={"column": "ts", "last": "1h"}).profile([BinningRule("x")])


def test_window_column_that_is_not_a_time_is_a_data_error(tmp_path: Path) -> None:
    """Window timestamps that cannot be parsed are reported as the window column's fault."""
    pd.DataFrame({"x": [1.0, 2.0], "ts": ["yesterday", "today"]}).to_csv(tmp_path / "l.csv", index=False)
    with pytest.raises(
        DataError, match=r"l\.csv: window column 'ts' holds values that are not timestamps \(e\.g\. 'yesterday'\)"
    ):
        source(tmp_path, "l.csv", window={"column": "ts", "last": "1h"}).count({"x": EDGES})


# ---------------------------------------------------------------------------
# path templates


def test_path_template_opens_only_todays_partition(tmp_path: Path) -> None:
    """`{now:%Y/%m/%d}` is filled with the evaluation time (UTC), so other days are never read."""
    for day, value in (("2026/02/28", 5.0), ("2026/03/01", 0.5)):
        (tmp_path / day).mkdir(parents=True)
        pd.DataFrame({"x": [value] * 10}).to_parquet(tmp_path / day / "part-0.parquet")
    live = source(tmp_path, "{now:%Y/%m/%d}/*.parquet")
    assert live.describe() == str(tmp_path / "2026/03/01/*.parquet")
    np.testing.assert_array_equal(live.count({"x": EDGES})["x"].counts, [0, 0, 10, 0])


def test_start_and_end_templates_cover_a_window_across_midnight(tmp_path: Path) -> None:
    """A list of `{start:...}` and `{end:...}` globs opens both days a window spans, each once."""
    for day in ("2026/02/28", "2026/03/01", "2026/03/02"):
        (tmp_path / day).mkdir(parents=True)
        pd.DataFrame({"x": [0.5] * 10}).to_parquet(tmp_path / day / "p.parquet")
    paths = ["{start:%Y/%m/%d}/*.parquet", "{end:%Y/%m/%d}/*.parquet"]
    spanning = source(tmp_path, paths, window={"column": "x", "last": "1h"})
    assert spanning.paths() == [str(tmp_path / "2026/02/28/p.parquet"), str(tmp_path / "2026/03/01/p.parquet")]
    noon = source(tmp_path, paths, NOW + timedelta(hours=12), window={"column": "x", "last": "1h"})
    assert noon.paths() == [str(tmp_path / "2026/03/01/p.parquet")]


def test_template_whose_partition_is_missing_names_the_filled_path(tmp_path: Path) -> None:
    """No file for today's partition is a SourceError showing the path as filled in."""
    with pytest.raises(SourceError, match=r"no file matches .*2026/03/01/\*\.parquet"):
        source(tmp_path, "{now:%Y/%m/%d}/*.parquet").paths()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("d/{today:%Y}/*.csv", "unknown field 'today' in path template"),
        ("d/{start:%Y}/*.csv", r"\{start\} and \{end\} in a path need a `window:`"),
        ("d/{now:%Y/*.csv", "bad path template"),
    ],
)
def test_bad_path_templates_are_config_errors(tmp_path: Path, path: str, message: str) -> None:
    """Template mistakes are found when the config is validated, with the key's path."""
    text = f"""
monitors:
  - name: m
    reference: {{type: file, path: ref.csv}}
    live: {{type: file, path: "{path}"}}
    features: [x]
"""
    with pytest.raises(ConfigError, match=rf"monitors\[0\]\.live.*{message}"):
        config.loads(text, tmp_path / "c.yaml", {})


def test_literal_braces_in_a_path_are_doubled(tmp_path: Path) -> None:
    """`{{` and `}}` stand for literal braces in a path."""
    (tmp_path / "a{b}").mkdir()
    pd.DataFrame({"x": [0.5]}).to_csv(tmp_path / "a{b}" / "l.csv", index=False)
    assert source(tmp_path, "a{{b}}/l.csv").paths() == [str(tmp_path / "a{b}" / "l.csv")]


# ---------------------------------------------------------------------------
# evaluation time


def test_evaluate_passes_its_clock_to_the_sources(tmp_path: Path, write: Callable[[str, str], Path]) -> None:
    """The window is computed from evaluate()'s clock, so a fixed clock gives fixed live rows."""
    frame = rows(4000, seed=4)
    frame.to_parquet(tmp_path / "live.parquet", index=False)
    rows(2000, seed=5).to_parquet(tmp_path / "ref.parquet", index=False)
    path = write(
        "driftmon.yaml",
        """
        monitors:
          - name: windowed
            min_samples: 1
            reference: {type: file, path: ref.parquet}
            live: {type: file, path: live.parquet, window: {column: ts, last: 30m}}
            features: [{name: x, binning: {edges: [-1, 0, 1]}}]
        """,
    )
    monitor = config.load(path).monitors[0]
    result = evaluate(monitor, clock=lambda: NOW.timestamp())
    assert result.status != "error", result.error
    end = pd.Timestamp(NOW).tz_convert(None)
    in_window = (frame["ts"] >= end - pd.Timedelta(minutes=30)) & (frame["ts"] < end)
    assert 0 < result.features[0].live_count == in_window.sum() < len(frame)


def test_fingerprint_changes_with_the_window(tmp_path: Path) -> None:
    """A windowed reference is re-binned when the window moves (its fingerprint changes)."""
    rows(10).to_parquet(tmp_path / "r.parquet", index=False)
    window = {"column": "ts", "last": "1h"}
    first = source(tmp_path, "r.parquet", window=window).fingerprint()
    assert first == source(tmp_path, "r.parquet", window=window).fingerprint()
    assert first != source(tmp_path, "r.parquet", NOW + timedelta(minutes=5), window=window).fingerprint()


# ---------------------------------------------------------------------------
# ordinary bad data: one line naming the file and the problem, never "internal error"


def bad_files(folder: Path) -> dict[str, str]:
    """Files whose column x is missing or nested, each with the message it must give."""
    pq.write_table(pa.table({"y": [1.0, 2.0]}), folder / "no-x.parquet")
    pq.write_table(pa.table({"x": pa.array([[1, 2], [3]])}), folder / "list.parquet")
    pq.write_table(pa.table({"x": pa.array([{"a": 1}, {"a": 2}])}), folder / "struct.parquet")
    pq.write_table(
        pa.table({"x": pa.array([[("k", 1)]], type=pa.map_(pa.string(), pa.int64()))}), folder / "map.parquet"
    )
    (folder / "objects.jsonl").write_text('{"x": {"a": 1}}\n{"x": {"b": 2}}\n')
    (folder / "mixed.jsonl").write_text('{"x": 1}\n{"x": [1, 2]}\n')
    return {
        "no-x.parquet": r"column 'x' not found in .*no-x\.parquet \(its columns: y\)",
        "list.parquet": r"list\.parquet: column 'x' holds nested values \(list<",
        "struct.parquet": r"struct\.parquet: column 'x' holds nested values \(struct<a: int64>\)",
        "map.parquet": r"map\.parquet: column 'x' holds nested values \(map<",
        "objects.jsonl": r"objects\.jsonl: column 'x' holds nested values \(a JSON object\)",
        "mixed.jsonl": r"mixed\.jsonl: column 'x' holds nested values \(a JSON array\)",
    }


# What the live side's schema check names instead of failing (driftmon.schema).
LIVE_ANOMALIES = {
    "no-x.parquet": "missing_column",
    "list.parquet": "type_changed",
    "struct.parquet": "type_changed",
    "map.parquet": "type_changed",
    "objects.jsonl": "type_changed",
}


@pytest.mark.parametrize("side", ["reference", "live"])
def test_missing_and_nested_columns_are_data_errors_naming_the_file(tmp_path: Path, side: str) -> None:
    """Parquet without the column or with a list/struct/map column, and JSON Lines with objects or
    arrays, fail the evaluation with a message naming the file and the column, on either side;
    on the live side, where the schema check tells them, they are named schema anomalies."""
    pd.DataFrame({"x": np.linspace(0, 1, 50)}).to_csv(tmp_path / "good.csv", index=False)
    for name, message in bad_files(tmp_path).items():
        sides = {"reference": "good.csv", "live": "good.csv", side: name}
        text = (
            "monitors:\n  - name: m\n"
            f"    reference: {{type: file, path: {sides['reference']}}}\n"
            f"    live: {{type: file, path: {sides['live']}}}\n    features: [x]\n"
        )
        (tmp_path / "c.yaml").write_text(text)
        result = evaluate(config.load(tmp_path / "c.yaml").monitors[0])
        if side == "live" and name in LIVE_ANOMALIES:  # the schema check sees it first: the monitor stays up
            assert result.ok and result.schema is not None, (name, result.error)
            assert (result.schema.anomalies[0].anomaly, result.schema.anomalies[0].column) == (
                LIVE_ANOMALIES[name],
                "x",
            )
            continue
        assert result.error is not None and "internal error" not in result.error, (name, result.error)
        assert re.search(message, result.error), (name, result.error)
        assert "\n" not in result.error


def test_names_from_the_file_keep_the_error_on_one_line(tmp_path: Path) -> None:
    """A struct field or a column named with a newline is shown flattened: the error stays one line (fuzz finding)."""
    pq.write_table(pa.table({"x": pa.array([{"a\nb": 1}])}), tmp_path / "s.parquet")
    pq.write_table(pa.table({"y\nz": [1.0]}), tmp_path / "n.parquet")
    for name, message in (("s.parquet", "struct<a b: int64>"), ("n.parquet", "its columns: y z")):
        with pytest.raises(DataError) as caught:
            source(tmp_path, name).count({"x": EDGES})
        assert message in str(caught.value) and "\n" not in str(caught.value)


def test_count_is_the_merge_of_count_file_over_the_files(tmp_path: Path) -> None:
    """count_file is the per-file unit: its histograms over each file (window applied) merge into count()."""
    frames = [rows(3000, seed) for seed in (1, 2, 3)]
    for index, frame in enumerate(frames):
        pq.write_table(pa.Table.from_pandas(frame), tmp_path / f"part{index}.parquet", row_group_size=700)
    live = source(tmp_path, "part*.parquet", window={"column": "ts", "last": "1h"})
    city = live.profile([BinningRule("city")])["city"].spec
    specs = {"x": EDGES, "city": city}
    assert live.config.window is not None
    bounds = columns.window_ns(live.config.window, live.now)
    per_file = [live.count_file(path, specs, bounds)[0] for path in live.paths()]
    whole = live.count(specs)
    for name in specs:
        assert merge_all(specs[name], (part[name] for part in per_file)) == whole[name]
    expected = sum(oracle(frame, timedelta(hours=1)) for frame in frames)
    np.testing.assert_array_equal(whole["x"].counts, expected)
    everything, counted, _ = live.count_file(live.paths()[0], specs, (0, 2**62))  # bounds holding every row
    assert counted == len(frames[0])
    np.testing.assert_array_equal(everything["x"].counts, oracle(frames[0]))


def test_window_filters_arrow_batches_like_pandas_ones() -> None:
    """Arrow columns (CSV, JSON Lines) get the same window rows as pandas ones, and stay Arrow."""
    frame = rows(2000, seed=5)
    bounds = columns.window_ns(Window(column="ts", last="1h"), NOW)
    keep = columns.window_mask(frame["ts"], "ts", bounds, "f.csv")
    table = pa.Table.from_pandas(frame)
    batch = {name: table.column(name) for name in table.column_names}
    by_arrow = columns.select_rows(batch, ["x", "city"], keep)
    assert list(by_arrow) == ["x", "city"] and all(isinstance(v, pa.Array | pa.ChunkedArray) for v in by_arrow.values())
    pd.testing.assert_series_equal(
        columns.as_series(by_arrow["x"]), frame["x"][keep].reset_index(drop=True), check_names=False
    )
    np.testing.assert_array_equal(bin_values(EDGES, by_arrow["x"], "x").counts, oracle(frame, timedelta(hours=1)))


def test_the_window_column_statistics_are_its_own_after_a_struct_column(tmp_path: Path) -> None:
    """Row-group statistics are indexed by Parquet leaf: a struct column before the window's
    column holds two leaves, so its Arrow field index named another column (`created`, ten
    days old), and every row of the window was skipped."""
    recent = [NOW - timedelta(minutes=m) for m in (5, 10, 15)]
    table = pa.table(
        {
            "s": pa.array([{"a": 1, "b": 2}] * 3),
            "created": pa.array([NOW - timedelta(days=10)] * 3, pa.timestamp("us", tz="UTC")),
            "ts": pa.array(recent, pa.timestamp("us", tz="UTC")),
            "x": [0.5, 1.5, 2.5],
        }
    )
    pq.write_table(table, tmp_path / "l.parquet")
    source = FileSource(
        FileSourceConfig(type="file", path="l.parquet", window={"column": "ts", "last": "1h"}),  # type: ignore[arg-type]
        tmp_path,
        NOW,
    )
    got = source.count({"x": NumericBins((0.0, 1.0, 3.0))})["x"]
    assert list(got.counts) == [0, 1, 2, 0]
    low, high = parquet.time_range(str(tmp_path / "l.parquet"), "ts")
    assert (low, high) == (int(pd.Timestamp(recent[-1]).value), int(pd.Timestamp(recent[0]).value))


def test_each_format_is_one_table_entry_named_as_the_schema_names_it() -> None:
    """`format:` accepts exactly the formats of the table, and every suffix leads to one of them."""
    from typing import get_args

    from driftmon.sources.file.formats import FORMATS, SUFFIXES
    from driftmon.sources.file.options import Format

    assert sorted(get_args(Format)) == sorted(FORMATS)
    assert {fmt.name for fmt in SUFFIXES.values()} == set(FORMATS)
    assert SUFFIXES[".pq"] is FORMATS["parquet"] and SUFFIXES[".ndjson"] is FORMATS["jsonl"]


def test_a_wide_file_of_few_rows_is_counted_column_by_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """100 k rows x 40 columns is not a small file: its columns are counted as tasks, not read in
    one call and counted on one thread (workload (d), 100 k rows x 500 features, held 1.5 GB and
    took 3.5x its time so). Its histograms equal the per-column path's."""
    rng = np.random.default_rng(4)
    names = [f"n{i}" for i in range(40)]
    frame = pa.table({name: rng.normal(size=100_000) for name in names})
    pq.write_table(frame, tmp_path / "wide.parquet")
    specs = {name: EDGES for name in names}
    called: list[str] = []
    for helper in ("_count_small", "_count_columns"):
        original = getattr(parquet, helper)
        monkeypatch.setattr(parquet, helper, lambda *a, _f=original, _n=helper, **k: called.append(_n) or _f(*a, **k))
    counted = source(tmp_path, "wide.parquet").count(specs)
    assert called == ["_count_columns"], called
    fuzz_sized = pa.table({name: rng.normal(size=300) for name in names[:10]})  # still small, as before
    pq.write_table(fuzz_sized, tmp_path / "small.parquet")
    called.clear()
    source(tmp_path, "small.parquet").count({name: EDGES for name in names[:10]})
    assert called == ["_count_small"], called
    for name in names:
        np.testing.assert_array_equal(counted[name].counts, oracle(pd.DataFrame({"x": frame[name].to_numpy()})))
