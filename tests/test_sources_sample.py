"""Row samples: uniform (every row equally likely, checked with a chi-square test), seeded,
independent of batch boundaries, bounded, for numpy and Arrow columns alike."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from driftmon.sources.sample import Reservoir

stats = pytest.importorskip("scipy.stats")


def _fill(reservoir: Reservoir, rows: int, cut: int) -> Reservoir:
    for start in range(0, rows, cut):
        stop = min(rows, start + cut)
        reservoir.add({"row": np.arange(start, stop), "text": pa.array([f"r{i}" for i in range(start, stop)])})
    return reservoir


def test_same_seed_same_sample_whatever_the_batches() -> None:
    """Batches of 7, 100 or all 1,000 rows give the same 50-row sample, in the same order."""
    samples = [_fill(Reservoir(50, seed=3), 1_000, cut).sample() for cut in (7, 100, 1_000)]
    for sample in samples[1:]:
        assert np.array_equal(sample["row"], samples[0]["row"])
        assert sample["text"].to_pylist() == samples[0]["text"].to_pylist()
    assert len(set(samples[0]["row"].tolist())) == 50
    assert samples[0]["text"].to_pylist() == [f"r{i}" for i in samples[0]["row"]]
    other = _fill(Reservoir(50, seed=4), 1_000, 100).sample()
    assert not np.array_equal(other["row"], samples[0]["row"])


def test_every_row_equally_likely() -> None:
    """Over 400 seeds, how often each of 200 rows is kept in a 20-row sample fits the
    uniform expectation (chi-square p > 0.001), early and late rows alike."""
    kept = np.zeros(200)
    for seed in range(400):
        reservoir = _fill(Reservoir(20, seed=seed), 200, 33)
        kept[reservoir.sample()["row"]] += 1
    assert kept.sum() == 400 * 20
    assert stats.chisquare(kept).pvalue > 0.001
    assert abs(kept[:100].sum() - kept[100:].sum()) < 0.1 * kept.sum()


def test_fewer_rows_than_the_size_keeps_them_all() -> None:
    """A sample larger than the data holds every row once; empty batches change nothing."""
    reservoir = Reservoir(100, seed=1)
    reservoir.add({"row": np.arange(0)})
    _fill(reservoir, 30, 8)
    assert sorted(reservoir.sample()["row"].tolist()) == list(range(30))
    assert len(reservoir) == 30 and reservoir.seen == 30


def test_bounded_and_checked() -> None:
    """The reservoir never holds more than its size; ragged batches and size 0 are refused."""
    reservoir = _fill(Reservoir(10, seed=2), 10_000, 999)
    assert len(reservoir) == 10 and len(reservoir.sample()["row"]) == 10
    with pytest.raises(ValueError, match="differ in length"):
        reservoir.add({"row": np.arange(3), "text": pa.array(["a"])})
    with pytest.raises(ValueError, match="at least one row"):
        Reservoir(0)
