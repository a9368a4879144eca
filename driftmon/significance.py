"""Is a score more than sampling noise? Sample-size-aware drift decisions, in pure numpy.

A divergence between two finite samples of one distribution is not zero: the plug-in KL
of a live sample of n rows against its own distribution averages about (bins - 1) / (2n)
nats, so small windows score high on noise alone; and with millions of rows every p-value
is tiny, so significance alone flags trivial shifts. driftmon therefore asks both
questions, and this module answers the second one. Every function works on all features
(rows) at once.

- `homogeneity_test`: a chi-square test of homogeneity of the live and reference
  histograms (Cressie-Read power divergence, rare bins pooled), from their raw counts, so
  both sample sizes count. One p-value per feature: the omnibus test.
- `focused_test`: the largest single share difference: per pooled group, the 2 x 2 test of
  that group against the rest, the largest statistic, Bonferroni-corrected over the groups.
  The omnibus test spreads a shift of one share of twenty over all its degrees of freedom;
  this one does not.
- `drift_test`: the two combined (Bonferroni over the two): the p-value of each feature.
- `gate`: the tests of a monitor's features, corrected, against the significance.
- `adjust`: multiple-testing correction across a monitor's features: ``fdr``
  (Benjamini-Hochberg, the default), ``holm``, ``bonferroni`` or ``none``.
- `decide`: the rule. A feature is at a severity for a measure when its score reaches the
  threshold (the effect is large enough to matter) *and* its corrected p-value is at most
  the significance (the effect is not noise). A share that moved by ``share_shift`` (five
  points by default: `share_shift` measures it) is large enough to matter for warning.
- `chi2_sf`: the chi-square survival function (`driftmon.chisquare`'s, re-exported); the
  focused test's exact tails are `driftmon.fisher`'s.

The noise floor and the ``auto`` thresholds (each measure's distribution under "no
drift", simulated) are `driftmon.noise`'s.

Counts may be weights (the histogram file allows them). The test and the simulation treat
a count as that many independent rows (frequency weights). Weights scaled to something
else (sampling weights summing to a population size, say) make the p-values wrong: too
small when the weights sum to more than the rows behind them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from driftmon.chisquare import chi2_sf
from driftmon.fisher import fisher_two_sided

__all__ = [
    "CORRECTIONS",
    "MIN_EXPECTED",
    "Correction",
    "Gate",
    "HomogeneityTest",
    "adjust",
    "check_counts",
    "chi2_sf",
    "decide",
    "drift_test",
    "focused_test",
    "gate",
    "homogeneity_test",
    "share_shift",
]

FloatArray = npt.NDArray[np.float64]
Correction = Literal["holm", "bonferroni", "fdr", "none"]
"""The multiple-testing corrections (see `adjust`); the config's ``correction:`` takes this type."""

CORRECTIONS: tuple[str, ...] = get_args(Correction)

MIN_EXPECTED = 5.0
"""Bins expected to hold fewer rows than this in the smaller sample are pooled for the test."""

OK, WARNING, CRITICAL = 0, 1, 2
"""Severity codes returned by `decide`."""

_TINY = 1e-300

# ---------------------------------------------------------------------------
# the test of homogeneity


@dataclass(frozen=True, slots=True)
class HomogeneityTest:
    """The test of homogeneity per feature; arrays of shape (F,) or ().

    ``statistic`` is the power-divergence statistic over the pooled bins (see
    `homogeneity_test`), ``df`` the groups with rows minus one, ``pvalue``
    P(chi2(df) >= statistic), 1.0 when df is 0 (a single group: nothing to compare). All
    three are NaN for a feature with a side of zero rows: no test is possible.
    """

    statistic: FloatArray
    df: FloatArray
    pvalue: FloatArray


CRESSIE_READ = 2.0 / 3.0
PEARSON = 1.0
LOG_LIKELIHOOD = 0.0  # the G-test


