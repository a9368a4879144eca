"""NannyML's side of the joint-drift comparison (run in the peers' environment, never driftmon's).

For the data sets inside NannyML's wheel (synthetic car loan; the US census employment data
of Massachusetts), writes OUT/<name>/reference.parquet, analysis.parquet (the features) and
nannyml.json: per chunk of CHUNK rows, reference chunks included, the value, thresholds and
alert of NannyML's DataReconstructionDriftCalculator and DomainClassifierCalculator (their
defaults: 65 % of the variance, mean ± 3 sd of the reference chunks; LightGBM, 5 folds,
alert outside 0.45-0.65).

    NML_DISABLE_USAGE_LOGGING=1 /work/venv-peers/bin/python benchmarks/joint/nannyml_side.py OUT
"""

# ruff: noqa: E501  (table rows and a data-set table, kept on one line each)
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML's telemetry: no internet here

import nannyml as nml

CHUNK = 5_000
SETS = {
    "car_loan": (
        "load_synthetic_car_loan_dataset",
        ["car_value", "salary_range", "debt_to_income_ratio", "loan_length", "repaid_loan_on_prev_car",
         "size_of_downpayment", "driver_tenure"],
    ),
    "census_employment_ma": ("load_us_census_ma_employment_data", None),
}  # fmt: skip


def _rows(results, method: str, column: str) -> list[dict]:
    frame = results.filter(period="all").to_df()
    out = []
    for _, row in frame.iterrows():
        out.append(
            {
                "period": row[("chunk", "period")],
                "start": int(row[("chunk", "start_index")]),
                "end": int(row[("chunk", "end_index")]),
                "value": float(row[(column, "value")]),
                "lower": None if row[(column, "lower_threshold")] != row[(column, "lower_threshold")] else float(row[(column, "lower_threshold")]),
                "upper": None if row[(column, "upper_threshold")] != row[(column, "upper_threshold")] else float(row[(column, "upper_threshold")]),
                "alert": bool(row[(column, "alert")]),
            }
        )
    return out


def main(out: Path) -> None:
    for name, (loader, features) in SETS.items():
        loaded = getattr(nml, loader)()
        reference, analysis = loaded[0], loaded[1]
        if features is None:  # the census set: every column but ids, time, target and model outputs
            skip = {"id", "timestamp", "employed", "y_pred", "y_pred_proba", "partition"}
            features = [c for c in reference.columns if c not in skip]
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        reference[features].to_parquet(folder / "reference.parquet")
        analysis[features].to_parquet(folder / "analysis.parquet")
        found: dict = {"features": features, "chunk": CHUNK, "dtypes": {c: str(reference[c].dtype) for c in features}}
        started = time.perf_counter()
        calc = nml.DataReconstructionDriftCalculator(column_names=features, chunk_size=CHUNK).fit(reference)
        found["reconstruction"] = _rows(calc.calculate(analysis), "reconstruction", "reconstruction_error")
        found["reconstruction_s"] = time.perf_counter() - started
        started = time.perf_counter()
        calc = nml.DomainClassifierCalculator(feature_column_names=features, chunk_size=CHUNK).fit(reference)
        found["classifier"] = _rows(calc.calculate(analysis), "classifier", "domain_classifier_auroc")
        found["classifier_s"] = time.perf_counter() - started
        (folder / "nannyml.json").write_text(json.dumps(found, indent=2))
        print(name, len(reference), len(analysis), features, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
