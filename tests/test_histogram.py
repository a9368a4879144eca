"""Bins and binning, checked against numpy written out by hand (the file format: test_histogram_file.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftmon.divergence import MEASURE_NAMES, divergences
from driftmon.errors import DataError
from driftmon.histogram import (
    MISSING,
    OTHER,
    UNSEEN,
    BinningRule,
    CategoricalBins,
    Histogram,
    NumericBins,
    align,
    bin_categorical,
    bin_numeric,
    bin_values,
    derive_spec,
    merge_all,
)
from driftmon.significance import homogeneity_test


def oracle_numeric(edges: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, int]:
    """Counts by the binning definition of docs/statistics.md, one comparison per bin (independent of the module)."""
    present = x[~np.isnan(x)]
    counts = [np.sum(present < edges[0])]
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        last = i == len(edges) - 2
        counts.append(np.sum((present >= lo) & ((present <= hi) if last else (present < hi))))
    counts.append(np.sum(present > edges[-1]))
    return np.array(counts, dtype=float), int(np.isnan(x).sum())


def test_numeric_bins_match_definition_with_nan_inf_and_edges() -> None:
    """Values on edges, ±inf, NaN and out-of-range values land in the bins docs/statistics.md defines."""
    rng = np.random.default_rng(1)
    edges = np.array([-1.0, 0.0, 0.5, 2.0])
    x = np.concatenate([rng.normal(0, 2, 1000), edges, [np.inf, -np.inf, np.nan, np.nan, 2.0]])
    hist = bin_numeric(NumericBins(tuple(edges)), x)
    expected, missing = oracle_numeric(edges, x)
    np.testing.assert_array_equal(hist.counts, expected)
    assert hist.missing == missing == 2
    assert hist.counts[-2] >= 2  # 2.0 (the last edge) is inside the closed last bin
    assert hist.total == x.size


def test_quantile_edges_equal_numpy_quantiles() -> None:
    """Quantile edges are numpy's linear-interpolation quantiles of the finite reference values."""
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.lognormal(0, 1, 9999), [np.nan, np.inf, -np.inf]])
    spec = derive_spec(BinningRule("x", bins=10), pd.Series(x))
    finite = x[np.isfinite(x)]
    np.testing.assert_allclose(spec.edges, np.quantile(finite, np.linspace(0, 1, 11)), rtol=1e-12)
    hist = bin_values(spec, x, "x")
    assert hist.counts[0] == 1 and hist.counts[-1] == 1  # -inf, +inf
    assert hist.missing == 1


def test_duplicate_quantile_edges_merge() -> None:
    """Ties below 1/bins that repeat a quantile of the rest give fewer, strictly increasing edges."""
    # 0 holds 50 % (a point bin); 7 holds 9 % of all rows (< 1/10) but 18 % of the rest.
    x = pd.Series([0.0] * 500 + [7.0] * 90 + list(np.linspace(1, 100, 410)))
    spec = derive_spec(BinningRule("x", bins=10), x)
    assert isinstance(spec, NumericBins)
    assert spec.points == (0.0,)
    assert list(spec.edges) == sorted(set(spec.edges))
    assert len(spec.edges) < 1 + 10  # the point and at most parts + 1 = 10 edges, one merged


def test_constant_reference_gets_one_bin_holding_the_value() -> None:
    """A single-valued reference gets one interior bin that holds exactly that value."""
    spec = derive_spec(BinningRule("x"), pd.Series([3.0] * 50))
    assert isinstance(spec, NumericBins)
    hist = bin_numeric(spec, np.array([3.0, 3.0, 2.0, 4.0]))
    np.testing.assert_array_equal(hist.counts, [1, 2, 1])


def test_uniform_strategy_spaces_edges_evenly() -> None:
    """Uniform binning puts bins + 1 evenly spaced edges between the reference min and max."""
    x = pd.Series(np.arange(0, 101, dtype=float))
    spec = derive_spec(BinningRule("x", strategy="uniform", bins=4), x)
    assert spec.edges == (0.0, 25.0, 50.0, 75.0, 100.0)


