"""Sample-size-aware decisions: the chi-square tail, the test of homogeneity, the correction,
and how evaluate() joins them with the null simulation (oracles: scipy and formulas by hand)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from driftmon import config
from driftmon.errors import ConfigError
from driftmon.evaluate import CRITICAL, INSUFFICIENT, OK, WARNING, dataset_level, score
from driftmon.histogram import CategoricalBins, Histogram, NumericBins
from driftmon.noise import null_summaries
from driftmon.significance import (
    CRESSIE_READ,
    LOG_LIKELIHOOD,
    PEARSON,
    adjust,
    chi2_sf,
    decide,
    gate,
    homogeneity_test,
)

# ---------------------------------------------------------------------------
# chi2_sf


def relative_error(ours: np.ndarray, oracle: np.ndarray) -> float:
    return float(np.max(np.abs(ours - oracle) / oracle))


def test_chi2_sf_matches_scipy_for_small_df() -> None:
    """chi2_sf equals scipy.stats.chi2.sf to 1e-12 relative for df 1..300 over the whole range."""
    worst = 0.0
    for df in range(1, 301):
        x = np.concatenate(
            [np.linspace(0, 4 * df + 60, 200), df * np.array([1e-6, 0.01, 0.5, 0.99, 1.0, 1.01, 2.0, 8.0])]
        )
        oracle = stats.chi2.sf(x, df)
        keep = oracle > 1e-290
        worst = max(worst, relative_error(chi2_sf(x[keep], df), oracle[keep]))
    assert worst < 1e-12


@pytest.mark.parametrize("df", [1000, 4999, 20000, 100000, 199999])
def test_chi2_sf_matches_scipy_for_large_df(df: int) -> None:
    """chi2_sf equals scipy.stats.chi2.sf to 1e-9 relative up to df = 200,000 (categorical features)."""
    spread = math.sqrt(2 * df)
    x = df + spread * np.linspace(-8, 12, 201)
    x = x[x > 0]
    oracle = stats.chi2.sf(x, df)
    keep = oracle > 1e-290
    assert relative_error(chi2_sf(x[keep], df), oracle[keep]) < 1e-9


def test_chi2_sf_limits_are_floats_never_nan() -> None:
    """A zero statistic gives 1, an infinite or astronomically large one 0.0 (never NaN), arrays broadcast."""
    values = chi2_sf(np.array([0.0, np.inf, 1e7, 1e300]), np.array([3.0, 3.0, 10.0, 1.0]))
    assert values.tolist() == [1.0, 0.0, 0.0, 0.0]
    assert chi2_sf(np.array([[1.0], [2.0]]), np.array([1.0, 2.0])).shape == (2, 2)


@pytest.mark.parametrize(("statistic", "df"), [(1.0, 0.0), (1.0, -2.0), (np.nan, 3.0), (-1.0, 3.0), (1.0, np.inf)])
def test_chi2_sf_rejects_invalid_arguments(statistic: float, df: float) -> None:
    """Degrees of freedom <= 0 or infinite and negative or NaN statistics are a ValueError."""
    with pytest.raises(ValueError):
        chi2_sf(statistic, df)


# ---------------------------------------------------------------------------
# homogeneity_test


@pytest.mark.parametrize(
    ("lambda_", "name"), [(CRESSIE_READ, "cressie-read"), (PEARSON, "pearson"), (LOG_LIKELIHOOD, "log-likelihood")]
)
def test_test_matches_scipy_chi2_contingency(lambda_: float, name: str) -> None:
    """Without rare bins the statistic, df and p-value equal scipy's chi2_contingency on the 2 x B table."""
    rng = np.random.default_rng(11)
    live = rng.multinomial(800, [0.2, 0.3, 0.1, 0.25, 0.15], size=30).astype(float)
    reference = rng.multinomial(5000, [0.2, 0.28, 0.12, 0.25, 0.15], size=30).astype(float)
    live = np.insert(live, 2, 0.0, axis=1)  # a bin empty on both sides: dropped, not a degree of freedom
    reference = np.insert(reference, 2, 0.0, axis=1)
    test = homogeneity_test(live, reference, lambda_=lambda_)
    for row in range(30):
        keep = (live[row] + reference[row]) > 0
        oracle = stats.chi2_contingency(
            np.vstack([live[row, keep], reference[row, keep]]), correction=False, lambda_=name
        )
        assert test.df[row] == oracle.dof == 4
        assert test.statistic[row] == pytest.approx(oracle.statistic, rel=1e-11)
        assert test.pvalue[row] == pytest.approx(oracle.pvalue, rel=1e-10)


