#!/usr/bin/env python3
"""The peers' side of the shift benchmark; runs in benchmarks/.venv-peers (never the project's .venv).

    python peers.py export CACHE_DIR           # the real-data cases as Parquet (NannyML's datasets, RAND HIE)
    python peers.py export-small CACHE_DIR     # the frames small_windows.py sub-samples (census, car loans)
    python peers.py judge MANIFEST.json OUT.json [--only nannyml,evidently]
    python peers.py judge-windows MANIFEST.json OUT.json [--evidently-copies K]   # small_windows.py

``export`` writes ``CACHE_DIR/<case>/reference.parquet`` and ``live.parquet`` for each real
case and ``CACHE_DIR/real_cases.json`` describing them. ``judge`` runs NannyML and Evidently
on every case of the manifest (written by run.py) with their default drift methods and
thresholds, and writes one decision per case and feature. See README.md for the settings.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("EVIDENTLY_DISABLE_TELEMETRY", "1")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

SEED = 20261125
LIVE_ROWS = 5_000
CENSUS_FEATURES = [
    "AGEP", "SCHL", "MAR", "RELP", "DIS", "ESP", "CIT", "MIG",
    "MIL", "ANC", "NATIVITY", "DEAR", "DEYE", "DREM", "SEX", "RAC1P",
]  # fmt: skip
CAR_LOAN_FEATURES = [
    "car_value", "salary_range", "debt_to_income_ratio", "loan_length",
    "repaid_loan_on_prev_car", "size_of_downpayment", "driver_tenure",
]  # fmt: skip


def _halves(frame: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    order = np.random.default_rng(seed).permutation(len(frame))
    half = len(frame) // 2
    return frame.iloc[order[:half]], frame.iloc[order[half:]]


def _sample(frame: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    return frame.sample(n=min(rows, len(frame)), random_state=seed)


def _shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Rows in random order: the census rows of a year are stored in clusters (row order
    means place, not time), which would make NannyML's chunks unlike each other."""
    return frame.sample(frac=1.0, random_state=seed)


def _int_codes(frame: pd.DataFrame) -> pd.DataFrame:
    """Census codes as int64, as they arrive from a CSV (NannyML ships them as pandas categories of strings)."""
    out = frame.copy()
    for name in out.columns:
        if isinstance(out[name].dtype, pd.CategoricalDtype):
            out[name] = out[name].astype(str).astype(np.int64)
    return out


def export(cache: Path) -> None:
    import nannyml as nml

    cache.mkdir(parents=True, exist_ok=True)
    census_reference, census_analysis, census_target = nml.load_us_census_ma_employment_data()
    census_analysis = census_analysis.merge(census_target, on="id")
    census_2018 = census_analysis[census_analysis["year"] == 2018]
    loan_reference, loan_analysis, _ = nml.load_synthetic_car_loan_dataset()
    census_ref = _shuffled(census_reference[CENSUS_FEATURES], SEED)
    # NannyML's default chunking of the analysis set (chunk_number=10), rows in stored order.
    census_chunks = np.array_split(np.arange(len(census_analysis)), 10)
    loan_ref = loan_reference[CAR_LOAN_FEATURES]
    not_employed = _sample(census_2018[census_2018["employed"] == 0], LIVE_ROWS, SEED)[CENSUS_FEATURES]
    cases: dict[str, dict[str, Any]] = {
        "census-halves": {
            "what": "ACS census (MA): the 2015 reference split into two random halves",
            "pair": _halves(census_ref, SEED),
            "expected_all": "no drift",
        },
        "census-2015-vs-2018": {
            "what": "ACS census (MA): 2015 (reference) vs all of 2018",
            "pair": (census_ref, _shuffled(census_2018[CENSUS_FEATURES], SEED)),
        },
        "census-chunk-2-of-10": {
            "what": "ACS census (MA): 2015 vs analysis chunk 2 of 10 (2016, rows as stored)",
            "pair": (census_ref, census_analysis[CENSUS_FEATURES].iloc[census_chunks[1]]),
        },
        "census-chunk-7-of-10": {
            "what": "ACS census (MA): 2015 vs analysis chunk 7 of 10 (2017-18, rows as stored)",
            "pair": (census_ref, census_analysis[CENSUS_FEATURES].iloc[census_chunks[6]]),
        },
        "census-not-employed": {
            "what": "ACS census (MA): 2015 vs 5,000 people of 2018 who are not employed",
            "pair": (census_ref, not_employed),
        },
        "census-not-employed-int": {
            "what": "the same, with the codes as int64 columns (as read from a CSV)",
            "pair": (_int_codes(census_ref), _int_codes(not_employed)),
        },
        "census-age-60-plus": {
            "what": "ACS census (MA): 2015 vs 5,000 people of 2018 aged 60 or more",
            "pair": (census_ref, _sample(census_2018[census_2018["AGEP"] >= 60], LIVE_ROWS, SEED)[CENSUS_FEATURES]),
        },
        "car-loan-halves": {
            "what": "NannyML synthetic car loans: the reference split into two random halves",
            "pair": _halves(loan_ref, SEED),
            "expected_all": "no drift",
        },
        "car-loan-first-5000": {
            "what": "car loans: reference vs the first 5,000 analysis rows",
            "pair": (loan_ref, loan_analysis[CAR_LOAN_FEATURES].iloc[:LIVE_ROWS]),
        },
        "car-loan-last-5000": {
            "what": "car loans: reference vs the last 5,000 analysis rows",
            "pair": (loan_ref, loan_analysis[CAR_LOAN_FEATURES].iloc[-LIVE_ROWS:]),
        },
    }
    cases.update(_rand_cases())
    described = {}
    for name, case in cases.items():
        folder = cache / name
        folder.mkdir(exist_ok=True)
        reference, live = case["pair"]
        reference.reset_index(drop=True).to_parquet(folder / "reference.parquet", index=False)
        live.reset_index(drop=True).to_parquet(folder / "live.parquet", index=False)
        described[name] = {
            "what": case["what"],
            "features": list(reference.columns),
            "reference_rows": len(reference),
            "live_rows": len(live),
            "expected_all": case.get("expected_all"),
        }
    (cache / "real_cases.json").write_text(json.dumps(described, indent=1) + "\n")


