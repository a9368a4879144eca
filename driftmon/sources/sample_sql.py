"""Row samples from the engines of ``type: sql`` and ``type: spark`` (joint drift).

`sample_pushdown` builds a `SampleRequest` (the source's rows typed as the binning types
them, numeric as double and categorical as text, inside the window) and asks the source's
engine for it (`Engine.sample`); each engine samples the way it can
(:mod:`driftmon.sources.sample` lists them). `streamed` is the fallback for engines with no
seeded sampling: every row through a seeded reservoir, in batches, in bounded memory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from driftmon.sources.pushdown import Engine, Feature, Params, PushdownSource, _infer
from driftmon.sources.sample import sample_rows

__all__ = ["SampleRequest", "sample_pushdown", "streamed"]


@dataclass(frozen=True, slots=True)
class SampleRequest:
    """What an engine samples: ``typed(rows_sql)`` is the typed, windowed SELECT over
    ``rows_sql`` (the source's rows, or the engine's sampled version of them) and its
    parameters; the columns come back as `driftmon.sources.sample.columns_of` gives them."""

    source_sql: str
    typed: Callable[[str], tuple[str, dict[str, Any]]]
    names: tuple[str, ...]
    numeric: tuple[str, ...]
    size: int
    seed: int


def sample_pushdown(
    source: PushdownSource, columns: Sequence[str], size: int, seed: int, kinds: Mapping[str, str] | None
) -> dict[str, Any]:
    """A seeded uniform sample of at most ``size`` rows of ``columns`` of ``source``, drawn by its engine."""
    with source.engine() as engine:
        rows_sql = source.source_sql(engine)
        types = source._types(engine, rows_sql, columns)
        given = kinds or {}
        features = [
            Feature(name, f"f{i}", types[name], given.get(name) or _infer(types[name], name))  # type: ignore[arg-type]
            for i, name in enumerate(columns)
        ]

        def typed(sql: str) -> tuple[str, dict[str, Any]]:
            params = Params(engine.dialect)
            return source._typed(engine.dialect, sql, features, params), params.values

        numeric = tuple(f.name for f in features if f.kind == "numeric")
        return engine.sample(SampleRequest(rows_sql, typed, tuple(columns), numeric, size, seed))


def streamed(engine: Engine, request: SampleRequest) -> dict[str, Any]:
    """Every row of the request streamed through a seeded reservoir."""
    sql, params = request.typed(request.source_sql)
    return sample_rows(engine.stream(sql, params), request.names, request.numeric, request.size, request.seed)
