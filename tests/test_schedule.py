"""Crontab schedules: one parser for `validate` and `run`, Sunday = 0, refusals that say why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from driftmon.schedule import check_cron, cron_period_s, cron_trigger


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("0 0 * * mon-", "bad day of week ''"),
        ("0 0 * * 1/0", "bad step '0'"),
        ("0 0 * * 1/x", "bad step 'x'"),
        ("*/0 * * * *", "Increment must be higher than 0"),
        ("60 * * * *", "higher than the maximum value"),
        ("0 0 * *", "a crontab has five fields"),
        ("0 0 * * * *", "a crontab has five fields"),
        ("0 0 * * xyz", "bad day of week 'xyz'"),
    ],
)
def test_malformed_crontabs_are_value_errors_saying_why(expression: str, reason: str) -> None:
    """Every malformed expression is a ValueError naming it and the fault, never another exception."""
    with pytest.raises(ValueError, match="not a valid crontab expression") as caught:
        check_cron(expression)
    assert reason in str(caught.value)
    assert repr(expression) in str(caught.value)


def test_a_crontab_that_never_fires_is_refused() -> None:
    """February 30th never comes: the schedule would never run, so it is an error."""
    with pytest.raises(ValueError, match=r"'0 0 30 2 \*' never fires"):
        check_cron("0 0 30 2 *")


def test_period_is_the_gap_between_the_next_two_runs() -> None:
    """Every five minutes is 300 s; a Monday-to-Friday cron has a one-day gap midweek."""
    assert check_cron("*/5 * * * *") == 300.0
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    assert cron_period_s("0 9 * * 1-5", wednesday) == 86400.0
    monday = cron_trigger("0 9 * * 1").get_next_fire_time(None, wednesday)
    assert monday is not None and monday.strftime("%a %H:%M") == "Mon 09:00"
