"""Schedules: one crontab parser for `validate` and `run` (Sunday = 0, refusals that say why), periods and timeouts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from driftmon import config
from driftmon.schedule import check_cron, cron_period_s, cron_trigger, crontab_weekdays, period_s, timeout_s

BASE = """
defaults: {{schedule: {schedule}}}
monitors:
  - name: a
    reference: {{type: file, path: ref.csv}}
    live: {{type: file, path: live.csv}}
    features: {features}
"""


def load(schedule: str = "1m", features: str = "[x, y]") -> config.Config:
    text = BASE.format(schedule=schedule, features=features)
    return config.loads(text, Path("/tmp/driftmon-test.yaml"), {})


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


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("*", "*"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("5-7", "sun,fri,sat"),
        ("*/2", "sun,tue,thu,sat"),
        ("mon,wed", "mon,wed"),
        ("1-5/2", "mon,wed,fri"),
    ],
)
def test_crontab_weekdays_use_the_sunday_zero_convention(field: str, names: str) -> None:
    """Crontab day-of-week numbers (0 and 7 are Sunday) become names APScheduler 3 cannot misread."""
    assert crontab_weekdays(field) == names


def test_a_weekday_cron_fires_on_monday() -> None:
    """`0 9 * * 1` fires on a Monday at 09:00 UTC (APScheduler 3 alone would pick Tuesday)."""
    sunday = datetime(2024, 6, 2, 12, 0, tzinfo=UTC)
    fire = cron_trigger("0 9 * * 1").get_next_fire_time(None, sunday)
    assert fire == datetime(2024, 6, 3, 9, 0, tzinfo=UTC)


def test_period_and_default_timeout() -> None:
    """The period is the interval or the gap between two cron runs; the timeout defaults to
    80% of it, at most 5 minutes, unless set."""
    interval = load("30s").monitor("a")
    assert period_s(interval) == 30.0
    assert timeout_s(interval, 30.0) == pytest.approx(24.0)
    hourly = load('{cron: "0 * * * *"}').monitor("a")
    assert period_s(hourly, datetime(2024, 6, 2, 12, 30, tzinfo=UTC)) == 3600.0
    assert timeout_s(hourly, 3600.0) == 300.0
    explicit = load("1h", features="[x]\n    timeout: 2h").monitor("a")
    assert timeout_s(explicit, 3600.0) == 7200.0
