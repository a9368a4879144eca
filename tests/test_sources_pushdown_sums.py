"""Numeric bins as conditional counts (driftmon.sources.pushdown_sums, Spark's way of counting)
against the file path, bin for bin: run here through DuckDB with the dialect's flag turned on,
so every edge case runs without a JVM (tests/test_sources_spark.py runs the same on Spark)."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftmon.histogram import BinningRule, NumericBins
from driftmon.sources import sql as sql_module
from driftmon.sources.file import FileSource, FileSourceConfig
from driftmon.sources.pushdown import DUCKDB, SPARK
from driftmon.sources.sql import SqlSource, SqlSourceConfig

pytest.importorskip("duckdb")


@pytest.fixture
def sums(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """DuckDB counting as Spark does; the queries it ran."""
    queries: list[str] = []
    engine = sql_module._DuckDB
    fetch = engine.fetch
    monkeypatch.setattr(engine, "dialect", dataclasses.replace(DUCKDB, numeric_sums=True))

    def recording(self: object, sql: str, params: dict) -> list:
        queries.append(sql)
        return fetch(self, sql, params)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "fetch", recording)
    return queries


def _both(folder: Path, frame: pd.DataFrame, rules: list[BinningRule], live: pd.DataFrame) -> tuple[dict, dict]:
    frame.to_parquet(folder / "ref.parquet", index=False)
    live.to_parquet(folder / "live.parquet", index=False)
    files = FileSource(FileSourceConfig(type="file", path="ref.parquet"), folder)  # type: ignore[call-arg]
    duck = SqlSource(SqlSourceConfig(type="sql", url="duckdb:///:memory:", query="SELECT * FROM read_parquet('ref.parquet')"), folder)  # type: ignore[call-arg]
    expected, actual = files.profile(rules), duck.profile(rules)
    specs = {name: h.spec for name, h in expected.items()}
    live_files = FileSource(FileSourceConfig(type="file", path="live.parquet"), folder)  # type: ignore[call-arg]
    live_duck = SqlSource(SqlSourceConfig(type="sql", url="duckdb:///:memory:", query="SELECT * FROM read_parquet('live.parquet')"), folder)  # type: ignore[call-arg]
    return {"ref": expected, "live": live_files.count(specs)}, {"ref": actual, "live": live_duck.count(specs)}


def _same(expected: dict, actual: dict) -> None:
    for side in ("ref", "live"):
        assert actual[side].keys() == expected[side].keys()
        for name, histogram in expected[side].items():
            assert actual[side][name].spec == histogram.spec, (side, name)
            np.testing.assert_array_equal(actual[side][name].counts, histogram.counts, err_msg=f"{side} {name}")
            assert actual[side][name].missing == histogram.missing, (side, name)


def test_spark_counts_numeric_bins_by_conditional_counts() -> None:
    """The dialect flag is Spark's only: DuckDB's GROUPING SETS measured faster than extra aggregates."""
    assert SPARK.numeric_sums and not DUCKDB.numeric_sums


def test_numeric_bins_need_no_grouping_sets_and_equal_the_file_path(tmp_path: Path, sums: list[str]) -> None:
    """NaN, NULL, ±inf, a point mass, an all-missing and a one-value column, and a text column beside them."""
    rng = np.random.default_rng(5)
    n = 3_000
    x = rng.normal(size=n)
    x[:40] = np.nan
    x[40:45] = np.inf
    x[45:50] = -np.inf
    zero_inflated = np.where(rng.random(n) < 0.4, 0.0, rng.lognormal(size=n))
    frame = pd.DataFrame(
        {
            "x": x,
            "z": zero_inflated,
            "i": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 4, n)), dtype="Int64"),
            "one": np.full(n, 7.5),
            "gone": np.full(n, np.nan),
            "c": rng.choice(["a", "b", "c"], n),
        }
    )
    live = frame.sample(frac=0.7, random_state=1).assign(x=lambda f: f["x"] * 1.5 + 0.2)
    rules = [BinningRule(name) for name in frame.columns]
    expected, actual = _both(tmp_path, frame, rules, live)
    assert any(h.spec.points for h in expected["ref"].values() if isinstance(h.spec, NumericBins))
    _same(expected, actual)
    counting = [q for q in sums if "COUNT(CASE WHEN" in q]
    assert counting and not any("GROUPING SETS" in q for q in counting)


def test_a_window_without_rows_counts_zero_everywhere(tmp_path: Path, sums: list[str]) -> None:
    frame = pd.DataFrame({"x": np.linspace(0.0, 1.0, 50)})
    expected, actual = _both(tmp_path, frame, [BinningRule("x")], frame.iloc[:0])
    _same(expected, actual)
    assert actual["live"]["x"].total == 0


_VALUES = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, 2.0, float("inf"), float("-inf"), float("nan"), 1e308, -1e308, 5e-324]),
    st.floats(-1e6, 1e6),
)


@given(
    values=st.lists(_VALUES, min_size=1, max_size=80),
    live=st.lists(_VALUES, min_size=0, max_size=80),
    strategy=st.sampled_from(["quantile", "uniform"]),
    bins=st.integers(1, 12),
)
@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_any_values_count_as_the_file_path_counts(
    values: list[float], live: list[float], strategy: str, bins: int, sums: list[str]
) -> None:
    rule = BinningRule("x", kind="numeric", strategy=strategy, bins=bins)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as folder:
        reference = pd.DataFrame({"x": np.array(values, dtype=np.float64)})
        expected, actual = _both(Path(folder), reference, [rule], pd.DataFrame({"x": np.array(live, dtype=np.float64)}))
    _same(expected, actual)
