"""Where the first HTTP/1.1 request in a buffer ends: what the server's gate waits for
before a worker takes the request, so that no worker ever waits for a client's bytes.

:func:`request_ready` is True once the first request is whole (request line, headers and
its body: ``Content-Length`` bytes or chunks up to the last one) or can never be served
(a head over the limit, a body over the limit, framing cheroot will refuse): cheroot then
answers 431, 413 or 400 without reading more. It only frames; cheroot parses.
"""

from __future__ import annotations

import re

_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE | re.MULTILINE)
_TRANSFER_ENCODING = re.compile(rb"^transfer-encoding[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE | re.MULTILINE)
_EXPECT_CONTINUE = re.compile(rb"^expect[ \t]*:[ \t]*100-continue[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)


def head_end(data: bytes | bytearray) -> int | None:
    """The index just past the first request's blank line, None when it has not come yet."""
    ends = [i + len(mark) for mark in (b"\r\n\r\n", b"\n\n") if (i := data.find(mark)) >= 0]
    return min(ends) if ends else None


def request_ready(data: bytes | bytearray, max_head: int, max_body: int) -> bool:
    """True when a worker can take the first request of ``data`` without waiting for more."""
    end = head_end(data)
    if end is None or end > max_head:
        return len(data) > max_head or end is not None
    head = bytes(data[:end])
    encoding = _TRANSFER_ENCODING.search(head)
    if encoding is not None:
        if b"chunked" not in encoding.group(1).lower():
            return True  # cheroot refuses it (501)
        return _chunks_end(data, end, max_body)
    length = _CONTENT_LENGTH.search(head)
    if length is None:
        return True
    text = length.group(1).strip()
    if not text.isdigit() or int(text) > max_body:
        return True  # cheroot answers 400 or 413 without reading the body
    return len(data) - end >= int(text)


def wants_continue(data: bytes | bytearray) -> bool:
    """The first request's head (complete) asks ``Expect: 100-continue``."""
    end = head_end(data)
    return end is not None and _EXPECT_CONTINUE.search(bytes(data[:end])) is not None


def _chunks_end(data: bytes | bytearray, start: int, max_body: int) -> bool:
    """A chunked body from ``start``: True once its last chunk and trailers are buffered, or
    when it is malformed or over ``max_body`` (cheroot refuses it)."""
    position = start
    while True:
        if position - start > max_body:
            return True
        line_end = data.find(b"\n", position)
        if line_end < 0:
            return len(data) - start > max_body
        size_text = bytes(data[position:line_end]).split(b";", 1)[0].strip()
        if not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
            return True
        size = int(size_text, 16)
        if size == 0:  # trailers, up to a blank line
            rest = line_end + 1
            if data[rest : rest + 2] == b"\r\n" or data[rest : rest + 1] == b"\n":
                return True
            return head_end(data[rest:]) is not None or len(data) - start > max_body
        position = line_end + 1 + size + 2  # the chunk and its CRLF
        if position > len(data):
            return position - start > max_body
