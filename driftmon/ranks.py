"""Exact order statistics of a column without sorting it: :class:`Ranked`.

The numeric bin derivation (:func:`driftmon.histogram.selected_spec`) asks for a few
values by rank (quantile edges, point-mass checks); sorting a million-value reference
column for them costs more than finding them. ``Ranked.at(ranks)`` returns exactly what
``np.sort(values)[ranks]`` would (NaN excluded, -inf first, +inf last), whatever the
sample drew: a bracket that misses its rank falls back to sorting. Pure numpy; knows
nothing of bins, files or sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

# Reference columns up to this size are sorted; larger ones go through Ranked's selection.
SORT_BELOW = 65_536
SAMPLE_STEP = 32  # Ranked samples every SAMPLE_STEP-th value
BLOCK = 1 << 16  # values compared per step, so the boolean buffer stays in cache


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
        flags = np.empty(min(x.size, BLOCK), dtype=bool)
        upper = np.empty_like(flags)
        for start in range(0, x.size, BLOCK):
            block = x[start : start + BLOCK]
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


class FiniteValues(Protocol):
    """The finite values of one reference column, as numeric bin derivation asks about them.

    :func:`ranked_spec` sees the column only through these answers, so every place that
    answers them derives the same bins: a sorted array (:class:`SortedFinite`),
    exact selection (:class:`RankedFinite`), or a database or Spark answering
    in SQL (:mod:`driftmon.sources.pushdown`).
    """

    @property
    def count(self) -> int:
        """How many finite values there are."""

    def distinct(self, limit: int) -> tuple[float, ...] | None:
        """The distinct values in ascending order when there are at most ``limit``, else None."""

    def heavy(self, share: int) -> list[tuple[float, int, int]]:
        """``(value, below, copies)`` in ascending order of the values with ``copies * share >= count``.

        ``below`` is how many values are smaller. Asked only after ``distinct(share)`` said None.
        """

    def at(self, ranks: np.ndarray) -> np.ndarray:
        """The values at these 0-based ranks of their ascending order (``at(r)`` is rank r's value)."""


class SortedFinite:
    """Sorted finite values answering :class:`FiniteValues` (index = rank)."""

    def __init__(self, finite_sorted_values: np.ndarray) -> None:
        x = finite_sorted_values
        self.values = x
        self.starts = np.flatnonzero(np.concatenate(([True], x[1:] != x[:-1]))) if x.size else np.empty(0, np.intp)
        self.runs = np.diff(np.append(self.starts, x.size))

    @property
    def count(self) -> int:
        return int(self.values.size)

    def distinct(self, limit: int) -> tuple[float, ...] | None:
        if self.starts.size > limit:
            return None
        return tuple(float(v) for v in self.values[self.starts])

    def heavy(self, share: int) -> list[tuple[float, int, int]]:
        chosen = np.flatnonzero(self.runs * share >= self.values.size)
        return [(float(self.values[self.starts[i]]), int(self.starts[i]), int(self.runs[i])) for i in chosen]

    def at(self, ranks: np.ndarray) -> np.ndarray:
        found: np.ndarray = self.values[ranks]
        return found


class RankedFinite:
    """The finite values of a :class:`Ranked` column answering :class:`FiniteValues`.

    Finite rank ``r`` is rank ``r + negative`` among the present values (-inf sorts first).
    """

    def __init__(self, ranked: Ranked) -> None:
        self.ranked = ranked
        self.offset = ranked.negative

    @property
    def count(self) -> int:
        return self.ranked.finite

    def distinct(self, limit: int) -> tuple[float, ...] | None:
        return self.ranked.few_distinct(limit)

    def heavy(self, share: int) -> list[tuple[float, int, int]]:
        ranked, n, offset = self.ranked, self.ranked.finite, self.offset
        # A value holding >= n/share of the values covers one of these ranks (their gaps are <= ceil(n/share)).
        spaced = np.arange(share, dtype=np.int64) * n // share
        quantile_ranks = np.floor(np.linspace(0.0, 1.0, share + 1) * (n - 1)).astype(np.int64)
        wanted = np.unique(np.concatenate([spaced, quantile_ranks, np.minimum(quantile_ranks + 1, n - 1), [n - 1]]))
        ranked.at(wanted + offset)  # one pass and one partition per bracket for every rank asked later
        candidates = [float(v) for v in np.unique(ranked.at(spaced + offset))]
        copies = {v: ranked.copies(v) for v in candidates}
        return [(v, ranked.below(v) - offset, copies[v]) for v in candidates if copies[v] * share >= n]

    def at(self, ranks: np.ndarray) -> np.ndarray:
        return self.ranked.at(np.asarray(ranks, dtype=np.int64) + self.offset)
