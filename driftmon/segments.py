"""Segments: one evaluation split by the values of some columns, counted in the same pass.

``segments: {by: [country], top: 20}`` evaluates a monitor once per segment value as well
as over all rows (the unsegmented total, as without segments). The segment values are the
``top`` most frequent in the reference (ties by value); a row with any other value is in
``__other__``, a row with a null in any ``by`` column in ``__missing__``. Several ``by``
columns combine into one value, their texts joined by ``/`` (``DE/mobile``).

Counting: a source gives each row a segment code (:class:`Segmentation`), bins each
feature's values as usual and counts ``code * bins + bin`` with one ``np.bincount``, so K
segments cost one pass over the data, not K (:func:`segment_counts`). Every segment of a
feature shares the feature's bins, derived from the whole reference, so a segment's scores
compare with the total's and with the other segments'. The total is the sum of the
segments' counts (exact: counts are integers held as float64).

Scoring (:func:`score_segments`): every segment x feature pair is one row of the usual
scoring, so the multiple-testing correction spans segments x features. A segment with no
live rows has *vanished*: it is reported and has no series (nothing stale is exported).

Bad input is a DataError naming the column: a ``by`` column missing, or null in every row.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from driftmon._imports import lazy_import
from driftmon.arrow_kernels import primitive, valid
from driftmon.columns import as_strings, numeric_values
from driftmon.errors import DataError
from driftmon.histogram import UNSEEN_KEPT, BinSpec, CategoricalBins, Histogram, NumericBins, _top_unseen

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    from driftmon.columns import Column
    from driftmon.config import MonitorConfig
    from driftmon.evaluate import FeatureResult, MonitorResult
else:
    pd = lazy_import("pandas")
    pa = lazy_import("pyarrow")
    pc = lazy_import("pyarrow.compute")

OTHER_SEGMENT = "__other__"
MISSING_SEGMENT = "__missing__"
SEPARATOR = "/"  # between the values of several `by` columns


# ---------------------------------------------------------------------------
# segment values of rows


@dataclass(frozen=True, slots=True)
class RowKeys:
    """One batch's rows as indices into ``labels`` (its distinct segment values); -1: a null."""

    labels: tuple[str, ...]
    index: np.ndarray  # intp, one per row


def _entries(values: Column) -> tuple[list[str], np.ndarray]:
    """A column's distinct values as text (as categorical features print them) and each
    row's index among them (-1 for null)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if isinstance(values, pa.Array):
        encoded = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values)
        indices = encoded.indices
        codes = primitive(indices, np.dtype(f"i{indices.type.bit_width // 8}"))
        if indices.null_count:
            codes = np.where(valid(indices), codes, -1)
        texts = as_strings(encoded.dictionary)
    else:
        factor, uniques = pd.factorize(values if isinstance(values, pd.Series) else pd.Series(values))
        codes = np.asarray(factor, dtype=np.intp)
        texts = as_strings(pd.Series(uniques))
    labels = [None if text is pd.NA else str(text) for text in texts.tolist()]
    nulls = np.array([label is None for label in labels], dtype=bool)
    if nulls.any():  # a null entry in the dictionary (or a NaN printed as null)
        codes = np.where((codes >= 0) & nulls[np.maximum(codes, 0)], -1, codes)
    return [label or "" for label in labels], codes


def row_keys(columns: Sequence[Column]) -> RowKeys:
    """The segment value of each row of one batch (the ``by`` columns, in order)."""
    labels, index = _entries(columns[0])
    for values in columns[1:]:
        more, codes = _entries(values)
        combined = np.where((index >= 0) & (codes >= 0), index * max(len(more), 1) + codes, -1)
        present, inverse = np.unique(combined, return_inverse=True)
        kept = present[present >= 0]
        labels = [f"{labels[c // len(more)]}{SEPARATOR}{more[c % len(more)]}" for c in kept.tolist()]
        shift = 1 if present.size and present[0] < 0 else 0
        index = np.asarray(inverse, dtype=np.intp).reshape(-1) - shift
    return RowKeys(tuple(labels), index)


@dataclass(frozen=True, slots=True)
class Segmentation:
    """The segments of a monitor: the ``by`` columns and the top reference values.

    Codes: ``0 .. K-1`` the values in order, ``K`` ``__other__``, ``K+1`` ``__missing__``.
    """

    by: tuple[str, ...]
    values: tuple[str, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return (*self.values, OTHER_SEGMENT, MISSING_SEGMENT)

    @property
    def size(self) -> int:
        return len(self.values) + 2

    def codes(self, keys: RowKeys) -> np.ndarray:
        """Each row's segment code."""
        position = {value: code for code, value in enumerate(self.values)}
        other = len(self.values)
        of_label = np.fromiter((position.get(label, other) for label in keys.labels), np.intp, len(keys.labels))
        of_label = np.append(of_label, other + 1)  # index -1: missing
        return np.asarray(of_label[keys.index])


