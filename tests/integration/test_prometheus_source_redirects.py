"""`type: prometheus` behind redirects, against real HTTP servers on 127.0.0.1 that record headers.

A redirect to another origin (127.0.0.1:P -> localhost:Q) must not carry the credentials
(Prometheus drops them too); a redirect within the origin keeps them.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from servers import recording_server

from driftmon.errors import DataError, SourceError
from driftmon.histogram import NumericBins
from driftmon.sources.prometheus import PrometheusSource, PrometheusSourceConfig

SECRET = "s3cret-redirect"
EMPTY = json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}}).encode()
AUTH = {
    "basic_auth": {"basic_auth": {"username": "driftmon", "password": SECRET}},
    "bearer_token_file": {"bearer_token_file": "token"},
    "url_credentials": {},
}


def query(url: str, directory: Path, auth: str) -> str:
    (directory / "token").write_text(SECRET + "\n")
    if auth == "url_credentials":
        url = url.replace("http://", f"http://driftmon:{SECRET}@")
    config = PrometheusSourceConfig.model_validate({"type": "prometheus", "url": url, "window": "5m", **AUTH[auth]})
    with pytest.raises((DataError, SourceError)) as caught:
        PrometheusSource(config, directory).count({"x": NumericBins((0.0, 1.0))})
    return str(caught.value)


def carries_secret(headers: dict[str, str]) -> bool:
    sent = " ".join(headers.values())
    return SECRET in sent or base64.b64encode(f"driftmon:{SECRET}".encode()).decode() in sent


@pytest.mark.parametrize("auth", sorted(AUTH))
def test_a_cross_origin_redirect_drops_the_credentials(tmp_path: Path, auth: str) -> None:
    """302 from 127.0.0.1:P to localhost:Q: the query follows it, without Authorization."""
    with recording_server(lambda path: (200, {"Content-Type": "application/json"}, EMPTY)) as target:
        location = f"http://localhost:{target.port}/api/v1/query"
        with recording_server(lambda path: (302, {"Location": location}, b"")) as redirector:
            message = query(f"http://127.0.0.1:{redirector.port}", tmp_path, auth)
    assert "no series" in message  # the redirect was followed to the end
    assert redirector.requests and all(carries_secret(headers) for _, _, headers in redirector.requests)
    assert target.requests, "the redirect was not followed"
    for method, path, headers in target.requests:
        assert "Authorization" not in headers and not carries_secret(headers), (method, path, headers)


@pytest.mark.parametrize("auth", sorted(AUTH))
def test_a_same_origin_redirect_keeps_the_credentials(tmp_path: Path, auth: str) -> None:
    """302 to another path on the same host and port (a path prefix): Authorization goes along."""

    def reply(path: str) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/prefix/"):
            return 200, {"Content-Type": "application/json"}, EMPTY
        return 302, {"Location": "/prefix" + path}, b""

    with recording_server(reply) as server:
        message = query(f"http://127.0.0.1:{server.port}", tmp_path, auth)
    assert "no series" in message
    followed = [headers for _, path, headers in server.requests if path.startswith("/prefix/")]
    assert followed and all(carries_secret(headers) for headers in followed)
