"""Raw Arrow-buffer kernels: Arrow arrays viewed as numpy without copies, and dictionary counts.

pyarrow's own ``to_numpy`` imports pandas, and ``pyarrow.compute`` costs a noticeable share
of a short ``check``; these read the value and validity buffers directly. They know nothing
of bins: :mod:`driftmon.histogram` and :mod:`driftmon.columns` build on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from driftmon._imports import lazy_import

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
else:
    # Deferred, so that driftmon.instrument (bin specs and the histogram file only) runs in
    # a model server without pyarrow.
    pa = lazy_import("pyarrow")
    pc = lazy_import("pyarrow.compute")


def is_arrow_text(values: object) -> bool:
    """True for an Arrow text column (plain or dictionary-encoded)."""
    if not isinstance(values, pa.Array | pa.ChunkedArray):
        return False
    kind = values.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def decoded(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Plain strings (a dictionary column decoded)."""
    if pa.types.is_dictionary(values.type):
        return values.cast(values.type.value_type)
    return values


def entry_counts(values: pa.Array | pa.ChunkedArray) -> Iterator[tuple[pa.Array, np.ndarray, float]]:
    """Per chunk: its dictionary, the rows per dictionary entry, and the null rows.

    Counting codes (a bincount) costs a fraction of hashing the strings themselves; a
    Parquet text column read with ``read_dictionary`` comes with its codes.
    """
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    for chunk in chunks:
        encoded = chunk if pa.types.is_dictionary(chunk.type) else pc.dictionary_encode(chunk)
        dictionary = encoded.dictionary
        entries = len(dictionary)
        indices = encoded.indices
        codes = primitive(indices, np.dtype(f"i{indices.type.bit_width // 8}"))
        if indices.null_count:
            codes = np.where(valid(indices), codes, entries)
        per_entry = np.bincount(codes, minlength=entries + 1).astype(np.float64)
        null_entry = ~valid(dictionary) if dictionary.null_count else np.zeros(entries, dtype=bool)
        nulls = float(per_entry[entries] + per_entry[:entries][null_entry].sum())
        yield dictionary, np.where(null_entry, 0.0, per_entry[:entries]), nulls


def value_counts(values: pa.Array | pa.ChunkedArray) -> Iterator[tuple[list[str], np.ndarray, float]]:
    """Per chunk of a text or integer Arrow column: its distinct values as text (integers as
    pandas prints them, ``1``), the rows holding each, and the null rows. Integers from their
    value buffer (no pandas, no pyarrow.compute): a prediction column of class numbers is
    binned as a category without importing pandas (~0.3 s of a short check)."""
    if is_arrow_text(values):
        for dictionary, per_entry, nulls in entry_counts(values):
            yield dictionary.to_pylist(), per_entry, nulls
        return
    for chunk in values.chunks if isinstance(values, pa.ChunkedArray) else [values]:
        kind = chunk.type
        numbers = primitive(chunk, _integers(kind))
        if chunk.null_count:
            numbers = numbers[valid(chunk)]
        nulls = float(len(chunk) - numbers.size)
        if not numbers.size:
            yield [], np.zeros(0), nulls
            continue
        low, high = int(numbers.min()), int(numbers.max())
        if high - low <= max(65_536, numbers.size):  # a small range: one bincount, no sort
            # the difference wraps in the column's own width; read unsigned it is exact
            offsets = (numbers - numbers.min()).view(f"u{numbers.dtype.itemsize}")
            per_value = np.bincount(offsets.astype(np.intp))
            present = np.flatnonzero(per_value)
            yield [str(low + int(i)) for i in present], per_value[present].astype(np.float64), nulls
        else:
            distinct, counts = np.unique(numbers, return_counts=True)
            yield [str(v) for v in distinct.tolist()], counts.astype(np.float64), nulls


def _integers(kind: pa.DataType) -> np.dtype[Any]:
    """The numpy type of an Arrow integer type's values."""
    return np.dtype(f"{'u' if pa.types.is_unsigned_integer(kind) else 'i'}{kind.bit_width // 8}")


def is_arrow_integer(values: object) -> bool:
    """True for an Arrow integer column (not dictionary-encoded)."""
    return isinstance(values, pa.Array | pa.ChunkedArray) and bool(pa.types.is_integer(values.type))


def primitive(array: pa.Array, dtype: np.dtype[Any]) -> np.ndarray:
    """The value buffer of a fixed-width Arrow array as numpy, without a copy.

    Null slots hold arbitrary values. (pyarrow's own ``to_numpy`` imports pandas.)
    """
    if len(array) == 0:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)


def valid(array: pa.Array) -> np.ndarray:
    """True where the Arrow array holds a value (not null)."""
    if array.null_count == 0 or array.buffers()[0] is None:
        return np.ones(len(array), dtype=bool)
    # The validity bitmap unpacked by numpy (least significant bit first, as Arrow stores it):
    # no pyarrow.compute, whose import costs a noticeable share of a short check.
    bits = np.unpackbits(np.frombuffer(array.buffers()[0], dtype=np.uint8), bitorder="little")
    flags: np.ndarray = bits[array.offset : array.offset + len(array)].astype(bool)
    return flags


def as_numpy(array: pa.Array) -> np.ndarray:
    """An Arrow array as pyarrow's ``to_numpy(zero_copy_only=False)`` gives it (numbers, with
    NaN for nulls of numbers; text as objects, None for nulls), which imports pandas (0.3 s of
    a short check) for every type: numbers, booleans and dictionary text here from the buffers;
    other types through pyarrow."""
    kind = array.type
    if pa.types.is_floating(kind) and kind.bit_width == 64:
        return arrow_floats(array)
    if pa.types.is_integer(kind):
        numbers = primitive(array, _integers(kind))
        return np.where(valid(array), numbers, np.nan) if array.null_count else numbers
    if pa.types.is_boolean(kind) and not array.null_count and len(array):
        bits = np.unpackbits(np.frombuffer(array.buffers()[1], dtype=np.uint8), bitorder="little")
        return bits[array.offset : array.offset + len(array)].astype(bool)
    if pa.types.is_dictionary(kind) and is_arrow_text(array):
        entries = np.array([*array.dictionary.to_pylist(), None], dtype=object)
        indices = array.indices
        codes = primitive(indices, np.dtype(f"i{indices.type.bit_width // 8}"))
        if indices.null_count:
            codes = np.where(valid(indices), codes, len(entries) - 1)
        return np.asarray(entries[codes], dtype=object)
    return np.asarray(array.to_numpy(zero_copy_only=False))


def arrow_floats(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A float64 Arrow column as numpy, nulls as NaN."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    parts = []
    for chunk in chunks:
        part = primitive(chunk, np.dtype(np.float64))
        if chunk.null_count:
            part = np.where(valid(chunk), part, np.nan)
        parts.append(part)
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.float64)
