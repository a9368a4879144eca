"""Fuzzed configs through `driftmon validate` and `driftmon check`: structures with odd
values in every key, and YAML text with random edits."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import FLOATS, ODD_TEXT, SCALARS, check, fuzz_settings, reference_frame, run_cli, write_frame
from tests.servers import stop_spark

DURATIONS = st.sampled_from(
    ["1s", "30s", "5m", "1h", "1d", "0s", "500ms", "99999999999999d", "366d", "1h30m", "5", "m5", "-1s", "1e3s"]
)
CRONS = st.sampled_from(["*/5 * * * *", "0 0 * * mon-", "0 0 30 2 *", "0 9 * * 1-5", "61 * * * *", "* * *", ""])
UNIT = st.floats(min_value=0, max_value=1)
NUMBERS = st.one_of(UNIT, UNIT, FLOATS)
NESTED = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)
# Per key: values a user might write (good and bad), plus anything at all.
MONITOR_KEYS: dict[str, Any] = {
    "schedule": DURATIONS | st.builds(lambda c: {"cron": c}, CRONS),
    "timeout": DURATIONS | st.none(),
    "jitter": DURATIONS | st.none(),
    "measures": st.lists(st.sampled_from(["kl", "kl_reverse", "js", "psi", "hellinger", "tvd", "KL", ""]), max_size=4),
    "log_base": st.sampled_from([2, 10, "e", 3, 0, "2"]),
    "smoothing": st.fixed_dictionaries(
        {"method": st.sampled_from(["additive", "epsilon", "none", "x"])},
        optional={"alpha": NUMBERS, "epsilon": NUMBERS},
    ),
    "binning": st.fixed_dictionaries(
        {},
        optional={
            "strategy": st.sampled_from(["quantile", "uniform", "kmeans"]),
            "bins": st.integers(-2, 20_000),
            "edges": st.lists(FLOATS | st.integers(-10, 10), max_size=5),
            "max_categories": st.integers(-1, 200_000),
        },
    ),
    "min_samples": st.integers(-5, 10**12) | FLOATS,
    "thresholds": st.dictionaries(
        st.sampled_from(["js", "psi", "kl", "tvd", "bogus"]),
        st.none() | st.fixed_dictionaries({}, optional={"warning": NUMBERS | st.just("auto"), "critical": NUMBERS | st.just("auto")}),
        max_size=3,
    ),
    "significance": NUMBERS | st.none(),
    "correction": st.sampled_from(["holm", "bonferroni", "fdr", "none", "sidak"]),
    "auto_thresholds": st.fixed_dictionaries(
        {},
        optional={
            "warning_quantile": NUMBERS,
            "critical_quantile": NUMBERS,
            "draws": st.integers(50, 2_000),
            "seed": st.integers(-(2**70), 2**70),
        },
    ),
    "dataset_drift": st.none() | st.fixed_dictionaries({"share": NUMBERS}, optional={"severity": st.sampled_from(["warning", "critical", "x"])}),
    "labels": st.dictionaries(st.text(max_size=6) | st.sampled_from(["team", "monitor", "__x", "le"]), SCALARS, max_size=2),
    "name": st.text(max_size=8) | st.just("m"),
    "features": st.lists(
        st.sampled_from(["x", "c", "nope"]) | st.fixed_dictionaries(
            {"name": st.sampled_from(["x", "c", ""])},
            optional={"kind": st.sampled_from(["numeric", "categorical", "text"]), "max_categories": st.integers(-1, 5)},
        ),
        max_size=3,
    ),
}
SOURCE_KEYS: dict[str, Any] = {
    "type": st.sampled_from(["file", "histogram", "sql", "spark", "bogus"]),
    "path": st.sampled_from(["ref.csv", "live.csv", "*.csv", "{now:%Y}.csv", "{bad}", "{", "", "nope/*.parquet"]) | st.lists(st.sampled_from(["ref.csv", "live.csv"]), max_size=2),
    "format": st.sampled_from(["csv", "parquet", "jsonl", "xml"]),
    "window": st.fixed_dictionaries({"column": st.sampled_from(["x", "t", ""]), "last": DURATIONS}),
}


@st.composite
def config_structure(draw: Any) -> dict[str, Any]:
    """A valid monitor with a few keys (of the monitor, `defaults`, a source) set to drawn values."""
    monitor: dict[str, Any] = {
        "name": "m",
        "reference": {"type": "file", "path": "ref.csv"},
        "live": {"type": "file", "path": "live.csv"},
        "features": ["x", "c"],
    }
    document: dict[str, Any] = {"monitors": [monitor]}
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(["monitor", "monitor", "monitor", "defaults", "reference", "live", "top"]))
        if where in ("monitor", "defaults"):
            key = draw(st.sampled_from(sorted(MONITOR_KEYS)))
            value = draw(MONITOR_KEYS[key]) if draw(st.integers(0, 9)) else draw(NESTED)
            if where == "defaults" and not isinstance(document.get("defaults"), dict):
                document["defaults"] = {}
            target = monitor if where == "monitor" else document["defaults"]
            if where == "defaults" and key in ("name", "features", "labels"):
                key = "schedule"
                value = draw(MONITOR_KEYS["schedule"])
            target[key] = value
        elif where in ("reference", "live"):
            key = draw(st.sampled_from(sorted(SOURCE_KEYS)))
            monitor[where][key] = draw(SOURCE_KEYS[key]) if draw(st.integers(0, 9)) else draw(NESTED)
        elif draw(st.integers(0, 3)) == 0:
            document[draw(st.sampled_from(["monitors", "defaults", "extra"]))] = draw(NESTED)
    return document


def folder_with_data(folder: Path) -> None:
    assert write_frame(reference_frame(seed=1), folder / "ref.csv", "csv")
    assert write_frame(reference_frame(seed=2), folder / "live.csv", "csv")


@pytest.fixture(scope="module")
def _spark_started() -> Iterator[None]:
    """Start the Spark session before the first case: a JVM's cold start (97 s on a loaded
    machine) is not a case's time, and it made the deadline fail a case that takes 0.5 s."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        folder_with_data(folder)
        live = "{type: spark, path: live.csv, format: csv}"
        text = f"monitors:\n  - {{name: m, reference: {{type: file, path: ref.csv}}, live: {live}, features: [x]}}\n"
        (folder / "driftmon.yaml").write_text(text, encoding="utf-8")
        # no case: a cold JVM took over 300 s (HANG_SECONDS) at load average 20
        run_cli("check", "-c", str(folder / "driftmon.yaml"), "--format", "json", hang_seconds=3600)
    yield
    stop_spark()  # the session this module started must not serve the next module's sources


