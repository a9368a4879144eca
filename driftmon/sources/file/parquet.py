"""Parquet: each file opened once, each feature's column read and binned by its own task.

Each feature is a task on a thread pool (numeric ones first) that reads its one column (at
most COLUMN_BATCH_ROWS rows at a time, text as Arrow dictionaries) and bins it; a reference
needs one whole column per task (quantile edges). With a ``window``, row groups whose
statistics lie outside it are skipped without being read.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from driftmon._imports import lazy_import
from driftmon.histogram import TASK_THREADS, BinningRule, BinSpec, Histogram, NumericBins, empty, merge_all
from driftmon.sources import file_slices as slices
from driftmon.sources.base import SourceContext, epoch_ns
from driftmon.sources.file.columns import (
    BATCH_ROWS,
    NO_TIME,
    check_columns,
    epoch_stamps,
    is_text,
    known_type,
    reading_errors,
    widen,
    window_mask,
)
from driftmon.sources.file.format import Batch, FileFormat, Reading

if TYPE_CHECKING:
    import pandas as pd

    from driftmon.sources.file_cache import TimeRange
    from driftmon.sources.file_slices import RowCodes
else:
    pd = lazy_import("pandas")  # ~0.3 s to import; Parquet sources never need it

# Values per read when Parquet is read column by column (8 MB of float64).
COLUMN_BATCH_ROWS = 1_048_576
# Files of at most this many rows (in the window) are small: a read per column would cost more
# than the counting, so each is read in one call of every wanted column, and small files are
# counted together, a task per about SMALL_GROUP_ROWS rows, numbers of one task binned at once.
SMALL_FILE_ROWS = 131_072
SMALL_GROUP_ROWS = 65_536
# ... and of at most this many values (rows x wanted columns; measured on 25 columns): a wide
# file (100 k rows x 500 columns) read in one call held 1.5 GB and was counted on one thread.
SMALL_FILE_VALUES = 131_072 * 25
SMALL_GROUP_VALUES = 65_536 * 25
# A reference of small files is read a group of columns at a time: about this many values held
# at once (64 MB of float64), so many small files cost few reads without holding the whole table.
REFERENCE_GROUP_VALUES = 1 << 23


class Parquet(FileFormat):
    """Parquet files, read column by column (see the module docstring)."""

    name = "parquet"
    suffixes = (".parquet", ".pq")

    def batches(self, path: str, columns: Sequence[str], reading: Reading) -> Iterator[Batch]:
        window = reading.window
        for frame in _row_batches(path, columns, window.column if window else None, reading.bounds):
            yield {name: frame[name] for name in columns}

    def probe(self, path: str, columns: Sequence[str], reading: Reading) -> tuple[dict[str, str], int | None]:
        schema = pq.read_schema(path)
        check_columns(path, columns, schema)
        return {name: str(schema.field(name).type) for name in columns}, pq.ParquetFile(path).metadata.num_rows

    def columns(self, path: str, reading: Reading) -> dict[str, str | None]:
        schema = pq.read_schema(path)
        index = _pandas_index(schema)  # a DataFrame's index stored as a column is not data
        return {field.name: known_type(field.type) for field in schema if field.name not in index}

    def count(
        self, path: str, specs: Mapping[str, BinSpec], reading: Reading, with_range: bool
    ) -> tuple[dict[str, Histogram], int, TimeRange | None]:
        window = reading.window
        result, rows = self.count_files([path], specs, reading)
        span = time_range(path, window.column) if window is not None and with_range else None
        return result, rows, span

    def code(self, path: str, specs: Mapping[str, BinSpec], reading: Reading) -> RowCodes | None:
        """The row codes (FileFormat.code) from the same column reads as :meth:`count`, a task per feature."""
        window = reading.window
        assert window is not None
        parquet = next(open_files([path], list(specs), reading))
        stamps = [epoch_stamps(chunk.to_pandas(), window.column, path) for chunk in parquet.column(window.column)]
        times = np.concatenate(stamps) if stamps else np.zeros(0, dtype=np.int64)
        columns = {name: functools.partial(parquet.column, name) for name in specs}
        with SourceContext(reading.source.describe()), ThreadPoolExecutor(TASK_THREADS) as pool:
            return slices.build(times, columns, specs, pool)

    def count_files(
        self, paths: Sequence[str], specs: Mapping[str, BinSpec], reading: Reading
    ) -> tuple[dict[str, Histogram], int]:
        """Histograms of every file's rows in the window, and the rows: a large file's columns as
        tasks, small files (SMALL_FILE_ROWS) in groups of about SMALL_GROUP_ROWS rows, each group
        one task, all on one pool; merged in file order."""
        result = {name: empty(spec) for name, spec in specs.items()}
        rows = 0
        parts: list[Any] = []  # in file order: futures of small groups, results of large files
        group: list[OpenParquet] = []
        with ThreadPoolExecutor(TASK_THREADS) as pool:

            def flush() -> None:
                if len(group) == 1 and len(paths) == 1:  # one small file: counted here, no hand-off
                    parts.append(_count_small(list(group), specs, reading))
                elif group:
                    parts.append(pool.submit(_count_small, list(group), specs, reading))
                group.clear()

            for parquet in open_files(paths, list(specs), reading):
                rows += parquet.rows
                if not _small(parquet, len(specs)):  # its reads stay bounded
                    flush()
                    parts.append(_count_columns(parquet, specs, reading, pool))
                    continue
                group.append(parquet)
                held = sum(f.rows for f in group)
                if held >= SMALL_GROUP_ROWS or held * len(specs) >= SMALL_GROUP_VALUES:
                    flush()
            flush()
            for part in parts:
                counted = part.result() if hasattr(part, "result") else part
                for name, histogram in counted.items():
                    result[name] = result[name].merge(histogram)
        return result, rows

    def profile(self, paths: Sequence[str], rules: Sequence[BinningRule], reading: Reading) -> dict[str, Histogram]:
        files, order = _reference(paths, rules, reading)
        with ThreadPoolExecutor(TASK_THREADS) as pool:
            if len(files) > 1 and all(_small(f, len(rules)) for f in files):
                profiled = _profile_small(files, order, reading, pool)
            else:
                tasks = pool.map(lambda r: _profile(files, paths, r, reading), order)
                profiled = dict(zip((r.name for r in order), tasks, strict=True))
        return {rule.name: profiled[rule.name] for rule in rules}

    def profile_and_count(
        self,
        paths: Sequence[str],
        rules: Sequence[BinningRule],
        reading: Reading,
        live_paths: Sequence[str],
        live_reading: Reading,
    ) -> tuple[dict[str, Histogram], dict[str, Histogram], int] | None:
        """The reference profiled and the live files counted as one stream of column tasks, and
        the live rows: each task bins one feature's reference column, then counts its live column
        with those bins, numeric features first, so no side waits for the other to finish. None
        when a live file is small (those are counted best a file at a time: :meth:`count_files`),
        found before any other file is opened (the caller then opens them all again)."""
        live_files = []
        for parquet in open_files(live_paths, [rule.name for rule in rules], live_reading):
            if _small(parquet, len(rules)):
                return None
            live_files.append(parquet)
        files, order = _reference(paths, rules, reading)

        def one(rule: BinningRule) -> tuple[Histogram, Histogram]:
            reference = _profile(files, paths, rule, reading)
            spec, name = reference.spec, rule.name
            chunks = (chunk for parquet in live_files for chunk in parquet.column(name))
            return reference, merge_all(spec, (live_reading.bin(spec, chunk, name) for chunk in chunks))

        with ThreadPoolExecutor(TASK_THREADS) as pool:
            both = dict(zip((rule.name for rule in order), pool.map(one, order), strict=True))
        reference = {rule.name: both[rule.name][0] for rule in rules}
        return reference, {rule.name: both[rule.name][1] for rule in rules}, sum(f.rows for f in live_files)


def _reference(
    paths: Sequence[str], rules: Sequence[BinningRule], reading: Reading
) -> tuple[list[OpenParquet], list[BinningRule]]:
    """The reference files opened, and the rules in task order: numeric features first (the longest)."""
    files = list(open_files(paths, [rule.name for rule in rules], reading))
    if reading.window is not None and sum(f.rows for f in files) == 0:
        raise reading.source.no_rows()
    schema = files[0].parquet.schema_arrow if files else pq.read_schema(paths[0])

    def numeric_first(rule: BinningRule) -> bool:
        if rule.kind is not None:
            return rule.kind != "numeric"
        kind = schema.field(rule.name).type
        return not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind))

    return files, sorted(rules, key=numeric_first)


def _profile(files: Sequence[OpenParquet], paths: Sequence[str], rule: BinningRule, reading: Reading) -> Histogram:
    """One feature's reference histogram: its whole column (quantile edges need all of it)."""
    parts = [chunk for parquet in files for chunk in parquet.column(rule.name)]
    whole = pa.chunked_array(parts) if parts else _empty_column(paths[0], rule.name)
    del parts
    return reading.profile_column(rule, whole)


