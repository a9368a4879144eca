"""RowSource: batches as pandas DataFrames or Arrow tables bin to the same histograms."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from driftmon.histogram import BinningRule, NumericBins, bin_numeric, finite_sorted, numeric_spec
from driftmon.sources.base import RowSource


class _Rows(RowSource):
    """Rows handed over in fixed batches, as pandas or as Arrow."""

    def __init__(self, frames: list[Any]) -> None:
        super().__init__(None, Path("."))
        self.frames = frames

    def describe(self) -> str:
        return "test rows"

    def fingerprint(self) -> str:
        return "fixed"

    def batches(self, columns: Sequence[str]) -> Iterator[Any]:
        for frame in self.frames:
            yield frame[list(columns)] if isinstance(frame, pd.DataFrame) else frame.select(list(columns))


def _frames(seed: int) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    frames = []
    for rows in (700, 1, 1300):
        x = rng.normal(0, 1, rows)
        x[rng.random(rows) < 0.05] = np.nan
        frames.append(pd.DataFrame({"x": x, "city": rng.choice(["a", "b", "c", None], rows)}))
    return frames


@pytest.mark.parametrize("arrow", [pa.Table.from_pandas, lambda frame: pa.RecordBatch.from_pandas(frame)])
def test_arrow_batches_bin_like_pandas_batches(arrow: Any) -> None:
    """profile() and count() over Arrow batches equal the pandas path, and the numeric edges equal the definition."""
    reference_frames, live_frames = _frames(1), _frames(2)
    rules = [BinningRule("x"), BinningRule("city")]
    by_pandas = _Rows(reference_frames).profile(rules)
    by_arrow = _Rows([arrow(frame) for frame in reference_frames]).profile(rules)
    assert by_arrow == by_pandas
    whole = pd.concat(reference_frames)["x"].to_numpy()
    spec = numeric_spec(finite_sorted(whole), "quantile", 10, "x")
    assert by_arrow["x"].spec == spec and isinstance(spec, NumericBins)
    assert by_arrow["x"] == bin_numeric(spec, whole)
    specs = {name: histogram.spec for name, histogram in by_pandas.items()}
    live_pandas = _Rows(live_frames).count(specs)
    live_arrow = _Rows([arrow(frame) for frame in live_frames]).count(specs)
    assert live_arrow == live_pandas
    assert live_arrow["city"].missing == sum(int(frame["city"].isna().sum()) for frame in live_frames)
