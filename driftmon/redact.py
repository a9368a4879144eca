"""The one place secrets and raw data are removed from text that leaves the process.

Every message shown to a person or a client goes through :func:`text` at the boundary
where it leaves: the log formatter, the results store (so ``/api/v1/status``), the reload
response, and the ``check`` printer. It

1. masks every secret driftmon knows (:func:`remember`): the values of ``${VAR}``, and
   what :func:`harvest` finds in the config itself (URL passwords, password-like keys,
   the contents of ``password_file`` and ``bearer_token_file``); each whole, in any
   letter case (DuckDB lowercases names it quotes), percent-encoded, escaped, as the
   base64 of ``user:password`` that a Basic header carries, and the pieces of it a URL
   parser makes when the value holds ``@ # ? / :`` (``hunt@er2`` must not show as
   ``***@er2`` nor ``er2@host``);
2. masks URL userinfo (``scheme://user:***@host``, up to the *last* ``@``, so passwords
   holding ``@ / # ?`` vanish whole), also without ``://`` (``user:***@host``);
3. masks the values of password-like keys: ``?user=u&password=***``, ``password=***`` in
   key=value DSNs, ``"token": "***"``, ``SECRET '***'`` in SQL;
4. escapes control characters (terminal escapes, NUL, bidi overrides) and caps the length
   (:data:`MAX_CHARS`): a message is never a dump.

:func:`excerpt` is for library messages that may quote a data file: short and
control-character free, so a misconfigured path never shows a file's lines.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus, unquote

from driftmon.files import read_text

MASK = "***"
MAX_CHARS = 2000  # a whole message; longer ones are cut, saying how much was cut
EXCERPT_CHARS = 120  # what of a library's message (which may quote a data file) is kept
MIN_SECRET_CHARS = 4  # shorter ${VAR} values would mask ordinary words and digits

_T = TypeVar("_T")

# Characters that would let a message rewrite a terminal or a log viewer: C0/C1 controls
# (newline and tab are kept), zero-width and bidirectional overrides.
_INVISIBLE = "\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"  # zero-width, bidi, line separators
_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_INVISIBLE}]")
_CONTROL_ONE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}]")
# scheme://userinfo@ — userinfo runs to the last @ of the token (passwords may hold @ / # ?);
# at most 256 characters, so a hostile message costs linear time, not quadratic.
_URL = re.compile(r"(?<![A-Za-z0-9+.\-])(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<info>[^\s'\"<>`]{0,256})@")
# user:password@ without a scheme (libpq-style "host" strings, DSNs written without //).
_BARE = re.compile(r"(?<![\w/:.@%+\-])(?P<user>[\w.+%~\-]+):(?!//)(?P<password>[^\s'\"<>`]{0,256})@")
# A password-like key, then its value: key=value, key: value, "key": "value", KEY 'value'.
_KEY = (
    r"[\w.\-]*?(?:password|passwd|passphrase|pwd|pass|secret|token|api[_\-]?key|apikey|access[_\-]?key"
    r"|private[_\-]?key|secret[_\-]?key|key[_\-]?id|credentials?|signature|sig|sas)"
)
_KEYED = re.compile(
    rf"(?P<key>(?<![\w.\-]){_KEY}['\"]?)"
    r"(?P<sep>\s*[=:]\s*|\s+(?=['\"]))"
    r"(?P<value>'[^']*'?|\"[^\"]*\"?|(?:[^\s&;,'\")\]}>]|&(?![\w.\-]+=))+)",
    re.IGNORECASE,
)
_PIECES = re.compile(r"[@#?/:&=;\s]+")


class _Secrets:
    """The ``${VAR}`` values seen so far (this process), as one compiled alternation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> None:
        found = {form for value in values for form in _forms(value) if len(form) >= MIN_SECRET_CHARS}
        with self._lock:
            if not found <= self._values:
                self._values |= found
                ordered = sorted(self._values, key=len, reverse=True)  # longest first
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered), re.IGNORECASE)

    def values(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._values)

    def mask(self, message: str) -> str:
        pattern = self._pattern
        return message if pattern is None else pattern.sub(_masked, message)


