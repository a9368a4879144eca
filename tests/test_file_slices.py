"""Row codes (driftmon.sources.file_slices): any window's part of a coded file counts as binning
those rows does (driftmon.histogram.bin_values, the oracle), on generated data with edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from driftmon.histogram import BinSpec, CategoricalBins, Histogram, NumericBins, bin_values
from driftmon.sources.file_slices import NULL_TIME, RowCodes, build


def oracle(spec: BinSpec, values: object, keep: np.ndarray, name: str) -> Histogram:
    """bin_values over the rows kept (one chunk, as a file of one batch is counted)."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        return bin_values(spec, values.filter(pa.array(keep)), name)
    return bin_values(spec, pd.Series(values)[keep].reset_index(drop=True), name)


def agree(codes: RowCodes, specs: dict[str, BinSpec], columns: dict[str, object], times: np.ndarray, bounds) -> bool:
    """The codes' part in ``bounds`` equals the oracle's (True), or is None where it may be (False)."""
    found = codes.count(specs, bounds)
    keep = (times != NULL_TIME) & (times >= bounds[0]) & (times < bounds[1])
    if found is None:  # only when a numeric part lies in one interval bin: its extent is not known
        parts = {name: oracle(spec, columns[name], keep, name) for name, spec in specs.items()}
        assert any(isinstance(p.spec, NumericBins) and np.count_nonzero(p.counts) == 1 for p in parts.values())
        return False
    histograms, rows = found
    assert rows == int(keep.sum())
    for name, spec in specs.items():
        expected = oracle(spec, columns[name], keep, name)
        assert histograms[name] == expected, name  # counts and missing
        assert (histograms[name].extent is None) == (expected.extent is None), name
        if expected.extent is not None:
            assert histograms[name].extent == pytest.approx(expected.extent)
    return True


def test_every_part_counts_as_binning_its_rows() -> None:
    """Values on the edges (both sides of a point bin, the last closed edge), NaN, +-inf, a spec
    without edges, text as Arrow dictionaries, plain Arrow strings and pandas objects (nulls,
    categories outside the top K with the others unknown or known), times unsorted and null:
    every cut of the time range agrees with the oracle, row counts included."""
    rng = np.random.default_rng(5)
    n = 3_000
    edges = NumericBins((-1.0, 0.0, 0.5, 2.0), points=(0.0,))
    on_edges = np.array([-1.0, 0.0, -0.0, 0.5, 2.0, np.nextafter(2.0, 3), np.nan, np.inf, -np.inf, 1e308])
    x = np.where(rng.random(n) < 0.3, rng.choice(on_edges, n), rng.normal(0.5, 1.2, n))
    times = rng.integers(0, 10**12, n)
    times[rng.random(n) < 0.02] = NULL_TIME
    words = rng.choice(np.array(["a", "b", "c", "z", None], dtype=object), n, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    columns: dict[str, object] = {
        "x": x,
        "city": pa.array(words).dictionary_encode(),
        "plain": pa.array(words),
        "obj": words,
        "known": pa.array(words).dictionary_encode(),
    }
    specs: dict[str, BinSpec] = {
        "x": edges,
        "city": CategoricalBins(("a", "b")),  # others unknown: c and z are __other__
        "plain": CategoricalBins(("b", "a"), frozenset({"c", "z"})),
        "obj": CategoricalBins(("a",), None),
        "known": CategoricalBins(("a", "b", "c"), frozenset({"z"})),
    }
    chunks = {
        name: (lambda v=values: [v[:1000], v[1000:]] if not isinstance(v, np.ndarray) else [v])
        for name, values in columns.items()
    }
    codes = build(times, chunks, specs)
    assert codes is not None and np.all(np.diff(codes.times) >= 0)
    timed = np.sort(times[times != NULL_TIME])
    cuts = [timed[0], timed[1], timed[len(timed) // 3], timed[len(timed) // 2] + 1, timed[-1], timed[-1] + 1]
    known = [agree(codes, specs, columns, times, (int(low), int(high))) for low in cuts for high in cuts if low <= high]
    assert sum(known) >= 14  # of 21: a part of one row or two lies in one bin
    assert agree(codes, specs, columns, times, (-(10**18), 10**18))  # every timed row
    flat = {"flat": NumericBins(())}  # a reference without finite values: one bin; only the whole file is known
    values = {"flat": rng.normal(size=n)}
    codes = build(times, {"flat": lambda: [values["flat"]]}, flat)
    assert codes is not None and agree(codes, flat, values, times, (-(10**18), 10**18))
    assert not agree(codes, flat, values, times, (int(cuts[2]), int(cuts[4])))


def test_a_category_the_bins_lack_gives_no_codes() -> None:
    """__unseen__ values keep their top names in a histogram, which the codes do not hold."""
    times = np.arange(4, dtype=np.int64)
    spec = CategoricalBins(("a",), frozenset({"b"}))
    assert build(times, {"c": lambda: [pa.array(["a", "b", "new", "a"])]}, {"c": spec}) is None
    assert build(times, {"c": lambda: [pa.array(["a", "b", None, "a"])]}, {"c": spec}) is not None


def test_extents_of_a_stuck_column_and_of_parts_in_one_bin() -> None:
    """A column stuck at one value inside an interval bin keeps (v, v) in every part (how quality
    finds it); a point bin's part is its value; a part of a varied file whose values fall in one
    interval bin has an extent the codes do not know: None (the file is read)."""
    spec = NumericBins((0.0, 1.0, 10.0))
    times = np.arange(6, dtype=np.int64)
    stuck = build(times, {"s": lambda: [np.full(6, 5.5)]}, {"s": spec})
    assert stuck is not None
    found = stuck.count({"s": spec}, (2, 5))
    assert found is not None and found[0]["s"].extent == (5.5, 5.5)
    varied = np.array([5.0, 6.0, 0.5, 0.7, 5.0, 5.0])
    codes = build(times, {"v": lambda: [varied]}, {"v": spec})
    assert codes is not None
    assert codes.count({"v": spec}, (0, 2)) is None  # 5.0 and 6.0: one bin, two values
    found = codes.count({"v": spec}, (0, 4))  # two bins: no extent, as bin_values
    assert found is not None and found[0]["v"].extent is None
    point = NumericBins((0.0, 1.0), points=(1.0,))
    codes = build(times, {"p": lambda: [np.array([1.0, 1.0, 1.0, 0.5, 2.0, 1.0])]}, {"p": point})
    assert codes is not None
    found = codes.count({"p": point}, (0, 3))
    assert found is not None and found[0]["p"].extent == (1.0, 1.0)


def test_many_bins_take_two_bytes() -> None:
    spec = NumericBins(tuple(float(e) for e in range(300)))
    values = np.arange(-1.0, 301.0, 0.5)
    times = np.arange(values.size, dtype=np.int64)
    codes = build(times, {"x": lambda: [values]}, {"x": spec})
    assert codes is not None and codes.codes["x"].dtype == np.uint16
    agree(codes, {"x": spec}, {"x": values}, times, (10, 500))
