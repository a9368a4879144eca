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
