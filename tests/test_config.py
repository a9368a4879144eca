"""The config file: inheritance, ${VAR}, and errors that name the file, the key path and the problem."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml

from driftmon import config, config_schema
from driftmon.divergence import MEASURE_NAMES
from driftmon.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

BASE = """
defaults:
  schedule: 30s
  thresholds:
    js: {warning: 0.05, critical: 0.1}
monitors:
  - name: m1
    reference: {type: file, path: ref.csv}
    live: {type: file, path: live.csv}
    features: [age]
"""


def load_text(write: Callable[[str, str], Path], text: str, **env: str) -> config.Config:
    return config.load(write("driftmon.yaml", text), environ=env)


def error_of(write: Callable[[str, str], Path], text: str, **env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_text(write, text, **env)
    return str(caught.value)


def test_measure_names_match_divergence_table() -> None:
    """The config's measure names are exactly the measures divergence.py implements."""
    assert set(config_schema.MeasureName.__args__) == set(MEASURE_NAMES)  # type: ignore[attr-defined]


def test_builtin_defaults(write: Callable[[str, str], Path]) -> None:
    """A minimal monitor gets the documented built-in defaults."""
    cfg = load_text(
        write,
        """
        monitors:
          - name: m
            reference: {type: file, path: r.csv}
            live: {type: file, path: l.csv}
            features: [a]
        """,
    )
    monitor = cfg.monitors[0]
    assert monitor.schedule == config.Schedule(interval_s=300.0)
    assert monitor.measures == ("kl", "js", "psi")
    assert monitor.log_base == 2.0
    assert monitor.smoothing.method == "unseen" and monitor.smoothing.alpha == 0.5
    assert monitor.min_samples == 100
    assert monitor.features[0].rule.strategy == "quantile" and monitor.features[0].rule.bins == 10
    assert monitor.features[0].rule.max_categories == 50
    assert monitor.features[0].thresholds == {"js": (0.004, 0.02), "psi": (0.02, 0.1)}
    assert monitor.base_dir == cfg.path.parent.resolve()


def test_defaults_inherited_and_overridden_per_monitor_and_feature(write: Callable[[str, str], Path]) -> None:
    """Monitor settings override defaults key by key; feature settings override the monitor's."""
    cfg = load_text(
        write,
        """
        defaults:
          schedule: 1h
          measures: [kl, js, psi, tvd]
          log_base: e
          binning: {bins: 20}
          thresholds:
            js: {warning: 0.05, critical: 0.1}
            tvd: {warning: 0.2}
        monitors:
          - name: m
            schedule: {cron: "*/5 * * * *"}
            binning: {strategy: uniform}
            thresholds: {js: {critical: 0.3}, psi: null}
            reference: {type: file, path: r.csv}
            live: {type: file, path: l.csv}
            features:
              - a
              - {name: b, binning: {bins: 5}, thresholds: {tvd: {critical: 0.5}}}
              - {name: c, kind: categorical, max_categories: 7}
        """,
    )
    monitor = cfg.monitors[0]
    assert monitor.schedule == config.Schedule(cron="*/5 * * * *")
    assert monitor.log_base == math.e
    a, b, c = monitor.features
    assert (a.rule.strategy, a.rule.bins) == ("uniform", 20)
    assert (b.rule.strategy, b.rule.bins) == ("uniform", 5)
    assert a.thresholds == {"js": (0.05, 0.3), "tvd": (0.2, None)}
    assert b.thresholds == {"js": (0.05, 0.3), "tvd": (0.2, 0.5)}
    assert c.rule.kind == "categorical" and c.rule.max_categories == 7


def test_env_vars_substituted(write: Callable[[str, str], Path]) -> None:
    """${VAR} in any string is replaced from the environment."""
    cfg = load_text(write, BASE.replace("ref.csv", '"${DATA}/ref.csv"'), DATA="/srv/data")
    assert cfg.monitors[0].reference.path == "/srv/data/ref.csv"


def test_unset_env_var_is_an_error(write: Callable[[str, str], Path]) -> None:
    """An unset ${VAR} is an error naming the variable and the key path."""
    message = error_of(write, BASE.replace("ref.csv", '"${NOPE_NOT_SET}/ref.csv"'))
    assert "NOPE_NOT_SET is not set" in message
    assert "monitors[0].reference.path" in message


