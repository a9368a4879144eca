"""References that move: a rolling or seasonal window of the live source, frozen bins, the info series."""

from __future__ import annotations

import itertools
import json
import pickle
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import config, workers
from driftmon.errors import ConfigError
from driftmon.evaluate import INSUFFICIENT, OK, MonitorResult, ReferenceCache, evaluate
from driftmon.exporter import MONITOR_METRICS
from driftmon.histogram import NumericBins
from driftmon.histogram_file import to_document
from driftmon.reference import profile_reference
from driftmon.results import MonitorState
from driftmon.sources.file_cache import FileCache

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=12, hours=6)


def stream(days: int = 14, rows: int = 40_000, seed: int = 0) -> pd.DataFrame:
    """Rows spread over ``days`` from T0: a numeric x that grows with time, a category."""
    rng = np.random.default_rng(seed)
    seconds = np.sort(rng.integers(0, days * 86400, rows))
    ts = pd.Timestamp(T0) + pd.to_timedelta(seconds, unit="s")
    return pd.DataFrame(
        {"ts": ts, "x": rng.normal(seconds / 86400 / 10, 1.0), "city": rng.choice(["a", "b", "c"], rows)}
    )


def load(
    folder: Path,
    reference: str,
    live: str = "{type: file, path: data.parquet, window: {column: ts, last: 1d}}",
    extra: str = "",
) -> config.MonitorConfig:
    text = f"""\
monitors:
  - name: m
    reference: {reference}
    live: {live}
    features: [x, city]
    measures: [js, psi]
    min_samples: 10
{extra}"""
    (folder / "m.yaml").write_text(text, encoding="utf-8")
    return config.load(folder / "m.yaml").monitors[0]


def at(moment: datetime) -> dict[str, object]:
    return {"clock": lambda: moment.timestamp()}


def rows_between(frame: pd.DataFrame, since: datetime, until: datetime) -> pd.DataFrame:
    return frame[(frame.ts >= pd.Timestamp(since)) & (frame.ts < pd.Timestamp(until))]


def hourly(folder: Path, frame: pd.DataFrame, name: str = "%H.parquet") -> None:
    """``frame`` as one file per hour in ``folder/hours``, named by ``name`` (a strftime pattern)."""
    (folder / "hours").mkdir()
    for hour, part in frame.groupby(frame.ts.dt.floor("h")):
        path = folder / "hours" / f"{hour:{name}}"
        part.to_csv(path, index=False) if path.suffix == ".csv" else part.to_parquet(path, index=False)


def scores(result: MonitorResult) -> dict[str, dict[str, float]]:
    assert result.error is None, result.error
    return {f.feature: dict(f.scores) for f in result.features}


def test_rolling_reference_equals_a_static_reference_of_the_same_rows(tmp_path: Path) -> None:
    """A rolling 7d reference ending where the 1d live window starts scores exactly as a static
    file holding those rows (pandas picks them), on both measures and both features."""
    frame = stream()
    frame.to_parquet(tmp_path / "data.parquet", index=False)
    live_start = NOW - timedelta(days=1)
    rows_between(frame, live_start - timedelta(days=7), live_start).to_parquet(tmp_path / "ref.parquet", index=False)
    moving = evaluate(load(tmp_path, "{from: live, window: 7d}"), **at(NOW))
    static = evaluate(load(tmp_path, "{type: file, path: ref.parquet}"), **at(NOW))
    assert scores(moving) == scores(static)
    assert moving.features[0].reference_count == len(rows_between(frame, live_start - timedelta(days=7), live_start))
    assert moving.reference is not None and moving.reference.labels() == {
        "reference": "rolling",
        "since": "2026-03-05T06:00:00Z",
        "until": "2026-03-12T06:00:00Z",
    }
    assert static.reference is not None and static.reference.labels() == {
        "reference": "static",
        "since": "",
        "until": "",
    }


