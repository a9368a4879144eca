"""One monitor, once: real files on disk in, scores equal to an independent oracle out."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy

from driftmon import config
from driftmon.divergence import Smoothing
from driftmon.evaluate import ReferenceCache, evaluate, profile_reference
from driftmon.histogram_file import to_document

CONFIG = """
defaults:
  measures: [kl, js, psi, hellinger, tvd, kl_reverse]
  min_samples: 10
monitors:
  - name: m
    reference: {{type: file, path: {reference}}}
    live: {{type: file, path: {live}}}
    features: {features}
"""


def setup(
    tmp_path: Path,
    write: Callable[[str, str], Path],
    reference: pd.DataFrame,
    live: pd.DataFrame,
    features: str = "[x, y, city]",
    ref_name: str = "ref.parquet",
    live_name: str = "live.csv",
) -> config.MonitorConfig:
    for frame, name in ((reference, ref_name), (live, live_name)):
        path = tmp_path / name
        if name.endswith(".parquet"):
            frame.to_parquet(path, index=False)
        elif name.endswith(".csv"):
            frame.to_csv(path, index=False)
        else:
            frame.to_json(path, orient="records", lines=True)
    text = CONFIG.format(reference=ref_name, live=live_name, features=features)
    return config.load(write("driftmon.yaml", text)).monitors[0]


def oracle_counts(reference: np.ndarray, live: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Numeric counts by the documented rule, with numpy's own quantile and comparisons."""
    edges = np.unique(np.quantile(reference[np.isfinite(reference)], np.linspace(0, 1, bins + 1)))

    def count(x: np.ndarray) -> np.ndarray:
        v = x[~np.isnan(x)]
        inner = [((v >= a) & (v < b)).sum() for a, b in itertools.pairwise(edges[:-1])]
        inner.append(((v >= edges[-2]) & (v <= edges[-1])).sum())
        return np.array([(v < edges[0]).sum(), *inner, (v > edges[-1]).sum(), np.isnan(x).sum()], float)

    return count(reference), count(live)


def unseen(ref: np.ndarray, live: np.ndarray, alpha: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """The default smoothing written out: alpha only on the empty side of a one-sided bin."""
    keep = (ref > 0) | (live > 0)
    p = np.where(live[keep] > 0, live[keep], alpha)
    q = np.where(ref[keep] > 0, ref[keep], alpha)
    return p / p.sum(), q / q.sum()


def test_scores_equal_scipy_oracle(tmp_path: Path, write, frames) -> None:
    """Every measure for a numeric and a categorical feature equals scipy / the formula on the same data."""
    reference, live = frames
    live = live.copy()
    live.loc[:49, "x"] = np.nan
    live.loc[50:59, "x"] = 99.0  # overflow
    monitor = setup(tmp_path, write, reference, live)
    result = evaluate(monitor)
    assert result.status != "error", result.error
    by_name = {f.feature: f for f in result.features}

    ref_counts, live_counts = oracle_counts(reference["x"].to_numpy(), live["x"].to_numpy())
    p, q = unseen(ref_counts, live_counts)
    x = by_name["x"]
    np.testing.assert_allclose(x.scores["kl"], entropy(p, q, base=2), rtol=1e-9)
    np.testing.assert_allclose(x.scores["kl_reverse"], entropy(q, p, base=2), rtol=1e-9)
    np.testing.assert_allclose(x.scores["js"], jensenshannon(p, q, base=2) ** 2, rtol=1e-9)
    np.testing.assert_allclose(x.scores["psi"], np.sum((p - q) * np.log(p / q)), rtol=1e-9)
    np.testing.assert_allclose(x.scores["hellinger"], np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2)), rtol=1e-9)
    np.testing.assert_allclose(x.scores["tvd"], 0.5 * np.abs(p - q).sum(), rtol=1e-9)
    assert x.live_count == 2000 and x.reference_count == 5000
    assert x.unseen_fraction == pytest.approx(10 / 2000)  # overflow; nulls are not unseen values
    # city: categories a b c d from the reference; e is unseen in live.
    ref_city = reference["city"].value_counts()
    live_city = live["city"].value_counts()
    labels = ["a", "b", "c", "d"]
    rc = np.array([*(ref_city.get(k, 0) for k in labels), 0, 0], float)  # __other__, __unseen__ (missing dropped: empty both)
    lc = np.array([*(live_city.get(k, 0) for k in labels), 0, live_city.get("e", 0)], float)
    p, q = unseen(rc, lc)
    city = by_name["city"]
    np.testing.assert_allclose(city.scores["kl"], entropy(p, q, base=2), rtol=1e-9)
    np.testing.assert_allclose(city.scores["js"], jensenshannon(p, q, base=2) ** 2, rtol=1e-9)
    assert city.unseen_fraction == pytest.approx(live_city.get("e", 0) / 2000)
    assert city.kind == "categorical"


