"""The config file: YAML, ``${VAR}``, defaults, validation; nothing else knows YAML.

The pydantic models below are the one source of truth: they validate the file, carry the
built-in defaults, produce the JSON Schema (``driftmon schema``) and docs/configuration.md's
reference table (``driftmon schema --markdown``).

Inheritance: built-in defaults <- ``defaults:`` <- the monitor <- the feature. Nested
settings (``binning``, ``smoothing``, ``thresholds``) are merged key by key, so a monitor
that sets ``thresholds: {js: {critical: 0.2}}`` keeps the default JS warning level; a
threshold set to ``null`` removes it.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from driftmon import redact
from driftmon.config_schema import (
    MAX_NAME_CHARS,  # noqa: F401  (config.MAX_NAME_CHARS: the limit, where the schema is used)
    ConfigFile,
    Cron,
    Feature,
    Freshness,
    Levels,
    Model,
    Monitor,
    Multivariate,
    Quality,
    Segments,
    Settings,
    Volume,
    _Model,
    all_keys,
    json_schema,
)
from driftmon.config_yaml import parse_file, report, substitute
from driftmon.divergence import Smoothing as SmoothingRule
from driftmon.durations import format_duration, parse_duration
from driftmon.errors import ConfigError
from driftmon.files import read_text
from driftmon.histogram import BinningRule
from driftmon.noise import NullSettings
from driftmon.problems import Problem, explain
from driftmon.quality import Limits

# ---------------------------------------------------------------------------
# the resolved config that the rest of driftmon uses


@dataclass(frozen=True, slots=True)
class Schedule:
    """Every ``interval_s`` seconds, or a crontab (UTC)."""

    interval_s: float | None = None
    cron: str | None = None


@dataclass(frozen=True, slots=True)
class DatasetDriftRule:
    """Dataset drift: at least ``share`` of the judged features at ``severity`` or worse."""

    share: float
    severity: str  # warning | critical


ThresholdLevel = float | Literal["auto"] | None


@dataclass(frozen=True, slots=True)
class QualityRule:
    """The data-quality checks of a monitor: limits per share check, and the constant check."""

    limits: Mapping[str, Limits]  # missing, out_of_range, unseen
    constant: bool = True
    schema: Mapping[str, str] | None = None  # anomaly kind -> severity (driftmon.schema); None: off


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    name: str
    rule: BinningRule
    thresholds: Mapping[str, tuple[ThresholdLevel, ThresholdLevel]]  # measure -> (warning, critical)
    role: str = "input"  # or "model_output": a model's prediction or score, scored for prediction drift


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    name: str
    labels: Mapping[str, str]
    reference: Any  # a source config model (see driftmon.sources)
    live: Any
    features: tuple[FeatureConfig, ...]
    schedule: Schedule
    measures: tuple[str, ...]
    log_base: float
    smoothing: SmoothingRule
    min_samples: int
    timeout_s: float | None
    jitter_s: float | None
    base_dir: Path
    significance: float | None = 0.01  # None: no significance gate
    correction: str = "fdr"
    share_shift: float | None = 0.05  # a share moved this much (0-1) reaches warning; None: off
    null: NullSettings = field(default_factory=NullSettings)  # auto thresholds and noise floor
    dataset_drift: DatasetDriftRule | None = None
    export_bins: bool = False  # driftmon_bin_share series
    quality: QualityRule | None = None  # data-quality checks; None: off
    min_rows: int | None = None  # volume: fewer live rows is critical
    volume: Volume | None = None  # volume expectations beyond min_rows (driftmon.feed)
    freshness: Freshness | None = None  # how old the newest live data may be (driftmon.feed)
    model: Model | None = None  # the model's columns and thresholds (driftmon.model)
    multivariate: Multivariate | None = None  # joint drift (driftmon.joint)
    segments: Segments | None = None  # per segment value too (driftmon.segments)
    reference_refresh_s: float | None = None  # re-bin / re-count the reference at most this often

    def __hash__(self) -> int:
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        # Compared on reload: a monitor is "unchanged" when everything resolved is equal.
        if not isinstance(other, MonitorConfig):
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self.__slots__)


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    monitors: tuple[MonitorConfig, ...]

    def monitor(self, name: str) -> MonitorConfig:
        for monitor in self.monitors:
            if monitor.name == name:
                return monitor
        known = ", ".join(m.name for m in self.monitors)
        raise ConfigError(f"{self.path}: no monitor named {name!r} (monitors: {known})")


# ---------------------------------------------------------------------------
# loading


def load(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> Config:
    """Read, substitute, validate and resolve a config file, or raise one ConfigError listing every problem."""
    file = Path(path)
    try:
        text = read_text(file, "config file")
    except ValueError as error:
        raise ConfigError(f"{file}: {error}") from None
    return loads(text, file, os.environ if environ is None else environ)


def loads(text: str, file: Path, environ: Mapping[str, str]) -> Config:
    """Like :func:`load`, for text already read (``file`` names it in messages and anchors paths).

    Every problem is found in one pass: ``${VAR}`` references, duplicate names, each value
    (pydantic), then what only the merge of defaults, monitor and feature reveals, for
    every monitor whose own values are fine.
    """
    raw = parse_file(text, file)
    problems = list(substitute(raw, (), environ))
    redact.harvest(raw, file.parent)  # passwords written in the file, and password_file contents
    unset = [path for path, _ in problems]
    problems += _duplicate_names(raw)
    try:
        parsed = ConfigFile.model_validate(raw)
        defaults_given: Settings | None = parsed.defaults
        valid = list(enumerate(parsed.monitors))
    except ValidationError as error:
        found = problems_of(error, raw)
        problems += [(p, m) for p, m in found if not any(p[: len(u)] == u for u in unset)]
        defaults_given = _valid_defaults(raw.get("defaults", {}), problems)
        monitors_raw = raw.get("monitors")
        candidates = enumerate(monitors_raw) if isinstance(monitors_raw, list) else iter(())
        valid = [(i, m) for i, item in candidates if (m := _valid(Monitor, item)) is not None]
    resolved = []
    if defaults_given is not None:  # cross-checks against broken defaults would only add noise
        defaults: Settings = _overlay(Settings(), defaults_given)  # type: ignore[assignment]
        for index, monitor in valid:
            found = []
            resolved.append(_resolve(defaults, monitor, file.parent.resolve(), found))
            problems += [(("monitors", index, *path), message) for path, message in found]
    if problems:
        raise ConfigError(report(file, text, raw, problems))
    return Config(file, tuple(resolved))


# Defaults the checks after merging depend on: while one of them is wrong, those checks would
# report the consequences of its replacement (the built-in default), not the user's mistakes.
_CROSS_CHECKED = frozenset({"measures", "thresholds", "schedule", "jitter"})


def _valid_defaults(given: Any, problems: Sequence[Problem]) -> Settings | None:
    """The ``defaults:`` without its wrong keys, for checking the monitors; None if that would mislead."""
    if not isinstance(given, dict):
        return None
    paths = [path[1:] for path, _ in problems if len(path) > 1 and path[0] == "defaults"]
    kept = {k: v for k, v in given.items() if k not in {path[0] for path in paths}}
    levels = {path[1] for path in paths if path[0] == "thresholds" and len(path) > 1}
    if isinstance(given.get("thresholds"), dict) and all(len(p) > 1 for p in paths if p[0] == "thresholds"):
        # A wrong level of one measure: that measure inherits nothing, the others still do.
        kept["thresholds"] = {m: None if m in levels else lv for m, lv in given["thresholds"].items()}
    if set(given) - set(kept) & _CROSS_CHECKED:
        return None
    result: Settings | None = _valid(Settings, kept)
    return result


def _valid(model: type[_Model], value: Any) -> Any:
    """``value`` as ``model``, or None if it is not valid (its problems are reported elsewhere)."""
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _resolve(defaults: Settings, monitor: Monitor, base_dir: Path, problems: list[Problem]) -> MonitorConfig:
    """The monitor with everything inherited; what only the merge reveals is appended to ``problems``
    (paths relative to the monitor) and the result is then not to be used."""
    settings: Settings = _overlay(defaults, monitor)  # type: ignore[assignment]
    measures = tuple(settings.measures)
    own = monitor.thresholds if "thresholds" in monitor.model_fields_set else {}
    problems += _threshold_problems(("thresholds",), own, dict(settings.thresholds), measures)
    features = []
    outputs = _model_outputs(monitor)
    for index, feature in enumerate([*monitor.features, *outputs]):
        binning = settings.binning
        if feature.binning is not None:
            binning = _overlay(binning, feature.binning)  # type: ignore[assignment]
        if feature.max_categories is not None:
            binning = binning.model_copy(update={"max_categories": feature.max_categories})
        thresholds: dict[str, Any] = {str(m): levels for m, levels in settings.thresholds.items()}
        if feature.thresholds is not None:
            thresholds = _overlay_dict(thresholds, {str(m): levels for m, levels in feature.thresholds.items()})
            where = ("features", index, "thresholds")
            problems += _threshold_problems(where, feature.thresholds, thresholds, measures)
        rule = BinningRule(
            name=feature.name,
            kind=feature.kind,
            strategy=binning.strategy,
            bins=binning.bins,
            edges=tuple(binning.edges) if binning.edges is not None else None,
            max_categories=binning.max_categories,
        )
        feature_levels: dict[str, tuple[float | Literal["auto"] | None, float | Literal["auto"] | None]] = {
            m: (lv.warning, lv.critical)
            for m, lv in thresholds.items()
            if lv is not None and m in measures and (lv.warning is not None or lv.critical is not None)
        }
        role = "model_output" if index >= len(monitor.features) else "input"
        features.append(FeatureConfig(feature.name, rule, feature_levels, role))
    schedule = (
        Schedule(cron=settings.schedule.cron)
        if isinstance(settings.schedule, Cron)
        else Schedule(interval_s=parse_duration(settings.schedule))
    )
    jitter_s = parse_duration(settings.jitter) if settings.jitter else None
    if jitter_s:
        problems += _jitter_problems(jitter_s, settings.jitter or "", schedule)
    from driftmon.feed import feed_problems  # volume.expected needs windows: named at load

    problems += feed_problems(settings.volume, monitor.reference, monitor.live)
    if monitor.segments is not None:
        from driftmon.performance import metrics_of
        from driftmon.segments import series_problems

        model_metrics = len(metrics_of(monitor.model.task)) if monitor.model is not None else 0
        problems += series_problems(monitor.segments, len(features), model_metrics)
    smoothing = SmoothingRule(settings.smoothing.method, settings.smoothing.alpha, settings.smoothing.epsilon)
    return MonitorConfig(
        name=monitor.name,
        labels=dict(monitor.labels),
        reference=monitor.reference,
        live=monitor.live,
        features=tuple(features),
        schedule=schedule,
        measures=measures,
        log_base=math.e if settings.log_base == "e" else float(settings.log_base),
        smoothing=smoothing,
        min_samples=settings.min_samples,
        timeout_s=parse_duration(settings.timeout) if settings.timeout else None,
        jitter_s=jitter_s,
        base_dir=base_dir,
        significance=settings.significance,
        correction=settings.correction,
        share_shift=settings.share_shift,
        null=NullSettings(
            draws=settings.auto_thresholds.draws,
            seed=settings.auto_thresholds.seed,
            quantiles=(settings.auto_thresholds.warning_quantile, settings.auto_thresholds.critical_quantile),
        ),
        dataset_drift=(
            DatasetDriftRule(settings.dataset_drift.share, settings.dataset_drift.severity)
            if settings.dataset_drift is not None
            else None
        ),
        export_bins=settings.export.bins,
        quality=_quality_rule(settings.quality),
        min_rows=settings.volume.min_rows,
        volume=settings.volume,
        freshness=settings.freshness,
        model=monitor.model,
        multivariate=monitor.multivariate,
        segments=monitor.segments,
        reference_refresh_s=parse_duration(settings.reference_refresh) if settings.reference_refresh else None,
    )


def _model_outputs(monitor: Monitor) -> list[Feature]:
    """The model's prediction and score columns not already among the features: they are
    scored too (prediction drift), classes as categories and scores as numbers."""
    model = monitor.model
    if model is None:
        return []
    named = {feature.name for feature in monitor.features}
    kind: Literal["numeric", "categorical"] = "numeric" if model.task == "regression" else "categorical"
    columns = [(model.prediction, kind)]
    scores = [model.score] if isinstance(model.score, str) else list((model.score or {}).values())
    columns += [(column, "numeric") for column in scores]
    return [Feature(name=column, kind=kind_of) for column, kind_of in columns if column not in named]


def _quality_rule(settings: Quality | None) -> QualityRule | None:
    if settings is None:
        return None
    limits = {
        check: Limits(warning=given.warning, critical=given.critical, absolute=given.absolute)
        for check, given in (
            ("missing", settings.missing),
            ("out_of_range", settings.out_of_range),
            ("unseen", settings.unseen),
        )
    }
    schema = None if settings.schema_ is None else settings.schema_.model_dump()
    return QualityRule(limits=limits, constant=settings.constant, schema=schema)


def _jitter_problems(jitter_s: float, text: str, schedule: Schedule) -> list[Problem]:
    """A jitter must be shorter than the schedule's period, or runs would pile up."""
    from driftmon.schedule import check_cron

    period = schedule.interval_s if schedule.cron is None else check_cron(schedule.cron)
    if period is not None and jitter_s >= period:
        message = f"jitter {text!r} must be shorter than the schedule's period ({format_duration(period)})"
        return [(("jitter",), message)]
    return []


