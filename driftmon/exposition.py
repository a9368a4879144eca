"""Rendering the snapshot as Prometheus text or OpenMetrics, once per change.

Scrapes cost no computation: :class:`Exposition` renders each monitor's series once per
change of that monitor (prometheus_client renders ~15 µs per series, far too slow for
tens of thousands of series per scrape), joins the pieces once per snapshot and format,
and serves those bytes until the next snapshot; gzip, too, is redone only for what
changed: each monitor's piece is deflated on its own and the pieces are spliced into one
gzip member. The bytes are those prometheus_client renders from
:class:`~driftmon.collector.DriftCollector` (tests/test_exporter.py compares them).
"""

from __future__ import annotations

import gzip
import struct
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from driftmon.collector import DriftCollector, families, global_family, monitor_family, new_family
from driftmon.exporter import GLOBAL_METRICS, MONITOR_METRICS, MetricSpec
from driftmon.results import MonitorState, Snapshot


def _restricted(items: Iterable[Metric], names: set[str]) -> Iterator[Metric]:
    """Only the samples named in ``names`` (as prometheus_client's ``name[]`` filter)."""
    for family in items:
        kept = [sample for sample in family.samples if sample.name in names]
        if kept:
            copy = Metric(family.name, family.documentation, family.type)
            copy.samples = kept
            yield copy


class _Families(Collector):
    """A collector over families already built (to render one piece)."""

    def __init__(self, *items: Metric) -> None:
        self._items = items

    def collect(self) -> Iterable[Metric]:
        return self._items


# ---------------------------------------------------------------------------
# rendering once per change

Encoder = Callable[[Collector], bytes]
_EOF = b"# EOF\n"
_MAX_FORMATS = 4  # distinct Accept variants kept rendered (text, OpenMetrics, escapings)
# gzip member header (no name, no mtime, unknown OS) and the final empty deflate block.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
_DEFLATE_END = b"\x03\x00"


def _sample_lines(family: Metric) -> bytes:
    """The sample lines of one family, without HELP/TYPE/UNIT and the OpenMetrics EOF.

    Written here rather than by prometheus_client's encoders (ten times faster): for metric
    and label names of the legacy character set (all driftmon emits: config.py validates
    label names), without timestamps or exemplars, both its text and OpenMetrics encoders
    write exactly ``name{k="v",...} value`` with sorted labels and escaped values
    (tests/test_exporter.py compares the bytes).
    """
    lines = []
    for sample in family.samples:
        value: str = floatToGoString(sample.value)  # type: ignore[no-untyped-call]
        if sample.labels:
            labels = ",".join(f'{k}="{_escape_label_value(v)}"' for k, v in sorted(sample.labels.items()))
            lines.append(f"{sample.name}{{{labels}}} {value}\n")
        else:
            lines.append(f"{sample.name} {value}\n")
    return "".join(lines).encode("utf-8")


def _escape_label_value(value: str) -> str:
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


class _Piece:
    """Some exposition text and, once asked for, its deflated form.

    Each piece is deflated on its own and ends with a sync flush (byte-aligned, no
    reference to earlier data), so deflated pieces concatenate into one valid deflate
    stream: a change of one monitor re-compresses only that monitor's pieces.
    """

    __slots__ = ("_deflated", "text")

    def __init__(self, text: bytes) -> None:
        self.text = text
        self._deflated: bytes | None = None

    def deflated(self, level: int) -> bytes:
        if self._deflated is None:
            compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
            self._deflated = compressor.compress(self.text) + compressor.flush(zlib.Z_SYNC_FLUSH)
        return self._deflated


@dataclass(slots=True)
class _Rendered:
    """The latest body in one format."""

    version: int
    body: bytes
    gzipped: bytes | None = None


@dataclass(slots=True)
class _Format:
    """Per-format caches: each monitor's pieces per family, the headers, the body."""

    encoder: Encoder
    pieces: dict[str, tuple[MonitorState, dict[str, _Piece]]] = field(default_factory=dict)
    headers: dict[tuple[str, str], _Piece] = field(default_factory=dict)
    rendered: _Rendered | None = None
    wants_gzip: bool = False


