"""``type: file``: raw rows from CSV, Parquet or JSON Lines files (a path or a glob).

Memory stays bounded whatever the size of the files. Each Parquet file is opened once;
each feature is a task on a thread pool (numeric ones first) that reads its one column
(at most COLUMN_BATCH_ROWS rows at a time, text as Arrow dictionaries) and bins it; a
reference needs one whole column per task (quantile edges). CSV and JSON
Lines are streamed by pyarrow's readers in READ_BLOCK_BYTES blocks, handed on as Arrow
arrays of at most BATCH_ROWS rows (no pandas); CSV takes the source's ``delimiter``,
``na_values`` (by default only the empty field is null), ``encoding`` and ``header``. Only the configured
features' columns (plus the window's column) are read. With a ``window``, Parquet row groups whose statistics lie
outside it are skipped without being read, and path templates (``{now:%Y/%m/%d}``,
``{start:...}``, ``{end:...}``, in UTC) open only the partitions of the window.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import glob
import os
import re
import string
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from driftmon import redact
from driftmon._imports import lazy_import
from driftmon.errors import DataError, SourceError, plural
from driftmon.histogram import (
    TASK_THREADS,
    BinningRule,
    BinSpec,
    Histogram,
    NumericBins,
    bin_values,
    empty,
    merge_all,
    profile_column,
)
from driftmon.sources import jsonl
from driftmon.sources.base import Probe, RowSource, Window, did_you_mean, epoch_ns, file_identity

if TYPE_CHECKING:
    import pandas as pd

    from driftmon.histogram import Column
    from driftmon.sources.file_cache import FileCounts
else:
    pd = lazy_import("pandas")  # ~0.3 s to import; Parquet sources never need it

Format = Literal["csv", "parquet", "jsonl"]
JsonReader = Literal["auto", "duckdb", "pyarrow"]
SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
# Rows per batch: 10 float64 features at 256 k rows are ~20 MB as Arrow plus as much in
# pandas; larger batches cost memory and gain little (binning is per-batch vectorised).
BATCH_ROWS = 262_144
# Values per read when Parquet is read column by column (8 MB of float64).
COLUMN_BATCH_ROWS = 1_048_576
# Bytes of CSV / JSON Lines parsed at a time by pyarrow (column types are inferred from the
# first block; a later block that disagrees restarts the file with the column retyped).
READ_BLOCK_BYTES = 1 << 20  # pyarrow's default; 4 and 16 MB blocks measured slower and larger
# Text columns below this size are joined into one Arrow array before counting (one array's
# string offsets are 32-bit: 2 GiB of text at most).
COMBINE_BYTES = 1 << 30
# Delimiters a header line is checked for when a column is missing (a wrong `delimiter`).
DELIMITERS = (",", ";", "\t", "|")
# How every text that pandas.to_numeric reads as a number begins (tests/test_sources_csv.py
# checks it against pandas on generated text).
NUMBER_START = re.compile(r"\s*[+-]?(\d|\.\d|inf|nan)", re.IGNORECASE)
TEMPLATE_FIELDS = frozenset({"now", "start", "end"})
# The window column's smallest and largest time in a file (ns since the epoch, inclusive);
# NO_TIME (low > high) for a file without a timed row.
TimeRange = tuple[int, int]
NO_TIME: TimeRange = (np.iinfo(np.int64).max, np.iinfo(np.int64).min)


def template_fields(path: str) -> set[str]:
    """The ``{name:format}`` fields a path template uses (ValueError if malformed)."""
    return {name for _, name, _, _ in string.Formatter().parse(path) if name is not None}


class FileSourceConfig(BaseModel):
    """Rows in files; ``path`` may be a glob or a list of them, relative to the config file."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    type: Literal["file"]
    path: str | list[str] = Field(
        description="a file, a glob (`data/live/*.parquet`) or a list of them; "
        "`{now:%Y/%m/%d}`, `{start:...}`, `{end:...}` are filled with the evaluation time "
        "and the window's bounds (UTC); `{{`/`}}` are literal braces"
    )
    format: Format | None = Field(default=None, description="csv, parquet or jsonl; by default from each file's suffix")
    window: Window | None = Field(
        default=None, description="keep only the rows of the last `last` (e.g. 1h) by `column`"
    )
    delimiter: str = Field(
        default=",", min_length=1, max_length=1, description='CSV: the field separator, one character (`";"`, `"\\t"`)'
    )
    na_values: list[str] = Field(
        default_factory=lambda: [""],
        description="CSV: the field values read as null (missing); by default only the empty field, "
        "so `n/a`, `NULL`, `NA` are values unless listed",
    )
    encoding: str = Field(default="utf-8", description="CSV: the text encoding (utf-8, latin-1, cp1252, utf-16...)")
    header: bool = Field(
        default=True,
        description="CSV: the first row names the columns; false: every row is data, and the columns are "
        "`columns:` or column_1, column_2...",
    )
    columns: list[str] | None = Field(
        default=None, description="CSV with `header: false`: the columns' names, in file order"
    )
    json_reader: JsonReader = Field(
        default="auto",
        description="JSON Lines: `auto` reads through DuckDB when the duckdb extra is installed (half the CPU) "
        "and where it types the keys as pyarrow would, else pyarrow; `duckdb` requires the extra; "
        "`pyarrow` never uses DuckDB",
    )

    @field_validator("json_reader")
    @classmethod
    def _duckdb_installed(cls, reader: JsonReader) -> JsonReader:
        if reader == "duckdb" and not jsonl.available():
            raise ValueError("`json_reader: duckdb` needs the duckdb package (pip install 'driftmon-exporter[duckdb]')")
        return reader

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {encoding!r} (e.g. utf-8, latin-1, cp1252, utf-16)") from None
        try:
            "a".encode(encoding)  # rot13, base64, zlib: codecs that do not turn text into bytes
        except LookupError:
            raise ValueError(f"{encoding!r} is not a text encoding (e.g. utf-8, latin-1, cp1252, utf-16)") from None
        return encoding

    @model_validator(mode="after")
    def _columns_need_no_header(self) -> FileSourceConfig:
        if self.columns is not None:
            if self.header:
                raise ValueError("`columns:` names the columns of a file without a header row; add `header: false`")
            if len(set(self.columns)) != len(self.columns) or not all(self.columns):
                raise ValueError("`columns:` must be distinct, non-empty names")
        return self

    @field_validator("path")
    @classmethod
    def _templates(cls, path: str | list[str]) -> str | list[str]:
        paths = [path] if isinstance(path, str) else path
        if not paths:
            raise ValueError("path must name at least one file or glob")
        sample = datetime(2001, 2, 3, 4, 5, 6)
        for item in paths:
            try:
                names = template_fields(item)
            except ValueError as error:
                raise ValueError(f"bad path template {item!r}: {error} (write {{{{ for a brace)") from None
            unknown = names - TEMPLATE_FIELDS
            if unknown:
                raise ValueError(
                    f"unknown field {sorted(unknown)[0]!r} in path template {item!r} "
                    "(known: now, start, end, e.g. {now:%Y/%m/%d})"
                )
            try:
                item.format(now=sample, start=sample, end=sample)
            except (ValueError, IndexError) as error:
                raise ValueError(f"bad path template {item!r}: {error}") from None
        return path

    @model_validator(mode="after")
    def _window_fields(self) -> FileSourceConfig:
        paths = [self.path] if isinstance(self.path, str) else self.path
        if self.window is None and any(template_fields(p) & {"start", "end"} for p in paths):
            raise ValueError("{start} and {end} in a path need a `window:` on the source")
        return self