def _masked(match: re.Match[str]) -> str:
    return MASK + "@" if match[0].endswith("@") else MASK  # a tail before @host keeps the @


def _forms(value: str) -> set[str]:
    """A secret as it may appear in a message: as is, encoded, escaped, and in the pieces a
    URL parser cuts it into (for values that are not paths or URLs themselves)."""
    forms = {value, unquote(value), quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    forms.add(repr(value)[1:-1])
    if not value.startswith(("/", ".", "~")) and "://" not in value and not any(c.isspace() for c in value):
        for form in (value, unquote(value)):
            forms.update(piece for piece in _PIECES.split(form) if piece)
            # what a driver takes for the host when the password holds @: 'er2@127.0.0.1'
            forms.update(tail + "@" for tail in form.split("@")[1:] if tail)
    return forms


def _basic(user: str, password: str) -> set[str]:
    """The base64 of ``user:password`` as a Basic header carries it (padded and not)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {token, token.rstrip("=")}


_SECRETS = _Secrets()


def remember(values: Iterable[str]) -> None:
    """Treat these strings (the values of ``${VAR}`` in a config) as secrets from now on."""
    _SECRETS.add(values)


def remember_credentials(user: str | None, password: str) -> None:
    """Treat ``password`` (or a token) as a secret, and with a ``user`` the base64 of
    ``user:password`` (what a Basic header sends) too."""
    if password:
        _SECRETS.add([password])
        if user is not None:
            _SECRETS.add(_basic(user, password))


MAX_SECRET_FILE_BYTES = 64 << 10


def harvest(raw: Any, base_dir: Path) -> None:
    """Remember the secrets written in a config (after ``${VAR}`` substitution): URL
    passwords (and their user's Basic header), the values of password-like keys (in a
    mapping or inside a DSN or SQL string), and the contents of password-like ``*_file``
    keys (``password_file``, ``bearer_token_file``; read from ``base_dir``, at most
    :data:`MAX_SECRET_FILE_BYTES`; an unreadable file is the source's error to report)."""
    stack = [raw]
    while stack:  # iterative: a deep config cannot exhaust the recursion limit
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            if isinstance(node, str):
                _harvest_text(node)
            continue
        user = node.get("username")
        user = user if isinstance(user, str) else None
        for key, value in node.items():
            if not isinstance(value, str) or not isinstance(key, str):
                stack.append(value)
                continue
            _harvest_text(value)
            if key.endswith("_file") and _SECRET_KEY.fullmatch(key.removesuffix("_file")):
                content = _secret_file(base_dir / value)
                if content:
                    remember_credentials(user, content)
            elif _SECRET_KEY.fullmatch(key):
                remember_credentials(user, value)


_SECRET_KEY = re.compile(_KEY, re.IGNORECASE)


def _harvest_text(value: str) -> None:
    for match in _URL.finditer(value):
        info = match["info"]
        user, colon, password = info.partition(":")
        if colon and "/" not in user:
            remember_credentials(unquote(user), unquote(password))
            _SECRETS.add([password])
        elif not colon and "/" not in info:
            _SECRETS.add([info])  # https://TOKEN@host
    for match in _BARE.finditer(value):
        remember_credentials(match["user"], match["password"])
    for match in _KEYED.finditer(value):
        secret = match["value"].strip("'\"")
        if secret and secret != MASK:
            _SECRETS.add([secret])


def _secret_file(path: Path) -> str:
    try:
        return read_text(path, "secret file", limit=MAX_SECRET_FILE_BYTES).strip()
    except ValueError:
        return ""


def secrets() -> frozenset[str]:
    """Every form of every secret remembered (to hand to a worker process)."""
    return _SECRETS.values()


def adopt(forms: Iterable[str]) -> None:
    """Remember forms given by :func:`secrets` of another process."""
    _SECRETS.add(forms)


def text(message: str, *, limit: int = MAX_CHARS, one_line: bool = False) -> str:
    """``message`` with secrets masked, control characters escaped, at most ``limit`` characters."""
    original = len(message)
    if original > 8 * limit:  # no regex work on megabytes that will be cut anyway
        message = message[: 8 * limit]
    masked = _SECRETS.mask(message)
    masked = _URL.sub(_url_userinfo, masked)
    masked = _BARE.sub(lambda m: f"{m['user']}:{MASK}@", masked)
    masked = _KEYED.sub(_keyed_value, masked)
    masked = (_CONTROL_ONE_LINE if one_line else _CONTROL).sub(_escape, masked)
    return _cap(masked, limit, original)


def printable(name: str, *, one_line: bool = True) -> str:
    """``name`` (a feature, a monitor, a category: text from a config or a data file) with
    control, zero-width and bidirectional characters as visible escapes (``\\x1b``,
    ``\\u202e``), so that printing it cannot move a terminal's cursor or reverse the text
    around it. Nothing is masked or cut."""
    return (_CONTROL_ONE_LINE if one_line else _CONTROL).sub(_escape, name)


def clipped(shown: str, limit: int) -> str:
    """A value as a message shows it (``repr``, YAML flow) with secrets masked *before* it is
    cut to ``limit`` characters: a cut secret, or a URL cut before its ``@``, would no longer
    be recognised."""
    masked = text(shown, limit=1 << 20, one_line=True)
    if len(masked) <= limit:
        return masked
    return masked[: limit - 2] + ("…'" if masked.endswith("'") else "…")


def excerpt(message: str, limit: int = EXCERPT_CHARS) -> str:
    """A short, one-line, control-character-free piece of a library message (which may
    quote the data file it failed on)."""
    return text(" ".join(message.split()), limit=limit, one_line=True)


def scrub(value: _T) -> _T:
    """A result (any dataclass with an ``error`` string) with its error passed through :func:`text`,
    on one line (a newline in a quoted path is escaped): the error is one field of the JSON, one
    line on stderr, one cell of a table."""
    error = getattr(value, "error", None)
    if isinstance(error, str):
        cleaned = text(error, one_line=True)
        if cleaned != error:
            return dataclasses.replace(value, error=cleaned)  # type: ignore[type-var]
    return value


def _url_userinfo(match: re.Match[str]) -> str:
    info = match["info"]
    before_path = info.split("/", 1)[0]
    if "/" in info and ":" not in before_path:
        return match[0]  # an @ in the path, not userinfo
    user, colon, _ = info.partition(":")
    if colon and "/" not in user:
        return f"{match['head']}{user}:{MASK}@"
    return f"{match['head']}{MASK}@"


def _keyed_value(match: re.Match[str]) -> str:
    value = match["value"]
    if value == MASK or value.strip("'\"") == MASK:
        return match[0]
    quote_char = value[0] if value[0] in "'\"" else ""
    return f"{match['key']}{match['sep']}{quote_char}{MASK}{quote_char}"


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _cap(message: str, limit: int, original: int) -> str:
    if len(message) <= limit and original <= 8 * limit:
        return message
    return f"{message[: limit - 40]}… [cut; {original} characters in all]"


def values(value: Any) -> Any:
    """Strings (also inside lists and tuples) through :func:`text`; other values unchanged."""
    if isinstance(value, str):
        return text(value)
    if isinstance(value, list | tuple):
        return [values(item) for item in value]
    return value


__all__ = [
    "MASK",
    "MAX_CHARS",
    "adopt",
    "excerpt",
    "harvest",
    "printable",
    "remember",
    "remember_credentials",
    "scrub",
    "secrets",
    "text",
    "values",
]
