"""A model's performance over rows: pure numpy, one confusion for realized and estimated.

Every classification metric here is computed from *soft truth*: for each row, the
probability that its true class is each class. Realized performance passes the labels
as 0/1 (one-hot) truth; estimated performance (confidence-based, see `estimation.py`)
passes the calibrated probabilities of the live scores. One code path for both means an
estimate and its realized value are the same formula over different truths, and the
realized figures equal scikit-learn's (tests compare them to 1e-12 on the same rows).

Definitions (``n`` rows, ``t`` soft truth of the positive class, ``y`` the predicted
class, ``s`` the score, i.e. the predicted probability of the positive class):

- ``accuracy`` = expected share of rows whose prediction is their class;
- ``precision`` = TP / (TP + FP), ``recall`` = TP / (TP + FN), ``f1`` = 2TP / (2TP + FP + FN),
  with TP = Σ t over rows predicted positive, FP = Σ (1 - t) over them, FN = Σ t over
  the rest;
- ``roc_auc``: the trapezoidal area under the ROC curve swept over the distinct scores
  (ties form one step), ``average_precision`` = Σ (Rₖ - Rₖ₋₁)·Pₖ over the same steps,
  both as scikit-learn defines them;
- ``log_loss`` = -mean(t·ln s + (1 - t)·ln(1 - s)), scores clipped to [ε, 1 - ε] with
  ε the float64 machine epsilon (scikit-learn's clip), natural log;
- ``brier`` = mean(t·(1 - s)² + (1 - t)·s²), the expected squared error of the score.

Multiclass: the same per class, one-vs-rest; ``*_macro`` is the mean over the declared
classes (a class never predicted counts 0 in the precision macro, as scikit-learn with
``zero_division=0``; ``roc_auc_macro`` and ``average_precision_macro`` average the
classes that have both positive and negative rows), ``*_micro`` is the accuracy (single
label: every micro average is), ``log_loss`` = -mean Σₖ tₖ·ln sₖ, ``brier`` = mean
Σₖ (tₖ(1 - sₖ)² + (1 - tₖ)sₖ²) (scikit-learn's multiclass Brier score, not halved).

Regression: ``mae``, ``rmse``, ``mape`` (|error| / max(|target|, ε)), ``r2``.

A metric that a window cannot define (no positive label, one class only, a constant
target) is not a number but a reason, in `Performance.undefined`: no NaN leaves here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from .errors import DataError

__all__ = [
    "BINARY_METRICS",
    "LOWER_IS_BETTER",
    "MULTICLASS_METRICS",
    "PER_CLASS_METRICS",
    "REGRESSION_METRICS",
    "SCORE_METRICS",
    "Performance",
    "Task",
    "binary",
    "check_distributions",
    "check_probabilities",
    "metrics_of",
    "multiclass",
    "regression",
]

Floats = npt.NDArray[np.float64]
Task = Literal["binary", "multiclass", "regression"]

BINARY_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc", "average_precision", "log_loss", "brier")
MULTICLASS_METRICS = (
    "accuracy",
    "precision_macro",
    "precision_micro",
    "recall_macro",
    "recall_micro",
    "f1_macro",
    "f1_micro",
    "roc_auc_macro",
    "average_precision_macro",
    "log_loss",
    "brier",
)
PER_CLASS_METRICS = ("precision", "recall", "f1", "roc_auc", "average_precision")
REGRESSION_METRICS = ("mae", "rmse", "mape", "r2")
# Losses and errors: a larger value is worse (thresholds on them are ceilings, not floors).
LOWER_IS_BETTER = frozenset({"log_loss", "brier", "mae", "rmse", "mape"})
# Metrics that need scores (probabilities), not only predicted classes.
SCORE_METRICS = frozenset(
    {"roc_auc", "average_precision", "log_loss", "brier", "roc_auc_macro", "average_precision_macro"}
)

_EPS = float(np.finfo(np.float64).eps)
_SUM_TOLERANCE = float(np.sqrt(_EPS))  # scikit-learn's rtol for probabilities summing to 1


def metrics_of(task: Task) -> tuple[str, ...]:
    """The metric names a task reports, in the order they are shown."""
    return {"binary": BINARY_METRICS, "multiclass": MULTICLASS_METRICS, "regression": REGRESSION_METRICS}[task]


@dataclass(frozen=True, slots=True)
class Performance:
    """Metric name → value (finite), metric name → why it has none, over ``rows`` rows.

    ``per_class`` (multiclass only): class → metric → value, for the per-class metrics
    that are defined.
    """

    rows: int
    values: Mapping[str, float]
    undefined: Mapping[str, str] = field(default_factory=dict)
    per_class: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


class _Collect:
    """Accumulates values and reasons; turns a non-finite value into a reason, never a NaN."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}
        self.undefined: dict[str, str] = {}

    def put(self, name: str, value: float | None, reason: str) -> None:
        if value is None or not np.isfinite(value):
            self.undefined[name] = reason
        else:
            self.values[name] = float(value)

    def performance(self, rows: int, per_class: Mapping[str, Mapping[str, float]] | None = None) -> Performance:
        return Performance(
            rows=rows,
            values=dict(self.values),
            undefined=dict(self.undefined),
            per_class=dict(per_class or {}),
        )


