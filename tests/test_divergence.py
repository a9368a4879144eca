"""Tests for driftmon.divergence: every number is checked against scipy or a written-out formula."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy

from driftmon.divergence import (
    MEASURE_NAMES,
    MEASURES,
    Measure,
    Smoothing,
    divergences,
    smooth,
)

# Any warning (numpy's divide-by-zero or invalid-value ones included) fails a test.
pytestmark = pytest.mark.filterwarnings("error")

FloatArray = npt.NDArray[np.float64]

SMOOTHINGS = [
    pytest.param(Smoothing("additive", alpha=0.5), id="additive-0.5"),
    pytest.param(Smoothing("additive", alpha=1.0), id="additive-1"),
    pytest.param(Smoothing("additive", alpha=0.01), id="additive-0.01"),
    pytest.param(Smoothing("epsilon", epsilon=1e-6), id="epsilon-1e-6"),
    pytest.param(Smoothing("epsilon", epsilon=1e-3), id="epsilon-1e-3"),
    pytest.param(Smoothing("none"), id="none"),
    pytest.param(Smoothing("unseen", alpha=0.5), id="unseen-0.5"),
    pytest.param(Smoothing("unseen", alpha=1.0), id="unseen-1"),
]
LOG_BASES = [pytest.param(2.0, id="bits"), pytest.param(math.e, id="nats"), pytest.param(10.0, id="bans")]


# --- An independent oracle: one feature at a time, in plain Python -------------------------


def oracle_proportions(
    live: FloatArray, reference: FloatArray, smoothing: Smoothing
) -> tuple[list[float], list[float]]:
    """The documented smoothing (docs/statistics.md) for one feature, written out over Python floats."""
    kept = [i for i in range(len(live)) if live[i] > 0 or reference[i] > 0]
    live_counts = [float(live[i]) for i in kept]
    reference_counts = [float(reference[i]) for i in kept]
    if smoothing.method == "additive":
        live_counts = [count + smoothing.alpha for count in live_counts]
        reference_counts = [count + smoothing.alpha for count in reference_counts]
    if smoothing.method == "unseen":
        live_counts = [count or smoothing.alpha for count in live_counts]
        reference_counts = [count or smoothing.alpha for count in reference_counts]
    p = [count / sum(live_counts) for count in live_counts]
    q = [count / sum(reference_counts) for count in reference_counts]
    if smoothing.method == "epsilon":
        p = [max(share, smoothing.epsilon) for share in p]
        q = [max(share, smoothing.epsilon) for share in q]
        p = [share / sum(p) for share in p]
        q = [share / sum(q) for share in q]
    return p, q


def oracle_psi(p: list[float], q: list[float]) -> float:
    total = 0.0
    for live_share, reference_share in zip(p, q, strict=True):
        if live_share == reference_share:
            continue
        if live_share == 0 or reference_share == 0:
            return math.inf
        total += (live_share - reference_share) * math.log(live_share / reference_share)
    return total


def oracle_hellinger(p: list[float], q: list[float]) -> float:
    squares = [(math.sqrt(a) - math.sqrt(b)) ** 2 for a, b in zip(p, q, strict=True)]
    return math.sqrt(0.5 * sum(squares))


def oracle_tvd(p: list[float], q: list[float]) -> float:
    return 0.5 * sum(abs(a - b) for a, b in zip(p, q, strict=True))


ORACLES: dict[str, Callable[[list[float], list[float], float], float]] = {
    "kl": lambda p, q, base: float(entropy(p, q, base=base)),
    "kl_reverse": lambda p, q, base: float(entropy(q, p, base=base)),
    "js": lambda p, q, base: float(jensenshannon(p, q, base=base)) ** 2,
    "psi": lambda p, q, base: oracle_psi(p, q),
    "hellinger": lambda p, q, base: oracle_hellinger(p, q),
    "tvd": lambda p, q, base: oracle_tvd(p, q),
}


def oracle(live: FloatArray, reference: FloatArray, measure: str, smoothing: Smoothing, base: float) -> FloatArray:
    """The measure for every row of 2-D counts, one row at a time."""
    scores = []
    for live_row, reference_row in zip(live, reference, strict=True):
        p, q = oracle_proportions(live_row, reference_row, smoothing)
        scores.append(ORACLES[measure](p, q, base))
    return np.array(scores)


def make_histograms(seed: int, features: int = 24, bins: int = 15) -> tuple[FloatArray, FloatArray]:
    """Counts with bins unseen on one side, bins empty on both, and weighted rows."""
    rng = np.random.default_rng(seed)
    live = rng.poisson(rng.uniform(0.2, 12.0, (features, bins))).astype(np.float64)
    reference = rng.poisson(rng.uniform(0.2, 12.0, (features, bins))).astype(np.float64)
    both_empty = rng.random((features, bins)) < 0.15
    live[both_empty] = 0.0
    reference[both_empty] = 0.0
    live[::2, -3:] = 0.0  # trailing padding on even rows
    reference[::2, -3:] = 0.0
    live[1::4] *= rng.uniform(0.01, 3.0, (len(live[1::4]), bins))  # weighted counts
    reference[1::4] *= rng.uniform(0.01, 3.0, (len(reference[1::4]), bins))
    return live, reference


HISTOGRAMS = make_histograms(seed=20240611)


# --- Oracle checks ---------------------------------------------------------------------


@pytest.mark.parametrize("base", LOG_BASES)
@pytest.mark.parametrize("smoothing", SMOOTHINGS)
@pytest.mark.parametrize("measure", MEASURE_NAMES)
def test_matches_oracle(measure: str, smoothing: Smoothing, base: float) -> None:
    """Every measure, smoothing and log base agrees with scipy / the written-out formula to 1e-9."""
    live, reference = HISTOGRAMS
    scores = divergences(live, reference, [measure], smoothing, base)[measure]
    expected = oracle(live, reference, measure, smoothing, base)
    np.testing.assert_allclose(scores, expected, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_smooth_matches_oracle(smoothing: Smoothing) -> None:
    """smooth() gives the oracle's proportions in kept bins and exact zeros in dropped bins."""
    live, reference = HISTOGRAMS
    p, q = smooth(live, reference, smoothing)
    assert p.shape == q.shape == live.shape
    for row, (live_row, reference_row) in enumerate(zip(live, reference, strict=True)):
        kept = (live_row > 0) | (reference_row > 0)
        expected_p, expected_q = oracle_proportions(live_row, reference_row, smoothing)
        np.testing.assert_allclose(p[row, kept], expected_p, rtol=1e-12)
        np.testing.assert_allclose(q[row, kept], expected_q, rtol=1e-12)
        assert (p[row, ~kept] == 0).all() and (q[row, ~kept] == 0).all()


