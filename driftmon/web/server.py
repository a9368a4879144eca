"""The bounded HTTP(S) server: cheroot, with driftmon's limits.

cheroot gives a fixed worker pool, a selector holding idle keep-alive connections without a
thread each, a real listen backlog, header-size limits and TLS. driftmon adds a gate in
front of the workers, in cheroot's selector thread, so that only complete requests ever
reach a worker:

- a connection is read without blocking until its request is complete: line, headers and
  body (:mod:`driftmon.web.framing`; or too large: 431, 413); idle sockets, slow-header
  (slowloris) and slow-body clients wait in the selector, costing a file descriptor and a
  buffer, never a thread (a client expecting ``100 Continue`` gets it from there);
- the request must be complete within ``read_timeout`` of its first byte, TLS handshake
  included, and a connection without a request is closed after ``idle_timeout``;
- the TLS handshake runs there too, non-blocking, with the SSLContext of the web config in
  force when the connection arrived (cheroot would run it blocking in its accept loop,
  where one silent client stalls every other);
- at most ``max_connections`` connections are open: a new one beyond it evicts the
  longest-idle one, so an idle flood can never lock a scraper out.

The write side is the selector's too: a worker writes a reply into the connection's
outbox (:class:`_Outbox`) and sends what the socket takes without blocking; the rest is
sent by the selector thread as the client reads. A connection's next pipelined request
is read only once its reply is sent, so a client that pipelines and never reads holds one
reply in memory and its socket, never a worker; it is closed after ``idle_timeout``
without progress (or evicted as the longest idle).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import selectors
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

from cheroot import errors as cheroot_errors
from cheroot.connections import ConnectionManager
from cheroot.server import HeaderReader, HTTPConnection, HTTPRequest
from cheroot.ssl import Adapter
from cheroot.wsgi import Server as WSGIServer

from driftmon.errors import ConfigError, DriftmonError
from driftmon.logs import event
from driftmon.web import framing
from driftmon.web.config import WebConfigFile

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limits:
    """How much the server takes on; each has a ``--web.*`` flag (docs/operations.md, "Exposing driftmon")."""

    max_connections: int = 512  # open connections; a new one beyond it evicts the longest idle
    workers: int = 8  # threads serving requests (idle connections need none)
    read_timeout: float = 10.0  # seconds for a request's line and headers, TLS handshake included
    idle_timeout: float = 30.0  # seconds a connection may sit without a request
    max_header_bytes: int = 64 * 1024  # request line + headers; beyond: 431 (414 for the line)
    backlog: int = 1024  # listen queue (the kernel caps it at net.core.somaxconn)

    def __post_init__(self) -> None:
        for name in ("max_connections", "workers", "max_header_bytes", "backlog"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--web.{name.replace('_', '-')} must be at least 1")
        for name in ("read_timeout", "idle_timeout"):
            if not 0 < getattr(self, name) <= 86400:
                raise ConfigError(f"--web.{name.replace('_', '-')} must be between 0 and 1d")


def parse_listen_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) to (host, port); ``:PORT`` listens on all interfaces."""
    host, sep, port_text = address.rpartition(":")
    if sep and port_text.isdigit() and int(port_text) > 65535:
        raise ConfigError(f"--web.listen-address {address!r}: port {int(port_text)} is out of range: use 1-65535")
    if not sep or not port_text.isdigit():
        raise ConfigError(
            f"--web.listen-address {address!r}: expected HOST:PORT or :PORT, e.g. :9847 or 127.0.0.1:9847"
        )
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port_text)


class _HeaderReader(HeaderReader):
    """cheroot's, refusing a first header line that continues nothing (cheroot failed on it
    with an internal error, answered 500; a fuzz finding): 400 instead."""

    def __call__(self, rfile: Any, hdict: Any = None) -> Any:
        buffered = getattr(rfile, "rfile", rfile)  # under cheroot's SizeCheckWrapper: the gate filled it
        first = buffered.peek(1)[:1] if hasattr(buffered, "peek") else b""
        if first in (b" ", b"\t"):
            raise ValueError("Illegal continuation line.")
        return super().__call__(rfile, hdict)


class _Request(HTTPRequest):
    header_reader = _HeaderReader()

    def read_request_headers(self) -> bool:
        try:
            ok: bool = super().read_request_headers()  # type: ignore[no-untyped-call]
        except cheroot_errors.MaxSizeExceeded:
            # cheroot says 413 for oversize headers, as for an oversize body; 431 is the
            # status for exactly this (a body over the limit keeps its 413).
            self.close_connection = True
            self.simple_response("431 Request Header Fields Too Large", "Request Header Fields Too Large")
            return False
        return ok


