"""``type: histogram``: a histogram file (:mod:`driftmon.histogram_file`), for either side."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from driftmon import histogram_file
from driftmon.errors import DataError, did_you_mean
from driftmon.histogram import BinningRule, BinSpec, Histogram
from driftmon.sources.base import Columns, Probe, Source

if TYPE_CHECKING:
    from driftmon.sources.file_cache import FileCounts


class HistogramSourceConfig(BaseModel):
    """A ``driftmon.histograms/v1`` JSON file, e.g. written by ``driftmon profile``."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    type: Literal["histogram"]
    path: str


class HistogramSource(Source):
    """Counts read from a histogram file: nothing is binned here."""

    Config = HistogramSourceConfig

    def __init__(self, config: HistogramSourceConfig, base_dir: Path, now: datetime | float | None = None) -> None:
        super().__init__(config, base_dir, now)
        self.config: HistogramSourceConfig = config
        self.path = (base_dir / config.path).resolve()
        self._read: dict[str, Histogram] | None = None  # what columns() read, for the next read

    def _load(self) -> dict[str, Histogram]:
        """The file's histograms; the schema check's read is handed on once, so the file is read
        once per evaluation (a named pipe can be read only once: a second read waited forever)."""
        histograms, self._read = self._read, None
        return histograms if histograms is not None else histogram_file.load(self.path)

    def describe(self) -> str:
        return str(self.path)

    def fingerprint(self) -> str:
        return hashlib.sha256(histogram_file.read_bytes(self.path)).hexdigest()

    def profile(self, rules: Sequence[BinningRule]) -> dict[str, Histogram]:
        histograms = self._load()
        return {rule.name: self._feature(histograms, rule.name) for rule in rules}

    def count(self, specs: Mapping[str, BinSpec], cache: FileCounts | None = None) -> dict[str, Histogram]:
        histograms = self._load()
        return {name: self._feature(histograms, name) for name in specs}

    def probe(self, columns: Sequence[str]) -> Probe:
        """The file parses (docs/sources.md) and holds a histogram per feature."""
        histograms = histogram_file.load(self.path)
        kinds = {name: str(self._feature(histograms, name).kind) for name in columns}
        return Probe(f"histogram file, {len(histograms)} features", kinds)

    def columns(self) -> Columns:
        """The features the file holds (a histogram file keeps no other columns, nor types)."""
        self._read = histogram_file.load(self.path)
        return Columns(dict.fromkeys(self._read, ()), complete=False)

    def newest(self) -> float | None:
        """The file's modification time (a histogram file is rewritten with each window)."""
        return os.stat(self.path).st_mtime

    def _feature(self, histograms: Mapping[str, Histogram], name: str) -> Histogram:
        try:
            return histograms[name]
        except KeyError:
            known = ", ".join(sorted(histograms)) or "none"
            near = did_you_mean(name, sorted(histograms))
            hint = f"; did you mean {' or '.join(repr(n) for n in near)}?" if near else ""
            raise DataError(
                f"{self.path}: no histogram for feature {name!r}{hint} (features in the file: {known})"
            ) from None
