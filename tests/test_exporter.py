"""The Prometheus exposition (docs/metrics.md) of hand-built results, parsed back with prometheus_client."""

from __future__ import annotations

import gzip
import math
import subprocess
from dataclasses import replace
from typing import Any

import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics import exposition as om_exposition
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text
from servers import require_binary

from driftmon.evaluate import ERROR, OK, FeatureResult, MonitorResult
from driftmon.exporter import SCORE_METRICS
from driftmon.exposition import Exposition
from driftmon.results import MonitorState, Snapshot

OPENMETRICS = "application/openmetrics-text; version=1.0.0"


def feature(
    name: str,
    scores: dict[str, float],
    *,
    thresholds: dict[str, tuple[float | None, float | None]] | None = None,
    live: float = 500.0,
    reference: float = 1000.0,
    unseen: float = 0.0,
    sufficient: bool = True,
) -> FeatureResult:
    return FeatureResult(
        feature=name,
        kind="numeric",
        reference_count=reference,
        live_count=live,
        unseen_fraction=unseen,
        scores=scores,
        severity={m: OK for m in scores},
        thresholds=thresholds if thresholds is not None else {"js": (0.05, 0.1), "psi": (0.1, 0.25)},
        sufficient=sufficient,
    )


def result(name: str, features: tuple[FeatureResult, ...], *, error: str | None = None, **kw: Any) -> MonitorResult:
    return MonitorResult(
        monitor=name,
        status=ERROR if error else OK,
        error=error,
        features=() if error else features,
        started_at=1_700_000_000.0,
        duration_s=0.25,
        **kw,
    )


def state(name: str, features: tuple[FeatureResult, ...], **kw: Any) -> MonitorState:
    done = result(name, features)
    base: dict[str, Any] = dict(
        labels={"team": "risk"},
        measures=("kl", "js", "psi"),
        interval_s=60.0,
        latest=done,
        scored=done,
        evaluations=3,
        failures=1,
        last_success_s=1_700_000_000.25,
    )
    base.update(kw)
    return MonitorState(name, **base)


def scrape(snapshot: Snapshot) -> dict[str, Any]:
    """Families by name from the text format, as Prometheus would read them."""
    exposition = Exposition(lambda: snapshot)
    body, _ = exposition.render(None)
    return {family.name: family for family in parse_text(body.decode())}


def values(family: Any) -> dict[tuple[tuple[str, str], ...], float]:
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples}