def test_rare_bins_are_pooled_rarest_first_into_groups_of_five_expected() -> None:
    """Bins expected below 5 rows in the smaller sample are grouped as documented, then tested like scipy."""
    # live 100 rows, reference 10,000: expected live count of a bin = pooled count * 100 / 10,100
    live = np.array([30.0, 30.0, 20.0, 10.0, 3.0, 2.0, 1.0, 1.0, 2.0, 1.0])
    reference = np.array([3000.0, 3000.0, 2000.0, 1000.0, 290.0, 250.0, 200.0, 120.0, 80.0, 60.0])
    expected = (live + reference) * 100 / 10100
    assert (expected[:4] >= 5).all() and (expected[4:] < 5).all()
    # rarest first: [61, 82, 121] reach 2.62 < 5, + 201 -> 4.6 < 5, + 252 -> 7.1: group 1 = bins 9,8,7,6,5;
    # bin 4 (293 -> 2.9) is the remainder and joins it.
    pooled_live = np.array([30.0, 30.0, 20.0, 10.0, live[4:].sum()])
    pooled_reference = np.array([3000.0, 3000.0, 2000.0, 1000.0, reference[4:].sum()])
    oracle = stats.chi2_contingency(
        np.vstack([pooled_live, pooled_reference]), correction=False, lambda_="cressie-read"
    )
    test = homogeneity_test(live, reference)
    assert test.df == oracle.dof == 4
    assert float(test.pvalue) == pytest.approx(oracle.pvalue, rel=1e-10)


def test_groups_form_when_the_rare_bins_add_up_to_several() -> None:
    """Twenty rare bins expected 1 row each form four groups of five, so df counts groups, not bins."""
    live = np.concatenate([np.full(20, 1.0), [500.0]])  # live 520 rows
    reference = np.concatenate([np.full(20, 1.0), [500.0]])  # pooled 2 per rare bin, expected 1 in 520
    test = homogeneity_test(live, reference)
    assert test.df == 4  # 4 groups + the common bin = 5 groups
    assert float(test.pvalue) == 1.0 or float(test.pvalue) == pytest.approx(1.0)


def test_one_live_row_in_a_bin_rare_in_a_large_reference_is_no_alarm() -> None:
    """A single out-of-range live row, which makes the unpooled chi-square test fire, leaves the p-value high."""
    rng = np.random.default_rng(3)
    reference = np.concatenate([[0.0], rng.multinomial(100_000, np.full(10, 0.1)), [1.0]]).astype(float)
    live = np.concatenate([[1.0], rng.multinomial(999, np.full(10, 0.1)), [0.0]]).astype(float)
    unpooled = stats.chi2_contingency(np.vstack([live, reference]), correction=False)
    assert unpooled.pvalue < 1e-10
    assert float(homogeneity_test(live, reference).pvalue) > 0.05


