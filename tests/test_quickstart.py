"""The README's quick start and tutorial, run exactly as written.

Each command block the README wants tested is preceded by a marker comment::

    <!-- readme-test: NAME [daemon] [exit=N] -->

The blocks run in README order with bash, in a copy of the repository's files (``git
ls-files``: tracked and new files, uncommitted edits included) and a fresh venv that the
quick start's own command creates. A ``daemon`` block is started in the background; the
test waits for drift scores on http://127.0.0.1:9847/metrics (the port the README's
commands use: if something else holds it, the test fails saying so), then stops the daemon
by its pid with SIGTERM and expects exit status 0. Other blocks must exit with ``exit=N``
(default 0). pip installs from the package registry (its cache makes it quick).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
PORT = 9847  # driftmon's default listen address, as the README's commands use it
MARKER = re.compile(r"^<!-- readme-test: (?P<spec>[^>]*?) -->\n```sh\n(?P<code>.*?)^```", re.MULTILINE | re.DOTALL)
INSTALL_TIMEOUT_S = 900  # the quick start's pip install, on a cold cache
BLOCK_TIMEOUT_S = 300


@dataclass(frozen=True, slots=True)
class Block:
    """A command block of the README and how the test runs it."""

    name: str
    code: str
    daemon: bool
    exit_status: int


def readme_blocks(text: str) -> list[Block]:
    """The marked command blocks of ``text``, in order."""
    blocks = []
    for match in MARKER.finditer(text):
        name, *options = match["spec"].split()
        exits = [int(o.removeprefix("exit=")) for o in options if o.startswith("exit=")]
        unknown = [o for o in options if o != "daemon" and not o.startswith("exit=")]
        assert not unknown, f"readme-test {name}: unknown options {unknown}"
        blocks.append(Block(name, match["code"], "daemon" in options, exits[0] if exits else 0))
    return blocks


def test_the_readme_marks_the_quick_start_and_tutorial_blocks() -> None:
    """The README's first marked block starts the example daemon in a fresh venv; the tutorial checks, then runs."""
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    names = [block.name for block in blocks]
    assert names[0] == "quickstart" and blocks[0].daemon
    assert (
        "python3 -m venv .venv" in blocks[0].code and "driftmon run -c config/driftmon.example.yaml" in blocks[0].code
    )
    assert [n for n in names if n.startswith("tutorial")] == names[1:], names
    assert any("driftmon check" in b.code for b in blocks[1:]) and blocks[-1].daemon
    assert "driftmon run" in blocks[-1].code


def test_a_marker_with_an_unknown_option_is_refused() -> None:
    """A typo in a marker (`deamon`) fails instead of silently running the block as a command."""
    with pytest.raises(AssertionError, match="deamon"):
        readme_blocks("<!-- readme-test: x deamon -->\n```sh\ntrue\n```\n")


# ---------------------------------------------------------------------------
# running them


def copy_repository(target: Path) -> None:
    """The files git knows of (tracked, plus new ones not ignored), as they are on disk now."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
            timeout=60,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file() and not source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def clean_environment() -> dict[str, str]:
    """The test's environment without the project venv (the README's commands make their own)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    venv_bin = str(REPO / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env.pop("DRIFTMON_CONFIG", None)
    return env


def port_taken() -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", PORT)) == 0


def scrape() -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=5) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def daemon_pid(root: int) -> int:
    """The ``driftmon run`` process nearest to ``root`` (bash may have exec'd it; workers are its children)."""
    queue = [root]
    while queue:
        pid = queue.pop(0)
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"driftmon") for a in argv) and b"run" in argv:
            return pid
        queue += children(pid)
    raise AssertionError(f"no `driftmon run` process under pid {root}")


def run_daemon(block: Block, cwd: Path, env: dict[str, str], log: Path, *, timeout: float) -> str:
    """Start the block, wait for drift scores on /metrics, stop the daemon by pid; the last scrape."""
    if port_taken():
        pytest.fail(f"port {PORT} is in use by another process: the README's commands listen there", pytrace=False)
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["bash", "-c", block.code],
            cwd=cwd,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        body = ""
        while "driftmon_js_divergence{" not in body:
            if process.poll() is not None:
                pytest.fail(
                    f"{block.name}: exited {process.returncode} before serving scores:\n"
                    f"{log.read_text(errors='replace')[-3000:]}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{block.name}: no drift scores on /metrics within {timeout:g} s:\n"
                    f"{log.read_text(errors='replace')[-3000:]}",
                    pytrace=False,
                )
            time.sleep(1)
            body = scrape()
        os.kill(daemon_pid(process.pid), signal.SIGTERM)
        status = process.wait(timeout=20)
        assert status == 0, (
            f"{block.name}: exit status {status} after SIGTERM:\n{log.read_text(errors='replace')[-3000:]}"
        )
        return body
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the group this test started
            process.wait(timeout=10)


@pytest.mark.integration
def test_quick_start_and_tutorial_run_as_written(tmp_path: Path) -> None:
    """In a clean copy of the repository, each marked README block does what the README says."""
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    copy = tmp_path / "driftmon"
    copy.mkdir()
    copy_repository(copy)
    env = clean_environment()
    for block in blocks:
        log = tmp_path / f"{block.name}.log"
        if block.daemon:
            timeout = INSTALL_TIMEOUT_S if "pip install" in block.code else BLOCK_TIMEOUT_S
            body = run_daemon(block, copy, env, log, timeout=timeout)
            assert re.search(r"^driftmon_monitor_up\{[^}]*\} 1\.0$", body, re.MULTILINE), f"{block.name}: no monitor up"
        else:
            result = subprocess.run(
                ["bash", "-c", block.code], cwd=copy, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S
            )
            if block.name == "tutorial-check":  # the README: "Both features come out at `warning`"
                assert "monitor my-model: warning" in result.stdout, result.stdout
            assert result.returncode == block.exit_status, (
                f"{block.name}: exit status {result.returncode}, the README says {block.exit_status}:\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            )
    assert (copy / ".venv" / "bin" / "driftmon").exists(), "the quick start did not make .venv"
    assert (copy / "tutorial" / "reference.csv").exists() and (copy / "tutorial" / "live.csv").exists()
