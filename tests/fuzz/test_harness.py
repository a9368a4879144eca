"""The fuzz harness itself (tests/fuzz/harness.py): a case that hangs is interrupted and fails
as a hang; a sample of cases also runs as a real process."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.fuzz import harness


def test_a_hanging_case_fails_as_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_cli interrupts a call still running after HANG_SECONDS and fails with its stack
    (the in-process call has no process to kill)."""

    def stuck(argv: list[str]) -> int:
        time.sleep(60)
        return 0

    monkeypatch.setattr(harness, "main", stuck)
    monkeypatch.setattr(harness, "HANG_SECONDS", 0.2)
    with pytest.raises(AssertionError, match=r"(?s)^hang: driftmon check.*in stuck"):
        harness.run_cli("check")


def test_every_nth_case_also_runs_the_real_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With DRIFTMON_FUZZ_SUBPROCESS_EVERY=1 each case also runs `python -m driftmon check`."""
    assert harness.write_frame(harness.reference_frame(seed=1), tmp_path / "ref.csv", "csv")
    assert harness.write_frame(harness.reference_frame(seed=2), tmp_path / "live.csv", "csv")
    text = harness.monitor_config({"type": "file", "path": "ref.csv"}, {"type": "file", "path": "live.csv"}, ["x", "c"])
    (tmp_path / "driftmon.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setattr(harness, "SUBPROCESS_EVERY", 1)
    before = harness.OUTCOMES["subprocess cases"]
    harness.check(tmp_path / "driftmon.yaml")
    assert harness.OUTCOMES["subprocess cases"] == before + 1
