"""A cohort's files read by Spark as validation's raw tables: where they are (a folder at a
path or any URI Spark reads), each record's row number (cohort-format.md §1: its place in its
file + 2), and every cell as the text the embedded reader (``sources.files``) gives for the same
file. ``spark_checks.SparkChecks`` builds its raw tables with these.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from srnskit.atomic import HDFS_DEFAULT_PORT, is_uri, relative_file_path
from srnskit.errors import UsageError
from srnskit.schema import COHORT_TABLES, SPACES
from srnskit.schema.problems import Problem
from srnskit.sources.parquet import first_records, holds_part_files, misnamed_parts
from srnskit.sources.raw import ROW_COLUMN, case_clashes, header_columns

__all__ = [
    "file_numbers",
    "first_line",
    "folder_uri",
    "footer_schema",
    "listing",
    "literal_frame",
    "misnamed_part_folders",
    "raw_frame",
    "spark_errors",
    "timestamp_columns",
    "unglobbed",
    "unlike_part",
]

_INDEX, _FILE = "_srnskit_index", "_srnskit_file"


def folder_uri(location: str | Path) -> str:
    """``location`` as Spark reads it: a URI as given, a local path as a ``file:`` URI (so a
    cluster whose default file system is HDFS still reads the local folder), its characters as
    they are: Hadoop's ``Path`` quotes a URI's characters itself, so a space written ``%20``
    (``pathlib``'s ``as_uri``) would name a folder called ``%20``."""
    text = str(location)
    relative = relative_file_path(text)  # file:c1, the folder c1 here (docs/scale.md)
    if is_uri(text) and relative is None:
        return text.rstrip("/")
    path = (Path(text) if relative is None else relative).expanduser().resolve()
    if not path.exists():
        raise UsageError(f"{location}: no such file or directory")
    if not path.is_dir():
        raise UsageError(
            f"{location}: --engine spark reads a cohort from a folder of Parquet files"
        )
    return "file://" + path.as_posix()


def unglobbed(location: str) -> str:
    """``location`` (a URI or path) with Hadoop's glob characters (``{}[]*?\\``) escaped by a
    backslash, for Spark's readers (``read.parquet``, ``read.text``), which take a location as
    a glob pattern: a folder named ``study [2024]`` would otherwise be read as ``study 2``,
    ``study 0`` or ``study 4`` (Hadoop's ``GlobPattern``)."""
    return re.sub(r"([{}\[\]*?\\])", r"\\\1", location)


def listing(
    session: Any, folder: str, problems: list[Problem] | None = None
) -> dict[str, tuple[str, bool]]:
    """The entries of ``folder`` by their names in lower case: (URI, is a folder), listed by
    Hadoop's file system for its scheme (the one Spark reads with). A cohort file there twice,
    in names differing only in capitals, is an error added to ``problems``
    (``sources.raw.case_clashes``), as for a folder srnskit reads itself."""
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
    if problems is not None:
        problems.extend(case_clashes(status.getPath().getName() for status in statuses))
    return {
        status.getPath().getName().lower(): (status.getPath().toString(), status.isDirectory())
        for status in statuses
    }


def literal_frame(
    session: Any, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]] = ()
) -> Any:
    """A small DataFrame of ``rows`` (each a value per column of ``columns``: (name, Spark SQL
    type)), made of literals in the plan and so on the JVM alone. ``createDataFrame`` of a
    Python list goes through a Python RDD, which starts a Python worker on each executor that
    reads it (a reviewer saw ``pyspark.daemon`` in a CSV run): docs/scale.md promises none
    before a Parquet output's writing."""
    from pyspark.sql import functions as F

    def cell(value: Any, name: str, kind: str) -> Any:
        return F.lit(value).cast(kind).alias(name)

    if not rows:
        return session.range(0).select(*(cell(None, n, k) for n, k in columns))
    structs = [
        F.struct(*(cell(v, n, k) for v, (n, k) in zip(row, columns, strict=True))) for row in rows
    ]
    return session.range(1).select(F.inline(F.array(*structs)))


