"""JSON Lines through DuckDB's reader (`driftmon/sources/file/jsonl_duckdb.py`, issue 15): the same histograms
as pyarrow.json on every file it takes, pyarrow's reader (and its messages) for the rest, and the
conversions DuckDB makes where pyarrow would refuse a row, as documented."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from driftmon import config
from driftmon.errors import ConfigError, DataError
from driftmon.histogram import BinningRule, Histogram, NumericBins
from driftmon.sources.file import FileSource, FileSourceConfig, jsonl, jsonl_duckdb

pytest.importorskip("duckdb")

NOW = datetime(2026, 3, 1, tzinfo=UTC)
EDGES = NumericBins((0.0, 1.2, 3.0))


def source(folder: Path, reader: str, path: str = "l.jsonl") -> FileSource:
    return FileSource(FileSourceConfig(type="file", path=path, json_reader=reader), folder, NOW)  # type: ignore[arg-type]


@pytest.fixture
def duckdb_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rows DuckDB's reader gave, batch by batch (the real reader, watched)."""
    given: list[int] = []
    real = jsonl_duckdb.batches

    def watched(*args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for batch in real(*args, **kwargs):
            given.append(len(next(iter(batch.values()))))
            yield batch

    monkeypatch.setattr(jsonl_duckdb, "batches", watched)
    return given


def write(path: Path, rows: list[Any]) -> None:
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))


def by_hand(values: list[Any], edges: tuple[float, ...] = EDGES.edges) -> list[float]:
    """docs/statistics.md's rule: under, [e0,e1), [e1,e2], over; nulls and NaN left out."""
    x = np.array([float(v) for v in values if v is not None], dtype=float)
    x = x[~np.isnan(x)]
    return [
        float((x < edges[0]).sum()),
        float(((x >= edges[0]) & (x < edges[1])).sum()),
        float(((x >= edges[1]) & (x <= edges[2])).sum()),
        float((x > edges[2]).sum()),
    ]


def same(a: Histogram, b: Histogram) -> None:
    assert a.spec == b.spec
    assert list(a.counts) == list(b.counts)
    assert (a.missing, a.total) == (b.missing, b.total)


RULES = [
    BinningRule("ints"),
    BinningRule("floats"),
    BinningRule("text", kind="categorical"),
    BinningRule("flag"),
]


def mixed_rows(n: int, seed: int) -> list[dict[str, Any]]:
    """Integers, floats with repeats, text with quotes, escapes and non-ASCII, booleans, nulls,
    keys left out after the first row, and keys no feature uses."""
    rng = np.random.default_rng(seed)
    words = ["web", "shop", 'say "hi"', "back\\slash", "é", "日本", "", "x y", "🙂"]
    rows: list[dict[str, Any]] = []
    for i in range(n):
        row: dict[str, Any] = {
            "ints": int(rng.integers(-50, 50)),
            "floats": float(rng.choice([0.0, 1.2, 3.0, rng.normal(1.5, 2)])),
            "text": str(rng.choice(words)),
            "flag": bool(rng.random() < 0.3),
            "unused": {"nested": [1, 2]},
        }
        if i and rng.random() < 0.05:
            row["floats"] = None
        if i and rng.random() < 0.05:
            del row["ints"]
        if i and rng.random() < 0.05:
            row["text"] = None
        rows.append(row)
    return rows


@pytest.mark.parametrize(("rows", "block"), [(3000, 1 << 20), (5000, 1 << 12), (1, 1 << 20)])
def test_duckdb_and_pyarrow_give_the_same_histograms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duckdb_batches: list[int], rows: int, block: int
) -> None:
    """Profile and count through both readers: identical bins, counts, missing and totals; the
    numbers agree with a count by hand; DuckDB gave every row, in bounded batches."""
    monkeypatch.setattr(jsonl, "BATCH_ROWS", 700)
    monkeypatch.setattr(jsonl, "READ_BLOCK_BYTES", block)
    data = mixed_rows(rows, seed=rows)
    write(tmp_path / "l.jsonl", data)
    fast = source(tmp_path, "auto").profile(RULES)
    assert sum(duckdb_batches) == rows and max(duckdb_batches) <= 700
    slow = source(tmp_path, "pyarrow").profile(RULES)
    for rule in RULES:
        same(fast[rule.name], slow[rule.name])
    specs = {name: histogram.spec for name, histogram in fast.items()} | {"floats": EDGES}
    duckdb_batches.clear()
    counted = source(tmp_path, "auto").count(specs)
    assert sum(duckdb_batches) == rows
    expected = source(tmp_path, "pyarrow").count(specs)
    for name in specs:
        same(counted[name], expected[name])
    assert list(counted["floats"].counts) == by_hand([row.get("floats") for row in data])
    assert counted["ints"].missing == sum("ints" not in row for row in data)


