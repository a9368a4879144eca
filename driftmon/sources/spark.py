"""``type: spark``: rows in Spark (a table, files, or a query), binned by Spark; only counts come back.

For data that needs a cluster. The binning is the same generated SQL as ``type: sql``
(:mod:`driftmon.sources.pushdown`), run by Spark SQL: one aggregation per evaluation for
live data, so the driver collects at most ``bins + 3`` rows per feature. Quantile edges of a
reference come from order statistics found after a distributed sort (never on one
partition). PySpark is imported only when a spark source is used (``pip install
'driftmon-exporter[spark]'``, and a Java 17 or 21 runtime).

One Spark session serves the whole process: ``master`` from the config, else
``$SPARK_MASTER``, else ``local[*]``; ``conf`` entries apply when the session is created.
With ``remote: sc://host:port`` (or ``$SPARK_REMOTE``) the session is a Spark Connect client
instead (``pip install 'driftmon-exporter[spark-connect]'``): the same SQL and DataFrame calls
go to the Connect server, which runs them on its cluster; no JVM starts in driftmon's process,
and jobs are tagged and interrupted by tag instead of by job group.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from driftmon import redact
from driftmon.durations import DAY, SECOND, bounded, parse_duration
from driftmon.errors import SourceError
from driftmon.sources.base import Window
from driftmon.sources.pushdown import SPARK, ColumnType, Engine, Feature, Params, PushdownSource
from driftmon.sources.pushdown_values import Known
from driftmon.sources.sample_sql import SampleRequest

_SESSION_LOCK = threading.Lock()
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


class SparkSourceConfig(BaseModel):
    """Rows of a Spark table, of files Spark reads, or of a Spark SQL query."""

    model_config = ConfigDict(extra="forbid", defer_build=True)
    type: Literal["spark"]
    table: str | None = Field(default=None, description="a table in Spark's catalog (db.table allowed)")
    path: str | None = Field(
        default=None, description="files Spark reads (relative to the config file unless a URL like s3a://)"
    )
    format: str = Field(default="parquet", description="with path: parquet, orc, csv, json, delta, ...")
    options: dict[str, str] = Field(default_factory=dict, description="with path: reader options (header: 'true')")
    query: str | None = Field(default=None, description="a Spark SQL SELECT whose rows are the data")
    master: str | None = Field(default=None, description="Spark master; default $SPARK_MASTER, else local[*]")
    remote: str | None = Field(
        default=None, description="a Spark Connect server (sc://host:15002) instead of a master; default $SPARK_REMOTE"
    )
    conf: dict[str, str] = Field(default_factory=dict, description="Spark settings used when the session starts")
    window: Window | None = Field(
        default=None, description="keep only the rows of the last `last` (e.g. 1h) by `column` (pushed into Spark)"
    )
    timeout: bounded(SECOND, DAY, "30m") = Field(  # type: ignore[valid-type]
        default="30m", description="limit for each Spark job; 1s to 1d"
    )

    @model_validator(mode="after")
    def _one_of(self) -> SparkSourceConfig:
        given = [key for key in ("table", "path", "query") if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of `table:`, `path:` or `query:`")
        if self.master is not None and self.remote is not None:
            raise ValueError("give `master:` (a driver in driftmon) or `remote:` (a Spark Connect server), not both")
        if self.remote is not None and not self.remote.startswith("sc://"):
            raise ValueError(f"`remote:` must be a Spark Connect URL like sc://host:15002, not {self.remote!r}")
        return self


class SparkSource(PushdownSource):
    """Counts computed by Spark; the driver receives one row per bin."""

    Config = SparkSourceConfig

    def __init__(self, config: SparkSourceConfig, base_dir: Path, now: datetime | float | None = None) -> None:
        super().__init__(config, base_dir, now)
        self.config: SparkSourceConfig = config

    @property
    def remote(self) -> str | None:
        """The Spark Connect URL, when the session is a Connect client; ``master:`` wins over $SPARK_REMOTE."""
        if self.config.remote is not None or self.config.master is not None:
            return self.config.remote
        return os.environ.get("SPARK_REMOTE") or None

    @property
    def master(self) -> str:
        return self.config.master or os.environ.get("SPARK_MASTER") or "local[*]"

    @property
    def location(self) -> str | None:
        path = self.config.path
        if path is None or _SCHEME.match(path):
            return path
        return str(self.base_dir / path)

    def describe(self) -> str:
        if self.config.table:
            what = f"table {self.config.table}"
        elif self.config.path:
            what = f"{self.config.format} {self.location}"
        else:
            flat = " ".join((self.config.query or "").split())
            what = f"query {flat[:79] + '…' if len(flat) > 80 else flat!r}"
        return f"spark {what}"

    def fingerprint(self) -> str:
        parts = [self.remote or self.master, self.config.table or "", self.location or "", self.config.query or ""]
        if self.window is not None:
            parts.append(self.window.describe(self.now))
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def engine(self) -> contextlib.AbstractContextManager[Engine]:
        return _session(self)

    def source_sql(self, engine: Engine) -> str:
        assert isinstance(engine, _Spark)
        return f"SELECT * FROM {engine.view}"

    def time_param(self, moment: datetime) -> Any:
        return moment  # aware UTC: PySpark turns it into the right instant


def quiet_pandas_warning() -> None:
    """Silence PySpark's "does not yet fully support pandas >= 3.0.0" FutureWarning, only that one.

    PySpark emits it on its first conversion of arguments to the JVM, whether or not pandas
    is involved. driftmon hands Spark only SQL text and parameters and collects plain Rows,
    except a model's few columns, which ``fetch_columns`` takes with ``toPandas`` (tested
    against the file path); it never uses createDataFrame from pandas, pandas UDFs or
    pyspark.pandas. Left alone the warning would break the daemon's one-line log format.
    """
    warnings.filterwarnings("ignore", message=r"PySpark does not yet fully support pandas", category=FutureWarning)


def _spark_session(source: SparkSource) -> Any:
    quiet_pandas_warning()
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SourceError(
            f"{source.describe()}: type: spark needs PySpark and Java 17+ (pip install 'driftmon-exporter[spark]')"
        ) from None
    with _SESSION_LOCK:
        if source.remote is not None:
            return _connect_session(source, source.remote)
        if _connect_mode():
            # PySpark marks the whole process once a Connect session exists: a classic builder would go there too.
            raise SourceError(
                f"{source.describe()}: asks for Spark master {source.master} but this process already runs "
                "a Spark Connect session (one Spark session per driftmon process)"
            )
        active = SparkSession.getActiveSession()
        if active is None:
            builder = SparkSession.builder.master(source.master).appName("driftmon")
            settings = {"spark.sql.session.timeZone": "UTC", "spark.ui.showConsoleProgress": "false"}
            if source.master.startswith("local"):
                # Nothing leaves this machine in local mode: bind the driver to loopback.
                settings |= {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
            for key, value in (settings | source.config.conf).items():
                builder = builder.config(key, value)
            try:
                active = builder.getOrCreate()
            except Exception as error:  # a JVM that will not start, a master out of reach
                raise SourceError(f"{source.describe()}: cannot start Spark ({_first_line(error)})") from None
        running = active.sparkContext.master
        if running != source.master:
            raise SourceError(
                f"{source.describe()}: asks for Spark master {source.master} but this process already runs "
                f"a session on {running} (one Spark session per driftmon process)"
            )
        return active


def _connect_mode() -> bool:
    return "SPARK_CONNECT_MODE_ENABLED" in os.environ


_CONNECTED: dict[str, Any] = {}  # the one Spark Connect session of this process, by its URL


def _connect_session(source: SparkSource, url: str) -> Any:
    """The process's Spark Connect session to ``url``, opened on first use (no JVM here)."""
    from pyspark.sql import SparkSession

    for known, session in list(_CONNECTED.items()):
        if session.is_stopped:
            del _CONNECTED[known]
        elif known != url:
            raise SourceError(
                f"{source.describe()}: asks for Spark Connect {url} but this process already runs a session "
                f"on {known} (one Spark session per driftmon process)"
            )
    if url in _CONNECTED:
        return _CONNECTED[url]
    classic = None if _connect_mode() else SparkSession.getActiveSession()
    if classic is not None:
        raise SourceError(
            f"{source.describe()}: asks for Spark Connect {url} but this process already runs a session on "
            f"{classic.sparkContext.master} (one Spark session per driftmon process)"
        )
    try:
        import pyspark.sql.connect.session  # noqa: F401  (grpcio and the other Connect client packages)
    except ImportError as error:
        raise SourceError(
            f"{source.describe()}: remote: needs the Spark Connect client ({_first_line(error)}; "
            "pip install 'driftmon-exporter[spark-connect]')"
        ) from None
    builder = SparkSession.builder.remote(url)  # marks the process as Connect, as PySpark's functions need
    for key, value in ({"spark.sql.session.timeZone": "UTC"} | source.config.conf).items():
        builder = builder.config(key, value)
    try:
        session = builder.create()
        session.sql("SELECT 1").collect()  # the server answers now, or the error names it now
    except Exception as error:  # a server out of reach, a refused setting
        raise SourceError(f"{source.describe()}: cannot reach Spark Connect at {url} ({_first_line(error)})") from None
    _CONNECTED[url] = session
    return session


