"""Is the model still right? One monitor's model, once: realized and estimated performance.

A monitor with ``model:`` names its model's columns: the prediction, the score
(probabilities) and the target where labels are known. At each evaluation:

- the reference rows (all labelled) give the reference performance, the calibration of
  the scores (`driftmon.estimation`) and the spread of each metric over chunks of the live
  window's size;
- the live rows give the **estimated** performance (every live row, from its calibrated
  score: what the model scores if the reference's relation of scores to labels holds) and,
  over the rows whose target is known, the **realized** performance;
- each metric of each kind gets a severity against its thresholds: ``auto`` is 3 (warning)
  and 5 (critical) standard deviations of the reference's metric at the live size, on the
  bad side of the reference's value; numbers are absolute values, or drops from the
  reference's value with ``relative: true`` (rises, for losses and errors).

Labels: a binary target or prediction equal to ``positive`` is the positive class, any
other value the negative one; a multiclass label outside the score's classes is counted
(``unknown_labels``) and left out of the realized metrics, never guessed.

Reads the columns from sources that hand out rows (files); the reference's calibration is
cached per reference fingerprint. Knows nothing of Prometheus.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from driftmon import estimation, labels, performance
from driftmon.config_schema import Model
from driftmon.durations import parse_duration
from driftmon.errors import DataError, DriftmonError
from driftmon.performance import LOWER_IS_BETTER, Performance, metrics_of
from driftmon.sources import open_source
from driftmon.sources.base import Source
from driftmon.sources.label_rows import matching_labels
from driftmon.sources.rows import read_columns

if TYPE_CHECKING:
    from driftmon.sources.file_cache import FileCounts

__all__ = ["ModelResult", "ReferenceModel", "evaluate_model", "reference_model"]

Floats = npt.NDArray[np.float64]
OK, WARNING, CRITICAL, INSUFFICIENT = "ok", "warning", "critical", "insufficient_data"
AUTO_SIGMAS = (3.0, 5.0)  # warning, critical


@dataclass(frozen=True, slots=True)
class _Rows:
    """A side's model columns, encoded: truth (soft 0/1 or one-hot; NaN row: no label),
    the prediction, the scores (or None)."""

    truth: Floats  # binary: (n,), multiclass: (n, k), regression: (n,) targets
    predicted: npt.NDArray[Any]
    scores: Floats | None
    labelled: npt.NDArray[np.bool_]
    unknown_labels: int = 0

    def __len__(self) -> int:
        return len(self.predicted)


@dataclass(frozen=True, slots=True)
class ReferenceModel:
    """What the reference gives: its encoded rows, performance and the score calibration."""

    rows: _Rows
    performance: Performance
    calibration: estimation.Calibration | None
    label_values: npt.NDArray[Any] | None = None  # binary: the label values the reference holds
    # live size -> the reference's spread at that size (seeded: the same at every evaluation)
    spreads: dict[int, estimation.Spread] = field(default_factory=dict)

    def spread(self, model: Model, size: int) -> estimation.Spread:
        """The reference's metrics' spread over chunks of ``size`` rows, kept for the last few
        live sizes (a daemon's window often keeps its size)."""
        known = self.spreads.get(size)
        if known is not None:
            return known
        rows, labelled_index = self.rows, np.flatnonzero(self.rows.labelled)
        found = estimation.spread(
            lambda chunk: _performance(model, rows, labelled_index[chunk]), len(labelled_index), size
        )
        with _cache_lock:
            while len(self.spreads) >= _SPREADS_KEPT:
                self.spreads.pop(next(iter(self.spreads)))
            self.spreads[size] = found
        return found


@dataclass(frozen=True, slots=True)
class ModelResult:
    """The model part of one evaluation."""

    task: str
    reference_rows: int
    live_rows: int
    labelled_rows: int
    reference: Performance
    estimated: Performance | None
    realized: Performance | None
    thresholds: Mapping[str, tuple[float | None, float | None]]  # metric -> (warning, critical)
    bands: Mapping[str, tuple[float, float]]  # metric -> estimate's (lower, upper)
    severity: Mapping[str, Mapping[str, str]]  # kind -> metric -> ok | warning | critical | insufficient_data
    unknown_labels: int = 0
    notes: tuple[str, ...] = field(default=())
    realized_absent: str | None = None  # why there is no realized performance
    label_counts: Mapping[str, int] = field(default_factory=dict)  # live rows / label keys per state (driftmon.labels)
    label_delay_seconds: float | None = None  # the newest label's lag behind its prediction
    labels_error: str | None = None  # the targets source failed (the estimate goes on)
    separate_labels: bool = False  # the labels come from a targets: source

    @property
    def worst(self) -> str:
        order = {OK: 0, INSUFFICIENT: 1, WARNING: 2, CRITICAL: 3}
        found = [level for by_metric in self.severity.values() for level in by_metric.values()]
        return max(found, key=order.__getitem__, default=OK)

    @property
    def coverage(self) -> float | None:
        return self.labelled_rows / self.live_rows if self.live_rows else None


def _read(source: Source, columns: Sequence[str], cache: FileCounts | None = None) -> dict[str, npt.NDArray[Any]]:
    return read_columns(source, columns, cache)


def _present(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    return ~np.isnan(values) if values.dtype.kind == "f" else labels.present(values)


def _is_positive(values: npt.NDArray[Any], positive: str | int | bool) -> npt.NDArray[np.bool_]:
    if values.dtype.kind in "biu" and not isinstance(positive, str) and float(positive).is_integer():
        return np.asarray(values == int(positive))  # integers compared as integers: no float copy
    if values.dtype.kind in "biuf" and not isinstance(positive, str):
        return np.asarray(np.asarray(values, dtype=np.float64) == float(positive), dtype=np.bool_)
    return np.array([str(v) == str(positive) for v in values], dtype=bool)


def _numbers(values: npt.NDArray[Any], column: str, what: str, where: str) -> Floats:
    """``values`` as floats (missing as NaN), or a DataError naming the column when it holds text."""
    if values.dtype.kind in "biuf":
        return np.asarray(values, dtype=np.float64)
    try:
        return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        sample = next((v for v in values if not isinstance(v, int | float) and v is not None), None)
        raise DataError(f"{where}: {what} column {column!r} holds text ({sample!r}), not numbers") from None


def _scores(model: Model, data: Mapping[str, npt.NDArray[Any]], where: str) -> Floats | None:
    if model.score is None:
        return None
    columns = [model.score] if isinstance(model.score, str) else list(model.score.values())
    matrix = np.column_stack([_numbers(data[c], c, "score", where) for c in columns])
    for index, column in enumerate(columns):
        try:
            performance.check_probabilities(matrix[:, index], column)
        except DataError as error:
            raise DataError(f"{where}: {error}") from None
    if isinstance(model.score, dict):
        try:
            performance.check_distributions(matrix, columns)
        except DataError as error:
            raise DataError(f"{where}: {error}") from None
        return matrix
    return matrix[:, 0]


def _columns(model: Model) -> list[str]:
    names = [model.prediction]
    if isinstance(model.score, str):
        names.append(model.score)
    elif isinstance(model.score, dict):
        names += list(model.score.values())
    if model.target is not None:
        names.append(model.target)
    return list(dict.fromkeys(names))


def _encode(
    model: Model, data: Mapping[str, npt.NDArray[Any]], where: str, known: npt.NDArray[Any] | None = None
) -> _Rows:
    """The side's columns as model rows (see `_Rows`); binary labels outside ``known`` (the
    reference's label values) are counted in ``unknown_labels`` and left out."""
    predicted_raw = data[model.prediction]
    target = data[model.target] if model.target is not None else np.full(len(predicted_raw), np.nan)
    labelled = _present(target)
    scores = _scores(model, data, where)
    if model.task == "regression":
        predicted = _numbers(predicted_raw, model.prediction, "prediction", where)
        truth = _numbers(target, model.target or "", "target", where)
        labelled &= np.isfinite(truth)
        if not np.isfinite(predicted).all():
            raise DataError(f"{where}: prediction column {model.prediction!r} has missing or infinite values")
        return _Rows(truth, predicted, None, labelled)
    if model.task == "binary":
        unknown_labels = 0
        if known is not None:
            outside = labelled & ~labels.isin(target, known)
            unknown_labels = int(outside.sum())
            labelled &= ~outside
        truth = np.where(labelled, _is_positive(target, model.positive), np.nan).astype(np.float64, copy=False)
        return _Rows(truth, _is_positive(predicted_raw, model.positive), scores, labelled, unknown_labels)
    classes = list(model.score) if isinstance(model.score, dict) else []
    codes = _class_codes(predicted_raw, classes)
    if (codes < 0).any():
        unknown = sorted({labels.text(v) for v in predicted_raw[codes < 0][:1000]})[:5]
        raise DataError(f"{where}: prediction column {model.prediction!r} holds classes not in score: {unknown}")
    label_codes = np.where(labelled, _class_codes(target, classes), -1)
    unknown_labels = int((labelled & (label_codes < 0)).sum())
    labelled &= label_codes >= 0
    truth = np.zeros((len(codes), len(classes)))
    truth[labelled, label_codes[labelled]] = 1.0
    return _Rows(truth, codes, scores, labelled, unknown_labels)


_COMPARED_CLASSES = 16  # up to this many classes, text rows are compared with each class in numpy


def _class_codes(values: npt.NDArray[Any], classes: Sequence[str]) -> npt.NDArray[np.intp]:
    """Each value's index in ``classes`` (compared as text, ``1.0`` as ``"1"``), -1 for any other
    value or none. Text is first compared with each class in numpy (a few ms per class and
    million rows; coding every row by a hash table in Python cost 0.1 s); only the rows left
    (no value, numbers, other classes) are coded by `_coded_by_value`."""
    if values.dtype.kind != "O" or not 0 < len(classes) <= _COMPARED_CLASSES:
        return _coded_by_value(values, classes)
    found = np.full(len(values), -1, dtype=np.intp)
    try:
        for index, name in enumerate(classes):  # the class names are distinct: one match per row
            found[np.asarray(values == name, dtype=bool)] = index
    except (TypeError, ValueError):  # a value that does not compare (pandas.NA): the general way
        return _coded_by_value(values, classes)
    rest = np.flatnonzero(found < 0)
    rest = rest[np.not_equal(values[rest], None)]  # type: ignore[call-overload]  # None is no class (NaN and the like: below)
    if rest.size:
        found[rest] = _coded_by_value(values[rest], classes)
    return found


def _coded_by_value(values: npt.NDArray[Any], classes: Sequence[str]) -> npt.NDArray[np.intp]:
    """`_class_codes` by one lookup per distinct value (`labels.factorize`), not per row."""
    codes, uniques = labels.factorize(values)
    index = {name: i for i, name in enumerate(classes)}
    lookup = np.array([index.get(labels.text(value), -1) for value in uniques] + [-1], dtype=np.intp)
    return lookup[codes]  # the sentinel -1 (no value) takes the last entry, -1


def _performance(
    model: Model,
    rows: _Rows,
    select: npt.NDArray[Any] | None = None,
    presorted: bool = False,
    orders: Sequence[npt.NDArray[np.intp]] | None = None,
) -> Performance:
    """Realized metrics of ``rows`` (its labelled ones, or the given subset of them);
    ``presorted``: ``rows`` are in ascending score order (binary), which spares a sort;
    ``orders`` (multiclass, labelled rows only): each class's ascending score order of all
    ``rows``, which spares a sort per class."""
    chosen = np.flatnonzero(rows.labelled) if select is None else select
    scores = None if rows.scores is None else rows.scores[chosen]
    if model.task == "regression":
        return performance.regression(rows.truth[chosen], rows.predicted[chosen])
    if model.task == "binary":
        # ascending indices keep the rows' order
        return performance.binary(rows.truth[chosen], rows.predicted[chosen], scores, presorted=presorted)
    if orders is not None and select is None:  # each order of all rows, as positions among the labelled
        position = np.cumsum(rows.labelled) - 1
        orders = [position[order[rows.labelled[order]]] for order in orders]
    else:
        orders = None
    classes = list(model.score or {})
    return performance.multiclass(rows.truth[chosen], rows.predicted[chosen], scores, classes, orders)


def _reordered(rows: _Rows, order: npt.NDArray[np.intp]) -> _Rows:
    """``rows`` in the given order (every metric is a sum over rows: only the sorting is spared)."""
    scores = None if rows.scores is None else rows.scores[order]
    return replace(
        rows, truth=rows.truth[order], predicted=rows.predicted[order], scores=scores, labelled=rows.labelled[order]
    )


_cache: dict[tuple[str, str, str], ReferenceModel] = {}
_SPREADS_KEPT = 4
_cache_lock = threading.Lock()


def reference_model(name: str, model: Model, source: Source) -> ReferenceModel:
    """The reference side of monitor ``name``'s model, cached while the source is unchanged."""
    key = (name, source.fingerprint(), model.model_dump_json())
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    result = reference_of(model, _read(source, _columns(model)), source.describe())
    with _cache_lock:
        for stale in [k for k in _cache if k[0] == name]:
            del _cache[stale]
        _cache[key] = result
    return result


def reference_of(model: Model, data: Mapping[str, npt.NDArray[Any]], where: str) -> ReferenceModel:
    """The reference side from its model columns ``data`` (also of a subset of its rows: driftmon.segment_model)."""
    rows = _encode(model, data, f"{where} (reference)")
    if model.target is None or not rows.labelled.any():
        raise DataError(f"{where}: model: the reference needs labels (a target column with values)")
    calibration = None
    if rows.scores is not None and model.task != "regression":
        labelled = np.flatnonzero(rows.labelled)
        truth = rows.truth[labelled] if model.task == "multiclass" else rows.truth[labelled][:, None]
        scores = rows.scores[labelled] if model.task == "multiclass" else rows.scores[labelled][:, None]
        calibration = estimation.calibrate(truth, scores)
    known = None
    if model.task == "binary":
        target = data[model.target]
        known = labels.distinct(target[labels.present(target)])
    return ReferenceModel(rows, _performance(model, rows), calibration, known)


def _levels(
    model: Model, metric: str, reference: float | None, sigma: float | None
) -> tuple[float | None, float | None]:
    """(warning, critical) of ``metric`` as values of the metric."""
    if metric in model.thresholds and model.thresholds[metric] is None:
        return None, None  # null: the metric is not judged
    given = model.thresholds.get(metric)
    worse = 1.0 if metric in LOWER_IS_BETTER else -1.0
    levels: list[float | None] = []
    for index, level in enumerate(("auto", "auto") if given is None else (given.warning, given.critical)):
        if level is None or reference is None:
            levels.append(None)
        elif level == "auto":
            levels.append(None if sigma is None else reference + worse * AUTO_SIGMAS[index] * sigma)
        elif given is not None and given.relative:
            levels.append(reference + worse * float(level))
        else:
            levels.append(float(level))
    return levels[0], levels[1]


def _judge(metric: str, value: float | None, levels: tuple[float | None, float | None]) -> str:
    if value is None:
        return INSUFFICIENT
    worse: Callable[[float, float], bool] = (
        (lambda v, level: v >= level) if metric in LOWER_IS_BETTER else (lambda v, level: v <= level)
    )
    warning, critical = levels
    if critical is not None and worse(value, critical):
        return CRITICAL
    if warning is not None and worse(value, warning):
        return WARNING
    return OK


def _times(values: npt.NDArray[Any]) -> npt.NDArray[np.int64]:
    """Timestamps as int64 ns since the epoch (NaT: int64 min, as `epoch_ns`); numpy datetimes
    (naive: UTC) without pandas."""
    if values.dtype.kind == "M":
        return np.asarray(values.astype("datetime64[ns]").view(np.int64))
    import pandas as pd

    from driftmon.sources.base import epoch_ns

    return np.asarray(epoch_ns(pd.Series(values)), dtype=np.int64)


def _label_time(model: Model, source: Source) -> str | None:
    return model.label_time or (source.window.column if source.window is not None else None)


def _live(
    model: Model, source: Source, extra: Sequence[str] = (), cache: FileCounts | None = None
) -> tuple[dict[str, npt.NDArray[Any]], labels.Labels]:
    """The live side's model columns (and the ``extra`` columns, read with them), its target joined
    from ``targets:`` when the labels come separately, and the account of its labels (`driftmon.labels`);
    ``cache``: the daemon's live-file cache (the live and targets files' columns kept per file; the
    join, the window and the label states are made anew at each evaluation)."""
    keys = labels.keys_of(model)
    own = [c for c in _columns(model) if c != model.target or model.targets is None]
    time = source.window.column if source.window is not None else None
    label_time = _label_time(model, source) if model.targets is None else None
    data = _read(source, list(dict.fromkeys(own + keys + [c for c in (time, label_time) if c] + list(extra))), cache)
    rows = len(data[model.prediction])
    live_times = _times(data[time]) if time else None
    now_ns = int(source.now.timestamp() * 1e9)
    window = None if model.label_window is None else parse_duration(model.label_window)
    if model.targets is None:
        target = data.get(model.target or "", np.full(rows, np.nan))
        present = labels.present(target)
        label_times = _times(data[label_time]) if label_time else None
        counts, delay = labels.account(present, live_times, label_times, now_ns, window)
        return data, labels.Labels(target, counts, delay)
    targets = open_source(model.targets, source.base_dir, now=source.now)
    target_time = _label_time(model, targets)
    pushed = None
    try:
        wanted = list(dict.fromkeys([*keys, model.target or "", *([target_time] if target_time else [])]))
        pushed = matching_labels(source, targets, keys, model.target or "", wanted)  # one database: a semi-join
        found = pushed.columns if pushed is not None else _read(targets, wanted, cache)
    except DriftmonError as error:
        joined = labels.absent(rows, str(error))
    else:
        joined = labels.join(
            [data[k] for k in keys],
            [found[k] for k in keys],
            found[model.target or ""],
            live_times=live_times,
            label_times=_times(found[target_time]) if target_time else None,
            now_ns=now_ns,
            label_window_s=window,
        )
        if pushed is not None:  # the label keys left in the engine
            counts = {
                **joined.counts,
                "unmatched_labels": pushed.unmatched_labels,
                "unkeyed_labels": pushed.unkeyed_labels,
            }
            joined = replace(joined, counts=counts)
    data[model.target or ""] = joined.values
    return data, joined


def evaluate_model(
    name: str,
    model: Model,
    reference_source: Source,
    live_source: Source,
    min_samples: int,
    live_files: FileCounts | None = None,
) -> ModelResult:
    """The model part of one evaluation of monitor ``name``; ``live_files``: the daemon's live-file cache."""
    reference = reference_model(name, model, reference_source)
    data, joined = _live(model, live_source, cache=live_files)
    return judge(model, reference, data, joined, live_source.describe(), min_samples)


def judge(
    model: Model,
    reference: ReferenceModel,
    data: Mapping[str, npt.NDArray[Any]],
    joined: labels.Labels,
    where: str,
    min_samples: int,
) -> ModelResult:
    """The model part from the live side's columns ``data`` and labels ``joined`` (also of a subset of its rows)."""
    live = _encode(model, data, where, reference.label_values)
    ref_rows = reference.rows
    spread = reference.spread(model, max(1, len(live)))
    estimated = None
    notes = []
    # binary: the live rows are sorted by score once, for the estimate and the realized metrics
    presorted, orders = False, None
    if model.task == "binary" and live.scores is not None:
        live, presorted = _reordered(live, np.argsort(live.scores)), True
    elif model.task == "multiclass" and live.scores is not None:  # each class's order, for both kinds
        orders = [np.argsort(live.scores[:, k]) for k in range(live.scores.shape[1])]
    if reference.calibration is not None and live.scores is not None and len(live):
        classes = list(model.score) if isinstance(model.score, dict) else None
        estimated = estimation.estimate(
            reference.calibration, live.predicted, live.scores, classes, presorted=presorted, orders=orders
        )
    elif model.task == "regression":
        notes.append("regression models have realized performance only (no estimate from scores)")
    labelled = int(live.labelled.sum())
    realized = _performance(model, live, presorted=presorted, orders=orders) if labelled else None
    absent = None
    if model.target is None:
        absent = "no target column: realized performance needs labels"
    elif joined.error is not None:
        absent = f"the targets source failed: {joined.error}"
    elif not labelled:
        absent = "no live row has its label yet"
    notes += labels.describe(joined)
    if live.unknown_labels:
        notes.append(f"{live.unknown_labels} live labels of a class not in score were left out")
    counts = dict(joined.counts)
    if live.unknown_labels:  # a label of an unknown class is not a label of the row
        counts["labelled"] = counts.get("labelled", 0) - live.unknown_labels
        counts["unknown_class"] = live.unknown_labels
    thresholds = {
        metric: _levels(model, metric, reference.performance.values.get(metric), spread.std.get(metric))
        for metric in metrics_of(model.task)
    }
    severity: dict[str, dict[str, str]] = {}
    for kind, result, rows in (("estimated", estimated, len(live)), ("realized", realized, labelled)):
        if result is None:
            continue
        severity[kind] = {
            metric: INSUFFICIENT if rows < max(1, min_samples) else _judge(metric, result.values.get(metric), levels)
            for metric, levels in thresholds.items()
            if levels != (None, None)
        }
    return ModelResult(
        task=model.task,
        reference_rows=len(ref_rows),
        live_rows=len(live),
        labelled_rows=labelled,
        reference=reference.performance,
        estimated=estimated,
        realized=realized,
        thresholds=thresholds,
        bands=estimation.band(estimated, spread) if estimated is not None else {},
        severity=severity,
        unknown_labels=live.unknown_labels,
        notes=tuple(notes),
        realized_absent=absent,
        label_counts=counts,
        label_delay_seconds=joined.delay_seconds,
        labels_error=joined.error,
        separate_labels=model.targets is not None,
    )


def to_json(result: ModelResult) -> dict[str, Any]:
    """The ``model`` object of ``check --format json``."""

    def metrics(values: Performance | None) -> dict[str, Any] | None:
        if values is None:
            return None
        return {"values": dict(values.values), "undefined": dict(values.undefined), "rows": values.rows}

    return {
        "task": result.task,
        "status": result.worst,
        "reference_rows": result.reference_rows,
        "live_rows": result.live_rows,
        "labelled_rows": result.labelled_rows,
        "label_coverage": result.coverage,
        "unknown_labels": result.unknown_labels,
        "labels": {
            "counts": dict(result.label_counts),
            "delay_seconds": result.label_delay_seconds,
            "error": result.labels_error,
        },
        "realized_absent": result.realized_absent,
        "reference": metrics(result.reference),
        "estimated": metrics(result.estimated),
        "realized": metrics(result.realized),
        "bands": {metric: {"lower": low, "upper": high} for metric, (low, high) in result.bands.items()},
        "thresholds": {m: {"warning": w, "critical": c} for m, (w, c) in result.thresholds.items()},
        "severity": {kind: dict(values) for kind, values in result.severity.items()},
        "notes": list(result.notes),
    }
