"""``type: prometheus``: histograms from counters Prometheus already holds (either side).

Each feature's histogram over a window is one PromQL query, summed over every series that
matches (all replicas of a model server)::

    sum by (feature, bin) (increase(driftmon_feature_observations_total{<matchers>, feature=~"a|b"}[1h]))
    sum by (le)  (increase(<name>_bucket{<matchers>}[1h]))        # a classic histogram
    sum by (<label>) (increase(<name>{<matchers>}[1h]))           # a counter with a bin/value label

``increase`` handles counter resets (a restarted model server). The window ends at the
most recent scrape of the features' series (at most the evaluation time), so Prometheus
does not extrapolate past the data; ``offset`` moves it back (a reference one week
earlier: ``offset: 7d``).

Bins: the default layout is :mod:`driftmon.instrument`'s (``bin`` labels that name each
bin exactly, point bins included); a classic histogram's ``le`` buckets give the edges (no
point bins; buckets are ``(a, b]`` where driftmon's own bins are ``[a, b)``: only values
exactly on an edge differ). The live bins must equal the reference's, or the evaluation
fails naming the edges that differ.
"""

from __future__ import annotations

import base64
import json
import math
import re
import urllib.parse
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from driftmon import redact
from driftmon._imports import lazy_import
from driftmon.durations import PATTERN, parse_duration
from driftmon.errors import DataError, SourceError
from driftmon.histogram import (
    MISSING,
    OTHER,
    OTHERS_LIMIT,
    UNSEEN,
    BinningRule,
    BinSpec,
    CategoricalBins,
    Histogram,
    NumericBins,
)
from driftmon.instrument import BIN_LABEL, FEATURE_LABEL, METRIC, bin_labels, parse_bin_labels
from driftmon.sources.base import Probe, Source

if TYPE_CHECKING:
    import ssl
    import urllib.error as url_error
    import urllib.request as url_request

    from driftmon import httpclient
    from driftmon.sources.file_cache import FileCounts
else:
    # HTTP and TLS modules load on the first query: `driftmon check` on files never needs them.
    ssl = lazy_import("ssl")
    url_error = lazy_import("urllib.error")
    url_request = lazy_import("urllib.request")
    httpclient = lazy_import("driftmon.httpclient")

_SELECTOR = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{(.*)\})?\s*$", re.DOTALL)
_LABEL_NAME = r"^[a-zA-Z_][a-zA-Z0-9_]*$"


class BasicAuth(BaseModel):
    """HTTP basic auth, as in a Prometheus scrape_config (the password never appears in messages)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    username: str
    password: SecretStr | None = Field(default=None, description="use ${VAR}, or password_file")
    password_file: str | None = Field(default=None, description="a file holding the password")

    @model_validator(mode="after")
    def _one_password(self) -> BasicAuth:
        if self.password is not None and self.password_file is not None:
            raise ValueError("give password or password_file, not both")
        return self


class TlsConfig(BaseModel):
    """TLS towards Prometheus, as in a Prometheus scrape_config."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    ca_file: str | None = Field(default=None, description="CA certificates to verify the server with")
    cert_file: str | None = Field(default=None, description="client certificate (with key_file)")
    key_file: str | None = Field(default=None, description="client key (with cert_file)")
    insecure_skip_verify: bool = Field(default=False, description="do not verify the server's certificate")

    @model_validator(mode="after")
    def _pair(self) -> TlsConfig:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self


