"""Validation: every problem of a cohort in one pass, each with its table, row and column.

Each check is one SQL query over the whole table (vectorised; a million rows in seconds) that
returns only the offending rows; messages are then written for those rows alone. Nothing here
raises on bad data: problems are collected and returned (`Problem` records). The checks live by
concept: ``cells`` (columns, cell types, bounds, duplicates), ``links`` (patients, the links to
them, treatments) and ``plausibility`` (measurement values and units).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa

from srnskit.cohort.cells import check_cells, check_columns, check_duplicate_rows
from srnskit.cohort.chronology import check_impossible_dates
from srnskit.cohort.expressions import Checks, checks_engine
from srnskit.cohort.forms import DateOrder, check_na_strings, check_qualifiers, check_text_dates
from srnskit.cohort.links import (
    check_patient_links,
    check_patients,
    check_treatments,
    drop_patient_spans,
)
from srnskit.cohort.parse import connect, quote, raw_cells, register_units
from srnskit.cohort.plausibility import check_measurements, implausible_value_message
from srnskit.schema import COHORT_TABLES
from srnskit.schema.problems import Problem, printable
from srnskit.sources.files import ROW_COLUMN, RawCohort, RawTable

__all__ = [
    "COMPRESSED_ROWS",
    "implausible_value_message",
    "problem_order",
    "register_raw_tables",
    "run_checks",
    "validate_raw_cohort",
]

# A raw table of more rows is compressed as it is loaded (a CHECKPOINT of the compressed
# in-memory database, ``parse.connect``): about a ninth of the memory, at about 1 s per
# million rows on the 2-core machine. Below it the text stays as read: 2 M rows of a cohort's
# text take about 200 MB.
COMPRESSED_ROWS = 2_000_000


def validate_raw_cohort(
    cohort: RawCohort,
    *,
    today: dt.date,
    con: duckdb.DuckDBPyConnection | None = None,
    date_order: DateOrder | None = None,
    keep_pairs: bool = False,
) -> list[Problem]:
    """Every problem in ``cohort`` (file, column and cell level), sorted by table, row, column.

    ``today`` is the reference date for "in the future"; the caller decides it (the command
    line's ``--today``, default the system date), so validation never reads the clock.
    ``date_order`` (``"dmy"``, ``"mdy"``) reads text dates with the year last in that order
    (``--date-order``); without it they are errors. NA strings that read as empty and dates
    so read are rewritten in ``con``'s raw tables, which loading then reads. ``keep_pairs``
    keeps the measurements' (analyte, unit) pairs in ``con`` for the load
    (``plausibility.kept_unit_pairs``).
    """
    con = con or connect()
    found = register_raw_tables(con, cohort)
    try:
        found += run_checks(
            con, cohort.tables, today=today, date_order=date_order, keep_pairs=keep_pairs
        )
    except (duckdb.Error, TypeError) as exc:
        # A Parquet file read where it lies whose pages hold what its own statistics deny (a
        # damaged file: Parquet has no checksum): a date of the year 5453899 fails a check's
        # arithmetic, in DuckDB or once fetched. Said as the unreadable file it is.
        found.append(_unreadable(cohort, exc))
    # A cell a reader already explained (a formula with no saved result) is not also "empty".
    found = [p for p in found if (p.table, p.row, p.column) not in cohort.reported_cells]
    # A message quoting a cell prints it on one line (control characters escaped).
    return printable(sorted(list(cohort.problems) + found, key=problem_order))


def run_checks(
    checks: Checks,
    tables: Mapping[str, RawTable],
    *,
    today: dt.date,
    date_order: DateOrder | None = None,
    keep_pairs: bool = False,
) -> list[Problem]:
    """Every column, cell, row and link problem of the raw tables ``tables`` (name → the table
    as read: its header's columns and its number of rows), whose cells ``checks`` holds as
    ``raw_NAME`` (validation's DuckDB connection, or another engine's ``CheckEngine``: Spark's
    reads a cohort where it lies). The one sequence of checks every engine runs, in the order
    the problems are reported; unsorted (``problem_order`` sorts them).

    A table whose columns have an error (a required column missing) is not read further; the
    link checks need a readable patients table. NA strings read as empty and text dates read
    in ``date_order`` are rewritten in the raw tables, which loading then reads.
    ``keep_pairs``: the measurements' (analyte, unit) pairs are kept for the load
    (``plausibility.check_measurements``).
    """
    engine = checks_engine(checks)
    found: list[Problem] = []
    readable: dict[str, bool] = {}
    for name, raw in tables.items():
        table = COHORT_TABLES[name]
        column_problems = check_columns(table, raw)
        found += column_problems
        readable[name] = not any(p.severity == "error" for p in column_problems)
        if readable[name]:
            found += check_na_strings(engine, table)
            found += check_text_dates(engine, table, date_order)
            found += check_cells(engine, table)
            found += check_duplicate_rows(engine, table, raw)
    if readable.get("patients"):
        found += check_patients(engine, today)
        for name in ("measurements", "treatments", "adverse_events", "events"):
            if readable.get(name):
                found += check_patient_links(engine, COHORT_TABLES[name], today)
    found += check_impossible_dates(engine, {n for n, ok in readable.items() if ok}, today)
    if readable.get("measurements"):
        found += check_measurements(engine, keep_pairs=keep_pairs)
        found += check_qualifiers(engine)
    if readable.get("treatments"):
        found += check_treatments(engine)
    # The per-patient spans the link checks shared (links.patient_spans) served them only.
    for name in tables:
        drop_patient_spans(engine, name)
    return found


def register_raw_tables(con: duckdb.DuckDBPyConnection, cohort: RawCohort) -> list[Problem]:
    """Load each raw table's cells into ``cells_NAME`` (blank cells NULL, text trimmed) and
    define the view ``raw_NAME`` over it: ``_row``, every declared column (NULL if absent),
    every extra column.

    A table with a ``scan`` (a regular CSV file, a Parquet file of text, dates, numbers and
    booleans) is read by DuckDB's own parallel reader, its rows numbered by position (a
    Parquet file's by the format's record numbers, and read where it lies: ``cells_NAME`` is
    then a view over the file, and a typed column stays typed); when the
    reader disagrees with the file (a record over several lines, a blank line, a ragged row,
    not UTF-8) or fails, the reader's ``fallback`` reads it the careful way. Other tables are
    loaded chunk by chunk from Arrow. A table of more than ``COMPRESSED_ROWS`` rows is
    compressed as it is loaded (``connect`` makes a compressed database), so a million
    children's text never sits in memory whole. A table whose chunks cannot be read (a
    damaged Parquet page) is reported and left out.
    """
    register_units(con)
    problems: list[Problem] = []
    for name, raw in list(cohort.tables.items()):
        numbered = raw.scan is not None and _load_scan(con, raw)
        if raw.scan is not None and not numbered:
            table, found = raw.fallback() if raw.fallback is not None else (None, [])
            problems += found
            if table is None:
                del cohort.tables[name]
                continue
            cohort.tables[name] = raw = table
        if not numbered and not _load_chunks(con, raw, problems):
            del cohort.tables[name]
            continue
        present = set(raw.columns)
        declared = COHORT_TABLES[name].column_names
        cells = [
            quote(c) if c in present else f"CAST(NULL AS VARCHAR) AS {quote(c)}" for c in declared
        ]
        extra = [quote(c) for c in raw.columns if c not in declared]
        # Rows read by position are numbered by it (DuckDB keeps a load's insertion order),
        # unless the scan numbered them itself (Parquet's record numbers).
        row = f"rowid + 2 AS {ROW_COLUMN}" if numbered and not _has_row(con, name) else ROW_COLUMN
        con.execute(
            f"CREATE OR REPLACE VIEW raw_{name} AS SELECT {row}, {', '.join(cells + extra)} "
            f"FROM {raw_cells(name)}"
        )
    return problems


def _load_scan(con: duckdb.DuckDBPyConnection, raw: RawTable) -> bool:
    """``raw.scan`` loaded into its cells table, trimmed; False (and nothing left) when the
    reader fails, yields another number of records than the file has lines, or writes a number
    of a ``raw.plain`` column with an exponent. A ``lazy`` scan (Parquet) is not loaded: the
    cells "table" is a view over the file, scanned where it lies by every check (DuckDB reads
    64 M Parquet records in about a second; a copy of them takes tens)."""
    cells = raw_cells(raw.name)
    kind = "VIEW" if raw.lazy else "TABLE"
    text: list[str] = []
    try:
        con.execute(f"CREATE OR REPLACE {kind} {cells} AS SELECT * FROM {raw.scan}")
        described = con.execute(f"SELECT * FROM {cells} LIMIT 0").description or ()
        text = [d[0] for d in described if str(d[1]) == "VARCHAR" and d[0] in raw.columns]
        # Trimmed where needed only: a column with a cell the trim would change (an empty
        # cell, or spaces at either end; the test is the trim itself, a fifth faster on 64 M
        # cells than testing the ends with LIKE). A typed cell (a Parquet date, number or
        # boolean) has nothing to trim, but is counted: every page of the file is read once
        # here, so a damaged one is found now, not by a check.
        screens = [
            f"count_if(TRIM({c}) IS DISTINCT FROM NULLIF({c}, ''))" for c in map(quote, text)
        ]
        screens += [f"count({quote(c)})" for c in raw.columns if c not in text]
        # A typed date outside the years 1 to 9999 has no ISO text (its text, 10183-09-21, is
        # no date): the file then goes the careful way, where it is such text.
        dates = [quote(d[0]) for d in described if str(d[1]) == "DATE" and d[0] in raw.columns]
        outside = [f"{d} < DATE '0001-01-01' OR {d} > DATE '9999-12-31'" for d in dates]
        odd = f"count_if({' OR '.join(outside)})" if outside else "0"
        query = f"SELECT {', '.join(['count(*)', odd, *screens])} FROM {cells}"
        found = con.execute(query).fetchone()
        count, counts = (found[0], found[2 : len(text) + 2]) if found else (0, ())
        if found and found[1]:
            count = None
    except duckdb.Error:
        count, counts = None, ()
    if count == raw.rows and raw.plain:
        exponents = " OR ".join(f"{quote(c)} LIKE '%e%'" for c in raw.plain)
        (written,) = con.execute(f"SELECT count_if({exponents}) FROM {cells}").fetchone() or (0,)
        count = None if written else count
    if count != raw.rows:
        con.execute(f"DROP {kind} IF EXISTS {cells}")
        return False
    needed = [column for column, n in zip(text, counts or (), strict=True) if n]
    if raw.lazy:
        if needed:
            trimmed = ", ".join(f"NULLIF(TRIM({quote(c)}), '') AS {quote(c)}" for c in needed)
            con.execute(
                f"CREATE OR REPLACE VIEW {cells} AS SELECT * REPLACE ({trimmed}) FROM {raw.scan}"
            )
        return True
    for column in needed:
        cell = quote(column)
        con.execute(
            f"UPDATE {cells} SET {cell} = NULLIF(TRIM({cell}), '') "
            f"WHERE {cell} = '' OR TRIM({cell}) <> {cell}"
        )
    if raw.rows > COMPRESSED_ROWS:
        con.execute("CHECKPOINT")
    return True


def _has_row(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the cells table of ``name`` holds the rows' numbers (``_row``)."""
    cursor = con.execute(f"SELECT * FROM {raw_cells(name)} LIMIT 0")
    return any(d[0] == ROW_COLUMN for d in cursor.description or ())