def test_malformed_yaml_names_the_line(write: Callable[[str, str], Path]) -> None:
    """Malformed YAML is an error with the file and the line of the problem."""
    message = error_of(write, "monitors:\n  - name: m\n    features: [a\n  b: c\n")
    assert "driftmon.yaml:" in message and "invalid YAML" in message
    assert ":4:" in message or ":3:" in message


def test_duplicate_yaml_keys_are_refused(write: Callable[[str, str], Path]) -> None:
    """A key given twice in one mapping is an error instead of a silent override."""
    message = error_of(write, BASE.replace("  - name: m1\n", "  - name: m1\n    name: m2\n"))
    assert "duplicate key 'name'" in message


@pytest.mark.parametrize(
    ("old", "new", "path", "problem"),
    [
        ("schedule: 30s", "schedul: 30s", "defaults.schedul", "did you mean 'schedule'"),
        ("features: [age]", "features: [{name: age, binning: {biins: 3}}]", "monitors[0].features[0].binning.biins", "did you mean 'bins'"),
        ("features: [age]", "features: [{name: age, binning: {bins: 1}}]", "monitors[0].features[0].binning.bins", "got 1; expected a whole number from 2 to 10000"),
        ("features: [age]", "features: [{name: age, binning: {edges: [1, 1, 2]}}]", "monitors[0].features[0].binning.edges", "strictly increasing"),
        ("schedule: 30s", "schedule: 30s\n  measures: [kl, jsd]", "defaults.measures[1]", "'js'"),
        ("schedule: 30s", "schedule: soon", "defaults.schedule", "is not a duration like 30s, 5m, 1h"),
        ("schedule: 30s", "min_samples: many", "defaults.min_samples", "expected a whole number"),
        ("{type: file, path: live.csv}", "{type: kafka, path: x}", "monitors[0].live", "unknown source type 'kafka'"),
        ("{type: file, path: live.csv}", "{path: x}", "monitors[0].live", "needs a `type:`"),
        ("{type: file, path: live.csv}", "{type: file}", "monitors[0].live.path", "required key 'path' is missing"),
        ("name: m1", "name: 'bad name!'", "monitors[0].name", "expected a name of letters, digits"),
        ("js: {warning: 0.05, critical: 0.1}", "js: {warning: 0.5, critical: 0.1}", "defaults.thresholds.js", "must not exceed critical"),
        ("js: {warning: 0.05, critical: 0.1}", "hellinger: {warning: 0.1}", "monitors[0].thresholds.hellinger", "not among this monitor's measures"),
    ],
)
def test_bad_values_name_key_path_and_problem(
    write: Callable[[str, str], Path], old: str, new: str, path: str, problem: str
) -> None:
    """Each kind of bad value is reported with the file, the key path and what is wrong."""
    text = BASE.replace(old, new, 1)
    if path.startswith("monitors[0].thresholds"):
        text = BASE.replace("features: [age]", "features: [age]\n    thresholds: {hellinger: {warning: 0.1}}")
    message = error_of(write, text)
    assert "driftmon.yaml" in message
    assert path in message, message
    assert problem in message, message


def test_every_problem_reported_at_once_with_lines(write: Callable[[str, str], Path]) -> None:
    """Several bad keys are reported together, each with its line."""
    text = BASE.replace("schedule: 30s", "schedul: 30s").replace("features: [age]", "features: [age]\n    min_samples: -1")
    message = error_of(write, text)
    assert "2 problems" in message
    assert "driftmon.yaml:2: defaults.schedul:" in message
    assert "driftmon.yaml:10: monitors[0].min_samples (monitor m1):" in message


def test_duplicate_monitor_names(write: Callable[[str, str], Path]) -> None:
    """Two monitors with one name are an error naming the second one's path."""
    text = BASE + """
  - name: m1
    reference: {type: file, path: ref.csv}
    live: {type: file, path: live.csv}
    features: [b]
"""
    message = error_of(write, text)
    assert "monitors[1].name" in message and "duplicate monitor name 'm1'" in message


