"""Which reference a monitor's scores are computed against: static, rolling or seasonal.

- static (``reference: {type: ..., ...}``): a source of its own, binned once and kept until
  its fingerprint changes (or, with ``reference_refresh: 1d``, at most that long);
- rolling (``reference: {from: live, window: 7d, offset: 0s}``): the live source's own
  earlier rows, the ``window`` that ends ``offset`` before the live window starts;
- seasonal (``reference: {from: live, seasonal: 1w}``): the live window one period back,
  ``[start - 1w, end - 1w)``, so an hour is compared with the same hour a week before.

A moving reference is the live source's config with its window moved (SQL and Spark: the
WHERE on the time column; files: the window column, and path templates filled for each
earlier live window), so it is read as the live side is, through the live-file cache: a
file already counted costs nothing. Its bins are frozen: from ``bins:`` (a histogram file,
``driftmon profile`` writes one), else from the first reference window the daemon saw,
kept for as long as the reference settings are unchanged (a restart derives them anew from
the then-current window: configure ``bins:`` to keep scores comparable across restarts).

A moving reference whose window has no rows yet is not an error: its features are
``insufficient_data`` with the window named as the reason. Every result carries the
window it was computed against (:class:`ReferenceWindow`), exported as
``driftmon_reference_info{reference, since, until}``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from driftmon.durations import SECOND, YEAR, bounded, parse_duration
from driftmon.errors import ConfigError, EmptyWindow
from driftmon.histogram import BinSpec, Histogram, empty
from driftmon.sources import Source, open_source
from driftmon.sources.base import Window, as_time
from driftmon.sources.histogram_file import HistogramSource, HistogramSourceConfig

if TYPE_CHECKING:
    from driftmon.config import MonitorConfig
    from driftmon.segments import SegmentedProfile
    from driftmon.sources.file_cache import FileCounts

STATIC, ROLLING, SEASONAL = "static", "rolling", "seasonal"
MOVING_SOURCES = ("file", "sql", "spark")  # the source types with time windows
MAX_TEMPLATE_STEPS = 100_000  # earlier live windows whose path templates a rolling reference fills


class MovingReference(BaseModel):
    """The live source's own earlier rows as the reference (docs/references.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, populate_by_name=True)
    from_: Literal["live"] = Field(alias="from", description="live: the reference is the live source's earlier rows")
    window: bounded(SECOND, 100 * YEAR, "7d") | None = Field(  # type: ignore[valid-type]
        default=None, description="rolling: how much time before the live window (e.g. 7d)"
    )
    offset: bounded(0.0, 100 * YEAR, "0s") = Field(  # type: ignore[valid-type]
        default="0s", description="rolling: the gap between the reference's end and the live window's start"
    )
    seasonal: bounded(SECOND, 100 * YEAR, "1w") | None = Field(  # type: ignore[valid-type]
        default=None, description="seasonal: the live window one period back (1d, 1w); at least the live window"
    )
    bins: str | None = Field(
        default=None,
        description="a histogram file (driftmon profile) whose bins are used; default: the first reference's",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> MovingReference:
        if (self.window is None) == (self.seasonal is None):
            raise ValueError("reference: give `window:` (rolling) or `seasonal:` (one period back), one of the two")
        if self.seasonal is not None and "offset" in self.model_fields_set:
            raise ValueError("reference.offset applies to a rolling `window:`, not to `seasonal:`")
        return self

    @property
    def kind(self) -> str:
        return ROLLING if self.window is not None else SEASONAL


def reference_kind(value: Any) -> str:
    """The tag of ``reference:``: ``moving`` for ``{from: ...}``, else ``source`` (a source's ``type:``)."""
    if isinstance(value, MovingReference) or (isinstance(value, dict) and "from" in value):
        return "moving"
    return "source"


def reference_problem(reference: Any, live: Any) -> str | None:
    """Why a moving ``reference`` cannot follow this ``live`` source (None: it can, or it is static)."""
    if not isinstance(reference, MovingReference):
        return None
    if live.type not in MOVING_SOURCES:
        return f"reference: {{from: live}} needs a live source with a time window (file, sql, spark), not {live.type}"
    window = getattr(live, "window", None)
    if window is None:
        if reference.seasonal is not None and live.type == "file" and _templated(live.path):
            return None  # the live source opened one period back: its templates name that period's files
        key = "reference.window" if reference.window is not None else "reference.seasonal"
        return f"{key}: a moving reference needs `live.window: {{column, last}}` (or, for seasonal, a templated path)"
    if reference.seasonal is not None and parse_duration(reference.seasonal) < window.seconds:
        return (
            f"reference.seasonal ({reference.seasonal}) is shorter than the live window (live.window.last: "
            f"{window.last}): the reference would overlap the live rows; use a period of at least {window.last}"
        )
    return None


@dataclass(frozen=True, slots=True)
class ReferenceWindow:
    """The reference a result was computed against: its kind and time bounds (None: unbounded)."""

    kind: str  # static | rolling | seasonal
    since: datetime | None = None
    until: datetime | None = None

    def labels(self) -> dict[str, str]:
        """The labels of ``driftmon_reference_info`` (bounds as RFC 3339 UTC, empty when unbounded)."""
        return {"reference": self.kind, "since": _stamp(self.since), "until": _stamp(self.until)}

    def describe(self) -> str:
        if self.since is None and self.until is None:
            return f"{self.kind} reference"
        return f"{self.kind} reference [{_stamp(self.since) or '...'}, {_stamp(self.until) or '...'})"

    def to_json(self) -> dict[str, str | None]:
        return {"kind": self.kind, "since": _stamp(self.since) or None, "until": _stamp(self.until) or None}


def _stamp(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_reference(monitor: MonitorConfig, now: datetime | float | None = None) -> tuple[Source, ReferenceWindow]:
    """The reference source of ``monitor`` at evaluation time ``now``, and the window it covers."""
    moment = as_time(now)
    reference = monitor.reference
    if not isinstance(reference, MovingReference):
        source = open_source(reference, monitor.base_dir, moment)
        bounds = source.window.bounds(moment) if source.window is not None else (None, None)
        return source, ReferenceWindow(STATIC, *bounds)
    live = monitor.live
    window: Window | None = getattr(live, "window", None)
    if reference.seasonal is not None:
        at = moment - timedelta(seconds=parse_duration(reference.seasonal))
        source = open_source(live, monitor.base_dir, at)
        since = window.bounds(at)[0] if window is not None else None
        return source, ReferenceWindow(SEASONAL, since, at)
    assert window is not None and reference.window is not None  # config validation: reference_problem
    until = moment - timedelta(seconds=window.seconds + parse_duration(reference.offset))
    if monitor.reference_refresh_s:  # moves in steps: whole hours for 1h, UTC midnights for 1d
        step = monitor.reference_refresh_s
        until = datetime.fromtimestamp(until.timestamp() // step * step, UTC)
    moved = Window(column=window.column, last=reference.window)
    config = live.model_copy(update={"window": moved})
    if live.type == "file" and _templated(live.path):
        config = config.model_copy(update={"path": _earlier_paths(live.path, window, moved, until)})
    since = until - timedelta(seconds=moved.seconds)
    return open_source(config, monitor.base_dir, until), ReferenceWindow(ROLLING, since, until)


def _templated(path: str | list[str]) -> bool:
    from driftmon.sources.file.options import template_fields

    return any(template_fields(p) for p in ([path] if isinstance(path, str) else path))


def _earlier_paths(path: str | list[str], live: Window, moved: Window, until: datetime) -> list[str]:
    """The files the live source named at each of its earlier windows inside ``[until - moved, until)``
    (its templates filled per live window, as literal paths: braces escaped)."""
    steps = int(-(-moved.seconds // live.seconds))
    if steps > MAX_TEMPLATE_STEPS:
        raise ConfigError(
            f"reference.window ({moved.last}) spans {steps:,} live windows of {live.last}, more than "
            f"{MAX_TEMPLATE_STEPS:,} path templates to fill; use a glob in live.path"
        )
    filled: dict[str, None] = {}
    for step in range(steps):
        end = until - timedelta(seconds=step * live.seconds)
        start = end - timedelta(seconds=live.seconds)
        for pattern in [path] if isinstance(path, str) else path:
            text = pattern.format(now=end, start=start, end=end)
            filled[text.replace("{", "{{").replace("}", "}}")] = None
    return list(filled)


# ---------------------------------------------------------------------------
# the reference histograms of one evaluation, and the daemon's cache of them


class ReferenceEntry(NamedTuple):
    """One monitor's cached reference: valid while its settings ``key`` and the source's
    ``fingerprint`` are unchanged (a tuple, so it pickles cheaply to and from workers).
    A moving reference's entry holds its frozen bins (the histograms' specs) and its window."""

    key: Any  # the reference settings, the features' binning rules and the config's directory
    fingerprint: str
    histograms: dict[str, Histogram]
    segments: Any = None  # a segmented reference (driftmon.segments.SegmentedProfile), if configured
    computed_at: float = 0.0  # evaluation time (Unix) of the binning: reference_refresh counts from it
    window: ReferenceWindow | None = None
    samples: dict[Any, Any] | None = None  # row samples of the same reference data (driftmon.joint)


class ReferenceCache:
    """Reference histograms per monitor, recomputed only when the source's fingerprint changes
    (or ``reference_refresh`` has passed)."""

    def __init__(self) -> None:
        self._entries: dict[str, ReferenceEntry] = {}
        self._lock = threading.Lock()
        self.computed = 0  # how many times a reference was binned (for tests and logs)

    def get(self, monitor: MonitorConfig, source: Source, now: float | None = None) -> dict[str, Histogram]:
        key = cache_key(monitor)
        fingerprint = source.fingerprint()
        entry = self.entry(monitor.name)
        if (
            entry is not None
            and entry.key == key
            and entry.fingerprint == fingerprint
            and not _due(monitor, entry, now)
        ):
            return entry.histograms
        histograms = source.profile([f.rule for f in monitor.features])
        self.put(monitor.name, ReferenceEntry(key, fingerprint, histograms, computed_at=now or 0.0))
        return histograms

    def entry(self, name: str) -> ReferenceEntry | None:
        """The cached reference of monitor ``name`` (to hand to a worker process), if any."""
        with self._lock:
            return self._entries.get(name)

    def put(self, name: str, entry: ReferenceEntry) -> None:
        """Store a reference binned elsewhere (by a worker process) or now."""
        with self._lock:
            self._entries[name] = entry
            self.computed += 1

    def sample(self, monitor: MonitorConfig, key: Any, draw: Callable[[], Any]) -> Any:
        """A row sample kept with the monitor's current reference entry (which this evaluation
        has already renewed if the data changed), drawn by ``draw`` only when the entry has none
        under ``key``; a new sample counts in ``computed``, so a worker sends it back."""
        with self._lock:
            entry = self._entries.get(monitor.name)
            if entry is not None and key in (entry.samples or {}):
                return (entry.samples or {})[key]
        drawn = draw()
        with self._lock:
            current = self._entries.get(monitor.name)
            if current is not None and current is entry:
                self._entries[monitor.name] = entry._replace(samples={**(entry.samples or {}), key: drawn})
                self.computed += 1
        return drawn

    def retain(self, names: set[str]) -> None:
        """Forget monitors no longer configured."""
        with self._lock:
            for name in set(self._entries) - names:
                del self._entries[name]


def cache_key(monitor: MonitorConfig) -> Any:
    return (monitor.reference, tuple(f.rule for f in monitor.features), monitor.base_dir)


def _due(monitor: MonitorConfig, entry: ReferenceEntry, now: float | None) -> bool:
    """``reference_refresh`` has passed since the entry was binned."""
    refresh = monitor.reference_refresh_s
    return refresh is not None and now is not None and now - entry.computed_at >= refresh


@dataclass(frozen=True, slots=True)
class Reference:
    """The reference side of one evaluation: its source, histograms and window.

    ``reason``: why the features cannot be judged yet (a moving reference's window has no
    rows); the histograms are then empty, over bins that are frozen or taken from the live side.
    """

    source: Source
    histograms: dict[str, Histogram]
    window: ReferenceWindow
    reason: str | None = None


def reference_side(
    monitor: MonitorConfig,
    cache: ReferenceCache | None,
    now: float,
    live: Source,
    live_files: FileCounts | None = None,
) -> Reference:
    """The reference histograms of ``monitor`` at evaluation time ``now`` (Unix seconds)."""
    source, window = open_reference(monitor, now)
    rules = [f.rule for f in monitor.features]
    if not isinstance(monitor.reference, MovingReference):
        histograms = source.profile(rules) if cache is None else cache.get(monitor, source, now)
        return Reference(source, histograms, window)
    key = (*cache_key(monitor), _bins_fingerprint(monitor))
    if live_files is not None and window.since is not None:
        live_files.keep_from(int(window.since.timestamp() * 1e9))  # the live pass keeps the reference's files
    entry = cache.entry(monitor.name) if cache is not None else None
    specs: Mapping[str, BinSpec] | None = None
    if entry is not None and entry.key == key:
        if monitor.reference_refresh_s is not None and entry.window == window:  # not due: the same window
            return Reference(source, entry.histograms, entry.window)
        specs = {name: histogram.spec for name, histogram in entry.histograms.items()}
    elif monitor.reference.bins is not None:
        specs = {name: histogram.spec for name, histogram in _profile_bins(monitor, rules).items()}
    try:
        histograms = source.profile(rules) if specs is None else source.count(specs, cache=live_files)
    except EmptyWindow as error:
        reason = f"the {window.describe()} has no rows yet ({error})"
        if specs is None:  # no bins yet: the live side's, for this evaluation only (nothing is frozen)
            specs = {name: histogram.spec for name, histogram in live.profile(rules).items()}
        return Reference(source, {name: empty(spec) for name, spec in specs.items()}, window, reason)
    if cache is not None:
        cache.put(monitor.name, ReferenceEntry(key, _stamp(window.since), histograms, computed_at=now, window=window))
    return Reference(source, histograms, window)


def segmented_reference(
    monitor: MonitorConfig, cache: ReferenceCache | None, now: float, live: Source
) -> tuple[Source, ReferenceWindow, SegmentedProfile | None, str | None]:
    """A moving reference counted per segment (:mod:`driftmon.segments`) at evaluation time ``now``:
    its source, window, profile and the reason when its window has no rows yet. A static reference
    gives None as profile (segments profile it themselves). The segments (the top values) and bins
    are frozen as the unsegmented bins are: from the first window (bins: from ``bins:`` if
    configured); each later window is counted per segment over them."""
    from driftmon.segments import empty_segmented, totals

    source, window = open_reference(monitor, now)
    settings = monitor.segments
    if not isinstance(monitor.reference, MovingReference) or settings is None:
        return source, window, None, None
    rules = [f.rule for f in monitor.features]
    key = ("segments", *cache_key(monitor), _bins_fingerprint(monitor), settings)
    entry = cache.entry(monitor.name) if cache is not None else None
    frozen = entry.segments if entry is not None and entry.key == key else None
    if frozen is not None and monitor.reference_refresh_s is not None and entry is not None and entry.window == window:
        return source, window, frozen, None  # not due: the same window
    configured = _specs(_profile_bins(monitor, rules)) if monitor.reference.bins is not None else None
    try:
        if frozen is None:  # the first window: its top values are the segments, its rows the bins
            profile = source.profile_segments(rules, settings.by, settings.top)
            if configured is not None:
                profile = replace(profile, histograms=source.count_segments(configured, profile.segmentation))
        else:
            profile = replace(frozen, histograms=source.count_segments(_specs(frozen.histograms), frozen.segmentation))
    except EmptyWindow as error:
        reason = f"the {window.describe()} has no rows yet ({error})"
        # Nothing frozen yet: the live side's segments and bins, for this evaluation only.
        shape = frozen or live.profile_segments(rules, settings.by, settings.top)
        specs = configured or _specs(shape.histograms)
        size = shape.segmentation.size
        return (
            source,
            window,
            replace(shape, histograms={n: empty_segmented(s, size) for n, s in specs.items()}),
            reason,
        )
    if cache is not None:
        entry = ReferenceEntry(key, _stamp(window.since), totals(profile.histograms), profile, now, window)
        cache.put(monitor.name, entry)
    return source, window, profile, None


def _specs(histograms: Mapping[str, Any]) -> dict[str, BinSpec]:
    return {name: histogram.spec for name, histogram in histograms.items()}


def _profile_bins(monitor: MonitorConfig, rules: Sequence[Any]) -> dict[str, Histogram]:
    assert isinstance(monitor.reference, MovingReference) and monitor.reference.bins is not None
    config = HistogramSourceConfig(type="histogram", path=monitor.reference.bins)
    return HistogramSource(config, monitor.base_dir).profile(rules)


def _bins_fingerprint(monitor: MonitorConfig) -> str:
    """The ``bins:`` file's content digest: a new profile there gives new frozen bins."""
    reference = monitor.reference
    if not isinstance(reference, MovingReference) or reference.bins is None:
        return ""
    return HistogramSource(HistogramSourceConfig(type="histogram", path=reference.bins), monitor.base_dir).fingerprint()


def profile_reference(monitor: MonitorConfig, now: datetime | float | None = None) -> dict[str, Histogram]:
    """Bin a monitor's reference once (for ``driftmon profile``; a moving reference: its current window)."""
    source, _ = open_reference(monitor, now)
    return source.profile([f.rule for f in monitor.features])