def test_offset_moves_a_rolling_reference_further_back(tmp_path: Path) -> None:
    frame = stream()
    frame.to_parquet(tmp_path / "data.parquet", index=False)
    result = evaluate(load(tmp_path, "{from: live, window: 2d, offset: 3d}"), **at(NOW))
    until = NOW - timedelta(days=4)
    assert result.reference is not None and (result.reference.since, result.reference.until) == (
        until - timedelta(days=2),
        until,
    )
    assert result.features[0].reference_count == len(rows_between(frame, until - timedelta(days=2), until))


def test_seasonal_reference_is_the_live_window_one_period_back(tmp_path: Path) -> None:
    frame = stream()
    frame.to_parquet(tmp_path / "data.parquet", index=False)
    result = evaluate(load(tmp_path, "{from: live, seasonal: 1w}"), **at(NOW))
    since, until = NOW - timedelta(days=8), NOW - timedelta(days=7)
    assert result.reference is not None and (result.reference.kind, result.reference.since) == ("seasonal", since)
    assert result.features[1].reference_count == len(rows_between(frame, since, until))
    assert result.to_json()["reference"] == {
        "kind": "seasonal",
        "since": "2026-03-05T06:00:00Z",
        "until": "2026-03-06T06:00:00Z",
    }


def test_bins_stay_frozen_from_the_first_reference(tmp_path: Path) -> None:
    """Later windows are counted in the first window's bins (by hand with numpy: the counts of
    the new window's rows between the frozen edges), not re-binned: scores stay comparable."""
    frame = stream()
    frame.to_parquet(tmp_path / "data.parquet", index=False)
    monitor = load(tmp_path, "{from: live, window: 2d}")
    cache = ReferenceCache()
    first = evaluate(monitor, cache, **at(NOW))
    entry = cache.entry("m")
    assert entry is not None and first.error is None
    spec = entry.histograms["x"].spec
    assert isinstance(spec, NumericBins)
    later = NOW + timedelta(days=1, hours=5)
    second = evaluate(monitor, cache, **at(later))
    assert second.error is None
    held = cache.entry("m")
    assert held is not None and held.histograms["x"].spec == spec
    until = later - timedelta(days=1)
    values = rows_between(frame, until - timedelta(days=2), until).x.to_numpy()
    edges = np.asarray(spec.edges)
    expected = [(values < edges[0]).sum()]
    expected += [((values >= a) & (values < b)).sum() for a, b in itertools.pairwise(edges[:-1])]
    expected += [((values >= edges[-2]) & (values <= edges[-1])).sum(), (values > edges[-1]).sum()]
    assert held.histograms["x"].counts.tolist() == expected
    fresh = ReferenceCache()
    rebinned = evaluate(monitor, fresh, **at(later))  # a new daemon: bins from the then-current window
    fresh_entry = fresh.entry("m")
    assert fresh_entry is not None and fresh_entry.histograms["x"].spec != spec
    assert scores(rebinned) != scores(second)


def test_bins_from_a_profile_file(tmp_path: Path) -> None:
    """`bins:` freezes the bins of a histogram file (driftmon profile), whatever the first window."""
    stream().to_parquet(tmp_path / "data.parquet", index=False)
    profiled = load(tmp_path, "{from: live, window: 2d}")
    histograms = profile_reference(profiled, NOW - timedelta(days=6))
    (tmp_path / "bins.json").write_text(json.dumps(to_document(histograms)))
    monitor = load(tmp_path, "{from: live, window: 2d, bins: bins.json}")
    cache = ReferenceCache()
    assert evaluate(monitor, cache, **at(NOW)).error is None
    entry = cache.entry("m")
    assert entry is not None and entry.histograms["x"].spec == histograms["x"].spec
    # A new profile in the file (driftmon profile again): the next evaluation counts in its bins, no restart.
    newer = profile_reference(profiled, NOW - timedelta(days=2))
    assert newer["x"].spec != histograms["x"].spec
    (tmp_path / "bins.json").write_text(json.dumps(to_document(newer)))
    assert evaluate(monitor, cache, **at(NOW + timedelta(minutes=5))).error is None
    entry = cache.entry("m")
    assert entry is not None and entry.histograms["x"].spec == newer["x"].spec