def test_a_fraction_in_an_integer_key_is_not_rounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duckdb_batches: list[int]
) -> None:
    """DuckDB would round 1.5 into an integer column; driftmon reads integers as doubles, so the
    fraction lands in its own bin, as pyarrow-then-pandas counts it."""
    monkeypatch.setattr(jsonl, "BATCH_ROWS", 500)
    values: list[Any] = [i % 3 for i in range(2000)] + [1.5, 2.5, None]
    write(tmp_path / "l.jsonl", [{"n": v} for v in values])
    fast = source(tmp_path, "auto").count({"n": EDGES})["n"]
    assert sum(duckdb_batches) == len(values)
    same(fast, source(tmp_path, "pyarrow").count({"n": EDGES})["n"])
    assert list(fast.counts) == by_hand(values)


def test_text_that_looks_nested_hands_the_rest_of_the_file_to_pyarrow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duckdb_batches: list[int]
) -> None:
    """A string starting with `[` after 2,000 rows: DuckDB stops, pyarrow reads from the first row
    not given; every row is counted once."""
    monkeypatch.setattr(jsonl, "BATCH_ROWS", 500)
    values = [f"v{i % 4}" for i in range(3000)]
    values[2200] = "[not a list]"
    write(tmp_path / "l.jsonl", [{"c": v} for v in values])
    rule = [BinningRule("c", kind="categorical")]
    fast = source(tmp_path, "auto").profile(rule)["c"]
    assert 0 < sum(duckdb_batches) <= 2200
    same(fast, source(tmp_path, "pyarrow").profile(rule)["c"])
    assert fast.total == 3000
    labels = dict(zip(fast.spec.labels(), fast.counts, strict=False))
    assert labels["[not a list]"] == 1 and labels["v0"] == 749  # row 2200 was a v0


@pytest.mark.parametrize(
    ("late", "message"),
    [
        ('{"c": {"k": 1}}', r"'c'.*JSON object"),
        ('{"c": "v1"', r"cannot read .*l\.jsonl as jsonl"),
        ("not json", r"cannot read .*l\.jsonl as jsonl"),
    ],
)
def test_bad_rows_late_in_the_file_get_pyarrows_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late: str, message: str
) -> None:
    """A nested value or malformed JSON after 2,000 good rows: the error names the file, and is
    word for word the one pyarrow's reader gives."""
    monkeypatch.setattr(jsonl, "BATCH_ROWS", 500)
    rows: list[Any] = [{"c": f"v{i % 4}"} for i in range(2000)] + [late] + [{"c": "v0"}] * 10
    write(tmp_path / "l.jsonl", rows)
    rule = [BinningRule("c", kind="categorical")]
    errors = []
    for reader in ("auto", "pyarrow"):
        with pytest.raises(DataError, match=message) as caught:
            source(tmp_path, reader).profile(rule)
        errors.append(str(caught.value))
    assert errors[0] == errors[1]


@pytest.mark.parametrize(
    "first",
    [
        {"n": 1},  # `when` only appears after the first block
        {"when": None, "n": 1},  # all null in the first block
    ],
)
def test_keys_missing_or_untyped_in_the_first_block_are_read_by_pyarrow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duckdb_batches: list[int], first: dict[str, Any]
) -> None:
    monkeypatch.setattr(jsonl, "READ_BLOCK_BYTES", 1 << 10)
    rows = [first] * 300 + [{"when": "morning", "n": 2}] * 20  # 300 rows fill the first block
    write(tmp_path / "l.jsonl", rows)
    rule = [BinningRule("when", kind="categorical"), BinningRule("n")]
    fast = source(tmp_path, "auto").profile(rule)
    assert duckdb_batches == []
    slow = source(tmp_path, "pyarrow").profile(rule)
    for name in ("when", "n"):
        same(fast[name], slow[name])
    assert fast["when"].total == 320 and fast["when"].missing == 300


