"""``type: spark`` in local mode bins with Spark SQL and gets the pandas path's histograms, bin for bin.

Starts one local Spark driver (a JVM, bound to 127.0.0.1) for the module and stops it, and
its JVM process by pid, at the end.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from driftmon import config
from driftmon.errors import DataError, SourceError
from driftmon.evaluate import evaluate
from driftmon.histogram import BinningRule
from driftmon.sources.spark import SparkSource, SparkSourceConfig
from tests.integration.pushdown_cases import (
    NOW,
    RULES,
    assert_same,
    check_both_sides,
    check_extremes,
    check_segments,
    check_stuck,
    check_times,
    check_unseen,
    check_unseen_segments,
    file_source,
    write_cases,
    write_extremes,
    write_stuck,
    write_times,
    write_unseen,
)
from tests.servers import require_binary, stop_spark

pytestmark = [pytest.mark.integration, pytest.mark.spark]
MASTER = "local[2]"


@pytest.fixture(scope="module")
def spark() -> Iterator[None]:
    """Java and PySpark present; the session the sources start is stopped, JVM included, afterwards."""
    require_binary("java")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # local mode: loopback only
    try:
        import pyspark  # noqa: F401
    except ImportError:
        from tests.servers import servers_required

        if servers_required():
            pytest.fail("pyspark is not installed, and DRIFTMON_REQUIRE_SERVERS=1 requires it", pytrace=False)
        pytest.skip("pyspark is not installed (pip install 'driftmon-exporter[spark]')")
    yield
    stop_spark()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cases(tmp_path_factory.mktemp("spark-data"))


def spark_source(folder: Path, **fields: object) -> SparkSource:
    return SparkSource(SparkSourceConfig(type="spark", master=MASTER, **fields), folder, NOW)  # type: ignore[arg-type]


def test_spark_over_parquet_equals_the_pandas_path(spark: None, data: Path) -> None:
    """Reference bins (quantile order statistics after a distributed sort) and live counts match exactly."""
    check_both_sides(data, spark_source(data, path="ref.parquet"), spark_source(data, path="live.parquet"))


def test_spark_segments_equal_the_file_paths(spark: None, data: Path) -> None:
    """Per-segment reference bins and counts from Spark (the segment in every grouping set) equal the file path's."""
    check_segments(
        data, spark_source(data, path="ref.parquet"), spark_source(data, path="live.parquet"), RULES, ["c", "i"]
    )


def test_spark_extreme_values_get_the_file_paths_bins(spark: None, tmp_path: Path) -> None:
    """±1e308, clusters near ±1.8e308, subnormals, ±inf, all-equal and two-valued columns: Spark derives the file path's bins.

    Spark answers order statistics by rank; the edges come from histogram.ranked_spec, the
    file path's rule (before, a copy without its overflow guard gave inf and NaN edges).
    """
    _, rules = write_extremes(tmp_path)
    check_extremes(tmp_path, rules, spark_source(tmp_path, path="extreme.parquet").profile(rules))


def test_spark_query_with_window_equals_the_file_window(spark: None, data: Path) -> None:
    """A Spark SQL query with a window pushed into it counts the same rows as the file source's window."""
    specs = {name: h.spec for name, h in file_source(data, "ref.parquet").profile(RULES).items()}
    window = {"column": "ts", "last": "30m"}
    expected = file_source(data, "live.parquet", window=window).count(specs)
    assert 0 < expected["x"].total < 2500
    query = f"SELECT * FROM parquet.`{data / 'live.parquet'}`"
    assert_same(expected, spark_source(data, query=query, window=window).count(specs))
    with pytest.raises(DataError, match=r"spark query .*: the window ts in .* selected no rows"):
        SparkSource(
            SparkSourceConfig(type="spark", master=MASTER, query=query, window=window),  # type: ignore[arg-type]
            data,
            NOW + timedelta(days=2),
        ).count(specs)