def misnamed_part_folders(session: Any, entries: dict[str, tuple[str, bool]]) -> list[Problem]:
    """The errors for the folders of part files among a cohort folder's ``entries``
    (``listing``) named near a cohort table's name but not as one (``measurement.parquet``,
    ``measurements``: ``sources.parquet.misnamed_parts``), as the embedded reader reports
    them; each such folder is listed (Hadoop's file system) to see whether it holds parts."""
    tables = {f"{name}.{kind}" for name in COHORT_TABLES for kind in ("parquet", "csv")}
    problems = []
    for lower, (uri, is_folder) in sorted(entries.items()):
        if not is_folder or lower in tables:
            continue
        inside = listing(session, uri).values()
        if holds_part_files(u.rsplit("/", 1)[-1] for u, d in inside if not d):
            problem = misnamed_parts(uri.rsplit("/", 1)[-1])
            if problem is not None:
                problems.append(problem)
    return problems


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
    line = text[0] if text else type(exc).__name__
    if _HTTP_ANSWER in line:
        line += f" ({_HTTP_HINT})"
    return line


# Hadoop's RPC client reading an HTTP answer takes its first four bytes, "HTTP", as a length:
# 0x48545450 = 1213486160. So an hdfs:// URI naming the NameNode's web port (9870) says so.
_HTTP_ANSWER = "length of 1213486160"
_HTTP_HINT = (
    "that port answers HTTP: is it the NameNode's web port? an hdfs:// URI takes its RPC port, "
    f"fs.defaultFS in core-site.xml, {HDFS_DEFAULT_PORT} by default"
)


def file_numbers(session: Any, frame: Any, several_files: bool) -> Callable[[Any], Any]:
    """How a row of ``frame``'s files gets its row number: a function of the frame with the
    hidden columns ``_INDEX`` (its record's index in its file) and ``_FILE`` (the file) giving
    the ``_row`` column. One file: the index + 2. Several: the files in their names' order,
    each record's number offset by the records of the files before it (counted from the
    footers: a count reads no column)."""
    from pyspark.sql import functions as F

    if not several_files:
        return lambda _: (F.col(_INDEX) + 2).cast("long")
    files = frame.select(F.col("_metadata.file_path").alias(_FILE)).groupBy(_FILE).count()
    offsets = first_records((r[_FILE], int(r["count"])) for r in files.collect())
    if not offsets:
        return lambda _: (F.col(_INDEX) + 2).cast("long")
    first = F.create_map(*itertools.chain.from_iterable((F.lit(f), F.lit(o)) for f, o in offsets))
    return lambda _: (F.col(_INDEX) + first[F.col(_FILE)] + 2).cast("long")


