"""End to end: driftmon, Prometheus and Alertmanager, running for real on 127.0.0.1.

The shipped deploy/ files are used as they are, except for what a test must change:
short scrape and evaluation intervals (1 s), short `for:` durations, free ports, and the
Alertmanager receivers pointed at a webhook server inside this test. driftmon evaluates
one monitor every second whose live data is first drawn from the reference distribution
and then replaced by shifted data. The stack starts once for the module; fixtures
``undrifted`` and ``drifted`` observe it in that order, whatever tests are selected.

Needs Debian's `prometheus` and `prometheus-alertmanager` (skips without them, fails
with DRIFTMON_REQUIRE_SERVERS=1).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:  # tests/servers.py, shared by the integration tests
    sys.path.insert(0, _TESTS)

from servers import (  # noqa: E402
    ServerProcess,
    free_port,
    http_request,
    require_binary,
    running,
    wait_until,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
MONITOR = "e2e"
FEATURE = "x"
# Shipped `for:` durations are minutes; here everything runs at 1 s. The drift alerts wait
# three evaluations; the staleness alert waits longer than one slow scrape could make it
# flap (its expression compares against 3 schedule intervals = 3 s here).
FOR_OVERRIDES = {
    "DriftmonFeatureDriftCritical": "3s",
    "DriftmonFeatureDriftWarning": "3s",
    "DriftmonMonitorDown": "2s",
    "DriftmonEvaluationsStale": "10s",
    "DriftmonConfigReloadFailed": "2s",
    "DriftmonDown": "2s",
    "DriftmonPushMissing": "2s",  # batch mode: no Pushgateway here, so it never matches
    "DriftmonDataQualityCritical": "3s",
    "DriftmonDataQualityWarning": "3s",
    "DriftmonLowVolume": "3s",
    "DriftmonSchemaChange": "3s",
    "DriftmonStaleData": "3s",
    "DriftmonVolumeChange": "3s",
    "DriftmonModelPerformanceCritical": "3s",  # the stack's monitor has no model: never matches
    "DriftmonModelPerformanceWarning": "3s",
    "DriftmonJointDriftCritical": "3s",
    "DriftmonJointDriftWarning": "3s",
}
DRIFT_ALERTS = {"DriftmonFeatureDriftCritical", "DriftmonFeatureDriftWarning"}
# A shifted feature may also move values out of the reference's range: judged apart.
QUALITY_ALERTS = {
    "DriftmonDataQualityCritical",
    "DriftmonDataQualityWarning",
    "DriftmonLowVolume",
    "DriftmonSchemaChange",
    "DriftmonStaleData",
    "DriftmonVolumeChange",
}
# The monitor looks at x with an unchanged partner column y jointly: shifting x is joint drift too.
JOINT_ALERTS = {"DriftmonJointDriftCritical", "DriftmonJointDriftWarning"}
PARTNER = "y"
THRESHOLDS = {
    "kl": {"warning": 0.1, "critical": 0.2},
    "js": {"warning": 0.05, "critical": 0.1},
    "psi": {"warning": 0.1, "critical": 0.25},
}


# ---------------------------------------------------------------------------------------
# a webhook receiver standing in for the pager and the chat


@dataclass
class Webhook:
    """Collects Alertmanager's webhook notifications (path, JSON payload)."""

    url: str
    notifications: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def received(self) -> list[tuple[str, dict[str, Any]]]:
        with self.lock:
            return list(self.notifications)

    def alerts(self, path: str | None = None) -> list[dict[str, Any]]:
        """Every alert of every notification (to ``path`` only, if given)."""
        return [
            alert
            for where, payload in self.received()
            if path is None or where == path
            for alert in payload.get("alerts", [])
        ]


@contextlib.contextmanager
def webhook_server() -> Iterator[Webhook]:
    webhook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length) or b"{}")
            with webhook.lock:
                webhook.notifications.append((self.path, payload))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    webhook.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="webhook", daemon=True)
    thread.start()
    try:
        yield webhook
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---------------------------------------------------------------------------------------
# the stack


