"""A result's data quality in words and JSON: its status, its findings, its ``quality`` object.

Reads a :class:`~driftmon.evaluate.MonitorResult` (its features' checks, schema anomalies,
volume and freshness) and never imports it: ``evaluate`` delegates here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from driftmon.quality import describe

if TYPE_CHECKING:
    from driftmon.evaluate import MonitorResult
    from driftmon.quality import FeatureQuality

OK = "ok"
QUALITY_CHECKS = ("missing", "out_of_range", "unseen", "constant")
_ORDER = {OK: 0, "insufficient_data": 1, "warning": 2, "critical": 3}


def status(result: MonitorResult) -> str:
    """The worst data-quality severity: features' checks, schema, volume, freshness (ok when off)."""
    found = [result.volume or OK, result.schema.worst if result.schema is not None else OK]
    if result.feed is not None:
        found += [result.feed.volume, result.feed.freshness or OK]
    for feature in result.features:
        if feature.quality is not None:
            found += [feature.quality.severity(check) for check in QUALITY_CHECKS]
    return max(found, key=_ORDER.__getitem__)


def findings(result: MonitorResult) -> list[str]:
    """Each data-quality check at warning or worse, one line each: schema, volume and
    freshness first, then per feature."""
    lines = result.schema.findings() if result.schema is not None else []
    if result.feed is not None:
        lines += result.feed.findings()
    elif result.volume not in (None, OK):
        rows = _count(result.live_rows or 0.0)
        lines.append(f"volume: {rows} live rows, fewer than min_rows {result.min_rows} ({result.volume})")
    for feature in result.features:
        if feature.quality is not None:
            lines += [f"{feature.feature}: {line}" for line in describe(feature.quality)]
    return lines


def to_json(result: MonitorResult) -> dict[str, Any] | None:
    """The ``quality`` object of ``check --format json``; None when every check is off."""
    checked = [f for f in result.features if f.quality is not None]
    if not checked and result.volume is None and result.schema is None and result.feed is None:
        return None
    volume: dict[str, Any] | None = None
    if result.volume is not None:
        volume = {"severity": result.volume, "min_rows": result.min_rows}
    if volume is not None and result.feed is not None:
        volume.update(reason=result.feed.reason, expected_rows=result.feed.expected_rows)
    freshness = None
    feed = result.feed
    if feed is not None and feed.freshness is not None:
        age = None if feed.age_s is None or feed.age_s == float("inf") else feed.age_s
        freshness = {"severity": feed.freshness, "newest": feed.newest, "age_s": age, "max_age_s": feed.max_age_s}
    return {
        "status": status(result),
        "schema": None if result.schema is None else result.schema.to_json(),
        "live_rows": None if result.live_rows is None else _number(result.live_rows),
        "volume": volume,
        "freshness": freshness,
        "features": [_feature(f.feature, f.quality) for f in checked if f.quality is not None],
    }


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _count(count: float) -> str:
    return f"{count:,.0f}" if float(count).is_integer() else f"{count:,.2f}"


def _share(check: Any) -> dict[str, Any] | None:
    if check is None:
        return None
    return {"reference": check.reference, "live": check.live, "pvalue": check.pvalue, "severity": check.severity}


def _feature(name: str, quality: FeatureQuality) -> dict[str, Any]:
    return {
        "feature": name,
        "severity": {check: quality.severity(check) for check in QUALITY_CHECKS},
        "missing": _share(quality.missing),
        "below_range": _share(quality.below),
        "above_range": _share(quality.above),
        "unseen": _share(quality.unseen),
        "constant": quality.constant,
    }
