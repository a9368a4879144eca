"""Does the estimate follow the realized performance under a shift that hurts and one that does not?

Generated data: labels from P(y=1 | x) = sigmoid(2x), the model's score that probability,
the reference x ~ N(0, 1) (20,000 rows). Three live windows of 5,000 rows, 20 seeds each:

- ``none``: x ~ N(0, 1), no shift;
- ``hurts``: x ~ N(0, 0.25), rows crowd the decision boundary, where the model is unsure;
- ``harmless``: half the rows at x ~ N(2.5, 0.5), a region the model gets right.

For each, the mean realized and estimated metric, the mean absolute error of the estimate,
and how often the band (3 sd of the reference at the live size) holds the realized value.

    .venv/bin/python benchmarks/model/shifts.py --out benchmarks/results/model-shifts-DATE
"""

from __future__ import annotations

import argparse
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from driftmon import estimation, performance

METRICS = ("accuracy", "f1", "roc_auc", "brier")
SEEDS = 20


def _rows(rng: np.random.Generator, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    score = 1 / (1 + np.exp(-2 * x))
    return (rng.random(x.size) < score).astype(float), score


def _live(rng: np.random.Generator, case: str, rows: int = 5_000) -> np.ndarray:
    if case == "none":
        return rng.normal(0, 1, rows)
    if case == "hurts":
        return rng.normal(0, 0.25, rows)
    return np.r_[rng.normal(0, 1, rows // 2), rng.normal(2.5, 0.5, rows - rows // 2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    ref_label, ref_score = _rows(rng, rng.normal(0, 1, 20_000))
    calibration = estimation.calibrate(ref_label[:, None], ref_score[:, None])
    reference = performance.binary(ref_label, ref_score >= 0.5, ref_score)
    spread = estimation.spread(
        lambda chunk: performance.binary(ref_label[chunk], ref_score[chunk] >= 0.5, ref_score[chunk]),
        ref_label.size,
        5_000,
    )
    lines = ["| case | metric | reference | realized (mean) | estimated (mean) | MAE | band holds realized |"]
    lines += ["| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for case in ("none", "hurts", "harmless"):
        found: dict[str, list[tuple[float, float, bool]]] = {metric: [] for metric in METRICS}
        for _ in range(SEEDS):
            label, score = _rows(rng, _live(rng, case))
            realized = performance.binary(label, score >= 0.5, score)
            estimated = estimation.estimate(calibration, score >= 0.5, score, None)
            bands = estimation.band(estimated, spread)
            for metric in METRICS:
                low, high = bands[metric]
                value = realized.values[metric]
                found[metric].append((value, estimated.values[metric], low <= value <= high))
        for metric, rows in found.items():
            real, est, held = (np.array(column) for column in zip(*rows, strict=True))
            lines.append(
                f"| {case} | {metric} | {reference.values[metric]:.4f} | {real.mean():.4f} | {est.mean():.4f} "
                f"| {np.abs(real - est).mean():.4f} | {int(held.sum())}/{SEEDS} |"
            )
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    machine = f"{platform.machine()}, load average {load}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    text = f"# Estimated against realized under shifts that hurt and that do not ({machine})\n\n"
    text += "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
