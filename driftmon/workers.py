"""Where the daemon's evaluations run: worker processes that a timeout really stops.

A thread running a stuck SQL query or a runaway file read cannot be stopped, and while it
computes it holds the daemon's GIL (a busy daemon answered scrapes in seconds). So each
evaluation is one task for a worker process:

- :class:`WorkerPool` keeps up to ``size`` workers (default: one per core), started from
  a ``forkserver`` (a clean, single-threaded parent with numpy, pyarrow and driftmon
  already imported, so a new worker is ready in milliseconds and never inherits the
  daemon's threads or locks). Monitors are evaluated in parallel, one per worker.
- A worker that passes the monitor's timeout, or whose resident memory passes the limit
  (``--evaluation.memory-limit``, default 2 GiB; the daemon checks it every
  :data:`WATCH_S` seconds), is killed (SIGKILL) and replaced; the evaluation fails with a
  message saying which. Nothing of it stays in the daemon: no thread, no memory.
- Workers run at a lower CPU priority (``nice`` +:data:`NICENESS`), so the daemon answers
  scrapes promptly while evaluations keep every core busy.
- Results come back as the same :class:`~driftmon.evaluate.MonitorResult` values. The
  reference cache lives in the daemon: a task carries the monitor's cached reference
  histograms, and a worker that had to bin the reference again sends them back. So does
  the live-file cache (:mod:`driftmon.sources.file_cache`): a task carries the entries of
  the monitor's files, the worker returns those it used and those it counted anew. Kept
  in the daemon rather than giving monitors a worker of their own, it survives a worker
  killed for its timeout or memory, and any free worker can take any monitor.
- The worker's own log lines go to the daemon's stderr through the same redacting
  formatter; the daemon hands it the secrets to mask with each task.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from typing import Any

from driftmon import logs, redact
from driftmon.config import MonitorConfig
from driftmon.evaluate import MonitorResult, ReferenceCache, ReferenceEntry, evaluate, failed
from driftmon.sources.file_cache import FileCache, FileCounts, FileEntry, FileKey

log = logging.getLogger(__name__)

GIB = 1 << 30
DEFAULT_MEMORY_LIMIT = 2 * GIB  # resident memory of one worker
WATCH_S = 0.2  # how often a running task's worker is checked (result, memory, deadlines)
NICENESS = 10  # workers yield the CPU to the daemon's scrapes
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True, slots=True)
class _Task:
    monitor: MonitorConfig
    reference: ReferenceEntry | None  # the daemon's cached reference histograms of this monitor
    secrets: frozenset[str]  # for the worker's own log lines
    files: Mapping[FileKey, FileEntry] | None = None  # the monitor's live-file entries; None: no cache
    settle_s: float = 0.0  # files changed more recently than this are not cached
    codes_limit: int = 0  # bytes the row codes of the monitor's files may take (FileCache.codes_room)
    now: float | None = None  # the evaluation time (tests and benchmarks); None: the clock


@dataclass(frozen=True, slots=True)
class _Outcome:
    result: MonitorResult
    reference: ReferenceEntry | None  # set when the worker binned the reference anew
    retire: bool = False  # the worker ran out of memory: replace it
    files: FileCounts | None = None  # live-file entries used and counted anew


def default_size() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def parse_size(text: str) -> int:
    """``2GiB``, ``512MiB``, ``1.5GB``, ``800M`` or plain bytes; ``0`` means no limit."""
    units = {"": 1, "k": 10**3, "kb": 10**3, "kib": 1 << 10, "m": 10**6, "mb": 10**6, "mib": 1 << 20}
    units |= {"g": 10**9, "gb": 10**9, "gib": GIB, "t": 10**12, "tb": 10**12, "tib": 1 << 40}
    number = text.strip().rstrip("BbIiKkMmGgTt")
    unit = text.strip()[len(number) :].lower()
    try:
        value = float(number) * units[unit]
    except (KeyError, ValueError):
        raise ValueError(f"{text!r} is not a size like 2GiB, 512MiB or 0 (no limit)") from None
    if value < 0 or value != value or value == float("inf"):
        raise ValueError(f"{text!r} is not a size like 2GiB, 512MiB or 0 (no limit)")
    return int(value)


def _size_text(size: int) -> str:
    return f"{size / GIB:.3g} GiB" if size >= GIB else f"{size / (1 << 20):.0f} MiB"


# ---------------------------------------------------------------------------
# the worker process


def _serve(conn: Connection, log_level: str, log_format: str) -> None:
    """A worker's life: evaluate the tasks that come, until the daemon closes the pipe."""
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    logs.setup(log_level, log_format)
    while True:
        try:
            task: _Task = conn.recv()
        except (EOFError, OSError):
            return
        redact.adopt(task.secrets)
        outcome = _run(task)
        try:
            conn.send(outcome)
        except (BrokenPipeError, OSError):
            return
        if outcome.retire:
            return


