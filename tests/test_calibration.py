"""Alert quality by simulation: false alarms on undrifted data stay at the significance at
every sample size, real shifts are caught, trivial shifts on huge samples are not alerted.

Evaluations are simulated as histograms (multinomial draws of whole histograms, so a
million-row window costs what a fifty-row one does), both sides drawn from one
distribution: the null hypothesis of the test. The batch pipeline below composes the same
functions evaluate.score() uses, over thousands of evaluations at once;
`test_batch_pipeline_is_what_score_does` pins that composition to score() itself.
Fixed seeds: every number here is reproducible.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from driftmon import config
from driftmon.divergence import Smoothing, divergences
from driftmon.evaluate import CRITICAL, score
from driftmon.histogram import BinningRule, CategoricalBins, Histogram, bin_values, derive_spec
from driftmon.noise import NullCache, NullSettings, null_summaries
from driftmon.significance import CRITICAL as CRITICAL_CODE
from driftmon.significance import WARNING as WARNING_CODE
from driftmon.significance import decide, gate, share_shift

SIGNIFICANCE = 0.01
CORRECTION = "fdr"  # config_schema.Settings.correction
SHARE_SHIFT = 0.05  # config_schema.Settings.share_shift
DEFAULT_THRESHOLDS = {"js": (0.004, 0.02), "psi": (0.02, 0.1)}  # config_schema.DEFAULT_THRESHOLDS
MEASURES = ("kl", "js", "psi")
LIVE_SIZES = (50, 200, 1_000, 10_000, 1_000_000)
BINS = (5, 10, 20, 50)


def reference_size(live_rows: int) -> int:
    """A reference a few times the live window, as usual; at least 10,000 rows."""
    return max(10_000, 4 * live_rows)


def shapes(bins: int) -> dict[str, np.ndarray]:
    """Distributions over `bins` bins: quantile-binned numeric (with rare under/overflow and
    a missing bin), a long-tailed categorical (Zipf) and a geometric one with very rare bins."""
    numeric = np.concatenate([[1e-5], np.full(bins - 3, 0.97 / (bins - 3)), [1e-5], [0.03 - 2e-5]])
    zipf = 1.0 / np.arange(1, bins + 1)
    geometric = 0.7 ** np.arange(bins)
    return {
        "numeric": numeric / numeric.sum(),
        "zipf": zipf / zipf.sum(),
        "geometric": geometric / geometric.sum(),
    }


@dataclass(frozen=True)
class Outcome:
    default: np.ndarray  # (evaluations,) any feature at warning or critical under the default decision
    fixed_only: np.ndarray  # any feature critical by the same thresholds without the significance gate


def simulate(
    rng: np.random.Generator,
    proportions: np.ndarray,
    live_rows: int,
    reference_rows: int,
    evaluations: int,
    features: int,
) -> Outcome:
    """Evaluations of a monitor with `features` undrifted features, decided as score() does."""
    live = rng.multinomial(live_rows, proportions, size=(evaluations, features)).astype(float)
    reference = rng.multinomial(reference_rows, proportions, size=(evaluations, features)).astype(float)
    bins = proportions.size
    scores = divergences(live.reshape(-1, bins), reference.reshape(-1, bins), MEASURES)
    tested = np.ones((evaluations, features), dtype=bool)  # min_samples 0: judge even 50 rows
    gated = gate(live, reference, tested, SIGNIFICANCE, CORRECTION).significant
    shifted = share_shift(live, reference) >= SHARE_SHIFT - 1e-12
    default = np.zeros((evaluations, features), dtype=bool)
    fixed_only = np.zeros((evaluations, features), dtype=bool)
    for measure, (warning, critical) in DEFAULT_THRESHOLDS.items():
        values = scores[measure].reshape(evaluations, features)
        default |= decide(values, warning, critical, gated, shifted) >= WARNING_CODE
        fixed_only |= decide(values, warning, critical, True) == CRITICAL_CODE
    return Outcome(default.any(axis=1), fixed_only.any(axis=1))


def upper_bound(evaluations: int, rate: float = SIGNIFICANCE) -> int:
    """The most alarms a test at `rate` gives in `evaluations` tries, bar a 1-in-1,000 fluke."""
    return int(stats.binom.ppf(0.999, evaluations, rate))


def test_default_decision_false_alarm_rate_is_at_most_the_significance() -> None:
    """Undrifted data, 50 to 1,000,000 live rows, 5 to 50 bins: alarms (warning or critical) stay within the binomial bound of 1%."""
    rng = np.random.default_rng(20240601)
    evaluations, total, alarms = 1000, 0, 0
    for live_rows in LIVE_SIZES:
        for bins in BINS:
            for name, proportions in shapes(bins).items():
                outcome = simulate(rng, proportions, live_rows, reference_size(live_rows), evaluations, 1)
                count = int(outcome.default.sum())
                assert count <= upper_bound(evaluations), (live_rows, bins, name, count)
                total, alarms = total + evaluations, alarms + count
    assert alarms <= upper_bound(total)


def test_default_decision_holds_with_twenty_features_after_correction() -> None:
    """A monitor of 20 undrifted features alarms in at most 1% of evaluations: FDR, with no drift anywhere, keeps the family-wise rate."""
    rng = np.random.default_rng(20240602)
    evaluations, total, alarms = 400, 0, 0
    for live_rows in LIVE_SIZES:
        for bins in (5, 20, 50):
            for name, proportions in shapes(bins).items():
                outcome = simulate(rng, proportions, live_rows, reference_size(live_rows), evaluations, 20)
                count = int(outcome.default.sum())
                assert count <= upper_bound(evaluations), (live_rows, bins, name, count)
                total, alarms = total + evaluations, alarms + count
    assert alarms <= upper_bound(total)


def test_fixed_thresholds_alone_false_alarm_at_small_samples() -> None:
    """With 50 to 200 live rows the fixed thresholds alone fire on noise (up to always); the default decision does not."""
    rng = np.random.default_rng(20240603)
    evaluations = 1000
    rates = {}
    for live_rows, bins in ((50, 10), (50, 20), (50, 50), (200, 50)):
        outcome = simulate(rng, shapes(bins)["numeric"], live_rows, reference_size(live_rows), evaluations, 1)
        rates[live_rows, bins] = float(outcome.fixed_only.mean())
        assert outcome.default.sum() <= upper_bound(evaluations)
    assert rates[50, 10] > 0.05 and rates[50, 20] > 0.5 and rates[50, 50] > 0.99 and rates[200, 50] > 0.05


def test_batch_pipeline_is_what_score_does() -> None:
    """The simulation's composition of divergences, gate and decide gives exactly score()'s severities."""
    rng = np.random.default_rng(20240604)
    text = """
