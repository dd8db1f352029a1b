"""Apache Spark, through Ibis: the backend for data that outgrow one machine.

Spark reads each canonical table from where it lies (a Parquet file or folder per table, a path
or URI), so the rows never pass through the driver. It runs locally (``local[2]``) unless
``--spark-master``, ``SPARK_MASTER`` or the user's own Spark configuration names a cluster; one
session serves the whole process.

Spark is configured by its user (docs/scale.md): the ``spark-defaults.conf`` that Spark itself
reads (``$SPARK_CONF_DIR``, else ``$SPARK_HOME/conf``), then ``--spark-conf KEY=VALUE``, which
wins. srnskit's own settings (``DEFAULTS``, and ``LOCAL_DEFAULTS`` in local mode) apply only to
keys neither sets; ``FIXED`` is set whatever they say.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import ibis
import pyarrow as pa

from srnskit.engine.backends.base import Backend, TableLocations
from srnskit.engine.backends.spark_interrupt import install_interrupt
from srnskit.engine.backends.spark_log import jvm_log, replay
from srnskit.engine.backends.spark_raw import unglobbed
from srnskit.errors import MissingComponentError, UsageError
from srnskit.settings import environment_defaults, spark_master
from srnskit.writer import declared_batches

if TYPE_CHECKING:
    from srnskit.cohort.load import Cohort

__all__ = [
    "APP_NAME",
    "DEFAULTS",
    "DEFAULT_MASTER",
    "FIXED",
    "LOCAL_DEFAULTS",
    "SparkBackend",
    "parse_spark_conf",
    "spark_session",
]

# Settings srnskit brings, each applied only where neither the user's Spark configuration
# (spark-defaults.conf) nor --spark-conf sets the key. The driver's web UI opens a port nobody
# asked for (turn it on with --spark-conf spark.ui.enabled=true); Arrow carries the derived
# tables back to Python.
DEFAULTS: dict[str, str] = {
    "spark.ui.enabled": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
# Defaults in local mode only (a ``local…`` master): one machine's driver is the whole engine,
# so it gets 4 GB of heap (measured: enough for a million children, docs/decisions.md), few
# shuffle partitions (Spark's 200 are tiny tasks on two cores) and loopback only. On a cluster
# these are the cluster's business (docs/scale.md).
LOCAL_DEFAULTS: dict[str, str] = {
    "spark.driver.memory": "4g",
    "spark.sql.shuffle.partitions": "4",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
}
# Set whatever the configuration says: the engine's dates and ages are computed in UTC; a
# Parquet timestamp in nanoseconds (pandas' default), which Spark refuses to read as a
# timestamp, is read as its number (``spark_raw.timestamp_columns`` knows it from the footer).
FIXED: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.legacy.parquet.nanosAsLong": "true",
}
DEFAULT_MASTER = "local[2]"
# The application's name in a cluster's pages, unless the user names it: spark-submit names an
# unnamed one after what it runs ("pyspark-shell" for pyspark's launcher), so that one is replaced.
APP_NAME = "srnskit"
_UNNAMED = "pyspark-shell"
# spark-submit turns the console progress bar on for pyspark's launcher (a "shell"), so Spark's
# configuration cannot tell the user's choice from its own: off unless --spark-conf turns it on
# (the bar would mix with the command's own output).
_PROGRESS = "spark.ui.showConsoleProgress"

# Spark's names of the Arrow types a derived table is written with (``writer.ARROW_TYPES``).
_SPARK_TYPES = {
    pa.string(): "string",
    pa.date32(): "date",
    pa.bool_(): "boolean",
    pa.int64(): "bigint",
    pa.float64(): "double",
}

_SESSION: dict[str, Any] = {}
_NAMES = itertools.count()


class SparkBackend(Backend):
    """The rules on Spark, reading the canonical tables from ``locations`` (Parquet), or from
    ``frames`` (DataFrames, ``from_frames``) where given."""

    name = "spark"
    writes_parts = True

    def __init__(
        self,
        locations: TableLocations,
        *,
        master: str | None = None,
        frames: Mapping[str, Any] | None = None,
    ) -> None:
        self.session = spark_session(master)
        super().__init__(ibis.pyspark.connect(self.session))
        self.locations = dict(locations)
        self._frames = dict(frames or {})
        self._sources: dict[str, str] = {}
        self._views: list[str] = []

    @classmethod
    def for_cohort(cls, cohort: Cohort, *, master: str | None = None) -> Self:
        """The cohort's canonical tables as Parquet (``Cohort.location``)."""
        return cls(cohort.location(), master=master)

    @classmethod
    def from_frames(cls, frames: Mapping[str, Any], *, master: str | None = None) -> Self:
        """The canonical tables as Spark DataFrames already on the executors (table name →
        DataFrame; ``engine.spark_cohort`` loads them where the data lie)."""
        return cls({}, master=master, frames=frames)

    def source(self, name: str) -> ibis.Table:
        if name not in self._sources:
            view = self._view(f"srnskit_{name}")
            frame = self._frames.get(name)
            if frame is None:
                frame = self.session.read.parquet(unglobbed(str(self.locations[name])))
            frame.createOrReplaceTempView(view)
            self._sources[name] = view
        return self.ibis.table(self._sources[name])

    def materialise(self, sql: str) -> str:
        # An eager local checkpoint cuts the lineage: without it every later step would re-plan
        # the whole chain of views (Catalyst runs out of memory on the nested plan).
        name = self._view("srnskit_step")
        self.session.sql(sql).localCheckpoint(eager=True).createOrReplaceTempView(name)
        return name

    def write_parquet(self, expression: ibis.Table, folder: Path | str, schema: pa.Schema) -> None:
        """``expression`` written by the executors as a folder of Parquet part files at
        ``folder`` (a local path every executor sees at the same place, or a URI: ``hdfs://``,
        ``s3a://``, ``file://``; Spark's ``_SUCCESS`` marker beside the parts), each partition
        converted by the one writer's ``declared_batches`` (the columns, types and rounding of
        ``schema``) on the executors' Python; no row comes back to the driver.

        Raises ``MissingComponentError`` when the executors' Python has no srnskit, and
        ``UsageError`` naming ``folder`` with Spark's reason when Spark cannot write it."""
        from srnskit.engine.backends.spark_raw import first_line, spark_errors

        frame = self.session.sql(self.compile(expression))
        ddl = ", ".join(f"`{f.name}` {_SPARK_TYPES[f.type]}" for f in schema)
        declared = frame.mapInArrow(partial(declared_batches, schema=schema), ddl)
        # file:// + the path as it is: a percent sign or a space in it stays one (Hadoop reads
        # the text after the scheme as a path, unescaped)
        target = folder if isinstance(folder, str) else f"file://{folder.absolute()}"
        try:
            declared.write.option("compression", "zstd").parquet(target)
        except spark_errors() as exc:
            if "No module named 'srnskit'" in str(exc):
                raise MissingComponentError(
                    "Spark's executors need srnskit in their Python to write Parquet: install "
                    "it on every worker and point PYSPARK_PYTHON at that Python (docs/scale.md)"
                ) from exc
            raise UsageError(f"Spark could not write {folder}: {first_line(exc)}") from exc

    def output_folder(self, uri: str, *, force: bool) -> AbstractContextManager[str]:
        """``spark_out.output_folder`` on this backend's session: a hidden folder beside
        ``uri`` that becomes ``uri`` when the block ends without an error."""
        from srnskit.engine.backends.spark_out import output_folder

        return output_folder(self.session, uri, force=force)

    def write_text(self, uri: str, text: str) -> None:
        """``spark_out.write_text`` on this backend's session: ``text`` as the file ``uri``."""
        from srnskit.engine.backends.spark_out import write_text

        write_text(self.session, uri, text)

    def close(self) -> None:
        for view in self._views:
            self.session.catalog.dropTempView(view)
        self._views, self._sources = [], {}

    def _view(self, prefix: str) -> str:
        name = f"{prefix}_{next(_NAMES)}"
        self._views.append(name)
        return name


