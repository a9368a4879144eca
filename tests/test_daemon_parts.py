"""The daemon's pure parts: schedules, timeouts and the results store (no threads, no processes)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from driftmon import config
from driftmon.daemon import ResultsStore, cron_trigger, crontab_weekdays, period_s, timeout_s
from driftmon.evaluate import ERROR, OK, FeatureResult, MonitorResult

BASE = """
defaults: {{schedule: {schedule}}}
monitors:
  - name: a
    reference: {{type: file, path: ref.csv}}
    live: {{type: file, path: live.csv}}
    features: {features}
  - name: b
    labels: {{team: x}}
    reference: {{type: file, path: ref.csv}}
    live: {{type: file, path: live.csv}}
    features: [x]
"""


def load(schedule: str = "1m", features: str = "[x, y]") -> config.Config:
    text = BASE.format(schedule=schedule, features=features)
    return config.loads(text, Path("/tmp/driftmon-test.yaml"), {})


def outcome(name: str, features: tuple[str, ...] = ("x", "y"), *, error: str | None = None) -> MonitorResult:
    return MonitorResult(
        monitor=name,
        status=ERROR if error else OK,
        error=error,
        features=tuple(
            FeatureResult(
                f, "numeric", 10, 10, 0.0, {"kl": 0.1, "js": 0.01}, {"kl": OK, "js": OK}, {"js": (0.05, 0.1)}, True
            )
            for f in ([] if error else features)
        ),
        started_at=100.0,
        duration_s=1.0,
    )


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


def test_results_store_keeps_results_of_unchanged_monitors_and_trims_changed_ones() -> None:
    """On reconfigure: unchanged keep their state, changed keep counters and still-configured
    features only, removed vanish, and a result of a replaced config is dropped."""
    store = ResultsStore()
    first = load()
    a, b = first.monitors
    store.configure(first.monitors, {"a": 60.0, "b": 60.0}, at=1.0)
    assert store.record(a, outcome("a"), ended_at=101.0) is not None
    assert store.record(b, outcome("b", ("x",)), ended_at=101.0) is not None
    version = store.snapshot().version

    second = load(features="[x, z]")
    new_a = second.monitor("a")
    assert second.monitor("b") == b and new_a != a
    store.configure([new_a], {"a": 60.0}, at=2.0)  # b removed, a changed
    snapshot = store.snapshot()
    assert snapshot.version > version
    (state,) = snapshot.monitors
    assert state.name == "a" and state.evaluations == 1
    assert state.scored is not None
    assert [f.feature for f in state.scored.features] == ["x"]  # y left the config
    assert store.record(a, outcome("a"), ended_at=102.0) is None  # the old config's late result
    assert store.record(new_a, outcome("a", error="gone"), ended_at=103.0) is not None
    state = store.snapshot().monitors[0]
    assert (state.evaluations, state.failures, state.last_success_s) == (2, 1, 101.0)
    assert state.latest is not None and not state.latest.ok
    assert state.scored is not None and state.scored.ok  # failure keeps the last scores


def test_a_failed_reload_only_flips_the_reload_gauge() -> None:
    """reload_failed keeps monitors and the last success time, and marks the reload failed."""
    store = ResultsStore()
    store.configure(load().monitors, {"a": 60.0, "b": 60.0}, at=5.0)
    before = store.snapshot()
    store.reload_failed()
    after = store.snapshot()
    assert after.monitors == before.monitors
    assert (after.reload_successful, after.reload_success_s) == (False, 5.0)
