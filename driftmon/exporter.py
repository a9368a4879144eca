"""Prometheus exposition of the latest results (SPEC §7): a custom collector over a snapshot.

The daemon swaps in an immutable :class:`Snapshot` whenever an evaluation ends or the
config is reloaded. :class:`DriftCollector` builds every metric family from the snapshot
it is given, so a monitor or feature that left the config is gone from the next scrape.
What is exported, per monitor (plus the monitor's own ``labels`` on every series)::

    # HELP driftmon_js_divergence Jensen-Shannon divergence ... in bits (log base 2); range [0, 1]
    # TYPE driftmon_js_divergence gauge
    driftmon_js_divergence{feature="age",monitor="credit-model",team="risk"} 0.0031
    driftmon_js_divergence_threshold{feature="age",monitor="credit-model",severity="warning",team="risk"} 0.05
    driftmon_drift_alert{feature="age",measure="js",monitor="credit-model",severity="warning",team="risk"} 0.0
    driftmon_samples{feature="age",monitor="credit-model",side="live",team="risk"} 812.0
    driftmon_monitor_up{monitor="credit-model",team="risk"} 1.0
    driftmon_evaluations_total{monitor="credit-model",team="risk"} 12.0

The metrics are a table (:data:`MONITOR_METRICS`, :data:`GLOBAL_METRICS`): a new metric
is one :class:`MetricSpec` entry.

Scrapes cost no computation: :class:`Exposition` renders each monitor's series once per
change of that monitor (prometheus_client renders ~15 µs per series, far too slow for
tens of thousands of series per scrape), joins the pieces once per snapshot and format,
and serves those bytes until the next snapshot; gzip, too, is redone only for what changed.
"""

from __future__ import annotations

import functools
import gzip
import math
import platform
import struct
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from driftmon import __version__
from driftmon.divergence import MEASURE_NAMES, MEASURES
from driftmon.evaluate import FeatureResult, MonitorResult

# The score metric of each measure (SPEC §7); its threshold metric adds `_threshold`.
SCORE_METRICS: Mapping[str, str] = {
    "kl": "driftmon_kl_divergence",
    "kl_reverse": "driftmon_kl_divergence_reverse",
    "js": "driftmon_js_divergence",
    "psi": "driftmon_population_stability_index",
    "hellinger": "driftmon_hellinger_distance",
    "tvd": "driftmon_total_variation_distance",
}
SEVERITIES = ("warning", "critical")


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


def _static(text: str) -> Callable[[Snapshot], str]:
    return lambda snapshot: text


# ---------------------------------------------------------------------------
# HELP texts of the scores: definition and unit (the monitors' log_base)

_UNITS = {2.0: "bits (log base 2)", math.e: "nats (natural log)", 10.0: "hartleys (log base 10)"}


def _unit(log_base: float) -> str:
    return _UNITS.get(log_base, f"log base {log_base:g} units")


def _range(measure: str, log_base: float) -> str:
    bound = MEASURES[measure].upper_bound
    if bound is None:
        return "[0, +Inf)"
    if MEASURES[measure].uses_log_base:  # bounds are given in bits
        bound = bound * math.log(2.0) / math.log(log_base)
    return f"[0, {bound:.4g}]"


def score_help(measure: str, snapshot: Snapshot) -> str:
    """The definition of ``measure`` and the unit it is exported in."""
    spec = MEASURES[measure]
    if not spec.uses_log_base:
        return spec.description
    definition = spec.description.split(", in log_base units")[0]
    by_base: dict[float, list[str]] = {}
    for state in snapshot.monitors:
        if measure in state.measures:
            by_base.setdefault(state.log_base, []).append(state.name)
    if len(by_base) <= 1:
        base = next(iter(by_base), 2.0)
        return f"{definition}, in {_unit(base)}; range {_range(measure, base)}"
    parts = []
    for base, names in by_base.items():
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        parts.append(f"{_unit(base)}, range {_range(measure, base)}, for {shown}")
    return f"{definition}, in the unit of each monitor's log_base: " + "; ".join(parts)


