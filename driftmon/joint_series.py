"""The joint-drift series (docs/multivariate.md): each method's score, thresholds, p-value,
alerts, and the features that moved jointly. A method that could not score
(``insufficient_data``) has only its alerts, at 0: no score is invented for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from driftmon.metric_spec import SEVERITIES, MetricSpec, Samples, at_or_above, static_help
from driftmon.results import MonitorState


def _joint(state: MonitorState) -> Any:
    return state.scored.multivariate if state.scored is not None else None


def _scored(state: MonitorState) -> Iterator[tuple[str, Any]]:
    """(method, result) of the methods that scored."""
    if (joint := _joint(state)) is not None:
        for method, item in joint.methods.items():
            if item.drift is not None and item.thresholds is not None:
                yield method, item


def _scores(state: MonitorState) -> Samples:
    for method, item in _scored(state):
        yield {"method": method}, item.drift.score


def _thresholds(state: MonitorState) -> Samples:
    for method, item in _scored(state):
        for severity, level in zip(SEVERITIES, item.thresholds, strict=True):
            yield {"method": method, "severity": severity}, level


def _pvalues(state: MonitorState) -> Samples:
    for method, item in _scored(state):
        yield {"method": method}, item.drift.pvalue


def _alerts(state: MonitorState) -> Samples:
    if (joint := _joint(state)) is not None:
        for method, item in joint.methods.items():
            for level, value in at_or_above(item.severity):
                yield {"method": method, "severity": level}, value


def _contributions(state: MonitorState) -> Samples:
    for method, item in _scored(state):
        for feature, share in item.drift.contributions.items():
            yield {"method": method, "feature": feature}, share


SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "driftmon_multivariate_drift",
        "gauge",
        static_help(
            "Joint drift of the monitor's features by method: reconstruction (mean PCA reconstruction error of the "
            "live sample) or classifier (held-out ROC AUC of telling live rows from reference rows)"
        ),
        _scores,
    ),
    MetricSpec(
        "driftmon_multivariate_drift_threshold",
        "gauge",
        static_help("Joint-drift score at which the method is at the severity (3 and 5 no-drift sd past no drift)"),
        _thresholds,
    ),
    MetricSpec(
        "driftmon_multivariate_drift_pvalue",
        "gauge",
        static_help("P-value of the joint-drift score under no drift at the two sample sizes"),
        _pvalues,
    ),
    MetricSpec(
        "driftmon_multivariate_alert",
        "gauge",
        static_help("1 while the joint-drift method is at the severity or worse (score and p-value), else 0"),
        _alerts,
    ),
    MetricSpec(
        "driftmon_multivariate_contribution",
        "gauge",
        static_help("Share (0-1) of the joint shift the feature accounts for, by method (only while p <= 0.05)"),
        _contributions,
    ),
)
