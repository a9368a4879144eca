"""The metric table (docs/metrics.md): what is exported of the latest results.

The daemon swaps in an immutable :class:`~driftmon.results.Snapshot` whenever an
evaluation ends or the config is reloaded; :mod:`driftmon.collector` builds every metric
family of this table from the snapshot it is given, so a monitor or feature that left the
config is gone from the next scrape.
What is exported, per monitor (plus the monitor's own ``labels`` on every series)::

    # HELP driftmon_js_divergence Jensen-Shannon divergence ... in bits (log base 2); range [0, 1]
    # TYPE driftmon_js_divergence gauge
    driftmon_js_divergence{feature="age",monitor="credit-model",team="risk"} 0.0031
    driftmon_js_divergence_threshold{feature="age",monitor="credit-model",severity="warning",team="risk"} 0.05
    driftmon_drift_alert{feature="age",measure="js",monitor="credit-model",severity="warning",team="risk"} 0.0
    driftmon_samples{feature="age",monitor="credit-model",side="live",team="risk"} 812.0
    driftmon_monitor_up{monitor="credit-model",team="risk"} 1.0
    driftmon_evaluations_total{monitor="credit-model",team="risk"} 12.0

The metrics are a table (:data:`MONITOR_METRICS`, :data:`GLOBAL_METRICS`): a new metric
is one :class:`MetricSpec` entry.

Scrapes cost no computation: :class:`driftmon.exposition.Exposition` renders these
families once per change and serves the bytes.
"""

from __future__ import annotations

import functools
import math
import platform
from collections.abc import Callable, Iterator, Mapping

from driftmon import __version__, joint_series, model_series, quality_series, reference_series, segment_series
from driftmon.divergence import MEASURE_NAMES, MEASURES
from driftmon.evaluate import SEVERITY_ORDER, FeatureResult
from driftmon.metric_spec import SEVERITIES, Labels, MetricSpec, Samples, static_help
from driftmon.results import MonitorState, Snapshot

__all__ = ["GLOBAL_METRICS", "MONITOR_METRICS", "SCORE_METRICS", "SEVERITIES", "Labels", "MetricSpec", "score_help"]

# The score metric of each measure (docs/metrics.md); its threshold metric adds `_threshold`.
SCORE_METRICS: Mapping[str, str] = {
    "kl": "driftmon_kl_divergence",
    "kl_reverse": "driftmon_kl_divergence_reverse",
    "js": "driftmon_js_divergence",
    "psi": "driftmon_population_stability_index",
    "hellinger": "driftmon_hellinger_distance",
    "tvd": "driftmon_total_variation_distance",
}
# ---------------------------------------------------------------------------
# HELP texts of the scores: definition and unit (the monitors' log_base)

_UNITS = {2.0: "bits (log base 2)", math.e: "nats (natural log)", 10.0: "hartleys (log base 10)"}


def _unit(log_base: float) -> str:
    return _UNITS.get(log_base, f"log base {log_base:g} units")


def _range(measure: str, log_base: float) -> str:
    bound = MEASURES[measure].upper_bound
    if bound is None:
        return "[0, +Inf)"
    if MEASURES[measure].uses_log_base:  # bounds are given in bits
        bound = bound * math.log(2.0) / math.log(log_base)
    return f"[0, {bound:.4g}]"


def score_help(measure: str, snapshot: Snapshot) -> str:
    """The definition of ``measure`` and the unit it is exported in."""
    spec = MEASURES[measure]
    if not spec.uses_log_base:
        return spec.description
    definition = spec.description.split(", in log_base units")[0]
    by_base: dict[float, list[str]] = {}
    for state in snapshot.monitors:
        if measure in state.measures:
            by_base.setdefault(state.log_base, []).append(state.name)
    if len(by_base) <= 1:
        base = next(iter(by_base), 2.0)
        return f"{definition}, in {_unit(base)}; range {_range(measure, base)}"
    parts = []
    for base, names in by_base.items():
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        parts.append(f"{_unit(base)}, range {_range(measure, base)}, for {shown}")
    return f"{definition}, in the unit of each monitor's log_base: " + "; ".join(parts)


# ---------------------------------------------------------------------------
# the samples of each metric, per monitor


def _thresholds(feature: FeatureResult, measure: str) -> Iterator[tuple[str, float]]:
    levels = feature.thresholds.get(measure, (None, None))
    for severity, level in zip(SEVERITIES, levels, strict=True):
        if level is not None:
            yield severity, float(level)