def spark_session(master: str | None = None, conf: Mapping[str, str] | None = None) -> Any:
    """The process's Spark session, created on the first call (Spark reads its configuration
    once per process, when its JVM starts) and returned by every later one.

    ``master``: ``--spark-master`` (else ``SPARK_MASTER``, else the user's ``spark.master``,
    else ``local[2]``); ``conf``: ``--spark-conf`` settings (``parse_spark_conf``). A session
    already active in the process (a Databricks notebook's, for one) is used as it is, with
    ``FIXED`` set on it.

    Raises ``MissingComponentError`` without PySpark or Java; ``UsageError`` when Spark does not
    start with the configuration given (Spark's own message is printed above), when ``conf`` sets
    a ``FIXED`` key otherwise, or when a later call asks for a master or setting the running
    session does not have (a new configuration needs a new process).
    """
    settings = dict(conf or {})
    for key, value in settings.items():
        if key in FIXED and value != FIXED[key]:
            raise UsageError(
                f"--spark-conf {key}={value}: srnskit runs Spark with {key}={FIXED[key]}"
            )
    if "session" in _SESSION:
        _check_running(_SESSION["session"], master, settings)
        return _SESSION["session"]
    try:
        import pyspark  # noqa: F401 (whether it is installed)
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
    chosen = spark_master(master)
    if chosen is not None:
        if settings.get("spark.master", chosen) != chosen:
            raise UsageError(
                f"--spark-master {chosen} and --spark-conf spark.master={settings['spark.master']} "
                "disagree: give one"
            )
        settings["spark.master"] = chosen
    active = _running_session()
    if active is not None:
        _check_running(active, None, settings)
        for key, value in FIXED.items():
            active.conf.set(key, value)
        _SESSION["session"] = active
        return active
    # Ctrl-C while the JVM starts waits for the start to end (broken off, the launch leaves the
    # JVM running and its start-up lines on the terminal), then stops the command.
    install_interrupt()
    session = _start(settings, local=chosen is None or chosen.startswith("local"))
    if not session.sparkContext.getConf().contains("spark.log.level"):
        # Spark's own log lines (an executor's stack trace when a file cannot be read) stay
        # off the terminal: srnskit says what failed, with Spark's root cause. A user's
        # spark.log.level (spark-defaults.conf, --spark-conf; Spark 3.5+) is Spark's to apply.
        session.sparkContext.setLogLevel("OFF")
    # Ctrl-C cancels the jobs, then stops the command cleanly (PySpark's own handler breaks
    # the bridge the main thread is waiting on). A session srnskit did not start (a notebook's,
    # above) keeps its owner's handler.
    install_interrupt(session.sparkContext)
    _SESSION["session"] = session
    return session


