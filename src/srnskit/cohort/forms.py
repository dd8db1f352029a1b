"""Validation of the forms clinics and laboratories write (issue 16), as Ibis expressions over
the raw text tables that ``validate.register_raw_tables`` made (``raw_NAME``).

NA strings, words for "nothing" (``none``, ``N/A``, ``-``), text dates written day- or month-first,
and measurement qualifiers. Each check is an expression over a whole table returning only the
offending rows, so a later engine (DuckDB or Spark) can run it unchanged; a problem repeated in
one column is one line with its count and first rows (cohort-format.md §1).

Two checks also prepare the text for loading, in the same database: an NA string that reads as
empty is set to NULL, and with ``date_order`` a day- or month-first date is rewritten as ISO, so
that loading reads exactly what validation reported.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import ibis

from srnskit.cohort.expressions import CheckEngine, Checks, checks_engine, raw_table, run
from srnskit.cohort.parse import BOUND, is_text
from srnskit.schema import ANALYTES, COHORT_TABLES, Column, Table
from srnskit.schema.problems import Problem
from srnskit.schema.tables import NA_STRINGS
from srnskit.sources.files import ROW_COLUMN, as_written

__all__ = [
    "DAY_MONTH_YEAR",
    "DateOrder",
    "check_na_strings",
    "check_qualifiers",
    "check_text_dates",
    "counts_by_text",
    "grouped_rows",
]

DateOrder = Literal["dmy", "mdy"]
# A text date with the year last (18/01/2014, 01-18-2014, 18.01.2014): day- or month-first.
# The end is \z, which RE2 (DuckDB) and java.util.regex (Spark) both read as the text's end;
# their '$' differ (Java's also matches before a final line break, which a quoted CSV cell can
# hold). Python writes the same end \Z.
DAY_MONTH_YEAR = r"^([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})\z"
_DAY_MONTH_YEAR = re.compile(DAY_MONTH_YEAR.replace(r"\z", r"\Z"))
_FIRST_ROWS = 5  # rows named in a grouped problem


def grouped_rows(rows: list[int], count: int) -> str:
    """``row 3`` / ``rows 3, 5, 9`` / ``rows 3, 5, 9, 11, 12 and 40 more``: the first rows of a
    problem repeated ``count`` times (``rows`` holds the first of them, in order)."""
    shown = ", ".join(str(r) for r in rows)
    more = f" and {count - len(rows)} more" if count > len(rows) else ""
    return f"{'row' if count == 1 else 'rows'} {shown}{more}"


# --- NA strings (words for nothing) ----------------------------------------------------------


def _na_strings_for(column: Column) -> list[str]:
    """The NA strings that are not a value of ``column`` (``no`` is a bool, ``-`` …)."""
    own = {v.lower() for v in column.allowed} | set(column.aliases)
    return [word for word in NA_STRINGS if word not in own]


def _na_string_test(column: Column) -> Callable[[ibis.StringValue], ibis.BooleanValue]:
    words = _na_strings_for(column)

    def test(cell: ibis.StringValue) -> ibis.BooleanValue:
        return cell.lower().isin(words)

    return test


def counts_by_text(
    checks: Checks,
    raw: ibis.Table,
    tests: dict[str, Callable[[ibis.StringValue], ibis.BooleanValue]],
) -> dict[str, int]:
    """For each column of ``raw`` named in ``tests``, how many of its cells pass its test, in
    one query run by ``checks`` (an engine, or validation's DuckDB connection). Each distinct
    text is tested once, with its count (a million rows of a column hold a few thousand
    texts). The test is the sum's condition, not a filter: DuckDB would push a filter on the
    grouped column below the grouping, onto every row."""
    parts = []
    for name, test in tests.items():
        texts = raw.group_by(text=raw[name]).aggregate(n=ibis._.count())
        passed = texts.n.sum(where=test(texts.text).fill_null(False))
        parts.append(texts.aggregate(count=passed).mutate(column=ibis.literal(name)))
    if not parts:
        return {}
    found = run(checks, ibis.union(*parts))
    return {r["column"]: int(r["count"] or 0) for r in found}


def check_na_strings(checks: Checks, table: Table) -> list[Problem]:
    """NA strings (words for "nothing") in the optional columns of the raw table ``raw_<table>`` of
    ``checks`` (an engine, or validation's DuckDB connection): read as empty with a warning
    (and set to NULL in the raw table, so loading reads them empty), or an error
    where an empty cell means something the NA string does not say (``Column.na_string``).
    One problem per column, on the first row, with the count and the first rows."""
    columns = [c for c in table.columns if not c.required]
    engine = checks_engine(checks)
    raw = engine.raw_table(table.name)
    # A typed Parquet column (dates, numbers, booleans) holds no words; a number column's NaN
    # is the one NA string it can hold (a data frame's missing value, 'nan' as text).
    present = [
        c
        for c in columns
        if c.name in raw.columns
        and (is_text(raw[c.name]) or (_nan_column(raw[c.name]) and "nan" in _na_strings_for(c)))
    ]
    if not present:
        return []
    tests = {c.name: _na_string_test(c) if is_text(raw[c.name]) else _is_nan for c in present}
    totals = counts_by_text(engine, raw, tests)
    problems: list[Problem] = []
    for column in present:
        count = totals[column.name]
        if not count:
            continue
        flag = tests[column.name](raw[column.name]).fill_null(False)
        hits = raw.filter(flag).order_by(ROW_COLUMN).limit(_FIRST_ROWS)
        found = engine.rows(hits.select(row=raw[ROW_COLUMN], text=raw[column.name]))
        rows = [r["row"] for r in found]
        words = ", ".join(dict.fromkeys(f"'{as_written(r['text'])}'" for r in found))
        where = grouped_rows(rows, count)
        if column.na_string == "error":
            message = (
                f"{words} on {where} stands for nothing, but an empty {column.name} means "
                f"{column.empty}; write the value, or leave the cell empty only when it means that"
            )
            problems.append(Problem(table.name, rows[0], column.name, message))
        else:
            message = (
                f"{words} on {where} is read as empty: an empty {column.name} means {column.empty}"
            )
            problems.append(Problem(table.name, rows[0], column.name, message, "warning"))
        # Both kinds leave the cell NULL: an error stops loading anyway, and no other check
        # reports the same cell again ("'unknown' is not a date").
        engine.rewrite(table.name, column.name, ibis.null(raw[column.name].type()), flag)
    return problems


def _nan_column(cell: ibis.Value) -> bool:
    """Whether ``cell`` is a typed column of floating numbers (which may hold NaN)."""
    return bool(cell.type().is_floating())


def _is_nan(cell: ibis.Value) -> ibis.BooleanValue:
    return cell.isnan()


# --- text dates written day- or month-first ------------------------------------------------


@dataclass(frozen=True)
class _Reading:
    day_first: dt.date | None
    month_first: dt.date | None


def _readings(text: str) -> _Reading:
    match = _DAY_MONTH_YEAR.match(text)
    if not match:
        return _Reading(None, None)
    a, b, year = (int(g) for g in match.groups())

    def date(day: int, month: int) -> dt.date | None:
        try:
            return dt.date(year, month, day)
        except ValueError:
            return None

    return _Reading(date(a, b), date(b, a))


def _how_it_reads(text: str) -> str:
    reading = _readings(text)
    both = []
    if reading.day_first:
        both.append(f"{reading.day_first} read day-first (--date-order dmy)")
    if reading.month_first:
        both.append(f"{reading.month_first} read month-first (--date-order mdy)")
    if not both:
        return f"'{text}' is no date in either order"
    return f"'{text}' is " + " or ".join(both)


def check_text_dates(checks: Checks, table: Table, date_order: DateOrder | None) -> list[Problem]:
    """Text dates with the year last (``18/01/2014``) in the date columns of the raw table
    ``raw_<table>`` of ``checks`` (an engine, or validation's DuckDB connection).

    Without ``date_order`` they are an error, one per column: the count, the first rows and
    how the first reads in each order. With it they are read in that order (rewritten as ISO in
    the raw table) and reported as one warning per column; those that are no date in that
    order (``31/02/2014`` day-first) stay an error, one per column.
    """
    engine = checks_engine(checks)
    raw = engine.raw_table(table.name)
    columns = [c for c in table.columns if c.kind == "date" and is_text(raw[c.name])]
    if not columns:
        return []
    # Every date column counted in one query, each distinct text tested once.
    totals = counts_by_text(engine, raw, {c.name: _year_last for c in columns})
    problems: list[Problem] = []
    for column in columns:
        match = _year_last(raw[column.name]).fill_null(False)
        count = totals[column.name]
        if not count:
            continue
        if date_order is None:
            found = _first(engine, raw, column, match)
            problems.append(_unread_dates(table, column, found, count))
            continue
        iso = _iso(raw[column.name], date_order)
        readable = match & iso.try_cast("date").notnull()
        problems += _read_dates(engine, raw, table, column, date_order, readable, count)
        problems += _unreadable_dates(engine, raw, table, column, date_order, match & ~readable)
        engine.rewrite(table.name, column.name, iso, readable)
    return problems


def _year_last(cell: ibis.StringValue) -> ibis.BooleanValue:
    return cell.re_search(DAY_MONTH_YEAR)


def _count(engine: CheckEngine, raw: ibis.Table, condition: ibis.Value) -> int:
    return int(engine.scalar(raw.filter(condition).count()))


def _first(
    engine: CheckEngine, raw: ibis.Table, column: Column, condition: ibis.Value
) -> list[tuple[int, str]]:
    hits = raw.filter(condition).order_by(ROW_COLUMN).limit(_FIRST_ROWS)
    found = engine.rows(hits.select(row=raw[ROW_COLUMN], text=raw[column.name]))
    return [(int(r["row"]), str(r["text"])) for r in found]


def _unread_dates(
    table: Table, column: Column, found: list[tuple[int, str]], count: int
) -> Problem:
    rows = [row for row, _ in found]
    first = found[0][1]
    dates = "1 date is" if count == 1 else f"{count} dates are"
    message = (
        f"{dates} written with the year last ('{first}' on {grouped_rows(rows, count)}); "
        f"srnskit reads YYYY-MM-DD and does not guess the order: {_how_it_reads(first)}; "
        "write YYYY-MM-DD, or give --date-order"
    )
    return Problem(table.name, rows[0], column.name, message)


def _read_dates(
    engine: CheckEngine,
    raw: ibis.Table,
    table: Table,
    column: Column,
    date_order: DateOrder,
    readable: ibis.Value,
    count: int,
) -> list[Problem]:
    read = _count(engine, raw, readable)
    if not read:
        return []
    found = _first(engine, raw, column, readable)
    rows = [row for row, _ in found]
    first = found[0][1]
    reading = _readings(first)
    as_iso = reading.day_first if date_order == "dmy" else reading.month_first
    order = "day-first" if date_order == "dmy" else "month-first"
    dates = "1 date" if read == 1 else f"{read} dates"
    message = (
        f"{dates} written with the year last, read {order} (--date-order {date_order}) on "
        f"{grouped_rows(rows, read)}: '{first}' as {as_iso}"
    )
    return [Problem(table.name, rows[0], column.name, message, "warning")]


def _unreadable_dates(
    engine: CheckEngine,
    raw: ibis.Table,
    table: Table,
    column: Column,
    date_order: DateOrder,
    condition: ibis.Value,
) -> list[Problem]:
    count = _count(engine, raw, condition)
    if not count:
        return []
    found = _first(engine, raw, column, condition)
    rows = [row for row, _ in found]
    order = "day-first" if date_order == "dmy" else "month-first"
    dates = "1 date is" if count == 1 else f"{count} dates are"
    message = (
        f"{dates} no date read {order} ('{found[0][1]}' on {grouped_rows(rows, count)}): "
        "is the day or the month mistyped?"
    )
    return [Problem(table.name, rows[0], column.name, message)]


def _iso(cell: ibis.StringValue, date_order: DateOrder) -> ibis.StringValue:
    day, month = (1, 2) if date_order == "dmy" else (2, 1)

    def part(index: int, width: int) -> ibis.StringValue:
        return cell.re_extract(DAY_MONTH_YEAR, index).lpad(width, "0")

    return part(3, 4) + "-" + part(month, 2) + "-" + part(day, 2)


# --- qualifiers ------------------------------------------------------------------------------


def check_qualifiers(checks: Checks) -> list[Problem]:
    """Bounds in the raw table ``raw_measurements`` of ``checks`` (an engine, or validation's
    DuckDB connection; ``<0.1`` or a qualifier column, cohort-format.md §2): a
    bound on a dipstick or oedema reading (an error: they are levels, not laboratory results),
    a value's '<' or '>' that the qualifier column contradicts (an error)."""
    raw = raw_table(checks, "measurements")
    analyte = raw.analyte.lower()
    unitless = [a.name for a in ANALYTES.values() if a.unitless]
    if is_text(raw.value):
        prefix = raw.value.re_extract(BOUND, 1)
        # BOUND matches exactly the values that start with one of its four first characters
        # ('<=' starts with '<'): prefix tests (LIKE '<%', which DuckDB runs as a prefix test;
        # its STARTS_WITH costs three times as much) cost a tenth of the pattern on a million
        # cells.
        bound = ibis.or_(*(raw.value.like(f"{sign}%") for sign in "<>≤≥")).fill_null(False)
        value_says = bound.ifelse(prefix.isin(["<", "<=", "≤"]).ifelse("<", ">"), ibis.null())
    else:  # a typed number (a Parquet column of numbers) holds no bound
        bound = ibis.literal(False)
        value_says = ibis.null("string")
    given = raw.qualifier.notnull()
    column = COHORT_TABLES["measurements"].column("qualifier")
    column_says = raw.qualifier.substitute(dict(column.aliases))
    level = analyte.isin(unitless) & (bound | given)
    conflict = bound & given & (value_says != column_says)
    # level | conflict, with the rows holding neither a bound nor a qualifier (nearly all)
    # dropped first by the cheap tests.
    bad = raw.filter((bound | given) & (analyte.isin(unitless) | conflict)).select(
        row=raw[ROW_COLUMN],
        analyte=analyte,
        value=raw.value,
        qualifier=raw.qualifier,
        level=level,
    )
    problems = []
    for r in run(checks, bad.order_by("row")):
        if r["level"]:
            text = f"'{as_written(r['value'])}'" + (
                f" with qualifier '{r['qualifier']}'" if r["qualifier"] else ""
            )
            message = (
                f"{text}: a {r['analyte']} reading is a level, never a bound beyond a limit; "
                "write the level without '<' or '>'"
            )
            problems.append(Problem("measurements", r["row"], "qualifier", message))
        else:
            message = (
                f"the value '{as_written(r['value'])}' and the qualifier '{r['qualifier']}' "
                "disagree; keep one of them"
            )
            problems.append(Problem("measurements", r["row"], "qualifier", message))
    return problems