def derive_segmentation(by: Sequence[str], top: int, keys: Iterable[RowKeys]) -> Segmentation:
    """The ``top`` most frequent segment values of the reference rows (ties by value)."""
    totals: dict[str, int] = {}
    rows = 0
    for batch in keys:
        rows += batch.index.size
        counts = np.bincount(batch.index + 1, minlength=len(batch.labels) + 1)[1:]
        for label, count in zip(batch.labels, counts.tolist(), strict=True):
            if count:
                totals[label] = totals.get(label, 0) + count
    return top_segments(by, top, totals, rows)


def top_segments(by: Sequence[str], top: int, totals: Mapping[str, int], rows: int) -> Segmentation:
    """The ``top`` values by count, then value, of ``totals`` (segment value -> reference rows);
    a DataError naming the columns when there are none (``rows``: the reference's rows)."""
    if not totals:
        names = " or ".join(repr(name) for name in by)
        what = "has no rows" if rows == 0 else f"is null in every one of its {rows:,} rows"
        raise DataError(f"segment column {names}: the reference {what}; segments need values to split by")
    # A value spelled like a reserved segment is counted in __other__: its series would clash.
    reserved = (OTHER_SEGMENT, MISSING_SEGMENT)
    order = sorted(((v, n) for v, n in totals.items() if v not in reserved), key=lambda item: (-item[1], item[0]))
    return Segmentation(tuple(by), tuple(label for label, _ in order[:top]))


def check_live_rows(segmentation: Segmentation, rows: np.ndarray) -> None:
    """A live window whose ``by`` columns are null in every row is a DataError naming them
    (``rows``: the live rows per segment code)."""
    total = float(rows.sum())
    if total > 0 and float(rows[-1]) == total:
        names = " or ".join(repr(name) for name in segmentation.by)
        raise DataError(f"segment column {names} is null in every one of the {total:,.0f} live rows")


# ---------------------------------------------------------------------------
# counting per segment


@dataclass(frozen=True, slots=True, eq=False)
class SegmentedHistogram:
    """One feature's counts per segment over one spec: ``counts`` (segments, bins), ``missing`` (segments,)."""

    spec: BinSpec
    counts: np.ndarray
    missing: np.ndarray
    unseen_values: tuple[tuple[tuple[str, float], ...], ...] = ()  # per segment, as Histogram's

    def segment(self, code: int) -> Histogram:
        unseen = self.unseen_values[code] if self.unseen_values else ()
        return Histogram(self.spec, self.counts[code], float(self.missing[code]), unseen)

    def total(self) -> Histogram:
        unseen = _top_unseen(pair for per_segment in self.unseen_values for pair in per_segment)
        return Histogram(self.spec, self.counts.sum(axis=0), float(self.missing.sum()), unseen)

    def merge(self, other: SegmentedHistogram) -> SegmentedHistogram:
        if other.spec != self.spec:
            raise DataError("cannot merge histograms with different bins")
        unseen = tuple(
            _top_unseen([*a, *b])
            for a, b in zip(self.unseen_values or _nothing(self), other.unseen_values or _nothing(other), strict=True)
        )
        return SegmentedHistogram(self.spec, self.counts + other.counts, self.missing + other.missing, unseen)