class FileSource(RowSource):
    """Reads only the configured features' columns, in bounded batches (see the module docstring)."""

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

    def describe(self) -> str:
        return self.pattern

    def paths(self) -> list[str]:
        """The files the paths or globs name now, sorted; none at all is a SourceError."""
        found: set[str] = set()
        for pattern in self.patterns:
            if glob.has_magic(pattern):
                found.update(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
            elif os.path.isfile(pattern):
                found.add(pattern)
        if found:
            return sorted(found)
        if len(self.patterns) == 1 and not glob.has_magic(self.patterns[0]):
            raise SourceError(f"file {self.patterns[0]} does not exist")
        raise SourceError(f"no file matches {self.pattern}")

    def fingerprint(self) -> str:
        parts = []
        for path in self.paths():
            parts.append(file_identity(path))
        if self.config.window is not None:
            parts.append(self.config.window.describe(self.now))
        return "|".join(parts)

    def count(self, specs: Mapping[str, BinSpec], cache: FileCounts | None = None) -> dict[str, Histogram]:
        """Live histograms, one file at a time (:meth:`_count_file`), merged.

        With ``cache`` (the daemon's live-file cache, see :mod:`driftmon.sources.file_cache`)
        a file counted before and unchanged since is not read again.
        """
        bounds = _window_ns(self.config.window, self.now) if self.config.window else None
        result = {name: empty(spec) for name, spec in specs.items()}
        rows = 0
        for path in self.paths():
            histograms: Mapping[str, Histogram]
            if cache is None:
                histograms, counted, _ = self._count_file(path, specs, bounds, with_range=False)
            else:
                histograms, counted = cache.count(self, path, specs, bounds)
            rows += counted
            for name, histogram in histograms.items():
                result[name] = result[name].merge(histogram)
        if rows == 0 and self.window is not None:
            raise self.no_rows()
        return result

    def options(self) -> str:
        """The settings besides the bins that change what a file counts (for cache keys)."""
        config = self.config
        window = config.window
        csv_options = (config.delimiter, config.na_values, config.encoding, config.header, config.columns)
        window_column = window.column if window else None
        return f"format={config.format}|window={window_column}|csv={csv_options!r}|json={config.json_reader}"

    def _count_file(
        self, path: str, specs: Mapping[str, BinSpec], bounds: tuple[int, int] | None, *, with_range: bool = True
    ) -> tuple[dict[str, Histogram], int, TimeRange | None]:
        """Histograms of ONE file's rows within ``bounds`` (``[start, end)`` in ns; None: the
        source's window at its evaluation time, or every row without a window), the rows counted,
        and the window column's range over the whole file (None without a window or
        ``with_range=False``). Any format; the unit the live-file cache keeps."""
        window = self.config.window
        if window is not None and bounds is None:
            bounds = _window_ns(window, self.now)
        result = {name: empty(spec) for name, spec in specs.items()}
        columns = list(specs)
        if (self.config.format or self._format_of(path)) == "parquet":
            rows = 0
            with ThreadPoolExecutor(TASK_THREADS) as pool:
                for parquet in self._open([path], columns, bounds):
                    rows += parquet.rows
                    for name, histogram in self._count_parquet(parquet, specs, pool).items():
                        result[name] = result[name].merge(histogram)
            span = _parquet_time_range(path, window.column) if window is not None and with_range else None
            return result, rows, span
        rows, span = 0, NO_TIME
        read = list(dict.fromkeys([*columns, window.column])) if window else columns
        with ThreadPoolExecutor(TASK_THREADS) as pool:  # numpy and Arrow release the GIL while binning
            for chunk in self._file_batches(path, read):
                if window is not None and bounds is not None:
                    stamps = _stamps(_as_series(chunk[window.column]), window.column, path)
                    span = _widen(span, stamps)
                    keep = (stamps >= bounds[0]) & (stamps < bounds[1])
                    chunk = _select(chunk, columns, None if keep.all() else keep)
                rows += _length(chunk)
                binned = pool.map(self._bin, specs.values(), [chunk[name] for name in specs], specs)
                for name, histogram in zip(specs, binned, strict=True):
                    result[name] = result[name].merge(histogram)
        return result, rows, (span if window is not None else None)

    def _count_parquet(
        self, parquet: _ParquetFile, specs: Mapping[str, BinSpec], pool: ThreadPoolExecutor
    ) -> dict[str, Histogram]:
        """One task per feature (numeric first, the longest): read its column, bin it."""

        def one(name: str) -> Histogram:
            spec = specs[name]
            return merge_all(spec, (self._bin(spec, chunk, name) for chunk in parquet.column(name)))

        order = sorted(specs, key=lambda name: not isinstance(specs[name], NumericBins))
        counted = dict(zip(order, pool.map(one, order), strict=True))
        return {name: counted[name] for name in specs}

    def profile(self, rules: Sequence[BinningRule]) -> dict[str, Histogram]:
        paths = self.paths()
        if not self._all_parquet(paths):
            return self._profile_rows(rules)
        files = list(self._open(paths, [rule.name for rule in rules]))
        if self.window is not None and sum(f.rows for f in files) == 0:
            raise self.no_rows()
        schema = files[0].parquet.schema_arrow if files else pq.read_schema(paths[0])

        def one(rule: BinningRule) -> Histogram:
            # One whole column at a time per thread: quantile edges need all of it.
            parts = [chunk for parquet in files for chunk in parquet.column(rule.name)]
            whole = pa.chunked_array(parts) if parts else _empty_column(paths[0], rule.name)
            del parts
            with self._context():
                return profile_column(rule, whole)

        def numeric_first(rule: BinningRule) -> bool:
            if rule.kind is not None:
                return rule.kind != "numeric"
            kind = schema.field(rule.name).type
            return not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind))

        order = sorted(rules, key=numeric_first)
        with ThreadPoolExecutor(TASK_THREADS) as pool:
            profiled = dict(zip((rule.name for rule in order), pool.map(one, order), strict=True))
        return {rule.name: profiled[rule.name] for rule in rules}

    def _bin(self, spec: BinSpec, values: pa.Array, name: str) -> Histogram:
        with self._context():
            return bin_values(spec, values, name)

    def _all_parquet(self, paths: Sequence[str]) -> bool:
        return all((self.config.format or self._format_of(path)) == "parquet" for path in paths)

    def _open(
        self, paths: Sequence[str], columns: Sequence[str], bounds: tuple[int, int] | None = None
    ) -> Iterator[_ParquetFile]:
        """Each Parquet file opened once, with the row groups that may hold rows of the window."""
        window = self.config.window
        if window is not None and bounds is None:
            bounds = _window_ns(window, self.now)
        for path in paths:
            with _reading(path, "parquet"):
                schema = pq.read_schema(path)  # the footer only: check the columns before reading any
                _check_columns(path, [*columns, window.column] if window else columns, schema)
                # Text columns come as Arrow dictionaries straight from Parquet's dictionary pages.
                dictionaries = [c for c in columns if _is_text(schema.field(c).type)]
                parquet = pq.ParquetFile(path, read_dictionary=dictionaries, pre_buffer=False)
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
                    parts = [_window_mask(b.column(0).to_pandas(), window.column, bounds, path) for b in stamps]
                    mask = np.concatenate(parts) if parts else np.zeros(0, dtype=bool)
                    if mask.any():
                        groups.append((index, None if mask.all() else mask))
                        rows += int(mask.sum())
            yield _ParquetFile(path, parquet, groups, rows, dictionaries)

    def batches(self, columns: Sequence[str]) -> Iterator[pd.DataFrame]:
        for batch in self.column_batches(columns):
            yield pd.DataFrame({name: _as_series(values) for name, values in batch.items()})

    def column_batches(self, columns: Sequence[str]) -> Iterator[dict[str, Column]]:
        """The rows of ``columns`` (and nothing else), at most BATCH_ROWS at a time, by name.

        CSV and JSON Lines come as Arrow arrays (no pandas) unless a JSON file's types change
        midway (then pandas reads that file); Parquet as pandas columns.
        """
        window = self.config.window
        wanted = list(columns)
        read = list(dict.fromkeys([*wanted, window.column])) if window else wanted
        bounds = _window_ns(window, self.now) if window else None
        for path in self.paths():
            for chunk in self._file_batches(path, read):
                if window is not None and bounds is not None:
                    keep = _window_mask(_as_series(chunk[window.column]), window.column, bounds, path)
                    chunk = _select(chunk, wanted, None if keep.all() else keep)
                yield chunk

    def _file_batches(self, path: str, read: Sequence[str]) -> Iterator[dict[str, Column]]:
        """One file's rows of ``read`` (the window's column included), unfiltered, by name."""
        window = self.config.window
        bounds = _window_ns(window, self.now) if window else None
        fmt = self.config.format or self._format_of(path)
        with _reading(path, fmt):
            if fmt == "parquet":
                frames = _parquet_batches(path, read, window.column if window else None, bounds)
                for frame in frames:
                    batch: dict[str, Column] = {name: frame[name] for name in read}
                    yield batch
            elif fmt == "csv":
                yield from _coalesced(_csv_batches(path, read, self.config, [window.column] if window else []))
            else:
                yield from _jsonl_batches(path, read, self.config.json_reader)

    def _profile_rows(self, rules: Sequence[BinningRule]) -> dict[str, Histogram]:
        """Reference histograms from CSV / JSON Lines: each column whole (quantile edges need it)."""
        parts: dict[str, list[Column]] = {rule.name: [] for rule in rules}
        rows = 0
        # Streamed even though every batch is kept: pyarrow's threaded read_csv of the whole file
        # measured slower (7.4 s against 6.0 s) and larger (690 MB against 393 MB) on 1 M x 25.
        for batch in self.column_batches(list(parts)):
            rows += _length(batch)
            for name, values in batch.items():
                parts[name].append(values)
        if rows == 0 and self.window is not None:
            raise self.no_rows()

        def one(rule: BinningRule) -> Histogram:
            whole = _whole(parts.pop(rule.name), rule)  # its batches are dropped as it is built
            with self._context():
                return profile_column(rule, whole)

        def text_last(rule: BinningRule) -> bool:  # numeric columns first: they take longest
            first = parts[rule.name][0] if parts[rule.name] else None
            return not isinstance(first, pa.Array | pa.ChunkedArray) or pa.types.is_string(first.type)

        order = sorted(rules, key=text_last)
        with ThreadPoolExecutor(TASK_THREADS) as pool:  # a whole column per thread at a time
            profiled = dict(zip((rule.name for rule in order), pool.map(one, order), strict=True))
        return {rule.name: profiled[rule.name] for rule in rules}

    def probe(self, columns: Sequence[str]) -> Probe:
        """The files, their columns' types (first file's) and rows (Parquet metadata; CSV and JSON
        Lines are not counted: only their header and first block are read)."""
        window = self.config.window
        wanted = list(dict.fromkeys([*columns, window.column])) if window else list(columns)
        paths = self.paths()
        types: dict[str, str] = {}
        rows: int | None = 0
        formats: set[str] = set()
        for path in paths:
            fmt = self.config.format or self._format_of(path)
            formats.add(fmt)
            with _reading(path, fmt):
                if fmt == "parquet":
                    schema = pq.read_schema(path)
                    _check_columns(path, wanted, schema)
                    found = {name: str(schema.field(name).type) for name in wanted}
                    rows = None if rows is None else rows + pq.ParquetFile(path).metadata.num_rows
                else:
                    first = next(
                        iter(
                            _csv_batches(path, wanted, self.config)
                            if fmt == "csv"
                            else _pyarrow_jsonl_batches(path, wanted)  # its first block only
                        ),
                        {},
                    )
                    found = {name: _type_name(first[name]) if name in first else "?" for name in wanted}
                    if fmt == "jsonl":  # a key the first block lacks was filled with nulls: say so
                        present = _first_schema(path).names
                        found = {n: kind if n in present else "? (not in the first block)" for n, kind in found.items()}
                    rows = None
            for name, kind in found.items():
                types.setdefault(name, kind)
        files = f"{plural(len(paths), 'file')} ({', '.join(sorted(formats))})"
        if "jsonl" in formats:
            files += f", JSON Lines read by {self._json_reader_of(paths, wanted)}"
        counted = f"{rows} rows" if rows is not None else "rows not counted (CSV/JSON Lines are read only in full)"
        return Probe(f"{files}, {counted}", types)

    def _json_reader_of(self, paths: Sequence[str], columns: Sequence[str]) -> str:
        """Which reader takes the first JSON Lines file (see `_jsonl_batches`), in words."""
        if self.config.json_reader == "pyarrow":
            return "pyarrow (json_reader: pyarrow)"
        if not jsonl.available():
            return "pyarrow (the duckdb extra is not installed)"
        path = next(p for p in paths if (self.config.format or self._format_of(p)) == "jsonl")
        if glob.has_magic(path):
            return "pyarrow (DuckDB would read * ? [ ] in the file's name as a pattern)"
        types = _first_types(path, columns)
        if types is None or not jsonl.suitable(types):
            return "pyarrow (a key is missing, null or nested in the first block)"
        return "DuckDB"

    def _format_of(self, path: str) -> Format:
        suffix = Path(path).suffix.lower()
        try:
            return SUFFIXES[suffix]
        except KeyError:
            raise SourceError(
                f"{path}: cannot tell the format from the suffix {suffix!r}; "
                "set `format: csv|parquet|jsonl` on the source"
            ) from None


