"""The signals the daemon takes: SIGHUP reloads the config, SIGTERM and SIGINT stop it.

They are taken synchronously by the main thread (:func:`next_signal`, sigtimedwait), so
nothing runs in the middle of a lock. They are blocked before any thread exists
(`driftmon run` calls :func:`block` before importing numpy, whose OpenBLAS threads would
otherwise receive them and die of the default action) and stay blocked until the process
exits: a second SIGTERM during the shutdown must not kill it either. Handlers that only
take note (:func:`take_note`) catch the rest (multiprocessing unblocks SIGINT and SIGTERM
for a moment when it starts its helper processes), so no signal is ever fatal.

Imports nothing but the standard library: it runs before the daemon is imported.
"""

from __future__ import annotations

import signal

DAEMON_SIGNALS = frozenset({signal.SIGHUP, signal.SIGTERM, signal.SIGINT})


def block() -> None:
    """Block the daemon's signals in this thread and every thread it starts from now on."""
    signal.pthread_sigmask(signal.SIG_BLOCK, DAEMON_SIGNALS)


def take_note() -> list[int]:
    """Install handlers that only append the signal's number to the list returned."""
    noted: list[int] = []
    for signum in DAEMON_SIGNALS:
        signal.signal(signum, lambda received, frame: noted.append(received))
    return noted


def next_signal(noted: list[int]) -> int:
    """The next of SIGHUP, SIGTERM, SIGINT: taken while blocked, or noted by a handler."""
    while not noted:
        info = signal.sigtimedwait(DAEMON_SIGNALS, 0.5)
        if info is not None:
            return info.si_signo
    return noted.pop(0)
