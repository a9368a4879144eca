"""Row samples: uniform (every row equally likely, checked with a chi-square test), seeded,
independent of batch boundaries, bounded, for numpy and Arrow columns alike."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from driftmon.sources.sample import Reservoir

stats = pytest.importorskip("scipy.stats")


def _fill(reservoir: Reservoir, rows: int, cut: int) -> Reservoir:
    for start in range(0, rows, cut):
        stop = min(rows, start + cut)
        reservoir.add({"row": np.arange(start, stop), "text": pa.array([f"r{i}" for i in range(start, stop)])})
    return reservoir


def test_same_seed_same_sample_whatever_the_batches() -> None:
    """Batches of 7, 100 or all 1,000 rows give the same 50-row sample, in the same order."""
    samples = [_fill(Reservoir(50, seed=3), 1_000, cut).sample() for cut in (7, 100, 1_000)]
    for sample in samples[1:]:
        assert np.array_equal(sample["row"], samples[0]["row"])
        assert sample["text"].to_pylist() == samples[0]["text"].to_pylist()
    assert len(set(samples[0]["row"].tolist())) == 50
    assert samples[0]["text"].to_pylist() == [f"r{i}" for i in samples[0]["row"]]
    other = _fill(Reservoir(50, seed=4), 1_000, 100).sample()
    assert not np.array_equal(other["row"], samples[0]["row"])


def test_every_row_equally_likely() -> None:
    """Over 400 seeds, how often each of 200 rows is kept in a 20-row sample fits the
    uniform expectation (chi-square p > 0.001), early and late rows alike."""
    kept = np.zeros(200)
    for seed in range(400):
        reservoir = _fill(Reservoir(20, seed=seed), 200, 33)
        kept[reservoir.sample()["row"]] += 1
    assert kept.sum() == 400 * 20
    assert stats.chisquare(kept).pvalue > 0.001
    assert abs(kept[:100].sum() - kept[100:].sum()) < 0.1 * kept.sum()


def test_fewer_rows_than_the_size_keeps_them_all() -> None:
    """A sample larger than the data holds every row once; empty batches change nothing."""
    reservoir = Reservoir(100, seed=1)
    reservoir.add({"row": np.arange(0)})
    _fill(reservoir, 30, 8)
    assert sorted(reservoir.sample()["row"].tolist()) == list(range(30))
    assert len(reservoir) == 30 and reservoir.seen == 30


def test_bounded_and_checked() -> None:
    """The reservoir never holds more than its size; ragged batches and size 0 are refused."""
    reservoir = _fill(Reservoir(10, seed=2), 10_000, 999)
    assert len(reservoir) == 10 and len(reservoir.sample()["row"]) == 10
    with pytest.raises(ValueError, match="differ in length"):
        reservoir.add({"row": np.arange(3), "text": pa.array(["a"])})
    with pytest.raises(ValueError, match="at least one row"):
        Reservoir(0)


# ---------------------------------------------------------------------------------------
# samples drawn by the engines of `type: sql` (DuckDB in the engine, SQLite through the reservoir)


def _sql_source(tmp_path, engine: str, **fields):
    """A table t of 20,000 rows (i, x = 2 i, c = 'k' + i % 7, NULL every 1,000th x) in a DuckDB or SQLite file."""
    from pathlib import Path

    from driftmon.sources.sql import SqlSource, SqlSourceConfig

    path = Path(tmp_path) / f"t.{engine}"
    if engine == "duckdb":
        import duckdb

        with duckdb.connect(str(path)) as connection:  # executemany of 20,000 rows takes minutes
            connection.execute(
                "CREATE TABLE t AS SELECT range AS i, CASE WHEN range % 1000 = 0 THEN NULL ELSE 2.0 * range END"
                " AS x, 'k' || CAST(range % 7 AS VARCHAR) AS c FROM range(20000)"
            )
    else:
        import sqlite3

        rows = [(i, None if i % 1_000 == 0 else 2.0 * i, f"k{i % 7}") for i in range(20_000)]
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE t (i INTEGER, x REAL, c TEXT)")
            connection.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    config = SqlSourceConfig(type="sql", url=f"{engine}:///{path}", table="t", **fields)  # type: ignore[arg-type]
    return SqlSource(config, Path(tmp_path))


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
def test_sql_engines_give_seeded_uniform_samples_of_whole_rows(tmp_path, engine: str) -> None:
    """500 of 20,000 rows: exactly 500 distinct whole rows (x = 2 i, NULL as NaN, categorical
    as text), the same for the same seed, others for another, and uniform over 20 seeds
    (chi-square over deciles of i)."""
    source = _sql_source(tmp_path, engine)
    kinds = {"i": "numeric", "x": "numeric", "c": "categorical"}
    first = source.sample(["i", "x", "c"], 500, 1, kinds)
    assert len(first["i"]) == 500 and len(set(first["i"].tolist())) == 500
    assert first["i"].dtype == np.float64 and first["c"].dtype == object
    present = ~np.isnan(first["x"])
    assert np.array_equal(first["x"][present], 2 * first["i"][present])
    assert np.all(first["i"][~present] % 1_000 == 0)
    assert list(first["c"]) == [f"k{int(i) % 7}" for i in first["i"]]
    again = source.sample(["i", "x", "c"], 500, 1, kinds)
    assert np.array_equal(np.sort(again["i"]), np.sort(first["i"]))
    other = source.sample(["i", "x", "c"], 500, 2, kinds)
    assert not np.array_equal(np.sort(other["i"]), np.sort(first["i"]))
    picked = np.concatenate([source.sample(["i"], 500, seed)["i"] for seed in range(20)])
    counts = np.bincount((picked // 2_000).astype(int), minlength=10)
    assert stats.chisquare(counts).pvalue > 1e-3, counts


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
def test_sql_sample_of_fewer_rows_than_asked(tmp_path, engine: str) -> None:
    """More rows asked than there are: all of them, once each."""
    source = _sql_source(tmp_path, engine)
    everything = source.sample(["i"], 50_000, 0)
    assert sorted(everything["i"].tolist()) == list(range(20_000))