def _window_ns(window: Window, now: datetime) -> tuple[int, int]:
    start, end = window.bounds(now)
    stamps = pd.Series(pd.to_datetime([start, end], utc=True)).dt.as_unit("ns")
    values = stamps.to_numpy(dtype="int64")
    return int(values[0]), int(values[1])


def _window_mask(values: pd.Series, column: str, bounds: tuple[int, int], path: str) -> np.ndarray:
    """True for the values with ``start <= value < end`` (null times are outside)."""
    stamps = _stamps(values, column, path)
    keep: np.ndarray = (stamps >= bounds[0]) & (stamps < bounds[1])
    return keep


def _stamps(values: pd.Series, column: str, path: str) -> np.ndarray:
    """The window column as ns since the epoch (null: int64 min); a DataError if not times."""
    try:
        stamps = epoch_ns(values)
    except (TypeError, ValueError, OverflowError) as error:
        raise DataError(f"{path}: window column {column!r} does not hold timestamps ({error})") from None
    unparsable = (stamps == np.iinfo(np.int64).min) & values.notna().to_numpy()
    if unparsable.any():
        example = values[unparsable].iloc[0]
        raise DataError(
            f"{path}: window column {column!r} holds values that are not timestamps (e.g. {example!r}); "
            "use datetimes, ISO 8601 text or Unix seconds"
        )
    return stamps