def stop_connect() -> None:
    """Close this process's Spark Connect session, if any, and leave Connect mode (PySpark marks
    the whole process once a Connect session exists, so a classic session could not start)."""
    with _SESSION_LOCK:
        for session in _CONNECTED.values():
            with contextlib.suppress(Exception):
                session.stop()
        _CONNECTED.clear()
        os.environ.pop("SPARK_CONNECT_MODE_ENABLED", None)


_SPARK_TYPES: dict[str, ColumnType] = {
    **dict.fromkeys(["ByteType", "ShortType", "IntegerType", "LongType"], "integer"),
    "FloatType": "float",
    "DoubleType": "float",
    "DecimalType": "decimal",
    "BooleanType": "boolean",
    **dict.fromkeys(["StringType", "VarcharType", "CharType"], "string"),
    **dict.fromkeys(["DateType", "TimestampType", "TimestampNTZType"], "time"),
}


class _Spark(Engine):
    dialect = SPARK

    def __init__(self, source: SparkSource, spark: Any, view: str, group: str) -> None:
        self.source = source
        self.spark = spark
        self.view = view
        self.group = group

    def columns(self, source_sql: str) -> dict[str, ColumnType]:
        schema = self._run(lambda: self.spark.sql(source_sql).schema)
        return {field.name: _SPARK_TYPES.get(type(field.dataType).__name__, "other") for field in schema.fields}

    def fetch(self, sql: str, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        rows = self._run(lambda: self.spark.sql(sql, args=dict(params) or None).collect())
        return [tuple(row) for row in rows]

    def fetch_columns(self, sql: str, params: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
        frame = self._run(lambda: self.spark.sql(sql, args=dict(params) or None).toPandas())  # Arrow when enabled
        return {name: frame[name].to_numpy() for name in names}

    def order_statistics(
        self, typed_sql: str, bound: Mapping[str, Any], feature: Feature, ranks: Sequence[int], count: int
    ) -> dict[int, float]:
        """Values at global ranks, found after a distributed sort: partition sizes give each rank's partition."""
        from pyspark.sql import Window as SparkWindow
        from pyspark.sql import functions as F

        finite = SPARK.is_finite.format(v=feature.alias)
        values = self._run(
            lambda: self.spark.sql(
                f"SELECT {feature.alias} AS v FROM ({typed_sql}) AS typed WHERE {finite}", args=dict(bound) or None
            )
        )
        # A global sort leaves partition i below partition i+1; cache it so both passes see the same split.
        ordered = values.orderBy("v").withColumn("pid", F.spark_partition_id()).persist()
        try:
            sizes = dict(self._run(lambda: ordered.groupBy("pid").count().collect()))
            starts: dict[int, int] = {}
            total = 0
            for pid in sorted(sizes):
                starts[pid] = total
                total += int(sizes[pid])
            wanted: dict[tuple[int, int], int] = {}
            for rank in ranks:
                pid = max(p for p in starts if starts[p] <= rank)
                wanted[(pid, rank - starts[pid])] = rank
            condition = F.lit(False)
            for pid, local in wanted:
                condition = condition | ((F.col("pid") == pid) & (F.col("rn") == local))
            ranked = ordered.withColumn("rn", F.row_number().over(SparkWindow.partitionBy("pid").orderBy("v")) - 1)
            rows = self._run(lambda: ranked.where(condition).select("pid", "rn", "v").collect())
        finally:
            ordered.unpersist()
        return {wanted[(int(row[0]), int(row[1]))]: float(row[2]) for row in rows}

    def frequent_values(
        self, typed_sql: str, bound: Mapping[str, Any], wanted: Sequence[tuple[Feature, int, int]]
    ) -> dict[str, Known]:
        """For each (feature, limit, finite count): its number of distinct finite values and, with
        their counts, all of them if at most ``limit``, else those holding >= 1/limit of the count.

        One scan for every feature: a GROUP BY with one grouping set per feature, the groups
        counted per feature (a join, no window over one partition)."""
        finite = ", ".join(
            f"CASE WHEN {SPARK.is_finite.format(v=f.alias)} THEN {f.alias} END AS {f.alias}" for f, _, _ in wanted
        )
        which = " ".join(f"WHEN grouping({f.alias}) = 0 THEN {i}" for i, (f, _, _) in enumerate(wanted))
        sets = ", ".join(f"({f.alias})" for f, _, _ in wanted)
        values = ", ".join(f.alias for f, _, _ in wanted)
        params = Params(SPARK)
        params.values.update(bound)
        limits = " ".join(f"WHEN {i} THEN {params(int(limit))}" for i, (_, limit, _) in enumerate(wanted))
        # n * limit >= count, as an exact integer comparison
        heavy = " ".join(f"WHEN {i} THEN {params(int(count))}" for i, (_, _, count) in enumerate(wanted))
        sql = (
            f"WITH grouped AS (SELECT CASE {which} END AS k, coalesce({values}) AS v, COUNT(*) AS n "
            f"FROM (SELECT {finite} FROM ({typed_sql}) AS typed) AS finite GROUP BY GROUPING SETS ({sets})), "
            "present AS (SELECT k, v, n FROM grouped WHERE v IS NOT NULL), "
            "sizes AS (SELECT k, COUNT(*) AS d FROM present GROUP BY k) "
            "SELECT p.k, p.v, p.n, s.d FROM present AS p JOIN sizes AS s ON p.k = s.k "
            f"WHERE s.d <= CASE p.k {limits} END OR p.n * CASE p.k {limits} END >= CASE p.k {heavy} END "
            "UNION ALL SELECT k, NULL, NULL, d FROM sizes"
        )
        found: dict[str, Known] = {}
        rows = self.fetch(sql, params.values)
        for k, _, _, d in rows:
            if k is not None:
                found.setdefault(wanted[int(k)][0].alias, (int(d), []))
        for k, v, n, _ in rows:
            if v is not None:
                found[wanted[int(k)][0].alias][1].append((float(v), int(n)))
        for _, listed in found.values():
            listed.sort(key=lambda pair: (-pair[1], pair[0]))
        return found

    def order_statistics_many(
        self, typed_sql: str, bound: Mapping[str, Any], wanted: Sequence[tuple[Feature, Sequence[int], int]]
    ) -> dict[str, dict[int, float]]:
        """Every feature's values at their ranks after one distributed sort of all the features'
        finite values by (feature, value): partition sizes per feature give each rank's partition."""
        from pyspark.sql import Window as SparkWindow
        from pyspark.sql import functions as F

        pairs = ", ".join(f"{i}, {f.alias}" for i, (f, _, _) in enumerate(wanted))
        values = self._run(
            lambda: self.spark.sql(
                f"SELECT k, v FROM (SELECT stack({len(wanted)}, {pairs}) AS (k, v) FROM ({typed_sql}) AS typed) "
                f"AS stacked WHERE {SPARK.is_finite.format(v='v')}",
                args=dict(bound) or None,
            )
        )
        # A global sort leaves partition i below partition i+1; cache it so both passes see the same split.
        ordered = values.orderBy("k", "v").withColumn("pid", F.spark_partition_id()).persist()
        try:
            sizes: dict[int, dict[int, int]] = {}
            for pid, k, n in self._run(lambda: ordered.groupBy("pid", "k").count().collect()):
                sizes.setdefault(int(k), {})[int(pid)] = int(n)
            chosen: dict[tuple[int, int, int], tuple[int, int]] = {}
            for k, (_, ranks, _) in enumerate(wanted):
                starts: dict[int, int] = {}
                total = 0
                for pid in sorted(sizes.get(k, {})):
                    starts[pid] = total
                    total += sizes[k][pid]
                for rank in ranks:
                    pid = max(p for p in starts if starts[p] <= rank)
                    chosen[(k, pid, rank - starts[pid])] = (k, rank)
            # One IN over a text key, not an OR per rank: hundreds of ORs nest too deep for Catalyst.
            keys = [f"{k}/{pid}/{local}" for k, pid, local in chosen]
            window = SparkWindow.partitionBy("pid", "k").orderBy("v")
            ranked = ordered.withColumn("rn", F.row_number().over(window) - 1)
            key = F.concat_ws("/", F.col("k"), F.col("pid"), F.col("rn"))
            rows = self._run(lambda: ranked.where(key.isin(keys)).select("k", "pid", "rn", "v").collect())
        finally:
            ordered.unpersist()
        found: dict[str, dict[int, float]] = {f.alias: {} for f, _, _ in wanted}
        for k, pid, rn, v in rows:
            feature, rank = chosen[(int(k), int(pid), int(rn))]
            found[wanted[feature][0].alias][rank] = float(v)
        return found

    def sample(self, request: SampleRequest) -> dict[str, Any]:
        """``DataFrame.sample(fraction, seed)`` a little above the size, cut to it here."""
        from driftmon.sources.sample import oversampled, sample_rows

        sql, params = request.typed(request.source_sql)
        frame = self._run(lambda: self.spark.sql(sql, args=dict(params) or None))
        fraction = oversampled(request.size, int(self._run(frame.count)))
        if fraction < 1.0:
            frame = frame.sample(withReplacement=False, fraction=fraction, seed=request.seed)
        rows = [tuple(row) for row in self._run(frame.collect)]
        return sample_rows([rows], request.names, request.numeric, request.size, request.seed)

    def _run(self, action: Any) -> Any:
        if self.source.remote is not None:
            # Connect has no SparkContext: the operations are tagged (per thread) and interrupted by tag.
            self.spark.addTag(self.group)
            cancel = self.spark.interruptTag
        else:
            context = self.spark.sparkContext
            context.setJobGroup(self.group, f"driftmon {self.source.describe()}", interruptOnCancel=True)
            cancel = context.cancelJobGroup
        timer = threading.Timer(parse_duration(self.source.config.timeout), cancel, [self.group])
        timer.daemon = True
        timer.start()
        try:
            return action()
        except SourceError:
            raise
        except Exception as error:  # Spark's analysis, parse and job errors all end here
            if not timer.is_alive() and "cancel" in str(error).lower():
                raise SourceError(
                    f"{self.source.describe()}: Spark job took longer than {self.source.config.timeout}, cancelled"
                ) from None
            raise SourceError(f"{self.source.describe()}: Spark failed: {_first_line(error)}") from None
        finally:
            timer.cancel()
            if self.source.remote is not None:
                self.spark.removeTag(self.group)


_PY4J_CALL = re.compile(r"^An error occurred while calling \S+\.?$")


def _first_line(error: BaseException) -> str:
    """What went wrong, in one line: the exception's first line, or for a Java exception that
    PySpark passes on as py4j's ``An error occurred while calling o57.collectToPython.``, the
    Java exception's own line and its root cause (the last ``Caused by:`` of its trace)."""
    try:
        message = str(error)  # py4j's asks the JVM for the Java trace, which may be gone
    except Exception:
        message = str(getattr(error, "errmsg", "")) or type(error).__name__
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if lines and _PY4J_CALL.match(lines[0]):
        java = [line.removeprefix(":").strip() for line in lines[1:] if not line.startswith("at ")]
        causes = [line.removeprefix("Caused by:").strip() for line in java if line.startswith("Caused by:")]
        if java:
            text = _short(java[0], 400)
            if causes and causes[-1] not in java[0]:
                text += f" (caused by {_short(causes[-1], 300)})"
            return text
    return _short(lines[0] if lines else type(error).__name__, 400)


def _short(text: str, limit: int) -> str:
    return redact.clipped(text, limit)  # masked before it is cut: a cut secret is not recognised


@contextlib.contextmanager
def _session(source: SparkSource) -> Iterator[Engine]:
    spark = _spark_session(source)
    view = "driftmon_" + uuid.uuid4().hex[:16]
    engine = _Spark(source, spark, view, group=view)
    config = source.config

    def frame() -> Any:
        if config.table is not None:
            return spark.table(config.table)
        if config.path is not None:
            return spark.read.format(config.format).options(**config.options).load(source.location)
        return spark.sql(config.query)

    engine._run(lambda: frame().createOrReplaceTempView(view))
    try:
        yield engine
    finally:
        with contextlib.suppress(Exception):
            spark.catalog.dropTempView(view)
