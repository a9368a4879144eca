"""The daemon's HTTP side, over real sockets: limits, TLS, basic auth, the web config, and a
real Prometheus scraping it over HTTPS.

Every daemon is ``python -m driftmon run`` on a free 127.0.0.1 port with a one-feature
histogram monitor (evaluated once, at start). Certificates are made here (tests/certs.py).
Thread counts and RSS come from /proc/PID/status of the daemon.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import http.client
import json
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
_TESTS = str(ROOT / "tests")
if _TESTS not in sys.path:  # tests/servers.py and tests/certs.py, shared by the integration tests
    sys.path.insert(0, _TESTS)
if str(ROOT / "benchmarks") not in sys.path:  # the load client of benchmarks/http_server.py
    sys.path.insert(0, str(ROOT / "benchmarks"))

from certs import CA, Pair  # noqa: E402
from http_server import (  # noqa: E402
    concurrent_scrapes,
    idle_sockets,
    percentile,
    process_figures,
    slow_header_clients,
)
from servers import ServerProcess, eof_within, free_port, require_binary, running, wait_until  # noqa: E402

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-scrape"
HISTOGRAMS = {
    "format": "driftmon.histograms/v1",
    "features": {"age": {"kind": "numeric", "edges": [18, 30, 45, 65], "counts": [0, 400, 350, 250, 2], "missing": 1}},
}


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class Daemon:
    process: ServerProcess
    port: int
    context: ssl.SSLContext | None = None

    def request(self, path: str = "/metrics", *, auth: tuple[str, str] | None = None, method: str = "GET",
                headers: dict[str, str] | None = None, context: ssl.SSLContext | None = None, timeout: float = 10) -> Reply:
        """One request on a new connection (HTTPS with the daemon's client context when it has TLS)."""
        context = context or self.context
        if context is None:
            connection: http.client.HTTPConnection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        else:
            connection = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=context)
        all_headers = dict(headers or {})
        if auth is not None:
            all_headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        try:
            connection.request(method, path, headers=all_headers)
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def figures(self) -> tuple[int, float]:
        """(threads, RSS MB) of the daemon."""
        return process_figures(self.process.pid)


def write_monitor(folder: Path) -> Path:
    (folder / "h.json").write_text(json.dumps(HISTOGRAMS))
    config = folder / "driftmon.yaml"
    config.write_text(
        "monitors:\n  - name: m\n    schedule: 1h\n"
        "    reference: {type: histogram, path: h.json}\n    live: {type: histogram, path: h.json}\n    features: [age]\n"
    )
    return config