def test_driftmon_profile_of_a_moving_reference_then_a_reload_counts_in_its_bins(tmp_path: Path) -> None:
    """`driftmon profile --monitor m` bins the moving reference's current window (the clock's:
    the rows end now); a reload with `bins:` pointing at it counts a later window in those bins,
    not in the later window's own."""
    from driftmon.cli import main

    frame = stream(days=4, rows=8_000)
    frame["ts"] += pd.Timestamp.now(tz=UTC).floor("s") - frame.ts.max()
    frame.to_parquet(tmp_path / "data.parquet", index=False)
    load(tmp_path, "{from: live, window: 2d}")
    assert main(["profile", "-c", str(tmp_path / "m.yaml"), "--monitor", "m", "-o", str(tmp_path / "bins.json")]) == 0
    written = json.loads((tmp_path / "bins.json").read_text())
    later = {"clock": lambda: pd.Timestamp.now(tz=UTC).timestamp() + 86400}  # a day on: another window
    unfrozen = ReferenceCache()
    evaluate(load(tmp_path, "{from: live, window: 2d}"), unfrozen, **later)
    own = unfrozen.entry("m")
    assert own is not None and list(own.histograms["x"].spec.edges) != written["features"]["x"]["edges"]
    monitor = load(tmp_path, "{from: live, window: 2d, bins: bins.json}")  # the reload: the config read again
    cache = ReferenceCache()
    result = evaluate(monitor, cache, **later)
    assert result.error is None and result.reference is not None and result.reference.kind == "rolling"
    entry = cache.entry("m")
    assert entry is not None
    spec = entry.histograms["x"].spec
    assert isinstance(spec, NumericBins) and list(spec.edges) == written["features"]["x"]["edges"]


def test_a_moving_reference_with_no_rows_yet_is_insufficient_data(tmp_path: Path) -> None:
    """Before a week of data exists, a seasonal reference has nothing: insufficient_data, the window
    named; later, with bins frozen, an empty window again says so (never an error or NaN)."""
    frame = stream()
    frame.to_parquet(tmp_path / "data.parquet", index=False)
    monitor = load(tmp_path, "{from: live, seasonal: 1w}")
    early = evaluate(monitor, **at(T0 + timedelta(days=2)))
    assert early.status == INSUFFICIENT and early.error is None
    for feature in early.features:
        assert not feature.sufficient and feature.scores == {}
        assert feature.reason is not None
        assert "seasonal reference [2026-02-23T00:00:00Z, 2026-02-24T00:00:00Z) has no rows yet" in feature.reason
    assert early.features[0].live_count > 0
    gap = frame[(frame.ts < pd.Timestamp(T0 + timedelta(days=3))) | (frame.ts >= pd.Timestamp(T0 + timedelta(days=4)))]
    gap.to_parquet(tmp_path / "data.parquet", index=False)
    cache = ReferenceCache()
    assert evaluate(monitor, cache, **at(NOW)).status != INSUFFICIENT
    hole = evaluate(monitor, cache, **at(T0 + timedelta(days=11)))  # reference: day 3, which has no rows
    assert hole.status == INSUFFICIENT and all("has no rows yet" in (f.reason or "") for f in hole.features)


