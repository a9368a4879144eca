"""Count a serving process's features into a reference profile's frozen bins, as Prometheus counters.

For the model server, not for driftmon: it needs numpy and prometheus_client only (no
config, pydantic, pandas or pyarrow; tests/test_instrument.py checks it in a subprocess)::

    from driftmon.instrument import Instrument

    features = Instrument.from_profile("reference.json")      # written by `driftmon profile`
    features.observe({"age": ages, "country": countries})      # a batch: columns ...
    features.observe([{"age": 31, "country": "DE"}, ...])      # ... or rows, or one row dict

Every feature of the profile is one set of series of one counter family (default
``driftmon_feature_observations_total``), labelled ``feature`` and ``bin``::

    driftmon_feature_observations_total{bin="(-inf,18)",feature="age"} 0.0
    driftmon_feature_observations_total{bin="[18,30)",feature="age"} 412.0
    driftmon_feature_observations_total{bin="{0}",feature="flag"} 80.0
    driftmon_feature_observations_total{bin="__missing__",feature="age"} 3.0
    driftmon_feature_observations_total{bin="DE",feature="country"} 120.0
    driftmon_feature_observations_total{bin="__unseen__",feature="country"} 7.0

All series exist from the start at 0 (so ``increase()`` counts the first observations),
and no observation ever adds one: unseen categories go to ``__unseen__`` (or
``__other__``), so a feature has at most its profile's bins + ``__missing__`` series.

Bin labels (the ``bin`` label of numeric features) name each bin exactly, so that
``type: prometheus`` can rebuild the edges and compare them with the reference's: numbers
are written as Python's shortest round-trip text (whole numbers without ``.0``), no spaces:
``(-inf,e0)`` underflow, ``[a,b)`` an interval (``(a,`` when ``a`` is a point bin, ``b]``
for the last one unless ``b`` is a point), ``{v}`` a point bin, ``(ek,+inf)`` overflow,
``(-inf,+inf)`` the one bin of a reference without finite values, ``__missing__`` for
null/NaN. Categorical features use the category text, ``__other__``, ``__unseen__`` and
``__missing__``.
"""

from __future__ import annotations

import math
from collections import Counter as Tally
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from driftmon import histogram_file
from driftmon._imports import lazy_import
from driftmon.histogram import MISSING, BinSpec, CategoricalBins, NumericBins

if TYPE_CHECKING:
    import prometheus_client
    from prometheus_client import CollectorRegistry
else:
    # Imported on first use: driftmon's own sources use this module's bin labels and must
    # not pay for prometheus_client (nor its HTTP server modules) in `driftmon check`.
    prometheus_client = lazy_import("prometheus_client")


class _DefaultRegistry:
    """Stands for ``prometheus_client.REGISTRY`` without importing it."""

    def __repr__(self) -> str:
        return "prometheus_client.REGISTRY"


DEFAULT_REGISTRY: Any = _DefaultRegistry()

METRIC = "driftmon_feature_observations_total"
FEATURE_LABEL = "feature"
BIN_LABEL = "bin"


# ---------------------------------------------------------------------------
# bin labels: the exact text of each bin, and back


def number_text(value: float) -> str:
    """A number as the shortest text that reads back to the same float (whole numbers without .0)."""
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


def bin_labels(spec: BinSpec) -> list[str]:
    """The ``bin`` label of each bin of ``spec``, in count order (``__missing__`` not included)."""
    if isinstance(spec, CategoricalBins):
        return spec.labels()
    return spec.labels(number_text, ",")  # exact, round-tripping numbers: parse_bin_labels reads them back


def parse_bin_labels(labels: Iterable[str], feature: str) -> NumericBins:
    """The numeric bins whose :func:`bin_labels` are exactly ``labels`` (``__missing__`` ignored).

    Raises ValueError naming the feature when the labels are not one complete layout.
    """
    given = {label for label in labels if label != MISSING}
    edges: set[float] = set()
    points: set[float] = set()
    for label in given:
        try:
            if label.startswith("{") and label.endswith("}"):
                value = float(label[1:-1])
                points.add(value)
                edges.add(value)
            elif label[:1] in "[(" and label[-1:] in ")]" and "," in label:
                for part in label[1:-1].split(","):
                    value = float(part)
                    if math.isfinite(value):
                        edges.add(value)
            else:
                raise ValueError(label)
        except ValueError:
            raise ValueError(
                f"feature {feature!r}: bin label {label!r} is not a numeric bin "
                "(expected (-inf,a), [a,b), (a,b], {v} or (b,+inf))"
            ) from None
    spec = NumericBins(tuple(sorted(edges)), tuple(sorted(points)))
    expected = set(bin_labels(spec))
    if given != expected:
        missing = sorted(expected - given)
        extra = sorted(given - expected)
        raise ValueError(
            f"feature {feature!r}: the bin labels are not one complete layout (missing {missing}, unexpected {extra})"
        )
    return spec


