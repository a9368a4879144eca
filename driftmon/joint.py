"""Joint drift of one monitor, once: row samples of both sides through `driftmon.multivariate`.

Each side's rows of the chosen columns are read once, in batches, into a uniform seeded
sample of at most ``sample`` rows (`driftmon.sources.sample.Reservoir`), so memory is bounded
by the sample whatever the data size; the reference's sample is kept while its source is
unchanged. The columns are encoded on the reference sample (numeric ones standardised, the
rest one-hot over their most frequent values) and each configured method scores the live
sample against it. Severities: the score 3 (warning) and 5 (critical) of its no-drift
standard deviations past what no drift gives at these sizes, and, unless the monitor's
``significance`` is null, a p-value at most ``significance``.

Reads from sources that hand out rows (files). Knows nothing of Prometheus.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from driftmon import multivariate
from driftmon.config_schema import Multivariate
from driftmon.errors import DataError
from driftmon.sources.base import RowSource, Source
from driftmon.sources.sample import Reservoir

__all__ = ["JointResult", "MethodResult", "evaluate_joint", "to_json"]

OK, WARNING, CRITICAL = "ok", "warning", "critical"
SIGMAS = (3.0, 5.0)  # warning, critical


@dataclass(frozen=True, slots=True)
class MethodResult:
    """One method's outcome with its thresholds (warning, critical) and severity."""

    drift: multivariate.JointDrift
    thresholds: tuple[float, float]
    severity: str


@dataclass(frozen=True, slots=True)
class JointResult:
    features: tuple[str, ...]
    methods: Mapping[str, MethodResult] = field(default_factory=dict)

    @property
    def worst(self) -> str:
        found = {result.severity for result in self.methods.values()}
        return CRITICAL if CRITICAL in found else WARNING if WARNING in found else OK


def _sample(source: Source, columns: Sequence[str], size: int, seed: int) -> dict[str, np.ndarray]:
    if not isinstance(source, RowSource):
        raise DataError(f"{source.describe()}: multivariate: needs a source of rows (type: file) for now")
    reservoir = Reservoir(size, seed=seed)
    for batch in source.batches(columns):
        reservoir.add({name: batch[name].to_numpy() for name in columns})
    rows = reservoir.sample()
    if not rows:
        raise DataError(f"{source.describe()}: multivariate: no rows to sample")
    return {name: np.asarray(values) for name, values in rows.items()}


_cache: dict[tuple[str, str, str, tuple[str, ...]], dict[str, np.ndarray]] = {}
_lock = threading.Lock()


def _reference_sample(
    name: str, settings: Multivariate, columns: tuple[str, ...], source: Source
) -> dict[str, np.ndarray]:
    key = (name, source.fingerprint(), settings.model_dump_json(), columns)
    with _lock:
        cached = _cache.get(key)
    if cached is None:
        cached = _sample(source, columns, settings.sample, settings.seed)
        with _lock:
            for stale in [k for k in _cache if k[0] == name]:
                del _cache[stale]
            _cache[key] = cached
    return cached


def _severity(drift: multivariate.JointDrift, thresholds: tuple[float, float], significance: float | None) -> str:
    if significance is not None and drift.pvalue > significance:
        return OK
    if drift.score >= thresholds[1]:
        return CRITICAL
    if drift.score >= thresholds[0]:
        return WARNING
    return OK


def evaluate_joint(
    name: str,
    settings: Multivariate,
    features: Sequence[str],
    kinds: Mapping[str, str],
    reference_source: Source,
    live_source: Source,
    significance: float | None,
) -> JointResult:
    """Joint drift of monitor ``name``; ``kinds``: the features' kinds (numeric or
    categorical); another column is numeric when its values are numbers."""
    columns = tuple(settings.features or features)
    reference = _reference_sample(name, settings, columns, reference_source)
    live = _sample(live_source, columns, settings.sample, settings.seed + 1)
    numeric = [
        c for c in columns if kinds.get(c) == "numeric" or (c not in kinds and reference[c].dtype.kind in "biuf")
    ]
    encoder = multivariate.fit_encoder(reference, numeric)
    reference_rows, live_rows = encoder.transform(reference), encoder.transform(live)
    results: dict[str, MethodResult] = {}
    for method in settings.methods:
        run = multivariate.reconstruction if method == "reconstruction" else multivariate.classifier
        drift = run(reference_rows, live_rows, encoder.owners, seed=settings.seed)
        thresholds = (drift.expected + SIGMAS[0] * drift.spread, drift.expected + SIGMAS[1] * drift.spread)
        results[method] = MethodResult(drift, thresholds, _severity(drift, thresholds, significance))
    return JointResult(columns, results)


def to_json(result: JointResult) -> dict[str, Any]:
    """The ``multivariate`` object of ``check --format json``."""
    return {
        "status": result.worst,
        "features": list(result.features),
        "methods": {
            method: {
                "score": item.drift.score,
                "expected": item.drift.expected,
                "spread": item.drift.spread,
                "pvalue": item.drift.pvalue,
                "thresholds": {"warning": item.thresholds[0], "critical": item.thresholds[1]},
                "severity": item.severity,
                "reference_rows": item.drift.reference_rows,
                "live_rows": item.drift.live_rows,
                "contributions": dict(item.drift.contributions),
            }
            for method, item in result.methods.items()
        },
    }