def _running_session() -> Any:
    """The session of a Spark already running in this process (a Databricks notebook's or
    job's), or None. Its context may have no session active in this thread yet: the builder then
    makes one on it rather than a second context."""
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is None and SparkContext._active_spark_context is not None:
        active = SparkSession.builder.getOrCreate()
    return active


def _start(settings: dict[str, str], *, local: bool) -> Any:
    """A new Spark session: its JVM started by ``spark-submit`` (which reads the user's
    ``spark-defaults.conf``) with ``settings`` as ``--conf``, then srnskit's defaults for the
    keys neither sets. ``local``: the master is (as far as is known before the start) local."""
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    with jvm_log() as log:
        gateway = _launch(settings, local=local)
        loaded = gateway.jvm.org.apache.spark.SparkConf(True)  # spark-submit's: file + --conf
        if local and not loaded.get("spark.master").startswith("local"):
            # The user's spark-defaults.conf names a cluster: start again without the local
            # defaults (the driver's heap and address are fixed when its JVM starts).
            _stop(gateway)
            gateway = _launch(settings, local=False)
            loaded = gateway.jvm.org.apache.spark.SparkConf(True)
            local = False
    if loaded.contains("spark.log.level"):
        # The user asked for Spark's log lines (spark-defaults.conf or --spark-conf): kept.
        atexit.unregister(log.unlink)
        print(f"srnskit: Spark's log is written to {log}", file=sys.stderr)
    wanted = dict(DEFAULTS)
    if local:
        # spark.driver.memory went to the JVM's start (_launch): too late to set it here
        wanted.update({k: v for k, v in LOCAL_DEFAULTS.items() if k != "spark.driver.memory"})
    final = {key: value for key, value in wanted.items() if not loaded.contains(key)}
    if loaded.get("spark.app.name", _UNNAMED) == _UNNAMED:
        final["spark.app.name"] = APP_NAME
    if _PROGRESS not in settings:
        final[_PROGRESS] = "false"
    if not loaded.contains("spark.sql.warehouse.dir"):
        # A per-process warehouse: a stale ./spark-warehouse breaks the next run (ARCHITECTURE.md);
        # removed at exit, as the log is (srnskit creates no table in it)
        warehouse = tempfile.mkdtemp(prefix="srnskit-spark-")
        atexit.register(shutil.rmtree, warehouse, ignore_errors=True)
        final["spark.sql.warehouse.dir"] = warehouse
    final.update(FIXED)
    master = loaded.get("spark.master")
    context = None
    # The executors' Python (they run the writer's conversion of a derived table before Spark
    # writes it, ``write_parquet``): $PYSPARK_PYTHON, else spark.pyspark.python, else this
    # process's own interpreter, which has srnskit (pyspark's own default, "python3", may not).
    python = {"PYSPARK_PYTHON": loaded.get("spark.pyspark.python", sys.executable)}
    try:
        with environment_defaults(python):
            context = SparkContext(conf=SparkConf().setAll(list(final.items())), gateway=gateway)
        session = SparkSession(context)
        if not local:
            session.range(1).count()  # the cluster answers: an executor runs a task
    except Exception as exc:  # Spark's own error (a master it cannot reach, a bad value)
        if context is not None:
            context.stop()
        cause = replay(log)
        because = f": {cause}" if cause else ""
        raise UsageError(
            f"Spark did not start on {master}{because} (Spark's messages are above)"
        ) from exc
    return session