def _load_chunks(con: duckdb.DuckDBPyConnection, raw: RawTable, problems: list[Problem]) -> bool:
    """``raw.chunks()`` loaded into its cells table with their ``_row``, trimmed; False (and a
    problem, and nothing left) when a chunk cannot be read."""
    cells = raw_cells(raw.name)
    text = [f"NULLIF(TRIM({quote(c)}), '') AS {quote(c)}" for c in raw.columns]
    select = f"SELECT {', '.join([ROW_COLUMN, *text])} FROM arrow_{raw.name}"
    try:
        for index, chunk in enumerate(raw.chunks()):
            con.register(f"arrow_{raw.name}", chunk)
            if index == 0:
                con.execute(f"CREATE OR REPLACE TABLE {cells} AS {select}")
            else:
                con.execute(f"INSERT INTO {cells} {select}")
            con.unregister(f"arrow_{raw.name}")
            if raw.rows > COMPRESSED_ROWS:
                con.execute("CHECKPOINT")
    except (pa.ArrowException, OSError) as exc:
        con.execute(f"DROP TABLE IF EXISTS {cells}")
        problems.append(Problem(raw.name, None, None, f"{raw.source} could not be read: {exc}"))
        return False
    return True


def _unreadable(cohort: RawCohort, exc: Exception) -> Problem:
    """The problem of a cohort whose checks failed on a value no file should hold."""
    files = ", ".join(t.source for t in cohort.tables.values() if t.lazy)
    where = f" ({files})" if files else ""
    message = (
        f"the cohort's files{where} hold values that cannot be read, such as a date beyond "
        f"the year 9999 that the file's own statistics deny: is a file damaged? "
        f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
    )
    return Problem("cohort", None, None, " ".join(message.split()))


def problem_order(problem: Problem) -> tuple[int, int, int]:
    """The key sorting problems in table order, then row, then column; the sort is stable, so
    one cell's problems keep the order the checks found them in."""
    tables = list(COHORT_TABLES)
    table = tables.index(problem.table) if problem.table in tables else len(tables)
    columns = COHORT_TABLES[problem.table].column_names if problem.table in COHORT_TABLES else ()
    column = columns.index(problem.column) if problem.column in columns else len(columns)
    return table, problem.row or 0, column


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()
