#!/usr/bin/env python3
"""Which rule catches a missing share that moves 5 points at 1,000 rows? (issue 23, the null-share path)

``nice -n 10 .venv/bin/python benchmarks/alert_quality/null_share.py`` writes
benchmarks/results/null-share-<date>.md. Two tables, both computed exactly (no simulation):

1. **Caught.** A 19-feature monitor, 50,000 reference rows (the small-window benchmark's
   reference size) and a 1,000-row live window; one feature's missing share starts at
   1-80 % and moves by exactly 5 points (or 1 point) either way; the other 18 features do
   not move. The rules, each from driftmon's own functions:
   - *drift, missing bin in the focused test* (the default): `drift_test` (omnibus and
     focused test, Bonferroni over the groups and the two), FDR across the 19 features,
     p ≤ 0.01;
   - *drift, missing bin on its own*: the same plus Fisher's exact mid-p of the missing bin
     alone as a third test outside the Bonferroni over the value groups (feature p =
     3 min of the three), FDR across the features;
   - *drift, missing bin alone, generous*: the missing bin's Fisher p times 19 (no other
     test in the feature at all): no rule that corrects across the features can do better;
   - *quality, one-sided* (driftmon 0.2 before this change): the data-quality missing check,
     a rise of ≥ 5 points with the binomial upper tail ≤ 0.01;
   - *quality, two-sided* (now): a move of ≥ 5 points either way with twice the tail on
     the side it moved ≤ 0.01.
2. **False alarms of the missing check** under no drift (the live missing count binomial at
   the reference's share, the reference's 50,000 rows at exactly that share), one feature,
   live sizes 50 to 10⁶: the rate at warning or worse, the binomial sum over every live
   count (exact), one-sided before and two-sided now. It must stay at most the significance.
"""

# The tables are for people: minus signs are meant.
# ruff: noqa: RUF001

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from driftmon.fisher import fisher_two_sided  # noqa: E402
from driftmon.histogram import Histogram, NumericBins  # noqa: E402
from driftmon.quality import Limits, _increase_pvalue, feature_quality  # noqa: E402
from driftmon.significance import adjust, drift_test, focused_test, homogeneity_test  # noqa: E402

FEATURES, REFERENCE, LIVE, SIGNIFICANCE = 19, 50_000, 1_000, 0.01
BASELINES = (0.01, 0.05, 0.10, 0.20, 0.287, 0.40, 0.50, 0.60, 0.80)
CALM = np.array([0.30, 0.25, 0.20, 0.15, 0.10])
SIZES = (50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 100_000, 1_000_000)
LIMITS = {"missing": Limits()}  # the defaults: +-5 pp warning, 20 pp critical


def counts(missing: float, rows: int) -> np.ndarray:
    """A feature of five values and a missing bin (last): exactly ``rows`` rows, the missing share exact."""
    nulls = round(missing * rows)
    values = np.floor(CALM * (rows - nulls))
    values[0] += rows - nulls - values.sum()
    return np.append(values, nulls)


def monitor(baseline: float, moved: float) -> tuple[np.ndarray, np.ndarray]:
    """(features, bins) live and reference counts: feature 0's missing share moves, 18 stay."""
    reference = np.array([counts(baseline, REFERENCE)] * FEATURES)
    live = np.array([counts(baseline, LIVE)] * FEATURES)
    live[0] = counts(baseline + moved, LIVE)
    return live, reference


def drift_rules(live: np.ndarray, reference: np.ndarray) -> dict[str, bool]:
    default = adjust(drift_test(live, reference), "fdr")[0] <= SIGNIFICANCE
    live_total, reference_total = live.sum(axis=1), reference.sum(axis=1)
    own = fisher_two_sided(live[:, -1], live[:, -1] + reference[:, -1], live_total, reference_total)
    omnibus, focused = homogeneity_test(live, reference).pvalue, focused_test(live, reference)
    three = np.minimum(1.0, 3.0 * np.minimum(np.minimum(omnibus, focused), own))
    return {
        "drift, missing bin in the focused test (default)": bool(default),
        "drift, missing bin on its own (3 tests)": bool(adjust(three, "fdr")[0] <= SIGNIFICANCE),
        "drift, missing bin alone, generous (x 19)": bool(min(1.0, own[0] * FEATURES) <= SIGNIFICANCE),
    }


def quality_rules(live: np.ndarray, reference: np.ndarray) -> dict[str, bool]:
    spec = NumericBins((0.0, 1.0))
    rows = [Histogram(spec, np.array([0.0, side[0, :-1].sum(), 0.0]), float(side[0, -1])) for side in (reference, live)]
    two_sided = feature_quality("x", rows[0], rows[1], LIMITS, SIGNIFICANCE).missing
    reference_share, live_share = reference[0, -1] / REFERENCE, live[0, -1] / LIVE
    one_p = _increase_pvalue(live[0, -1], LIVE, reference_share, REFERENCE)
    one_sided = live_share - reference_share >= 0.05 - 1e-12 and one_p <= SIGNIFICANCE
    return {"quality, one-sided (before)": bool(one_sided), "quality, two-sided (now)": two_sided.severity != "ok"}


