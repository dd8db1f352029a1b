"""How a text cell becomes a value, shared by validation and loading.

Validation flags the cells these readings cannot read; loading applies the very same readings,
so a cohort that validates loads exactly as validation read it. Each reading is an Ibis
expression (``date_value``, ``number_value`` …), which every engine compiles to its own SQL:
DuckDB's in process, Spark's where the data lie. Their regular expressions mean the same in
DuckDB's RE2 and Java's (Spark's): a pattern ends in ``\\z``, as Java's ``$`` also matches before
a final line break.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import duckdb
import ibis

from srnskit.schema import ANALYTES, Column, unit_key
from srnskit.schema.analytes import DIPSTICK_SPELLINGS
from srnskit.settings import memory_limit
from srnskit.sources.raw import sql_identifier, sql_literal

__all__ = [
    "BOUND",
    "ISO_DATE",
    "PLAIN_NUMBER",
    "UNITS_TABLE",
    "bool_value",
    "cells_are_view",
    "connect",
    "date_value",
    "enum_value",
    "is_text",
    "measurement_value",
    "number_value",
    "plain_number",
    "qualifier_value",
    "quote",
    "raw_cells",
    "register_units",
    "unit_key_value",
    "unit_rows",
    "units_table",
]

UNITS_TABLE = "_srnskit_units"
# ISO 8601 date, optionally followed by a time of day (truncated to the date, cohort-format.md
# §1): hours 00-23, minutes and seconds 00-59 (a 25:99 is no time, so the cell no date).
ISO_DATE = (
    r"^\d{4}-\d{2}-\d{2}([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?)?\z"
)
# A number as the format writes it (cohort-format.md §2): plain decimal notation, '.' as the
# decimal mark, no thousands separators, no '_' (Python's float() and DuckDB read '1_9' as 19),
# no exponent, no 'nan' or 'inf'.
PLAIN_NUMBER = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)\z"
_PLAIN_NUMBER = re.compile(PLAIN_NUMBER.removesuffix(r"\z") + r"\Z")
# A laboratory result beyond a limit: '<', '>' (or ≤, <=, ≥, >=), then a plain number.
BOUND = r"^(<=|>=|≤|≥|<|>) *"
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


def connect(database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that never downloads an extension (offline first)."""
    con = duckdb.connect(
        database,
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    con.execute("SET enable_progress_bar = false")  # a library never draws on the terminal
    if database == ":memory:":
        # Compressed in memory, as a database file is on disk: after a CHECKPOINT the cohort's
        # tables take about a ninth of the space (measured: 377 MB -> 42 MB for 6.4 M rows of
        # measurements) and scan no slower.
        con.execute("ATTACH ':memory:' AS cohort (COMPRESS)")
        con.execute("USE cohort")
    limit = memory_limit()
    if limit:
        # Beyond the limit DuckDB spills its tables and operators to a temporary folder.
        # Literals, not parameters: DuckDB imports pandas to bind a parameter (0.3 s).
        con.execute(f"SET memory_limit = {sql_literal(limit)}")
        spill = Path(tempfile.gettempdir()) / "srnskit-spill"
        con.execute(f"SET temp_directory = {sql_literal(str(spill))}")
    return con


def raw_cells(table: str) -> str:
    """The table holding the cells of the raw table ``table`` (validation's ``raw_NAME`` is a
    view over it that adds the row numbers): the one to UPDATE when a cell's text is rewritten."""
    return f"cells_{table}"


def cells_are_view(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether the cells of raw table ``table`` (``raw_cells``) are a view over its Parquet
    file, read where it lies (``validate.register_raw_tables``), rather than a table."""
    found = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE view_name = "
        f"{sql_literal(raw_cells(table))} AND NOT internal"
    ).fetchone()
    return bool(found and found[0])


def quote(identifier: str) -> str:
    """``identifier`` quoted for DuckDB's SQL (``sources.raw.sql_identifier``)."""
    return sql_identifier(identifier)


def plain_number(text: str) -> float:
    """The number that ``text`` writes in plain decimal notation (``PLAIN_NUMBER``), as the
    cohort reads numbers; raises ``ValueError`` for anything else (``1_37``, ``1,5``, ``1e3``)."""
    cleaned = text.strip()
    if not _PLAIN_NUMBER.match(cleaned):
        raise ValueError(f"'{text}' is not a plain decimal number (such as 137 or 0.5)")
    return float(cleaned)


_UNITS_SCHEMA = {
    "analyte": "string",
    "unit_key": "string",
    "unit": "string",
    "canonical": "string",
    "factor": "float64",
    "low": "float64",
    "high": "float64",
}


def unit_rows() -> list[tuple[str, str, str, str, float, float, float]]:
    """Every accepted unit spelling (``schema.ANALYTES``), one row per folded key: analyte,
    unit_key (``unit_key``), unit, canonical unit, factor to the canonical unit, and the
    plausible range (low, high) in the canonical unit."""
    rows: list[tuple[str, str, str, str, float, float, float]] = []
    for analyte in ANALYTES.values():
        for unit in analyte.units:
            low, high = analyte.ranges[unit.canonical]
            # µmol/L, μmol/L and umol/L fold to one key: one row each, or joins multiply rows.
            for key in dict.fromkeys(unit_key(s) for s in (unit.name, *unit.aliases)):
                rows.append((analyte.name, key, unit.name, unit.canonical, unit.factor, low, high))
    return rows


def register_units(con: duckdb.DuckDBPyConnection) -> None:
    """Create the lookup of every accepted unit spelling: analyte, key, unit, canonical, factor."""
    rows = unit_rows()
    con.execute(
        f"CREATE OR REPLACE TABLE {UNITS_TABLE} (analyte VARCHAR, unit_key VARCHAR, "
        "unit VARCHAR, canonical VARCHAR, factor DOUBLE, low DOUBLE, high DOUBLE)"
    )
    if rows:
        # One statement of literals: DuckDB imports pandas to bind parameters (0.3 s of a fresh
        # process, more than reading the whole table).
        values = ", ".join(
            f"({', '.join(map(sql_literal, (a, k, u, c)))}, {f!r}, {lo!r}, {hi!r})"
            for a, k, u, c, f, lo, hi in rows
        )
        con.execute(f"INSERT INTO {UNITS_TABLE} VALUES {values}")


# --- the same readings as Ibis expressions (every engine) ---------------------------------
#
# A raw cell is text, except in a Parquet file whose column already has its column's own type
# (a date column of dates, a number column of numbers, a yes/no column of booleans;
# ``sources.files``): DuckDB then scans it as it is, and a reading of such a cell is the value
# itself (a number that is NaN or infinite excepted: no number here, as 'nan' is none in text).
# The text of such a cell, where a message quotes it, is ``sources.raw.as_written``'s.


def is_text(cell: ibis.Value) -> bool:
    """Whether the raw cell ``cell`` is text (else a typed Parquet column of its column's own
    type: a date, a number or a boolean)."""
    return bool(cell.type().is_string())


def date_value(cell: ibis.Value) -> ibis.DateValue:
    """The date in ``cell`` (ISO 8601, a date-time truncated to its date), else NULL: a
    ``2023-02-30`` is NULL (no such day), and so are the year 0000 and a time that is none
    (``T25:99``). A typed date cell is its date."""
    if not is_text(cell):
        return cell.cast("date")
    # The year 0000 is none (ISO's proleptic year 0 is 1 BC, which no Python date holds)
    readable = cell.re_search(ISO_DATE) & ~cell.startswith("0000")
    return ibis.ifelse(readable, cell.substr(0, 10).try_cast("date"), ibis.null("date"))


def number_value(cell: ibis.Value) -> ibis.FloatingValue:
    """The float64 ``cell`` writes in plain decimal notation (``PLAIN_NUMBER``), else NULL:
    ``1_9``, ``1,200``, ``1e3``, ``nan`` and ``inf`` are not numbers here. A typed number is
    itself as float64 (NaN and the infinities NULL, as their text is)."""
    if not is_text(cell):
        number = cell.cast("float64")
        # Finite: within the largest double (NaN fails every comparison; Ibis writes isinf
        # for Spark as FALSE).
        finite = number.abs() <= ibis.literal(sys.float_info.max)
        return ibis.ifelse(finite, number, ibis.null("float64"))
    plain = cell.re_search(PLAIN_NUMBER)
    return ibis.ifelse(plain, cell.try_cast("float64"), ibis.null("float64"))


def bool_value(cell: ibis.Value) -> ibis.BooleanValue:
    """true/false (also yes/no, y/n, 1/0) in ``cell``, else NULL; a typed boolean is itself."""
    if not is_text(cell):
        return cell.cast("boolean")
    lower = cell.lower()
    return ibis.cases(
        (lower.isin(_TRUE), ibis.literal(True)),
        (lower.isin(_FALSE), ibis.literal(False)),
        else_=ibis.null("boolean"),
    )


def enum_value(cell: ibis.StringValue, column: Column) -> ibis.StringValue:
    """The canonical spelling of an allowed value of ``column`` (case-insensitive, or an
    alias), else NULL."""
    spellings = {value.lower(): value for value in column.allowed}
    spellings.update(column.aliases)
    return cell.lower().substitute(spellings, else_=ibis.null("string"))


def unit_key_value(cell: ibis.StringValue) -> ibis.StringValue:
    """The unit text folded as ``schema.unit_key`` folds it (case, spaces, µ/μ → u; lowered
    first, so the capital Μ that upper-casing µ gives reads as u too)."""
    return cell.lower().replace("µ", "u").replace("μ", "u").replace(" ", "")


def measurement_value(analyte: ibis.StringValue, value: ibis.Value) -> ibis.FloatingValue:
    """A measurement's number (``analyte`` canonical): dipstick words read as levels (neg = 0
    … 4+ = 4, also ± and + … ++++), a bound (``<0.1``) as its number (0.1;
    ``qualifier_value`` keeps the '<'); a typed number is itself (``number_value``)."""
    if not is_text(value):
        return number_value(value)
    level = value.lower().substitute(
        {k: float(v) for k, v in DIPSTICK_SPELLINGS.items()}, else_=ibis.null("float64")
    )
    bare = value.re_replace(BOUND, "")
    return ibis.cases(
        ((analyte == "dipstick") & level.notnull(), level),
        (_bounded_value(value), number_value(bare)),
        else_=number_value(value),
    )


def _bounded_value(value: ibis.StringValue) -> ibis.BooleanValue:
    """Whether ``value`` starts with a bound's sign (``BOUND`` matches)."""
    tests = [value.startswith(sign) for sign in "<>≤≥"]
    return tests[0] | tests[1] | tests[2] | tests[3]


def qualifier_value(
    value: ibis.StringValue, qualifier: ibis.StringValue, column: Column
) -> ibis.StringValue:
    """A measurement's qualifier: ``<`` or ``>`` from a bound written in ``value`` (``<0.1``,
    ``≤0.05``), else the qualifier cell's (``column`` its column), else NULL. A typed
    number holds no bound."""
    if not is_text(value):
        return enum_value(qualifier, column)
    sign = value.re_extract(BOUND, 1)
    from_value = ibis.ifelse(sign.isin(["<", "<=", "≤"]), ibis.literal("<"), ibis.literal(">"))
    return ibis.ifelse(_bounded_value(value), from_value, enum_value(qualifier, column))


def units_table() -> ibis.Table:
    """The lookup of every accepted unit spelling (``unit_rows``) as the Ibis table
    ``UNITS_TABLE``, which each engine holds: ``register_units`` makes it in DuckDB, Spark's
    checks make it from ``unit_rows``."""
    return ibis.table(_UNITS_SCHEMA, name=UNITS_TABLE)
