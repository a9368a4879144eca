"""The histogram file: ``driftmon.histograms/v1`` JSON, written by ``driftmon profile``, read by ``type: histogram``.

The layout is documented in docs/sources.md. :func:`to_document` and :func:`from_document`
convert between histograms and the parsed JSON; :func:`load` reads a file. Every problem
in a file is a DataError (a file that cannot be read: a SourceError) naming the file and,
where there is one, the feature; never a traceback.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from driftmon.errors import DataError, SourceError
from driftmon.histogram import MISSING, OTHER, UNSEEN, CategoricalBins, Histogram, NumericBins, check_edges

FORMAT = "driftmon.histograms/v1"


def to_document(histograms: Mapping[str, Histogram]) -> dict[str, Any]:
    """The ``driftmon.histograms/v1`` JSON document of these histograms."""
    features: dict[str, Any] = {}
    for name, hist in histograms.items():
        if isinstance(hist.spec, NumericBins):
            features[name] = {
                "kind": "numeric",
                "edges": list(hist.spec.edges),
                "counts": [_number(c) for c in hist.counts],
                "missing": _number(hist.missing),
            }
            if hist.spec.points:
                # Point bins (values with a bin of their own); files without them keep the layout
                # of docs/sources.md (Histogram files).
                features[name]["points"] = list(hist.spec.points)
        else:
            counts = dict(zip(hist.spec.labels(), (_number(c) for c in hist.counts), strict=True))
            if not counts[UNSEEN]:
                del counts[UNSEEN]
            entry: dict[str, Any] = {
                "kind": "categorical",
                "counts": counts,
                "missing": _number(hist.missing),
            }
            if hist.spec.others:
                # Not in the documented example (docs/sources.md): lets a live sample tell __other__ from __unseen__.
                entry["other_values"] = sorted(hist.spec.others)
            features[name] = entry
    return {"format": FORMAT, "features": features}


def from_document(document: Any, origin: str) -> dict[str, Histogram]:
    """Histograms from a parsed driftmon.histograms/v1 document; every problem names ``origin`` and the feature."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise DataError(f'{origin}: not a histogram file (expected "format": "{FORMAT}")')
    features = document.get("features")
    if not isinstance(features, dict):
        raise DataError(f'{origin}: "features" must be an object of feature histograms')
    return {str(name): _feature_from_document(entry, origin, str(name)) for name, entry in features.items()}


def _feature_from_document(entry: Any, origin: str, name: str) -> Histogram:
    where = f"{origin}: feature {name!r}"
    if not isinstance(entry, dict):
        raise DataError(f"{where}: must be an object with kind, counts and missing")
    kind = entry.get("kind")
    missing = _count(entry.get("missing", 0), f"{where}: missing")
    raw = entry.get("counts")
    if kind == "numeric":
        spec = _numeric_spec_from_document(entry, origin, name)
        if not isinstance(raw, list) or len(raw) != spec.size:
            raise DataError(
                f"{where}: counts must be a list of len(edges) + 1 + len(points) = {spec.size} numbers "
                "(underflow, interior and point bins in value order, overflow)"
            )
        counts = _counts(raw, lambda i: f"{where}: counts[{i}]")
        return _bounded(Histogram(spec, counts, missing), where)
    if kind == "categorical":
        if not isinstance(raw, dict):
            raise DataError(f"{where}: counts must be an object of category: count")
        keys = list(raw)
        numbers = _counts(list(raw.values()), lambda i: f"{where}: counts[{keys[i]!r}]")
        if not all(isinstance(k, str) for k in keys):  # a document built in Python: keys as text, last one wins
            merged = dict(zip(map(str, keys), numbers.tolist(), strict=True))
            keys, numbers = list(merged), np.array(list(merged.values()), dtype=np.float64)
        special = {k: keys.index(k) for k in (OTHER, UNSEEN, MISSING) if k in raw}
        values = {k: float(numbers[i]) for k, i in special.items()}
        regular = np.ones(len(keys), dtype=bool)
        regular[list(special.values())] = False
        categories = tuple(itertools.compress(keys, regular.tolist()))
        other_values = entry.get("other_values")
        others: frozenset[str] | None
        if other_values is None:
            # Unknown values behind a non-zero __other__; none behind a zero one.
            others = None if values.get(OTHER, 0.0) > 0 else frozenset()
        elif isinstance(other_values, list):
            others = frozenset(str(v) for v in other_values)
        else:
            raise DataError(f"{where}: other_values must be a list of strings")
        bins = CategoricalBins(categories, others)
        counts = np.concatenate([numbers[regular], [values.get(OTHER, 0.0), values.get(UNSEEN, 0.0)]])
        return _bounded(Histogram(bins, counts, missing + values.get(MISSING, 0.0)), where)
    raise DataError(f'{where}: kind must be "numeric" or "categorical", got {kind!r}')