def test_identical_data_scores_exactly_zero(tmp_path: Path, write, frames) -> None:
    """Live data identical to the reference scores exactly 0 on every measure and is ok."""
    reference, _ = frames
    monitor = setup(tmp_path, write, reference, reference)
    result = evaluate(monitor)
    assert result.status == "ok"
    for feature in result.features:
        assert all(v == 0.0 for v in feature.scores.values()), feature.scores


def test_thresholds_give_severity_and_status(tmp_path: Path, write, frames) -> None:
    """A feature whose score passes critical is critical, and the monitor's status is its worst feature."""
    reference, live = frames
    live = live.assign(x=live["x"] + 3)
    monitor = setup(tmp_path, write, reference, live)
    result = evaluate(monitor)
    x = next(f for f in result.features if f.feature == "x")
    assert x.scores["js"] >= 0.1 and x.severity["js"] == "critical"
    assert x.severity["kl"] == "ok"  # no threshold configured for kl
    assert result.status == "critical"


def test_empty_and_all_null_live_are_insufficient(tmp_path: Path, write, frames) -> None:
    """An empty live file gives insufficient_data and no scores; an all-null column no drift
    alert, but its missing share (100 % against the reference's 0 %) is critical broken data."""
    reference, live = frames
    empty = live.iloc[:0]
    result = evaluate(setup(tmp_path, write, reference, empty))
    assert result.status == "insufficient_data"
    assert all(f.scores == {} for f in result.features)
    nulls = live.assign(x=np.nan)
    result = evaluate(setup(tmp_path, write, reference, nulls, features="[x]", live_name="nulls.csv"))
    assert set(result.features[0].severity.values()) == {"insufficient_data"}
    assert result.features[0].worst == "insufficient_data"
    quality = result.features[0].quality
    assert quality is not None and quality.missing.live == 1.0 and quality.missing.severity == "critical"
    assert result.status == "critical"
    off = setup(tmp_path, write, reference, nulls, features="[x]", live_name="nulls.csv")
    result = evaluate(dataclasses.replace(off, quality=None))
    assert result.status == "insufficient_data"
    assert "quality" not in result.to_json()


def test_missing_file_is_an_error_and_an_absent_column_an_anomaly(tmp_path: Path, write, frames) -> None:
    """A missing file and an empty glob give status error naming them; an absent column is a
    named schema anomaly (missing_column) and the other feature is still scored."""
    reference, live = frames
    monitor = setup(tmp_path, write, reference, live)
    (tmp_path / "live.csv").unlink()
    result = evaluate(monitor)
    assert result.status == "error" and "live.csv does not exist" in (result.error or "")

    monitor = setup(tmp_path, write, reference, live, live_name="live.csv")
    glob_monitor = config.load(
        write("g.yaml", CONFIG.format(reference="ref.parquet", live="'parts/*.parquet'", features="[x]"))
    ).monitors[0]
    assert "no file matches" in (evaluate(glob_monitor).error or "")

    result = evaluate(setup(tmp_path, write, reference, live.drop(columns="y"), live_name="noy.csv"))
    assert result.ok and result.status == "critical"
    assert result.schema is not None and [(a.anomaly, a.column) for a in result.schema.anomalies] == [
        ("missing_column", "y")
    ]
    assert {f.feature: bool(f.scores) for f in result.features} == {"x": True, "y": False, "city": True}


