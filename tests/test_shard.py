"""Sharding: every monitor runs on exactly one of N replicas, chosen from its name alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import shard
from driftmon.cli import main
from driftmon.errors import ConfigError

NAMES = [f"monitor-{i}" for i in range(3000)]


def test_each_monitor_belongs_to_exactly_one_shard() -> None:
    """For any N, the N shards partition the monitors: disjoint, and together all of them."""
    for count in range(1, 8):
        owners = [[s for s in range(count) if shard.Shard(s, count).owns(name)] for name in NAMES[:300]]
        assert all(len(o) == 1 for o in owners)


def test_assignment_is_a_stable_function_of_the_name() -> None:
    """SHA-256 based, not Python's salted hash(): these assignments never change between runs or versions."""
    # Oracle: the reference C implementation of jump consistent hash on the same SHA-256 keys.
    assert [shard.shard_of(name, 5) for name in ("credit-model", "fraud", "churn.v2", "a")] == [2, 1, 3, 1]
    assert shard.shard_of("anything", 1) == 0


def test_shards_are_balanced() -> None:
    """3000 names over 3 shards: each within 10% of an even third."""
    sizes = np.bincount([shard.shard_of(name, 3) for name in NAMES], minlength=3)
    assert np.all(np.abs(sizes - 1000) < 100), sizes


def test_adding_a_replica_moves_only_monitors_to_the_new_one() -> None:
    """Going from N to N+1 shards moves a monitor only onto the new shard, about 1/(N+1) of them."""
    for count in (1, 2, 3, 7):
        before = [shard.shard_of(name, count) for name in NAMES]
        after = [shard.shard_of(name, count + 1) for name in NAMES]
        moved = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
        assert all(a == count for _, a in moved)
        assert abs(len(moved) / len(NAMES) - 1 / (count + 1)) < 0.04


@pytest.mark.parametrize(
    ("environ", "host", "expected"),
    [
        ({}, "driftmon-2", None),
        ({"DRIFTMON_SHARD": "1/4"}, "x", shard.Shard(1, 4)),
        ({"DRIFTMON_SHARDS": "3"}, "driftmon-2", shard.Shard(2, 3)),
        ({"DRIFTMON_SHARDS": "3"}, "driftmon-0.driftmon.monitoring.svc.cluster.local", shard.Shard(0, 3)),
        ({"DRIFTMON_SHARDS": "3", "DRIFTMON_SHARD_INDEX": "1"}, "laptop", shard.Shard(1, 3)),
    ],
)
def test_shard_from_the_environment(environ: dict[str, str], host: str, expected: shard.Shard | None) -> None:
    """DRIFTMON_SHARD, or DRIFTMON_SHARDS with DRIFTMON_SHARD_INDEX or the pod's ordinal, picks the shard."""
    assert shard.from_environment(environ, hostname=host) == expected


@pytest.mark.parametrize(
    ("environ", "host", "message"),
    [
        ({"DRIFTMON_SHARD": "2"}, "x", "DRIFTMON_SHARD: '2' is not a shard like 0/3"),
        ({"DRIFTMON_SHARD": "3/3"}, "x", r"shard 3/3 is out of range \(index 0..2\)"),
        ({"DRIFTMON_SHARDS": "0"}, "x", "not a positive number"),
        ({"DRIFTMON_SHARDS": "3"}, "laptop", "ends in no ordinal like -2; set DRIFTMON_SHARD_INDEX"),
        (
            {"DRIFTMON_SHARDS": "3"},
            "driftmon-5",
            "host name 'driftmon-5' with DRIFTMON_SHARDS: shard 5/3 is out of range",
        ),
    ],
)
def test_bad_shard_settings_are_config_errors(environ: dict[str, str], host: str, message: str) -> None:
    """A malformed or out-of-range shard is a ConfigError naming where it came from."""
    with pytest.raises(ConfigError, match=message):
        shard.from_environment(environ, hostname=host)


