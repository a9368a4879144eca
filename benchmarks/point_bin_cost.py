"""What point-bin detection costs on continuous data: ``python benchmarks/point_bin_cost.py``.

The numeric bins of a reference column come from :func:`driftmon.histogram.ranked_spec`, which
first asks whether the column holds at most ``bins`` distinct values and which values hold at
least 1/``bins`` of it (point bins), then selects the quantile edges. On a continuous column
neither question finds anything; this measures what asking costs: ``ranked_spec`` on 1 M
normal values with the questions asked (the shipped code) and with them answered "none"
without looking (the same edges, checked), interleaved, thread CPU time, median of
``--repeat`` runs each. Writes benchmarks/results/point-bin-cost-<date>.{md,json}.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from driftmon.histogram import ranked_spec  # noqa: E402
from driftmon.ranks import Ranked, RankedFinite  # noqa: E402


class Undetected(RankedFinite):
    """The same values with the point-bin questions answered "none" without looking."""

    def distinct(self, limit: int) -> tuple[float, ...] | None:
        return None

    def heavy(self, share: int) -> list[tuple[float, int, int]]:
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--output", default="", help="results file stem (default results/point-bin-cost-<date>)")
    args = parser.parse_args(argv)
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()[0]
    column = np.random.default_rng(7).normal(size=args.rows)
    times: dict[str, list[float]] = {"detected": [], "undetected": []}
    edges = {}
    for _ in range(args.repeat):
        for name, kind in (("detected", RankedFinite), ("undetected", Undetected)):
            values = column.copy()
            begun = time.thread_time()
            spec = ranked_spec(kind(Ranked(values)), "quantile", 10)
            times[name].append(time.thread_time() - begun)
            edges[name] = spec
    if edges["detected"] != edges["undetected"]:
        raise SystemExit("the two paths gave different bins: the comparison is void")
    medians = {name: statistics.median(values) for name, values in times.items()}
    document = {
        "date": started.isoformat(timespec="seconds"),
        "rows": args.rows,
        "repeat": args.repeat,
        "load_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "median_ms": {name: round(value * 1000, 3) for name, value in medians.items()},
        "min_ms": {name: round(min(values) * 1000, 3) for name, values in times.items()},
        "detection_ms": round((medians["detected"] - medians["undetected"]) * 1000, 3),
    }
    text = "\n".join(
        [
            f"# Point-bin detection on continuous data, {document['date']}",
            "",
            f"`ranked_spec` (10 quantile bins) on {args.rows:,} normal values, thread CPU, median of {args.repeat} "
            f"interleaved runs each; load average {document['load_before_after'][0]} before, "
            f"{document['load_before_after'][1]} after. Same edges both ways (checked).",
            "",
            "| path | median | min |",
            "|---|---:|---:|",
            *(
                f"| {name} | {document['median_ms'][name]:.2f} ms | {document['min_ms'][name]:.2f} ms |"
                for name in ("detected", "undetected")
            ),
            "",
            f"Detection: **{document['detection_ms']:.2f} ms per column of {args.rows:,} values**.",
            "",
        ]
    )
    print(text)
    stem = Path(args.output) if args.output else HERE / "results" / f"point-bin-cost-{started:%Y-%m-%dT%H%M}"
    stem.with_suffix(".md").write_text(text)
    stem.with_suffix(".json").write_text(json.dumps(document, indent=1) + "\n")
    print(f"written: {stem.with_suffix('.md')}, {stem.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
