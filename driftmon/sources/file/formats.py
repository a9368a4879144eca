"""The file formats, by name: ``format:`` (or a file's suffix) picks one from FORMATS.

A new format is one module with one :class:`~driftmon.sources.file.format.FileFormat` object,
its entry here and its name in ``options.Format`` (the schema's list; a test keeps the two equal).
"""

from __future__ import annotations

from pathlib import Path
from typing import get_args

from driftmon.errors import SourceError
from driftmon.sources.file.csv import Csv
from driftmon.sources.file.format import FileFormat
from driftmon.sources.file.jsonl import JsonLines
from driftmon.sources.file.options import Format
from driftmon.sources.file.parquet import Parquet

FORMATS: dict[str, FileFormat] = {fmt.name: fmt for fmt in (Csv(), Parquet(), JsonLines())}
SUFFIXES: dict[str, FileFormat] = {suffix: fmt for fmt in FORMATS.values() for suffix in fmt.suffixes}


def format_of(path: str, configured: str | None) -> FileFormat:
    """The format ``format:`` names, else the one the file's suffix says; a SourceError if neither."""
    if configured is not None:
        return FORMATS[configured]
    suffix = Path(path).suffix.lower()
    try:
        return SUFFIXES[suffix]
    except KeyError:
        raise SourceError(
            f"{path}: cannot tell the format from the suffix {suffix!r}; "
            f"set `format: {'|'.join(get_args(Format))}` on the source"
        ) from None
