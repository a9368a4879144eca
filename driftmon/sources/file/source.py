"""The ``type: file`` source: its paths and globs, its window, and each file handed to its format."""

from __future__ import annotations

import glob
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from driftmon._imports import lazy_import
from driftmon.errors import DriftmonError, SourceError, plural
from driftmon.histogram import BinningRule, BinSpec, Histogram, empty
from driftmon.sources.base import Columns, Probe, RowSource, Source, file_identity
from driftmon.sources.file.columns import as_series, reading_errors, window_ns
from driftmon.sources.file.format import FileFormat, Reading, profile_rows, window_rows
from driftmon.sources.file.formats import format_of
from driftmon.sources.file.freshness import newest, outside_window
from driftmon.sources.file.options import FileSourceConfig, template_fields
from driftmon.sources.file.paths import glob_files, literal_file, not_a_file
from driftmon.sources.file.schema import file_columns, merge_columns

if TYPE_CHECKING:
    import pandas as pd

    from driftmon.histogram import Column
    from driftmon.segments import Segmentation, SegmentedHistogram, SegmentedProfile
    from driftmon.sources.file_cache import FileCounts, TimeRange
    from driftmon.sources.file_slices import RowCodes
else:
    pd = lazy_import("pandas")  # ~0.3 s to import; Parquet sources never need it


