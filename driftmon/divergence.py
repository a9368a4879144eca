"""Smoothing and the divergence measures: pure numpy over (features x bins) count arrays.

`p` is always the live distribution and `q` the reference (docs/statistics.md, Measures). Rows are
features, columns are bins; every measure is computed for all rows at once.

Pipeline, per row:

1. Bins empty on both sides are dropped (masked): they carry no information, so neither
   the number of declared bins nor zero padding added to align features changes a score.
2. Smoothing turns counts into proportions `p`, `q` (see `Smoothing`).
3. Each requested measure reduces `p`, `q` to one float64 per row.

A row whose live or reference total is 0 has no distribution to compare: every measure
is NaN for it, and callers map NaN to "no score". No other input yields NaN.

Adding a measure is one function of `(p, q, log_base)` plus one entry in `MEASURES`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

__all__ = [
    "MEASURES",
    "MEASURE_NAMES",
    "SMOOTHING_METHODS",
    "Measure",
    "MeasureName",
    "Smoothing",
    "SmoothingMethod",
    "divergences",
    "smooth",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_LN2 = math.log(2.0)

# divergences() works through rows in blocks of about this many cells: temporaries then stay
# cache-sized and get reused by the allocator (whole-array temporaries at 10,000 x 50 cost
# about twice as much, mostly in page faults), and memory stays bounded for any row count.
_BLOCK_ELEMENTS = 1 << 16


@dataclass(frozen=True, slots=True)
class Measure:
    """One divergence measure: its config name, what it means, and how to compute it.

    `function(p, q, log_base)` takes proportions of shape (..., B) (each row summing to 1,
    zero in dropped bins) and returns one float64 score per row, shape (...,). Rows with
    no distribution are the caller's concern: `divergences` turns them into NaN.
    """

    name: str
    uses_log_base: bool
    description: str
    upper_bound: float | None
    function: Callable[[FloatArray, FloatArray, float], FloatArray]


SmoothingMethod = Literal["unseen", "additive", "epsilon", "none"]
"""The smoothing methods (see `Smoothing`); the config's ``smoothing.method`` takes this type."""

SMOOTHING_METHODS: tuple[str, ...] = get_args(SmoothingMethod)


@dataclass(frozen=True, slots=True)
class Smoothing:
    """How counts become proportions so that bins unseen on one side stay finite.

    - ``unseen`` (the default): a bin empty on exactly one side gets ``alpha`` (> 0) as that
      side's count; bins seen on both sides are left as they are; then both sides are
      normalised. Histograms with the same support are compared without any smoothing, so
      exactly proportional counts score exactly 0 at any pair of sample sizes.
    - ``additive``: every bin not dropped gets ``alpha`` (> 0) added to its count on both
      sides, then both sides are normalised (Laplace for alpha=1, Jeffreys for 0.5).
    - ``epsilon``: proportions = counts / total; every bin not dropped is floored at
      ``epsilon`` (0 < epsilon < 1), then both sides are renormalised.
    - ``none``: plain proportions; `kl`, `kl_reverse` and `psi` may be ``+inf``.
    """

    method: SmoothingMethod = "unseen"
    alpha: float = 0.5
    epsilon: float = 1e-6

    def __post_init__(self) -> None:
        if self.method not in SMOOTHING_METHODS:
            raise ValueError(f"unknown smoothing method {self.method!r}; valid: {', '.join(SMOOTHING_METHODS)}")
        if not (math.isfinite(self.alpha) and self.alpha > 0):
            raise ValueError(
                f"smoothing alpha must be a finite number > 0, got {self.alpha!r} (for no smoothing use method 'none')"
            )
        if not (0 < self.epsilon < 1):
            raise ValueError(f"smoothing epsilon must be in (0, 1), got {self.epsilon!r}")


