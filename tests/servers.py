"""Helpers for tests that start real servers: find binaries, pick ports, wait, clean up.

Every process a test starts goes through :func:`running`, which stops it by its pid (SIGTERM,
then SIGKILL after a grace period) however the test ends, and keeps its output in a log
file whose tail is shown when a server fails to come up.

A missing server binary skips the test, unless ``DRIFTMON_REQUIRE_SERVERS=1`` is set (CI
sets it): then it fails, so CI can never go green by skipping what it is meant to prove.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")

REQUIRE_SERVERS_ENV = "DRIFTMON_REQUIRE_SERVERS"


def servers_required() -> bool:
    """True when missing servers must fail the tests instead of skipping them."""
    return os.environ.get(REQUIRE_SERVERS_ENV, "").strip().lower() in {"1", "true", "yes"}


def require_binary(*names: str) -> str:
    """The absolute path of the first of ``names`` found on PATH.

    Skips the calling test when none is found, or fails it when ``DRIFTMON_REQUIRE_SERVERS=1``.
    Several names cover packaging differences (``prometheus-alertmanager`` on Debian,
    ``alertmanager`` upstream).
    """
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    message = f"{' or '.join(names)} not found on PATH"
    if servers_required():
        pytest.fail(f"{message}, and {REQUIRE_SERVERS_ENV}=1 requires it", pytrace=False)
    pytest.skip(message)


def stop_spark() -> None:
    """Stop the Spark session this process started, JVM included, so the next module that
    uses Spark starts its own (a session left running keeps its settings for everyone)."""
    try:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
    except ImportError:
        return
    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()
    gateway = SparkContext._gateway
    process = getattr(gateway, "proc", None)
    if gateway is not None:
        with contextlib.suppress(Exception):
            gateway.shutdown()
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except Exception:
            process.kill()
    SparkContext._gateway = None
    SparkContext._jvm = None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Response:
    """What an HTTP request returned (error statuses included, not raised)."""

    status: int
    body: bytes

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def http_request(
    url: str,
    *,
    method: str = "GET",
    data: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> Response:
    """One HTTP request; 4xx/5xx come back as a :class:`Response`, connection errors raise."""
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return Response(reply.status, reply.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.read())


class ServerProcess:
    """A process started by :func:`running`: its pid, its log, whether it still runs."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log_path: Path) -> None:
        self.name = name
        self.popen = popen
        self.log_path = log_path

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        """None while the process runs, else its exit status (negative: killed by a signal)."""
        return self.popen.poll()

    def log(self, tail: int | None = None) -> str:
        """Everything the process wrote to stdout and stderr (the last ``tail`` lines)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        if tail is None:
            return text
        return "\n".join(text.splitlines()[-tail:])

    def describe(self, tail: int = 40) -> str:
        """A few lines for a failure message: name, pid, status and the end of the log."""
        state = "running" if self.returncode is None else f"exited with {self.returncode}"
        return f"{self.name} (pid {self.pid}, {state}); last lines of {self.log_path}:\n{self.log(tail)}"

    def signal(self, signum: int) -> None:
        """Send ``signum`` to this process (by pid) if it still runs."""
        if self.returncode is None:
            os.kill(self.pid, signum)

    def stop(self, grace: float = 10.0) -> int:
        """SIGTERM by pid, wait up to ``grace`` seconds, then SIGKILL; returns the exit status."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=grace)
        return self.popen.returncode


