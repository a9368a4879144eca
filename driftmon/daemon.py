"""The daemon: schedules evaluations, keeps the results store, reloads, serves HTTP, stops.

- One APScheduler job per monitor (interval or cron, UTC), run once at start, then on
  schedule; coalesced, one instance at a time, on a bounded thread pool.
- Each evaluation runs in its own daemon thread; the job waits at most the monitor's
  timeout (default 80% of the period, at most 5 min). A late evaluation is abandoned and
  counts as a failure, so a hanging source never holds a pool thread or delays the other
  monitors; while it still hangs, that monitor's next runs fail at once instead of piling
  up threads.
- :class:`ResultsStore` swaps in a new immutable :class:`~driftmon.exporter.Snapshot`
  whenever an evaluation ends or the config changes; scrapes read the current one.
- SIGHUP (or ``POST /-/reload``) validates the new config whole before touching
  anything. Unchanged monitors keep their schedule and results; changed ones are
  rescheduled and evaluated at once; removed ones vanish.
- SIGTERM / SIGINT: stop scheduling, give running evaluations until 8 s to finish,
  abandon the rest, exit 0 within 10 s.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from driftmon import __version__, config, logs
from driftmon.config import MonitorConfig
from driftmon.errors import ConfigError
from driftmon.evaluate import CRITICAL, ERROR, WARNING, MonitorResult, ReferenceCache, evaluate, failed
from driftmon.exporter import Exposition, MonitorState, Snapshot
from driftmon.logs import event
from driftmon.shard import Shard, select

log = logging.getLogger("driftmon.daemon")

SHUTDOWN_GRACE_S = 8.0  # running evaluations may finish within this; the process exits by 10 s
MAX_TIMEOUT_S = 300.0
TIMEOUT_SHARE = 0.8  # default timeout: this share of the schedule's period
MAX_WORKERS = 32
_POLL_S = 0.5  # how often a waiting job looks at the stop flag


# ---------------------------------------------------------------------------
# schedules

_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekday(text: str) -> int:
    if text.isdigit() and 0 <= int(text) <= 7:
        return int(text) % 7
    if text[:3].lower() in _WEEKDAYS:
        return _WEEKDAYS.index(text[:3].lower())
    raise ValueError(f"bad day of week {text!r}")


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
    """A UTC trigger for a five-field crontab with the usual (Sunday = 0) weekdays."""
    minute, hour, day, month, weekday = expression.split()
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_weekdays(weekday),
        timezone=UTC,
        jitter=math.ceil(jitter_s) if jitter_s else None,
    )


def check_schedules(cfg: config.Config) -> None:
    """Raise ConfigError if a monitor's cron schedule cannot be turned into a trigger."""
    for monitor in cfg.monitors:
        if monitor.schedule.cron is not None:
            try:
                cron_trigger(monitor.schedule.cron)
            except ValueError as error:
                raise ConfigError(
                    f"{cfg.path}: monitor {monitor.name!r}: schedule {monitor.schedule.cron!r}: {error}"
                ) from None


def trigger(monitor: MonitorConfig) -> BaseTrigger:
    """The monitor's schedule as an APScheduler trigger (UTC)."""
    jitter = math.ceil(monitor.jitter_s) if monitor.jitter_s else None
    if monitor.schedule.cron is not None:
        return cron_trigger(monitor.schedule.cron, monitor.jitter_s)
    assert monitor.schedule.interval_s is not None
    return IntervalTrigger(seconds=monitor.schedule.interval_s, jitter=jitter, timezone=UTC)


def period_s(monitor: MonitorConfig, now: datetime | None = None) -> float:
    """The schedule's period in seconds; for cron, the gap between its next two runs."""
    if monitor.schedule.interval_s is not None:
        return float(monitor.schedule.interval_s)
    assert monitor.schedule.cron is not None
    cron = cron_trigger(monitor.schedule.cron)
    now = now or datetime.now(UTC)
    first = cron.get_next_fire_time(None, now)
    second = cron.get_next_fire_time(first, first) if first is not None else None
    if first is None or second is None:
        return 0.0
    gap: float = (second - first).total_seconds()
    return gap


