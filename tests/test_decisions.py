"""driftmon's default decision on shifts a person would, or would not, call drift (issue 10).

Each test writes one feature's reference and live data to Parquet (fixed seeds), evaluates
a one-feature monitor with every setting at its default, and asserts the feature's worst
severity: "flag" means warning or critical, "no flag" means ok. The same cases, with the
peers' decisions beside driftmon's, are the shift benchmark (benchmarks/shifts/run.py).

Categorical shares are exact (a 25 % live share is exactly 25 % of the rows, shuffled),
so a case means what its name says; numeric columns (0/1 flags, codes, amounts, normal
features) are drawn at random with a fixed seed, as real data would be: exact numeric
shares can put a quantile edge between two values by luck and hide the binning defect.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftmon import config
from driftmon.evaluate import FeatureResult, evaluate

REFERENCE_ROWS = 20_000
LIVE_ROWS = 5_000
HUGE = 1_000_000

CONFIG = """\
monitors:
  - name: case
    reference: {type: file, path: reference.parquet}
    live: {type: file, path: live.parquet}
    features: [x]
"""


def judge(tmp_path: Path, reference: pa.Array | np.ndarray, live: pa.Array | np.ndarray) -> FeatureResult:
    """The default decision on feature ``x``: every setting at driftmon's defaults."""
    for name, values in (("reference", reference), ("live", live)):
        pq.write_table(pa.table({"x": values}), tmp_path / f"{name}.parquet")
    (tmp_path / "driftmon.yaml").write_text(CONFIG)
    result = evaluate(config.load(tmp_path / "driftmon.yaml").monitors[0])
    assert result.error is None, result.error
    (feature,) = result.features
    return feature


def exact(shares: dict[object, float], rows: int, seed: int) -> list[object]:
    """``rows`` values holding exactly these shares (largest remainders), shuffled."""
    values = list(shares)
    wanted = np.array([shares[v] * rows for v in values])
    counts = np.floor(wanted).astype(int)
    counts[np.argsort(-(wanted - counts), kind="stable")[: rows - counts.sum()]] += 1
    column = np.repeat(np.arange(len(values)), counts)
    np.random.default_rng(seed).shuffle(column)
    return [values[i] for i in column]


def binary(share_of_ones: float, rows: int, seed: int) -> np.ndarray:
    """An int 0/1 column, each row 1 with this probability (as real flags are: not exact shares)."""
    return (np.random.default_rng(seed).random(rows) < share_of_ones).astype(np.int64)


def normal(rows: int, seed: int, mean: float = 0.0, sd: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, sd, rows)


def flagged(feature: FeatureResult) -> bool:
    assert feature.sufficient, feature
    return feature.worst in ("warning", "critical")


def describe(feature: FeatureResult) -> str:
    return f"severity={feature.worst} scores={dict(feature.scores)} p_adj={feature.pvalue_adjusted}"


# ---------------------------------------------------------------------------
# drift: the defaults must flag these (5,000 live rows against 20,000 reference rows)


def test_binary_feature_50_to_60_percent_is_flagged(tmp_path: Path) -> None:
    """An int 0/1 column whose share of ones goes from 50 % to 60 % is drift."""
    feature = judge(tmp_path, binary(0.5, REFERENCE_ROWS, 1), binary(0.6, LIVE_ROWS, 2))
    assert flagged(feature), describe(feature)


CATEGORIES = {"a": 0.30, "b": 0.25, "c": 0.20, "d": 0.136, "e": 0.114}


def test_category_share_13_6_to_25_percent_is_flagged(tmp_path: Path) -> None:
    """One category's share going from 13.6 % to 25 % (the others shrinking in proportion) is drift."""
    scale = (1 - 0.25) / (1 - CATEGORIES["d"])
    live_shares = {v: (0.25 if v == "d" else s * scale) for v, s in CATEGORIES.items()}
    feature = judge(
        tmp_path, pa.array(exact(CATEGORIES, REFERENCE_ROWS, 3)), pa.array(exact(live_shares, LIVE_ROWS, 4))
    )
    assert flagged(feature), describe(feature)


def test_normal_mean_shift_of_a_quarter_sd_is_flagged(tmp_path: Path) -> None:
    """A normal feature whose mean moves by 0.25 standard deviations is drift."""
    feature = judge(tmp_path, normal(REFERENCE_ROWS, 5), normal(LIVE_ROWS, 6, mean=0.25))
    assert flagged(feature), describe(feature)


