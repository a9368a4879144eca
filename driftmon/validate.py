"""``driftmon validate``: what can be checked of a config without computing a score.

Always (no data is read): every ``type: file`` path or glob matches at least one file, and
every ``type: histogram`` file parses and holds each feature. A reference that matches
nothing is an error; a live glob or templated path that matches nothing is a warning (live
data may arrive later), a plain live path that does not exist an error.

With ``--sources``, every source of every monitor is also opened (:meth:`Source.probe`):
files (format, columns with their types, rows from Parquet metadata), SQL and Spark
(connect, the table or query and its columns), Prometheus (reachable, series for each
feature), histogram files; then the schema anomalies between the two sides (driftmon.schema),
one finding each, at their severity. Nothing is binned.

A critical schema anomaly (a feature's column gone from the live data, its type changed) is
a finding at ``critical``, not an error: the config is usable and ``check`` would evaluate
the monitor and report the same anomaly as critical, so ``validate`` exits 1 as ``check``
does, and 2 only for what makes a monitor unusable (a source that cannot be opened, a
feature the reference lacks). The live probe's error for such a column is at ``critical``
too (it names the nearest columns).
"""

from __future__ import annotations

import glob
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from driftmon import redact, schema
from driftmon.errors import DataError, DriftmonError, SourceError, plural
from driftmon.reference import open_reference
from driftmon.sources import open_source
from driftmon.sources.file.options import template_fields

if TYPE_CHECKING:
    from driftmon.config import Config, MonitorConfig
    from driftmon.sources import Source

OK, WARNING, CRITICAL, ERROR = "ok", "warning", "critical", "error"
SIDES = ("reference", "live")


@dataclass(frozen=True, slots=True)
class Finding:
    """One source of one monitor: ``level`` ok / warning / error, and what was seen or is wrong."""

    monitor: str
    side: str  # reference | live
    type: str  # the source's `type:`
    where: str  # the source in the user's words (a path, a table)
    level: str
    message: str


def check(cfg: Config, sources: bool = False, now: datetime | float | None = None) -> list[Finding]:
    """Findings for every monitor's two sources: files and histogram files only, or every source."""
    return [finding for monitor in cfg.monitors for finding in _monitor(monitor, sources, now)]


def _monitor(monitor: MonitorConfig, sources: bool, now: datetime | float | None) -> Iterator[Finding]:
    features = [feature.name for feature in monitor.features]
    if monitor.segments is not None:  # the segment columns must be there too (docs/segments.md)
        features += [name for name in monitor.segments.by if name not in features]
    opened: dict[str, Source] = {}  # the sources that could be opened, for the schema check
    failed = False
    anomalies: schema.SchemaResult | DriftmonError | None = None
    for side in SIDES:
        spec = getattr(monitor, side)
        if not hasattr(spec, "type"):  # a moving reference: the live source's window moved (driftmon.reference)
            spec = monitor.live
        try:
            opening = open_reference(monitor, now)[0] if side == "reference" else None
            source = opening or open_source(spec, monitor.base_dir, now)
            where = source.describe()
        except DriftmonError as error:  # a path template that cannot be filled, for one
            yield Finding(monitor.name, side, spec.type, "?", ERROR, str(error))
            continue
        opened[side] = source
        if not sources and spec.type not in ("file", "histogram"):
            continue
        gone: set[str] = set()  # features whose live column the schema check reports gone
        if sources and side == "live" and "reference" in opened:
            anomalies = _anomalies(monitor, opened["reference"], source)
            if isinstance(anomalies, schema.SchemaResult):
                gone = {a.column for a in anomalies.anomalies if a.feature and a.anomaly == "missing_column"}
        try:
            if sources or spec.type == "histogram":
                probe = source.probe(features)
                types = ", ".join(f"{name}: {kind}" for name, kind in probe.columns.items())
                found = f"{probe.found}; {types}" if types else probe.found
            else:
                paths = source.paths()  # type: ignore[attr-defined]
                found = plural(len(paths), "file")
        except SourceError as error:
            # Live data may arrive later: a live glob or templated path with no file (yet) is a
            # warning; a plain path that does not exist, or a source that cannot be opened, an error.
            level = WARNING if side == "live" and spec.type == "file" and _may_arrive(source) else ERROR
            failed = True
            yield Finding(monitor.name, side, spec.type, where, level, str(error))
        except NotImplementedError as error:
            yield Finding(monitor.name, side, spec.type, where, WARNING, str(error))
        except DriftmonError as error:
            # A column the schema check reports gone: the data, at critical as check says (the
            # probe's message names the nearest columns, or the delimiter to set).
            level = CRITICAL if gone and isinstance(error, DataError) and "not found" in str(error) else ERROR
            failed = level == ERROR
            yield Finding(monitor.name, side, spec.type, where, level, str(error))
        else:
            yield Finding(monitor.name, side, spec.type, where, OK, found)
    if sources and len(opened) == 2:
        yield from _schema(monitor, opened["live"], anomalies, failed)


def _anomalies(monitor: MonitorConfig, reference: Source, live: Source) -> schema.SchemaResult | DriftmonError | None:
    try:
        return schema.check(monitor, reference, live)
    except DriftmonError as error:
        return error


def _schema(
    monitor: MonitorConfig, live: Source, result: schema.SchemaResult | DriftmonError | None, failed: bool
) -> Iterator[Finding]:
    """The schema anomalies between the two sides, one finding each, at the level of their
    severity (critical, warning, ok). A side that
    could not be read was reported already (``failed``): its error is not repeated."""
    if isinstance(result, DriftmonError):
        if not failed:
            yield Finding(monitor.name, "schema", live.config.type, live.describe(), ERROR, str(result))
        return
    if result is None:
        return
    for anomaly in result.anomalies:
        message = f"{anomaly.anomaly} {anomaly.column!r}: {anomaly.detail} ({anomaly.severity})"
        yield Finding(monitor.name, "schema", live.config.type, live.describe(), anomaly.severity, message)


def table(findings: Sequence[Finding]) -> str:
    """Findings as a short table, one row per monitor and side, for people."""
    header = ("monitor", "side", "type", "status", "source", "found")
    rows = [header] + [
        tuple(
            redact.text(cell, one_line=True)  # each cell masked and capped: a table of 1,000 monitors is whole
            for cell in (f.monitor, f.side, f.type, f.level, f.where, f.message if f.level == OK else "(see below)")
        )
        for f in findings
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1] for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def _may_arrive(source: Source) -> bool:
    """A file source whose paths are globs or templates that match nothing yet (a plain path
    that does not exist, or a glob refused for its bounds, will not fix itself)."""
    configured = source.config.path
    patterns = [configured] if isinstance(configured, str) else list(configured)
    if not any(glob.has_magic(pattern) or template_fields(pattern) for pattern in patterns):
        return False
    try:
        source.paths()  # type: ignore[attr-defined]
    except SourceError as error:
        return str(error).startswith("no file matches") or str(error).endswith("does not exist")
    return False
