"""Estimated performance (CBPE): calibration as scikit-learn's isotonic, estimates that follow
the realized performance under a shift that hurts the model and one that does not, and a
band from the reference's spread at the live size."""

from __future__ import annotations

import numpy as np
import pytest

from driftmon import estimation, performance

isotonic = pytest.importorskip("sklearn.isotonic")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _rows(seed: int, rows: int, centre: float, width: float, distort: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from P(y=1|x) = sigmoid(2x); the model's score is sigmoid(2·distort·x)
    (distort 1: calibrated)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(centre, width, rows)
    label = (rng.random(rows) < _sigmoid(2 * x)).astype(float)
    return label, _sigmoid(2 * distort * x)


def _realized(label: np.ndarray, score: np.ndarray) -> performance.Performance:
    return performance.binary(label, score >= 0.5, score)


def test_calibration_equals_sklearn_isotonic() -> None:
    """The fitted map predicts what scikit-learn's IsotonicRegression(out_of_bounds='clip') does."""
    label, score = _rows(1, 4_000, 0.0, 1.0, distort=2.5)
    fitted = estimation.calibrate(label[:, None], score[:, None])
    oracle = isotonic.IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(score, label)
    probe = np.r_[np.linspace(-0.1, 1.1, 500), score[:200]]
    assert np.allclose(fitted.apply(probe[:, None])[:, 0], oracle.predict(probe), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("centre", "width", "direction"),
    [
        (0.0, 0.25, -1),  # live rows crowd the decision boundary: the model gets worse
        (1.5, 0.5, +1),  # live rows move where the model is right: it gets better
    ],
)
def test_estimate_follows_realized_under_shift(centre: float, width: float, direction: int) -> None:
    """Accuracy estimated without labels moves as the realized one does, and accuracy, F1,
    ROC AUC and Brier each land within 0.03 of the realized value and inside the band."""
    ref_label, ref_score = _rows(2, 40_000, 0.0, 1.0)
    live_label, live_score = _rows(3, 4_000, centre, width)
    fitted = estimation.calibrate(ref_label[:, None], ref_score[:, None])
    estimated = estimation.estimate(fitted, live_score >= 0.5, live_score, None)
    realized = _realized(live_label, live_score)
    reference = _realized(ref_label, ref_score)
    spread = estimation.spread(
        lambda rows: _realized(ref_label[rows], ref_score[rows]), ref_label.size, live_label.size
    )
    bands = estimation.band(estimated, spread)
    moved = realized.values["accuracy"] - reference.values["accuracy"]
    assert np.sign(moved) == direction
    assert abs(moved) > 0.04
    assert abs(estimated.values["accuracy"] - realized.values["accuracy"]) < abs(moved) / 3
    for metric in ("accuracy", "f1", "roc_auc", "brier"):
        low, high = bands[metric]
        assert low <= realized.values[metric] <= high, (metric, low, realized.values[metric], high)
        assert abs(estimated.values[metric] - realized.values[metric]) < 0.03, metric


def test_calibration_corrects_an_overconfident_model() -> None:
    """Scores far too sure of themselves: the calibrated estimate of log loss and Brier is
    near the realized value, the raw scores' own expectation is not."""
    ref_label, ref_score = _rows(4, 40_000, 0.0, 1.0, distort=3.0)
    live_label, live_score = _rows(5, 5_000, 0.3, 1.0, distort=3.0)
    fitted = estimation.calibrate(ref_label[:, None], ref_score[:, None])
    estimated = estimation.estimate(fitted, live_score >= 0.5, live_score, None)
    naive = performance.binary(live_score, live_score >= 0.5, live_score)  # trusts the scores as probabilities
    realized = _realized(live_label, live_score)
    for metric in ("brier", "accuracy"):
        assert abs(estimated.values[metric] - realized.values[metric]) < 0.3 * abs(
            naive.values[metric] - realized.values[metric]
        )


def test_multiclass_estimate_follows_realized() -> None:
    """Three classes with scores from a softmax: the estimated accuracy and macro F1 of a
    shifted window land within 0.03 of the realized ones."""
    rng = np.random.default_rng(6)
    centres = np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]])

    def window(rows: int, spread_x: float) -> tuple[np.ndarray, np.ndarray]:
        x = rng.normal(0.0, spread_x, (rows, 2)) + [0.0, 0.7]
        logits = -((x[:, None, :] - centres[None]) ** 2).sum(axis=2) / 2
        scores = np.exp(logits - logits.max(axis=1, keepdims=True))
        scores /= scores.sum(axis=1, keepdims=True)
        label = np.array([rng.choice(3, p=p) for p in scores])
        return np.eye(3)[label], scores

    ref_truth, ref_scores = window(20_000, 2.0)
    live_truth, live_scores = window(3_000, 0.8)
    classes = ["a", "b", "c"]
    fitted = estimation.calibrate(ref_truth, ref_scores)
    estimated = estimation.estimate(fitted, live_scores.argmax(axis=1), live_scores, classes)
    realized = performance.multiclass(live_truth, live_scores.argmax(axis=1), live_scores, classes)
    for metric in ("accuracy", "f1_macro", "roc_auc_macro"):
        assert abs(estimated.values[metric] - realized.values[metric]) < 0.03, metric
    # each class's score order given (model.judge sorts once for both kinds): the same numbers
    orders = [np.argsort(live_scores[:, k]) for k in range(3)]
    given = estimation.estimate(fitted, live_scores.argmax(axis=1), live_scores, classes, orders=orders)
    assert given == estimated
    assert performance.multiclass(live_truth, live_scores.argmax(axis=1), live_scores, classes, orders) == realized


