"""Bin specs and mergeable histograms, and the vectorised binning of raw values.

A *bin spec* says how values map to bins; it always comes from the reference (or from
explicit edges) so that reference and live histograms of a feature share their bins.

Numeric (SPEC §2): interior edges ``e0 < … < ek`` give the bins ``(-inf, e0)``,
``[e0, e1)``, …, ``[e(k-1), ek]``, ``(ek, +inf)``: ``len(edges) + 1`` counts, plus a
``missing`` count for NaN / null.

Categorical: the reference's ``max_categories`` most frequent values, then ``__other__``
(reference values outside the top K) and ``__unseen__`` (live values the reference never
had), plus ``missing`` for null.

Histograms are values: ``merge`` adds counts, so binning chunk by chunk gives exactly the
histogram of the whole.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from driftmon._imports import lazy_import
from driftmon.errors import DataError

# Per-feature work (binning, null simulations) runs as tasks on this many threads (numpy and
# Arrow release the GIL); a binning task holds one column at a time.
TASK_THREADS = min(8, os.cpu_count() or 1)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    pd = lazy_import("pandas")  # ~0.3 s to import; Parquet sources never need it
    # Deferred too, so that driftmon.instrument (bin specs and from_document only) runs in
    # a model server without pyarrow.
    pa = lazy_import("pyarrow")
    pc = lazy_import("pyarrow.compute")

FORMAT = "driftmon.histograms/v1"
OTHER = "__other__"
UNSEEN = "__unseen__"
MISSING = "__missing__"
# Reference values behind __other__ are remembered up to this many; past it they are
# "unknown" (others=None) and every live value outside the top K counts as __other__.
OTHERS_LIMIT = 10_000
# Live values behind __unseen__ kept by name (the most frequent), so an explanation can say
# which new values arrived; bounded, and merged chunk by chunk (counts are then lower bounds).
UNSEEN_KEPT = 16

Kind = Literal["numeric", "categorical"]
if TYPE_CHECKING:
    # One column of values, as a source hands it over: Arrow (Parquet), pandas (CSV, JSON Lines) or numpy.
    from typing import TypeAlias

    Column: TypeAlias = "pd.Series[Any] | np.ndarray[Any, Any] | pa.Array | pa.ChunkedArray"
Strategy = Literal["quantile", "uniform"]


@dataclass(frozen=True, slots=True)
class BinningRule:
    """How to derive a feature's bins from its reference (what the config asks for)."""

    name: str
    kind: Kind | None = None  # None: inferred from the reference column's type
    strategy: Strategy = "quantile"
    bins: int = 10
    edges: tuple[float, ...] | None = None  # explicit edges win over strategy
    max_categories: int = 50


@dataclass(frozen=True, slots=True)
class NumericBins:
    """Edges, strictly increasing and finite, and the ``points``: edges that are bins of their own.

    In value order the bins are ``(-inf, e0)``, then between consecutive edges an interval
    (closed on the left, open on the right, the last one closed on both sides), except that
    a point edge ``v`` is a bin ``{v}`` holding exactly ``v`` and the intervals beside it are
    open at ``v``; then ``(ek, +inf)``. Without points this is SPEC §2's layout. A spec
    with no edges at all (a reference without finite values) has the one bin
    ``(-inf, +inf)``.
    """

    edges: tuple[float, ...]
    points: tuple[float, ...] = ()

    kind: Kind = field(default="numeric", init=False)

    def __post_init__(self) -> None:
        if not set(self.points) <= set(self.edges):
            raise DataError(f"point bins {list(self.points)} must be among the edges {list(self.edges)}")
        if len(self.edges) == 1 and not self.points:
            raise DataError("a single edge must be a point bin (one edge alone makes no interval)")

    def cuts(self) -> tuple[np.ndarray, np.ndarray]:
        """Bin boundaries in value order: values, and whether each one is inclusive (``<=``).

        Bin ``i`` holds the values counted at boundary ``i`` but not at ``i - 1`` (the last
        bin: every value counted by none of them), so ``counts = diff([0, *counted, present])``
        where ``counted[j]`` is the number of values ``< cut`` (or ``<= cut`` if inclusive).
        """
        points = set(self.points)
        values: list[float] = []
        inclusive: list[bool] = []
        last = len(self.edges) - 1
        for index, edge in enumerate(self.edges):
            if edge in points:
                values += [edge, edge]
                inclusive += [False, True]
            else:
                values.append(edge)
                inclusive.append(index == last)  # the last interval is closed on the right
        return np.array(values, dtype=np.float64), np.array(inclusive, dtype=bool)

    def labels(self, number: Callable[[float], str] | None = None, separator: str = ", ") -> list[str]:
        """Bin labels in count order: underflow, interior bins and points, overflow.

        ``number`` writes each edge (default: ``:g``); ``separator`` goes between an
        interval's ends.
        """
        text = number or _fmt
        if not self.edges:
            return [f"(-inf{separator}+inf)"]
        points = set(self.points)
        labels = [f"(-inf{separator}{text(self.edges[0])})"]
        for index, edge in enumerate(self.edges):
            if edge in points:
                labels.append(f"{{{text(edge)}}}")
            if index + 1 < len(self.edges):
                following = self.edges[index + 1]
                left = "(" if edge in points else "["
                last = index + 1 == len(self.edges) - 1
                right = ")" if following in points or not last else "]"
                labels.append(f"{left}{text(edge)}{separator}{text(following)}{right}")
        labels.append(f"({text(self.edges[-1])}{separator}+inf)")
        return labels

    @property
    def size(self) -> int:
        return len(self.edges) + 1 + len(self.points) if self.edges else 1


