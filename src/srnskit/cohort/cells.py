"""Validation of a cohort's structure and cells: required columns, unknown columns (with a
"did you mean"), cells that do not read as their column's type, values outside a column's
bounds, duplicate rows.

The checks of cells and rows are Ibis expressions over the raw table (``raw_NAME``,
``expressions.raw_table``) run through a ``CheckEngine`` (``expressions.run``, ``scalar``), so
the same checks run in validation's DuckDB and on Spark; each returns only the offending rows,
whose messages are then written here (cohort-format.md §4)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.types as ir

from srnskit.cohort.expressions import CheckEngine, Checks, checks_engine, engine_hash
from srnskit.cohort.forms import DAY_MONTH_YEAR, counts_by_text
from srnskit.cohort.parse import bool_value, date_value, enum_value, is_text, number_value
from srnskit.schema import Column, Table
from srnskit.schema.problems import Problem, Severity, did_you_mean
from srnskit.schema.tables import NA_STRINGS, RESERVED_PREFIX, passes_through
from srnskit.sources.files import ROW_COLUMN, RawTable, as_written

__all__ = [
    "check_cells",
    "check_columns",
    "check_duplicate_rows",
    "comma_readings",
    "is_identifier",
    "not_a_number",
]

_DAY_MONTH_YEAR = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
# Unicode's control characters (general category Cc: U+0000-U+001F, U+007F-U+009F), as the
# engines' regular expressions (RE2 in DuckDB, java.util.regex in Spark: both read \p{Cc}) and
# Python write them.
_CONTROL_PATTERN = r"\p{Cc}"
# What a message calls a control character; any other is named by its code point.
_CONTROL_NAMES = {
    "\n": "a line break",
    "\r": "a carriage return",
    "\t": "a tab",
    "\x00": "a NUL",
}


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
        if name in table.column_names:
            continue
        if passes_through(table, name):
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
        elif name.startswith(RESERVED_PREFIX):
            problems.append(
                Problem(
                    table.name,
                    None,
                    name,
                    f"'{name}' starts with '{RESERVED_PREFIX}', which srnskit keeps for its own "
                    "working columns: the column is left out; rename it to keep it",
                    "warning",
                )
            )
        else:  # named like a direct identifier (schema.tables.looks_like_identifier)
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
    if raw.rows == 0:
        severity: Severity = "error" if table.name == "patients" else "warning"
        problems.append(
            Problem(table.name, None, None, "the table has a header but no rows", severity)
        )
    return problems


# --- cells ---------------------------------------------------------------------------------

# Whether a cell of a column does not read as its kind: the test, given the cell (not NULL),
# and the message for a text that fails it.
_Unread = Callable[[ir.StringValue], ir.BooleanValue]
# Kinds whose texts repeat (a million measurement dates hold a few thousand days, codes and
# yes/no a handful): each distinct text is tested once, and rows are fetched only for a column
# where some text does not read. Numbers hardly repeat: their rows are tested directly. An
# identifier's texts repeat too (a patient's measurements), tested for control characters.
_REPEATING = ("date", "bool", "enum")


def check_cells(checks: Checks, table: Table) -> list[Problem]:
    """Problems of the cells of the raw table ``raw_<table>`` of ``checks`` (an engine, or
    validation's DuckDB connection): a required cell empty, an identifier holding a control
    character, a cell that does not read as its column's type (date, number, whole number,
    yes/no, code; ``parse``'s readings), a number outside its column's bounds
    (``Column.minimum``/``maximum``). One problem per cell, each an error, in row order per
    column and check."""
    engine = checks_engine(checks)
    raw = engine.raw_table(table.name)
    # A typed date or boolean (a Parquet column of its own type) always reads; a typed number
    # may still be NaN or infinite, or not whole.
    unread = {
        c.name: _CELL_CHECKS[c.kind](c)
        for c in table.columns
        if c.kind in _CELL_CHECKS and (is_text(raw[c.name]) or c.kind in ("number", "integer"))
    }
    # Every repeating column's texts (and every identifier's: a patient's measurements repeat
    # it) tested in one query, each distinct text once: how many cells fail.
    screens = {
        c.name: _present(unread[c.name][0])
        for c in table.columns
        if c.kind in _REPEATING and c.name in unread
    }
    screens.update({c.name: _has_control for c in table.columns if is_identifier(c)})
    failing = counts_by_text(engine, raw, screens)
    problems: list[Problem] = []
    for column in table.columns:
        cell = raw[column.name]
        if column.required:
            for r in _found(engine, raw.filter(cell.isnull()).select(row=raw[ROW_COLUMN])):
                problems.append(
                    Problem(
                        table.name, r["row"], column.name, f"{column.name} is empty; it is required"
                    )
                )
        if is_identifier(column) and failing[column.name]:
            problems += _check_controls(engine, raw, table, column)
        if column.name not in unread:
            continue
        test, explain = unread[column.name]
        if failing.get(column.name, 1):
            bad = raw.filter(_present(test)(cell)).select(row=raw[ROW_COLUMN], text=cell)
            problems += [
                Problem(table.name, r["row"], column.name, explain(as_written(r["text"])))
                for r in _found(engine, bad)
            ]
        if column.minimum is not None or column.maximum is not None:
            problems += _check_bounds(engine, raw, table, column)
    return problems


def _present(test: _Unread) -> _Unread:
    """``test`` on the cells that hold something (an empty cell is the required check's)."""

    def present(cell: ibis.StringValue) -> ibis.BooleanValue:
        return cell.notnull() & test(cell).fill_null(False)

    return present


def _found(engine: CheckEngine, expr: ibis.Table) -> list[dict[str, Any]]:
    """The rows of ``expr`` (which has a ``row`` column) in row order."""
    return engine.rows(expr.order_by("row"))


def is_identifier(column: Column) -> bool:
    """True for a column holding an identifier (``patient_id``, ``center_id``: a text column
    whose name ends in ``_id``), which may hold no control character."""
    return column.kind == "text" and column.name.endswith("_id")


def _check_controls(
    engine: CheckEngine, raw: ibis.Table, table: Table, column: Column
) -> list[Problem]:
    # An identifier with a control character (a line break, a tab, a NUL) prints on two lines
    # or not at all, and matches nothing a person types: refused (issue 20 review). The
    # identifier itself is not quoted: it is not printed (STYLE: no identifiers in messages).
    cell = raw[column.name]
    bad = raw.filter(_has_control(cell)).select(
        row=raw[ROW_COLUMN], character=cell.re_extract(_CONTROL_PATTERN, 0)
    )
    return [
        Problem(
            table.name,
            r["row"],
            column.name,
            f"{column.name} holds a control character ({_control_name(str(r['character']))}); "
            "identifiers are printable text",
        )
        for r in _found(engine, bad)
    ]


def _has_control(cell: ir.StringValue) -> ir.BooleanValue:
    return cell.re_search(_CONTROL_PATTERN)


def _control_name(character: str) -> str:
    return _CONTROL_NAMES.get(character, f"U+{ord(character):04X}")


def _date_check(column: Column) -> tuple[_Unread, Callable[[str], str]]:
    def unread(cell: ibis.StringValue) -> ibis.BooleanValue:
        # Text dates with the year last are grouped per column (forms.check_text_dates).
        return date_value(cell).isnull() & ~cell.re_search(DAY_MONTH_YEAR)

    def explain(text: str) -> str:
        if _DAY_MONTH_YEAR.match(text):
            return (
                f"'{text}' is not an ISO date; write dates as YYYY-MM-DD "
                "(day/month/year is ambiguous and is not guessed)"
            )
        if re.match(r"^\d{4}-\d{2}-\d{2}", text):
            if text.startswith("0000"):
                return f"'{text}' is not a valid date (there is no year 0)"
            try:
                datetime.date.fromisoformat(text[:10])
            except ValueError:
                return f"'{text}' is not a valid date (no such day)"
            return (
                f"'{text}' is not a date: what follows the day is not a time srnskit reads "
                "(hh:mm or hh:mm:ss from 00:00 to 23:59, then Z or ±hh:mm if any); write "
                "dates as YYYY-MM-DD"
            )
        if re.match(r"^\d{5}(\.\d+)?$", text):
            return f"'{text}' looks like a spreadsheet date serial; format the column as a date"
        return f"'{text}' is not a date; write dates as YYYY-MM-DD"

    return unread, explain


def _number_check(column: Column) -> tuple[_Unread, Callable[[str], str]]:
    if column.kind == "integer":

        def whole_unread(cell: ibis.StringValue) -> ibis.BooleanValue:
            # The remainder, not floor(): Ibis casts a floor to a 64-bit integer, which
            # overflows on a long number.
            number = number_value(cell)
            return number.isnull() | (number % 1 != 0)

        def explain_integer(text: str) -> str:
            return f"'{text}' is not a whole number"

        return whole_unread, explain_integer

    def unread(cell: ibis.StringValue) -> ibis.BooleanValue:
        return number_value(cell).isnull()

    return unread, not_a_number


def _bool_check(column: Column) -> tuple[_Unread, Callable[[str], str]]:
    def unread(cell: ibis.StringValue) -> ibis.BooleanValue:
        return bool_value(cell).isnull()

    def explain(text: str) -> str:
        return f"'{text}' is not true or false (also accepted: yes/no, 1/0)"

    return unread, explain


def _enum_check(column: Column) -> tuple[_Unread, Callable[[str], str]]:
    allowed = ", ".join(column.allowed)

    def unread(cell: ibis.StringValue) -> ibis.BooleanValue:
        return enum_value(cell, column).isnull()

    def explain(text: str) -> str:
        if column.name == "sex" and text.isdigit():
            return f"'{text}' is not F or M; numeric sex codes are not guessed"
        meant = column.synonyms.get(" ".join(text.lower().split()))
        hint = f" (did you mean '{meant}'?)" if meant else ""
        hint = hint or did_you_mean(text, [*column.allowed, *column.aliases])
        if hint and not meant:
            suggestion = hint.split("'")[1]
            canonical = column.aliases.get(suggestion.lower(), suggestion)
            hint = f" (did you mean '{canonical}'?)"
        return f"'{text}' is not an allowed {column.name}{hint}; allowed: {allowed}"

    return unread, explain


_CELL_CHECKS: dict[str, Callable[[Column], tuple[_Unread, Callable[[str], str]]]] = {
    "date": _date_check,
    "number": _number_check,
    "integer": _number_check,
    "bool": _bool_check,
    "enum": _enum_check,
}


def _check_bounds(
    engine: CheckEngine, raw: ibis.Table, table: Table, column: Column
) -> list[Problem]:
    number = number_value(raw[column.name])
    outside = []
    if column.minimum is not None:
        outside.append(number < column.minimum)
    if column.maximum is not None:
        outside.append(number > column.maximum)
    bad = raw.filter(ibis.or_(*outside)).select(row=raw[ROW_COLUMN], value=number)
    if column.maximum is None:
        rule = f"must be at least {column.minimum:g}"
    else:
        rule = f"must be between {column.minimum:g} and {column.maximum:g}"
    return [
        Problem(table.name, r["row"], column.name, f"{column.name} {r['value']:g} {rule}")
        for r in _found(engine, bad)
    ]


# --- duplicate rows --------------------------------------------------------------------------


def check_duplicate_rows(checks: Checks, table: Table, raw: RawTable) -> list[Problem]:
    """Rows of the raw table ``raw_<table>`` of ``checks`` (an engine, or validation's DuckDB
    connection) that repeat an earlier row cell for cell, over the columns ``raw`` read (a
    warning each, naming the first row it repeats)."""
    if not raw.columns:
        return []
    engine = checks_engine(checks)
    table_expr = engine.raw_table(table.name)
    # Positional field names: a column's name may be anything a file's header holds. The
    # cells alone: a typed zero's sign (a key of ``_row_keys``) is left to the exact
    # comparison, as DuckDB hashes 0.0 and -0.0 alike (its text was 1.5 s of 8 on 64 M rows).
    cells = [table_expr[c] for c in raw.columns]
    row_hash = engine_hash(ibis.struct({f"c{i}": c for i, c in enumerate(cells)}))
    # Rows are compared exactly (``_row_keys``), but only those whose hash repeats: a window
    # over every column of 64 M rows would hold them all; the hashes alone are 8 bytes a row.
    # The rows are hashed once when no hash repeats (the usual case, ``CheckEngine.repeats``):
    # only then are they read again.
    if not engine.repeats(row_hash):
        return []
    hashes = table_expr.group_by(h=row_hash).aggregate(n=ibis._.count())
    repeated = hashes.filter(hashes.n > 1)
    candidates = table_expr.filter(row_hash.isin(repeated.h))
    first = candidates[ROW_COLUMN].min().over(group_by=_row_keys(candidates, raw.columns))
    pairs = candidates.select(row=candidates[ROW_COLUMN], first=first)
    bad = pairs.filter(pairs.row > pairs.first)
    return [
        Problem(table.name, r["row"], None, f"the row repeats row {r['first']} exactly", "warning")
        for r in _found(engine, bad)
    ]


def _row_keys(table: ibis.Table, columns: list[str]) -> list[ibis.Value]:
    """What makes two rows of ``table`` the same, cell for cell: its ``columns``, and for each
    typed column of doubles (Parquet) the sign of a zero as text, as a text cell tells 0 from
    -0 (a double's 0.0 equals -0.0)."""
    cells = [table[c] for c in columns]
    return cells + [
        ibis.ifelse(c == 0, c.cast("string"), ibis.null("string"))
        for c in cells
        if c.type().is_floating()
    ]


def comma_readings(text: str) -> tuple[float | None, float | None]:
    """The two numbers a comma can make of ``text``: (a thousands separator, a decimal
    comma), each None when the text cannot be read that way (``1,5`` has no thousands reading,
    ``1,200.5`` no decimal one)."""
    thousands = float(text.replace(",", "")) if _THOUSANDS.match(text) else None
    decimal = float(text.replace(",", ".")) if _DECIMAL_COMMA.match(text) else None
    return thousands, decimal


# A plain number followed by a unit in the same cell ("25 kg", "0.1mg/mg"): the unit starts
# with a letter, µ or %, so "1.2.3" or "12-14" are not read so.
_NUMBER_AND_UNIT = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*([A-Za-zµμ%][^\s]*)\s*$")


def not_a_number(text: str) -> str:
    """The message for a value that does not read as a number: a comma's readings named, an
    underscore, an exponent or a word said for what it is, a unit written after the number
    (``25 kg``), a word for "nothing" (``N/A``) with what to do instead (cohort-format.md
    §2)."""
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
    with_unit = _NUMBER_AND_UNIT.match(text)
    if with_unit:
        number, unit = with_unit.groups()
        return (
            f"'{text}' is not a number: it reads as {number} with the unit '{unit}'; write the "
            "number alone, and the unit in its own column"
        )
    if text.strip().lower() in NA_STRINGS:
        # A word for "nothing" reaches here only in a cell that may not be empty (elsewhere
        # it is read as empty, forms.check_na_strings): a measurement's value.
        return (
            f"'{text}' is not a number, and this cell may not be empty: if nothing was "
            "measured, leave the row out"
        )
    return f"'{text}' is not a number"
