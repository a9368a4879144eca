"""``driftmon validate``: what can be checked of a config without computing a score.

Always (no data is read): every ``type: file`` path or glob matches at least one file, and
every ``type: histogram`` file parses and holds each feature. A reference that matches
nothing is an error; a live side that matches nothing is a warning (live data may arrive
later).

With ``--sources``, every source of every monitor is also opened (:meth:`Source.probe`):
files (format, columns with their types, rows from Parquet metadata), SQL and Spark
(connect, the table or query and its columns), Prometheus (reachable, series for each
feature), histogram files. Nothing is binned.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from driftmon import redact
from driftmon.errors import DriftmonError, SourceError, plural
from driftmon.sources import open_source

if TYPE_CHECKING:
    from driftmon.config import Config, MonitorConfig

OK, WARNING, ERROR = "ok", "warning", "error"
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
    for side in SIDES:
        spec = getattr(monitor, side)
        try:
            source = open_source(spec, monitor.base_dir, now)
            where = source.describe()
        except DriftmonError as error:  # a path template that cannot be filled, for one
            yield Finding(monitor.name, side, spec.type, "?", ERROR, str(error))
            continue
        if not sources and spec.type not in ("file", "histogram"):
            continue
        try:
            if sources or spec.type == "histogram":
                probe = source.probe(features)
                columns = ", ".join(f"{name}: {kind}" for name, kind in probe.columns.items())
                found = f"{probe.found}; {columns}" if columns else probe.found
            else:
                paths = source.paths()  # type: ignore[attr-defined]
                found = plural(len(paths), "file")
        except SourceError as error:
            # Live data may arrive later: a live side with no file (yet) is a warning.
            level = WARNING if side == "live" and spec.type == "file" and _no_file(source) else ERROR
            yield Finding(monitor.name, side, spec.type, where, level, str(error))
        except NotImplementedError as error:
            yield Finding(monitor.name, side, spec.type, where, WARNING, str(error))
        except DriftmonError as error:
            yield Finding(monitor.name, side, spec.type, where, ERROR, str(error))
        else:
            yield Finding(monitor.name, side, spec.type, where, OK, found)


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


def _no_file(source: object) -> bool:
    try:
        source.paths()  # type: ignore[attr-defined]
    except SourceError:
        return True
    return False