def test_empty_side_has_no_test_and_single_group_has_p_one() -> None:
    """A side with no rows gives NaN (no p-value); everything in one bin gives df 0 and p = 1."""
    live = np.array([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0], [10.0, 20.0, 0.0]])
    reference = np.array([[10.0, 20.0, 30.0], [50.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    test = homogeneity_test(live, reference)
    assert math.isnan(test.pvalue[0]) and math.isnan(test.pvalue[2]) and math.isnan(test.df[2])
    assert test.df[1] == 0 and test.pvalue[1] == 1.0


def test_huge_samples_give_zero_not_nan() -> None:
    """Billions of rows with a real shift give a p-value of exactly 0.0, a float, never NaN."""
    live = np.array([4e9, 6e9, 1e9])
    reference = np.array([5e9, 5e9, 1e9])
    test = homogeneity_test(live, reference)
    assert float(test.pvalue) == 0.0 and math.isfinite(float(test.statistic))


def test_padding_and_bin_order_do_not_change_the_test() -> None:
    """Bins empty on both sides and the order of bins change neither the statistic nor df."""
    rng = np.random.default_rng(5)
    live = rng.multinomial(300, rng.dirichlet(np.ones(12)), size=10).astype(float)
    reference = rng.multinomial(3000, rng.dirichlet(np.ones(12)), size=10).astype(float)
    base = homogeneity_test(live, reference)
    order = rng.permutation(12)
    permuted = homogeneity_test(live[:, order], reference[:, order])
    padded = homogeneity_test(np.pad(live, ((0, 0), (3, 4))), np.pad(reference, ((0, 0), (3, 4))))
    for other in (permuted, padded):
        np.testing.assert_allclose(other.statistic, base.statistic, rtol=1e-12)
        np.testing.assert_array_equal(other.df, base.df)


def test_weights_count_as_rows() -> None:
    """Counts are frequency weights: multiplying both histograms by 4 multiplies the statistic by 4."""
    live = np.array([120.0, 80.0, 100.0, 90.0])
    reference = np.array([1000.0, 1100.0, 950.0, 1050.0])
    one = homogeneity_test(live, reference)
    four = homogeneity_test(4 * live, 4 * reference)
    assert float(four.statistic) == pytest.approx(4 * float(one.statistic), rel=1e-12)


def test_test_rejects_bad_counts() -> None:
    """Negative, NaN or mismatched counts are a ValueError, not a silent p-value."""
    with pytest.raises(ValueError):
        homogeneity_test([1.0, -1.0], [1.0, 1.0])
    with pytest.raises(ValueError):
        homogeneity_test([1.0, np.nan], [1.0, 1.0])
    with pytest.raises(ValueError):
        homogeneity_test([1.0, 2.0], [1.0, 1.0, 3.0])


# ---------------------------------------------------------------------------
# adjust, gate, decide


def holm_by_hand(p: list[float]) -> list[float]:
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    result, running = [0.0] * m, 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        result[index] = running
    return result


def bh_by_hand(p: list[float]) -> list[float]:
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    result, running = [0.0] * m, 1.0
    for rank in range(m - 1, -1, -1):
        index = order[rank]
        running = min(running, m * p[index] / (rank + 1))
        result[index] = min(running, 1.0)
    return result


def test_adjust_matches_the_definitions_written_out() -> None:
    """holm, bonferroni and fdr equal loops written from their definitions; NaN entries are skipped and kept."""
    rng = np.random.default_rng(8)
    for _ in range(50):
        p = rng.uniform(0, 0.2, 9) ** 2
        p[rng.integers(0, 9, 2)] = np.nan
        tested = [float(v) for v in p if not math.isnan(v)]
        where = ~np.isnan(p)
        np.testing.assert_allclose(adjust(p, "holm")[where], holm_by_hand(tested), rtol=1e-14)
        np.testing.assert_allclose(adjust(p, "fdr")[where], bh_by_hand(tested), rtol=1e-14)
        np.testing.assert_allclose(adjust(p, "bonferroni")[where], np.minimum(1, np.array(tested) * len(tested)))
        np.testing.assert_array_equal(adjust(p, "none"), p)
        for method in ("holm", "fdr", "bonferroni"):
            assert np.isnan(adjust(p, method)[~where]).all()


def test_adjust_corrects_each_row_of_a_batch_alone() -> None:
    """A 2-D array (evaluations x features) is corrected row by row."""
    p = np.array([[0.01, 0.02, 0.03], [0.5, 0.001, np.nan]])
    batch = adjust(p, "holm")
    np.testing.assert_allclose(batch[0], holm_by_hand([0.01, 0.02, 0.03]))
    np.testing.assert_allclose(batch[1, :2], holm_by_hand([0.5, 0.001]))


def test_adjust_rejects_unknown_method() -> None:
    """An unknown correction name is a ValueError listing the valid ones."""
    with pytest.raises(ValueError, match="holm, bonferroni, fdr, none"):
        adjust([0.1], "sidak")


def test_decide_needs_both_effect_size_and_significance() -> None:
    """A level is reached only when the score reaches it and the feature is significant; NaN levels are absent."""
    score = np.array([0.2, 0.2, 0.07, 0.07, 0.01, 0.2, np.nan])
    significant = np.array([True, False, True, False, True, True, True])
    warning = np.array([0.05, 0.05, 0.05, 0.05, 0.05, np.nan, 0.05])
    critical = np.array([0.1, 0.1, 0.1, 0.1, 0.1, np.nan, 0.1])
    assert decide(score, warning, critical, significant).tolist() == [2, 0, 1, 0, 0, 0, 0]
    assert decide(0.2, 0.3, 0.1, True) == 2  # critical below warning (auto): still critical


def test_gate_skips_untested_features_in_the_correction() -> None:
    """Features not tested get NaN and do not count in m; significance None lets everything through."""
    live = np.array([[[60.0, 40.0], [50.0, 50.0], [70.0, 30.0]]])
    reference = np.array([[[5000.0, 5000.0], [5000.0, 5000.0], [5000.0, 5000.0]]])
    tested = np.array([[True, False, True]])
    result = gate(live, reference, tested, 0.01, "bonferroni")
    raw = homogeneity_test(live[0], reference[0]).pvalue
    assert math.isnan(result.pvalue[0, 1]) and math.isnan(result.adjusted[0, 1])
    assert result.adjusted[0, 0] == pytest.approx(min(1.0, 2 * raw[0]))
    assert result.significant[0].tolist() == [False, False, True]
    assert gate(live, reference, tested, None).significant.all()


# ---------------------------------------------------------------------------
# through evaluate.score


MONITOR = """
defaults:
  measures: [kl, js, psi]
  min_samples: {min_samples}
{extra}
monitors:
  - name: m
    reference: {{type: file, path: ref.csv}}
    live: {{type: file, path: live.csv}}
    features: [a, b, c]
"""


def monitor(min_samples: int = 20, extra: str = "") -> config.MonitorConfig:
    text = MONITOR.format(min_samples=min_samples, extra=extra)
    return config.loads(text, Path("/tmp/driftmon.yaml"), {}).monitors[0]


def numeric(counts: list[float], missing: float = 0.0) -> Histogram:
    return Histogram(NumericBins(tuple(float(e) for e in range(len(counts) - 1))), np.array(counts, float), missing)


def test_score_reports_pvalue_noise_floor_and_auto_thresholds() -> None:
    """Each feature carries its p-value, corrected p-value, noise floor, and `auto` resolved to the null quantile."""
    settings = monitor(extra="  thresholds: {js: {warning: 0.05, critical: auto}}")
    reference = {name: numeric([10, 2000, 2000, 2000, 2000, 10]) for name in "abc"}
    live = {
        "a": numeric([1, 200, 200, 200, 200, 1]),  # no drift
        "b": numeric([1, 400, 100, 100, 200, 1]),  # drift
        "c": numeric([0, 5, 0, 0, 5, 0]),  # 10 rows: below min_samples
    }
    results = {f.feature: f for f in score(settings, reference, live)}
    a, b, c = results["a"], results["b"], results["c"]
    assert a.pvalue is not None and a.pvalue > 0.5 and b.pvalue is not None and b.pvalue < 1e-20
    assert a.pvalue_adjusted == pytest.approx(min(1.0, 2 * a.pvalue))  # holm over the two tested features
    assert c.pvalue is None and c.pvalue_adjusted is None and c.severity == dict.fromkeys(c.scores, INSUFFICIENT)
    summary = null_summaries(
        np.array([1, 200, 200, 200, 200, 1, 0.0]),
        np.array([10, 2000, 2000, 2000, 2000, 10, 0.0]),
        settings.measures,
        settings.smoothing,
        settings.log_base,
        settings.null,
    )[0]
    assert summary is not None
    assert a.thresholds["js"] == (0.05, summary.quantiles["js"][1])
    assert a.noise_floor == summary.mean
    assert b.severity["js"] == CRITICAL and a.severity["js"] == OK
    document = a.to_json()
    assert document["pvalue"] == a.pvalue and set(document["noise_floor"]) == {"kl", "js", "psi"}
    assert document["thresholds"]["js"] == {"warning": 0.05, "critical": summary.quantiles["js"][1]}


def test_small_sample_score_above_threshold_but_not_significant_is_ok() -> None:
    """20 live rows score above the fixed PSI threshold by chance: ok by default, critical with the gate off."""
    reference = {name: numeric([0, 2500, 2500, 2500, 2500, 0]) for name in "abc"}
    live = {name: numeric([0, 10, 2, 3, 5, 0]) for name in "abc"}
    gated = score(monitor(), reference, live)
    ungated = score(monitor(extra="  significance: null"), reference, live)
    assert gated[0].scores["psi"] >= 0.25  # the default critical PSI threshold
    assert gated[0].pvalue is not None and gated[0].pvalue > 0.01
    assert gated[0].severity["psi"] == OK and not gated[0].significant
    assert ungated[0].severity["psi"] == CRITICAL and ungated[0].pvalue == gated[0].pvalue


def test_dataset_drift_counts_and_share() -> None:
    """drifted_features counts features per worst severity; dataset drift needs the configured share of judged ones."""
    settings = monitor(extra="  dataset_drift: {share: 0.5}")
    reference = {name: numeric([0, 5000, 5000, 5000, 5000, 0]) for name in "abc"}
    live = {
        "a": numeric([0, 1200, 200, 200, 400, 0]),
        "b": numeric([0, 500, 500, 500, 500, 0]),
        "c": numeric([0, 1, 2, 3, 4, 0]),  # insufficient: not judged
    }
    features = score(settings, reference, live)
    assert [f.worst for f in features] == [CRITICAL, OK, INSUFFICIENT]
    counts, share, drifted = dataset_level(settings, features)
    assert counts == {WARNING: 0, CRITICAL: 1} and share == 0.5 and drifted is True
    assert dataset_level(monitor(), features)[2] is None  # not configured
    stricter = monitor(extra="  dataset_drift: {share: 0.6}")
    assert dataset_level(stricter, features)[2] is False


def test_categorical_unseen_value_in_live_is_tested() -> None:
    """A categorical feature whose live side has a new value is tested over the union of bins."""
    settings = monitor()
    spec = CategoricalBins(("x", "y"))
    reference = {name: Histogram(spec, np.array([5000.0, 5000.0, 0.0, 0.0])) for name in "abc"}
    live = {name: Histogram(spec, np.array([400.0, 400.0, 0.0, 200.0])) for name in "abc"}
    features = score(settings, reference, live)
    assert all(f.pvalue is not None and f.pvalue < 1e-30 for f in features)


@pytest.mark.parametrize(
    ("extra", "path"),
    [
        ("  significance: 0", "defaults.significance"),
        ("  significance: 1.5", "defaults.significance"),
        ("  correction: sidak", "defaults.correction"),
        ("  thresholds: {js: {critical: automatic}}", "defaults.thresholds.js.critical"),
        ("  dataset_drift: {share: 0}", "defaults.dataset_drift.share"),
        ("  auto_thresholds: {draws: 10}", "defaults.auto_thresholds.draws"),
        ("  auto_thresholds: {warning_quantile: 0.99, critical_quantile: 0.9}", "defaults.auto_thresholds"),
    ],
)
def test_bad_decision_settings_are_config_errors_naming_the_key(extra: str, path: str) -> None:
    """Out-of-range significance, unknown corrections, bad `auto` spellings and shares name their key path."""
    with pytest.raises(ConfigError) as caught:
        monitor(extra=extra)
    assert path in str(caught.value)