def test_spark_errors_name_the_source(spark: None, data: Path) -> None:
    """A missing column, table or path, and a failing query, are clear errors naming the Spark source."""
    spec = file_source(data, "ref.parquet").profile([BinningRule("x")])["x"].spec
    with pytest.raises(DataError, match=r"spark parquet .*live\.parquet: column 'nope' not found \(its columns: x, k"):
        spark_source(data, path="live.parquet").count({"nope": spec})
    with pytest.raises(SourceError, match=r"spark table no_such_table: Spark failed: .*no_such_table"):
        spark_source(data, table="no_such_table").count({"x": spec})
    with pytest.raises(SourceError, match=r"spark parquet .*absent\.parquet: Spark failed: .*absent\.parquet"):
        spark_source(data, path="absent.parquet").count({"x": spec})
    with pytest.raises(
        SourceError, match=r"spark query .SELECT raise_error.*Spark failed: \[USER_RAISED_EXCEPTION\] boom"
    ):
        spark_source(data, query="SELECT raise_error('boom') AS x").count({"x": spec})


def test_spark_monitor_evaluates_end_to_end(spark: None, data: Path, tmp_path: Path) -> None:
    """A monitor whose live side is Spark gives the same scores as the same monitor on files."""
    text = f"""
monitors:
  - name: on-files
    reference: {{type: file, path: {data / "ref.parquet"}}}
    live: {{type: file, path: {data / "live.parquet"}}}
    features: [x, c]
  - name: on-spark
    reference: {{type: file, path: {data / "ref.parquet"}}}
    live: {{type: spark, master: "{MASTER}", path: {data / "live.parquet"}}}
    features: [x, c]
"""
    path = tmp_path / "driftmon.yaml"
    path.write_text(text)
    files, sparked = (evaluate(m) for m in config.load(path).monitors)
    assert sparked.status != "error", sparked.error
    assert [f.scores for f in sparked.features] == [f.scores for f in files.features]
    assert [f.live_count for f in sparked.features] == [2500, 2500]


def test_spark_source_needs_exactly_one_of_table_path_query() -> None:
    """The config refuses a spark source with none, or two, of table/path/query."""
    with pytest.raises(ValueError, match="exactly one of `table:`, `path:` or `query:`"):
        SparkSourceConfig(type="spark", table="t", path="p")  # type: ignore[arg-type]


def test_spark_samples_are_seeded_whole_rows(spark: None, tmp_path: Path) -> None:
    """DataFrame.sample(fraction, seed) a little above the size, cut to it: exactly 400 distinct
    whole rows of a Parquet file, the same for the same seed, others for another; all rows
    when fewer than asked."""
    n = 10_000
    frame = pd.DataFrame({"i": np.arange(n), "x": 2.0 * np.arange(n), "c": [f"k{i % 7}" for i in range(n)]})
    frame.to_parquet(tmp_path / "s.parquet")
    source = spark_source(tmp_path, path="s.parquet")
    first = source.sample(["i", "x", "c"], 400, 5, {"c": "categorical"})
    assert len(first["i"]) == 400 and len(set(first["i"].tolist())) == 400
    assert np.array_equal(first["x"], 2 * first["i"])
    assert list(first["c"]) == [f"k{int(i) % 7}" for i in first["i"]]
    again = source.sample(["i", "x", "c"], 400, 5, {"c": "categorical"})
    assert np.array_equal(again["i"], first["i"])
    assert not np.array_equal(np.sort(source.sample(["i"], 400, 6)["i"]), np.sort(first["i"]))
    assert sorted(source.sample(["i"], 20_000, 5)["i"].tolist()) == list(range(n))


def test_spark_moving_reference_equals_the_file_path(spark: None, tmp_path: Path) -> None:
    """A rolling reference over a Spark live source (the window's WHERE moved) counts and scores
    as the same rolling reference over the files does (docs/references.md)."""
    from tests.test_reference import NOW as AT
    from tests.test_reference import load, stream

    stream().to_parquet(tmp_path / "data.parquet", index=False)
    window = "window: {column: ts, last: 1d}"
    on_spark = load(
        tmp_path, "{from: live, window: 3d}", f'{{type: spark, master: "{MASTER}", path: data.parquet, {window}}}'
    )
    on_files = load(tmp_path, "{from: live, window: 3d}")
    sparked, files = (evaluate(m, clock=lambda: AT.timestamp()) for m in (on_spark, on_files))
    assert sparked.error is None, sparked.error
    assert sparked.reference == files.reference and sparked.reference is not None
    assert [f.reference_count for f in sparked.features] == [f.reference_count for f in files.features]
    for a, b in zip(sparked.features, files.features, strict=True):
        assert a.scores == pytest.approx(b.scores, rel=1e-9, abs=1e-12)


