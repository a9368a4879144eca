"""The live-file cache: a file's live histograms are counted once and reused while it is unchanged.

Histograms merge, so a live window over files that do not change costs only the files that
are new or changed, and the files that straddle an edge of the window:

- each file's counts are kept under a :class:`FileKey`: where the file is and what it is
  (real path, device, inode, size, mtime and ctime in ns) and how it was counted (a digest
  of the bin specs and of the source's options that change the counts). ctime cannot be
  set back by a user, so a rewrite in place (even with the same size), an mtime moved
  backwards and a rename over the file all change the key; a reload that changes the bins
  changes the digest;
- a file's entry records the window column's smallest and largest time in it. A file
  whose rows all lie inside the window is reused whatever the window's bounds; one
  wholly outside is skipped without being read (once the window, or a moving reference's
  window (:meth:`FileCounts.keep_from`), has passed it, only its time range is kept); one
  that straddles an edge is read once more, in full, into its row codes
  (:mod:`driftmon.sources.file_slices`: each timed row's bin number, in time order), from
  which every later window's part of it is counted without reading it (a window moving with
  each evaluation costs only its new files); the codes are dropped once no window's edge cuts
  the file (:meth:`FileCounts.finish`) and are the first thing evicted, and a file whose codes
  would not fit in the cache's room (:meth:`FileCache.codes_room`), or whose rows hold a
  category the bins lack, is read again instead, its whole-file counts kept if it has them
  (a later window may hold all of it again); such a file read on one side of a boundary
  shared by two windows of one evaluation (the live window's start is a rolling reference's
  end) is read once: the other side's counts are the whole file's minus the part read
  (:meth:`FileCounts.count`);
- a file is cached only if a ``stat`` after reading it matches the one before, and its
  last change is at least ``settle_s`` old (a file still being written is never final);
- the daemon keeps the entries (:class:`FileCache`, bounded in bytes, least recently used
  evicted first, a monitor's entries of files it no longer reads dropped after each
  evaluation); each evaluation task carries its monitor's entries to the worker process,
  which returns what it used and what it counted anew (:class:`FileCounts`).

A model's columns (:meth:`FileCounts.rows`: raw rows, not counts: metrics such as ROC AUC
need them) are kept the same way, a file's whole columns and its rows' times under a key of
their own, within the room row codes take (at most half the cache and what it has free); the
window is applied to them at each evaluation.

A segmented monitor's files are kept the same way, as counts per segment
(:mod:`driftmon.sources.file.segmented`; never subtracted nor coded).

``driftmon check`` evaluates once and uses no cache.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias

from driftmon.histogram import BinSpec, CategoricalBins, Histogram
from driftmon.sources.file_slices import RowCodes

# The window column's smallest and largest time in a file, ns since the epoch (inclusive).
TimeRange: TypeAlias = tuple[int, int]
# What the cache counts a file with: (path, specs, bounds) -> (histograms, rows, time range or
# None without a window), the file's rows within bounds (``[start, end)`` in ns; None: all).
Reader: TypeAlias = Callable[
    [str, Mapping[str, BinSpec], "tuple[int, int] | None"], tuple[Mapping[str, Histogram], int, "TimeRange | None"]
]

# What the cache codes a straddling file with (file_slices): (path, specs) -> its row codes, or
# None when its rows cannot be coded (a category its bins lack).
Coder: TypeAlias = Callable[[str, Mapping[str, BinSpec]], RowCodes | None]

MIB = 1 << 20
DEFAULT_SIZE = 64 * MIB  # --evaluation.cache-size
SETTLE_S = 2.0  # a file changed more recently may still be written (and mtimes can be 1-2 s coarse)
# Rough bytes of Python objects around the numbers: a histogram, a string, an entry.
_HISTOGRAM_OVERHEAD = 200
_STRING_OVERHEAD = 50
_ENTRY_OVERHEAD = 400


@dataclass(frozen=True, slots=True)
class FileKey:
    """One version of one file, counted one way: any change of either gives another key."""

    path: str  # real path
    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int
    counting: str  # digest of the bin specs and the source's counting options


@dataclass(frozen=True, slots=True)
class FileEntry:
    """What one file version holds: its time range and, if all of it was counted, its counts."""

    key: FileKey
    span: TimeRange | None  # the window column's (min, max) in ns over the whole file; None: no window
    rows: int  # rows counted (with a window: every timed row, when ``histograms`` is set)
    histograms: Mapping[str, Histogram] | None  # None: only part of the file was in the window
    nbytes: int = field(default=0, compare=False)
    # The rows as bin numbers in time order, while a window's edge cuts the file (file_slices).
    codes: RowCodes | None = field(default=None, compare=False)
    codable: bool = field(default=True, compare=False)  # False: the codes could not stand for its counts
    columns: Mapping[str, Any] | None = field(default=None, compare=False)  # FileCounts.rows: raw columns

    def without_codes(self) -> FileEntry:
        return replace(self, codes=None, nbytes=self.nbytes - self.codes.nbytes) if self.codes is not None else self

    def lookup(self, bounds: tuple[int, int] | None) -> tuple[Mapping[str, Histogram], int] | None:
        """The file's counts within ``bounds`` (``[start, end)`` in ns) if known without reading it."""
        if bounds is not None and self.span is not None:
            low, high = self.span
            if low > high or high < bounds[0] or low >= bounds[1]:
                return {}, 0  # no row of the file is in the window
            if not _inside(self.span, bounds):
                return None  # straddles an edge: only part of it counts now
        return None if self.histograms is None else (self.histograms, self.rows)

    def behind(self, bounds: tuple[int, int] | None) -> bool:
        """Every timed row of the file is before the window's start."""
        return bounds is not None and self.span is not None and self.span[0] <= self.span[1] < bounds[0]


