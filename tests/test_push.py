"""Batch mode: the daemon's series of one `driftmon check`, as a textfile or for a Pushgateway."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families
from servers import free_port, require_binary

from driftmon.collector import families
from driftmon.evaluate import MonitorResult
from driftmon.push import render, state, write_textfile
from driftmon.results import MonitorState, Snapshot


def write_config(directory: Path, *, broken: bool = False) -> Path:
    """A monitor with a drifted numeric feature (critical), and optionally one whose live file is missing."""
    rng = np.random.default_rng(5)
    (directory / "reference.csv").write_text("x\n" + "\n".join(f"{v:.6f}" for v in rng.normal(0, 1, 3000)) + "\n")
    (directory / "live.csv").write_text("x\n" + "\n".join(f"{v:.6f}" for v in rng.normal(1, 1, 1000)) + "\n")
    monitors = """  - name: drifted
    schedule: {cron: "15 2 * * *"}
    labels: {team: risk}
    reference: {type: file, path: reference.csv}
    live: {type: file, path: live.csv}
    features: [x]
"""
    if broken:
        monitors += """  - name: broken
    reference: {type: file, path: reference.csv}
    live: {type: file, path: nowhere.csv}
    features: [x]
"""
    path = directory / "driftmon.yaml"
    path.write_text("monitors:\n" + monitors)
    return path


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "driftmon", "check", *args], capture_output=True, text=True, timeout=120
    )


def parsed(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """sample name -> labels -> value."""
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_textfile_holds_the_daemons_series_and_exit_codes_are_unchanged(tmp_path: Path) -> None:
    """`check --textfile` exits 1 on critical drift and writes what the daemon exports (minus reload), plus the last success time."""
    config = write_config(tmp_path)
    out = tmp_path / "driftmon.prom"
    result = check("-c", str(config), "--textfile", str(out))
    assert result.returncode == 1, result.stderr
    samples = parsed(out.read_text())
    assert (
        samples["driftmon_drift_alert"][
            (("feature", "x"), ("measure", "js"), ("monitor", "drifted"), ("severity", "critical"), ("team", "risk"))
        ]
        == 1
    )
    assert samples["driftmon_monitor_up"] == {(("monitor", "drifted"), ("team", "risk")): 1}
    assert samples["driftmon_schedule_interval_seconds"][(("monitor", "drifted"), ("team", "risk"))] == 86400
    assert "driftmon_last_success_timestamp_seconds" in samples
    assert not any(name.startswith("driftmon_config_last_reload") for name in samples)
    assert not any(name.endswith("_created") for name in samples)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_failed_monitor_reports_down_without_scores_and_the_run_exits_3(tmp_path: Path) -> None:
    """A failed evaluation with no earlier file: exit 3 (wins over 1), the file still written:
    monitor_up 0, a failure counted, no scores or success time."""
    config = write_config(tmp_path, broken=True)
    out = tmp_path / "driftmon.prom"
    result = check("-c", str(config), "--textfile", str(out))
    assert result.returncode == 3, result.stderr
    samples = parsed(out.read_text())
    assert samples["driftmon_monitor_up"][(("monitor", "broken"),)] == 0
    assert samples["driftmon_evaluation_failures_total"][(("monitor", "broken"),)] == 1
    assert all(dict(labels).get("monitor") != "broken" for labels in samples["driftmon_js_divergence"])
    assert all(dict(labels).get("monitor") != "broken" for labels in samples["driftmon_last_success_timestamp_seconds"])


def test_a_failed_monitor_keeps_its_last_good_scores_in_the_textfile(tmp_path: Path) -> None:
    """Run 1 scores the monitor; run 2 fails (its live file gone): the file keeps run 1's scores
    and last success time for it, with driftmon_monitor_up 0, as the daemon does (it had none);
    promtool accepts the merged file."""
    config = write_config(tmp_path)
    out = tmp_path / "driftmon.prom"
    assert check("-c", str(config), "--textfile", str(out)).returncode == 1
    first = parsed(out.read_text())
    (tmp_path / "live.csv").unlink()
    assert check("-c", str(config), "--textfile", str(out)).returncode == 3
    second = parsed(out.read_text())
    labels = (("monitor", "drifted"), ("team", "risk"))
    assert second["driftmon_monitor_up"] == {labels: 0}
    assert second["driftmon_evaluation_failures_total"][labels] == 1
    for name in ("driftmon_js_divergence", "driftmon_drift_alert", "driftmon_last_success_timestamp_seconds"):
        assert second[name] == first[name], name
    promtool = require_binary("promtool")
    lint = subprocess.run([promtool, "check", "metrics"], input=out.read_text(), capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_promtool_accepts_the_textfile(tmp_path: Path) -> None:
    """The textfile passes `promtool check metrics` (names, HELP, counter suffixes)."""
    promtool = require_binary("promtool")
    out = tmp_path / "driftmon.prom"
    check("-c", str(write_config(tmp_path, broken=True)), "--textfile", str(out))
    lint = subprocess.run(
        [promtool, "check", "metrics"], input=out.read_text(), capture_output=True, text=True, timeout=60
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def result(name: str, features: int) -> MonitorResult:
    from driftmon.evaluate import FeatureResult

    return MonitorResult(
        monitor=name,
        status="ok",
        error=None,
        started_at=1000.0,
        duration_s=0.5,
        features=tuple(
            FeatureResult(f"f{i}", "numeric", 100, 100, 0.0, {"js": 0.001 * i}, {"js": "ok"}, {"js": (0.1, 0.2)}, True)
            for i in range(features)
        ),
        measures=("js",),
    )


def test_the_series_are_the_exporters_for_the_same_state() -> None:
    """Batch series are the daemon's exporter families for a state after one evaluation, sample for sample."""
    results = [result("a", 3), result("b", 2)]
    daemon = Snapshot(1, tuple(state(r, 60.0) for r in results))
    expected = {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for family in families(daemon)
        if not family.name.startswith("driftmon_config_")
        for s in family.samples
    }
    got = {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for family in text_string_to_metric_families(render(results, {"a": 60.0, "b": 60.0}))
        for s in family.samples
    }
    assert got == expected
    assert ("driftmon_last_success_timestamp_seconds", (("monitor", "a"),), 1000.5) in got
    assert isinstance(daemon.monitors[0], MonitorState)


