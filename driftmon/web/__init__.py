"""driftmon's HTTP side: the endpoints (:mod:`.app`), the bounded server that serves them
(:mod:`.server`, with :mod:`.framing` telling where a request ends), the web config with
TLS and basic auth (:mod:`.config`), the password checks (:mod:`.auth`) and content
negotiation (:mod:`.negotiation`)."""

from driftmon.web.app import App, Backend
from driftmon.web.config import WebConfigFile
from driftmon.web.server import HTTPServer, Limits, parse_listen_address, start

__all__ = ["App", "Backend", "HTTPServer", "Limits", "WebConfigFile", "parse_listen_address", "start"]
