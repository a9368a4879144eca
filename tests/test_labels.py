"""Late labels: a separate targets source joined to the live predictions on a key. Every live
row is accounted for (labelled, pending, overdue, duplicate or empty key), label keys that
repeat, conflict or match nothing are counted, and nothing is joined twice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import config, labels
from driftmon.errors import ConfigError
from driftmon.evaluate import evaluate
from driftmon.results import MonitorState, Snapshot

metrics = pytest.importorskip("sklearn.metrics")

NOW = pd.Timestamp("2026-12-03 12:00", tz="UTC")
CONFIG = """
monitors:
  - name: churn
    min_samples: 50
    reference: {{type: file, path: ref.parquet}}
    live: {{type: file, path: live.parquet, window: {{column: ts, last: 30d}}}}
    features: [x]
    model:
      task: binary
      prediction: predicted
      score: p
      target: churned
      targets: {targets}
      key: {key}
      label_window: 7d
"""


def test_join_accounts_for_every_row_and_key() -> None:
    """Five live rows and six label rows: one labelled, one repeated with the same label (joined
    once), one conflicting (not joined), a duplicate live key (not joined), an empty key, and a
    label matching nothing; the counts are those written out by hand."""
    live_keys = np.array([1, 2, 3, 4, 4, np.nan])
    label_keys = np.array([1.0, 2.0, 2.0, 3.0, 3.0, 9.0, 4.0, np.nan])
    values = np.array([1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    joined = labels.join([live_keys], [label_keys], values)
    np.testing.assert_array_equal(joined.values, [1.0, 0.0, np.nan, np.nan, np.nan, np.nan])
    assert joined.counts == {
        "labelled": 2,
        "pending": 1,
        "overdue": 0,
        "duplicate_key": 2,
        "missing_key": 1,
        "repeated_labels": 1,
        "conflicting_labels": 1,
        "unmatched_labels": 1,
        "unkeyed_labels": 1,
    }
    assert sum(joined.counts[state] for state in labels.LIVE_STATES) == len(live_keys)


def test_join_equals_a_pandas_oracle_on_random_keys() -> None:
    """Random two-column keys with repeats, conflicts, empties and orphans on both sides: every
    joined label and every count is what pandas' groupby and merge say (written out here)."""
    rng = np.random.default_rng(11)
    live = pd.DataFrame({"a": rng.integers(0, 40, 3_000).astype(float), "b": rng.choice(list("xyz"), 3_000)})
    live.loc[rng.random(3_000) < 0.02, "a"] = np.nan
    table = pd.DataFrame(
        {
            "a": rng.integers(0, 45, 2_000).astype(float),
            "b": rng.choice(list("xyzw"), 2_000),
            "label": rng.integers(0, 2, 2_000).astype(float),
        }
    )
    table.loc[rng.random(2_000) < 0.02, "b"] = None
    joined = labels.join(
        [live.a.to_numpy(), live.b.to_numpy(dtype=object)],
        [table.a.to_numpy(), table.b.to_numpy(dtype=object)],
        table.label.to_numpy(),
    )
    keyed = table.dropna(subset=["a", "b"])
    groups = keyed.groupby(["a", "b"]).label.agg(["size", "nunique", "first"]).reset_index()
    live_keys = live.dropna(subset=["a", "b"])
    unique = live_keys.drop_duplicates(["a", "b"], keep=False)
    merged = unique.reset_index().merge(groups[groups["nunique"] == 1], on=["a", "b"])
    expected = np.full(len(live), np.nan)
    expected[merged["index"].to_numpy()] = merged["first"].to_numpy()
    np.testing.assert_array_equal(joined.values, expected)
    seen = groups.merge(live_keys[["a", "b"]].drop_duplicates(), on=["a", "b"], how="left", indicator=True)
    found = seen["_merge"] == "both"
    assert joined.counts["labelled"] == len(merged)
    assert joined.counts["duplicate_key"] == len(live_keys) - len(unique)
    assert joined.counts["missing_key"] == len(live) - len(live_keys)
    assert joined.counts["conflicting_labels"] == int(((seen["nunique"] > 1) & found).sum())
    assert joined.counts["repeated_labels"] == int(((seen["size"] > 1) & (seen["nunique"] == 1) & found).sum())
    assert joined.counts["unmatched_labels"] == int((~found).sum())
    assert joined.counts["unkeyed_labels"] == len(table) - len(keyed)


