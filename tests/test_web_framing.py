"""Where a request ends (driftmon.web.framing): what the server's gate waits for."""

from __future__ import annotations

import pytest

from driftmon.web.framing import request_ready, wants_continue

HEAD = b"POST /-/reload HTTP/1.1\r\nHost: x\r\n"


@pytest.mark.parametrize(
    ("data", "ready"),
    [
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\n", False),  # the head is not over
        (b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"GET /metrics HTTP/1.1\nHost: x\n\n", True),  # bare LF: cheroot answers 400
        (HEAD + b"Content-Length: 5\r\n\r\nabc", False),  # 2 body bytes missing
        (HEAD + b"content-length:5\r\n\r\nabcde", True),
        (HEAD + b"Content-Length: 5\r\n\r\nabcdeGET / HTTP/1.1\r\n", True),  # the next request may follow
        (HEAD + b"Content-Length: 2000000\r\n\r\n", True),  # over the body limit: 413 at once
        (HEAD + b"Content-Length: -1\r\n\r\n", True),  # malformed: 400 at once
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", False),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n", False),  # the final CRLF missing
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\n\r\n", True),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: 1\r\n", False),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: 1\r\n\r\n", True),
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", True),  # malformed: cheroot refuses
        (HEAD + b"Transfer-Encoding: chunked\r\n\r\nfffffff\r\n", True),  # over the limit
        (HEAD + b"Transfer-Encoding: gzip\r\n\r\n", True),  # cheroot answers 501
        (b"GET /" + b"a" * 70_000, True),  # past the head limit: 414/431 at once
        (b"GET / HTTP/1.1\r\n" + b"X: " + b"a" * 70_000 + b"\r\n\r\n", True),
    ],
)
def test_a_request_is_ready_once_whole_or_refusable(data: bytes, ready: bool) -> None:
    """Head and body whole (Content-Length bytes, chunks to the last and trailers), or
    beyond the limits (64 KiB head, 1 MiB body), or framed so cheroot refuses it."""
    assert request_ready(data, 65536, 1 << 20) is ready


def test_expect_continue_is_seen_in_the_first_head_only() -> None:
    """Expect: 100-continue (any case) in the first request's head; not in a later request."""
    assert wants_continue(HEAD + b"Expect: 100-Continue\r\nContent-Length: 4\r\n\r\n")
    assert not wants_continue(HEAD + b"Content-Length: 4\r\n\r\n")
    assert not wants_continue(HEAD + b"\r\nGET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n")
    assert not wants_continue(HEAD + b"Expect: 100-continue\r\n")  # head not over
