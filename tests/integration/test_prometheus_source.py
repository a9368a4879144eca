"""`type: prometheus` against a real Prometheus scraping a real model server that uses driftmon.instrument.

One module-scoped stack on 127.0.0.1 (1 s scrapes): a model server process loads the
reference profile and counts the drifted live rows it is sent; Prometheus scrapes it;
monitors read the window back. The same rows are also written to a Parquet file, so every
score can be checked against the `type: file` source. Then the model server is restarted
(its counters reset) and sent more rows.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from servers import (
    ServerProcess,
    free_port,
    http_request,
    require_binary,
    running,
    running_prometheus,
    running_pushgateway,
    wait_until,
    write_shipped_rules,
)

from driftmon import config as driftmon_config
from driftmon.evaluate import ERROR, INSUFFICIENT, MonitorResult, evaluate, profile_reference
from driftmon.histogram_file import to_document

HERE = Path(__file__).resolve().parent
FEATURES = ["amount", "flag", "score", "country"]
WINDOW = "15m"


def rows(seed: int, size: int, drifted: bool) -> pd.DataFrame:
    """Reference-like rows, or drifted ones (score shifted, more flags, an unseen country)."""
    rng = np.random.default_rng(seed)
    amount = np.where(rng.random(size) < 0.4, 0.0, np.round(rng.lognormal(3, 1, size), 2))
    score = rng.normal(0.6 if drifted else 0.0, 1.0, size)
    score[rng.random(size) < 0.02] = np.nan
    countries = ["US", "DE", "FR", "IT", "ES", "BR"] if drifted else ["US", "DE", "FR", "IT", "ES"]
    country = rng.choice(countries, size).astype(object)
    country[rng.random(size) < 0.03] = None
    flag = (rng.random(size) < (0.5 if drifted else 0.3)).astype(np.int64)
    extra = rng.normal(0, 1, size)
    return pd.DataFrame({"amount": amount, "flag": flag, "score": score, "country": country, "extra": extra})


def as_columns(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """JSON-ready columns as a model server's request would carry them (NaN -> null)."""
    return {
        name: [None if (isinstance(v, float) and np.isnan(v)) else v for v in frame[name].tolist()] for name in FEATURES
    }


@dataclass
class Stack:
    directory: Path
    prometheus_url: str
    model_url: str
    model_port: int
    processes: dict[str, ServerProcess]
    exits: contextlib.ExitStack
    sent: list[pd.DataFrame]
    gateway_url: str = ""

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus_url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        body = json.loads(http_request(url).body)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def send(self, frame: pd.DataFrame) -> None:
        """POST the rows to the model server in batches of 500, and remember them."""
        for start in range(0, len(frame), 500):
            part = frame.iloc[start : start + 500]
            data = json.dumps({"columns": as_columns(part)}).encode()
            response = http_request(f"{self.model_url}/observe", method="POST", data=data)
            assert response.status == 200, response.text()
        self.sent.append(frame)
        pd.concat(self.sent, ignore_index=True).to_parquet(self.directory / "live.parquet", index=False)

    def start_model_server(self) -> None:
        process = self.exits.enter_context(
            running(
                [
                    sys.executable,
                    str(HERE / "model_server.py"),
                    str(self.directory / "profile.json"),
                    str(self.model_port),
                    str(self.directory / "profile.json"),
                ],
                name="model-server",
                log_path=self.directory / f"model-server-{len(self.processes)}.log",
                ready_url=f"{self.model_url}/metrics",
            )
        )
        self.processes[f"model-{len(self.processes)}"] = process

    def wait_scraped(self, total: int) -> None:
        """Until Prometheus's latest scrape shows ``total`` rows counted for `score` by the current process."""

        def seen() -> bool:
            result = self.query('sum(driftmon_feature_observations_total{feature="score"})')
            return bool(result) and float(result[0]["value"][1]) == total

        wait_until(seen, 30, interval=0.2, message=f"Prometheus scraping {total} rows")
        time.sleep(1.5)  # one more scrape, so every series of the target has the same last sample

    def evaluate(self, name: str) -> MonitorResult:
        cfg = driftmon_config.load(self.directory / "driftmon.yaml")
        return evaluate(cfg.monitor(name))


