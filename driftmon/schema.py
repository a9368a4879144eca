"""Schema anomalies: the live side's columns against the reference's, before anything is counted.

Each source tells its columns and their types from metadata or a first block at most
(:meth:`~driftmon.sources.base.Source.columns`; None where it cannot tell, a Prometheus
source). Three kinds of anomaly, each at its configured severity (``quality.schema``):

- ``missing_column``: a feature the live data has no column for (in any of its files, or in
  some of them: the files are named);
- ``type_changed``: a column whose type class changed (numeric, text, boolean, temporal;
  integer -> float is not a change). A column that is not a feature is at most warning;
- ``new_column``: a live column the reference lacks (only when the reference lists all of
  its columns: a histogram file keeps only its features).

A feature whose column is gone or changed type is not counted (counting it would fail or
count nonsense): its result says why and it is not judged, while every other feature is
scored as usual. A column that is no feature but that the model (its target, label keys and
time) or joint drift (a ``multivariate:`` column) reads from the live rows is compared as a
feature is (:func:`readers`): gone or retyped, its anomaly says who reads it, at the
feature's severity, and that part is not evaluated until it is fixed. The monitor is never
taken down by an anomaly.

Pure apart from asking the two sources for their columns; severities are "ok", "warning",
"critical".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from driftmon.errors import EmptyWindow
from driftmon.histogram import Histogram, empty
from driftmon.sources.base import Columns

if TYPE_CHECKING:
    from driftmon.config import MonitorConfig
    from driftmon.evaluate import FeatureResult
    from driftmon.histogram import BinSpec
    from driftmon.sources import Source
    from driftmon.sources.file_cache import FileCounts

__all__ = [
    "KINDS",
    "Anomaly",
    "SchemaResult",
    "anomalies",
    "column_class",
    "count_live",
    "lacks",
    "mark",
    "readers",
]

OK, WARNING, CRITICAL = "ok", "warning", "critical"
_ORDER = {OK: 0, WARNING: 1, CRITICAL: 2}
AnomalyKind = Literal["new_column", "missing_column", "type_changed"]
KINDS: tuple[AnomalyKind, ...] = ("missing_column", "type_changed", "new_column")
ColumnClass = Literal["numeric", "text", "boolean", "temporal", "other"]
DEFAULT_SEVERITY: Mapping[str, str] = {"missing_column": CRITICAL, "type_changed": CRITICAL, "new_column": OK}
SHOWN = 50  # anomalies listed by name; past this many, a count (a wide table renamed whole)


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A schema change between the reference's columns and the live ones, at its severity."""

    anomaly: AnomalyKind
    column: str
    detail: str
    severity: str = WARNING
    feature: bool = False  # the column is a monitored feature, or read by the model or joint drift


@dataclass(frozen=True, slots=True)
class SchemaResult:
    """The schema anomalies of one evaluation; ``skipped``: features not counted, and why."""

    anomalies: tuple[Anomaly, ...] = ()
    skipped: Mapping[str, str] = field(default_factory=dict)

    @property
    def worst(self) -> str:
        return max((a.severity for a in self.anomalies), key=_ORDER.__getitem__, default=OK)

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.worst,
            "anomalies": [
                {"anomaly": a.anomaly, "column": a.column, "severity": a.severity, "detail": a.detail}
                for a in self.anomalies
            ],
        }

    def findings(self) -> list[str]:
        """One line per anomaly (at most SHOWN, then a count), for `check` and the pages."""
        lines = [f"schema: {a.anomaly} {a.column!r}: {a.detail} ({a.severity})" for a in self.anomalies[:SHOWN]]
        if len(self.anomalies) > SHOWN:
            lines.append(f"schema: and {len(self.anomalies) - SHOWN} more anomalies (see the JSON)")
        return lines