class FileSource(RowSource):
    """Reads only the configured features' columns, in bounded batches (see the package docstring)."""

    Config = FileSourceConfig

    def __init__(self, config: FileSourceConfig, base_dir: Path, now: datetime | float | None = None) -> None:
        super().__init__(config, base_dir, now)
        self.config: FileSourceConfig = config
        paths = [config.path] if isinstance(config.path, str) else config.path
        start, end = config.window.bounds(self.now) if config.window else (self.now, self.now)
        # dict: unique, in the user's order ({start} and {end} often name the same day).
        self.patterns = list(
            dict.fromkeys(
                str(base_dir / p.format(now=self.now, start=start, end=end))
                if template_fields(p)
                else str(base_dir / p.replace("{{", "{").replace("}}", "}"))
                for p in paths
            )
        )
        self.pattern = ", ".join(self.patterns)
        self._refused: DriftmonError | None = None

    def describe(self) -> str:
        return self.pattern

    def paths(self) -> list[str]:
        """The regular files the paths or globs name now, sorted; none at all is a SourceError,
        a glob past its bounds an error naming it (see :mod:`~driftmon.sources.file.paths`)."""
        if self._refused is not None:  # the walk is not repeated (validate asks twice)
            raise self._refused
        found: set[str] = set()
        try:
            for pattern in self.patterns:
                if glob.has_magic(pattern):
                    found.update(glob_files(pattern))
                elif literal_file(pattern):
                    found.add(pattern)
        except DriftmonError as error:
            self._refused = error
            raise
        if found:
            return sorted(found)
        if len(self.patterns) == 1 and not glob.has_magic(self.patterns[0]):
            raise not_a_file(self.patterns[0])
        raise SourceError(f"no file matches {self.pattern}")

    def fingerprint(self) -> str:
        parts = []
        for path in self.paths():
            parts.append(file_identity(path))
        if self.config.window is not None:
            parts.append(self.config.window.describe(self.now))
        return "|".join(parts)

    def count(self, specs: Mapping[str, BinSpec], cache: FileCounts | None = None) -> dict[str, Histogram]:
        """Live histograms, one file at a time (:meth:`count_file`), merged.

        With ``cache`` (the daemon's live-file cache, see :mod:`driftmon.sources.file_cache`)
        a file counted before and unchanged since is not read again.
        """
        bounds = self._bounds()
        paths = self.paths()
        if cache is None and bounds is not None:  # a file known to hold no row of the window is not opened
            reading = self._reading(bounds)
            paths = [path for path in paths if not outside_window(path, self._format_of(path), reading)]
        formats = {self._format_of(path) for path in paths}
        if cache is None and len(formats) == 1:  # the format schedules its files together
            result, rows = formats.pop().count_files(paths, specs, self._reading(bounds))
            if rows == 0 and self.window is not None:
                raise self.no_rows()
            return result
        result = {name: empty(spec) for name, spec in specs.items()}
        rows = 0
        for path in paths:
            histograms: Mapping[str, Histogram]
            if cache is None:
                histograms, counted, _ = self.count_file(path, specs, bounds, with_range=False)
            else:
                histograms, counted = cache.count(path, specs, bounds, self.count_file, self.options(), self.code_file)
            rows += counted
            for name, histogram in histograms.items():
                result[name] = result[name].merge(histogram)
        if rows == 0 and self.window is not None:
            raise self.no_rows()
        return result

    def profile_segments(self, rules: Sequence[BinningRule], by: Sequence[str], top: int) -> SegmentedProfile:
        from driftmon.sources.file.segmented import profile_segmented

        return profile_segmented(self, rules, by, top)

    def count_segments(
        self, specs: Mapping[str, BinSpec], segmentation: Segmentation, cache: FileCounts | None = None
    ) -> dict[str, SegmentedHistogram]:
        from driftmon.sources.file.segmented import count_segmented

        return count_segmented(self, specs, segmentation, cache)

    def options(self) -> str:
        """The settings besides the bins that change what a file counts (for cache keys)."""
        config = self.config
        window = config.window
        csv_options = (config.delimiter, config.na_values, config.encoding, config.header, config.columns)
        window_column = window.column if window else None
        return f"format={config.format}|window={window_column}|csv={csv_options!r}|json={config.json_reader}"

    def count_file(
        self, path: str, specs: Mapping[str, BinSpec], bounds: tuple[int, int] | None, *, with_range: bool = True
    ) -> tuple[dict[str, Histogram], int, TimeRange | None]:
        """Histograms of ONE file's rows within ``bounds`` (``[start, end)`` in ns; None: the
        source's window at its evaluation time, or every row without a window), the rows counted,
        and the window column's range over the whole file (None without a window or
        ``with_range=False``). Any format; the unit the live-file cache keeps."""
        return self._format_of(path).count(path, specs, self._reading(bounds), with_range)

    def code_file(self, path: str, specs: Mapping[str, BinSpec]) -> RowCodes | None:
        """ONE file's timed rows as bin numbers in time order (:mod:`driftmon.sources.file_slices`;
        None: they hold a category the bins lack). Only with a window: the cache codes the files
        its edges cut."""
        assert self.config.window is not None
        return self._format_of(path).code(path, specs, Reading(self, self.config, None))

    def profile(self, rules: Sequence[BinningRule]) -> dict[str, Histogram]:
        paths = self.paths()
        formats = {self._format_of(path) for path in paths}
        reading = self._reading()
        if len(formats) == 1:
            return formats.pop().profile(paths, rules, reading)
        batches = window_rows([(path, self._format_of(path)) for path in paths], [r.name for r in rules], reading)
        return profile_rows(batches, rules, reading)

    def profile_and_count(
        self, rules: Sequence[BinningRule], live: Source
    ) -> tuple[dict[str, Histogram], dict[str, Histogram]] | None:
        """Both sides as one stream of column tasks when both are Parquet files that allow it
        (see :meth:`Parquet.profile_and_count`); None otherwise, and on any error (the caller's
        profile-then-count then reports it exactly as before)."""
        if not isinstance(live, FileSource):
            return None
        try:
            paths, live_paths = self.paths(), live.paths()
            formats = {self._format_of(path) for path in paths} | {live._format_of(path) for path in live_paths}
            if len(formats) != 1:
                return None
            found = formats.pop().profile_and_count(paths, rules, self._reading(), live_paths, live._reading())
        except DriftmonError:
            return None
        return None if found is None else (found[0], found[1])  # live rows > 0: its files are not small

    def sample(
        self, columns: Sequence[str], size: int, seed: int, kinds: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Parquet files: the rows chosen up front from the row counts, only those taken from each
        column as it is read (:mod:`~driftmon.sources.file.parquet_sample`); other formats through
        the reservoir."""
        paths = self.paths()
        if {self._format_of(path).name for path in paths} != {"parquet"}:
            return super().sample(columns, size, seed, kinds)
        from driftmon.sources.file.parquet_sample import sample_parquet

        return sample_parquet(paths, columns, size, seed, self._reading())

    def batches(self, columns: Sequence[str]) -> Iterator[pd.DataFrame]:
        for batch in self.column_batches(columns):
            yield pd.DataFrame({name: as_series(values) for name, values in batch.items()})

    def column_batches(self, columns: Sequence[str]) -> Iterator[dict[str, Column]]:
        """The rows of ``columns`` (and nothing else), at most BATCH_ROWS at a time, by name.

        CSV and JSON Lines come as Arrow arrays (no pandas) unless a JSON file's types change
        midway (then pandas reads that file); Parquet as pandas columns.
        """
        yield from window_rows([(path, self._format_of(path)) for path in self.paths()], columns, self._reading())

    def columns(self) -> Columns:
        """Every file's columns (Parquet metadata; the header and first block of CSV and JSON
        Lines), each file read once while unchanged (:func:`file_columns`), merged; a file known
        to hold no row of the window (an old file in the glob) is left out."""
        reading = self._reading()
        files = [(path, self._format_of(path)) for path in self.paths()]
        inside = [(path, fmt) for path, fmt in files if not outside_window(path, fmt, reading)]
        per_file = [(path, file_columns(path, fmt, reading)) for path, fmt in inside or files]
        return merge_columns(per_file)

    def newest(self) -> float | None:
        """The newest window-column time in the window, or without a window the newest file's
        modification time (:mod:`~driftmon.sources.file.freshness`)."""
        return newest([(path, self._format_of(path)) for path in self.paths()], self._reading())

    def probe(self, columns: Sequence[str]) -> Probe:
        """The files, their columns' types (first file's) and rows (Parquet metadata; CSV and JSON
        Lines are not counted: only their header and first block are read)."""
        reading = self._reading()
        wanted = reading.with_window_column(columns)
        paths = self.paths()
        types: dict[str, str] = {}
        rows: int | None = 0
        by_format: dict[str, list[str]] = {}
        for path in paths:
            fmt = self._format_of(path)
            by_format.setdefault(fmt.name, []).append(path)
            with reading_errors(path, fmt.name):
                found, counted = fmt.probe(path, wanted, reading)
            rows = None if rows is None or counted is None else rows + counted
            for name, kind in found.items():
                types.setdefault(name, kind)
        files = f"{plural(len(paths), 'file')} ({', '.join(sorted(by_format))})"
        for name in sorted(by_format):
            note = self._format_of(by_format[name][0]).probe_note(by_format[name], wanted, reading)
            files += f", {note}" if note else ""
        counted_rows = f"{rows} rows" if rows is not None else "rows not counted (CSV/JSON Lines are read only in full)"
        return Probe(f"{files}, {counted_rows}", types)

    def _format_of(self, path: str) -> FileFormat:
        return format_of(path, self.config.format)

    def _bounds(self) -> tuple[int, int] | None:
        """The window as ``[start, end)`` in ns at the evaluation time (None without a window)."""
        return window_ns(self.config.window, self.now) if self.config.window else None

    def _reading(self, bounds: tuple[int, int] | None = None) -> Reading:
        """How every format reads this source's files now (``bounds``: None, the window's)."""
        return Reading(self, self.config, bounds if bounds is not None or self.window is None else self._bounds())
