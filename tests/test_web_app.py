"""The WSGI application: one route table, and the web config's gate (basic auth, headers)
in front of every route in it, so a page added later is protected without more code."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import bcrypt
import pytest
import yaml

from driftmon.results import Snapshot
from driftmon.web.app import App
from driftmon.web.config import WebConfigFile


class Exposition:
    def __init__(self) -> None:
        self.encodings: list[str | None] = []

    def render(self, accept: str | None, encoding: str | None, names: Any) -> tuple[bytes, list[tuple[str, str]]]:
        self.encodings.append(encoding)
        return b"driftmon_build_info 1\n", [("Content-Type", "text/plain")]


class Backend:
    def __init__(self) -> None:
        self.exposition = Exposition()

    def snapshot(self) -> Snapshot:
        return Snapshot(1, ())

    def ready(self) -> bool:
        return True

    def reload(self) -> tuple[bool, str]:
        return True, "reloaded"


def call(app: App, path: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    environ: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": method}
    for name, value in headers.items():
        environ["HTTP_" + name.upper()] = value
    setup_testing_defaults(environ)
    reply: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        reply["status"], reply["headers"] = int(status.split()[0]), dict(response_headers)

    body = b"".join(app(environ, start_response))
    return reply["status"], reply["headers"], body


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def guarded(tmp_path: Path) -> App:
    web = tmp_path / "web.yml"
    web.write_text(yaml.safe_dump({
        "basic_auth_users": {"prometheus": bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()},
        "http_server_config": {"headers": {"X-Frame-Options": "deny"}},
    }))
    return App(Backend(), lifecycle=True, web_config=WebConfigFile(web))


def test_every_route_in_the_table_is_behind_basic_auth(guarded: App) -> None:
    """Each path of the route table, with each of its methods, and an unknown path answer
    401 with `WWW-Authenticate: Basic` and the configured headers without the password,
    and are served with it."""
    routes = {path: methods for path, (methods, _) in guarded._routes.items()}
    assert {"/", "/metrics", "/-/healthy", "/-/ready", "/api/v1/status", "/-/reload"} <= set(routes)
    for path, methods in [*routes.items(), ("/nowhere", ("GET",))]:
        for method in methods:
            for authorization in (None, basic("prometheus", "nope"), "Bearer x", "Basic !!!"):
                headers = {"authorization": authorization} if authorization else {}
                status, response_headers, _ = call(guarded, path, method, **headers)
                assert status == 401, (path, method, authorization)
                assert response_headers["WWW-Authenticate"].startswith("Basic")
                assert response_headers["X-Frame-Options"] == "deny"
            status, response_headers, _ = call(guarded, path, method, authorization=basic("prometheus", "pw"))
            assert status == (404 if path == "/nowhere" else 200), (path, method, status)
            assert response_headers["X-Frame-Options"] == "deny"


def test_without_a_web_config_nothing_asks_for_a_password() -> None:
    """No --web.config.file: every route answers as before, no WWW-Authenticate."""
    app = App(Backend(), lifecycle=False)
    for path in ("/", "/metrics", "/-/healthy", "/-/ready", "/api/v1/status"):
        status, headers, _ = call(app, path)
        assert status == 200 and "WWW-Authenticate" not in headers, path


@pytest.mark.parametrize(("accept_encoding", "passed"), [("gzip;q=0", None), ("gzip", "gzip"), ("*", "gzip"), ("", None)])
def test_metrics_passes_the_negotiated_encoding(accept_encoding: str, passed: str | None) -> None:
    """/metrics asks the exposition for gzip only when Accept-Encoding allows it, and says
    `Vary: Accept-Encoding`."""
    backend = Backend()
    status, headers, _ = call(App(backend, lifecycle=False), "/metrics", accept_encoding=accept_encoding)
    assert status == 200 and headers["Vary"] == "Accept-Encoding"
    assert backend.exposition.encodings == [passed]


@pytest.mark.parametrize("header", ["Basic \x80", "Basic \u00e9t\u00e9", "Basic ====", "Basic gA==", "Basic"])
def test_a_garbage_authorization_header_is_401(guarded: App, header: str) -> None:
    """Non-ASCII (it raised ValueError past the check: cheroot answered 500; an HTTP fuzz
    finding), bad padding, bytes that are not UTF-8, no credentials: 401 like a wrong password."""
    status, headers, _ = call(guarded, "/metrics", AUTHORIZATION=header)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic")