def test_templated_paths_name_each_earlier_live_window(tmp_path: Path) -> None:
    """Hourly files named by the live window's start: a rolling 3h reference reads the three files
    the live source named in the three hours before (and not the live hour's)."""
    frame = stream(days=1, rows=2_400)
    hourly(tmp_path, frame, "%Y%m%d%H.csv")
    live = "{type: file, path: 'hours/{start:%Y%m%d%H}.csv', window: {column: ts, last: 1h}}"
    monitor = load(tmp_path, "{from: live, window: 3h}", live)
    now = T0 + timedelta(hours=10)
    result = evaluate(monitor, **at(now))
    assert result.error is None, result.error
    expected = rows_between(frame, now - timedelta(hours=4), now - timedelta(hours=1))
    assert result.features[0].reference_count == len(expected)
    assert result.features[0].live_count == len(rows_between(frame, now - timedelta(hours=1), now))


def test_seasonal_reference_over_templated_paths_without_a_window(tmp_path: Path) -> None:
    """A daily file per `{now:%Y-%m-%d}` and no window: the reference is last week's file."""
    frame = stream(days=14, rows=14_000)
    for day, part in frame.groupby(frame.ts.dt.floor("D")):
        part.to_parquet(tmp_path / f"{day:%Y-%m-%d}.parquet", index=False)
    monitor = load(tmp_path, "{from: live, seasonal: 1w}", "{type: file, path: '{now:%Y-%m-%d}.parquet'}")
    result = evaluate(monitor, **at(NOW))
    day = NOW.replace(hour=0) - timedelta(days=7)
    assert result.features[0].reference_count == len(rows_between(frame, day, day + timedelta(days=1)))


def test_sql_reference_window_is_a_where_on_the_time_column(tmp_path: Path) -> None:
    """The same rolling reference through DuckDB (type: sql) scores as the file source does."""
    frame = stream()
    frame.to_parquet(tmp_path / "data.parquet", index=False)
    sql = (
        "{type: sql, url: 'duckdb:///:memory:', query: \"select * from read_parquet('data.parquet')\", "
        "window: {column: ts, last: 1d}}"
    )
    through_sql = evaluate(load(tmp_path, "{from: live, window: 3d}", sql), **at(NOW))
    through_files = evaluate(load(tmp_path, "{from: live, window: 3d}"), **at(NOW))
    assert through_sql.error is None, through_sql.error
    for a, b in zip(through_sql.features, through_files.features, strict=True):
        assert a.reference_count == b.reference_count and a.live_count == b.live_count
        assert a.scores == pytest.approx(b.scores, rel=1e-9, abs=1e-12)


def test_seasonal_reference_alarms_only_on_the_real_shift(tmp_path: Path) -> None:
    """Four weeks of hourly data with a daily and a weekly cycle and one real shift in week 4
    (benchmarks/seasonal_reference.py, smaller): against week 1 pooled, the cycle alarms nearly
    every hour; against `seasonal: 1w`, exactly the shifted hours alarm (both in week 1's bins)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import seasonal_reference as stream_of

    stream_of.make_stream(tmp_path, rows=4_000)
    shift = [stream_of.SHIFT_DAY * 24 + clock for clock in stream_of.SHIFT_HOURS]
    hours = sorted({*range(7 * 24, 4 * 7 * 24, 11), *shift})  # every 11th hour: each clock hour, weekdays and weekends
    found = stream_of.evaluate_hours(tmp_path, hours)
    alarmed = {name: {row["hour"] for row in rows if row["status"] != OK} for name, rows in found.items()}
    assert alarmed["seasonal"] == set(shift)
    normal = set(hours) - set(shift)
    assert len(alarmed["static"] & normal) >= 0.9 * len(normal)
    assert set(shift) <= alarmed["static"]


class Daemon:
    """The daemon's caches and one evaluation as the daemon runs it (minus the process hop)."""

    def __init__(self) -> None:
        self.references = ReferenceCache()
        self.files = FileCache(settle_s=0.0)

    def evaluate(self, monitor: config.MonitorConfig, now: datetime) -> tuple[MonitorResult, int]:
        task = pickle.loads(pickle.dumps(workers.task_for(monitor, self.references, self.files, now.timestamp())))
        outcome = pickle.loads(pickle.dumps(workers._run(task)))
        assert outcome.files is not None
        return workers.absorb(monitor, outcome, self.references, self.files), outcome.files.read


