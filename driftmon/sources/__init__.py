"""Source types, one module each; ``type:`` in the config picks one from SOURCE_TYPES."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from driftmon.sources.base import RowSource, Source
from driftmon.sources.file import FileSource
from driftmon.sources.histogram_file import HistogramSource

SOURCE_TYPES: dict[str, type[Source]] = {
    "file": FileSource,
    "histogram": HistogramSource,
}


def open_source(config: Any, base_dir: Path) -> Source:
    """The source for a validated source config (its ``type`` picks the class)."""
    return SOURCE_TYPES[config.type](config, base_dir)


__all__ = ["SOURCE_TYPES", "RowSource", "Source", "open_source"]
