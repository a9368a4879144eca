"""Fisher's exact test of a 2 x 2 table, two-sided mid-p, vectorised over many tables.

The table is (one group of bins or the rest) x (live or reference): given the group's m
rows, the live count is hypergeometric when nothing drifted. `driftmon.significance`'s
focused test asks it for every pooled group of every feature at once. Pure numpy; counts
may be weights (rounded to whole rows for the exact sums); never NaN.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from driftmon.chisquare import chi2_sf, lgamma

__all__ = ["fisher_two_sided"]

FloatArray = npt.NDArray[np.float64]

_EPS = 2.0**-53

_EXACT_VARIANCE = 400.0  # below this variance (sd 20 rows) tails are summed exactly
_TAIL_TERMS = 600  # 30 sd at most: far beyond double precision


def fisher_two_sided(
    live: FloatArray, pooled: FloatArray, live_total: FloatArray, reference_total: FloatArray
) -> FloatArray:
    """Two-sided mid-p of the 2 x 2 table (group or not) x (live or reference), elementwise:
    given the group's m rows, the live count is hypergeometric (N = L + R, L, m) when nothing
    drifted (Fisher's exact test). 2 (P(tail beyond x) - P(X = x) / 2) on the side of the
    mean where x lies, clipped to 1. Summed term by term below a variance of 400 (whole rows:
    weights are rounded); above, the G statistic of the table against chi-square(1)."""
    k, m, big_l, big_r = np.broadcast_arrays(live, pooled, live_total, reference_total)
    total = big_l + big_r
    mean = m * big_l / total
    variance = mean * (big_r / total) * (total - m) / np.maximum(total - 1.0, 1.0)
    result = np.ones(k.shape)
    exact = variance < _EXACT_VARIANCE
    if exact.any():
        # whole rows, the table kept consistent (rounded one by one, 0.5 and 1 made a group past both sides)
        live_rows, reference_rows = np.rint(k[exact]), np.rint(m[exact] - k[exact])
        sides = np.maximum(np.rint(big_l[exact]), live_rows), np.maximum(np.rint(big_r[exact]), reference_rows)
        result[exact] = _fisher_exact(live_rows, live_rows + reference_rows, *sides)
    if (~exact).any():
        cells = [(k, mean), (m - k, m - mean), (big_l - k, big_l - mean), (big_r - m + k, big_r - m + mean)]
        statistic = np.zeros(int((~exact).sum()))
        for observed, expected in cells:
            o, e = observed[~exact], expected[~exact]
            with np.errstate(divide="ignore", invalid="ignore"):
                statistic += np.where(o > 0, 2.0 * o * np.log(o / e), 0.0)
        # the cells' O - E cancel, so 2 sum O ln(O/E) is the deviance
        result[~exact] = chi2_sf(np.maximum(statistic, 0.0), 1.0)
    return result


def _fisher_exact(k: FloatArray, m: FloatArray, big_l: FloatArray, big_r: FloatArray) -> FloatArray:
    def log_choose(n: FloatArray, r: FloatArray) -> FloatArray:
        return lgamma(n + 1.0) - lgamma(r + 1.0) - lgamma(n - r + 1.0)

    total = big_l + big_r
    low, high = np.maximum(0.0, m - big_r), np.minimum(m, big_l)
    k = np.clip(k, low, high)
    point = np.exp(log_choose(big_l, k) + log_choose(big_r, m - k) - log_choose(total, m))
    upward = k >= m * big_l / total  # sum the tail away from the mean: its terms only fall
    term, tail, j = point.copy(), point.copy(), k.copy()
    for _ in range(_TAIL_TERMS):
        step = np.where(upward, 1.0, -1.0)
        inside = np.where(upward, j < high, j > low)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(
                upward,
                (m - j) * (big_l - j) / ((j + 1.0) * (big_r - m + j + 1.0)),
                j * (big_r - m + j) / ((m - j + 1.0) * (big_l - j + 1.0)),
            )
        term = np.where(inside, term * np.nan_to_num(ratio, nan=0.0, posinf=0.0), 0.0)
        tail += term
        j = j + step
        if not bool(np.any(term > tail * _EPS)):
            break
    return np.clip(2.0 * (tail - point / 2.0), 0.0, 1.0)
