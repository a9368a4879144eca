"""Fuzzed CSV, JSON Lines and Parquet files on either side of a monitor, through `driftmon check`."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.fuzz.harness import (
    ODD_TEXT,
    check,
    column_values,
    fuzz_settings,
    monitor_config,
    reference_frame,
    write_frame,
)

FORMATS = ["csv", "jsonl", "parquet"]
FEATURES = st.sampled_from(
    [
        ["x"],
        [{"name": "x", "kind": "categorical"}],
        [{"name": "x", "kind": "numeric"}],
        [{"name": "x", "binning": {"strategy": "uniform", "bins": 3}}],
        [{"name": "x", "binning": {"edges": [-1, 0, 1]}}],
        ["x", "c"],
    ]
)
# Text that looks like the formats: what a truncated, hand-edited or wrong file holds.
RAW = st.lists(
    st.sampled_from(list('x,c\n\r"{}[]:0123456789.-eE \\\t\x00é')) | ODD_TEXT, max_size=60
).map("".join)


@fuzz_settings()
@given(data=st.data())
def test_fuzzed_data_files_give_documented_outcomes(data: st.DataObject) -> None:
    """Any table (numbers, text, booleans, times, mixes, nulls, huge and odd values) or raw text
    as reference or live data: exit 0/1/3 agreeing with the JSON, or a one-line error naming the
    file; never a traceback or "internal error"."""
    fuzzed_side = data.draw(st.sampled_from(["reference", "live", "both"]), label="side")
    features = data.draw(FEATURES, label="features")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        paths = {}
        for side in ("reference", "live"):
            fmt = data.draw(st.sampled_from(FORMATS), label=f"{side} format")
            path = folder / f"{side}.{fmt}"
            paths[side] = path.name
            if fuzzed_side not in (side, "both"):
                assume(write_frame(reference_frame(seed=2 if side == "live" else 1), path, fmt))
                continue
            if fmt != "parquet" and data.draw(st.integers(0, 3), label="raw text") == 0:
                path.write_text(data.draw(RAW, label="raw"), encoding="utf-8")
                continue
            rows = data.draw(st.integers(min_value=0, max_value=30), label="rows")
            column = data.draw(st.sampled_from(["x"] * 8 + ["X", ""]), label="column name")
            frame = pd.DataFrame({column: pd.Series(column_values(data.draw, rows), dtype=object)})
            if data.draw(st.booleans(), label="typed"):
                frame = frame.infer_objects()
            frame["c"] = "a"
            assume(write_frame(frame, path, fmt))
        extra = {"min_samples": data.draw(st.sampled_from([0, 1, 100]), label="min_samples")}
        text = monitor_config(
            {"type": "file", "path": paths["reference"]}, {"type": "file", "path": paths["live"]}, features, **extra
        )
        (folder / "driftmon.yaml").write_text(text, encoding="utf-8")
        check(folder / "driftmon.yaml")