class _Terms:
    """Pieces several measures share, computed at most once per (p, q) pair."""

    def __init__(self, p: FloatArray, q: FloatArray) -> None:
        self.p = p
        self.q = q

    @cached_property
    def p_positive(self) -> BoolArray:
        return self.p > 0

    @cached_property
    def q_positive(self) -> BoolArray:
        return self.q > 0

    @cached_property
    def one_sided(self) -> bool:
        """Whether any bin is positive on exactly one side (only possible without smoothing)."""
        return bool((self.p_positive != self.q_positive).any())

    @cached_property
    def live_only(self) -> BoolArray:
        """Bins where p > 0 = q."""
        return self.p_positive & ~self.q_positive

    @cached_property
    def reference_only(self) -> BoolArray:
        """Bins where q > 0 = p."""
        return self.q_positive & ~self.p_positive

    @cached_property
    def log_ratio(self) -> FloatArray:
        """ln(p/q) where both are positive, 0 elsewhere (so 0*log(0/x) terms vanish)."""
        return _log_of_ratio(self.p, self.q, self.p_positive & self.q_positive)

    @cached_property
    def difference(self) -> FloatArray:
        return self.p - self.q


# divergences() publishes the _Terms of its (p, q) here so that the measures it calls share
# logs; a measure called on its own builds fresh _Terms. A ContextVar keeps threads apart.
_SHARED_TERMS: ContextVar[_Terms | None] = ContextVar("driftmon_divergence_terms", default=None)


def _terms(p: FloatArray, q: FloatArray) -> _Terms:
    shared = _SHARED_TERMS.get()
    if shared is not None and shared.p is p and shared.q is q:
        return shared
    return _Terms(p, q)


def _log_of_ratio(numerator: FloatArray, denominator: FloatArray, where: BoolArray) -> FloatArray:
    """ln(numerator/denominator) where `where`, exactly 0 elsewhere; no warnings."""
    ratio = np.divide(numerator, denominator, out=np.ones_like(numerator), where=where)
    return np.log(ratio, out=ratio)


def _row_dot(left: FloatArray, right: FloatArray) -> FloatArray:
    """sum(left * right) over the last axis, without a (F, B) temporary."""
    total: FloatArray = np.einsum("...i,...i->...", left, right)
    return total


def _row_any(mask: BoolArray) -> BoolArray:
    return np.asarray(mask.any(axis=-1))


def _kl(p: FloatArray, q: FloatArray, log_base: float) -> FloatArray:
    """KL(p||q) = sum p*log(p/q) in units of `log_base`; [0, +inf), +inf if p > 0 = q."""
    terms = _terms(p, q)
    nats = _row_dot(p, terms.log_ratio)
    if terms.one_sided:
        nats[_row_any(terms.live_only)] = np.inf
    return np.maximum(nats, 0.0) / math.log(log_base)


def _kl_reverse(p: FloatArray, q: FloatArray, log_base: float) -> FloatArray:
    """KL(q||p) = sum q*log(q/p) in units of `log_base`; [0, +inf), +inf if q > 0 = p."""
    terms = _terms(p, q)
    nats = -_row_dot(q, terms.log_ratio)
    if terms.one_sided:
        nats[_row_any(terms.reference_only)] = np.inf
    return np.maximum(nats, 0.0) / math.log(log_base)


def _js(p: FloatArray, q: FloatArray, log_base: float) -> FloatArray:
    """JS = KL(p||m)/2 + KL(q||m)/2, m = (p+q)/2, in units of `log_base`; [0, ln2/ln(base)].

    Computed as sum m*ln(p/m) + KL(q||p)/2 (plus ln2/2 per unit of reference-only mass),
    which reuses ln(p/q) and so costs one logarithm instead of two.
    """
    terms = _terms(p, q)
    mean = np.add(p, q)
    mean *= 0.5
    nats = _row_dot(mean, _log_of_ratio(p, mean, terms.p_positive))
    nats -= 0.5 * _row_dot(q, terms.log_ratio)
    if terms.one_sided:
        # Where p = 0 < q, ln(q/m) = ln2 and ln(p/q) was taken as 0.
        nats += 0.5 * _LN2 * np.where(terms.reference_only, q, 0.0).sum(axis=-1)
    # Clipping only absorbs rounding: the bound is attained by disjoint supports.
    return np.clip(nats, 0.0, _LN2) / math.log(log_base)


def _psi(p: FloatArray, q: FloatArray, log_base: float) -> FloatArray:
    """PSI = sum (p-q)*ln(p/q), always natural log; [0, +inf), +inf if a bin is one-sided."""
    del log_base  # the industry's 0.1 / 0.25 thresholds assume nats
    terms = _terms(p, q)
    psi = _row_dot(terms.difference, terms.log_ratio)
    if terms.one_sided:
        psi[_row_any(terms.live_only | terms.reference_only)] = np.inf
    return np.maximum(psi, 0.0)