def test_a_model_from_spark_equals_the_file_path(spark: None, tmp_path: Path) -> None:
    """A model's live window and late labels read by Spark give the file path's label counts
    and metrics (the window is pushed into Spark's query)."""
    from tests.test_sources_rows import FILES, assert_same_model, model_of, write_model_data

    pytest.importorskip("sklearn")
    folder = write_model_data(tmp_path)
    found = model_of(
        folder,
        FILES[0],
        f"{{type: spark, master: '{MASTER}', path: live.parquet, window: {{column: ts, last: 7d}}}}",
        f"{{type: spark, master: '{MASTER}', path: targets.parquet}}\n      label_time: arrived",
    )
    assert_same_model(found, model_of(folder, *FILES))


def test_spark_names_unseen_values_as_the_file_source(spark: None, tmp_path: Path) -> None:
    """Spark names the 16 most frequent unseen values (ranked over the grouping sets' rows in the
    same query) as the file source and pandas do, per segment too (before: none named)."""
    write_unseen(tmp_path)
    reference, live = (
        spark_source(tmp_path, path="ref_unseen.parquet"),
        spark_source(tmp_path, path="live_unseen.parquet"),
    )
    check_unseen(tmp_path, reference, live)
    check_unseen_segments(tmp_path, reference, live)


def test_spark_times_get_the_file_paths_bins(spark: None, tmp_path: Path) -> None:
    """Spark's timestamp (Parquet's UTC-adjusted), timestamp without time zone and date feature
    columns give the file path's bins and counts bit for bit (before: compared as text)."""
    write_times(tmp_path)
    check_times(
        tmp_path, spark_source(tmp_path, path="times_ref.parquet"), spark_source(tmp_path, path="times_live.parquet")
    )
    ntz = "SELECT CAST(t AS TIMESTAMP_NTZ) AS t, tz, d FROM parquet.`{}`"
    check_times(
        tmp_path,
        spark_source(tmp_path, query=ntz.format(tmp_path / "times_ref.parquet")),
        spark_source(tmp_path, query=ntz.format(tmp_path / "times_live.parquet")),
    )


def test_spark_schema_anomalies_and_freshness_equal_the_file_paths(spark: None, data: Path, tmp_path: Path) -> None:
    """A live Parquet file whose column u is gone, whose k became text and which gained a column,
    read by Spark: missing_column u, type_changed k and new_column extra as on files, from the
    schema alone; x and c still scored with the file path's scores; the freshness is the newest
    window-column time in the window, told by Spark (one MAX), the same instant as on files."""
    live = pd.read_parquet(data / "live.parquet").drop(columns="u")
    live["k"] = live["k"].map(lambda v: None if pd.isna(v) else f"{v:g}")
    live["extra"] = 1
    live.to_parquet(tmp_path / "changed.parquet", index=False, coerce_timestamps="us", allow_truncated_timestamps=True)
    shutil.copy(data / "ref.parquet", tmp_path / "ref.parquet")
    window = "window: {column: ts, last: 2h}"
    sides = {
        "files": ("{type: file, path: ref.parquet}", f"{{type: file, path: changed.parquet, {window}}}"),
        "spark": (
            f"{{type: spark, master: '{MASTER}', path: ref.parquet}}",
            f"{{type: spark, master: '{MASTER}', path: changed.parquet, {window}}}",
        ),
    }
    (tmp_path / "c.yaml").write_text(
        "monitors:\n"
        + "".join(
            f"  - name: {name}\n    reference: {reference}\n    live: {live_side}\n"
            "    features: [x, k, u, c]\n    freshness: {max_age: 75m}\n"
            for name, (reference, live_side) in sides.items()
        )
    )
    at = NOW + timedelta(hours=1)  # the window [NOW - 1h, NOW + 1h): its newest row is the newest of all
    on_files, on_spark = (evaluate(m, clock=at.timestamp) for m in config.load(tmp_path / "c.yaml").monitors)
    assert on_spark.ok and on_files.ok, (on_spark.error, on_files.error)
    found = [(a.anomaly, a.column, a.severity) for a in on_spark.schema.anomalies]
    assert found == [(a.anomaly, a.column, a.severity) for a in on_files.schema.anomalies]
    assert sorted(found) == [
        ("missing_column", "u", "critical"),
        ("new_column", "extra", "ok"),
        ("type_changed", "k", "critical"),
    ]
    assert {f.feature for f in on_spark.features if f.scores} == {"x", "c"}
    for a, b in zip(on_spark.features, on_files.features, strict=True):
        assert (a.feature, a.scores, a.live_count) == (b.feature, b.scores, b.live_count)
    newest = pd.Timestamp(live["ts"].max()).floor("us").timestamp()  # all rows lie in the window
    assert on_spark.feed.newest == pytest.approx(newest, abs=1e-6) and on_files.feed.newest == pytest.approx(
        newest, abs=1e-6
    )
    assert on_spark.feed.age_s == pytest.approx(at.timestamp() - newest, abs=1e-3) and on_spark.feed.age_s > 3600
    assert on_spark.feed.freshness == on_files.feed.freshness == "ok"  # about 1 h old, max_age 75m
    assert on_spark.status == on_files.status == "critical"
    later = NOW + timedelta(minutes=110)  # the window still holds the newest rows, now 110 min old
    stale = [evaluate(m, clock=later.timestamp).feed for m in config.load(tmp_path / "c.yaml").monitors]
    assert [feed.freshness for feed in stale] == ["critical", "critical"]
    assert stale[1].newest == pytest.approx(newest, abs=1e-6)


