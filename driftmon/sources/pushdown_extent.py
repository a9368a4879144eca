"""The live minimum and maximum of a numeric feature whose values all fell in one bin.

The file source keeps a column's (min, max) whenever all its values land in one bin
(:attr:`driftmon.histogram.Histogram.extent`), which is how the data-quality ``constant``
check tells a column stuck at one value inside a range bin (a sensor frozen at 23.17) from
one that only moved there (:mod:`driftmon.quality`). A database or Spark source counts the
bins in the engine, so after the counting query, and only for the numeric features whose
present live values all fell in one bin, it asks the engine for their ``MIN`` and ``MAX``
(of the typed value: float64, times as seconds since 1970, as the file source computes them;
NULL and NaN are missing and left out; ``±inf`` are values of the under- and overflow
bins): one narrow query over those columns, run only then, so a healthy window costs
nothing more.

Measured (benchmarks/results/quality-extent-2026-12-04T0154.md): ``MIN`` and ``MAX`` of
every numeric feature inside the counting query itself cost DuckDB's GROUPING SETS +21 %
CPU on every live count (each grouping set computes every aggregate), for a result needed
only when the data is broken.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from driftmon.histogram import Histogram, NumericBins

if TYPE_CHECKING:
    from driftmon.sources.pushdown import Engine, Feature, Params


def one_bin(features: Sequence[Feature], histograms: Mapping[str, Histogram]) -> list[Feature]:
    """The numeric features whose present values all fell in one bin (their extent is worth asking)."""
    return [
        f
        for f in features
        if isinstance(histograms[f.name].spec, NumericBins) and np.count_nonzero(histograms[f.name].counts) == 1
    ]


def with_extents(
    engine: Engine, typed: str, params: Params, features: Sequence[Feature], histograms: dict[str, Histogram]
) -> dict[str, Histogram]:
    """``histograms`` with the extent of each feature whose values all fell in one bin, from one query."""
    asked = one_bin(features, histograms)
    if not asked:
        return histograms
    d = engine.dialect
    parts = []
    for feature in asked:
        v = feature.alias
        missing = f"{v} IS NULL" + (f" OR {d.is_nan.format(v=v)}" if d.is_nan else "")
        present = f"CASE WHEN {missing} THEN NULL ELSE {v} END"
        parts.append(f"MIN({present}), MAX({present})")
    (row,) = engine.fetch(f"SELECT {', '.join(parts)} FROM ({typed}) AS typed", params.values)
    found = dict(histograms)
    for i, feature in enumerate(asked):
        low, high = row[2 * i], row[2 * i + 1]
        if low is not None and high is not None:
            found[feature.name] = replace(histograms[feature.name], extent=(float(low), float(high)))
    return found