@dataclass
class Stack:
    directory: Path
    live_csv: Path
    driftmon_url: str
    prometheus_url: str
    alertmanager_url: str
    webhook: Webhook
    processes: dict[str, ServerProcess]

    def describe(self) -> str:
        """Every process's state and log tail, for failure messages."""
        return "\n\n".join(process.describe(25) for process in self.processes.values())

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query's result; a Prometheus error fails the test with its message."""
        params = {"query": expr, **({"time": f"{at:.3f}"} if at is not None else {})}
        return self.api("/api/v1/query", params)["result"]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[dict[str, Any]]:
        params = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        return self.api("/api/v1/query_range", params)["result"]

    def api(self, path: str, params: dict[str, str] | list[tuple[str, str]]) -> Any:
        """GET a Prometheus API path; the data of a success, else the test fails."""
        url = f"{self.prometheus_url}{path}?{urllib.parse.urlencode(params)}"
        response = http_request(url)
        body = json.loads(response.body or b"{}")
        assert response.status == 200 and body.get("status") == "success", (
            f"Prometheus {path} {params}: HTTP {response.status} {body}"
        )
        return body["data"]

    def alerts(self) -> list[dict[str, Any]]:
        """Prometheus's active alerts, pending and firing."""
        return self.api("/api/v1/alerts", {})["alerts"]


def write_rows(path: Path, values: np.ndarray) -> None:
    """Replace ``path`` atomically, so driftmon never reads half a file."""
    partial = path.with_suffix(".partial")
    partner = np.random.default_rng(len(values)).normal(size=len(values))
    partial.write_text(f"{FEATURE},{PARTNER}\n" + "\n".join(f"{v:.6f},{w:.6f}" for v, w in zip(values, partner)) + "\n")
    os.replace(partial, path)


