"""The generated JSON Schema (config/driftmon.schema.json) that editors use: current, descriptive, and
accepting every valid config (and only the shapes driftmon accepts)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from driftmon import config, config_schema
from driftmon.cli import main

REPO = Path(__file__).resolve().parents[1]
SCHEMA_FILE = REPO / "config" / "driftmon.schema.json"

# Every key of every config model (config.py) with a non-default value, and each source type.
KITCHEN_SINK = """\
defaults:
  schedule: {cron: "*/5 * * * *"}
  measures: [kl, kl_reverse, js, psi, hellinger, tvd]
  log_base: e
  smoothing: {method: additive, alpha: 0.25, epsilon: 1.0e-5}
  binning: {strategy: uniform, bins: 20, edges: null, max_categories: 20}
  min_samples: 50
  thresholds:
    js: {warning: auto, critical: 0.2}
    psi: null
    tvd: {critical: 0.3}
  significance: null
  correction: fdr
  share_shift: 0.05
  auto_thresholds: {warning_quantile: 0.9, critical_quantile: 0.995, draws: 500, seed: 3}
  dataset_drift: {share: 0.5, severity: warning}
  export: {bins: true}
  quality:
    missing: {warning: 0.02, critical: 0.1, absolute: true}
    out_of_range: {warning: null, critical: 0.5}
    unseen: {warning: 0.1, critical: 0.3}
    constant: false
    schema: {missing_column: warning, type_changed: critical, new_column: ok}
  volume: {min_rows: 1000}
  freshness: {max_age: 2h}
  timeout: 2m
  jitter: 10s
  reference_refresh: 1d
monitors:
  - name: rolling
    reference: {from: live, window: 7d, offset: 1h, bins: profile.json}
    live: {type: file, path: "live/*.parquet", window: {column: ts, last: 1h}}
    features: [age]
  - name: seasonal
    reference: {from: live, seasonal: 1w}
    live: {type: sql, url: "duckdb:///:memory:", query: "SELECT 1 AS x", window: {column: ts, last: 1h}}
    features: [x]
  - name: every.key_1
    labels: {team: risk}
    schedule: 1h30m
    reference: {type: file, path: [ref-a.csv, ref-b.csv], format: csv}
    live: {type: file, path: "live/{now:%Y/%m/%d}/*.parquet", window: {column: ts, last: 1d}}
    volume: {expected: previous, period: 7d, min_ratio: 0.25, max_ratio: 4, reference_span: null}
    features:
      - age
      - {name: country, kind: categorical, max_categories: 30, thresholds: {js: {warning: 0.01}}}
      - {name: income, kind: numeric, binning: {edges: [0, 1000, 5000]}}
  - name: histogram-and-sql
    measures: [js]
    reference: {type: histogram, path: profile.json}
    live: {type: sql, url: "duckdb:///:memory:", query: "SELECT 1 AS x", timeout: 1m, allowed_paths: [data]}
    features: [x]
    model:
      task: binary
      prediction: predicted
      score: p
      target: churned
      positive: "yes"
      thresholds: {roc_auc: {warning: 0.02, critical: 0.05, relative: true}, brier: null}
    multivariate: {methods: [reconstruction, classifier], features: [x], sample: 2000, seed: 4}
    segments: {by: [country, device], top: 5}
  - name: prometheus-and-spark
    reference: {type: spark, path: data/ref.parquet, format: parquet, options: {mergeSchema: "true"}, conf: {spark.ui.enabled: "false"}}
    live:
      type: prometheus
      url: http://127.0.0.1:9090
      window: 1h
      offset: 7d
      matchers: 'job="model-server"'
      features: {latency: {histogram: latency_seconds}, city: {counter: city_total, label: value}}
      basic_auth: {username: driftmon, password_file: secret.txt}
      timeout: 10s
    features: [latency, city, x]
"""


def schema_output() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["schema"]) == 0
    return out.getvalue()


def committed() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


def test_committed_schema_is_the_output_of_driftmon_schema() -> None:
    """config/driftmon.schema.json is exactly what `driftmon schema` prints (regenerate: driftmon schema > config/driftmon.schema.json)."""
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_output()


def test_example_points_editors_at_the_committed_schema() -> None:
    """The example's yaml-language-server line names a schema file that exists next to it."""
    example = REPO / "config" / "driftmon.example.yaml"
    lines = [line for line in example.read_text().splitlines() if "$schema=" in line]
    assert lines == ["# yaml-language-server: $schema=./driftmon.schema.json"]
    assert (example.parent / lines[0].split("$schema=", 1)[1]).resolve() == SCHEMA_FILE