def raw_frame(
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
    stamps = timestamp_columns(session, frame)
    cells = [
        _cell_text(F.col(positions[i]), types[i], stamps.get(header[i]), positions[i])
        for i, _ in kept
    ]
    names = [column for _, column in kept]
    text = with_meta.select(numbered(with_meta).alias(ROW_COLUMN), *cells).toDF(ROW_COLUMN, *names)
    trimmed = [F.nullif(F.btrim(F.col(c), F.lit(SPACES)), F.lit("")).alias(c) for c in names]
    text = text.select(F.col(ROW_COLUMN), *trimmed)
    declared = COHORT_TABLES[name].column_names
    present = set(names)
    view = [F.col(c) if c in present else F.lit(None).cast("string").alias(c) for c in declared] + [
        F.col(c) for c in names if c not in declared
    ]
    count = frame.count()  # Parquet's footers hold it: no column is read
    return text.select(F.col(ROW_COLUMN), *view), names, count, problems


def timestamp_columns(session: Any, frame: Any) -> dict[str, tuple[str, bool]]:
    """Each timestamp column of the Parquet files ``frame`` reads, by name: its unit as the
    format stores it (``MILLIS``, ``MICROS``, ``NANOS``; ``INT96`` for the legacy type) and
    whether it is adjusted to UTC, read from the first file's footer (Hadoop's Parquet
    reader, in Spark's jars). Spark's types keep neither: it reads every timestamp in
    microseconds, and a nanosecond one (pandas' default) only as its number
    (``spark.sql.legacy.parquet.nanosAsLong``, ``spark.FIXED``). Empty for a frame of no
    file, or of files that are not Parquet (a catalog's ORC table)."""
    # Spark names its input files as URIs, each character quoted (a space as %20); Hadoop's
    # Path reads a URI's text with its characters as they are, so each is decoded first.
    jvm = session.sparkContext._jvm
    files = sorted(
        str(jvm.org.apache.hadoop.fs.Path(jvm.java.net.URI(f))) for f in frame.inputFiles()
    )
    schema = footer_schema(session, files[0]) if files else None
    if schema is None:  # no file, or a catalog's table of another format (ORC)
        return {}
    found: dict[str, tuple[str, bool]] = {}
    for field in schema.getFields():
        if not field.isPrimitive():
            continue
        logical = str(field.getLogicalTypeAnnotation() or "")
        stamp = re.match(r"TIMESTAMP\((MILLIS|MICROS|NANOS),(true|false)\)", logical)
        if stamp:
            found[str(field.getName())] = (stamp.group(1), stamp.group(2) == "true")
        elif str(field.asPrimitiveType().getPrimitiveTypeName()) == "INT96":
            found[str(field.getName())] = ("INT96", False)
    return found


def footer_schema(session: Any, file: str) -> Any:
    """The Parquet schema in the footer of ``file`` (a URI), read by Hadoop's Parquet reader
    (in Spark's jars) on the JVM: a ``MessageType``, which compares equal to another of the
    same columns and types; None for a file that is not Parquet."""
    jvm = session.sparkContext._jvm
    hadoop = session.sparkContext._jsc.hadoopConfiguration()
    parquet = jvm.org.apache.parquet.hadoop
    source = parquet.util.HadoopInputFile.fromPath(jvm.org.apache.hadoop.fs.Path(file), hadoop)
    try:
        reader = parquet.ParquetFileReader.open(source)
    except spark_errors():
        return None
    try:
        return reader.getFooter().getFileMetaData().getSchema()
    finally:
        reader.close()


def unlike_part(session: Any, name: str, label: str, parts: list[str]) -> Problem | None:
    """The error for the first of the part files ``parts`` (URIs, in their names' order) of
    cohort table ``name`` (its folder ``label``) whose columns or types differ from the first
    part's, as the embedded reader refuses it (``sources.parquet``): Spark would read every
    part with the first's types (a part in milliseconds read as nanoseconds), or fail
    mid-way. None when they agree, or a part is not Parquet (Spark's read then says so)."""
    schemas = [footer_schema(session, part) for part in parts]
    if not schemas or any(schema is None for schema in schemas):
        return None
    for part, schema in zip(parts[1:], schemas[1:], strict=True):
        if not schema.equals(schemas[0]):
            first, odd = parts[0].rsplit("/", 1)[-1], part.rsplit("/", 1)[-1]
            message = (
                f"{label}/{odd} has other columns or types than {first}: every part file of "
                "a table holds the same columns"
            )
            return Problem(name, None, None, message)
    return None


# A timestamp's text as Arrow's cast writes it (``sources.raw.arrow_column_as_text``), by the
# unit the file stores: the seconds' fraction in the unit's digits, a Z when adjusted to UTC.
# Arrow reads the legacy INT96 in nanoseconds; Spark in microseconds, the last three zeros.
_FRACTION = {"MILLIS": ".SSS", "MICROS": ".SSSSSS", "INT96": ".SSSSSS"}


def _timestamp_text(cell: Any, stamp: tuple[str, bool], position: str) -> Any:
    """The timestamp column ``cell`` (Spark's column ``position``; its footer's ``stamp``,
    ``timestamp_columns``) as the text Arrow's cast gives: ``2016-01-01 23:30:05.120000``
    (microseconds), ``….120000000Z`` (nanoseconds, adjusted to UTC). A nanosecond one is
    read as its number of nanoseconds since 1970 (``spark.FIXED``), made a timestamp by
    whole microseconds and its nine digits of fraction written from the number."""
    from pyspark.sql import functions as F

    unit, utc = stamp
    seconds = "yyyy-MM-dd HH:mm:ss"
    if unit == "NANOS":
        micros = F.expr(f"(`{position}` - pmod(`{position}`, 1000)) div 1000")
        fraction = F.lpad(F.pmod(cell, F.lit(1_000_000_000)).cast("string"), 9, "0")
        text = F.concat(F.date_format(F.timestamp_micros(micros), seconds), F.lit("."), fraction)
    else:
        text = F.date_format(cell, seconds + _FRACTION[unit])
        if unit == "INT96":
            text = F.concat(text, F.lit("000"))
    return F.concat(text, F.lit("Z")) if utc else text


def _cell_text(
    cell: Any, kind: Any, stamp: tuple[str, bool] | None = None, position: str = ""
) -> Any:
    """A column of Spark's type ``kind`` as the cohort reader's text (``_float_text`` for
    floats, ``_timestamp_text`` for a timestamp of the footer's ``stamp``, Spark's cast for
    the rest)."""
    name = type(kind).__name__
    if stamp is not None:
        return _timestamp_text(cell, stamp, position)
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