def _no_rows(names: Sequence[str]) -> Performance:
    return Performance(rows=0, values=dict({}), undefined=dict(dict.fromkeys(names, "no rows")))


def check_probabilities(values: Floats, column: str) -> None:
    """Raise `DataError` naming ``column`` unless every value is a probability in [0, 1]."""
    bad = ~((values >= 0.0) & (values <= 1.0))  # NaN fails both comparisons
    if bad.any():
        first = values[np.flatnonzero(bad)[0]]
        raise DataError(
            f"score column {column!r}: {int(bad.sum())} value(s) are not probabilities in [0, 1] "
            f"(the first is {first!r}); give the model's predicted probability, not a logit or a label"
        )


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


def _steps(
    positive: Floats,
    negative: Floats | None,
    score: Floats,
    order: npt.NDArray[np.intp] | None = None,
    presorted: bool = False,
) -> tuple[Floats, Floats]:
    """Cumulative (positive, negative) weight at each distinct score, highest score first;
    ``negative`` None: 1 - positive; ``order``: the rows in ascending score order, when the
    caller has sorted them already; ``presorted``: the rows are in ascending score order."""
    # ties are summed per distinct score: no stable sort needed
    if presorted:  # reversed views, no copy
        ordered, positive, negative = score[::-1], positive[::-1], None if negative is None else negative[::-1]
    else:
        descending = (np.argsort(score) if order is None else order)[::-1]
        ordered = score[descending]
        positive, negative = positive[descending], None if negative is None else negative[descending]
    changes = np.flatnonzero(ordered[1:] != ordered[:-1])  # where np.diff is not 0, without the diff
    last = np.empty(changes.size + 1, dtype=np.intp)
    last[:-1], last[-1] = changes, ordered.size - 1
    if negative is None:  # the complement of positive: k rows so far, of which tps positive
        tps = np.cumsum(positive)[last]
        return tps, (last + 1.0) - tps
    return np.cumsum(positive)[last], np.cumsum(negative)[last]


def _ranking(
    positive: Floats,
    negative: Floats | None,
    score: Floats,
    order: npt.NDArray[np.intp] | None = None,
    presorted: bool = False,
) -> tuple[float | None, float | None, str, str]:
    """(ROC AUC, average precision, why AUC is undefined, why AP is undefined); ``negative``
    None: each row's negative weight is 1 - its positive one."""
    if score.size == 0:
        return None, None, "no rows", "no rows"
    tps, fps = _steps(positive, negative, score, order, presorted)
    total_positive, total_negative = float(tps[-1]), float(fps[-1])
    no_positive = "no row of the positive class" if total_positive <= 0 else ""
    no_negative = "no row of the negative class" if total_negative <= 0 else ""
    auc = ap = None
    tpr = _from_zero(tps, total_positive) if not no_positive else None  # the recall at each step, after 0
    if tpr is not None and not no_negative:
        auc = float(np.trapezoid(tpr, _from_zero(fps, total_negative)))
    if tpr is not None:
        predicted = tps + fps
        precision = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted != 0)
        ap = max(0.0, float(np.sum(np.diff(tpr) * precision)))
    return auc, ap, no_positive or no_negative, no_positive


