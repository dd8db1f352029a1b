"""Validation of the patients and of every row's link to one: unique patient ids, birth before
onset, dates not in the future nor before birth, rows of unknown patients; and of treatment
rows (an end before its start, a dose without its unit) (cohort-format.md §4).

Each check is an Ibis expression over the raw text tables (``raw_NAME``), run through a
``CheckEngine`` (``cohort.expressions``), so the same checks run in validation's DuckDB and on
Spark; cells are read by ``cohort.parse``'s readings, as loading reads them.
"""

from __future__ import annotations

import datetime as dt
import weakref
from typing import Any

import ibis

from srnskit.cohort.expressions import CheckEngine, Checks, checks_engine
from srnskit.cohort.parse import bool_value, date_value, is_text
from srnskit.schema import COHORT_TABLES, Table
from srnskit.schema.problems import Problem
from srnskit.sources.files import ROW_COLUMN

__all__ = [
    "check_patient_links",
    "check_patients",
    "check_treatments",
    "drop_patient_spans",
    "patient_spans",
    "span_columns",
    "spans_table",
]


def _rows(engine: CheckEngine, expr: ibis.Table) -> list[dict[str, Any]]:
    """The rows of ``expr`` in row order (``row`` is a column of every check's result)."""
    return engine.rows(expr.order_by("row"))


def _any(engine: CheckEngine, expr: ibis.Table) -> bool:
    """Whether ``expr`` has a row: the cheap look before a check's rows are read."""
    return bool(engine.rows(expr.limit(1)))


def _date_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if c.kind == "date"]


# --- patients and the links to them --------------------------------------------------------


def check_patients(checks: Checks, today: dt.date) -> list[Problem]:
    """Problems of ``raw_patients``: a repeated patient_id, onset before birth, a variant without
    genetic testing, a date after ``today``. ``checks``: a ``CheckEngine`` or validation's
    DuckDB connection."""
    engine = checks_engine(checks)
    p = engine.raw_table("patients")
    ids = p.filter(p.patient_id.notnull())
    first = ids[ROW_COLUMN].min().over(group_by=ids.patient_id)
    repeats = ids.select(row=ids[ROW_COLUMN], patient_id=ids.patient_id, first=first)
    problems = [
        Problem(
            "patients",
            r["row"],
            "patient_id",
            f"patient_id '{r['patient_id']}' appears again (first on row {r['first']}); "
            "it must be unique",
        )
        for r in _rows(engine, repeats.filter(repeats.row > repeats.first))
    ]
    birth = date_value(p.birth_date)
    for column, what in (("onset_date", "onset"), ("biopsy_date", "the biopsy")):
        other = date_value(p[column])
        before = p.filter(other < birth).select(row=p[ROW_COLUMN], day=other, born=birth)
        problems += [
            Problem(
                "patients",
                r["row"],
                column,
                f"{what} ({r['day']}) is before birth ({r['born']}); is one of the dates mistyped?",
            )
            for r in _rows(engine, before)
        ]
    untested = p.genetic_variant.notnull() & ~bool_value(p.genetic_testing)
    problems += [
        Problem(
            "patients",
            r["row"],
            "genetic_variant",
            "a genetic_variant is given but genetic_testing is false",
            "warning",
        )
        for r in _rows(engine, p.filter(untested).select(row=p[ROW_COLUMN]))
    ]
    return problems + _check_future(engine, COHORT_TABLES["patients"], today)


def _check_future(engine: CheckEngine, table: Table, today: dt.date) -> list[Problem]:
    raw = engine.raw_table(table.name)
    problems = []
    for column in _date_columns(table):
        day = date_value(raw[column])
        # The text first: a date after today has an ISO text after today's (nearly free);
        # only those cells are read as dates. A typed date is compared as it is.
        late = (
            (raw[column] > today.isoformat()) & (day > ibis.literal(today))
            if is_text(raw[column])
            else day > ibis.literal(today)
        )
        problems += [
            Problem(
                table.name,
                r["row"],
                column,
                f"{column} {r['day']} is in the future (today is {today})",
            )
            for r in _rows(engine, raw.filter(late).select(row=raw[ROW_COLUMN], day=day))
        ]
    return problems


def spans_table(table: str) -> str:
    """The name of the table ``patient_spans`` keeps for the raw table ``table``."""
    return f"spans_{table}"


def span_columns(column: str) -> tuple[str, str]:
    """The columns of a spans table holding the first and the last text of date ``column``."""
    return f"first_{column}", f"last_{column}"


# The spans each engine (or DuckDB connection) keeps, by table: made by the link checks and
# read again by chronology's, in one validation, so the aggregate runs once.
_KEPT: weakref.WeakKeyDictionary[Any, dict[str, ibis.Table]] = weakref.WeakKeyDictionary()