@pytest.mark.usefixtures("_spark_started")
@fuzz_settings()
@given(document=config_structure())
def test_fuzzed_config_structures_give_documented_outcomes(document: dict[str, Any]) -> None:
    """Odd values in any key: `validate` exits 0 or 2, `check` agrees with it and exits 0/1/3
    with a matching JSON document or 2 with errors naming the file; no traceback, no internal error."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        folder_with_data(folder)
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
        (folder / "driftmon.yaml").write_text(text, encoding="utf-8")
        check(folder / "driftmon.yaml")


VALID = """\
defaults:
  schedule: 5m
  thresholds:
    js: {warning: 0.05, critical: 0.1}
monitors:
  - name: m
    labels: {team: risk}
    reference: {type: file, path: ref.csv}
    live: &live {type: file, path: live.csv}
    features:
      - x
      - {name: c, kind: categorical, max_categories: 2}
"""
TOKENS = st.sampled_from(
    [":", " ", "\n", "  ", "-", "- ", "{", "}", "[", "]", ",", "&a ", "*a", "*live", "<<: *live", "!!python/object:os.system",
     "!!binary", "!!float", "'", '"', "#", "|", ">", "%YAML 1.1\n", "---\n", "...\n", "${X}", "${UNSET_VAR_XYZ}", "\t",
     "~", "null", "1e999", ".nan", "0x", "\ufeff", "\x00", "é", "?", "@", "`"]
) | ODD_TEXT


@st.composite
def edited_text(draw: Any) -> str:
    """The valid config with 1 to 4 random edits: an inserted token, a deleted span, a replaced character."""
    text = VALID
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert":
            text = text[:at] + draw(TOKENS) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 12)) :]
        else:
            text = text[:at] + draw(TOKENS) + text[at + 1 :]
    return text


@fuzz_settings()
@given(text=edited_text())
def test_fuzzed_config_text_gives_documented_outcomes(text: str) -> None:
    """Random edits of a valid YAML file (tags, anchors, tabs, BOM, NUL, unset ${VAR}...) give only documented outcomes."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        folder_with_data(folder)
        (folder / "driftmon.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        check(folder / "driftmon.yaml")
