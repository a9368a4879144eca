"""The model section of the status pages and of ``driftmon report`` (docs/model.md).

One table per model: each metric's estimate with its band, the realized value over the
labelled rows, the reference's value, the warning / critical levels and the severity; then
the labels (coverage, the join's states, the newest label's delay) and why realized
performance is absent when it is. Values only: the templates escape every one.
"""

from __future__ import annotations

from typing import Any

from driftmon.labels import describe_delay

__all__ = ["model_section"]

_WORST_FIRST = ("critical", "warning", "insufficient_data")


def _value(value: float | None) -> str:
    return "none" if value is None else f"{value:.4f}"


def model_section(result: Any) -> dict[str, Any] | None:
    """What the monitor page shows of ``result.model`` (None: the monitor has no model)."""
    model = getattr(result, "model", None)
    if model is None:
        return None
    estimated = model.estimated.values if model.estimated is not None else {}
    realized = model.realized.values if model.realized is not None else {}
    rows = []
    for metric, (warning, critical) in model.thresholds.items():
        band = model.bands.get(metric)
        levels = [model.severity.get(kind, {}).get(metric) for kind in ("estimated", "realized")]
        rows.append(
            {
                "metric": metric,
                "estimated": _value(estimated.get(metric)),
                "band": f"{band[0]:.4f} to {band[1]:.4f}" if band else "",
                "realized": _value(realized.get(metric)),
                "reference": _value(model.reference.values.get(metric)),
                "levels": f"{_value(warning)} / {_value(critical)}",
                "severity": next((level for level in _WORST_FIRST if level in levels), "ok"),
            }
        )
    coverage = f"{model.labelled_rows:,} of {model.live_rows:,} live rows labelled"
    if model.coverage is not None:
        coverage += f" ({model.coverage:.1%})"
    states = ", ".join(f"{state} {count:,}" for state, count in model.label_counts.items() if count)
    return {
        "task": model.task,
        "status": model.worst,
        "rows": rows,
        "coverage": coverage,
        "states": states,
        "delay": None if model.label_delay_seconds is None else describe_delay(model.label_delay_seconds),
        "realized_absent": model.realized_absent,
        "notes": list(model.notes),
    }
