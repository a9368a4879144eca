"""A monitor's model, end to end from real files: realized performance equal to scikit-learn's
on the labelled rows, an estimate that follows it before the labels arrive, severities,
series and the JSON; bad model columns are errors naming the column."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import config
from driftmon.config_schema import Multivariate
from driftmon.evaluate import evaluate
from driftmon.results import MonitorState, Snapshot

metrics = pytest.importorskip("sklearn.metrics")

CONFIG = """
monitors:
  - name: churn
    min_samples: 50
    reference: {{type: file, path: ref.parquet}}
    live: {{type: file, path: live.parquet}}
    features: [x]
    model: {model}
"""
BINARY = "{task: binary, prediction: predicted, score: p, target: churned}"


def _frame(seed: int, rows: int, centre: float, width: float, labelled: float) -> pd.DataFrame:
    """Labels from P(churn | x) = sigmoid(2x); the model's score is that probability."""
    rng = np.random.default_rng(seed)
    x = rng.normal(centre, width, rows)
    p = 1 / (1 + np.exp(-2 * x))
    churned = (rng.random(rows) < p).astype(float)
    churned[rng.random(rows) >= labelled] = np.nan  # labels not arrived yet
    return pd.DataFrame({"x": x, "p": p, "predicted": (p >= 0.5).astype(int), "churned": churned})


def _monitor(tmp_path: Path, write: Callable[[str, str], Path], live: pd.DataFrame, model: str = BINARY) -> config.MonitorConfig:
    _frame(1, 20_000, 0.0, 1.0, 1.0).to_parquet(tmp_path / "ref.parquet")
    live.to_parquet(tmp_path / "live.parquet")
    return config.load(write("driftmon.yaml", CONFIG.format(model=model))).monitors[0]


def test_realized_equals_sklearn_and_the_estimate_follows_it(tmp_path: Path, write) -> None:
    """Live rows crowd the decision boundary (the model gets worse) and 30 % are labelled:
    realized metrics are scikit-learn's on those rows, the estimate (all rows) is within 0.03
    of them, and accuracy falls past the auto critical level (5 sd of the reference)."""
    live = _frame(2, 4_000, 0.0, 0.25, 0.3)
    result = evaluate(_monitor(tmp_path, write, live))
    assert result.error is None, result.error
    model = result.model
    assert model is not None and model.realized is not None and model.estimated is not None
    labelled = live.dropna(subset=["churned"])
    assert model.labelled_rows == len(labelled) and model.live_rows == len(live)
    assert model.realized.values["roc_auc"] == pytest.approx(metrics.roc_auc_score(labelled.churned, labelled.p), abs=1e-12)
    assert model.realized.values["f1"] == pytest.approx(metrics.f1_score(labelled.churned, labelled.predicted), abs=1e-12)
    assert model.realized.values["log_loss"] == pytest.approx(metrics.log_loss(labelled.churned, labelled.p), abs=1e-12)
    for metric in ("accuracy", "roc_auc", "f1"):
        assert abs(model.estimated.values[metric] - model.realized.values[metric]) < 0.03, metric
    assert model.reference.values["accuracy"] - model.estimated.values["accuracy"] > 0.1
    assert model.severity["estimated"]["accuracy"] == "critical"
    warning, critical = model.thresholds["accuracy"]
    assert warning is not None and critical is not None and critical < warning < model.reference.values["accuracy"]
    assert result.status == "critical"
    document = result.to_json()["model"]
    assert document["labelled_rows"] == len(labelled)
    assert document["severity"]["estimated"]["accuracy"] == "critical"
    low, high = model.bands["accuracy"]
    assert low < model.estimated.values["accuracy"] < high


