"""Basic auth for every endpoint: ``Authorization: Basic`` checked against the web config's
bcrypt hashes, so that guessing never starves the scrapers that know the password.

- **The verified credential is cached** (as exporter-toolkit does: keyed by a digest of user,
  hash and password), in a cache of its own that failures never evict: a scraper costs one
  bcrypt per password, and is answered without waiting for any bcrypt.
- **Failures are cached per client and credential**: a client repeating a wrong password
  costs one bcrypt; the cache is bounded (least recently used out first).
- **One bcrypt at a time, at most** ``MAX_WAITING`` **waiting for it**: a request that would
  wait beyond that is answered at once (:data:`BUSY`: 429), so a flood of guesses holds at
  most ``1 + MAX_WAITING`` of the server's workers and costs one core, and cached scrapes
  always find a worker.
- **No user enumeration by timing**: an unknown user is checked against a hash of the
  highest cost among the configured ones (made once per cost, see
  :func:`unknown_user_hash`), so it takes as long as a wrong password for a known user.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping

_COST = re.compile(rb"^\$2[a-z]?\$(\d\d)\$")
DEFAULT_COST = 10  # for users whose hashes all fail to parse (the web config refuses those)


class Verdict(enum.Enum):
    OK = "ok"
    DENIED = "denied"
    BUSY = "busy"  # too many bcrypt checks under way: retry


OK, DENIED, BUSY = Verdict.OK, Verdict.DENIED, Verdict.BUSY


def cost(hashed: bytes) -> int:
    """The bcrypt cost (log2 rounds) of a hash; DEFAULT_COST when it has none."""
    match = _COST.match(hashed)
    return int(match.group(1)) if match else DEFAULT_COST


def unknown_user_hash(users: Mapping[str, bytes]) -> bytes:
    """The hash an unknown user's password is checked against: random, of the highest cost
    among ``users`` (bcrypt's time depends on the cost alone). Made once per cost and kept."""
    return _random_hash(max((cost(hashed) for hashed in users.values()), default=DEFAULT_COST))


@functools.lru_cache(maxsize=8)
def _random_hash(rounds: int) -> bytes:
    import bcrypt

    return bcrypt.hashpw(secrets.token_urlsafe(24).encode(), bcrypt.gensalt(rounds))


class BasicAuth:
    """The checker one server keeps for its lifetime (thread-safe)."""

    MAX_WAITING = 2
    VERIFIED_SIZE = 64
    FAILED_SIZE = 4096

    def __init__(self) -> None:
        self._bcrypt_lock = threading.Lock()
        self._lock = threading.Lock()  # the caches and the count below
        self._checking = 0  # bcrypt checks running or waiting
        self._verified: OrderedDict[bytes, None] = OrderedDict()
        self._failed: OrderedDict[bytes, None] = OrderedDict()

    def check(self, users: Mapping[str, bytes], user: str, password: str, client: str = "") -> Verdict:
        """OK when ``user`` is in ``users`` and ``password`` matches its hash; BUSY when the
        answer would need a bcrypt and too many are under way."""
        import bcrypt

        hashed = users.get(user)
        candidate = hashed if hashed is not None else unknown_user_hash(users)
        credential = hashlib.sha256(b"\0".join((user.encode(), candidate, password.encode()))).digest()
        failure = hashlib.sha256(client.encode() + b"\0" + credential).digest()
        with self._lock:
            if credential in self._verified:
                self._verified.move_to_end(credential)
                return OK if hashed is not None else DENIED
            if failure in self._failed:
                self._failed.move_to_end(failure)
                return DENIED
            if self._checking > self.MAX_WAITING:
                return BUSY
            self._checking += 1
        try:
            with self._bcrypt_lock:
                try:
                    ok = bcrypt.checkpw(password.encode(), candidate)
                except ValueError:  # a malformed hash
                    ok = False
        finally:
            with self._lock:
                self._checking -= 1
        ok = ok and hashed is not None
        with self._lock:
            cache, key, size = (
                (self._verified, credential, self.VERIFIED_SIZE) if ok else (self._failed, failure, self.FAILED_SIZE)
            )
            cache[key] = None
            if len(cache) > size:
                cache.popitem(last=False)
        return OK if ok else DENIED
