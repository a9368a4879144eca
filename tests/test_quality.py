"""Data-quality checks over histograms: shares by hand, the test's p-value against scipy,
severities, constant columns, volume and freshness (schema anomalies: test_schema.py)."""

from __future__ import annotations

import numpy as np
import pytest

from driftmon import quality
from driftmon.histogram import BinningRule, CategoricalBins, Histogram, NumericBins, bin_values, derive_spec

stats = pytest.importorskip("scipy.stats")

DEFAULTS = {"missing": quality.Limits(), "out_of_range": quality.Limits(), "unseen": quality.Limits()}


def _numeric(reference: np.ndarray, live: np.ndarray) -> tuple[Histogram, Histogram]:
    spec = derive_spec(BinningRule("x"), reference)
    return bin_values(spec, reference, "x"), bin_values(spec, live, "x")


def test_missing_share_jump_pages_on_its_own() -> None:
    """Nulls from 1 % to 8 % of 1,000 rows: warning by the default +5 pp, p-value as scipy's z-test."""
    rng = np.random.default_rng(1)
    reference = rng.normal(size=10_000)
    reference[:100] = np.nan
    live = rng.normal(size=1_000)
    live[:80] = np.nan
    ref_hist, live_hist = _numeric(reference, live)
    result = quality.feature_quality("x", ref_hist, live_hist, DEFAULTS)
    assert result.missing.reference == pytest.approx(0.01)
    assert result.missing.live == pytest.approx(0.08)
    share = 100.5 / 10_001  # the reference's share with half a row's prior
    # two-sided: twice the upper tail (abs=0: the p-value is about 1e-44)
    assert result.missing.pvalue == pytest.approx(2 * stats.binom.sf(79, 1_000, share), rel=1e-9, abs=0)
    assert result.missing.severity == "warning"
    assert result.severity("missing") == "warning"
    assert result.severity("out_of_range") == "ok"


def test_small_window_noise_stays_quiet() -> None:
    """6 % nulls in 50 rows against 1 % in the reference: past +5 pp, but not significant."""
    ref_hist, live_hist = _numeric(
        np.r_[np.full(100, np.nan), np.arange(9_900.0)], np.r_[np.full(3, np.nan), np.arange(47.0) * 200]
    )
    result = quality.feature_quality("x", ref_hist, live_hist, DEFAULTS)
    assert result.missing.live - result.missing.reference == pytest.approx(0.05)
    assert result.missing.pvalue == pytest.approx(2 * stats.binom.sf(2, 50, 100.5 / 10_001), rel=1e-9)
    assert result.missing.pvalue > 0.01
    assert result.missing.severity == "ok"
    assert quality.feature_quality("x", ref_hist, live_hist, DEFAULTS, significance=None).missing.severity == "warning"


def test_pvalue_in_the_normal_regime_is_close_to_the_binomial() -> None:
    """Past n·p·(1−p) = 100 the tail is normal: within 2 % of scipy's binomial tail there."""
    spec = NumericBins((0.0, 1.0))
    reference = Histogram(spec, np.array([0.0, 80_000.0, 0.0]), missing=20_000.0)
    live = Histogram(spec, np.array([0.0, 7_700.0, 0.0]), missing=2_300.0)
    result = quality.feature_quality("x", reference, live, DEFAULTS)
    share = 20_000.5 / 100_001
    assert result.missing.pvalue == pytest.approx(stats.binom.sf(2_299, 10_000, share), rel=0.02)


def _nulls(reference_nulls: int, reference_rows: int, live_nulls: int, live_rows: int) -> tuple[Histogram, Histogram]:
    spec = NumericBins((0.0, 1.0))
    reference = Histogram(spec, np.array([0.0, reference_rows - reference_nulls, 0.0]), missing=float(reference_nulls))
    live = Histogram(spec, np.array([0.0, live_rows - live_nulls, 0.0]), missing=float(live_nulls))
    return reference, live


