"""A bounded load test of the real daemon on loopback: 200 concurrent scrapes of a realistic
/metrics body while 1,000 idle sockets and 50 slow-header (slowloris) clients hold
connections. Limits are generous (this is not a benchmark: benchmarks/http_server.py is);
the figures are printed (pytest -s) and quoted in the README ("Exposing driftmon")."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for folder in (ROOT / "tests", ROOT / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from http_server import concurrent_scrapes, idle_sockets, percentile, slow_header_clients  # noqa: E402
from servers import eof_within, free_port, http_request, running, wait_until  # noqa: E402

pytestmark = pytest.mark.integration

FEATURES = 400  # about 1 MB of /metrics text: 400 features x (scores, thresholds, alerts, samples...)


def write_config(folder: Path) -> Path:
    edges = [float(e) for e in range(10)]
    features = {
        f"feature_{i:03d}": {"kind": "numeric", "edges": edges, "counts": [i % 7 + 1] * 11, "missing": 0}
        for i in range(FEATURES)
    }
    shifted = {name: {**spec, "counts": [(i * 3) % 11 + 1 for i in range(11)]} for name, spec in features.items()}
    (folder / "reference.json").write_text(json.dumps({"format": "driftmon.histograms/v1", "features": features}))
    (folder / "live.json").write_text(json.dumps({"format": "driftmon.histograms/v1", "features": shifted}))
    config = folder / "driftmon.yaml"
    config.write_text(
        "defaults: {measures: [kl, js, psi, hellinger, tvd], min_samples: 1}\n"
        "monitors:\n  - name: load\n    schedule: 1h\n    labels: {team: risk}\n"
        "    reference: {type: histogram, path: reference.json}\n    live: {type: histogram, path: live.json}\n"
        f"    features: [{', '.join(features)}]\n"
    )
    return config


def figures(pid: int) -> tuple[int, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024


def test_scrapes_stay_fast_under_idle_and_slow_header_load(tmp_path: Path) -> None:
    """With 1,000 idle sockets and 50 slowloris clients connected, 200 concurrent scrapes of a
    ~1 MB /metrics all succeed with p99 under 3 s; the daemon's threads stay at their resting
    count (+2) and its RSS grows by less than 100 MB; the idle sockets are closed after the
    idle timeout (2 s here), and a scrape afterwards is as fast as before."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "driftmon", "run", "-c", str(write_config(tmp_path)),
               "--web.listen-address", f"127.0.0.1:{port}", "--web.idle-timeout", "2s",
               "--web.max-connections", "2000"]
    with running(command, log_path=tmp_path / "daemon.log", name="driftmon", ready_url=f"{url}/-/ready") as daemon:
        wait_until(lambda: len(http_request(f"{url}/metrics").body) > 500_000, 30, message="all features exported")
        body_kb = len(http_request(f"{url}/metrics").body) / 1024
        concurrent_scrapes("127.0.0.1", port, 10)
        threads_rest, rss_rest = figures(daemon.pid)
        with idle_sockets("127.0.0.1", port, 1000) as idle, slow_header_clients("127.0.0.1", port, 50, interval=0.5):
            time.sleep(0.5)
            threads_loaded, rss_loaded = figures(daemon.pid)
            results = concurrent_scrapes("127.0.0.1", port, 200)
            threads_after, rss_after = figures(daemon.pid)
            closed = sum(1 for sock in idle[:50] if eof_within(sock, 5.0) is not None)
        latencies = [seconds for status, seconds, _ in results if status == 200]
        started = time.monotonic()
        assert http_request(f"{url}/metrics").status == 200
        after_ms = (time.monotonic() - started) * 1000
        assert daemon.returncode is None, daemon.describe()
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    print(
        f"\nload: /metrics {body_kb:.0f} KB; 200 concurrent scrapes with 1000 idle + 50 slowloris: "
        f"ok {len(latencies)}/200, p50 {p50:.0f} ms, p99 {p99:.0f} ms; threads {threads_rest} at rest, "
        f"{threads_loaded} loaded, {threads_after} after; RSS {rss_rest:.0f} MB at rest, {rss_loaded:.0f} MB "
        f"loaded, {rss_after:.0f} MB after the scrapes; idle closed by the timeout: {closed}/50 checked; "
        f"scrape afterwards {after_ms:.0f} ms"
    )
    assert len(latencies) == 200
    assert p99 < 3000
    assert max(threads_loaded, threads_after) <= threads_rest + 2
    assert rss_after - rss_rest < 100
    assert closed == 50
