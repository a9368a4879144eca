"""A Spark standalone cluster and a Spark Connect server on 127.0.0.1, from PySpark's own scripts.

Used by tests/integration/test_spark_cluster.py and benchmarks/spark_cluster.py. Each JVM
(a master, its workers, a Connect server) is started with ``spark-class`` / ``spark-submit``
of the installed PySpark, on free ports of 127.0.0.1 only, and stopped by its pid (SIGTERM,
then SIGKILL; tests/servers.py's ServerProcess) however the caller ends. A process that does
not come up raises :class:`ClusterError` with the end of its log.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.servers import ServerProcess

HOST = "127.0.0.1"
CONNECT_SERVER = "org.apache.spark.sql.connect.service.SparkConnectServer"


class ClusterError(RuntimeError):
    """A cluster process that exited or did not become ready in time."""


def spark_home() -> Path:
    """The folder of the installed PySpark, which holds bin/spark-class and jars/."""
    import pyspark

    return Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    home = spark_home()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": HOST, "SPARK_NO_DAEMONIZE": "1"}
    env.pop("SPARK_REMOTE", None)
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)
    return env | dict(extra or {})


@contextlib.contextmanager
def _java(name: str, args: Sequence[str], log_path: Path, env: Mapping[str, str]) -> Iterator[ServerProcess]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log_file:
        popen = subprocess.Popen(
            list(args), env=dict(env), stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT
        )
    process = ServerProcess(name, popen, log_path)
    try:
        yield process
    finally:
        process.stop(20.0)


def _wait(what: str, ready: object, processes: Sequence[ServerProcess], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        for process in processes:
            if process.returncode is not None:
                raise ClusterError(process.describe(30))
        try:
            if ready():  # type: ignore[operator]
                return
        except OSError as error:
            last = f"{type(error).__name__}: {error}"
        if time.monotonic() >= deadline:
            logs = "\n".join(p.describe(15) for p in processes)
            raise ClusterError(f"{what} not ready within {timeout:g} s (last: {last})\n{logs}")
        time.sleep(0.25)


@dataclass(frozen=True)
class Cluster:
    """A running standalone cluster: its master URL and the pids of its JVMs."""

    master_url: str
    web_url: str
    pids: tuple[int, ...]

    def alive_workers(self) -> int:
        with urllib.request.urlopen(f"{self.web_url}/json/", timeout=5) as response:
            state = json.load(response)
        return sum(1 for worker in state.get("workers", []) if worker.get("state") == "ALIVE")


@contextlib.contextmanager
def standalone_cluster(
    folder: Path, workers: int = 2, cores: int = 1, memory: str = "1g", timeout: float = 180.0
) -> Iterator[Cluster]:
    """A master and ``workers`` workers (each ``cores`` cores, ``memory`` for executors) on 127.0.0.1."""
    spark_class = str(spark_home() / "bin" / "spark-class")
    env = _environment({"SPARK_WORKER_DIR": str(folder / "work")})
    port, web = free_port(), free_port()
    master_url = f"spark://{HOST}:{port}"
    with contextlib.ExitStack() as stack:
        master = stack.enter_context(
            _java(
                "spark master",
                [
                    spark_class,
                    "org.apache.spark.deploy.master.Master",
                    "--host",
                    HOST,
                    "--port",
                    str(port),
                    "--webui-port",
                    str(web),
                ],
                folder / "master.log",
                env,
            )
        )
        cluster = Cluster(master_url, f"http://{HOST}:{web}", (master.pid,))
        _wait("the Spark master", lambda: cluster.alive_workers() >= 0, [master], timeout)
        started = [master]
        for number in range(workers):
            started.append(
                stack.enter_context(
                    _java(
                        f"spark worker {number + 1}",
                        [
                            spark_class,
                            "org.apache.spark.deploy.worker.Worker",
                            "--host",
                            HOST,
                            "--port",
                            str(free_port()),
                            "--webui-port",
                            str(free_port()),
                            "--cores",
                            str(cores),
                            "--memory",
                            memory,
                            "--work-dir",
                            str(folder / f"work-{number + 1}"),
                            master_url,
                        ],
                        folder / f"worker-{number + 1}.log",
                        env,
                    )
                )
            )
        cluster = Cluster(master_url, cluster.web_url, tuple(p.pid for p in started))
        _wait(f"{workers} Spark workers", lambda: cluster.alive_workers() == workers, started, timeout)
        yield cluster


@dataclass(frozen=True)
class ConnectServer:
    """A running Spark Connect server: the ``sc://`` URL clients use and its pid."""

    url: str
    pid: int


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((HOST, port)) == 0


@contextlib.contextmanager
def connect_server(
    folder: Path, master: str, conf: Mapping[str, str] | None = None, port: int | None = None, timeout: float = 180.0
) -> Iterator[ConnectServer]:
    """PySpark's Spark Connect server (the connect jar it ships) on sc://127.0.0.1:PORT, its driver on ``master``."""
    home = spark_home()
    jars = sorted((home / "jars").glob("spark-connect_*.jar"))
    if not jars:
        raise ClusterError(f"no spark-connect jar in {home / 'jars'}")
    port = port or free_port()
    settings = {
        "spark.connect.grpc.binding.address": HOST,
        "spark.connect.grpc.binding.port": str(port),
        "spark.driver.host": HOST,
        "spark.driver.bindAddress": HOST,
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        **(conf or {}),
    }
    args = [
        str(home / "bin" / "spark-submit"),
        "--class",
        CONNECT_SERVER,
        "--name",
        "driftmon connect",
        "--master",
        master,
    ]
    for key, value in settings.items():
        args += ["--conf", f"{key}={value}"]
    args.append(str(jars[0]))
    with _java("spark connect server", args, folder / "connect.log", _environment()) as server:
        _wait(f"Spark Connect on {HOST}:{port}", lambda: _listening(port), [server], timeout)
        yield ConnectServer(f"sc://{HOST}:{port}", server.pid)
