"""What the file formats share: the read limits, column checks and conversions, the window's
timestamps, and the one translation of I/O failures into errors naming the file."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from driftmon import redact
from driftmon._imports import lazy_import
from driftmon.errors import DataError, SourceError, did_you_mean
from driftmon.histogram import BinningRule
from driftmon.sources.base import Window, epoch_ns
from driftmon.sources.file_cache import TimeRange

if TYPE_CHECKING:
    import pandas as pd

    from driftmon.histogram import Column
else:
    pd = lazy_import("pandas")  # ~0.3 s to import; Parquet sources never need it

# Rows per batch: 10 float64 features at 256 k rows are ~20 MB as Arrow plus as much in
# pandas; larger batches cost memory and gain little (binning is per-batch vectorised).
BATCH_ROWS = 262_144
# Bytes of CSV / JSON Lines parsed at a time by pyarrow (column types are inferred from the
# first block; a later block that disagrees restarts the file with the column retyped).
READ_BLOCK_BYTES = 1 << 20  # pyarrow's default; 4 and 16 MB blocks measured slower and larger
# Text columns below this size are joined into one Arrow array before counting (one array's
# string offsets are 32-bit: 2 GiB of text at most).
COMBINE_BYTES = 1 << 30
# How every text that pandas.to_numeric reads as a number begins (tests/test_sources_csv.py
# checks it against pandas on generated text).
NUMBER_START = re.compile(r"\s*[+-]?(\d|\.\d|inf|nan)", re.IGNORECASE)
# The window column's smallest and largest time in a file (ns since the epoch, inclusive);
# NO_TIME (low > high) for a file without a timed row.
NO_TIME: TimeRange = (np.iinfo(np.int64).max, np.iinfo(np.int64).min)


@contextlib.contextmanager
def reading_errors(path: str, fmt: str) -> Iterator[None]:
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


def check_present(path: str, columns: Sequence[str], present: Sequence[str], hint: str = "") -> None:
    """A DataError if a column is missing, naming the nearest existing ones (case first)."""
    missing = [c for c in columns if c not in present]
    if not missing:
        return
    named = ", ".join(repr(c) for c in missing)
    if hint:
        raise DataError(f"column {named} not found in {path}: {hint}")
    guesses = [g for c in missing for g in did_you_mean(c, present)]
    if guesses:
        shown = " or ".join(repr(clip(g)) for g in dict.fromkeys(guesses))
        raise DataError(f"column {named} not found in {path}; did you mean {shown}?")
    listed = redact.excerpt(", ".join(list(present)[:20]))  # names may be a data line
    raise DataError(f"column {named} not found in {path} (its columns: {listed})")


def check_columns(path: str, columns: Sequence[str], schema: pa.Schema) -> None:
    """Every column is present once and holds one number or text per row (no lists, structs, maps)."""
    check_present(path, columns, schema.names)
    for name in columns:
        if schema.names.count(name) > 1:
            raise DataError(f"{path}: the file has {schema.names.count(name)} columns named {name!r}; rename them")
        kind = schema.field(name).type
        if pa.types.is_nested(kind):
            refuse_nested(path, name, str(kind))


def refuse_nested(path: str, column: str, what: str) -> None:
    raise DataError(
        f"{path}: column {column!r} holds nested values ({clip(what)}), not one number or text per row; "
        "select or flatten the field to compare"
    )


def clip(text: str, width: int = 60) -> str:
    """Text from a file (a column name, a type) on one short line: an error stays one line."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def type_name(values: Column) -> str:
    """A column's type in a few letters: int64, double, string, ..."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return str(values.type)
    return str(getattr(values, "dtype", "?"))


def known_type(kind: pa.DataType) -> str | None:
    """An Arrow type's name, or None for the null type (a column without one value to tell by)."""
    return None if pa.types.is_null(kind) else str(kind)


def any_number(encoded: pa.ChunkedArray) -> bool:
    """Whether any distinct value of a dictionary-encoded text column parses as a number (as
    pandas would)."""
    import pyarrow.compute as pac  # not at import: a Parquet-only check never needs it

    dictionaries = [chunk.dictionary for chunk in encoded.chunks]
    distinct = pac.unique(pa.concat_arrays(dictionaries) if dictionaries else pa.array([], pa.string())).drop_null()
    # Only text that starts like a number can parse as one, so most text columns are answered
    # without importing pandas (0.25 s).
    candidates = [value for value in distinct.to_pylist() if NUMBER_START.match(value)]
    return bool(candidates) and bool(pd.to_numeric(pd.Series(candidates, dtype=object), errors="coerce").notna().any())


def as_series(values: Column) -> pd.Series:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        series: pd.Series = values.to_pandas()
        return series
    return values if isinstance(values, pd.Series) else pd.Series(values)


def rows_in(batch: Mapping[str, Column]) -> int:
    return len(next(iter(batch.values()))) if batch else 0


def select_rows(batch: Mapping[str, Column], columns: Sequence[str], keep: np.ndarray | None) -> dict[str, Column]:
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
            series = as_series(values)
            result[name] = series[keep]
    return result


def whole_column(parts: Sequence[Column], rule: BinningRule) -> Column:
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
            if rule.kind == "categorical" or not any_number(encoded):
                return encoded  # no value is a number: never "numeric with bad cells", so Arrow all the way
    series = [as_series(p) for p in parts]
    whole = series[0] if len(series) == 1 else pd.concat(series, ignore_index=True)
    return whole


def window_ns(window: Window, now: datetime) -> tuple[int, int]:
    start, end = window.bounds(now)
    stamps = pd.Series(pd.to_datetime([start, end], utc=True)).dt.as_unit("ns")
    values = stamps.to_numpy(dtype="int64")
    return int(values[0]), int(values[1])


def window_mask(values: pd.Series, column: str, bounds: tuple[int, int], path: str) -> np.ndarray:
    """True for the values with ``start <= value < end`` (null times are outside)."""
    stamps = epoch_stamps(values, column, path)
    keep: np.ndarray = (stamps >= bounds[0]) & (stamps < bounds[1])
    return keep


def epoch_stamps(values: pd.Series, column: str, path: str) -> np.ndarray:
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


def widen(span: TimeRange, stamps: np.ndarray) -> TimeRange:
    """``span`` grown to hold the non-null ``stamps`` (ns; null is int64 min)."""
    timed = stamps[stamps != np.iinfo(np.int64).min]
    if not timed.size:
        return span
    return min(span[0], int(timed.min())), max(span[1], int(timed.max()))