def _parquet_time_range(path: str, column: str) -> TimeRange:
    """The smallest and largest time of ``column`` in the file (ns), from the row groups'
    statistics when every group has them (free), else from reading that one column."""
    with _reading(path, "parquet"):
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
            span = _widen(span, _stamps(batch.column(0).to_pandas(), column, path))
        return span


def _widen(span: TimeRange, stamps: np.ndarray) -> TimeRange:
    """``span`` grown to hold the non-null ``stamps`` (ns; null is int64 min)."""
    timed = stamps[stamps != np.iinfo(np.int64).min]
    if not timed.size:
        return span
    return min(span[0], int(timed.min())), max(span[1], int(timed.max()))


class _ParquetFile:
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

    def column(self, name: str) -> Iterator[pa.Array]:  # plain arrays, so they concatenate cheaply
        """All the file's values of one column (of the window's rows), at most COLUMN_BATCH_ROWS at a time."""
        with _reading(self.path, "parquet"):
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


@contextlib.contextmanager
def _reading(path: str, fmt: str) -> Iterator[None]:
    """Turns I/O and decoding failures into errors naming the file."""
    try:
        yield
    except FileNotFoundError:
        raise SourceError(f"file {path} vanished while being read") from None
    except (DataError, SourceError):
        raise
    except (OSError, ValueError, pa.ArrowException) as error:
        # The library's message may quote the file (a wrong path can be any file): a short excerpt.
        raise DataError(f"cannot read {path} as {fmt}: {redact.excerpt(str(error))}") from None


