"""Row codes: a file's rows as bin numbers in time order, so a moving window's part of it is
counted without reading the file again.

A file that an edge of a window cuts (part of its rows inside) is read again at every
evaluation while the window moves over it: in a rolling reference that moves with each
evaluation, the file on the boundary between the live window and the reference and the one
at the reference's far end, every time. The live-file cache (:mod:`driftmon.sources.file_cache`)
instead keeps such a file's :class:`RowCodes`:

- ``times``: the window column of its timed rows (ns since the epoch), sorted;
- ``codes``: per feature, each of those rows' bin number in its frozen bins, in the same
  order (``uint8``, or ``uint16`` past 255 bins; the missing count is the number
  ``spec.size``), so a window's rows ``[start, end)`` are one contiguous run, found by two
  binary searches, and counted by one ``bincount`` per feature: the histograms
  :func:`~driftmon.histogram.bin_values` gives for those rows, bit for bit;
- ``extents``: the file's ``(min, max)`` of a numeric feature whose values all fall in one
  bin (:attr:`Histogram.extent`, how ``quality`` tells a column stuck at one value).

A part whose numeric values all fall in one interval bin, of a file whose values there are
not one value, has an extent the codes do not know: :meth:`RowCodes.count` says None and the
file is read. A file with a category its frozen bins lack (``__unseen__``, whose kept top
values the codes do not hold) gets no codes at all (:func:`build`). One byte per row and
feature plus eight for the time: a 1 M-row file of 20 features holds 28 MB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from driftmon._imports import lazy_import
from driftmon.arrow_kernels import is_arrow_text, primitive, valid
from driftmon.columns import as_strings, numeric_values
from driftmon.histogram import BinSpec, CategoricalBins, Histogram, NumericBins

if TYPE_CHECKING:
    import pandas as pd

    from driftmon.histogram import Column
else:
    pd = lazy_import("pandas")  # ~0.3 s to import; Parquet sources never need it

NULL_TIME = np.iinfo(np.int64).min  # how the window column's nulls come (never in a window)
_OVERHEAD = 200  # bytes of Python objects around one array


@dataclass(frozen=True, slots=True, eq=False)
class RowCodes:
    """One file's timed rows as bin numbers, in time order (see the module docstring)."""

    times: np.ndarray  # int64 ns, sorted
    codes: Mapping[str, np.ndarray]  # per feature, in the order of ``times``; spec.size: missing
    extents: Mapping[str, tuple[float, float]]  # numeric features all of whose values fall in one bin

    @property
    def nbytes(self) -> int:
        return self.times.nbytes + sum(codes.nbytes + _OVERHEAD for codes in self.codes.values()) + _OVERHEAD

    def count(
        self, specs: Mapping[str, BinSpec], bounds: tuple[int, int] | None = None
    ) -> tuple[dict[str, Histogram], int] | None:
        """The histograms of the rows in ``bounds`` (``[start, end)`` in ns; None: every timed row)
        and how many rows they are; None when a feature's extent is not known (read the file)."""
        rows = self.times.size
        low, high = (0, rows) if bounds is None else np.searchsorted(self.times, bounds, side="left").tolist()
        result = {}
        for name, spec in specs.items():
            codes = self.codes.get(name)
            if codes is None:
                return None
            counted = np.bincount(codes[low:high], minlength=spec.size + 1).astype(np.float64)
            counts = counted[: spec.size]
            extent = None
            if isinstance(spec, NumericBins) and np.count_nonzero(counts) == 1:
                extent = self._extent(name, spec, int(np.flatnonzero(counts)[0]), (low, high) == (0, rows))
                if extent is None:
                    return None
            result[name] = Histogram(spec, counts, float(counted[spec.size]), extent=extent)
        return result, high - low

    def _extent(self, name: str, spec: NumericBins, at: int, whole: bool) -> tuple[float, float] | None:
        """The values' (min, max) of a part whose values all lie in bin ``at``, if known."""
        point = _point_values(spec).get(at)
        if point is not None:
            return point, point
        known = self.extents.get(name)
        return known if known is not None and (whole or known[0] == known[1]) else None


