"""``type: spark`` past one machine: a standalone cluster and Spark Connect give the file path's histograms.

One cluster for the module, started from PySpark's own ``spark-class`` on 127.0.0.1: a
master and two workers (2 cores and 2 GB each, so two applications fit at once), stopped
by pid at the end (tests/spark_cluster.py; each JVM must come up within 180 s). Two
applications use it: this process's own driver (``master: spark://...``, executors on the
workers) and a Spark Connect server that PySpark ships (``remote: sc://...``), whose driver
runs the same SQL for a client with no JVM; it starts in the background while the driver
tests run, so its JVM's start-up is not waited for on its own (300 s allowed). Every count
is compared, bin for bin, with the file source (pandas) on the same Parquet files: numerics
with NaN, NULL and ±inf, point bins, categoricals with NULL and unseen values, and a time
window.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftmon import config
from driftmon.errors import SourceError
from driftmon.evaluate import evaluate
from driftmon.histogram import BinningRule
from driftmon.sources.spark import SparkSource, SparkSourceConfig, stop_connect
from tests.integration.pushdown_cases import NOW, RULES, assert_same, check_both_sides, file_source, write_cases
from tests.servers import require_binary, servers_required, stop_spark

pytestmark = [pytest.mark.integration, pytest.mark.spark]

# Each application: one executor of 1 core and 512 MB on each worker.
APP_CONF = {
    "spark.executor.cores": "1",
    "spark.executor.memory": "512m",
    "spark.cores.max": "2",
    "spark.sql.shuffle.partitions": "4",  # small data: 200 sort partitions would be 200 tasks per stage
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A master and two workers on 127.0.0.1; no Spark session of this process survives the module."""
    require_binary("java")
    try:
        import pyspark.sql.connect.session  # noqa: F401
    except ImportError as error:
        if servers_required():
            pytest.fail(
                f"Spark Connect client missing ({error}); DRIFTMON_REQUIRE_SERVERS=1 requires it", pytrace=False
            )
        pytest.skip(f"pyspark[connect] is not installed ({error})")
    from tests.spark_cluster import standalone_cluster

    stop_spark()  # a local session of an earlier module would be reused, on the wrong master
    previous = os.environ.get("SPARK_LOCAL_IP")
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # this process's driver, reached by the executors
    try:
        with standalone_cluster(tmp_path_factory.mktemp("spark-cluster"), workers=2, cores=2, memory="2g") as running:
            yield running
            stop_spark()
            stop_connect()
    finally:
        if previous is None:
            os.environ.pop("SPARK_LOCAL_IP", None)
        else:
            os.environ["SPARK_LOCAL_IP"] = previous


class _Starting:
    """PySpark's Spark Connect server, started in a thread so that its JVM comes up while the
    driver tests run (it is a second application of the cluster: both fit at once)."""

    def __init__(self, folder: Path, master: str) -> None:
        self.stack = contextlib.ExitStack()
        self.url: str | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._start, args=(folder, master), daemon=True)
        self.thread.start()

    def _start(self, folder: Path, master: str) -> None:
        from tests.spark_cluster import connect_server

        try:
            self.url = self.stack.enter_context(connect_server(folder, master, APP_CONF, timeout=300.0)).url
        except BaseException as error:  # raised in the test that waits for it
            self.error = error

    def wait(self) -> str:
        self.thread.join()
        if self.error is not None:
            raise self.error
        assert self.url is not None
        return self.url


@pytest.fixture(scope="module")
def starting(cluster: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Starting]:
    """The Connect server on its way up (stopped by pid at the end of the module)."""
    server = _Starting(tmp_path_factory.mktemp("spark-connect"), cluster.master_url)  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.thread.join()
        stop_connect()
        server.stack.close()


@pytest.fixture(scope="module")
def connect(starting: _Starting) -> str:
    """PySpark's Spark Connect server, its driver an application of the cluster: its sc:// URL."""
    return starting.wait()


@pytest.fixture()
def driver(cluster: object, starting: _Starting) -> str:
    """This process's own driver on the cluster (a Connect session of an earlier test is closed
    first); asking for it also starts the Connect server in the background."""
    stop_connect()
    return cluster.master_url  # type: ignore[attr-defined,no-any-return]


@pytest.fixture()
def client(connect: str) -> str:
    """A Connect client: this process's own driver, if one runs, is stopped first (one session per process)."""
    stop_spark()
    return connect


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cases(tmp_path_factory.mktemp("spark-cluster-data"))


def on_master(folder: Path, master: str, **fields: object) -> SparkSource:
    return SparkSource(
        SparkSourceConfig(type="spark", master=master, conf=APP_CONF, **fields),  # type: ignore[arg-type]
        folder,
        NOW,
    )


def on_connect(folder: Path, url: str, **fields: object) -> SparkSource:
    return SparkSource(SparkSourceConfig(type="spark", remote=url, **fields), folder, NOW)  # type: ignore[arg-type]


def check_window(data: Path, source: SparkSource) -> None:
    specs = {name: h.spec for name, h in file_source(data, "ref.parquet").profile(RULES).items()}
    expected = file_source(data, "live.parquet", window={"column": "ts", "last": "30m"}).count(specs)
    assert 0 < expected["x"].total < 2500
    assert_same(expected, source.count(specs))


def test_a_standalone_cluster_bins_as_the_file_path(driver: str, data: Path) -> None:
    """Through a master and two workers, the reference bins (order statistics after a distributed
    sort over both executors) and the live counts equal the file source's, bin for bin."""
    check_both_sides(data, on_master(data, driver, path="ref.parquet"), on_master(data, driver, path="live.parquet"))
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    assert spark is not None and spark.sparkContext.master == driver
    executors = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1  # minus the driver
    assert executors == 2, "the work went to both workers' executors"


