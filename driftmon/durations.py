"""Durations as the config writes them: ``30s``, ``5m``, ``1h30m``, ``1d`` (Prometheus style).

Every duration in the config has bounds (:func:`bounded`): a value the scheduler, a timer
or a timestamp cannot hold (``99999999999999d``, ``0s``) is a config error at load time,
so ``validate`` refuses whatever ``run`` could not schedule.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import AfterValidator, Field

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)(ms|s|m|h|d|w))+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
PATTERN = _DURATION.pattern

SECOND = 1.0
DAY = 86400.0
YEAR = 365 * DAY


def parse_duration(text: str) -> float:
    """Seconds in a duration: ``30s``, ``5m``, ``1h30m``, ``1d``; anything else is a ValueError.

    Absurdly long numbers parse to ``inf``; :func:`check_duration` refuses them.
    """
    if not isinstance(text, str) or not _DURATION.match(text.strip()):
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h or 1d")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(text.strip()))


def format_duration(seconds: float) -> str:
    """``86400`` -> ``1d``, ``90`` -> ``90s``, ``0.5`` -> ``500ms``: the largest whole unit."""
    if seconds == 0:
        return "0s"
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and float(seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{seconds * 1000:g}ms"


def check_duration(text: str, low_s: float, high_s: float) -> float:
    """Seconds in ``text`` if it is a duration with ``low_s <= seconds <= high_s``, else a
    ValueError in the user's words (``a duration like 30s, 5m, 1h between 1s and 365d``)."""
    wanted = f"a duration like 30s, 5m, 1h between {format_duration(low_s)} and {format_duration(high_s)}"
    try:
        seconds = parse_duration(text)
    except ValueError:
        if isinstance(text, str) and text.strip().startswith("-"):
            raise ValueError(f"{_shown(text)} is negative: use {wanted}") from None
        raise ValueError(f"{_shown(text)} is not {wanted}") from None
    if not (math.isfinite(seconds) and low_s <= seconds <= high_s):
        raise ValueError(f"{_shown(text)} is out of range: use {wanted}")
    return seconds


def bounded(low_s: float, high_s: float, example: str = "5m") -> Any:
    """A config field type: a duration between ``low_s`` and ``high_s`` seconds.

    The JSON Schema keeps the pattern (editors check the form); the bounds are checked here.
    """

    def _check(text: str) -> str:
        check_duration(text, low_s, high_s)
        return text

    return Annotated[
        str,
        AfterValidator(_check),
        Field(json_schema_extra={"pattern": PATTERN}, examples=[example]),
    ]


def _shown(text: Any) -> str:
    from driftmon import redact

    return redact.clipped(repr(text), 40)


# A config field holding a duration of at least 1 s and at most a year (schedules, timeouts).
Duration = bounded(SECOND, YEAR)
