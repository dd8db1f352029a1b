"""Validation of measurements: each value read with its analyte's unit and checked against the
analyte's plausible range, with the likely mix-up named (a creatinine in mg/dL written as
µmol/L, a UPCR in mg/mmol written as mg/mg) (cohort-format.md §2, §4)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb

from srnskit.cohort.cells import comma_readings, not_a_number
from srnskit.cohort.parse import UNITS_TABLE, enum_sql, measurement_value_sql, unit_key_sql
from srnskit.schema import ANALYTES, COHORT_TABLES
from srnskit.schema.problems import Problem
from srnskit.sources.files import ROW_COLUMN

__all__ = ["check_measurements", "implausible_value_message"]


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


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


_PAIRS = "_srnskit_pairs"


def check_measurements(con: duckdb.DuckDBPyConnection) -> list[Problem]:
    """Problems of ``raw_measurements``' values: a unit the analyte does not take, a value that
    is not a number, a value outside the analyte's plausible range (with the likely mix-up).

    One pass over the rows reads each value's number and keeps, per (analyte, unit) pair as
    written (a few dozen in a million rows), how many did not read and the least and greatest
    number; each pair is judged from those against its analyte and unit (read once per pair).
    Only the rows of a pair that may hold a problem are then read again and judged one by one,
    by the rule itself: a pair whose least and greatest number are plausible holds no
    implausible number (every unit's factor is positive).
    """
    column = COHORT_TABLES["measurements"].column("analyte")
    analyte = enum_sql("s.analyte", column)
    # The number as loading reads it (parse.measurement_value_sql), which needs to know only
    # whether the analyte is the dipstick: its spellings, not the analyte's full reading.
    # ILIKE is lower(analyte) = spelling at a third of its cost (its wildcards escaped).
    spellings = {v.lower(): v for v in column.allowed} | dict(column.aliases)
    dipstick = " OR ".join(
        f"analyte ILIKE {_literal(_like_escaped(k))} ESCAPE '\\'"
        for k, v in spellings.items()
        if v == "dipstick"
    )
    number = measurement_value_sql(f"CASE WHEN {dipstick} THEN 'dipstick' END", "value")
    unitless = ", ".join(f"'{a.name}'" for a in ANALYTES.values() if a.unitless)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {_PAIRS} AS
        WITH s AS (SELECT analyte, unit, count(*) - count(number) AS unread,
                          min(number) AS least, max(number) AS greatest,
                          count_if(number <> floor(number)) AS fractions
                   FROM (SELECT analyte, unit, {number} AS number FROM raw_measurements
                         WHERE value IS NOT NULL)
                   GROUP BY analyte, unit)
        SELECT s.analyte AS text, s.unit AS unit_text, {analyte} AS analyte,
               u.unit AS unit_name, u.canonical, u.factor, u.low, u.high,
               s.unread, s.least, s.greatest, s.fractions
        FROM s LEFT JOIN {UNITS_TABLE} u
        ON u.analyte = {analyte} AND u.unit_key = {unit_key_sql("s.unit")}
        """
    )
    # The pairs whose rows may hold a problem: the row rule below, on the least and greatest.
    suspects = f"""
        SELECT * FROM {_PAIRS}
        WHERE analyte IS NOT NULL
        AND NOT COALESCE(CASE WHEN analyte IN ({unitless}) THEN unit_text IS NULL
                   AND unread = 0 AND least >= 0 AND CASE analyte
                       WHEN 'edema' THEN greatest <= 1 AND fractions = 0
                       ELSE greatest <= 4 END
               ELSE unit_name IS NOT NULL AND unread = 0
                   AND least * factor >= low AND greatest * factor <= high END, FALSE)
        """
    value = measurement_value_sql("a.analyte", "a.value")
    rows = (
        _rows(
            con,
            f"""
        WITH pairs AS ({suspects}),
        a AS (SELECT m.{ROW_COLUMN}, pairs.analyte, m.value, m.unit, pairs.unit_name,
                     pairs.canonical, pairs.factor, pairs.low, pairs.high
              FROM raw_measurements m JOIN pairs
              ON m.analyte = pairs.text AND m.unit IS NOT DISTINCT FROM pairs.unit_text
              WHERE m.value IS NOT NULL),
        v AS (SELECT a.*, {value} AS number FROM a)
        -- Each row's number is named once below: DuckDB pushes the filter into the
        -- projection, reading the number again wherever the filter names it.
        SELECT {ROW_COLUMN}, analyte, value, number, unit, unit_name, canonical, factor, low, high
        FROM v
        WHERE NOT COALESCE(CASE WHEN analyte IN ({unitless}) THEN unit IS NULL
                   AND CASE analyte WHEN 'edema' THEN number IN (0, 1)
                       ELSE number BETWEEN 0 AND 4 END
               ELSE unit_name IS NOT NULL AND number * factor BETWEEN low AND high END, FALSE)
        """,
        )
        if _rows(con, f"SELECT 1 FROM ({suspects}) LIMIT 1")
        else []
    )
    con.execute(f"DROP TABLE {_PAIRS}")
    problems: list[Problem] = []
    for record in rows:
        problems += _explain_measurement(_Measurement(*record))
    return problems


def _like_escaped(text: str) -> str:
    """``text`` as a LIKE pattern matching itself only (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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
        return [Problem(*at, "value", _unreadable_number(m.analyte, m.value_text, m.unit))]
    message = implausible_value_message(m.analyte, m.value, m.unit)
    if message and _DOT_THOUSANDS.match(m.value_text.lstrip("<>≤≥=")):
        # 1.200 umol/L: the '.' may be a thousands separator (a European 1.200 = 1200).
        thousands = float(m.value_text.lstrip("<>≤≥=").replace(".", ""))
        if implausible_value_message(m.analyte, thousands, m.unit) is None:
            message += (
                f"; if '.' separates thousands here, it is {thousands:g} {m.unit} "
                f"(plausible): write {thousands:g}"
            )
    return [Problem(*at, "value", message)] if message else []


_DOT_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+$")


def _unreadable_number(analyte: str, text: str, unit: str) -> str:
    """Why ``text`` is no number, and with a comma which of its two readings is plausible for
    the analyte in ``unit`` (cohort-format.md §2: issue 16, creatinine 1,200)."""
    thousands, decimal = comma_readings(text)
    ways = ((thousands, "a thousands separator"), (decimal, "a decimal comma"))
    readings = [(r, how) for r, how in ways if r is not None]
    if not readings:
        return not_a_number(text)
    said = []
    plausible = []
    for reading, how in readings:
        fits = implausible_value_message(analyte, reading, unit) is None
        verdict = "plausible" if fits else "implausible"
        said.append(f"{reading:g} {unit} with {how} ({verdict} for {analyte})")
        if fits:
            plausible.append(reading)
    if len(plausible) == 1:
        advice = f"write {plausible[0]:g}"
    elif plausible:
        advice = "write the one meant, with '.' as the decimal mark and no separators"
    else:
        advice = "check the value and its unit, and write it with '.' as the decimal mark"
    return f"'{text}' is not a number: it reads as " + " or as ".join(said) + f"; {advice}"


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
