"""JSON Lines: through DuckDB's reader where it reads the file as pyarrow would (the ``duckdb``
extra, half the CPU: see `jsonl_duckdb`), else pyarrow.json, else pandas (a key whose type
changes midway, JSON pyarrow refuses); each reader takes over from the row the one before
stopped at.
"""

from __future__ import annotations

import glob
import io
import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.json as pajson

from driftmon._imports import lazy_import
from driftmon.errors import DataError
from driftmon.histogram import TASK_THREADS
from driftmon.sources.file import jsonl_duckdb
from driftmon.sources.file.columns import (
    BATCH_ROWS,
    READ_BLOCK_BYTES,
    check_present,
    known_type,
    refuse_nested,
    rows_in,
    type_name,
)
from driftmon.sources.file.format import Batch, FileFormat, Reading
from driftmon.sources.file.jsonl_nulls import SafeJsonLines, safe_head, safe_stream

if TYPE_CHECKING:
    import pandas as pd

    from driftmon.histogram import Column
    from driftmon.sources.file.options import JsonReader
else:
    pd = lazy_import("pandas")  # ~0.3 s to import; only a file pyarrow refuses needs it


class JsonLines(FileFormat):
    """JSON Lines files, through the reader ``json_reader`` picks (see the module docstring)."""

    name = "jsonl"
    suffixes = (".jsonl", ".ndjson", ".json")

    def batches(self, path: str, columns: Sequence[str], reading: Reading) -> Iterator[Batch]:
        yield from jsonl_batches(path, columns, reading.config.json_reader)

    def probe(self, path: str, columns: Sequence[str], reading: Reading) -> tuple[dict[str, str], int | None]:
        first = next(iter(_pyarrow_batches(path, columns)), {})  # its first block only
        present = _first_schema(path).names  # a key the first block lacks was filled with nulls: say so
        found = {name: type_name(first[name]) if name in first else "?" for name in columns}
        return {name: kind if name in present else "? (not in the first block)" for name, kind in found.items()}, None

    def columns(self, path: str, reading: Reading) -> dict[str, str | None]:
        try:
            return {field.name: known_type(field.type) for field in _first_schema(path)}
        except pa.ArrowInvalid:  # a key whose type changes within the first block: its keys, types unknown
            return dict.fromkeys(_first_keys(path))

    def probe_note(self, paths: Sequence[str], columns: Sequence[str], reading: Reading) -> str:
        return f"JSON Lines read by {_reader_of(paths[0], columns, reading.config.json_reader)}"


def jsonl_batches(path: str, columns: Sequence[str], reader: JsonReader = "auto") -> Iterator[Batch]:
    """Arrow columns of a JSON Lines file: through DuckDB where it reads them as pyarrow would
    (see `jsonl_duckdb`), else pyarrow.json, else pandas (a key whose type changes midway, JSON
    pyarrow refuses); each reader skips the rows already given."""
    done = 0
    # DuckDB expands *, ? and [...] in a path it is given: a file named `d[1].jsonl` would read `d1.jsonl`.
    if reader != "pyarrow" and jsonl_duckdb.available() and not glob.has_magic(path):
        types = _first_types(path, columns)
        if types is not None and jsonl_duckdb.suitable(types):
            try:
                for chunk in jsonl_duckdb.batches(path, types, BATCH_ROWS, TASK_THREADS):
                    done += rows_in(chunk)
                    yield dict(chunk)
                return
            except jsonl_duckdb.Unsuitable:
                pass
    yield from _pyarrow_batches(path, columns, done)


def _reader_of(path: str, columns: Sequence[str], reader: JsonReader) -> str:
    """Which reader takes the file (see `jsonl_batches`), in words."""
    if reader == "pyarrow":
        return "pyarrow (json_reader: pyarrow)"
    if not jsonl_duckdb.available():
        return "pyarrow (the duckdb extra is not installed)"
    if glob.has_magic(path):
        return "pyarrow (DuckDB would read * ? [ ] in the file's name as a pattern)"
    types = _first_types(path, columns)
    if types is None or not jsonl_duckdb.suitable(types):
        return "pyarrow (a key is missing, null or nested in the first block)"
    return "DuckDB"


def _first_types(path: str, columns: Sequence[str]) -> dict[str, pa.DataType] | None:
    """The wanted keys' types as pyarrow infers them from the first block (None: a key is not there)."""
    try:
        schema = _first_schema(path)
    except pa.ArrowInvalid:
        return None
    if not all(name in schema.names for name in columns):
        return None
    return {name: schema.field(name).type for name in columns}


def _first_keys(path: str, lines: int = 1_000) -> list[str]:
    """The keys of the first ``lines`` objects, in order of appearance (lines that are not objects skipped)."""
    keys: dict[str, None] = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for _, line in zip(range(lines), handle, strict=False):
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict):
                keys.update(dict.fromkeys(str(key) for key in row))
    return list(keys)