defaults:
  min_samples: 0
monitors:
  - name: m
    reference: {type: file, path: r.csv}
    live: {type: file, path: l.csv}
    features: [f0, f1, f2, f3]
"""
    monitor = config.loads(text, Path("/tmp/driftmon.yaml"), {}).monitors[0]
    spec = CategoricalBins(tuple(f"c{i}" for i in range(8)))
    proportions = np.concatenate([shapes(10)["zipf"], [0.0]])  # 8 categories, other, unseen, missing
    for _ in range(30):
        live = rng.multinomial(60, proportions, size=4).astype(float)
        reference = rng.multinomial(5000, proportions, size=4).astype(float)
        histograms = [
            {f"f{i}": Histogram(spec, side[i, :-1], side[i, -1]) for i in range(4)} for side in (reference, live)
        ]
        results = score(monitor, histograms[0], histograms[1])
        scores = divergences(live, reference, MEASURES)
        gated = gate(live[np.newaxis], reference[np.newaxis], np.ones((1, 4), bool), SIGNIFICANCE, CORRECTION)
        shifted = share_shift(live, reference) >= SHARE_SHIFT - 1e-12
        for i, result in enumerate(results):
            assert result.pvalue_adjusted == pytest.approx(gated.adjusted[0, i], rel=1e-12)
            for measure, (warning, critical) in DEFAULT_THRESHOLDS.items():
                code = decide(scores[measure][i], warning, critical, gated.significant[0, i], shifted[i])
                assert result.severity[measure] == ("ok", "warning", "critical")[int(code)]


# ---------------------------------------------------------------------------
# automatic thresholds


def test_auto_thresholds_alone_fire_at_their_quantile_under_no_drift() -> None:
    """With the gate off, an auto critical threshold (99% null quantile) is exceeded in about 1% of undrifted evaluations."""
    rng = np.random.default_rng(20240605)
    evaluations, total, alarms = 300, 0, 0
    for live_rows, reference_rows, bins in ((50, 10_000, 10), (1_000, 50_000, 20), (20_000, 20_000, 5)):
        for name, proportions in shapes(bins).items():
            live = rng.multinomial(live_rows, proportions, size=evaluations).astype(float)
            reference = rng.multinomial(reference_rows, proportions, size=evaluations).astype(float)
            summaries = null_summaries(live, reference, ("js",), cache=NullCache())
            thresholds = np.array([s.quantiles["js"][1] for s in summaries if s is not None])
            count = int((divergences(live, reference, ("js",))["js"] >= thresholds).sum())
            assert count <= upper_bound(evaluations), (live_rows, bins, name, count)
            total, alarms = total + evaluations, alarms + count
    # Monte Carlo thresholds are exact on average: neither too many alarms nor far too few.
    assert stats.binom.ppf(0.001, total, SIGNIFICANCE) <= alarms <= upper_bound(total)


def normal_monitor(live_rows: int, thresholds: str) -> config.MonitorConfig:
    text = f"""
