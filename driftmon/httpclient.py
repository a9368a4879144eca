"""Outgoing HTTP: the one urllib opener every driftmon client uses (the Prometheus source,
Pushgateway pushes).

It follows redirects as urllib does, with one rule added: a redirect to another origin
(scheme, host or port differ) carries no credentials. ``Authorization``,
``Proxy-Authorization`` and ``Cookie`` are dropped before the next request, and stay dropped
for every later hop, as Prometheus (Go's net/http) drops them when a redirect leaves the
host it was configured for. A redirect within the origin keeps them (a Prometheus behind a
path prefix that redirects ``/api`` to ``/prefix/api``).
"""

from __future__ import annotations

import urllib.parse
import urllib.request
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ssl
    from http.client import HTTPMessage

CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of ``url``, the port made explicit; host lowercased."""
    parsed = urllib.parse.urlsplit(url)
    scheme = parsed.scheme.lower()
    try:
        port = parsed.port
    except ValueError:
        port = None
    return scheme, (parsed.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


class _CredentialsStayHome(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and origin(req.full_url) != origin(new.full_url):
            for name in [name for name in new.headers if name.lower() in CREDENTIAL_HEADERS]:
                del new.headers[name]
            for name in [name for name in new.unredirected_hdrs if name.lower() in CREDENTIAL_HEADERS]:
                del new.unredirected_hdrs[name]
        return new


def open_url(request: urllib.request.Request, timeout: float, context: ssl.SSLContext | None = None) -> Any:
    """``urllib.request.urlopen(request)`` whose redirects never take credentials to another origin.

    Raises what urlopen raises (HTTPError, URLError, OSError).
    """
    handlers: list[urllib.request.BaseHandler] = [_CredentialsStayHome()]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers).open(request, timeout=timeout)
