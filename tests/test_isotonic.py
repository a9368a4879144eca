"""The numpy isotonic regression fits what scikit-learn's IsotonicRegression(y_min=0, y_max=1,
out_of_bounds="clip") fits, to 1e-12, on random data and on the edge cases: ties, a single
class, all-equal scores, scores closer than the float64 resolution, an adversarial order;
non-finite input is refused with a named error."""

from __future__ import annotations

import numpy as np
import pytest

from driftmon import isotonic
from driftmon.errors import DataError

sklearn_isotonic = pytest.importorskip("sklearn.isotonic")


def _oracle(x: np.ndarray, y: np.ndarray, y_min: float = 0.0, y_max: float = 1.0):  # type: ignore[no-untyped-def]
    return sklearn_isotonic.IsotonicRegression(y_min=y_min, y_max=y_max, out_of_bounds="clip").fit(x, y)


def _assert_same(x: np.ndarray, y: np.ndarray, y_min: float = 0.0, y_max: float = 1.0) -> None:
    inputs, outputs = isotonic.fit(x, y, y_min, y_max)
    oracle = _oracle(x, y, y_min, y_max)
    low, high = float(np.min(x)), float(np.max(x))
    probe = np.r_[x, np.linspace(low - 1.0, high + 1.0, 2_001), np.nextafter(x[:50], np.inf)]
    assert np.allclose(np.interp(probe, inputs, outputs), oracle.predict(probe), rtol=0, atol=1e-12)
    assert np.array_equal(inputs, oracle.X_thresholds_)  # the same breakpoints, not only the same values
    assert np.allclose(outputs, oracle.y_thresholds_, rtol=0, atol=1e-12)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@pytest.mark.parametrize(
    ("seed", "rows", "distort"), [(0, 50, 1.0), (1, 3_000, 2.5), (2, 40_000, 1.0), (3, 20_000, 0.3)]
)
def test_random_labels_equal_sklearn(seed: int, rows: int, distort: float) -> None:
    """0/1 labels drawn from a calibrated or distorted score: the same map."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, rows)
    score = _sigmoid(2.0 * distort * x)
    label = (rng.random(rows) < _sigmoid(2.0 * x)).astype(np.float64)
    _assert_same(score, label)


def test_ties_equal_sklearn() -> None:
    """Scores on a coarse grid (many rows per distinct score) pool to their mean first."""
    rng = np.random.default_rng(4)
    score = np.round(rng.random(10_000), 2)
    label = (rng.random(10_000) < score).astype(np.float64)
    _assert_same(score, label)


def test_real_valued_targets_are_clipped_as_sklearn() -> None:
    """Targets beyond [y_min, y_max] are fitted, then clipped, as scikit-learn does."""
    rng = np.random.default_rng(5)
    x = rng.random(5_000)
    y = 3.0 * x + rng.normal(0.0, 1.0, 5_000) - 1.0
    _assert_same(x, y)
    _assert_same(x, y, y_min=-0.5, y_max=0.75)


@pytest.mark.parametrize("label", [0.0, 1.0])
def test_a_single_class_equals_sklearn(label: float) -> None:
    """Every label the same: a constant map at that label."""
    score = np.random.default_rng(6).random(1_000)
    _assert_same(score, np.full(1_000, label))
    _, outputs = isotonic.fit(score, np.full(1_000, label))
    assert np.all(outputs == label)


def test_all_equal_scores_equal_sklearn() -> None:
    """One distinct score: one breakpoint, the labels' mean everywhere."""
    label = (np.arange(999) % 3 == 0).astype(np.float64)
    _assert_same(np.full(999, 0.4), label)
    inputs, outputs = isotonic.fit(np.full(999, 0.4), label)
    assert inputs.tolist() == [0.4]
    assert outputs[0] == pytest.approx(1 / 3, abs=1e-15)


def test_one_row_and_two_rows() -> None:
    _assert_same(np.array([0.3]), np.array([1.0]))
    _assert_same(np.array([0.3, 0.7]), np.array([1.0, 0.0]))  # a violation: pooled to 0.5


def test_scores_closer_than_the_resolution_pool_as_sklearn() -> None:
    """Scores 1 ulp apart near 1 (closer than 1e-15) are one point, grouped from the first of
    each group as scikit-learn's scan does, also when a run of them spans the resolution."""
    base = 0.9
    run = [base]
    for _ in range(40):  # 40 ulps: the run spans several resolutions
        run.append(float(np.nextafter(run[-1], 2.0)))
    rng = np.random.default_rng(7)
    score = np.r_[np.array(run), rng.random(200) * 0.8]
    label = (rng.random(score.size) < 0.5).astype(np.float64)
    _assert_same(score, label)
    _assert_same(score[::-1].copy(), label)


def test_an_adversarial_order_equal_sklearn() -> None:
    """One violator followed by a long rise, so each vectorised pass merges one block: the
    stack finishes it, with the same result."""
    y = np.r_[5_000.0, np.arange(5_000, dtype=np.float64)]
    x = np.arange(y.size, dtype=np.float64)
    _assert_same(x, y, y_min=-np.inf, y_max=np.inf)
    saw_tooth = np.tile([1.0, 0.0, 0.0, 1.0, 1.0, 0.0], 3_000)
    _assert_same(np.linspace(0.0, 1.0, saw_tooth.size), saw_tooth)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_refused(bad: float) -> None:
    with pytest.raises(DataError, match="finite"):
        isotonic.fit(np.array([0.1, bad, 0.5]), np.array([0.0, 1.0, 1.0]))
    with pytest.raises(DataError, match="finite"):
        isotonic.fit(np.array([0.1, 0.2, 0.5]), np.array([0.0, bad, 1.0]))


def test_empty_and_mismatched_input_are_refused() -> None:
    with pytest.raises(DataError, match="no rows"):
        isotonic.fit(np.array([]), np.array([]))
    with pytest.raises(DataError, match="2 scores but 3 labels"):
        isotonic.fit(np.array([0.1, 0.2]), np.array([0.0, 1.0, 1.0]))
