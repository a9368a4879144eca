"""Binning as SQL: the queries that make a database or Spark return one row per bin.

Shared by ``type: sql`` (DuckDB, PostgreSQL, any SQLAlchemy database) and ``type: spark``.
The rules are exactly those of :mod:`driftmon.histogram` (the tests compare the two paths
bin for bin):

- numeric values are cast to double; NULL and NaN are ``missing``; a value above the last
  edge (``+inf`` included) is overflow, anything else is placed by a nested ``CASE`` that
  searches the edges in ``log2(k)`` comparisons (``-inf`` lands in underflow; the last
  interior bin is closed);
- categorical values are compared as text (booleans as ``True``/``False``, whole floats
  like integers, as pandas prints them); the reference's top categories, its other values
  (``__other__``) and everything else (``__unseen__``, its most frequent values named in the
  same query: :mod:`driftmon.sources.pushdown_unseen`);
- one query scans the data once and groups every feature with ``GROUPING SETS`` (one query
  per feature where the engine has none): at most ``bins + 3`` rows per feature leave the
  engine, and ``UNSEEN_KEPT`` more for the unseen values' names;
- reference bins come from what the engine answers: the count of finite values, the most
  frequent ones, how many values lie below a point mass, and the values at given ranks (an
  order statistic: ``quantile_disc`` in DuckDB, ``percentile_disc`` in PostgreSQL, a
  distributed sort in Spark, ``ROW_NUMBER()`` elsewhere). The edges are then computed by
  :func:`driftmon.histogram.ranked_spec`, the rule the file path uses: there is no copy of
  it here. Categorical bins: the top categories by count then value (in code-point order,
  as Python sorts).

A source type supplies an :class:`Engine` (run a query, list a query's column types) and
the SQL of its rows; :class:`PushdownSource` does the rest. Row samples for joint drift
(``sample``) are drawn by the engine where it can (:mod:`driftmon.sources.sample`).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from driftmon.columns import temporal_error
from driftmon.errors import DataError, did_you_mean
from driftmon.histogram import (
    OTHERS_LIMIT,
    BinningRule,
    BinSpec,
    CategoricalBins,
    Histogram,
    Kind,
    NumericBins,
    _top_unseen,
)
from driftmon.sources.base import Columns, Probe, Source
from driftmon.sources.pushdown_extent import with_extents
from driftmon.sources.pushdown_unseen import UNSEEN_CLASS, keep_top, value_key

if TYPE_CHECKING:
    from driftmon.segments import Segmentation, SegmentedHistogram, SegmentedProfile
    from driftmon.sources.file_cache import FileCounts
    from driftmon.sources.sample_sql import SampleRequest

ColumnType = Literal["integer", "float", "decimal", "boolean", "string", "time", "other"]  # time: date, timestamp
NUMERIC_TYPES: frozenset[str] = frozenset({"integer", "float", "decimal"})


def quote_double(name: str) -> str:
    """A standard SQL identifier: ``"name"`` with inner quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_backtick(name: str) -> str:
    """A Spark SQL / MySQL identifier: ``name`` in backticks."""
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True, slots=True)
class Dialect:
    """What differs between the engines in the SQL driftmon generates."""

    name: str
    quote: Callable[[str], str]
    placeholder: Callable[[str], str]  # a named parameter's marker: $p0, :p0
    text: str  # the type to cast to for text
    double: str  # the type to cast to for float64
    is_nan: str | None  # format with v=...; None: the engine stores no NaN
    is_finite: str  # format with v=...: true for finite numbers only (not NULL, NaN, ±inf)
    grouping_sets: bool = True
    numeric_sums: bool = False  # numeric bins as conditional counts, not GROUPING SETS (pushdown_sums)
    percentile_disc: bool = False  # percentile_disc(array) WITHIN GROUP picks order statistics
    collate: str = ""  # appended to ORDER BY value so text sorts by code point
    seconds: str | None = None  # format with v=...: a date or timestamp as Unix seconds, whole us / 1e6


