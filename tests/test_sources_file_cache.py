"""The live-file cache: cached evaluations equal from-scratch ones, and never serve stale counts.

Evaluations run the daemon's code path in this process: :func:`driftmon.workers.task_for`
builds the task from the daemon's caches, :func:`driftmon.workers._run` is what a worker
process runs, :func:`driftmon.workers.absorb` takes the outcome back (task and outcome
go through pickle, as over the worker's pipe). The oracle is a from-scratch
:func:`driftmon.evaluate.evaluate` of the same files at the same time, and row counts
worked out from the generated data.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from driftmon import config, workers
from driftmon.config import MonitorConfig
from driftmon.evaluate import MonitorResult, ReferenceCache, evaluate
from driftmon.histogram import CategoricalBins, Histogram, NumericBins
from driftmon.sources import file_cache
from driftmon.sources.base import Window
from driftmon.sources.file import FileSource, FileSourceConfig
from driftmon.sources.file_cache import FileCache, FileCounts, FileEntry, FileKey, entry_bytes

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


class Daemon:
    """The daemon's two caches and one evaluation as the daemon runs it (minus the process)."""

    def __init__(self, files: FileCache | None = None) -> None:
        self.references = ReferenceCache()
        self.files = files if files is not None else FileCache(settle_s=0.0)
        self.last: FileCounts | None = None

    def evaluate(self, monitor: MonitorConfig, now: datetime) -> MonitorResult:
        task = pickle.loads(pickle.dumps(workers.task_for(monitor, self.references, self.files, now.timestamp())))
        outcome = pickle.loads(pickle.dumps(workers._run(task)))
        self.last = outcome.files
        return workers.absorb(monitor, outcome, self.references, self.files)


def scratch(monitor: MonitorConfig, now: datetime) -> MonitorResult:
    return evaluate(monitor, clock=lambda: now.timestamp())


def same(cached: MonitorResult, fresh: MonitorResult) -> None:
    """Everything a user sees is identical (the duration aside)."""
    assert cached.error is None and fresh.error is None, (cached.error, fresh.error)
    assert cached.to_json() == fresh.to_json()


def write_config(
    folder: Path, live: str, window: str | None, edges: str = "[-1, 0, 1, 2]", name: str = "m.yaml"
) -> MonitorConfig:
    window_text = f", window: {{column: ts, last: {window}}}" if window else ""
    text = f"""\
monitors:
  - name: hourly
    reference: {{type: file, path: ref.parquet}}
    live: {{type: file, path: '{live}'{window_text}}}
    features:
      - {{name: x, binning: {{edges: {edges}}}}}
      - {{name: city, kind: categorical}}
    measures: [kl, js, psi, hellinger, tvd]
    min_samples: 10
"""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return config.load(path).monitors[0]


def hour_rows(hour: int, n: int = 400) -> pd.DataFrame:
    """Rows of one hour after T0: x drifting with the hour, a city (d is unseen), timestamps in the hour."""
    rng = np.random.default_rng(hour)
    x = rng.normal(0.1 * hour, 1.0, n)
    x[rng.random(n) < 0.05] = np.nan
    start = pd.Timestamp(T0 + hour * HOUR).tz_convert(None)
    return pd.DataFrame(
        {
            "x": x,
            "city": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "ts": start + pd.to_timedelta(rng.uniform(0, 3600, n), unit="s"),
        }
    )


def write_reference(folder: Path) -> None:
    rng = np.random.default_rng(99)
    frame = pd.DataFrame({"x": rng.normal(0, 1, 2000), "city": rng.choice(["a", "b", "c"], 2000)})
    frame.to_parquet(folder / "ref.parquet")


