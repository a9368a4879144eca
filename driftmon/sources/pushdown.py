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
  (``__other__``) and everything else (``__unseen__``);
- one query scans the data once and groups every feature with ``GROUPING SETS`` (one query
  per feature where the engine has none), so at most ``bins + 3`` rows per feature leave
  the engine;
- reference bins are derived in the engine too: counts, minimum and maximum of the finite
  values, the order statistics that numpy's linear interpolation needs for quantile edges
  (PostgreSQL's ``percentile_cont`` computes the same formula and is used there), and the
  top categories by count then value (in code-point order, as Python sorts).

A source type supplies an :class:`Engine` (run a query, list a query's column types) and
the SQL of its rows; :class:`PushdownSource` does the rest.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from driftmon.errors import DataError
from driftmon.histogram import (
    OTHERS_LIMIT,
    BinningRule,
    BinSpec,
    CategoricalBins,
    Histogram,
    Kind,
    NumericBins,
    check_edges,
)
from driftmon.sources.base import Probe, Source, did_you_mean

if TYPE_CHECKING:
    from driftmon.sources.file_cache import FileCounts

ColumnType = Literal["integer", "float", "decimal", "boolean", "string", "other"]
NUMERIC_TYPES: frozenset[str] = frozenset({"integer", "float", "decimal"})
# Reference values beyond the top categories that are remembered (to tell __other__ from
# __unseen__ in live data); past this many, like a histogram file without other_values.


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
    percentile_cont: bool = False  # percentile_cont(array) WITHIN GROUP == numpy's quantile
    collate: str = ""  # appended to ORDER BY value so text sorts by code point


DUCKDB = Dialect(
    name="duckdb",
    quote=quote_double,
    placeholder=lambda name: f"${name}",
    text="VARCHAR",
    double="DOUBLE",
    is_nan="isnan({v})",
    is_finite="isfinite({v})",
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
    percentile_cont=True,
    collate=' COLLATE "C"',
)
SPARK = Dialect(
    name="spark",
    quote=quote_backtick,
    placeholder=lambda name: f":{name}",
    text="STRING",
    double="DOUBLE",
    is_nan="isnan({v})",
    is_finite="(NOT isnan({v}) AND {v} - {v} = 0)",
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

        ``bound`` holds typed_sql's parameters. This default numbers the rows with
        ``ROW_NUMBER() OVER (ORDER BY v)``, which any engine with window functions runs.
        """
        d = self.dialect
        v = feature.alias
        params = Params(d)
        params.values.update(bound)
        wanted = ", ".join(params(int(r)) for r in ranks)
        sql = (
            f"SELECT r, v FROM (SELECT {v} AS v, ROW_NUMBER() OVER (ORDER BY {v}) - 1 AS r "
            f"FROM ({typed_sql}) AS typed WHERE {d.is_finite.format(v=v)}) AS ranked "
            f"WHERE r IN ({wanted})"
        )
        return {int(r): float(value) for r, value in self.fetch(sql, params.values)}


class PushdownSource(Source):
    """A source whose rows stay in an engine: bins are derived and counted there."""

    @abstractmethod
    def engine(self) -> contextlib.AbstractContextManager[Engine]:
        """A session for this evaluation (closed afterwards)."""

    @abstractmethod
    def source_sql(self, engine: Engine) -> str:
        """A SELECT (or table) that yields the source's rows, usable as a sub-query."""

    def time_param(self, moment: datetime) -> Any:
        """A window bound as a query parameter (engines differ on time zones)."""
        return moment

    # -- the two operations -------------------------------------------------------

    def profile(self, rules: Sequence[BinningRule]) -> dict[str, Histogram]:
        with self.engine() as engine:
            source = self.source_sql(engine)
            types = self._types(engine, source, [rule.name for rule in rules])
            features = [
                Feature(rule.name, f"f{i}", types[rule.name], rule.kind or _infer(types[rule.name]))
                for i, rule in enumerate(rules)
            ]
            params = Params(engine.dialect)
            typed = self._typed(engine.dialect, source, features, params)
            stats = self._stats(engine, typed, params, features, rules)
            total = stats["total"]
            if total == 0 and self.window is not None:
                raise self.no_rows()
            specs: dict[str, BinSpec] = {}
            result: dict[str, Histogram] = {}
            for feature, rule in zip(features, rules, strict=True):
                if feature.kind == "numeric":
                    specs[feature.name] = self._numeric_spec(engine, typed, params, feature, rule, stats)
                else:
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
        if self.window is not None and all(h.total == 0 for h in result.values()):
            raise self.no_rows()
        return result

    def probe(self, columns: Sequence[str]) -> Probe:
        """Connects, and lists the table's or query's columns (the engine reads no rows)."""
        with self.engine() as engine:
            types = self._types(engine, self.source_sql(engine), columns)
        return Probe(f"{len(types)} columns", {name: types[name] for name in columns})

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
        sql = f"SELECT {', '.join(parts)} FROM ({source}) AS src"
        if self.window is not None:
            start, end = self.window.bounds(self.now)
            column = d.quote(self.window.column)
            sql += f" WHERE {column} >= {params(self.time_param(start))} AND {column} < {params(self.time_param(end))}"
        return sql

    def _stats(
        self,
        engine: Engine,
        typed: str,
        params: Params,
        features: Sequence[Feature],
        rules: Sequence[BinningRule],
    ) -> dict[str, Any]:
        """Row count, non-null counts, and finite count/min/max (and percentiles) per numeric feature."""
        d = engine.dialect
        query = Params(d)
        query.values.update(params.values)
        parts = ["COUNT(*)"]
        layout: list[tuple[str, str]] = []
        for feature, rule in zip(features, rules, strict=True):
            v = feature.alias
            parts.append(f"COUNT({v})")
            layout.append((feature.name, "present"))
            if feature.kind != "numeric" or rule.edges is not None:
                continue
            finite = f"CASE WHEN {d.is_finite.format(v=v)} THEN {v} END"
            parts += [f"COUNT({finite})", f"MIN({finite})", f"MAX({finite})"]
            layout += [(feature.name, "finite"), (feature.name, "low"), (feature.name, "high")]
            if d.percentile_cont and rule.strategy == "quantile":
                probs = ", ".join(query(float(p)) for p in np.linspace(0.0, 1.0, rule.bins + 1))
                parts.append(f"percentile_cont(CAST(ARRAY[{probs}] AS {d.double}[])) WITHIN GROUP (ORDER BY {finite})")
                layout.append((feature.name, "quantiles"))
        rows = engine.fetch(f"SELECT {', '.join(parts)} FROM ({typed}) AS typed", query.values)
        row = rows[0]
        stats: dict[str, Any] = {"total": int(row[0])}
        for (name, key), value in zip(layout, row[1:], strict=True):
            stats.setdefault(name, {})[key] = value
        return stats

    def _numeric_spec(
        self,
        engine: Engine,
        typed: str,
        params: Params,
        feature: Feature,
        rule: BinningRule,
        stats: Mapping[str, Any],
    ) -> NumericBins:
        """The same bins as :func:`driftmon.histogram.numeric_spec` on the whole column."""
        if rule.edges is not None:
            return NumericBins(check_edges(rule.edges, rule.name))
        mine = stats[feature.name]
        n = int(mine["finite"] or 0)
        if n == 0:
            return NumericBins(())
        d = engine.dialect
        v = feature.alias
        # The most frequent values: all of them when there are at most `bins`, else the point masses.
        query = Params(d)
        query.values.update(params.values)
        frequent = [
            (float(value), int(count))
            for value, count in engine.fetch(
                f"SELECT {v}, COUNT(*) FROM ({typed}) AS typed WHERE {d.is_finite.format(v=v)} "
                f"GROUP BY {v} ORDER BY COUNT(*) DESC, {v} LIMIT {int(rule.bins) + 1}",
                query.values,
            )
        ]
        if len(frequent) <= rule.bins:
            distinct = tuple(sorted(value for value, _ in frequent))
            return NumericBins(distinct, distinct)
        points = sorted(value for value, count in frequent if count * rule.bins >= n)
        if not points:
            low, high = float(mine["low"]), float(mine["high"])
            if rule.strategy == "uniform":
                edges = np.linspace(low, high, rule.bins + 1)
            elif "quantiles" in mine and mine["quantiles"] is not None:
                edges = np.asarray(mine["quantiles"], dtype=np.float64)
            else:
                edges = _interpolate(
                    n,
                    rule.bins,
                    low,
                    high,
                    lambda ranks: engine.order_statistics(typed, params.values, feature, ranks, n),
                )
            return NumericBins(tuple(float(e) for e in np.unique(edges)))
        # The rest of the values (point masses left out) split into the remaining bins.
        rest = Params(d)
        rest.values.update(params.values)
        excluded = ", ".join(rest(p) for p in points)
        rest_sql = f"SELECT * FROM ({typed}) AS whole WHERE NOT ({v} IN ({excluded}))"
        finite = f"CASE WHEN {d.is_finite.format(v=v)} THEN {v} END"
        count, low, high = engine.fetch(
            f"SELECT COUNT({finite}), MIN({finite}), MAX({finite}) FROM ({rest_sql}) AS rest", rest.values
        )[0]
        rest_n, rest_low, rest_high = int(count), float(low), float(high)
        parts = rule.bins - len(points)
        if rest_low == rest_high:
            points.append(rest_low)
            edges = np.array([rest_low])
        elif rule.strategy == "uniform":
            edges = np.linspace(rest_low, rest_high, parts + 1)
        else:
            edges = _interpolate(
                rest_n,
                parts,
                rest_low,
                rest_high,
                lambda ranks: engine.order_statistics(rest_sql, rest.values, feature, ranks, rest_n),
            )
        edges = np.unique(np.concatenate([edges, points]))
        return NumericBins(tuple(float(e) for e in edges), tuple(sorted(points)))

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
        """Histograms of ``features`` over ``specs``: one scan with GROUPING SETS where possible."""
        d = engine.dialect
        groups = [features] if d.grouping_sets else [[f] for f in features]
        result: dict[str, Histogram] = {}
        for group in groups:
            query = Params(d)
            query.values.update(params.values)
            keys: list[str] = []
            aliases: list[str] = []
            sets: list[str] = []
            for feature in group:
                expressions = _bin_expressions(d, feature, specs[feature.name], query)
                keys += [f"{expression} AS {alias}" for alias, expression in expressions]
                aliases += [alias for alias, _ in expressions]
                sets.append("(" + ", ".join(alias for alias, _ in expressions) + ")")
            names = ", ".join(aliases)
            grouping = f"GROUPING SETS ({', '.join(sets)})" if d.grouping_sets else names
            sql = (
                f"SELECT {names}, COUNT(*) FROM (SELECT {', '.join(keys)} FROM ({typed}) AS typed) AS binned "
                f"GROUP BY {grouping}"
            )
            rows = engine.fetch(sql, query.values)
            result.update(_parse_counts(rows, group, specs))
        return result


def _infer(column_type: ColumnType) -> Kind:
    """As :func:`driftmon.histogram.infer_kind`: numbers are numeric, the rest categorical."""
    return "numeric" if column_type in NUMERIC_TYPES else "categorical"


def _typed_expression(d: Dialect, feature: Feature) -> str:
    """The column as float64 (numeric) or as the text pandas would print (categorical)."""
    column = d.quote(feature.name)
    if feature.kind == "numeric":
        if feature.column_type == "boolean":
            return f"CASE WHEN {column} THEN CAST(1 AS {d.double}) WHEN NOT {column} THEN CAST(0 AS {d.double}) END"
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
    if spec.others:
        branches.append(f"WHEN {v} IN ({', '.join(params(o) for o in sorted(spec.others))}) THEN 2")
    # Outside the known values: __unseen__, or __other__ when the reference's others are unknown.
    cls = f"CASE {' '.join(branches)} ELSE {2 if spec.others is None else 3} END"
    value = f"CASE WHEN {in_categories} THEN {v} END"
    return [(f"c{v}", cls), (f"v{v}", value)]


def _parse_counts(
    rows: Sequence[tuple[Any, ...]], features: Sequence[Feature], specs: Mapping[str, BinSpec]
) -> dict[str, Histogram]:
    """Rows of the counting query -> one histogram per feature."""
    counts = {f.name: np.zeros(specs[f.name].size, dtype=np.float64) for f in features}
    missing = dict.fromkeys(counts, 0.0)
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
            break
    return {name: Histogram(specs[name], counts[name], missing[name]) for name in counts}


def quantile_ranks(n: int, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``probs, below, above, frac`` of :func:`driftmon.histogram._interpolated` for ``n`` values."""
    probs = np.linspace(0.0, 1.0, bins + 1)
    position = probs * (n - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, n - 1)
    frac = position - below
    return probs, below, above, frac


def _interpolate(
    n: int, bins: int, low: float, high: float, values_at: Callable[[list[int]], Mapping[int, float]]
) -> np.ndarray:
    """Quantile edges by numpy's linear interpolation, from order statistics fetched by rank.

    The same arithmetic, in the same order, as :func:`driftmon.histogram._interpolated`,
    so the edges are equal to the last bit.
    """
    probs, below, above, frac = quantile_ranks(n, bins)
    ranks = sorted({int(r) for r in np.concatenate([below, above])})
    found = values_at(ranks)
    x_below = np.array([found[int(r)] for r in below], dtype=np.float64)
    x_above = np.array([found[int(r)] for r in above], dtype=np.float64)
    result: np.ndarray = x_below + (x_above - x_below) * frac
    result[probs == 0.0] = low
    result[probs == 1.0] = high
    return result