def _threshold_problems(
    where: tuple[str | int, ...], own: Mapping[Any, Levels | None], merged: Mapping[Any, Any], measures: Sequence[str]
) -> list[Problem]:
    """The thresholds a monitor or feature sets itself: of a measure it computes, and, once merged
    with what it inherits, warning at most critical (``{critical: 0.01}`` under a 0.05 warning)."""
    problems: list[Problem] = []
    for measure, levels in own.items():
        if levels is None:
            continue
        if measure not in measures:
            problems.append(((*where, measure), f"{measure} is not among this monitor's measures {list(measures)}"))
            continue
        combined = merged.get(measure)
        warning, critical = (combined.warning, combined.critical) if combined is not None else (None, None)
        if isinstance(warning, float | int) and isinstance(critical, float | int) and warning > critical:
            inherited = "warning" if "warning" not in levels.model_fields_set else "critical"
            problems.append(
                (
                    (*where, measure),
                    f"warning ({warning:g}) must not exceed critical ({critical:g}); "
                    f"the {inherited} level is inherited",
                )
            )
    return problems


def _overlay(base: BaseModel, top: BaseModel) -> BaseModel:
    """``base`` with every field ``top`` sets explicitly; nested models and dicts merge."""
    update: dict[str, Any] = {}
    for name in top.model_fields_set:
        if name not in type(base).model_fields:
            continue
        value, below = getattr(top, name), getattr(base, name)
        if isinstance(value, BaseModel) and type(value) is type(below):
            value = _overlay(below, value)
        elif isinstance(value, dict) and isinstance(below, dict) and name == "thresholds":
            value = _overlay_dict(below, value)
        update[name] = value
    return base.model_copy(update=update)


def _overlay_dict(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, BaseModel) and isinstance(merged.get(key), BaseModel):
            merged[key] = _overlay(merged[key], value)
        else:
            merged[key] = value
    return merged


def _duplicate_names(raw: dict[str, Any]) -> Iterator[Problem]:
    monitors = raw.get("monitors")
    if not isinstance(monitors, list):
        return
    seen: dict[str, int] = {}
    for index, monitor in enumerate(monitors):
        name = monitor.get("name") if isinstance(monitor, dict) else None
        if isinstance(name, str):
            if name in seen:
                yield ("monitors", index, "name"), f"duplicate monitor name {name!r} (also monitors[{seen[name]}])"
            seen.setdefault(name, index)


def problems_of(error: ValidationError, raw: Any) -> list[Problem]:
    """A validation error of the whole file as problems in the user's words (driftmon.problems)."""
    return explain(error, raw, _schema(), all_keys())


@functools.cache
def _schema() -> dict[str, Any]:
    return json_schema()  # read only: built once per process, on the first error
