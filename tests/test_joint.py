"""Joint drift end to end from real files: a flipped correlation that leaves both marginals
in place is found and explained, the series and the JSON carry it; unflipped data is quiet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from driftmon import config
from driftmon.evaluate import evaluate
from driftmon.results import MonitorState, Snapshot

CONFIG = """
monitors:
  - name: pairs
    reference: {type: file, path: ref.parquet}
    live: {type: file, path: live.parquet}
    features: [a, b, tier]
    multivariate: {methods: [reconstruction, classifier], seed: 1}
"""


def _frame(seed: int, rows: int, correlation: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=rows)
    b = correlation * a + np.sqrt(1 - correlation**2) * rng.normal(size=rows)
    return pd.DataFrame({"a": a, "b": b, "tier": rng.choice(["gold", "silver"], rows)})


def _result(tmp_path: Path, write: Callable[[str, str], Path], live_correlation: float):
    _frame(1, 20_000, 0.8).to_parquet(tmp_path / "ref.parquet")
    _frame(2, 5_000, live_correlation).to_parquet(tmp_path / "live.parquet")
    return evaluate(config.load(write("driftmon.yaml", CONFIG)).monitors[0])


def test_flipped_correlation_is_joint_drift_with_both_features_named(tmp_path: Path, write) -> None:
    """corr(a, b) +0.8 -> -0.8: every per-feature drift is ok, both joint methods are critical,
    a and b account for the shift; series and JSON carry the scores."""
    from test_exporter import scrape, values

    result = _result(tmp_path, write, -0.8)
    assert result.error is None, result.error
    assert all(f.worst == "ok" for f in result.features)  # no marginal moved
    joint = result.multivariate
    assert joint is not None and set(joint.methods) == {"reconstruction", "classifier"}
    for method, item in joint.methods.items():
        assert item.severity == "critical", method
        assert item.drift.live_rows == 5000 and item.drift.reference_rows == 5000  # the default sample
        assert set(list(item.drift.contributions)[:2]) == {"a", "b"}, method
    assert result.status == "critical"
    document = result.to_json()["multivariate"]
    assert document["methods"]["classifier"]["severity"] == "critical"
    families = scrape(Snapshot(1, (MonitorState("pairs", latest=result, scored=result),)))
    scores = values(families["driftmon_multivariate_drift"])
    assert scores[(("method", "classifier"), ("monitor", "pairs"))] == joint.methods["classifier"].drift.score
    alerts = values(families["driftmon_multivariate_alert"])
    assert alerts[(("method", "reconstruction"), ("monitor", "pairs"), ("severity", "critical"))] == 1.0
    shares = values(families["driftmon_multivariate_contribution"])
    assert shares[(("feature", "a"), ("method", "classifier"), ("monitor", "pairs"))] > 0.2
    import io

    from driftmon.table import write as table

    out = io.StringIO()
    table([result], out)
    line = next(line for line in out.getvalue().splitlines() if line.strip().startswith("classifier"))
    assert ": critical; moved jointly: " in line and " a " in line and " b " in line


def test_same_joint_distribution_is_quiet(tmp_path: Path, write) -> None:
    """Live rows from the reference's joint distribution: both methods ok."""
    result = _result(tmp_path, write, 0.8)
    assert result.multivariate is not None
    assert {item.severity for item in result.multivariate.methods.values()} == {"ok"}


MIXTURE = """
monitors:
  - name: mixture
    reference: {type: file, path: ref.parquet}
    live: {type: file, path: live.parquet}
    features: [a, b]
    multivariate: {methods: [reconstruction, classifier]}
"""


def _mixture(seed: int, rows: int, diagonal: float) -> pd.DataFrame:
    """Four clusters at (±2, ±2): the diagonal pair (-2,-2), (2,2) with weight ``diagonal``/2
    each, the anti-diagonal pair with the rest. Each marginal is ½ N(-2, 1) + ½ N(2, 1)
    whatever the weights."""
    rng = np.random.default_rng(seed)
    on_diagonal = rng.random(rows) < diagonal
    a_sign = rng.choice([-1.0, 1.0], rows)
    b_sign = np.where(on_diagonal, a_sign, -a_sign)
    return pd.DataFrame({"a": 2 * a_sign + rng.normal(size=rows), "b": 2 * b_sign + rng.normal(size=rows)})


def test_mixture_whose_components_swap_weights_is_joint_drift(tmp_path: Path, write) -> None:
    """Diagonal clusters 80 % -> 20 % at 5,000 live rows: each marginal is the same mixture, so
    every feature is ok, and both methods are critical, naming a and b."""
    _mixture(1, 20_000, 0.8).to_parquet(tmp_path / "ref.parquet")
    _mixture(2, 5_000, 0.2).to_parquet(tmp_path / "live.parquet")
    result = evaluate(config.load(write("driftmon.yaml", MIXTURE)).monitors[0])
    assert result.error is None, result.error
    assert all(f.worst == "ok" for f in result.features), [(f.feature, f.worst) for f in result.features]
    for method, item in result.multivariate.methods.items():
        assert item.severity == "critical", method
        assert item.drift.live_rows == 5_000
        assert set(item.drift.contributions) == {"a", "b"}, method
    _mixture(3, 5_000, 0.8).to_parquet(tmp_path / "live.parquet")
    quiet = evaluate(config.load(write("driftmon.yaml", MIXTURE)).monitors[0])
    assert {item.severity for item in quiet.multivariate.methods.values()} == {"ok"}


def test_a_feature_listed_twice_for_joint_drift_is_a_config_error(write) -> None:
    """`multivariate: {features: [x, x]}` names x at its key. Found by the fuzz campaign: the
    CSV reader was asked for x twice, an internal error (KeyError) of the whole monitor."""
    import pytest

    from driftmon.errors import ConfigError

    text = CONFIG.replace("seed: 1}", "seed: 1, features: [a, b, a]}")
    with pytest.raises(ConfigError) as caught:
        config.load(write("driftmon.yaml", text))
    assert "multivariate" in str(caught.value) and "'a' is listed twice" in str(caught.value), str(caught.value)