def write_config(directory: Path, prometheus_url: str) -> None:
    live = {"type": "prometheus", "url": prometheus_url, "window": WINDOW, "matchers": 'job="model"'}
    monitors = [
        {"name": "from-prometheus", "reference": {"type": "histogram", "path": "profile.json"}, "live": live},
        {
            "name": "from-file",
            "reference": {"type": "histogram", "path": "profile.json"},
            "live": {"type": "file", "path": "live.parquet"},
        },
        {
            "name": "le-buckets",
            "reference": {"type": "histogram", "path": "profile.json"},
            "live": {**live, "features": {"score": {"histogram": "model_score"}}},
            "features": ["score"],
        },
        {"name": "both-from-prometheus", "reference": live, "live": live},
        {
            "name": "mismatched",
            "reference": {"type": "histogram", "path": "other_profile.json"},
            "live": live,
            "features": ["score"],
        },
        {
            "name": "missing-series",
            "reference": {"type": "file", "path": "reference.parquet"},
            "live": live,
            "features": ["score", "extra"],
        },
        {
            "name": "idle",
            "reference": {"type": "histogram", "path": "profile.json"},
            "live": {**live, "metric": "idle_feature_observations_total"},
            "features": ["score", "country"],
        },
    ]
    for monitor in monitors:
        monitor.setdefault("features", FEATURES)
    document = {"defaults": {"schedule": "1m", "min_samples": 50}, "monitors": monitors}
    (directory / "driftmon.yaml").write_text(yaml.safe_dump(document, sort_keys=False))


def write_profiles(directory: Path) -> None:
    """profile.json (what the model server counts into) and other_profile.json (other score edges)."""
    rows(seed=1, size=4000, drifted=False).to_parquet(directory / "reference.parquet", index=False)
    base = {
        "monitors": [
            {
                "name": "p",
                "reference": {"type": "file", "path": "reference.parquet"},
                "live": {"type": "file", "path": "reference.parquet"},
                "features": FEATURES,
            }
        ]
    }
    for name, features in (
        ("profile.json", FEATURES),
        ("other_profile.json", [{"name": "score", "binning": {"bins": 8}}]),
    ):
        base["monitors"][0]["features"] = features
        (directory / "profile.yaml").write_text(yaml.safe_dump(base))
        monitor = driftmon_config.load(directory / "profile.yaml").monitor("p")
        (directory / name).write_text(json.dumps(to_document(profile_reference(monitor))))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prometheus = require_binary("prometheus")
    pushgateway = require_binary("prometheus-pushgateway", "pushgateway")
    directory = tmp_path_factory.mktemp("prometheus-source")
    write_profiles(directory)
    ports = {"prometheus": free_port(), "model": free_port(), "gateway": free_port()}
    prometheus_url = f"http://127.0.0.1:{ports['prometheus']}"
    write_config(directory, prometheus_url)
    # The model server, and a Pushgateway where `driftmon check` pushes its results (the
    # shipped rules, `for:` shortened, alert on them).
    scrape = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(write_shipped_rules(directory / "rules.yml"))],
        "scrape_configs": [
            {"job_name": "model", "static_configs": [{"targets": [f"127.0.0.1:{ports['model']}"]}]},
            {
                "job_name": "pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{ports['gateway']}"]}],
            },
        ],
    }
    (directory / "prometheus.yml").write_text(yaml.safe_dump(scrape))
    with contextlib.ExitStack() as exits:
        processes = {"prometheus": exits.enter_context(running_prometheus(prometheus, directory, ports["prometheus"]))}
        processes["pushgateway"] = exits.enter_context(running_pushgateway(pushgateway, directory, ports["gateway"]))
        built = Stack(
            directory, prometheus_url, f"http://127.0.0.1:{ports['model']}", ports["model"], processes, exits, []
        )
        built.gateway_url = f"http://127.0.0.1:{ports['gateway']}"
        built.start_model_server()
        # Prometheus must have seen the zero-initialised series before any traffic.
        wait_until(
            lambda: built.query('driftmon_feature_observations_total{feature="score"}'),
            30,
            message="first scrape of the model server",
        )
        time.sleep(1.5)
        yield built


@pytest.fixture(scope="module")
def first_traffic(stack: Stack) -> dict[str, MonitorResult]:
    stack.send(rows(seed=2, size=1500, drifted=True))
    stack.wait_scraped(1500)
    return {
        name: stack.evaluate(name) for name in ("from-prometheus", "from-file", "le-buckets", "both-from-prometheus")
    }


def assert_same_scores(prometheus: MonitorResult, file: MonitorResult) -> None:
    assert prometheus.status != ERROR, prometheus.error
    assert file.status != ERROR, file.error
    by_name = {f.feature: f for f in file.features}
    assert [f.feature for f in prometheus.features] == list(by_name)
    for feature in prometheus.features:
        expected = by_name[feature.feature]
        assert feature.live_count == expected.live_count, feature.feature
        assert feature.unseen_fraction == pytest.approx(expected.unseen_fraction, abs=1e-12)
        assert feature.scores.keys() == expected.scores.keys()
        for measure, value in feature.scores.items():
            assert value == pytest.approx(expected.scores[measure], abs=1e-12, rel=1e-12), (feature.feature, measure)
        assert feature.severity == expected.severity


