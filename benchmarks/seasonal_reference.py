#!/usr/bin/env python3
"""A weekly-seasonal stream: a static reference alarms on the cycle, ``seasonal: 1w`` only on the real shift.

    .venv/bin/python benchmarks/seasonal_reference.py                 # evaluate: about 1 min
    /work/venv-peers/bin/python benchmarks/seasonal_reference.py --plot  # draw docs/img/seasonal-reference.png

Four weeks of hourly files (``ROWS`` rows each) from Monday 2026-03-02 00:00 UTC. A
numeric ``x`` is normal with sd 1 around a mean that follows a daily cycle (amplitude
``DAILY`` sd, peak at 15:00) plus a weekend lift (``WEEKEND`` sd on Saturdays and Sundays),
and a categorical ``channel`` whose web share follows the day too. One real shift: on
day 23 (a Tuesday of week 4), hours 10-15, ``x`` moves by ``SHIFT`` sd.

Two monitors over the same live source (``window: {column: ts, last: 1h}``, one file per
hour named by a path template), evaluated at every hour of weeks 2-4:

- ``static``: the reference is week 1, pooled (a training set);
- ``seasonal``: ``reference: {from: live, seasonal: 1w}``.

Both count in the same bins, profiled from week 1 (``bins:``), so the scores are comparable.
The evaluation writes benchmarks/results/seasonal-reference-<date>.json and .md; ``--plot``
(matplotlib, no driftmon import) draws the latest result file. The test
tests/test_reference.py runs the same stream, smaller, through :func:`make_stream`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)  # a Monday
ROWS = 5_000
DAILY = 1.0
WEEKEND = 0.7
SHIFT = 0.6
SHIFT_DAY, SHIFT_HOURS = 22, range(10, 16)  # day index from T0 (0: the first Monday): Tuesday of week 4
WEEKS = 4


def mean_at(hour: int) -> float:
    """The cycle's mean of x at hour ``hour`` after T0 (no shift)."""
    import math

    day, clock = divmod(hour, 24)
    weekend = WEEKEND if day % 7 >= 5 else 0.0
    return DAILY * math.sin(2 * math.pi * (clock - 9) / 24) + weekend


def shifted(hour: int) -> bool:
    day, clock = divmod(hour, 24)
    return day == SHIFT_DAY and clock in SHIFT_HOURS


def make_stream(folder: Path, rows: int = ROWS, weeks: int = WEEKS, seed: int = 0) -> None:
    """Hourly Parquet files ``folder/hours/YYYYMMDDHH.parquet``, ``folder/week1.parquet``
    (week 1 pooled) and ``folder/driftmon.yaml`` with the two monitors; bins come from week 1."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from driftmon import config
    from driftmon.histogram_file import to_document
    from driftmon.reference import profile_reference

    rng = np.random.default_rng(seed)
    (folder / "hours").mkdir(parents=True, exist_ok=True)
    hours = weeks * 7 * 24
    hour = np.repeat(np.arange(hours), rows)  # every row's hour since T0, all hours at once
    offsets = np.sort(rng.integers(0, 3_600_000, (hours, rows)), axis=1).ravel()
    stamps = np.datetime64(T0.replace(tzinfo=None), "ms") + (hour * 3_600_000 + offsets).astype("timedelta64[ms]")
    means = np.array([mean_at(h) + (SHIFT if shifted(h) else 0.0) for h in range(hours)])
    web = 0.5 + 0.3 * np.sin(2 * np.pi * ((np.arange(hours) % 24) - 9) / 24)
    table = pa.table(
        {
            "ts": pa.array(stamps, type=pa.timestamp("ms", tz="UTC")),
            "x": rng.normal(means[hour], 1.0),
            "channel": np.where(rng.random(hour.size) < web[hour], "web", "app"),
        }
    )
    for index in range(hours):
        start = T0 + dt.timedelta(hours=index)
        pq.write_table(table.slice(index * rows, rows), folder / "hours" / f"{start:%Y%m%d%H}.parquet")
    pq.write_table(table.slice(0, 7 * 24 * rows), folder / "week1.parquet")
    live = "{type: file, path: 'hours/{start:%Y%m%d%H}.parquet', window: {column: ts, last: 1h}}"
    monitor = """\
  - name: {name}
    reference: {reference}
    live: {live}
    features: [x, {{name: channel, kind: categorical}}]
"""
    text = "defaults: {measures: [js, psi]}\nmonitors:\n" + monitor.format(
        name="static", reference="{type: file, path: week1.parquet}", live=live
    )
    (folder / "driftmon.yaml").write_text(text, encoding="utf-8")
    bins = profile_reference(config.load(folder / "driftmon.yaml").monitors[0])
    (folder / "week1-bins.json").write_text(json.dumps(to_document(bins)), encoding="utf-8")
    text += monitor.format(name="seasonal", reference="{from: live, seasonal: 1w, bins: week1-bins.json}", live=live)
    (folder / "driftmon.yaml").write_text(text, encoding="utf-8")


def evaluate_hours(folder: Path, hours: list[int]) -> dict[str, list[dict[str, Any]]]:
    """Both monitors at the end of each hour in ``hours``: status and x's PSI, per monitor."""
    from driftmon import config
    from driftmon.evaluate import ReferenceCache, evaluate

    monitors = config.load(folder / "driftmon.yaml").monitors
    cache = ReferenceCache()
    found: dict[str, list[dict[str, Any]]] = {m.name: [] for m in monitors}
    for hour in hours:
        now = (T0 + dt.timedelta(hours=hour + 1)).timestamp()
        for monitor in monitors:
            result = evaluate(monitor, cache, clock=lambda now=now: now)
            assert result.error is None, result.error
            x = next(f for f in result.features if f.feature == "x")
            found[monitor.name].append(
                {"hour": hour, "status": result.status, "psi_x": x.scores.get("psi"), "shift": shifted(hour)}
            )
    return found


