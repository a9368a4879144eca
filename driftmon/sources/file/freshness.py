"""How new a file source's live data is, for the freshness check (:mod:`driftmon.feed`).

Without a window: the newest file's modification time. With a window: the newest time of
the window's column among the rows in the window. Each file's time range (its smallest and
largest time, from Parquet statistics where they are kept, else from reading that one
column) is kept per file version (:func:`~driftmon.sources.base.file_identity`), so an
unchanged file is read once; only a file with times at or past the window's end (rows
from the future) is read again, to find its newest row inside the window.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from driftmon.errors import DriftmonError
from driftmon.sources.base import file_identity
from driftmon.sources.file.columns import NO_TIME, as_series, epoch_stamps, reading_errors, widen

if TYPE_CHECKING:
    from driftmon.sources.file.format import FileFormat, Reading
    from driftmon.sources.file_cache import TimeRange

KEPT = 10_000  # file versions whose time range is remembered
_kept: OrderedDict[str, TimeRange] = OrderedDict()
_lock = threading.Lock()
NS = 1_000_000_000


def newest(files: Sequence[tuple[str, FileFormat]], reading: Reading) -> float | None:
    """The newest live time over ``files`` in Unix seconds (None: no file, or no row in the window)."""
    if not files:
        return None
    window, bounds = reading.window, reading.bounds
    if window is None or bounds is None:
        return max(os.stat(path).st_mtime for path, _ in files)
    found: int | None = None
    for path, fmt in files:
        low, high = _span(path, fmt, window.column, reading)
        if low > high or high < bounds[0] or low >= bounds[1]:
            continue  # no timed row, or none in the window
        top = high if high < bounds[1] else _newest_before(path, fmt, window.column, reading, bounds)
        if top is not None and top >= bounds[0]:
            found = top if found is None else max(found, top)
    return None if found is None else found / NS


def outside_window(path: str, fmt: FileFormat, reading: Reading) -> bool:
    """Whether the file is known to hold no row of the window: from Parquet statistics, or a
    time range read before (a CSV or JSON Lines file is not read for it)."""
    window, bounds = reading.window, reading.bounds
    if window is None or bounds is None:
        return False
    if fmt.name != "parquet":
        with _lock:
            span = _kept.get(_key(path, fmt, window.column, reading))
        if span is None:
            return False
    else:
        try:
            span = _span(path, fmt, window.column, reading)
        except (DriftmonError, KeyError):  # no window column: counting names it
            return False
    low, high = span
    return low <= high and (high < bounds[0] or low >= bounds[1])


def _key(path: str, fmt: FileFormat, column: str, reading: Reading) -> str:
    return f"{file_identity(path)}|{fmt.name}|{column}|{reading.config.delimiter}|{reading.config.header}"


def _span(path: str, fmt: FileFormat, column: str, reading: Reading) -> TimeRange:
    key = _key(path, fmt, column, reading)
    with _lock:
        span = _kept.get(key)
        if span is not None:
            _kept.move_to_end(key)
            return span
    if fmt.name == "parquet":
        from driftmon.sources.file.parquet import time_range

        span = time_range(path, column)
    else:
        span = NO_TIME
        for batch in fmt.rows(path, [column], reading):
            span = widen(span, epoch_stamps(as_series(batch[column]), column, path))
    with _lock:
        _kept[key] = span
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return span


def _newest_before(path: str, fmt: FileFormat, column: str, reading: Reading, bounds: tuple[int, int]) -> int | None:
    """The newest time in ``[start, end)`` of a file that also holds later times (read in full)."""
    found: int | None = None
    with reading_errors(path, fmt.name):
        for batch in fmt.batches(path, [column], reading):
            stamps = epoch_stamps(as_series(batch[column]), column, path)
            inside = stamps[(stamps >= bounds[0]) & (stamps < bounds[1])]
            if inside.size:
                top = int(np.max(inside))
                found = top if found is None else max(found, top)
    return found
