"""`type: prometheus` without a server: config validation, the PromQL it sends, turning counts into bins."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from driftmon.errors import DataError
from driftmon.histogram import BinningRule, CategoricalBins, NumericBins
from driftmon.sources.prometheus import PrometheusSource, PrometheusSourceConfig


def source(**options: object) -> PrometheusSource:
    config = PrometheusSourceConfig.model_validate(
        {"type": "prometheus", "url": "http://u:pw@prom:9090/", "window": "1h", **options}
    )
    return PrometheusSource(config, Path("."))


def test_queries_sum_increase_over_the_window_with_offset_and_matchers() -> None:
    """One query for the instrument's layout (all its features), one per classic histogram or counter, all with offset and matchers."""
    queries = source(
        offset="7d",
        matchers='job="model"',
        features={
            "latency": {"histogram": 'latency_seconds{route="/predict"}'},
            "country": {"counter": "requests_total", "label": "country"},
        },
    )._queries(["age", "a.b", "latency", "country"])
    assert [q[0] for q in queries] == [
        'sum by (feature, bin) (increase(driftmon_feature_observations_total{job="model", feature=~"age|a\\\\.b"}[3600s] offset 604800s))',
        'sum by (le) (increase(latency_seconds_bucket{route="/predict", job="model"}[3600s] offset 604800s))',
        'sum by (country) (increase(requests_total{job="model"}[3600s] offset 604800s))',
    ]


def test_the_url_is_shown_without_credentials() -> None:
    """describe() names the server without user:password."""
    assert source().describe() == "Prometheus http://prom:9090"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"url": "prom:9090"}, "url must be http"),
        ({"features": {"x": {"histogram": "a", "counter": "b"}}}, "exactly one of histogram or counter"),
        ({"features": {"x": {"counter": "9bad{"}}}, "not a metric name or selector"),
        ({"window": "an hour"}, "window"),
        ({"basic_auth": {"username": "u", "password": "p", "password_file": "f"}}, "not both"),
        ({"tls_config": {"cert_file": "c.pem"}}, "cert_file and key_file go together"),
    ],
)
def test_bad_configs_are_refused(options: dict[str, object], message: str) -> None:
    """Each mistake is a validation error saying what is wrong."""
    with pytest.raises(ValidationError, match=message):
        PrometheusSourceConfig.model_validate(
            {"type": "prometheus", "url": "http://prom:9090", "window": "1h", **options}
        )


def test_password_is_hidden_in_the_config_repr() -> None:
    """An inline basic_auth password is a secret: not in repr or str of the config."""
    config = PrometheusSourceConfig.model_validate(
        {
            "type": "prometheus",
            "url": "http://prom:9090",
            "window": "1h",
            "basic_auth": {"username": "u", "password": "hunter2"},
        }
    )
    assert "hunter2" not in repr(config) and "hunter2" not in str(config)


def test_le_buckets_become_right_closed_bins_and_must_match_the_reference_edges() -> None:
    """Cumulative buckets give per-bin counts (+Inf the overflow); other edges are an error listing them."""
    prometheus = source()
    values = {"0.5": 10.0, "1": 25.0, "2.5": 30.0, "+Inf": 33.0}
    histogram = prometheus._live_histogram("x", NumericBins((0.5, 1.0, 2.5)), values, "le")
    np.testing.assert_array_equal(histogram.counts, [10, 15, 5, 3])
    with pytest.raises(
        DataError, match=r"feature 'x'.*edges only in Prometheus: \[0\.5\]; edges only in the reference's: \[0\.25\]"
    ):
        prometheus._live_histogram("x", NumericBins((0.25, 1.0, 2.5)), values, "le")
    with pytest.raises(DataError, match="a le bucket layout cannot hold point bins"):
        prometheus._live_histogram("x", NumericBins((0.5, 1.0, 2.5), (1.0,)), values, "le")


def test_live_categories_map_onto_the_reference_bins() -> None:
    """Values outside the reference's categories are __other__ (known other values) or __unseen__; missing apart."""
    spec = CategoricalBins(("US", "DE"), frozenset({"FR"}))
    histogram = source()._live_histogram(
        "c", spec, {"US": 5.0, "FR": 2.0, "BR": 3.0, "__unseen__": 1.0, "__missing__": 4.0}, "bins"
    )
    np.testing.assert_array_equal(histogram.counts, [5, 0, 2, 4])
    assert histogram.missing == 4


def test_a_categorical_reference_keeps_the_top_values_by_count() -> None:
    """A counter with a value label as reference: max_categories most frequent (ties by value), the rest __other__ and remembered."""
    rule = BinningRule("c", kind=None, max_categories=2)
    histogram = source()._reference_histogram(
        rule, {"b": 5.0, "a": 5.0, "c": 9.0, "d": 1.0, "__missing__": 2.0}, "bins"
    )
    assert histogram.spec == CategoricalBins(("c", "a"), frozenset({"b", "d"}))
    np.testing.assert_array_equal(histogram.counts, [9, 5, 6, 0])
    assert histogram.missing == 2
