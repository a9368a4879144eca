"""Content negotiation that respects q-values (RFC 9110 §12.5.3)."""

from __future__ import annotations


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether a response may be gzip-compressed for this ``Accept-Encoding`` header.

    ``gzip`` (or ``x-gzip``) with a q-value above 0 allows it, ``gzip;q=0`` forbids it
    whatever else is listed, and ``*`` stands for gzip when gzip is not named. No header,
    or a header not naming gzip, gets identity.
    """
    explicit: float | None = None
    wildcard: float | None = None
    for item in (accept_encoding or "").split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        quality = _quality(params)
        coding = coding.lower()
        if coding in ("gzip", "x-gzip"):
            explicit = quality if explicit is None else max(explicit, quality)
        elif coding == "*":
            wildcard = quality
    if explicit is not None:
        return explicit > 0
    return wildcard is not None and wildcard > 0


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return 0.0  # a malformed weight: safest is not to compress
            return quality if 0.0 <= quality <= 1.0 else 0.0
    return 1.0
