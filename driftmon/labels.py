"""Labels that arrive late: joining a separate source of labels to the live predictions.

A model's true labels often come days after its predictions, from another system. With
``model: {targets: SOURCE, key: COLUMN or [COLUMNS], label_window: 7d}`` each live row (a
prediction) is given the label whose ``key`` equals its own, and every row is accounted
for, never dropped and never joined twice:

- ``labelled``: exactly one label (a key labelled several times with the same value
  counts once, in ``repeated_labels``);
- ``pending``: no label yet, and the prediction is younger than ``label_window`` (or there
  is no window or no time to tell): estimated only;
- ``overdue``: no label although the prediction is older than ``label_window``;
- ``duplicate_key``: the key names more than one live row: none of them is joined;
- ``missing_key``: a key column is empty on the row;
- ``conflicting_labels`` (label keys): different labels for one key: not joined;
- ``unmatched_labels`` (label keys): no live row has the key (also labels of predictions
  outside the live window); ``unkeyed_labels`` (label rows): an empty key.

Labels of a class the model does not know are counted where the model encodes them
(`driftmon.model`). When both sides carry times (the live window's column, the label's
``label_time`` or the targets' window column), the label delay is the newest label's lag
behind its prediction, in seconds.

Knows nothing of sources or Prometheus: it is given the columns as arrays.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from driftmon.config_schema import Model

__all__ = ["KEY_STATES", "LIVE_STATES", "Labels", "account", "check_config", "join", "keys_of", "text"]

# Live-row states (they add up to the live rows) and label-key states.
LIVE_STATES = ("labelled", "pending", "overdue", "duplicate_key", "missing_key")
KEY_STATES = ("repeated_labels", "conflicting_labels", "unmatched_labels", "unkeyed_labels")
NO_TIME = np.iinfo(np.int64).min  # what `sources.base.epoch_ns` gives a null or unparsable time


@dataclass(frozen=True, slots=True)
class Labels:
    """The labels of one live window: per live row its label (NaN or None where it has none),
    the count of every state above, the newest label's delay, or why the labels are absent."""

    values: npt.NDArray[Any]
    counts: Mapping[str, int] = field(default_factory=dict)
    delay_seconds: float | None = None
    error: str | None = None  # the targets source failed: no label at all, the estimate goes on


def check_config(model: Model) -> None:
    """The late-label keys of ``model`` fit together (a ValueError saying which does not)."""
    if model.targets is not None:
        if model.key is None:
            raise ValueError("targets: needs key: the column(s) naming a prediction in live and targets")
        if model.target is None:
            raise ValueError("targets: needs target: the label's column in the targets source")
        if isinstance(model.key, list) and (not model.key or len(set(model.key)) < len(model.key)):
            raise ValueError("key: list each key column once, at least one")
    elif model.key is not None:
        raise ValueError("key: joins a targets: source of labels; give targets: too (or leave key out)")


def keys_of(model: Model) -> list[str]:
    """The key columns of a late-label join (none without ``targets:``)."""
    if model.key is None:
        return []
    return [model.key] if isinstance(model.key, str) else list(model.key)


