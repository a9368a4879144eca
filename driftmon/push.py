"""Batch mode: the daemon's series for one `driftmon check`, pushed to a Pushgateway or written as a textfile.

The series are the exporter's (:func:`driftmon.collector.families` over a snapshot of this
run's results), without the config-reload pair (a one-shot run has no reload):
scores, thresholds, alerts, p-values, samples, ``driftmon_monitor_up``,
``driftmon_last_success_timestamp_seconds`` (when the monitor succeeded), the schedule
interval (the monitor's ``schedule``: set it to the pipeline's cadence, the staleness
alerts read it) and ``driftmon_build_info``. In a run the counters count that run (one
evaluation; one failure if it failed).

Pushgateway: one group per monitor, ``/metrics/job/<job>/monitor/<name>{/<k>/<v>}``. A
monitor that succeeded replaces its group (PUT), so features and measures it no longer
has disappear; a monitor that failed only replaces the series it has (POST), so its last
good scores and ``driftmon_last_success_timestamp_seconds`` stay, as in the daemon, while
``driftmon_monitor_up`` drops to 0. The Pushgateway adds ``push_time_seconds`` per group,
which the "no push" alert reads.

Textfile (node_exporter's textfile collector): every monitor in one file, written to a
temporary file in the same directory and renamed over the target, so a reader never sees
half a file. A failed monitor keeps the series the previous file held for it (its last good
scores and ``driftmon_last_success_timestamp_seconds``) beside this run's
``driftmon_monitor_up 0``, as in the daemon and the Pushgateway; a previous file that cannot
be read or parsed is ignored.
"""

from __future__ import annotations

import base64
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest, push_to_gateway, pushadd_to_gateway
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from driftmon import redact
from driftmon.collector import families
from driftmon.errors import DriftmonError
from driftmon.evaluate import MonitorResult
from driftmon.httpclient import open_url
from driftmon.results import MonitorState, Snapshot

DEFAULT_JOB = "driftmon"
_NOT_BATCH = frozenset(
    {"driftmon_config_last_reload_successful", "driftmon_config_last_reload_success_timestamp_seconds"}
)


def state(result: MonitorResult, interval_s: float) -> MonitorState:
    """What the daemon would hold after this one evaluation."""
    return MonitorState(
        name=result.monitor,
        labels=dict(result.labels),
        measures=result.measures,
        log_base=result.log_base,
        interval_s=interval_s,
        latest=result,
        scored=result if result.ok else None,
        evaluations=1,
        failures=0 if result.ok else 1,
        last_success_s=result.started_at + result.duration_s if result.ok else None,
    )


class _BatchCollector(Collector):
    """The exporter's families for some monitors' states, without the reload metrics."""

    def __init__(self, states: Sequence[MonitorState]) -> None:
        self._snapshot = Snapshot(version=1, monitors=tuple(states))

    def collect(self) -> Iterable[Metric]:
        return [family for family in families(self._snapshot) if family.name not in _NOT_BATCH]

    def describe(self) -> Iterable[Metric]:
        return []


def registry(results: Sequence[MonitorResult], intervals: Mapping[str, float]) -> CollectorRegistry:
    """A registry holding the series of ``results`` (``intervals``: monitor -> schedule seconds)."""
    collected = CollectorRegistry(auto_describe=False)
    collected.register(_BatchCollector([state(r, intervals.get(r.monitor, 0.0)) for r in results]))
    return collected


def render(results: Sequence[MonitorResult], intervals: Mapping[str, float]) -> str:
    """The Prometheus text exposition of ``results`` (what the textfile holds)."""
    return generate_latest(registry(results, intervals)).decode("utf-8")


def write_textfile(path: str | Path, results: Sequence[MonitorResult], intervals: Mapping[str, float]) -> None:
    """Write the exposition to ``path`` atomically: a temporary file beside it, then a rename;
    a failed monitor keeps its series from the file it replaces (see the module docstring)."""
    target = Path(path)
    text = render(results, intervals)
    failed = {r.monitor for r in results if not r.ok}
    if failed:
        text = _with_last_good(text, _previous(target), failed)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o644)  # node_exporter often runs as another user
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise DriftmonError(f"cannot write the textfile {target}: {error.strerror}") from None


def _previous(target: Path) -> str:
    try:
        return target.read_text(encoding="utf-8") if target.is_file() else ""
    except (OSError, UnicodeDecodeError):
        return ""


def _with_last_good(text: str, previous: str, failed: set[str]) -> str:
    """``text`` with the samples ``previous`` held for the ``failed`` monitors that ``text``
    lacks (same name and labels), in their families."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        old = list(text_string_to_metric_families(previous))
    except ValueError:
        return text
    new = {family.name: family for family in text_string_to_metric_families(text)}
    present = {(sample.name, tuple(sorted(sample.labels.items()))) for f in new.values() for sample in f.samples}
    for family in old:
        kept = [
            sample
            for sample in family.samples
            if sample.labels.get("monitor") in failed
            and (sample.name, tuple(sorted(sample.labels.items()))) not in present
        ]
        if not kept:
            continue
        if family.name not in new:
            new[family.name] = Metric(family.name, family.documentation, family.type)
        new[family.name].samples.extend(kept)
    carried = CollectorRegistry(auto_describe=False)
    carried.register(_Families(list(new.values())))
    return generate_latest(carried).decode("utf-8")


class _Families(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics

    def describe(self) -> Iterable[Metric]:
        return []


def safe_url(url: str) -> str:
    """``url`` without user:password@ (for messages)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.username is None:
        return url
    host = parsed.hostname or ""
    port = f":{parsed.port}" if parsed.port else ""
    return urllib.parse.urlunsplit((parsed.scheme, host + port, parsed.path, parsed.query, parsed.fragment))


def push(
    gateway: str,
    results: Sequence[MonitorResult],
    intervals: Mapping[str, float],
    *,
    job: str = DEFAULT_JOB,
    grouping: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> None:
    """Push each monitor's series to its own group on the Pushgateway at ``gateway``.

    Raises DriftmonError naming the gateway (without credentials) and the monitor when a
    push fails.
    """
    parsed = urllib.parse.urlsplit(gateway)
    credentials: list[tuple[str, str]] = []
    if parsed.username is not None:
        # user:password@ in the URL: basic auth, and the URL without them on the wire.
        user, password = urllib.parse.unquote(parsed.username), urllib.parse.unquote(parsed.password or "")
        credentials.append(("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()))
        gateway = safe_url(gateway)

    def handler(url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes) -> Any:
        return lambda: _send(url, method, timeout, [*headers, *credentials], data)

    for result in results:
        key = {**(grouping or {}), "monitor": result.monitor}
        one = registry([result], intervals)
        send = push_to_gateway if result.ok else pushadd_to_gateway
        try:
            send(gateway, job=job, registry=one, grouping_key=key, timeout=timeout, handler=handler)
        except urllib.error.HTTPError as error:
            detail = redact.text(error.read().decode("utf-8", errors="replace").strip(), limit=300)  # mask, then cut
            raise DriftmonError(
                f"push of monitor {result.monitor!r} to the Pushgateway {safe_url(gateway)} failed: "
                f"HTTP {error.code} {detail}"
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise DriftmonError(
                f"cannot push monitor {result.monitor!r} to the Pushgateway {safe_url(gateway)}: {reason}"
            ) from None


def _send(url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes) -> None:
    """prometheus_client's default handler, through driftmon's opener: a redirect to another
    origin does not take the credentials along (driftmon.httpclient)."""
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers))
    with open_url(request, timeout if timeout is not None else 30.0):
        pass
