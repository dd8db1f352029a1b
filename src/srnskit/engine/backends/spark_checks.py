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
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Self

import ibis
import ibis.expr.operations as ops
import pyarrow as pa

from srnskit.cohort.cells import printable
from srnskit.cohort.forms import DateOrder
from srnskit.cohort.parse import UNITS_TABLE, unit_rows
from srnskit.cohort.validate import problem_order, run_checks
from srnskit.engine.backends.spark import spark_session
from srnskit.errors import UsageError
from srnskit.schema import COHORT_TABLES
from srnskit.schema.problems import Problem
from srnskit.sources.raw import ROW_COLUMN, RawTable, header_columns

__all__ = [
    "WHITESPACE",
    "SparkChecks",
    "checked",
    "first_line",
    "spark_errors",
    "validate_on_spark",
]

# The characters a cell is trimmed of: those DuckDB's TRIM takes (Unicode's space separators,
# category Zs; measured over every code point with DuckDB 1.5), so a cell reads on Spark as
# validation's DuckDB reads it (``validate.register_raw_tables``). A tab or line break stays.
WHITESPACE = (
    "\u0020\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u202f\u205f\u3000"
)
_PREFIXES = itertools.count()
_INDEX, _FILE = "_srnskit_index", "_srnskit_file"


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
        units = session.createDataFrame(
            unit_rows(),
            "analyte string, unit_key string, unit string, canonical string, "
            "factor double, low double, high double",
        )
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
        folder = _folder_uri(location)
        entries = _listing(session, folder)
        tables: dict[str, Any] = {}
        columns: dict[str, list[str]] = {}
        records: dict[str, int] = {}
        sources: dict[str, str] = {}
        problems: list[Problem] = []
        for name in COHORT_TABLES:
            found = entries.get(f"{name}.parquet")
            if found is None:
                if f"{name}.csv" in entries:
                    file = entries[f"{name}.csv"][0].rsplit("/", 1)[-1]
                    message = (
                        f"{file} is not read: Spark reads a cohort's tables as Parquet; write "
                        f"it as {name}.parquet (a local folder of CSV files is read by srnskit "
                        "itself and handed to Spark)"
                    )
                    problems.append(Problem(name, None, None, message))
                continue
            uri, is_folder = found
            source = uri.rsplit("/", 1)[-1]
            try:
                frame = session.read.parquet(uri)
                frame.schema  # noqa: B018 (the footers are read here: a file that is no Parquet)
            except spark_errors() as exc:  # Spark's AnalysisException or the JVM's
                message = f"{source} is not a readable Parquet file: {first_line(exc)}"
                problems.append(Problem(name, None, None, message))
                continue
            raw, header, count, found_problems = _raw_frame(
                session, name, frame, numbered=_file_numbers(session, frame, is_folder)
            )
            tables[name], columns[name], records[name] = raw, header, count
            sources[name] = source
            problems += found_problems
        if "patients" not in tables and not any(p.table == "patients" for p in problems):
            problems.append(
                Problem("patients", None, None, f"no patients table in {location} (it is required)")
            )
        return cls(
            session, tables, columns=columns, records=records, sources=sources, problems=problems
        )

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
        tables: dict[str, Any] = {}
        columns: dict[str, list[str]] = {}
        records: dict[str, int] = {}
        sources: dict[str, str] = {}
        problems: list[Problem] = []
        for name in COHORT_TABLES:
            qualified = f"{database}.{name}"
            if not session.catalog.tableExists(qualified):
                continue
            frame = session.table(qualified)
            try:
                numbered = _file_numbers(session, frame, True)
            except Exception as exc:
                raise UsageError(
                    f"{qualified}: Spark gives no record numbers for this table "
                    f"({first_line(exc)}); store it as Parquet files"
                ) from exc
            raw, header, count, found_problems = _raw_frame(session, name, frame, numbered=numbered)
            tables[name], columns[name], records[name] = raw, header, count
            sources[name] = qualified
            problems += found_problems
        if "patients" not in tables:
            problems.append(
                Problem("patients", None, None, f"no table {database}.patients (it is required)")
            )
        return cls(
            session, tables, columns=columns, records=records, sources=sources, problems=problems
        )

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


# --- reading ---------------------------------------------------------------------------------


