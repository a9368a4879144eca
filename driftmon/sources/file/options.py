"""The options of a ``type: file`` source: what the user writes under it, validated."""

from __future__ import annotations

import codecs
import string
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from driftmon.sources.base import Window
from driftmon.sources.file import jsonl_duckdb

# The formats' names, as the schema lists them; each is one entry of `formats.FORMATS`.
Format = Literal["csv", "parquet", "jsonl"]
JsonReader = Literal["auto", "duckdb", "pyarrow"]
TEMPLATE_FIELDS = frozenset({"now", "start", "end"})


def template_fields(path: str) -> set[str]:
    """The ``{name:format}`` fields a path template uses (ValueError if malformed)."""
    return {name for _, name, _, _ in string.Formatter().parse(path) if name is not None}


class FileSourceConfig(BaseModel):
    """Rows in files; ``path`` may be a glob or a list of them, relative to the config file."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    type: Literal["file"]
    path: str | list[str] = Field(
        description="a file, a glob (`data/live/*.parquet`) or a list of them; "
        "`{now:%Y/%m/%d}`, `{start:...}`, `{end:...}` are filled with the evaluation time "
        "and the window's bounds (UTC); `{{`/`}}` are literal braces"
    )
    format: Format | None = Field(default=None, description="csv, parquet or jsonl; by default from each file's suffix")
    window: Window | None = Field(
        default=None, description="keep only the rows of the last `last` (e.g. 1h) by `column`"
    )
    delimiter: str = Field(
        default=",", min_length=1, max_length=1, description='CSV: the field separator, one character (`";"`, `"\\t"`)'
    )
    na_values: list[str] = Field(
        default_factory=lambda: [""],
        description="CSV: the field values read as null (missing); by default only the empty field, "
        "so `n/a`, `NULL`, `NA` are values unless listed",
    )
    encoding: str = Field(default="utf-8", description="CSV: the text encoding (utf-8, latin-1, cp1252, utf-16...)")
    header: bool = Field(
        default=True,
        description="CSV: the first row names the columns; false: every row is data, and the columns are "
        "`columns:` or column_1, column_2...",
    )
    columns: list[str] | None = Field(
        default=None, description="CSV with `header: false`: the columns' names, in file order"
    )
    json_reader: JsonReader = Field(
        default="auto",
        description="JSON Lines: `auto` reads through DuckDB when the duckdb extra is installed (half the CPU) "
        "and where it types the keys as pyarrow would, else pyarrow; `duckdb` requires the extra; "
        "`pyarrow` never uses DuckDB",
    )

    @field_validator("json_reader")
    @classmethod
    def _duckdb_installed(cls, reader: JsonReader) -> JsonReader:
        if reader == "duckdb" and not jsonl_duckdb.available():
            raise ValueError("`json_reader: duckdb` needs the duckdb package (pip install 'driftmon-exporter[duckdb]')")
        return reader

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, encoding: str) -> str:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ValueError(f"unknown encoding {encoding!r} (e.g. utf-8, latin-1, cp1252, utf-16)") from None
        try:
            "a".encode(encoding)  # rot13, base64, zlib: codecs that do not turn text into bytes
        except LookupError:
            raise ValueError(f"{encoding!r} is not a text encoding (e.g. utf-8, latin-1, cp1252, utf-16)") from None
        return encoding

    @model_validator(mode="after")
    def _columns_need_no_header(self) -> FileSourceConfig:
        if self.columns is not None:
            if self.header:
                raise ValueError("`columns:` names the columns of a file without a header row; add `header: false`")
            if len(set(self.columns)) != len(self.columns) or not all(self.columns):
                raise ValueError("`columns:` must be distinct, non-empty names")
        return self

    @field_validator("path")
    @classmethod
    def _templates(cls, path: str | list[str]) -> str | list[str]:
        paths = [path] if isinstance(path, str) else path
        if not paths:
            raise ValueError("path must name at least one file or glob")
        sample = datetime(2001, 2, 3, 4, 5, 6)
        for item in paths:
            try:
                names = template_fields(item)
            except ValueError as error:
                raise ValueError(f"bad path template {item!r}: {error} (write {{{{ for a brace)") from None
            unknown = names - TEMPLATE_FIELDS
            if unknown:
                raise ValueError(
                    f"unknown field {sorted(unknown)[0]!r} in path template {item!r} "
                    "(known: now, start, end, e.g. {now:%Y/%m/%d})"
                )
            try:
                item.format(now=sample, start=sample, end=sample)
            except (ValueError, IndexError) as error:
                raise ValueError(f"bad path template {item!r}: {error}") from None
        return path

    @model_validator(mode="after")
    def _window_fields(self) -> FileSourceConfig:
        paths = [self.path] if isinstance(self.path, str) else self.path
        if self.window is None and any(template_fields(p) & {"start", "end"} for p in paths):
            raise ValueError("{start} and {end} in a path need a `window:` on the source")
        return self