def _per_feature(
    measure: str, values: Callable[[FeatureResult], Mapping[str, float]]
) -> Callable[[MonitorState], Samples]:
    """Samples of one value per feature for ``measure`` (a score, a noise floor), where present."""

    def samples(state: MonitorState) -> Samples:
        if measure in state.measures:
            for feature in state.features:
                value = values(feature).get(measure)
                if value is not None:
                    yield {"feature": feature.feature}, value

    return samples


def _scores(feature: FeatureResult) -> Mapping[str, float]:
    return feature.scores


def _noise_floor(feature: FeatureResult) -> Mapping[str, float]:
    return feature.noise_floor


def _score_thresholds(measure: str) -> Callable[[MonitorState], Samples]:
    def samples(state: MonitorState) -> Samples:
        if measure in state.measures:
            for feature in state.features:
                for severity, level in _thresholds(feature, measure):
                    yield {"feature": feature.feature, "severity": severity}, level

    return samples


def _alerts(state: MonitorState) -> Samples:
    for feature in state.features:
        for measure in state.measures:
            value = feature.scores.get(measure)
            if value is None or math.isnan(value):
                continue
            # a share moved by share_shift reaches warning below the score's threshold (evaluate.score)
            shifted = SEVERITY_ORDER.get(feature.severity.get(measure, "ok"), 0) >= SEVERITY_ORDER["warning"]
            for severity, level in _thresholds(feature, measure):
                reached = value >= level or (severity == "warning" and shifted)
                drifted = feature.sufficient and feature.significant and reached
                yield {"feature": feature.feature, "measure": measure, "severity": severity}, float(drifted)


def _pvalues(state: MonitorState) -> Samples:
    for feature in state.features:
        if feature.pvalue is not None:
            yield {"feature": feature.feature}, feature.pvalue


def _adjusted_pvalues(state: MonitorState) -> Samples:
    for feature in state.features:
        if feature.pvalue_adjusted is not None:
            yield {"feature": feature.feature}, feature.pvalue_adjusted


def _drifted_features(state: MonitorState) -> Samples:
    if state.scored is not None:
        for severity, count in state.scored.drifted_features.items():
            yield {"severity": severity}, float(count)


def _drifted_share(state: MonitorState) -> Samples:
    if state.scored is not None and state.scored.drifted_share is not None:
        yield {}, state.scored.drifted_share


def _dataset_drift(state: MonitorState) -> Samples:
    if state.scored is not None and state.scored.dataset_drift is not None:
        yield {}, float(state.scored.dataset_drift)


def _samples(state: MonitorState) -> Samples:
    for feature in state.features:
        yield {"feature": feature.feature, "side": "reference"}, feature.reference_count
        yield {"feature": feature.feature, "side": "live"}, feature.live_count


def _unseen(state: MonitorState) -> Samples:
    for feature in state.features:
        if feature.live_count > 0:  # a share of nothing is undefined
            yield {"feature": feature.feature}, feature.unseen_fraction


def _bin_shares(state: MonitorState) -> Samples:
    """Each bin's share per side, only for monitors with ``export: {bins: true}``."""
    if state.scored is not None and state.scored.export_bins:
        for feature in state.features:
            for item in feature.bins:
                yield {"feature": feature.feature, "bin": item.label, "side": "reference"}, item.reference_share
                yield {"feature": feature.feature, "bin": item.label, "side": "live"}, item.live_share


def _up(state: MonitorState) -> Samples:
    if state.latest is not None:
        yield {}, float(state.latest.ok)


def _evaluations(state: MonitorState) -> Samples:
    yield {}, float(state.evaluations)


def _failures(state: MonitorState) -> Samples:
    yield {}, float(state.failures)


def _duration(state: MonitorState) -> Samples:
    if state.latest is not None:
        yield {}, state.latest.duration_s


def _last_success(state: MonitorState) -> Samples:
    if state.last_success_s is not None:
        yield {}, state.last_success_s


def _interval(state: MonitorState) -> Samples:
    yield {}, state.interval_s


def _score_specs() -> list[MetricSpec]:
    specs = []
    for measure in MEASURE_NAMES:
        name = SCORE_METRICS[measure]
        specs.append(MetricSpec(name, "gauge", functools.partial(score_help, measure), _per_feature(measure, _scores)))
    for measure in MEASURE_NAMES:
        name = SCORE_METRICS[measure]
        text = f"Score of {measure} at which a feature is at the severity (warning, critical); the unit of {name}"
        specs.append(MetricSpec(f"{name}_threshold", "gauge", static_help(text), _score_thresholds(measure)))
    for measure in MEASURE_NAMES:
        name = SCORE_METRICS[measure]
        text = f"Expected {measure} with no drift at the last evaluation's sample sizes (simulated); the unit of {name}"
        specs.append(MetricSpec(f"{name}_noise_floor", "gauge", static_help(text), _per_feature(measure, _noise_floor)))
    return specs