def test_moving_reference_reads_only_new_files(tmp_path: Path) -> None:
    """Hourly files, live 1h, rolling 6h reference moving in steps of 1h (reference_refresh),
    through the daemon's caches: 5 minutes on, only the live window's two edge files are read,
    into their row codes (the reference is the same window), 10 minutes on none; an hour on, the
    reference's new hour is the file that left the live window, already counted, and the live
    window's hour was counted whole from its codes: nothing is read. Results
    equal a scratch evaluation with the same frozen bins."""
    frame = stream(days=1, rows=4_800)
    hourly(tmp_path, frame)
    live = "{type: file, path: 'hours/*.parquet', window: {column: ts, last: 1h}}"
    monitor = load(tmp_path, "{from: live, window: 6h}", live, extra="    reference_refresh: 1h\n")
    daemon = Daemon()
    start = T0 + timedelta(hours=10)
    for hours in range(4):  # warm: every file of both windows counted once
        daemon.evaluate(monitor, start + timedelta(hours=hours))
    now = start + timedelta(hours=4)
    result, read = daemon.evaluate(monitor, now)
    assert read == 1  # the hour that just ended, in the live window (the one it left joins the reference)
    result, read = daemon.evaluate(monitor, now + timedelta(minutes=5))
    assert read == 2  # the two files on the live window's edges, coded; the reference is the same window
    assert result.reference is not None and result.reference.until == now - timedelta(hours=1)
    result, read = daemon.evaluate(monitor, now + timedelta(minutes=10))
    assert read == 0  # their parts now come from their codes
    result, read = daemon.evaluate(monitor, now + timedelta(hours=1))
    assert read == 0  # the hour that just ended: its codes gave its whole counts
    scratch = evaluate(monitor, daemon.references, **at(now + timedelta(hours=1)))
    assert result.to_json()["features"] == scratch.to_json()["features"]
    expected = rows_between(frame, now - timedelta(hours=6), now)
    assert result.features[0].reference_count == len(expected)


def every_five_minutes(folder: Path, frame: pd.DataFrame, steps: int) -> list[tuple[MonitorResult, int]]:
    """Hourly files of ``frame``, live 1h, a rolling 6h reference moving at every evaluation (no
    refresh), ``steps`` evaluations 5 minutes apart from 12:07 through the daemon's caches, each
    checked equal to a cold one (no caches, reading every file) with the same frozen bins."""
    hourly(folder, frame)
    live = "{type: file, path: 'hours/*.parquet', window: {column: ts, last: 1h}}"
    monitor = load(folder, "{from: live, window: 6h}", live)
    daemon = Daemon()
    done = []
    for step in range(steps):
        now = T0 + timedelta(hours=12, minutes=7 + 5 * step)
        result, read = daemon.evaluate(monitor, now)
        cold = evaluate(monitor, daemon.references, **at(now))
        assert result.to_json()["features"] == cold.to_json()["features"]
        expected = rows_between(frame, now - timedelta(hours=7), now - timedelta(hours=1))
        assert result.features[0].reference_count == len(expected)
        done.append((result, read))
    return done


def test_a_reference_moving_every_evaluation_reads_no_file_once_its_edge_files_are_coded(tmp_path: Path) -> None:
    """Not on the hour, three files are cut by an edge: the live window's newest, the one on the
    boundary between the live window and the reference, the reference's oldest. Each is read once
    more into its row codes (driftmon.sources.file_slices) and every later part of it is counted
    from them: from the third evaluation on nothing is read (3 reads each before), and every
    evaluation equals a cold one reading every file."""
    reads = [read for _, read in every_five_minutes(tmp_path, stream(days=1, rows=4_800), 8)]
    assert reads[2:] == [0] * 6


