"""One monitor, once: sources -> histograms -> scores -> severities -> a result value."""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from driftmon import quality_report
from driftmon.config import MonitorConfig
from driftmon.divergence import divergences
from driftmon.errors import DriftmonError
from driftmon.explain import BinExplanation, bin_terms
from driftmon.feed import Feed
from driftmon.feed import check as check_feed
from driftmon.histogram import MISSING, OTHER, UNSEEN, Aligned, Histogram, NumericBins, align
from driftmon.noise import NullSummary, null_summaries
from driftmon.quality import FeatureQuality, feature_quality
from driftmon.reference import ReferenceCache as ReferenceCache  # re-exported: the daemon, workers and cli use it here
from driftmon.reference import ReferenceEntry as ReferenceEntry
from driftmon.reference import ReferenceWindow, reference_side, segmented_reference
from driftmon.reference import profile_reference as profile_reference
from driftmon.schema import JOINT, MODEL, SchemaResult, count_live, lacks, mark, readers
from driftmon.schema import check as check_schema
from driftmon.significance import decide, gate, share_shift
from driftmon.sources import open_source
from driftmon.sources.file_cache import FileCounts
from driftmon.stream import one_stream

if TYPE_CHECKING:
    from driftmon.joint import JointResult
    from driftmon.model import ModelResult
    from driftmon.segments import SegmentsResult

log = logging.getLogger(__name__)


def model_json(result: ModelResult) -> dict[str, Any]:
    from driftmon.model import to_json

    return to_json(result)


def joint_json(result: JointResult) -> dict[str, Any]:
    from driftmon.joint import to_json

    return to_json(result)


OK, WARNING, CRITICAL = "ok", "warning", "critical"
INSUFFICIENT, ERROR = "insufficient_data", "error"
# A monitor's status is its worst feature severity, in this order.
SEVERITY_ORDER = {OK: 0, INSUFFICIENT: 1, WARNING: 2, CRITICAL: 3}


@dataclass(frozen=True, slots=True)
class FeatureResult:
    """Scores of one feature; ``scores`` is empty when the live side had no rows."""

    feature: str
    kind: str
    reference_count: float
    live_count: float
    unseen_fraction: float
    scores: Mapping[str, float]  # may hold +inf (smoothing none), never NaN
    severity: Mapping[str, str]  # measure -> ok | warning | critical | insufficient_data
    # measure -> (warning, critical) as numbers: `auto` resolved at this evaluation's sizes
    thresholds: Mapping[str, tuple[float | None, float | None]]
    sufficient: bool  # enough live rows (min_samples) to judge drift
    pvalue: float | None = None  # chi-square test of homogeneity; None: not sufficient or no rows
    pvalue_adjusted: float | None = None  # after the monitor's multiple-testing correction
    significant: bool = True  # adjusted p-value <= significance, or the gate is off
    share_shift: float | None = None  # the largest move of one bin's share of rows (0-1); None: no rows
    noise_floor: Mapping[str, float] = field(default_factory=dict)  # mean score under no drift
    reason: str | None = None  # why the feature is not judged (insufficient_data), in words
    bins: tuple[BinExplanation, ...] = ()  # per-bin shares and terms (driftmon.explain), in bin order
    quality: FeatureQuality | None = None  # data-quality checks (driftmon.quality); None: off
    role: str = "input"  # or "model_output" (the model's prediction or score: prediction drift)

    @property
    def worst(self) -> str:
        if not self.sufficient:
            return INSUFFICIENT
        return max(self.severity.values(), key=SEVERITY_ORDER.__getitem__, default=OK)

    def to_json(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "reference_count": _json_number(self.reference_count),
            "live_count": _json_number(self.live_count),
            "unseen_fraction": self.unseen_fraction,
            "scores": {m: _json_number(v) for m, v in self.scores.items()},
            "severity": dict(self.severity),
            "reason": self.reason,
            "pvalue": self.pvalue,
            "pvalue_adjusted": self.pvalue_adjusted,
            "share_shift": self.share_shift,
            "noise_floor": {m: _json_number(v) for m, v in self.noise_floor.items()},
            "thresholds": {
                m: {
                    "warning": None if warning is None else _json_number(warning),
                    "critical": None if critical is None else _json_number(critical),
                }
                for m, (warning, critical) in self.thresholds.items()
            },
            "bins": [_bin_json(b) for b in self.bins],
            **({"role": self.role} if self.role != "input" else {}),
        }