def test_spread_at_the_live_size_is_the_binomial_error() -> None:
    """The reference's accuracy over chunks of n rows spreads as sqrt(a(1-a)/n) (formula)."""
    ref_label, ref_score = _rows(7, 50_000, 0.0, 1.0)
    size = 500
    spread = estimation.spread(lambda rows: _realized(ref_label[rows], ref_score[rows]), ref_label.size, size)
    assert spread.draws == estimation.MAX_CHUNKS
    accuracy = _realized(ref_label, ref_score).values["accuracy"]
    expected = np.sqrt(accuracy * (1 - accuracy) / size)
    assert spread.std["accuracy"] == pytest.approx(expected, rel=0.25)


def test_small_reference_is_bootstrapped_and_bands_are_clipped() -> None:
    """Fewer than MIN_CHUNKS chunks: bootstrap draws; a band never leaves [0, 1]."""
    ref_label, ref_score = _rows(8, 300, 1.0, 1.0)
    spread = estimation.spread(lambda rows: _realized(ref_label[rows], ref_score[rows]), ref_label.size, 100)
    assert spread.draws == estimation.BOOTSTRAP_DRAWS
    estimated = performance.Performance(rows=100, values={"accuracy": 0.999, "log_loss": 0.01})
    bands = estimation.band(estimated, spread)
    assert bands["accuracy"][1] == 1.0
    assert bands["log_loss"][0] >= 0.0


def test_a_live_window_larger_than_the_reference_gets_the_error_at_its_own_size() -> None:
    """Live 200,000 rows against a reference of 20,000: the chunks (2,000 rows each, one pass over
    the reference in all) give sd sqrt(a(1-a)/n) at the live size n, not at the reference's."""
    ref_label, ref_score = _rows(9, 20_000, 0.0, 1.0)
    seen: list[int] = []

    def realized(rows: np.ndarray) -> performance.Performance:
        seen.append(rows.size)
        return _realized(ref_label[rows], ref_score[rows])

    size = 200_000
    spread = estimation.spread(realized, ref_label.size, size)
    assert spread.chunk == 2_000 and sum(seen) == ref_label.size and spread.size == size
    accuracy = _realized(ref_label, ref_score).values["accuracy"]
    assert spread.std["accuracy"] == pytest.approx(np.sqrt(accuracy * (1 - accuracy) / size), rel=0.35)


def test_one_sort_gives_the_same_numbers() -> None:
    """Passing the rows' score order, or the rows already sorted by score (sorted once by the
    caller), changes no metric beyond 1e-12, for realized metrics and for the estimate."""
    label, score = _rows(10, 30_000, 0.3, 1.0, distort=1.7)
    score = np.round(score, 3)  # ties
    order = np.argsort(score, kind="stable")
    plain, sorted_once = _realized(label, score), performance.binary(label, score >= 0.5, score, order)
    assert plain.values.keys() == sorted_once.values.keys()
    for metric, value in plain.values.items():
        assert sorted_once.values[metric] == pytest.approx(value, abs=1e-12), metric
    fitted = estimation.calibrate(label[:10_000, None], score[:10_000, None])
    assert np.array_equal(fitted.apply(score[:, None], order), fitted.apply(score[:, None]))
    estimated = estimation.estimate(fitted, score >= 0.5, score, None)
    again = estimation.estimate(fitted, score >= 0.5, score, None, np.argsort(score))
    ordered = (label[order], score[order] >= 0.5, score[order])  # the rows sorted by the caller
    sorted_rows = performance.binary(*ordered, presorted=True)
    sorted_estimate = estimation.estimate(fitted, ordered[1], ordered[2], None, presorted=True)
    for metric, value in estimated.values.items():
        assert again.values[metric] == pytest.approx(value, abs=1e-12), metric
        assert sorted_estimate.values[metric] == pytest.approx(value, abs=1e-12), metric
    for metric, value in plain.values.items():
        assert sorted_rows.values[metric] == pytest.approx(value, abs=1e-12), metric