def _nothing(hist: SegmentedHistogram) -> tuple[tuple[tuple[str, float], ...], ...]:
    return ((),) * hist.missing.size


def empty_segmented(spec: BinSpec, segments: int) -> SegmentedHistogram:
    return SegmentedHistogram(spec, np.zeros((segments, spec.size)), np.zeros(segments), ((),) * segments)


def numeric_bins(spec: NumericBins, x: np.ndarray) -> np.ndarray:
    """Each value's bin index (as :func:`driftmon.histogram.bin_numeric` counts it); NaN ->
    ``spec.size`` (the missing slot)."""
    cuts, inclusive = spec.cuts()
    # A value's bin is the number of boundaries that do not count it: x >= an exclusive cut,
    # x > an inclusive one. One comparison per boundary over the column, into a small integer
    # (measured 4x faster than adding into intp, 9x faster than np.searchsorted).
    bins = np.zeros(x.size, dtype=_small(spec.size + 1))
    flags = np.empty(x.size, dtype=bool)
    for cut, closed in zip(cuts.tolist(), inclusive.tolist(), strict=True):
        (np.greater if closed else np.greater_equal)(x, cut, out=flags)
        bins += flags
    bins[np.isnan(x)] = spec.size
    return bins


def _small(values: int) -> type[np.signedinteger[Any]]:
    """The smallest integer type holding 0 .. values - 1."""
    return np.int8 if values <= 127 else np.int16 if values <= 32_767 else np.int32


def segment_counts(spec: BinSpec, values: Column, codes: np.ndarray, segments: int, feature: str) -> SegmentedHistogram:
    """Count one column into ``spec``'s bins per segment (``codes``: each row's segment)."""
    if isinstance(spec, NumericBins):
        bins = numeric_bins(spec, numeric_values(values, feature))
        return _count(spec, bins, codes, segments, ())
    return _categorical(spec, values, codes, segments)


def _count(
    spec: BinSpec, bins: np.ndarray, codes: np.ndarray, segments: int, unseen: tuple[Any, ...]
) -> SegmentedHistogram:
    # One bincount: each segment's bins and its missing slot (bin spec.size).
    width = spec.size + 1
    flat = codes * width + bins
    counted = np.bincount(flat, minlength=segments * width).astype(np.float64).reshape(segments, width)
    return SegmentedHistogram(spec, counted[:, :-1].copy(), counted[:, -1].copy(), unseen or ((),) * segments)


def _categorical(spec: CategoricalBins, values: Column, codes: np.ndarray, segments: int) -> SegmentedHistogram:
    """Rows counted per (segment, distinct value) with one bincount, then each value's column
    of counts added into its bin (a small matrix product; the rows are never mapped to bins)."""
    labels, index = _entries(values)
    k, entries = len(spec.categories), len(labels)
    outside = k if spec.others is None else k + 1  # unknown others: __other__, else __unseen__
    position = {category: i for i, category in enumerate(spec.categories)}
    others = spec.others or frozenset()
    of_entry = np.fromiter(
        (position.get(label, k if label in others else outside) for label in labels), np.intp, entries
    )
    pairs = codes * (entries + 1) + (index + 1)  # entry 0: null
    per_entry = np.bincount(pairs, minlength=segments * (entries + 1)).reshape(segments, entries + 1)
    # Each (segment, value) count added into its (segment, bin): a bincount with weights, not a
    # matrix product (OpenBLAS threads on a column's task cost more than the product: measured).
    into = (np.arange(segments)[:, np.newaxis] * spec.size + of_entry[np.newaxis, :]).ravel()
    weights = per_entry[:, 1:].ravel().astype(np.float64)
    counts = np.bincount(into, weights, minlength=segments * spec.size).reshape(segments, spec.size)
    unseen: tuple[Any, ...] = ((),) * segments
    new = np.flatnonzero(of_entry == k + 1)
    if spec.others is not None and new.size:
        found = per_entry[:, 1 + new]
        unseen = tuple(
            _top_unseen(
                (labels[new[i]], float(row[i])) for i in np.argsort(-row, kind="stable")[:UNSEEN_KEPT] if row[i] > 0
            )
            for row in found
        )
    return SegmentedHistogram(spec, counts, per_entry[:, 0].astype(np.float64), unseen)


