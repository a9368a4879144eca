"""Uniform, seeded row samples of any size of data, in one pass and bounded memory.

`Reservoir` keeps a sample of at most ``size`` rows of the batches it is given: every
row draws a key from one seeded generator, in row order, and the rows with the smallest
keys are kept (reservoir sampling by random keys). Every subset of ``size`` rows is
equally likely, memory is ``size`` rows plus one batch, and the sample depends only on
the seed and the rows in order, not on how they were cut into batches (the generator's
stream is the same however it is drawn). The sample is returned in key order.

Columns are numpy arrays or Arrow arrays (anything with ``take`` or fancy indexing);
knows nothing of formats, engines or Prometheus. Engines that sample themselves
(``USING SAMPLE`` in DuckDB, ``TABLESAMPLE`` in PostgreSQL, Spark's ``sample``) are asked
to by their sources; this is the path for rows driftmon reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["DEFAULT_SEED", "Reservoir"]

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
