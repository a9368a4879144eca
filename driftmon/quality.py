"""Broken data, told apart from drift: checks over the counts an evaluation already makes.

Per feature, from its reference and live `Histogram` (no second pass over the data):

- ``missing``: the share of rows without a value (null, NaN);
- ``out_of_range``: the share of rows with a value below the lowest edge and above the
  highest (for bins derived from the reference, its minimum and maximum), numeric only;
- ``unseen``: the share of rows with a category the reference never had (``__unseen__``),
  categorical only;
- ``constant``: the live column holds one value while the reference held several (known
  from the bins when every live value lands in one category or point bin, else from the
  live values' minimum and maximum, which the file sources keep when every value lands in one
  range bin: a sensor stuck at one reading; SQL, Spark and histogram inputs do not give them).

A share check is at a severity when the live share exceeds the reference's by at least
that severity's threshold (``increase``), or, for ``absolute`` limits, when the live
share reaches it, and, unless ``significance`` is None, a one-sided two-proportion test
says the increase is not chance (p ≤ significance; the binomial tail at the reference's
share): a 50-row window does not page on a share that its noise reaches. The ``missing``
check with ``increase`` limits is two-sided: a share that falls by the threshold (28.7 %
→ 23.5 % nulls: a pipeline that started filling them) is a change too, and its p-value is
twice the tail on the side the share moved, so the false-alarm rate stays at most the
significance.

Per monitor (schema anomalies are :mod:`driftmon.schema`'s): ``volume`` (live rows against
a minimum or an expected count) and ``freshness`` (the newest live time against a maximum
age).

Pure: knows nothing of files, configs or Prometheus; severities are the strings of
`evaluate` ("ok", "warning", "critical").
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from .histogram import OTHER, UNSEEN, CategoricalBins, Histogram, NumericBins

__all__ = [
    "CHECKS",
    "FeatureQuality",
    "Limits",
    "ShareCheck",
    "feature_quality",
    "freshness",
    "volume",
]

OK, WARNING, CRITICAL = "ok", "warning", "critical"
CHECKS = ("missing", "out_of_range", "unseen", "constant", "volume", "freshness", "schema")


@dataclass(frozen=True, slots=True)
class Limits:
    """Thresholds of one share check: ``increase`` over the reference's share, or the live
    share itself when ``absolute``; a None severity is not checked."""

    warning: float | None = 0.05
    critical: float | None = 0.20
    absolute: bool = False


@dataclass(frozen=True, slots=True)
class ShareCheck:
    """One share of one feature: reference and live ratios (0-1), the test's p-value, the severity."""

    reference: float
    live: float
    pvalue: float
    severity: str


@dataclass(frozen=True, slots=True)
class FeatureQuality:
    """The data-quality checks of one feature; a check that does not apply to its kind is None."""

    feature: str
    missing: ShareCheck
    below: ShareCheck | None = None
    above: ShareCheck | None = None
    unseen: ShareCheck | None = None
    constant: bool = False

    def severity(self, check: str) -> str:
        """The worst severity of ``check`` (``out_of_range`` covers both directions)."""
        if check == "constant":
            return WARNING if self.constant else OK
        parts: dict[str, list[ShareCheck | None]] = {
            "missing": [self.missing],
            "out_of_range": [self.below, self.above],
            "unseen": [self.unseen],
        }
        return _worst(part.severity for part in parts[check] if part is not None)


def _worst(severities: Iterable[str]) -> str:
    found = set(severities)
    return CRITICAL if CRITICAL in found else WARNING if WARNING in found else OK


_NORMAL_VARIANCE = 100.0  # n·p·(1-p) from which the binomial tail is taken as normal
_TAIL_TERMS = 1_000  # below it the sd is under 10 rows: the tail is gone well within this
_TOLERANCE = 1e-12  # shares are ratios of counts: 0.06 - 0.01 must reach a 0.05 threshold


_lgamma_of_integers = np.full(1, np.inf)  # math.lgamma(k) at index k >= 1, grown on demand
_LGAMMA_TABLE_LIMIT = 1 << 16  # 0.5 MB, ~10 ms to build; larger values (a tail near n) are computed: ~1,000 terms