class Exposition:
    """Serves the snapshot as Prometheus text or OpenMetrics, rendered once per change.

    A monitor's series are rendered (and deflated, for gzip) when its state changes; the
    body is joined from the pieces once per snapshot version and format. The text is
    byte for byte what prometheus_client renders from :class:`DriftCollector`.
    """

    def __init__(self, snapshot: Callable[[], Snapshot], *, compresslevel: int = 6, background: bool = False) -> None:
        """``background``: the caller keeps the bytes fresh with :meth:`refresh` (from its
        own thread), so a scrape always gets the latest rendered bytes at once and never
        renders (only a format's very first scrape does)."""
        self._background = background
        self._snapshot = snapshot
        self.collector = DriftCollector(snapshot)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)
        self._level = compresslevel
        self._lock = threading.Lock()
        self._formats: dict[str, _Format] = {}

    def render(
        self,
        accept: str | None,
        accept_encoding: str | None = None,
        names: list[str] | None = None,
    ) -> tuple[bytes, list[tuple[str, str]]]:
        """The body and headers for a scrape with these Accept / Accept-Encoding headers.

        ``names`` (the ``name[]`` query parameter) restricts the output to those metrics;
        such a scrape is rendered on the spot.
        """
        encoder, content_type = choose_encoder(accept or "")
        headers = [("Content-Type", content_type)]
        compress = gzip_accepted(accept_encoding or "")
        if compress:
            headers.append(("Content-Encoding", "gzip"))
        if names:
            body = encoder(_Families(*_restricted(families(self._snapshot()), set(names))))
            return (gzip.compress(body, compresslevel=self._level) if compress else body), headers
        rendered = self._current(content_type, encoder, compress, latest=self._background)
        if compress:
            assert rendered.gzipped is not None
            return rendered.gzipped, headers
        return rendered.body, headers

    def refresh(self) -> None:
        """Render the current snapshot in every format scraped so far (call after a
        swap), so the next scrape finds its bytes ready."""
        for content_type, fmt in list(self._formats.items()):
            self._current(content_type, fmt.encoder, fmt.wants_gzip)

    def _current(self, content_type: str, encoder: Encoder, compress: bool, latest: bool = False) -> _Rendered:
        snapshot = self._snapshot()
        fmt = self._formats.get(content_type)
        rendered = fmt.rendered if fmt is not None else None
        if latest and rendered is not None and (not compress or rendered.gzipped is not None):
            return rendered
        if rendered is None or rendered.version != snapshot.version or (compress and rendered.gzipped is None):
            with self._lock:
                rendered = self._render_locked(snapshot, content_type, encoder, compress)
        return rendered

    def _render_locked(self, snapshot: Snapshot, content_type: str, encoder: Encoder, compress: bool) -> _Rendered:
        fmt = self._formats.get(content_type)
        if fmt is None:
            if len(self._formats) >= _MAX_FORMATS:
                self._formats.pop(next(iter(self._formats)))
            fmt = self._formats[content_type] = _Format(encoder)
        fmt.wants_gzip = fmt.wants_gzip or compress
        rendered = fmt.rendered
        fresh = rendered is not None and rendered.version == snapshot.version
        if fresh and rendered is not None and (not compress or rendered.gzipped is not None):
            return rendered
        pieces = self._pieces(snapshot, fmt)
        body = b"".join(piece.text for piece in pieces)
        gzipped = None
        if fmt.wants_gzip:
            trailer = struct.pack("<II", zlib.crc32(body), len(body) & 0xFFFFFFFF)
            deflated = b"".join(piece.deflated(self._level) for piece in pieces)
            gzipped = _GZIP_HEADER + deflated + _DEFLATE_END + trailer
        fmt.rendered = _Rendered(snapshot.version, body, gzipped)
        return fmt.rendered

    def _pieces(self, snapshot: Snapshot, fmt: _Format) -> list[_Piece]:
        """The body of ``snapshot`` as pieces, in the order DriftCollector yields."""
        by_monitor = {state.name: self._monitor_pieces(state, fmt) for state in snapshot.monitors}
        fmt.pieces = {name: fmt.pieces[name] for name in by_monitor}  # forget removed monitors
        pieces: list[_Piece] = []
        for spec in MONITOR_METRICS:
            lines = [by_monitor[s.name][spec.name] for s in snapshot.monitors if spec.name in by_monitor[s.name]]
            if lines:
                pieces.append(self._header(spec, spec.help(snapshot), fmt))
                pieces.extend(lines)
        openmetrics = False
        for spec in GLOBAL_METRICS:
            text = fmt.encoder(_Families(global_family(spec, snapshot)))
            openmetrics = text.endswith(_EOF)
            pieces.append(_Piece(text.removesuffix(_EOF)))
        if openmetrics:
            pieces.append(_Piece(_EOF))
        return pieces

    def _monitor_pieces(self, state: MonitorState, fmt: _Format) -> dict[str, _Piece]:
        cached = fmt.pieces.get(state.name)
        if cached is not None and cached[0] is state:
            return cached[1]
        lines = {}
        for spec in MONITOR_METRICS:
            family = monitor_family(spec, state, "")
            if family.samples:
                lines[spec.name] = _Piece(_sample_lines(family))
        fmt.pieces[state.name] = (state, lines)
        return lines

    def _header(self, spec: MetricSpec, help_text: str, fmt: _Format) -> _Piece:
        key = (spec.name, help_text)
        header = fmt.headers.get(key)
        if header is None:
            if len(fmt.headers) > 256:  # HELP texts follow the config; keep the cache small
                fmt.headers.clear()
            header = _Piece(fmt.encoder(_Families(new_family(spec, help_text))).removesuffix(_EOF))
            fmt.headers[key] = header
        return header
