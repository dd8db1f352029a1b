"""Validation of dates no childhood cohort can hold (issue 16), as Ibis expressions over the raw
text tables: a date before 1900, onset more than 25 years after birth, a measurement more than
30 years after birth (the limits: ``schema.tables``). Each is the sign of a typo (a birth year
0012 or 1700 gave onset ages of 2004 and 316 years), and each message names the likely one.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator

import ibis

from srnskit.cohort.expressions import Checks, raw_table, run, scalar
from srnskit.cohort.links import patient_spans, span_columns
from srnskit.cohort.parse import date_value, is_text
from srnskit.schema import COHORT_TABLES
from srnskit.schema.problems import Problem
from srnskit.schema.tables import EARLIEST_DATE, MAX_MEASUREMENT_AGE_YEARS, MAX_ONSET_AGE_YEARS
from srnskit.sources.files import ROW_COLUMN

__all__ = ["check_impossible_dates"]


def _year_hint(day: dt.date, today: dt.date) -> str:
    """The likely typo behind a date before 1900."""
    if day.year < 100:  # a two-digit year padded with zeros: 0012 for 2012 (or 1912)
        century = 2000 if 2000 + day.year <= today.year else 1900
        return f"the year {day.year:04d} looks like a two-digit year: {century + day.year}?"
    return (
        f"no child in a cohort was born or treated before {EARLIEST_DATE.year}: "
        "is the year mistyped?"
    )


def check_impossible_dates(checks: Checks, present: set[str], today: dt.date) -> list[Problem]:
    """Dates in the raw tables named in ``present`` that no childhood cohort holds: before
    ``EARLIEST_DATE`` (every date column), onset more than ``MAX_ONSET_AGE_YEARS`` after birth,
    a measurement more than ``MAX_MEASUREMENT_AGE_YEARS`` after birth (both skipped for a birth
    date already reported as before 1900). ``today`` only dates a two-digit year's century.

    One query per table for the early dates, whatever its number of date columns; each reads
    a cell's date only where its text sorts before ``'1900'`` (every ISO date before 1900 does,
    and the comparison is nearly free), so a million valid rows cost next to nothing.
    """
    problems: list[Problem] = []
    for name in sorted(present, key=list(COHORT_TABLES).index):
        problems += _early_dates(checks, raw_table(checks, name), name, today)
    if "patients" not in present:
        return problems
    patients = raw_table(checks, "patients")
    birth, onset = date_value(patients.birth_date), date_value(patients.onset_date)
    plausible_birth = birth >= ibis.literal(EARLIEST_DATE)
    late = patients.filter(
        plausible_birth & (onset > birth + ibis.interval(years=MAX_ONSET_AGE_YEARS))
    ).select(row=patients[ROW_COLUMN], birth=birth, onset=onset)
    for r in run(checks, late.order_by("row")):
        years = (r["onset"] - r["birth"]).days // 365.25
        message = (
            f"onset ({r['onset']}) is {years:.0f} years after birth ({r['birth']}); nephrotic "
            f"syndrome beginning after age {MAX_ONSET_AGE_YEARS} is not in a childhood cohort: "
            "is the year of birth or of onset mistyped?"
        )
        problems.append(Problem("patients", r["row"], "onset_date", message))
    if "measurements" in present:
        problems += _late_measurements(checks, patients, birth, plausible_birth)
    return problems


def _early_dates(checks: Checks, raw: ibis.Table, name: str, today: dt.date) -> list[Problem]:
    """The dates before ``EARLIEST_DATE`` in every date column of ``raw``, in one query."""
    columns = [c.name for c in COHORT_TABLES[name].columns if c.kind == "date"]
    if not columns:
        return []
    earliest = ibis.literal(EARLIEST_DATE)
    # Text before '1900' first: DuckDB reads the date only of the rows that pass it.
    early = {
        c: (raw[c] < str(EARLIEST_DATE.year)) & (date_value(raw[c]) < earliest)
        if is_text(raw[c])
        else raw[c] < earliest  # a typed date (Parquet) as it is
        for c in columns
    }
    # The condition as the filter itself, never wrapped (in a COALESCE): DuckDB then tests the
    # text first and reads a date only where it passes; wrapped, it reads every date.
    condition = functools.reduce(operator.or_, early.values())
    found = raw.filter(condition).select(
        row=raw[ROW_COLUMN], **{c: date_value(raw[c]) for c in columns}
    )
    problems = []
    for r in run(checks, found.order_by("row")):
        for column in columns:
            day = r[column]
            if day is not None and day < EARLIEST_DATE:
                message = (
                    f"{column} {day.isoformat()} is before {EARLIEST_DATE.year}; "
                    f"{_year_hint(day, today)}"
                )
                problems.append(Problem(name, r["row"], column, message))
    return problems


def _late_measurements(
    checks: Checks,
    patients: ibis.Table,
    birth: ibis.DateValue,
    plausible_birth: ibis.BooleanValue,
) -> list[Problem]:
    """Measurements dated more than ``MAX_MEASUREMENT_AGE_YEARS`` after the patient's birth.

    The patients whose latest measurement may be that late are found first in the per-patient
    spans the link checks use (``links.patient_spans``: one value per patient, no date read);
    only their rows are then read one by one. The greatest text sorts after the limit's ISO
    date whenever a date does, and a cell that is no date can only add a suspect, never lose
    one: the rows are then judged exactly.
    """
    born = (
        patients.filter(plausible_birth)
        .group_by(patient=patients.patient_id)
        .aggregate(birth=birth.min())
    )
    m = raw_table(checks, "measurements")
    years = ibis.interval(years=MAX_MEASUREMENT_AGE_YEARS)
    _, last = span_columns("date")
    spans = patient_spans(checks, COHORT_TABLES["measurements"])
    joined_spans = spans.join(born, spans.patient_id == born.patient)
    limit = joined_spans.birth + years  # a typed date column's spans are dates
    if is_text(m.date):
        limit = limit.strftime("%Y-%m-%d")
    suspects = joined_spans.filter(joined_spans[last] > limit).select("patient", "birth")
    if not scalar(checks, suspects.count()):
        return []  # the usual case: no row is read again
    # Only the columns read (a cohort's extra columns may bear any name).
    cells = m.select(ROW_COLUMN, "patient_id", "date")
    joined = cells.join(suspects, cells.patient_id == suspects.patient)
    day = date_value(joined.date)
    late = joined.filter(day > joined.birth + years)
    rows = late.select(row=joined[ROW_COLUMN], day=day, birth=joined.birth)
    problems = []
    for r in run(checks, rows.order_by("row")):
        years_after = (r["day"] - r["birth"]).days // 365.25
        message = (
            f"date {r['day']} is {years_after:.0f} years after the patient's birth "
            f"({r['birth']}), more than {MAX_MEASUREMENT_AGE_YEARS}: is the year of the "
            "measurement or of birth mistyped?"
        )
        problems.append(Problem("measurements", r["row"], "date", message))
    return problems
