"""A uniform seeded row sample of Parquet files, its rows chosen before any value is read.

The files' rows in the window are counted first, from the footers (and, with a window, from
the window column's values in the row groups whose statistics overlap it: `open_files`), so
the ``size`` row numbers of the sample are drawn up front (seeded, without replacement:
every subset of ``size`` of the ``rows`` rows equally likely). Then each column is read once,
by its own task (text as Arrow dictionaries), and only the chosen rows are taken from each
batch as it is read, from its buffers: no pandas (nor Arrow's compute functions), no
reservoir, memory one column batch per task plus the sample. The sample is in row order
and depends only on the seed and the rows (their number and order), not on how the files
are cut into row groups.

A text column comes back as an object array of ``str`` (a missing value ``None``), a number
column as numpy numbers (a missing value NaN). A column whose type differs between files is
joined as numpy joins them (numbers to float, numbers and text to objects).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from driftmon.arrow_kernels import primitive, valid
from driftmon.histogram import TASK_THREADS
from driftmon.sources.file.columns import is_text
from driftmon.sources.file.format import Reading
from driftmon.sources.file.parquet import OpenParquet, open_files

__all__ = ["chosen_rows", "sample_parquet"]


def chosen_rows(rows: int, size: int, seed: int) -> np.ndarray:
    """``min(size, rows)`` distinct row numbers of ``range(rows)``, uniform and seeded, sorted."""
    if rows <= size:
        return np.arange(rows, dtype=np.int64)
    return np.sort(np.random.default_rng(seed).choice(rows, size, replace=False)).astype(np.int64)


def _taken(values: pa.Array, rows: np.ndarray) -> np.ndarray:
    """Rows ``rows`` of one Arrow array as numpy, read from its buffers (`arrow_kernels`: Arrow's
    own ``take`` and ``to_numpy`` would import pandas): text as objects (None missing), numbers
    as numpy (an integer column with a missing value as float, NaN missing)."""
    kind = values.type
    if pa.types.is_dictionary(kind) and is_text(kind.value_type):
        indices = values.indices
        codes = primitive(indices, np.dtype(f"i{indices.type.bit_width // 8}"))[rows]
        present = valid(indices)[rows]
        entries = np.array([*values.dictionary.to_pylist(), None], dtype=object)
        return np.asarray(entries[np.where(present, codes, len(entries) - 1)], dtype=object)
    if pa.types.is_floating(kind) or pa.types.is_integer(kind):
        letter = "f" if pa.types.is_floating(kind) else ("i" if pa.types.is_signed_integer(kind) else "u")
        numbers = primitive(values, np.dtype(f"{letter}{kind.bit_width // 8}"))[rows]
        if values.null_count == 0:
            return np.array(numbers)  # a copy
        return np.asarray(np.where(valid(values)[rows], numbers.astype(np.float64), np.nan))
    # anything else (plain text, booleans, dates, decimals): value by value, the chosen rows only
    found = [values[int(row)].as_py() for row in rows]
    if pa.types.is_boolean(kind) and None not in found:
        return np.array(found, dtype=bool)
    return np.array(found, dtype=object)


def _column(files: Sequence[tuple[OpenParquet, np.ndarray]], name: str) -> np.ndarray:
    """The chosen rows of one column (``files``: each file with its chosen local row numbers)."""
    parts: list[np.ndarray] = []
    for parquet, wanted in files:
        offset = 0
        for values in parquet.column(name):
            low, high = np.searchsorted(wanted, [offset, offset + len(values)])
            if high > low:
                parts.append(_taken(values, wanted[low:high] - offset))
            offset += len(values)
    if not parts:
        return np.empty(0)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def sample_parquet(
    paths: Sequence[str], columns: Sequence[str], size: int, seed: int, reading: Reading
) -> dict[str, np.ndarray]:
    """At most ``size`` rows of ``columns`` of the files' rows in the window (name -> values)."""
    files = list(open_files(paths, list(columns), reading))
    starts = np.cumsum([0] + [parquet.rows for parquet in files])
    chosen = chosen_rows(int(starts[-1]), size, seed)
    bounds = np.searchsorted(chosen, starts)
    per_file = [
        (parquet, chosen[bounds[i] : bounds[i + 1]] - starts[i])
        for i, parquet in enumerate(files)
        if bounds[i + 1] > bounds[i]
    ]
    with ThreadPoolExecutor(TASK_THREADS) as pool:
        found = dict(zip(columns, pool.map(lambda name: _column(per_file, name), columns), strict=True))
    return found
