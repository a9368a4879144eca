"""The model per segment (docs/segments.md): each segment's realized and estimated performance.

A monitor with both ``segments:`` and ``model:`` judges its model over all rows (the total,
exactly as without segments) and over each segment's rows alone, as an unsegmented monitor
of that segment's rows would: the segment's reference rows give its reference performance,
its calibration of the scores and the spread of its metrics; its live rows give its
estimate and, where labels are known, its realized performance and severities.

The rows are those of the drift segments (:meth:`driftmon.segments.Segmentation.codes`),
read once per side with the model's columns: the ``by`` columns are read with them. The
reference side is cached per reference fingerprint and segmentation. The label account
(join states, delay, the targets source) belongs to the monitor's feed, so a segment's
model has no label-join series; its labelled rows and coverage it has.

A segment whose reference has no labelled row has no model (said in ``notes`` of the
segments); a segment with no live rows has vanished and has no series at all.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from driftmon import model as model_part
from driftmon.errors import DataError
from driftmon.labels import Labels
from driftmon.segments import Segmentation, SegmentResult, SegmentsResult, rank, row_keys
from driftmon.sources.rows import read_columns

if TYPE_CHECKING:
    from driftmon.config import MonitorConfig
    from driftmon.config_schema import Model
    from driftmon.model import ModelResult, ReferenceModel
    from driftmon.sources.base import Source

Columns = Mapping[str, npt.NDArray[Any]]

_cache: dict[tuple[Any, ...], dict[int, ReferenceModel | str]] = {}
_cache_lock = threading.Lock()


def groups(segmentation: Segmentation, data: Columns) -> list[npt.NDArray[np.intp]]:
    """The row indices of each segment code (in row order), from the ``by`` columns of ``data``."""
    codes = segmentation.codes(row_keys([data[name] for name in segmentation.by]))
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=segmentation.size))
    return np.split(order, bounds[:-1])


def _rows(data: Columns, chosen: npt.NDArray[np.intp]) -> dict[str, npt.NDArray[Any]]:
    return {name: values[chosen] for name, values in data.items()}


def reference_models(
    name: str, model: Model, segmentation: Segmentation, source: Source
) -> dict[int, ReferenceModel | str]:
    """Each segment code's reference model, or why it has none; cached while the source is unchanged."""
    key = (name, source.fingerprint(), model.model_dump_json(), segmentation)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    data = read_columns(source, [*model_part._columns(model), *segmentation.by])
    where = source.describe()
    found: dict[int, ReferenceModel | str] = {}
    for code, chosen in enumerate(groups(segmentation, data)):
        if chosen.size == 0:
            continue
        label = segmentation.labels[code]
        try:
            found[code] = model_part.reference_of(model, _rows(data, chosen), f"{where} segment {label!r}")
        except DataError as error:
            found[code] = str(error)
    with _cache_lock:
        for stale in [k for k in _cache if k[0] == name]:
            del _cache[stale]
        _cache[key] = found
    return found


def evaluate_segmented_model(
    monitor: MonitorConfig, segments: SegmentsResult, reference_source: Source, live_source: Source
) -> tuple[ModelResult, SegmentsResult]:
    """The total's model result, and ``segments`` with each segment's model (its status the worse of its
    drift and its model, the segments ranked again)."""
    model = monitor.model
    segmentation = segments.segmentation
    assert model is not None and segmentation is not None
    reference = model_part.reference_model(monitor.name, model, reference_source)
    per_reference = reference_models(monitor.name, model, segmentation, reference_source)
    data, joined = model_part._live(model, live_source, segmentation.by)
    where = live_source.describe()
    total = model_part.judge(model, reference, data, joined, where, monitor.min_samples)
    code_of = {label: code for code, label in enumerate(segmentation.labels)}
    chosen = groups(segmentation, data)
    notes = list(segments.notes)
    kept = []
    for item in segments.segments:
        code = code_of[item.segment]
        own = per_reference.get(code, "no reference rows")
        if isinstance(own, str):
            notes.append(f"segment {item.segment!r} has no model result: {own}")
            kept.append(item)
            continue
        rows = chosen[code]
        labels = Labels(joined.values[rows], error=joined.error)
        try:
            result = model_part.judge(
                model, own, _rows(data, rows), labels, f"{where} segment {item.segment!r}", monitor.min_samples
            )
        except DataError as error:
            notes.append(f"segment {item.segment!r} has no model result: {error}")
            kept.append(item)
            continue
        result = replace(result, label_counts={}, label_delay_seconds=None, separate_labels=False)
        kept.append(_with_model(item, result))
    return total, replace(segments, segments=tuple(rank(kept)), notes=tuple(notes))


def _with_model(item: SegmentResult, result: ModelResult) -> SegmentResult:
    from driftmon.evaluate import SEVERITY_ORDER

    status = max(item.result.status, result.worst, key=SEVERITY_ORDER.__getitem__)
    return replace(item, result=replace(item.result, model=result, status=status))


def lead_metric(result: ModelResult) -> str | None:
    """The metric a segment's model is shown by: the first judged one, else the first."""
    judged = [m for m, levels in result.thresholds.items() if levels != (None, None)]
    found = judged or list(result.thresholds)
    return found[0] if found else None


def describe(result: ModelResult | None) -> str:
    """A segment's model in one cell: ``accuracy 0.912 est, 0.905 real !`` (``-``: none)."""
    if result is None:
        return "-"
    metric = lead_metric(result)
    if metric is None:
        return "-"
    parts = []
    for kind, values in (("est", result.estimated), ("real", result.realized)):
        value = values.values.get(metric) if values is not None else None
        if value is not None:
            parts.append(f"{value:.4g} {kind}")
    mark = {"warning": " !", "critical": " !!"}.get(result.worst, "")
    return f"{metric} {', '.join(parts) or 'none'}{mark}"


def series_per_segment(monitor: Any) -> int:
    """How many feature-sized rows of series the model adds per segment (its metrics), for the series bound."""
    if getattr(monitor, "model", None) is None:
        return 0
    from driftmon.performance import metrics_of

    return len(metrics_of(monitor.model.task))