def write_hour(folder: Path, hour: int) -> Path:
    """Hour files in three formats (most Parquet), as a live folder of mixed writers would have."""
    frame = hour_rows(hour)
    (folder / "live").mkdir(exist_ok=True)
    if hour % 5 == 3:
        path = folder / "live" / f"h{hour:02d}.csv"
        frame.assign(ts=frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f")).to_csv(path, index=False)
    elif hour % 5 == 4:
        path = folder / "live" / f"h{hour:02d}.jsonl"
        frame.assign(ts=frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f")).to_json(path, orient="records", lines=True)
    else:
        path = folder / "live" / f"h{hour:02d}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def test_cached_scores_equal_from_scratch_through_a_simulated_day(tmp_path: Path) -> None:
    """Every 20 minutes for 12 hours (a file arriving each hour, files older than 6 h deleted,
    a 4 h window sliding), the cached evaluation equals a from-scratch one; once warm, only
    the new file and the one on the window's start edge are read."""
    write_reference(tmp_path)
    monitor = write_config(tmp_path, "live/*.*", "4h")
    daemon = Daemon()
    arrived: dict[int, Path] = {}
    reads = []
    for step in range(3, 12 * 3 + 1):
        now = T0 + step * timedelta(minutes=20)
        for hour in range(int((now - T0) / HOUR)):  # hour h's file arrives at the end of hour h
            if hour not in arrived:
                arrived[hour] = write_hour(tmp_path, hour)
        for hour, path in list(arrived.items()):
            if now - (T0 + hour * HOUR) > 6 * HOUR and path.exists():
                path.unlink()  # files leave
        cached, fresh = daemon.evaluate(monitor, now), scratch(monitor, now)
        same(cached, fresh)
        # Independent oracle: rows of the generated data inside [now - 4h, now).
        frames = pd.concat([hour_rows(h) for h, p in arrived.items() if p.exists()])
        stamps = frames["ts"].dt.tz_localize(UTC)
        expected = int(((stamps >= now - 4 * HOUR) & (stamps < now)).sum())
        assert {f.feature: f.live_count for f in cached.features} == {"x": expected, "city": expected}
        assert daemon.last is not None
        reads.append((step, daemon.last.read, daemon.last.reused))
    warm = [(step, read) for step, read, _ in reads if step >= 15]
    # A new file arrives in the step right after each full hour: it and the edge file are read.
    assert all(read <= (2 if step % 3 == 0 else 1) for step, read in warm), warm
    assert sum(reused for step, _, reused in reads if step >= 15) >= 4 * len(warm)
    # Files gone from the folder are gone from the cache: at most the files present now.
    assert len(daemon.files) <= sum(p.exists() for p in arrived.values())


def test_whole_files_are_reused_whatever_the_window_and_outside_ones_are_not_read(tmp_path: Path) -> None:
    """A file inside the window is reused when the window moves; one that left it is skipped
    unread and keeps only its time range; one straddling an edge is read again: its rows hold a
    city the bins lack (d, __unseen__), so the codes of file_slices cannot stand for its parts."""
    write_reference(tmp_path)
    for hour in range(6):
        write_hour(tmp_path, hour * 5)  # hours 0, 5, 10, ...: Parquet files
    monitor = write_config(tmp_path, "live/*.parquet", "12h")
    daemon = Daemon()
    first = T0 + 13 * HOUR  # window [1h, 13h): hour 0 outside, 5 and 10 inside, none on an edge
    same(daemon.evaluate(monitor, first), scratch(monitor, first))
    assert daemon.last is not None and daemon.last.read == 6
    later = first + timedelta(minutes=30)  # [1:30, 13:30): the same split
    same(daemon.evaluate(monitor, later), scratch(monitor, later))
    assert (daemon.last.read, daemon.last.reused) == (0, 6)
    entries = daemon.files.entries("hourly") or {}
    assert all(e.histograms is not None for e in entries.values() if e.key.path.endswith("h05.parquet"))
    edge = T0 + 15.5 * HOUR  # [3:30, 15:30): hour 15 now straddles the end edge, hour 0 left long ago
    same(daemon.evaluate(monitor, edge), scratch(monitor, edge))
    assert daemon.last.read == 2  # hour 15: coded in full once (its time range only was known), then read
    entries = daemon.files.entries("hourly") or {}
    assert [e.codable for e in entries.values() if e.key.path.endswith("h15.parquet")] == [False]
    behind = T0 + 20.5 * HOUR  # [8:30, 20:30): hour 5 is now wholly before the window
    same(daemon.evaluate(monitor, behind), scratch(monitor, behind))
    # Hour 15, counted in part before, now whole; hour 20 on the end edge, coded once (it holds d), then read.
    assert daemon.last.read == 3
    entries = daemon.files.entries("hourly") or {}
    passed = [e for e in entries.values() if e.key.path.endswith(("h00.parquet", "h05.parquet"))]
    assert len(passed) == 2 and all(e.histograms is None and e.span is not None for e in passed)  # counts dropped
    assert all(e.nbytes == entry_bytes(None) for e in passed)


@pytest.fixture
def naive_key(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Turns the cache's key into the naive (path, size, mtime) one."""

    def install() -> None:
        def key(path: str, stat: os.stat_result, counting: str) -> FileKey:
            return FileKey(os.path.realpath(path), 0, 0, stat.st_size, stat.st_mtime_ns, 0, counting)

        monkeypatch.setattr(file_cache, "_key", key)

    return install


def csv_rows(values: list[int]) -> str:
    """Fixed-width rows, so another version of the file has the very same size."""
    stamps = [T0 + timedelta(minutes=i) for i in range(len(values))]
    lines = ["x,city,ts", *(f"{v:02d},a,{s:%Y-%m-%dT%H:%M:%S}" for v, s in zip(values, stamps, strict=True))]
    return "\n".join(lines) + "\n"


def rewrite_in_place(path: Path, text: str) -> None:
    """Same bytes count written over the old ones; the writer keeps the mtime (like touch -r)."""
    before = path.stat()
    with open(path, "r+b") as handle:
        handle.write(text.encode())
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def replace_by_rename(path: Path, text: str) -> None:
    """A new file written beside and renamed over the old one, its mtime copied (like cp -p, mv)."""
    before = path.stat()
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(text, encoding="utf-8")
    os.utime(temporary, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(temporary, path)


def mtime_moved_backwards(path: Path, text: str) -> None:
    """Truncated and rewritten, then its mtime set back to the old version's (like rsync -t, tar x)."""
    before = path.stat()
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.mark.parametrize("change", [rewrite_in_place, replace_by_rename, mtime_moved_backwards])
@pytest.mark.parametrize("key", ["naive", "driftmon"])
def test_a_changed_file_is_never_served_from_the_cache(
    tmp_path: Path, change: Callable[[Path, str], None], key: str, naive_key: Callable[[], None]
) -> None:
    """Same size, same mtime, new content: the (path, size, mtime) key serves the old counts
    (the trap is real), driftmon's key (inode, ctime) reads the file again."""
    if key == "naive":
        naive_key()
    write_reference(tmp_path)
    live = tmp_path / "live.csv"
    live.write_text(csv_rows([10, 11, 12, 13] * 25), encoding="utf-8")
    monitor = write_config(tmp_path, "live.csv", None, edges="[20, 40, 60]")
    daemon = Daemon()
    now = T0 + HOUR
    same(daemon.evaluate(monitor, now), scratch(monitor, now))
    change(live, csv_rows([70, 71, 72, 73] * 25))
    assert live.stat().st_size == len(csv_rows([10] * 100))  # the same size: only the content moved
    cached, fresh = daemon.evaluate(monitor, now), scratch(monitor, now)
    x = next(f for f in fresh.features if f.feature == "x")
    assert x.bins[-2].role == "overflow" and x.bins[-2].live_count == 100  # every new value is above 60
    if key == "naive":
        assert cached.to_json() != fresh.to_json()
    else:
        same(cached, fresh)


@pytest.mark.parametrize("key", ["naive", "driftmon"])
def test_a_reload_with_new_bins_never_reuses_counts_of_the_old_bins(
    tmp_path: Path, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bin specs are part of the key: after a reload that changes the edges the files are
    counted again (without them in the key, the evaluation would merge counts of other bins)."""
    if key == "naive":
        monkeypatch.setattr(file_cache, "counting_digest", lambda specs, options: "same")
    write_reference(tmp_path)
    write_hour(tmp_path, 0)
    before = write_config(tmp_path, "live/*.parquet", None, edges="[-1, 0, 1, 2]")
    after = write_config(tmp_path, "live/*.parquet", None, edges="[-2, -1, 0, 1]", name="reloaded.yaml")
    daemon = Daemon()
    now = T0 + 2 * HOUR
    same(daemon.evaluate(before, now), scratch(before, now))
    cached, fresh = daemon.evaluate(after, now), scratch(after, now)
    if key == "naive":
        assert cached.to_json() != fresh.to_json()
    else:
        same(cached, fresh)
        assert daemon.last is not None and daemon.last.read == 1


def test_a_file_changed_while_read_or_just_written_is_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that grows during the read, or whose last change is younger than the settle
    time, is counted but not kept: it may not be final."""
    write_reference(tmp_path)
    live = tmp_path / "live.csv"
    live.write_text(csv_rows([10, 30, 50, 70] * 25), encoding="utf-8")
    monitor = write_config(tmp_path, "live.csv", None, edges="[20, 40, 60]")
    now = T0 + HOUR
    young = Daemon(FileCache(settle_s=3600.0))  # every file here changed less than an hour ago
    same(young.evaluate(monitor, now), scratch(monitor, now))
    assert young.last is not None and young.last.read == 1 and len(young.files) == 0

    read = FileSource.count_file

    def appending(self: FileSource, path: str, *args: Any, **kwargs: Any) -> Any:
        counted = read(self, path, *args, **kwargs)
        with open(path, "a", encoding="utf-8") as handle:  # a writer appends meanwhile
            handle.write(f"11,a,{T0:%Y-%m-%dT%H:%M:%S}\n")
        return counted

    monkeypatch.setattr(FileSource, "count_file", appending)
    growing = Daemon()
    growing.evaluate(monitor, now)
    assert growing.last is not None and growing.last.read == 1 and len(growing.files) == 0


def histograms(size: int) -> dict[str, Histogram]:
    spec = NumericBins(tuple(float(i) for i in range(size - 1)))
    return {"x": Histogram(spec, np.ones(spec.size))}


def entry(name: str, size: int = 10) -> FileEntry:
    key = FileKey(name, 1, 2, 3, 4, 5, "digest")
    kept = histograms(size)
    return FileEntry(key, None, 1, kept, entry_bytes(kept))


def test_cache_stays_within_its_bytes_evicting_least_recently_used() -> None:
    """Entries past the bound go oldest-used first; the count of bytes follows the arrays."""
    one = entry("a").nbytes
    assert one >= histograms(10)["x"].counts.nbytes + 8 * 10  # the counts are accounted
    cache = FileCache(max_bytes=3 * one)
    for monitor in ("m1", "m2", "m3"):
        item = entry(monitor)
        cache.update(monitor, [], {item.key: item}, complete=True)
    assert cache.entries("m1") is not None  # m1 used now: m2 is the least recently used
    item = entry("m4")
    cache.update("m4", [], {item.key: item}, complete=True)
    assert cache.entries("m2") == {} and len(cache) == 3 and cache.nbytes == 3 * one
    assert cache.evictions == 1


def test_cache_drops_files_a_complete_evaluation_no_longer_used_and_forgets_removed_monitors() -> None:
    """Files gone (or left behind by the window) leave the cache; a failed evaluation keeps
    the others; a monitor removed by a reload takes its entries along; size 0 is off."""
    cache = FileCache()
    first, second = entry("f1"), entry("f2")
    cache.update("m", [], {first.key: first, second.key: second}, complete=True)
    third = entry("f3")
    cache.update("m", [first.key], {third.key: third}, complete=False)
    assert set(cache.entries("m") or {}) == {first.key, second.key, third.key}
    cache.update("m", [first.key], {}, complete=True)
    assert set(cache.entries("m") or {}) == {first.key}
    cache.retain({"other"})
    assert len(cache) == 0 and cache.nbytes == 0
    late = entry("f4")  # an evaluation of `m` that was running during the reload ends now
    cache.update("m", [], {late.key: late}, complete=True)
    assert len(cache) == 0 and cache.entries("m") == {}
    assert FileCache(max_bytes=0).entries("m") is None


def test_categorical_labels_are_accounted() -> None:
    """An entry's bytes grow with its categories' labels, not only its counts."""
    short = CategoricalBins(("a",) * 1)
    long = CategoricalBins(tuple(f"category-{i:04d}" for i in range(200)))
    small = entry_bytes({"c": Histogram(short, np.ones(short.size))})
    large = entry_bytes({"c": Histogram(long, np.ones(long.size))})
    assert large - small >= 200 * len("category-0000")


def test_time_ranges_come_from_text_timestamps_and_ignore_nulls(tmp_path: Path) -> None:
    """Parquet with ISO text times (no usable statistics) and null times: the file's range is
    read from the column, nulls never count, and a file inside the window is reused."""
    write_reference(tmp_path)
    (tmp_path / "live").mkdir()
    frame = hour_rows(2)
    text = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f").astype(object)
    text.iloc[::7] = None
    pq.write_table(pa.Table.from_pandas(frame.assign(ts=text), preserve_index=False), tmp_path / "live" / "t.parquet")
    monitor = write_config(tmp_path, "live/*.parquet", "2h")
    daemon = Daemon()
    now = T0 + 3.5 * HOUR  # [1:30, 3:30): hour 2's timed rows all inside
    same(daemon.evaluate(monitor, now), scratch(monitor, now))
    (kept,) = daemon.files.entries("hourly").values()  # type: ignore[union-attr]
    timed = pd.to_datetime(text.dropna()).dt.tz_localize(UTC)
    assert kept.span == (timed.min().value, timed.max().value)
    assert kept.rows == len(timed)
    later = now + timedelta(minutes=20)
    same(daemon.evaluate(monitor, later), scratch(monitor, later))
    assert daemon.last is not None and (daemon.last.read, daemon.last.reused) == (0, 1)


@pytest.mark.parametrize("hour", [0, 3, 4])  # Parquet, CSV, JSON Lines
def testcount_file_counts_one_file_in_the_window_and_reports_its_time_range(tmp_path: Path, hour: int) -> None:
    """FileSource.count_file, the cache's unit: one file's counts within the bounds (numpy
    oracle), the rows counted, and the window column's range over the whole file."""
    path = write_hour(tmp_path, hour)
    frame = hour_rows(hour)
    source = FileSource(
        FileSourceConfig(type="file", path=path.name, window=Window(column="ts", last="1h")),
        tmp_path,
        T0,
    )
    middle = pd.Timestamp(T0 + hour * HOUR + timedelta(minutes=30))
    bounds = (middle.value, middle.value + 3600 * 10**9)  # the second half of the hour, and on
    spec = NumericBins((-1.0, 0.0, 1.0))
    histograms, rows, span = source.count_file(str(path), {"x": spec}, bounds)
    stamps = frame["ts"].dt.tz_localize(UTC)
    inside = frame[(stamps >= middle) & (stamps < middle + HOUR)]
    x = inside["x"].dropna().to_numpy()
    expected = [(x < -1).sum(), ((x >= -1) & (x < 0)).sum(), ((x >= 0) & (x <= 1)).sum(), (x > 1).sum()]
    assert histograms["x"].counts.tolist() == expected
    assert histograms["x"].missing == inside["x"].isna().sum()
    assert rows == len(inside)
    assert span is not None
    low, high = span
    assert abs(low - stamps.min().value) < 1000 and abs(high - stamps.max().value) < 1000  # CSV/JSON keep µs


@pytest.mark.parametrize("change", [rewrite_in_place, replace_by_rename, mtime_moved_backwards])
def test_a_changed_reference_file_is_binned_again(tmp_path: Path, change: Callable[[Path, str], None]) -> None:
    """The daemon's reference cache has the same trap: a reference file with new content but
    the same size and mtime must be binned again (its fingerprint holds inode and ctime)."""
    reference = tmp_path / "ref.csv"
    reference.write_text(csv_rows([10, 30, 50, 70] * 25), encoding="utf-8")
    (tmp_path / "live.csv").write_text(csv_rows([10, 30, 50, 70] * 25), encoding="utf-8")
    path = tmp_path / "m.yaml"
    path.write_text(
        "monitors:\n  - name: ref\n    reference: {type: file, path: ref.csv}\n"
        "    live: {type: file, path: live.csv}\n    features: [{name: x, binning: {edges: [20, 40, 60]}}]\n",
        encoding="utf-8",
    )
    monitor = config.load(path).monitors[0]
    daemon = Daemon()
    now = T0 + HOUR
    same(daemon.evaluate(monitor, now), scratch(monitor, now))
    change(reference, csv_rows([70, 71, 72, 73] * 25))
    cached, fresh = daemon.evaluate(monitor, now), scratch(monitor, now)
    assert fresh.features[0].bins[-2].reference_count == 100  # every reference value is above 60 now
    same(cached, fresh)


def known_cities(hour: int) -> pd.DataFrame:
    """hour_rows without the city the reference lacks: every cut file can be coded."""
    frame = hour_rows(hour, n=2_000)
    return frame.assign(city=frame["city"].replace("d", "a"))


def test_a_window_moving_over_coded_files_equals_scratch_through_rewrites_and_eviction(tmp_path: Path) -> None:
    """A 3h window moving 10 minutes at a time over hourly Parquet files: the file its start edge
    cuts is coded once (file_slices) and each later part is counted from the codes, not read; the
    cut file rewritten in place (new values, the same name) is read and coded anew; a cache too
    small for the codes keeps the counts and reads the cut file again. Every evaluation equals a
    from-scratch one, and the live rows equal the generated rows in the window."""
    write_reference(tmp_path)
    (tmp_path / "live").mkdir()
    for hour in range(8):
        pq.write_table(
            pa.Table.from_pandas(known_cities(hour), preserve_index=False), tmp_path / "live" / f"h{hour}.parquet"
        )
    monitor = write_config(tmp_path, "live/*.parquet", "3h")

    def run(daemon: Daemon, minutes: int, rows: Callable[[int], pd.DataFrame]) -> int:
        now = T0 + 8 * HOUR + timedelta(minutes=minutes)
        cached = daemon.evaluate(monitor, now)
        same(cached, scratch(monitor, now))
        stamps = pd.concat([rows(h) for h in range(8)])["ts"].dt.tz_localize(UTC)
        expected = int(((stamps >= now - 3 * HOUR) & (stamps < now)).sum())
        assert {f.feature: f.live_count for f in cached.features} == {"x": expected, "city": expected}
        assert daemon.last is not None
        return daemon.last.read

    daemon = Daemon()
    reads = [run(daemon, minutes, known_cities) for minutes in (0, 10, 20, 30, 40)]
    assert reads == [8, 1, 0, 0, 0]  # every file, then h5 coded once, then nothing
    coded = [e for e in (daemon.files.entries("hourly") or {}).values() if e.codes is not None]
    assert [e.key.path.rsplit("/", 1)[1] for e in coded] == ["h5.parquet"]

    def rewritten(hour: int) -> pd.DataFrame:
        frame = known_cities(hour)
        return frame.assign(x=frame["x"] + 3.0) if hour == 5 else frame

    pq.write_table(pa.Table.from_pandas(rewritten(5), preserve_index=False), tmp_path / "live" / "h5.parquet")
    # A new version: read (its time range unknown), then coded, then counted from its codes.
    assert [run(daemon, minutes, rewritten) for minutes in (50, 55, 60)] == [1, 1, 0]

    small = Daemon(FileCache(max_bytes=coded[0].codes.nbytes, settle_s=0.0))  # type: ignore[union-attr]
    assert [run(small, minutes, rewritten) for minutes in (0, 10, 20)] == [8, 1, 1]
    held = (small.files.entries("hourly") or {}).values()
    assert all(e.codes is None for e in held) and [e.histograms is not None for e in held].count(True) >= 3


def test_codes_are_evicted_before_counts_and_dropped_once_no_edge_cuts_the_file() -> None:
    """Past the bound the least recently used codes go first, the counts stay; finish() drops the
    codes of a file the evaluation found wholly inside its windows."""
    from driftmon.sources.file_slices import build

    spec = NumericBins((0.0, 1.0))
    codes = build(np.arange(1000, dtype=np.int64), {"x": lambda: [np.linspace(-1, 2, 1000)]}, {"x": spec})
    assert codes is not None
    plain = [entry(name) for name in ("a", "b")]
    coded = [FileEntry(e.key, (0, 999), e.rows, e.histograms, e.nbytes + codes.nbytes, codes) for e in plain]
    cache = FileCache(max_bytes=2 * plain[0].nbytes + codes.nbytes)
    cache.update("m", [], {e.key: e for e in coded}, complete=True)
    held = cache.entries("m") or {}
    assert len(held) == 2 and [e.codes is not None for e in held.values()].count(True) == 1
    assert cache.nbytes == 2 * plain[0].nbytes + codes.nbytes and cache.evictions == 0
    counts = FileCounts({coded[0].key: coded[0]}, settle_s=0.0)
    counts._visited.add(coded[0].key)  # looked up, wholly inside: no part was cut from its codes
    counts.finish()
    assert counts.new[coded[0].key].codes is None and counts.new[coded[0].key].histograms is not None