def counting_digest(specs: Mapping[str, BinSpec], options: str) -> str:
    """A digest of the bins and the counting options, the same in every process."""
    digest = hashlib.sha256(options.encode())
    for name, spec in sorted(specs.items()):
        if isinstance(spec, CategoricalBins):
            others = None if spec.others is None else sorted(spec.others)
            text = repr((name, "categorical", spec.categories, others))
        else:
            text = repr((name, "numeric", spec.edges, spec.points))
        digest.update(text.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def entry_bytes(histograms: Mapping[str, Histogram] | None) -> int:
    """Memory an entry holds, roughly: counts arrays, labels and unseen values (upper bound)."""
    total = _ENTRY_OVERHEAD
    for histogram in (histograms or {}).values():
        total += _HISTOGRAM_OVERHEAD + histogram.counts.nbytes
        unseen = histogram.unseen_values
        if not isinstance(histogram, Histogram):  # per segment (driftmon.segments): a row of counts each
            total += histogram.missing.nbytes
            unseen = tuple(pair for per_segment in histogram.unseen_values for pair in per_segment)
        labels = [value for value, _ in unseen]
        if isinstance(histogram.spec, CategoricalBins):
            labels += [*histogram.spec.categories, *(histogram.spec.others or ())]
        total += sum(len(label) + _STRING_OVERHEAD for label in labels)
    return total


def _key(path: str, stat: os.stat_result, counting: str) -> FileKey:
    return FileKey(
        os.path.realpath(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, counting
    )


class FileCounts:
    """One evaluation's view of the cache (in the worker): counts each file, from the entry
    if one is valid, else by reading it; collects what the daemon should keep."""

    def __init__(
        self,
        known: Mapping[FileKey, FileEntry],
        settle_s: float = SETTLE_S,
        clock: Callable[[], float] = time.time,
        codes_limit: int = DEFAULT_SIZE // 2,
    ) -> None:
        self.known = known
        self.settle_s = settle_s
        self.clock = clock  # wall time, compared with the files' times
        self.used: list[FileKey] = []  # known entries this evaluation relied on
        self.new: dict[FileKey, FileEntry] = {}  # entries counted now
        self.reused = 0  # files whose counts came from the cache (read or skipped)
        self.read = 0  # files read
        self.bytes_read = 0  # sizes of the files read
        self._digests: dict[tuple[int, str], tuple[Mapping[str, BinSpec], str]] = {}
        self._keep_from: int | None = None  # ns: files from here on keep their counts (keep_from)
        # The part of a file read in this evaluation, whose whole counts are known: (bounds, counts, rows).
        self._parts: dict[FileKey, tuple[tuple[int, int], Mapping[str, Histogram], int]] = {}
        self.codes_limit = codes_limit  # bytes the row codes and model columns kept now may still take
        self._visited: set[FileKey] = set()  # entries looked up in this evaluation
        self._sliced: set[FileKey] = set()  # entries whose row codes counted a part in this evaluation

    def keep_from(self, start_ns: int) -> None:
        """Keep the counts of files from ``start_ns`` on, even behind a window: a moving
        reference (driftmon.reference) reads them in this evaluation or a later one."""
        self._keep_from = start_ns if self._keep_from is None else min(self._keep_from, start_ns)

    def _counting(self, specs: Mapping[str, BinSpec], options: str) -> str:
        """counting_digest, once per evaluation and not once per file (2 ms for 500 features)."""
        held = self._digests.get((id(specs), options))
        if held is None or held[0] is not specs:  # the specs held keep their id from being reused
            held = (specs, counting_digest(specs, options))
            self._digests[(id(specs), options)] = held
        return held[1]

    def count(
        self,
        path: str,
        specs: Mapping[str, BinSpec],
        bounds: tuple[int, int] | None,
        read: Reader,
        options: str,
        code: Coder | None = None,
    ) -> tuple[Mapping[str, Histogram], int]:
        """The histograms of ``path``'s rows in ``bounds`` and how many rows they hold: from the
        entry if one is valid (a file an edge of ``bounds`` cuts: from its row codes, made by
        ``code`` the first time), else by ``read``; ``options``: the source's settings besides
        the bins that change what a file counts (part of the key)."""
        counting = self._counting(specs, options)
        before = _stat(path)
        key = _key(path, before, counting) if before is not None else None
        entry = None if key is None else self.new[key] if key in self.new else self.known.get(key)
        if entry is not None:
            self._visited.add(entry.key)
        if entry is not None and (found := entry.lookup(bounds)) is not None:
            self.reused += 1
            kept = bounds if bounds is None or self._keep_from is None else (min(bounds[0], self._keep_from), bounds[1])
            if entry.histograms is not None and entry.behind(kept):
                # The window only moves on: keep the time range, drop the counts.
                self.new[entry.key] = FileEntry(entry.key, entry.span, 0, None, entry_bytes(None))
            else:
                self.used.append(entry.key)
            return found
        if entry is not None and bounds is not None and before is not None and code is not None:
            sliced = self._slice(entry, path, specs, bounds, code, before)
            if sliced is not None:
                return sliced
            entry = self.new.get(entry.key, entry)
        if entry is not None and bounds is not None and (rest := self._rest(entry, bounds)) is not None:
            self.reused += 1  # the rest of a file whose other part this evaluation read
            self.used.append(entry.key)
            return rest
        histograms, rows, span = read(path, specs, bounds)
        self.read += 1
        self.bytes_read += before.st_size if before is not None else 0
        after = _stat(path)
        if key is None or after is None or _key(path, after, counting) != key or not self._settled(after):
            return histograms, rows  # changed while read, or may still change: not final
        whole = bounds is None or (span is not None and _inside(span, bounds))
        if not whole and entry is not None and entry.histograms is not None:
            self.used.append(entry.key)  # keep the whole file's counts: a later window may hold all of it
            if bounds is not None:
                self._parts[key] = (bounds, histograms, rows)
            return histograms, rows
        counts, total = (dict(histograms), rows) if whole else (None, 0)
        if not whole and bounds is not None and span is not None:
            part = self._parts.get(key)
            if part is not None and _splits(span, part[0], bounds):  # both parts read now: the whole file
                counts = _plus(part[1], histograms)
                total = part[2] + rows if counts is not None else 0
            else:
                self._parts[key] = (bounds, histograms, rows)
        codable = entry is None or entry.codable
        self.new[key] = FileEntry(key, span, total, counts, entry_bytes(counts), codable=codable)
        return histograms, rows

    def _slice(
        self,
        entry: FileEntry,
        path: str,
        specs: Mapping[str, BinSpec],
        bounds: tuple[int, int],
        code: Coder,
        before: os.stat_result,
    ) -> tuple[Mapping[str, Histogram], int] | None:
        """The part of a file an edge of ``bounds`` cuts, from its row codes: those kept, else made
        now (one read of the whole file, kept if final and within ``codes_limit``); None: read it."""
        if entry.codes is None:
            if not (self._codable(entry, bounds, len(specs)) and self._settled(before)):
                return None
            codes = code(path, specs)
            self.read += 1
            self.bytes_read += before.st_size
            after = _stat(path)
            final = after is not None and _key(path, after, entry.key.counting) == entry.key
            if codes is None:
                if final:
                    self.new[entry.key] = replace(entry, codable=False)
                return None
            whole = (entry.histograms, entry.rows) if entry.histograms is not None else codes.count(specs)
            if final and whole is not None:
                kept = codes if codes.nbytes <= self.codes_limit else None
                self.codes_limit -= kept.nbytes if kept is not None else 0  # what later files may still take
                nbytes = entry_bytes(whole[0]) + (kept.nbytes if kept is not None else 0)
                self.new[entry.key] = FileEntry(entry.key, entry.span, whole[1], whole[0], nbytes, kept)
                self._sliced.add(entry.key)
            return codes.count(specs, bounds)
        found = entry.codes.count(specs, bounds)
        if found is not None:
            self.reused += 1
            self._sliced.add(entry.key)
            if entry.key not in self.new:
                self.used.append(entry.key)
        return found

    def _codable(self, entry: FileEntry, bounds: tuple[int, int], features: int) -> bool:
        """Worth coding: an edge of ``bounds`` cuts the file and, if its whole counts are known, they
        hold no __unseen__ values and its codes fit (unknown: :meth:`_slice` sees once coded)."""
        whole = entry.histograms
        return (
            entry.codable
            and entry.span is not None
            and not _inside(entry.span, bounds)
            and (
                whole is None
                or (
                    all(not histogram.unseen_values for histogram in whole.values())
                    and entry.rows * (features + 8) <= self.codes_limit
                )
            )
        )

    def finish(self) -> None:
        """After the evaluation: drop the row codes of the files it looked up whose parts no
        window's edge cut (wholly inside or outside every window now: the counts suffice)."""
        for key in self._visited - self._sliced:
            entry = self.new.get(key, self.known.get(key))
            if entry is not None and entry.codes is not None:
                self.new[key] = entry.without_codes()

    def rows(self, path: str, what: str, read: Callable[[str], Mapping[str, Any]]) -> Mapping[str, Any]:
        """The columns ``read`` gives of ``path`` (numpy arrays over every row of the file): from
        the entry while the file is unchanged, else by reading it; ``what`` names the columns and
        options read (part of the key). Kept under the same rules as counts (settled, unchanged
        while read, and within ``codes_limit``, which row codes share)."""
        before = _stat(path)
        key = _key(path, before, "rows:" + what) if before is not None else None
        entry = self.known.get(key) if key is not None else None
        if entry is not None and entry.columns is not None:
            self.reused += 1
            self.used.append(entry.key)
            return entry.columns
        columns = read(path)
        self.read += 1
        self.bytes_read += before.st_size if before is not None else 0
        after = _stat(path)
        if key is None or after is None or _key(path, after, key.counting) != key or not self._settled(after):
            return columns
        size = _ENTRY_OVERHEAD + sum(_array_bytes(values) for values in columns.values())
        if size > self.codes_limit:
            return columns  # kept only within the room row codes may take (FileCache.codes_room)
        self.codes_limit -= size
        self.new[key] = FileEntry(key, None, 0, None, size, columns=columns)
        return columns

    def _rest(self, entry: FileEntry, bounds: tuple[int, int]) -> tuple[Mapping[str, Histogram], int] | None:
        """The file's counts in ``bounds`` as its whole counts minus the part read in this evaluation,
        when that part's bounds and ``bounds`` split the file's rows exactly (adjacent, together
        covering its time range); None otherwise, or when a histogram holds unseen values (the
        kept top values do not subtract)."""
        part = self._parts.get(entry.key)
        if part is None or entry.histograms is None or entry.span is None or not _splits(entry.span, part[0], bounds):
            return None
        rest = _minus(entry.histograms, part[1])
        return None if rest is None else (rest, entry.rows - part[2])

    def _settled(self, stat: os.stat_result) -> bool:
        changed = max(stat.st_mtime_ns, stat.st_ctime_ns) / 1e9
        return self.clock() - changed >= self.settle_s


def _array_bytes(values: Any) -> int:
    """Memory a numpy column holds; text: its pointers and each distinct string object once
    (a column decoded from a dictionary shares a few)."""
    if values.dtype != object:
        return int(values.nbytes)
    return int(values.nbytes) + _STRING_OVERHEAD * len({id(value) for value in values})


def _splits(span: TimeRange, one: tuple[int, int], other: tuple[int, int]) -> bool:
    """Two ``[start, end)`` bounds that meet, and together cover the file's time range: each timed
    row of the file lies in exactly one of them."""
    low, high = span
    return (one[1] == other[0] and one[0] <= low and other[1] > high) or (
        other[1] == one[0] and other[0] <= low and one[1] > high
    )


def _exact(one: Mapping[str, Histogram], other: Mapping[str, Histogram]) -> bool:
    """The same features over the same bins, without unseen values (their kept top values
    neither add nor subtract exactly); counts per segment are never added or subtracted."""
    return set(one) == set(other) and all(
        isinstance(one[name], Histogram)
        and isinstance(other[name], Histogram)
        and one[name].spec == other[name].spec
        and not one[name].unseen_values
        and not other[name].unseen_values
        for name in one
    )


def _plus(one: Mapping[str, Histogram], other: Mapping[str, Histogram]) -> dict[str, Histogram] | None:
    if not _exact(one, other):
        return None
    return {name: one[name].merge(other[name]) for name in one}


def _minus(whole: Mapping[str, Histogram], part: Mapping[str, Histogram]) -> dict[str, Histogram] | None:
    """The counts of the rest of a file: its whole counts minus a part's (integers in float64: exact)."""
    if not _exact(whole, part):
        return None
    rest = {}
    for name, counted in whole.items():
        rest[name] = Histogram(counted.spec, counted.counts - part[name].counts, counted.missing - part[name].missing)
    return rest


def _inside(span: TimeRange, bounds: tuple[int, int]) -> bool:
    """Every timed row of the file lies in ``[start, end)`` (true of a file without one)."""
    low, high = span
    return low > high or (bounds[0] <= low and high < bounds[1])


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None  # gone: reading it reports the error


class FileCache:
    """The daemon's live-file entries of every monitor, at most ``max_bytes`` in all.

    Thread-safe. ``max_bytes == 0`` turns the cache off (:meth:`entries` returns None).
    """

    def __init__(self, max_bytes: int = DEFAULT_SIZE, settle_s: float = SETTLE_S) -> None:
        self.max_bytes = max_bytes
        self.settle_s = settle_s
        self._entries: OrderedDict[tuple[str, FileKey], FileEntry] = OrderedDict()  # least recently used first
        self._by_monitor: dict[str, set[FileKey]] = {}
        self._lock = threading.Lock()
        self.nbytes = 0
        self.evictions = 0  # entries dropped to stay within max_bytes
        self._configured: set[str] | None = None  # the monitors of the last reload (None: any)

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def entries(self, monitor: str) -> dict[FileKey, FileEntry] | None:
        """The monitor's entries (to hand to a worker), now the most recently used; None if off."""
        if not self.enabled:
            return None
        with self._lock:
            keys = self._by_monitor.get(monitor, set())
            for key in keys:
                self._entries.move_to_end((monitor, key))
            return {key: self._entries[(monitor, key)] for key in keys}

    def update(
        self, monitor: str, used: Iterable[FileKey], new: Mapping[FileKey, FileEntry], *, complete: bool
    ) -> None:
        """After an evaluation: keep the entries it used, add the new ones; a ``complete``
        evaluation also drops the monitor's other entries (files gone, changed or left
        behind by the window). Then evict the least recently used beyond ``max_bytes``."""
        if not self.enabled:
            return
        with self._lock:
            if self._configured is not None and monitor not in self._configured:
                return  # removed by a reload while this evaluation ran: nothing to keep
            keys = self._by_monitor.setdefault(monitor, set())
            if complete:
                for key in keys - set(used) - set(new):
                    self._drop(monitor, key)
            for key, entry in new.items():
                if (monitor, key) in self._entries:
                    self._drop(monitor, key)
                self._entries[(monitor, key)] = entry
                keys.add(key)
                self.nbytes += entry.nbytes
            while self.nbytes > self.max_bytes and self._entries:
                coded = next((place for place, entry in self._entries.items() if entry.codes is not None), None)
                if coded is not None:  # row codes go first (least recently used first): counts are small
                    entry = self._entries[coded]
                    self._entries[coded] = entry.without_codes()
                    self.nbytes -= entry.nbytes - self._entries[coded].nbytes
                    continue
                (owner, key), _ = next(iter(self._entries.items()))
                self._drop(owner, key)
                self.evictions += 1

    def codes_room(self, monitor: str) -> int:
        """Bytes the row codes of ``monitor``'s files may take without evicting anything: what is
        free plus its codes held now (replaced as its windows move), at most half the cache."""
        with self._lock:
            held_codes = (self._entries[(monitor, key)].codes for key in self._by_monitor.get(monitor, ()))
            held = sum(codes.nbytes for codes in held_codes if codes is not None)
            return max(0, min(self.max_bytes // 2, self.max_bytes - self.nbytes + held))

    def retain(self, monitors: set[str]) -> None:
        """Forget the entries of monitors no longer configured."""
        with self._lock:
            self._configured = set(monitors)
            for monitor in set(self._by_monitor) - monitors:
                for key in list(self._by_monitor[monitor]):
                    self._drop(monitor, key)
                del self._by_monitor[monitor]

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, monitor: str, key: FileKey) -> None:
        entry = self._entries.pop((monitor, key))
        self.nbytes -= entry.nbytes
        self._by_monitor[monitor].discard(key)


__all__ = [
    "DEFAULT_SIZE",
    "Coder",
    "FileCache",
    "FileCounts",
    "FileEntry",
    "FileKey",
    "Reader",
    "TimeRange",
    "counting_digest",
    "entry_bytes",
]