def _bin_json(item: BinExplanation) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "bin": item.label,
        "role": item.role,
        "reference_count": _json_number(item.reference_count),
        "live_count": _json_number(item.live_count),
        "reference_share": item.reference_share,
        "live_share": item.live_share,
        "terms": {name: _json_number(value) for name, value in item.terms.items()},
    }
    if item.role == "unseen":
        entry["values"] = [{"value": value, "count": _json_number(count)} for value, count in item.values]
    return entry


@dataclass(frozen=True, slots=True)
class MonitorResult:
    """The outcome of one evaluation of one monitor."""

    monitor: str
    status: str  # ok | warning | critical | insufficient_data | error
    error: str | None
    features: tuple[FeatureResult, ...]
    started_at: float  # Unix time
    duration_s: float
    labels: Mapping[str, str] = field(default_factory=dict)
    measures: tuple[str, ...] = ()
    log_base: float = 2.0
    drifted_features: Mapping[str, int] = field(default_factory=dict)  # warning/critical -> features at it
    drifted_share: float | None = None  # drifted / judged features; None when none was judged
    dataset_drift: bool | None = None  # drifted_share >= dataset_drift.share; None when not configured
    export_bins: bool = False  # the monitor's export.bins: driftmon_bin_share series
    live_rows: float | None = None  # rows in the live window (the most any feature counted)
    volume: str | None = None  # ok | critical against volume.min_rows; None: not checked
    min_rows: int | None = None
    model: ModelResult | None = None  # the model's performance (driftmon.model); None: no model
    multivariate: JointResult | None = None  # joint drift (driftmon.joint); None: not configured
    segments: SegmentsResult | None = None  # per segment value (driftmon.segments); None: not configured
    schema: SchemaResult | None = None  # schema anomalies (driftmon.schema); None: off or not known
    reference: ReferenceWindow | None = None  # what the scores were computed against (driftmon.reference)
    feed: Feed | None = None  # volume and freshness (driftmon.feed); None: not checked

    @property
    def ok(self) -> bool:
        return self.status != ERROR

    @property
    def quality_status(self) -> str:
        """The worst data-quality severity (ok when the checks are off): driftmon.quality_report."""
        return quality_report.status(self)

    def quality_findings(self) -> list[str]:
        """Each data-quality check at warning or worse, one line each, schema and volume first."""
        return quality_report.findings(self)

    def quality_json(self) -> dict[str, Any] | None:
        """The ``quality`` object of ``check --format json``; None when the checks are off."""
        return quality_report.to_json(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "status": self.status,
            "error": self.error,
            "drifted_features": dict(self.drifted_features),
            "drifted_share": self.drifted_share,
            "dataset_drift": self.dataset_drift,
            **({"reference": self.reference.to_json()} if self.reference is not None else {}),
            "features": [f.to_json() for f in self.features],
            **({"quality": quality} if (quality := self.quality_json()) is not None else {}),
            **({"model": model_json(self.model)} if self.model is not None else {}),
            **({"multivariate": joint_json(self.multivariate)} if self.multivariate is not None else {}),
            **({"segments": self.segments.to_json()} if self.segments is not None else {}),
        }


