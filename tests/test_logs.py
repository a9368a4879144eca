"""Log lines: one per event, logfmt or JSON, with the event's fields."""

from __future__ import annotations

import io
import json
import logging

import pytest

from driftmon import logs


@pytest.fixture
def capture() -> io.StringIO:
    stream = io.StringIO()
    yield stream
    logging.getLogger().handlers.clear()


def test_logfmt_line_has_ts_level_msg_then_fields(capture: io.StringIO) -> None:
    """A logfmt line starts ts, level, msg and quotes values with spaces, quotes or newlines."""
    logs.setup("info", "logfmt", capture)
    logs.event(
        logging.getLogger("driftmon.daemon"),
        "evaluated",
        monitor="m-1",
        status="ok",
        duration_s=0.0312345678,
        features=3,
        error='bad "x"\nmore',
        skipped=None,
    )
    line = capture.getvalue()
    assert line.count("\n") == 1
    assert line.startswith("ts=") and " level=info msg=evaluated monitor=m-1 status=ok " in line
    assert "duration_s=0.0312346 features=3" in line
    assert 'error="bad \\"x\\"\\nmore"' in line
    assert "skipped" not in line


def test_json_line_is_one_object_with_the_same_keys(capture: io.StringIO) -> None:
    """The JSON format writes one object per line with ts, level, msg and the fields."""
    logs.setup("debug", "json", capture)
    logs.event(
        logging.getLogger("driftmon.daemon"),
        "config reloaded",
        level=logging.WARNING,
        added=["a", "b"],
        ratio=float("inf"),
    )
    document = json.loads(capture.getvalue())
    assert document["level"] == "warn" and document["msg"] == "config reloaded"
    assert document["added"] == ["a", "b"] and document["ratio"] == "+Inf"


def test_level_filters_events(capture: io.StringIO) -> None:
    """Events below --log.level are not written."""
    logs.setup("warn", "logfmt", capture)
    logger = logging.getLogger("driftmon.daemon")
    logs.event(logger, "hidden")
    logs.event(logger, "shown", level=logging.ERROR)
    assert "hidden" not in capture.getvalue() and "msg=shown" in capture.getvalue()
