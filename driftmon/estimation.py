"""Estimated performance of a classifier on live rows that have no label yet.

Confidence-based performance estimation (CBPE, as NannyML calls it): the reference has
labels, so the model's scores can be *calibrated* on it, i.e. mapped to the probability
that a row with that score is of the class (isotonic regression per class column, one
against the rest; multiclass rows are then renormalised to sum to 1). On live rows the
calibrated probability is the soft truth of `performance`: the expected confusion
matrix, and from it every metric, is what the model would score if the live rows were
labelled as the reference says rows with such scores are. The estimate holds while the
relation between scores and labels (concept) holds; it follows covariate shift, which is
what it is for.

The band says how far a window of the live size moves by chance: the realized metric
of the reference over disjoint chunks of the live window's size (shuffled with a fixed
seed; bootstrap draws when the reference holds fewer than `MIN_CHUNKS` such chunks; for a
live window too large for either, chunks of a tenth of the reference with their sd scaled
by the square root of the sizes' ratio, see `spread`) has a standard deviation sd, and the
band is estimate ± `BAND_SIGMAS`·sd, clipped to the metric's range. The same spread gives
`auto` thresholds (reference mean minus k·sd).

Pure numpy: the isotonic regression is `driftmon.isotonic` (scikit-learn's, to rounding;
scikit-learn is only the tests' oracle).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from . import isotonic, performance
from .performance import Performance

__all__ = ["BAND_SIGMAS", "Calibration", "Spread", "band", "calibrate", "estimate", "spread"]

Floats = npt.NDArray[np.float64]

BAND_SIGMAS = 3.0  # NannyML's default band is 3 standard errors as well
MIN_CHUNKS = 10  # fewer disjoint chunks of the live size than this: bootstrap instead
MAX_CHUNKS = 100  # bounds the cost on a large reference
BOOTSTRAP_DRAWS = 50
BOOTSTRAP_ROWS = 1_000_000  # rows of all bootstrap draws together; beyond, chunks and sqrt scaling
# Metrics bounded to [0, 1]; the others (losses, errors) to [0, +inf), R² to (-inf, 1].
_UNBOUNDED_ABOVE = frozenset({"log_loss", "mae", "rmse", "mape"})


@dataclass(frozen=True, slots=True)
class Calibration:
    """Per class column, the isotonic step function: ``inputs[k]`` → ``outputs[k]``, linear
    in between and constant beyond the ends (scikit-learn's ``out_of_bounds="clip"``)."""

    inputs: tuple[Floats, ...]
    outputs: tuple[Floats, ...]

    def apply(
        self, scores: Floats, order: npt.NDArray[np.intp] | Sequence[npt.NDArray[np.intp]] | None = None
    ) -> Floats:
        """Calibrated probabilities of ``scores`` (rows x class columns); multiclass rows sum to 1.

        ``order``: the rows in ascending score order (one column), or one such order per class
        column; interpolating sorted values walks the breakpoints once instead of searching
        them per row (10x faster)."""
        scores = np.atleast_2d(np.asarray(scores, dtype=np.float64).T).T
        pairs = list(zip(self.inputs, self.outputs, strict=True))
        orders = None if order is None else [order] if isinstance(order, np.ndarray) else list(order)
        if orders is not None and len(orders) == len(pairs):
            calibrated = np.empty((scores.shape[0], len(pairs)))
            for k, ((x, y), rows) in enumerate(zip(pairs, orders, strict=True)):
                calibrated[rows, k] = np.interp(scores[rows, k], x, y)
            if len(pairs) == 1:
                return calibrated
        else:
            calibrated = np.column_stack([np.interp(scores[:, k], x, y) for k, (x, y) in enumerate(pairs)])
        if calibrated.shape[1] > 1:
            sums = calibrated.sum(axis=1, keepdims=True)
            even = np.full_like(calibrated, 1.0 / calibrated.shape[1])
            calibrated = np.divide(calibrated, sums, out=even, where=sums > 0)
        return calibrated


def calibrate(truth: Floats, scores: Floats) -> Calibration:
    """Fit one isotonic map per class column of ``scores`` to the 0/1 ``truth`` of that class
    (both rows x columns; a binary model has the one column of its positive class): the map
    scikit-learn's ``IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip")`` fits, in
    numpy (`driftmon.isotonic`)."""
    truth = np.atleast_2d(np.asarray(truth, dtype=np.float64).T).T
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64).T).T
    fitted = [isotonic.fit(scores[:, k], truth[:, k]) for k in range(scores.shape[1])]
    return Calibration(tuple(inputs for inputs, _ in fitted), tuple(outputs for _, outputs in fitted))