def test_strings_in_numeric_feature_name_feature_and_file(tmp_path: Path, write, frames) -> None:
    """Strings in a numeric column: a type_changed anomaly when the live file reads as text (the
    other features scored); without the schema check, an error naming the feature, file and value."""
    reference, live = frames
    live = live.astype({"x": object})
    live.loc[3, "x"] = "oops"
    monitor = setup(tmp_path, write, reference, live)
    result = evaluate(monitor)
    assert result.ok and result.schema is not None
    assert [(a.anomaly, a.column) for a in result.schema.anomalies] == [("type_changed", "x")]
    assert "(numeric), is string (text)" in result.schema.anomalies[0].detail
    assert {f.feature for f in result.features if f.scores} == {"y", "city"}
    assert monitor.quality is not None
    off = dataclasses.replace(monitor, quality=dataclasses.replace(monitor.quality, schema=None))
    result = evaluate(off)
    assert result.status == "error"
    assert "live.csv" in (result.error or "") and "feature 'x'" in (result.error or "") and "oops" in (result.error or "")


def test_glob_of_parquet_and_jsonl_equals_one_file(tmp_path: Path, write, frames) -> None:
    """Live rows split over a glob of files score the same as one file; JSON Lines reads the same as CSV."""
    reference, live = frames
    (tmp_path / "parts").mkdir()
    live.iloc[:700].to_parquet(tmp_path / "parts" / "a.parquet", index=False)
    live.iloc[700:].to_parquet(tmp_path / "parts" / "b.parquet", index=False)
    whole = evaluate(setup(tmp_path, write, reference, live))
    jsonl = evaluate(setup(tmp_path, write, reference, live, live_name="live.jsonl"))
    split = evaluate(
        config.load(
            write("s.yaml", CONFIG.format(reference="ref.parquet", live="'parts/*.parquet'", features="[x, y, city]"))
        ).monitors[0]
    )
    for other in (jsonl, split):
        for a, b in zip(whole.features, other.features, strict=True):
            assert a.live_count == b.live_count
            for measure in a.scores:
                assert a.scores[measure] == pytest.approx(b.scores[measure], rel=1e-12)


def test_profile_then_histogram_reference_gives_same_scores(tmp_path: Path, write, frames) -> None:
    """A reference profiled to a histogram file scores the live data exactly as the raw reference does."""
    reference, live = frames
    monitor = setup(tmp_path, write, reference, live)
    (tmp_path / "ref.json").write_text(json.dumps(to_document(profile_reference(monitor))))
    text = CONFIG.format(reference="ref.json", live="live.csv", features="[x, y, city]").replace(
        "{type: file, path: ref.json}", "{type: histogram, path: ref.json}"
    )
    via_file = evaluate(config.load(write("h.yaml", text)).monitors[0])
    direct = evaluate(monitor)
    for a, b in zip(direct.features, via_file.features, strict=True):
        assert a.scores == pytest.approx(b.scores, rel=1e-12)
        assert a.unseen_fraction == pytest.approx(b.unseen_fraction)


def test_histogram_live_with_other_edges_is_an_error(tmp_path: Path, write, frames) -> None:
    """A live histogram file whose edges differ from the reference's is an error naming the feature."""
    reference, live = frames
    monitor = setup(tmp_path, write, reference, live, features="[x]")
    (tmp_path / "ref.json").write_text(json.dumps(to_document(profile_reference(monitor))))
    document = json.loads((tmp_path / "ref.json").read_text())
    document["features"]["x"]["edges"][0] -= 0.5
    (tmp_path / "live.json").write_text(json.dumps(document))
    text = (
        CONFIG.format(reference="ref.json", live="live.json", features="[x]")
        .replace("{type: file, path: ref.json}", "{type: histogram, path: ref.json}")
        .replace("{type: file, path: live.json}", "{type: histogram, path: live.json}")
    )
    result = evaluate(config.load(write("h.yaml", text)).monitors[0])
    assert result.status == "error" and "feature 'x'" in (result.error or "") and "edges" in (result.error or "")


