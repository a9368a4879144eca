"""Segments in the real daemon (`python -m driftmon run`), seen only over HTTP: a segment that
vanishes from live loses its series at the next scrape (nothing stale) and is counted as
vanished; a `by` column that goes missing or null in live is an error naming the column,
with the daemon alive and the monitor back when the column returns."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:  # tests/servers.py, shared by the integration tests
    sys.path.insert(0, _TESTS)

from servers import ServerProcess, free_port, http_request, running, wait_until  # noqa: E402

pytestmark = pytest.mark.integration

CONFIG = """
defaults:
  schedule: 1s
  timeout: 10s
monitors:
  - name: shop
    reference: {type: file, path: reference.csv}
    live: {type: file, path: live.csv}
    features: [x, color]
    segments: {by: [country], top: 3}
"""


def _frame(rows: int, seed: int, countries: list[str | None]) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "country": rng.choice(np.array(countries, dtype=object), rows),
            "x": rng.normal(0.0, 1.0, rows),
            "color": rng.choice(["red", "green", "blue"], rows),
        }
    )


def _replace(path: Path, frame: pd.DataFrame) -> None:
    """Write ``frame`` to ``path`` in one rename, so the daemon never reads half a file."""
    partial = path.with_suffix(".partial")
    frame.to_csv(partial, index=False)
    os.replace(partial, path)


@dataclass
class Daemon:
    process: ServerProcess
    url: str

    def samples(self) -> list[Any]:
        response = http_request(self.url + "/metrics")
        assert response.status == 200, response.text()
        return [sample for family in parse_text(response.text()) for sample in family.samples]

    def segments(self, name: str = "driftmon_js_divergence") -> set[str | None]:
        return {s.labels.get("segment") for s in self.samples() if s.name == name and s.labels.get("monitor") == "shop"}

    def value(self, name: str, **labels: str) -> float | None:
        found = [s.value for s in self.samples() if s.name == name and s.labels == {"monitor": "shop", **labels}]
        return found[0] if found else None

    def status(self) -> dict[str, Any]:
        response = http_request(self.url + "/api/v1/status")
        assert response.status == 200
        return {m["monitor"]: m for m in json.loads(response.body)["monitors"]}["shop"]

    def wait(self, predicate: Any, message: str, timeout: float = 30.0) -> Any:
        def check() -> Any:
            assert self.process.returncode is None, self.process.describe()
            return predicate()

        return wait_until(check, timeout, interval=0.2, message=f"{message}\n{self.process.describe(20)}")


@contextlib.contextmanager
def _daemon(folder: Path) -> Iterator[Daemon]:
    (folder / "driftmon.yaml").write_text(textwrap.dedent(CONFIG).lstrip(), encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "driftmon", "run", "-c", str(folder / "driftmon.yaml")]
    with running(
        [*command, "--web.listen-address", f"127.0.0.1:{port}"],
        log_path=folder / "daemon.log",
        name="driftmon",
        ready_url=f"{url}/-/ready",
        ready_timeout=30.0,
    ) as process:
        yield Daemon(process, url)


ALL = ["DE", "DE", "DE", "FR", "FR", "US", "US", "IT", None]  # top 3: DE, FR, US; IT in __other__
EVERY_SEGMENT = {None, "DE", "FR", "US", "__other__", "__missing__"}


def test_a_vanished_segment_and_a_bad_segment_column_in_a_running_daemon(tmp_path: Path) -> None:
    _frame(3_000, 1, ALL).to_csv(tmp_path / "reference.csv", index=False)
    live = _frame(2_000, 2, ALL)
    live.to_csv(tmp_path / "live.csv", index=False)
    with _daemon(tmp_path) as daemon:
        daemon.wait(lambda: daemon.segments() == EVERY_SEGMENT, "every segment exported")
        assert daemon.value("driftmon_segments", state="vanished") == 0.0

        # US leaves the live data: at the next evaluation its series are gone, nothing stale
        _replace(tmp_path / "live.csv", live[live["country"] != "US"])
        daemon.wait(lambda: daemon.value("driftmon_segments", state="vanished") == 1.0, "US vanished")
        samples = daemon.samples()
        assert not [s for s in samples if s.labels.get("segment") == "US"]  # no family keeps a US series
        assert {s.labels.get("segment") for s in samples if s.name == "driftmon_js_divergence"} == EVERY_SEGMENT - {
            "US"
        }
        assert daemon.status()["segments"]["vanished"] == ["US"]
        assert daemon.value("driftmon_monitor_up") == 1.0

        # the segment column is gone from live: an error naming it; the daemon lives on
        _replace(tmp_path / "live.csv", live.drop(columns=["country"]))
        daemon.wait(lambda: daemon.value("driftmon_monitor_up") == 0.0, "a missing segment column fails")
        daemon.wait(lambda: "'country'" in (daemon.status()["error"] or ""), "the error names the column")
        assert "Traceback" not in daemon.status()["error"]

        # null in every live row: an error saying so
        _replace(tmp_path / "live.csv", live.assign(country=None))
        daemon.wait(
            lambda: "null in every one of the 2,000 live rows" in (daemon.status()["error"] or ""),
            "an all-null segment column fails",
        )
        assert "'country'" in daemon.status()["error"]
        assert daemon.value("driftmon_monitor_up") == 0.0

        # the column returns with every segment: up again, US exported again
        _replace(tmp_path / "live.csv", live)
        daemon.wait(lambda: daemon.value("driftmon_monitor_up") == 1.0, "back up")
        daemon.wait(lambda: daemon.segments() == EVERY_SEGMENT, "US back")
        assert daemon.value("driftmon_segments", state="vanished") == 0.0
