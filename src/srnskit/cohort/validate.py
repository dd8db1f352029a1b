"""Validation: every problem of a cohort in one pass, each with its table, row and column.

Each check is one SQL query over the whole table (vectorised; a million rows in seconds) that
returns only the offending rows; messages are then written for those rows alone. Nothing here
raises on bad data: problems are collected and returned (`Problem` records). The checks live by
concept: ``cells`` (columns, cell types, bounds, duplicates), ``links`` (patients, the links to
them, treatments) and ``plausibility`` (measurement values and units).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pyarrow as pa

from srnskit.cohort.cells import check_cells, check_columns, check_duplicate_rows
from srnskit.cohort.chronology import check_impossible_dates
from srnskit.cohort.forms import DateOrder, check_placeholders, check_qualifiers, check_text_dates
from srnskit.cohort.links import check_patient_links, check_patients, check_treatments
from srnskit.cohort.parse import connect, quote, register_units
from srnskit.cohort.plausibility import check_measurements, implausible_value_message
from srnskit.schema import COHORT_TABLES
from srnskit.schema.problems import Problem
from srnskit.sources.files import ROW_COLUMN, RawCohort

__all__ = ["implausible_value_message", "register_raw_tables", "validate_raw_cohort"]


def validate_raw_cohort(
    cohort: RawCohort,
    *,
    today: dt.date,
    con: duckdb.DuckDBPyConnection | None = None,
    date_order: DateOrder | None = None,
) -> list[Problem]:
    """Every problem in ``cohort`` (file, column and cell level), sorted by table, row, column.

    ``today`` is the reference date for "in the future"; the caller decides it (the command
    line's ``--today``, default the system date), so validation never reads the clock.
    ``date_order`` (``"dmy"``, ``"mdy"``) reads text dates with the year last in that order
    (``--date-order``); without it they are errors. Placeholders that read as empty and dates
    so read are rewritten in ``con``'s raw tables, which loading then reads.
    """
    con = con or connect()
    problems = list(cohort.problems)
    found = register_raw_tables(con, cohort)
    readable: dict[str, bool] = {}
    for name, raw in cohort.tables.items():
        table = COHORT_TABLES[name]
        column_problems = check_columns(table, raw)
        found += column_problems
        readable[name] = not any(p.severity == "error" for p in column_problems)
        if readable[name]:
            found += check_placeholders(con, table)
            found += check_text_dates(con, table, date_order)
            found += check_cells(con, table)
            found += check_duplicate_rows(con, table, raw)
    if readable.get("patients"):
        found += check_patients(con, today)
        for name in ("measurements", "treatments", "adverse_events", "events"):
            if readable.get(name):
                found += check_patient_links(con, COHORT_TABLES[name], today)
    found += check_impossible_dates(con, {n for n, ok in readable.items() if ok}, today)
    if readable.get("measurements"):
        found += check_measurements(con)
        found += check_qualifiers(con)
    if readable.get("treatments"):
        found += check_treatments(con)
    # A cell a reader already explained (a formula with no saved result) is not also "empty".
    found = [p for p in found if (p.table, p.row, p.column) not in cohort.reported_cells]
    return sorted(problems + found, key=_order)


def register_raw_tables(con: duckdb.DuckDBPyConnection, cohort: RawCohort) -> list[Problem]:
    """Load each raw table as the table ``raw_NAME``: every declared column (NULL if absent),
    every extra column, blank cells as NULL, text trimmed.

    Chunk by chunk, each compressed as soon as it is in (``connect`` makes a compressed
    database): a million children's text never sits in memory whole. A table whose chunks
    cannot be read (a damaged Parquet page) is reported and left out.
    """
    register_units(con)
    problems: list[Problem] = []
    for name, raw in list(cohort.tables.items()):
        present = set(raw.columns)
        cells = [
            f"NULLIF(TRIM({quote(c)}), '') AS {quote(c)}"
            if c in present
            else f"CAST(NULL AS VARCHAR) AS {quote(c)}"
            for c in COHORT_TABLES[name].column_names
        ]
        extra = [
            f"NULLIF(TRIM({quote(c)}), '') AS {quote(c)}"
            for c in raw.columns
            if c not in COHORT_TABLES[name].column_names
        ]
        # Materialised once: every check then reads trimmed text instead of re-trimming.
        select = f"SELECT {ROW_COLUMN}, {', '.join(cells + extra)} FROM arrow_{name}"
        try:
            for index, chunk in enumerate(raw.chunks()):
                con.register(f"arrow_{name}", chunk)
                if index == 0:
                    con.execute(f"CREATE OR REPLACE TABLE raw_{name} AS {select}")
                else:
                    con.execute(f"INSERT INTO raw_{name} {select}")
                con.unregister(f"arrow_{name}")
                con.execute("CHECKPOINT")
        except (pa.ArrowException, OSError) as exc:
            con.execute(f"DROP TABLE IF EXISTS raw_{name}")
            del cohort.tables[name]
            problems.append(Problem(name, None, None, f"{raw.source} could not be read: {exc}"))
    return problems


def _order(problem: Problem) -> tuple[int, int, int]:
    """Problems in table order, then row, then column; the sort is stable, so one cell's
    problems keep the order the checks found them in."""
    tables = list(COHORT_TABLES)
    table = tables.index(problem.table) if problem.table in tables else len(tables)
    columns = COHORT_TABLES[problem.table].column_names if problem.table in COHORT_TABLES else ()
    column = columns.index(problem.column) if problem.column in columns else len(columns)
    return table, problem.row or 0, column


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()
