"""Per-bin terms (driftmon/explain.py): they add up to the scores, and match the formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import entropy

from driftmon.divergence import MEASURE_NAMES, Smoothing, divergences, smooth
from driftmon.explain import TERM_NAMES, bin_terms, term_names, unit

SMOOTHINGS = [
    Smoothing(),
    Smoothing("unseen", alpha=2.0),
    Smoothing("additive", alpha=0.5),
    Smoothing("epsilon", epsilon=1e-4),
    Smoothing("none"),
]
# Counts with zeros on one or both sides, whole and fractional (weights >= 1e-6: below ~1e-300
# p/q overflows, and divergence.py itself then loses kl_reverse; not a realistic weight).
counts = st.lists(
    st.one_of(st.just(0.0), st.integers(0, 1000).map(float), st.floats(1e-6, 1e4)),
    min_size=1,
    max_size=30,
)


def _summed(terms: np.ndarray) -> float:
    return math.inf if np.isinf(terms).any() else float(terms.sum())


@settings(max_examples=300, deadline=None)
@given(data=st.data(), smoothing=st.sampled_from(SMOOTHINGS), log_base=st.sampled_from([2.0, math.e, 10.0]))
def test_terms_sum_to_every_score(data: st.DataObject, smoothing: Smoothing, log_base: float) -> None:
    """For every measure and smoothing, the per-bin terms sum to the score to 1e-12 (+inf where the score is +inf); Hellinger's to its square."""
    live = data.draw(counts)
    reference = data.draw(st.lists(st.sampled_from([*live, 0.0, 3.0, 17.5]), min_size=len(live), max_size=len(live)))
    if sum(live) == 0 or sum(reference) == 0:
        live[0] += 1.0
        reference[-1] += 1.0
    scores = divergences(live, reference, MEASURE_NAMES, smoothing, log_base)
    _, _, terms = bin_terms(live, reference, MEASURE_NAMES, smoothing, log_base)
    for measure in ("kl", "kl_reverse", "js", "psi", "tvd"):
        score = float(scores[measure])
        total = _summed(terms[measure])
        if math.isinf(score):
            assert total == math.inf, measure
        else:
            assert total == pytest.approx(score, abs=1e-12), measure
    assert float(terms["hellinger"].sum()) == pytest.approx(float(scores["hellinger"]) ** 2, abs=1e-12)
    assert np.allclose(terms["js"], terms["js_live"] + terms["js_reference"], rtol=0, atol=1e-15)


@settings(max_examples=50, deadline=None)
@given(
    rows=st.integers(1, 5),
    bins=st.integers(1, 12),
    seed=st.integers(0, 2**32 - 1),
    smoothing=st.sampled_from(SMOOTHINGS),
)
def test_two_dimensional_rows_match_one_dimensional(rows: int, bins: int, seed: int, smoothing: Smoothing) -> None:
    """Terms of a (features x bins) array are, row by row, the terms of each row alone, and sum to that row's score."""
    rng = np.random.default_rng(seed)
    live = rng.integers(0, 5, (rows, bins)).astype(float) * (rng.random((rows, bins)) < 0.7)
    reference = rng.integers(0, 5, (rows, bins)).astype(float)
    live[:, 0] += 1
    reference[:, -1] += 1
    scores = divergences(live, reference, MEASURE_NAMES, smoothing)
    p, _, terms = bin_terms(live, reference, MEASURE_NAMES, smoothing)
    for row in range(rows):
        p1, _, single = bin_terms(live[row], reference[row], MEASURE_NAMES, smoothing)
        np.testing.assert_array_equal(p[row], p1)
        for name in TERM_NAMES:
            np.testing.assert_allclose(terms[name][row], single[name], rtol=1e-15, atol=0)
        if math.isfinite(scores["kl"][row]):
            assert _summed(terms["kl"][row]) == pytest.approx(float(scores["kl"][row]), abs=1e-12)


