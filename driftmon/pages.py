"""Status pages: server-rendered HTML over the daemon's snapshot, independent of the HTTP server.

`render(path, snapshot, settings)` answers one GET with ``(status, content_type, body)``;
it reads the latest results only and never evaluates. `report(snapshot, settings)` writes
the same pages as one self-contained document (``driftmon report``).

Pages (paths relative to the external URL's path):

- ``/``: monitors with status, last evaluation, errors
- ``/monitors/<monitor>``: its features with severity, scores against thresholds, p-value,
  top mover; its joint drift (`driftmon.joint_pages`)
- ``/monitors/<monitor>/features/<feature>``: reference and live shares as SVG bars, a
  table of the same numbers, per-bin terms, thresholds and noise floor, a Grafana link

Everything reaching a page (feature names, category values, error texts) is live data and
so attacker-controlled: the templates autoescape, and the pages carry a
Content-Security-Policy without scripts. No JavaScript, no external resource: the pages
work air-gapped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
import markupsafe

from driftmon import __version__, redact
from driftmon.evaluate import ERROR, FeatureResult, MonitorResult
from driftmon.explain import BinExplanation, describe_bin, lead_measure, term_names, top_movers, unit
from driftmon.joint_pages import joint_section
from driftmon.model_pages import model_section
from driftmon.results import MonitorState, Snapshot
from driftmon.segments import page_model

__all__ = ["PageSettings", "render", "report", "snapshot_of"]

HTML = "text/html; charset=utf-8"
_NONE = "\N{EN DASH}"  # no value
GRAFANA_DASHBOARD_UID = "driftmon-overview"  # deploy/grafana/dashboards/driftmon.json
GRAFANA_DASHBOARD_SLUG = "driftmon-data-drift"


@dataclass(frozen=True, slots=True)
class PageSettings:
    """Where the pages live and what they link to.

    ``external_url``: driftmon's URL as users reach it (``--web.external-url``); its path is
    the prefix of every link. ``grafana_url``: Grafana's base URL; without it the feature
    page shows no dashboard link.
    """

    external_url: str | None = None
    grafana_url: str | None = None

    @property
    def prefix(self) -> str:
        if not self.external_url:
            return ""
        after_scheme = self.external_url.split("://", 1)[-1]
        path = after_scheme[len(after_scheme.split("/", 1)[0]) :]
        return path.rstrip("/")


def _visible(value: Any) -> Any:
    """Every text a page shows with control and bidi characters as visible escapes (a
    feature named with U+202E must not reverse the page around it); markup is left alone."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return redact.printable(value, one_line=False)
    return value


_environment = jinja2.Environment(
    loader=jinja2.PackageLoader("driftmon", "templates"),
    autoescape=True,  # every value is escaped unless a template says otherwise (none does)
    finalize=_visible,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _feature_path(monitor: str, feature: str) -> str:
    return f"/monitors/{quote(monitor, safe='')}/features/{quote(feature, safe='')}"


def grafana_link(settings: PageSettings, monitor: str, feature: str | None = None) -> str | None:
    """The dashboard filtered to this monitor (and feature), or None without a Grafana URL."""
    if not settings.grafana_url:
        return None
    query = {"var-monitor": monitor}
    if feature is not None:
        query["var-feature"] = feature
    base = settings.grafana_url.rstrip("/")
    return f"{base}/d/{GRAFANA_DASHBOARD_UID}/{GRAFANA_DASHBOARD_SLUG}?{urlencode(query)}"


# ---------------------------------------------------------------------------
# numbers as text


def _number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return _NONE
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    return f"{value:.{digits}g}"


def _percent(share: float) -> str:
    if share == 0:
        return "0%"
    return f"{share:.2%}" if share < 0.001 else f"{share:.1%}"


def _when(unix: float | None, now: float) -> str:
    if unix is None:
        return "never"
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(unix))
    ago = max(0.0, now - unix)
    if ago < 120:
        relative = f"{ago:.0f} s ago"
    elif ago < 7200:
        relative = f"{ago / 60:.0f} min ago"
    else:
        relative = f"{ago / 3600:.1f} h ago"
    return f"{stamp} ({relative})"


# ---------------------------------------------------------------------------
# the chart


@dataclass(frozen=True, slots=True)
class _Bar:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class _Group:
    index: int
    label: str
    short_label: str
    role: str
    reference: _Bar
    live: _Bar
    label_x: float
    reference_text: str
    live_text: str


@dataclass(frozen=True, slots=True)
class _Chart:
    width: int
    height: int
    plot_top: float
    plot_bottom: float
    plot_left: float
    plot_right: float
    groups: tuple[_Group, ...]
    ticks: tuple[tuple[float, str], ...]