def _empty_column(path: str, name: str) -> pa.Array:
    """A column with no rows, typed as in the file (so the feature's kind is still inferred)."""
    with _reading(path, "parquet"):
        field = pq.ParquetFile(path).schema_arrow.field(name)
    return pa.array([], type=field.type)


def _absent(path: str, columns: Sequence[str], present: Sequence[str], hint: str = "") -> None:
    """A DataError if a column is missing, naming the nearest existing ones (case first)."""
    missing = [c for c in columns if c not in present]
    if not missing:
        return
    named = ", ".join(repr(c) for c in missing)
    if hint:
        raise DataError(f"column {named} not found in {path}: {hint}")
    guesses = [g for c in missing for g in did_you_mean(c, present)]
    if guesses:
        shown = " or ".join(repr(_clip(g)) for g in dict.fromkeys(guesses))
        raise DataError(f"column {named} not found in {path}; did you mean {shown}?")
    listed = redact.excerpt(", ".join(list(present)[:20]))  # names may be a data line
    raise DataError(f"column {named} not found in {path} (its columns: {listed})")


def _check_columns(path: str, columns: Sequence[str], schema: pa.Schema) -> None:
    """Every column is present once and holds one number or text per row (no lists, structs, maps)."""
    _absent(path, columns, schema.names)
    for name in columns:
        if schema.names.count(name) > 1:
            raise DataError(f"{path}: the file has {schema.names.count(name)} columns named {name!r}; rename them")
        kind = schema.field(name).type
        if pa.types.is_nested(kind):
            _nested(path, name, str(kind))


def _nested(path: str, column: str, what: str) -> None:
    raise DataError(
        f"{path}: column {column!r} holds nested values ({_clip(what)}), not one number or text per row; "
        "select or flatten the field to compare"
    )


def _clip(text: str, width: int = 60) -> str:
    """Text from a file (a column name, a type) on one short line: an error stays one line."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _flat(path: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` if no column holds dicts or lists (JSON objects and arrays), else a DataError.

    Only columns whose values pandas cannot type (``mixed``) are looked at value by value.
    """
    for name in frame.columns:
        values = frame[name]
        if values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) not in ("mixed", "mixed-integer"):
            continue
        nested = values.map(lambda v: isinstance(v, dict | list))
        if nested.any():
            example = values[nested].iloc[0]
            _nested(path, str(name), f"a JSON {'object' if isinstance(example, dict) else 'array'}")
    return frame


def _parquet_batches(
    path: str, columns: Sequence[str], window_column: str | None, bounds: tuple[int, int] | None
) -> Iterator[pd.DataFrame]:
    parquet = pq.ParquetFile(path)
    _check_columns(path, columns, parquet.schema_arrow)
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


def _csv_header(path: str, options: FileSourceConfig) -> tuple[list[str], str]:
    """The file's column names (from its first line, or ``columns`` / column_N) and that line."""
    with open(path, "rb") as handle:
        start = handle.read(1 << 20)
    encoding = "utf-8-sig" if codecs.lookup(options.encoding).name == "utf-8" else options.encoding
    try:  # decoded before splitting: in UTF-16 a newline is two bytes
        text = codecs.getincrementaldecoder(encoding)().decode(start, final=len(start) < 1 << 20)
    except UnicodeDecodeError:
        raise _encoding_error(path, options.encoding) from None
    line = text.split("\n", 1)[0].rstrip("\r")
    fields = next(csv.reader([line], delimiter=options.delimiter), [])
    if options.header:
        return fields, line
    if options.columns is not None and len(options.columns) != len(fields):
        raise DataError(
            f"{path} has {len(fields)} columns but `columns:` names {len(options.columns)}; name each column once"
        )
    return list(options.columns or [f"column_{i + 1}" for i in range(len(fields))]), line


