"""A few columns' raw rows from any source that holds rows, for a caller that needs rows.

Most of driftmon needs only counts, which engines compute where the data lives. A model's
metrics need the rows themselves (a ROC AUC sorts its scores), so `read_columns` hands them
out, the source's window applied:

- files: read in batches of the requested columns only (`RowSource`);
- SQL (DuckDB, PostgreSQL, any SQLAlchemy database) and Spark: one ``SELECT`` of just those
  columns, the window pushed into the query (`PushdownSource.rows`); DuckDB and Spark
  hand the result over as columns;
- histogram files and Prometheus hold counts, not rows: a DataError saying so.

Each column is one numpy array: numbers as numbers (NULL as NaN), text as objects (NULL
as None); a missing column is a DataError naming it and the nearest names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from driftmon.errors import DataError
from driftmon.sources.base import RowSource, Source
from driftmon.sources.pushdown import PushdownSource

__all__ = ["read_columns"]


def _numpy(values: Any) -> npt.NDArray[Any]:
    """A batch's column (pandas, Arrow or numpy) as numpy; Arrow nulls become NaN or None."""
    if isinstance(values, np.ndarray):
        return values
    to_numpy = values.to_numpy
    try:
        return np.asarray(to_numpy(zero_copy_only=False))  # an Arrow array
    except TypeError:
        return np.asarray(to_numpy())  # a pandas Series or an Arrow chunked array


def read_columns(source: Source, columns: Sequence[str]) -> dict[str, npt.NDArray[Any]]:
    """The rows of ``columns`` (each once, in the window) as one array per column."""
    columns = list(dict.fromkeys(columns))
    if isinstance(source, PushdownSource):
        return source.rows(columns)
    if not isinstance(source, RowSource):
        raise DataError(
            f"{source.describe()}: holds counts, not rows; a model's columns need a source of rows "
            "(type: file, sql or spark)"
        )
    parts: dict[str, list[npt.NDArray[Any]]] = {name: [] for name in columns}
    batches = getattr(source, "column_batches", None) or source.batches
    for batch in batches(columns):
        for name in columns:
            parts[name].append(_numpy(batch[name]))
    return {name: _concatenate(values) for name, values in parts.items()}


def _concatenate(parts: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
    if not parts:
        return np.empty(0)
    kinds = {part.dtype.kind for part in parts}
    if len(kinds) > 1 and not kinds <= set("biuf"):  # text in one file, numbers in another
        return np.concatenate([part.astype(object) for part in parts])
    return np.concatenate(parts)
