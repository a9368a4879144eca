"""The daemon's pure parts: schedules and timeouts (no threads, no processes)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from driftmon import config
from driftmon.daemon import cron_trigger, crontab_weekdays, period_s, timeout_s

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