def _from_zero(values: Floats, total: float) -> Floats:
    """``[0, values / total]`` (as ``np.r_`` builds it, without its copies)."""
    shares = np.empty(values.size + 1)
    shares[0] = 0.0
    np.divide(values, total, out=shares[1:])
    return shares


def _log_loss(truth: Floats, score: Floats) -> float:
    """-mean Σ t·ln(clip(s)) over the given class columns (2-D: rows x classes)."""
    clipped = np.clip(score, _EPS, 1.0 - _EPS)
    return float(np.mean(-np.sum(truth * np.log(clipped), axis=1)))


def _brier(truth: Floats, score: Floats) -> float:
    """mean Σ E[(s - Y)²] with Y ~ Bernoulli(t), per class column (2-D: rows x classes)."""
    return float(np.mean(np.sum(truth * (1.0 - score) ** 2 + (1.0 - truth) * score**2, axis=1)))


def binary(
    truth: Floats,
    predicted: npt.NDArray[np.bool_],
    score: Floats | None,
    order: npt.NDArray[np.intp] | None = None,
    presorted: bool = False,
) -> Performance:
    """Binary metrics: ``truth`` the (soft) probability each row is positive, ``predicted``
    the model's positive/negative decision, ``score`` its probability of positive (or None:
    only the decision metrics then); ``order``: the rows in ascending score order, if known
    (saves the one sort); ``presorted``: the rows are in ascending score order already."""
    truth = np.asarray(truth, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=bool)
    rows = int(truth.size)
    out = _Collect()
    if rows == 0:
        return _no_rows(BINARY_METRICS)
    predicted_positive = float(np.count_nonzero(predicted))
    tp = float(np.sum(truth, where=predicted))
    fp = predicted_positive - tp
    fn = float(np.sum(truth, where=~predicted))
    tn = (rows - predicted_positive) - fn
    out.put("accuracy", (tp + tn) / rows, "no rows")
    out.put("precision", _ratio(tp, tp + fp), "no row predicted positive")
    out.put("recall", _ratio(tp, tp + fn), "no row of the positive class")
    out.put("f1", _ratio(2 * tp, 2 * tp + fp + fn), "no row of the positive class and none predicted positive")
    if score is None:
        for name in ("roc_auc", "average_precision", "log_loss", "brier"):
            out.put(name, None, "the model has no score column")
        return out.performance(rows)
    score = np.asarray(score, dtype=np.float64)
    auc, ap, why_auc, why_ap = _ranking(truth, None, score, order, presorted)
    out.put("roc_auc", auc, why_auc)
    out.put("average_precision", ap, why_ap)
    # _log_loss of the two columns (1 - t, t) against (1 - s, s), without building them
    negative = np.log(np.clip(1.0 - score, _EPS, 1.0 - _EPS))
    positive = np.log(np.clip(score, _EPS, 1.0 - _EPS))
    out.put("log_loss", float(np.mean(-((1.0 - truth) * negative + truth * positive))), "no rows")
    out.put("brier", float(np.mean(truth * (1.0 - score) ** 2 + (1.0 - truth) * score**2)), "no rows")
    return out.performance(rows)


