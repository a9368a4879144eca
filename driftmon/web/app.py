"""The HTTP endpoints: ``/metrics``, ``/-/healthy``, ``/-/ready``, ``/api/v1/status``,
``/-/reload`` and the status pages (``/``, ``/monitors/...``, rendered by
:mod:`driftmon.pages`), as one WSGI application with one table of routes.

Every route goes through the same gate: the web config's basic auth (401 with
``WWW-Authenticate: Basic``) and its response headers apply to all of them, so a new
page is one line in the table and is protected like the others.

Endpoints answer from the daemon's current snapshot and never compute: ``/metrics``
serves bytes rendered once per snapshot (see :class:`driftmon.exposition.Exposition`),
``/api/v1/status`` a JSON document cached per snapshot version.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs

from driftmon.evaluate import document
from driftmon.exposition import Exposition
from driftmon.results import Snapshot
from driftmon.web.auth import BUSY, DENIED, OK, BasicAuth, Verdict
from driftmon.web.config import WebConfig, WebConfigFile
from driftmon.web.negotiation import accepts_gzip

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
Reply = tuple[str, list[tuple[str, str]], bytes]
_TEXT = "text/plain; charset=utf-8"
_OPEN = WebConfig()  # no --web.config.file: plain HTTP, no login


class Backend(Protocol):
    """What the endpoints need from the daemon."""

    exposition: Exposition

    def snapshot(self) -> Snapshot: ...

    def ready(self) -> bool: ...

    def reload(self) -> tuple[bool, str]: ...


@dataclass(slots=True)
class _StatusCache:
    version: int = -1
    body: bytes = b""


class App:
    """The WSGI application routing every endpoint."""

    def __init__(
        self, backend: Backend, *, lifecycle: bool, web_config: WebConfigFile | None = None, page_settings: Any = None
    ) -> None:
        self.backend = backend
        self.lifecycle = lifecycle
        self.web_config = web_config
        self.page_settings = page_settings  # driftmon.pages.PageSettings; None: defaults
        self._auth = BasicAuth()
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
        web = self.web_config.current()[0] if self.web_config is not None else _OPEN
        if web is None:
            status, headers, body = _text("500 Internal Server Error", "the web config is invalid; see the log\n")
        elif web.users and (verdict := self._authorized(web, environ)) is not OK:
            if verdict is BUSY:  # too many passwords being checked (a flood of guesses): at once, not queued
                status, headers, body = _text("429 Too Many Requests", "too many logins being checked; retry\n")
                headers.append(("Retry-After", "1"))
            else:
                status, headers, body = _text("401 Unauthorized", "Unauthorized\n")
                headers.append(("WWW-Authenticate", 'Basic realm="driftmon"'))
        else:
            status, headers, body = self._route(path, method, environ)
        if web is not None:
            headers.extend(web.headers)
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [b"" if method == "HEAD" else body]

    def _route(self, path: str, method: str, environ: dict[str, Any]) -> Reply:
        route = self._routes.get(path)
        if route is None and path.startswith("/monitors/"):
            route = (("GET", "HEAD"), self._pages)  # the status pages below / (driftmon.pages)
        if route is None:
            return _text("404 Not Found", f"{path} not found; see / for the endpoints\n")
        if method == "OPTIONS":
            return "200 OK", [("Allow", ",".join(("OPTIONS", *route[0])))], b""
        if method not in route[0]:
            status, headers, body = _text("405 Method Not Allowed", f"{path} takes {' or '.join(route[0])}\n")
            headers.append(("Allow", ",".join(route[0])))
            return status, headers, body
        try:
            return route[1](environ)
        except Exception:  # a bug in one endpoint must not take the server down
            log.exception("error serving %s", path)
            return _text("500 Internal Server Error", "internal error; see the log\n")

    def _authorized(self, web: WebConfig, environ: dict[str, Any]) -> Verdict:
        scheme, _, credentials = (environ.get("HTTP_AUTHORIZATION") or "").partition(" ")
        if scheme.lower() != "basic":
            return DENIED
        try:
            user, sep, password = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")
        except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 once decoded
            return DENIED
        if not sep:
            return DENIED
        return self._auth.check(web.users, user, password, client=environ.get("REMOTE_ADDR") or "")

    def _metrics(self, environ: dict[str, Any]) -> Reply:
        names = parse_qs(environ.get("QUERY_STRING", "")).get("name[]")
        # The encoding is negotiated here (q-values honoured), the exporter only told yes or no.
        gzip = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING"))
        body, headers = self.backend.exposition.render(environ.get("HTTP_ACCEPT"), "gzip" if gzip else None, names)
        headers.append(("Vary", "Accept-Encoding"))
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
        status, content_type, body = render(_page_path(environ), self.backend.snapshot(), settings)
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


def _page_path(environ: Mapping[str, Any]) -> str:
    """The request's path as the names in it were written: WSGI gives PATH_INFO as bytes read
    as Latin-1 (a feature named with U+200B arrives as mojibake), and cheroot leaves an
    encoded slash as ``%2F`` (so a name holding ``/`` stays one path segment)."""
    raw = environ.get("PATH_INFO") or "/"
    try:
        path = raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        path = raw  # not UTF-8 bytes: no name matches, the page is a 404
    return path


def _text(status: str, text: str) -> Reply:
    return status, [("Content-Type", _TEXT)], text.encode()
