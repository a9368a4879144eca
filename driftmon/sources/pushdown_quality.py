"""What the data-quality checks ask of a database or Spark source, beside its counts.

- ``columns``: the table's or query's columns and their types (the engine reads no rows),
  for the schema check (:mod:`driftmon.schema`); dates and timestamps are ``time``
  (temporal), a type the engine names ``other`` (an interval, JSON) is not compared;
- ``newest``: the newest window-column time inside the window, one ``MAX`` query, for the
  freshness check (:mod:`driftmon.feed`); None without a window or with no row in it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from driftmon.sources.base import Columns
from driftmon.sources.pushdown import Params

if TYPE_CHECKING:
    from driftmon.sources.pushdown import PushdownSource


def columns(source: PushdownSource) -> Columns:
    """The source's columns, each with its type class (``()``: not compared)."""
    with source.engine() as engine:
        types = engine.columns(source.source_sql(engine))
    return Columns({name: () if kind == "other" else (kind,) for name, kind in types.items()})


def newest(source: PushdownSource) -> float | None:
    """The newest window-column time in the window, in Unix seconds."""
    window = source.window
    if window is None:
        return None
    with source.engine() as engine:
        d = engine.dialect
        params = Params(d)
        start, end = window.bounds(source.now)
        column = d.quote(window.column)
        sql = (
            f"SELECT MAX({column}) FROM ({source.source_sql(engine)}) AS src "
            f"WHERE {column} >= {params(source.time_param(start))} AND {column} < {params(source.time_param(end))}"
        )
        value = engine.fetch(sql, params.values)[0][0]
    return None if value is None else unix_seconds(value)


def unix_seconds(value: Any) -> float:
    """A time an engine returned (a datetime, naive meaning UTC; a date; ISO text) as Unix seconds."""
    if isinstance(value, datetime):
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value).timestamp()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
    parsed = datetime.fromisoformat(str(value))
    return (parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed).timestamp()