def _chart(bins: Sequence[BinExplanation]) -> _Chart:
    """Grouped bars: per bin a reference and a live bar, heights in share of rows."""
    width, height = 1180, 330
    left, right, top, bottom = 56.0, width - 10.0, 16.0, height - 96.0
    peak = max([b.reference_share for b in bins] + [b.live_share for b in bins] + [1e-12])
    scale = (bottom - top) / peak
    slot = (right - left) / max(1, len(bins))
    bar = max(1.0, slot * 0.38)
    groups = []
    for index, item in enumerate(bins):
        x0 = left + index * slot + slot * 0.1
        reference_height = item.reference_share * scale
        live_height = item.live_share * scale
        short = item.label if len(item.label) <= 16 else item.label[:15] + "…"
        groups.append(
            _Group(
                index=index,
                label=item.label,
                short_label=short,
                role=item.role,
                reference=_Bar(x0, bottom - reference_height, bar, reference_height),
                live=_Bar(x0 + bar, bottom - live_height, bar, live_height),
                label_x=x0 + bar,
                reference_text=_percent(item.reference_share),
                live_text=_percent(item.live_share),
            )
        )
    ticks = tuple(
        (bottom - fraction * peak * scale, _percent(fraction * peak)) for fraction in (0.0, 0.25, 0.5, 0.75, 1.0)
    )
    return _Chart(width, height, top, bottom, left, right, tuple(groups), ticks)


# ---------------------------------------------------------------------------
# page models


def _monitor_rows(snapshot: Snapshot, now: float) -> list[dict[str, Any]]:
    rows = []
    for state in snapshot.monitors:
        latest = state.latest
        rows.append(
            {
                "name": state.name,
                "status": latest.status if latest is not None else "pending",
                "labels": dict(state.labels),
                "last": _when(latest.started_at if latest is not None else None, now),
                "last_success": _when(state.last_success_s, now),
                "error": latest.error if latest is not None else None,
                "features": len(state.features),
                "drifted": sum(f.worst in ("warning", "critical") for f in state.features),
                "evaluations": state.evaluations,
                "failures": state.failures,
            }
        )
    return rows


def _feature_row(state: MonitorState, feature: FeatureResult) -> dict[str, Any]:
    live_total = sum(b.live_count for b in feature.bins)
    movers = top_movers(feature.bins, 1)
    scores = []
    for measure in state.measures:
        warning, critical = feature.thresholds.get(measure, (None, None))
        scores.append(
            {
                "measure": measure,
                "score": _number(feature.scores.get(measure)),
                "warning": _number(warning),
                "critical": _number(critical),
                "severity": feature.severity.get(measure, _NONE),
            }
        )
    return {
        "name": feature.feature,
        "kind": feature.kind if feature.role == "input" else f"{feature.kind}, model output",
        "severity": feature.worst,
        "scores": scores,
        "pvalue": _number(feature.pvalue_adjusted, 2),
        "mover": describe_bin(movers[0], lead_measure(feature), state.log_base, live_total) if movers else _NONE,
        "reason": feature.reason,
        "live_count": _number(feature.live_count, 8),
        "reference_count": _number(feature.reference_count, 8),
    }


def _feature_page(state: MonitorState, feature: FeatureResult, settings: PageSettings) -> dict[str, Any]:
    names = term_names(state.measures)
    bins = []
    live_total = sum(b.live_count for b in feature.bins)
    for item in feature.bins:
        bins.append(
            {
                "label": item.label,
                "role": item.role,
                "reference_count": _number(item.reference_count, 8),
                "live_count": _number(item.live_count, 8),
                "reference_share": _percent(item.reference_share),
                "live_share": _percent(item.live_share),
                "change": f"{item.change * 100:+.2f} pp",
                "terms": [_number(item.terms.get(name), 3) for name in names],
                "values": [
                    (value, _number(count, 8), _percent(count / live_total if live_total else 0.0))
                    for value, count in item.values
                ],
            }
        )
    measures = []
    for measure in state.measures:
        warning, critical = feature.thresholds.get(measure, (None, None))
        measures.append(
            {
                "measure": measure,
                "unit": unit(measure, state.log_base) or _NONE,
                "score": _number(feature.scores.get(measure)),
                "warning": _number(warning),
                "critical": _number(critical),
                "noise_floor": _number(feature.noise_floor.get(measure)),
                "severity": feature.severity.get(measure, _NONE),
            }
        )
    lead = lead_measure(feature)
    return {
        "row": _feature_row(state, feature),
        "bins": bins,
        "term_names": names,
        "term_units": [unit(name, state.log_base) for name in names],
        "measures": measures,
        "chart": _chart(feature.bins) if feature.bins else None,
        "movers": [describe_bin(b, lead, state.log_base, live_total) for b in top_movers(feature.bins, 3)],
        "grafana": grafana_link(settings, state.name, feature.feature),
        "pvalue": _number(feature.pvalue, 3),
        "pvalue_adjusted": _number(feature.pvalue_adjusted, 3),
        "unseen_fraction": _percent(feature.unseen_fraction),
    }


