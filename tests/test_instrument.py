"""driftmon.instrument: a serving process counts rows into a profile's frozen bins, exactly as driftmon bins them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry

from driftmon.histogram import (
    CategoricalBins,
    NumericBins,
    bin_values,
    numeric_spec,
)
from driftmon.histogram_file import to_document
from driftmon.instrument import METRIC, Instrument, bin_labels, number_text, parse_bin_labels


def series(instrument: Instrument) -> dict[tuple[str, str], float]:
    """(feature, bin) -> value of every sample of the instrument's counter."""
    (family,) = [f for f in instrument.counter.collect()]
    return {(s.labels["feature"], s.labels["bin"]): s.value for s in family.samples if s.name.endswith("_total")}


def driftmon_counts(spec: NumericBins | CategoricalBins, values: list[object]) -> np.ndarray:
    """driftmon's own binning (the file source's path) as counts with missing last: the oracle."""
    column = pd.Series(values, dtype=object if isinstance(spec, CategoricalBins) else np.float64)
    histogram = bin_values(spec, column, "f")
    return np.append(histogram.counts, histogram.missing)


def test_numeric_counts_equal_driftmons_binning_with_point_bins_infinities_and_nan() -> None:
    """Values on edges, at point bins, ±inf and NaN land in the bins driftmon's file source would use."""
    rng = np.random.default_rng(7)
    spec = NumericBins((0.0, 1.0, 2.5, 4.0), (0.0, 1.0))
    values = rng.choice([-1.0, 0.0, 0.5, 1.0, 1.5, 2.5, 3.0, 4.0, 5.0, np.inf, -np.inf, np.nan], 5000)
    instrument = Instrument({"x": spec}, registry=CollectorRegistry())
    counts = instrument.counts({"x": values})["x"]
    np.testing.assert_array_equal(counts, driftmon_counts(spec, values.tolist()))
    assert counts.sum() == 5000


def test_quantile_bins_from_a_reference_count_as_driftmon_does() -> None:
    """Bins derived by driftmon (quantiles plus a point mass at 0) count live rows exactly as bin_values does."""
    rng = np.random.default_rng(3)
    reference = np.where(rng.random(20_000) < 0.3, 0.0, rng.lognormal(2, 1, 20_000))
    spec = numeric_spec(np.sort(reference), "quantile", 10, "amount")
    assert 0.0 in spec.points
    live = np.where(rng.random(3000) < 0.5, 0.0, rng.lognormal(2.3, 1, 3000))
    instrument = Instrument({"amount": spec}, registry=CollectorRegistry())
    np.testing.assert_array_equal(instrument.counts({"amount": live})["amount"], driftmon_counts(spec, live.tolist()))


def test_categorical_counts_follow_top_k_other_unseen_and_missing() -> None:
    """Top-K values, the reference's other values (__other__), new values (__unseen__), None/NaN (missing), numbers as text."""
    spec = CategoricalBins(("US", "DE", "1"), frozenset({"FR"}))
    values = ["US", "DE", "FR", "BR", None, 1, 1.0, "1", float("nan"), "US", True]
    instrument = Instrument({"c": spec}, registry=CollectorRegistry())
    counts = instrument.counts({"c": values})["c"]
    # US DE "1" | __other__ | __unseen__ | missing
    np.testing.assert_array_equal(counts, [2, 1, 3, 1, 2, 2])
    np.testing.assert_array_equal(
        counts[:-1], driftmon_counts(spec, ["US", "DE", "FR", "BR", None, "1", "1", "1", None, "US", "True"])[:-1]
    )


def test_unknown_other_values_count_as_other_as_driftmon_does() -> None:
    """A profile without other_values (others unknown): values outside the top K are __other__, never __unseen__."""
    spec = CategoricalBins(("a",), None)
    counts = Instrument({"c": spec}, registry=CollectorRegistry()).counts({"c": ["a", "b", "zzz"]})["c"]
    np.testing.assert_array_equal(counts, [1, 2, 0, 0])


def test_every_series_exists_at_zero_and_unseen_values_add_none() -> None:
    """All bins (and __missing__) are series from the start; 10,000 new categories add no series."""
    instrument = Instrument(
        {"c": CategoricalBins(("a", "b"), frozenset()), "x": NumericBins((0.0, 1.0))}, registry=CollectorRegistry()
    )
    before = series(instrument)
    assert set(before) == {
        ("c", "a"),
        ("c", "b"),
        ("c", "__other__"),
        ("c", "__unseen__"),
        ("c", "__missing__"),
        ("x", "(-inf,0)"),
        ("x", "[0,1]"),
        ("x", "(1,+inf)"),
        ("x", "__missing__"),
    }
    assert all(value == 0 for value in before.values())
    instrument.observe({"c": [f"new-{i}" for i in range(10_000)], "x": np.arange(10_000.0)})
    after = series(instrument)
    assert set(after) == set(before)
    assert after[("c", "__unseen__")] == 10_000 and after[("x", "(1,+inf)")] == 9_998


