"""The benchmark's floor (benchmarks/contenders.py) derives driftmon's bins exactly.

The floor selects reference quantiles from sample brackets instead of sorting; these
tests hold its bins against the rule written out with a full sort and np.quantile (the
oracle), on columns built to hit every branch: quantile edges, heavy values as point
bins, few distinct values, NaN and infinities, one repeated value, and data whose
every 32nd value misleads a strided sample.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import contenders

BINS = 10


def oracle_bins(values: np.ndarray, bins: int) -> tuple[list[float], list[float]]:
    """driftmon's binning rule (docs/statistics.md, How it works, point bins included), by sorting everything."""
    finite = np.sort(values[np.isfinite(values)])
    distinct, runs = np.unique(finite, return_counts=True)
    if distinct.size <= bins:
        return distinct.tolist(), distinct.tolist()
    points = distinct[runs * bins >= finite.size]
    rest = finite[~np.isin(finite, points)]
    if rest[0] == rest[-1]:
        points = np.sort(np.append(points, rest[0]))
        return points.tolist(), points.tolist()
    edges = np.quantile(rest, np.linspace(0.0, 1.0, bins - points.size + 1))
    return np.unique(np.concatenate([edges, points])).tolist(), points.tolist()


def columns() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261126)
    n = 200_000
    zero_inflated = rng.lognormal(0.0, 1.0, n)
    zero_inflated[rng.random(n) < 0.3] = 0.0  # a heavy value: a point bin, quantiles of the rest
    two_heavy = rng.normal(0.0, 1.0, n)
    two_heavy[rng.random(n) < 0.15] = -1.0
    two_heavy[rng.random(n) < 0.12] = 5.0
    with_gaps = rng.exponential(1.0, n)
    with_gaps[rng.random(n) < 0.05] = np.nan
    with_gaps[:100] = np.inf
    with_gaps[100:200] = -np.inf
    strided = rng.normal(0.0, 1.0, n)
    strided[::32] = 1e6  # every 32nd value: a stride-32 sample sees only this
    hidden_heavy = rng.normal(0.0, 1.0, n)
    hidden_heavy[(np.arange(n) % 32) < 4] = 7.0  # 12.5 %, heavy, never at a multiple of 32
    return {
        "normal": rng.normal(0.0, 1.0, n),
        "zero_inflated": zero_inflated,
        "two_heavy": two_heavy,
        "few_distinct": rng.poisson(2.0, n).clip(0, 7).astype(np.float64),
        "with_gaps": with_gaps,
        "one_value_and_heavy": np.where(rng.random(n) < 0.5, 3.0, 4.0) + np.where(np.arange(n) < 11, 0.5, 0.0),
        "strided": strided,
        "hidden_heavy": hidden_heavy,
        "small": rng.normal(0.0, 1.0, 500),
    }


@pytest.mark.parametrize("name", list(columns()))
def test_floor_bins_equal_the_rule_computed_by_sorting(name: str) -> None:
    """Edges and point bins of the floor's sample-bracketed selection equal the sorted oracle's,
    whether the column arrives whole or in several chunks."""
    values = columns()[name]
    expected = oracle_bins(values, BINS)
    assert contenders._numeric_bins([values], BINS) == expected
    thirds = np.array_split(values, 3)
    assert contenders._numeric_bins(thirds, BINS) == expected


def test_floor_counts_equal_a_histogram_by_hand() -> None:
    """Counts by one comparison per boundary equal the counts of each bin written out as a mask:
    under/overflow with infinities, point bins [v, v], the last interval closed, NaN missing."""
    values = np.array([-np.inf, -2.0, 0.0, 0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 3.0, np.inf, np.nan, np.nan])
    edges, points = [0.0, 1.0, 2.0], [0.0]
    cuts, inclusive = contenders._cuts(edges, points)
    counts, missing = contenders._bin_counts([values[:5], values[5:]], cuts, inclusive)
    x = values[~np.isnan(values)]
    by_hand = [
        np.sum(x < 0.0),  # (-inf, 0)
        np.sum(x == 0.0),  # {0}
        np.sum((x > 0.0) & (x < 1.0)),  # (0, 1)
        np.sum((x >= 1.0) & (x <= 2.0)),  # [1, 2]
        np.sum(x > 2.0),  # (2, +inf)
    ]
    assert counts.tolist() == [float(c) for c in by_hand] == [2.0, 2.0, 1.0, 4.0, 2.0]
    assert missing == 2