@contextlib.contextmanager
def start(folder: Path, *flags: str, context: ssl.SSLContext | None = None,
          auth: tuple[str, str] | None = None) -> Iterator[Daemon]:
    """A daemon with ``flags``, once it answers /-/ready (over TLS with ``context``)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [sys.executable, "-m", "driftmon", "run", "-c", str(write_monitor(folder)),
               "--web.listen-address", f"127.0.0.1:{port}", *flags]
    with running(command, log_path=folder / "daemon.log", name="driftmon") as process:
        daemon = Daemon(process, port, context)

        def ready() -> bool:
            assert process.returncode is None, process.describe()
            return daemon.request("/-/ready", auth=auth, timeout=2).status == 200

        wait_until(ready, 30, interval=0.1, message=f"driftmon ready\n{process.describe(20)}")
        yield daemon


def hashed(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


def client_context(ca: CA, pair: Pair | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca.pair.cert))
    if pair is not None:
        context.load_cert_chain(pair.cert, pair.key)
    return context


# ---------------------------------------------------------------------------------------
# limits (issue 11, defect 3): each failed on the wsgiref server


def test_idle_connections_take_no_thread_and_scrapes_still_answer(tmp_path: Path) -> None:
    """300 connections that send nothing leave the daemon's thread count where it was (the
    old server started one thread each) and a scrape meanwhile answers at once."""
    with start(tmp_path) as daemon:
        threads_before, _ = daemon.figures()
        with idle_sockets("127.0.0.1", daemon.port, 300):
            time.sleep(1.0)
            threads_idle, _ = daemon.figures()
            started = time.monotonic()
            assert daemon.request("/metrics").status == 200
            seconds = time.monotonic() - started
    assert threads_idle <= threads_before + 2, (threads_before, threads_idle)
    assert seconds < 2.0, seconds


def test_idle_and_stalled_connections_are_closed_by_the_timeouts(tmp_path: Path) -> None:
    """With --web.idle-timeout 1s and --web.read-timeout 1s, a silent connection, a kept-alive
    one after its response and one stalled mid-header are all closed by the daemon within
    a few seconds (the old server kept them forever)."""
    with start(tmp_path, "--web.idle-timeout", "1s", "--web.read-timeout", "1s") as daemon:
        silent = socket.create_connection(("127.0.0.1", daemon.port))
        stalled = socket.create_connection(("127.0.0.1", daemon.port))
        stalled.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Half: ")
        kept = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=10)
        kept.request("GET", "/-/healthy")
        assert kept.getresponse().read() == b"driftmon is Healthy.\n"
        assert kept.sock is not None
        closed = {name: eof_within(sock, 6.0) for name, sock in
                  (("silent", silent), ("stalled", stalled), ("kept-alive", kept.sock))}
        for sock in (silent, stalled):
            sock.close()
        kept.close()
        assert daemon.request("/-/healthy").status == 200
    assert all(seconds is not None and seconds < 5.0 for seconds in closed.values()), closed


def test_default_idle_timeout_is_at_most_30_seconds() -> None:
    """The defaults close an idle connection within 30 s and a stalled head sooner."""
    from driftmon.web import Limits

    limits = Limits()
    assert limits.idle_timeout <= 30
    assert limits.read_timeout <= limits.idle_timeout


def test_slow_header_clients_hold_no_worker(tmp_path: Path) -> None:
    """50 clients sending a header byte a second (slowloris) neither add threads nor delay a
    scrape: heads are buffered without a worker until complete."""
    with start(tmp_path) as daemon:
        threads_before, _ = daemon.figures()
        with slow_header_clients("127.0.0.1", daemon.port, 50, interval=0.5):
            time.sleep(1.5)
            started = time.monotonic()
            assert daemon.request("/metrics", timeout=20).status == 200
            seconds = time.monotonic() - started
            threads_slow, _ = daemon.figures()
    assert seconds < 1.0, seconds
    assert threads_slow <= threads_before + 2, (threads_before, threads_slow)


def test_oversize_headers_are_refused_with_431(tmp_path: Path) -> None:
    """A request with 100 KB of headers in 50 lines gets 431 (the old server took up to 100
    lines of 64 KB: 6 MB), a request line past the limit 414, and the daemon goes on serving."""
    with start(tmp_path) as daemon:
        big = daemon.request("/metrics", headers={f"X-Big-{i}": "a" * 2000 for i in range(50)})
        long_line = daemon.request("/metrics?" + "a" * 100_000)
        small = daemon.request("/metrics", headers={"X-Small": "a" * 1000})
    assert big.status == 431, big
    assert long_line.status == 414, long_line.status
    assert small.status == 200


def test_header_limit_is_a_flag(tmp_path: Path) -> None:
    """--web.max-header-bytes 2048 refuses 4 KB of headers with 431."""
    with start(tmp_path, "--web.max-header-bytes", "2048") as daemon:
        assert daemon.request("/metrics", headers={"X-Big": "a" * 4096}).status == 431
        assert daemon.request("/metrics", headers={"X-Ok": "a" * 512}).status == 200


@pytest.mark.parametrize(
    ("accept_encoding", "gzipped"),
    [
        ("gzip;q=0", False),
        ("gzip; q=0.0, identity", False),
        ("*;q=0", False),
        ("identity", False),
        ("gzip", True),
        ("gzip;q=0.5", True),
        ("*", True),
        ("br;q=1, gzip;q=0.1", True),
    ],
)
def test_accept_encoding_q_values_are_respected(tmp_path: Path, accept_encoding: str, gzipped: bool) -> None:
    """`gzip;q=0` means "never gzip": the body comes as identity (the old server gzipped it);
    gzip with any positive weight, or a `*` standing for it, gets gzip."""
    with start(tmp_path) as daemon:
        reply = daemon.request("/metrics", headers={"Accept-Encoding": accept_encoding})
    assert reply.status == 200
    assert (reply.headers.get("content-encoding") == "gzip") is gzipped, reply.headers
    body = gzip.decompress(reply.body) if gzipped else reply.body
    assert b"driftmon_build_info" in body


def test_200_concurrent_scrapes_complete_without_syn_retries(tmp_path: Path) -> None:
    """200 scrapes started at once on new connections all succeed with p99 below 1 s (the
    old listen backlog of 5 gave p99 4.3 s from SYN retries)."""
    with start(tmp_path) as daemon:
        results = concurrent_scrapes("127.0.0.1", daemon.port, 200)
    latencies = [seconds for status, seconds, _ in results if status == 200]
    assert len(latencies) == 200, sorted(status for status, _, _ in results)
    print(f"200 concurrent scrapes: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, p99 {percentile(latencies, 0.99) * 1000:.0f} ms")
    assert percentile(latencies, 0.99) < 1.0


def test_bad_limit_flags_exit_2(tmp_path: Path) -> None:
    """A limit flag that makes no sense is a one-line error and exit 2."""
    config = write_monitor(tmp_path)
    for flags in (["--web.read-timeout", "soon"], ["--web.workers", "0"]):
        done = subprocess.run([sys.executable, "-m", "driftmon", "run", "-c", str(config), *flags],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done
        assert len(done.stderr.strip().splitlines()) == 1 and flags[0] in done.stderr, done.stderr


# ---------------------------------------------------------------------------------------
# TLS and basic auth through --web.config.file


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("pki")
    ca, other = CA(folder), CA(folder, "other CA")
    return {
        "folder": folder,
        "ca": ca,
        "server": ca.issue("server", "localhost", server=True),
        "client": ca.issue("client", "prometheus", server=False),
        "stranger": other.issue("stranger", "prometheus", server=False),
    }


def write_web_config(path: Path, pki: dict[str, Any], **extra: Any) -> Path:
    config: dict[str, Any] = {
        "tls_server_config": {"cert_file": str(pki["server"].cert), "key_file": str(pki["server"].key)},
        "http_server_config": {"headers": {"X-Content-Type-Options": "nosniff", "Strict-Transport-Security": "max-age=60"}},
        "basic_auth_users": {"prometheus": hashed(PASSWORD)},
    }
    for key, value in extra.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = {**config.get(key, {}), **value}
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def tls_daemon(tmp_path_factory: pytest.TempPathFactory, pki: dict[str, Any]) -> Iterator[tuple[Daemon, Path]]:
    folder = tmp_path_factory.mktemp("tls")
    web = write_web_config(folder / "web.yml", pki)
    with start(folder, "--web.config.file", str(web), context=client_context(pki["ca"]),
               auth=("prometheus", PASSWORD)) as daemon:
        yield daemon, web


ROUTES = ["/", "/metrics", "/-/healthy", "/-/ready", "/api/v1/status", "/no-such-page"]


@pytest.mark.parametrize("path", ROUTES)
def test_every_route_needs_the_password(tls_daemon: tuple[Daemon, Path], path: str) -> None:
    """Over HTTPS, every path (an unknown one too) answers 401 with `WWW-Authenticate: Basic`
    without credentials or with a wrong password or user, and serves with the right one."""
    daemon, _ = tls_daemon
    for auth in (None, ("prometheus", "wrong"), ("nobody", PASSWORD)):
        reply = daemon.request(path, auth=auth)
        assert reply.status == 401, (path, auth, reply)
        assert reply.headers.get("www-authenticate", "").startswith("Basic"), reply.headers
        assert PASSWORD.encode() not in reply.body
    good = daemon.request(path, auth=("prometheus", PASSWORD))
    assert good.status == (404 if path == "/no-such-page" else 200), good


def test_post_reload_needs_the_password_too(tls_daemon: tuple[Daemon, Path]) -> None:
    """POST /-/reload is behind the same gate (401 before 403 for the disabled lifecycle API)."""
    daemon, _ = tls_daemon
    assert daemon.request("/-/reload", method="POST").status == 401
    assert daemon.request("/-/reload", method="POST", auth=("prometheus", PASSWORD)).status == 403


def test_configured_headers_are_on_every_response(tls_daemon: tuple[Daemon, Path]) -> None:
    """http_server_config.headers are sent on 200s and on 401s."""
    daemon, _ = tls_daemon
    for reply in (daemon.request("/metrics"), daemon.request("/metrics", auth=("prometheus", PASSWORD))):
        assert reply.headers.get("x-content-type-options") == "nosniff"
        assert reply.headers.get("strict-transport-security") == "max-age=60"


def test_plain_http_to_the_tls_port_fails_cleanly(tls_daemon: tuple[Daemon, Path]) -> None:
    """Plain HTTP to the HTTPS port gets a plain-text 400 and a closed connection; a client
    that sends garbage or nothing is dropped; the daemon keeps serving HTTPS."""
    daemon, _ = tls_daemon
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(4096):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"HTTPS" in answer
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as sock:
        sock.sendall(b"\x16\x03\x01\x00\x05hello")  # a broken TLS record
        with contextlib.suppress(OSError):
            sock.recv(4096)
    assert daemon.process.returncode is None
    assert daemon.request("/metrics", auth=("prometheus", PASSWORD)).status == 200


def test_plain_http_client_gets_an_error_not_a_hang(tls_daemon: tuple[Daemon, Path]) -> None:
    """An http:// client (urllib) against the TLS port gets an HTTP 400 quickly."""
    daemon, _ = tls_daemon
    started = time.monotonic()
    reply = Daemon(daemon.process, daemon.port).request("/metrics")
    assert reply.status == 400
    assert time.monotonic() - started < 5


