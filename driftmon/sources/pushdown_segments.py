"""Segments pushed down (:mod:`driftmon.segments`): the engine counts per segment in the same query.

The ``by`` columns are typed as categorical features are (the text pandas would print);
a row's segment code is one ``CASE`` over their text joined by ``/`` (``K + 1`` when any is
NULL, ``K`` outside the top values). The counting query of :mod:`driftmon.sources.pushdown`
then groups by that code as well as by each feature's bin (``GROUP BY`` the segment in the
same query, in every grouping set), so segments cost no extra scan of the live data.
The reference takes one more query: the frequency of each segment value, for the top K.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from driftmon.histogram import OTHERS_LIMIT, BinSpec, Histogram
from driftmon.segments import (
    SEPARATOR,
    Segmentation,
    SegmentedHistogram,
    SegmentedProfile,
    check_live_rows,
    top_segments,
)
from driftmon.sources.pushdown import Feature, Params, _infer, _parse_counts

if TYPE_CHECKING:
    from driftmon.histogram import BinningRule
    from driftmon.sources.pushdown import Dialect, Engine, PushdownSource


def segment_features(source: PushdownSource, types: Mapping[str, Any], by: Sequence[str]) -> list[Feature]:
    """The ``by`` columns as categorical features ``s0, s1, ...`` of the typed sub-query."""
    return [Feature(name, f"s{i}", types[name], "categorical") for i, name in enumerate(by)]


def segment_text(d: Dialect, columns: Sequence[Feature]) -> str:
    """The segment value of a row as SQL: the ``by`` texts joined by the separator."""
    return f" || '{SEPARATOR}' || ".join(column.alias for column in columns)


def segment_code(d: Dialect, columns: Sequence[Feature], segmentation: Segmentation, params: Params) -> str:
    """The row's segment code as SQL (see :class:`driftmon.segments.Segmentation`)."""
    null = " OR ".join(f"{column.alias} IS NULL" for column in columns)
    text = segment_text(d, columns)
    branches = " ".join(f"WHEN {text} = {params(value)} THEN {code}" for code, value in enumerate(segmentation.values))
    other = len(segmentation.values)
    return f"CASE WHEN {null} THEN {other + 1} {branches} ELSE {other} END"


def top_values(
    engine: Engine, typed: str, params: Params, columns: Sequence[Feature], by: Sequence[str], top: int
) -> Segmentation:
    """The ``top`` most frequent segment values of the reference, as the file path picks them."""
    d = engine.dialect
    text = segment_text(d, columns)
    present = " AND ".join(f"{column.alias} IS NOT NULL" for column in columns)
    # Enough groups that ties at the K-th count are all seen (by count, then value, as Python sorts).
    sql = (
        f"SELECT {text}, COUNT(*) FROM ({typed}) AS typed WHERE {present} GROUP BY {text} "
        f"ORDER BY COUNT(*) DESC LIMIT {int(top) + OTHERS_LIMIT}"
    )
    totals = {str(value): int(n) for value, n in engine.fetch(sql, params.values)}
    (rows,) = engine.fetch(f"SELECT COUNT(*) FROM ({typed}) AS typed", params.values)[0]
    return top_segments(by, top, totals, int(rows))


def split_rows(rows: Sequence[tuple[Any, ...]], segments: int) -> list[list[tuple[Any, ...]]]:
    """The counting query's rows (segment code first) per segment, the code removed."""
    parts: list[list[tuple[Any, ...]]] = [[] for _ in range(segments)]
    for row in rows:
        parts[int(row[0])].append(row[1:])
    return parts


def stack(
    per_segment: Sequence[Mapping[str, Histogram]], specs: Mapping[str, BinSpec]
) -> dict[str, SegmentedHistogram]:
    """Per-segment histograms of each feature as one SegmentedHistogram per feature."""
    return {
        name: SegmentedHistogram(
            spec,
            np.stack([part[name].counts for part in per_segment]),
            np.array([part[name].missing for part in per_segment]),
            tuple(part[name].unseen_values for part in per_segment),
        )
        for name, spec in specs.items()
    }


def check_live(segmentation: Segmentation, histograms: Mapping[str, SegmentedHistogram]) -> None:
    """The live side's by columns null in every row: a DataError naming them."""
    first = next(iter(histograms.values()), None)
    if first is not None:
        check_live_rows(segmentation, first.counts.sum(axis=1) + first.missing)


def profile_segments(
    self: PushdownSource, rules: Sequence[BinningRule], by: Sequence[str], top: int
) -> SegmentedProfile:
    with self.engine() as engine:
        source = self.source_sql(engine)
        types = self._types(engine, source, [*(rule.name for rule in rules), *by])
        features = [
            Feature(rule.name, f"f{i}", types[rule.name], rule.kind or _infer(types[rule.name], rule.name))
            for i, rule in enumerate(rules)
        ]
        columns = segment_features(self, types, by)
        params = Params(engine.dialect)
        typed = self._typed(engine.dialect, source, [*features, *columns], params)
        stats = self._stats(engine, typed, params, features, rules)
        if stats["total"] == 0 and self.window is not None:
            raise self.no_rows()
        specs: dict[str, BinSpec] = dict(self._numeric_specs(engine, typed, params, features, rules, stats))
        for feature, rule in zip(features, rules, strict=True):
            if feature.kind != "numeric":
                specs[feature.name] = self._categorical(engine, typed, params, feature, rule, stats).spec
        segmentation = top_values(engine, typed, params, columns, by, top)
        counted = _count_segments(self, engine, typed, params, features, specs, columns, segmentation)
    return SegmentedProfile(segmentation, counted)


def count_segments(
    self: PushdownSource, specs: Mapping[str, BinSpec], segmentation: Segmentation
) -> dict[str, SegmentedHistogram]:
    with self.engine() as engine:
        source = self.source_sql(engine)
        types = self._types(engine, source, [*specs, *segmentation.by])
        features = [Feature(name, f"f{i}", types[name], spec.kind) for i, (name, spec) in enumerate(specs.items())]
        columns = segment_features(self, types, segmentation.by)
        params = Params(engine.dialect)
        typed = self._typed(engine.dialect, source, [*features, *columns], params)
        result = _count_segments(self, engine, typed, params, features, specs, columns, segmentation)
    if self.window is not None and all(float(h.counts.sum() + h.missing.sum()) == 0 for h in result.values()):
        raise self.no_rows()
    check_live(segmentation, result)
    return result


def _count_segments(
    self: PushdownSource,
    engine: Engine,
    typed: str,
    params: Params,
    features: Sequence[Feature],
    specs: Mapping[str, BinSpec],
    columns: Sequence[Feature],
    segmentation: Segmentation,
) -> dict[str, SegmentedHistogram]:
    d = engine.dialect
    groups = [features] if d.grouping_sets else [[f] for f in features]
    per_segment: list[dict[str, Histogram]] = [{} for _ in range(segmentation.size)]
    for group in groups:
        rows = self._count_rows(
            engine, typed, params, group, specs, lambda query: segment_code(d, columns, segmentation, query)
        )
        for code, part in enumerate(split_rows(rows, segmentation.size)):
            per_segment[code].update(_parse_counts(part, group, specs))
    return stack(per_segment, specs)


__all__ = [
    "check_live",
    "segment_code",
    "segment_features",
    "split_rows",
    "stack",
    "top_values",
]