def evaluate(
    monitor: MonitorConfig,
    cache: ReferenceCache | None = None,
    clock: Callable[[], float] = time.time,
    live_files: FileCounts | None = None,
) -> MonitorResult:
    """Evaluate ``monitor`` once. Never raises for bad data: failures become status ``error``.

    ``live_files``: the daemon's live-file cache for this evaluation (a file live source
    then reads only new or changed files and those on an edge of its window).
    """
    started = clock()
    begun = time.perf_counter()
    try:
        live_source = open_source(monitor.live, monitor.base_dir, now=started)
        segments, schema = None, None
        if monitor.segments is not None:  # both sides counted per segment, in one pass each
            from driftmon.segments import evaluate_segments

            reference_source, window, profile, reason = segmented_reference(monitor, cache, started, live_source)
            schema = check_schema(monitor, reference_source, live_source)  # a gone column: not counted, named
            scorer = functools.partial(score, segment=True)
            sources = (reference_source, live_source)
            gone = schema.skipped if schema is not None else {}
            marked = functools.partial(_summarize_marked, schema=schema)  # each segment's features as the total's
            reference, live, segments = evaluate_segments(
                monitor, cache, *sources, scorer, marked, profile, gone, live_files
            )
        else:
            streamed = one_stream(monitor, started, live_source) if cache is None and live_files is None else None
            if streamed is not None:  # nothing cached: both sides by the same column tasks
                reference_source, window, reference, live, schema = streamed
                reason = None
            else:
                side = reference_side(monitor, cache, started, live_source, live_files)  # static, rolling or seasonal
                reference, reference_source, window, reason = side.histograms, side.source, side.window, side.reason
                live, schema = count_live(monitor, reference, reference_source, live_source, live_files)
        features = mark(score(monitor, reference, live), schema)
        if reason is not None:  # a moving reference with no rows yet: say which window
            features = tuple(replace(f, reason=reason) if f.reference_count <= 0 else f for f in features)
        skipped = frozenset(schema.skipped) if schema is not None else frozenset()
        feed = check_feed(monitor, reference, live, reference_source, live_source, live_files, started, skipped)
        has_rows = any(hist.total > 0 for hist in live.values())  # an empty window: nothing to sample
        read = readers(monitor)  # the model's and joint drift's live columns: gone or retyped, a named anomaly
        model = None
        if monitor.model is not None and has_rows and not lacks(schema, read[MODEL]):
            from driftmon.model import evaluate_model  # scikit-learn and the model code: only when used

            if segments is not None:  # the total and each segment's rows
                from driftmon.segment_model import evaluate_segmented_model

                model, segments = evaluate_segmented_model(monitor, segments, reference_source, live_source)
            else:
                model = evaluate_model(
                    monitor.name, monitor.model, reference_source, live_source, monitor.min_samples, live_files
                )
        joint = None
        if monitor.multivariate is not None and has_rows and not lacks(schema, read[JOINT]):
            from driftmon.joint import evaluate_joint  # the samples and the methods: only when used

            keep = None if cache is None else functools.partial(cache.sample, monitor)
            joint = evaluate_joint(monitor, reference, reference_source, live_source, keep)
    except DriftmonError as error:
        return failed(monitor, str(error), started, time.perf_counter() - begun)
    except Exception as error:  # one broken monitor must never take the others down
        log.debug("unexpected error in monitor %s", monitor.name, exc_info=True)
        message = f"internal error ({type(error).__name__}: {error}); please report it"
        return failed(monitor, message, started, time.perf_counter() - begun)
    result = summarize(monitor, features, live, volume=True)
    result = replace(
        result,
        started_at=started,
        duration_s=time.perf_counter() - begun,
        model=model,
        multivariate=joint,
        schema=schema,
        reference=window,
        feed=feed,
        volume=feed.volume if feed is not None else result.volume,
    )
    # A monitor's status is its worst drift, data-quality, model, joint-drift or segment severity.
    model_status = model.worst if model is not None else OK
    joint_status = joint.worst if joint is not None else OK
    segment_status = segments.worst if segments is not None else OK
    statuses = (result.status, result.quality_status, model_status, joint_status, segment_status)
    status = max(statuses, key=SEVERITY_ORDER.__getitem__)
    return replace(result, status=status, segments=segments)


def summarize(
    monitor: MonitorConfig, features: tuple[FeatureResult, ...], live: Mapping[str, Histogram], volume: bool = False
) -> MonitorResult:
    """The result of scored ``features``: drifted counts, live rows, and the worst drift or data-quality
    severity as status; ``volume``: check min_rows (the whole monitor, not a segment)."""
    live_rows = max((hist.total for hist in live.values()), default=0.0)
    min_rows = monitor.min_rows if volume else None
    drifted, share, dataset_drift = dataset_level(monitor, features)
    result = MonitorResult(
        monitor=monitor.name,
        status=OK,
        error=None,
        features=features,
        started_at=0.0,
        duration_s=0.0,
        labels=monitor.labels,
        measures=monitor.measures,
        log_base=monitor.log_base,
        drifted_features=drifted,
        drifted_share=share,
        dataset_drift=dataset_drift,
        export_bins=monitor.export_bins,
        live_rows=live_rows,
        volume=None if min_rows is None else (CRITICAL if live_rows < min_rows else OK),
        min_rows=min_rows,
    )
    drift_status = max((f.worst for f in features), key=SEVERITY_ORDER.__getitem__, default=OK)
    return replace(result, status=max(drift_status, result.quality_status, key=SEVERITY_ORDER.__getitem__))


def _summarize_marked(
    monitor: MonitorConfig,
    features: tuple[FeatureResult, ...],
    live: Mapping[str, Histogram],
    schema: SchemaResult | None = None,
) -> MonitorResult:
    """One segment's result, its features not counted for a schema anomaly marked as in the total."""
    return summarize(monitor, mark(features, schema), live)