def _numeric_spec_from_document(entry: dict[str, Any], origin: str, name: str) -> NumericBins:
    """Edges and optional point bins of a numeric feature in a histogram file."""
    where = f"{origin}: feature {name!r}"
    edges = entry.get("edges")
    points = entry.get("points", [])
    for key, value in (("edges", edges), ("points", points)):
        if not isinstance(value, list) or not all(_is_number(e) for e in value):
            raise DataError(f"{where}: {key} must be a list of numbers")
        if any(isinstance(e, int) and _finite(e) is None for e in value):
            raise DataError(f"{where}: {key} must be finite numbers, got {_BEYOND}")
    assert isinstance(edges, list) and isinstance(points, list)
    if not edges and not points:
        return NumericBins(())  # a reference without finite values: one bin
    try:
        if points and len(edges) == 1:  # a constant reference: one point bin
            if not math.isfinite(edges[0]):
                raise DataError(f"feature {name!r}: edges must be finite numbers, got {edges}")
            checked: tuple[float, ...] = (float(edges[0]),)
        else:
            checked = check_edges(edges, name)
        return NumericBins(checked, tuple(float(p) for p in sorted(set(points))))
    except DataError as error:
        raise DataError(f"{origin}: {error}") from None


# Counts of one feature may total at most this (a million billion rows): the sums, the
# significance test and the simulated draws (int64 sample sizes) stay exact and finite.
MAX_TOTAL = 1e15


def _bounded(histogram: Histogram, where: str) -> Histogram:
    with np.errstate(over="ignore"):
        total = float(np.sum(histogram.counts)) + histogram.missing
    if not total <= MAX_TOTAL:  # also catches inf from counts like 1e308 that overflow when added
        raise DataError(f"{where}: counts total {total:g}, more than the {MAX_TOTAL:g} driftmon can compare")
    return histogram


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_BEYOND = "a number beyond ±1.8e308"  # said instead of an integer's hundreds of digits


def _finite(value: Any) -> float | None:
    """A JSON number as a finite float; None for NaN, ±inf and integers beyond the float range."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _count(value: Any, where: str) -> float:
    number = _finite(value) if _is_number(value) else None
    if number is None or number < 0:
        shown = _BEYOND if isinstance(value, int) and _is_number(value) and number is None else repr(value)
        raise DataError(f"{where}: counts must be non-negative finite numbers, got {shown}")
    return number


def _counts(raw: list[Any], where: Callable[[int], str]) -> np.ndarray:
    """Counts as float64, checked all at once; the first bad one is named by ``where(index)`` as :func:`_count` does."""
    if {type(value) for value in raw} <= {int, float}:  # no bool, str, None, list...
        try:
            counts = np.array(raw, dtype=np.float64)
        except OverflowError:  # an integer beyond the float range: named below
            pass
        else:
            if bool(np.all(counts >= 0)) and bool(np.isfinite(counts).all()):
                return counts
    return np.array([_count(value, where(index)) for index, value in enumerate(raw)], dtype=np.float64)


def _number(value: float) -> int | float:
    """Whole counts as ints in JSON (weights stay floats)."""
    as_float = float(value)
    return int(as_float) if as_float.is_integer() else as_float


def read_bytes(path: Path) -> bytes:
    """The file's bytes, or a SourceError naming it."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"histogram file {path} does not exist") from None
    except OSError as error:
        raise SourceError(f"cannot read histogram file {path}: {error.strerror}") from None


def loads(data: bytes, origin: str) -> dict[str, Histogram]:
    """Histograms from a file's bytes; every problem names ``origin``."""
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"{origin}: not valid JSON ({error})") from None
    except RecursionError:
        raise DataError(f"{origin}: not valid JSON (nested too deeply; a histogram file is 4 levels deep)") from None
    except ValueError:  # Python reads integers of at most sys.get_int_max_str_digits() digits
        limit = sys.get_int_max_str_digits()
        raise DataError(f"{origin}: not valid JSON (a number with more than {limit} digits)") from None
    return from_document(document, origin)


def load(path: Path) -> dict[str, Histogram]:
    """Histograms of every feature in a histogram file."""
    return loads(read_bytes(path), str(path))
