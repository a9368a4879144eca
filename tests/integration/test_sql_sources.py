"""``type: sql`` bins where the data lives and gets the pandas path's histograms, bin for bin.

DuckDB runs in-process; PostgreSQL is a real server started here on 127.0.0.1 from the
``initdb``/``postgres`` binaries (as the ``postgres`` or ``nobody`` user when the tests run
as root, since PostgreSQL refuses to run as root), and stopped by its pid.
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
import pwd
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from driftmon import config
from driftmon.errors import DataError, SourceError
from driftmon.evaluate import evaluate
from driftmon.histogram import BinningRule, CategoricalBins, NumericBins
from driftmon.sources import open_source
from driftmon.sources.sql import SqlSource, SqlSourceConfig
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
from tests.servers import free_port, require_binary, running, wait_until

pytestmark = pytest.mark.integration
duckdb = pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ref.parquet and live.parquet, with NaN and NULL in x, NULL in k and c, in one folder."""
    return write_cases(tmp_path_factory.mktemp("sql-data"))


def sql_source(folder: Path, **fields: object) -> SqlSource:
    return SqlSource(SqlSourceConfig(type="sql", **fields), folder, NOW)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# DuckDB


def test_duckdb_over_parquet_equals_the_pandas_path(data: Path) -> None:
    """DuckDB reading the Parquet files itself gives the file source's histograms exactly."""
    check_both_sides(
        data,
        sql_source(data, url="duckdb:///:memory:", query="SELECT * FROM read_parquet('ref.parquet')"),
        sql_source(data, url="duckdb:///:memory:", query="SELECT * FROM read_parquet('live.parquet');"),
    )


def test_duckdb_database_file_tables_equal_the_pandas_path(data: Path, tmp_path: Path) -> None:
    """Tables of a DuckDB file (opened read-only, path relative to the config) give the same histograms."""
    with duckdb.connect(str(tmp_path / "warehouse.db")) as connection:
        connection.execute(f"CREATE TABLE ref AS SELECT * FROM read_parquet('{data / 'ref.parquet'}')")
        connection.execute(
            f"CREATE SCHEMA s; CREATE TABLE s.live AS SELECT * FROM read_parquet('{data / 'live.parquet'}')"
        )
    shutil.copy(data / "ref.parquet", tmp_path / "ref.parquet")
    shutil.copy(data / "live.parquet", tmp_path / "live.parquet")
    check_both_sides(
        tmp_path,
        sql_source(tmp_path, url="duckdb:///warehouse.db", table="ref"),
        sql_source(tmp_path, url="duckdb:///warehouse.db", table="s.live"),
    )


def test_duckdb_window_is_pushed_down_and_equals_the_file_window(data: Path) -> None:
    """window {column, last} keeps the same rows in SQL as in the file source."""
    specs = {name: h.spec for name, h in file_source(data, "ref.parquet").profile(RULES).items()}
    window = {"column": "ts", "last": "30m"}
    expected = file_source(data, "live.parquet", window=window).count(specs)
    live = pd.read_parquet(data / "live.parquet")
    in_window = (live["ts"] >= pd.Timestamp(NOW - timedelta(minutes=30))) & (live["ts"] < pd.Timestamp(NOW))
    assert 0 < expected["x"].total == in_window.sum() < len(live)
    actual = sql_source(
        data, url="duckdb:///:memory:", query="SELECT * FROM read_parquet('live.parquet')", window=window
    ).count(specs)
    assert_same(expected, actual)


def test_duckdb_quantile_edges_equal_numpys_for_many_sizes(tmp_path: Path) -> None:
    """Order statistics by quantile_disc give numpy's interpolated edges to the last bit, for any n and bins."""
    rng = np.random.default_rng(5)
    for case in range(25):
        n = int(rng.integers(2, 5000))
        values = rng.normal(0, 10.0 ** int(rng.integers(-4, 5)), n)
        if case % 3 == 0:
            values = np.round(values, 1)  # ties and duplicate edges
        name = f"q{case}.parquet"
        pd.DataFrame({"x": values}).to_parquet(tmp_path / name, index=False)
        rule = BinningRule("x", bins=int(rng.integers(2, 40)))
        expected = file_source(tmp_path, name).profile([rule])
        actual = sql_source(tmp_path, url="duckdb:///:memory:", query=f"SELECT * FROM read_parquet('{name}')")
        assert_same(expected, actual.profile([rule]))
        if np.unique(values).size > 1:  # a constant column gets [v, nextafter(v)] instead
            oracle = np.unique(np.quantile(values, np.linspace(0, 1, rule.bins + 1)))
            np.testing.assert_array_equal(expected["x"].spec.edges, oracle)


def test_duckdb_extreme_values_get_the_file_paths_bins(tmp_path: Path) -> None:
    """±1e308, ±1.8e308 clusters, subnormals, ±inf, all-equal and two-valued columns: DuckDB derives the file path's bins.

    Before, the pushdown copy of the rule interpolated and spaced edges without the overflow
    guard: edges of inf and NaN on 5 of these 28 columns.
    """
    _, rules = write_extremes(tmp_path)
    source = sql_source(tmp_path, url="duckdb:///:memory:", query="SELECT * FROM read_parquet('extreme.parquet')")
    check_extremes(tmp_path, rules, source.profile(rules))


