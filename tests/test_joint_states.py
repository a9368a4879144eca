"""Joint drift on bad input: each case is a named state with its reason (JSON, `check`, series),
never an error, a crash or a NaN exported; the reference sample is kept with the reference's
profile, so a re-evaluation does not draw it again."""

from __future__ import annotations

import io
import math
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import config
from driftmon.evaluate import ReferenceCache, evaluate
from driftmon.exposition import Exposition
from driftmon.results import MonitorState, Snapshot
from driftmon.table import write as table


def _monitor(
    folder: Path, reference: pd.DataFrame, live: pd.DataFrame, extra: str = "", features: str = ""
) -> config.MonitorConfig:
    reference.to_parquet(folder / "ref.parquet")
    live.to_parquet(folder / "live.parquet")
    names = features or "[" + ", ".join(reference.columns) + "]"
    (folder / "c.yaml").write_text(
        "monitors:\n  - name: m\n    reference: {type: file, path: ref.parquet}\n    live: {type: file, path: live.parquet}\n"
        f"    features: {names}\n    quality: null\n{extra}"
        "    multivariate: {methods: [reconstruction, classifier], sample: 2000}\n"
    )
    return config.load(folder / "c.yaml").monitors[0]


def _frame(seed: int, rows: int, **columns: object) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows), "c": rng.exponential(size=rows)})
    for name, value in columns.items():
        frame[name] = value
    return frame


def _exported(result) -> list[tuple[str, float]]:
    """Every joint-drift sample of the exposition as (line, value)."""
    body, _ = Exposition(lambda: Snapshot(1, (MonitorState("m", latest=result, scored=result),))).render(None)
    lines = [line for line in body.decode().splitlines() if line.startswith("driftmon_multivariate")]
    return [(line, float(line.rsplit(" ", 1)[1])) for line in lines]


def _check_lines(result) -> str:
    out = io.StringIO()
    table([result], out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("column", "values", "reason"),
    [
        ("constant", 3.5, "constant in the reference sample"),
        ("empty", np.nan, "no values in the reference sample (all missing)"),
        ("tier", "gold", "a single category in the reference sample"),
    ],
)
def test_a_feature_with_nothing_to_vary_is_left_out_with_its_reason(tmp_path: Path, column, values, reason) -> None:
    """A constant, an all-missing or a single-category feature is left out by name and reason;
    the others are still scored, with finite numbers only."""
    monitor = _monitor(tmp_path, _frame(1, 3_000, **{column: values}), _frame(2, 3_000, **{column: values}))
    result = evaluate(monitor)
    assert result.error is None, result.error
    joint = result.multivariate
    assert dict(joint.left_out) == {column: reason}
    assert {m: r.severity for m, r in joint.methods.items()} == {"reconstruction": "ok", "classifier": "ok"}
    assert "constant" not in result.to_json()["multivariate"]["methods"]
    assert result.to_json()["multivariate"]["left_out"] == {column: reason}
    assert f"left out: {column} ({reason})" in _check_lines(result)
    exported = _exported(result)
    assert exported and all(math.isfinite(value) for _, value in exported)
    assert not any(f'feature="{column}"' in line for line, _ in exported)


def test_fewer_than_two_informative_features_is_insufficient_data(tmp_path: Path) -> None:
    """One varying feature and two constant ones: nothing to look at jointly, both methods
    insufficient_data naming what was left out; only alerts (at 0) are exported."""
    monitor = _monitor(tmp_path, _frame(1, 1_000, b=1.0, c=2.0), _frame(2, 1_000, b=1.0, c=2.0))
    result = evaluate(monitor)
    assert result.error is None, result.error
    for item in result.multivariate.methods.values():
        assert item.severity == "insufficient_data" and item.drift is None
        assert item.reason.startswith("joint drift needs at least 2 features that vary in the reference sample")
        assert "b: constant in the reference sample" in item.reason
    assert result.status == "insufficient_data"
    document = result.to_json()["multivariate"]["methods"]["classifier"]
    assert document == {"severity": "insufficient_data", "reason": result.multivariate.methods["classifier"].reason}
    exported = _exported(result)
    assert {line.split("{")[0] for line, _ in exported} == {"driftmon_multivariate_alert"}
    assert all(value == 0.0 for _, value in exported)
    assert re.search(r"classifier +insufficient_data: joint drift needs at least 2", _check_lines(result))


def test_fewer_live_rows_than_min_samples_is_insufficient_data(tmp_path: Path) -> None:
    """40 live rows under min_samples 100: insufficient_data with the counts, not a score from 40 rows."""
    monitor = _monitor(tmp_path, _frame(1, 3_000), _frame(2, 40))
    result = evaluate(monitor)
    assert result.error is None, result.error
    reasons = {item.reason for item in result.multivariate.methods.values()}
    assert reasons == {"the live sample has 40 rows, fewer than min_samples (100)"}


