"""``--web.config.file``: driftmon accepts and refuses the same web configs as exporter-toolkit
(Debian's ``promtool check web-config`` is the oracle), names the key of each problem, checks
bcrypt passwords, and re-reads the file and its certificates when they change."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/certs.py, tests/servers.py

from certs import CA
from servers import require_binary

from driftmon.errors import ConfigError
from driftmon.web.config import WebConfigFile, load

HASH = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pki")
    ca = CA(folder)
    server = ca.issue("server", "localhost", server=True)
    return {"cert": server.cert, "key": server.key, "ca": ca.pair.cert}


def tls(pki: dict[str, Path], **extra: Any) -> dict[str, Any]:
    return {"tls_server_config": {"cert_file": str(pki["cert"]), "key_file": str(pki["key"]), **extra}}


# (name, config, the key driftmon's error must name, or None when valid)
CASES: list[tuple[str, Any, str | None]] = [
    ("empty file", None, None),
    ("basic auth only", {"basic_auth_users": {"prometheus": HASH}}, None),
    ("tls", "TLS", None),
    (
        "tls with verified client certs",
        ("TLS", {"client_auth_type": "RequireAndVerifyClientCert", "client_ca_file": "CA"}),
        None,
    ),
    (
        "tls optional client certs",
        ("TLS", {"client_auth_type": "VerifyClientCertIfGiven", "client_ca_file": "CA"}),
        None,
    ),
    (
        "tls versions and ciphers",
        (
            "TLS",
            {
                "min_version": "TLS13",
                "max_version": "TLS13",
                "cipher_suites": ["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"],
                "curve_preferences": ["X25519", "CurveP256"],
                "prefer_server_cipher_suites": False,
            },
        ),
        None,
    ),
    (
        "allowed headers",
        {
            "http_server_config": {
                "http2": False,
                "headers": {
                    "Strict-Transport-Security": "max-age=31536000",
                    "X-Content-Type-Options": "nosniff",
                    "X-Frame-Options": "deny",
                    "X-XSS-Protection": "1; mode=block",
                    "Content-Security-Policy": "default-src 'self'",
                },
            }
        },
        None,
    ),
    ("unknown top-level key", {"rate_limit": {"interval": "1s"}}, "rate_limit"),
    ("unknown tls key", ("TLS", {"client_allowed_sans": ["a"]}), "tls_server_config.client_allowed_sans"),
    ("inline cert is not in this version", {"tls_server_config": {"cert": "x", "key": "y"}}, "tls_server_config.cert"),
    ("cert without key", {"tls_server_config": {"cert_file": "CERT"}}, "tls_server_config.key_file"),
    ("key without cert", {"tls_server_config": {"key_file": "KEY"}}, "tls_server_config.cert_file"),
    (
        "client auth without cert",
        {"tls_server_config": {"client_auth_type": "RequireAndVerifyClientCert"}},
        "tls_server_config.cert_file",
    ),
    (
        "missing cert file",
        {"tls_server_config": {"cert_file": "missing.crt", "key_file": "KEY"}},
        "tls_server_config.cert_file",
    ),
    (
        "key file holds a certificate",
        {"tls_server_config": {"cert_file": "CERT", "key_file": "CERT"}},
        "tls_server_config.cert_file and key_file",
    ),
    ("client CA without policy", ("TLS", {"client_ca_file": "CA"}), "tls_server_config.client_ca_file"),
    ("unknown client auth", ("TLS", {"client_auth_type": "Sometimes"}), "tls_server_config.client_auth_type"),
    ("unknown TLS version", ("TLS", {"min_version": "TLS14"}), "tls_server_config.min_version"),
    ("unknown cipher", ("TLS", {"cipher_suites": ["TLS_FOO"]}), "tls_server_config.cipher_suites"),
    ("unknown curve", ("TLS", {"curve_preferences": ["P999"]}), "tls_server_config.curve_preferences"),
    (
        "header not allowed",
        {"http_server_config": {"headers": {"X-Powered-By": "me"}}},
        "http_server_config.headers.X-Powered-By",
    ),
    (
        "header value not allowed",
        {"http_server_config": {"headers": {"X-Frame-Options": "allow"}}},
        "http_server_config.headers.X-Frame-Options",
    ),
    ("password not hashed", {"basic_auth_users": {"prometheus": "plain"}}, "basic_auth_users.prometheus"),
]


def materialise(config: Any, pki: dict[str, Path]) -> Any:
    """A case's config with its placeholders (TLS, CERT, KEY, CA) made real paths."""
    if config == "TLS":
        return tls(pki)
    if isinstance(config, tuple):
        extra = {k: (str(pki["ca"]) if v == "CA" else v) for k, v in config[1].items()}
        return tls(pki, **extra)
    if isinstance(config, dict) and "tls_server_config" in config:
        names = {"CERT": str(pki["cert"]), "KEY": str(pki["key"]), "CA": str(pki["ca"])}
        return {**config, "tls_server_config": {k: names.get(v, v) for k, v in config["tls_server_config"].items()}}
    return config