def test_known_values() -> None:
    """Hand-computed values for one small histogram without smoothing."""
    live, reference = np.array([1.0, 3.0]), np.array([1.0, 1.0])  # p = (1/4, 3/4), q = (1/2, 1/2)
    scores = divergences(live, reference, MEASURE_NAMES, Smoothing("none"), log_base=2.0)
    kl = 0.25 * math.log2(0.5) + 0.75 * math.log2(1.5)
    assert scores["kl"] == pytest.approx(kl, rel=1e-14)
    assert scores["kl_reverse"] == pytest.approx(0.5 * math.log2(2.0 * 2.0 / 3.0), rel=1e-14)
    assert scores["psi"] == pytest.approx(-0.25 * math.log(0.5) + 0.25 * math.log(1.5), rel=1e-14)
    assert scores["tvd"] == pytest.approx(0.25, rel=1e-14)
    hellinger = math.sqrt(0.5 * ((0.5 - math.sqrt(0.5)) ** 2 + (math.sqrt(0.75) - math.sqrt(0.5)) ** 2))
    assert scores["hellinger"] == pytest.approx(hellinger, rel=1e-14)


def test_log_base_scales_only_log_measures() -> None:
    """kl, kl_reverse and js scale by 1/ln(base); psi, hellinger and tvd ignore log_base."""
    live, reference = HISTOGRAMS
    bits = divergences(live, reference, MEASURE_NAMES, log_base=2.0)
    nats = divergences(live, reference, MEASURE_NAMES, log_base=math.e)
    for name in MEASURE_NAMES:
        factor = math.log(2.0) if MEASURES[name].uses_log_base else 1.0
        np.testing.assert_allclose(nats[name], bits[name] * factor, rtol=1e-12)


