"""Per-bin terms of each measure: which bins moved, and by how much each adds to a score.

Pure numpy next to `divergence.py`, over the same (features x bins) count arrays and the
same smoothing (`divergence.smooth`), so the terms are those of the scores:

| measure | term of bin i | the terms sum to |
| --- | --- | --- |
| `kl` | p·log(p/q) (units of `log_base`; +inf where p > 0 = q) | the score |
| `kl_reverse` | q·log(q/p) (+inf where q > 0 = p) | the score |
| `js` | ½p·log(p/m) + ½q·log(q/m), m = (p+q)/2; the halves are `js_live`, `js_reference` | the score |
| `psi` | (p-q)·ln(p/q), natural log (+inf where a bin is one-sided) | the score |
| `tvd` | ½·abs(p-q) | the score |
| `hellinger` | ½(√p - √q)² | the score squared |

`p` is the live share, `q` the reference share. Bins empty on both sides were dropped by
the measures: their shares and terms are 0. Individual KL and JS-half terms may be
negative (a bin that lost share); only their sums are divergences.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from driftmon.divergence import MEASURES, Smoothing, smooth

__all__ = ["TERM_NAMES", "BinExplanation", "bin_terms", "lead_measure", "term_names", "top_movers", "unit"]

FloatArray = npt.NDArray[np.float64]

# Terms reported for a measure: the term summing to the score first, then its parts.
_PARTS = {"js": ("js", "js_live", "js_reference")}

TERM_NAMES: tuple[str, ...] = tuple(name for m in MEASURES for name in _PARTS.get(m, (m,)))
"""Every term name, in measure order: kl, kl_reverse, js, js_live, js_reference, psi, hellinger, tvd."""


_DEFAULT_SMOOTHING = Smoothing()


def term_names(measures: Sequence[str]) -> tuple[str, ...]:
    """The term names reported for these measures (``js`` brings its two halves)."""
    return tuple(name for m in measures for name in _PARTS.get(m, (m,)))


def _xlogy(x: FloatArray, y: FloatArray, where: npt.NDArray[np.bool_]) -> FloatArray:
    """x·ln(x/y) where `where`, 0 elsewhere (no warnings)."""
    ratio = np.divide(x, y, out=np.ones_like(x), where=where)
    return x * np.log(ratio)


def bin_terms(
    live: npt.ArrayLike,
    reference: npt.ArrayLike,
    measures: Sequence[str],
    smoothing: Smoothing = _DEFAULT_SMOOTHING,
    log_base: float = 2.0,
) -> tuple[FloatArray, FloatArray, dict[str, FloatArray]]:
    """Live shares `p`, reference shares `q`, and each measure's per-bin terms.

    `live`, `reference`: counts of shape (F, B) or (B,), as for `divergence.divergences`.
    Returns ``(p, q, {term name: array})``, every array of the input's shape; term names
    are `term_names(measures)`. For each row with both totals > 0, the terms of `kl`,
    `kl_reverse`, `js`, `psi` and `tvd` sum to that measure's score (within rounding;
    ``+inf`` where the score is ``+inf``), those of `hellinger` to the score squared.
    Rows with a side totalling 0 have no score; their terms are whatever the formulas give.
    """
    p, q = smooth(live, reference, smoothing)
    unit = math.log(log_base)
    p_pos, q_pos = p > 0, q > 0
    both = p_pos & q_pos
    # ln(p/q) once, shared by kl, kl_reverse and psi as in divergence.py (so the sums agree).
    log_ratio = np.log(np.divide(p, q, out=np.ones_like(p), where=both))
    terms: dict[str, FloatArray] = {}
    for measure in measures:
        if measure not in MEASURES:
            raise ValueError(f"unknown measure {measure!r}")
        if measure == "kl":
            kl = p * log_ratio / unit
            kl[p_pos & ~q_pos] = np.inf
            terms["kl"] = kl
        elif measure == "kl_reverse":
            reverse = -q * log_ratio / unit
            reverse[q_pos & ~p_pos] = np.inf
            terms["kl_reverse"] = reverse
        elif measure == "js":
            mean = 0.5 * (p + q)
            live_half = 0.5 * _xlogy(p, mean, p_pos) / unit
            reference_half = 0.5 * _xlogy(q, mean, q_pos) / unit
            terms["js"] = live_half + reference_half
            terms["js_live"] = live_half
            terms["js_reference"] = reference_half
        elif measure == "psi":
            psi = (p - q) * log_ratio
            psi[p_pos != q_pos] = np.inf
            terms["psi"] = psi
        elif measure == "hellinger":
            terms["hellinger"] = 0.5 * (np.sqrt(p) - np.sqrt(q)) ** 2
        elif measure == "tvd":
            terms["tvd"] = 0.5 * np.abs(p - q)
    return p, q, terms


def unit(measure: str, log_base: float) -> str:
    """The unit of a measure's terms in words: bits, nats or bans for the log measures."""
    if measure.startswith(("kl", "js")):
        return {2.0: "bits", math.e: "nats", 10.0: "bans"}.get(float(log_base), f"log{log_base:g} units")
    return "nats" if measure == "psi" else ""


