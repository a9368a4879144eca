"""``type: sql`` without a server: DuckDB's read-only hardening and the install hints.

(Results against real engines, PostgreSQL included, are in tests/integration/test_sql_sources.py.)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from driftmon import config
from driftmon.errors import ConfigError, SourceError
from driftmon.histogram import BinningRule, NumericBins
from driftmon.sources.file import FileSource, FileSourceConfig
from driftmon.sources.sql import SqlSource, SqlSourceConfig

duckdb = pytest.importorskip("duckdb")
SPEC = {"x": NumericBins((0.0, 0.5, 1.0))}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """data/x.parquet next to the config file, and a secret file outside the folder."""
    (tmp_path / "conf" / "data").mkdir(parents=True)
    pd.DataFrame({"x": np.linspace(0, 1, 101)}).to_parquet(tmp_path / "conf" / "data" / "x.parquet")
    (tmp_path / "secret.csv").write_text("x\n42\n")
    return tmp_path / "conf"


def source(folder: Path, query: str, **fields: object) -> SqlSource:
    return SqlSource(SqlSourceConfig(type="sql", url="duckdb:///:memory:", query=query, **fields), folder)  # type: ignore[arg-type]


def test_relative_and_absolute_paths_inside_the_config_folder_are_readable(folder: Path) -> None:
    """The hardening keeps the documented use: read_parquet('data/*.parquet') relative to the config file."""
    for path in ("data/x.parquet", "data/*.parquet", str(folder / "data" / "x.parquet")):
        counts = source(folder, f"SELECT * FROM read_parquet('{path}')").count(SPEC)["x"].counts
        assert counts.sum() == 101


@pytest.mark.parametrize(
    "query",
    [
        "SELECT * FROM read_csv('{outside}')",
        "SELECT * FROM read_csv('data/../../secret.csv')",
        "SELECT * FROM read_parquet('s3://bucket/x.parquet')",
        "SELECT * FROM read_parquet('https://example.com/x.parquet')",
    ],
    ids=["absolute-outside", "dot-dot", "s3", "https"],
)
def test_files_outside_the_configured_paths_and_remote_urls_are_refused(folder: Path, query: str) -> None:
    """External access is limited to the config's folder: no other file, no extension download."""
    query = query.format(outside=folder.parent / "secret.csv")
    with pytest.raises(SourceError, match=r"query failed: .*(Permission Error|disabled by configuration)"):
        source(folder, query).count(SPEC)


def test_a_second_statement_is_refused_and_writes_nothing(folder: Path) -> None:
    """`query:` closing the subquery and adding COPY ... TO is refused; no file is written."""
    target = folder / "data" / "stolen.csv"
    query = f"SELECT 0.5 AS x) AS src; COPY (SELECT 1) TO '{target}'; SELECT * FROM (SELECT 0.5 AS x"
    with pytest.raises(ConfigError, match=r"exactly one SELECT statement"):
        config.loads(
            "monitors:\n  - name: m\n    reference: {type: sql, url: 'duckdb:///:memory:', query: \"" + query + "\"}\n"
            "    live: {type: file, path: l.csv}\n    features: [x]\n",
            folder / "c.yaml",
            {},
        )
    with pytest.raises(SourceError, match=r"exactly one SELECT statement"):
        unchecked = SqlSourceConfig.model_construct(
            type="sql", url="duckdb:///:memory:", query=query, table=None, window=None, timeout="5m", settings={},
            allowed_paths=[],
        )
        SqlSource(unchecked, folder).count(SPEC)
    assert not target.exists()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("COPY (SELECT 1) TO 'x.csv'", "exactly one SELECT statement"),
        ("SELECT 1; SELECT 2", "exactly one SELECT statement"),
        ("INSTALL httpfs", "exactly one SELECT statement"),
    ],
)
def test_validate_refuses_queries_that_are_not_one_select(folder: Path, query: str, message: str) -> None:
    """The config check names the key and says a query must be one SELECT."""
    text = (
        "monitors:\n  - name: m\n"
        f"    reference: {{type: sql, url: 'duckdb:///:memory:', query: \"{query}\"}}\n"
        "    live: {type: file, path: l.csv}\n    features: [x]\n"
    )
    with pytest.raises(ConfigError, match=r"monitors\[0\]\.reference\.query .*" + message):
        config.loads(text, folder / "c.yaml", {})


def test_unknown_settings_are_a_config_error_with_a_hint(folder: Path) -> None:
    """`settings: {thread: 1}` names the key and suggests the real setting."""
    text = (
        "monitors:\n  - name: m\n"
        "    reference: {type: sql, url: 'duckdb:///:memory:', query: 'SELECT 1 AS x', settings: {thread: 1}}\n"
        "    live: {type: file, path: l.csv}\n    features: [x]\n"
    )
    with pytest.raises(ConfigError, match=r"reference\.settings .*unknown DuckDB setting 'thread'; did you mean 'threads'"):
        config.loads(text, folder / "c.yaml", {})


