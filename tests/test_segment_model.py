"""The model per segment (driftmon.segment_model): each segment's realized performance is
scikit-learn's on its pandas-filtered labelled rows, its estimate that of an unsegmented
monitor of its rows alone; the series carry the segment label, the total keeps its own."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import config
from driftmon.evaluate import evaluate
from driftmon.results import MonitorState, Snapshot

metrics = pytest.importorskip("sklearn.metrics")

CONFIG = """
monitors:
  - name: churn
    min_samples: 50
    reference: {{type: file, path: {reference}}}
    live: {{type: file, path: {live}}}
    features: [x]
{segments}    model: {{task: binary, prediction: predicted, score: p, target: churned}}
"""
SEGMENTS = "    segments: {by: [country], top: 2}\n"


def _frame(seed: int, rows: int, live: bool) -> pd.DataFrame:
    """P(churn | x) = sigmoid(2x) and the score is that probability, except in FR live, where the
    relation broke (the labels no longer follow the score: the model got worse there only)."""
    rng = np.random.default_rng(seed)
    country = rng.choice(["DE", "FR", "US", "IT", None], rows, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    x = rng.normal(0.0, 1.0, rows)
    p = 1 / (1 + np.exp(-2 * x))
    churned = (rng.random(rows) < p).astype(float)
    if live:
        broken = country == "FR"
        churned[broken] = (rng.random(int(broken.sum())) < 0.5).astype(float)
        churned[rng.random(rows) < 0.4] = np.nan  # labels not arrived yet
    return pd.DataFrame({"country": country, "x": x, "p": p, "predicted": (p >= 0.5).astype(int), "churned": churned})


def _segment(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """A segment's rows with pandas alone: top 2 of the reference are DE and FR."""
    if name == "__missing__":
        return frame[frame.country.isna()]
    if name == "__other__":
        return frame[frame.country.notna() & ~frame.country.isin(["DE", "FR"])]
    return frame[frame.country == name]


def _evaluate(tmp_path: Path, reference: pd.DataFrame, live: pd.DataFrame, segments: str) -> object:
    tmp_path.mkdir(exist_ok=True)
    reference.to_parquet(tmp_path / "ref.parquet")
    live.to_parquet(tmp_path / "live.parquet")
    body = CONFIG.format(reference="ref.parquet", live="live.parquet", segments=segments)
    (tmp_path / "driftmon.yaml").write_text(body)
    return evaluate(config.load(tmp_path / "driftmon.yaml").monitors[0])


def test_each_segment_model_equals_sklearn_and_an_unsegmented_run_on_its_rows(tmp_path: Path) -> None:
    reference, live = _frame(1, 12_000, False), _frame(2, 6_000, True)
    result = _evaluate(tmp_path / "all", reference, live, SEGMENTS)
    assert result.error is None, result.error
    plain = _evaluate(tmp_path / "plain", reference, live, "")
    assert result.model.estimated.values == plain.model.estimated.values  # the total is unchanged
    assert result.model.realized.values == plain.model.realized.values
    segments = {item.segment: item.result for item in result.segments.segments}
    assert set(segments) == {"DE", "FR", "__other__", "__missing__"}
    for name, seen in segments.items():
        model = seen.model
        assert model is not None, name
        rows = _segment(live, name)
        labelled = rows.dropna(subset=["churned"])
        assert (model.live_rows, model.labelled_rows) == (len(rows), len(labelled))
        realized = model.realized.values
        assert realized["accuracy"] == pytest.approx(
            metrics.accuracy_score(labelled.churned, labelled.predicted), abs=1e-12
        )
        assert realized["roc_auc"] == pytest.approx(metrics.roc_auc_score(labelled.churned, labelled.p), abs=1e-12)
        assert realized["log_loss"] == pytest.approx(metrics.log_loss(labelled.churned, labelled.p), abs=1e-12)
        reference_rows = _segment(reference, name)
        assert model.reference.values["accuracy"] == pytest.approx(
            metrics.accuracy_score(reference_rows.churned, reference_rows.predicted), abs=1e-12
        )
        alone = _evaluate(tmp_path / f"alone-{name}", reference_rows, rows, "").model
        assert model.estimated.values == pytest.approx(alone.estimated.values, abs=1e-12), name
        assert model.thresholds == alone.thresholds and model.bands == alone.bands, name
        assert model.severity == alone.severity, name
    # FR alone broke: its realized accuracy fell to about 0.5 and it is ranked first
    assert segments["FR"].model.severity["realized"]["accuracy"] == "critical"
    assert segments["DE"].model.severity["realized"]["accuracy"] == "ok"
    assert result.segments.segments[0].segment == "FR"
    assert segments["FR"].status == "critical"


