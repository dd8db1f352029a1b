"""The engine's backends: DuckDB in process (default) or Apache Spark, through Ibis.

The backend is chosen here, once; every other engine module takes and returns Ibis tables.
Spark runs locally (``local[2]``) unless ``--spark-master`` or the standard ``SPARK_MASTER``
environment variable names a cluster; one session serves the whole process.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any, Literal

import ibis

from srnskit.cohort.load import Cohort
from srnskit.errors import MissingComponentError
from srnskit.schema import COHORT_TABLES
from srnskit.settings import spark_master

__all__ = [
    "Engine",
    "Tables",
    "connect",
    "days_after",
    "materialise",
    "spark_session",
    "step_name",
]

Engine = Literal["duckdb", "spark"]
_SESSION: dict[str, Any] = {}
_NAMES = itertools.count()


@dataclass
class Tables:
    """The cohort's canonical tables as Ibis tables on one backend."""

    engine: Engine
    backend: ibis.BaseBackend
    patients: ibis.Table
    measurements: ibis.Table
    treatments: ibis.Table
    adverse_events: ibis.Table
    events: ibis.Table
    # DuckDB: the SQL of each materialised step, in order (a replayable plan, engine/plan.py)
    steps: list[tuple[str, str]] = field(default_factory=list)
    # With integer keys (``connect(keyed=True)``): patient_id and the integer standing for it
    keys: ibis.Table | None = None
    # DuckDB, compiling a plan only: each step is made empty (its schema is what compiling
    # needs) and named here; the plan is then replayed, dropping each step once it is read.
    schema_only: bool = False
    empty_steps: list[str] = field(default_factory=list)
    # The table or view made for each step's SQL, on either engine (made once, however often
    # it is asked for)
    made: dict[str, str] = field(default_factory=dict)
    # The measurements with the cohort's own identifiers (None when not keyed): a
    # per-patient summary is cheaper on them, keyed afterwards (``keyed``), than on the keyed
    # join of every row
    source_measurements: ibis.Table | None = None

    def keyed(self, table: ibis.Table) -> ibis.Table:
        """``table`` (with the cohort's identifiers) with its patient_id as the integer key
        (when keyed)."""
        if self.keys is None:
            return table
        return _swap_patient_id(table, self.keys, match="patient_id", replacement="key")

    def named(self, table: ibis.Table) -> ibis.Table:
        """``table`` with its patient_id back as the cohort's identifier (when keyed)."""
        if self.keys is None:
            return table
        return _swap_patient_id(table, self.keys, match="key", replacement="patient_id")


def spark_session(master: str | None = None) -> Any:
    """The process's Spark session (created once; Spark housekeeping per ARCHITECTURE.md)."""
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


def connect(
    cohort: Cohort,
    engine: Engine = "duckdb",
    *,
    patient_id: str | None = None,
    spark_master: str | None = None,
    keyed: bool = False,
    schema_only: bool = False,
) -> Tables:
    """The cohort's tables on ``engine`` (only ``patient_id``'s rows when given).

    DuckDB reads the cohort's own in-process database; Spark receives each table as Arrow.
    ``keyed``: patient_id becomes an integer (in the identifiers' order) in every table, which
    every window and join of the engine partitions on, sorts and hashes faster than text;
    ``Tables.named`` turns it back.
    """
    if engine == "duckdb":
        backend: ibis.BaseBackend = ibis.duckdb.from_connection(cohort.con)
        tables = {name: backend.table(name) for name in COHORT_TABLES}
    else:
        session = spark_session(spark_master)
        backend = ibis.pyspark.connect(session)
        tables = {}
        for name in COHORT_TABLES:
            view = f"srnskit_{name}_{next(_NAMES)}"
            session.createDataFrame(cohort.to_arrow(name)).createOrReplaceTempView(view)
            tables[name] = backend.table(view)
    if patient_id is not None:
        tables = {name: t.filter(t.patient_id == patient_id) for name, t in tables.items()}
    result = Tables(engine=engine, backend=backend, schema_only=schema_only, **tables)
    return _with_integer_keys(result) if keyed else result