def _hellinger(p: FloatArray, q: FloatArray, log_base: float) -> FloatArray:
    """Hellinger distance sqrt(sum (sqrt p - sqrt q)^2 / 2); [0, 1]."""
    del log_base
    root_difference = np.sqrt(p)
    root_difference -= np.sqrt(q)
    squared = 0.5 * _row_dot(root_difference, root_difference)
    return np.sqrt(np.clip(squared, 0.0, 1.0))


def _tvd(p: FloatArray, q: FloatArray, log_base: float) -> FloatArray:
    """Total variation distance sum |p - q| / 2; [0, 1]."""
    del log_base
    half_sum: FloatArray = 0.5 * np.abs(_terms(p, q).difference).sum(axis=-1)
    return np.clip(half_sum, 0.0, 1.0)


_TABLE = (
    Measure(
        "kl",
        True,
        "Kullback-Leibler divergence KL(live||reference) = sum p*log(p/q), "
        "in log_base units (bits by default); range [0, +Inf)",
        None,
        _kl,
    ),
    Measure(
        "kl_reverse",
        True,
        "Reverse Kullback-Leibler divergence KL(reference||live) = sum q*log(q/p), "
        "in log_base units (bits by default); range [0, +Inf)",
        None,
        _kl_reverse,
    ),
    Measure(
        "js",
        True,
        "Jensen-Shannon divergence JS(live, reference) = KL(p||m)/2 + KL(q||m)/2, "
        "m = (p+q)/2, in log_base units; range [0, 1] in bits",
        1.0,  # in base 2; ln(2)/ln(log_base) in general
        _js,
    ),
    Measure(
        "psi",
        False,
        "Population stability index PSI = sum (p-q)*ln(p/q), natural log; range [0, +Inf)",
        None,
        _psi,
    ),
    Measure(
        "hellinger",
        False,
        "Hellinger distance sqrt(sum (sqrt(p)-sqrt(q))^2 / 2); range [0, 1]",
        1.0,
        _hellinger,
    ),
    Measure(
        "tvd",
        False,
        "Total variation distance sum |p-q| / 2; range [0, 1]",
        1.0,
        _tvd,
    ),
)

MEASURES: Mapping[str, Measure] = MappingProxyType({measure.name: measure for measure in _TABLE})
"""Every measure by config name, in documentation order."""

MEASURE_NAMES: tuple[str, ...] = tuple(MEASURES)
"""("kl", "kl_reverse", "js", "psi", "hellinger", "tvd")."""

MeasureName = Literal["kl", "kl_reverse", "js", "psi", "hellinger", "tvd"]
"""`MEASURE_NAMES` as a type, for the config's ``measures:`` (tests/test_config.py keeps them equal)."""