def _delimiter_hint(line: str, delimiter: str, names: Sequence[str]) -> str:
    """What to tell a user whose header splits into one field: the delimiter it seems to use."""
    if len(names) != 1:
        return ""
    counts = {d: line.count(d) for d in DELIMITERS if d != delimiter}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        return ""
    shown = "tab" if best == "\t" else repr(best)
    setting = '"\\t"' if best == "\t" else repr(best)
    return (
        f"the header {_clip(line, 40)!r} looks {shown}-separated; "
        f"set `delimiter: {setting}` on the source (CSV options: delimiter, na_values, encoding, header)"
    )


_CONVERSION = re.compile(r"In CSV column #(\d+): .*CSV conversion error to (\w+): invalid value '(.*)'", re.S)
_RAGGED = re.compile(r"Expected (\d+) columns, got (\d+)")


class _Retype(Exception):
    """Read the file again with these column types."""

    def __init__(self, types: dict[str, pa.DataType]) -> None:
        self.types = types


def _coalesced(chunks: Iterator[dict[str, Column]], rows: int | None = None) -> Iterator[dict[str, Column]]:
    """Batches of about ``rows`` rows from the CSV reader's small ones (a 1 MB block is a few
    thousand rows): binning costs a fixed overhead per call and per column, so 1 M rows in
    200 blocks cost 200 times that (measured on 1 M x 25 CSV: 4.3 s -> 3.5 s for `check`;
    neutral for JSON Lines, which is not coalesced). Arrow columns of the same types are
    concatenated; a change of type (a CSV column retyped midway) or a pandas column ends
    a batch as it is."""
    limit = rows or BATCH_ROWS
    pending: list[dict[str, Column]] = []
    pending_types: dict[str, pa.DataType] = {}
    count = 0

    def joined() -> dict[str, Column]:
        if len(pending) == 1:
            return pending[0]
        return {name: pa.concat_arrays([_contiguous(part[name]) for part in pending]) for name in pending[0]}

    for chunk in chunks:
        types = {name: values.type for name, values in chunk.items() if isinstance(values, pa.Array | pa.ChunkedArray)}
        arrow = len(types) == len(chunk)
        if pending and (not arrow or types != pending_types):
            yield joined()
            pending, count = [], 0
        if not arrow:
            yield chunk
            continue
        pending.append(chunk)
        pending_types = types
        count += _length(chunk)
        while count >= limit:  # at most `limit` rows per batch; the rest waits for the next blocks
            whole = {name: cast("pa.Array | pa.ChunkedArray", values) for name, values in joined().items()}
            yield {name: values.slice(0, limit) for name, values in whole.items()}
            count -= limit
            pending = [{name: values.slice(limit) for name, values in whole.items()}] if count else []
    if pending:
        yield joined()


def _contiguous(values: Column) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return pa.concat_arrays(values.chunks) if values.num_chunks != 1 else values.chunk(0)
    return values


def _csv_batches(
    path: str, columns: Sequence[str], options: FileSourceConfig, keep_dates: Sequence[str] = ()
) -> Iterator[dict[str, Column]]:
    """Arrow columns of a CSV file, at most BATCH_ROWS rows at a time.

    pyarrow infers each column's type from the first block; when a later block holds a
    value of another type, the file is read again with that column as float64 (a decimal
    after integers) or text, and the rows already handed out are skipped.
    """
    names, line = _csv_header(path, options)
    _absent(path, columns, names, _delimiter_hint(line, options.delimiter, names) if len(names) == 1 else "")
    for name in columns:
        if names.count(name) > 1:
            raise DataError(f"{path}: the file has {names.count(name)} columns named {name!r}; rename them")
    types: dict[str, pa.DataType] = {}
    done = 0
    while True:
        seen = 0
        try:
            for batch in _csv_reader(path, columns, names, options, types):
                dated = [c for c in columns if c not in keep_dates and pa.types.is_temporal(batch.schema.field(c).type)]
                if dated:  # dates stay text, as written (pyarrow would parse ISO dates and times)
                    raise _Retype({**types, **dict.fromkeys(dated, pa.string())})
                start, seen = max(done - seen, 0), seen + batch.num_rows
                for offset in range(start, batch.num_rows, BATCH_ROWS):
                    part = batch.slice(offset, BATCH_ROWS)
                    chunk = {name: part.column(name) for name in columns}
                    _check_text(path, chunk, options)
                    done += part.num_rows
                    yield chunk
            return
        except _Retype as retype:
            types = retype.types
        except pa.ArrowInvalid as error:
            retyped = _retype(str(error), names, types)
            if retyped is None:
                raise _csv_error(path, str(error), columns, names, options) from None
            types = retyped


def _csv_reader(
    path: str,
    columns: Sequence[str],
    names: Sequence[str],
    options: FileSourceConfig,
    types: Mapping[str, pa.DataType],
    on_ragged: Any = None,
) -> pacsv.CSVStreamingReader:
    return pacsv.open_csv(path, **_csv_options(columns, names, options, types, on_ragged))