# --- Edge cases --------------------------------------------------------------------------


def test_bin_unseen_on_one_side_without_smoothing() -> None:
    """Without smoothing, a bin only the reference has leaves KL(p||q) finite but KL(q||p) and PSI +inf."""
    scores = divergences([5.0, 0.0, 3.0], [2.0, 4.0, 1.0], MEASURE_NAMES, Smoothing("none"))
    assert np.isfinite(scores["kl"]) and scores["kl"] > 0
    assert scores["kl_reverse"] == math.inf
    assert scores["psi"] == math.inf
    assert 0 < scores["js"] < 1 and 0 < scores["hellinger"] < 1 and 0 < scores["tvd"] < 1


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_bins_empty_on_both_sides_are_dropped(smoothing: Smoothing) -> None:
    """Inserting bins empty on both sides leaves every score unchanged."""
    live, reference = np.array([4.0, 0.0, 7.0, 1.0]), np.array([2.0, 3.0, 0.0, 5.0])
    padded_live = np.array([0.0, 4.0, 0.0, 0.0, 7.0, 1.0, 0.0])
    padded_reference = np.array([0.0, 2.0, 3.0, 0.0, 0.0, 5.0, 0.0])
    plain = divergences(live, reference, MEASURE_NAMES, smoothing)
    padded = divergences(padded_live, padded_reference, MEASURE_NAMES, smoothing)
    for name in MEASURE_NAMES:
        np.testing.assert_allclose(padded[name], plain[name], rtol=1e-15)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_single_bin_scores_zero(smoothing: Smoothing) -> None:
    """With one bin (declared or left after dropping) both sides are the same distribution: 0."""
    for live, reference in (([7.0], [3.0]), ([0.0, 7.0, 0.0], [0.0, 3.0, 0.0])):
        scores = divergences(live, reference, MEASURE_NAMES, smoothing)
        assert all(scores[name] == 0.0 for name in MEASURE_NAMES)


@pytest.mark.parametrize("base", LOG_BASES)
@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_identical_counts_score_exactly_zero(smoothing: Smoothing, base: float) -> None:
    """Identical live and reference counts give exactly 0.0 for every measure, not just nearly."""
    live, _ = HISTOGRAMS
    scores = divergences(live, live.copy(), MEASURE_NAMES, smoothing, base)
    for name in MEASURE_NAMES:
        assert (scores[name] == 0.0).all(), name


def test_proportional_counts_score_zero_without_smoothing() -> None:
    """Counts that differ only by a constant factor are the same distribution under 'none'."""
    live = np.array([[3.0, 0.0, 9.0, 12.0], [1.0, 1.0, 1.0, 5.0]])
    scores = divergences(live, 3.0 * live, MEASURE_NAMES, Smoothing("none"))
    for name in MEASURE_NAMES:
        assert (scores[name] == 0.0).all(), name


def test_disjoint_supports_without_smoothing_hit_the_bounds() -> None:
    """Disjoint supports: KL and PSI are +inf, JS is 1 bit, Hellinger and TVD are 1."""
    scores = divergences([3.0, 5.0, 0.0, 0.0], [0.0, 0.0, 2.0, 9.0], MEASURE_NAMES, Smoothing("none"))
    assert scores["kl"] == scores["kl_reverse"] == scores["psi"] == math.inf
    assert scores["js"] == pytest.approx(1.0, abs=1e-15)
    assert scores["hellinger"] == pytest.approx(1.0, abs=1e-15)
    assert scores["tvd"] == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("smoothing", [Smoothing(), Smoothing("epsilon")], ids=["additive", "epsilon"])
