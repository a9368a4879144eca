"""The data-quality series (docs/quality.md): shares, alerts, live rows."""

from __future__ import annotations

from driftmon.metric_spec import MetricSpec, Samples, at_or_above, static_help
from driftmon.quality_report import QUALITY_CHECKS
from driftmon.results import MonitorState


def _missing_ratio(state: MonitorState) -> Samples:
    for feature in state.features:
        if feature.quality is not None:
            yield {"feature": feature.feature, "side": "reference"}, feature.quality.missing.reference
            if feature.live_count > 0:
                yield {"feature": feature.feature, "side": "live"}, feature.quality.missing.live


def _out_of_range(state: MonitorState) -> Samples:
    for feature in state.features:
        quality = feature.quality
        if quality is not None and quality.below is not None and quality.above is not None and feature.live_count > 0:
            yield {"feature": feature.feature, "direction": "below"}, quality.below.live
            yield {"feature": feature.feature, "direction": "above"}, quality.above.live


def _quality_alerts(state: MonitorState) -> Samples:
    for feature in state.features:
        quality = feature.quality
        if quality is None:
            continue
        for check in QUALITY_CHECKS:
            if (check == "unseen" and quality.unseen is None) or (check == "out_of_range" and quality.below is None):
                continue  # the check does not apply to this kind of feature
            for level, value in at_or_above(quality.severity(check)):
                yield {"feature": feature.feature, "check": check, "severity": level}, value
    if state.scored is not None and state.scored.volume is not None:
        for level, value in at_or_above(state.scored.volume):
            yield {"check": "volume", "severity": level}, value
    if state.scored is not None and state.scored.schema is not None:
        for level, value in at_or_above(state.scored.schema.worst):
            yield {"check": "schema", "severity": level}, value
    feed = state.scored.feed if state.scored is not None else None
    if feed is not None and feed.freshness is not None:
        for level, value in at_or_above(feed.freshness):
            yield {"check": "freshness", "severity": level}, value


def _newest(state: MonitorState) -> Samples:
    feed = state.scored.feed if state.scored is not None else None
    if feed is not None and feed.newest is not None:
        yield {}, feed.newest


def _expected_rows(state: MonitorState) -> Samples:
    feed = state.scored.feed if state.scored is not None else None
    if feed is not None and feed.expected_rows is not None:
        yield {}, feed.expected_rows


def _schema_anomalies(state: MonitorState) -> Samples:
    if state.scored is not None and state.scored.schema is not None:
        seen = set()
        for anomaly in state.scored.schema.anomalies:
            if (anomaly.anomaly, anomaly.column) not in seen:
                seen.add((anomaly.anomaly, anomaly.column))
                yield {"anomaly": anomaly.anomaly, "column": anomaly.column, "severity": anomaly.severity}, 1.0


def _live_rows(state: MonitorState) -> Samples:
    if state.scored is not None and state.scored.live_rows is not None:
        yield {}, state.scored.live_rows


SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "driftmon_missing_ratio",
        "gauge",
        static_help("Share (0-1) of the side's rows without a value (null, NaN), per side (reference, live)"),
        _missing_ratio,
    ),
    MetricSpec(
        "driftmon_out_of_range_ratio",
        "gauge",
        static_help(
            "Share (0-1) of live values below the lowest or above the highest bin edge (direction: below, above); "
            "numeric features"
        ),
        _out_of_range,
    ),
    MetricSpec(
        "driftmon_quality_alert",
        "gauge",
        static_help(
            "1 while a data-quality check is at the severity or worse (check: missing, out_of_range, unseen, "
            "constant per feature; volume, schema, freshness per monitor), else 0"
        ),
        _quality_alerts,
    ),
    MetricSpec(
        "driftmon_schema_anomaly",
        "gauge",
        static_help(
            "1 while a schema anomaly holds between the reference's and the live columns (anomaly: missing_column, "
            "type_changed, new_column), with its configured severity; absent otherwise"
        ),
        _schema_anomalies,
    ),
    MetricSpec(
        "driftmon_live_rows",
        "gauge",
        static_help("Rows in the live window at the last successful evaluation"),
        _live_rows,
    ),
    MetricSpec(
        "driftmon_live_rows_expected",
        "gauge",
        static_help(
            "Rows the live window was expected to hold (volume.expected: the reference's rate, or the same window "
            "one period back)"
        ),
        _expected_rows,
    ),
    MetricSpec(
        "driftmon_live_newest_timestamp_seconds",
        "gauge",
        static_help(
            "Unix time of the newest live data: the newest window-column time in the window, else the newest "
            "file's modification time (freshness configured; absent when there is none)"
        ),
        _newest,
    ),
)
