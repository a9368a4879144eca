"""Cost of driftmon.instrument's observe() per row: 20 features (15 numeric, 5 categorical), batches of 1,000.

    .venv/bin/python benchmarks/instrument/run.py [--batches 200] [--json OUT.json]

Prints the median and p90 cost per row (µs) over the batches for each input form: a dict of
numpy columns, a dict of Python lists, and a list of row dicts (what a JSON API hands a
model server). Also checks that 10,000 distinct unseen categories add no series.
Fixed seeds; the profile is built in memory from generated reference data.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from prometheus_client import CollectorRegistry

from driftmon.histogram import CategoricalBins, numeric_spec
from driftmon.instrument import Instrument

NUMERIC, CATEGORICAL, BATCH = 15, 5, 1000


def specs(rng: np.random.Generator) -> dict[str, object]:
    result: dict[str, object] = {}
    for index in range(NUMERIC):
        reference = np.sort(rng.normal(0, 1, 50_000))
        if index % 5 == 0:  # a zero-inflated feature: a point bin at 0
            reference = np.sort(np.where(rng.random(50_000) < 0.3, 0.0, reference))
        result[f"x{index}"] = numeric_spec(reference, "quantile", 10, f"x{index}")
    for index in range(CATEGORICAL):
        result[f"c{index}"] = CategoricalBins(tuple(f"v{k}" for k in range(30)), frozenset())
    return result


def batch(rng: np.random.Generator) -> dict[str, np.ndarray]:
    columns: dict[str, np.ndarray] = {f"x{i}": rng.normal(0.1, 1, BATCH) for i in range(NUMERIC)}
    for i in range(NUMERIC):
        columns[f"x{i}"][rng.random(BATCH) < 0.01] = np.nan
    for i in range(CATEGORICAL):
        columns[f"c{i}"] = rng.choice([f"v{k}" for k in range(35)], BATCH).astype(object)
    return columns


def measure(instrument: Instrument, batches: list[object]) -> list[float]:
    per_row = []
    for data in batches:
        started = time.perf_counter()
        instrument.observe(data)
        per_row.append((time.perf_counter() - started) / BATCH * 1e6)
    return per_row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    instrument = Instrument(specs(rng), registry=CollectorRegistry())  # type: ignore[arg-type]
    columns = [batch(rng) for _ in range(args.batches)]
    forms = {
        "dict of numpy columns": columns,
        "dict of lists": [{k: v.tolist() for k, v in c.items()} for c in columns],
        "list of row dicts": [
            [dict(zip(c, row, strict=True)) for row in zip(*(v.tolist() for v in c.values()), strict=True)]
            for c in columns
        ],
    }
    measure(instrument, columns[:5])  # warm up
    results = {}
    for name, data in forms.items():
        costs = measure(instrument, data)
        results[name] = {
            "median_us_per_row": statistics.median(costs),
            "p90_us_per_row": float(np.quantile(costs, 0.9)),
        }
        print(
            f"{name:>24}: median {results[name]['median_us_per_row']:.2f} µs/row, "
            f"p90 {results[name]['p90_us_per_row']:.2f} µs/row"
        )

    def series() -> int:
        return sum(s.name.endswith("_total") for s in next(iter(instrument.counter.collect())).samples)

    before = series()
    instrument.observe({"c0": [f"new{k}" for k in range(10_000)]})
    after = series()
    print(f"series before/after 10,000 unseen categories: {before}/{after}")
    results["series"] = {"before": before, "after": after}
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)


if __name__ == "__main__":
    main()
