"""Validation of the patients and of every row's link to one: unique patient ids, birth before
onset, dates not in the future nor before birth, rows of unknown patients; and of treatment
rows (an end before its start, a dose without its unit) (cohort-format.md §4)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb

from srnskit.cohort.parse import bool_sql, date_sql, quote
from srnskit.schema import COHORT_TABLES, Table
from srnskit.schema.problems import Problem
from srnskit.sources.files import ROW_COLUMN

__all__ = [
    "check_patient_links",
    "check_patients",
    "check_treatments",
    "patient_spans",
    "span_columns",
    "spans_table",
]


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


# --- patients and the links to them --------------------------------------------------------


def check_patients(con: duckdb.DuckDBPyConnection, today: dt.date) -> list[Problem]:
    """Problems of ``raw_patients``: a repeated patient_id, onset before birth, a variant without
    genetic testing, a date after ``today``."""
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
        cell = quote(column.name)
        day = date_sql(cell)
        # The text first: a date after today has an ISO text after today's (nearly free);
        # only those cells are read as dates.
        for row, value in _rows(
            con,
            f"SELECT {ROW_COLUMN}, {day} FROM raw_{table.name} "
            f"WHERE {cell} > '{today.isoformat()}' AND {day} > DATE '{today}'",
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


def spans_table(table: str) -> str:
    """The table ``patient_spans`` makes for the raw table ``table``."""
    return f"spans_{table}"


def span_columns(column: str) -> tuple[str, str]:
    """The columns of a spans table holding the first and the last text of date ``column``."""
    return f"first_{column}", f"last_{column}"


def patient_spans(con: duckdb.DuckDBPyConnection, table: Table) -> str:
    """``spans_<table>`` (made once, returned by name): one row per patient_id of
    ``raw_<table>`` with, for each date column, its least and greatest text
    (``span_columns``).

    One aggregate over the rows serves every check of the rows' link to their patient: the
    unknown patients (an id here and not in the patients), dates before birth
    (``check_patient_links``) and measurements too long after it (``chronology``): each finds
    its suspect patients here, then judges only their rows. Texts, not dates: a valid date's
    text starts with its ISO date (``parse.ISO_DATE``: a four-digit year), and ISO text orders
    as the dates do, so a patient with a date before (after) a day has a least (greatest) text
    before (after) that day's ISO text; a cell that is no date can only add a suspect.
    """
    name = spans_table(table.name)
    spans = []
    for column in (c for c in table.columns if c.kind == "date"):
        first, last = span_columns(column.name)
        cell = quote(column.name)
        spans += [f"min({cell}) AS {first}", f"max({cell}) AS {last}"]
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {name} AS SELECT {', '.join(['patient_id', *spans])} "
        f"FROM raw_{table.name} WHERE patient_id IS NOT NULL GROUP BY patient_id"
    )
    return name


def check_patient_links(
    con: duckdb.DuckDBPyConnection, table: Table, today: dt.date
) -> list[Problem]:
    """Problems of the rows of ``raw_<table>`` as linked to their patient: an unknown patient_id,
    a date after ``today`` or before the patient's birth."""
    view = f"raw_{table.name}"
    spans = patient_spans(con, table)
    # The unknown patients first (a few thousand ids, not a million rows); their rows only
    # when there are some.
    unknown = (
        f"SELECT s.patient_id FROM {spans} s WHERE NOT EXISTS "
        "(SELECT 1 FROM raw_patients p WHERE p.patient_id = s.patient_id)"
    )
    missing = (
        _rows(
            con,
            f"SELECT t.{ROW_COLUMN}, t.patient_id FROM {view} t WHERE t.patient_id IN ({unknown})",
        )
        if _rows(con, f"{unknown} LIMIT 1")
        else []
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
    # A valid birth's text starts with its ISO date, and ISO texts order as the dates do.
    born = (
        "(SELECT patient_id, min(birth) AS birth, min(substr(birth_date, 1, 10)) AS birth_text "
        f"FROM (SELECT patient_id, birth_date, {birth} AS birth FROM raw_patients p) "
        "WHERE birth IS NOT NULL GROUP BY patient_id)"
    )
    for column in (c for c in table.columns if c.kind == "date"):
        cell = f"t.{quote(column.name)}"
        day = date_sql(cell)
        first, _ = span_columns(column.name)
        # The patients whose least text here sorts before their birth's ISO date: a superset
        # of those with a date before birth (``patient_spans``); only their rows are judged.
        suspects = (
            f"(SELECT s.patient_id, b.birth FROM {spans} s JOIN {born} b "
            f"ON b.patient_id = s.patient_id WHERE s.{first} < b.birth_text)"
        )
        if not _rows(con, f"SELECT 1 FROM {suspects} LIMIT 1"):
            continue
        for row, value, birth_date in _rows(
            con,
            f"SELECT t.{ROW_COLUMN}, {day}, b.birth FROM {view} t JOIN {suspects} b "
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


# --- treatments ----------------------------------------------------------------------------


def check_treatments(con: duckdb.DuckDBPyConnection) -> list[Problem]:
    """Problems of ``raw_treatments``: an end before the start, a dose without a unit (an error),
    a unit without a dose (a warning)."""
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
