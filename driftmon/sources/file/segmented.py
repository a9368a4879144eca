"""Counting a file source per segment (:mod:`driftmon.segments`), in the same single pass.

Parquet (every file of the source in Parquet): each file is opened once as for the
unsegmented count; its ``by`` columns are read first and give every row of the window a
segment code, then each feature is a task that reads its one column and counts
``segment * bins + bin``. Other formats: the row batches of the features and the ``by``
columns, each batch coded and counted. A reference keeps each feature's whole column, as
unsegmented (quantile edges need it): the bins come from the whole column, the counts per
segment. The daemon's live-file cache is not used for a segmented count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    check_live_codes,
    derive_segmentation,
    empty_segmented,
    row_keys,
    segment_counts,
)
from driftmon.sources.base import SourceContext
from driftmon.sources.file.columns import rows_in, whole_column
from driftmon.sources.file.format import window_rows
from driftmon.sources.file.parquet import OpenParquet, Parquet, open_files

if TYPE_CHECKING:
    from driftmon.histogram import Column
    from driftmon.sources.file.source import FileSource


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
    source: FileSource, specs: Mapping[str, BinSpec], segmentation: Segmentation
) -> dict[str, SegmentedHistogram]:
    """Live counts per segment of every feature, one pass over the files."""
    reading = source._reading()
    paths = source.paths()
    size = segmentation.size
    result = {name: empty_segmented(spec, size) for name, spec in specs.items()}
    every: list[np.ndarray] = []
    with SourceContext(source.describe()), ThreadPoolExecutor(TASK_THREADS) as pool:
        if _parquet_only(source, paths):
            for parquet in open_files(paths, list(dict.fromkeys([*specs, *segmentation.by])), reading):
                codes = segmentation.codes(_file_keys(parquet, segmentation.by))
                every.append(codes)

                def one(name: str, parquet: OpenParquet = parquet, codes: np.ndarray = codes) -> SegmentedHistogram:
                    return _column_counts(parquet, name, specs[name], codes, size)

                for name, counted in zip(specs, pool.map(one, specs), strict=True):
                    result[name] = result[name].merge(counted)
        else:
            files = [(path, source._format_of(path)) for path in paths]
            for batch in window_rows(files, list(dict.fromkeys([*specs, *segmentation.by])), reading):
                codes = segmentation.codes(row_keys([batch[name] for name in segmentation.by]))
                every.append(codes)

                def counted(
                    name: str, batch: dict[str, Column] = batch, codes: np.ndarray = codes
                ) -> SegmentedHistogram:
                    return segment_counts(specs[name], batch[name], codes, size, name)

                for name, histogram in zip(specs, pool.map(counted, specs), strict=True):
                    result[name] = result[name].merge(histogram)
        codes = np.concatenate(every) if every else np.zeros(0, dtype=np.intp)
        if codes.size == 0 and source.window is not None:
            raise source.no_rows()
        check_live_codes(segmentation, codes)
    return result


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
