"""``type: file``: raw rows from CSV, Parquet or JSON Lines files (a path or a glob)."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from driftmon.errors import DataError, SourceError
from driftmon.sources.base import RowSource

Format = Literal["csv", "parquet", "jsonl"]
SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
BATCH_ROWS = 1_000_000


class FileSourceConfig(BaseModel):
    """Rows in files; ``path`` may be a glob, relative to the config file."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["file"]
    path: str = Field(description="a file or a glob (`data/live/*.parquet`)")
    format: Format | None = Field(
        default=None, description="csv, parquet or jsonl; by default from each file's suffix"
    )


class FileSource(RowSource):
    """Reads only the configured features' columns, in batches of at most 1 M rows."""

    Config = FileSourceConfig

    def __init__(self, config: FileSourceConfig, base_dir: Path) -> None:
        super().__init__(config, base_dir)
        self.config: FileSourceConfig = config
        self.pattern = str(base_dir / config.path)

    def describe(self) -> str:
        return self.pattern

    def paths(self) -> list[str]:
        """The files the path or glob names now, sorted; none is a SourceError."""
        if glob.has_magic(self.pattern):
            found = sorted(p for p in glob.glob(self.pattern, recursive=True) if os.path.isfile(p))
            if not found:
                raise SourceError(f"no file matches {self.pattern}")
            return found
        if not os.path.isfile(self.pattern):
            raise SourceError(f"file {self.pattern} does not exist")
        return [self.pattern]

    def fingerprint(self) -> str:
        parts = []
        for path in self.paths():
            stat = os.stat(path)
            parts.append(f"{path}:{stat.st_mtime_ns}:{stat.st_size}")
        return "|".join(parts)

    def batches(self, columns: Sequence[str]) -> Iterator[pd.DataFrame]:
        for path in self.paths():
            fmt = self.config.format or self._format_of(path)
            try:
                if fmt == "parquet":
                    yield from _parquet_batches(path, columns)
                elif fmt == "csv":
                    yield from _csv_batches(path, columns)
                else:
                    yield from _jsonl_batches(path, columns)
            except FileNotFoundError:
                raise SourceError(f"file {path} vanished while being read") from None
            except (DataError, SourceError):
                raise
            except (OSError, ValueError, pa.ArrowException) as error:
                raise DataError(f"cannot read {path} as {fmt}: {error}") from None

    def _format_of(self, path: str) -> Format:
        suffix = Path(path).suffix.lower()
        try:
            return SUFFIXES[suffix]
        except KeyError:
            raise SourceError(
                f"{path}: cannot tell the format from the suffix {suffix!r}; "
                "set `format: csv|parquet|jsonl` on the source"
            ) from None


def _absent(path: str, columns: Sequence[str], present: Sequence[str]) -> None:
    missing = [c for c in columns if c not in present]
    if missing:
        shown = ", ".join(list(present)[:20])
        raise DataError(
            f"column {', '.join(repr(c) for c in missing)} not found in {path} "
            f"(its columns: {shown})"
        )


def _parquet_batches(path: str, columns: Sequence[str]) -> Iterator[pd.DataFrame]:
    parquet = pq.ParquetFile(path)
    _absent(path, columns, parquet.schema_arrow.names)
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=list(columns)):
        yield batch.to_pandas()


def _csv_batches(path: str, columns: Sequence[str]) -> Iterator[pd.DataFrame]:
    header = pd.read_csv(path, nrows=0).columns
    _absent(path, columns, list(header))
    with pd.read_csv(path, usecols=list(columns), chunksize=BATCH_ROWS) as reader:
        yield from reader


def _jsonl_batches(path: str, columns: Sequence[str]) -> Iterator[pd.DataFrame]:
    seen: set[str] = set()
    with pd.read_json(path, lines=True, chunksize=BATCH_ROWS, dtype=False) as reader:
        for chunk in reader:
            seen.update(c for c in columns if c in chunk.columns)
            yield chunk.reindex(columns=list(columns))
    _absent(path, columns, sorted(seen))
