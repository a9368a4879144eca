"""An integer column binned as a category (a classifier's prediction: class numbers) from its
Arrow buffers gives the same bins and counts as the pandas path, and imports no pandas."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from driftmon.histogram import bin_categorical, categorical_spec

CASES = {
    "zero_one": pa.array([0, 1, 1, 0, 1, 1, 1]),
    "nulls": pa.array([2, None, 2, 5, None, -3], type=pa.int32()),
    "int8_extremes": pa.array([-128, 127, 0, -128, 5], type=pa.int8()),
    "uint64_large": pa.array([2**64 - 1, 2**64 - 1, 2**63, 7], type=pa.uint64()),
    "wide_range": pa.array([-(2**62), 2**62, 3, 3, 3]),
    "all_null": pa.array([None, None], type=pa.int64()),
    "empty": pa.array([], type=pa.int16()),
    "chunked": pa.chunked_array([pa.array([1, 2, 2]), pa.array([3, None, 1, 1])]),
    "sliced": pa.array([9, 8, None, 7, 7, 6, None, 5]).slice(2, 5),
}


def _via_pandas(values: pa.Array | pa.ChunkedArray) -> list[int | None]:
    return values.to_pylist()  # a Python list takes the pandas path (as_strings)


@pytest.mark.parametrize("name", sorted(CASES))
def test_integer_categories_equal_the_pandas_path(name: str) -> None:
    values = CASES[name]
    spec = categorical_spec(values, max_categories=3)
    assert spec == categorical_spec(_via_pandas(values), max_categories=3)
    for other in (spec, categorical_spec(pa.array([5, 1, 2, 3, 4]), max_categories=2)):  # unseen values too
        fast, slow = bin_categorical(other, values), bin_categorical(other, _via_pandas(values))
        np.testing.assert_array_equal(fast.counts, slow.counts)
        assert fast.missing == slow.missing
        assert sorted(fast.unseen_values) == sorted(slow.unseen_values)


def test_integer_category_check_imports_no_pandas(tmp_path) -> None:
    """A model's integer prediction (a categorical model output) reaches its bins without pandas."""
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"c": pa.array([0, 1, 1, None, 2] * 100)}), tmp_path / "f.parquet")  # imports pandas
    code = f"""
import sys
import pyarrow.parquet as pq
from driftmon.histogram import bin_categorical, categorical_spec
column = pq.ParquetFile({str(tmp_path / "f.parquet")!r}).read_row_group(0).column("c")
spec = categorical_spec(column, 10)
assert spec.categories == ("1", "0", "2"), spec
assert list(bin_categorical(spec, column).counts[:3]) == [200.0, 100.0, 100.0]
assert "pandas" not in sys.modules, "pandas was imported"
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


ARROW = [
    pa.array([1.0, None, 3.0]),
    pa.array([1, None, 3], pa.int8()),
    pa.array([5, 6], pa.uint32()),
    pa.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).slice(3, 4),
    pa.array([True, False, True]).slice(1),
    pa.array([True, False, True, True, False, False, True, False, True, True, False]).slice(3, 6),
    pa.array([True, None]),
    pa.array(["a", None, "b"]).dictionary_encode(),
    pa.array(["x", "y", None, "x"]).dictionary_encode().slice(1),
    pa.array(["a", None]),
    pa.array([1.5, 2.5], pa.float32()),
    pa.array([None, None], pa.float64()),
    pa.array([], pa.int64()),
]


@pytest.mark.parametrize("index", range(len(ARROW)))
def test_model_columns_as_numpy_equal_pyarrows(index: int) -> None:
    """A model column read from Arrow (`as_numpy`, no pandas) is what pyarrow's to_numpy gives."""
    from driftmon.arrow_kernels import as_numpy

    values = ARROW[index]
    ours, theirs = as_numpy(values), values.to_numpy(zero_copy_only=False)
    assert ours.dtype == theirs.dtype
    assert ours.tolist() == theirs.tolist() or np.array_equal(ours, theirs, equal_nan=True)
