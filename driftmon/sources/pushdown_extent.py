"""The live minimum and maximum of a numeric feature, from the counting query itself.

The file source keeps a column's (min, max) whenever all its values land in one bin
(:attr:`driftmon.histogram.Histogram.extent`), which is how the data-quality ``constant``
check tells a column stuck at one value inside a range bin (a sensor frozen at 23.17) from
one that only moved there (:mod:`driftmon.quality`). A database or Spark source gets them
from the query that counts the bins, with no extra pass over the rows: beside ``COUNT(*)``
each numeric feature's ``MIN`` and ``MAX`` of its typed value (float64; times as seconds
since 1970, as the file source computes them), so each bin's row carries the range of the
values in it. As on files the extent is kept only when every present value fell in one bin:
then it is that bin's ``MIN`` and ``MAX``. Missing values (NULL, NaN) are in no bin and do
not count; ``±inf`` are values of the under- and overflow bins.

Only the live side's counts (:meth:`~driftmon.sources.pushdown.PushdownSource.count`) ask
for them; the reference's profile and the segmented counts are the queries they were.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from driftmon.histogram import BinSpec, NumericBins

if TYPE_CHECKING:
    from driftmon.sources.pushdown import Feature

Ranges = dict[int, tuple[float, float]]  # bin index -> (min, max) of the values in it


def measured(group: Sequence[Feature], specs: Mapping[str, BinSpec]) -> list[Feature]:
    """The features of ``group`` whose range the counting query carries (the numeric ones)."""
    return [feature for feature in group if isinstance(specs[feature.name], NumericBins)]


def aggregates(features: Sequence[Feature]) -> list[str]:
    """``MIN`` and ``MAX`` of each feature's typed value, after ``COUNT(*)`` (aliases ``l``/``h`` + its alias)."""
    return [f"MIN({f.alias}) AS l{f.alias}, MAX({f.alias}) AS h{f.alias}" for f in features]


def names(features: Sequence[Feature]) -> list[str]:
    """The columns :func:`aggregates` adds, in order (two per feature)."""
    return [name for f in features for name in (f"l{f.alias}", f"h{f.alias}")]


def widen(ranges: Ranges, code: int, low: Any, high: Any) -> None:
    """Record one counted row's (min, max) for bin ``code``."""
    if low is None or high is None:
        return
    low, high = float(low), float(high)
    if code in ranges:
        low, high = min(low, ranges[code][0]), max(high, ranges[code][1])
    ranges[code] = (low, high)


def extent(counts: np.ndarray, ranges: Ranges) -> tuple[float, float] | None:
    """The values' (min, max) when every one fell in one bin (as :func:`driftmon.histogram.bin_values`), else None."""
    used = np.flatnonzero(counts)
    if used.size != 1:
        return None
    return ranges.get(int(used[0]))
