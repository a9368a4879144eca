"""SQL servers through SQLAlchemy (PostgreSQL, and any other dialect with a driver) for
``type: sql``: one pooled engine per URL, read-only sessions with a statement timeout,
the engine's column types. DuckDB is :mod:`driftmon.sources.sql`'s own engine."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from driftmon.errors import SourceError
from driftmon.sources.pushdown import POSTGRESQL, ColumnType, Dialect, Engine, generic_dialect
from driftmon.sources.sample_sql import SampleRequest

if TYPE_CHECKING:
    from driftmon.sources.sql import SqlSource

__all__ = ["CONNECT_TIMEOUT_S", "sqlalchemy_session"]

CONNECT_TIMEOUT_S = 10


_ENGINES: dict[str, Any] = {}
_ENGINES_LOCK = threading.Lock()

# PostgreSQL type OIDs (pg_type.oid) -> how driftmon treats the column.
_PG_TYPES: dict[int, ColumnType] = {
    16: "boolean",
    20: "integer",
    21: "integer",
    23: "integer",
    26: "integer",
    700: "float",
    701: "float",
    1700: "decimal",
    18: "string",
    19: "string",
    25: "string",
    1042: "string",
    1043: "string",
    1082: "time",  # date
    1114: "time",  # timestamp
    1184: "time",  # timestamptz
}


def _sqlalchemy_engine(source: SqlSource) -> Any:
    """One pooled SQLAlchemy engine per URL for the life of the process."""
    try:
        import sqlalchemy
    except ImportError:
        raise SourceError(
            f"{source.describe()}: SQL URLs other than duckdb:/// need SQLAlchemy and a driver "
            "(pip install 'driftmon-exporter[sql]')"
        ) from None
    url_text = source.config.url
    with _ENGINES_LOCK:
        engine = _ENGINES.get(url_text)
        if engine is not None:
            return engine
        try:
            url = sqlalchemy.engine.make_url(url_text)
        except (sqlalchemy.exc.ArgumentError, ValueError) as error:
            raise source.error("not a valid SQLAlchemy URL", error) from None
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            url = url.set(database=str(source.base_dir / url.database))
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "postgresql":
            connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
        try:
            engine = sqlalchemy.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        except (ImportError, sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError) as error:
            raise source.error("cannot use this URL (is its driver installed?)", error) from None
        _ENGINES[url_text] = engine
        return engine


def _dialect_of(engine: Any) -> Dialect:
    from sqlalchemy import types

    name = engine.dialect.name
    if name == "postgresql":
        return POSTGRESQL
    quote = engine.dialect.identifier_preparer.quote
    if name in ("mysql", "mariadb"):
        return generic_dialect(name, quote, "CHAR", "DOUBLE")
    compiler = engine.dialect.type_compiler_instance
    return generic_dialect(name, quote, compiler.process(types.String()), compiler.process(types.Double()))


class _SqlAlchemy(Engine):
    def __init__(self, source: SqlSource, connection: Any, dialect: Dialect) -> None:
        self.source = source
        self.connection = connection
        self.dialect = dialect

    def columns(self, source_sql: str) -> dict[str, ColumnType]:
        from sqlalchemy import text

        result = self._execute(text(f"SELECT * FROM ({source_sql}) AS src WHERE 1 = 0"), {})
        description = result.cursor.description or []
        result.close()
        names = [str(column[0]) for column in description]
        types: dict[str, ColumnType] = {}
        unknown = []
        dbapi = self.connection.dialect.dbapi
        for column in description:
            name, code = str(column[0]), column[1]
            if self.dialect is POSTGRESQL and isinstance(code, int):
                types[name] = _PG_TYPES.get(code, "other")
            elif code is not None and getattr(dbapi, "NUMBER", None) is not None and code == dbapi.NUMBER:
                types[name] = "float"
            elif code is not None and getattr(dbapi, "STRING", None) is not None and code == dbapi.STRING:
                types[name] = "string"
            else:
                unknown.append(name)
        if unknown:  # a driver that does not say (SQLite): look at a few values
            sample = self._execute(text(f"SELECT * FROM ({source_sql}) AS src"), {})
            rows = sample.fetchmany(1000)
            sample.close()
            for name in unknown:
                index = names.index(name)
                value = next((row[index] for row in rows if row[index] is not None), None)
                types[name] = _python_type(value)
        return {name: types[name] for name in names}

    def fetch(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        from sqlalchemy import text

        result = self._execute(text(sql), params)
        return [tuple(row) for row in result.fetchall()]

    def stream(self, sql: str, params: Mapping[str, Any], batch: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
        """A server-side cursor where the driver has one (PostgreSQL): bounded memory."""
        import sqlalchemy
        from sqlalchemy import text

        result = self._execute(text(sql).execution_options(stream_results=True, max_row_buffer=batch), params)
        try:
            for rows in result.partitions(batch):
                yield [tuple(row) for row in rows]
        except sqlalchemy.exc.SQLAlchemyError as error:
            raise self.source.error("query failed", error) from None
        finally:
            result.close()

    def sample(self, request: SampleRequest) -> dict[str, Any]:
        """PostgreSQL tables: ``TABLESAMPLE BERNOULLI (p) REPEATABLE (seed)`` a little above the
        size, cut to it here; other engines and queries: every row through the reservoir."""
        table = self.source.config.table
        if self.dialect is not POSTGRESQL or table is None:
            return super().sample(request)
        from driftmon.sources.sample import oversampled, sample_rows

        sql, params = request.typed(request.source_sql)
        ((rows,),) = self.fetch(f"SELECT count(*) FROM ({sql}) AS typed", params)
        percent = 100.0 * oversampled(request.size, int(rows))
        quoted = ".".join(self.dialect.quote(part) for part in table.split("."))
        sampled = f"SELECT * FROM {quoted} TABLESAMPLE BERNOULLI ({percent!r}) REPEATABLE ({request.seed})"
        sql, params = request.typed(sampled)
        return sample_rows(self.stream(sql, params), request.names, request.numeric, request.size, request.seed)

    def run(self, sql: str, params: Mapping[str, Any]) -> None:
        """A statement whose result is not needed (session settings)."""
        from sqlalchemy import text

        self._execute(text(sql), params).close()

    def _execute(self, statement: Any, params: Mapping[str, Any]) -> Any:
        import sqlalchemy

        try:
            return self.connection.execute(statement, dict(params))
        except sqlalchemy.exc.OperationalError as error:
            if self.dialect is POSTGRESQL and "statement timeout" in str(error):
                raise SourceError(
                    f"{self.source.describe()}: query took longer than {self.source.config.timeout} and was stopped"
                ) from None
            raise self.source.error("query failed", error) from None
        except sqlalchemy.exc.SQLAlchemyError as error:
            raise self.source.error("query failed", error) from None


def _python_type(value: Any) -> ColumnType:
    from decimal import Decimal

    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, Decimal):
        return "decimal"
    if isinstance(value, str):
        return "string"
    return "other"


@contextlib.contextmanager
def sqlalchemy_session(source: SqlSource) -> Iterator[Engine]:
    engine = _sqlalchemy_engine(source)  # first: it turns a missing SQLAlchemy into the install hint
    import sqlalchemy

    dialect = _dialect_of(engine)
    try:
        connection = engine.connect()
    except sqlalchemy.exc.SQLAlchemyError as error:
        raise source.error("cannot connect", error) from None
    try:
        session = _SqlAlchemy(source, connection, dialect)
        if dialect is POSTGRESQL:
            # Read-only, UTC, and a server-side limit on every statement.
            session.run("SET TRANSACTION READ ONLY", {})
            milliseconds = str(int(source.config.timeout_s * 1000))
            session.run(
                "SELECT set_config('statement_timeout', :ms, true), set_config('TimeZone', 'UTC', true)",
                {"ms": milliseconds},
            )
            for name, value in source.config.settings.items():
                session.run("SELECT set_config(:name, :value, true)", {"name": name, "value": str(value)})
        yield session
    finally:
        with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError):
            connection.rollback()
        with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError):
            connection.close()