@pytest.mark.parametrize(
    ("live_nulls", "severity"),
    [(235, "warning"), (337, "warning"), (277, "ok"), (297, "ok"), (87, "critical"), (487, "critical")],
)
def test_missing_share_moving_either_way_is_caught(live_nulls: int, severity: str) -> None:
    """Nulls 28.7 % of 50,000 reference rows, 1,000 live rows: a fall to 23.5 % is warning as
    a rise to 33.7 % is (+-5 pp), 20 pp either way critical, 1 pp either way ok; the p-value
    is twice the binomial tail on the side the share moved, normal with continuity (by hand)."""
    reference, live = _nulls(14_350, 50_000, live_nulls, 1_000)
    result = quality.feature_quality("x", reference, live, DEFAULTS)
    assert result.missing.severity == severity
    share = 14_350.5 / 50_001
    sd = (1_000 * share * (1 - share)) ** 0.5
    z = (abs(live_nulls - 1_000 * share) - 0.5) / sd
    assert result.missing.pvalue == pytest.approx(min(1.0, 2 * stats.norm.sf(z)), rel=1e-9, abs=0)
    # the normal tail is 20-30 % off scipy's exact one at z = 3.6, but decides alike at the significance
    exact = 2 * min(stats.binom.sf(live_nulls - 1, 1_000, share), stats.binom.cdf(live_nulls, 1_000, share))
    assert (result.missing.pvalue <= 0.01) == (exact <= 0.01)


def test_missing_share_fall_exact_tail_and_absolute_limits() -> None:
    """Below n·p·(1-p) = 100 the fall's tail is scipy's exact binomial lower tail, doubled;
    ``absolute`` limits stay one-sided (a fall never reaches a live-share limit)."""
    reference, live = _nulls(10_000, 50_000, 7, 100)  # 20 % -> 7 % of 100 rows
    result = quality.feature_quality("x", reference, live, DEFAULTS)
    share = 10_000.5 / 50_001
    assert result.missing.pvalue == pytest.approx(2 * stats.binom.cdf(7, 100, share), rel=1e-9, abs=0)
    assert result.missing.severity == "warning"  # -13 pp, p 0.0015
    absolute = {"missing": quality.Limits(warning=0.05, critical=None, absolute=True)}
    assert quality.feature_quality("x", reference, live, absolute).missing.pvalue == 1.0
    assert quality.feature_quality("x", reference, live, {"out_of_range": quality.Limits()}).missing.severity == "ok"


def test_unit_change_is_out_of_range_above() -> None:
    """Live values ×1000: nearly all above the reference's maximum, critical; none below."""
    rng = np.random.default_rng(2)
    reference = rng.uniform(1, 10, 5_000)
    ref_hist, live_hist = _numeric(reference, rng.uniform(1, 10, 2_000) * 1000)
    result = quality.feature_quality("x", ref_hist, live_hist, DEFAULTS)
    assert result.above is not None and result.below is not None
    assert result.above.reference == 0.0
    assert result.above.live == pytest.approx(1.0)
    assert result.above.severity == "critical"
    assert result.below.live == 0.0
    assert result.severity("out_of_range") == "critical"


def test_absolute_limits_and_disabled_severities() -> None:
    """Absolute limits compare the live share itself; a None severity is never reached."""
    ref_hist, live_hist = _numeric(np.arange(1_000.0), np.r_[np.full(300, np.nan), np.arange(700.0)])
    absolute = {"missing": quality.Limits(warning=0.25, critical=None, absolute=True)}
    assert quality.feature_quality("x", ref_hist, live_hist, absolute).missing.severity == "warning"
    none = {"missing": quality.Limits(warning=None, critical=None)}
    assert quality.feature_quality("x", ref_hist, live_hist, none).missing.severity == "ok"


def test_unseen_categories_share() -> None:
    """A new category taking 30 % of live rows: unseen share 0.3, critical."""
    spec = CategoricalBins(("a", "b"), others=frozenset())
    reference = Histogram(spec, np.array([500.0, 500.0, 0.0, 0.0]))
    live = Histogram(spec, np.array([350.0, 350.0, 0.0, 300.0]), missing=0.0)
    result = quality.feature_quality("c", reference, live, DEFAULTS)
    assert result.unseen is not None
    assert result.unseen.live == pytest.approx(0.3)
    assert result.unseen.severity == "critical"
    assert result.below is None and result.above is None