def _run(task: _Task) -> _Outcome:
    monitor = task.monitor
    cache = ReferenceCache()
    if task.reference is not None:
        cache.put(monitor.name, task.reference)
    binned = cache.computed
    files = FileCounts(task.files, task.settle_s, codes_limit=task.codes_limit) if task.files is not None else None
    now = task.now
    clock: Callable[[], float] = time.time if now is None else (lambda: now)
    result = evaluate(monitor, cache, clock, live_files=files)
    retire = result.error is not None and result.error.startswith("internal error (MemoryError")
    if retire:
        message = "ran out of memory (the worker process is replaced); see --evaluation.memory-limit"
        result = failed(monitor, message, result.started_at, result.duration_s)
    fresh = cache.entry(monitor.name) if cache.computed > binned else None
    if files is not None:
        files.finish()
        files.known = {}  # the daemon has them: send back only keys and new entries
    return _Outcome(result, fresh, retire, files)


def task_for(
    monitor: MonitorConfig,
    references: ReferenceCache,
    files: FileCache | None,
    now: float | None = None,
) -> _Task:
    """The task for one evaluation of ``monitor``, with what the daemon's caches hold for it."""
    entries = files.entries(monitor.name) if files is not None else None
    settle_s = files.settle_s if files is not None else 0.0
    limit = files.codes_room(monitor.name) if files is not None else 0
    secrets = redact.secrets()
    return _Task(monitor, references.entry(monitor.name), secrets, entries, settle_s, now=now, codes_limit=limit)


def absorb(
    monitor: MonitorConfig, outcome: _Outcome, references: ReferenceCache, files: FileCache | None
) -> MonitorResult:
    """Take what a worker counted into the daemon's caches; the evaluation's result."""
    if outcome.reference is not None:
        references.put(monitor.name, outcome.reference)
    counts = outcome.files
    if files is not None and counts is not None:
        files.update(monitor.name, counts.used, counts.new, complete=outcome.result.ok)
        log.debug(
            "live files: %d reused, %d read (%d bytes); cache %d entries, %d bytes",
            counts.reused,
            counts.read,
            counts.bytes_read,
            len(files),
            files.nbytes,
        )
    return outcome.result


# ---------------------------------------------------------------------------
# the pool, in the daemon


