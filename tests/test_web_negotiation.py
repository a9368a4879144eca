"""Accept-Encoding negotiation honours q-values (RFC 9110 §12.5.3)."""

from __future__ import annotations

import pytest

from driftmon.web.negotiation import accepts_gzip


@pytest.mark.parametrize(
    ("header", "gzip"),
    [
        (None, False),
        ("", False),
        ("identity", False),
        ("gzip", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("gzip;q=0.001", True),
        ("deflate, gzip;q=1.0, *;q=0.5", True),
        ("*", True),
        ("*;q=0", False),
        ("*, gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("br, deflate", False),
        ("gzip;q=abc", False),
        ("gzip;q=2", False),
    ],
)
def test_accepts_gzip(header: str | None, gzip: bool) -> None:
    """gzip is used only when named (or covered by `*`) with a weight above 0; an explicit
    `gzip;q=0` wins over `*`; malformed or out-of-range weights count as 0."""
    assert accepts_gzip(header) is gzip