@pytest.mark.parametrize("name", ["example", "kitchen-sink"])
def test_schema_accepts_valid_configs(tmp_path: Path, name: str) -> None:
    """Configs driftmon loads are valid against the committed schema: the example and one using every key and source type."""
    if name == "example":
        path = REPO / "config" / "driftmon.example.yaml"
    else:
        path = tmp_path / "kitchen.yaml"
        path.write_text(KITCHEN_SINK)
    config.load(path, environ={})  # driftmon accepts it ...
    jsonschema.validate(yaml.safe_load(path.read_text()), committed())  # ... and so do editors


def test_kitchen_sink_sets_every_key_of_the_config_models() -> None:
    """The config above uses every key of defaults, monitors and features, so the acceptance test covers them all."""
    document = yaml.safe_load(KITCHEN_SINK)
    used_defaults = set(document["defaults"])
    used_monitor = set().union(*(set(m) for m in document["monitors"]))
    used_feature = set().union(*(set(f) for m in document["monitors"] for f in m["features"] if isinstance(f, dict)))
    assert used_defaults == set(config_schema.Settings.model_fields)
    assert used_monitor | used_defaults == set(config_schema.Monitor.model_fields)
    assert used_feature == set(config_schema.Feature.model_fields)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("measures: [js]", "measures: [jsd]"),
        ("schedule: 1h30m", "schedule: soon"),
        ("schedule: 1h30m", "schedul: 1h30m"),
        ("bins: 20", "bins: 1"),
        ("log_base: e", "log_base: 3"),
        ("{type: histogram, path: profile.json}", "{type: kafka, path: profile.json}"),
        ("features: [x]", "features: {x: 1}"),
        ("psi: null", "psi: 0.1"),
        ("unseen: {warning: 0.1, critical: 0.3}", "unseen: {warning: 0.1, critical: 1.5}"),
        ("volume: {min_rows: 1000}", "volume: {min_rows: 0}"),
    ],
)
def test_schema_rejects_what_driftmon_rejects(tmp_path: Path, old: str, new: str) -> None:
    """A typical mistake is refused by the schema (the editor underlines it) and by driftmon."""
    text = KITCHEN_SINK.replace(old, new, 1)
    assert text != KITCHEN_SINK
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(text), committed())
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(config.ConfigError):
        config.load(path, environ={})


def test_schema_describes_every_key_with_enums_and_defaults() -> None:
    """Every key has a description; choices are enums; settings show their built-in defaults."""
    schema = committed()
    for name, definition in schema["$defs"].items():
        for key, node in definition.get("properties", {}).items():
            assert node.get("description"), f"{name}.{key} has no description"
    settings = schema["$defs"]["Settings"]["properties"]
    assert settings["measures"]["items"]["enum"] == ["kl", "kl_reverse", "js", "psi", "hellinger", "tvd"]
    assert settings["correction"]["enum"] == ["holm", "bonferroni", "fdr", "none"]
    assert settings["schedule"]["default"] == "5m"
    assert settings["thresholds"]["default"] == {
        "js": {"warning": 0.004, "critical": 0.02},
        "psi": {"warning": 0.02, "critical": 0.1},
    }
    assert settings["smoothing"]["default"] == {"method": "unseen", "alpha": 0.5, "epsilon": 1e-6}
    assert schema["title"] == "driftmon config" and schema["description"]


def test_the_schema_describes_epsilon_smoothing_as_the_code_smooths() -> None:
    """`driftmon schema` says epsilon smoothing raises every proportion below ε (not only zeros), as `smooth` does."""
    import numpy as np

    from driftmon.divergence import Smoothing, smooth

    smoothing = config.json_schema()["$defs"]["Smoothing"]["properties"]
    assert "raise every proportion below epsilon" in smoothing["method"]["description"]
    assert "proportions below this are raised to it" in smoothing["epsilon"]["description"]
    live, _ = smooth(np.array([1.0, 999_999.0]), np.array([1.0, 1.0]), Smoothing("epsilon", epsilon=1e-5))
    assert live[0] == pytest.approx(1e-5, rel=1e-4)  # a share of 1e-6 (not zero) is raised to ε