def totals(segmented: Mapping[str, SegmentedHistogram]) -> dict[str, Histogram]:
    """The unsegmented histograms: each feature's counts summed over its segments."""
    return {name: hist.total() for name, hist in segmented.items()}


# ---------------------------------------------------------------------------
# scoring


@dataclass(frozen=True, slots=True)
class SegmentResult:
    """One segment's evaluation: the monitor's result over that segment's rows only."""

    segment: str
    result: MonitorResult
    worst_score: float  # the largest score of the monitor's first measure among its features (for ranking)


@dataclass(frozen=True, slots=True)
class SegmentsResult:
    """Every segment of one evaluation, most drifted first, and the vanished ones."""

    by: tuple[str, ...]
    top: int
    segments: tuple[SegmentResult, ...]
    vanished: tuple[str, ...] = ()  # in the reference, no live rows now: reported, not exported
    tested: int = 0  # segment x feature tests the correction spanned
    measure: str = ""  # the measure segments are ranked and shown by
    segmentation: Segmentation | None = None  # the segments' values (row-level parts: driftmon.segment_model)
    notes: tuple[str, ...] = ()  # e.g. a segment without a model result, and why

    def to_json(self) -> dict[str, Any]:
        return to_json(self)

    @property
    def worst(self) -> str:
        from driftmon.evaluate import OK, SEVERITY_ORDER

        return max((s.result.status for s in self.segments), key=SEVERITY_ORDER.__getitem__, default=OK)


Scorer = Callable[["MonitorConfig", Mapping[str, Histogram], Mapping[str, Histogram]], "tuple[FeatureResult, ...]"]
_KEY = "\x1f"  # joins segment code and feature name in the flattened scoring (never in a name)


def score_segments(
    monitor: MonitorConfig,
    segmentation: Segmentation,
    reference: Mapping[str, SegmentedHistogram],
    live: Mapping[str, SegmentedHistogram],
    score: Scorer,
    summarize: Callable[[MonitorConfig, tuple[FeatureResult, ...], Mapping[str, Histogram]], MonitorResult],
) -> SegmentsResult:
    """Score every segment x feature as one set of rows (one correction across all of them).

    ``score`` is :func:`driftmon.evaluate.score`; ``summarize`` turns one segment's features
    into its monitor-level result (status, drifted share, volume).
    """
    kept, vanished = [], []
    reference_rows, live_rows = _rows(reference, segmentation.size), _rows(live, segmentation.size)
    for code, label in enumerate(segmentation.labels):
        if live_rows[code] > 0:
            kept.append(code)
        elif reference_rows[code] > 0:
            vanished.append(label)
    features = tuple(
        replace(feature, name=f"{code}{_KEY}{feature.name}") for code in kept for feature in monitor.features
    )
    flat_reference = {f"{c}{_KEY}{n}": h.segment(c) for c in kept for n, h in reference.items()}
    flat_live = {f"{c}{_KEY}{n}": h.segment(c) for c in kept for n, h in live.items()}
    scored = score(replace(monitor, features=features), flat_reference, flat_live) if features else ()
    width = len(monitor.features)
    results = []
    # Ranked by the first measure with thresholds (the one alerts follow), else the first.
    with_levels = [m for m in monitor.measures if any(m in f.thresholds for f in monitor.features)]
    lead = (with_levels or list(monitor.measures) or [""])[0]
    for position, code in enumerate(kept):
        rows = tuple(_named(item) for item in scored[position * width : (position + 1) * width])
        own_live = {n: flat_live[f"{code}{_KEY}{n}"] for n in live}
        result = summarize(monitor, rows, own_live)
        worst = max((f.scores.get(lead, 0.0) for f in rows), default=0.0)
        results.append(SegmentResult(segmentation.labels[code], result, worst))
    tested = sum(f.pvalue is not None for f in scored)
    return SegmentsResult(
        segmentation.by, len(segmentation.values), tuple(rank(results)), tuple(vanished), tested, lead, segmentation
    )