def patient_spans(checks: Checks, table: Table, *, again: bool = False) -> ibis.Table:
    """``spans_<table>``, kept by the engine (``CheckEngine.keep``): one row per patient_id of
    ``raw_<table>`` with, for each date column, its least and greatest text
    (``span_columns``). Kept once per ``checks`` and table: a later call returns the same kept
    table unless ``again`` (then it is made anew, from the raw table as it is now).

    One aggregate over the rows serves every check of the rows' link to their patient: the
    unknown patients (an id here and not in the patients), dates before birth
    (``check_patient_links``) and measurements too long after it (``chronology``): each finds
    its suspect patients here, then judges only their rows. Texts, not dates: a valid date's
    text starts with its ISO date (``parse.ISO_DATE``: a four-digit year), and ISO text orders
    as the dates do, so a patient with a date before (after) a day has a least (greatest) text
    before (after) that day's ISO text; a cell that is no date can only add a suspect.
    """
    kept = _KEPT.setdefault(checks, {})
    if table.name in kept and not again:
        return kept[table.name]
    engine = checks_engine(checks)
    raw = engine.raw_table(table.name)
    spans: dict[str, ibis.Value] = {}
    for column in _date_columns(table):
        first, last = span_columns(column)
        spans[first] = raw[column].min()
        spans[last] = raw[column].max()
    linked = raw.filter(raw.patient_id.notnull())
    expr = linked.group_by(linked.patient_id).aggregate(**spans)
    kept[table.name] = engine.keep(spans_table(table.name), expr)
    return kept[table.name]


def drop_patient_spans(checks: Checks, table: str) -> None:
    """Forget the spans ``patient_spans`` kept for the raw table ``table`` (nothing if none):
    the engine's table and this module's note of it."""
    _KEPT.get(checks, {}).pop(table, None)
    checks_engine(checks).drop(spans_table(table))


def check_patient_links(checks: Checks, table: Table, today: dt.date) -> list[Problem]:
    """Problems of the rows of ``raw_<table>`` as linked to their patient: an unknown patient_id,
    a date after ``today`` or before the patient's birth. ``checks``: a ``CheckEngine`` or
    validation's DuckDB connection."""
    engine = checks_engine(checks)
    raw = engine.raw_table(table.name)
    patients = engine.raw_table("patients")
    spans = patient_spans(checks, table, again=True)
    # The unknown patients first (a few thousand ids, not a million rows); their rows only
    # when there are some.
    unknown = spans.anti_join(patients, spans.patient_id == patients.patient_id).select(
        "patient_id"
    )
    missing = (
        _rows(
            engine,
            raw.semi_join(unknown, raw.patient_id == unknown.patient_id).select(
                row=raw[ROW_COLUMN], patient_id=raw.patient_id
            ),
        )
        if _any(engine, unknown)
        else []
    )
    problems = [
        Problem(
            table.name,
            r["row"],
            "patient_id",
            f"patient '{r['patient_id']}' is not in the patients table",
        )
        for r in missing
    ]
    # A valid birth's text starts with its ISO date, and ISO texts order as the dates do.
    birth = date_value(patients.birth_date)
    births = patients.select(
        patient=patients.patient_id,
        birth=birth,
        birth_text=(
            patients.birth_date.substr(0, 10)
            if is_text(patients.birth_date)
            else birth.strftime("%Y-%m-%d")
        ),
    )
    born = (
        births.filter(births.birth.notnull())
        .group_by("patient")
        .aggregate(birth=births.birth.min(), birth_text=births.birth_text.min())
    )
    for column in _date_columns(table):
        first, _ = span_columns(column)
        # The patients whose least text here sorts before their birth's ISO date: a superset
        # of those with a date before birth (``patient_spans``); only their rows are judged.
        suspects = spans.join(born, spans.patient_id == born.patient)
        # A typed date column's spans are dates: compared with the birth itself.
        bound = suspects.birth_text if is_text(raw[column]) else suspects.birth
        suspects = suspects.filter(suspects[first] < bound).select("patient", "birth")
        if not _any(engine, suspects):
            continue
        # Only the columns read (a cohort's extra columns may bear any name).
        cells = raw.select(ROW_COLUMN, "patient_id", column)
        joined = cells.join(suspects, cells.patient_id == suspects.patient)
        day = date_value(joined[column])
        before = joined.filter(day < joined.birth).select(
            row=joined[ROW_COLUMN], day=day, birth=joined.birth
        )
        problems += [
            Problem(
                table.name,
                r["row"],
                column,
                f"{column} {r['day']} is before the patient's birth ({r['birth']})",
            )
            for r in _rows(engine, before)
        ]
    return problems + _check_future(engine, table, today)


# --- treatments ----------------------------------------------------------------------------


def check_treatments(checks: Checks) -> list[Problem]:
    """Problems of ``raw_treatments``: an end before the start, a dose without a unit (an error),
    a unit without a dose (a warning). ``checks``: a ``CheckEngine`` or validation's DuckDB
    connection."""
    engine = checks_engine(checks)
    t = engine.raw_table("treatments")
    start, end = date_value(t.start_date), date_value(t.end_date)
    reversed_ = t.filter(end < start).select(row=t[ROW_COLUMN], start=start, end=end)
    problems = [
        Problem(
            "treatments",
            r["row"],
            "end_date",
            f"end_date {r['end']} is before start_date {r['start']}",
        )
        for r in _rows(engine, reversed_)
    ]
    allowed = ", ".join(COHORT_TABLES["treatments"].column("dose_unit").allowed)
    no_unit = t.filter(t.dose.notnull() & t.dose_unit.isnull()).select(row=t[ROW_COLUMN])
    problems += [
        Problem("treatments", r["row"], "dose_unit", f"a dose needs a dose_unit: {allowed}")
        for r in _rows(engine, no_unit)
    ]
    no_dose = t.filter(t.dose.isnull() & t.dose_unit.notnull()).select(row=t[ROW_COLUMN])
    problems += [
        Problem("treatments", r["row"], "dose", "a dose_unit is given without a dose", "warning")
        for r in _rows(engine, no_dose)
    ]
    return problems
