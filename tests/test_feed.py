"""Volume and freshness (driftmon.feed): whole evaluations of file, SQL and histogram sources
whose feed stalls, empties, shrinks or doubles, the expected rows by hand, and the series."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import config
from driftmon.errors import ConfigError
from driftmon.evaluate import MonitorResult, evaluate
from driftmon.exposition import Exposition
from driftmon.results import MonitorState, Snapshot

NOW = pd.Timestamp("2026-03-03T12:00:00Z")


def _exposed(result: MonitorResult) -> str:
    state = MonitorState(result.monitor, latest=result, scored=result)
    body, _ = Exposition(lambda: Snapshot(1, (state,))).render(None)
    return body.decode()


def _frame(rows: int, newest_hours_ago: float, span_hours: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ago = rng.uniform(newest_hours_ago, newest_hours_ago + span_hours, rows)
    ago[0] = newest_hours_ago  # the newest row, exactly
    return pd.DataFrame({"x": rng.normal(size=rows), "ts": NOW - pd.to_timedelta(ago, unit="h")})


def _monitor(tmp_path: Path, live: str, extra: str = "", reference: str = "{type: file, path: ref.parquet}"):
    (tmp_path / "c.yaml").write_text(
        textwrap.dedent(
            f"""\
            monitors:
              - name: m
                reference: {reference}
                live: {live}
                features: [x]
            """
        )
        + textwrap.indent(textwrap.dedent(extra), "    "),
        encoding="utf-8",
    )
    return config.load(tmp_path / "c.yaml").monitors[0]


@pytest.fixture
def reference(tmp_path: Path) -> pd.DataFrame:
    frame = _frame(30_000, 0, 30 * 24, 1)  # 1,000 rows a day for 30 days
    frame.to_parquet(tmp_path / "ref.parquet", index=False)
    return frame


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_stalled_feed_is_stale_by_the_window_column(tmp_path: Path, reference: pd.DataFrame, suffix: str) -> None:
    """The newest live row is 3 h old against max_age 2h: freshness critical, its time exported;
    at 1 h old it is ok. The drift score is unaffected."""
    for hours, expected in ((3.0, "critical"), (1.0, "ok")):
        live = _frame(2_000, hours, 20, 2)
        path = tmp_path / f"live.{suffix}"
        if suffix == "csv":
            live.to_csv(path, index=False)
        elif suffix == "parquet":
            live.to_parquet(path, index=False)
        else:
            live.to_json(path, orient="records", lines=True, date_format="iso")
        monitor = _monitor(
            tmp_path,
            f"{{type: file, path: live.{suffix}, window: {{column: ts, last: 1d}}}}",
            "freshness: {max_age: 2h}\n",
        )
        result = evaluate(monitor, clock=lambda: NOW.timestamp())
        assert result.ok, result.error
        assert result.feed is not None and result.feed.freshness == expected
        newest = live["ts"].max().timestamp()
        assert result.feed.newest == pytest.approx(newest, abs=1e-3)
        assert result.feed.age_s == pytest.approx(hours * 3600, abs=1e-3)
        assert result.features[0].scores  # still scored
        text = _exposed(result)
        assert (
            f'driftmon_quality_alert{{check="freshness",monitor="m",severity="critical"}} {float(expected == "critical")}'
            in text
        )
        assert 'driftmon_live_newest_timestamp_seconds{monitor="m"}' in text
        if expected == "critical":
            assert result.status == "critical"
            assert (
                "freshness: newest live data 3h00m old, older than max_age 2h (critical)" in result.quality_findings()
            )


def test_rows_after_the_window_end_do_not_count_as_fresh(tmp_path: Path, reference: pd.DataFrame) -> None:
    """A file that also holds rows from the future: the newest row inside the window is used."""
    live = _frame(1_000, 5, 10, 3)
    live.loc[1, "ts"] = NOW + pd.Timedelta(hours=1)  # a clock-skewed producer
    live.to_parquet(tmp_path / "live.parquet", index=False)
    monitor = _monitor(
        tmp_path, "{type: file, path: live.parquet, window: {column: ts, last: 1d}}", "freshness: {max_age: 2h}\n"
    )
    result = evaluate(monitor, clock=lambda: NOW.timestamp())
    assert result.feed.freshness == "critical" and result.feed.age_s == pytest.approx(5 * 3600, abs=1e-3)


def test_without_a_window_the_newest_file_mtime_is_used(tmp_path: Path, reference: pd.DataFrame) -> None:
    """No window: the newest live file's modification time (os.utime set 3 h back, then now)."""
    (tmp_path / "live").mkdir()
    for i in range(2):
        _frame(500, 0, 5, 4 + i).to_parquet(tmp_path / "live" / f"p{i}.parquet", index=False)
    stamp = NOW.timestamp() - 3 * 3600
    for i in range(2):
        os.utime(tmp_path / "live" / f"p{i}.parquet", (stamp - i, stamp - i))
    monitor = _monitor(tmp_path, '{type: file, path: "live/*.parquet"}', "freshness: {max_age: 2h}\n")
    result = evaluate(monitor, clock=lambda: NOW.timestamp())
    assert result.feed.newest == pytest.approx(stamp) and result.feed.freshness == "critical"
    os.utime(tmp_path / "live" / "p1.parquet", (NOW.timestamp() - 60, NOW.timestamp() - 60))
    assert evaluate(monitor, clock=lambda: NOW.timestamp()).feed.freshness == "ok"