def test_batches_rows_and_single_rows_count_the_same() -> None:
    """A dict of columns, a DataFrame, a list of row dicts and single rows give the same counts; absent keys are missing."""
    specs = {"x": NumericBins((0.0, 10.0)), "c": CategoricalBins(("a",), frozenset())}
    rows = [{"x": 1.0, "c": "a"}, {"x": 20.0}, {"c": "b"}, {"x": None, "c": None}]
    columns = {"x": [1.0, 20.0, None, None], "c": ["a", None, "b", None]}
    expected = {"x": [0, 1, 1, 2], "c": [1, 0, 1, 2]}
    registries = [CollectorRegistry() for _ in range(4)]
    forms = [columns, pd.DataFrame(columns), rows]
    for form, registry in zip(forms, registries, strict=False):
        instrument = Instrument(specs, registry=registry)
        instrument.observe(form)
        got = series(instrument)
        assert [got[("x", b)] for b in ("(-inf,0)", "[0,10]", "(10,+inf)", "__missing__")] == expected["x"], form
    one_by_one = Instrument(specs, registry=registries[3])
    for row in rows:
        one_by_one.observe(row)
    assert series(one_by_one) == got


def test_text_in_a_numeric_feature_is_a_clear_error_and_counts_nothing() -> None:
    """Bad values raise a one-line ValueError naming the feature; no feature of that batch is counted."""
    instrument = Instrument(
        {"c": CategoricalBins(("a",), frozenset()), "x": NumericBins((0.0, 1.0))}, registry=CollectorRegistry()
    )
    with pytest.raises(ValueError, match="feature 'x' is numeric"):
        instrument.observe({"c": ["a", "a"], "x": [0.5, "lots"]})
    assert all(value == 0 for value in series(instrument).values())


@pytest.mark.parametrize(
    "edges",
    [(0.1, 0.2, 0.30000000000000004), (-1e-300, 5e-324, 1e300), (123456789.123456789, 123456789.12345679 + 1e-7)],
)
def test_bin_labels_name_edges_exactly_and_parse_back(edges: tuple[float, ...]) -> None:
    """Bin labels carry every edge to the last bit, so the layout read back equals the profile's bins."""
    for points in ((), (edges[0],), edges):
        spec = NumericBins(edges, points)
        assert parse_bin_labels(bin_labels(spec), "f") == spec
    assert number_text(3.0) == "3" and float(number_text(0.1)) == 0.1


def test_incomplete_or_foreign_bin_labels_are_refused() -> None:
    """A layout with a bin missing, or a label that is no bin, is a ValueError naming the feature."""
    labels = bin_labels(NumericBins((0.0, 1.0, 2.0)))
    with pytest.raises(ValueError, match=r"feature 'f'.*missing \['\[1,2\]'\]"):
        parse_bin_labels([label for label in labels if label != "[1,2]"], "f")
    with pytest.raises(ValueError, match="feature 'f': bin label 'US'"):
        parse_bin_labels([*labels, "US"], "f")


def test_from_profile_reads_the_histogram_file_driftmon_profile_writes(tmp_path: Path) -> None:
    """The profile's bins (point bins, other_values) are the instrument's; an unknown feature is a clear error."""
    from driftmon.histogram import Histogram

    histograms = {
        "flag": Histogram(NumericBins((0.0, 1.0), (0.0, 1.0)), np.array([0, 70, 0, 30, 0]), 0),
        "c": Histogram(CategoricalBins(("a",), frozenset({"b"})), np.array([5, 2, 0]), 1),
    }
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(to_document(histograms)))
    instrument = Instrument.from_profile(path, registry=CollectorRegistry())
    assert instrument.metric == METRIC
    counts = instrument.counts({"flag": [0, 1, 1, 0.5, 2], "c": ["a", "b", "z", None, "a"]})
    np.testing.assert_array_equal(counts["flag"], [0, 1, 1, 2, 1, 0])
    np.testing.assert_array_equal(counts["c"], [2, 1, 1, 1])
    with pytest.raises(ValueError, match="differ in length"):
        instrument.counts({"flag": [0, 1], "c": ["a"]})
    with pytest.raises(ValueError, match="no feature 'age' in the profile"):
        Instrument.from_profile(path, features=["age"], registry=CollectorRegistry())


def test_instrument_needs_no_config_pydantic_pandas_or_pyarrow(tmp_path: Path) -> None:
    """A model server importing driftmon.instrument and observing rows loads none of config, pydantic, pandas, pyarrow, yaml."""
    path = tmp_path / "profile.json"
    path.write_text(
        json.dumps(
            {
                "format": "driftmon.histograms/v1",
                "features": {
                    "x": {
                        "kind": "numeric",
                        "edges": [0, 1],
                        "points": [0, 1],
                        "counts": [0, 5, 1, 5, 0],
                        "missing": 0,
                    },
                    "c": {"kind": "categorical", "counts": {"a": 3}, "missing": 0},
                },
            }
        )
    )
    code = f"""
import sys
from driftmon.instrument import Instrument
instrument = Instrument.from_profile({str(path)!r})
instrument.observe({{"x": [0, 1, 0.5, None], "c": ["a", "b", None, "a"]}})
instrument.observe([{{"x": 3, "c": "a"}}])
loaded = [m for m in ("driftmon.config", "pydantic", "pandas", "pyarrow", "yaml", "scipy") if m in sys.modules]
assert not loaded, loaded
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_from_profile_refuses_a_deeply_nested_file_in_words(tmp_path) -> None:
    """A profile nested 100,000 deep is a DataError naming the file (was a RecursionError)."""
    from driftmon.errors import DataError
    from driftmon.instrument import Instrument

    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match="deep.json: not valid JSON .nested too deeply"):
        Instrument.from_profile(path, registry=None)
