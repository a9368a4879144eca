"""``type: sql``: rows in a database, binned by the database; only counts come back.

``url`` is a SQLAlchemy URL (put secrets in ``${VAR}``): ``duckdb:///path.db`` or
``duckdb:///:memory:`` runs DuckDB in-process through its own package (DuckDB can read
Parquet and CSV globs itself: ``query: SELECT * FROM read_parquet('data/*.parquet')``,
relative paths being relative to the config file); anything else goes through
SQLAlchemy (``postgresql+psycopg://user:${PGPASSWORD}@host/db``, ``sqlite:///file.db``…).
The rows are ``table:`` or ``query:``; the generated SQL is in :mod:`driftmon.sources.pushdown`.

Sessions are read-only where the engine allows it (DuckDB files are opened read-only,
PostgreSQL transactions are ``READ ONLY``), every query has a time limit, and the URL's
password never appears in a message.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from driftmon import redact
from driftmon.durations import DAY, SECOND, bounded, parse_duration
from driftmon.errors import SourceError, did_you_mean
from driftmon.sources.base import Window, file_identity
from driftmon.sources.pushdown import (
    DUCKDB,
    ColumnType,
    Engine,
    Feature,
    Params,
    PushdownSource,
)
from driftmon.sources.sample_sql import SampleRequest

_PASSWORD = re.compile(r"(://[^:/@?#]*:)[^@/?#]*@")


def hide_password(url: str) -> str:
    """The URL with its password replaced by ``***`` (for messages and logs)."""
    return _PASSWORD.sub(r"\1***@", url)


class SqlSourceConfig(BaseModel):
    """Rows of a table or a query in a database (DuckDB, PostgreSQL, any SQLAlchemy URL)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    type: Literal["sql"]
    url: str = Field(
        description="SQLAlchemy URL: duckdb:///file.db, duckdb:///:memory:, "
        "postgresql+psycopg://user:${PGPASSWORD}@host:5432/db, sqlite:///file.db"
    )
    table: str | None = Field(default=None, description="a table or view (schema.table allowed)")
    query: str | None = Field(default=None, description="a SELECT whose rows are the data")
    window: Window | None = Field(
        default=None, description="keep only the rows of the last `last` (e.g. 1h) by `column` (pushed into the query)"
    )
    timeout: bounded(SECOND, DAY) = Field(  # type: ignore[valid-type]
        default="5m", description="limit for each query (and 10 s to connect); 1s to 1d"
    )
    settings: dict[str, str | int | float | bool] = Field(
        default_factory=dict,
        description="session settings, DuckDB and PostgreSQL only: {threads: 1, memory_limit: 300MB} "
        "for DuckDB, {work_mem: 64MB} for PostgreSQL; DuckDB's hardening is turned off only explicitly "
        "({enable_external_access: true}, {autoinstall_known_extensions: true}, ...)",
    )
    allowed_paths: list[str] = Field(
        default_factory=list,
        description="DuckDB: more files or folders (relative to the config file) a query may read; "
        "by default only the config file's folder",
    )

    @field_validator("settings")
    @classmethod
    def _settings(
        cls, settings: dict[str, str | int | float | bool], info: ValidationInfo
    ) -> dict[str, str | int | float | bool]:
        for name in settings:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
                raise ValueError(f"{name!r} is not a setting name")
        duckdb = _duckdb_module(info)
        if duckdb is not None:
            known = _duckdb_setting_names(duckdb)
            for name in settings:
                if name.lower() in _DUCKDB_OWN:
                    raise ValueError(f"{name!r} is set by driftmon; list extra readable paths in `allowed_paths:`")
                if name.lower() not in known:
                    hint = did_you_mean(name.lower(), sorted(known), limit=1)
                    raise ValueError(
                        f"unknown DuckDB setting {name!r}"
                        + (f"; did you mean {hint[0]!r}?" if hint else " (see SELECT name FROM duckdb_settings())")
                    )
        return settings

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        if "://" not in url:
            raise ValueError(
                f"{hide_password(url)!r} is not a URL like duckdb:///file.db or postgresql+psycopg://host/db"
            )
        return url

    @field_validator("query")
    @classmethod
    def _query(cls, query: str | None, info: ValidationInfo) -> str | None:
        if query is None:
            return None
        stripped = query.strip().rstrip(";").strip()
        if not stripped:
            raise ValueError("query is empty")
        duckdb = _duckdb_module(info)
        if duckdb is not None:
            problem = _not_one_select(duckdb, stripped)
            if problem and "cannot be parsed" in problem:
                # Judge it as driftmon runs it, inside a subquery: `SELECT 1) AS src; COPY ...`
                # parses there, as several statements.
                wrapped = _not_one_select(duckdb, _wrapped(stripped))
                problem = wrapped if wrapped is None or "cannot be parsed" not in wrapped else problem
            if problem:
                raise ValueError(f"the query {problem}")
        return stripped

    @model_validator(mode="after")
    def _one_of(self) -> SqlSourceConfig:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of `table:` or `query:`")
        if self.settings and not self.url.lower().startswith(("duckdb:", "postgresql")):
            raise ValueError("`settings:` apply to duckdb:/// and postgresql URLs only")
        if self.allowed_paths and not self.url.lower().startswith("duckdb:"):
            raise ValueError("`allowed_paths:` applies to duckdb:/// URLs only")
        return self

    @property
    def timeout_s(self) -> float:
        return parse_duration(self.timeout)


