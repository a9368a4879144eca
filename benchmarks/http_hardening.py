"""Hostile clients against the real daemon on loopback, and what a valid scrape costs meanwhile.

    .venv/bin/python benchmarks/http_hardening.py                    # every figure, ~3 min
    .venv/bin/python benchmarks/http_hardening.py --seconds 5 --json out.json

The daemon is ``driftmon run`` on the shipped example (``config/driftmon.example.yaml``),
started here on 127.0.0.1 and stopped by its pid. Figures:

- **stalled clients**: N connections that each pipeline ``--pipelined`` ``GET /metrics``
  and never read, with no web config and with one (basic auth, bcrypt cost 12, the cost
  the docs recommend); a valid scraper meanwhile scrapes on new connections for
  ``--seconds``: p50/p99/max and how many timed out (``--timeout`` each).
- **bcrypt flood**: N clients, each sending ``GET /metrics`` with the known user and a new
  wrong password every time, as fast as the daemon answers; the valid scraper as above.
- **user enumeration**: the median time of a wrong password for the configured user and
  for an unknown user (each request a new password, so nothing is cached).

Every load is bounded in time; the tests (tests/integration/test_web_hardening.py) run
the same functions for a few seconds.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "driftmon.example.yaml"
USER, PASSWORD = "prometheus", "scrape-secret"


@dataclass(frozen=True, slots=True)
class Daemon:
    port: int
    pid: int
    log: Path
    auth: dict[str, str]  # the valid scraper's headers

    def headers(self, user: str, password: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def write_web_config(folder: Path, cost: int = 12) -> Path:
    """A web config with basic auth for USER:PASSWORD, hashed at bcrypt ``cost``."""
    import bcrypt

    path = folder / "web.yml"
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(cost)).decode()
    path.write_text(f"basic_auth_users:\n  {USER}: '{hashed}'\n")
    return path


@contextlib.contextmanager
def running_daemon(
    folder: Path, web_config: Path | None = None, config: Path = EXAMPLE, *extra: str
) -> Iterator[Daemon]:
    """``driftmon run -c config`` on a free 127.0.0.1 port, up and with every monitor's
    first success exported; stopped by its pid."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "driftmon", "run", "-c", str(config), "--web.listen-address", f"127.0.0.1:{port}"]
    if web_config is not None:
        command += ["--web.config.file", str(web_config)]
    log = folder / f"daemon-{port}.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with log.open("wb") as out:
        process = subprocess.Popen([*command, *extra], stdout=out, stderr=subprocess.STDOUT, env=env)
    auth = Daemon(port, process.pid, log, {}).headers(USER, PASSWORD) if web_config else {}
    daemon = Daemon(port, process.pid, log, auth)
    try:
        deadline = time.monotonic() + 180  # the first evaluation; minutes at load average 20
        while True:
            body: list[bytes] = []
            status, _ = scrape(daemon, timeout=2, body=body)
            if (
                status == 200
                and b"driftmon_last_success_timestamp_seconds{" in body[0]
                and body[0].count(b"driftmon_last_success_timestamp_seconds{") >= body[0].count(b"driftmon_monitor_up{")
            ):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the daemon did not come up: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield daemon
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def scrape(
    daemon: Daemon, timeout: float = 10.0, headers: dict[str, str] | None = None, body: list[bytes] | None = None
) -> tuple[int, float]:
    """One GET /metrics on a new connection: (status, seconds); status 0 on a timeout or error.
    ``body``: a list the reply's body is appended to."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=timeout)
    try:
        connection.request("GET", "/metrics", headers=daemon.auth if headers is None else headers)
        reply = connection.getresponse()
        data = reply.read()
        if body is not None:
            body.append(data)
        return reply.status, time.perf_counter() - started
    except OSError:
        return 0, time.perf_counter() - started
    finally:
        connection.close()


@dataclass(frozen=True, slots=True)
class Scrapes:
    count: int
    failed: int  # timed out or not 200
    p50_ms: float
    p99_ms: float
    max_ms: float


def valid_scrapes(daemon: Daemon, seconds: float, timeout: float) -> Scrapes:
    """Scrape on new connections, one after another, for ``seconds`` (each at most ``timeout``)."""
    latencies, failed = [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status, elapsed = scrape(daemon, timeout)
        latencies.append(elapsed)
        failed += status != 200
        time.sleep(0.05)
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000, 1)

    return Scrapes(len(ordered), failed, at(0.5), at(0.99), round(ordered[-1] * 1000, 1))


@contextlib.contextmanager
def stalled_clients(daemon: Daemon, count: int, pipelined: int = 400) -> Iterator[list[socket.socket]]:
    """``count`` connections that each send ``pipelined`` GET /metrics at once and never read
    (with a 4 KB receive buffer, so the kernel holds little of what the daemon writes)."""
    head = "GET /metrics HTTP/1.1\r\nHost: x\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in daemon.auth.items()) + "\r\n"
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a small window: the kernel buffers little
            sock.settimeout(10)
            sock.connect(("127.0.0.1", daemon.port))
            sock.setblocking(False)
            sockets.append(sock)
            with contextlib.suppress(BlockingIOError):  # what the daemon does not take stays unsent
                sock.send(head.encode() * pipelined)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


@contextlib.contextmanager
def bcrypt_flood(daemon: Daemon, count: int) -> Iterator[list[int]]:
    """``count`` clients sending the known user with a new wrong password each time; yields
    a list whose items count each client's answered requests."""
    stop = threading.Event()
    answered = [0] * count

    def flood(index: int) -> None:
        attempt = 0
        while not stop.is_set():
            attempt += 1
            scrape(daemon, 10.0, daemon.headers(USER, f"wrong-{index}-{attempt}"))
            answered[index] += 1

    threads = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)  # the flood is under way
        yield answered
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)