def _counts(live: npt.ArrayLike, reference: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Both count arrays as float64, checked: same shape, 1-D or 2-D, finite, non-negative."""
    live_counts = np.asarray(live, dtype=np.float64)
    reference_counts = np.asarray(reference, dtype=np.float64)
    if live_counts.shape != reference_counts.shape:
        raise ValueError(
            f"live and reference counts must have the same shape, got {live_counts.shape} and {reference_counts.shape}"
        )
    if live_counts.ndim not in (1, 2):
        raise ValueError(f"counts must be 1-D (bins) or 2-D (features x bins), got shape {live_counts.shape}")
    for side, counts in (("live", live_counts), ("reference", reference_counts)):
        # min/max propagate NaN, so one pass each catches negative, NaN and infinite counts.
        if counts.size and not (counts.min() >= 0 and counts.max() < np.inf):
            raise ValueError(f"{side} counts must be finite and non-negative")
    return live_counts, reference_counts


def _normalise(counts: FloatArray) -> FloatArray:
    """Rows scaled in place to sum to 1; rows summing to 0 stay 0 (no division warning)."""
    totals = counts.sum(axis=-1, keepdims=True)
    totals[totals == 0] = 1.0
    counts /= totals
    return counts


def _smooth(live: FloatArray, reference: FloatArray, smoothing: Smoothing) -> tuple[FloatArray, FloatArray]:
    """`smooth` without the input checks; never modifies its arguments."""
    kept = (live > 0) | (reference > 0)
    if smoothing.method == "unseen":
        p = live.copy()
        q = reference.copy()
        p[kept & (live == 0)] = smoothing.alpha
        q[kept & (reference == 0)] = smoothing.alpha
        return _normalise(p), _normalise(q)
    if smoothing.method == "additive":
        pseudo_counts = kept * smoothing.alpha
        p = _normalise(live + pseudo_counts)
        q = _normalise(np.add(reference, pseudo_counts, out=pseudo_counts))
        return p, q
    p, q = _normalise(live.copy()), _normalise(reference.copy())
    if smoothing.method == "epsilon":
        for proportions in (p, q):
            np.maximum(proportions, smoothing.epsilon, out=proportions, where=kept)
            _normalise(proportions)
    return p, q


def smooth(live: npt.ArrayLike, reference: npt.ArrayLike, smoothing: Smoothing) -> tuple[FloatArray, FloatArray]:
    """Counts of shape (F, B) or (B,) -> proportions (p, q) of the same shape.

    Bins empty on both sides are dropped (0 in both outputs, before and after smoothing);
    the others are smoothed as `smoothing` says. Each row of p and q sums to 1 (within
    rounding), except where a side's row total is 0: that side has no distribution (all 0
    with ``none``, smoothing mass only otherwise), and `divergences` scores the row NaN.

    Raises ValueError for mismatched shapes, more than 2 dimensions, or negative,
    NaN or infinite counts.
    """
    return _smooth(*_counts(live, reference), smoothing)


def divergences(
    live: npt.ArrayLike,
    reference: npt.ArrayLike,
    measures: Sequence[str] = ("kl", "js", "psi"),
    smoothing: Smoothing = Smoothing(),
    log_base: float = 2.0,
) -> dict[str, FloatArray]:
    """Score how far `live` has drifted from `reference` by each requested measure.

    `live`, `reference`: counts (weights allowed) of shape (F, B) for F features of B bins,
    or (B,) for one feature; same shape, finite and non-negative. Rows padded with zero
    bins score the same as unpadded rows (to rounding): bins empty on both sides are
    dropped.

    Returns {measure: float64 array} with shape (F,) for 2-D input and shape () for 1-D
    input, in the order requested. `kl`, `kl_reverse` and `js` are in units of `log_base`
    (2: bits, e: nats, 10: bans); `psi` always uses the natural log; `hellinger` and `tvd`
    are unitless in [0, 1]; `js` lies in [0, ln2/ln(log_base)], i.e. [0, 1] in bits.
    Identical live and reference counts score exactly 0.0. With smoothing ``none``,
    `kl`, `kl_reverse` and `psi` are +inf when a bin is empty on only one side.

    A row whose live or reference total is 0 is NaN for every measure: there is nothing
    to compare, and callers report it as "no score". No other row is ever NaN.

    Raises ValueError for an unknown measure name, a `log_base` that is not finite, > 0
    and != 1, or counts `smooth` rejects.
    """
    if isinstance(measures, str):
        raise ValueError(f"measures must be a sequence of names, not the string {measures!r}")
    unknown = [name for name in measures if name not in MEASURES]
    if unknown:
        raise ValueError(f"unknown measure(s) {', '.join(map(repr, unknown))}; valid: {', '.join(MEASURE_NAMES)}")
    if not (math.isfinite(log_base) and log_base > 0 and log_base != 1):
        raise ValueError(f"log_base must be finite, > 0 and != 1, got {log_base!r}")

    live_counts, reference_counts = _counts(live, reference)
    one_feature = live_counts.ndim == 1
    if one_feature:
        live_counts, reference_counts = live_counts[np.newaxis], reference_counts[np.newaxis]

    undefined = (live_counts.sum(axis=-1) == 0) | (reference_counts.sum(axis=-1) == 0)
    features, bins = live_counts.shape
    scores: dict[str, FloatArray] = {name: np.empty(features) for name in measures}
    rows_per_block = max(1, _BLOCK_ELEMENTS // max(1, bins))
    for start in range(0, features, rows_per_block):
        block = slice(start, start + rows_per_block)
        p, q = _smooth(live_counts[block], reference_counts[block], smoothing)
        token = _SHARED_TERMS.set(_Terms(p, q))
        try:
            for name, score in scores.items():
                score[block] = MEASURES[name].function(p, q, log_base)
        finally:
            _SHARED_TERMS.reset(token)
    for name, score in scores.items():
        score[undefined] = np.nan
        if one_feature:
            scores[name] = score.reshape(())
    return scores
