"""Which files a ``path:`` names: a literal path, or a glob's matches, in bounded time.

A glob matches as ``glob.glob(pattern, recursive=True)`` does (``*``, ``?`` and ``[...]``
within a name, ``**`` across directories, hidden names only where the pattern's part starts
with a dot, symlinked directories followed), but the walk is bounded, each bound an error
naming the pattern:

- nothing on a special filesystem (SPECIAL_FILESYSTEMS) is listed or matched: ``/proc``'s
  trees do not end (``/proc/self/root`` is the whole disk again) and its files, like devices,
  can block a read (a ConfigError: ``path:`` points at the wrong place);
- a directory that is one already being walked (a symlink back up the tree) is a symlink
  loop (a SourceError): glob walked it again until the path grew too long, matching each
  file under forty names;
- at most MAX_MATCHES files, and at most WALK_SECONDS of walking (ConfigErrors: the glob
  is too wide).

Only regular files match; a literal path that is not one says what it is instead
(a directory, a named pipe, a symlink loop, ...: a SourceError, as "does not exist" is).
"""

from __future__ import annotations

import fnmatch
import glob
import os
import time
from collections.abc import Iterator

from driftmon.errors import ConfigError, SourceError
from driftmon.files import regular_stat

SPECIAL_FILESYSTEMS = ("/proc", "/sys", "/dev")
MAX_MATCHES = 100_000  # files per glob; a daemon reading more per evaluation wants partitions
WALK_SECONDS = 10.0  # per glob; a local tree of 100,000 directories is walked in about 1 s


def glob_files(pattern: str) -> list[str]:
    """The regular files ``pattern`` matches (in the walk's order; glob's names for them)."""
    walk = _Walk(pattern)
    found = []
    for path, entry in walk.matches():
        if entry.is_file() if entry is not None else os.path.isfile(path):
            if entry is None or entry.is_symlink():  # else in a directory the walk has checked
                walk.refuse_special(path)
            found.append(path)
            if len(found) > MAX_MATCHES:
                raise ConfigError(
                    f"path {pattern} matches more than {MAX_MATCHES:,} files; narrow the glob "
                    "(e.g. to a date partition with {now:%Y/%m/%d})"
                )
    return found


def literal_file(path: str) -> bool:
    """Whether ``path`` (no glob characters) is a regular file; a ConfigError if it is on a
    special filesystem."""
    if not os.path.isfile(path):
        return False
    _Walk(path).refuse_special(path)
    return True


def not_a_file(path: str) -> SourceError:
    """The error for a literal path that names no regular file, saying what it is instead."""
    try:
        regular_stat(path, f"file {path}")
    except ValueError as error:
        return SourceError(str(error))
    return SourceError(f"file {path} does not exist")  # it appeared since: say what was seen