def test_coded_edge_files_rewritten_under_a_moving_reference_equal_a_cold_evaluation(tmp_path: Path) -> None:
    """The two files the windows' edges cut and hold as row codes (the reference's oldest, and
    the boundary between the live window and the reference) rewritten in place with other
    values: the next evaluations read them anew and equal a cold one, and the reference's rows
    are those generated in its window."""
    frame = stream(days=1, rows=4_800)
    hourly(tmp_path, frame)
    monitor = load(
        tmp_path, "{from: live, window: 6h}", "{type: file, path: 'hours/*.parquet', window: {column: ts, last: 1h}}"
    )
    daemon = Daemon()
    for step in range(3):  # 12:07 .. 12:17: the edge files coded
        daemon.evaluate(monitor, T0 + timedelta(hours=12, minutes=7 + 5 * step))
    coded = {e.key.path.rsplit("/", 1)[1] for e in (daemon.files.entries("m") or {}).values() if e.codes is not None}
    assert {"05.parquet", "11.parquet"} <= coded
    changed = frame.copy()
    moved = changed.ts.dt.hour.isin([5, 11])
    changed.loc[moved, "x"] += 5.0
    for hour in (5, 11):
        part = changed[changed.ts.dt.hour == hour]
        part.to_parquet(tmp_path / "hours" / f"{hour:02d}.parquet", index=False)
    for step in range(3, 6):
        now = T0 + timedelta(hours=12, minutes=7 + 5 * step)
        result, read = daemon.evaluate(monitor, now)
        cold = evaluate(monitor, daemon.references, **at(now))
        assert result.to_json()["features"] == cold.to_json()["features"]
        window = rows_between(changed, now - timedelta(hours=7), now - timedelta(hours=1))
        assert result.features[0].reference_count == len(window)
        if step == 3:
            assert read >= 2  # both new versions read


def test_unseen_values_on_the_shared_edge_file_are_read_not_subtracted(tmp_path: Path) -> None:
    """A category the frozen bins lack (counted as __unseen__, its kept top values) in the boundary
    file: its two sides are read, neither subtracted (the kept values do not subtract) nor coded
    (the codes do not keep them), and every evaluation equals a cold one."""
    frame = stream(days=1, rows=4_800)
    later = frame.ts >= pd.Timestamp(T0 + timedelta(hours=11, minutes=30))  # after the first window: not in its bins
    frame.loc[later, "city"] = "d"
    done = every_five_minutes(tmp_path, frame, 5)
    assert all(next(f for f in r.features if f.feature == "city").unseen_fraction > 0 for r, _ in done)  # real case
    # The boundary file twice and the live window's newest (both hold d); the reference's oldest is coded.
    assert [read for _, read in done][2:] == [3] * 3


def test_reference_refresh_reuses_the_reference_until_it_is_due(tmp_path: Path) -> None:
    """reference_refresh: 1d: a rolling reference moves in steps of a day (UTC midnights) and is
    re-counted only when it moves; a static one is re-binned after a day though its file did not change."""
    stream().to_parquet(tmp_path / "data.parquet", index=False)
    monitor = load(tmp_path, "{from: live, window: 2d}", extra="    reference_refresh: 1d\n")
    cache = ReferenceCache()
    first = evaluate(monitor, cache, **at(NOW))  # NOW is 06:00: the reference ends at the midnight before
    assert first.reference is not None and first.reference.until == datetime(2026, 3, 12, tzinfo=UTC)
    again = evaluate(monitor, cache, **at(NOW + timedelta(hours=17)))
    assert again.reference == first.reference and cache.computed == 1
    later = evaluate(monitor, cache, **at(NOW + timedelta(hours=18)))
    assert later.reference is not None and later.reference.until == datetime(2026, 3, 13, tzinfo=UTC)
    assert cache.computed == 2
    stream().to_parquet(tmp_path / "ref.parquet", index=False)
    static = load(tmp_path, "{type: file, path: ref.parquet}", extra="    reference_refresh: 1d\n")
    cache = ReferenceCache()
    for hours in (0, 5, 23):
        evaluate(static, cache, **at(NOW + timedelta(hours=hours)))
    assert cache.computed == 1
    evaluate(static, cache, **at(NOW + timedelta(hours=24)))
    assert cache.computed == 2