def test_missing_config_file(tmp_path: Path) -> None:
    """A config path that does not exist is an error naming it."""
    with pytest.raises(ConfigError, match=r"nope\.yaml: config file does not exist"):
        config.load(tmp_path / "nope.yaml")


def test_empty_or_non_mapping_file(write: Callable[[str, str], Path]) -> None:
    """An empty file or a list at the top level is explained."""
    assert "empty" in error_of(write, "")
    assert "top level must be a mapping" in error_of(write, "- a\n- b\n")


def test_equal_configs_resolve_equal(write: Callable[[str, str], Path]) -> None:
    """Loading the same text twice gives equal monitors (what reload compares)."""
    first = load_text(write, BASE).monitors[0]
    second = load_text(write, BASE).monitors[0]
    changed = load_text(write, BASE.replace("30s", "31s")).monitors[0]
    assert first == second
    assert first != changed


def test_json_schema_accepts_the_example_and_rejects_typos() -> None:
    """The JSON Schema validates the shipped example config and rejects an unknown key."""
    schema = config_schema.json_schema()
    example = yaml.safe_load((REPO / "config" / "driftmon.example.yaml").read_text())
    jsonschema.validate(example, schema)
    example["defaults"]["schedul"] = "5m"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(example, schema)


def test_example_config_is_valid() -> None:
    """The shipped example config loads."""
    cfg = config.load(REPO / "config" / "driftmon.example.yaml")
    assert [m.name for m in cfg.monitors] == ["credit-model", "fraud-model"]


def test_parse_duration() -> None:
    """Durations combine units like Prometheus's."""
    assert config.parse_duration("30s") == 30
    assert config.parse_duration("1h30m") == 5400
    assert config.parse_duration("1d") == 86400
    with pytest.raises(ValueError, match="not a duration"):
        config.parse_duration("5 minutes")


# ---------------------------------------------------------------------------
# values the scheduler cannot run are refused at load time (validate == run)


def monitor_with(extra: str) -> str:
    return (
        "monitors:\n  - name: m\n    reference: {type: file, path: r.csv}\n"
        "    live: {type: file, path: l.csv}\n    features: [a]\n" + extra
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    schedule: 99999999999999d\n", "driftmon.yaml:6: monitors[0].schedule (monitor m): '99999999999999d' is out of range: use a duration like 30s, 5m, 1h between 1s and 365d"),
        ("    schedule: 0s\n", "driftmon.yaml:6: monitors[0].schedule (monitor m): '0s' is out of range"),
        ("    timeout: 0s\n", "driftmon.yaml:6: monitors[0].timeout (monitor m): '0s' is out of range: use a duration like 30s, 5m, 1h between 1s and 365d"),
        ("    jitter: 999999999d\n", "driftmon.yaml:6: monitors[0].jitter (monitor m): '999999999d' is out of range"),
        ("    schedule: 1m\n    jitter: 1m\n", "jitter '1m' must be shorter than the schedule's period (1m)"),
        ("    schedule: {cron: '*/5 * * * *'}\n    jitter: 10m\n", "jitter '10m' must be shorter than the schedule's period (5m)"),
        ("    schedule: {cron: '0 0 * * mon-'}\n", "driftmon.yaml:6: monitors[0].schedule.cron (monitor m): '0 0 * * mon-' is not a valid crontab expression"),
        ("    schedule: {cron: '0 0 30 2 *'}\n", "'0 0 30 2 *' never fires"),
        ("    live: {type: file, path: l.csv, window: {column: t, last: 99999999999999d}}\n", "monitors[0].live.window.last"),
    ],
)
def test_schedules_and_durations_run_cannot_use_are_refused(
    write: Callable[[str, str], Path], extra: str, message: str
) -> None:
    """Overflowing, zero and unschedulable durations and crons fail validation with one clear problem each."""
    text = monitor_with(extra)
    if "live:" in extra:
        text = text.replace("    live: {type: file, path: l.csv}\n", "")
    error = error_of(write, text)
    assert message in error
    assert "1 problem in the config" in error  # no noise from the other branch of `schedule`'s union