class SqlSource(PushdownSource):
    """A table or query in a database; profile and count run as a few aggregate queries."""

    Config = SqlSourceConfig

    def __init__(self, config: SqlSourceConfig, base_dir: Path, now: datetime | float | None = None) -> None:
        super().__init__(config, base_dir, now)
        self.config: SqlSourceConfig = config
        self.is_duckdb = config.url.lower().startswith("duckdb:")

    def describe(self) -> str:
        what = f"table {self.config.table}" if self.config.table else f"query {_short(self.config.query or '')!r}"
        return f"sql {hide_password(self.config.url)} {what}"

    def fingerprint(self) -> str:
        parts = [self.config.url, self.config.table or "", self.config.query or ""]
        if self.window is not None:
            parts.append(self.window.describe(self.now))
        if self.is_duckdb:
            path = _duckdb_path(self.config.url, self.base_dir)
            if path != ":memory:" and os.path.exists(path):
                parts.append(file_identity(path))
            parts += _files_named_in(self.config.query or self.config.table or "", self.base_dir)
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def engine(self) -> contextlib.AbstractContextManager[Engine]:
        if self.is_duckdb:
            return _duckdb_session(self)
        from driftmon.sources.sql_server import sqlalchemy_session

        return sqlalchemy_session(self)

    def source_sql(self, engine: Engine) -> str:
        if self.config.query is not None:
            return self.config.query
        table = self.config.table or ""
        return "SELECT * FROM " + ".".join(engine.dialect.quote(part) for part in table.split("."))

    def time_param(self, moment: datetime) -> Any:
        # DuckDB: a naive UTC timestamp (the session's TimeZone is UTC); others: aware UTC.
        return moment.astimezone(UTC).replace(tzinfo=None) if self.is_duckdb else moment

    def error(self, action: str, error: BaseException) -> SourceError:
        """A SourceError naming this source, with the driver's message and no password."""
        original = getattr(error, "orig", None) or error
        message = " ".join(str(original).split())
        password = _password(self.config.url)
        if password:
            message = message.replace(password, "***")
        message = redact.text(message, limit=1 << 20)  # masked before it is cut
        if len(message) > 400:
            message = message[:400] + "…"
        return SourceError(f"{self.describe()}: {action}: {message}")


