"""False alarms and detections against sample size: fixed thresholds versus driftmon's decision.

Writes benchmarks/alert_quality/alert_quality.png (the plot in the README's "How driftmon
decides") and prints the rates it plots. One numeric feature, N(0, 1) in the reference,
10 quantile bins (plus under/overflow and missing, as driftmon bins it), measures
kl, js, psi. A reference of max(100,000, live) rows. For each live size, many evaluations
with live data that did not drift, or whose mean shifted by 0.2 or 0.6 standard
deviations (0.2: a real shift below the fixed critical levels, PSI 0.04; 0.6: PSI 0.34,
above them). Three decisions, each "is any measure critical":

- fixed thresholds only: js >= 0.02 or psi >= 0.1 (driftmon's default critical levels):
  the usual practice;
- driftmon default: the same thresholds and the significance gate (p <= 0.01);
- driftmon auto: ``thresholds: {js: {critical: auto}, psi: {critical: auto}}`` and the gate.

Histograms are drawn whole (multinomial), so a million-row window costs what a small one
does; the decision uses driftmon's own functions, composed as evaluate.score() composes
them (tests/test_calibration.py pins that). Fixed seed: the output is reproducible.

matplotlib is not a driftmon dependency; run in a venv of its own:

    python3 -m venv benchmarks/alert_quality/.venv
    benchmarks/alert_quality/.venv/bin/pip install numpy matplotlib
    benchmarks/alert_quality/.venv/bin/pip install --no-deps -e .
    benchmarks/alert_quality/.venv/bin/python benchmarks/alert_quality/plot.py

A few seconds on two cores.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from driftmon.divergence import divergences
from driftmon.noise import NullCache, null_summaries
from driftmon.significance import CRITICAL, decide, gate

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "alert_quality.png"
SEED = 20240610
SIZES = (50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000)
SHIFTS = (0.0, 0.2, 0.6)  # in standard deviations
EVALUATIONS = {0.0: 2000, 0.2: 400, 0.6: 400}
SIGNIFICANCE = 0.01
MEASURES = ("kl", "js", "psi")
FIXED = {"js": 0.02, "psi": 0.1}  # critical levels of driftmon's default thresholds (config_schema.DEFAULT_THRESHOLDS)
BINS = 10


def normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


def bin_probabilities(edges: np.ndarray, shift: float) -> np.ndarray:
    """P(underflow), P(each interior bin), P(overflow), P(missing) for N(shift, 1)."""
    cdf = normal_cdf(edges - shift)
    return np.concatenate([[cdf[0]], np.diff(cdf), [1.0 - cdf[-1]], [0.0]])


def rates(rng: np.random.Generator, live_rows: int, shift: float, cache: NullCache) -> dict[str, float]:
    reference_rows = max(100_000, live_rows)
    reference_sample = np.sort(rng.normal(0.0, 1.0, reference_rows))
    edges = np.quantile(reference_sample, np.linspace(0, 1, BINS + 1))  # as driftmon's quantile bins
    evaluations = EVALUATIONS[shift]
    live = rng.multinomial(live_rows, bin_probabilities(edges, shift), size=evaluations).astype(float)
    reference = rng.multinomial(reference_rows, bin_probabilities(edges, 0.0), size=evaluations).astype(float)
    scores = divergences(live, reference, MEASURES)
    tested = np.ones((evaluations, 1), dtype=bool)
    significant = gate(live[:, np.newaxis], reference[:, np.newaxis], tested, SIGNIFICANCE).significant[:, 0]
    summaries = null_summaries(live, reference, MEASURES, cache=cache)
    fixed_only = np.zeros(evaluations, dtype=bool)
    default = np.zeros(evaluations, dtype=bool)
    auto = np.zeros(evaluations, dtype=bool)
    for measure, level in FIXED.items():
        fixed_only |= decide(scores[measure], np.nan, level, True) == CRITICAL
        default |= decide(scores[measure], np.nan, level, significant) == CRITICAL
        automatic = np.array([s.quantiles[measure][1] if s is not None else np.nan for s in summaries])
        auto |= decide(scores[measure], np.nan, automatic, significant) == CRITICAL
    return {
        "fixed thresholds only": float(fixed_only.mean()),
        "driftmon default (fixed + significance)": float(default.mean()),
        "driftmon auto thresholds (+ significance)": float(auto.mean()),
    }


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(SEED)
    cache = NullCache()
    results: dict[float, dict[str, list[float]]] = {}
    for shift in SHIFTS:
        results[shift] = {}
        for live_rows in SIZES:
            for name, value in rates(rng, live_rows, shift, cache).items():
                results[shift].setdefault(name, []).append(value)
        print(f"shift {shift} sd: live rows {list(SIZES)}")
        for name, values in results[shift].items():
            print(f"  {name:44s} " + " ".join(f"{v:.3f}" for v in values))

    styles = {
        "fixed thresholds only": {"color": "#d62728", "marker": "o", "linestyle": "--"},
        "driftmon default (fixed + significance)": {"color": "#1f77b4", "marker": "s", "linestyle": "-"},
        "driftmon auto thresholds (+ significance)": {"color": "#2ca02c", "marker": "^", "linestyle": "-"},
    }
    titles = {
        0.0: "No drift: false alarm rate",
        0.2: "Mean shift 0.2 sd: detection rate",
        0.6: "Mean shift 0.6 sd: detection rate",
    }
    figure, axes = plt.subplots(1, 3, figsize=(15, 4.6), constrained_layout=True)
    for axis, shift in zip(axes, SHIFTS, strict=True):
        for name, values in results[shift].items():
            axis.plot(SIZES, values, label=name, markersize=4, **styles[name])
        if shift == 0.0:
            axis.axhline(SIGNIFICANCE, color="grey", linewidth=1, linestyle=":")
            axis.text(SIZES[-1], SIGNIFICANCE * 1.15, "significance 0.01", ha="right", va="bottom", color="grey")
            axis.set_yscale("symlog", linthresh=0.01)
            axis.set_ylim(0, 1.05)
        else:
            axis.set_ylim(-0.02, 1.02)
        axis.set_xscale("log")
        axis.set_xlabel("live rows per evaluation")
        axis.set_ylabel("share of evaluations with a critical alert")
        axis.set_title(titles[shift])
        axis.grid(True, which="major", alpha=0.3)
    axes[0].legend(loc="upper right", fontsize=8)
    figure.suptitle(
        "One numeric feature, 10 quantile bins, reference of max(100k, live) rows; critical on kl/js/psi",
        fontsize=10,
    )
    figure.savefig(OUTPUT, dpi=110)
    print(f"wrote {OUTPUT.relative_to(HERE.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
