"""Fuzzed histogram files (docs/sources.md, Histogram files) as reference, live or both, through `driftmon check`."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import (
    FLOATS,
    ODD_TEXT,
    SCALARS,
    check,
    fuzz_settings,
    monitor_config,
    reference_frame,
    write_frame,
)

ROWS = st.integers(min_value=0, max_value=1000)
GOOD_COUNTS = st.one_of(ROWS, ROWS, ROWS, ROWS, st.sampled_from([0, 0.5, 5e-324, 1e-300, 1e12, 1e14]))
HUGE = st.sampled_from([10**400, -(10**400), 2**1024])  # JSON integers beyond the float range
BAD_COUNTS = FLOATS | st.sampled_from([1e16, 1e308, -1]) | HUGE | SCALARS
GOOD_EDGES = st.lists(
    st.floats(min_value=-1e300, max_value=1e300, allow_nan=False) | st.integers(-100, 100),
    min_size=2,
    max_size=6,
    unique=True,
).map(sorted)
CATEGORIES = st.text(max_size=4) | ODD_TEXT


@st.composite
def feature_entry(draw: Any) -> Any:
    """A feature's histogram: well formed with odd but legal numbers (extreme edges, tiny and
    huge weights, empty bins), then now and then one part of it broken."""
    kind = draw(st.sampled_from(["numeric", "categorical"]))
    entry: dict[str, Any] = {"kind": kind, "missing": draw(GOOD_COUNTS)}
    if kind == "numeric":
        edges = draw(GOOD_EDGES)
        entry["edges"] = edges
        entry["counts"] = draw(st.lists(GOOD_COUNTS, min_size=len(edges) + 1, max_size=len(edges) + 1))
    else:
        entry["counts"] = draw(st.dictionaries(CATEGORIES, GOOD_COUNTS, max_size=6))
        if draw(st.booleans()):
            entry["other_values"] = draw(st.lists(CATEGORIES, max_size=4))
    broken = draw(st.integers(0, 19))
    if broken == 0:
        return draw(SCALARS | st.lists(SCALARS, max_size=3))
    if broken == 1:
        entry["kind"] = draw(ODD_TEXT | SCALARS)
    elif broken == 2:
        entry["edges"] = draw(st.lists(SCALARS | HUGE, max_size=5) | SCALARS)
    elif broken == 3 and isinstance(entry["counts"], list):
        entry["counts"] = [*entry["counts"], draw(BAD_COUNTS)][-(len(entry["counts"]) + draw(st.integers(-1, 1))) :]
    elif broken == 3:
        entry["counts"][draw(CATEGORIES)] = draw(BAD_COUNTS)
    elif broken == 4:
        entry[draw(st.sampled_from(["missing", "counts", "other_values", "points"]))] = draw(
            BAD_COUNTS | st.lists(SCALARS, max_size=3)
        )
    elif broken == 5:
        del entry[draw(st.sampled_from(["kind", "counts", "missing"]))]
    return entry


@st.composite
def histogram_text(draw: Any) -> str:
    """A histogram file's text: a fuzzed document, or broken JSON now and then."""
    choice = draw(st.integers(0, 39))
    if choice == 0:
        return draw(st.text(max_size=40))
    if choice == 3:  # nested far deeper than Python's parser recurses
        depth = draw(st.sampled_from([3, 2_000, 100_000]))
        return '{"format": "driftmon.histograms/v1", "features": ' + "[" * depth + "]" * depth + "}"
    features = {"x": draw(feature_entry())} if draw(st.integers(0, 9)) else draw(
        st.dictionaries(st.sampled_from(["x", "y", ""]), feature_entry(), max_size=2)
    )
    document: Any = {"format": "driftmon.histograms/v1", "features": features}
    if choice == 1:
        document = {"format": draw(ODD_TEXT), "features": features}
    text = json.dumps(document, allow_nan=True)  # NaN/Infinity tokens: Python's json reads them
    if choice == 2 and text:
        text = text[: draw(st.integers(0, len(text) - 1))]  # truncated
    return text


@fuzz_settings()
@given(reference=histogram_text(), live=histogram_text(), live_is_file=st.booleans(), kind=st.sampled_from([None, "numeric", "categorical"]))
def test_fuzzed_histogram_files_give_documented_outcomes(
    reference: str, live: str, live_is_file: bool, kind: str | None
) -> None:
    """Any histogram document (bad shapes, kinds, NaN, negative, huge or non-number counts,
    integers beyond the float range, truncated or deeply nested JSON) gives exit 0/1/3 agreeing with the JSON or a one-line error naming the file."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "reference.json").write_text(reference, encoding="utf-8")
        if live_is_file:
            assert write_frame(reference_frame(seed=3), folder / "live.csv", "csv")
            live_source = {"type": "file", "path": "live.csv"}
        else:
            (folder / "live.json").write_text(live, encoding="utf-8")
            live_source = {"type": "histogram", "path": "live.json"}
        feature: Any = "x" if kind is None else {"name": "x", "kind": kind}
        text = monitor_config({"type": "histogram", "path": "reference.json"}, live_source, [feature])
        (folder / "driftmon.yaml").write_text(text, encoding="utf-8")
        check(folder / "driftmon.yaml")
