"""A few columns' raw rows from any source that holds rows, for a caller that needs rows.

Most of driftmon needs only counts, which engines compute where the data lives. A model's
metrics need the rows themselves (a ROC AUC sorts its scores), so `read_columns` hands them
out, the source's window applied:

- files: read in batches of the requested columns only (`RowSource`); Parquet files from
  Arrow directly, row group by row group;
- SQL (DuckDB, PostgreSQL, any SQLAlchemy database) and Spark: one ``SELECT`` of just those
  columns, the window pushed into the query; DuckDB and Spark
  hand the result over as columns;
- histogram files and Prometheus hold counts, not rows: a DataError saying so;
- the daemon's file sources: each file's whole columns kept in the live-file cache while
  it is unchanged (`driftmon.sources.file_cache`), the window's rows chosen from them.

Each column is one numpy array: numbers as numbers (NULL as NaN), text as objects (NULL
as None); a missing column is a DataError naming it and the nearest names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from driftmon._imports import lazy_import
from driftmon.arrow_kernels import as_numpy
from driftmon.errors import DataError
from driftmon.sources.base import RowSource, Source
from driftmon.sources.pushdown import Params, PushdownSource

if TYPE_CHECKING:
    import pyarrow as pa

    from driftmon.sources.file.source import FileSource
    from driftmon.sources.file_cache import FileCounts
else:
    pa = lazy_import("pyarrow")

__all__ = ["columns_of_rows", "read_columns"]


def _numpy(values: Any) -> npt.NDArray[Any]:
    """A batch's column (pandas, Arrow or numpy) as numpy; Arrow nulls become NaN or None."""
    if isinstance(values, np.ndarray):
        return values
    if isinstance(values, pa.Array):
        return as_numpy(values)  # no pandas import
    to_numpy = values.to_numpy
    try:
        return np.asarray(to_numpy(zero_copy_only=False))  # an Arrow array
    except TypeError:
        return np.asarray(to_numpy())  # a pandas Series or an Arrow chunked array


def columns_of_rows(rows: Sequence[tuple[Any, ...]], names: Sequence[str]) -> dict[str, npt.NDArray[Any]]:
    """Rows (tuples) as one array per column: numbers as numbers, NULL as NaN or None."""
    import pandas as pd

    frame = pd.DataFrame.from_records(list(rows), columns=list(names))
    return {name: frame[name].to_numpy() for name in names}


def _engine_rows(source: PushdownSource, columns: Sequence[str]) -> dict[str, npt.NDArray[Any]]:
    """One ``SELECT`` of just ``columns``, the window in its ``WHERE``; engines with a columnar
    fetch (``fetch_columns``: DuckDB, Spark) hand the result over as columns."""
    with source.engine() as engine:
        rows_sql = source.source_sql(engine)
        source._types(engine, rows_sql, columns)  # a missing column is named
        params = Params(engine.dialect)
        names = [f"c{i}" for i in range(len(columns))]
        selected = ", ".join(
            f"{engine.dialect.quote(column)} AS {name}" for column, name in zip(columns, names, strict=True)
        )
        sql = f"SELECT {selected} FROM ({rows_sql}) AS src{source._where(engine.dialect, params)}"
        fetch_columns = getattr(engine, "fetch_columns", None)
        if fetch_columns is not None:
            found = fetch_columns(sql, params.values, names)
        else:
            found = columns_of_rows(engine.fetch(sql, params.values), names)
    if source.window is not None and not len(found[names[0]]):
        raise source.no_rows()
    return {column: found[name] for column, name in zip(columns, names, strict=True)}


def read_columns(
    source: Source, columns: Sequence[str], cache: FileCounts | None = None
) -> dict[str, npt.NDArray[Any]]:
    """The rows of ``columns`` (each once, in the window) as one array per column; ``cache``:
    the daemon's live-file cache, which keeps a file source's columns per file (`_cached_files`)."""
    columns = list(dict.fromkeys(columns))
    if cache is not None:
        from driftmon.sources.file.source import FileSource

        if isinstance(source, FileSource):
            return _cached_files(source, columns, cache)
    if isinstance(source, PushdownSource):
        return _engine_rows(source, columns)
    if not isinstance(source, RowSource):
        raise DataError(
            f"{source.describe()}: holds counts, not rows; a model's columns need a source of rows "
            "(type: file, sql or spark)"
        )
    parquet = _parquet_columns(source, columns)
    if parquet is not None:
        return parquet
    parts: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in columns}
    batches = getattr(source, "column_batches", None) or source.batches
    for batch in batches(columns):
        for name in columns:
            parts[name].append(_numpy(batch[name]))
    return {name: _concatenate(values) for name, values in parts.items()}


