"""The one small interface every source type implements.

A source turns its config into histograms for one side of a monitor:

- ``profile(rules)``: the reference side; the bins are derived from the data here;
- ``count(specs)``: the live side; counts in bins that come from the reference.

A source of raw rows (files) reads and bins them itself, and also hands out its rows as
batches (:class:`RowSource`); a source that can count where the data lives (a histogram
file, SQL, Spark) asks the engine, so only counts travel.

Every source is opened for one evaluation at one evaluation time ``now`` (UTC): a
``window: {column, last}`` keeps the rows with ``now - last <= column < now``, and path
templates (``{now:%Y/%m/%d}``, ``{start:...}``, ``{end:...}``) are filled from it.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from driftmon._imports import lazy_import
from driftmon.durations import SECOND, YEAR, bounded, parse_duration
from driftmon.errors import DataError, EmptyWindow
from driftmon.histogram import BinningRule, BinSpec, Histogram

if TYPE_CHECKING:
    from typing import TypeAlias

    import pandas as pd
    import pyarrow as pa

    from driftmon.segments import Segmentation, SegmentedHistogram, SegmentedProfile
    from driftmon.sources.file_cache import FileCounts

    Batch: TypeAlias = "pd.DataFrame | pa.Table | pa.RecordBatch"
else:
    pd = lazy_import("pandas")  # ~0.3 s to import; Parquet sources never need it


class Window(BaseModel):
    """Only the rows whose ``column`` lies in the last ``last`` before the evaluation time."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    column: str = Field(min_length=1, description="the timestamp column (naive timestamps are UTC)")
    last: bounded(SECOND, 100 * YEAR, "1h") = Field(  # type: ignore[valid-type]
        description="how far back from the evaluation time: 15m, 1h, 1d (rows with now - last <= column < now)",
    )

    @property
    def seconds(self) -> float:
        return parse_duration(self.last)

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """``(start, end)`` in UTC: the window keeps ``start <= column < end``."""
        end = now.astimezone(UTC)
        return end - timedelta(seconds=self.seconds), end

    def describe(self, now: datetime) -> str:
        start, end = self.bounds(now)
        return f"window {self.column} in [{start:%Y-%m-%dT%H:%M:%SZ}, {end:%Y-%m-%dT%H:%M:%SZ})"