# ---------------------------------------------------------------------------
# the samples of each metric, per monitor


def _thresholds(feature: FeatureResult, measure: str) -> Iterator[tuple[str, float]]:
    levels = feature.thresholds.get(measure, (None, None))
    for severity, level in zip(SEVERITIES, levels, strict=True):
        if level is not None:
            yield severity, float(level)


def _per_feature(
    measure: str, values: Callable[[FeatureResult], Mapping[str, float]]
) -> Callable[[MonitorState], Samples]:
    """Samples of one value per feature for ``measure`` (a score, a noise floor), where present."""

    def samples(state: MonitorState) -> Samples:
        if measure in state.measures:
            for feature in state.features:
                value = values(feature).get(measure)
                if value is not None:
                    yield {"feature": feature.feature}, value

    return samples


def _scores(feature: FeatureResult) -> Mapping[str, float]:
    return feature.scores


def _noise_floor(feature: FeatureResult) -> Mapping[str, float]:
    return feature.noise_floor


def _score_thresholds(measure: str) -> Callable[[MonitorState], Samples]:
    def samples(state: MonitorState) -> Samples:
        if measure in state.measures:
            for feature in state.features:
                for severity, level in _thresholds(feature, measure):
                    yield {"feature": feature.feature, "severity": severity}, level

    return samples


def _alerts(state: MonitorState) -> Samples:
    for feature in state.features:
        for measure in state.measures:
            value = feature.scores.get(measure)
            if value is None or math.isnan(value):
                continue
            for severity, level in _thresholds(feature, measure):
                drifted = feature.sufficient and feature.significant and value >= level
                yield {"feature": feature.feature, "measure": measure, "severity": severity}, float(drifted)


def _pvalues(state: MonitorState) -> Samples:
    for feature in state.features:
        if feature.pvalue is not None:
            yield {"feature": feature.feature}, feature.pvalue


def _adjusted_pvalues(state: MonitorState) -> Samples:
    for feature in state.features:
        if feature.pvalue_adjusted is not None:
            yield {"feature": feature.feature}, feature.pvalue_adjusted


def _drifted_features(state: MonitorState) -> Samples:
    if state.scored is not None:
        for severity, count in state.scored.drifted_features.items():
            yield {"severity": severity}, float(count)


def _drifted_share(state: MonitorState) -> Samples:
    if state.scored is not None and state.scored.drifted_share is not None:
        yield {}, state.scored.drifted_share


def _dataset_drift(state: MonitorState) -> Samples:
    if state.scored is not None and state.scored.dataset_drift is not None:
        yield {}, float(state.scored.dataset_drift)


def _samples(state: MonitorState) -> Samples:
    for feature in state.features:
        yield {"feature": feature.feature, "side": "reference"}, feature.reference_count
        yield {"feature": feature.feature, "side": "live"}, feature.live_count


def _unseen(state: MonitorState) -> Samples:
    for feature in state.features:
        if feature.live_count > 0:  # a share of nothing is undefined
            yield {"feature": feature.feature}, feature.unseen_fraction


def _bin_shares(state: MonitorState) -> Samples:
    """Each bin's share per side, only for monitors with ``export: {bins: true}``."""
    if state.scored is not None and state.scored.export_bins:
        for feature in state.features:
            for item in feature.bins:
                yield {"feature": feature.feature, "bin": item.label, "side": "reference"}, item.reference_share
                yield {"feature": feature.feature, "bin": item.label, "side": "live"}, item.live_share


def _up(state: MonitorState) -> Samples:
    if state.latest is not None:
        yield {}, float(state.latest.ok)


def _evaluations(state: MonitorState) -> Samples:
    yield {}, float(state.evaluations)


def _failures(state: MonitorState) -> Samples:
    yield {}, float(state.failures)


def _duration(state: MonitorState) -> Samples:
    if state.latest is not None:
        yield {}, state.latest.duration_s


