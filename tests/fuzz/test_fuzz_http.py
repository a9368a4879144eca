"""Fuzzed raw HTTP against a real daemon on 127.0.0.1: pipelined requests of odd methods,
paths, versions, bodies and headers (random and garbage ``Authorization`` above all), sent in
random pieces, then read whole, read in part, left unread, half-closed or reset.

Whatever a case sends, after it: the daemon is still running, a valid scrape on a new
connection answers 200 within ``SCRAPE_SECONDS``, whatever the case read back starts as an
HTTP reply and is no 500 (cheroot's answer to an error of its own), and the daemon's log
has no traceback and no error line. Two daemons: no web config (the default) and basic auth
(bcrypt cost 4, so guesses are cheap to try). Budget: ``DRIFTMON_FUZZ_EXAMPLES`` cases per
daemon (see harness.py; run_long.py for more).
"""

from __future__ import annotations

import base64
import contextlib
import socket
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import OUTCOMES, fuzz_settings

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.insert(0, str(ROOT / "benchmarks"))

from http_hardening import PASSWORD, USER, Daemon, running_daemon, scrape, write_web_config  # noqa: E402

SCRAPE_SECONDS = 5.0
READ_SECONDS = 2.0

METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE", "PATCH", "TRACE", "get", "G\x00T", ""])
PATHS = st.sampled_from(
    [
        "/metrics",
        "/",
        "/-/healthy",
        "/-/ready",
        "/api/v1/status",
        "/-/reload",
        "/monitors/credit-model",
        "/monitors/credit-model/features/age",
        "/metrics?name[]=driftmon_build_info",
        "/nowhere",
        "*",
        "http://x/metrics",
        "/%00",
        "/%ff%fe",
        "/..%2f..%2fetc/passwd",
        "//",
        "/metrics?" + "a" * 3000,
    ]
) | st.text(max_size=20).map(lambda text: "/" + text)
VERSIONS = st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "HTTP/1.1x", "", "FTP/1.0"])


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode("utf-8", "surrogatepass")).decode()


AUTHORIZATION = st.one_of(
    st.just(_basic(USER, PASSWORD)),
    st.builds(_basic, st.sampled_from([USER, "nobody", "", "a" * 300]), st.text(max_size=40)),
    st.builds(lambda raw: "Basic " + base64.b64encode(raw).decode(), st.binary(max_size=60)),
    st.builds(lambda text: "Basic " + text, st.text(max_size=40)),
    st.sampled_from(
        [
            "Basic",
            "Basic ",
            "basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
            "Bearer token",
            "Digest x",
            "",
            "Basic ====",
            "Basic " + "A" * 20000,
        ]
    ),
    st.text(max_size=60),
)
HEADER_NAMES = st.sampled_from(
    [
        "Host",
        "Accept",
        "Accept-Encoding",
        "Connection",
        "Content-Type",
        "Expect",
        "X-Forwarded-For",
        "Cookie",
        "Content-Length",
        "Transfer-Encoding",
        "Authorization",
        " Host",
        "Bad Name",
        "X\x7f",
        "",
    ]
)
HEADER_VALUES = st.sampled_from(
    [
        "gzip",
        "gzip;q=0, identity;q=0",
        "close",
        "keep-alive",
        "100-continue",
        "chunked",
        "-1",
        "1e9",
        "99999999999999999999",
        "application/openmetrics-text",
        "text/plain;version=0.0.4",
        "x" * 5000,
    ]
) | st.text(max_size=30)


