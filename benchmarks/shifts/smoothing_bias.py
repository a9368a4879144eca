#!/usr/bin/env python3
"""The bias of each smoothing method on sparse live windows: ``python benchmarks/shifts/smoothing_bias.py``.

With no drift at all, a score should be close to 0; how far above 0 it sits on average is
the floor every threshold has to clear. Part of that floor is sampling noise (a live
window of 50 rows cannot reproduce 50 category shares), part is what smoothing adds. This
script measures both, for each smoothing method driftmon offers, with driftmon's own
``driftmon.divergence.divergences`` (so it measures the installed version):

- **no drift**: a 1,000,000-row reference and live windows of 50, 200, 1,000 and 10,000
  rows, both drawn (multinomial, fixed seed) from one distribution: 10 equal-probability
  bins (what 10 quantile bins of any continuous feature hold) or Zipf (p_k ~ 1/k) over 50
  categories. The mean JS (bits), PSI and TVD over 2,000 draws per cell. ``none`` shows
  the sampling noise alone for JS and TVD (its PSI is +Inf whenever a live bin is empty).
- **exactly proportional**: 200 live rows whose counts are exactly 1/5,000 of a
  1,000,000-row Zipf reference. Nothing drifted and nothing is noise: every measure should
  be exactly 0.

Methods: additive alpha 0.5 and 1, epsilon 1e-6, none, and ``unseen`` alpha 0.5 when the
installed driftmon has it (skipped with a note otherwise). The table goes between the
``smoothing-bias`` markers of benchmarks/shifts/README.md (``--no-write``: print only).
Runs in a few seconds.
"""

# The tables are for people: Greek letters, dashes and multiplication signs are meant.
# ruff: noqa: RUF001

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from driftmon import __version__ as driftmon_version
from driftmon.divergence import Smoothing, divergences

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
BEGIN, END = "<!-- smoothing-bias:begin -->", "<!-- smoothing-bias:end -->"

REFERENCE_ROWS = 1_000_000
LIVE_SIZES = (50, 200, 1_000, 10_000)
DRAWS = 2_000
SEED = 20261125
MEASURES = ("js", "psi", "tvd")


def methods() -> tuple[list[tuple[str, Smoothing]], list[str]]:
    """The smoothing methods to compare, and notes on those the installed driftmon lacks."""
    chosen = [
        ("additive α=0.5", Smoothing(method="additive", alpha=0.5)),
        ("additive α=1", Smoothing(method="additive", alpha=1.0)),
        ("epsilon 1e-6", Smoothing(method="epsilon", epsilon=1e-6)),
        ("none", Smoothing(method="none")),
    ]
    notes = []
    try:
        chosen.insert(0, ("unseen α=0.5", Smoothing(method="unseen", alpha=0.5)))  # type: ignore[arg-type]
    except (ValueError, TypeError) as error:
        notes.append(f"`unseen` skipped: this driftmon ({driftmon_version}) refuses it ({error}).")
    return chosen, notes


def distributions() -> dict[str, np.ndarray]:
    zipf = 1.0 / np.arange(1, 51)
    return {
        "numeric, 10 quantile bins": np.full(10, 0.1),
        "Zipf, 50 categories": zipf / zipf.sum(),
    }


def proportional_zipf(live_rows: int = 200, factor: int = 5_000) -> tuple[np.ndarray, np.ndarray]:
    """Integer Zipf counts summing to ``live_rows`` (largest remainders), and the reference ``factor`` times them."""
    shares = distributions()["Zipf, 50 categories"] * live_rows
    counts = np.floor(shares)
    short = int(live_rows - counts.sum())
    counts[np.argsort(-(shares - counts), kind="stable")[:short]] += 1
    return counts, counts * factor


def mean_or_inf(values: np.ndarray) -> dict[str, float]:
    infinite = np.isinf(values)
    return {
        "mean": float(values.mean()) if not infinite.any() else math.inf,
        "infinite_share": float(infinite.mean()),
    }