def normal(seed: int, mean: float, size: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(mean, 1.0, size)


def write_rules(destination: Path) -> Path:
    """The shipped rules with the test's `for:` durations (nothing else changed)."""
    document = yaml.safe_load((DEPLOY / "prometheus/rules/driftmon.rules.yml").read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = FOR_OVERRIDES[rule["alert"]]
    destination.mkdir(parents=True, exist_ok=True)
    path = destination / "driftmon.rules.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=10_000))
    return path


def write_prometheus_config(path: Path, rules: Path, driftmon: str, alertmanager: str) -> None:
    """The shipped prometheus.yml with 1 s intervals and this test's addresses."""
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
    config["rule_files"] = [str(rules)]
    config["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [alertmanager]}]}]
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "driftmon"]
    job["static_configs"] = [{"targets": [driftmon]}]
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def write_alertmanager_config(path: Path, webhook: Webhook) -> None:
    """The shipped alertmanager.yml, its receivers posting to the test's webhook at /NAME."""
    config = yaml.safe_load((DEPLOY / "alertmanager/alertmanager.yml").read_text())
    config["route"].update(group_wait="1s", group_interval="1s", repeat_interval="1h")
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            hook["url"] = f"{webhook.url}/{receiver['name']}"
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def write_driftmon_config(path: Path) -> None:
    config = {
        "defaults": {"schedule": "1s", "min_samples": 100, "thresholds": THRESHOLDS},
        "monitors": [
            {
                "name": MONITOR,
                "reference": {"type": "file", "path": "reference.csv"},
                "live": {"type": "file", "path": "live.csv"},
                "features": [FEATURE],
                "export": {"bins": True},  # the dashboard's bin-share chart has data
                "multivariate": {"features": [FEATURE, PARTNER], "sample": 2000},  # the joint-drift panels
                "timeout": "10s",  # a new worker's first read of rows imports pandas (about 1 s here)
            }
        ],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prometheus = require_binary("prometheus")
    alertmanager = require_binary("prometheus-alertmanager", "alertmanager")
    directory = tmp_path_factory.mktemp("stack")

    write_rows(directory / "reference.csv", normal(seed=1, mean=0.0, size=5000))
    live_csv = directory / "live.csv"
    write_rows(live_csv, normal(seed=2, mean=0.0, size=2000))
    driftmon_config = directory / "driftmon.yaml"
    write_driftmon_config(driftmon_config)

    ports = {name: free_port() for name in ("driftmon", "prometheus", "alertmanager")}
    address = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    url = {name: f"http://{addr}" for name, addr in address.items()}

    with contextlib.ExitStack() as started:
        webhook = started.enter_context(webhook_server())
        write_alertmanager_config(directory / "alertmanager.yml", webhook)
        rules = write_rules(directory / "rules")
        write_prometheus_config(directory / "prometheus.yml", rules, address["driftmon"], address["alertmanager"])
        processes: dict[str, ServerProcess] = {}
        processes["alertmanager"] = started.enter_context(
            running(
                [
                    alertmanager,
                    f"--config.file={directory / 'alertmanager.yml'}",
                    f"--storage.path={directory / 'alertmanager-data'}",
                    f"--web.listen-address={address['alertmanager']}",
                    "--cluster.listen-address=",  # no gossip port: nothing else to clash with
                ],
                name="alertmanager",
                log_path=directory / "alertmanager.log",
                ready_url=f"{url['alertmanager']}/-/ready",
            )
        )
        processes["driftmon"] = started.enter_context(
            running(
                [
                    sys.executable,
                    "-m",
                    "driftmon",
                    "run",
                    "-c",
                    str(driftmon_config),
                    "--web.listen-address",
                    address["driftmon"],
                ],
                name="driftmon",
                cwd=directory,
                log_path=directory / "driftmon.log",
                ready_url=f"{url['driftmon']}/-/ready",
            )
        )
        processes["prometheus"] = started.enter_context(
            running(
                [
                    prometheus,
                    f"--config.file={directory / 'prometheus.yml'}",
                    f"--storage.tsdb.path={directory / 'prometheus-data'}",
                    f"--web.listen-address={address['prometheus']}",
                ],
                name="prometheus",
                log_path=directory / "prometheus.log",
                ready_url=f"{url['prometheus']}/-/ready",
            )
        )
        yield Stack(
            directory=directory,
            live_csv=live_csv,
            driftmon_url=url["driftmon"],
            prometheus_url=url["prometheus"],
            alertmanager_url=url["alertmanager"],
            webhook=webhook,
            processes=processes,
        )


# ---------------------------------------------------------------------------------------
# the two phases


@dataclass(frozen=True)
class Observation:
    """What was seen during one phase."""

    prometheus_alerts: list[dict[str, Any]]
    webhook_alerts: list[dict[str, Any]]
    scores: dict[str, float]


def current_scores(stack: Stack) -> dict[str, float]:
    """The measure -> score of the feature as Prometheus last scraped it."""
    metrics = {
        "kl": "driftmon_kl_divergence",
        "js": "driftmon_js_divergence",
        "psi": "driftmon_population_stability_index",
    }
    scores = {}
    for measure, metric in metrics.items():
        (sample,) = stack.query(f'{metric}{{monitor="{MONITOR}", feature="{FEATURE}"}}')
        scores[measure] = float(sample["value"][1])
    return scores


@pytest.fixture(scope="module")
def undrifted(stack: Stack) -> Observation:
    """Watch the undrifted stack for longer than the drift alerts' `for:`."""

    def scraped_with_rules_evaluated() -> bool:
        series = stack.query(f'driftmon_drift_alert{{monitor="{MONITOR}"}}')
        groups = stack.api("/api/v1/rules", {"type": "alert"})["groups"]
        evaluated = all(g.get("lastEvaluation", "").startswith("20") for g in groups)
        shipped = yaml.safe_load((DEPLOY / "prometheus/rules/driftmon.rules.yml").read_text())["groups"]
        return len(series) == 6 and len(groups) == len(shipped) and evaluated

    try:
        wait_until(scraped_with_rules_evaluated, 30, message="Prometheus scraping driftmon")
    except BaseException:
        print(stack.describe())
        raise
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 8  # > `for: 3s` + a scrape + two evaluations
    while time.monotonic() < deadline:
        seen += stack.alerts()
        time.sleep(0.5)
    return Observation(seen, stack.webhook.alerts(), current_scores(stack))


@pytest.fixture(scope="module")
def drifted(stack: Stack, undrifted: Observation) -> Observation:
    """Switch the live data to a shifted distribution; wait for the pager's notification."""
    write_rows(stack.live_csv, normal(seed=3, mean=2.0, size=2000))

    def paged() -> list[dict[str, Any]]:
        return [
            alert
            for alert in stack.webhook.alerts("/pager")
            if alert["labels"].get("alertname") == "DriftmonFeatureDriftCritical" and alert["status"] == "firing"
        ]

    try:
        wait_until(paged, 45, message="critical drift alert at the pager webhook")
    except BaseException:
        print(f"webhook: {stack.webhook.received()}\nPrometheus alerts: {stack.alerts()}")
        print(stack.describe())
        raise
    time.sleep(1.5)  # let the notification of every measure arrive
    return Observation(stack.alerts(), stack.webhook.alerts(), current_scores(stack))


# ---------------------------------------------------------------------------------------
# tests


def test_undrifted_live_data_fires_no_drift_alert(undrifted: Observation) -> None:
    """Live data from the reference's distribution: no drift alert, not even pending."""
    for measure, score in undrifted.scores.items():
        assert score < THRESHOLDS[measure]["warning"], (measure, score)
    drift = [a for a in undrifted.prometheus_alerts if a["labels"]["alertname"] in DRIFT_ALERTS]
    assert drift == []
    assert undrifted.webhook_alerts == []


def test_shipped_rules_load_and_evaluate_without_error(stack: Stack) -> None:
    """Prometheus loaded every shipped rule, and each evaluates healthily."""
    groups = stack.api("/api/v1/rules", {})["groups"]
    loaded = {rule["name"]: rule for group in groups for rule in group["rules"]}
    assert set(loaded) == set(FOR_OVERRIDES)
    for name, rule in loaded.items():
        assert rule["health"] == "ok", f"{name}: {rule.get('lastError')}"


def test_critical_drift_alert_reaches_the_pager_through_alertmanager(
    drifted: Observation,
) -> None:
    """Shifted live data: DriftmonFeatureDriftCritical, with the score, at the pager webhook."""
    paged = {
        alert["labels"]["measure"]: alert
        for alert in drifted.webhook_alerts
        if alert["labels"]["alertname"] == "DriftmonFeatureDriftCritical"
    }
    assert set(paged) <= set(THRESHOLDS) and "js" in paged, paged
    alert = paged["js"]
    labels = alert["labels"]
    assert labels["severity"] == "critical"
    assert labels["monitor"] == MONITOR and labels["feature"] == FEATURE
    assert labels["job"] == "driftmon"
    description = alert["annotations"]["description"]
    assert f"feature {FEATURE} in monitor {MONITOR}" in description
    score = float(re.search(r"is ([0-9.e+-]+), at or above", description).group(1))
    assert score >= THRESHOLDS["js"]["critical"]
    assert alert["annotations"]["runbook_url"].endswith("#driftmonfeaturedriftcritical")


def test_only_the_pager_hears_of_it(drifted: Observation, stack: Stack) -> None:
    """Routing by severity: the warning is inhibited by the critical alert, chat stays quiet."""
    chat = [alert for alert in stack.webhook.alerts("/chat") if alert["labels"].get("alertname") in DRIFT_ALERTS]
    assert chat == []
    firing = {
        (a["labels"]["alertname"], a["labels"]["measure"])
        for a in drifted.prometheus_alerts
        if a["labels"]["alertname"] in DRIFT_ALERTS and a["state"] == "firing"
    }
    assert ("DriftmonFeatureDriftWarning", "js") in firing, "the warning fires in Prometheus"


def test_drift_alert_value_is_the_current_score(drifted: Observation, stack: Stack) -> None:
    """The firing alert's value in Prometheus is the feature's score for that measure."""
    for alert in stack.alerts():
        if alert["labels"]["alertname"] == "DriftmonFeatureDriftCritical":
            measure = alert["labels"]["measure"]
            assert float(alert["value"]) == pytest.approx(drifted.scores[measure], rel=1e-6)


def test_health_alerts_stay_quiet(drifted: Observation, undrifted: Observation) -> None:
    """A healthy driftmon trips none of the health alerts (their `for:` is seconds here)."""
    health = set(FOR_OVERRIDES) - DRIFT_ALERTS - QUALITY_ALERTS - JOINT_ALERTS - {"DriftmonEvaluationsStale"}
    for observation in (undrifted, drifted):
        noisy = [a for a in observation.prometheus_alerts if a["labels"]["alertname"] in health]
        assert noisy == []
    broken = [a for a in undrifted.prometheus_alerts if a["labels"]["alertname"] in QUALITY_ALERTS]
    assert broken == []  # clean data from the reference's distribution: no data-quality alert


def test_joint_drift_alert_follows_the_shift(drifted: Observation, undrifted: Observation) -> None:
    """x shifted while y held: the reconstruction method's critical alert is pending or firing,
    with the score as its value; before the shift no joint-drift alert, not even pending."""
    assert [a for a in undrifted.prometheus_alerts if a["labels"]["alertname"] in JOINT_ALERTS] == []
    joint = [a for a in drifted.prometheus_alerts if a["labels"]["alertname"] == "DriftmonJointDriftCritical"]
    assert joint and {a["labels"]["method"] for a in joint} == {"reconstruction"}, drifted.prometheus_alerts
    assert float(joint[0]["value"]) > 0


# ---------------------------------------------------------------------------------------
# the Grafana dashboard, queried the way Grafana would


def load_dashboard() -> dict[str, Any]:
    with (DEPLOY / "grafana/dashboards/driftmon.json").open() as handle:
        dashboard: dict[str, Any] = json.load(handle)
    return dashboard


def dashboard_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def regex_escape(value: str) -> str:
    """Grafana's escaping of a single variable value inside a PromQL regex string."""
    return re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\\\1", value)


# Grafana's built-in variables, for 1 s scrapes and a one-minute time range.
BUILTINS = {"__rate_interval": "4s", "__interval": "1s", "__range": "60s"}
ALL = "$__all"


@dataclass(frozen=True)
class Variable:
    """A dashboard query variable with the options Prometheus gave it."""

    options: list[str]
    all_value: str | None


def interpolate(expr: str, variables: dict[str, Variable], selection: dict[str, list[str]]) -> str:
    """Substitute Grafana variables as its Prometheus datasource does.

    ``selection[name]`` is one value, several (joined as ``(a|b)``), or ``[ALL]``: the
    variable's allValue, or all its options when it has none.
    """

    def render(name: str) -> str:
        if name in BUILTINS:
            return BUILTINS[name]
        selected = selection[name]
        if selected == [ALL]:
            all_value = variables[name].all_value
            if all_value is not None:
                return all_value
            selected = variables[name].options
        if len(selected) == 1:
            return regex_escape(selected[0])
        return "(" + "|".join(regex_escape(v) for v in selected) + ")"

    def replace(match: re.Match[str]) -> str:
        return render(match.group(1) or match.group(2))

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", replace, expr)


def resolve_variables(stack: Stack, dashboard: dict[str, Any]) -> dict[str, Variable]:
    """Each query variable's options from Prometheus, as Grafana lists them (earlier ones at All)."""
    variables: dict[str, Variable] = {}
    now = time.time()
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query" or variable["name"] == "model_metric":  # no model in this stack
            continue
        definition = interpolate(variable["definition"], variables, {name: [ALL] for name in variables})
        match = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", definition.strip())
        assert match, variable["definition"]
        selector, label = match.groups()
        found: list[str] = stack.api(
            f"/api/v1/label/{label}/values",
            [("match[]", selector), ("start", f"{now - 300:.0f}"), ("end", f"{now:.0f}")],
        )
        pattern = variable.get("regex") or ""
        if pattern:
            regex = re.compile(pattern.strip("/"))
            found = [m.group(1) if m.groups() else m.group(0) for m in map(regex.search, found) if m]
        assert found, f"variable {variable['name']}: no values for {definition}"
        variables[variable["name"]] = Variable(sorted(set(found)), variable.get("allValue"))
    return variables


def test_dashboard_variables_resolve_to_the_monitor_feature_and_measures(drifted: Observation, stack: Stack) -> None:
    """monitor, feature and measure list what driftmon exports."""
    variables = resolve_variables(stack, load_dashboard())
    assert variables["monitor"].options == [MONITOR]
    assert variables["feature"].options == [FEATURE]
    assert variables["measure"].options == sorted(["kl_divergence", "js_divergence", "population_stability_index"])


def test_every_dashboard_query_runs_and_returns_data(drifted: Observation, stack: Stack) -> None:
    """Each panel query, with real variable values substituted, returns data.

    Once per measure with every variable at one value (as a repeated panel sees it), and
    once with every variable at "All".
    """
    dashboard = load_dashboard()
    variables = resolve_variables(stack, dashboard)
    selections = [
        {
            "monitor": variables["monitor"].options[:1],
            "feature": variables["feature"].options[:1],
            "measure": [measure],
        }
        for measure in variables["measure"].options
    ]
    selections.append({name: [ALL] for name in variables})

    end = time.time()
    failures = []
    checked = 0
    for selection in selections:
        for panel in dashboard_panels(dashboard):
            for target in panel.get("targets", []):
                if re.search(r"driftmon_(model|label)_", target["expr"]):
                    continue  # the model row: this stack's monitor has no model (tests/test_deploy.py checks the names)
                expr = interpolate(target["expr"], variables, selection)
                where = f"{panel['title']!r} {target['refId']} with {selection}"
                if target.get("instant"):
                    result = stack.query(expr, at=end)
                else:
                    result = stack.query_range(expr, end - 60, end, 1)
                checked += 1
                if not result:
                    failures.append(f"{where}: no data for\n{expr}")
    assert checked >= 20
    assert not failures, "\n\n".join(failures)


def test_broken_live_data_fires_its_named_alert_and_the_monitor_stays_up(drifted: Observation, stack: Stack) -> None:
    """Last (it breaks the live file): the feature's column renamed upstream. The real daemon
    names it (driftmon_schema_anomaly{anomaly="missing_column", column="x"}), stays up, and
    Prometheus fires DriftmonSchemaChange at critical from the shipped rule."""
    rows = normal(seed=5, mean=0.0, size=2000)
    partial = stack.live_csv.with_suffix(".partial")
    partner = np.random.default_rng(7).normal(size=len(rows))
    partial.write_text("x_renamed,y\n" + "\n".join(f"{v:.6f},{w:.6f}" for v, w in zip(rows, partner, strict=True)) + "\n")
    os.replace(partial, stack.live_csv)

    def schema_alert() -> list[dict[str, Any]]:
        alerts = stack.api("/api/v1/alerts", {})["alerts"]
        return [
            a
            for a in alerts
            if a["labels"]["alertname"] == "DriftmonSchemaChange"
            and a["state"] == "firing"
            and a["labels"].get("column") == FEATURE
        ]

    try:
        (alert,) = wait_until(schema_alert, 45, message="DriftmonSchemaChange firing in Prometheus")
    except BaseException:
        print(stack.describe())
        raise
    assert alert["labels"]["severity"] == "critical" and alert["labels"]["anomaly"] == "missing_column"
    (up,) = stack.query(f'driftmon_monitor_up{{monitor="{MONITOR}"}}')
    assert up["value"][1] == "1"  # named, not an evaluation error
