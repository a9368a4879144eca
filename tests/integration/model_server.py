"""A small "model server" for the tests: counts the rows it is sent with driftmon.instrument.

    python model_server.py PROFILE.json PORT [IDLE_PROFILE.json]

``GET /metrics`` serves its Prometheus registry; ``POST /observe`` takes a JSON body
``{"columns": {feature: [values...]}}`` (a batch) or ``{"rows": [{...}, ...]}`` and counts it.
With IDLE_PROFILE a second instrument (metric ``idle_feature_observations_total``) is
loaded and never observes anything: its features never receive traffic.
"""

from __future__ import annotations

import json
import sys
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import prometheus_client
from prometheus_client import CollectorRegistry, Histogram, make_wsgi_app

from driftmon.instrument import Instrument


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    prometheus_client.disable_created_metrics()
    registry = CollectorRegistry()
    instrument = Instrument.from_profile(sys.argv[1], registry=registry)
    if len(sys.argv) > 3:
        Instrument.from_profile(sys.argv[3], metric="idle_feature_observations_total", registry=registry)
    # The same feature as a classic histogram with the profile's edges as buckets (le layout).
    score = instrument.features.get("score")
    histogram = None
    if score is not None and getattr(score.spec, "edges", None):
        histogram = Histogram(
            "model_score", "score as a classic histogram", buckets=score.spec.edges, registry=registry
        )
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"] == "/observe" and environ["REQUEST_METHOD"] == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(size))
            instrument.observe(body["columns"] if "columns" in body else body["rows"])
            if histogram is not None and "columns" in body:
                for value in body["columns"].get("score", []):
                    histogram.observe(float("nan") if value is None else value)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        return metrics(environ, start_response)

    server = make_server("127.0.0.1", int(sys.argv[2]), app, server_class=_Server, handler_class=_Quiet)
    server.serve_forever()


if __name__ == "__main__":
    main()
