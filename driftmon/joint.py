"""Joint drift of one monitor, once: row samples of both sides through `driftmon.multivariate`.

Each side's rows of the chosen columns come as a uniform seeded sample of at most ``sample``
rows, drawn by the source (`Source.sample`: a reservoir while files are read, the engine's
own sampling in DuckDB, PostgreSQL and Spark), so memory is bounded by the sample whatever
the data size. The reference's sample is drawn once and kept with the reference's profile
(``keep``: the daemon's reference cache, handed to and back from its workers) while the
reference is unchanged. Features with nothing to vary jointly in the reference sample
(no values, one value: `multivariate.uninformative`) are left out, each with its reason. The
columns are encoded on the reference sample (numeric ones standardised, the rest one-hot
over their most frequent values) and each configured method scores the live sample against
it. Severities: the score 3 (warning) and 5 (critical) of its no-drift standard deviations
past what no drift gives at these sizes, and, unless the monitor's ``significance`` is null,
a p-value at most ``significance``.

Bad input is a named state, never an error or a NaN: a method that cannot score (fewer
sampled rows than ``min_samples`` or than it needs, fewer than two informative features,
more encoded columns than reference rows) is ``insufficient_data`` with its reason, and has
no score, threshold or p-value series. Knows nothing of Prometheus.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from driftmon import multivariate
from driftmon.config import MonitorConfig
from driftmon.histogram import Histogram
from driftmon.sources.base import Source

__all__ = ["JointResult", "MethodResult", "evaluate_joint", "to_json"]

OK, WARNING, CRITICAL, INSUFFICIENT = "ok", "warning", "critical", "insufficient_data"
_ORDER = {OK: 0, INSUFFICIENT: 1, WARNING: 2, CRITICAL: 3}
SIGMAS = (3.0, 5.0)  # warning, critical
MIN_FEATURES = 2

Sample = dict[str, np.ndarray]
Keep = Callable[[Any, Callable[[], Sample]], Sample]  # (key, draw) -> the kept sample, drawn once


@dataclass(frozen=True, slots=True)
class MethodResult:
    """One method's outcome: its score with thresholds (warning, critical) and severity, or,
    when it could not score, ``drift`` None, severity ``insufficient_data`` and the reason."""

    drift: multivariate.JointDrift | None
    thresholds: tuple[float, float] | None
    severity: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class JointResult:
    features: tuple[str, ...]
    methods: Mapping[str, MethodResult] = field(default_factory=dict)
    left_out: Mapping[str, str] = field(default_factory=dict)  # feature -> why it is not looked at

    @property
    def worst(self) -> str:
        return max((r.severity for r in self.methods.values()), key=_ORDER.__getitem__, default=OK)


def _sample(source: Source, columns: Sequence[str], size: int, seed: int, kinds: Mapping[str, str]) -> Sample:
    rows = source.sample(columns, size, seed, kinds)
    return {name: np.asarray(rows[name]) if name in rows else np.empty(0) for name in columns}


def _severity(drift: multivariate.JointDrift, thresholds: tuple[float, float], significance: float | None) -> str:
    if significance is not None and drift.pvalue > significance:
        return OK
    if drift.score >= thresholds[1]:
        return CRITICAL
    if drift.score >= thresholds[0]:
        return WARNING
    return OK


def _rows(sample: Sample) -> int:
    return len(next(iter(sample.values()))) if sample else 0


def _insufficient(reason: str, methods: Sequence[str]) -> dict[str, MethodResult]:
    return {method: MethodResult(None, None, INSUFFICIENT, reason) for method in methods}


def _score(
    method: str, reference: np.ndarray, live: np.ndarray, owners: Sequence[str], seed: int, significance: float | None
) -> MethodResult:
    run = multivariate.reconstruction if method == "reconstruction" else multivariate.classifier
    try:
        drift = run(reference, live, owners, seed=seed)
    except multivariate.Unscorable as why:
        return MethodResult(None, None, INSUFFICIENT, str(why))
    numbers = (drift.score, drift.expected, drift.spread, drift.pvalue, *drift.contributions.values())
    if not all(math.isfinite(value) for value in numbers):
        return MethodResult(None, None, INSUFFICIENT, f"{method} gave no finite score on these samples")
    thresholds = (drift.expected + SIGMAS[0] * drift.spread, drift.expected + SIGMAS[1] * drift.spread)
    return MethodResult(drift, thresholds, _severity(drift, thresholds, significance))


def evaluate_joint(
    monitor: MonitorConfig,
    histograms: Mapping[str, Histogram],
    reference_source: Source,
    live_source: Source,
    keep: Keep | None = None,
) -> JointResult:
    """Joint drift of ``monitor`` (its ``multivariate:`` settings, its input features by default);
    ``histograms``: the reference's, for the features' kinds (another column is numeric when
    its values are numbers). ``keep(key, draw)``: where the reference sample is kept between
    evaluations (None: drawn each time)."""
    settings = monitor.multivariate
    assert settings is not None
    significance, min_samples = monitor.significance, monitor.min_samples
    kinds = {name: histogram.kind for name, histogram in histograms.items()}
    features = [f.name for f in monitor.features if f.role == "input"]
    columns = tuple(settings.features or features)
    key = ("multivariate", columns, settings.sample, settings.seed)

    def draw() -> Sample:
        return _sample(reference_source, columns, settings.sample, settings.seed, kinds)

    reference = keep(key, draw) if keep is not None else draw()
    live = _sample(live_source, columns, settings.sample, settings.seed + 1, kinds)
    methods = list(settings.methods)
    needed = max(min_samples, 1)
    for side, sample in (("reference", reference), ("live", live)):
        if _rows(sample) < needed:
            reason = f"the {side} sample has {_rows(sample)} rows, fewer than min_samples ({needed})"
            return JointResult(columns, _insufficient(reason, methods))
    numeric = [
        c for c in columns if kinds.get(c) == "numeric" or (c not in kinds and reference[c].dtype.kind in "biuf")
    ]
    left_out = multivariate.uninformative(reference, numeric)
    kept = [c for c in columns if c not in left_out]
    if len(kept) < MIN_FEATURES:
        why = "; ".join(f"{c}: {reason}" for c, reason in left_out.items())
        reason = f"joint drift needs at least {MIN_FEATURES} features that vary in the reference sample ({why})"
        return JointResult(columns, _insufficient(reason, methods), left_out)
    encoder = multivariate.fit_encoder({c: reference[c] for c in kept}, [c for c in numeric if c in kept])
    reference_rows = encoder.transform(reference)
    live_rows = encoder.transform(live)
    results: dict[str, MethodResult] = {
        method: _score(method, reference_rows, live_rows, encoder.owners, settings.seed, significance)
        for method in methods
    }
    return JointResult(columns, results, left_out)


def to_json(result: JointResult) -> dict[str, Any]:
    """The ``multivariate`` object of ``check --format json``."""
    return {
        "status": result.worst,
        "features": list(result.features),
        "left_out": dict(result.left_out),
        "methods": {method: _method_json(item) for method, item in result.methods.items()},
    }


def _method_json(item: MethodResult) -> dict[str, Any]:
    if item.drift is None or item.thresholds is None:
        return {"severity": item.severity, "reason": item.reason}
    return {
        "score": item.drift.score,
        "expected": item.drift.expected,
        "spread": item.drift.spread,
        "pvalue": item.drift.pvalue,
        "thresholds": {"warning": item.thresholds[0], "critical": item.thresholds[1]},
        "severity": item.severity,
        "reason": None,
        "reference_rows": item.drift.reference_rows,
        "live_rows": item.drift.live_rows,
        "contributions": dict(item.drift.contributions),
    }
