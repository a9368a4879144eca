"""NannyML's side of the data-quality comparison (run in the peers' environment).

On NannyML's data-quality car-loan data set (inside its wheel: injected missing and unseen
values), per chunk of CHUNK analysis rows: NannyML's MissingValuesCalculator,
UnseenValuesCalculator and NumericalRangeCalculator counts (normalize=False) for every
feature. Writes OUT/reference.parquet, OUT/chunk-NN.parquet and OUT/nannyml.json.

    NML_DISABLE_USAGE_LOGGING=1 /work/venv-peers/bin/python benchmarks/quality/nannyml_side.py OUT
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML's telemetry: no internet here

import nannyml as nml
from nannyml.data_quality.missing import MissingValuesCalculator
from nannyml.data_quality.range import NumericalRangeCalculator
from nannyml.data_quality.unseen import UnseenValuesCalculator

CHUNK = 5_000
NUMERIC = ["car_value", "debt_to_income_ratio", "loan_length", "driver_tenure"]
CATEGORICAL = ["salary_range", "size_of_downpayment", "repaid_loan_on_prev_car"]


def _values(result, columns: list[str]) -> list[dict[str, float]]:
    frame = result.filter(period="analysis").to_df()
    return [{name: float(frame[(name, "value")].iloc[i]) for name in columns} for i in range(len(frame))]


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    reference, analysis, _ = nml.load_synthetic_car_loan_data_quality_dataset()
    features = NUMERIC + CATEGORICAL
    missing = MissingValuesCalculator(column_names=features, chunk_size=CHUNK, normalize=False).fit(reference)
    unseen = UnseenValuesCalculator(column_names=CATEGORICAL, chunk_size=CHUNK, normalize=False).fit(reference)
    ranges = NumericalRangeCalculator(column_names=NUMERIC, chunk_size=CHUNK, normalize=False).fit(reference)
    counts = {
        "missing": _values(missing.calculate(analysis), features),
        "unseen": _values(unseen.calculate(analysis), CATEGORICAL),
        "out_of_range": _values(ranges.calculate(analysis), NUMERIC),
    }
    reference[features].to_parquet(out / "reference.parquet", index=False)
    chunks = []
    for index, start in enumerate(range(0, len(analysis), CHUNK)):
        rows = analysis.iloc[start : start + CHUNK]
        rows[features].to_parquet(out / f"chunk-{index:02d}.parquet", index=False)
        chunks.append({"start": start, "end": start + len(rows), **{k: v[index] for k, v in counts.items()}})
    document = {
        "nannyml": nml.__version__,
        "chunk": CHUNK,
        "numeric": NUMERIC,
        "categorical": CATEGORICAL,
        "chunks": chunks,
    }
    (out / "nannyml.json").write_text(json.dumps(document, indent=1))
    print(f"{len(chunks)} chunks written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