def _rows(histograms: Mapping[str, SegmentedHistogram], segments: int) -> np.ndarray:
    """Each segment's rows: the most any feature counts in it (one sum per feature, not per segment)."""
    rows = np.zeros(segments)
    for histogram in histograms.values():
        np.maximum(rows, histogram.counts.sum(axis=1) + histogram.missing, out=rows)
    return rows


def _named(item: FeatureResult) -> FeatureResult:
    """A scored row under its feature's own name again (its data-quality checks too)."""
    name = item.feature.split(_KEY, 1)[1]
    quality = None if item.quality is None else replace(item.quality, feature=name)
    return replace(item, feature=name, quality=quality)


def rank(segments: Iterable[SegmentResult]) -> list[SegmentResult]:
    """Most drifted first: by status (critical first), then drifted features, then the lead score."""
    from driftmon.evaluate import SEVERITY_ORDER

    def key(item: SegmentResult) -> tuple[int, int, float, str]:
        drifted = sum(item.result.drifted_features.values())
        return (-SEVERITY_ORDER.get(item.result.status, 0), -drifted, -item.worst_score, item.segment)

    return sorted(segments, key=key)


def to_json(result: SegmentsResult) -> dict[str, Any]:
    """The ``segments`` object of ``check --format json``: each segment as a monitor, ranked."""
    return {
        "by": list(result.by),
        "top": result.top,
        "tested": result.tested,
        "ranked_by": result.measure,
        "vanished": list(result.vanished),
        "notes": list(result.notes),
        "segments": [{"segment": item.segment, **_without_monitor(item.result.to_json())} for item in result.segments],
    }


def _without_monitor(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in ("monitor", "error")}


@dataclass(frozen=True, slots=True)
class SegmentedProfile:
    """A segmented reference: its segmentation and each feature's counts per segment."""

    segmentation: Segmentation
    histograms: dict[str, SegmentedHistogram] = field(default_factory=dict)


