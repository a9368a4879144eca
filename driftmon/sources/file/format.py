"""The one interface every file format implements, and the counting from row batches they share.

A format is one object (:class:`FileFormat`) with its ``name``, its file ``suffixes``,
``batches`` (one file's rows of some columns, unfiltered) and ``probe`` (a file's column
types, and its rows where the metadata says). ``count`` (one file's live histograms) and
``profile`` (reference histograms of files all in this format) default to binning those row
batches; a format that reads column by column (Parquet) overrides them. A new format is one
module holding one such object, and its entry in ``formats.FORMATS``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pyarrow as pa

from driftmon.histogram import TASK_THREADS, BinningRule, BinSpec, Histogram, bin_values, empty, profile_column
from driftmon.sources import file_slices as slices
from driftmon.sources.base import SourceContext, Window
from driftmon.sources.file.columns import (
    NO_TIME,
    as_series,
    epoch_stamps,
    reading_errors,
    rows_in,
    select_rows,
    whole_column,
    widen,
    window_mask,
)

if TYPE_CHECKING:
    from driftmon.histogram import Column
    from driftmon.sources.base import Source
    from driftmon.sources.file.options import FileSourceConfig
    from driftmon.sources.file_cache import TimeRange
    from driftmon.sources.file_slices import RowCodes

Batch = dict[str, "Column"]


@dataclass(frozen=True, slots=True)
class Reading:
    """How one source reads its files for one evaluation: its options and its window's bounds."""

    source: Source  # for messages: where the rows come from, a window that selected none
    config: FileSourceConfig
    bounds: tuple[int, int] | None  # the window as [start, end) in ns since the epoch; None: no window

    @property
    def window(self) -> Window | None:
        return self.config.window

    def with_window_column(self, columns: Sequence[str]) -> list[str]:
        """``columns`` and the window's column (once), in that order."""
        window = self.config.window
        return list(dict.fromkeys([*columns, window.column])) if window else list(columns)

    def bin(self, spec: BinSpec, values: Column, name: str) -> Histogram:
        with SourceContext(self.source.describe()):
            return bin_values(spec, values, name)

    def profile_column(self, rule: BinningRule, values: Column) -> Histogram:
        with SourceContext(self.source.describe()):
            return profile_column(rule, values)