def homogeneity_test(
    live: npt.ArrayLike,
    reference: npt.ArrayLike,
    min_expected: float = MIN_EXPECTED,
    lambda_: float = CRESSIE_READ,
) -> HomogeneityTest:
    """Test, per feature, that live and reference are samples of one distribution.

    `live`, `reference`: raw counts (not smoothed), shape (F, B) or (B,), finite, >= 0.
    The 2 x B contingency table of the two histograms is tested for homogeneity with the
    power-divergence statistic of Cressie and Read,
    2 / (lambda (lambda + 1)) * sum O ((O / E)^lambda - 1) over both rows, E the counts
    expected from the margins (so both sample sizes count), against chi-square with
    groups - 1 degrees of freedom. ``lambda_`` 1 is Pearson's chi-square, 0 the G-test;
    the default 2/3 is Cressie and Read's recommendation, whose chi-square approximation
    holds best with small expected counts: in driftmon's calibration simulations Pearson's
    test fired up to 2-3 times too often at the 0.0005 level a Holm correction over 20
    features asks for (a small live window against a large reference), 2/3 within
    simulation noise of the nominal rate.

    Bins empty on both sides are dropped. The chi-square approximation fails for bins with
    tiny expected counts (one live row in a bin where a 100,000-row reference has one row
    gives Pearson's X^2 near 1,000: a false alarm), so before the test, bins expected to
    hold fewer than ``min_expected`` rows in the smaller sample are pooled, rarest first,
    into groups each expected to reach ``min_expected`` (Cochran's rule); a remainder joins
    the previous group. The pooling depends only on the pooled counts (the table's column
    margins), so the test stays valid; a bin whose counts really moved is no longer rare
    in the pooled counts and keeps its own group. The scores (divergences) still use every
    bin.

    Huge samples give tiny p-values, down to 0.0; never NaN except for a side with no rows.
    """
    if not (math.isfinite(min_expected) and min_expected > 0):
        raise ValueError(f"min_expected must be finite and > 0, got {min_expected!r}")
    if not (math.isfinite(lambda_) and lambda_ != -1):
        raise ValueError(f"lambda_ must be finite and != -1, got {lambda_!r}")
    one_feature, grouped = _grouped(live, reference, min_expected)
    live_grouped, reference_grouped, live_total, reference_total, undefined = grouped
    total = np.where(undefined, 1.0, live_total + reference_total)
    pooled = live_grouped + reference_grouped
    present = pooled > 0
    statistic = np.zeros(live_total.shape)
    for observed, side_total in ((live_grouped, live_total), (reference_grouped, reference_total)):
        expected = pooled * (side_total / total)[:, np.newaxis]
        statistic += _power_divergence(observed, expected, present & (observed > 0), lambda_)
    statistic = np.maximum(statistic, 0.0)  # rounding only: the statistic is >= 0
    df = present.sum(axis=1).astype(np.float64) - 1.0
    pvalue = np.ones(live_total.shape)
    testable = ~undefined & (df > 0)
    if testable.any():
        pvalue[testable] = chi2_sf(statistic[testable], df[testable])
    for array in (statistic, df, pvalue):
        array[undefined] = np.nan
    if one_feature:
        return HomogeneityTest(statistic.reshape(()), df.reshape(()), pvalue.reshape(()))
    return HomogeneityTest(statistic, df, pvalue)


def focused_test(
    live: npt.ArrayLike,
    reference: npt.ArrayLike,
    min_expected: float = MIN_EXPECTED,
) -> FloatArray:
    """Per feature, the p-value of the largest share difference between live and reference.

    The bins are pooled as for `homogeneity_test` (rare bins into groups expected to hold
    ``min_expected`` rows). For each of the G groups with rows, the 2 x 2 table "this group
    or the rest" of the two sides gets Fisher's exact test (two-sided mid-p, `fisher_two_sided`:
    given the m rows both sides have in the group, the live count is hypergeometric when
    nothing drifted). The smallest p-value, times G (Bonferroni over the groups), is the
    result, clipped to 1. Shape (F,) for counts (F, B), () for (B,). 1.0 with fewer than two
    groups; NaN for a feature with a side of zero rows.

    This is the test of the largest standardised share difference: a shift of one share
    among many groups is found with about the power of a one-degree-of-freedom test, where
    the omnibus test divides it among G - 1. Exact tails, not chi-square(1): at the levels a
    correction over 20 features and 50 groups asks for (1e-5), the chi-square approximation
    of a 2 x 2 table with 5-20 expected rows fired 2-7 times too often in simulations.
    Cost: at most 600 vectorised steps over the groups, whatever the sample sizes.
    """
    one_feature, grouped = _grouped(live, reference, min_expected)
    live_grouped, reference_grouped, live_total, reference_total, undefined = grouped
    pooled = live_grouped + reference_grouped
    present = pooled > 0
    groups = present.sum(axis=1)
    rows, columns = np.nonzero(present & ~undefined[:, np.newaxis])
    tails = np.ones(pooled.shape)
    if rows.size:
        tails[rows, columns] = fisher_two_sided(
            live_grouped[rows, columns], pooled[rows, columns], live_total[rows], reference_total[rows]
        )
    pvalue = np.where(groups >= 2, np.minimum(1.0, tails.min(axis=1, initial=1.0) * groups), 1.0)
    pvalue[undefined] = np.nan
    return pvalue.reshape(()) if one_feature else pvalue