def test_keys_of_several_columns_and_of_text_and_numbers_match() -> None:
    """A key of two columns joins on both; ``7`` in one source matches ``"7"`` in the other."""
    joined = labels.join(
        [np.array(["a", "a", "b"], dtype=object), np.array([7, 8, 7])],
        [np.array(["a", "b", "a"], dtype=object), np.array(["7", "7", "8"], dtype=object)],
        np.array(["yes", "no", "maybe"], dtype=object),
    )
    assert list(joined.values) == ["yes", "maybe", "no"]
    assert joined.counts["labelled"] == 3 and joined.counts["unmatched_labels"] == 0


def test_pending_overdue_and_the_newest_labels_delay() -> None:
    """Unlabelled predictions older than the label window are overdue, younger ones pending; the
    delay is that of the label that arrived last, behind its own prediction."""
    hour = 3_600 * 10**9
    now = 100 * hour
    live_times = np.array([now - 200 * hour, now - 50 * hour, now - 10 * hour, now - hour], dtype=np.int64)
    joined = labels.join(
        [np.array([1, 2, 3, 4])],
        [np.array([1, 2])],
        np.array([0.0, 1.0]),
        live_times=live_times,
        label_times=np.array([now - 150 * hour, now - 20 * hour], dtype=np.int64),
        now_ns=now,
        label_window_s=24 * 3_600,
    )
    assert joined.counts["labelled"] == 2 and joined.counts["overdue"] == 0 and joined.counts["pending"] == 2
    assert joined.delay_seconds == pytest.approx(30 * 3_600)
    later = labels.join(
        [np.array([1, 2, 3, 4])],
        [np.array([1])],
        np.array([0.0]),
        live_times=live_times,
        now_ns=now,
        label_window_s=24 * 3_600,
    )
    assert later.counts == later.counts | {"labelled": 1, "overdue": 1, "pending": 2}
    assert later.delay_seconds is None  # no label times


def _frames(tmp_path: Path, rows: int = 3_000, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)

    def side(n: int, width: float) -> pd.DataFrame:
        x = rng.normal(0, width, n)
        p = 1 / (1 + np.exp(-2 * x))
        return pd.DataFrame({"x": x, "p": p, "predicted": (p >= 0.5).astype(int), "churned": (rng.random(n) < p) * 1.0})

    side(20_000, 1.0).to_parquet(tmp_path / "ref.parquet")
    live = side(rows, 0.3)
    live["id"] = np.arange(rows)
    live["ts"] = NOW - pd.to_timedelta(rng.uniform(0, 20, rows), unit="D")
    return live, live.sample(frac=0.4, random_state=seed)


def _check(
    tmp_path: Path,
    write: Callable[[str, str], Path],
    targets: str = "{type: file, path: targets.parquet}",
    key: str = "id",
) -> tuple[config.MonitorConfig, object]:
    monitor = config.load(write("driftmon.yaml", CONFIG.format(targets=targets, key=key))).monitors[0]
    return monitor, evaluate(monitor, clock=lambda: NOW.timestamp())