def test_a_standalone_cluster_windows_as_the_file_path(driver: str, data: Path) -> None:
    """A window over a query on the cluster counts the file source's windowed rows."""
    query = f"SELECT * FROM parquet.`{data / 'live.parquet'}`"
    check_window(data, on_master(data, driver, query=query, window={"column": "ts", "last": "30m"}))


def test_a_monitor_on_the_cluster_scores_as_on_files(driver: str, data: Path, tmp_path: Path) -> None:
    """A monitor whose both sides are the cluster (master: in the YAML) scores as on files."""
    text = f"""
monitors:
  - name: on-files
    reference: {{type: file, path: {data / "ref.parquet"}}}
    live: {{type: file, path: {data / "live.parquet"}}}
    features: [x, k, c, flag]
  - name: on-cluster
    reference: {{type: spark, master: "{driver}", conf: {json.dumps(APP_CONF)}, path: {data / "ref.parquet"}}}
    live: {{type: spark, master: "{driver}", conf: {json.dumps(APP_CONF)}, path: {data / "live.parquet"}}}
    features: [x, k, c, flag]
"""
    path = tmp_path / "driftmon.yaml"
    path.write_text(text)
    files, clustered = (evaluate(m) for m in config.load(path).monitors)
    assert clustered.error is None, clustered.error
    assert [f.scores for f in clustered.features] == [f.scores for f in files.features]
    assert [f.live_count for f in clustered.features] == [2500] * 4


def test_spark_connect_bins_as_the_file_path(client: str, data: Path) -> None:
    """Through Spark Connect (the server's driver on the cluster, DataFrame API only), the
    reference bins and live counts equal the file source's, bin for bin."""
    check_both_sides(data, on_connect(data, client, path="ref.parquet"), on_connect(data, client, path="live.parquet"))


def test_spark_connect_windows_as_the_file_path(client: str, data: Path) -> None:
    """A window pushed into a query sent over Connect counts the file source's windowed rows."""
    query = f"SELECT * FROM parquet.`{data / 'live.parquet'}`"
    check_window(data, on_connect(data, client, query=query, window={"column": "ts", "last": "30m"}))


def test_spark_connect_errors_and_timeouts_name_the_source(client: str, data: Path) -> None:
    """Over Connect a failing query is a clear error naming the source, and a job over `timeout:`
    is interrupted by its tag and reported as cancelled."""
    spec = file_source(data, "ref.parquet").profile([BinningRule("x")])["x"].spec
    with pytest.raises(SourceError, match=r"spark table no_such_table: Spark failed: .*no_such_table"):
        on_connect(data, client, table="no_such_table").count({"x": spec})
    slow = "SELECT CAST(a.id + b.id AS DOUBLE) AS x FROM range(100000000) a CROSS JOIN range(100000000) b"
    with pytest.raises(SourceError, match=r"spark query .*: Spark job took longer than 2s, cancelled"):
        on_connect(data, client, query=slow, timeout="2s").count({"x": spec})


def test_check_through_spark_connect_starts_no_jvm(client: str, data: Path, tmp_path: Path) -> None:
    """`driftmon check` with `remote:` in the YAML gives the file monitor's JSON scores with no
    Java on its PATH (the work runs in the Connect server and its executors), and prints no
    PySpark warning."""
    text = f"""
monitors:
  - name: m
    reference: {{type: file, path: {data / "ref.parquet"}}}
    live: {{type: FILE, path: {data / "live.parquet"}}}
    features: [x, k, c, flag]
"""
    files = tmp_path / "files.yaml"
    files.write_text(text.replace("FILE", "file"))
    remote = tmp_path / "remote.yaml"
    remote.write_text(text.replace("type: FILE,", f'type: spark, remote: "{client}",'))
    hidden = {"SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE", "JAVA_HOME", "SPARK_HOME"}
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    (tmp_path / "no-java").mkdir()
    env["PATH"] = str(tmp_path / "no-java")  # a classic session could not start: no `java` to run

    def check(path: Path) -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-m", "driftmon", "check", "-c", str(path), "--format", "json"],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
        assert done.returncode in (0, 1, 2), done.stderr
        assert "Traceback" not in done.stderr and "Warning" not in done.stderr, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    expected, found = check(files), check(remote)
    assert found["monitors"][0]["status"] != "error", found  # type: ignore[index]
    features = [
        {k: v for k, v in feature.items() if k in {"name", "scores", "live_count", "severity"}}
        for feature in found["monitors"][0]["features"]  # type: ignore[index]
    ]
    assert features == [
        {k: v for k, v in feature.items() if k in {"name", "scores", "live_count", "severity"}}
        for feature in expected["monitors"][0]["features"]  # type: ignore[index]
    ]
    assert [f["live_count"] for f in features] == [2500] * 4


def test_remote_and_master_are_exclusive() -> None:
    """The config refuses both `master:` and `remote:`, and a remote that is not an sc:// URL."""
    with pytest.raises(ValueError, match=r"give `master:` .* or `remote:` .*, not both"):
        SparkSourceConfig(type="spark", table="t", master="local[1]", remote="sc://h:1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`remote:` must be a Spark Connect URL like sc://host:15002"):
        SparkSourceConfig(type="spark", table="t", remote="spark://h:7077")  # type: ignore[arg-type]
