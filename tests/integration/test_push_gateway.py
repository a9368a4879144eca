"""`driftmon check --push-gateway` against a real Pushgateway scraped by a real Prometheus running the shipped rules.

The rules are the shipped file with `for:` shortened to 1 s; Prometheus scrapes the
Pushgateway every second with honor_labels. A first run pushes critical drift (the drift
alert fires from the pushed series); a second run fails (its live file is gone): the
monitor's group keeps the last scores and success time, and shows monitor_up 0.
"""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from servers import (
    TEST_PASSWORD,
    TEST_PASSWORD_BCRYPT,
    free_port,
    http_request,
    recording_server,
    require_binary,
    running_prometheus,
    running_pushgateway,
    wait_until,
    write_shipped_rules,
)


@dataclass
class Stack:
    directory: Path
    gateway_url: str
    prometheus_url: str

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus_url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        body = json.loads(http_request(url).body)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def check(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "driftmon",
                "check",
                "-c",
                str(self.directory / "driftmon.yaml"),
                "--push-gateway",
                self.gateway_url,
                "--job",
                "drift-batch",
                "--grouping",
                "env=test",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prometheus = require_binary("prometheus")
    pushgateway = require_binary("prometheus-pushgateway", "pushgateway")
    directory = tmp_path_factory.mktemp("pushgateway")
    rng = np.random.default_rng(11)
    (directory / "reference.csv").write_text("x\n" + "\n".join(f"{v:.6f}" for v in rng.normal(0, 1, 3000)) + "\n")
    (directory / "live.csv").write_text("x\n" + "\n".join(f"{v:.6f}" for v in rng.normal(1, 1, 1000)) + "\n")
    (directory / "driftmon.yaml").write_text(
        "monitors:\n  - name: drifted\n    schedule: 1d\n    labels: {team: risk}\n"
        "    reference: {type: file, path: reference.csv}\n    live: {type: file, path: live.csv}\n    features: [x]\n"
    )
    write_shipped_rules(directory / "rules.yml")
    ports = {"gateway": free_port(), "prometheus": free_port()}
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(directory / "rules.yml")],
        "scrape_configs": [
            {
                "job_name": "pushgateway",
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{ports['gateway']}"]}],
            }
        ],
    }
    (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
    gateway_url = f"http://127.0.0.1:{ports['gateway']}"
    prometheus_url = f"http://127.0.0.1:{ports['prometheus']}"
    with contextlib.ExitStack() as exits:
        exits.enter_context(running_pushgateway(pushgateway, directory, ports["gateway"]))
        exits.enter_context(running_prometheus(prometheus, directory, ports["prometheus"]))
        yield Stack(directory, gateway_url, prometheus_url)


@pytest.fixture(scope="module")
def first_push(stack: Stack) -> subprocess.CompletedProcess[str]:
    return stack.check()


def test_pushed_drift_is_scraped_and_fires_the_shipped_rule(
    stack: Stack, first_push: subprocess.CompletedProcess[str]
) -> None:
    """Exit 1 (critical drift) and the pushed series reach Prometheus, where DriftmonFeatureDriftCritical fires for them."""
    assert first_push.returncode == 1, first_push.stderr
    selector = '{job="drift-batch", monitor="drifted", env="test", team="risk"}'
    wait_until(lambda: stack.query(f"driftmon_js_divergence{selector}"), 30, message="pushed scores scraped")
    firing = wait_until(
        lambda: stack.query('ALERTS{alertname="DriftmonFeatureDriftCritical", alertstate="firing", job="drift-batch"}'),
        30,
        message="the drift alert firing from pushed results",
    )
    assert firing[0]["metric"]["monitor"] == "drifted" and firing[0]["metric"]["feature"] == "x"
    (up,) = stack.query(f"driftmon_monitor_up{selector}")
    assert up["value"][1] == "1"
    assert stack.query('push_time_seconds{job="drift-batch", monitor="drifted", env="test"}')


def test_a_failed_run_keeps_the_last_scores_and_reports_down(
    stack: Stack, first_push: subprocess.CompletedProcess[str]
) -> None:
    """A run whose live data is gone exits 3; its push keeps the scores and success time and sets monitor_up 0, firing DriftmonMonitorDown."""
    selector = '{job="drift-batch", monitor="drifted"}'
    wait_until(
        lambda: stack.query(f"driftmon_last_success_timestamp_seconds{selector}"), 30, message="first push scraped"
    )
    (success,) = stack.query(f"driftmon_last_success_timestamp_seconds{selector}")
    (score,) = stack.query(f"driftmon_js_divergence{selector}")
    (stack.directory / "live.csv").rename(stack.directory / "gone.csv")
    try:
        failed = stack.check()
    finally:
        (stack.directory / "gone.csv").rename(stack.directory / "live.csv")
    assert failed.returncode == 3, failed.stderr
    wait_until(lambda: stack.query(f"driftmon_monitor_up{selector} == 0"), 30, message="monitor_up 0 scraped")
    wait_until(
        lambda: stack.query('ALERTS{alertname="DriftmonMonitorDown", alertstate="firing", job="drift-batch"}'),
        30,
        message="DriftmonMonitorDown from a pushed failure",
    )
    (kept_success,) = stack.query(f"driftmon_last_success_timestamp_seconds{selector}")
    (kept_score,) = stack.query(f"driftmon_js_divergence{selector}")
    assert kept_success["value"][1] == success["value"][1]
    assert kept_score["value"][1] == score["value"][1]
    (failures,) = stack.query(f"driftmon_evaluation_failures_total{selector}")
    assert failures["value"][1] == "1"


def test_push_missing_rule_is_healthy_and_quiet_for_a_fresh_push(
    stack: Stack, first_push: subprocess.CompletedProcess[str]
) -> None:
    """DriftmonPushMissing evaluates without error on real Pushgateway series and stays quiet within the schedule interval."""
    wait_until(lambda: stack.query('push_time_seconds{job="drift-batch"}'), 30, message="push time scraped")
    url = f"{stack.prometheus_url}/api/v1/rules"
    groups = json.loads(http_request(url).body)["data"]["groups"]
    (rule,) = [r for g in groups for r in g["rules"] if r["name"] == "DriftmonPushMissing"]
    assert rule["health"] in ("ok", "unknown"), rule
    elapsed = stack.query(
        "time() - push_time_seconds > on (job, instance, monitor) group_left () "
        "0 * max by (job, instance, monitor) (driftmon_schedule_interval_seconds)"
    )
    assert elapsed and elapsed[0]["metric"]["monitor"] == "drifted"  # the join matches the pushed group
    assert not stack.query('ALERTS{alertname="DriftmonPushMissing"}')


def test_push_with_basic_auth_in_the_url(tmp_path: Path) -> None:
    """user:password@ in --push-gateway is basic auth: accepted by a Pushgateway that requires it; a wrong one exits 3 unseen."""
    pushgateway = require_binary("prometheus-pushgateway", "pushgateway")
    (tmp_path / "web.yml").write_text(yaml.safe_dump({"basic_auth_users": {"driftmon": TEST_PASSWORD_BCRYPT}}))
    port = free_port()
    with running_pushgateway(
        pushgateway, tmp_path, port, f"--web.config.file={tmp_path / 'web.yml'}", name="pushgateway-auth", ready=False
    ) as process:
        wait_until(lambda: "Listening on" in process.log(), 30, message="Pushgateway with auth started")
        directory = tmp_path
        rng = np.random.default_rng(2)
        (directory / "reference.csv").write_text("x\n" + "\n".join(f"{v:.6f}" for v in rng.normal(0, 1, 500)) + "\n")
        (directory / "driftmon.yaml").write_text(
            "monitors:\n  - name: same\n    reference: {type: file, path: reference.csv}\n"
            "    live: {type: file, path: reference.csv}\n    features: [x]\n"
        )

        def push(password: str) -> subprocess.CompletedProcess[str]:
            url = f"http://driftmon:{password}@127.0.0.1:{port}"
            command = [
                sys.executable,
                "-m",
                "driftmon",
                "check",
                "-c",
                str(directory / "driftmon.yaml"),
                "--push-gateway",
                url,
            ]
            return subprocess.run(command, capture_output=True, text=True, timeout=120)

        accepted = push(TEST_PASSWORD)
        assert accepted.returncode == 0, accepted.stderr
        refused = push("hunter2")
        assert refused.returncode == 3 and "HTTP 401" in refused.stderr, refused.stderr
        assert "hunter2" not in refused.stderr and TEST_PASSWORD not in accepted.stderr + refused.stderr


def test_a_test_pushgateway_starts_empty_after_a_push_to_the_last_one(tmp_path: Path) -> None:
    """The gateways these tests start keep nothing between processes (Debian's default
    persistence file carried one module's pushes into the next module's gateway)."""
    pushgateway = require_binary("prometheus-pushgateway", "pushgateway")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    group = f"{url}/metrics/job/leak-check"
    for attempt in range(2):
        with running_pushgateway(pushgateway, tmp_path, port, name=f"pushgateway-{attempt}"):
            if attempt == 0:
                assert http_request(group, method="PUT", data=b"leak_check_total 1\n").status == 200
                assert "leak_check_total" in http_request(f"{url}/metrics").text()
            else:
                assert "leak-check" not in http_request(f"{url}/metrics").text()


def test_a_push_redirected_to_another_origin_does_not_carry_the_credentials() -> None:
    """A gateway at 127.0.0.1:P answering 302 to localhost:Q: the push follows it without
    Authorization (a failed monitor's push is a POST, the method urllib follows)."""
    from driftmon import push
    from driftmon.evaluate import MonitorResult

    failed = MonitorResult(monitor="m", status="error", error="live file missing", features=(), started_at=1.0, duration_s=0.1)
    token = base64.b64encode(f"driftmon:{TEST_PASSWORD}".encode()).decode()
    with (
        recording_server(lambda path: (200, {}, b"")) as target,
        recording_server(lambda path: (302, {"Location": f"http://localhost:{target.port}{path}"}, b"")) as gateway,
    ):
        push.push(f"http://driftmon:{TEST_PASSWORD}@127.0.0.1:{gateway.port}", [failed], {"m": 60.0}, timeout=10)
    assert [headers.get("Authorization") for _, _, headers in gateway.requests] == [f"Basic {token}"]
    assert target.requests, "the redirect was not followed"
    for _, _, headers in target.requests:
        assert "Authorization" not in headers and token not in " ".join(headers.values()), headers


def test_a_push_redirected_within_the_gateway_keeps_the_credentials() -> None:
    """A redirect to another path of the same gateway (a path prefix) keeps Authorization."""
    from driftmon import push
    from driftmon.evaluate import MonitorResult

    failed = MonitorResult(monitor="m", status="error", error="live file missing", features=(), started_at=1.0, duration_s=0.1)

    def reply(path: str) -> tuple[int, dict[str, str], bytes]:
        return (200, {}, b"") if path.startswith("/prefix/") else (302, {"Location": "/prefix" + path}, b"")

    with recording_server(reply) as gateway:
        push.push(f"http://driftmon:{TEST_PASSWORD}@127.0.0.1:{gateway.port}", [failed], {"m": 60.0}, timeout=10)
    followed = [headers for _, path, headers in gateway.requests if path.startswith("/prefix/")]
    assert followed and all(headers.get("Authorization", "").startswith("Basic ") for headers in followed)