def test_segment_model_series_json_check_and_pages(tmp_path: Path) -> None:
    from driftmon.collector import families
    from driftmon.pages import PageSettings, render, report, snapshot_of
    from driftmon.table import write as write_table

    result = _evaluate(tmp_path, _frame(1, 12_000, False), _frame(2, 6_000, True), SEGMENTS)
    state = MonitorState(name="churn", scored=result, latest=result)
    samples = [s for family in families(Snapshot(1, (state,))) for s in family.samples]
    performance = [s for s in samples if s.name == "driftmon_model_performance" and s.labels["metric"] == "accuracy"]
    by_segment = {(s.labels.get("segment"), s.labels["kind"]): s.value for s in performance}
    assert set(by_segment) == {
        (seg, kind) for seg in (None, "DE", "FR", "__other__", "__missing__") for kind in ("estimated", "realized")
    }
    assert by_segment[(None, "realized")] == result.model.realized.values["accuracy"]
    fr = next(i.result.model for i in result.segments.segments if i.segment == "FR")
    assert by_segment[("FR", "realized")] == fr.realized.values["accuracy"]
    alerts = [
        s
        for s in samples
        if s.name == "driftmon_model_alert"
        and s.labels.get("segment") == "FR"
        and s.labels["metric"] == "accuracy"
        and s.labels["kind"] == "realized"
    ]
    assert {s.labels["severity"]: s.value for s in alerts} == {"warning": 1.0, "critical": 1.0}
    # the label account is the monitor's, not a segment's
    assert {s.labels.get("segment") for s in samples if s.name == "driftmon_label_join"} == {None}
    document = result.to_json()["segments"]
    assert document["segments"][0]["segment"] == "FR"
    assert document["segments"][0]["model"]["realized"]["values"]["accuracy"] == fr.realized.values["accuracy"]
    out = io.StringIO()
    write_table([result], out)
    text = out.getvalue()
    table = text[text.index("segments by country") :]
    assert "model" in table.splitlines()[1]
    cell = f"accuracy {fr.estimated.values['accuracy']:.4g} est, {fr.realized.values['accuracy']:.4g} real !!"
    assert cell in table
    snapshot = snapshot_of([result])
    _, _, page = render("/monitors/churn", snapshot, PageSettings(), now=result.started_at)
    text = page.decode()
    assert "model (estimated, realized)" in text and cell in text
    assert text.index(">FR</th>") < text.index(">DE</th>")
    assert cell in report(snapshot, PageSettings(), now=result.started_at)


def test_the_series_bound_counts_the_model_metrics(tmp_path: Path) -> None:
    from driftmon.errors import ConfigError

    base = CONFIG.format(
        reference="ref.parquet", live="live.parquet", segments="    segments: {by: [country], top: 100}\n"
    )
    # 10 features + the model's 2 output columns, 102 x 12 = 1,224 pairs; + 8 binary metrics: 2,040
    features = ", ".join(f"f{i}" for i in range(10))
    (tmp_path / "a.yaml").write_text(base.replace("features: [x]", f"features: [{features}]"))
    with pytest.raises(
        ConfigError, match=r"2,040 segment x feature pairs .*12 features \+ 8 model metrics.*use top: 98"
    ):
        config.load(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text(
        base.replace("features: [x]", f"features: [{features}]").replace("    model:", "    #")
    )
    assert config.load(tmp_path / "b.yaml").monitors[0].segments is not None


def test_segment_models_from_sql_equal_the_files(tmp_path: Path) -> None:
    """The same rows from DuckDB queries: each segment's model equals the file path's."""
    pytest.importorskip("duckdb")
    reference, live = _frame(1, 6_000, False), _frame(2, 3_000, True)
    files = _evaluate(tmp_path / "files", reference, live, SEGMENTS)
    folder = tmp_path / "sql"
    folder.mkdir()
    reference.to_parquet(folder / "ref.parquet")
    live.to_parquet(folder / "live.parquet")
    query = "{{type: sql, url: 'duckdb:///:memory:', query: \"SELECT * FROM read_parquet('{}')\"}}"
    body = CONFIG.format(reference="x", live="x", segments=SEGMENTS)
    body = body.replace("{type: file, path: x}", query.format(folder / "ref.parquet"), 1)
    body = body.replace("{type: file, path: x}", query.format(folder / "live.parquet"), 1)
    (folder / "driftmon.yaml").write_text(body)
    sql = evaluate(config.load(folder / "driftmon.yaml").monitors[0])
    assert sql.error is None, sql.error
    expected = {i.segment: i.result.model for i in files.segments.segments}
    found = {i.segment: i.result.model for i in sql.segments.segments}
    assert set(found) == set(expected)
    for name, model in found.items():
        assert model.realized.values == pytest.approx(expected[name].realized.values, abs=1e-12), name
        assert model.estimated.values == pytest.approx(expected[name].estimated.values, abs=1e-12), name