def test_new_password_and_broken_config_apply_without_restart(tmp_path: Path, pki: dict[str, Any]) -> None:
    """Rewriting the web config changes the password for the next request; a broken edit
    refuses every connection (the TLS handshake, like exporter-toolkit's) until it is
    fixed; the process is the same throughout."""
    web = write_web_config(tmp_path / "web.yml", pki)
    with start(tmp_path, "--web.config.file", str(web), context=client_context(pki["ca"]),
               auth=("prometheus", PASSWORD)) as daemon:
        pid = daemon.process.pid
        write_web_config(web, pki, basic_auth_users={"prometheus": hashed("rotated")})
        wait_until(lambda: daemon.request("/metrics", auth=("prometheus", "rotated")).status == 200, 10,
                   message="new password accepted")
        assert daemon.request("/metrics", auth=("prometheus", PASSWORD)).status == 401
        web.write_text(web.read_text() + "\nnot_a_key: 1\n")

        def refused() -> bool:
            try:
                return daemon.request("/metrics", auth=("prometheus", "rotated")).status == 500
            except (ssl.SSLError, ConnectionError):
                return True

        wait_until(refused, 10, message="broken config refuses")
        write_web_config(web, pki, basic_auth_users={"prometheus": hashed("fixed")})
        wait_until(lambda: daemon.request("/metrics", auth=("prometheus", "fixed")).status == 200, 10,
                   message="fixed config serves")
        assert daemon.process.pid == pid and daemon.process.returncode is None
    assert "web config is invalid" in daemon.process.log()