def _with_integer_keys(tables: Tables) -> Tables:
    patients = tables.patients
    keys = materialise(
        tables,
        patients.select("patient_id").mutate(
            key=ibis.row_number().over(order_by=patients.patient_id)
        ),
    )
    tables.keys = keys
    tables.source_measurements = tables.measurements.select(
        *COHORT_TABLES["measurements"].column_names
    )
    for name, declared in COHORT_TABLES.items():
        # The declared columns alone: the rules read nothing else (a million children's
        # measurements carry 64 M source rows and whatever extra columns a centre keeps).
        table = getattr(tables, name).select(*declared.column_names)
        swapped = tables.keyed(table)
        # Measurements stay a join: each reader takes a few analytes, and joining the keys to
        # those rows costs less than copying all of them (a million children: 64 M rows, 5 s).
        if name != "measurements":
            swapped = materialise(tables, swapped)
        setattr(tables, name, swapped)
    return tables


def _swap_patient_id(
    table: ibis.Table, keys: ibis.Table, *, match: str, replacement: str
) -> ibis.Table:
    """``table`` with its patient_id (equal to ``keys[match]``) replaced by ``keys[replacement]``,
    the columns in their order."""
    lookup = keys.select(match_k=match, replacement_k=replacement)
    joined = table.join(lookup, table.patient_id == lookup.match_k)
    return joined.select(
        *[joined.replacement_k.name(c) if c == "patient_id" else c for c in table.columns]
    )


def days_after(date: ibis.DateValue, days: int) -> ibis.DateValue:
    """``date`` + ``days`` as a date on every backend (DuckDB makes a timestamp of a date plus
    an interval, and then compares each row it meets through a cast)."""
    shifted: ibis.DateValue = (date + ibis.interval(days=days)).cast("timestamp").date()
    return shifted


def step_name(sql: str) -> str:
    """A materialised step's table name: a hash of the SQL that computes it."""
    return "srnskit_step_" + hashlib.sha256(sql.encode()).hexdigest()[:20]


def materialise(tables: Tables, expression: ibis.Table) -> ibis.Table:
    """Compute ``expression`` once for the outputs that share it (a temp table or view); a
    step asked for again (the day's height, read by several rules) is the one already made."""
    sql = str(tables.backend.compile(expression))
    if sql not in tables.made:
        on_duckdb = tables.engine == "duckdb"
        tables.made[sql] = _duckdb_step(tables, sql) if on_duckdb else _spark_step(sql)
    # DuckDB types a literal by its value (an int64 1 becomes INTEGER) and Spark may narrow
    # types on the way (an int64 literal comes back int32): restore the schema.
    return tables.backend.table(tables.made[sql]).cast(expression.schema())


def _duckdb_step(tables: Tables, sql: str) -> str:
    # A named temp table rather than ibis' cache(): the step's SQL is recorded, so the whole
    # derive can be replayed as SQL (engine/plan.py) and the tables dropped afterwards.
    # Named by a hash of its SQL, which names the earlier steps it reads: the same step of
    # two definition sets (their shared proteinuria days, say) is computed once.
    name = step_name(sql)
    if tables.schema_only:
        exists = tables.backend.raw_sql(
            f"SELECT 1 FROM duckdb_tables() WHERE table_name = '{name}'"
        ).fetchall()
        if not exists:
            tables.backend.raw_sql(f"CREATE TEMP TABLE {name} AS {sql} LIMIT 0")
            tables.empty_steps.append(name)
    else:
        tables.backend.raw_sql(f"CREATE TEMP TABLE IF NOT EXISTS {name} AS {sql}")
    tables.steps.append((name, sql))
    return name


def _spark_step(sql: str) -> str:
    # An eager local checkpoint cuts the lineage: without it every later step would re-plan
    # the whole chain of views (Catalyst runs out of memory on the nested plan).
    name = f"srnskit_step_{next(_NAMES)}"
    spark_session().sql(sql).localCheckpoint(eager=True).createOrReplaceTempView(name)
    return name