def test_textfile_is_replaced_atomically(tmp_path: Path) -> None:
    """A reader polling the file while it is rewritten 200 times only ever sees one whole version or the other."""
    target = tmp_path / "driftmon.prom"
    versions = [[result("a", 40)], [result("b", 5)]]
    texts = {render(v, {}) for v in versions}
    write_textfile(target, versions[0], {})
    seen: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.append(target.read_text())

    reader = threading.Thread(target=read)
    reader.start()
    for index in range(200):
        write_textfile(target, versions[index % 2], {})
    done.set()
    reader.join()
    assert seen and set(seen) <= texts
    assert sorted(p.name for p in tmp_path.iterdir()) == ["driftmon.prom"]


def test_bad_grouping_is_a_usage_error_and_an_unreachable_gateway_exits_3(tmp_path: Path) -> None:
    """`--grouping` without `=` exits 2 before evaluating; a push that fails exits 3 naming the gateway without its password."""
    config = write_config(tmp_path)
    bad = check("-c", str(config), "--push-gateway", "http://127.0.0.1:1", "--grouping", "nolabel")
    assert bad.returncode == 2 and "--grouping 'nolabel'" in bad.stderr
    port = free_port()
    down = check("-c", str(config), "--push-gateway", f"http://user:s3cret@127.0.0.1:{port}")
    assert down.returncode == 3, down.stderr
    assert f"Pushgateway http://127.0.0.1:{port}" in down.stderr and "s3cret" not in down.stderr
    assert "Traceback" not in down.stderr
    assert "monitor drifted: critical" in down.stdout  # the results were printed before the push


@pytest.mark.parametrize("grouping", ["job=x", "monitor=y"])
def test_grouping_may_not_override_job_or_monitor(tmp_path: Path, grouping: str) -> None:
    """job and monitor are driftmon's grouping labels: --grouping may not set them."""
    assert (
        check(
            "-c", str(write_config(tmp_path)), "--push-gateway", "http://127.0.0.1:1", "--grouping", grouping
        ).returncode
        == 2
    )