def test_constant_live_column() -> None:
    """A live column of one category (or one point bin) is constant; one interval bin needs the range."""
    spec = CategoricalBins(("a", "b"))
    reference = Histogram(spec, np.array([10.0, 10.0, 0.0, 0.0]))
    assert quality.feature_quality("c", reference, Histogram(spec, np.array([0.0, 7.0, 0.0, 0.0])), {}).constant
    assert not quality.feature_quality("c", reference, Histogram(spec, np.array([1.0, 7.0, 0.0, 0.0])), {}).constant
    flags = NumericBins((0.0, 1.0), points=(0.0, 1.0))  # (-inf,0) {0} (0,1) {1} (1,inf)
    ref_flags = Histogram(flags, np.array([0.0, 50.0, 0.0, 50.0, 0.0]))
    assert quality.feature_quality("f", ref_flags, Histogram(flags, np.array([0.0, 0.0, 0.0, 9.0, 0.0])), {}).constant
    interval = NumericBins((0.0, 10.0))
    ref_interval = Histogram(interval, np.array([0.0, 100.0, 0.0]))
    live_interval = Histogram(interval, np.array([0.0, 20.0, 0.0]))
    assert not quality.feature_quality("x", ref_interval, live_interval, {}).constant
    assert quality.feature_quality("x", ref_interval, live_interval, {}, live_range=(4.0, 4.0)).constant
    # a constant reference makes a constant live column no anomaly
    one = Histogram(spec, np.array([10.0, 0.0, 0.0, 0.0]))
    assert not quality.feature_quality("c", one, one, {}).constant


def test_volume_and_freshness() -> None:
    """Too few rows is critical, fewer than the ratio of the expected a warning; stale data by age."""
    assert quality.volume(200, min_rows=1_000) == "critical"
    assert quality.volume(40_000, min_rows=1_000, expected=200_000, min_ratio=0.5) == "warning"
    assert quality.volume(150_000, min_rows=1_000, expected=200_000, min_ratio=0.5) == "ok"
    now = 1_000_000.0
    assert quality.freshness(now - 3 * 3600, now, warning_age=3600, critical_age=2 * 3600) == "critical"
    assert quality.freshness(now - 1.5 * 3600, now, warning_age=3600, critical_age=2 * 3600) == "warning"
    assert quality.freshness(now - 60, now, critical_age=7200) == "ok"
    assert quality.freshness(None, now, critical_age=7200) == "critical"


def test_live_histogram_with_categories_of_its_own() -> None:
    """A live histogram file listing categories the reference lacks (or none at all): its
    unseen share counts them, with no index error (found by the histogram-file fuzzer)."""
    reference = Histogram(CategoricalBins(("",)), np.array([1.0, 0.0, 0.0]))
    empty = Histogram(CategoricalBins(()), np.array([0.0, 0.0]))
    result = quality.feature_quality("c", reference, empty, DEFAULTS)
    assert result.unseen is not None and result.unseen.live == 0.0
    other = Histogram(CategoricalBins(("", "new")), np.array([3.0, 1.0, 0.0, 0.0]))
    result = quality.feature_quality("c", reference, other, DEFAULTS)
    assert result.unseen is not None and result.unseen.live == pytest.approx(0.25)
    assert not result.constant
    single = Histogram(CategoricalBins(("new",)), np.array([4.0, 0.0, 0.0]))
    assert quality.feature_quality(
        "c", Histogram(CategoricalBins(("a", "b")), np.array([1.0, 1.0, 0, 0])), single, {}
    ).constant


