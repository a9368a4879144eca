"""The files in deploy/: they parse, the servers' own checkers accept them, and they agree.

Fast and offline: no driftmon daemon is started. The Prometheus tools (promtool, amtool)
come from Debian's `prometheus` and `prometheus-alertmanager` packages; without them these
tests skip, unless DRIFTMON_REQUIRE_SERVERS=1 (CI), which makes them fail instead.
The end-to-end proof with running servers is tests/integration/test_stack.py.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from servers import require_binary

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
RULES_FILE = DEPLOY / "prometheus" / "rules" / "driftmon.rules.yml"
RULE_TESTS = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "driftmon.json"
DEPLOY_README = DEPLOY / "README.md"
RUNBOOK_BASE = "https://github.com/driftmon/driftmon/blob/main/deploy/README.md#"

# The command every deployment runs (docs/operations.md, Command line), spelled the same everywhere.
CONFIG_PATH = "/etc/driftmon/driftmon.yaml"
RUN_COMMAND = ["driftmon", "run", "-c", CONFIG_PATH]

# docs/metrics.md: the measures' own metrics, config name -> score metric.
SCORE_METRICS = {
    "kl": "driftmon_kl_divergence",
    "kl_reverse": "driftmon_kl_divergence_reverse",
    "js": "driftmon_js_divergence",
    "psi": "driftmon_population_stability_index",
    "hellinger": "driftmon_hellinger_distance",
    "tvd": "driftmon_total_variation_distance",
}
# docs/metrics.md: every metric driftmon exports.
EXPORTED_METRICS = frozenset(
    {
        *SCORE_METRICS.values(),
        *(f"{name}_threshold" for name in SCORE_METRICS.values()),
        "driftmon_drift_alert",
        "driftmon_samples",
        "driftmon_unseen_fraction",
        "driftmon_bin_share",
        "driftmon_missing_ratio",
        "driftmon_out_of_range_ratio",
        "driftmon_quality_alert",
        "driftmon_schema_anomaly",
        "driftmon_live_rows",
        "driftmon_live_rows_expected",
        "driftmon_live_newest_timestamp_seconds",
        "driftmon_segments",
        "driftmon_model_performance",
        "driftmon_model_performance_band",
        "driftmon_model_performance_reference",
        "driftmon_model_alert",
        "driftmon_reference_info",
        "driftmon_multivariate_drift",
        "driftmon_multivariate_drift_threshold",
        "driftmon_multivariate_drift_pvalue",
        "driftmon_multivariate_alert",
        "driftmon_multivariate_contribution",
        "driftmon_label_coverage_ratio",
        "driftmon_label_join",
        "driftmon_label_source_up",
        "driftmon_label_delay_seconds",
        "driftmon_monitor_up",
        "driftmon_evaluations_total",
        "driftmon_evaluation_failures_total",
        "driftmon_last_evaluation_duration_seconds",
        "driftmon_last_success_timestamp_seconds",
        "driftmon_schedule_interval_seconds",
        "driftmon_config_last_reload_successful",
        "driftmon_config_last_reload_success_timestamp_seconds",
        "driftmon_build_info",
    }
)
# Series Prometheus makes itself for every target, which the rules may use, and the
# Pushgateway's time of each group's last push (batch mode).
PROMETHEUS_SERIES = frozenset({"up", "push_time_seconds"})

ALERTS = {
    "DriftmonFeatureDriftWarning": "warning",
    "DriftmonFeatureDriftCritical": "critical",
    "DriftmonMonitorDown": "warning",
    "DriftmonEvaluationsStale": "warning",
    "DriftmonConfigReloadFailed": "warning",
    "DriftmonDown": "critical",
    "DriftmonPushMissing": "warning",
    "DriftmonDataQualityCritical": "critical",
    "DriftmonDataQualityWarning": "warning",
    "DriftmonLowVolume": "critical",
    "DriftmonSchemaChange": "{{ $labels.severity }}",  # the anomaly's own severity
    "DriftmonStaleData": "critical",
    "DriftmonVolumeChange": "warning",
    "DriftmonModelPerformanceCritical": "critical",
    "DriftmonModelPerformanceWarning": "warning",
    "DriftmonJointDriftCritical": "critical",
    "DriftmonJointDriftWarning": "warning",
}


# ---------------------------------------------------------------------------------------
# helpers


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_yaml_documents(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def run(args: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, (
        f"{shlex.join(result.args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    )


def rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(RULES_FILE)["groups"] for rule in group["rules"]]


def alert_rules() -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in rules() if "alert" in rule}


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown document."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    in_code = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        match = None if in_code else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        text = re.sub(r"`|\*|_(?=\w)|(?<=\w)_", "", match.group(1))
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    for match in re.finditer(r'<a\s+(?:name|id)="([^"]+)"', markdown):
        anchors.add(match.group(1))
    return anchors


PROMQL_KEYWORDS = frozenset(
    {
        "and",
        "or",
        "unless",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "offset",
        "bool",
        "inf",
        "nan",
        "atan2",
        # aggregation operators may put `by (...)` before their parentheses
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    }
)
MEASURE_SUFFIXES = [name.removeprefix("driftmon_") for name in SCORE_METRICS.values()]


def expand_name_regex(pattern: str) -> list[str]:
    """The metric names an anchored ``__name__`` regex of the form ``a(b|c)d`` stands for.

    ``${measure}`` / ``$measure`` (the dashboard's measure variable) stands for each score
    metric's suffix. Anything fancier than one group of literal alternatives is rejected,
    so that the test can list every name a query can touch.
    """
    if re.search(r"\$\{?measure\b", pattern):
        names: list[str] = []
        for suffix in MEASURE_SUFFIXES:
            names += expand_name_regex(re.sub(r"\$\{measure(:\w+)?\}|\$measure\b", suffix, pattern))
        return names
    match = re.fullmatch(r"([\w:]*)(?:\(([\w:|]+)\))?([\w:]*)", pattern)
    assert match, f"__name__ regex {pattern!r} is not of the form prefix(a|b)suffix"
    prefix, alternatives, suffix = match.groups()
    return [prefix + alt + suffix for alt in (alternatives or "").split("|")]


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression (possibly with Grafana variables) selects."""
    names: set[str] = set()
    for pattern in re.findall(r'__name__\s*=~?\s*"([^"]*)"', expr):
        names.update(expand_name_regex(pattern))
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^{}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range and subquery durations
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", text)  # label lists
    text = re.sub(r"\$\w+", "", text)  # Grafana variables
    for match in re.finditer(r"(?<![\w.$])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        word, is_call = match.group(1), match.group(2)
        if is_call or word in PROMQL_KEYWORDS:
            continue
        names.add(word)
    return names


def dashboard() -> dict[str, Any]:
    with DASHBOARD.open(encoding="utf-8") as handle:
        document: dict[str, Any] = json.load(handle)
    return document


def panels(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in document["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_queries(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and every query variable's label_values."""
    queries: list[tuple[str, str]] = []
    for panel in panels(document):
        for target in panel.get("targets", []):
            queries.append((f"panel {panel['title']!r} {target['refId']}", target["expr"]))
    for variable in document["templating"]["list"]:
        if variable["type"] != "query":
            continue
        match = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", variable["definition"].strip())
        assert match, f"variable {variable['name']}: expected label_values(selector, label)"
        queries.append((f"variable {variable['name']}", match.group(1)))
    return queries


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def compose() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml(DEPLOY / "docker" / "compose.yaml")
    return document


def bind_mounts(service: dict[str, Any]) -> list[tuple[Path, str]]:
    """(host path, container path) of a compose service's bind mounts (named volumes left out)."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts.append(((DEPLOY / "docker" / source).resolve(), target))
    return mounts


def unit_values(key: str) -> list[str]:
    """Every value of a key the unit file sets, in order (systemd allows repeating keys)."""
    text = (DEPLOY / "systemd" / "driftmon.service").read_text(encoding="utf-8")
    return re.findall(rf"^{re.escape(key)}=(.*)$", text, flags=re.MULTILINE)


def systemd_unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "systemd" / "driftmon.service", encoding="utf-8")
    return parser


def kubernetes_manifests() -> dict[str, dict[str, Any]]:
    """Kind -> manifest of every YAML file in deploy/kubernetes (one object each)."""
    manifests: dict[str, dict[str, Any]] = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for document in load_yaml_documents(path):
            assert document["kind"] not in manifests, f"two {document['kind']} manifests"
            manifests[document["kind"]] = document
    return manifests


# ---------------------------------------------------------------------------------------
# Prometheus


def test_promtool_accepts_the_prometheus_config_and_its_rule_files() -> None:
    """`promtool check config` passes on the shipped config, which loads the rules file."""
    promtool = require_binary("promtool")
    result = run([promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")])
    assert_ok(result)
    assert "driftmon.rules.yml" in result.stdout + result.stderr, "rule_files misses the rules"


def test_promtool_accepts_the_compose_prometheus_config_as_mounted(tmp_path: Path) -> None:
    """The compose stack's Prometheus config is valid with its files where compose mounts them."""
    promtool = require_binary("promtool")
    service = compose()["services"]["prometheus"]
    for source, target in bind_mounts(service):
        destination = tmp_path / target.lstrip("/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination)
        else:
            shutil.copy(source, destination)
    config_flag = next(arg for arg in service["command"] if arg.startswith("--config.file="))
    config = tmp_path / config_flag.split("=", 1)[1].lstrip("/")
    result = run([promtool, "check", "config", str(config)])
    assert_ok(result)
    assert "driftmon.rules.yml" in result.stdout + result.stderr, "rules not found where mounted"


def test_promtool_accepts_the_rules() -> None:
    """`promtool check rules` passes on the one rules file."""
    assert_ok(run([require_binary("promtool"), "check", "rules", str(RULES_FILE)]))


def test_promtool_rule_unit_tests_pass() -> None:
    """The promtool unit tests of every rule pass."""
    promtool = require_binary("promtool")
    assert RULE_TESTS, "no promtool unit tests in deploy/prometheus/tests/"
    assert_ok(run([promtool, "test", "rules", *map(str, RULE_TESTS)]))


def test_every_alert_is_unit_tested_firing_and_not_firing() -> None:
    """Each alert has a promtool case where it fires and one where it must not."""
    firing: set[str] = set()
    quiet: set[str] = set()
    for path in RULE_TESTS:
        for case in load_yaml(path)["tests"]:
            for check in case.get("alert_rule_test", []):
                (firing if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert set(alert_rules()) <= firing, f"never tested firing: {set(alert_rules()) - firing}"
    assert set(alert_rules()) <= quiet, f"never tested quiet: {set(alert_rules()) - quiet}"


def test_the_alerts_exist_with_severity_annotations_and_runbook() -> None:
    """Every expected alert exists, with its severity, summary, description and a runbook link."""
    found = alert_rules()
    assert set(found) == set(ALERTS)
    anchors = github_anchors(DEPLOY_README.read_text(encoding="utf-8"))
    for name, rule in found.items():
        assert rule["labels"]["severity"] == ALERTS[name], name
        annotations = rule["annotations"]
        assert annotations.get("summary") and annotations.get("description"), name
        url = annotations["runbook_url"]
        assert url.startswith(RUNBOOK_BASE), f"{name}: runbook_url {url}"
        anchor = url.removeprefix(RUNBOOK_BASE)
        assert anchor in anchors, f"{name}: deploy/README.md has no heading for #{anchor}"


def test_drift_alerts_ride_out_a_noisy_evaluation_and_name_the_score() -> None:
    """The drift alerts wait with `for:`, and their text names monitor, feature, measure, value."""
    found = alert_rules()
    for name, severity in [("DriftmonFeatureDriftWarning", "warning"), ("DriftmonFeatureDriftCritical", "critical")]:
        rule = found[name]
        assert f'driftmon_drift_alert{{severity="{severity}"}} == 1' in rule["expr"]
        assert rule.get("for"), f"{name} has no `for:`"
        text = rule["annotations"]["summary"] + rule["annotations"]["description"]
        for part in ("$labels.monitor", "$labels.feature", "$labels.measure", "$value"):
            assert part in text, f"{name}: annotations do not mention {part}"
        # Every measure's score metric takes part, with the config name as `measure`.
        for measure, metric in SCORE_METRICS.items():
            assert f'label_replace({metric}, "measure", "{measure}", "", "")' in rule["expr"]


def test_rules_use_only_metrics_driftmon_exports() -> None:
    """Every metric in the rules is one driftmon exports (or Prometheus's own `up`)."""
    for rule in rules():
        unknown = metric_names(rule["expr"]) - EXPORTED_METRICS - PROMETHEUS_SERIES
        assert not unknown, f"{rule.get('alert') or rule.get('record')}: unknown metrics {unknown}"


def test_scrape_job_is_the_one_the_rules_select() -> None:
    """The scrape job is named `driftmon` (DriftmonDown selects up{job="driftmon"}) on :9847."""
    for path in (DEPLOY / "prometheus" / "prometheus.yml", DEPLOY / "docker" / "prometheus.yml"):
        jobs = {job["job_name"]: job for job in load_yaml(path)["scrape_configs"]}
        targets = [t for sc in jobs["driftmon"]["static_configs"] for t in sc["targets"]]
        assert targets and all(t.endswith(":9847") for t in targets), path
    assert 'up{job="driftmon"}' in alert_rules()["DriftmonDown"]["expr"]


# ---------------------------------------------------------------------------------------
# Alertmanager


def test_amtool_accepts_the_alertmanager_config() -> None:
    """`amtool check-config` passes on the example Alertmanager config."""
    amtool = require_binary("amtool")
    assert_ok(run([amtool, "check-config", str(DEPLOY / "alertmanager" / "alertmanager.yml")]))


@pytest.mark.parametrize(("severity", "receiver"), [("critical", "pager"), ("warning", "chat")])
def test_alertmanager_routes_by_severity(severity: str, receiver: str) -> None:
    """Critical alerts go to the pager receiver, warnings to chat."""
    amtool = require_binary("amtool")
    config = DEPLOY / "alertmanager" / "alertmanager.yml"
    for alertname in [name for name, level in ALERTS.items() if level == severity]:
        result = run(
            [
                amtool,
                "config",
                "routes",
                "test",
                f"--config.file={config}",
                f"--verify.receivers={receiver}",
                f"alertname={alertname}",
                f"severity={severity}",
                "monitor=m",
                "feature=f",
            ]
        )
        assert_ok(result)


# ---------------------------------------------------------------------------------------
# Kubernetes


def test_prometheusrule_holds_exactly_the_rules_file_groups() -> None:
    """The PrometheusRule's spec.groups equal the groups of deploy/prometheus/rules."""
    rule = kubernetes_manifests()["PrometheusRule"]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["spec"]["groups"] == load_yaml(RULES_FILE)["groups"], (
        "deploy/kubernetes/prometheusrule.yaml is out of date: run "
        "python deploy/kubernetes/render_prometheusrule.py > deploy/kubernetes/prometheusrule.yaml"
    )


def test_prometheusrule_is_the_rendered_rules_file() -> None:
    """prometheusrule.yaml is exactly what render_prometheusrule.py prints (comments too)."""
    path = DEPLOY / "kubernetes" / "render_prometheusrule.py"
    spec = importlib.util.spec_from_file_location("render_prometheusrule", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render(RULES_FILE.read_text(encoding="utf-8"))
    actual = (DEPLOY / "kubernetes" / "prometheusrule.yaml").read_text(encoding="utf-8")
    assert actual == expected, f"regenerate: python {path.relative_to(REPO)} > prometheusrule.yaml"


def test_kubernetes_manifests_fit_together() -> None:
    """Service, ServiceMonitor, Deployment and ConfigMap select and name each other right."""
    objects = kubernetes_manifests()
    assert {"Deployment", "Service", "ConfigMap", "ServiceMonitor", "PrometheusRule"} <= set(objects)
    deployment, service = objects["Deployment"], objects["Service"]
    monitor, config_map = objects["ServiceMonitor"], objects["ConfigMap"]
    pod = deployment["spec"]["template"]
    pod_labels = pod["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert service["spec"]["selector"].items() <= pod_labels.items()
    # The Operator names the job after the Service; DriftmonDown selects job="driftmon".
    assert service["metadata"]["name"] == "driftmon"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    service_ports = {port["name"]: port for port in service["spec"]["ports"]}
    assert "metrics" in service_ports
    assert [endpoint["port"] for endpoint in monitor["spec"]["endpoints"]] == ["metrics"]

    (container,) = pod["spec"]["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"metrics": 9847}
    assert service_ports["metrics"]["targetPort"] in ("metrics", 9847)
    assert container["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
    assert deployment["spec"]["replicas"] == 1, "two schedulers would evaluate everything twice"

    # The image's entrypoint is `driftmon run`; the args give the config the ConfigMap holds.
    assert ["driftmon", "run", *container["args"]] == RUN_COMMAND
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["spec"]["volumes"]}
    config_volume = next(n for n, v in volumes.items() if "configMap" in v)
    assert volumes[config_volume]["configMap"]["name"] == config_map["metadata"]["name"]
    assert f"{mounts[config_volume]}/driftmon.yaml" == CONFIG_PATH
    assert "driftmon.yaml" in config_map["data"]
    embedded = yaml.safe_load(config_map["data"]["driftmon.yaml"])
    assert embedded["monitors"] and all("name" in m for m in embedded["monitors"])

    security = pod["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True
    assert str(security["runAsUser"]) == docker_user().split(":")[0], "UID differs from the image"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_kustomization_lists_every_manifest() -> None:
    """kustomization.yaml applies every manifest in deploy/kubernetes but the sharded alternative to the Deployment."""
    kustomization = load_yaml(DEPLOY / "kubernetes" / "kustomization.yaml")
    files = {p.name for p in (DEPLOY / "kubernetes").glob("*.yaml")} - {"kustomization.yaml", "statefulset-sharded.yaml"}
    assert set(kustomization["resources"]) == files


# ---------------------------------------------------------------------------------------
# Grafana


def test_dashboard_has_a_fixed_uid_and_nothing_to_import() -> None:
    """The dashboard provisions as is: fixed uid, no __inputs, no ${DS_...} placeholders."""
    document = dashboard()
    assert re.fullmatch(r"[a-zA-Z0-9_-]{1,40}", document.get("uid") or "")
    assert "__inputs" not in document and "__requires" not in document
    assert "${DS_" not in DASHBOARD.read_text(encoding="utf-8")
    assert document.get("id") is None, "a provisioned dashboard must not carry a database id"


def test_dashboard_variables() -> None:
    """A datasource variable, then monitor, feature and measure from label_values."""
    variables = {v["name"]: v for v in dashboard()["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("monitor", "feature", "measure"):
        variable = variables[name]
        assert variable["type"] == "query", name
        assert variable["definition"].startswith("label_values("), name
        assert variable["query"]["query"] == variable["definition"], name
        assert variable["datasource"]["uid"] == "${datasource}", name
    # The measure variable holds score metric names without the prefix (one per measure).
    assert variables["measure"]["regex"] == "/^driftmon_(.+)$/"
    names = metric_names(dashboard_queries(dashboard())[-1][1])
    assert names == set(SCORE_METRICS.values())


def test_every_panel_has_a_unit_a_description_and_the_datasource_variable() -> None:
    """Units and descriptions on every panel; every query goes to the selected datasource."""
    for panel in panels(dashboard()):
        if panel["type"] == "row":
            continue
        title = panel["title"]
        assert panel.get("description", "").strip(), f"{title}: no description"
        assert panel["fieldConfig"]["defaults"].get("unit"), f"{title}: no unit"
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, title
        assert panel["targets"], f"{title}: no query"
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], title


def test_dashboard_has_the_panels_an_ml_engineer_needs() -> None:
    """Drifting-now table, scores with thresholds, unseen fraction, samples, health, durations."""
    document = dashboard()
    exprs = {panel["title"]: " ".join(t["expr"] for t in panel.get("targets", [])) for panel in panels(document)}
    table = next(p for p in panels(document) if p["type"] == "table")
    assert "driftmon_drift_alert" in exprs[table["title"]] and "sort_desc" in exprs[table["title"]]
    scores = next(p for p in panels(document) if p.get("repeat") == "measure")
    assert "_threshold" in exprs[scores["title"]]
    everything = " ".join(exprs.values())
    for metric in (
        "driftmon_unseen_fraction",
        'driftmon_samples{side="live"',
        "driftmon_monitor_up",
        "driftmon_last_success_timestamp_seconds",
        "driftmon_last_evaluation_duration_seconds",
    ):
        assert metric in everything, f"no panel shows {metric}"


def test_dashboard_queries_use_only_metrics_driftmon_exports() -> None:
    """Every metric any panel or variable queries is one driftmon exports (docs/metrics.md)."""
    used: set[str] = set()
    for where, expr in dashboard_queries(dashboard()):
        names = metric_names(expr)
        assert names, f"{where}: no metric found in {expr!r}"
        assert names <= EXPORTED_METRICS, f"{where}: unknown metrics {names - EXPORTED_METRICS}"
        used |= names
    assert used >= set(SCORE_METRICS.values())


def test_grafana_provisioning() -> None:
    """The datasource and dashboard providers parse and point where compose mounts things."""
    datasources = load_yaml(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml")
    assert datasources["apiVersion"] == 1
    (source,) = datasources["datasources"]
    assert source["type"] == "prometheus" and source["uid"] and source["isDefault"] is True
    assert source["url"] == "http://prometheus:9090", "compose's Prometheus service"

    providers = load_yaml(DEPLOY / "grafana" / "provisioning" / "dashboards" / "driftmon.yaml")
    assert providers["apiVersion"] == 1
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    mounts = dict((target, source) for source, target in bind_mounts(compose()["services"]["grafana"]))
    assert mounts[provider["options"]["path"]] == DASHBOARD.parent
    assert mounts["/etc/grafana/provisioning/dashboards"] == DEPLOY / "grafana/provisioning/dashboards"
    assert mounts["/etc/grafana/provisioning/datasources"] == DEPLOY / "grafana/provisioning/datasources"


# ---------------------------------------------------------------------------------------
# Docker


def docker_user() -> str:
    return next(
        args for keyword, args in dockerfile_instructions(DEPLOY / "docker" / "Dockerfile") if keyword == "USER"
    )


def test_dockerfile_copies_existing_files_and_runs_driftmon() -> None:
    """Base, non-root user, COPY sources that exist, exec-form `driftmon run -c`, healthcheck."""
    instructions = dockerfile_instructions(DEPLOY / "docker" / "Dockerfile")
    by_keyword: dict[str, list[str]] = {}
    for keyword, args in instructions:
        by_keyword.setdefault(keyword, []).append(args)

    assert by_keyword["FROM"] == ["python:3.11-slim"]
    for args in by_keyword["COPY"]:
        *sources, _destination = args.split()
        for source in sources:
            assert not source.startswith("--"), "COPY --from/--chown: adapt this test"
            assert (REPO / source).exists(), f"COPY {source}: not in the build context (repo root)"
    (user,) = by_keyword["USER"]
    assert re.fullmatch(r"[1-9]\d{3,}(:\d+)?", user), f"USER {user}: want a fixed non-root UID"
    assert any("pip install ." in args for args in by_keyword["RUN"])

    (entrypoint,) = by_keyword["ENTRYPOINT"]
    (cmd,) = by_keyword["CMD"]
    assert json.loads(entrypoint) == ["driftmon", "run"], "exec form, so driftmon is PID 1"
    assert json.loads(entrypoint) + json.loads(cmd) == RUN_COMMAND
    assert f"DRIFTMON_CONFIG={CONFIG_PATH}" in " ".join(by_keyword["ENV"])
    assert by_keyword["EXPOSE"] == ["9847"]
    (healthcheck,) = by_keyword["HEALTHCHECK"]
    assert "/-/healthy" in healthcheck and "urllib.request" in healthcheck
    exec_form = json.loads(healthcheck[healthcheck.index("CMD") + 3 :])
    assert exec_form[:2] == ["python", "-c"]
    compile(exec_form[2], "HEALTHCHECK", "exec")


def test_dockerignore_keeps_what_the_image_copies() -> None:
    """The Dockerfile's own ignore file does not exclude a path the Dockerfile copies."""
    ignore = (DEPLOY / "docker" / "Dockerfile.dockerignore").read_text(encoding="utf-8")
    kept = {line[1:].rstrip("/") for line in ignore.splitlines() if line.startswith("!")}
    for keyword, args in dockerfile_instructions(DEPLOY / "docker" / "Dockerfile"):
        if keyword == "COPY":
            for source in args.split()[:-1]:
                assert source.rstrip("/") in kept, f"{source} is ignored"


def test_compose_file_builds_from_the_repo_and_mounts_existing_paths() -> None:
    """The compose services exist, build from the repo root, and mount paths that exist."""
    services = compose()["services"]
    assert {"driftmon", "prometheus", "alertmanager", "grafana"} <= set(services)
    build = services["driftmon"]["build"]
    context = (DEPLOY / "docker" / build["context"]).resolve()
    assert context == REPO
    assert (context / build["dockerfile"]).resolve() == DEPLOY / "docker" / "Dockerfile"
    for name, service in services.items():
        for source, target in bind_mounts(service):
            assert source.exists(), f"{name}: mounts {source} at {target}, which does not exist"
    mounts = bind_mounts(services["prometheus"])
    assert (DEPLOY / "prometheus" / "rules", "/etc/prometheus/rules") in mounts
    assert (DEPLOY / "alertmanager" / "alertmanager.yml", "/etc/alertmanager/alertmanager.yml") in [
        (s, t) for s, t in bind_mounts(services["alertmanager"])
    ]


def test_compose_runs_driftmon_on_the_example_config() -> None:
    """Compose's driftmon reads config/driftmon.example.yaml, mounted read-only, with its data."""
    service = compose()["services"]["driftmon"]
    volumes = service["volumes"]
    assert "../../config:/etc/driftmon:ro" in volumes
    command = service["command"]
    assert command[0] == "-c"
    config_in_container = command[1]
    host_path = next(
        source / Path(config_in_container).relative_to(target)
        for source, target in bind_mounts(service)
        if config_in_container.startswith(target + "/")
    )
    assert host_path == REPO / "config" / "driftmon.example.yaml"
    if not host_path.exists():
        pytest.skip("config/driftmon.example.yaml is not written yet")
    example = load_yaml(host_path)
    mount = REPO / "config"
    for monitor in example["monitors"]:
        for side in ("reference", "live"):
            path = Path(monitor[side]["path"])
            resolved = (host_path.parent / path) if not path.is_absolute() else path
            # Relative paths must stay inside the read-only mount, or the container misses them.
            assert resolved.resolve().is_relative_to(mount.resolve()), (
                f"{monitor['name']}.{side}: {path} is outside the mounted config/ directory"
            )


# ---------------------------------------------------------------------------------------
# systemd


HARDENING = {
    "DynamicUser": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "CapabilityBoundingSet": "",
    "StateDirectory": "driftmon",
    "ConfigurationDirectory": "driftmon",
}


def test_systemd_unit_is_hardened_and_reloads_with_sighup() -> None:
    """The unit runs `driftmon run -c`, reloads with SIGHUP, and sets the hardening options."""
    unit = systemd_unit()
    service = unit["Service"]
    assert shlex.split(service["ExecStart"]) == ["/usr/local/bin/driftmon", *RUN_COMMAND[1:]]
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    for key, value in HARDENING.items():
        assert service.get(key) == value, f"{key}={service.get(key)!r}, want {value!r}"
    # configparser keeps the last of repeated keys; systemd adds them up.
    filters = unit_values("SystemCallFilter")
    assert "@system-service" in filters, filters
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def systemd_analyze() -> str:
    """systemd-analyze is an optional tool here (not a server CI must have): skip without it."""
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.skip("systemd-analyze not found")
    return path


def installable_unit(tmp_path: Path) -> Path:
    """A copy of the unit whose ExecStart binary exists here (verify checks it is executable)."""
    text = (DEPLOY / "systemd" / "driftmon.service").read_text(encoding="utf-8")
    copy = tmp_path / "driftmon.service"
    copy.write_text(text.replace("/usr/local/bin/driftmon", "/bin/true"), encoding="utf-8")
    return copy


def test_systemd_analyze_verify(tmp_path: Path) -> None:
    """`systemd-analyze verify` finds nothing wrong with the unit."""
    result = run([systemd_analyze(), "verify", "--man=no", str(installable_unit(tmp_path))])
    assert_ok(result)
    assert not result.stderr.strip(), result.stderr


def test_systemd_exposure_is_low(tmp_path: Path) -> None:
    """`systemd-analyze security --offline` rates the unit's exposure at most 2.0 ("OK")."""
    result = run([systemd_analyze(), "security", "--offline=yes", "--threshold=20", str(installable_unit(tmp_path))])
    assert_ok(result)


# ---------------------------------------------------------------------------------------
# the command is the same everywhere


def test_deploy_readme_documents_each_piece_and_the_command() -> None:
    """deploy/README.md walks through every directory and shows the command they all run."""
    readme = DEPLOY_README.read_text(encoding="utf-8")
    anchors = github_anchors(readme)
    assert {"running-in-production", "runbook"} <= anchors
    for directory in ("prometheus", "alertmanager", "grafana", "docker", "systemd", "kubernetes"):
        assert f"deploy/{directory}/" in readme, f"README does not mention deploy/{directory}/"
    assert shlex.join(RUN_COMMAND) in readme


def test_kubernetes_configmap_holds_a_valid_config(tmp_path: Path) -> None:
    """`driftmon validate --syntax-only` accepts the configuration the ConfigMap carries (its
    files are in the pod's volumes, not here)."""
    if importlib.util.find_spec("driftmon.cli") is None:
        pytest.skip("driftmon.cli is not written yet")
    config_map = kubernetes_manifests()["ConfigMap"]
    config = tmp_path / "driftmon.yaml"
    config.write_text(config_map["data"]["driftmon.yaml"], encoding="utf-8")
    assert_ok(run([sys.executable, "-m", "driftmon", "validate", "-c", str(config), "--syntax-only"]))


def test_deploy_readme_links_to_its_own_headings() -> None:
    """Every `](#anchor)` link in deploy/README.md leads to a heading that exists."""
    readme = DEPLOY_README.read_text(encoding="utf-8")
    anchors = github_anchors(readme)
    missing = set(re.findall(r"\]\(#([^)]+)\)", readme)) - anchors
    assert not missing, f"links to missing headings: {missing}"


def test_driftmon_cli_accepts_the_flags_the_deployments_pass() -> None:
    """`driftmon run --help` lists -c and --web.listen-address (once the daemon exists)."""
    if importlib.util.find_spec("driftmon.cli") is None:
        pytest.skip("driftmon.cli is not written yet")
    result = run([sys.executable, "-m", "driftmon", "run", "--help"])
    assert_ok(result)
    for flag in ("-c", "--web.listen-address"):
        assert re.search(rf"(?<![\w-]){re.escape(flag)}\b", result.stdout), flag


# ---------------------------------------------------------------------------------------
# HTTPS and basic auth: the web configs and the scrape configs that match them

WEB_FLAG = "--web.config.file"


def shipped_web_configs() -> dict[str, str]:
    """Where -> text of every web config deploy/ ships (files and the Kubernetes Secret)."""
    secret = load_yaml(DEPLOY / "kubernetes" / "tls" / "web-config-secret.yaml")
    return {
        "deploy/web/web.yml": (DEPLOY / "web" / "web.yml").read_text(encoding="utf-8"),
        "deploy/systemd/web.yml": (DEPLOY / "systemd" / "web.yml").read_text(encoding="utf-8"),
        "deploy/kubernetes/tls/web-config-secret.yaml": secret["stringData"]["web.yml"],
    }


@pytest.fixture(scope="module")
def throwaway_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from certs import CA

    folder = tmp_path_factory.mktemp("deploy-pki")
    pair = CA(folder).issue("server", "driftmon", server=True)
    return pair.cert, pair.key


@pytest.mark.parametrize("where", sorted(shipped_web_configs()))
def test_promtool_and_driftmon_accept_every_shipped_web_config(
    tmp_path: Path, throwaway_pair: tuple[Path, Path], where: str
) -> None:
    """Each shipped web config, with a real certificate and key where it names them, passes
    `promtool check web-config` and driftmon's own loader, and turns on TLS and basic auth."""
    from driftmon.web.config import load

    text = shipped_web_configs()[where]
    config = yaml.safe_load(text)
    tls = config["tls_server_config"]
    assert config["basic_auth_users"], where
    for key, source in (("cert_file", throwaway_pair[0]), ("key_file", throwaway_pair[1])):
        named = Path(tls[key])
        target = tmp_path / (named.relative_to("/") if named.is_absolute() else named)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        tls[key] = str(target) if named.is_absolute() else tls[key]
    path = tmp_path / "web.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert_ok(run([require_binary("promtool"), "check", "web-config", str(path)]))
    loaded = load(path)
    assert loaded.tls is not None and loaded.users


def test_shipped_web_configs_agree() -> None:
    """The three web configs differ only in where the certificate lives."""
    configs = {where: yaml.safe_load(text) for where, text in shipped_web_configs().items()}
    for config in configs.values():
        for key in ("cert_file", "key_file"):
            config["tls_server_config"][key] = Path(config["tls_server_config"][key]).name
    first, *rest = configs.values()
    assert all(config == first for config in rest), configs


@pytest.mark.parametrize("path", ["prometheus/prometheus-tls.yml", "docker/prometheus-tls.yml"])
def test_tls_scrape_configs_use_https_a_ca_and_a_password_file(path: str) -> None:
    """The HTTPS scrape configs keep job `driftmon` on :9847 and use scheme https, the CA
    (tls_config.ca_file) and basic_auth with a password_file; promtool accepts them."""
    config = load_yaml(DEPLOY / path)
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "driftmon"]
    assert job["scheme"] == "https"
    assert job["tls_config"]["ca_file"].startswith("/")
    assert job["basic_auth"]["username"] == "prometheus" and job["basic_auth"]["password_file"]
    assert "password" not in job["basic_auth"], "the password belongs in a file"
    targets = [t for sc in job["static_configs"] for t in sc["targets"]]
    assert targets and all(t.endswith(":9847") for t in targets)
    assert_ok(run([require_binary("promtool"), "check", "config", str(DEPLOY / path)]))


def test_compose_tls_override_mounts_what_it_names() -> None:
    """compose.tls.yaml passes --web.config.file from the mounted deploy/web/, and mounts the
    HTTPS scrape config and, for Prometheus, the CA and the password file it names."""
    override = load_yaml(DEPLOY / "docker" / "compose.tls.yaml")["services"]
    driftmon, prometheus = override["driftmon"], override["prometheus"]
    flag = next(arg for arg in driftmon["command"] if arg.startswith(WEB_FLAG + "="))
    web_path = flag.split("=", 1)[1]
    mounts = dict((target, source) for source, target in bind_mounts(driftmon))
    folder = str(Path(web_path).parent)
    assert mounts[folder] == DEPLOY / "web" and (DEPLOY / "web" / Path(web_path).name).exists()
    assert "/-/healthy" in driftmon["healthcheck"]["test"][-1] and "https://" in driftmon["healthcheck"]["test"][-1]
    compile(driftmon["healthcheck"]["test"][-1], "healthcheck", "exec")
    prometheus_mounts = {target: source for source, target in bind_mounts(prometheus)}
    assert prometheus_mounts["/etc/prometheus/prometheus.yml"] == DEPLOY / "docker" / "prometheus-tls.yml"
    job = load_yaml(DEPLOY / "docker" / "prometheus-tls.yml")["scrape_configs"][0]
    assert prometheus_mounts[job["tls_config"]["ca_file"]] == DEPLOY / "web" / "tls" / "tls.crt"
    assert prometheus_mounts[job["basic_auth"]["password_file"]] == DEPLOY / "web" / "prometheus.password"


def test_systemd_tls_drop_in_hands_the_key_over_as_credentials() -> None:
    """The drop-in resets ExecStart to the same command plus --web.config.file, and loads as
    credentials exactly the files its web.yml names under /run/credentials/driftmon.service/."""
    text = (DEPLOY / "systemd" / "driftmon-tls.conf").read_text(encoding="utf-8")
    exec_starts = re.findall(r"^ExecStart=(.*)$", text, flags=re.MULTILINE)
    assert exec_starts[0] == "" and len(exec_starts) == 2, "an ExecStart= reset, then the command"
    command = shlex.split(exec_starts[1])
    assert command[:4] == ["/usr/local/bin/driftmon", *RUN_COMMAND[1:]]
    assert command[4:] == [f"{WEB_FLAG}=/etc/driftmon/web.yml"]
    credentials = {line.split(":", 1)[0] for line in re.findall(r"^LoadCredential=(.*)$", text, flags=re.MULTILINE)}
    tls = load_yaml(DEPLOY / "systemd" / "web.yml")["tls_server_config"]
    named = {Path(tls[key]) for key in ("cert_file", "key_file")}
    assert named == {Path("/run/credentials/driftmon.service") / name for name in credentials}


def test_kubernetes_tls_overlay_fits_the_base() -> None:
    """The overlay patches the base Deployment and ServiceMonitor by name: driftmon gets
    --web.config.file where the Secret is mounted (web.yml with tls/ beside it), the probes
    log in over HTTPS, and the ServiceMonitor scrapes with https, a CA and basic auth."""
    overlay = DEPLOY / "kubernetes" / "tls"
    kustomization = load_yaml(overlay / "kustomization.yaml")
    for resource in kustomization["resources"]:
        assert (overlay / resource).exists(), resource
    base = kubernetes_manifests()
    deployment = load_yaml(overlay / "deployment-tls.yaml")
    monitor = load_yaml(overlay / "servicemonitor-tls.yaml")
    assert deployment["metadata"]["name"] == base["Deployment"]["metadata"]["name"]
    assert monitor["metadata"]["name"] == base["ServiceMonitor"]["metadata"]["name"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    (base_container,) = base["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["name"] == base_container["name"]
    assert container["args"][:2] == base_container["args"]
    web_path = next(arg for arg in container["args"] if arg.startswith(WEB_FLAG + "=")).split("=", 1)[1]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    web_volume = next(name for name, path in mounts.items() if path == str(Path(web_path).parent))
    projected = {item["path"] for source in volumes[web_volume]["projected"]["sources"] for item in source["secret"]["items"]}
    web_config = yaml.safe_load(load_yaml(overlay / "web-config-secret.yaml")["stringData"]["web.yml"])
    tls = web_config["tls_server_config"]
    assert {Path(web_path).name, tls["cert_file"], tls["key_file"]} <= projected
    for probe, path in (("readinessProbe", "/-/ready"), ("livenessProbe", "/-/healthy")):
        command = container[probe]["exec"]["command"]
        assert command[-1] == path and "https://127.0.0.1:9847" in command[2]
        compile(command[2], probe, "exec")
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] == "metrics" and endpoint["scheme"] == "https"
    assert endpoint["tlsConfig"]["ca"] and endpoint["basicAuth"]["password"]["key"] == "password"


def test_driftmon_cli_accepts_the_web_flags() -> None:
    """`driftmon run --help` lists --web.config.file and the limit flags the README documents."""
    result = run([sys.executable, "-m", "driftmon", "run", "--help"])
    assert_ok(result)
    for flag in (WEB_FLAG, "--web.max-connections", "--web.workers", "--web.read-timeout", "--web.idle-timeout",
                 "--web.max-header-bytes"):
        assert flag in result.stdout, flag


# Alerts that link to the answer (issue 12)

LINK_CASE = "the links in a drift alert escape the feature name (spaces, slashes, ampersands)"


def linked_alert() -> tuple[dict[str, str], dict[str, str]]:
    """Labels and annotations of the rule unit test whose feature name needs escaping
    (promtool checks that the rules render exactly these)."""
    for path in RULE_TESTS:
        for case in load_yaml(path)["tests"]:
            if case["name"] == LINK_CASE:
                alert = case["alert_rule_test"][0]["exp_alerts"][0]
                labels = {"alertname": case["alert_rule_test"][0]["alertname"], **alert["exp_labels"]}
                return labels, alert["exp_annotations"]
    raise AssertionError(f"no promtool case {LINK_CASE!r}")


def test_drift_alerts_carry_links_to_the_feature_page_and_the_dashboard() -> None:
    """Both drift alerts carry `driftmon_url` (the feature's page on the scraped instance) and `dashboard` (the shipped dashboard's uid, filtered by its monitor and feature variables)."""
    alerts = alert_rules()
    document = dashboard()
    variables = {v["name"] for v in document["templating"]["list"]}
    for name in ("DriftmonFeatureDriftCritical", "DriftmonFeatureDriftWarning"):
        annotations = alerts[name]["annotations"]
        assert annotations["driftmon_url"].startswith("http://{{ $labels.instance }}/monitors/")
        assert "{{ $labels.feature | urlquery }}" in annotations["driftmon_url"]
        assert f"/d/{document['uid']}/" in annotations["dashboard"]
        for variable in ("monitor", "feature"):
            assert variable in variables
            assert f"var-{variable}={{{{ $labels.{variable} | urlquery }}}}" in annotations["dashboard"]


def test_the_alert_link_opens_the_feature_page() -> None:
    """The driftmon_url promtool renders for a feature named 'debt / income & more' is answered by the status pages with that feature's page (the path decoded as the HTTP server decodes it)."""
    from urllib.parse import unquote, urlsplit

    from driftmon.evaluate import FeatureResult, MonitorResult
    from driftmon.pages import PageSettings, render, snapshot_of

    labels, annotations = linked_alert()
    feature = FeatureResult(labels["feature"], "numeric", 10, 10, 0.0, {"tvd": 0.5}, {"tvd": "critical"}, {}, True)
    result = MonitorResult(labels["monitor"], "critical", None, (feature,), 0.0, 0.1, measures=("tvd",))
    path = unquote(urlsplit(annotations["driftmon_url"]).path)  # wsgiref's PATH_INFO
    status, _, body = render(path, snapshot_of([result]), PageSettings())
    assert status == "200 OK"
    assert "debt / income &amp; more" in body.decode()
    assert render(path + "x", snapshot_of([result]), PageSettings())[0] == "404 Not Found"


def test_alertmanager_message_shows_the_links(tmp_path: Path) -> None:
    """`amtool template render` of the shipped template, on an alert with the annotations promtool rendered, writes the feature page and the dashboard links into the message."""
    amtool = require_binary("amtool")
    labels, annotations = linked_alert()
    data = {
        "receiver": "chat",
        "status": "firing",
        "alerts": [{"status": "firing", "labels": labels, "annotations": annotations,
                    "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "", "fingerprint": "0"}],
        "groupLabels": {"alertname": labels["alertname"], "monitor": labels["monitor"]},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "http://127.0.0.1:9093",
    }
    (tmp_path / "data.json").write_text(json.dumps(data))
    config = load_yaml(DEPLOY / "alertmanager" / "alertmanager.yml")
    assert config["templates"] == ["driftmon.tmpl"]
    chat = next(r for r in config["receivers"] if r["name"] == "chat")
    text = chat["slack_configs"][0]["text"] + "\n" + chat["slack_configs"][0]["title"]
    result = run([amtool, "template", "render", f"--template.glob={DEPLOY / 'alertmanager' / '*.tmpl'}",
                  f"--template.text={text}", f"--template.data={tmp_path / 'data.json'}"])
    assert_ok(result)
    assert f"What moved: {annotations['driftmon_url']}" in result.stdout
    assert f"Dashboard: {annotations['dashboard']}" in result.stdout
    assert "[FIRING:1] DriftmonFeatureDriftCritical · monitor m.1" in result.stdout
    assert annotations["summary"] in result.stdout
