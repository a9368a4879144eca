"""The one error hierarchy: every message names the file, key, monitor or feature at fault.

Also the small helpers those messages share: `plural` counts, `did_you_mean` near misses.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

SIMILAR = 0.6  # difflib's ratio from which a name counts as a misspelling of another


class DriftmonError(Exception):
    """Base of every error driftmon reports to a user (never shown as a traceback)."""


class ConfigError(DriftmonError):
    """The configuration file is unreadable or invalid."""


class SourceError(DriftmonError):
    """A source could not be read: missing file, empty glob, unreachable database."""


class DataError(DriftmonError):
    """The data read is unusable: wrong types, bad counts, mismatched bins."""


class EmptyWindow(DataError):
    """A source's time window selected no rows (a moving reference's: not there yet)."""


def did_you_mean(name: str, known: Sequence[str], limit: int = 3) -> list[str]:
    """At most ``limit`` known names nearest to ``name``, nearest first: those equal to it but
    for case, else similar spellings (difflib ratio at least `SIMILAR`). The one rule behind
    every "did you mean" of the config, the sources and the data."""
    same_case = [k for k in known if k.lower() == name.lower()]
    if same_case:
        return same_case[:limit]
    lowered = {k.lower(): k for k in reversed(known)}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=limit, cutoff=SIMILAR)
    return [lowered[c] for c in close]


def plural(count: int, noun: str) -> str:
    """``1 monitor``, ``2 monitors``, ``0 problems``: counts in messages."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