def present(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """True where ``values`` holds a value (not None, NaN or NaT); numpy for numbers and
    times, pandas only for objects."""
    values = np.asarray(values)
    kind = values.dtype.kind
    if kind == "f":
        return np.asarray(~np.isnan(values), dtype=np.bool_)
    if kind in "mM":
        return np.asarray(~np.isnat(values), dtype=np.bool_)
    if kind in "biuSU":
        return np.ones(values.shape, dtype=bool)
    if "pandas" not in sys.modules:  # its import costs a short check 0.3 s: objects compared in numpy
        found = _present_objects(values)
        if found is not None:
            return found
    import pandas as pd

    return np.asarray(pd.notna(values), dtype=bool)


def _present_objects(values: npt.NDArray[Any]) -> npt.NDArray[np.bool_] | None:
    """`present` of objects as pandas tells it, in numpy: None, and NaN and NaT (unequal to
    themselves), are no value; None when a value does not compare (pandas.NA)."""
    try:
        both = np.not_equal(values, None) & np.equal(values, values)  # type: ignore[call-overload]  # stubs lack None
        return np.asarray(both, dtype=np.bool_)
    except (TypeError, ValueError):
        return None


def _factorize_objects(values: npt.NDArray[Any]) -> tuple[npt.NDArray[np.intp], npt.NDArray[Any]]:
    """pandas.factorize of objects without pandas: codes in first-seen order, -1 for no value."""
    there = present(values)
    seen: dict[Any, int] = {}
    given = values[there].tolist()
    codes = np.full(values.size, -1, dtype=np.intp)
    codes[there] = np.fromiter((seen.setdefault(value, len(seen)) for value in given), np.intp, len(given))
    return codes, np.fromiter(seen, dtype=object, count=len(seen))


# Integers spanning at most this many values per row are coded by a lookup table, O(n).
_DENSE_SPAN = 4


def factorize(values: npt.NDArray[Any]) -> tuple[npt.NDArray[np.intp], npt.NDArray[Any]]:
    """Each value's code (-1 where there is none) and the distinct values, ``uniques[code]``
    being the value: numbers and times in numpy (sorted codes; a lookup table for integers of
    a small span), text and other objects by pandas' hash table (first-seen order)."""
    values = np.asarray(values)
    if values.dtype.kind not in "biufmM" and "pandas" not in sys.modules and _present_objects(values) is not None:
        return _factorize_objects(values)  # as pandas does, without its import (0.3 s)
    if values.dtype.kind not in "biufmM":
        import pandas as pd

        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        return np.asarray(codes, dtype=np.intp), np.asarray(uniques)
    there = present(values)
    codes = np.full(values.size, -1, dtype=np.intp)
    given = values[there]
    if values.dtype.kind in "iu" and given.size:
        low, high = int(given.min()), int(given.max())
        if high - low <= _DENSE_SPAN * given.size + 1024:
            seen = np.zeros(high - low + 1, dtype=bool)
            seen[given - low] = True
            lookup = np.cumsum(seen) - 1
            codes[there] = lookup[given - low]
            return codes, (np.flatnonzero(seen) + low).astype(values.dtype)
    uniques, inverse = np.unique(given, return_inverse=True)
    codes[there] = inverse.ravel()
    return codes, uniques


def distinct(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The distinct values (present ones), as numbers when all are numbers, else as text."""
    values = np.asarray(values)
    if values.dtype.kind in "biuf":
        return np.unique(values.astype(np.float64))
    return np.unique(_as_text(values).astype(str))


def isin(values: npt.NDArray[Any], known: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """True where a value is one of ``known`` (from `distinct`): ``1``, ``1.0`` and ``"1"`` are one value."""
    values = np.asarray(values)
    if values.dtype.kind in "biuf" and known.dtype.kind == "f":
        return np.isin(values.astype(np.float64), known)
    words = _as_text(values)
    found = present(values)
    names = _as_text(known) if known.dtype.kind == "f" else known
    found[found] = np.isin(words[found].astype(str), names.astype(str))
    return found


def _comparable(live: npt.NDArray[Any], labels: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """Both sides of one key column as values that compare equal when they name the same key:
    numbers stay numbers; when one side is text, both become text (``7`` and ``"7"`` match)."""
    numeric = [values.dtype.kind in "biuf" for values in (live, labels)]
    if all(numeric):
        return live, labels
    if any(numeric):
        return tuple(_as_text(values) for values in (live, labels))  # type: ignore[return-value]
    return live.astype(object), labels.astype(object)


def _as_text(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Each value as `text` (None where there is none): one conversion per distinct value."""
    codes, uniques = factorize(np.asarray(values))
    names = np.array([text(value) for value in uniques] + [None], dtype=object)
    return names[codes]


def text(value: Any) -> str:
    """A key or label as text: whole floats like integers (``7.0`` is ``"7"``), as pandas prints them."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def account(
    labelled: npt.NDArray[np.bool_],
    live_times: npt.NDArray[np.int64] | None,
    label_times: npt.NDArray[np.int64] | None,
    now_ns: int,
    label_window_s: float | None,
    excluded: npt.NDArray[np.bool_] | None = None,
) -> tuple[dict[str, int], float | None]:
    """Counts of labelled, pending and overdue live rows (``excluded`` ones are counted by the
    caller), and the newest label's delay in seconds (None without times on both sides)."""
    unlabelled = ~labelled if excluded is None else ~labelled & ~excluded
    overdue = np.zeros(len(labelled), dtype=bool)
    if label_window_s is not None and live_times is not None:
        known = live_times != NO_TIME
        overdue = unlabelled & known & (now_ns - live_times > label_window_s * 1e9)
    counts = {
        "labelled": int(labelled.sum()),
        "pending": int((unlabelled & ~overdue).sum()),
        "overdue": int(overdue.sum()),
    }
    delay = None
    if live_times is not None and label_times is not None:
        timed = np.flatnonzero(labelled & (live_times != NO_TIME) & (label_times != NO_TIME))
        if timed.size:
            newest = timed[np.argmax(label_times[timed])]
            delay = float(label_times[newest] - live_times[newest]) / 1e9
    return counts, delay


def join(
    live_keys: Sequence[npt.NDArray[Any]],
    label_keys: Sequence[npt.NDArray[Any]],
    labels: npt.NDArray[Any],
    *,
    live_times: npt.NDArray[np.int64] | None = None,
    label_times: npt.NDArray[np.int64] | None = None,
    now_ns: int = 0,
    label_window_s: float | None = None,
) -> Labels:
    """Each live row's label, joined on the key columns (same order on both sides); see the
    module's docstring for the states counted. ``label_times``: per label row (ns, or NO_TIME)."""
    rows = len(live_keys[0]) if live_keys else 0
    live_code, label_code = _key_codes(live_keys, label_keys)
    missing_key = live_code < 0
    keys = int(max(live_code.max(initial=-1), label_code.max(initial=-1))) + 1
    live_count = np.bincount(live_code[~missing_key], minlength=keys)
    duplicate = ~missing_key & (live_count[np.maximum(live_code, 0)] > 1)
    found = live_count > 0  # per key: some live row has it

    usable = (label_code >= 0) & present(np.asarray(labels))
    key_of = label_code[usable]
    value_code, values_seen = factorize(np.asarray(labels)[usable])
    given = np.bincount(key_of, minlength=keys)  # labels per key
    lowest = np.full(keys, np.iinfo(np.int64).max)
    highest = np.full(keys, -1)
    np.minimum.at(lowest, key_of, value_code)
    np.maximum.at(highest, key_of, value_code)
    conflicting = (given > 0) & (lowest != highest)

    safe = np.maximum(live_code, 0)
    joined = ~missing_key & ~duplicate & (given[safe] > 0) & ~conflicting[safe]
    row_index = np.flatnonzero(joined)
    numeric = np.asarray(labels).dtype.kind in "biuf"
    values: npt.NDArray[Any] = np.full(rows, np.nan) if numeric else np.full(rows, None, dtype=object)
    values[row_index] = np.asarray(values_seen)[lowest[live_code[row_index]]]
    times = None
    if label_times is not None:
        newest = np.full(keys, NO_TIME, dtype=np.int64)
        np.maximum.at(newest, key_of, np.asarray(label_times, dtype=np.int64)[usable])
        times = np.full(rows, NO_TIME, dtype=np.int64)
        times[row_index] = newest[live_code[row_index]]
    counts, delay = account(joined, live_times, times, now_ns, label_window_s, missing_key | duplicate)
    counts |= {
        "duplicate_key": int(duplicate.sum()),
        "missing_key": int(missing_key.sum()),
        "repeated_labels": int(((given > 1) & ~conflicting & found).sum()),
        "conflicting_labels": int((conflicting & found).sum()),
        "unmatched_labels": int(((given > 0) & ~found).sum()),
        "unkeyed_labels": int((label_code < 0).sum()),
    }
    return Labels(values, counts, delay)


def _key_codes(
    live_keys: Sequence[npt.NDArray[Any]], label_keys: Sequence[npt.NDArray[Any]]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """One integer per key value (all its columns), shared by both sides; -1 where a key
    column is empty. One `factorize` per key column."""
    live_rows = len(live_keys[0]) if live_keys else 0
    combined = np.zeros(live_rows + (len(label_keys[0]) if label_keys else 0), dtype=np.int64)
    empty = np.zeros(combined.size, dtype=bool)
    for live, labels in zip(live_keys, label_keys, strict=True):
        mine, theirs = _comparable(np.asarray(live), np.asarray(labels))
        codes, uniques = factorize(np.concatenate([mine, theirs]))
        empty |= codes < 0
        # (previous key, this column) -> a new dense code; stays below the row count
        combined = factorize(combined * (len(uniques) + 1) + (codes + 1))[0].astype(np.int64)
    if empty.any():  # renumber the keys without an empty column, densely
        kept, _ = factorize(combined[~empty])
        combined = np.full(combined.size, -1, dtype=np.int64)
        combined[~empty] = kept
    return combined[:live_rows], combined[live_rows:]


def absent(rows: int, error: str) -> Labels:
    """No labels at all, because the targets source failed (``error`` says how)."""
    return Labels(np.full(rows, np.nan), {"labelled": 0, "pending": rows}, None, error)


def describe(labels: Labels) -> list[str]:
    """The join's notable counts in words, for notes (nothing when every row is simply labelled
    or pending; a failed targets source is the model's ``realized_absent``)."""
    words = {
        "overdue": "live rows have no label past the label window",
        "duplicate_key": "live rows share their key with another row and were not joined",
        "missing_key": "live rows have an empty key and were not joined",
        "repeated_labels": "keys were labelled more than once with the same label (joined once)",
        "conflicting_labels": "keys were given different labels and were not joined",
        "unmatched_labels": "label keys match no live row",
        "unkeyed_labels": "label rows have an empty key",
    }
    return [f"{labels.counts[state]} {text}" for state, text in words.items() if labels.counts.get(state)]


def describe_delay(seconds: float) -> str:
    """A label delay in words: ``90 s``, ``45 min``, ``6.5 h``, ``3.2 d`` (negative: a label
    stamped before its prediction, said so)."""
    if seconds < 0:
        return f"{describe_delay(-seconds)} before its prediction (check the times)"
    for unit, size, limit in (("s", 1.0, 120.0), ("min", 60.0, 7_200.0), ("h", 3_600.0, 172_800.0)):
        if seconds < limit:
            return f"{seconds / size:.0f} {unit}" if unit != "h" else f"{seconds / size:.1f} h"
    return f"{seconds / 86_400:.1f} d"