def test_the_tail_lgamma_is_math_lgamma_exactly() -> None:
    """The binomial tail's lgamma (a table for whole numbers) gives math.lgamma's own floats, also past the
    table's first size and for fractional weights."""
    import math

    from driftmon.quality import _lgamma

    rng = np.random.default_rng(5)
    for start in (1.0, 17.0, 999_000.0, 3_000_000.0):
        values = start + np.arange(0.0, 1001.0)
        assert np.array_equal(_lgamma(values), np.array([math.lgamma(v) for v in values.tolist()]))
    fractional = rng.random(50) * 100 + 0.5
    assert np.array_equal(_lgamma(fractional), np.array([math.lgamma(v) for v in fractional.tolist()]))


def test_a_numeric_column_stuck_inside_a_range_bin_is_constant_across_batches() -> None:
    """A continuous reference, live values all 23.17 (inside one range bin), counted in batches
    as the file sources count them: `constant`. Two different values in that same bin, or the
    live values spread over bins, are not (oracle: the values themselves)."""
    from driftmon.histogram import empty, merge_all, profile_column

    rng = np.random.default_rng(3)
    reference = profile_column(BinningRule("amount", strategy="quantile", bins=10), rng.lognormal(3, 1, 5_000))
    spec = reference.spec

    def live(*batches: np.ndarray) -> Histogram:
        return merge_all(spec, [empty(spec), *(bin_values(spec, batch, "amount") for batch in batches)])

    stuck = live(np.full(300, 23.17), np.array([np.nan, 23.17]), np.array([], dtype=float))
    assert stuck.extent == (23.17, 23.17)
    assert quality.feature_quality("amount", reference, stuck, {}).constant
    near = live(np.full(300, 23.17), np.full(3, 23.18))  # one bin, two values
    assert near.extent == (23.17, 23.18) and np.count_nonzero(near.counts) == 1
    assert not quality.feature_quality("amount", reference, near, {}).constant
    spread = live(np.full(300, 23.17), np.full(3, 900.0))
    mixed = live(np.full(300, 23.17), np.array([1.0, 900.0]))  # a batch over several bins: no extent
    assert mixed.extent is None and not quality.feature_quality("amount", reference, mixed, {}).constant
    assert spread.extent == (23.17, 900.0) and not quality.feature_quality("amount", reference, spread, {}).constant


def test_what_a_histogram_file_can_tell_of_a_constant_column(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A live histogram file holds counts, not values: a column of one category or one point
    bin is `constant`; a numeric column stuck inside a range bin cannot be told from values
    spread inside that bin (no minimum or maximum in the file), so it is not `constant` and
    shows as drift (docs/quality.md, By source type). Oracle: the values written."""
    import json

    from driftmon import config
    from driftmon.evaluate import evaluate
    from driftmon.histogram import profile_column
    from driftmon.histogram_file import to_document

    rng = np.random.default_rng(7)
    rules = {
        "x": (BinningRule("x"), rng.normal(20, 5, 4_000), np.full(500, 23.17)),  # range bins
        "k": (BinningRule("k"), rng.integers(0, 4, 4_000).astype(float), np.full(500, 2.0)),  # point bins
        "c": (BinningRule("c", kind="categorical"), rng.choice(["a", "b", "c"], 4_000), np.full(500, "b")),
    }
    reference = {name: profile_column(rule, values) for name, (rule, values, _) in rules.items()}
    live = {name: bin_values(reference[name].spec, rules[name][2], name) for name in rules}
    assert live["x"].extent == (23.17, 23.17)  # known while counting the values ...
    (tmp_path / "ref.json").write_text(json.dumps(to_document(reference)))
    (tmp_path / "live.json").write_text(json.dumps(to_document(live)))  # ... and not written
    (tmp_path / "c.yaml").write_text(
        "monitors:\n  - name: m\n    reference: {type: histogram, path: ref.json}\n"
        "    live: {type: histogram, path: live.json}\n    features: [x, k, {name: c, kind: categorical}]\n"
    )
    result = evaluate(config.load(tmp_path / "c.yaml").monitors[0])
    assert result.ok, result.error
    by_name = {f.feature: f for f in result.features}
    assert by_name["k"].quality.constant and by_name["c"].quality.constant
    assert not by_name["x"].quality.constant and by_name["x"].worst == "critical"  # drift, not `constant`
