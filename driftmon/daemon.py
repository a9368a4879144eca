"""The daemon: schedules evaluations, keeps the results store, reloads, serves HTTP, stops.

- One APScheduler job per monitor (interval or cron, UTC), run once at start, then on
  schedule; coalesced, one instance at a time, on a bounded thread pool.
- Each evaluation runs in a worker process (:mod:`driftmon.workers`, one per core by
  default, monitors in parallel); the job waits at most the monitor's timeout (default
  80% of the period, at most 5 min), then the worker is killed and replaced and the
  evaluation counts as a failure: a hanging source never holds a thread, memory or the
  GIL of the daemon.
- The results store (:class:`~driftmon.results.ResultsStore`) swaps in a new immutable
  snapshot whenever an evaluation ends or the config changes; scrapes read the current one.
- Live files already counted are not read again while unchanged (the live-file cache,
  :mod:`driftmon.sources.file_cache`, ``--evaluation.cache-size``), kept here next to the
  reference cache and handed to each evaluation's worker.
- SIGHUP (or ``POST /-/reload``) validates the new config whole before touching
  anything. Unchanged monitors keep their schedule and results; changed ones are
  rescheduled and evaluated at once; removed ones vanish.
- SIGTERM / SIGINT: stop scheduling, give running evaluations until 8 s to finish,
  kill the workers of the rest, exit 0 within 10 s.
- Every error text is redacted (:mod:`driftmon.redact`) before it is stored, so neither
  ``/api/v1/status`` nor the reload response ever shows a secret.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

from driftmon import __version__, config, logs, redact, signals
from driftmon.config import MonitorConfig
from driftmon.errors import ConfigError
from driftmon.evaluate import CRITICAL, ERROR, WARNING, MonitorResult, ReferenceCache
from driftmon.exposition import Exposition
from driftmon.logs import event
from driftmon.results import ResultsStore, Snapshot
from driftmon.schedule import cron_trigger, period_s, timeout_s, trigger
from driftmon.shard import Shard, select
from driftmon.sources.file_cache import DEFAULT_SIZE as DEFAULT_CACHE_SIZE
from driftmon.sources.file_cache import FileCache
from driftmon.workers import DEFAULT_MEMORY_LIMIT, WorkerPool

if TYPE_CHECKING:
    from driftmon.web import Limits

log = logging.getLogger("driftmon.daemon")

SWITCH_INTERVAL_S = 0.001
RENDER_INTERVAL_S = 1.0  # results reach /metrics within this (plus the render)
SHUTDOWN_GRACE_S = 8.0  # running evaluations may finish within this; the process exits by 10 s


# ---------------------------------------------------------------------------
# schedules (triggers, periods and timeouts live in driftmon.schedule, shared with `check`)


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


# ---------------------------------------------------------------------------
# the daemon


class _Scheduler(BackgroundScheduler):  # type: ignore[misc]
    """A BackgroundScheduler whose death is seen: if its thread ever ends on an exception,
    that is logged once and :meth:`alive` turns False (``/-/ready`` answers 503), instead of
    a traceback on stderr and a daemon that looks healthy but never evaluates again."""

    failure: str | None = None

    def _main_loop(self) -> None:
        try:
            super()._main_loop()
        except Exception as error:
            failure = f"{type(error).__name__}: {error}"
            event(
                log,
                "the scheduler stopped: no monitor will be evaluated again; restart driftmon",
                level=logging.ERROR,
                error=failure,
            )
            self.failure = failure  # after the log line, so "not ready" always comes with its reason

    def alive(self) -> bool:
        """False once the scheduler's thread died of an error (never before it started)."""
        return self.failure is None


