"""``--web.config.file``: TLS, basic auth and response headers, in the Prometheus
exporter-toolkit format, validated by exporter-toolkit's rules (those of the version in
Debian's promtool: ``promtool check web-config`` and driftmon accept the same files).

```yaml
tls_server_config:
  cert_file: tls.crt            # relative paths are relative to the web config file
  key_file: tls.key
  client_auth_type: RequireAndVerifyClientCert   # or VerifyClientCertIfGiven, NoClientCert
  client_ca_file: ca.crt
  min_version: TLS12            # TLS10 … TLS13; default TLS12 (max: TLS13)
http_server_config:
  headers: {Strict-Transport-Security: max-age=31536000}
basic_auth_users:
  prometheus: $2b$12$…          # bcrypt hash
```

:class:`WebConfigFile` re-reads the file (and the certificate files it names) when any of
them changes, checked on each request and each new connection, so new certificates and
passwords apply without a restart.
"""

from __future__ import annotations

import logging
import os
import re
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from driftmon.errors import ConfigError
from driftmon.logs import event

log = logging.getLogger(__name__)

# exporter-toolkit's names (Go's crypto/tls) -> ssl.TLSVersion
TLS_VERSIONS: Mapping[str, ssl.TLSVersion] = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}
# client_auth_type -> verify mode; None: a Go policy Python's ssl cannot express (it
# verifies every certificate it asks for), refused with a pointer to the nearest one.
CLIENT_AUTH: Mapping[str, ssl.VerifyMode | None] = {
    "": ssl.CERT_NONE,
    "NoClientCert": ssl.CERT_NONE,
    "RequestClientCert": None,
    "RequireAnyClientCert": None,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
# Go's cipher suite names -> OpenSSL's; TLS 1.3 suites are not configurable (in Go either).
CIPHER_SUITES: Mapping[str, str | None] = {
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
}
MAX_BYTES = 1 << 20  # a web config is a few lines; users and hashes for thousands fit
# Validated like exporter-toolkit; Python's ssl cannot set a list of groups, so OpenSSL's
# default groups are used (docs/operations.md says so).
CURVES = ("CurveP256", "CurveP384", "CurveP521", "X25519")
# The response headers exporter-toolkit lets a web config set, with their allowed values.
HEADERS: Mapping[str, tuple[str, ...] | None] = {
    "Strict-Transport-Security": None,
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": None,
    "Content-Security-Policy": None,
}
_BCRYPT = re.compile(rb"^\$2[a-z]?\$(\d\d)\$[./A-Za-z0-9]{53}$")
_KEYS: Mapping[str, tuple[str, ...]] = {
    "": ("tls_server_config", "http_server_config", "basic_auth_users"),
    "tls_server_config": (
        "cert_file",
        "key_file",
        "client_auth_type",
        "client_ca_file",
        "cipher_suites",
        "curve_preferences",
        "min_version",
        "max_version",
        "prefer_server_cipher_suites",
    ),
    "http_server_config": ("http2", "headers"),
}


@dataclass(frozen=True, slots=True)
class TLSSettings:
    """``tls_server_config``, paths made absolute."""

    cert_file: Path
    key_file: Path
    client_auth: ssl.VerifyMode = ssl.CERT_NONE
    client_ca_file: Path | None = None
    min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    max_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3
    ciphers: tuple[str, ...] = ()
    prefer_server_cipher_suites: bool = True

    def files(self) -> tuple[Path, ...]:
        return (self.cert_file, self.key_file) + ((self.client_ca_file,) if self.client_ca_file else ())


@dataclass(frozen=True, slots=True)
class WebConfig:
    """A validated web config; the empty one (no file) serves plain HTTP to anyone."""

    path: Path | None = None
    tls: TLSSettings | None = None
    headers: tuple[tuple[str, str], ...] = ()
    users: Mapping[str, bytes] = field(default_factory=dict)

    def files(self) -> tuple[Path, ...]:
        """Every file this config reads: a change to any of them means a re-read."""
        return ((self.path,) if self.path else ()) + (self.tls.files() if self.tls else ())


def load(path: Path) -> WebConfig:
    """Read and validate a web config, and load its certificates once to prove them.

    Raises ConfigError naming the file and the key ("web config web.yml:
    tls_server_config.cert_file: …").
    """
    path = Path(path).absolute()
    from driftmon.config_yaml import parse_yaml
    from driftmon.files import read_text

    try:
        text = read_text(path, "the file", limit=MAX_BYTES)
    except ValueError as error:
        raise ConfigError(f"web config {path}: {error}") from None

    try:
        data = parse_yaml(text)  # the config's loader: the same depth and alias limits
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise ConfigError(f"web config {path}: {problem}{where}") from None
    except Exception:  # a tag PyYAML cannot convert (`!!float path`); its message quotes the value (a hash)
        raise ConfigError(
            f"web config {path}: a tagged value (!!float, !!int...) cannot be read; remove the tag or fix the value"
        ) from None
    config = parse(data, path)
    if config.tls is not None:
        context(config.tls, path)
    return config


def parse(data: Any, path: Path) -> WebConfig:
    """A web config from its parsed YAML (``None``: an empty file, allowed as in exporter-toolkit)."""

    def fail(key: str, problem: str) -> ConfigError:
        return ConfigError(f"web config {path}: {key}: {problem}" if key else f"web config {path}: {problem}")

    def section(name: str) -> dict[str, Any]:
        value = data.get(name) if name else data
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise fail(name, "expected a mapping")
        for key in value:
            if key not in _KEYS[name]:
                raise fail(f"{name}.{key}" if name else str(key), "unknown key")
        return value

    data = {} if data is None else data
    section("")
    tls_data, http_data = section("tls_server_config"), section("http_server_config")
    headers = _headers(http_data, fail)
    if "http2" in http_data and not isinstance(http_data["http2"], bool):
        raise fail("http_server_config.http2", "expected true or false")
    return WebConfig(path, _tls(tls_data, path.parent, fail), headers, _users(data.get("basic_auth_users"), fail))


def _string(value: Any, key: str, fail: Any) -> str:
    if not isinstance(value, str):
        raise fail(key, "expected a string")
    return value


def _tls(data: dict[str, Any], folder: Path, fail: Any) -> TLSSettings | None:
    prefix = "tls_server_config."
    if not any(data.get(key) for key in ("cert_file", "key_file", "client_ca_file", "client_auth_type")):
        return None  # no TLS: plain HTTP (exporter-toolkit's errNoTLSConfig)
    for key in ("cert_file", "key_file"):
        if not data.get(key):
            raise fail(prefix + key, f"missing {key} (TLS needs both cert_file and key_file)")
    auth_name = _string(data.get("client_auth_type") or "", prefix + "client_auth_type", fail)
    if auth_name not in CLIENT_AUTH:
        known = ", ".join(name for name in CLIENT_AUTH if name)
        raise fail(prefix + "client_auth_type", f"invalid ClientAuth {auth_name!r}; one of {known}")
    client_auth = CLIENT_AUTH[auth_name]
    if client_auth is None:
        raise fail(
            prefix + "client_auth_type",
            f"{auth_name} (accept a client certificate without verifying it) is not supported by driftmon: "
            "use VerifyClientCertIfGiven or RequireAndVerifyClientCert with client_ca_file",
        )
    ca = data.get("client_ca_file")
    if ca and client_auth == ssl.CERT_NONE:
        raise fail(
            prefix + "client_ca_file",
            "Client CA's have been configured without a Client Auth Policy (client_auth_type)",
        )
    versions = {}
    for key, default in (("min_version", "TLS12"), ("max_version", "TLS13")):
        name = _string(data.get(key) or default, prefix + key, fail)
        if name not in TLS_VERSIONS:
            raise fail(prefix + key, f"unknown TLS version {name!r}; one of {', '.join(TLS_VERSIONS)}")
        versions[key] = TLS_VERSIONS[name]
    if versions["min_version"] > versions["max_version"]:
        raise fail(prefix + "min_version", "is above max_version: no connection could ever be made")
    for key in ("cipher_suites", "curve_preferences"):
        if not isinstance(data.get(key) or [], list):
            raise fail(prefix + key, "expected a list")
    ciphers = []
    for name in data.get("cipher_suites") or ():
        if name not in CIPHER_SUITES:
            raise fail(prefix + "cipher_suites", f"unknown cipher {name!r}")
        openssl_name = CIPHER_SUITES[name]
        if openssl_name is not None:
            ciphers.append(openssl_name)
    for name in data.get("curve_preferences") or ():
        if name not in CURVES:
            raise fail(prefix + "curve_preferences", f"unknown curve {name!r}; one of {', '.join(CURVES)}")
    prefer = data.get("prefer_server_cipher_suites", True)
    if not isinstance(prefer, bool):
        raise fail(prefix + "prefer_server_cipher_suites", "expected true or false")
    return TLSSettings(
        cert_file=folder / _string(data["cert_file"], prefix + "cert_file", fail),
        key_file=folder / _string(data["key_file"], prefix + "key_file", fail),
        client_auth=client_auth,
        client_ca_file=folder / _string(ca, prefix + "client_ca_file", fail) if ca else None,
        min_version=versions["min_version"],
        max_version=versions["max_version"],
        ciphers=tuple(ciphers),
        prefer_server_cipher_suites=prefer,
    )


def _headers(data: dict[str, Any], fail: Any) -> tuple[tuple[str, str], ...]:
    headers = data.get("headers") or {}
    if not isinstance(headers, dict):
        raise fail("http_server_config.headers", "expected a mapping of header to value")
    for name, value in headers.items():
        key = f"http_server_config.headers.{name}"
        if name not in HEADERS:
            raise fail(key, f"HTTP header {name!r} can not be configured; one of {', '.join(HEADERS)}")
        allowed = HEADERS[name]
        if allowed is not None and value not in allowed:
            raise fail(key, f"invalid value {value!r}; expected one of {', '.join(allowed)}")
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            raise fail(key, "expected a one-line string")
    return tuple(headers.items())


def _users(data: Any, fail: Any) -> dict[str, bytes]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise fail("basic_auth_users", "expected a mapping of user name to bcrypt hash")
    users = {}
    for user, hashed in data.items():
        key = f"basic_auth_users.{user}"
        match = _BCRYPT.match(hashed.encode()) if isinstance(hashed, str) else None
        if match is None:
            raise fail(key, "not a bcrypt hash (make one with: htpasswd -nBC 12 USER | cut -d: -f2)")
        if not 4 <= int(match.group(1)) <= 31:
            raise fail(key, f"bcrypt cost {int(match.group(1))} is outside 4-31")
        users[str(user)] = hashed.encode()
    return users


def context(tls: TLSSettings, path: Path) -> ssl.SSLContext:
    """The server SSLContext for ``tls``; ConfigError names the key whose file is bad."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version, ctx.maximum_version = tls.min_version, tls.max_version
    if tls.prefer_server_cipher_suites:
        ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        if tls.ciphers:
            ctx.set_ciphers(":".join(tls.ciphers))
    except ssl.SSLError:
        problem = "none is available in this OpenSSL"
        raise ConfigError(f"web config {path}: tls_server_config.cipher_suites: {problem}") from None
    try:
        ctx.load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError) as error:
        if not tls.cert_file.is_file():
            key = "cert_file"
        elif not tls.key_file.is_file():
            key = "key_file"
        else:
            key = "cert_file and key_file"
        problem = f"cannot load {tls.cert_file} / {tls.key_file}: {_reason(error)}"
        raise ConfigError(f"web config {path}: tls_server_config.{key}: {problem}") from None
    ctx.verify_mode = tls.client_auth
    if tls.client_auth != ssl.CERT_NONE:
        try:
            if tls.client_ca_file:
                ctx.load_verify_locations(cafile=tls.client_ca_file)
            else:
                ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
        except (OSError, ssl.SSLError) as error:
            problem = f"cannot load {tls.client_ca_file}: {_reason(error)}"
            raise ConfigError(f"web config {path}: tls_server_config.client_ca_file: {problem}") from None
    return ctx


def _reason(error: BaseException) -> str:
    return str(getattr(error, "strerror", None) or getattr(error, "reason", None) or error)


@dataclass(frozen=True, slots=True)
class _Loaded:
    files: tuple[Path, ...]  # watched: the web config and the files it names
    signature: tuple[tuple[int, int, int], ...]  # their stat() when last read
    config: WebConfig | None  # None: the file turned bad; every request is refused until fixed
    context: ssl.SSLContext | None


class WebConfigFile:
    """The web config in force: re-read when the file, or a certificate it names, changes.

    A config that turns bad while driftmon runs is logged once and refuses every request
    (500) and TLS handshake until it is fixed: exporter-toolkit fails closed the same way,
    so a broken edit never leaves an old password working.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path).absolute()
        config = load(self.path)  # at startup a bad file is an error (exit 2)
        ctx = context(config.tls, self.path) if config.tls else None
        _prepare_logins(config)
        self.tls = ctx is not None  # HTTP or HTTPS is decided at startup (a switch needs a restart)
        self._lock = threading.Lock()
        self._loaded = _Loaded(config.files(), _signature(config.files()), config, ctx)

    def current(self) -> tuple[WebConfig | None, ssl.SSLContext | None]:
        """The config and SSLContext now; (None, None) while the file is broken."""
        loaded = self._loaded
        if _signature(loaded.files) != loaded.signature:
            with self._lock:
                loaded = self._loaded
                signature = _signature(loaded.files)
                if signature != loaded.signature:
                    loaded = self._loaded = self._reload(loaded.files, signature)
        return loaded.config, loaded.context

    def _reload(self, files: tuple[Path, ...], signature: tuple[tuple[int, int, int], ...]) -> _Loaded:
        try:
            config = load(self.path)
            ctx = context(config.tls, self.path) if config.tls else None
            if (ctx is not None) != self.tls:
                raise ConfigError(f"web config {self.path}: switching between HTTP and HTTPS needs a restart")
            _prepare_logins(config)
        except ConfigError as error:
            message = "web config is invalid; refusing requests until it is fixed"
            event(log, message, level=logging.ERROR, error=str(error))
            return _Loaded(files, signature, None, None)
        event(log, "web config reloaded", file=self.path, tls=ctx is not None, users=len(config.users))
        return _Loaded(config.files(), _signature(config.files()), config, ctx)


def _signature(files: tuple[Path, ...]) -> tuple[tuple[int, int, int], ...]:
    signature = []
    for file in files:
        try:
            stat = os.stat(file)
            signature.append((stat.st_mtime_ns, stat.st_size, stat.st_ino))
        except OSError:
            signature.append((-1, -1, -1))
    return tuple(signature)


def _prepare_logins(config: WebConfig) -> None:
    """Make the unknown-user hash of the configured cost now (one bcrypt), not at a login."""
    if config.users:
        from driftmon.web.auth import unknown_user_hash

        unknown_user_hash(config.users)
