"""The config file's schema: pydantic models that validate it, carry the built-in defaults
and produce the JSON Schema (``driftmon schema``) and docs/configuration.md's reference table.

The models are the one source of truth for keys, types, ranges and defaults;
`driftmon.config` merges them (defaults <- monitor <- feature) into the resolved values the
rest of driftmon uses.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from driftmon.divergence import MeasureName, SmoothingMethod
from driftmon.durations import SECOND, YEAR, Duration, bounded
from driftmon.reference import MovingReference, reference_kind, reference_problem
from driftmon.significance import Correction
from driftmon.sources import SOURCE_TYPES

MAX_NAME_CHARS = 200  # a monitor's or feature's name: a label value on every series, a page title


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

    method: SmoothingMethod = Field(
        default="unseen",
        description="unseen: add alpha only on the empty side of a bin that one side never saw "
        "(bins seen on both sides untouched); additive: add alpha to every bin on both sides; "
        "epsilon: raise every proportion below epsilon to epsilon, then renormalise; "
        "none: leave zeros (KL may be +Inf)",
    )
    alpha: float = Field(
        default=0.5,
        gt=0,
        allow_inf_nan=False,
        description="pseudo-count (unseen: on the empty side; additive: per bin)",
    )
    epsilon: float = Field(
        default=1e-6,
        gt=0,
        lt=1,
        description="proportions below this are raised to it, then renormalised (method epsilon)",
    )


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
    """Optional series beyond docs/metrics.md's, off by default (they cost a series per bin)."""

    bins: bool = Field(
        default=False,
        description="export each bin's reference and live share as driftmon_bin_share{feature, bin, side}: "
        "2 series per bin of every feature",
    )


class ShareLimits(_Model):
    """When a data-quality share (missing, out of range, unseen) is at warning / critical:
    its increase over the reference's share (default), or the live share itself (absolute)."""

    warning: float | None = Field(default=0.05, ge=0, le=1, description="share (0-1) at warning; null: never")
    critical: float | None = Field(default=0.2, ge=0, le=1, description="share (0-1) at critical; null: never")
    absolute: bool = Field(
        default=False, description="compare the live share itself, not its increase over the reference's"
    )

    @model_validator(mode="after")
    def _ordered(self) -> ShareLimits:
        if self.warning is not None and self.critical is not None and self.warning > self.critical:
            raise ValueError(f"warning ({self.warning}) must not exceed critical ({self.critical})")
        return self


class Quality(_Model):
    """Data-quality checks per feature, from the counts every evaluation makes (docs/quality.md)."""

    # `schema` would shadow BaseModel.schema: the field is schema_, spelled `schema` in YAML and dumps
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True, serialize_by_alias=True)

    missing: ShareLimits = Field(default_factory=ShareLimits, description="share of rows without a value")
    out_of_range: ShareLimits = Field(
        default_factory=ShareLimits, description="share of values below the lowest or above the highest edge (numeric)"
    )
    unseen: ShareLimits = Field(
        default_factory=ShareLimits, description="share of values of a category the reference never had"
    )
    constant: bool = Field(
        default=True, description="warn when the live column holds one value where the reference held several"
    )
    schema_: SchemaSeverities | None = Field(
        default_factory=lambda: SchemaSeverities(),
        alias="schema",
        description="severity of each schema anomaly between the reference's and the live columns (null: off)",
    )


AnomalySeverity = Literal["ok", "warning", "critical"]


class SchemaSeverities(_Model):
    """The severity of each kind of schema anomaly (ok: reported, never alerting)."""

    missing_column: AnomalySeverity = Field(
        default="critical", description="a feature's column is gone from the live data"
    )
    type_changed: AnomalySeverity = Field(
        default="critical",
        description="a feature's column changed type class (numeric, text, boolean, temporal; integer -> float is "
        "none); a column that is not a feature is at most warning",
    )
    new_column: AnomalySeverity = Field(
        default="ok", description="a live column the reference lacks (ok: reported, not alerting: logs carry ids)"
    )


class Volume(_Model):
    """How many live rows an evaluation expects."""

    min_rows: int | None = Field(default=None, ge=1, description="fewer live rows than this: critical (null: no check)")
    expected: Literal["reference", "previous"] | None = Field(
        default=None,
        description="expected live rows: the reference's rate over the live window (reference), or the same "
        "window one period back (previous); null: no ratio check",
    )
    min_ratio: float | None = Field(
        default=0.5, gt=0, description="fewer than this share of the expected rows: warning (null: no lower bound)"
    )
    max_ratio: float | None = Field(
        default=2.0, gt=0, description="more than this multiple of the expected rows (a file counted twice): warning"
    )
    period: Duration | None = Field(
        default=None, description="expected: previous: how far back (default: the live window's length)"
    )
    reference_span: Duration | None = Field(
        default=None,
        description="expected: reference: the time the reference's rows cover (default: the reference's window)",
    )