def test_a_shift_where_the_model_is_right_is_estimated_as_no_harm(tmp_path: Path, write) -> None:
    """Half the live rows move far from the decision boundary (covariate shift into a region the
    model gets right), half labelled: x drifts, the estimate rises with the realized performance
    (within 0.03, realized inside the band) and no model metric of either kind is at warning."""
    live = pd.concat([_frame(6, 3_000, 0.0, 1.0, 0.5), _frame(106, 3_000, 2.5, 0.5, 0.5)], ignore_index=True)
    result = evaluate(_monitor(tmp_path, write, live))
    model = result.model
    assert model is not None and model.realized is not None and model.estimated is not None
    for metric in ("accuracy", "roc_auc", "f1", "brier", "log_loss"):
        assert abs(model.estimated.values[metric] - model.realized.values[metric]) < 0.03, metric
        low, high = model.bands[metric]
        assert low <= model.realized.values[metric] <= high, metric
    assert model.estimated.values["accuracy"] > model.reference.values["accuracy"] + 0.05
    assert model.realized.values["accuracy"] > model.reference.values["accuracy"] + 0.05
    assert {kind: set(levels.values()) for kind, levels in model.severity.items()} == {"estimated": {"ok"}, "realized": {"ok"}}
    x = next(f for f in result.features if f.feature == "x")
    assert x.worst == "critical"


def test_no_shift_stays_quiet_and_series_are_exported(tmp_path: Path, write) -> None:
    """Live rows like the reference's: every metric of both kinds ok; the model series carry
    metric and kind, the band its bounds, the label coverage its share."""
    from test_exporter import scrape, values

    live = _frame(3, 4_000, 0.0, 1.0, 0.5)
    result = evaluate(_monitor(tmp_path, write, live))
    model = result.model
    assert model is not None
    assert set(model.severity["estimated"].values()) == {"ok"}, model.severity
    assert set(model.severity["realized"].values()) == {"ok"}, model.severity
    state = MonitorState("churn", latest=result, scored=result)
    families = scrape(Snapshot(1, (state,)))
    performance = values(families["driftmon_model_performance"])
    assert performance[(("kind", "estimated"), ("metric", "roc_auc"), ("monitor", "churn"))] == model.estimated.values["roc_auc"]
    assert performance[(("kind", "realized"), ("metric", "f1"), ("monitor", "churn"))] == model.realized.values["f1"]
    bands = values(families["driftmon_model_performance_band"])
    assert bands[(("bound", "lower"), ("metric", "accuracy"), ("monitor", "churn"))] == model.bands["accuracy"][0]
    coverage = values(families["driftmon_label_coverage_ratio"])
    assert coverage[(("monitor", "churn"),)] == pytest.approx(model.labelled_rows / len(live))
    alerts = values(families["driftmon_model_alert"])
    assert alerts[(("kind", "estimated"), ("metric", "accuracy"), ("monitor", "churn"), ("severity", "warning"))] == 0.0


def test_scores_that_are_not_probabilities_name_the_column(tmp_path: Path, write) -> None:
    """A score of 1.7 or NaN: the evaluation fails with a message naming the column."""
    live = _frame(4, 500, 0.0, 1.0, 0.0)
    live.loc[3, "p"] = 1.7
    result = evaluate(_monitor(tmp_path, write, live))
    assert result.status == "error"
    assert "score column 'p'" in (result.error or "") and "1.7" in (result.error or "")


def test_a_score_column_of_text_names_the_column(tmp_path: Path, write) -> None:
    """A score column holding text (declared a categorical feature, so binning accepts it) is an
    error naming the column, not an internal error; with the schema check on (the default) it
    is its schema anomaly (the reference's scores are numbers) and the model waits."""
    live = _frame(9, 200, 0.0, 1.0, 0.0)
    live["p"] = live["p"].map(lambda v: f"{v:.2f}%")
    _monitor(tmp_path, write, live)  # writes both files
    text = CONFIG.format(model=BINARY).replace("features: [x]", "features: [x, {name: p, kind: categorical}]")
    result = evaluate(config.load(write("t.yaml", text + "    quality: {schema: null}\n")).monitors[0])
    assert result.status == "error"
    assert "score column 'p' holds text" in (result.error or "")
    assert "internal error" not in (result.error or "")
    result = evaluate(config.load(write("s.yaml", text)).monitors[0])
    assert result.ok and result.model is None and result.schema is not None
    assert [(a.anomaly, a.column) for a in result.schema.anomalies] == [("type_changed", "p")]
    assert result.schema.anomalies[0].detail.endswith("not evaluated: the model (its score)")