class PrometheusFeature(BaseModel):
    """Where one feature's counts are, when not in the monitor-wide ``metric``."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    histogram: str | None = Field(
        default=None,
        description='a classic histogram: its name or selector without _bucket, e.g. latency_seconds{job="api"}',
    )
    counter: str | None = Field(
        default=None, description="a counter (name or selector) with one series per bin or category, named by `label`"
    )
    label: str = Field(
        default=BIN_LABEL, pattern=_LABEL_NAME, description="the counter's bin (numeric) or value (categorical) label"
    )

    @model_validator(mode="after")
    def _one(self) -> PrometheusFeature:
        if (self.histogram is None) == (self.counter is None):
            raise ValueError("give exactly one of histogram or counter")
        _split_selector(self.histogram or self.counter or "")
        return self


class PrometheusSourceConfig(BaseModel):
    """Feature histograms as increases of Prometheus counters over a window."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    type: Literal["prometheus"]
    url: str = Field(description="the Prometheus server, e.g. http://prometheus:9090")
    window: str = Field(pattern=PATTERN, description="the window counted: increase(...[window]), e.g. 1h")
    offset: str | None = Field(
        default=None, pattern=PATTERN, description="move the window back, e.g. 7d for a reference a week earlier"
    )
    metric: str = Field(
        default=METRIC,
        pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$",
        description="counter with `feature` and `bin` labels for every feature not in `features` "
        "(driftmon.instrument's layout)",
    )
    matchers: str = Field(
        default="", description='label matchers added to every query, e.g. job="model-server", model="credit"'
    )
    features: dict[str, PrometheusFeature] = Field(
        default_factory=dict, description="per feature: a classic histogram or a counter"
    )
    basic_auth: BasicAuth | None = Field(
        default=None, description="{username, password or password_file}, as in a scrape_config"
    )
    bearer_token_file: str | None = Field(default=None, description="a file holding a bearer token")
    tls_config: TlsConfig | None = Field(
        default=None, description="{ca_file, cert_file, key_file, insecure_skip_verify}, as in a scrape_config"
    )
    timeout: str = Field(default="30s", pattern=PATTERN, description="limit for each query")

    @model_validator(mode="after")
    def _checks(self) -> PrometheusSourceConfig:
        parsed = urllib.parse.urlsplit(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("url must be http://host:port or https://host:port")
        if self.basic_auth is not None and self.bearer_token_file is not None:
            raise ValueError("give basic_auth or bearer_token_file, not both")
        return self


def _split_selector(selector: str) -> tuple[str, str]:
    match = _SELECTOR.match(selector)
    if match is None:
        raise ValueError(f'{selector!r} is not a metric name or selector like name{{label="value"}}')
    return match.group(1), (match.group(2) or "").strip()


def _promql_string(text: str) -> str:
    return json.dumps(text)  # JSON's escapes are valid in a PromQL double-quoted string


def _duration(text: str) -> str:
    seconds = parse_duration(text)
    return f"{int(seconds * 1000)}ms" if seconds != int(seconds) else f"{int(seconds)}s"


class PrometheusSource(Source):
    """Counts read from Prometheus: only ``bins`` numbers per feature travel."""

    Config = PrometheusSourceConfig

    def __init__(self, config: PrometheusSourceConfig, base_dir: Path, now: datetime | float | None = None) -> None:
        super().__init__(config, base_dir, now)
        self.config: PrometheusSourceConfig = config
        parsed = urllib.parse.urlsplit(config.url)
        host = parsed.hostname or ""
        port = f":{parsed.port}" if parsed.port else ""
        self.safe_url = f"{parsed.scheme}://{host}{port}{parsed.path.rstrip('/')}"  # never user:password@
        self._endpoint = self.safe_url + "/api/v1/query"
        # Credentials in the URL (http://user:password@host) become a basic auth header.
        self._url_auth = (
            (urllib.parse.unquote(parsed.username), urllib.parse.unquote(parsed.password or ""))
            if parsed.username is not None
            else None
        )
        self._at: float | None = None

    def describe(self) -> str:
        return f"Prometheus {self.safe_url}"

    def fingerprint(self) -> str:
        # The window moves with the clock: the reference is read again at every evaluation.
        return f"{self.safe_url} {self.now.timestamp()}"

    # -- the two sides -----------------------------------------------------------------

    def profile(self, rules: Sequence[BinningRule]) -> dict[str, Histogram]:
        raw = self._fetch([rule.name for rule in rules])
        result = {}
        for rule in rules:
            values, layout = raw[rule.name]
            histogram = self._reference_histogram(rule, values, layout)
            result[rule.name] = histogram
        return result

    def count(self, specs: Mapping[str, BinSpec], cache: FileCounts | None = None) -> dict[str, Histogram]:
        raw = self._fetch(list(specs))
        return {name: self._live_histogram(name, spec, *raw[name]) for name, spec in specs.items()}

    # -- turning label -> count into histograms -------------------------------------------

    def _reference_histogram(self, rule: BinningRule, values: dict[str, float], layout: str) -> Histogram:
        name = rule.name
        if layout == "le":
            if rule.kind == "categorical":
                raise DataError(f"{self.describe()}: feature {name!r} is categorical but its histogram has le buckets")
            histogram = self._from_buckets(name, values)
        elif rule.kind == "categorical" or (rule.kind is None and not _looks_numeric(values)):
            histogram = self._categorical_reference(rule, values)
        else:
            try:
                spec = parse_bin_labels(values, name)
            except ValueError as error:
                raise DataError(f"{self.describe()}: {error}") from None
            histogram = _ordered(spec, values)
        if rule.edges is not None and isinstance(histogram.spec, NumericBins):
            _require_same(
                name,
                NumericBins(tuple(float(e) for e in rule.edges)),
                histogram.spec,
                self.describe(),
                "the configured edges",
            )
        return histogram

    def _categorical_reference(self, rule: BinningRule, values: dict[str, float]) -> Histogram:
        missing = values.get(MISSING, 0.0)
        other = values.get(OTHER, 0.0)
        unseen = values.get(UNSEEN, 0.0)
        seen = {k: v for k, v in values.items() if k not in (MISSING, OTHER, UNSEEN) and v > 0}
        ranked = sorted(seen, key=lambda k: (-seen[k], k))
        top, rest = ranked[: rule.max_categories], ranked[rule.max_categories :]
        other += sum(seen[k] for k in rest)
        # The values behind __other__ are known only when driftmon ranked them here.
        unknown = len(rest) > OTHERS_LIMIT or values.get(OTHER, 0.0) > 0
        others: frozenset[str] | None = None if unknown else frozenset(rest)
        spec = CategoricalBins(tuple(top), others)
        counts = np.array([*(seen[k] for k in top), other, unseen])
        return Histogram(spec, counts, missing)

    def _live_histogram(self, name: str, spec: BinSpec, values: dict[str, float], layout: str) -> Histogram:
        where = self.describe()
        if isinstance(spec, CategoricalBins):
            if layout == "le":
                raise DataError(
                    f"{where}: feature {name!r} is categorical in the reference but a histogram in Prometheus"
                )
            position = {category: index for index, category in enumerate(spec.categories)}
            other, unseen = len(spec.categories), len(spec.categories) + 1
            outside = other if spec.others is None else unseen
            for value in spec.others or ():
                position.setdefault(value, other)
            position[OTHER], position[UNSEEN] = other, unseen
            counts = np.zeros(spec.size)
            for label, count in values.items():
                if label != MISSING:
                    counts[position.get(label, outside)] += count
            return Histogram(spec, counts, values.get(MISSING, 0.0))
        if layout == "le":
            live = self._from_buckets(name, values)
        else:
            try:
                live = _ordered(parse_bin_labels(values, name), values)
            except ValueError as error:
                raise DataError(f"{where}: {error}") from None
        assert isinstance(live.spec, NumericBins)
        _require_same(name, spec, live.spec, where, "the reference's")
        return live

    def _from_buckets(self, name: str, values: dict[str, float]) -> Histogram:
        """Bins from cumulative ``le`` buckets: ``(-inf, le0]``, ``(le0, le1]``, …, ``(lek, +inf)``."""
        try:
            bounds = sorted((float(le), count) for le, count in values.items())
        except ValueError:
            raise DataError(f"{self.describe()}: feature {name!r}: le labels must be numbers") from None
        if not bounds or not math.isinf(bounds[-1][0]):
            raise DataError(f'{self.describe()}: feature {name!r}: the histogram has no le="+Inf" bucket')
        edges = tuple(le for le, _ in bounds[:-1])
        cumulative = np.array([count for _, count in bounds])
        # Each bucket is extrapolated on its own: clip the rounding noise that can make a difference negative.
        counts = np.clip(np.diff(cumulative, prepend=0.0), 0.0, None)
        if len(edges) < 2:
            raise DataError(f"{self.describe()}: feature {name!r}: a histogram needs at least two finite le buckets")
        return Histogram(NumericBins(edges), counts, 0.0)

    def probe(self, columns: Sequence[str]) -> Probe:
        """Prometheus answers, and the window holds series for every feature (a few numbers each)."""
        fetched = self._fetch(list(columns))
        found = {
            name: f"{len(values)} {'le buckets' if layout == 'le' else 'bins'}"
            for name, (values, layout) in fetched.items()
        }
        return Probe(f"reachable, series for {len(fetched)} features in window {self.config.window}", found)

    # -- querying ------------------------------------------------------------------------

    def _queries(self, features: Sequence[str]) -> list[tuple[str, list[str], str, str]]:
        """(query, features, layout, group label) per query; layout is ``bins`` or ``le``."""
        config = self.config
        window = f"[{_duration(config.window)}]" + (f" offset {_duration(config.offset)}" if config.offset else "")
        extra = config.matchers.strip().strip("{}").strip()
        queries = []
        default = [f for f in features if f not in config.features]
        if default:
            pattern = "|".join(re.escape(f) for f in default)
            matchers = ", ".join(m for m in (extra, f"{FEATURE_LABEL}=~{_promql_string(pattern)}") if m)
            selector = f"{config.metric}{{{matchers}}}"
            queries.append(
                (f"sum by ({FEATURE_LABEL}, {BIN_LABEL}) (increase({selector}{window}))", default, "bins", selector)
            )
        for feature in features:
            if feature not in config.features:
                continue
            spec = config.features[feature]
            name, own = _split_selector(spec.histogram or spec.counter or "")
            matchers = ", ".join(m for m in (own, extra) if m)
            if spec.histogram is not None:
                selector = f"{name}_bucket{{{matchers}}}"
                queries.append((f"sum by (le) (increase({selector}{window}))", [feature], "le", selector))
            else:
                selector = f"{name}{{{matchers}}}"
                queries.append(
                    (f"sum by ({spec.label}) (increase({selector}{window}))", [feature], spec.label, selector)
                )
        return queries

    def _fetch(self, features: Sequence[str]) -> dict[str, tuple[dict[str, float], str]]:
        """label -> count per feature, and its layout (``le`` or ``bins``)."""
        queries = self._queries(features)
        at = self._aligned([selector for _, _, _, selector in queries])
        result: dict[str, tuple[dict[str, float], str]] = {}
        for query, names, group, selector in queries:
            layout = "le" if group == "le" else "bins"
            label = BIN_LABEL if group == "bins" else group
            series = self._query(query, at)
            by_feature: dict[str, dict[str, float]] = {name: {} for name in names}
            for item in series:
                labels = item.get("metric", {})
                feature = labels.get(FEATURE_LABEL) if group == "bins" else names[0]
                key = labels.get(label)
                if feature not in by_feature or key is None:
                    continue
                value = float(item["value"][1])
                by_feature[feature][key] = 0.0 if math.isnan(value) else value
            offset = f", offset {self.config.offset}" if self.config.offset else ""
            for name in names:
                if not by_feature[name]:
                    raise DataError(
                        f"{self.describe()}: no series for feature {name!r} in the window ({selector}, "
                        f"window {self.config.window}{offset}); "
                        "is the model server instrumented for it and scraped?"
                    )
                result[name] = (by_feature[name], layout)
        return result

    def _aligned(self, selectors: Sequence[str]) -> float:
        """The time of the latest scrape of these series, at most the evaluation time."""
        now = self.now.timestamp()
        if self._at is not None:
            return self._at
        union = " or ".join(f"timestamp({selector})" for selector in selectors)
        series = self._query(f"max({union})", now)
        if not series:
            raise DataError(
                f"{self.describe()}: no series match {', '.join(selectors)} "
                "(is the model server instrumented and scraped? check the metric name and matchers)"
            )
        self._at = min(now, float(series[0]["value"][1]))
        return self._at

    def _query(self, query: str, at: float) -> list[dict[str, Any]]:
        body = urllib.parse.urlencode({"query": query, "time": f"{at:.3f}"}).encode()
        request = url_request.Request(self._endpoint, data=body, method="POST", headers=self._headers())
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        timeout = parse_duration(self.config.timeout)
        try:
            with httpclient.open_url(request, timeout, self._tls()) as reply:  # no credentials across origins
                document = json.loads(reply.read())
        except url_error.HTTPError as error:
            detail = _error_text(error)
            raise SourceError(f"{self.describe()}: query failed with HTTP {error.code}: {detail}") from None
        except (url_error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise SourceError(f"{self.describe()}: cannot query Prometheus ({reason})") from None
        except json.JSONDecodeError:
            raise SourceError(f"{self.describe()}: the answer is not JSON (is url a Prometheus server?)") from None
        data = document.get("data", {}) if isinstance(document, dict) else {}
        if document.get("status") != "success" or data.get("resultType") != "vector":
            raise SourceError(f"{self.describe()}: unexpected answer: {redact.text(str(document), limit=200)}")
        result: list[dict[str, Any]] = data.get("result", [])
        return result

    def _headers(self) -> dict[str, str]:
        config = self.config
        if config.basic_auth is not None:
            auth = config.basic_auth
            password = auth.password.get_secret_value() if auth.password is not None else ""
            if auth.password_file is not None:
                password = self._secret_file(auth.password_file, "basic_auth.password_file")
            redact.remember_credentials(auth.username, password)  # the file may have changed since the config loaded
            token = base64.b64encode(f"{auth.username}:{password}".encode()).decode()
            return {"Authorization": f"Basic {token}"}
        if config.bearer_token_file is not None:
            bearer = self._secret_file(config.bearer_token_file, "bearer_token_file")
            redact.remember_credentials(None, bearer)
            return {"Authorization": f"Bearer {bearer}"}
        if self._url_auth is not None:
            user, password = self._url_auth
            redact.remember_credentials(user, password)
            return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
        return {}

    def _secret_file(self, path: str, key: str) -> str:
        full = (self.base_dir / path).resolve()
        try:
            return full.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise SourceError(f"{self.describe()}: cannot read {key} {full}: {error.strerror}") from None

    def _tls(self) -> ssl.SSLContext | None:
        tls = self.config.tls_config
        if not self.config.url.startswith("https:"):
            return None
        context = ssl.create_default_context()
        if tls is None:
            return context
        try:
            if tls.ca_file is not None:
                context.load_verify_locations(cafile=str((self.base_dir / tls.ca_file).resolve()))
            if tls.cert_file is not None and tls.key_file is not None:
                context.load_cert_chain(
                    str((self.base_dir / tls.cert_file).resolve()), str((self.base_dir / tls.key_file).resolve())
                )
        except (OSError, ssl.SSLError) as error:
            raise SourceError(f"{self.describe()}: tls_config: {getattr(error, 'strerror', None) or error}") from None
        if tls.insecure_skip_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def _error_text(error: url_error.HTTPError) -> str:
    try:
        document = json.loads(error.read())
        # masked before it is cut: a cut Basic token or password would not be recognised
        return redact.text(str(document.get("error", "")), limit=300) or redact.text(str(error.reason))
    except (json.JSONDecodeError, OSError, AttributeError):
        return redact.text(str(error.reason), limit=300)


def _looks_numeric(values: Mapping[str, float]) -> bool:
    try:
        parse_bin_labels(values, "")
    except ValueError:
        return False
    return True


def _ordered(spec: NumericBins, values: Mapping[str, float]) -> Histogram:
    counts = np.array([values.get(label, 0.0) for label in bin_labels(spec)])
    return Histogram(spec, counts, values.get(MISSING, 0.0))


def _require_same(name: str, expected: NumericBins, got: NumericBins, where: str, what: str) -> None:
    """A DataError naming the edges and point bins that differ, unless the bins are equal."""
    if expected == got:
        return
    parts = []
    only_got = sorted(set(got.edges) - set(expected.edges))
    only_expected = sorted(set(expected.edges) - set(got.edges))
    if only_got:
        parts.append(f"edges only in Prometheus: {only_got}")
    if only_expected:
        parts.append(f"edges only in {what}: {only_expected}")
    points_got, points_expected = set(got.points), set(expected.points)
    if points_got != points_expected:
        parts.append(
            f"point bins in Prometheus {sorted(points_got)}, in {what} {sorted(points_expected)}"
            + (" (a le bucket layout cannot hold point bins: count with driftmon.instrument)" if not points_got else "")
        )
    raise DataError(
        f"{where}: feature {name!r}: the bins in Prometheus differ from {what} bins ({'; '.join(parts)}); "
        "driftmon never rebins silently"
    )