def column_class(type_name: str) -> ColumnClass:
    """The class of a column type for schema comparison (integer and float are both numeric).

    ``type_name`` is an Arrow, numpy, pandas or SQL type name, case-insensitive."""
    name = type_name.lower()
    if name.startswith(
        ("list", "large_list", "fixed_size_list", "struct", "map", "array", "dense_union", "sparse_union")
    ):
        return "other"  # nested: list<element: int64> holds no number per row
    if name.startswith("bool"):
        return "boolean"
    if any(word in name for word in ("timestamp", "date", "time", "interval", "duration")):
        return "temporal"
    if any(word in name for word in ("int", "float", "double", "decimal", "numeric", "real", "number", "halffloat")):
        return "numeric"
    if any(word in name for word in ("string", "utf8", "text", "char", "object", "str", "category", "dictionary")):
        return "text"
    return "other"


def _classes(kinds: Sequence[str]) -> list[ColumnClass]:
    return list(dict.fromkeys(column_class(kind) for kind in kinds))


def anomalies(
    reference: Columns,
    live: Columns,
    features: Sequence[str],
    severity: Mapping[str, str] = DEFAULT_SEVERITY,
    ignore: Sequence[str] = (),
) -> list[Anomaly]:
    """Anomalies between two sides' columns: features first (in order), then by column name.
    ``ignore``: columns that are never new (the live window's column, say)."""
    found: list[Anomaly] = []
    wanted = set(features)
    for name in features:
        if name not in live.types:
            found.append(Anomaly("missing_column", name, "the live data has no such column", "", True))
        elif name in live.lacking:
            count, first = live.lacking[name]
            detail = f"{count} of {live.files} live files lack the column (first: {first})"
            found.append(Anomaly("missing_column", name, detail, "", True))
    if reference.complete:
        for name in sorted(live.types.keys() - reference.types.keys() - set(ignore)):
            kinds = ", ".join(live.types[name]) or "type unknown"
            found.append(Anomaly("new_column", name, f"not in the reference ({kinds})", ""))
    shared = [name for name in features if name in reference.types and name in live.types]
    shared += sorted((reference.types.keys() & live.types.keys()) - wanted)
    for name in shared:
        before, after = _classes(reference.types[name]), _classes(live.types[name])
        changed = [kind for kind in live.types[name] if before and column_class(kind) not in before]
        if not before or not after or not changed:
            continue  # a side that cannot tell the type: nothing to compare
        where = live.where.get((name, changed[0]), "")
        seen = f" (first in {where})" if where and live.files > 1 else ""
        was = ", ".join(f"{kind} ({column_class(kind)})" for kind in reference.types[name])
        detail = f"was {was}, is {changed[0]} ({column_class(changed[0])}){seen}"
        found.append(Anomaly("type_changed", name, detail, "", name in wanted))
    return [_at(anomaly, severity) for anomaly in found]


def _at(anomaly: Anomaly, severity: Mapping[str, str]) -> Anomaly:
    level = severity.get(anomaly.anomaly, DEFAULT_SEVERITY[anomaly.anomaly])
    if anomaly.anomaly == "type_changed" and not anomaly.feature and level == CRITICAL:
        level = WARNING  # a column driftmon does not score cannot break a score
    return replace(anomaly, severity=level)


MODEL, JOINT = "model", "joint drift"


def readers(monitor: MonitorConfig) -> dict[str, list[str]]:
    """The live columns the model and joint drift read as rows: ``{"model": [...], "joint drift": [...]}``
    (the model's prediction and scores, features too; its target and time unless the labels
    come from ``targets:``, else the keys; the ``multivariate:`` columns, else the input features)."""
    found: dict[str, list[str]] = {}
    model = monitor.model
    if model is not None:
        scores = [model.score] if isinstance(model.score, str) else list((model.score or {}).values())
        own = [model.target, model.label_time] if model.targets is None else []
        keys = [model.key] if isinstance(model.key, str) else list(model.key or [])
        found[MODEL] = list(dict.fromkeys(c for c in [model.prediction, *scores, *own, *keys] if c))
    if monitor.multivariate is not None:
        inputs = [f.name for f in monitor.features if f.role == "input"]
        found[JOINT] = list(monitor.multivariate.features or inputs)
    return found