class Freshness(_Model):
    """How old the newest live data may be: the newest time in the live window's column, or,
    without a window, the newest live file's modification time."""

    max_age: Duration = Field(description="newest live data older than this: critical (2h, 1d)")


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
    correction: Correction = Field(
        default="fdr", description="multiple-testing correction of the p-values across a monitor's features"
    )
    share_shift: float | None = Field(
        default=0.05,
        gt=0,
        le=1,
        description="a feature whose largest share of rows (a bin, a category, the nulls) moved by at least "
        "this (0-1) is at warning on every measure with a warning threshold, when significant; null: off",
    )
    auto_thresholds: AutoThresholds = Field(
        default_factory=AutoThresholds, description="simulation behind auto thresholds and the noise floor"
    )
    dataset_drift: DatasetDrift | None = Field(
        default=None, description="report dataset drift when this share of features drifted (null: off)"
    )
    export: Export = Field(default_factory=Export, description="optional extra series")
    quality: Quality | None = Field(default_factory=Quality, description="data-quality checks per feature (null: off)")
    volume: Volume = Field(default_factory=Volume, description="live rows expected per evaluation")
    freshness: Freshness | None = Field(default=None, description="how old the newest live data may be (null: off)")
    timeout: Duration | None = Field(
        default=None,
        description="an evaluation running longer fails (default: 80% of the schedule, at most 5m); 1s to 365d",
    )
    jitter: bounded(0, YEAR, "30s") | None = Field(  # type: ignore[valid-type]
        default=None, description="random delay added to each scheduled run; less than the schedule's period"
    )
    reference_refresh: Duration | None = Field(
        default=None,
        description="static reference: re-binned after this long even if its data looks unchanged; rolling: "
        "moves in steps of this (1h: whole hours, 1d: UTC days), re-counted only when it moves "
        "(null: static when its data changes, rolling at every evaluation); docs/references.md",
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

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, description="column name in both sources")
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


def _reference_union() -> Any:
    """A source (tagged by `type:`) or a moving reference (`from: live`, driftmon.reference)."""
    return Annotated[
        Annotated[_source_union(), Tag("source")] | Annotated[MovingReference, Tag("moving")],
        Discriminator(reference_kind),
    ]


ModelLevel = Annotated[float, Field(allow_inf_nan=False)] | Literal["auto"]
Column = Annotated[str, Field(min_length=1)]  # a column's name: never empty


class ModelLevels(_Model):
    """When a model metric is at warning / critical (docs/model.md)."""

    warning: ModelLevel | None = Field(
        default="auto", description="a value, or auto: 3 sd of the reference's metric at the live size"
    )
    critical: ModelLevel | None = Field(
        default="auto", description="a value, or auto: 5 sd of the reference's metric at the live size"
    )
    relative: bool = Field(
        default=False, description="the levels are drops from the reference's value (rises, for losses and errors)"
    )


