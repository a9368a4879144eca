"""The HTTP endpoints: ``/metrics``, ``/-/healthy``, ``/-/ready``, ``/api/v1/status``,
``/-/reload`` and the status pages (``/``, ``/monitors/...``, rendered by
:mod:`driftmon.pages`), served by a threaded wsgiref server.

Endpoints answer from the daemon's current snapshot and never compute: ``/metrics``
serves bytes rendered once per snapshot (see :class:`driftmon.exporter.Exposition`),
``/api/v1/status`` a JSON document cached per snapshot version.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any, Protocol
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from driftmon.errors import ConfigError, DriftmonError
from driftmon.evaluate import document
from driftmon.exporter import Exposition, Snapshot

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
Reply = tuple[str, list[tuple[str, str]], bytes]
_TEXT = "text/plain; charset=utf-8"


class Backend(Protocol):
    """What the endpoints need from the daemon."""

    exposition: Exposition

    def snapshot(self) -> Snapshot: ...

    def ready(self) -> bool: ...

    def reload(self) -> tuple[bool, str]: ...


def parse_listen_address(address: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) to (host, port); ``:PORT`` listens on all interfaces."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(
            f"--web.listen-address {address!r}: expected HOST:PORT or :PORT, e.g. :9847 or 127.0.0.1:9847"
        )
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port_text)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    """One thread per request; threads never keep the process alive."""

    daemon_threads = True


class _ThreadingServer6(_ThreadingServer):
    address_family = socket.AF_INET6


class _DualStackServer(_ThreadingServer6):
    """All interfaces, IPv6 and IPv4 (what ``:PORT`` means to Go exporters too)."""

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


class _Handler(WSGIRequestHandler):
    """Requests go to the debug log instead of stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http %s", format % args)


@dataclass(slots=True)
class _StatusCache:
    version: int = -1
    body: bytes = b""


class App:
    """The WSGI application routing every endpoint."""

    def __init__(self, backend: Backend, *, lifecycle: bool, page_settings: Any = None) -> None:
        self.backend = backend
        self.lifecycle = lifecycle
        self.page_settings = page_settings  # driftmon.pages.PageSettings; None: defaults
        self._status = _StatusCache()
        self._status_lock = threading.Lock()
        self._routes: dict[str, tuple[tuple[str, ...], Callable[[dict[str, Any]], Reply]]] = {
            "/": (("GET", "HEAD"), self._pages),
            "/metrics": (("GET", "HEAD"), self._metrics),
            "/-/healthy": (("GET", "HEAD"), self._healthy),
            "/-/ready": (("GET", "HEAD"), self._ready),
            "/api/v1/status": (("GET", "HEAD"), self._status_json),
            "/-/reload": (("POST", "PUT"), self._reload),
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        route = self._routes.get(path)
        if route is None and path.startswith("/monitors/"):
            route = (("GET", "HEAD"), self._pages)  # the status pages below / (driftmon.pages)
        if route is None:
            status, headers, body = _text("404 Not Found", f"{path} not found; see / for the endpoints\n")
        elif method == "OPTIONS":
            status, headers, body = "200 OK", [("Allow", ",".join(("OPTIONS", *route[0])))], b""
        elif method not in route[0]:
            status, headers, body = _text("405 Method Not Allowed", f"{path} takes {' or '.join(route[0])}\n")
            headers.append(("Allow", ",".join(route[0])))
        else:
            try:
                status, headers, body = route[1](environ)
            except Exception:  # a bug in one endpoint must not take the server down
                log.exception("error serving %s", path)
                status, headers, body = _text("500 Internal Server Error", "internal error; see the log\n")
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [b"" if method == "HEAD" else body]

    def _metrics(self, environ: dict[str, Any]) -> Reply:
        names = parse_qs(environ.get("QUERY_STRING", "")).get("name[]")
        body, headers = self.backend.exposition.render(
            environ.get("HTTP_ACCEPT"), environ.get("HTTP_ACCEPT_ENCODING"), names
        )
        return "200 OK", headers, body

    def _healthy(self, environ: dict[str, Any]) -> Reply:
        return _text("200 OK", "driftmon is Healthy.\n")

    def _ready(self, environ: dict[str, Any]) -> Reply:
        if self.backend.ready():
            return _text("200 OK", "driftmon is Ready.\n")
        return _text("503 Service Unavailable", "driftmon is not ready.\n")

    def _status_json(self, environ: dict[str, Any]) -> Reply:
        snapshot = self.backend.snapshot()
        cached = self._status
        if cached.version != snapshot.version:
            with self._status_lock:
                cached = self._status
                if cached.version != snapshot.version:
                    text = json.dumps(document(snapshot.results()), allow_nan=False)
                    cached = self._status = _StatusCache(snapshot.version, text.encode() + b"\n")
        return "200 OK", [("Content-Type", "application/json")], cached.body

    def _reload(self, environ: dict[str, Any]) -> Reply:
        if not self.lifecycle:
            return _text("403 Forbidden", "Lifecycle API is not enabled; start driftmon with --web.enable-lifecycle.\n")
        ok, message = self.backend.reload()
        if ok:
            return _text("200 OK", message + "\n")
        return _text("500 Internal Server Error", f"failed to reload config: {message}\n")

    def _pages(self, environ: dict[str, Any]) -> Reply:
        """Status pages: rendered from the snapshot by driftmon.pages, never evaluating."""
        from driftmon.pages import PageSettings, render

        settings = self.page_settings if self.page_settings is not None else PageSettings()
        status, content_type, body = render(environ.get("PATH_INFO") or "/", self.backend.snapshot(), settings)
        return status, [("Content-Type", content_type), *_PAGE_HEADERS], body


# Defence in depth beside autoescaping: no script, frame or outside resource on the pages.
_PAGE_HEADERS = [
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
]


def _text(status: str, text: str) -> Reply:
    return status, [("Content-Type", _TEXT)], text.encode()


def _bind(host: str, port: int, app: App) -> WSGIServer:
    if host == "" and socket.has_ipv6:
        try:
            return make_server("::", port, app, server_class=_DualStackServer, handler_class=_Handler)
        except OSError:
            pass  # no IPv6 here: IPv4 only
    server_class = _ThreadingServer6 if ":" in host else _ThreadingServer
    return make_server(host, port, app, server_class=server_class, handler_class=_Handler)


def start(address: str, app: App) -> tuple[WSGIServer, threading.Thread]:
    """Bind ``address`` and serve ``app`` from a background thread."""
    host, port = parse_listen_address(address)
    try:
        server = _bind(host, port, app)
    except OSError as error:
        raise DriftmonError(f"cannot listen on {address}: {error.strerror or error}") from None
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    return server, thread