@pytest.mark.parametrize(("name", "config", "key"), CASES, ids=[case[0] for case in CASES])
def test_driftmon_and_promtool_agree(
    tmp_path: Path, pki: dict[str, Path], name: str, config: Any, key: str | None
) -> None:
    """Each web config is accepted by driftmon exactly when `promtool check web-config`
    accepts it; driftmon's refusal is one line naming the file and the key."""
    promtool = require_binary("promtool")
    path = tmp_path / "web.yml"
    path.write_text("" if config is None else yaml.safe_dump(materialise(config, pki)))
    checked = subprocess.run([promtool, "check", "web-config", str(path)], capture_output=True, text=True, timeout=60)
    if key is None:
        assert checked.returncode == 0, checked.stdout + checked.stderr
        load(path)
    else:
        assert checked.returncode != 0, f"promtool accepted {name}"
        with pytest.raises(ConfigError) as refused:
            load(path)
        message = str(refused.value)
        assert message.startswith(f"web config {path}: {key}"), message
        assert "\n" not in message


@pytest.mark.parametrize("policy", ["RequestClientCert", "RequireAnyClientCert"])
def test_unverified_client_cert_policies_are_refused_with_the_alternative(
    tmp_path: Path, pki: dict[str, Path], policy: str
) -> None:
    """Go's "ask for a certificate but do not verify it" policies cannot be built on Python's
    ssl (it verifies every certificate it asks for): driftmon refuses them and names the
    policies it does support (promtool accepts them: the README lists this difference)."""
    path = tmp_path / "web.yml"
    path.write_text(yaml.safe_dump(tls(pki, client_auth_type=policy)))
    with pytest.raises(ConfigError, match="RequireAndVerifyClientCert"):
        load(path)


def test_min_version_above_max_version_is_refused(tmp_path: Path, pki: dict[str, Path]) -> None:
    """min_version TLS13 with max_version TLS12 could never connect: refused (promtool lets it through)."""
    path = tmp_path / "web.yml"
    path.write_text(yaml.safe_dump(tls(pki, min_version="TLS13", max_version="TLS12")))
    with pytest.raises(ConfigError, match=r"tls_server_config\.min_version"):
        load(path)


def test_relative_paths_are_relative_to_the_web_config(tmp_path: Path, pki: dict[str, Path]) -> None:
    """cert_file: tls/server.crt means next to the web config, wherever driftmon runs from."""
    (tmp_path / "tls").mkdir()
    for name in ("cert", "key"):
        (tmp_path / "tls" / pki[name].name).write_bytes(pki[name].read_bytes())
    path = tmp_path / "web.yml"
    path.write_text(
        yaml.safe_dump(
            {"tls_server_config": {"cert_file": f"tls/{pki['cert'].name}", "key_file": f"tls/{pki['key'].name}"}}
        )
    )
    config = load(path)
    assert config.tls is not None and config.tls.cert_file == tmp_path / "tls" / pki["cert"].name


def test_tls_settings_reach_the_ssl_context(tmp_path: Path, pki: dict[str, Path]) -> None:
    """client_auth_type and min/max_version become the SSLContext's verify mode and versions."""
    path = tmp_path / "web.yml"
    path.write_text(
        yaml.safe_dump(
            tls(pki, client_auth_type="RequireAndVerifyClientCert", client_ca_file=str(pki["ca"]), min_version="TLS13")
        )
    )
    _, context = WebConfigFile(path).current()
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.minimum_version == ssl.TLSVersion.TLSv1_3 and context.maximum_version == ssl.TLSVersion.TLSv1_3


def test_changes_are_picked_up_and_a_broken_edit_fails_closed(tmp_path: Path) -> None:
    """A new password hash applies at the next current(); a broken edit gives (None, None)
    until the file is fixed; the fix applies again."""
    path = tmp_path / "web.yml"
    path.write_text(yaml.safe_dump({"basic_auth_users": {"a": HASH}}))
    watched = WebConfigFile(path)
    first, _ = watched.current()
    assert first is not None and set(first.users) == {"a"}

    def rewrite(text: str) -> None:
        path.write_text(text)
        stamp = time.time() + 1  # a changed mtime even on coarse clocks
        os.utime(path, (stamp, stamp))

    rewrite(yaml.safe_dump({"basic_auth_users": {"b": HASH}}))
    second, _ = watched.current()
    assert second is not None and set(second.users) == {"b"}
    rewrite("basic_auth_users: [")
    assert watched.current() == (None, None)
    rewrite(yaml.safe_dump({"basic_auth_users": {"c": HASH}}))
    third, _ = watched.current()
    assert third is not None and set(third.users) == {"c"}


@pytest.mark.parametrize(
    "text",
    [
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "basic_auth_users: *f\n",
        "basic_auth_users: " + "[" * 5000 + "]" * 5000 + "\n",
    ],
    ids=["aliases", "deep"],
)
def test_hostile_web_config_yaml_is_refused_quickly(tmp_path: Path, text: str) -> None:
    """The web config gets the same YAML limits as the config: alias bombs and deep nesting are a ConfigError.

    Guarded by CPU time, not wall time, so that a loaded machine does not fail it.
    """
    path = tmp_path / "web.yml"
    path.write_text(text)
    started = time.process_time()
    with pytest.raises(ConfigError, match=r"^web config .*web\.yml: (invalid YAML|.*(nest|alias))"):
        load(path)
    assert time.process_time() - started < 5.0


def test_a_tagged_value_that_cannot_be_read_does_not_echo_the_hash(tmp_path: Path) -> None:
    """A basic-auth hash under a tag PyYAML cannot convert: the message names the file, not the hash."""
    (tmp_path / "web.yml").write_text("basic_auth_users:\n  alice: !!float $2y$10$secrethashsecrethash\n")
    with pytest.raises(ConfigError, match=r"a tagged value .* cannot be read") as caught:
        load(tmp_path / "web.yml")
    assert "secrethash" not in str(caught.value)
