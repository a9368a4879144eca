"""The real daemon (`python -m driftmon run`) as a subprocess, seen only over HTTP and signals.

Each daemon listens on a free 127.0.0.1 port and evaluates every second. Scores are
checked against an oracle computed here from the test's own data: quantile edges with
``np.quantile``, counts with ``np.histogram``, the default smoothing written out, and the
measures from scipy. A FIFO stands in for a hanging source: opening it for reading
blocks until a writer comes, which never happens.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:  # tests/servers.py, shared by the integration tests
    sys.path.insert(0, _TESTS)

from servers import ServerProcess, free_port, http_request, require_binary, running, wait_until  # noqa: E402

pytestmark = pytest.mark.integration

ALPHA = 0.5  # the default smoothing: alpha on the empty side of one-sided bins only
THRESHOLDS = {"js": (0.004, 0.02), "psi": (0.02, 0.1)}  # the defaults
Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


# ---------------------------------------------------------------------------
# data and the oracle


def write_data(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference and a drifted live sample (numeric x and z, categorical color), seeded."""
    rng = np.random.default_rng(20240601)
    reference = pd.DataFrame(
        {
            "x": rng.normal(0.0, 1.0, 4000),
            "z": rng.uniform(0.0, 10.0, 4000),
            "color": rng.choice(["red", "green", "blue"], 4000, p=[0.5, 0.3, 0.2]),
        }
    )
    live = pd.DataFrame(
        {
            "x": rng.normal(0.6, 1.2, 2000),
            "z": rng.uniform(0.0, 10.0, 2000),
            "color": rng.choice(["red", "green", "blue", "purple"], 2000, p=[0.3, 0.3, 0.25, 0.15]),
        }
    )
    reference.to_csv(folder / "reference.csv", index=False)
    live.to_csv(folder / "live.csv", index=False)
    return reference, live


@dataclass(frozen=True)
class Expected:
    scores: dict[str, float]
    unseen_fraction: float


def oracle(reference: pd.Series, live: pd.Series) -> Expected:
    """kl, js (bits) and psi of one feature, by the documented binning and smoothing (docs/statistics.md), from scratch."""
    if not pd.api.types.is_numeric_dtype(reference):
        categories = list(reference.value_counts().index)
        ref = [float((reference == c).sum()) for c in categories] + [0.0]  # + __unseen__
        cur = [float((live == c).sum()) for c in categories] + [float((~live.isin(categories)).sum())]
    else:
        edges = np.unique(np.quantile(reference.to_numpy(), np.linspace(0.0, 1.0, 11)))

        def counts(values: np.ndarray) -> list[float]:
            inside, _ = np.histogram(values, bins=edges)  # last bin closed, as in docs/statistics.md
            return [float((values < edges[0]).sum()), *inside.astype(float), float((values > edges[-1]).sum())]

        ref, cur = counts(reference.to_numpy()), counts(live.to_numpy())
    ref_a, cur_a = np.array(ref), np.array(cur)
    keep = (ref_a + cur_a) > 0  # bins empty on both sides are dropped
    unseen = float(cur_a[ref_a == 0].sum() / cur_a.sum())
    q = np.where(ref_a[keep] > 0, ref_a[keep], ALPHA)
    p = np.where(cur_a[keep] > 0, cur_a[keep], ALPHA)
    q, p = q / q.sum(), p / p.sum()
    scores = {
        "kl": float(entropy(p, q, base=2)),
        "js": float(jensenshannon(p, q, base=2) ** 2),
        "psi": float(np.sum((p - q) * np.log(p / q))),
    }
    return Expected(scores, unseen)


# ---------------------------------------------------------------------------
# talking to the daemon


@dataclass
class Daemon:
    process: ServerProcess
    url: str
    config: Path

    def get(self, path: str, **headers: str) -> Any:
        return http_request(self.url + path, headers=headers)

    def series(self) -> Series:
        response = self.get("/metrics")
        assert response.status == 200, response.text()
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in parse_text(response.text())
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float | None:
        return self.series().get((name, tuple(sorted(labels.items()))))

    def status(self) -> dict[str, Any]:
        response = self.get("/api/v1/status")
        assert response.status == 200
        return {m["monitor"]: m for m in json.loads(response.body)["monitors"]}

    def wait(self, predicate: Any, message: str, timeout: float = 15.0) -> Any:
        def check() -> Any:
            assert self.process.returncode is None, self.process.describe()
            return predicate()

        return wait_until(check, timeout, interval=0.2, message=f"{message}\n{self.process.describe(20)}")


