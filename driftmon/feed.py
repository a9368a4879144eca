"""Whether the live feed arrives: its volume against expectations, and its freshness.

Volume, from the rows the live window holds (the most any feature counted):

- an empty live window (a window that selected no rows) is ``critical``, reported as volume
  with every feature not judged, instead of failing the evaluation;
- fewer rows than ``volume.min_rows``: ``critical``;
- with ``volume.expected``, the expected rows are the reference's rate over the live window
  (``reference``: the reference's rows / the time they cover x the live window's length) or
  the rows of the same live window one ``period`` back (``previous``: the live source opened
  at ``now - period``, counted on one feature); fewer than ``min_ratio`` x expected, or more
  than ``max_ratio`` x expected (a file counted twice), is ``warning``.

Freshness (``freshness: {max_age}``): the newest live time (:meth:`Source.newest`: the newest
window-column time in the window, else the newest file's modification time) older than
``max_age`` at the evaluation time is ``critical``, as is a live side with no time at all
(an empty window); a source that cannot tell (Prometheus) is not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from driftmon.durations import format_duration, parse_duration
from driftmon.errors import EmptyWindow

if TYPE_CHECKING:
    from driftmon.config import MonitorConfig
    from driftmon.config_schema import Volume
    from driftmon.histogram import Histogram
    from driftmon.sources import Source
    from driftmon.sources.file_cache import FileCounts

OK, WARNING, CRITICAL = "ok", "warning", "critical"
_ORDER = {OK: 0, WARNING: 1, CRITICAL: 2}


@dataclass(frozen=True, slots=True)
class Feed:
    """The volume and freshness of one evaluation's live side."""

    live_rows: float
    volume: str  # ok | warning | critical
    reason: str | None = None  # the volume finding in words; None when ok
    expected_rows: float | None = None  # the expectation behind the ratio check; None: not checked
    newest: float | None = None  # Unix seconds of the newest live data; None: none or not told
    freshness: str | None = None  # ok | critical; None: not checked
    age_s: float | None = None  # evaluation time - newest (inf with no data); None: not checked
    max_age_s: float | None = None

    def findings(self) -> list[str]:
        """One line per check at warning or worse (for `check` and the pages)."""
        lines = [f"volume: {self.reason} ({self.volume})"] if self.volume != OK and self.reason else []
        if self.freshness not in (None, OK):
            assert self.max_age_s is not None
            age = "no live data with a time" if self.newest is None else f"newest live data {_age(self.age_s)} old"
            lines.append(f"freshness: {age}, older than max_age {format_duration(self.max_age_s)} ({self.freshness})")
        return lines


def _age(seconds: float | None) -> str:
    """An age in words: 3h05m, 2d04h, 40s."""
    if seconds is None or seconds == float("inf"):
        return "?"
    whole = max(round(seconds), 0)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _rows(count: float) -> str:
    return f"{count:,.0f}" if float(count).is_integer() else f"{count:,.1f}"


def feed_problems(volume: Volume, reference: Any, live: Any) -> list[tuple[tuple[str, ...], str]]:
    """What a ratio check lacks to be computed, named at config load."""
    if volume.expected is None:
        return []
    problems: list[tuple[tuple[str, ...], str]] = []
    if getattr(live, "window", None) is None:
        problems.append(
            (
                ("volume", "expected"),
                f"expected: {volume.expected} compares live windows: give the live source a window",
            )
        )
    if volume.expected == "reference" and volume.reference_span is None and getattr(reference, "window", None) is None:
        problems.append(
            (
                ("volume", "reference_span"),
                "expected: reference needs the time the reference's rows cover: set volume.reference_span "
                "(30d) or give the reference a window",
            )
        )
    return problems


def check(
    monitor: MonitorConfig,
    reference: Mapping[str, Histogram],
    live: Mapping[str, Histogram],
    reference_source: Source,
    live_source: Source,
    cache: FileCounts | None,
    now: float,
    skipped: frozenset[str] = frozenset(),
) -> Feed | None:
    """The volume and freshness of this evaluation; None when nothing is checked (data-quality
    checks off and no volume or freshness setting)."""
    settings, freshness = monitor.volume, monitor.freshness
    expected_kind = settings.expected if settings is not None else None
    if monitor.quality is None and monitor.min_rows is None and freshness is None and expected_kind is None:
        return None
    live_rows = max((hist.total for hist in live.values()), default=0.0)
    empty = live_source.window is not None and live_rows == 0 and bool(live)
    severity, reason, expected = OK, None, None
    if empty:
        severity, reason = CRITICAL, "the live window holds no rows"
    elif monitor.min_rows is not None and live_rows < monitor.min_rows:
        severity, reason = CRITICAL, f"{_rows(live_rows)} live rows, fewer than min_rows {monitor.min_rows}"
    if settings is not None and expected_kind is not None:
        expected = _expected(monitor, settings, reference, reference_source, live_source, cache, now, skipped)
        if expected is not None and expected > 0 and severity == OK:
            ratio = live_rows / expected
            if settings.min_ratio is not None and ratio < settings.min_ratio:
                severity = WARNING
                reason = (
                    f"{_rows(live_rows)} live rows, {ratio:.0%} of the {_rows(expected)} expected ({expected_kind})"
                )
            elif settings.max_ratio is not None and ratio > settings.max_ratio:
                severity = WARNING
                reason = (
                    f"{_rows(live_rows)} live rows, {ratio:.2f} x the {_rows(expected)} expected ({expected_kind}): "
                    "a file counted twice?"
                )
    feed = Feed(live_rows=live_rows, volume=severity, reason=reason, expected_rows=expected)
    if freshness is None:
        return feed
    newest = live_source.newest()
    limit = parse_duration(freshness.max_age)
    age = float("inf") if newest is None else now - newest
    state = CRITICAL if age > limit else OK
    return Feed(live_rows, severity, reason, expected, newest, state, age, limit)


def _expected(
    monitor: MonitorConfig,
    settings: Volume,
    reference: Mapping[str, Histogram],
    reference_source: Source,
    live_source: Source,
    cache: FileCounts | None,
    now: float,
    skipped: frozenset[str],
) -> float | None:
    """The rows the live window is expected to hold (None: cannot be told)."""
    window = live_source.window
    if window is None:
        return None
    if settings.expected == "reference":
        span = parse_duration(settings.reference_span) if settings.reference_span else None
        if span is None and reference_source.window is not None:
            span = reference_source.window.seconds
        rows = max((hist.total for hist in reference.values()), default=0.0)
        return None if not span else rows * window.seconds / span
    from driftmon.sources import open_source  # the same window one period back

    period = parse_duration(settings.period) if settings.period else window.seconds
    usable = [name for name in reference if name not in skipped]
    if not usable:
        return None
    before = open_source(monitor.live, monitor.base_dir, now=now - period)
    try:
        counted = before.count({usable[0]: reference[usable[0]].spec}, cache=cache)
    except EmptyWindow:
        return 0.0
    return counted[usable[0]].total
