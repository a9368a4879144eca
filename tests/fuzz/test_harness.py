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


def test_a_campaigns_summary_counts_cases_findings_and_replaced_targets(tmp_path: Path) -> None:
    """tests/fuzz/summarize.py: finished chunks only, an internal error from the harness's failed
    assertion, and a target of a later log folder (restarted on fixed code) replacing the earlier."""
    from tests.fuzz import summarize

    first, second = tmp_path / "a" / "logs", tmp_path / "b" / "logs"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    ok = "fuzz campaign: {n} cases in 9 s (x), pytest exit 0\n  check exit 2: {n}\n  subprocess cases: 1\n"
    failed = (
        '>           assert "internal error" not in stream, stream\n'
        "E           AssertionError: driftmon: error: internal error (KeyError: 'x')\n"
        "fuzz campaign: 7 cases in 5 s (x), pytest exit 1\n  check exit 3: 7\n"
    )
    (first / "model-1.log").write_text(failed)
    (first / "quality-1.log").write_text(ok.format(n=200))
    (first / "quality-2.part").write_text("still running")
    (second / "model-1.log").write_text(ok.format(n=150))
    (second / "model-2.log").write_text(ok.format(n=150))
    table = summarize.main([first, second])
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in table.splitlines() if line.startswith("| ")}
    assert rows["model columns and late labels"][1:4] == ["b/logs", "2 (1-2)", "300"]
    assert rows["quality and volume settings"][3] == "200"
    assert "**500**" in table and "check exits: 2: 500." in table
    alone = summarize.main([first])
    model = next(line for line in alone.splitlines() if line.startswith("| model"))
    assert model.split(" | ")[6:8] == ["0", "1"], model  # tracebacks 0, internal errors 1
