"""Which files a `type: file` path names (issue 24 items 6 and 8): globs are bounded (no
special filesystem, no symlink loop walked again, a cap on matches and on walk time), and a
path that is not a regular file says what it is instead of "does not exist"."""

from __future__ import annotations

import glob
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import config, validate
from driftmon.errors import ConfigError, DriftmonError, SourceError
from driftmon.sources.file import FileSource, FileSourceConfig

SECONDS = 20  # a bound on each test: before the fix, `/proc/**/*.csv` walked for minutes


class Expired(Exception):
    """Not an OSError (TimeoutError is one), which glob's directory listing would swallow."""


@pytest.fixture(autouse=True)
def bounded() -> Iterator[None]:
    """Fails the test (instead of hanging the suite) if it runs longer than SECONDS."""

    def expire(signum: int, frame: object) -> None:
        raise Expired(f"still running after {SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def source(folder: Path, path: str) -> FileSource:
    return FileSource(FileSourceConfig(type="file", path=path), folder)


def refusal(folder: Path, path: str, kind: type[DriftmonError] = ConfigError) -> str:
    with pytest.raises(kind) as caught:
        source(folder, path).paths()
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_a_glob_into_proc_is_refused_at_once(tmp_path: Path) -> None:
    """`/proc/**/*.csv` walked every process's tree (and through /proc/self/root the whole
    disk) for more than 40 s; it is refused, naming the path and the special filesystem."""
    message = refusal(tmp_path, "/proc/**/*.csv")
    assert "/proc/**/*.csv" in message and "special filesystem /proc" in message


@pytest.mark.parametrize("path", ["/sys/**/*.csv", "/dev/*", "/proc/cpuinfo"])
def test_special_filesystems_are_refused_as_globs_and_as_files(tmp_path: Path, path: str) -> None:
    message = refusal(tmp_path, path)
    assert path in message and "special filesystem" in message


def test_a_symlink_into_a_special_filesystem_is_refused(tmp_path: Path) -> None:
    """A directory walked by `**` that is a symlink to /proc is not walked."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n")
    (tmp_path / "data" / "proc").symlink_to("/proc")
    message = refusal(tmp_path, "data/**/*.csv")
    assert str(tmp_path / "data" / "proc") in message and "special filesystem /proc" in message


def test_a_matched_file_that_is_a_symlink_into_proc_is_refused(tmp_path: Path) -> None:
    """`data/*.csv` matching `data/b.csv -> /proc/cpuinfo` (a regular file there) is refused."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n")
    (tmp_path / "data" / "b.csv").symlink_to("/proc/cpuinfo")
    message = refusal(tmp_path, "data/*.csv")
    assert str(tmp_path / "data" / "b.csv") + " (which is /proc/cpuinfo)" in message


def test_validate_refuses_a_glob_into_proc_without_walking_it(tmp_path: Path) -> None:
    """`driftmon validate` (which reads no data) reports the refusal as an error on both sides
    (not as a live side whose data may arrive later)."""
    (tmp_path / "c.yaml").write_text(
        "monitors:\n  - name: m\n    reference: {type: file, path: '/proc/**/*.csv'}\n"
        "    live: {type: file, path: '/proc/**/*.csv'}\n    features: [x]\n"
    )
    findings = validate.check(config.load(tmp_path / "c.yaml"))
    assert [f.side for f in findings] == ["reference", "live"]
    assert all("special filesystem /proc" in f.message and f.level == validate.ERROR for f in findings)


def test_a_symlink_loop_in_a_glob_is_named_not_walked_again(tmp_path: Path) -> None:
    """glob followed `data/sub/back -> data` 40 levels deep, so each file matched 40 times
    under 40 names (and was counted 40 times); the loop is an error that names it."""
    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "a.csv").write_text("x\n1\n")
    (data / "sub" / "back").symlink_to(data)
    message = refusal(tmp_path, "data/**/*.csv", SourceError)
    assert "symlink loop" in message and str(data / "sub" / "back") in message


def test_a_symlink_to_a_directory_elsewhere_is_walked(tmp_path: Path) -> None:
    """A symlink that does not lead back into the walk is followed, as glob does."""
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "b.csv").write_text("x\n2\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n")
    (tmp_path / "data" / "more").symlink_to(tmp_path / "elsewhere")
    assert source(tmp_path, "data/**/*.csv").paths() == [
        str(tmp_path / "data" / "a.csv"),
        str(tmp_path / "data" / "more" / "b.csv"),
    ]


