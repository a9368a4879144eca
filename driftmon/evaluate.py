"""One monitor, once: sources -> histograms -> scores -> severities -> a result value."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from driftmon.config import FeatureConfig, MonitorConfig
from driftmon.divergence import divergences
from driftmon.errors import DriftmonError
from driftmon.histogram import Histogram, align
from driftmon.sources import Source, open_source

log = logging.getLogger(__name__)

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
    thresholds: Mapping[str, tuple[float | None, float | None]]  # measure -> (warning, critical)
    sufficient: bool  # enough live rows (min_samples) to judge drift

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
        }


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

    @property
    def ok(self) -> bool:
        return self.status != ERROR

    def to_json(self) -> dict[str, Any]:
        return {
            "monitor": self.monitor,
            "status": self.status,
            "error": self.error,
            "features": [f.to_json() for f in self.features],
        }


class ReferenceCache:
    """Reference histograms per monitor, recomputed only when the source's fingerprint changes."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[Any, str, dict[str, Histogram]]] = {}
        self._lock = threading.Lock()
        self.computed = 0  # how many times a reference was binned (for tests and logs)

    def get(self, monitor: MonitorConfig, source: Source) -> dict[str, Histogram]:
        key = (monitor.reference, tuple(f.rule for f in monitor.features), monitor.base_dir)
        fingerprint = source.fingerprint()
        with self._lock:
            entry = self._entries.get(monitor.name)
        if entry is not None and entry[0] == key and entry[1] == fingerprint:
            return entry[2]
        histograms = source.profile([f.rule for f in monitor.features])
        with self._lock:
            self._entries[monitor.name] = (key, fingerprint, histograms)
            self.computed += 1
        return histograms

    def retain(self, names: set[str]) -> None:
        """Forget monitors no longer configured."""
        with self._lock:
            for name in set(self._entries) - names:
                del self._entries[name]


def profile_reference(monitor: MonitorConfig) -> dict[str, Histogram]:
    """Bin a monitor's reference once (for ``driftmon profile``)."""
    source = open_source(monitor.reference, monitor.base_dir)
    return source.profile([f.rule for f in monitor.features])


def evaluate(
    monitor: MonitorConfig,
    cache: ReferenceCache | None = None,
    clock: Callable[[], float] = time.time,
) -> MonitorResult:
    """Evaluate ``monitor`` once. Never raises for bad data: failures become status ``error``."""
    started = clock()
    begun = time.perf_counter()
    try:
        reference_source = open_source(monitor.reference, monitor.base_dir)
        if cache is None:
            reference = reference_source.profile([f.rule for f in monitor.features])
        else:
            reference = cache.get(monitor, reference_source)
        live_source = open_source(monitor.live, monitor.base_dir)
        live = live_source.count({name: hist.spec for name, hist in reference.items()})
        features = score(monitor, reference, live)
    except DriftmonError as error:
        return _failed(monitor, str(error), started, time.perf_counter() - begun)
    except Exception as error:  # one broken monitor must never take the others down
        log.debug("unexpected error in monitor %s", monitor.name, exc_info=True)
        message = f"internal error ({type(error).__name__}: {error}); please report it"
        return _failed(monitor, message, started, time.perf_counter() - begun)
    status = max((f.worst for f in features), key=SEVERITY_ORDER.__getitem__, default=OK)
    return MonitorResult(
        monitor=monitor.name,
        status=status,
        error=None,
        features=features,
        started_at=started,
        duration_s=time.perf_counter() - begun,
        labels=monitor.labels,
        measures=monitor.measures,
        log_base=monitor.log_base,
    )


def score(
    monitor: MonitorConfig, reference: Mapping[str, Histogram], live: Mapping[str, Histogram]
) -> tuple[FeatureResult, ...]:
    """Every measure for every feature at once, over the union of each feature's bins."""
    aligned = [align(reference[f.name], live[f.name], f.name) for f in monitor.features]
    width = max(a.reference.size for a in aligned)
    reference_counts = np.zeros((len(aligned), width))
    live_counts = np.zeros((len(aligned), width))
    for row, item in enumerate(aligned):  # zero padding: empty on both sides, so dropped
        reference_counts[row, : item.reference.size] = item.reference
        live_counts[row, : item.live.size] = item.live
    scores = divergences(
        live_counts, reference_counts, monitor.measures, monitor.smoothing, monitor.log_base
    )
    results = []
    for row, (feature, item) in enumerate(zip(monitor.features, aligned, strict=True)):
        live_hist = live[feature.name]
        has_rows = live_hist.total > 0 and reference[feature.name].total > 0
        values = {m: float(scores[m][row]) for m in monitor.measures} if has_rows else {}
        values = {m: v for m, v in values.items() if not math.isnan(v)}
        sufficient = live_hist.present >= max(monitor.min_samples, 1)
        results.append(
            FeatureResult(
                feature=feature.name,
                kind=live_hist.kind,
                reference_count=reference[feature.name].total,
                live_count=live_hist.total,
                unseen_fraction=item.unseen_fraction,
                scores=values,
                severity=_severities(feature, values, sufficient),
                thresholds=dict(feature.thresholds),
                sufficient=sufficient,
            )
        )
    return tuple(results)


def _severities(feature: FeatureConfig, scores: Mapping[str, float], sufficient: bool) -> dict[str, str]:
    result = {}
    for measure, value in scores.items():
        if not sufficient:
            result[measure] = INSUFFICIENT
            continue
        warning, critical = feature.thresholds.get(measure, (None, None))
        if critical is not None and value >= critical:
            result[measure] = CRITICAL
        elif warning is not None and value >= warning:
            result[measure] = WARNING
        else:
            result[measure] = OK
    return result


def _failed(monitor: MonitorConfig, message: str, started: float, duration: float) -> MonitorResult:
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
    """The ``check --format json`` document (SPEC §5)."""
    return {"monitors": [r.to_json() for r in results]}