@contextlib.contextmanager
def _signal_mask_kept() -> Iterator[None]:
    """Restore this thread's signal mask afterwards: multiprocessing unblocks SIGINT and
    SIGTERM after starting its helper processes, and the daemon keeps them blocked in
    every thread (see :func:`driftmon.daemon.serve`)."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


class _ForkServerDied(Exception):
    """The fork server ended while it forked a worker (multiprocessing says EOFError)."""


class _Worker:
    def __init__(self, process: Any, conn: Connection) -> None:
        self.process = process
        self.conn = conn

    def alive(self) -> bool:
        return bool(self.process.is_alive())

    def rss(self) -> int:
        """Resident memory in bytes (0 if it cannot be read)."""
        try:
            with open(f"/proc/{self.process.pid}/statm", "rb") as statm:
                return int(statm.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            return 0

    def kill(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.conn.close()
        with contextlib.suppress(OSError, AttributeError, ValueError):
            self.process.kill()
        self.process.join(5.0)


class WorkerPool:
    """Up to ``size`` worker processes; :meth:`evaluate` runs one monitor on one of them.

    Thread-safe: the daemon's scheduler threads call :meth:`evaluate` concurrently; a call
    waits for a free worker.
    """

    def __init__(
        self,
        size: int | None = None,
        *,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        cache: ReferenceCache | None = None,
        files: FileCache | None = None,
        log_level: str = "info",
        log_format: str = "logfmt",
    ) -> None:
        self.size = size or default_size()
        self.memory_limit = memory_limit
        self.cache = cache if cache is not None else ReferenceCache()
        self.files = files  # the live-file cache; None: off
        self._log = (log_level, log_format)
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["driftmon.workers"])
        self._lock = threading.Lock()
        self._free = threading.Semaphore(self.size)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._closed = False
        self.started = 0  # worker processes started so far (for tests and logs)

    def start(self) -> None:
        """Start the fork server (call from the main thread, before evaluations)."""
        with _signal_mask_kept():
            forkserver.ensure_running()

    def evaluate(
        self, monitor: MonitorConfig, timeout: float, stop_deadline: Callable[[], float | None] = lambda: None
    ) -> MonitorResult | None:
        """Evaluate ``monitor`` in a worker within ``timeout`` seconds (counted from when a
        worker takes it). A failed result when it times out, passes the memory limit or
        its worker dies; None when the daemon stops (``stop_deadline`` passed) first."""
        while not self._free.acquire(timeout=WATCH_S):
            if self._stopping(stop_deadline):
                return None
        try:
            if self._stopping(stop_deadline):
                return None
            return self._evaluate(monitor, timeout, stop_deadline)
        finally:
            self._free.release()

    def close(self) -> None:
        """Stop every worker at once (idle ones and any still running a task)."""
        with self._lock:
            self._closed = True
            workers = [*self._idle, *self._busy]
            self._idle.clear()
        for worker in workers:
            worker.kill()

    # -- inside

    def _stopping(self, stop_deadline: Callable[[], float | None]) -> bool:
        deadline = stop_deadline()
        return self._closed or (deadline is not None and time.monotonic() >= deadline)

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    self._busy.add(worker)
                    return worker
                worker.kill()
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(child, *self._log), name="driftmon-worker", daemon=True)
        try:
            with _signal_mask_kept():
                process.start()
        except EOFError:  # the fork server died while forking (killed): start a new one for the next task
            parent.close()
            child.close()
            with contextlib.suppress(OSError, EOFError), _signal_mask_kept():
                forkserver.ensure_running()
            raise _ForkServerDied from None
        child.close()
        worker = _Worker(process, parent)
        with self._lock:
            self.started += 1
            self._busy.add(worker)
        return worker

    def _give_back(self, worker: _Worker, *, keep: bool) -> None:
        with self._lock:
            self._busy.discard(worker)
            if keep and not self._closed:
                self._idle.append(worker)
                return
        worker.kill()

    def _evaluate(
        self, monitor: MonitorConfig, timeout: float, stop_deadline: Callable[[], float | None]
    ) -> MonitorResult | None:
        started = time.time()
        try:
            worker = self._take()
        except _ForkServerDied:
            logs.event(log, "fork server died; started anew", level=logging.WARNING, monitor=monitor.name)
            message = "cannot start a worker process: the fork server died (a new one starts for the next evaluation)"
            return failed(monitor, message, started, time.time() - started)
        except OSError as error:
            return failed(monitor, f"cannot start a worker process: {error}", started, 0.0)
        begun = time.monotonic()
        try:
            worker.conn.send(task_for(monitor, self.cache, self.files))
        except (OSError, ValueError) as error:
            self._give_back(worker, keep=False)
            return failed(monitor, f"cannot hand the evaluation to a worker process: {error}", started, 0.0)
        while True:
            try:
                ready = worker.conn.poll(WATCH_S)
            except (OSError, ValueError):
                ready = True  # a closed pipe: recv() below tells
            if ready:
                if self._closed:
                    return None
                return self._receive(monitor, worker, started, begun)
            elapsed = time.monotonic() - begun
            if self._stopping(stop_deadline):
                self._give_back(worker, keep=False)
                return None
            if elapsed >= timeout:
                self._give_back(worker, keep=False)
                message = (
                    f"evaluation timed out after {timeout:g}s "
                    "(its worker process was stopped; set `timeout:` to allow longer)"
                )
                return failed(monitor, message, started, elapsed)
            if self.memory_limit:
                resident = worker.rss()
                if resident > self.memory_limit:
                    self._give_back(worker, keep=False)
                    message = (
                        f"evaluation used more than {_size_text(self.memory_limit)} of memory "
                        f"({_size_text(resident)} resident); its worker process was stopped "
                        "(see --evaluation.memory-limit)"
                    )
                    return failed(monitor, message, started, elapsed)

    def _receive(self, monitor: MonitorConfig, worker: _Worker, started: float, begun: float) -> MonitorResult:
        try:
            outcome: _Outcome = worker.conn.recv()
        except (EOFError, OSError, ValueError):
            worker.process.join(1.0)
            code = worker.process.exitcode
            self._give_back(worker, keep=False)
            how = f"exit status {code}"
            if code is not None and code < 0:
                how = f"killed by signal {-code}"
                with contextlib.suppress(ValueError):
                    how = f"killed by {signal.Signals(-code).name}"
            message = f"the worker process evaluating it died ({how}; out of memory?)"
            return failed(monitor, message, started, time.monotonic() - begun)
        self._give_back(worker, keep=not outcome.retire)
        return absorb(monitor, outcome, self.cache, self.files)


__all__ = ["DEFAULT_MEMORY_LIMIT", "WorkerPool", "absorb", "default_size", "parse_size", "task_for"]