class FileFormat(ABC):
    """One file format: how its files are read, counted and probed (see the module docstring)."""

    name: ClassVar[str]  # as `format:` names it, and in messages ("cannot read x as csv")
    suffixes: ClassVar[tuple[str, ...]]  # lower case, with the dot

    @abstractmethod
    def batches(self, path: str, columns: Sequence[str], reading: Reading) -> Iterator[Batch]:
        """One file's rows of ``columns`` (the window's column among them), unfiltered, by name."""

    @abstractmethod
    def probe(self, path: str, columns: Sequence[str], reading: Reading) -> tuple[dict[str, str], int | None]:
        """Each column's type in the file and its rows (None: not known without reading it all),
        reading no more than metadata or a first block; a DataError if a column is unusable."""

    @abstractmethod
    def columns(self, path: str, reading: Reading) -> dict[str, str | None]:
        """Every column of one file and its type (None: not told by metadata or the first block,
        such as a column null throughout it), reading no more than that."""

    def probe_note(self, paths: Sequence[str], columns: Sequence[str], reading: Reading) -> str:
        """A few words on how these files of this format are read ('' if nothing to add)."""
        return ""

    def rows(self, path: str, columns: Sequence[str], reading: Reading) -> Iterator[Batch]:
        """:meth:`batches`, with I/O and decoding failures as errors naming the file."""
        with reading_errors(path, self.name):
            yield from self.batches(path, columns, reading)

    def count(
        self, path: str, specs: Mapping[str, BinSpec], reading: Reading, with_range: bool
    ) -> tuple[dict[str, Histogram], int, TimeRange | None]:
        """One file's histograms of the rows within ``reading.bounds``, the rows counted, and the
        window column's range over the whole file (None without a window or ``with_range``)."""
        window, bounds = reading.window, reading.bounds
        result = {name: empty(spec) for name, spec in specs.items()}
        columns = list(specs)
        rows, span = 0, NO_TIME
        with ThreadPoolExecutor(TASK_THREADS) as pool:  # numpy and Arrow release the GIL while binning
            for chunk in self.rows(path, reading.with_window_column(columns), reading):
                if window is not None and bounds is not None:
                    stamps = epoch_stamps(as_series(chunk[window.column]), window.column, path)
                    span = widen(span, stamps)
                    keep = (stamps >= bounds[0]) & (stamps < bounds[1])
                    chunk = select_rows(chunk, columns, None if keep.all() else keep)
                rows += rows_in(chunk)
                binned = pool.map(reading.bin, specs.values(), [chunk[name] for name in specs], specs)
                for name, histogram in zip(specs, binned, strict=True):
                    result[name] = result[name].merge(histogram)
        return result, rows, (span if window is not None else None)

    def code(self, path: str, specs: Mapping[str, BinSpec], reading: Reading) -> RowCodes | None:
        """One file's timed rows as bin numbers in time order (every row of it: ``reading`` has a
        window and no bounds), for the live-file cache (:mod:`driftmon.sources.file_slices`);
        None where the codes cannot stand for the counts. Holds the file's columns while coding."""
        window = reading.window
        assert window is not None
        columns = list(specs)
        stamps: list[np.ndarray] = []
        chunks: dict[str, list[Column]] = {name: [] for name in columns}
        for chunk in self.rows(path, reading.with_window_column(columns), reading):
            stamps.append(epoch_stamps(as_series(chunk[window.column]), window.column, path))
            for name in columns:
                chunks[name].append(chunk[name])
        times = np.concatenate(stamps) if stamps else np.zeros(0, dtype=np.int64)
        with SourceContext(reading.source.describe()), ThreadPoolExecutor(TASK_THREADS) as pool:
            return slices.build(times, {name: chunks[name].copy for name in columns}, specs, pool)

    def count_files(
        self, paths: Sequence[str], specs: Mapping[str, BinSpec], reading: Reading
    ) -> tuple[dict[str, Histogram], int]:
        """The histograms of every file's rows within ``reading.bounds``, and the rows counted:
        :meth:`count` file after file, merged (a format may schedule files together)."""
        result = {name: empty(spec) for name, spec in specs.items()}
        rows = 0
        for path in paths:
            histograms, counted, _ = self.count(path, specs, reading, False)
            rows += counted
            for name, histogram in histograms.items():
                result[name] = result[name].merge(histogram)
        return result, rows

    def profile_and_count(
        self,
        paths: Sequence[str],
        rules: Sequence[BinningRule],
        reading: Reading,
        live_paths: Sequence[str],
        live_reading: Reading,
    ) -> tuple[dict[str, Histogram], dict[str, Histogram], int] | None:
        """Reference and live histograms and the live rows, computed as one stream of tasks;
        None where the format has no such schedule (then profile, then count)."""
        return None

    def profile(self, paths: Sequence[str], rules: Sequence[BinningRule], reading: Reading) -> dict[str, Histogram]:
        """Reference histograms of ``paths`` (all in this format), bins derived per rule."""
        columns = [rule.name for rule in rules]
        return profile_rows(window_rows([(path, self) for path in paths], columns, reading), rules, reading)


def window_rows(files: Iterable[tuple[str, FileFormat]], columns: Sequence[str], reading: Reading) -> Iterator[Batch]:
    """The rows of ``columns`` in the window (all rows without one), file after file, by name."""
    window, bounds = reading.window, reading.bounds
    read = reading.with_window_column(columns)
    for path, fmt in files:
        for chunk in fmt.rows(path, read, reading):
            if window is not None and bounds is not None:
                keep = window_mask(as_series(chunk[window.column]), window.column, bounds, path)
                chunk = select_rows(chunk, columns, None if keep.all() else keep)
            yield chunk


def profile_rows(batches: Iterable[Batch], rules: Sequence[BinningRule], reading: Reading) -> dict[str, Histogram]:
    """Reference histograms from row batches: each column whole (quantile edges need it)."""
    parts: dict[str, list[Column]] = {rule.name: [] for rule in rules}
    rows = 0
    # Streamed even though every batch is kept: pyarrow's threaded read_csv of the whole file
    # measured slower (7.4 s against 6.0 s) and larger (690 MB against 393 MB) on 1 M x 25.
    for batch in batches:
        rows += rows_in(batch)
        for name, values in batch.items():
            parts[name].append(values)
    if rows == 0 and reading.window is not None:
        raise reading.source.no_rows()

    def one(rule: BinningRule) -> Histogram:
        whole = whole_column(parts.pop(rule.name), rule)  # its batches are dropped as it is built
        return reading.profile_column(rule, whole)

    def text_last(rule: BinningRule) -> bool:  # numeric columns first: they take longest
        first = parts[rule.name][0] if parts[rule.name] else None
        return not isinstance(first, pa.Array | pa.ChunkedArray) or pa.types.is_string(first.type)

    order = sorted(rules, key=text_last)
    with ThreadPoolExecutor(TASK_THREADS) as pool:  # a whole column per thread at a time
        profiled = dict(zip((rule.name for rule in order), pool.map(one, order), strict=True))
    return {rule.name: profiled[rule.name] for rule in rules}
