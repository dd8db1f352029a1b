"""Validation: every problem of a cohort in one pass, each with its table, row and column.

Each check is one SQL query over the whole table (vectorised; a million rows in seconds) that
returns only the offending rows; messages are then written for those rows alone. Nothing here
raises on bad data: problems are collected and returned (`Problem` records).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from srnskit.cohort.parse import (
    UNITS_TABLE,
    bool_sql,
    connect,
    date_sql,
    enum_sql,
    measurement_value_sql,
    number_sql,
    quote,
    register_units,
    unit_key_sql,
)
from srnskit.schema import ANALYTES, COHORT_TABLES, Column, Table
from srnskit.schema.problems import Problem, Severity, did_you_mean
from srnskit.sources.files import ROW_COLUMN, RawCohort, RawTable

__all__ = ["implausible_value_message", "register_raw_tables", "validate_raw_cohort"]

_DAY_MONTH_YEAR = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$")
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")
_CELL = "__cell__"  # stands for the cell in a parse expression until the column is known


def validate_raw_cohort(
    cohort: RawCohort, *, today: dt.date, con: duckdb.DuckDBPyConnection | None = None
) -> list[Problem]:
    """Every problem in ``cohort`` (file, column and cell level), sorted by table, row, column.

    ``today`` is the reference date for "in the future"; the caller decides it (the command
    line's ``--today``, default the system date), so validation never reads the clock.
    """
    con = con or connect()
    problems = list(cohort.problems)
    problems += register_raw_tables(con, cohort)
    readable: dict[str, bool] = {}
    for name, raw in cohort.tables.items():
        table = COHORT_TABLES[name]
        column_problems = _check_columns(table, raw)
        problems += column_problems
        readable[name] = not any(p.severity == "error" for p in column_problems)
        if readable[name]:
            problems += _check_cells(con, table)
            problems += _check_duplicate_rows(con, table, raw)
    if readable.get("patients"):
        problems += _check_patients(con, today)
        for name in ("measurements", "treatments", "adverse_events", "events"):
            if readable.get(name):
                problems += _check_patient_links(con, COHORT_TABLES[name], today)
    if readable.get("measurements"):
        problems += _check_measurements(con)
    if readable.get("treatments"):
        problems += _check_treatments(con)
    return sorted(problems, key=_order)


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
    tables = list(COHORT_TABLES)
    table = tables.index(problem.table) if problem.table in tables else len(tables)
    columns = COHORT_TABLES[problem.table].column_names if problem.table in COHORT_TABLES else ()
    column = columns.index(problem.column) if problem.column in columns else len(columns)
    return table, problem.row or 0, column


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


# --- columns -------------------------------------------------------------------------------


def _check_columns(table: Table, raw: RawTable) -> list[Problem]:
    problems = []
    for column in table.columns:
        if column.required and column.name not in raw.columns:
            problems.append(
                Problem(
                    table.name,
                    None,
                    column.name,
                    f"the required column '{column.name}' is missing ({column.description})",
                )
            )
    for name in raw.columns:
        if name not in table.column_names:
            hint = did_you_mean(name, table.column_names)
            problems.append(
                Problem(
                    table.name,
                    None,
                    name,
                    f"'{name}' is not a column of {table.name}; it is kept and passed "
                    f"through unchecked{hint}",
                    "warning",
                )
            )
    if raw.rows == 0:
        severity: Severity = "error" if table.name == "patients" else "warning"
        problems.append(
            Problem(table.name, None, None, "the table has a header but no rows", severity)
        )
    return problems


# --- cells ---------------------------------------------------------------------------------


def _check_cells(con: duckdb.DuckDBPyConnection, table: Table) -> list[Problem]:
    problems: list[Problem] = []
    view = f"raw_{table.name}"
    for column in table.columns:
        cell = quote(column.name)
        if column.required:
            for (row,) in _rows(con, f"SELECT {ROW_COLUMN} FROM {view} WHERE {cell} IS NULL"):
                problems.append(
                    Problem(table.name, row, column.name, f"{column.name} is empty; it is required")
                )
        check = _CELL_CHECKS.get(column.kind)
        if check is None:
            continue
        readable_sql, explain = check(column)
        bad = _rows(
            con,
            f"SELECT {ROW_COLUMN}, {cell} FROM {view} "
            f"WHERE {cell} IS NOT NULL AND ({readable_sql.replace(_CELL, cell)}) IS NULL",
        )
        problems += [Problem(table.name, row, column.name, explain(text)) for row, text in bad]
        if column.minimum is not None or column.maximum is not None:
            problems += _check_bounds(con, table, column)
    return problems


def _date_check(column: Column) -> tuple[str, Callable[[str], str]]:
    def explain(text: str) -> str:
        if _DAY_MONTH_YEAR.match(text):
            return (
                f"'{text}' is not an ISO date; write dates as YYYY-MM-DD "
                "(day/month/year is ambiguous and is not guessed)"
            )
        if re.match(r"^\d{4}-\d{2}-\d{2}", text):
            return f"'{text}' is not a valid date (no such day)"
        if re.match(r"^\d{5}(\.\d+)?$", text):
            return f"'{text}' looks like a spreadsheet date serial; format the column as a date"
        return f"'{text}' is not a date; write dates as YYYY-MM-DD"

    return date_sql(_CELL), explain


def _number_check(column: Column) -> tuple[str, Callable[[str], str]]:
    sql = number_sql(_CELL)
    if column.kind == "integer":
        sql = f"CASE WHEN {sql} = floor({sql}) THEN 1 END"

        def explain_integer(text: str) -> str:
            return f"'{text}' is not a whole number"

        return sql, explain_integer
    return sql, _not_a_number


def _bool_check(column: Column) -> tuple[str, Callable[[str], str]]:
    def explain(text: str) -> str:
        return f"'{text}' is not true or false (also accepted: yes/no, 1/0)"

    return bool_sql(_CELL), explain


def _enum_check(column: Column) -> tuple[str, Callable[[str], str]]:
    allowed = ", ".join(column.allowed)

    def explain(text: str) -> str:
        if column.name == "sex" and text.isdigit():
            return f"'{text}' is not F or M; numeric sex codes are not guessed"
        hint = did_you_mean(text, [*column.allowed, *column.aliases])
        if hint:
            suggestion = hint.split("'")[1]
            canonical = column.aliases.get(suggestion.lower(), suggestion)
            hint = f" (did you mean '{canonical}'?)"
        return f"'{text}' is not an allowed {column.name}{hint}; allowed: {allowed}"

    return enum_sql(_CELL, column), explain


_CELL_CHECKS: dict[str, Callable[[Column], tuple[str, Callable[[str], str]]]] = {
    "date": _date_check,
    "number": _number_check,
    "integer": _number_check,
    "bool": _bool_check,
    "enum": _enum_check,
}


def _check_bounds(con: duckdb.DuckDBPyConnection, table: Table, column: Column) -> list[Problem]:
    number = number_sql(quote(column.name))
    low = "-infinity" if column.minimum is None else column.minimum
    high = "infinity" if column.maximum is None else column.maximum
    bad = _rows(
        con,
        f"SELECT {ROW_COLUMN}, {number} FROM raw_{table.name} "
        f"WHERE {number} < CAST('{low}' AS DOUBLE) OR {number} > CAST('{high}' AS DOUBLE)",
    )
    if column.maximum is None:
        rule = f"must be at least {column.minimum:g}"
    else:
        rule = f"must be between {column.minimum:g} and {column.maximum:g}"
    return [
        Problem(table.name, row, column.name, f"{column.name} {value:g} {rule}")
        for row, value in bad
    ]


def _check_duplicate_rows(
    con: duckdb.DuckDBPyConnection, table: Table, raw: RawTable
) -> list[Problem]:
    columns = ", ".join(quote(c) for c in raw.columns)
    if not columns:
        return []
    # Rows are compared exactly, but only those whose hash repeats: a window over every
    # column of 64 M rows would hold them all; the hashes alone are 8 bytes a row.
    bad = _rows(
        con,
        f"WITH repeated AS (SELECT hash({columns}) AS h FROM raw_{table.name} GROUP BY h "
        f"HAVING count(*) > 1), candidates AS (SELECT * FROM raw_{table.name} "
        f"WHERE hash({columns}) IN (SELECT h FROM repeated)) "
        f"SELECT {ROW_COLUMN}, first FROM (SELECT {ROW_COLUMN}, min({ROW_COLUMN}) OVER "
        f"(PARTITION BY {columns}) AS first FROM candidates) WHERE {ROW_COLUMN} > first",
    )
    return [
        Problem(table.name, row, None, f"the row repeats row {first} exactly", "warning")
        for row, first in bad
    ]


# --- patients and the links to them --------------------------------------------------------


def _check_patients(con: duckdb.DuckDBPyConnection, today: dt.date) -> list[Problem]:
    problems = [
        Problem(
            "patients",
            row,
            "patient_id",
            f"patient_id '{patient_id}' appears again (first on row {first}); it must be unique",
        )
        for row, patient_id, first in _rows(
            con,
            f"SELECT {ROW_COLUMN}, patient_id, first FROM (SELECT {ROW_COLUMN}, patient_id, "
            f"min({ROW_COLUMN}) OVER (PARTITION BY patient_id) AS first FROM raw_patients "
            f"WHERE patient_id IS NOT NULL) WHERE {ROW_COLUMN} > first",
        )
    ]
    birth = date_sql("birth_date")
    for column, what in (("onset_date", "onset"), ("biopsy_date", "the biopsy")):
        other = date_sql(column)
        for row, day, born in _rows(
            con,
            f"SELECT {ROW_COLUMN}, {other}, {birth} FROM raw_patients WHERE {other} < {birth}",
        ):
            problems.append(
                Problem(
                    "patients",
                    row,
                    column,
                    f"{what} ({day}) is before birth ({born}); is one of the dates mistyped?",
                )
            )
    variant = _rows(
        con,
        f"SELECT {ROW_COLUMN} FROM raw_patients WHERE genetic_variant IS NOT NULL "
        f"AND {bool_sql('genetic_testing')} = FALSE",
    )
    problems += [
        Problem(
            "patients",
            row,
            "genetic_variant",
            "a genetic_variant is given but genetic_testing is false",
            "warning",
        )
        for (row,) in variant
    ]
    return problems + _check_future(con, COHORT_TABLES["patients"], today)


def _check_future(con: duckdb.DuckDBPyConnection, table: Table, today: dt.date) -> list[Problem]:
    problems = []
    for column in (c for c in table.columns if c.kind == "date"):
        day = date_sql(quote(column.name))
        for row, value in _rows(
            con,
            f"SELECT {ROW_COLUMN}, {day} FROM raw_{table.name} WHERE {day} > DATE '{today}'",
        ):
            problems.append(
                Problem(
                    table.name,
                    row,
                    column.name,
                    f"{column.name} {value} is in the future (today is {today})",
                )
            )
    return problems


def _check_patient_links(
    con: duckdb.DuckDBPyConnection, table: Table, today: dt.date
) -> list[Problem]:
    view = f"raw_{table.name}"
    missing = _rows(
        con,
        f"SELECT t.{ROW_COLUMN}, t.patient_id FROM {view} t WHERE t.patient_id IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM raw_patients p WHERE p.patient_id = t.patient_id)",
    )
    problems = [
        Problem(
            table.name,
            row,
            "patient_id",
            f"patient '{patient_id}' is not in the patients table",
        )
        for row, patient_id in missing
    ]
    birth = date_sql("p.birth_date")
    born = f"(SELECT patient_id, min({birth}) AS birth FROM raw_patients p GROUP BY patient_id)"
    for column in (c for c in table.columns if c.kind == "date"):
        day = date_sql(f"t.{quote(column.name)}")
        for row, value, birth_date in _rows(
            con,
            f"SELECT t.{ROW_COLUMN}, {day}, b.birth FROM {view} t JOIN {born} b "
            f"ON b.patient_id = t.patient_id WHERE {day} < b.birth",
        ):
            problems.append(
                Problem(
                    table.name,
                    row,
                    column.name,
                    f"{column.name} {value} is before the patient's birth ({birth_date})",
                )
            )
    return problems + _check_future(con, table, today)


# --- measurements --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Measurement:
    row: int
    analyte: str
    value_text: str
    value: float | None
    unit_text: str | None
    unit: str | None
    canonical: str | None
    factor: float | None
    low: float | None
    high: float | None


def _check_measurements(con: duckdb.DuckDBPyConnection) -> list[Problem]:
    analyte = enum_sql("m.analyte", COHORT_TABLES["measurements"].column("analyte"))
    value = measurement_value_sql("a.analyte", "a.value")
    unitless = ", ".join(f"'{a.name}'" for a in ANALYTES.values() if a.unitless)
    rows = _rows(
        con,
        f"""
        WITH a AS (SELECT m.{ROW_COLUMN}, {analyte} AS analyte, m.value, m.unit
                   FROM raw_measurements m WHERE m.value IS NOT NULL),
        v AS (SELECT a.*, {value} AS number, u.unit AS unit_name, u.canonical, u.factor,
                     u.low, u.high
              FROM a LEFT JOIN {UNITS_TABLE} u
              ON u.analyte = a.analyte AND u.unit_key = {unit_key_sql("a.unit")}
              WHERE a.analyte IS NOT NULL)
        SELECT {ROW_COLUMN}, analyte, value, number, unit, unit_name, canonical, factor, low, high
        FROM v
        WHERE number IS NULL
           OR (analyte IN ({unitless}) AND (unit IS NOT NULL OR number < 0
               OR number > CASE analyte WHEN 'edema' THEN 1 ELSE 4 END
               OR (analyte = 'edema' AND number NOT IN (0, 1))))
           OR (analyte NOT IN ({unitless}) AND (unit_name IS NULL
               OR number * factor < low OR number * factor > high))
        """,
    )
    problems: list[Problem] = []
    for record in rows:
        problems += _explain_measurement(_Measurement(*record))
    return problems


def _explain_measurement(m: _Measurement) -> list[Problem]:
    analyte = ANALYTES[m.analyte]
    at = ("measurements", m.row)
    if analyte.unitless:
        found = []
        if m.unit_text is not None:
            found.append(
                Problem(
                    *at,
                    "unit",
                    f"{m.analyte} has no unit; '{m.unit_text}' is ignored",
                    "warning",
                )
            )
        if m.value is None or not _in_range(m.value, *analyte.ranges[""]):
            allowed = (
                "neg, trace, 1+, 2+, 3+, 4+ (or 0, 0.5, 1 … 4)"
                if m.analyte == "dipstick"
                else "0 (absent) or 1 (present)"
            )
            found.append(
                Problem(*at, "value", f"'{m.value_text}' is not a {m.analyte} value; use {allowed}")
            )
        elif m.analyte == "edema" and m.value not in (0.0, 1.0):
            found.append(Problem(*at, "value", f"'{m.value_text}' is not 0 or 1"))
        return found
    units = ", ".join(u.name for u in analyte.units)
    if m.unit_text is None:
        return [Problem(*at, "unit", f"{m.analyte} needs a unit: {units}")]
    if m.unit is None:
        return [
            Problem(
                *at,
                "unit",
                f"'{m.unit_text}' is not a unit of {m.analyte}; use one of {units}",
            )
        ]
    if m.value is None:
        return [Problem(*at, "value", _not_a_number(m.value_text))]
    message = implausible_value_message(m.analyte, m.value, m.unit)
    return [Problem(*at, "value", message)] if message else []


def _not_a_number(text: str) -> str:
    if _DECIMAL_COMMA.match(text):
        return f"'{text}' is not a number; use '.' as the decimal mark"
    return f"'{text}' is not a number"


def _in_range(value: float, low: float, high: float) -> bool:
    return low <= value <= high


def implausible_value_message(analyte_name: str, value: float, unit_name: str) -> str | None:
    """Why ``value`` in ``unit_name`` is implausible for the analyte (naming a likely unit
    mix-up), or None when it is within the plausible range (cohort-format.md §2)."""
    analyte = ANALYTES[analyte_name]
    unit = next(u for u in analyte.units if u.name == unit_name)
    low, high = analyte.ranges[unit.canonical]
    if _in_range(value * unit.factor, low, high):
        return None
    return (
        f"{analyte_name} {value:g} {unit_name} is outside the plausible {low:g}–{high:g} "
        f"{unit.canonical}{_mix_up(analyte_name, value, unit_name)}"
    )


def _mix_up(analyte_name: str, value: float, unit_name: str) -> str:
    """'; it looks like mg/dL (…)' when the value is plausible in another unit of the analyte."""
    analyte = ANALYTES[analyte_name]
    for unit in analyte.units:
        if unit.name == unit_name:
            continue
        converted = value * unit.factor
        if _in_range(converted, *analyte.ranges[unit.canonical]):
            if unit.canonical == unit.name:
                return f"; it looks like {unit.name}"
            return (
                f"; it looks like {unit.name} "
                f"({value:g} {unit.name} = {converted:.3g} {unit.canonical})"
            )
    return ""


# --- treatments ----------------------------------------------------------------------------


def _check_treatments(con: duckdb.DuckDBPyConnection) -> list[Problem]:
    start, end = date_sql("start_date"), date_sql("end_date")
    problems = [
        Problem(
            "treatments",
            row,
            "end_date",
            f"end_date {end_day} is before start_date {start_day}",
        )
        for row, start_day, end_day in _rows(
            con,
            f"SELECT {ROW_COLUMN}, {start}, {end} FROM raw_treatments WHERE {end} < {start}",
        )
    ]
    allowed = ", ".join(COHORT_TABLES["treatments"].column("dose_unit").allowed)
    problems += [
        Problem("treatments", row, "dose_unit", f"a dose needs a dose_unit: {allowed}")
        for (row,) in _rows(
            con,
            f"SELECT {ROW_COLUMN} FROM raw_treatments WHERE dose IS NOT NULL AND dose_unit IS NULL",
        )
    ]
    problems += [
        Problem("treatments", row, "dose", "a dose_unit is given without a dose", "warning")
        for (row,) in _rows(
            con,
            f"SELECT {ROW_COLUMN} FROM raw_treatments WHERE dose IS NULL AND dose_unit IS NOT NULL",
        )
    ]
    return problems
