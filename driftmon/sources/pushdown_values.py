"""A reference column's finite values as the engine answers about them, for the binning rule.

:func:`driftmon.histogram.ranked_spec` derives numeric bins from a ``FiniteValues``: the
count of finite values, the most frequent ones, how many lie below a point mass, and the
values at given ranks. Here each is one small query over the typed sub-query of
:mod:`driftmon.sources.pushdown` (the order statistics by the engine's own means,
:meth:`~driftmon.sources.pushdown.Engine.order_statistics`); nothing is re-derived.

:func:`numeric_specs` bins all numeric features of a profile with as few scans as the
engine allows: an engine with ``frequent_values`` answers every feature's distinct and
heavy values in one query, and ``order_statistics_many`` every feature's order statistics
in one pass (Spark: one distributed sort of all the features' values); ``ranked_spec`` runs
twice per feature, first to learn which ranks it needs, then with the answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from driftmon.histogram import NumericBins, check_edges, ranked_spec
from driftmon.sources.pushdown import Params

if TYPE_CHECKING:
    from driftmon.histogram import BinningRule
    from driftmon.sources.pushdown import Engine, Feature

# What an engine's frequent_values says of one feature: its number of distinct finite values
# and, as (value, count), every value if there are at most `limit`, else those holding >= 1/limit.
Known = tuple[int, list[tuple[float, int]]]


class _NeedRanks(Exception):
    """ranked_spec asked for order statistics that are answered later, all features at once."""

    def __init__(self, ranks: list[int]) -> None:
        super().__init__(len(ranks))
        self.ranks = ranks


class EngineValues:
    """A reference column's finite values as the engine answers about them (a ``histogram.FiniteValues``)."""

    def __init__(
        self, engine: Engine, typed: str, params: Params, feature: Feature, count: int, known: Known | None = None
    ) -> None:
        self.engine, self.typed, self.params, self.feature = engine, typed, params, feature
        self.count = count
        self._frequent: tuple[int, list[tuple[float, int]]] | None = None
        self.known = known  # from the engine's frequent_values, for limit == the rule's bins
        self.limit: int | None = None
        self.deferred = False  # at() raises _NeedRanks until `answers` is set
        self.answers: dict[int, float] | None = None
        self._heavy: tuple[int, list[tuple[float, int, int]]] | None = None

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
        if self.known is not None and limit == self.limit:
            size, values = self.known
            return tuple(sorted(value for value, _ in values)) if size <= limit else None
        frequent = self.frequent(limit)
        return tuple(sorted(value for value, _ in frequent)) if len(frequent) <= limit else None

    def heavy(self, share: int) -> list[tuple[float, int, int]]:
        if self._heavy is not None and self._heavy[0] == share:
            return self._heavy[1]
        # Values holding >= 1/share of the rows number at most `share`: all among the frequent ones.
        candidates = self.known[1] if self.known is not None and share == self.limit else self.frequent(share)
        masses = sorted((value, n) for value, n in candidates if n * share >= self.count)
        found: list[tuple[float, int, int]] = []
        if masses:
            v, finite = self.feature.alias, self.engine.dialect.is_finite.format(v=self.feature.alias)
            query = Params(self.engine.dialect)
            query.values.update(self.params.values)
            below = ", ".join(f"COUNT(CASE WHEN {v} < {query(value)} THEN 1 END)" for value, _ in masses)
            (row,) = self.engine.fetch(f"SELECT {below} FROM ({self.typed}) AS typed WHERE {finite}", query.values)
            found = [(value, int(smaller), n) for (value, n), smaller in zip(masses, row, strict=True)]
        self._heavy = (share, found)
        return found

    def at(self, ranks: np.ndarray) -> np.ndarray:
        wanted = sorted({int(r) for r in ranks.tolist()})
        if self.answers is not None:
            found = self.answers
        elif self.deferred:
            raise _NeedRanks(wanted)
        else:
            found = self.engine.order_statistics(self.typed, self.params.values, self.feature, wanted, self.count)
        return np.array([found[int(r)] for r in ranks.tolist()], dtype=np.float64)


def numeric_specs(
    engine: Engine,
    typed: str,
    params: Params,
    items: Sequence[tuple[Feature, BinningRule]],
    stats: Mapping[str, Any],
) -> dict[str, NumericBins]:
    """The bins of :func:`driftmon.histogram.ranked_spec` for every numeric feature in ``items``
    (the engine answering for the columns, all at once where it can); fixed ``edges`` are checked."""
    specs: dict[str, NumericBins] = {}
    values: dict[str, EngineValues] = {}
    for feature, rule in items:
        if rule.edges is not None:
            specs[feature.name] = NumericBins(check_edges(rule.edges, rule.name))
        else:
            values[feature.name] = EngineValues(engine, typed, params, feature, int(stats[feature.name]["finite"] or 0))
    rules = {feature.name: rule for feature, rule in items}
    batched = getattr(engine, "frequent_values", None)
    if batched is not None and len(values) > 1:
        wanted = [(v.feature, rules[name].bins, v.count) for name, v in values.items() if v.count]
        known = batched(typed, params.values, wanted) if wanted else {}
        for name, v in values.items():
            v.known, v.limit = known.get(v.feature.alias), rules[name].bins
    asked: dict[str, list[int]] = {}
    for name, v in values.items():
        v.deferred = len(values) > 1
        try:
            specs[name] = ranked_spec(v, rules[name].strategy, rules[name].bins)
        except _NeedRanks as need:
            asked[name] = need.ranks
    if asked:
        found = engine.order_statistics_many(
            typed, params.values, [(values[name].feature, ranks, values[name].count) for name, ranks in asked.items()]
        )
        for name in asked:
            values[name].answers = found[values[name].feature.alias]
            specs[name] = ranked_spec(values[name], rules[name].strategy, rules[name].bins)
    return {feature.name: specs[feature.name] for feature, _ in items}
