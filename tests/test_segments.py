"""Segments (driftmon.segments): per-segment scores equal the unsegmented path on each
segment's rows, counted in one pass; the total is unchanged; bad input is named."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from driftmon.config import load as load_config
from driftmon.evaluate import evaluate, profile_reference
from driftmon.histogram_file import to_document
from driftmon.significance import adjust
from driftmon.sources import open_source

COUNTRIES = ["DE", "FR", "US", "IT", "ES", "NL", "PL"]


def _frame(rows: int, seed: int, live: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    country = rng.choice([*COUNTRIES, None], rows, p=[0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.05])
    income = rng.lognormal(3.0, 0.6, rows)
    income[rng.random(rows) < 0.03] = np.nan
    if live:
        income[country == "FR"] *= 1.4  # one market moved
    plan = rng.choice(["free", "pro", "team", "edu"] + (["trial"] if live else []), rows)
    plan = np.where(rng.random(rows) < 0.02, None, plan)
    return pd.DataFrame(
        {
            "country": country,
            "device": rng.choice(["mobile", "desktop"], rows),
            "income": income,
            "age": rng.integers(18, 80, rows).astype(float),
            "plan": plan,
        }
    )


def _config(tmp_path: Path, body: str, name: str = "driftmon.yaml") -> Any:
    path = tmp_path / name
    path.write_text(body)
    return load_config(path)


MONITOR = """
monitors:
  - name: m
    reference: {{type: file, path: {reference}}}
    live: {{type: file, path: {live}}}
    correction: {correction}
    features: [income, {{name: age, thresholds: {{js: {{warning: auto, critical: auto}}}}}}, {{name: plan, max_categories: 3}}]
{extra}
"""


def _write(tmp_path: Path, reference: pd.DataFrame, live: pd.DataFrame, suffix: str = "parquet") -> tuple[Path, Path]:
    paths = tmp_path / f"reference.{suffix}", tmp_path / f"live.{suffix}"
    for frame, path in zip((reference, live), paths, strict=True):
        if suffix == "parquet":
            frame.to_parquet(path)
        else:
            frame.to_csv(path, index=False)
    return paths


def _segment_of(frame: pd.DataFrame, by: list[str], values: list[str]) -> pd.Series:
    """Each row's segment, computed with pandas alone (the oracle's side)."""
    missing = frame[by].isna().any(axis=1)
    text = frame[by[0]].astype("string")
    for name in by[1:]:
        text = text + "/" + frame[name].astype("string")
    return pd.Series(np.where(missing, "__missing__", np.where(text.isin(values), text, "__other__")), frame.index)


def _top(frame: pd.DataFrame, by: list[str], top: int) -> list[str]:
    rows = frame.dropna(subset=by)
    text = rows[by[0]].astype(str)
    for name in by[1:]:
        text = text + "/" + rows[name].astype(str)
    counts = text.value_counts()
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [value for value, _ in ordered[:top]]


def _oracle(
    tmp_path: Path,
    monitor: Any,
    reference: pd.DataFrame,
    live: pd.DataFrame,
    segment: str,
    labels: dict[str, pd.Series],
) -> Any:
    """The unsegmented path on one segment's rows: the reference subset counted in the whole
    reference's bins (a histogram file), the live subset as a file."""
    specs = {name: hist.spec for name, hist in profile_reference(monitor).items()}
    directory = tmp_path / f"oracle-{abs(hash(segment))}"
    directory.mkdir()
    reference[labels["reference"] == segment].to_parquet(directory / "reference.parquet")
    live[labels["live"] == segment].to_parquet(directory / "live.parquet")
    counted = open_source(
        monitor.reference.model_copy(update={"path": str(directory / "reference.parquet")}), directory
    ).count(specs)
    (directory / "reference.json").write_text(json.dumps(to_document(counted)))
    config = _config(
        directory,
        MONITOR.format(
            reference="reference.parquet", live="live.parquet", correction=monitor.correction, extra=""
        ).replace("{type: file, path: reference.parquet}", "{type: histogram, path: reference.json}"),
    )
    return evaluate(config.monitors[0])