def series_problems(settings: Any, features: int, model_metrics: int = 0) -> list[tuple[tuple[str | int, ...], str]]:
    """The config problem of a segmentation past the series bound (docs/segments.md), if any; each of the
    model's ``model_metrics`` counts as a feature (its series per segment are about a feature's)."""
    from driftmon.config_schema import MAX_SEGMENT_PAIRS

    what = f"{features} features" + (f" + {model_metrics} model metrics" if model_metrics else "")
    features += model_metrics
    pairs = (settings.top + 2) * features
    if pairs <= MAX_SEGMENT_PAIRS:
        return []
    most = max(MAX_SEGMENT_PAIRS // max(features, 1) - 2, 0)
    message = (
        f"segments: top {settings.top} gives {pairs:,} segment x feature pairs ((top + 2) x ({what}), "
        f"__other__ and __missing__ included), more than the {MAX_SEGMENT_PAIRS:,} driftmon exports; "
        + (f"use top: {most} or fewer, or fewer features" if most >= 1 else "use fewer features")
    )
    return [(("segments", "top"), message)]


def reference_profile(monitor: MonitorConfig, source: Any, cache: Any) -> SegmentedProfile:
    """The monitor's segmented reference, from ``cache`` (a ReferenceCache) while its source is unchanged."""
    from driftmon.evaluate import ReferenceEntry

    settings = monitor.segments
    assert settings is not None
    rules = [f.rule for f in monitor.features]
    if cache is None:
        return source.profile_segments(rules, settings.by, settings.top)  # type: ignore[no-any-return]
    key = ("segments", monitor.reference, tuple(rules), monitor.base_dir, settings)
    fingerprint = source.fingerprint()
    entry = cache.entry(monitor.name)
    if entry is not None and entry.key == key and entry.fingerprint == fingerprint and entry.segments is not None:
        return entry.segments  # type: ignore[no-any-return]
    profile: SegmentedProfile = source.profile_segments(rules, settings.by, settings.top)
    cache.put(monitor.name, ReferenceEntry(key, fingerprint, totals(profile.histograms), profile))
    return profile


def evaluate_segments(
    monitor: MonitorConfig,
    cache: Any,
    reference_source: Any,
    live_source: Any,
    score: Scorer,
    summarize: Callable[[MonitorConfig, tuple[FeatureResult, ...], Mapping[str, Histogram]], MonitorResult],
    profile: SegmentedProfile | None = None,
    skipped: Collection[str] = (),
    live_files: Any = None,
) -> tuple[dict[str, Histogram], dict[str, Histogram], SegmentsResult]:
    """Both sides counted per segment in one pass each: the totals (as without segments) and the segments' result
    (``profile``: the reference's, when given: a moving reference, driftmon.reference.segmented_reference).
    ``skipped``: features not counted for a schema anomaly (driftmon.schema): empty on the live side.
    ``live_files``: the daemon's live-file cache (a FileCounts): unchanged files are not read again."""
    profile = profile or reference_profile(monitor, reference_source, cache)
    specs = {name: hist.spec for name, hist in profile.histograms.items() if name not in skipped}
    more = {} if live_files is None else {"cache": live_files}
    counted = live_source.count_segments(specs, profile.segmentation, **more) if specs else {}
    live = {
        name: counted[name] if name in counted else empty_segmented(hist.spec, profile.segmentation.size)
        for name, hist in profile.histograms.items()
    }
    result = score_segments(monitor, profile.segmentation, profile.histograms, live, score, summarize)
    return totals(profile.histograms), totals(live), result


def describe(result: SegmentsResult) -> list[str]:
    """``check``'s lines for the segments: a table, most drifted first, then the vanished ones."""
    by = SEPARATOR.join(result.by)
    lead = result.measure
    lines = [
        f"segments by {by} (top {result.top}; the correction spans {result.tested} segment x feature tests), "
        "most drifted first:"
    ]
    with_model = any(item.result.model is not None for item in result.segments)
    rows = [["segment", "status", "live rows", "drifted", f"most drifted feature ({lead})"]]
    rows[0] += ["model"] if with_model else []
    for item in result.segments:
        features = [f for f in item.result.features if lead in f.scores]
        top = max(features, key=lambda f: f.scores[lead], default=None)
        mark = "" if top is None else {"warning": " !", "critical": " !!"}.get(top.severity.get(lead, ""), "")
        worst = "-" if top is None else f"{top.feature} {top.scores[lead]:.4f}{mark}"
        drifted = sum(item.result.drifted_features.values())
        rows.append([item.segment, item.result.status, f"{item.result.live_rows or 0:,.0f}", str(drifted), worst])
        rows[-1] += [_model_cell(item)] if with_model else []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    if result.vanished:
        lines.append(f"vanished (in the reference, no live rows; not exported): {', '.join(result.vanished)}")
    lines += list(result.notes)
    return lines


def _model_cell(item: SegmentResult) -> str:
    from driftmon.segment_model import describe as describe_model

    return describe_model(item.result.model)


def page_model(result: SegmentsResult | None) -> dict[str, Any] | None:
    """The segments table of a monitor's page and of ``driftmon report``, most drifted first."""
    if result is None:
        return None
    lead = result.measure
    rows = []
    for item in result.segments:
        scored = [f for f in item.result.features if lead in f.scores]
        top = max(scored, key=lambda f: f.scores[lead], default=None)
        rows.append(
            {
                "segment": item.segment,
                "status": item.result.status,
                "live_rows": f"{item.result.live_rows or 0:,.0f}",
                "drifted": sum(item.result.drifted_features.values()),
                "worst": "\N{EN DASH}" if top is None else f"{top.feature} {top.scores[lead]:.4g}",
                "worst_severity": "ok" if top is None else top.severity.get(lead, "ok"),
                "model": None if item.result.model is None else _model_cell(item),
                "model_status": None if item.result.model is None else item.result.model.worst,
            }
        )
    return {
        "by": SEPARATOR.join(result.by),
        "measure": lead,
        "rows": rows,
        "vanished": list(result.vanished),
        "with_model": any(item.result.model is not None for item in result.segments),
        "notes": list(result.notes),
        "note": f"top {result.top} values of the reference; "
        f"one correction across {result.tested} segment x feature tests",
    }