def _wrapped(query: str) -> str:
    """The user's query as driftmon embeds it (every generated statement selects from it)."""
    return f"SELECT * FROM ({query}) AS src"


def _literal(value: str | int | float | bool) -> str:
    """A setting's value as a SQL literal (text quoted, quotes doubled)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + value.replace("'", "''") + "'"


def _short(text: str, width: int = 80) -> str:
    flat = redact.text(" ".join(text.split()), limit=1 << 20)  # masked before it is cut
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _password(url: str) -> str | None:
    match = re.search(r"://[^:/@?#]*:([^@/?#]*)@", url)
    return match.group(1) if match and match.group(1) else None


# ---------------------------------------------------------------------------
# DuckDB, in-process


# A quoted string in a DuckDB query: 'data/*.parquet' ('' is a quote inside it).
_STRING_LITERAL = re.compile(r"'((?:[^']|'')*)'")
FINGERPRINT_FILES = 10_000  # files a query's globs may name before the rest are left out


def _files_named_in(sql: str, base_dir: Path) -> list[str]:
    """The identity of every file a query's string literals name (``read_parquet('data/*.parquet')``),
    so a reference read by DuckDB from files is binned again when one of them changes."""
    found: list[str] = []
    for literal in _STRING_LITERAL.findall(sql):
        text = literal.replace("''", "'")
        if not text or "://" in text or "\0" in text:
            continue
        pattern = str(base_dir / text)
        matches = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [pattern]
        for match in matches[:FINGERPRINT_FILES]:
            with contextlib.suppress(OSError):
                if os.path.isfile(match):
                    found.append(file_identity(match))
    return found


def _duckdb_path(url: str, base_dir: Path) -> str:
    """``duckdb:///:memory:`` -> ``:memory:``; ``duckdb:///x.db`` -> base_dir/x.db; ``duckdb:////abs.db``."""
    rest = url[len("duckdb:") :].split("?", 1)[0]
    if rest.startswith("////"):
        return rest[3:]
    rest = rest.lstrip("/")
    if rest in ("", ":memory:"):
        return ":memory:"
    return str(base_dir / rest)


# Settings driftmon sets on every DuckDB session (docs/sources.md, `type: sql`): a query runs with
# external access limited to the config's folder (and `allowed_paths`), no extension
# downloads or auto-loading, and the configuration locked so the query cannot SET it back.
# The config may turn each off explicitly in `settings:`; the allowed paths are driftmon's.
_DUCKDB_HARDENING: dict[str, bool] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "lock_configuration": True,
}
_DUCKDB_OWN = frozenset({"allowed_directories", "allowed_paths", "file_search_path", "disabled_optimizers"})


def _duckdb_setting_names(duckdb: Any) -> frozenset[str]:
    global _DUCKDB_SETTINGS
    if _DUCKDB_SETTINGS is None:
        with duckdb.connect(":memory:") as connection:
            rows = connection.execute("SELECT lower(name) FROM duckdb_settings()").fetchall()
        _DUCKDB_SETTINGS = frozenset(str(name) for (name,) in rows)
    return _DUCKDB_SETTINGS


_DUCKDB_SETTINGS: frozenset[str] | None = None


def _duckdb_module(info: ValidationInfo) -> Any:
    """The duckdb package when the URL being validated is DuckDB's and it is installed."""
    url = info.data.get("url")
    if not isinstance(url, str) or not url.lower().startswith("duckdb:"):
        return None
    try:
        import duckdb
    except ImportError:  # the evaluation says what to install
        return None
    return duckdb


def _not_one_select(duckdb: Any, sql: str) -> str | None:
    """Why ``sql`` is not exactly one SELECT statement for DuckDB (None when it is)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        return f"cannot be parsed by DuckDB: {redact.clipped(' '.join(str(error).split()), 200)}"
    kinds = [str(statement.type).rsplit(".", 1)[-1] for statement in statements]
    if kinds != ["SELECT"]:
        return f"must be exactly one SELECT statement, found {', '.join(kinds) or 'none'}"
    return None


def _allowed(source: SqlSource) -> tuple[list[str], list[str]]:
    """(folders, files) DuckDB may read: the config's folder, and ``allowed_paths``.

    DuckDB checks a relative path as written before resolving it against
    ``file_search_path``, then checks the resolved path: so the config folder's own entries
    are listed relatively too (``data/`` for ``read_parquet('data/*.parquet')``); the
    resolved check still keeps ``data/../..`` out.
    """
    base = source.base_dir.resolve()
    folders: list[str] = [str(base) + os.sep]
    files: list[str] = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(base):
            (folders if entry.is_dir() else files).append(entry.name + (os.sep if entry.is_dir() else ""))
    for item in source.config.allowed_paths:
        path = (base / item).resolve()
        (folders if path.is_dir() else files).append(str(path) + (os.sep if path.is_dir() else ""))
    database = _duckdb_path(source.config.url, source.base_dir)
    if database != ":memory:":
        files.append(str(Path(database).resolve()))
    return folders, files


def _list_literal(values: Sequence[str]) -> str:
    return "[" + ", ".join(_literal(v) for v in values) + "]"


_DUCKDB_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT")
_DUCKDB_TYPES: dict[str, ColumnType] = {
    **dict.fromkeys(_DUCKDB_INTEGERS + tuple("U" + name for name in _DUCKDB_INTEGERS), "integer"),
    "FLOAT": "float",
    "DOUBLE": "float",
    "BOOLEAN": "boolean",
    "VARCHAR": "string",
    **dict.fromkeys(
        ["DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"], "time"
    ),
}


class _DuckDB(Engine):
    dialect = DUCKDB

    def __init__(self, source: SqlSource, connection: Any, duckdb: Any) -> None:
        self.source = source
        self.connection = connection
        self.duckdb = duckdb

    def columns(self, source_sql: str) -> dict[str, ColumnType]:
        description = self._run(f"SELECT * FROM ({source_sql}) AS src LIMIT 0", {}, describe=True)
        result: dict[str, ColumnType] = {}
        for name, kind, *_ in description:
            text = str(kind).upper()
            result[str(name)] = "decimal" if text.startswith("DECIMAL") else _DUCKDB_TYPES.get(text, "other")
        return result

    def fetch(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = self._run(sql, params)
        return rows

    def fetch_columns(self, sql: str, params: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
        frame = self._run(sql, params, frame=True)  # columnar: no Python tuple per row
        return {name: frame[name].to_numpy() for name in names}

    def order_statistics(
        self, typed_sql: str, bound: Mapping[str, Any], feature: Feature, ranks: Sequence[int], count: int
    ) -> dict[int, float]:
        """By selection instead of a sort: DuckDB's ``quantile_disc(q)`` is the value at index
        ``ceil(count * q) - 1``, so ``q = (r + 0.5) / count`` is rank ``r`` with half a rank to
        spare against rounding."""
        params = Params(DUCKDB)
        params.values.update(bound)
        fractions = params([(r + 0.5) / count for r in ranks])
        v = feature.alias
        sql = (
            f"SELECT quantile_disc(CASE WHEN {DUCKDB.is_finite.format(v=v)} THEN {v} END, {fractions}) "
            f"FROM ({typed_sql}) AS typed"
        )
        values = self.fetch(sql, params.values)[0][0]
        return {int(r): float(value) for r, value in zip(ranks, values, strict=True)}

    def sample(self, request: SampleRequest) -> dict[str, Any]:
        """``USING SAMPLE reservoir(n ROWS) REPEATABLE (seed)``: exact, seeded, in the engine."""
        from driftmon.sources.sample import columns_of

        sql, params = request.typed(request.source_sql)
        seed = request.seed % 2**31
        query = f"SELECT * FROM ({sql}) AS typed USING SAMPLE reservoir({int(request.size)} ROWS) REPEATABLE ({seed})"
        return columns_of(self.fetch(query, params), request.names, request.numeric)

    def _run(self, sql: str, params: Mapping[str, Any], describe: bool = False, frame: bool = False) -> Any:
        problem = _not_one_select(self.duckdb, sql)
        if problem:
            raise SourceError(f"{self.source.describe()}: the query {problem}")
        timeout = self.source.config.timeout_s
        timer = threading.Timer(timeout, self.connection.interrupt)
        timer.daemon = True
        timer.start()
        try:
            cursor = self.connection.execute(sql, dict(params)) if params else self.connection.execute(sql)
            if describe:
                return cursor.description
            return cursor.df() if frame else cursor.fetchall()
        except self.duckdb.InterruptException:
            raise SourceError(
                f"{self.source.describe()}: query took longer than {self.source.config.timeout} and was stopped"
            ) from None
        except self.duckdb.Error as error:
            raise self.source.error("query failed", error) from None
        finally:
            timer.cancel()


@contextlib.contextmanager
def _duckdb_session(source: SqlSource) -> Iterator[Engine]:
    try:
        import duckdb
    except ImportError:
        raise SourceError(
            f"{source.describe()}: duckdb:/// URLs need the duckdb package (pip install 'driftmon-exporter[duckdb]')"
        ) from None
    path = _duckdb_path(source.config.url, source.base_dir)
    if path != ":memory:" and not os.path.exists(path):
        raise SourceError(f"{source.describe()}: database file {path} does not exist")
    try:
        connection = duckdb.connect(path, read_only=path != ":memory:")
    except duckdb.Error as error:
        raise source.error("cannot open the database", error) from None
    try:
        _configure_duckdb(source, connection, duckdb)
        yield _DuckDB(source, connection, duckdb)
    finally:
        connection.close()


def _configure_duckdb(source: SqlSource, connection: Any, duckdb: Any) -> None:
    """Session settings, the user's ``settings:``, then the hardening, locked last."""
    # Relative paths in read_parquet('...') are relative to the config file, like every path.
    connection.execute(f"SET file_search_path = {_literal(str(source.base_dir))}")
    # Parquet min/max statistics leave NaN out; DuckDB's statistics propagation trusts
    # them and folds isnan(v) (and v > max) to false, counting NaN as a number
    # (seen with duckdb 2.0.0; tests/integration/test_sql_sources.py pins it).
    connection.execute("SET disabled_optimizers = 'statistics_propagation'")
    with contextlib.suppress(duckdb.Error):  # needs the ICU extension, present in the wheels
        connection.execute("SET TimeZone = 'UTC'")
    hardening = dict(_DUCKDB_HARDENING)
    for name, value in source.config.settings.items():
        if name.lower() in hardening:
            hardening[name.lower()] = bool(value)
            continue
        try:
            connection.execute(f"SET {name} = {_literal(value)}")
        except duckdb.Error as error:
            raise source.error(f"setting {name}", error) from None
    try:
        connection.execute(f"SET autoinstall_known_extensions = {_literal(hardening['autoinstall_known_extensions'])}")
        connection.execute(f"SET autoload_known_extensions = {_literal(hardening['autoload_known_extensions'])}")
        if not hardening["enable_external_access"]:
            folders, files = _allowed(source)
            connection.execute(f"SET allowed_directories = {_list_literal(folders)}")
            connection.execute(f"SET allowed_paths = {_list_literal(files)}")
            connection.execute("SET enable_external_access = false")
        if hardening["lock_configuration"]:
            connection.execute("SET lock_configuration = true")
    except duckdb.Error as error:
        raise source.error("cannot harden the DuckDB session", error) from None


# ---------------------------------------------------------------------------
# Everything else, through SQLAlchemy
