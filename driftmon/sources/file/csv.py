"""CSV: streamed by pyarrow's reader in READ_BLOCK_BYTES blocks, handed on as Arrow arrays of
at most BATCH_ROWS rows (no pandas), with the source's ``delimiter``, ``na_values`` (by
default only the empty field is null), ``encoding`` and ``header``; the parser's failures
said in the user's terms (a ragged row with its line, bad text with its byte offset, a
header that looks split by another delimiter).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import pyarrow as pa
import pyarrow.csv as pacsv

from driftmon import redact
from driftmon.errors import DataError
from driftmon.sources.file.columns import (
    BATCH_ROWS,
    READ_BLOCK_BYTES,
    check_present,
    clip,
    known_type,
    rows_in,
    type_name,
)
from driftmon.sources.file.format import Batch, FileFormat, Reading

if TYPE_CHECKING:
    from driftmon.histogram import Column
    from driftmon.sources.file.options import FileSourceConfig

# Delimiters a header line is checked for when a column is missing (a wrong `delimiter`).
DELIMITERS = (",", ";", "\t", "|")


class Csv(FileFormat):
    """CSV files, read with the source's CSV options (see the module docstring)."""

    name = "csv"
    suffixes = (".csv",)

    def batches(self, path: str, columns: Sequence[str], reading: Reading) -> Iterator[Batch]:
        window = reading.window
        yield from coalesced(csv_batches(path, columns, reading.config, [window.column] if window else []))

    def probe(self, path: str, columns: Sequence[str], reading: Reading) -> tuple[dict[str, str], int | None]:
        first = next(iter(csv_batches(path, columns, reading.config)), {})
        return {name: type_name(first[name]) if name in first else "?" for name in columns}, None

    def columns(self, path: str, reading: Reading) -> dict[str, str | None]:
        names, _ = _csv_header(path, reading.config)
        present = list(dict.fromkeys(names))
        first = next(iter(_csv_reader(path, present, names, reading.config, {})), None)
        if first is None:  # a header and no rows: the names, no types
            return dict.fromkeys(present)
        return {name: known_type(first.schema.field(name).type) for name in present}


def _csv_header(path: str, options: FileSourceConfig) -> tuple[list[str], str]:
    """The file's column names (from its first line, or ``columns`` / column_N) and that line."""
    with open(path, "rb") as handle:
        start = handle.read(1 << 20)
    encoding = "utf-8-sig" if codecs.lookup(options.encoding).name == "utf-8" else options.encoding
    try:  # decoded before splitting: in UTF-16 a newline is two bytes
        text = codecs.getincrementaldecoder(encoding)().decode(start, final=len(start) < 1 << 20)
    except UnicodeDecodeError:
        raise _encoding_error(path, options.encoding) from None
    line = text.split("\n", 1)[0].rstrip("\r")
    try:
        fields = next(csv.reader([line], delimiter=options.delimiter), [])
    except csv.Error:  # a lone carriage return inside an unquoted field of the first line (fuzz finding)
        raise DataError(f"cannot read {path} as csv: its first line holds a carriage return inside a field") from None
    if options.header:
        return fields, line
    if options.columns is not None and len(options.columns) != len(fields):
        raise DataError(
            f"{path} has {len(fields)} columns but `columns:` names {len(options.columns)}; name each column once"
        )
    return list(options.columns or [f"column_{i + 1}" for i in range(len(fields))]), line


def _delimiter_hint(line: str, delimiter: str, names: Sequence[str]) -> str:
    """What to tell a user whose header splits into one field: the delimiter it seems to use."""
    if len(names) != 1:
        return ""
    counts = {d: line.count(d) for d in DELIMITERS if d != delimiter}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        return ""
    shown = "tab" if best == "\t" else repr(best)
    setting = '"\\t"' if best == "\t" else repr(best)
    return (
        f"the header {clip(line, 40)!r} looks {shown}-separated; "
        f"set `delimiter: {setting}` on the source (CSV options: delimiter, na_values, encoding, header)"
    )


