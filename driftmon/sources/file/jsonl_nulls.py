"""JSON Lines bytes as pyarrow.json may safely parse them: every line whose value is ``null``
reads as ``{}``, the same row with every key missing.

pyarrow's JSON parser dereferences an empty stack when a block's first value is a top-level
``null`` (apache/arrow#47409, open in pyarrow 26): the process dies of a segmentation fault,
on a file as short as ``null`` or ``\\ufeff null``, and mid-file wherever a block (a cut at a
line break, 1 MiB by default) begins with such a line. Elsewhere pyarrow reads the line as a
row of nulls, as DuckDB does; so that is what every such line means here, wherever it falls.
pyarrow reads the file through a native stream bounded to the size it had when checked (a
file still being appended to cannot grow an unchecked line in between), or, when it has such
lines, a temporary copy with each one replaced; never through a Python file object (pyarrow's
I/O threads calling into Python abort the process at exit). Each replacement keeps the length.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

CHUNK_BYTES = 1 << 20
_NULL = np.frombuffer(b"null", "<u4")[0]
_ODD_STARTS = (ord(" "), ord("\t"), 0xEF)  # a blank or a byte-order mark before a line's value
# Where a chunk begins: inside a line, at a line's start, or past a line's first blanks only.
INSIDE, LINE_START, IN_BLANKS = 0, 1, 2
# A line's top-level null: after a line break, an optional byte-order mark (the parser skips
# one at each block's start) and blanks; at the chunk's start too unless it begins INSIDE.
_LINE_NULL = {
    INSIDE: re.compile(rb"(?<=[\r\n])((?:\xef\xbb\xbf)?[ \t]*)null"),
    LINE_START: re.compile(rb"(?:(?<=[\r\n])|\A)((?:\xef\xbb\xbf)?[ \t]*)null"),
    IN_BLANKS: re.compile(rb"(?<=[\r\n])((?:\xef\xbb\xbf)?[ \t]*)null|\A([ \t]*)null"),
}
# A line begun with no line break yet: blanks only (its value still to come), or too little to tell.
_BLANKS = {LINE_START: re.compile(rb"(?:\xef\xbb\xbf)?[ \t]*"), IN_BLANKS: re.compile(rb"[ \t]*")}
_UNDECIDED = {
    LINE_START: re.compile(rb"\xef\xbb?|(?:\xef\xbb\xbf)?[ \t]*(?:n|nu|nul)"),
    IN_BLANKS: re.compile(rb"[ \t]*(?:n|nu|nul)"),
}


def safe_head(path: str, size: int) -> pa.Buffer:
    """The file's first ``size`` bytes, cut after their last line break when the file goes on
    (pyarrow's first block), with null lines read as ``{}``."""
    with open(path, "rb") as file:
        data = file.read(size)
        more = bool(file.read(1))
    cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
    if more and cut >= 0:
        data = data[: cut + 1]
    return pa.py_buffer(_without_null_lines(data, LINE_START))


@contextlib.contextmanager
def safe_stream(path: str) -> Iterator[pa.NativeFile]:
    """A native stream of the file's bytes up to its size now, with null lines read as ``{}``
    (the file itself when it has none, else a temporary copy)."""
    with pa.OSFile(path) as file:
        size = file.size()
        if not any(_null_line_in(*chunk) for chunk in _line_chunks(_bounded(file, size))):
            yield file.get_stream(0, size)
            return
        with tempfile.TemporaryDirectory(prefix="driftmon-jsonl-") as folder:
            copy = str(Path(folder) / "safe.jsonl")
            with pa.OSFile(path) as again, open(copy, "wb") as out:
                for chunk in _line_chunks(_bounded(again, size)):
                    out.write(_without_null_lines(*chunk))
            with pa.OSFile(copy) as safe:
                yield safe


class SafeJsonLines(io.RawIOBase):
    """A JSON Lines file read with null lines as ``{}`` (see the module docstring), for pandas
    (pure Python: never hand it to pyarrow)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self._file = open(path, "rb")  # noqa: SIM115 (closed with the stream)
        self._chunks = _line_chunks(self._file.read)
        self._ready = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._ready:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._ready = memoryview(_without_null_lines(*chunk))
        size = min(len(buffer), len(self._ready))
        buffer[:size] = self._ready[:size]
        self._ready = self._ready[size:]  # a view: no copy of the rest
        return size

    def close(self) -> None:
        self._chunks.close()
        self._file.close()
        super().close()


def _bounded(file: pa.NativeFile, size: int) -> Callable[[int], bytes]:
    """``file.read``, stopping at byte ``size``."""
    left = [size]

    def read(wanted: int) -> bytes:
        data: bytes = file.read(min(wanted, left[0])) if left[0] > 0 else b""
        left[0] -= len(data)
        return data

    return read


def _line_chunks(read: Callable[[int], bytes]) -> Generator[tuple[bytes, int], None, None]:
    """What ``read`` gives, in chunks of about CHUNK_BYTES that end at a line break (a longer
    line is cut where it must), each with where it begins (INSIDE, LINE_START, IN_BLANKS)."""
    where = LINE_START
    carry = b""
    while True:
        data = read(CHUNK_BYTES)
        if not data:
            if carry:
                yield carry, where
            return
        data = carry + data
        cut = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if cut >= 0:
            yield data[: cut + 1], where
            carry, where = data[cut + 1 :], LINE_START
            continue
        # no line break yet: a long line, or the last one
        if len(data) < CHUNK_BYTES or (where != INSIDE and _UNDECIDED[where].fullmatch(data)):
            carry = data  # too little of the line to tell yet
            continue
        yield data, where
        carry = b""
        where = IN_BLANKS if where != INSIDE and _BLANKS[where].fullmatch(data) else INSIDE


def _without_null_lines(data: bytes, where: int) -> bytes:
    """``data`` with each line's top-level ``null`` as ``{}  ``; fast when there is none."""
    if not _may_have_null_line(data, where):
        return data
    return _LINE_NULL[where].sub(lambda match: match[0][:-4] + b"{}  ", data)


def _null_line_in(data: bytes, where: int) -> bool:
    """Whether a line of ``data`` holds a top-level ``null``."""
    return _may_have_null_line(data, where) and _LINE_NULL[where].search(data) is not None


def _may_have_null_line(data: bytes, where: int) -> bool:
    """Whether a line of ``data`` may begin (past blanks) with ``null``: exact for lines that
    begin with their value, True for any line that begins with a blank or a byte-order mark
    (rare in JSON Lines; the substitution then decides). About 2 ns a byte."""
    codes = np.frombuffer(data, np.uint8)
    starts = np.flatnonzero(codes == ord("\n")) + 1
    if b"\r" in data:
        starts = np.union1d(starts, np.flatnonzero(codes == ord("\r")) + 1)
    if where != INSIDE:
        starts = np.concatenate([[0], starts])
    starts = starts[starts < codes.size]
    if np.isin(codes[starts], _ODD_STARTS).any():
        return True
    whole = starts[starts + 4 <= codes.size]
    words = (
        codes[whole].astype(np.uint32)
        | codes[whole + 1].astype(np.uint32) << 8
        | codes[whole + 2].astype(np.uint32) << 16
        | codes[whole + 3].astype(np.uint32) << 24
    )
    return bool((words == _NULL).any())