def _profile_small(
    files: Sequence[OpenParquet], order: Sequence[BinningRule], reading: Reading, pool: ThreadPoolExecutor
) -> dict[str, Histogram]:
    """A reference of many small files: each file read once per group of columns (all of a group's
    columns in one call, a task per file) instead of once per column, a group holding at most
    about REFERENCE_GROUP_VALUES values; then each column of the group profiled by its own task."""
    rows = max(1, sum(f.rows for f in files))
    width = max(1, REFERENCE_GROUP_VALUES // rows)
    profiled: dict[str, Histogram] = {}
    for start in range(0, len(order), width):
        group = order[start : start + width]
        names = [rule.name for rule in group]
        read = list(pool.map(lambda parquet, names=names: list(parquet.columns(names)), files))
        columns = {name: [chunk for batches in read for batch in batches for chunk in batch[name]] for name in names}
        del read

        def one(rule: BinningRule, columns: dict[str, list[pa.Array]] = columns) -> Histogram:
            parts = columns.pop(rule.name)  # let go as soon as profiled
            whole = pa.chunked_array(parts) if parts else _empty_column(files[0].path, rule.name)
            del parts
            return reading.profile_column(rule, whole)

        profiled.update(zip(names, pool.map(one, group), strict=True))
    return profiled


def _pandas_index(schema: pa.Schema) -> set[str]:
    """The columns pandas wrote for a DataFrame's index (``__index_level_0__``), from its metadata."""
    try:
        stored = json.loads((schema.metadata or {}).get(b"pandas", b"{}"))
        return {name for name in stored.get("index_columns", ()) if isinstance(name, str)}
    except (ValueError, AttributeError):
        return set()


def _count_columns(
    parquet: OpenParquet, specs: Mapping[str, BinSpec], reading: Reading, pool: ThreadPoolExecutor
) -> dict[str, Histogram]:
    """One task per feature (numeric first, the longest): read its column, bin it."""

    def one(name: str) -> Histogram:
        spec = specs[name]
        return merge_all(spec, (reading.bin(spec, chunk, name) for chunk in parquet.column(name)))

    order = sorted(specs, key=lambda name: not isinstance(specs[name], NumericBins))
    counted = dict(zip(order, pool.map(one, order), strict=True))
    return {name: counted[name] for name in specs}


def _small(parquet: OpenParquet, columns: int) -> bool:
    """A file whose rows in the window are few enough, in rows and in values, to be read in one call."""
    rows = parquet.rows
    return rows <= min(SMALL_FILE_ROWS, COLUMN_BATCH_ROWS) and rows * max(columns, 1) <= SMALL_FILE_VALUES


def _count_small(files: Sequence[OpenParquet], specs: Mapping[str, BinSpec], reading: Reading) -> dict[str, Histogram]:
    """Small files together: each read once (every column), a feature's numbers binned at once,
    its text per file (dictionaries differ)."""
    names = list(specs)
    columns: dict[str, list[pa.Array]] = {name: [] for name in names}
    for parquet in files:
        for batch in parquet.columns(names):
            for name in names:
                columns[name].extend(batch[name])
    result = {}
    for name, spec in specs.items():
        chunks = columns.pop(name)
        kinds = {chunk.type for chunk in chunks}
        same_numbers = len(kinds) == 1 and (pa.types.is_floating(chunks[0].type) or pa.types.is_integer(chunks[0].type))
        if isinstance(spec, NumericBins) and same_numbers:
            whole = pa.chunked_array(chunks) if len(chunks) > 1 else chunks[0]
            result[name] = reading.bin(spec, whole, name)
        else:
            result[name] = merge_all(spec, (reading.bin(spec, chunk, name) for chunk in chunks))
    return result


def open_files(paths: Sequence[str], columns: Sequence[str], reading: Reading) -> Iterator[OpenParquet]:
    """Each Parquet file opened once, with the row groups that may hold rows of the window."""
    window, bounds = reading.window, reading.bounds
    for path in paths:
        with reading_errors(path, "parquet"):
            # The footer, parsed once (the readers share it): check the columns before reading any.
            parquet = pq.ParquetFile(path, pre_buffer=False)
            schema = parquet.schema_arrow
            check_columns(path, [*columns, window.column] if window else columns, schema)
            # Text columns come as Arrow dictionaries straight from Parquet's dictionary pages.
            dictionaries = [c for c in columns if is_text(schema.field(c).type)]
            groups: list[tuple[int, np.ndarray | None]] = []
            rows = 0
            for index in range(parquet.num_row_groups):
                if window is None or bounds is None:
                    groups.append((index, None))
                    rows += parquet.metadata.row_group(index).num_rows
                    continue
                if not _may_overlap(parquet, index, window.column, bounds):
                    continue
                stamps = parquet.iter_batches(
                    batch_size=COLUMN_BATCH_ROWS, columns=[window.column], row_groups=[index], use_threads=False
                )
                parts = [window_mask(b.column(0).to_pandas(), window.column, bounds, path) for b in stamps]
                mask = np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
                if mask.any():
                    groups.append((index, None if mask.all() else mask))
                    rows += int(mask.sum())
        yield OpenParquet(path, parquet, groups, rows, dictionaries)


def time_range(path: str, column: str) -> TimeRange:
    """The smallest and largest time of ``column`` in the file (ns), from the row groups'
    statistics when every group has them (free), else from reading that one column."""
    with reading_errors(path, "parquet"):
        parquet = pq.ParquetFile(path)
        field = parquet.schema_arrow.field(column)
        if pa.types.is_timestamp(field.type) or pa.types.is_date(field.type):
            index = _leaf_index(parquet, column)
            lows, highs = [], []
            for group in range(parquet.num_row_groups):
                metadata = parquet.metadata.row_group(group)
                statistics = metadata.column(index).statistics if index is not None else None
                if metadata.num_rows == 0 or (statistics is not None and statistics.null_count == metadata.num_rows):
                    continue
                if statistics is None or not statistics.has_min_max:
                    break
                lows.append(statistics.min)
                highs.append(statistics.max)
            else:
                if not lows:
                    return NO_TIME
                low = epoch_ns(pd.Series(lows, dtype=object)).min()
                high = epoch_ns(pd.Series(highs, dtype=object)).max()
                if low != np.iinfo(np.int64).min:
                    return int(low), int(high)
        span = NO_TIME
        for batch in parquet.iter_batches(batch_size=COLUMN_BATCH_ROWS, columns=[column], use_threads=False):
            span = widen(span, epoch_stamps(batch.column(0).to_pandas(), column, path))
        return span


class OpenParquet:
    """One open Parquet file and its row groups to read, each with its window mask (None: all rows).

    Columns are read one at a time, each by the thread that bins it: every thread opens its
    own reader of the file (a ``pq.ParquetFile`` must not be read from two threads at once:
    Arrow can deadlock), sharing the footer already read.
    """

    def __init__(
        self,
        path: str,
        parquet: pq.ParquetFile,
        groups: list[tuple[int, np.ndarray | None]],
        rows: int,
        dictionaries: Sequence[str] = (),
    ) -> None:
        self.path = path
        self.parquet = parquet
        self.groups = groups
        self.rows = rows
        self.dictionaries = list(dictionaries)  # text columns, read as Arrow dictionaries
        self._readers = threading.local()

    def _reader(self) -> pq.ParquetFile:
        reader: pq.ParquetFile | None = getattr(self._readers, "file", None)
        if reader is None:
            reader = pq.ParquetFile(
                self.path, metadata=self.parquet.metadata, read_dictionary=self.dictionaries, pre_buffer=False
            )
            self._readers.file = reader
        return reader

    def columns(self, names: Sequence[str]) -> Iterator[dict[str, list[pa.Array]]]:
        """Every row group's values of ``names`` (of the window's rows), one read per group: for
        small files, where a read per column costs more than its values."""
        with reading_errors(self.path, "parquet"):
            reader = self._reader()
            for index, mask in self.groups:
                table = reader.read_row_group(index, columns=list(names), use_threads=False)
                if mask is not None:
                    table = table.filter(pa.array(mask))
                yield {name: table.column(name).chunks for name in names}

    def column(self, name: str) -> Iterator[pa.Array]:  # plain arrays, so they concatenate cheaply
        """All the file's values of one column (of the window's rows), at most COLUMN_BATCH_ROWS at a time."""
        with reading_errors(self.path, "parquet"):
            reader = self._reader()
            for index, mask in self.groups:
                offset = 0
                if reader.metadata.row_group(index).num_rows <= COLUMN_BATCH_ROWS:
                    # A small enough group in one read (iter_batches costs twice as much).
                    batches: Iterable[Any] = [reader.read_row_group(index, columns=[name], use_threads=False)]
                else:
                    batches = reader.iter_batches(
                        batch_size=COLUMN_BATCH_ROWS, columns=[name], row_groups=[index], use_threads=False
                    )
                for batch in batches:
                    values = batch.column(0)
                    if mask is not None:
                        values = values.filter(pa.array(mask[offset : offset + batch.num_rows]))
                        offset += batch.num_rows
                    yield from values.chunks if isinstance(values, pa.ChunkedArray) else [values]


def _empty_column(path: str, name: str) -> pa.Array:
    """A column with no rows, typed as in the file (so the feature's kind is still inferred)."""
    with reading_errors(path, "parquet"):
        field = pq.ParquetFile(path).schema_arrow.field(name)
    return pa.array([], type=field.type)


def _row_batches(
    path: str, columns: Sequence[str], window_column: str | None, bounds: tuple[int, int] | None
) -> Iterator[pd.DataFrame]:
    parquet = pq.ParquetFile(path)
    check_columns(path, columns, parquet.schema_arrow)
    groups = list(range(parquet.num_row_groups))
    if window_column is not None and bounds is not None:
        groups = [g for g in groups if _may_overlap(parquet, g, window_column, bounds)]
    if not groups:
        return
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=list(columns), row_groups=groups):
        yield batch.to_pandas()
        del batch


def _leaf_index(parquet: pq.ParquetFile, column: str) -> int | None:
    """The Parquet leaf column of a top-level ``column`` (its statistics' index). Not the Arrow
    field index: a struct or list column before it holds several leaves."""
    schema = parquet.metadata.schema
    return next((i for i in range(len(schema)) if schema.column(i).path == column), None)


def _may_overlap(parquet: pq.ParquetFile, group: int, column: str, bounds: tuple[int, int]) -> bool:
    """False only when the row group's statistics prove no row of it is in the window."""
    field = parquet.schema_arrow.field(column)
    if not (pa.types.is_timestamp(field.type) or pa.types.is_date(field.type)):
        return True  # strings and numbers: no cheap, safe comparison of the statistics
    index = _leaf_index(parquet, column)
    if index is None:
        return True
    metadata = parquet.metadata.row_group(group)
    try:
        statistics = metadata.column(index).statistics
    except (IndexError, ValueError):
        return True
    if statistics is None or not statistics.has_min_max:
        return True
    low, high = epoch_ns(pd.Series([statistics.min, statistics.max], dtype=object))
    if low == np.iinfo(np.int64).min or high == np.iinfo(np.int64).min:
        return True
    return bool(high >= bounds[0] and low < bounds[1])