def _grouped(
    live: npt.ArrayLike, reference: npt.ArrayLike, min_expected: float
) -> tuple[bool, tuple[FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_]]]:
    """The prologue both tests share: whether the counts were one feature (B,), then, as
    rows of features, the counts with rare bins pooled, each side's total, and the features
    with a side of zero rows (untestable)."""
    live_counts, reference_counts = check_counts(live, reference)
    one_feature = live_counts.ndim == 1
    if one_feature:
        live_counts, reference_counts = live_counts[np.newaxis], reference_counts[np.newaxis]
    live_grouped, reference_grouped = _pool_rare_bins(live_counts, reference_counts, min_expected)
    live_total = live_counts.sum(axis=1)
    reference_total = reference_counts.sum(axis=1)
    undefined = (live_total == 0) | (reference_total == 0)
    return one_feature, (live_grouped, reference_grouped, live_total, reference_total, undefined)


def drift_test(
    live: npt.ArrayLike,
    reference: npt.ArrayLike,
    min_expected: float = MIN_EXPECTED,
) -> FloatArray:
    """Per feature, the p-value driftmon's gate uses: the omnibus `homogeneity_test` and the
    `focused_test` together, min(1, 2 min(p_omnibus, p_focused)) (Bonferroni over the two,
    so the level holds whatever their dependence). With two groups the two tests are one
    (the same 2 x 2 table): the omnibus p-value, uncorrected. NaN for a side of zero rows.
    Shape (F,) for counts (F, B), () for (B,)."""
    omnibus = homogeneity_test(live, reference, min_expected)
    focused = focused_test(live, reference, min_expected)
    live_counts, reference_counts = check_counts(live, reference)
    pooled_groups = _groups(live_counts, reference_counts, min_expected)
    with np.errstate(invalid="ignore"):
        combined = np.minimum(1.0, 2.0 * np.minimum(omnibus.pvalue, focused))
    return np.where(pooled_groups > 2, combined, omnibus.pvalue)


def _groups(live: FloatArray, reference: FloatArray, min_expected: float) -> npt.NDArray[np.int64]:
    """How many pooled groups with rows each feature's test has (shape of the counts without the bins axis)."""
    one_feature = live.ndim == 1
    if one_feature:
        live, reference = live[np.newaxis], reference[np.newaxis]
    live_grouped, reference_grouped = _pool_rare_bins(live, reference, min_expected)
    groups: npt.NDArray[np.int64] = ((live_grouped + reference_grouped) > 0).sum(axis=1)
    return groups.reshape(()) if one_feature else groups


def _power_divergence(
    observed: FloatArray, expected: FloatArray, where: npt.NDArray[np.bool_], lambda_: float
) -> FloatArray:
    """Per row, 2/(l(l+1)) sum O((O/E)^l - 1), or 2 sum O ln(O/E) for l = 0, over the cells
    in ``where`` (cells with O = 0 add nothing for l > -1)."""
    ratio = np.divide(observed, expected, out=np.ones_like(observed), where=where)
    statistic: FloatArray
    if lambda_ == 0:
        statistic = 2.0 * (observed * np.log(ratio)).sum(axis=1)
    else:
        terms = observed * (np.power(ratio, lambda_) - 1.0)
        statistic = 2.0 / (lambda_ * (lambda_ + 1.0)) * terms.sum(axis=1)
    return statistic