def _read_by(monitor: MonitorConfig) -> dict[str, str]:
    """Each column the model or joint drift reads -> who reads it (``the model (its target)``, ``joint drift``)."""
    model = monitor.model
    roles: dict[str | None, str] = {}
    if model is not None:
        keys = [model.key] if isinstance(model.key, str) else list(model.key or [])
        scores = [model.score] if isinstance(model.score, str) else list((model.score or {}).values())
        roles = {model.prediction: "prediction", **dict.fromkeys(scores, "score")}
        roles.update({model.target: "target", model.label_time: "label_time"})
        roles.update(dict.fromkeys(keys, "key"))
    who: dict[str, list[str]] = {}
    for reader, columns in readers(monitor).items():
        for column in columns:
            who.setdefault(column, []).append(f"the model (its {roles[column]})" if reader == MODEL else reader)
    return {column: ", ".join(names) for column, names in who.items()}


def check(monitor: MonitorConfig, reference_source: Source, live_source: Source) -> SchemaResult | None:
    """The schema anomalies of ``monitor`` now; None when off or the live source cannot tell."""
    severity = monitor.quality.schema if monitor.quality is not None else None
    if severity is None:
        return None
    live = live_source.columns()
    if live is None:
        return None
    features = [feature.name for feature in monitor.features]
    read_by = _read_by(monitor)
    wanted = list(dict.fromkeys(features + list(read_by)))
    reference = reference_source.columns() or Columns(dict.fromkeys(wanted, ()), complete=False)
    ignore = [window.column for window in (live_source.window, reference_source.window) if window is not None]
    found = [
        replace(a, detail=f"{a.detail}; not evaluated: {read_by[a.column]}")
        if a.column in read_by and a.feature and a.anomaly in ("missing_column", "type_changed")
        else a
        for a in anomalies(reference, live, wanted, severity, ignore)
    ]
    skipped = {
        a.column: f"{a.anomaly}: {a.detail}"
        for a in found
        if a.feature and a.anomaly in ("missing_column", "type_changed")
    }
    return SchemaResult(tuple(found), skipped)


def count_live(
    monitor: MonitorConfig,
    reference: Mapping[str, Histogram],
    reference_source: Source,
    live_source: Source,
    cache: FileCounts | None,
) -> tuple[dict[str, Histogram], SchemaResult | None]:
    """The live histograms of the features whose columns are usable (the others empty), and
    the schema anomalies found first."""
    result = check(monitor, reference_source, live_source)
    skipped = result.skipped if result is not None else {}
    specs: dict[str, BinSpec] = {name: hist.spec for name, hist in reference.items() if name not in skipped}
    try:
        live = live_source.count(specs, cache=cache) if specs else {}
    except EmptyWindow:
        if monitor.quality is None:
            raise
        live = {}  # an empty live window: a volume finding (driftmon.feed), every feature not judged
    return {name: live[name] if name in live else empty(reference[name].spec) for name in reference}, result


def lacks(result: SchemaResult | None, columns: Sequence[str]) -> bool:
    """Whether any of ``columns`` was not counted for a schema anomaly (what reads them whole,
    the model and joint drift, then waits for it to be fixed instead of failing)."""
    return result is not None and any(column in result.skipped for column in columns)


def mark(features: Sequence[FeatureResult], result: SchemaResult | None) -> tuple[FeatureResult, ...]:
    """The features not counted for a schema anomaly, with it as their reason and no
    data-quality checks (their empty counts say nothing about the data)."""
    if result is None or not result.skipped:
        return tuple(features)
    return tuple(
        replace(f, reason=result.skipped[f.feature], quality=None, sufficient=False)
        if f.feature in result.skipped
        else f
        for f in features
    )
