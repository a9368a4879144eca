"""`driftmon check`'s table for people: one block per monitor, features as rows, measures as columns.

Under each table: the data-quality checks at warning or worse, why a feature was not
judged, and the bins that moved most. Names (from the config and the data) are printed
with control and bidi characters escaped. The JSON form is `driftmon.evaluate.document`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TextIO

from driftmon.explain import describe_movers, lead_measure
from driftmon.labels import describe_delay
from driftmon.redact import printable


def write(results: Sequence[Any], out: TextIO) -> None:
    """A table per monitor for people: features as rows, measures as columns. Names (from
    the config and the data) are printed with control and bidi characters escaped."""
    for result in results:
        labels = printable("".join(f" {k}={v}" for k, v in result.labels.items()))
        out.write(f"monitor {printable(result.monitor)}: {result.status}{labels}\n")
        if result.error:  # the message itself went to stderr
            out.write("\n")
            continue
        reference = getattr(result, "reference", None)
        if reference is not None and reference.kind != "static":  # which window the scores are against
            out.write(f"  against the {reference.describe()}\n")
        _quality_lines(result, out)
        _model_lines(result, out)
        _joint_lines(result, out)
        _segment_lines(result, out)
        header = ["feature", "kind", "reference", "live", "unseen", "p (adj.)", *result.measures, "severity"]
        rows = [header]
        for feature in result.features:
            cells = [
                printable(feature.feature),
                feature.kind,
                _count(feature.reference_count),
                _count(feature.live_count),
                f"{feature.unseen_fraction:.1%}",
                "-" if feature.pvalue_adjusted is None else f"{feature.pvalue_adjusted:.2g}",
            ]
            for measure in result.measures:
                value = feature.scores.get(measure)
                mark = {"warning": " !", "critical": " !!"}.get(feature.severity.get(measure, ""), "")
                cells.append("-" if value is None else _score(value) + mark)
            cells.append(feature.worst)
            rows.append(cells)
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            text = "  ".join(
                cell.ljust(width) if i < 2 or i == len(row) - 1 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            )
            out.write("  " + text.rstrip() + "\n")
        for feature in result.features:
            if feature.reason:
                out.write(f"  {printable(feature.feature)}: not judged: {printable(feature.reason)}\n")
        _movers(result, out)
        out.write("\n")
    out.write("(!: at warning, !!: at critical)\n")


def _quality_lines(result: Any, out: TextIO) -> None:
    """Broken data first: each data-quality check at warning or worse, one line each."""
    lines = result.quality_findings()
    if lines:
        out.write("  data quality:\n")
        out.writelines(f"    {printable(line)}\n" for line in lines)


def _model_lines(result: Any, out: TextIO) -> None:
    """The model's metrics: estimated (with its band), realized, reference, and the severity."""
    model = result.model
    if model is None:
        return
    coverage = f", {model.labelled_rows:,} of {model.live_rows:,} live rows labelled"
    out.write(f"  model ({model.task}{coverage}):\n")
    for metric, _ in model.thresholds.items():
        parts = []
        if model.estimated is not None and metric in model.estimated.values:
            band = model.bands.get(metric)
            within = f" [{band[0]:.4f}, {band[1]:.4f}]" if band else ""
            parts.append(f"estimated {model.estimated.values[metric]:.4f}{within}")
        if model.realized is not None and metric in model.realized.values:
            parts.append(f"realized {model.realized.values[metric]:.4f}")
        if metric in model.reference.values:
            parts.append(f"reference {model.reference.values[metric]:.4f}")
        levels = [model.severity.get(kind, {}).get(metric) for kind in ("estimated", "realized")]
        worst = next((level for level in ("critical", "warning") if level in levels), "ok")
        if parts:
            out.write(f"    {metric:<18} {', '.join(parts)}: {worst}\n")
    if model.realized_absent:
        out.write(f"    realized: none, {printable(model.realized_absent)}\n")
    if model.label_delay_seconds is not None:
        out.write(f"    newest label: {describe_delay(model.label_delay_seconds)} after its prediction\n")
    for note in model.notes:
        out.write(f"    note: {printable(note)}\n")


def _joint_lines(result: Any, out: TextIO) -> None:
    """Joint drift: each method's score against what no drift gives, its p-value, what moved."""
    joint = result.multivariate
    if joint is None:
        return
    out.write(f"  joint drift ({', '.join(printable(name) for name in joint.features)}):\n")
    for method, item in joint.methods.items():
        drift = item.drift
        if drift is None:
            out.write(f"    {method:<15} {item.severity}: {printable(item.reason or '')}\n")
            continue
        moved = ", ".join(f"{printable(name)} {share:.0%}" for name, share in list(drift.contributions.items())[:3])
        what = f"; moved jointly: {moved}" if moved else ""
        out.write(
            f"    {method:<15} {drift.score:.4f} (no drift {drift.expected:.4f} ± {drift.spread:.4f}, "
            f"p {drift.pvalue:.2g}): {item.severity}{what}\n"
        )
    for name, reason in joint.left_out.items():
        out.write(f"    left out: {printable(name)} ({printable(reason)})\n")


def _segment_lines(result: Any, out: TextIO) -> None:
    """The segments, most drifted first (driftmon.segments)."""
    if getattr(result, "segments", None) is not None:
        from driftmon.segments import describe

        out.writelines(f"  {printable(line)}\n" for line in describe(result.segments))


def _movers(result: Any, out: TextIO) -> None:
    """One line per drifted feature naming the bins that moved most (driftmon.explain)."""
    drifted = [f for f in result.features if f.worst in ("warning", "critical") and f.bins]
    if not drifted:
        return
    out.write("  what moved (reference → live share):\n")
    width = max(len(printable(f.feature)) for f in drifted)
    for feature in drifted:
        movers = printable(describe_movers(feature.bins, lead_measure(feature), result.log_base))
        out.write(f"    {printable(feature.feature).ljust(width)}  {movers}\n")


def _count(value: float) -> str:
    return f"{int(value)}" if float(value).is_integer() else f"{value:.2f}"


def _score(value: float) -> str:
    return "+Inf" if math.isinf(value) else f"{value:.4f}"