def _pool_rare_bins(live: FloatArray, reference: FloatArray, min_expected: float) -> tuple[FloatArray, FloatArray]:
    """Counts (F, B) with rare bins pooled into groups (see `homogeneity_test`); unused
    groups are 0 on both sides. Vectorised: bins sorted by pooled count, so the rare bins
    are a prefix of each row and their groups follow from a running sum."""
    features, bins = live.shape
    live_total = live.sum(axis=1)
    reference_total = reference.sum(axis=1)
    total = np.maximum(live_total + reference_total, _TINY)
    smaller = np.minimum(live_total, reference_total)
    pooled = live + reference
    order = np.argsort(pooled, axis=1, kind="stable")
    expected = np.take_along_axis(pooled, order, axis=1) * (smaller / total)[:, np.newaxis]
    rare = expected < min_expected  # a prefix of each sorted row (empty bins included)
    n_rare = rare.sum(axis=1)
    rare_expected = np.where(rare, expected, 0.0)
    before = np.cumsum(rare_expected, axis=1) - rare_expected  # expected rows in rarer bins
    # a group takes bins until it holds m expected rows: bin k is in group floor(before_k / m)
    tolerance = 1e-9
    group = np.floor(before / min_expected + tolerance).astype(np.int64)
    last = np.take_along_axis(group, np.maximum(n_rare - 1, 0)[:, np.newaxis], axis=1)[:, 0]
    n_groups = np.where(n_rare > 0, last + 1, 0)
    last_mass = np.where(rare & (group == last[:, np.newaxis]), expected, 0.0).sum(axis=1)
    short = (n_rare > 0) & (last_mass < min_expected * (1 - tolerance))
    # an incomplete last group joins the previous group, or else the smallest non-rare bin
    kept_groups = n_groups - short.astype(np.int64)
    column = np.arange(bins)[np.newaxis, :]
    group = np.minimum(group, np.maximum(kept_groups - 1, 0)[:, np.newaxis])
    first_common = kept_groups[:, np.newaxis] + column - n_rare[:, np.newaxis]
    group = np.where(column < n_rare[:, np.newaxis], group, first_common)
    flat = (np.arange(features)[:, np.newaxis] * bins + group).ravel()
    size = features * bins
    live_sorted = np.take_along_axis(live, order, axis=1).ravel()
    reference_sorted = np.take_along_axis(reference, order, axis=1).ravel()
    live_grouped = np.bincount(flat, live_sorted, minlength=size).reshape(features, bins)
    reference_grouped = np.bincount(flat, reference_sorted, minlength=size).reshape(features, bins)
    return np.asarray(live_grouped, dtype=np.float64), np.asarray(reference_grouped, dtype=np.float64)