def test_terms_follow_the_written_out_formulas() -> None:
    """Each term is its formula on the smoothed shares: KL against scipy.stats.entropy, the rest written out."""
    live = np.array([30.0, 50.0, 0.0, 20.0, 0.0])
    reference = np.array([40.0, 40.0, 10.0, 10.0, 0.0])
    smoothing = Smoothing("additive", alpha=0.5)
    p, q, terms = bin_terms(live, reference, MEASURE_NAMES, smoothing, 2.0)
    p_oracle, _ = smooth(live, reference, smoothing)
    np.testing.assert_array_equal(p, p_oracle)
    kept = slice(0, 4)  # the last bin is empty on both sides: dropped, share and terms 0
    assert p[4] == q[4] == 0.0 and all(terms[name][4] == 0.0 for name in TERM_NAMES)
    pk, qk = p[kept], q[kept]
    assert terms["kl"].sum() == pytest.approx(entropy(pk, qk, base=2), abs=1e-12)
    assert terms["kl_reverse"].sum() == pytest.approx(entropy(qk, pk, base=2), abs=1e-12)
    np.testing.assert_allclose(terms["kl"][kept], pk * np.log2(pk / qk), rtol=1e-13)
    m = (pk + qk) / 2
    np.testing.assert_allclose(terms["js_live"][kept], 0.5 * pk * np.log2(pk / m), rtol=1e-13)
    np.testing.assert_allclose(terms["js_reference"][kept], 0.5 * qk * np.log2(qk / m), rtol=1e-13)
    np.testing.assert_allclose(terms["psi"][kept], (pk - qk) * np.log(pk / qk), rtol=1e-13)
    np.testing.assert_allclose(terms["hellinger"][kept], 0.5 * (np.sqrt(pk) - np.sqrt(qk)) ** 2, rtol=1e-13)
    np.testing.assert_allclose(terms["tvd"][kept], 0.5 * np.abs(pk - qk), rtol=1e-13)


def test_unsmoothed_one_sided_bins_are_infinite_terms() -> None:
    """With smoothing none, a live-only bin is +inf in kl and psi, a reference-only bin +inf in kl_reverse and psi; JS stays finite (½q·log2(2) for the reference-only bin)."""
    live = np.array([5.0, 5.0, 0.0])
    reference = np.array([5.0, 0.0, 5.0])
    _, q, terms = bin_terms(live, reference, MEASURE_NAMES, Smoothing("none"))
    assert terms["kl"].tolist()[1:] == [math.inf, 0.0]
    assert terms["kl_reverse"].tolist()[1:] == [0.0, math.inf]
    assert terms["psi"].tolist()[1:] == [math.inf, math.inf]
    assert terms["js_reference"][2] == pytest.approx(0.5 * q[2] * 1.0, abs=1e-15)
    assert terms["js_live"][2] == 0.0


def test_names_and_units() -> None:
    """js brings its two halves; KL/JS terms are in bits at base 2, nats at e; PSI in nats always; TVD unitless."""
    assert term_names(["kl", "js", "psi"]) == ("kl", "js", "js_live", "js_reference", "psi")
    assert (
        unit("kl", 2) == "bits" and unit("js", math.e) == "nats" and unit("psi", 2) == "nats" and unit("tvd", 2) == ""
    )
    with pytest.raises(ValueError, match="unknown measure"):
        bin_terms([1.0], [1.0], ["chi2"])


def test_a_pickled_bin_explanation_is_the_same() -> None:
    """BinExplanation.__reduce__ (the worker pipe): every field back, in its place."""
    import pickle

    from driftmon.explain import BinExplanation

    item = BinExplanation("__unseen__", "unseen", 0.0, 7.0, 0.01, 0.2, {"kl": 0.3, "js": 0.02}, (("z", 5.0), ("y", 2.0)))
    back = pickle.loads(pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL))
    assert back == item and back.values == (("z", 5.0), ("y", 2.0)) and back.change == item.change
    plain = BinExplanation("[0, 1)", "interval", 3.0, 4.0, 0.3, 0.4, {})
    assert pickle.loads(pickle.dumps(plain)) == plain