def key(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


@pytest.fixture
def snapshot() -> Snapshot:
    """Two monitors: credit (three features, one drifted) and fraud (log base e)."""
    credit = state(
        "credit",
        (
            feature("age", {"kl": 0.01, "js": 0.002, "psi": 0.012}),
            feature("income", {"kl": 0.9, "js": 0.07, "psi": 0.25}, unseen=0.125),
            feature("country", {"kl": math.inf, "js": 0.2, "psi": 1.5}, thresholds={"js": (0.05, None)}),
        ),
    )
    fraud = state(
        "fraud",
        (feature("amount", {"js": 0.01}, thresholds={}),),
        labels={"team": "payments"},
        measures=("js",),
        log_base=math.e,
    )
    return Snapshot(7, (credit, fraud), reload_successful=True, reload_success_s=1_699_999_000.0)


def test_every_metric_has_its_spec_name_type_and_labels(snapshot: Snapshot) -> None:
    """Each family has the docs/metrics.md name, type and label names, plus the monitor's own labels."""
    families = scrape(snapshot)
    expected = {
        "driftmon_kl_divergence": ("gauge", {"monitor", "feature", "team"}),
        "driftmon_js_divergence": ("gauge", {"monitor", "feature", "team"}),
        "driftmon_population_stability_index": ("gauge", {"monitor", "feature", "team"}),
        "driftmon_js_divergence_threshold": ("gauge", {"monitor", "feature", "severity", "team"}),
        "driftmon_population_stability_index_threshold": ("gauge", {"monitor", "feature", "severity", "team"}),
        "driftmon_drift_alert": ("gauge", {"monitor", "feature", "measure", "severity", "team"}),
        "driftmon_samples": ("gauge", {"monitor", "feature", "side", "team"}),
        "driftmon_unseen_fraction": ("gauge", {"monitor", "feature", "team"}),
        "driftmon_monitor_up": ("gauge", {"monitor", "team"}),
        "driftmon_evaluations": ("counter", {"monitor", "team"}),
        "driftmon_evaluation_failures": ("counter", {"monitor", "team"}),
        "driftmon_last_evaluation_duration_seconds": ("gauge", {"monitor", "team"}),
        "driftmon_last_success_timestamp_seconds": ("gauge", {"monitor", "team"}),
        "driftmon_schedule_interval_seconds": ("gauge", {"monitor", "team"}),
        "driftmon_config_last_reload_successful": ("gauge", set()),
        "driftmon_config_last_reload_success_timestamp_seconds": ("gauge", set()),
        "driftmon_build_info": ("gauge", {"version", "python"}),
    }
    assert set(families) == set(expected)
    for name, (kind, labels) in expected.items():
        assert families[name].type == kind, name
        for sample in families[name].samples:
            assert set(sample.labels) == labels, (name, sample)
    counter_samples = {s.name for s in families["driftmon_evaluations"].samples}
    assert counter_samples == {"driftmon_evaluations_total"}


def test_scores_thresholds_and_alerts_follow_the_results(snapshot: Snapshot) -> None:
    """Scores are exported as computed; an alert is 1 exactly when score >= that severity's threshold."""
    families = scrape(snapshot)
    js = values(families["driftmon_js_divergence"])
    assert js[key(monitor="credit", feature="income", team="risk")] == 0.07
    assert js[key(monitor="fraud", feature="amount", team="payments")] == 0.01
    kl = values(families["driftmon_kl_divergence"])
    assert kl[key(monitor="credit", feature="country", team="risk")] == math.inf
    thresholds = values(families["driftmon_population_stability_index_threshold"])
    assert thresholds[key(monitor="credit", feature="age", severity="critical", team="risk")] == 0.25
    assert key(monitor="credit", feature="country", severity="warning", team="risk") not in thresholds
    alerts = values(families["driftmon_drift_alert"])

    def alert(feature: str, measure: str, severity: str) -> float:
        return alerts[key(monitor="credit", feature=feature, measure=measure, severity=severity, team="risk")]

    assert alert("age", "js", "warning") == 0.0
    assert alert("income", "js", "warning") == 1.0  # 0.07 >= 0.05
    assert alert("income", "js", "critical") == 0.0  # 0.07 < 0.1
    assert alert("income", "psi", "critical") == 1.0  # equal to the threshold counts
    assert alert("country", "js", "warning") == 1.0
    # kl has no thresholds, country has no js critical and no psi levels: no series for them.
    assert not any(dict(k)["measure"] == "kl" for k in alerts)
    assert len([k for k in alerts if dict(k)["feature"] == "country"]) == 1
    samples = values(families["driftmon_samples"])
    assert samples[key(monitor="credit", feature="age", side="reference", team="risk")] == 1000
    assert samples[key(monitor="credit", feature="age", side="live", team="risk")] == 500
    unseen = values(families["driftmon_unseen_fraction"])
    assert unseen[key(monitor="credit", feature="income", team="risk")] == 0.125


def test_monitor_series_report_counters_duration_and_schedule(snapshot: Snapshot) -> None:
    """Per-monitor series: up, counters, duration, last success time and schedule period."""
    families = scrape(snapshot)
    credit = key(monitor="credit", team="risk")
    assert values(families["driftmon_monitor_up"])[credit] == 1.0
    assert values(families["driftmon_evaluations"])[credit] == 3.0
    assert values(families["driftmon_evaluation_failures"])[credit] == 1.0
    assert values(families["driftmon_last_evaluation_duration_seconds"])[credit] == 0.25
    assert values(families["driftmon_last_success_timestamp_seconds"])[credit] == 1_700_000_000.25
    assert values(families["driftmon_schedule_interval_seconds"])[credit] == 60.0
    assert values(families["driftmon_config_last_reload_successful"])[()] == 1.0
    assert values(families["driftmon_config_last_reload_success_timestamp_seconds"])[()] == 1_699_999_000.0
    (info,) = families["driftmon_build_info"].samples
    assert info.value == 1.0 and info.labels["version"]


def test_a_failed_evaluation_keeps_the_last_scores_with_up_0(snapshot: Snapshot) -> None:
    """After a failure the last successful scores stay exported and driftmon_monitor_up is 0."""
    credit = snapshot.monitors[0]
    failed = replace(credit, latest=result("credit", (), error="file gone"), evaluations=4, failures=2)
    families = scrape(replace(snapshot, monitors=(failed, snapshot.monitors[1])))
    assert values(families["driftmon_monitor_up"])[key(monitor="credit", team="risk")] == 0.0
    assert values(families["driftmon_js_divergence"])[key(monitor="credit", feature="income", team="risk")] == 0.07
    assert values(families["driftmon_evaluation_failures"])[key(monitor="credit", team="risk")] == 2.0
    assert values(families["driftmon_last_success_timestamp_seconds"])[key(monitor="credit", team="risk")] == (
        1_700_000_000.25
    )


def test_too_few_live_rows_export_scores_but_never_alert() -> None:
    """Below min_samples the scores are exported and every drift_alert of the feature is 0."""
    few = state("m", (feature("x", {"js": 0.9, "psi": 3.0}, live=20, sufficient=False),), measures=("js", "psi"))
    families = scrape(Snapshot(1, (few,)))
    assert values(families["driftmon_js_divergence"])[key(monitor="m", feature="x", team="risk")] == 0.9
    alerts = values(families["driftmon_drift_alert"])
    assert len(alerts) == 4 and set(alerts.values()) == {0.0}


def test_a_feature_without_live_rows_has_no_score_series() -> None:
    """No live rows: no score, alert or unseen series for that feature; its live sample count is 0."""
    empty = feature("x", {}, live=0)
    full = feature("y", {"kl": 0.1, "js": 0.01, "psi": 0.02})
    families = scrape(Snapshot(1, (state("m", (empty, full)),)))
    for name in (
        "driftmon_kl_divergence",
        "driftmon_js_divergence",
        "driftmon_drift_alert",
        "driftmon_unseen_fraction",
    ):
        assert {dict(k)["feature"] for k in values(families[name])} == {"y"}, name
    assert values(families["driftmon_samples"])[key(monitor="m", feature="x", side="live", team="risk")] == 0


def test_nan_is_never_exported() -> None:
    """A NaN score (which evaluate never produces) is dropped, not exported; +Inf is exported as +Inf."""
    odd = feature("x", {"kl": math.nan, "js": 0.2, "psi": math.inf})
    body, _ = Exposition(lambda: Snapshot(1, (state("m", (odd,)),))).render(None)
    text = body.decode()
    assert "NaN" not in text
    assert 'driftmon_population_stability_index{feature="x",monitor="m",team="risk"} +Inf' in text
    assert "driftmon_kl_divergence{" not in text
    assert 'measure="kl"' not in text


def test_only_the_monitors_measures_are_exported() -> None:
    """A measure the monitor does not compute has no series, even if an old result holds it."""
    stale = feature("x", {"kl": 0.1, "js": 0.01, "psi": 0.02, "tvd": 0.3})
    families = scrape(Snapshot(1, (state("m", (stale,), measures=("js", "tvd")),)))
    assert "driftmon_kl_divergence" not in families
    assert "driftmon_population_stability_index" not in families
    assert "driftmon_population_stability_index_threshold" not in families
    assert values(families[SCORE_METRICS["tvd"]])[key(monitor="m", feature="x", team="risk")] == 0.3


def test_help_names_the_definition_and_the_log_base_unit(snapshot: Snapshot) -> None:
    """Score HELP texts give the definition and the unit of the monitors' log_base."""
    families = scrape(snapshot)
    kl_help = families["driftmon_kl_divergence"].documentation
    assert "KL(live||reference)" in kl_help and "bits (log base 2)" in kl_help
    js_help = families["driftmon_js_divergence"].documentation
    assert "bits (log base 2)" in js_help and "nats (natural log)" in js_help  # credit and fraud differ
    assert "range [0, 0.6931]" in js_help  # JS is bounded by ln 2 in nats
    assert "natural log" in families["driftmon_population_stability_index"].documentation
    only_nats = replace(snapshot, monitors=(snapshot.monitors[1],))
    assert scrape(only_nats)["driftmon_js_divergence"].documentation.endswith(
        "in nats (natural log); range [0, 0.6931]"
    )


def test_a_removed_monitor_is_gone_from_the_next_scrape(snapshot: Snapshot) -> None:
    """Swapping in a snapshot without a monitor removes all its series at once."""
    box = [snapshot]
    exposition = Exposition(lambda: box[0])
    before, _ = exposition.render(None)
    assert b'monitor="fraud"' in before
    box[0] = replace(snapshot, version=8, monitors=snapshot.monitors[:1])
    after, _ = exposition.render(None)
    assert b'monitor="fraud"' not in after and b'monitor="credit"' in after


def test_openmetrics_has_no_created_series_and_ends_with_eof(snapshot: Snapshot) -> None:
    """OpenMetrics output parses, has no _created samples and counters keep their _total samples."""
    body, headers = Exposition(lambda: snapshot).render(OPENMETRICS)
    assert dict(headers)["Content-Type"].startswith("application/openmetrics-text")
    text = body.decode()
    assert text.endswith("# EOF\n") and "_created" not in text
    families = {f.name: f for f in parse_openmetrics(text)}
    assert families["driftmon_evaluations"].type == "counter"
    assert {s.name for s in families["driftmon_evaluations"].samples} == {"driftmon_evaluations_total"}


@pytest.mark.parametrize("accept", [None, OPENMETRICS], ids=["text", "openmetrics"])
def test_cached_bytes_equal_prometheus_client_rendering(snapshot: Snapshot, accept: str | None) -> None:
    """The pieced-together body (and its gzip) equals prometheus_client rendering the collector whole,
    after a monitor changes and after one is removed."""
    box = [snapshot]
    exposition = Exposition(lambda: box[0])
    encode = om_exposition.generate_latest if accept else generate_latest

    def check() -> None:
        body, _ = exposition.render(accept)
        assert body == encode(exposition.registry)
        zipped, headers = exposition.render(accept, "gzip")
        assert ("Content-Encoding", "gzip") in headers
        assert gzip.decompress(zipped) == body

    check()
    credit = replace(snapshot.monitors[0], evaluations=4, latest=result("credit", (), error="boom"))
    box[0] = replace(snapshot, version=8, monitors=(credit, snapshot.monitors[1]))
    check()
    box[0] = replace(snapshot, version=9, monitors=(snapshot.monitors[1],), reload_successful=False)
    check()


def test_name_filter_restricts_the_output(snapshot: Snapshot) -> None:
    """`name[]` returns only the named metrics, as prometheus_client does."""
    body, _ = Exposition(lambda: snapshot).render(None, None, ["driftmon_monitor_up"])
    names = {f.name for f in parse_text(body.decode())}
    assert names == {"driftmon_monitor_up"}


def test_promtool_accepts_the_exposition(snapshot: Snapshot) -> None:
    """`promtool check metrics` finds no problem in the text exposition."""
    promtool = require_binary("promtool")
    body, _ = Exposition(lambda: snapshot).render(None)
    check = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()


def test_significance_metrics_and_gate() -> None:
    """p-values, noise floors and drifted-feature counts are exported; a score past its threshold but not significant does not alert."""
    significant = replace(
        feature("income", {"kl": 0.9, "js": 0.2, "psi": 0.3}),
        pvalue=1e-12, pvalue_adjusted=3e-12, significant=True, noise_floor={"kl": 0.004, "js": 0.001, "psi": 0.005},
    )
    noise = replace(
        feature("age", {"kl": 0.5, "js": 0.15, "psi": 0.4}),
        pvalue=0.2, pvalue_adjusted=0.4, significant=False, noise_floor={"kl": 0.3, "js": 0.08, "psi": 0.35},
    )
    done = replace(
        result("credit", (significant, noise)),
        drifted_features={"warning": 0, "critical": 1}, drifted_share=0.5, dataset_drift=True,
    )
    snapshot = Snapshot(1, (state("credit", (), latest=done, scored=done),), reload_successful=True, reload_success_s=1.0)
    families = scrape(snapshot)
    pvalues = values(families["driftmon_drift_pvalue"])
    assert pvalues == {key(monitor="credit", feature="income", team="risk"): 1e-12, key(monitor="credit", feature="age", team="risk"): 0.2}
    assert values(families["driftmon_drift_pvalue_adjusted"])[key(monitor="credit", feature="age", team="risk")] == 0.4
    assert values(families["driftmon_js_divergence_noise_floor"])[key(monitor="credit", feature="age", team="risk")] == 0.08
    drifted = values(families["driftmon_drifted_features"])
    assert drifted == {key(monitor="credit", severity="warning", team="risk"): 0, key(monitor="credit", severity="critical", team="risk"): 1}
    assert values(families["driftmon_drifted_features_ratio"]) == {key(monitor="credit", team="risk"): 0.5}
    assert values(families["driftmon_dataset_drift"]) == {key(monitor="credit", team="risk"): 1}
    alerts = values(families["driftmon_drift_alert"])
    assert alerts[key(monitor="credit", feature="income", measure="js", severity="critical", team="risk")] == 1
    assert alerts[key(monitor="credit", feature="age", measure="js", severity="critical", team="risk")] == 0
    assert alerts[key(monitor="credit", feature="age", measure="psi", severity="critical", team="risk")] == 0


@pytest.mark.parametrize("accept", [None, OPENMETRICS], ids=["text", "openmetrics"])
def test_escaped_label_values_equal_prometheus_client_rendering(accept: str | None) -> None:
    """Feature names and label values with quotes, backslashes and newlines are escaped exactly as prometheus_client does."""
    weird = state(
        "odd",
        (feature('we"ird\\na\nme', {"kl": 0.5, "js": math.inf, "psi": 1e-300}),),
        labels={"team": 'a"b\\c\nd', "zone": "ü"},
    )
    snapshot = Snapshot(3, (weird,), reload_successful=True, reload_success_s=2.0)
    exposition = Exposition(lambda: snapshot)
    encode = om_exposition.generate_latest if accept else generate_latest
    body, _ = exposition.render(accept)
    assert body == encode(exposition.registry)
    assert b'team="a\\"b\\\\c\\nd"' in body


def test_bin_shares_only_with_export_bins_two_series_per_bin(snapshot: Snapshot) -> None:
    """driftmon_bin_share is absent by default; with export: {bins: true} a monitor has one series per bin and side with the bin's share, labelled monitor, feature, bin, side (and the monitor's labels); promtool accepts it."""
    from driftmon.explain import BinExplanation

    bins = (
        BinExplanation("(-inf, 0)", "underflow", 0.0, 4.0, 0.0, 0.04, {}),
        BinExplanation('a "quoted" \\ bin', "category", 60.0, 50.0, 0.6, 0.5, {}),
        BinExplanation("__missing__", "missing", 40.0, 46.0, 0.4, 0.46, {}),
    )
    assert "driftmon_bin_share" not in scrape(snapshot)
    with_bins = replace(feature("age", {"js": 0.01}), bins=bins)
    plain = state("plain", (with_bins,))
    done = replace(result("shown", (with_bins,)), export_bins=True)
    shown = state("shown", (with_bins,), latest=done, scored=done)
    exported = Snapshot(1, (plain, shown))
    family = scrape(exported)["driftmon_bin_share"]
    assert family.type == "gauge"
    expected = {}
    for item in bins:
        for side, share in (("reference", item.reference_share), ("live", item.live_share)):
            expected[key(monitor="shown", team="risk", feature="age", bin=item.label, side=side)] = share
    assert values(family) == expected
    body, _ = Exposition(lambda: exported).render(None)
    promtool = require_binary("promtool")
    check = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()


def test_export_bins_is_read_from_the_config_per_monitor(tmp_path: Any) -> None:
    """`export: {bins: true}` in defaults or per monitor reaches the evaluation result; the default is off."""
    from driftmon import config

    path = tmp_path / "c.yaml"
    path.write_text(
        "defaults: {export: {bins: true}}\nmonitors:\n"
        "  - {name: a, reference: {type: file, path: r.csv}, live: {type: file, path: l.csv}, features: [x]}\n"
        "  - {name: b, export: {bins: false}, reference: {type: file, path: r.csv}, live: {type: file, path: l.csv}, features: [x]}\n"
    )
    monitors = config.load(path).monitors
    assert [m.export_bins for m in monitors] == [True, False]
    path.write_text("monitors:\n  - {name: a, reference: {type: file, path: r.csv}, live: {type: file, path: l.csv}, features: [x]}\n")
    assert config.load(path).monitors[0].export_bins is False


def _quality_state() -> Snapshot:
    """One monitor with a null flood on `age`, a unit change on `income`, a new category on
    `city` and too few rows for volume.min_rows, each checked by driftmon.quality."""
    from driftmon.histogram import CategoricalBins, Histogram, NumericBins
    from driftmon.quality import Limits, feature_quality

    limits = {check: Limits() for check in ("missing", "out_of_range", "unseen")}
    spans = NumericBins((0.0, 1.0, 2.0))
    age = feature_quality(
        "age", Histogram(spans, [0, 500, 490, 0], missing=10), Histogram(spans, [0, 200, 200, 0], missing=100), limits
    )
    income = feature_quality("income", Histogram(spans, [0, 500, 500, 0]), Histogram(spans, [0, 10, 10, 480]), limits)
    cities = CategoricalBins(("a", "b"), others=frozenset())
    city = feature_quality("city", Histogram(cities, [500, 500, 0, 0]), Histogram(cities, [200, 200, 0, 100]), limits)
    features = tuple(
        replace(feature(name, {"js": 0.001}), quality=checked)
        for name, checked in (("age", age), ("income", income), ("city", city))
    )
    done = result("q", features, live_rows=500.0, volume="critical", min_rows=1000)
    return Snapshot(1, (state("q", features, latest=done, scored=done),))


def test_data_quality_series_follow_the_checks() -> None:
    """Missing and out-of-range ratios, one alert per check and severity (1 at or above it),
    the volume alert without a feature label, and the live rows."""
    families = scrape(_quality_state())
    missing = values(families["driftmon_missing_ratio"])
    assert missing[key(monitor="q", team="risk", feature="age", side="reference")] == pytest.approx(0.01)
    assert missing[key(monitor="q", team="risk", feature="age", side="live")] == pytest.approx(0.2)
    out = values(families["driftmon_out_of_range_ratio"])
    assert out[key(monitor="q", team="risk", feature="income", direction="above")] == pytest.approx(0.96)
    assert out[key(monitor="q", team="risk", feature="income", direction="below")] == 0.0
    assert not any(dict(labels)["feature"] == "city" for labels in out)  # categorical: no range
    alerts = values(families["driftmon_quality_alert"])
    base = {"monitor": "q", "team": "risk"}
    assert alerts[key(**base, feature="age", check="missing", severity="warning")] == 1.0  # +19 pp
    assert alerts[key(**base, feature="age", check="missing", severity="critical")] == 0.0
    assert alerts[key(**base, feature="income", check="out_of_range", severity="critical")] == 1.0
    assert alerts[key(**base, feature="city", check="unseen", severity="critical")] == 1.0
    assert alerts[key(**base, feature="age", check="constant", severity="warning")] == 0.0
    assert key(**base, feature="city", check="out_of_range", severity="warning") not in alerts
    assert alerts[key(**base, check="volume", severity="critical")] == 1.0
    assert values(families["driftmon_live_rows"]) == {key(**base): 500.0}


def test_promtool_accepts_the_data_quality_series() -> None:
    """`promtool check metrics` finds no problem with the data-quality families."""
    promtool = require_binary("promtool")
    body, _ = Exposition(_quality_state).render(None)
    assert b"driftmon_quality_alert" in body
    check = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
