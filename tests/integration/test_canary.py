"""A canary secret, in every place a secret can live, never leaves driftmon on any output path.

The password holds ``@ / # ?`` (which break URL parsing, so drivers quote pieces of it)
and is placed where secrets go in real configs: through ``${VAR}`` in a PostgreSQL URL's
userinfo and query string, a key=value DSN, a DuckDB query, a file path; written literally
in a PostgreSQL URL; a Prometheus source's ``basic_auth`` password, ``password_file``,
``bearer_token_file`` and URL userinfo; the Pushgateway URL of ``check --push-gateway``; the
password of the daemon's web-config basic auth; a data file even carries it in its header
line. The upstream servers (a Prometheus and a Pushgateway stand-in on 127.0.0.1) answer
every request with an error that quotes what they received: the path, the Authorization
header, the body. Every monitor fails.

The test searches every output: each log line of the daemon (logfmt and JSON, debug level),
every HTTP response (``/``, every monitor and feature page, ``/metrics``, ``/api/v1/status``,
``/-/ready``, ``/-/healthy``, a 401, ``POST /-/reload`` with a bad config), ``check`` (table,
JSON, with push and textfile), the textfile and every pushed body, ``validate`` and
``validate --sources``, ``report`` (its HTML too), for the canary in every encoding driftmon
sends or a server may echo it in (:data:`ENCODINGS`: raw in any case, percent-encoded, the
base64 of ``user:password`` of a Basic header and of the password alone, and each piece a
URL parser cuts it into). Each failure path is checked to have failed, so the search cannot
pass by having nothing to search.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import bcrypt

import pytest

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from servers import free_port, http_request, running, wait_for_http, wait_until  # noqa: E402

pytestmark = pytest.mark.integration

CANARY = "cAnArY1@zQ9xw/Kt7pL#Lm3vR?Vb8nS"
USER = "monitor"
ENV = {"CANARY_PW": CANARY, "CANARY_PW_URL": quote(CANARY, safe="")}
_BASIC = base64.b64encode(f"{USER}:{CANARY}".encode()).decode()
# name -> the canary as it may show: case-insensitive where the form is text, exact for base64.
ENCODINGS = {
    "raw": CANARY,
    "percent-encoded": quote(CANARY, safe=""),
    "form-encoded": quote_plus(CANARY),
    "lowercase": CANARY.lower(),
    "uppercase": CANARY.upper(),
    "basic header": _BASIC,
    "basic header unpadded": _BASIC.rstrip("="),
    "base64": base64.b64encode(CANARY.encode()).decode(),
    **{f"piece {piece}": piece for piece in re.split(r"[@/#?]", CANARY)},
}
_EXACT = {"basic header", "basic header unpadded", "base64"}
PLACES = [
    "${VAR} in a PostgreSQL URL's userinfo",
    "${VAR} percent-encoded in a PostgreSQL URL's userinfo",
    "${VAR} in a PostgreSQL URL's query string",
    "${VAR} in a DuckDB query",
    "${VAR} in a DSN inside a DuckDB query",
    "${VAR} in a file path",
    "a data file's header line",
    "literal in a PostgreSQL URL's userinfo",
    "${VAR} as a Prometheus basic_auth password",
    "a Prometheus basic_auth password_file",
    "a Prometheus bearer_token_file",
    "${VAR} in a Prometheus URL's userinfo",
    "${VAR} in a schedule and a bare user:password@host (a config refused on reload)",
    "the Pushgateway URL's userinfo",
    "the web config's basic auth password",
]


def config_text(port: int, prometheus: int) -> str:
    closed = f"127.0.0.1:{port}"
    echo = f"http://127.0.0.1:{prometheus}"
    return textwrap.dedent(
        f"""
        defaults: {{schedule: 1s, timeout: 20s}}
        monitors:
          - name: pg-userinfo
            reference: {{type: sql, url: "postgresql+psycopg://monitor:${{CANARY_PW}}@{closed}/db", table: t}}
            live: {{type: sql, url: "postgresql+psycopg://monitor:${{CANARY_PW}}@{closed}/db", table: t}}
            features: [x]
          - name: pg-encoded
            reference: {{type: sql, url: "postgresql+psycopg://monitor:${{CANARY_PW_URL}}@{closed}/db", table: t}}
            live: {{type: sql, url: "postgresql+psycopg://monitor:${{CANARY_PW_URL}}@{closed}/db", table: t}}
            features: [x]
          - name: pg-query-string
            reference: {{type: sql, url: "postgresql+psycopg://{closed}/db?user=monitor&password=${{CANARY_PW_URL}}", table: t}}
            live: {{type: sql, url: "postgresql+psycopg://{closed}/db?user=monitor&password=${{CANARY_PW_URL}}", table: t}}
            features: [x]
          - name: duckdb-query
            reference: {{type: sql, url: "duckdb:///:memory:", query: "SELECT * FROM read_csv('missing.csv') WHERE s = '${{CANARY_PW}}'"}}
            live: {{type: sql, url: "duckdb:///:memory:", query: "SELECT * FROM read_csv('missing.csv') WHERE s = '${{CANARY_PW}}'"}}
            features: [x]
          - name: duckdb-dsn
            reference: {{type: sql, url: "duckdb:///:memory:", query: "SELECT * FROM postgres_scan('host=db password=${{CANARY_PW}}', 'public', 't')"}}
            live: {{type: sql, url: "duckdb:///:memory:", query: "SELECT * FROM postgres_scan('host=db password=${{CANARY_PW}}', 'public', 't')"}}
            features: [x]
          - name: file-path
            reference: {{type: histogram, path: "ref-${{CANARY_PW_URL}}.json"}}
            live: {{type: histogram, path: "live-${{CANARY_PW_URL}}.json"}}
            features: [x]
          - name: file-content
            reference: {{type: file, path: secret.csv}}
            live: {{type: file, path: secret.csv}}
            features: [x]
          - name: pg-literal
            reference: {{type: sql, url: "postgresql+psycopg://{USER}:{CANARY}@{closed}/db", table: t}}
            live: {{type: sql, url: "postgresql+psycopg://{USER}:{CANARY}@{closed}/db", table: t}}
            features: [x]
          - name: prom-basic
            reference: {{type: prometheus, url: "{echo}", window: 1h, basic_auth: {{username: {USER}, password: "${{CANARY_PW}}"}}}}
            live: {{type: prometheus, url: "{echo}", window: 1h, basic_auth: {{username: {USER}, password: "${{CANARY_PW}}"}}}}
            features: [x]
          - name: prom-password-file
            reference: {{type: prometheus, url: "{echo}", window: 1h, basic_auth: {{username: {USER}, password_file: pw.txt}}}}
            live: {{type: prometheus, url: "{echo}", window: 1h, basic_auth: {{username: {USER}, password_file: pw.txt}}}}
            features: [x]
          - name: prom-bearer-file
            reference: {{type: prometheus, url: "{echo}", window: 1h, bearer_token_file: token.txt}}
            live: {{type: prometheus, url: "{echo}", window: 1h, bearer_token_file: token.txt}}
            features: [x]
          - name: prom-userinfo
            reference: {{type: prometheus, url: "http://{USER}:${{CANARY_PW_URL}}@127.0.0.1:{prometheus}", window: 1h}}
            live: {{type: prometheus, url: "http://{USER}:${{CANARY_PW_URL}}@127.0.0.1:{prometheus}", window: 1h}}
            features: [x]
        """
    ).lstrip()


BAD_RELOAD = textwrap.dedent(
    """
    monitors:
      - name: bad
        schedule: "${CANARY_PW}"
        reference: {type: sql, url: "monitor:${CANARY_PW}@127.0.0.1/db", table: t}
        live: {type: sql, url: "monitor:${CANARY_PW}@127.0.0.1/db", table: t}
        features: [x]
    """
).lstrip()

MONITORS = [
    "pg-userinfo", "pg-encoded", "pg-query-string", "duckdb-query", "duckdb-dsn", "file-path", "file-content",
    "pg-literal", "prom-basic", "prom-password-file", "prom-bearer-file", "prom-userinfo",
]  # fmt: skip
CHECKED = {"outputs": 0, "leaks": 0}  # what the searches covered, for the canary count


def found_in(text: str) -> list[str]:
    """The encodings of the canary found in ``text``."""
    lowered = text.lower()
    return [name for name, form in ENCODINGS.items() if (form in text if name in _EXACT else form.lower() in lowered)]


def leaks(text: str) -> list[str]:
    """:func:`found_in`, counting ``text`` as one output searched."""
    found = found_in(text)
    CHECKED["outputs"] += 1
    CHECKED["leaks"] += bool(found)
    return found


@pytest.fixture(scope="module", autouse=True)
def canary_count() -> Iterator[None]:
    yield
    checks = len(PLACES) * CHECKED["outputs"] * len(ENCODINGS)
    print(
        f"\ncanary: {len(PLACES)} places x {CHECKED['outputs']} outputs x {len(ENCODINGS)} encodings = "
        f"{checks} checks, {CHECKED['leaks']} outputs with a leak"
    )


class Echo:
    """An upstream on 127.0.0.1 that answers every request with an error quoting what it got:
    a Prometheus (401, its JSON error) or a Pushgateway (400, text). ``bodies`` keeps what was sent."""

    def __init__(self, kind: str) -> None:
        self.bodies: list[str] = []
        echo = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_one(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
                echo.bodies.append(body)
                quoted = f"{self.command} {self.path} Authorization: {self.headers.get('Authorization')} body: {body[:300]}"
                if kind == "prometheus":
                    status, reply = 401, json.dumps({"status": "error", "errorType": "unauthorized", "error": f"bad credentials {quoted}"})
                else:
                    status, reply = 400, f"cannot push: {quoted}"
                data = reply.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if kind == "prometheus" else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = handle_one

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @contextlib.contextmanager
    def serving(self) -> Iterator[Echo]:
        self.thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def prometheus() -> Iterator[Echo]:
    with Echo("prometheus").serving() as echo:
        yield echo


@pytest.fixture
def gateway() -> Iterator[Echo]:
    with Echo("pushgateway").serving() as echo:
        yield echo


@pytest.fixture
def folder(tmp_path: Path, prometheus: Echo) -> Path:
    (tmp_path / "secret.csv").write_text(f"{CANARY},y\n1,2\n", encoding="utf-8")
    (tmp_path / "pw.txt").write_text(CANARY + "\n", encoding="utf-8")
    (tmp_path / "token.txt").write_text(CANARY + "\n", encoding="utf-8")
    (tmp_path / "driftmon.yaml").write_text(config_text(free_port(), prometheus.port), encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(BAD_RELOAD, encoding="utf-8")
    hashed = bcrypt.hashpw(CANARY.encode(), bcrypt.gensalt(4)).decode()
    (tmp_path / "web.yml").write_text(f"basic_auth_users:\n  {USER}: '{hashed}'\n", encoding="utf-8")
    return tmp_path


def driftmon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "driftmon", *args],
        cwd=cwd,
        env={**os.environ, **ENV},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_validate_report_and_pushes_never_show_the_canary(folder: Path, gateway: Echo) -> None:
    """`check` (table, JSON, with a push to an echoing Pushgateway and a textfile), the textfile and
    pushed bodies, `validate`, `validate --sources`, `report` and its HTML, and both commands on a
    bad config: every monitor errors, the canary shows nowhere in any encoding."""
    push_url = f"http://{USER}:{quote(CANARY, safe='')}@127.0.0.1:{gateway.port}"
    table = driftmon("check", "-c", "driftmon.yaml", cwd=folder)
    as_json = driftmon("check", "-c", "driftmon.yaml", "--format", "json", cwd=folder)
    pushed = driftmon("check", "-c", "driftmon.yaml", "--push-gateway", push_url, "--textfile", "out.prom", cwd=folder)
    validated = driftmon("validate", "-c", "driftmon.yaml", cwd=folder)
    probed = driftmon("validate", "-c", "driftmon.yaml", "--sources", cwd=folder)
    reported = driftmon("report", "-c", "driftmon.yaml", "-o", "report.html", cwd=folder)
    bad_check = driftmon("check", "-c", "bad.yaml", cwd=folder)
    bad_validate = driftmon("validate", "-c", "bad.yaml", cwd=folder)
    assert table.returncode == 3 and as_json.returncode == 3, table.stdout + table.stderr
    assert pushed.returncode == 3 and "to the Pushgateway" in pushed.stderr and "HTTP 400" in pushed.stderr, pushed.stderr
    assert probed.returncode == 2 and "bad credentials" in probed.stderr, probed.stderr
    assert reported.returncode == 3 and bad_check.returncode == 2 and bad_validate.returncode == 2
    document = json.loads(as_json.stdout)
    errors = {m["monitor"]: m["error"] for m in document["monitors"]}
    assert {m["monitor"]: m["status"] for m in document["monitors"]} == dict.fromkeys(MONITORS, "error")
    for name in ("prom-basic", "prom-password-file", "prom-bearer-file", "prom-userinfo"):
        assert "HTTP 401: bad credentials POST /api/v1/query Authorization: " in errors[name], errors[name]
    assert gateway.bodies, "nothing was pushed"
    outputs = {
        "check": table.stdout + table.stderr,
        "check --format json": as_json.stdout + as_json.stderr,
        "check --push-gateway --textfile": pushed.stdout + pushed.stderr,
        "the textfile": (folder / "out.prom").read_text(encoding="utf-8"),
        **{f"push {i}": body for i, body in enumerate(gateway.bodies)},
        "validate": validated.stdout + validated.stderr,
        "validate --sources": probed.stdout + probed.stderr,
        "report": reported.stdout + reported.stderr,
        "report.html": (folder / "report.html").read_text(encoding="utf-8"),
        "check of a bad config": bad_check.stdout + bad_check.stderr,
        "validate of a bad config": bad_validate.stdout + bad_validate.stderr,
    }
    leaked = {name: found for name, text in outputs.items() if (found := leaks(text))}
    assert not leaked, leaked


def authorized(password: str = CANARY) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{USER}:{password}".encode()).decode()}


@pytest.mark.parametrize("log_format", ["logfmt", "json"])
def test_the_daemon_never_shows_the_canary(folder: Path, log_format: str) -> None:
    """Daemon logs (logfmt and JSON, debug level) and every endpoint behind a web config whose
    password is the canary (every page, /metrics, /api/v1/status, a 401, a refused POST /-/reload)
    never contain the canary in any encoding."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "driftmon", "run", "-c", str(folder / "driftmon.yaml"), "--web.config.file", str(folder / "web.yml"),
        "--web.listen-address", f"127.0.0.1:{port}", "--web.enable-lifecycle", "--log.level", "debug", "--log.format", log_format,
    ]  # fmt: skip
    with running(command, log_path=folder / "daemon.log", name="driftmon", env=ENV, cwd=folder) as process:
        wait_until(lambda: http_request(f"{url}/-/ready", headers=authorized()).status == 200, 60.0, message="ready")

        def all_failed() -> dict[str, str]:
            status = json.loads(http_request(f"{url}/api/v1/status", headers=authorized()).body)
            errors = {m["monitor"]: m["error"] for m in status["monitors"] if m["status"] == "error"}
            return errors if set(errors) == set(MONITORS) else {}

        errors = wait_until(all_failed, 90.0, message="every monitor failed once")
        paths = ["/", "/metrics", "/api/v1/status", "/-/ready", "/-/healthy"]
        paths += [f"/monitors/{name}" for name in MONITORS] + [f"/monitors/{name}/features/x" for name in MONITORS]
        responses = {path: http_request(f"{url}{path}", headers=authorized()) for path in paths}
        responses["401"] = http_request(f"{url}/metrics", headers=authorized(CANARY[:-1]))
        assert responses["401"].status == 401
        (folder / "driftmon.yaml").write_text(BAD_RELOAD, encoding="utf-8")
        reload = http_request(f"{url}/-/reload", method="POST", headers=authorized())
        assert reload.status == 500 and "failed to reload config" in reload.text()
        responses["POST /-/reload"] = reload
        process.stop()
        log = process.log()
    assert "config reload refused" in log
    for name in MONITORS:
        assert errors[name], name
    for name in ("prom-basic", "prom-password-file", "prom-bearer-file", "prom-userinfo"):
        assert "bad credentials" in errors[name], errors[name]
    leaked = {path: found for path, response in responses.items() if (found := leaks(response.text()))}
    leaked_lines = [line for line in log.splitlines() if found_in(line)] if leaks(log) else []
    assert not leaked, leaked
    assert not leaked_lines, "\n".join(leaked_lines[:10])
