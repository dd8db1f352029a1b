"""Validation of measurements: each value read with its analyte's unit and checked against the
analyte's plausible range, with the likely mix-up named (a creatinine in mg/dL written as
µmol/L, a UPCR in mg/mmol written as mg/mg) (cohort-format.md §2, §4)."""

from __future__ import annotations

import functools
import operator
import re
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np

from srnskit.cohort.cells import comma_readings, not_a_number
from srnskit.cohort.expressions import CheckEngine, Checks, checks_engine
from srnskit.cohort.parse import enum_value, measurement_value, unit_key_value, units_table
from srnskit.schema import ANALYTES, COHORT_TABLES, DIPSTICK_LEVELS, DIPSTICK_NAMES
from srnskit.schema.problems import Problem
from srnskit.sources.files import ROW_COLUMN, as_written
from srnskit.sources.raw import plain_decimal

__all__ = ["check_measurements", "implausible_value_message", "kept_unit_pairs"]


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
_UNITLESS = [a.name for a in ANALYTES.values() if a.unitless]


def check_measurements(checks: Checks, *, keep_pairs: bool = False) -> list[Problem]:
    """Problems of ``raw_measurements``' values: a unit the analyte does not take, a value that
    is not a number, a value outside the analyte's plausible range (with the likely mix-up).
    ``checks``: a ``CheckEngine`` or validation's DuckDB connection (``parse.register_units``
    made the units lookup in it; another engine holds ``parse.units_table`` as it makes it).

    One pass over the rows reads each value's number and keeps, per (analyte, unit) pair as
    written (a few dozen in a million rows), how many did not read and the least and greatest
    number; each pair is judged from those against its analyte and unit (read once per pair).
    Only the rows of a pair that may hold a problem are then read again and judged one by one,
    by the rule itself: a pair whose least and greatest number are plausible holds no
    implausible number (every unit's factor is positive).

    ``keep_pairs`` keeps those pairs for the load that follows (``kept_unit_pairs``, which
    reads and forgets them): the load needs each pair's unit too, and a second grouping of 64 M
    rows by analyte and unit costs half a second.
    """
    engine = checks_engine(checks)
    pairs = engine.keep(_PAIRS, _pairs(engine))
    kept = False
    try:
        # A pair of rows without a value (the required check's) holds nothing to judge.
        judged = pairs.analyte.notnull() & (pairs["values"] > 0)
        suspects = pairs.filter(judged & ~_plausible_pair(pairs))
        rows = engine.rows(_suspect_rows(engine, suspects)) if _any(engine, suspects) else []
        kept = keep_pairs
    finally:
        if not kept:
            engine.drop(_PAIRS)
    problems: list[Problem] = []
    for r in rows:
        # A typed number (a Parquet column of numbers) quoted as its text is written.
        text = r["value_text"]
        r["value_text"] = text if text is None else as_written(text)
        problems += _explain_measurement(_Measurement(**r))
    return problems


def kept_unit_pairs(checks: Checks) -> list[dict[str, Any]]:
    """The (analyte, unit) pairs that ``check_measurements(checks, keep_pairs=True)`` kept, in
    the rows of ``load.unit_pairs`` (``analyte_text``, ``unit_text``, ``rows``, ``analyte``,
    ``factor``, ``canonical``), every pair of ``raw_measurements`` (rows without a value too);
    then forgotten. Raises the engine's error when no pairs were kept."""
    engine = checks_engine(checks)
    pairs = ibis.table(
        {
            "text": "string",
            "unit_text": "string",
            "rows": "int64",
            "analyte": "string",
            "factor": "float64",
            "canonical": "string",
        },
        name=_PAIRS,
    )
    try:
        return engine.rows(
            pairs.select(
                analyte_text=pairs.text,
                unit_text=pairs.unit_text,
                rows=pairs.rows,
                analyte=pairs.analyte,
                factor=pairs.factor,
                canonical=pairs.canonical,
            )
        )
    finally:
        engine.drop(_PAIRS)


def _any(engine: CheckEngine, expr: ibis.Table) -> bool:
    return bool(engine.rows(expr.limit(1)))