# ---------------------------------------------------------------------------
# counting


def _category_text(value: Any) -> str | None:
    """A value as categorical text, as driftmon's sources compare it (None: missing)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return None
        return str(int(number)) if number.is_integer() and abs(number) < 2**53 else repr(number)
    if isinstance(value, int | np.integer):
        return str(int(value))
    return str(value)


@dataclass(frozen=True, slots=True)
class _Feature:
    """One feature's bins and its pre-created counter children (bins in count order, then missing)."""

    name: str
    spec: BinSpec
    children: tuple[Any, ...]
    cut_values: np.ndarray  # numeric: the bin boundaries (NumericBins.cuts)
    cut_inclusive: np.ndarray
    positions: Mapping[str, int]  # categorical: text -> bin index
    outside: int  # categorical: the bin of a value in no position (__other__ if others are unknown, else __unseen__)

    def counts(self, column: Any) -> np.ndarray:
        """Rows per bin (``len(children)`` entries, missing last) of one column of values."""
        if isinstance(self.spec, NumericBins):
            return self._numeric(column)
        return self._categorical(column)

    def _numeric(self, column: Any) -> np.ndarray:
        try:
            values = np.asarray(column, dtype=np.float64).ravel()
        except (TypeError, ValueError):
            raise ValueError(f"feature {self.name!r} is numeric but got values that are not numbers") from None
        present_mask = ~np.isnan(values)
        present = values[present_mask] if not present_mask.all() else values
        ordered = np.sort(present)
        counted = np.empty(self.cut_values.size + 2, dtype=np.int64)
        counted[0] = 0
        counted[-1] = ordered.size
        if self.cut_values.size:
            below = np.searchsorted(ordered, self.cut_values, side="left")
            at_or_below = np.searchsorted(ordered, self.cut_values, side="right")
            counted[1:-1] = np.where(self.cut_inclusive, at_or_below, below)
        result = np.empty(len(self.children), dtype=np.int64)
        result[:-1] = np.diff(counted)
        result[-1] = values.size - ordered.size
        return result

    def _categorical(self, column: Any) -> np.ndarray:
        if isinstance(column, np.ndarray):
            column = column.tolist()
        elif isinstance(column, str) or not isinstance(column, Iterable):
            column = [column]
        result = np.zeros(len(self.children), dtype=np.int64)
        missing = len(self.children) - 1
        # Tally is C code: the Python loop below runs once per distinct value, not per row.
        kinds = set(map(type, column))
        if (bool in kinds or np.bool_ in kinds) and kinds - {bool, np.bool_, type(None), str}:
            # True == 1 in a dict: keep booleans apart from numbers (rare mixed columns only).
            column = [str(bool(v)) if isinstance(v, bool | np.bool_) else v for v in column]
        for value, count in Tally(column).items():
            text = _category_text(value)
            result[missing if text is None else self.positions.get(text, self.outside)] += count
        return result


