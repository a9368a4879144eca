"""The daemon at scale: 200 monitors x 50 features on the live-file cache, an hour of 5-minute files.

Starts the real daemon (``python -m driftmon run``, 127.0.0.1, a free port, default workers
and ``--evaluation.cache-size``) over ``--monitors`` monitors in ``--groups`` groups. Each
group has its own reference file and live folder; the monitors of a group share its files
(each monitor keeps its own cache entries and counts each new file itself, so only the
operating system's page cache is shared). A monitor's live source is a glob over its
group's folder, which always holds the newest 12 files of ``--rows`` rows: one hour of
5-minute files. Simulated time runs ``300 / --interval`` times faster than the clock:

- the schedule is ``--interval`` seconds (one simulated 5 minutes);
- warm-up: the first evaluation of every monitor (reference profiled, 12 files counted);
- then ``--rounds`` rounds (12: one simulated hour). Before each, the driver moves each
  group's next file in (written beforehand, so its last change is old) and the oldest
  one out, the files a 1 h window over 5-minute files would hold, without depending on
  the wall clock; a round ends when every monitor has been evaluated once more.

Measured over the rounds (the steady state), while a thread scrapes /metrics every
``--scrape-interval`` seconds: the CPU seconds of the daemon and its worker processes
(``/proc/PID/stat`` utime + stime of the daemon and every descendant, plus the children it
reaped), per simulated hour; peak RSS (``VmHWM`` of the daemon and of each worker, and the
largest sum of the tree's ``VmRSS`` sampled every 0.5 s); scrape latency percentiles; and
the cache's work from the daemon's debug log (``live files: N reused, M read``).

    .venv/bin/python benchmarks/daemon_scale.py            # 200 x 50, 20 groups: about 8 min
    .venv/bin/python benchmarks/daemon_scale.py --tiny     # seconds: the harness itself

Results (JSON and Markdown) go to benchmarks/results/daemon-scale-<date>. The daemon is
stopped by its pid (SIGTERM, then SIGKILL after 15 s); every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import busy_scrape  # noqa: E402

WINDOW_FILES = 12  # one hour of 5-minute files
TEXT_FEATURES = 5  # of the features, this many are text columns of 20 values (the rest numeric)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_EVALUATED = re.compile(r"msg=evaluated monitor=(\S+)")
_REUSED = re.compile(r"live files: (\d+) reused, (\d+) read \((\d+) bytes\)")


def feature_names(features: int) -> list[str]:
    text = min(TEXT_FEATURES, features // 5)
    return [f"n{i:02d}" for i in range(features - text)] + [f"t{i:02d}" for i in range(text)]


def _table(rng: np.random.Generator, names: list[str], rows: int, shift: float) -> pa.Table:
    columns: dict[str, Any] = {}
    values = np.array([f"v{k:02d}" for k in range(20)])
    weights = 1.0 / np.arange(1, 21)
    for index, name in enumerate(names):
        if name.startswith("n"):
            columns[name] = rng.normal(shift * (index % 3), 1.0, rows)
        else:
            columns[name] = values[rng.choice(20, rows, p=weights / weights.sum())]
    return pa.table(columns)


def write_data(folder: Path, args: argparse.Namespace) -> Path:
    """Per group a reference, a live folder with the first hour's files and the files of the
    rounds to come (staged); and the config. Fixed seeds; rewritten only if the sizes change."""
    names = feature_names(args.features)
    stamp = folder / "sizes.json"
    sizes = {k: getattr(args, k) for k in ("monitors", "features", "groups", "rows", "reference_rows", "rounds")}
    if not (stamp.exists() and json.loads(stamp.read_text()) == sizes):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for group in range(args.groups):
            rng = np.random.default_rng([20261203, group])
            pq.write_table(_table(rng, names, args.reference_rows, 0.0), folder / f"reference-{group:02d}.parquet")
            for kind in ("live", "staged"):
                (folder / f"{kind}-{group:02d}").mkdir()
            for index in range(WINDOW_FILES + args.rounds):
                kind = "live" if index < WINDOW_FILES else "staged"
                path = folder / f"{kind}-{group:02d}" / f"part-{index:04d}.parquet"
                pq.write_table(_table(rng, names, args.rows, 0.02), path)
        stamp.write_text(json.dumps(sizes))
    for group in range(args.groups):  # a run moved files: put them back where they start
        live, staged = folder / f"live-{group:02d}", folder / f"staged-{group:02d}"
        every = sorted([*live.glob("*.parquet"), *staged.glob("*.parquet")], key=lambda p: original_name(p.name))
        for index, path in enumerate(every):
            target = (live if index < WINDOW_FILES else staged) / original_name(path.name)
            if path != target:
                path.rename(target)
    lines = ["defaults:", f"  schedule: {args.interval}s", "  jitter: null", "monitors:"]
    for index in range(args.monitors):
        group = index % args.groups
        lines += [
            f"  - name: m{index:03d}",
            f"    reference: {{type: file, path: reference-{group:02d}.parquet}}",
            f"    live: {{type: file, path: 'live-{group:02d}/*.parquet'}}",
            f"    features: [{', '.join(names)}]",
        ]
    config = folder / "driftmon.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


# ---------------------------------------------------------------------------
# the daemon's process tree


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU seconds, reaped children's CPU seconds) from /proc/PID/stat."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    reaped = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
    return int(fields[1]), own, reaped


def tree(root: int) -> list[int]:
    """The daemon and every descendant (its forkserver and worker processes)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _stat(int(entry))) is not None:
            parents.setdefault(found[0], []).append(int(entry))
    pids, queue = [], [root]
    while queue:
        pid = queue.pop()
        pids.append(pid)
        queue += parents.get(pid, [])
    return pids