def _pairs(engine: CheckEngine) -> ibis.Table:
    """One row per (analyte, unit) pair as written in ``raw_measurements`` (``text``,
    ``unit_text``), with the analyte (``analyte``: canonical, NULL if none), the unit it reads
    as (``unit_name``, ``canonical``, ``factor``, ``low``, ``high`` from ``parse.units_table``:
    NULL if the analyte takes no such unit), ``rows`` (its rows, with a value or not),
    ``values`` (its rows with a value), and over its values: ``unread`` (values that are no
    number), ``least`` and ``greatest`` number; over the numbers of its rows without a unit
    (only a unitless analyte's pair reads them: the remainder costs a third of a second on 64 M
    rows), ``fractions`` (numbers not whole) and ``halves`` (0.5: the dipstick's trace)."""
    column = COHORT_TABLES["measurements"].column("analyte")
    m = engine.raw_table("measurements")
    # The number as loading reads it (parse.measurement_value), which needs to know only
    # whether the analyte is the dipstick: its spellings, not the analyte's full reading.
    # ILIKE is lower(analyte) = spelling at a third of its cost in DuckDB (a spelling holding
    # a wildcard is compared lowered: engines differ on LIKE's default escape).
    spellings = {v.lower(): v for v in column.allowed} | dict(column.aliases)
    tests = [
        m.analyte.lower() == k if any(c in k for c in "%_\\") else m.analyte.ilike(k)
        for k, v in spellings.items()
        if v == "dipstick"
    ]
    dipstick = functools.reduce(operator.or_, tests)
    analyte = ibis.ifelse(dipstick, ibis.literal("dipstick"), ibis.null("string"))
    read = m.select(m.analyte, m.unit, m.value, number=measurement_value(analyte, m.value))
    number, unitless = read.number, read.unit.isnull()
    s = read.group_by(["analyte", "unit"]).aggregate(
        rows=read.count(),
        values=read.value.count(),
        unread=read.value.count() - number.count(),
        least=number.min(),
        greatest=number.max(),
        # A fraction is a remainder by 1 (Ibis's floor is a 64-bit integer: 1e19 overflows it).
        fractions=number.count(where=unitless & (number % 1 != 0)),
        # The dipstick's one level that is not whole: trace (0.5).
        halves=number.count(where=unitless & (number == DIPSTICK_LEVELS["trace"])),
    )
    s = s.select(
        text=s.analyte,
        unit_text=s.unit,
        analyte=enum_value(s.analyte, column),
        unit_key=unit_key_value(s.unit),
        rows=s.rows,
        values=s.values,
        unread=s.unread,
        least=s.least,
        greatest=s.greatest,
        fractions=s.fractions,
        halves=s.halves,
    )
    units = units_table()
    u = units.select(
        unit_analyte=units.analyte,
        key=units.unit_key,
        unit_name=units.unit,
        canonical=units.canonical,
        factor=units.factor,
        low=units.low,
        high=units.high,
    )
    joined = s.left_join(u, [s.analyte == u.unit_analyte, s.unit_key == u.key])
    return joined.select(
        "text",
        "unit_text",
        "analyte",
        "unit_name",
        "canonical",
        "factor",
        "low",
        "high",
        "rows",
        "values",
        "unread",
        "least",
        "greatest",
        "fractions",
        "halves",
    )


def _plausible_pair(p: ibis.Table) -> ibis.BooleanValue:
    """Whether every row of pair ``p`` is plausible (the row rule of ``_suspect_rows``, on its
    least and greatest number); unknown (NULL) counts as not."""
    unitless = (
        p.unit_text.isnull()
        & (p.unread == 0)
        & (p.least >= 0)
        & ibis.ifelse(
            p.analyte == "edema",
            (p.greatest <= 1) & (p.fractions == 0),
            (p.greatest <= 4) & (p.fractions == p.halves),
        )
    )
    with_unit = (
        p.unit_name.notnull()
        & (p.unread == 0)
        & (p.least * p.factor >= p.low)
        & (p.greatest * p.factor <= p.high)
    )
    return ibis.coalesce(ibis.ifelse(p.analyte.isin(_UNITLESS), unitless, with_unit), False)