def test_selection_is_exact_when_the_sample_misleads() -> None:
    """Order statistics selected with a sample from another distribution (every bracket
    misses) still equal those of the sorted values: the full-partition fallback."""
    rng = np.random.default_rng(7)
    values = rng.normal(0.0, 1.0, 100_000)
    misleading = np.sort(rng.normal(50.0, 1.0, 3_000))
    ranks = [0, 1, 49_999, 50_000, 99_999]
    picked = contenders._select([values], ranks, values.size, misleading, lambda _: 0, lambda v: v)
    assert [picked[r] for r in ranks] == np.sort(values)[ranks].tolist()


def _driftmon_null_key(live: np.ndarray, reference: np.ndarray) -> tuple[object, ...]:
    """The (proportions grid, live size, reference size) driftmon's noise cache keys this feature by."""
    from driftmon.noise import NullCache, NullSettings, null_summaries

    cache = NullCache()
    null_summaries(live, reference, ("kl", "js", "psi"), settings=NullSettings(draws=2), cache=cache)
    (key,) = list(cache._entries)
    return key[:3]


def test_floor_noise_models_are_driftmons() -> None:
    """The floor simulates the null models driftmon's default job simulates: the same rounded
    pooled proportions and sample sizes (exact up to 1,024 rows, on a grid above), zero bins
    left out, and none for a side without rows."""
    rng = np.random.default_rng(20261204)
    for live_rows, reference_rows, bins in [(50, 80, 5), (1_000, 1_024, 13), (1_025, 700_001, 53), (10**6, 3 * 10**6, 12)]:
        proportions = rng.dirichlet(np.ones(bins))
        live = rng.multinomial(live_rows, proportions).astype(np.float64)
        reference = rng.multinomial(reference_rows, proportions).astype(np.float64)
        live[0] = reference[0] = 0.0  # a bin empty on both sides
        assert contenders._noise_key(reference, live) == _driftmon_null_key(live, reference)
    assert contenders._noise_key(np.array([3.0, 4.0]), np.zeros(2)) is None


def test_floor_noise_floors_match_theory_and_driftmon() -> None:
    """Under no drift, PSI between two samples of n and m rows over B equally likely bins averages
    (B - 1)(1/n + 1/m) (a chi-square of B - 1 degrees of freedom, asymptotically): the floor's mean
    over its draws is within 5 % of it, as driftmon's is, and the two simulations' quantiles agree
    to the Monte Carlo error."""
    from driftmon.noise import null_summaries

    n, m, bins = 100_000, 200_000, 20
    live, reference = np.full(bins, n / bins), np.full(bins, m / bins)
    expected = (bins - 1) * (1 / n + 1 / m)
    floor = contenders._noise_floors(["x"], [(reference, live)], contenders._Serial())["x"]
    (ours,) = null_summaries(live, reference, ("kl", "js", "psi"), cache=None)
    assert ours is not None
    assert floor["psi_noise_floor"] == pytest.approx(expected, rel=0.05)
    assert ours.mean["psi"] == pytest.approx(expected, rel=0.05)
    for measure in ("kl", "js", "psi"):
        assert floor[f"{measure}_noise_floor"] == pytest.approx(ours.mean[measure], rel=0.05)
        assert floor[f"{measure}_noise_q95"] == pytest.approx(ours.quantiles[measure][0], rel=0.10)
        assert floor[f"{measure}_noise_q99"] == pytest.approx(ours.quantiles[measure][1], rel=0.15)
        assert floor[f"{measure}_noise_q95"] < floor[f"{measure}_noise_q99"]