def test_multiclass_unknown_labels_are_counted_not_joined(tmp_path: Path, write) -> None:
    """Labels of a class the model does not know are counted and left out of the realized metrics."""
    rng = np.random.default_rng(5)

    def frame(rows: int) -> pd.DataFrame:
        scores = rng.dirichlet(np.ones(3), rows)
        labels = np.array([rng.choice(["a", "b", "c"], p=p) for p in scores], dtype=object)
        return pd.DataFrame(
            {"x": rng.normal(size=rows), "pa": scores[:, 0], "pb": scores[:, 1], "pc": scores[:, 2],
             "predicted": np.array(["a", "b", "c"])[scores.argmax(axis=1)], "label": labels}
        )

    reference, live = frame(3_000), frame(600)
    live.loc[:9, "label"] = "z"
    reference.to_parquet(tmp_path / "ref.parquet")
    live.to_parquet(tmp_path / "live.parquet")
    model = "{task: multiclass, prediction: predicted, score: {a: pa, b: pb, c: pc}, target: label}"
    monitor = config.load(write("driftmon.yaml", CONFIG.format(model=model))).monitors[0]
    result = evaluate(dataclasses.replace(monitor))
    assert result.model is not None and result.model.realized is not None
    assert result.model.unknown_labels == 10
    assert result.model.labelled_rows == 590
    kept = live.iloc[10:]
    expected = metrics.f1_score(kept.label, kept.predicted, average="macro", labels=["a", "b", "c"], zero_division=0)
    assert result.model.realized.values["f1_macro"] == pytest.approx(expected, abs=1e-12)
    # the score metrics over the labelled rows only (each class's order of all rows, narrowed)
    scores, labels = kept[["pa", "pb", "pc"]].to_numpy(), list("abc")
    auc = metrics.roc_auc_score(kept.label, scores, multi_class="ovr", average="macro", labels=labels)
    assert result.model.realized.values["roc_auc_macro"] == pytest.approx(auc, abs=1e-12)
    assert result.model.realized.values["log_loss"] == pytest.approx(metrics.log_loss(kept.label, scores), abs=1e-12)
    assert "10 live labels of a class not in score were left out" in result.model.notes


def test_model_config_is_checked(write) -> None:
    """A metric the task has not, or a score that does not fit the task, is a config error naming it."""
    from driftmon.errors import ConfigError

    base = "monitors:\n  - name: m\n    reference: {type: file, path: r.csv}\n    live: {type: file, path: l.csv}\n    features: [x]\n"
    with pytest.raises(ConfigError, match="rmse: not a metric of a binary model"):
        config.load(write("a.yaml", base + "    model: {task: binary, prediction: y, score: p, thresholds: {rmse: {warning: 1}}}\n"))
    with pytest.raises(ConfigError, match="multiclass model's score is a mapping"):
        config.load(write("b.yaml", base + "    model: {task: multiclass, prediction: y, score: p}\n"))
    with pytest.raises(ConfigError, match="reserved|metric"):
        config.load(write("c.yaml", base + "    labels: {metric: x}\n"))


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("{task: binary, prediction: p, score: ''}", "score"),
        ("{task: multiclass, prediction: p, score: {a: pa, b: ''}}", "score"),
        ("{task: binary, prediction: p, score: s, target: ''}", "target"),
        ("{task: binary, prediction: p, score: s, key: ''}", "key"),
        ("{task: binary, prediction: p, score: s, key: [id, '']}", "key"),
        ("{task: binary, prediction: p, score: s, label_time: ''}", "label_time"),
    ],
)
def test_an_empty_model_column_name_is_a_config_error_naming_the_key(write, model: str, key: str) -> None:
    """A model column named '' is a config error at that key. Found by the fuzz campaign:
    `score: ''` passed the model's schema and failed as a feature, an internal error."""
    from driftmon.errors import ConfigError

    base = "monitors:\n  - name: m\n    reference: {type: file, path: r.csv}\n    live: {type: file, path: l.csv}\n    features: [x]\n"
    with pytest.raises(ConfigError) as caught:
        config.load(write("m.yaml", base + f"    model: {model}\n"))
    assert f"model.{key}" in str(caught.value), str(caught.value)
    assert "got ''; it cannot be empty" in str(caught.value), str(caught.value)