def _lgamma(values: np.ndarray) -> np.ndarray:
    """math.lgamma of each value (the same floats as np.vectorize(math.lgamma)). Whole numbers, the
    usual case, are looked up in a table of math.lgamma's own values: a segmented monitor asks
    for some 400,000 a evaluation."""
    global _lgamma_of_integers
    whole = values.size > 0 and float(values.min()) >= 1.0 and bool(np.all(values == np.floor(values)))
    if not whole or float(values.max()) >= _LGAMMA_TABLE_LIMIT:
        return np.array([math.lgamma(value) for value in values.tolist()], dtype=np.float64)
    needed = int(values.max()) + 1
    table = _lgamma_of_integers
    if table.size < needed:
        size = min(max(needed, 2 * table.size, 1024), _LGAMMA_TABLE_LIMIT)
        grown = [math.lgamma(k) for k in range(table.size, size)]
        table = np.concatenate((table, np.array(grown, dtype=np.float64)))
        _lgamma_of_integers = table  # one assignment: a thread sees the old table or the new one
    return table[values.astype(np.intp)]


def _increase_pvalue(live_part: float, live_rows: float, reference: float, reference_rows: float) -> float:
    """One-sided p-value of at least ``live_part`` of ``live_rows`` rows by chance, when each
    row has the reference's share (taken as known, with half a row's prior so that a
    share of 0 is not certainty): the binomial upper tail, exact below n·p·(1-p) = 100,
    normal with continuity correction above. 1.0 when the live share is not larger."""
    if live_rows <= 0 or live_part / live_rows <= reference:
        return 1.0
    share = (reference * reference_rows + 0.5) / (reference_rows + 1.0)
    variance = live_rows * share * (1.0 - share)
    if variance >= _NORMAL_VARIANCE:
        z = (live_part - 0.5 - live_rows * share) / math.sqrt(variance)
        return 0.5 * math.erfc(z / math.sqrt(2.0))
    ks = live_part + np.arange(0.0, min(live_rows - live_part, _TAIL_TERMS) + 1.0)
    log_pmf = (
        math.lgamma(live_rows + 1.0)
        - _lgamma(ks + 1.0)
        - _lgamma(live_rows - ks + 1.0)
        + ks * math.log(share)
        + (live_rows - ks) * math.log1p(-share)
    )
    return float(min(1.0, np.exp(log_pmf).sum()))


def _change_pvalue(live_part: float, live_rows: float, reference: float, reference_rows: float) -> float:
    """Two-sided p-value of a live share this far from the reference's, either way: twice
    the `_increase_pvalue` on the side the share moved (a fall is the rise of the other
    rows' share), clipped to 1."""
    rise = _increase_pvalue(live_part, live_rows, reference, reference_rows)
    fall = _increase_pvalue(live_rows - live_part, live_rows, 1.0 - reference, reference_rows)
    return min(1.0, 2.0 * min(rise, fall))


def _share(
    reference_part: float,
    reference_rows: float,
    live_part: float,
    live_rows: float,
    limits: Limits,
    significance: float | None,
    either_way: bool = False,
) -> ShareCheck:
    """One share check; ``either_way`` (``increase`` limits only): a fall counts as a rise does."""
    reference = reference_part / reference_rows if reference_rows > 0 else 0.0
    live = live_part / live_rows if live_rows > 0 else 0.0
    either_way = either_way and not limits.absolute
    pvalue = (_change_pvalue if either_way else _increase_pvalue)(live_part, live_rows, reference, reference_rows)
    measured = live if limits.absolute else abs(live - reference) if either_way else live - reference
    severity = OK
    if live_rows > 0 and (significance is None or pvalue <= significance):
        for name, threshold in ((CRITICAL, limits.critical), (WARNING, limits.warning)):
            if threshold is not None and measured >= threshold - _TOLERANCE:
                severity = name
                break
    return ShareCheck(reference=float(reference), live=float(live), pvalue=pvalue, severity=severity)


