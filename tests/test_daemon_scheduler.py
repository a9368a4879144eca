"""The daemon's scheduler and reload, in-process: a dead scheduler shows as not ready, a
hostile config on reload is refused while the old one keeps running."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import config
from driftmon.daemon import Daemon
from tests.test_config import billion_laughs

CONFIG = """
monitors:
  - name: m
    schedule: 1s
    reference: {type: file, path: ref.csv}
    live: {type: file, path: live.csv}
    features: [x]
"""


@pytest.fixture
def config_file(write: Callable[[str, str], Path], tmp_path: Path) -> Path:
    rng = np.random.default_rng(11)
    pd.DataFrame({"x": rng.normal(0, 1, 300)}).to_csv(tmp_path / "ref.csv", index=False)
    pd.DataFrame({"x": rng.normal(0, 1, 300)}).to_csv(tmp_path / "live.csv", index=False)
    return write("driftmon.yaml", CONFIG)


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_dead_scheduler_turns_readiness_off_and_logs_why(
    config_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """If the scheduler thread dies (here: a jitter past year 9999, which validation now
    refuses, forced in behind its back), ready() turns False and one error line says why."""
    loaded = config.load(config_file)
    broken = dataclasses.replace(loaded.monitors[0], jitter_s=999_999_999 * 86400.0)
    daemon = Daemon(config_file, dataclasses.replace(loaded, monitors=(broken,)), workers=2)
    caplog.set_level(logging.ERROR, logger="driftmon.daemon")
    daemon.start()
    try:
        assert wait_for(lambda: not daemon.ready())
        lines = [(r.getMessage(), str(getattr(r, "fields", {}).get("error"))) for r in caplog.records]
        assert any("the scheduler stopped" in m and "out of range" in e for m, e in lines), lines
    finally:
        daemon.stop()


def test_a_healthy_scheduler_stays_ready(config_file: Path) -> None:
    """With a valid config the scheduler runs, evaluates, and ready() stays True."""
    daemon = Daemon(config_file, config.load(config_file), workers=2)
    daemon.start()
    try:
        assert wait_for(lambda: daemon.snapshot().monitors[0].evaluations >= 1)
        assert daemon.ready()
    finally:
        daemon.stop()


def test_a_hostile_config_on_reload_is_refused_quickly_and_the_old_one_keeps_running(config_file: Path) -> None:
    """A billion-laughs file replacing the config is refused by the YAML limits (a CPU-time guard, not wall time); the monitor keeps evaluating."""
    daemon = Daemon(config_file, config.load(config_file), workers=2)
    daemon.start()
    try:
        config_file.write_text(billion_laughs(), encoding="utf-8")
        started = time.process_time()
        ok, message = daemon.reload()
        assert time.process_time() - started < 5.0
        assert not ok and "aliases (*name) expand the document" in message
        assert not daemon.snapshot().reload_successful
        before = daemon.snapshot().monitors[0].evaluations
        assert wait_for(lambda: daemon.snapshot().monitors[0].evaluations > before)
        assert daemon.ready()
    finally:
        daemon.stop()
