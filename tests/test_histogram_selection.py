"""Reference edges by selection (``selected_spec``, ``Ranked``) equal the sort-based definition.

The oracle is ``numeric_spec(finite_sorted(values))``: numpy's sort, then the binning rule of docs/statistics.md
written out over the sorted values. Selection must give the very same edges and point bins
(exact float equality), and ``profile_column`` the same counts as binning over those edges.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftmon.histogram import (
    BinningRule,
    NumericBins,
    bin_numeric,
    finite_sorted,
    numeric_spec,
    profile_column,
    selected_spec,
)
from driftmon.ranks import Ranked

# Few distinct values (ties, point masses), specials, and wide-ranging floats.
_special = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, 2.0, 1e308, -1e308, 5e-324])
_value = st.one_of(_special, st.integers(-3, 3).map(float), st.floats(allow_nan=True, allow_infinity=True))


@given(
    values=st.lists(_value, min_size=0, max_size=300),
    bins=st.integers(1, 12),
    strategy=st.sampled_from(["quantile", "uniform"]),
    step=st.integers(1, 7),
)
@settings(max_examples=400, deadline=None, derandomize=True)
def test_selected_spec_equals_the_sorted_definition(values: list[float], bins: int, strategy: str, step: int) -> None:
    """Ties, NaN, ±inf, all-equal and tiny columns: the selected bins are the sorted ones, bit for bit."""
    x = np.array(values, dtype=np.float64)
    expected = numeric_spec(finite_sorted(x), strategy, bins, "f")  # type: ignore[arg-type]
    got = selected_spec(x, strategy, bins, "f", step=step, sort_below=0)  # type: ignore[arg-type]
    assert got == expected


@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(1, 5000),
    shape=st.sampled_from(["normal", "codes", "zero-inflated", "two-masses", "sorted", "constant"]),
    bins=st.sampled_from([2, 5, 10, 20]),
)
@settings(max_examples=120, deadline=None, derandomize=True)
def test_selection_on_larger_columns_with_point_masses(seed: int, size: int, shape: str, bins: int) -> None:
    """Larger generated columns (a sample of 1 in 32, as in production) give the sorted result."""
    rng = np.random.default_rng(seed)
    x = {
        "normal": lambda: rng.normal(size=size),
        "codes": lambda: rng.integers(0, 2 * bins, size=size).astype(float),
        "zero-inflated": lambda: np.where(rng.random(size) < 0.4, 0.0, rng.exponential(size=size)),
        "two-masses": lambda: np.where(
            rng.random(size) < 0.2, 7.0, np.where(rng.random(size) < 0.2, -1.0, rng.normal(size=size))
        ),
        "sorted": lambda: np.sort(rng.normal(size=size)),
        "constant": lambda: np.full(size, 2.5),
    }[shape]()
    specials = rng.random(size)
    x[specials < 0.03] = np.nan
    x[(specials >= 0.03) & (specials < 0.04)] = np.inf
    x[(specials >= 0.04) & (specials < 0.05)] = -np.inf
    expected = numeric_spec(finite_sorted(x), "quantile", bins, "f")
    assert selected_spec(x, "quantile", bins, "f", sort_below=0) == expected


def test_ranked_order_statistics_equal_the_sorted_column() -> None:
    """Every rank Ranked is asked for holds the value np.sort puts there (-inf first, NaN excluded)."""
    rng = np.random.default_rng(7)
    x = np.round(rng.normal(size=200_000), 2)
    x[rng.random(x.size) < 0.01] = np.nan
    x[:50] = -np.inf
    ranked = Ranked(x, step=32, sort_below=0)
    ordered = np.sort(x)[: ranked.present]
    ranks = np.array([0, 1, 49, 50, 51, 1000, ranked.present // 2, ranked.present - 2, ranked.present - 1])
    np.testing.assert_array_equal(ranked.at(ranks), ordered[ranks])
    assert ranked.ordered is None  # found by selection, not by falling back to a sort
    value = float(ordered[ranked.present // 2])
    assert ranked.copies(value) == int(np.count_nonzero(x == value))
    assert ranked.below(value) == int(np.count_nonzero(x < value))


def test_a_bracket_that_misses_falls_back_to_the_exact_sort() -> None:
    """A sample that misrepresents the column (every sampled value in a narrow band) still gives exact ranks."""
    x = np.arange(100_000, dtype=np.float64)
    x[::32] = 0.5 + np.arange(x[::32].size) * 1e-6  # the sample sees only (0.5, 0.51): its brackets miss
    ranks = np.array([10, 50_000, 99_999])
    ranked = Ranked(x, step=32, sort_below=0)
    np.testing.assert_array_equal(ranked.at(ranks), np.sort(x)[ranks])
    assert ranked.ordered is not None  # the miss was noticed and the column sorted
    assert selected_spec(x, "quantile", 10, "f", sort_below=0) == numeric_spec(finite_sorted(x), "quantile", 10, "f")


@pytest.mark.parametrize("bins", [10, 40])  # 40: more edges than are compared, so sorted once
@pytest.mark.parametrize("shape", ["continuous", "codes"])
def test_profile_column_counts_equal_binning_over_the_sorted_edges(shape: str, bins: int) -> None:
    """profile_column (selection) = edges from the sorted column + counts by the definition (searchsorted)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=100_000) if shape == "continuous" else rng.integers(0, 4, size=100_000).astype(float)
    x[rng.random(x.size) < 0.02] = np.nan
    x[:3] = [np.inf, -np.inf, -np.inf]
    histogram = profile_column(BinningRule("f", bins=bins), x)
    spec = numeric_spec(finite_sorted(x), "quantile", bins, "f")
    assert histogram.spec == spec
    assert isinstance(spec, NumericBins)
    cuts, inclusive = spec.cuts()
    present = x[~np.isnan(x)]
    counted = [
        np.count_nonzero(present <= c) if closed else np.count_nonzero(present < c)
        for c, closed in zip(cuts, inclusive, strict=True)
    ]
    np.testing.assert_array_equal(histogram.counts, np.diff([0, *counted, present.size]))
    assert histogram.missing == np.isnan(x).sum()
    assert histogram == bin_numeric(spec, x)