def _launch(settings: Mapping[str, str], *, local: bool) -> Any:
    """Spark's JVM, started by pyspark's launcher (``spark-submit``), with ``settings`` as
    ``--conf``. Defaults that must be known when the JVM starts go through the variables
    ``spark-submit`` ranks below the user's ``spark-defaults.conf`` and ``--conf``: ``MASTER``
    (``local[2]``), and in local mode ``SPARK_DRIVER_MEMORY`` (4g) and ``SPARK_LOCAL_IP``
    (loopback). A variable the user set is left as it is. Called inside ``spark_log.jvm_log``, which
    replays Spark's message when the JVM does not start."""
    from pyspark import SparkConf
    from pyspark.errors import PySparkRuntimeError
    from pyspark.java_gateway import launch_gateway

    variables = {"MASTER": DEFAULT_MASTER}
    if local:
        variables["SPARK_DRIVER_MEMORY"] = LOCAL_DEFAULTS["spark.driver.memory"]
        variables["SPARK_LOCAL_IP"] = LOCAL_DEFAULTS["spark.driver.host"]
    try:
        with environment_defaults(variables):
            return launch_gateway(SparkConf().setAll(list(settings.items())))  # type: ignore[no-untyped-call]
    except PySparkRuntimeError as exc:
        raise UsageError(
            "Spark did not start (its message is above): check --spark-master, --spark-conf "
            "and the spark-defaults.conf in $SPARK_CONF_DIR"
        ) from exc


def _stop(gateway: Any) -> None:
    """End a JVM that ``_launch`` started (it exits when its standard input closes)."""
    gateway.shutdown()
    process = getattr(gateway, "proc", None)
    if process is not None:
        process.stdin.close()
        process.wait(timeout=60)


def _check_running(session: Any, master: str | None, settings: Mapping[str, str]) -> None:
    """Refuse a master or setting the running session does not have (``UsageError``)."""
    asked = dict(settings)
    if master is not None:
        asked["spark.master"] = master
    for key, value in asked.items():
        running = (
            session.sparkContext.master if key == "spark.master" else session.conf.get(key, None)
        )
        if running != value:
            raise UsageError(
                f"Spark already runs in this process with {key}={running}; Spark reads its "
                f"configuration once per process, so {key}={value} needs a new process"
            )


def parse_spark_conf(items: Iterable[str]) -> dict[str, str]:
    """``--spark-conf KEY=VALUE`` items (repeatable) as a mapping; a later key wins, as with
    ``spark-submit --conf``.

    Raises ``UsageError`` naming the first item that has no ``=``, an empty key, or a key that
    is not a Spark property (Spark reads only keys starting with ``spark.``; Hadoop settings go
    as ``spark.hadoop.…``).
    """
    settings: dict[str, str] = {}
    for item in items:
        key, equals, value = item.partition("=")
        key = key.strip()
        if not equals or not key:
            raise UsageError(
                f"--spark-conf {item!r}: expected KEY=VALUE (e.g. spark.executor.memory=4g)"
            )
        if not key.startswith("spark."):
            raise UsageError(
                f"--spark-conf {item!r}: {key!r} is not a Spark property (they start with "
                "'spark.'; a Hadoop setting goes as spark.hadoop.KEY)"
            )
        settings[key] = value.strip()
    return settings