def _suspect_rows(engine: CheckEngine, suspects: ibis.Table) -> ibis.Table:
    """The rows of the ``suspects`` pairs that break the rule (a unitless analyte: no unit and
    a level of its scale; else a unit of the analyte and a number in its plausible range), in
    ``_Measurement``'s fields, by row."""
    raw = engine.raw_table("measurements")
    # Only the columns read (a cohort's extra columns may bear any name).
    m = raw.filter(raw.value.notnull()).select(ROW_COLUMN, "analyte", "unit", "value")
    pairs = suspects.select(
        "text", "unit_text", "unit_name", "canonical", "factor", "low", "high", name="analyte"
    )
    joined = m.join(pairs, [m.analyte == pairs.text, m.unit.identical_to(pairs.unit_text)])
    # Each row's number is read once, in a projection; the filter names the projection's
    # column (DuckDB otherwise reads the number again wherever the filter names it).
    v = joined.select(
        row=joined[ROW_COLUMN],
        analyte=joined.name,
        value_text=joined.value,
        value=measurement_value(joined.name, joined.value),
        unit_text=joined.unit,
        unit=joined.unit_name,
        canonical=joined.canonical,
        factor=joined.factor,
        low=joined.low,
        high=joined.high,
    )
    unitless = v.unit_text.isnull() & ibis.ifelse(
        v.analyte == "edema", v.value.isin([0, 1]), v.value.isin(list(DIPSTICK_NAMES))
    )
    with_unit = v.unit.notnull() & (v.value * v.factor).between(v.low, v.high)
    fits = ibis.coalesce(ibis.ifelse(v.analyte.isin(_UNITLESS), unitless, with_unit), False)
    return v.filter(~fits).order_by("row")


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
        levels = m.analyte != "dipstick" or m.value in DIPSTICK_NAMES
        if m.value is None or not _in_range(m.value, *analyte.ranges[""]) or not levels:
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
    message = implausible_value_message(m.analyte, m.value, m.unit, m.value_text)
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


def implausible_value_message(
    analyte_name: str, value: float, unit_name: str, written: str | None = None
) -> str | None:
    """Why ``value`` in ``unit_name`` is implausible for the analyte (naming a likely unit
    mix-up), or None when it is within the plausible range (cohort-format.md §2). ``written``:
    the cell as the file has it (a bound's sign kept: ``>80000``), else ``value`` is shown.
    A value in a unit that converts is also shown in the range's unit: "upcr >80000 mg/g
    (>80 mg/mg) is outside the plausible 0–30 mg/mg"."""
    analyte = ANALYTES[analyte_name]
    unit = next(u for u in analyte.units if u.name == unit_name)
    low, high = analyte.ranges[unit.canonical]
    if _in_range(value * unit.factor, low, high):
        return None
    shown = f"{value:g}" if written is None else written.strip()
    sign = shown[: len(shown) - len(shown.lstrip("<>≤≥="))]
    converted = _outside(value * unit.factor, low, high)
    same = unit.name == unit.canonical
    in_range_unit = "" if same else f" ({sign}{converted} {unit.canonical})"
    return (
        f"{analyte_name} {shown} {unit_name}{in_range_unit} is outside the plausible "
        f"{low:g}–{high:g} {unit.canonical}{_mix_up(analyte_name, value, unit_name)}"
    )


def _outside(number: float, low: float, high: float) -> str:
    """``number`` (outside ``low``–``high``) as a plain decimal, never an exponent (the format
    writes none), to three significant digits or as many more as show it outside the range:
    22.63 mg/dL is 2000.49 umol/L, not 2000, beside a range that ends at 2000."""
    for digits in range(3, 16):
        text = np.format_float_positional(
            number, precision=digits, unique=False, fractional=False, trim="-"
        )
        if not _in_range(float(text), low, high):
            return text
    return plain_decimal(number)


def _mix_up(analyte_name: str, value: float, unit_name: str) -> str:
    """'; it looks like mg/dL (…)' when the value is plausible in another unit of the analyte;
    every such unit when there are several, each converted where it converts ("; it looks like
    mg/mmol or mg/g (850 mg/g = 0.85 mg/mg)": a UPCR of 850 written as mg/mg is plausible both
    as a mass/mol ratio and as the mass/mass ratio in mg/g, two readings a clinician tells
    apart, not srnskit)."""
    analyte = ANALYTES[analyte_name]
    readings = []
    for unit in analyte.units:
        if unit.name == unit_name:
            continue
        converted = value * unit.factor
        if _in_range(converted, *analyte.ranges[unit.canonical]):
            if unit.canonical == unit.name:
                readings.append(unit.name)
            else:
                readings.append(
                    f"{unit.name} ({value:g} {unit.name} = {converted:.3g} {unit.canonical})"
                )
    return f"; it looks like {' or '.join(readings)}" if readings else ""