def test_check_table_shows_the_model(tmp_path: Path, write) -> None:
    """check's table has a model section: each metric estimated with its band, realized, reference, severity."""
    import io

    from driftmon.table import write as table

    result = evaluate(_monitor(tmp_path, write, _frame(6, 2_000, 0.0, 0.25, 0.3)))
    out = io.StringIO()
    table([result], out)
    text = out.getvalue()
    assert "model (binary, " in text and " of 2,000 live rows labelled" in text
    line = next(line for line in text.splitlines() if line.strip().startswith("accuracy"))
    assert "estimated" in line and "realized" in line and "reference" in line and line.endswith(": critical")


def test_prediction_and_score_are_scored_as_model_outputs(tmp_path: Path, write) -> None:
    """The prediction (categorical) and the score (numeric) are features too, marked as model
    outputs in the result, the JSON and the pages; a shifted score drifts."""
    from driftmon.pages import PageSettings, render, snapshot_of

    result = evaluate(_monitor(tmp_path, write, _frame(7, 3_000, 1.0, 1.0, 0.0)))
    by_name = {f.feature: f for f in result.features}
    assert [f.feature for f in result.features] == ["x", "predicted", "p"]
    assert by_name["x"].role == "input"
    assert by_name["predicted"].role == "model_output" and by_name["predicted"].kind == "categorical"
    assert by_name["p"].role == "model_output" and by_name["p"].kind == "numeric"
    assert by_name["p"].worst == "critical"  # the live scores moved with x
    document = {f["feature"]: f for f in result.to_json()["features"]}
    assert document["p"]["role"] == "model_output" and "role" not in document["x"]
    page = render("/monitors/churn", snapshot_of([result]), PageSettings())[2].decode()
    assert "numeric, model output" in page


def test_results_with_a_model_and_joint_drift_cross_a_process_boundary(tmp_path: Path, write) -> None:
    """The daemon's workers send results back pickled: a result with model and joint-drift
    parts survives the round trip whole (mappingproxy values did not pickle)."""
    import pickle

    monitor = _monitor(tmp_path, write, _frame(8, 1_000, 0.0, 1.0, 0.5))
    result = evaluate(dataclasses.replace(monitor, multivariate=Multivariate(sample=500)))
    assert result.model is not None and result.multivariate is not None
    copy = pickle.loads(pickle.dumps(result))
    assert copy.to_json() == result.to_json()


def test_the_live_file_cache_keeps_the_model_outputs_counts(tmp_path: Path, write) -> None:
    """The daemon's live-file cache counts the prediction and score columns (prediction drift)
    like any feature and keeps the model's columns: a second evaluation over unchanged files
    reads none of them, and the model's result is the same (tests/test_model_file_cache.py)."""
    from driftmon.sources.file_cache import FileCounts

    monitor = _monitor(tmp_path, write, _frame(7, 3_000, 0.2, 1.0, 0.5))
    first = FileCounts({}, settle_s=0.0)
    before = evaluate(monitor, live_files=first)
    assert first.read == 2 and len(first.new) == 2  # the counts, and the model's columns
    (entry,) = [entry for entry in first.new.values() if entry.histograms is not None]
    assert {"x", "predicted", "p"} <= set(entry.histograms or {})
    second = FileCounts(dict(first.new), settle_s=0.0)
    after = evaluate(monitor, live_files=second)
    assert second.read == 0 and second.reused == 2
    assert [f.scores for f in after.features] == [f.scores for f in before.features]
    assert after.model.estimated.values == before.model.estimated.values
    assert after.model.realized.values == before.model.realized.values



def test_the_references_spread_is_measured_once_per_live_size(tmp_path: Path, write, monkeypatch) -> None:
    """A second evaluation at the same live size takes the reference's spread (the band and the
    auto thresholds) from the reference's cache entry: the same bands and thresholds, no chunk
    measured again; a new live size is measured."""
    from driftmon import estimation

    monitor = _monitor(tmp_path, write, _frame(8, 2_000, 0.2, 1.0, 0.5))
    calls: list[int] = []
    measure = estimation.spread

    def counted(realized, rows, size, seed=0):  # type: ignore[no-untyped-def]
        calls.append(size)
        return measure(realized, rows, size, seed)

    monkeypatch.setattr(estimation, "spread", counted)
    first, second = evaluate(monitor), evaluate(monitor)
    assert calls == [2_000]
    assert second.model.bands == first.model.bands and second.model.thresholds == first.model.thresholds
    assert second.model.estimated.values == first.model.estimated.values
    _frame(9, 1_500, 0.2, 1.0, 0.5).to_parquet(tmp_path / "live.parquet")
    evaluate(monitor)
    assert calls == [2_000, 1_500]

