"""NannyML's side of the joint-drift comparison (run in the peers' environment, never driftmon's).

For the data sets inside NannyML's wheel (synthetic car loan; the US census employment data
of Massachusetts), writes OUT/<name>/reference.parquet, analysis.parquet (the features) and
nannyml.json: per chunk of CHUNK rows, reference chunks included, the value, thresholds and
alert of NannyML's DataReconstructionDriftCalculator and DomainClassifierCalculator (their
defaults: 65 % of the variance, mean ± 3 sd of the reference chunks; LightGBM, 5 folds,
alert outside 0.45-0.65).

    NML_DISABLE_USAGE_LOGGING=1 nice -n 10 timeout 480 /work/venv-peers/bin/python benchmarks/joint/nannyml_side.py OUT --analysis-chunks 10

Bounded so it finishes on a shared 2-core machine (its LightGBM ran 36 min at load 20 with
NannyML's defaults): LightGBM on one thread (``n_jobs: 1`` instead of -1, every other
hyperparameter NannyML's default: 100 trees, 31 leaves, 5 folds), and at most
``--analysis-chunks`` analysis chunks, evenly spaced over the analysis set (the census set
has 42); every reference chunk is kept (NannyML scores them all when fitting). Each chunk
still trains on the whole reference, as NannyML does.
"""

# ruff: noqa: E501  (table rows and a data-set table, kept on one line each)
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML's telemetry: no internet here

import nannyml as nml
from nannyml.drift.multivariate.domain_classifier.calculator import DEFAULT_LGBM_HYPERPARAMS

CHUNK = 5_000
HYPERPARAMETERS = {**DEFAULT_LGBM_HYPERPARAMS, "n_jobs": 1}  # NannyML's defaults but one thread
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


def _spaced(analysis, keep: int | None):
    """``keep`` chunks of CHUNK rows evenly spaced over ``analysis`` (all when None or fewer)."""
    count = len(analysis) // CHUNK
    if keep is None or keep >= count:
        return analysis, list(range(count))
    chosen = sorted({round(i * (count - 1) / (keep - 1)) for i in range(keep)})
    import pandas as pd

    parts = [analysis.iloc[i * CHUNK : (i + 1) * CHUNK] for i in chosen]
    return pd.concat(parts, ignore_index=True), chosen


def main(out: Path, analysis_chunks: int | None) -> None:
    for name, (loader, features) in SETS.items():
        loaded = getattr(nml, loader)()
        reference, analysis = loaded[0], loaded[1]
        analysis, chosen = _spaced(analysis.reset_index(drop=True), analysis_chunks)
        if features is None:  # the census set: every column but ids, time, target and model outputs
            # its year differs between reference (2015) and analysis by design: any classifier
            # separates the sides by it alone (AUC 1.0), so it is time, not a feature
            skip = {"id", "timestamp", "employed", "y_pred", "y_pred_proba", "partition", "year", "prediction",
                    "predicted_probability"}  # fmt: skip
            features = [c for c in reference.columns if c not in skip]
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        reference[features].to_parquet(folder / "reference.parquet")
        analysis[features].to_parquet(folder / "analysis.parquet")
        found: dict = {"features": features, "chunk": CHUNK, "dtypes": {c: str(reference[c].dtype) for c in features},
                        "analysis_chunks_of_the_full_set": chosen, "lightgbm": HYPERPARAMETERS}
        started = time.perf_counter()
        calc = nml.DataReconstructionDriftCalculator(column_names=features, chunk_size=CHUNK).fit(reference)
        found["reconstruction"] = _rows(calc.calculate(analysis), "reconstruction", "reconstruction_error")
        found["reconstruction_s"] = time.perf_counter() - started
        started = time.perf_counter()
        calc = nml.DomainClassifierCalculator(feature_column_names=features, chunk_size=CHUNK, hyperparameters=HYPERPARAMETERS).fit(reference)
        found["classifier"] = _rows(calc.calculate(analysis), "classifier", "domain_classifier_auroc")
        found["classifier_s"] = time.perf_counter() - started
        (folder / "nannyml.json").write_text(json.dumps(found, indent=2))
        print(name, len(reference), len(analysis), found["reconstruction_s"], found["classifier_s"], flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--analysis-chunks", type=int, default=None)
    parser.add_argument("--only", default=None, help="one data set (car_loan, census_employment_ma)")
    args = parser.parse_args()
    if args.only:
        SETS = {args.only: SETS[args.only]}
    main(args.out, args.analysis_chunks)