def _same_feature(got: Any, expected: Any, segment: bool = False) -> None:
    assert got.feature == expected.feature
    assert got.reference_count == expected.reference_count
    assert got.live_count == expected.live_count
    assert got.scores == expected.scores  # exactly
    assert got.pvalue == expected.pvalue
    # A segment simulates no-drift draws only where an auto threshold needs them (docs/segments.md).
    needed = not segment or got.feature == "age"
    assert got.noise_floor == (expected.noise_floor if needed else {})
    assert got.thresholds == expected.thresholds
    if segment:  # a segment carries no per-bin table (docs/segments.md); its counts are compared via the scores
        assert got.bins == ()
    else:
        assert [(b.label, b.reference_count, b.live_count) for b in got.bins] == [
            (b.label, b.reference_count, b.live_count) for b in expected.bins
        ]


@pytest.mark.parametrize(("by", "suffix"), [(["country"], "parquet"), (["country", "device"], "csv")])
def test_each_segment_equals_the_unsegmented_path_on_its_rows(tmp_path: Path, by: list[str], suffix: str) -> None:
    """Per-segment scores, p-values, noise floors and bins equal an evaluation of that
    segment's rows alone (filtered with pandas) in the same bins; with no correction, the
    severities too."""
    reference, live = _frame(6000, 1, False), _frame(3000, 2, True)
    paths = _write(tmp_path, reference, live, suffix)
    extra = f"    segments: {{by: {json.dumps(by)}, top: 4}}"
    config = _config(
        tmp_path, MONITOR.format(reference=paths[0].name, live=paths[1].name, correction="none", extra=extra)
    )
    monitor = config.monitors[0]
    result = evaluate(monitor)
    assert result.error is None, result.error
    assert result.segments is not None
    values = _top(reference, by, 4)
    labels = {"reference": _segment_of(reference, by, values), "live": _segment_of(live, by, values)}
    expected_labels = {*values, "__other__", "__missing__"}
    assert {s.segment for s in result.segments.segments} == expected_labels
    unsegmented = monitor.__class__(**{**{f: getattr(monitor, f) for f in monitor.__slots__}, "segments": None})
    for item in result.segments.segments:
        oracle = _oracle(tmp_path, unsegmented, reference, live, item.segment, labels)
        assert oracle.error is None, oracle.error
        for got, expected in zip(item.result.features, oracle.features, strict=True):
            _same_feature(got, expected, segment=True)
            assert got.severity == expected.severity
            assert got.pvalue_adjusted == expected.pvalue_adjusted
        assert item.result.live_rows == float((labels["live"] == item.segment).sum())


def test_the_correction_spans_segments_and_features(tmp_path: Path) -> None:
    """Holm's adjusted p-values of the segments are those of every segment x feature test at once."""
    reference, live = _frame(6000, 3, False), _frame(3000, 4, True)
    paths = _write(tmp_path, reference, live)
    extra = "    segments: {by: [country], top: 3}"
    monitor = _config(
        tmp_path, MONITOR.format(reference=paths[0].name, live=paths[1].name, correction="holm", extra=extra)
    ).monitors[0]
    result = evaluate(monitor)
    assert result.segments is not None
    pairs = [f for s in result.segments.segments for f in s.result.features]
    raw = np.array([math.nan if f.pvalue is None else f.pvalue for f in pairs])
    assert result.segments.tested == int((~np.isnan(raw)).sum()) > len(monitor.features)
    # Holm by hand: sorted p-values times (m - rank + 1), running maximum, capped at 1.
    order = np.argsort(raw)
    m = int((~np.isnan(raw)).sum())
    scaled = np.maximum.accumulate(np.minimum(raw[order][:m] * (m - np.arange(m)), 1.0))
    by_hand = np.full(raw.size, np.nan)
    by_hand[order[:m]] = scaled
    got = np.array([math.nan if f.pvalue_adjusted is None else f.pvalue_adjusted for f in pairs])
    np.testing.assert_allclose(got, by_hand, rtol=1e-12)
    np.testing.assert_array_equal(got, adjust(raw, "holm"))
    assert result.segments.segments[0].segment == "FR"  # the market that moved ranks first
    assert result.segments.segments[0].result.status == "critical"


