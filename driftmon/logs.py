"""Logging for the daemon: one line per event, logfmt or JSON, on stderr.

Events carry their fields as ``extra={"fields": {...}}`` (see :func:`event`), so a line
reads ``ts=2025-01-31T12:00:00.123Z level=info msg="evaluated" monitor=credit-model
status=ok duration_s=0.031 features=5 alerts=0``, or the same keys as one JSON object.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TextIO

from driftmon import redact

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}
_LEVEL_NAMES = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warn", logging.ERROR: "error"}
# Keys every line starts with, in this order; an event's own fields follow.
_HEAD = ("ts", "level", "msg")
_LOGFMT_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def event(logger: logging.Logger, msg: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``msg`` with ``fields`` as key=value pairs (None values are left out)."""
    if logger.isEnabledFor(level):
        kept = {k: v for k, v in fields.items() if v is not None}
        logger.log(level, msg, extra={"fields": kept})


def setup(level: str = "info", fmt: str = "logfmt", stream: TextIO | None = None) -> None:
    """Send every log record to ``stream`` (stderr) as logfmt or JSON, at ``level`` and above.

    APScheduler's own messages are kept to errors (the daemon logs each evaluation, skip
    and miss itself); at ``debug`` everything shows.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown log level {level!r} (levels: {', '.join(LEVELS)})")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(LEVELS[level])
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if level == "debug" else logging.ERROR)
    # An exception nobody caught still leaves as one redacted log line, never a raw traceback.
    sys.excepthook = _log_uncaught
    threading.excepthook = lambda args: _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def _log_uncaught(kind: type[BaseException], error: BaseException | None, trace: TracebackType | None) -> None:
    logging.getLogger("driftmon").error("uncaught exception", exc_info=(kind, error, trace) if error else None)


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ordered key/value pairs of one record: ts, level, msg, then the event's fields,
    every text passed through :func:`driftmon.redact.text` (secrets masked, length capped)."""
    fields: dict[str, Any] = {
        "ts": _timestamp(record.created),
        "level": _LEVEL_NAMES.get(record.levelno, record.levelname.lower()),
        "msg": redact.text(record.getMessage()),
    }
    if not record.name.startswith("driftmon"):
        fields["logger"] = record.name
    extra = getattr(record, "fields", None)
    if isinstance(extra, Mapping):
        for key, value in extra.items():
            fields[key if key not in _HEAD else f"field_{key}"] = redact.values(_plain(value))
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        fields.setdefault("error", redact.text(f"{type(error).__name__}: {error}"))
        fields["stack"] = redact.text(logging.Formatter().formatException(record.exc_info), limit=8 * redact.MAX_CHARS)
    return fields


def _plain(value: Any) -> Any:
    """Numbers, booleans, strings and lists as they are; anything else (paths, errors) as text."""
    if value is None or isinstance(value, bool | int | float | str | list | tuple | set | frozenset):
        return sorted(value, key=str) if isinstance(value, set | frozenset) else value
    return str(value)


class LogfmtFormatter(logging.Formatter):
    """``key=value`` pairs on one line; values with spaces, quotes or ``=`` are quoted."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{key}={_logfmt_value(value)}" for key, value in record_fields(record).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line, the same keys as logfmt."""

    def format(self, record: logging.LogRecord) -> str:
        fields = {key: _json_value(value) for key, value in record_fields(record).items()}
        return json.dumps(fields, ensure_ascii=False, allow_nan=False)


def _timestamp(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        return f"{value:.6g}"
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(item) for item in value)
    return str(value)


def _logfmt_value(value: Any) -> str:
    text = _text(value)
    if text and not any(c in text for c in ' ="\\') and text.isprintable():
        return text
    escaped = text.translate(_LOGFMT_ESCAPES)
    return f'"{escaped}"'


def _json_value(value: Any) -> Any:
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _text(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_value(item) for item in value]
    return str(value)