class _Outbox:
    """A connection's write side (cheroot's ``wfile``): what a worker writes for a reply is
    kept, as the bytes written (a /metrics body is the snapshot's own bytes, not a copy), and
    sent without blocking; what the socket does not take at once waits for the selector to
    see the client read. One reply at a time: the next pipelined request is read only when
    this one is sent, so a client that does not read holds one reply, never a worker."""

    def __init__(self, tls: bool) -> None:
        self.chunks: collections.deque[bytes | bytearray] = collections.deque()
        self.offset = 0  # of the first chunk, already sent
        # A TLS write that would block must be retried with the same bytes: fixed slices.
        self.slice = 16384 if tls else 1 << 20
        self.bytes_written = 0  # cheroot's statistics read it
        self.continued = False  # the gate sent the request's "100 Continue"

    def write(self, data: bytes) -> None:
        if not data or (self.continued and data == _CONTINUE):
            return
        self.bytes_written += len(data)
        last = self.chunks[-1] if self.chunks else None
        if (
            len(data) < 4096
            and isinstance(last, bytearray)
            and len(last) < 65536
            and not (last is self.chunks[0] and self.offset)
        ):
            last += data  # status line, headers and a small body in one segment
        else:
            self.chunks.append(bytearray(data) if len(data) < 4096 else data)

    def flush(self) -> None:
        pass

    @property
    def pending(self) -> bool:
        return bool(self.chunks)

    def send(self, sock: socket.socket) -> bool:
        """Send what a non-blocking ``sock`` takes now; True once everything is sent.
        OSError: the connection broke."""
        while self.chunks:
            chunk = self.chunks[0]
            try:
                sent = sock.send(memoryview(chunk)[self.offset : self.offset + self.slice])
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                return False
            self.offset += sent
            if self.offset >= len(chunk):
                self.chunks.popleft()
                self.offset = 0
        return True


class _Connection(HTTPConnection):
    """cheroot's connection, with the state of the gate."""

    RequestHandlerClass = _Request
    tls = False

    def __init__(self, server: Any, sock: Any, makefile: Any) -> None:
        super().__init__(server, sock, makefile)
        self.tls_done = not self.tls
        self.head = bytearray()  # bytes of the next request read by the gate so far
        self.head_due: float | None = None  # when the head must be complete
        self.wfile: _Outbox = _Outbox(self.tls)
        self.closing = False  # close once the reply is sent

    def communicate(self) -> bool:
        self.closing = not super().communicate()  # type: ignore[no-untyped-call]
        return True  # the gatekeeper sends the reply, then closes or reads the next request

    def close(self) -> None:
        if self.wfile.pending:  # an error reply cheroot closes after: what the socket takes now
            with contextlib.suppress(OSError, ValueError):
                self.socket.setblocking(False)
                self.wfile.send(self.socket)
        super().close()


class _TLSConnection(_Connection):
    tls = True


_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_PLAIN_HTTP_REPLY = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    b"Content-Length: 29\r\n\r\nThis port speaks HTTPS only.\n"
)