def test_reference_info_series() -> None:
    """driftmon_reference_info{reference, since, until} 1 for the scored result's reference."""
    from driftmon.reference import ReferenceWindow

    window = ReferenceWindow("rolling", T0, T0 + timedelta(days=7))
    result = MonitorResult("m", OK, None, (), 0.0, 0.0, reference=window)
    spec = next(s for s in MONITOR_METRICS if s.name == "driftmon_reference_info")
    samples = list(spec.samples(MonitorState("m", latest=result, scored=result)))
    assert samples == [
        ({"reference": "rolling", "since": "2026-03-01T00:00:00Z", "until": "2026-03-08T00:00:00Z"}, 1.0)
    ]
    assert list(spec.samples(MonitorState("m"))) == []


@pytest.mark.parametrize(
    ("reference", "live", "message"),
    [
        ("{from: live, window: 7x}", None, "monitors[0].reference.window (monitor m): '7x' is not a duration"),
        ("{from: live, seasonal: weekly}", None, "monitors[0].reference.seasonal (monitor m): 'weekly' is not"),
        ("{from: live, window: 1d, offset: -1h}", None, "reference.offset (monitor m): '-1h' is negative"),
        ("{from: live, seasonal: 1h}", None, "reference.seasonal (1h) is shorter than the live window"),
        ("{from: live, window: 1d, seasonal: 1w}", None, "give `window:` (rolling) or `seasonal:`"),
        ("{from: live}", None, "give `window:` (rolling) or `seasonal:`"),
        ("{from: live, seasonal: 1w, offset: 1h}", None, "reference.offset applies to a rolling `window:`"),
        ("{from: yesterday, window: 1d}", None, "reference.from (monitor m): got 'yesterday'; expected live"),
        ("{from: live, window: 1d}", "{type: file, path: data.parquet}", "reference.window: a moving reference needs"),
        ("{from: live, window: 1d}", "{type: histogram, path: h.json}", "needs a live source with a time window"),
    ],
)
def test_bad_moving_references_are_config_errors_naming_the_key(
    tmp_path: Path, reference: str, live: str | None, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, reference, *([live] if live else []))
    assert message in str(raised.value)


def test_each_segment_against_a_moving_reference_equals_its_rows_alone(tmp_path: Path) -> None:
    """Segments with a rolling reference, through the daemon's caches as the window moves: each
    segment's counts and scores equal an unsegmented moving reference over that segment's rows
    alone (filtered with pandas), in the same bins (a profile file); the segments stay frozen
    from the first window (was a config error)."""
    frame = stream()
    frame.to_parquet(tmp_path / "data.parquet", index=False)
    reference = "{from: live, window: 2d, bins: bins.json}"
    plain = load(tmp_path, "{from: live, window: 2d}")
    (tmp_path / "bins.json").write_text(json.dumps(to_document(profile_reference(plain, NOW))), encoding="utf-8")
    monitor = load(tmp_path, reference, extra="    segments: {by: [city], top: 2}\n")
    daemon = Daemon()
    first = daemon.evaluate(monitor, NOW)[0]
    assert first.segments is not None
    top = {s.segment for s in first.segments.segments} - {"__other__", "__missing__"}
    assert len(top) == 2
    for moment in (NOW, NOW + timedelta(minutes=5), NOW + timedelta(hours=7)):
        result = daemon.evaluate(monitor, moment)[0]
        assert result.error is None, result.error
        assert result.segments is not None and result.reference is not None
        assert result.reference.until == moment - timedelta(days=1)
        by_segment = {s.segment: s.result for s in result.segments.segments}
        for segment, got in by_segment.items():
            rows = frame[frame.city.isin(top) == False] if segment == "__other__" else frame[frame.city == segment]  # noqa: E712
            folder = tmp_path / f"{segment}-{moment:%H%M}"
            folder.mkdir()
            rows.to_parquet(folder / "data.parquet", index=False)
            (folder / "bins.json").write_text((tmp_path / "bins.json").read_text(), encoding="utf-8")
            oracle = evaluate(load(folder, reference), **at(moment))
            if rows.empty:
                assert segment == "__missing__" and oracle.error is not None
                continue
            for mine, theirs in zip(got.features, oracle.features, strict=True):
                assert mine.reference_count == theirs.reference_count and mine.live_count == theirs.live_count
                assert mine.scores == theirs.scores
        expected = rows_between(frame, moment - timedelta(days=3), moment - timedelta(days=1))
        assert result.features[0].reference_count == len(expected)


