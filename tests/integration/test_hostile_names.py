"""Feature names that hold a terminal escape, a carriage return, a bidi override, a
zero-width space or a slash: printed escaped by ``check``, ``validate`` and ``report``,
escaped on the status pages, and each feature's page reachable at the link the pages give.

Before the fix ``check`` wrote ``\\x1b[2J`` (clear screen) and U+202E raw, the pages showed
U+202E raw (the text after it reversed), and the pages of ``a/b``, ``x\\u200by`` and
``r\\u202etl`` were 404 (cheroot keeps ``%2F`` encoded; WSGI hands UTF-8 paths over as Latin-1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from servers import free_port, http_request, running, wait_for_http, wait_until  # noqa: E402

pytestmark = pytest.mark.integration

NAMES = ["clear\x1b[2Jscreen", "carriage\rreturn", "bidi\u202eright", "zero\u200bwidth", "a/b"]
RAW = ["\x1b", "\r", "\u202e", "\u200b"]  # what must never be written as is
SHOWN = ["clear\\x1b[2Jscreen", "carriage\\x0dreturn", "bidi\\u202eright", "zero\\u200bwidth", "a/b"]


def histograms(shift: int) -> dict[str, object]:
    feature = {
        "kind": "numeric",
        "edges": [0, 1, 2],
        "counts": [50, 400 + 10 * shift, 400 - 10 * shift, 50],
        "missing": 0,
    }
    return {"format": "driftmon.histograms/v1", "features": dict.fromkeys(NAMES, feature)}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "ref.json").write_text(json.dumps(histograms(0)), encoding="utf-8")
    (tmp_path / "live.json").write_text(json.dumps(histograms(30)), encoding="utf-8")
    monitor = {
        "name": "hostile",
        "reference": {"type": "histogram", "path": "ref.json"},
        "live": {"type": "histogram", "path": "live.json"},
        "features": NAMES,
    }
    (tmp_path / "c.yaml").write_text(
        json.dumps({"defaults": {"schedule": "1s"}, "monitors": [monitor]}), encoding="utf-8"
    )
    return tmp_path


def driftmon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "driftmon", *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_and_report_print_hostile_names_escaped(folder: Path) -> None:
    """`check`'s table (with the 'what moved' lines) and `report`'s HTML hold every name, escaped, and no raw escape, CR or bidi character."""
    table = driftmon("check", "-c", "c.yaml", cwd=folder)
    assert table.returncode == 1, table.stdout + table.stderr  # drifted: every feature is in the table
    report = driftmon("report", "-c", "c.yaml", "-o", "report.html", cwd=folder)
    assert report.returncode == 1, report.stderr
    html = (folder / "report.html").read_text(encoding="utf-8")
    for output in (table.stdout + table.stderr, html):
        for raw in RAW:
            assert raw not in output, (raw, output[:2000])
        for shown in SHOWN:
            assert shown in output, (shown, output[:2000])
    assert "what moved" in table.stdout


def test_every_feature_page_is_reachable_and_escaped(folder: Path) -> None:
    """The monitor page links every feature; each link answers 200 with the name escaped (a/b, U+200B and U+202E were 404)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "driftmon", "run", "-c", "c.yaml", "--web.listen-address", f"127.0.0.1:{port}"]
    with running(command, log_path=folder / "daemon.log", name="driftmon", env=dict(os.environ), cwd=folder) as process:
        wait_for_http(f"{url}/-/ready", 60.0, process=process)
        wait_until(
            lambda: (
                b"hostile" in http_request(f"{url}/api/v1/status").body
                and b'"critical"' in http_request(f"{url}/api/v1/status").body
            ),
            60.0,
            message="evaluated",
        )
        monitor_page = http_request(f"{url}/monitors/hostile")
        assert monitor_page.status == 200
        pages = {}
        for name in NAMES:
            link = f"/monitors/hostile/features/{quote(name, safe='')}"
            assert link in monitor_page.text(), link
            pages[name] = http_request(url + link)
    for raw in RAW:
        assert raw not in monitor_page.text()
    for name, shown in zip(NAMES, SHOWN, strict=True):
        page = pages[name]
        assert page.status == 200, (name, page.status)
        assert shown in page.text()
        for raw in RAW:
            assert raw not in page.text(), (name, raw)