def test_the_total_is_unchanged_by_segments(tmp_path: Path) -> None:
    """With segments the unsegmented total has the same scores, p-values and status as without."""
    reference, live = _frame(5000, 5, False), _frame(2500, 6, True)
    paths = _write(tmp_path, reference, live)
    plain = _config(tmp_path, MONITOR.format(reference=paths[0].name, live=paths[1].name, correction="holm", extra=""))
    segmented = _config(
        tmp_path,
        MONITOR.format(
            reference=paths[0].name, live=paths[1].name, correction="holm", extra="    segments: {by: [country]}"
        ),
        "segmented.yaml",
    )
    without, with_segments = evaluate(plain.monitors[0]), evaluate(segmented.monitors[0])
    for got, expected in zip(with_segments.features, without.features, strict=True):
        _same_feature(got, expected)
        assert got.pvalue_adjusted == expected.pvalue_adjusted
        assert got.severity == expected.severity


def test_a_missing_or_all_null_segment_column_is_a_named_error(tmp_path: Path) -> None:
    reference, live = _frame(800, 7, False), _frame(400, 8, False)
    paths = _write(tmp_path, reference, live)
    body = MONITOR.format(
        reference=paths[0].name, live=paths[1].name, correction="holm", extra="    segments: {by: [contry]}"
    )
    result = evaluate(_config(tmp_path, body).monitors[0])
    assert result.status == "error"
    assert "'contry'" in (result.error or "") and "did you mean 'country'" in (result.error or "")
    reference["nothing"] = None
    live["nothing"] = "x"
    paths = _write(tmp_path, reference, live)
    body = body.replace("[contry]", "[nothing]")
    result = evaluate(_config(tmp_path, body, "b.yaml").monitors[0])
    assert result.status == "error"
    assert "segment column 'nothing'" in (result.error or "") and "null in every one of its 800 rows" in (
        result.error or ""
    )
    reference["nothing"] = "x"
    live["nothing"] = None
    paths = _write(tmp_path, reference, live)
    result = evaluate(_config(tmp_path, body, "c.yaml").monitors[0])
    assert result.status == "error"
    assert "segment column 'nothing' is null in every one of the 400 live rows" in (result.error or "")


def test_a_segment_that_vanishes_from_live_is_reported_and_not_exported(tmp_path: Path) -> None:
    from driftmon.collector import families
    from driftmon.results import MonitorState, Snapshot

    reference, live = _frame(4000, 9, False), _frame(2000, 10, False)
    live = live[live["country"] != "US"]
    paths = _write(tmp_path, reference, live)
    body = MONITOR.format(
        reference=paths[0].name, live=paths[1].name, correction="holm", extra="    segments: {by: [country], top: 3}"
    )
    result = evaluate(_config(tmp_path, body).monitors[0])
    assert result.segments is not None
    assert result.segments.vanished == ("US",)
    assert "US" not in {s.segment for s in result.segments.segments}
    state = MonitorState(name="m", scored=result, latest=result)
    samples = [s for family in families(Snapshot(1, (state,))) for s in family.samples]
    assert not [s for s in samples if s.labels.get("segment") == "US"]
    assert {s.labels.get("segment") for s in samples if s.name == "driftmon_js_divergence"} == {
        None,
        "DE",
        "FR",
        "__other__",
        "__missing__",
    }
    vanished = [s.value for s in samples if s.name == "driftmon_segments" and s.labels["state"] == "vanished"]
    assert vanished == [1.0]
    health = [s for s in samples if s.name == "driftmon_monitor_up"]
    assert [s.labels.get("segment") for s in health] == [None]  # the evaluation's health is not per segment
    assert result.to_json()["segments"]["vanished"] == ["US"]
    import pickle

    assert pickle.loads(pickle.dumps(result)).segments == result.segments  # workers send results pickled