def test_bounded_durations_within_range_are_accepted(write: Callable[[str, str], Path]) -> None:
    """A jitter shorter than the period and a 1 s timeout are fine, and resolve to seconds."""
    monitor = load_text(write, monitor_with("    schedule: 1m\n    jitter: 30s\n    timeout: 1s\n")).monitors[0]
    assert (monitor.schedule.interval_s, monitor.jitter_s, monitor.timeout_s) == (60.0, 30.0, 1.0)


# ---------------------------------------------------------------------------
# hostile YAML


def billion_laughs() -> str:
    """About 300 bytes that expand to 9^9 (387 million) strings through nested aliases."""
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join(["*" + previous] * 9) + "]\n"
        previous = name
    return text + "monitors: *i\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (billion_laughs(), "aliases (*name) expand the document by more than 100,000 values"),
        ("monitors: " + "[" * 5000 + "]" * 5000 + "\n", "nested more than 64 levels deep"),
        ("".join("  " * i + "k:\n" for i in range(3000)), "nested more than 64 levels deep"),
        ("monitors: &m\n  - *m\n", "an alias refers to the block that contains it"),
    ],
    ids=["billion-laughs", "deep-flow", "deep-block", "recursive-anchor"],
)
def test_hostile_yaml_is_refused_quickly(write: Callable[[str, str], Path], text: str, message: str) -> None:
    """Alias bombs, 5,000-deep nesting and self-referencing anchors are a ConfigError from the YAML limits.

    The guard is CPU time, not wall time (a loaded CI machine must not fail it): an expanded
    alias bomb costs minutes of CPU, the limits a few milliseconds.
    """
    import time

    started = time.process_time()
    error = error_of(write, text)
    assert time.process_time() - started < 5.0
    assert message in error and "invalid YAML" in error


def test_anchors_that_share_blocks_still_work(write: Callable[[str, str], Path]) -> None:
    """Ordinary anchors (one source block shared by many monitors) stay within the limits."""
    monitors = "".join(
        f"  - name: m{i}\n    reference: *ref\n    live: *live\n    features: [a]\n" for i in range(500)
    )
    text = "x-ref: &ref {type: file, path: r.csv}\nx-live: &live {type: file, path: l.csv}\nmonitors:\n" + monitors
    text = text.replace("x-ref: ", "defaults: {}\n_ref: ").replace("x-live: ", "_live: ")
    error = error_of(write, text)  # the helper keys are unknown; the anchors themselves were fine
    assert "unknown key '_ref'" in error and "invalid YAML" not in error


@pytest.mark.parametrize("tagged", ["!!float path", "!!int x", "!!timestamp yesterday", "!!bool maybe"])
def test_tagged_values_that_cannot_be_converted_are_config_errors(
    write: Callable[[str, str], Path], tagged: str
) -> None:
    """`!!float path` and friends are a ConfigError naming the file, not a ValueError (fuzz finding)."""
    error = error_of(write, f"monitors:\n  - name: m\n    labels: {{team: {tagged}}}\n")
    assert "driftmon.yaml" in error and "invalid YAML" in error


def test_quality_settings_resolve_and_warning_above_critical_is_refused(write) -> None:
    """quality: limits per check reach the resolved monitor; null turns the checks off; a
    warning above its critical is a config error naming the key."""
    base = "monitors:\n  - name: m\n    reference: {type: file, path: r.csv}\n    live: {type: file, path: l.csv}\n    features: [x]\n"
    monitor = config.load(write("q.yaml", base + "    quality: {missing: {warning: 0.01, absolute: true}}\n")).monitors[0]
    assert monitor.quality is not None
    assert monitor.quality.limits["missing"].warning == 0.01
    assert monitor.quality.limits["missing"].critical == 0.2
    assert monitor.quality.limits["missing"].absolute
    assert monitor.quality.limits["unseen"].warning == 0.05
    assert config.load(write("off.yaml", base + "    quality: null\n")).monitors[0].quality is None
    with pytest.raises(ConfigError, match=r"quality\.missing.*warning \(0\.5\) must not exceed critical \(0\.2\)"):
        config.load(write("bad.yaml", base + "    quality: {missing: {warning: 0.5}}\n"))
