"""The names of unseen categories, counted by the engine in the counting query itself.

The file source keeps, with each live histogram, the most frequent values that fell in
``__unseen__`` (at most :data:`driftmon.histogram.UNSEEN_KEPT`, by count then value); a
database or Spark source gets them from the same query that counts the bins:

- a categorical feature's value key (see :mod:`driftmon.sources.pushdown`) carries the value
  for a category, as before, and now for an unseen value too, so the ``GROUP BY`` (or
  grouping set) counts each unseen value on its own;
- the grouped rows are ranked per feature (and per segment) with ``ROW_NUMBER() OVER
  (PARTITION BY class ORDER BY count DESC, value)``; the unseen rows past the first
  ``UNSEEN_KEPT`` lose their value and are summed back into one row, so at most
  ``UNSEEN_KEPT + 1`` rows per feature leave the engine for ``__unseen__`` and its total
  count is exact.

Features whose reference lists no other values (``others`` unknown) have no ``__unseen__``
bin, and a query without such features is left as it was. The count of each named value is
exact (the engine sees all rows at once); the file source counts file by file and batch by
batch, so its counts of merged chunks are lower bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from driftmon.histogram import UNSEEN_KEPT, BinSpec, CategoricalBins

if TYPE_CHECKING:
    from collections.abc import Mapping

    from driftmon.sources.pushdown import Dialect, Feature

UNSEEN_CLASS = 3  # the class key of a row in __unseen__ (pushdown._bin_expressions)


def named(spec: BinSpec) -> bool:
    """True when ``spec`` has an ``__unseen__`` bin whose values are worth naming."""
    return isinstance(spec, CategoricalBins) and spec.others is not None


def value_key(v: str, in_categories: str, others: str, spec: CategoricalBins) -> str:
    """The value grouping key of a categorical feature: the value for a category and, where
    the reference's other values are known, for an unseen value; NULL otherwise.

    ``others``: the SQL list of the reference's other values (already bound), empty for none.
    """
    if spec.others is None:
        return f"CASE WHEN {in_categories} THEN {v} END"
    if not spec.others:
        return v  # NULL stays NULL; every present value is a category or unseen
    return f"CASE WHEN {v} IN ({others}) THEN NULL ELSE {v} END"


def keep_top(
    d: Dialect, counted: str, names: Sequence[str], group: Sequence[Feature], specs: Mapping[str, BinSpec],
    first: Sequence[str],
) -> str:  # fmt: skip
    """``counted`` (grouping keys ``names``, then ``n``) with each feature's unseen rows cut to
    the ``UNSEEN_KEPT`` most frequent values and the rest summed into one row of NULL value.

    ``first``: the keys in every grouping set (the segment), which the ranking partitions by.
    """
    tracked = [feature.alias for feature in group if named(specs[feature.name])]
    if not tracked:
        return counted
    ranks = ", ".join(
        f"ROW_NUMBER() OVER (PARTITION BY {', '.join([*first, f'c{v}'])} ORDER BY n DESC, v{v}{d.collate}) AS r{v}"
        for v in tracked
    )
    cut = {
        f"v{v}": f"CASE WHEN c{v} = {UNSEEN_CLASS} AND r{v} > {UNSEEN_KEPT} THEN NULL ELSE v{v} END" for v in tracked
    }
    kept = ", ".join(f"{cut[name]} AS {name}" if name in cut else name for name in names)
    keys = ", ".join(names)
    return (
        f"SELECT {keys}, SUM(n) FROM (SELECT {kept}, n FROM (SELECT {keys}, n, {ranks} FROM ({counted}) AS counted) "
        f"AS ranked) AS cut GROUP BY {keys}"
    )