def feature_quality(
    feature: str,
    reference: Histogram,
    live: Histogram,
    limits: Mapping[str, Limits],
    significance: float | None = 0.01,
    live_range: tuple[float, float] | None = None,
) -> FeatureQuality:
    """The share checks of one feature from its two histograms (same bins); ``limits`` by
    check name (missing, out_of_range, unseen; a check without limits is measured, never
    at a severity); ``live_range`` the live column's (min, max) when the source knows it
    (default: the live histogram's ``extent``)."""
    never = Limits(warning=None, critical=None)
    ref_rows, live_rows = reference.total, live.total
    missing_limits = limits.get("missing", never)
    missing = _share(
        reference.missing, ref_rows, live.missing, live_rows, missing_limits, significance, either_way=True
    )
    spec = reference.spec
    below = above = unseen = None
    if isinstance(spec, NumericBins) and spec.edges:
        bound = limits.get("out_of_range", never)
        ref_present, live_present = reference.present, live.present
        below = _share(reference.counts[0], ref_present, live.counts[0], live_present, bound, significance)
        above = _share(reference.counts[-1], ref_present, live.counts[-1], live_present, bound, significance)
    elif isinstance(spec, CategoricalBins):
        at = spec.labels().index(UNSEEN)
        unseen = _share(
            reference.counts[at],
            reference.present,
            _unseen_count(spec, live),
            live.present,
            limits.get("unseen", never),
            significance,
        )
    return FeatureQuality(
        feature=feature,
        missing=missing,
        below=below,
        above=above,
        unseen=unseen,
        constant=_constant(reference, live, live_range),
    )


@functools.lru_cache(maxsize=4096)
def _single_value_bins(spec: NumericBins | CategoricalBins) -> np.ndarray:
    """Which bins can hold only one distinct value: categories, and point bins (read-only: cached per spec,
    which a segmented monitor asks once per segment)."""
    single = _single_value_bins_of(spec)
    single.setflags(write=False)
    return single


def _single_value_bins_of(spec: NumericBins | CategoricalBins) -> np.ndarray:
    if isinstance(spec, CategoricalBins):
        single = np.ones(spec.size, dtype=bool)
        single[-2:] = False  # __other__ and __unseen__ gather many values
        return single
    single = np.zeros(spec.size, dtype=bool)
    values, _ = spec.cuts()  # a point bin lies between its value's two cuts (< v, then <= v)
    single[np.flatnonzero(values[1:] == values[:-1]) + 1] = True
    return single


def _unseen_count(reference: CategoricalBins, live: Histogram) -> float:
    """Live rows of a category the reference never had. A live histogram from a file may
    list categories of its own: those outside the reference's count too."""
    if live.spec == reference:
        return float(live.counts[reference.labels().index(UNSEEN)])
    known = set(reference.categories) | {OTHER}
    return float(sum(count for label, count in zip(live.spec.labels(), live.counts, strict=True) if label not in known))


def _constant(reference: Histogram, live: Histogram, live_range: tuple[float, float] | None) -> bool:
    """Live holds at least two rows of one value, and the reference held several values."""
    filled = np.flatnonzero(reference.counts > 0)
    single = _single_value_bins(reference.spec)
    reference_constant = filled.size == 1 and bool(single[filled[0]])
    if reference_constant or live.present < 2:
        return False
    live_range = live.extent if live_range is None else live_range
    if live_range is not None:
        return live_range[0] == live_range[1]
    used = np.flatnonzero(live.counts > 0)
    return used.size == 1 and bool(_single_value_bins(live.spec)[used[0]])


def volume(
    live_rows: float, min_rows: float | None = None, expected: float | None = None, min_ratio: float | None = None
) -> str:
    """``critical`` below ``min_rows``; ``warning`` below ``min_ratio`` of the ``expected``
    rows (the reference's rate over the window, or the previous window's count)."""
    if min_rows is not None and live_rows < min_rows:
        return CRITICAL
    if expected is not None and min_ratio is not None and expected > 0 and live_rows < min_ratio * expected:
        return WARNING
    return OK


def freshness(
    newest: float | None, now: float, warning_age: float | None = None, critical_age: float | None = None
) -> str:
    """The severity of live data whose newest time is ``newest`` (Unix seconds; None: no
    data at all, as stale as can be) against maximum ages in seconds."""
    age = math.inf if newest is None else now - newest
    if critical_age is not None and age > critical_age:
        return CRITICAL
    if warning_age is not None and age > warning_age:
        return WARNING
    return OK


def describe(feature: FeatureQuality) -> list[str]:
    """One line per check of ``feature`` at warning or worse, in words (for `check` and the pages)."""
    lines = []
    for name, share in (
        ("missing", feature.missing),
        ("below range", feature.below),
        ("above range", feature.above),
        ("unseen categories", feature.unseen),
    ):
        if share is not None and share.severity != OK:
            lines.append(f"{name} {share.reference:.1%} -> {share.live:.1%} ({share.severity})")
    if feature.constant:
        lines.append("constant: the live column holds one value (warning)")
    return lines
