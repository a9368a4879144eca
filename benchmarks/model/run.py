"""Estimated and realized model performance, side by side with NannyML (issue 26).

Step 1, in the peers' environment (NannyML's own code and the data sets inside its wheel):

    benchmarks/.venv-peers/bin/python benchmarks/model/nannyml_side.py /tmp/model-bench

Step 2, in the project's environment (driftmon and scikit-learn, the oracle):

    .venv/bin/python benchmarks/model/run.py /tmp/model-bench --out benchmarks/results/model-DATE

For every chunk of every data set: driftmon's estimate (calibrated on the reference,
computed without the chunk's labels) and its band, NannyML's CBPE estimate and band, the
realized value (driftmon's; checked equal to scikit-learn's), and the mean absolute error
of each estimate against the realized value. Also the cost of one estimate over 1 M rows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from sklearn import metrics as sk

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from driftmon import estimation, performance  # noqa: E402

# NannyML's metric name -> driftmon's (binary, multiclass)
NAMES = {"roc_auc": ("roc_auc", "roc_auc_macro"), "f1": ("f1", "f1_macro"), "accuracy": ("accuracy", "accuracy")}


def _columns(path: Path) -> dict[str, np.ndarray]:
    table = pq.read_table(path)
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


def _sklearn(metric: str, truth: np.ndarray, predicted: np.ndarray, scores: np.ndarray, labels: list) -> float:
    if metric == "roc_auc":
        if scores.ndim == 1:
            return float(sk.roc_auc_score(truth, scores))
        return float(sk.roc_auc_score(truth, scores, multi_class="ovr", average="macro", labels=labels))
    if metric == "f1":
        return float(sk.f1_score(truth, predicted, average="binary" if scores.ndim == 1 else "macro", labels=labels))
    return float(sk.accuracy_score(truth, predicted))


def compare(folder: Path) -> dict:
    peer = json.loads((folder / "nannyml.json").read_text())
    reference, analysis = _columns(folder / "reference.parquet"), _columns(folder / "analysis.parquet")
    multiclass = isinstance(peer["score"], dict)
    if multiclass:
        classes = list(peer["score"])
        index = {name: i for i, name in enumerate(classes)}

        def parts(rows: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            scores = np.column_stack([rows[column] for column in peer["score"].values()]).astype(float)
            truth = np.array([index[v] for v in rows[peer["target"]]])
            predicted = np.array([index[v] for v in rows[peer["prediction"]]])
            return truth, predicted, scores
    else:
        classes = None

        def parts(rows: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            return rows[peer["target"]].astype(int), rows[peer["prediction"]].astype(int), rows[peer["score"]].astype(float)

    ref_truth, ref_pred, ref_scores = parts(reference)
    one_hot = np.eye(len(classes))[ref_truth] if multiclass else ref_truth[:, None].astype(float)
    began = time.perf_counter()
    fitted = estimation.calibrate(one_hot, ref_scores if multiclass else ref_scores[:, None])

    def realized(truth: np.ndarray, predicted: np.ndarray, scores: np.ndarray) -> performance.Performance:
        if multiclass:
            return performance.multiclass(np.eye(len(classes))[truth], predicted, scores, classes)
        return performance.binary(truth.astype(float), predicted.astype(bool), scores)

    spread = estimation.spread(lambda rows: realized(ref_truth[rows], ref_pred[rows], ref_scores[rows]), len(ref_truth), peer["chunk"])
    truth_all, pred_all, scores_all = parts(analysis)
    rows = []
    sklearn_gap = 0.0
    for chunk in peer["chunks"]:
        part = slice(chunk["start"], chunk["end"])
        truth, predicted, scores = truth_all[part], pred_all[part], scores_all[part]
        estimated = estimation.estimate(fitted, predicted if multiclass else predicted.astype(bool), scores, classes)
        band = estimation.band(estimated, spread)
        actual = realized(truth, predicted, scores)
        row = {"start": chunk["start"], "end": chunk["end"]}
        for metric in peer["metrics"]:
            ours = NAMES[metric][1 if multiclass else 0]
            oracle = _sklearn(metric, truth, predicted, scores, list(range(len(classes))) if multiclass else [0, 1])
            sklearn_gap = max(sklearn_gap, abs(oracle - actual.values[ours]))
            row[metric] = {
                "realized": actual.values[ours],
                "driftmon": estimated.values[ours],
                "driftmon_band": band.get(ours),
                "nannyml": chunk[metric]["estimated"],
                "nannyml_band": (chunk[metric]["lower"], chunk[metric]["upper"]),
                "nannyml_realized": chunk[metric]["realized"],
            }
        rows.append(row)
    seconds = time.perf_counter() - began
    summary = {}
    for metric in peer["metrics"]:
        real = np.array([r[metric]["realized"] for r in rows])
        ours = np.array([r[metric]["driftmon"] for r in rows])
        theirs = np.array([r[metric]["nannyml"] for r in rows])
        inside = [b is not None and b[0] <= r[metric]["realized"] <= b[1] for r in rows for b in [r[metric]["driftmon_band"]]]
        inside_peer = [r[metric]["nannyml_band"][0] <= r[metric]["realized"] <= r[metric]["nannyml_band"][1] for r in rows]
        summary[metric] = {
            "driftmon_mae": float(np.mean(np.abs(ours - real))),
            "nannyml_mae": float(np.mean(np.abs(theirs - real))),
            "driftmon_band_covers": int(sum(inside)),
            "nannyml_band_covers": int(sum(inside_peer)),
            "chunks": len(rows),
            "realized_equals_nannyml": float(np.max(np.abs(real - np.array([r[metric]["nannyml_realized"] for r in rows])))),
        }
    return {
        "problem": peer["problem"],
        "reference_rows": peer["reference_rows"],
        "chunk": peer["chunk"],
        "nannyml": peer["nannyml"],
        "nannyml_cbpe_seconds": peer["cbpe_seconds"],
        "driftmon_seconds": seconds,
        "max_gap_to_sklearn": sklearn_gap,
        "summary": summary,
        "chunks": rows,
    }


def cost(rows: int = 1_000_000) -> dict[str, float]:
    """Seconds to calibrate on 100 k reference rows and to estimate and realize over ``rows`` rows."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=rows)
    score = 1 / (1 + np.exp(-2 * x))
    label = (rng.random(rows) < score).astype(float)
    began = time.perf_counter()
    fitted = estimation.calibrate(label[:100_000, None], score[:100_000, None])
    calibrate_s = time.perf_counter() - began
    began = time.perf_counter()
    estimation.estimate(fitted, score >= 0.5, score, None)
    estimate_s = time.perf_counter() - began
    began = time.perf_counter()
    performance.binary(label, score >= 0.5, score)
    realized_s = time.perf_counter() - began
    return {"rows": rows, "calibrate_100k_s": calibrate_s, "estimate_s": estimate_s, "realized_s": realized_s}