def _monitor_page(state: MonitorState, settings: PageSettings, now: float) -> dict[str, Any]:
    latest = state.latest
    return {
        "name": state.name,
        "status": latest.status if latest is not None else "pending",
        "error": latest.error if latest is not None else None,
        "labels": dict(state.labels),
        "measures": state.measures,
        "last": _when(latest.started_at if latest is not None else None, now),
        "last_success": _when(state.last_success_s, now),
        "stale": latest is not None and latest.status == ERROR and state.scored is not None,
        "features": [_feature_row(state, f) for f in state.features],
        "grafana": grafana_link(settings, state.name),
        "quality": state.scored.quality_findings() if state.scored is not None else [],
        "joint": joint_section(state.scored.multivariate, _anchor(state.name)) if state.scored is not None else None,
        "segments": page_model(state.scored.segments if state.scored is not None else None),
        "model": model_section(state.scored),
        "reference": state.scored.reference.describe() if state.scored and state.scored.reference else None,
    }


# ---------------------------------------------------------------------------
# entry points


def _links(settings: PageSettings, anchors: bool) -> dict[str, Callable[..., str]]:
    if anchors:  # one document: in-page anchors
        return {
            "home": lambda: "#top",
            "monitor": lambda m: "#" + _anchor("monitor", m),
            "feature": lambda m, f: "#" + _anchor("feature", m, f),
        }
    prefix = settings.prefix
    return {
        "home": lambda: prefix + "/",
        "monitor": lambda m: f"{prefix}/monitors/{quote(m, safe='')}",
        "feature": lambda m, f: prefix + _feature_path(m, f),
    }


def _anchor(*parts: str) -> str:
    """An id usable in a fragment: every part percent-encoded (no quotes, spaces or '#')."""
    return "-".join(quote(part, safe="").replace("%", "_") for part in parts)


def _page(template: str, settings: PageSettings, title: str, **context: Any) -> bytes:
    text = _environment.get_template(template).render(
        title=title, version=__version__, links=_links(settings, anchors=False), anchor=_anchor, **context
    )
    return text.encode("utf-8")


def render(path: str, snapshot: Snapshot, settings: PageSettings, now: float | None = None) -> tuple[str, str, bytes]:
    """One page for a GET of ``path`` (already percent-decoded, with or without the external
    URL's prefix): ``(status line, content type, body)``. Unknown paths are 404 pages."""
    now = time.time() if now is None else now
    prefix = settings.prefix
    if prefix and (path == prefix or path.startswith(prefix + "/")):
        path = path[len(prefix) :] or "/"
    if path in ("/", ""):
        rows = _monitor_rows(snapshot, now)
        return "200 OK", HTML, _page("index.html", settings, "driftmon", monitors=rows, now=_when(now, now))
    parts = path.split("/", 4)  # ['', 'monitors', name, 'features', feature (may hold '/')]
    if len(parts) >= 3 and parts[1] == "monitors":
        state = next((s for s in snapshot.monitors if s.name == parts[2]), None)
        if state is not None and len(parts) == 3:
            page = _monitor_page(state, settings, now)
            return "200 OK", HTML, _page("monitor.html", settings, f"{state.name} · driftmon", monitor=page)
        if state is not None and len(parts) == 5 and parts[3] == "features":
            feature = _find_feature(state, parts[4])
            if feature is not None:
                page = _feature_page(state, feature, settings)
                title = f"{feature.feature} · {state.name} · driftmon"
                return "200 OK", HTML, _page("feature.html", settings, title, monitor=state.name, feature=page)
    return "404 Not Found", HTML, _page("missing.html", settings, "not found · driftmon", path=path)


def _find_feature(state: MonitorState, name: str) -> FeatureResult | None:
    slashed = name.replace("%2F", "/").replace("%2f", "/")  # cheroot keeps an encoded '/' encoded
    for candidate in dict.fromkeys((name, slashed, name.replace("+", " "), slashed.replace("+", " "))):
        # Alertmanager's urlquery writes spaces as '+'
        for feature in state.features:
            if feature.feature == candidate:
                return feature
    return None


def snapshot_of(results: Sequence[MonitorResult]) -> Snapshot:
    """A snapshot holding one evaluation per monitor (for ``driftmon report``)."""
    states = tuple(
        MonitorState(
            name=r.monitor,
            labels=r.labels,
            measures=r.measures,
            log_base=r.log_base,
            latest=r,
            scored=r if r.ok else None,
            evaluations=1,
            failures=0 if r.ok else 1,
            last_success_s=r.started_at + r.duration_s if r.ok else None,
        )
        for r in results
    )
    return Snapshot(1, states)


def report(snapshot: Snapshot, settings: PageSettings, now: float | None = None) -> str:
    """Every page of the snapshot in one self-contained HTML document (in-page links only)."""
    now = time.time() if now is None else now
    monitors = []
    for state in snapshot.monitors:
        page = _monitor_page(state, settings, now)
        page["feature_pages"] = [_feature_page(state, f, settings) for f in state.features]
        monitors.append(page)
    return _environment.get_template("report.html").render(
        title="driftmon report",
        version=__version__,
        links=_links(settings, anchors=True),
        anchor=_anchor,
        index=_monitor_rows(snapshot, now),
        monitors=monitors,
        now=_when(now, now),
    )
