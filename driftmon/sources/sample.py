"""Uniform, seeded row samples of any size of data, in one pass and bounded memory.

`Reservoir` keeps a sample of at most ``size`` rows of the batches it is given: every
row draws a key from one seeded generator, in row order, and the rows with the smallest
keys are kept (reservoir sampling by random keys). Every subset of ``size`` rows is
equally likely, memory is ``size`` rows plus one batch, and the sample depends only on
the seed and the rows in order, not on how they were cut into batches (the generator's
stream is the same however it is drawn). The sample is returned in key order.

Columns are numpy arrays or Arrow arrays (anything with ``take`` or fancy indexing);
knows nothing of formats, engines or Prometheus. Engines that sample themselves are asked
to by their sources (each source's ``sample``), so only the sample travels:

- DuckDB: ``USING SAMPLE reservoir(n ROWS) REPEATABLE (seed)``, exact and seeded;
- PostgreSQL, a ``table:``: ``TABLESAMPLE BERNOULLI (p) REPEATABLE (seed)`` with ``p``
  (`oversampled`) a little above ``n`` over the window's rows, then cut to ``n`` here. A
  Bernoulli sample cut uniformly is a uniform sample. ``SYSTEM`` is not used: it keeps whole
  pages, so rows written together (one batch, one hour) come together and the sample is not
  uniform over rows;
- Spark: ``DataFrame.sample(fraction=p, seed=seed)``, the same over-sample and cut;
- engines without seeded sampling (SQLite, other SQLAlchemy dialects) and PostgreSQL
  ``query:`` sources (``TABLESAMPLE`` applies to tables only): the rows are streamed
  through a `Reservoir`, in bounded memory, and only the sample is kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["DEFAULT_SEED", "Reservoir", "columns_of", "oversampled", "sample_batches", "sample_rows"]

DEFAULT_SEED = 20_261_203


def _take(values: Any, rows: npt.NDArray[np.intp]) -> Any:
    if isinstance(values, np.ndarray):
        return values[rows]
    return values.take(rows)


def _concat(parts: list[Any]) -> Any:
    if all(isinstance(part, np.ndarray) for part in parts):
        return np.concatenate(parts)
    import pyarrow as pa

    return pa.concat_arrays([pa.array(part) if isinstance(part, np.ndarray) else part for part in parts])


class Reservoir:
    """A uniform sample of at most ``size`` rows over every `add`-ed batch (seeded)."""

    def __init__(self, size: int, seed: int = DEFAULT_SEED) -> None:
        if size < 1:
            raise ValueError("a sample needs at least one row")
        self.size = size
        self.seen = 0
        self._generator = np.random.default_rng(seed)
        self._keys = np.empty(0)
        self._columns: dict[str, Any] = {}

    def add(self, batch: Mapping[str, Any]) -> None:
        """Offer the rows of ``batch`` (name → column, every column the same length)."""
        lengths = {len(values) for values in batch.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of one batch differ in length: {sorted(lengths)}")
        rows = lengths.pop() if lengths else 0
        if rows == 0:
            return
        keys = self._generator.random(rows)
        self.seen += rows
        full = self._keys.size == self.size  # then only rows that beat the largest kept key
        candidates = np.flatnonzero(keys < self._keys.max()) if full else np.arange(rows)
        if candidates.size == 0:
            return
        merged_keys = np.r_[self._keys, keys[candidates]]
        keep = np.argsort(merged_keys, kind="stable")[: self.size]
        kept = self._keys.size
        new = {name: _take(values, candidates) for name, values in batch.items()}
        if not self._columns:
            self._columns = {name: _take(values, keep - kept) for name, values in new.items()}
        else:
            self._columns = {name: _take(_concat([self._columns[name], new[name]]), keep) for name in self._columns}
        self._keys = merged_keys[keep]

    def sample(self) -> dict[str, Any]:
        """The rows kept, in key order (name → column); empty columns before any row."""
        return dict(self._columns)

    def __len__(self) -> int:
        return int(self._keys.size)


def sample_batches(batches: Iterable[Mapping[str, Any]], size: int, seed: int) -> dict[str, Any]:
    """A uniform seeded sample of at most ``size`` rows of ``batches`` (name -> column)."""
    reservoir = Reservoir(size, seed=seed)
    for batch in batches:
        reservoir.add(batch)
    return reservoir.sample()


def columns_of(rows: Sequence[Sequence[Any]], names: Sequence[str], numeric: Sequence[str]) -> dict[str, np.ndarray]:
    """Rows as fetched from an engine (tuples in ``names`` order) as columns: those in
    ``numeric`` as float64 (NULL as NaN), the others as objects (NULL as None)."""
    columns: dict[str, np.ndarray] = {}
    for index, name in enumerate(names):
        values = [row[index] for row in rows]
        if name in numeric:
            columns[name] = np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)
        else:
            columns[name] = np.array([None if v is None else str(v) for v in values], dtype=object)
    return columns


def sample_rows(
    batches: Iterable[Sequence[Sequence[Any]]], names: Sequence[str], numeric: Sequence[str], size: int, seed: int
) -> dict[str, np.ndarray]:
    """A uniform seeded sample of at most ``size`` of the rows in ``batches`` (lists of tuples),
    as `columns_of` gives them."""
    reservoir = Reservoir(size, seed=seed)
    for rows in batches:
        if rows:
            reservoir.add({"row": _objects(rows)})
    return columns_of(list(reservoir.sample().get("row", [])), names, numeric)


def _objects(rows: Sequence[Any]) -> np.ndarray:
    array = np.empty(len(rows), dtype=object)
    array[:] = [tuple(row) for row in rows]
    return array


def oversampled(size: int, rows: int) -> float:
    """The Bernoulli fraction (0-1) whose sample of ``rows`` rows holds ``size`` rows but for a
    chance below 1e-6: ``size`` plus 5 standard deviations and 10 rows, over ``rows``."""
    if rows <= 0:
        return 1.0
    return min(1.0, (size + 5.0 * math.sqrt(size) + 10.0) / rows)
