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


def check_measurements(con: duckdb.DuckDBPyConnection) -> list[Problem]:
    """Problems of ``raw_measurements``' values: a unit the analyte does not take, a value that
    is not a number, a value outside the analyte's plausible range (with the likely mix-up)."""
    analyte = enum_sql("p.analyte", COHORT_TABLES["measurements"].column("analyte"))
    value = measurement_value_sql("a.analyte", "a.value")
    unitless = ", ".join(f"'{a.name}'" for a in ANALYTES.values() if a.unitless)
    # The analyte's spelling and the unit's are read once per distinct (analyte, unit) pair, a
    # few dozen in a million rows, then joined back to the rows (MATERIALIZED: else DuckDB
    # pushes the reading below the DISTINCT, onto every row).
    rows = _rows(
        con,
        f"""
        WITH p AS MATERIALIZED (SELECT DISTINCT analyte, unit FROM raw_measurements
                                WHERE value IS NOT NULL),
        pairs AS (SELECT p.analyte AS text, p.unit AS unit_text, {analyte} AS analyte,
                         u.unit AS unit_name, u.canonical, u.factor, u.low, u.high
                  FROM p LEFT JOIN {UNITS_TABLE} u
                  ON u.analyte = {analyte} AND u.unit_key = {unit_key_sql("p.unit")}
                  WHERE {analyte} IS NOT NULL),
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
