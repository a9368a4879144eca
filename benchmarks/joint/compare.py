"""driftmon's side of the joint-drift comparison with NannyML (after nannyml_side.py).

    .venv/bin/python benchmarks/joint/compare.py OUT --out benchmarks/results/joint-nannyml-DATE

For every chunk NannyML scored (reference chunks and analysis chunks, CHUNK rows each):
driftmon's reconstruction and classifier against a 5,000-row seeded sample of the whole
reference (the default ``sample``, its rows chosen as a Parquet file source chooses them),
the chunk's rows as live rows, on the same features
(numeric by dtype, the rest categorical); NannyML's value, thresholds and alert beside
driftmon's score, p-value and severity. A chunk agrees when both alert or neither does.
"""

# ruff: noqa: E501  (table rows and a data-set table, kept on one line each)
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from driftmon import multivariate  # noqa: E402
from driftmon.joint import SIGMAS  # noqa: E402
from driftmon.sources.file.parquet_sample import chosen_rows  # noqa: E402

SAMPLE = 5_000
SIGNIFICANCE = 0.05


def _columns(path: Path) -> dict[str, np.ndarray]:
    table = pq.read_table(path)
    return {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}


def _severity(drift: multivariate.JointDrift) -> str:
    if drift.pvalue > SIGNIFICANCE:
        return "ok"
    if drift.score >= drift.expected + SIGMAS[1] * drift.spread:
        return "critical"
    return "warning" if drift.score >= drift.expected + SIGMAS[0] * drift.spread else "ok"


def compare(folder: Path) -> dict:
    peer = json.loads((folder / "nannyml.json").read_text())
    features = peer["features"]
    reference, analysis = _columns(folder / "reference.parquet"), _columns(folder / "analysis.parquet")
    numeric = [c for c in features if reference[c].dtype.kind in "biuf"]
    rows = chosen_rows(len(next(iter(reference.values()))), SAMPLE, 0)  # as a Parquet reference is sampled
    sample = {name: values[rows] for name, values in reference.items()}
    encoder = multivariate.fit_encoder(sample, numeric)
    rows_ref = encoder.transform(sample)
    chunks = []
    timings = {"reconstruction": 0.0, "classifier": 0.0}
    for index, (recon, clf) in enumerate(zip(peer["reconstruction"], peer["classifier"], strict=True)):
        side = reference if recon["period"] == "reference" else analysis
        rows = {c: side[c][recon["start"] : recon["end"] + 1] for c in features}
        rows_live = encoder.transform(rows)
        row = {"chunk": index, "period": recon["period"], "rows": len(rows_live)}
        for method, theirs in (("reconstruction", recon), ("classifier", clf)):
            started = time.perf_counter()
            drift = getattr(multivariate, method)(rows_ref, rows_live, encoder.owners, seed=index)
            timings[method] += time.perf_counter() - started
            row[method] = {
                "nannyml": theirs,
                "driftmon": {
                    "score": drift.score,
                    "expected": drift.expected,
                    "spread": drift.spread,
                    "pvalue": drift.pvalue,
                    "severity": _severity(drift),
                    "top": list(drift.contributions)[:2],
                },
            }
            row[method]["agree"] = theirs["alert"] == (row[method]["driftmon"]["severity"] != "ok")
        chunks.append(row)
    return {"features": features, "numeric": numeric, "chunks": chunks, "driftmon_s": timings,
            "nannyml_s": {"reconstruction": peer["reconstruction_s"], "classifier": peer["classifier_s"]}}  # fmt: skip


def _markdown(results: dict) -> str:
    lines = []
    for name, found in results["sets"].items():
        lines += [f"### {name}", "", f"features: {', '.join(found['features'])} (numeric: {', '.join(found['numeric'])})", ""]
        lines += ["| chunk | period | NannyML recon. error (thresholds) | alert | driftmon recon. error (p) | severity | NannyML AUC | alert | driftmon AUC (p) | severity |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
        for row in found["chunks"]:
            r, c = row["reconstruction"], row["classifier"]
            def mark(part):
                return "" if part["agree"] else " **≠**"
            lines.append(
                f"| {row['chunk']} | {row['period']} | {r['nannyml']['value']:.4f} ({r['nannyml']['lower'] or 0:.3f}-{r['nannyml']['upper'] or 0:.3f}) | "
                f"{r['nannyml']['alert']} | {r['driftmon']['score']:.4f} ({r['driftmon']['pvalue']:.2g}) | {r['driftmon']['severity']}{mark(r)} | "
                f"{c['nannyml']['value']:.4f} | {c['nannyml']['alert']} | {c['driftmon']['score']:.4f} ({c['driftmon']['pvalue']:.2g}) | {c['driftmon']['severity']}{mark(c)} |"
            )
        agree = {m: sum(row[m]["agree"] for row in found["chunks"]) for m in ("reconstruction", "classifier")}
        lines += ["", f"agreement: reconstruction {agree['reconstruction']}/{len(found['chunks'])}, classifier {agree['classifier']}/{len(found['chunks'])}", ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    results = {"sets": {p.name: compare(p) for p in sorted(args.folder.iterdir()) if (p / "nannyml.json").exists()}}
    results["load_average"] = {"before": load, "after": " ".join(f"{v:.2f}" for v in os.getloadavg())}
    Path(args.out + ".json").write_text(json.dumps(results, indent=2) + "\n")
    Path(args.out + ".tables.md").write_text(_markdown(results))
    print(_markdown(results))


if __name__ == "__main__":
    main()
