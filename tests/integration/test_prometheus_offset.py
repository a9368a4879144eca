"""`type: prometheus` with ``offset``: a real Prometheus holding samples at two past times.

The samples are backfilled with ``promtool tsdb create-blocks-from openmetrics`` into the
storage folder of a Prometheus started on 127.0.0.1 (stopped by its pid): a classic
histogram and a counter per category, rising at one rate around the window a day before
the evaluation time and at another rate around the last hour. ``offset: 1d`` must count the
older window, no offset the newer one; each count is the rate times the window, by hand.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from servers import free_port, require_binary, running_prometheus

from driftmon import config as driftmon_config
from driftmon.errors import DataError
from driftmon.evaluate import evaluate
from driftmon.histogram import BinningRule, CategoricalBins, NumericBins
from driftmon.sources.prometheus import PrometheusSource, PrometheusSourceConfig

pytestmark = pytest.mark.integration

EDGES = ("0.1", "0.5", "1", "5")
STEP = 60  # seconds between samples
# Per sample (per minute): each latency bucket's own increase (the last is above 5), and each country's.
OLD = {"latency": [5, 7, 8, 6, 4], "country": {"US": 10, "DE": 5}}
NEW = {"latency": [1, 3, 9, 10, 7], "country": {"US": 4, "DE": 5, "BR": 6}}
HOUR, DAY = 3600, 86_400


def openmetrics(new_start: int) -> str:
    """Samples every minute from 30 min before the older window (a day before ``new_start``) to
    30 min after the newer one ends; the counters rise only within 30 min of either window."""
    old_start = new_start - DAY
    times = np.arange(old_start - 1800, new_start + HOUR + 1800 + 1, STEP)

    def rising(start: int) -> np.ndarray:  # minutes of rise up to each time, within [start - 30m, start + 90m]
        return (np.clip(times, start - 1800, start + HOUR + 1800) - (start - 1800)) // STEP

    old, new = rising(old_start), rising(new_start)
    cumulative_old, cumulative_new = np.cumsum(OLD["latency"]), np.cumsum(NEW["latency"])
    lines = ["# TYPE latency_seconds histogram"]
    for i, at in enumerate(times.tolist()):
        buckets = old[i] * cumulative_old + new[i] * cumulative_new
        for le, value in zip([*EDGES, "+Inf"], buckets.tolist(), strict=True):
            lines.append(f'latency_seconds_bucket{{le="{le}"}} {value} {at}')
        lines.append(f"latency_seconds_count {buckets[-1]} {at}")
        lines.append(f"latency_seconds_sum {buckets[-1] * 0.7:.1f} {at}")
    lines.append("# TYPE requests counter")
    for country in ("US", "DE", "BR"):
        for i, at in enumerate(times.tolist()):
            if country in OLD["country"] or new[i] > 0 or times[i] >= new_start - 1800:
                value = old[i] * OLD["country"].get(country, 0) + new[i] * NEW["country"][country]
                lines.append(f'requests_total{{country="{country}"}} {value} {at}')
    return "\n".join(lines) + "\n# EOF\n"


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(url, the newer window's start) of a Prometheus whose storage holds the backfilled blocks."""
    prometheus, promtool = require_binary("prometheus"), require_binary("promtool")
    directory = tmp_path_factory.mktemp("prometheus-offset")
    new_start = int(time.time()) // HOUR * HOUR - 3 * HOUR  # recent, well inside the 15 d retention
    (directory / "samples.om").write_text(openmetrics(new_start))
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(directory / "samples.om"), str(directory / "data")],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    (directory / "prometheus.yml").write_text(yaml.safe_dump({"global": {"scrape_interval": "1m"}}))
    port = free_port()
    with running_prometheus(prometheus, directory, port):
        yield f"http://127.0.0.1:{port}", new_start


FEATURES = {"latency": {"histogram": "latency_seconds"}, "country": {"counter": "requests_total", "label": "country"}}


def source(url: str, at: int, offset: str | None = None) -> PrometheusSource:
    fields = {"type": "prometheus", "url": url, "window": "1h", "features": FEATURES}
    if offset:
        fields["offset"] = offset
    return PrometheusSource(PrometheusSourceConfig(**fields), Path("."), at)  # type: ignore[arg-type]


RULES = [BinningRule("latency"), BinningRule("country")]


def test_offset_counts_the_older_window_and_no_offset_the_newer(backfilled: tuple[str, int]) -> None:
    """At the end of the newer window, ``offset: 1d`` counts 60 minutes of the older rates and no
    offset 60 minutes of the newer ones: per bucket and per category, by hand."""
    url, new_start = backfilled
    at = new_start + HOUR
    older = source(url, at, "1d").profile(RULES)
    assert older["latency"].spec == NumericBins(tuple(float(e) for e in EDGES))
    np.testing.assert_allclose(older["latency"].counts, np.array(OLD["latency"]) * 60, rtol=1e-9)
    spec = older["country"].spec
    assert isinstance(spec, CategoricalBins) and spec.categories == ("US", "DE")
    np.testing.assert_allclose(older["country"].counts, [600, 300, 0, 0], rtol=1e-9, atol=1e-9)
    specs = {name: h.spec for name, h in older.items()}
    newer = source(url, at).count(specs)
    np.testing.assert_allclose(newer["latency"].counts, np.array(NEW["latency"]) * 60, rtol=1e-9)
    np.testing.assert_allclose(newer["country"].counts, [240, 300, 0, 360], rtol=1e-9, atol=1e-9)  # BR unseen
    # Two days back there is nothing: a clear error naming the feature and the offset.
    with pytest.raises(DataError, match=r"no series for feature 'latency' in the window .*offset 2d"):
        source(url, at, "2d").count(specs)


def test_a_monitor_against_last_week_style_offset_scores_the_two_windows(
    backfilled: tuple[str, int], tmp_path: Path
) -> None:
    """A monitor whose reference is the same Prometheus one day back: the reference and live
    counts are the two windows', and the shifted latency and the new country are critical."""
    url, new_start = backfilled
    sides = {"reference": {"offset": "1d"}, "live": {}}
    monitor = {
        "name": "offset",
        **{side: {"type": "prometheus", "url": url, "window": "1h", "features": FEATURES, **extra}
           for side, extra in sides.items()},
        "features": ["latency", "country"],
    }  # fmt: skip
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"monitors": [monitor]}))
    result = evaluate(driftmon_config.load(tmp_path / "c.yaml").monitors[0], clock=lambda: float(new_start + HOUR))
    assert result.error is None, result.error
    counts = [(f.feature, round(f.reference_count, 6), round(f.live_count, 6)) for f in result.features]
    assert counts == [("latency", 1800, 1800), ("country", 900, 900)]
    assert {f.feature: f.worst for f in result.features} == {"latency": "critical", "country": "critical"}
