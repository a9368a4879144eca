"""Fuzzed inputs of a monitor's third-wave parts through `driftmon check`: model columns and
late labels (`model:` with `targets:`, `key:`, `label_window`), data-quality settings
(`quality:`, `volume:`), segment values (`segments:`), row samples (`multivariate:`) and moving
references (`reference: {from: live, ...}`). Each target draws the part's settings (good, odd
and wrong values) and tables whose columns are now and then replaced by fuzzed ones (nulls,
text in numbers, huge and odd values, one value throughout). The outcomes are the harness's
(`tests/fuzz/harness.py`): a documented exit code and JSON, never a traceback."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.fuzz.harness import FLOATS, ODD_TEXT, SCALARS, check, column_values, fuzz_settings, write_frame

NOW = datetime.now(UTC)
QUICK = 15  # examples per target in the normal test run (a case evaluates a model, samples, segments: ~0.3 s)
FORMATS = st.sampled_from(["parquet", "csv", "jsonl"])
SHARES = st.one_of(st.floats(0, 1), st.none(), FLOATS, st.sampled_from([0, 1, -0.1, 2, "5%"]))
DURATIONS = st.sampled_from(["1s", "30s", "1h", "6h", "1d", "7d", "0s", "1w", "3650d", "-1h", "x", 5])
ODD = SCALARS | ODD_TEXT


def table(draw: Any, rows: int, seed: int, *, shift: float = 0.0) -> pd.DataFrame:
    """A monitor's columns: x (numeric), c (text), t (times within the last 2 days), g and h
    (segments), k (a key), p/s/y (a binary model's prediction, score, label), m (multiclass);
    then 0 to 2 of them replaced by fuzzed values."""
    rng = np.random.default_rng(seed)
    score = rng.uniform(0, 1, rows)
    frame = pd.DataFrame(
        {
            "x": rng.normal(shift, 1, rows),
            "c": rng.choice(["a", "b", "c"], rows),
            "t": [NOW - timedelta(seconds=float(s)) for s in rng.uniform(0, 2 * 86400, rows)],
            "g": rng.choice(["eu", "us", "ap/x", ""], rows),
            "h": rng.integers(0, 3, rows),
            "k": np.arange(rows) + seed * 1000,
            "p": (score > 0.5).astype(int),
            "s": score,
            "y": (rng.uniform(0, 1, rows) < score).astype(int),
            "m": rng.choice(["cat", "dog", "eel"], rows),
        }
    )
    for _ in range(draw(st.integers(0, 2), label="fuzzed columns")):
        name = draw(st.sampled_from(list(frame.columns)), label="fuzzed column")
        if draw(st.booleans(), label="one value"):
            frame[name] = pd.Series([draw(ODD, label="value")] * rows, dtype=object)
        else:
            frame[name] = pd.Series(column_values(draw, rows), dtype=object)
    if draw(st.integers(0, 9), label="drop a column") == 0:
        frame = frame.drop(columns=[draw(st.sampled_from(list(frame.columns)), label="dropped")])
    return frame


def run_monitor(
    draw: Any, monitor: dict[str, Any], *, live_shift: float = 0.0, extra_files: dict[str, pd.DataFrame] | None = None
) -> None:
    """Write the reference and live tables (and any ``extra_files``) and the config, then check it."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        rows = draw(st.sampled_from([0, 1, 5, 40, 150, 300]), label="rows")
        for side, seed in (("reference", 1), ("live", 2)):
            fmt = draw(FORMATS, label=f"{side} format")
            frame = table(
                draw,
                rows if side == "live" else max(rows, draw(st.sampled_from([0, 3, 300]))),
                seed,
                shift=live_shift if side == "live" else 0.0,
            )
            assume(write_frame(frame, folder / f"{side}.{fmt}", fmt))
            if (
                side == "reference"
                and isinstance(monitor.get("reference"), dict)
                and monitor["reference"].get("from") == "live"
            ):
                continue
            source = monitor.setdefault(side, {"type": "file"})
            source.setdefault("path", f"{side}.{fmt}")
        for file_name, frame in (extra_files or {}).items():
            assume(write_frame(frame, folder / file_name, file_name.rsplit(".", 1)[1]))
        monitor.setdefault("min_samples", draw(st.sampled_from([0, 1, 100]), label="min_samples"))
        text = yaml.safe_dump({"monitors": [{"name": "m", **monitor}]}, sort_keys=False, allow_unicode=True)
        (folder / "driftmon.yaml").write_text(text, encoding="utf-8")
        check(folder / "driftmon.yaml")


def column(draw: Any, label: str) -> Any:
    """A column name: mostly one that exists, sometimes one that does not, or not a name at all."""
    return draw(
        st.sampled_from(["x", "c", "t", "g", "h", "k", "p", "s", "y", "m"] * 3 + ["nope", ""]) | ODD, label=label
    )


@st.composite
def model_part(draw: Any) -> dict[str, Any]:
    task = draw(st.sampled_from(["binary", "binary", "multiclass", "regression", "other"]), label="task")
    model: dict[str, Any] = {"task": task, "prediction": column(draw, "prediction")}
    if task == "binary":
        model.update(prediction="p", score=draw(st.sampled_from(["s", "x", "c", None]) | ODD, label="score"))
        model["positive"] = draw(st.sampled_from([1, 0, "1", True, "yes", 2.5]), label="positive")
    elif task == "multiclass":
        model.update(
            prediction="m",
            score=draw(
                st.sampled_from([{"cat": "s", "dog": "x"}, {"cat": "s"}, {"cat": "s", "dog": "s", "eel": "x"}, "s"]),
                label="scores",
            ),
        )
    elif task == "regression":
        model.update(prediction=draw(st.sampled_from(["x", "s", "c"]), label="prediction"))
    if draw(st.integers(0, 3), label="target") > 0:
        model["target"] = draw(st.sampled_from(["y", "y", "x", "c", "nope"]), label="target column")
    if draw(st.booleans(), label="thresholds"):
        metric = draw(
            st.sampled_from(["roc_auc", "accuracy", "f1", "mae", "rmse", "log_loss", "bogus"]), label="metric"
        )
        level = st.sampled_from(["auto", None, 0.5, 0, 1, -1, 1e308]) | FLOATS
        model["thresholds"] = {
            metric: draw(
                st.none()
                | st.fixed_dictionaries(
                    {}, optional={"warning": level, "critical": level, "relative": st.booleans() | ODD}
                ),
                label="levels",
            )
        }
    return model


@fuzz_settings(quick=QUICK)
@given(data=st.data())
def test_fuzzed_model_columns_and_labels_give_documented_outcomes(data: st.DataObject) -> None:
    """`model:` with odd settings and fuzzed prediction, score and label columns, with or
    without a `targets:` source of late labels joined on `key:` within `label_window`."""
    model = data.draw(model_part(), label="model")
    extra: dict[str, pd.DataFrame] = {}
    live: dict[str, Any] = {"type": "file"}
    if data.draw(st.booleans(), label="live window"):
        live["window"] = {
            "column": data.draw(st.sampled_from(["t", "t", "x", "nope"]), label="window column"),
            "last": "3d",
        }
    if data.draw(st.booleans(), label="targets"):
        labels = table(data.draw, data.draw(st.sampled_from([0, 3, 60, 300]), label="label rows"), 3)
        fmt = data.draw(FORMATS, label="targets format")
        extra[f"targets.{fmt}"] = labels
        model["targets"] = {
            "type": "file",
            "path": data.draw(st.sampled_from([f"targets.{fmt}", "missing.csv"]), label="targets path"),
        }
        model["key"] = data.draw(st.sampled_from(["k", "k", ["k", "c"], "x", "t", "nope", [], ["k", "k"]]), label="key")
        if data.draw(st.booleans(), label="label window"):
            model["label_window"] = data.draw(DURATIONS, label="label_window")
        if data.draw(st.integers(0, 3), label="label time") == 0:
            model["label_time"] = data.draw(st.sampled_from(["t", "x", "nope"]), label="label_time column")
    elif data.draw(st.integers(0, 3), label="label window alone") == 0:
        model["label_window"] = data.draw(DURATIONS, label="label_window")
    monitor = {"live": live, "features": ["x", "c"], "model": model}
    run_monitor(data.draw, monitor, live_shift=data.draw(st.sampled_from([0.0, 2.0]), label="shift"), extra_files=extra)


@fuzz_settings(quick=QUICK)
@given(data=st.data())
def test_fuzzed_quality_settings_give_documented_outcomes(data: st.DataObject) -> None:
    """`quality:` (missing, out_of_range, unseen limits, constant, schema severities) and
    `volume:` (min_rows, a ratio to the reference or the previous window) and `freshness:` with
    odd values, on tables with nulls, new values and dropped columns, with or without a window."""
    limits = st.fixed_dictionaries(
        {}, optional={"warning": SHARES, "critical": SHARES, "absolute": st.booleans() | ODD}
    )
    severity = st.sampled_from(["ok", "warning", "critical", "error", None])
    quality: Any = data.draw(
        st.none()
        | st.fixed_dictionaries(
            {},
            optional={
                "missing": limits,
                "out_of_range": limits,
                "unseen": limits | ODD,
                "constant": st.booleans() | ODD,
                "schema": st.none()
                | st.fixed_dictionaries(
                    {}, optional={"missing_column": severity, "type_changed": severity, "new_column": severity}
                ),
            },
        ),
        label="quality",
    )
    monitor: dict[str, Any] = {
        "features": data.draw(
            st.sampled_from([["x"], ["x", "c"], ["c", "nope"], [{"name": "x", "kind": "categorical"}]]),
            label="features",
        ),
        "quality": quality,
    }
    if data.draw(st.booleans(), label="volume"):
        monitor["volume"] = data.draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "min_rows": st.sampled_from([1, 10, 1000, 0, -1, None, 10**20, 1.5, "x"]),
                    "expected": st.sampled_from(["reference", "previous", None, "x", 1]),
                    "min_ratio": st.sampled_from([0.5, 0.0, -1, 1e-300, 10**20, None, "x"]),
                    "max_ratio": st.sampled_from([2.0, 0.1, 0.0, 1e308, None, "x"]),
                    "period": DURATIONS,
                    "reference_span": DURATIONS,
                },
            ),
            label="volume",
        )
    if data.draw(st.booleans(), label="freshness"):
        monitor["freshness"] = data.draw(
            st.none() | st.fixed_dictionaries({"max_age": DURATIONS}) | ODD, label="freshness"
        )
    if data.draw(st.booleans(), label="live window"):
        monitor["live"] = {
            "type": "file",
            "window": {"column": data.draw(st.sampled_from(["t", "x", "nope"]), label="window column"), "last": "3d"},
        }
    run_monitor(data.draw, monitor)