def test_duckdb_windowed_reference_derives_the_same_bins(data: Path) -> None:
    """A windowed reference gets its quantile edges and top categories from the window's rows only."""
    window = {"column": "ts", "last": "45m"}
    expected = file_source(data, "ref.parquet", window=window).profile(RULES)
    whole = file_source(data, "ref.parquet").profile(RULES)
    assert expected["x"].spec != whole["x"].spec
    query = "SELECT * FROM read_parquet('ref.parquet')"
    assert_same(expected, sql_source(data, url="duckdb:///:memory:", query=query, window=window).profile(RULES))


def test_duckdb_window_with_no_rows_is_an_error_naming_the_source(data: Path) -> None:
    """A window that selects nothing is a DataError naming the source and the window."""
    source = SqlSource(
        SqlSourceConfig(
            type="sql",
            url="duckdb:///:memory:",
            query="SELECT * FROM read_parquet('live.parquet')",
            window={"column": "ts", "last": "1h"},  # type: ignore[arg-type]
        ),
        data,
        NOW + timedelta(days=3),
    )
    with pytest.raises(DataError, match=r"read_parquet.*window ts in \[.*selected no rows"):
        source.count({"x": file_source(data, "ref.parquet").profile([BinningRule("x")])["x"].spec})


def test_duckdb_bad_table_column_and_query_are_source_errors(data: Path) -> None:
    """A missing table, a missing column and a failing query each give a clear error naming the source."""
    spec = file_source(data, "ref.parquet").profile([BinningRule("x")])["x"].spec
    with pytest.raises(SourceError, match=r"sql duckdb:///:memory: table nope: query failed: .*nope"):
        sql_source(data, url="duckdb:///:memory:", table="nope").count({"x": spec})
    query = "SELECT * FROM read_parquet('live.parquet')"
    with pytest.raises(DataError, match=r"column 'missing' not found \(its columns: x, k, u"):
        sql_source(data, url="duckdb:///:memory:", query=query).count({"missing": spec})
    with pytest.raises(SourceError, match=r"query failed: .*no_such_function"):
        sql_source(data, url="duckdb:///:memory:", query="SELECT no_such_function(1) AS x").count({"x": spec})
    with pytest.raises(SourceError, match=r"database file .*absent\.db does not exist"):
        sql_source(data, url="duckdb:///absent.db", table="t").count({"x": spec})


def test_duckdb_query_past_its_timeout_is_stopped(data: Path) -> None:
    """A query running past `timeout` is interrupted and reported, never left hanging."""
    spec = file_source(data, "ref.parquet").profile([BinningRule("x")])["x"].spec
    slow = "SELECT CAST(r.range AS DOUBLE) AS x FROM range(10000000000) AS r"
    source = sql_source(data, url="duckdb:///:memory:", query=slow, timeout="1s")
    started = time.monotonic()
    with pytest.raises(SourceError, match="took longer than 1s and was stopped"):
        source.count({"x": spec})
    assert time.monotonic() - started < 30


def test_duckdb_settings_apply_to_the_session(data: Path) -> None:
    """`settings:` are SET in the DuckDB session (threads, memory_limit, ...)."""
    spec = CategoricalBins(("1",), frozenset())
    query = "SELECT current_setting('threads') AS s"
    histogram = sql_source(data, url="duckdb:///:memory:", query=query, settings={"threads": 1}).count({"s": spec})
    assert histogram["s"].counts.tolist() == [1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="`settings:` apply to duckdb:/// and postgresql URLs only"):
        SqlSourceConfig(type="sql", url="sqlite:///t.db", table="t", settings={"x": 1})  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Any SQLAlchemy database without GROUPING SETS or percentiles: SQLite


def test_sqlite_through_sqlalchemy_equals_the_pandas_path(data: Path, tmp_path: Path) -> None:
    """The generic dialect (one query per feature, order statistics by ROW_NUMBER) gives the same numbers."""
    pytest.importorskip("sqlalchemy")
    rules = [r for r in RULES if r.name not in ("flag",)]  # SQLite has no boolean type
    with contextlib.closing(sqlite3.connect(tmp_path / "t.db")) as connection:
        for name in ("ref", "live"):
            pd.read_parquet(data / f"{name}.parquet").drop(columns=["flag", "ts"]).to_sql(name, connection, index=False)
    reference = file_source(data, "ref.parquet").profile(rules)
    assert_same(reference, sql_source(tmp_path, url="sqlite:///t.db", table="ref").profile(rules))
    specs = {name: h.spec for name, h in reference.items()}
    expected = file_source(data, "live.parquet").count(specs)
    assert_same(expected, sql_source(tmp_path, url="sqlite:///t.db", table="live").count(specs))


# ---------------------------------------------------------------------------
# PostgreSQL: a real server