def test_disjoint_supports_with_smoothing_are_finite(smoothing: Smoothing) -> None:
    """Smoothing makes disjoint supports finite, and the scores still match the oracle."""
    live, reference = np.array([[3.0, 5.0, 0.0, 0.0]]), np.array([[0.0, 0.0, 2.0, 9.0]])
    scores = divergences(live, reference, MEASURE_NAMES, smoothing)
    for name in MEASURE_NAMES:
        assert np.isfinite(scores[name]).all()
        expected = oracle(live, reference, name, smoothing, 2.0)
        np.testing.assert_allclose(scores[name], expected, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_rows_without_counts_are_nan(smoothing: Smoothing) -> None:
    """A row with no live or no reference counts is NaN for every measure, silently, alone."""
    live, reference = HISTOGRAMS
    live, reference = live[:4].copy(), reference[:4].copy()
    live[1] = 0.0  # no live data
    reference[2] = 0.0  # no reference data
    live[3] = reference[3] = 0.0  # neither
    scores = divergences(live, reference, MEASURE_NAMES, smoothing)
    alone = divergences(live[0], reference[0], MEASURE_NAMES, smoothing)
    for name in MEASURE_NAMES:
        assert np.isnan(scores[name][1:]).all(), name
        assert scores[name][0] == alone[name]


def test_all_empty_and_degenerate_shapes() -> None:
    """No features gives empty results; no bins means no data, so NaN."""
    empty = divergences(np.zeros((0, 5)), np.zeros((0, 5)), MEASURE_NAMES)
    assert all(empty[name].shape == (0,) for name in MEASURE_NAMES)
    no_bins = divergences(np.zeros((2, 0)), np.zeros((2, 0)), MEASURE_NAMES)
    assert all(np.isnan(no_bins[name]).all() for name in MEASURE_NAMES)


def test_weights_are_scale_invariant_without_additive_smoothing() -> None:
    """Non-integer weights work, and scaling both sides' weights leaves 'none' scores unchanged."""
    live, reference = HISTOGRAMS
    base = divergences(live, reference, MEASURE_NAMES, Smoothing("none"))
    scaled = divergences(live * 0.37, reference * 123.5, MEASURE_NAMES, Smoothing("none"))
    for name in MEASURE_NAMES:
        np.testing.assert_allclose(scaled[name], base[name], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_batch_equals_row_by_row(smoothing: Smoothing) -> None:
    """Scoring a 2-D batch equals scoring each 1-D row alone, which returns 0-d arrays."""
    live, reference = HISTOGRAMS
    batch = divergences(live, reference, MEASURE_NAMES, smoothing)
    for row in range(len(live)):
        alone = divergences(live[row], reference[row], MEASURE_NAMES, smoothing)
        for name in MEASURE_NAMES:
            assert alone[name].shape == ()
            assert alone[name].dtype == np.float64
            np.testing.assert_allclose(alone[name], batch[name][row], rtol=1e-15)


def test_many_rows_equal_row_by_row() -> None:
    """A batch large enough to be processed in several blocks gives each row its own score."""
    live, reference = make_histograms(seed=7, features=1500, bins=60)
    batch = divergences(live, reference, MEASURE_NAMES)
    for row in range(0, len(live), 37):
        alone = divergences(live[row], reference[row], MEASURE_NAMES)
        for name in MEASURE_NAMES:
            np.testing.assert_allclose(alone[name], batch[name][row], rtol=1e-15)


@pytest.mark.parametrize("smoothing", SMOOTHINGS)
def test_zero_padding_does_not_change_scores(smoothing: Smoothing) -> None:
    """Features of different widths padded with zero columns score as they do unpadded."""
    rng = np.random.default_rng(3)
    widths = [1, 2, 5, 8, 9, 17]
    rows = [(rng.poisson(4.0, width) + 0.0, rng.poisson(4.0, width) + 0.0) for width in widths]
    padded_live = np.zeros((len(widths), 40))
    padded_reference = np.zeros((len(widths), 40))
    for index, (live, reference) in enumerate(rows):
        padded_live[index, : len(live)] = live
        padded_reference[index, : len(reference)] = reference
    padded = divergences(padded_live, padded_reference, MEASURE_NAMES, smoothing)
    for index, (live, reference) in enumerate(rows):
        alone = divergences(live, reference, MEASURE_NAMES, smoothing)
        for name in MEASURE_NAMES:
            np.testing.assert_allclose(padded[name][index], alone[name], rtol=1e-12, atol=1e-15)


def test_epsilon_floors_small_proportions_too() -> None:
    """Epsilon smoothing floors every kept proportion below epsilon, not only zeros (it stays monotone)."""
    p, _ = smooth([1.0, 999_999.0, 0.0], [1.0, 1.0, 1.0], Smoothing("epsilon", epsilon=1e-3))
    assert p[0] == pytest.approx(p[2]) and p[0] == pytest.approx(1e-3 / (1 + 2e-3 - 1e-6), rel=1e-3)


def test_inputs_are_not_modified() -> None:
    """smooth() and divergences() never write to the caller's arrays."""
    live, reference = HISTOGRAMS
    live_copy, reference_copy = live.copy(), reference.copy()
    for smoothing in (Smoothing(), Smoothing("epsilon"), Smoothing("none")):
        smooth(live, reference, smoothing)
        divergences(live, reference, MEASURE_NAMES, smoothing)
    np.testing.assert_array_equal(live, live_copy)
    np.testing.assert_array_equal(reference, reference_copy)


def test_result_keys_shapes_and_defaults() -> None:
    """Results come back in the order requested, float64 of shape (F,); the default is kl, js, psi."""
    live, reference = HISTOGRAMS
    assert list(divergences(live, reference)) == ["kl", "js", "psi"]
    scores = divergences(live, reference, ["tvd", "kl_reverse"])
    assert list(scores) == ["tvd", "kl_reverse"]
    assert all(score.shape == (len(live),) and score.dtype == np.float64 for score in scores.values())
    live, reference = live.astype(np.int64), reference.astype(np.int64)
    integer_scores = divergences(live, reference, ["js"])["js"]
    float_scores = divergences(live.astype(np.float64), reference.astype(np.float64), ["js"])["js"]
    np.testing.assert_array_equal(integer_scores, float_scores)


# --- The measure table -----------------------------------------------------------------


def test_measure_table() -> None:
    """The table lists the six documented measures in order, with their log-base use and bounds."""
    assert MEASURE_NAMES == ("kl", "kl_reverse", "js", "psi", "hellinger", "tvd")
    assert tuple(MEASURES) == MEASURE_NAMES
    assert all(isinstance(m, Measure) and MEASURES[name] is m for name, m in MEASURES.items())
    assert {name for name in MEASURE_NAMES if MEASURES[name].uses_log_base} == {"kl", "kl_reverse", "js"}
    assert {name: MEASURES[name].upper_bound for name in MEASURE_NAMES} == {
        "kl": None, "kl_reverse": None, "js": 1.0, "psi": None, "hellinger": 1.0, "tvd": 1.0,
    }  # fmt: skip
    assert all(m.description and "\n" not in m.description for m in MEASURES.values())


@pytest.mark.parametrize("measure", MEASURE_NAMES)
def test_measure_function_alone_matches_divergences(measure: str) -> None:
    """A Measure's function called directly on smoothed proportions gives divergences()' scores."""
    live, reference = HISTOGRAMS
    p, q = smooth(live, reference, Smoothing())
    direct = MEASURES[measure].function(p, q, 10.0)
    via = divergences(live, reference, [measure], Smoothing(), log_base=10.0)[measure]
    np.testing.assert_allclose(direct, via, rtol=1e-15)


# --- Bad input ---------------------------------------------------------------------------


def test_unknown_measure_is_named() -> None:
    """An unknown measure name raises ValueError naming it and the valid names."""
    with pytest.raises(ValueError, match=r"'kld'.*kl, kl_reverse, js, psi, hellinger, tvd"):
        divergences([1.0], [1.0], ["js", "kld"])
    with pytest.raises(ValueError, match="not the string"):
        divergences([1.0], [1.0], "js")


@pytest.mark.parametrize(
    ("live", "reference", "message"),
    [
        ([1.0, 2.0], [1.0, 2.0, 3.0], "same shape"),
        ([[[1.0]]], [[[1.0]]], "1-D .* or 2-D"),
        ([1.0, -2.0], [1.0, 2.0], "live counts must be finite and non-negative"),
        ([1.0, 2.0], [np.nan, 2.0], "reference counts must be finite and non-negative"),
        ([np.inf, 2.0], [1.0, 2.0], "live counts must be finite and non-negative"),
    ],
)
def test_bad_counts_are_rejected(live: object, reference: object, message: str) -> None:
    """Mismatched shapes, 3-D arrays and negative, NaN or infinite counts raise ValueError."""
    with pytest.raises(ValueError, match=message):
        divergences(live, reference)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        smooth(live, reference, Smoothing())  # type: ignore[arg-type]


@pytest.mark.parametrize("log_base", [1.0, 0.0, -2.0, math.nan, math.inf])
def test_bad_log_base_is_rejected(log_base: float) -> None:
    """A log base that is not finite, positive and different from 1 raises ValueError."""
    with pytest.raises(ValueError, match="log_base"):
        divergences([1.0], [1.0], log_base=log_base)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"method": "laplace"}, "smoothing method 'laplace'"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": math.nan}, "alpha"),
        ({"epsilon": 0.0}, "epsilon"),
        ({"epsilon": 1.0}, "epsilon"),
    ],
)
def test_bad_smoothing_is_rejected(arguments: dict[str, object], message: str) -> None:
    """An unknown smoothing method, alpha <= 0 or epsilon outside (0, 1) raises ValueError."""
    with pytest.raises(ValueError, match=message):
        Smoothing(**arguments)  # type: ignore[arg-type]