def _rand_cases() -> dict[str, dict[str, Any]]:
    """The RAND Health Insurance Experiment (statsmodels' ``randhie`` data set, 20,190
    person-years, 10 numeric columns), read from the installed statsmodels at run time (never
    copied into the repository): the first half of the rows as stored is the reference, the
    second half the analysis set cut into NannyML's 10 default chunks, as for the census."""
    from statsmodels.datasets import randhie

    frame = randhie.load_pandas().data.astype(np.float64)
    half = len(frame) // 2
    reference, analysis = frame.iloc[:half], frame.iloc[half:]
    chunks = np.array_split(np.arange(len(analysis)), 10)
    return {
        "rand-halves": {
            "what": "RAND HIE (statsmodels): the first half of the rows split into two random halves",
            "pair": _halves(reference, SEED),
            "expected_all": "no drift",
        },
        "rand-first-vs-second-half": {
            "what": "RAND HIE: the first half of the rows (reference) vs the second half (stored order)",
            "pair": (reference, analysis),
        },
        "rand-chunk-2-of-10": {
            "what": "RAND HIE: the first half vs chunk 2 of 10 of the second half (rows as stored)",
            "pair": (reference, analysis.iloc[chunks[1]]),
        },
        "rand-chunk-7-of-10": {
            "what": "RAND HIE: the first half vs chunk 7 of 10 of the second half (rows as stored)",
            "pair": (reference, analysis.iloc[chunks[6]]),
        },
        "rand-poor-health": {
            "what": "RAND HIE: the first half vs the person-years of the second half in poor health (hlthp = 1)",
            "pair": (reference, analysis[analysis["hlthp"] == 1]),
        },
    }


SMALL_REFERENCE_ROWS = 50_000  # the car-loan reference's size; the census reference is sampled down to it
CHUNKS = 10  # NannyML's default chunker (chunk_number=10), rows in stored order


def export_small(cache: Path) -> None:
    """For the small-window benchmark (small_windows.py): one reference frame of the census
    (2015, 50,000 random rows) and the data-quality car loans (the car-loan data with nulls,
    ``load_synthetic_car_loan_data_quality_dataset``) side by side, and each side's 10 analysis
    chunks whole, as NannyML's default chunker cuts them. small_windows.py sub-samples the chunks."""
    import nannyml as nml

    cache.mkdir(parents=True, exist_ok=True)
    census_reference, census_analysis, _ = nml.load_us_census_ma_employment_data()
    loan_reference, loan_analysis = nml.load_synthetic_car_loan_data_quality_dataset()[:2]
    census_ref = _sample(census_reference[CENSUS_FEATURES], SMALL_REFERENCE_ROWS, SEED)
    loan_ref = loan_reference[CAR_LOAN_FEATURES]
    frames = {"census-reference": census_ref, "loan-reference": loan_ref}
    for name, analysis, features in (("census", census_analysis, CENSUS_FEATURES),
                                     ("loan", loan_analysis, CAR_LOAN_FEATURES)):  # fmt: skip
        for index, rows in enumerate(np.array_split(np.arange(len(analysis)), CHUNKS)):
            frames[f"{name}-chunk-{index + 1}"] = analysis[features].iloc[rows]
    for name, frame in frames.items():
        frame.reset_index(drop=True).to_parquet(cache / f"{name}.parquet", index=False)