@pytest.mark.parametrize(
    "late",
    [
        {"n": "2.5", "c": 5},  # numeric text in a numeric key, a number in a text key
        {"n": True, "c": 5.5},
        {"n": False, "c": None},
        {"n": "1e1", "c": "x"},
    ],
)
def test_a_later_row_of_another_type_counts_as_pandas_counts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duckdb_batches: list[int], late: dict[str, Any]
) -> None:
    """pyarrow refuses the row and pandas takes the file; DuckDB converts it: the same counts for
    a feature whose kind is set (and for every live file, counted with the reference's bins)."""
    monkeypatch.setattr(jsonl, "READ_BLOCK_BYTES", 1 << 10)
    write(tmp_path / "l.jsonl", [{"n": 0.5, "c": "a"}] * 200 + [late])
    rule = [BinningRule("c", kind="categorical"), BinningRule("n", kind="numeric")]
    fast = source(tmp_path, "auto").profile(rule)
    assert sum(duckdb_batches) == 201
    slow = source(tmp_path, "pyarrow").profile(rule)
    for name in ("c", "n"):
        same(fast[name], slow[name])
    counted = source(tmp_path, "auto").count({"n": EDGES})["n"]
    assert list(counted.counts) == by_hand([0.5] * 200 + [float(late["n"])])


def test_the_documented_differences(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A JSON boolean in a text key is labelled `true` (pandas: `True`); 1 in a boolean key counts
    as true (pandas: its own value `1`); a numeric key with a later boolean or text is inferred
    numeric (pandas: categorical). The module docstring says so."""
    monkeypatch.setattr(jsonl, "READ_BLOCK_BYTES", 1 << 10)
    write(tmp_path / "l.jsonl", [{"c": "a", "b": True, "n": 0.5}] * 200 + [{"c": True, "b": 1, "n": "2.5"}])
    rule = [BinningRule("c", kind="categorical"), BinningRule("b", kind="categorical"), BinningRule("n")]

    def seen(histogram: Histogram) -> dict[str, float]:
        return {k: float(v) for k, v in zip(histogram.spec.labels(), histogram.counts, strict=True) if v}

    fast = source(tmp_path, "auto").profile(rule)
    slow = source(tmp_path, "pyarrow").profile(rule)
    assert seen(fast["c"]) == {"a": 200, "true": 1} and seen(slow["c"]) == {"a": 200, "True": 1}
    assert seen(fast["b"]) == {"True": 201} and seen(slow["b"]) == {"True": 200, "1": 1}
    assert fast["n"].spec.kind == "numeric" and slow["n"].spec.kind == "categorical"


def test_json_reader_duckdb_without_the_package_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonl_duckdb, "available", lambda: False)
    text = (
        "monitors:\n  - name: m\n"
        "    reference: {type: file, path: r.jsonl, json_reader: duckdb}\n"
        "    live: {type: file, path: l.jsonl}\n    features: [x]\n"
    )
    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"json_reader.*needs the duckdb package.*driftmon-exporter\[duckdb\]"):
        config.load(tmp_path / "c.yaml")


def test_json_reader_pyarrow_never_starts_duckdb(tmp_path: Path, duckdb_batches: list[int]) -> None:
    write(tmp_path / "l.jsonl", [{"n": i} for i in range(100)])
    got = source(tmp_path, "pyarrow").count({"n": EDGES})["n"]
    assert duckdb_batches == [] and got.total == 100


def test_duckdb_never_loads_extensions_from_the_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The connection is opened with extension auto-install and auto-load off."""
    import duckdb

    seen: list[dict[str, Any]] = []
    real = duckdb.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("config", {}))
        return real(*args, **kwargs)

    monkeypatch.setattr(duckdb, "connect", connect)
    write(tmp_path / "l.jsonl", [{"n": i} for i in range(10)])
    assert source(tmp_path, "duckdb").count({"n": EDGES})["n"].total == 10
    assert seen and all(
        s.get("autoinstall_known_extensions") is False and s.get("autoload_known_extensions") is False for s in seen
    )