# --- Properties ----------------------------------------------------------------------------

counts = st.one_of(st.just(0.0), st.integers(1, 50).map(float), st.floats(1e-3, 1e4, allow_subnormal=False))
smoothings = st.one_of(
    st.just(Smoothing("none")),
    st.floats(0.01, 2.0).map(lambda alpha: Smoothing("additive", alpha=alpha)),
    st.sampled_from([1e-6, 1e-3]).map(lambda epsilon: Smoothing("epsilon", epsilon=epsilon)),
)


@st.composite
def histogram_pairs(draw: st.DrawFn) -> tuple[FloatArray, FloatArray]:
    features, bins = draw(st.integers(1, 4)), draw(st.integers(1, 12))
    cells = st.lists(counts, min_size=features * bins, max_size=features * bins)
    live = np.array(draw(cells), dtype=np.float64).reshape(features, bins)
    reference = np.array(draw(cells), dtype=np.float64).reshape(features, bins)
    return live, reference


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


def assert_same_scores(left: dict[str, FloatArray], right: dict[str, FloatArray]) -> None:
    for name in left:
        np.testing.assert_allclose(left[name], right[name], rtol=1e-9, atol=1e-12, err_msg=name)


@PROPERTY_SETTINGS
@given(histogram_pairs(), smoothings)
def test_scores_are_in_range(pair: tuple[FloatArray, FloatArray], smoothing: Smoothing) -> None:
    """Scores are NaN exactly for rows without counts, else >= 0; JS (bits), Hellinger, TVD <= 1."""
    live, reference = pair
    scores = divergences(live, reference, MEASURE_NAMES, smoothing)
    undefined = (live.sum(axis=1) == 0) | (reference.sum(axis=1) == 0)
    for name in MEASURE_NAMES:
        assert (np.isnan(scores[name]) == undefined).all(), name
        defined = scores[name][~undefined]
        assert (defined >= 0).all(), name
        if MEASURES[name].upper_bound is not None:
            assert (defined <= MEASURES[name].upper_bound).all(), name