def check_counts(live: npt.ArrayLike, reference: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Both sides as float64 arrays of one 1-D or 2-D shape, finite and non-negative, else a ValueError."""
    live_counts = np.asarray(live, dtype=np.float64)
    reference_counts = np.asarray(reference, dtype=np.float64)
    if live_counts.shape != reference_counts.shape or live_counts.ndim not in (1, 2):
        raise ValueError(
            "live and reference counts must have the same 1-D or 2-D shape, got "
            f"{live_counts.shape} and {reference_counts.shape}"
        )
    for side, counts in (("live", live_counts), ("reference", reference_counts)):
        if counts.size and not (counts.min() >= 0 and counts.max() < np.inf):
            raise ValueError(f"{side} counts must be finite and non-negative")
    return live_counts, reference_counts


# ---------------------------------------------------------------------------
# multiple features


def adjust(pvalues: npt.ArrayLike, method: str = "holm") -> FloatArray:
    """P-values corrected for testing every feature of a monitor, along the last axis.

    - ``holm``: Holm-Bonferroni step-down; controls the family-wise error rate (the chance
      of any false alarm among the features) at the significance, for any dependence
      between features, and is never less powerful than Bonferroni.
    - ``bonferroni``: p * m; the same guarantee, simpler, less powerful.
    - ``fdr``: Benjamini-Hochberg; controls the expected share of false alarms among the
      alarms (for independent or positively dependent features). When no feature drifted
      that is the chance of any false alarm, as with holm; when some did, the others need
      less evidence. The config's default (docs/statistics.md, Small windows).
    - ``none``: unchanged; each feature alone is held at the significance.

    m counts the non-NaN entries of each row; NaN entries (features without a test) stay
    NaN and do not count. Results are clipped to [0, 1]. A 2-D input (evaluations x
    features) is corrected row by row.
    """
    if method not in CORRECTIONS:
        raise ValueError(f"unknown correction {method!r}; valid: {', '.join(CORRECTIONS)}")
    p = np.array(pvalues, dtype=np.float64)
    if method == "none" or p.size == 0:
        return p
    missing = np.isnan(p)
    tested = (~missing).sum(axis=-1, keepdims=True).astype(np.float64)
    if method == "bonferroni":
        return np.where(missing, np.nan, np.minimum(p * tested, 1.0))
    order = np.argsort(np.where(missing, np.inf, p), axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1)
    rank = np.arange(1, p.shape[-1] + 1, dtype=np.float64)  # 1-based; NaNs sort last
    if method == "holm":
        scaled = np.minimum(ranked * np.maximum(tested - rank + 1, 1.0), 1.0)
        scaled = np.where(np.isnan(scaled), -np.inf, scaled)
        corrected = np.maximum.accumulate(scaled, axis=-1)
    else:  # fdr
        scaled = np.minimum(ranked * tested / rank, 1.0)
        scaled = np.where(np.isnan(scaled), np.inf, scaled)
        corrected = np.flip(np.minimum.accumulate(np.flip(scaled, axis=-1), axis=-1), axis=-1)
    result = np.empty_like(p)
    np.put_along_axis(result, order, corrected, axis=-1)
    result[missing] = np.nan
    return result


@dataclass(frozen=True, slots=True)
class Gate:
    """The significance gate of a monitor's features; arrays of shape (..., F)."""

    pvalue: FloatArray  # the test's p-value; NaN where not tested
    adjusted: FloatArray  # after the correction across the F features; NaN where not tested
    significant: npt.NDArray[np.bool_]  # adjusted <= significance (all True when it is None)


def gate(
    live: npt.ArrayLike,
    reference: npt.ArrayLike,
    tested: npt.ArrayLike,
    significance: float | None,
    correction: str = "fdr",
) -> Gate:
    """Test every feature (`drift_test`), correct across each monitor's features, compare with the significance.

    `live`, `reference`: raw counts of shape (..., F, B): F features of a monitor, any
    leading axes (evaluations, in the calibration tests). `tested` (..., F): the features
    to test (the others, e.g. below min_samples, get NaN and do not count in the
    correction). A feature with a side of zero rows is never tested. ``significance``
    None turns the gate off: everything is significant.
    """
    live_counts, reference_counts = np.asarray(live, np.float64), np.asarray(reference, np.float64)
    if live_counts.ndim < 2 or live_counts.shape != reference_counts.shape:
        raise ValueError(
            f"counts must have the same shape (..., features, bins), got {live_counts.shape} "
            f"and {reference_counts.shape}"
        )
    bins = live_counts.shape[-1]
    shape = live_counts.shape[:-1]
    test = drift_test(live_counts.reshape(-1, bins), reference_counts.reshape(-1, bins))
    pvalue = np.where(np.broadcast_to(np.asarray(tested, dtype=bool), shape), test.reshape(shape), np.nan)
    adjusted = adjust(pvalue, correction)
    if significance is None:
        significant = np.ones(shape, dtype=bool)
    else:
        significant = np.nan_to_num(adjusted, nan=np.inf) <= significance
    return Gate(pvalue, adjusted, significant)


def decide(
    score: npt.ArrayLike,
    warning: npt.ArrayLike,
    critical: npt.ArrayLike,
    significant: npt.ArrayLike,
    shifted: npt.ArrayLike = False,
) -> npt.NDArray[np.int8]:
    """Severity codes (`OK` 0, `WARNING` 1, `CRITICAL` 2) of one measure, elementwise.

    A level is reached when ``score >= threshold`` and ``significant`` (the corrected
    p-value is at most the significance, or the gate is off). ``shifted`` (a share moved
    by at least ``share_shift``, see `share_shift`) reaches the warning level of a measure
    that has one, under the same gate. A NaN threshold is not configured; a NaN score is
    never drifted. Critical is checked first, so a critical threshold below the warning one
    (possible with ``auto``) still gives critical.
    """
    score, warning, critical, significant, shifted = np.broadcast_arrays(
        np.asarray(score, dtype=np.float64),
        np.asarray(warning, dtype=np.float64),
        np.asarray(critical, dtype=np.float64),
        np.asarray(significant, dtype=bool),
        np.asarray(shifted, dtype=bool),
    )
    with np.errstate(invalid="ignore"):
        at_critical = significant & (score >= critical)
        at_warning = significant & ((score >= warning) | (shifted & ~np.isnan(warning) & ~np.isnan(score)))
    return np.where(at_critical, CRITICAL, np.where(at_warning, WARNING, OK)).astype(np.int8)


def share_shift(live: npt.ArrayLike, reference: npt.ArrayLike) -> FloatArray:
    """Per feature, the largest move of one bin's share of rows between the two sides, in
    [0, 1] (0.05: five percentage points), from raw counts: max |live_k / L - reference_k / R|
    over the bins (the missing bin included). NaN for a side of zero rows. Shape (F,) for
    counts (F, B), () for (B,); any leading axes are kept."""
    live_counts, reference_counts = np.asarray(live, np.float64), np.asarray(reference, np.float64)
    if live_counts.shape != reference_counts.shape or live_counts.ndim < 1:
        shapes = f"{live_counts.shape} and {reference_counts.shape}"
        raise ValueError(f"live and reference counts must have one shape, got {shapes}")
    live_total = live_counts.sum(axis=-1, keepdims=True)
    reference_total = reference_counts.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        moved = np.abs(live_counts / live_total - reference_counts / reference_total)
    largest: FloatArray = moved.max(axis=-1, initial=0.0) if moved.size else np.zeros(moved.shape[:-1])
    empty = (live_total[..., 0] == 0) | (reference_total[..., 0] == 0)
    return np.where(empty, np.nan, largest)