@fuzz_settings(quick=QUICK)
@given(data=st.data())
def test_fuzzed_segments_give_documented_outcomes(data: st.DataObject) -> None:
    """`segments: {by, top}` over columns of odd segment values (nulls, '', '/', numbers, times,
    one value, every row its own value), with odd `top`."""
    by = data.draw(
        st.lists(st.sampled_from(["g", "h", "c", "k", "t", "x", "nope", ""]), min_size=0, max_size=5) | ODD, label="by"
    )
    segments: Any = {"by": by}
    if data.draw(st.booleans(), label="top"):
        segments["top"] = data.draw(st.sampled_from([1, 2, 10, 100, 101, 0, -1, 1.5, "3"]), label="top value")
    monitor = {
        "features": data.draw(st.sampled_from([["x"], ["x", "c"], ["x", "g"]]), label="features"),
        "segments": segments,
    }
    run_monitor(data.draw, monitor, live_shift=data.draw(st.sampled_from([0.0, 1.0]), label="shift"))


@fuzz_settings(quick=QUICK)
@given(data=st.data())
def test_fuzzed_row_samples_give_documented_outcomes(data: st.DataObject) -> None:
    """`multivariate:` (methods, features, sample, seed) on tables of few rows, constant, text
    or null columns: joint drift or a named error."""
    multivariate: Any = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "methods": st.lists(st.sampled_from(["reconstruction", "classifier", "pca"]), max_size=3),
                "features": st.none() | st.lists(st.sampled_from(["x", "s", "c", "h", "nope"]), max_size=3),
                "sample": st.sampled_from([100, 150, 1_000_000, 99, 0, 10**7]),
                "seed": st.sampled_from([0, 1, -1, 2**63, "x"]),
            },
        ),
        label="multivariate",
    )
    monitor = {
        "features": data.draw(st.sampled_from([["x", "s"], ["x", "s", "h"], ["x", "c"], ["x"]]), label="features"),
        "multivariate": multivariate,
    }
    run_monitor(data.draw, monitor, live_shift=data.draw(st.sampled_from([0.0, 2.0]), label="shift"))


