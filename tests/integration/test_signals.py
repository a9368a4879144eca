"""Signals at any moment (startup, a reload, evaluations) reload or stop the real daemon, never kill it.

The daemon runs a 1,000-monitor config (its reload takes a good part of a second), so a
second signal lands in the middle of a reload while evaluations run. Before the fix, the
kernel delivered such a signal to an OpenBLAS thread started at ``import numpy`` (signals
were blocked only later), and the default action ended the process (rc -15, or -1).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from servers import free_port, running, wait_for_http  # noqa: E402

pytestmark = pytest.mark.integration

MONITORS = 1000


def write_config(folder: Path) -> Path:
    """1,000 monitors over one small histogram file pair, evaluated once an hour (and at start)."""
    histograms = {
        "format": "driftmon.histograms/v1",
        "features": {"x": {"kind": "numeric", "edges": [0, 1, 2, 3], "counts": [1, 50, 60, 40, 2], "missing": 0}},
    }
    (folder / "hist.json").write_text(json.dumps(histograms), encoding="utf-8")
    lines = ["defaults:", "  schedule: 1h", "monitors:"]
    for index in range(MONITORS):
        lines += [
            f"  - name: m{index}",
            "    reference: {type: histogram, path: hist.json}",
            "    live: {type: histogram, path: hist.json}",
            "    features: [x]",
        ]
    config = folder / "driftmon.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def command(config: Path, port: int) -> list[str]:
    return [sys.executable, "-m", "driftmon", "run", "-c", str(config), "--web.listen-address", f"127.0.0.1:{port}"]


@pytest.mark.parametrize(
    "signals",
    [
        pytest.param((signal.SIGHUP, signal.SIGTERM), id="HUP-then-TERM"),
        pytest.param((signal.SIGHUP, signal.SIGHUP, signal.SIGINT), id="HUP-HUP-then-INT"),
    ],
)
def test_a_signal_during_a_reload_leads_to_a_clean_shutdown(tmp_path: Path, signals: tuple[int, ...]) -> None:
    """SIGHUP, then (0.2 s later, mid-reload) more signals: the daemon reloads, shuts down cleanly, exits 0 within 10 s."""
    config = write_config(tmp_path)
    port = free_port()
    with running(command(config, port), log_path=tmp_path / "daemon.log", name="driftmon") as process:
        wait_for_http(f"http://127.0.0.1:{port}/-/ready", 60.0, process=process)
        for signum in signals[:-1]:
            process.signal(signum)
            time.sleep(0.2)
        began = time.monotonic()
        process.signal(signals[-1])
        status = process.popen.wait(timeout=15)
        elapsed = time.monotonic() - began
        log = process.log()
        assert status == 0, process.describe()
        assert elapsed < 10.0, process.describe()
        assert 'msg="shutting down"' in log and 'msg=stopped' in log, process.describe()


@pytest.mark.parametrize("delay", [0.3, 0.6, 1.2])
def test_sigterm_during_startup_exits_0(tmp_path: Path, delay: float) -> None:
    """SIGTERM while the daemon imports, loads its 1,000-monitor config or starts its workers: exit 0."""
    config = write_config(tmp_path)
    log_path = tmp_path / "daemon.log"
    with open(log_path, "wb") as log_file:
        popen = subprocess.Popen(command(config, free_port()), stdout=log_file, stderr=subprocess.STDOUT)
    try:
        time.sleep(delay)  # past interpreter start-up: imports, config loading, worker start
        popen.send_signal(signal.SIGTERM)
        status = popen.wait(timeout=15)
    finally:
        if popen.poll() is None:
            popen.kill()
            popen.wait()
    assert status == 0, log_path.read_text(errors="replace")[-2000:]