# ---------------------------------------------------------------------------
# judging


def nannyml_chunk_size(reference_rows: int, live_rows: int) -> int:
    """The live window as one chunk, unless the reference would then hold fewer than 4
    chunks (too few for NannyML's standard-deviation threshold): then a tenth of the
    smaller side, as NannyML's DefaultChunker (10 chunks) would cut it."""
    return live_rows if reference_rows // live_rows >= 4 else max(1, min(reference_rows, live_rows) // 10)


def nannyml_decisions(reference: pd.DataFrame, live: pd.DataFrame, features: list[str]) -> dict[str, Any]:
    """NannyML's default methods (jensen_shannon for continuous and categorical columns) and
    default thresholds (StandardDeviationThreshold: mean + 3 sd of the reference chunks'
    scores, no lower bound); an alert in any live chunk flags the feature."""
    import nannyml as nml
    from nannyml.chunk import SizeBasedChunker

    chunk_size = nannyml_chunk_size(len(reference), len(live))
    # incomplete="append" (the default is "keep"): a leftover chunk of a few rows would
    # alert on noise and say nothing about the method.
    chunker = SizeBasedChunker(chunk_size=chunk_size, incomplete="append")
    calculator = nml.UnivariateDriftCalculator(column_names=features, chunker=chunker)
    calculator.fit(reference)
    table = calculator.calculate(live).filter(period="analysis").to_df()
    out = {}
    for name in features:
        methods = sorted({column[1] for column in table.columns if column[0] == name})
        alerts, details = [], {}
        for method in methods:
            alert = table[(name, method, "alert")].astype(bool)
            value = table[(name, method, "value")].astype(float)
            upper = table[(name, method, "upper_threshold")].astype(float)
            worst = int(value.to_numpy().argmax())
            details[method] = {
                "value": float(value.iloc[worst]),
                "upper_threshold": None if pd.isna(upper.iloc[worst]) else float(upper.iloc[worst]),
                "alerted_chunks": int(alert.sum()),
            }
            alerts.append(alert)
        alerted = pd.concat(alerts, axis=1).any(axis=1) if alerts else pd.Series(dtype=bool)
        out[name] = {
            "flag": bool(alerted.any()),
            "methods": details,
            "chunk_size": chunk_size,
            "chunks": len(table),
            "alerted_chunks": int(alerted.sum()),
        }
    return out