@fuzz_settings(quick=QUICK)
@given(data=st.data())
def test_fuzzed_moving_references_give_documented_outcomes(data: st.DataObject) -> None:
    """`reference: {from: live, window|seasonal, offset, bins}` with `reference_refresh`, on a
    live source whose window column holds fuzzed times."""
    reference: dict[str, Any] = {
        "from": data.draw(st.sampled_from(["live", "live", "live", "elsewhere"]), label="from")
    }
    kind = data.draw(st.sampled_from(["window", "seasonal", "both", "neither"]), label="kind")
    if kind in ("window", "both"):
        reference["window"] = data.draw(DURATIONS, label="window")
        if data.draw(st.booleans(), label="offset"):
            reference["offset"] = data.draw(DURATIONS, label="offset value")
    if kind in ("seasonal", "both"):
        reference["seasonal"] = data.draw(DURATIONS, label="seasonal")
    if data.draw(st.integers(0, 4), label="bins") == 0:
        reference["bins"] = data.draw(st.sampled_from(["missing.json", "reference.csv", ""]), label="bins file")
    live: dict[str, Any] = {"type": "file"}
    if data.draw(st.integers(0, 5), label="live window") > 0:
        live["window"] = {
            "column": data.draw(st.sampled_from(["t", "t", "t", "x", "c", "nope"]), label="window column"),
            "last": data.draw(DURATIONS, label="last"),
        }
    monitor: dict[str, Any] = {"reference": reference, "live": live, "features": ["x", "c"]}
    if data.draw(st.booleans(), label="refresh"):
        monitor["reference_refresh"] = data.draw(DURATIONS, label="reference_refresh")
    run_monitor(data.draw, monitor)
