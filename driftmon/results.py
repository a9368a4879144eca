"""The results model: what a scrape, a page, a push and ``/api/v1/status`` read.

A :class:`Snapshot` is immutable: every monitor's :class:`MonitorState` (settings and
latest results) plus the reload state. The daemon's :class:`ResultsStore` swaps in a new
one whenever an evaluation ends or the config is reloaded; readers take the current one
without locking, so each sees one consistent state. Nothing here renders or schedules:
the exporter (:mod:`driftmon.exporter`), the exposition (:mod:`driftmon.exposition`),
the pages and push all read these types.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from driftmon.config import MonitorConfig
from driftmon.evaluate import FeatureResult, MonitorResult


@dataclass(frozen=True, slots=True)
class MonitorState:
    """What the exporter knows of one configured monitor: its settings and latest results.

    ``latest`` is the last finished evaluation (maybe an error); ``scored`` the last
    successful one, whose features are exported, so a failure keeps the last scores.
    """

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    measures: tuple[str, ...] = ("kl", "js", "psi")
    log_base: float = 2.0
    interval_s: float = 300.0  # the schedule's period (cron: the gap between two runs)
    latest: MonitorResult | None = None
    scored: MonitorResult | None = None
    evaluations: int = 0
    failures: int = 0
    last_success_s: float | None = None  # Unix time the last successful evaluation ended

    @property
    def features(self) -> tuple[FeatureResult, ...]:
        return self.scored.features if self.scored is not None else ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything a scrape shows, immutable; ``version`` grows with every swap."""

    version: int
    monitors: tuple[MonitorState, ...]
    reload_successful: bool = True
    reload_success_s: float = 0.0

    def results(self) -> list[MonitorResult]:
        """The latest result of each monitor evaluated so far, in config order."""
        return [state.latest for state in self.monitors if state.latest is not None]


def _trim(result: MonitorResult | None, monitor: MonitorConfig) -> MonitorResult | None:
    """A changed monitor's previous result, cut to the features and measures it still has
    (kept until its re-evaluation lands, so its series do not blink)."""
    if result is None or result.log_base != monitor.log_base:
        return None  # scores in another unit would be wrong, not stale
    names = {f.name for f in monitor.features}
    measures = set(monitor.measures)
    features = tuple(
        replace(
            feature,
            scores={m: v for m, v in feature.scores.items() if m in measures},
            severity={m: v for m, v in feature.severity.items() if m in measures},
            thresholds={m: v for m, v in feature.thresholds.items() if m in measures},
        )
        for feature in result.features
        if feature.feature in names
    )
    segments = result.segments
    if segments is not None:  # kept only for the same segmentation, each segment cut as the total
        same = monitor.segments is not None and (tuple(monitor.segments.by), monitor.segments.top) == (
            segments.by,
            segments.top,
        )
        trimmed = [(s, _trim(s.result, monitor)) for s in segments.segments] if same else []
        items = tuple(replace(s, result=kept) for s, kept in trimmed if kept is not None)
        segments = replace(segments, segments=items) if same and len(items) == len(trimmed) else None
    return replace(result, features=features, labels=monitor.labels, measures=monitor.measures, segments=segments)


class ResultsStore:
    """The current :class:`Snapshot`, replaced whole (never mutated) under a lock.

    Readers call :meth:`snapshot` without locking: a scrape sees one consistent state.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = itertools.count(1)
        self._snapshot = Snapshot(0, ())
        self._configs: dict[str, MonitorConfig] = {}

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def configs(self) -> dict[str, MonitorConfig]:
        """The monitors configured now, by name."""
        with self._lock:
            return dict(self._configs)

    def configure(self, monitors: Sequence[MonitorConfig], periods: Mapping[str, float], *, at: float) -> None:
        """Install a (new) config: unchanged monitors keep their state, changed ones keep
        their counters and what of their results still applies, removed ones go."""
        with self._lock:
            previous = {state.name: state for state in self._snapshot.monitors}
            states = []
            for monitor in monitors:
                old = previous.get(monitor.name)
                if old is not None and self._configs.get(monitor.name) is monitor:
                    period = periods[monitor.name]
                    states.append(old if old.interval_s == period else replace(old, interval_s=period))
                    continue
                state = MonitorState(
                    name=monitor.name,
                    labels=dict(monitor.labels),
                    measures=monitor.measures,
                    log_base=monitor.log_base,
                    interval_s=periods[monitor.name],
                )
                if old is not None:
                    state = replace(
                        state,
                        latest=_trim(old.latest, monitor),
                        scored=_trim(old.scored, monitor),
                        evaluations=old.evaluations,
                        failures=old.failures,
                        last_success_s=old.last_success_s,
                    )
                states.append(state)
            self._configs = {monitor.name: monitor for monitor in monitors}
            self._swap(monitors=tuple(states), reload_successful=True, reload_success_s=at)

    def reload_failed(self) -> None:
        with self._lock:
            self._swap(reload_successful=False)

    def record(self, monitor: MonitorConfig, result: MonitorResult, *, ended_at: float) -> MonitorState | None:
        """Store an evaluation's result; None (dropped) if the monitor was changed or
        removed since that evaluation was scheduled."""
        with self._lock:
            if self._configs.get(monitor.name) is not monitor:
                return None
            states = list(self._snapshot.monitors)
            index = next(i for i, s in enumerate(states) if s.name == monitor.name)
            old = states[index]
            state = replace(
                old,
                latest=result,
                scored=result if result.ok else old.scored,
                evaluations=old.evaluations + 1,
                failures=old.failures + (0 if result.ok else 1),
                last_success_s=ended_at if result.ok else old.last_success_s,
            )
            states[index] = state
            self._swap(monitors=tuple(states))
            return state

    def _swap(self, **changes: Any) -> None:
        self._snapshot = replace(self._snapshot, version=next(self._version), **changes)
