"""The null simulation: noise floors and auto thresholds against the chi-square limits, and its cache key."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from driftmon.divergence import Smoothing
from driftmon.noise import NullCache, NullSettings, null_summaries


def test_noise_floor_of_kl_is_the_plug_in_bias() -> None:
    """Against a huge reference, the noise floor of KL in nats is the plug-in bias (bins - 1) / (2n)."""
    bins, live_rows = 10, 400
    live = np.full(bins, live_rows / bins)
    reference = np.full(bins, 1e7 / bins)
    summary = null_summaries(live, reference, ["kl"], Smoothing("none"), math.e, NullSettings(draws=4000), cache=None)[
        0
    ]
    assert summary is not None
    assert summary.mean["kl"] == pytest.approx((bins - 1) / (2 * live_rows), rel=0.04)


def test_large_sample_null_follows_the_chi_square_limit() -> None:
    """At large sizes, 2 KL / (1/n_l + 1/n_r) is chi-square(bins - 1): mean and 99% quantile agree (JS and PSI too)."""
    bins, n_live, n_reference = 12, 50_000, 200_000
    proportions = np.linspace(1, 3, bins) / np.linspace(1, 3, bins).sum()
    live, reference = proportions * n_live, proportions * n_reference
    summary = null_summaries(live, reference, ["kl", "js", "psi"], log_base=math.e, cache=None)[0]
    assert summary is not None
    scale = 1 / n_live + 1 / n_reference  # KL ~ scale/2 chi2, JS ~ scale/8 chi2, PSI ~ scale chi2
    for measure, factor in (("kl", 0.5), ("js", 0.125), ("psi", 1.0)):
        assert summary.mean[measure] == pytest.approx(factor * scale * (bins - 1), rel=0.03)
        assert summary.quantiles[measure][1] == pytest.approx(factor * scale * stats.chi2.ppf(0.99, bins - 1), rel=0.08)
        assert summary.quantiles[measure][0] < summary.quantiles[measure][1]


def test_null_results_depend_only_on_the_rounded_key() -> None:
    """Permuted bins and nearby sizes hit the cache, and give what an uncached run of the same key gives."""
    cache = NullCache()
    live = np.array([300.0, 500.0, 200.0, 1000.0, 30.0])
    reference = live * 20
    first = null_summaries(live, reference, ["js", "tvd"], cache=cache)[0]
    permuted = null_summaries(live[::-1], reference[::-1], ["js", "tvd"], cache=cache)[0]
    nearby = null_summaries(live * 1.005, reference, ["js", "tvd"], cache=cache)[0]
    assert cache.misses == 1 and cache.hits == 2
    assert first == permuted == nearby
    assert null_summaries(live, reference, ["js", "tvd"], cache=None)[0] == first
    other_seed = null_summaries(live, reference, ["js", "tvd"], settings=NullSettings(seed=1), cache=None)[0]
    assert other_seed != first


def test_many_features_in_one_call_give_what_one_call_each_gives() -> None:
    """The simulations of one call run on threads: 40 features (some sharing a key, one
    empty) give, in order, what 40 separate calls give, and a shared key is simulated once."""
    rng = np.random.default_rng(4)
    live = rng.integers(1, 400, size=(40, 6)).astype(float)
    live[5] = live[2]  # the same key as feature 2
    live[7] = 0.0  # no live rows: None
    reference = live[::-1] * 3 + 1
    reference[5] = reference[2]
    cache = NullCache()
    together = null_summaries(live, reference, ["js", "psi"], cache=cache)
    alone = [null_summaries(lv, rf, ["js", "psi"], cache=None)[0] for lv, rf in zip(live, reference, strict=True)]
    assert together == alone
    assert together[7] is None and together[5] == together[2]
    assert cache.misses == len({repr(s) for s in together if s is not None}) < 39


def test_null_of_a_feature_without_rows_is_none() -> None:
    """A feature with an empty side has no null distribution (and so no noise floor, no auto threshold)."""
    summaries = null_summaries(
        np.array([[0.0, 0.0], [5.0, 5.0]]), np.array([[4.0, 4.0], [5.0, 5.0]]), ["js"], cache=None
    )
    assert summaries[0] is None and summaries[1] is not None