def run() -> dict[str, Any]:
    chosen, notes = methods()
    rng = np.random.default_rng(SEED)
    no_drift: list[dict[str, Any]] = []
    for name, probabilities in distributions().items():
        reference = rng.multinomial(REFERENCE_ROWS, probabilities, size=DRAWS).astype(np.float64)
        for rows in LIVE_SIZES:
            live = rng.multinomial(rows, probabilities, size=DRAWS).astype(np.float64)
            for label, smoothing in chosen:
                scores = divergences(live, reference, MEASURES, smoothing)
                no_drift.append(
                    {
                        "distribution": name,
                        "live_rows": rows,
                        "method": label,
                        "scores": {m: mean_or_inf(scores[m]) for m in MEASURES},
                    }
                )
    live, reference = proportional_zipf()
    proportional = []
    for label, smoothing in chosen:
        scores = divergences(live, reference, MEASURES, smoothing)
        proportional.append({"method": label, "scores": {m: float(scores[m]) for m in MEASURES}})
    return {
        "driftmon_version": driftmon_version,
        "reference_rows": REFERENCE_ROWS,
        "draws": DRAWS,
        "seed": SEED,
        "notes": notes,
        "no_drift": no_drift,
        "proportional": proportional,
        "methods": [label for label, _ in chosen],
    }


def fmt(value: float) -> str:
    if math.isinf(value):
        return "+Inf"
    if value == 0:
        return "0"
    return f"{value:.2g}" if value < 1e-3 else f"{value:.4f}"


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"Made by `benchmarks/shifts/smoothing_bias.py` with driftmon {result['driftmon_version']} "
        f"({result['draws']:,} draws per cell, seed {result['seed']}, reference "
        f"{result['reference_rows']:,} rows). Mean score with **no drift** (JS in bits); "
        "`+Inf (x %)`: the share x of draws in which the score was infinite.",
        "",
    ]
    lines += [f"- {note}" for note in result["notes"]]
    if result["notes"]:
        lines.append("")
    methods_ = result["methods"]
    header = "| distribution | live rows | measure | " + " | ".join(methods_) + " |"
    lines += [header, "|---|---:|---|" + "---:|" * len(methods_)]
    cells: dict[tuple[str, int, str], dict[str, dict[str, float]]] = {}
    for row in result["no_drift"]:
        cells.setdefault((row["distribution"], row["live_rows"], row["method"]), row["scores"])
    keys = sorted({(d, n) for d, n, _ in cells}, key=lambda k: (k[0], k[1]))
    for distribution, rows in keys:
        for measure in MEASURES:
            values = []
            for method in methods_:
                score = cells[(distribution, rows, method)][measure]
                if math.isinf(score["mean"]):
                    values.append(f"+Inf ({100 * score['infinite_share']:.0f} %)")
                else:
                    values.append(fmt(score["mean"]))
            lines.append(f"| {distribution} | {rows:,} | {measure} | " + " | ".join(values) + " |")
    lines += [
        "",
        "**Exactly proportional** counts (Zipf over 50 categories, 200 live rows, each reference "
        "count exactly 5,000 times the live one; every measure should be 0):",
        "",
        "| measure | " + " | ".join(methods_) + " |",
        "|---|" + "---:|" * len(methods_),
    ]
    for measure in MEASURES:
        values = [fmt(row["scores"][measure]) for row in result["proportional"]]
        lines.append(f"| {measure} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def replace_between(text: str, begin: str, end: str, body: str) -> str:
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        return f"{head}{begin}\n{body}\n{end}{tail}"
    return f"{text.rstrip()}\n\n{begin}\n{body}\n{end}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--no-write", action="store_true", help="print the table; leave README.md alone")
    parser.add_argument("--json", type=Path, default=HERE / "smoothing_bias.json", help="where the JSON goes")
    parser.add_argument("--readme", type=Path, default=README, help="the README whose table is replaced")
    args = parser.parse_args(argv)
    result = run()
    table = markdown(result)
    print(table)
    if not args.no_write:
        args.json.write_text(json.dumps(result, indent=1, allow_nan=True) + "\n")
        text = args.readme.read_text() if args.readme.exists() else "# Shift benchmark\n"
        args.readme.write_text(replace_between(text, BEGIN, END, table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