def _folder_uri(location: str | Path) -> str:
    """``location`` as Spark reads it: a URI as given, a local path as a ``file:`` URI (so a
    cluster whose default file system is HDFS still reads the local folder)."""
    text = str(location)
    if "://" in text or text.startswith("file:"):
        return text.rstrip("/")
    path = Path(text).expanduser().resolve()
    if not path.exists():
        raise UsageError(f"{location}: no such file or directory")
    if not path.is_dir():
        raise UsageError(
            f"{location}: --engine spark reads a cohort from a folder of Parquet files"
        )
    return path.as_uri()


def _listing(session: Any, folder: str) -> dict[str, tuple[str, bool]]:
    """The entries of ``folder`` by their names in lower case: (URI, is a folder), listed by
    Hadoop's file system for its scheme (the one Spark reads with)."""
    jvm = session.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(folder)
    try:
        system = path.getFileSystem(session.sparkContext._jsc.hadoopConfiguration())
        if not system.exists(path) or not system.getFileStatus(path).isDirectory():
            raise UsageError(f"{folder}: no such folder")
        statuses = system.listStatus(path)
    except UsageError:
        raise
    except Exception as exc:  # the JVM's: no file system for the scheme, no access
        raise UsageError(f"{folder}: Spark cannot list it ({first_line(exc)})") from exc
    return {
        status.getPath().getName().lower(): (status.getPath().toString(), status.isDirectory())
        for status in statuses
    }


def spark_errors() -> tuple[type[Exception], ...]:
    """The exceptions Spark raises for what it cannot read (its own, and the JVM's): the
    tuple to catch."""
    from py4j.protocol import Py4JJavaError  # type: ignore[import-untyped]
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JJavaError)


def first_line(exc: BaseException) -> str:
    """The first line of the reason for ``exc``: for an error of the JVM, its root cause's
    message ("… is not a Parquet file. Expected magic number at tail …"), not the bridge's
    "An error occurred while calling o282.parquet"; a stack trace follows either."""
    from py4j.protocol import Py4JError

    java = getattr(exc, "java_exception", None)
    text: list[str] = []
    if java is not None:
        try:
            cause = java
            while cause.getCause() is not None:
                cause = cause.getCause()
            text = str(cause.getMessage() or cause.toString()).strip().splitlines()
        except (Py4JError, AttributeError):  # the bridge is gone: the Python side's text
            text = []
    text = text or str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _file_numbers(session: Any, frame: Any, several_files: bool) -> Callable[[Any], Any]:
    """How a row of ``frame``'s files gets its row number: a function of the frame with the
    hidden columns ``_INDEX`` (its record's index in its file) and ``_FILE`` (the file) giving
    the ``_row`` column. One file: the index + 2. Several: the files in their names' order,
    each record's number offset by the records of the files before it (counted from the
    footers: a count reads no column)."""
    from pyspark.sql import functions as F

    if not several_files:
        return lambda _: (F.col(_INDEX) + 2).cast("long")
    files = frame.select(F.col("_metadata.file_path").alias(_FILE)).groupBy(_FILE).count()
    counted = sorted((r[_FILE], int(r["count"])) for r in files.collect())
    offsets, total = [], 0
    for file, count in counted:
        offsets.append((file, total))
        total += count
    if not offsets:
        return lambda _: (F.col(_INDEX) + 2).cast("long")
    first = F.create_map(*itertools.chain.from_iterable((F.lit(f), F.lit(o)) for f, o in offsets))
    return lambda _: (F.col(_INDEX) + first[F.col(_FILE)] + 2).cast("long")