def _last_success(state: MonitorState) -> Samples:
    if state.last_success_s is not None:
        yield {}, state.last_success_s


def _interval(state: MonitorState) -> Samples:
    yield {}, state.interval_s


def _score_specs() -> list[MetricSpec]:
    specs = []
    for measure in MEASURE_NAMES:
        name = SCORE_METRICS[measure]
        specs.append(MetricSpec(name, "gauge", functools.partial(score_help, measure), _per_feature(measure, _scores)))
    for measure in MEASURE_NAMES:
        name = SCORE_METRICS[measure]
        text = f"Score of {measure} at which a feature is at the severity (warning, critical); the unit of {name}"
        specs.append(MetricSpec(f"{name}_threshold", "gauge", _static(text), _score_thresholds(measure)))
    for measure in MEASURE_NAMES:
        name = SCORE_METRICS[measure]
        text = f"Expected {measure} with no drift at the last evaluation's sample sizes (simulated); the unit of {name}"
        specs.append(MetricSpec(f"{name}_noise_floor", "gauge", _static(text), _per_feature(measure, _noise_floor)))
    return specs


MONITOR_METRICS: tuple[MetricSpec, ...] = (
    *_score_specs(),
    MetricSpec(
        "driftmon_drift_alert",
        "gauge",
        _static(
            "1 while the feature is judged drifted by the measure at the severity "
            "(score >= threshold and corrected p-value <= significance, with at least min_samples live rows), else 0"
        ),
        _alerts,
    ),
    MetricSpec(
        "driftmon_drift_pvalue",
        "gauge",
        _static("P-value of the test that live and reference are one distribution (chi-square family, both sizes)"),
        _pvalues,
    ),
    MetricSpec(
        "driftmon_drift_pvalue_adjusted",
        "gauge",
        _static("The p-value after the monitor's multiple-testing correction across its features"),
        _adjusted_pvalues,
    ),
    MetricSpec(
        "driftmon_drifted_features",
        "gauge",
        _static("Features whose worst severity is the severity (warning, critical) at the last successful evaluation"),
        _drifted_features,
    ),
    MetricSpec(
        "driftmon_drifted_features_ratio",
        "gauge",
        _static("Share (0-1) of judged features drifted (at dataset_drift.severity, default critical)"),
        _drifted_share,
    ),
    MetricSpec(
        "driftmon_dataset_drift",
        "gauge",
        _static("1 while the share of drifted features reaches dataset_drift.share, else 0 (only if configured)"),
        _dataset_drift,
    ),
    MetricSpec(
        "driftmon_samples",
        "gauge",
        _static("Rows counted in the last successful evaluation, per side (reference, live)"),
        _samples,
    ),
    MetricSpec(
        "driftmon_unseen_fraction",
        "gauge",
        _static("Share (0-1) of live rows in bins empty in the reference (out of range, unseen categories)"),
        _unseen,
    ),
    MetricSpec(
        "driftmon_bin_share",
        "gauge",
        _static(
            "Share (0-1) of the side's rows in the bin after smoothing (side: reference, live); "
            "only for monitors with export: {bins: true}"
        ),
        _bin_shares,
    ),
    MetricSpec(
        "driftmon_monitor_up",
        "gauge",
        _static("1 if the last evaluation of the monitor succeeded, else 0"),
        _up,
    ),
    MetricSpec(
        "driftmon_evaluations_total",
        "counter",
        _static("Evaluations attempted since the daemon started"),
        _evaluations,
    ),
    MetricSpec(
        "driftmon_evaluation_failures_total",
        "counter",
        _static("Evaluations that failed (source errors, bad data, timeouts)"),
        _failures,
    ),
    MetricSpec(
        "driftmon_last_evaluation_duration_seconds",
        "gauge",
        _static("How long the last evaluation took, in seconds"),
        _duration,
    ),
    MetricSpec(
        "driftmon_last_success_timestamp_seconds",
        "gauge",
        _static("Unix time the last successful evaluation ended (absent until one succeeded)"),
        _last_success,
    ),
    MetricSpec(
        "driftmon_schedule_interval_seconds",
        "gauge",
        _static("The monitor's schedule period in seconds (cron: the gap between its next two runs)"),
        _interval,
    ),
)