_CONVERSION = re.compile(r"In CSV column #(\d+): .*CSV conversion error to (\w+): invalid value '(.*)'", re.S)
_RAGGED = re.compile(r"Expected (\d+) columns, got (\d+)")


class _Retype(Exception):
    """Read the file again with these column types."""

    def __init__(self, types: dict[str, pa.DataType]) -> None:
        self.types = types


def coalesced(chunks: Iterator[dict[str, Column]], rows: int | None = None) -> Iterator[dict[str, Column]]:
    """Batches of about ``rows`` rows from the CSV reader's small ones (a 1 MB block is a few
    thousand rows): binning costs a fixed overhead per call and per column, so 1 M rows in
    200 blocks cost 200 times that (measured on 1 M x 25 CSV: 4.3 s -> 3.5 s for `check`;
    neutral for JSON Lines, which is not coalesced). Arrow columns of the same types are
    concatenated; a change of type (a CSV column retyped midway) or a pandas column ends
    a batch as it is."""
    limit = rows or BATCH_ROWS
    pending: list[dict[str, Column]] = []
    pending_types: dict[str, pa.DataType] = {}
    count = 0

    def joined() -> dict[str, Column]:
        if len(pending) == 1:
            return pending[0]
        return {name: pa.concat_arrays([_contiguous(part[name]) for part in pending]) for name in pending[0]}

    for chunk in chunks:
        types = {name: values.type for name, values in chunk.items() if isinstance(values, pa.Array | pa.ChunkedArray)}
        arrow = len(types) == len(chunk)
        if pending and (not arrow or types != pending_types):
            yield joined()
            pending, count = [], 0
        if not arrow:
            yield chunk
            continue
        pending.append(chunk)
        pending_types = types
        count += rows_in(chunk)
        while count >= limit:  # at most `limit` rows per batch; the rest waits for the next blocks
            whole = {name: cast("pa.Array | pa.ChunkedArray", values) for name, values in joined().items()}
            yield {name: values.slice(0, limit) for name, values in whole.items()}
            count -= limit
            pending = [{name: values.slice(limit) for name, values in whole.items()}] if count else []
    if pending:
        yield joined()


def _contiguous(values: Column) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return pa.concat_arrays(values.chunks) if values.num_chunks != 1 else values.chunk(0)
    return values


def csv_batches(
    path: str, columns: Sequence[str], options: FileSourceConfig, keep_dates: Sequence[str] = ()
) -> Iterator[dict[str, Column]]:
    """Arrow columns of a CSV file, at most BATCH_ROWS rows at a time.

    pyarrow infers each column's type from the first block; when a later block holds a
    value of another type, the file is read again with that column as float64 (a decimal
    after integers) or text, and the rows already handed out are skipped.
    """
    names, line = _csv_header(path, options)
    check_present(path, columns, names, _delimiter_hint(line, options.delimiter, names) if len(names) == 1 else "")
    for name in columns:
        if names.count(name) > 1:
            raise DataError(f"{path}: the file has {names.count(name)} columns named {name!r}; rename them")
    types: dict[str, pa.DataType] = {}
    done = 0
    while True:
        seen = 0
        try:
            for batch in _csv_reader(path, columns, names, options, types):
                dated = [c for c in columns if c not in keep_dates and pa.types.is_temporal(batch.schema.field(c).type)]
                if dated:  # dates stay text, as written (pyarrow would parse ISO dates and times)
                    raise _Retype({**types, **dict.fromkeys(dated, pa.string())})
                start, seen = max(done - seen, 0), seen + batch.num_rows
                for offset in range(start, batch.num_rows, BATCH_ROWS):
                    part = batch.slice(offset, BATCH_ROWS)
                    chunk = {name: part.column(name) for name in columns}
                    _check_text(path, chunk, options)
                    done += part.num_rows
                    yield chunk
            return
        except _Retype as retype:
            types = retype.types
        except pa.ArrowInvalid as error:
            retyped = _retype(str(error), names, types)
            if retyped is None:
                raise _csv_error(path, str(error), columns, names, options) from None
            types = retyped