def test_segments_against_a_moving_reference_with_no_rows_yet_are_insufficient_data(tmp_path: Path) -> None:
    """Before the reference window holds rows: insufficient_data with the window named, not an error."""
    stream().to_parquet(tmp_path / "data.parquet", index=False)
    monitor = load(tmp_path, "{from: live, window: 2d}", extra="    segments: {by: [city], top: 2}\n")
    result = evaluate(monitor, **at(T0 + timedelta(days=1)))  # the reference ends where the data begins
    assert result.error is None, result.error
    assert result.status == INSUFFICIENT and all("has no rows yet" in (f.reason or "") for f in result.features)
    assert result.segments is not None and all(
        f.reference_count == 0 for s in result.segments.segments for f in s.result.features
    )


def test_batch_mode_exports_the_reference_it_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check --textfile` (batch mode: no daemon, no cache) with a rolling reference over the last
    days: the textfile says which window the scores were computed against."""
    from prometheus_client.parser import text_string_to_metric_families

    from driftmon import cli

    frame = stream(days=10)
    frame["ts"] = frame.ts + (pd.Timestamp.now(tz="UTC").floor("h") - pd.Timestamp(T0 + timedelta(days=10)))
    frame.to_parquet(tmp_path / "data.parquet", index=False)
    load(tmp_path, "{from: live, window: 3d}", extra="    reference_refresh: 1h\n")
    out = tmp_path / "driftmon.prom"
    assert cli.main(["check", "-c", str(tmp_path / "m.yaml"), "--textfile", str(out)]) in (0, 1)
    assert "  against the rolling reference [" in capsys.readouterr().out  # the table says it too
    info = [
        s
        for f in text_string_to_metric_families(out.read_text())
        for s in f.samples
        if s.name == "driftmon_reference_info"
    ]
    assert len(info) == 1 and info[0].value == 1
    since = datetime.fromisoformat(info[0].labels["since"])
    until = datetime.fromisoformat(info[0].labels["until"])
    assert info[0].labels["reference"] == "rolling" and until - since == timedelta(days=3)
    assert until.minute == 0 and until.second == 0  # reference_refresh: 1h moves it in whole hours
    live_start = datetime.now(UTC) - timedelta(days=1)  # the reference ends where the 1d live window starts
    assert live_start - timedelta(hours=1, minutes=1) <= until <= live_start


def test_validate_probes_the_moving_reference_as_the_live_source(tmp_path: Path) -> None:
    """`validate --sources` opens a moving reference as the live source with its window moved
    (it crashed with AttributeError: a moving reference has no `type:`)."""
    from driftmon import validate

    stream().to_parquet(tmp_path / "data.parquet", index=False)
    monitor = load(tmp_path, "{from: live, seasonal: 1w}")
    findings = validate.check(config.Config(tmp_path / "m.yaml", (monitor,)), sources=True, now=NOW)
    assert [(f.side, f.type, f.level) for f in findings][:2] == [("reference", "file", "ok"), ("live", "file", "ok")]
