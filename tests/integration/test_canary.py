"""A canary secret, set through ``${VAR}``, never leaves driftmon on any failure path.

The password holds ``@ / # ?`` (which break URL parsing, so drivers quote pieces of it)
and is used where secrets go in real configs: a PostgreSQL URL's userinfo and query
string, a key=value DSN, a DuckDB query, a file path; a data file even carries it in its
header line. Every monitor fails. The test searches the whole password and each of its
pieces in every log line of the daemon, every HTTP response (``/metrics``,
``/api/v1/status``, ``POST /-/reload`` with a bad config) and every ``check`` and
``validate`` output (table and JSON), and checks that each failure path did fail, so the
search cannot pass by having nothing to search.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote

import pytest

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from servers import free_port, http_request, running, wait_for_http, wait_until  # noqa: E402

pytestmark = pytest.mark.integration

CANARY = "cAnArY1@zQ9xw/Kt7pL#Lm3vR?Vb8nS"
PIECES = [CANARY, quote(CANARY, safe=""), *[p for p in re.split(r"[@/#?]", CANARY)]]
ENV = {"CANARY_PW": CANARY, "CANARY_PW_URL": quote(CANARY, safe="")}


def config_text(port: int) -> str:
    closed = f"127.0.0.1:{port}"
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

MONITORS = ["pg-userinfo", "pg-encoded", "pg-query-string", "duckdb-query", "duckdb-dsn", "file-path", "file-content"]


def leaks(text: str) -> list[str]:
    """The pieces of the canary found in ``text``."""
    return [piece for piece in PIECES if piece in text]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "secret.csv").write_text(f"{CANARY},y\n1,2\n", encoding="utf-8")
    (tmp_path / "driftmon.yaml").write_text(config_text(free_port()), encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(BAD_RELOAD, encoding="utf-8")
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


def test_check_and_validate_never_show_the_canary(folder: Path) -> None:
    """`check` (table and JSON) and `validate` of good and bad configs: every monitor errors, the canary shows nowhere."""
    table = driftmon("check", "-c", "driftmon.yaml", cwd=folder)
    as_json = driftmon("check", "-c", "driftmon.yaml", "--format", "json", cwd=folder)
    bad_check = driftmon("check", "-c", "bad.yaml", cwd=folder)
    bad_validate = driftmon("validate", "-c", "bad.yaml", cwd=folder)
    assert table.returncode == 3 and as_json.returncode == 3, table.stdout + table.stderr
    assert bad_check.returncode == 2 and bad_validate.returncode == 2
    document = json.loads(as_json.stdout)
    assert {m["monitor"]: m["status"] for m in document["monitors"]} == dict.fromkeys(MONITORS, "error")
    for run in (table, as_json, bad_check, bad_validate):
        assert not leaks(run.stdout + run.stderr), run.stdout + run.stderr


@pytest.mark.parametrize("log_format", ["logfmt", "json"])
def test_the_daemon_never_shows_the_canary(folder: Path, log_format: str) -> None:
    """Daemon logs (logfmt and JSON, debug level), /metrics, /api/v1/status and a refused POST /-/reload never contain the canary."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "driftmon", "run", "-c", str(folder / "driftmon.yaml"),
        "--web.listen-address", f"127.0.0.1:{port}", "--web.enable-lifecycle", "--log.level", "debug", "--log.format", log_format,
    ]  # fmt: skip
    with running(command, log_path=folder / "daemon.log", name="driftmon", env=ENV, cwd=folder) as process:
        wait_for_http(f"{url}/-/ready", 60.0, process=process)

        def all_failed() -> dict[str, str]:
            status = json.loads(http_request(f"{url}/api/v1/status").body)
            errors = {m["monitor"]: m["error"] for m in status["monitors"] if m["status"] == "error"}
            return errors if set(errors) == set(MONITORS) else {}

        errors = wait_until(all_failed, 60.0, message="every monitor failed once")
        responses = [http_request(f"{url}{path}") for path in ("/", "/metrics", "/api/v1/status", "/-/ready")]
        (folder / "driftmon.yaml").write_text(BAD_RELOAD, encoding="utf-8")
        reload = http_request(f"{url}/-/reload", method="POST")
        assert reload.status == 500 and "failed to reload config" in reload.text()
        responses.append(reload)
        process.stop()
        log = process.log()
    assert "config reload refused" in log
    for name in MONITORS:
        assert errors[name], name
    for response in responses:
        assert not leaks(response.text()), response.text()[:3000]
    leaked = [line for line in log.splitlines() if leaks(line)]
    assert not leaked, "\n".join(leaked[:10])
