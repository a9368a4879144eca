"""The reference series (docs/references.md): which reference the exported scores were computed against."""

from __future__ import annotations

from driftmon.metric_spec import MetricSpec, Samples, static_help
from driftmon.results import MonitorState


def _reference_info(state: MonitorState) -> Samples:
    scored = state.scored
    if scored is not None and scored.reference is not None:
        yield scored.reference.labels(), 1.0


SPECS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "driftmon_reference_info",
        "gauge",
        static_help(
            "1 for the reference the exported scores were computed against: reference (static, rolling, seasonal), "
            "since and until (its window, RFC 3339 UTC; empty when unbounded)"
        ),
        _reference_info,
    ),
)