class Daemon:
    """Scheduler, results store, reference cache and reload logic (no signals, no HTTP)."""

    def __init__(
        self,
        config_path: Path,
        initial: config.Config,
        *,
        workers: int | None = None,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        cache_size: int = DEFAULT_CACHE_SIZE,
        shard: Shard | None = None,
        log_level: str = "info",
        log_format: str = "logfmt",
    ) -> None:
        self.config_path = config_path
        self.shard = shard
        self.store = ResultsStore()
        self.cache = ReferenceCache()
        self.files = FileCache(cache_size)
        self.pool = WorkerPool(
            workers,
            memory_limit=memory_limit,
            cache=self.cache,
            files=self.files if self.files.enabled else None,
            log_level=log_level,
            log_format=log_format,
        )
        # Scrapes get the bytes rendered last; results re-render them from a thread of ours
        # at most every RENDER_INTERVAL_S, so a scrape never waits for a render.
        self.exposition = Exposition(self.store.snapshot, background=True)
        self._render_due = threading.Event()
        self._renderer = threading.Thread(target=self._render, name="render", daemon=True)
        # One scheduler thread per worker: due evaluations queue in the executor in order.
        self.scheduler = _Scheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(self.pool.size)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )
        self.scheduler.add_listener(self._on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self._initial = initial
        self._reload_lock = threading.Lock()
        self._job_ids: dict[str, str] = {}
        self._job_serial = itertools.count(1)
        self._abandoned: set[str] = set()  # evaluations stopped by the shutdown
        self._running = 0
        self._idle = threading.Condition()
        self._stop_deadline: float | None = None
        self._ready = False

    # -- what the HTTP server asks

    def snapshot(self) -> Snapshot:
        return self.store.snapshot()

    def ready(self) -> bool:
        return self._ready and self._stop_deadline is None and self.scheduler.alive()

    # -- lifecycle

    def start(self) -> None:
        """Start the workers' fork server, install the initial config and evaluate every
        monitor at once."""
        self.pool.start()
        with self._reload_lock:
            self._install(self._initial.monitors, {})
        self._renderer.start()
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
                return False, redact.text(str(error))
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
            self.files.retain(names)
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
        """Stop scheduling; wait up to the grace for running evaluations, then stop the
        workers; return the monitors whose evaluations were abandoned."""
        self._stop_deadline = time.monotonic() + SHUTDOWN_GRACE_S
        self._render_due.set()
        self.scheduler.shutdown(wait=False)
        with self._idle:
            self._idle.wait_for(lambda: self._running == 0, timeout=SHUTDOWN_GRACE_S + 1.0)
        self.pool.close()
        return sorted(self._abandoned)

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
            # A run waits in the executor's queue while every worker is busy; APScheduler
            # drops a run that starts later than its grace, so with a grace some monitors
            # would never run under load. Late runs run (coalesced into one).
            misfire_grace_time=None,
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
        result = self.pool.evaluate(monitor, timeout, lambda: self._stop_deadline)
        if result is None:
            event(log, "evaluation abandoned at shutdown", level=logging.WARNING, monitor=monitor.name)
            with self._idle:
                self._abandoned.add(monitor.name)
        return result

    def _record(self, monitor: MonitorConfig, result: MonitorResult) -> None:
        result = redact.scrub(result)  # the store feeds /api/v1/status: no secret gets in
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
        self._render_due.set()

    def _render(self) -> None:
        """Re-render /metrics after results landed, at most every RENDER_INTERVAL_S."""
        while self._stop_deadline is None:
            self._render_due.wait()
            self._render_due.clear()
            try:
                self.exposition.refresh()
            except Exception:  # a bug must not freeze /metrics for good: the next result retries
                log.exception("error rendering /metrics")
            time.sleep(RENDER_INTERVAL_S)

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
    workers: int | None = None,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
    cache_size: int = DEFAULT_CACHE_SIZE,
    web_config: Path | None = None,
    limits: Limits | None = None,
    page_settings: Any = None,
) -> int:
    """Run the daemon until SIGTERM or SIGINT; SIGHUP reloads. Returns the exit status (0).

    A bad config, web config or listen address raises ConfigError; a port in use, DriftmonError.
    """
    # Blocked before any thread exists and noted if unblocked for a moment (driftmon.signals).
    signals.block()
    noted = signals.take_note()
    from prometheus_client import disable_created_metrics

    from driftmon import web

    logs.setup(log_level, log_format)
    # The daemon's own threads (HTTP, rendering, results) hand the GIL over sooner, so a
    # scrape waits less behind a render (evaluations run in worker processes anyway).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    disable_created_metrics()  # type: ignore[no-untyped-call]
    initial = load(config_path, shard)
    check_schedules(initial)
    web.parse_listen_address(listen)
    web_config_file = web.WebConfigFile(web_config) if web_config is not None else None
    daemon = Daemon(
        config_path,
        initial,
        shard=shard,
        workers=workers,
        memory_limit=memory_limit,
        cache_size=cache_size,
        log_level=log_level,
        log_format=log_format,
    )
    app = web.App(daemon, lifecycle=lifecycle, web_config=web_config_file, page_settings=page_settings)
    http = web.start(listen, app, limits or web.Limits(), web_config_file)
    event(
        log,
        "driftmon started",
        version=__version__,
        config=config_path,
        monitors=len(initial.monitors),
        shard=shard or "none",
        listen=listen,
        scheme=http.scheme,
        web_config=web_config or "none",
        lifecycle=lifecycle,
        workers=daemon.pool.size,
        memory_limit=memory_limit or "none",
        cache_size=cache_size or "off",
    )
    daemon.start()
    while True:
        received = signals.next_signal(noted)
        if received != signal.SIGHUP:
            break
        event(log, "reloading the config", signal="SIGHUP")
        daemon.reload()
    event(log, "shutting down", signal=signal.Signals(received).name)
    abandoned = daemon.stop()
    if abandoned:
        event(log, "abandoned running evaluations", level=logging.WARNING, monitors=abandoned)
    http.stop()
    event(log, "stopped")
    return 0
