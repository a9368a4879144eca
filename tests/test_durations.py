"""Durations: parsing, and bounds whose messages say what to write."""

from __future__ import annotations

import pytest

from driftmon.durations import DAY, SECOND, YEAR, check_duration, format_duration, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("1d", 86400), ("250ms", 0.25)])
def test_durations_parse_to_seconds(text: str, seconds: float) -> None:
    """Prometheus-style durations add up their parts in seconds."""
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (1, "1s"), (90, "90s"), (86400, "1d"), (YEAR, "365d"), (0.5, "500ms")])
def test_format_duration_uses_the_largest_whole_unit(seconds: float, text: str) -> None:
    """Bounds are shown the way a user writes them."""
    assert format_duration(seconds) == text


@pytest.mark.parametrize("text", ["0s", "99999999999999d", "366d", "9" * 400 + "d", "500ms"])
def test_out_of_range_durations_are_refused_in_the_users_words(text: str) -> None:
    """Zero, sub-second and overflowing durations are refused naming the allowed range."""
    with pytest.raises(ValueError, match=r"out of range: use a duration like 30s, 5m, 1h between 1s and 365d"):
        check_duration(text, SECOND, YEAR)


def test_malformed_durations_name_the_form() -> None:
    """Text that is no duration at all says what a duration looks like."""
    with pytest.raises(ValueError, match=r"'soon' is not a duration like 30s, 5m, 1h between 1s and 1d"):
        check_duration("soon", SECOND, DAY)
    assert check_duration("1d", SECOND, DAY) == DAY