def test_labels_from_a_targets_file_give_realized_performance(tmp_path: Path, write) -> None:
    """40 % of the predictions get a label in a separate file, in another order, with the time it
    arrived: realized metrics equal scikit-learn's on exactly those rows, unlabelled rows are still
    estimated, counts and the delay reach the JSON and the series."""
    from test_exporter import scrape, values

    live, labelled = _frames(tmp_path)
    live.drop(columns="churned").to_parquet(tmp_path / "live.parquet")
    arrived = labelled.ts + pd.to_timedelta(np.linspace(1, 5, len(labelled)), unit="D")
    targets = pd.DataFrame({"id": labelled.id, "churned": labelled.churned, "arrived": arrived})
    targets.sample(frac=1.0, random_state=3).to_parquet(tmp_path / "targets.parquet")
    _, result = _check(tmp_path, write, "{type: file, path: targets.parquet}\n      label_time: arrived")
    assert result.error is None, result.error
    model = result.model
    assert model.live_rows == len(live) and model.labelled_rows == len(labelled)
    assert model.realized.values["roc_auc"] == pytest.approx(
        metrics.roc_auc_score(labelled.churned, labelled.p), abs=1e-12
    )
    assert model.realized.values["f1"] == pytest.approx(
        metrics.f1_score(labelled.churned, labelled.predicted), abs=1e-12
    )
    assert model.estimated is not None and model.estimated.rows == len(live)
    unlabelled = live[~live.id.isin(labelled.id)]
    overdue = int((NOW - unlabelled.ts > pd.Timedelta(days=7)).sum())
    assert model.label_counts["overdue"] == overdue and model.label_counts["pending"] == len(unlabelled) - overdue
    newest = targets.arrived.idxmax()
    assert model.label_delay_seconds == pytest.approx((targets.arrived[newest] - labelled.ts[newest]).total_seconds())
    document = result.to_json()["model"]
    assert document["labels"]["counts"]["labelled"] == len(labelled) and document["realized_absent"] is None
    families = scrape(Snapshot(1, (MonitorState("churn", latest=result, scored=result),)))
    delay = values(families["driftmon_label_delay_seconds"])
    assert delay[(("monitor", "churn"),)] == pytest.approx(model.label_delay_seconds)
    states = values(families["driftmon_label_join"])
    assert states[(("monitor", "churn"), ("state", "overdue"))] == overdue
    assert states[(("monitor", "churn"), ("state", "conflicting_labels"))] == 0


def test_bad_labels_are_counted_and_never_joined_twice(tmp_path: Path, write) -> None:
    """A label given twice (same value) joins once, a key given two different labels is not
    joined, a label whose key matches nothing and a label of a class the reference never had
    are counted; realized metrics are over the cleanly joined rows only."""
    live, labelled = _frames(tmp_path, seed=2)
    live.drop(columns="churned").to_parquet(tmp_path / "live.parquet")
    targets = labelled[["id", "churned"]].copy()
    targets = pd.concat([targets, targets.iloc[:5]])  # repeated, same label
    conflicting = targets.iloc[5:8].assign(churned=1.0 - targets.churned.iloc[5:8])
    orphans = pd.DataFrame({"id": [10**6, 10**6 + 1], "churned": [1.0, 0.0]})
    targets = pd.concat([targets, conflicting, orphans])
    targets.loc[targets.id == labelled.id.iloc[10], "churned"] = 7.0  # a class the reference never had
    targets.to_parquet(tmp_path / "targets.parquet")
    _, result = _check(tmp_path, write)
    model = result.model
    counts = model.label_counts
    assert counts["repeated_labels"] == 5 and counts["conflicting_labels"] == 3 and counts["unmatched_labels"] == 2
    assert counts["unknown_class"] == 1
    assert model.labelled_rows == len(labelled) - 3 - 1 == counts["labelled"]
    clean = labelled[~labelled.id.isin([*labelled.id.iloc[5:8], labelled.id.iloc[10]])]
    assert model.realized.values["accuracy"] == pytest.approx(
        metrics.accuracy_score(clean.churned, clean.predicted), abs=1e-12
    )
    assert "3 keys were given different labels and were not joined" in model.notes


def test_a_targets_source_that_is_down_keeps_the_estimate(tmp_path: Path, write) -> None:
    """The targets file is missing: the evaluation does not fail, the estimate is there, realized
    is absent with the reason, and the series say the labels are down instead of exporting NaN."""
    from test_exporter import scrape, values

    live, _ = _frames(tmp_path, seed=3)
    live.drop(columns="churned").to_parquet(tmp_path / "live.parquet")
    _, result = _check(tmp_path, write)
    assert result.error is None and result.status != "error"
    model = result.model
    assert model.estimated is not None and model.realized is None
    assert model.labels_error and "targets.parquet" in model.labels_error
    assert model.realized_absent.startswith("the targets source failed")
    families = scrape(Snapshot(1, (MonitorState("churn", latest=result, scored=result),)))
    assert values(families["driftmon_label_source_up"])[(("monitor", "churn"),)] == 0.0
    assert not any(kind == "realized" for (kind, *_), _v in values(families["driftmon_model_performance"]).items())
    for family in families.values():
        for sample in family.samples:
            assert sample.value == sample.value, (family.name, sample)  # no NaN


