"""Schema anomalies: the comparison by hand, and whole evaluations of broken files where a
feature's column is gone, renamed, retyped or joined by a new one, while the other features
are still scored and the monitor stays up."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import config, schema
from driftmon.evaluate import MonitorResult, evaluate
from driftmon.exposition import Exposition
from driftmon.results import MonitorState, Snapshot
from driftmon.sources.base import Columns


def _cols(types: dict[str, str | None], **kwargs: object) -> Columns:
    return Columns({name: () if kind is None else (kind,) for name, kind in types.items()}, **kwargs)  # type: ignore[arg-type]


def test_anomalies_by_hand() -> None:
    """A feature's column gone, a new column, integer -> text; integer -> float is no change,
    and a type change of a column that is not a feature is at most a warning."""
    reference = _cols({"age": "int64", "income": "double", "country": "string", "score": "int32", "note": "int64"})
    live = _cols(
        {"income": "float", "country": "string", "score": "large_string", "channel": "string", "note": "string"}
    )
    found = schema.anomalies(reference, live, ["age", "income", "score"])
    assert [(a.anomaly, a.column, a.severity) for a in found] == [
        ("missing_column", "age", "critical"),
        ("new_column", "channel", "ok"),
        ("type_changed", "score", "critical"),
        ("type_changed", "note", "warning"),
    ]
    assert "int32 (numeric)" in found[2].detail and "large_string (text)" in found[2].detail
    assert schema.anomalies(_cols({"x": "BIGINT"}), _cols({"x": "DOUBLE PRECISION"}), ["x"]) == []
    assert schema.anomalies(_cols({"x": "int64"}), _cols({"x": None}), ["x"]) == []  # unknown: not compared
    assert schema.column_class("timestamp[us, tz=UTC]") == "temporal"
    assert schema.column_class("bool") == "boolean"
    assert schema.column_class("decimal128(10, 2)") == "numeric"
    assert schema.column_class("list<element: int64>") == "other"  # nested, whatever its elements
    assert schema.column_class("struct<a: double>") == "other"


def test_incomplete_reference_and_configured_severities() -> None:
    """A reference that lists only its features (a histogram file) sees no new column; the
    severities are the configured ones, and `ignore` keeps the window column out."""
    reference = _cols({"x": None}, complete=False)
    live = _cols({"x": "double", "extra": "string"})
    assert schema.anomalies(reference, live, ["x"]) == []
    found = schema.anomalies(
        _cols({"x": "double"}),
        _cols({"extra": "string", "ts": "timestamp[us]"}),
        ["x"],
        {"missing_column": "warning", "type_changed": "critical", "new_column": "ok"},
        ignore=["ts"],
    )
    assert [(a.anomaly, a.column, a.severity) for a in found] == [
        ("missing_column", "x", "warning"),
        ("new_column", "extra", "ok"),
    ]


def _write(tmp_path: Path, reference: pd.DataFrame, live: pd.DataFrame | list[pd.DataFrame], extra: str = "") -> Path:
    reference.to_parquet(tmp_path / "ref.parquet", index=False)
    parts = live if isinstance(live, list) else [live]
    (tmp_path / "live").mkdir()
    for i, part in enumerate(parts):
        part.to_parquet(tmp_path / "live" / f"part-{i}.parquet", index=False)
    (tmp_path / "c.yaml").write_text(
        textwrap.dedent(
            """\
            monitors:
              - name: m
                reference: {type: file, path: ref.parquet}
                live: {type: file, path: "live/*.parquet"}
                features: [age, income, country, {name: score, kind: numeric}]
            """
        )
        + extra,
        encoding="utf-8",
    )
    return tmp_path / "c.yaml"


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "income": rng.normal(50, 10, n),
            "country": rng.choice(["de", "fr", "it"], n),
            "score": rng.integers(0, 100, n),
        }
    )


def test_renamed_and_retyped_columns_leave_the_other_features_scored(tmp_path: Path) -> None:
    """age renamed to age_years, score written as text: both named anomalies (missing_column,
    new_column, type_changed), neither feature counted, income and country scored as if the
    broken columns were not there (same scores as a monitor of those two alone), status critical."""
    reference, live = _frame(5_000, 1), _frame(2_000, 2)
    broken = live.rename(columns={"age": "age_years"}).assign(score=live["score"].astype(str))
    path = _write(tmp_path, reference, broken)
    result = evaluate(config.load(path).monitors[0])
    assert result.ok and result.status == "critical"
    assert result.schema is not None
    assert [(a.anomaly, a.column) for a in result.schema.anomalies] == [
        ("missing_column", "age"),
        ("new_column", "age_years"),
        ("type_changed", "score"),
    ]
    by_name = {f.feature: f for f in result.features}
    assert not by_name["age"].scores and by_name["age"].reason.startswith("missing_column")
    assert not by_name["score"].scores and by_name["score"].reason.startswith("type_changed")
    assert by_name["age"].quality is None and by_name["age"].worst == "insufficient_data"
    # the healthy features: exactly the scores of a monitor without the broken ones
    alone = tmp_path / "alone"
    alone.mkdir()
    only = _write(alone, reference[["income", "country"]], live[["income", "country"]])
    only.write_text(
        only.read_text().replace(
            "features: [age, income, country, {name: score, kind: numeric}]", "features: [income, country]"
        )
    )
    healthy = {f.feature: f.scores for f in evaluate(config.load(only).monitors[0]).features}
    assert {name: by_name[name].scores for name in ("income", "country")} == healthy
    document = result.to_json()
    anomalies = document["quality"]["schema"]["anomalies"]
    assert anomalies[0] == {
        "anomaly": "missing_column",
        "column": "age",
        "severity": "critical",
        "detail": "the live data has no such column",
    }
    json.dumps(document)  # plain JSON
    assert result.quality_findings()[0] == "schema: missing_column 'age': the live data has no such column (critical)"


def _exposed(result: MonitorResult) -> str:
    state = MonitorState(result.monitor, latest=result, scored=result)
    body, _ = Exposition(lambda: Snapshot(1, (state,))).render(None)
    return body.decode()


def test_schema_series_present_only_while_the_anomaly_holds(tmp_path: Path) -> None:
    """driftmon_schema_anomaly{anomaly, column, severity} is 1 while it holds and gone once the
    column is back; driftmon_quality_alert{check="schema"} follows the worst anomaly."""
    reference, live = _frame(3_000, 3), _frame(1_000, 4)
    path = _write(tmp_path, reference, live.drop(columns=["age"]))
    monitor = config.load(path).monitors[0]
    text = _exposed(evaluate(monitor))
    assert 'driftmon_schema_anomaly{anomaly="missing_column",column="age",monitor="m",severity="critical"} 1.0' in text
    assert 'driftmon_quality_alert{check="schema",monitor="m",severity="critical"} 1.0' in text
    live.to_parquet(tmp_path / "live" / "part-0.parquet", index=False)
    text = _exposed(evaluate(monitor))
    assert "driftmon_schema_anomaly{" not in text
    assert 'driftmon_quality_alert{check="schema",monitor="m",severity="critical"} 0.0' in text


def test_a_column_missing_from_some_files_names_them(tmp_path: Path) -> None:
    """A new file without the column: missing_column says how many files lack it and the first."""
    reference = _frame(3_000, 5)
    live = [_frame(1_000, 6), _frame(1_000, 7).drop(columns=["country"])]
    path = _write(tmp_path, reference, live)
    result = evaluate(config.load(path).monitors[0])
    assert result.ok
    anomaly = result.schema.anomalies[0]
    assert (anomaly.anomaly, anomaly.column) == ("missing_column", "country")
    assert anomaly.detail == f"1 of 2 live files lack the column (first: {tmp_path / 'live' / 'part-1.parquet'})"
    assert {f.feature for f in result.features if f.scores} == {"age", "income", "score"}


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_text_formats_tell_their_columns(tmp_path: Path, suffix: str) -> None:
    """CSV (header and first block) and JSON Lines (first block) give the columns and types."""
    reference, live = _frame(2_000, 8), _frame(1_000, 9)
    broken = live.drop(columns=["income"]).assign(score=np.where(np.arange(1_000) % 2, "n/a", "1"), extra=1.5)

    def save(frame: pd.DataFrame, name: str) -> None:
        if suffix == "csv":
            frame.to_csv(tmp_path / name, index=False)
        else:
            frame.to_json(tmp_path / name, orient="records", lines=True)

    save(reference, f"ref.{suffix}")
    save(broken, f"live.{suffix}")
    (tmp_path / "c.yaml").write_text(
        textwrap.dedent(
            f"""\
            monitors:
              - name: m
                reference: {{type: file, path: ref.{suffix}}}
                live: {{type: file, path: live.{suffix}}}
                features: [age, income, country, {{name: score, kind: numeric}}]
            """
        ),
        encoding="utf-8",
    )
    result = evaluate(config.load(tmp_path / "c.yaml").monitors[0])
    assert result.ok, result.error
    assert [(a.anomaly, a.column) for a in result.schema.anomalies] == [
        ("missing_column", "income"),
        ("new_column", "extra"),
        ("type_changed", "score"),
    ]
    assert {f.feature for f in result.features if f.scores} == {"age", "country"}


def test_schema_null_turns_the_check_off(tmp_path: Path) -> None:
    """`quality: {schema: null}`: no anomalies, and a gone column fails as before."""
    reference, live = _frame(2_000, 10), _frame(1_000, 11)
    path = _write(tmp_path, reference, live.drop(columns=["age"]), "    quality: {schema: null}\n")
    result = evaluate(config.load(path).monitors[0])
    assert result.schema is None
    assert result.status == "error" and "age" in (result.error or "")


def test_an_old_file_outside_the_window_does_not_count(tmp_path: Path) -> None:
    """A feature added last week: the old files in the glob lack its column, but they hold no
    row of the window (Parquet statistics say so), so the feature is no missing_column."""
    now = pd.Timestamp("2026-03-03T12:00:00Z")
    reference = _frame(3_000, 12)
    old, new = _frame(1_000, 13).drop(columns=["score"]), _frame(1_000, 14)
    old["ts"] = now - pd.Timedelta(days=8)
    new["ts"] = now - pd.Timedelta(hours=2)
    path = _write(tmp_path, reference, [old, new])
    text = path.read_text().replace(
        'live: {type: file, path: "live/*.parquet"}',
        'live: {type: file, path: "live/*.parquet", window: {column: ts, last: 1d}}',
    )
    path.write_text(text)
    result = evaluate(config.load(path).monitors[0], clock=lambda: now.timestamp())
    assert result.ok and result.schema is not None and result.schema.anomalies == ()
    assert all(f.scores for f in result.features)


def test_joint_drift_waits_for_a_gone_column_instead_of_failing(tmp_path: Path) -> None:
    """Joint drift over [income, score, age] with age gone: the monitor stays up with the
    anomaly named and no joint result (it failed: column 'age' not found)."""
    reference, live = _frame(3_000, 15), _frame(1_000, 16)
    path = _write(
        tmp_path,
        reference,
        live.drop(columns=["age"]),
        "    multivariate: {methods: [reconstruction], features: [income, score, age], sample: 500}\n",
    )
    result = evaluate(config.load(path).monitors[0])
    assert result.ok, result.error
    assert result.multivariate is None
    assert [(a.anomaly, a.column) for a in result.schema.anomalies] == [("missing_column", "age")]


@pytest.mark.parametrize("gone", ["income", "country"])
def test_with_segments_a_gone_column_is_missing_column_in_the_total_and_every_segment(
    tmp_path: Path, gone: str
) -> None:
    """`segments: {by: [region]}` with a feature's column (numeric or text) gone from the live
    files: the monitor stays up, the anomaly is named, the feature is missing_column (not
    counted, no quality) in the total and in every segment, and the other features are scored
    as the same monitor without it scores them (it failed: column not found)."""
    reference, live = _frame(5_000, 21), _frame(2_000, 22)
    reference["region"] = np.where(reference["country"] == "de", "north", "south")
    live["region"] = np.where(live["country"] == "de", "north", "south")
    path = _write(tmp_path, reference, live.drop(columns=[gone]), "    segments: {by: [region]}\n")
    result = evaluate(config.load(path).monitors[0])
    assert result.ok, result.error
    assert [(a.anomaly, a.column) for a in result.schema.anomalies] == [("missing_column", gone)]
    assert result.quality_findings()[0].startswith(f"schema: missing_column {gone!r}")
    others = {"age", "income", "country", "score"} - {gone}
    by_name = {f.feature: f for f in result.features}
    assert by_name[gone].reason.startswith("missing_column") and not by_name[gone].scores
    assert by_name[gone].quality is None and by_name[gone].worst == "insufficient_data"
    assert all(by_name[name].scores for name in others)
    assert result.segments is not None and {s.segment for s in result.segments.segments} == {"north", "south"}
    for item in result.segments.segments:
        own = {f.feature: f for f in item.result.features}
        assert own[gone].reason.startswith("missing_column") and own[gone].quality is None, item.segment
        assert not own[gone].scores and all(own[name].scores for name in others), item.segment
    # the other features: exactly the scores of the same segmented monitor without the gone one
    alone = tmp_path / "alone"
    alone.mkdir()
    kept = [name for name in ("age", "income", "country", "score") if name != gone]
    only = _write(alone, reference, live.drop(columns=[gone]), "    segments: {by: [region]}\n")
    only.write_text(
        only.read_text().replace(
            "features: [age, income, country, {name: score, kind: numeric}]",
            "features: [" + ", ".join("{name: score, kind: numeric}" if n == "score" else n for n in kept) + "]",
        )
    )
    healthy = evaluate(config.load(only).monitors[0])
    assert {name: by_name[name].scores for name in kept} == {f.feature: f.scores for f in healthy.features}


def _model_frame(n: int, seed: int) -> pd.DataFrame:
    frame = _frame(n, seed)
    rng = np.random.default_rng(seed + 100)
    frame["p"] = rng.random(n)
    frame["predicted"] = (frame["p"] > 0.5).astype(int)
    frame["churned"] = (rng.random(n) < frame["p"]).astype(int)
    frame["region"] = rng.choice(["north", "south"], n)
    return frame


MODEL = "    model: {task: binary, prediction: predicted, score: p, target: churned}\n"
JOINT = "    multivariate: {methods: [reconstruction], features: [income, age, region], sample: 500}\n"


@pytest.mark.parametrize(
    ("extra", "broken", "column", "reader"),
    [
        (MODEL, lambda f: f.drop(columns=["churned"]), "churned", "not evaluated: the model (its target)"),
        (
            MODEL,
            lambda f: f.assign(churned=np.where(f["churned"] == 1, "yes", "no")),
            "churned",
            "not evaluated: the model (its target)",
        ),
        (JOINT, lambda f: f.drop(columns=["region"]), "region", "not evaluated: joint drift"),
        (JOINT, lambda f: f.assign(region=np.arange(len(f))), "region", "not evaluated: joint drift"),
    ],
    ids=["model target gone", "model target retyped", "joint column gone", "joint column retyped"],
)
def test_a_column_read_only_by_the_model_or_joint_drift_is_a_named_anomaly(
    tmp_path: Path, extra: str, broken: object, column: str, reader: str
) -> None:
    """A live column that is no feature but the model (its target) or joint drift (a
    `multivariate:` column) reads: gone or retyped, it is a named schema anomaly at critical
    saying what is not evaluated, in `check`, validate --sources, the series; that part waits (no
    result) while every feature is scored and the monitor stays up (it failed: column not
    found, or counted nonsense)."""
    from driftmon import validate
    from driftmon.pages import PageSettings, report, snapshot_of

    reference, live = _model_frame(4_000, 31), _model_frame(2_000, 32)
    path = _write(tmp_path, reference, broken(live), extra)  # type: ignore[operator]
    monitor = config.load(path).monitors[0]
    result = evaluate(monitor)
    assert result.ok, result.error
    assert result.status == "critical"
    found = [(a.anomaly, a.column, a.severity) for a in result.schema.anomalies if a.column == column]
    kind = "missing_column" if column not in broken(live) else "type_changed"  # type: ignore[operator]
    assert found == [(kind, column, "critical")]
    line = next(line for line in result.quality_findings() if column in line)
    assert line.startswith(f"schema: {kind} {column!r}") and reader in line, line
    assert result.model is None and result.multivariate is None
    assert all(f.scores for f in result.features)
    text = _exposed(result)
    assert f'driftmon_schema_anomaly{{anomaly="{kind}",column="{column}",monitor="m",severity="critical"}} 1.0' in text
    page = report(snapshot_of([result]), PageSettings())
    assert f'<li class="label">schema: {kind} &#39;{column}&#39;: ' in page and reader in page  # listed first
    findings = validate.check(config.load(path), sources=True)
    schema_lines = [f for f in findings if f.side == "schema" and column in f.message]
    assert [f.level for f in schema_lines] == ["critical"] and reader in schema_lines[0].message
    assert all(f.level != "error" for f in findings), findings


def test_a_gone_model_output_stops_the_model_not_joint_drift_over_the_inputs(tmp_path: Path) -> None:
    """The score column gone: a feature (prediction drift) and the model's, so its anomaly
    says the model is not evaluated; joint drift over the input features (its default) does
    not read it and is evaluated (it waited for any feature before)."""
    reference, live = _model_frame(4_000, 33), _model_frame(2_000, 34)
    joint = "    multivariate: {methods: [reconstruction], sample: 500}\n"
    path = _write(tmp_path, reference, live.drop(columns=["p"]), MODEL + joint)
    result = evaluate(config.load(path).monitors[0])
    assert result.ok, result.error
    assert [(a.anomaly, a.column) for a in result.schema.anomalies] == [("missing_column", "p")]
    assert result.schema.anomalies[0].detail.endswith("; not evaluated: the model (its score)")
    assert result.model is None and result.multivariate is not None
    assert result.multivariate.features == ("age", "income", "country", "score")
    by_name = {f.feature: f for f in result.features}
    assert by_name["p"].reason.startswith("missing_column") and all(by_name[n].scores for n in ("age", "predicted"))


def test_batch_mode_exports_the_anomalies_and_shares_of_broken_data(tmp_path: Path) -> None:
    """`check --textfile` (batch mode) on a live file with a renamed column and nulls: the
    textfile holds the schema anomaly, the schema and missing alerts, the missing ratio, the
    live rows and `driftmon_monitor_up 1`, as the daemon exports them; exit 1 (critical)."""
    import subprocess
    import sys

    from prometheus_client.parser import text_string_to_metric_families

    reference, live = _frame(3_000, 41), _frame(1_000, 42)
    live.loc[:299, "income"] = np.nan
    path = _write(tmp_path, reference, live.rename(columns={"age": "age_years"}))
    out = tmp_path / "driftmon.prom"
    done = subprocess.run(
        [sys.executable, "-m", "driftmon", "check", "-c", str(path), "--textfile", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(out.read_text())
        for s in family.samples
    }
    m = ("monitor", "m")
    anomaly = (("anomaly", "missing_column"), ("column", "age"), m, ("severity", "critical"))
    assert samples[("driftmon_schema_anomaly", anomaly)] == 1
    assert samples[("driftmon_quality_alert", (("check", "schema"), m, ("severity", "critical")))] == 1
    missing = (("check", "missing"), ("feature", "income"), m, ("severity", "critical"))
    assert samples[("driftmon_quality_alert", missing)] == 1
    assert samples[("driftmon_missing_ratio", (("feature", "income"), m, ("side", "live")))] == pytest.approx(0.3)
    assert samples[("driftmon_live_rows", (m,))] == 1_000
    assert samples[("driftmon_monitor_up", (m,))] == 1