@st.composite
def requests(draw: Any) -> bytes:
    """One request's bytes: a line, headers and maybe a body, well formed or not."""
    line = f"{draw(METHODS)} {draw(PATHS)} {draw(VERSIONS)}".encode("utf-8", "surrogatepass")
    headers = [(b"Host", b"127.0.0.1")] if draw(st.booleans()) else []
    if draw(st.integers(0, 3)):
        headers.append((b"Authorization", draw(AUTHORIZATION).encode("utf-8", "surrogatepass")))
    for name, value in draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=4)):
        headers.append((name.encode("latin-1"), value.encode("utf-8", "surrogatepass")))
    body = draw(st.binary(max_size=200))
    framing = draw(st.sampled_from(["none", "length", "wrong-length", "chunked", "chunked-garbage"]))
    if framing == "length":
        headers.append((b"Content-Length", str(len(body)).encode()))
    elif framing == "wrong-length":
        headers.append((b"Content-Length", str(len(body) + draw(st.integers(-50, 50))).encode()))
    elif framing.startswith("chunked"):
        headers.append((b"Transfer-Encoding", b"chunked"))
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if framing == "chunked" else b"zz\r\n" + body
    newline = draw(st.sampled_from([b"\r\n", b"\r\n", b"\n"]))
    head = newline.join([line, *(name + b": " + value for name, value in headers)]) + newline + newline
    return head + (body if framing != "none" or draw(st.booleans()) else b"")


ENDINGS = st.sampled_from(["read", "read", "read-part", "no-read", "half-close", "reset"])


@st.composite
def conversations(draw: Any) -> tuple[list[bytes], str]:
    """Pipelined requests cut into pieces sent apart, and how the client ends."""
    data = b"".join(draw(st.lists(requests(), min_size=1, max_size=6)))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=4)))
    pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True) if b > a]
    return pieces, draw(ENDINGS)


def converse(daemon: Daemon, pieces: list[bytes], ending: str) -> bytes:
    """Play one conversation; what the client read back."""
    received = b""
    with socket.create_connection(("127.0.0.1", daemon.port), timeout=READ_SECONDS) as sock:
        for piece in pieces:
            try:
                sock.sendall(piece)
            except OSError:
                return received  # the daemon closed (an error reply then close): fine
            time.sleep(0.005)
        if ending == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return received
        if ending == "no-read":
            return received
        if ending == "half-close":
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + READ_SECONDS
        with contextlib.suppress(OSError):
            while time.monotonic() < deadline and not (ending == "read-part" and received):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
    return received


class Watched:
    """A daemon and how far its log has been checked."""

    def __init__(self, daemon: Daemon, process_alive: Any) -> None:
        self.daemon, self.alive, self.offset = daemon, process_alive, 0

    def assert_healthy(self) -> None:
        assert self.alive(), "the daemon died"
        status, seconds = scrape(self.daemon, SCRAPE_SECONDS)
        assert status == 200, (status, seconds)
        with self.daemon.log.open("rb") as log:
            log.seek(self.offset)
            new = log.read()
        self.offset += len(new)
        text = new.decode("utf-8", "replace")
        assert "Traceback" not in text, text[-3000:]
        assert "level=error" not in text, text[-3000:]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module", params=["open", "basic-auth"])
def watched(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    folder = tmp_path_factory.mktemp("fuzz-http")
    web = write_web_config(folder, 4) if request.param == "basic-auth" else None
    with running_daemon(folder, web, ROOT / "config" / "driftmon.example.yaml", "--web.enable-lifecycle") as daemon:
        yield Watched(daemon, lambda: _alive(daemon.pid))


@fuzz_settings()
@given(conversation=conversations())
def test_raw_http_never_hurts_the_daemon(watched: Watched, conversation: tuple[list[bytes], str]) -> None:
    """Any bytes, any pacing, any ending: the daemon stays up, answers a valid scrape at once,
    replies only in HTTP, and logs no traceback or error."""
    pieces, ending = conversation
    received = converse(watched.daemon, pieces, ending)
    OUTCOMES[f"http case {ending}"] += 1
    if received:
        assert received.startswith(b"HTTP/1."), received[:200]
        assert received[9:12] != b"500", (pieces, received[:200])  # cheroot's answer to its own errors
        OUTCOMES["http first reply " + received[9:12].decode("latin-1")] += 1
    watched.assert_healthy()