@contextlib.contextmanager
def start(folder: Path, config_text: str, *flags: str) -> Iterator[Daemon]:
    config = folder / "driftmon.yaml"
    config.write_text(textwrap.dedent(config_text).lstrip(), encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "driftmon", "run", "-c", str(config), "--web.listen-address", f"127.0.0.1:{port}"]
    with running(
        [*command, *flags],
        log_path=folder / "daemon.log",
        name="driftmon",
        ready_url=f"{url}/-/ready",
        ready_timeout=30.0,
    ) as process:
        yield Daemon(process, url, config)


def monitor_yaml(name: str, live: str, features: str = "[x, color]", extra: str = "") -> str:
    return f"""
  - name: {name}
    labels: {{team: t-{name}}}
    reference: {{type: file, path: reference.csv}}
    live: {live}
    features: {features}{extra}
"""


HEADER = """
defaults:
  schedule: 1s
  timeout: 10s
  measures: [kl, js, psi]
monitors:
"""


# ---------------------------------------------------------------------------
# one daemon: a drifted monitor, a hanging one, one whose live file comes and goes


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("daemon")
    reference, live = write_data(folder)
    return folder, reference, live


@pytest.fixture(scope="module")
def daemon(data: tuple[Path, pd.DataFrame, pd.DataFrame]) -> Iterator[Daemon]:
    folder = data[0]
    (folder / "flaky.csv").write_bytes((folder / "live.csv").read_bytes())
    os.mkfifo(folder / "hang.fifo")
    config = (
        HEADER
        + monitor_yaml("drifted", "{type: file, path: live.csv}")
        + monitor_yaml("hanging", "{type: histogram, path: hang.fifo}", "[x]", "\n    timeout: 1s")
        + monitor_yaml("flaky", "{type: file, path: flaky.csv}", "[x]")
    )
    with start(folder, config) as running_daemon:
        yield running_daemon


def labels(monitor: str, **more: str) -> dict[str, str]:
    return {"monitor": monitor, "team": f"t-{monitor}", **more}


def test_scores_thresholds_and_alerts_equal_the_oracle(
    daemon: Daemon, data: tuple[Path, pd.DataFrame, pd.DataFrame]
) -> None:
    """Every score equals the oracle; thresholds are the configured ones; alerts are score >= threshold."""
    _, reference, live = data
    daemon.wait(lambda: daemon.value("driftmon_monitor_up", **labels("drifted")) == 1.0, "drifted evaluated")
    series = daemon.series()
    metric = {
        "kl": "driftmon_kl_divergence",
        "js": "driftmon_js_divergence",
        "psi": "driftmon_population_stability_index",
    }
    for feature in ("x", "color"):
        expected = oracle(reference[feature], live[feature])
        for measure, name in metric.items():
            got = series[(name, tuple(sorted(labels("drifted", feature=feature).items())))]
            assert got == pytest.approx(expected.scores[measure], rel=1e-9, abs=1e-12), (feature, measure)
            for severity, level in zip(("warning", "critical"), THRESHOLDS.get(measure, ()), strict=False):
                key = tuple(sorted(labels("drifted", feature=feature, severity=severity).items()))
                assert series[(f"{name}_threshold", key)] == level
                alert_key = tuple(
                    sorted(labels("drifted", feature=feature, measure=measure, severity=severity).items())
                )
                assert series[("driftmon_drift_alert", alert_key)] == float(expected.scores[measure] >= level)
        unseen = series[("driftmon_unseen_fraction", tuple(sorted(labels("drifted", feature=feature).items())))]
        assert unseen == pytest.approx(expected.unseen_fraction, rel=1e-12)
        for side, count in (("reference", 4000.0), ("live", 2000.0)):
            key = tuple(sorted(labels("drifted", feature=feature, side=side).items()))
            assert series[("driftmon_samples", key)] == count
    assert oracle(reference["x"], live["x"]).scores["psi"] > 0.25  # the data really drifted
    assert daemon.value("driftmon_schedule_interval_seconds", **labels("drifted")) == 1.0
    assert daemon.value("driftmon_config_last_reload_successful") == 1.0