def _pg_binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    return found or require_binary(name)


PASSWORD = "s3cret-Pa55word"


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server on 127.0.0.1; yields its URL without the password."""
    pytest.importorskip("psycopg")
    pytest.importorskip("sqlalchemy")
    initdb, server = _pg_binary("initdb"), _pg_binary("postgres")
    folder = Path(tempfile.mkdtemp(prefix="driftmon-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: drop to an unprivileged user
        user = next(u for u in ("postgres", "nobody") if _user_exists(u))
        account = pwd.getpwnam(user)
        os.chown(folder, account.pw_uid, account.pw_gid)
        prefix = [require_binary("setpriv"), f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups"]
    pwfile = folder / "pw"
    pwfile.write_text(PASSWORD + "\n")
    os.chmod(pwfile, 0o644)
    data_dir = folder / "data"
    try:
        subprocess.run(
            [*prefix, initdb, "-D", str(data_dir), "-U", "driftmon", f"--pwfile={pwfile}",
             "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        port = free_port()
        command = [*prefix, server, "-D", str(data_dir), "-p", str(port), "-k", str(folder),
                   "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"]  # fmt: skip
        with running(command, log_path=folder / "postgres.log", name="postgres") as process:
            import psycopg

            dsn = f"host=127.0.0.1 port={port} user=driftmon dbname=postgres password={PASSWORD}"
            wait_until(lambda: psycopg.connect(dsn, connect_timeout=2).close() is None, 60, message=process.describe())
            yield f"postgresql+psycopg://driftmon@127.0.0.1:{port}/postgres"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _with_password(url: str) -> str:
    return url.replace("driftmon@", f"driftmon:{PASSWORD}@")


@pytest.fixture(scope="module")
def pg_tables(postgres: str, data: Path) -> str:
    """ref and live tables holding the Parquet rows, with real NaN, NULL and ±Infinity."""
    import psycopg

    dsn = _with_password(postgres).replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, autocommit=True) as connection:
        for name in ("ref", "live"):
            frame = pd.read_parquet(data / f"{name}.parquet")
            connection.execute(
                f"CREATE TABLE {name} (x double precision, k double precision, u double precision, "
                "e double precision, c text, flag boolean, i integer, ts timestamptz, "
                "z double precision, zu double precision, b bigint)"
            )
            # x and e keep NaN as 'NaN' (missing, like pandas' NaN); k stores NaN as NULL.
            rows = frame.astype(object).where(frame.notna() | frame.columns.isin(["x", "e"]), None)
            with connection.cursor().copy(f"COPY {name} ({', '.join(frame.columns)}) FROM STDIN") as copy:
                for row in rows.itertuples(index=False):
                    copy.write_row(list(row))
    return postgres


def test_postgresql_equals_the_pandas_path(data: Path, pg_tables: str) -> None:
    """A real PostgreSQL server returns the file path's histograms (NaN, NULL, ±Infinity, unseen, booleans)."""
    url = _with_password(pg_tables)
    rules = RULES
    expected_reference = file_source(data, "ref.parquet").profile(rules)
    assert_same(expected_reference, sql_source(data, url=url, table="ref").profile(rules))
    specs = {name: h.spec for name, h in expected_reference.items()}
    assert_same(file_source(data, "live.parquet").count(specs), sql_source(data, url=url, table="live").count(specs))
    window = {"column": "ts", "last": "30m"}
    assert_same(
        file_source(data, "live.parquet", window=window).count(specs),
        sql_source(data, url=url, query="SELECT * FROM public.live", window=window).count(specs),
    )


def test_postgresql_secrets_come_from_the_environment_and_stay_out_of_errors(
    pg_tables: str, data: Path, tmp_path: Path
) -> None:
    """${PGPASSWORD} fills the URL; a refused login is a SourceError that never shows the password."""
    url = pg_tables.replace("driftmon@", "driftmon:${PGPASSWORD}@")
    text = f"""
monitors:
  - name: pg
    reference: {{type: file, path: {data / "ref.parquet"}}}
    live: {{type: sql, url: "{url}", table: live}}
    features: [x, c]
"""
    path = tmp_path / "driftmon.yaml"
    path.write_text(text)
    good = config.loads(text, path, {"PGPASSWORD": PASSWORD}).monitors[0]
    result = evaluate(good)
    assert result.status != "error", result.error
    assert [f.live_count for f in result.features] == [2500, 2500]
    wrong = "not-the-" + PASSWORD
    bad = config.loads(text, path, {"PGPASSWORD": wrong}).monitors[0]
    result = evaluate(bad)
    assert result.status == "error"
    assert "cannot connect" in (result.error or "") and "password authentication failed" in (result.error or "")
    assert wrong not in (result.error or "") and PASSWORD not in (result.error or "")
    assert "driftmon:***@127.0.0.1" in (result.error or "")