def _raw_frame(
    session: Any, name: str, frame: Any, *, numbered: Callable[[Any], Any]
) -> tuple[Any, list[str], int, list[Problem]]:
    """The raw table of ``frame`` (a file's columns as Spark read them): ``_row``, every
    declared column as text (NULL when absent), every extra column; the header's columns; the
    number of records; the header's problems (``sources.raw.header_columns``)."""
    from pyspark.sql import functions as F

    header = list(frame.columns)
    kept, problems = header_columns(name, header)
    types = [field.dataType for field in frame.schema.fields]
    # Columns by position: a file's names may differ only in case (Spark's names do not).
    positions = [f"_srnskit_c{i}" for i in range(len(header))]
    with_meta = frame.select(
        "*",
        F.col("_metadata.row_index").alias(_INDEX),
        F.col("_metadata.file_path").alias(_FILE),
    ).toDF(*positions, _INDEX, _FILE)
    cells = [_cell_text(F.col(positions[i]), types[i]) for i, _ in kept]
    names = [column for _, column in kept]
    text = with_meta.select(numbered(with_meta).alias(ROW_COLUMN), *cells).toDF(ROW_COLUMN, *names)
    trimmed = [F.nullif(F.btrim(F.col(c), F.lit(WHITESPACE)), F.lit("")).alias(c) for c in names]
    text = text.select(F.col(ROW_COLUMN), *trimmed)
    declared = COHORT_TABLES[name].column_names
    present = set(names)
    view = [F.col(c) if c in present else F.lit(None).cast("string").alias(c) for c in declared] + [
        F.col(c) for c in names if c not in declared
    ]
    count = frame.count()  # Parquet's footers hold it: no column is read
    return text.select(F.col(ROW_COLUMN), *view), names, count, problems


def _cell_text(cell: Any, kind: Any) -> Any:
    """A column of Spark's type ``kind`` as the cohort reader's text (``_float_text`` for
    floats, Spark's cast for the rest)."""
    name = type(kind).__name__
    if name in ("DoubleType", "FloatType"):
        return _plain_decimal(_float_text(cell, "double" if name == "DoubleType" else "float"))
    return cell.cast("string")


def _float_text(cell: Any, kind: str) -> Any:
    """A float column (``kind`` Spark's ``double`` or ``float``) as the text Arrow's cast gives
    and ``sources.raw.arrow_column_as_text`` keeps (137.0 as '137', 0.1 as '0.1', 1e20 as
    '100000000000000000000', never an exponent; NaN 'nan', infinities 'inf', '-inf'), in
    Spark SQL: Spark's own cast writes 137.0 and 1.0E20, and Java 17's digits are not always
    the shortest. The shortest digits that read back as the same float are found by trying
    1, 2 … 17 (9 for ``float``) significant digits (the first that reads back is the
    shortest, as Arrow's and Python's ``repr`` give), then written in plain decimals."""
    from pyspark.sql import functions as F

    scientific = F.when(F.isnan(cell), F.lit("nan"))
    scientific = scientific.when(cell == F.lit(float("inf")), F.lit("inf"))
    scientific = scientific.when(cell == F.lit(float("-inf")), F.lit("-inf"))
    for digits in range(1, (17 if kind == "double" else 9) + 1):
        written = F.format_string(f"%.{digits - 1}e", cell)
        scientific = scientific.when(written.try_cast(kind) == cell, written)
    return scientific


def _plain_decimal(scientific: Any) -> Any:
    """Java's ``%e`` text (``-1.25e+02``, ``3e-07``) as plain decimals (``-125``,
    ``0.0000003``), as ``sources.raw.plain_decimal`` writes a number; other text as it is."""
    from pyspark.sql import functions as F

    pattern = r"^(-?)([0-9])(?:\.([0-9]+))?e([+-][0-9]+)$"
    sign = F.regexp_extract(scientific, pattern, 1)
    digits = F.concat(
        F.regexp_extract(scientific, pattern, 2), F.regexp_extract(scientific, pattern, 3)
    )
    exponent = F.regexp_extract(scientific, pattern, 4).try_cast("int")
    count = F.length(digits)
    body = (
        F.when(exponent >= count - 1, F.concat(digits, F.repeat(F.lit("0"), exponent - count + 1)))
        .when(
            exponent >= 0,
            F.concat(
                digits.substr(F.lit(1), exponent + 1),
                F.lit("."),
                digits.substr(exponent + 2, count),
            ),
        )
        .otherwise(F.concat(F.lit("0."), F.repeat(F.lit("0"), -exponent - 1), digits))
    )
    return F.when(scientific.rlike(pattern), F.concat(sign, body)).otherwise(scientific)


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
    (``cohort.validate.run_checks``: columns, placeholders, text dates read in ``date_order``,
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
    ``validate_raw_cohort`` returns them. Placeholders and text dates are rewritten in the raw
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