def multiclass(
    truth: Floats,
    predicted: npt.NDArray[np.intp],
    scores: Floats | None,
    classes: Sequence[str],
    orders: Sequence[npt.NDArray[np.intp]] | None = None,
) -> Performance:
    """Multiclass metrics over ``len(classes)`` classes: ``truth`` rows x classes (soft or
    one-hot), ``predicted`` the predicted class index per row, ``scores`` rows x classes
    probabilities summing to 1 per row (or None); ``orders``: per class, the rows in
    ascending order of its score, if known (saves a sort per class)."""
    truth = np.asarray(truth, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.intp)
    count = len(classes)
    rows = int(truth.shape[0])
    out = _Collect()
    if rows == 0:
        return _no_rows(MULTICLASS_METRICS)
    # confusion[i, j]: expected rows of true class i predicted as j
    confusion = np.stack([np.bincount(predicted, weights=truth[:, i], minlength=count) for i in range(count)])
    accuracy = float(np.trace(confusion)) / rows
    per_class: dict[str, dict[str, float]] = {name: {} for name in classes}
    macro: dict[str, list[float]] = {"precision": [], "recall": [], "f1": []}
    for j, name in enumerate(classes):
        hit = float(confusion[j, j])
        as_j, of_j = float(confusion[:, j].sum()), float(confusion[j, :].sum())
        for metric, value in (
            ("precision", _ratio(hit, as_j)),
            ("recall", _ratio(hit, of_j)),
            ("f1", _ratio(2 * hit, as_j + of_j)),
        ):
            macro[metric].append(0.0 if value is None else value)
            if value is not None:
                per_class[name][metric] = value
    for metric, values in macro.items():
        out.put(f"{metric}_macro", float(np.mean(values)), "no classes")
        out.put(f"{metric}_micro", accuracy, "no rows")
    out.put("accuracy", accuracy, "no rows")
    if scores is None:
        for name in ("roc_auc_macro", "average_precision_macro", "log_loss", "brier"):
            out.put(name, None, "the model has no score columns")
        return out.performance(rows, per_class)
    scores = np.asarray(scores, dtype=np.float64)
    aucs, aps = [], []
    for j, name in enumerate(classes):
        auc, ap, _, _ = _ranking(truth[:, j], None, scores[:, j], None if orders is None else orders[j])
        if auc is not None:
            aucs.append(auc)
            per_class[name]["roc_auc"] = auc
        if ap is not None:
            aps.append(ap)
            per_class[name]["average_precision"] = ap
    out.put("roc_auc_macro", float(np.mean(aucs)) if aucs else None, "no class has both its own and other rows")
    out.put("average_precision_macro", float(np.mean(aps)) if aps else None, "no class has rows")
    out.put("log_loss", _log_loss(truth, scores), "no rows")
    out.put("brier", _brier(truth, scores), "no rows")
    return out.performance(rows, per_class)


def check_distributions(scores: Floats, columns: Sequence[str]) -> None:
    """Raise `DataError` unless every row of ``scores`` (rows x classes) sums to 1."""
    sums = scores.sum(axis=1)
    bad = ~np.isclose(sums, 1.0, rtol=_SUM_TOLERANCE, atol=0.0)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"score columns {', '.join(columns)}: {int(bad.sum())} row(s) do not sum to 1 "
            f"(row {first} sums to {sums[first]!r}); give one probability per class"
        )


def regression(target: Floats, prediction: Floats) -> Performance:
    """MAE, RMSE, MAPE and R² of ``prediction`` against ``target`` (finite values)."""
    target = np.asarray(target, dtype=np.float64)
    prediction = np.asarray(prediction, dtype=np.float64)
    rows = int(target.size)
    out = _Collect()
    if rows == 0:
        return _no_rows(REGRESSION_METRICS)
    error = target - prediction
    out.put("mae", float(np.mean(np.abs(error))), "no rows")
    out.put("rmse", float(np.sqrt(np.mean(error**2))), "no rows")
    out.put("mape", float(np.mean(np.abs(error) / np.maximum(np.abs(target), _EPS))), "no rows")
    total = float(np.sum((target - np.mean(target)) ** 2))
    residual = float(np.sum(error**2))
    out.put("r2", 1.0 - residual / total if total > 0 else None, "the target is constant in these rows")
    return out.performance(rows)
