"""The histogram file (driftmon.histograms/v1): round trips, the documented example, and bad files named plainly."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from driftmon.errors import DataError
from driftmon.histogram import (
    BinningRule,
    CategoricalBins,
    Histogram,
    NumericBins,
    bin_categorical,
    bin_numeric,
    derive_spec,
)
from driftmon.histogram_file import FORMAT, from_document, to_document


def _spec_of(values: np.ndarray, bins: int = 10) -> NumericBins:
    spec = derive_spec(BinningRule("f", bins=bins), pd.Series(values))
    assert isinstance(spec, NumericBins)
    return spec


def test_histogram_file_round_trip() -> None:
    """to_document and from_document round-trip numeric and categorical histograms exactly."""
    hists = {
        "age": Histogram(NumericBins((18.0, 30.0, 45.0, 65.0)), np.array([0, 40, 35, 25, 2.5]), 1),
        "country": Histogram(CategoricalBins(("US", "DE"), frozenset({"FR"})), np.array([120, 40, 7, 0]), 0),
    }
    document = json.loads(json.dumps(to_document(hists)))
    assert document["format"] == "driftmon.histograms/v1"
    assert document["features"]["age"]["counts"] == [0, 40, 35, 25, 2.5]
    assert document["features"]["country"]["counts"] == {"US": 120, "DE": 40, "__other__": 7}
    assert from_document(document, "f.json") == hists


def test_spec_example_histogram_file_parses() -> None:
    """The example document of SPEC §6 parses, with the §6 counts layout."""
    document = {
        "format": "driftmon.histograms/v1",
        "features": {
            "age": {"kind": "numeric", "edges": [18, 30, 45, 65], "counts": [0, 40, 35, 25, 2], "missing": 1},
            "country": {"kind": "categorical", "counts": {"US": 120, "DE": 40, "__other__": 7}, "missing": 0},
        },
    }
    hists = from_document(document, "example.json")
    assert hists["age"].total == 103
    assert hists["country"].spec == CategoricalBins(("US", "DE"), None)
    assert hists["country"].counts.tolist() == [120, 40, 7, 0]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"kind": "numeric", "edges": [0, 1], "counts": [1, -1, 0]}, r"counts\[1\].*non-negative"),
        ({"kind": "numeric", "edges": [0, 1], "counts": [1, float("nan"), 0]}, "non-negative finite"),
        ({"kind": "numeric", "edges": [0, 1], "counts": [1, "x", 0]}, "non-negative finite"),
        ({"kind": "numeric", "edges": [0, 1], "counts": [1, 2]}, r"len\(edges\) \+ 1"),
        ({"kind": "numeric", "edges": [1, 0], "counts": [1, 2, 3]}, "strictly increasing"),
        ({"kind": "categorical", "counts": {"a": -2}}, "non-negative"),
        ({"kind": "weird", "counts": []}, "kind must be"),
    ],
)
def test_bad_histogram_files_name_file_and_feature(entry: dict, message: str) -> None:
    """Negative, NaN or non-numeric counts, wrong lengths and bad edges are errors naming the file and feature."""
    document = {"format": "driftmon.histograms/v1", "features": {"age": entry}}
    with pytest.raises(DataError, match=message) as caught:
        from_document(document, "ref.json")
    assert "ref.json" in str(caught.value) and "'age'" in str(caught.value)


def test_not_a_histogram_file() -> None:
    """A JSON document without the format marker is refused with the file named."""
    with pytest.raises(DataError, match=r"ref\.json: not a histogram file"):
        from_document({"features": {}}, "ref.json")


def test_unknown_other_values_count_as_other() -> None:
    """Without the reference's other values, live values outside the top K count as __other__; with none behind a zero __other__, as __unseen__."""
    with_other = from_document(
        {
            "format": "driftmon.histograms/v1",
            "features": {"c": {"kind": "categorical", "counts": {"a": 5, "__other__": 2}}},
        },
        "f",
    )["c"]
    without_other = from_document(
        {"format": "driftmon.histograms/v1", "features": {"c": {"kind": "categorical", "counts": {"a": 5}}}}, "f"
    )["c"]
    live = pd.Series(["a", "zz", "yy"])
    assert bin_categorical(with_other.spec, live).counts.tolist() == [1, 2, 0]
    assert bin_categorical(without_other.spec, live).counts.tolist() == [1, 0, 2]


def test_point_bins_round_trip_through_the_histogram_file() -> None:
    """A spec with point bins survives to_document / from_document; old files without points still load."""
    spec = _spec_of(np.concatenate([np.zeros(900), np.arange(1.0, 101.0)]))
    hist = bin_numeric(spec, np.concatenate([np.zeros(900), np.arange(1.0, 101.0)]))
    again = from_document(json.loads(json.dumps(to_document({"a": hist}))), "x.json")["a"]
    assert again == hist
    old = {"format": FORMAT, "features": {"a": {"kind": "numeric", "edges": [0, 1], "counts": [0, 3, 0], "missing": 0}}}
    assert from_document(old, "old.json")["a"].spec.points == ()


@pytest.mark.parametrize(
    "entry",
    [
        {"kind": "numeric", "edges": [0, 1], "counts": [1e308, 1e308, 1e308], "missing": 0},
        {"kind": "numeric", "edges": [0, 1], "counts": [1, 2, 3], "missing": 1e308},
        {"kind": "categorical", "counts": {"a": 1e19, "b": 1}, "missing": 0},
    ],
    ids=["sum-overflows", "missing-huge", "beyond-int64"],
)
def test_histogram_file_counts_too_large_to_compare_are_a_data_error(entry: dict) -> None:
    """Finite counts whose total overflows, or exceeds 1e15, are refused naming the file and feature."""
    document = {"format": "driftmon.histograms/v1", "features": {"f": entry}}
    with pytest.raises(
        DataError, match=r"^h\.json: feature 'f': counts total .* more than the 1e\+15 driftmon can compare$"
    ):
        from_document(document, "h.json")
