"""Validation of a cohort's structure and cells: required columns, unknown columns (with a
"did you mean"), cells that do not read as their column's type, values outside a column's
bounds, duplicate rows. Each check is one SQL query over the raw table returning only the
offending rows (cohort-format.md §4)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import duckdb

from srnskit.cohort.forms import DAY_MONTH_YEAR
from srnskit.cohort.parse import bool_sql, date_sql, enum_sql, number_sql, quote
from srnskit.schema import Column, Table
from srnskit.schema.problems import Problem, Severity, did_you_mean, escaped
from srnskit.schema.tables import looks_like_identifier
from srnskit.sources.files import ROW_COLUMN, RawTable

__all__ = [
    "check_cells",
    "check_columns",
    "check_duplicate_rows",
    "comma_readings",
    "is_identifier",
    "not_a_number",
    "printable",
]

_DAY_MONTH_YEAR = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_CELL = "__cell__"  # stands for the cell in a parse expression until the column is known
# Unicode's control characters (general category Cc: U+0000-U+001F, U+007F-U+009F), as RE2
# (DuckDB's regular expressions) and Python write them.
_CONTROL_SQL = r"\p{Cc}"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# What a message calls a control character; any other is named by its code point.
_CONTROL_NAMES = {
    "\n": "a line break",
    "\r": "a carriage return",
    "\t": "a tab",
    "\x00": "a NUL",
}


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


# --- columns -------------------------------------------------------------------------------


def check_columns(table: Table, raw: RawTable) -> list[Problem]:
    """Problems of ``raw``'s header against ``table``: a required column missing (an error), an
    unknown column (a warning, with the nearest declared name)."""
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
        if name not in table.column_names and looks_like_identifier(name):
            problems.append(
                Problem(
                    table.name,
                    None,
                    name,
                    f"'{name}' looks like a direct identifier (a name, a record or national "
                    "number, an address, a phone number, an e-mail): it is never written to an "
                    "output; keep identifiers out of research data, use study identifiers",
                    "warning",
                )
            )
        elif name not in table.column_names:
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


def check_cells(con: duckdb.DuckDBPyConnection, table: Table) -> list[Problem]:
    """Problems of the cells of ``raw_<table>`` (registered in ``con``): a required cell empty, a
    cell that does not read as its column's type (date, number, yes/no, code), a number outside
    its column's bounds."""
    problems: list[Problem] = []
    view = f"raw_{table.name}"
    for column in table.columns:
        cell = quote(column.name)
        if column.required:
            for (row,) in _rows(con, f"SELECT {ROW_COLUMN} FROM {view} WHERE {cell} IS NULL"):
                problems.append(
                    Problem(table.name, row, column.name, f"{column.name} is empty; it is required")
                )
        if is_identifier(column):
            problems += _check_controls(con, table, column)
        check = _CELL_CHECKS.get(column.kind)
        if check is None:
            continue
        readable_sql, explain = check(column)
        # Text dates with the year last are grouped per column (forms.check_text_dates).
        grouped = (
            f" AND NOT regexp_full_match({cell}, '{DAY_MONTH_YEAR}')"
            if column.kind == "date"
            else ""
        )
        unread = f"({readable_sql.replace(_CELL, cell)}) IS NULL{grouped}"
        if column.kind not in ("number", "integer"):
            # Dates, codes and yes/no repeat: each distinct text is read once (a million
            # measurement dates hold a few thousand days); rows are looked up only for texts
            # that do not read.
            # The test is an aggregate's argument, not a filter: DuckDB pushes a filter on
            # the DISTINCT's column below it, onto every row (a MATERIALIZED CTE too).
            texts = (
                f"SELECT bool_or({unread}) FROM "
                f"(SELECT DISTINCT {cell} FROM {view} WHERE {cell} IS NOT NULL)"
            )
            if not (con.execute(texts).fetchone() or (None,))[0]:
                unread = "FALSE"
        bad = (
            []
            if unread == "FALSE"
            else _rows(
                con,
                f"SELECT {ROW_COLUMN}, {cell} FROM {view} WHERE {cell} IS NOT NULL AND {unread}",
            )
        )
        problems += [Problem(table.name, row, column.name, explain(text)) for row, text in bad]
        if column.minimum is not None or column.maximum is not None:
            problems += _check_bounds(con, table, column)
    return problems


