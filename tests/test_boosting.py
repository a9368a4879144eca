"""The joint classifier's trees (driftmon.boosting) against a slow oracle written out with loops:
every candidate split of every node tried one by one, the same gain, leaves and log-odds."""

from __future__ import annotations

import numpy as np

from driftmon import boosting


def _oracle(codes: np.ndarray, labels: np.ndarray, categorical: np.ndarray, iterations: int) -> np.ndarray:
    """The training rows' log-odds after ``iterations`` trees, each node's best split found by
    trying every column and cut (numeric: codes <= b left; categorical: code == c right)."""
    target = labels.astype(float)
    raw = np.full(len(codes), np.log(target.mean() / (1 - target.mean())))
    regularised = lambda g, h: g * g / (h + boosting.L2)  # noqa: E731
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-raw))
        gradient, hessian = p - target, p * (1 - p)
        groups = [np.arange(len(codes))]
        for _depth in range(boosting.DEPTH):
            children = []
            for rows in groups:
                best, best_right = 1e-12, np.zeros(len(rows), dtype=bool)
                for column in range(codes.shape[1]):
                    for code in range(boosting.BINS):
                        values = codes[rows, column]
                        right = values == code if categorical[column] else values > code
                        if right.sum() < boosting.MIN_LEAF or (~right).sum() < boosting.MIN_LEAF:
                            continue
                        g, h = gradient[rows], hessian[rows]
                        gain = (
                            regularised(g[~right].sum(), h[~right].sum())
                            + regularised(g[right].sum(), h[right].sum())
                            - regularised(g.sum(), h.sum())
                        )
                        if gain > best + 1e-9:
                            best, best_right = gain, right
                children += [rows[~best_right], rows[best_right]]
            groups = children
        for rows in groups:
            if len(rows):
                step = -boosting.LEARNING_RATE * gradient[rows].sum() / (hessian[rows].sum() + boosting.L2)
                raw[rows] += step
    return raw


def _data(seed: int, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.random(rows) < 0.4
    x = rng.normal(size=rows) + 0.8 * labels
    y = rng.normal(size=rows) * np.where(labels, 2.0, 1.0)
    city = np.where(labels & (rng.random(rows) < 0.5), 2, rng.integers(0, 4, rows)).astype(float)
    constant = np.zeros(rows)
    return np.column_stack([x, y, city, constant]), labels, np.array([False, False, True, False])


def test_trees_equal_the_oracle() -> None:
    """300 rows, two numeric columns, a categorical one and a constant one: the log-odds after 3
    trees equal the oracle's (which tries every split by hand) to 1e-9."""
    rows, labels, categorical = _data(1, 300)
    bins = boosting.fit_bins(rows, categorical)
    codes = bins.codes(rows)
    forest = boosting.fit(codes, labels, categorical, 3)
    np.testing.assert_allclose(forest.raw(codes), _oracle(codes, labels, categorical, 3), rtol=0, atol=1e-9)


def test_bins_are_quantiles_or_distinct_values() -> None:
    """A column of few values gets a bin per value (cuts at the midpoints); a continuous one at
    most BINS bins of about equal counts; a categorical column's values are its codes."""
    rng = np.random.default_rng(2)
    rows = np.column_stack([rng.integers(0, 3, 1_000).astype(float), rng.normal(size=1_000), np.full(1_000, 5.0)])
    bins = boosting.fit_bins(rows, np.array([False, False, True]))
    assert bins.cuts[0] is not None and bins.cuts[0].tolist() == [0.5, 1.5]
    codes = bins.codes(rows)
    assert codes[:, 1].max() == boosting.BINS - 1
    counts = np.bincount(codes[:, 1])
    assert counts.min() >= 1_000 // boosting.BINS - 2 and counts.max() <= 1_000 // boosting.BINS + 2
    assert bins.cuts[2] is None and set(codes[:, 2]) == {5}


def test_nothing_to_split_gives_the_base_rate() -> None:
    """Constant columns: no tree splits, every row gets the log-odds of the labels' share."""
    labels = np.r_[np.zeros(30, dtype=bool), np.ones(10, dtype=bool)]
    codes = np.zeros((40, 2), dtype=np.uint8)
    forest = boosting.fit(codes, labels, np.array([False, True]), 5)
    raw = forest.raw(codes)
    assert np.ptp(raw) == 0
    assert not forest.right.any()


def test_a_separating_column_is_found() -> None:
    """One column tells the labels apart exactly (250 rows each, so the median cut falls in the
    gap): every row is on its label's side."""
    rng = np.random.default_rng(3)
    labels = np.arange(500) % 2 == 0
    rows = np.column_stack([rng.normal(size=500), np.where(labels, 1.0, -1.0) + rng.normal(size=500) * 0.1])
    categorical = np.array([False, False])
    bins = boosting.fit_bins(rows, categorical)
    raw = boosting.fit(bins.codes(rows), labels, categorical, 10).raw(bins.codes(rows))
    assert raw[labels].min() > raw[~labels].max()