@dataclass(frozen=True, slots=True)
class CategoricalBins:
    """Top-K reference categories, and ``others``: the reference's remaining values.

    ``others is None`` means those values are not known (a histogram file without
    ``other_values`` whose reference has an ``__other__`` count, or more than
    ``OTHERS_LIMIT`` of them): a live value outside the top K then counts as ``__other__``,
    since it cannot be told apart from a known one. With ``others`` known, a live value
    in neither set is ``__unseen__``.
    """

    categories: tuple[str, ...]
    others: frozenset[str] | None = None

    kind: Kind = field(default="categorical", init=False)

    def labels(self) -> list[str]:
        return [*self.categories, OTHER, UNSEEN]

    @property
    def size(self) -> int:
        return len(self.categories) + 2


BinSpec = NumericBins | CategoricalBins


@dataclass(frozen=True, slots=True, eq=False)
class Histogram:
    """Counts of one feature over the bins of ``spec``; counts may be weights (floats)."""

    spec: BinSpec
    counts: np.ndarray  # float64, len == spec.size, non-negative, finite
    missing: float = 0.0
    # (value, count) of the most frequent live values counted as __unseen__, most frequent
    # first, at most UNSEEN_KEPT; informative only (not part of equality, not in files).
    unseen_values: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        counts = np.asarray(self.counts, dtype=np.float64)
        if counts.shape != (self.spec.size,):
            raise DataError(f"histogram has {counts.size} counts where its bins need {self.spec.size}")
        counts.setflags(write=False)
        object.__setattr__(self, "counts", counts)

    @property
    def kind(self) -> Kind:
        return self.spec.kind

    @property
    def total(self) -> float:
        """Rows counted, missing included."""
        return float(self.counts.sum() + self.missing)

    @property
    def present(self) -> float:
        """Rows counted with a value (not missing)."""
        return float(self.counts.sum())

    def merge(self, other: Histogram) -> Histogram:
        """The histogram of both samples together (bins must be the same)."""
        if other.spec != self.spec:
            raise DataError("cannot merge histograms with different bins")
        unseen = _top_unseen([*self.unseen_values, *other.unseen_values])
        return Histogram(self.spec, self.counts + other.counts, self.missing + other.missing, unseen)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Histogram)
            and self.spec == other.spec
            and self.missing == other.missing
            and bool(np.array_equal(self.counts, other.counts))
        )

    __hash__ = None  # type: ignore[assignment]