def test_an_empty_live_window_is_a_volume_finding_not_an_error(tmp_path: Path, reference: pd.DataFrame) -> None:
    """The feed stopped longer than the window: volume critical ("holds no rows"), freshness
    critical with no time, the feature not judged, the monitor up (it was status error)."""
    _frame(1_000, 5, 10, 5).to_csv(tmp_path / "live.csv", index=False)
    monitor = _monitor(
        tmp_path, "{type: file, path: live.csv, window: {column: ts, last: 2h}}", "freshness: {max_age: 2h}\n"
    )
    result = evaluate(monitor, clock=lambda: NOW.timestamp())
    assert result.ok and result.status == "critical"
    assert result.feed.volume == "critical" and result.feed.reason == "the live window holds no rows"
    assert result.feed.newest is None and result.feed.freshness == "critical"
    assert result.features[0].worst == "insufficient_data"
    assert result.quality_findings()[:2] == [
        "volume: the live window holds no rows (critical)",
        "freshness: no live data with a time, older than max_age 2h (critical)",
    ]
    text = _exposed(result)
    assert 'driftmon_quality_alert{check="volume",monitor="m",severity="critical"} 1.0' in text
    assert 'driftmon_live_rows{monitor="m"} 0.0' in text
    # quality: null keeps the old behaviour: a window that selected no rows fails the evaluation
    off = _monitor(tmp_path, "{type: file, path: live.csv, window: {column: ts, last: 2h}}", "quality: null\n")
    failed = evaluate(off, clock=lambda: NOW.timestamp())
    assert failed.status == "error" and "selected no rows" in (failed.error or "")


def test_volume_against_the_reference_rate(tmp_path: Path, reference: pd.DataFrame) -> None:
    """The reference: 30,000 rows over 30 days, so a 1 d window expects 1,000 rows. 300 rows
    is 30 % (< min_ratio 0.5: warning), 2,400 is 2.4 x (> max_ratio 2: a file counted twice),
    1,000 is ok; the expectation is exported."""
    for rows, severity in ((300, "warning"), (2_400, "warning"), (1_000, "ok")):
        _frame(rows, 0.5, 23, 6).to_parquet(tmp_path / "live.parquet", index=False)
        monitor = _monitor(
            tmp_path,
            "{type: file, path: live.parquet, window: {column: ts, last: 1d}}",
            "volume: {expected: reference, reference_span: 30d}\n",
        )
        result = evaluate(monitor, clock=lambda: NOW.timestamp())
        assert result.feed.expected_rows == pytest.approx(30_000 / 30)
        assert result.feed.volume == severity, (rows, result.feed)
        assert result.volume == severity
        assert 'driftmon_live_rows_expected{monitor="m"} 1000.0' in _exposed(result)
    low = _frame(300, 0.5, 23, 6)
    low.to_parquet(tmp_path / "live.parquet", index=False)
    result = evaluate(monitor, clock=lambda: NOW.timestamp())
    assert result.feed.reason == "300 live rows, 30% of the 1,000 expected (reference)"