def test_reference_cache_recomputes_only_on_change(tmp_path: Path, write, frames) -> None:
    """The reference is binned once, and again only when its file changes."""
    reference, live = frames
    monitor = setup(tmp_path, write, reference, live)
    cache = ReferenceCache()
    first = evaluate(monitor, cache)
    evaluate(monitor, cache)
    assert cache.computed == 1
    reference.iloc[:100].to_parquet(tmp_path / "ref.parquet", index=False)
    third = evaluate(monitor, cache)
    assert cache.computed == 2
    assert third.features[0].reference_count == 100 != first.features[0].reference_count


# --- Right answers on everyday features (issue 10) ------------------------------------------


def test_binary_flag_shift_is_detected_and_equals_categorical(tmp_path: Path, write) -> None:
    """A 0/1 flag moving from 52 % to 90 % ones is critical, with the scores of the same column as categorical."""
    rng = np.random.default_rng(11)
    reference = pd.DataFrame({"flag": rng.permutation(np.repeat([0, 1], [2400, 2600]))})
    live = pd.DataFrame({"flag": rng.permutation(np.repeat([0, 1], [200, 1800]))})
    reference["code"] = reference["flag"].astype(float)
    live["code"] = live["flag"].astype(float)
    monitor = setup(tmp_path, write, reference, live, features="[flag, {name: code, kind: categorical}]")
    result = evaluate(monitor)
    flag, code = result.features
    assert flag.kind == "numeric"
    assert flag.scores["js"] > 0.1 and flag.severity["js"] == "critical"
    for measure, value in code.scores.items():
        assert flag.scores[measure] == pytest.approx(value, rel=1e-12, abs=1e-15), measure
    assert flag.pvalue == pytest.approx(code.pvalue, rel=1e-9)


def test_header_only_reference_is_insufficient_with_a_reason(tmp_path: Path, write, frames) -> None:
    """A reference file with a header and no rows: every feature insufficient_data with a reason; not ok."""
    reference, live = frames
    result = evaluate(setup(tmp_path, write, reference.iloc[:0], live, ref_name="ref.csv"))
    assert result.status == "insufficient_data"
    for feature in result.features:
        assert feature.scores == {}
        assert feature.worst == "insufficient_data"
        assert "reference" in (feature.reason or "")
    assert result.to_json()["features"][0]["reason"]


def test_all_zero_or_empty_reference_histogram_is_insufficient(tmp_path: Path, write, frames) -> None:
    """A reference histogram file with all-zero counts, or `{}` counts, is insufficient_data, never ok."""
    _, live = frames
    (tmp_path / "live.csv").write_text(live.to_csv(index=False))
    document = {
        "format": "driftmon.histograms/v1",
        "features": {
            "x": {"kind": "numeric", "edges": [0, 1, 2], "counts": [0, 0, 0, 0], "missing": 0},
            "city": {"kind": "categorical", "counts": {}, "missing": 0},
        },
    }
    (tmp_path / "ref.json").write_text(json.dumps(document))
    text = CONFIG.format(reference="ref.json", live="live.csv", features="[x, city]").replace(
        "{type: file, path: ref.json}", "{type: histogram, path: ref.json}"
    )
    result = evaluate(config.load(write("h.yaml", text)).monitors[0])
    assert result.status == "insufficient_data"
    assert all(f.reason and f.scores == {} for f in result.features)