class Model(_Model):
    """The monitor's model: its outputs and, when labels exist, its target (docs/model.md)."""

    task: Literal["binary", "multiclass", "regression"] = Field(description="what the model predicts")
    prediction: str = Field(min_length=1, description="column of the predicted class (or value, regression)")
    score: Column | dict[str, Column] | None = Field(
        default=None,
        description="binary: column of the positive class's probability; multiclass: class -> probability column",
    )
    target: Column | None = Field(default=None, description="column of the true label, where it is known (null: none)")
    positive: str | int | bool = Field(
        default=1, description="binary: the positive class's value in target and prediction"
    )
    thresholds: dict[str, ModelLevels | None] = Field(
        default_factory=dict, description="metric -> {warning, critical, relative}; every metric is auto by default"
    )
    targets: _source_union() | None = Field(  # type: ignore[valid-type]
        default=None, description="a separate source of late labels (its `target` column), joined to live rows on `key`"
    )
    key: Column | list[Column] | None = Field(default=None, description="column(s) naming a prediction in live and targets")
    label_window: bounded(SECOND, 10 * YEAR, "7d") | None = Field(  # type: ignore[valid-type]
        default=None, description="how long labels may take: an unlabelled row older than this is overdue (needs times)"
    )
    label_time: Column | None = Field(
        default=None, description="targets: column of the label's time (default: the targets' window column)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Model:
        from driftmon.labels import check_config
        from driftmon.performance import metrics_of

        check_config(self)

        if self.task == "multiclass" and isinstance(self.score, str):
            raise ValueError("a multiclass model's score is a mapping class -> probability column")
        if self.task == "binary" and isinstance(self.score, dict):
            raise ValueError("a binary model's score is the one column of the positive class's probability")
        if self.task == "regression" and self.score is not None:
            raise ValueError("a regression model has no score column")
        if isinstance(self.score, dict) and len(self.score) < 2:
            raise ValueError("a multiclass model needs at least two classes in score")
        if isinstance(self.score, dict) and len(set(self.score.values())) < len(self.score):
            shared = sorted({c for c in self.score.values() if list(self.score.values()).count(c) > 1})
            raise ValueError(f"each class needs its own probability column in score; {shared[0]!r} is given twice")
        known = metrics_of(self.task)
        unknown = sorted(set(self.thresholds) - set(known))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a metric of a {self.task} model ({', '.join(known)})")
        return self


class Multivariate(_Model):
    """Joint drift over row samples of both sides (docs/multivariate.md)."""

    methods: list[Literal["reconstruction", "classifier"]] = Field(
        default=["reconstruction"],
        min_length=1,
        description="reconstruction (PCA error) and/or classifier (domain AUC)",
    )
    features: list[Column] | None = Field(default=None, description="columns to look at together (default: the features)")
    sample: int = Field(default=5_000, ge=100, le=1_000_000, description="rows sampled per side (uniform, seeded)")
    seed: int = Field(default=0, ge=0, description="seed of the samples, folds and permutations")

    @field_validator("features")
    @classmethod
    def _once_each(cls, features: list[str] | None) -> list[str] | None:
        twice = sorted({name for name in features or [] if features and features.count(name) > 1})
        if twice:
            raise ValueError(f"{twice[0]!r} is listed twice; list each feature once")
        return features


# Series bounds of segments (docs/segments.md): at most MAX_SEGMENT_TOP segment values, and
# at most MAX_SEGMENT_PAIRS segment x feature pairs, __other__ and __missing__ included.
MAX_SEGMENT_TOP = 100
MAX_SEGMENT_PAIRS = 2_000


class Segments(_Model):
    """Evaluate the monitor per segment value too (docs/segments.md)."""

    by: list[Column] = Field(
        min_length=1, max_length=4, description="columns whose values (joined by /) name a row's segment"
    )
    top: int = Field(
        default=10, ge=1, le=MAX_SEGMENT_TOP, description="the most frequent reference values kept; the rest: __other__"
    )


class Monitor(Settings):
    """One monitor: a reference, a live source, features, and settings."""

    name: str = Field(pattern=r"^[a-zA-Z0-9_.-]+$", max_length=MAX_NAME_CHARS, description="unique; [a-zA-Z0-9_.-]+")
    labels: dict[str, str] = Field(default_factory=dict, description="constant labels added to this monitor's series")
    reference: _reference_union() = Field(  # type: ignore[valid-type]
        description="the expected distribution: a source, or {from: live, window|seasonal: ...} (docs/references.md)"
    )
    live: _source_union() = Field(description="the data production sees now")  # type: ignore[valid-type]
    features: list[Feature] = Field(min_length=1, description="features to compare")
    model: Model | None = Field(default=None, description="the model whose performance to follow (null: none)")
    multivariate: Multivariate | None = Field(default=None, description="joint drift of the features (null: off)")
    segments: Segments | None = Field(default=None, description="evaluate per segment value too (null: off)")

    @field_validator("labels")
    @classmethod
    def _label_names(cls, labels: dict[str, str]) -> dict[str, str]:
        reserved = {"monitor", "feature", "measure", "severity", "side", "job", "instance", "le", "quantile"}
        reserved |= {"bin", "check", "direction", "metric", "kind", "bound", "segment", "method", "anomaly", "column"}
        reserved |= {"state"}
        for name in labels:
            if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name) or name.startswith("__"):
                raise ValueError(f"label name {name!r} is not a valid Prometheus label name")
            if name in reserved:
                raise ValueError(f"label name {name!r} is reserved by driftmon or Prometheus")
        return labels

    @model_validator(mode="after")
    def _reference_follows_live(self) -> Monitor:
        problem = reference_problem(self.reference, self.live)
        if problem is not None:
            raise ValueError(problem)
        return self

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


def all_keys() -> list[str]:
    keys: set[str] = set()
    models: list[type[BaseModel]] = [ConfigFile, Monitor, Settings, Feature, Binning, Smoothing, Levels, Cron]
    models += [AutoThresholds, DatasetDrift, MovingReference]
    models += [source.Config for source in SOURCE_TYPES.values()]
    for model in models:
        keys.update(field.alias or name for name, field in model.model_fields.items())
    return sorted(keys)
