"""One evaluation's reference and live histograms, scheduled as one stream of column tasks.

With nothing cached (``driftmon check``, a first evaluation) and a static reference, the
reference is profiled and the live data counted by the same tasks where the sources allow it
(Parquet files, see :meth:`~driftmon.sources.base.Source.profile_and_count`): a feature's live
column is counted right after its reference column is binned, numeric features first, so both
cores stay busy and no side waits for the other. Otherwise (a moving reference, a schema
anomaly that skips a feature, sources that cannot, or any failure) the caller profiles the
reference and then counts the live side, which reports any error exactly as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from driftmon.errors import DriftmonError
from driftmon.reference import STATIC, ReferenceWindow, open_reference
from driftmon.schema import SchemaResult
from driftmon.schema import check as check_schema

if TYPE_CHECKING:
    from driftmon.config import MonitorConfig
    from driftmon.histogram import Histogram
    from driftmon.sources import Source

Streamed = tuple["Source", ReferenceWindow, dict[str, "Histogram"], dict[str, "Histogram"], "SchemaResult | None"]


def one_stream(monitor: MonitorConfig, now: float, live_source: Source) -> Streamed | None:
    """The reference source, its window, the reference and live histograms and the schema
    anomalies, both sides counted by the same column tasks; None where that cannot be (above)."""
    try:
        reference_source, window = open_reference(monitor, now)
        if window.kind != STATIC:
            return None
        schema = check_schema(monitor, reference_source, live_source)
        if schema is not None and schema.skipped:
            return None
        both = reference_source.profile_and_count([f.rule for f in monitor.features], live_source)
    except DriftmonError:
        return None
    return None if both is None else (reference_source, window, both[0], both[1], schema)
