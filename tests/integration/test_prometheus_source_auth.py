"""`type: prometheus` through TLS and basic auth, against a real Prometheus with a --web.config.file.

Prometheus here scrapes nothing, so a query that gets through says "no series": that
message proves TLS and the credentials were accepted; the other cases fail before it.
Secrets (the password, the bearer token) never appear in a message.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from servers import TEST_PASSWORD, TEST_PASSWORD_BCRYPT, free_port, require_binary, running_prometheus, wait_until

from driftmon.errors import DataError, SourceError
from driftmon.histogram import NumericBins
from driftmon.sources.prometheus import PrometheusSource, PrometheusSourceConfig

PASSWORD = TEST_PASSWORD


def make_certificates(directory: Path) -> None:
    openssl = require_binary("openssl")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True, timeout=60)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
    )
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    prometheus = require_binary("prometheus")
    directory = tmp_path_factory.mktemp("prometheus-tls")
    make_certificates(directory)
    (directory / "web.yml").write_text(
        yaml.safe_dump(
            {
                "tls_server_config": {"cert_file": "server.crt", "key_file": "server.key"},
                "basic_auth_users": {"driftmon": TEST_PASSWORD_BCRYPT},
            }
        )
    )
    (directory / "prometheus.yml").write_text(yaml.safe_dump({"global": {"scrape_interval": "1s"}}))
    (directory / "password").write_text(PASSWORD + "\n")
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    with contextlib.ExitStack() as exits:
        process = exits.enter_context(
            running_prometheus(prometheus, directory, port, f"--web.config.file={directory / 'web.yml'}", ready=False)
        )
        wait_until(
            lambda: "Server is ready" in process.log(),
            30,
            message="Prometheus with TLS started",
        )
        yield url, directory


def attempt(url: str, directory: Path, **options: object) -> str:
    config = PrometheusSourceConfig.model_validate({"type": "prometheus", "url": url, "window": "5m", **options})
    with pytest.raises((DataError, SourceError)) as caught:
        PrometheusSource(config, directory).count({"x": NumericBins((0.0, 1.0))})
    return str(caught.value)


def test_tls_with_the_ca_and_a_password_file_gets_through(server: tuple[str, Path]) -> None:
    """ca_file verifies the server; basic_auth.password_file is accepted: the query answers (no series yet)."""
    url, directory = server
    message = wait_until(
        lambda: (lambda m: m if "no series" in m else None)(
            attempt(
                url,
                directory,
                tls_config={"ca_file": "ca.crt"},
                basic_auth={"username": "driftmon", "password_file": "password"},
            )
        ),
        30,
        message="an authenticated query",
    )
    assert PASSWORD not in message


def test_a_wrong_password_is_refused_without_showing_it(server: tuple[str, Path]) -> None:
    """HTTP 401 is a source error naming Prometheus, never the password."""
    url, directory = server
    message = attempt(
        url, directory, tls_config={"ca_file": "ca.crt"}, basic_auth={"username": "driftmon", "password": "hunter2"}
    )
    assert "HTTP 401" in message and "hunter2" not in message and url in message


def test_password_in_the_url_works_and_is_never_shown(server: tuple[str, Path]) -> None:
    """http(s)://user:password@host is basic auth; messages show the URL without it."""
    url, directory = server
    with_password = url.replace("https://", f"https://driftmon:{PASSWORD}@")
    message = attempt(with_password, directory, tls_config={"ca_file": "ca.crt"})
    assert "no series" in message and PASSWORD not in message


def test_an_unknown_ca_fails_verification_unless_insecure_skip_verify(server: tuple[str, Path]) -> None:
    """Without the CA the certificate is refused; insecure_skip_verify skips the check (and auth still applies)."""
    url, directory = server
    assert "CERTIFICATE_VERIFY_FAILED" in attempt(
        url, directory, basic_auth={"username": "driftmon", "password_file": "password"}
    )
    skipped = attempt(
        url,
        directory,
        tls_config={"insecure_skip_verify": True},
        basic_auth={"username": "driftmon", "password_file": "password"},
    )
    assert "no series" in skipped


def test_a_bearer_token_file_is_sent_and_not_shown(server: tuple[str, Path]) -> None:
    """bearer_token_file's token goes in the Authorization header (Prometheus wants basic auth here: 401), never in the message."""
    url, directory = server
    (directory / "token").write_text("tok-123\n")
    message = attempt(url, directory, tls_config={"ca_file": "ca.crt"}, bearer_token_file="token")
    assert "HTTP 401" in message and "tok-123" not in message