DUCKDB = Dialect(
    name="duckdb",
    quote=quote_double,
    placeholder=lambda name: f"${name}",
    text="VARCHAR",
    double="DOUBLE",
    is_nan="isnan({v})",
    is_finite="isfinite({v})",
    seconds="CAST(epoch_us({v}) AS DOUBLE) / 1e6",  # timestamptz: the instant; naive: as UTC
)
# PostgreSQL: NaN equals NaN and sorts above +Infinity, so both need spelling out. It
# cannot estimate how few groups a CASE yields, so GROUPING SETS become one sort of all rows
# per feature (100 s for 20 M rows x 10 features here); one GROUP BY per feature hashes, in
# parallel workers (38 s).
POSTGRESQL = Dialect(
    name="postgresql",
    quote=quote_double,
    placeholder=lambda name: f":{name}",
    text="TEXT",
    double="DOUBLE PRECISION",
    is_nan="{v} = CAST('NaN' AS DOUBLE PRECISION)",
    is_finite="({v} > CAST('-Infinity' AS DOUBLE PRECISION) AND {v} < CAST('Infinity' AS DOUBLE PRECISION))",
    grouping_sets=False,
    percentile_disc=True,
    collate=' COLLATE "C"',
    seconds="CAST(EXTRACT(EPOCH FROM {v}) AS DOUBLE PRECISION)",  # exact numeric, rounded once
)
SPARK = Dialect(
    name="spark",
    quote=quote_backtick,
    placeholder=lambda name: f":{name}",
    text="STRING",
    double="DOUBLE",
    is_nan="isnan({v})",
    is_finite="(NOT isnan({v}) AND {v} - {v} = 0)",
    seconds="CAST(unix_micros(CAST({v} AS TIMESTAMP)) AS DOUBLE) / CAST(1000000 AS DOUBLE)",  # NTZ, dates: UTC
    numeric_sums=True,  # its GROUPING SETS copy each row once per feature (Expand)
)


def generic_dialect(name: str, quote: Callable[[str], str], text: str, double: str) -> Dialect:
    """Any other SQL engine: IEEE comparisons, no GROUPING SETS (one query per feature)."""
    return Dialect(
        name=name,
        quote=quote,
        placeholder=lambda param: f":{param}",
        text=text,
        double=double,
        is_nan="{v} <> {v}",
        is_finite="({v} - {v} = 0)",
        grouping_sets=False,
    )


class Params:
    """Bound parameters of one query: each value gets a name and its dialect's marker."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return self.dialect.placeholder(name)


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature as the generated SQL sees it: ``alias`` in the typed sub-query."""

    name: str
    alias: str
    column_type: ColumnType
    kind: Kind