def login_timing(daemon: Daemon, repeats: int) -> dict[str, float]:
    """Median ms of a wrong password for the configured user and for an unknown user (new passwords each)."""
    known, unknown, statuses = [], [], set()
    for attempt in range(repeats):
        for user, times in ((USER, known), ("nobody", unknown)):
            started = time.perf_counter()
            status, _ = scrape(daemon, 30.0, daemon.headers(user, f"guess-{attempt}"))
            times.append(time.perf_counter() - started)
            statuses.add(status)
    return {
        "known_user_ms": round(statistics.median(known) * 1000, 1),
        "unknown_user_ms": round(statistics.median(unknown) * 1000, 1),
        "statuses": sorted(statuses),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="http-hardening-"))
    web = write_web_config(folder, args.cost)
    figures: dict[str, Any] = {"stalled": [], "flood": []}
    for label, web_config in (("none", None), ("basic auth", web)):
        with running_daemon(folder, web_config) as daemon:
            baseline = valid_scrapes(daemon, 2.0, args.timeout)
            figures["stalled"].append({"web_config": label, "clients": 0, **asdict(baseline)})
            for count in args.stalled:
                with stalled_clients(daemon, count, args.pipelined):
                    time.sleep(0.5)
                    result = valid_scrapes(daemon, args.seconds, args.timeout)
                figures["stalled"].append({"web_config": label, "clients": count, **asdict(result)})
                time.sleep(1.0)
            if web_config is None:
                continue
            figures["flood"].append({"clients": 0, **asdict(baseline)})
            for count in args.flood:
                with bcrypt_flood(daemon, count) as answered:
                    result = valid_scrapes(daemon, args.seconds, args.timeout)
                figures["flood"].append({"clients": count, "flood_answers": sum(answered), **asdict(result)})
                time.sleep(1.0)
            time.sleep(3.0)  # what the flood left queued is answered
            figures["timing"] = {"cost": args.cost, "repeats": args.repeats, **login_timing(daemon, args.repeats)}
    return figures


def markdown(figures: dict[str, Any], args: argparse.Namespace) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"# HTTP hardening: stalled clients, bcrypt floods, login timing ({when})",
        "",
        f"`benchmarks/http_hardening.py --seconds {args.seconds:g} --timeout {args.timeout:g}` on "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; the daemon runs "
        "the shipped example (`config/driftmon.example.yaml`) on 127.0.0.1, its default limits (8 workers). "
        f"The valid scraper scrapes /metrics on a new connection every 50 ms for {args.seconds:g} s, each scrape "
        f"at most {args.timeout:g} s (failed: timed out or not 200). Load average before: {figures['load_before']}.",
        "",
        f"## Stalled clients (each pipelines {args.pipelined} GET /metrics, never reads)",
        "",
        "| web config | stalled clients | scrapes | failed | p50 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in figures["stalled"]:
        lines.append(
            f"| {row['web_config']} | {row['clients']} | {row['count']} | {row['failed']} | "
            f"{row['p50_ms']} | {row['p99_ms']} | {row['max_ms']} |"
        )
    lines += [
        "",
        f"## bcrypt flood (basic auth, cost {args.cost}; each client a new wrong password per request)",
        "",
        "| flooding clients | flood requests answered | scrapes | failed | p50 ms | p99 ms | max ms |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in figures["flood"]:
        lines.append(
            f"| {row['clients']} | {row.get('flood_answers', 0)} | {row['count']} | {row['failed']} | "
            f"{row['p50_ms']} | {row['p99_ms']} | {row['max_ms']} |"
        )
    timing = figures["timing"]
    lines += [
        "",
        f"## Login timing (cost {timing['cost']}, median of {timing['repeats']}, new password each)",
        "",
        "| known user, wrong password ms | unknown user ms | statuses |",
        "| ---: | ---: | --- |",
        f"| {timing['known_user_ms']} | {timing['unknown_user_ms']} | {', '.join(map(str, timing['statuses']))} |",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stalled", type=lambda text: [int(n) for n in text.split(",")], default=[16, 64])
    parser.add_argument("--flood", type=lambda text: [int(n) for n in text.split(",")], default=[16, 64])
    parser.add_argument("--pipelined", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=15.0, help="valid scraping per load")
    parser.add_argument("--timeout", type=float, default=10.0, help="limit of one valid scrape")
    parser.add_argument("--cost", type=int, default=12, help="bcrypt cost of the web config's hash")
    parser.add_argument("--repeats", type=int, default=15, help="login timing: requests per kind")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    figures = measure(args)
    figures["load_before"] = [round(x, 2) for x in load_before]
    figures["load_after"] = [round(x, 2) for x in os.getloadavg()]
    text = markdown(figures, args)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