def caught_table() -> list[str]:
    moves = (-0.05, 0.05, -0.01, 0.01)
    lines = [
        "| rule (moves caught of −5 / +5 points; then −1 / +1 point flagged) | "
        + " | ".join(f"{b * 100:g} %" for b in BASELINES)
        + " |",
        "|---|" + "---:|" * len(BASELINES),
    ]
    results: dict[str, list[str]] = {}
    for baseline in BASELINES:
        cells: dict[str, list[bool]] = {}
        for moved in moves:
            if not 0 <= baseline + moved <= 1:
                continue
            live, reference = monitor(baseline, moved)
            for name, flag in {**drift_rules(live, reference), **quality_rules(live, reference)}.items():
                cells.setdefault(name, []).append(flag)
        for name, flags in cells.items():
            big, small = flags[:2], flags[2:]
            results.setdefault(name, []).append(f"{sum(big)}/2; {sum(small)}/2")
    for name, row in results.items():
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    return lines


def false_alarm_rate(baseline: float, size: int, two_sided: bool) -> float:
    """P(the missing check at warning or worse) when the live count is Binomial(size, baseline)."""
    sd = np.sqrt(size * baseline * (1 - baseline))
    low, high = max(0, int(size * baseline - 12 * sd - 2)), min(size, int(size * baseline + 12 * sd + 2))
    ks = np.arange(low, high + 1)
    probabilities = stats.binom.pmf(ks, size, baseline)
    spec = NumericBins((0.0, 1.0))
    reference_nulls = round(baseline * REFERENCE)
    reference = Histogram(spec, np.array([0.0, REFERENCE - reference_nulls, 0.0]), float(reference_nulls))
    flagged = np.zeros(ks.size, dtype=bool)
    for index, k in enumerate(ks.tolist()):
        live = Histogram(spec, np.array([0.0, size - k, 0.0]), float(k))
        if two_sided:
            flagged[index] = feature_quality("x", reference, live, LIMITS, SIGNIFICANCE).missing.severity != "ok"
        else:
            share = reference_nulls / REFERENCE
            p = _increase_pvalue(float(k), float(size), share, REFERENCE)
            flagged[index] = k / size - share >= 0.05 - 1e-12 and p <= SIGNIFICANCE
    return float(probabilities[flagged].sum())


def false_alarm_table() -> list[str]:
    shares = (0.01, 0.10, 0.287, 0.50)
    lines = [
        "| live rows | " + " | ".join(f"{s * 100:g} %: before | now" for s in shares) + " |",
        "|---:|" + "---:|---:|" * len(shares),
    ]
    worst = 0.0
    for size in SIZES:
        cells = []
        for share in shares:
            before, now = false_alarm_rate(share, size, False), false_alarm_rate(share, size, True)
            worst = max(worst, now)
            cells += [f"{before:.2%}", f"{now:.2%}"]
        lines.append(f"| {size:,} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Worst rate now: {worst:.2%} (significance {SIGNIFICANCE:.0%}).")
    return lines


def main() -> int:
    begun_load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    started = time.process_time()
    caught = caught_table()
    alarms = false_alarm_table()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    ended_load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    today = dt.datetime.now(dt.UTC)
    text = "\n".join(
        [
            "# The null-share path: which rule catches a missing share that moved 5 points? "
            f"({today:%Y-%m-%d %H:%M} UTC)",
            "",
            f"Made by `benchmarks/alert_quality/null_share.py` (docstring: the rules and the set-up) at git "
            f"`{commit.strip()}` on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"load average {begun_load} → {ended_load}; {time.process_time() - started:.1f} s CPU. Exact counts, no "
            "simulation.",
            "",
            f"## Caught: a 19-feature monitor, {REFERENCE:,} reference rows, {LIVE:,} live rows",
            "",
            "Per starting missing share (columns): of the two 5-point moves (down, up), how many reach warning; "
            "then of the two 1-point moves, how many are flagged (should be 0).",
            "",
            *caught,
            "",
            "## False alarms of the missing check, one feature, no drift (exact binomial sums)",
            "",
            "Rate at warning or worse, before (one-sided: rises only) and now (two-sided), by reference missing share.",
            "",
            *alarms,
            "",
        ]
    )
    out = ROOT / "benchmarks" / "results" / f"null-share-{today:%Y-%m-%d}.md"
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
