"""How HTTP servers hold up on loopback: 200 concurrent scrapes, 1,000 idle sockets, slow-header
(slowloris) clients. Used to choose driftmon's server and to measure the one it has.

    .venv/bin/python benchmarks/http_server.py                      # every contender
    .venv/bin/python benchmarks/http_server.py --servers driftmon   # driftmon only
    .venv/bin/python benchmarks/http_server.py --json out.json      # also write the figures

Each server runs in its own process (started here, stopped by its pid) and serves one cached
/metrics body of ``--body-kb`` KB, so only the server is measured, not rendering. Figures:
latency p50/p99 of ``--scrapes`` scrapes started at once (each a new connection), then the
server's threads and RSS with ``--idle`` idle connections open, then how a scrape fares while
``--slow`` clients send a header byte every second. ``driftmon-tls`` is driftmon with a
web config: every scrape is a new TLS connection with basic auth (bcrypt cost 10, cached).
Contenders other than driftmon and wsgiref need ``pip install cheroot waitress``.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SERVERS = ("wsgiref", "cheroot", "waitress", "driftmon", "driftmon-tls")
TLS_DIR_ENV = "HTTP_BENCH_TLS_DIR"  # driftmon-tls: where measure() put web.yml and the certificates


def metrics_body(size_kb: int) -> bytes:
    """A /metrics-like text body of about ``size_kb`` KB (driftmon's per-feature series)."""
    lines = []
    index = 0
    while sum(map(len, lines)) < size_kb * 1024:
        lines.append(
            f'driftmon_js_divergence{{monitor="model-{index // 50}",feature="feature_{index % 50}",team="risk"}} '
            f"0.0{index % 97}1234\n"
        )
        index += 1
    return "".join(lines).encode()


# -- the server side (a child process) -------------------------------------------------------------


def _app(body: bytes) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def serve(server: str, port: int, body_kb: int) -> None:
    body = metrics_body(body_kb)
    if server == "wsgiref":  # driftmon's server before issue 11: a thread per connection
        from socketserver import ThreadingMixIn
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        class Quiet(WSGIRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

        class Threading(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        make_server("127.0.0.1", port, _app(body), server_class=Threading, handler_class=Quiet).serve_forever()
    elif server == "cheroot":  # its defaults, but for the backlog
        from cheroot.wsgi import Server

        Server(("127.0.0.1", port), _app(body), request_queue_size=1024).safe_start()
    elif server == "waitress":
        import waitress

        waitress.serve(_app(body), host="127.0.0.1", port=port, _quiet=True)
    elif server in ("driftmon", "driftmon-tls"):
        from driftmon.web import Limits, WebConfigFile, start
        from driftmon.web.app import App

        class Exposition:
            def render(self, accept: Any, encoding: Any, names: Any) -> tuple[bytes, list[tuple[str, str]]]:
                return body, [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")]

        class Backend:
            exposition = Exposition()

            def ready(self) -> bool:
                return True

        web = WebConfigFile(Path(os.environ[TLS_DIR_ENV]) / "web.yml") if server == "driftmon-tls" else None
        app = App(Backend(), lifecycle=False, web_config=web)  # type: ignore[arg-type]
        http_server = start(f"127.0.0.1:{port}", app, Limits(), web)
        signal.sigwait({signal.SIGTERM, signal.SIGINT})
        http_server.stop()
    else:
        raise SystemExit(f"unknown server {server!r}")


# -- the client side -------------------------------------------------------------------------------


def scrape(host: str, port: int, context: ssl.SSLContext | None = None, headers: dict[str, str] | None = None,
           timeout: float = 30.0) -> tuple[int, float, int]:
    """One GET /metrics on a new connection: (status, seconds, body bytes)."""
    started = time.perf_counter()
    if context is None:
        connection: http.client.HTTPConnection = http.client.HTTPConnection(host, port, timeout=timeout)
    else:
        connection = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    try:
        connection.request("GET", "/metrics", headers=headers or {})
        reply = connection.getresponse()
        size = len(reply.read())
        return reply.status, time.perf_counter() - started, size
    finally:
        connection.close()


def concurrent_scrapes(host: str, port: int, count: int, **kwargs: Any) -> list[tuple[int, float, int]]:
    """``count`` scrapes started at once (a barrier releases them together)."""
    barrier = threading.Barrier(count)
    results: list[tuple[int, float, int]] = []
    lock = threading.Lock()

    def one() -> None:
        barrier.wait()
        try:
            outcome = scrape(host, port, **kwargs)
        except OSError:
            outcome = (0, float("inf"), 0)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def process_figures(pid: int) -> tuple[int, float]:
    """(threads, RSS in MB) of a process, from /proc."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(fields["Threads"]), int(fields["VmRSS"].split()[0]) / 1024


@contextlib.contextmanager
def idle_sockets(host: str, port: int, count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that send nothing."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.create_connection((host, port), timeout=10)
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


@contextlib.contextmanager
def slow_header_clients(host: str, port: int, count: int, interval: float = 1.0) -> Iterator[list[socket.socket]]:
    """``count`` slowloris clients: a request line, then one header byte every ``interval`` seconds."""
    sockets = [socket.create_connection((host, port), timeout=10) for _ in range(count)]
    for sock in sockets:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    stop = threading.Event()

    def drip() -> None:
        while not stop.wait(interval):
            for sock in sockets:
                with contextlib.suppress(OSError):
                    sock.send(b"a")

    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    try:
        yield sockets
    finally:
        stop.set()
        dripper.join()
        for sock in sockets:
            sock.close()


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server has closed ``sock`` (a read gives EOF, a reply or a reset)."""
    sock.setblocking(False)
    try:
        return sock.recv(65536) is not None
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


@dataclass(frozen=True, slots=True)
class Figures:
    server: str
    scrapes: int
    failed: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    threads_at_rest: int
    rss_at_rest_mb: float
    threads_idle: int
    rss_idle_mb: float
    idle: int
    scrape_with_idle_ms: float
    slow: int
    scrape_with_slow_ms: float
    threads_after: int
    rss_after_mb: float


# How the client talks to the server being measured: a TLS context and an Authorization
# header for driftmon-tls, nothing otherwise (set by measure()).
CLIENT: dict[str, Any] = {}


def _tls_setup(folder: Path) -> dict[str, Any]:
    """driftmon-tls: a CA and server certificate (tests/certs.py), a web config with TLS and
    a bcrypt (cost 10) password; returns the client's scrape() arguments."""
    import base64

    import bcrypt
    import yaml

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from certs import CA

    ca = CA(folder)
    pair = ca.issue("server", "localhost", server=True)
    (folder / "web.yml").write_text(yaml.safe_dump({
        "tls_server_config": {"cert_file": str(pair.cert), "key_file": str(pair.key)},
        "basic_auth_users": {"prometheus": bcrypt.hashpw(b"pw", bcrypt.gensalt(10)).decode()},
    }))
    context = ssl.create_default_context(cafile=str(ca.pair.cert))
    return {"context": context, "headers": {"Authorization": "Basic " + base64.b64encode(b"prometheus:pw").decode()}}


def measure(server: str, args: argparse.Namespace) -> Figures:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    CLIENT.clear()
    if server == "driftmon-tls":
        folder = Path(tempfile.mkdtemp(prefix="http-bench-tls-"))
        CLIENT.update(_tls_setup(folder))
        env[TLS_DIR_ENV] = str(folder)
    process = subprocess.Popen(
        [sys.executable, __file__, "serve", server, str(port), str(args.body_kb)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_up("127.0.0.1", port)
        concurrent_scrapes("127.0.0.1", port, 10, **CLIENT)  # warm up
        time.sleep(0.5)
        threads_rest, rss_rest = process_figures(process.pid)
        results = concurrent_scrapes("127.0.0.1", port, args.scrapes, **CLIENT)
        latencies = [seconds for status, seconds, _ in results if status == 200]
        failed = len(results) - len(latencies)
        with idle_sockets("127.0.0.1", port, args.idle):
            time.sleep(1.0)
            threads_idle, rss_idle = process_figures(process.pid)
            _, with_idle, _ = _timed_scrape(port)
        with slow_header_clients("127.0.0.1", port, args.slow):
            time.sleep(2.0)
            _, with_slow, _ = _timed_scrape(port)
        time.sleep(1.0)
        threads_after, rss_after = process_figures(process.pid)
        return Figures(
            server, len(results), failed,
            round(percentile(latencies, 0.5) * 1000, 1) if latencies else float("nan"),
            round(percentile(latencies, 0.99) * 1000, 1) if latencies else float("nan"),
            round(max(latencies) * 1000, 1) if latencies else float("nan"),
            threads_rest, round(rss_rest, 1), threads_idle, round(rss_idle, 1), args.idle,
            round(with_idle * 1000, 1), args.slow, round(with_slow * 1000, 1), threads_after, round(rss_after, 1),
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _timed_scrape(port: int) -> tuple[int, float, int]:
    try:
        return scrape("127.0.0.1", port, timeout=60, **CLIENT)
    except OSError:
        return 0, float("inf"), 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_up(host: str, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            scrape(host, port, timeout=2, **CLIENT)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"no server on {host}:{port} after {timeout} s")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "serve":
        serve(argv[1], int(argv[2]), int(argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--slow", type=int, default=50)
    parser.add_argument("--body-kb", type=int, default=500)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    figures = [measure(server, args) for server in args.servers.split(",")]
    columns = list(asdict(figures[0]))
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for row in figures:
        print("| " + " | ".join(str(value) for value in asdict(row).values()) + " |")
    if args.json:
        args.json.write_text(json.dumps([asdict(row) for row in figures], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