@pytest.mark.parametrize(
    "stamp",
    ["{day}T{hour:02d}:00:00", "{day} {hour:02d}:00:00", "{day}T{hour:02d}:00:00Z", "{day}T{hour:02d}:30:00+02:00"],
)
def test_a_window_over_iso_times_counts_the_same_through_both_readers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, duckdb_batches: list[int], stamp: str
) -> None:
    """The window's column, typed a time by pyarrow, is read by DuckDB as text and parsed by
    Arrow: the same rows are kept as pyarrow keeps, and a by-hand count of the window agrees."""
    monkeypatch.setattr(jsonl, "BATCH_ROWS", 400)
    rng = np.random.default_rng(3)
    hours = rng.integers(0, 48, 3000)
    values = rng.uniform(-1, 4, 3000).round(3)
    rows = [
        {"ts": stamp.format(day=f"2026-02-{27 + int(h) // 24:02d}", hour=int(h) % 24), "x": float(v)}
        for h, v in zip(hours, values, strict=True)
    ]
    write(tmp_path / "l.jsonl", rows)

    def windowed(reader: str) -> Histogram:
        config = FileSourceConfig(
            type="file",
            path="l.jsonl",
            json_reader=reader,
            window={"column": "ts", "last": "12h"},  # type: ignore[arg-type]
        )
        return FileSource(config, tmp_path, datetime(2026, 2, 28, 12, tzinfo=UTC)).count({"x": EDGES})["x"]

    fast = windowed("auto")
    assert sum(duckdb_batches) == 3000
    same(fast, windowed("pyarrow"))
    # by hand: the UTC hour since 02-27 00:00 of each row, kept in [36 - 12, 36)
    offset = 2 if stamp.endswith("+02:00") else 0
    kept = [v for h, v in zip(hours, values, strict=True) if 24 <= h - offset < 36]
    assert list(fast.counts) == by_hand(kept)
    assert fast.total == len(kept)


def test_times_the_two_parsers_read_differently_go_to_pyarrow(tmp_path: Path, duckdb_batches: list[int]) -> None:
    """Naive and zoned times mixed in one batch: Arrow cannot parse them alike, pyarrow reads them."""
    rows = [{"ts": "2026-02-28T10:00:00", "x": 1.0}] * 50 + [{"ts": "2026-02-28T10:00:00Z", "x": 2.0}] * 50
    write(tmp_path / "l.jsonl", rows)
    config = FileSourceConfig(type="file", path="l.jsonl", window={"column": "ts", "last": "12h"})  # type: ignore[arg-type]
    got = FileSource(config, tmp_path, datetime(2026, 2, 28, 12, tzinfo=UTC)).count({"x": EDGES})["x"]
    assert duckdb_batches == [] and got.total == 100


def test_a_duckdb_that_cannot_be_imported_leaves_the_file_to_pyarrow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed but broken (find_spec finds it, the import fails): the counts still come, from pyarrow."""
    import sys

    monkeypatch.setitem(sys.modules, "duckdb", None)  # `import duckdb` raises ImportError
    monkeypatch.setattr(jsonl_duckdb, "available", lambda: True)  # while its spec is still found
    write(tmp_path / "l.jsonl", [{"n": v} for v in (0.5, 2.0, 7.0, None)])
    got = source(tmp_path, "auto").count({"n": EDGES})["n"]
    assert list(got.counts) == by_hand([0.5, 2.0, 7.0, None]) and got.missing == 1


def test_a_file_name_with_pattern_characters_is_read_by_pyarrow(tmp_path: Path, duckdb_batches: list[int]) -> None:
    """DuckDB reads `d[1].jsonl` as the pattern d1.jsonl: the neighbour's rows, silently. Such a
    name goes to pyarrow, which reads the file itself."""
    write(tmp_path / "d[1].jsonl", [{"n": 0.5}, {"n": 2.0}])
    write(tmp_path / "d1.jsonl", [{"n": 100.5}])
    config = FileSourceConfig(type="file", path="d[[]1].jsonl")  # the glob that names `d[1].jsonl`
    got = FileSource(config, tmp_path, NOW).count({"n": EDGES})["n"]
    assert duckdb_batches == [] and list(got.counts) == by_hand([0.5, 2.0])