def test_a_nan_score_and_multiclass_rows_not_summing_to_one_name_the_columns(tmp_path: Path, write) -> None:
    """End to end: a NaN score, and a multiclass row summing to 1.3, are errors naming the columns."""
    live = _frame(11, 300, 0.0, 1.0, 0.0)
    live.loc[5, "p"] = np.nan
    result = evaluate(_monitor(tmp_path, write, live))
    assert result.status == "error" and "score column 'p'" in (result.error or "") and "nan" in (result.error or "")
    rng = np.random.default_rng(12)
    scores = rng.dirichlet(np.ones(3), 500)
    frame = pd.DataFrame({"x": rng.normal(size=500), "pa": scores[:, 0], "pb": scores[:, 1], "pc": scores[:, 2],
                          "predicted": np.array(["a", "b", "c"])[scores.argmax(axis=1)], "label": "a"})
    frame.to_parquet(tmp_path / "ref.parquet")
    frame.assign(pa=lambda f: f.pa.where(f.index != 7, f.pa + 0.3)).to_parquet(tmp_path / "live.parquet")
    model = "{task: multiclass, prediction: predicted, score: {a: pa, b: pb, c: pc}, target: label}"
    result = evaluate(config.load(write("m.yaml", CONFIG.format(model=model))).monitors[0])
    assert result.status == "error"
    assert "score columns pa, pb, pc" in (result.error or "") and "do not sum to 1" in (result.error or "")


def test_one_class_in_the_labelled_rows_is_a_reason_not_a_nan(tmp_path: Path, write) -> None:
    """Every labelled live row is of one class: realized ROC AUC and average precision have a
    reason instead of a value, the evaluation goes on, and no series carries a NaN."""
    from test_exporter import scrape

    live = _frame(13, 2_000, 0.0, 1.0, 0.3)
    live.loc[live.churned.notna(), "churned"] = 1.0
    result = evaluate(_monitor(tmp_path, write, live))
    assert result.error is None
    realized = result.model.realized
    assert "roc_auc" not in realized.values and realized.undefined["roc_auc"] == "no row of the negative class"
    assert "accuracy" in realized.values
    assert result.to_json()["model"]["realized"]["undefined"]["roc_auc"] == "no row of the negative class"
    families = scrape(Snapshot(1, (MonitorState("churn", latest=result, scored=result),)))
    for family in families.values():
        for sample in family.samples:
            assert sample.value == sample.value, (family.name, sample.labels)
    performance = {tuple(sorted(s.labels.items())) for s in families["driftmon_model_performance"].samples}
    assert (("kind", "realized"), ("metric", "roc_auc"), ("monitor", "churn")) not in performance


CLASS_VALUES = [
    ["a", "b", None, "c", "a", float("nan"), "z", np.str_("b")],  # text, none, another class
    [1.0, "1", 1, None, "a", 2.5, "True"],  # numbers named as text: 1.0 is "1"
    [None, None],
    [],
    ["a", pd.NA, "b"],  # a value that does not compare: the general way
]


@pytest.mark.parametrize("index", range(len(CLASS_VALUES)))
def test_class_codes_compared_in_numpy_equal_one_lookup_per_value(index: int) -> None:
    """Text compared with each class in numpy codes every row as the lookup per distinct value
    does (the text of each value looked up in the classes), -1 for no value or another class."""
    from driftmon.model import _class_codes, _coded_by_value

    values = np.empty(len(CLASS_VALUES[index]), dtype=object)
    values[:] = CLASS_VALUES[index]
    classes = ["a", "b", "c", "1"]

    def named(value: object) -> str | None:
        if value is None or value is pd.NA or value != value:
            return None
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)

    by_hand = [classes.index(named(v)) if named(v) in classes else -1 for v in CLASS_VALUES[index]]
    assert _class_codes(values, classes).tolist() == by_hand
    assert _class_codes(values, classes).tolist() == _coded_by_value(values, classes).tolist()