def test_explicit_edges_win_and_are_checked() -> None:
    """Explicit edges are used as given; edges not strictly increasing are an error naming the feature."""
    spec = derive_spec(BinningRule("income", edges=(0.0, 10.0)), pd.Series([1.0, 2.0]))
    assert spec == NumericBins((0.0, 10.0))
    with pytest.raises(DataError, match=r"income.*strictly increasing"):
        derive_spec(BinningRule("income", edges=(0.0, 0.0)), pd.Series([1.0]))


def test_kind_is_inferred_from_the_reference() -> None:
    """Numbers are numeric; strings and booleans are categorical."""
    assert isinstance(derive_spec(BinningRule("a"), pd.Series([1, 2, 3])), NumericBins)
    assert isinstance(derive_spec(BinningRule("a"), pd.Series(["x", "y"])), CategoricalBins)
    assert isinstance(derive_spec(BinningRule("a"), pd.Series([True, False])), CategoricalBins)


def test_categorical_top_k_other_unseen_missing() -> None:
    """Top-K reference values are bins; other reference values, unseen values and nulls have their own bins."""
    reference = pd.Series(["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"])
    spec = derive_spec(BinningRule("city", max_categories=2), reference)
    assert isinstance(spec, CategoricalBins)
    assert spec.categories == ("a", "b") and spec.others == frozenset({"c", "d"})
    live = pd.Series(["a", "b", "c", "d", "zz", None, "a", "zz"], dtype=object)
    hist = bin_categorical(spec, live)
    assert dict(zip(spec.labels(), hist.counts.tolist(), strict=True)) == {
        "a": 2, "b": 1, OTHER: 2, UNSEEN: 2,
    }
    assert hist.missing == 1


def test_categorical_numbers_match_across_int_and_float_columns() -> None:
    """Category 1 read as int in the reference matches 1.0 read as float (with a null) live."""
    spec = derive_spec(BinningRule("code", kind="categorical"), pd.Series([1, 2, 2]))
    hist = bin_values(spec, pd.Series([1.0, 2.0, np.nan, 3.5]), "code")
    assert hist.counts.tolist() == [1, 1, 0, 1]  # "2", "1", __other__, __unseen__ ("3.5")
    assert hist.missing == 1


def test_categorical_ties_do_not_depend_on_row_order() -> None:
    """Equally frequent categories are ordered by value, so shuffled rows give the same bins."""
    values = ["b", "a", "c", "a", "b", "c"]
    first = derive_spec(BinningRule("c", kind="categorical", max_categories=2), pd.Series(values))
    second = derive_spec(BinningRule("c", kind="categorical", max_categories=2), pd.Series(values[::-1]))
    assert first == second and first.categories == ("a", "b")


def test_strings_in_numeric_feature_are_an_error_naming_it() -> None:
    """A numeric feature holding strings is a DataError that names the feature and a bad value."""
    with pytest.raises(DataError, match=r"feature 'age'.*'abc'"):
        bin_values(NumericBins((0.0, 1.0)), pd.Series(["1", "abc"], dtype=object), "age")


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.integers(-5, 5)),
        min_size=0,
        max_size=200,
    ),
    cut=st.integers(0, 200),
)
def test_merged_chunks_equal_the_whole(values: list[float], cut: int) -> None:
    """Binning in two chunks and merging equals binning all rows at once."""
    spec = NumericBins((-1.0, 0.0, 2.5))
    x = np.array(values, dtype=float)
    whole = bin_numeric(spec, x)
    merged = merge_all(spec, [bin_numeric(spec, x[:cut]), bin_numeric(spec, x[cut:])])
    assert merged == whole


def test_merge_refuses_different_bins() -> None:
    """Histograms over different bins do not merge."""
    a = Histogram(NumericBins((0.0, 1.0)), np.zeros(3))
    b = Histogram(NumericBins((0.0, 2.0)), np.zeros(3))
    with pytest.raises(DataError, match="different bins"):
        a.merge(b)


def test_align_numeric_refuses_different_edges() -> None:
    """Live edges differing from the reference edges are an error, never silently rebinned."""
    a = Histogram(NumericBins((0.0, 1.0)), np.ones(3))
    b = Histogram(NumericBins((0.0, 2.0)), np.ones(3))
    with pytest.raises(DataError, match=r"edges.*differ"):
        align(a, b, "age")


