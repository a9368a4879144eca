"""JSON Lines through DuckDB's reader (the ``duckdb`` extra): half pyarrow.json's CPU per row.

pyarrow.json stays the reference reader: it types each key from the file's first block and
refuses a later value of another type, and `jsonl.py` then re-reads the file with pandas.
DuckDB's reader is used only where it gives the same columns:

- the wanted keys must all be in the first block, typed by pyarrow as int64, double, string,
  bool or timestamp (a nested value, a key missing or all null there: pyarrow reads the file);
- DuckDB is given those types, integers read as DOUBLE (DuckDB would round 1.5 into an integer
  column) and turned back into int64 per batch when every value is a whole number, times read
  as text and parsed by Arrow's ISO 8601 parser (the one pyarrow.json uses: a zone offset is
  applied and dropped);
- text that looks nested (``{...}``, ``[...]``), malformed JSON, or a value DuckDB cannot convert
  raises `Unsuitable`, and the caller reads the rest of the file with pyarrow, skipping the rows
  already given.

Where a later row holds another type, DuckDB converts it and pyarrow hands the file to pandas;
the counts agree (tests/test_sources_jsonl.py): the text ``"2.5"`` in a numeric key counts as 2.5,
the number 5 in a text key as ``5``, text in a numeric key is refused the same way. Three things
differ: a JSON boolean in a text key is ``true`` through DuckDB and ``True`` through pandas;
``1`` or ``"true"`` in a boolean key counts as true through DuckDB and as its own value through
pandas; a reference's numeric key with later text or booleans is inferred numeric through
DuckDB and categorical through pandas (set ``kind:`` to decide).

Nothing here reaches the network: DuckDB's extension auto-install and auto-load are off (its
JSON reader is built into the wheels).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping

import numpy as np
import pyarrow as pa

# What DuckDB is asked for, by the type pyarrow gave the key in the first block.
SQL_TYPES: dict[pa.DataType, str] = {
    pa.int64(): "DOUBLE",
    pa.float64(): "DOUBLE",
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.timestamp("s"): "VARCHAR",  # ISO 8601 text: parsed by Arrow, as pyarrow.json parses it
}
# Doubles hold every integer up to 2**53 exactly; beyond it a value stays a double.
EXACT_INTEGERS = float(2**53)


class Unsuitable(Exception):
    """The rest of this file needs pyarrow's reader (the message says why)."""


def available() -> bool:
    """Whether the duckdb package is installed (without importing it)."""
    return importlib.util.find_spec("duckdb") is not None


def suitable(types: Mapping[str, pa.DataType]) -> bool:
    """Whether every wanted key has a type DuckDB reads the same way."""
    return bool(types) and all(kind in SQL_TYPES for kind in types.values())


def batches(path: str, types: Mapping[str, pa.DataType], rows: int, threads: int) -> Iterator[dict[str, pa.Array]]:
    """The file's ``types`` keys as Arrow arrays of about ``rows`` rows, typed as pyarrow types them.

    Raises `Unsuitable` (perhaps after some batches) where the rest needs pyarrow's reader.
    """
    try:
        import duckdb
    except ImportError as error:  # installed but broken (a missing shared library): pyarrow reads the file
        raise Unsuitable(f"duckdb cannot be imported: {error}") from None

    settings: dict[str, str | bool | int | float | list[str]] = {
        "threads": threads,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    connection = duckdb.connect(":memory:", config=settings)
    try:
        wanted = ", ".join(f"{_literal(name)}: '{SQL_TYPES[kind]}'" for name, kind in types.items())
        selected = ", ".join(_identifier(name) for name in types)
        query = (
            f"SELECT {selected} FROM read_json({_literal(path)}, format = 'newline_delimited', columns = {{{wanted}}})"
        )
        try:
            relation = connection.sql(query)
            # fetch_record_batch is the older name of to_arrow_reader (it warns in DuckDB 2.0)
            reader = (getattr(relation, "to_arrow_reader", None) or relation.fetch_record_batch)(rows)
            for batch in reader:
                yield {name: _typed(batch.column(i), kind) for i, (name, kind) in enumerate(types.items())}
        # DuckDB's errors come out of the Arrow stream as Arrow's (an OSError); pyarrow's reader
        # then meets the same row and says what is wrong in its words.
        except (duckdb.Error, pa.ArrowException, OSError) as error:
            raise Unsuitable(str(error)) from None
    finally:
        connection.close()


def _typed(values: pa.Array, kind: pa.DataType) -> pa.Array:
    """A DuckDB column as pyarrow would have typed it; `Unsuitable` where pyarrow would not."""
    if kind == pa.int64():
        numbers = values.drop_null().to_numpy()
        if np.all((np.trunc(numbers) == numbers) & (np.abs(numbers) < EXACT_INTEGERS)):  # NaN, inf: False
            return values.cast(pa.int64())
        return values  # a fraction, NaN: pyarrow refuses the block and pandas reads the key as floats
    if pa.types.is_string(kind) or pa.types.is_timestamp(kind):
        if not pa.types.is_string(values.type):
            values = values.cast(pa.string())
        if _looks_nested(values):
            raise Unsuitable("a text key holds a JSON object or array")
    if pa.types.is_timestamp(kind):
        return _times(values, kind)
    return values


def _times(text: pa.Array, kind: pa.TimestampType) -> pa.Array:
    """ISO 8601 text as pyarrow.json reads it: naive, or with a zone offset applied and dropped."""
    try:
        return text.cast(kind)  # no zone offset in any value
    except pa.ArrowInvalid:
        pass
    try:
        return text.cast(pa.timestamp(kind.unit, tz="UTC")).cast(kind)  # an offset in every value
    except pa.ArrowInvalid:
        raise Unsuitable("a time key holds text Arrow's ISO 8601 parser does not read alike") from None


def _looks_nested(text: pa.Array) -> bool:
    """Whether any value starts with ``{`` or ``[`` (DuckDB gives nested JSON as its text).

    Reads each value's first byte from the offsets (a regex over the values cost 0.4 s on
    five 1 M-row columns). A null slot is looked at too: at worst pyarrow reads the file.
    """
    offsets_buffer, data_buffer = text.buffers()[1:3]
    if data_buffer is None or len(text) == 0:
        return False
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32, count=len(text) + 1, offset=text.offset * 4)
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    starts = offsets[:-1][offsets[1:] > offsets[:-1]]
    first = data[starts]
    return bool(np.any((first == ord("{")) | (first == ord("["))))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
