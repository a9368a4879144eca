"""Bounded reads of the small text files a config names (the config itself, the web
config, secret files): regular files only, at most a size, UTF-8; and what a path that is
not a regular file is instead (:func:`regular_stat`, also for data files).

:func:`read_text` never blocks on a named pipe or a device and never reads without end
(``/dev/zero``); what a path is instead (a directory, a pipe, a symlink loop) is said in
words in the ValueError it raises, for the caller to prefix with the file's role.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MAX_FILE_BYTES = 16 << 20  # a config of 10,000 monitors is a few MB; /dev/zero is endless


def regular_stat(path: Path | str, what: str) -> os.stat_result:
    """``os.stat`` of the regular file ``path``, or ValueError saying in words what it is
    instead ("config file is a named pipe, not a regular file", "... is a symlink loop")."""
    try:
        info = os.stat(path)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ValueError(f"{what} is a symlink loop") from None
        if isinstance(error, FileNotFoundError):
            dangling = os.path.islink(path)
            problem = "is a symlink to a missing file" if dangling else "does not exist"
            raise ValueError(f"{what} {problem}") from None
        raise ValueError(f"cannot read {what}: {error.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        kinds = {stat.S_ISDIR: "a directory", stat.S_ISFIFO: "a named pipe", stat.S_ISSOCK: "a socket"}
        kind = next((name for test, name in kinds.items() if test(info.st_mode)), "a device")
        raise ValueError(f"{what} is {kind}, not a regular file")
    return info


def read_text(path: Path, what: str, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of the regular file ``path`` (at most ``limit`` bytes), or ValueError
    saying in words why not ("config file is a named pipe, not a file"): never a hang on a
    pipe or device, never an unbounded read."""
    info = regular_stat(path, what)
    if info.st_size > limit:
        raise ValueError(f"{what} is {info.st_size:,} bytes; at most {limit:,} are read")
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as error:
        raise ValueError(f"cannot read {what}: {error.strerror}") from None
    if len(data) > limit:  # it grew since stat()
        raise ValueError(f"{what} is more than {limit:,} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{what} is not UTF-8 text (byte {error.start})") from None