def test_align_categorical_takes_the_union_and_unseen_fraction() -> None:
    """Categorical histograms are compared over the union of their bins; unseen_fraction counts live rows in empty reference bins."""
    ref = Histogram(CategoricalBins(("a", "b")), np.array([6.0, 4.0, 0.0, 0.0]))
    live = Histogram(CategoricalBins(("a", "c")), np.array([5.0, 3.0, 0.0, 2.0]), missing=0)
    aligned = align(ref, live, "city")
    assert aligned.labels == ("a", "b", OTHER, UNSEEN, "c", MISSING)
    assert aligned.reference.tolist() == [6, 4, 0, 0, 0, 0]
    assert aligned.live.tolist() == [5, 0, 0, 2, 3, 0]
    assert aligned.unseen_fraction == pytest.approx(0.5)


def test_too_many_other_values_are_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past OTHERS_LIMIT reference values behind __other__, they are forgotten and live values outside the top K count as __other__."""
    import driftmon.histogram as histogram

    monkeypatch.setattr(histogram, "OTHERS_LIMIT", 3)
    spec = derive_spec(BinningRule("c", kind="categorical", max_categories=1), pd.Series(["a", "a", "b", "c", "d", "e"]))
    assert isinstance(spec, CategoricalBins) and spec.others is None
    assert bin_categorical(spec, pd.Series(["a", "b", "new"])).counts.tolist() == [1, 2, 0]


def test_arrow_text_binning_equals_pandas_binning() -> None:
    """Strings binned from Arrow (plain, large, dictionary, chunked) count exactly as the pandas path does."""
    import pyarrow as pa

    rng = np.random.default_rng(11)
    words = np.array(["a", "b", "c", "d", "e", "f", "g"], dtype=object)
    reference = pd.Series(rng.choice(words[:5], 3000, p=[0.4, 0.3, 0.15, 0.1, 0.05]), dtype=object)
    live = rng.choice(words, 2000).astype(object)
    live[rng.random(2000) < 0.05] = None
    for max_categories in (3, 10):
        pandas_spec = derive_spec(BinningRule("w", max_categories=max_categories), reference)
        arrow_spec = derive_spec(BinningRule("w", max_categories=max_categories), pa.array(reference.tolist()))
        assert pandas_spec == arrow_spec
        expected = bin_categorical(pandas_spec, pd.Series(live, dtype=object))
        plain = pa.array(live.tolist())
        variants = [
            plain,
            plain.cast(pa.large_string()),
            plain.dictionary_encode(),
            pa.chunked_array([plain[:700], plain[700:]]),
            pa.chunked_array([plain[:700].dictionary_encode(), plain[700:].dictionary_encode()]),
        ]
        for variant in variants:
            assert bin_values(pandas_spec, variant, "w") == expected, variant.type
    unknown = CategoricalBins(("a", "b"), None)
    assert bin_values(unknown, pa.array(["a", "z", None]), "w") == bin_categorical(unknown, pd.Series(["a", "z", None]))


def test_numeric_compare_and_sort_paths_agree() -> None:
    """Binning by comparisons (few edges) and by sorting (many edges) both match the documented definition (docs/statistics.md)."""
    rng = np.random.default_rng(12)
    x = np.concatenate([rng.normal(0, 3, 200_000), [np.nan] * 7, [np.inf, -np.inf]])
    for k in (2, 5, 31, 40, 100):
        edges = np.sort(rng.choice(np.round(rng.normal(0, 3, 1000), 2), k, replace=False))
        x_with_edges = np.concatenate([x, edges])
        hist = bin_numeric(NumericBins(tuple(edges)), x_with_edges)
        expected, missing = oracle_numeric(edges, x_with_edges)
        np.testing.assert_array_equal(hist.counts, expected)
        assert hist.missing == missing


def test_profile_column_equals_derive_then_bin() -> None:
    """Profiling a reference column in one pass equals deriving its bins and binning it separately."""
    import pyarrow as pa

    from driftmon.histogram import profile_column

    rng = np.random.default_rng(13)
    x = np.concatenate([rng.gamma(2, 2, 10_000), [np.nan, np.inf, -np.inf, 0.0]])
    columns = [pd.Series(x), pa.array(x), pd.Series(rng.choice(["u", "v", "w"], 500))]
    for values in columns:
        for rule in (BinningRule("f"), BinningRule("f", strategy="uniform", bins=7), BinningRule("f", edges=(1.0, 2.0))):
            spec = derive_spec(rule, values)
            assert profile_column(rule, values) == bin_values(spec, values, "f")


def test_arrow_numbers_with_nulls_offsets_and_types_equal_the_pandas_path() -> None:
    """Arrow numeric columns (nulls, sliced with an offset, chunked, int, bool, decimal) bin exactly as their pandas twins."""
    import decimal

    import pyarrow as pa

    rng = np.random.default_rng(14)
    floats = [None if rng.random() < 0.1 else float(v) for v in rng.normal(0, 1, 3000)]
    spec = NumericBins((-1.0, 0.0, 0.5, 1.5))
    whole = pa.array(floats, type=pa.float64())
    cases = [
        (whole, pd.Series(floats, dtype="float64")),
        (whole.slice(17, 2000), pd.Series(floats[17:2017], dtype="float64")),
        (pa.chunked_array([whole.slice(0, 1000), whole.slice(1000)]), pd.Series(floats, dtype="float64")),
        (pa.array([1, None, 3, 0], type=pa.int64()), pd.Series([1, None, 3, 0], dtype="Int64")),
        (pa.array([True, False, None]), pd.Series([True, False, None], dtype="boolean")),
        (pa.array([decimal.Decimal("0.25"), None], type=pa.decimal128(5, 2)), pd.Series([0.25, None], dtype="float64")),
    ]
    for arrow, series in cases:
        assert bin_values(spec, arrow, "f") == bin_values(spec, series, "f"), arrow.type


# ---------------------------------------------------------------------------
# discrete values and point masses (issue 10, defect 1)


def _spec_of(values: np.ndarray, bins: int = 10) -> NumericBins:
    spec = derive_spec(BinningRule("f", bins=bins), pd.Series(values))
    assert isinstance(spec, NumericBins)
    return spec


@pytest.mark.parametrize("dtype", [np.int64, np.float64])
def test_binary_column_keeps_zero_and_one_apart(dtype: type) -> None:
    """A 0/1 column gets one bin per value, so a move from 50 % to 90 % ones changes the counts."""
    reference = np.array([0] * 480 + [1] * 520, dtype=dtype)
    spec = _spec_of(reference)
    live = np.array([0] * 100 + [1] * 900, dtype=dtype)
    ref_hist = bin_numeric(spec, reference)
    live_hist = bin_numeric(spec, live)
    assert sorted(ref_hist.counts[ref_hist.counts > 0].tolist()) == [480, 520]
    assert sorted(live_hist.counts[live_hist.counts > 0].tolist()) == [100, 900]


def test_three_valued_column_gets_a_bin_per_value() -> None:
    """{0, 1, 2}: a swap between 1 and 2 is visible (each value has its own bin)."""
    reference = np.repeat([0.0, 1.0, 2.0], [520, 240, 240])
    spec = _spec_of(reference)
    assert sorted(bin_numeric(spec, reference).counts[bin_numeric(spec, reference).counts > 0]) == [240, 240, 520]
    hist = bin_numeric(spec, np.repeat([0.0, 1.0, 2.0], [520, 0, 480]))
    assert sorted(hist.counts[hist.counts > 0].tolist()) == [480, 520]


def test_zero_inflated_column_has_a_point_bin_and_quantiles_for_the_rest() -> None:
    """90 % zeros: zero gets a bin of its own; the spread rest is split into several bins."""
    rng = np.random.default_rng(3)
    reference = np.concatenate([np.zeros(9000), rng.exponential(100.0, 1000)])
    spec = _spec_of(reference)
    hist = bin_numeric(spec, reference)
    assert 0.0 in spec.points
    assert hist.counts.max() == 9000  # zero alone
    assert np.count_nonzero(hist.counts) >= 9  # the rest is split by quantiles


def test_point_bins_count_exact_values_and_gaps_between_them() -> None:
    """Labels and counts of a per-value spec: under, {0}, (0, 1), {1}, (1, 2), {2}, over."""
    spec = _spec_of(np.repeat([0.0, 1.0, 2.0], 10))
    assert spec.labels() == ["(-inf, 0)", "{0}", "(0, 1)", "{1}", "(1, 2)", "{2}", "(2, +inf)"]
    hist = bin_numeric(spec, np.array([-1.0, 0.0, 0.5, 1.0, 1.0, 1.5, 2.0, 3.0, np.nan, np.inf]))
    assert hist.counts.tolist() == [1, 1, 1, 2, 1, 1, 2]
    assert hist.missing == 1


# ---------------------------------------------------------------------------
# properties of the numeric bins (issue 10)

_VALUES = st.sampled_from([-3.5, -1.0, 0.0, 0.25, 1.0, 2.0, 7.0, 1e6])


@given(
    st.lists(_VALUES, min_size=1, max_size=300),
    st.lists(st.one_of(_VALUES, st.just(float("nan"))), min_size=1, max_size=300),
    st.integers(2, 12),
)
@settings(max_examples=150, deadline=None, derandomize=True)
def test_few_distinct_values_score_as_categories(reference: list[float], live: list[float], bins: int) -> None:
    """A reference with at most `bins` distinct values scores (every measure, p-value) as the same column declared categorical."""
    ref = np.array(reference)
    cur = np.array([v for v in live if np.isnan(v) or v in set(reference)] or [reference[0]])
    if len(set(reference)) > bins:
        return
    numeric = derive_spec(BinningRule("f", bins=bins), pd.Series(ref))
    categorical = derive_spec(BinningRule("f", kind="categorical", max_categories=bins), pd.Series(ref))
    pairs = []
    for spec in (numeric, categorical):
        aligned = align(bin_values(spec, pd.Series(ref), "f"), bin_values(spec, pd.Series(cur), "f"), "f")
        pairs.append((aligned.live, aligned.reference))
    scores = [divergences(live_counts, ref_counts, list(MEASURE_NAMES)) for live_counts, ref_counts in pairs]
    for measure in MEASURE_NAMES:
        np.testing.assert_allclose(scores[0][measure], scores[1][measure], rtol=1e-12, atol=1e-15, err_msg=measure)
    pvalues = [homogeneity_test(live_counts[None], ref_counts[None]).pvalue[0] for live_counts, ref_counts in pairs]
    np.testing.assert_allclose(pvalues[0], pvalues[1], rtol=1e-9)


@given(
    st.lists(st.tuples(st.floats(-1e6, 1e6, allow_nan=False), st.integers(1, 400)), min_size=1, max_size=40),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), max_size=300),
    st.integers(2, 20),
    st.sampled_from(["quantile", "uniform"]),
)
@settings(max_examples=300, deadline=None, derandomize=True)
def test_heavy_values_never_share_a_bin(
    masses: list[tuple[float, int]], spread: list[float], bins: int, strategy: str
) -> None:
    """No spec puts two distinct values that each hold >= 1/bins of the reference into one bin."""
    values = np.concatenate([np.repeat([v for v, _ in masses], [c for _, c in masses]), np.array(spread)])
    spec = derive_spec(BinningRule("f", bins=bins, strategy=strategy), pd.Series(values))  # type: ignore[arg-type]
    assert isinstance(spec, NumericBins)
    distinct, counts = np.unique(values, return_counts=True)
    heavy = distinct[counts * bins >= values.size]
    bins_of_heavy = [int(np.argmax(bin_numeric(spec, np.array([v])).counts)) for v in heavy]
    assert len(set(bins_of_heavy)) == len(heavy)
    whole = bin_numeric(spec, values)
    assert whole.counts.sum() == values.size and whole.counts[0] == 0 and whole.counts[-1] == 0


def test_arrow_integers_beyond_float_precision_are_binned_as_the_nearest_float() -> None:
    """An int64 Parquet value like 2**53 + 1 rounds to a float (as pandas does), it is not an error (fuzz finding)."""
    import pyarrow as pa

    from driftmon.histogram import numeric_values

    values = numeric_values(pa.array([2**53 + 1, None, -(2**63)], type=pa.int64()), "x")
    assert values[0] == float(2**53) and np.isnan(values[1]) and values[2] == -(2.0**63)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_edges_over_nearly_the_whole_float_range_stay_finite(strategy: str) -> None:
    """Bins of a reference from -1e308 to 1e308 (where hi - lo overflows) are finite and increasing (fuzz finding)."""
    from driftmon.histogram import numeric_spec

    spec = numeric_spec(np.array([-1e308, -9e307, 9e307, 1e308]), strategy, 2, "x")  # type: ignore[arg-type]
    edges = np.asarray(spec.edges)
    assert np.isfinite(edges).all() and (np.diff(edges) > 0).all()
    assert edges[0] == -1e308 and edges[-1] == 1e308 and edges.size == 3


def test_arrow_timestamps_beyond_float_precision_are_binned_as_the_nearest_float() -> None:
    """A timestamp in microseconds beyond 2**53 (the year 2256) converts to seconds, it is not an Arrow error (fuzz finding)."""
    from datetime import datetime

    import pyarrow as pa

    from driftmon.histogram import numeric_values

    values = numeric_values(pa.array([datetime(2256, 1, 1)], type=pa.timestamp("us")), "t")
    assert values[0] == pytest.approx((datetime(2256, 1, 1) - datetime(1970, 1, 1)).total_seconds())


def test_unseen_live_values_are_kept_by_name_bounded_and_merged() -> None:
    """Binning keeps the most frequent live values that fell in __unseen__ (at most UNSEEN_KEPT, most frequent first, ties by value) on both the pandas and the Arrow path; merging adds them by value."""
    import pyarrow as pa

    from driftmon.histogram import UNSEEN_KEPT, CategoricalBins, bin_categorical

    spec = CategoricalBins(("a", "b"), frozenset({"o"}))
    values = ["a", "o", None] + [f"n{i:02d}" for i in range(40) for _ in range(i % 7 + 1)] + ["zz"] * 9
    for column in (pd.Series(values, dtype=object), pa.array(values), pa.array(values).dictionary_encode()):
        hist = bin_categorical(spec, column)
        assert len(hist.unseen_values) == UNSEEN_KEPT
        assert hist.unseen_values[0] == ("zz", 9.0)
        counts = [count for _, count in hist.unseen_values]
        assert counts == sorted(counts, reverse=True)
        assert hist.unseen_values[1:6] == (("n06", 7.0), ("n13", 7.0), ("n20", 7.0), ("n27", 7.0), ("n34", 7.0))
        assert hist.counts[3] == sum(i % 7 + 1 for i in range(40)) + 9
    first = bin_categorical(spec, pd.Series(["x", "x", "y"]))
    second = bin_categorical(spec, pd.Series(["y", "y", "a"]))
    assert first.merge(second).unseen_values == (("y", 3.0), ("x", 2.0))
    assert first.merge(second) == bin_categorical(spec, pd.Series(["x", "x", "y", "y", "y", "a"]))
    unknown_others = CategoricalBins(("a",), None)  # new values cannot be told apart: no names
    assert bin_categorical(unknown_others, pd.Series(["q", "r"])).unseen_values == ()


def test_a_pickled_histogram_is_the_same_histogram() -> None:
    """The worker pipe's pickling (Histogram.__reduce__): every field back, counts bit for bit and read-only."""
    import pickle

    numeric = Histogram(NumericBins((0.0, 1.0, 2.0), points=(1.0,)), np.array([1.0, 2.5, 0.0, 1e-300, 7.0]), 3.0)
    constant = Histogram(NumericBins((5.0,), points=(5.0,)), np.array([0.0, 4.0, 0.0]), 0.0, extent=(5.0, 5.0))
    text = bin_categorical(
        CategoricalBins(("a", "b"), others=frozenset({"c"})), pd.Series(["a", "b", "c", "z", "z", None], dtype=object)
    )
    empty = Histogram(NumericBins(()), np.array([0.0]))
    for histogram in (numeric, constant, text, empty):
        back = pickle.loads(pickle.dumps(histogram, protocol=pickle.HIGHEST_PROTOCOL))
        assert type(back) is Histogram and back == histogram
        assert back.spec == histogram.spec and back.missing == histogram.missing
        assert back.unseen_values == histogram.unseen_values and back.extent == histogram.extent
        assert back.counts.dtype == np.float64 and back.counts.tobytes() == histogram.counts.tobytes()
        assert not back.counts.flags.writeable
        assert back.merge(histogram).total == 2 * histogram.total
    assert text.unseen_values == (("z", 2.0),)  # the case carries unseen values through the pickle