@dataclass(frozen=True, slots=True)
class BinExplanation:
    """One bin of one feature: its counts, shares after smoothing, and its term per measure.

    ``role``: ``interval``, ``point`` ({v}), ``underflow`` / ``overflow`` (numeric values
    outside the reference's range), ``category``, ``other``, ``unseen``, ``missing``.
    ``terms`` holds `term_names` of the measures scored (empty when nothing was scored);
    ``values`` the most frequent live values of an ``unseen`` bin with their counts.
    """

    label: str
    role: str
    reference_count: float
    live_count: float
    reference_share: float
    live_share: float
    terms: Mapping[str, float]
    values: tuple[tuple[str, float], ...] = ()

    @property
    def change(self) -> float:
        """Live share minus reference share."""
        return self.live_share - self.reference_share

    def __reduce__(self) -> tuple[type[BinExplanation], tuple[object, ...]]:
        # A result holds one per bin, pickled from the daemon's worker at every evaluation: its fields
        # as a tuple take half the time of the slots dataclass default (which calls fields() each time).
        fields = (self.reference_count, self.live_count, self.reference_share, self.live_share, self.terms)
        return BinExplanation, (self.label, self.role, *fields, self.values)


def top_movers(bins: Sequence[BinExplanation], count: int = 3) -> list[BinExplanation]:
    """The bins whose share moved most (largest abs(live - reference share)), biggest first."""
    moved = [b for b in bins if b.change != 0]
    return sorted(moved, key=lambda b: -abs(b.change))[:count]


class Judged(Protocol):
    """What `lead_measure` reads of a feature's result (a `driftmon.evaluate.FeatureResult`)."""

    @property
    def worst(self) -> str: ...
    @property
    def severity(self) -> Mapping[str, str]: ...
    @property
    def scores(self) -> Mapping[str, float]: ...


def lead_measure(feature: Judged) -> str | None:
    """The measure to quote a feature's bin terms in: its first measure at its worst
    severity, else its first scored measure (None without scores)."""
    worst = feature.worst
    return next((m for m, level in feature.severity.items() if level == worst), next(iter(feature.scores), None))


def _percent(share: float) -> str:
    return "0%" if share < 0.0005 else f"{share:.1%}"


def describe_bin(item: BinExplanation, measure: str | None, log_base: float, live_total: float) -> str:
    """One mover in words: ``[5000, 20000): 12.0% → 31.4% (+0.21 bits of kl)``; an unseen bin
    names its most frequent values: ``__unseen__ 0% → 3.1%: "BR" 2.2%, "MX" 0.9%``."""
    text = f"{item.label}: {_percent(item.reference_share)} → {_percent(item.live_share)}"
    if item.role == "unseen" and item.values and live_total > 0:
        named = ", ".join(f'"{value}" {_percent(count / live_total)}' for value, count in item.values[:3])
        return f"{item.label} {_percent(item.reference_share)} → {_percent(item.live_share)}: {named}"
    term = item.terms.get(measure) if measure else None
    if term is not None:
        amount = "+Inf" if math.isinf(term) else f"{term:+.2g}"
        words = unit(measure or "", log_base)
        text += f" ({amount}{' ' + words if words else ''} of {measure})"
    return text


def describe_movers(bins: Sequence[BinExplanation], measure: str | None, log_base: float, count: int = 2) -> str:
    """The top movers of a feature on one line, ``; ``-separated (see `describe_bin`)."""
    live_total = sum(b.live_count for b in bins)
    return "; ".join(describe_bin(b, measure, log_base, live_total) for b in top_movers(bins, count))