def test_postgresql_down_is_a_prompt_source_error(data: Path) -> None:
    """A database nobody listens on is a SourceError within seconds, naming the source."""
    pytest.importorskip("psycopg")
    url = f"postgresql+psycopg://driftmon:pw@127.0.0.1:{free_port()}/postgres"
    source = open_source(SqlSourceConfig(type="sql", url=url, table="live"), data)
    started = time.monotonic()
    expected = r"sql postgresql\+psycopg://driftmon:\*\*\*@127.0.0.1:\d+/postgres table live: cannot connect"
    with pytest.raises(SourceError, match=expected):
        source.count({"x": NumericBins((0.0, 1.0))})
    assert time.monotonic() - started < 15


def test_postgresql_settings_apply_to_the_transaction(data: Path, pg_tables: str) -> None:
    """`settings:` become set_config(..., true) in the read-only transaction."""
    spec = CategoricalBins(("64MB",), frozenset())
    source = sql_source(
        data,
        url=_with_password(pg_tables),
        query="SELECT current_setting('work_mem') AS s",
        settings={"work_mem": "64MB"},
    )
    assert source.count({"s": spec})["s"].counts.tolist() == [1.0, 0.0, 0.0]


def test_postgresql_missing_table_and_column_are_clear_errors(data: Path, pg_tables: str) -> None:
    """An unknown table names it; an unknown column lists the columns there are."""
    url = _with_password(pg_tables)
    spec = file_source(data, "ref.parquet").profile([BinningRule("x")])["x"].spec
    with pytest.raises(SourceError, match=r"table nope: query failed: .*relation \"nope\" does not exist"):
        sql_source(data, url=url, table="nope").count({"x": spec})
    with pytest.raises(
        DataError,
        match=r"column 'zz' not found; did you mean 'z'\? \(its columns: x, k, u, e, c, flag, i, ts, z, zu, b\)",
    ):
        sql_source(data, url=url, table="live").count({"zz": spec})


def test_postgresql_extreme_values_get_the_file_paths_bins(postgres: str, tmp_path: Path) -> None:
    """The extreme-value columns in a real PostgreSQL table (NaN, ±Infinity, subnormals) give the file path's bins.

    Before, percentile_cont interpolated in the server (a second copy of the rule) and the
    uniform edges had no overflow guard.
    """
    import psycopg

    frame, rules = write_extremes(tmp_path)
    dsn = _with_password(postgres).replace("postgresql+psycopg", "postgresql")
    columns = ", ".join(f"{name} double precision" for name in frame.columns)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS extreme")
        connection.execute(f"CREATE TABLE extreme ({columns})")
        with connection.cursor().copy(f"COPY extreme ({', '.join(frame.columns)}) FROM STDIN") as copy:
            for row in frame.itertuples(index=False):
                copy.write_row([float(value) for value in row])
    check_extremes(tmp_path, rules, sql_source(tmp_path, url=_with_password(postgres), table="extreme").profile(rules))


# ---------------------------------------------------------------------------
# segments (driftmon.segments): GROUP BY the segment in the same counting query


def test_duckdb_segments_equal_the_file_paths(data: Path) -> None:
    """Per-segment counts from DuckDB (one GROUP BY with the segment in every grouping set) equal the file path's."""
    rules = [r for r in RULES if r.name != "flag"]
    for by in (["c"], ["c", "i"]):
        check_segments(
            data,
            sql_source(data, url="duckdb:///:memory:", query="SELECT * FROM read_parquet('ref.parquet')"),
            sql_source(data, url="duckdb:///:memory:", query="SELECT * FROM read_parquet('live.parquet')"),
            rules,
            by,
        )


def test_sqlite_segments_equal_the_file_paths(data: Path, tmp_path: Path) -> None:
    """The generic dialect (one GROUP BY per feature, the segment in each) gives the same counts."""
    pytest.importorskip("sqlalchemy")
    rules = [r for r in RULES if r.name not in ("flag",)]
    with contextlib.closing(sqlite3.connect(tmp_path / "t.db")) as connection:
        for name in ("ref", "live"):
            pd.read_parquet(data / f"{name}.parquet").drop(columns=["flag", "ts"]).to_sql(name, connection, index=False)
    reference = sql_source(tmp_path, url="sqlite:///t.db", table="ref")
    check_segments(data, reference, sql_source(tmp_path, url="sqlite:///t.db", table="live"), rules, ["c", "i"])


def test_postgresql_segments_equal_the_file_paths(data: Path, pg_tables: str) -> None:
    """A real PostgreSQL server counts per segment as the file path does (NaN, NULL, ±Infinity, booleans)."""
    url = _with_password(pg_tables)
    reference, live = sql_source(data, url=url, table="ref"), sql_source(data, url=url, table="live")
    check_segments(data, reference, live, RULES, ["c", "flag"])


def test_sql_segment_column_missing_or_null_is_named(data: Path, tmp_path: Path) -> None:
    rules = [BinningRule("x")]
    source = sql_source(data, url="duckdb:///:memory:", query="SELECT * FROM read_parquet('ref.parquet')")
    with pytest.raises(DataError, match=r"column 'contry' not found"):
        source.profile_segments(rules, ["contry"], 3)
    nulls = sql_source(data, url="duckdb:///:memory:", query="SELECT x, CAST(NULL AS VARCHAR) AS s FROM range(5) t(x)")
    with pytest.raises(DataError, match=r"segment column 's': the reference is null in every one of its 5 rows"):
        nulls.profile_segments(rules, ["s"], 3)