def test_a_bad_setting_value_is_a_source_error(folder: Path) -> None:
    """A known setting with a value DuckDB refuses fails the evaluation with the source named."""
    with pytest.raises(SourceError, match=r"sql duckdb:///:memory: .*setting memory_limit"):
        source(folder, "SELECT * FROM read_parquet('data/x.parquet')", settings={"memory_limit": "lots"}).count(SPEC)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("enable_external_access", 0.0),
        ("autoinstall_known_extensions", 0.0),
        ("autoload_known_extensions", 0.0),
        ("lock_configuration", 1.0),
    ],
)
def test_the_session_is_hardened_and_locked(folder: Path, setting: str, expected: float) -> None:
    """The query runs with external access and extension installs off and the configuration locked."""
    query = f"SELECT CASE WHEN current_setting('{setting}') THEN 1.0 ELSE 0.0 END AS x"
    counts = source(folder, query).count({"x": NumericBins((0.0, 0.5, 1.0))})["x"].counts
    # bins: under 0, [0, 0.5), [0.5, 1], over 1
    assert counts.tolist() == ([0, 1, 0, 0] if expected == 0.0 else [0, 0, 1, 0])


def test_explicit_settings_turn_external_access_on(folder: Path) -> None:
    """`settings: {enable_external_access: true}` is the documented way to read anywhere."""
    outside = folder.parent / "secret.csv"
    counts = source(
        folder, f"SELECT * FROM read_csv('{outside}')", settings={"enable_external_access": True}
    ).count({"x": NumericBins((0.0, 100.0))})["x"]
    assert counts.counts.sum() == 1


def test_allowed_paths_extend_what_duckdb_may_read(folder: Path) -> None:
    """`allowed_paths:` adds files or folders (relative to the config file) to what DuckDB may read."""
    outside = folder.parent / "secret.csv"
    counts = source(folder, f"SELECT * FROM read_csv('{outside}')", allowed_paths=["../secret.csv"]).count(
        {"x": NumericBins((0.0, 100.0))}
    )["x"]
    assert counts.counts.sum() == 1


