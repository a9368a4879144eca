"""The one error hierarchy: every message names the file, key, monitor or feature at fault."""


class DriftmonError(Exception):
    """Base of every error driftmon reports to a user (never shown as a traceback)."""


class ConfigError(DriftmonError):
    """The configuration file is unreadable or invalid."""


class SourceError(DriftmonError):
    """A source could not be read: missing file, empty glob, unreachable database."""


class DataError(DriftmonError):
    """The data read is unusable: wrong types, bad counts, mismatched bins."""


def plural(count: int, noun: str) -> str:
    """``1 monitor``, ``2 monitors``, ``0 problems``: counts in messages."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
