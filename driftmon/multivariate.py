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
  projection). Its no-drift distribution at the live size comes from the reference
  itself, leave-chunk-out: each chunk's error under components fitted without it, so the
  reference is never scored against itself (`CHUNKS` folds). The live mean error is
  compared with those rows' mean error μ and spread s: under no drift it is normal with
  mean μ and deviation s·√(1/n_live + 1/n_reference), and the p-value is its upper tail.
- ``classifier``: a gradient-boosted tree classifier (scikit-learn's
  HistGradientBoostingClassifier, the ``model`` extra) is trained to tell reference rows
  from live rows; the score is its out-of-fold ROC AUC over `FOLDS` stratified folds
  (0.5: the sides cannot be told apart). Under no drift the out-of-fold AUC is
  distributed as the Mann-Whitney statistic at the two sample sizes (mean 1/2, variance
  (n₁ + n₂ + 1) / (12 n₁ n₂)): the p-value is its normal tail.

Contributions ("what moved jointly"): for reconstruction, each feature's share of the
increase of the squared reconstruction error over the reference's; for the classifier,
each feature's drop of the out-of-fold AUC when its columns are permuted, as a share of
the drops; computed only when the p-value is at most `EXPLAIN_BELOW`.

Pure numpy (and scikit-learn for the classifier); knows nothing of files or Prometheus.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import DataError
from .performance import binary

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
FOLDS = 3
EXPLAIN_BELOW = 0.05


class Unscorable(DataError):
    """The samples cannot be scored by the method (too few rows, more columns than rows): the
    message is the reason, for a named ``insufficient_data`` state rather than an error."""


def _is_missing(values: npt.NDArray[np.generic]) -> npt.NDArray[np.bool_]:
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind != "O":
        return np.zeros(len(values), dtype=bool)
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
            unique, counts = np.unique(present, return_counts=True) if present.size else ([], [])
            ranked = sorted(zip(unique, counts, strict=True), key=lambda item: (-item[1], item[0]))
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
        return standard - (standard @ self.components.T) @ self.components


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
    threadpoolctl (it comes with scikit-learn) the libraries keep their defaults."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib

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
    score = float(np.linalg.norm(live_residuals, axis=1).mean())
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
    expected = float(errors.mean())
    spread = float(errors.std(ddof=1)) * math.sqrt(1.0 / rows_live + 1.0 / rows_ref)
    pvalue = _upper_tail((score - expected) / spread) if spread > 0 else (0.0 if score > expected else 1.0)
    contributions: Mapping[str, float] = {}
    if pvalue <= EXPLAIN_BELOW:
        increase = (live_residuals**2).mean(axis=0) - (held_out**2).mean(axis=0)
        gains: dict[str, float] = {}
        for column, owner in enumerate(owners):
            gains[owner] = gains.get(owner, 0.0) + float(increase[column])
        contributions = _shares(gains)
    return JointDrift("reconstruction", score, expected, spread, pvalue, rows_ref, rows_live, contributions)


def _auc(labels: Floats, scores: Floats) -> float:
    value = binary(labels, scores >= 0.5, scores).values.get("roc_auc")
    return 0.5 if value is None else value


def classifier(reference: Floats, live: Floats, owners: Sequence[str], seed: int = 0) -> JointDrift:
    """Domain-classifier drift: out-of-fold ROC AUC of telling ``live`` rows from ``reference`` rows.

    Trained on one thread: the daemon runs one evaluation per core already, and OpenMP's
    spinning threads on a busy machine made one fit 25 times slower (34 s against 1.3 s for
    2,000 + 2,000 rows at load average 9 on 2 cores).
    """
    try:
        from sklearn.ensemble import HistGradientBoostingClassifier
    except ImportError as error:
        raise DataError(
            "the classifier method of joint drift needs scikit-learn (pip install 'driftmon-exporter[model]')"
        ) from error
    with _one_thread("openmp"):
        return _classifier(HistGradientBoostingClassifier, reference, live, owners, seed)


def _classifier(model_type: Any, reference: Floats, live: Floats, owners: Sequence[str], seed: int) -> JointDrift:
    rows_ref, rows_live = len(reference), len(live)
    if min(rows_ref, rows_live) < FOLDS:
        raise Unscorable(
            f"the classifier needs at least {FOLDS} rows on each side (the samples have {rows_ref} and {rows_live})"
        )
    rows = np.vstack([reference, live])
    labels = np.r_[np.zeros(rows_ref), np.ones(rows_live)]
    generator = np.random.default_rng(seed)
    fold = np.empty(len(rows), dtype=np.intp)  # stratified: each side dealt round the folds
    fold[:rows_ref] = generator.permutation(rows_ref) % FOLDS
    fold[rows_ref:] = generator.permutation(rows_live) % FOLDS
    scores = np.empty(len(rows))
    models = []
    for k in range(FOLDS):
        train = fold != k
        model = model_type(max_iter=60, max_leaf_nodes=15, early_stopping=False, random_state=seed)
        model.fit(rows[train], labels[train])
        scores[~train] = model.predict_proba(rows[~train])[:, 1]
        models.append(model)
    score = _auc(labels, scores)
    spread = math.sqrt((rows_ref + rows_live + 1) / (12.0 * rows_ref * rows_live))
    pvalue = _upper_tail((score - 0.5) / spread)
    contributions: Mapping[str, float] = {}
    if pvalue <= EXPLAIN_BELOW:
        drops: dict[str, float] = {}
        owner_array = np.array(owners, dtype=object)
        for feature in dict.fromkeys(owners):
            columns = np.flatnonzero(owner_array == feature)
            permuted = np.empty(len(rows))
            for k, model in enumerate(models):
                held = np.flatnonzero(fold == k)
                shuffled = rows[held].copy()
                shuffled[:, columns] = shuffled[generator.permutation(len(held))][:, columns]
                permuted[held] = model.predict_proba(shuffled)[:, 1]
            drops[feature] = score - _auc(labels, permuted)
        contributions = _shares(drops)
    return JointDrift("classifier", score, 0.5, spread, pvalue, rows_ref, rows_live, contributions)