def _csv_reader(
    path: str,
    columns: Sequence[str],
    names: Sequence[str],
    options: FileSourceConfig,
    types: Mapping[str, pa.DataType],
    on_ragged: Any = None,
) -> pacsv.CSVStreamingReader:
    return pacsv.open_csv(path, **_csv_options(columns, names, options, types, on_ragged))


def _csv_options(
    columns: Sequence[str],
    names: Sequence[str],
    options: FileSourceConfig,
    types: Mapping[str, pa.DataType],
    on_ragged: Any = None,
) -> dict[str, Any]:
    """pyarrow's read, parse and convert options for a source's CSV settings."""
    read = pacsv.ReadOptions(
        block_size=READ_BLOCK_BYTES,
        encoding=options.encoding,
        column_names=None if options.header else list(names),
        use_threads=on_ragged is None,  # a ragged row's line number is only known when reading serially
    )
    parse = pacsv.ParseOptions(delimiter=options.delimiter, invalid_row_handler=on_ragged)
    convert = pacsv.ConvertOptions(
        include_columns=list(columns),
        column_types=dict(types),
        null_values=list(options.na_values),
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
    )
    return {"read_options": read, "parse_options": parse, "convert_options": convert}


def _retype(message: str, names: Sequence[str], types: Mapping[str, pa.DataType]) -> dict[str, pa.DataType] | None:
    """The column types to read again with after a conversion error, or None if not one."""
    match = _CONVERSION.search(message)
    if match is None:
        return None
    index, target, value = int(match.group(1)), match.group(2), match.group(3)
    if index >= len(names):
        return None
    name = names[index]
    try:
        float(value)
        kind = pa.float64() if target.startswith(("int", "uint")) else pa.string()
    except ValueError:
        kind = pa.string()
    if types.get(name) == kind or types.get(name) == pa.string():
        return None
    return {**types, name: kind}


def _csv_error(
    path: str, message: str, columns: Sequence[str], names: Sequence[str], options: FileSourceConfig
) -> DataError:
    """A parser failure in the user's terms: a ragged row with its line, bad text with its byte."""
    if "UTF8" in message or "utf8" in message or "utf-8" in message:
        return _encoding_error(path, options.encoding)
    if _RAGGED.search(message):
        rows: list[Any] = []

        def remember(row: Any) -> str:
            rows.append(row)
            return "error"

        with contextlib.suppress(pa.ArrowInvalid):
            _csv_reader(path, columns, names, options, {}, on_ragged=remember).read_all()
        if rows:
            row = rows[0]
            fields = "field" if row.actual_columns == 1 else "fields"
            line = "" if row.number is None else f"line {row.number} "
            return DataError(
                f"{path}: {line}has {row.actual_columns} {fields} but the header has {row.expected_columns} "
                f"({clip(row.text, 40)!r}); fix the row, or check `delimiter:` and quoting"
            )
    return DataError(f"cannot read {path} as csv: {redact.excerpt(message)}")


def _check_text(path: str, chunk: Mapping[str, Column], options: FileSourceConfig) -> None:
    """Text that is not valid in the encoding comes back as bytes: an error with the offset."""
    for values in chunk.values():
        if isinstance(values, pa.Array | pa.ChunkedArray) and pa.types.is_binary(values.type):
            raise _encoding_error(path, options.encoding)


def _encoding_error(path: str, encoding: str) -> DataError:
    """Where the file stops being valid ``encoding``: byte offset and line, and the key to set."""
    decoder = codecs.getincrementaldecoder("utf-8" if codecs.lookup(encoding).name == "utf-8" else encoding)()
    offset, line = 0, 1
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as error:
                at = max(error.start, 0)
                line += block[:at].count(b"\n")
                return DataError(
                    f"{path}: not valid {encoding} at byte {offset + at} (line {line}, bytes "
                    f"{block[at : at + 4]!r}); set `encoding:` on the source (e.g. latin-1, cp1252, utf-16)"
                )
            offset += len(block)
            line += block.count(b"\n")
    return DataError(f"{path}: cannot be decoded as {encoding}; set `encoding:` on the source")
