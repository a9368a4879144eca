"""Sharding: N replicas split the monitors between them with no coordination.

A monitor belongs to exactly one shard, chosen from its name alone: a SHA-256 of the name
(stable across processes, machines and Python versions, unlike ``hash()``) seeds a jump
consistent hash (Lamping & Veach, 2014), so going from N to N+1 replicas moves only about
1/(N+1) of the monitors. Shards are numbered from 0, like StatefulSet pods.

Where the shard comes from, first match wins:

- ``--shard i/N`` on the command line;
- ``DRIFTMON_SHARD=i/N``;
- ``DRIFTMON_SHARDS=N`` with the index from ``DRIFTMON_SHARD_INDEX``, or else from the
  trailing ordinal of the host name (a StatefulSet's pod ``driftmon-2`` is shard 2).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from driftmon.errors import ConfigError


class _Named(Protocol):
    @property
    def name(self) -> str: ...


M = TypeVar("M", bound=_Named)

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_ORDINAL = re.compile(r"-(\d+)$")


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` of ``count`` (0 <= index < count)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, monitor_name: str) -> bool:
        """Whether this shard runs the monitor called ``monitor_name``."""
        return shard_of(monitor_name, self.count) == self.index


def parse(text: str, where: str = "--shard") -> Shard:
    """``"i/N"`` -> Shard(i, N); anything else is a ConfigError naming ``where``."""
    match = _SPEC.match(text)
    if not match:
        raise ConfigError(f"{where}: {text!r} is not a shard like 0/3 (index/count, from 0)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or index >= count:
        raise ConfigError(f"{where}: shard {index}/{count} is out of range (index 0..{max(count - 1, 0)})")
    return Shard(index, count)


def from_environment(environ: Mapping[str, str] | None = None, hostname: str | None = None) -> Shard | None:
    """The shard the environment asks for (see the module docstring), or None: run everything."""
    env = os.environ if environ is None else environ
    if env.get("DRIFTMON_SHARD", "").strip():
        return parse(env["DRIFTMON_SHARD"], "DRIFTMON_SHARD")
    count_text = env.get("DRIFTMON_SHARDS", "").strip()
    if not count_text:
        return None
    if not count_text.isdigit() or int(count_text) < 1:
        raise ConfigError(f"DRIFTMON_SHARDS: {count_text!r} is not a positive number of shards")
    index_text = env.get("DRIFTMON_SHARD_INDEX", "").strip()
    if index_text:
        return parse(f"{index_text}/{count_text}", "DRIFTMON_SHARD_INDEX")
    host = hostname if hostname is not None else socket.gethostname()
    match = _ORDINAL.search(host.split(".", 1)[0])
    if not match:
        raise ConfigError(
            f"DRIFTMON_SHARDS={count_text} but the host name {host!r} ends in no ordinal like -2; "
            "set DRIFTMON_SHARD_INDEX"
        )
    return parse(f"{match.group(1)}/{count_text}", f"host name {host!r} with DRIFTMON_SHARDS")


def resolve(option: str | None, environ: Mapping[str, str] | None = None) -> Shard | None:
    """The ``--shard`` option if given, else the environment's shard, else None."""
    return parse(option) if option else from_environment(environ)


def shard_of(name: str, count: int) -> int:
    """The shard (0..count-1) of a monitor name: SHA-256, then jump consistent hashing."""
    key = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
    bucket, candidate = -1, 0
    while candidate < count:
        bucket = candidate
        key = (key * 2862933555777941757 + 1) & 0xFFFFFFFFFFFFFFFF
        candidate = int((bucket + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return bucket


def select(monitors: Iterable[M], shard: Shard | None) -> tuple[M, ...]:
    """The monitors ``shard`` runs (all of them when ``shard`` is None), in config order."""
    if shard is None:
        return tuple(monitors)
    return tuple(m for m in monitors if shard.owns(m.name))