def test_client_certificate_required(tmp_path: Path, pki: dict[str, Any]) -> None:
    """With RequireAndVerifyClientCert, a client without a certificate, or with one from
    another CA, is refused during the handshake; one with a certificate from client_ca_file
    is served."""
    web = write_web_config(
        tmp_path / "web.yml", pki, basic_auth_users=None,
        tls_server_config={"client_auth_type": "RequireAndVerifyClientCert", "client_ca_file": str(pki["ca"].pair.cert)},
    )
    good = client_context(pki["ca"], pki["client"])
    with start(tmp_path, "--web.config.file", str(web), context=good) as daemon:
        assert daemon.request("/metrics").status == 200
        for context in (client_context(pki["ca"]), client_context(pki["ca"], pki["stranger"])):
            with pytest.raises((ssl.SSLError, ConnectionError)):
                daemon.request("/metrics", context=context)
        assert daemon.request("/-/healthy").status == 200


def test_bad_web_config_at_startup_exits_2_naming_file_and_key(tmp_path: Path, pki: dict[str, Any]) -> None:
    """A web config naming a missing certificate, an unknown key or a bad bcrypt hash stops
    `driftmon run` with exit 2 and one line naming the file and the key."""
    config = write_monitor(tmp_path)
    cases = {
        "tls_server_config.cert_file": {"tls_server_config": {"cert_file": "missing.crt", "key_file": str(pki["server"].key)}},
        "basic_auth_users.prometheus": {"basic_auth_users": {"prometheus": "plain-text"}},
        "tls_server_config.min_version": {"tls_server_config": {"cert_file": str(pki["server"].cert),
                                                               "key_file": str(pki["server"].key), "min_version": "TLS14"}},
        "http_server_config.headers.X-Powered-By": {"http_server_config": {"headers": {"X-Powered-By": "me"}}},
        "colour": {"colour": "blue"},
    }
    for key, content in cases.items():
        web = tmp_path / "web.yml"
        web.write_text(yaml.safe_dump(content))
        done = subprocess.run([sys.executable, "-m", "driftmon", "run", "-c", str(config), "--web.config.file", str(web),
                               "--web.listen-address", f"127.0.0.1:{free_port()}"],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, (key, done)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and str(web) in lines[0] and key in lines[0], (key, done.stderr)
        assert "Traceback" not in done.stderr


# ---------------------------------------------------------------------------------------
# the real Prometheus scrapes driftmon over HTTPS


def prometheus_targets(url: str) -> list[dict[str, Any]]:
    with contextlib.closing(http.client.HTTPConnection(urllib.parse.urlsplit(url).netloc, timeout=5)) as connection:
        connection.request("GET", "/api/v1/targets")
        targets: list[dict[str, Any]] = json.loads(connection.getresponse().read())["data"]["activeTargets"]
        return targets


@pytest.mark.parametrize("mode", ["basic_auth", "client_cert"])
def test_prometheus_scrapes_over_https(tmp_path: Path, pki: dict[str, Any], mode: str) -> None:
    """Prometheus, configured like deploy/prometheus (scheme https, tls_config with the CA,
    basic_auth with password_file, or a client certificate), scrapes driftmon: the target is
    up and driftmon's series are in Prometheus."""
    prometheus = require_binary("prometheus")
    folder = tmp_path
    if mode == "basic_auth":
        web = write_web_config(folder / "web.yml", pki)
        (folder / "password").write_text(PASSWORD + "\n")
        job_auth: dict[str, Any] = {"basic_auth": {"username": "prometheus", "password_file": str(folder / "password")}}
        tls_config = {"ca_file": str(pki["ca"].pair.cert)}
        context, auth = client_context(pki["ca"]), ("prometheus", PASSWORD)
    else:
        web = write_web_config(
            folder / "web.yml", pki, basic_auth_users=None,
            tls_server_config={"client_auth_type": "RequireAndVerifyClientCert", "client_ca_file": str(pki["ca"].pair.cert)},
        )
        job_auth = {}
        tls_config = {"ca_file": str(pki["ca"].pair.cert), "cert_file": str(pki["client"].cert),
                      "key_file": str(pki["client"].key)}
        context, auth = client_context(pki["ca"], pki["client"]), None
    with start(folder / "driftmon", "--web.config.file", str(web), context=context, auth=auth) as daemon:
        prometheus_port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [{
                "job_name": "driftmon", "scheme": "https", "tls_config": {**tls_config, "server_name": "localhost"},
                **job_auth, "static_configs": [{"targets": [f"127.0.0.1:{daemon.port}"]}],
            }],
        }
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        url = f"http://127.0.0.1:{prometheus_port}"
        with running([prometheus, f"--config.file={folder / 'prometheus.yml'}",
                      f"--storage.tsdb.path={folder / 'prometheus-data'}", f"--web.listen-address=127.0.0.1:{prometheus_port}"],
                     name="prometheus", log_path=folder / "prometheus.log", ready_url=f"{url}/-/ready"):

            def scraped() -> dict[str, Any] | None:
                (target,) = prometheus_targets(url)
                return target if target["health"] == "up" else None

            target = wait_until(scraped, 30, interval=0.5, message=f"Prometheus scrapes driftmon over HTTPS ({mode})")
            assert target["scrapeUrl"].startswith("https://")
            with contextlib.closing(http.client.HTTPConnection(f"127.0.0.1:{prometheus_port}", timeout=5)) as connection:
                connection.request("GET", "/api/v1/query?query=driftmon_build_info")
                result = json.loads(connection.getresponse().read())["data"]["result"]
            assert result and result[0]["value"][1] == "1", result
        assert daemon.process.returncode is None


