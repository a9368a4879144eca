"""What one exported metric is: its name, type, HELP and how its samples come from the
latest results. Each concept's series are a table of these (`driftmon.exporter` for drift
and health, `driftmon.quality_series`, `driftmon.model_series`, `driftmon.joint_series`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from driftmon.evaluate import SEVERITY_ORDER
from driftmon.results import Snapshot

__all__ = ["SEVERITIES", "Labels", "MetricSpec", "Samples", "at_or_above", "static_help"]

SEVERITIES = ("warning", "critical")


Labels = dict[str, str]
Samples = Iterator[tuple[Labels, float]]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One exported metric. ``samples`` yields (labels, value) for one monitor (per-monitor
    metrics; ``monitor`` and the monitor's own labels are added) or for the snapshot."""

    name: str  # as exposed; a counter's ends in _total
    kind: str  # gauge | counter
    help: Callable[[Snapshot], str]
    samples: Callable[[Any], Samples]


def static_help(text: str) -> Callable[[Snapshot], str]:
    return lambda snapshot: text


def at_or_above(severity: str) -> Iterator[tuple[str, float]]:
    for level in SEVERITIES:
        yield level, float(SEVERITY_ORDER[severity] >= SEVERITY_ORDER[level])
