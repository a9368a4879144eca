"""Broken data under a real daemon and a real Prometheus: each way a feed breaks fires its
shipped alert by name, with the monitor up and its untouched feature still scored.

One `driftmon run` with one monitor per case (the cases of tests/test_broken_data.py, live
Parquet files in a one-day window around the real clock, `volume: {min_rows: 500, expected:
previous, max_ratio: 1.5}`, `freshness: {max_age: 2h}`) and a healthy monitor; Prometheus
scrapes it every second and evaluates the shipped rules (deploy/prometheus/rules) with short
`for:` durations (tests/integration/test_stack.py's). Needs Debian's `prometheus`.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.integration.test_stack import write_prometheus_config, write_rules
from tests.servers import free_port, http_request, require_binary, running, wait_until

pytestmark = pytest.mark.integration

FEATURES = ["amount", "channel", "control"]


def _rows(now: pd.Timestamp, rows: int, newest_hours_ago: float, span_hours: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ago = rng.uniform(newest_hours_ago, newest_hours_ago + span_hours, rows)
    ago[0] = newest_hours_ago
    return pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, rows),
            "channel": rng.choice(["web", "app", "shop"], rows, p=[0.5, 0.3, 0.2]),
            "control": rng.normal(size=rows),
            "ts": now - pd.to_timedelta(ago, unit="h"),
        }
    )


def _nulls(share: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        amount = frame["amount"].copy()
        amount.iloc[: int(share * len(frame))] = np.nan
        return frame.assign(amount=amount)

    return change


def _channel(values: list[str], p: list[float]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(channel=np.random.default_rng(3).choice(values, len(frame), p=p))

    return change


# monitor -> (how today's live file changes, the alert it must fire, labels the alert must carry)
CASES: dict[str, tuple[Callable[[pd.DataFrame], pd.DataFrame], str, dict[str, str]]] = {
    "nulls": (_nulls(0.3), "DriftmonDataQualityCritical", {"feature": "amount", "check": "missing"}),
    "few_nulls": (_nulls(0.08), "DriftmonDataQualityWarning", {"feature": "amount", "check": "missing"}),
    "unit_x1000": (
        lambda f: f.assign(amount=f["amount"] * 1000),
        "DriftmonDataQualityCritical",
        {"feature": "amount", "check": "out_of_range"},
    ),
    "new_category": (
        _channel(["web", "app", "shop", "tv"], [0.4, 0.2, 0.1, 0.3]),
        "DriftmonDataQualityCritical",
        {"feature": "channel", "check": "unseen"},
    ),
    "constant": (_channel(["web"], [1.0]), "DriftmonDataQualityWarning", {"feature": "channel", "check": "constant"}),
    "renamed": (
        lambda f: f.rename(columns={"amount": "amount_eur"}),
        "DriftmonSchemaChange",
        {"anomaly": "missing_column", "column": "amount", "severity": "critical"},
    ),
    "retyped": (
        lambda f: f.assign(amount=f["amount"].map(lambda v: f"{v:.2f} EUR")),
        "DriftmonSchemaChange",
        {"anomaly": "type_changed", "column": "amount", "severity": "critical"},
    ),
    "truncated": (lambda f: f.iloc[:300], "DriftmonLowVolume", {}),
    "empty_window": (lambda f: f.assign(ts=f["ts"] - pd.Timedelta(days=2)), "DriftmonLowVolume", {}),
    "stalled": (lambda f: f.assign(ts=f["ts"] - pd.Timedelta(hours=3)), "DriftmonStaleData", {}),
    "duplicated_file": (lambda f: f, "DriftmonVolumeChange", {}),
}
HEALTHY = "healthy"


def _write(directory: Path, now: pd.Timestamp) -> Path:
    _rows(now, 20_000, 0, 30 * 24, 1).to_parquet(directory / "ref.parquet", index=False)
    monitors = []
    for name in [HEALTHY, *CASES]:
        folder = directory / name
        folder.mkdir()
        _rows(now, 2_000, 24.1, 22, 4).to_parquet(folder / "yesterday.parquet", index=False)
        today = _rows(now, 2_000, 0.1, 22, 2)
        if name in CASES:
            today = CASES[name][0](today)
        today.to_parquet(folder / "today.parquet", index=False)
        if name == "duplicated_file":
            shutil.copy(folder / "today.parquet", folder / "today-copy.parquet")
        monitors.append(
            {
                "name": name,
                "reference": {"type": "file", "path": "ref.parquet"},
                "live": {"type": "file", "path": f"{name}/*.parquet", "window": {"column": "ts", "last": "1d"}},
                "features": FEATURES,
                "volume": {"min_rows": 500, "expected": "previous", "max_ratio": 1.5},
                "freshness": {"max_age": "2h"},
                "timeout": "30s",  # a loaded machine: a new worker's first evaluation imports pandas
            }
        )
    path = directory / "driftmon.yaml"
    path.write_text(yaml.safe_dump({"defaults": {"schedule": "3s"}, "monitors": monitors}, sort_keys=False))
    return path


class Prometheus:
    def __init__(self, url: str) -> None:
        self.url = url

    def api(self, path: str, params: dict[str, str]) -> Any:
        import json
        import urllib.parse

        response = http_request(f"{self.url}{path}?{urllib.parse.urlencode(params)}")
        body = json.loads(response.body or b"{}")
        assert response.status == 200 and body.get("status") == "success", (path, params, body)
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        return self.api("/api/v1/query", {"query": expr})["result"]  # type: ignore[no-any-return]

    def firing(self) -> list[dict[str, Any]]:
        return [a for a in self.api("/api/v1/alerts", {})["alerts"] if a["state"] == "firing"]


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    binary = require_binary("prometheus")
    directory = tmp_path_factory.mktemp("broken-stack")
    config = _write(directory, pd.Timestamp.now(tz="UTC"))
    ports = {name: free_port() for name in ("driftmon", "prometheus", "alertmanager")}
    rules = write_rules(directory / "rules")
    # No Alertmanager here: Prometheus's own alert states are what is checked.
    write_prometheus_config(directory / "prometheus.yml", rules, f"127.0.0.1:{ports['driftmon']}", "127.0.0.1:1")
    with contextlib.ExitStack() as started:
        command = [sys.executable, "-m", "driftmon", "run", "-c", str(config)]
        started.enter_context(
            running(
                [*command, "--web.listen-address", f"127.0.0.1:{ports['driftmon']}"],
                name="driftmon",
                cwd=directory,
                log_path=directory / "driftmon.log",
                ready_url=f"http://127.0.0.1:{ports['driftmon']}/-/ready",
            )
        )
        started.enter_context(
            running(
                [
                    binary,
                    f"--config.file={directory / 'prometheus.yml'}",
                    f"--storage.tsdb.path={directory / 'prometheus-data'}",
                    f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
                ],
                name="prometheus",
                log_path=directory / "prometheus.log",
                ready_url=f"http://127.0.0.1:{ports['prometheus']}/-/ready",
            )
        )
        yield Prometheus(f"http://127.0.0.1:{ports['prometheus']}")


def _fires(alert: dict[str, Any], monitor: str, name: str, labels: dict[str, str]) -> bool:
    found = alert["labels"]
    return (
        found.get("alertname") == name
        and found.get("monitor") == monitor
        and all(found.get(k) == v for k, v in labels.items())
    )


def test_each_broken_feed_fires_its_named_alert_with_the_monitor_up(prometheus: Prometheus) -> None:
    """Every case's alert fires in Prometheus from the shipped rules, at once; every monitor is
    up (never an evaluation error, no DriftmonMonitorDown); the untouched control feature of
    each monitor with rows is scored; the healthy monitor fires no data-quality alert."""

    def missing() -> list[str]:
        firing = prometheus.firing()
        return [m for m, (_, name, labels) in CASES.items() if not any(_fires(a, m, name, labels) for a in firing)]

    def up() -> dict[str, str]:
        return {s["metric"]["monitor"]: s["value"][1] for s in prometheus.query("driftmon_monitor_up")}

    everyone = dict.fromkeys([HEALTHY, *CASES], "1")
    try:
        wait_until(
            lambda: not missing() and up() == everyone, 180, interval=1.0, message="every alert, every monitor up"
        )
    except BaseException:
        print("not firing:", missing(), "\nup:", up(), "\nfiring:", [a["labels"] for a in prometheus.firing()])
        raise
    firing = prometheus.firing()
    assert not [a for a in firing if a["labels"]["alertname"] == "DriftmonMonitorDown"]
    quality = {name for _, name, _ in CASES.values()}
    healthy = [
        a["labels"] for a in firing if a["labels"].get("monitor") == HEALTHY and a["labels"]["alertname"] in quality
    ]
    assert not healthy, f"the healthy feed fires no data-quality alert: {healthy}"
    scored = {
        s["metric"]["monitor"]
        for s in prometheus.query('driftmon_js_divergence{feature="control"}')
        if np.isfinite(float(s["value"][1]))
    }
    assert scored >= {HEALTHY, *CASES} - {"empty_window"}, scored
