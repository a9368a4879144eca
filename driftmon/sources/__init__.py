"""Source types, one module each; ``type:`` in the config picks one from SOURCE_TYPES."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from driftmon.sources.base import RowSource, Source
from driftmon.sources.file import FileSource
from driftmon.sources.histogram_file import HistogramSource
from driftmon.sources.prometheus import PrometheusSource
from driftmon.sources.spark import SparkSource
from driftmon.sources.sql import SqlSource

SOURCE_TYPES: dict[str, type[Source]] = {
    "file": FileSource,
    "histogram": HistogramSource,
    "sql": SqlSource,
    "spark": SparkSource,
    "prometheus": PrometheusSource,
}


def open_source(config: Any, base_dir: Path, now: datetime | float | None = None) -> Source:
    """The source for a validated source config (its ``type`` picks the class).

    ``now`` is the evaluation time (an aware datetime or Unix time; default: the current
    time): windows and path templates are computed from it.
    """
    return SOURCE_TYPES[config.type](config, base_dir, now)


__all__ = ["SOURCE_TYPES", "RowSource", "Source", "open_source"]