def _parquet_columns(source: Source, columns: Sequence[str]) -> dict[str, npt.NDArray[Any]] | None:
    """Parquet files' columns straight from Arrow, each row group read once, the window's
    row groups and rows chosen as counting chooses them (`open_files`); None unless every file
    of a file source is Parquet. A third of the time of reading through pandas batches, and
    no pandas import."""
    from driftmon.sources.file.parquet import Parquet, open_files
    from driftmon.sources.file.source import FileSource

    if not isinstance(source, FileSource):
        return None
    paths = source.paths()
    if not paths or not all(isinstance(source._format_of(path), Parquet) for path in paths):
        return None
    parts: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in columns}
    for parquet in open_files(paths, columns, source._reading()):
        for group in parquet.columns(columns):
            for name in columns:
                parts[name].extend(_numpy(chunk) for chunk in group[name])
    return {name: _concatenate(values) for name, values in parts.items()}


_STAMPS = "\0stamps"  # a cached file's rows' window times (ns; null: int64 min)


def _cached_files(source: FileSource, columns: Sequence[str], cache: FileCounts) -> dict[str, npt.NDArray[Any]]:
    """A file source's ``columns`` in the window, each file's whole columns (and its rows' times)
    read once while it is unchanged (`FileCounts.rows`), the window's rows chosen from them at
    every evaluation: a file on the window's edge is not read again either. A file known to hold
    no row of the window is not opened."""
    from driftmon.sources.file.freshness import outside_window

    bounds, window = source._bounds(), source.window
    reading = source._reading()
    what = f"{columns!r}|{source.options()}"
    parts: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in columns}
    for path in source.paths():
        if bounds is not None and outside_window(path, source._format_of(path), reading):
            continue
        found = cache.rows(path, what, lambda path: _whole_file(source, path, columns))
        keep = None
        if window is not None and bounds is not None:
            stamps = found[_STAMPS]
            keep = (stamps >= bounds[0]) & (stamps < bounds[1])
        for name in columns:
            parts[name].append(found[name] if keep is None else found[name][keep])
    return {name: _concatenate(values) for name, values in parts.items()}


def _whole_file(source: FileSource, path: str, columns: Sequence[str]) -> dict[str, npt.NDArray[Any]]:
    """Every row of one file's ``columns`` and, with a window, its rows' times (``_STAMPS``)."""
    from driftmon.sources.file.columns import as_series, epoch_stamps
    from driftmon.sources.file.format import Reading
    from driftmon.sources.file.parquet import Parquet, open_files

    window = source.window
    reading = Reading(source, source.config, None)  # no bounds: every row
    wanted = reading.with_window_column(columns)
    parts: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in [*wanted, _STAMPS]}
    fmt = source._format_of(path)
    if isinstance(fmt, Parquet):  # from Arrow, as `_parquet_columns` reads them
        batches: Iterable[Mapping[str, Any]] = (
            group for parquet in open_files([path], wanted, reading) for group in parquet.columns(wanted)
        )
    else:
        batches = ({name: [values] for name, values in batch.items()} for batch in fmt.rows(path, wanted, reading))
    for batch in batches:
        for name in wanted:
            parts[name].extend(_numpy(chunk) for chunk in batch[name])
        if window is not None:
            times = batch[window.column]
            parts[_STAMPS].extend(epoch_stamps(as_series(chunk), window.column, path) for chunk in times)
    found = {name: _concatenate(parts[name]) for name in columns}
    if window is not None:
        found[_STAMPS] = _concatenate(parts[_STAMPS]) if parts[_STAMPS] else np.empty(0, dtype=np.int64)
    return found


def _concatenate(parts: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
    if not parts:
        return np.empty(0)
    kinds = {part.dtype.kind for part in parts}
    if len(kinds) > 1 and not kinds <= set("biuf"):  # text in one file, numbers in another
        return np.concatenate([part.astype(object) for part in parts])
    return np.concatenate(parts)
