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
import itertools
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from driftmon import redact
from driftmon.divergence import Smoothing as SmoothingRule
from driftmon.durations import YEAR, Duration, bounded, format_duration, parse_duration
from driftmon.errors import ConfigError, plural
from driftmon.files import read_text
from driftmon.histogram import BinningRule
from driftmon.problems import Problem, explain, shown
from driftmon.significance import NullSettings
from driftmon.sources import SOURCE_TYPES

MeasureName = Literal["kl", "kl_reverse", "js", "psi", "hellinger", "tvd"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Model(BaseModel):
    # defer_build (here and on the sources' models): pydantic compiles the validator once,
    # for the whole file, at the first validation, instead of once per model at import.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Cron(_Model):
    """A cron schedule, evaluated in UTC."""

    cron: str = Field(description='five-field crontab, e.g. "*/5 * * * *" (UTC)', examples=["*/5 * * * *"])

    @field_validator("cron")
    @classmethod
    def _parse(cls, value: str) -> str:
        from driftmon.schedule import check_cron  # the daemon's own parser: validate == run

        check_cron(value)
        return value


class Smoothing(_Model):
    """How bins that one side never saw are made finite (docs/statistics.md, Measures)."""

    method: Literal["unseen", "additive", "epsilon", "none"] = Field(
        default="unseen",
        description="unseen: add alpha only on the empty side of a bin that one side never saw "
        "(bins seen on both sides untouched); additive: add alpha to every bin on both sides; "
        "epsilon: floor zero proportions at epsilon; none: leave zeros (KL may be +Inf)",
    )
    alpha: float = Field(
        default=0.5,
        gt=0,
        allow_inf_nan=False,
        description="pseudo-count (unseen: on the empty side; additive: per bin)",
    )
    epsilon: float = Field(default=1e-6, gt=0, lt=1, description="floor for zero proportions (epsilon)")


class Binning(_Model):
    """How a feature's bins are derived from the reference."""

    strategy: Literal["quantile", "uniform"] = Field(
        default="quantile", description="numeric edges at reference quantiles or evenly spaced"
    )
    bins: int = Field(
        default=10,
        ge=2,
        le=10_000,
        description="numeric bins; a reference with at most this many distinct values gets one bin per value, "
        "and a value holding >= 1/bins of it gets a bin of its own",
    )
    edges: list[float] | None = Field(
        default=None, description="explicit numeric interior edges, strictly increasing (wins over strategy)"
    )
    max_categories: int = Field(
        default=50, ge=1, le=100_000, description="categorical: most frequent reference values kept as bins"
    )

    @field_validator("edges")
    @classmethod
    def _increasing(cls, edges: list[float] | None) -> list[float] | None:
        if edges is None:
            return None
        if len(edges) < 2:
            raise ValueError("edges must list at least two numbers (one interior bin)")
        if not all(math.isfinite(e) for e in edges):
            raise ValueError("edges must be finite numbers")
        if any(b <= a for a, b in itertools.pairwise(edges)):
            raise ValueError(f"edges must be strictly increasing, got {edges}")
        return edges


Level = Annotated[float, Field(ge=0, allow_inf_nan=False)] | Literal["auto"]


class Levels(_Model):
    """Score levels at which a feature is at warning / critical for one measure.

    ``auto``: the score that pure noise reaches with probability 1 - the quantile of
    ``auto_thresholds``, simulated at each evaluation's sample sizes (docs/statistics.md, How driftmon
    decides).
    """

    warning: Level | None = Field(default=None, description="a score >= 0, or auto")
    critical: Level | None = Field(default=None, description="a score >= 0, or auto")

    @model_validator(mode="after")
    def _ordered(self) -> Levels:
        if (
            isinstance(self.warning, float | int)
            and isinstance(self.critical, float | int)
            and self.warning > self.critical
        ):
            raise ValueError(f"warning ({self.warning}) must not exceed critical ({self.critical})")
        return self


Thresholds = dict[MeasureName, Levels | None]

# Chosen from benchmarks/shifts/ (docs/statistics.md, "How driftmon decides"): with the significance gate
# keeping noise out, these flag a 50 % -> 60 % binary feature or a 0.25 sigma mean shift
# (warning), a new category or 5 % new nulls (critical), and stay quiet on a 0.02 sigma shift
# even over millions of rows.
DEFAULT_THRESHOLDS: dict[MeasureName, Levels | None] = {
    "js": Levels(warning=0.004, critical=0.02),
    "psi": Levels(warning=0.02, critical=0.1),
}


class AutoThresholds(_Model):
    """How ``auto`` thresholds and the noise floor are simulated (docs/statistics.md, How driftmon decides)."""

    warning_quantile: float = Field(
        default=0.95, gt=0, lt=1, description="an auto warning is the score noise exceeds with probability 1 - this"
    )
    critical_quantile: float = Field(
        default=0.99, gt=0, lt=1, description="an auto critical is the score noise exceeds with probability 1 - this"
    )
    draws: int = Field(
        default=1000, ge=100, le=100_000, description="simulated histogram pairs per feature and sample size"
    )
    seed: int = Field(default=0, ge=0, description="seed of the simulation (results are reproducible)")

    @model_validator(mode="after")
    def _ordered(self) -> AutoThresholds:
        if self.warning_quantile > self.critical_quantile:
            raise ValueError(
                f"warning_quantile ({self.warning_quantile}) must not exceed "
                f"critical_quantile ({self.critical_quantile})"
            )
        return self


class DatasetDrift(_Model):
    """When the monitor as a whole counts as drifted: a share of its features drifted."""

    share: float = Field(gt=0, le=1, description="dataset drift when at least this share of judged features drifted")
    severity: Literal["warning", "critical"] = Field(
        default="critical", description="the severity at which a feature counts as drifted"
    )


class Export(_Model):
    """Optional series beyond SPEC §7's, off by default (they cost a series per bin)."""

    bins: bool = Field(
        default=False,
        description="export each bin's reference and live share as driftmon_bin_share{feature, bin, side}: "
        "2 series per bin of every feature",
    )


class Settings(_Model):
    """Settings a monitor inherits from ``defaults`` and may override."""

    schedule: Duration | Cron = Field(
        default="5m",
        description='how often to evaluate: a duration (30s, 5m, 1h; 1s to 365d) or {cron: "*/5 * * * *"}',
    )
    measures: list[MeasureName] = Field(default=["kl", "js", "psi"], min_length=1, description="measures to compute")
    log_base: Literal[2, 10, "e"] = Field(default=2, description="log base of kl, kl_reverse and js (2: bits)")
    smoothing: Smoothing = Field(default_factory=Smoothing, description="how unseen bins are made finite")
    binning: Binning = Field(default_factory=Binning, description="how bins are derived from the reference")
    min_samples: int = Field(default=100, ge=0, description="fewer live rows with a value: insufficient_data, no alert")
    thresholds: Thresholds = Field(
        default_factory=lambda: dict(DEFAULT_THRESHOLDS),
        description="per measure {warning, critical}; null removes an inherited threshold",
    )
    significance: float | None = Field(
        default=0.01,
        gt=0,
        lt=1,
        description="a threshold alerts only if the feature's corrected p-value is at most this; null: no test",
    )
    correction: Literal["holm", "bonferroni", "fdr", "none"] = Field(
        default="holm", description="multiple-testing correction of the p-values across a monitor's features"
    )
    auto_thresholds: AutoThresholds = Field(
        default_factory=AutoThresholds, description="simulation behind auto thresholds and the noise floor"
    )
    dataset_drift: DatasetDrift | None = Field(
        default=None, description="report dataset drift when this share of features drifted (null: off)"
    )
    export: Export = Field(default_factory=Export, description="optional extra series")
    timeout: Duration | None = Field(
        default=None,
        description="an evaluation running longer fails (default: 80% of the schedule, at most 5m); 1s to 365d",
    )
    jitter: bounded(0, YEAR, "30s") | None = Field(  # type: ignore[valid-type]
        default=None, description="random delay added to each scheduled run; less than the schedule's period"
    )

    @field_validator("measures")
    @classmethod
    def _unique(cls, measures: list[str]) -> list[str]:
        duplicates = sorted({m for m in measures if measures.count(m) > 1})
        if duplicates:
            raise ValueError(f"measures listed twice: {', '.join(duplicates)}")
        return measures


class Feature(_Model):
    """One feature (a column); a bare string is shorthand for ``{name: ...}``."""

    name: str = Field(min_length=1, description="column name in both sources")
    kind: Literal["numeric", "categorical"] | None = Field(
        default=None, description="inferred from the reference column's type when not given"
    )
    binning: Binning | None = Field(default=None, description="overrides the monitor's binning")
    max_categories: int | None = Field(default=None, ge=1, description="shorthand for binning.max_categories")
    thresholds: Thresholds | None = Field(default=None, description="overrides the monitor's thresholds")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


def _source_union() -> Any:
    models = tuple(source.Config for source in SOURCE_TYPES.values())
    union: Any = models[0]
    for model in models[1:]:
        union = union | model
    return Annotated[union, Field(discriminator="type")]


class Monitor(Settings):
    """One monitor: a reference, a live source, features, and settings."""

    name: str = Field(pattern=r"^[a-zA-Z0-9_.-]+$", description="unique; [a-zA-Z0-9_.-]+")
    labels: dict[str, str] = Field(default_factory=dict, description="constant labels added to this monitor's series")
    reference: _source_union() = Field(description="the expected distribution")  # type: ignore[valid-type]
    live: _source_union() = Field(description="the data production sees now")  # type: ignore[valid-type]
    features: list[Feature] = Field(min_length=1, description="features to compare")

    @field_validator("labels")
    @classmethod
    def _label_names(cls, labels: dict[str, str]) -> dict[str, str]:
        reserved = {"monitor", "feature", "measure", "severity", "side", "job", "instance", "le", "quantile"}
        for name in labels:
            if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name) or name.startswith("__"):
                raise ValueError(f"label name {name!r} is not a valid Prometheus label name")
            if name in reserved:
                raise ValueError(f"label name {name!r} is reserved by driftmon or Prometheus")
        return labels

    @field_validator("features")
    @classmethod
    def _unique_features(cls, features: list[Feature]) -> list[Feature]:
        names = [f.name for f in features]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"features listed twice: {', '.join(duplicates)}")
        return features