def cpu_seconds(root: int) -> float:
    total = 0.0
    for pid in tree(root):
        found = _stat(pid)
        if found is not None:
            total += found[1] + found[2]
    return total


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Memory:
    """Peak memory of the tree: each process's VmHWM, and the largest sampled sum of VmRSS."""

    root: int
    peaks_kb: dict[int, int] = field(default_factory=dict)
    tree_rss_kb: int = 0

    def sample(self) -> None:
        pids = tree(self.root)
        self.tree_rss_kb = max(self.tree_rss_kb, sum(_status_kb(pid, "VmRSS:") for pid in pids))
        for pid in pids:
            self.peaks_kb[pid] = max(self.peaks_kb.get(pid, 0), _status_kb(pid, "VmHWM:"))


# ---------------------------------------------------------------------------
# the experiment


class LogTail:
    """Evaluations per monitor, from the daemon's log (``msg=evaluated monitor=...``): the
    driver never parses /metrics to pace the rounds (at 200 x 50 it is 25 MB of text)."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.rest = path, 0, ""
        self.counts: dict[str, int] = {}

    def read(self) -> dict[str, int]:
        with open(self.path, encoding="utf-8", errors="replace") as log:
            log.seek(self.offset)
            text = self.rest + log.read()
            self.offset = log.tell()
        text, _, self.rest = text.rpartition("\n")
        for match in _EVALUATED.finditer(text):
            self.counts[match.group(1)] = self.counts.get(match.group(1), 0) + 1
        return dict(self.counts)


def wait_round(
    tail: LogTail, process: Any, monitors: int, at_least: dict[str, int], deadline: float
) -> dict[str, int] | None:
    """Until every monitor has more evaluations than ``at_least``: the new counts (None at the deadline)."""
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the daemon exited with {process.returncode}")
        done = tail.read()
        if len(done) >= monitors and all(done[m] > at_least.get(m, 0) for m in done):
            return done
        if time.monotonic() > deadline:
            return None
        time.sleep(0.25)


def original_name(name: str) -> str:
    """A file's name as written (``advance`` marks each file it moves out with a ``done-``)."""
    return re.sub(r"^(done-)+", "", name)


def advance(folder: Path, groups: int) -> None:
    """One simulated 5 minutes: each group's next file in (one never in the window: ``done-`` files
    sort first, and before 2026-12-04 the second round brought back the file the first moved out),
    its oldest out."""
    for group in range(groups):
        live, staged = folder / f"live-{group:02d}", folder / f"staged-{group:02d}"
        newest = sorted(staged.glob("part-*.parquet"))[0]
        oldest = sorted(live.glob("*.parquet"), key=lambda p: original_name(p.name))[0]
        newest.rename(live / newest.name)
        oldest.rename(staged / f"done-{oldest.name}")