class Engine(ABC):
    """Runs driftmon's queries in one session of a database or Spark."""

    dialect: Dialect

    @abstractmethod
    def columns(self, source_sql: str) -> dict[str, ColumnType]:
        """The columns of ``source_sql`` and their types, in order (without reading rows)."""

    @abstractmethod
    def fetch(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """All rows of a query (driftmon's queries return few rows)."""

    def order_statistics(
        self, typed_sql: str, bound: Mapping[str, Any], feature: Feature, ranks: Sequence[int], count: int
    ) -> dict[int, float]:
        """The values at 0-based ``ranks`` of the ``count`` sorted finite values.

        ``bound`` holds typed_sql's parameters. This default asks ``percentile_disc`` where
        the dialect has it (the value at 1-based position ``ceil(q * count)``, so ``q = (r +
        0.5) / count`` is rank ``r`` with half a rank to spare against rounding), else numbers
        the rows with ``ROW_NUMBER() OVER (ORDER BY v)``, which any engine with window functions runs.
        """
        d = self.dialect
        v = feature.alias
        params = Params(d)
        params.values.update(bound)
        if d.percentile_disc:
            fractions = ", ".join(params((int(r) + 0.5) / count) for r in ranks)
            sql = (
                f"SELECT percentile_disc(CAST(ARRAY[{fractions}] AS {d.double}[])) WITHIN GROUP (ORDER BY {v}) "
                f"FROM ({typed_sql}) AS typed WHERE {d.is_finite.format(v=v)}"
            )
            values = self.fetch(sql, params.values)[0][0]
            return {int(r): float(value) for r, value in zip(ranks, values, strict=True)}
        wanted = ", ".join(params(int(r)) for r in ranks)
        sql = (
            f"SELECT r, v FROM (SELECT {v} AS v, ROW_NUMBER() OVER (ORDER BY {v}) - 1 AS r "
            f"FROM ({typed_sql}) AS typed WHERE {d.is_finite.format(v=v)}) AS ranked "
            f"WHERE r IN ({wanted})"
        )
        return {int(r): float(value) for r, value in self.fetch(sql, params.values)}

    def order_statistics_many(
        self, typed_sql: str, bound: Mapping[str, Any], wanted: Sequence[tuple[Feature, Sequence[int], int]]
    ) -> dict[str, dict[int, float]]:
        """``order_statistics`` of several features (feature, ranks, count), by alias; this
        default asks for each in turn (Spark sorts them all in one pass)."""
        return {f.alias: self.order_statistics(typed_sql, bound, f, ranks, count) for f, ranks, count in wanted}

    def stream(self, sql: str, params: Mapping[str, Any], batch: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
        """The rows of a query in lists of at most about ``batch`` (this default: all at once)."""
        yield self.fetch(sql, params)

    def sample(self, request: SampleRequest) -> dict[str, Any]:
        """A seeded uniform sample (:mod:`driftmon.sources.sample_sql`); this default streams
        every row through a reservoir (engines without seeded sampling)."""
        from driftmon.sources.sample_sql import streamed

        return streamed(self, request)


class PushdownSource(Source):
    """A source whose rows stay in an engine: bins are derived and counted there."""

    @abstractmethod
    def engine(self) -> contextlib.AbstractContextManager[Engine]:
        """A session for this evaluation (closed afterwards)."""

    @abstractmethod
    def source_sql(self, engine: Engine) -> str:
        """A SELECT (or table) that yields the source's rows, usable as a sub-query."""

    def time_param(self, moment: datetime) -> Any:
        return moment  # a window bound as a query parameter (engines differ on time zones)

    # -- the two operations -------------------------------------------------------

    def profile(self, rules: Sequence[BinningRule]) -> dict[str, Histogram]:
        with self.engine() as engine:
            source = self.source_sql(engine)
            types = self._types(engine, source, [rule.name for rule in rules])
            features = [
                Feature(rule.name, f"f{i}", types[rule.name], rule.kind or _infer(types[rule.name], rule.name))
                for i, rule in enumerate(rules)
            ]
            params = Params(engine.dialect)
            typed = self._typed(engine.dialect, source, features, params)
            stats = self._stats(engine, typed, params, features, rules)
            total = stats["total"]
            if total == 0 and self.window is not None:
                raise self.no_rows()
            specs: dict[str, BinSpec] = dict(self._numeric_specs(engine, typed, params, features, rules, stats))
            result: dict[str, Histogram] = {}
            for feature, rule in zip(features, rules, strict=True):
                if feature.kind != "numeric":
                    result[feature.name] = self._categorical(engine, typed, params, feature, rule, stats)
            numeric = [f for f in features if f.kind == "numeric"]
            if numeric:
                result.update(self._count(engine, typed, params, numeric, specs))
        return {rule.name: result[rule.name] for rule in rules}

    def count(self, specs: Mapping[str, BinSpec], cache: FileCounts | None = None) -> dict[str, Histogram]:
        with self.engine() as engine:
            source = self.source_sql(engine)
            types = self._types(engine, source, list(specs))
            features = [Feature(name, f"f{i}", types[name], spec.kind) for i, (name, spec) in enumerate(specs.items())]
            params = Params(engine.dialect)
            typed = self._typed(engine.dialect, source, features, params)
            result = self._count(engine, typed, params, features, specs)
            result = with_extents(engine, typed, params, features, result)  # for `constant` (pushdown_extent)
        if self.window is not None and all(h.total == 0 for h in result.values()):
            raise self.no_rows()
        return result

    def sample(
        self, columns: Sequence[str], size: int, seed: int, kinds: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Drawn by the engine (`Engine.sample`): only the sample leaves it."""
        from driftmon.sources.sample_sql import sample_pushdown

        return sample_pushdown(self, columns, size, seed, kinds)

    def probe(self, columns: Sequence[str]) -> Probe:
        """Connects, and lists the table's or query's columns (the engine reads no rows)."""
        with self.engine() as engine:
            types = self._types(engine, self.source_sql(engine), columns)
        return Probe(f"{len(types)} columns", {name: types[name] for name in columns})

    def columns(self) -> Columns:
        from driftmon.sources.pushdown_quality import columns  # the schema check's part (docs/quality.md)

        return columns(self)

    def newest(self) -> float | None:
        from driftmon.sources.pushdown_quality import newest  # the freshness check's part

        return newest(self)

    # -- building blocks ----------------------------------------------------------

    def _types(self, engine: Engine, source: str, names: Sequence[str]) -> dict[str, ColumnType]:
        types = engine.columns(source)
        wanted = list(names) + ([self.window.column] if self.window else [])
        missing = [name for name in wanted if name not in types]
        if missing:
            near = [n for m in missing for n in did_you_mean(m, list(types))]
            hint = f"; did you mean {' or '.join(repr(n) for n in dict.fromkeys(near))}?" if near else ""
            shown = ", ".join(list(types)[:20])
            named = ", ".join(repr(m) for m in missing)
            raise DataError(f"{self.describe()}: column {named} not found{hint} (its columns: {shown})")
        if self.window and types[self.window.column] in NUMERIC_TYPES | {"boolean", "string"}:
            raise DataError(
                f"{self.describe()}: window column {self.window.column!r} must be a timestamp "
                f"or date column, it is {types[self.window.column]}"
            )
        return types

    def _typed(self, d: Dialect, source: str, features: Sequence[Feature], params: Params) -> str:
        """``SELECT <typed feature> AS f0, ... FROM (source) WHERE <window>``."""
        parts = [f"{_typed_expression(d, f)} AS {f.alias}" for f in features]
        return f"SELECT {', '.join(parts)} FROM ({source}) AS src{self._where(d, params)}"

    def _where(self, d: Dialect, params: Params) -> str:
        """`` WHERE <window>`` (empty without a window)."""
        if self.window is None:
            return ""
        start, end = self.window.bounds(self.now)
        column = d.quote(self.window.column)
        return f" WHERE {column} >= {params(self.time_param(start))} AND {column} < {params(self.time_param(end))}"

    def _stats(
        self, engine: Engine, typed: str, params: Params, features: Sequence[Feature], rules: Sequence[BinningRule]
    ) -> dict[str, Any]:
        """Row count, non-null counts, and the count of finite values per numeric feature."""
        d = engine.dialect
        parts = ["COUNT(*)"]
        layout: list[tuple[str, str]] = []
        for feature, rule in zip(features, rules, strict=True):
            v = feature.alias
            parts.append(f"COUNT({v})")
            layout.append((feature.name, "present"))
            if feature.kind != "numeric" or rule.edges is not None:
                continue
            parts.append(f"COUNT(CASE WHEN {d.is_finite.format(v=v)} THEN {v} END)")
            layout.append((feature.name, "finite"))
        rows = engine.fetch(f"SELECT {', '.join(parts)} FROM ({typed}) AS typed", params.values)
        row = rows[0]
        stats: dict[str, Any] = {"total": int(row[0])}
        for (name, key), value in zip(layout, row[1:], strict=True):
            stats.setdefault(name, {})[key] = value
        return stats

    def _numeric_specs(
        self,
        engine: Engine,
        typed: str,
        params: Params,
        features: Sequence[Feature],
        rules: Sequence[BinningRule],
        stats: Mapping[str, Any],
    ) -> dict[str, NumericBins]:
        """The numeric features' bins (:func:`driftmon.histogram.ranked_spec`), the engine answering
        for all the columns at once where it can (:func:`driftmon.sources.pushdown_values.numeric_specs`)."""
        from driftmon.sources.pushdown_values import numeric_specs

        items = [(f, rule) for f, rule in zip(features, rules, strict=True) if f.kind == "numeric"]
        return numeric_specs(engine, typed, params, items, stats) if items else {}

    def _categorical(
        self,
        engine: Engine,
        typed: str,
        params: Params,
        feature: Feature,
        rule: BinningRule,
        stats: Mapping[str, Any],
    ) -> Histogram:
        """Top categories (by count, then value) and the reference histogram, from one GROUP BY."""
        d = engine.dialect
        v = feature.alias
        limit = rule.max_categories + OTHERS_LIMIT + 1
        sql = (
            f"SELECT {v}, COUNT(*) FROM ({typed}) AS typed WHERE {v} IS NOT NULL "
            f"GROUP BY {v} ORDER BY COUNT(*) DESC, {v}{d.collate} LIMIT {int(limit)}"
        )
        rows = [(str(value), float(n)) for value, n in engine.fetch(sql, params.values)]
        top = rows[: rule.max_categories]
        rest = rows[rule.max_categories :]
        others = frozenset(value for value, _ in rest) if len(rest) <= OTHERS_LIMIT else None
        spec = CategoricalBins(tuple(value for value, _ in top), others)
        present = float(stats[feature.name]["present"])
        counts = np.zeros(spec.size, dtype=np.float64)
        counts[: len(top)] = [n for _, n in top]
        counts[len(top)] = present - counts[: len(top)].sum()
        return Histogram(spec, counts, float(stats["total"]) - present)

    def _count(
        self,
        engine: Engine,
        typed: str,
        params: Params,
        features: Sequence[Feature],
        specs: Mapping[str, BinSpec],
    ) -> dict[str, Histogram]:
        """Histograms of ``features`` over ``specs``: one scan with GROUPING SETS where possible
        (numeric features by conditional counts where the dialect says so)."""
        d = engine.dialect
        result: dict[str, Histogram] = {}
        if d.numeric_sums:
            from driftmon.sources.pushdown_sums import count_numeric

            numeric = [f for f in features if isinstance(specs[f.name], NumericBins)]
            if numeric:
                result.update(count_numeric(engine, typed, params, numeric, specs))
            features = [f for f in features if not isinstance(specs[f.name], NumericBins)]
        groups = [features] if d.grouping_sets else [[f] for f in features]
        groups = [group for group in groups if group]
        for group in groups:
            result.update(_parse_counts(self._count_rows(engine, typed, params, group, specs), group, specs))
        return result

    def _count_rows(
        self,
        engine: Engine,
        typed: str,
        params: Params,
        group: Sequence[Feature],
        specs: Mapping[str, BinSpec],
        segment: Callable[[Params], str] | None = None,
    ) -> list[tuple[Any, ...]]:
        """The counting query's rows for ``group``; ``segment``: a grouping key first in every
        set (its SQL, given the query's parameters; :mod:`driftmon.sources.pushdown_segments`)."""
        d = engine.dialect
        query = Params(d)
        query.values.update(params.values)
        keys: list[str] = [f"{segment(query)} AS sg"] if segment is not None else []
        first = ["sg"] if segment is not None else []
        aliases: list[str] = []
        sets: list[str] = []
        for feature in group:
            expressions = _bin_expressions(d, feature, specs[feature.name], query)
            keys += [f"{expression} AS {alias}" for alias, expression in expressions]
            aliases += [alias for alias, _ in expressions]
            sets.append("(" + ", ".join([*first, *(alias for alias, _ in expressions)]) + ")")
        names = ", ".join([*first, *aliases])
        grouping = f"GROUPING SETS ({', '.join(sets)})" if d.grouping_sets else names
        sql = (
            f"SELECT {names}, COUNT(*) AS n FROM (SELECT {', '.join(keys)} FROM ({typed}) AS typed) AS binned "
            f"GROUP BY {grouping}"
        )
        return engine.fetch(keep_top(d, sql, [*first, *aliases], group, specs, first), query.values)

    # -- segments (driftmon.segments): the same queries, grouped by segment too -----

    def profile_segments(self, rules: Sequence[BinningRule], by: Sequence[str], top: int) -> SegmentedProfile:
        from driftmon.sources.pushdown_segments import profile_segments

        return profile_segments(self, rules, by, top)

    def count_segments(
        self, specs: Mapping[str, BinSpec], segmentation: Segmentation, cache: FileCounts | None = None
    ) -> dict[str, SegmentedHistogram]:
        from driftmon.sources.pushdown_segments import count_segments

        return count_segments(self, specs, segmentation)


def _infer(column_type: ColumnType, name: str) -> Kind:
    """As :func:`driftmon.histogram.infer_kind`: numbers are numeric, the rest categorical;
    a date or timestamp needs a ``kind:`` (a DataError naming the feature)."""
    if column_type == "time":
        raise temporal_error(name, "date or timestamp")
    return "numeric" if column_type in NUMERIC_TYPES else "categorical"


def _typed_expression(d: Dialect, feature: Feature) -> str:
    """The column as float64 (numeric) or as the text pandas would print (categorical)."""
    column = d.quote(feature.name)
    if feature.kind == "numeric":
        if feature.column_type == "boolean":
            return f"CASE WHEN {column} THEN CAST(1 AS {d.double}) WHEN NOT {column} THEN CAST(0 AS {d.double}) END"
        if feature.column_type == "time" and d.seconds is not None:  # as the file source: columns.MICROS
            return d.seconds.format(v=column)
        return f"CAST({column} AS {d.double})"
    if feature.column_type == "string":
        return column
    if feature.column_type == "boolean":
        return f"CASE WHEN {column} THEN 'True' WHEN NOT {column} THEN 'False' END"
    if feature.column_type == "float":
        # pandas prints whole floats like integers (1.0 -> "1") and NaN is missing.
        value = f"CAST({column} AS {d.double})"
        nan = f"WHEN {d.is_nan.format(v=value)} THEN NULL " if d.is_nan else ""
        return (
            f"CASE {nan}WHEN {value} = FLOOR({value}) AND ABS({value}) < 1e15 "
            f"THEN CAST(CAST({value} AS BIGINT) AS {d.text}) ELSE CAST({value} AS {d.text}) END"
        )
    return f"CAST({column} AS {d.text})"


def _bin_expressions(d: Dialect, feature: Feature, spec: BinSpec, params: Params) -> list[tuple[str, str]]:
    """(alias, SQL) of the grouping keys of one feature; the first is never NULL."""
    v = feature.alias
    if isinstance(spec, NumericBins):
        cuts, inclusive = spec.cuts()
        missing = f"{v} IS NULL" + (f" OR {d.is_nan.format(v=v)}" if d.is_nan else "")

        def search(lo: int, hi: int) -> str:
            # Bin = the first boundary j in [lo, hi) that counts v (v < cut, or v <= cut where
            # inclusive), found by bisection; hi (overflow at the top) when none does.
            if lo == hi:
                return str(lo)
            mid = (lo + hi) // 2
            compare = "<=" if inclusive[mid] else "<"
            return (
                f"CASE WHEN {v} {compare} {params(float(cuts[mid]))} "
                f"THEN {search(lo, mid)} ELSE {search(mid + 1, hi)} END"
            )

        return [(f"b{v}", f"CASE WHEN {missing} THEN -1 ELSE {search(0, cuts.size)} END")]
    categories = ", ".join(params(c) for c in spec.categories)
    in_categories = f"{v} IN ({categories})" if spec.categories else "1 = 0"
    branches = [f"WHEN {v} IS NULL THEN 0", f"WHEN {in_categories} THEN 1"]
    others = ", ".join(params(o) for o in sorted(spec.others or ()))
    if others:
        branches.append(f"WHEN {v} IN ({others}) THEN 2")
    # Outside the known values: __unseen__, or __other__ when the reference's others are unknown.
    cls = f"CASE {' '.join(branches)} ELSE {2 if spec.others is None else UNSEEN_CLASS} END"
    return [(f"c{v}", cls), (f"v{v}", value_key(v, in_categories, others, spec))]


def _parse_counts(
    rows: Sequence[tuple[Any, ...]], features: Sequence[Feature], specs: Mapping[str, BinSpec]
) -> dict[str, Histogram]:
    """Rows of the counting query -> one histogram per feature."""
    counts = {f.name: np.zeros(specs[f.name].size, dtype=np.float64) for f in features}
    missing = dict.fromkeys(counts, 0.0)
    unseen: dict[str, list[tuple[str, float]]] = {name: [] for name in counts}  # named where the query kept them
    positions: list[tuple[Feature, int]] = []
    column = 0
    for feature in features:
        positions.append((feature, column))
        column += 1 if isinstance(specs[feature.name], NumericBins) else 2
    index_of = {
        f.name: {c: i for i, c in enumerate(spec.categories)}
        for f in features
        if isinstance(spec := specs[f.name], CategoricalBins)
    }
    for row in rows:
        n = float(row[-1])
        for feature, at in positions:
            key = row[at]
            if key is None:
                continue
            spec = specs[feature.name]
            target = counts[feature.name]
            code = int(key)
            if isinstance(spec, NumericBins):
                if code < 0:
                    missing[feature.name] += n
                else:
                    target[code] += n
            elif code == 0:
                missing[feature.name] += n
            elif code == 1:
                target[index_of[feature.name][str(row[at + 1])]] += n
            elif code == 2:
                target[len(spec.categories)] += n
            else:
                target[len(spec.categories) + 1] += n
                if row[at + 1] is not None:
                    unseen[feature.name].append((str(row[at + 1]), n))
            break
    return {name: Histogram(specs[name], counts[name], missing[name], _top_unseen(unseen[name])) for name in counts}
