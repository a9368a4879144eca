"""Segments in the real daemon (`python -m driftmon run`), seen only over HTTP: a segment that
vanishes from live loses its series at the next scrape (nothing stale) and is counted as
vanished; a `by` column that goes missing or null in live is an error naming the column,
with the daemon alive and the monitor back when the column returns."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families as parse_text

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:  # test_daemon.py's daemon helpers
    sys.path.insert(0, _HERE)

from test_daemon import Daemon, start  # noqa: E402

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


def _samples(daemon: Daemon) -> list[Any]:
    response = daemon.get("/metrics")
    assert response.status == 200, response.text()
    return [sample for family in parse_text(response.text()) for sample in family.samples]


def _segments(daemon: Daemon, name: str = "driftmon_js_divergence") -> set[str | None]:
    return {s.labels.get("segment") for s in _samples(daemon) if s.name == name and s.labels.get("monitor") == "shop"}


def _value(daemon: Daemon, name: str, **labels: str) -> float | None:
    return daemon.value(name, monitor="shop", **labels)


def _status(daemon: Daemon) -> dict[str, Any]:
    return daemon.status()["shop"]  # type: ignore[no-any-return]


ALL = ["DE", "DE", "DE", "FR", "FR", "US", "US", "IT", None]  # top 3: DE, FR, US; IT in __other__
EVERY_SEGMENT = {None, "DE", "FR", "US", "__other__", "__missing__"}


def test_a_vanished_segment_and_a_bad_segment_column_in_a_running_daemon(tmp_path: Path) -> None:
    _frame(3_000, 1, ALL).to_csv(tmp_path / "reference.csv", index=False)
    live = _frame(2_000, 2, ALL)
    live.to_csv(tmp_path / "live.csv", index=False)
    with start(tmp_path, CONFIG) as daemon:
        daemon.wait(lambda: _segments(daemon) == EVERY_SEGMENT, "every segment exported")
        assert _value(daemon, "driftmon_segments", state="vanished") == 0.0

        # US leaves the live data: at the next evaluation its series are gone, nothing stale
        _replace(tmp_path / "live.csv", live[live["country"] != "US"])
        daemon.wait(lambda: _value(daemon, "driftmon_segments", state="vanished") == 1.0, "US vanished")
        samples = _samples(daemon)
        assert not [s for s in samples if s.labels.get("segment") == "US"]  # no family keeps a US series
        assert {s.labels.get("segment") for s in samples if s.name == "driftmon_js_divergence"} == EVERY_SEGMENT - {
            "US"
        }
        assert _status(daemon)["segments"]["vanished"] == ["US"]
        assert _value(daemon, "driftmon_monitor_up") == 1.0

        # the segment column is gone from live: an error naming it; the daemon lives on
        _replace(tmp_path / "live.csv", live.drop(columns=["country"]))
        daemon.wait(lambda: _value(daemon, "driftmon_monitor_up") == 0.0, "a missing segment column fails")
        daemon.wait(lambda: "'country'" in (_status(daemon)["error"] or ""), "the error names the column")
        assert "Traceback" not in _status(daemon)["error"]

        # null in every live row: an error saying so
        _replace(tmp_path / "live.csv", live.assign(country=None))
        daemon.wait(
            lambda: "null in every one of the 2,000 live rows" in (_status(daemon)["error"] or ""),
            "an all-null segment column fails",
        )
        assert "'country'" in _status(daemon)["error"]
        assert _value(daemon, "driftmon_monitor_up") == 0.0

        # the column returns with every segment: up again, US exported again
        _replace(tmp_path / "live.csv", live)
        daemon.wait(lambda: _value(daemon, "driftmon_monitor_up") == 1.0, "back up")
        daemon.wait(lambda: _segments(daemon) == EVERY_SEGMENT, "US back")
        assert _value(daemon, "driftmon_segments", state="vanished") == 0.0