class _Connections(ConnectionManager):
    """cheroot's selector loop, with the gate: parks connections until a complete request
    is buffered, evicts beyond max_connections, closes heads that overrun their time."""

    server: _Server

    def __init__(self, server: _Server) -> None:
        super().__init__(server)
        # cheroot's type stubs leave out its private parts used here: the selector, and the
        # two hooks overridden below.
        self.selector: Any = vars(self)["_selector"]

    def _from_server_socket(self, server_socket: socket.socket) -> None:
        conn = super()._from_server_socket(server_socket)  # type: ignore[misc]
        if conn is None:
            return None
        parked = [(c.last_used, fd, c) for fd, c in self.selector.connections if c is not self.server]
        if len(parked) >= self.server.limits.max_connections:
            _, fd, oldest = min(parked, key=lambda item: item[0])
            self.selector.unregister(fd)
            oldest.close()
        self.put(conn)
        return None

    def _expire(self, threshold: float) -> None:
        super()._expire(threshold)  # type: ignore[misc]  # idle: no byte for idle_timeout
        now = time.monotonic()
        late = [
            (fd, c) for fd, c in self.selector.connections if c is not self.server and c.head_due and c.head_due <= now
        ]
        for fd, conn in late:
            self.selector.unregister(fd)
            conn.close()

    def replied(self, conn: _Connection) -> None:
        """A worker wrote a reply (or the socket can take more of one): send what the socket
        takes without blocking; the rest waits in the selector for the client to read. Once
        all is sent, the connection closes or goes back to reading the next request."""
        try:
            conn.socket.setblocking(False)
            sent = conn.wfile.send(conn.socket)
        except OSError:
            conn.close()
            return
        conn.last_used = time.time()  # idle_timeout counts from the last progress
        conn.wfile.continued = False
        if not sent:
            self.selector.register(conn.socket.fileno(), selectors.EVENT_WRITE, data=conn)
        elif conn.closing or not self.server.ready:
            conn.close()
        else:
            self.put(conn)  # the next pipelined request, or back to the selector

    def gate(self, conn: _Connection) -> bool:
        """Read what ``conn`` has sent without blocking; True once a whole request (head and
        body, see driftmon.web.framing) or more than the limits allow is buffered, so a
        worker can take it without waiting for the client. Otherwise the connection goes
        back to the selector (or is closed) and False is returned."""
        rfile = conn.rfile  # cheroot's reader is _pyio's BufferedReader: its buffer is reachable
        if rfile.has_data():  # pipelined: (part of) the next request came with the last one
            with rfile._read_lock:
                conn.head += rfile._read_buf[rfile._read_pos :]
                rfile._reset_read_buf()
        sock = conn.socket
        limit, max_body = self.server.limits.max_header_bytes, self.server.max_request_body_size
        ended: str | None = None  # why no more bytes can come
        try:
            sock.setblocking(False)
            if not conn.tls_done:
                self._handshake(conn)
            while not (complete := framing.request_ready(conn.head, limit, max_body)):
                chunk = sock.recv(65536)
                if not chunk:
                    ended = "end of stream"
                    break
                conn.head += chunk
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            pass  # everything sent so far is read
        except OSError as error:
            ended = str(error)
        complete = framing.request_ready(conn.head, limit, max_body)
        if ended is not None and not complete:
            if conn.head:  # a client closing between requests is the normal end of keep-alive
                event(log, "http connection closed in the middle of a request", level=logging.DEBUG, reason=ended)
            conn.close()
            return False
        if complete:
            with rfile._read_lock:  # hand the request to cheroot's reader
                rfile._read_buf = rfile._read_buf[rfile._read_pos :] + bytes(conn.head)
                rfile._read_pos = 0
            conn.head, conn.head_due = bytearray(), None
            sock.settimeout(self.server.timeout)
            return True
        if not conn.wfile.continued and framing.wants_continue(conn.head):
            # The client waits for a 100 before its body: send it now (cheroot's comes later, dropped).
            with contextlib.suppress(OSError):
                sock.send(_CONTINUE)
            conn.wfile.continued = True
        if conn.head_due is None:
            conn.head_due = time.monotonic() + self.server.limits.read_timeout
        self.selector.register(sock.fileno(), selectors.EVENT_READ, data=conn)
        return False

    @staticmethod
    def _handshake(conn: _Connection) -> None:
        sock = conn.socket
        if conn.head_due is None:
            conn.head_due = time.monotonic() + conn.server.limits.read_timeout
        try:
            sock.do_handshake()
        except ssl.SSLError as error:
            if isinstance(error, ssl.SSLWantReadError | ssl.SSLWantWriteError):
                raise
            if "http request" in str(error).lower():
                # Plain HTTP to the TLS port: say so in plain HTTP, then close.
                with contextlib.suppress(OSError):
                    socket.socket.send(sock, _PLAIN_HTTP_REPLY)
            raise OSError(f"TLS handshake failed: {error}") from None
        conn.tls_done = True


