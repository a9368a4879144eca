"""Durations as the config writes them: ``30s``, ``5m``, ``1h30m``, ``1d`` (Prometheus style)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d|w))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
PATTERN = _DURATION.pattern

# A config field holding a duration (validated against PATTERN).
Duration = Annotated[str, Field(pattern=PATTERN, examples=["30s", "5m", "1h"])]


def parse_duration(text: str) -> float:
    """Seconds in a duration: ``30s``, ``5m``, ``1h30m``, ``1d``; anything else is a ValueError."""
    if not isinstance(text, str) or not _DURATION.match(text.strip()):
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h or 1d")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(text.strip()))