def _reload_successful(snapshot: Snapshot) -> Samples:
    yield {}, float(snapshot.reload_successful)


def _reload_timestamp(snapshot: Snapshot) -> Samples:
    yield {}, snapshot.reload_success_s


def _build_info(snapshot: Snapshot) -> Samples:
    yield {"version": __version__, "python": platform.python_version()}, 1.0


GLOBAL_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "driftmon_config_last_reload_successful",
        "gauge",
        _static("Whether the last configuration reload attempt was successful"),
        _reload_successful,
    ),
    MetricSpec(
        "driftmon_config_last_reload_success_timestamp_seconds",
        "gauge",
        _static("Unix time of the last successful configuration reload (or the start)"),
        _reload_timestamp,
    ),
    MetricSpec(
        "driftmon_build_info",
        "gauge",
        _static("driftmon's version and the Python running it; always 1"),
        _build_info,
    ),
)


# ---------------------------------------------------------------------------
# families


def _family(spec: MetricSpec, help_text: str) -> Metric:
    if spec.kind == "counter":
        return Metric(spec.name.removesuffix("_total"), help_text, "counter")
    return Metric(spec.name, help_text, spec.kind)


def _add(family: Metric, spec: MetricSpec, labels: Labels, value: float) -> None:
    if not math.isnan(value):  # never export NaN
        family.add_sample(spec.name, labels, float(value))


def _monitor_family(spec: MetricSpec, state: MonitorState, help_text: str) -> Metric:
    family = _family(spec, help_text)
    for extra, value in spec.samples(state):
        _add(family, spec, {**state.labels, "monitor": state.name, **extra}, value)
    return family


def _global_family(spec: MetricSpec, snapshot: Snapshot) -> Metric:
    family = _family(spec, spec.help(snapshot))
    for labels, value in spec.samples(snapshot):
        _add(family, spec, labels, value)
    return family


def families(snapshot: Snapshot) -> Iterator[Metric]:
    """Every metric family of ``snapshot`` that has samples, in table order."""
    for spec in MONITOR_METRICS:
        family = _family(spec, spec.help(snapshot))
        for state in snapshot.monitors:
            family.samples.extend(_monitor_family(spec, state, "").samples)
        if family.samples:
            yield family
    for spec in GLOBAL_METRICS:
        yield _global_family(spec, snapshot)


