"""Counting a file source per segment (:mod:`driftmon.segments`), in the same single pass.

Parquet (every file of the source in Parquet): each file is opened once as for the
unsegmented count; its ``by`` columns are read first and give every row of the window a
segment code, then each feature is a task that reads its one column and counts
``segment * bins + bin``. Other formats: the row batches of the features and the ``by``
columns, each batch coded and counted. A reference keeps each feature's whole column, as
unsegmented (quantile edges need it): the bins come from the whole column, the counts per
segment. With the daemon's live-file cache, each file's counts per segment are kept while
the file is unchanged (:func:`count_segmented`): its segments' values are part of the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from driftmon.histogram import TASK_THREADS, BinningRule, BinSpec, derive_spec
from driftmon.segments import (
    RowKeys,
    Segmentation,
    SegmentedHistogram,
    SegmentedProfile,
    check_live_rows,
    derive_segmentation,
    empty_segmented,
    row_keys,
    segment_counts,
)
from driftmon.sources.base import SourceContext
from driftmon.sources.file.columns import (
    NO_TIME,
    as_series,
    epoch_stamps,
    rows_in,
    select_rows,
    whole_column,
    widen,
)
from driftmon.sources.file.format import FileFormat, Reading, window_rows
from driftmon.sources.file.parquet import OpenParquet, Parquet, open_files, time_range

if TYPE_CHECKING:
    from driftmon.histogram import Column
    from driftmon.sources.file.source import FileSource
    from driftmon.sources.file_cache import FileCounts, TimeRange


def _parquet_only(source: FileSource, paths: Sequence[str]) -> bool:
    return all(isinstance(source._format_of(path), Parquet) for path in paths)


def _file_keys(parquet: OpenParquet, by: Sequence[str]) -> RowKeys:
    """The segment value of each window row of one Parquet file."""
    columns = []
    for name in by:
        chunks = list(parquet.column(name))
        columns.append(pa.concat_arrays(chunks) if chunks else pa.array([], type=pa.string()))
    return row_keys(columns)


def _column_counts(parquet: OpenParquet, name: str, spec: BinSpec, codes: np.ndarray, size: int) -> SegmentedHistogram:
    result = empty_segmented(spec, size)
    offset = 0
    for chunk in parquet.column(name):
        result = result.merge(segment_counts(spec, chunk, codes[offset : offset + len(chunk)], size, name))
        offset += len(chunk)
    return result


def count_segmented(
    source: FileSource,
    specs: Mapping[str, BinSpec],
    segmentation: Segmentation,
    cache: FileCounts | None = None,
) -> dict[str, SegmentedHistogram]:
    """Live counts per segment of every feature, one pass over the files; with ``cache`` (the
    daemon's live-file cache) a file counted before and unchanged since is not read again: its
    counts per segment are kept under a key that holds the segments' values too."""
    size = segmentation.size
    with SourceContext(source.describe()):
        if cache is None:
            result, rows = _count_paths(source, source.paths(), specs, segmentation, source._reading())
        else:
            options = f"{source.options()}|segments={segmentation.by!r}:{segmentation.values!r}"

            def read(
                path: str, specs: Mapping[str, BinSpec], bounds: tuple[int, int] | None
            ) -> tuple[dict[str, SegmentedHistogram], int, TimeRange | None]:
                return _count_file(source, path, specs, segmentation, bounds)

            result = {name: empty_segmented(spec, size) for name, spec in specs.items()}
            rows = np.zeros(size)
            for path in source.paths():
                counted, _ = cache.count(path, specs, source._bounds(), read, options)  # type: ignore[arg-type]
                for name, histogram in counted.items():
                    result[name] = result[name].merge(histogram)  # type: ignore[arg-type]
                rows += _segment_rows(counted.values(), size)  # type: ignore[arg-type]
        if rows.sum() == 0 and source.window is not None:
            raise source.no_rows()
        check_live_rows(segmentation, rows)
    return result


def _segment_rows(histograms: Iterable[SegmentedHistogram], size: int) -> np.ndarray:
    """The rows of each segment, from any feature's counts (each counts every row)."""
    first = next(iter(histograms), None)
    return np.zeros(size) if first is None else first.counts.sum(axis=1) + first.missing


def _count_file(
    source: FileSource,
    path: str,
    specs: Mapping[str, BinSpec],
    segmentation: Segmentation,
    bounds: tuple[int, int] | None,
) -> tuple[dict[str, SegmentedHistogram], int, TimeRange | None]:
    """One file's counts per segment of its rows in ``bounds``, its rows, and the window column's
    time range over the whole file (None without a window): what the live-file cache keeps."""
    reading = source._reading(bounds)
    window = reading.window
    span: list[TimeRange] = [NO_TIME]
    result, rows = _count_paths(source, [path], specs, segmentation, reading, span)
    if window is not None and _parquet_only(source, [path]):
        span[0] = time_range(path, window.column)
    return result, int(rows.sum()), span[0] if window is not None else None


def _count_paths(
    source: FileSource,
    paths: Sequence[str],
    specs: Mapping[str, BinSpec],
    segmentation: Segmentation,
    reading: Reading,
    span: list[TimeRange] | None = None,
) -> tuple[dict[str, SegmentedHistogram], np.ndarray]:
    """The counts per segment of ``paths``' rows in the window, and the rows of each segment
    (``span``: widened to the window column's range of the rows read, other formats than Parquet)."""
    size = segmentation.size
    result = {name: empty_segmented(spec, size) for name, spec in specs.items()}
    rows = np.zeros(size)
    columns = list(dict.fromkeys([*specs, *segmentation.by]))
    with ThreadPoolExecutor(TASK_THREADS) as pool:
        if _parquet_only(source, paths):
            for parquet in open_files(paths, columns, reading):
                codes = segmentation.codes(_file_keys(parquet, segmentation.by))
                rows += np.bincount(codes, minlength=size)

                def one(name: str, parquet: OpenParquet = parquet, codes: np.ndarray = codes) -> SegmentedHistogram:
                    return _column_counts(parquet, name, specs[name], codes, size)

                for name, counted in zip(specs, pool.map(one, specs), strict=True):
                    result[name] = result[name].merge(counted)
        else:
            files = [(path, source._format_of(path)) for path in paths]
            batches = window_rows(files, columns, reading)
            if span is not None and reading.window is not None:
                batches = _timed_rows(files, columns, reading, span)
            for batch in batches:
                codes = segmentation.codes(row_keys([batch[name] for name in segmentation.by]))
                rows += np.bincount(codes, minlength=size)

                def count_batch(
                    name: str, batch: dict[str, Column] = batch, codes: np.ndarray = codes
                ) -> SegmentedHistogram:
                    return segment_counts(specs[name], batch[name], codes, size, name)

                for name, histogram in zip(specs, pool.map(count_batch, specs), strict=True):
                    result[name] = result[name].merge(histogram)
    return result, rows


def _timed_rows(
    files: Sequence[tuple[str, FileFormat]], columns: Sequence[str], reading: Reading, span: list[TimeRange]
) -> Iterator[dict[str, Column]]:
    """:func:`window_rows`, widening ``span[0]`` to the window column's times of every row read."""
    window, bounds = reading.window, reading.bounds
    for path, fmt in files:
        for chunk in fmt.rows(path, reading.with_window_column(columns), reading):
            if window is not None:
                stamps = epoch_stamps(as_series(chunk[window.column]), window.column, path)
                span[0] = widen(span[0], stamps)
                keep = None if bounds is None else (stamps >= bounds[0]) & (stamps < bounds[1])
                chunk = select_rows(chunk, columns, None if keep is None or keep.all() else keep)
            yield chunk


def profile_segmented(
    source: FileSource, rules: Sequence[BinningRule], by: Sequence[str], top: int
) -> SegmentedProfile:
    """Reference bins from each whole column, counts per segment (the top ``top`` values of ``by``)."""
    reading = source._reading()
    paths = source.paths()
    names = [rule.name for rule in rules]
    with SourceContext(source.describe()), ThreadPoolExecutor(TASK_THREADS) as pool:
        if _parquet_only(source, paths):
            files = list(open_files(paths, list(dict.fromkeys([*names, *by])), reading))
            keys = [_file_keys(parquet, by) for parquet in files]

            def whole(name: str) -> Column:
                parts = [chunk for parquet in files for chunk in parquet.column(name)]
                return pa.chunked_array(parts) if parts else pa.chunked_array([], type=pa.null())

            rows = sum(parquet.rows for parquet in files)
        else:
            parts: dict[str, list[Column]] = {name: [] for name in names}
            keys = []
            rows = 0
            files_ = [(path, source._format_of(path)) for path in paths]
            for batch in window_rows(files_, list(dict.fromkeys([*names, *by])), reading):
                rows += rows_in(batch)
                keys.append(row_keys([batch[name] for name in by]))
                for name in names:
                    parts[name].append(batch[name])
            by_rule = {rule.name: rule for rule in rules}

            def whole(name: str) -> Column:
                return whole_column(parts.pop(name), by_rule[name])

        if rows == 0 and source.window is not None:
            raise source.no_rows()
        segmentation = derive_segmentation(by, top, keys)
        codes = np.concatenate([segmentation.codes(k) for k in keys]) if keys else np.zeros(0, dtype=np.intp)

        def one(rule: BinningRule) -> SegmentedHistogram:
            values = whole(rule.name)
            spec = derive_spec(rule, values)
            return segment_counts(spec, values, codes, segmentation.size, rule.name)

        histograms = dict(zip(names, pool.map(one, rules), strict=True))
    return SegmentedProfile(segmentation, histograms)
