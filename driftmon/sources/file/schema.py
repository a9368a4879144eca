"""The columns of a side's files, for the schema check (:mod:`driftmon.schema`).

Each file's columns come from its format (Parquet metadata, the header and first block of
CSV and JSON Lines) and are kept per file version (:func:`~driftmon.sources.base.file_identity`,
so a rewrite is read again): an evaluation over a thousand unchanged files reads none.
The files' columns are merged into one :class:`~driftmon.sources.base.Columns`: every column
any file has, the distinct types it has in them, and the files that lack it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from driftmon.sources.base import Columns, file_identity
from driftmon.sources.file.columns import reading_errors

if TYPE_CHECKING:
    from driftmon.sources.file.format import FileFormat, Reading

KEPT = 10_000  # file versions whose columns are remembered (least recently used dropped)
_kept: OrderedDict[str, dict[str, str | None]] = OrderedDict()
_lock = threading.Lock()


def file_columns(path: str, fmt: FileFormat, reading: Reading) -> dict[str, str | None]:
    """One file's columns and types (None: not told), read once per file version and format
    options; errors name the file."""
    key = (
        f"{file_identity(path)}|{fmt.name}|{reading.config.delimiter}|{reading.config.header}|{reading.config.columns}"
    )
    with _lock:
        found = _kept.get(key)
        if found is not None:
            _kept.move_to_end(key)
            return found
    with reading_errors(path, fmt.name):
        found = fmt.columns(path, reading)
    with _lock:
        _kept[key] = found
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return found


def merge_columns(per_file: Sequence[tuple[str, dict[str, str | None]]]) -> Columns:
    """The side's columns over its files: each column's distinct known types (in file order),
    where a type first appears when not every file has it, and the files lacking a column."""
    types: dict[str, list[str]] = {}
    holders: dict[str, int] = {}
    where: dict[tuple[str, str], str] = {}
    for path, columns in per_file:
        for name, kind in columns.items():
            holders[name] = holders.get(name, 0) + 1
            known = types.setdefault(name, [])
            if kind is not None and kind not in known:
                known.append(kind)
                where[(name, kind)] = path
    lacking: dict[str, tuple[int, str]] = {}
    for name, held in holders.items():
        if held < len(per_file):
            first = next(path for path, columns in per_file if name not in columns)
            lacking[name] = (len(per_file) - held, first)
    return Columns(
        types={name: tuple(kinds) for name, kinds in types.items()},
        lacking=lacking,
        files=len(per_file),
        where=where,
    )
