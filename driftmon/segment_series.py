"""The segments' series (docs/segments.md): every per-feature and per-monitor drift and
data-quality series again per segment, with a ``segment`` label.

The unsegmented total keeps its series without the label. A segment's series come from its
own result (:class:`driftmon.segments.SegmentResult`) seen as a monitor's state, so each
metric of the table is written once; the evaluation's health (up, evaluations, durations,
schedule) is the monitor's, not a segment's. A vanished segment (no live rows) has no
series; ``driftmon_segments`` counts the segments per state.

    driftmon_js_divergence{feature="income",monitor="credit",segment="DE"} 0.031
    driftmon_segments{monitor="credit",state="evaluated"} 12
    driftmon_segments{monitor="credit",state="vanished"} 1
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from driftmon.metric_spec import MetricSpec, Samples, static_help
from driftmon.results import MonitorState

# Series of the evaluation itself: one per monitor, never per segment.
UNSEGMENTED = frozenset(
    {
        "driftmon_monitor_up",
        "driftmon_evaluations_total",
        "driftmon_evaluation_failures_total",
        "driftmon_last_evaluation_duration_seconds",
        "driftmon_last_success_timestamp_seconds",
        "driftmon_schedule_interval_seconds",
        "driftmon_segments",
    }
)


def segment_states(state: MonitorState, spec: MetricSpec) -> Iterator[tuple[str, MonitorState]]:
    """Each evaluated segment of the monitor's last successful result, as a state of its own."""
    segments = state.scored.segments if state.scored is not None else None
    if segments is None or spec.name in UNSEGMENTED:
        return
    for item in segments.segments:
        yield item.segment, replace(state, latest=None, scored=item.result, last_success_s=None)


def _segments(state: MonitorState) -> Samples:
    segments = state.scored.segments if state.scored is not None else None
    if segments is not None:
        yield {"state": "evaluated"}, float(len(segments.segments))
        yield {"state": "vanished"}, float(len(segments.vanished))


SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "driftmon_segments",
        "gauge",
        static_help(
            "Segments of the last successful evaluation (state: evaluated, vanished: in the reference, "
            "no live rows, so no series); only for monitors with segments"
        ),
        _segments,
    ),
)