def timeout_s(monitor: MonitorConfig, period: float) -> float:
    """How long one evaluation may run: the configured ``timeout``, else 80% of the
    period capped at 5 minutes."""
    if monitor.timeout_s is not None:
        return float(monitor.timeout_s)
    return min(TIMEOUT_SHARE * period, MAX_TIMEOUT_S) if period > 0 else MAX_TIMEOUT_S


# ---------------------------------------------------------------------------
# the results store


def _trim(result: MonitorResult | None, monitor: MonitorConfig) -> MonitorResult | None:
    """A changed monitor's previous result, cut to the features and measures it still has
    (kept until its re-evaluation lands, so its series do not blink)."""
    if result is None or result.log_base != monitor.log_base:
        return None  # scores in another unit would be wrong, not stale
    names = {f.name for f in monitor.features}
    measures = set(monitor.measures)
    features = tuple(
        replace(
            feature,
            scores={m: v for m, v in feature.scores.items() if m in measures},
            severity={m: v for m, v in feature.severity.items() if m in measures},
            thresholds={m: v for m, v in feature.thresholds.items() if m in measures},
        )
        for feature in result.features
        if feature.feature in names
    )
    return replace(result, features=features, labels=monitor.labels, measures=monitor.measures)


class ResultsStore:
    """The current :class:`Snapshot`, replaced whole (never mutated) under a lock.

    Readers call :meth:`snapshot` without locking: a scrape sees one consistent state.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = itertools.count(1)
        self._snapshot = Snapshot(0, ())
        self._configs: dict[str, MonitorConfig] = {}

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def configs(self) -> dict[str, MonitorConfig]:
        """The monitors configured now, by name."""
        with self._lock:
            return dict(self._configs)

    def configure(self, monitors: Sequence[MonitorConfig], periods: Mapping[str, float], *, at: float) -> None:
        """Install a (new) config: unchanged monitors keep their state, changed ones keep
        their counters and what of their results still applies, removed ones go."""
        with self._lock:
            previous = {state.name: state for state in self._snapshot.monitors}
            states = []
            for monitor in monitors:
                old = previous.get(monitor.name)
                if old is not None and self._configs.get(monitor.name) is monitor:
                    period = periods[monitor.name]
                    states.append(old if old.interval_s == period else replace(old, interval_s=period))
                    continue
                state = MonitorState(
                    name=monitor.name,
                    labels=dict(monitor.labels),
                    measures=monitor.measures,
                    log_base=monitor.log_base,
                    interval_s=periods[monitor.name],
                )
                if old is not None:
                    state = replace(
                        state,
                        latest=_trim(old.latest, monitor),
                        scored=_trim(old.scored, monitor),
                        evaluations=old.evaluations,
                        failures=old.failures,
                        last_success_s=old.last_success_s,
                    )
                states.append(state)
            self._configs = {monitor.name: monitor for monitor in monitors}
            self._swap(monitors=tuple(states), reload_successful=True, reload_success_s=at)

    def reload_failed(self) -> None:
        with self._lock:
            self._swap(reload_successful=False)

    def record(self, monitor: MonitorConfig, result: MonitorResult, *, ended_at: float) -> MonitorState | None:
        """Store an evaluation's result; None (dropped) if the monitor was changed or
        removed since that evaluation was scheduled."""
        with self._lock:
            if self._configs.get(monitor.name) is not monitor:
                return None
            states = list(self._snapshot.monitors)
            index = next(i for i, s in enumerate(states) if s.name == monitor.name)
            old = states[index]
            state = replace(
                old,
                latest=result,
                scored=result if result.ok else old.scored,
                evaluations=old.evaluations + 1,
                failures=old.failures + (0 if result.ok else 1),
                last_success_s=ended_at if result.ok else old.last_success_s,
            )
            states[index] = state
            self._swap(monitors=tuple(states))
            return state

    def _swap(self, **changes: Any) -> None:
        self._snapshot = replace(self._snapshot, version=next(self._version), **changes)


# ---------------------------------------------------------------------------
# one evaluation, in its own thread


class _Evaluation:
    """``evaluate(monitor)`` running in a daemon thread that can be abandoned."""

    def __init__(self, monitor: MonitorConfig, cache: ReferenceCache) -> None:
        self.monitor = monitor
        self.started = time.time()
        self.begun = time.monotonic()
        self.result: MonitorResult | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(cache,), name=f"evaluate:{monitor.name}", daemon=True)
        self.thread.start()

    def _run(self, cache: ReferenceCache) -> None:
        try:
            self.result = evaluate(self.monitor, cache)
        except BaseException as error:  # evaluate() never raises; this is belt and braces
            message = f"internal error ({type(error).__name__}: {error}); please report it"
            self.result = failed(self.monitor, message, self.started, time.monotonic() - self.begun)
        finally:
            self.done.set()

    def wait(self, timeout: float, stop_deadline: Callable[[], float | None]) -> bool:
        """Wait until done (True), the timeout passes or, once stopping, the shutdown
        deadline passes (False)."""
        deadline = self.begun + timeout
        while True:
            limit = deadline
            stop = stop_deadline()
            if stop is not None:
                limit = min(limit, stop)
            remaining = limit - time.monotonic()
            if remaining <= 0:
                return self.done.is_set()
            if self.done.wait(min(remaining, _POLL_S)):
                return True


# ---------------------------------------------------------------------------
# the daemon


class Daemon:
    """Scheduler, results store, reference cache and reload logic (no signals, no HTTP)."""

    def __init__(
        self, config_path: Path, initial: config.Config, *, workers: int | None = None, shard: Shard | None = None
    ) -> None:
        self.config_path = config_path
        self.shard = shard
        self.store = ResultsStore()
        self.cache = ReferenceCache()
        self.exposition = Exposition(self.store.snapshot)
        count = workers or min(MAX_WORKERS, max(4, len(initial.monitors)))
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(count)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self.scheduler.add_listener(self._on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self._initial = initial
        self._reload_lock = threading.Lock()
        self._job_ids: dict[str, str] = {}
        self._job_serial = itertools.count(1)
        self._hung: dict[str, _Evaluation] = {}  # abandoned evaluations that may still run
        self._hung_lock = threading.Lock()
        self._running = 0
        self._idle = threading.Condition()
        self._stop_deadline: float | None = None
        self._ready = False

    # -- what the HTTP server asks

    def snapshot(self) -> Snapshot:
        return self.store.snapshot()

    def ready(self) -> bool:
        return self._ready and self._stop_deadline is None

    # -- lifecycle

    def start(self) -> None:
        """Install the initial config and evaluate every monitor at once."""
        with self._reload_lock:
            self._install(self._initial.monitors, {})
        self.scheduler.start()
        self._ready = True

    def reload(self) -> tuple[bool, str]:
        """Load the config file again; apply it only if it is valid as a whole."""
        with self._reload_lock:
            try:
                new = load(self.config_path, self.shard)
                check_schedules(new)
            except Exception as error:  # a ConfigError, or a bug: either way the old config stays
                if not isinstance(error, ConfigError):
                    log.debug("unexpected error loading %s", self.config_path, exc_info=True)
                    error = ConfigError(f"{self.config_path}: internal error ({type(error).__name__}: {error})")
                self.store.reload_failed()
                self.exposition.refresh()
                event(
                    log,
                    "config reload refused; the previous config keeps running",
                    level=logging.ERROR,
                    config=self.config_path,
                    error=str(error),
                )
                return False, str(error)
            current = self.store.configs()
            names = {m.name for m in new.monitors}
            unchanged = [m.name for m in new.monitors if current.get(m.name) == m]
            changed = [m.name for m in new.monitors if m.name in current and current[m.name] != m]
            added = [m.name for m in new.monitors if m.name not in current]
            removed = [name for name in current if name not in names]
            # Unchanged monitors keep their config object: jobs and results stay valid.
            monitors = [current[m.name] if m.name in unchanged else m for m in new.monitors]
            self._install(monitors, current)
            self.cache.retain(names)
            with self._hung_lock:
                for name in list(self._hung):
                    if name not in names or name in changed:
                        del self._hung[name]
            event(
                log,
                "config reloaded",
                config=self.config_path,
                added=added,
                changed=changed,
                removed=removed,
                unchanged=len(unchanged),
            )
            return True, (
                f"config reloaded: {len(added)} added, {len(changed)} changed, "
                f"{len(removed)} removed, {len(unchanged)} unchanged"
            )

    def stop(self) -> list[str]:
        """Stop scheduling; wait up to the grace for running evaluations; return the
        monitors whose evaluations were abandoned."""
        self._stop_deadline = time.monotonic() + SHUTDOWN_GRACE_S
        self.scheduler.shutdown(wait=False)
        with self._idle:
            self._idle.wait_for(lambda: self._running == 0, timeout=SHUTDOWN_GRACE_S + 1.0)
        with self._hung_lock:
            return sorted(name for name, ev in self._hung.items() if ev.thread.is_alive())

    # -- scheduling

    def _install(self, monitors: Sequence[MonitorConfig], current: Mapping[str, MonitorConfig]) -> None:
        now = datetime.now(UTC)
        periods = {m.name: period_s(m, now) for m in monitors}
        self.store.configure(monitors, periods, at=time.time())
        for name in current:
            if all(m.name != name for m in monitors):
                self._unschedule(name)
        for monitor in monitors:
            if current.get(monitor.name) is not monitor:
                self._schedule(monitor, periods[monitor.name], now)
        self.exposition.refresh()

    def _schedule(self, monitor: MonitorConfig, period: float, now: datetime) -> None:
        self._unschedule(monitor.name)
        # A fresh id per config version: a still-running evaluation of the old version
        # must not count as a running instance of the new job.
        job_id = f"{monitor.name}#{next(self._job_serial)}"
        self._job_ids[monitor.name] = job_id
        self.scheduler.add_job(
            self._job,
            trigger(monitor),
            args=(monitor, timeout_s(monitor, period)),
            id=job_id,
            name=monitor.name,
            next_run_time=now,
            misfire_grace_time=max(1, int(period)) if period > 0 else None,
        )

    def _unschedule(self, name: str) -> None:
        job_id = self._job_ids.pop(name, None)
        if job_id is not None:
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(job_id)

    # -- one scheduled run

    def _job(self, monitor: MonitorConfig, timeout: float) -> None:
        if self._stop_deadline is not None:
            return
        with self._idle:
            self._running += 1
        try:
            result = self._evaluate(monitor, timeout)
            if result is not None:
                self._record(monitor, result)
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    def _evaluate(self, monitor: MonitorConfig, timeout: float) -> MonitorResult | None:
        with self._hung_lock:
            hung = self._hung.get(monitor.name)
            if hung is not None and not hung.thread.is_alive():
                del self._hung[monitor.name]
                hung = None
        if hung is not None:
            since = time.monotonic() - hung.begun
            message = (
                f"the evaluation started {since:.0f}s ago still has not returned (abandoned "
                f"after its timeout); not starting another until it does"
            )
            return failed(monitor, message, time.time(), 0.0)
        evaluation = _Evaluation(monitor, self.cache)
        if evaluation.wait(timeout, lambda: self._stop_deadline):
            return evaluation.result
        if self._stop_deadline is not None:
            event(log, "evaluation abandoned at shutdown", level=logging.WARNING, monitor=monitor.name)
            with self._hung_lock:
                self._hung[monitor.name] = evaluation
            return None
        with self._hung_lock:
            self._hung[monitor.name] = evaluation
        message = f"evaluation timed out after {timeout:g}s (abandoned; set `timeout:` to allow longer)"
        return failed(monitor, message, evaluation.started, timeout)

    def _record(self, monitor: MonitorConfig, result: MonitorResult) -> None:
        state = self.store.record(monitor, result, ended_at=time.time())
        if state is None:
            event(log, "result dropped: the monitor changed meanwhile", level=logging.DEBUG, monitor=monitor.name)
            return
        alerts = sum(1 for f in result.features if f.worst in (WARNING, CRITICAL))
        event(
            log,
            "evaluated",
            level=logging.WARNING if result.status == ERROR else logging.INFO,
            monitor=monitor.name,
            status=result.status,
            duration_s=round(result.duration_s, 6),
            features=len(result.features),
            alerts=alerts,
            error=result.error,
        )
        self.exposition.refresh()

    def _on_event(self, item: JobSubmissionEvent | JobExecutionEvent) -> None:
        name = item.job_id.rsplit("#", 1)[0]  # job ids are "<monitor>#<serial>"
        if item.code == EVENT_JOB_MAX_INSTANCES:
            event(log, "evaluation skipped: the previous one is still running", level=logging.WARNING, monitor=name)
        elif item.code == EVENT_JOB_MISSED:
            event(log, "evaluation skipped: its run time was missed", level=logging.WARNING, monitor=name)
        elif item.code == EVENT_JOB_ERROR:
            exception = getattr(item, "exception", None)
            event(log, "internal error in a scheduled run", level=logging.ERROR, monitor=name, error=repr(exception))


# ---------------------------------------------------------------------------
# the process

_SIGNALS = {signal.SIGHUP, signal.SIGTERM, signal.SIGINT}


def load(config_path: Path, shard: Shard | None) -> config.Config:
    """The config, with only this shard's monitors (all of them without a shard)."""
    loaded = config.load(config_path)
    return replace(loaded, monitors=select(loaded.monitors, shard))


