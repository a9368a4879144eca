"""Late labels read next to the predictions, in the engine, when both live in one database.

When the live source and the targets source are ``type: sql`` on the same URL, the engine
runs the semi-join: only the label rows whose key is one of the live window's leave the
database (``WHERE EXISTS`` over the live window's keys), and two counts come with them,
the label keys that match no live row and the label rows with an empty key. The join itself
(`driftmon.labels.join`) then runs over those rows, so the counts are the same as when
every label row is read (`tests/test_sources_rows.py`).

Only where the engine compares the keys as driftmon does: each key column of the same
integer or text type on both sides (a float key, where NaN equals NaN in PostgreSQL, or
a number against text, is read in full and joined in driftmon instead).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from driftmon.sources.base import Source
from driftmon.sources.pushdown import Params
from driftmon.sources.rows import columns_of_rows
from driftmon.sources.sql import SqlSource

__all__ = ["MatchingLabels", "matching_labels"]

_KEY_TYPES = frozenset({"integer", "string"})


@dataclass(frozen=True, slots=True)
class MatchingLabels:
    """The label rows whose key a live row has, and the counts of those left in the engine."""

    columns: dict[str, npt.NDArray[Any]]
    unmatched_labels: int  # label keys (with a label) that no live row has
    unkeyed_labels: int  # label rows with an empty key column


def matching_labels(
    live: Source, targets: Source, keys: Sequence[str], label: str, columns: Sequence[str]
) -> MatchingLabels | None:
    """``columns`` of the targets' rows whose key is in the live window, or None when the two
    sources are not one engine's or their keys' types differ (then read every label row)."""
    if not (isinstance(live, SqlSource) and isinstance(targets, SqlSource)):
        return None
    if (live.config.url, live.config.settings) != (targets.config.url, targets.config.settings):
        return None
    with targets.engine() as engine:
        d = engine.dialect
        live_sql, targets_sql = live.source_sql(engine), targets.source_sql(engine)
        live_types = live._types(engine, live_sql, keys)
        target_types = targets._types(engine, targets_sql, list(dict.fromkeys([*keys, *columns])))
        if any(live_types[k] != target_types[k] or live_types[k] not in _KEY_TYPES for k in keys):
            return None
        params = Params(d)
        q = d.quote
        live_keys = f"SELECT {', '.join(q(k) for k in keys)} FROM ({live_sql}) AS src{live._where(d, params)}"
        labelled = f"SELECT * FROM ({targets_sql}) AS src{targets._where(d, params)}"
        match = " AND ".join(f"t.{q(k)} = l.{q(k)}" for k in keys)
        matched = f"EXISTS (SELECT 1 FROM ({live_keys}) AS l WHERE {match})"
        names = [f"c{i}" for i in range(len(columns))]
        selected = ", ".join(f"t.{q(c)} AS {n}" for c, n in zip(columns, names, strict=True))
        rows = _fetch(engine, f"SELECT {selected} FROM ({labelled}) AS t WHERE {matched}", params)
        keyed = " AND ".join(f"t.{q(k)} IS NOT NULL" for k in keys)
        has_label = f"t.{q(label)} IS NOT NULL"
        if target_types[label] in ("float", "decimal") and d.is_nan:
            has_label += f" AND NOT ({d.is_nan.format(v='t.' + q(label))})"
        distinct_keys = f"SELECT DISTINCT {', '.join('t.' + q(k) for k in keys)} FROM ({labelled}) AS t"
        unmatched_sql = f"SELECT COUNT(*) FROM ({distinct_keys} WHERE {keyed} AND {has_label}) AS t WHERE NOT {matched}"
        unmatched = int(_fetch(engine, unmatched_sql, params)[0][0])
        unkeyed = int(_fetch(engine, f"SELECT COUNT(*) FROM ({labelled}) AS t WHERE NOT ({keyed})", params)[0][0])
    found = columns_of_rows(rows, names)
    return MatchingLabels({c: np.asarray(found[n]) for c, n in zip(columns, names, strict=True)}, unmatched, unkeyed)


def _fetch(engine: Any, sql: str, params: Params) -> list[tuple[Any, ...]]:
    """``engine.fetch`` with only the parameters ``sql`` names (DuckDB refuses unused ones)."""
    used = {name: value for name, value in params.values.items() if re.search(rf"[$:]{name}\b", sql)}
    rows: list[tuple[Any, ...]] = engine.fetch(sql, used)
    return rows
