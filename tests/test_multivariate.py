"""Joint drift: a flipped correlation that leaves every marginal unchanged is found by both
methods and explained by the two features involved; no drift stays quiet."""

from __future__ import annotations

import numpy as np
import pytest

from driftmon import multivariate
from driftmon.errors import DataError


def _rows(seed: int, rows: int, correlation: float) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=rows)
    b = correlation * a + np.sqrt(1 - correlation**2) * rng.normal(size=rows)
    return {
        "a": a,
        "b": b,
        "noise1": rng.normal(size=rows),
        "noise2": rng.exponential(size=rows),
        "tier": rng.choice(np.array(["gold", "silver", "bronze"], dtype=object), rows, p=[0.2, 0.3, 0.5]),
    }


NUMERIC = ("a", "b", "noise1", "noise2")


def _encoded(
    reference: dict[str, np.ndarray], live: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    encoder = multivariate.fit_encoder(reference, NUMERIC)
    return encoder.transform(reference), encoder.transform(live), encoder.owners


def test_marginals_unchanged_but_correlation_flipped() -> None:
    """corr(a, b) +0.8 -> -0.8: each marginal is the same normal, yet both methods find the
    shift (p < 1e-6) and name a and b as what moved."""
    reference, live, owners = _encoded(_rows(1, 4_000, 0.8), _rows(2, 1_500, -0.8))
    by_classifier = multivariate.classifier(reference, live, owners)
    for result in (multivariate.reconstruction(reference, live, owners), by_classifier):
        assert result.pvalue < 1e-6, result.method
        top_two = list(result.contributions)[:2]
        assert set(top_two) == {"a", "b"}, (result.method, dict(result.contributions))
        assert sum(result.contributions.values()) == pytest.approx(1.0)
    assert by_classifier.score > 0.7


def test_no_drift_is_quiet() -> None:
    """Both sides from one distribution: no method reaches p <= 0.01, nothing is explained."""
    reference, live, owners = _encoded(_rows(3, 4_000, 0.8), _rows(4, 1_500, 0.8))
    by_classifier = multivariate.classifier(reference, live, owners)
    for result in (multivariate.reconstruction(reference, live, owners), by_classifier):
        assert result.pvalue > 0.01, result.method
        assert result.contributions == {}
    assert abs(by_classifier.score - 0.5) < 0.05


def test_reconstruction_false_alarms_are_rare() -> None:
    """Over 40 no-drift pairs (a new reference each time), p <= 0.05 at most 6 times (expected 2)."""
    alarms = 0
    for seed in range(40):
        reference_columns = _rows(1_000 + seed, 2_000, 0.6)
        encoder = multivariate.fit_encoder(reference_columns, NUMERIC)
        live = encoder.transform(_rows(2_000 + seed, 500, 0.6))
        alarms += multivariate.reconstruction(encoder.transform(reference_columns), live, encoder.owners).pvalue <= 0.05
    assert alarms <= 6


def test_one_row_cannot_carry_the_reconstruction_score() -> None:
    """500 live rows from the reference's distribution plus one row 1,000 deviations out on a
    lognormal feature: no drift (p > 0.05), as without that row. Before the errors were
    capped, that row alone gave p = 5e-6, and heavy-tailed features gave p <= 0.05 in 6.7 %
    of no-drift windows at 500 live rows (benchmarks/joint/run.py false-alarms)."""
    rng = np.random.default_rng(8)

    def rows(count: int) -> np.ndarray:
        a = rng.normal(size=count)
        return np.column_stack([a, 0.6 * a + 0.8 * rng.normal(size=count), rng.lognormal(size=count)])

    reference, live = rows(5_000), rows(500)
    quiet = multivariate.reconstruction(reference, live, ["a", "b", "c"], seed=1)
    outlier = np.vstack([live, [[0.0, 0.0, 1_000.0 * reference[:, 2].std()]]])
    loud = multivariate.reconstruction(reference, outlier, ["a", "b", "c"], seed=1)
    assert quiet.pvalue > 0.05
    assert loud.pvalue > 0.05, loud


def test_encoder_one_hot_other_and_missing() -> None:
    """Top categories one-hot, the rest as other, None as missing; a numeric NaN as the mean."""
    columns = {
        "x": np.array([1.0, 3.0, np.nan, 2.0]),
        "c": np.array(["a", "a", "b", None], dtype=object),
    }
    encoder = multivariate.fit_encoder(columns, ["x"], top=1)
    assert encoder.owners == ("x", "c", "c", "c")
    matrix = encoder.transform({"x": np.array([np.nan, 2.0]), "c": np.array(["a", "z"], dtype=object)})
    assert matrix.tolist() == [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]
    matrix = encoder.transform({"x": np.array([3.0]), "c": np.array([None], dtype=object)})
    assert matrix[0, 0] == pytest.approx((3.0 - 2.0) / np.std([1.0, 3.0, 2.0]))
    assert matrix[0, 3] == 1.0


def test_too_few_rows_is_a_data_error() -> None:
    """Fewer reference rows than the leave-chunk-out needs: a DataError, not a crash."""
    with pytest.raises(DataError, match="at least 20 reference rows"):
        multivariate.reconstruction(np.zeros((4, 2)), np.zeros((3, 2)), ["a", "b"])


def test_two_uncorrelated_features_still_leave_a_residual() -> None:
    """Two uncorrelated columns need both components for 65 % of the variance, which would
    reconstruct every row exactly (error 0, blind): at most d - 1 are kept, so a live column
    whose spread triples is found."""
    rng = np.random.default_rng(9)
    reference = rng.normal(size=(3_000, 2))
    live = rng.normal(size=(1_000, 2)) * [1.0, 3.0]
    result = multivariate.reconstruction(reference, live, ["a", "b"])
    assert result.score > 0.1 and result.pvalue < 1e-6


def test_the_classifier_auc_is_scikit_learns_within_noise() -> None:
    """The numpy trees (driftmon.boosting) against scikit-learn's HistGradientBoostingClassifier
    (20 trees of 15 leaves, as the classifier used until 2026-12-04) on the same held-out
    split: the flipped correlation and a no-drift pair give held-out AUCs within 0.02."""
    ensemble = pytest.importorskip("sklearn.ensemble")
    for live_correlation in (-0.8, 0.8):
        reference, live, owners = _encoded(_rows(11, 3_000, 0.8), _rows(12, 3_000, live_correlation))
        ours = multivariate.classifier(reference, live, owners, seed=3)
        rows = np.vstack([reference, live])
        labels = np.r_[np.zeros(len(reference), dtype=bool), np.ones(len(live), dtype=bool)]
        generator = np.random.default_rng(3)  # the classifier's own held-out split
        held = np.r_[generator.permutation(len(reference)) < len(reference) // 2,
                     generator.permutation(len(live)) < len(live) // 2]  # fmt: skip
        model = ensemble.HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=15, early_stopping=False)
        model.fit(rows[~held], labels[~held])
        theirs = multivariate._auc(labels[held], model.predict_proba(rows[held])[:, 1])[0]
        assert abs(ours.score - theirs) < 0.02, (live_correlation, ours.score, theirs)


def test_categories_are_one_column_each() -> None:
    """A categorical feature's one-hot columns (top values, other, missing) become one column of
    category numbers for the trees; a numeric column is kept as it is."""
    rows = np.array([[0.5, 0.0, 1.0, 0.0, 0.0], [-1.0, 0.0, 0.0, 0.0, 1.0], [2.0, 1.0, 0.0, 0.0, 0.0]])
    compact, categorical = multivariate._categories(rows, ["x", "c", "c", "c", "c"])
    assert compact.tolist() == [[0.5, 1.0], [-1.0, 3.0], [2.0, 0.0]]
    assert categorical.tolist() == [False, True]


def _svd_oracle(reference: np.ndarray, live: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """The reconstruction's score and no-drift mean written out with an SVD per fit, each row's
    error capped at the held-out errors' ERROR_CAP quantile."""

    def fit(rows: np.ndarray):
        mean, std = rows.mean(axis=0), rows.std(axis=0)
        std = np.where(std > 1e-12, std, 1.0)
        _, singular, components = np.linalg.svd((rows - mean) / std, full_matrices=False)
        share = np.cumsum(singular**2) / (singular**2).sum()
        kept = min(int(np.searchsorted(share, multivariate.VARIANCE_KEPT - 1e-12) + 1), rows.shape[1] - 1)

        def residuals(other: np.ndarray) -> np.ndarray:
            z = (other - mean) / std
            return z - (z @ components[:kept].T) @ components[:kept]

        return residuals

    fold = np.random.default_rng(seed).permutation(len(reference)) % multivariate.CHUNKS
    errors = np.empty(len(reference))
    for index in range(multivariate.CHUNKS):
        held = fold == index
        errors[held] = np.linalg.norm(fit(reference[~held])(reference[held]), axis=1)
    ordered = np.sort(errors)  # the cap: the ERROR_CAP quantile, interpolated between two errors
    position = multivariate.ERROR_CAP * (len(ordered) - 1)
    low = int(position)
    cap = ordered[low] + (position - low) * (ordered[min(low + 1, len(ordered) - 1)] - ordered[low])
    score = float(np.minimum(np.linalg.norm(fit(reference)(live), axis=1), cap).mean())
    return score, float(np.minimum(errors, cap).mean())


def test_reconstruction_from_moments_equals_an_svd_per_fit() -> None:
    """Components from each fold's moments (the whole sample's minus the fold's own) give the
    score and the leave-chunk-out mean error of an SVD of each fit's rows, to 1e-9, with
    correlated, one-hot and constant columns."""
    reference, live, _ = _encoded(_rows(11, 3_000, 0.7), _rows(12, 800, -0.3))
    reference = np.column_stack([reference, np.full(len(reference), 0.0)])
    live = np.column_stack([live, np.full(len(live), 0.0)])
    result = multivariate.reconstruction(reference, live, [f"c{i}" for i in range(reference.shape[1])], seed=3)
    score, expected = _svd_oracle(reference, live, seed=3)
    assert result.score == pytest.approx(score, rel=1e-9)
    assert result.expected == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("ties", [False, True])
def test_auc_and_its_null_spread_equal_mann_whitney(ties: bool) -> None:
    """The AUC is scipy's Mann-Whitney U over the two counts; the p-value from its tie-corrected
    spread equals scipy's asymptotic one-sided p (no continuity correction), ties included."""
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(7)
    scores = rng.normal(size=700)
    if ties:
        scores = np.round(scores, 1)  # a tree model gives many rows one score
    labels = rng.random(700) < 0.3
    scores[labels] += 0.1
    auc, spread = multivariate._auc(labels, scores)
    found = stats.mannwhitneyu(
        scores[labels], scores[~labels], alternative="greater", method="asymptotic", use_continuity=False
    )
    assert auc == pytest.approx(found.statistic / (labels.sum() * (~labels).sum()), rel=1e-12)
    assert multivariate._upper_tail((auc - 0.5) / spread) == pytest.approx(found.pvalue, rel=1e-9)


def test_the_skewed_tail_is_closer_to_the_exact_one() -> None:
    """The mean of 50 exponential draws (skewness 2/sqrt(50)) is Gamma(50)/50: Edgeworth's tail at
    z = 1.645, 2.33, 3 is at least twice nearer to the gamma tail than the normal tail is."""
    stats = pytest.importorskip("scipy.stats")
    n = 50
    for z in (1.645, 2.33, 3.0):
        exact = stats.gamma(n, scale=1 / n).sf(1 + z / np.sqrt(n))
        skewed = multivariate._skewed_upper_tail(z, 2 / np.sqrt(n))
        normal = multivariate._upper_tail(z)
        assert abs(skewed - exact) < abs(normal - exact) / 2, z
    assert multivariate._skewed_upper_tail(1.2, 0.0) == multivariate._upper_tail(1.2)
    assert 0.0 <= multivariate._skewed_upper_tail(-8.0, -5.0) <= 1.0


def test_the_classifier_pvalue_is_uniform_without_drift() -> None:
    """80 no-drift pairs of 400 reference and 100 live rows: the held-out AUC's p-values are
    uniform (Kolmogorov-Smirnov p > 0.001) and p <= 0.05 at most 10 times (expected 4)."""
    stats = pytest.importorskip("scipy.stats")
    pvalues = []
    for seed in range(80):
        reference, live, owners = _encoded(_rows(5_000 + seed, 400, 0.6), _rows(6_000 + seed, 100, 0.6))
        pvalues.append(multivariate.classifier(reference, live, owners, seed=seed).pvalue)
    assert stats.kstest(pvalues, "uniform").pvalue > 0.001
    assert sum(p <= 0.05 for p in pvalues) <= 10


def test_missing_text_is_none_or_nan_and_pandas_na_is_a_value() -> None:
    """None and NaN in a text column are missing (the `missing` column); pandas' NA, whose
    comparisons are not booleans, is read as a value as before, not an error."""
    pd = pytest.importorskip("pandas")
    values = np.array(["a", None, float("nan"), "b"], dtype=object)
    np.testing.assert_array_equal(multivariate._is_missing(values), [False, True, True, False])
    with_na = np.array(["a", pd.NA, None], dtype=object)
    np.testing.assert_array_equal(multivariate._is_missing(with_na), [False, False, True])
