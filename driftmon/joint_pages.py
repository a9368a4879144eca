"""The joint-drift section of a monitor's status page and of ``driftmon report``: each
method's score against what no drift gives, its thresholds, p-value, severity (or why it
could not score), the features that moved jointly, and the features left out.

Text only (the templates autoescape); reads a `driftmon.joint.JointResult`, computes nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["joint_section"]


def _number(value: float, digits: int = 4) -> str:
    return "0" if value == 0 else f"{value:.{digits}g}"


def joint_section(joint: Any, anchor: str) -> dict[str, Any] | None:
    """The page model of ``joint`` (a JointResult), None when the monitor has no ``multivariate:``;
    ``anchor``: the monitor's id part, so sections of several monitors in one report differ."""
    if joint is None:
        return None
    methods = []
    for method, item in joint.methods.items():
        drift = item.drift
        row: dict[str, Any] = {"method": method, "severity": item.severity, "reason": item.reason}
        if drift is not None and item.thresholds is not None:
            row |= {
                "score": _number(drift.score),
                "expected": f"{_number(drift.expected)} ± {_number(drift.spread, 2)}",
                "thresholds": f"{_number(item.thresholds[0])} / {_number(item.thresholds[1])}",
                "pvalue": _number(drift.pvalue, 3),
                "rows": f"{drift.reference_rows} / {drift.live_rows}",
                "moved": ", ".join(f"{name} {share:.0%}" for name, share in list(drift.contributions.items())[:3]),
            }
        methods.append(row)
    return {
        "anchor": anchor,
        "status": joint.worst,
        "features": ", ".join(joint.features),
        "methods": methods,
        "left_out": [f"{name}: {reason}" for name, reason in joint.left_out.items()],
    }
