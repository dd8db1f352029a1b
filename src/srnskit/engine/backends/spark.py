"""Apache Spark, through Ibis: the backend for data that outgrow one machine.

Spark reads each canonical table from where it lies (a Parquet file or folder per table, a path
or URI), so the rows never pass through the driver. It runs locally (``local[2]``) unless
``--spark-master`` or the standard ``SPARK_MASTER`` environment variable names a cluster; one
session serves the whole process.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any, Self

import ibis

from srnskit.engine.backends.base import Backend, TableLocations
from srnskit.errors import MissingComponentError
from srnskit.settings import spark_master

if TYPE_CHECKING:
    from srnskit.cohort.load import Cohort

__all__ = ["SparkBackend", "spark_session"]

_SESSION: dict[str, Any] = {}
_NAMES = itertools.count()


class SparkBackend(Backend):
    """The rules on Spark, reading the canonical tables from ``locations`` (Parquet)."""

    name = "spark"

    def __init__(self, locations: TableLocations, *, master: str | None = None) -> None:
        self.session = spark_session(master)
        super().__init__(ibis.pyspark.connect(self.session))
        self.locations = dict(locations)
        self._sources: dict[str, str] = {}
        self._views: list[str] = []

    @classmethod
    def for_cohort(cls, cohort: Cohort, *, master: str | None = None) -> Self:
        """The cohort's canonical tables as Parquet (``Cohort.location``)."""
        return cls(cohort.location(), master=master)

    def source(self, name: str) -> ibis.Table:
        if name not in self._sources:
            view = self._view(f"srnskit_{name}")
            self.session.read.parquet(self.locations[name]).createOrReplaceTempView(view)
            self._sources[name] = view
        return self.ibis.table(self._sources[name])

    def materialise(self, sql: str) -> str:
        # An eager local checkpoint cuts the lineage: without it every later step would re-plan
        # the whole chain of views (Catalyst runs out of memory on the nested plan).
        name = self._view("srnskit_step")
        self.session.sql(sql).localCheckpoint(eager=True).createOrReplaceTempView(name)
        return name

    def close(self) -> None:
        for view in self._views:
            self.session.catalog.dropTempView(view)
        self._views, self._sources = [], {}

    def _view(self, prefix: str) -> str:
        name = f"{prefix}_{next(_NAMES)}"
        self._views.append(name)
        return name


def spark_session(master: str | None = None) -> Any:
    """The process's Spark session (created once; Spark housekeeping per ARCHITECTURE.md).

    Raises ``MissingComponentError`` without PySpark or Java.
    """
    if "session" in _SESSION:
        return _SESSION["session"]
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise MissingComponentError(
            "--engine spark needs PySpark: install it with "
            "'.venv/bin/pip install -c constraints.txt pyspark' (make installs it)"
        ) from exc
    if shutil.which("java") is None and "JAVA_HOME" not in os.environ:
        raise MissingComponentError(
            "--engine spark needs Java 17: install it "
            "(Debian: apt-get install openjdk-17-jre-headless)"
        )
    # Local Spark talks to itself over loopback only (unless the user set another address).
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    warehouse = tempfile.mkdtemp(prefix="srnskit-spark-")
    session = (
        SparkSession.builder.master(spark_master(master))
        .appName("srnskit")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", warehouse)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "4g")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    _SESSION["session"] = session
    return session
