"""A Spark standalone cluster on loopback, for the cluster tests and the benchmark (not part of
the package: a network runs its own cluster, docs/scale.md).

``standalone_cluster()`` starts a master and workers with pyspark's own ``bin/spark-class`` and
the ``org.apache.spark.deploy.master.Master`` / ``…worker.Worker`` classes of its jars (nothing
downloaded), each on free loopback ports, with its log and work folders in ``folder``, and stops
every process it started when the block ends, failed or not. These are the commands of Spark's
"Spark Standalone Mode" page (spark.apache.org/docs/latest/spark-standalone.html, "Starting a
Cluster Manually"): ``spark-class …Master --host H --port P --webui-port W`` and
``spark-class …Worker --cores C --memory M spark://H:P``.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Cluster", "free_port", "spark_home", "standalone_cluster"]

HOST = "127.0.0.1"
# The master and worker daemons' own heap (not the executors'): SPARK_DAEMON_MEMORY, 1g by default
DAEMON_MEMORY = "256m"


@dataclass(frozen=True)
class Cluster:
    """A running standalone cluster: ``url`` for ``--spark-master``, ``ui`` the master's web
    page (``ui + "/json/"`` its state), ``folder`` its logs."""

    url: str
    ui: str
    folder: Path
    workers: int

    def state(self) -> dict[str, object]:
        """The master's state as its web UI serves it (``/json/``): alive workers, apps."""
        with urllib.request.urlopen(f"{self.ui}/json/", timeout=10) as answer:
            state: dict[str, object] = json.load(answer)
        return state

    def logs(self) -> str:
        """Every daemon's log, for a failure's message."""
        return "\n".join(
            f"== {log.name}\n{log.read_text(errors='replace')[-4000:]}"
            for log in sorted(self.folder.glob("*.log"))
        )


def spark_home() -> Path:
    """pyspark's install folder: it holds ``bin/spark-class`` and the ``jars``."""
    import pyspark

    return Path(pyspark.__file__).parent


def free_port() -> int:
    """A TCP port free on loopback now (the OS's pick)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def standalone_cluster(
    folder: Path, *, workers: int = 2, cores: int = 1, memory: str = "1g", timeout: float = 180
) -> Iterator[Cluster]:
    """A master and ``workers`` workers (each ``cores`` cores and ``memory`` for executors) on
    loopback; ``folder`` receives their logs and work folders. Raises ``RuntimeError`` (with the
    logs) if the workers have not registered with the master within ``timeout`` seconds."""
    (folder / "conf").mkdir(parents=True, exist_ok=True)  # no spark-defaults.conf: Spark's own
    home = spark_home()
    env = dict(os.environ)
    env.update(
        SPARK_HOME=str(home),
        SPARK_CONF_DIR=str(folder / "conf"),
        SPARK_LOCAL_IP=HOST,
        SPARK_DAEMON_MEMORY=DAEMON_MEMORY,
        SPARK_LOG_DIR=str(folder),
        SPARK_WORKER_DIR=str(folder / "work"),
    )
    spark_class = str(home / "bin" / "spark-class")
    started: list[subprocess.Popen[bytes]] = []

    def start(name: str, *arguments: str) -> None:
        log = (folder / f"{name}.log").open("wb")
        started.append(
            subprocess.Popen(
                [spark_class, *arguments],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,  # a terminal's Ctrl-C goes to the test, not the daemons
            )
        )
        log.close()

    port, ui_port = free_port(), free_port()
    cluster = Cluster(f"spark://{HOST}:{port}", f"http://{HOST}:{ui_port}", folder, workers)
    try:
        start(
            "master",
            "org.apache.spark.deploy.master.Master",
            *("--host", HOST, "--port", str(port), "--webui-port", str(ui_port)),
        )
        for number in range(1, workers + 1):
            start(
                f"worker{number}",
                "org.apache.spark.deploy.worker.Worker",
                *("--host", HOST, "--port", str(free_port())),
                *("--webui-port", str(free_port()), "--cores", str(cores), "--memory", memory),
                *("--work-dir", str(folder / f"work{number}"), cluster.url),
            )
        _wait_for_workers(cluster, started, timeout)
        yield cluster
    finally:
        for process in started:  # only the processes started here, by their id
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_workers(
    cluster: Cluster, started: list[subprocess.Popen[bytes]], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in started):
            raise RuntimeError(f"a Spark daemon exited at start:\n{cluster.logs()}")
        with contextlib.suppress(OSError, ValueError):
            if cluster.state().get("aliveworkers") == cluster.workers:
                return
        time.sleep(0.5)
    raise RuntimeError(f"the workers did not register within {timeout:.0f} s:\n{cluster.logs()}")
