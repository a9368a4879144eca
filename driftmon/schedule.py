"""Schedules: a monitor's trigger, its period and its evaluation timeout.

Crontab expressions are UTC with Sunday = 0. The config validates a cron schedule with the
same code the daemon schedules it with, so ``validate`` refuses every expression ``run``
could not schedule, including ones that never fire (``0 0 30 2 *``). ``check`` takes the
period from here for the schedule-interval metric; APScheduler is imported only for a
trigger, so an interval schedule's period needs none of it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.triggers.base import BaseTrigger
    from apscheduler.triggers.cron import CronTrigger

    from driftmon.config import MonitorConfig

MAX_TIMEOUT_S = 300.0
TIMEOUT_SHARE = 0.8  # default timeout: this share of the schedule's period

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekday(text: str) -> int:
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text) % 7
    if len(text) >= 3 and text[:3].lower() in _WEEKDAYS:
        return _WEEKDAYS.index(text[:3].lower())
    raise ValueError(f"bad day of week {text!r} (0-7 or sun-sat)")


def crontab_weekdays(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday) as APScheduler 3 day names.

    APScheduler 3 counts 0 as Monday, so ``1-5`` would silently mean Tuesday to Saturday;
    names are unambiguous.
    """
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for item in field.split(","):
        body, _, step_text = item.partition("/")
        if step_text and not (step_text.isdigit() and int(step_text) > 0):
            raise ValueError(f"bad step {step_text!r} in day of week {field!r} (a whole number above 0)")
        step = int(step_text) if step_text else 1
        if body == "*":
            first, last = 0, 6
        elif "-" in body:
            start, end = body.split("-", 1)
            first, last = _weekday(start), _weekday(end)
            if end.strip() == "7":
                last = 7  # 5-7: Friday to Sunday
        else:
            first = _weekday(body)
            last = 6 if step_text else first
        days.update(day % 7 for day in range(first, last + 1, step))
    if not days:
        raise ValueError(f"day of week {field!r} names no day (ranges run from low to high)")
    return ",".join(_WEEKDAYS[day] for day in sorted(days))


def cron_trigger(expression: str, jitter_s: float | None = None) -> CronTrigger:
    """A UTC trigger for a five-field crontab with the usual (Sunday = 0) weekdays.

    A malformed expression is a ValueError saying what is wrong.
    """
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab has five fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_weekdays(weekday),
        timezone=UTC,
        jitter=math.ceil(jitter_s) if jitter_s else None,
    )


def cron_period_s(expression: str, now: datetime | None = None) -> float | None:
    """The gap in seconds between the expression's next two runs after ``now``; None if it
    does not fire twice (ValueError if malformed)."""
    trigger = cron_trigger(expression)
    now = now or datetime.now(UTC)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first) if first is not None else None
    if first is None or second is None:
        return None
    gap: float = (second - first).total_seconds()
    return gap


def check_cron(expression: str) -> float:
    """The period of a valid crontab that fires, else a ValueError for the config's message."""
    try:
        period = cron_period_s(expression)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{expression!r} is not a valid crontab expression: {error}") from None
    if period is None:
        raise ValueError(f"{expression!r} never fires (no such date in the calendar)")
    return period


def trigger(monitor: MonitorConfig) -> BaseTrigger:
    """The monitor's schedule as an APScheduler trigger (UTC)."""
    if monitor.schedule.cron is not None:
        return cron_trigger(monitor.schedule.cron, monitor.jitter_s)
    from apscheduler.triggers.interval import IntervalTrigger

    assert monitor.schedule.interval_s is not None
    jitter = math.ceil(monitor.jitter_s) if monitor.jitter_s else None
    return IntervalTrigger(seconds=monitor.schedule.interval_s, jitter=jitter, timezone=UTC)


def period_s(monitor: MonitorConfig, now: datetime | None = None) -> float:
    """The schedule's period in seconds; for cron, the gap between its next two runs after
    ``now`` (0 if it does not fire twice)."""
    if monitor.schedule.interval_s is not None:
        return float(monitor.schedule.interval_s)
    assert monitor.schedule.cron is not None
    return cron_period_s(monitor.schedule.cron, now) or 0.0


def timeout_s(monitor: MonitorConfig, period: float) -> float:
    """How long one evaluation may run: the configured ``timeout``, else 80% of the
    period capped at 5 minutes."""
    if monitor.timeout_s is not None:
        return float(monitor.timeout_s)
    return min(TIMEOUT_SHARE * period, MAX_TIMEOUT_S) if period > 0 else MAX_TIMEOUT_S