class ConfigFile(_Model):
    """The whole config file."""

    defaults: Settings = Field(default_factory=Settings, description="inherited by every monitor")
    monitors: list[Monitor] = Field(min_length=1, description="the monitors")


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
class FeatureConfig:
    name: str
    rule: BinningRule
    thresholds: Mapping[str, tuple[ThresholdLevel, ThresholdLevel]]  # measure -> (warning, critical)


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
    correction: str = "holm"
    null: NullSettings = field(default_factory=NullSettings)  # auto thresholds and noise floor
    dataset_drift: DatasetDriftRule | None = None
    export_bins: bool = False  # driftmon_bin_share series

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
    raw = _parse(text, file)
    problems = list(_substitute(raw, (), environ))
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
        raise ConfigError(_report(file, text, raw, problems))
    return Config(file, tuple(resolved))


def _parse(text: str, file: Path) -> dict[str, Any]:
    """The YAML document as a mapping, or a ConfigError at the line and column of the fault."""
    try:
        raw = parse_yaml(text)
    except yaml.MarkedYAMLError as error:
        raise ConfigError(_yaml_message(error, file)) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{file}: invalid YAML: {error}") from None
    except Exception:
        # PyYAML's own converters fail with plain exceptions on a tag the safe loader knows
        # but whose value it cannot convert: `!!float path`, `!!timestamp yesterday`.
        raise ConfigError(  # not the library's message: it quotes the value, which may be a secret
            f"{file}: invalid YAML: a tagged value (!!float, !!int...) cannot be read; remove the tag or fix the value"
        ) from None
    if raw is None:
        raise ConfigError(f"{file}: the config file is empty; it needs at least `monitors:`")
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{file}: the top level must be a mapping with `monitors:` (and `defaults:`), not {shown(raw)}"
        )
    return raw