# ---------------------------------------------------------------------------
# row samples for joint drift: TABLESAMPLE BERNOULLI on a table, the reservoir on a query


@pytest.fixture(scope="module")
def pg_sample_table(postgres: str) -> str:
    """A table s of 20,000 rows (i, x = 2 i with NULL every 1,000th, c = 'k' || i % 7)."""
    import psycopg

    dsn = _with_password(postgres).replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE s AS SELECT i, CASE WHEN i % 1000 = 0 THEN NULL ELSE 2.0 * i END::double precision AS x, "
            "'k' || (i % 7) AS c FROM generate_series(0, 19999) AS i"
        )
    return _with_password(postgres)


@pytest.mark.parametrize("where", ["table", "query"])
def test_postgresql_samples_are_seeded_uniform_whole_rows(tmp_path: Path, pg_sample_table: str, where: str) -> None:
    """A table (TABLESAMPLE BERNOULLI ... REPEATABLE, cut to size) and a query (streamed through
    the reservoir): exactly 500 distinct whole rows, the same for the same seed, others for
    another, uniform over 10 seeds (chi-square over deciles of i)."""
    from scipy import stats

    fields = {"table": "s"} if where == "table" else {"query": "SELECT i, x, c FROM s WHERE i >= 0"}
    source = sql_source(tmp_path, url=pg_sample_table, **fields)
    kinds = {"i": "numeric", "x": "numeric", "c": "categorical"}
    first = source.sample(["i", "x", "c"], 500, 1, kinds)
    assert len(first["i"]) == 500 and len(set(first["i"].tolist())) == 500
    present = ~np.isnan(first["x"])
    assert np.array_equal(first["x"][present], 2 * first["i"][present])
    assert list(first["c"]) == [f"k{int(i) % 7}" for i in first["i"]]
    assert np.array_equal(np.sort(source.sample(["i", "x", "c"], 500, 1, kinds)["i"]), np.sort(first["i"]))
    assert not np.array_equal(np.sort(source.sample(["i"], 500, 2)["i"]), np.sort(first["i"]))
    picked = np.concatenate([source.sample(["i"], 500, seed)["i"] for seed in range(10)])
    counts = np.bincount((picked // 2_000).astype(int), minlength=10)
    assert stats.chisquare(counts).pvalue > 1e-3, counts


def test_joint_drift_over_duckdb_and_postgresql(tmp_path: Path, postgres: str) -> None:
    """A flipped correlation in PostgreSQL live rows against a DuckDB reference over Parquet:
    both methods critical, a and b named, every marginal ok."""
    import psycopg

    rng = np.random.default_rng(3)
    a = rng.normal(size=20_000)
    pd.DataFrame({"a": a, "b": 0.8 * a + 0.6 * rng.normal(size=20_000)}).to_parquet(tmp_path / "ref.parquet")
    a = rng.normal(size=5_000)
    live = pd.DataFrame({"a": a, "b": -0.8 * a + 0.6 * rng.normal(size=5_000)})
    dsn = _with_password(postgres).replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute("CREATE TABLE joint_live (a double precision, b double precision)")
        with connection.cursor().copy("COPY joint_live (a, b) FROM STDIN") as copy:
            for row in live.itertuples(index=False):
                copy.write_row(list(row))
    (tmp_path / "c.yaml").write_text(
        "monitors:\n  - name: pairs\n"
        "    reference: {type: sql, url: 'duckdb:///:memory:', query: \"SELECT * FROM read_parquet('ref.parquet')\"}\n"
        f"    live: {{type: sql, url: '{_with_password(postgres)}', table: joint_live}}\n"
        "    features: [a, b]\n    multivariate: {methods: [reconstruction, classifier]}\n"
    )
    result = evaluate(config.load(tmp_path / "c.yaml").monitors[0])
    assert result.error is None, result.error
    assert all(f.worst == "ok" for f in result.features)
    for method, item in result.multivariate.methods.items():
        assert item.severity == "critical", method
        assert item.drift.reference_rows == 5_000 and item.drift.live_rows == 5_000
        assert set(list(item.drift.contributions)[:2]) == {"a", "b"}


def test_a_model_from_postgresql_equals_the_file_path(postgres: str, tmp_path: Path) -> None:
    """A model's reference, live window and late labels read from PostgreSQL tables give the file
    path's label counts and metrics (the window is pushed into the query)."""
    import psycopg

    from tests.test_sources_rows import FILES, assert_same_model, model_of, write_model_data

    pytest.importorskip("sklearn")
    folder = write_model_data(tmp_path)
    dsn = _with_password(postgres).replace("postgresql+psycopg", "postgresql")
    types = {"f": "double precision", "i": "bigint", "M": "timestamp"}
    with psycopg.connect(dsn, autocommit=True) as connection:
        for name in ("ref", "live", "targets"):
            frame = pd.read_parquet(folder / f"{name}.parquet")
            columns = ", ".join(f"{c} {types[frame[c].dtype.kind]}" for c in frame.columns)
            connection.execute(f"DROP TABLE IF EXISTS model_{name}")
            connection.execute(f"CREATE TABLE model_{name} ({columns})")
            with connection.cursor().copy(f"COPY model_{name} ({', '.join(frame.columns)}) FROM STDIN") as copy:
                for row in frame.astype(object).itertuples(index=False):
                    copy.write_row(list(row))
    url = _with_password(postgres)
    found = model_of(
        folder,
        f"{{type: sql, url: '{url}', table: model_ref}}",
        f"{{type: sql, url: '{url}', table: model_live, window: {{column: ts, last: 7d}}}}",
        f"{{type: sql, url: '{url}', table: model_targets}}\n      label_time: arrived",
    )
    assert_same_model(found, model_of(folder, *FILES))


# ---------------------------------------------------------------------------
# the names of unseen values, kept by the counting query (driftmon.sources.pushdown_unseen)


@pytest.fixture(scope="module")
def unseen(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_unseen(tmp_path_factory.mktemp("unseen-data"))


def _duckdb_unseen(folder: Path, name: str) -> SqlSource:
    return sql_source(folder, url="duckdb:///:memory:", query=f"SELECT * FROM read_parquet('{name}_unseen.parquet')")


def test_duckdb_names_unseen_values_as_the_file_source(unseen: Path) -> None:
    """DuckDB names the 16 most frequent unseen values of text, integer and float categories,
    with their counts, as the file source and pandas do (before: none named), per segment too;
    and a monitor's JSON and check table show the same names as on files."""
    from driftmon.table import write

    check_unseen(unseen, _duckdb_unseen(unseen, "ref"), _duckdb_unseen(unseen, "live"))
    check_unseen_segments(unseen, _duckdb_unseen(unseen, "ref"), _duckdb_unseen(unseen, "live"))
    reference = f"{{type: file, path: {unseen / 'ref_unseen.parquet'}}}"
    text = "monitors:\n" + "".join(
        f"  - name: {name}\n    reference: {reference}\n    live: {live}\n"
        "    features: [{name: c, max_categories: 3}, {name: i, kind: categorical}]\n"
        for name, live in (
            ("files", f"{{type: file, path: {unseen / 'live_unseen.parquet'}}}"),
            ("duck", "{type: sql, url: 'duckdb:///:memory:', query: \"SELECT * FROM read_parquet('live_unseen.parquet')\"}"),
        )
    )  # fmt: skip
    (unseen / "m.yaml").write_text(text)
    on_files, on_duckdb = (evaluate(m) for m in config.load(unseen / "m.yaml").monitors)
    assert on_duckdb.error is None, on_duckdb.error
    assert [f.to_json() for f in on_duckdb.features] == [f.to_json() for f in on_files.features]
    bins = {b["bin"]: b for b in on_duckdb.features[0].to_json()["bins"]}
    assert [v["value"] for v in bins["__unseen__"]["values"]] == ["zeta", "Zeta", "ñu", "o'brien", "日本"]
    tables = []
    for result in (on_files, on_duckdb):
        out = io.StringIO()
        write([result], out)
        tables.append(out.getvalue().replace(result.monitor, "M"))
    assert re.search(r'__unseen__ [\d.]+% → [\d.]+%: "zeta" [\d.]+%, "Zeta" ', tables[1]), tables[1]
    assert tables[1] == tables[0]


def test_sqlite_names_unseen_values_as_the_file_source(unseen: Path, tmp_path: Path) -> None:
    """The generic dialect (one GROUP BY per feature, ROW_NUMBER over it) names the same unseen values."""
    pytest.importorskip("sqlalchemy")
    with contextlib.closing(sqlite3.connect(tmp_path / "u.db")) as connection:
        for name in ("ref", "live"):
            pd.read_parquet(unseen / f"{name}_unseen.parquet").to_sql(name, connection, index=False)
    for name in ("ref", "live"):
        shutil.copy(unseen / f"{name}_unseen.parquet", tmp_path)
    reference = sql_source(tmp_path, url="sqlite:///u.db", table="ref")
    live = sql_source(tmp_path, url="sqlite:///u.db", table="live")
    check_unseen(tmp_path, reference, live)
    check_unseen_segments(tmp_path, reference, live)


def _pg_table(postgres: str, table: str, columns: str, frame: pd.DataFrame) -> None:
    """``table`` (re)created with ``columns`` and ``frame``'s rows (nulls as NULL, times as datetimes)."""
    import psycopg

    dsn = _with_password(postgres).replace("postgresql+psycopg", "postgresql")
    rows = frame.astype(object).where(frame.notna(), None)
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f"DROP TABLE IF EXISTS {table}")
        connection.execute(f"CREATE TABLE {table} ({columns})")
        with connection.cursor().copy(f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN") as copy:
            for row in rows.itertuples(index=False):
                copy.write_row([v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in row])


def test_postgresql_names_unseen_values_as_the_file_source(unseen: Path, postgres: str) -> None:
    """A real PostgreSQL server (values ordered COLLATE "C", as Python sorts) names the same unseen values."""
    for name in ("ref", "live"):
        frame = pd.read_parquet(unseen / f"{name}_unseen.parquet")
        _pg_table(postgres, f"unseen_{name}", "c text, i bigint, f double precision, s text", frame)
    url = _with_password(postgres)
    reference, live = sql_source(unseen, url=url, table="unseen_ref"), sql_source(unseen, url=url, table="unseen_live")
    check_unseen(unseen, reference, live)
    check_unseen_segments(unseen, reference, live)


# ---------------------------------------------------------------------------
# date and time features compared as times (seconds since 1970), not as text


def test_duckdb_times_get_the_file_paths_bins(tmp_path: Path) -> None:
    """DuckDB's TIMESTAMP, TIMESTAMPTZ, DATE and TIMESTAMP_NS feature columns give the file path's
    bins and counts bit for bit (before: a cast error with kind: numeric, text without a kind)."""
    write_times(tmp_path)

    def over(name: str, select: str = "*") -> SqlSource:
        return sql_source(tmp_path, url="duckdb:///:memory:", query=f"SELECT {select} FROM read_parquet('{name}')")

    check_times(tmp_path, over("times_ref.parquet"), over("times_live.parquet"))
    nanos = "CAST(t AS TIMESTAMP_NS) AS t, CAST(tz AS TIMESTAMP_NS) AS tz, CAST(d AS TIMESTAMP_S) AS d"
    check_times(tmp_path, over("times_ref.parquet", nanos), over("times_live.parquet", nanos))


def test_postgresql_timestamp_timestamptz_and_date_get_the_file_paths_bins(postgres: str, tmp_path: Path) -> None:
    """A real PostgreSQL server's timestamp, timestamptz and date feature columns (EXTRACT(EPOCH),
    exact, rounded once) give the file path's bins and counts bit for bit."""
    write_times(tmp_path)
    for name in ("ref", "live"):
        frame = pd.read_parquet(tmp_path / f"times_{name}.parquet")
        _pg_table(postgres, f"times_{name}", "t timestamp, tz timestamptz, d date", frame)
    url = _with_password(postgres)
    check_times(
        tmp_path, sql_source(tmp_path, url=url, table="times_ref"), sql_source(tmp_path, url=url, table="times_live")
    )


# ---------------------------------------------------------------------------
# a numeric column stuck inside a range bin: its MIN and MAX from the engine (Histogram.extent)


def test_duckdb_gives_the_live_extent_of_a_column_in_one_bin(tmp_path: Path) -> None:
    """DuckDB gives the live MIN and MAX of a numeric feature whose values all fell in one bin,
    so a column stuck at 23.17 inside a range bin (or at +inf) is `constant` as on files
    (before: no extent, only drift); and a monitor says so by name."""
    write_stuck(tmp_path)

    def over(name: str) -> SqlSource:
        return sql_source(tmp_path, url="duckdb:///:memory:", query=f"SELECT * FROM read_parquet('{name}')")

    check_stuck(tmp_path, over("ref_stuck.parquet"), over("live_stuck.parquet"))
    (tmp_path / "m.yaml").write_text(
        "monitors:\n  - name: m\n    reference: {type: file, path: ref_stuck.parquet}\n"
        "    live: {type: sql, url: 'duckdb:///:memory:', query: \"SELECT * FROM read_parquet('live_stuck.parquet')\"}\n"
        "    features: [s, w, n, {name: i, binning: {bins: 5}}]\n"
    )
    result = evaluate(config.load(tmp_path / "m.yaml").monitors[0])
    assert result.error is None, result.error
    constant = [line for line in result.quality_findings() if "constant" in line]
    assert [line.split(":")[0] for line in constant] == ["s", "i"], constant


def test_duckdb_asks_for_the_extent_only_when_a_feature_fell_in_one_bin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A healthy window is one counting query, as before; the extent is one more narrow query,
    only of the features whose values all fell in one bin (s and w here, not n)."""
    from driftmon.sources import sql as sql_module

    write_stuck(tmp_path)
    reference = file_source(tmp_path, "ref_stuck.parquet").profile(
        [BinningRule("s"), BinningRule("w"), BinningRule("n")]
    )
    specs = {name: h.spec for name, h in reference.items()}
    queries: list[str] = []
    fetch = sql_module._DuckDB.fetch

    def counted(self: object, sql: str, params: object) -> object:
        queries.append(sql)
        return fetch(self, sql, params)  # type: ignore[arg-type]

    monkeypatch.setattr(sql_module._DuckDB, "fetch", counted)
    healthy = sql_source(tmp_path, url="duckdb:///:memory:", query="SELECT * FROM read_parquet('ref_stuck.parquet')")
    assert all(h.extent is None for h in healthy.count(specs).values())
    assert len(queries) == 1 and "GROUP BY" in queries[0] and "MIN(" not in queries[0], queries
    queries.clear()
    live = sql_source(tmp_path, url="duckdb:///:memory:", query="SELECT * FROM read_parquet('live_stuck.parquet')")
    found = live.count(specs)
    assert len(queries) == 2 and "GROUP BY" not in queries[1] and queries[1].count("MIN(") == 2, queries
    assert found["s"].extent == (23.17, 23.17) and found["n"].extent is None


def test_sqlite_gives_the_live_extent_of_a_column_in_one_bin(tmp_path: Path) -> None:
    """The generic dialect (one GROUP BY per feature) gives the same extents."""
    pytest.importorskip("sqlalchemy")
    write_stuck(tmp_path)
    with contextlib.closing(sqlite3.connect(tmp_path / "s.db")) as connection:
        for name in ("ref", "live"):
            frame = pd.read_parquet(tmp_path / f"{name}_stuck.parquet")
            frame.to_sql(name, connection, index=False)
    check_stuck(
        tmp_path,
        sql_source(tmp_path, url="sqlite:///s.db", table="ref"),
        sql_source(tmp_path, url="sqlite:///s.db", table="live"),
    )


def test_postgresql_gives_the_live_extent_of_a_column_in_one_bin(postgres: str, tmp_path: Path) -> None:
    """A real PostgreSQL server gives the same extents."""
    write_stuck(tmp_path)
    for name in ("ref", "live"):
        frame = pd.read_parquet(tmp_path / f"{name}_stuck.parquet")
        columns = "s double precision, w double precision, n double precision, i bigint, hi double precision"
        _pg_table(postgres, f"stuck_{name}", columns, frame)
    url = _with_password(postgres)
    check_stuck(
        tmp_path, sql_source(tmp_path, url=url, table="stuck_ref"), sql_source(tmp_path, url=url, table="stuck_live")
    )


# ---------------------------------------------------------------------------
# schema anomalies from the query's columns (driftmon.schema), as on files


def _changed(data: Path, folder: Path) -> pd.DataFrame:
    """live.parquet with u gone, k as text and a new column: changed.parquet in ``folder``."""
    live = pd.read_parquet(data / "live.parquet").drop(columns="u")
    live["k"] = live["k"].map(lambda v: None if pd.isna(v) else f"{v:g}")
    live["extra"] = 1
    live.to_parquet(folder / "changed.parquet", index=False)
    shutil.copy(data / "ref.parquet", folder / "ref.parquet")
    return live


def _schema_monitors(folder: Path, sql_live: str) -> tuple[Any, Any]:
    (folder / "c.yaml").write_text(
        "monitors:\n"
        + "".join(
            f"  - name: {name}\n    reference: {{type: file, path: ref.parquet}}\n    live: {live}\n"
            "    features: [x, k, u, c]\n"
            for name, live in (("files", "{type: file, path: changed.parquet}"), ("sql", sql_live))
        )
    )
    on_files, on_sql = (evaluate(m) for m in config.load(folder / "c.yaml").monitors)
    assert on_sql.ok and on_files.ok, (on_sql.error, on_files.error)
    found = [(a.anomaly, a.column, a.severity) for a in on_sql.schema.anomalies]
    assert sorted(found) == [
        ("missing_column", "u", "critical"),
        ("new_column", "extra", "ok"),
        ("type_changed", "k", "critical"),
    ], found
    assert found == [(a.anomaly, a.column, a.severity) for a in on_files.schema.anomalies]
    assert {f.feature for f in on_sql.features if f.scores} == {"x", "c"}
    for a, b in zip(on_sql.features, on_files.features, strict=True):
        assert (a.feature, a.scores, a.live_count) == (b.feature, b.scores, b.live_count)
    assert on_sql.status == on_files.status == "critical"
    return on_files, on_sql


def test_duckdb_schema_anomalies_equal_the_file_paths(data: Path, tmp_path: Path) -> None:
    """A DuckDB query over a live file whose column u is gone, whose k became text and which
    gained a column: missing_column u, type_changed k, new_column extra as on files, from the
    query's columns alone; x and c scored with the file path's scores; the monitor up."""
    _changed(data, tmp_path)
    _schema_monitors(
        tmp_path, "{type: sql, url: 'duckdb:///:memory:', query: \"SELECT * FROM read_parquet('changed.parquet')\"}"
    )


def test_postgresql_schema_anomalies_equal_the_file_paths(data: Path, postgres: str, tmp_path: Path) -> None:
    """The same live rows in a real PostgreSQL table (k as text, no u, an extra column)."""
    live = _changed(data, tmp_path)
    columns = (
        "x double precision, k text, e double precision, c text, flag boolean, i integer, ts timestamptz, "
        "z double precision, zu double precision, b bigint, extra bigint"
    )
    _pg_table(postgres, "changed", columns, live[[c.split()[0] for c in columns.split(", ")]])
    _schema_monitors(tmp_path, f"{{type: sql, url: '{_with_password(postgres)}', table: changed}}")
