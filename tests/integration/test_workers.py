"""Worker processes: evaluations in parallel, stopped for real on timeout or memory limit.

A FIFO stands in for a source that hangs: opening it for reading blocks until a writer
comes. The kernel shows such a process waiting in ``wait_for_partner`` (/proc/PID/wchan),
which tells the test that a worker is inside that evaluation right now.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftmon import config
from driftmon.evaluate import ERROR, OK, MonitorResult, evaluate
from driftmon.workers import WorkerPool, parse_size

pytestmark = pytest.mark.integration

HISTOGRAM = {
    "format": "driftmon.histograms/v1",
    "features": {"x": {"kind": "numeric", "edges": [0, 1, 2, 3], "counts": [1, 50, 60, 40, 2], "missing": 0}},
}
DRIFTED = {
    "format": "driftmon.histograms/v1",
    "features": {"x": {"kind": "numeric", "edges": [0, 1, 2, 3], "counts": [9, 20, 60, 70, 2], "missing": 0}},
}


def load(folder: Path, lives: dict[str, str]) -> config.Config:
    """One monitor per entry of ``lives`` (name -> live histogram path), sharing ref.json."""
    (folder / "ref.json").write_text(json.dumps(HISTOGRAM), encoding="utf-8")
    lines = ["monitors:"]
    for name, live in lives.items():
        lines += [
            f"  - name: {name}",
            "    reference: {type: histogram, path: ref.json}",
            f"    live: {{type: histogram, path: {live}}}",
            "    features: [x]",
        ]
    path = folder / "driftmon.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config.load(path)


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool(2, memory_limit=0)
    workers.start()
    yield workers
    workers.close()


def waiting(pool: WorkerPool) -> list[int]:
    """Pids of the pool's busy workers blocked opening a FIFO (inside a hanging source)."""
    pids = []
    for worker in list(pool._busy):
        with contextlib.suppress(OSError):
            if Path(f"/proc/{worker.process.pid}/wchan").read_text() == "wait_for_partner":
                pids.append(worker.process.pid)
    return pids


def gone(pid: int) -> bool:
    """True when no process ``pid`` exists any more (killed and reaped)."""
    return not Path(f"/proc/{pid}").exists()


