"""Isotonic regression by pool-adjacent-violators, in numpy: the score calibration of
estimated performance, without scikit-learn.

`fit(x, y)` returns the step function scikit-learn's
``IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(x, y)`` learns, as its
``(X_thresholds_, y_thresholds_)``: the non-decreasing function of ``x`` closest to ``y`` in
least squares, linear between the breakpoints and constant beyond the ends. The steps are
scikit-learn's:

1. sort by ``x`` (then ``y``), and pool the rows whose ``x`` lies within the float64
   resolution (1e-15) of the first of its group: one point per distinct score, its ``y``
   the mean and its weight the count;
2. pool adjacent violators (a block whose mean exceeds the next block's mean is merged
   with it) until the means rise: each pass merges every chain of violators at once
   (``np.add.reduceat``), so a pass is O(blocks) numpy work. Passes that merge little (an
   adversarial order can make one merge per pass) hand the rest to the classic
   one-pass stack, so the whole is O(n log n) for the sort plus O(n);
3. clip to [``y_min``, ``y_max``] and keep only the breakpoints where the value changes.

The fitted values equal scikit-learn's to rounding (1e-12 is tested on ties, a single
class, all-equal scores and random data). Inputs must be finite: a NaN or infinite value
is a `DataError`, as scikit-learn refuses it too.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt

from .errors import DataError

__all__ = ["fit"]

Floats = npt.NDArray[np.float64]

_RESOLUTION = float(np.finfo(np.float64).resolution)  # scikit-learn pools x closer than this
# A pass merging fewer than this share of the blocks costs more than it saves the stack
# (a pass is ~10 ns of numpy per block, the stack ~1 us of Python): finish with the stack.
_SLOW_PASS = 0.01


def fit(x: Floats, y: Floats, y_min: float = 0.0, y_max: float = 1.0) -> tuple[Floats, Floats]:
    """The breakpoints ``(inputs, outputs)`` of the isotonic (non-decreasing) least-squares
    fit of ``y`` on ``x``, clipped to [``y_min``, ``y_max``]; ``np.interp(t, inputs, outputs)``
    is its prediction at ``t`` (constant beyond the ends)."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.size != y.size:
        raise DataError(f"isotonic calibration: {x.size} scores but {y.size} labels")
    if x.size == 0:
        raise DataError("isotonic calibration: no rows to calibrate on")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise DataError("isotonic calibration: scores and labels must be finite numbers (found NaN or infinity)")
    order = np.lexsort((y, x))
    x, y = x[order], y[order]
    starts = _groups(x)
    weights = np.diff(np.r_[starts, x.size]).astype(np.float64)
    sums = np.add.reduceat(y, starts)
    inputs = x[starts]
    fitted = np.clip(_pool(sums, weights), y_min, y_max)
    keep = np.ones(fitted.size, dtype=bool)  # interior points equal to both neighbours add nothing
    keep[1:-1] = (fitted[1:-1] != fitted[:-2]) | (fitted[1:-1] != fitted[2:])
    return inputs[keep], fitted[keep]


def _groups(x: Floats) -> npt.NDArray[np.intp]:
    """Starts of the groups of sorted ``x``: a new group begins where a value is at least the
    resolution above the first value of the current group (scikit-learn's rule, exactly)."""
    gap = np.diff(x) >= _RESOLUTION
    starts: npt.NDArray[np.intp] = np.r_[0, np.flatnonzero(gap) + 1]
    if gap.all():
        return starts
    # Runs of tiny gaps may still span the resolution from their group's first value: split
    # them as scikit-learn's scan does (rare: scores 1e-16 apart).
    bounds = np.r_[starts, x.size]
    exact: list[int] = []
    for begin, end in itertools.pairwise(bounds.tolist()):
        first = x[begin]
        exact.append(begin)
        for index in range(begin + 1, end):
            if x[index] - first >= _RESOLUTION:
                exact.append(index)
                first = x[index]
    return np.asarray(exact, dtype=np.intp)


def _pool(sums: Floats, weights: Floats) -> Floats:
    """The non-decreasing fit of the points with weighted ``sums`` and ``weights`` (one value per point)."""
    points = sums.size
    starts = np.arange(points)
    while sums.size > 1:
        violates = sums[:-1] * weights[1:] > sums[1:] * weights[:-1]  # mean above the next one
        merged = int(np.count_nonzero(violates))
        if not merged:
            break
        first = np.flatnonzero(np.r_[True, ~violates])  # a block joins its predecessor where they violate
        starts, sums, weights = starts[first], np.add.reduceat(sums, first), np.add.reduceat(weights, first)
        if merged < _SLOW_PASS * sums.size:
            starts, sums, weights = _stack(starts, sums, weights)
            break
    return np.repeat(sums / weights, np.diff(np.r_[starts, points]))


def _stack(starts: npt.NDArray[np.intp], sums: Floats, weights: Floats) -> tuple[npt.NDArray[np.intp], Floats, Floats]:
    """The classic pool-adjacent-violators pass over blocks, with a stack: one visit per
    block, each merge popping one (for the few blocks the vectorised passes leave)."""
    kept_starts: list[int] = []
    kept_sums: list[float] = []
    kept_weights: list[float] = []
    for start, total, weight in zip(starts.tolist(), sums.tolist(), weights.tolist(), strict=True):
        while kept_sums and kept_sums[-1] * weight > total * kept_weights[-1]:
            total += kept_sums.pop()
            weight += kept_weights.pop()
            start = kept_starts.pop()
        kept_starts.append(start)
        kept_sums.append(total)
        kept_weights.append(weight)
    return (
        np.asarray(kept_starts, dtype=np.intp),
        np.asarray(kept_sums, dtype=np.float64),
        np.asarray(kept_weights, dtype=np.float64),
    )