def test_late_label_config_is_checked(write) -> None:
    """targets without key (or key without targets) is a config error saying what to add."""
    base = "monitors:\n  - name: m\n    reference: {type: file, path: r.csv}\n    live: {type: file, path: l.csv}\n    features: [x]\n"
    with pytest.raises(ConfigError, match="targets: needs key"):
        config.load(
            write(
                "a.yaml",
                base + "    model: {task: binary, prediction: y, target: t, targets: {type: file, path: t.csv}}\n",
            )
        )
    with pytest.raises(ConfigError, match="give targets: too"):
        config.load(write("b.yaml", base + "    model: {task: binary, prediction: y, target: t, key: id}\n"))


def test_pages_check_and_report_show_the_model_and_why_realized_is_absent(tmp_path: Path, write) -> None:
    """The monitor page and the report have a model table (estimate, band, reference); with the
    targets source down, the page and check's table say why there is no realized performance."""
    import io

    from driftmon.pages import PageSettings, render, report, snapshot_of
    from driftmon.table import write as write_table

    live, _ = _frames(tmp_path, seed=4)
    live.drop(columns="churned").to_parquet(tmp_path / "live.parquet")
    _, result = _check(tmp_path, write)
    snapshot = snapshot_of([result])
    _, _, body = render("/monitors/churn", snapshot, PageSettings(), now=NOW.timestamp())
    page = body.decode()
    assert "Model of churn" in page and "roc_auc" in page
    assert f"{result.model.estimated.values['roc_auc']:.4f}" in page
    assert "No realized performance: the targets source failed" in page and "targets.parquet" in page
    assert "Model of churn" in report(snapshot, PageSettings(), now=NOW.timestamp())
    out = io.StringIO()
    write_table([result], out)
    assert "realized: none, the targets source failed" in out.getvalue()


@pytest.mark.parametrize(
    "values",
    [
        np.array([7, 3, 7, 1_000_000_000_007, 3, -2]),  # a wide span: sorted codes
        np.array([5, 3, 5, 4, 3, 9]),  # a small span: the lookup table
        np.array([0.5, np.nan, -0.0, 0.0, 0.5, 2.0]),
        np.array(["2024-01-02", "NaT", "2024-01-01", "2024-01-02"], dtype="datetime64[ns]"),
        np.array(["b", None, "a", "b", 7, 7.0], dtype=object),
    ],
)
def test_factorize_and_present_agree_with_pandas(values: np.ndarray) -> None:
    """Codes name the same values as pandas' factorize (-1 for none), and `present` is pd.notna."""
    codes, uniques = labels.factorize(values)
    expected_codes, expected_uniques = pd.factorize(values, use_na_sentinel=True)
    assert np.array_equal(codes < 0, expected_codes < 0)
    assert np.array_equal(labels.present(values), pd.notna(values))
    kept = codes >= 0
    assert list(pd.Series(uniques[codes[kept]])) == list(pd.Series(expected_uniques[expected_codes[kept]]))
    assert len(uniques) == len(expected_uniques)


OBJECTS = [
    ["a", "b", None, "a", float("nan"), "c", "b"],
    [1, 1.0, True, "1", None, 2, "x"],
    ["only"],
    [None, None],
    [],
    [np.datetime64("NaT"), "t", "t"],
    [("a", 1), ("a", 1), None],
]


@pytest.mark.parametrize("index", range(len(OBJECTS)))
def test_objects_are_factorized_as_pandas_does_without_it(index: int) -> None:
    """A check that never imported pandas codes its text labels in numpy: the same codes and values."""
    import pandas as pd

    from driftmon.labels import _factorize_objects, _present_objects

    values = np.empty(len(OBJECTS[index]), dtype=object)
    values[:] = OBJECTS[index]
    expected_codes, expected_uniques = pd.factorize(values, use_na_sentinel=True)
    codes, uniques = _factorize_objects(values)
    assert codes.tolist() == expected_codes.tolist()
    assert uniques.tolist() == list(expected_uniques)
    assert _present_objects(values).tolist() == pd.notna(values).tolist()
    assert _present_objects(np.array([pd.NA, "a"], dtype=object)) is None  # pandas tells then