def build(
    times: np.ndarray,
    columns: Mapping[str, Callable[[], Iterable[Column]]],
    specs: Mapping[str, BinSpec],
    pool: Executor | None = None,
) -> RowCodes | None:
    """A file's row codes from its window column (``times``: ns in file order, nulls NULL_TIME)
    and each feature's values in file order (``columns``: a callable giving its chunks, called
    on ``pool``'s threads if given, one feature per task); None if a categorical feature holds a
    value its bins lack (``__unseen__``), or a feature's rows are not as many as the times.
    Raises what binning raises (a text cell in a numeric column names the feature)."""
    timed = times != NULL_TIME
    ordered = bool(timed.all()) and bool(np.all(times[1:] >= times[:-1]))
    order = None if ordered else np.flatnonzero(timed)[np.argsort(times[timed], kind="stable")]

    def one(name: str) -> tuple[np.ndarray, tuple[float, float] | None] | None:
        spec = specs[name]
        parts: list[np.ndarray] = []
        low, high, start = np.inf, -np.inf, 0
        for chunk in columns[name]():
            if isinstance(spec, NumericBins):
                part, values = _numeric_codes(spec, chunk, name)
                present = values[timed[start : start + values.size]]
                if present.size:
                    low = min(low, float(np.fmin.reduce(present)))
                    high = max(high, float(np.fmax.reduce(present)))
            else:
                found = _categorical_codes(spec, chunk)
                if found is None:
                    return None
                part = found
            parts.append(part)
            start += part.size
        if start != times.size:
            return None  # rows out of step with the window column: read as before
        joined = np.concatenate(parts) if parts else np.zeros(0, dtype=_dtype(spec))
        codes = joined if order is None else joined[order]
        used = np.count_nonzero(np.bincount(codes, minlength=spec.size + 1)[: spec.size])
        return codes, ((low, high) if isinstance(spec, NumericBins) and low <= high and used == 1 else None)

    names = list(specs)
    coded = list(pool.map(one, names) if pool is not None else map(one, names))
    if any(found is None for found in coded):
        return None
    codes = {name: found[0] for name, found in zip(names, coded, strict=True) if found is not None}
    extents = {
        name: found[1] for name, found in zip(names, coded, strict=True) if found is not None and found[1] is not None
    }
    return RowCodes(times if order is None else times[order], codes, extents)


def _dtype(spec: BinSpec) -> type[np.unsignedinteger]:
    return np.uint8 if spec.size < 255 else np.uint16  # spec.size itself is the missing code


def _thresholds(spec: NumericBins) -> np.ndarray:
    """The cuts as ``>=`` thresholds: a value's bin is how many of them it reaches (an inclusive
    cut ``<= c`` counts a value in the bins up to it, so the next bin starts just above ``c``)."""
    cuts, inclusive = spec.cuts()
    return np.where(inclusive, np.nextafter(cuts, np.inf), cuts)


def _numeric_codes(spec: NumericBins, values: Column, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Each value's bin number (NaN: the missing number), and the values as float64."""
    x = numeric_values(values, name)
    codes = np.searchsorted(_thresholds(spec), x, side="right").astype(_dtype(spec))
    codes[np.isnan(x)] = spec.size
    return codes, x


def _categorical_codes(spec: CategoricalBins, values: Column) -> np.ndarray | None:
    """Each value's bin number as :func:`~driftmon.histogram.bin_categorical` counts it (null:
    the missing number); None if a value is ``__unseen__``."""
    k = len(spec.categories)
    outside = k if spec.others is None else k + 1
    others = spec.others or frozenset()
    if isinstance(values, pa.Array | pa.ChunkedArray) and is_arrow_text(values):
        parts = []
        chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
        position = {category: index for index, category in enumerate(spec.categories)}
        for chunk in chunks:
            encoded = chunk if pa.types.is_dictionary(chunk.type) else _encode(chunk)
            dictionary = encoded.dictionary
            entries = [position.get(v, k if v in others else outside) for v in dictionary.to_pylist()]
            bins = np.array([*entries, spec.size], dtype=np.int64)
            if dictionary.null_count:
                bins[:-1][~valid(dictionary)] = spec.size
            indices = encoded.indices
            at = primitive(indices, np.dtype(f"i{indices.type.bit_width // 8}")).astype(np.int64)
            if indices.null_count:
                at = np.where(valid(indices), at, len(dictionary))
            parts.append(bins[at])
        codes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    else:
        series = as_strings(values)
        missing = series.isna().to_numpy()
        codes = pd.Index(list(spec.categories), dtype="string").get_indexer(pd.Index(series)).astype(np.int64)
        rest = (codes < 0) & ~missing
        if rest.any():
            known = series[rest].isin(others).to_numpy() if others else np.zeros(int(rest.sum()), dtype=bool)
            codes[rest] = np.where(known, k, outside)
        codes[missing] = spec.size
    if spec.others is not None and bool(np.any(codes == k + 1)):
        return None
    return codes.astype(_dtype(spec))


def _encode(chunk: pa.Array) -> pa.DictionaryArray:
    import pyarrow.compute as pac  # not at import: a Parquet-only path never needs it

    encoded: pa.DictionaryArray = pac.dictionary_encode(chunk)
    return encoded


def _point_values(spec: NumericBins) -> dict[int, float]:
    """Point bins by their number in the counts: the one value each holds (a point's two cuts,
    ``< v`` and ``<= v``, bound its bin: NumericBins.cuts)."""
    values, _ = spec.cuts()
    at = np.flatnonzero(values[1:] == values[:-1]) + 1
    return {int(i): float(values[i]) for i in at}


__all__ = ["NULL_TIME", "RowCodes", "build"]