def wait_for(predicate, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def feed(fifo: Path, document: dict[str, object]) -> None:
    with open(fifo, "w", encoding="utf-8") as writer:
        writer.write(json.dumps(document))


def in_thread(
    pool: WorkerPool, monitor: config.MonitorConfig, timeout: float, into: dict[str, MonitorResult | None]
) -> threading.Thread:
    thread = threading.Thread(target=lambda: into.__setitem__(monitor.name, pool.evaluate(monitor, timeout)))
    thread.start()
    return thread


def test_two_monitors_are_evaluated_at_the_same_time_with_the_in_process_result(
    tmp_path: Path, pool: WorkerPool
) -> None:
    """With two workers, two evaluations run at once (both wait in their source together), and each result equals evaluate() in-process."""
    for name in ("a", "b"):
        os.mkfifo(tmp_path / f"{name}.fifo")
    cfg = load(tmp_path, {"a": "a.fifo", "b": "b.fifo"})
    results: dict[str, MonitorResult | None] = {}
    threads = [in_thread(pool, monitor, 30.0, results) for monitor in cfg.monitors]
    wait_for(lambda: len(waiting(pool)) == 2)
    feed(tmp_path / "a.fifo", DRIFTED)
    feed(tmp_path / "b.fifo", HISTOGRAM)
    for thread in threads:
        thread.join(30)
    (tmp_path / "live.json").write_text(json.dumps(DRIFTED), encoding="utf-8")
    expected = evaluate(load(tmp_path, {"a": "live.json"}).monitors[0])
    a, b = results["a"], results["b"]
    assert a is not None and b is not None
    assert a.status == expected.status and a.features == expected.features, (a.error, b.error, expected.error)
    assert b.status == OK and all(v == 0.0 for v in b.features[0].scores.values())


def test_a_hanging_evaluation_is_killed_at_its_timeout_and_its_worker_replaced(
    tmp_path: Path, pool: WorkerPool
) -> None:
    """A source that never returns: the evaluation fails at its timeout, its worker process is gone, no thread stays behind, and the next evaluation runs."""
    os.mkfifo(tmp_path / "hang.fifo")
    (tmp_path / "live.json").write_text(json.dumps(HISTOGRAM), encoding="utf-8")
    cfg = load(tmp_path, {"hang": "hang.fifo", "fine": "live.json"})
    threads_before = threading.active_count()
    results: dict[str, MonitorResult | None] = {}
    began = time.monotonic()
    thread = in_thread(pool, cfg.monitors[0], 1.0, results)
    wait_for(lambda: waiting(pool))
    pid = waiting(pool)[0]
    thread.join(10)
    result = results["hang"]
    assert result is not None and result.status == ERROR
    assert "timed out after 1s" in (result.error or "")
    assert time.monotonic() - began < 5.0
    assert gone(pid)
    assert threading.active_count() == threads_before
    fine = pool.evaluate(cfg.monitors[1], 10.0)
    assert fine is not None and fine.status == OK


def test_a_worker_over_its_memory_limit_is_stopped(tmp_path: Path) -> None:
    """A worker whose resident memory passes the limit is killed; the evaluation fails naming the limit."""
    os.mkfifo(tmp_path / "hang.fifo")
    cfg = load(tmp_path, {"hang": "hang.fifo"})
    pool = WorkerPool(1, memory_limit=parse_size("20MiB"))  # below any Python process with numpy
    results: dict[str, MonitorResult | None] = {}
    try:
        thread = in_thread(pool, cfg.monitors[0], 30.0, results)
        wait_for(lambda: waiting(pool))
        pid = waiting(pool)[0]
        thread.join(10)
    finally:
        pool.close()
    result = results["hang"]
    assert result is not None and result.status == ERROR
    assert "more than 20 MiB of memory" in (result.error or "")
    assert gone(pid)


def test_a_worker_that_dies_fails_only_its_evaluation(tmp_path: Path, pool: WorkerPool) -> None:
    """A worker killed from outside (as the OOM killer would) fails its evaluation with the signal named; the pool goes on."""
    os.mkfifo(tmp_path / "hang.fifo")
    (tmp_path / "live.json").write_text(json.dumps(HISTOGRAM), encoding="utf-8")
    cfg = load(tmp_path, {"hang": "hang.fifo", "fine": "live.json"})
    results: dict[str, MonitorResult | None] = {}
    thread = in_thread(pool, cfg.monitors[0], 60.0, results)
    wait_for(lambda: waiting(pool))
    os.kill(waiting(pool)[0], signal.SIGKILL)
    thread.join(10)
    result = results["hang"]
    assert result is not None and result.status == ERROR
    assert "died (killed by SIGKILL" in (result.error or "")
    fine = pool.evaluate(cfg.monitors[1], 10.0)
    assert fine is not None and fine.status == OK


def test_reference_histograms_are_binned_once_and_again_when_the_file_changes(tmp_path: Path, pool: WorkerPool) -> None:
    """The daemon-side cache works across workers: the reference is binned on the first run, reused after, redone when its file changes."""
    (tmp_path / "live.json").write_text(json.dumps(HISTOGRAM), encoding="utf-8")
    monitor = load(tmp_path, {"m": "live.json"}).monitors[0]
    for _ in range(3):
        result = pool.evaluate(monitor, 10.0)
        assert result is not None and result.status == OK
    assert pool.cache.computed == 1
    (tmp_path / "ref.json").write_text(json.dumps(DRIFTED), encoding="utf-8")
    changed = pool.evaluate(monitor, 10.0)
    assert changed is not None and changed.status != ERROR
    assert pool.cache.computed == 2
    assert changed.features[0].reference_count == sum(DRIFTED["features"]["x"]["counts"])  # type: ignore[index]


def test_a_stop_deadline_abandons_a_running_evaluation(tmp_path: Path, pool: WorkerPool) -> None:
    """At shutdown a running evaluation is abandoned (None) once the deadline passes, and its worker is killed."""
    os.mkfifo(tmp_path / "hang.fifo")
    monitor = load(tmp_path, {"hang": "hang.fifo"}).monitors[0]
    results: dict[str, MonitorResult | None] = {"hang": "not yet"}  # type: ignore[dict-item]
    deadline = time.monotonic() + 1.5
    thread = threading.Thread(
        target=lambda: results.__setitem__("hang", pool.evaluate(monitor, 60.0, lambda: deadline))
    )
    thread.start()
    wait_for(lambda: waiting(pool))
    pid = waiting(pool)[0]
    thread.join(10)
    assert results["hang"] is None
    assert time.monotonic() - deadline < 2.0
    assert gone(pid)


@pytest.mark.parametrize(
    ("text", "size"),
    [("2GiB", 2 << 30), ("512MiB", 512 << 20), ("1.5GB", 1_500_000_000), ("0", 0), ("800M", 800_000_000)],
)
def test_memory_limit_sizes_parse(text: str, size: int) -> None:
    """--evaluation.memory-limit takes binary and decimal units; 0 means no limit."""
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "-1GiB", "2XB", "nan"])
def test_bad_memory_limit_sizes_are_refused(text: str) -> None:
    """A size that is not one is a ValueError (the CLI turns it into exit 2)."""
    with pytest.raises(ValueError, match="is not a size"):
        parse_size(text)


def test_a_fork_server_killed_while_starting_a_worker_fails_that_run_and_is_restarted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The fork server dies while it starts a worker: that evaluation fails, saying so (was EOFError: unexpected EOF
    out of the pool, an APScheduler traceback and a run not counted); one warning line; the next evaluation starts a
    new fork server and succeeds."""
    from multiprocessing import forkserver

    cfg = load(tmp_path, {"a": "ref.json"})
    workers = WorkerPool(1, memory_limit=0)
    workers.start()
    try:
        server = forkserver._forkserver._forkserver_pid
        assert server is not None
        os.kill(server, signal.SIGSTOP)  # the request to fork is sent, the answer never comes
        results: list[MonitorResult | None] = []
        with caplog.at_level("WARNING", logger="driftmon.workers"):
            thread = threading.Thread(target=lambda: results.append(workers.evaluate(cfg.monitors[0], 30.0)))
            thread.start()
            time.sleep(1.0)
            os.kill(server, signal.SIGKILL)
            thread.join(30.0)
            assert not thread.is_alive()
            after = workers.evaluate(cfg.monitors[0], 30.0)
        assert len(results) == 1 and results[0] is not None, "the evaluation raised instead of failing"
        assert results[0].status == ERROR and "fork server" in (results[0].error or ""), results[0].error
        assert after is not None and after.status == OK, after
        lines = [r.getMessage() for r in caplog.records if "fork server" in r.getMessage()]
        assert len(lines) == 1, lines
        assert all(r.exc_info is None for r in caplog.records)
    finally:
        workers.close()
