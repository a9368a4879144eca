"""``type: spark`` without a JVM: the pandas 3 warning PySpark emits is silenced, and only it."""

from __future__ import annotations

import warnings

import pytest

from driftmon.sources import spark


def test_pyspark_pandas_3_warning_is_silenced_and_nothing_else() -> None:
    """PySpark warns it does not support pandas 3 on its first JVM call (driftmon uses no pandas with
    Spark): that FutureWarning is filtered when a session starts; other FutureWarnings still show."""
    utils = pytest.importorskip("pyspark.sql.pandas.utils")
    import pandas as pd

    if int(pd.__version__.split(".")[0]) < 3:
        pytest.skip("the warning is only emitted with pandas >= 3")
    with warnings.catch_warnings(record=True) as before:
        warnings.simplefilter("always")
        utils.require_minimum_pandas_version()
    assert any("does not yet fully support pandas" in str(w.message) for w in before)  # the reported defect
    with warnings.catch_warnings(record=True) as after:
        warnings.simplefilter("always")
        spark.quiet_pandas_warning()
        utils.require_minimum_pandas_version()
        warnings.warn("another future change", FutureWarning, stacklevel=1)
    assert [str(w.message) for w in after] == ["another future change"]


def test_a_spark_error_is_masked_before_it_is_cut() -> None:
    """A secret that straddles the 400-character cut of a Spark error must not show in part:
    cut first, what is left of it is no longer recognised by the output paths' masking."""
    from driftmon import redact

    secret = "Zq8-spark-canary-secret-71"
    redact.remember([secret])
    message = "Spark failed to read " + "x" * 370 + secret + " and more"
    shown = redact.text(spark._first_line(RuntimeError(message)))
    assert secret[:8] not in shown
    assert shown.startswith("Spark failed to read xxx")
