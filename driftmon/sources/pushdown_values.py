"""A reference column's finite values as the engine answers about them, for the binning rule.

:func:`driftmon.histogram.ranked_spec` derives numeric bins from a ``FiniteValues``: the
count of finite values, the most frequent ones, how many lie below a point mass, and the
values at given ranks. Here each is one small query over the typed sub-query of
:mod:`driftmon.sources.pushdown` (the order statistics by the engine's own means,
:meth:`~driftmon.sources.pushdown.Engine.order_statistics`); nothing is re-derived.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from driftmon.sources.pushdown import Params

if TYPE_CHECKING:
    from driftmon.sources.pushdown import Engine, Feature


class EngineValues:
    """A reference column's finite values as the engine answers about them (a ``histogram.FiniteValues``)."""

    def __init__(self, engine: Engine, typed: str, params: Params, feature: Feature, count: int) -> None:
        self.engine, self.typed, self.params, self.feature = engine, typed, params, feature
        self.count = count
        self._frequent: tuple[int, list[tuple[float, int]]] | None = None

    def frequent(self, limit: int) -> list[tuple[float, int]]:
        """The ``limit + 1`` most frequent finite values and their counts (ties: the smaller first)."""
        if self._frequent is None or self._frequent[0] != limit:
            v, finite = self.feature.alias, self.engine.dialect.is_finite.format(v=self.feature.alias)
            rows = self.engine.fetch(
                f"SELECT {v}, COUNT(*) FROM ({self.typed}) AS typed WHERE {finite} GROUP BY {v} "
                f"ORDER BY COUNT(*) DESC, {v} LIMIT {int(limit) + 1}",
                self.params.values,
            )
            self._frequent = (limit, [(float(value), int(n)) for value, n in rows])
        return self._frequent[1]

    def distinct(self, limit: int) -> tuple[float, ...] | None:
        frequent = self.frequent(limit)
        return tuple(sorted(value for value, _ in frequent)) if len(frequent) <= limit else None

    def heavy(self, share: int) -> list[tuple[float, int, int]]:
        # Values holding >= 1/share of the rows number at most `share`: all among the frequent ones.
        masses = sorted((value, n) for value, n in self.frequent(share) if n * share >= self.count)
        if not masses:
            return []
        v, finite = self.feature.alias, self.engine.dialect.is_finite.format(v=self.feature.alias)
        query = Params(self.engine.dialect)
        query.values.update(self.params.values)
        below = ", ".join(f"COUNT(CASE WHEN {v} < {query(value)} THEN 1 END)" for value, _ in masses)
        (row,) = self.engine.fetch(f"SELECT {below} FROM ({self.typed}) AS typed WHERE {finite}", query.values)
        return [(value, int(smaller), n) for (value, n), smaller in zip(masses, row, strict=True)]

    def at(self, ranks: np.ndarray) -> np.ndarray:
        wanted = sorted({int(r) for r in ranks.tolist()})
        found = self.engine.order_statistics(self.typed, self.params.values, self.feature, wanted, self.count)
        return np.array([found[int(r)] for r in ranks.tolist()], dtype=np.float64)