def evidently_decisions(reference: pd.DataFrame, live: pd.DataFrame, features: list[str]) -> dict[str, Any]:
    """Evidently's DataDriftPreset with every default; per-column drift from its ValueDrift tests."""
    from evidently import Dataset, Report
    from evidently.presets import DataDriftPreset

    snapshot = Report([DataDriftPreset(columns=features)], include_tests=True).run(
        current_data=Dataset.from_pandas(live[features]), reference_data=Dataset.from_pandas(reference[features])
    )
    result = snapshot.dict()
    values = {}
    for metric in result["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            values[config["column"]] = (config["method"], config["threshold"], metric["value"])
    out = {}
    for test in result["tests"]:
        params = test["metric_config"]["params"]
        if test["id"] != "drift" or "column" not in params:
            continue
        column = params["column"]
        method, threshold, value = values.get(column, (params.get("method"), params.get("threshold"), None))
        out[column] = {
            "flag": test["status"] == "FAIL",
            "method": method,
            "threshold": threshold,
            "value": None if value is None else float(value),
        }
    return out


def judge(manifest: Path, output: Path, only: set[str]) -> None:
    cases = json.loads(manifest.read_text())
    results: dict[str, Any] = {}
    for name, case in cases.items():
        reference = pd.read_parquet(case["reference"])
        live = pd.read_parquet(case["live"])
        features = case["features"]
        results[name] = {}
        for peer, function in (("nannyml", nannyml_decisions), ("evidently", evidently_decisions)):
            if peer not in only:
                continue
            begun = time.perf_counter()
            try:
                decisions = function(reference, live, features)
                error = None
            except Exception as exc:  # a peer failing on one case must not stop the others
                decisions, error = {}, f"{type(exc).__name__}: {exc}"
            results[name][peer] = {"decisions": decisions, "error": error, "seconds": time.perf_counter() - begun}
            print(f"{peer:9s} {name:40s} {time.perf_counter() - begun:6.1f} s {error or ''}", file=sys.stderr)
    import evidently
    import nannyml

    output.write_text(
        json.dumps({"versions": {"nannyml": nannyml.__version__, "evidently": evidently.__version__,
                                 "pandas": pd.__version__}, "cases": results}, indent=1) + "\n"
    )  # fmt: skip


def judge_windows(manifest: Path, output: Path, evidently_copies: int, evidently_sizes: set[int]) -> None:
    """The small-window benchmark's windows (small_windows.py): every window of one size is a
    chunk of that size, so NannyML is fitted once per size on the reference (cut into chunks
    of that size, its default threshold) and calculates all windows of the size in one call,
    which gives each window exactly what `nannyml_decisions` would. Evidently judges each
    window with copy < ``evidently_copies`` of the ``evidently_sizes`` (it has no batch mode,
    and its report of 23 columns against 50,000 reference rows takes 10-70 s)."""
    import nannyml as nml
    from nannyml.chunk import SizeBasedChunker

    described = json.loads(manifest.read_text())
    reference = pd.read_parquet(described["reference"])
    features = described["features"]
    results: dict[str, Any] = {}
    for size in sorted({w["size"] for w in described["windows"]}):
        windows = [w for w in described["windows"] if w["size"] == size]
        begun = time.perf_counter()
        calculator = nml.UnivariateDriftCalculator(column_names=features, chunker=SizeBasedChunker(chunk_size=size))
        calculator.fit(reference)
        live = pd.concat([pd.read_parquet(w["live"]) for w in windows], ignore_index=True)
        table = calculator.calculate(live).filter(period="analysis").to_df()
        assert len(table) == len(windows), (len(table), len(windows))
        for row, window in enumerate(windows):
            decisions = {}
            for name in features:
                methods = sorted({column[1] for column in table.columns if column[0] == name})
                alert = any(bool(table[(name, method, "alert")].iloc[row]) for method in methods)
                details = {
                    method: {
                        "value": float(table[(name, method, "value")].iloc[row]),
                        "upper_threshold": _optional(table[(name, method, "upper_threshold")].iloc[row]),
                    }
                    for method in methods
                }
                decisions[name] = {"flag": alert, "methods": details, "chunk_size": size}
            results.setdefault(window["name"], {})["nannyml"] = {"decisions": decisions, "error": None}
        print(f"nannyml   {size:6d} rows, {len(windows)} windows {time.perf_counter() - begun:6.1f} s", file=sys.stderr)
    for window in described["windows"]:
        if window["copy"] >= evidently_copies or window["size"] not in evidently_sizes:
            continue
        begun = time.perf_counter()
        decisions = evidently_decisions(reference, pd.read_parquet(window["live"]), features)
        results[window["name"]]["evidently"] = {"decisions": decisions, "error": None}
        print(f"evidently {window['name']:20s} {time.perf_counter() - begun:6.1f} s", file=sys.stderr)
    import evidently

    output.write_text(
        json.dumps({"versions": {"nannyml": nml.__version__, "evidently": evidently.__version__,
                                 "pandas": pd.__version__}, "cases": results}, indent=1) + "\n"
    )  # fmt: skip


def _optional(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    exporting = sub.add_parser("export")
    exporting.add_argument("cache", type=Path)
    exporting_small = sub.add_parser("export-small")
    exporting_small.add_argument("cache", type=Path)
    judging = sub.add_parser("judge")
    judging.add_argument("manifest", type=Path)
    judging.add_argument("output", type=Path)
    judging.add_argument("--only", default="nannyml,evidently")
    windows = sub.add_parser("judge-windows")
    windows.add_argument("manifest", type=Path)
    windows.add_argument("output", type=Path)
    windows.add_argument("--evidently-copies", type=int, default=1)
    windows.add_argument("--evidently-sizes", default="1000")
    args = parser.parse_args()
    if args.command == "export":
        export(args.cache)
    elif args.command == "export-small":
        export_small(args.cache)
    elif args.command == "judge-windows":
        judge_windows(args.manifest, args.output, args.evidently_copies,
                      {int(size) for size in args.evidently_sizes.split(",")})  # fmt: skip
    else:
        judge(args.manifest, args.output, set(args.only.split(",")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