def test_postgresql_without_sqlalchemy_gives_the_install_hint(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With SQLAlchemy not importable, a postgresql:// source says what to install (no ModuleNotFoundError)."""
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # what Python does for a package that is not installed
    config_ = SqlSourceConfig(type="sql", url="postgresql+psycopg://u@127.0.0.1:1/db", table="t")
    with pytest.raises(SourceError, match=r"need SQLAlchemy and a driver \(pip install 'driftmon-exporter\[sql\]'\)"):
        SqlSource(config_, folder).count(SPEC)


def _rewrite_keeping_size_and_mtime(path: Path, frame: pd.DataFrame) -> None:
    before = path.stat()
    replacement = path.with_suffix(".tmp")
    frame.to_parquet(replacement, index=False, compression=None, use_dictionary=False)
    assert replacement.stat().st_size == before.st_size  # same shape, so the same size
    replacement.replace(path)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_a_file_read_by_a_duckdb_query_is_part_of_the_fingerprint(tmp_path: Path) -> None:
    """A reference `read_parquet('ref.parquet')` rewritten (same size and mtime) is binned again.

    Before, the fingerprint held the query text only: the daemon's reference cache kept the old histograms.
    """
    path = tmp_path / "ref.parquet"
    pd.DataFrame({"x": np.arange(1000, dtype="float64")}).to_parquet(
        path, index=False, compression=None, use_dictionary=False
    )
    query = "SELECT x FROM read_parquet('ref.parquet')"
    first = source(tmp_path, query).fingerprint()
    assert source(tmp_path, query).fingerprint() == first  # stable while nothing changes
    _rewrite_keeping_size_and_mtime(path, pd.DataFrame({"x": np.arange(1000, dtype="float64") * 2}))
    assert source(tmp_path, query).fingerprint() != first


def test_a_glob_read_by_a_duckdb_query_sees_a_new_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(tmp_path / "data" / "a.parquet", index=False)
    query = "SELECT x FROM read_parquet('data/*.parquet')"
    first = source(tmp_path, query).fingerprint()
    pd.DataFrame({"x": [3.0]}).to_parquet(tmp_path / "data" / "b.parquet", index=False)
    assert source(tmp_path, query).fingerprint() != first


def test_a_duckdb_database_rewritten_with_the_same_size_and_mtime_is_a_new_fingerprint(tmp_path: Path) -> None:
    database = tmp_path / "warehouse.db"
    with duckdb.connect(str(database)) as connection:
        connection.execute("CREATE TABLE t AS SELECT 1.0 AS x")
    config = SqlSourceConfig(type="sql", url="duckdb:///warehouse.db", table="t")  # type: ignore[call-arg]
    first = SqlSource(config, tmp_path).fingerprint()
    before = database.stat()
    copy = tmp_path / "copy.db"
    copy.write_bytes(database.read_bytes())
    copy.replace(database)  # a new inode, same bytes, size and (set back) mtime
    os.utime(database, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert SqlSource(config, tmp_path).fingerprint() != first


# ---------------------------------------------------------------------------
# one numeric binning rule: DuckDB derives the file path's bins, near ±1.8e308 too (issue 27)


def _file_and_duckdb(folder: Path, frame: pd.DataFrame, rules: list[BinningRule]) -> tuple[dict, dict]:
    frame.to_parquet(folder / "extreme.parquet", index=False)
    expected = FileSource(FileSourceConfig(type="file", path="extreme.parquet"), folder).profile(rules)  # type: ignore[call-arg]
    actual = source(folder, "SELECT * FROM read_parquet('extreme.parquet')").profile(rules)
    return expected, actual


def test_two_clusters_near_the_float_limits_get_the_file_paths_finite_edges(tmp_path: Path) -> None:
    """Quantile edges between clusters near ±1.7e308 (high - low overflows) are the file path's, all finite.

    Before, DuckDB's copy of the rule interpolated without the overflow guard: a top edge of inf.
    """
    rng = np.random.default_rng(27)
    x = np.concatenate([rng.uniform(-1.7e308, -1.6e308, 600), rng.uniform(1.6e308, 1.7e308, 400)])
    expected, actual = _file_and_duckdb(tmp_path, pd.DataFrame({"x": rng.permutation(x)}), [BinningRule("x")])
    edges = expected["x"].spec.edges
    assert len(edges) == 11 and np.isfinite(edges).all()
    assert actual["x"].spec == expected["x"].spec
    np.testing.assert_array_equal(actual["x"].counts, expected["x"].counts)


def test_uniform_bins_over_nearly_the_whole_float_range_are_the_file_paths(tmp_path: Path) -> None:
    """`strategy: uniform` on a column spanning -1.7e308..1.7e308 gets the file path's finite edges through DuckDB.

    Before, np.linspace over the range overflowed to NaN and inf: 'live counts must be finite' (an internal error).
    """
    t = np.linspace(0.0, 1.0, 1001)
    x = -1.7e308 * (1.0 - t) + 1.7e308 * t  # np.linspace itself overflows over this range
    rule = BinningRule("x", strategy="uniform", bins=5)
    expected, actual = _file_and_duckdb(tmp_path, pd.DataFrame({"x": x}), [rule])
    assert np.isfinite(expected["x"].spec.edges).all()
    assert actual["x"].spec == expected["x"].spec
    np.testing.assert_array_equal(actual["x"].counts, expected["x"].counts)


_EXTREME = st.sampled_from(
    [1e308, -1e308, 1.7e308, -1.7e308, 1.7976931348623157e308, -1.7976931348623157e308, 5e-324, -5e-324,
     1e-310, 2.2250738585072014e-308, 0.0, -0.0, 1.0, float("inf"), float("-inf"), float("nan")]
)  # fmt: skip
_FINITE = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True)
_NEAR_LIMITS = st.one_of(st.floats(1.5e308, 1.79e308), st.floats(-1.79e308, -1.5e308))


@given(
    values=st.lists(st.one_of(_EXTREME, _FINITE, _NEAR_LIMITS), min_size=1, max_size=120),
    repeat=st.integers(1, 3),
    strategy=st.sampled_from(["quantile", "uniform"]),
    bins=st.integers(2, 12),
)
@settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
def test_duckdb_and_the_file_path_derive_identical_edges_on_any_values(
    values: list[float], repeat: int, strategy: str, bins: int
) -> None:
    """Any mix of extreme, subnormal, infinite, repeated and ordinary floats: DuckDB's bins equal the file path's.

    (PostgreSQL and Spark run the same generated extremes in tests/integration.)
    """
    rule = BinningRule("x", kind="numeric", strategy=strategy, bins=bins)  # type: ignore[arg-type]
    column = np.repeat(np.array(values, dtype=np.float64), repeat)
    with tempfile.TemporaryDirectory() as folder:
        expected, actual = _file_and_duckdb(Path(folder), pd.DataFrame({"x": column}), [rule])
    assert np.isfinite(expected["x"].spec.edges).all()
    assert actual["x"].spec == expected["x"].spec
    np.testing.assert_array_equal(actual["x"].counts, expected["x"].counts)
    assert actual["x"].missing == expected["x"].missing