def _csv_options(
    columns: Sequence[str],
    names: Sequence[str],
    options: FileSourceConfig,
    types: Mapping[str, pa.DataType],
    on_ragged: Any = None,
) -> dict[str, Any]:
    """pyarrow's read, parse and convert options for a source's CSV settings."""
    read = pacsv.ReadOptions(
        block_size=READ_BLOCK_BYTES,
        encoding=options.encoding,
        column_names=None if options.header else list(names),
        use_threads=on_ragged is None,  # a ragged row's line number is only known when reading serially
    )
    parse = pacsv.ParseOptions(delimiter=options.delimiter, invalid_row_handler=on_ragged)
    convert = pacsv.ConvertOptions(
        include_columns=list(columns),
        column_types=dict(types),
        null_values=list(options.na_values),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    return {"read_options": read, "parse_options": parse, "convert_options": convert}


def _retype(message: str, names: Sequence[str], types: Mapping[str, pa.DataType]) -> dict[str, pa.DataType] | None:
    """The column types to read again with after a conversion error, or None if not one."""
    match = _CONVERSION.search(message)
    if match is None:
        return None
    index, target, value = int(match.group(1)), match.group(2), match.group(3)
    if index >= len(names):
        return None
    name = names[index]
    try:
        float(value)
        kind = pa.float64() if target.startswith(("int", "uint")) else pa.string()
    except ValueError:
        kind = pa.string()
    if types.get(name) == kind or types.get(name) == pa.string():
        return None
    return {**types, name: kind}


def _csv_error(
    path: str, message: str, columns: Sequence[str], names: Sequence[str], options: FileSourceConfig
) -> DataError:
    """A parser failure in the user's terms: a ragged row with its line, bad text with its byte."""
    if "UTF8" in message or "utf8" in message or "utf-8" in message:
        return _encoding_error(path, options.encoding)
    if _RAGGED.search(message):
        rows: list[Any] = []

        def remember(row: Any) -> str:
            rows.append(row)
            return "error"

        with contextlib.suppress(pa.ArrowInvalid):
            _csv_reader(path, columns, names, options, {}, on_ragged=remember).read_all()
        if rows:
            row = rows[0]
            fields = "field" if row.actual_columns == 1 else "fields"
            line = "" if row.number is None else f"line {row.number} "
            return DataError(
                f"{path}: {line}has {row.actual_columns} {fields} but the header has {row.expected_columns} "
                f"({_clip(row.text, 40)!r}); fix the row, or check `delimiter:` and quoting"
            )
    return DataError(f"cannot read {path} as csv: {redact.excerpt(message)}")


def _check_text(path: str, chunk: Mapping[str, Column], options: FileSourceConfig) -> None:
    """Text that is not valid in the encoding comes back as bytes: an error with the offset."""
    for values in chunk.values():
        if isinstance(values, pa.Array | pa.ChunkedArray) and pa.types.is_binary(values.type):
            raise _encoding_error(path, options.encoding)


def _encoding_error(path: str, encoding: str) -> DataError:
    """Where the file stops being valid ``encoding``: byte offset and line, and the key to set."""
    decoder = codecs.getincrementaldecoder("utf-8" if codecs.lookup(encoding).name == "utf-8" else encoding)()
    offset, line = 0, 1
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as error:
                at = max(error.start, 0)
                line += block[:at].count(b"\n")
                return DataError(
                    f"{path}: not valid {encoding} at byte {offset + at} (line {line}, bytes "
                    f"{block[at : at + 4]!r}); set `encoding:` on the source (e.g. latin-1, cp1252, utf-16)"
                )
            offset += len(block)
            line += block.count(b"\n")
    return DataError(f"{path}: cannot be decoded as {encoding}; set `encoding:` on the source")


def _jsonl_batches(path: str, columns: Sequence[str], reader: JsonReader = "auto") -> Iterator[dict[str, Column]]:
    """Arrow columns of a JSON Lines file: through DuckDB where it reads them as pyarrow would
    (see `jsonl`), else pyarrow.json, else pandas (a key whose type changes midway, JSON
    pyarrow refuses); each reader skips the rows already given."""
    done = 0
    # DuckDB expands *, ? and [...] in a path it is given: a file named `d[1].jsonl` would read `d1.jsonl`.
    if reader != "pyarrow" and jsonl.available() and not glob.has_magic(path):
        types = _first_types(path, columns)
        if types is not None and jsonl.suitable(types):
            try:
                for chunk in jsonl.batches(path, types, BATCH_ROWS, TASK_THREADS):
                    done += _length(chunk)
                    yield dict(chunk)
                return
            except jsonl.Unsuitable:
                pass
    yield from _pyarrow_jsonl_batches(path, columns, done)


def _first_types(path: str, columns: Sequence[str]) -> dict[str, pa.DataType] | None:
    """The wanted keys' types as pyarrow infers them from the first block (None: a key is not there)."""
    try:
        schema = _first_schema(path)
    except pa.ArrowInvalid:
        return None
    if not all(name in schema.names for name in columns):
        return None
    return {name: schema.field(name).type for name in columns}


def _first_schema(path: str) -> pa.Schema:
    """The keys and types pyarrow infers from a JSON Lines file's first block (none for an empty file)."""
    reader = pajson.open_json(path, read_options=pajson.ReadOptions(block_size=READ_BLOCK_BYTES))
    try:
        return reader.read_next_batch().schema
    except StopIteration:
        return pa.schema([])


def _pyarrow_jsonl_batches(path: str, columns: Sequence[str], skip: int = 0) -> Iterator[dict[str, Column]]:
    """The file through pyarrow.json, then pandas where pyarrow refuses, from row ``skip`` on."""
    done = skip
    try:
        reader = pajson.open_json(path, read_options=pajson.ReadOptions(block_size=READ_BLOCK_BYTES))
        seen: set[str] = set()
        for batch in reader:
            present = set(batch.schema.names)
            seen.update(c for c in columns if c in present)
            for name in columns:
                if name in present and pa.types.is_nested(batch.schema.field(name).type):
                    nested = "object" if pa.types.is_struct(batch.schema.field(name).type) else "array"
                    _nested(path, name, f"a JSON {nested}")
            if skip >= batch.num_rows:
                skip -= batch.num_rows
                continue
            batch, skip = batch.slice(skip), 0
            for offset in range(0, batch.num_rows, BATCH_ROWS):
                part = batch.slice(offset, BATCH_ROWS)
                chunk: dict[str, Column] = {
                    c: part.column(c) if c in present else pa.nulls(part.num_rows) for c in columns
                }
                done += part.num_rows
                yield chunk
        _absent(path, columns, sorted(seen))
        return
    except pa.ArrowInvalid:
        pass
    for frame in _jsonl_frames(path, columns):
        if done >= len(frame):
            done -= len(frame)
            continue
        frame, done = frame.iloc[done:], 0
        yield {name: frame[name] for name in columns}


def _jsonl_frames(path: str, columns: Sequence[str]) -> Iterator[pd.DataFrame]:
    seen: set[str] = set()
    with pd.read_json(path, lines=True, chunksize=BATCH_ROWS, dtype=False) as reader:
        for chunk in reader:
            seen.update(c for c in columns if c in chunk.columns)
            yield _flat(path, chunk.reindex(columns=list(columns)))
    _absent(path, columns, sorted(seen))


def _type_name(values: Column) -> str:
    """A column's type in a few letters: int64, double, string, ..."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return str(values.type)
    return str(getattr(values, "dtype", "?"))


def _any_number(encoded: pa.ChunkedArray) -> bool:
    """Whether any distinct value of a dictionary-encoded text column parses as a number (as
    pandas would)."""
    import pyarrow.compute as pac  # not at import: a Parquet-only check never needs it

    dictionaries = [chunk.dictionary for chunk in encoded.chunks]
    distinct = pac.unique(pa.concat_arrays(dictionaries) if dictionaries else pa.array([], pa.string())).drop_null()
    # Only text that starts like a number can parse as one, so most text columns are answered
    # without importing pandas (0.25 s).
    candidates = [value for value in distinct.to_pylist() if NUMBER_START.match(value)]
    return bool(candidates) and bool(pd.to_numeric(pd.Series(candidates, dtype=object), errors="coerce").notna().any())


def _as_series(values: Column) -> pd.Series:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        series: pd.Series = values.to_pandas()
        return series
    return values if isinstance(values, pd.Series) else pd.Series(values)


def _length(batch: Mapping[str, Column]) -> int:
    return len(next(iter(batch.values()))) if batch else 0


def _select(batch: Mapping[str, Column], columns: Sequence[str], keep: np.ndarray | None) -> dict[str, Column]:
    """``columns`` of a batch, with only the rows where ``keep`` is true (None: all)."""
    if keep is None:
        return {name: batch[name] for name in columns}
    mask = pa.array(keep)
    result: dict[str, Column] = {}
    for name in columns:
        values = batch[name]
        if isinstance(values, pa.Array | pa.ChunkedArray):
            result[name] = values.filter(mask)
        else:
            series = _as_series(values)
            result[name] = series[keep]
    return result


def _whole(parts: Sequence[Column], rule: BinningRule) -> Column:
    """One column from its batches: Arrow where every part has one numeric (or boolean) type,
    else pandas, so text is typed as before (e.g. mostly-numeric text is refused)."""
    arrow = [p for p in parts if isinstance(p, pa.Array | pa.ChunkedArray)]
    if not parts:  # a header and no rows: no type to tell (categorical, as pandas reads it)
        return pd.Series([], dtype=object)
    if len(arrow) == len(parts):
        kinds = {p.type for p in arrow if not pa.types.is_null(p.type)}
        numeric = all(pa.types.is_integer(k) or pa.types.is_floating(k) for k in kinds)
        if kinds and (numeric or (len(kinds) == 1 and pa.types.is_boolean(next(iter(kinds))))):
            target = next(iter(kinds)) if len(kinds) == 1 else pa.float64()
            chunks = [c for p in arrow for c in (p.chunks if isinstance(p, pa.ChunkedArray) else [p])]
            return pa.chunked_array([c.cast(target) for c in chunks], type=target)
        if kinds and all(pa.types.is_string(k) or pa.types.is_large_string(k) for k in kinds) and len(kinds) == 1:
            text = pa.chunked_array([c for p in arrow for c in (p.chunks if isinstance(p, pa.ChunkedArray) else [p])])
            if text.num_chunks > 1 and text.nbytes < COMBINE_BYTES:  # counted in one pass, not per block
                text = pa.chunked_array([text.combine_chunks()])
            import pyarrow.compute as pac  # not at import: a Parquet-only check never needs it

            # Hashed once: the distinct values are checked here, the codes counted by the binning
            # (which would otherwise hash the text twice more, for the bins and for the counts).
            encoded = pac.dictionary_encode(text)
            if rule.kind == "categorical" or not _any_number(encoded):
                return encoded  # no value is a number: never "numeric with bad cells", so Arrow all the way
    series = [_as_series(p) for p in parts]
    whole = series[0] if len(series) == 1 else pd.concat(series, ignore_index=True)
    return whole