def test_status_document_holds_the_latest_results(
    daemon: Daemon, data: tuple[Path, pd.DataFrame, pd.DataFrame]
) -> None:
    """/api/v1/status is the `check --format json` document: status, scores and severities."""
    _, reference, live = data
    daemon.wait(lambda: "drifted" in daemon.status(), "drifted in the status document")
    drifted = daemon.status()["drifted"]
    assert drifted["status"] == "critical" and drifted["error"] is None
    (x,) = [f for f in drifted["features"] if f["feature"] == "x"]
    expected = oracle(reference["x"], live["x"])
    assert x["kind"] == "numeric" and x["reference_count"] == 4000 and x["live_count"] == 2000
    assert x["scores"]["js"] == pytest.approx(expected.scores["js"], rel=1e-9)
    assert x["severity"]["psi"] == "critical"


def test_a_hanging_source_times_out_without_holding_up_the_others(daemon: Daemon) -> None:
    """A live source that blocks fails with a timeout, while the other monitors keep evaluating every second."""
    daemon.wait(
        lambda: (daemon.value("driftmon_evaluation_failures_total", **labels("hanging")) or 0) >= 2,
        "the hanging monitor failed twice",
    )
    assert daemon.value("driftmon_monitor_up", **labels("hanging")) == 0.0
    assert "timed out after 1s" in (daemon.status()["hanging"]["error"] or "") or "still has not returned" in (
        daemon.status()["hanging"]["error"] or ""
    )
    first = daemon.value("driftmon_evaluations_total", **labels("drifted")) or 0
    daemon.wait(
        lambda: (daemon.value("driftmon_evaluations_total", **labels("drifted")) or 0) >= first + 3,
        "drifted evaluated three more times",
    )
    assert daemon.value("driftmon_monitor_up", **labels("drifted")) == 1.0
    assert (daemon.value("driftmon_last_evaluation_duration_seconds", **labels("drifted")) or 99) < 1.0
    assert daemon.get("/-/healthy").status == 200


def test_a_vanished_live_file_keeps_the_last_scores_until_it_returns(
    daemon: Daemon, data: tuple[Path, pd.DataFrame, pd.DataFrame]
) -> None:
    """A missing live file: monitor_up 0, the last scores kept, the daemon alive; back: up again."""
    folder = data[0]
    score_key = labels("flaky", feature="x")
    daemon.wait(lambda: daemon.value("driftmon_monitor_up", **labels("flaky")) == 1.0, "flaky evaluated")
    before = daemon.value("driftmon_js_divergence", **score_key)
    assert before is not None
    (folder / "flaky.csv").rename(folder / "flaky.csv.away")
    try:
        daemon.wait(lambda: daemon.value("driftmon_monitor_up", **labels("flaky")) == 0.0, "flaky down")
        assert daemon.value("driftmon_js_divergence", **score_key) == before
        # (a rename during a read fails as "vanished while being read"; the next run says this)
        daemon.wait(lambda: "does not exist" in (daemon.status()["flaky"]["error"] or ""), "flaky missing")
        failures = daemon.value("driftmon_evaluation_failures_total", **labels("flaky")) or 0
        assert failures >= 1
    finally:
        (folder / "flaky.csv.away").rename(folder / "flaky.csv")
    daemon.wait(lambda: daemon.value("driftmon_monitor_up", **labels("flaky")) == 1.0, "flaky back up")
    assert daemon.value("driftmon_js_divergence", **score_key) == before


def test_metrics_pass_promtool_and_negotiate_openmetrics_and_gzip(daemon: Daemon) -> None:
    """A real scrape passes `promtool check metrics`; OpenMetrics and gzip are served when asked for."""
    promtool = require_binary("promtool")
    daemon.wait(lambda: daemon.value("driftmon_monitor_up", **labels("drifted")) == 1.0, "drifted evaluated")
    body = daemon.get("/metrics").body
    check = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    om = daemon.get("/metrics", Accept="application/openmetrics-text; version=1.0.0", **{"Accept-Encoding": "gzip"})
    assert om.status == 200
    text = gzip.decompress(om.body).decode()
    assert text.endswith("# EOF\n") and "_created" not in text
    assert any(f.name == "driftmon_js_divergence" for f in parse_openmetrics(text))


def test_reload_endpoint_is_forbidden_without_lifecycle(daemon: Daemon) -> None:
    """POST /-/reload answers 403 unless --web.enable-lifecycle is given; GET is not allowed."""
    response = http_request(daemon.url + "/-/reload", method="POST", data=b"")
    assert response.status == 403 and "lifecycle" in response.text().lower()
    assert daemon.get("/-/reload").status == 405
    assert b"/metrics" in daemon.get("/").body


# ---------------------------------------------------------------------------
# reload