def dataset_level(
    monitor: MonitorConfig, features: tuple[FeatureResult, ...]
) -> tuple[dict[str, int], float | None, bool | None]:
    """Features per severity, the share of judged features that drifted, and dataset drift.

    A feature is judged when it had enough live rows and a score; it drifted when its worst
    severity reaches ``dataset_drift.severity`` (critical when not configured).
    """
    counts = {level: sum(f.worst == level for f in features) for level in (WARNING, CRITICAL)}
    judged = [f for f in features if f.sufficient and f.scores]
    level = monitor.dataset_drift.severity if monitor.dataset_drift is not None else CRITICAL
    drifted = sum(SEVERITY_ORDER[f.worst] >= SEVERITY_ORDER[level] for f in judged)
    share = drifted / len(judged) if judged else None
    if monitor.dataset_drift is None:
        return counts, share, None
    return counts, share, share is not None and share >= monitor.dataset_drift.share


def score(
    monitor: MonitorConfig,
    reference: Mapping[str, Histogram],
    live: Mapping[str, Histogram],
    segment: bool = False,
) -> tuple[FeatureResult, ...]:
    """Every measure for every feature at once, over the union of each feature's bins; ``segment``: no per-bin
    explanations, no-drift draws only for features with an ``auto`` threshold (docs/segments.md)."""
    aligned = [align(reference[f.name], live[f.name], f.name) for f in monitor.features]
    width = max(a.reference.size for a in aligned)
    reference_counts = np.zeros((len(aligned), width))
    live_counts = np.zeros((len(aligned), width))
    for row, item in enumerate(aligned):  # zero padding: empty on both sides, so dropped
        reference_counts[row, : item.reference.size] = item.reference
        live_counts[row, : item.live.size] = item.live
    scores = divergences(live_counts, reference_counts, monitor.measures, monitor.smoothing, monitor.log_base)
    shares_live, shares_reference, terms = bin_terms(
        live_counts, reference_counts, monitor.measures, monitor.smoothing, monitor.log_base
    )
    # Significance: one test per feature with a usable reference and enough live rows, corrected across them.
    reasons = [_insufficient(reference[f.name], live[f.name], monitor.min_samples) for f in monitor.features]
    sufficient = np.array([reason is None for reason in reasons], dtype=bool)
    tests = gate(live_counts, reference_counts, sufficient, monitor.significance, monitor.correction)
    pvalues, adjusted, significant = tests.pvalue, tests.adjusted, tests.significant
    # Noise floor and `auto` thresholds: the measures under no drift at these sample sizes.
    simulated = live_counts
    if segment:  # a row of zero live counts is not simulated
        auto = [any("auto" in levels for levels in f.thresholds.values()) for f in monitor.features]
        simulated = np.where(np.array(auto, dtype=bool)[:, np.newaxis], live_counts, 0.0)
    null = null_summaries(
        simulated, reference_counts, monitor.measures, monitor.smoothing, monitor.log_base, monitor.null
    )
    thresholds = [_thresholds(f.thresholds, summary) for f, summary in zip(monitor.features, null, strict=True)]
    # A share moved by share_shift (0.05: five points) is large enough to matter, whatever the measures say.
    moved = share_shift(live_counts, reference_counts)
    shifted = np.zeros(moved.shape, dtype=bool) if monitor.share_shift is None else moved >= monitor.share_shift - 1e-12
    codes = {
        measure: decide(
            scores[measure],
            [_level(t, measure, 0) for t in thresholds],
            [_level(t, measure, 1) for t in thresholds],
            significant,
            shifted,
        )
        for measure in monitor.measures
    }
    results = []
    for row, (feature, item) in enumerate(zip(monitor.features, aligned, strict=True)):
        live_hist = live[feature.name]
        has_rows = live_hist.total > 0 and reference[feature.name].present > 0
        values = {m: float(scores[m][row]) for m in monitor.measures} if has_rows else {}
        values = {m: v for m, v in values.items() if not math.isnan(v)}
        is_sufficient = bool(sufficient[row])
        severity = {m: _SEVERITY_NAMES[int(codes[m][row])] if is_sufficient else INSUFFICIENT for m in values}
        summary = null[row]
        checked = None
        if monitor.quality is not None and reference[feature.name].present > 0:  # else nothing to compare with
            checked = feature_quality(
                feature.name, reference[feature.name], live_hist, monitor.quality.limits, monitor.significance
            )
            if not monitor.quality.constant and checked.constant:
                checked = replace(checked, constant=False)
        results.append(
            FeatureResult(
                feature=feature.name,
                kind=live_hist.kind,
                reference_count=reference[feature.name].total,
                live_count=live_hist.total,
                unseen_fraction=item.unseen_fraction,
                scores=values,
                severity=severity,
                thresholds=thresholds[row],
                sufficient=is_sufficient,
                pvalue=_optional(pvalues[row]),
                pvalue_adjusted=_optional(adjusted[row]),
                significant=bool(significant[row]),
                share_shift=_optional(moved[row]),
                noise_floor=dict(summary.mean) if summary is not None and values else {},
                reason=reasons[row],
                bins=()
                if segment
                else _explain(
                    item,
                    reference[feature.name],
                    live_hist,
                    shares_live[row],
                    shares_reference[row],
                    {name: array[row] for name, array in terms.items()} if values else {},
                ),
                quality=checked,
                role=feature.role,
            )
        )
    return tuple(results)