class _TLSAdapter(Adapter):
    """Wraps each new connection with the SSLContext in force, without handshaking yet."""

    def __init__(self, web_config: WebConfigFile) -> None:
        super().__init__("", "")
        self.web_config = web_config

    def bind(self, sock: socket.socket) -> socket.socket:
        return sock

    def wrap(self, sock: socket.socket) -> tuple[socket.socket, dict[str, str]]:
        _, context = self.web_config.current()
        if context is None:  # the web config turned bad: refuse until it is fixed
            raise cheroot_errors.FatalSSLAlert("the web config is invalid")
        wrapped = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return wrapped, {"wsgi.url_scheme": "https", "HTTPS": "on"}

    def get_environ(self, sock: socket.socket) -> dict[str, str]:  # type: ignore[override]
        return {"wsgi.url_scheme": "https", "HTTPS": "on"}

    def makefile(self, sock: socket.socket, mode: str = "r", bufsize: int = -1) -> Any:
        from cheroot.makefile import StreamReader, StreamWriter

        return (StreamReader if "r" in mode else StreamWriter)(sock, mode, bufsize if bufsize > 0 else 8192)


class _Server(WSGIServer):
    ConnectionClass = _Connection

    def __init__(self, bind_addr: tuple[str, int], app: Any, limits: Limits, web_config: WebConfigFile | None) -> None:
        super().__init__(
            bind_addr,
            app,
            numthreads=limits.workers,
            max=limits.workers,
            request_queue_size=limits.backlog,
            timeout=limits.idle_timeout,  # type: ignore[arg-type]  # seconds, fractions work
            accepted_queue_size=limits.max_connections,
            shutdown_timeout=1,  # SIGTERM must end the process within 10 s, evaluations first
        )
        self.limits = limits
        self.keep_alive_conn_limit = limits.max_connections
        self.max_request_header_size = limits.max_header_bytes
        self.max_request_body_size = 1024 * 1024
        self.server_name = "driftmon"
        self.expiration_interval = min(0.5, limits.read_timeout / 4)
        if web_config is not None and web_config.tls:
            self.ssl_adapter = _TLSAdapter(web_config)

    def process_conn(self, conn: _Connection) -> None:
        if conn.wfile.pending:  # the selector saw the socket writable
            self.gatekeeper.replied(conn)
        elif self.gatekeeper.gate(conn):
            super().process_conn(conn)

    def put_conn(self, conn: _Connection) -> None:  # a worker is done with the request
        self.gatekeeper.replied(conn)

    def prepare(self) -> None:
        super().prepare()
        # Swap in driftmon's connection manager (cheroot builds its own in prepare()).
        stock = vars(self)["_connections"]
        self.gatekeeper = vars(self)["_connections"] = _Connections(self)
        stock.close()

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        # Client mistakes (resets, bad TLS, timeouts) are routine on an exposed port.
        event(log, "http server", level=logging.DEBUG, detail=msg.strip())


@dataclass(slots=True)
class HTTPServer:
    """A running server: stop() closes the listener and every connection."""

    server: _Server
    thread: threading.Thread
    scheme: str

    @property
    def port(self) -> int:
        port: int = self.server.bind_addr[1]
        return port

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(timeout=2)  # its threads are daemons: nothing waits beyond this


def start(address: str, app: Any, limits: Limits, web_config: WebConfigFile | None) -> HTTPServer:
    """Bind ``address`` and serve ``app`` from background threads (HTTPS when the web config
    has ``tls_server_config``). A bad address raises ConfigError; a port in use, DriftmonError."""
    host, port = parse_listen_address(address)
    tls = web_config is not None and web_config.tls
    candidates = [("::", port), ("0.0.0.0", port)] if host == "" else [(host, port)]
    last: OSError | None = None
    for bind_addr in candidates:
        server = _Server(bind_addr, app, limits, web_config)
        if tls:
            server.ConnectionClass = _TLSConnection
        try:
            _in_daemon_thread(server.prepare)
        except OSError as error:  # no IPv6 here: IPv4 only; or the port is taken
            last = error
            continue
        thread = threading.Thread(target=server.serve, name="http", daemon=True)
        thread.start()
        return HTTPServer(server, thread, "https" if tls else "http")
    assert last is not None
    raise DriftmonError(f"cannot listen on {address}: {last.strerror or last}") from None


def _in_daemon_thread(function: Any) -> None:
    """Run ``function`` in a daemon thread and wait for it, raising what it raised.

    Threads inherit daemon status from the thread that starts them, and cheroot starts its
    workers in prepare() (and its helper thread in serve()): started from daemon threads,
    none of them can keep the process alive if driftmon exits without stopping the server.
    """
    raised: list[BaseException] = []

    def run() -> None:
        try:
            function()
        except BaseException as error:  # handed to the caller
            raised.append(error)

    thread = threading.Thread(target=run, name="http-prepare", daemon=True)
    thread.start()
    thread.join()
    if raised:
        raise raised[0]
