"""The model series (docs/model.md): performance by kind, reference, thresholds, bands, alerts, labels."""

from __future__ import annotations

import math
from typing import Any

from driftmon.evaluate import SEVERITY_ORDER
from driftmon.metric_spec import SEVERITIES, MetricSpec, Samples, at_or_above, static_help
from driftmon.results import MonitorState


def _model(state: MonitorState) -> Any:
    return state.scored.model if state.scored is not None else None


def _model_performance(state: MonitorState) -> Samples:
    if (model := _model(state)) is not None:
        for kind, result in (("estimated", model.estimated), ("realized", model.realized)):
            if result is not None:
                for metric, value in result.values.items():
                    yield {"metric": metric, "kind": kind}, value


def _model_reference(state: MonitorState) -> Samples:
    if (model := _model(state)) is not None:
        for metric, value in model.reference.values.items():
            yield {"metric": metric}, value


def _model_thresholds(state: MonitorState) -> Samples:
    if (model := _model(state)) is not None:
        for metric, levels in model.thresholds.items():
            for severity, level in zip(SEVERITIES, levels, strict=True):
                if level is not None and math.isfinite(level):
                    yield {"metric": metric, "severity": severity}, level


def _model_bands(state: MonitorState) -> Samples:
    if (model := _model(state)) is not None:
        for metric, (low, high) in model.bands.items():
            yield {"metric": metric, "bound": "lower"}, low
            yield {"metric": metric, "bound": "upper"}, high


def _model_alerts(state: MonitorState) -> Samples:
    if (model := _model(state)) is not None:
        for kind, by_metric in model.severity.items():
            for metric, severity in by_metric.items():
                judged = severity if severity in SEVERITY_ORDER and severity != "insufficient_data" else "ok"
                for level, value in at_or_above(judged):
                    yield {"metric": metric, "kind": kind, "severity": level}, value


def _labelled_rows(state: MonitorState) -> Samples:
    if (model := _model(state)) is not None:
        yield {"side": "reference"}, float(model.reference_rows)
        yield {"side": "live"}, float(model.labelled_rows)


def _label_coverage(state: MonitorState) -> Samples:
    if (model := _model(state)) is not None and model.coverage is not None:
        yield {}, model.coverage


def _label_delay(state: MonitorState) -> Samples:
    if (model := _model(state)) is not None and model.label_delay_seconds is not None:
        yield {}, model.label_delay_seconds


def _label_join(state: MonitorState) -> Samples:
    if (model := _model(state)) is not None:
        for name, count in model.label_counts.items():
            yield {"state": name}, float(count)


def _label_source_up(state: MonitorState) -> Samples:
    if (model := _model(state)) is not None and model.separate_labels:
        yield {}, 0.0 if model.labels_error else 1.0


SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "driftmon_model_performance",
        "gauge",
        static_help(
            "The model's performance on the live window, per metric (scikit-learn's names); kind: estimated "
            "(from calibrated scores, every live row) or realized (the rows whose label is known)"
        ),
        _model_performance,
    ),
    MetricSpec(
        "driftmon_model_performance_reference",
        "gauge",
        static_help("The model's realized performance on the reference, per metric"),
        _model_reference,
    ),
    MetricSpec(
        "driftmon_model_performance_threshold",
        "gauge",
        static_help("Value of the metric at which the model is at the severity (warning, critical); auto resolved"),
        _model_thresholds,
    ),
    MetricSpec(
        "driftmon_model_performance_band",
        "gauge",
        static_help("Bounds (lower, upper) of the estimated metric: 3 sd of the reference's metric at the live size"),
        _model_bands,
    ),
    MetricSpec(
        "driftmon_model_alert",
        "gauge",
        static_help("1 while the metric of the kind (estimated, realized) is at the severity or worse, else 0"),
        _model_alerts,
    ),
    MetricSpec(
        "driftmon_labelled_rows",
        "gauge",
        static_help("Rows with a known label, per side (reference, live)"),
        _labelled_rows,
    ),
    MetricSpec(
        "driftmon_label_coverage_ratio",
        "gauge",
        static_help("Share (0-1) of live rows whose label is known"),
        _label_coverage,
    ),
    MetricSpec(
        "driftmon_label_delay_seconds",
        "gauge",
        static_help("The newest label's lag behind its prediction, in seconds (when both carry times)"),
        _label_delay,
    ),
    MetricSpec(
        "driftmon_label_join",
        "gauge",
        static_help(
            "The labels of the live window per state: live rows (labelled, pending, overdue, duplicate_key, "
            "missing_key, unknown_class) and label keys (repeated_labels, conflicting_labels, unmatched_labels, "
            "unkeyed_labels)"
        ),
        _label_join,
    ),
    MetricSpec(
        "driftmon_label_source_up",
        "gauge",
        static_help("1 when the model's targets source of late labels was read, 0 when it failed"),
        _label_source_up,
    ),
)
