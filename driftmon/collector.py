"""Metric families from a snapshot: the exporter's table (:mod:`driftmon.exporter`) applied
to the latest results, as a prometheus_client collector.

Each family is built fresh from the snapshot at every call, so a series whose monitor or
feature left the config is gone; NaN is never added.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from driftmon.exporter import GLOBAL_METRICS, MONITOR_METRICS, Labels, MetricSpec
from driftmon.results import MonitorState, Snapshot
from driftmon.segment_series import segment_states

__all__ = ["DriftCollector", "families", "global_family", "monitor_family", "new_family"]




def new_family(spec: MetricSpec, help_text: str) -> Metric:
    """An empty family for ``spec`` (a counter's family name drops ``_total``)."""
    if spec.kind == "counter":
        return Metric(spec.name.removesuffix("_total"), help_text, "counter")
    return Metric(spec.name, help_text, spec.kind)


def _add(family: Metric, spec: MetricSpec, labels: Labels, value: float) -> None:
    if not math.isnan(value):  # never export NaN
        family.add_sample(spec.name, labels, float(value))


def monitor_family(spec: MetricSpec, state: MonitorState, help_text: str) -> Metric:
    """The family of ``spec`` with one monitor's samples (its labels and ``monitor`` added; no NaN)."""
    family = new_family(spec, help_text)
    for extra, value in spec.samples(state):
        _add(family, spec, {**state.labels, "monitor": state.name, **extra}, value)
    for segment, view in segment_states(state, spec):  # the same series per segment (driftmon.segment_series)
        for extra, value in spec.samples(view):
            _add(family, spec, {**state.labels, "monitor": state.name, "segment": segment, **extra}, value)
    return family


def global_family(spec: MetricSpec, snapshot: Snapshot) -> Metric:
    """The family of a snapshot-wide ``spec`` with its samples (no NaN)."""
    family = new_family(spec, spec.help(snapshot))
    for labels, value in spec.samples(snapshot):
        _add(family, spec, labels, value)
    return family


def families(snapshot: Snapshot) -> Iterator[Metric]:
    """Every metric family of ``snapshot`` that has samples, in table order."""
    for spec in MONITOR_METRICS:
        family = new_family(spec, spec.help(snapshot))
        for state in snapshot.monitors:
            family.samples.extend(monitor_family(spec, state, "").samples)
        if family.samples:
            yield family
    for spec in GLOBAL_METRICS:
        yield global_family(spec, snapshot)


class DriftCollector(Collector):
    """A prometheus_client collector yielding the families of the current snapshot."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        return list(families(self._snapshot()))

    def describe(self) -> Iterable[Metric]:
        return []  # nothing fixed: the families follow the config
