"""Joint drift: shifts in how features move together, over bounded row samples.

Every per-feature score looks at one marginal; a correlation that flips leaves each of
them unchanged. Two methods look at the rows whole, each on a uniform seeded sample of
both sides (`sources/sample.py` draws them), so time and memory are bounded whatever the
data size:

- ``reconstruction``: the rows are encoded (`Encoder`: numeric values standardised on
  the reference, a missing value imputed as the reference's mean; a categorical feature
  one-hot over its `TOP_CATEGORIES` most frequent reference values, the rest and missing
  as columns of their own), standardised, and projected on the reference's principal
  components that keep `VARIANCE_KEPT` of its variance (NannyML keeps 65 %). The score
  is the live rows' mean reconstruction error (Euclidean distance of a row to its
  projection), winsorised: a row's error counts at most the `ERROR_CAP` quantile of the
  reference's held-out errors (below), so a few rows of a heavy-tailed feature cannot carry
  the mean of a small window. Its no-drift distribution at the live size comes from the reference
  itself, leave-chunk-out: each chunk's error under components fitted without it, so the
  reference is never scored against itself (`CHUNKS` folds). The live mean error is
  compared with those rows' mean error μ and spread s: under no drift it is close to normal
  with mean μ and deviation s·√(1/n_live + 1/n_reference), and the p-value is its upper
  tail with Edgeworth's correction for the errors' skewness (a distance is long-tailed: at a
  few hundred live rows the plain normal tail is too light).
- ``classifier``: gradient-boosted trees (`driftmon.boosting`, numpy: `ITERATIONS` trees of
  4 levels, each categorical feature one column split one category against the rest) are
  trained on half of each side's rows to tell reference rows from live rows, and scored on
  the other half: the score is their held-out ROC AUC (0.5: the sides cannot be told apart).
  The model never saw the held-out rows, so under no drift their labels are independent of
  their scores and the AUC is distributed exactly as the Mann-Whitney statistic at the
  held-out counts (mean 1/2; the variance with the correction for tied scores): the p-value
  is its normal tail. (Pooling the out-of-fold scores of several models, as before, widened
  that null past Mann-Whitney's: p <= 0.05 in 17.5 % of no-drift pairs at 500 live rows.)
  Until 2026-12-04 the trees were scikit-learn's HistGradientBoostingClassifier, whose import
  alone (scipy.stats and pandas with it) cost a fresh `check` 1.5 s of CPU: more than the
  1 s joint drift may add; the held-out AUCs agree within noise (docs/multivariate.md).

Contributions ("what moved jointly"): for reconstruction, each feature's share of the
increase of the squared reconstruction error over the reference's; for the classifier,
each feature's drop of the held-out AUC (on at most `EXPLAIN_ROWS` rows a side) when its
columns are permuted, as a share of the drops; computed only when the p-value is at most
`EXPLAIN_BELOW`.

Pure numpy; knows nothing of files or Prometheus.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from . import boosting
from .errors import DataError

__all__ = [
    "METHODS",
    "Encoder",
    "JointDrift",
    "Unscorable",
    "classifier",
    "fit_encoder",
    "reconstruction",
    "uninformative",
]

Floats = npt.NDArray[np.float64]

METHODS = ("reconstruction", "classifier")
TOP_CATEGORIES = 10
VARIANCE_KEPT = 0.65
CHUNKS = 10  # reference folds of the leave-chunk-out errors
ERROR_CAP = 0.95  # a row's reconstruction error counts at most this quantile of the reference's
ITERATIONS = 20  # boosting iterations (trees) of the classifier
EXPLAIN_BELOW = 0.05
EXPLAIN_ROWS = 1_000  # held-out rows a side the classifier's contributions are measured on


class Unscorable(DataError):
    """The samples cannot be scored by the method (too few rows, more columns than rows): the
    message is the reason, for a named ``insufficient_data`` state rather than an error."""


def _is_missing(values: npt.NDArray[np.generic]) -> npt.NDArray[np.bool_]:
    if values.dtype.kind == "f":
        return np.asarray(np.isnan(values), dtype=np.bool_)
    if values.dtype.kind != "O":
        return np.zeros(len(values), dtype=bool)
    try:  # None, or a value unequal to itself (NaN): elementwise in C, not a Python call per value
        none = np.full(len(values), None, dtype=object)
        return np.asarray(np.equal(values, none) | np.not_equal(values, values), dtype=np.bool_)
    except TypeError:  # a value whose comparison is not a bool (pandas' NA): one value at a time
        missing = np.frompyfunc(lambda v: v is None or (isinstance(v, float) and v != v), 1, 1)(values)
        return np.asarray(missing, dtype=bool)


def uninformative(columns: Mapping[str, npt.NDArray[np.generic]], numeric: Sequence[str]) -> dict[str, str]:
    """Feature -> why it carries nothing jointly in the reference sample ``columns``: no values
    at all, one value only (a numeric column, whose missing values are imputed as its mean;
    a category, unless some values are missing). Such a feature has no variation to move
    with the others; it is left out."""
    reasons: dict[str, str] = {}
    for name, values in columns.items():
        values = np.asarray(values)
        missing = _is_missing(values)
        present = values[~missing]
        if present.size == 0:
            reasons[name] = "no values in the reference sample (all missing)"
            continue
        if name in numeric:
            finite = np.asarray(present, dtype=np.float64)
            finite = finite[np.isfinite(finite)]
            if finite.size == 0 or finite.min() == finite.max():  # a missing value is imputed as that value
                reasons[name] = "constant in the reference sample"
        elif not missing.any() and len(np.unique(present.astype(str))) == 1:  # missing has a column of its own
            reasons[name] = "a single category in the reference sample"
    return reasons


@dataclass(frozen=True, slots=True)
class _Numeric:
    name: str
    mean: float
    std: float


@dataclass(frozen=True, slots=True)
class _Categorical:
    name: str
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Encoder:
    """Turns columns into one float matrix, fitted on the reference sample.

    ``owners[j]`` is the feature behind matrix column ``j``.
    """

    numeric: tuple[_Numeric, ...]
    categorical: tuple[_Categorical, ...]

    @property
    def owners(self) -> tuple[str, ...]:
        names = [part.name for part in self.numeric]
        for part in self.categorical:
            names += [part.name] * (len(part.categories) + 2)  # the top values, other, missing
        return tuple(names)

    def transform(self, columns: Mapping[str, npt.NDArray[np.generic]]) -> Floats:
        """Rows x encoded columns; numeric missing values become the reference mean (0 after
        standardising), categoricals one-hot with `other` and `missing` columns."""
        parts: list[Floats] = []
        for numeric in self.numeric:
            values = np.asarray(columns[numeric.name], dtype=np.float64)
            standard = (values - numeric.mean) / numeric.std
            parts.append(np.where(np.isfinite(standard), standard, 0.0)[:, None])
        for categorical in self.categorical:
            values = np.asarray(columns[categorical.name], dtype=object)
            missing = _is_missing(values)
            text = np.where(missing, "", values.astype(str))
            hot = np.zeros((len(text), len(categorical.categories)), dtype=bool)
            for column, category in enumerate(categorical.categories):
                hot[:, column] = text == category
            other = ~hot.any(axis=1) & ~missing
            parts.append(np.column_stack([hot, other, missing]).astype(np.float64))
        if not parts:
            raise DataError("joint drift needs at least one feature")
        return np.hstack(parts)


def fit_encoder(
    columns: Mapping[str, npt.NDArray[np.generic]], numeric: Sequence[str], top: int = TOP_CATEGORIES
) -> Encoder:
    """An encoder for ``columns`` (the reference sample): names in ``numeric`` standardised,
    every other column categorical over its ``top`` most frequent values (ties by value)."""
    numerics, categoricals = [], []
    for name, values in columns.items():
        if name in numeric:
            finite = np.asarray(values, dtype=np.float64)
            finite = finite[np.isfinite(finite)]
            # scaled first: the mean and deviation of values near ±1.8e308 would overflow to inf
            scale = float(np.abs(finite).max()) if finite.size else 0.0
            scale = scale if 0 < scale < math.inf else 1.0
            mean = float((finite / scale).mean()) * scale if finite.size else 0.0
            std = float((finite / scale).std()) * scale if finite.size else 0.0
            numerics.append(_Numeric(name, mean, std if 0 < std < math.inf else 1.0))
        else:
            values = np.asarray(values)
            present = values[~_is_missing(values)].astype(str)
            unique, counts = np.unique(present, return_counts=True)
            ranked = sorted(zip(unique.tolist(), counts.tolist(), strict=True), key=lambda item: (-item[1], item[0]))
            categoricals.append(_Categorical(name, tuple(str(value) for value, _ in ranked[:top])))
    return Encoder(tuple(numerics), tuple(categoricals))


@dataclass(frozen=True, slots=True)
class JointDrift:
    """One method's result: ``score`` (reconstruction: mean error; classifier: ROC AUC),
    what no drift gives at the live size (``expected`` ± ``spread``), the one-sided
    ``pvalue``, and feature → share of the shift (summing to 1, or empty)."""

    method: str
    score: float
    expected: float
    spread: float
    pvalue: float
    reference_rows: int
    live_rows: int
    contributions: Mapping[str, float] = field(default_factory=dict)


def _upper_tail(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _skewed_upper_tail(z: float, skew: float) -> float:
    """P(Z > z) for a standardised mean of skewness ``skew``: the normal tail plus Edgeworth's
    first term, skew/6 (z^2 - 1) phi(z), clipped to [0, 1]."""
    density = math.exp(-z * z / 2.0) / math.sqrt(2.0 * math.pi)
    return min(1.0, max(0.0, _upper_tail(z) + skew / 6.0 * (z * z - 1.0) * density))


def _shares(gains: Mapping[str, float]) -> Mapping[str, float]:
    positive = {name: gain for name, gain in gains.items() if gain > 0}
    total = sum(positive.values())
    ranked = sorted(positive.items(), key=lambda item: (-item[1], item[0]))
    return dict({name: gain / total for name, gain in ranked} if total > 0 else {})


class _Projection:
    """Standardisation and principal components of rows, from their moments: ``count`` rows,
    their column sums ``total`` and cross products ``cross`` (rows already centred near 0, so
    the moments lose no precision). The components are the eigenvectors of the standardised
    rows' Gram matrix, which are the right singular vectors of those rows: the same
    projection as an SVD, and a fold's moments are the whole sample's minus its own."""

    def __init__(self, count: int, total: Floats, cross: Floats, variance: float) -> None:
        self.mean = total / count
        covariance = cross / count - np.outer(self.mean, self.mean)
        std = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
        self.std = np.where(std > 1e-12, std, 1.0)
        gram = count * covariance / np.outer(self.std, self.std)
        values, vectors = np.linalg.eigh((gram + gram.T) / 2)
        order = np.argsort(values)[::-1]
        explained = np.clip(values[order], 0.0, None)
        share = np.cumsum(explained) / explained.sum() if explained.sum() > 0 else np.ones_like(explained)
        kept = int(np.searchsorted(share, variance - 1e-12) + 1)
        kept = min(kept, max(1, len(total) - 1))  # all components would reconstruct every row exactly
        self.components = vectors[:, order[:kept]].T

    def residuals(self, rows: Floats) -> Floats:
        standard = (rows - self.mean) / self.std
        residual: Floats = standard - (standard @ self.components.T) @ self.components
        return residual


def _moments(rows: Floats) -> tuple[int, Floats, Floats]:
    return len(rows), rows.sum(axis=0), rows.T @ rows


def reconstruction(
    reference: Floats, live: Floats, owners: Sequence[str], variance: float = VARIANCE_KEPT, seed: int = 0
) -> JointDrift:
    """Reconstruction-error drift of the encoded ``live`` rows against ``reference`` rows."""
    with _one_thread("blas"):
        return _reconstruction(reference, live, owners, variance, seed)


def _one_thread(api: str) -> Any:
    """numpy's BLAS (or OpenMP) on one thread while fitting: the daemon runs one evaluation per
    core, and spinning library threads on a busy machine cost 20 times the work (1.0 s against
    0.05 s CPU for a 5,000 x 80 reconstruction at load average 20 on 2 cores). Without
    threadpoolctl (installed with scikit-learn, for instance) the libraries keep their defaults."""
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped,unused-ignore]  # no stubs
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api=api)


def _reconstruction(reference: Floats, live: Floats, owners: Sequence[str], variance: float, seed: int) -> JointDrift:
    rows_ref, rows_live = len(reference), len(live)
    if rows_ref < 2 * CHUNKS or rows_live == 0:
        raise Unscorable(
            f"reconstruction needs at least {2 * CHUNKS} reference rows and one live row "
            f"(the samples have {rows_ref} and {rows_live})"
        )
    if reference.shape[1] >= rows_ref:
        raise Unscorable(
            f"reconstruction needs more reference rows than encoded columns ({reference.shape[1]} columns, "
            f"{rows_ref} rows): the components would fit the sample itself; sample more rows or choose fewer features"
        )
    shift = reference.mean(axis=0)  # centred first: the moments then keep their precision
    centred = reference - shift
    count, total, cross = _moments(centred)
    live_residuals = _Projection(count, total, cross, variance).residuals(live - shift)
    live_errors = np.linalg.norm(live_residuals, axis=1)
    # Each reference row's error under components fitted without its fold: what unseen
    # rows of the reference's own distribution give, never the reference scored on itself.
    fold = np.random.default_rng(seed).permutation(rows_ref) % CHUNKS
    held_out = np.empty_like(reference)
    for index in range(CHUNKS):
        held = fold == index
        rows, fold_total, fold_cross = _moments(centred[held])
        fitted = _Projection(count - rows, total - fold_total, cross - fold_cross, variance)
        held_out[held] = fitted.residuals(centred[held])
    errors = np.linalg.norm(held_out, axis=1)
    # Winsorised: a row's error counts at most the held-out errors' ERROR_CAP quantile, on both
    # sides. A heavy-tailed feature (a lognormal one) makes rare rows' errors huge: at 500 live
    # rows the mean then strayed past its normal (or Edgeworth) tail in 6.7 % of no-drift windows.
    cap = float(np.quantile(errors, ERROR_CAP))
    errors = np.minimum(errors, cap)
    score = float(np.minimum(live_errors, cap).mean())
    expected = float(errors.mean())
    deviation = float(errors.std(ddof=1))
    spread = deviation * math.sqrt(1.0 / rows_live + 1.0 / rows_ref)
    if spread > 0:
        # The errors are skewed (a distance, long-tailed): at a few hundred live rows their
        # mean's upper tail is heavier than the normal's. Edgeworth's first correction: the
        # difference of the two means has third cumulant k3 (1/n_live^2 - 1/n_reference^2).
        third = float(np.mean((errors - expected) ** 3))
        skew = third * (rows_live**-2.0 - rows_ref**-2.0) / spread**3
        pvalue = _skewed_upper_tail((score - expected) / spread, skew)
    else:
        pvalue = 0.0 if score > expected else 1.0
    contributions: Mapping[str, float] = {}
    if pvalue <= EXPLAIN_BELOW:
        increase = (live_residuals**2).mean(axis=0) - (held_out**2).mean(axis=0)
        gains: dict[str, float] = {}
        for column, owner in enumerate(owners):
            gains[owner] = gains.get(owner, 0.0) + float(increase[column])
        contributions = _shares(gains)
    return JointDrift("reconstruction", score, expected, spread, pvalue, rows_ref, rows_live, contributions)


def _auc(labels: npt.NDArray[np.bool_], scores: Floats) -> tuple[float, float]:
    """ROC AUC of ``scores`` for ``labels`` (tied scores count one half) and its standard
    deviation under no drift: the Mann-Whitney statistic's over the two counts, with the
    correction for ties (a tree model gives many rows one score). Oracle: scipy's
    ``mannwhitneyu`` (tests/test_multivariate.py)."""
    positives = int(labels.sum())
    negatives = len(labels) - positives
    order = np.argsort(scores, kind="stable")
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sizes = np.diff(np.r_[starts, len(ordered)])
    ranks = np.empty(len(scores))
    ranks[order] = np.repeat(starts + (sizes + 1) / 2.0, sizes)  # mean rank of each tied run, from 1
    statistic = float(ranks[labels].sum()) - positives * (positives + 1) / 2.0
    pairs = float(positives) * negatives
    rows = positives + negatives
    ties = float(np.sum(sizes.astype(np.float64) ** 3 - sizes)) / (rows * (rows - 1))
    variance = pairs * ((rows + 1) - ties) / 12.0
    return statistic / pairs, math.sqrt(max(variance, 0.0)) / pairs


def _categories(rows: Floats, owners: Sequence[str]) -> tuple[Floats, npt.NDArray[np.bool_]]:
    """The encoded ``rows`` with each categorical feature's one-hot columns (the columns sharing
    an owner: its top values, other, missing) as one column of category numbers, and which
    columns those are. The trees split a category against the rest, as on its one-hot column,
    but count each row once per feature instead of once per category (3 times fewer cells on
    workload (a): 25 columns instead of 73)."""
    names = list(dict.fromkeys(owners))
    owner_array = np.array(owners, dtype=object)
    columns, categorical = [], []
    for name in names:
        block = np.flatnonzero(owner_array == name)
        if len(block) == 1:
            columns.append(rows[:, block[0]])
        else:
            columns.append(rows[:, block].argmax(axis=1).astype(np.float64))  # exactly one column is hot
        categorical.append(len(block) > 1)
    return np.column_stack(columns), np.array(categorical, dtype=bool)


def classifier(reference: Floats, live: Floats, owners: Sequence[str], seed: int = 0) -> JointDrift:
    """Domain-classifier drift: held-out ROC AUC of telling ``live`` rows from ``reference`` rows,
    by gradient-boosted trees (`driftmon.boosting`, numpy only)."""
    rows_ref, rows_live = len(reference), len(live)
    if min(rows_ref, rows_live) < 4:
        raise Unscorable(
            f"the classifier needs at least 4 rows on each side, 2 to train on and 2 to test "
            f"(the samples have {rows_ref} and {rows_live})"
        )
    rows = np.vstack([reference, live])
    labels = np.r_[np.zeros(rows_ref, dtype=bool), np.ones(rows_live, dtype=bool)]
    generator = np.random.default_rng(seed)
    held = np.empty(len(rows), dtype=bool)  # stratified: half of each side (rounded down) held out
    held[:rows_ref] = generator.permutation(rows_ref) < rows_ref // 2
    held[rows_ref:] = generator.permutation(rows_live) < rows_live // 2
    rows, categorical = _categories(rows, owners)
    bins = boosting.fit_bins(rows[~held], categorical)  # cut on the training rows only
    model = boosting.fit(bins.codes(rows[~held]), labels[~held], categorical, ITERATIONS)
    test, truth = bins.codes(rows[held]), labels[held]
    score, spread = _auc(truth, model.raw(test))
    untied = math.sqrt((len(truth) + 1) / (12.0 * truth.sum() * (~truth).sum()))
    pvalue = _upper_tail((score - 0.5) / spread) if spread > 0 else 1.0  # all scores tied: AUC exactly 1/2
    contributions: Mapping[str, float] = {}
    if pvalue <= EXPLAIN_BELOW:
        drops: dict[str, float] = {}
        owner_array = np.array(list(dict.fromkeys(owners)), dtype=object)  # a column per feature now
        # On at most EXPLAIN_ROWS test rows a side: a prediction per feature is the cost.
        some = np.r_[np.flatnonzero(~truth)[:EXPLAIN_ROWS], np.flatnonzero(truth)[:EXPLAIN_ROWS]]
        test, truth = test[some], truth[some]
        base = _auc(truth, model.raw(test))[0]
        for feature in dict.fromkeys(owners):
            columns = np.flatnonzero(owner_array == feature)
            shuffled = test.copy()
            shuffled[:, columns] = test[generator.permutation(len(test))][:, columns]
            drops[feature] = base - _auc(truth, model.raw(shuffled))[0]
        contributions = _shares(drops)
    # The thresholds stand on the spread without ties (ties only narrow it), so a model that
    # ties every row still has thresholds past 1/2.
    return JointDrift("classifier", score, 0.5, untied, pvalue, rows_ref, rows_live, contributions)