def estimate(
    calibration: Calibration,
    predicted: npt.NDArray[np.intp] | npt.NDArray[np.bool_],
    scores: Floats,
    classes: Sequence[str] | None,
    order: npt.NDArray[np.intp] | None = None,
    presorted: bool = False,
    orders: Sequence[npt.NDArray[np.intp]] | None = None,
) -> Performance:
    """Estimated metrics of unlabelled rows: binary when ``classes`` is None (``scores`` the
    positive class's probability, ``predicted`` the decision; ``order``: the rows in
    ascending score order, sorted here when not given; ``presorted``: the rows are in
    ascending score order already), else multiclass (``orders``: the rows in ascending order
    of each class's score, if known)."""
    if classes is None:
        scores = np.asarray(scores, dtype=np.float64)
        if presorted:  # sorted scores: np.interp walks the breakpoints once
            (inputs, outputs), decided = (calibration.inputs[0], calibration.outputs[0]), np.asarray(predicted, bool)
            return performance.binary(np.interp(scores, inputs, outputs), decided, scores, presorted=True)
        order = np.argsort(scores) if order is None else order
        calibrated = calibration.apply(scores, order)
        return performance.binary(calibrated[:, 0], np.asarray(predicted, dtype=bool), scores, order)
    calibrated = calibration.apply(scores, orders)
    return performance.multiclass(
        calibrated, np.asarray(predicted, dtype=np.intp), np.asarray(scores, dtype=np.float64), classes, orders
    )


@dataclass(frozen=True, slots=True)
class Spread:
    """The reference's realized metrics over ``draws`` chunks: mean (at ``chunk`` rows) and sd (at ``size``)."""

    size: int
    draws: int
    mean: Mapping[str, float]
    std: Mapping[str, float]  # at ``size`` rows (scaled from ``chunk`` rows when they differ)
    chunk: int = 0  # rows of each chunk measured


def spread(realized: Callable[[npt.NDArray[np.intp]], Performance], rows: int, size: int, seed: int = 0) -> Spread:
    """Mean and standard deviation of ``realized(rows_of_a_chunk)`` over reference chunks of
    ``size`` of its ``rows`` rows: disjoint chunks of a seeded shuffle when there are at least
    `MIN_CHUNKS` (at most `MAX_CHUNKS` used), else `BOOTSTRAP_DRAWS` draws with replacement,
    as long as those draws hold at most `BOOTSTRAP_ROWS` rows in all.

    A live window larger than that (or than the reference) is measured at the largest chunk
    that fits, ``m`` rows, and its sd scaled by sqrt(m / size): a metric's sampling error
    falls as 1/sqrt(rows) (exactly so for accuracy, sqrt(a(1-a)/n)). So the cost is at most
    one pass over the reference, whatever the live size. A metric defined in fewer than two
    chunks has no spread."""
    size = max(1, size)
    chunk = min(size, rows // MIN_CHUNKS) if rows >= MIN_CHUNKS else 0
    generator = np.random.default_rng(seed)
    if chunk == size:
        order = generator.permutation(rows)
        count = min(rows // size, MAX_CHUNKS)
        chunks = [order[i * size : (i + 1) * size] for i in range(count)]
    elif size <= rows and BOOTSTRAP_DRAWS * size <= BOOTSTRAP_ROWS:
        chunk = size
        chunks = [generator.integers(0, rows, size) for _ in range(BOOTSTRAP_DRAWS)]
    elif chunk >= 1:
        order = generator.permutation(rows)
        chunks = [order[i * chunk : (i + 1) * chunk] for i in range(min(rows // chunk, MAX_CHUNKS))]
    else:  # fewer reference rows than MIN_CHUNKS: bootstrap what there is
        chunk = max(1, rows)
        chunks = [generator.integers(0, rows, chunk) for _ in range(BOOTSTRAP_DRAWS)]
    seen: dict[str, list[float]] = {}
    for rows_of_chunk in chunks:
        for name, value in realized(rows_of_chunk).values.items():
            seen.setdefault(name, []).append(value)
    scale = float(np.sqrt(chunk / size))
    mean = {name: float(np.mean(values)) for name, values in seen.items() if len(values) >= 2}
    std = {name: scale * float(np.std(values, ddof=1)) for name, values in seen.items() if len(values) >= 2}
    return Spread(size=size, draws=len(chunks), mean=dict(mean), std=dict(std), chunk=chunk)


def band(estimated: Performance, reference_spread: Spread) -> dict[str, tuple[float, float]]:
    """Metric → (lower, upper): each estimate ± `BAND_SIGMAS` sd of the reference at the live
    size, clipped to the metric's range. Metrics without a sd have no band."""
    bands: dict[str, tuple[float, float]] = {}
    for name, value in estimated.values.items():
        sigma = reference_spread.std.get(name)
        if sigma is None:
            continue
        low, high = value - BAND_SIGMAS * sigma, value + BAND_SIGMAS * sigma
        floor = -np.inf if name == "r2" else 0.0
        ceiling = np.inf if name in _UNBOUNDED_ABOVE else 1.0
        bands[name] = (float(max(low, floor)), float(min(high, ceiling)))
    return bands
