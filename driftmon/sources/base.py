"""The one small interface every source type implements.

A source turns its config into histograms for one side of a monitor:

- ``profile(rules)``: the reference side; the bins are derived from the data here;
- ``count(specs)``: the live side; counts in bins that come from the reference.

A source of raw rows subclasses :class:`RowSource` and only yields pandas batches; a
source that can count where the data lives (a histogram file, SQL, Spark) implements
``profile`` and ``count`` itself, so only counts travel.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import pandas as pd
from pydantic import BaseModel

from driftmon.errors import DataError
from driftmon.histogram import (
    BinningRule,
    BinSpec,
    Histogram,
    bin_values,
    derive_spec,
    empty,
)


class Source(ABC):
    """One side (reference or live) of a monitor's data."""

    Config: ClassVar[type[BaseModel]]

    def __init__(self, config: Any, base_dir: Path) -> None:
        self.config = config
        self.base_dir = base_dir

    @abstractmethod
    def describe(self) -> str:
        """Where the data is, in the user's words (a path, a table), for messages."""

    @abstractmethod
    def fingerprint(self) -> str:
        """A string that changes whenever the data may have changed (drives caching)."""

    @abstractmethod
    def profile(self, rules: Sequence[BinningRule]) -> dict[str, Histogram]:
        """Reference histograms, with bins derived from this data per rule."""

    @abstractmethod
    def count(self, specs: Mapping[str, BinSpec]) -> dict[str, Histogram]:
        """Live histograms over the given bins (one per feature name in ``specs``)."""


class RowSource(Source):
    """A source of raw rows; driftmon bins them, batch by batch."""

    @abstractmethod
    def batches(self, columns: Sequence[str]) -> Iterator[pd.DataFrame]:
        """The rows of ``columns``, in batches of bounded size; a missing column is a DataError."""

    def profile(self, rules: Sequence[BinningRule]) -> dict[str, Histogram]:
        # Quantile edges need the whole reference column; the reference is read once
        # and cached by the caller.
        columns = [rule.name for rule in rules]
        frames = list(self.batches(columns))
        whole = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
        result: dict[str, Histogram] = {}
        for rule in rules:
            with self._context():
                spec = derive_spec(rule, whole[rule.name])
                result[rule.name] = bin_values(spec, whole[rule.name], rule.name)
        return result

    def count(self, specs: Mapping[str, BinSpec]) -> dict[str, Histogram]:
        result = {name: empty(spec) for name, spec in specs.items()}
        for batch in self.batches(list(specs)):
            for name, spec in specs.items():
                with self._context():
                    result[name] = result[name].merge(bin_values(spec, batch[name], name))
        return result

    def _context(self) -> _Context:
        return _Context(self.describe())


class _Context:
    """Prefixes a DataError raised while binning with the source it came from."""

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> Literal[False]:
        if isinstance(error, DataError) and not str(error).startswith(self.where):
            raise DataError(f"{self.where}: {error}") from None
        return False
