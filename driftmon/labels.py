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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from driftmon.config_schema import Model

__all__ = ["KEY_STATES", "LIVE_STATES", "Labels", "account", "check_config", "join", "keys_of"]

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
    """True where ``values`` holds a value (not None, NaN or NaT)."""
    import pandas as pd

    return np.asarray(pd.notna(values), dtype=bool)


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
    text = _as_text(values)
    found = present(values)
    names = _as_text(known) if known.dtype.kind == "f" else known
    found[found] = np.isin(text[found].astype(str), names.astype(str))
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
    found = present(values)
    text = np.full(len(values), None, dtype=object)
    text[found] = [_text(v) for v in values[found]]
    return text


def _text(value: Any) -> str:
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
    import pandas as pd

    rows = len(live_keys[0]) if live_keys else 0
    names = [f"k{i}" for i in range(len(live_keys))]
    pairs = [_comparable(np.asarray(a), np.asarray(b)) for a, b in zip(live_keys, label_keys, strict=True)]
    live = pd.DataFrame({name: pair[0] for name, pair in zip(names, pairs, strict=True)})
    missing_key = np.zeros(rows, dtype=bool)
    for name in names:
        missing_key |= ~present(live[name].to_numpy())
    duplicate = np.asarray(live.duplicated(names, keep=False), dtype=bool) & ~missing_key

    table = pd.DataFrame({name: pair[1] for name, pair in zip(names, pairs, strict=True)})
    table["label"] = labels
    table["time"] = label_times if label_times is not None else NO_TIME
    keyed = np.ones(len(table), dtype=bool)
    for name in names:
        keyed &= present(table[name].to_numpy())
    unkeyed = int((~keyed).sum())
    table = table[keyed & present(np.asarray(labels))]
    grouped = table.groupby(names, sort=False).agg(
        times=("label", "size"), distinct=("label", "nunique"), label=("label", "first"), time=("time", "max")
    )
    grouped = grouped.reset_index()
    joinable = ~missing_key & ~duplicate
    matched = live[joinable].reset_index().merge(grouped, on=names, how="inner", validate="one_to_one")
    conflicting_keys = grouped["distinct"] > 1
    live_index = pd.MultiIndex.from_frame(live.loc[~missing_key, names]) if names else pd.MultiIndex.from_arrays([])
    found = pd.MultiIndex.from_frame(grouped[names]).isin(live_index)

    good = matched[matched["distinct"] == 1]
    row_index = good["index"].to_numpy(dtype=np.intp)
    numeric = np.asarray(labels).dtype.kind in "biuf"
    values: npt.NDArray[Any] = np.full(rows, np.nan) if numeric else np.full(rows, None, dtype=object)
    values[row_index] = good["label"].to_numpy()
    labelled = np.zeros(rows, dtype=bool)
    labelled[row_index] = True
    times = None
    if label_times is not None:
        times = np.full(rows, NO_TIME, dtype=np.int64)
        times[row_index] = good["time"].to_numpy(dtype=np.int64)
    counts, delay = account(labelled, live_times, times, now_ns, label_window_s, missing_key | duplicate)
    counts |= {
        "duplicate_key": int(duplicate.sum()),
        "missing_key": int(missing_key.sum()),
        "repeated_labels": int(((grouped["times"] > 1) & ~conflicting_keys & found).sum()),
        "conflicting_labels": int((conflicting_keys & found).sum()),
        "unmatched_labels": int((~found).sum()),
        "unkeyed_labels": unkeyed,
    }
    return Labels(values, counts, delay)


def absent(rows: int, error: str) -> Labels:
    """No labels at all, because the targets source failed (``error`` says how)."""
    return Labels(np.full(rows, np.nan), {"labelled": 0, "pending": rows}, None, error)


def describe(labels: Labels) -> list[str]:
    """The join's notable counts in words, for notes (nothing when every row is simply labelled or pending)."""
    words = {
        "overdue": "live rows have no label past the label window",
        "duplicate_key": "live rows share their key with another row and were not joined",
        "missing_key": "live rows have an empty key and were not joined",
        "repeated_labels": "keys were labelled more than once with the same label (joined once)",
        "conflicting_labels": "keys were given different labels and were not joined",
        "unmatched_labels": "label keys match no live row",
        "unkeyed_labels": "label rows have an empty key",
    }
    notes = [f"{labels.counts[state]} {text}" for state, text in words.items() if labels.counts.get(state)]
    if labels.error:
        notes.insert(0, f"no labels: {labels.error}")
    return notes