def test_fewer_rows_than_a_method_needs_is_insufficient_data(tmp_path: Path) -> None:
    """With min_samples 0, 12 reference rows: the reconstruction's leave-chunk-out needs 20; the
    classifier scores (finite); 2 live rows are too few for 3 classifier folds."""
    extra = "    min_samples: 0\n"
    result = evaluate(_monitor(tmp_path, _frame(1, 12), _frame(2, 500), extra))
    reconstruction = result.multivariate.methods["reconstruction"]
    assert reconstruction.severity == "insufficient_data"
    assert reconstruction.reason == (
        "reconstruction needs at least 20 reference rows and one live row (the samples have 12 and 500)"
    )
    assert result.multivariate.methods["classifier"].drift is not None
    result = evaluate(_monitor(tmp_path, _frame(1, 500), _frame(2, 2), extra))
    assert result.multivariate.methods["classifier"].reason == (
        "the classifier needs at least 4 rows on each side, 2 to train on and 2 to test (the samples have 500 and 2)"
    )
    assert all(math.isfinite(value) for _, value in _exported(result))


def test_more_features_than_rows(tmp_path: Path) -> None:
    """40 features and 30 reference rows: the reconstruction cannot fit components on fewer rows
    than columns (insufficient_data, saying so); the classifier's AUC is still defined and scored."""
    rng = np.random.default_rng(5)
    reference = pd.DataFrame(rng.normal(size=(30, 40)), columns=[f"f{i}" for i in range(40)])
    live = pd.DataFrame(rng.normal(size=(30, 40)), columns=reference.columns)
    result = evaluate(_monitor(tmp_path, reference, live, "    min_samples: 0\n"))
    assert result.error is None, result.error
    reason = result.multivariate.methods["reconstruction"].reason
    assert reason.startswith("reconstruction needs more reference rows than encoded columns (40 columns, 30 rows)")
    classifier = result.multivariate.methods["classifier"]
    assert classifier.drift is not None and 0.0 <= classifier.drift.score <= 1.0
    assert all(math.isfinite(value) for _, value in _exported(result))


def test_extreme_values_give_finite_scores(tmp_path: Path) -> None:
    """Values near ±1.7e308 (their mean and deviation overflow float64 unless scaled) and ±inf
    in live rows: finite scores and thresholds, nothing NaN exported."""
    reference = _frame(1, 2_000)
    reference["a"] = reference["a"] * 1e307
    live = _frame(2, 2_000)
    live["a"] = live["a"] * 1e307
    live.loc[:5, "b"] = np.inf
    result = evaluate(_monitor(tmp_path, reference, live))
    assert result.error is None, result.error
    assert all(item.drift is not None for item in result.multivariate.methods.values())
    assert all(math.isfinite(value) for _, value in _exported(result))


def test_the_reference_sample_is_kept_with_the_reference_profile(tmp_path: Path) -> None:
    """The first evaluation draws the reference sample once and keeps it in the cache entry
    (which pickles, as it travels to and from workers); the next evaluation draws nothing and
    scores the same; a changed reference draws anew."""
    monitor = _monitor(tmp_path, _frame(1, 3_000), _frame(2, 3_000))
    cache = ReferenceCache()
    first = evaluate(monitor, cache)
    drawn = cache.computed  # the histograms, then the sample
    assert drawn == 2
    entry = pickle.loads(pickle.dumps(cache.entry("m")))
    assert entry.samples and len(next(iter(next(iter(entry.samples.values())).values()))) == 2000
    worker = ReferenceCache()
    worker.put("m", entry)
    second = evaluate(monitor, worker)
    assert worker.computed == 1  # only the put: neither histograms nor sample drawn again
    for method, item in first.multivariate.methods.items():
        assert second.multivariate.methods[method].drift.score == item.drift.score
    _frame(3, 3_000).to_parquet(tmp_path / "ref.parquet")
    evaluate(monitor, cache)
    assert cache.computed == drawn + 2


def test_pages_and_report_show_joint_drift(tmp_path: Path) -> None:
    """The monitor page and `driftmon report` carry a joint-drift section: each method's
    severity and score against its thresholds, or its reason; what was left out."""
    from driftmon.pages import PageSettings, render, report, snapshot_of

    rng = np.random.default_rng(8)
    a = rng.normal(size=4_000)
    reference = pd.DataFrame({"a": a, "b": 0.8 * a + 0.6 * rng.normal(size=4_000), "k": 1.0})
    a = rng.normal(size=4_000)
    live = pd.DataFrame({"a": a, "b": -0.8 * a + 0.6 * rng.normal(size=4_000), "k": 1.0})
    result = evaluate(_monitor(tmp_path, reference, live))
    snapshot = snapshot_of([result])
    _, _, body = render("/monitors/m", snapshot, PageSettings())
    page = body.decode()
    assert "Joint drift" in page and 'id="joint-m"' in page
    for method, item in result.multivariate.methods.items():
        assert f'<th scope="row">{method}</th>' in page
        assert f"{item.drift.score:.4g}" in page and item.severity == "critical"
    assert "k: constant in the reference sample" in page
    whole = report(snapshot, PageSettings())
    assert whole.count('id="joint-m"') == 1 and "moved jointly" in whole


def test_pages_show_why_a_method_could_not_score(tmp_path: Path) -> None:
    """insufficient_data on the page with its reason, no number in its place."""
    from driftmon.pages import PageSettings, render, snapshot_of

    result = evaluate(_monitor(tmp_path, _frame(1, 3_000), _frame(2, 40)))
    _, _, body = render("/monitors/m", snapshot_of([result]), PageSettings())
    assert body.decode().count("the live sample has 40 rows, fewer than min_samples (100)") == 2