def test_matches_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from driftmon.sources.file import paths

    for index in range(5):
        (tmp_path / f"part{index}.csv").write_text("x\n1\n")
    monkeypatch.setattr(paths, "MAX_MATCHES", 4)
    message = refusal(tmp_path, "part*.csv")
    assert "more than 4 files" in message and str(tmp_path / "part*.csv") in message
    monkeypatch.setattr(paths, "MAX_MATCHES", 5)
    assert len(source(tmp_path, "part*.csv").paths()) == 5


def test_walk_time_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from driftmon.sources.file import paths

    for index in range(20):
        (tmp_path / "tree" / f"d{index}").mkdir(parents=True)
    monkeypatch.setattr(paths, "WALK_SECONDS", 0.0)
    message = refusal(tmp_path, "tree/**/*.csv")
    assert "still walking" in message and str(tmp_path / "tree/**/*.csv") in message


def _tree(root: Path) -> None:
    """Files and directories, hidden ones, a symlinked directory and names with glob characters."""
    for relative in (
        "a.csv",
        "b.parquet",
        ".hidden.csv",
        "d1/c.csv",
        "d1/d2/e.csv",
        "d1/.h/f.csv",
        ".hd/g.csv",
        "x[1]/h.csv",
        "2026/01/02/i.csv",
        "2026/01/03/j.jsonl",
    ):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text("x\n1\n")
    (root / "outside").mkdir()
    (root / "outside" / "k.csv").write_text("x\n1\n")
    (root / "d1" / "link").symlink_to(root / "outside")


@pytest.mark.parametrize(
    "pattern",
    [
        "*.csv",
        "**/*.csv",
        "**",
        "d1/**",
        "d1/**/*.csv",
        "**/d2/*.csv",
        "*/*.csv",
        ".*",
        ".hd/*.csv",
        "d1/.h/*",
        "x[[]1]/*.csv",
        "2026/*/*/*",
        "2026/**/*.jsonl",
        "?.csv",
        "[ab].*",
        "d1/*/",
        "**/",
        "nothing/**/*.csv",
    ],
)
def test_globs_match_as_python_glob_does(tmp_path: Path, pattern: str) -> None:
    """The bounded walk gives glob.glob(recursive=True)'s regular files, name for name."""
    from driftmon.sources.file import paths

    _tree(tmp_path)
    full = str(tmp_path / pattern)
    expected = sorted({p for p in glob.glob(full, recursive=True) if os.path.isfile(p)})
    assert sorted(paths.glob_files(full)) == expected


def test_a_relative_glob_matches_as_python_glob_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from driftmon.sources.file import paths

    _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    for pattern in ("**/*.csv", "*.csv", "d1/**"):
        expected = sorted({p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p)})
        assert sorted(paths.glob_files(pattern)) == expected


# ---------------------------------------------------------------------------
# item 8: a path that is not a regular file says what it is


def test_a_directory_pipe_or_loop_at_the_path_is_named(tmp_path: Path) -> None:
    (tmp_path / "folder.csv").mkdir()
    os.mkfifo(tmp_path / "pipe.csv")
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
    (tmp_path / "dangling.csv").symlink_to(tmp_path / "absent.csv")
    expected = {
        "folder.csv": "is a directory, not a regular file",
        "pipe.csv": "is a named pipe, not a regular file",
        "loop.csv": "is a symlink loop",
        "dangling.csv": "is a symlink to a missing file",
        "absent.csv": "does not exist",
    }
    for name, words in expected.items():
        assert refusal(tmp_path, name, SourceError) == f"file {tmp_path / name} {words}"


def test_a_named_pipe_matched_by_a_glob_is_never_opened(tmp_path: Path) -> None:
    """A FIFO among the matches is not a data file: skipped (opening it would block)."""
    pd.DataFrame({"x": np.arange(5.0)}).to_csv(tmp_path / "a.csv", index=False)
    os.mkfifo(tmp_path / "b.csv")
    assert source(tmp_path, "*.csv").paths() == [str(tmp_path / "a.csv")]