def _yaml_message(error: yaml.MarkedYAMLError, file: Path) -> str:
    """``file:line:column: invalid YAML: what``, in words for the usual slips (tabs, open quotes)."""
    mark = error.problem_mark or error.context_mark
    where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else str(file)
    problem = str(error.problem or error.context)
    context = str(error.context or "")
    start = error.context_mark
    if "'\\t'" in problem:
        problem = "a tab character; YAML indents with spaces only"
    elif "quoted scalar" in context and start is not None:
        where = f"{file}:{start.line + 1}:{start.column + 1}"
        problem = "a quoted string that is never closed (add the closing quote)"
    elif problem.startswith("found character") or problem.startswith("expected"):
        problem = f"{problem} ({context})" if context else problem
    return f"{where}: invalid YAML: {problem}"


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


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the config file (for editors' YAML language servers)."""
    schema = ConfigFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "driftmon config"
    schema["description"] = "driftmon's config file (generated by `driftmon schema`; docs/configuration.md)"
    definitions = schema.get("$defs", {})
    # Defaults made by factories (nested settings) are shown too: editors display them.
    built_in = Settings().model_dump(mode="json")
    for model in ("Settings", "Monitor"):
        for name, field_schema in definitions[model]["properties"].items():
            if "default" not in field_schema and name in built_in:
                field_schema["default"] = built_in[name]
    definitions["Monitor"]["properties"]["labels"]["default"] = {}
    schema["properties"]["defaults"]["default"] = {}
    for definition in definitions.values():
        kind = definition.get("properties", {}).get("type", {})
        if "const" in kind and "description" not in kind:  # each source type's tag
            kind["description"] = f"source type {kind['const']}"
    # Keys whose models (owned by their source modules) carry no description, for editors' tooltips.
    for model, key, text in (
        ("HistogramSourceConfig", "path", "the histogram file (driftmon profile writes one), relative to this file"),
        ("BasicAuth", "username", "the user name"),
    ):
        definitions.get(model, {}).get("properties", {}).get(key, {}).setdefault("description", text)
    # Shorthands the validators accept that pydantic cannot see.
    features = definitions["Monitor"]["properties"]["features"]
    features["items"] = {"anyOf": [{"type": "string", "examples": ["age"]}, {"$ref": "#/$defs/Feature"}]}
    return schema


def _resolve(defaults: Settings, monitor: Monitor, base_dir: Path, problems: list[Problem]) -> MonitorConfig:
    """The monitor with everything inherited; what only the merge reveals is appended to ``problems``
    (paths relative to the monitor) and the result is then not to be used."""
    settings: Settings = _overlay(defaults, monitor)  # type: ignore[assignment]
    measures = tuple(settings.measures)
    own = monitor.thresholds if "thresholds" in monitor.model_fields_set else {}
    problems += _threshold_problems(("thresholds",), own, dict(settings.thresholds), measures)
    features = []
    for index, feature in enumerate(monitor.features):
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
        features.append(FeatureConfig(feature.name, rule, feature_levels))
    schedule = (
        Schedule(cron=settings.schedule.cron)
        if isinstance(settings.schedule, Cron)
        else Schedule(interval_s=parse_duration(settings.schedule))
    )
    jitter_s = parse_duration(settings.jitter) if settings.jitter else None
    if jitter_s:
        problems += _jitter_problems(jitter_s, settings.jitter or "", schedule)
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
    )


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


