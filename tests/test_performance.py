"""Realized model performance equals scikit-learn's on the same rows (1e-12), edge cases included."""

from __future__ import annotations

import numpy as np
import pytest

from driftmon import performance
from driftmon.errors import DataError

metrics = pytest.importorskip("sklearn.metrics")

TOL = 1e-12


def _binary_rows(seed: int, rows: int, ties: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    score = rng.beta(2, 3, rows)
    if ties:  # few distinct scores, so tied scores form steps of the curves
        score = np.round(score, 1)
    label = (rng.random(rows) < score).astype(int)
    return label, (score >= 0.5).astype(int), score


def _sklearn_binary(label: np.ndarray, predicted: np.ndarray, score: np.ndarray) -> dict[str, float]:
    return {
        "accuracy": metrics.accuracy_score(label, predicted),
        "precision": metrics.precision_score(label, predicted),
        "recall": metrics.recall_score(label, predicted),
        "f1": metrics.f1_score(label, predicted),
        "roc_auc": metrics.roc_auc_score(label, score),
        "average_precision": metrics.average_precision_score(label, score),
        "log_loss": metrics.log_loss(label, score, labels=[0, 1]),
        "brier": metrics.brier_score_loss(label, score, pos_label=1),
    }


@pytest.mark.parametrize(("seed", "rows", "ties"), [(1, 50, False), (2, 5_000, False), (3, 5_000, True), (4, 7, True)])
def test_binary_equals_sklearn(seed: int, rows: int, ties: bool) -> None:
    """Every binary metric equals scikit-learn's, with and without tied scores."""
    label, predicted, score = _binary_rows(seed, rows, ties)
    result = performance.binary(label.astype(float), predicted.astype(bool), score)
    expected = _sklearn_binary(label, predicted, score)
    assert set(result.values) == set(performance.BINARY_METRICS)
    for name, value in expected.items():
        assert result.values[name] == pytest.approx(value, abs=TOL, rel=TOL), name


def test_binary_scores_at_zero_and_one_are_clipped_as_sklearn() -> None:
    """Scores of exactly 0 and 1 on the wrong rows give scikit-learn's finite log loss."""
    label = np.array([1, 0, 1, 0, 1])
    score = np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    result = performance.binary(label.astype(float), score >= 0.5, score)
    assert result.values["log_loss"] == pytest.approx(metrics.log_loss(label, score), rel=TOL)
    assert np.isfinite(result.values["log_loss"])


def test_binary_single_class_gives_reasons_not_nan() -> None:
    """Only positive labels: ROC AUC has a reason and no value; the rest stay numbers."""
    label = np.ones(20)
    score = np.linspace(0.1, 0.9, 20)
    result = performance.binary(label, score >= 0.5, score)
    assert "roc_auc" not in result.values
    assert result.undefined["roc_auc"] == "no row of the negative class"
    assert result.values["average_precision"] == pytest.approx(metrics.average_precision_score(label, score), abs=TOL)
    assert result.values["recall"] == pytest.approx(metrics.recall_score(label, score >= 0.5), abs=TOL)
    assert all(np.isfinite(v) for v in result.values.values())


def test_binary_no_positive_prediction_leaves_precision_undefined() -> None:
    """No row predicted positive: precision has a reason (scikit-learn warns and says 0)."""
    label = np.array([1.0, 0.0, 1.0, 0.0])
    result = performance.binary(label, np.zeros(4, dtype=bool), None)
    assert result.undefined["precision"] == "no row predicted positive"
    assert result.values["recall"] == 0.0
    assert result.values["accuracy"] == 0.5
    assert result.undefined["roc_auc"] == "the model has no score column"


def test_binary_no_rows() -> None:
    """An empty window defines nothing, and says so for every metric."""
    result = performance.binary(np.array([]), np.array([], dtype=bool), np.array([]))
    assert result.values == {}
    assert set(result.undefined) == set(performance.BINARY_METRICS)


def test_soft_truth_is_the_expected_confusion() -> None:
    """With soft truth, precision is Σt over predicted positives / their count (formula by hand)."""
    truth = np.array([0.9, 0.2, 0.6, 0.1])
    predicted = np.array([True, True, False, False])
    result = performance.binary(truth, predicted, None)
    tp, fp = 0.9 + 0.2, 0.1 + 0.8  # predicted positive: Σt and Σ(1 − t)
    fn, tn = 0.6 + 0.1, 0.4 + 0.9  # predicted negative
    assert result.values["precision"] == pytest.approx(tp / (tp + fp))
    assert result.values["recall"] == pytest.approx(tp / (tp + fn))
    assert result.values["accuracy"] == pytest.approx((tp + tn) / 4)


def _multiclass_rows(seed: int, rows: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.dirichlet(np.ones(classes), rows)
    label = np.array([rng.choice(classes, p=p) for p in scores])
    return label, scores


def test_multiclass_equals_sklearn() -> None:
    """Accuracy, macro/micro precision, recall, F1, ROC AUC, AP, log loss, Brier: scikit-learn's."""
    label, scores = _multiclass_rows(5, 3_000, 4)
    predicted = scores.argmax(axis=1)
    classes = ["a", "b", "c", "d"]
    result = performance.multiclass(np.eye(4)[label], predicted, scores, classes)
    labels = [0, 1, 2, 3]
    expected = {
        "accuracy": metrics.accuracy_score(label, predicted),
        "log_loss": metrics.log_loss(label, scores, labels=labels),
        "brier": metrics.brier_score_loss(label, scores, labels=labels),
        "roc_auc_macro": metrics.roc_auc_score(label, scores, multi_class="ovr", average="macro", labels=labels),
        "average_precision_macro": metrics.average_precision_score(label, scores, average="macro"),
    }
    for metric in ("precision", "recall", "f1"):
        score_fn = getattr(metrics, f"{metric}_score")
        expected[f"{metric}_macro"] = score_fn(label, predicted, average="macro", labels=labels, zero_division=0)
        expected[f"{metric}_micro"] = score_fn(label, predicted, average="micro", labels=labels, zero_division=0)
        per_class = score_fn(label, predicted, average=None, labels=labels, zero_division=0)
        for index, name in enumerate(classes):
            assert result.per_class[name][metric] == pytest.approx(per_class[index], abs=TOL), (metric, name)
    assert set(result.values) == set(performance.MULTICLASS_METRICS)
    for name, value in expected.items():
        assert result.values[name] == pytest.approx(value, abs=TOL, rel=TOL), name


def test_multiclass_class_never_predicted_counts_zero_in_the_macro() -> None:
    """A class no row is predicted as: no precision of its own, 0 in the macro (zero_division=0)."""
    label = np.array([0, 1, 2, 2, 1, 0])
    predicted = np.array([0, 1, 1, 1, 1, 0])
    result = performance.multiclass(np.eye(3)[label], predicted, None, ["x", "y", "z"])
    assert "precision" not in result.per_class["z"]
    assert result.values["precision_macro"] == pytest.approx(
        metrics.precision_score(label, predicted, average="macro", labels=[0, 1, 2], zero_division=0), abs=TOL
    )


def test_probabilities_are_checked_with_the_column_named() -> None:
    """NaN or values outside [0, 1] are a DataError naming the column; rows not summing to 1 too."""
    with pytest.raises(DataError, match="'p_churn'.*2 value"):
        performance.check_probabilities(np.array([0.2, np.nan, 1.5, 0.0]), "p_churn")
    performance.check_probabilities(np.array([0.0, 1.0, 0.5]), "p")
    with pytest.raises(DataError, match="p_a, p_b.*1 row"):
        performance.check_distributions(np.array([[0.5, 0.5], [0.5, 0.6]]), ["p_a", "p_b"])


def test_regression_equals_sklearn() -> None:
    """MAE, RMSE, MAPE and R² equal scikit-learn's, zero targets in MAPE included."""
    rng = np.random.default_rng(7)
    target = rng.normal(10, 3, 4_000)
    target[:5] = 0.0
    prediction = target + rng.normal(0, 1, 4_000)
    result = performance.regression(target, prediction)
    expected = {
        "mae": metrics.mean_absolute_error(target, prediction),
        "rmse": metrics.root_mean_squared_error(target, prediction),
        "mape": metrics.mean_absolute_percentage_error(target, prediction),
        "r2": metrics.r2_score(target, prediction),
    }
    for name, value in expected.items():
        assert result.values[name] == pytest.approx(value, abs=TOL, rel=TOL), name


def test_regression_constant_target_has_no_r2() -> None:
    """A constant target leaves R² undefined with a reason (scikit-learn forces a finite 0 or 1)."""
    result = performance.regression(np.full(10, 3.0), np.arange(10.0))
    assert result.undefined["r2"] == "the target is constant in these rows"
    assert result.values["mae"] == pytest.approx(metrics.mean_absolute_error(np.full(10, 3.0), np.arange(10.0)))
