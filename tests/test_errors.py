"""The error helpers: one "did you mean" rule for the config's keys and values and the data's names."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from driftmon.cli import main
from driftmon.errors import did_you_mean


def test_did_you_mean_prefers_a_case_match_then_similar_spellings() -> None:
    """A name equal but for case wins; otherwise every name at least 0.6 similar, nearest first, up to the limit."""
    assert did_you_mean("Age", ["age", "page", "agent"]) == ["age"]
    assert did_you_mean("warn", ["warning", "critical"]) == ["warning"]
    assert did_you_mean("agee", ["age", "agent", "x"], limit=1) == ["age"]
    assert did_you_mean("zzz", ["age", "x"]) == []


def test_a_missing_column_gets_the_hint_a_misspelt_config_value_gets(tmp_path: Path) -> None:
    """'warn' for 'warning' is a near miss in a config (`thresholds: {js: {warn: ...}}`) and so, by the same rule, as a column name."""
    for name in ("ref.csv", "live.csv"):
        (tmp_path / name).write_text("warning\n" + "\n".join(str(i % 7) for i in range(200)) + "\n")
    (tmp_path / "c.yaml").write_text(
        "monitors:\n  - name: m\n    reference: {type: file, path: ref.csv}\n"
        "    live: {type: file, path: live.csv}\n    features: [warn]\n"
    )
    with contextlib.redirect_stdout(io.StringIO()) as out:
        status = main(["check", "-c", str(tmp_path / "c.yaml"), "--format", "json"])
    (result,) = json.loads(out.getvalue())["monitors"]
    assert status == 3 and result["status"] == "error"
    assert "column 'warn' not found" in result["error"] and "did you mean 'warning'?" in result["error"]