@PROPERTY_SETTINGS
@given(histogram_pairs(), smoothings)
def test_identical_inputs_score_zero(pair: tuple[FloatArray, FloatArray], smoothing: Smoothing) -> None:
    """Any histogram compared with itself scores exactly 0.0 (or NaN when it has no counts)."""
    live, _ = pair
    scores = divergences(live, live, MEASURE_NAMES, smoothing)
    for name in MEASURE_NAMES:
        assert ((scores[name] == 0.0) | np.isnan(scores[name])).all(), name


@PROPERTY_SETTINGS
@given(histogram_pairs(), smoothings)
def test_symmetric_measures(pair: tuple[FloatArray, FloatArray], smoothing: Smoothing) -> None:
    """JS, Hellinger, TVD and PSI do not change when live and reference swap; KL becomes KL reverse."""
    live, reference = pair
    forward = divergences(live, reference, MEASURE_NAMES, smoothing)
    backward = divergences(reference, live, MEASURE_NAMES, smoothing)
    for name, swapped in [("js", "js"), ("hellinger", "hellinger"), ("tvd", "tvd"),
                          ("psi", "psi"), ("kl", "kl_reverse")]:  # fmt: skip
        np.testing.assert_allclose(forward[name], backward[swapped], rtol=1e-9, atol=1e-12, err_msg=name)