def summary(found: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, int]]:
    """Per monitor: hours at warning or critical among the shifted hours and among the others."""
    table = {}
    for name, rows in found.items():
        alarmed = [r for r in rows if r["status"] in ("warning", "critical")]
        table[name] = {
            "hours": len(rows),
            "shift_hours": sum(r["shift"] for r in rows),
            "alarmed_in_shift": sum(r["shift"] for r in alarmed),
            "alarmed_outside_shift": sum(not r["shift"] for r in alarmed),
        }
    return table


def run(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    began = time.time()
    load_before = os.getloadavg()
    make_stream(folder)
    hours = list(range(7 * 24, WEEKS * 7 * 24))
    found = evaluate_hours(folder, hours)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    document = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "stream": {"rows_per_hour": ROWS, "weeks": WEEKS, "daily_sd": DAILY, "weekend_sd": WEEKEND, "shift_sd": SHIFT},
        "shift": {"day": SHIFT_DAY, "hours": list(SHIFT_HOURS)},
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "seconds": round(time.time() - began, 1),
        "summary": summary(found),
        "hours": found,
    }
    out = HERE / "results" / f"seasonal-reference-{stamp}.json"
    out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    lines = [
        f"# Seasonal reference on a weekly-seasonal stream ({stamp})",
        "",
        "`benchmarks/seasonal_reference.py` (docs/references.md): hourly files over four weeks, a daily and a",
        f"weekly cycle, one real shift of {SHIFT} sd on day {SHIFT_DAY} hours {SHIFT_HOURS.start}-"
        f"{SHIFT_HOURS.stop - 1}; both monitors evaluated at the end of every hour of weeks 2-4.",
        f"Load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after; {document['seconds']} s.",
        "",
        "| reference | hours | shifted hours | alarmed (warning/critical) in the shift | alarmed outside it |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in document["summary"].items():
        lines.append(
            f"| {name} | {row['hours']} | {row['shift_hours']} | {row['alarmed_in_shift']} | "
            f"{row['alarmed_outside_shift']} |"
        )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def plot(result: Path, image: Path) -> None:
    """PSI of x per hour for both references, alarms marked, the shift shaded (matplotlib only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    document = json.loads(result.read_text(encoding="utf-8"))
    figure, axes = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True)
    labels = {"static": "static reference (week 1, pooled)", "seasonal": "reference: {from: live, seasonal: 1w}"}
    for axis, name in zip(axes, ("static", "seasonal"), strict=True):
        rows = document["hours"][name]
        days = [row["hour"] / 24 for row in rows]
        axis.plot(days, [row["psi_x"] for row in rows], lw=0.8, color="#345")
        for level, color in (("warning", "#e8a33d"), ("critical", "#c0392b")):
            marked = [(d, row["psi_x"]) for d, row in zip(days, rows, strict=True) if row["status"] == level]
            if marked:
                axis.scatter(*zip(*marked, strict=True), s=9, color=color, label=level, zorder=3)
        shift = document["shift"]
        axis.axvspan(
            shift["day"] + shift["hours"][0] / 24,
            shift["day"] + (shift["hours"][-1] + 1) / 24,
            color="#c0392b",
            alpha=0.12,
            label="real shift",
        )
        summary_row = document["summary"][name]
        axis.set_title(
            f"{labels[name]}: alarmed {summary_row['alarmed_outside_shift']} of "
            f"{summary_row['hours'] - summary_row['shift_hours']} normal hours, "
            f"{summary_row['alarmed_in_shift']} of {summary_row['shift_hours']} shifted hours",
            fontsize=10,
        )
        for level, value in (("warning", 0.02), ("critical", 0.1)):  # the default PSI thresholds
            axis.axhline(value, ls="--", lw=0.7, color="#888")
            axis.annotate(f"{level} {value:g}", (days[-1], value), fontsize=7, color="#666", va="bottom", ha="right")
        axis.set_ylabel("PSI of x")
        axis.set_yscale("log")
        axis.legend(loc="upper left", fontsize=8, ncol=3)
    axes[-1].set_xlabel("day since Monday 2026-03-02 (hourly evaluations of weeks 2-4)")
    figure.tight_layout()
    figure.savefig(image, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=HERE / "data" / "seasonal")
    parser.add_argument("--plot", action="store_true", help="draw the latest result (matplotlib, no evaluation)")
    parser.add_argument("--image", type=Path, default=ROOT / "docs" / "img" / "seasonal-reference.png")
    args = parser.parse_args()
    if args.plot:
        result = sorted((HERE / "results").glob("seasonal-reference-*.json"))[-1]
        plot(result, args.image)
        print(f"wrote {args.image} from {result}")
        return 0
    print(f"wrote {run(args.data)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