def _top_unseen(pairs: Iterable[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    """(value, count) pairs summed by value, the UNSEEN_KEPT most frequent (ties by value)."""
    totals: dict[str, float] = {}
    for value, count in pairs:
        totals[value] = totals.get(value, 0.0) + count
    return tuple(sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:UNSEEN_KEPT])


def empty(spec: BinSpec) -> Histogram:
    """A histogram with every count zero."""
    return Histogram(spec, np.zeros(spec.size), 0.0)


def merge_all(spec: BinSpec, parts: Iterable[Histogram]) -> Histogram:
    """Sum of histograms over the same bins (an empty iterable gives zero counts)."""
    result = empty(spec)
    for part in parts:
        result = result.merge(part)
    return result


# ---------------------------------------------------------------------------
# deriving bins from the reference


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
            raise _temporal_error(feature, str(kind))
        numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
        return "numeric" if numeric else "categorical"
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        raise _temporal_error(feature, str(dtype))
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


def _temporal_error(feature: str, type_name: str) -> DataError:
    return DataError(
        f"feature {feature!r} is a date/time or duration column ({type_name}); set `kind: numeric` "
        f"(seconds since 1970-01-01 UTC, or seconds for a duration) or `kind: categorical` for it"
    )


def derive_spec(rule: BinningRule, values: Column) -> BinSpec:
    """Bins for one feature from its whole reference column."""
    kind = rule.kind or infer_kind(values, rule.name)
    if kind == "categorical":
        return categorical_spec(values, rule.max_categories)
    if rule.edges is not None:
        return NumericBins(check_edges(rule.edges, rule.name))
    return selected_spec(numeric_values(values, rule.name), rule.strategy, rule.bins, rule.name)


def profile_column(rule: BinningRule, values: Column) -> Histogram:
    """Bins derived from a whole reference column, and its histogram over them.

    Equal to ``bin_values(derive_spec(rule, values), values)``. A numeric column is not
    sorted: its quantile edges are exact order statistics picked out by :class:`Ranked`.
    """
    kind = rule.kind or infer_kind(values, rule.name)
    if kind == "categorical" or rule.edges is not None:
        return bin_values(derive_spec(rule, values), values, rule.name)
    x = numeric_values(values, rule.name)
    if rule.bins + 1 > _COMPARE_EDGES:  # counting that many edges sorts the column: sort it once, for both
        ordered = np.sort(x, kind="quicksort")  # NaN last
        present = ordered[: int(np.searchsorted(ordered, np.inf, side="right"))]
        first, end = np.searchsorted(present, [-np.inf, np.inf], side="right"), np.searchsorted(present, np.inf)
        spec = numeric_spec(present[int(first[0]) : int(end)], rule.strategy, rule.bins, rule.name)
        return _counts_from_sorted(spec, present, x.size - present.size)
    return bin_numeric(selected_spec(x, rule.strategy, rule.bins, rule.name), x)


def check_edges(edges: Sequence[float], feature: str) -> tuple[float, ...]:
    """Edges as floats, finite and strictly increasing, or a DataError naming the feature."""
    arr = np.asarray(edges, dtype=np.float64)
    if arr.ndim != 1 or arr.size < 2:
        raise DataError(f"feature {feature!r}: edges must be a list of at least two numbers (one interior bin)")
    if not np.all(np.isfinite(arr)):
        raise DataError(f"feature {feature!r}: edges must be finite numbers, got {list(edges)}")
    if np.any(np.diff(arr) <= 0):
        raise DataError(f"feature {feature!r}: edges must be strictly increasing, got {list(edges)}")
    return tuple(float(x) for x in arr)


def finite_sorted(values: np.ndarray) -> np.ndarray:
    """The finite values, sorted (NaN and ±inf dropped)."""
    return np.sort(values[np.isfinite(values)], kind="quicksort")


def numeric_spec(finite_sorted_values: np.ndarray, strategy: Strategy, bins: int, feature: str) -> NumericBins:
    """Bins from sorted finite reference values, keeping distinct values apart where it matters.

    - At most ``bins`` distinct values (flags, codes, small counts): one point bin per value.
    - Otherwise every value holding at least 1/``bins`` of the values (a point mass, such as
      the zero of a zero-inflated amount) is a point bin, and the other values are split into
      the remaining ``bins - points`` bins by quantiles (or uniform widths); duplicate edges
      are merged.
    So no two distinct values that each hold >= 1/``bins`` of the reference share a bin.
    No finite values at all: the spec with no edges (one bin; the feature is not judged).
    """
    x = finite_sorted_values
    if x.size == 0:
        return NumericBins(())
    starts = np.flatnonzero(np.concatenate(([True], x[1:] != x[:-1])))
    values = x[starts]
    if values.size <= bins:
        distinct = tuple(float(v) for v in values)
        return NumericBins(distinct, distinct)
    runs = np.diff(np.append(starts, x.size))
    heavy = runs * bins >= x.size
    points = [float(v) for v in values[heavy]]
    rest = x[~np.repeat(heavy, runs)] if points else x
    return _split_rest(points, rest.size, lambda ranks: rest[ranks], strategy, bins)


def _split_rest(
    points: list[float], size: int, at: Callable[[np.ndarray], np.ndarray], strategy: Strategy, bins: int
) -> NumericBins:
    """The bins of :func:`numeric_spec` given its point values and the other ``size`` values.

    ``at(ranks)`` gives the other values at those ranks of their sorted order.
    """
    ends = at(np.array([0, size - 1]))
    lo, hi = float(ends[0]), float(ends[1])
    parts = bins - len(points)
    if lo == hi:
        points.append(lo)
        edges = np.array([lo])
    elif strategy == "uniform":
        edges = np.linspace(lo, hi, parts + 1)
        if not np.isfinite(edges).all():  # hi - lo overflows near ±1.8e308: weights never do
            t = np.linspace(0.0, 1.0, parts + 1)
            edges = lo * (1.0 - t) + hi * t
    else:
        edges = _interpolated(np.linspace(0.0, 1.0, parts + 1), size, at)
    edges = np.unique(np.concatenate([edges, points]))
    return NumericBins(tuple(float(e) for e in edges), tuple(sorted(points)))


def _interpolated(probs: np.ndarray, size: int, at: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Quantiles with linear interpolation (numpy's default method) of ``size`` sorted values,
    each read with ``at(ranks)``."""
    position = probs * (size - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, size - 1)
    frac = position - below
    low, high = at(below), at(above)
    result: np.ndarray = low + (high - low) * frac
    if not np.isfinite(result).all():  # high - low overflows near ±1.8e308
        result = low * (1.0 - frac) + high * frac
    ends = at(np.array([0, size - 1]))
    result[probs == 0.0] = ends[0]
    result[probs == 1.0] = ends[1]
    return result


# Reference columns up to this size are sorted; larger ones go through Ranked's selection.
SORT_BELOW = 65_536
SAMPLE_STEP = 32  # Ranked samples every SAMPLE_STEP-th value


def selected_spec(
    values: np.ndarray,
    strategy: Strategy,
    bins: int,
    feature: str,
    step: int = SAMPLE_STEP,
    sort_below: int = SORT_BELOW,
) -> NumericBins:
    """``numeric_spec(finite_sorted(values), ...)``, exactly, without sorting ``values``.

    NaN and ±inf in ``values`` are ignored, as :func:`finite_sorted` drops them.
    """
    ranked = Ranked(values, step, sort_below)
    n = ranked.finite
    if n == 0:
        return NumericBins(())
    few = ranked.few_distinct(bins)
    if few is not None:
        return NumericBins(few, few)
    offset = ranked.negative  # finite rank r is rank r + offset among the present values
    # A value holding >= n/bins of the values covers one of these ranks (their gaps are <= ceil(n/bins)).
    spaced = np.arange(bins, dtype=np.int64) * n // bins
    quantile_ranks = np.floor(np.linspace(0.0, 1.0, bins + 1) * (n - 1)).astype(np.int64)
    wanted = np.unique(np.concatenate([spaced, quantile_ranks, np.minimum(quantile_ranks + 1, n - 1), [n - 1]]))
    ranked.at(wanted + offset)  # one pass and one partition per bracket for every rank below
    candidates = np.unique(ranked.at(spaced + offset))
    heavy = [float(v) for v in candidates if ranked.copies(float(v)) * bins >= n]
    if not heavy:
        return _split_rest([], n, lambda ranks: ranked.at(ranks + offset), strategy, bins)
    # The other values' rank r is their rank among all finite ones once the heavy runs before it are skipped.
    runs = [(ranked.below(v) - offset, ranked.copies(v)) for v in heavy]

    def at(ranks: np.ndarray) -> np.ndarray:
        shifted = ranks.astype(np.int64).copy()
        for start, length in runs:
            shifted[shifted >= start] += length
        return ranked.at(shifted + offset)

    return _split_rest(heavy, n - sum(length for _, length in runs), at, strategy, bins)


@dataclass(slots=True)
class _Bracket:
    """The present values of a column between ``lo`` and ``hi`` (each end open or closed).

    They hold the ranks ``below .. below + size - 1``. A run (``lo == hi``) keeps no values:
    they are all ``lo``.
    """

    lo: float
    hi: float
    lo_open: bool
    hi_open: bool
    below: int = 0  # present values before the bracket
    size: int = 0
    inside: np.ndarray | None = None  # the bracket's values (in no particular order); None for a run

    @property
    def run(self) -> bool:
        return self.lo == self.hi

    def holds(self, value: float) -> bool:
        above_lo = value > self.lo or (value == self.lo and not self.lo_open)
        below_hi = value < self.hi or (value == self.hi and not self.hi_open)
        return above_lo and below_hi


def _merged(brackets: list[_Bracket]) -> list[_Bracket]:
    """Overlapping intervals united (one pass over the column each); runs kept once each."""
    runs = {b.lo: b for b in brackets if b.run}
    result: list[_Bracket] = []
    for bracket in sorted((b for b in brackets if not b.run), key=lambda b: (b.lo, b.lo_open)):
        last = result[-1] if result else None
        if last is not None and (
            bracket.lo < last.hi or (bracket.lo == last.hi and not (bracket.lo_open or last.hi_open))
        ):
            if bracket.hi > last.hi or (bracket.hi == last.hi and not bracket.hi_open):
                last.hi, last.hi_open = bracket.hi, bracket.hi_open
        else:
            result.append(bracket)
    return [*result, *runs.values()]


class Ranked:
    """Exact order statistics of the present (non-NaN) values of a column, without sorting it.

    A sorted 1-in-``step`` sample brackets each wanted rank with two sample values; one
    comparison pass over the column counts the values below each bracket and pulls out the
    few inside, and a partition of those gives the rank's value. A value the sample holds
    several times (a point mass) is a run of its own, counted but never pulled out. A
    bracket that misses its rank (an unlucky sample) falls back to sorting the whole
    column, as do columns shorter than ``sort_below``. Ranks count -inf first and +inf
    last, like ``np.sort``.
    """

    def __init__(self, values: np.ndarray, step: int = SAMPLE_STEP, sort_below: int = SORT_BELOW) -> None:
        self.values = values
        self.negative = int(np.count_nonzero(values == -np.inf))
        self.present = int(np.count_nonzero(values <= np.inf))
        self.finite = self.present - self.negative - int(np.count_nonzero(values == np.inf))
        self.ordered: np.ndarray | None = None  # the sorted present values, once sorting was needed
        self.brackets: list[_Bracket] = []
        self.known: dict[int, float] = {}  # rank -> value, as partitions found them
        sample = np.sort(values[::step])
        self.sample = sample[: int(np.searchsorted(sample, np.inf, side="right"))]  # NaN sorts last
        if values.size < sort_below or self.sample.size < 2:
            self._sort()

    def _sort(self) -> np.ndarray:
        if self.ordered is None:
            ordered = np.sort(self.values, kind="quicksort")
            self.ordered = ordered[: self.present]
            self.brackets = []
        return self.ordered

    def few_distinct(self, limit: int) -> tuple[float, ...] | None:
        """The distinct finite values when there are at most ``limit`` of them, else None."""
        if self.ordered is not None:
            finite = self.ordered[self.negative : self.negative + self.finite]
            distinct = finite[np.concatenate(([True], finite[1:] != finite[:-1]))] if finite.size else finite
            return tuple(float(v) for v in distinct) if distinct.size <= limit else None
        sample = self.sample[np.isfinite(self.sample)]  # sorted
        distinct = sample[np.concatenate(([True], sample[1:] != sample[:-1]))] if sample.size else sample
        if distinct.size > limit:
            return None
        # The sample saw few values: they are all of them only if they account for every finite value.
        if sum(int(np.count_nonzero(self.values == v)) for v in distinct) == self.finite:
            return tuple(float(v) for v in distinct)
        self._sort()  # a value the sample missed: count them exactly from the sorted column
        return self.few_distinct(limit)

    def prefetch(self, ranks: np.ndarray) -> None:
        """Bracket these ranks (one pass over the column for all of them)."""
        if self.ordered is not None:
            return
        ranks = np.asarray(ranks, dtype=np.int64)
        ranks = ranks[[self._bracket(int(r)) is None for r in ranks]] if self.brackets else ranks
        if ranks.size == 0:
            return
        sample, m = self.sample, self.sample.size
        # The sample's rank of a value is binomial around rank / step: a margin of ~4 standard deviations.
        centre = ranks * (m / max(self.present, 1))
        margin = 4.0 * np.sqrt(np.maximum(centre * (1.0 - centre / m), 1.0)) + 2.0
        low = np.floor(centre - margin).astype(np.int64)
        high = np.ceil(centre + margin).astype(np.int64)
        # Values seen at least 4 times in the sample are runs: counted, never pulled out.
        starts = np.flatnonzero(np.concatenate(([True], sample[1:] != sample[:-1])))
        lengths = np.diff(np.append(starts, m))
        masses = set(sample[starts[lengths >= 4]].tolist())
        new: list[_Bracket] = []
        for lo_index, hi_index in zip(low.tolist(), high.tolist(), strict=True):
            lo = -np.inf if lo_index < 0 else float(sample[lo_index])
            hi = np.inf if hi_index >= m else float(sample[hi_index])
            if lo == hi:
                new.append(_Bracket(lo, hi, False, False))
                continue
            new += [_Bracket(v, v, False, False) for v in (lo, hi) if v in masses]
            new.append(_Bracket(lo, hi, lo in masses, hi in masses))
        new = _merged(new)
        self._count(new)
        self.brackets += new
        if any(self._bracket(int(r)) is None for r in ranks):
            self._sort()  # the sample missed: sort after all

    def _count(self, brackets: list[_Bracket]) -> None:
        """One blocked pass over the column for all brackets (cache-sized temporaries)."""
        x = self.values
        at_least = np.zeros(len(brackets), dtype=np.int64)  # values from lo on: below = present - this
        sizes = np.zeros(len(brackets), dtype=np.int64)
        pieces: list[list[np.ndarray]] = [[] for _ in brackets]
        flags = np.empty(min(x.size, _BLOCK), dtype=bool)
        upper = np.empty_like(flags)
        for start in range(0, x.size, _BLOCK):
            block = x[start : start + _BLOCK]
            low_flags, high_flags = flags[: block.size], upper[: block.size]
            for index, bracket in enumerate(brackets):
                (np.greater if bracket.lo_open else np.greater_equal)(block, bracket.lo, out=low_flags)
                at_least[index] += np.count_nonzero(low_flags)
                if bracket.run:
                    sizes[index] += np.count_nonzero(np.equal(block, bracket.lo, out=high_flags))
                    continue
                (np.less if bracket.hi_open else np.less_equal)(block, bracket.hi, out=high_flags)
                np.logical_and(low_flags, high_flags, out=low_flags)
                pieces[index].append(block[low_flags])
        for index, bracket in enumerate(brackets):
            bracket.below = self.present - int(at_least[index])
            if bracket.run:
                bracket.size = int(sizes[index])
            else:
                bracket.inside = np.concatenate(pieces[index]) if pieces[index] else np.empty(0)
                bracket.size = bracket.inside.size

    def _bracket(self, rank: int) -> _Bracket | None:
        """A bracket holding ``rank``, if any."""
        for bracket in self.brackets:
            if bracket.below <= rank < bracket.below + bracket.size:
                return bracket
        return None

    def at(self, ranks: np.ndarray) -> np.ndarray:
        """The present values at these ranks (0: the smallest)."""
        ranks = np.asarray(ranks, dtype=np.int64)
        self.prefetch(ranks)
        if self.ordered is not None:
            sorted_values: np.ndarray = self.ordered[ranks]
            return sorted_values
        wanted: dict[int, tuple[_Bracket, list[int]]] = {}  # per bracket: the ranks it holds
        for rank in ranks.tolist():
            if rank in self.known:
                continue
            found = self._bracket(rank)
            assert found is not None
            if found.inside is None:
                self.known[rank] = found.lo
            else:
                wanted.setdefault(id(found), (found, []))[1].append(rank)
        for found, held in wanted.values():
            assert found.inside is not None
            offsets = np.unique(np.array(held, dtype=np.int64) - found.below)
            found.inside.partition(offsets)  # in place: the bracket keeps the same values
            self.known.update(zip((offsets + found.below).tolist(), found.inside[offsets].tolist(), strict=True))
        return np.array([self.known[rank] for rank in ranks.tolist()], dtype=np.float64)

    def _holding(self, value: float) -> _Bracket | None:
        for bracket in self.brackets:  # a bracket holds every copy of the values in its range
            if bracket.holds(value):
                return bracket
        return None

    def copies(self, value: float) -> int:
        """How many times ``value`` occurs."""
        if self.ordered is not None:
            ordered = self.ordered
            return int(np.searchsorted(ordered, value, "right") - np.searchsorted(ordered, value, "left"))
        bracket = self._holding(value)
        if bracket is None:
            return int(np.count_nonzero(self.values == value))
        return bracket.size if bracket.inside is None else int(np.count_nonzero(bracket.inside == value))

    def below(self, value: float) -> int:
        """How many present values are smaller than ``value``."""
        if self.ordered is not None:
            return int(np.searchsorted(self.ordered, value, "left"))
        bracket = self._holding(value)
        if bracket is None:
            return int(np.count_nonzero(self.values < value))
        return bracket.below + (0 if bracket.inside is None else int(np.count_nonzero(bracket.inside < value)))


def categorical_spec(values: Column, max_categories: int) -> CategoricalBins:
    """Top ``max_categories`` reference values by frequency (ties by value), the rest as others."""
    if _is_arrow_text(values):
        totals: dict[str, float] = {}
        for dictionary, per_entry, _ in _entry_counts(values):
            for value, count in zip(dictionary.to_pylist(), per_entry.tolist(), strict=True):
                if value is not None and count:
                    totals[value] = totals.get(value, 0.0) + count
        frequency = list(totals.items())
    else:
        counted = as_strings(values).value_counts(dropna=True, sort=False)
        frequency = [(str(value), float(count)) for value, count in counted.items()]
    # Sort by count descending, then value, so the bins do not depend on row order.
    order = sorted(frequency, key=lambda item: (-item[1], item[0]))
    categories = tuple(str(value) for value, _ in order[:max_categories])
    rest = order[max_categories:]
    others = frozenset(str(value) for value, _ in rest) if len(rest) <= OTHERS_LIMIT else None
    return CategoricalBins(categories, others)


# ---------------------------------------------------------------------------
# binning


def bin_values(spec: BinSpec, values: Column, feature: str) -> Histogram:
    """Count one column (any length, one chunk of many) into ``spec``'s bins."""
    if isinstance(spec, NumericBins):
        return bin_numeric(spec, numeric_values(values, feature))
    return bin_categorical(spec, values)


_SECONDS_PER_TICK = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}

_COMPARE_EDGES = 32  # up to this many edges, comparing beats sorting
_BLOCK = 1 << 16  # values compared per step, so the boolean buffer stays in cache


def bin_numeric(spec: NumericBins, values: np.ndarray) -> Histogram:
    """Vectorised numeric binning, NaN to missing; -inf lands in underflow, +inf in overflow.

    With few bin boundaries, one comparison per boundary over cache-sized blocks (no copy,
    no sort); with many, one sort and a search per boundary.
    """
    x = np.asarray(values, dtype=np.float64)
    cuts, inclusive = spec.cuts()
    if cuts.size > _COMPARE_EDGES:
        ordered = np.sort(x, kind="quicksort")  # NaN sorts last
        present = int(np.searchsorted(ordered, np.inf, side="right"))
        return _counts_from_sorted(spec, ordered[:present], x.size - present)
    counted = np.zeros(cuts.size, dtype=np.int64)  # values < cut (<= cut where inclusive)
    present = 0  # values <= +inf: everything but NaN
    buffer = np.empty(min(x.size, _BLOCK), dtype=bool)
    for start in range(0, x.size, _BLOCK):
        block = x[start : start + _BLOCK]
        flags = buffer[: block.size]
        for i, (cut, closed) in enumerate(zip(cuts.tolist(), inclusive.tolist(), strict=True)):
            compare = np.less_equal if closed else np.less
            counted[i] += np.count_nonzero(compare(block, cut, out=flags))
        present += int(np.count_nonzero(np.less_equal(block, np.inf, out=flags)))
    bounds = np.concatenate(([0], counted, [present]))
    return Histogram(spec, np.diff(bounds).astype(np.float64), float(x.size - present))


def _counts_from_sorted(spec: NumericBins, ordered: np.ndarray, missing: int) -> Histogram:
    """Counts of sorted values without NaN: one search per bin boundary."""
    cuts, inclusive = spec.cuts()
    counted = np.where(
        inclusive, np.searchsorted(ordered, cuts, side="right"), np.searchsorted(ordered, cuts, side="left")
    )
    bounds = np.concatenate(([0], counted, [ordered.size]))
    return Histogram(spec, np.diff(bounds).astype(np.float64), float(missing))


def bin_categorical(spec: CategoricalBins, values: Column) -> Histogram:
    """Vectorised categorical binning: Arrow dictionary codes, or pandas for other columns."""
    if _is_arrow_text(values):
        return _bin_arrow_text(spec, values)
    series = as_strings(values)
    missing = series.isna()
    n_missing = int(missing.sum())
    k = len(spec.categories)
    codes = pd.Index(list(spec.categories), dtype="string").get_indexer(pd.Index(series))
    counts = np.zeros(spec.size, dtype=np.float64)
    counts[:k] = np.bincount(codes[codes >= 0], minlength=k)[:k]
    outside = (codes < 0) & ~missing.to_numpy()
    n_outside = int(outside.sum())
    if n_outside:
        if spec.others is None:
            counts[k] = n_outside
        else:
            leftover = series[outside]
            n_other = int(leftover.isin(spec.others).sum()) if spec.others else 0
            counts[k] = n_other
            counts[k + 1] = n_outside - n_other
            if n_outside > n_other:
                new = leftover[~leftover.isin(spec.others)] if spec.others else leftover
                top = new.value_counts(sort=True).head(UNSEEN_KEPT)
                return Histogram(
                    spec, counts, float(n_missing), _top_unseen((str(v), float(c)) for v, c in top.items())
                )
    return Histogram(spec, counts, float(n_missing))


def _is_arrow_text(values: Column) -> bool:
    if not isinstance(values, pa.Array | pa.ChunkedArray):
        return False
    kind = values.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _decoded(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Plain strings (a dictionary column decoded)."""
    if pa.types.is_dictionary(values.type):
        return values.cast(values.type.value_type)
    return values


def _entry_counts(values: pa.Array | pa.ChunkedArray) -> Iterator[tuple[pa.Array, np.ndarray, float]]:
    """Per chunk: its dictionary, the rows per dictionary entry, and the null rows.

    Counting codes (a bincount) costs a fraction of hashing the strings themselves; a
    Parquet text column read with ``read_dictionary`` comes with its codes.
    """
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    for chunk in chunks:
        encoded = chunk if pa.types.is_dictionary(chunk.type) else pc.dictionary_encode(chunk)
        dictionary = encoded.dictionary
        entries = len(dictionary)
        indices = encoded.indices
        codes = _primitive(indices, np.dtype(f"i{indices.type.bit_width // 8}"))
        if indices.null_count:
            codes = np.where(_valid(indices), codes, entries)
        per_entry = np.bincount(codes, minlength=entries + 1).astype(np.float64)
        null_entry = ~_valid(dictionary) if dictionary.null_count else np.zeros(entries, dtype=bool)
        nulls = float(per_entry[entries] + per_entry[:entries][null_entry].sum())
        yield dictionary, np.where(null_entry, 0.0, per_entry[:entries]), nulls


def _primitive(array: pa.Array, dtype: np.dtype[Any]) -> np.ndarray:
    """The value buffer of a fixed-width Arrow array as numpy, without a copy.

    Null slots hold arbitrary values. (pyarrow's own ``to_numpy`` imports pandas.)
    """
    if len(array) == 0:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)


def _valid(array: pa.Array) -> np.ndarray:
    """True where the Arrow array holds a value (not null)."""
    if array.null_count == 0 or array.buffers()[0] is None:
        return np.ones(len(array), dtype=bool)
    # The validity bitmap unpacked by numpy (least significant bit first, as Arrow stores it):
    # no pyarrow.compute, whose import costs a noticeable share of a short check.
    bits = np.unpackbits(np.frombuffer(array.buffers()[0], dtype=np.uint8), bitorder="little")
    valid: np.ndarray = bits[array.offset : array.offset + len(array)].astype(bool)
    return valid


def _arrow_floats(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A float64 Arrow column as numpy, nulls as NaN."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    parts = []
    for chunk in chunks:
        part = _primitive(chunk, np.dtype(np.float64))
        if chunk.null_count:
            part = np.where(_valid(chunk), part, np.nan)
        parts.append(part)
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.float64)


def _bin_arrow_text(spec: CategoricalBins, values: pa.Array | pa.ChunkedArray) -> Histogram:
    """Count the codes of each dictionary entry, then map the (few) entries to bins."""
    k = len(spec.categories)
    outside = k if spec.others is None else k + 1  # unknown others: __other__, else __unseen__
    counts = np.zeros(spec.size, dtype=np.float64)
    missing = 0.0
    position = {category: index for index, category in enumerate(spec.categories)}
    unseen: list[tuple[str, float]] = []
    for dictionary, per_entry, nulls in _entry_counts(values):
        missing += nulls
        # The dictionary holds each distinct value once, so a Python lookup per entry is cheap.
        others = spec.others or frozenset()
        bin_of_entry = np.fromiter(
            (position.get(value, k if value in others else outside) for value in dictionary.to_pylist()),
            dtype=np.intp,
            count=len(dictionary),
        )
        counts += np.bincount(bin_of_entry, weights=per_entry, minlength=spec.size)[: spec.size]
        if spec.others is not None:
            new = np.flatnonzero((bin_of_entry == k + 1) & (per_entry > 0))
            if new.size:
                top = new[np.argsort(-per_entry[new], kind="stable")[:UNSEEN_KEPT]]
                unseen.extend((str(dictionary[int(i)].as_py()), float(per_entry[i])) for i in top)
    return Histogram(spec, counts, missing, _top_unseen(unseen))


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

    Timestamps and dates become seconds since 1970-01-01 UTC, durations seconds.
    """
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        return values.astype(np.float64, copy=False)
    if isinstance(values, pa.Array | pa.ChunkedArray):
        kind = values.type
        types = pa.types
        if types.is_integer(kind) or types.is_floating(kind) or types.is_decimal(kind) or types.is_boolean(kind):
            # unsafe: int64 beyond 2**53 rounds to the nearest float instead of raising
            same = values.type == pa.float64()  # no cast (nor pyarrow.compute) for the commonest type
            return _arrow_floats(values if same else values.cast(pa.float64(), safe=False))
        if types.is_date(kind):
            values, kind = values.cast(pa.timestamp("s")), pa.timestamp("s")
        if types.is_timestamp(kind) or types.is_duration(kind):
            ticks = _arrow_floats(values.cast(pa.int64()).cast(pa.float64(), safe=False))
            return ticks * _SECONDS_PER_TICK[kind.unit]
        values = _decoded(values).to_pandas()
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_datetime64_any_dtype(series.dtype) or pd.api.types.is_timedelta64_dtype(series.dtype):
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        unit = "datetime64[ns]" if pd.api.types.is_datetime64_any_dtype(series.dtype) else "timedelta64[ns]"
        seconds = series.to_numpy(dtype=unit).astype(np.int64).astype(np.float64) * 1e-9
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


# ---------------------------------------------------------------------------
# comparing two histograms


@dataclass(frozen=True, slots=True)
class Aligned:
    """Reference and live counts of one feature over the union of their bins (missing last)."""

    labels: tuple[str, ...]
    reference: np.ndarray
    live: np.ndarray

    @property
    def unseen_fraction(self) -> float:
        """Share of live rows (of all, nulls included) with a value in a bin the reference left empty.

        The missing bin is not a value bin: a rise in nulls shows in the scores, not here.
        """
        live_total = float(self.live.sum())
        if live_total == 0:
            return 0.0
        values_live, values_ref = self.live[:-1], self.reference[:-1]
        return float(values_live[values_ref == 0].sum()) / live_total


def align(reference: Histogram, live: Histogram, feature: str) -> Aligned:
    """Both histograms over the union of their bins; numeric edges must match exactly."""
    if reference.kind != live.kind:
        raise DataError(f"feature {feature!r} is {reference.kind} in the reference but {live.kind} in the live data")
    if isinstance(reference.spec, NumericBins) and isinstance(live.spec, NumericBins):
        if reference.spec != live.spec:
            raise DataError(
                f"feature {feature!r}: live edges {list(live.spec.edges)} differ from the "
                f"reference edges {list(reference.spec.edges)}; driftmon never rebins silently"
            )
        labels = (*reference.spec.labels(), MISSING)
        ref = np.append(reference.counts, reference.missing)
        cur = np.append(live.counts, live.missing)
        return Aligned(labels, ref, cur)
    ref_map = dict(zip(reference.spec.labels(), reference.counts.tolist(), strict=True))
    live_map = dict(zip(live.spec.labels(), live.counts.tolist(), strict=True))
    keys = list(ref_map) + [k for k in live_map if k not in ref_map]
    ref = np.array([ref_map.get(k, 0.0) for k in keys] + [reference.missing])
    cur = np.array([live_map.get(k, 0.0) for k in keys] + [live.missing])
    return Aligned((*keys, MISSING), ref, cur)


# ---------------------------------------------------------------------------
# the histogram file (SPEC §6)


def to_document(histograms: Mapping[str, Histogram]) -> dict[str, Any]:
    """The ``driftmon.histograms/v1`` JSON document of these histograms."""
    features: dict[str, Any] = {}
    for name, hist in histograms.items():
        if isinstance(hist.spec, NumericBins):
            features[name] = {
                "kind": "numeric",
                "edges": list(hist.spec.edges),
                "counts": [_number(c) for c in hist.counts],
                "missing": _number(hist.missing),
            }
            if hist.spec.points:
                # Point bins (values with a bin of their own); files without them keep SPEC §6's layout.
                features[name]["points"] = list(hist.spec.points)
        else:
            counts = dict(zip(hist.spec.labels(), (_number(c) for c in hist.counts), strict=True))
            if not counts[UNSEEN]:
                del counts[UNSEEN]
            entry: dict[str, Any] = {
                "kind": "categorical",
                "counts": counts,
                "missing": _number(hist.missing),
            }
            if hist.spec.others:
                # Not in §6's example: lets a live sample tell __other__ from __unseen__.
                entry["other_values"] = sorted(hist.spec.others)
            features[name] = entry
    return {"format": FORMAT, "features": features}


def from_document(document: Any, origin: str) -> dict[str, Histogram]:
    """Histograms from a parsed §6 document; every problem names ``origin`` and the feature."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataError(f'{origin}: not a histogram file (expected "format": "{FORMAT}")')
    features = document.get("features")
    if not isinstance(features, dict):
        raise DataError(f'{origin}: "features" must be an object of feature histograms')
    return {str(name): _feature_from_document(entry, origin, str(name)) for name, entry in features.items()}


def _feature_from_document(entry: Any, origin: str, name: str) -> Histogram:
    where = f"{origin}: feature {name!r}"
    if not isinstance(entry, dict):
        raise DataError(f"{where}: must be an object with kind, counts and missing")
    kind = entry.get("kind")
    missing = _count(entry.get("missing", 0), f"{where}: missing")
    raw = entry.get("counts")
    if kind == "numeric":
        spec = _numeric_spec_from_document(entry, origin, name)
        if not isinstance(raw, list) or len(raw) != spec.size:
            raise DataError(
                f"{where}: counts must be a list of len(edges) + 1 + len(points) = {spec.size} numbers "
                "(underflow, interior and point bins in value order, overflow)"
            )
        counts = np.array([_count(c, f"{where}: counts[{i}]") for i, c in enumerate(raw)])
        return _bounded(Histogram(spec, counts, missing), where)
    if kind == "categorical":
        if not isinstance(raw, dict):
            raise DataError(f"{where}: counts must be an object of category: count")
        values = {str(k): _count(v, f"{where}: counts[{k!r}]") for k, v in raw.items()}
        categories = tuple(k for k in values if k not in (OTHER, UNSEEN, MISSING))
        other_values = entry.get("other_values")
        others: frozenset[str] | None
        if other_values is None:
            # Unknown values behind a non-zero __other__; none behind a zero one.
            others = None if values.get(OTHER, 0.0) > 0 else frozenset()
        elif isinstance(other_values, list):
            others = frozenset(str(v) for v in other_values)
        else:
            raise DataError(f"{where}: other_values must be a list of strings")
        bins = CategoricalBins(categories, others)
        counts = np.array([*(values[c] for c in categories), values.get(OTHER, 0.0), values.get(UNSEEN, 0.0)])
        return _bounded(Histogram(bins, counts, missing + values.get(MISSING, 0.0)), where)
    raise DataError(f'{where}: kind must be "numeric" or "categorical", got {kind!r}')


def _numeric_spec_from_document(entry: dict[str, Any], origin: str, name: str) -> NumericBins:
    """Edges and optional point bins of a numeric feature in a histogram file."""
    where = f"{origin}: feature {name!r}"
    edges = entry.get("edges")
    points = entry.get("points", [])
    for key, value in (("edges", edges), ("points", points)):
        if not isinstance(value, list) or not all(_is_number(e) for e in value):
            raise DataError(f"{where}: {key} must be a list of numbers")
    assert isinstance(edges, list) and isinstance(points, list)
    if not edges and not points:
        return NumericBins(())  # a reference without finite values: one bin
    try:
        if points and len(edges) == 1:  # a constant reference: one point bin
            if not math.isfinite(edges[0]):
                raise DataError(f"feature {name!r}: edges must be finite numbers, got {edges}")
            checked: tuple[float, ...] = (float(edges[0]),)
        else:
            checked = check_edges(edges, name)
        return NumericBins(checked, tuple(float(p) for p in sorted(set(points))))
    except DataError as error:
        raise DataError(f"{origin}: {error}") from None


# Counts of one feature may total at most this (a million billion rows): the sums, the
# significance test and the simulated draws (int64 sample sizes) stay exact and finite.
MAX_TOTAL = 1e15


def _bounded(histogram: Histogram, where: str) -> Histogram:
    with np.errstate(over="ignore"):
        total = float(np.sum(histogram.counts)) + histogram.missing
    if not total <= MAX_TOTAL:  # also catches inf from counts like 1e308 that overflow when added
        raise DataError(f"{where}: counts total {total:g}, more than the {MAX_TOTAL:g} driftmon can compare")
    return histogram


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _count(value: Any, where: str) -> float:
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise DataError(f"{where}: counts must be non-negative finite numbers, got {value!r}")
    return float(value)


def _number(value: float) -> int | float:
    """Whole counts as ints in JSON (weights stay floats)."""
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else as_float


def _fmt(value: float) -> str:
    return f"{value:g}"