def is_identifier(column: Column) -> bool:
    """True for a column holding an identifier (``patient_id``, ``center_id``: a text column
    whose name ends in ``_id``), which may hold no control character."""
    return column.kind == "text" and column.name.endswith("_id")


def _check_controls(con: duckdb.DuckDBPyConnection, table: Table, column: Column) -> list[Problem]:
    # An identifier with a control character (a line break, a tab, a NUL) prints on two lines
    # or not at all, and matches nothing a person types: refused (issue 20 review). The
    # identifier itself is not quoted: it is not printed (STYLE: no identifiers in messages).
    cell = quote(column.name)
    bad = _rows(
        con,
        f"SELECT {ROW_COLUMN}, regexp_extract({cell}, '{_CONTROL_SQL}') FROM raw_{table.name} "
        f"WHERE regexp_matches({cell}, '{_CONTROL_SQL}')",
    )
    return [
        Problem(
            table.name,
            row,
            column.name,
            f"{column.name} holds a control character ({_control_name(character)}); "
            "identifiers are printable text",
        )
        for row, character in bad
    ]


def _control_name(character: str) -> str:
    return _CONTROL_NAMES.get(character, f"U+{ord(character):04X}")


def printable(problems: list[Problem]) -> list[Problem]:
    """``problems`` with every control character of a message ``escaped``: a message quoting a
    cell or an origin (``REDCap record 'H-2\\nX'``) prints on one line."""
    return [
        Problem(p.table, p.row, p.column, escaped(p.message), p.severity)
        if _CONTROL.search(p.message)
        else p
        for p in problems
    ]


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
    return sql, not_a_number


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


def check_duplicate_rows(
    con: duckdb.DuckDBPyConnection, table: Table, raw: RawTable
) -> list[Problem]:
    """Rows of ``raw_<table>`` that repeat an earlier row cell for cell (a warning each)."""
    columns = ", ".join(quote(c) for c in raw.columns)
    if not columns:
        return []
    # Rows are compared exactly, but only those whose hash repeats: a window over every
    # column of 64 M rows would hold them all; the hashes alone are 8 bytes a row. The rows
    # are hashed once when no hash repeats (the usual case): only then are they read again.
    (repeats,) = con.execute(
        f"SELECT count(*) FROM (SELECT hash({columns}) AS h FROM raw_{table.name} GROUP BY h "
        "HAVING count(*) > 1)"
    ).fetchone() or (0,)
    if not repeats:
        return []
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


def comma_readings(text: str) -> tuple[float | None, float | None]:
    """The two numbers a comma can make of ``text``: (a thousands separator, a decimal
    comma), each None when the text cannot be read that way (``1,5`` has no thousands reading,
    ``1,200.5`` no decimal one)."""
    thousands = float(text.replace(",", "")) if _THOUSANDS.match(text) else None
    decimal = float(text.replace(",", ".")) if _DECIMAL_COMMA.match(text) else None
    return thousands, decimal


def not_a_number(text: str) -> str:
    """The message for a value that does not read as a number: a comma's readings named, an
    underscore, an exponent or a word said for what it is (cohort-format.md §2)."""
    thousands, decimal = comma_readings(text)
    plain = "write plain decimal numbers with '.' as the decimal mark and no separators"
    if thousands is not None and decimal is not None:
        return (
            f"'{text}' is not a number: the comma makes it {thousands:g} (a thousands "
            f"separator) or {decimal:g} (a decimal comma); {plain}"
        )
    if decimal is not None:
        return f"'{text}' is not a number: with a decimal comma it is {decimal:g}; {plain}"
    if thousands is not None:
        return f"'{text}' is not a number: with a thousands separator it is {thousands:g}; {plain}"
    if "_" in text:
        return f"'{text}' is not a number: '_' is not read as part of a number; {plain}"
    if re.match(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$", text):
        return f"'{text}' is not a number: no exponents; {plain}"
    return f"'{text}' is not a number"