def test_pipelined_partial_request_holds_no_worker(tmp_path: Path) -> None:
    """Connections that send one whole request followed by the start of a second one that
    never ends (slowloris through pipelining) get the first answered, hold no worker for
    the second, and are closed after the read timeout; scrapes stay fast meanwhile."""
    with start(tmp_path, "--web.read-timeout", "2s", "--web.workers", "2") as daemon:
        sockets = []
        for _ in range(6):
            sock = socket.create_connection(("127.0.0.1", daemon.port), timeout=10)
            sock.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nX-Slow: ")
            sockets.append(sock)
        time.sleep(0.5)
        started = time.monotonic()
        assert daemon.request("/metrics").status == 200
        seconds = time.monotonic() - started
        first_replies = [sock.recv(65536) for sock in sockets]
        closed = [eof_within(sock, 6.0) for sock in sockets]
        for sock in sockets:
            sock.close()
    assert seconds < 1.0, seconds
    assert all(reply.startswith(b"HTTP/1.1 200") for reply in first_replies), first_replies
    assert all(after is not None for after in closed), closed


def test_request_sent_before_a_half_close_is_answered(tmp_path: Path) -> None:
    """A client that sends its request and shuts its sending side (`printf … | nc -N`) still
    gets the response."""
    with start(tmp_path) as daemon, socket.create_connection(("127.0.0.1", daemon.port), timeout=10) as sock:
        sock.sendall(b"GET /-/healthy HTTP/1.0\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"driftmon is Healthy.\n"), answer


def test_silent_and_stalled_tls_clients_do_not_block_the_port(tls_daemon: tuple[Daemon, Path]) -> None:
    """20 connections to the HTTPS port that send nothing and 20 that stop in the middle of
    a ClientHello do not delay a login over HTTPS (cheroot alone would handshake in its
    accept loop, one connection at a time)."""
    daemon, _ = tls_daemon
    silent = [socket.create_connection(("127.0.0.1", daemon.port), timeout=10) for _ in range(20)]
    stalled = [socket.create_connection(("127.0.0.1", daemon.port), timeout=10) for _ in range(20)]
    for sock in stalled:
        sock.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a ClientHello's first bytes
    try:
        started = time.monotonic()
        assert daemon.request("/metrics", auth=("prometheus", PASSWORD)).status == 200
        seconds = time.monotonic() - started
    finally:
        for sock in silent + stalled:
            sock.close()
    assert seconds < 1.0, seconds


def test_min_version_is_enforced(tmp_path: Path, pki: dict[str, Any]) -> None:
    """With min_version TLS13, a client limited to TLS 1.2 fails the handshake; TLS 1.3 works."""
    web = write_web_config(tmp_path / "web.yml", pki, basic_auth_users=None, tls_server_config={"min_version": "TLS13"})
    with start(tmp_path, "--web.config.file", str(web), context=client_context(pki["ca"])) as daemon:
        old = client_context(pki["ca"])
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises((ssl.SSLError, ConnectionError)):
            daemon.request("/metrics", context=old)
        assert daemon.request("/metrics").status == 200


def test_renewed_certificate_applies_to_new_connections(tmp_path: Path, pki: dict[str, Any]) -> None:
    """Overwriting the certificate and key files the web config names (as cert-manager
    renews a Secret) makes new connections present the new certificate, without a restart
    and without touching web.yml."""
    renewed_ca = CA(tmp_path, "renewed CA")
    renewed = renewed_ca.issue("renewed", "localhost", server=True)
    live_cert, live_key = tmp_path / "tls.crt", tmp_path / "tls.key"
    live_cert.write_bytes(pki["server"].cert.read_bytes())
    live_key.write_bytes(pki["server"].key.read_bytes())
    web = write_web_config(tmp_path / "web.yml", pki, basic_auth_users=None,
                           tls_server_config={"cert_file": str(live_cert), "key_file": str(live_key)})
    with start(tmp_path / "d", "--web.config.file", str(web), context=client_context(pki["ca"])) as daemon:
        pid = daemon.process.pid
        live_key.write_bytes(renewed.key.read_bytes())
        live_cert.write_bytes(renewed.cert.read_bytes())
        wait_until(lambda: daemon.request("/metrics", context=client_context(renewed_ca)).status == 200, 10,
                   message="renewed certificate served")
        with pytest.raises(ssl.SSLError):
            daemon.request("/metrics", context=client_context(pki["ca"]))
        assert daemon.process.pid == pid and daemon.process.returncode is None
