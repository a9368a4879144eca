"""Gradient-boosted trees on binned columns, in numpy: the joint-drift classifier's model.

A small version of what scikit-learn's HistGradientBoostingClassifier and LightGBM do,
written here because importing either costs about 1.5 s of CPU in a fresh process (scikit-
learn brings scipy.stats and pandas; LightGBM imports scikit-learn when it is installed),
more than the whole joint-drift budget of `check` (docs/multivariate.md). It needs only what
the classifier asks of a model: scores that rank rows by how live they look.

- Each column is cut into at most `BINS` bins at the training rows' quantiles (a column of
  fewer distinct values gets a bin per value); rows are then only bin codes.
- Binary log-loss, Newton steps: each tree fits the gradient ``p - y`` with hessian
  ``p (1 - p)``, leaves ``-G / (H + L2)`` times `LEARNING_RATE`.
- Trees grow level by level to `DEPTH` (at most 2^DEPTH leaves); a split needs
  `MIN_LEAF` rows on each side and a positive gain
  ``G_L^2/(H_L+L2) + G_R^2/(H_R+L2) - G^2/(H+L2)``. Each level's histograms (gradient,
  hessian, rows per node x column x bin) are one `np.bincount` each, and only for the
  smaller child of each split: the larger is its parent's histogram minus the smaller's.

Deterministic (no sampling of rows or columns). Knows nothing of drift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Bins", "Forest", "fit", "fit_bins"]

BINS = 64
DEPTH = 4
MIN_LEAF = 20
LEARNING_RATE = 0.1
L2 = 1.0

Codes = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Bins:
    """Per column, the cut points between bins (a value past ``cuts[j][k]`` is in bin k + 1),
    or None for a categorical column, whose values are already its codes 0, 1, ... (< `BINS`)."""

    cuts: tuple[Floats | None, ...]

    @property
    def categorical(self) -> npt.NDArray[np.bool_]:
        return np.array([cuts is None for cuts in self.cuts], dtype=bool)

    def codes(self, rows: Floats) -> Codes:
        out = np.empty(rows.shape, dtype=np.uint8)
        for column, cuts in enumerate(self.cuts):
            out[:, column] = rows[:, column] if cuts is None else np.searchsorted(cuts, rows[:, column], side="right")
        return out


def fit_bins(rows: Floats, categorical: npt.NDArray[np.bool_], bins: int = BINS) -> Bins:
    """Cut points of each numeric column of ``rows``: midpoints between its distinct values when
    it has at most ``bins`` of them, else midway between the two rows around each
    ``k / bins``-quantile (ties merge cuts, so a bin may hold more)."""
    ordered = np.sort(rows[:, ~categorical], axis=0)
    positions = np.arange(1, bins) * len(rows) // bins  # a cut between rows positions - 1 and positions
    numeric = iter(ordered.T)
    cuts: list[Floats | None] = []
    for is_categorical in categorical:
        if is_categorical:
            cuts.append(None)
            continue
        column = next(numeric)
        distinct = column[np.r_[True, column[1:] != column[:-1]]]
        if len(distinct) <= bins:
            cuts.append((distinct[:-1] + distinct[1:]) / 2.0)
        else:
            cuts.append(np.unique((column[positions - 1] + column[positions]) / 2.0))
    return Bins(tuple(cuts))


@dataclass(frozen=True, slots=True)
class Forest:
    """Trees of `DEPTH` levels, heap-ordered: node k's children are 2k + 1 and 2k + 2; a row
    goes right when ``right[t, k, code]`` holds for its code in column ``columns[t, k]``
    (a numeric split: the codes past a cut; a categorical one: one category against the rest;
    no split: none)."""

    bias: float
    columns: npt.NDArray[np.intp]  # trees x inner nodes
    right: npt.NDArray[np.bool_]  # trees x inner nodes x bins
    leaves: Floats  # trees x 2^DEPTH

    def raw(self, codes: Codes) -> Floats:
        """The model's log-odds of each row (codes from the `Bins` it was fitted with)."""
        total = np.full(len(codes), self.bias)
        rows = np.arange(len(codes))
        for columns, right, leaves in zip(self.columns, self.right, self.leaves, strict=True):
            node = np.zeros(len(codes), dtype=np.intp)
            for _ in range(DEPTH):
                node = 2 * node + 1 + right[node, codes[rows, columns[node]]]
            total += leaves[node - (2**DEPTH - 1)]
        return total