def test_prometheus_window_scores_equal_the_file_source_on_the_same_rows(
    first_traffic: dict[str, MonitorResult],
) -> None:
    """The instrumented model server's counts, read back through Prometheus, score exactly as the raw rows do."""
    assert_same_scores(first_traffic["from-prometheus"], first_traffic["from-file"])
    drifted = {f.feature: f.worst for f in first_traffic["from-prometheus"].features}
    assert drifted["score"] == "critical" and drifted["country"] == "critical", drifted
    assert first_traffic["from-prometheus"].features[0].live_count == 1500


def test_the_shipped_rule_fires_for_drift_read_from_prometheus(stack: Stack, first_traffic: Any) -> None:
    """Model server -> Prometheus -> `driftmon check` (type: prometheus) -> Pushgateway -> Prometheus: the drift alert fires."""
    command = [sys.executable, "-m", "driftmon", "check", "-c", str(stack.directory / "driftmon.yaml")]
    command += ["--monitor", "from-prometheus", "--push-gateway", stack.gateway_url, "--job", "drift-check"]
    checked = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 1, checked.stdout + checked.stderr  # critical drift
    firing = wait_until(
        lambda: stack.query(
            'ALERTS{alertname="DriftmonFeatureDriftCritical", alertstate="firing", monitor="from-prometheus"}'
        ),
        30,
        message="the critical drift alert firing",
    )
    assert {alert["metric"]["feature"] for alert in firing} >= {"score", "country"}


def test_classic_histogram_buckets_score_as_the_file_source_for_continuous_values(
    first_traffic: dict[str, MonitorResult],
) -> None:
    """A prometheus_client Histogram with the profile's edges as buckets gives the same live counts (no value on an edge)."""
    le = first_traffic["le-buckets"]
    assert le.status != ERROR, le.error
    (score,) = le.features
    (expected,) = [f for f in first_traffic["from-file"].features if f.feature == "score"]
    # A classic histogram does not count NaN apart: its live_count lacks the missing rows.
    assert score.live_count == expected.live_count - sum(np.isnan(rows(seed=2, size=1500, drifted=True)["score"]))
    assert score.worst == "critical"


def test_reference_from_prometheus_has_the_instrumented_bins(first_traffic: dict[str, MonitorResult]) -> None:
    """Both sides from the same window: the bins are rebuilt from the bin labels and every score is 0."""
    both = first_traffic["both-from-prometheus"]
    assert both.status != ERROR, both.error
    for feature in both.features:
        assert feature.reference_count == feature.live_count == 1500
        assert all(value == 0 for value in feature.scores.values()), (feature.feature, feature.scores)


def test_a_bin_layout_unlike_the_reference_is_a_clear_error(stack: Stack, first_traffic: Any) -> None:
    """Other edges in the reference than in Prometheus: status error naming the differing edges; monitor_up 0."""
    from driftmon.push import render

    result = stack.evaluate("mismatched")
    assert result.status == ERROR
    assert "feature 'score'" in (result.error or "") and "edges only in Prometheus" in (result.error or ""), (
        result.error
    )
    assert 'driftmon_monitor_up{monitor="mismatched"} 0.0' in render([result], {})


def test_a_feature_without_series_is_a_clear_error(stack: Stack, first_traffic: Any) -> None:
    """A monitor feature the model server does not count: an error naming the feature, not an empty histogram."""
    result = stack.evaluate("missing-series")
    assert result.status == ERROR
    assert "no series for feature 'extra'" in (result.error or ""), result.error
    assert "Traceback" not in (result.error or "")


def test_a_feature_that_never_received_traffic_is_insufficient_data(stack: Stack, first_traffic: Any) -> None:
    """Series at 0 all window long: live count 0, no scores, insufficient_data rather than an error."""
    result = stack.evaluate("idle")
    assert result.status == INSUFFICIENT, result.error
    assert all(f.live_count == 0 and not f.scores for f in result.features)


def test_a_restarted_model_server_is_counted_across_the_reset(stack: Stack, first_traffic: Any) -> None:
    """Counters reset by a restart: increase() adds both lives, and the scores still equal the file source's."""
    stack.processes.pop(next(name for name in reversed(stack.processes) if name.startswith("model"))).stop()
    time.sleep(2)
    stack.start_model_server()
    wait_until(
        lambda: stack.query('sum(driftmon_feature_observations_total{feature="score"}) == 0'),
        30,
        message="a scrape of the restarted model server",
    )
    stack.send(rows(seed=3, size=700, drifted=True))
    stack.wait_scraped(700)
    prometheus, file = stack.evaluate("from-prometheus"), stack.evaluate("from-file")
    assert prometheus.features[0].live_count == 2200
    assert_same_scores(prometheus, file)