@PROPERTY_SETTINGS
@given(histogram_pairs(), smoothings, st.data())
def test_empty_bins_and_bin_order_do_not_matter(
    pair: tuple[FloatArray, FloatArray], smoothing: Smoothing, data: st.DataObject
) -> None:
    """Adding bins empty on both sides, or permuting bins alike on both sides, changes no score."""
    live, reference = pair
    bins = live.shape[1]
    extra = data.draw(st.integers(0, 6), label="extra empty bins")
    order = data.draw(st.permutations(range(bins + extra)), label="bin order")
    widened_live = np.hstack([live, np.zeros((len(live), extra))])[:, order]
    widened_reference = np.hstack([reference, np.zeros((len(reference), extra))])[:, order]
    assert_same_scores(
        divergences(live, reference, MEASURE_NAMES, smoothing),
        divergences(widened_live, widened_reference, MEASURE_NAMES, smoothing),
    )


# --- Smoothing only where it is needed (issue 10, defect 2) -------------------------------


def test_default_smoothing_leaves_proportional_histograms_at_zero() -> None:
    """Zipf over 50 categories, 200 vs 1,000,000 rows, exactly proportional: every measure is exactly 0."""
    small = np.arange(50, 0, -1, dtype=np.float64) * 4  # 4, 8, ... proportional to a Zipf-like shape
    large = small * 5000.0
    scores = divergences(small, large, list(MEASURE_NAMES))
    assert {name: float(value) for name, value in scores.items()} == dict.fromkeys(MEASURE_NAMES, 0.0)


@given(
    st.lists(st.integers(1, 10_000), min_size=1, max_size=60),
    st.integers(1, 5000),
    st.integers(1, 5000),
)
@settings(max_examples=200, deadline=None, derandomize=True)
def test_proportional_histograms_score_zero_at_any_sizes(shape: list[int], a: int, b: int) -> None:
    """For any two exactly proportional histograms (same support), every measure is exactly 0 by default."""
    base = np.array(shape, dtype=np.float64)
    scores = divergences(base * a, base * b, list(MEASURE_NAMES))
    assert all(float(v) == 0.0 for v in scores.values()), scores


def test_unseen_smoothing_touches_only_one_sided_bins() -> None:
    """`unseen`: a bin empty on one side gets alpha on that side; bins seen on both sides are untouched."""
    live = np.array([30.0, 60.0, 10.0, 0.0])
    reference = np.array([50.0, 50.0, 0.0, 20.0])
    p, q = smooth(live, reference, Smoothing("unseen", alpha=0.5))
    np.testing.assert_allclose(p, np.array([30, 60, 10, 0.5]) / 100.5, rtol=1e-15)
    np.testing.assert_allclose(q, np.array([50, 50, 0.5, 20]) / 120.5, rtol=1e-15)
    scores = divergences(live, reference, ["kl", "psi", "kl_reverse"])
    assert all(np.isfinite(float(v)) for v in scores.values())