class DriftCollector(Collector):
    """A prometheus_client collector yielding the families of the current snapshot."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        return list(families(self._snapshot()))

    def describe(self) -> Iterable[Metric]:
        return []  # nothing fixed: the families follow the config


def _restricted(items: Iterable[Metric], names: set[str]) -> Iterator[Metric]:
    """Only the samples named in ``names`` (as prometheus_client's ``name[]`` filter)."""
    for family in items:
        kept = [sample for sample in family.samples if sample.name in names]
        if kept:
            copy = Metric(family.name, family.documentation, family.type)
            copy.samples = kept
            yield copy


class _Families(Collector):
    """A collector over families already built (to render one piece)."""

    def __init__(self, *items: Metric) -> None:
        self._items = items

    def collect(self) -> Iterable[Metric]:
        return self._items


# ---------------------------------------------------------------------------
# rendering once per change

Encoder = Callable[[Collector], bytes]
_EOF = b"# EOF\n"
_MAX_FORMATS = 4  # distinct Accept variants kept rendered (text, OpenMetrics, escapings)
# gzip member header (no name, no mtime, unknown OS) and the final empty deflate block.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_DEFLATE_END = b"\x03\x00"


def _sample_lines(family: Metric) -> bytes:
    """The sample lines of one family, without HELP/TYPE/UNIT and the OpenMetrics EOF.

    Written here rather than by prometheus_client's encoders (ten times faster): for metric
    and label names of the legacy character set (all driftmon emits: config.py validates
    label names), without timestamps or exemplars, both its text and OpenMetrics encoders
    write exactly ``name{k="v",...} value`` with sorted labels and escaped values
    (tests/test_exporter.py compares the bytes).
    """
    lines = []
    for sample in family.samples:
        value: str = floatToGoString(sample.value)  # type: ignore[no-untyped-call]
        if sample.labels:
            labels = ",".join(f'{k}="{_escape_label_value(v)}"' for k, v in sorted(sample.labels.items()))
            lines.append(f"{sample.name}{{{labels}}} {value}\n")
        else:
            lines.append(f"{sample.name} {value}\n")
    return "".join(lines).encode("utf-8")


def _escape_label_value(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


class _Piece:
    """Some exposition text and, once asked for, its deflated form.

    Each piece is deflated on its own and ends with a sync flush (byte-aligned, no
    reference to earlier data), so deflated pieces concatenate into one valid deflate
    stream: a change of one monitor re-compresses only that monitor's pieces.
    """

    __slots__ = ("_deflated", "text")

    def __init__(self, text: bytes) -> None:
        self.text = text
        self._deflated: bytes | None = None

    def deflated(self, level: int) -> bytes:
        if self._deflated is None:
            compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
            self._deflated = compressor.compress(self.text) + compressor.flush(zlib.Z_SYNC_FLUSH)
        return self._deflated


@dataclass(slots=True)
class _Rendered:
    """The latest body in one format."""

    version: int
    body: bytes
    gzipped: bytes | None = None


@dataclass(slots=True)
class _Format:
    """Per-format caches: each monitor's pieces per family, the headers, the body."""

    encoder: Encoder
    pieces: dict[str, tuple[MonitorState, dict[str, _Piece]]] = field(default_factory=dict)
    headers: dict[tuple[str, str], _Piece] = field(default_factory=dict)
    rendered: _Rendered | None = None
    wants_gzip: bool = False


class Exposition:
    """Serves the snapshot as Prometheus text or OpenMetrics, rendered once per change.

    A monitor's series are rendered (and deflated, for gzip) when its state changes; the
    body is joined from the pieces once per snapshot version and format. The text is
    byte for byte what prometheus_client renders from :class:`DriftCollector`.
    """

    def __init__(self, snapshot: Callable[[], Snapshot], *, compresslevel: int = 6, background: bool = False) -> None:
        """``background``: the caller keeps the bytes fresh with :meth:`refresh` (from its
        own thread), so a scrape always gets the latest rendered bytes at once and never
        renders (only a format's very first scrape does)."""
        self._background = background
        self._snapshot = snapshot
        self.collector = DriftCollector(snapshot)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)
        self._level = compresslevel
        self._lock = threading.Lock()
        self._formats: dict[str, _Format] = {}

    def render(
        self,
        accept: str | None,
        accept_encoding: str | None = None,
        names: list[str] | None = None,
    ) -> tuple[bytes, list[tuple[str, str]]]:
        """The body and headers for a scrape with these Accept / Accept-Encoding headers.

        ``names`` (the ``name[]`` query parameter) restricts the output to those metrics;
        such a scrape is rendered on the spot.
        """
        encoder, content_type = choose_encoder(accept or "")
        headers = [("Content-Type", content_type)]
        compress = gzip_accepted(accept_encoding or "")
        if compress:
            headers.append(("Content-Encoding", "gzip"))
        if names:
            body = encoder(_Families(*_restricted(families(self._snapshot()), set(names))))
            return (gzip.compress(body, compresslevel=self._level) if compress else body), headers
        rendered = self._current(content_type, encoder, compress, latest=self._background)
        if compress:
            assert rendered.gzipped is not None
            return rendered.gzipped, headers
        return rendered.body, headers

    def refresh(self) -> None:
        """Render the current snapshot in every format scraped so far (call after a
        swap), so the next scrape finds its bytes ready."""
        for content_type, fmt in list(self._formats.items()):
            self._current(content_type, fmt.encoder, fmt.wants_gzip)

    def _current(self, content_type: str, encoder: Encoder, compress: bool, latest: bool = False) -> _Rendered:
        snapshot = self._snapshot()
        fmt = self._formats.get(content_type)
        rendered = fmt.rendered if fmt is not None else None
        if latest and rendered is not None and (not compress or rendered.gzipped is not None):
            return rendered
        if rendered is None or rendered.version != snapshot.version or (compress and rendered.gzipped is None):
            with self._lock:
                rendered = self._render_locked(snapshot, content_type, encoder, compress)
        return rendered

    def _render_locked(self, snapshot: Snapshot, content_type: str, encoder: Encoder, compress: bool) -> _Rendered:
        fmt = self._formats.get(content_type)
        if fmt is None:
            if len(self._formats) >= _MAX_FORMATS:
                self._formats.pop(next(iter(self._formats)))
            fmt = self._formats[content_type] = _Format(encoder)
        fmt.wants_gzip = fmt.wants_gzip or compress
        rendered = fmt.rendered
        fresh = rendered is not None and rendered.version == snapshot.version
        if fresh and rendered is not None and (not compress or rendered.gzipped is not None):
            return rendered
        pieces = self._pieces(snapshot, fmt)
        body = b"".join(piece.text for piece in pieces)
        gzipped = None
        if fmt.wants_gzip:
            trailer = struct.pack("<II", zlib.crc32(body), len(body) & 0xFFFFFFFF)
            deflated = b"".join(piece.deflated(self._level) for piece in pieces)
            gzipped = _GZIP_HEADER + deflated + _DEFLATE_END + trailer
        fmt.rendered = _Rendered(snapshot.version, body, gzipped)
        return fmt.rendered

    def _pieces(self, snapshot: Snapshot, fmt: _Format) -> list[_Piece]:
        """The body of ``snapshot`` as pieces, in the order DriftCollector yields."""
        by_monitor = {state.name: self._monitor_pieces(state, fmt) for state in snapshot.monitors}
        fmt.pieces = {name: fmt.pieces[name] for name in by_monitor}  # forget removed monitors
        pieces: list[_Piece] = []
        for spec in MONITOR_METRICS:
            lines = [by_monitor[s.name][spec.name] for s in snapshot.monitors if spec.name in by_monitor[s.name]]
            if lines:
                pieces.append(self._header(spec, spec.help(snapshot), fmt))
                pieces.extend(lines)
        openmetrics = False
        for spec in GLOBAL_METRICS:
            text = fmt.encoder(_Families(_global_family(spec, snapshot)))
            openmetrics = text.endswith(_EOF)
            pieces.append(_Piece(text.removesuffix(_EOF)))
        if openmetrics:
            pieces.append(_Piece(_EOF))
        return pieces

    def _monitor_pieces(self, state: MonitorState, fmt: _Format) -> dict[str, _Piece]:
        cached = fmt.pieces.get(state.name)
        if cached is not None and cached[0] is state:
            return cached[1]
        lines = {}
        for spec in MONITOR_METRICS:
            family = _monitor_family(spec, state, "")
            if family.samples:
                lines[spec.name] = _Piece(_sample_lines(family))
        fmt.pieces[state.name] = (state, lines)
        return lines

    def _header(self, spec: MetricSpec, help_text: str, fmt: _Format) -> _Piece:
        key = (spec.name, help_text)
        header = fmt.headers.get(key)
        if header is None:
            if len(fmt.headers) > 256:  # HELP texts follow the config; keep the cache small
                fmt.headers.clear()
            header = _Piece(fmt.encoder(_Families(_family(spec, help_text))).removesuffix(_EOF))
            fmt.headers[key] = header
        return header
