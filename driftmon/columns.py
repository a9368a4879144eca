"""One column of a source as the binning sees it: its kind, its values as float64 or as text.

A column arrives as Arrow (Parquet), pandas (CSV, JSON Lines) or numpy. Numeric features
become float64 with null as NaN (dates and timestamps as seconds since 1970-01-01 UTC,
durations as seconds); categorical features become pandas strings that print numbers as
pandas does (whole floats like integers), so ``1`` and ``"1"`` match across sources. A
value that does not fit its kind is a DataError naming the feature and what to set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from driftmon._imports import lazy_import
from driftmon.arrow_kernels import arrow_floats, decoded
from driftmon.errors import DataError

if TYPE_CHECKING:
    from typing import TypeAlias

    import pandas as pd
    import pyarrow as pa

    # One column of values, as a source hands it over: Arrow (Parquet), pandas (CSV, JSON Lines) or numpy.
    Column: TypeAlias = "pd.Series[Any] | np.ndarray[Any, Any] | pa.Array | pa.ChunkedArray"
else:
    pd = lazy_import("pandas")  # ~0.3 s to import; Parquet sources never need it
    pa = lazy_import("pyarrow")

Kind = Literal["numeric", "categorical"]

# Times as seconds: whole microseconds as float64, divided by 1e6 (sub-microsecond parts
# dropped). The same for any unit of the column, and the rule of the SQL and Spark sources
# (driftmon.sources.pushdown), so the same timestamps get the same bins everywhere.
MICROS = 1e6


def infer_kind(values: Column, feature: str = "") -> Kind:
    """Numeric for numbers, categorical for text and booleans; dates and durations need a ``kind:``.

    A text column (CSV, JSON Lines: types guessed by the reader) whose non-null values are
    mostly numbers is taken for a numeric column with bad cells: a DataError naming the
    feature and a few of them, rather than a silently categorical feature.
    """
    if isinstance(values, pa.Array | pa.ChunkedArray):
        kind = values.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_temporal(kind):
            raise temporal_error(feature, str(kind))
        numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
        return "numeric" if numeric else "categorical"
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise temporal_error(feature, str(dtype))
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    _refuse_mostly_numeric_text(series, feature)
    return "categorical"


# A text column is "numeric with bad cells" when at least this share of its non-null rows
# parse as numbers.
MOSTLY_NUMERIC = 0.5


def _refuse_mostly_numeric_text(series: pd.Series, feature: str) -> None:
    counted = series.value_counts(dropna=True, sort=False)
    if counted.empty or pd.api.types.is_bool_dtype(counted.index.dtype):
        return
    index = counted.index
    if not (pd.api.types.is_object_dtype(index.dtype) or pd.api.types.is_string_dtype(index.dtype)):
        return
    if any(isinstance(v, bool | dict | list) for v in index[: min(len(index), 1000)]):
        return  # booleans with nulls (object column), nested JSON: not numbers with typos
    parsed = pd.to_numeric(pd.Series(index, dtype=object), errors="coerce").notna().to_numpy()
    numeric_rows = float(counted.to_numpy()[parsed].sum())
    if parsed.all() or numeric_rows < MOSTLY_NUMERIC * float(counted.sum()):
        return
    bad = [str(v) for v in index[~parsed][:3]]
    examples = ", ".join(repr(v) for v in bad)
    raise DataError(
        f"feature {feature!r} looks numeric ({numeric_rows / counted.sum():.0%} of its values are numbers) "
        f"but holds text such as {examples}; fix those values (missing values: leave the cell empty, or "
        f"list such tokens in the source's `na_values:`), or set `kind: categorical` for the feature"
    )


def temporal_error(feature: str, type_name: str) -> DataError:
    return DataError(
        f"feature {feature!r} is a date/time or duration column ({type_name}); set `kind: numeric` "
        f"(seconds since 1970-01-01 UTC, or seconds for a duration) or `kind: categorical` for it"
    )


def as_strings(values: Column) -> pd.Series:
    """Values as a pandas string Series with nulls kept as NA (so 1 and "1" match)."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        values = values.to_pandas()
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        return series
    if pd.api.types.is_float_dtype(series.dtype):
        # Whole floats print like ints, so a column read as float (because of a null)
        # matches the same column read as int elsewhere.
        numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = np.isfinite(numbers)
        whole = finite & (numbers == np.round(numbers)) & (np.abs(numbers) < 2**53)
        text = numbers.astype(str).astype(object)
        text[whole] = numbers[whole].astype(np.int64).astype(str)
        text[np.isnan(numbers)] = None
        return pd.Series(text, index=series.index, dtype="string")
    return series.astype("string")


def numeric_values(values: Column, feature: str) -> np.ndarray:
    """A column as float64 (null -> NaN); strings are an error naming the feature.

    Timestamps and dates become seconds since 1970-01-01 UTC, durations seconds (whole
    microseconds / 1e6).
    """
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        return values.astype(np.float64, copy=False)
    if isinstance(values, pa.Array | pa.ChunkedArray):
        kind = values.type
        types = pa.types
        if types.is_integer(kind) or types.is_floating(kind) or types.is_decimal(kind) or types.is_boolean(kind):
            # unsafe: int64 beyond 2**53 rounds to the nearest float instead of raising
            same = values.type == pa.float64()  # no cast (nor pyarrow.compute) for the commonest type
            return arrow_floats(values if same else values.cast(pa.float64(), safe=False))
        if types.is_date(kind):
            values, kind = values.cast(pa.timestamp("s")), pa.timestamp("s")
        if types.is_timestamp(kind) or types.is_duration(kind):
            micros = pa.duration("us") if types.is_duration(kind) else pa.timestamp("us", kind.tz)
            ticks = values.cast(micros, safe=False).cast(pa.int64())
            return arrow_floats(ticks.cast(pa.float64(), safe=False)) / MICROS
        values = decoded(values).to_pandas()
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(series.dtype) or pd.api.types.is_timedelta64_dtype(series.dtype):
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        unit = "datetime64[us]" if pd.api.types.is_datetime64_any_dtype(series.dtype) else "timedelta64[us]"
        seconds = (
            series.to_numpy(dtype=unit.replace("us", "ns")).astype(unit).astype(np.int64).astype(np.float64) / MICROS
        )
        seconds[series.isna().to_numpy()] = np.nan
        return seconds
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any():
        examples = ", ".join(repr(v) for v in series[bad].unique()[:3])
        raise DataError(
            f"feature {feature!r} is numeric but holds non-numeric values ({examples}); "
            f"set `kind: categorical` for it or fix the data"
        )
    return converted.to_numpy(dtype=np.float64, na_value=np.nan)
