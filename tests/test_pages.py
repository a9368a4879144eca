"""The page renderer (driftmon/pages.py) on real evaluation results, without a server or browser.

Browser-level checks (console errors, requests, XSS in Chromium, screenshots) are in
tests/integration/test_pages_browser.py.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from driftmon import config
from driftmon.evaluate import MonitorResult, evaluate, failed
from driftmon.pages import PageSettings, render, report, snapshot_of
from driftmon.results import MonitorState, Snapshot

FEATURE = "debt / income+x"  # a slash and a plus: both must survive the path


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> MonitorResult:
    """One evaluation of a drifted monitor with a numeric, a categorical and an awkwardly named feature."""
    folder = tmp_path_factory.mktemp("pages")
    rng = np.random.default_rng(12)
    pd.DataFrame({"x": rng.normal(0, 1, 2000), "c": rng.choice(["a", "b"], 2000), FEATURE: rng.random(2000)}).to_csv(
        folder / "ref.csv", index=False
    )
    pd.DataFrame(
        {"x": rng.normal(1, 1, 800), "c": rng.choice(["a", "b", "<b>new</b>"], 800), FEATURE: rng.random(800)}
    ).to_csv(folder / "live.csv", index=False)
    (folder / "c.yaml").write_text(
        "monitors:\n  - name: m\n    reference: {type: file, path: ref.csv}\n    live: {type: file, path: live.csv}\n"
        f"    features: [x, {{name: c, kind: categorical}}, '{FEATURE}']\n"
    )
    return evaluate(config.load(folder / "c.yaml").monitors[0])


def page(path: str, snapshot: Snapshot, settings: PageSettings | None = None) -> tuple[str, str]:
    status, content_type, body = render(path, snapshot, settings or PageSettings(), now=0.0)
    assert content_type == "text/html; charset=utf-8"
    return status, body.decode()


def test_routes_answer_each_page_type_and_404_otherwise(result: MonitorResult) -> None:
    """/, /monitors/m and /monitors/m/features/<f> are 200 (a feature name may hold '/' and '+'; Alertmanager's '+' for a space also finds it); anything else is a 404 page."""
    snapshot = snapshot_of([result])
    assert page("/", snapshot)[0] == "200 OK"
    assert page("/monitors/m", snapshot)[0] == "200 OK"
    status, body = page(f"/monitors/m/features/{FEATURE}", snapshot)
    assert status == "200 OK" and "debt / income+x" in body
    for missing in (
        "/monitors/nope",
        "/monitors/m/features/nope",
        "/monitors/m/x",
        "/favicon.ico",
        "/monitors/m/features/",
    ):
        status, body = page(missing, snapshot)
        assert status == "404 Not Found" and "Not found" in body, missing
    renamed = dataclasses.replace(
        result, features=tuple(dataclasses.replace(f, feature=f.feature.replace("+", " ")) for f in result.features)
    )
    assert page(f"/monitors/m/features/{FEATURE}", snapshot_of([renamed]))[0] == "200 OK"


def test_feature_page_holds_one_bar_pair_and_one_table_row_per_bin(result: MonitorResult) -> None:
    """The feature page's SVG has a group with a reference and a live bar for each bin, the bins table a row for each, and the thresholds and noise floor of each measure."""
    feature = next(f for f in result.features if f.feature == "x")
    _, body = page("/monitors/m/features/x", snapshot_of([result]))
    groups = re.findall(r'<g class="bin[^"]*" data-bin="(\d+)">(.*?)</g>', body, re.S)
    assert [int(i) for i, _ in groups] == list(range(len(feature.bins)))
    assert all(g.count('<rect class="reference"') == 1 and g.count('<rect class="live"') == 1 for _, g in groups)
    table = body.split('<table class="bins">', 1)[1].split("</table>", 1)[0]
    assert table.count('<tr><th scope="row"') == len(feature.bins)
    assert "noise floor" in body and "0.02" in body  # js's default critical threshold
    assert body.count('class="bin marked role-') == 3  # under, over, missing


def test_values_from_live_data_are_escaped(result: MonitorResult) -> None:
    """A category value and an error text with markup appear escaped, never as markup."""
    error = failed(_config(result), "<img src=x onerror=alert(1)>", 0.0, 0.1)
    snapshot = snapshot_of([result, error])
    _, body = page("/monitors/m/features/c", snapshot)
    assert "&lt;b&gt;new&lt;/b&gt;" in body and "<b>new</b>" not in body
    for path in ("/", "/monitors/broken"):
        _, body = page(path, snapshot)
        assert "&lt;img src=x onerror=alert(1)&gt;" in body and "<img" not in body
    assert "<img" not in report(snapshot, PageSettings()) and "<b>new" not in report(snapshot, PageSettings())


def _config(result: MonitorResult) -> config.MonitorConfig:
    folder = Path(__file__).resolve().parents[1] / "config"
    monitor = config.load(folder / "driftmon.example.yaml").monitors[0]
    return dataclasses.replace(monitor, name="broken")


def test_links_follow_the_external_url_and_grafana_settings(result: MonitorResult) -> None:
    """With --web.external-url's path /drift, every page link starts with it and prefixed paths are served; the Grafana link appears only with a Grafana URL, filtered to the monitor and feature."""
    snapshot = snapshot_of([result])
    settings = PageSettings(external_url="https://example.org/drift/", grafana_url="https://grafana.example.org/")
    status, body = page("/drift/monitors/m", snapshot, settings)
    assert status == "200 OK"
    links = re.findall(r'href="([^"#]+)"', body)
    internal = [link for link in links if not link.startswith("https://")]
    assert internal and all(link.startswith("/drift/") for link in internal), internal
    assert "/drift/monitors/m/features/debt%20%2F%20income%2Bx" in internal
    _, body = page("/drift/monitors/m/features/x", snapshot, settings)
    assert (
        'href="https://grafana.example.org/d/driftmon-overview/driftmon-data-drift?var-monitor=m&amp;var-feature=x"'
        in body
    )
    assert "/d/driftmon-overview/" not in page("/monitors/m/features/x", snapshot)[1]


def test_a_failed_evaluation_keeps_showing_the_last_scores(result: MonitorResult) -> None:
    """When the latest evaluation failed, the monitor page shows its error and the last successful scores, said to be from the last success."""
    error = dataclasses.replace(result, status="error", error="live file vanished", features=())
    state = MonitorState(name="m", measures=result.measures, latest=error, scored=result, evaluations=2, failures=1)
    _, body = page("/monitors/m", Snapshot(2, (state,)))
    assert "live file vanished" in body and "from the last successful one" in body
    assert "/monitors/m/features/x" in body
    _, index = page(
        "/",
        Snapshot(
            2,
            (state,),
        ),
    )
    assert "status-error" in index and "2 / 1" in index


def test_monitor_page_and_report_say_which_reference_the_scores_are_against(result: MonitorResult) -> None:
    """The monitor page and the report name the reference of the shown scores: its kind and, for a
    moving one, its window (since, until: as in driftmon_reference_info); a failed evaluation keeps
    the reference of the scores it still shows."""
    from datetime import UTC, datetime

    from driftmon.reference import ReferenceWindow

    assert (
        'scores against the <span class="label">static reference</span>'
        in page("/monitors/m", snapshot_of([result]))[1]
    )
    window = ReferenceWindow("rolling", datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 8, 6, tzinfo=UTC))
    rolling = dataclasses.replace(result, reference=window)
    shown = (
        'scores against the <span class="label">rolling reference [2026-03-01T00:00:00Z, 2026-03-08T06:00:00Z)</span>'
    )
    assert shown in page("/monitors/m", snapshot_of([rolling]))[1]
    assert shown in report(snapshot_of([rolling]), PageSettings())
    error = dataclasses.replace(result, status="error", error="gone", features=(), reference=None)
    state = MonitorState(name="m", measures=result.measures, latest=error, scored=rolling, evaluations=2, failures=1)
    assert shown in page("/monitors/m", Snapshot(2, (state,)))[1]


def test_report_holds_every_feature_with_in_page_links_only(result: MonitorResult) -> None:
    """The report is one document: a section per monitor and per feature, and every link is an in-page anchor that exists."""
    text = report(snapshot_of([result]), PageSettings())
    ids = set(re.findall(r' id="([^"]+)"', text))
    hrefs = re.findall(r'href="([^"]+)"', text)
    assert hrefs and all(h.startswith("#") and h[1:] in ids for h in hrefs), [h for h in hrefs if h[1:] not in ids]
    for feature in result.features:
        assert f'>Feature <span class="label">{feature.feature}</span> of m</h3>' in text