defaults:
  measures: [kl, js, psi]
  min_samples: 100
  thresholds: {thresholds}
monitors:
  - name: m
    reference: {{type: file, path: r.csv}}
    live: {{type: file, path: l.csv}}
    features: [x]
"""
    return config.loads(text, Path("/tmp/driftmon.yaml"), {}).monitors[0]


def test_auto_thresholds_catch_a_small_shift_at_5000_rows() -> None:
    """A mean shift of 0.2 standard deviations is critical in at least 95% of evaluations at 5,000 live rows, 10 bins."""
    rng = np.random.default_rng(20240606)
    monitor = normal_monitor(5000, "{js: {warning: auto, critical: auto}}")
    reference_values = rng.normal(0.0, 1.0, 50_000)
    spec = derive_spec(BinningRule("x", bins=10), reference_values)
    reference = {"x": bin_values(spec, reference_values, "x")}
    critical, quiet = 0, 0
    evaluations = 200
    for _ in range(evaluations):
        shifted = {"x": bin_values(spec, rng.normal(0.2, 1.0, 5000), "x")}
        critical += score(monitor, reference, shifted)[0].severity["js"] == CRITICAL
        same = {"x": bin_values(spec, rng.normal(0.0, 1.0, 5000), "x")}
        quiet += score(monitor, reference, same)[0].severity["js"] != CRITICAL
    assert critical >= 0.95 * evaluations
    assert evaluations - quiet <= upper_bound(evaluations)


def test_trivial_shift_on_a_million_rows_is_significant_but_not_alerted() -> None:
    """A 0.02-standard-deviation shift on 1,000,000 rows has a tiny p-value but stays below the fixed thresholds: no alert."""
    rng = np.random.default_rng(20240607)
    monitor = normal_monitor(1_000_000, "{js: {warning: 0.004, critical: 0.02}, psi: {warning: 0.02, critical: 0.1}}")
    reference_values = rng.normal(0.0, 1.0, 1_000_000)
    spec = derive_spec(BinningRule("x", bins=10), reference_values)
    reference = {"x": bin_values(spec, reference_values, "x")}
    live = {"x": bin_values(spec, rng.normal(0.02, 1.0, 1_000_000), "x")}
    result = score(monitor, reference, live)[0]
    assert result.pvalue is not None and result.pvalue < 1e-20 and result.significant
    assert result.scores["psi"] < 0.02 and result.scores["js"] < 0.004
    assert set(result.severity.values()) == {"ok"}
    assert result.noise_floor["psi"] < result.scores["psi"]  # the shift is real, just not large


def test_auto_thresholds_follow_the_sample_size() -> None:
    """An auto threshold falls as the live window grows (about as 1/n for JS), unlike a fixed one."""
    proportions = shapes(10)["numeric"]
    thresholds = []
    for live_rows in (100, 1_000, 10_000, 100_000):
        live, reference = proportions * live_rows, proportions * 1_000_000
        summary = null_summaries(live, reference, ("js",), Smoothing(), 2.0, NullSettings(), cache=None)[0]
        assert summary is not None
        thresholds.append(summary.quantiles["js"][1])
    assert all(a > 5 * b for a, b in itertools.pairwise(thresholds))