def markdown(results: dict, timing: dict, machine: str) -> str:
    lines = [f"# Model performance: driftmon vs NannyML CBPE ({machine})", ""]
    lines += ["| data set | metric | chunks | driftmon MAE vs realized | NannyML MAE | driftmon band covers | NannyML band covers |"]
    lines += ["| --- | --- | --- | --- | --- | --- | --- |"]
    for name, result in results.items():
        for metric, s in result["summary"].items():
            lines.append(
                f"| {name} | {metric} | {s['chunks']} | {s['driftmon_mae']:.4f} | {s['nannyml_mae']:.4f} "
                f"| {s['driftmon_band_covers']}/{s['chunks']} | {s['nannyml_band_covers']}/{s['chunks']} |"
            )
    lines += ["", "Realized values: driftmon's equal scikit-learn's within "
              + ", ".join(f"{n} {r['max_gap_to_sklearn']:.1e}" for n, r in results.items())
              + "; and NannyML's realized within "
              + ", ".join(f"{n} {max(s['realized_equals_nannyml'] for s in r['summary'].values()):.1e}" for n, r in results.items()) + "."]
    lines += ["", f"Cost over {timing['rows']:,} scored rows: estimate {timing['estimate_s']:.3f} s, realized {timing['realized_s']:.3f} s; "
              f"calibration on 100,000 reference rows {timing['calibrate_100k_s']:.3f} s."]
    for name, result in results.items():
        metrics = list(result["summary"])
        lines += ["", f"## {name} ({result['problem']}, chunks of {result['chunk']:,} rows, reference {result['reference_rows']:,} rows)", ""]
        lines += ["| rows | " + " | ".join(f"{m} realized | {m} driftmon | {m} NannyML" for m in metrics) + " |"]
        lines += ["| --- |" + " --- | --- | --- |" * len(metrics)]
        for row in result["chunks"]:
            cells = " | ".join(f"{row[m]['realized']:.4f} | {row[m]['driftmon']:.4f} | {row[m]['nannyml']:.4f}" for m in metrics)
            lines.append(f"| {row['start']:,}-{row['end']:,} | {cells} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="the folder nannyml_side.py wrote")
    parser.add_argument("--out", type=Path, help="write OUT.json and OUT.md")
    args = parser.parse_args()
    results = {folder.name: compare(folder) for folder in sorted(args.data.iterdir()) if (folder / "nannyml.json").exists()}
    timing = cost()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    machine = f"{platform.machine()}, {os.cpu_count()} cores, load average {load}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    text = markdown(results, timing, machine)
    print(text)
    if args.out:
        args.out.with_suffix(".json").write_text(json.dumps({"machine": machine, "cost": timing, "sets": results}, indent=1))
        args.out.with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