def test_past_the_series_bound_is_a_config_error(tmp_path: Path) -> None:
    from driftmon.errors import ConfigError

    features = ", ".join(f"f{i}" for i in range(30))
    body = f"""
monitors:
  - name: m
    reference: {{type: file, path: r.parquet}}
    live: {{type: file, path: l.parquet}}
    features: [{features}]
    segments: {{by: [country], top: 80}}
"""
    with pytest.raises(ConfigError) as raised:
        _config(tmp_path, body)
    message = str(raised.value)
    assert "segments.top" in message or "segments" in message
    assert "2,460 segment x feature pairs" in message and "top: 64 or fewer" in message
    with pytest.raises(ConfigError, match="top"):
        _config(tmp_path, body.replace("top: 80", "top: 101"), "b.yaml")


def test_a_histogram_source_cannot_be_segmented(tmp_path: Path) -> None:
    reference, live = _frame(500, 11, False), _frame(300, 12, False)
    paths = _write(tmp_path, reference, live)
    monitor = _config(
        tmp_path, MONITOR.format(reference=paths[0].name, live=paths[1].name, correction="holm", extra="")
    ).monitors[0]
    (tmp_path / "ref.json").write_text(json.dumps(to_document(profile_reference(monitor))))
    body = MONITOR.format(
        reference=paths[0].name, live=paths[1].name, correction="holm", extra="    segments: {by: [country]}"
    ).replace(f"{{type: file, path: {paths[0].name}}}", "{type: histogram, path: ref.json}")
    result = evaluate(_config(tmp_path, body, "h.yaml").monitors[0])
    assert result.status == "error"
    assert "histogram source holds no rows to split by segment" in (result.error or "")