def as_time(now: datetime | float | None) -> datetime:
    """An evaluation time as an aware UTC datetime (a float is Unix time; None is now)."""
    if now is None:
        return datetime.now(UTC)
    if isinstance(now, int | float):
        return datetime.fromtimestamp(now, UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def epoch_ns(values: pd.Series) -> np.ndarray:
    """Timestamps as int64 nanoseconds since the epoch (UTC); null or unparsable -> int64 min.

    Datetimes (naive ones are taken as UTC), ISO 8601 strings and dates are accepted;
    numbers are Unix seconds.
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        stamps = pd.to_datetime(values, unit="s", utc=True, errors="coerce")
    else:
        stamps = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    result: np.ndarray = stamps.dt.as_unit("ns").to_numpy(dtype="int64", na_value=np.iinfo(np.int64).min)
    return result


@dataclass(frozen=True, slots=True)
class Probe:
    """What ``driftmon validate --sources`` saw of a source, without binning anything.

    ``found``: a few words (files, rows where cheap); ``columns``: each requested
    feature's type as the source sees it (``?`` where it cannot tell without reading).
    """

    found: str
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Columns:
    """A side's columns and their types as its source sees them without reading rows (the
    schema check of :mod:`driftmon.schema`).

    ``types``: each column's distinct type names (Arrow, numpy or SQL spelling; several when
    the side's files disagree, ``()`` when the type cannot be told); ``where``: for a type
    name seen in only some files, the first such file. ``complete``: every column of the
    data is listed (False: only the features, as in a histogram file). ``lacking``: a column
    that some of the side's files lack, with how many of ``files`` and the first such file.
    """

    types: Mapping[str, tuple[str, ...]]
    complete: bool = True
    lacking: Mapping[str, tuple[int, str]] = field(default_factory=dict)
    files: int = 1
    where: Mapping[tuple[str, str], str] = field(default_factory=dict)


def file_identity(path: str) -> str:
    """What tells one version of a file from another: path, device, inode, size, mtime, ctime.

    Same size and mtime do not mean same content (a rewrite can keep both, and mtime can be
    set back); a rename-replace changes the inode, any write or utime changes the ctime.
    """
    stat = os.stat(path)
    return f"{path}:{stat.st_dev}:{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}"


class Source(ABC):
    """One side (reference or live) of a monitor's data, opened for one evaluation time."""

    Config: ClassVar[type[BaseModel]]

    def __init__(self, config: Any, base_dir: Path, now: datetime | float | None = None) -> None:
        self.config = config
        self.base_dir = base_dir
        self.now = as_time(now)

    @property
    def window(self) -> Window | None:
        """The configured live window, if the source type has one."""
        window = getattr(self.config, "window", None)
        return window if isinstance(window, Window) else None

    def no_rows(self) -> EmptyWindow:
        """The error for a window that selected no rows (never silently "no data")."""
        assert self.window is not None
        return EmptyWindow(f"{self.describe()}: the {self.window.describe(self.now)} selected no rows")

    def newest(self) -> float | None:
        """The newest time of the live data (Unix seconds): the newest window-column time in
        the window, or the newest file's modification time; None when the source cannot tell
        or holds nothing (for the freshness check)."""
        return None

    def probe(self, columns: Sequence[str]) -> Probe:
        """Open the source and check that ``columns`` are there, reading no more than metadata or
        a first block; a SourceError or DataError (naming the nearest columns) if unusable."""
        raise NotImplementedError(f"{type(self).__name__} cannot be probed")

    def columns(self) -> Columns | None:
        """Every column of the data and its type, from metadata or a first block at most (the
        schema check); None when the source type cannot tell."""
        return None

    @abstractmethod
    def describe(self) -> str:
        """Where the data is, in the user's words (a path, a table), for messages."""

    @abstractmethod
    def fingerprint(self) -> str:
        """A string that changes whenever the data may have changed (drives caching)."""

    @abstractmethod
    def profile(self, rules: Sequence[BinningRule]) -> dict[str, Histogram]:
        """Reference histograms, with bins derived from this data per rule."""

    def profile_and_count(
        self, rules: Sequence[BinningRule], live: Source
    ) -> tuple[dict[str, Histogram], dict[str, Histogram]] | None:
        """This source as the reference profiled and ``live`` counted over its bins in one stream
        of tasks, where the pair allows it; None otherwise (then :meth:`profile`, then :meth:`count`)."""
        return None

    @abstractmethod
    def count(self, specs: Mapping[str, BinSpec], cache: FileCounts | None = None) -> dict[str, Histogram]:
        """Live histograms over the given bins (one per feature name in ``specs``).

        ``cache``: the daemon's live-file cache for this evaluation; a source that reads files
        counts a file unchanged since its last evaluation from it, the others ignore it.
        """

    def profile_segments(self, rules: Sequence[BinningRule], by: Sequence[str], top: int) -> SegmentedProfile:
        """Reference histograms per segment (:mod:`driftmon.segments`): the ``top`` values of
        ``by``, bins derived from all rows; a DataError for a source that cannot split rows."""
        raise self._no_segments()

    def count_segments(
        self, specs: Mapping[str, BinSpec], segmentation: Segmentation, cache: FileCounts | None = None
    ) -> dict[str, SegmentedHistogram]:
        """Live histograms per segment of ``segmentation``, in the same pass as the total
        (``cache``: as :meth:`count`'s)."""
        raise self._no_segments()

    def _no_segments(self) -> DataError:
        kind = getattr(self.config, "type", type(self).__name__)
        return DataError(
            f"{self.describe()}: a {kind} source holds no rows to split by segment; "
            "segments need a file, sql or spark source on both sides"
        )

    def sample(
        self, columns: Sequence[str], size: int, seed: int, kinds: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """A uniform sample of at most ``size`` rows of ``columns`` (name -> values), the same
        rows for the same ``seed`` while the data is unchanged (`driftmon.sources.sample`).
        ``kinds``: a column's kind where known (``categorical`` ones come back as text)."""
        raise DataError(f"{self.describe()}: holds counts, not rows; joint drift (multivariate:) needs rows")


class RowSource(Source):
    """A source of raw rows, which it bins itself (``profile`` and ``count``) and also hands
    out as batches (the rows of some columns, for a caller that wants them unbinned)."""

    @abstractmethod
    def batches(self, columns: Sequence[str]) -> Iterator[Batch]:
        """The rows of ``columns``, in batches of bounded size; a missing column is a DataError."""

    def sample(
        self, columns: Sequence[str], size: int, seed: int, kinds: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """The rows read once, batch by batch, through a seeded reservoir (bounded memory)."""
        from driftmon.sources.sample import sample_batches

        batches = ({name: batch[name].to_numpy() for name in columns} for batch in self.batches(columns))
        return sample_batches(batches, size, seed)


class SourceContext:
    """Prefixes a DataError raised while binning with the source it came from."""

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> Literal[False]:
        if isinstance(error, DataError) and not str(error).startswith(self.where):
            raise DataError(f"{self.where}: {error}") from None
        return False