def serve(
    config_path: Path,
    *,
    listen: str,
    lifecycle: bool,
    log_level: str,
    log_format: str,
    shard: Shard | None = None,
    page_settings: Any = None,
) -> int:
    """Run the daemon until SIGTERM or SIGINT; SIGHUP reloads. Returns the exit status (0).

    A bad config or listen address raises ConfigError; a port in use, DriftmonError.
    """
    from prometheus_client import disable_created_metrics

    from driftmon import server

    logs.setup(log_level, log_format)
    disable_created_metrics()  # type: ignore[no-untyped-call]
    initial = load(config_path, shard)
    check_schedules(initial)
    server.parse_listen_address(listen)
    # Signals are taken synchronously by the main thread (sigwait), so no handler ever
    # runs in the middle of a lock; every thread started below inherits the mask.
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        daemon = Daemon(config_path, initial, shard=shard)
        http, _ = server.start(listen, server.App(daemon, lifecycle=lifecycle, page_settings=page_settings))
        event(
            log,
            "driftmon started",
            version=__version__,
            config=config_path,
            monitors=len(initial.monitors),
            shard=shard or "none",
            listen=listen,
            lifecycle=lifecycle,
        )
        daemon.start()
        while True:
            received = signal.sigwait(_SIGNALS)
            if received != signal.SIGHUP:
                break
            event(log, "reloading the config", signal="SIGHUP")
            daemon.reload()
        event(log, "shutting down", signal=signal.Signals(received).name)
        abandoned = daemon.stop()
        if abandoned:
            event(log, "abandoned running evaluations", level=logging.WARNING, monitors=abandoned)
        http.shutdown()
        http.server_close()
        event(log, "stopped")
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    return 0


__all__ = ["Daemon", "ResultsStore", "check_schedules", "cron_trigger", "period_s", "serve", "timeout_s", "trigger"]
