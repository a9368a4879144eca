"""driftmon: a data-drift monitoring daemon that exports divergences as Prometheus metrics."""

__version__ = "0.1.0"
