"""What the command line says when something is wrong: on stderr, in words, with the exit codes of docs/operations.md.

Each test runs ``python -m driftmon`` as a real process, so stdout and stderr are the ones a shell sees.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import shard

REPO = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "driftmon", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("DRIFTMON_")},
        cwd=REPO,
    )


def monitors(tmp_path: Path, *names: str, missing: str | None = None) -> Path:
    """A config with one small monitor per name; the monitor called ``missing`` reads a file that does not exist."""
    rng = np.random.default_rng(5)
    pd.DataFrame({"x": rng.normal(0, 1, 2000)}).to_csv(tmp_path / "ref.csv", index=False)
    pd.DataFrame({"x": rng.normal(0, 1, 1000)}).to_csv(tmp_path / "live.csv", index=False)
    text = "monitors:\n"
    for name in names:
        live = "gone.csv" if name == missing else "live.csv"
        text += f"  - name: {name}\n    reference: {{type: file, path: ref.csv}}\n"
        text += f"    live: {{type: file, path: {live}}}\n    features: [x]\n"
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("output", ["table", "json"])
def test_check_evaluation_errors_go_to_stderr(tmp_path: Path, output: str) -> None:
    """A failed evaluation is reported on stderr (exit 3); stdout holds only the results (one JSON document)."""
    result = run("check", "-c", str(monitors(tmp_path, "good", "broken", missing="broken")), "--format", output)
    assert result.returncode == 3, result.stderr
    assert "driftmon: error: monitor broken: " in result.stderr and "gone.csv" in result.stderr
    assert "good" not in result.stderr
    if output == "json":
        document = json.loads(result.stdout)  # exactly one document, with the error in it (docs/operations.md, Command line)
        assert [m["status"] for m in document["monitors"]] == ["ok", "error"]
    else:
        assert "monitor broken: error" in result.stdout and "gone.csv" not in result.stdout


def test_config_errors_go_to_stderr_with_exit_2(tmp_path: Path) -> None:
    """`check` and `validate` print config problems on stderr only, one line each, and exit 2."""
    path = monitors(tmp_path, "a")
    path.write_text(path.read_text().replace("features: [x]", "features: [x]\n    measures: [jsd]\n    schedule: [5m]"))
    for command in ("check", "validate"):
        result = run(command, "-c", str(path))
        assert result.returncode == 2 and result.stdout == "", result
        lines = result.stderr.splitlines()
        assert lines[0] == f"driftmon: error: {path}: 2 problems in the config:"
        assert (
            lines[1]
            == f"  {path}:6: monitors[0].measures[0] (monitor a): got 'jsd'; expected one of kl, kl_reverse, js, psi, hellinger, tvd; did you mean 'js'?"
        )
        assert lines[2].startswith(
            f"  {path}:7: monitors[0].schedule (monitor a): got a list [5m]; expected a duration"
        )


@pytest.mark.parametrize(
    ("count", "expected"), [(1, "valid (1 monitor, 1 feature)"), (2, "valid (2 monitors, 2 features)")]
)
def test_validate_counts_in_singular_and_plural(tmp_path: Path, count: int, expected: str) -> None:
    """`validate` says "1 monitor", "2 monitors"."""
    result = run("validate", "-c", str(monitors(tmp_path, *["a", "b"][:count])))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"{tmp_path / 'c.yaml'}: {expected}"


def test_check_on_an_empty_shard_says_so_and_exits_0(tmp_path: Path) -> None:
    """A shard that owns no monitor says so (not just the legend) and exits 0; JSON stays one document."""
    names = [name for name in (f"m{i}" for i in range(50)) if shard.shard_of(name, 2) == 1][:3]
    path = monitors(tmp_path, *names)
    table = run("check", "-c", str(path), "--shard", "0/2")
    assert table.returncode == 0, table.stderr
    assert table.stdout == ""
    assert table.stderr == "driftmon: shard 0/2 holds no monitor (3 monitors in the config, all in other shards)\n"
    as_json = run("check", "-c", str(path), "--shard", "0/2", "--format", "json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == {"monitors": []}
    assert "holds no monitor" in as_json.stderr
    owner = run("check", "-c", str(path), "--shard", "1/2", "--format", "json")
    assert [m["monitor"] for m in json.loads(owner.stdout)["monitors"]] == names and owner.stderr == ""


@pytest.mark.parametrize(
    ("address", "message"),
    [
        (":99999", "driftmon: error: --web.listen-address ':99999': port 99999 is out of range: use 1-65535\n"),
        (
            "localhost",
            "driftmon: error: --web.listen-address 'localhost': expected HOST:PORT or :PORT, e.g. :9847 or 127.0.0.1:9847\n",
        ),
    ],
)
def test_listen_address_errors_say_what_is_wrong(tmp_path: Path, address: str, message: str) -> None:
    """A port above 65535 is named as such, not reported as a malformed address; exit 2 before anything starts."""
    result = run("run", "-c", str(monitors(tmp_path, "a")), "--web.listen-address", address)
    assert result.returncode == 2
    assert result.stderr == message and result.stdout == ""


@pytest.mark.parametrize(
    "url", ["not a url", "http://[::1", "ftp://gateway:9091", "http://gateway:port/", "http://u:Pw-s3cret-9@gw:x/"]
)
def test_a_push_gateway_that_is_not_a_url_is_a_usage_error(tmp_path: Path, url: str) -> None:
    """--push-gateway with spaces, a broken IPv6 host, another scheme or a bad port: exit 2 naming the flag (was an internal error: InvalidURL, ValueError); a password in it is masked."""
    config = monitors(tmp_path, "m")
    result = run("check", "-c", str(config), "--push-gateway", url)
    assert result.returncode == 2, result.stderr
    assert (
        "argument --push-gateway: " in result.stderr
        and "is not a Pushgateway URL like http://pushgateway:9091" in result.stderr
    )
    assert "internal error" not in result.stderr and "Pw-s3cret-9" not in result.stderr


def test_a_path_with_a_newline_is_quoted_on_one_line(tmp_path: Path) -> None:
    """A live path holding a newline (the fuzz campaign's YAML edit ``l\\nive.csv``): the error is one
    line on stderr and in the JSON, the newline escaped (it split the message in two before)."""
    pd.DataFrame({"x": np.arange(50.0)}).to_csv(tmp_path / "ref.csv", index=False)
    live = {"type": "file", "path": "l\nive.csv"}
    config = {"monitors": [{"name": "m", "reference": {"type": "file", "path": "ref.csv"}, "live": live, "features": ["x"]}]}
    (tmp_path / "driftmon.yaml").write_text(json.dumps(config), encoding="utf-8")
    done = run("check", "-c", str(tmp_path / "driftmon.yaml"), "--format", "json")
    assert done.returncode == 3, done.stderr
    error = json.loads(done.stdout)["monitors"][0]["error"]
    assert error == f"file {tmp_path}/l\\x0aive.csv does not exist", error
    assert done.stderr == f"driftmon: error: monitor m: {error}\n", done.stderr
