"""Validation's checks on Spark: a ``CheckEngine`` over a cohort Spark reads itself.

``SparkChecks`` makes each cohort table Spark finds (a folder of ``NAME.parquet`` files or
folders of part files, at a path or any URI Spark reads; or tables ``DB.NAME`` in Spark's
catalog) the raw table validation's Ibis checks read (``cohort.expressions.CheckEngine``): a
temporary view ``raw_NAME`` of ``_row`` (the row number cohort-format.md §1 gives a Parquet
record: its 1-based record number + 1) and every cell as the text ``sources.files`` reads from
the same file. Each check's expression is compiled to Spark SQL by Ibis and runs on the
executors; only what a check returns (its offending rows, a count) comes back to the driver,
and no table passes through it (tests/engine/test_spark_checks.py proves it from the executed
plans).

``validate_on_spark`` runs the sequence of checks ``cohort.validate.validate_raw_cohort``
runs, on such a cohort.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TypeVar

import ibis
import ibis.expr.operations as ops
import pyarrow as pa

from srnskit.cohort.forms import DateOrder
from srnskit.cohort.parse import UNITS_TABLE, unit_rows
from srnskit.cohort.validate import problem_order, run_checks
from srnskit.engine.backends.spark import spark_session
from srnskit.engine.backends.spark_raw import (
    file_numbers,
    first_line,
    folder_uri,
    listing,
    literal_frame,
    misnamed_part_folders,
    raw_frame,
    spark_errors,
    unglobbed,
    unlike_part,
)
from srnskit.errors import UsageError
from srnskit.schema import COHORT_TABLES
from srnskit.schema.problems import Problem, printable
from srnskit.sources.parquet import part_folder_problem, visible
from srnskit.sources.raw import RawTable

__all__ = ["SparkChecks", "checked", "validate_on_spark"]

_PREFIXES = itertools.count()


class SparkChecks:
    """Validation's checks (``cohort.expressions.CheckEngine``) on Spark, over the raw tables
    ``tables`` (name → a Spark DataFrame of ``_row`` and text cells, blank cells NULL).

    Build it with ``from_location`` (Parquet files) or ``from_catalog`` (Spark's tables).
    ``problems`` holds what reading found (a duplicated column, a file Spark cannot read, no
    patients table); ``columns`` each table's columns as its header names them and ``records``
    its number of records. Each view is the session's temporary view under a name of its own
    (``srnskit_checksN_…``), so two cohorts' checks in one session never meet; ``close()``
    drops them (also on leaving a ``with`` block).
    """

    def __init__(
        self,
        session: Any,
        tables: Mapping[str, Any],
        *,
        columns: Mapping[str, list[str]],
        records: Mapping[str, int],
        sources: Mapping[str, str],
        problems: list[Problem] | None = None,
    ) -> None:
        self.session = session
        self.prefix = f"srnskit_checks{next(_PREFIXES)}_"
        self.columns = dict(columns)
        self.records = dict(records)
        self.sources = dict(sources)
        self.problems = list(problems or [])
        self._views: dict[str, str] = {}  # a table's name in the checks → its temporary view
        self._schemas: dict[str, ibis.Schema] = {}
        self._kept: dict[str, Any] = {}  # persisted DataFrames, by the name in the checks
        self._versions = itertools.count(1)
        # Ibis's Spark compiler (its options are set when the backend is made).
        self._ibis = ibis.pyspark.connect(session)
        # Each raw table is kept on the executors (memory, else their disks) once a check has
        # read it, as validation's DuckDB keeps its cells tables: the files are read and their
        # cells made text once, not by every check.
        self._raw = [frame.persist() for frame in tables.values()]
        for name, frame in zip(tables, self._raw, strict=True):
            self._register(f"raw_{name}", frame)
        unit_columns = [
            *((c, "string") for c in ("analyte", "unit_key", "unit", "canonical")),
            *((c, "double") for c in ("factor", "low", "high")),
        ]
        units = literal_frame(session, unit_columns, unit_rows())
        self._register(UNITS_TABLE, units)

    # --- building ---------------------------------------------------------------------------

    @classmethod
    def from_location(
        cls, location: str | Path, *, session: Any = None, master: str | None = None
    ) -> Self:
        """The cohort at ``location``: a folder (a local path, or a URI Spark reads such as
        ``file://``, ``hdfs://``, ``s3a://``) holding ``NAME.parquet`` for each cohort table,
        each a Parquet file or a folder of part files (as Spark writes a table; read in their
        names' order). ``session``: Spark's session, else ``spark_session(master)``.

        A table's rows are numbered as the records of its files (cohort-format.md §1: the first
        record is row 2), whichever tasks Spark splits them into: a record's index in its file
        (Parquet's ``_metadata.row_index``) plus, in a folder, the records of the files before
        it (counted from the files' footers, no column read).

        Raises ``UsageError`` when ``location`` is no folder Spark can list.
        """
        session = session or spark_session(master)
        folder = folder_uri(location)
        found = _Found()
        problems = found.problems
        entries = listing(session, folder, problems)
        problems += misnamed_part_folders(session, entries)
        for name in COHORT_TABLES:
            entry = entries.get(f"{name}.parquet")
            if entry is None:
                if f"{name}.csv" in entries:
                    file = entries[f"{name}.csv"][0].rsplit("/", 1)[-1]
                    message = (
                        f"{file} is not read: Spark reads a cohort's tables as Parquet; write "
                        f"it as {name}.parquet (a local folder of CSV files is read by srnskit "
                        "itself and handed to Spark)"
                    )
                    problems.append(Problem(name, None, None, message))
                continue
            uri, is_folder = entry
            source = uri.rsplit("/", 1)[-1]
            if is_folder:
                # Read as the embedded reader reads a folder of part files (sources.parquet).
                inside = [(u, u.rsplit("/", 1)[-1], d) for u, d in listing(session, uri).values()]
                parts = sorted(u for u, n, d in inside if not d and visible(n))
                problem = part_folder_problem(
                    name,
                    source,
                    [u.rsplit("/", 1)[-1] for u in parts],
                    [n for _, n, d in inside if d and visible(n)],
                ) or unlike_part(session, name, source, parts)
                if problem is not None:
                    problems.append(problem)
                    continue
            try:
                frame = session.read.parquet(unglobbed(uri))
                frame.schema  # noqa: B018 (the footers are read here: a file that is no Parquet)
            except spark_errors() as exc:  # Spark's AnalysisException or the JVM's
                message = f"{source} is not a readable Parquet file: {first_line(exc)}"
                problems.append(Problem(name, None, None, message))
                continue
            found.add(session, name, source, frame, file_numbers(session, frame, is_folder))
        if "patients" not in found.tables and not any(p.table == "patients" for p in problems):
            problems.append(
                Problem("patients", None, None, f"no patients table in {location} (it is required)")
            )
        return found.checks(cls, session)

    @classmethod
    def from_catalog(cls, database: str, *, session: Any = None, master: str | None = None) -> Self:
        """The cohort held as tables of Spark's catalog (``--spark-tables DB``): ``DB.NAME``
        for each cohort table present. Rows are numbered as ``from_location`` numbers them,
        over the table's files (a table Spark stores as files: Parquet, ORC and the like).

        Raises ``UsageError`` when the database does not exist, or a table's format gives no
        record numbers (``_metadata.row_index``: a view, a JDBC table).
        """
        session = session or spark_session(master)
        if not session.catalog.databaseExists(database):
            raise UsageError(f"--spark-tables {database}: Spark's catalog has no such database")
        found = _Found()
        for name in COHORT_TABLES:
            qualified = f"{database}.{name}"
            if not session.catalog.tableExists(qualified):
                continue
            frame = session.table(qualified)
            try:
                numbered = file_numbers(session, frame, True)
            except Exception as exc:
                raise UsageError(
                    f"{qualified}: Spark gives no record numbers for this table "
                    f"({first_line(exc)}); store it as Parquet files"
                ) from exc
            found.add(session, name, qualified, frame, numbered)
        if "patients" not in found.tables:
            found.problems.append(
                Problem("patients", None, None, f"no table {database}.patients (it is required)")
            )
        return found.checks(cls, session)

    # --- CheckEngine ------------------------------------------------------------------------

    @property
    def tables(self) -> list[str]:
        """The cohort tables present, in the format's order."""
        return [n for n in COHORT_TABLES if f"raw_{n}" in self._views]

    def raw_table(self, name: str) -> ibis.Table:
        return ibis.table(self._schemas[f"raw_{name}"], name=f"raw_{name}")

    def rows(self, expr: ibis.Table) -> list[dict[str, Any]]:
        return [row.asDict() for row in self.frame(expr).collect()]

    def scalar(self, expr: ibis.Scalar) -> Any:
        row = self.frame(expr).first()
        return None if row is None else row[0]

    def repeats(self, values: ibis.Column) -> bool:
        # Grouped on the executors: only the count of repeated values comes back.
        column = values.name("value").as_table()
        counts = column.group_by("value").aggregate(n=ibis._.count())
        return bool(self.scalar(counts.filter(counts.n > 1).count()))

    def rewrite(self, name: str, column: str, value: ibis.Value, where: ibis.BooleanValue) -> None:
        # A new view over the old one (a view's plan holds the one it reads, so the old name
        # can go): Spark's views are read-only, and a view may not read its own name.
        raw = self.raw_table(name)
        cell = ibis.ifelse(where, value, raw[column]).cast("string")
        rewritten = raw.mutate(**{column: cell})
        self._register(f"raw_{name}", self.frame(rewritten))

    def keep(self, name: str, expr: ibis.Table) -> ibis.Table:
        # Persisted on the executors (memory, else their disks), computed here once.
        frame = self.frame(expr).persist()
        frame.count()
        self.drop(name)
        self._kept[name] = frame
        self._register(name, frame)
        return ibis.table(self._schemas[name], name=name)

    def drop(self, name: str) -> None:
        view = self._views.pop(name, None)
        self._schemas.pop(name, None)
        if view is not None:
            self.session.catalog.dropTempView(view)
        frame = self._kept.pop(name, None)
        if frame is not None:
            frame.unpersist()

    # --- Spark --------------------------------------------------------------------------------

    def frame(self, expr: ibis.Expr) -> Any:
        """``expr`` (over the checks' tables, by their names) as a Spark DataFrame: compiled to
        Spark SQL by Ibis, each table read from its temporary view."""
        op = expr.op()
        renamed = {
            table: ops.UnboundTable(
                name=self._views[table.name], schema=table.schema, namespace=table.namespace
            )
            for table in op.find(ops.UnboundTable)
            if table.name in self._views
        }
        if renamed:
            expr = op.replace(renamed).to_expr()
        return self.session.sql(str(self._ibis.compile(expr, pretty=False)))

    def view(self, name: str) -> str:
        """The temporary view holding the table ``name`` of the checks (``raw_patients``)."""
        return self._views[name]

    def close(self) -> None:
        """Drop every view and persisted table these checks made."""
        for name in list(self._kept):
            self.drop(name)
        for view in self._views.values():
            self.session.catalog.dropTempView(view)
        for frame in self._raw:
            frame.unpersist()
        self._views, self._schemas, self._raw = {}, {}, []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _register(self, name: str, frame: Any) -> None:
        old = self._views.get(name)
        view = f"{self.prefix}{name}_{next(self._versions)}"
        frame.createOrReplaceTempView(view)
        self._views[name] = view
        self._schemas[name] = _ibis_schema(frame)
        if old is not None:
            self.session.catalog.dropTempView(old)


_Checks = TypeVar("_Checks", bound=SparkChecks)


@dataclass
class _Found:
    """The raw tables of a cohort as ``from_location`` and ``from_catalog`` find them, each
    with its header, record count and source, and the problems met reading them."""

    tables: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def add(self, session: Any, name: str, source: str, frame: Any, numbered: Any) -> None:
        """Table ``name`` read from ``frame`` (its records numbered by ``numbered``)."""
        raw, header, count, problems = raw_frame(session, name, frame, numbered=numbered)
        self.tables[name], self.columns[name], self.records[name] = raw, header, count
        self.sources[name] = source
        self.problems += problems

    def checks(self, cls: type[_Checks], session: Any) -> _Checks:
        """The ``SparkChecks`` (or subclass ``cls``) over the tables found."""
        return cls(
            session,
            self.tables,
            columns=self.columns,
            records=self.records,
            sources=self.sources,
            problems=self.problems,
        )


def _ibis_schema(frame: Any) -> ibis.Schema:
    from ibis.backends.pyspark.datatypes import PySparkSchema

    return PySparkSchema.to_ibis([(f.name, f.dataType) for f in frame.schema.fields])


# --- validation ------------------------------------------------------------------------------


def validate_on_spark(
    location: str | Path,
    *,
    today: dt.date,
    date_order: DateOrder | None = None,
    session: Any = None,
) -> list[Problem]:
    """Every problem of the cohort at ``location`` (``SparkChecks.from_location``: Parquet
    files at a path or URI), found on Spark by validation's one sequence of checks
    (``cohort.validate.run_checks``: columns, NA strings, text dates read in ``date_order``,
    cells, duplicate rows, the patients and the links to them, impossible dates, measurements,
    qualifiers, treatments), sorted and printed as ``validate_raw_cohort`` returns them.
    ``today``: the reference date for "in the future"; ``session``: Spark's session, else the
    process's (``spark_session``).

    Not run here: the file-level checks of ``sources.files`` that need the driver's own reader
    of the folder: ``cohort.toml`` (its settings and format version), a file named like a table
    but not as one (``patient.parquet``), a file that is no cohort table (a warning), a CSV
    file (reported: Spark reads Parquet), and a damaged page inside a file whose footer reads
    (Spark's error is raised when a check reads it). Raises ``UsageError`` when Spark cannot
    list ``location``.
    """
    with SparkChecks.from_location(location, session=session) as checks:
        return checked(checks, today=today, date_order=date_order)


def checked(
    checks: SparkChecks, *, today: dt.date, date_order: DateOrder | None = None
) -> list[Problem]:
    """Every problem of the cohort ``checks`` reads (what reading found, then validation's one
    sequence of checks, ``cohort.validate.run_checks``), sorted and printed as
    ``validate_raw_cohort`` returns them. NA strings and text dates are rewritten in the raw
    tables as on DuckDB, so loading (``cohort.load.canonical_table``) reads them so."""
    tables = {
        name: RawTable(
            name,
            checks.sources[name],
            checks.columns[name],
            checks.records[name],
            _on_executors,
        )
        for name in checks.tables
    }
    found = run_checks(checks, tables, today=today, date_order=date_order)
    return printable(sorted(checks.problems + found, key=problem_order))


def _on_executors() -> Iterator[pa.Table]:
    """A Spark table's chunks: never read on the driver (its cells are the executors')."""
    raise RuntimeError("a table Spark reads is not read chunk by chunk on the driver")
