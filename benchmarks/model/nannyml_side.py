"""NannyML's side of the model-performance comparison (run in benchmarks/.venv-peers).

For each labelled data set that ships inside NannyML, writes to OUT/<name>/:
reference.parquet and analysis.parquet (the analysis rows joined with their late targets,
the rows both tools see) and nannyml.json: per chunk of CHUNK rows, NannyML's CBPE
estimate with its band and its realized performance, for every metric compared.

    benchmarks/.venv-peers/bin/python benchmarks/model/nannyml_side.py OUT
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML's telemetry: no internet here

import nannyml as nml  # noqa: E402

CHUNK = 5_000

SETS = {
    # name: (loader, problem type, y_pred_proba, y_pred, y_true, metrics)
    "car_loan": ("load_synthetic_car_loan_dataset", "classification_binary", "y_pred_proba", "y_pred", "repaid", ["roc_auc", "f1", "accuracy"]),
    "binary_work_from_home": (
        "load_synthetic_binary_classification_dataset",
        "classification_binary",
        "y_pred_proba",
        "y_pred",
        "work_home_actual",
        ["roc_auc", "f1", "accuracy"],
    ),
    "multiclass_credit_card": (
        "load_synthetic_multiclass_classification_dataset",
        "classification_multiclass",
        {"prepaid_card": "y_pred_proba_prepaid_card", "highstreet_card": "y_pred_proba_highstreet_card", "upmarket_card": "y_pred_proba_upmarket_card"},
        "y_pred",
        "y_true",
        ["roc_auc", "f1", "accuracy"],
    ),
}


def main(out: Path) -> None:
    for name, (loader, problem, proba, pred, truth, metrics) in SETS.items():
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        reference, analysis, targets = getattr(nml, loader)()
        analysis = analysis.merge(targets, on="id") if "id" in targets else analysis.join(targets)
        kwargs = dict(y_pred_proba=proba, y_pred=pred, y_true=truth, problem_type=problem, metrics=metrics, chunk_size=CHUNK)
        began = time.perf_counter()
        estimator = nml.CBPE(**kwargs).fit(reference)
        estimated = estimator.estimate(analysis).filter(period="analysis").to_df()
        cbpe_seconds = time.perf_counter() - began
        realized = nml.PerformanceCalculator(**kwargs).fit(reference).calculate(analysis).filter(period="analysis").to_df()
        chunks = []
        for index in range(len(estimated)):
            entry = {
                "start": int(estimated[("chunk", "start_index")].iloc[index]),
                "end": int(estimated[("chunk", "end_index")].iloc[index]) + 1,
            }
            for metric in metrics:
                entry[metric] = {
                    "estimated": float(estimated[(metric, "value")].iloc[index]),
                    "lower": float(estimated[(metric, "lower_confidence_boundary")].iloc[index]),
                    "upper": float(estimated[(metric, "upper_confidence_boundary")].iloc[index]),
                    "realized": float(realized[(metric, "value")].iloc[index]),
                }
            chunks.append(entry)
        columns = [*(proba.values() if isinstance(proba, dict) else [proba]), pred, truth]
        reference[columns].to_parquet(folder / "reference.parquet")
        analysis[columns].to_parquet(folder / "analysis.parquet")
        document = {
            "nannyml": nml.__version__,
            "problem": problem,
            "score": proba,
            "prediction": pred,
            "target": truth,
            "metrics": metrics,
            "chunk": CHUNK,
            "reference_rows": len(reference),
            "cbpe_seconds": cbpe_seconds,
            "chunks": chunks,
        }
        (folder / "nannyml.json").write_text(json.dumps(document, indent=1))
        print(f"{name}: {len(chunks)} chunks, CBPE {cbpe_seconds:.2f} s", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