def test_new_category_with_5_percent_of_live_rows_is_flagged(tmp_path: Path) -> None:
    """A category the reference never had, taking 5 % of the live rows, is drift."""
    live_shares = {v: s * 0.95 for v, s in CATEGORIES.items()} | {"new": 0.05}
    feature = judge(
        tmp_path, pa.array(exact(CATEGORIES, REFERENCE_ROWS, 7)), pa.array(exact(live_shares, LIVE_ROWS, 8))
    )
    assert flagged(feature), describe(feature)


def test_missing_values_0_to_5_percent_is_flagged(tmp_path: Path) -> None:
    """A numeric feature with no nulls in the reference and 5 % nulls in the live data has drifted."""
    live = normal(LIVE_ROWS, 10)
    live[np.random.default_rng(11).permutation(LIVE_ROWS)[: LIVE_ROWS // 20]] = np.nan
    feature = judge(tmp_path, normal(REFERENCE_ROWS, 9), live)
    assert flagged(feature), describe(feature)


def test_zero_inflated_amount_zero_share_90_to_80_percent_is_flagged(tmp_path: Path) -> None:
    """An amount that is 0 in 90 % of the reference rows and 0 in 80 % of the live rows has drifted."""

    def amount(zero_share: float, rows: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        values = rng.lognormal(4.0, 1.0, rows)
        values[rng.random(rows) < zero_share] = 0.0
        return values

    feature = judge(tmp_path, amount(0.9, REFERENCE_ROWS, 12), amount(0.8, LIVE_ROWS, 13))
    assert flagged(feature), describe(feature)


def test_three_valued_code_with_a_25_point_swap_is_flagged(tmp_path: Path) -> None:
    """A code in {0, 1, 2} whose shares go from 40/35/25 % to 40/10/50 % has drifted."""
    reference = np.random.default_rng(14).choice(3, REFERENCE_ROWS, p=[0.40, 0.35, 0.25])
    live = np.random.default_rng(15).choice(3, LIVE_ROWS, p=[0.40, 0.10, 0.50])
    feature = judge(tmp_path, reference, live)
    assert flagged(feature), describe(feature)


def test_small_live_window_with_a_large_shift_is_flagged(tmp_path: Path) -> None:
    """200 live rows whose mean moved by one standard deviation are enough to call drift."""
    feature = judge(tmp_path, normal(REFERENCE_ROWS, 16), normal(200, 17, mean=1.0))
    assert flagged(feature), describe(feature)


def test_variance_change_is_flagged(tmp_path: Path) -> None:
    """A normal feature whose standard deviation grows by half (same mean) has drifted."""
    feature = judge(tmp_path, normal(REFERENCE_ROWS, 18), normal(LIVE_ROWS, 19, sd=1.5))
    assert flagged(feature), describe(feature)


# ---------------------------------------------------------------------------
# no drift worth an alert: the defaults must not flag these, even on 1,000,000 live rows
# (against 1,000,000 reference rows, so the p-value is tiny and only thresholds protect)


def test_binary_50_to_50_5_percent_on_a_million_rows_is_not_flagged(tmp_path: Path) -> None:
    """Half a point on a 0/1 feature is significant on a million rows but too small to matter."""
    feature = judge(tmp_path, binary(0.5, HUGE, 20), binary(0.505, HUGE, 21))
    assert not flagged(feature), describe(feature)


def test_mean_shift_of_0_02_sd_on_a_million_rows_is_not_flagged(tmp_path: Path) -> None:
    """A 0.02-standard-deviation mean shift is significant on a million rows but too small to matter."""
    feature = judge(tmp_path, normal(HUGE, 22), normal(HUGE, 23, mean=0.02))
    assert not flagged(feature), describe(feature)


@pytest.mark.parametrize(("reference_rows", "live_rows"), [(20_000, 200), (20_000, 5_000), (HUGE, HUGE)])
def test_same_distribution_is_not_flagged(tmp_path: Path, reference_rows: int, live_rows: int) -> None:
    """Live data drawn from the reference's own distribution is not drift, at any size."""
    feature = judge(tmp_path, normal(reference_rows, 24), normal(live_rows, 25))
    assert not flagged(feature), describe(feature)


def test_same_binary_distribution_is_not_flagged(tmp_path: Path) -> None:
    """A 0/1 feature drawn at random from the same 30 % share on both sides is not drift."""
    feature = judge(tmp_path, binary(0.3, REFERENCE_ROWS, 26), binary(0.3, LIVE_ROWS, 27))
    assert not flagged(feature), describe(feature)
