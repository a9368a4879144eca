"""Write the example data under config/example/data/ (deterministic: fixed seeds).

credit-model: `age` and `device` do not drift; `income` shifts up; `country` gains a
market the reference never saw; `utilisation` gets more nulls and a heavier tail.
fraud-model: nothing drifts.

Run: python config/example/generate.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent / "data"
COUNTRIES = ["US", "DE", "FR", "GB", "ES", "IT", "NL", "PL", "SE", "BR"]
DEVICES = ["ios", "android", "web"]


def credit(rows: int, seed: int, drifted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weights = np.array([30, 15, 12, 10, 8, 7, 6, 5, 4, 3], dtype=float)
    countries = np.array(COUNTRIES, dtype=object)
    if drifted:
        weights[0] -= 8  # a new market ("MX") takes share from the US
        countries = np.array([*COUNTRIES[:-1], "MX"], dtype=object)
    utilisation = rng.beta(2, 5 if not drifted else 3, rows).round(4)
    utilisation[rng.random(rows) < (0.02 if not drifted else 0.12)] = np.nan
    return pd.DataFrame(
        {
            "age": rng.normal(41, 12, rows).clip(18, 90).round().astype(int),
            "income": rng.lognormal(10.4 + (0.35 if drifted else 0.0), 0.6, rows).round(2),
            "country": rng.choice(countries, rows, p=weights / weights.sum()),
            "device": rng.choice(DEVICES, rows, p=[0.45, 0.4, 0.15]),
            "utilisation": utilisation,
        }
    )


def fraud(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "amount": rng.gamma(2.0, 40.0, rows).round(2),
            "merchant_category": rng.choice(["grocery", "travel", "fuel", "online", "other"], rows),
            "hour": rng.integers(0, 24, rows),
        }
    )


def main(out: Path = HERE) -> None:
    (out / "live").mkdir(parents=True, exist_ok=True)
    credit(20_000, 1, drifted=False).to_csv(out / "credit_reference.csv", index=False)
    live = credit(5_000, 2, drifted=True)
    live.iloc[:2_500].to_parquet(out / "live" / "credit_part-0.parquet", index=False)
    live.iloc[2_500:].to_parquet(out / "live" / "credit_part-1.parquet", index=False)
    fraud(20_000, 3).to_csv(out / "fraud_reference.csv", index=False)
    fraud(3_000, 4).to_json(out / "fraud_live.jsonl", orient="records", lines=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