def _roles(item: Aligned, reference: Histogram) -> list[str]:
    """What each aligned bin is (see BinExplanation.role), from the spec, never from a label's text."""
    if isinstance(reference.spec, NumericBins):
        size = reference.spec.size
        if size == 1:
            return ["interval", "missing"]
        inner = ["point" if label.startswith("{") else "interval" for label in item.labels[1 : size - 1]]
        return ["underflow", *inner, "overflow", "missing"]
    k = len(reference.spec.categories)
    fixed = {k: "other", k + 1: "unseen"}
    roles = [fixed.get(i, "category") for i in range(len(item.labels) - 1)]
    for i, label in enumerate(item.labels[k + 2 : -1], start=k + 2):  # live-only labels of a different spec
        roles[i] = {OTHER: "other", UNSEEN: "unseen"}.get(label, "category")
    return [*roles, "missing"]


def _explain(
    item: Aligned,
    reference: Histogram,
    live: Histogram,
    live_shares: np.ndarray,
    reference_shares: np.ndarray,
    terms: Mapping[str, np.ndarray],
) -> tuple[BinExplanation, ...]:
    """The aligned bins of one feature with their shares and terms (the row's first bins)."""
    roles = _roles(item, reference)
    assert item.labels[-1] == MISSING
    return tuple(
        BinExplanation(
            label=label,
            role=role,
            reference_count=float(item.reference[i]),
            live_count=float(item.live[i]),
            reference_share=float(reference_shares[i]),
            live_share=float(live_shares[i]),
            terms={name: float(values[i]) for name, values in terms.items()},
            values=live.unseen_values[:5] if role == "unseen" else (),
        )
        for i, (label, role) in enumerate(zip(item.labels, roles, strict=True))
    )


_SEVERITY_NAMES = (OK, WARNING, CRITICAL)  # by the codes of significance.decide


def _insufficient(reference: Histogram, live: Histogram, min_samples: int) -> str | None:
    """Why a feature cannot be judged, or None when it can."""
    if reference.present <= 0:
        if reference.total <= 0:
            return "the reference has no rows"
        return f"the reference has no values (all {_count_text(reference.total)} rows missing)"
    needed = max(min_samples, 1)
    if live.present < needed:
        return f"{_count_text(live.present)} live rows with a value, fewer than min_samples ({needed})"
    return None


def _count_text(count: float) -> str:
    return f"{count:,.0f}" if float(count).is_integer() else f"{count:,.2f}"


def _thresholds(
    configured: Mapping[str, tuple[float | str | None, float | str | None]], summary: NullSummary | None
) -> dict[str, tuple[float | None, float | None]]:
    """Thresholds as numbers: ``auto`` is the null quantile (warning, critical) of this evaluation."""
    resolved = {}
    for measure, levels in configured.items():
        numbers: list[float | None] = []
        for index, level in enumerate(levels):
            if level == "auto":
                numbers.append(summary.quantiles[measure][index] if summary is not None else None)
            else:
                numbers.append(None if level is None else float(level))
        if numbers[0] is not None or numbers[1] is not None:
            resolved[measure] = (numbers[0], numbers[1])
    return resolved


def _level(thresholds: Mapping[str, tuple[float | None, float | None]], measure: str, index: int) -> float:
    level = thresholds.get(measure, (None, None))[index]
    return math.nan if level is None else level


def _optional(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def failed(monitor: MonitorConfig, message: str, started: float, duration: float) -> MonitorResult:
    """The result of an evaluation that failed with ``message`` (no features)."""
    return MonitorResult(
        monitor=monitor.name,
        status=ERROR,
        error=message,
        features=(),
        started_at=started,
        duration_s=duration,
        labels=monitor.labels,
        measures=monitor.measures,
        log_base=monitor.log_base,
    )


def _json_number(value: float) -> int | float | str:
    """Whole numbers as ints; +Inf as the string "+Inf" (JSON has no infinity)."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return int(value) if float(value).is_integer() else value


def document(results: list[MonitorResult]) -> dict[str, Any]:
    """The ``check --format json`` document (docs/operations.md, Command line)."""
    return {"monitors": [r.to_json() for r in results]}
