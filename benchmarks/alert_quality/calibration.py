#!/usr/bin/env python3
"""No-drift calibration of the default decision: 10,000 simulated windows per live size.

``nice -n 10 .venv/bin/python benchmarks/alert_quality/calibration.py`` writes
benchmarks/results/calibration-<date>.md. Each window is a monitor of 20 features whose live
and reference histograms are drawn from one distribution (the null hypothesis), with the
shapes of tests/test_calibration.py (quantile-binned numeric with rare under/overflow and a
missing bin, Zipf, geometric; 5, 10, 20 and 50 bins, cycled over the windows), a reference
of max(10,000, 4 x live) rows, and the decision composed of driftmon's own functions as
evaluate.score() composes them with every default (drift_test, FDR across the features (gate),
js/psi warning levels and the 5-point share rule): a window is a false alarm when any
feature is at warning or worse. Also shown: the same windows with Holm, and one feature
alone. The rate must be at most the significance (0.01) within the binomial bound.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from test_calibration import DEFAULT_THRESHOLDS, MEASURES, SHARE_SHIFT, SIGNIFICANCE, reference_size, shapes  # noqa: E402

from driftmon.divergence import divergences  # noqa: E402
from driftmon.significance import WARNING, adjust, decide, drift_test, share_shift  # noqa: E402

SIZES = (50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 100_000, 1_000_000)
WINDOWS, FEATURES, BATCH = 10_000, 20, 250
BINS = (5, 10, 20, 50)


def alarms(live: np.ndarray, reference: np.ndarray) -> dict[str, np.ndarray]:
    """(windows,) any feature at warning or worse under the default decision, with FDR and
    with Holm across the 20 features, and for the first feature alone. The p-values are
    gate()'s own (drift_test, then adjust), computed once for the three."""
    windows, features, bins = live.shape
    scores = divergences(live.reshape(-1, bins), reference.reshape(-1, bins), MEASURES)
    pvalues = drift_test(live.reshape(-1, bins), reference.reshape(-1, bins)).reshape(windows, features)
    shifted = share_shift(live, reference) >= SHARE_SHIFT - 1e-12
    out = {}
    for key, correction, columns in (("fdr", "fdr", features), ("holm", "holm", features), ("one", "none", 1)):
        significant = adjust(pvalues[:, :columns], correction) <= SIGNIFICANCE
        found = np.zeros((windows, columns), dtype=bool)
        for measure, (warning, critical) in DEFAULT_THRESHOLDS.items():
            values = scores[measure].reshape(windows, features)[:, :columns]
            found |= decide(values, warning, critical, significant, shifted[:, :columns]) >= WARNING
        out[key] = found.any(axis=1)
    return out


def main() -> int:
    begun = time.perf_counter()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    rng = np.random.default_rng(20261203)
    bound = int(stats.binom.ppf(0.999, WINDOWS, SIGNIFICANCE))
    rows = []
    combos = [(bins, name) for bins in BINS for name in ("numeric", "zipf", "geometric")]
    for size in SIZES:
        counts = {"fdr": 0, "holm": 0, "one": 0}
        for start in range(0, WINDOWS, BATCH):
            bins, name = combos[(start // BATCH) % len(combos)]
            proportions = shapes(bins)[name]
            live = rng.multinomial(size, proportions, size=(BATCH, FEATURES)).astype(float)
            reference = rng.multinomial(reference_size(size), proportions, size=(BATCH, FEATURES)).astype(float)
            for key, found in alarms(live, reference).items():
                counts[key] += int(found.sum())
        rows.append((size, counts))
        print(size, counts, f"{time.perf_counter() - begun:.0f} s", flush=True)
    load += " → " + " ".join(f"{x:.1f}" for x in os.getloadavg())
    stamp = dt.datetime.now(dt.UTC)
    lines = [
        f"# No-drift calibration, {stamp:%Y-%m-%d %H:%M} UTC",
        "",
        f"Made by `benchmarks/alert_quality/calibration.py` (docstring: the simulation) on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, load average {load}; "
        f"{time.perf_counter() - begun:.0f} s. {WINDOWS:,} windows per live size; a false alarm is a window "
        f"with any feature at warning or worse. Binomial bound at 1 % (0.999 quantile): {bound}.",
        "",
        "| live rows | 20 features, defaults (FDR) | 20 features, Holm | 1 feature |",
        "|---:|---:|---:|---:|",
    ]
    for size, counts in rows:
        cells = [f"{counts[k]} ({counts[k] / WINDOWS:.2%})" for k in ("fdr", "holm", "one")]
        lines.append(f"| {size:,} | " + " | ".join(cells) + " |")
    path = ROOT / "benchmarks" / "results" / f"calibration-{stamp:%Y-%m-%d}.md"
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    worst = max(max(c.values()) for _, c in rows)
    return 0 if worst <= bound else 1


if __name__ == "__main__":
    sys.exit(main())