# ---------------------------------------------------------------------------
# YAML, ${VAR} and error reports


# Limits on what a config file may make the loader build (hostile or broken files): a
# real config nests about 6 levels deep; anchors are for sharing a source block or a few
# settings, not for multiplying the document (a 300-byte "billion laughs" expands to 10^9
# values and would keep `check` busy for minutes).
MAX_DEPTH = 64
MAX_ALIAS_VALUES = 100_000


def parse_yaml(text: str) -> Any:
    """YAML text as Python values, with the limits every file driftmon reads gets.

    Refuses duplicate keys, deep nesting and alias bombs (yaml.YAMLError); PyYAML's
    converters may still raise plain exceptions for tags whose value they cannot convert.
    """
    return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, nesting deeper than MAX_DEPTH, anchors that
    refer to themselves and aliases adding more than MAX_ALIAS_VALUES values."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep; a config needs far fewer", mark
                )
            node: yaml.Node | None = super().compose_node(parent, index)
            return node
        finally:
            self._depth -= 1

    def get_single_node(self) -> yaml.Node | None:
        node: yaml.Node | None = super().get_single_node()
        if node is not None:
            _check_expansion(node)
        return node


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph that aliases expand beyond MAX_ALIAS_VALUES extra values, or that
    contains itself (a recursive anchor): counted once per distinct node, never expanded."""
    sizes: dict[int, int] = {}
    distinct = 0
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:  # iterative: no recursion limit to hit
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            visiting.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] - distinct > MAX_ALIAS_VALUES:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"aliases (*name) expand the document by more than {MAX_ALIAS_VALUES:,} values; "
                    "use anchors to share a block, not to multiply it",
                    node.start_mark,
                )
            continue
        if key in sizes:
            continue
        if key in visiting:
            raise yaml.composer.ComposerError(
                None, None, "an alias refers to the block that contains it (a recursive anchor)", node.start_mark
            )
        visiting.add(key)
        distinct += 1
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, list | dict):  # unhashable: PyYAML would fail with a Python TypeError
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "a key must be text, not a list or mapping",
                key_node.start_mark,
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _substitute(node: Any, path: tuple[str | int, ...], environ: Mapping[str, str]) -> Iterator[Problem]:
    """Replace ``${NAME}`` in every string in place; yield a problem per unset variable."""
    items: Sequence[tuple[Any, Any]]
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return
    for key, value in items:
        if isinstance(value, str):
            unset = [name for name in _VAR.findall(value) if name not in environ]
            if "${" in _VAR.sub("", value):
                yield (*path, key), f"{shown(value)} has a ${{ that is not a variable reference like ${{NAME}}"
            elif unset:
                yield (*path, key), f"environment variable {unset[0]} is not set (used as ${{{unset[0]}}})"
            else:
                used = _VAR.findall(value)
                redact.remember(environ[name] for name in used)  # ${VAR} values never leave the process
                node[key] = _VAR.sub(lambda m: environ[m.group(1)], value)
        else:
            yield from _substitute(value, (*path, key), environ)


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
    return explain(error, raw, _schema(), _all_keys())


@functools.cache
def _schema() -> dict[str, Any]:
    return json_schema()  # read only: built once per process, on the first error


def _all_keys() -> list[str]:
    keys: set[str] = set()
    models: list[type[BaseModel]] = [ConfigFile, Monitor, Settings, Feature, Binning, Smoothing, Levels, Cron]
    models += [AutoThresholds, DatasetDrift]
    models += [source.Config for source in SOURCE_TYPES.values()]
    for model in models:
        keys.update(model.model_fields)
    return sorted(keys)


def format_path(path: Sequence[str | int]) -> str:
    """``("monitors", 2, "features", 0)`` -> ``monitors[2].features[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _report(file: Path, text: str, raw: Any, problems: Sequence[Problem]) -> str:
    """One line per problem, sorted by line: ``file:line: key.path (monitor NAME): what is wrong``."""
    try:
        root = yaml.compose(text, Loader=_StrictLoader)
    except yaml.YAMLError:
        root = None
    names = _monitor_names(raw)
    lines = []
    for path, message in dict.fromkeys(problems):
        position = _position_of(root, path) or (0, 0)
        where = f"{file}:{position[0]}" if position[0] else str(file)
        name = names.get(path[1]) if len(path) > 1 and path[0] == "monitors" and isinstance(path[1], int) else None
        monitor = f" (monitor {name})" if name is not None else ""
        lines.append((position, f"  {where}: {format_path(path)}{monitor}: {message}"))
    lines.sort(key=lambda pair: pair[0])  # in the file's order; stable for problems at one place
    header = f"{file}: {plural(len(lines), 'problem')} in the config:"
    return "\n".join([header, *(text for _, text in lines)])


def _monitor_names(raw: Any) -> dict[int, str]:
    """Index -> name of each monitor whose name is unique and well-formed, to name it in messages."""
    monitors = raw.get("monitors") if isinstance(raw, dict) else None
    if not isinstance(monitors, list):
        return {}
    names = {i: m["name"] for i, m in enumerate(monitors) if isinstance(m, dict) and isinstance(m.get("name"), str)}
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return {i: name for i, name in names.items() if counts[name] == 1 and re.fullmatch(r"[a-zA-Z0-9_.-]+", name)}


def _position_of(node: Any, path: Sequence[str | int]) -> tuple[int, int] | None:
    """1-based (line, column) of the deepest node on ``path`` in the YAML tree (of its key in a mapping)."""
    position = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if pair is None:
                break
            mark = pair[0].start_mark
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            mark = node.start_mark
        else:
            break
        position = (mark.line + 1, mark.column + 1)
    return position