class Instrument:
    """A reference profile's bins, counting observed rows into Prometheus counters.

    ``labels`` are constant labels on every series (e.g. ``{"model": "credit"}``); several
    profiles in one process need distinct ``metric`` names or registries.
    """

    def __init__(
        self,
        specs: Mapping[str, BinSpec],
        *,
        metric: str = METRIC,
        labels: Mapping[str, str] | None = None,
        registry: CollectorRegistry | None = DEFAULT_REGISTRY,
    ) -> None:
        constant = dict(labels or {})
        if FEATURE_LABEL in constant or BIN_LABEL in constant:
            raise ValueError(f"labels may not be named {FEATURE_LABEL!r} or {BIN_LABEL!r}")
        self.metric = metric
        if registry is DEFAULT_REGISTRY:
            registry = prometheus_client.REGISTRY
        self.counter = prometheus_client.Counter(
            metric.removesuffix("_total"),
            "Rows a serving process observed per feature and reference bin (driftmon.instrument)",
            labelnames=(FEATURE_LABEL, BIN_LABEL, *constant),
            registry=registry,
        )
        self.features: dict[str, _Feature] = {}
        for name, spec in specs.items():
            bins = [*bin_labels(spec), MISSING]
            children = tuple(self.counter.labels(name, label, *constant.values()) for label in bins)
            positions: dict[str, int] = {}
            cut_values, cut_inclusive = np.empty(0), np.empty(0, dtype=bool)
            outside = 0
            if isinstance(spec, CategoricalBins):
                other, unseen = len(spec.categories), len(spec.categories) + 1
                positions = {value: other for value in spec.others or ()}
                positions.update({category: index for index, category in enumerate(spec.categories)})
                # As driftmon bins live data: with the reference's other values unknown, a
                # value outside the top K cannot be told from one of them: __other__.
                outside = other if spec.others is None else unseen
            elif spec.edges:
                cut_values, cut_inclusive = spec.cuts()
            self.features[name] = _Feature(name, spec, children, cut_values, cut_inclusive, positions, outside)

    @classmethod
    def from_profile(
        cls,
        path: str | Path,
        *,
        features: Sequence[str] | None = None,
        metric: str = METRIC,
        labels: Mapping[str, str] | None = None,
        registry: CollectorRegistry | None = DEFAULT_REGISTRY,
    ) -> Instrument:
        """An instrument over the bins of a histogram file written by ``driftmon profile``.

        ``features`` picks some of the file's features (default: all).
        """
        histograms = histogram_file.loads(Path(path).read_bytes(), str(path))
        chosen = list(histograms) if features is None else list(features)
        unknown = [name for name in chosen if name not in histograms]
        if unknown:
            raise ValueError(f"{path}: no feature {unknown[0]!r} in the profile (has: {', '.join(histograms)})")
        specs = {name: histograms[name].spec for name in chosen}
        return cls(specs, metric=metric, labels=labels, registry=registry)

    def observe(self, data: Any) -> None:
        """Count rows: a dict of columns (arrays, lists), a list of row dicts, or one row dict.

        A feature absent from the data (or from a row) counts as missing, as does None/NaN.
        Raises ValueError naming the feature for values of the wrong kind (text in a numeric
        feature); then nothing of the batch is counted.
        """
        columns, rows = _columns(data, self.features)
        tallies = []
        for feature in self.features.values():
            column = columns(feature.name)
            counts = np.zeros(len(feature.children), dtype=np.int64) if column is None else feature.counts(column)
            if column is None:
                counts[-1] = rows
            tallies.append((feature, counts))
        for feature, counts in tallies:
            for index in np.flatnonzero(counts):
                feature.children[index].inc(int(counts[index]))

    def counts(self, data: Any) -> dict[str, np.ndarray]:
        """What :meth:`observe` would add, per feature (bins in count order, missing last); no side effect."""
        columns, rows = _columns(data, self.features)
        result = {}
        for feature in self.features.values():
            column = columns(feature.name)
            if column is None:
                counts = np.zeros(len(feature.children), dtype=np.int64)
                counts[-1] = rows
            else:
                counts = feature.counts(column)
            result[feature.name] = counts
        return result


def _columns(data: Any, features: Iterable[str]) -> tuple[Any, int]:
    """A lookup ``name -> column or None`` over ``data`` and its number of rows (of ``features``' columns)."""
    if isinstance(data, Mapping) or hasattr(data, "columns"):
        if isinstance(data, Mapping) and not any(_is_column(v) for v in data.values()):
            row = data  # one row
            return (lambda name: [row[name]] if name in row else None), 1
        keys = set(data.keys()) if isinstance(data, Mapping) else set(data.columns)
        sizes = {len(data[name]) for name in features if name in keys}
        if len(sizes) > 1:
            raise ValueError(f"the features' columns differ in length: {sorted(sizes)}")
        rows = sizes.pop() if sizes else 0
        return (lambda name: data[name] if name in keys else None), rows
    if isinstance(data, Sequence | np.ndarray) and not isinstance(data, str):
        rows_list = list(data)
        if not all(isinstance(row, Mapping) for row in rows_list):
            raise ValueError("observe() takes a dict of columns, a list of row dicts, or one row dict")
        return (lambda name: [row.get(name) for row in rows_list]), len(rows_list)
    raise ValueError("observe() takes a dict of columns, a list of row dicts, or one row dict")


def _is_column(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray) or (hasattr(value, "__len__") and hasattr(value, "dtype"))