def test_text_cell_in_numeric_reference_is_an_error_naming_it(tmp_path: Path, write, frames) -> None:
    """One text cell in a numeric reference column: an error naming the feature and the value, not a silent categorical."""
    reference, live = frames
    reference = reference.astype({"x": object})
    reference.loc[7, "x"] = "n.a."
    result = evaluate(setup(tmp_path, write, reference, live, features="[x]", ref_name="ref.csv"))
    assert result.status == "error"
    assert "feature 'x'" in (result.error or "") and "n.a." in (result.error or "")
    # Declared categorical, the same column is fine.
    declared = evaluate(
        setup(tmp_path, write, reference, live, features="[{name: x, kind: categorical}]", ref_name="ref2.csv")
    )
    assert declared.status != "error"


def test_booleans_are_categorical(tmp_path: Path, write) -> None:
    """A boolean column is binned as categories (True / False), from Parquet and from JSON Lines."""
    rng = np.random.default_rng(5)
    reference = pd.DataFrame({"b": rng.random(1000) < 0.5})
    live = pd.DataFrame({"b": rng.random(500) < 0.9})
    for live_name in ("live.parquet", "live.jsonl"):
        result = evaluate(setup(tmp_path, write, reference, live, features="[b]", live_name=live_name))
        assert result.features[0].kind == "categorical", live_name
        assert result.status == "critical"


def test_timestamps_and_durations_need_a_kind(tmp_path: Path, write) -> None:
    """Timestamp and duration columns are refused with an error naming the feature, unless `kind:` is given."""
    start = pd.Timestamp("2026-01-01", tz="UTC")
    reference = pd.DataFrame(
        {"t": start + pd.to_timedelta(np.arange(1000), unit="h"), "d": pd.to_timedelta(np.arange(1000), unit="s")}
    )
    live = reference.iloc[:500]
    for column in ("t", "d"):
        result = evaluate(setup(tmp_path, write, reference, live, features=f"[{column}]", live_name="live.parquet"))
        assert result.status == "error"
        assert f"feature {column!r}" in (result.error or "") and "kind" in (result.error or "")
    numeric = evaluate(
        setup(tmp_path, write, reference, live, features="[{name: t, kind: numeric}, {name: d, kind: numeric}]",
              live_name="live.parquet")
    )
    assert numeric.status != "error", numeric.error
    t, d = numeric.features
    assert t.reference_count == 1000 and d.live_count == 500



@pytest.mark.parametrize(("ref_name", "live_name"), [("ref.parquet", "live.parquet"), ("ref.csv", "live.csv")])
def test_bins_explain_every_score_with_oracle_shares(tmp_path: Path, write, frames, ref_name: str, live_name: str) -> None:
    """Each feature's bins list every aligned bin in order with the oracle's smoothed shares; the kl, kl_reverse, js, psi, tvd terms sum to the scores (hellinger's to its square); the unseen bin names its live values (Arrow and pandas paths)."""
    reference, live = frames
    live = live.copy()
    live.loc[:9, "city"] = "zz"  # 10 rows of a second unseen value, besides the 500-odd "e"
    monitor = setup(tmp_path, write, reference, live, ref_name=ref_name, live_name=live_name)
    result = evaluate(monitor)
    by_name = {f.feature: f for f in result.features}
    ref_counts, live_counts = oracle_counts(reference["x"].to_numpy(), live["x"].to_numpy())
    p, q = unseen(ref_counts, live_counts)
    x = by_name["x"]
    assert [b.role for b in x.bins] == ["underflow", *["interval"] * 10, "overflow", "missing"]
    kept = [b for b in x.bins if b.reference_count or b.live_count]
    np.testing.assert_allclose([b.live_share for b in kept], p, rtol=1e-12)
    np.testing.assert_allclose([b.reference_share for b in kept], q, rtol=1e-12)
    assert [b.live_count for b in x.bins] == live_counts.tolist()
    for feature in result.features:
        for measure in ("kl", "kl_reverse", "js", "psi", "tvd"):
            assert sum(b.terms[measure] for b in feature.bins) == pytest.approx(feature.scores[measure], abs=1e-12)
        assert sum(b.terms["hellinger"] for b in feature.bins) == pytest.approx(feature.scores["hellinger"] ** 2, abs=1e-12)
    city = by_name["city"]
    assert [b.label for b in city.bins] == ["a", "b", "c", "d", "__other__", "__unseen__", "__missing__"]
    assert [b.role for b in city.bins] == ["category"] * 4 + ["other", "unseen", "missing"]
    new = city.bins[5]
    expected_e = float((live["city"] == "e").sum())
    assert new.values == (("e", expected_e), ("zz", 10.0))
    assert new.live_count == expected_e + 10
    document = json.loads(json.dumps(result.to_json(), allow_nan=False))
    city_json = next(f for f in document["features"] if f["feature"] == "city")
    assert [b["bin"] for b in city_json["bins"]] == [b.label for b in city.bins]
    assert city_json["bins"][5]["values"] == [{"value": "e", "count": int(expected_e)}, {"value": "zz", "count": 10}]
    assert "values" not in city_json["bins"][0]