class Scraper(threading.Thread):
    """GET /metrics every ``interval`` seconds until stopped: (start time, latency ms) each."""

    def __init__(self, port: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.port, self.interval = port, interval
        self.samples: list[tuple[float, float]] = []
        self.failures = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            began = time.monotonic()
            try:
                seconds, _ = busy_scrape.scrape(self.port, timeout=30.0)
                self.samples.append((began, seconds * 1000))
            except (OSError, RuntimeError):
                self.failures += 1
            self.stop.wait(max(0.0, self.interval - (time.monotonic() - began)))


def measure(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    config = write_data(folder, args)
    port = busy_scrape.free_port()
    log = folder / "daemon.log"
    flags = ["--log.level", "debug", *args.flags]
    limit = time.monotonic() + args.time_limit
    with busy_scrape.daemon(config, port, log, flags) as process:
        memory = Memory(process.pid)
        sampling = threading.Event()

        def sample_memory() -> None:
            while not sampling.wait(0.5):
                memory.sample()

        sampler = threading.Thread(target=sample_memory, daemon=True)
        sampler.start()
        started = time.monotonic()
        tail = LogTail(log)
        counts = wait_round(tail, process, args.monitors, {}, limit)
        if counts is None:
            raise RuntimeError(f"not every monitor was evaluated once within --time-limit; see {log}")
        after_warmup = counts
        warm_s, warm_cpu = time.monotonic() - started, cpu_seconds(process.pid)
        log_offset = log.stat().st_size
        scraper = Scraper(port, args.scrape_interval)
        scraper.start()
        rounds: list[dict[str, float]] = []
        for _ in range(args.rounds):
            advance(folder, args.groups)
            moved, cpu_moved = time.monotonic(), cpu_seconds(process.pid)
            finished = wait_round(tail, process, args.monitors, counts, limit)
            if finished is None:  # out of time: the figures cover the rounds that finished
                break
            counts = finished
            rounds.append({"seconds": time.monotonic() - moved, "cpu_s": cpu_seconds(process.pid) - cpu_moved})
        if not rounds:
            raise RuntimeError(f"no round finished within --time-limit; see {log}")
        elapsed = sum(r["seconds"] for r in rounds)
        cpu = sum(r["cpu_s"] for r in rounds)
        scraper.stop.set()
        scraper.join(60)
        memory.sample()
        sampling.set()
        sampler.join(5)
        daemon_peak = memory.peaks_kb.get(process.pid, 0)
        workers = {pid: kb for pid, kb in memory.peaks_kb.items() if pid != process.pid}
        text = busy_scrape.metrics_text(port)
    done = sum(counts.values()) - sum(after_warmup.values())
    cache = [tuple(int(v) for v in m.groups()) for m in _REUSED.finditer(log.read_text()[log_offset:])]
    latencies = [ms for _, ms in scraper.samples]
    series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    hours = len(rounds) / WINDOW_FILES
    return {
        "monitors": args.monitors,
        "features": args.features,
        "text_features": sum(name.startswith("t") for name in feature_names(args.features)),
        "groups": args.groups,
        "rows_per_file": args.rows,
        "reference_rows": args.reference_rows,
        "window_files": WINDOW_FILES,
        "rounds": args.rounds,
        "rounds_done": len(rounds),
        "interval_s": args.interval,
        "series": series,
        "warmup_s": round(warm_s, 1),
        "warmup_cpu_s": round(warm_cpu, 1),
        "rounds_s": round(elapsed, 1),
        "cpu_s": round(cpu, 1),
        "cpu_s_per_simulated_hour": round(cpu / hours, 1),
        "cpu_s_per_hour_at_one_evaluation_per_round": round(cpu / max(done, 1) * args.monitors * WINDOW_FILES, 1),
        "evaluations": int(done),
        "cpu_s_per_evaluation": round(cpu / max(done, 1), 4),
        "round_seconds_median": round(statistics.median(r["seconds"] for r in rounds), 2),
        "round_seconds_max": round(max(r["seconds"] for r in rounds), 2),
        "round_cpu_s": [round(r["cpu_s"], 2) for r in rounds],
        "daemon_peak_rss_mb": round(daemon_peak / 1024, 1),
        "worker_peak_rss_mb": sorted(round(kb / 1024, 1) for kb in workers.values()),
        "tree_peak_rss_mb": round(memory.tree_rss_kb / 1024, 1),
        "scrapes": len(latencies),
        "scrape_failures": scraper.failures,
        "scrape_p50_ms": round(float(np.quantile(latencies, 0.5)), 2) if latencies else None,
        "scrape_p90_ms": round(float(np.quantile(latencies, 0.9)), 2) if latencies else None,
        "scrape_p99_ms": round(float(np.quantile(latencies, 0.99)), 2) if latencies else None,
        "scrape_max_ms": round(max(latencies), 2) if latencies else None,
        "evaluations_logged": len(cache),
        "files_reused": sum(c[0] for c in cache),
        "files_read": sum(c[1] for c in cache),
        "bytes_read": sum(c[2] for c in cache),
    }


def markdown(document: dict[str, Any]) -> str:
    f = document["figures"]
    rows = [
        (
            "CPU seconds per simulated hour (daemon + workers), as measured",
            f"**{f['cpu_s_per_simulated_hour']:,.1f} s**",
        ),
        (
            "the same at exactly one evaluation per monitor and round (CPU per evaluation x monitors x 12)",
            f"{f['cpu_s_per_hour_at_one_evaluation_per_round']:,.1f} s",
        ),
        ("evaluations in the rounds (monitors x rounds at least)", f"{f['evaluations']:,}"),
        ("CPU per evaluation", f"{f['cpu_s_per_evaluation'] * 1000:.1f} ms"),
        ("a round of every monitor (median, max)", f"{f['round_seconds_median']} s, {f['round_seconds_max']} s"),
        ("peak RSS: daemon (VmHWM)", f"{f['daemon_peak_rss_mb']} MB"),
        (
            "peak RSS: each other process (forkserver, workers; VmHWM)",
            ", ".join(f"{v} MB" for v in f["worker_peak_rss_mb"]) or "-",
        ),
        ("peak RSS: the whole tree (largest sampled sum of VmRSS)", f"{f['tree_peak_rss_mb']} MB"),
        (
            "/metrics while evaluations run: p50, p90, p99, max",
            f"{f['scrape_p50_ms']}, {f['scrape_p90_ms']}, "
            f"**{f['scrape_p99_ms']}**, {f['scrape_max_ms']} ms "
            f"({f['scrapes']:,} scrapes, {f['scrape_failures']} failed)",
        ),
        ("series in /metrics", f"{f['series']:,}"),
        (
            "live files reused / read over the rounds",
            f"{f['files_reused']:,} / {f['files_read']:,} "
            f"({f['bytes_read'] / 1e6:,.0f} MB read, {f['evaluations_logged']:,} evaluations logged)",
        ),
        ("warm-up (first evaluation of every monitor)", f"{f['warmup_s']} s, {f['warmup_cpu_s']} CPU s"),
    ]
    lines = [
        f"# The daemon at scale, {document['date']}",
        "",
        f"Machine: {document['machine']}. Command: `{document['command']}` "
        f"(took {document['duration_s'] / 60:.1f} min).",
        f"driftmon: git HEAD {document['git_head']}. "
        f"Load average before/after: {document['load_before']} / {document['load_after']}.",
        "",
        f"{f['monitors']} monitors x {f['features']} features ({f['text_features']} text of 20 values) "
        f"in {f['groups']} groups; each "
        f"monitor's live window: the newest {f['window_files']} files of {f['rows_per_file']:,} rows (an hour of "
        f"5-minute files); reference {f['reference_rows']:,} rows; schedule {f['interval_s']} s = 5 simulated "
        f"minutes; {f['rounds_done']} of {f['rounds']} rounds finished (a new file per group before each) "
        "after the warm-up. A round ends when every monitor has been evaluated since its files moved; "
        "a monitor still due when a round runs long is evaluated again (coalesced), so a round may hold "
        "more evaluations than monitors.",
        "",
        "| figure | value |",
        "|---|---:|",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        "CPU per round (s): " + ", ".join(f"{v}" for v in f["round_cpu_s"]) + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--monitors", type=int, default=200)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--groups", type=int, default=20, help="monitor groups, each with its own files")
    parser.add_argument("--rows", type=int, default=5_000, help="rows of one 5-minute live file")
    parser.add_argument("--reference-rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=12, help="simulated 5-minute steps (12: an hour)")
    parser.add_argument("--interval", type=int, default=20, help="the schedule, seconds (5 simulated minutes)")
    parser.add_argument("--scrape-interval", type=float, default=2.0, help="seconds between scrapes (gzip)")
    parser.add_argument("--time-limit", type=float, default=540.0, help="seconds before the run gives up")
    parser.add_argument("--data", type=Path, default=HERE / "data" / "daemon-scale")
    parser.add_argument("--output", default="", help="results file stem (default results/daemon-scale-<date>)")
    parser.add_argument("--tiny", action="store_true", help="10 monitors x 10 features, 3 rounds of 3 s")
    parser.add_argument("flags", nargs="*", help="extra flags for driftmon run (after --)")
    args = parser.parse_args(argv)
    if args.tiny:
        args.monitors, args.features, args.groups, args.rows, args.reference_rows = 10, 10, 2, 500, 2_000
        args.rounds, args.interval, args.data = 3, 3, args.data.with_name("daemon-scale-tiny")
    started = dt.datetime.now(dt.UTC)
    load_before = f"{os.getloadavg()[0]:.2f}"
    figures = measure(args.data, args)
    head = os.popen(f"git -C {HERE.parent} rev-parse --short HEAD").read().strip() or "none"
    document = {
        "date": started.isoformat(timespec="seconds"),
        "duration_s": (dt.datetime.now(dt.UTC) - started).total_seconds(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; {platform.platform()}",
        "command": " ".join(["benchmarks/daemon_scale.py", *(argv if argv is not None else sys.argv[1:])]),
        "git_head": head,
        "load_before": load_before,
        "load_after": f"{os.getloadavg()[0]:.2f}",
        "figures": figures,
    }
    text = markdown(document)
    print(text)
    default = args.data / "result" if args.tiny else HERE / "results" / f"daemon-scale-{started:%Y-%m-%dT%H%M}"
    stem = Path(args.output) if args.output else default
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".md").write_text(text)
    stem.with_suffix(".json").write_text(json.dumps(document, indent=1) + "\n")
    print(f"written: {stem.with_suffix('.md')}, {stem.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
