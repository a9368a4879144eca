"""The status pages and the HTML report, in a real headless Chromium against a real daemon.

A daemon process evaluates a drifted monitor every second; Chromium (DevTools protocol)
loads each page type and records every request, console error, exception and dialog.
Live data is attacker-controlled, so the live file carries script and markup as category
values and as a feature name, and a failing monitor's error text carries some too: the
pages must show them as text and run nothing.

Screenshots of the three page types are written at 1280x800; with
``DRIFTMON_SCREENSHOT_DIR`` set (``docs/screenshots.sh``) they go there instead of the
test's temporary folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest

_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from chromium import Browser, Visit, chromium  # noqa: E402
from servers import free_port, http_request, running, wait_until  # noqa: E402

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = "<script>alert(1)</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
EVIL_FEATURE = IMAGE  # a column named like markup
ANCHOR_SAFE = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"


def write_data(folder: Path) -> None:
    """Reference and drifted live data (seeded): numeric x beyond the reference's range,
    a colour with new values (two of them markup), and a column named like markup."""
    rng = np.random.default_rng(20261125)
    n = 3000
    reference = pd.DataFrame(
        {
            "x": rng.normal(0.0, 1.0, n).clip(-3, 3),
            "color": rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]),
            EVIL_FEATURE: rng.choice(["a", "b"], n),
        }
    )
    live_colors = rng.choice(["red", "green", "blue", SCRIPT, IMAGE, "teal"], n, p=[0.3, 0.3, 0.2, 0.08, 0.07, 0.05])
    live = pd.DataFrame(
        {
            "x": rng.normal(0.8, 1.3, n),
            "color": live_colors,
            EVIL_FEATURE: rng.choice(["a", "b", SCRIPT], n, p=[0.3, 0.3, 0.4]),
        }
    )
    live.loc[rng.random(n) < 0.05, "x"] = np.nan
    reference.to_csv(folder / "reference.csv", index=False)
    live.to_csv(folder / "live.csv", index=False)


CONFIG = f"""
defaults:
  schedule: 1s
  measures: [kl, js, psi, tvd]
monitors:
  - name: shop
    labels: {{team: web}}
    reference: {{type: file, path: reference.csv}}
    live: {{type: file, path: live.csv}}
    features: [x, {{name: color, kind: categorical}}, {{name: {json.dumps(EVIL_FEATURE)}, kind: categorical}}]
  - name: broken
    reference: {{type: file, path: reference.csv}}
    live: {{type: file, path: {json.dumps("missing/" + SCRIPT.replace("/", "") + IMAGE + ".csv")}}}
    features: [x]
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pages")
    write_data(path)
    (path / "driftmon.yaml").write_text(textwrap.dedent(CONFIG).lstrip(), encoding="utf-8")
    return path


@contextlib.contextmanager
def serving(config: Path, log_path: Path, monitors: set[str]) -> Iterator[str]:
    """`driftmon run` on ``config`` (a free 127.0.0.1 port, a Grafana URL for the links),
    yielding its base URL once every one of ``monitors`` has been evaluated."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "driftmon", "run", "-c", str(config)]
    command += ["--web.listen-address", f"127.0.0.1:{port}", "--grafana.url", "http://127.0.0.1:3000"]
    with running(command, log_path=log_path, name="driftmon", ready_url=f"{url}/-/ready") as process:

        def evaluated() -> bool:
            assert process.returncode is None, process.describe()
            status = json.loads(http_request(f"{url}/api/v1/status").body)
            return {m["monitor"] for m in status["monitors"]} == monitors

        wait_until(evaluated, 60.0, message=f"monitors {sorted(monitors)} evaluated")
        yield url


@pytest.fixture(scope="module")
def daemon(folder: Path) -> Iterator[str]:
    """The daemon on the test's data: markup in live values, a feature name and an error."""
    with serving(folder / "driftmon.yaml", folder / "daemon.log", {"shop", "broken"}) as url:
        yield url


@pytest.fixture(scope="module")
def example_daemon(folder: Path) -> Iterator[str]:
    """The daemon on the shipped example config (the README's screenshots)."""
    config = ROOT / "config" / "driftmon.example.yaml"
    with serving(config, folder / "example.log", {"credit-model", "fraud-model"}) as url:
        yield url


@pytest.fixture(scope="module")
def browser(folder: Path) -> Iterator[Browser]:
    with chromium(folder) as running_browser:
        yield running_browser


def status(url: str) -> dict[str, Any]:
    return {m["monitor"]: m for m in json.loads(http_request(f"{url}/api/v1/status").body)["monitors"]}


def feature_url(base: str, monitor: str, feature: str) -> str:
    return f"{base}/monitors/{monitor}/features/{quote(feature, safe='')}"