@contextlib.contextmanager
def running(
    args: Sequence[str | os.PathLike[str]],
    *,
    log_path: Path,
    name: str | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    ready_url: str | None = None,
    ready_timeout: float = 30.0,
    stop_grace: float = 10.0,
) -> Iterator[ServerProcess]:
    """Start ``args`` as a process, optionally wait until ``ready_url`` answers 200, yield it.

    The process is stopped by its pid at exit, also when the body raises or readiness times
    out. Output (stdout and stderr together) goes to ``log_path``. ``env`` is added to the
    current environment.
    """
    command = [os.fspath(arg) for arg in args]
    name = name or Path(command[0]).name
    log_path.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **(env or {})}
    with open(log_path, "wb") as log_file:
        popen = subprocess.Popen(
            command,
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    process = ServerProcess(name, popen, log_path)
    try:
        if ready_url is not None:
            wait_for_http(ready_url, ready_timeout, process=process)
        yield process
    finally:
        process.stop(stop_grace)


def wait_for_http(
    url: str,
    timeout: float,
    *,
    status: int = 200,
    process: ServerProcess | None = None,
    interval: float = 0.1,
) -> Response:
    """Poll ``url`` until it answers ``status``; fail the test after ``timeout`` seconds.

    With ``process``, fail at once (with its log) if that process exits meanwhile.
    """
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        if process is not None and process.returncode is not None:
            pytest.fail(f"{url} never became ready: {process.describe()}", pytrace=False)
        try:
            response = http_request(url, timeout=max(0.5, min(5.0, timeout)))
            if response.status == status:
                return response
            last = f"HTTP {response.status}: {response.text()[:200]}"
        except (OSError, urllib.error.URLError) as error:
            last = f"{type(error).__name__}: {error}"
        if time.monotonic() >= deadline:
            detail = f"\n{process.describe()}" if process is not None else ""
            pytest.fail(
                f"{url} did not answer {status} within {timeout:g} s (last: {last}){detail}",
                pytrace=False,
            )
        time.sleep(interval)


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    *,
    interval: float = 0.25,
    message: str = "condition",
) -> T:
    """Call ``predicate()`` until it returns something truthy, and return that; fail on timeout.

    Exceptions from ``predicate`` count as "not yet" (the last one is shown on timeout).
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = predicate()
            if result:
                return result
        except Exception as error:  # a server not ready yet, a half-written file, …
            last_error = error
        if time.monotonic() >= deadline:
            reason = f" (last error: {last_error!r})" if last_error is not None else ""
            pytest.fail(f"{message} not met within {timeout:g} s{reason}", pytrace=False)
        time.sleep(interval)


def eof_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed ``sock`` (None: still open after ``seconds``)."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass  # a 408 or other reply before the close
    except TimeoutError:
        return None
    except OSError:
        pass  # a reset is a close too
    return time.monotonic() - started


def running_prometheus(
    binary: str, directory: Path, port: int, *extra: str, ready: bool = True
) -> contextlib.AbstractContextManager[ServerProcess]:
    """A Prometheus on 127.0.0.1:``port`` with ``directory``/prometheus.yml and its data in ``directory``/data.

    ``ready``: wait for ``/-/ready`` over plain HTTP (not possible with a TLS web config).
    """
    return running(
        [
            binary,
            f"--config.file={directory / 'prometheus.yml'}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            *extra,
        ],
        name="prometheus",
        log_path=directory / "prometheus.log",
        ready_url=f"http://127.0.0.1:{port}/-/ready" if ready else None,
    )


def running_pushgateway(
    binary: str, directory: Path, port: int, *extra: str, name: str = "pushgateway", ready: bool = True
) -> contextlib.AbstractContextManager[ServerProcess]:
    """A Pushgateway on 127.0.0.1:``port`` that keeps pushes in memory only.

    Debian's build persists to /var/lib/prometheus/pushgateway.data by default, and loads it
    at start: without ``--persistence.file=`` one test's pushes (or a previous run's) would
    appear in the next test's gateway (a stale group once fired DriftmonPushMissing there).
    ``ready``: wait for ``/-/ready`` over plain HTTP (not possible behind basic auth).
    """
    return running(
        [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file=", *extra],
        name=name,
        log_path=directory / f"{name}.log",
        ready_url=f"http://127.0.0.1:{port}/-/ready" if ready else None,
    )


# A password and its bcrypt hash (cost 4), for servers started with a --web.config.file's
# basic_auth_users (Prometheus, Pushgateway).
TEST_PASSWORD = "test-password"
TEST_PASSWORD_BCRYPT = "$2b$04$2NPcr8VAIAmppcyvfNg3SOewXkwDyexEFoFvY9f7IkasY7AFunG/S"


def write_shipped_rules(destination: Path, for_: str = "1s") -> Path:
    """deploy/'s alert rules with every `for:` set to ``for_`` (nothing else changed), as ``destination``."""
    import yaml

    rules_file = Path(__file__).resolve().parents[1] / "deploy" / "prometheus" / "rules" / "driftmon.rules.yml"
    document = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    for group in document["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = for_
    destination.write_text(yaml.safe_dump(document, sort_keys=False, width=10_000), encoding="utf-8")
    return destination


@dataclass
class RecordingServer:
    """An HTTP server on 127.0.0.1 that keeps the headers of every request it gets and answers
    each with ``reply(path)``: (status, headers, body)."""

    server: http.server.ThreadingHTTPServer
    requests: list[tuple[str, str, dict[str, str]]]  # (method, path, headers), in order

    @property
    def port(self) -> int:
        port: int = self.server.server_address[1]
        return port


@contextlib.contextmanager
def recording_server(
    reply: Callable[[str], tuple[int, Mapping[str, str], bytes]],
) -> Iterator[RecordingServer]:
    """A :class:`RecordingServer`, stopped when the block ends."""
    requests: list[tuple[str, str, dict[str, str]]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def handle_one(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            requests.append((self.command, self.path, dict(self.headers.items())))
            status, headers, body = reply(self.path)
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = handle_one

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RecordingServer(server, requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