def test_spark_gives_the_live_extent_of_a_column_in_one_bin(spark: None, tmp_path: Path) -> None:
    """Spark gives the live MIN and MAX of a numeric feature whose values all fell in one bin: a
    column stuck inside a range bin, or at +inf, is `constant` as on files (before: no extent)."""
    write_stuck(tmp_path)
    check_stuck(
        tmp_path, spark_source(tmp_path, path="ref_stuck.parquet"), spark_source(tmp_path, path="live_stuck.parquet")
    )


def test_a_failed_spark_job_names_its_cause(spark: None, data: Path, tmp_path: Path) -> None:
    """A job that fails in an executor (a corrupt Parquet file next to a good one) is a SourceError
    naming Spark's exception and its root cause, not py4j's "An error occurred while calling o57..."."""
    spec = file_source(data, "ref.parquet").profile([BinningRule("x")])["x"].spec
    folder = tmp_path / "lake"
    folder.mkdir()
    shutil.copy(data / "live.parquet", folder / "a.parquet")
    (folder / "b.parquet").write_bytes(b"PAR1" + b"\0" * 64 + b"PAR1")  # a footer that is not Thrift
    with pytest.raises(SourceError) as caught:
        spark_source(tmp_path, path="lake").count({"x": spec})
    text = str(caught.value)
    assert "An error occurred while calling" not in text, text
    assert re.search(r"spark parquet .*lake: Spark failed: .*SparkException", text), text
    assert "b.parquet" in text, text


def test_a_reference_profile_scans_a_few_times_whatever_its_features(
    spark: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Profiling 12 continuous numeric features runs a few Spark jobs, not a few per feature:
    one query gives every feature's distinct and heavy values, one distributed sort of all
    their values gives every order statistic (before: about five jobs per feature). The bins
    are still the file path's."""
    rng = np.random.default_rng(3)
    names = [f"n{i}" for i in range(12)]
    pd.DataFrame({name: rng.normal(i, 1.0, 3000) for i, name in enumerate(names)}).to_parquet(tmp_path / "r.parquet")
    rules = [BinningRule(name) for name in names]

    class Fixed:
        hex = "jobcount0123456789abcdef"

    import driftmon.sources.spark as module

    monkeypatch.setattr(module, "uuid", SimpleNamespace(uuid4=lambda: Fixed))  # the session's job group
    profiled = spark_source(tmp_path, path="r.parquet").profile(rules)
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    assert session is not None
    jobs = session.sparkContext.statusTracker().getJobIdsForGroup("driftmon_jobcount01234567")
    assert 0 < len(jobs) <= 24, f"{len(jobs)} Spark jobs for 12 features"
    assert_same(file_source(tmp_path, "r.parquet").profile(rules), profiled)
