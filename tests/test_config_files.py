"""Reading the config and the web config: only regular files, at most a few megabytes, and a
path that is not one (a directory, a named pipe, a device, a symlink loop) says what it is.

The pipe and device cases run in a child process bounded in time and memory: before the
fix a named pipe blocked the read forever and ``/dev/zero`` grew to gigabytes.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from driftmon import config, files
from driftmon.errors import ConfigError
from driftmon.web import config as web_config

GOOD = (
    "monitors:\n  - {name: m, reference: {type: file, path: r.csv}, live: {type: file, path: l.csv}, features: [x]}\n"
)


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # the old reader of /dev/zero would take gigabytes


def driftmon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "driftmon", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_limited,
    )


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "dangling").symlink_to(tmp_path / "absent.yaml")
    (tmp_path / "huge.yaml").write_text("#" * (files.MAX_FILE_BYTES + 1))
    return {
        "folder": tmp_path / "folder",
        "pipe": tmp_path / "pipe",
        "loop": tmp_path / "loop",
        "dangling": tmp_path / "dangling",
        "huge": tmp_path / "huge.yaml",
        "zero": Path("/dev/zero"),
        "absent": tmp_path / "absent.yaml",
    }


EXPECTED = {
    "folder": "config file is a directory, not a regular file",
    "pipe": "config file is a named pipe, not a regular file",
    "loop": "config file is a symlink loop",
    "dangling": "config file is a symlink to a missing file",
    "huge": f"config file is {files.MAX_FILE_BYTES + 1:,} bytes; at most {files.MAX_FILE_BYTES:,} are read",
    "zero": "config file is a device, not a regular file",
    "absent": "config file does not exist",
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_check_and_validate_say_what_the_config_path_is(tmp_path: Path, paths: dict[str, Path], kind: str) -> None:
    """`check -c` and `validate -c` on a directory, pipe, device, loop or huge file exit 2 at once naming what it is."""
    for command in ("check", "validate"):
        run = driftmon(command, "-c", str(paths[kind]), cwd=tmp_path)
        assert run.returncode == 2, run.stderr
        assert f"driftmon: error: {paths[kind]}: {EXPECTED[kind]}" in run.stderr, run.stderr
        assert "Traceback" not in run.stderr


def test_a_config_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 give the offset, not Python's codec message."""
    (tmp_path / "latin.yaml").write_bytes(GOOD.encode() + b"# caf\xe9\n")
    with pytest.raises(ConfigError, match=r"latin\.yaml: config file is not UTF-8 text \(byte \d+\)"):
        config.load(tmp_path / "latin.yaml")


def test_a_regular_config_behind_a_symlink_is_read(tmp_path: Path) -> None:
    """A symlink to a regular file is followed as before."""
    (tmp_path / "real.yaml").write_text(GOOD)
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real.yaml")
    assert [m.name for m in config.load(tmp_path / "link.yaml").monitors] == ["m"]


@pytest.mark.parametrize("kind", ["folder", "pipe", "loop", "zero", "absent"])
def test_web_config_reads_are_bounded_and_regular(tmp_path: Path, paths: dict[str, Path], kind: str) -> None:
    """--web.config.file on a pipe or /dev/zero no longer hangs or grows: a ConfigError naming what the path is."""
    code = (
        "import sys; from pathlib import Path; from driftmon.web.config import load; from driftmon.errors import ConfigError\n"
        "try:\n    load(Path(sys.argv[1]))\nexcept ConfigError as error:\n    print(error)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(paths[kind])],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False, preexec_fn=_limited,
    )  # fmt: skip
    expected = EXPECTED[kind].replace("config file", "the file")
    assert run.stdout.strip() == f"web config {paths[kind]}: {expected}", run.stdout + run.stderr


def test_a_huge_web_config_is_refused(tmp_path: Path) -> None:
    """A web config over MAX_BYTES is refused before it is parsed."""
    path = tmp_path / "web.yml"
    path.write_text("#" * (web_config.MAX_BYTES + 1))
    with pytest.raises(ConfigError, match=r"web\.yml: the file is [\d,]+ bytes; at most [\d,]+ are read"):
        web_config.load(path)