def fit(
    codes: Codes, labels: npt.NDArray[np.bool_], categorical: npt.NDArray[np.bool_], iterations: int, bins: int = BINS
) -> Forest:
    """Boosted trees telling ``labels`` apart from the binned rows ``codes``; ``categorical``:
    which columns are categories (split one against the rest, as a one-hot column would be)."""
    rows, width = codes.shape
    target = labels.astype(np.float64)
    share = min(max(target.mean(), 1e-6), 1 - 1e-6)
    bias = float(np.log(share / (1 - share)))
    raw = np.full(rows, bias)
    cells = (codes.astype(np.intp) + np.arange(width) * bins).ravel()  # row-major: row r's cells together
    inner = 2**DEPTH - 1
    columns = np.zeros((iterations, inner), dtype=np.intp)
    right = np.zeros((iterations, inner, bins), dtype=bool)
    leaves = np.zeros((iterations, 2**DEPTH))
    grower = _Grower(codes, cells, categorical, bins)
    for tree in range(iterations):
        probability = 1.0 / (1.0 + np.exp(-raw))
        gradient, hessian = probability - target, probability * (1.0 - probability)
        leaf = grower.grow(gradient, hessian, columns[tree], right[tree]) - inner
        total_g = np.bincount(leaf, gradient, 2**DEPTH)
        total_h = np.bincount(leaf, hessian, 2**DEPTH)
        leaves[tree] = -LEARNING_RATE * total_g / (total_h + L2)
        raw += leaves[tree][leaf]
    return Forest(bias, columns, right, leaves)


class _Grower:
    def __init__(self, codes: Codes, cells: npt.NDArray[np.intp], categorical: npt.NDArray[np.bool_], bins: int):
        self.codes, self.cells, self.bins = codes, cells, bins
        self.rows, self.width = codes.shape
        self.categorical = categorical[None, :, None]
        self.cut = np.arange(bins)[None, :] > np.arange(bins)[:, None]  # cut[b]: the codes past b
        self.one = np.eye(bins, dtype=bool)  # one[c]: category c alone

    def histograms(
        self, picked: npt.NDArray[np.intp], slot: npt.NDArray[np.intp], slots: int, gradient: Floats, hessian: Floats
    ) -> Floats:
        """(3, slots, width, bins): gradient, hessian and rows of the rows ``picked``, by ``slot``."""
        width, size = self.width, self.width * self.bins
        index = (self.cells.reshape(-1, width)[picked] + (slot * size)[:, None]).ravel()
        out = np.empty((3, slots * size))
        out[0] = np.bincount(index, np.repeat(gradient[picked], width), slots * size)
        out[1] = np.bincount(index, np.repeat(hessian[picked], width), slots * size)
        out[2] = np.bincount(index, minlength=slots * size)
        return out.reshape(3, slots, width, self.bins)

    def grow(
        self, gradient: Floats, hessian: Floats, columns: npt.NDArray[np.intp], right: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.intp]:
        """One tree, level by level, into ``columns`` and ``right``; returns each row's leaf node."""
        rows, bins = self.rows, self.bins
        node = np.zeros(rows, dtype=np.intp)
        everything = np.arange(rows)
        histogram = self.histograms(everything, np.zeros(rows, dtype=np.intp), 1, gradient, hessian)
        for depth in range(DEPTH):
            first = 2**depth - 1  # this level's nodes are first .. 2 first
            # Numeric: left of each cut (the cumulative sums); categorical: all but the category.
            left = np.where(
                self.categorical, histogram.sum(axis=3, keepdims=True) - histogram, np.cumsum(histogram, axis=3)
            )
            g_left, h_left, n_left = left
            g_all, h_all, n_all = histogram[:, :, :1].sum(axis=3, keepdims=True)
            g_right, h_right = g_all - g_left, h_all - h_left
            gain = g_left**2 / (h_left + L2) + g_right**2 / (h_right + L2) - g_all**2 / (h_all + L2)
            gain[(n_left < MIN_LEAF) | (n_all - n_left < MIN_LEAF)] = -np.inf
            flat = gain.reshape(len(gain), -1)
            best = flat.argmax(axis=1)
            good = flat[np.arange(len(flat)), best] > 1e-12
            level = np.arange(first, 2 * first + 1)
            column, code = best // bins, best % bins
            columns[level] = np.where(good, column, 0)
            splits = np.where(self.categorical[0, column, 0, None], self.one[code], self.cut[code])
            right[level] = splits & good[:, None]
            goes_right = right[node, self.codes[everything, columns[node]]]
            if depth == DEPTH - 1:
                return 2 * node + 1 + goes_right
            # The smaller child of each split counted, the larger one its parent minus it.
            position = node - first
            on_right = np.bincount(position[goes_right], minlength=len(best))
            small_is_right = on_right <= np.bincount(position, minlength=len(best)) - on_right
            picked = np.flatnonzero(goes_right == small_is_right[position])
            small = self.histograms(picked, position[picked], len(best), gradient, hessian)
            large = histogram - small
            swap = small_is_right[None, :, None, None]
            histogram = np.stack([np.where(swap, large, small), np.where(swap, small, large)], axis=2)
            histogram = histogram.reshape(3, 2 * len(best), self.width, bins)  # children 2k+1, 2k+2 in turn
            node = 2 * node + 1 + goes_right
        raise AssertionError("unreachable")