def assert_clean(visit: Visit) -> None:
    assert visit.console_errors == [], visit.console_errors
    assert visit.exceptions == [], visit.exceptions
    assert visit.dialogs == [], visit.dialogs
    assert visit.outside() == [], visit.outside()
    assert visit.requests, "the page itself was requested"


def screenshot_dir(tmp_path: Path) -> Path:
    return Path(os.environ.get("DRIFTMON_SCREENSHOT_DIR") or tmp_path)


def test_every_page_type_loads_without_errors_or_outside_requests(
    daemon: str, example_daemon: str, browser: Browser, tmp_path: Path
) -> None:
    """/, a monitor page and a feature page (of the test's data and of the example config) load with no console error, exception or dialog, every request goes to 127.0.0.1; the example's are screenshot at 1280x800."""
    for url in (f"{daemon}/", f"{daemon}/monitors/shop", feature_url(daemon, "shop", "x")):
        assert_clean(browser.visit(url))
    pages = {
        "index": f"{example_daemon}/",
        "monitor": f"{example_daemon}/monitors/credit-model",
        "feature": feature_url(example_daemon, "credit-model", "income"),
    }
    for name, url in pages.items():
        visit = browser.visit(url)
        assert_clean(visit)
        assert all(request.startswith(example_daemon) for request in visit.requests), visit.requests
        assert visit.evaluate("document.querySelectorAll('script').length") == 0
        assert visit.evaluate("document.querySelector('h1').textContent")
        target = screenshot_dir(tmp_path) / f"page-{name}.png"
        visit.screenshot(target)
        header = target.read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        assert (int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")) == (1280, 800)
    with urllib.request.urlopen(f"{daemon}/monitors/shop", timeout=10) as reply:
        assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "default-src 'none'" in reply.headers["Content-Security-Policy"]
    index = browser.visit(f"{daemon}/")
    assert index.evaluate("document.body.innerText.includes('broken') && document.body.innerText.includes('shop')")
    assert index.evaluate("document.querySelector('.status-error') !== null")


def test_feature_chart_has_one_bar_pair_per_bin_and_marks_special_bins(daemon: str, browser: Browser) -> None:
    """The feature page's SVG has exactly one (reference, live) bar pair per bin of /api/v1/status, in bin order, and marks under/overflow and missing; the table beside it has a row per bin."""
    bins = next(f for f in status(daemon)["shop"]["features"] if f["feature"] == "x")["bins"]
    visit = browser.visit(feature_url(daemon, "shop", "x"))
    assert_clean(visit)
    groups = visit.evaluate(
        "Array.from(document.querySelectorAll('svg.chart g.bin')).map(g => ["
        "g.querySelectorAll('rect.reference').length, g.querySelectorAll('rect.live').length,"
        "g.getAttribute('class'), g.querySelector('title').textContent])"
    )
    assert len(groups) == len(bins) > 3
    for (references, lives, classes, title), item in zip(groups, bins, strict=True):
        assert (references, lives) == (1, 1)
        assert title.startswith(item["bin"] + " (" + item["role"] + ")")
        assert ("marked" in classes) == (item["role"] in ("underflow", "overflow", "missing", "unseen", "other"))
    assert visit.evaluate("document.querySelectorAll('table.bins tbody tr').length") == len(bins)
    # The tallest live bar is the bin with the largest live share.
    heights = visit.evaluate(
        "Array.from(document.querySelectorAll('svg.chart rect.live')).map(r => +r.getAttribute('height'))"
    )
    assert int(np.argmax(heights)) == int(np.argmax([b["live_share"] for b in bins]))
    grafana = visit.evaluate(
        "Array.from(document.links).map(a => a.href).filter(h => h.includes('/d/driftmon-overview/'))"
    )
    assert grafana == ["http://127.0.0.1:3000/d/driftmon-overview/driftmon-data-drift?var-monitor=shop&var-feature=x"]


def test_markup_in_live_data_shows_as_text_and_runs_nothing(daemon: str, browser: Browser) -> None:
    """Category values, a feature name and an error text holding <script> and onerror markup appear as text; no element is injected and no dialog opens."""
    visits = [
        browser.visit(f"{daemon}/"),
        browser.visit(f"{daemon}/monitors/shop"),
        browser.visit(f"{daemon}/monitors/broken"),
        browser.visit(feature_url(daemon, "shop", "color")),
        browser.visit(feature_url(daemon, "shop", EVIL_FEATURE)),
    ]
    for visit in visits:
        assert_clean(visit)
        assert visit.evaluate("document.querySelectorAll('script, img, iframe, object, embed').length") == 0
        assert (
            visit.evaluate(
                "Array.from(document.querySelectorAll('*')).filter(e => Array.from(e.attributes).some(a => a.name.startsWith('on'))).length"
            )
            == 0
        )
    text = [visit.evaluate("document.body.innerText") for visit in visits]
    assert "shop" in text[0] and "missing/" in text[0]  # the broken monitor's error is shown
    assert EVIL_FEATURE in text[1]
    assert IMAGE in text[2]  # the error names the missing path, markup and all
    assert SCRIPT in text[3] and IMAGE in text[3]  # unseen values named in the colour's bins
    assert EVIL_FEATURE in text[4] and SCRIPT in text[4]
    assert visits[4].evaluate("document.querySelector('h1').textContent").endswith(EVIL_FEATURE)


def test_report_is_self_contained_and_holds_every_feature(browser: Browser, tmp_path: Path) -> None:
    """`driftmon report` on the example config exits like check (1: a feature at critical) and writes one file that opens with no outside request or error and has a section for every feature of every monitor."""
    output = tmp_path / "report.html"
    config = ROOT / "config" / "driftmon.example.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "driftmon", "report", "-c", str(config), "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    checked = subprocess.run(
        [sys.executable, "-m", "driftmon", "check", "-c", str(config), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    expected = [
        (m["monitor"], f["feature"], len(f["bins"]))
        for m in json.loads(checked.stdout)["monitors"]
        for f in m["features"]
    ]
    assert len(expected) == 8
    visit = browser.visit(output.as_uri())
    assert_clean(visit)
    assert visit.requests == [output.as_uri()]
    for monitor, feature, bins in expected:
        anchor = "-".join(quote(part, safe="").replace("%", "_") for part in ("feature", monitor, feature))
        found = visit.evaluate(
            f"(() => {{ const s = document.getElementById({json.dumps(anchor)}); "
            "return s && [s.querySelector('h3').textContent, s.querySelectorAll('svg g.bin').length]; })()"
        )
        assert found is not None, (monitor, feature)
        assert found[0] == f"Feature {feature} of {monitor}"
        assert found[1] == bins
    links = visit.evaluate("Array.from(document.querySelectorAll('a[href^=\"#\"]')).map(a => a.getAttribute('href'))")
    assert links and all(
        visit.evaluate(f"document.getElementById({json.dumps(link[1:])}) !== null") for link in set(links)
    )


def test_report_escapes_markup_from_live_data(folder: Path, browser: Browser, tmp_path: Path) -> None:
    """The report of a config whose live data and error texts hold markup shows it as text and injects no element; exit 3 as check (one monitor failed)."""
    output = tmp_path / "evil.html"
    done = subprocess.run(
        [sys.executable, "-m", "driftmon", "report", "-c", str(folder / "driftmon.yaml"), "-o", str(output)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 3, done.stderr
    visit = browser.visit(output.as_uri())
    assert_clean(visit)
    assert visit.evaluate("document.querySelectorAll('script, img, iframe').length") == 0
    text = visit.evaluate("document.body.innerText")
    assert SCRIPT in text and EVIL_FEATURE in text


def test_dark_mode_and_structure_for_keyboards_and_screen_readers(daemon: str, browser: Browser) -> None:
    """With prefers-color-scheme: dark the page turns dark with light text; the chart is an image with a title and a table follows it; the first Tab stop is the skip link to the content."""
    visit = browser.visit(feature_url(daemon, "shop", "color"))
    light = visit.evaluate("getComputedStyle(document.body).backgroundColor")
    assert visit.tab is not None
    visit.tab.call("Emulation.setEmulatedMedia", features=[{"name": "prefers-color-scheme", "value": "dark"}])
    dark = visit.evaluate("getComputedStyle(document.body).backgroundColor")
    text = visit.evaluate("getComputedStyle(document.body).color")
    assert light == "rgb(255, 255, 255)" and dark == "rgb(13, 17, 23)" and text == "rgb(230, 237, 243)"
    chart = visit.evaluate(
        "(() => { const s = document.querySelector('svg.chart'); const t = document.getElementById(s.getAttribute('aria-labelledby'));"
        " return [s.getAttribute('role'), t && t.textContent, s.parentElement.querySelectorAll('table caption').length]; })()"
    )
    assert chart[0] == "img" and chart[1].startswith("Reference and live share of rows per bin") and chart[2] >= 1
    assert visit.evaluate("document.querySelectorAll('th[scope=col]').length") > 10
    visit.tab.call("Input.dispatchKeyEvent", type="keyDown", key="Tab", code="Tab", windowsVirtualKeyCode=9)
    visit.tab.call("Input.dispatchKeyEvent", type="keyUp", key="Tab", code="Tab", windowsVirtualKeyCode=9)
    assert visit.evaluate("document.activeElement.getAttribute('href')") == "#main"