def _first_schema(path: str) -> pa.Schema:
    """The keys and types pyarrow infers from a JSON Lines file's first block (none for an empty file)."""
    head = pa.BufferReader(safe_head(path, READ_BLOCK_BYTES))  # never the file itself: see `jsonl_nulls`
    reader = pajson.open_json(head, read_options=pajson.ReadOptions(block_size=READ_BLOCK_BYTES))
    try:
        return reader.read_next_batch().schema
    except StopIteration:
        return pa.schema([])


def _pyarrow_batches(path: str, columns: Sequence[str], skip: int = 0) -> Iterator[Batch]:
    """The file through pyarrow.json, then pandas where pyarrow refuses, from row ``skip`` on."""
    done = skip
    try:
        with safe_stream(path) as stream:  # null lines as {}: pyarrow crashes on some (see `jsonl_nulls`)
            for chunk in _arrow_batches(path, stream, columns, skip):
                done += rows_in(chunk)
                yield chunk
        return
    except pa.ArrowInvalid:
        pass
    for frame in _jsonl_frames(path, columns):
        if done >= len(frame):
            done -= len(frame)
            continue
        frame, done = frame.iloc[done:], 0
        yield {name: frame[name] for name in columns}


def _arrow_batches(path: str, stream: pa.NativeFile, columns: Sequence[str], skip: int) -> Iterator[Batch]:
    """The stream through pyarrow.json, from row ``skip`` on (an ArrowInvalid if it refuses it)."""
    reader = pajson.open_json(stream, read_options=pajson.ReadOptions(block_size=READ_BLOCK_BYTES))
    seen: set[str] = set()
    for batch in reader:
        present = set(batch.schema.names)
        seen.update(c for c in columns if c in present)
        for name in columns:
            if name in present and pa.types.is_nested(batch.schema.field(name).type):
                nested = "object" if pa.types.is_struct(batch.schema.field(name).type) else "array"
                refuse_nested(path, name, f"a JSON {nested}")
        if skip >= batch.num_rows:
            skip -= batch.num_rows
            continue
        batch, skip = batch.slice(skip), 0
        for offset in range(0, batch.num_rows, BATCH_ROWS):
            part = batch.slice(offset, BATCH_ROWS)
            chunk: dict[str, Column] = {c: part.column(c) if c in present else pa.nulls(part.num_rows) for c in columns}
            yield chunk
    check_present(path, columns, sorted(seen))


def _jsonl_frames(path: str, columns: Sequence[str]) -> Iterator[pd.DataFrame]:
    seen: set[str] = set()
    rows = 0
    # the same bytes pyarrow read (null lines as {}), decoded as pandas decodes a path
    text = io.TextIOWrapper(io.BufferedReader(SafeJsonLines(path)), encoding="utf-8", newline="")
    # pandas-stubs take no text wrapper here; pandas does (it reads any file-like object)
    with text, pd.read_json(text, lines=True, chunksize=BATCH_ROWS, dtype=False) as reader:  # type: ignore[call-overload]
        chunks = iter(reader)
        while True:
            try:
                chunk = next(chunks)
            except StopIteration:
                break
            except TypeError:  # pandas' words for a line holding a number, text, true/false or an array
                raise _not_an_object(path, rows) from None
            rows += len(chunk)
            seen.update(c for c in columns if c in chunk.columns)
            yield _flat(path, chunk.reindex(columns=list(columns)))
    check_present(path, columns, sorted(seen))


def _not_an_object(path: str, skip: int) -> DataError:
    """A DataError naming the first line past the first ``skip`` rows that is not a JSON object."""
    with open(path, encoding="utf-8", errors="replace", newline="") as file:
        number = 0
        for number, line in enumerate(file, start=1):
            if number <= skip or not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if not isinstance(value, dict) and value is not None:
                kind = {bool: "true or false", str: "text", list: "an array"}.get(type(value), "a number")
                return DataError(f"cannot read {path} as JSON Lines: line {number} holds {kind}, not an object")
    return DataError(f"cannot read {path} as JSON Lines: a line holds a value that is not an object")


def _flat(path: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` if no column holds dicts or lists (JSON objects and arrays), else a DataError.

    Only columns whose values pandas cannot type (``mixed``) are looked at value by value.
    """
    for name in frame.columns:
        values = frame[name]
        if values.dtype != object or pd.api.types.infer_dtype(values, skipna=True) not in ("mixed", "mixed-integer"):
            continue
        nested = values.map(lambda v: isinstance(v, dict | list))
        if nested.any():
            example = values[nested].iloc[0]
            refuse_nested(path, str(name), f"a JSON {'object' if isinstance(example, dict) else 'array'}")
    return frame