MONITOR_METRICS: tuple[MetricSpec, ...] = (
    *_score_specs(),
    MetricSpec(
        "driftmon_drift_alert",
        "gauge",
        static_help(
            "1 while the feature is judged drifted by the measure at the severity "
            "(score >= threshold and corrected p-value <= significance, with at least min_samples live rows), else 0"
        ),
        _alerts,
    ),
    MetricSpec(
        "driftmon_drift_pvalue",
        "gauge",
        static_help("P-value of the test that live and reference are one distribution (chi-square family, both sizes)"),
        _pvalues,
    ),
    MetricSpec(
        "driftmon_drift_pvalue_adjusted",
        "gauge",
        static_help("The p-value after the monitor's multiple-testing correction across its features"),
        _adjusted_pvalues,
    ),
    MetricSpec(
        "driftmon_drifted_features",
        "gauge",
        static_help(
            "Features whose worst severity is the severity (warning, critical) at the last successful evaluation"
        ),
        _drifted_features,
    ),
    MetricSpec(
        "driftmon_drifted_features_ratio",
        "gauge",
        static_help("Share (0-1) of judged features drifted (at dataset_drift.severity, default critical)"),
        _drifted_share,
    ),
    MetricSpec(
        "driftmon_dataset_drift",
        "gauge",
        static_help("1 while the share of drifted features reaches dataset_drift.share, else 0 (only if configured)"),
        _dataset_drift,
    ),
    MetricSpec(
        "driftmon_samples",
        "gauge",
        static_help("Rows counted in the last successful evaluation, per side (reference, live)"),
        _samples,
    ),
    MetricSpec(
        "driftmon_unseen_fraction",
        "gauge",
        static_help("Share (0-1) of live rows in bins empty in the reference (out of range, unseen categories)"),
        _unseen,
    ),
    *quality_series.SPECS,
    *model_series.SPECS,
    *joint_series.SPECS,
    *segment_series.SPECS,
    *reference_series.SPECS,
    MetricSpec(
        "driftmon_bin_share",
        "gauge",
        static_help(
            "Share (0-1) of the side's rows in the bin after smoothing (side: reference, live); "
            "only for monitors with export: {bins: true}"
        ),
        _bin_shares,
    ),
    MetricSpec(
        "driftmon_monitor_up",
        "gauge",
        static_help("1 if the last evaluation of the monitor succeeded, else 0"),
        _up,
    ),
    MetricSpec(
        "driftmon_evaluations_total",
        "counter",
        static_help("Evaluations attempted since the daemon started"),
        _evaluations,
    ),
    MetricSpec(
        "driftmon_evaluation_failures_total",
        "counter",
        static_help("Evaluations that failed (source errors, bad data, timeouts)"),
        _failures,
    ),
    MetricSpec(
        "driftmon_last_evaluation_duration_seconds",
        "gauge",
        static_help("How long the last evaluation took, in seconds"),
        _duration,
    ),
    MetricSpec(
        "driftmon_last_success_timestamp_seconds",
        "gauge",
        static_help("Unix time the last successful evaluation ended (absent until one succeeded)"),
        _last_success,
    ),
    MetricSpec(
        "driftmon_schedule_interval_seconds",
        "gauge",
        static_help("The monitor's schedule period in seconds (cron: the gap between its next two runs)"),
        _interval,
    ),
)


def _reload_successful(snapshot: Snapshot) -> Samples:
    yield {}, float(snapshot.reload_successful)


def _reload_timestamp(snapshot: Snapshot) -> Samples:
    yield {}, snapshot.reload_success_s


def _build_info(snapshot: Snapshot) -> Samples:
    yield {"version": __version__, "python": platform.python_version()}, 1.0


GLOBAL_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "driftmon_config_last_reload_successful",
        "gauge",
        static_help("Whether the last configuration reload attempt was successful"),
        _reload_successful,
    ),
    MetricSpec(
        "driftmon_config_last_reload_success_timestamp_seconds",
        "gauge",
        static_help("Unix time of the last successful configuration reload (or the start)"),
        _reload_timestamp,
    ),
    MetricSpec(
        "driftmon_build_info",
        "gauge",
        static_help("driftmon's version and the Python running it; always 1"),
        _build_info,
    ),
)
