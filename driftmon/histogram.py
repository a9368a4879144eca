"""Bin specs and mergeable histograms, and the vectorised binning of raw values.

A *bin spec* says how values map to bins; it always comes from the reference (or from
explicit edges) so that reference and live histograms of a feature share their bins.

Numeric (docs/statistics.md, How it works): interior edges ``e0 < … < ek`` give the bins ``(-inf, e0)``,
``[e0, e1)``, …, ``[e(k-1), ek]``, ``(ek, +inf)``: ``len(edges) + 1`` counts, plus a
``missing`` count for NaN / null.

Categorical: the reference's ``max_categories`` most frequent values, then ``__other__``
(reference values outside the top K) and ``__unseen__`` (live values the reference never
had), plus ``missing`` for null.

Histograms are values: ``merge`` adds counts, so binning chunk by chunk gives exactly the
histogram of the whole.

Around them: :mod:`driftmon.columns` turns a source's column into float64 or text,
:mod:`driftmon.ranks` picks order statistics out of it without a sort,
:mod:`driftmon.arrow_kernels` reads Arrow buffers, and :mod:`driftmon.histogram_file`
writes and reads these histograms as JSON.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from driftmon._imports import lazy_import
from driftmon.arrow_kernels import is_arrow_integer, is_arrow_text, value_counts
from driftmon.columns import Kind as Kind
from driftmon.columns import as_strings, infer_kind, numeric_values
from driftmon.errors import DataError
from driftmon.ranks import BLOCK, SAMPLE_STEP, SORT_BELOW, FiniteValues, Ranked, RankedFinite, SortedFinite

# Per-feature work (binning, null simulations) runs as tasks on this many threads (numpy and
# Arrow release the GIL); a binning task holds one column at a time.
TASK_THREADS = min(8, os.cpu_count() or 1)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from driftmon.columns import Column as Column
else:
    pd = lazy_import("pandas")  # ~0.3 s to import; Parquet sources never need it

OTHER = "__other__"
UNSEEN = "__unseen__"
MISSING = "__missing__"
# Reference values behind __other__ are remembered up to this many; past it they are
# "unknown" (others=None) and every live value outside the top K counts as __other__.
OTHERS_LIMIT = 10_000
# Live values behind __unseen__ kept by name (the most frequent), so an explanation can say
# which new values arrived; bounded, and merged chunk by chunk (counts are then lower bounds).
UNSEEN_KEPT = 16

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
    open at ``v``; then ``(ek, +inf)``. Without points this is the layout of docs/statistics.md (How it works). A spec
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
    # (min, max) of the values, or None: binning keeps it when every value fell in one bin (how
    # `quality` tells a column stuck at one value inside a range bin). Informative only.
    extent: tuple[float, float] | None = None

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
        extent = other.extent if self.present == 0 else self.extent if other.present == 0 else None
        if self.extent and other.extent:
            extent = (min(self.extent[0], other.extent[0]), max(self.extent[1], other.extent[1]))
        return Histogram(self.spec, self.counts + other.counts, self.missing + other.missing, unseen, extent)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Histogram)
            and self.spec == other.spec
            and self.missing == other.missing
            and bool(np.array_equal(self.counts, other.counts))
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Callable[..., Histogram], tuple[object, ...]]:
        # The daemon sends every cached file's histograms to a worker at each evaluation: the counts as
        # bytes and no __post_init__ take a fifth of the dataclass-and-ndarray default's time (measured).
        return _unpickled, (self.spec, self.counts.tobytes(), self.missing, self.unseen_values, self.extent)


def _unpickled(spec: BinSpec, counts: bytes, *rest: object) -> Histogram:
    """A pickled Histogram back: its counts a read-only view of the bytes, as __post_init__ leaves them."""
    histogram = object.__new__(Histogram)
    for name, value in zip(Histogram.__slots__, (spec, np.frombuffer(counts), *rest), strict=True):
        object.__setattr__(histogram, name, value)
    return histogram


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
    """The bins of :func:`ranked_spec` over already sorted finite reference values."""
    return ranked_spec(SortedFinite(finite_sorted_values), strategy, bins)


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
    return ranked_spec(RankedFinite(Ranked(values, step, sort_below)), strategy, bins)


def ranked_spec(values: FiniteValues, strategy: Strategy, bins: int) -> NumericBins:
    """Bins from a reference column's finite values, keeping distinct values apart where it matters.

    The one numeric binning rule, whoever answers for the values (a file's column, a database):
    - At most ``bins`` distinct values (flags, codes, small counts): one point bin per value.
    - Otherwise every value holding at least 1/``bins`` of the values (a point mass, such as
      the zero of a zero-inflated amount) is a point bin, and the other values are split into
      the remaining ``bins - points`` bins by quantiles (numpy's linear interpolation) or
      uniform widths; duplicate edges are merged. Edges stay finite near ±1.8e308.
    So no two distinct values that each hold >= 1/``bins`` of the reference share a bin.
    No finite values at all: the spec with no edges (one bin; the feature is not judged).
    """
    n = values.count
    if n == 0:
        return NumericBins(())
    few = values.distinct(bins)
    if few is not None:
        return NumericBins(few, few)
    heavy = values.heavy(bins)
    if not heavy:
        return _split_rest([], n, values.at, strategy, bins)
    # The other values' rank r is their rank among all finite ones once the heavy runs before it are skipped.

    def at(ranks: np.ndarray) -> np.ndarray:
        shifted = ranks.astype(np.int64).copy()
        for _, start, length in heavy:
            shifted[shifted >= start] += length
        return values.at(shifted)

    points = [value for value, _, _ in heavy]
    return _split_rest(points, n - sum(length for _, _, length in heavy), at, strategy, bins)


def _split_rest(
    points: list[float], size: int, at: Callable[[np.ndarray], np.ndarray], strategy: Strategy, bins: int
) -> NumericBins:
    """The bins of :func:`ranked_spec` given its point values and the other ``size`` values.

    ``at(ranks)`` gives the other values at those ranks of their sorted order; it is called
    once, for every rank needed (an engine answers them in one query).
    """
    parts = bins - len(points)
    probs = np.linspace(0.0, 1.0, parts + 1)
    position = probs * (size - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, size - 1)
    ends = np.array([0, size - 1], dtype=np.int64)
    ranks = ends if strategy == "uniform" else np.unique(np.concatenate([ends, below, above]))
    found = dict(zip(ranks.tolist(), at(ranks).tolist(), strict=True))
    lo, hi = float(found[0]), float(found[size - 1])
    if lo == hi:
        points.append(lo)
        edges = np.array([lo])
    elif strategy == "uniform":
        with np.errstate(over="ignore", invalid="ignore"):
            edges = np.linspace(lo, hi, parts + 1)
        if not np.isfinite(edges).all():  # hi - lo overflows near ±1.8e308: weights never do
            t = np.linspace(0.0, 1.0, parts + 1)
            edges = lo * (1.0 - t) + hi * t
    else:
        edges = _interpolated(position - below, found, below, above)
        edges[probs == 0.0] = lo
        edges[probs == 1.0] = hi
    edges = np.unique(np.concatenate([edges, points]))
    return NumericBins(tuple(float(e) for e in edges), tuple(sorted(points)))


def _interpolated(frac: np.ndarray, found: dict[int, float], below: np.ndarray, above: np.ndarray) -> np.ndarray:
    """Quantiles with linear interpolation (numpy's default method) between the values at ranks
    ``below`` and ``above``, the same arithmetic in the same order, so equal to the last bit."""
    low = np.array([found[r] for r in below.tolist()], dtype=np.float64)
    high = np.array([found[r] for r in above.tolist()], dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        result: np.ndarray = low + (high - low) * frac
    if not np.isfinite(result).all():  # high - low overflows near ±1.8e308
        result = low * (1.0 - frac) + high * frac
    return result


def categorical_spec(values: Column, max_categories: int) -> CategoricalBins:
    """Top ``max_categories`` reference values by frequency (ties by value), the rest as others."""
    if is_arrow_text(values) or is_arrow_integer(values):
        totals: dict[str, float] = {}
        for texts, per_entry, _ in value_counts(values):
            for value, count in zip(texts, per_entry.tolist(), strict=True):
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
        x = numeric_values(values, feature)
        counted = bin_numeric(spec, x)
        if np.count_nonzero(counted.counts) != 1:
            return counted
        return Histogram(
            spec, counted.counts, counted.missing, extent=(float(np.fmin.reduce(x)), float(np.fmax.reduce(x)))
        )
    return bin_categorical(spec, values)


_COMPARE_EDGES = 32  # up to this many edges, comparing beats sorting


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
    buffer = np.empty(min(x.size, BLOCK), dtype=bool)
    for start in range(0, x.size, BLOCK):
        block = x[start : start + BLOCK]
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
    if is_arrow_text(values) or is_arrow_integer(values):
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


def _bin_arrow_text(spec: CategoricalBins, values: pa.Array | pa.ChunkedArray) -> Histogram:
    """Count the rows of each distinct value (text: the dictionary entries; integers: their
    values, as text), then map the (few) values to bins."""
    k = len(spec.categories)
    outside = k if spec.others is None else k + 1  # unknown others: __other__, else __unseen__
    counts = np.zeros(spec.size, dtype=np.float64)
    missing = 0.0
    position = {category: index for index, category in enumerate(spec.categories)}
    unseen: list[tuple[str, float]] = []
    for texts, per_entry, nulls in value_counts(values):
        missing += nulls
        # Each distinct value once, so a Python lookup per entry is cheap.
        others = spec.others or frozenset()
        bin_of_entry = np.fromiter(
            (position.get(value, k if value in others else outside) for value in texts),
            dtype=np.intp,
            count=len(texts),
        )
        counts += np.bincount(bin_of_entry, weights=per_entry, minlength=spec.size)[: spec.size]
        if spec.others is not None:
            new = np.flatnonzero((bin_of_entry == k + 1) & (per_entry > 0))
            if new.size:
                top = new[np.argsort(-per_entry[new], kind="stable")[:UNSEEN_KEPT]]
                unseen.extend((str(texts[int(i)]), float(per_entry[i])) for i in top)
    return Histogram(spec, counts, missing, _top_unseen(unseen))


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
    elif reference.spec != live.spec or _labels(reference.spec) is None:  # categories matched by label
        ref_map = dict(zip(reference.spec.labels(), reference.counts.tolist(), strict=True))
        live_map = dict(zip(live.spec.labels(), live.counts.tolist(), strict=True))
        keys = list(ref_map) + [k for k in live_map if k not in ref_map]
        ref = np.array([ref_map.get(k, 0.0) for k in keys] + [reference.missing])
        cur = np.array([live_map.get(k, 0.0) for k in keys] + [live.missing])
        return Aligned((*keys, MISSING), ref, cur)
    labels = (*(_labels(reference.spec) or reference.spec.labels()), MISSING)
    return Aligned(labels, np.append(reference.counts, reference.missing), np.append(live.counts, live.missing))


@functools.lru_cache(maxsize=4096)
def _labels(spec: BinSpec) -> tuple[str, ...] | None:
    """A spec's labels, once per spec (segments align each feature per segment); None if two bins share one."""
    return labels if len(set(labels := tuple(spec.labels()))) == len(labels) else None


def _fmt(value: float) -> str:
    return f"{value:g}"
