"""Broken data is not drift: 23 ways a live feed breaks, each reported by name within one
evaluation, none failing the monitor or hiding another feature's score (the table in
docs/quality.md, "Broken-data cases", is this list).

One monitor over Parquet files in a one-day window, with a healthy control feature that
no case touches: its scores must stay exactly those of the healthy feed (or, where a case
changes the row count, still be there)."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import config
from driftmon.evaluate import MonitorResult, evaluate

NOW = pd.Timestamp("2026-03-03T12:00:00Z")
FEATURES = "[amount, age, channel, control]"


def _rows(rows: int, newest_hours_ago: float, span_hours: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ago = rng.uniform(newest_hours_ago, newest_hours_ago + span_hours, rows)
    ago[0] = newest_hours_ago
    return pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, rows),
            "age": rng.integers(18, 90, rows),
            "channel": rng.choice(["web", "app", "shop"], rows, p=[0.5, 0.3, 0.2]),
            "control": rng.normal(size=rows),
            "ts": NOW - pd.to_timedelta(ago, unit="h"),
        }
    )


def _today() -> pd.DataFrame:
    return _rows(2_000, 0.1, 22, 2)


def _with(column: str, values: Callable[[pd.DataFrame], object]) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        frame = _today()
        frame[column] = values(frame)
        frame.to_parquet(folder / "today.parquet", index=False)

    return change


def _frame(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def write(folder: Path) -> None:
        change(_today()).to_parquet(folder / "today.parquet", index=False)

    return write


def _null_share(share: float) -> Callable[[pd.DataFrame], object]:
    def values(frame: pd.DataFrame) -> object:
        amount = frame["amount"].copy()
        amount.iloc[: int(share * len(frame))] = np.nan
        return amount

    return values


def _duplicated(folder: Path) -> None:
    shutil.copy(folder / "today.parquet", folder / "today-copy.parquet")


def _split_without(folder: Path) -> None:
    frame = _today()
    frame.iloc[:1_000].to_parquet(folder / "today.parquet", index=False)
    frame.iloc[1_000:].drop(columns=["channel"]).to_parquet(folder / "today-late.parquet", index=False)


def _channel(values: list[str | None], p: list[float]) -> Callable[[pd.DataFrame], object]:
    def pick(frame: pd.DataFrame) -> object:
        return np.random.default_rng(3).choice(np.array(values, dtype=object), len(frame), p=p)

    return pick


# name -> (how the live files break, a finding it must give, whether the row count is unchanged)
CASES: dict[str, tuple[Callable[[Path], None], str, bool]] = {
    "nulls appear": (_with("amount", _null_share(0.3)), "amount: missing 0.0% -> 30.0% (critical)", True),
    "a few more nulls": (_with("amount", _null_share(0.08)), "amount: missing 0.0% -> 8.0% (warning)", True),
    "all nulls": (_with("amount", _null_share(1.0)), "amount: missing 0.0% -> 100.0% (critical)", True),
    "unit change x1000": (_with("amount", lambda f: f["amount"] * 1000), "amount: above range", True),
    "negative sentinel (-1)": (
        _with("age", lambda f: np.where(np.arange(len(f)) % 3 == 0, -1, f["age"])),
        "age: below range 0.0% -> 33.4% (critical)",
        True,
    ),
    "renamed column": (_frame(lambda f: f.rename(columns={"age": "age_years"})), "schema: missing_column 'age'", True),
    "renamed column (new name)": (
        _frame(lambda f: f.rename(columns={"age": "age_years"})),
        "schema: new_column 'age_years'",
        True,
    ),
    "dropped column": (_frame(lambda f: f.drop(columns=["channel"])), "schema: missing_column 'channel'", True),
    "new column": (_with("session_id", lambda f: np.arange(len(f))), "schema: new_column 'session_id'", True),
    "integer -> text": (_with("age", lambda f: f["age"].astype(str)), "schema: type_changed 'age'", True),
    "number -> boolean": (_with("age", lambda f: f["age"] > 50), "schema: type_changed 'age'", True),
    "text -> codes": (
        _with("channel", lambda f: f["channel"].map({"web": 1, "app": 2, "shop": 3})),
        "schema: type_changed 'channel'",
        True,
    ),
    "column missing from one file": (_split_without, "1 of 2 live files lack the column (first: ", True),
    "constant column": (_with("channel", lambda f: np.full(len(f), "web")), "channel: constant", True),
    # a continuous sensor stuck at one reading: its bin is a range, not a point
    "stuck numeric column": (_with("amount", lambda f: np.full(len(f), 23.17)), "amount: constant", True),
    "new category": (
        _with("channel", _channel(["web", "app", "shop", "tv"], [0.4, 0.2, 0.1, 0.3])),
        "channel: unseen categories 0.0% -> ",
        True,
    ),
    "codes renamed (upper case)": (
        _with("channel", lambda f: f["channel"].str.upper()),
        "channel: unseen categories 0.0% -> 100.0% (critical)",
        True,
    ),
    "empty strings as nulls": (_with("channel", _channel(["web", None], [0.6, 0.4])), "channel: missing", True),
    "empty live window": (
        _frame(lambda f: f.assign(ts=f["ts"] - pd.Timedelta(days=2))),
        "volume: the live window holds no rows (critical)",
        False,
    ),
    "stalled feed": (
        _frame(lambda f: f.assign(ts=f["ts"] - pd.Timedelta(hours=3))),
        "freshness: newest live data 3h06m old, older than max_age 2h (critical)",
        False,
    ),
    "truncated load": (
        _frame(lambda f: f.iloc[:300]),
        "volume: 300 live rows, fewer than min_rows 500 (critical)",
        False,
    ),
    "feed shrank": (
        _frame(lambda f: f.iloc[:700]),
        "volume: 700 live rows, 35% of the 2,000 expected (previous)",
        False,
    ),
    "duplicated file": (_duplicated, "volume: 4,000 live rows, 2.00 x the 2,000 expected (previous)", False),
}


def _setup(folder: Path) -> Path:
    _rows(20_000, 0, 30 * 24, 1).to_parquet(folder / "ref.parquet", index=False)
    (folder / "live").mkdir()
    _rows(2_000, 24.1, 22, 4).to_parquet(folder / "live" / "yesterday.parquet", index=False)
    _today().to_parquet(folder / "live" / "today.parquet", index=False)
    (folder / "c.yaml").write_text(
        textwrap.dedent(
            f"""\
            monitors:
              - name: m
                reference: {{type: file, path: ref.parquet}}
                live: {{type: file, path: "live/*.parquet", window: {{column: ts, last: 1d}}}}
                features: {FEATURES}
                volume: {{min_rows: 500, expected: previous, max_ratio: 1.5}}
                freshness: {{max_age: 2h}}
            """
        ),
        encoding="utf-8",
    )
    return folder / "c.yaml"


def _evaluate(path: Path) -> MonitorResult:
    return evaluate(config.load(path).monitors[0], clock=lambda: NOW.timestamp())


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> MonitorResult:
    return _evaluate(_setup(tmp_path_factory.mktemp("healthy")))


def test_the_healthy_feed_has_no_finding(healthy: MonitorResult) -> None:
    """The baseline: no data-quality finding at all, every feature scored."""
    assert healthy.ok and healthy.quality_findings() == []
    assert healthy.quality_status == "ok"
    assert all(f.scores for f in healthy.features)


def test_there_are_at_least_20_cases() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", list(CASES))
def test_each_broken_feed_is_named_and_the_control_still_scored(
    tmp_path: Path, healthy: MonitorResult, case: str
) -> None:
    """One evaluation: the finding by name, the monitor up (not status error), data quality at
    warning or worse (a new column: ok), and the untouched control feature scored as on the
    healthy feed."""
    change, finding, same_rows = CASES[case]
    path = _setup(tmp_path)
    change(tmp_path / "live")
    result = _evaluate(path)
    assert result.ok, (case, result.error)
    findings = result.quality_findings()
    assert any(finding in line for line in findings), (case, findings)
    # a new column is reported and exported at `ok` by default (serving logs carry extra ids)
    assert result.quality_status in (("ok",) if case == "new column" else ("warning", "critical")), case
    control = {f.feature: f for f in result.features}["control"]
    baseline = {f.feature: f for f in healthy.features}["control"]
    if result.live_rows:
        assert control.scores, case  # never hidden by another feature's breakage
    if same_rows:
        assert control.scores == baseline.scores, case