def test_unsmoothed_one_sided_bin_terms_are_plus_inf_in_json(tmp_path: Path, write, frames) -> None:
    """With smoothing none, an unseen category's kl and psi terms are +Inf, written as "+Inf" in JSON like the scores."""
    reference, live = frames
    monitor = dataclasses.replace(setup(tmp_path, write, reference, live, features="[city]"), smoothing=Smoothing("none"))
    feature = evaluate(monitor).features[0]
    assert feature.scores["kl"] == np.inf
    entry = next(b for b in feature.to_json()["bins"] if b["bin"] == "__unseen__")
    assert entry["terms"]["kl"] == "+Inf" and entry["terms"]["psi"] == "+Inf"
    assert entry["terms"]["kl_reverse"] == 0


def test_broken_data_is_reported_by_name_beside_the_scores(tmp_path: Path, write, frames) -> None:
    """Nulls appear in x (0 % -> 30 %), city gains new values, and too few rows for
    volume.min_rows: each is a named data-quality finding in the result, the JSON and the
    table, and every feature keeps its scores."""
    import io

    from driftmon import table
    from driftmon.pages import PageSettings, render, snapshot_of

    reference, live = frames
    broken = live.copy()
    broken.loc[broken.index[: len(broken) * 3 // 10], "x"] = np.nan
    broken["city"] = broken["city"].astype(object)
    broken.loc[broken.index[:100], "city"] = "atlantis"
    monitor = setup(tmp_path, write, reference, broken)
    result = evaluate(dataclasses.replace(monitor, min_rows=10 * len(broken)))
    by_name = {f.feature: f for f in result.features}
    assert all(f.scores for f in result.features)
    x = by_name["x"].quality
    assert x is not None and x.missing.severity == "critical"
    assert x.missing.live == pytest.approx(0.3, abs=0.001)
    city = by_name["city"].quality
    assert city is not None and city.unseen is not None
    assert city.unseen.live == pytest.approx((~broken["city"].isin(set(reference["city"]))).mean())
    assert city.unseen.severity == "critical"
    assert result.volume == "critical" and result.live_rows == len(broken)
    assert result.status == "critical"
    document = result.to_json()["quality"]
    assert document["volume"] == {
        "severity": "critical",
        "min_rows": 10 * len(broken),
        "reason": f"{len(broken):,} live rows, fewer than min_rows {10 * len(broken)}",
        "expected_rows": None,
    }
    assert [f["feature"] for f in document["features"]] == ["x", "y", "city"]
    assert document["features"][0]["missing"]["severity"] == "critical"
    out = io.StringIO()
    table.write([result], out)
    text = out.getvalue()
    assert text.index("data quality:") < text.index("feature  kind")
    assert "x: missing 0.0% -> 30.0% (critical)" in text
    assert f"volume: {len(broken):,} live rows, fewer than min_rows {10 * len(broken)} (critical)" in text
    page = render("/monitors/m", snapshot_of([result]), PageSettings())[2].decode()
    assert page.index("Data quality") < page.index("<table>")
    assert "x: missing 0.0% -&gt; 30.0% (critical)" in page
