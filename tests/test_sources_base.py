"""The source interface: what every source type answers, and rows that bin alike however they are read."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon.histogram import BinningRule, NumericBins, bin_numeric, finite_sorted, numeric_spec
from driftmon.sources import SOURCE_TYPES
from driftmon.sources.file import FileSource, FileSourceConfig


def _frame(seed: int, rows: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(0, 1, rows), 6)  # six decimals: the same floats back from CSV and JSON text
    x[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame({"x": x, "city": rng.choice(["a", "b", "c", None], rows)})


def _write(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_rows_bin_alike_read_by_column_or_by_row_batch(tmp_path: Path, suffix: str) -> None:
    """The same rows profile and count the same from Parquet (column by column) and from CSV or JSON
    Lines (row batches), and the numeric edges are the definition's over the whole column."""
    reference, live = _frame(1), _frame(2)
    rules = [BinningRule("x"), BinningRule("city")]
    histograms = {}
    for kind in (".parquet", suffix):
        _write(reference, tmp_path / f"ref{kind}")
        _write(live, tmp_path / f"live{kind}")
        profiled = FileSource(FileSourceConfig(type="file", path=f"ref{kind}"), tmp_path).profile(rules)
        specs = {name: histogram.spec for name, histogram in profiled.items()}
        counted = FileSource(FileSourceConfig(type="file", path=f"live{kind}"), tmp_path).count(specs)
        histograms[kind] = (profiled, counted)
    assert histograms[suffix] == histograms[".parquet"]
    profiled, counted = histograms[suffix]
    spec = numeric_spec(finite_sorted(reference["x"].to_numpy()), "quantile", 10, "x")
    assert isinstance(spec, NumericBins) and profiled["x"].spec == spec
    assert counted["x"] == bin_numeric(spec, live["x"].to_numpy())
    assert counted["city"].missing == int(live["city"].isna().sum())


@pytest.mark.parametrize("name", sorted(SOURCE_TYPES))
def test_every_source_type_takes_the_live_file_cache_on_count(name: str) -> None:
    """evaluate hands the daemon's live-file cache to every live source's count (no test of the
    source's type): each source type accepts it, and defaults it to none."""
    parameter = inspect.signature(SOURCE_TYPES[name].count).parameters.get("cache")
    assert parameter is not None and parameter.default is None