def test_a_duplicated_file_against_the_previous_window(tmp_path: Path, reference: pd.DataFrame) -> None:
    """expected: previous counts the same window one period back: a day file copied twice into
    today's folder doubles the rows (2.0 x, warning at max_ratio 1.5)."""
    (tmp_path / "live").mkdir()
    yesterday = _frame(1_000, 24.5, 23, 7)
    today = _frame(1_000, 0.5, 23, 8)
    yesterday.to_parquet(tmp_path / "live" / "yesterday.parquet", index=False)
    today.to_parquet(tmp_path / "live" / "today.parquet", index=False)
    today.to_parquet(tmp_path / "live" / "today-copy.parquet", index=False)
    monitor = _monitor(
        tmp_path,
        '{type: file, path: "live/*.parquet", window: {column: ts, last: 1d}}',
        "volume: {expected: previous, max_ratio: 1.5}\n",
    )
    result = evaluate(monitor, clock=lambda: NOW.timestamp())
    assert result.feed.expected_rows == 1_000 and result.feed.live_rows == 2_000
    assert result.feed.volume == "warning" and "2.00 x the 1,000 expected (previous)" in (result.feed.reason or "")


def test_ratio_settings_are_checked_at_load(tmp_path: Path, reference: pd.DataFrame) -> None:
    """volume.expected without a live window, or expected: reference without the reference's
    span: a config error naming the key."""
    with pytest.raises(ConfigError, match="give the live source a window"):
        _monitor(tmp_path, "{type: file, path: ref.parquet}", "volume: {expected: previous}\n")
    with pytest.raises(ConfigError, match=r"volume\.reference_span"):
        _monitor(
            tmp_path,
            "{type: file, path: ref.parquet, window: {column: ts, last: 1d}}",
            "volume: {expected: reference}\n",
        )


def test_sql_freshness_is_one_max_query(tmp_path: Path, reference: pd.DataFrame) -> None:
    """A DuckDB live query: the newest window-column time comes from the engine, as a time."""
    pytest.importorskip("duckdb")
    _frame(2_000, 3, 20, 9).to_parquet(tmp_path / "live.parquet", index=False)
    live = (
        "{type: sql, url: 'duckdb:///:memory:', query: \"SELECT * FROM read_parquet('live.parquet')\", "
        "window: {column: ts, last: 1d}}"
    )
    monitor = _monitor(tmp_path, live, "freshness: {max_age: 2h}\n")
    result = evaluate(monitor, clock=lambda: NOW.timestamp())
    assert result.ok, result.error
    assert result.feed.age_s == pytest.approx(3 * 3600, abs=1e-3) and result.feed.freshness == "critical"


def test_histogram_file_freshness_is_its_mtime(tmp_path: Path, reference: pd.DataFrame) -> None:
    """A histogram file (written by the serving process) is as new as its modification time."""
    from driftmon.evaluate import profile_reference
    from driftmon.histogram_file import to_document

    monitor = _monitor(tmp_path, "{type: file, path: ref.parquet}")
    import json

    (tmp_path / "live.json").write_text(json.dumps(to_document(profile_reference(monitor))))
    stamp = NOW.timestamp() - 600
    os.utime(tmp_path / "live.json", (stamp, stamp))
    histogram = _monitor(tmp_path, "{type: histogram, path: live.json}", "freshness: {max_age: 5m}\n")
    result = evaluate(histogram, clock=lambda: NOW.timestamp())
    assert result.feed.newest == pytest.approx(stamp) and result.feed.freshness == "critical"