def test_reload_adds_changes_and_removes_monitors_and_refuses_a_bad_config(tmp_path: Path) -> None:
    """SIGHUP applies a new config (kept, changed, removed, added monitors and features); a bad
    config sent by POST /-/reload is refused and the previous one keeps running."""
    write_data(tmp_path)
    live = "{type: file, path: live.csv}"
    first = HEADER + monitor_yaml("keep", live) + monitor_yaml("change", live) + monitor_yaml("drop", live)
    with start(tmp_path, first, "--web.enable-lifecycle") as daemon:
        daemon.wait(
            lambda: all(daemon.value("driftmon_monitor_up", **labels(m)) == 1.0 for m in ("keep", "change", "drop")),
            "all three evaluated",
        )
        kept_before = daemon.value("driftmon_evaluations_total", **labels("keep")) or 0
        reloaded_at = daemon.value("driftmon_config_last_reload_success_timestamp_seconds") or 0
        new_thresholds = "\n    thresholds: {js: {warning: 0.01}}"
        second = (
            HEADER
            + monitor_yaml("keep", live)
            + monitor_yaml("change", live, "[x, z]", new_thresholds)
            + monitor_yaml("fresh", live, "[z]")
        )
        daemon.config.write_text(textwrap.dedent(second).lstrip(), encoding="utf-8")
        daemon.process.signal(signal.SIGHUP)

        def applied() -> bool:
            series = daemon.series()
            names = {dict(k).get("monitor") for _, k in series}
            change_features = {
                dict(k)["feature"]
                for n, k in series
                if n == "driftmon_js_divergence" and dict(k)["monitor"] == "change"
            }
            fresh_up = series.get(("driftmon_monitor_up", tuple(sorted(labels("fresh").items()))))
            return "drop" not in names and change_features == {"x", "z"} and fresh_up == 1.0

        daemon.wait(applied, "the new config applied")
        assert (daemon.value("driftmon_config_last_reload_success_timestamp_seconds") or 0) > reloaded_at
        assert daemon.value("driftmon_config_last_reload_successful") == 1.0
        assert (daemon.value("driftmon_evaluations_total", **labels("keep")) or 0) >= kept_before  # not reset
        assert daemon.value("driftmon_js_divergence", **labels("keep", feature="color")) is not None
        warning = labels("change", feature="z", severity="warning")
        assert daemon.value("driftmon_js_divergence_threshold", **warning) == 0.01
        assert (
            daemon.value("driftmon_js_divergence_threshold", **labels("change", feature="x", severity="critical"))
            == THRESHOLDS["js"][1]
        )

        daemon.config.write_text(second + "    unknown_key: 1\n", encoding="utf-8")
        response = http_request(daemon.url + "/-/reload", method="POST", data=b"")
        assert response.status == 500 and "unknown_key" in response.text()
        assert daemon.value("driftmon_config_last_reload_successful") == 0.0
        fresh_count = daemon.value("driftmon_evaluations_total", **labels("fresh")) or 0
        daemon.wait(
            lambda: (daemon.value("driftmon_evaluations_total", **labels("fresh")) or 0) >= fresh_count + 2,
            "the previous config still evaluating",
        )
        assert "change" in daemon.status() and "drop" not in daemon.status()
        assert daemon.process.returncode is None


# ---------------------------------------------------------------------------
# shutdown


def test_sigterm_exits_0_within_10_seconds_even_with_a_hung_evaluation(tmp_path: Path) -> None:
    """SIGTERM stops the daemon with exit status 0 within 10 s, abandoning an evaluation that hangs."""
    write_data(tmp_path)
    os.mkfifo(tmp_path / "hang.fifo")
    config = (
        HEADER
        + monitor_yaml("ok", "{type: file, path: live.csv}")
        + monitor_yaml("hanging", "{type: histogram, path: hang.fifo}", "[x]", "\n    timeout: 1m")
    )
    with start(tmp_path, config) as daemon:
        daemon.wait(lambda: daemon.value("driftmon_monitor_up", **labels("ok")) == 1.0, "ok evaluated")
        assert daemon.value("driftmon_monitor_up", **labels("hanging")) is None  # still running
        began = time.monotonic()
        daemon.process.signal(signal.SIGTERM)
        status = daemon.process.popen.wait(timeout=12)
        elapsed = time.monotonic() - began
        assert status == 0, daemon.process.describe()
        assert elapsed < 10.0
        assert "abandoned" in daemon.process.log()
