"""The results store: snapshots swapped whole on reconfigure, record and failed reload."""

from __future__ import annotations

from pathlib import Path

from driftmon import config
from driftmon.evaluate import ERROR, OK, FeatureResult, MonitorResult
from driftmon.results import ResultsStore

CONFIG = """
monitors:
  - name: a
    reference: {{type: file, path: ref.csv}}
    live: {{type: file, path: live.csv}}
    features: {features}
  - name: b
    labels: {{team: x}}
    reference: {{type: file, path: ref.csv}}
    live: {{type: file, path: live.csv}}
    features: [x]
"""


def load(features: str = "[x, y]") -> config.Config:
    text = CONFIG.format(features=features)
    return config.loads(text, Path("/tmp/driftmon-test.yaml"), {})


def outcome(name: str, features: tuple[str, ...] = ("x", "y"), *, error: str | None = None) -> MonitorResult:
    return MonitorResult(
        monitor=name,
        status=ERROR if error else OK,
        error=error,
        features=tuple(
            FeatureResult(
                f, "numeric", 10, 10, 0.0, {"kl": 0.1, "js": 0.01}, {"kl": OK, "js": OK}, {"js": (0.05, 0.1)}, True
            )
            for f in ([] if error else features)
        ),
        started_at=100.0,
        duration_s=1.0,
    )


def test_results_store_keeps_results_of_unchanged_monitors_and_trims_changed_ones() -> None:
    """On reconfigure: unchanged keep their state, changed keep counters and still-configured
    features only, removed vanish, and a result of a replaced config is dropped."""
    store = ResultsStore()
    first = load()
    a, b = first.monitors
    store.configure(first.monitors, {"a": 60.0, "b": 60.0}, at=1.0)
    assert store.record(a, outcome("a"), ended_at=101.0) is not None
    assert store.record(b, outcome("b", ("x",)), ended_at=101.0) is not None
    version = store.snapshot().version

    second = load(features="[x, z]")
    new_a = second.monitor("a")
    assert second.monitor("b") == b and new_a != a
    store.configure([new_a], {"a": 60.0}, at=2.0)  # b removed, a changed
    snapshot = store.snapshot()
    assert snapshot.version > version
    (state,) = snapshot.monitors
    assert state.name == "a" and state.evaluations == 1
    assert state.scored is not None
    assert [f.feature for f in state.scored.features] == ["x"]  # y left the config
    assert store.record(a, outcome("a"), ended_at=102.0) is None  # the old config's late result
    assert store.record(new_a, outcome("a", error="gone"), ended_at=103.0) is not None
    state = store.snapshot().monitors[0]
    assert (state.evaluations, state.failures, state.last_success_s) == (2, 1, 101.0)
    assert state.latest is not None and not state.latest.ok
    assert state.scored is not None and state.scored.ok  # failure keeps the last scores


def test_a_failed_reload_only_flips_the_reload_gauge() -> None:
    """reload_failed keeps monitors and the last success time, and marks the reload failed."""
    store = ResultsStore()
    store.configure(load().monitors, {"a": 60.0, "b": 60.0}, at=5.0)
    before = store.snapshot()
    store.reload_failed()
    after = store.snapshot()
    assert after.monitors == before.monitors
    assert (after.reload_successful, after.reload_success_s) == (False, 5.0)