class _Walk:
    """One glob's walk: glob.glob's algorithm (Python 3.11) with the bounds of the module docstring."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.deadline = time.monotonic() + WALK_SECONDS

    def matches(self) -> Iterator[tuple[str, os.DirEntry[str] | None]]:
        """Each match, with its directory entry where the walk listed it (None: a literal name)."""
        found = self._glob(self.pattern, dironly=False)
        if self.pattern.startswith("**"):  # glob's first match of a leading ** is the empty name
            found = ((path, entry) for path, entry in found if path)
        return found

    def refuse_special(self, path: str, real: str | None = None) -> None:
        """A ConfigError if ``path`` (whose real path is ``real``) lies on a special filesystem."""
        real = os.path.realpath(path) if real is None else real
        for root in SPECIAL_FILESYSTEMS:
            if real == root or real.startswith(root + "/"):
                shown = os.path.normpath(path)
                if self.pattern == path or self.pattern.startswith(shown + "/"):
                    where = f"path {self.pattern} is on"  # its own directories: no need to say which
                else:
                    shown = shown if real == os.path.abspath(path) else f"{shown} (which is {real})"
                    where = f"path {self.pattern} reaches {shown}, on"
                raise ConfigError(
                    f"{where} the special filesystem {root}, not data (its trees can be endless, its files "
                    "block a read); point `path:` at the data's own directory"
                )

    def _glob(self, pattern: str, dironly: bool) -> Iterator[tuple[str, os.DirEntry[str] | None]]:
        directory, name = os.path.split(pattern)
        if not glob.has_magic(pattern):  # (only ever the whole pattern: a parent with none is taken as it is)
            if os.path.lexists(pattern) if name else os.path.isdir(directory):
                yield pattern, None
            return
        if not directory:
            yield from self._names("", name, dironly)
            return
        parents = (
            self._glob(directory, True) if directory != pattern and glob.has_magic(directory) else [(directory, None)]
        )
        for parent, _ in parents:
            for found, entry in self._names(parent, name, dironly):
                yield os.path.join(parent, found), entry

    def _names(self, directory: str, name: str, dironly: bool) -> Iterator[tuple[str, os.DirEntry[str] | None]]:
        """The names in ``directory`` that match one part of the pattern (glob's _glob0/1/2),
        each with its entry where ``directory`` was listed (it was checked, then)."""
        if name == "**":
            yield "", None
            self.refuse_special(directory or os.curdir)
            try:
                top = os.stat(directory or os.curdir)
            except OSError:
                return
            yield from self._tree(directory, dironly, top.st_dev, frozenset({(top.st_dev, top.st_ino)}))
        elif glob.has_magic(name):
            self.refuse_special(directory or os.curdir)
            entries = {entry.name: entry for entry, _ in self._list(directory, dironly)}
            names = list(entries) if _hidden(name) else [entry for entry in entries if not _hidden(entry)]
            for found in fnmatch.filter(names, name):
                yield found, entries[found]
        elif os.path.lexists(os.path.join(directory, name)) if name else os.path.isdir(directory):
            yield name, None

    def _tree(
        self, directory: str, dironly: bool, device: int, walking: frozenset[tuple[int, int]]
    ) -> Iterator[tuple[str, os.DirEntry[str]]]:
        """Every name below ``directory`` (glob's _rlistdir), on filesystem ``device``;
        ``walking``: the (device, inode) of the directories it lies in, a symlink back to one
        of them being a loop."""
        for entry, is_dir in self._list(directory, dironly):
            if _hidden(entry.name):
                continue
            yield entry.name, entry
            if not is_dir:
                continue
            path = os.path.join(directory, entry.name) if directory else entry.name
            try:
                info = entry.stat()  # the directory a symlink leads to
            except OSError:
                continue
            if (info.st_dev, info.st_ino) in walking:
                raise SourceError(
                    f"path {self.pattern}: {path} is a symlink loop (it leads back to {os.path.realpath(path)}, "
                    "which is being walked); remove the link or narrow the glob"
                )
            if info.st_dev != device or entry.is_symlink():  # onto another filesystem, perhaps a special one
                self.refuse_special(path)
            for below, inner in self._tree(path, dironly, info.st_dev, walking | {(info.st_dev, info.st_ino)}):
                yield os.path.join(entry.name, below), inner

    def _list(self, directory: str, dironly: bool) -> list[tuple[os.DirEntry[str], bool]]:
        """The entries of ``directory`` with whether each is a directory (unreadable: none)."""
        entries = []
        try:
            with os.scandir(directory or os.curdir) as scan:
                for entry in scan:
                    if time.monotonic() > self.deadline:
                        raise ConfigError(
                            f"path {self.pattern}: still walking directories after {WALK_SECONDS:g} s "
                            f"(at {directory or os.curdir}); narrow the glob"
                        )
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    if is_dir or not dironly:
                        entries.append((entry, is_dir))
        except OSError:
            return []
        return entries


def _hidden(name: str) -> bool:
    return name.startswith(".")