def test_segments_read_each_column_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One pass: with 8 segments, each Parquet column of each side is read once (the by column
    once more only where it is also a feature), as without segments."""
    from collections import Counter

    from driftmon.sources.file.parquet import OpenParquet

    reference, live = _frame(3000, 13, False), _frame(1500, 14, True)
    paths = _write(tmp_path, reference, live)
    reads: Counter[tuple[str, str]] = Counter()
    original = OpenParquet.column

    def counted(self: OpenParquet, name: str) -> Any:
        reads[(Path(self.path).name, name)] += 1
        return original(self, name)

    monkeypatch.setattr(OpenParquet, "column", counted)
    body = MONITOR.format(
        reference=paths[0].name, live=paths[1].name, correction="holm", extra="    segments: {by: [country], top: 7}"
    )
    result = evaluate(_config(tmp_path, body).monitors[0])
    assert result.segments is not None and len(result.segments.segments) == 8  # 7 + __missing__
    columns = ["income", "age", "plan", "country"]
    assert reads == Counter({(file.name, column): 1 for file in paths for column in columns})


def test_the_pages_and_report_list_segments_ranked_by_drift(tmp_path: Path) -> None:
    from driftmon.pages import PageSettings, render, report, snapshot_of

    reference, live = _frame(4000, 15, False), _frame(2000, 16, True)
    live = live[live["country"] != "PL"]
    paths = _write(tmp_path, reference, live)
    body = MONITOR.format(
        reference=paths[0].name, live=paths[1].name, correction="holm", extra="    segments: {by: [country], top: 7}"
    )
    result = evaluate(_config(tmp_path, body).monitors[0])
    assert result.segments is not None and result.segments.segments[0].segment == "FR"
    snapshot = snapshot_of([result])
    status, _, page = render("/monitors/m", snapshot, PageSettings(), now=result.started_at)
    text = page.decode()
    assert status == "200 OK" or str(status).startswith("200")
    assert "Segments by country" in text
    order = [text.index(f">{s.segment}</th>") for s in result.segments.segments]
    assert order == sorted(order) and len(order) == len(result.segments.segments)
    assert "Vanished" in text and ">PL</span>" in text
    document = report(snapshot, PageSettings(), now=result.started_at)
    assert "Segments by country" in document and document.index(">FR</th>") < document.index(">DE</th>")


def test_a_value_spelled_like_a_reserved_segment_is_counted_in_other(tmp_path: Path) -> None:
    """A data value "__other__" or "__missing__" never becomes a segment of its own (its series
    would repeat the reserved segment's labels, which breaks the scrape): it is in __other__."""
    reference, live = _frame(3000, 17, False), _frame(1500, 18, False)
    for frame in (reference, live):
        frame.loc[frame.index[:900], "country"] = "__other__"
        frame.loc[frame.index[900:1500], "country"] = "__missing__"
    paths = _write(tmp_path, reference, live)
    body = MONITOR.format(
        reference=paths[0].name, live=paths[1].name, correction="holm", extra="    segments: {by: [country], top: 3}"
    )
    result = evaluate(_config(tmp_path, body).monitors[0])
    assert result.segments is not None
    names = [s.segment for s in result.segments.segments]
    assert sorted(names) == sorted(set(names)) and "__other__" in names
    other = next(s for s in result.segments.segments if s.segment == "__other__")
    assert other.result.live_rows is not None and other.result.live_rows >= 1500  # the literal values are in it


def test_validate_sources_names_a_missing_segment_column(tmp_path: Path) -> None:
    """`driftmon validate --sources` probes the segment columns with the features."""
    from driftmon.validate import check

    reference, live = _frame(300, 19, False), _frame(200, 20, False)
    paths = _write(tmp_path, reference, live)
    body = MONITOR.format(
        reference=paths[0].name, live=paths[1].name, correction="holm", extra="    segments: {by: [contry]}"
    )
    findings = check(_config(tmp_path, body), sources=True)
    errors = [f for f in findings if f.level == "error"]
    assert {f.side for f in errors} == {"reference", "live"}
    assert all("'contry'" in f.message and "did you mean 'country'" in f.message for f in errors)
    good = check(_config(tmp_path, body.replace("[contry]", "[country]"), "ok.yaml"), sources=True)
    assert [f.level for f in good if f.side in ("reference", "live")] == ["ok", "ok"]


def test_the_data_quality_checks_run_per_segment(tmp_path: Path) -> None:
    """In FR alone: income half missing, device constant, plan with an unseen value, income far out of the
    reference's range; each check fires for FR's series only. (A numeric feature is constant when its
    values fall in one point bin, as without segments: docs/quality.md.)"""
    from driftmon.collector import families
    from driftmon.results import MonitorState, Snapshot

    reference, live = _frame(4000, 17, False), _frame(4000, 18, False)
    fr = (live["country"] == "FR").to_numpy()
    rng = np.random.default_rng(19)
    income = live["income"].to_numpy().copy()
    income[fr & (rng.random(len(live)) < 0.5)] = np.nan
    income[fr & (rng.random(len(live)) < 0.3)] = 1e9  # past the reference's largest value
    live = live.assign(
        income=income,
        device=np.where(fr, "mobile", live["device"]),
        plan=np.where(fr & (rng.random(len(live)) < 0.4), "gold", live["plan"]),
    )
    paths = _write(tmp_path, reference, live)
    body = MONITOR.format(
        reference=paths[0].name, live=paths[1].name, correction="holm", extra="    segments: {by: [country], top: 3}"
    ).replace("{name: plan, max_categories: 3}", "plan, device")
    result = evaluate(_config(tmp_path, body).monitors[0])
    assert result.error is None, result.error
    state = MonitorState(name="m", scored=result, latest=result)
    samples = [s for family in families(Snapshot(1, (state,))) for s in family.samples]
    firing = {
        (s.labels.get("segment"), s.labels["feature"], s.labels["check"])
        for s in samples
        if s.name == "driftmon_quality_alert" and s.labels["severity"] == "warning" and s.value == 1.0
    }
    expected = {
        ("FR", "income", "missing"),
        ("FR", "income", "out_of_range"),
        ("FR", "device", "constant"),
        ("FR", "plan", "unseen"),
    }
    assert {item for item in firing if item[0] == "FR"} == expected
    assert not {item for item in firing if item[0] not in ("FR", None)}
    live_fr = live[fr]
    ratios = {
        (s.labels.get("segment"), s.labels["feature"]): s.value
        for s in samples
        if s.name == "driftmon_missing_ratio" and s.labels["side"] == "live"
    }
    assert ratios[("FR", "income")] == pytest.approx(live_fr["income"].isna().mean(), abs=1e-12)
    assert ratios[(None, "income")] == pytest.approx(live["income"].isna().mean(), abs=1e-12)
    segment = next(item.result for item in result.segments.segments if item.segment == "FR")
    assert segment.quality_status == "critical" and segment.status == "critical"