def test_select_keeps_config_order_and_none_keeps_all() -> None:
    """select() returns the shard's monitors in config order; no shard means every monitor."""

    class Named:
        def __init__(self, name: str) -> None:
            self.name = name

    monitors = [Named(n) for n in NAMES[:50]]
    assert shard.select(monitors, None) == tuple(monitors)
    picked = shard.select(monitors, shard.Shard(1, 3))
    assert [m.name for m in picked] == [m.name for m in monitors if shard.shard_of(m.name, 3) == 1]


def _config(tmp_path: Path, names: list[str]) -> Path:
    rng = np.random.default_rng(0)
    pd.DataFrame({"x": rng.normal(0, 1, 500)}).to_csv(tmp_path / "d.csv", index=False)
    monitors = "".join(
        f"  - name: {name}\n    reference: {{type: file, path: d.csv}}\n    live: {{type: file, path: d.csv}}\n"
        "    features: [x]\n"
        for name in names
    )
    path = tmp_path / "c.yaml"
    path.write_text("monitors:\n" + monitors)
    return path


def test_check_with_shards_splits_the_monitors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check --shard i/3` for i = 0, 1, 2 evaluates each monitor exactly once in total."""
    monkeypatch.delenv("DRIFTMON_SHARD", raising=False)
    monkeypatch.delenv("DRIFTMON_SHARDS", raising=False)
    names = [f"m{i}" for i in range(12)]
    path = _config(tmp_path, names)
    seen: list[str] = []
    for index in range(3):
        assert main(["check", "-c", str(path), "--format", "json", "--shard", f"{index}/3"]) == 0
        got = [m["monitor"] for m in json.loads(capsys.readouterr().out)["monitors"]]
        assert got == [n for n in names if shard.shard_of(n, 3) == index]
        seen += got
    assert sorted(seen) == sorted(names)
    monkeypatch.setenv("DRIFTMON_SHARD", "0/3")
    assert main(["check", "-c", str(path), "--format", "json", "--monitor", "m1", "--monitor", "m2"]) == 0
    assert [m["monitor"] for m in json.loads(capsys.readouterr().out)["monitors"]] == ["m1", "m2"]


def test_check_with_a_bad_shard_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A shard index not below the count is a usage error (exit 2) with a message, no traceback."""
    assert main(["check", "-c", str(_config(tmp_path, ["a"])), "--shard", "3/3"]) == 2
    assert "--shard: shard 3/3 is out of range" in capsys.readouterr().err


def test_statefulset_example_shards_by_pod_ordinal() -> None:
    """The StatefulSet example sets DRIFTMON_SHARDS to its replicas, so pods 0..N-1 are shards 0..N-1."""
    import yaml

    path = Path(__file__).resolve().parents[1] / "deploy" / "kubernetes" / "statefulset-sharded.yaml"
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert manifest["kind"] == "StatefulSet"
    replicas = manifest["spec"]["replicas"]
    (container,) = manifest["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert env["DRIFTMON_SHARDS"]["value"] == str(replicas)
    assert env["DRIFTMON_SHARD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"].endswith(
        "['apps.kubernetes.io/pod-index']"
    )
    name = manifest["metadata"]["name"]
    environ = {"DRIFTMON_SHARDS": env["DRIFTMON_SHARDS"]["value"], "DRIFTMON_SHARD_INDEX": ""}
    shards = [shard.from_environment(environ, hostname=f"{name}-{i}") for i in range(replicas)]
    assert shards == [shard.Shard(i, replicas) for i in range(replicas)]


def test_daemon_loads_only_its_shard(tmp_path) -> None:
    """The daemon's config load keeps exactly the monitors its shard owns, and every monitor is in one shard."""
    from driftmon.daemon import load
    from driftmon.shard import Shard

    monitors = "".join(
        f"  - name: m{i}\n    reference: {{type: file, path: r.csv}}\n    live: {{type: file, path: l.csv}}\n    features: [x]\n"
        for i in range(12)
    )
    path = tmp_path / "c.yaml"
    path.write_text("monitors:\n" + monitors)
    everything = {m.name for m in load(path, None).monitors}
    parts = [{m.name for m in load(path, Shard(i, 3)).monitors} for i in range(3)]
    assert everything == {f"m{i}" for i in range(12)}
    assert set().union(*parts) == everything
    assert sum(len(p) for p in parts) == 12
    assert all(parts)
